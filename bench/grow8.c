/*
 * grow8.c - workload: grow several buffers by realloc, in turn.
 *
 * Interleaved growth is where in-place schemes break down: each buffer's
 * neighbour is soon another growing buffer, so growth must move or rely on
 * reserved room. Default: eight buffers start at 64 KiB and take turns
 * growing by 1 MiB until together they hold 1 GiB (128 MiB each). With
 * thousands of buffers and small steps (bufs=2048 start=16K step=16K) it is
 * the "many medium buffers growing at once" workload: blocks cross the
 * large-size threshold while their neighbours grow too, and the number of
 * mappings matters (vm.max_map_count). Pages are written and checked as in
 * grow1.c.
 *
 * Prints one line: workload=grow8 ... alloc_ns=N wall_ns=N ...
 * with the same meanings as grow1. Depends on libc only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#define GROW8_MAX_BUFS 65536
#define GROW8_SAMPLES 16

int main(int argc, char **argv)
{
	size_t bufs = 8, start = 64 << 10, total = (size_t)1 << 30, step = 1 << 20;
	const struct bench_opt opts[] = {
		{ "bufs", &bufs, "number of buffers" },
		{ "start", &start, "initial size of each buffer" },
		{ "total", &total, "final size of all buffers together" },
		{ "step", &step, "bytes added by each realloc" },
	};
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), target;
	uint64_t rng = 0x2545f4914f6cdd1du, t0, wall;
	struct bench_realloc_time rt = { 0 };
	size_t *size;
	char **p;
	int growing;

	bench_parse_args(argc, argv,
			 "Grows bufs buffers in turn by step until they hold total bytes.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	if (bufs == 0 || bufs > GROW8_MAX_BUFS)
		bench_die(BENCH_EXIT_USAGE, "grow8: bufs must be 1..%d", GROW8_MAX_BUFS);
	start = bench_round8(start);
	step = bench_round8(step);
	target = bench_round8(total / bufs);
	if (start == 0 || step == 0 || target < start)
		bench_die(BENCH_EXIT_USAGE, "grow8: need 0 < start <= total/bufs, step > 0");
	/* The bookkeeping arrays are set-up, before the clock starts. */
	p = calloc(bufs, sizeof(*p));
	size = calloc(bufs, sizeof(*size));
	if (!p || !size)
		bench_die(BENCH_EXIT_NOMEM, "grow8: calloc failed");

	t0 = bench_now_ns();
	for (size_t i = 0; i < bufs; i++) {
		p[i] = malloc(start);
		if (!p[i])
			bench_die(BENCH_EXIT_NOMEM, "grow8: malloc(%zu) failed", start);
		size[i] = start;
		bench_fill(p[i], 0, start, pg, i);
	}
	do {
		growing = 0;
		for (size_t i = 0; i < bufs; i++) {
			size_t next;
				char *q;

			if (size[i] >= target)
				continue;
			next = target - size[i] > step ? size[i] + step : target;
			q = bench_timed_realloc(&rt, p[i], next, "grow8");
			p[i] = q;
			if (bench_check_sample(q, size[i], pg, i, &rng, GROW8_SAMPLES))
				return BENCH_EXIT_CORRUPT;
			bench_fill(q, size[i], next, pg, i);
			size[i] = next;
			growing = 1;
		}
	} while (growing);
	wall = bench_now_ns() - t0;
	for (size_t i = 0; i < bufs; i++) {
		if (bench_check_all(p[i], size[i], pg, i))
			return BENCH_EXIT_CORRUPT;
		free(p[i]);
	}
	free(p);
	free(size);

	printf("workload=grow8 bufs=%zu start=%zu total=%zu step=%zu timed=realloc "
	       "calls=%zu moves=%zu alloc_ns=%llu alloc_max_ns=%llu wall_ns=%llu "
	       "bytes=%zu malloc=%s\n",
	       bufs, start, target * bufs, step, rt.calls, rt.moves,
	       (unsigned long long)rt.total_ns, (unsigned long long)rt.max_ns,
	       (unsigned long long)wall, target * bufs, bench_malloc_origin());
	return 0;
}
