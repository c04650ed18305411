/*
 * small.h - the small-size delegate contract.
 *
 * Sizes below the large threshold are forwarded here untouched: this must
 * stay a thin forward. Implemented by small_jemalloc.c (the only file that
 * calls jemalloc) or small_system.c (the C library's own allocator).
 * Contracts are those of the C functions of the same name; the engine has
 * already rejected sizes above PTRDIFF_MAX and bad alignments.
 */
#ifndef RZ_BACKEND_SMALL_H
#define RZ_BACKEND_SMALL_H

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

/* Fork, called by the Linux front end's protocol (fork_linux.c; order in
 * src/README.md) and by nothing else. prefork takes every lock of the
 * delegate, postfork_parent releases them; postfork_child makes them
 * usable again, and must work whether or not prefork ran: a
 * single-threaded fork from a signal handler skips prefork, and the
 * interrupted code may hold a lock. Linux delegates only (the macOS zone
 * front end has libmalloc's force_lock). */
void _rz_small_prefork(void) RZ_HIDDEN;
void _rz_small_postfork_parent(void) RZ_HIDDEN;
void _rz_small_postfork_child(void) RZ_HIDDEN;

#endif /* RZ_BACKEND_SMALL_H */
