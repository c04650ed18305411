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
 * inside large calls, as before, and the next calls try again, less often
 * after each failure in a row (a refusal once, at RLIMIT_NPROC, used to
 * leave every later freed block resident until the next large call: 200
 * MiB freed stayed 10 s and more). Once it has had nothing to do for a
 * while (DECAY_IDLE_NS, or the decay time if longer) it ends, and the next
 * large call that leaves memory in the cache starts it again: a program
 * that freed a big block at start-up is single-threaded again two seconds
 * later, for the things that count threads (CPython 3.12's fork warning,
 * sandboxes, unshare) and for fork, which then needs no lock of ours.
 * May include: decay.h, cache.h, large.h, options.h, backend/os.h,
 * backend/small.h (whether a helper thread may run beside the delegate).
 */
#include "backend/small.h"
#include "engine/cache.h"
#include "engine/decay.h"
#include "engine/large.h"
#include "engine/options.h"

/* NONE: no thread (not yet, a fork child, or stopped); STARTING: being
 * made; SLEEPING: the thread waits for work; ACTIVE: it works or sleeps
 * until something is due; STOPPING: asked to end (_rz_decay_stop);
 * EXITED: it has left its loop and is ending; LEFT: it ended by itself,
 * idle (it may still be ending: nobody waits for it). Only SLEEPING and
 * ACTIVE count as running, so that fork's prepare handler never takes a
 * thread that is not there yet, or is going, for rezone's (README,
 * "Fork"). */
enum { DECAY_NONE, DECAY_SLEEPING, DECAY_ACTIVE, DECAY_UNAVAILABLE, DECAY_STOPPING,
	DECAY_EXITED, DECAY_STARTING, DECAY_LEFT, DECAY_FAILED };
/* UNAVAILABLE: never (the delegate forbids a helper thread); FAILED: the
 * last start failed; a kick or poll tries again from decay_retry_at. */

/* How long the thread waits with nothing to do before it ends (at least
 * the decay time): starting it again costs a pthread_create, ~30 us. */
#define DECAY_IDLE_NS ((uint64_t)1000000000u)
static int decay_state;
/* Thread starts so far (the move to STARTING counts): _rz_decay_running_id. */
static unsigned decay_starts;
/* Starts failed in a row (STARTING owns both while it lasts), and when the
 * next try may be: at once after the first failure (a limit lifted
 * meanwhile), then after 1 ms, doubling to 1 s: a failed pthread_create
 * costs a stack and a clone, too much for every large free. */
static unsigned decay_failures;
static uint64_t decay_retry_at;
#define DECAY_RETRY_MAX_SHIFT 10

