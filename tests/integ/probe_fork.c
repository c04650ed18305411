/*
 * probe_fork.c - rzprobe scenario that forks while other threads allocate.
 *
 * A fork can catch another thread holding an allocator lock; unless the
 * allocator takes its locks around fork (pthread_atfork) the child then
 * deadlocks on its first allocation. Watchdogs (alarm) turn a deadlock in
 * the parent or a child into a failure instead of a hang.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

static atomic_bool fork_stop;
static atomic_uint fork_seed;

static void *fork_busy(void *arg)
{
	uint64_t rng = 0xD1B54A32D192ED03ULL * (atomic_fetch_add(&fork_seed, 1) + 1);

	(void)arg;
	while (!atomic_load(&fork_stop))
		probe_churn_step(&rng);
	return NULL;
}

static void *fork_child_thread(void *arg)
{
	void *p = malloc(PROBE_LARGE);

	CHECK(p != NULL, "malloc in a thread of the child");
	memset(p, 3, PROBE_LARGE);
	free(p);
	return arg;
}

/* The child uses small and large blocks on both paths, and threads. */
static void fork_child(void)
{
	char *small[64], *big;
	pthread_t t;

	alarm(10);
	for (int i = 0; i < 64; i++) {
		small[i] = malloc(16 + 61 * i);
		CHECK(small[i] != NULL, "small malloc in the child");
		memset(small[i], i, 16 + 61 * i);
	}
	big = malloc(PROBE_LARGE);
	CHECK(big != NULL, "large malloc in the child");
	memset(big, 9, PROBE_LARGE);
	big = realloc(big, 5 * PROBE_MIB);
	CHECK(big != NULL && big[PROBE_LARGE - 1] == 9, "realloc in the child");
	free(big);
	for (int i = 0; i < 64; i++)
		free(small[i]);
	CHECK(pthread_create(&t, NULL, fork_child_thread, NULL) == 0,
	      "pthread_create in the child");
	CHECK(pthread_join(t, NULL) == 0, "pthread_join in the child");
	exit(0);
}

/* Waits for child f (of forks) and requires a clean exit. */
static void fork_wait_child(pid_t pid, unsigned f, unsigned forks)
{
	int status;
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child %u of %u: %s %d%s", f + 1, forks,
	      WIFEXITED(status) ? "exit status" : "killed by signal",
	      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
	      WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM
		      ? " (watchdog: the child hung)" : "");
}

/* fork_while_allocating [FORKS [THREADS]] */
static int fork_while_allocating(int argc, char **argv)
{
	unsigned forks = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 0) : 24;
	unsigned nthreads = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 4;
	pthread_t tid[16];

	CHECK(nthreads <= 16, "at most 16 threads");
	alarm(60);
	probe_churn_init(32);
	for (unsigned i = 0; i < nthreads; i++)
		CHECK(pthread_create(&tid[i], NULL, fork_busy, NULL) == 0,
		      "pthread_create");
	for (unsigned f = 0; f < forks; f++) {
		pid_t pid;

		usleep(2000);
		pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0)
			fork_child();
		fork_wait_child(pid, f, forks);
	}
	atomic_store(&fork_stop, true);
	for (unsigned i = 0; i < nthreads; i++)
		CHECK(pthread_join(tid[i], NULL) == 0, "pthread_join");
	probe_churn_drain();
	return 0;
}

/* ---- children that set a limit while the parent makes threads ---------- */

static void *fork_leaf(void *arg)
{
	void *volatile p = malloc(100); /* the thread's first call sets it up */
	free(p);
	return arg;
}

static void *fork_spawner(void *arg)
{
	while (!atomic_load(&fork_stop)) {
		pthread_t t;
		if (pthread_create(&t, NULL, fork_leaf, NULL) == 0)
			pthread_join(t, NULL);
	}
	return arg;
}

/* fork_limit_thread [FORKS]: two threads make threads (each sets itself
 * up on its first malloc) while the main thread forks; each child sets
 * RLIMIT_AS, then makes a thread and exits. A parent thread setting up at
 * the fork left the delegate's gate counted in the child, whose first
 * thread then spun forever (src/backend/small_jemalloc.c). */
static int fork_limit_thread(int argc, char **argv)
{
	unsigned forks = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 0) : 100;
	pthread_t tid[2];

	alarm(100);
	for (unsigned i = 0; i < 2; i++)
		CHECK(pthread_create(&tid[i], NULL, fork_spawner, NULL) == 0, "pthread_create");
	for (unsigned f = 0; f < forks; f++) {
		pid_t pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0) {
			alarm(10);
			struct rlimit rl;
			pthread_t t;
			if (getrlimit(RLIMIT_AS, &rl) != 0)
				_exit(2);
			rl.rlim_cur = (rlim_t)64 << 30;
			if (setrlimit(RLIMIT_AS, &rl) != 0)
				_exit(3);
			if (pthread_create(&t, NULL, fork_leaf, NULL) != 0 || pthread_join(t, NULL) != 0)
				_exit(4);
			_exit(0);
		}
		fork_wait_child(pid, f, forks);
	}
	atomic_store(&fork_stop, true);
	for (unsigned i = 0; i < 2; i++)
		CHECK(pthread_join(tid[i], NULL) == 0, "pthread_join");
	return 0;
}

const struct probe_cmd probe_fork_cmds[] = {
	{ "fork_while_allocating", fork_while_allocating },
	{ "fork_limit_thread", fork_limit_thread },
	{ NULL, NULL },
};
