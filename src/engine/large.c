/*
 * large.c - the large engine: allocation, growth, shrink, free, reclaim.
 *
 * Growth order (cheapest first):
 *   1. inside the block's reservation: no system call at all;
 *   2. extend the mapping in place when the next range is free;
 *   3. move the mapping without copying (page tables move, 2 MiB-aligned
 *      blocks move whole page-table pages);
 *   4. copy into a new mapping, only when the OS can do neither.
 * How much headroom each reservation gets is budget.c's decision.
 *
 * Locking: none of this file's own. A block's record lock (table.h) is
 * held by its realloc/free and covers the system calls on that block; the
 * table and the cache lock a shard only to change an array. So a cache
 * hit or a growth inside the reservation never waits for another thread's
 * system call (one engine lock around everything cost 5.9 us per large
 * churn operation with 4 threads where jemalloc took 3.8).
 *
 * Under strict commit (overcommit_memory=2, guard mode, or after
 * mlockall(MCL_FUTURE)) reservations are inaccessible and pages are
 * committed as the block grows; the invariant there is: bytes
 * [addr, addr+size) are writable, the rest of the reservation is not.
 *
 * The page map (pagemap.h) is set after a range is mapped and cleared
 * before it is returned, so a page the kernel hands to someone else is
 * never taken for rezone's.
 * May include: large.h, table.h, cache.h, budget.h, pagemap.h, decay.h,
 * options.h, stats.h, diag.h, backend/os.h, <errno.h>, <string.h>.
 */
#include <errno.h>
#include <string.h>

#include "engine/budget.h"
#include "engine/cache.h"
#include "engine/decay.h"
#include "engine/diag.h"
#include "engine/large.h"
#include "engine/meta.h"
#include "engine/options.h"
#include "engine/pagemap.h"
#include "engine/stats.h"

static size_t page_round(size_t n)
{
	size_t pg = _rz_caps.page_size;
	return n > (size_t)-1 - pg ? 0 : (n + pg - 1) & ~(pg - 1);
}

/*
 * The fork gate. An operation on a block (a resize that makes system
 * calls, expand, reclaim, decay) makes them under the block's own lock,
 * which fork's
 * prepare handler does not take (there may be 100,000 of them). Prepare
 * closes this gate instead and waits until no operation is in flight, so
 * that a child never inherits a block halfway through a move (stress fork
 * with the system delegate aborted with "pointer is not a live large
 * block" in a child). An operation the forking thread itself interrupted
 * (fork from a signal handler) is not waited for. Operations never wait on
 * the small delegate or stdio inside the gate: the decay thread is started
 * after it (pthread_create allocates).
 *
 * An operation in flight is a slot holding its thread's identity (the
 * address of a thread-local, which the signal handler on the same thread
 * computes alike), claimed by one compare-and-swap: prepare waits for every
 * slot that is neither free nor its own. A count of operations plus a
 * thread-local "am I counted" (the first design) cannot be read right from
 * a handler that interrupted the instructions between the two updates:
 * fork from a handler that hit the end of a free waited for itself
 * forever (tests/stress forksig-tiny hung 2 runs in 20).
 */
#define OP_SLOTS 256
static struct op_slot {
	uintptr_t owner; /* 0: free */
	char pad[56];
} large_op_slots[OP_SLOTS] __attribute__((aligned(64)));
static bool large_forking;             /* the gate is closed */
static RZ_THREAD_LOCAL unsigned large_my_ops; /* this thread's, nested */
static RZ_THREAD_LOCAL unsigned large_my_slot; /* its claimed slot (outermost op) */
static bool large_kick_wanted;         /* start decay once outside */

static uintptr_t large_self(void)
{
	return (uintptr_t)&large_my_ops;
}

static void large_op_begin(void)
{
	if (large_my_ops++ > 0)
		return;
	uintptr_t me = large_self();
	unsigned i = (unsigned)((me >> 6) * 0x9E3779B1u >> 24) % OP_SLOTS;
	for (;;) {
		uintptr_t free_owner = 0;
		if (__atomic_compare_exchange_n(&large_op_slots[i].owner, &free_owner, me,
		    false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
			if (!__atomic_load_n(&large_forking, __ATOMIC_SEQ_CST)) {
				large_my_slot = i;
				return;
			}
			__atomic_store_n(&large_op_slots[i].owner, 0, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&large_forking, __ATOMIC_ACQUIRE))
				_rz_os_yield();
		} else {
			i = (i + 1) % OP_SLOTS;
			if (i == 0)
				_rz_os_yield(); /* 256 operations in flight: wait */
		}
	}
}

/* Starts the decay thread if an operation asked for it, when the calling
 * thread is outside every operation. */
static void large_kick_if_wanted(void)
{
	if (large_my_ops == 0 && __atomic_load_n(&large_kick_wanted, __ATOMIC_RELAXED)) {
		__atomic_store_n(&large_kick_wanted, false, __ATOMIC_RELAXED);
		_rz_decay_kick();
	}
}

/* large_op_end without the kick: for walks that run inside the delegate
 * (its mmap, with its locks held), where starting a thread would
 * allocate; the next operation's end starts it. */
static void large_op_end_quiet(void)
{
	if (large_my_ops > 1) {
		large_my_ops--;
		return;
	}
	__atomic_store_n(&large_op_slots[large_my_slot].owner, 0, __ATOMIC_RELEASE);
	large_my_ops = 0;
}

static void large_op_end(void)
{
	large_op_end_quiet();
	large_kick_if_wanted();
}

static void large_kick_later(void)
{
	__atomic_store_n(&large_kick_wanted, true, __ATOMIC_RELAXED);
}

/* Inaccessible bytes kept after every block in guard mode. */
static size_t large_guard_gap(void)
{
	return _rz_opt.guard ? _rz_caps.page_size : 0;
}

static bool large_commit_is_free(void)
{
	return __atomic_load_n(&_rz_caps.commit_is_free, __ATOMIC_RELAXED);
}

/*
 * Transparent huge pages. One 2 MiB page fault instead of 512 small ones:
 * touching 1 GiB of fresh memory took 0.25 s instead of 0.67 s here (THP
 * in madvise mode, 9 paired runs). The kernel's choice is per mapping, and
 * splitting a block's mapping by range would break mremap (it works on one
 * mapping), so the whole reservation is asked for huge pages once the
 * block reaches LARGE_THP_MIN: headroom costs nothing until the block
 * grows into it, and the partly used last 2 MiB costs at most 2 MiB, under
 * 1/16 of such a block; that asking is REZONE_THP (on, or auto where the
 * machine's huge-page faults do not wait for a hypervisor, see
 * options.c). Below that size a kernel in "always" mode is told no,
 * whatever the option, so a 1-4 MiB block never holds a 2 MiB page of
 * headroom; above it the kernel's own choice stands. The state follows
 * the mapping through growth, moves and the cache.
 */
