/*
 * zone_msl.h - whether libmalloc's stack logging "lite" mode is on
 * (zone_msl.c), which leaves an injected zone without work.
 * May include: <stdbool.h>, engine/engine.h (RZ_HIDDEN).
 */
#ifndef RZ_FRONTEND_ZONE_MSL_H
#define RZ_FRONTEND_ZONE_MSL_H

#include <stdbool.h>

#include "engine/engine.h"

/* True, after one line on stderr saying rezone is inactive, when
 * MallocStackLogging asks for lite mode or a lite zone is registered.
 * Reads the environment and the zone list; never allocates. */
bool _rz_zone_msl_inactive(void) RZ_HIDDEN;

#endif
