/*
 * engine.h - what front ends call: the malloc family with its C/POSIX
 * contract (errno, overflow, alignment rules), routed between the small
 * delegate and the large engine.
 *
 * Front ends (preload_linux.c, zone_mach.c) include this header only.
 * May include: backend/os.h, backend/small.h (for the inline fast paths),
 * engine/view.h (the table's map for out-of-process introspection).
 */
#ifndef RZ_ENGINE_ENGINE_H
#define RZ_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/os.h"
#include "backend/small.h"
#include "engine/view.h"

/* Reads options and sets up the engine; idempotent, thread-safe, never
 * allocates. Called lazily by the first large request or size check. */
void _rz_init(void) RZ_HIDDEN;

/* The hottest calls are inline here: each is one or two compares in front
 * of the small delegate, into whose fast path they jump (small.h). With
 * RZ_SMALL_RECLAIMS the delegate frees the large cache itself when it runs
 * out of memory, so its result is final and the call is a tail call:
 * callgrind on bench/smallchurn counts 5 instructions per malloc fewer
 * than the call plus NULL check (and retry) that other delegates need. */
extern size_t _rz_route_threshold RZ_HIDDEN;   /* 0 until _rz_init */
/* realloc growing a small block to this size or more makes it large:
 * min(REZONE_REALLOC_THRESHOLD, the threshold); 0 until _rz_init. */
extern size_t _rz_route_grow_threshold RZ_HIDDEN;
extern uintptr_t _rz_route_page_mask RZ_HIDDEN;
/* The largest request that could ever succeed: PTRDIFF_MAX, and after
 * _rz_init no more than the user address space. Anything bigger fails
 * with ENOMEM at once, with no system call and no reclaim. */
extern size_t _rz_route_max_request RZ_HIDDEN;
void *_rz_malloc_slow(size_t size) RZ_HIDDEN;  /* large, or not set up */
void *_rz_malloc_retry(size_t size) RZ_HIDDEN; /* after the delegate failed */
void _rz_free_aligned(void *p) RZ_HIDDEN;      /* page-aligned or NULL */

#define RZ_LIKELY(x) __builtin_expect(!!(x), 1)

/* Not page-aligned: never a large block, no lookup. */
#define RZ_NOT_PAGE_ALIGNED(p) RZ_LIKELY(((uintptr_t)(p) & _rz_route_page_mask) != 0)

static inline void *_rz_malloc(size_t size)
{
	if (RZ_LIKELY(size < _rz_route_threshold)) {
#ifdef RZ_SMALL_RECLAIMS
		return _rz_small_malloc(size);
#else
		void *p = _rz_small_malloc(size);
		return RZ_LIKELY(p != NULL) ? p : _rz_malloc_retry(size);
#endif
	}
	return _rz_malloc_slow(size);
}

static inline void _rz_free(void *p)
{
	if (RZ_NOT_PAGE_ALIGNED(p))
		_rz_small_free_unaligned(p);
	else
		_rz_free_aligned(p);
}

void *_rz_calloc(size_t count, size_t size) RZ_HIDDEN;
void *_rz_realloc(void *p, size_t size) RZ_HIDDEN;
void *_rz_reallocarray(void *p, size_t count, size_t size) RZ_HIDDEN;
void _rz_free_sized(void *p, size_t size) RZ_HIDDEN;

/* The common cases of the four above, inline for the front ends; anything
 * else (large, page-aligned, zero size, overflow, a delegate that needs a
 * retry) goes to the full function. */
static inline void *_rz_calloc_fast(size_t count, size_t size)
{
#ifdef RZ_SMALL_RECLAIMS
	/* A product that wraps below the threshold reaches the delegate,
	 * which checks for overflow itself (ENOMEM). */
	if (RZ_LIKELY(count * size < _rz_route_threshold))
		return _rz_small_calloc(count, size);
#endif
	return _rz_calloc(count, size);
}

/* The delegate's realloc failed: sets ENOMEM, returns NULL (jemalloc
 * 5.3's realloc can fail without setting errno: threads growing arrays
 * under RLIMIT_DATA saw 0, once the delegate's failed system calls no
 * longer left their ENOMEM behind). */
