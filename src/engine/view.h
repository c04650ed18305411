/*
 * view.h - the large-block table as another task sees it: a versioned,
 * self-describing map (addresses, counts, sizes and field offsets) for
 * readers that cannot share this build's struct layouts.
 *
 * A zone's enumerator may run inside a debugging tool (leaks, heap, vmmap)
 * and read this process's memory only through a memory reader; it starts
 * from the zone structure, finds the view's address there and walks the
 * table with what the view says. table.c fills the view once, at set-up,
 * and never changes it afterwards; magic stays 0 until then.
 * Every field is 64 bits wide, and so is every table field a reader is
 * pointed at, so that x86_64 and arm64 readers (Rosetta) agree.
 * May include: <stdint.h>.
 */
#ifndef RZ_ENGINE_VIEW_H
#define RZ_ENGINE_VIEW_H

#include <stdint.h>

#define RZ_LARGE_VIEW_MAGIC 0x72657a6f6e657631ull /* "rezonev1" */
/* A reader refuses any other version: a change of meaning gets a new one.
 * Fields may be appended within a version (view_bytes grows). */
#define RZ_LARGE_VIEW_VERSION 1

struct _rz_large_view {
	uint64_t magic;      /* RZ_LARGE_VIEW_MAGIC once set up, 0 before */
	uint64_t version;    /* RZ_LARGE_VIEW_VERSION */
	uint64_t view_bytes; /* sizeof(struct _rz_large_view) of the writer */
	uint64_t page_size;  /* bookkeeping pieces are multiples of it */

	/* shard_count shards of shard_bytes each, from address shards. */
	uint64_t shards;
	uint64_t shard_count;
	uint64_t shard_bytes;
	/* Offsets in a shard: an array of shard_chunk_count chunk addresses
	 * (0: not mapped yet); the count of records ever used (records at
	 * and past it were never used); the index's address and slots. */
	uint64_t shard_chunks_at;
	uint64_t shard_chunk_count;
	uint64_t shard_hwm_at;
	uint64_t shard_slots_at;
	uint64_t shard_cap_at;
	uint64_t slot_bytes;

	/* A chunk holds chunk_recs records of rec_bytes; record k of a shard
	 * is record k % chunk_recs of chunk k / chunk_recs. Offsets in a
	 * record: its block's start (0: a free record), usable bytes and
	 * reservation. Cached mappings have no record: they are not blocks. */
	uint64_t chunk_recs;
	uint64_t rec_bytes;
	uint64_t rec_addr_at;
	uint64_t rec_size_at;
	uint64_t rec_reserved_at;

	/* The bookkeeping range (meta.c): addresses of its base pointer and
	 * of its count of bytes handed out (may pass meta_reserve: pieces
	 * past the range are mappings of their own), and its length. */
	uint64_t meta_base_at;
	uint64_t meta_used_at;
	uint64_t meta_reserve;
};

#endif
