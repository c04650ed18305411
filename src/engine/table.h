/*
 * table.h - the large-block table: "is this pointer one of ours, and how
 * big is it", in O(1) with no lock on the read side; and each block's own
 * lock.
 *
 * The table is split into shards by address; a shard's writer lock is held
 * for a few stores (insert, remove), never across a system call. Every
 * live block has a record with its own lock: its owner's realloc/free and
 * the reclaimer (which trims headroom) take it; system calls on the block
 * run under it. Readers (free, realloc, size queries) take no lock at all.
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
	uint32_t thp;       /* huge-page state of its mapping (large.c) */
	uint32_t flags;     /* RZ_BLOCK_* */
	uint64_t excess_ns; /* since when dirty > size (0: it is not) */
};

/* The program changed the protection of some of its pages (mprotect):
 * freed, the mapping goes back to the OS, never to the cache. */
#define RZ_BLOCK_PROTECTED 1u
/* Strict commit: its open part is a mapping that moved (and keeps its
 * page offset), so pages opened beside it with mprotect would not merge
 * with it: they are opened by growing that mapping (large.c,
 * large_open_more). Kept in the cache entry while the pages stay open. */
#define RZ_BLOCK_MOVED 2u

/* A live block's record, locked by _rz_table_acquire. */
struct _rz_rec;

/* Maps the table; 0 or errno. Idempotent; called once by the engine. */
int _rz_table_init(void) RZ_HIDDEN;
/* Lock-free lookup of a block by its start address (a snapshot). */
bool _rz_table_find(uintptr_t addr, struct _rz_block *out) RZ_HIDDEN;
/* The address of the block this thread last looked up, inserted or
 * moved (a hint: it may have been freed since; 1 when there is none). */
extern RZ_THREAD_LOCAL uintptr_t _rz_table_hint_addr RZ_HIDDEN;
/* Whether addr is that block: the caller may skip the page map and call
 * _rz_table_acquire, which checks it. One thread-local compare. */
static inline bool _rz_table_hinted(uintptr_t addr)
{
	return addr == _rz_table_hint_addr;
}
/* Number of live blocks (relaxed; for fast paths). */
size_t _rz_table_count(void) RZ_HIDDEN;

/* Adds a block; ENOMEM when its shard is full, or when the shard could
 * not keep room for moves beside it (out of memory). */
int _rz_table_insert(const struct _rz_block *b) RZ_HIDDEN;
/* Adds a block that a move gave a new address, before the old record is
 * removed; may overshoot the fill limit a little, and uses the room
 * _rz_table_move_begin made sure of (ENOMEM only without it). */
int _rz_table_insert_moved(const struct _rz_block *b) RZ_HIDDEN;
/* Around a move (before its pages go, after its record is in): makes
 * sure every shard has room for every move in flight without allocating,
 * allocating now where needed; false (no move) where it cannot. */
bool _rz_table_move_begin(void) RZ_HIDDEN;
void _rz_table_move_end(void) RZ_HIDDEN;
/* Locks the record of the live block starting at addr and copies it to
 * *out; NULL if there is none (never was, or freed meanwhile). */
struct _rz_rec *_rz_table_acquire(uintptr_t addr, struct _rz_block *out) RZ_HIDDEN;
/* Writes b back (NULL: unchanged) and unlocks. b->addr must not change. */
void _rz_table_release(struct _rz_rec *r, const struct _rz_block *b) RZ_HIDDEN;
/* Removes the locked record's block from the table and unlocks it. */
void _rz_table_remove(struct _rz_rec *r) RZ_HIDDEN;
/* For a move, whose old range the kernel may hand to a new block as soon
 * as mremap returns: hide makes lookups of the locked record's address
 * fail (its owner holds it; nobody else may look it up), unhide undoes
 * that if the move fails, remove_hidden removes it (addr: its address). */
void _rz_table_hide(struct _rz_rec *r) RZ_HIDDEN;
void _rz_table_unhide(struct _rz_rec *r, uintptr_t addr) RZ_HIDDEN;
void _rz_table_remove_hidden(struct _rz_rec *r, uintptr_t addr) RZ_HIDDEN;

/* Calls fn on every live block with its record locked; fn may change the
 * block (not its address) and returns true if it did. Blocks whose record
 * is locked at that moment are skipped. For reclaim and decay. */
void _rz_table_each_locked(bool (*fn)(struct _rz_block *, void *), void *arg) RZ_HIDDEN;
/* Calls fn on a snapshot of every live block (introspection; lock-free). */
void _rz_table_each(void (*fn)(const struct _rz_block *, void *), void *arg) RZ_HIDDEN;
/* The live block whose reservation contains p (slow: a scan; misuse
 * reports only). */
bool _rz_table_find_containing(uintptr_t p, struct _rz_block *out) RZ_HIDDEN;

/* The table's map for out-of-process readers (view.h); its address is
 * fixed, its contents set by _rz_table_init (magic 0 before). */
struct _rz_large_view;
const struct _rz_large_view *_rz_table_view(void) RZ_HIDDEN;

/* Whether a shard's lock is held (trylock). */
bool _rz_table_locked(void) RZ_HIDDEN;
/* Fork: hold every shard across fork; the child also frees every record
 * lock (their holders do not exist in it). */
void _rz_table_prefork(void) RZ_HIDDEN;
void _rz_table_postfork_parent(void) RZ_HIDDEN;
void _rz_table_postfork_child(void) RZ_HIDDEN;

#endif
