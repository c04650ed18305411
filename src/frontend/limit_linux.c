/*
 * limit_linux.c - setrlimit and prlimit, exported so that rezone learns
 * of a limit on memory before it holds.
 *
 * Under RLIMIT_AS or RLIMIT_DATA, a thread's first call into the small
 * delegate (jemalloc) may have to map memory of its own (an arena); when
 * the process has filled its limit by then, jemalloc crashes where glibc
 * returns NULL. Threads made under a limit are prepared by pthread_create
 * (thread_linux.c), but a thread made before the program set its limit
 * was not: 8 threads made, then setrlimit(RLIMIT_AS), the limit filled,
 * then the threads' first malloc: SIGSEGV in 3 of 3 runs. So once an
 * address-space or data limit is set in this process, the engine has the
 * delegate set up threads that have not made their first call without a
 * thread cache (what crashed), and stop keeping freed address space
 * (_rz_memory_prepare). A limit set from
 * outside (prlimit(1) on this pid) is not seen; the next pthread_create
 * sees it.
 * The calls themselves go straight to the kernel, as glibc's do on
 * 64-bit Linux (prlimit64; struct rlimit is struct rlimit64 there).
 * May include: engine/engine.h, <errno.h>, <sys/resource.h>,
 * <sys/syscall.h>, <unistd.h>.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/engine.h"

#if !defined(__linux__)
#error "limit_linux.c is part of the Linux front end"
#endif

#define RZ_EXPORT __attribute__((visibility("default")))

_Static_assert(sizeof(struct rlimit) == sizeof(struct rlimit64),
    "struct rlimit is struct rlimit64 (64-bit Linux)");

RZ_EXPORT int setrlimit(__rlimit_resource_t resource, const struct rlimit *rlim);
RZ_EXPORT int setrlimit64(__rlimit_resource_t resource, const struct rlimit64 *rlim);
RZ_EXPORT int prlimit(pid_t pid, __rlimit_resource_t resource,
    const struct rlimit *new_limit, struct rlimit *old_limit);
RZ_EXPORT int prlimit64(pid_t pid, __rlimit_resource_t resource,
    const struct rlimit64 *new_limit, struct rlimit64 *old_limit);

/* The preparation runs after the call, on the limit the kernel now
 * holds: it needs no memory of the limit's (it clears two of jemalloc's
 * options and counts threads), and so a bad pointer stays the kernel's
 * EFAULT, a failed or raising call prepares nothing, and errno is the
 * call's. Only for this process: pid 0, its own or one of its threads'
 * (a vfork child shares its parent's memory and is told apart by the
 * engine). */
/* pid names this process: 0, its pid, or one of its threads' ids (limits
 * belong to the whole process; prlimit on a thread's id set it for all).
 * tgkill with signal 0 only checks that the thread is in this group. */
static bool limit_is_self(pid_t pid)
{
	if (pid == 0 || pid == getpid())
		return true;
	int saved = errno;
	bool own = pid > 0 && syscall(SYS_tgkill, getpid(), pid, 0) == 0;
	errno = saved;
	return own;
}

/* Threads are prepared before the call as well: a thread inside its
 * first jemalloc call when the limit took hold had made its thread cache
 * but could not make its arena, and crashed (SIGSEGV in
 * tcache_arena_associate: a thread released to malloc, the limit set
 * 15-40 us later, 12-27 runs of 40). Before the call, what is about to be
 * set is not read (the pointer is the kernel's to check), so only the
 * part that is right whatever the value: threads not set up go without
 * a cache, and those setting up finish first. */
static int limit_set(pid_t pid, int resource, const void *new_limit, void *old_limit)
{
	bool memory = new_limit && (resource == RLIMIT_AS || resource == RLIMIT_DATA) &&
	    limit_is_self(pid);
	if (memory) {
		int saved = errno;
		_rz_memory_prepare_threads();
		errno = saved;
	}
	int ret = (int)syscall(SYS_prlimit64, pid, resource, new_limit, old_limit);
	if (ret == 0 && memory) {
		int saved = errno;
		struct rlimit64 now;
		if (syscall(SYS_prlimit64, 0, resource, NULL, &now) == 0 &&
		    now.rlim_cur != RLIM64_INFINITY)
			(void)_rz_memory_prepare(true, 0);
		errno = saved;
	}
	return ret;
}

RZ_EXPORT int setrlimit(__rlimit_resource_t resource, const struct rlimit *rlim)
{
	return limit_set(0, (int)resource, rlim, NULL);
}

RZ_EXPORT int setrlimit64(__rlimit_resource_t resource, const struct rlimit64 *rlim)
{
	return limit_set(0, (int)resource, rlim, NULL);
}

RZ_EXPORT int prlimit(pid_t pid, __rlimit_resource_t resource,
    const struct rlimit *new_limit, struct rlimit *old_limit)
{
	return limit_set(pid, (int)resource, new_limit, old_limit);
}

RZ_EXPORT int prlimit64(pid_t pid, __rlimit_resource_t resource,
    const struct rlimit64 *new_limit, struct rlimit64 *old_limit)
{
	return limit_set(pid, (int)resource, new_limit, old_limit);
}
