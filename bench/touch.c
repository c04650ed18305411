/*
 * touch.c - baseline: the cost of the page faults alone.
 *
 * Reserves the final size once (mmap, MAP_NORESERVE) and writes every page
 * in 1 MiB chunks, checking a sample of the pages behind after each chunk,
 * exactly as grow1.c does after each realloc, but with no allocator call
 * at all. Its wall time is the floor the growth workloads are compared
 * with: first-touch faults dominate it for every allocator.
 *
 * Prints one line: workload=touch ... wall_ns=N (no realloc_ns: there is
 * no realloc). Depends on libc only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#include <sys/mman.h>

#define TOUCH_TAG 1
#define TOUCH_SAMPLES 16
/* Linux: do not charge the reservation (strict overcommit); macOS has no such flag. */
#ifdef MAP_NORESERVE
#define TOUCH_NORESERVE MAP_NORESERVE
#else
#define TOUCH_NORESERVE 0
#endif

int main(int argc, char **argv)
{
	size_t size = (size_t)1 << 30, chunk = 1 << 20, done;
	const struct bench_opt opts[] = {
		{ "size", &size, "bytes reserved and touched" },
		{ "chunk", &chunk, "bytes touched between checks" },
	};
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t rng = 0x2545f4914f6cdd1du, t0, wall;
	char *p;

	bench_parse_args(argc, argv, "Touches size bytes of one mapping, chunk by chunk.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	size = bench_round8(size);
	chunk = bench_round8(chunk);
	if (size == 0 || chunk == 0)
		bench_die(BENCH_EXIT_USAGE, "touch: size and chunk must be > 0");

	t0 = bench_now_ns();
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | TOUCH_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		bench_die(BENCH_EXIT_NOMEM, "touch: mmap(%zu) failed", size);
	for (done = 0; done < size;) {
		size_t next = size - done > chunk ? done + chunk : size;

		if (bench_check_sample(p, done, pg, TOUCH_TAG, &rng, TOUCH_SAMPLES))
			return BENCH_EXIT_CORRUPT;
		bench_fill(p, done, next, pg, TOUCH_TAG);
		done = next;
	}
	wall = bench_now_ns() - t0;
	if (bench_check_all(p, size, pg, TOUCH_TAG))
		return BENCH_EXIT_CORRUPT;
	munmap(p, size);

	printf("workload=touch size=%zu chunk=%zu wall_ns=%llu bytes=%zu malloc=%s\n",
	       size, chunk, (unsigned long long)wall, size, bench_malloc_origin());
	return 0;
}
