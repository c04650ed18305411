/*
 * table.c - the large-block table: 16 shards, each an open-addressing
 * index over records that never move while their block lives.
 *
 * Readers probe a shard's index under its sequence lock (retrying if an
 * insert or delete ran meanwhile) and never write shared memory. Writers of
 * a shard hold its mutex for a handful of stores. Deletion shifts later
 * entries back (no tombstones). Every record carries its block's own
 * spinlock; because a C program never resizes or frees one block from two
 * threads at once, that lock is contended only by the reclaimer, so
 * holding it across a system call is fine.
 *
 * Memory grows with use: a shard's index starts at one page and doubles
 * when 3/4 full (up to 16,384 slots), and records come in chunks of 256.
 * A table reserved whole up front (14 MiB) was locked and made resident
 * by mlockall(MCL_CURRENT) and charged under strict overcommit in every
 * process. Outgrown index arrays stay mapped (a reader may still be
 * probing one; its sequence check then sends it to the new one); they
 * cost at most as much as the current ones. When a shard is full, large
 * requests fall back to the small delegate.
 * May include: table.h, meta.h, lockmark.h, view.h, backend/os.h.
 */
#include "engine/lockmark.h"
#include "engine/meta.h"
#include "engine/table.h"
#include "engine/view.h"

#define TABLE_BITS 18
#define SHARD_BITS 4
#define SHARDS ((size_t)1 << SHARD_BITS)
#define SHARD_SLOT_BITS (TABLE_BITS - SHARD_BITS)
#define SHARD_CAP ((size_t)1 << SHARD_SLOT_BITS)
/* Keep probes short: refuse new blocks past 3/4 full. A moved block's
 * new record goes in before its old one leaves, so moves may use a few
 * records more (one per concurrent move). */
#define SHARD_MAX_LIVE (SHARD_CAP / 4 * 3)
#define SHARD_RECS (SHARD_MAX_LIVE + 1024)
#define CHUNK_RECS 256
#define SHARD_CHUNKS ((SHARD_RECS + CHUNK_RECS - 1) / CHUNK_RECS)
#define FIRST_CAP ((size_t)256)

struct slot {
	uintptr_t addr; /* 0: empty */
	uint64_t rec;   /* index into the shard's records */
};

struct _rz_rec {
	uintptr_t addr; /* 0: free record */
	size_t size;
	size_t reserved;
	size_t dirty;
	uint32_t grows;
	uint32_t align_log;
	uint32_t lock;
	uint32_t next_free; /* free list link (index + 1; 0: end) */
	uint32_t thp;
	uint32_t flags;
	uint64_t excess_ns;
};

struct shard {
	_rz_short_lock_t lock;    /* writers */
	struct slot *slots;  /* NULL until the first insert */
	size_t cap;          /* slots (a power of two) */
	struct _rz_rec *chunks[SHARD_CHUNKS];
	uint32_t free_head;  /* free records (index + 1; 0: none) */
	uint32_t nfree;      /* how many */
	size_t hwm;          /* records ever used: scans stop here */
	size_t live;
	uint64_t seq;        /* odd while a writer is changing slots */
	char pad[64];
};

static struct shard shards[SHARDS];
static bool shard_forked[SHARDS]; /* taken by the prepare handler */
/* The shard whose lock this thread is taking, holds or is releasing
 * (lockmark.h). */
static RZ_THREAD_LOCAL void *shard_mine;

static void shard_lock(struct shard *s)
{
	_rz_lock_marked(&shard_mine, s, &s->lock);
}

static void shard_unlock(struct shard *s)
{
	_rz_unlock_marked(&shard_mine, &s->lock);
}
static bool table_ready;
static size_t table_live;

/* The record this thread last looked up, inserted or moved, and its
 * address (src/README.md, "The fast lane"): a thread growing its own
 * buffer finds the record without the shard, its slots or its chunk
 * pointers (four cache lines of ~13 per call). Valid whatever happened
 * since: records are never unmapped, and only the record that holds an
 * address is that block (the lookup's rule below), so a stale hint
 * fails one compare. TABLE_NO_HINT is no page's address. */
