/*
 * budget.c - the headroom policy and the process-wide headroom budget.
 *
 * Per block: a new block reserves headroom_pct of its size beyond it
 * (100%: twice its size); a block that has outgrown its reservation is a
 * growing buffer and reserves 1 + 7 x headroom_pct/100 times its size
 * (8x by default), at most 64 GiB of headroom. 8x means a buffer grown
 * from 64 KiB to 256 MiB by 1 MiB steps moves twice, while 100 buffers
 * doubled to 8 MiB hold 3.2 GiB of address space (the earlier x16 per
 * outgrowing held 200 GiB there, and 2,000 buffers of 2.5 GiB ran out of
 * the 128 TiB user space).
 *
 * Process-wide: the unused headroom of all live and cached blocks
 * (address space rezone holds minus the live blocks' bytes) stays within
 * 1/4 of user space, 1/8 of RLIMIT_AS and 1/8 of RLIMIT_DATA, whichever is
 * least. Under `ulimit -v 2G` that leaves 256 MiB of headroom for the
 * whole process, so the program's own bytes always fit where they fit
 * under glibc; a mapping that fails anyway makes the engine reclaim
 * (large.c) and retry.
 * May include: budget.h, options.h, stats.h, backend/os.h.
 */
#include "engine/budget.h"
#include "engine/options.h"
#include "engine/stats.h"

#define MAX_HEADROOM ((size_t)64 << 30)

static size_t budget_held;  /* address space of live + cached mappings */
static size_t budget_limit; /* 0: not computed yet */
static bool budget_locked;  /* mlockall(MCL_FUTURE) in force */
static bool budget_as_limited; /* RLIMIT_AS as last read is finite */
static bool budget_limited;    /* RLIMIT_AS or RLIMIT_DATA is */

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static size_t budget_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

void _rz_budget_refresh(void)
{
	size_t va = _rz_caps.va_size ? _rz_caps.va_size : (size_t)1 << 47;
	size_t limit = va / 4, as, data;
	_rz_os_limits(&as, &data);
	if (as)
		limit = budget_min(limit, as / 8);
	if (data)
		limit = budget_min(limit, data / 8);
	__atomic_store_n(&budget_as_limited, as != 0, __ATOMIC_RELAXED);
	__atomic_store_n(&budget_limited, as != 0 || data != 0, __ATOMIC_RELAXED);
	__atomic_store_n(&budget_limit, limit, __ATOMIC_RELAXED);
}

bool _rz_budget_as_limited(void)
{
	return LOAD(budget_as_limited);
}

bool _rz_budget_limited(void)
{
	return LOAD(budget_limited);
}

size_t _rz_budget_limit(void)
{
	if (LOAD(budget_limit) == 0)
		_rz_budget_refresh();
	return LOAD(budget_limit);
}

void _rz_budget_track(intptr_t delta)
{
	__atomic_fetch_add(&budget_held, (size_t)delta, __ATOMIC_RELAXED);
}

static size_t page_round(size_t n)
{
	size_t pg = _rz_caps.page_size;
	return n > (size_t)-1 - pg ? 0 : (n + pg - 1) & ~(pg - 1);
}

void _rz_budget_set_locked(bool locked)
{
	__atomic_store_n(&budget_locked, locked, __ATOMIC_RELAXED);
}

static size_t budget_headroom(size_t n, uint32_t grows)
{
	size_t pct = LOAD(budget_locked) ? 0 : _rz_opt.headroom_pct;
	size_t extra = n / 100 * pct + (n % 100) * pct / 100;
	if (grows)
		extra = extra > MAX_HEADROOM / 7 ? MAX_HEADROOM : extra * 7;
	return budget_min(extra, MAX_HEADROOM);
}

static size_t budget_layout(size_t n, size_t extra)
{
	/* Guard mode keeps one inaccessible page after the headroom too, or
	 * a write past the end could land in a neighbouring mapping. */
	size_t gap = _rz_opt.guard ? _rz_caps.page_size : 0;
	if (n + gap < n)
		return n;
	size_t r = extra ? page_round(n + extra) : n;
	if (r < n)
		return n + gap;
	/* Equal offsets within 2 MiB let the kernel move page-table pages. */
	if (extra && _rz_caps.move_align && r >= _rz_caps.move_align) {
		size_t a = _rz_caps.move_align;
		if (r <= (size_t)-1 - a)
			r = (r + a - 1) & ~(a - 1);
	}
	return r + gap < r ? r : r + gap;
}

size_t _rz_budget_wanted(size_t n, uint32_t grows)
{
	return budget_layout(n, budget_headroom(n, grows));
}

size_t _rz_budget_reserve(size_t n, uint32_t grows)
{
	size_t extra = budget_headroom(n, grows);
	if (extra) {
		size_t limit = _rz_budget_limit();
		size_t held = LOAD(budget_held), live = LOAD(_rz_counters.large_live_bytes);
		size_t unused = held > live ? held - live : 0;
		extra = budget_min(extra, limit > unused ? limit - unused : 0);
	}
	return budget_layout(n, extra);
}
