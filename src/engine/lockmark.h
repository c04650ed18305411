/*
 * lockmark.h - shard locks that fork's prepare handler can see.
 *
 * A fork from a signal handler runs prepare on the thread the signal
 * interrupted, maybe inside a shard's lock or unlock; a mutex's owner
 * field is not set atomically with its lock word, so the mutex cannot say
 * "this thread". The thread marks the shard in a thread-local slot first
 * (table.c and cache.c each keep one) and prepare skips the marked one.
 * May include: backend/os.h.
 */
#ifndef RZ_ENGINE_LOCKMARK_H
#define RZ_ENGINE_LOCKMARK_H

#include "backend/os.h"

static inline void _rz_lock_marked(void **mine, void *shard, _rz_mutex_t *m)
{
	__atomic_store_n(mine, shard, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	_rz_mutex_lock(m);
}

static inline void _rz_unlock_marked(void **mine, _rz_mutex_t *m)
{
	_rz_mutex_unlock(m);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(mine, NULL, __ATOMIC_RELAXED);
}

#endif
