/*
 * large.c - the large engine: allocation, growth policy, shrink, free.
 *
 * Growth order (cheapest first):
 *   1. inside the block's reservation: no system call at all;
 *   2. extend the mapping in place when the next range is free;
 *   3. move the mapping without copying (page tables move, 2 MiB-aligned
 *      blocks move whole page-table pages);
 *   4. copy into a new mapping, only when the OS can do neither.
 * Each growth beyond the reservation multiplies the headroom of the next
 * one by 16 (up to 64 GiB; less when address space is limited), so a
 * buffer grown from 64 KiB to 1 GiB moves once or twice.
 *
 * Under strict commit (overcommit_memory=2) reservations are inaccessible
 * and pages are committed as the block grows, so unused headroom is never
 * charged; the invariant there is: bytes [addr, addr+size) are writable,
 * the rest of the reservation is not.
 * May include: large.h, table.h, cache.h, options.h, stats.h, diag.h,
 * backend/os.h, <errno.h>, <string.h>.
 */
#include <errno.h>
#include <string.h>

#include "engine/cache.h"
#include "engine/diag.h"
#include "engine/large.h"
#include "engine/options.h"
#include "engine/stats.h"

static _rz_mutex_t large_lock;

static size_t page_round(size_t n)
{
	size_t pg = _rz_caps.page_size;
	return n > (size_t)-1 - pg ? 0 : (n + pg - 1) & ~(pg - 1);
}

static size_t round_to(size_t n, size_t align)
{
	return n > (size_t)-1 - align ? n : (n + align - 1) & ~(align - 1);
}

/* Address space reserved for a block of n bytes that has outgrown its
 * reservation `grows` times: the headroom is multiplied by 16 at each
 * growth, up to 64 GiB. A block that keeps growing is a growing buffer,
 * untouched address space costs nothing, and every move costs 35-80 us
 * of system calls here (mmap ~10 us, mremap >= 23 us measured), so a
 * buffer grown from 64 KiB to 1 GiB should move once or twice, not
 * once per doubling. n on overflow. */
static size_t large_reserve_for(size_t n, uint32_t grows)
{
	size_t pct = _rz_opt.headroom_pct;
	/* Guard mode needs one inaccessible page after the headroom too, or a
	 * write past the end could land in a neighbouring mapping. */
	size_t gap = _rz_opt.guard ? _rz_caps.page_size : 0;
	if (n + gap < n)
		return n;
	if (pct == 0)
		return n + gap;
	unsigned boost = 4 * (grows < 3 ? grows : 3);
	size_t extra = n / 100 * pct + (n % 100) * pct / 100;
	/* Under an address-space limit (ulimit -v) every block's headroom
	 * counts against it: keep it to 1/64 of the limit. */
	const size_t cap = _rz_caps.va_limit ? _rz_caps.va_limit / 64 : (size_t)64 << 30;
	extra = extra > (cap >> boost) ? cap : extra << boost;
	size_t r = page_round(n + extra);
	if (r < n)
		return n;
	if (_rz_caps.move_align && r >= _rz_caps.move_align)
		r = round_to(r, _rz_caps.move_align);
	return r + gap < r ? r : r + gap;
}

/* Inaccessible bytes kept after every block in guard mode. */
static size_t large_guard_gap(void)
{
	return _rz_opt.guard ? _rz_caps.page_size : 0;
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
	_rz_mutex_init(&large_lock);
	_rz_mutex_lock(&large_lock);
	int err = _rz_table_init();
	_rz_mutex_unlock(&large_lock);
	return err;
}

/* Fresh mapping for a block of size bytes; under the lock. */
static int large_map(size_t size, size_t reserved, size_t align, uintptr_t *out)
{
	void *p;
	bool writable = _rz_caps.commit_is_free;
	int err = _rz_vm_map(reserved, large_map_align(reserved, align), writable, &p);
	if (err)
		return err;
	if (!writable && (err = _rz_vm_commit(p, size)) != 0) {
		_rz_vm_unmap(p, reserved);
		return err;
	}
	if (_rz_opt.name_mappings)
		_rz_vm_name(p, reserved);
	_rz_grave_forget((uintptr_t)p, reserved);
	_rz_span_mark((uintptr_t)p, reserved, +1);
	*out = (uintptr_t)p;
	return 0;
}

/* Readies a cached mapping for a block of size bytes; returns its dirty
 * extent in *dirty. Dirty pages past the new size are kept: reusing them
 * is what the cache is for (dropping them cost a madvise and a page fault
 * per page on every reuse: 3-7x slower than jemalloc on 64 KiB-2 MiB
 * churn). The cache never hands out a mapping with more than 4x the
 * request touched. Strict commit keeps exactly size bytes open. */
