/*
 * meta.h - memory for rezone's own bookkeeping (table indexes and records,
 * page-map leaves): zeroed, read-write, never returned.
 *
 * Taken from one range reserved at set-up, before any block exists, so
 * that bookkeeping mapped on first use never lands right behind a block
 * and takes the room it would grow into (first-fit placement on Mach put
 * it there); past that range, each piece is its own mapping.
 * May include: backend/os.h.
 */
#ifndef RZ_ENGINE_META_H
#define RZ_ENGINE_META_H

#include <stddef.h>
#include <stdint.h>

#include "backend/os.h"

/* Reserves the range (not under RLIMIT_AS); called once by the engine's set-up. */
void _rz_meta_init(void) RZ_HIDDEN;
/* bytes (rounded up to pages) of zeroed memory; NULL when out of memory.
 * Lock-free. */
void *_rz_meta_alloc(size_t bytes) RZ_HIDDEN;
/* For out-of-process readers (view.h): the addresses of the range's base
 * pointer and of its count of bytes handed out, and the range's length. */
void _rz_meta_where(uint64_t *base_at, uint64_t *used_at, uint64_t *reserve) RZ_HIDDEN;

#endif
