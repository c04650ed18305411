/*
 * small_system.c - small-size delegate: the C library's own allocator.
 *
 * Selected by configure --with-small=system (or where jemalloc is absent).
 * rezone exports malloc and __libc_malloc itself, so glibc's versions are
 * reached through dlsym(RTLD_NEXT). dlsym may allocate before it has
 * answered; those few early requests are served from a static bump arena
 * that is never freed. malloc and free are inline in small.h through
 * _rz_small_sys, whose pointers start as stubs that resolve first.
 * May include: small.h, <dlfcn.h>, <malloc.h>, <string.h>.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "backend/small.h"

#ifdef __APPLE__
#error "small_system.c is the glibc delegate; macOS uses the previous default zone"
#endif
#ifndef RZ_SMALL_INLINE_SYSTEM
#error "small_system.c is built with RZ_SMALL_INLINE_SYSTEM (Makefile.am)"
#endif

const char _rz_small_name[] = "system";

typedef void *(*sys_malloc_fn)(size_t);
typedef void *(*sys_calloc_fn)(size_t, size_t);
typedef void *(*sys_realloc_fn)(void *, size_t);
typedef void *(*sys_memalign_fn)(size_t, size_t);
typedef void (*sys_free_fn)(void *);
typedef size_t (*sys_usable_fn)(void *);

static struct {
	sys_calloc_fn calloc;
	sys_realloc_fn realloc;
	sys_memalign_fn memalign;
	sys_usable_fn usable;
	int state; /* 0: unresolved, 1: resolving, 2: ready */
} sys;

static void *sys_malloc_stub(size_t size);
static void sys_free_stub(void *p);
struct _rz_small_sys_fast _rz_small_sys = { sys_malloc_stub, sys_free_stub };

/* Bootstrap arena for allocations made while dlsym itself runs (a couple
 * of small blocks). Each block starts on RZ_SMALL_BOOT_ALIGN (small.h), so
 * free's fast path, which only sees pointers that are not page-aligned,
 * needs no bootstrap check: 6 instructions fewer per free (callgrind). The
 * arena is bss: only the pages of blocks handed out are ever touched. */
static _Alignas(RZ_SMALL_BOOT_ALIGN) unsigned char boot_arena[16 * RZ_SMALL_BOOT_ALIGN];
static size_t boot_used;

