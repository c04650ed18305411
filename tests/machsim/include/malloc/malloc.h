/*
 * malloc/malloc.h - SIMULATION of macOS <malloc/malloc.h> (test-only,
 * Linux): the zone structure (version 16 layout, as in the macOS 14 and
 * 15 SDKs; typed-allocation ids as plain 64-bit values)
 * and the zone-registry calls rezone uses, implemented in machsim.c.
 * Without pointer authentication (arm64, not arm64e), as rezone is built.
 */
#ifndef MACHSIM_MALLOC_MALLOC_H
#define MACHSIM_MALLOC_MALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <mach/mach.h>

typedef struct _malloc_zone_t {
	void *reserved1;
	void *reserved2;
	size_t (*size)(struct _malloc_zone_t *zone, const void *ptr);
	void *(*malloc)(struct _malloc_zone_t *zone, size_t size);
	void *(*calloc)(struct _malloc_zone_t *zone, size_t num_items, size_t size);
	void *(*valloc)(struct _malloc_zone_t *zone, size_t size);
	void (*free)(struct _malloc_zone_t *zone, void *ptr);
	void *(*realloc)(struct _malloc_zone_t *zone, void *ptr, size_t size);
	void (*destroy)(struct _malloc_zone_t *zone);
	const char *zone_name;
	unsigned (*batch_malloc)(struct _malloc_zone_t *zone, size_t size, void **results, unsigned num_requested);
	void (*batch_free)(struct _malloc_zone_t *zone, void **to_be_freed, unsigned num_to_be_freed);
	struct malloc_introspection_t *introspect;
	unsigned version;
	void *(*memalign)(struct _malloc_zone_t *zone, size_t alignment, size_t size);
	void (*free_definite_size)(struct _malloc_zone_t *zone, void *ptr, size_t size);
	size_t (*pressure_relief)(struct _malloc_zone_t *zone, size_t goal);
	boolean_t (*claimed_address)(struct _malloc_zone_t *zone, void *ptr);
	void (*try_free_default)(struct _malloc_zone_t *zone, void *ptr);
	/* version 15 */
	void *(*malloc_with_options)(struct _malloc_zone_t *zone, size_t align, size_t size,
	    uint64_t options);
	/* version 16: typed allocation */
	void *(*malloc_type_malloc)(struct _malloc_zone_t *zone, size_t size, uint64_t type_id);
	void *(*malloc_type_calloc)(struct _malloc_zone_t *zone, size_t count, size_t size,
	    uint64_t type_id);
	void *(*malloc_type_realloc)(struct _malloc_zone_t *zone, void *ptr, size_t size,
	    uint64_t type_id);
	void *(*malloc_type_memalign)(struct _malloc_zone_t *zone, size_t align, size_t size,
	    uint64_t type_id);
	void *(*malloc_type_malloc_with_options)(struct _malloc_zone_t *zone, size_t align,
	    size_t size, uint64_t options, uint64_t type_id);
} malloc_zone_t;

typedef struct {
	vm_address_t address;
	vm_size_t size;
} vm_range_t;

typedef struct malloc_statistics_t {
	unsigned blocks_in_use;
	size_t size_in_use;
	size_t max_size_in_use;
	size_t size_allocated;
} malloc_statistics_t;

typedef kern_return_t memory_reader_t(task_t remote_task, vm_address_t remote_address,
    vm_size_t size, void **local_memory);

#define MALLOC_PTR_IN_USE_RANGE_TYPE 1
#define MALLOC_PTR_REGION_RANGE_TYPE 2
#define MALLOC_ADMIN_REGION_RANGE_TYPE 4
#define MALLOC_ZONE_SPECIFIC_FLAGS 0xff00

typedef void vm_range_recorder_t(task_t, void *, unsigned type, vm_range_t *, unsigned);
typedef void print_task_printer_t(const char *fmt, ...);

typedef struct malloc_introspection_t {
	kern_return_t (*enumerator)(task_t task, void *, unsigned type_mask,
	    vm_address_t zone_address, memory_reader_t reader, vm_range_recorder_t recorder);
	size_t (*good_size)(malloc_zone_t *zone, size_t size);
	boolean_t (*check)(malloc_zone_t *zone);
	void (*print)(malloc_zone_t *zone, boolean_t verbose);
	void (*log)(malloc_zone_t *zone, void *address);
	void (*force_lock)(malloc_zone_t *zone);
	void (*force_unlock)(malloc_zone_t *zone);
	void (*statistics)(malloc_zone_t *zone, malloc_statistics_t *stats);
	boolean_t (*zone_locked)(malloc_zone_t *zone);
	boolean_t (*enable_discharge_checking)(malloc_zone_t *zone);
	void (*disable_discharge_checking)(malloc_zone_t *zone);
	void (*discharge)(malloc_zone_t *zone, void *memory);
	void *enumerate_unavailable_without_blocks;
	void (*reinit_lock)(malloc_zone_t *zone);
	void (*print_task)(task_t task, unsigned level, vm_address_t zone_address,
	    memory_reader_t reader, print_task_printer_t printer);
	void (*task_statistics)(task_t task, vm_address_t zone_address,
	    memory_reader_t reader, malloc_statistics_t *stats);
} malloc_introspection_t;

malloc_zone_t *malloc_default_zone(void);
malloc_zone_t *malloc_default_purgeable_zone(void);
void malloc_zone_register(malloc_zone_t *zone);
void malloc_zone_unregister(malloc_zone_t *zone);
kern_return_t malloc_get_all_zones(task_t task, memory_reader_t reader,
    vm_address_t **addresses, unsigned *count);
malloc_zone_t *malloc_zone_from_ptr(const void *ptr);
size_t malloc_size(const void *ptr);
void *malloc_zone_malloc(malloc_zone_t *zone, size_t size);
void *malloc_zone_calloc(malloc_zone_t *zone, size_t num_items, size_t size);
void *malloc_zone_valloc(malloc_zone_t *zone, size_t size);
void *malloc_zone_memalign(malloc_zone_t *zone, size_t alignment, size_t size);
void *malloc_zone_realloc(malloc_zone_t *zone, void *ptr, size_t size);
void malloc_zone_free(malloc_zone_t *zone, void *ptr);

#endif
