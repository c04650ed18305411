/*
 * mmap_linux.c - mmap, exported so that a program's own mapping can have
 * back the room rezone keeps.
 *
 * Under RLIMIT_AS or RLIMIT_DATA, the cache of freed large mappings and
 * the headroom behind live blocks hold part of the limit (at most the
 * budget, engine/budget.c), and a program that maps memory itself could
 * not reach it: ruby, whose object heap pages are its own mmaps, building
 * a 300 MB string and then 2 million small strings failed ("failed to
 * allocate memory") under ulimit -v 600M where glibc's malloc lets it
 * finish (it passed with REZONE_CACHE=0). So when the kernel refuses a
 * mapping with ENOMEM while memory is limited, rezone returns what it
 * keeps (_rz_memory_reclaim: the cache, live blocks' headroom, the small
 * delegate's free pages) and the call is made once more. Every other
 * outcome, errno included, is the kernel's: the call goes straight to it,
 * as glibc's does; a call that succeeds on its second try leaves errno as
 * the caller had it. rezone's own mappings and jemalloc's go to the
 * kernel past this export (_rz_os_kernel_mmap).
 * May include: engine/engine.h, <errno.h>, <sys/mman.h>, <sys/syscall.h>,
 * <sys/types.h>, <unistd.h>.
 */
#include "config.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "engine/engine.h"

#if !defined(__linux__)
#error "mmap_linux.c is part of the Linux front end"
#endif

#define RZ_EXPORT __attribute__((visibility("default")))

RZ_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
RZ_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off);

static void *mmap_call(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	int caller = errno;
	/* New memory the program will touch (anonymous, or writable): cached
	 * pages give way to it. Not a read-only file (its pages are the page
	 * cache's; 100 rounds of a 16 MiB buffer and a 16 MiB file mapping
	 * faulted 410,000 pages instead of 4,200), not a MAP_NORESERVE
	 * reservation (it says nothing of what will be touched). */
	if (prot != PROT_NONE && !(flags & MAP_NORESERVE) &&
	    ((flags & MAP_ANONYMOUS) || (prot & PROT_WRITE)))
		_rz_memory_shed(len);
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	if (r == -1 && errno == ENOMEM && _rz_memory_reclaim()) {
		r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
		if (r != -1)
			errno = caller;
	}
	return r == -1 ? MAP_FAILED : (void *)r;
}

RZ_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap_call(addr, len, prot, flags, fd, (long)off);
}

RZ_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return mmap_call(addr, len, prot, flags, fd, (long)off);
}
