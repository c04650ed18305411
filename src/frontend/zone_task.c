/*
 * zone_task.c - introspection of a rezone zone in any task, the way
 * libmalloc's own zones do it: everything is read through the caller's
 * memory reader, starting at the zone's address; no pointer of the target
 * is ever dereferenced. leaks, heap, vmmap, malloc_history and Xcode's
 * memory graph run these in their own process against a suspended target;
 * in-process callers pass no reader and get one that reads in place.
 *
 * The walk: zone page -> link (zone_task.h) -> the engine's view
 * (engine/view.h) -> each shard -> the chunks of records it has used.
 * A reader's memory is valid only until its next call (malloc.h), so each
 * read is used up, or copied, before the next one. Every count and offset
 * the target supplies is bounded before it steers a read: a torn or
 * foreign table must not send the walk through terabytes.
 *
 * Reported: each live large block (in use: its usable bytes; region: its
 * whole reservation) and rezone's bookkeeping (admin: the part of the
 * bookkeeping range handed out, which holds the table and the page map,
 * and any table piece mapped outside it). Cached mappings are not: they
 * are no block's (vmmap still lists them by their malloc tag). The small
 * delegate is a registered zone of its own and reports its blocks itself.
 * May include: zone_task.h, engine/engine.h, <malloc/malloc.h>,
 * <mach/mach.h>, <stdbool.h>, <stdint.h>, <string.h>.
 */
#include "config.h"

#if !defined(__APPLE__) && !defined(REZONE_MACH_SIM)
#error "zone_task.c is part of the macOS front end (tests/machsim builds it on Linux with REZONE_MACH_SIM)"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "frontend/zone_task.h"

/* libmalloc's level for print(verbose); SDKs before macOS 14 lack it. */
#ifndef MALLOC_VERBOSE_PRINT_LEVEL
#define MALLOC_VERBOSE_PRINT_LEVEL 2
#endif

/* Far above what table.c uses (16 shards of 52 chunks of 256 records of
 * 64 bytes, indexes of up to 16,384 slots). */
#define TASK_MAX_SHARDS 256
#define TASK_MAX_CHUNKS 1024
#define TASK_MAX_RECS 65536
#define TASK_MAX_BYTES 65536 /* a shard, record or slot */
#define TASK_MAX_SLOTS ((uint64_t)1 << 24)
#define TASK_MAX_CHUNK ((uint64_t)16 << 20) /* bytes of records in a chunk */

struct task_walk {
	task_t task;
	memory_reader_t *reader;
	struct _rz_large_view v; /* the target's, copied */
	uint64_t peak_at;
	/* The bookkeeping range's part in use, once read. */
	uint64_t meta, meta_used;
	void (*block)(void *arg, uint64_t addr, uint64_t size, uint64_t reserved);
	void (*admin)(void *arg, uint64_t addr, uint64_t size); /* NULL: not asked */
	void *arg;
};

static kern_return_t task_read_in_place(task_t task, vm_address_t addr, vm_size_t size,
    void **out)
{
	(void)task; (void)size;
	*out = (void *)addr;
	return KERN_SUCCESS;
}

static kern_return_t task_read(struct task_walk *w, uint64_t addr, uint64_t size,
    const unsigned char **out)
{
	void *p = NULL;
	if (addr == 0 || size == 0 || addr + size < addr)
		return KERN_INVALID_ADDRESS;
	kern_return_t kr = w->reader(w->task, (vm_address_t)addr, (vm_size_t)size, &p);
	if (kr != KERN_SUCCESS)
		return kr;
	if (!p)
		return KERN_FAILURE;
	*out = p;
	return KERN_SUCCESS;
}

/* The reader's memory need not be aligned for a 64-bit load. */
static uint64_t task_u64(const unsigned char *at, uint64_t offset)
{
	uint64_t v;
	memcpy(&v, at + offset, sizeof(v));
	return v;
}

static kern_return_t task_word(struct task_walk *w, uint64_t addr, uint64_t *out)
{
	const unsigned char *p;
	kern_return_t kr = task_read(w, addr, sizeof(uint64_t), &p);
	if (kr == KERN_SUCCESS)
		*out = task_u64(p, 0);
	return kr;
}

/* A 64-bit field at offset `at` lies inside an object of `bytes`. */
static bool task_field_ok(uint64_t at, uint64_t bytes)
{
	return bytes >= sizeof(uint64_t) && at <= bytes - sizeof(uint64_t);
}

