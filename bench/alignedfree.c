/*
 * alignedfree.c - workload: page-aligned small frees among many live large
 * blocks.
 *
 * `live` large blocks (256 KiB) stay allocated, made among small 4 KiB
 * blocks (jemalloc's 4 KiB class is page-aligned, like many of
 * libmalloc's) so that the small blocks' pages lie between the large
 * blocks' mappings. Then `ops` times: free a small block and malloc
 * another. An allocator that must decide whether a page-aligned pointer
 * is one of its large blocks pays for that decision on every free; with a
 * scan it grows with the number of live blocks. Runs the same loop first
 * with no large block live and reports both.
 *
 * Prints one line: workload=alignedfree ... ns_per_op=N none_ns_per_op=N
 *   ns_per_op       per free+malloc pair with `live` large blocks
 *   none_ns_per_op  the same before any large block exists
 * Depends on libc only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#define AF_SMALL 2000

static void *af_small[AF_SMALL];

static uint64_t af_pairs(size_t ops)
{
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < ops; i++) {
		size_t k = i % AF_SMALL;
		free(af_small[k]);
		if (!(af_small[k] = malloc(4096)))
			bench_die(BENCH_EXIT_NOMEM, "alignedfree: malloc(4096) failed");
	}
	return bench_now_ns() - t0;
}

int main(int argc, char **argv)
{
	size_t ops = 200000, live = 60000, size = 256 << 10;
	const struct bench_opt opts[] = {
		{ "ops", &ops, "small free+malloc pairs per phase" },
		{ "live", &live, "large blocks kept live" },
		{ "size", &size, "size of each large block" },
	};
	bench_parse_args(argc, argv, "Frees page-aligned small blocks among live large ones.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	if (ops == 0)
		bench_die(BENCH_EXIT_USAGE, "alignedfree: need ops >= 1");
	void **big = calloc(live ? live : 1, sizeof(void *));
	if (!big)
		bench_die(BENCH_EXIT_NOMEM, "alignedfree: no table");
	for (size_t i = 0; i < AF_SMALL; i++)
		if (!(af_small[i] = malloc(4096)))
			bench_die(BENCH_EXIT_NOMEM, "alignedfree: malloc(4096) failed");
	uint64_t none = af_pairs(ops);
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < live; i++) {
		if (!(big[i] = malloc(size)))
			bench_die(BENCH_EXIT_NOMEM, "alignedfree: malloc(%zu) #%zu failed", size, i);
		*(volatile char *)big[i] = 1;
		if (i % 30 == 0) {
			free(af_small[(i / 30) % AF_SMALL]);
			af_small[(i / 30) % AF_SMALL] = malloc(4096);
		}
	}
	uint64_t many = af_pairs(ops);
	for (size_t i = 0; i < live; i++)
		free(big[i]);
	for (size_t i = 0; i < AF_SMALL; i++)
		free(af_small[i]);
	free(big);
	uint64_t wall = bench_now_ns() - t0 + none;
	printf("workload=alignedfree ops=%zu live=%zu size=%zu timed=free+malloc "
	       "alloc_ns=%llu ns_per_op=%.1f none_ns_per_op=%.1f wall_ns=%llu malloc=%s\n",
	       ops, live, size, (unsigned long long)many, (double)many / (double)ops,
	       (double)none / (double)ops, (unsigned long long)wall, bench_malloc_origin());
	return 0;
}
