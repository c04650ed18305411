/*
 * cache.c - the freed-mapping cache: 8 shards of 8 entries, best fit,
 * oldest out.
 *
 * A thread uses the shard its stack address hashes to, so threads that
 * malloc and free in a loop each find their own mappings without meeting
 * (large churn with 4 threads: one engine lock made rezone slower than
 * jemalloc, 5.9 against 3.8 us/op); a thread whose shard has nothing
 * fitting takes from the others. A mapping serves any request it can
 * hold, whatever its headroom: a vector grown to 64 MiB and freed is what
 * the next vector grows into (rejecting big reservations made rezone's own
 * target workload miss every time, 774 us a vector against glibc's 32).
 * Entries are accounted by their dirty bytes, which is what they cost in
 * RSS.
 * May include: cache.h, lockmark.h, options.h, stats.h, backend/os.h.
 */
#include "engine/cache.h"
#include "engine/lockmark.h"
#include "engine/options.h"
#include "engine/stats.h"

#define CACHE_SHARDS 8
#define CACHE_SLOTS (RZ_CACHE_MAX / CACHE_SHARDS)

struct cache_shard {
	_rz_short_lock_t lock;
	size_t n;
	struct _rz_cached e[CACHE_SLOTS];
	char pad[64];
};

static struct cache_shard cache_shards[CACHE_SHARDS];
static bool cache_forked[CACHE_SHARDS]; /* taken by the prepare handler */
/* The shard whose lock this thread is taking, holds or is releasing
 * (lockmark.h). */
static RZ_THREAD_LOCAL void *cache_mine;

static void cache_lock(struct cache_shard *s)
{
	_rz_lock_marked(&cache_mine, s, &s->lock);
}

static void cache_unlock(struct cache_shard *s)
{
	_rz_unlock_marked(&cache_mine, &s->lock);
}
static size_t cache_bytes;      /* dirty bytes of every entry */
static size_t cache_reserved;   /* address space of every entry */
static bool cache_locks_ready;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void _rz_cache_init(void)
{
	if (LOAD(cache_locks_ready))
		return;
	for (size_t i = 0; i < CACHE_SHARDS; i++)
		_rz_short_lock_init(&cache_shards[i].lock);
	__atomic_store_n(&cache_locks_ready, true, __ATOMIC_RELEASE);
}

/* The calling thread's shard: its stack lies in a region of its own, so
 * the stack address, at MiB grain, tells threads apart without TLS. */
static size_t cache_home(void)
{
	char here;
	uintptr_t sp = (uintptr_t)&here >> 20;
	return (size_t)((sp * 0x9E3779B97F4A7C15ull) >> 61);
}

static void cache_remove_at(struct cache_shard *s, size_t i, struct _rz_cached *out)
{
	*out = s->e[i];
	s->e[i] = s->e[--s->n];
	__atomic_fetch_sub(&cache_bytes, out->dirty, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&cache_reserved, out->reserved, __ATOMIC_RELAXED);
}

/* Index of the best entry of s for the request, or CACHE_SLOTS. Prefer a
 * mapping whose touched pages already cover the request (no page fault at
 * all), the smallest such; else the one with the most touched pages. */
static size_t cache_best(const struct cache_shard *s, size_t size, size_t align)
{
	size_t best = CACHE_SLOTS;
	bool best_covers = false;
	for (size_t i = 0; i < s->n; i++) {
		const struct _rz_cached *c = &s->e[i];
		if (c->reserved < size || (c->addr & (align - 1)) != 0)
			continue;
		bool covers = c->dirty >= size;
		if (best == CACHE_SLOTS || (covers && !best_covers) ||
		    (covers && best_covers && c->dirty < s->e[best].dirty) ||
		    (!covers && !best_covers && c->dirty > s->e[best].dirty)) {
			best = i;
			best_covers = covers;
		}
	}
	return best;
}

