/*
 * table.h - the large-block table: "is this pointer one of ours, and how
 * big is it", in O(1) with no lock on the read side.
 *
 * Writers hold the engine lock (large.c); readers (free, realloc, size
 * queries from any thread) only read. Also keeps a coarse filter of the
 * address ranges rezone maps, so that misuse checks on foreign pointers
 * stay cheap.
 * May include: backend/os.h.
 */
#ifndef RZ_ENGINE_TABLE_H
#define RZ_ENGINE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/os.h"

struct _rz_block {
	uintptr_t addr;     /* start, page-aligned, never 0 */
	size_t size;        /* usable bytes (page multiple) */
	size_t reserved;    /* bytes of address space mapped for it */
	size_t dirty;       /* bytes from addr that may hold touched pages when
	                       larger than size (kept from a cached mapping) */
	uint32_t grows;     /* times it outgrew its reservation */
	uint32_t align_log; /* log2 of the alignment it was asked for (0: page) */
};

/* Maps the table; 0 or errno. Idempotent; called under the engine lock. */
int _rz_table_init(void) RZ_HIDDEN;
/* Lock-free lookup of a block by its start address. */
bool _rz_table_find(uintptr_t addr, struct _rz_block *out) RZ_HIDDEN;
/* Number of live blocks (relaxed; for fast paths). */
size_t _rz_table_count(void) RZ_HIDDEN;

/* Sets the usable size of a live block. Only the block's owner calls it,
 * so it needs no lock (the record it writes never moves). */
void _rz_table_set_size(uintptr_t addr, size_t size) RZ_HIDDEN;

/* Writers: hold the engine lock. insert gives ENOMEM when full. */
int _rz_table_insert(const struct _rz_block *b) RZ_HIDDEN;
void _rz_table_update(const struct _rz_block *b) RZ_HIDDEN;
void _rz_table_remove(uintptr_t addr) RZ_HIDDEN;
/* In a child after fork: ends a write the fork interrupted. */
void _rz_table_postfork_child(void) RZ_HIDDEN;
/* The live block whose reservation contains p (slow: a scan). */
bool _rz_table_find_containing(uintptr_t p, struct _rz_block *out) RZ_HIDDEN;
/* Calls fn on every live block (for introspection). */
void _rz_table_each(void (*fn)(const struct _rz_block *, void *), void *arg) RZ_HIDDEN;

/* Span filter: counts of rezone mappings per 2 MiB chunk (hashed).
 * mark with +1 when a range becomes rezone's, -1 when it stops being. */
void _rz_span_mark(uintptr_t addr, size_t len, int delta) RZ_HIDDEN;
/* false: certainly no rezone mapping near p; true: maybe. Lock-free. */
bool _rz_span_maybe(uintptr_t p) RZ_HIDDEN;

/* Graveyard: starts of mappings recently returned to the OS, so that a
 * later free of one is reported as a double free. Direct-mapped (a newer
 * address may evict an older one); checking costs one load. */
void _rz_grave_add(uintptr_t addr) RZ_HIDDEN;
void _rz_grave_forget(uintptr_t addr, size_t len) RZ_HIDDEN;
bool _rz_grave_has(uintptr_t addr) RZ_HIDDEN;

#endif
