/*
 * route.c - the malloc family's contract and the small/large routing.
 *
 * Hot paths are two compares: a size against the threshold (which is 0
 * until the engine is set up, so the first call takes the slow path and
 * sets it up), and a pointer's page offset (a pointer that is not
 * page-aligned can never be a large block and goes straight to the small
 * delegate without a lookup).
 * May include: engine.h, large.h, cache.h, options.h, stats.h, diag.h,
 * backend/small.h, backend/os.h, backend/proc.h (the pid), <errno.h>,
 * <stdint.h>, <string.h>.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "backend/proc.h"
#include "backend/small.h"
#include "engine/cache.h"
#include "engine/decay.h"
#include "engine/diag.h"
#include "engine/engine.h"
#include "engine/large.h"
#include "engine/options.h"
#include "engine/pagemap.h"
#include "engine/stats.h"

/* Sizes at or above this go to the large engine; 0 until _rz_init. */
size_t _rz_route_threshold;
#define route_threshold _rz_route_threshold
size_t _rz_route_grow_threshold;
#define route_grow_threshold _rz_route_grow_threshold
/* Before init no large block exists; any mask at most the page's works. */
uintptr_t _rz_route_page_mask = 4095;
/* glibc's tst-malloc-too-large asks for every size from 1 PiB up with
 * every alignment: each went through three mmap attempts, a reclaim and
 * the delegate's own attempts (12.7 s against glibc's 5.2; its harness
 * allows 20). Beyond the address space nothing can help. */
size_t _rz_route_max_request = PTRDIFF_MAX;
#define route_page_mask _rz_route_page_mask
static int route_state; /* 0: not set up, 1: setting up, 2: ready */
/* The process the engine was set up in, or forked into (a vfork child
 * shares its parent's memory, the delegate's options included, and runs
 * no fork handler: its pid differs). */
static long route_pid;


#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static bool route_reclaim(void);
static bool route_reclaim_large(void);

void _rz_route_set_thresholds(size_t threshold)
{
	size_t grow = _rz_opt.realloc_threshold;
	if (grow < _rz_caps.page_size)
		grow = _rz_caps.page_size;
	if (grow > threshold)
		grow = threshold;
	__atomic_store_n(&route_grow_threshold, grow, __ATOMIC_RELAXED);
	__atomic_store_n(&route_threshold, threshold, __ATOMIC_RELAXED);
}

/*
 * Under RLIMIT_AS or RLIMIT_DATA every byte of address space counts, and
 * jemalloc's size classes (4 per doubling) round a block of 64-256 KiB up
 * by as much as 25%, where a mapping of its own rounds to a page (as glibc
 * does from 128 KiB): under a 512 MiB limit set while running, blocks of
 * 100,000 bytes until NULL got 0.81 of glibc's bytes, of 200,000 bytes
 * 0.84. So while such a limit holds, blocks from 64 KiB are large (unless
 * REZONE_LARGE_THRESHOLD or mallopt(M_MMAP_THRESHOLD) chose the
 * threshold). Not below 64 KiB: smaller blocks would round more to pages
 * than to jemalloc's classes (16-64 KiB classes are 4-16 KiB apart).
 * And not so low that the limit's bytes in blocks of the threshold would
 * take more than a quarter of vm.max_map_count: under ulimit -v 32G,
 * 150,000 blocks of 70,000 bytes, every other one freed, reached the cap
 * of 65,530 mappings (munmap and pthread_create then failed), where glibc
 * stays at a few dozen. With the default map count: 64 KiB under a
 * 512 MiB limit, 128 KiB under 1 GiB, 192 KiB under 2 GiB, no change from
 * 4 GiB.
 * The threshold is only ever lowered (a limit set later,
 * _rz_memory_prepare); blocks keep their owner.
 */
#define ROUTE_LIMITED_THRESHOLD ((size_t)64 << 10)
#define ROUTE_DEFAULT_MAP_COUNT ((size_t)65530)

static bool route_threshold_chosen; /* mallopt(M_MMAP_THRESHOLD) */

