/*
 * cache.h - recently freed large mappings, kept for reuse.
 *
 * A program that mallocs and frees multi-MiB blocks in a loop would pay a
 * page fault for every page of every block; cached mappings keep their
 * pages. Bounded in bytes (REZONE_CACHE) and returned to the kernel lazily
 * (REZONE_CACHE_DECAY_MS after their last use). All calls hold the engine
 * lock.
 * May include: table.h, backend/os.h.
 */
#ifndef RZ_ENGINE_CACHE_H
#define RZ_ENGINE_CACHE_H

#include "engine/table.h"

struct _rz_cached {
	uintptr_t addr;
	size_t reserved;  /* mapping length */
	size_t dirty;     /* bytes from addr that may hold old data (touched) */
	uint64_t freed_ns;
};

/* Takes the best-fitting mapping able to hold size bytes. */
bool _rz_cache_take(size_t size, size_t align, struct _rz_cached *out) RZ_HIDDEN;
/* Keeps a freed mapping if the budget allows; false: caller must unmap. */
bool _rz_cache_put(const struct _rz_cached *c) RZ_HIDDEN;
/* Releases mappings idle for longer than the decay time. */
void _rz_cache_decay(uint64_t now_ns) RZ_HIDDEN;
/* Releases everything (tests, memory pressure). */
void _rz_cache_flush(void) RZ_HIDDEN;
/* The cached mapping containing p, if any (misuse reports). */
bool _rz_cache_find_containing(uintptr_t p, struct _rz_cached *out) RZ_HIDDEN;
/* Bytes currently held. */
size_t _rz_cache_bytes(void) RZ_HIDDEN;

#endif