#define LARGE_THP_MIN ((size_t)32 << 20)
enum { THP_DEFAULT, THP_ON, THP_OFF };

static void large_thp(struct _rz_block *b)
{
	int mode = _rz_caps.thp_mode;
	if (mode == RZ_THP_NONE)
		return;
	bool big = b->size >= LARGE_THP_MIN;
	bool want = big && (_rz_opt.thp == RZ_THP_OPT_ON ||
	    (_rz_opt.thp == RZ_THP_OPT_AUTO && !_rz_vm_huge_faults_slow()));
	/* Small blocks refuse where the kernel would give them huge pages
	 * anyway; big ones not asking keep the kernel's choice. */
	bool refuse = !big && (b->thp == THP_ON || mode == RZ_THP_ALWAYS);
	if (want && b->thp != THP_ON) {
		_rz_vm_hugepage((void *)b->addr, b->reserved, true);
		b->thp = THP_ON;
	} else if (refuse && b->thp != THP_OFF) {
		_rz_vm_hugepage((void *)b->addr, b->reserved, false);
		b->thp = THP_OFF;
	} else if (big && !want && b->thp == THP_OFF) {
		/* Grown past the size: back to the kernel's default (a block
		 * refused as small under "always" may now have huge pages). */
		_rz_vm_hugepage((void *)b->addr, b->reserved, mode == RZ_THP_ALWAYS);
		b->thp = THP_DEFAULT;
	}
}

/*
 * Touched pages past a block's end (kept by a shrink, or brought along
 * from a cached mapping) make regrowth free of page faults; they go back
 * to the OS REZONE_CACHE_DECAY_MS after they appeared if the block has not
 * grown over them by then (decay.c calls _rz_large_decay_excess). The
 * count of such blocks tells the decay thread whether to look.
 */
static size_t large_excess_blocks;

static void large_note_excess(struct _rz_block *b)
{
	bool has = b->dirty > b->size;
	if (has && !b->excess_ns) {
		b->excess_ns = _rz_os_now_ns();
		__atomic_fetch_add(&large_excess_blocks, 1, __ATOMIC_RELAXED);
		large_kick_later();
	} else if (!has && b->excess_ns) {
		b->excess_ns = 0;
		__atomic_fetch_sub(&large_excess_blocks, 1, __ATOMIC_RELAXED);
	}
}

/* The block leaves the table: it no longer counts. */
static void large_forget_excess(const struct _rz_block *b)
{
	if (b->excess_ns)
		__atomic_fetch_sub(&large_excess_blocks, 1, __ATOMIC_RELAXED);
}

/* Returns [p, p+len)'s pages. Under strict commit that maps the range
 * anew (PROT_NONE), which drops its huge-page advice: *thp forgets it. */
static int large_decommit(void *p, size_t len, uint32_t *thp)
{
	int err = _rz_vm_decommit(p, len);
	if (!large_commit_is_free())
		*thp = THP_DEFAULT;
	return err;
}

static size_t large_map_align(size_t reserved, size_t align)
{
	size_t a = _rz_caps.page_size;
	/* Equal offsets within 2 MiB let the kernel move page-table pages. */
	if (_rz_caps.move_align && reserved >= _rz_caps.move_align)
		a = _rz_caps.move_align;
	return align > a ? align : a;
}

int _rz_large_init(void)
{
	_rz_cache_init();
	_rz_meta_init();
	return _rz_table_init();
}

/* ---- mappings ------------------------------------------------------------- */

/* A range just became rezone's. */
static void large_adopt(uintptr_t addr, size_t len)
{
	_rz_grave_forget(addr, len);
	_rz_pagemap_set(addr, len);
	_rz_budget_track((intptr_t)len);
}

/* Returns a range to the OS (all or the tail of a mapping). */
/* munmap fails (ENOMEM) where it must split a mapping the kernel merged
 * with a neighbour and the process is at vm.max_map_count: the range then
 * stays mapped, lost to the program as under glibc, but its pages go
 * back (8 MiB freed with the map count full: RSS stayed, 18,712 -> 18,804
 * KiB). */
static void large_return(uintptr_t addr, size_t len)
{
	_rz_pagemap_clear(addr, len);
	if (_rz_vm_unmap((void *)addr, len) != 0)
		(void)_rz_vm_decommit((void *)addr, len);
	_rz_budget_track(-(intptr_t)len);
}

/* Strict commit: opens [addr+open, addr+n) beside the open part of the
 * reservation [addr, addr+*reserved), growing the open mapping itself
 * (backend/os.h, _rz_vm_commit_grow): after a move, pages opened beside
 * the moved mapping with mprotect were a second mapping, and a move that
 * must also resize (under RLIMIT_AS) then failed with EFAULT and copied:
 * 10 MiB -> 100 MiB -> 120 MiB -> 500 MiB under 560 MiB of limit failed
 * where glibc succeeds. The range leaves the page map while the backend
 * hands it back for an instant. Should another mapping take it meanwhile,
 * the reservation ends at open (*reserved, and *dirty if past it). */
static int large_open_more(uintptr_t addr, size_t *reserved, size_t *dirty, size_t open,
    size_t n)
{
	_rz_pagemap_clear(addr + open, n - open);
	int err = _rz_vm_commit_grow((void *)addr, open, n, *reserved);
	if (err == EEXIST) {
		_rz_pagemap_clear(addr + n, *reserved - n);
		_rz_budget_track(-(intptr_t)(*reserved - open));
		*reserved = open;
		if (*dirty > open)
			*dirty = open;
		return ENOMEM;
	}
	_rz_pagemap_set(addr + open, n - open);
	return err;
}

/* Opens [size, n) of a live block (strict commit), whose open part is
 * [0, size). A block that never moved is one mapping from one mmap, and
 * mprotect's pages merge with it. A moved one grows its mapping where a
 * second mapping would stop a move: always before Linux 6.17 (a move of
 * several mappings copies), and under RLIMIT_AS (only a move the kernel
 * places, and resizes, fits). Elsewhere mprotect, one call where growing
 * takes two: grow1 with REZONE_STRICT_COMMIT=1 took 7.2-11.3 ms inside
 * realloc with mprotect, 14.9-21.5 ms growing every moved block (5 runs
 * each, interleaved). Blocks the program protected are several mappings
 * anyway. */
