/*
 * small.h - the small-size delegate contract.
 *
 * Sizes below the large threshold are forwarded here untouched: this must
 * stay a thin forward. Implemented by small_jemalloc.c (the only file that
 * calls jemalloc), small_system.c (the C library's own allocator) or
 * small_zone.c (macOS: the previous default zone).
 * Contracts are those of the C functions of the same name; the engine has
 * already rejected sizes above PTRDIFF_MAX and bad alignments.
 */
#ifndef RZ_BACKEND_SMALL_H
#define RZ_BACKEND_SMALL_H

#include <stdbool.h>
#include <stddef.h>
#include "backend/os.h"

/* Name of the delegate, for stats and diagnostics ("jemalloc", "system"). */
extern const char _rz_small_name[] RZ_HIDDEN;
void *_rz_small_malloc(size_t size) RZ_HIDDEN;
void *_rz_small_calloc(size_t count, size_t size) RZ_HIDDEN;
void *_rz_small_realloc(void *p, size_t size) RZ_HIDDEN;
void *_rz_small_memalign(size_t align, size_t size) RZ_HIDDEN;
void _rz_small_free(void *p) RZ_HIDDEN;
/* size is the size the block was requested with (or 0: unknown). */
void _rz_small_free_sized(void *p, size_t size) RZ_HIDDEN;
size_t _rz_small_usable_size(const void *p) RZ_HIDDEN;
/* Resizes in place if the delegate can; returns the new usable size
 * (>= size on success, smaller when it could not). */
size_t _rz_small_expand(void *p, size_t size) RZ_HIDDEN;

/* Returns the delegate's free but still resident pages to the OS (what
 * malloc_trim asks); true when it released some. Not on a hot path. */
bool _rz_small_trim(void) RZ_HIDDEN;
/* The delegate's own figures, in bytes; 0 for what it cannot tell. */
struct _rz_small_info {
	size_t allocated;  /* in blocks the program holds */
	size_t active;     /* in pages holding those blocks */
	size_t mapped;     /* mapped from the OS */
	size_t resident;   /* of those, in physical memory */
	size_t retained;   /* address space kept for reuse, not counted above */
};
void _rz_small_info(struct _rz_small_info *out) RZ_HIDDEN;

#endif /* RZ_BACKEND_SMALL_H */
