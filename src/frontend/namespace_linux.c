/*
 * namespace_linux.c - unshare and setns, exported so that rezone's helper
 * thread does not stand in the way of a call that needs the process to
 * have one thread.
 *
 * The kernel refuses unshare(CLONE_NEWUSER) (and CLONE_THREAD,
 * CLONE_SIGHAND, CLONE_VM), and setns into a user or mount namespace, with
 * EINVAL in a process of several threads. rezone's decay thread (started
 * when the cache first holds memory: engine/decay.c) made a program that
 * had freed a large block one of those: `unshare -U` style sandboxing
 * failed under rezone where it works under glibc. On EINVAL, and only if
 * rezone's thread ran, the call is made again once that thread has ended;
 * a later large call starts it again. Every other outcome, errno
 * included, is the kernel's: the calls go straight to it, as glibc's do.
 * May include: engine/engine.h, <errno.h>, <sched.h>, <sys/syscall.h>,
 * <time.h>, <unistd.h>.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"

#if !defined(__linux__)
#error "namespace_linux.c is part of the Linux front end"
#endif

#define RZ_EXPORT __attribute__((visibility("default")))

RZ_EXPORT int unshare(int flags);
RZ_EXPORT int setns(int fd, int nstype);

#define NAMESPACE_TRIES 50

/* The call (SYS_unshare or SYS_setns), once more if the kernel refused it
 * with EINVAL while rezone's thread ran: the engine ends the thread and
 * waits until the kernel's count has lost it; where that count cannot be
 * read (no /proc after a chroot: 22 of 500 retries still failed), the
 * call is tried again for up to 50 ms. A call that succeeds in the end
 * leaves errno as the caller had it. */
static int namespace_call(long nr, long a, long b)
{
	int caller = errno;
	long ret = syscall(nr, a, b);
	if (ret != -1 || errno != EINVAL || !_rz_helper_threads_stop()) {
		if (ret == 0)
			errno = caller;
		return (int)ret;
	}
	for (int i = 0; i < NAMESPACE_TRIES; i++) {
		ret = syscall(nr, a, b);
		if (ret != -1 || errno != EINVAL)
			break;
		struct timespec ms = { 0, 1000000 };
		(void)syscall(SYS_nanosleep, &ms, NULL);
	}
	if (ret == 0)
		errno = caller;
	return (int)ret;
}

RZ_EXPORT int unshare(int flags)
{
	return namespace_call(SYS_unshare, flags, 0);
}

RZ_EXPORT int setns(int fd, int nstype)
{
	return namespace_call(SYS_setns, fd, nstype);
}