#define TABLE_NO_HINT ((uintptr_t)1)
RZ_THREAD_LOCAL uintptr_t _rz_table_hint_addr = TABLE_NO_HINT;
static RZ_THREAD_LOCAL struct _rz_rec *table_hint_rec;

static void table_hint(uintptr_t addr, struct _rz_rec *r)
{
	table_hint_rec = r;
	_rz_table_hint_addr = addr;
}

/* The hint's record if it still holds addr (checked before any lock is
 * taken, so a stale hint never waits for the block that record now
 * holds), else NULL. */
static struct _rz_rec *table_hinted_rec(uintptr_t addr)
{
	struct _rz_rec *r = table_hint_rec;
	return addr == _rz_table_hint_addr && r &&
	    __atomic_load_n(&r->addr, __ATOMIC_RELAXED) == addr ? r : NULL;
}

/* What an out-of-process reader needs (view.h); addresses filled by
 * _rz_table_init. The fields it points at must be 64 bits wide. */
_Static_assert(sizeof(((struct shard *)0)->hwm) == 8 && sizeof(((struct shard *)0)->cap) == 8 &&
    sizeof(((struct shard *)0)->slots) == 8 && sizeof(((struct shard *)0)->chunks[0]) == 8 &&
    sizeof(((struct _rz_rec *)0)->addr) == 8 && sizeof(((struct _rz_rec *)0)->size) == 8 &&
    sizeof(((struct _rz_rec *)0)->reserved) == 8, "view.h promises 64-bit fields");
static struct _rz_large_view table_view = {
	.version = RZ_LARGE_VIEW_VERSION,
	.view_bytes = sizeof(struct _rz_large_view),
	.shard_count = SHARDS,
	.shard_bytes = sizeof(struct shard),
	.shard_chunks_at = offsetof(struct shard, chunks),
	.shard_chunk_count = SHARD_CHUNKS,
	.shard_hwm_at = offsetof(struct shard, hwm),
	.shard_slots_at = offsetof(struct shard, slots),
	.shard_cap_at = offsetof(struct shard, cap),
	.slot_bytes = sizeof(struct slot),
	.chunk_recs = CHUNK_RECS,
	.rec_bytes = sizeof(struct _rz_rec),
	.rec_addr_at = offsetof(struct _rz_rec, addr),
	.rec_size_at = offsetof(struct _rz_rec, size),
	.rec_reserved_at = offsetof(struct _rz_rec, reserved),
};

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

static uint64_t table_hash(uintptr_t addr)
{
	/* Fibonacci hashing of the page number spreads neighbouring blocks;
	 * the top bits pick the shard, the next ones the home slot. */
	return (uint64_t)(addr >> 12) * 0x9E3779B97F4A7C15ull;
}

static struct shard *shard_of(uintptr_t addr)
{
	return &shards[table_hash(addr) >> (64 - SHARD_BITS)];
}

/* Home slot in an index of cap slots: the bits after the shard's. */
static size_t home_of(uintptr_t addr, size_t cap)
{
	return (size_t)(table_hash(addr) >> (64 - TABLE_BITS)) & (cap - 1);
}

static struct _rz_rec *rec_at(const struct shard *s, size_t k)
{
	return &s->chunks[k / CHUNK_RECS][k % CHUNK_RECS];
}

int _rz_table_init(void)
{
	if (table_ready)
		return 0;
	for (size_t i = 0; i < SHARDS; i++)
		_rz_short_lock_init(&shards[i].lock);
	table_view.page_size = _rz_caps.page_size;
	table_view.shards = (uintptr_t)shards;
	_rz_meta_where(&table_view.meta_base_at, &table_view.meta_used_at,
	    &table_view.meta_reserve);
	/* Last: a reader that sees the magic sees the rest. */
	__atomic_store_n(&table_view.magic, RZ_LARGE_VIEW_MAGIC, __ATOMIC_RELEASE);
	__atomic_store_n(&table_ready, true, __ATOMIC_RELEASE);
	return 0;
}

const struct _rz_large_view *_rz_table_view(void)
{
	return &table_view;
}

size_t _rz_table_count(void)
{
	return LOAD(table_live);
}

