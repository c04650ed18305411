/*
 * engine.h - what front ends call: the malloc family with its C/POSIX
 * contract (errno, overflow, alignment rules), routed between the small
 * delegate and the large engine.
 *
 * Front ends (preload_linux.c, zone_mach.c) include this header only.
 * May include: backend/os.h, backend/small.h (for the inline fast paths).
 */
#ifndef RZ_ENGINE_ENGINE_H
#define RZ_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/os.h"
#include "backend/small.h"

/* Reads options and sets up the engine; idempotent, thread-safe, never
 * allocates. Called lazily by the first large request or size check. */
void _rz_init(void) RZ_HIDDEN;

/* malloc and free are inline here: they are the hottest calls of all and
 * each is two compares in front of the small delegate. */
extern size_t _rz_route_threshold RZ_HIDDEN;   /* 0 until _rz_init */
extern uintptr_t _rz_route_page_mask RZ_HIDDEN;
void *_rz_malloc_slow(size_t size) RZ_HIDDEN;  /* large, or not set up */
void *_rz_malloc_retry(size_t size) RZ_HIDDEN; /* after the delegate failed */
void _rz_free_aligned(void *p) RZ_HIDDEN;      /* page-aligned or NULL */

static inline void *_rz_malloc(size_t size)
{
	if (__builtin_expect(size < _rz_route_threshold, 1)) {
		void *p = _rz_small_malloc(size);
		return __builtin_expect(p != NULL, 1) ? p : _rz_malloc_retry(size);
	}
	return _rz_malloc_slow(size);
}

static inline void _rz_free(void *p)
{
	/* Not page-aligned: never a large block, no lookup. */
	if (__builtin_expect(((uintptr_t)p & _rz_route_page_mask) != 0, 1))
		_rz_small_free(p);
	else
		_rz_free_aligned(p);
}

void *_rz_calloc(size_t count, size_t size) RZ_HIDDEN;
void *_rz_realloc(void *p, size_t size) RZ_HIDDEN;
void *_rz_reallocarray(void *p, size_t count, size_t size) RZ_HIDDEN;
void _rz_free_sized(void *p, size_t size) RZ_HIDDEN;
/* align: a power of two (any), EINVAL otherwise. */
void *_rz_memalign(size_t align, size_t size) RZ_HIDDEN;
/* POSIX: align a power-of-two multiple of sizeof(void *); *out untouched on error. */
int _rz_posix_memalign(void **out, size_t align, size_t size) RZ_HIDDEN;
void *_rz_valloc(size_t size) RZ_HIDDEN;
void *_rz_pvalloc(size_t size) RZ_HIDDEN;
size_t _rz_usable_size(const void *p) RZ_HIDDEN;

/* Ownership for zone front ends: the usable size of a large block, or 0
 * if p is not a live large block. Lock-free. */
size_t _rz_large_size(const void *p) RZ_HIDDEN;

/* For zone front ends (introspection), all lock-free or briefly locked: */
/* Calls fn for every live large block (address, usable size, reservation). */
void _rz_large_each(void (*fn)(uintptr_t addr, size_t size, size_t reserved,
    void *arg), void *arg) RZ_HIDDEN;
/* Returns every cached mapping to the OS; the bytes released. */
size_t _rz_release_cache(void) RZ_HIDDEN;
/* false: p is certainly not in memory rezone maps; true: it may be. */
bool _rz_maybe_ours(const void *p) RZ_HIDDEN;

/* Fork handlers, installed by the front end. */
void _rz_prefork(void) RZ_HIDDEN;
void _rz_postfork_parent(void) RZ_HIDDEN;
void _rz_postfork_child(void) RZ_HIDDEN;

/* Called once at exit by the front end: prints stats if asked. */
void _rz_at_exit(void) RZ_HIDDEN;

/* For front ends that export the C library's own extensions (mallopt,
 * malloc_trim, mallinfo: glibc_ext_linux.c); defined in api.c. */
/* Makes sizes >= bytes large blocks from now on (at least one page).
 * false when the large path is disabled (its table could not be set up). */
bool _rz_set_threshold(size_t bytes) RZ_HIDDEN;
/* Returns cached large mappings and the small delegate's unused pages to
 * the OS; true when memory was released. */
bool _rz_trim(void) RZ_HIDDEN;
/* Heap figures in bytes, large and small. */
struct _rz_heap_info {
	uint64_t large_live;        /* large blocks allocated */
	uint64_t large_live_bytes;  /* their usable bytes */
	const char *small_name;     /* the delegate ("jemalloc", "system") */
	size_t small_allocated;     /* bytes in blocks the program holds */
	size_t small_active;        /* bytes of pages holding those blocks */
	size_t small_mapped;        /* bytes the delegate has mapped */
	size_t small_resident;      /* of those, bytes in physical memory */
	size_t small_retained;      /* unmapped-in-spirit address space kept */
};
void _rz_heap_info(struct _rz_heap_info *out) RZ_HIDDEN;

#endif
