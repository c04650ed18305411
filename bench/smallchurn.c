/*
 * smallchurn.c - workload: small malloc/free churn.
 *
 * rezone forwards small sizes to its delegate; this workload shows what the
 * forwarding costs against the same delegate called directly. Each thread
 * keeps a ring of live blocks; an operation picks a slot at random, checks
 * and frees its block, and mallocs a new one of a random size in
 * [min, max] (fixed-seed xorshift, so every run does the same work).
 *
 * Prints one line: workload=smallchurn ... ns_per_op=N wall_ns=N
 *   ns_per_op  wall time of the churn divided by all threads' operations
 *              (one operation = one free + one malloc)
 * Depends on libc and pthreads only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#include <pthread.h>

#define CHURN_MAX_THREADS 256

struct churn_slot {
	unsigned char *p;
	size_t size;
	uint64_t key;
};

struct churn_thread {
	pthread_t tid;
	unsigned id;
	int failed;
};

static size_t churn_ops = 10u << 20, churn_slots = 4096, churn_min = 16,
	churn_max = 1024, churn_threads = 1;

/*
 * A two-round start/stop barrier of our own: macOS has no pthread_barrier_t.
 */
static pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t churn_cond = PTHREAD_COND_INITIALIZER;
static size_t churn_waiting, churn_round;

static void churn_barrier_wait(void)
{
	size_t round;

	pthread_mutex_lock(&churn_lock);
	round = churn_round;
	if (++churn_waiting == churn_threads + 1) {
		churn_waiting = 0;
		churn_round++;
		pthread_cond_broadcast(&churn_cond);
	} else {
		while (round == churn_round)
			pthread_cond_wait(&churn_cond, &churn_lock);
	}
	pthread_mutex_unlock(&churn_lock);
}

/* The block keeps its key in its first word and the key's low byte last. */
static int churn_check(const struct churn_slot *s)
{
	uint64_t w;

	memcpy(&w, s->p, sizeof(w));
	if (w == s->key && s->p[s->size - 1] == (unsigned char)s->key)
		return 0;
	fprintf(stderr, "corruption: block %p of %zu bytes\n", (void *)s->p, s->size);
	return -1;
}

static int churn_new(struct churn_slot *s, uint64_t *rng)
{
	s->size = churn_min + bench_rand(rng) % (churn_max - churn_min + 1);
	s->p = malloc(s->size);
	if (!s->p)
		return -1;
	s->key = bench_rand(rng);
	memcpy(s->p, &s->key, sizeof(s->key));
	s->p[s->size - 1] = (unsigned char)s->key;
	return 0;
}

static void *churn_run(void *arg)
{
	struct churn_thread *t = arg;
	uint64_t rng = 0x2545f4914f6cdd1du + t->id * 0x9e3779b97f4a7c15u;
	size_t ops = churn_ops / churn_threads;
	struct churn_slot *ring = calloc(churn_slots, sizeof(*ring));

	/* Filling the ring is set-up: the timed part starts at the barrier. */
	if (!ring)
		t->failed = BENCH_EXIT_NOMEM;
	for (size_t i = 0; !t->failed && i < churn_slots; i++)
		if (churn_new(&ring[i], &rng))
			t->failed = BENCH_EXIT_NOMEM;
	churn_barrier_wait();
	for (size_t n = 0; !t->failed && n < ops; n++) {
		struct churn_slot *s = &ring[bench_rand(&rng) % churn_slots];

		if (churn_check(s)) {
			t->failed = BENCH_EXIT_CORRUPT;
			break;
		}
		free(s->p);
		if (churn_new(s, &rng)) {
			t->failed = BENCH_EXIT_NOMEM;
			break;
		}
	}
	churn_barrier_wait();
	for (size_t i = 0; !t->failed && i < churn_slots; i++)
		free(ring[i].p);
	free(ring);
	return NULL;
}

int main(int argc, char **argv)
{
	const struct bench_opt opts[] = {
		{ "ops", &churn_ops, "operations, shared among the threads" },
		{ "slots", &churn_slots, "live blocks per thread" },
		{ "min", &churn_min, "smallest block size" },
		{ "max", &churn_max, "largest block size" },
		{ "threads", &churn_threads, "threads churning at once" },
	};
	static struct churn_thread th[CHURN_MAX_THREADS];
	uint64_t t0, wall;
	int failed = 0;

	bench_parse_args(argc, argv, "Frees and mallocs small blocks at random.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	if (churn_threads == 0 || churn_threads > CHURN_MAX_THREADS ||
	    churn_slots == 0 || churn_min < 8 || churn_max < churn_min ||
	    churn_ops < churn_threads)
		bench_die(BENCH_EXIT_USAGE, "smallchurn: need threads 1..%d, slots > 0, "
			  "8 <= min <= max, ops >= threads", CHURN_MAX_THREADS);

	/* Two barrier rounds: all threads start together, and stop the clock. */
	for (size_t i = 0; i < churn_threads; i++) {
		th[i].id = (unsigned)i;
		if (pthread_create(&th[i].tid, NULL, churn_run, &th[i]))
			bench_die(BENCH_EXIT_NOMEM, "smallchurn: pthread_create failed");
	}
	churn_barrier_wait();
	t0 = bench_now_ns();
	churn_barrier_wait();
	wall = bench_now_ns() - t0;
	for (size_t i = 0; i < churn_threads; i++) {
		pthread_join(th[i].tid, NULL);
		if (th[i].failed > failed)
			failed = th[i].failed;
	}
	if (failed)
		return failed;

	churn_ops = churn_ops / churn_threads * churn_threads;
	printf("workload=smallchurn threads=%zu slots=%zu min=%zu max=%zu ops=%zu "
	       "timed=none ns_per_op=%.1f wall_ns=%llu malloc=%s\n",
	       churn_threads, churn_slots, churn_min, churn_max, churn_ops,
	       (double)wall / (double)churn_ops, (unsigned long long)wall,
	       bench_malloc_origin());
	return 0;
}
