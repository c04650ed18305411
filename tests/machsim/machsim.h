/*
 * machsim.h - the Mach SIMULATION's test interface (test-only, Linux).
 *
 * machsim.c implements, on top of mmap, exactly the Mach VM calls
 * (mach_vm_map/deallocate/protect/copy/region) and libmalloc zone-registry
 * calls rezone's macOS sources use, with their signatures and kern_return_t
 * codes. It keeps its own table of map entries with each entry's tag, so a
 * test can see what vmmap would show, occupy a neighbouring range, and
 * count the Mach calls made. Results are simulation results, never macOS
 * measurements. Model details (page sizes, copy-on-write, the virtual
 * default zone, lock misuse): machsim.c's header.
 */
#ifndef MACHSIM_H
#define MACHSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <mach/mach.h>
#include <malloc/malloc.h>

/* Calls made since start (or machsim_counts_reset). */
struct machsim_counts {
	unsigned map, map_fixed, map_overwrite, deallocate, protect, copy, region;
	unsigned no_space; /* fixed maps refused with KERN_NO_SPACE */
};
extern struct machsim_counts machsim_counts;
void machsim_counts_reset(void);
/* All Mach VM calls counted above. */
unsigned machsim_calls(void);

/* Tag (VM_MEMORY_*) of the simulated map entry holding p, or -1. */
int machsim_tag_at(const void *p);
/* Start and end of the simulated map entry holding p (false: none). */
bool machsim_entry(const void *p, uintptr_t *start, uintptr_t *end);
/* Number of simulated map entries. */
size_t machsim_entry_count(void);

/* Maps [addr, addr+size) as somebody else's (tag 99) so that a fixed map
 * there fails with KERN_NO_SPACE; 0 or errno. */
int machsim_occupy(void *addr, size_t size);
/* The bottom of the simulated map; and a lower end for it (a map that
 * stops below rezone's high range), for placement tests. */
uintptr_t machsim_map_bottom(void);
void machsim_set_map_end(uintptr_t end);
void machsim_release(void *addr, size_t size);

/* A zone backed by glibc's malloc that knows its own pointers (size()
 * answers 0 for others, free of a foreign pointer aborts as libmalloc's
 * zones report it). The simulated default zone is one of these. */
malloc_zone_t *machsim_zone_create(const char *name);
/* libmalloc's own default zone as registered (not the virtual one that
 * malloc_default_zone() returns), or NULL. */
malloc_zone_t *machsim_libmalloc_zone(void);
/* Blocks a machsim zone freed (to check forwarding). */
unsigned machsim_zone_frees(malloc_zone_t *zone);
/* claimed_address calls a machsim zone answered. */
unsigned machsim_zone_claims(malloc_zone_t *zone);
/* Makes a machsim zone report another version (an older libmalloc zone:
 * below 10 it has no claimed_address for callers to use). */
void machsim_zone_set_version(malloc_zone_t *zone, unsigned version);
/* Bytes mach_vm_copy left shared copy-on-write between a still-mapped
 * source and its copy: counted in both ranges' footprint. */
size_t machsim_cow_bytes(void);
/* Bytes marked MADV_FREE_REUSABLE and not reused or unmapped since: out
 * of the footprint. */
size_t machsim_reusable_bytes(void);
/* Calls reported to malloc_logger by the malloc_zone_* wrappers. */
extern unsigned machsim_logged;
/* Runs libmalloc's fork protocol around fork(): force_lock on every
 * registered zone; in the parent force_unlock, in the child reinit_lock
 * (version >= 9) or force_unlock. Returns fork()'s value. */
int machsim_fork(void);

#endif
