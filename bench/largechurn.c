/*
 * largechurn.c - workload: large malloc/free churn.
 *
 * Blocks of 5 to 25 MiB allocated and freed in a loop, as in the common
 * allocator benchmarks ("malloc-large"): slots live blocks; each operation
 * frees the block in a random slot and mallocs one of a random size in
 * [min, max] (fixed seed). Each new block is written every `touch` bytes
 * (one word per page by default, as a program using its block would), so
 * an allocator that returns memory to the kernel pays the page faults again
 * and one that reuses it does not. The first and last words of a block are
 * checked before it is freed.
 *
 * Prints one line: workload=largechurn ... alloc_ns=N ns_per_op=N wall_ns=N
 *   alloc_ns   time inside malloc and free, summed (timed=malloc+free)
 *   ns_per_op  wall time of the loop divided by ops (one free + one malloc
 *              + the writes)
 * Depends on libc only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#define LC_MAX_SLOTS 4096

struct lc_slot {
	unsigned char *p;
	size_t size;
	uint64_t key;
};

static int lc_check(const struct lc_slot *s)
{
	uint64_t a, b;

	memcpy(&a, s->p, sizeof(a));
	memcpy(&b, s->p + s->size - sizeof(b), sizeof(b));
	if (a == s->key && b == ~s->key)
		return 0;
	fprintf(stderr, "corruption: block %p of %zu bytes\n", (void *)s->p, s->size);
	return -1;
}

int main(int argc, char **argv)
{
	size_t ops = 300, slots = 20, min = 5 << 20, max = 25 << 20, touch = 4096;
	const struct bench_opt opts[] = {
		{ "ops", &ops, "free+malloc operations" },
		{ "slots", &slots, "live blocks" },
		{ "min", &min, "smallest block" },
		{ "max", &max, "largest block" },
		{ "touch", &touch, "write one word every this many bytes of a new block" },
	};
	static struct lc_slot ring[LC_MAX_SLOTS];
	uint64_t rng = 0x2545f4914f6cdd1du, alloc_ns = 0, max_ns = 0, t0, wall;
	size_t calls = 0, bytes = 0;

	bench_parse_args(argc, argv, "Frees and mallocs large blocks at random.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	min = bench_round8(min);
	max = bench_round8(max);
	if (slots == 0 || slots > LC_MAX_SLOTS || min < 16 || max < min || touch < 8)
		bench_die(BENCH_EXIT_USAGE, "largechurn: need slots 1..%d, 16 <= min <= max, "
			  "touch >= 8", LC_MAX_SLOTS);

	t0 = bench_now_ns();
	for (size_t n = 0; n < ops + slots; n++) {
		struct lc_slot *s = &ring[n < slots ? n : bench_rand(&rng) % slots];
		uint64_t a, c, inv;

		/* The first `slots` rounds fill the ring: no free yet. */
		if (n >= slots && lc_check(s))
			return BENCH_EXIT_CORRUPT;
		s->size = bench_round8(min + bench_rand(&rng) % (max - min + 1));
		a = bench_now_ns();
		if (n >= slots)
			free(s->p);
		s->p = malloc(s->size);
		c = bench_now_ns();
		if (!s->p)
			bench_die(BENCH_EXIT_NOMEM, "largechurn: malloc(%zu) failed", s->size);
		alloc_ns += c - a;
		if (c - a > max_ns)
			max_ns = c - a;
		calls += 1 + (n >= slots);
		s->key = bench_rand(&rng);
		for (size_t off = 0; off + 8 <= s->size; off += touch)
			memcpy(s->p + off, &s->key, 8);
		inv = ~s->key;
		memcpy(s->p + s->size - 8, &inv, 8);
		bytes += s->size;
	}
	wall = bench_now_ns() - t0;
	for (size_t i = 0; i < slots; i++) {
		if (lc_check(&ring[i]))
			return BENCH_EXIT_CORRUPT;
		free(ring[i].p);
	}

	printf("workload=largechurn ops=%zu slots=%zu min=%zu max=%zu touch=%zu "
	       "timed=malloc+free calls=%zu alloc_ns=%llu alloc_max_ns=%llu "
	       "ns_per_op=%.1f wall_ns=%llu bytes=%zu malloc=%s\n",
	       ops, slots, min, max, touch, calls, (unsigned long long)alloc_ns,
	       (unsigned long long)max_ns, (double)wall / (double)(ops + slots),
	       (unsigned long long)wall, bytes, bench_malloc_origin());
	return 0;
}
