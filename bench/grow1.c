/*
 * grow1.c - workload: grow one buffer by realloc, by fixed steps or by a
 * factor.
 *
 * The case rezone exists for: a buffer (a log, a vector, a file read into
 * memory) grown from 64 KiB to 1 GiB by 1 MiB steps (step=1M), or doubled
 * each time as a vector does (factor=2). Every new page is written once, as
 * a program filling its buffer would; a sample of the old pages is checked
 * after each realloc and every page at the end.
 *
 * Prints "trace ..." lines (see bench.h: cumulative and per-call realloc
 * time against the block size), then one result line:
 *   workload=grow1 ... alloc_ns=N alloc_max_ns=N wall_ns=N ...
 *   alloc_ns  time inside realloc only, summed over the calls (timed=realloc)
 *   wall_ns   the whole growth: malloc, reallocs, page writes, checks
 * Depends on libc only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#define GROW1_TAG 1
#define GROW1_SAMPLES 16

static struct bench_trace grow1_trace;

int main(int argc, char **argv)
{
	size_t start = 64 << 10, end = (size_t)1 << 30, step = 1 << 20, factor = 0;
	const struct bench_opt opts[] = {
		{ "start", &start, "initial size in bytes" },
		{ "end", &end, "final size in bytes" },
		{ "step", &step, "bytes added by each realloc (when factor=0)" },
		{ "factor", &factor, "multiply the size by this at each realloc (0: use step)" },
	};
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), size;
	uint64_t rng = 0x2545f4914f6cdd1du, t0, wall;
	struct bench_realloc_time rt = { 0 };
	char *p;

	bench_parse_args(argc, argv,
			 "Grows one buffer from start to end by step, or by factor.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	start = bench_round8(start);
	end = bench_round8(end);
	step = bench_round8(step);
	if (start == 0 || end < start || (factor == 0 && step == 0) || factor == 1)
		bench_die(BENCH_EXIT_USAGE,
			  "grow1: need 0 < start <= end, and step > 0 or factor >= 2");

	t0 = bench_now_ns();
	p = malloc(start);
	if (!p)
		bench_die(BENCH_EXIT_NOMEM, "grow1: malloc(%zu) failed", start);
	bench_fill(p, 0, start, pg, GROW1_TAG);
	for (size = start; size < end;) {
		size_t next = factor ? (end / factor >= size ? size * factor : end)
				     : (end - size > step ? size + step : end);
		char *q;

		next = bench_round8(next);
		q = bench_timed_realloc(&rt, p, next, "grow1");
		bench_trace_add(&grow1_trace, factor != 0, next, rt.calls, rt.total_ns, rt.last_ns);
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

	bench_trace_print(&grow1_trace);
	printf("workload=grow1 start=%zu end=%zu step=%zu factor=%zu timed=realloc "
	       "calls=%zu moves=%zu alloc_ns=%llu alloc_max_ns=%llu wall_ns=%llu "
	       "bytes=%zu malloc=%s\n",
	       start, end, step, factor, rt.calls, rt.moves, (unsigned long long)rt.total_ns,
	       (unsigned long long)rt.max_ns, (unsigned long long)wall, size,
	       bench_malloc_origin());
	return 0;
}