static bool large_moved_stays_one(void)
{
	return !_rz_vm_moves_split() || _rz_budget_as_limited();
}

static int large_open_block(struct _rz_block *b, size_t n)
{
	if ((b->flags & (RZ_BLOCK_MOVED | RZ_BLOCK_PROTECTED)) != RZ_BLOCK_MOVED ||
	    !large_moved_stays_one())
		return _rz_vm_commit((void *)(b->addr + b->size), n - b->size);
	return large_open_more(b->addr, &b->reserved, &b->dirty, b->size, n);
}

static void large_unmap(uintptr_t addr, size_t reserved)
{
	large_return(addr, reserved);
	_rz_grave_add(addr);
}

void _rz_large_unmap_cached(const struct _rz_cached *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		large_unmap(c[i].addr, c[i].reserved);
}

/* A fresh mapping of `reserved` bytes whose first size bytes are open. */
static int large_map(size_t size, size_t reserved, size_t align, uintptr_t *out)
{
	void *p;
	bool writable = large_commit_is_free();
	size_t a = large_map_align(reserved, align);
	int err = _rz_vm_map(reserved, a, writable, &p);
	/* The move alignment is a preference, mapped as size + 2 MiB and
	 * trimmed: under a limit that over-map can be refused where the
	 * block fits (a 4 MiB malloc with 4 MiB + 64 KiB left under a limit
	 * went to the delegate). The block's own alignment is not. */
	size_t must = align > _rz_caps.page_size ? align : _rz_caps.page_size;
	if (err == ENOMEM && a > must)
		err = _rz_vm_map(reserved, must, writable, &p);
	if (err)
		return err;
	if (!writable && (err = _rz_vm_commit(p, size)) != 0) {
		_rz_vm_unmap(p, reserved);
		return err;
	}
	if (_rz_opt.name_mappings)
		_rz_vm_name(p, reserved);
	large_adopt((uintptr_t)p, reserved);
	*out = (uintptr_t)p;
	return 0;
}

/* Maps a block of n bytes: with the headroom asked for, else plain
 * headroom, else none, so that headroom never makes a request fail. */
static int large_map_any(size_t n, size_t want, size_t align, uintptr_t *out, size_t *got)
{
	size_t bare = n + large_guard_gap();
	size_t plain = _rz_budget_reserve(n, 0);
	size_t tries[3] = { want, plain < want ? plain : bare, bare };
	int err = ENOMEM;
	for (size_t i = 0; i < 3; i++) {
		if (i > 0 && tries[i] >= tries[i - 1])
			continue;
		if ((err = large_map(n, tries[i], align, out)) == 0) {
			*got = tries[i];
			return 0;
		}
	}
	return err;
}

/* Readies a cached mapping for a block of size bytes; returns its dirty
 * extent in *dirty. Dirty pages past the new size are kept: reusing them
 * is what the cache is for (dropping them cost a madvise and a page fault
 * per page on every reuse: 3-7x slower than jemalloc on 64 KiB-2 MiB
 * churn). Strict commit keeps exactly size bytes open. No lock held. */
static int large_reuse(struct _rz_cached *c, size_t size, bool zero,
    size_t *dirty)
{
	void *p = (void *)c->addr;
	*dirty = c->dirty;
	if (size > c->dirty && !large_commit_is_free()) {
		int err = c->dirty && (c->flags & RZ_BLOCK_MOVED) && large_moved_stays_one() ?
		    large_open_more(c->addr, &c->reserved, &c->dirty, c->dirty, size) :
		    _rz_vm_commit((char *)p + c->dirty, size - c->dirty);
		if (err)
			return err;
	}
	if (c->dirty > size && !large_commit_is_free() &&
	    large_decommit((char *)p + size, c->dirty - size, &c->thp) == 0)
		*dirty = size;
	if (zero)
		memset(p, 0, c->dirty < size ? c->dirty : size);
	return 0;
}

/* Touched pages a shrink may leave behind the new end (see large_shrink). */
#define SHRINK_KEEP_DIRTY ((size_t)4 << 20)

/*
 * A block that took a cached mapping keeps the pages the mapping had
 * touched past its end (large_reuse), for its own growth; a shrink keeps
 * up to SHRINK_KEEP_DIRTY. Both go back after the decay time. A growing
 * buffer (grows > 0: it came in by realloc or outgrew a reservation) also
 * gives them back before any new mapping is made: the process needs more
 * memory, and the buffer stopped short of them. A sqlite3 run
 * (bench/real/build.sql) kept a 10 MiB string in a freed 32 MiB sort
 * buffer's mapping while it mapped three 8 MiB copies, and peaked at
 * 69.4 MiB of RSS against glibc's 57.4; 62.0 now. Blocks malloc'd at
 * their size keep theirs: freed, the pages go back to the cache with the
 * mapping and serve the next request; taking them made large churn (20
 * live blocks of 5-25 MiB, 22 new mappings in 320 operations) fault 17%
 * more pages and run 25% longer. Vector churn maps nothing new once its
 * mapping is cached. The walk visits every live block: it runs for at most
 * one new mapping in EXCESS_WALK_EVERY per live block (with 60,000 live
 * blocks, a new mapping pays for ~1 record on average, not 60,000).
 */
#define EXCESS_WALK_EVERY 64
static size_t large_maps_since_walk;

static bool large_return_growers_excess(struct _rz_block *b, void *arg)
{
	(void)arg;
	if (b->dirty <= b->size || b->grows == 0)
		return false;
	if (large_decommit((void *)(b->addr + b->size), b->dirty - b->size, &b->thp) == 0)
		b->dirty = b->size;
	large_note_excess(b);
	large_thp(b);
	return true;
}

/* Walks every live block with fn if blocks hold pages past their end, at
 * most once per EXCESS_WALK_EVERY new mappings per live block; quiet: the
 * walk's end starts no thread (inside the delegate's mmap). */
static void large_walk_excess(bool (*fn)(struct _rz_block *, void *), void *arg, bool quiet)
{
	if (!_rz_large_excess_pending())
		return;
	size_t maps = __atomic_add_fetch(&large_maps_since_walk, 1, __ATOMIC_RELAXED);
	if (maps * EXCESS_WALK_EVERY < _rz_table_count())
		return;
	__atomic_store_n(&large_maps_since_walk, 0, __ATOMIC_RELAXED);
	large_op_begin();
	_rz_table_each_locked(fn, arg);
	if (quiet)
		large_op_end_quiet();
	else
		large_op_end();
}

