/*
 * large.h - the large engine: blocks that own their mapping and grow with
 * virtual-memory operations (headroom, extend in place, move, copy last).
 *
 * Every function returns NULL with errno set on failure and leaves the
 * caller's block untouched. No process-wide lock: each block has its own
 * (table.h), the table and the cache lock a shard for a few stores, and
 * system calls run under the block's lock or none.
 * May include: table.h, cache.h, budget.h, pagemap.h, decay.h, options.h,
 * stats.h, diag.h, backend/os.h.
 */
#ifndef RZ_ENGINE_LARGE_H
#define RZ_ENGINE_LARGE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/cache.h"
#include "engine/table.h"

/* Sets up the table and the cache; 0 or errno. Called once by _rz_init. */
int _rz_large_init(void) RZ_HIDDEN;

/* A new block of at least size bytes aligned to align (0: page), for a
 * block that has outgrown its reservation `grows` times (0: a new one; a
 * small block realloc'ed past the threshold, a copied block: more), which
 * sizes its headroom. errno may hold ENOMEM from a refused try even on
 * success: the engine's entry points (route_large, _rz_large_resize)
 * restore the caller's. */
void *_rz_large_alloc_growing(size_t size, size_t align, bool zero,
    uint32_t grows) RZ_HIDDEN;
/* A large block from a cached mapping only; NULL (errno kept) when the
 * cache has none that holds size, and no system call is made to map. */
void *_rz_large_alloc_cached(size_t size, uint32_t grows) RZ_HIDDEN;
/* Frees a block the caller found in the table. */
void _rz_large_free(void *p, const char *call) RZ_HIDDEN;
/* Resizes a large block to size bytes (size stays large); may move it. */
void *_rz_large_resize(void *p, size_t size, const char *call) RZ_HIDDEN;

/* For routing, one table lookup per call (the lookup and the record lock
 * are one step; routing with a lookup of its own first doubled them:
 * 19 lookups per vector of vector churn, the largest share of rezone's
 * instructions there). */
/* Whether p is the block this thread last worked on, so that routing may
 * skip the page map (a hint: the calls below check it). */
static inline bool _rz_large_hinted(const void *p)
{
	return _rz_table_hinted((uintptr_t)p);
}
/* Frees p if it is a live large block; false, and nothing done, if not. */
bool _rz_large_free_if_live(void *p) RZ_HIDDEN;
enum _rz_resize_outcome {
	RZ_RESIZE_NOT_LIVE, /* p is not a live large block: nothing done */
	RZ_RESIZE_TO_SMALL, /* it would shrink below small_below: nothing done,
	                       *old_size says how big it is */
	RZ_RESIZE_DONE,     /* resized: *out is the block, or NULL and errno */
};
enum _rz_resize_outcome _rz_large_realloc(void *p, size_t size, size_t small_below,
    void **out, size_t *old_size) RZ_HIDDEN;
/* Faults in the first n bytes of a new block that are not touched yet,
 * before they are written in full (a copy into it). */
void _rz_large_prefault(void *p, size_t n) RZ_HIDDEN;
/* Resizes without moving, or fails with ENOMEM. */
void *_rz_large_expand(void *p, size_t size) RZ_HIDDEN;

/* Misuse checks for a page-aligned pointer that is not a live block:
 * aborts with a diagnostic if it points into, or at, memory rezone manages
 * or manages no longer; returns if it may belong to the small delegate.
 * Lock-free unless it is about to abort. */
void _rz_large_check_foreign(const void *p, const char *call) RZ_HIDDEN;
/* The program gave [addr, addr+len) a protection other than read+write:
 * the live blocks there are marked RZ_BLOCK_PROTECTED (table.h). */
void _rz_large_protected(uintptr_t addr, size_t len) RZ_HIDDEN;

/* Out of memory (address space, data limit, commit): returns every cached
 * mapping, then trims the headroom of every live block. The bytes of
 * address space given back. */
size_t _rz_large_reclaim(void) RZ_HIDDEN;
/* Returns every cached mapping to the OS now; the bytes released. */
size_t _rz_large_flush_cache(void) RZ_HIDDEN;
/* Whether some live block holds touched pages past its end, and returning
 * those that appeared before cutoff_ns (decay). */
bool _rz_large_excess_pending(void) RZ_HIDDEN;
void _rz_large_decay_excess(uint64_t cutoff_ns) RZ_HIDDEN;
/* Memory of len bytes is about to be mapped for another use: the cache
 * gives back as many bytes of touched pages, oldest entries first (whole
 * entries, then the tail pages of one). One load when the cache is empty.
 * errno is kept. */
void _rz_large_shed(size_t len) RZ_HIDDEN;
/* Returns cached mappings the cache gave up (decay, eviction). */
void _rz_large_unmap_cached(const struct _rz_cached *c, size_t n) RZ_HIDDEN;

/* The program is about to call mlockall (or munlockall: both false):
 * future as MCL_FUTURE, under which new blocks get no headroom (it would
 * be locked); with current, headroom and the cache go back first. */
void _rz_large_lock_memory(bool current, bool future) RZ_HIDDEN;

/* Whether another thread holds one of the engine's shard locks now (a
 * debugger must not stop the process there and then allocate). */
bool _rz_large_locked(void) RZ_HIDDEN;
/* Fork: hold the shard locks across fork; the child re-creates them. */
void _rz_large_prefork(void) RZ_HIDDEN;
void _rz_large_postfork_parent(void) RZ_HIDDEN;
void _rz_large_postfork_child(void) RZ_HIDDEN;

#endif
