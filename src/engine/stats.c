/*
 * stats.c - counter storage, the public rezone_stats() copy and the
 * REZONE_STATS report at exit.
 *
 * The report is one record per process, built in a stack buffer and
 * written with one system call: it runs at exit, inside the allocator, so
 * it never allocates, and one write keeps concurrent processes' records
 * whole. REZONE_STATS=1: one line on stderr, and nothing at all from a
 * process that made no large request (a shell script's helpers stay
 * quiet). REZONE_STATS=FILE: one JSON object per line appended to FILE,
 * for every process, so a summary can count them.
 * May include: stats.h, engine.h, options.h, diag.h, backend/small.h, backend/proc.h,
 * rezone.h.
 */
#include <errno.h>
#include <string.h>

#include "rezone.h"
#include "backend/proc.h"
#include "backend/small.h"
#include "engine/diag.h"
#include "engine/engine.h"
#include "engine/options.h"
#include "engine/stats.h"

struct _rz_counters _rz_counters;

/* The public struct must list the same counters in the same order. */
_Static_assert(sizeof(struct rezone_stats) ==
    8 + sizeof(struct _rz_counters), "rezone_stats out of step with RZ_STATS_FIELDS");

const uint64_t *_rz_large_peak(void)
{
	return &_rz_counters.large_peak_bytes;
}

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

/* A JSON string: quotes, backslashes and control characters escaped; cut
 * at 200 bytes so that the record always fits the line and stays JSON. */
static void stats_json_str(struct _rz_line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t end = l->len + 200;
	_rz_line_str(l, "\"");
	for (; *s && l->len < end; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7] = { '\\', (char)c, 0 };
		if (c < 0x20) {
			esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
			esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; esc[6] = 0;
		} else if (c != '"' && c != '\\') {
			esc[0] = (char)c; esc[1] = 0;
		}
		_rz_line_str(l, esc);
	}
	_rz_line_str(l, "\"");
}

void _rz_stats_print(void)
{
	struct _rz_counters c;
#define RZ_STATS_SNAP(name) c.name = __atomic_load_n(&_rz_counters.name, __ATOMIC_RELAXED);
	RZ_STATS_FIELDS(RZ_STATS_SNAP)
#undef RZ_STATS_SNAP
	struct _rz_line l = { .len = 0 };
	if (_rz_opt.stats_file[0] == '\0') {
		/* Requests that reached the large path at all, served or not. */
		if (c.large_allocs == 0 && c.fallbacks_small == 0)
			return;
		_rz_line_str(&l, "rezone[");
		_rz_line_u64(&l, (uint64_t)_rz_os_pid());
		_rz_line_str(&l, "] ");
		_rz_line_str(&l, _rz_os_progname());
		_rz_line_str(&l, ":");
#define RZ_STATS_KV(name) \
		_rz_line_str(&l, " " #name "="); \
		_rz_line_u64(&l, c.name);
		RZ_STATS_FIELDS(RZ_STATS_KV)
#undef RZ_STATS_KV
		_rz_line_flush(&l);
		return;
	}
	_rz_line_str(&l, "{\"rezone\":\"");
	_rz_line_str(&l, rezone_version());
	_rz_line_str(&l, "\",\"pid\":");
	_rz_line_u64(&l, (uint64_t)_rz_os_pid());
	_rz_line_str(&l, ",\"program\":");
	stats_json_str(&l, _rz_os_progname());
	_rz_line_str(&l, ",\"small\":\"");
	_rz_line_str(&l, _rz_small_name);
	_rz_line_str(&l, "\"");
#define RZ_STATS_JSON(name) \
	_rz_line_str(&l, ",\"" #name "\":"); \
	_rz_line_u64(&l, c.name);
	RZ_STATS_FIELDS(RZ_STATS_JSON)
#undef RZ_STATS_JSON
	_rz_line_str(&l, "}\n");
	int err = _rz_os_append(_rz_opt.stats_file, l.buf, l.len);
	if (err != 0)
		_rz_diag_warn("REZONE_STATS", "cannot append to the stats file",
		    _rz_opt.stats_file);
}