static void large_before_new_mapping(void)
{
	large_walk_excess(large_return_growers_excess, NULL, false);
}

static void *large_alloc(size_t size, size_t align, bool zero, uint32_t grows,
    bool cached_only);

void *_rz_large_alloc_growing(size_t size, size_t align, bool zero, uint32_t grows)
{
	return large_alloc(size, align, zero, grows, false);
}

void *_rz_large_alloc_cached(size_t size, uint32_t grows)
{
	return large_alloc(size, 0, false, grows, true);
}

static void *large_alloc_by_growing(size_t n, uint32_t grows);

static void *large_alloc(size_t size, size_t align, bool zero, uint32_t grows,
    bool cached_only)
{
	size_t n = page_round(size);
	if (n == 0 || n + large_guard_gap() < n) {
		errno = ENOMEM;
		return NULL;
	}
	struct _rz_block b = { .size = n, .dirty = n, .grows = grows };
	if (align > _rz_caps.page_size)
		b.align_log = (uint32_t)__builtin_ctzl(align);
	_rz_decay_poll();

	struct _rz_cached c;
	int err;
	if (_rz_cache_take(n + large_guard_gap(), align ? align : _rz_caps.page_size, &c)) {
		_rz_vm_reuse((void *)c.addr, c.dirty);
		if (large_reuse(&c, n, zero, &b.dirty) != 0) {
			large_unmap(c.addr, c.reserved);
		} else {
			b.addr = c.addr;
			b.reserved = c.reserved;
			b.thp = c.thp;
			if (c.dirty)
				b.flags = c.flags & RZ_BLOCK_MOVED;
			RZ_STAT_ADD(cache_hits, 1);
		}
	}
	if (!b.addr && cached_only)
		return NULL;
	if (!b.addr && !zero && b.align_log == 0) {
		void *p = large_alloc_by_growing(n, grows);
		if (p)
			return p;
	}
	if (!b.addr) {
		int saved_errno = errno;
		large_before_new_mapping();
		_rz_budget_refresh();
		err = large_map_any(n, _rz_budget_reserve(n, grows), align, &b.addr, &b.reserved);
		if (err) {
			/* The malloc family fails with ENOMEM only (C, POSIX):
			 * a mapping over RLIMIT_MEMLOCK under mlockall says
			 * EAGAIN, and realloc passed it on. */
			errno = ENOMEM;
			return NULL;
		}
		errno = saved_errno; /* success: no trace of failed attempts */
	}
	large_thp(&b);
	large_note_excess(&b);
	if ((err = _rz_table_insert(&b)) != 0) {
		large_forget_excess(&b);
		large_unmap(b.addr, b.reserved);
		errno = ENOMEM;
		return NULL;
	}
	RZ_STAT_ADD(large_allocs, 1);
	RZ_STAT_ADD(large_live, 1);
	_rz_stat_live_bytes_add(n);
	large_kick_if_wanted();
	return (void *)b.addr;
}

/* A block left the table: its mapping goes to the cache or the OS. */
/*
 * A request no cached mapping can hold, from a program whose blocks grow
 * by being copied into bigger ones (new = malloc(1.5 x), copy, free(old):
 * grep's line buffer) met a cache of the smaller ones freed before, all
 * resident, beside every fresh mapping: grep -c on a 100 MB line peaked at
 * 322 MB against glibc's 197. The cached mapping with the most touched
 * pages (at least a quarter of the request) becomes the block instead,
 * grown to size by the resize path (in place, or its pages moved): its
 * pages are reused rather than kept beside new ones. Not for zeroed or
 * aligned requests, in guard mode, or where pages cannot move (Mach: the
 * resize would copy); a failed resize frees the block and maps afresh.
 * Measured, 7 interleaved pairs against the build before, wall:
 * largechurn 1.027 [0.895-1.225], lchurn 0.983 [0.971-1.004], lrealloc2
 * 1.043 [0.913-1.094], vector1m 0.982 [0.738-1.005], vector64k 1.016
 * [0.861-1.144]: no difference.
 */
static void *large_alloc_by_growing(size_t n, uint32_t grows)
{
	/* The resize may itself map (a move's copy fallback): not again. */
	static RZ_THREAD_LOCAL bool inside;
	if (inside || !_rz_caps.can_move || _rz_opt.guard)
		return NULL;
	size_t reserved = _rz_cache_most_touched(n / 4);
	if (reserved == 0 || reserved >= n)
		return NULL;
	void *p = large_alloc(reserved, 0, false, grows, true);
	if (!p)
		return NULL;
	int saved_errno = errno;
	inside = true;
	void *q = _rz_large_resize(p, n, "malloc");
	inside = false;
	if (!q) {
		_rz_large_free(p, "malloc");
		errno = saved_errno;
	}
	return q;
}

static void large_release(const struct _rz_block *b, bool cacheable)
{
	struct _rz_cached c = {
		.addr = b->addr, .reserved = b->reserved,
		.dirty = b->dirty > b->size ? b->dirty : b->size,
		.freed_ns = _rz_os_now_ns(), .thp = b->thp,
		.flags = b->flags & RZ_BLOCK_MOVED,
	};
	RZ_STAT_ADD(large_frees, 1);
	RZ_STAT_SUB(large_live, 1);
	RZ_STAT_SUB(large_live_bytes, b->size);
	large_forget_excess(b);
	if (_rz_opt.guard) {
		/* Poison: a use after free faults (strict commit makes the
		 * decommitted range inaccessible). */
		if (large_decommit((void *)c.addr, c.dirty, &c.thp) == 0) {
			c.dirty = 0;
			c.flags = 0; /* a fresh mapping over the open part */
		}
	}
	struct _rz_cached out[RZ_CACHE_MAX];
	size_t n = 0;
	/* The program's protection would stay on the cached pages and fault
	 * the next block there: unmapped, as glibc unmaps its chunks. */
	if (b->flags & RZ_BLOCK_PROTECTED)
		cacheable = false;
	/* Under RLIMIT_AS or RLIMIT_DATA the cache's address space counts
	 * against the program's own mmaps and thread stacks, which cannot
	 * reclaim it as a failing malloc does: 4 x 32 MiB freed under 140 MiB
	 * of limit beyond use, then mmap(64 MiB) failed, where glibc unmaps
	 * its chunks. There it holds no more than the headroom budget. */
	size_t max_reserved = _rz_budget_limited() ? _rz_budget_limit() : SIZE_MAX;
	if (!cacheable || _rz_opt.cache_bytes == 0 || !_rz_cache_put(&c, out, &n, max_reserved)) {
		large_unmap(c.addr, c.reserved);
		return;
	}
	/* Cached pages leave the footprint until reused (macOS). */
	_rz_vm_reusable((void *)c.addr, c.dirty);
	_rz_large_unmap_cached(out, n);
	large_kick_later();
}

