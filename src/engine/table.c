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
 * holding it across a system call is fine. Capacity is fixed and reserved
 * once (only pages in use are touched); when a shard is full, large
 * requests fall back to the small delegate.
 * May include: table.h, backend/os.h.
 */
#include "engine/table.h"

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
	uint32_t pad;
};

struct shard {
	_rz_mutex_t lock;    /* writers */
	struct slot *slots;
	struct _rz_rec *recs;
	uint32_t *free_recs; /* stack of free record indices */
	size_t n_free;
	size_t hwm;          /* records ever used: scans stop here */
	size_t live;
	uint64_t seq;        /* odd while a writer is changing slots */
	char pad[64];
};

static struct shard shards[SHARDS];
static bool table_ready;
static size_t table_live;

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

static size_t home_of(uintptr_t addr)
{
	return (size_t)(table_hash(addr) >> (64 - TABLE_BITS)) & (SHARD_CAP - 1);
}

int _rz_table_init(void)
{
	if (table_ready)
		return 0;
	size_t slots_bytes = SHARD_CAP * sizeof(struct slot);
	size_t recs_bytes = SHARD_RECS * sizeof(struct _rz_rec);
	size_t free_bytes = SHARD_RECS * sizeof(uint32_t);
	size_t per = slots_bytes + recs_bytes + free_bytes;
	size_t pg = _rz_caps.page_size;
	size_t total = (per * SHARDS + pg - 1) & ~(pg - 1);
	void *p;
	int err = _rz_vm_map(total, pg, false, &p);
	if (err)
		return err;
	err = _rz_vm_commit(p, total);
	if (err) {
		_rz_vm_unmap(p, total);
		return err;
	}
	for (size_t i = 0; i < SHARDS; i++) {
		char *base = (char *)p + i * per;
		struct shard *s = &shards[i];
		_rz_mutex_init(&s->lock);
		s->slots = (struct slot *)base;
		s->recs = (struct _rz_rec *)(base + slots_bytes);
		s->free_recs = (uint32_t *)(base + slots_bytes + recs_bytes);
	}
	__atomic_store_n(&table_ready, true, __ATOMIC_RELEASE);
	return 0;
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
		uint64_t rec = (uint64_t)-1;
		for (size_t i = home_of(addr);; i = (i + 1) & (SHARD_CAP - 1)) {
			uintptr_t a = LOAD(s->slots[i].addr);
			if (a == 0)
				break;
			if (a == addr) {
				rec = LOAD(s->slots[i].rec);
				break;
			}
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (LOAD(s->seq) != seq)
			continue;
		if (rec >= SHARD_RECS)
			return NULL;
		struct _rz_rec *r = &s->recs[rec];
		/* A record is reused only after its block is freed; a block's
		 * owner never sees that, anyone else gets a consistent "no". */
		return __atomic_load_n(&r->addr, __ATOMIC_ACQUIRE) == addr ? r : NULL;
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
}

static void rec_fill(struct _rz_rec *r, const struct _rz_block *b)
{
	STORE(r->size, b->size);
	STORE(r->reserved, b->reserved);
	STORE(r->dirty, b->dirty);
	STORE(r->grows, b->grows);
	STORE(r->align_log, b->align_log);
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
	struct _rz_rec *r = table_lookup(addr);
	if (!r)
		return false;
	rec_read(r, out);
	return out->addr == addr;
}

static void write_begin(struct shard *s)
{
	STORE(s->seq, s->seq + 1);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void write_end(struct shard *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

static int table_insert(const struct _rz_block *b, size_t max_live)
{
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return 12; /* ENOMEM: this file includes no OS or errno header */
	struct shard *s = shard_of(b->addr);
	_rz_mutex_lock(&s->lock);
	if (s->live >= max_live) {
		_rz_mutex_unlock(&s->lock);
		return 12;
	}
	uint32_t ri = s->n_free ? s->free_recs[--s->n_free] : (uint32_t)s->hwm++;
	struct _rz_rec *r = &s->recs[ri];
	rec_fill(r, b);
	__atomic_store_n(&r->addr, b->addr, __ATOMIC_RELEASE);
	size_t i = home_of(b->addr);
	while (s->slots[i].addr != 0)
		i = (i + 1) & (SHARD_CAP - 1);
	write_begin(s);
	STORE(s->slots[i].rec, (uint64_t)ri);
	STORE(s->slots[i].addr, b->addr);
	write_end(s);
	s->live++;
	__atomic_fetch_add(&table_live, 1, __ATOMIC_RELAXED);
	_rz_mutex_unlock(&s->lock);
	return 0;
}

int _rz_table_insert(const struct _rz_block *b)
{
	return table_insert(b, SHARD_MAX_LIVE);
}

void _rz_table_insert_moved(const struct _rz_block *b)
{
	table_insert(b, SHARD_RECS);
}

struct _rz_rec *_rz_table_acquire(uintptr_t addr, struct _rz_block *out)
{
	struct _rz_rec *r = table_lookup(addr);
	if (!r)
		return NULL;
	rec_lock(r);
	rec_read(r, out);
	if (out->addr != addr) {
		rec_unlock(r);
		return NULL;
	}
	return r;
}

void _rz_table_release(struct _rz_rec *r, const struct _rz_block *b)
{
	if (b)
		rec_fill(r, b);
	rec_unlock(r);
}

void _rz_table_remove(struct _rz_rec *r)
{
	uintptr_t addr = LOAD(r->addr);
	/* Lookups fail from here on; whoever locks the record next sees it
	 * free. Unlock before the record can be reused by an insert. */
	__atomic_store_n(&r->addr, 0, __ATOMIC_RELEASE);
	rec_unlock(r);
	struct shard *s = shard_of(addr);
	_rz_mutex_lock(&s->lock);
	size_t i = home_of(addr);
	while (s->slots[i].addr != addr) {
		if (s->slots[i].addr == 0) {
			_rz_mutex_unlock(&s->lock);
			return;
		}
		i = (i + 1) & (SHARD_CAP - 1);
	}
	uint32_t ri = (uint32_t)s->slots[i].rec;
	write_begin(s);
	/* Backward-shift deletion: pull up every entry that probed past i. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & (SHARD_CAP - 1);
		uintptr_t a = s->slots[j].addr;
		if (a == 0)
			break;
		size_t home = home_of(a);
		/* Entry j may move to i unless its home lies in (i, j]. */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (between)
			continue;
		STORE(s->slots[i].rec, s->slots[j].rec);
		STORE(s->slots[i].addr, a);
		i = j;
	}
	STORE(s->slots[i].addr, 0);
	write_end(s);
	s->free_recs[s->n_free++] = ri;
	s->live--;
	__atomic_fetch_sub(&table_live, 1, __ATOMIC_RELAXED);
	_rz_mutex_unlock(&s->lock);
}

void _rz_table_each_locked(bool (*fn)(struct _rz_block *, void *), void *arg)
{
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return;
	struct _rz_block b;
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *s = &shards[i];
		size_t hwm = LOAD(s->hwm);
		for (size_t k = 0; k < hwm; k++) {
			struct _rz_rec *r = &s->recs[k];
			if (LOAD(r->addr) == 0)
				continue;
			rec_lock(r);
			rec_read(r, &b);
			bool changed = b.addr != 0 && fn(&b, arg);
			_rz_table_release(r, changed ? &b : NULL);
		}
	}
}

void _rz_table_each(void (*fn)(const struct _rz_block *, void *), void *arg)
{
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return;
	struct _rz_block b;
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *s = &shards[i];
		size_t hwm = LOAD(s->hwm);
		for (size_t k = 0; k < hwm; k++) {
			if (LOAD(s->recs[k].addr)) {
				rec_read(&s->recs[k], &b);
				if (b.addr)
					fn(&b, arg);
			}
		}
	}
}

bool _rz_table_find_containing(uintptr_t p, struct _rz_block *out)
{
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return false;
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *s = &shards[i];
		size_t hwm = LOAD(s->hwm);
		for (size_t k = 0; k < hwm; k++) {
			struct _rz_rec *r = &s->recs[k];
			uintptr_t a = LOAD(r->addr);
			if (a && p >= a && p - a < LOAD(r->reserved)) {
				rec_read(r, out);
				return true;
			}
		}
	}
	return false;
}

void _rz_table_prefork(void)
{
	for (size_t i = 0; i < SHARDS; i++)
		_rz_mutex_lock(&shards[i].lock);
}

void _rz_table_postfork_parent(void)
{
	for (size_t i = 0; i < SHARDS; i++)
		_rz_mutex_unlock(&shards[i].lock);
}

void _rz_table_postfork_child(void)
{
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *s = &shards[i];
		_rz_mutex_init(&s->lock);
		for (size_t k = 0; k < s->hwm; k++)
			STORE(s->recs[k].lock, 0);
	}
}
