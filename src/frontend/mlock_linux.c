/*
 * mlock_linux.c - mlockall(), exported so that rezone knows the program
 * locks its memory.
 *
 * mlockall(MCL_FUTURE) makes the kernel populate and lock every new
 * accessible mapping in full, so a large block's headroom would become
 * resident and locked (a 300 KiB block grown to 2.4 MiB held 20 MiB
 * locked, against 2.4 MiB under glibc). Told beforehand, the engine
 * reserves headroom inaccessible from then on and opens it page by page
 * as blocks grow; with MCL_CURRENT it gives headroom and cached mappings
 * back before they are locked. MCL_ONFAULT locks pages only as they are
 * touched, which headroom never is, so it changes nothing.
 * The call itself goes straight to the kernel (glibc's is the bare system
 * call too).
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

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

__attribute__((visibility("default"))) int mlockall(int flags);

__attribute__((visibility("default"))) int mlockall(int flags)
{
	bool onfault = (flags & MCL_ONFAULT) != 0;
	_rz_lock_memory(!onfault && (flags & MCL_CURRENT), !onfault && (flags & MCL_FUTURE));
	return (int)syscall(SYS_mlockall, flags);
}