/* A free stays outside the fork gate (src/README.md, "The fast lane"):
 * its block leaves the table before any system call, so a child forked
 * meanwhile inherits at worst a mapping that is neither a block nor
 * cached (leaked in the child), never a block halfway changed. */
bool _rz_large_free_if_live(void *p)
{
	struct _rz_block b;
	struct _rz_rec *r = _rz_table_acquire((uintptr_t)p, &b);
	if (!r)
		return false;
	_rz_table_remove(r);
	large_release(&b, true);
	large_kick_if_wanted();
	return true;
}

void _rz_large_free(void *p, const char *call)
{
	if (!_rz_large_free_if_live(p)) {
		/* Another thread freed it between the caller's lookup and now. */
		_rz_diag_misuse(call, p, "double free of a large block");
	}
}

/* Shrinks in place: pages past the new end go back to the OS, and a
 * reservation far bigger than the block needs is trimmed. Where the
 * platform lets it (shrink_keeps_pages), a shrink that leaves at most
 * 4 MiB of touched pages behind keeps them until the decay time instead:
 * a block resized up and down at random (256 KiB-4 MiB) paid a madvise
 * and then a page fault per page on every regrowth, 25x jemalloc's page
 * faults and 30x its time (jemalloc keeps them in its dirty extents).
 * Block locked. */
static void large_shrink(struct _rz_block *b, size_t n)
{
	/* Pages the program protected become headroom that a later growth
	 * reuses (glibc's mremap would unmap them): read+write again, or,
	 * where commit is charged, as headroom is (the decommit below). */
	if ((b->flags & RZ_BLOCK_PROTECTED) && large_commit_is_free())
		(void)_rz_vm_commit((void *)(b->addr + n), b->size - n);
	size_t touched = b->dirty > b->size ? b->dirty : b->size;
	if (touched - n > SHRINK_KEEP_DIRTY || !_rz_caps.shrink_keeps_pages ||
	    !large_commit_is_free() || _rz_opt.guard)
		/* If the pages cannot be returned, they stay counted as touched. */
		b->dirty = large_decommit((void *)(b->addr + n), touched - n, &b->thp) == 0 ? n : touched;
	else
		b->dirty = touched;
	size_t keep = _rz_budget_wanted(n, b->grows);
	if (b->reserved / 4 > keep && b->align_log == 0) {
		size_t a = _rz_caps.move_align ? _rz_caps.move_align : _rz_caps.page_size;
		keep = keep > (size_t)-1 - a ? keep : (keep + a - 1) & ~(a - 1);
		if (keep < b->reserved) {
			large_return(b->addr + keep, b->reserved - keep);
			b->reserved = keep;
			/* Touched pages kept past the end went with the tail: a
			 * later decommit of [size, dirty) must stay inside. */
			if (b->dirty > keep)
				b->dirty = keep;
		}
	}
	RZ_STAT_SUB(large_live_bytes, b->size - n);
	b->size = n;
	large_thp(b);
	large_note_excess(b);
	RZ_STAT_ADD(shrinks, 1);
}

/* Grows without moving; 0, or ENOMEM when only a move would do. Block
 * locked; *b may have a bigger reservation even on failure. */
static int large_grow_in_place(struct _rz_block *b, size_t n)
{
	size_t old = b->size;
	if (n + large_guard_gap() <= b->reserved) {
		if (!large_commit_is_free()) {
			int err = large_open_block(b, n);
			if (err)
				return err;
		}
		RZ_STAT_ADD(grow_reserved, 1);
	} else {
		if (!_rz_caps.can_extend)
			return ENOMEM;
		_rz_budget_refresh();
		size_t r = _rz_budget_reserve(n, b->grows + 1);
		/* The neighbour may leave room for the block but not for its new
		 * headroom (first-fit placement on Mach packs mappings): then
		 * extend by exactly what is needed. */
		if (_rz_vm_extend((void *)b->addr, b->reserved, r) != 0) {
			/* Where pages can move, a move to a full reservation beats
			 * a small extension (grow8: 209 extensions of ~20 us each
			 * against 7 moves). Where they cannot (Mach), settle for
			 * plain headroom, then exactly what is needed, before
			 * copying: first-fit placement leaves small gaps. */
			if (_rz_caps.can_move)
				return ENOMEM;
			size_t plain = _rz_budget_reserve(n, 0);
			if (plain < r && _rz_vm_extend((void *)b->addr, b->reserved, plain) == 0) {
				r = plain;
			} else {
				r = n + large_guard_gap();
				if (_rz_vm_extend((void *)b->addr, b->reserved, r) != 0)
					return ENOMEM;
			}
		}
		large_adopt(b->addr + b->reserved, r - b->reserved);
		b->reserved = r;
		b->grows++;
		/* Under strict commit the extension (and the old headroom) are
		 * not accessible yet: open exactly the block's new bytes. */
		if (!large_commit_is_free() && large_open_block(b, n) != 0)
			return ENOMEM;
		RZ_STAT_ADD(grow_in_place, 1);
	}
	b->size = n;
	large_thp(b);
	large_note_excess(b);
	RZ_STAT_ADD(bytes_not_copied, old);
	_rz_stat_live_bytes_add(n - old);
	return 0;
}

/* Moves the mapping without copying, to a new place with headroom (else
 * plain headroom, else none). Block locked; on success the old record is
 * gone (unlocked) and *b describes the new block.
 * A block aligned beyond a page (memalign) moves to a place aligned as it
 * was; it was copied before, which needs old + new: 10 MiB aligned to
 * 64 KiB grown to 20 MiB under 23 MiB of RLIMIT_AS or RLIMIT_DATA beyond
 * use failed where glibc's realloc (one mremap) succeeds. When only the
 * kernel's choice of place fits (vm_linux.c, move anywhere), the block
 * keeps its bytes and loses the alignment, which realloc never promised
 * (glibc's mremap loses it too). */
