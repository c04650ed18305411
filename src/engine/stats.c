/*
 * stats.c - counter storage, the public rezone_stats() copy and the
 * REZONE_STATS=1 report.
 * May include: stats.h, diag.h, rezone.h.
 */
#include <errno.h>
#include <string.h>

#include "rezone.h"
#include "engine/diag.h"
#include "engine/stats.h"

struct _rz_counters _rz_counters;

/* The public struct must list the same counters in the same order. */
_Static_assert(sizeof(struct rezone_stats) ==
    8 + sizeof(struct _rz_counters), "rezone_stats out of step with RZ_STATS_FIELDS");

__attribute__((visibility("default")))
int rezone_stats(struct rezone_stats *out, size_t size)
{
	if (!out || size < 8) {
		errno = EINVAL;
		return EINVAL;
	}
	struct rezone_stats s;
	s.version = REZONE_STATS_VERSION;
	s.size = (uint32_t)(size < sizeof(s) ? size : sizeof(s));
#define RZ_STATS_COPY(name) s.name = __atomic_load_n(&_rz_counters.name, __ATOMIC_RELAXED);
	RZ_STATS_FIELDS(RZ_STATS_COPY)
#undef RZ_STATS_COPY
	memcpy(out, &s, s.size);
	return 0;
}

void _rz_stats_print(void)
{
	struct _rz_line l = { .len = 0 };
#define RZ_STATS_LINE(name) \
	_rz_line_str(&l, "rezone: " #name " "); \
	_rz_line_u64(&l, __atomic_load_n(&_rz_counters.name, __ATOMIC_RELAXED)); \
	_rz_line_flush(&l);
	RZ_STATS_FIELDS(RZ_STATS_LINE)
#undef RZ_STATS_LINE
}