static int large_reuse(const struct _rz_cached *c, size_t size, bool zero,
    size_t *dirty)
{
	void *p = (void *)c->addr;
	*dirty = c->dirty;
	if (size > c->dirty && !_rz_caps.commit_is_free) {
		int err = _rz_vm_commit((char *)p + c->dirty, size - c->dirty);
		if (err)
			return err;
	}
	if (c->dirty > size && !_rz_caps.commit_is_free &&
	    _rz_vm_decommit((char *)p + size, c->dirty - size) == 0)
		*dirty = size;
	if (zero)
		memset(p, 0, c->dirty < size ? c->dirty : size);
	return 0;
}

static void large_unmap(uintptr_t addr, size_t reserved)
{
	_rz_span_mark(addr, reserved, -1);
	_rz_vm_unmap((void *)addr, reserved);
	_rz_grave_add(addr);
}

void *_rz_large_alloc(size_t size, size_t align, bool zero)
{
	return _rz_large_alloc_growing(size, align, zero, 0);
}

void *_rz_large_alloc_growing(size_t size, size_t align, bool zero, uint32_t grows)
{
	size_t n = page_round(size);
	size_t reserved = n ? large_reserve_for(n, grows) : 0;
	if (n == 0 || reserved == 0) {
		errno = ENOMEM;
		return NULL;
	}
	struct _rz_block b = { .size = n, .reserved = reserved, .dirty = n, .grows = grows };
	if (align > _rz_caps.page_size)
		b.align_log = (uint32_t)__builtin_ctzl(align);

	_rz_mutex_lock(&large_lock);
	uint64_t now = _rz_os_now_ns();
	_rz_cache_decay(now);
	struct _rz_cached c;
	int err;
	if (_rz_cache_take(n + large_guard_gap(), align ? align : _rz_caps.page_size, &c)) {
		err = large_reuse(&c, n, zero, &b.dirty);
		if (err) {
			large_unmap(c.addr, c.reserved);
		} else {
			b.addr = c.addr;
			b.reserved = c.reserved;
			RZ_STAT_ADD(cache_hits, 1);
		}
	}
	int saved_errno = errno;
	if (!b.addr && (err = large_map(n, reserved, align, &b.addr)) != 0) {
		/* Address space may be limited (RLIMIT_AS): try without headroom. */
		size_t bare = n + large_guard_gap();
		if (reserved == bare || (err = large_map(n, bare, align, &b.addr)) != 0) {
			_rz_mutex_unlock(&large_lock);
			errno = err;
			return NULL;
		}
		b.reserved = bare;
		errno = saved_errno; /* success: no trace of the first attempt */
	}
	if ((err = _rz_table_insert(&b)) != 0) {
		large_unmap(b.addr, b.reserved);
		_rz_mutex_unlock(&large_lock);
		errno = err;
		return NULL;
	}
	_rz_mutex_unlock(&large_lock);
	RZ_STAT_ADD(large_allocs, 1);
	RZ_STAT_ADD(large_live, 1);
	RZ_STAT_ADD(large_live_bytes, n);
	return (void *)b.addr;
}

/* Removes a live block; its mapping goes to the cache or the OS. Lock held. */
static void large_release_locked(const struct _rz_block *b)
{
	_rz_table_remove(b->addr);
	struct _rz_cached c = {
		.addr = b->addr, .reserved = b->reserved,
		.dirty = b->dirty > b->size ? b->dirty : b->size,
		.freed_ns = _rz_os_now_ns(),
	};
	if (_rz_opt.guard) {
		/* Poison: a use after free faults (strict commit makes the
		 * decommitted range inaccessible). */
		if (_rz_vm_decommit((void *)c.addr, c.dirty) == 0)
			c.dirty = 0;
	}
	_rz_cache_decay(c.freed_ns);
	if (_rz_opt.cache_bytes == 0 || !_rz_cache_put(&c))
		large_unmap(b->addr, b->reserved);
	RZ_STAT_ADD(large_frees, 1);
	RZ_STAT_SUB(large_live, 1);
	RZ_STAT_SUB(large_live_bytes, b->size);
}

void _rz_large_free(void *p, const char *call)
{
	struct _rz_block b;
	_rz_mutex_lock(&large_lock);
	if (!_rz_table_find((uintptr_t)p, &b)) {
		/* Another thread freed it between the caller's lookup and now. */
		_rz_mutex_unlock(&large_lock);
		_rz_diag_misuse(call, p, "double free of a large block");
	}
	large_release_locked(&b);
	_rz_mutex_unlock(&large_lock);
}

