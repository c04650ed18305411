/*
 * table.c - the large-block table and the span filter.
 *
 * Two arrays. Records (one per live block: address, size, reservation)
 * never move while their block lives, so the block's owner can update its
 * own size without any lock: growth inside the reservation is a plain
 * store. The index maps addresses to records by open addressing with
 * linear probing; deletion shifts later entries back (no tombstones),
 * which would confuse a concurrent reader, so readers use a sequence lock
 * and retry if an insert or delete ran while they probed. Readers never
 * write shared memory. Capacity is fixed and reserved once; only pages in
 * use are touched. When full, large requests fall back to the small
 * delegate.
 * May include: table.h, backend/os.h.
 */
#include "engine/table.h"

#define TABLE_BITS 18
#define TABLE_CAP ((size_t)1 << TABLE_BITS)
/* Keep probes short: refuse inserts past 3/4 full. */
#define TABLE_MAX_LIVE (TABLE_CAP / 4 * 3)

struct slot {
	uintptr_t addr; /* 0: empty */
	uint64_t rec;   /* index into table.recs */
};

struct rec {
	uintptr_t addr; /* 0: free record */
	size_t size;
	size_t reserved;
	size_t dirty;
	uint32_t grows;
	uint32_t align_log;
};

static struct {
	struct slot *slots;
	struct rec *recs;
	uint32_t *free_recs; /* stack of free record indices */
	size_t n_free;
	size_t hwm;          /* records ever used: scans stop here */
	size_t live;
	uint64_t seq;        /* odd while a writer is changing slots */
} table;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Spin hint while a writer holds the sequence odd (a few stores long). */
static inline void table_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static size_t table_hash(uintptr_t addr)
{
	/* Fibonacci hashing of the page number spreads neighbouring blocks. */
	return (size_t)(((uint64_t)(addr >> 12) * 0x9E3779B97F4A7C15ull) >> (64 - TABLE_BITS));
}

int _rz_table_init(void)
{
	if (table.slots)
		return 0;
	size_t slots_bytes = TABLE_CAP * sizeof(struct slot);
	size_t recs_bytes = TABLE_MAX_LIVE * sizeof(struct rec);
	size_t free_bytes = TABLE_MAX_LIVE * sizeof(uint32_t);
	size_t pg = _rz_caps.page_size;
	size_t total = (slots_bytes + recs_bytes + free_bytes + pg - 1) & ~(pg - 1);
	void *p;
	int err = _rz_vm_map(total, pg, false, &p);
	if (err)
		return err;
	err = _rz_vm_commit(p, total);
	if (err) {
		_rz_vm_unmap(p, total);
		return err;
	}
	table.recs = (struct rec *)((char *)p + slots_bytes);
	table.free_recs = (uint32_t *)((char *)p + slots_bytes + recs_bytes);
	__atomic_store_n(&table.slots, (struct slot *)p, __ATOMIC_RELEASE);
	return 0;
}

size_t _rz_table_count(void)
{
	return LOAD(table.live);
}

