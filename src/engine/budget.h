/*
 * budget.h - how much address space a large block may reserve beyond its
 * size (headroom): the per-block policy and the process-wide budget.
 *
 * Headroom costs no memory, only address space, but address space is
 * finite: 2^47 bytes of user space, less under RLIMIT_AS, and Linux counts
 * private writable mappings (headroom included) against RLIMIT_DATA. The
 * unused headroom of every live and cached block together stays within
 * the budget; what a new reservation may add is what the budget has left.
 * May include: options.h, stats.h, backend/os.h.
 */
#ifndef RZ_ENGINE_BUDGET_H
#define RZ_ENGINE_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/os.h"

/* Bytes of address space to reserve for a block of n bytes (a page
 * multiple) that has outgrown its reservation `grows` times: n plus the
 * headroom the policy and the budget allow, plus the guard gap. Returns
 * at least n + gap; n on overflow. */
size_t _rz_budget_reserve(size_t n, uint32_t grows) RZ_HIDDEN;
/* The same without a budget check (what the policy alone asks for). */
size_t _rz_budget_wanted(size_t n, uint32_t grows) RZ_HIDDEN;
/* While the process locks future mappings (mlockall), no headroom. */
void _rz_budget_set_locked(bool locked) RZ_HIDDEN;
/* Re-reads the process limits; called next to every new mapping. */
void _rz_budget_refresh(void) RZ_HIDDEN;
/* Address space rezone holds changed by delta bytes (mapped > 0). */
void _rz_budget_track(intptr_t delta) RZ_HIDDEN;
/* Whether RLIMIT_AS, as last read, is finite; whether it or RLIMIT_DATA
 * is. */
bool _rz_budget_as_limited(void) RZ_HIDDEN;
bool _rz_budget_limited(void) RZ_HIDDEN;
/* The current budget (limits as last read). */
size_t _rz_budget_limit(void) RZ_HIDDEN;

#endif
