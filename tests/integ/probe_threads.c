/*
 * probe_threads.c - rzprobe scenarios with many threads allocating,
 * resizing and freeing mixed sizes, and freeing each other's blocks.
 *
 * Afterwards every block has been freed, so the live large-block count
 * must be back where it started: a lost update under contention shows up
 * there even when no contents were damaged.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "probe.h"

static unsigned threads_iters;
static atomic_uint threads_seed;

static void *threads_worker(void *arg)
{
	uint64_t rng = 0x9E3779B97F4A7C15ULL * (atomic_fetch_add(&threads_seed, 1) + 1);

	(void)arg;
	for (unsigned i = 0; i < threads_iters; i++)
		probe_churn_step(&rng);
	return NULL;
}

static unsigned arg_or(int argc, char **argv, int i, unsigned dflt)
{
	return argc > i ? (unsigned)strtoul(argv[i], NULL, 0) : dflt;
}

/* threads_exchange [THREADS [ITERATIONS]]: one long round. */
static int threads_exchange(int argc, char **argv)
{
	unsigned nthreads = arg_or(argc, argv, 0, 8);
	struct rezone_stats before = probe_stats(), after;

	threads_iters = arg_or(argc, argv, 1, 3000);
	probe_churn_init(64);
	probe_threads(nthreads, threads_worker, NULL);
	probe_churn_drain();
	after = probe_stats();
	CHECK(after.large_live == before.large_live, "%lld large blocks live "
	      "after every block was freed",
	      (long long)(after.large_live - before.large_live));
	return 0;
}

/* threads_rounds [ROUNDS [THREADS [ITERATIONS]]]: threads are created and
 * joined in rounds; blocks left in the slots are freed by threads of later
 * rounds, after the threads that allocated them have exited. */
static int threads_rounds(int argc, char **argv)
{
	unsigned rounds = arg_or(argc, argv, 0, 12);
	unsigned nthreads = arg_or(argc, argv, 1, 8);
	struct rezone_stats before = probe_stats(), after;

	threads_iters = arg_or(argc, argv, 2, 200);
	probe_churn_init(256);
	for (unsigned r = 0; r < rounds; r++)
		probe_threads(nthreads, threads_worker, NULL);
	probe_churn_drain();
	after = probe_stats();
	CHECK(after.large_live == before.large_live, "%lld large blocks live "
	      "after every block was freed",
	      (long long)(after.large_live - before.large_live));
	return 0;
}

const struct probe_cmd probe_threads_cmds[] = {
	{ "threads_exchange", threads_exchange },
	{ "threads_rounds", threads_rounds },
	{ NULL, NULL },
};