bool _rz_cache_take(size_t size, size_t align, struct _rz_cached *out)
{
	if (!LOAD(cache_locks_ready))
		return false;
	size_t home = cache_home();
	for (size_t k = 0; k < CACHE_SHARDS; k++) {
		struct cache_shard *s = &cache_shards[(home + k) % CACHE_SHARDS];
		if (LOAD(s->n) == 0)
			continue;
		cache_lock(s);
		size_t i = cache_best(s, size, align);
		if (i != CACHE_SLOTS) {
			cache_remove_at(s, i, out);
			cache_unlock(s);
			return true;
		}
		cache_unlock(s);
	}
	return false;
}

/* Calls visit on every entry, each shard under its lock in turn; with
 * try, shards whose lock is busy are skipped. */
static void cache_scan(void (*visit)(const struct _rz_cached *, size_t, void *), void *arg,
    bool try)
{
	for (size_t k = 0; k < CACHE_SHARDS; k++) {
		struct cache_shard *s = &cache_shards[k];
		if (LOAD(s->n) == 0)
			continue;
		if (try && !_rz_trylock_marked(&cache_mine, s, &s->lock))
			continue;
		if (!try)
			cache_lock(s);
		for (size_t i = 0; i < s->n; i++)
			visit(&s->e[i], k, arg);
		cache_unlock(s);
	}
}

struct cache_pick {
	size_t min_dirty, dirty, reserved; /* most touched */
	uint64_t freed_ns;                 /* oldest dirty */
	uintptr_t addr;
	size_t shard;
};

static void cache_pick_most_touched(const struct _rz_cached *c, size_t shard, void *arg)
{
	struct cache_pick *p = arg;
	(void)shard;
	if (c->dirty >= p->min_dirty && c->dirty > p->dirty) {
		p->dirty = c->dirty;
		p->reserved = c->reserved;
	}
}

size_t _rz_cache_most_touched(size_t min_dirty)
{
	if (!LOAD(cache_locks_ready))
		return 0;
	struct cache_pick p = { .min_dirty = min_dirty };
	cache_scan(cache_pick_most_touched, &p, false);
	return p.reserved;
}

/* Moves the oldest entry of s to out; false if s is empty. Lock held. */
static bool cache_evict_oldest(struct cache_shard *s, struct _rz_cached *out)
{
	if (s->n == 0)
		return false;
	size_t oldest = 0;
	for (size_t i = 1; i < s->n; i++)
		if (s->e[i].freed_ns < s->e[oldest].freed_ns)
			oldest = i;
	cache_remove_at(s, oldest, out);
	RZ_STAT_ADD(cache_releases, 1);
	return true;
}

/* Over either bound: the dirty bytes (REZONE_CACHE) or the address space
 * (max_reserved). */
static bool cache_over(size_t max_reserved)
{
	return LOAD(cache_bytes) > _rz_opt.cache_bytes || LOAD(cache_reserved) > max_reserved;
}

bool _rz_cache_put(const struct _rz_cached *c, struct _rz_cached *out, size_t *n,
    size_t max_reserved)
{
	*n = 0;
	if (c->dirty > _rz_opt.cache_bytes || c->reserved > max_reserved)
		return false;
	if (!LOAD(cache_locks_ready))
		return false;
	size_t home = cache_home();
	struct cache_shard *s = &cache_shards[home];
	cache_lock(s);
	if (s->n == CACHE_SLOTS)
		*n += cache_evict_oldest(s, &out[*n]);
	s->e[s->n++] = *c;
	__atomic_fetch_add(&cache_bytes, c->dirty, __ATOMIC_RELAXED);
	__atomic_fetch_add(&cache_reserved, c->reserved, __ATOMIC_RELAXED);
	cache_unlock(s);
	/* Over budget: the oldest go, this shard's first. The entry just
	 * put is the newest, so it is the last to go. */
	for (size_t k = 0; k < CACHE_SHARDS && cache_over(max_reserved); k++) {
		struct cache_shard *o = &cache_shards[(home + k) % CACHE_SHARDS];
		cache_lock(o);
		while (cache_over(max_reserved) && *n < RZ_CACHE_MAX &&
		    cache_evict_oldest(o, &out[*n]))
			(*n)++;
		cache_unlock(o);
	}
	return true;
}