static bool task_view_ok(const struct _rz_large_view *v)
{
	uint64_t pg = v->page_size;
	return v->magic == RZ_LARGE_VIEW_MAGIC && v->version == RZ_LARGE_VIEW_VERSION &&
	    pg >= 4096 && pg <= 65536 && (pg & (pg - 1)) == 0 &&
	    v->shards != 0 && v->shard_count >= 1 && v->shard_count <= TASK_MAX_SHARDS &&
	    v->shard_bytes <= TASK_MAX_BYTES &&
	    v->shard_chunk_count >= 1 && v->shard_chunk_count <= TASK_MAX_CHUNKS &&
	    v->shard_chunks_at <= v->shard_bytes &&
	    (v->shard_bytes - v->shard_chunks_at) / sizeof(uint64_t) >= v->shard_chunk_count &&
	    task_field_ok(v->shard_hwm_at, v->shard_bytes) &&
	    task_field_ok(v->shard_slots_at, v->shard_bytes) &&
	    task_field_ok(v->shard_cap_at, v->shard_bytes) &&
	    v->slot_bytes >= 1 && v->slot_bytes <= TASK_MAX_BYTES &&
	    v->chunk_recs >= 1 && v->chunk_recs <= TASK_MAX_RECS &&
	    v->rec_bytes <= TASK_MAX_BYTES && v->chunk_recs * v->rec_bytes <= TASK_MAX_CHUNK &&
	    task_field_ok(v->rec_addr_at, v->rec_bytes) &&
	    task_field_ok(v->rec_size_at, v->rec_bytes) &&
	    task_field_ok(v->rec_reserved_at, v->rec_bytes);
}

/*
 * Finds the engine's view from the zone's address. KERN_SUCCESS with
 * *ready false: the target's engine is not set up yet, so it has no
 * block. KERN_INVALID_ARGUMENT: not a rezone zone this code can read.
 */
static kern_return_t task_begin(struct task_walk *w, task_t task, memory_reader_t reader,
    vm_address_t zone_address, bool *ready)
{
	memset(w, 0, sizeof(*w));
	*ready = false;
	if (!reader) {
		if (task != mach_task_self() && task != MACH_PORT_NULL)
			return KERN_INVALID_ARGUMENT;
		reader = task_read_in_place;
	}
	w->task = task;
	w->reader = reader;
	const unsigned char *p;
	kern_return_t kr = task_read(w, (uint64_t)zone_address + RZ_ZONE_LINK_AT,
	    sizeof(struct _rz_zone_link), &p);
	if (kr != KERN_SUCCESS)
		return kr;
	struct _rz_zone_link link;
	memcpy(&link, p, sizeof(link));
	if (link.magic != RZ_ZONE_LINK_MAGIC || link.version != RZ_ZONE_LINK_VERSION || !link.view)
		return KERN_INVALID_ARGUMENT;
	w->peak_at = link.peak;
	/* The head first: a view of another size or version is not read. */
	if ((kr = task_read(w, link.view, 3 * sizeof(uint64_t), &p)) != KERN_SUCCESS)
		return kr;
	if (task_u64(p, 0) == 0)
		return KERN_SUCCESS;
	if (task_u64(p, 0) != RZ_LARGE_VIEW_MAGIC || task_u64(p, 8) != RZ_LARGE_VIEW_VERSION ||
	    task_u64(p, 16) < sizeof(w->v))
		return KERN_FAILURE;
	if ((kr = task_read(w, link.view, sizeof(w->v), &p)) != KERN_SUCCESS)
		return kr;
	memcpy(&w->v, p, sizeof(w->v));
	if (!task_view_ok(&w->v))
		return KERN_FAILURE;
	*ready = true;
	return KERN_SUCCESS;
}

/* A table piece (index or chunk of records) as an admin range, unless it
 * came from the bookkeeping range, which was reported whole. */
static void task_piece(struct task_walk *w, uint64_t addr, uint64_t bytes)
{
	uint64_t pg = w->v.page_size;
	bytes = (bytes + pg - 1) & ~(pg - 1);
	if (!addr || !bytes || (w->meta && addr >= w->meta && addr - w->meta < w->meta_used))
		return;
	w->admin(w->arg, addr, bytes);
}