/* Shrinks in place: pages past the new end go back to the OS, and a
 * reservation far bigger than the block needs is trimmed. Lock held. */
static void large_shrink_locked(struct _rz_block *b, size_t n)
{
	size_t touched = b->dirty > b->size ? b->dirty : b->size;
	/* If the pages cannot be returned, they stay counted as touched. */
	b->dirty = _rz_vm_decommit((void *)(b->addr + n), touched - n) == 0 ? n : touched;
	size_t keep = large_reserve_for(n, b->grows);
	if (keep && b->reserved / 4 > keep && b->align_log == 0) {
		keep = round_to(keep, _rz_caps.move_align ? _rz_caps.move_align : _rz_caps.page_size);
		if (keep < b->reserved) {
			_rz_span_mark(b->addr, b->reserved, -1);
			_rz_vm_unmap((void *)(b->addr + keep), b->reserved - keep);
			b->reserved = keep;
			_rz_span_mark(b->addr, b->reserved, +1);
		}
	}
	RZ_STAT_SUB(large_live_bytes, b->size - n);
	b->size = n;
	_rz_table_update(b);
	RZ_STAT_ADD(shrinks, 1);
}

/* Grows without moving; 0, or ENOMEM when only a move would do. Lock held. */
static int large_grow_in_place_locked(struct _rz_block *b, size_t n)
{
	size_t old = b->size;
	if (n + large_guard_gap() <= b->reserved) {
		if (!_rz_caps.commit_is_free) {
			int err = _rz_vm_commit((void *)(b->addr + old), n - old);
			if (err)
				return err;
		}
		RZ_STAT_ADD(grow_reserved, 1);
	} else {
		size_t r = large_reserve_for(n, b->grows + 1);
		if (r == 0 || !_rz_caps.can_extend)
			return ENOMEM;
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
			size_t plain = large_reserve_for(n, 0);
			if (plain < r && _rz_vm_extend((void *)b->addr, b->reserved, plain) == 0) {
				r = plain;
			} else {
				r = n + large_guard_gap();
				if (_rz_vm_extend((void *)b->addr, b->reserved, r) != 0)
					return ENOMEM;
			}
		}
		/* Mark the new range before unmarking the old: a concurrent
		 * misuse check must never see the block unmarked. */
		_rz_span_mark(b->addr, r, +1);
		_rz_span_mark(b->addr, b->reserved, -1);
		b->reserved = r;
		/* Under strict commit the extension (and the old headroom) are
		 * not accessible yet: open exactly the block's new bytes. */
		if (!_rz_caps.commit_is_free &&
		    _rz_vm_commit((void *)(b->addr + old), n - old) != 0) {
			b->grows++;
			_rz_table_update(b); /* bigger reservation, same size */
			return ENOMEM;
		}
		b->grows++;
		RZ_STAT_ADD(grow_in_place, 1);
	}
	b->size = n;
	_rz_table_update(b);
	RZ_STAT_ADD(bytes_not_copied, old);
	RZ_STAT_ADD(large_live_bytes, n - old);
	return 0;
}

/* Moves the mapping without copying. Lock held. */
static int large_move_locked(struct _rz_block *b, size_t n)
{
	size_t r = large_reserve_for(n, b->grows + 1);
	if (r == 0 || !_rz_caps.can_move || b->align_log != 0)
		return ENOTSUP;
	void *q;
	int err = _rz_vm_move((void *)b->addr, b->reserved, b->size, n, r, &q);
	if (err == ENOMEM && r > n) {
		r = large_reserve_for(n, 0);
		err = _rz_vm_move((void *)b->addr, b->reserved, b->size, n, r, &q);
	}
	if (err)
		return err;
	_rz_span_mark(b->addr, b->reserved, -1);
	_rz_table_remove(b->addr);
	_rz_grave_add(b->addr); /* a free of the old address is a double free */
	_rz_grave_forget((uintptr_t)q, r);
	_rz_span_mark((uintptr_t)q, r, +1);
	if (_rz_opt.name_mappings)
		_rz_vm_name(q, r);
	RZ_STAT_ADD(large_live_bytes, n - b->size);
	RZ_STAT_ADD(bytes_not_copied, b->size);
	b->addr = (uintptr_t)q;
	b->size = n;
	b->reserved = r;
	b->grows++;
	_rz_table_insert(b); /* cannot fail: one entry out, one in */
	RZ_STAT_ADD(grow_moved, 1);
	return 0;
}

