/*
 * cache.h - recently freed large mappings, kept for reuse.
 *
 * A program that mallocs and frees multi-MiB blocks in a loop would pay a
 * page fault for every page of every block; cached mappings keep their
 * pages. Bounded in dirty bytes (REZONE_CACHE) and returned to the kernel
 * after REZONE_CACHE_DECAY_MS idle (decay.c). Sharded: each shard is a
 * small array under its own lock, held only while the array changes; the
 * caller unmaps whatever comes out, after the lock is gone.
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
	uint32_t thp;     /* huge-page state of the mapping (large.c) */
	uint32_t flags;   /* RZ_BLOCK_MOVED of the block it held, or 0 */
};

/* Most entries the cache holds (every call's output fits in this many). */
#define RZ_CACHE_MAX 64

/* Sets up the shards' locks; called once by the engine's set-up. */
void _rz_cache_init(void) RZ_HIDDEN;
/* Takes the best mapping able to hold size bytes aligned to align: the
 * calling thread's shard first, then the others. */
bool _rz_cache_take(size_t size, size_t align, struct _rz_cached *out) RZ_HIDDEN;
/* The reservation of the cached mapping with the most touched bytes, at
 * least min_dirty of them (0: none). */
size_t _rz_cache_most_touched(size_t min_dirty) RZ_HIDDEN;
/* Keeps c if the budget allows (false: the caller unmaps it): at most
 * REZONE_CACHE dirty bytes and max_reserved bytes of address space in all
 * entries. Mappings pushed out to make room land in out[] (*n of them)
 * for the caller to unmap. */
bool _rz_cache_put(const struct _rz_cached *c, struct _rz_cached *out, size_t *n,
    size_t max_reserved) RZ_HIDDEN;
/* Takes out every mapping freed before cutoff_ns (all of them with
 * UINT64_MAX); returns how many; *oldest_ns: freed_ns of the oldest one
 * left (0 if none). */
size_t _rz_cache_expire(uint64_t cutoff_ns, struct _rz_cached *out, uint64_t *oldest_ns) RZ_HIDDEN;
/* Takes out the oldest entry with touched pages, of all shards; false if
 * there is none. */
bool _rz_cache_take_oldest_dirty(struct _rz_cached *out) RZ_HIDDEN;
/* The cached mapping containing p, if any (misuse reports). */
bool _rz_cache_find_containing(uintptr_t p, struct _rz_cached *out) RZ_HIDDEN;
/* Dirty bytes currently held. */
size_t _rz_cache_bytes(void) RZ_HIDDEN;

/* Whether a shard's lock is held (trylock). */
bool _rz_cache_locked(void) RZ_HIDDEN;
void _rz_cache_prefork(void) RZ_HIDDEN;
void _rz_cache_postfork_parent(void) RZ_HIDDEN;
void _rz_cache_postfork_child(void) RZ_HIDDEN;

#endif
