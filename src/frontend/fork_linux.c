/*
 * fork_linux.c - rezone's fork protocol under glibc: which locks are taken
 * around fork, in which order, and how the child gets them back.
 *
 * Order (src/README.md, "Fork"): stdio's list lock, then the small
 * delegate's locks, then the engine's (_rz_prefork); glibc itself then
 * takes the list lock again (it is recursive) and its own malloc locks. A thread holding a
 * FILE lock may call realloc, and one holding the list lock waits for
 * FILE locks (fflush(NULL)); no thread inside the allocator ever waits for
 * stdio. Taking the list lock first makes the forking thread wait where
 * glibc's own fork would, instead of holding the allocator while it waits.
 *
 * A process that has never had a second thread takes no lock at all, as
 * glibc does: fork may then run in a signal handler that interrupted
 * malloc, and the child re-initialises every lock instead of unlocking.
 * One whose only other thread is rezone's decay thread takes only the
 * engine's locks, which that thread uses (and none the forking thread
 * itself holds).
 * May include: engine/engine.h, frontend_linux.h, <pthread.h>,
 * <sys/single_threaded.h>.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#ifdef HAVE_SYS_SINGLE_THREADED_H
#include <sys/single_threaded.h>
#endif

#include "engine/engine.h"
#include "frontend/frontend_linux.h"

#if !defined(__linux__)
#error "fork_linux.c is part of the Linux front end"
#endif

#ifdef HAVE__IO_LIST_LOCK
/* Exported by glibc (GLIBC_2.2.5) but declared in no installed header. */
void _IO_list_lock(void);
void _IO_list_unlock(void);
void _IO_list_resetlock(void);
#define fork_stdio_lock() _IO_list_lock()
#define fork_stdio_unlock() _IO_list_unlock()
#define fork_stdio_reset() _IO_list_resetlock()
#else
#define fork_stdio_lock() ((void)0)
#define fork_stdio_unlock() ((void)0)
#define fork_stdio_reset() ((void)0)
#endif

/* What prepare took; forks are serialised by glibc (its atfork lock) once
 * the process has threads, and before that only a signal handler can nest
 * a fork, which takes nothing either. */
enum { FORK_NOTHING, FORK_ENGINE, FORK_ALL };
static int fork_locked;

static bool fork_single_threaded(void)
{
#ifdef HAVE_SYS_SINGLE_THREADED_H
	/* Set by glibc until the first pthread_create, never again after. */
	return __libc_single_threaded;
#else
	return false;
#endif
}

static void fork_prepare(void)
{
	if (fork_single_threaded()) {
		fork_locked = FORK_NOTHING;
	} else if (_rz_fork_only_helper_threads()) {
		fork_locked = FORK_ENGINE;
		_rz_prefork_engine();
	} else {
		fork_locked = FORK_ALL;
		fork_stdio_lock();
		_rz_prefork();
	}
}

static void fork_parent(void)
{
	if (fork_locked == FORK_ENGINE)
		_rz_postfork_parent_engine();
	if (fork_locked == FORK_ALL) {
		_rz_postfork_parent();
		fork_stdio_unlock();
	}
}

static void fork_child(void)
{
	/* Re-initialise rather than unlock: when prepare took nothing, the
	 * code this fork interrupted may hold a lock. */
	_rz_postfork_child();
	/* glibc has already reset the list lock (its count included ours);
	 * resetting again is harmless and does not depend on that. */
	if (fork_locked == FORK_ALL)
		fork_stdio_reset();
	fork_locked = FORK_NOTHING;
}

void _rz_fork_install(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