void *_rz_realloc_failed(void) RZ_HIDDEN __attribute__((cold));

static inline void *_rz_realloc_fast(void *p, size_t size)
{
#ifdef RZ_SMALL_RECLAIMS
	/* NULL is page-aligned; size 0 has its own rules (route.c). */
	if (RZ_NOT_PAGE_ALIGNED(p) && RZ_LIKELY(size != 0) &&
	    RZ_LIKELY(size < _rz_route_grow_threshold)) {
		void *q = _rz_small_realloc(p, size);
		return RZ_LIKELY(q != NULL) ? q : _rz_realloc_failed();
	}
#endif
	return _rz_realloc(p, size);
}

/* size: as requested when the block was allocated by malloc, calloc
 * (the product) or realloc; 0 if unknown. */
static inline void _rz_free_sized_fast(void *p, size_t size)
{
	if (RZ_NOT_PAGE_ALIGNED(p))
		_rz_small_free_sized(p, size);
	else
		_rz_free_sized(p, size);
}
/* align: a power of two (any), EINVAL otherwise (aligned_alloc, as C17
 * and glibc 2.38 have it; C++'s aligned new; the macOS zone). */
void *_rz_memalign(size_t align, size_t size) RZ_HIDDEN;
/* glibc's memalign: an alignment that is not a power of two is rounded up
 * to one (0 and up to 16: malloc's own); EINVAL only above SIZE_MAX/2+1. */
void *_rz_memalign_rounding(size_t align, size_t size) RZ_HIDDEN;
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
/* The large-block table's map for readers in another task (view.h): a
 * fixed address, valid before set-up (magic 0 until then). */
const struct _rz_large_view *_rz_large_view(void) RZ_HIDDEN;
/* The engine's 64-bit high-water mark of bytes in large blocks (the
 * large_peak_bytes counter), at a fixed address for readers in another
 * task. */
const uint64_t *_rz_large_peak(void) RZ_HIDDEN;
/* Returns every cached mapping to the OS; the bytes released. */
size_t _rz_release_cache(void) RZ_HIDDEN;
/* false: p is certainly not in memory rezone maps; true: it may be. */
bool _rz_maybe_ours(const void *p) RZ_HIDDEN;

/* The program is about to call mlockall() (current, future: MCL_CURRENT,
 * MCL_FUTURE) or munlockall() (both false). */
void _rz_lock_memory(bool current, bool future) RZ_HIDDEN;

/* The program gave [addr, addr+len) a protection other than read+write
 * (mprotect succeeded): large blocks there will not be cached when freed. */
void _rz_protect_changed(void *addr, size_t len) RZ_HIDDEN;

/* Whether the engine is busy in another thread right now (zone_locked). */
bool _rz_engine_locked(void) RZ_HIDDEN;

/* Fork handlers, installed by the front end: the delegate's locks, then
 * the engine's (_rz_prefork); or the engine's alone (_rz_prefork_engine)
 * when the only other thread is rezone's decay thread, which uses no
 * other lock (_rz_fork_only_helper_threads). The child handler re-creates
 * every lock, whichever prepare ran. */
bool _rz_fork_only_helper_threads(void) RZ_HIDDEN;

/* The program needs to be its process's only thread (unshare and setns
 * refused it with EINVAL: namespace_linux.c): ends rezone's helper thread
 * and waits until the kernel no longer counts it. true if one ran; a
 * later large call may start it again. */
bool _rz_helper_threads_stop(void) RZ_HIDDEN;
void _rz_prefork_engine(void) RZ_HIDDEN;
void _rz_postfork_parent_engine(void) RZ_HIDDEN;
void _rz_prefork(void) RZ_HIDDEN;
void _rz_postfork_parent(void) RZ_HIDDEN;
void _rz_postfork_child(void) RZ_HIDDEN;

/* For the Linux front end's dlopen (deepbind_linux.c), after _rz_init:
 * REZONE_DEEPBIND=keep, and a one-line "rezone: WHO: WHAT (VALUE)" on
 * stderr only when REZONE_STATS or a debugging option is set
 * (options.c). */