/* The record of a live block, or NULL. Lock-free. */
static struct _rz_rec *table_lookup(uintptr_t addr)
{
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE) || addr == 0)
		return NULL;
	struct shard *s = shard_of(addr);
	for (;;) {
		uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			table_relax();
			continue;
		}
		/* cap before slots, each acquire, against the writer's two release
		 * stores (slots, then cap): a reader that sees a new capacity sees
		 * the new array, so it never indexes an old, smaller array with a
		 * new capacity (x86 orders these anyway; arm64 need not). */
		size_t cap = __atomic_load_n(&s->cap, __ATOMIC_ACQUIRE);
		struct slot *slots = __atomic_load_n(&s->slots, __ATOMIC_ACQUIRE);
		if (!slots)
			return NULL;
		if (cap == 0)
			continue; /* the first index is being published */
		size_t hwm = __atomic_load_n(&s->hwm, __ATOMIC_ACQUIRE);
		struct _rz_rec *found = NULL;
		for (size_t i = home_of(addr, cap);; i = (i + 1) & (cap - 1)) {
			uintptr_t a = LOAD(slots[i].addr);
			if (a == 0)
				break;
			if (a != addr)
				continue;
			/* Two slots may hold one address for a moment: a move
			 * frees its old range (mremap) before the old record
			 * leaves, and a new block can be mapped there and
			 * inserted meanwhile. The old record's address is
			 * cleared before that (_rz_table_hide by the mover,
			 * _rz_table_remove otherwise), so only a record that
			 * still holds addr is the block. */
			uint64_t rec = LOAD(slots[i].rec);
			if (rec < hwm) {
				struct _rz_rec *r = rec_at(s, rec);
				if (__atomic_load_n(&r->addr, __ATOMIC_ACQUIRE) == addr) {
					found = r;
					break;
				}
			}
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (LOAD(s->seq) != seq)
			continue;
		/* A record is reused only after its block is freed; a block's
		 * owner never sees that, anyone else gets a consistent "no". */
		return found;
	}
}

static void rec_read(const struct _rz_rec *r, struct _rz_block *out)
{
	out->addr = __atomic_load_n(&r->addr, __ATOMIC_ACQUIRE);
	out->size = LOAD(r->size);
	out->reserved = LOAD(r->reserved);
	out->dirty = LOAD(r->dirty);
	out->grows = LOAD(r->grows);
	out->align_log = LOAD(r->align_log);
	out->thp = LOAD(r->thp);
	out->flags = LOAD(r->flags);
	out->excess_ns = LOAD(r->excess_ns);
}

static void rec_fill(struct _rz_rec *r, const struct _rz_block *b)
{
	STORE(r->size, b->size);
	STORE(r->reserved, b->reserved);
	STORE(r->dirty, b->dirty);
	STORE(r->grows, b->grows);
	STORE(r->align_log, b->align_log);
	STORE(r->thp, b->thp);
	STORE(r->flags, b->flags);
	STORE(r->excess_ns, b->excess_ns);
}

static void rec_lock(struct _rz_rec *r)
{
	for (unsigned spins = 0; __atomic_exchange_n(&r->lock, 1, __ATOMIC_ACQUIRE); spins++)
		if (spins > 64)
			_rz_os_yield();
}

static void rec_unlock(struct _rz_rec *r)
{
	__atomic_store_n(&r->lock, 0, __ATOMIC_RELEASE);
}

bool _rz_table_find(uintptr_t addr, struct _rz_block *out)
{
	struct _rz_rec *r = table_hinted_rec(addr);
	if (!r)
		r = table_lookup(addr);
	if (!r)
		return false;
	rec_read(r, out);
	return out->addr == addr;
}

