/*
 * small_zone.h - what the macOS zone front end needs of the small
 * delegate beyond small.h. Proposed for small.h (see issue 3's note); kept
 * apart until the lead merges it, so small.h stays the engine's contract.
 * May include: small.h.
 */
#ifndef RZ_BACKEND_SMALL_ZONE_H
#define RZ_BACKEND_SMALL_ZONE_H

#include <stddef.h>

#include "backend/small.h"

struct _malloc_zone_t;

/* The delegate's usable size of p if p is one of its live blocks, else 0.
 * Safe for any pointer (a zone's size() is asked about every pointer the
 * process frees). */
size_t _rz_small_owned_size(const void *p) RZ_HIDDEN;

/* The zone small sizes go to: the default zone as it was before rezone
 * registered. Captured on first call, which the front end makes before
 * registering its own zone. */
struct _malloc_zone_t *_rz_small_zone(void) RZ_HIDDEN;

#endif
