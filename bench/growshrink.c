/*
 * growshrink.c - workload: grow-then-shrink cycles of one buffer.
 *
 * A buffer reused for messages or records of varying size: grown from start
 * to max by step, then shrunk back to start by step, cycles times. Shrinking
 * gives pages back or keeps them, growing again needs them back: this is
 * where an allocator's shrink policy (in place, keep the reservation,
 * return pages) shows. New pages are written on growth; a sample of the
 * kept pages is checked after each realloc, every page at the end.
 *
 * Prints one line: workload=growshrink ... alloc_ns=N wall_ns=N ...
 * with the same meanings as grow1. Depends on libc only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#define GS_TAG 3
#define GS_SAMPLES 16

int main(int argc, char **argv)
{
	size_t start = 64 << 10, max = 32 << 20, step = 1 << 20, cycles = 8;
	const struct bench_opt opts[] = {
		{ "start", &start, "smallest size" },
		{ "max", &max, "largest size" },
		{ "step", &step, "bytes added or removed by each realloc" },
		{ "cycles", &cycles, "grow-then-shrink cycles" },
	};
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), size, bytes = 0;
	uint64_t rng = 0x2545f4914f6cdd1du, t0, wall;
	struct bench_realloc_time rt = { 0 };
	char *p;

	bench_parse_args(argc, argv,
			 "Grows one buffer from start to max by step and back, cycles times.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	start = bench_round8(start);
	max = bench_round8(max);
	step = bench_round8(step);
	if (start == 0 || step == 0 || max < start || cycles == 0)
		bench_die(BENCH_EXIT_USAGE,
			  "growshrink: need 0 < start <= max, step > 0, cycles > 0");

	t0 = bench_now_ns();
	p = malloc(start);
	if (!p)
		bench_die(BENCH_EXIT_NOMEM, "growshrink: malloc(%zu) failed", start);
	bench_fill(p, 0, start, pg, GS_TAG);
	size = start;
	for (size_t c = 0; c < 2 * cycles; c++) {
		int grow = c % 2 == 0;

		while (grow ? size < max : size > start) {
			size_t next = grow ? (max - size > step ? size + step : max)
					   : (size - start > step ? size - step : start);
			size_t kept = next < size ? next : size;
				char *q;

			q = bench_timed_realloc(&rt, p, next, "growshrink");
			p = q;
			if (bench_check_sample(p, kept, pg, GS_TAG, &rng, GS_SAMPLES))
				return BENCH_EXIT_CORRUPT;
			if (grow) {
				bench_fill(p, size, next, pg, GS_TAG);
				bytes += next - size;
			}
			size = next;
		}
	}
	wall = bench_now_ns() - t0;
	if (bench_check_all(p, size, pg, GS_TAG))
		return BENCH_EXIT_CORRUPT;
	free(p);

	printf("workload=growshrink start=%zu max=%zu step=%zu cycles=%zu timed=realloc "
	       "calls=%zu moves=%zu alloc_ns=%llu alloc_max_ns=%llu wall_ns=%llu "
	       "bytes=%zu malloc=%s\n",
	       start, max, step, cycles, rt.calls, rt.moves, (unsigned long long)rt.total_ns,
	       (unsigned long long)rt.max_ns, (unsigned long long)wall, bytes,
	       bench_malloc_origin());
	return 0;
}
