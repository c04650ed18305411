/*
 * pagemap.c - the page map (one bit per 4 KiB page rezone maps) and the
 * graveyard.
 *
 * A three-level radix over 2^48 bytes (both x86_64's and arm64's user
 * space): a static root of 512 pointers, one per 512 GiB, to middle nodes
 * of 512 leaf pointers, one leaf per GiB. Nodes and leaves are mapped the
 * first time a rezone range reaches their part of the address space and
 * never returned. The middle level replaced a static array of 2^18 leaf
 * pointers: its 2 MiB of .bss counted against RLIMIT_AS in every process,
 * large blocks or not, and a program's mappings use one or two middle
 * nodes (4 KiB each); a lookup reads the same number of words as before
 * (src/README.md, "Address space under a limit"). A leaf keeps a
 * count of rezone pages per 2 MiB grain and, for grains only partly
 * rezone's, one bit per 4 KiB page. A grain a range covers whole is only
 * counted (512), never written bit by bit, so a 2.5 GiB reservation costs
 * 1,280 stores, not 80 KiB of bits; its bits are written out only if a
 * later clear leaves it partly covered.
 *
 * Readers load the leaf pointer, the grain's count and at most one word of
 * bits. Writers of one leaf serialise on the leaf's own spinlock (ranges
 * are marked on map/unmap paths, next to a system call). The 4 KiB unit
 * does not depend on the OS page: 16 KiB pages just set four bits.
 * May include: pagemap.h, meta.h, backend/os.h.
 */
#include "engine/meta.h"
#include "engine/pagemap.h"

#define PM_UNIT_SHIFT 12
#define PM_GRAIN_SHIFT 21
#define PM_LEAF_SHIFT 30
#define PM_VA_SHIFT 48
#define PM_UNITS (1u << (PM_GRAIN_SHIFT - PM_UNIT_SHIFT))   /* 512 */
#define PM_GRAINS (1u << (PM_LEAF_SHIFT - PM_GRAIN_SHIFT))  /* 512 */
#define PM_WORDS (PM_UNITS / 64)
#define PM_MID_SHIFT 39
#define PM_ROOT ((size_t)1 << (PM_VA_SHIFT - PM_MID_SHIFT))   /* 512 */
#define PM_MID ((size_t)1 << (PM_MID_SHIFT - PM_LEAF_SHIFT))  /* 512 */
/* High bit of a count: the grain's bits may be non-zero. */
#define PM_BITS_USED 0x8000u
#define PM_COUNT(c) ((c) & 0x7fffu)

struct pm_leaf {
	struct pm_leaf *next; /* every leaf, for the fork child */
	uint32_t lock;
	uint16_t count[PM_GRAINS];
	uint64_t bits[PM_GRAINS][PM_WORDS];
};

struct pm_mid {
	struct pm_leaf *leaf[PM_MID];
};

static struct pm_mid *pm_root[PM_ROOT];
static uint32_t pm_mid_lock;
static struct pm_leaf *pm_leaves;

/*
 * Ranges the map could not record (no memory for their GiB's leaf, or
 * beyond 2^48), kept aside and asked whenever the leaves say no. A leaf
 * missing now may be made later for another range, and its empty bits
 * would then deny the lost one: under RLIMIT_DATA with threads, a moved
 * block's free went to jemalloc that way (SIGSEGV). Asking "is the leaf
 * there?" instead cannot be made safe, so the ranges themselves are kept.
 * More than PM_LOST_SLOTS at once: every page is "maybe" from then on
 * (the misuse check scans; slow, never wrong).
 * Writers hold pm_lost_lock; readers scan without it. A slot is empty
 * while its end is 0; it is filled start first, then end, and emptied end
 * first, so that a reader sees it empty, whole, or covering more.
 */
#define PM_LOST_SLOTS 64
#define PM_LOST_ALL UINT32_MAX
static struct { uintptr_t start, end; } pm_lost_range[PM_LOST_SLOTS];
static uint32_t pm_lost;      /* slots in use, or PM_LOST_ALL */
static uint32_t pm_lost_top;  /* slots [0, top) may be in use */
static uint32_t pm_lost_lock;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static void pm_spin(uint32_t *lock)
{
	for (unsigned spins = 0; __atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE); spins++)
		if (spins > 64)
			_rz_os_yield();
}

static void pm_lock(struct pm_leaf *l)
{
	pm_spin(&l->lock);
}

static void pm_unlock(struct pm_leaf *l)
{
	__atomic_store_n(&l->lock, 0, __ATOMIC_RELEASE);
}

