/*
 * stats.h - large-path counters as one field list (X-macro).
 *
 * The list mirrors struct rezone_stats in include/rezone.h field for field;
 * counting is one relaxed atomic add, on the large path only.
 * May include: backend/os.h, rezone.h.
 */
#ifndef RZ_ENGINE_STATS_H
#define RZ_ENGINE_STATS_H

#include <stdint.h>

#include "backend/os.h"

#define RZ_STATS_FIELDS(X) \
	X(large_allocs) X(large_frees) X(grow_reserved) X(grow_in_place) \
	X(grow_moved) X(grow_copied) X(bytes_not_copied) X(bytes_copied) \
	X(shrinks) X(cache_hits) X(cache_releases) X(fallbacks_small) \
	X(large_live) X(large_live_bytes) X(large_peak_bytes)

struct _rz_counters {
#define RZ_STATS_DECL(name) uint64_t name;
	RZ_STATS_FIELDS(RZ_STATS_DECL)
#undef RZ_STATS_DECL
};
extern struct _rz_counters _rz_counters RZ_HIDDEN;

#define RZ_STAT_ADD(name, n) \
	__atomic_fetch_add(&_rz_counters.name, (uint64_t)(n), __ATOMIC_RELAXED)
#define RZ_STAT_SUB(name, n) \
	__atomic_fetch_sub(&_rz_counters.name, (uint64_t)(n), __ATOMIC_RELAXED)

/* large_live_bytes grows by n and large_peak_bytes follows it up: every
 * path that raises the live bytes (new block, growth in place, move,
 * copy, rezone_expand) goes through here, so the peak is exact, not
 * sampled. The compare-and-swap runs only when a new high is set. */
static inline void _rz_stat_live_bytes_add(uint64_t n)
{
	uint64_t now = __atomic_add_fetch(&_rz_counters.large_live_bytes, n, __ATOMIC_RELAXED);
	uint64_t seen = __atomic_load_n(&_rz_counters.large_peak_bytes, __ATOMIC_RELAXED);
	while (now > seen && !__atomic_compare_exchange_n(&_rz_counters.large_peak_bytes,
	    &seen, now, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* The REZONE_STATS report: "rezone[PID] PROGRAM: name=value ..." on
 * stderr (nothing when the process made no large request), or one JSON
 * object appended to REZONE_STATS=FILE. */
void _rz_stats_print(void) RZ_HIDDEN;

#endif
