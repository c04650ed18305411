/*
 * zone_task.h - the rezone zone seen from any task (zone_task.c): the
 * enumerator, print_task and task_statistics of its introspection table,
 * and the link in the zone's page from which they find the engine's
 * large-block table given nothing but the zone's address and a reader.
 * May include: engine/engine.h, <malloc/malloc.h>, <mach/mach.h>,
 * <stdint.h>.
 */
#ifndef RZ_FRONTEND_ZONE_TASK_H
#define RZ_FRONTEND_ZONE_TASK_H

#include <mach/mach.h>
#include <malloc/malloc.h>
#include <stdint.h>

#include "engine/engine.h"

/*
 * The link sits at a fixed offset in the zone's 16 KiB page, far past any
 * malloc_zone_t layout, so that no libmalloc reads it as a field of a
 * newer zone version. It is written once, before the page becomes
 * read-only. A reader in another task checks magic and version first: a
 * zone that is not rezone's (or of a layout it does not know) is refused.
 */
#define RZ_ZONE_LINK_AT 8192
#define RZ_ZONE_LINK_MAGIC 0x72657a6f6e656c31ull /* "rezonel1" */
#define RZ_ZONE_LINK_VERSION 1

struct _rz_zone_link {
	uint64_t magic;   /* RZ_ZONE_LINK_MAGIC */
	uint64_t version; /* RZ_ZONE_LINK_VERSION */
	uint64_t view;    /* address of the engine's struct _rz_large_view */
	uint64_t peak;    /* address of the engine's 64-bit peak of large bytes */
};

/* reader NULL: the calling task itself, read in place. */
kern_return_t _rz_zone_enumerator(task_t task, void *ctx, unsigned mask,
    vm_address_t zone_address, memory_reader_t reader, vm_range_recorder_t recorder) RZ_HIDDEN;
void _rz_zone_print_task(task_t task, unsigned level, vm_address_t zone_address,
    memory_reader_t reader, print_task_printer_t printer) RZ_HIDDEN;
void _rz_zone_task_statistics(task_t task, vm_address_t zone_address,
    memory_reader_t reader, malloc_statistics_t *stats) RZ_HIDDEN;

#endif