static void write_begin(struct shard *s)
{
	STORE(s->seq, s->seq + 1);
	/* The odd sequence before any slot store: a reader that sees one of
	 * them (then its acquire fence) sees the odd sequence on its second
	 * load. A release fence is enough, and costs no instruction on x86
	 * (the full fence here was an mfence on every insert and remove). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(struct shard *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

/* Puts (addr, ri) into the index at its first free slot. Shard locked. */
static void slot_put(struct slot *slots, size_t cap, uintptr_t addr, uint64_t ri)
{
	size_t i = home_of(addr, cap);
	while (slots[i].addr != 0)
		i = (i + 1) & (cap - 1);
	STORE(slots[i].rec, ri);
	STORE(slots[i].addr, addr);
}

/* Makes room for `need` more blocks: a first index, a bigger one past 3/4
 * full, chunks of records for the next `need` at the high-water mark.
 * false when out of memory. Shard locked. */
static bool shard_grow(struct shard *s, size_t need)
{
	if (!s->slots || s->live + need > s->cap / 4 * 3) {
		size_t cap = s->slots ? s->cap * 2 : FIRST_CAP;
		if (cap > SHARD_CAP)
			return s->live + need < SHARD_CAP; /* only moves get here */
		struct slot *fresh = _rz_meta_alloc(cap * sizeof(struct slot));
		if (!fresh)
			return false;
		for (size_t i = 0; s->slots && i < s->cap; i++)
			if (s->slots[i].addr)
				slot_put(fresh, cap, s->slots[i].addr, s->slots[i].rec);
		write_begin(s);
		__atomic_store_n(&s->slots, fresh, __ATOMIC_RELEASE);
		__atomic_store_n(&s->cap, cap, __ATOMIC_RELEASE);
		write_end(s);
	}
	/* Records from the free list need no chunk; at the high-water mark
	 * the next `need` may. */
	size_t last = (s->hwm + need - 1) / CHUNK_RECS;
	for (size_t k = s->hwm / CHUNK_RECS; k <= last && k < SHARD_CHUNKS; k++) {
		if (s->chunks[k])
			continue;
		struct _rz_rec *c = _rz_meta_alloc(CHUNK_RECS * sizeof(struct _rz_rec));
		if (!c)
			return false;
		__atomic_store_n(&s->chunks[k], c, __ATOMIC_RELEASE);
	}
	return true;
}

/*
 * Moves. A move's pages are at their new address before its record can go
 * in (large.c, large_move), so that insert must not fail; it did when it
 * needed memory for the shard's index or records and the process was at
 * its limit (4 threads filling RLIMIT_DATA with blocks and growing arrays:
 * SIGSEGV in jemalloc in 2-5 runs of 10, freeing a moved block the table
 * had lost). The new address, and so its shard, is not known before the
 * move. So a move first makes sure of room in every shard for every move
 * in flight (_rz_table_move_begin), allocating where it can; where it
 * cannot, the move is not made (the caller copies, or fails cleanly).
 * Room for a move is what is there without allocating: index slots up to
 * the index's size (moves may fill past 3/4), free records and records
 * left in allocated chunks.
 */
static unsigned table_moves; /* in flight, between begin and end */

static bool shard_move_room(struct shard *s, size_t n)
{
	if (shard_grow(s, n))
		return true;
	if (!s->slots || s->live + n >= s->cap)
		return false;
	size_t recs = s->nfree;
	for (size_t k = s->hwm / CHUNK_RECS; k < SHARD_CHUNKS && s->chunks[k]; k++)
		recs += (k + 1) * CHUNK_RECS - (s->hwm > k * CHUNK_RECS ? s->hwm : k * CHUNK_RECS);
	return recs >= n;
}

bool _rz_table_move_begin(void)
{
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return false;
	size_t n = __atomic_add_fetch(&table_moves, 1, __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < SHARDS; i++) {
		shard_lock(&shards[i]);
		bool ok = shard_move_room(&shards[i], n);
		shard_unlock(&shards[i]);
		if (!ok) {
			__atomic_sub_fetch(&table_moves, 1, __ATOMIC_SEQ_CST);
			return false;
		}
	}
	return true;
}

void _rz_table_move_end(void)
{
	__atomic_sub_fetch(&table_moves, 1, __ATOMIC_SEQ_CST);
}

static int table_insert(const struct _rz_block *b, size_t max_live, bool move)
{
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return 12; /* ENOMEM: this file includes no OS or errno header */
	struct shard *s = shard_of(b->addr);
	shard_lock(s);
	if (s->live >= max_live || !(move ? shard_move_room(s, 1) : shard_grow(s, 1))) {
		shard_unlock(s);
		return 12;
	}
	uint32_t ri;
	if (s->free_head) {
		ri = s->free_head - 1;
		s->free_head = rec_at(s, ri)->next_free;
		s->nfree--;
	} else {
		ri = (uint32_t)s->hwm;
	}
	struct _rz_rec *r = rec_at(s, ri);
	rec_fill(r, b);
	__atomic_store_n(&r->addr, b->addr, __ATOMIC_RELEASE);
	if (ri == s->hwm)
		__atomic_store_n(&s->hwm, s->hwm + 1, __ATOMIC_RELEASE);
	write_begin(s);
	slot_put(s->slots, s->cap, b->addr, ri);
	write_end(s);
	s->live++;
	__atomic_fetch_add(&table_live, 1, __ATOMIC_RELAXED);
	shard_unlock(s);
	table_hint(b->addr, r);
	return 0;
}

int _rz_table_insert(const struct _rz_block *b)
{
	return table_insert(b, SHARD_MAX_LIVE, false);
}

int _rz_table_insert_moved(const struct _rz_block *b)
{
	return table_insert(b, SHARD_RECS, true);
}

struct _rz_rec *_rz_table_acquire(uintptr_t addr, struct _rz_block *out)
{
	struct _rz_rec *r = table_hinted_rec(addr);
	if (r) {
		rec_lock(r);
		rec_read(r, out);
		if (out->addr == addr)
			return r;
		rec_unlock(r);
	}
	for (;;) {
		r = table_lookup(addr);
		if (!r)
			return NULL;
		rec_lock(r);
		rec_read(r, out);
		if (out->addr == addr) {
			table_hint(addr, r);
			return r;
		}
		rec_unlock(r);
		/* The record was freed while we waited for its lock: the
		 * block moved or was freed, and a new block may already sit
		 * at addr (test_table.c, a move's old address reused). Look
		 * again; a freed record no longer matches. */
	}
}

void _rz_table_release(struct _rz_rec *r, const struct _rz_block *b)
{
	if (b)
		rec_fill(r, b);
	rec_unlock(r);
}

void _rz_table_hide(struct _rz_rec *r)
{
	__atomic_store_n(&r->addr, 0, __ATOMIC_RELEASE);
}

void _rz_table_unhide(struct _rz_rec *r, uintptr_t addr)
{
	__atomic_store_n(&r->addr, addr, __ATOMIC_RELEASE);
}

void _rz_table_remove(struct _rz_rec *r)
{
	_rz_table_remove_hidden(r, LOAD(r->addr));
}

void _rz_table_remove_hidden(struct _rz_rec *r, uintptr_t addr)
{
	/* Lookups fail from here on; whoever locks the record next sees it
	 * free. Unlock before the record can be reused by an insert. */
	__atomic_store_n(&r->addr, 0, __ATOMIC_RELEASE);
	if (table_hint_rec == r)
		table_hint(TABLE_NO_HINT, NULL);
	rec_unlock(r);
	struct shard *s = shard_of(addr);
	shard_lock(s);
	struct slot *slots = s->slots;
	size_t cap = s->cap;
	size_t i = slots ? home_of(addr, cap) : 0;
	/* This record's slot: another slot may hold the same address (a new
	 * block mapped where a move just freed this one's range). */
	while (slots && (slots[i].addr != addr || slots[i].rec >= s->hwm ||
	    rec_at(s, slots[i].rec) != r)) {
		if (slots[i].addr == 0)
			slots = NULL;
		else
			i = (i + 1) & (cap - 1);
	}
	if (!slots) {
		shard_unlock(s);
		return;
	}
	uint32_t ri = (uint32_t)slots[i].rec;
	write_begin(s);
	/* Backward-shift deletion: pull up every entry that probed past i. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & (cap - 1);
		uintptr_t a = slots[j].addr;
		if (a == 0)
			break;
		size_t home = home_of(a, cap);
		/* Entry j may move to i unless its home lies in (i, j]. */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (between)
			continue;
		STORE(slots[i].rec, slots[j].rec);
		STORE(slots[i].addr, a);
		i = j;
	}
	STORE(slots[i].addr, 0);
	write_end(s);
	rec_at(s, ri)->next_free = s->free_head;
	s->free_head = ri + 1;
	s->nfree++;
	s->live--;
	__atomic_fetch_sub(&table_live, 1, __ATOMIC_RELAXED);
	shard_unlock(s);
}

