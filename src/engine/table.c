/*
 * table.c - the large-block table and the span filter.
 *
 * Open addressing with linear probing, keyed by block address. Deletion
 * shifts later entries back (no tombstones), which would break a concurrent
 * reader, so readers use a sequence lock: they retry if a writer ran while
 * they probed. Readers never write shared memory, so free() of large blocks
 * from many threads does not bounce a cache line. The table has a fixed
 * capacity, reserved once; only pages actually used are ever touched.
 * When it is full, large requests fall back to the small delegate.
 *
 * A dense array of live addresses serves the rare scans (misuse reports,
 * enumeration), so they cost O(live blocks), not O(capacity).
 * May include: table.h, backend/os.h.
 */
#include "engine/table.h"

#define TABLE_BITS 18
#define TABLE_CAP ((size_t)1 << TABLE_BITS)
/* Keep probes short: refuse inserts past 3/4 full. */
#define TABLE_MAX_LIVE (TABLE_CAP / 4 * 3)

struct slot {
	uintptr_t addr; /* 0: empty */
	size_t size;
	size_t reserved;
	uint32_t grows;
	uint32_t align_log;
	uint32_t dense;  /* index in table.dense */
	uint32_t pad;
};

static struct {
	struct slot *slots;
	uintptr_t *dense;
	size_t live;
	uint64_t seq; /* odd while a writer is changing slots */
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
	size_t dense_bytes = TABLE_CAP * sizeof(uintptr_t);
	size_t pg = _rz_caps.page_size;
	size_t total = (slots_bytes + dense_bytes + pg - 1) & ~(pg - 1);
	void *p;
	int err = _rz_vm_map(total, pg, false, &p);
	if (err)
		return err;
	err = _rz_vm_commit(p, total);
	if (err) {
		_rz_vm_unmap(p, total);
		return err;
	}
	table.dense = (uintptr_t *)((char *)p + slots_bytes);
	__atomic_store_n(&table.slots, (struct slot *)p, __ATOMIC_RELEASE);
	return 0;
}

size_t _rz_table_count(void)
{
	return LOAD(table.live);
}

bool _rz_table_find(uintptr_t addr, struct _rz_block *out)
{
	struct slot *slots = __atomic_load_n(&table.slots, __ATOMIC_ACQUIRE);
	if (!slots || addr == 0)
		return false;
	for (;;) {
		uint64_t seq = __atomic_load_n(&table.seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			table_relax();
			continue;
		}
		bool found = false;
		for (size_t i = table_hash(addr);; i = (i + 1) & (TABLE_CAP - 1)) {
			uintptr_t a = LOAD(slots[i].addr);
			if (a == 0)
				break;
			if (a == addr) {
				out->addr = a;
				out->size = LOAD(slots[i].size);
				out->reserved = LOAD(slots[i].reserved);
				out->grows = LOAD(slots[i].grows);
				out->align_log = LOAD(slots[i].align_log);
				found = true;
				break;
			}
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (LOAD(table.seq) == seq)
			return found;
	}
}

static void write_begin(void)
{
	STORE(table.seq, table.seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
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

static void slot_fill(struct slot *s, const struct _rz_block *b)
{
	STORE(s->size, b->size);
	STORE(s->reserved, b->reserved);
	STORE(s->grows, b->grows);
	STORE(s->align_log, b->align_log);
}

int _rz_table_insert(const struct _rz_block *b)
{
	if (!table.slots || table.live >= TABLE_MAX_LIVE)
		return 12; /* ENOMEM, without <errno.h> in a table file */
	size_t i = table_hash(b->addr);
	while (table.slots[i].addr != 0)
		i = (i + 1) & (TABLE_CAP - 1);
	write_begin();
	slot_fill(&table.slots[i], b);
	table.slots[i].dense = (uint32_t)table.live;
	STORE(table.slots[i].addr, b->addr);
	write_end();
	table.dense[table.live] = b->addr;
	STORE(table.live, table.live + 1);
	return 0;
}

void _rz_table_update(const struct _rz_block *b)
{
	size_t i = table_slot_of(b->addr);
	if (i == (size_t)-1)
		return;
	write_begin();
	slot_fill(&table.slots[i], b);
	write_end();
}

void _rz_table_remove(uintptr_t addr)
{
	size_t i = table_slot_of(addr);
	if (i == (size_t)-1)
		return;
	/* Keep the dense array packed: move its last address into the hole. */
	uint32_t hole = table.slots[i].dense;
	uintptr_t last = table.dense[table.live - 1];
	if (last != addr) {
		table.dense[hole] = last;
		table.slots[table_slot_of(last)].dense = hole;
	}
	STORE(table.live, table.live - 1);

	write_begin();
	/* Backward-shift deletion: pull up every entry that probed past i. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & (TABLE_CAP - 1);
		uintptr_t a = table.slots[j].addr;
		if (a == 0)
			break;
		size_t home = table_hash(a);
		/* Entry j may move to i if its home is not in (i, j]. */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (between)
			continue;
		table.slots[i] = table.slots[j];
		i = j;
	}
	STORE(table.slots[i].addr, 0);
	write_end();
}

bool _rz_table_find_containing(uintptr_t p, struct _rz_block *out)
{
	for (size_t k = 0; k < table.live; k++) {
		uintptr_t a = table.dense[k];
		struct slot *s = &table.slots[table_slot_of(a)];
		if (p >= a && p - a < s->reserved) {
			out->addr = a;
			out->size = s->size;
			out->reserved = s->reserved;
			out->grows = s->grows;
			out->align_log = s->align_log;
			return true;
		}
	}
	return false;
}

void _rz_table_each(void (*fn)(const struct _rz_block *, void *), void *arg)
{
	struct _rz_block b;
	for (size_t k = 0; k < table.live; k++)
		if (_rz_table_find(table.dense[k], &b))
			fn(&b, arg);
}

/* ---- span filter --------------------------------------------------------- */

#define SPAN_SHIFT 21
#define SPAN_BITS 16
static uint32_t span_counts[(size_t)1 << SPAN_BITS];

static size_t span_index(uintptr_t chunk)
{
	return (size_t)(((uint64_t)chunk * 0x9E3779B97F4A7C15ull) >> (64 - SPAN_BITS));
}

void _rz_span_mark(uintptr_t addr, size_t len, int delta)
{
	if (len == 0)
		return;
	uintptr_t first = addr >> SPAN_SHIFT, last = (addr + len - 1) >> SPAN_SHIFT;
	for (uintptr_t c = first; c <= last; c++)
		__atomic_fetch_add(&span_counts[span_index(c)], (uint32_t)delta, __ATOMIC_RELAXED);
}

bool _rz_span_maybe(uintptr_t p)
{
	return LOAD(span_counts[span_index(p >> SPAN_SHIFT)]) != 0;
}