/*
 * Guard mode: a block and its guard page are two mappings that never merge
 * with their neighbours (one PROT_NONE page apart), and a block that moved
 * and grew holds four (the moved part, its growth, headroom, guard).
 * 35,800 live guarded blocks of 5,000 bytes (REZONE_LARGE_THRESHOLD=4096)
 * used up vm.max_map_count, and then neither jemalloc's mmap nor brk could
 * grow: every malloc after failed, where glibc's brk heap (one mapping)
 * succeeds; at a quarter, 16,350 blocks grown by realloc still filled it.
 * So past an eighth of the map count in live blocks (half of it at four
 * mappings each), new ones go to the delegate, unguarded.
 */
static size_t route_guard_blocks = SIZE_MAX;

void _rz_route_threshold_chosen(void)
{
	__atomic_store_n(&route_threshold_chosen, true, __ATOMIC_RELAXED);
}

static size_t route_threshold_limited(size_t threshold, size_t as, size_t data)
{
	if (_rz_opt.large_threshold_set || __atomic_load_n(&route_threshold_chosen, __ATOMIC_RELAXED) ||
	    threshold <= ROUTE_LIMITED_THRESHOLD)
		return threshold;
	size_t limit = as != 0 && (data == 0 || as < data) ? as : data;
	if (limit == 0)
		return threshold;
	size_t maps = _rz_os_max_map_count();
	if (maps == 0)
		maps = ROUTE_DEFAULT_MAP_COUNT;
	size_t t = limit / (maps / 4 + 1);
	t = (t + ROUTE_LIMITED_THRESHOLD - 1) & ~(ROUTE_LIMITED_THRESHOLD - 1);
	if (t < ROUTE_LIMITED_THRESHOLD)
		t = ROUTE_LIMITED_THRESHOLD;
	return t < threshold ? t : threshold;
}

