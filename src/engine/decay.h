/*
 * decay.h - returning idle cached mappings to the OS on time, even when
 * the program makes no further large call.
 * May include: cache.h, backend/os.h.
 */
#ifndef RZ_ENGINE_DECAY_H
#define RZ_ENGINE_DECAY_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/os.h"

/* The cache just received a mapping: make sure it will be returned after
 * the decay time (starts the helper thread if none runs). */
void _rz_decay_kick(void) RZ_HIDDEN;
/* Large calls run this: releases what is due when no helper thread could
 * be started, starts one where the cache holds memory but none runs (a
 * fork child). Cheap when nothing is due. */
void _rz_decay_poll(void) RZ_HIDDEN;
/* Which helper thread runs now: a number no other start of it shares
 * (modulo 2^31), 0 if none runs. Equal non-zero answers before and after
 * counting the process's threads mean it was alive, and counted, for the
 * whole count (a thread made in between has another number). */
unsigned _rz_decay_running_id(void) RZ_HIDDEN;
/* Ends the helper thread and waits until the kernel no longer counts it;
 * false if none ran. A later large call may start it again. */
bool _rz_decay_stop(void) RZ_HIDDEN;
/* Fork child: the helper thread does not exist there. */
void _rz_decay_postfork_child(void) RZ_HIDDEN;

#endif