size_t _rz_cache_expire(uint64_t cutoff_ns, struct _rz_cached *out, uint64_t *oldest_ns)
{
	size_t n = 0;
	*oldest_ns = 0;
	if (!LOAD(cache_locks_ready))
		return 0;
	for (size_t k = 0; k < CACHE_SHARDS; k++) {
		struct cache_shard *s = &cache_shards[k];
		if (LOAD(s->n) == 0)
			continue;
		cache_lock(s);
		for (size_t i = 0; i < s->n;) {
			if (s->e[i].freed_ns < cutoff_ns || cutoff_ns == UINT64_MAX) {
				cache_remove_at(s, i, &out[n++]);
				RZ_STAT_ADD(cache_releases, 1);
			} else {
				if (*oldest_ns == 0 || s->e[i].freed_ns < *oldest_ns)
					*oldest_ns = s->e[i].freed_ns;
				i++;
			}
		}
		cache_unlock(s);
	}
	return n;
}

static void cache_pick_oldest_dirty(const struct _rz_cached *c, size_t shard, void *arg)
{
	struct cache_pick *p = arg;
	if (c->dirty && c->freed_ns <= p->freed_ns) {
		p->freed_ns = c->freed_ns;
		p->addr = c->addr;
		p->shard = shard;
	}
}

bool _rz_cache_take_oldest_dirty(struct _rz_cached *out)
{
	/* Best effort, and reached from the program's mmap, maybe in a
	 * signal handler that interrupted this thread inside a shard's lock
	 * (it waited for itself for ever): busy shards are skipped. */
	if (!LOAD(cache_locks_ready) || __atomic_load_n(&cache_mine, __ATOMIC_RELAXED))
		return false;
	/* Found under each shard's lock in turn, then taken if still there
	 * (another thread may have taken it meanwhile: look again). */
	for (int round = 0; round < 4; round++) {
		struct cache_pick p = { .freed_ns = UINT64_MAX, .shard = CACHE_SHARDS };
		cache_scan(cache_pick_oldest_dirty, &p, true);
		if (p.shard == CACHE_SHARDS)
			return false;
		struct cache_shard *s = &cache_shards[p.shard];
		if (!_rz_trylock_marked(&cache_mine, s, &s->lock))
			continue;
		for (size_t i = 0; i < s->n; i++)
			if (s->e[i].addr == p.addr && s->e[i].dirty) {
				cache_remove_at(s, i, out);
				cache_unlock(s);
				return true;
			}
		cache_unlock(s);
	}
	return false;
}

bool _rz_cache_find_containing(uintptr_t p, struct _rz_cached *out)
{
	if (!LOAD(cache_locks_ready))
		return false;
	bool found = false;
	for (size_t k = 0; k < CACHE_SHARDS && !found; k++) {
		struct cache_shard *s = &cache_shards[k];
		cache_lock(s);
		for (size_t i = 0; i < s->n; i++) {
			if (p >= s->e[i].addr && p - s->e[i].addr < s->e[i].reserved) {
				*out = s->e[i];
				found = true;
				break;
			}
		}
		cache_unlock(s);
	}
	return found;
}

size_t _rz_cache_bytes(void)
{
	return LOAD(cache_bytes);
}

bool _rz_cache_locked(void)
{
	for (size_t k = 0; k < CACHE_SHARDS; k++) {
		if (!_rz_short_trylock(&cache_shards[k].lock))
			return true;
		_rz_short_unlock(&cache_shards[k].lock);
	}
	return false;
}

void _rz_cache_prefork(void)
{
	/* The marked one is this thread's (lockmark.h). */
	for (size_t k = 0; k < CACHE_SHARDS; k++)
		if ((cache_forked[k] = &cache_shards[k] != cache_mine))
			_rz_short_lock(&cache_shards[k].lock);
}

void _rz_cache_postfork_parent(void)
{
	for (size_t k = 0; k < CACHE_SHARDS; k++)
		if (cache_forked[k])
			_rz_short_unlock(&cache_shards[k].lock);
}

void _rz_cache_postfork_child(void)
{
	for (size_t k = 0; k < CACHE_SHARDS; k++)
		_rz_short_lock_init(&cache_shards[k].lock);
}