static void pm_lost_add(uintptr_t start, uintptr_t end)
{
	pm_spin(&pm_lost_lock);
	uint32_t n = LOAD(pm_lost);
	if (n != PM_LOST_ALL) {
		size_t i = 0;
		while (i < PM_LOST_SLOTS && LOAD(pm_lost_range[i].end) != 0)
			i++;
		if (i == PM_LOST_SLOTS) {
			__atomic_store_n(&pm_lost, PM_LOST_ALL, __ATOMIC_RELEASE);
		} else {
			STORE(pm_lost_range[i].start, start);
			__atomic_store_n(&pm_lost_range[i].end, end, __ATOMIC_RELEASE);
			if (i >= LOAD(pm_lost_top))
				__atomic_store_n(&pm_lost_top, (uint32_t)i + 1, __ATOMIC_RELEASE);
			__atomic_store_n(&pm_lost, n + 1, __ATOMIC_RELEASE);
		}
	}
	__atomic_store_n(&pm_lost_lock, 0, __ATOMIC_RELEASE);
}

/* [start, end) stopped being rezone's: lost ranges lose it too, where a
 * slot can say so (a hole in the middle keeps the slot whole: "maybe"). */
static void pm_lost_cut(uintptr_t start, uintptr_t end)
{
	if (__atomic_load_n(&pm_lost, __ATOMIC_ACQUIRE) == 0)
		return;
	pm_spin(&pm_lost_lock);
	uint32_t n = LOAD(pm_lost);
	for (size_t i = 0; n != PM_LOST_ALL && i < LOAD(pm_lost_top); i++) {
		uintptr_t s = LOAD(pm_lost_range[i].start), e = LOAD(pm_lost_range[i].end);
		if (e == 0 || end <= s || start >= e)
			continue;
		if (start <= s && end >= e) {
			STORE(pm_lost_range[i].end, 0);
			STORE(pm_lost_range[i].start, 0);
			n--;
		} else if (start > s && end >= e) {
			STORE(pm_lost_range[i].end, start);
		} else if (start <= s) {
			STORE(pm_lost_range[i].start, end);
		}
	}
	if (LOAD(pm_lost) != PM_LOST_ALL)
		__atomic_store_n(&pm_lost, n, __ATOMIC_RELEASE);
	__atomic_store_n(&pm_lost_lock, 0, __ATOMIC_RELEASE);
}

/* Whether a lost range holds p. One load while nothing was ever lost. */
static bool pm_lost_has(uintptr_t p)
{
	uint32_t n = __atomic_load_n(&pm_lost, __ATOMIC_ACQUIRE);
	if (n == 0)
		return false;
	if (n == PM_LOST_ALL)
		return true;
	uint32_t top = __atomic_load_n(&pm_lost_top, __ATOMIC_ACQUIRE);
	for (size_t i = 0; i < top; i++) {
		uintptr_t e = __atomic_load_n(&pm_lost_range[i].end, __ATOMIC_ACQUIRE);
		if (p < e && p >= LOAD(pm_lost_range[i].start))
			return true;
	}
	return false;
}

/* The middle node for address a (< 2^48), made on first use under a lock
 * (meta.c never returns memory, so a loser of a race could not give its
 * node back). NULL when out of memory: the caller keeps the range aside,
 * as for a missing leaf. */