bool _rz_option_deepbind_keep(void) RZ_HIDDEN;
void _rz_note(const char *who, const char *what, const char *value) RZ_HIDDEN;

/* New threads (thread_linux.c). Whether a new thread should set up the
 * small delegate's per-thread state before the program's start routine:
 * true when the delegate needs it (jemalloc) and memory is limited
 * (RLIMIT_AS, RLIMIT_DATA, or commit charged), read anew at each call
 * (then the delegate is also prepared: _rz_memory_prepare), or once a
 * limit has left the delegate needing it (_rz_small_thread_boot_pending).
 * _rz_thread_boot does the set-up, on the new thread. */
bool _rz_thread_boot_wanted(void) RZ_HIDDEN;
/* Whether the process's memory is limited where the allocators' free
 * memory counts: RLIMIT_AS or RLIMIT_DATA set, or commit charged (limits
 * read anew at each call). Not on a hot path. */
bool _rz_memory_limited(void) RZ_HIDDEN;
/* _rz_memory_limited, and if so (or if the caller is about to set
 * RLIMIT_AS or RLIMIT_DATA: address_limit_coming), has the small
 * delegate prepare its threads, those that exist and new_threads more
 * the caller is about to make, for a first call after memory ran out
 * (_rz_small_prepare_limit). */
bool _rz_memory_prepare(bool address_limit_coming, unsigned new_threads) RZ_HIDDEN;
/* The caller may be about to set RLIMIT_AS or RLIMIT_DATA (to any value):
 * threads not yet set up are set up without a thread cache from now on,
 * and the ones setting up now have finished when this returns; the rest
 * of _rz_memory_prepare waits for a limit that holds. */
void _rz_memory_prepare_threads(void) RZ_HIDDEN;
void _rz_thread_boot(void) RZ_HIDDEN;
/* Something outside the allocator ran out of memory (a thread's stack):
 * where memory is limited, returns the cache, live blocks' headroom and
 * the delegate's free pages, as a failing malloc does; true when that
 * freed something, so that a retry can help. errno is kept. */
bool _rz_memory_reclaim(void) RZ_HIDDEN;

/* Memory of len bytes is about to be mapped for another use (the
 * program's own mmap): cached pages of as many bytes go back first, so
 * that they never add to the process's peak (src/README.md, "Cached pages
 * give way to other memory"). One load when nothing is cached; errno is
 * kept. */
void _rz_memory_shed(size_t len) RZ_HIDDEN;

/* Called once at exit by the front end: prints stats if asked. */
void _rz_at_exit(void) RZ_HIDDEN;

/* For front ends that export the C library's own extensions (mallopt,
 * malloc_trim, mallinfo: glibc_ext_linux.c); defined in api.c. */
/* Makes sizes >= bytes large blocks from now on (at least one page).
 * false when the large path is disabled (its table could not be set up). */
bool _rz_set_threshold(size_t bytes) RZ_HIDDEN;
/* Stores the threshold and the realloc threshold derived from it (route.c). */
void _rz_route_set_thresholds(size_t threshold) RZ_HIDDEN;
/* The program chose the threshold (mallopt): a limit no longer lowers it. */
void _rz_route_threshold_chosen(void) RZ_HIDDEN;
/* Returns cached large mappings and the small delegate's unused pages to
 * the OS; true when memory was released. */
bool _rz_trim(void) RZ_HIDDEN;
/* Heap figures in bytes, large and small. */
struct _rz_heap_info {
	uint64_t large_live;        /* large blocks allocated */
	uint64_t large_live_bytes;  /* their usable bytes */
	uint64_t large_peak_bytes;  /* the most large_live_bytes has been */
	const char *small_name;     /* the delegate ("jemalloc", "system") */
	size_t small_allocated;     /* bytes in blocks the program holds */
	size_t small_active;        /* bytes of pages holding those blocks */
	size_t small_mapped;        /* bytes the delegate has mapped */
	size_t small_resident;      /* of those, bytes in physical memory */
	size_t small_retained;      /* unmapped-in-spirit address space kept */
};
void _rz_heap_info(struct _rz_heap_info *out) RZ_HIDDEN;

#endif