/* Calls visit on every record ever used (live or free), shard by shard,
 * until it returns true; returns whether one did. Lock-free: records are
 * published before the count that covers them. */
static bool table_scan(bool (*visit)(struct _rz_rec *, void *), void *arg)
{
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return false;
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *s = &shards[i];
		size_t hwm = __atomic_load_n(&s->hwm, __ATOMIC_ACQUIRE);
		for (size_t k = 0; k < hwm; k++) {
			struct _rz_rec *r = rec_at(s, k);
			if (LOAD(r->addr) != 0 && visit(r, arg))
				return true;
		}
	}
	return false;
}

struct table_visit {
	void (*each)(const struct _rz_block *, void *);
	bool (*each_locked)(struct _rz_block *, void *);
	void *arg;
	uintptr_t p;              /* find_containing */
	struct _rz_block *out;
};

static bool table_visit_locked(struct _rz_rec *r, void *arg)
{
	struct table_visit *v = arg;
	struct _rz_block b;
	/* A block busy in its owner's hands is skipped, never waited for:
	 * reclaim and decay are best effort, and waiting could stall fork's
	 * prepare handler behind an owner a signal handler interrupted. */
	if (__atomic_exchange_n(&r->lock, 1, __ATOMIC_ACQUIRE))
		return false;
	rec_read(r, &b);
	bool changed = b.addr != 0 && v->each_locked(&b, v->arg);
	_rz_table_release(r, changed ? &b : NULL);
	return false;
}

