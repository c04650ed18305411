/*
 * vector.c - workload: vector churn.
 *
 * What a program building growable arrays does: a buffer starts at 1 KiB,
 * doubles (realloc) until it holds `top` bytes, writing each new half as it
 * goes, and is freed; `rounds` times over. A large block's freed mapping,
 * headroom and touched pages included, is what the next vector can grow
 * into; an allocator that gives it back pays the page faults (and the
 * system calls) every time. The last vector's contents are checked before
 * it is freed.
 *
 * Prints one line: workload=vector ... ns_per_op=N wall_ns=N
 *   ns_per_op  wall time per vector (every realloc, write and free)
 * Depends on libc only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

int main(int argc, char **argv)
{
	size_t rounds = 3000, top = 1 << 20, start = 1024;
	const struct bench_opt opts[] = {
		{ "rounds", &rounds, "vectors built and freed" },
		{ "top", &top, "size each vector doubles up to" },
		{ "start", &start, "first size of each vector" },
	};
	uint64_t alloc_ns = 0, t0, wall;
	size_t calls = 0;

	bench_parse_args(argc, argv, "Grows vectors by doubling, frees them, again.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	if (rounds == 0 || start < 16 || top < start)
		bench_die(BENCH_EXIT_USAGE, "vector: need rounds >= 1, 16 <= start <= top");

	t0 = bench_now_ns();
	for (size_t r = 0; r < rounds; r++) {
		unsigned char *v = malloc(start);
		size_t n = start;
		if (!v)
			bench_die(BENCH_EXIT_NOMEM, "vector: malloc(%zu) failed", start);
		memset(v, (int)(r & 0x7f), n);
		while (n < top) {
			size_t next = n * 2 < top ? n * 2 : top;
			uint64_t a = bench_now_ns();
			unsigned char *q = realloc(v, next);
			alloc_ns += bench_now_ns() - a;
			calls++;
			if (!q)
				bench_die(BENCH_EXIT_NOMEM, "vector: realloc(%zu) failed", next);
			v = q;
			memset(v + n, (int)(r & 0x7f), next - n);
			n = next;
		}
		if (r + 1 == rounds)
			for (size_t i = 0; i < n; i += 4096)
				if (v[i] != (unsigned char)(r & 0x7f))
					bench_die(BENCH_EXIT_CORRUPT, "vector: corruption at %zu", i);
		uint64_t a = bench_now_ns();
		free(v);
		alloc_ns += bench_now_ns() - a;
		calls += 2;
	}
	wall = bench_now_ns() - t0;
	printf("workload=vector rounds=%zu top=%zu start=%zu timed=realloc+free calls=%zu "
	       "alloc_ns=%llu ns_per_op=%.1f wall_ns=%llu malloc=%s\n",
	       rounds, top, start, calls, (unsigned long long)alloc_ns,
	       (double)wall / (double)rounds, (unsigned long long)wall,
	       bench_malloc_origin());
	return 0;
}