static kern_return_t task_admin_range(struct task_walk *w)
{
	uint64_t base, used;
	kern_return_t kr = task_word(w, w->v.meta_base_at, &base);
	if (kr == KERN_SUCCESS)
		kr = task_word(w, w->v.meta_used_at, &used);
	if (kr != KERN_SUCCESS)
		return kr;
	if (used > w->v.meta_reserve)
		used = w->v.meta_reserve;
	w->meta = base;
	w->meta_used = base ? used : 0;
	if (w->meta_used)
		w->admin(w->arg, w->meta, w->meta_used);
	return KERN_SUCCESS;
}

/* One shard: its pieces (if asked), then every record it has used. */
static kern_return_t task_shard(struct task_walk *w, uint64_t index)
{
	const struct _rz_large_view *v = &w->v;
	uint64_t chunks[TASK_MAX_CHUNKS];
	const unsigned char *p;
	kern_return_t kr = task_read(w, v->shards + index * v->shard_bytes, v->shard_bytes, &p);
	if (kr != KERN_SUCCESS)
		return kr;
	uint64_t hwm = task_u64(p, v->shard_hwm_at);
	uint64_t slots = task_u64(p, v->shard_slots_at), cap = task_u64(p, v->shard_cap_at);
	memcpy(chunks, p + v->shard_chunks_at, v->shard_chunk_count * sizeof(uint64_t));
	if (hwm > v->shard_chunk_count * v->chunk_recs)
		hwm = v->shard_chunk_count * v->chunk_recs;
	if (w->admin) {
		if (cap <= TASK_MAX_SLOTS)
			task_piece(w, slots, cap * v->slot_bytes);
		for (uint64_t k = 0; k < v->shard_chunk_count; k++)
			task_piece(w, chunks[k], v->chunk_recs * v->rec_bytes);
	}
	for (uint64_t k = 0; k * v->chunk_recs < hwm; k++) {
		uint64_t n = hwm - k * v->chunk_recs;
		if (n > v->chunk_recs)
			n = v->chunk_recs;
		if (!chunks[k])
			continue; /* torn: records are counted after their chunk is mapped */
		if ((kr = task_read(w, chunks[k], n * v->rec_bytes, &p)) != KERN_SUCCESS)
			return kr;
		for (uint64_t r = 0; r < n; r++) {
			const unsigned char *rec = p + r * v->rec_bytes;
			uint64_t addr = task_u64(rec, v->rec_addr_at);
			if (addr)
				w->block(w->arg, addr, task_u64(rec, v->rec_size_at),
				    task_u64(rec, v->rec_reserved_at));
		}
	}
	return KERN_SUCCESS;
}

static kern_return_t task_walk(struct task_walk *w)
{
	kern_return_t kr = w->admin ? task_admin_range(w) : KERN_SUCCESS;
	for (uint64_t i = 0; kr == KERN_SUCCESS && i < w->v.shard_count; i++)
		kr = task_shard(w, i);
	return kr;
}

/* ---- enumerator ----------------------------------------------------------- */

#define TASK_BATCH 64

static const unsigned task_types[3] = {
	MALLOC_PTR_IN_USE_RANGE_TYPE, MALLOC_PTR_REGION_RANGE_TYPE, MALLOC_ADMIN_REGION_RANGE_TYPE,
};

struct task_enum {
	task_t task;
	void *ctx;
	unsigned mask;
	vm_range_recorder_t *recorder;
	unsigned n[3];
	vm_range_t ranges[3][TASK_BATCH];
};

static void task_enum_flush(struct task_enum *e, int t)
{
	if (e->n[t])
		e->recorder(e->task, e->ctx, task_types[t], e->ranges[t], e->n[t]);
	e->n[t] = 0;
}

static void task_enum_put(struct task_enum *e, int t, uint64_t addr, uint64_t size)
{
	if (!(e->mask & task_types[t]))
		return;
	e->ranges[t][e->n[t]++] = (vm_range_t){ (vm_address_t)addr, (vm_size_t)size };
	if (e->n[t] == TASK_BATCH)
		task_enum_flush(e, t);
}

static void task_enum_block(void *arg, uint64_t addr, uint64_t size, uint64_t reserved)
{
	task_enum_put(arg, 0, addr, size);
	task_enum_put(arg, 1, addr, reserved);
}