static int large_move(struct _rz_rec *rec, struct _rz_block *b, size_t n)
{
	if (!_rz_caps.can_move)
		return ENOTSUP;
	size_t align = b->align_log ? (size_t)1 << b->align_log : 0;
	_rz_budget_refresh();
	size_t want = _rz_budget_reserve(n, b->grows + 1);
	size_t plain = _rz_budget_reserve(n, 0), bare = n + large_guard_gap();
	size_t tries[3] = { want, plain < want ? plain : bare, bare };
	/* Room for the new record wherever it lands (table.c, "Moves"). */
	if (!_rz_table_move_begin())
		return ENOMEM;
	/* The old range stops being rezone's before the kernel can hand it
	 * to anyone else (mremap frees it). */
	_rz_pagemap_clear(b->addr, b->reserved);
	/* So is its record: a new block mapped there must not find this
	 * one (tests/unit/test_table.c, a move's old address reused). */
	_rz_table_hide(rec);
	void *q = NULL;
	size_t r = 0;
	int err = ENOMEM;
	for (size_t i = 0; i < 3; i++) {
		if (i > 0 && tries[i] >= tries[i - 1])
			continue;
		r = tries[i];
		err = _rz_vm_move((void *)b->addr, b->reserved, b->size, n, r, align, &q);
		if (err != ENOMEM)
			break;
	}
	if (err) {
		_rz_table_move_end();
		_rz_table_unhide(rec, b->addr);
		_rz_pagemap_set(b->addr, b->reserved);
		return err;
	}
	_rz_grave_add(b->addr); /* a free of the old address is a double free */
	_rz_budget_track(-(intptr_t)b->reserved);
	large_adopt((uintptr_t)q, r);
	if (_rz_opt.name_mappings)
		_rz_vm_name(q, r);
	_rz_stat_live_bytes_add(n - b->size);
	RZ_STAT_ADD(bytes_not_copied, b->size);
	struct _rz_block moved = *b;
	moved.addr = (uintptr_t)q;
	moved.size = n;
	moved.reserved = r;
	moved.dirty = n;
	moved.excess_ns = 0;
	large_forget_excess(b);
	moved.grows++;
	if (align && (uintptr_t)q % align != 0)
		moved.align_log = 0;
	/* Under strict commit only the used part moved; the rest of the new
	 * reservation is a fresh mapping without the advice. */
	if (!large_commit_is_free()) {
		moved.thp = THP_DEFAULT;
		moved.flags |= RZ_BLOCK_MOVED;
	}
	large_thp(&moved);
	/* New record first, then drop the old one: the block is never
	 * missing from the table. */
	/* Its pages are at q already: without a record the block would be
	 * freed into the delegate later, which corrupts it. The room was
	 * made sure of above, so this cannot fail; if it did, say so. */
	if (_rz_table_insert_moved(&moved) != 0)
		_rz_diag_misuse("realloc", q, "no room to record a moved block");
	_rz_table_move_end();
	_rz_table_remove_hidden(rec, b->addr);
	*b = moved;
	RZ_STAT_ADD(grow_moved, 1);
	return 0;
}

static void *large_resize_locked(struct _rz_rec *r, struct _rz_block *bp, void *p,
    size_t size);

void *_rz_large_resize(void *p, size_t size, const char *call)
{
	struct _rz_block b;
	/* A mapping refused on the way to a success (a move, then a copy
	 * with headroom, then without) leaves ENOMEM in errno: a resize that
	 * succeeds leaves errno as its caller had it (1 MiB to 4 GiB and to
	 * 12 GiB returned the block with errno ENOMEM). */
	int caller = errno;
	large_op_begin();
	struct _rz_rec *r = _rz_table_acquire((uintptr_t)p, &b);
	if (!r)
		_rz_diag_misuse(call, p, "pointer is not a live large block");
	void *q = large_resize_locked(r, &b, p, size);
	int saved = errno;
	large_op_end();
	errno = q ? caller : saved;
	return q;
}

/* Whether the huge-page state of a block growing to n bytes changes
 * (large_thp's answer depends on the size only through LARGE_THP_MIN). */
static bool large_thp_changes(const struct _rz_block *b, size_t n)
{
	return _rz_caps.thp_mode != RZ_THP_NONE &&
	    (b->size >= LARGE_THP_MIN) != (n >= LARGE_THP_MIN);
}

/* The fast lane (src/README.md): a resize that makes no system call, done
 * on the locked record without the fork gate: no change, or growth inside
 * the reservation with commit free and no huge-page change. false: it
 * needs the full path. */
static bool large_resize_quick(struct _rz_block *b, size_t size)
{
	size_t n = page_round(size);
	if (n == b->size)
		return true;
	if (n < b->size || n + large_guard_gap() > b->reserved || !large_commit_is_free() ||
	    large_thp_changes(b, n))
		return false; /* also n == 0: too big to round */
	return large_grow_in_place(b, n) == 0; /* the reservation's branch */
}

enum _rz_resize_outcome _rz_large_realloc(void *p, size_t size, size_t small_below,
    void **out, size_t *old_size)
{
	struct _rz_block b;
	struct _rz_rec *r = _rz_table_acquire((uintptr_t)p, &b);
	if (!r)
		return RZ_RESIZE_NOT_LIVE;
	if (size < b.size && size < small_below) {
		_rz_table_release(r, NULL);
		*old_size = b.size;
		return RZ_RESIZE_TO_SMALL;
	}
	if (large_resize_quick(&b, size)) {
		_rz_table_release(r, &b);
		*out = p;
		return RZ_RESIZE_DONE;
	}
	/* A system call ahead: the full path enters the fork gate before it
	 * takes the record again, the one order every operation keeps (a
	 * thread waiting at a closed gate must hold no record another
	 * operation in flight could be waiting for). */
	_rz_table_release(r, NULL);
	*out = _rz_large_resize(p, size, "realloc");
	return RZ_RESIZE_DONE;
}

/* The resize itself, with p's record r locked (and *bp read from it);
 * r is unlocked on return. */
