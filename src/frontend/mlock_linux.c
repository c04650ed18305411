/*
 * mlock_linux.c - mlockall(), exported so that rezone knows the program
 * locks its memory.
 *
 * mlockall(MCL_FUTURE) makes the kernel lock every new mapping in full
 * (and populate it, unless MCL_ONFAULT), so a large block's headroom
 * would be locked, and counted against RLIMIT_MEMLOCK even when it is
 * PROT_NONE: a 300 KiB block grown to 2.4 MiB held 20 MiB locked, against
 * 2.4 MiB under glibc. Told beforehand, the engine gives new blocks no
 * headroom while future locking holds (they grow by mremap, as glibc's
 * do); with MCL_CURRENT it first gives back headroom and cached mappings.
 * munlockall() ends it. The calls themselves go straight to the kernel
 * (glibc's are bare system calls too).
 * May include: engine/engine.h, <sys/mman.h>, <sys/syscall.h>, <unistd.h>.
 */
#include "config.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/engine.h"

#if !defined(__linux__)
#error "mlock_linux.c is part of the Linux front end"
#endif

__attribute__((visibility("default"))) int mlockall(int flags);
__attribute__((visibility("default"))) int munlockall(void);

__attribute__((visibility("default"))) int mlockall(int flags)
{
	_rz_lock_memory((flags & MCL_CURRENT) != 0, (flags & MCL_FUTURE) != 0);
	return (int)syscall(SYS_mlockall, flags);
}

__attribute__((visibility("default"))) int munlockall(void)
{
	_rz_lock_memory(false, false);
	return (int)syscall(SYS_munlockall);
}
