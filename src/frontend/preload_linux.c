/*
 * preload_linux.c - the Linux drop-in: exports the whole malloc family so
 * that LD_PRELOAD (or linking) replaces the C library's allocator.
 *
 * Each export is a one-line forward to the engine, whose common cases are
 * inline (engine.h) and jump straight into the small delegate. glibc's own __libc_*
 * entry points are exported too, so code that calls them directly (and
 * glibc itself) cannot mix allocators. The export list is fixed by
 * rezone.map; nothing of the embedded jemalloc is visible.
 * No thread-locals here (the engine's are RZ_THREAD_LOCAL, backend/os.h).
 * May include: engine/engine.h, <pthread.h>, <malloc.h>-free prototypes.
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>

#include "engine/engine.h"
#include "frontend/frontend_linux.h"

#if !defined(__linux__)
#error "preload_linux.c is the Linux front end"
#endif

#define RZ_EXPORT __attribute__((visibility("default")))

/* Declared here rather than from <stdlib.h>/<malloc.h>: glibc 2.36 lacks
 * free_sized and friends, and the set exported is exactly this list. */
RZ_EXPORT void *malloc(size_t size);
RZ_EXPORT void free(void *p);
RZ_EXPORT void *calloc(size_t n, size_t size);
RZ_EXPORT void *realloc(void *p, size_t size);
RZ_EXPORT void *reallocarray(void *p, size_t n, size_t size);
RZ_EXPORT void *memalign(size_t align, size_t size);
RZ_EXPORT void *aligned_alloc(size_t align, size_t size);
RZ_EXPORT int posix_memalign(void **out, size_t align, size_t size);
RZ_EXPORT void *valloc(size_t size);
RZ_EXPORT void *pvalloc(size_t size);
RZ_EXPORT size_t malloc_usable_size(void *p);
RZ_EXPORT void free_sized(void *p, size_t size);
RZ_EXPORT void free_aligned_sized(void *p, size_t align, size_t size);
RZ_EXPORT void cfree(void *p);
RZ_EXPORT void *__libc_malloc(size_t size);
RZ_EXPORT void __libc_free(void *p);
RZ_EXPORT void *__libc_calloc(size_t n, size_t size);
RZ_EXPORT void *__libc_realloc(void *p, size_t size);
RZ_EXPORT void *__libc_memalign(size_t align, size_t size);
RZ_EXPORT void *__libc_valloc(size_t size);
RZ_EXPORT void *__libc_pvalloc(size_t size);

RZ_EXPORT void *malloc(size_t size) { return _rz_malloc(size); }
RZ_EXPORT void free(void *p) { _rz_free(p); }
RZ_EXPORT void *calloc(size_t n, size_t size) { return _rz_calloc_fast(n, size); }
RZ_EXPORT void *realloc(void *p, size_t size) { return _rz_realloc_fast(p, size); }
RZ_EXPORT void *reallocarray(void *p, size_t n, size_t size) { return _rz_reallocarray(p, n, size); }
RZ_EXPORT void *memalign(size_t align, size_t size) { return _rz_memalign_rounding(align, size); }
RZ_EXPORT void *aligned_alloc(size_t align, size_t size) { return _rz_memalign(align, size); }
RZ_EXPORT int posix_memalign(void **out, size_t align, size_t size) { return _rz_posix_memalign(out, align, size); }
RZ_EXPORT void *valloc(size_t size) { return _rz_valloc(size); }
RZ_EXPORT void *pvalloc(size_t size) { return _rz_pvalloc(size); }
RZ_EXPORT size_t malloc_usable_size(void *p) { return _rz_usable_size(p); }
RZ_EXPORT void free_sized(void *p, size_t size) { _rz_free_sized_fast(p, size); }
/* The alignment is implied by the block; rezone needs only the pointer. */
RZ_EXPORT void free_aligned_sized(void *p, size_t align, size_t size) { (void)align; (void)size; _rz_free(p); }
RZ_EXPORT void cfree(void *p) { _rz_free(p); }

RZ_EXPORT void *__libc_malloc(size_t size) { return _rz_malloc(size); }
RZ_EXPORT void __libc_free(void *p) { _rz_free(p); }
RZ_EXPORT void *__libc_calloc(size_t n, size_t size) { return _rz_calloc_fast(n, size); }
RZ_EXPORT void *__libc_realloc(void *p, size_t size) { return _rz_realloc_fast(p, size); }
RZ_EXPORT void *__libc_memalign(size_t align, size_t size) { return _rz_memalign_rounding(align, size); }
RZ_EXPORT void *__libc_valloc(size_t size) { return _rz_valloc(size); }
RZ_EXPORT void *__libc_pvalloc(size_t size) { return _rz_pvalloc(size); }

/* Set up before main and before the program can start threads, so that
 * options are read once and fork handlers are in place; and before the
 * embedded jemalloc's own constructor (a priority runs first), which reads
 * the options the engine's set-up gives it (_rz_small_configure). */
__attribute__((constructor(101))) static void preload_init(void)
{
	_rz_init();
	_rz_fork_install();
}

__attribute__((destructor)) static void preload_fini(void)
{
	_rz_at_exit();
}
