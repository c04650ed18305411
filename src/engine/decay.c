/*
 * decay.c - a helper thread that returns cached mappings idle for longer
 * than REZONE_CACHE_DECAY_MS.
 *
 * Decay used to run only inside large calls, so a program that freed
 * 8 x 30 MiB and went on with small allocations kept 242 MiB resident
 * forever. Checking the clock on the small path would cost every small
 * call; a thread costs nothing there. It starts the first time the cache
 * holds a mapping, sleeps until the oldest entry is due, and waits
 * without waking while there is nothing to return. It runs with every
 * signal blocked.
 * If it cannot be started (thread limits), decay falls back to running
 * inside large calls, as before.
 * May include: decay.h, cache.h, large.h, options.h, backend/os.h,
 * backend/small.h (whether a helper thread may run beside the delegate).
 */
#include "backend/small.h"
#include "engine/cache.h"
#include "engine/decay.h"
#include "engine/large.h"
#include "engine/options.h"

/* NONE: no thread yet (or a fork child); SLEEPING: the thread waits for
 * work; ACTIVE: it works or sleeps until something is due. */
enum { DECAY_NONE, DECAY_SLEEPING, DECAY_ACTIVE, DECAY_UNAVAILABLE };
static int decay_state;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)

static uint64_t decay_limit_ns(void)
{
	return (uint64_t)_rz_opt.cache_decay_ms * 1000000u;
}

/* Releases what is due; returns when to look next (0: nothing left). */
static uint64_t decay_release_due(uint64_t now)
{
	struct _rz_cached out[RZ_CACHE_MAX];
	uint64_t limit = decay_limit_ns(), oldest;
	uint64_t cutoff = now > limit ? now - limit : 0;
	size_t n = _rz_cache_expire(cutoff + 1, out, &oldest);
	_rz_large_unmap_cached(out, n);
	_rz_large_decay_excess(cutoff + 1);
	uint64_t due = oldest ? oldest + limit : 0;
	/* Live blocks' spare pages: look again within half the decay time
	 * (their ages are not tracked centrally). */
	if (_rz_large_excess_pending() && (due == 0 || due > now + limit / 2))
		due = now + limit / 2 + 1;
	return due;
}

static bool decay_has_work(void)
{
	uint64_t oldest;
	struct _rz_cached none[RZ_CACHE_MAX];
	return _rz_cache_expire(0, none, &oldest) != 0 || oldest != 0 ||
	    _rz_large_excess_pending();
}

/* The thread never exits once started: a process that had it stays
 * multi-threaded for glibc anyway, and a thread that comes and goes would
 * leave fork's prepare handler unable to tell whether the process's other
 * thread is this one (README, "Fork"). It waits for work without waking. */
static void *decay_main(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t now = _rz_os_now_ns();
		uint64_t due = decay_release_due(now);
		if (due == 0) {
			__atomic_store_n(&decay_state, DECAY_SLEEPING, __ATOMIC_SEQ_CST);
			/* A put after the scan may have seen us active. */
			if (!decay_has_work())
				_rz_os_wait();
			__atomic_store_n(&decay_state, DECAY_ACTIVE, __ATOMIC_SEQ_CST);
			continue;
		}
		now = _rz_os_now_ns();
		uint64_t wait = due > now ? due - now : 0;
		/* At least 1 ms, so a zero decay time does not spin. */
		_rz_os_sleep_ns(wait < 1000000u ? 1000000u : wait);
	}
	return NULL;
}

void _rz_decay_kick(void)
{
	int state = LOAD(decay_state);
	if (state == DECAY_SLEEPING) {
		_rz_os_wake();
		return;
	}
	int none = DECAY_NONE;
	if (state != DECAY_NONE ||
	    !__atomic_compare_exchange_n(&decay_state, &none, DECAY_ACTIVE, false,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	if (!_rz_small_allows_helper_thread() || _rz_os_thread_start(decay_main, NULL) != 0)
		__atomic_store_n(&decay_state, DECAY_UNAVAILABLE, __ATOMIC_RELEASE);
}

void _rz_decay_poll(void)
{
	int state = LOAD(decay_state);
	if (state == DECAY_UNAVAILABLE)
		decay_release_due(_rz_os_now_ns());
	else if (state == DECAY_NONE && (_rz_cache_bytes() != 0 || _rz_large_excess_pending()))
		_rz_decay_kick(); /* a fork child inherits a cache, not the thread */
}

bool _rz_decay_running(void)
{
	int state = LOAD(decay_state);
	return state == DECAY_SLEEPING || state == DECAY_ACTIVE;
}

void _rz_decay_postfork_child(void)
{
	_rz_os_wait_reset();
	__atomic_store_n(&decay_state, DECAY_NONE, __ATOMIC_RELEASE);
}
