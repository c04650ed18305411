/*
 * os_posix.c - the process services of the platform contract (os.h) that
 * Linux and macOS share: environment lookup, clock, stderr reports, abort,
 * and the report services of proc.h (pid, program name, appending a record).
 * Never allocates: it runs inside malloc, possibly before libc is ready
 * (starting the helper thread is the exception: pthread_create allocates,
 * and the engine calls it outside every operation).
 * May include: os.h, posix.h, proc.h, POSIX headers.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "backend/os.h"
#include "backend/posix.h"
#include "backend/proc.h"

const char *_rz_os_getenv(const char *name)
{
	char **env = _rz_os_environ();
	size_t n = strlen(name);
	if (!env)
		return NULL;
	for (char **e = env; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

uint64_t _rz_os_now_ns(void)
{
	struct timespec ts;
	int saved = errno;
	/* Stamps for decay, which works in hundreds of milliseconds: the
	 * coarse clock (one tick is 1-4 ms) reads the vDSO's last tick
	 * without the TSC, a few ns against ~20, and a vector's life takes
	 * two stamps (src/README.md, "The fast lane"). */
#ifdef CLOCK_MONOTONIC_COARSE
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
		return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
	/* No coarse clock (a sandbox without the vDSO's): the precise one.
	 * errno stays as it was: a successful malloc call must not change it. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		ts.tv_sec = ts.tv_nsec = 0;
	errno = saved;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Where reports go: stderr, or its private duplicate once kept. */
static int os_err_fd = STDERR_FILENO;

void _rz_os_keep_stderr(void)
{
	/* Above the descriptors programs usually juggle; close-on-exec so it
	 * never leaks into a child. */
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 100);
	if (fd >= 0)
		os_err_fd = fd;
}

void _rz_os_write_err(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(os_err_fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void _rz_os_abort(void)
{
	abort();
}

static size_t posix_limit(int which)
{
	struct rlimit rl;
	if (getrlimit(which, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	return (size_t)rl.rlim_cur;
}

void _rz_os_limits(size_t *as_limit, size_t *data_limit)
{
	*as_limit = posix_limit(RLIMIT_AS);
	*data_limit = posix_limit(RLIMIT_DATA);
}

void _rz_os_yield(void)
{
	sched_yield();
}

/* nanosleep is a cancellation point, and this runs inside the program's
 * unshare and setns (frontend/namespace_linux.c), where a pending cancel
 * must not act: cancellation is off around it. */
void _rz_os_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u) };
	int saved = errno, cancel;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	pthread_setcancelstate(cancel, NULL);
	errno = saved;
}

static pthread_mutex_t posix_wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t posix_wait_cond = PTHREAD_COND_INITIALIZER;
static bool posix_woken;

/* The condition's clock is made monotonic before the helper thread first
 * waits (_rz_os_thread_start, once: a later thread may start while
 * another thread is in _rz_os_wake), so that a timed wait is not
 * stretched or cut by a change of the wall clock; a fork child makes them
 * anew. macOS waits by a relative time. */
static bool posix_wait_ready;

static void posix_wait_init(void)
{
	posix_wait_ready = true;
	pthread_mutex_init(&posix_wait_lock, NULL);
#if defined(__linux__)
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&posix_wait_cond, &ca);
	pthread_condattr_destroy(&ca);
#else
	pthread_cond_init(&posix_wait_cond, NULL);
#endif
	posix_woken = false;
}

void _rz_os_wait(void)
{
	pthread_mutex_lock(&posix_wait_lock);
	while (!posix_woken)
		pthread_cond_wait(&posix_wait_cond, &posix_wait_lock);
	posix_woken = false;
	pthread_mutex_unlock(&posix_wait_lock);
}

