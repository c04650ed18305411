/*
 * lockmark.h - shard locks (table, cache) that fork's prepare handler can
 * see.
 *
 * A shard lock is held for a handful of stores, never across a system
 * call, so it is a spinlock: one exchange to take it and one store to
 * free it. The errorcheck pthread mutexes it replaces cost ~96
 * instructions and two atomic operations a lock/unlock pair, and a
 * vector's life (early entry into a cached mapping, then free) takes four
 * pairs (src/README.md, "The fast lane"). A waiter spins a little, then
 * yields: the holder may have been preempted.
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

#include <stdbool.h>
#include <stdint.h>

#include "backend/os.h"

typedef struct {
	uint32_t held;
} _rz_shard_lock_t;

static inline void _rz_shard_lock_init(_rz_shard_lock_t *l)
{
	__atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
}

static inline bool _rz_shard_trylock(_rz_shard_lock_t *l)
{
	return __atomic_load_n(&l->held, __ATOMIC_RELAXED) == 0 &&
	    __atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE) == 0;
}

static inline void _rz_shard_lock(_rz_shard_lock_t *l)
{
	for (unsigned spins = 0; !_rz_shard_trylock(l); spins++) {
		if (spins > 64)
			_rz_os_yield();
#if defined(__x86_64__) || defined(__i386__)
		else
			__builtin_ia32_pause();
#endif
	}
}

static inline void _rz_shard_unlock(_rz_shard_lock_t *l)
{
	__atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
}

static inline void _rz_lock_marked(void **mine, void *shard, _rz_shard_lock_t *l)
{
	__atomic_store_n(mine, shard, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	_rz_shard_lock(l);
}

static inline void _rz_unlock_marked(void **mine, _rz_shard_lock_t *l)
{
	_rz_shard_unlock(l);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(mine, NULL, __ATOMIC_RELAXED);
}

#endif