static struct pm_mid *pm_mid_make(uintptr_t a)
{
	size_t i = a >> PM_MID_SHIFT;
	struct pm_mid *m = __atomic_load_n(&pm_root[i], __ATOMIC_ACQUIRE);
	if (m)
		return m;
	pm_spin(&pm_mid_lock);
	m = __atomic_load_n(&pm_root[i], __ATOMIC_ACQUIRE);
	if (!m) {
		m = _rz_meta_alloc(sizeof(*m));
		if (m)
			__atomic_store_n(&pm_root[i], m, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&pm_mid_lock, 0, __ATOMIC_RELEASE);
	return m;
}

/* The leaf for address a (< 2^48), if made. */
static inline struct pm_leaf *pm_leaf_at(uintptr_t a)
{
	struct pm_mid *m = __atomic_load_n(&pm_root[a >> PM_MID_SHIFT], __ATOMIC_ACQUIRE);
	return m ? __atomic_load_n(&m->leaf[(a >> PM_LEAF_SHIFT) & (PM_MID - 1)],
	    __ATOMIC_ACQUIRE) : NULL;
}

/* The leaf for address a, made on first use (lock-free publication: the
 * loser of a race leaves its leaf unused). NULL when out of memory. */
static struct pm_leaf *pm_leaf_get(uintptr_t a)
{
	struct pm_mid *m = pm_mid_make(a);
	if (!m)
		return NULL;
	struct pm_leaf **slot = &m->leaf[(a >> PM_LEAF_SHIFT) & (PM_MID - 1)];
	struct pm_leaf *l = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (l)
		return l;
	struct pm_leaf *fresh = _rz_meta_alloc(sizeof(struct pm_leaf));
	if (!fresh)
		return NULL;
	struct pm_leaf *expected = NULL;
	if (!__atomic_compare_exchange_n(slot, &expected, fresh, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expected;
	fresh->next = __atomic_load_n(&pm_leaves, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&pm_leaves, &fresh->next, fresh, true,
	    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	return fresh;
}

/* Sets or clears the units [u0, u1) of grain g (u1 <= 512); returns how
 * many bits it changed. Leaf locked. */
static size_t pm_grain_bits(struct pm_leaf *l, size_t g, size_t u0, size_t u1, bool set)
{
	size_t changed = 0;
	for (size_t u = u0; u < u1;) {
		size_t w = u / 64, b = u % 64;
		size_t n = u1 - u < 64 - b ? u1 - u : 64 - b;
		uint64_t mask = (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << b;
		uint64_t v = LOAD(l->bits[g][w]);
		changed += (size_t)__builtin_popcountll((set ? ~v : v) & mask);
		STORE(l->bits[g][w], set ? v | mask : v & ~mask);
		u += n;
	}
	return changed;
}

/*
 * Marks units [u0, u1) of grain g of leaf l. Leaf locked.
 * A partial grain's count is the number of its bits set, counted as they
 * change, not as the range's length: a lost range (recorded while its leaf
 * was missing, no bits) cleared once the leaf exists must take nothing
 * off, or a neighbour's pages in the grain vanish with the count (its free
 * went to jemalloc: SIGSEGV under ulimit -v). A grain counted whole (512,
 * no bits) holds no lost page: its pages were all recorded by one range.
 */
static void pm_grain_mark(struct pm_leaf *l, size_t g, size_t u0, size_t u1, bool set)
{
	uint16_t c = LOAD(l->count[g]);
	size_t n = u1 - u0;
	bool whole = PM_COUNT(c) == PM_UNITS && !(c & PM_BITS_USED);
	if (set) {
		if (whole)
			return; /* every page is recorded already */
		if (n == PM_UNITS && PM_COUNT(c) == 0) {
			/* Whole grain: the count says it all. */
			__atomic_store_n(&l->count[g], (uint16_t)PM_UNITS, __ATOMIC_RELEASE);
			return;
		}
		size_t added = pm_grain_bits(l, g, u0, u1, true);
		__atomic_store_n(&l->count[g], (uint16_t)((PM_COUNT(c) + added) | PM_BITS_USED),
		    __ATOMIC_RELEASE);
		return;
	}
	if (n == PM_UNITS) {
		/* The whole grain goes: no bit may say otherwise afterwards. */
		if (c & PM_BITS_USED)
			for (size_t w = 0; w < PM_WORDS; w++)
				STORE(l->bits[g][w], 0);
		__atomic_store_n(&l->count[g], (uint16_t)0, __ATOMIC_RELEASE);
		return;
	}
	if (whole) {
		/* Write its bits out before it becomes partial, so readers
		 * that see the new count see the bits. */
		pm_grain_bits(l, g, 0, PM_UNITS, true);
		c = (uint16_t)(PM_UNITS | PM_BITS_USED);
	}
	size_t gone = pm_grain_bits(l, g, u0, u1, false);
	size_t left = PM_COUNT(c) - gone;
	__atomic_store_n(&l->count[g], (uint16_t)(left ? (left | PM_BITS_USED) : 0),
	    __ATOMIC_RELEASE);
}

static void pm_mark(uintptr_t addr, size_t len, bool set)
{
	if (len == 0)
		return;
	uintptr_t end = addr + len;
	if (!set)
		pm_lost_cut(addr, end < addr ? UINTPTR_MAX : end);
	if (end < addr || (end - 1) >> PM_VA_SHIFT) {
		if (set)
			pm_lost_add(addr, end < addr ? UINTPTR_MAX : end);
		return;
	}
	for (uintptr_t a = addr; a < end;) {
		uintptr_t leaf_end = ((a >> PM_LEAF_SHIFT) + 1) << PM_LEAF_SHIFT;
		uintptr_t stop = end < leaf_end ? end : leaf_end;
		/* A clear never makes a leaf: no leaf, no bits to clear. */
		struct pm_leaf *l = set ? pm_leaf_get(a) : pm_leaf_at(a);
		if (!l) {
			if (set)
				pm_lost_add(a, stop);
			a = stop;
			continue;
		}
		pm_lock(l);
		while (a < stop) {
			uintptr_t grain_end = ((a >> PM_GRAIN_SHIFT) + 1) << PM_GRAIN_SHIFT;
			uintptr_t e = stop < grain_end ? stop : grain_end;
			size_t g = (a >> PM_GRAIN_SHIFT) & (PM_GRAINS - 1);
			size_t u0 = (a >> PM_UNIT_SHIFT) & (PM_UNITS - 1);
			size_t u1 = u0 + ((e - a) >> PM_UNIT_SHIFT);
			pm_grain_mark(l, g, u0, u1, set);
			a = e;
		}
		pm_unlock(l);
	}
}

uintptr_t _rz_pagemap_next(uintptr_t a, uintptr_t end)
{
	a &= ~(((uintptr_t)1 << PM_UNIT_SHIFT) - 1);
	while (a < end) {
		uintptr_t step = (uintptr_t)1 << PM_UNIT_SHIFT;
		if (LOAD(pm_lost) != 0 || (a >> PM_VA_SHIFT)) {
			/* Lost ranges may be anywhere: page by page. */
			if (_rz_pagemap_has(a))
				return a;
		} else {
			struct pm_leaf *l = pm_leaf_at(a);
			size_t g = (a >> PM_GRAIN_SHIFT) & (PM_GRAINS - 1);
			uint16_t c = l ? PM_COUNT(__atomic_load_n(&l->count[g], __ATOMIC_ACQUIRE)) : 0;
			size_t u = (a >> PM_UNIT_SHIFT) & (PM_UNITS - 1);
			if (!l)
				step = (((a >> PM_LEAF_SHIFT) + 1) << PM_LEAF_SHIFT) - a;
			else if (c == 0)
				step = (((a >> PM_GRAIN_SHIFT) + 1) << PM_GRAIN_SHIFT) - a;
			else if (c >= PM_UNITS || ((LOAD(l->bits[g][u / 64]) >> (u % 64)) & 1))
				return a;
		}
		if (a + step < a)
			break;
		a += step;
	}
	return end;
}

void _rz_pagemap_postfork_child(void)
{
	/* A thread that held a leaf's lock at fork does not exist here. */
	for (struct pm_leaf *l = pm_leaves; l; l = l->next)
		l->lock = 0;
	pm_lost_lock = 0;
	pm_mid_lock = 0;
}

void _rz_pagemap_set(uintptr_t addr, size_t len)
{
	pm_mark(addr, len, true);
}

void _rz_pagemap_clear(uintptr_t addr, size_t len)
{
	pm_mark(addr, len, false);
}

bool _rz_pagemap_has(uintptr_t p)
{
	if (p >> PM_VA_SHIFT)
		return pm_lost_has(p);
	struct pm_leaf *l = pm_leaf_at(p);
	if (!l)
		return pm_lost_has(p);
	size_t g = (p >> PM_GRAIN_SHIFT) & (PM_GRAINS - 1);
	uint16_t c = PM_COUNT(__atomic_load_n(&l->count[g], __ATOMIC_ACQUIRE));
	if (c >= PM_UNITS)
		return true;
	size_t u = (p >> PM_UNIT_SHIFT) & (PM_UNITS - 1);
	if (c != 0 && ((LOAD(l->bits[g][u / 64]) >> (u % 64)) & 1))
		return true;
	return pm_lost_has(p);
}

/* ---- graveyard ------------------------------------------------------------ */

#define GRAVE_SLOTS 256
static uintptr_t graveyard[GRAVE_SLOTS];
/* Addresses ever buried: while 0 (no large block ever freed) a check is
 * one load. */
static uint64_t grave_count;

static size_t grave_slot(uintptr_t addr)
{
	return (size_t)(((uint64_t)(addr >> 12) * 0x9E3779B97F4A7C15ull) >> 56);
}

void _rz_grave_add(uintptr_t addr)
{
	if (LOAD(grave_count) == 0)
		STORE(grave_count, 1);
	STORE(graveyard[grave_slot(addr)], addr);
}

void _rz_grave_forget(uintptr_t addr, size_t len)
{
	if (LOAD(grave_count) == 0)
		return;
	for (size_t i = 0; i < GRAVE_SLOTS; i++) {
		uintptr_t g = LOAD(graveyard[i]);
		if (g >= addr && g - addr < len)
			STORE(graveyard[i], 0);
	}
}

bool _rz_grave_has(uintptr_t addr)
{
	if (LOAD(grave_count) == 0)
		return false;
	return LOAD(graveyard[grave_slot(addr)]) == addr;
}