static bool decay_move(int from, int to)
{
	return __atomic_compare_exchange_n(&decay_state, &from, to, false,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

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
	/* Freed at or before cutoff; now = UINT64_MAX (everything) with a
	 * decay time of 0 made cutoff + 1 wrap to 0: nothing went back. */
	if (cutoff != UINT64_MAX)
		cutoff++;
	size_t n = _rz_cache_expire(cutoff, out, &oldest);
	_rz_large_unmap_cached(out, n);
	_rz_large_decay_excess(cutoff);
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

/* The thread runs until the program needs to be single-threaded
 * (_rz_decay_stop: unshare(CLONE_NEWUSER) and setns refuse a process with
 * two threads). It waits for work without waking, and sleeps until
 * something is due in a wait that a stop cuts short. */
static void *decay_main(void *arg)
{
	(void)arg;
	/* Running from here on; a stop asked meanwhile is seen below. */
	__atomic_store_n(&decay_failures, 0, __ATOMIC_RELAXED);
	(void)decay_move(DECAY_STARTING, DECAY_ACTIVE);
	while (LOAD(decay_state) != DECAY_STOPPING) {
		uint64_t now = _rz_os_now_ns();
		uint64_t due = decay_release_due(now);
		if (due == 0) {
			if (!decay_move(DECAY_ACTIVE, DECAY_SLEEPING))
				break;
			/* A put after the scan may have seen us active. */
			if (!decay_has_work()) {
				uint64_t idle = decay_limit_ns();
				_rz_os_wait_for(idle > DECAY_IDLE_NS ? idle : DECAY_IDLE_NS);
				if (!decay_has_work() && decay_move(DECAY_SLEEPING, DECAY_LEFT)) {
					/* A put just before the move saw us sleeping
					 * (and only woke us): look once more. A kick
					 * that saw LEFT starts a new thread. */
					if (!decay_has_work() || !decay_move(DECAY_LEFT, DECAY_ACTIVE))
						return NULL;
					continue;
				}
			}
			if (!decay_move(DECAY_SLEEPING, DECAY_ACTIVE))
				break;
			continue;
		}
		now = _rz_os_now_ns();
		uint64_t wait = due > now ? due - now : 0;
		/* At least 1 ms, so a zero decay time does not spin. */
		_rz_os_wait_for(wait < 1000000u ? 1000000u : wait);
	}
	__atomic_store_n(&decay_state, DECAY_EXITED, __ATOMIC_RELEASE);
	return NULL;
}

/* A thread start failed: decay runs inside calls until a later try. */
static void decay_start_failed(void)
{
	unsigned n = __atomic_load_n(&decay_failures, __ATOMIC_RELAXED) + 1;
	uint64_t wait = n < 2 ? 0 :
	    (uint64_t)1000000u << (n - 2 < DECAY_RETRY_MAX_SHIFT ? n - 2 : DECAY_RETRY_MAX_SHIFT);
	__atomic_store_n(&decay_failures, n, __ATOMIC_RELAXED);
	__atomic_store_n(&decay_retry_at, _rz_os_now_ns() + wait, __ATOMIC_RELAXED);
	/* A stop may have come meanwhile: it waits for EXITED. */
	if (!decay_move(DECAY_STARTING, DECAY_FAILED))
		__atomic_store_n(&decay_state, DECAY_EXITED, __ATOMIC_RELEASE);
}

void _rz_decay_kick(void)
{
	int state = LOAD(decay_state);
	if (state == DECAY_SLEEPING) {
		_rz_os_wake();
		return;
	}
	if (state == DECAY_FAILED) {
		uint64_t now = _rz_os_now_ns();
		if (now < __atomic_load_n(&decay_retry_at, __ATOMIC_RELAXED)) {
			decay_release_due(now);
			return;
		}
	} else if (state != DECAY_NONE && state != DECAY_LEFT) {
		return; /* UNAVAILABLE: large calls poll */
	}
	if (!decay_move(state, DECAY_STARTING))
		return;
	__atomic_fetch_add(&decay_starts, 1, __ATOMIC_SEQ_CST);
	if (!_rz_small_allows_helper_thread()) {
		if (!decay_move(DECAY_STARTING, DECAY_UNAVAILABLE))
			__atomic_store_n(&decay_state, DECAY_EXITED, __ATOMIC_RELEASE);
	} else if (_rz_os_thread_start(decay_main, NULL) != 0) {
		decay_start_failed();
		decay_release_due(_rz_os_now_ns());
	}
}

void _rz_decay_poll(void)
{
	int state = LOAD(decay_state);
	if (state == DECAY_UNAVAILABLE)
		decay_release_due(_rz_os_now_ns());
	else if ((state == DECAY_NONE || state == DECAY_LEFT || state == DECAY_FAILED) &&
	    (_rz_cache_bytes() != 0 || _rz_large_excess_pending()))
		_rz_decay_kick(); /* a fork child inherits a cache, not the thread */
}

/* The stopper waits for the thread to leave its loop (it holds no lock
 * the thread could need), then for the kernel to count it gone: glibc
 * lets a thread end a little after its start routine returned, and
 * unshare counts the threads of the kernel. At most 1 s for the count
 * (a program making threads meanwhile is multi-threaded anyway). */
bool _rz_decay_stop(void)
{
	for (;;) {
		int state = LOAD(decay_state);
		/* A thread that left by itself may not be gone yet: the caller
		 * tries again for a while (namespace_linux.c). */
		if (state == DECAY_LEFT && decay_move(DECAY_LEFT, DECAY_NONE))
			return true;
		if (state != DECAY_SLEEPING && state != DECAY_ACTIVE && state != DECAY_STARTING)
			return false;
		if (decay_move(state, DECAY_STOPPING))
			break;
	}
	/* Counted once the thread is asked to go (no stat when none runs); a
	 * thread already gone by then only ends the wait below early. */
	unsigned before = _rz_os_thread_count();
	_rz_os_wake();
	while (LOAD(decay_state) != DECAY_EXITED)
		_rz_os_sleep_ns(20000);
	for (int i = 0; i < 20000 && before > 1 && _rz_os_thread_count() >= before; i++)
		_rz_os_sleep_ns(50000);
	/* Nothing would return the cache until the next large call starts
	 * the thread again (8 x 30 MiB freed, then unshare: 248 MB resident
	 * 3 s later): return it all now, as a trim does. */
	decay_release_due(UINT64_MAX);
	__atomic_store_n(&decay_state, DECAY_NONE, __ATOMIC_RELEASE);
	return true;
}

unsigned _rz_decay_running_id(void)
{
	for (;;) {
		unsigned starts = __atomic_load_n(&decay_starts, __ATOMIC_SEQ_CST);
		int state = __atomic_load_n(&decay_state, __ATOMIC_SEQ_CST);
		if (state != DECAY_SLEEPING && state != DECAY_ACTIVE)
			return 0;
		/* The start counted before STARTING's thread can be running:
		 * unchanged across the state's read, it is that thread's. */
		if (__atomic_load_n(&decay_starts, __ATOMIC_SEQ_CST) == starts)
			return (starts << 1) | 1u;
	}
}

void _rz_decay_postfork_child(void)
{
	_rz_os_wait_reset();
	__atomic_store_n(&decay_state, DECAY_NONE, __ATOMIC_RELEASE);
}
