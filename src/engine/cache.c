/*
 * cache.c - the freed-mapping cache: a small array, best fit, oldest out.
 *
 * A few dozen entries at most: the lists stay in one or two cache lines'
 * worth of scanning, and a bigger cache would hold memory the program no
 * longer wants. Entries are accounted by their dirty bytes, which is what
 * they cost in RSS.
 * May include: cache.h, options.h, stats.h, backend/os.h.
 */
#include "engine/cache.h"
#include "engine/options.h"
#include "engine/stats.h"

#define CACHE_SLOTS 32

static struct {
	struct _rz_cached e[CACHE_SLOTS];
	size_t n;
	size_t bytes;
} cache;

static void cache_release(size_t i)
{
	struct _rz_cached *c = &cache.e[i];
	_rz_span_mark(c->addr, c->reserved, -1);
	_rz_vm_unmap((void *)c->addr, c->reserved);
	_rz_grave_add(c->addr);
	cache.bytes -= c->dirty;
	cache.e[i] = cache.e[--cache.n];
	RZ_STAT_ADD(cache_releases, 1);
}

bool _rz_cache_take(size_t size, size_t align, struct _rz_cached *out)
{
	/* Prefer a mapping whose touched pages already cover the request (no
	 * page fault at all), the smallest such; else the one with the most
	 * touched pages. */
	size_t best = CACHE_SLOTS;
	bool best_covers = false;
	for (size_t i = 0; i < cache.n; i++) {
		const struct _rz_cached *c = &cache.e[i];
		if (c->reserved < size || (c->addr & (align - 1)) != 0)
			continue;
		/* Do not pin a huge reservation, or many touched pages, under
		 * a small block: the block would keep them for its lifetime. */
		if (c->reserved / 8 > size || c->dirty / 4 > size)
			continue;
		bool covers = c->dirty >= size;
		if (best == CACHE_SLOTS || (covers && !best_covers) ||
		    (covers && best_covers && c->dirty < cache.e[best].dirty) ||
		    (!covers && !best_covers && c->dirty > cache.e[best].dirty)) {
			best = i;
			best_covers = covers;
		}
	}
	if (best == CACHE_SLOTS)
		return false;
	*out = cache.e[best];
	cache.bytes -= out->dirty;
	cache.e[best] = cache.e[--cache.n];
	/* The span stays marked: the mapping passes straight back to a block. */
	return true;
}

bool _rz_cache_put(const struct _rz_cached *c)
{
	if (c->dirty > _rz_opt.cache_bytes)
		return false;
	while (cache.n > 0 && (cache.n == CACHE_SLOTS ||
	    cache.bytes + c->dirty > _rz_opt.cache_bytes)) {
		size_t oldest = 0;
		for (size_t i = 1; i < cache.n; i++)
			if (cache.e[i].freed_ns < cache.e[oldest].freed_ns)
				oldest = i;
		cache_release(oldest);
	}
	cache.e[cache.n++] = *c;
	cache.bytes += c->dirty;
	return true;
}

void _rz_cache_decay(uint64_t now_ns)
{
	uint64_t limit = (uint64_t)_rz_opt.cache_decay_ms * 1000000u;
	for (size_t i = 0; i < cache.n;) {
		if (now_ns - cache.e[i].freed_ns >= limit)
			cache_release(i);
		else
			i++;
	}
}

void _rz_cache_flush(void)
{
	while (cache.n)
		cache_release(cache.n - 1);
}

bool _rz_cache_find_containing(uintptr_t p, struct _rz_cached *out)
{
	for (size_t i = 0; i < cache.n; i++) {
		if (p >= cache.e[i].addr && p - cache.e[i].addr < cache.e[i].reserved) {
			*out = cache.e[i];
			return true;
		}
	}
	return false;
}

size_t _rz_cache_bytes(void)
{
	return cache.bytes;
}