static void task_enum_admin(void *arg, uint64_t addr, uint64_t size)
{
	task_enum_put(arg, 2, addr, size);
}

kern_return_t _rz_zone_enumerator(task_t task, void *ctx, unsigned mask,
    vm_address_t zone_address, memory_reader_t reader, vm_range_recorder_t recorder)
{
	if (!recorder || !(mask & (task_types[0] | task_types[1] | task_types[2])))
		return KERN_SUCCESS;
	struct task_walk w;
	bool ready;
	kern_return_t kr = task_begin(&w, task, reader, zone_address, &ready);
	if (kr != KERN_SUCCESS || !ready)
		return kr;
	struct task_enum e = { .task = task, .ctx = ctx, .mask = mask, .recorder = recorder };
	w.block = task_enum_block;
	w.admin = (mask & MALLOC_ADMIN_REGION_RANGE_TYPE) ? task_enum_admin : NULL;
	w.arg = &e;
	kr = task_walk(&w);
	for (int t = 0; t < 3; t++)
		task_enum_flush(&e, t);
	return kr;
}

/* ---- print_task and task_statistics ---------------------------------------- */

struct task_totals {
	uint64_t blocks, bytes, reserved;
};

static void task_count(void *arg, uint64_t addr, uint64_t size, uint64_t reserved)
{
	struct task_totals *t = arg;
	(void)addr;
	t->blocks++;
	t->bytes += size;
	t->reserved += reserved;
}

/* Totals of the large blocks; KERN_SUCCESS and zeros before set-up. */
static kern_return_t task_totals(struct task_walk *w, task_t task, memory_reader_t reader,
    vm_address_t zone_address, struct task_totals *t, bool *ready)
{
	memset(t, 0, sizeof(*t));
	kern_return_t kr = task_begin(w, task, reader, zone_address, ready);
	if (kr != KERN_SUCCESS || !*ready)
		return kr;
	w->block = task_count;
	w->arg = t;
	return task_walk(w);
}

static void task_print_block(void *arg, uint64_t addr, uint64_t size, uint64_t reserved)
{
	print_task_printer_t *printer = *(print_task_printer_t **)arg;
	printer("  %#llx: %llu bytes, %llu reserved\n", (unsigned long long)addr,
	    (unsigned long long)size, (unsigned long long)reserved);
}

void _rz_zone_print_task(task_t task, unsigned level, vm_address_t zone_address,
    memory_reader_t reader, print_task_printer_t printer)
{
	struct task_walk w;
	struct task_totals t;
	bool ready;
	kern_return_t kr = task_totals(&w, task, reader, zone_address, &t, &ready);
	if (kr != KERN_SUCCESS) {
		printer("rezone zone %#llx: cannot read it (error %d)\n",
		    (unsigned long long)zone_address, kr);
		return;
	}
	printer("rezone zone %#llx: %llu large blocks, %llu bytes in use, %llu bytes reserved\n",
	    (unsigned long long)zone_address, (unsigned long long)t.blocks,
	    (unsigned long long)t.bytes, (unsigned long long)t.reserved);
	if (level < MALLOC_VERBOSE_PRINT_LEVEL || !t.blocks)
		return;
	w.block = task_print_block;
	w.arg = &printer;
	if ((kr = task_walk(&w)) != KERN_SUCCESS)
		printer("rezone zone %#llx: read failed (error %d)\n",
		    (unsigned long long)zone_address, kr);
}

/* As statistics(): large blocks only, size_allocated their reservations,
 * max_size_in_use the zone's high-water mark (at least what is in use). */
void _rz_zone_task_statistics(task_t task, vm_address_t zone_address,
    memory_reader_t reader, malloc_statistics_t *stats)
{
	struct task_walk w;
	struct task_totals t;
	bool ready;
	uint64_t peak = 0;
	memset(stats, 0, sizeof(*stats));
	if (task_totals(&w, task, reader, zone_address, &t, &ready) != KERN_SUCCESS || !ready)
		return;
	if (w.peak_at && task_word(&w, w.peak_at, &peak) != KERN_SUCCESS)
		peak = 0;
	stats->blocks_in_use = (unsigned)t.blocks;
	stats->size_in_use = (size_t)t.bytes;
	stats->max_size_in_use = (size_t)(peak > t.bytes ? peak : t.bytes);
	stats->size_allocated = (size_t)t.reserved;
}