static void *large_resize_locked(struct _rz_rec *r, struct _rz_block *bp, void *p,
    size_t size)
{
	struct _rz_block b = *bp;
	size_t n = page_round(size);
	if (n == 0 || n + large_guard_gap() < n) {
		_rz_table_release(r, NULL);
		errno = ENOMEM;
		return NULL;
	}
	if (n <= b.size) {
		if (n < b.size)
			large_shrink(&b, n);
		_rz_table_release(r, &b);
		return p;
	}
	int err = large_grow_in_place(&b, n);
	if (err == 0) {
		_rz_table_release(r, &b);
		return p;
	}
	if (large_move(r, &b, n) == 0)
		return (void *)b.addr;
	_rz_table_release(r, &b);
	/* Whatever stopped the move (ENOTSUP, ENOMEM, EFAULT over split
	 * mappings, EAGAIN on locked memory), copying may still work; if it
	 * does not, the caller sees ENOMEM (from _rz_large_alloc_growing) and keeps
	 * its block. */
	void *q = _rz_large_alloc_growing(size, b.align_log ? (size_t)1 << b.align_log : 0,
	    false, b.grows + 1);
	if (!q)
		return NULL;
	if (b.size < 2 * _rz_caps.move_align)
		_rz_vm_prefault(q, b.size); /* memcpy would fault every page */
	bool shared = _rz_vm_copy_shares(q, p, b.size);
	RZ_STAT_ADD(grow_copied, 1);
	RZ_STAT_ADD(bytes_copied, b.size);
	/* The new block was counted as an allocation; this is a growth. */
	RZ_STAT_SUB(large_allocs, 1);
	r = _rz_table_acquire((uintptr_t)p, &b);
	if (r) {
		_rz_table_remove(r);
		/* Where the copy was copy-on-write (vm_copy), caching the source
		 * would keep its pages shared, and the first write to either
		 * copy would fault and copy: return it. */
		large_release(&b, !shared);
		RZ_STAT_SUB(large_frees, 1);
	}
	return q;
}

void _rz_large_prefault(void *p, size_t n)
{
	struct _rz_block b;
	/* Only what is not touched yet: on a cache hit the pages are there,
	 * and populating them again walked 512 page-table entries per MiB
	 * (15% of vector churn's time). */
	if (_rz_table_find((uintptr_t)p, &b) && b.dirty < n)
		_rz_vm_prefault((char *)p + b.dirty, page_round(n) - b.dirty);
}

void *_rz_large_expand(void *p, size_t size)
{
	size_t n = page_round(size);
	struct _rz_block b;
	if (n == 0 || n + large_guard_gap() < n) {
		errno = ENOMEM;
		return NULL;
	}
	large_op_begin();
	struct _rz_rec *r = _rz_table_acquire((uintptr_t)p, &b);
	if (!r) {
		large_op_end();
		errno = EINVAL;
		return NULL;
	}
	int err = 0, caller = errno;
	if (n < b.size)
		large_shrink(&b, n);
	else if (n > b.size)
		err = large_grow_in_place(&b, n);
	_rz_table_release(r, &b);
	large_op_end();
	if (err) {
		errno = ENOMEM;
		return NULL;
	}
	errno = caller;
	return p;
}

/* The live block holding page a, if any: a itself, then up to 64 pages
 * back by exact lookups (a guard page near a block's end), then the scan
 * the misuse diagnostics use. */
static bool large_block_holding(uintptr_t a, struct _rz_block *b)
{
	size_t pg = _rz_caps.page_size;
	for (uintptr_t s = a, i = 0; i < 64 && s >= pg; i++, s -= pg)
		if (_rz_table_find(s, b))
			return a - s < b->reserved;
	return _rz_table_find_containing(a, b);
}

/* The block marked last: a runtime that protects pages of one big block
 * over and over (a collector's write barrier) finds it in one lookup. */
static uintptr_t large_protected_last;

void _rz_large_protected(uintptr_t addr, size_t len)
{
	size_t pg = _rz_caps.page_size;
	uintptr_t end = addr + len < addr ? UINTPTR_MAX : addr + len;
	uintptr_t a = addr & ~(uintptr_t)(pg - 1);
	while (a < end && (a = _rz_pagemap_next(a, end)) < end) {
		a &= ~(uintptr_t)(pg - 1);
		uintptr_t next = a + pg;
		struct _rz_block b;
		uintptr_t last = __atomic_load_n(&large_protected_last, __ATOMIC_RELAXED);
		if (last && last <= a && _rz_table_find(last, &b) && a - last < b.reserved &&
		    (b.flags & RZ_BLOCK_PROTECTED)) {
			next = last + b.reserved; /* marked already */
		} else if (large_block_holding(a, &b)) {
			struct _rz_rec *r = _rz_table_acquire(b.addr, &b);
			if (r) {
				b.flags |= RZ_BLOCK_PROTECTED;
				_rz_table_release(r, &b);
				__atomic_store_n(&large_protected_last, b.addr, __ATOMIC_RELAXED);
				if (b.addr + b.reserved > next)
					next = b.addr + b.reserved;
			}
		}
		if (next < a)
			break;
		a = next;
	}
}

void _rz_large_check_foreign(const void *p, const char *call)
{
	uintptr_t a = (uintptr_t)p;
	if (_rz_pagemap_has(a)) {
		/* Rezone's page but not a block start: misuse, or a race with a
		 * mapping being returned. Name it (slow, about to abort). */
		struct _rz_block b;
		struct _rz_cached c;
		const char *what = NULL;
		if (_rz_table_find_containing(a, &b))
			what = a < b.addr + b.size ? "pointer inside a large block"
			    : "pointer past the end of a large block";
		else if (_rz_cache_find_containing(a, &c))
			what = a == c.addr ? "double free of a large block"
			    : "pointer into a freed large block";
		if (what)
			_rz_diag_misuse(call, p, what);
	}
	if (_rz_grave_has(a) && !_rz_vm_is_mapped(p))
		_rz_diag_misuse(call, p, "double free of a large block");
	/* mincore for page-aligned pointers only (the delegate's unaligned
	 * ones sit in its mapped slabs; one system call per free is too much
	 * even for a checking mode). */
	if (_rz_opt.check_unknown && (a & (_rz_caps.page_size - 1)) == 0 && !_rz_vm_is_mapped(p))
		_rz_diag_misuse(call, p, "pointer was never allocated (nothing is mapped there)");
}

/* ---- memory pressure ------------------------------------------------------ */

size_t _rz_large_flush_cache(void)
{
	struct _rz_cached out[RZ_CACHE_MAX];
	uint64_t oldest;
	size_t bytes = 0, n;
	/* Puts may race with the flush; a few rounds catch them. */
	for (int round = 0; round < 4 && (n = _rz_cache_expire(UINT64_MAX, out, &oldest)); round++) {
		for (size_t i = 0; i < n; i++)
			bytes += out[i].reserved;
		_rz_large_unmap_cached(out, n);
	}
	return bytes;
}

/* A cached entry taken out keeps only its first `keep` touched bytes and
 * goes back with its age; false if that failed (the caller unmaps it). */
