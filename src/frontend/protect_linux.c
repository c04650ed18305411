/*
 * protect_linux.c - mprotect() and pkey_mprotect(), exported so that
 * rezone knows which large blocks the program protected.
 *
 * A program that made its large block read-only or executable, freed it,
 * and allocated again crashed on the reuse: the cached mapping kept the
 * protection (posix_memalign of 256 KiB-8 MiB, mprotect PROT_READ |
 * PROT_EXEC, free, then malloc and memset: SIGSEGV at every size; glibc
 * unmaps such chunks and runs it). Told here, the engine returns such a
 * block to the OS when it is freed (src/README.md, "Blocks whose
 * protection the program changed"). Read+write is every block's own
 * protection and marks nothing. The calls themselves go straight to the
 * kernel (glibc's are bare system calls too), and errno is the call's.
 * May include: engine/engine.h, <sys/mman.h>, <sys/syscall.h>, <unistd.h>.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/engine.h"

#if !defined(__linux__)
#error "protect_linux.c is part of the Linux front end"
#endif

__attribute__((visibility("default"))) int mprotect(void *addr, size_t len, int prot);
__attribute__((visibility("default"))) int pkey_mprotect(void *addr, size_t len, int prot,
    int pkey);

static void protect_note(void *addr, size_t len, int prot)
{
	int saved = errno;
	if (prot != (PROT_READ | PROT_WRITE))
		_rz_protect_changed(addr, len);
	errno = saved;
}

__attribute__((visibility("default"))) int mprotect(void *addr, size_t len, int prot)
{
	int r = (int)syscall(SYS_mprotect, addr, len, prot);
	if (r == 0)
		protect_note(addr, len, prot);
	return r;
}

__attribute__((visibility("default"))) int pkey_mprotect(void *addr, size_t len, int prot,
    int pkey)
{
#if defined(SYS_pkey_mprotect)
	int r = (int)syscall(SYS_pkey_mprotect, addr, len, prot, pkey);
	if (r == 0)
		protect_note(addr, len, prot);
	return r;
#else
	(void)addr; (void)len; (void)prot; (void)pkey;
	errno = ENOSYS;
	return -1;
#endif
}
