/*
 * engine.h - what front ends call: the malloc family with its C/POSIX
 * contract (errno, overflow, alignment rules), routed between the small
 * delegate and the large engine.
 *
 * Front ends (preload_linux.c, zone_mach.c) include this header only.
 * May include: backend/os.h.
 */
#ifndef RZ_ENGINE_ENGINE_H
#define RZ_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/os.h"

/* Reads options and sets up the engine; idempotent, thread-safe, never
 * allocates. Called lazily by the first large request or size check. */
void _rz_init(void) RZ_HIDDEN;

void *_rz_malloc(size_t size) RZ_HIDDEN;
void *_rz_calloc(size_t count, size_t size) RZ_HIDDEN;
void *_rz_realloc(void *p, size_t size) RZ_HIDDEN;
void *_rz_reallocarray(void *p, size_t count, size_t size) RZ_HIDDEN;
void _rz_free(void *p) RZ_HIDDEN;
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

#endif
