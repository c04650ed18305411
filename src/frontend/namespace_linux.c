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
 * <unistd.h>.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/engine.h"

#if !defined(__linux__)
#error "namespace_linux.c is part of the Linux front end"
#endif

#define RZ_EXPORT __attribute__((visibility("default")))

RZ_EXPORT int unshare(int flags);
RZ_EXPORT int setns(int fd, int nstype);

/* One more try of a refused call, without rezone's thread. */
static bool namespace_retry(long ret)
{
	if (ret != -1 || errno != EINVAL)
		return false;
	int saved = errno;
	bool stopped = _rz_helper_threads_stop();
	errno = saved;
	return stopped;
}

RZ_EXPORT int unshare(int flags)
{
	long ret = syscall(SYS_unshare, flags);
	if (namespace_retry(ret))
		ret = syscall(SYS_unshare, flags);
	return (int)ret;
}

RZ_EXPORT int setns(int fd, int nstype)
{
	long ret = syscall(SYS_setns, fd, nstype);
	if (namespace_retry(ret))
		ret = syscall(SYS_setns, fd, nstype);
	return (int)ret;
}
