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
	X(large_live) X(large_live_bytes)

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

/* The REZONE_STATS report: "rezone[PID] PROGRAM: name=value ..." on
 * stderr (nothing when the process made no large request), or one JSON
 * object appended to REZONE_STATS=FILE. */
void _rz_stats_print(void) RZ_HIDDEN;

#endif
