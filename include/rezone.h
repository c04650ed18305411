/*
 * rezone.h - public interface of rezone, a realloc-optimizing allocator.
 *
 * rezone exports the standard malloc family (malloc, free, realloc, ...);
 * this header declares only what rezone adds. Large blocks (at or above
 * REZONE_LARGE_THRESHOLD bytes) are page-aligned mappings that grow in
 * place with virtual-memory operations instead of being copied; smaller
 * sizes are served by the small-size delegate (jemalloc by default).
 */
#ifndef REZONE_H
#define REZONE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header. rezone_version() reports the library's. */
#define REZONE_VERSION_MAJOR 0
#define REZONE_VERSION_MINOR 1
#define REZONE_VERSION_PATCH 0

/*
 * Returns the library version as a static string ("0.1.0").
 * Never allocates; safe in any context.
 */
const char *rezone_version(void);

/*
 * Resizes the block at ptr to new_size bytes without moving it: grows into
 * reserved address space or by extending the mapping, shrinks by returning
 * whole pages. Returns ptr on success (the first min(old, new_size) bytes
 * are preserved), or NULL with errno set and the block untouched:
 *   EINVAL  ptr is NULL or new_size is 0;
 *   ENOMEM  the block cannot be resized in place (a large block whose
 *           neighbour is taken; a small block asked to grow past what its
 *           size class can hold).
 * Never moves the block, so pointers into it stay valid: for containers
 * that cannot use realloc (C++ objects with non-trivial moves, ...).
 */
void *rezone_expand(void *ptr, size_t new_size);

/* Layout version of struct rezone_stats; bumped when fields are added. */
#define REZONE_STATS_VERSION 2

/*
 * Counters since process start (large path only; small sizes belong to the
 * delegate). All counters are monotonic except the *_live fields.
 * Version 2 added large_peak_bytes; a caller built against version 1
 * passes the smaller size and gets the fields it knows.
 */
struct rezone_stats {
	uint32_t version;            /* REZONE_STATS_VERSION of the library */
	uint32_t size;               /* bytes of this struct the library filled */
	uint64_t large_allocs;       /* large blocks handed out (incl. cache hits) */
	uint64_t large_frees;        /* large blocks freed */
	uint64_t grow_reserved;      /* growths inside reserved space, no system call */
	uint64_t grow_in_place;      /* growths by extending the mapping in place */
	uint64_t grow_moved;         /* growths by moving the mapping, no copy */
	uint64_t grow_copied;        /* growths that copied the contents */
	uint64_t bytes_not_copied;   /* bytes that growth kept in place or moved without copying */
	uint64_t bytes_copied;       /* bytes copied by growth (the last resort) */
	uint64_t shrinks;            /* shrinks of large blocks */
	uint64_t cache_hits;         /* large allocations served from the freed-block cache */
	uint64_t cache_releases;     /* cached mappings returned to the kernel */
	uint64_t fallbacks_small;    /* large requests served by the small delegate */
	uint64_t large_live;         /* large blocks currently allocated */
	uint64_t large_live_bytes;   /* their usable bytes */
	uint64_t large_peak_bytes;   /* high-water mark of large_live_bytes */
};

/*
 * Copies the counters into *out. size is sizeof(*out) as the caller knows
 * it; the library fills min(size, its own size) bytes and sets out->size.
 * Returns 0, or EINVAL if out is NULL or size < 8.
 * Setting REZONE_STATS=1 in the environment prints them on stderr at exit.
 */
int rezone_stats(struct rezone_stats *out, size_t size);

#ifdef __APPLE__
#include <malloc/malloc.h>
/*
 * macOS: the rezone malloc zone, for malloc_zone_malloc(rezone_zone(), n)
 * and friends. Never NULL; valid for the life of the process, registered
 * or not. Small sizes go to the zone that was the default when rezone was
 * loaded. With REZONE_DEFAULT_ZONE=0 the zone is not registered, so free()
 * and realloc() find no zone that claims its large blocks (libmalloc
 * reports the pointer and the block leaks): free them with
 * malloc_zone_free(rezone_zone(), p), or call
 * malloc_zone_register(rezone_zone()) once before plain free() may see them.
 */
malloc_zone_t *rezone_zone(void);
/*
 * Makes rezone the default zone (registering it if needed) so that plain
 * malloc, free and realloc use it. Idempotent and thread-safe; call it
 * before the program starts threads. Returns 0, or EAGAIN if rezone could
 * not be made first. Done at load time (DYLD_INSERT_LIBRARIES or linking)
 * unless REZONE_DEFAULT_ZONE=0.
 */
int rezone_zone_register_default(void);
#endif

#ifdef __cplusplus
}
#endif

#endif /* REZONE_H */
