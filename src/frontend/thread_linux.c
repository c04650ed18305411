/*
 * thread_linux.c - pthread_create, exported so that under a memory limit
 * a new thread sets up the small delegate before the program's code runs.
 *
 * jemalloc sets up a thread's cache and arena on the thread's first call,
 * and maps memory to do it (an arena's first block is 2 MiB). When that
 * first call comes after the process has run out of address space
 * (RLIMIT_AS), it does not survive: it binds the thread to a NULL arena
 * and crashes (SIGSEGV in tcache_arena_associate), where glibc reuses an
 * existing arena and returns NULL at worst. glibc's tst-malloc-thread-fail
 * does exactly this (nine threads wait at a barrier under a 200 MB limit,
 * then allocate until malloc fails): it crashed in 6 of 10 runs with
 * 68 KiB blocks and 10 of 10 with 1 MiB blocks, with jemalloc alone too.
 *
 * So when memory is limited (RLIMIT_AS, RLIMIT_DATA, or commit charged:
 * _rz_thread_boot_wanted), the new thread first runs a trampoline that
 * sets the delegate up (a mallctl read that fetches jemalloc's thread
 * state in full, the work its first malloc would do), then the program's
 * start routine: by the time the thread runs any of the program's code,
 * its allocator state is there. Before the thread is made, the engine
 * also has the delegate defer thread caches (_rz_memory_prepare): the
 * trampoline turns the new thread's on once there is room for it, so a
 * thread that has not started running yet when the process exhausts its
 * memory goes without one instead of crashing. A thread created before
 * the limit was set is covered by setrlimit's wrapper (limit_linux.c).
 * pthread_create does not wait for that set-up. Waiting covered that case
 * too, but cost 2-4x per thread under a limit (8 threads created then
 * joined, 2 cores: 62-91 us per thread before, 127-341 us waiting).
 * Without the wait (same program, ulimit -v, 7 interleaved runs): threads
 * that allocate cost the same (before 115-228 us a thread, median 156;
 * after 117-270, median 135); threads that never allocate pay jemalloc's
 * set-up and teardown they would have skipped (59-71 -> 97-238 us).
 * Without a limit nothing changes: the C library's pthread_create is
 * called directly.
 * C11's thrd_create gets the same treatment: glibc's calls its internal
 * pthread_create, past this export, so without its own wrapper a C11
 * thread under a limit crashed the same way. It forwards to the C
 * library's thrd_create (which marks the thread as C11: an int result,
 * thrd_exit, thrd_join), with a trampoline of C11's type.
 * May include: engine/engine.h, <pthread.h>, <threads.h>.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#if defined(HAVE_THREADS_H)
#include <threads.h>
#endif

#include "engine/engine.h"

#if !defined(__linux__)
#error "thread_linux.c is part of the Linux front end"
#endif

#define RZ_EXPORT __attribute__((visibility("default")))

typedef int (*thread_create_fn)(pthread_t *, const pthread_attr_t *,
    void *(*)(void *), void *);

RZ_EXPORT int pthread_create(pthread_t *restrict thread,
    const pthread_attr_t *restrict attr, void *(*start)(void *),
    void *restrict arg);

/* The C library's function behind an export (the backend's one lookup,
 * past it), or a one-line diagnostic and abort: the program called it, so
 * the C library has it. dlsym may allocate: the engine sets itself up on
 * that first malloc. */
static void *thread_next(void *fn, const char *name)
{
	if (!fn) {
		static const char msg[] = "rezone: cannot find the C library's ";
		size_t n = 0;
		while (name[n])
			n++;
		_rz_os_write_err(msg, sizeof(msg) - 1);
		_rz_os_write_err(name, n);
		_rz_os_write_err("\n", 1);
		_rz_os_abort();
	}
	return fn;
}

/* The creator's note to the new thread, freed by the new thread. */
struct thread_start {
	void *(*start)(void *);
	void *arg;
};

/* rezone's set-up on the new thread is not the program's code: a cancel
 * pending from pthread_cancel right after pthread_create must act in the
 * start routine, as under glibc, not inside the delegate's set-up, where
 * it unwound a thread holding jemalloc's arenas lock (the start routine
 * never ran; the next thread that needed an arena hung). */
static void thread_boot_uncancellable(void *note)
{
	int old;
	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	_rz_thread_boot();
	_rz_free(note);
	(void)pthread_setcancelstate(old, &old);
}

static void *thread_trampoline(void *p)
{
	struct thread_start note = *(struct thread_start *)p;
	thread_boot_uncancellable(p);
	return note.start(note.arg);
}

/* Under a memory limit a thread's stack competes with what rezone keeps
 * (cached mappings, headroom): a 16 MiB stack failed (EAGAIN) beside a
 * buffer grown to 210 MiB under 256 MiB of RLIMIT_AS beyond use, where
 * glibc's pthread_create succeeds. On EAGAIN that memory goes back (as for
 * a failing malloc) and the call is made once more. */
static int thread_create_retrying(thread_create_fn create, pthread_t *thread,
    const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
	int err = create(thread, attr, start, arg);
	if (err == EAGAIN && _rz_memory_reclaim())
		err = create(thread, attr, start, arg);
	return err;
}

RZ_EXPORT int pthread_create(pthread_t *restrict thread,
    const pthread_attr_t *restrict attr, void *(*start)(void *),
    void *restrict arg)
{
	thread_create_fn create =
	    (thread_create_fn)thread_next(_rz_os_libc_pthread_create(), "pthread_create");
	struct thread_start *note;
	/* No limit, or no memory for the note: the C library's own call (the
	 * thread's first malloc then sets the delegate up, as it always has). */
	if (!_rz_thread_boot_wanted() || !(note = _rz_malloc(sizeof(*note))))
		return thread_create_retrying(create, thread, attr, start, arg);
	note->start = start;
	note->arg = arg;
	int err = thread_create_retrying(create, thread, attr, thread_trampoline, note);
	if (err != 0)
		_rz_free(note);
	return err;
}

#if defined(HAVE_THREADS_H)
typedef int (*thrd_create_fn)(thrd_t *, thrd_start_t, void *);

RZ_EXPORT int thrd_create(thrd_t *thr, thrd_start_t start, void *arg);

struct thrd_start_note {
	thrd_start_t start;
	void *arg;
};

static int thrd_trampoline(void *p)
{
	struct thrd_start_note note = *(struct thrd_start_note *)p;
	thread_boot_uncancellable(p);
	return note.start(note.arg);
}

RZ_EXPORT int thrd_create(thrd_t *thr, thrd_start_t start, void *arg)
{
	thrd_create_fn create =
	    (thrd_create_fn)thread_next(_rz_os_libc_thrd_create(), "thrd_create");
	struct thrd_start_note *note;
	int err;
	if (!_rz_thread_boot_wanted() || !(note = _rz_malloc(sizeof(*note)))) {
		note = NULL;
		err = create(thr, start, arg);
	} else {
		note->start = start;
		note->arg = arg;
		err = create(thr, thrd_trampoline, note);
	}
	/* A failed stack mapping is thrd_error here (glibc maps EAGAIN so);
	 * retried once as pthread_create is, when memory went back. */
	if (err != thrd_success && _rz_memory_reclaim())
		err = note ? create(thr, thrd_trampoline, note) : create(thr, start, arg);
	if (err != thrd_success && note)
		_rz_free(note);
	return err;
}
#endif