static void *boot_alloc(size_t align, size_t size)
{
	if (align < RZ_SMALL_BOOT_ALIGN)
		align = RZ_SMALL_BOOT_ALIGN;
	/* Threads may race here at the very first allocations: bump with CAS. */
	size_t used = __atomic_load_n(&boot_used, __ATOMIC_RELAXED), at;
	do {
		at = (used + align - 1) & ~(align - 1);
		if (at + size < at || at + size > sizeof(boot_arena)) {
			errno = ENOMEM;
			return NULL;
		}
	} while (!__atomic_compare_exchange_n(&boot_used, &used, at + size, false,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return boot_arena + at;
}

/* Bytes a bootstrap block may hold: its blocks have no recorded size, so
 * everything up to the arena's end. */
static size_t boot_room(const void *p)
{
	return (size_t)(boot_arena + sizeof(boot_arena) - (const unsigned char *)p);
}

static int is_boot(const void *p)
{
	return (const unsigned char *)p >= boot_arena &&
	    (const unsigned char *)p < boot_arena + sizeof(boot_arena);
}

static int sys_resolve(void)
{
	if (__atomic_load_n(&sys.state, __ATOMIC_ACQUIRE) == 2)
		return 1;
	int expected = 0;
	if (!__atomic_compare_exchange_n(&sys.state, &expected, 1, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expected == 2; /* resolving (maybe re-entered from dlsym):
		                         use the bootstrap arena meanwhile */
	/* Ask the C library itself: RTLD_NEXT would find whatever is loaded
	 * after rezone first (a sanitizer's or another allocator's
	 * malloc_usable_size), which does not know glibc's blocks. */
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	void *from = libc ? libc : RTLD_NEXT;
	sys_malloc_fn m = (sys_malloc_fn)dlsym(from, "__libc_malloc");
	sys_free_fn f = (sys_free_fn)dlsym(from, "__libc_free");
	sys.calloc = (sys_calloc_fn)dlsym(from, "__libc_calloc");
	sys.realloc = (sys_realloc_fn)dlsym(from, "__libc_realloc");
	sys.memalign = (sys_memalign_fn)dlsym(from, "__libc_memalign");
	sys.usable = (sys_usable_fn)dlsym(from, "malloc_usable_size");
	if (!m || !sys.calloc || !sys.realloc || !sys.memalign || !f || !sys.usable) {
		static const char msg[] = "rezone: cannot find the C library's allocator\n";
		_rz_os_write_err(msg, sizeof(msg) - 1);
		_rz_os_abort();
	}
	/* From here the inline fast paths call the C library directly. */
	__atomic_store_n(&_rz_small_sys.malloc, m, __ATOMIC_RELAXED);
	__atomic_store_n(&_rz_small_sys.free, f, __ATOMIC_RELAXED);
	__atomic_store_n(&sys.state, 2, __ATOMIC_RELEASE);
	return 1;
}

static void *sys_malloc_stub(size_t size)
{
	return sys_resolve() ? _rz_small_sys.malloc(size) : boot_alloc(16, size);
}

/* Only non-bootstrap blocks get here (small.h); while dlsym runs they can
 * only be the C library's own from before rezone was loaded: leaked. */
static void sys_free_stub(void *p)
{
	if (p && sys_resolve())
		_rz_small_sys.free(p);
}

void *_rz_small_calloc(size_t count, size_t size)
{
	if (sys_resolve())
		return sys.calloc(count, size);
	return boot_alloc(16, count * size); /* static storage is zeroed */
}

void *_rz_small_memalign(size_t align, size_t size)
{
	return sys_resolve() ? sys.memalign(align, size) : boot_alloc(align, size);
}

void _rz_small_free(void *p)
{
	if (!is_boot(p))
		_rz_small_free_unaligned(p);
}

void _rz_small_free_sized(void *p, size_t size)
{
	(void)size;
	_rz_small_free(p);
}

size_t _rz_small_usable_size(const void *p)
{
	if (is_boot(p))
		return boot_room(p);
	return sys_resolve() ? sys.usable((void *)p) : 0;
}

void *_rz_small_realloc(void *p, size_t size)
{
	if (p && is_boot(p)) {
		/* Leave the bootstrap arena: its blocks have no recorded size, so
		 * copy what can be in it, never past its end. */
		void *q = _rz_small_malloc(size);
		size_t room = boot_room(p);
		if (q)
			memcpy(q, p, size < room ? size : room);
		return q;
	}
	return sys_resolve() ? sys.realloc(p, size) : boot_alloc(16, size);
}

size_t _rz_small_expand(void *p, size_t size)
{
	(void)size;
	return _rz_small_usable_size(p);
}

/* glibc's own extensions, looked up like the allocator above (in the C
 * library itself: rezone exports these names too). Resolved on first use,
 * when the program calls malloc_trim or mallinfo, long after start-up. */
struct sys_mallinfo2 {
	size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks;
	size_t uordblks, fordblks, keepcost;
};
typedef int (*sys_trim_fn)(size_t);
typedef struct sys_mallinfo2 (*sys_info_fn)(void);

static void *sys_ext(const char *name)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	return dlsym(libc ? libc : RTLD_NEXT, name);
}

bool _rz_small_trim(void)
{
	sys_trim_fn trim = (sys_trim_fn)sys_ext("malloc_trim");
	return trim && sys_resolve() && trim(0) != 0;
}

void _rz_small_info(struct _rz_small_info *out)
{
	/* mallinfo2 is glibc 2.33+; older ones report zeros here. */
	sys_info_fn info = (sys_info_fn)sys_ext("mallinfo2");
	memset(out, 0, sizeof(*out));
	if (!info || !sys_resolve())
		return;
	struct sys_mallinfo2 m = info();
	out->allocated = m.uordblks + m.hblkhd;
	out->active = m.uordblks + m.hblkhd;
	out->mapped = m.arena + m.hblkhd;
	out->resident = m.arena + m.hblkhd;
}
