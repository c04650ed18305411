/*
 * stress_forksig.c - fork from a signal handler that interrupted malloc,
 * free or realloc, in a single-threaded process.
 *
 * glibc makes this work (its malloc test tst-mallocfork2): a process that
 * has never had a second thread takes no malloc lock in fork, and fork
 * takes none of its own. An allocator whose fork handlers lock what the
 * interrupted call already holds deadlocks in the handler; one that does
 * not re-initialise its locks in the child deadlocks there. The signals
 * come from a sender process (this one must stay single-threaded), which
 * the handler stops until the main loop has finished its call, so every
 * call is interrupted at most once. The main loop frees and allocates
 * (malloc, realloc) small and large blocks; each handler forks a child
 * that _exits 0 (what glibc's test checks): the fork must not deadlock.
 *
 * With -S every child also allocates, grows and frees small and large
 * blocks. No allocator can promise that: the interrupted call may be half
 * way through changing the heap, and the child inherits the heap in that
 * state (glibc's child aborts with "malloc(): mismatching next->prev_size"
 * on the first such fork; jemalloc's crashes walking a half-coalesced
 * extent). Bad children are then counted, not fatal (not in make check).
 * May include: stress.h, the C library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

static pid_t forksig_sender;
static bool forksig_child_allocates;     /* -S */
static volatile sig_atomic_t forksig_hit;     /* set by the handler */
static volatile sig_atomic_t forksig_failed;  /* child status, 0: fine */

static _Noreturn void forksig_child(void)
{
	if (!forksig_child_allocates)
		_exit(0);
	alarm(10);
	for (size_t s = 8; s < 4 * stress_threshold; s = s * 3 + 5) {
		unsigned char *p = malloc(s);
		if (!p)
			_exit(3);
		p[0] = 1;
		p[s - 1] = 2;
		unsigned char *q = realloc(p, s * 2);
		if (!q || q[0] != 1 || q[s - 1] != 2)
			_exit(4);
		free(q);
	}
	_exit(0);
}

static void forksig_handler(int sig)
{
	(void)sig;
	int saved = errno;
	/* One fork per call of the main loop: the sender waits for SIGCONT. */
	if (forksig_hit || forksig_sender <= 0 || kill(forksig_sender, SIGSTOP) != 0) {
		errno = saved;
		return;
	}
	forksig_hit = 1;
	pid_t pid = fork();
	if (pid == 0)
		forksig_child();
	int st = -1;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (pid < 0 || st != 0)
		forksig_failed = pid < 0 ? -1 : st ? st : -1;
	errno = saved;
}

static _Noreturn void forksig_send(pid_t to)
{
	for (;;) {
		if (kill(to, SIGUSR1) != 0)
			_exit(0);
		sched_yield();
	}
}

enum { SLOTS = 509 };

int stress_forksig(const struct stress_opts *o)
{
	unsigned want = o->count ? o->count : 1000;
	unsigned hits[3] = { 0, 0, 0 }, large_hits = 0, bad = 0;
	static const char *const names[3] = { "free", "malloc", "realloc" };
	void *slot[SLOTS] = { 0 };
	size_t size[SLOTS] = { 0 };
	uint64_t rng = 0x5DEECE66DULL;
	double start = stress_now();

	forksig_child_allocates = o->self;
	struct sigaction sa = { .sa_handler = forksig_handler };
	sigemptyset(&sa.sa_mask);
	STRESS_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	/* No signal before forksig_sender is known: kill(0, SIGSTOP) would
	 * stop the whole process group. */
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	fflush(stdout);
	pid_t sender = fork();
	STRESS_CHECK(sender >= 0, "fork: %s", strerror(errno));
	if (sender == 0)
		forksig_send(getppid());
	forksig_sender = sender;
	sigprocmask(SIG_SETMASK, &old, NULL);
	unsigned total = 0;
	while (total < want) {
		uint64_t r = stress_rand(&rng);
		unsigned i = (unsigned)(r % SLOTS), op = (unsigned)(r >> 20) % 3;
		/* One block in eight is large. */
		size_t s = (r >> 32) % 8 == 0 ? stress_threshold + (r >> 40) % (2 * MiB)
		                              : (r >> 40) % 70000;
		bool large = s >= stress_threshold || size[i] >= stress_threshold;
		forksig_hit = 0;
		STRESS_CHECK(kill(forksig_sender, SIGCONT) == 0, "kill(SIGCONT)");
		if (op == 0) {
			free(slot[i]);
			slot[i] = NULL;
			size[i] = 0;
		} else if (op == 1) {
			free(slot[i]);
			slot[i] = malloc(s);
			STRESS_CHECK(slot[i] != NULL, "malloc(%zu)", s);
			size[i] = s;
		} else {
			void *q = realloc(slot[i], s ? s : 1);
			STRESS_CHECK(q != NULL, "realloc(%zu)", s);
			slot[i] = q;
			size[i] = s;
		}
		if (forksig_failed && forksig_child_allocates) {
			bad++;
			forksig_failed = 0;
		} else if (forksig_failed)
			stress_fail("forksig: the child of a fork in a handler that "
			    "interrupted %s %s (status %d)", names[op],
			    forksig_failed == -1 ? "failed" : "ended badly", (int)forksig_failed);
		if (forksig_hit) {
			hits[op]++;
			large_hits += large;
			total++;
		}
	}
	kill(forksig_sender, SIGKILL);
	waitpid(forksig_sender, NULL, 0);
	for (unsigned i = 0; i < SLOTS; i++)
		free(slot[i]);
	printf("forksig: %u forks in a signal handler during free/malloc/realloc "
	    "(%u/%u/%u; %u with a large block): %u children%s exited 0, %.1f s\n",
	    total, hits[0], hits[1], hits[2], large_hits, total - bad,
	    forksig_child_allocates ? " that allocated" : "", stress_now() - start);
	return 0;
}
