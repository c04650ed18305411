/*
 * pagemap.h - which pages of the address space rezone maps, exactly and
 * without a lock on the read side; and the graveyard of mappings recently
 * returned to the OS.
 *
 * free() of a page-aligned pointer that is not a block start asks "is this
 * page rezone's?" (an interior pointer, a freed block) before handing the
 * pointer to the small delegate: one to three loads, whatever the number of
 * live blocks. Writers (map, extend, trim, unmap) mark ranges while they own
 * them: set after the mapping exists, clear before it is returned.
 * May include: backend/os.h.
 */
#ifndef RZ_ENGINE_PAGEMAP_H
#define RZ_ENGINE_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/os.h"

/* [addr, addr+len) became rezone's / stopped being rezone's. Ranges are
 * disjoint; addr and len are multiples of 4 KiB. Never fails: a range the
 * map cannot describe (no memory for a leaf, beyond 2^48) is kept aside,
 * and _rz_pagemap_has answers true there, even after its leaf is made for
 * another range (64 such ranges at once, then every page: a misuse check
 * then scans). */
void _rz_pagemap_set(uintptr_t addr, size_t len) RZ_HIDDEN;
void _rz_pagemap_clear(uintptr_t addr, size_t len) RZ_HIDDEN;
/* The first 4 KiB page in [a, end) that _rz_pagemap_has would call
 * rezone's, or end; skips missing leaves and empty 2 MiB grains. */
uintptr_t _rz_pagemap_next(uintptr_t a, uintptr_t end) RZ_HIDDEN;
/* Fork child: frees the leaves' writer locks. */
void _rz_pagemap_postfork_child(void) RZ_HIDDEN;
/* Whether the 4 KiB page holding p is rezone's. Lock-free. */
bool _rz_pagemap_has(uintptr_t p) RZ_HIDDEN;

/* Graveyard: starts of mappings recently returned to the OS, so that a
 * later free of one is reported as a double free. Direct-mapped (a newer
 * address may evict an older one); checking costs one load. */
void _rz_grave_add(uintptr_t addr) RZ_HIDDEN;
void _rz_grave_forget(uintptr_t addr, size_t len) RZ_HIDDEN;
bool _rz_grave_has(uintptr_t addr) RZ_HIDDEN;

#endif