static bool large_shed_tail(struct _rz_cached *c, size_t keep)
{
	struct _rz_cached out[RZ_CACHE_MAX];
	size_t n = 0;
	size_t max_reserved = _rz_budget_limited() ? _rz_budget_limit() : SIZE_MAX;
	if (large_decommit((void *)(c->addr + keep), c->dirty - keep, &c->thp) != 0)
		return false;
	c->dirty = keep;
	if (!_rz_cache_put(c, out, &n, max_reserved))
		return false;
	_rz_large_unmap_cached(out, n);
	return true;
}

/* A live block's touched pages past its end give way, up to *arg bytes
 * (what the cache could not give). Its record is locked. */
static bool large_shed_excess_one(struct _rz_block *b, void *arg)
{
	size_t *need = arg;
	if (*need == 0 || b->dirty <= b->size)
		return false;
	size_t excess = b->dirty - b->size;
	size_t drop = excess <= *need ? excess : *need;
	if (large_decommit((void *)(b->addr + b->dirty - drop), drop, &b->thp) != 0)
		return false;
	b->dirty -= drop;
	*need -= drop;
	large_note_excess(b);
	large_thp(b);
	return true;
}

/* src/README.md, "Cached pages give way to other memory". */
void _rz_large_shed(size_t len)
{
	if (len == 0 || (_rz_cache_bytes() == 0 && !_rz_large_excess_pending()))
		return;
	size_t need = len > SIZE_MAX - _rz_caps.page_size ? SIZE_MAX : page_round(len);
	int saved = errno;
	struct _rz_cached c;
	while (need && _rz_cache_take_oldest_dirty(&c)) {
		size_t drop = c.dirty <= need ? c.dirty : need;
		need -= drop;
		if (drop < c.dirty && large_shed_tail(&c, c.dirty - drop))
			continue;
		RZ_STAT_ADD(cache_releases, 1);
		large_unmap(c.addr, c.reserved);
	}
	/* Then live blocks' pages past their end (a block that took a big
	 * cached mapping keeps its touched pages until the decay time), as
	 * before a new large mapping. Not from inside an operation of this
	 * thread's (a signal handler's mmap). */
	if (need && large_my_ops == 0)
		large_walk_excess(large_shed_excess_one, &need, true);
	errno = saved;
}

/* Trims one live block's reservation to its size (plus the guard gap).
 * Its record is locked. */
static bool large_trim_one(struct _rz_block *b, void *arg)
{
	size_t *released = arg;
	size_t keep = b->size + large_guard_gap();
	if (b->reserved <= keep)
		return false;
	large_return(b->addr + keep, b->reserved - keep);
	*released += b->reserved - keep;
	b->reserved = keep;
	if (b->dirty > b->size)
		b->dirty = b->size;
	large_note_excess(b);
	return true;
}

/* Returns the touched pages past a block's end that have been there since
 * before cutoff_ns. Its record is locked. */
static bool large_decay_one(struct _rz_block *b, void *arg)
{
	uint64_t cutoff = *(const uint64_t *)arg;
	if (!b->excess_ns || b->excess_ns >= cutoff)
		return false;
	if (b->dirty > b->size &&
	    large_decommit((void *)(b->addr + b->size), b->dirty - b->size, &b->thp) == 0)
		b->dirty = b->size;
	large_note_excess(b);
	large_thp(b);
	return true;
}

bool _rz_large_excess_pending(void)
{
	return __atomic_load_n(&large_excess_blocks, __ATOMIC_RELAXED) != 0;
}

void _rz_large_decay_excess(uint64_t cutoff_ns)
{
	if (!_rz_large_excess_pending())
		return;
	large_op_begin();
	_rz_table_each_locked(large_decay_one, &cutoff_ns);
	large_op_end();
}

size_t _rz_large_reclaim(void)
{
	size_t released = _rz_large_flush_cache();
	large_op_begin();
	_rz_table_each_locked(large_trim_one, &released);
	large_op_end_quiet(); /* also reached from the delegate's mmap */
	return released;
}

void _rz_large_lock_memory(bool current, bool future)
{
	/* mlockall(MCL_FUTURE) locks every new mapping in full, headroom
	 * included (a 300 KiB block grown to 2.4 MiB had 20 MiB locked and
	 * resident), and the kernel counts even PROT_NONE mappings against
	 * RLIMIT_MEMLOCK. So while it holds, blocks get no headroom: they
	 * grow by mremap, as under glibc. */
	_rz_budget_set_locked(future);
	/* MCL_CURRENT locks what is mapped now: give back headroom first. */
	if (current)
		_rz_large_reclaim();
}

bool _rz_large_locked(void)
{
	return _rz_table_locked() || _rz_cache_locked();
}

void _rz_large_prefork(void)
{
	__atomic_store_n(&large_forking, true, __ATOMIC_SEQ_CST);
	uintptr_t me = large_self();
	for (unsigned i = 0; i < OP_SLOTS; i++) {
		uintptr_t o;
		while ((o = __atomic_load_n(&large_op_slots[i].owner, __ATOMIC_SEQ_CST)) != 0 &&
		    o != me)
			_rz_os_yield();
	}
	_rz_table_prefork();
	_rz_cache_prefork();
}

void _rz_large_postfork_parent(void)
{
	_rz_cache_postfork_parent();
	_rz_table_postfork_parent();
	__atomic_store_n(&large_forking, false, __ATOMIC_RELEASE);
}

static void large_count_excess(const struct _rz_block *b, void *arg)
{
	if (b->excess_ns)
		(*(size_t *)arg)++;
}

void _rz_large_postfork_child(void)
{
	/* Only this thread exists; it may be inside an operation a signal
	 * handler interrupted, which will end here. */
	uintptr_t me = large_self();
	for (unsigned i = 0; i < OP_SLOTS; i++)
		if (__atomic_load_n(&large_op_slots[i].owner, __ATOMIC_RELAXED) != me)
			__atomic_store_n(&large_op_slots[i].owner, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&large_forking, false, __ATOMIC_RELEASE);
	_rz_cache_postfork_child();
	_rz_table_postfork_child();
	_rz_pagemap_postfork_child();
	_rz_decay_postfork_child();
	/* A free or a lock-only growth runs outside the gate, and each changes
	 * the count of blocks with kept pages apart from the block's record:
	 * a fork between the two left the child a count no record backs, and
	 * its decay thread scanning every block for life. Recount. */
	size_t excess = 0;
	_rz_table_each(large_count_excess, &excess);
	__atomic_store_n(&large_excess_blocks, excess, __ATOMIC_RELAXED);
}