void _rz_init(void)
{
	if (likely(__atomic_load_n(&route_state, __ATOMIC_ACQUIRE) == 2))
		return;
	int expected = 0;
	if (!__atomic_compare_exchange_n(&route_state, &expected, 1, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* Another thread is setting up; it never allocates, so wait. */
		while (__atomic_load_n(&route_state, __ATOMIC_ACQUIRE) != 2)
			;
		return;
	}
	_rz_options_load();
	__atomic_store_n(&route_pid, _rz_os_pid(), __ATOMIC_RELAXED);
	/* Before the delegate's own set-up (it reads its options once). */
	size_t as_limit, data_limit;
	_rz_os_limits(&as_limit, &data_limit);
	_rz_small_configure(as_limit != 0 || data_limit != 0);
	/* Guard mode is strict commit plus poisoning on free: only the
	 * block's own pages are ever accessible. */
	_rz_os_init(_rz_opt.strict_commit || _rz_opt.guard);
	size_t threshold = _rz_opt.large_threshold;
	if (threshold < _rz_caps.page_size)
		threshold = _rz_caps.page_size;
	if (as_limit != 0 || data_limit != 0)
		threshold = route_threshold_limited(threshold, as_limit, data_limit);
	if (_rz_opt.guard) {
		size_t maps = _rz_os_max_map_count();
		route_guard_blocks = (maps ? maps : ROUTE_DEFAULT_MAP_COUNT) / 8;
	}
	if (_rz_large_init() != 0) {
		/* No table, no large blocks: everything goes to the delegate. */
		_rz_diag_warn("init", "large-block table unavailable; large path disabled", NULL);
		threshold = SIZE_MAX;
	}
	if (_rz_opt.stats)
		_rz_os_keep_stderr();
	/* REZONE_CHECK_UNKNOWN: no pointer is "certainly the delegate's" by
	 * its page offset, so free, realloc and malloc_usable_size ask the
	 * page map for every pointer and a pointer into a large block at any
	 * offset gets the diagnostic (by default only page-aligned ones are
	 * checked: the unaligned path is jemalloc's own). */
	route_page_mask = _rz_opt.check_unknown ? 0 : _rz_caps.page_size - 1;
	if (_rz_caps.va_size != 0 && _rz_caps.va_size < _rz_route_max_request)
		_rz_route_max_request = _rz_caps.va_size;
	/* Delegates that see their own out-of-memory return the cache there
	 * (not their own free memory: they hold their locks then). */
	_rz_small_set_reclaim(route_reclaim_large);
	_rz_small_set_shed(_rz_large_shed);
	_rz_route_set_thresholds(threshold);
	__atomic_store_n(&route_state, 2, __ATOMIC_RELEASE);
}

/* Out of memory: freed large mappings kept in the cache, and headroom
 * behind live blocks, hold address space and pages (which count against
 * RLIMIT_AS, RLIMIT_DATA and commit limits). Returns them and says whether
 * a retry can help. The delegate calls this one from inside itself. */
static __attribute__((noinline, cold)) bool route_reclaim_large(void)
{
	int saved = errno;
	bool freed = __atomic_load_n(&route_state, __ATOMIC_ACQUIRE) == 2 &&
	    _rz_large_reclaim() != 0;
	errno = saved;
	return freed;
}

bool _rz_memory_limited(void)
{
	size_t as, data;
	_rz_os_limits(&as, &data);
	return as != 0 || data != 0 || !_rz_caps.commit_is_free;
}

/* Not in a vfork child (pid as at set-up or fork): the delegate prepares
 * the threads that may call it (not rezone's decay thread, which never
 * does). It reads the count only when no thread is about to be made (one
 * about to be made defers caches anyway): no stat per pthread_create. */
static bool route_prepare_delegate(unsigned new_threads, bool address)
{
	if (_rz_os_pid() != __atomic_load_n(&route_pid, __ATOMIC_RELAXED))
		return false;
	unsigned threads = 0;
	if (!new_threads) {
		unsigned helper = _rz_decay_running_id();
		threads = _rz_os_thread_count();
		if (threads > 1 && helper && _rz_decay_running_id() == helper)
			threads--;
	}
	_rz_small_prepare_limit(threads, new_threads, address);
	return true;
}

bool _rz_memory_prepare(bool address_limit_coming, unsigned new_threads)
{
	size_t as, data;
	_rz_init();
	_rz_os_limits(&as, &data);
	bool address = address_limit_coming || as != 0 || data != 0;
	if (!address && _rz_caps.commit_is_free)
		return false;
	size_t now = __atomic_load_n(&route_threshold, __ATOMIC_RELAXED);
	size_t lower = route_threshold_limited(now, as, data);
	if (now != SIZE_MAX && lower < now)
		_rz_route_set_thresholds(lower);
	/* After the limits: without one, no getpid on each pthread_create. */
	return route_prepare_delegate(new_threads, address);
}

void _rz_memory_prepare_threads(void)
{
	_rz_init();
	(void)route_prepare_delegate(0, false);
}

/* The same from the engine, outside the delegate: the delegate's free
 * pages too, and under an address-space limit their address space
 * (_rz_small_configure). A program that freed 900 MiB of small blocks
 * then got NULL for malloc(500 MiB) under ulimit -v 1500000.
 * Only where they count (_rz_memory_limited). Otherwise a refusal (a
 * request beyond RAM and swap) owes nothing to them, and purging every
 * arena cost each refused malloc(2^45) 34 us against 5.5, and the
 * delegate its dirty pages. */
static __attribute__((noinline, cold)) bool route_reclaim(void)
{
	bool freed = route_reclaim_large();
	int saved = errno;
	if (__atomic_load_n(&route_state, __ATOMIC_ACQUIRE) == 2 &&
	    _rz_memory_limited() && _rz_small_trim())
		freed = true;
	errno = saved;
	return freed;
}

void _rz_memory_shed(size_t len)
{
	_rz_large_shed(len);
}

bool _rz_memory_reclaim(void)
{
	return _rz_memory_limited() && route_reclaim();
}

#define RZ_RETRY_OOM(expr)                                                   \
	__extension__({                                                      \
		void *r_ = (expr);                                           \
		if (unlikely(r_ == NULL) && route_reclaim())                 \
			r_ = (expr);                                         \
		r_;                                                          \
	})

/* The page map first: it answers "not rezone's" for a page-aligned small
 * block from a few cache-hot bytes, where a table probe misses the cache
 * (with 60,000 live blocks: 90 ns a free+malloc pair against 36 with
 * none, before this order). */
static bool route_is_large(const void *p, struct _rz_block *b)
{
	return _rz_table_count() != 0 && _rz_pagemap_has((uintptr_t)p) &&
	    _rz_table_find((uintptr_t)p, b);
}

size_t _rz_large_size(const void *p)
{
	struct _rz_block b;
	if (((uintptr_t)p & route_page_mask) != 0 || !p)
		return 0;
	return route_is_large(p, &b) ? b.size : 0;
}


/* The delegate takes a large request; errno: the caller's if it could. */
static void *route_small_instead(size_t size, size_t align, bool zero, int caller, int err)
{
	RZ_STAT_ADD(fallbacks_small, 1);
	void *p;
	if (align > 16)
		p = _rz_small_memalign(align, size);
	else
		p = zero ? _rz_small_calloc(1, size) : _rz_small_malloc(size);
	errno = p ? caller : err;
	return p;
}

/* A large request; falls back to the small delegate when the large engine
 * cannot map (table full, map count exhausted), which may still succeed. */
static void *route_large(size_t size, size_t align, bool zero, uint32_t grows)
{
	if (size > _rz_route_max_request) {
		errno = ENOMEM;
		return NULL;
	}
	int caller = errno;
	if (unlikely(__atomic_load_n(&_rz_counters.large_live, __ATOMIC_RELAXED) >= route_guard_blocks))
		return route_small_instead(size, align, zero, caller, ENOMEM);
	void *p = RZ_RETRY_OOM(_rz_large_alloc_growing(size, align, zero, grows));
	if (likely(p != NULL)) {
		/* A refused try (with headroom; before the reclaim) left
		 * ENOMEM: a call that succeeds keeps the caller's errno
		 * (memalign(2^36, 3 MiB) returned its block with ENOMEM). */
		errno = caller;
		return p;
	}
	int err = errno;
	/* The delegate may map without the kernel's commit check (jemalloc
	 * uses MAP_NORESERVE under overcommit): never let it "succeed" where
	 * the kernel refused rezone. */
	if (!_rz_os_commit_possible(size))
		return NULL;
	return route_small_instead(size, align, zero, caller, err);
}

void *_rz_malloc_slow(size_t size)
{
	_rz_init();
	if (size < route_threshold)
		return RZ_RETRY_OOM(_rz_small_malloc(size));
	return route_large(size, 0, false, 0);
}

void *_rz_malloc_retry(size_t size)
{
	return route_reclaim() ? _rz_small_malloc(size) : NULL;
}

void *_rz_calloc(size_t count, size_t size)
{
	size_t total;
	if (unlikely(__builtin_mul_overflow(count, size, &total))) {
		errno = ENOMEM;
		return NULL;
	}
	if (likely(total < route_threshold))
		return RZ_RETRY_OOM(_rz_small_calloc(count, size));
	_rz_init();
	if (total < route_threshold)
		return RZ_RETRY_OOM(_rz_small_calloc(count, size));
	return route_large(total, 0, true, 0);
}

/* Page-aligned pointer that is not a live large block: misuse checks,
 * then it belongs to the small delegate. */
static void route_foreign(const void *p, const char *call)
{
	_rz_large_check_foreign(p, call);
}

/* Could p be a live large block? The page map answers "no" for a small
 * page-aligned pointer without touching the table. */
static bool route_maybe_large(const void *p)
{
	return _rz_large_hinted(p) ||
	    (_rz_table_count() != 0 && _rz_pagemap_has((uintptr_t)p));
}

static __attribute__((noinline)) void route_free_aligned(void *p, size_t size)
{
	if (route_maybe_large(p)) {
		/* free() must not change errno; munmap may. */
		int saved = errno;
		bool freed = _rz_large_free_if_live(p);
		errno = saved;
		if (freed)
			return;
	}
	route_foreign(p, "free");
	_rz_small_free_sized(p, size);
}

void _rz_free_aligned(void *p)
{
	/* A page no rezone mapping covers, and no misuse check armed for it:
	 * the delegate's (jemalloc's 4 KiB and bigger classes are
	 * page-aligned: 6.6% of frees in small churn, which went through
	 * three more calls and checks first). */
	uintptr_t a = (uintptr_t)p;
	if (likely(!_rz_large_hinted(p)) && likely(!_rz_pagemap_has(a)) && !_rz_grave_has(a) &&
	    !_rz_opt.check_unknown) {
		if (p)
			_rz_small_free(p);
		return;
	}
	if (p)
		route_free_aligned(p, 0);
}

void _rz_free_sized(void *p, size_t size)
{
	if (likely(((uintptr_t)p & route_page_mask) != 0)) {
		_rz_small_free_sized(p, size);
		return;
	}
	if (p)
		route_free_aligned(p, size);
}

/* Moves a block between the delegate and the large engine. */
static void *route_migrate(void *p, size_t old_usable, size_t size, bool to_large)
{
	/* A small block realloc'ed past the threshold is a growing buffer. */
	void *q = to_large ? route_large(size, 0, false, 1) : _rz_small_malloc(size);
	if (!q)
		return NULL;
	size_t n = old_usable < size ? old_usable : size;
	if (to_large)
		_rz_large_prefault(q, n);
	memcpy(q, p, n);
	if (to_large)
		_rz_small_free(p);
	else
		_rz_large_free(p, "realloc");
	return q;
}

/*
 * A small block realloc'ed to at least the realloc threshold (below the
 * threshold) and past its usable size is a growing buffer. It moves to the
 * large engine early only if a cached mapping can take it: its pages are
 * touched already and its headroom absorbs the next growths without a
 * copy, which is where vector churn's time went (doubling to 1 MiB:
 * jemalloc's reallocs up to 256 KiB and the move into a large block
 * copied 255 KiB per vector; 1.39x glibc per vector before, 1.10x after,
 * 5 paired runs). Without a cached mapping it is mapped fresh while
 * fewer than ROUTE_EARLY_FRESH large blocks are live, else it stays with
 * the delegate: mapping fresh memory for each of many live mid-size
 * buffers cost 20% more than the delegate's reallocs (20,000 buffers grown
 * to 128 KiB and kept). Without any fresh mapping, vectors below the large
 * threshold never found one cached: 64 KiB vectors cost 2.06x glibc, as
 * under jemalloc alone. A threshold of one page measured best (vector1m
 * 1.08x glibc at 4 KiB, 1.17x at 16 KiB, 1.33x at 64 KiB; real programs
 * no difference).
 */
#define ROUTE_EARLY_FRESH 4
static void *route_grow_early(void *p, size_t size)
{
	/* With nothing cached and many large blocks live (many kept
	 * buffers), two loads and the delegate's realloc. */
	bool cached = _rz_cache_bytes() != 0;
	bool few = __atomic_load_n(&_rz_counters.large_live, __ATOMIC_RELAXED) <
	    ROUTE_EARLY_FRESH;
	size_t usable;
	if ((cached || few) && size > (usable = _rz_small_usable_size(p))) {
		int saved = errno;
		void *q = cached ? _rz_large_alloc_cached(size, 1) : NULL;
		if (!q && few)
			q = _rz_large_alloc_growing(size, 0, false, 1);
		errno = saved; /* a refusal here falls back to the delegate */
		if (q) {
			_rz_large_prefault(q, usable);
			memcpy(q, p, usable);
			_rz_small_free(p);
			return q;
		}
	}
	return RZ_RETRY_OOM(_rz_small_realloc(p, size));
}

void *_rz_realloc_failed(void)
{
	errno = ENOMEM;
	return NULL;
}

static inline void *route_realloc(void *p, size_t size);

/* A NULL from realloc says ENOMEM whichever path failed: the delegate's
 * system calls leave errno alone now (rzje_os_mmap, rzje_os_sbrk), and a
 * failure that left the block where it was set none (threads growing
 * arrays under RLIMIT_DATA saw errno 0). realloc(p, 0) that frees returns
 * NULL with errno untouched. */
void *_rz_realloc(void *p, size_t size)
{
	void *q = route_realloc(p, size);
	if (unlikely(q == NULL) && (size != 0 || !p || !_rz_caps.realloc_zero_frees))
		errno = ENOMEM;
	return q;
}

static inline void *route_realloc(void *p, size_t size)
{
	if (!p)
		return _rz_malloc(size);
	if (size == 0 && _rz_caps.realloc_zero_frees) {
		_rz_free(p);
		return NULL;
	}
	if (unlikely(size > _rz_route_max_request)) {
		errno = ENOMEM;
		return NULL;
	}
	if (likely(((uintptr_t)p & route_page_mask) != 0) ) {
		if (likely(size < route_grow_threshold))
			return RZ_RETRY_OOM(_rz_small_realloc(p, size));
	} else {
		if (!_rz_large_hinted(p))
			_rz_init(); /* a hinted block means it is set up */
		if (route_maybe_large(p)) {
			/* Shrunk far below the threshold, the block is cheaper
			 * in the delegate; near it, shrinking in place avoids
			 * ping-pong. A block that grows stays (it may have come
			 * early, route_grow_early). */
			void *q = NULL;
			size_t old = 0;
			switch (_rz_large_realloc(p, size, route_threshold / 2, &q, &old)) {
			case RZ_RESIZE_TO_SMALL: {
				/* Where the delegate has no room (a limit used up),
				 * the block shrinks in place, which needs none, as
				 * glibc's mremap does: 1 MiB -> 100 KiB returned NULL
				 * under a spent RLIMIT_AS or RLIMIT_DATA. */
				int saved = errno;
				if ((q = route_migrate(p, old, size, false)) != NULL)
					return q;
				errno = saved;
				return _rz_large_resize(p, size, "realloc");
			}
			case RZ_RESIZE_DONE:
				if (likely(q != NULL) || !route_reclaim())
					return q;
				return _rz_large_resize(p, size, "realloc");
			case RZ_RESIZE_NOT_LIVE:
				break;
			}
		}
		route_foreign(p, "realloc");
	}
	_rz_init();
	if (size < route_grow_threshold)
		return RZ_RETRY_OOM(_rz_small_realloc(p, size));
	/* A delegate's block at or above the threshold (made before a limit
	 * lowered it) that shrinks stays the delegate's: migrating it needs
	 * room, and under a spent limit 64 of 64 such shrinks failed. */
	if (size >= route_threshold) {
		size_t usable = _rz_small_usable_size(p);
		if (size <= usable)
			return RZ_RETRY_OOM(_rz_small_realloc(p, size));
		return route_migrate(p, usable, size, true);
	}
	return route_grow_early(p, size);
}

void *_rz_reallocarray(void *p, size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return _rz_realloc(p, total);
}

void *_rz_memalign(size_t align, size_t size)
{
	if (align == 0 || (align & (align - 1)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	if (size > _rz_route_max_request || align > _rz_route_max_request / 2 + 1) {
		errno = ENOMEM;
		return NULL;
	}
	/* The delegate's smallest size class is only 8-byte aligned (jemalloc's
	 * 8-byte class): a 16-byte alignment needs a request of 16 or more. */
	if (align <= 16)
		return _rz_malloc(size < align ? align : size);
	_rz_init();
	if (size < route_threshold) {
		/* The delegate's aligned call leaves errno alone, so a retry
		 * that succeeds leaves the caller's; only NULL says ENOMEM. */
		void *p = RZ_RETRY_OOM(_rz_small_memalign(align, size));
		if (!p)
			errno = ENOMEM;
		return p;
	}
	return route_large(size, align, false, 0);
}

/* Every glibc rounds memalign's alignment up to a power of two where
 * aligned_alloc (since 2.38) and posix_memalign refuse it: a program that
 * calls memalign(24, n) works under glibc, so it must under rezone. */
void *_rz_memalign_rounding(size_t align, size_t size)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (align <= 16)
		align = 16; /* glibc: malloc's alignment */
	else if ((align & (align - 1)) != 0)
		align = (size_t)1 << (sizeof(unsigned long) * 8 - (size_t)__builtin_clzl(align));
	return _rz_memalign(align, size);
}

int _rz_posix_memalign(void **out, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	int saved = errno;
	void *p = _rz_memalign(align, size);
	if (!p) {
		errno = ENOMEM; /* left in errno too, as glibc does */
		return ENOMEM;
	}
	errno = saved;
	*out = p;
	return 0;
}

void *_rz_valloc(size_t size)
{
	_rz_init();
	return _rz_memalign(_rz_caps.page_size, size);
}

void *_rz_pvalloc(size_t size)
{
	_rz_init();
	size_t pg = _rz_caps.page_size;
	if (size > _rz_route_max_request) {
		errno = ENOMEM;
		return NULL;
	}
	size = size ? (size + pg - 1) & ~(pg - 1) : pg;
	return _rz_memalign(pg, size);
}

size_t _rz_usable_size(const void *p)
{
	if (likely(((uintptr_t)p & route_page_mask) != 0))
		return _rz_small_usable_size(p);
	if (!p)
		return 0;
	struct _rz_block b;
	if (route_is_large(p, &b))
		return b.size;
	route_foreign(p, "malloc_usable_size");
	return _rz_small_usable_size(p);
}

struct route_each {
	void (*fn)(uintptr_t, size_t, size_t, void *);
	void *arg;
};

static void route_each_block(const struct _rz_block *b, void *arg)
{
	struct route_each *e = arg;
	e->fn(b->addr, b->size, b->reserved, e->arg);
}

void _rz_large_each(void (*fn)(uintptr_t, size_t, size_t, void *), void *arg)
{
	struct route_each e = { fn, arg };
	_rz_table_each(route_each_block, &e);
}

const struct _rz_large_view *_rz_large_view(void)
{
	return _rz_table_view();
}

size_t _rz_release_cache(void)
{
	if (__atomic_load_n(&route_state, __ATOMIC_ACQUIRE) != 2)
		return 0;
	return _rz_large_flush_cache();
}

bool _rz_maybe_ours(const void *p)
{
	return _rz_pagemap_has((uintptr_t)p);
}

bool _rz_engine_locked(void)
{
	return __atomic_load_n(&route_state, __ATOMIC_ACQUIRE) == 2 && _rz_large_locked();
}

void _rz_lock_memory(bool current, bool future)
{
	_rz_init();
	_rz_large_lock_memory(current, future);
}

void _rz_protect_changed(void *addr, size_t len)
{
	/* No large block yet (or not set up): nothing of rezone's there. */
	if (__atomic_load_n(&route_state, __ATOMIC_ACQUIRE) == 2 && _rz_table_count() != 0)
		_rz_large_protected((uintptr_t)addr, len);
}

/* The delegate's locks first: its out-of-memory reclaim takes the large
 * engine's lock while holding its own (small.h). */
void _rz_prefork(void)
{
	_rz_init();
	_rz_small_prefork();
	_rz_large_prefork();
}

void _rz_postfork_parent(void)
{
	_rz_large_postfork_parent();
	_rz_small_postfork_parent();
}

void _rz_prefork_engine(void)
{
	_rz_init();
	_rz_large_prefork();
}

void _rz_postfork_parent_engine(void)
{
	_rz_large_postfork_parent();
}

bool _rz_fork_only_helper_threads(void)
{
	/* The process's threads now: this one, and rezone's decay thread if
	 * it runs (a thread being stopped does not count as rezone's: the
	 * count may have lost it already). A program whose own threads have
	 * all ended counts as one too. The helper counts only if the same
	 * thread ran before and after the count: one that a program thread's
	 * free started during the count (the helper ends when idle and comes
	 * back) is not in it, and that program thread is, and may be inside
	 * the delegate: all locks then (found in review; a 20 ms stall after
	 * the count's stat made it happen 4 times in 4). */
	unsigned helper = _rz_decay_running_id();
	unsigned n = _rz_os_thread_count();
	bool counted = helper != 0 && _rz_decay_running_id() == helper;
	return n != 0 && n <= 1u + (counted ? 1u : 0u);
}

bool _rz_helper_threads_stop(void)
{
	return _rz_decay_stop();
}

void _rz_postfork_child(void)
{
	__atomic_store_n(&route_pid, _rz_os_pid(), __ATOMIC_RELAXED);
	_rz_large_postfork_child();
	_rz_small_postfork_child();
}

void _rz_at_exit(void)
{
	if (__atomic_load_n(&route_state, __ATOMIC_ACQUIRE) == 2 && _rz_opt.stats)
		_rz_stats_print();
}