void _rz_os_wait_for(uint64_t ns)
{
	struct timespec ts;
#if defined(__linux__)
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t at = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + ns;
	ts.tv_sec = (time_t)(at / 1000000000u);
	ts.tv_nsec = (long)(at % 1000000000u);
#else
	ts.tv_sec = (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
#endif
	pthread_mutex_lock(&posix_wait_lock);
	int err = 0;
	while (!posix_woken && err != ETIMEDOUT) {
#if defined(__linux__)
		err = pthread_cond_timedwait(&posix_wait_cond, &posix_wait_lock, &ts);
#else
		err = pthread_cond_timedwait_relative_np(&posix_wait_cond, &posix_wait_lock, &ts);
		/* Relative: a spurious wake-up starts the time again; bounded by
		 * the caller, which looks at its clock after every return. */
		if (err == 0)
			break;
#endif
	}
	posix_woken = false;
	pthread_mutex_unlock(&posix_wait_lock);
}

void _rz_os_wake(void)
{
	pthread_mutex_lock(&posix_wait_lock);
	posix_woken = true;
	pthread_cond_signal(&posix_wait_cond);
	pthread_mutex_unlock(&posix_wait_lock);
}

void _rz_os_wait_reset(void)
{
	posix_wait_init();
}

typedef int (*posix_thread_create_fn)(pthread_t *, const pthread_attr_t *,
    void *(*)(void *), void *);

/* On Linux rezone exports its own pthread_create and thrd_create
 * (thread_linux.c: under a memory limit a new thread sets up the small
 * delegate before its start routine); the C library's are the next
 * definitions. */
#if defined(__linux__)
/* dlsym(RTLD_NEXT, name), cached in *slot. dlsym may allocate: the
 * engine sets itself up on that first malloc. Racing threads store the
 * same pointer. */
static void *libc_next(void **slot, const char *name)
{
	void *fn = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (!fn) {
		fn = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, fn, __ATOMIC_RELAXED);
	}
	return fn;
}
#endif

void *_rz_os_libc_pthread_create(void)
{
#if defined(__linux__)
	static void *next;
	return libc_next(&next, "pthread_create");
#else
	return (void *)pthread_create;
#endif
}

void *_rz_os_libc_thrd_create(void)
{
#if defined(__linux__)
	static void *next;
	return libc_next(&next, "thrd_create");
#else
	return NULL;
#endif
}

int _rz_os_thread_start(void *(*fn)(void *), void *arg)
{
	/* rezone's helper thread never uses the delegate: created past the
	 * export. Not found: not started (decay then runs inside calls). */
	posix_thread_create_fn create = (posix_thread_create_fn)_rz_os_libc_pthread_create();
	if (!create)
		return EAGAIN;
	/* Thread starts are one at a time (decay.c's state). */
	if (!posix_wait_ready)
		posix_wait_init();
	/* Signals blocked: the program's handlers must never run on a thread
	 * it did not create. The mask is inherited, so set it around the
	 * creation and restore it. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0)
		return EAGAIN;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, (size_t)64 << 10);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int err = create(&t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return err;
}

long _rz_os_pid(void)
{
	return (long)getpid();
}

const char *_rz_os_progname(void)
{
#if defined(__APPLE__)
	const char *name = getprogname();
#elif defined(__GLIBC__)
	/* Set by glibc from argv[0] before any constructor runs. */
	const char *name = program_invocation_short_name;
#else
	const char *name = NULL;
#endif
	return name && *name ? name : "?";
}

int _rz_os_append(const char *path, const char *s, size_t n)
{
	int fd;
	do
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return errno;
	/* One write: O_APPEND makes the seek and the write atomic, so a short
	 * record is never split by another process's. A retry after a short
	 * write could interleave; a record is ~500 bytes, far below the sizes
	 * at which regular files ever write short. */
	ssize_t w;
	do
		w = write(fd, s, n);
	while (w < 0 && errno == EINTR);
	int err = w < 0 ? errno : (size_t)w == n ? 0 : EIO;
	close(fd);
	return err;
}
