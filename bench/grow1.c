/*
 * grow1.c - workload: grow one buffer by realloc in fixed steps.
 *
 * The case rezone exists for: a buffer (a log, a vector, a file read into
 * memory) grown from 64 KiB to 1 GiB by 1 MiB steps. Every new page is
 * written once, as a program filling its buffer would; a sample of the old
 * pages is checked after each realloc and every page at the end.
 *
 * Prints one line: workload=grow1 ... realloc_ns=N wall_ns=N ...
 *   realloc_ns  time inside realloc only, summed over the calls
 *   wall_ns     the whole growth: malloc, reallocs, page writes, checks
 * Depends on libc only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#define GROW1_TAG 1
#define GROW1_SAMPLES 16

int main(int argc, char **argv)
{
	size_t start = 64 << 10, end = (size_t)1 << 30, step = 1 << 20;
	const struct bench_opt opts[] = {
		{ "start", &start, "initial size in bytes" },
		{ "end", &end, "final size in bytes" },
		{ "step", &step, "bytes added by each realloc" },
	};
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), size, reallocs = 0, moves = 0;
	uint64_t rng = 0x2545f4914f6cdd1du, realloc_ns = 0, max_ns = 0, t0, wall;
	char *p;

	bench_parse_args(argc, argv, "Grows one buffer from start to end by step.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	start = bench_round8(start);
	end = bench_round8(end);
	step = bench_round8(step);
	if (start == 0 || step == 0 || end < start)
		bench_die(BENCH_EXIT_USAGE, "grow1: need 0 < start <= end, step > 0");

	t0 = bench_now_ns();
	p = malloc(start);
	if (!p)
		bench_die(BENCH_EXIT_NOMEM, "grow1: malloc(%zu) failed", start);
	bench_fill(p, 0, start, pg, GROW1_TAG);
	for (size = start; size < end;) {
		size_t next = end - size > step ? size + step : end;
		uint64_t a, b;
		char *q;

		a = bench_now_ns();
		q = realloc(p, next);
		b = bench_now_ns();
		if (!q)
			bench_die(BENCH_EXIT_NOMEM, "grow1: realloc to %zu failed", next);
		realloc_ns += b - a;
		if (b - a > max_ns)
			max_ns = b - a;
		moves += q != p;
		reallocs++;
		p = q;
		if (bench_check_sample(p, size, pg, GROW1_TAG, &rng, GROW1_SAMPLES))
			return BENCH_EXIT_CORRUPT;
		bench_fill(p, size, next, pg, GROW1_TAG);
		size = next;
	}
	wall = bench_now_ns() - t0;
	if (bench_check_all(p, size, pg, GROW1_TAG))
		return BENCH_EXIT_CORRUPT;
	free(p);

	printf("workload=grow1 start=%zu end=%zu step=%zu reallocs=%zu moves=%zu "
	       "realloc_ns=%llu realloc_max_ns=%llu wall_ns=%llu bytes=%zu malloc=%s\n",
	       start, end, step, reallocs, moves, (unsigned long long)realloc_ns,
	       (unsigned long long)max_ns, (unsigned long long)wall, size,
	       bench_malloc_origin());
	return 0;
}