void _rz_table_each_locked(bool (*fn)(struct _rz_block *, void *), void *arg)
{
	struct table_visit v = { .each_locked = fn, .arg = arg };
	table_scan(table_visit_locked, &v);
}

static bool table_visit_each(struct _rz_rec *r, void *arg)
{
	struct table_visit *v = arg;
	struct _rz_block b;
	rec_read(r, &b);
	if (b.addr)
		v->each(&b, v->arg);
	return false;
}

void _rz_table_each(void (*fn)(const struct _rz_block *, void *), void *arg)
{
	struct table_visit v = { .each = fn, .arg = arg };
	table_scan(table_visit_each, &v);
}

static bool table_visit_containing(struct _rz_rec *r, void *arg)
{
	struct table_visit *v = arg;
	uintptr_t a = LOAD(r->addr);
	if (!a || v->p < a || v->p - a >= LOAD(r->reserved))
		return false;
	rec_read(r, v->out);
	return true;
}

bool _rz_table_find_containing(uintptr_t p, struct _rz_block *out)
{
	struct table_visit v = { .p = p, .out = out };
	return table_scan(table_visit_containing, &v);
}

bool _rz_table_locked(void)
{
	for (size_t i = 0; i < SHARDS; i++) {
		if (!_rz_short_trylock(&shards[i].lock))
			return true;
		_rz_short_unlock(&shards[i].lock);
	}
	return false;
}

void _rz_table_prefork(void)
{
	/* The marked one is this thread's (lockmark.h). */
	for (size_t i = 0; i < SHARDS; i++)
		if ((shard_forked[i] = &shards[i] != shard_mine))
			_rz_short_lock(&shards[i].lock);
}

void _rz_table_postfork_parent(void)
{
	for (size_t i = 0; i < SHARDS; i++)
		if (shard_forked[i])
			_rz_short_unlock(&shards[i].lock);
}

void _rz_table_postfork_child(void)
{
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *s = &shards[i];
		_rz_short_lock_init(&s->lock);
		/* A fork from a signal handler may have interrupted a writer
		 * between write_begin and write_end; no writer exists in the
		 * child, and an odd sequence would keep its readers spinning. */
		if (s->seq & 1)
			STORE(s->seq, s->seq + 1);
		for (size_t k = 0; k < s->hwm; k++)
			STORE(rec_at(s, k)->lock, 0);
	}
}