void *_rz_large_resize(void *p, const struct _rz_block *known, size_t size,
    const char *call)
{
	size_t n = page_round(size);
	if (n == 0) {
		errno = ENOMEM;
		return NULL;
	}
	struct _rz_block b = *known;
	/* Fast path, no lock and no system call: growth inside the
	 * reservation. Only this block's owner can change its record, so the
	 * caller's lookup is still current. */
	if (_rz_caps.commit_is_free && n > b.size && n <= b.reserved) {
		_rz_table_set_size(b.addr, n);
		RZ_STAT_ADD(grow_reserved, 1);
		RZ_STAT_ADD(bytes_not_copied, b.size);
		RZ_STAT_ADD(large_live_bytes, n - b.size);
		return p;
	}
	_rz_mutex_lock(&large_lock);
	if (!_rz_table_find((uintptr_t)p, &b)) {
		_rz_mutex_unlock(&large_lock);
		_rz_diag_misuse(call, p, "pointer is not a live large block");
	}
	if (n == b.size) {
		_rz_mutex_unlock(&large_lock);
		return p;
	}
	if (n < b.size) {
		large_shrink_locked(&b, n);
		_rz_mutex_unlock(&large_lock);
		return p;
	}
	if (large_grow_in_place_locked(&b, n) == 0) {
		_rz_mutex_unlock(&large_lock);
		return p;
	}
	int err = large_move_locked(&b, n);
	_rz_mutex_unlock(&large_lock);
	if (err == 0)
		return (void *)b.addr;
	/* Whatever stopped the move (ENOTSUP, ENOMEM, EFAULT over split
	 * mappings, EAGAIN on locked memory), copying may still work; if it
	 * does not, the caller sees ENOMEM (from _rz_large_alloc) and keeps
	 * its block. Last resort: copy outside the lock (the block is the caller's). */
	void *q = _rz_large_alloc_growing(size, b.align_log ? (size_t)1 << b.align_log : 0,
	    false, b.grows + 1);
	if (!q)
		return NULL;
	if (b.size < 2 * _rz_caps.move_align)
		_rz_vm_prefault(q, b.size); /* memcpy would fault every page */
	_rz_vm_copy(q, p, b.size);
	RZ_STAT_ADD(grow_copied, 1);
	RZ_STAT_ADD(bytes_copied, b.size);
	/* The new block was counted as an allocation; this is a growth. */
	RZ_STAT_SUB(large_allocs, 1);
	_rz_mutex_lock(&large_lock);
	large_release_locked(&b);
	_rz_mutex_unlock(&large_lock);
	RZ_STAT_SUB(large_frees, 1);
	return q;
}

void *_rz_large_expand(void *p, size_t size)
{
	size_t n = page_round(size);
	struct _rz_block b;
	if (n == 0) {
		errno = ENOMEM;
		return NULL;
	}
	_rz_mutex_lock(&large_lock);
	if (!_rz_table_find((uintptr_t)p, &b)) {
		_rz_mutex_unlock(&large_lock);
		errno = EINVAL;
		return NULL;
	}
	int err = 0;
	if (n < b.size)
		large_shrink_locked(&b, n);
	else if (n > b.size)
		err = large_grow_in_place_locked(&b, n);
	_rz_mutex_unlock(&large_lock);
	if (err) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void _rz_large_check_foreign(const void *p, const char *call)
{
	uintptr_t a = (uintptr_t)p;
	if (_rz_span_maybe(a)) {
		struct _rz_block b;
		struct _rz_cached c;
		const char *what = NULL;
		_rz_mutex_lock(&large_lock);
		if (_rz_table_find_containing(a, &b))
			what = a < b.addr + b.size ? "pointer inside a large block"
			    : "pointer past the end of a large block";
		else if (_rz_cache_find_containing(a, &c))
			what = a == c.addr ? "double free of a large block"
			    : "pointer into a freed large block";
		_rz_mutex_unlock(&large_lock);
		if (what)
			_rz_diag_misuse(call, p, what);
	}
	if (_rz_grave_has(a) && !_rz_vm_is_mapped(p))
		_rz_diag_misuse(call, p, "double free of a large block");
	if (_rz_opt.check_unknown && !_rz_vm_is_mapped(p))
		_rz_diag_misuse(call, p, "pointer was never allocated (nothing is mapped there)");
}

void _rz_large_prefork(void)
{
	_rz_mutex_lock(&large_lock);
}

void _rz_large_postfork_parent(void)
{
	_rz_mutex_unlock(&large_lock);
}

void _rz_large_postfork_child(void)
{
	_rz_mutex_init(&large_lock);
}

size_t _rz_large_flush_cache(void)
{
	_rz_mutex_lock(&large_lock);
	size_t bytes = _rz_cache_bytes();
	_rz_cache_flush();
	_rz_mutex_unlock(&large_lock);
	return bytes;
}
