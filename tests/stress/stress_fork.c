/*
 * stress_fork.c - fork while other threads allocate.
 *
 * Part 1: several threads fork in a loop while others allocate, grow and
 * free blocks of every size; a fork can catch any allocator lock held,
 * which the allocator's fork handlers must take and release (or reset in
 * the child).
 * Part 2: fork from a signal handler. A thread that never allocates takes
 * SIGUSR1 (every other thread blocks it) and forks in the handler while
 * the others allocate: the fork handlers run in signal context and must
 * wait for whichever thread holds the lock, not deadlock.
 * With -S, part 3 also signals the allocating threads themselves. A fork
 * from a handler that interrupted the same thread inside malloc is not
 * something any allocator with fork handlers survives (glibc's included:
 * fork is not async-signal-safe there); this part reports what happens
 * and is not run by make check.
 * Every child walks all size classes (small, around the threshold, large)
 * with malloc/free and exits with _exit; a child that hangs is killed by
 * its own alarm, and the parent reports it.
 * May include: stress.h, the C library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

static atomic_bool fork_stop;
static atomic_ulong fork_busy_ops;

/* What every child does: malloc, write, check and free every size class
 * of the small delegate and sizes on both sides of the threshold, then
 * _exit. Returns through _exit only: 0 on success. */
static _Noreturn void fork_child(void)
{
	size_t thr = stress_threshold;
	alarm(10);
	for (size_t s = 1; s <= 2 * thr + 4096; ) {
		unsigned char *p = malloc(s);
		if (!p)
			_exit(3);
		size_t touch = s < 64 * KiB ? s : 64 * KiB;
		memset(p, 0x5A, touch);
		memset(p + s - touch, 0x5A, touch);
		if (p[0] != 0x5A || p[s - 1] != 0x5A)
			_exit(4);
		free(p);
		/* Every jemalloc size class below 4 KiB, then coarser steps. */
		s += s < 128 ? 8 : s < 4096 ? s / 8 : s < thr - 8192 ? s / 4 : 4096;
	}
	static const size_t big[] = { 1, 0, 2, 1 << 20, 16 << 20 };
	for (unsigned i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		size_t s = big[i] < 3 ? thr - 1 + big[i] : big[i];
		unsigned char *p = malloc(s);
		if (!p)
			_exit(5);
		p[0] = 1;
		p[s - 1] = 2;
		unsigned char *q = realloc(p, 2 * s);
		if (!q || q[0] != 1 || q[s - 1] != 2)
			_exit(6);
		free(q);
	}
	_exit(0);
}

/* Allocation load: tagged blocks of every size, resized and freed. */
static void *fork_busy(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 1;
	while (!atomic_load(&fork_stop)) {
		struct stress_block b = { .seed = stress_rand(&rng) | 1 };
		b.size = stress_pick_size(&rng, 4 * MiB);
		b.p = malloc(b.size);
		STRESS_CHECK(b.p != NULL || b.size == 0, "malloc(%zu) under fork load", b.size);
		if (!b.p)
			continue;
		stress_tag(&b, 0, b.size);
		size_t n = b.size * 2 + 1;
		unsigned char *q = realloc(b.p, n);
		STRESS_CHECK(q != NULL, "realloc to %zu under fork load", n);
		b.p = q;
		stress_verify(&b, "realloc under fork load");
		free(b.p);
		atomic_fetch_add(&fork_busy_ops, 1);
	}
	return NULL;
}

/* Reaps pid; fails unless it exited with 0. */
static void fork_reap(pid_t pid, const char *how)
{
	int st;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	STRESS_CHECK(r == pid, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(st))
		stress_fail("%s: child killed by signal %d%s", how, WTERMSIG(st),
		    WTERMSIG(st) == SIGALRM ? " (its watchdog: deadlock in the child)" : "");
	STRESS_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "%s: child exited with %d", how, WEXITSTATUS(st));
}

struct forker {
	pthread_t tid;
	unsigned forks;
};

static void *fork_from_thread(void *arg)
{
	struct forker *f = arg;
	for (unsigned i = 0; i < f->forks; i++) {
		pid_t pid = fork();
		STRESS_CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0)
			fork_child();
		fork_reap(pid, "fork from a thread");
	}
	return NULL;
}

/* ---- fork from a signal handler --------------------------------------- */

static atomic_int sig_pid;       /* child of the last handler run; 0: none yet */
static atomic_bool sig_catcher_ready;
static atomic_bool sig_catcher_done; /* SIGUSR1 blocked again, about to exit */

static void fork_on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	pid_t pid = fork();
	if (pid == 0)
		fork_child();
	atomic_store(&sig_pid, pid > 0 ? (int)pid : -errno);
	errno = saved;
}

