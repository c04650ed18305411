/*
 * lockmark.h - shard locks (table, cache) that fork's prepare handler can
 * see.
 *
 * A shard lock is a short lock (backend/os.h: held for a handful of
 * stores, never across a system call).
 *
 * A fork from a signal handler runs prepare on the thread the signal
 * interrupted, maybe inside a shard's lock or unlock. The thread marks
 * the shard in a thread-local slot before it takes the lock and clears
 * the mark after it frees it (table.c and cache.c each keep one), and
 * prepare skips the marked one.
 * May include: backend/os.h.
 */
#ifndef RZ_ENGINE_LOCKMARK_H
#define RZ_ENGINE_LOCKMARK_H

#include "backend/os.h"

static inline void _rz_lock_marked(void **mine, void *shard, _rz_short_lock_t *l)
{
	__atomic_store_n(mine, shard, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	_rz_short_lock(l);
}

/* The lock if free at once; the mark only while it is held. */
static inline bool _rz_trylock_marked(void **mine, void *shard, _rz_short_lock_t *l)
{
	__atomic_store_n(mine, shard, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (_rz_short_trylock(l))
		return true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(mine, NULL, __ATOMIC_RELAXED);
	return false;
}

static inline void _rz_unlock_marked(void **mine, _rz_short_lock_t *l)
{
	_rz_short_unlock(l);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(mine, NULL, __ATOMIC_RELAXED);
}

#endif
