/*
 * largechurn.c - workload: large malloc/free (or realloc) churn, on one or
 * more threads.
 *
 * Blocks of min to max bytes allocated and freed in a loop, as in the
 * common allocator benchmarks ("malloc-large"): each thread keeps `slots`
 * live blocks; each operation frees the block in a random slot and
 * mallocs one of a random size in [min, max] (fixed seed per thread), or
 * with realloc=1 reallocs it to that size. Each new block (each new part
 * of a reallocated one) is written every `touch` bytes (one word per page
 * by default, as a program using its block would), so an allocator that
 * returns memory to the kernel pays the page faults again and one that
 * reuses it does not. The first and last words of a block are checked
 * before it is freed or resized.
 *
 * Prints one line: workload=largechurn ... alloc_ns=N ns_per_op=N wall_ns=N
 *   alloc_ns   time inside malloc and free (or realloc), summed over threads
 *   ns_per_op  wall time of the run divided by all operations (one free +
 *              one malloc + the writes, or one realloc + the writes)
 * Depends on libc and pthreads only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdbool.h>

#include "bench.h"

#define LC_MAX_SLOTS 4096
#define LC_MAX_THREADS 64

struct lc_slot {
	unsigned char *p;
	size_t size;
	uint64_t key;
};

struct lc_thread {
	pthread_t tid;
	size_t ops, slots, min, max, touch, use_realloc;
	uint64_t seed, alloc_ns, max_ns;
	size_t calls, bytes;
	int status;
	struct lc_slot ring[LC_MAX_SLOTS];
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

/* Writes the block's key from `from` on, and its inverse at the end. */
static void lc_stamp(struct lc_slot *s, size_t from, size_t touch)
{
	uint64_t inv = ~s->key;
	for (size_t off = from; off + 8 <= s->size; off += touch)
		memcpy(s->p + off, &s->key, 8);
	memcpy(s->p + s->size - 8, &inv, 8);
}

static void *lc_run(void *arg)
{
	struct lc_thread *t = arg;
	uint64_t rng = t->seed;

	for (size_t n = 0; n < t->ops + t->slots; n++) {
		struct lc_slot *s = &t->ring[n < t->slots ? n : bench_rand(&rng) % t->slots];
		bool fill = n < t->slots;
		size_t old = s->size;

		/* The first `slots` rounds fill the ring: no free yet. */
		if (!fill && lc_check(s)) {
			t->status = BENCH_EXIT_CORRUPT;
			return NULL;
		}
		s->size = bench_round8(t->min + bench_rand(&rng) % (t->max - t->min + 1));
		uint64_t a = bench_now_ns();
		if (t->use_realloc && !fill) {
			unsigned char *q = realloc(s->p, s->size);
			if (q)
				s->p = q;
			else
				s->p = NULL;
		} else {
			if (!fill)
				free(s->p);
			s->p = malloc(s->size);
		}
		uint64_t c = bench_now_ns();
		if (!s->p) {
			t->status = BENCH_EXIT_NOMEM;
			return NULL;
		}
		t->alloc_ns += c - a;
		if (c - a > t->max_ns)
			t->max_ns = c - a;
		t->calls += 1 + (!fill && !t->use_realloc);
		if (t->use_realloc && !fill) {
			/* Keep the key: the old bytes must have survived. */
			size_t from = old < s->size ? old : s->size;
			lc_stamp(s, from & ~(size_t)7, t->touch);
		} else {
			s->key = bench_rand(&rng);
			lc_stamp(s, 0, t->touch);
		}
		t->bytes += s->size;
	}
	for (size_t i = 0; i < t->slots; i++) {
		if (lc_check(&t->ring[i])) {
			t->status = BENCH_EXIT_CORRUPT;
			return NULL;
		}
		free(t->ring[i].p);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	size_t ops = 300, slots = 20, min = 5 << 20, max = 25 << 20, touch = 4096;
	size_t threads = 1, use_realloc = 0;
	const struct bench_opt opts[] = {
		{ "ops", &ops, "operations in all (split between threads)" },
		{ "slots", &slots, "live blocks per thread" },
		{ "min", &min, "smallest block" },
		{ "max", &max, "largest block" },
		{ "touch", &touch, "write one word every this many bytes of a new block" },
		{ "threads", &threads, "threads" },
		{ "realloc", &use_realloc, "1: realloc each block to its new size instead of free+malloc" },
	};
	static struct lc_thread th[LC_MAX_THREADS];
	uint64_t alloc_ns = 0, max_ns = 0, t0, wall;
	size_t calls = 0, bytes = 0;

	bench_parse_args(argc, argv, "Frees and mallocs (or reallocs) large blocks at random.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	min = bench_round8(min);
	max = bench_round8(max);
	if (slots == 0 || slots > LC_MAX_SLOTS || min < 16 || max < min || touch < 8 ||
	    threads == 0 || threads > LC_MAX_THREADS || use_realloc > 1)
		bench_die(BENCH_EXIT_USAGE, "largechurn: need slots 1..%d, 16 <= min <= max, "
			  "touch >= 8, threads 1..%d, realloc 0 or 1", LC_MAX_SLOTS, LC_MAX_THREADS);

	t0 = bench_now_ns();
	for (size_t i = 0; i < threads; i++) {
		th[i] = (struct lc_thread){ .ops = ops / threads, .slots = slots, .min = min,
			.max = max, .touch = touch, .use_realloc = use_realloc,
			.seed = 0x2545f4914f6cdd1du + 0x9E3779B97F4A7C15ull * i };
		if (threads == 1)
			lc_run(&th[0]);
		else if (pthread_create(&th[i].tid, NULL, lc_run, &th[i]) != 0)
			bench_die(BENCH_EXIT_NOMEM, "largechurn: pthread_create failed");
	}
	for (size_t i = 0; threads > 1 && i < threads; i++)
		pthread_join(th[i].tid, NULL);
	wall = bench_now_ns() - t0;
	for (size_t i = 0; i < threads; i++) {
		if (th[i].status == BENCH_EXIT_NOMEM)
			bench_die(BENCH_EXIT_NOMEM, "largechurn: allocation failed");
		if (th[i].status)
			return th[i].status;
		alloc_ns += th[i].alloc_ns;
		calls += th[i].calls;
		bytes += th[i].bytes;
		if (th[i].max_ns > max_ns)
			max_ns = th[i].max_ns;
	}
	size_t total = (ops / threads + slots) * threads;
	printf("workload=largechurn ops=%zu slots=%zu min=%zu max=%zu touch=%zu threads=%zu "
	       "realloc=%zu timed=%s calls=%zu alloc_ns=%llu alloc_max_ns=%llu "
	       "ns_per_op=%.1f wall_ns=%llu bytes=%zu malloc=%s\n",
	       ops, slots, min, max, touch, threads, use_realloc,
	       use_realloc ? "realloc" : "malloc+free", calls, (unsigned long long)alloc_ns,
	       (unsigned long long)max_ns, (double)wall / (double)total,
	       (unsigned long long)wall, bytes, bench_malloc_origin());
	return 0;
}