/* The record of a live block, or NULL. Lock-free. */
static struct rec *table_lookup(uintptr_t addr)
{
	struct slot *slots = __atomic_load_n(&table.slots, __ATOMIC_ACQUIRE);
	if (!slots || addr == 0)
		return NULL;
	for (;;) {
		uint64_t seq = __atomic_load_n(&table.seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			table_relax();
			continue;
		}
		uint64_t rec = (uint64_t)-1;
		for (size_t i = table_hash(addr);; i = (i + 1) & (TABLE_CAP - 1)) {
			uintptr_t a = LOAD(slots[i].addr);
			if (a == 0)
				break;
			if (a == addr) {
				rec = LOAD(slots[i].rec);
				break;
			}
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (LOAD(table.seq) != seq)
			continue;
		if (rec >= TABLE_MAX_LIVE)
			return NULL;
		struct rec *r = &table.recs[rec];
		/* A record is reused only after its block is freed; a block's
		 * owner never sees that, anyone else gets a consistent "no". */
		return LOAD(r->addr) == addr ? r : NULL;
	}
}

static void rec_read(const struct rec *r, struct _rz_block *out)
{
	out->addr = LOAD(r->addr);
	out->size = LOAD(r->size);
	out->reserved = LOAD(r->reserved);
	out->dirty = LOAD(r->dirty);
	out->grows = LOAD(r->grows);
	out->align_log = LOAD(r->align_log);
}

bool _rz_table_find(uintptr_t addr, struct _rz_block *out)
{
	struct rec *r = table_lookup(addr);
	if (!r)
		return false;
	rec_read(r, out);
	return out->addr == addr;
}

void _rz_table_set_size(uintptr_t addr, size_t size)
{
	struct rec *r = table_lookup(addr);
	if (r)
		STORE(r->size, size);
}

static void write_begin(void)
{
	STORE(table.seq, table.seq + 1);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void write_end(void)
{
	__atomic_store_n(&table.seq, table.seq + 1, __ATOMIC_RELEASE);
}

static size_t table_slot_of(uintptr_t addr)
{
	for (size_t i = table_hash(addr);; i = (i + 1) & (TABLE_CAP - 1)) {
		if (table.slots[i].addr == addr)
			return i;
		if (table.slots[i].addr == 0)
			return (size_t)-1;
	}
}

static void rec_fill(struct rec *r, const struct _rz_block *b)
{
	STORE(r->size, b->size);
	STORE(r->reserved, b->reserved);
	STORE(r->dirty, b->dirty);
	STORE(r->grows, b->grows);
	STORE(r->align_log, b->align_log);
}

int _rz_table_insert(const struct _rz_block *b)
{
	if (!table.slots || table.live >= TABLE_MAX_LIVE)
		return 12; /* ENOMEM: this file includes no OS or errno header */
	uint32_t ri = table.n_free ? table.free_recs[--table.n_free] : (uint32_t)table.hwm++;
	struct rec *r = &table.recs[ri];
	rec_fill(r, b);
	__atomic_store_n(&r->addr, b->addr, __ATOMIC_RELEASE);
	size_t i = table_hash(b->addr);
	while (table.slots[i].addr != 0)
		i = (i + 1) & (TABLE_CAP - 1);
	write_begin();
	STORE(table.slots[i].rec, (uint64_t)ri);
	STORE(table.slots[i].addr, b->addr);
	write_end();
	STORE(table.live, table.live + 1);
	return 0;
}

void _rz_table_update(const struct _rz_block *b)
{
	struct rec *r = table_lookup(b->addr);
	if (r)
		rec_fill(r, b);
}

void _rz_table_postfork_child(void)
{
	/* A fork from a signal handler may have interrupted a writer between
	 * write_begin and write_end; no writer exists in the child, and an
	 * odd sequence would keep its readers spinning forever. */
	if (table.seq & 1)
		STORE(table.seq, table.seq + 1);
}

void _rz_table_remove(uintptr_t addr)
{
	size_t i = table_slot_of(addr);
	if (i == (size_t)-1)
		return;
	uint32_t ri = (uint32_t)table.slots[i].rec;
	write_begin();
	/* Backward-shift deletion: pull up every entry that probed past i. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & (TABLE_CAP - 1);
		uintptr_t a = table.slots[j].addr;
		if (a == 0)
			break;
		size_t home = table_hash(a);
		/* Entry j may move to i unless its home lies in (i, j]. */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (between)
			continue;
		STORE(table.slots[i].rec, table.slots[j].rec);
		STORE(table.slots[i].addr, a);
		i = j;
	}
	STORE(table.slots[i].addr, 0);
	write_end();
	STORE(table.recs[ri].addr, 0);
	table.free_recs[table.n_free++] = ri;
	STORE(table.live, table.live - 1);
}

bool _rz_table_find_containing(uintptr_t p, struct _rz_block *out)
{
	for (size_t k = 0; k < table.hwm; k++) {
		struct rec *r = &table.recs[k];
		uintptr_t a = LOAD(r->addr);
		if (a && p >= a && p - a < LOAD(r->reserved)) {
			rec_read(r, out);
			return true;
		}
	}
	return false;
}

void _rz_table_each(void (*fn)(const struct _rz_block *, void *), void *arg)
{
	struct _rz_block b;
	for (size_t k = 0; k < table.hwm; k++) {
		if (LOAD(table.recs[k].addr)) {
			rec_read(&table.recs[k], &b);
			fn(&b, arg);
		}
	}
}

/* ---- span filter --------------------------------------------------------- */

/*
 * Hashed counters of rezone mappings per chunk of address space, at two
 * grains: 2 MiB for mappings under 64 MiB and 1 GiB for bigger ones, so
 * that marking a multi-GiB reservation touches a handful of counters (at
 * 2 MiB alone, moving a 5 GiB reservation cost ~100 us of cache misses).
 * A range is always unmarked exactly as it was marked.
 */
#define SPAN_FINE_SHIFT 21
#define SPAN_COARSE_SHIFT 30
#define SPAN_COARSE_MIN ((size_t)64 << 20)
/* 2 x 64 KiB of counters: small enough to stay mostly cached, big enough
 * that false "maybe"s (a lock and a scan) stay rare. */
#define SPAN_BITS 14
#define SPAN_N ((uintptr_t)1 << SPAN_BITS)
static uint32_t span_fine[SPAN_N];
static uint32_t span_coarse[SPAN_N];
/* Ranges marked now, and addresses ever put in the graveyard: while both
 * are 0 (a program without large blocks) the checks cost one load. */
static uint64_t span_ranges;
static uint64_t grave_count;

static size_t span_index(uintptr_t chunk)
{
	return (size_t)(((uint64_t)chunk * 0x9E3779B97F4A7C15ull) >> (64 - SPAN_BITS));
}

void _rz_span_mark(uintptr_t addr, size_t len, int delta)
{
	if (len == 0)
		return;
	__atomic_fetch_add(&span_ranges, (uint64_t)(int64_t)delta, __ATOMIC_RELAXED);
	bool coarse = len >= SPAN_COARSE_MIN;
	unsigned shift = coarse ? SPAN_COARSE_SHIFT : SPAN_FINE_SHIFT;
	uint32_t *counts = coarse ? span_coarse : span_fine;
	uintptr_t first = addr >> shift, last = (addr + len - 1) >> shift;
	if (last - first + 1 >= SPAN_N) {
		/* Wider than the filter: every counter once. */
		for (uintptr_t c = 0; c < SPAN_N; c++)
			__atomic_fetch_add(&counts[c], (uint32_t)delta, __ATOMIC_RELAXED);
		return;
	}
	for (uintptr_t c = first; c <= last; c++)
		__atomic_fetch_add(&counts[span_index(c)], (uint32_t)delta, __ATOMIC_RELAXED);
}

bool _rz_span_maybe(uintptr_t p)
{
	if (LOAD(span_ranges) == 0)
		return false;
	return LOAD(span_fine[span_index(p >> SPAN_FINE_SHIFT)]) != 0 ||
	    LOAD(span_coarse[span_index(p >> SPAN_COARSE_SHIFT)]) != 0;
}

/* ---- graveyard ------------------------------------------------------------ */

#define GRAVE_SLOTS 256
static uintptr_t graveyard[GRAVE_SLOTS];

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