/* Takes SIGUSR1 and never allocates. */
static void *fork_catcher(void *arg)
{
	sigset_t usr1;
	(void)arg;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	atomic_store(&sig_catcher_ready, true);
	while (!atomic_load(&fork_stop))
		pause();
	/* Thread exit frees the thread's allocator state (jemalloc's tcache,
	 * made when a handler's fork first ran prepare here): a signal then
	 * would fork inside free on this very thread, which no allocator can
	 * survive (the stress run hung about 1 run in 200 at a 4 KiB
	 * threshold, in jemalloc's prefork behind its own lock). */
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	atomic_store(&sig_catcher_done, true);
	return NULL;
}

/* Sends SIGUSR1 to `to` and waits (up to 5 s) for the handler's child;
 * stops waiting if *give_up (when given) becomes true. */
static bool fork_signal_once(pthread_t to, const char *how, const atomic_bool *give_up)
{
	atomic_store(&sig_pid, 0);
	STRESS_CHECK(pthread_kill(to, SIGUSR1) == 0, "pthread_kill");
	double limit = stress_now() + 5;
	while (atomic_load(&sig_pid) == 0) {
		if (give_up && atomic_load(give_up) && atomic_load(&sig_pid) == 0)
			return true; /* blocked before the signal came: no child */
		if (stress_now() > limit)
			return false;
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
	int pid = atomic_load(&sig_pid);
	STRESS_CHECK(pid > 0, "%s: fork failed: %s", how, strerror(-pid));
	fork_reap(pid, how);
	return true;
}

static void fork_start_busy(pthread_t *busy, unsigned n)
{
	atomic_store(&fork_stop, false);
	for (unsigned i = 0; i < n; i++)
		STRESS_CHECK(pthread_create(&busy[i], NULL, fork_busy, (void *)(uintptr_t)(i + 1)) == 0,
		    "pthread_create");
}

static void fork_stop_busy(pthread_t *busy, unsigned n)
{
	atomic_store(&fork_stop, true);
	for (unsigned i = 0; i < n; i++)
		pthread_join(busy[i], NULL);
}

int stress_fork(const struct stress_opts *o)
{
	unsigned nbusy = o->threads, forks = o->count ? o->count : 200;
	pthread_t busy[64], catcher;
	struct forker f[4];
	double start = stress_now();

	STRESS_CHECK(nbusy <= 64, "at most 64 threads");
	/* Part 1: four threads fork while nbusy threads allocate. */
	fork_start_busy(busy, nbusy);
	for (unsigned i = 0; i < 4; i++) {
		f[i].forks = forks / 4;
		STRESS_CHECK(pthread_create(&f[i].tid, NULL, fork_from_thread, &f[i]) == 0,
		    "pthread_create");
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(f[i].tid, NULL);
	fork_stop_busy(busy, nbusy);
	printf("fork: %u forks from 4 threads during %lu allocations: all children "
	    "exited 0, %.1f s\n", forks / 4 * 4, atomic_load(&fork_busy_ops),
	    stress_now() - start);

	/* Part 2: fork in a SIGUSR1 handler on a thread that never allocates. */
	struct sigaction sa = { .sa_handler = fork_on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);   /* inherited by the threads */
	start = stress_now();
	atomic_store(&fork_busy_ops, 0);
	fork_start_busy(busy, nbusy);
	atomic_store(&sig_catcher_done, false);
	STRESS_CHECK(pthread_create(&catcher, NULL, fork_catcher, NULL) == 0, "pthread_create");
	while (!atomic_load(&sig_catcher_ready))
		sched_yield();
	for (unsigned i = 0; i < forks / 2; i++)
		STRESS_CHECK(fork_signal_once(catcher, "fork in a signal handler", NULL),
		    "fork in a signal handler (catcher thread) did not return within 5 s: deadlock");
	fork_stop_busy(busy, nbusy);
	/* The catcher may sit in pause(): signal it until it has blocked the
	 * signal again (then it exits without one). */
	while (!atomic_load(&sig_catcher_done)) {
		STRESS_CHECK(fork_signal_once(catcher, "fork in a signal handler", &sig_catcher_done),
		    "fork in a signal handler did not return within 5 s: deadlock");
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	STRESS_CHECK(pthread_join(catcher, NULL) == 0, "pthread_join");
	printf("fork: %u forks in a signal handler during %lu allocations: all "
	    "children exited 0, %.1f s\n", forks / 2, atomic_load(&fork_busy_ops),
	    stress_now() - start);

	if (!o->self)
		return 0;
	/* Part 3 (-S): the handler runs on the allocating threads themselves. */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	unsigned done = 0;
	start = stress_now();
	fork_start_busy(busy, nbusy);
	for (unsigned i = 0; i < forks / 2; i++, done++)
		if (!fork_signal_once(busy[i % nbusy], "fork in a handler on an allocating thread", NULL)) {
			printf("fork: -S: fork in a handler that interrupted an allocating "
			    "thread did not return within 5 s after %u good forks "
			    "(deadlock; known limitation, see stress_fork.c)\n", done);
			fflush(stdout);
			_exit(3);
		}
	fork_stop_busy(busy, nbusy);
	printf("fork: -S: %u forks in handlers on allocating threads: all children "
	    "exited 0, %.1f s\n", done, stress_now() - start);
	return 0;
}
