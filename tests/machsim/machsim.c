/*
 * machsim.c - a SIMULATION of the Mach VM and libmalloc zone-registry calls
 * rezone's macOS sources use, on Linux (test-only; see machsim.h).
 *
 * Mach VM: mach_vm_map (ANYWHERE with an alignment mask, FIXED, FIXED |
 * OVERWRITE, tag in the top byte of flags), mach_vm_deallocate,
 * mach_vm_protect, mach_vm_copy, mach_vm_region, over mmap/munmap/mprotect.
 * Sizes and addresses are in units of vm_kernel_page_size, 16 KiB here as
 * on Apple silicon, while vm_page_size is 4 KiB: the Rosetta case, where
 * the two differ and rezone must use the larger. A fixed map over anything
 * already mapped fails with KERN_NO_SPACE, as in xnu.
 * Address space: Linux places new mappings top-down, right below the
 * previous ones, so the range after a block is usually taken; xnu places
 * VM_FLAGS_ANYWHERE allocations first-fit, ascending. The simulation
 * reserves one large inaccessible arena and allocates inside it first-fit
 * ascending, so what lies after a block is what xnu would put there: the
 * next allocation, or nothing.
 *
 * Registry: malloc_zones[] with libmalloc's rules (register appends and
 * refuses a zone twice; unregister moves the last zone into the hole),
 * malloc_default_zone() as the modern forwarder to malloc_zones[0], a
 * purgeable zone created on first request, malloc_zone_from_ptr by asking
 * each zone's size() in order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <crt_externs.h>
#include <os/lock.h>

#include "machsim.h"

mach_port_t mach_task_self_ = 0x103;
vm_size_t vm_page_size = 4096;
vm_size_t vm_kernel_page_size = 16384;

struct machsim_counts machsim_counts;

/* ---- map entries ------------------------------------------------------------ */

struct entry {
	uintptr_t start, end;
	int tag;
	vm_prot_t prot;
};

#define MAX_ENTRIES 8192
static struct entry entries[MAX_ENTRIES];
static size_t n_entries;
static pthread_mutex_t vm_lock = PTHREAD_MUTEX_INITIALIZER;

void machsim_counts_reset(void)
{
	memset(&machsim_counts, 0, sizeof(machsim_counts));
}

unsigned machsim_calls(void)
{
	const struct machsim_counts *c = &machsim_counts;
	return c->map + c->deallocate + c->protect + c->copy + c->region;
}

static void entry_insert(uintptr_t start, uintptr_t end, int tag, vm_prot_t prot)
{
	if (n_entries == MAX_ENTRIES) {
		fprintf(stderr, "machsim: too many map entries\n");
		abort();
	}
	size_t i = n_entries++;
	while (i > 0 && entries[i - 1].start > start) {
		entries[i] = entries[i - 1];
		i--;
	}
	entries[i] = (struct entry){ start, end, tag, prot };
}

/* Removes [start, end) from the entry table, splitting entries it cuts. */
static void entry_remove(uintptr_t start, uintptr_t end)
{
	for (size_t i = 0; i < n_entries;) {
		struct entry e = entries[i];
		if (e.end <= start || e.start >= end) {
			i++;
			continue;
		}
		memmove(&entries[i], &entries[i + 1], (n_entries - i - 1) * sizeof(entries[0]));
		n_entries--;
		if (e.start < start)
			entry_insert(e.start, start, e.tag, e.prot);
		if (e.end > end)
			entry_insert(end, e.end, e.tag, e.prot);
		i = 0;
	}
}

static bool range_covered(uintptr_t start, uintptr_t end)
{
	uintptr_t at = start;
	for (size_t i = 0; i < n_entries && at < end; i++)
		if (entries[i].start <= at && entries[i].end > at)
			at = entries[i].end;
	return at >= end;
}

static int linux_prot(vm_prot_t p)
{
	return (p & VM_PROT_READ ? PROT_READ : 0) | (p & VM_PROT_WRITE ? PROT_WRITE : 0);
}

static size_t kpage(void)
{
	return vm_kernel_page_size;
}

kern_return_t mach_vm_map(vm_map_t target, mach_vm_address_t *address, mach_vm_size_t size,
    mach_vm_offset_t mask, int flags, mem_entry_name_port_t object,
    memory_object_offset_t offset, boolean_t copy, vm_prot_t cur, vm_prot_t max,
    vm_inherit_t inherit);
kern_return_t mach_vm_deallocate(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size);
kern_return_t mach_vm_protect(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size,
    boolean_t set_maximum, vm_prot_t prot);
kern_return_t mach_vm_copy(vm_map_t target, mach_vm_address_t src, mach_vm_size_t size,
    mach_vm_address_t dst);
kern_return_t mach_vm_region(vm_map_t target, mach_vm_address_t *address, mach_vm_size_t *size,
    vm_region_flavor_t flavor, vm_region_info_t info, mach_msg_type_number_t *count,
    mach_port_t *object_name);

/* The simulated address space: 64 GiB, inaccessible and uncharged until
 * mapped. Entries inside it are the only things mapped there. */
#define ARENA_SIZE ((size_t)64 << 30)
static uintptr_t arena_lo, arena_hi;

static void arena_init_locked(void)
{
	if (arena_lo)
		return;
	void *a = mmap(NULL, ARENA_SIZE, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a == MAP_FAILED) {
		fprintf(stderr, "machsim: cannot reserve the simulated address space\n");
		abort();
	}
	arena_lo = ((uintptr_t)a + ((size_t)2 << 20) - 1) & ~(((uintptr_t)2 << 20) - 1);
	arena_hi = (uintptr_t)a + ARENA_SIZE;
}

static bool in_arena(uintptr_t start, uintptr_t end)
{
	return start >= arena_lo && end <= arena_hi && end > start;
}

static bool overlaps_entry(uintptr_t start, uintptr_t end)
{
	for (size_t i = 0; i < n_entries; i++)
		if (entries[i].start < end && entries[i].end > start)
			return true;
	return false;
}

/* First fit, ascending, aligned: xnu's choice for VM_FLAGS_ANYWHERE. */
static uintptr_t arena_find(size_t len, size_t align)
{
	uintptr_t at = (arena_lo + align - 1) & ~(uintptr_t)(align - 1);
	for (size_t i = 0; i < n_entries; i++) {
		const struct entry *e = &entries[i];
		if (e->end <= at || e->start >= arena_hi)
			continue;
		if (e->start >= at + len)
			break;
		at = (e->end + align - 1) & ~(uintptr_t)(align - 1);
	}
	return at + len <= arena_hi ? at : 0;
}

/* Gives a range back to the arena (or to Linux outside it). */
static void arena_unmap(uintptr_t start, uintptr_t end)
{
	if (in_arena(start, end))
		mmap((void *)start, end - start, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	else
		munmap((void *)start, end - start);
}

kern_return_t mach_vm_map(vm_map_t target, mach_vm_address_t *address, mach_vm_size_t size,
    mach_vm_offset_t mask, int flags, mem_entry_name_port_t object,
    memory_object_offset_t offset, boolean_t copy, vm_prot_t cur, vm_prot_t max,
    vm_inherit_t inherit)
{
	(void)copy; (void)inherit;
	if (target != mach_task_self_ || object != MEMORY_OBJECT_NULL || offset != 0 ||
	    (cur & ~max) != 0 || size == 0)
		return KERN_INVALID_ARGUMENT;
	int tag = (flags >> 24) & 0xff;
	int known = VM_FLAGS_ANYWHERE | VM_FLAGS_OVERWRITE | (int)(0xffu << 24);
	if (flags & ~known)
		return KERN_INVALID_ARGUMENT;
	size_t pg = kpage();
	size_t len = ((size_t)size + pg - 1) & ~(pg - 1);
	int prot = linux_prot(cur);
	int mflags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED;
	kern_return_t kr = KERN_SUCCESS;
	uintptr_t a;
	pthread_mutex_lock(&vm_lock);
	arena_init_locked();
	machsim_counts.map++;
	if (flags & VM_FLAGS_ANYWHERE) {
		size_t align = (size_t)mask + 1 > pg ? (size_t)mask + 1 : pg;
		a = arena_find(len, align);
		if (!a) {
			kr = KERN_NO_SPACE;
			goto out;
		}
	} else {
		a = (uintptr_t)*address;
		machsim_counts.map_fixed++;
		if (a & (pg - 1)) {
			kr = KERN_INVALID_ARGUMENT;
			goto out;
		}
		if (flags & VM_FLAGS_OVERWRITE) {
			machsim_counts.map_overwrite++;
			if (!in_arena(a, a + len)) {
				kr = KERN_NO_SPACE;
				goto out;
			}
			entry_remove(a, a + len);
		} else if (!in_arena(a, a + len) || overlaps_entry(a, a + len)) {
			machsim_counts.no_space++;
			kr = KERN_NO_SPACE;
			goto out;
		}
	}
	if (mmap((void *)a, len, prot, mflags, -1, 0) == MAP_FAILED) {
		kr = KERN_RESOURCE_SHORTAGE;
		goto out;
	}
	entry_insert(a, a + len, tag, cur);
	*address = a;
out:
	pthread_mutex_unlock(&vm_lock);
	return kr;
}

kern_return_t mach_vm_deallocate(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size)
{
	if (target != mach_task_self_)
		return KERN_INVALID_ARGUMENT;
	if (size == 0)
		return KERN_SUCCESS;
	size_t pg = kpage();
	uintptr_t start = (uintptr_t)address & ~(uintptr_t)(pg - 1);
	uintptr_t end = ((uintptr_t)address + (uintptr_t)size + pg - 1) & ~(uintptr_t)(pg - 1);
	if (end < start)
		return KERN_INVALID_ARGUMENT;
	pthread_mutex_lock(&vm_lock);
	machsim_counts.deallocate++;
	/* xnu: deallocating unmapped space succeeds. */
	arena_unmap(start, end);
	entry_remove(start, end);
	pthread_mutex_unlock(&vm_lock);
	return KERN_SUCCESS;
}

kern_return_t mach_vm_protect(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size,
    boolean_t set_maximum, vm_prot_t prot)
{
	if (target != mach_task_self_ || set_maximum)
		return KERN_INVALID_ARGUMENT;
	size_t pg = kpage();
	uintptr_t start = (uintptr_t)address & ~(uintptr_t)(pg - 1);
	uintptr_t end = ((uintptr_t)address + (uintptr_t)size + pg - 1) & ~(uintptr_t)(pg - 1);
	kern_return_t kr = KERN_SUCCESS;
	pthread_mutex_lock(&vm_lock);
	machsim_counts.protect++;
	if (!range_covered(start, end)) {
		kr = KERN_INVALID_ADDRESS;
	} else if (mprotect((void *)start, end - start, linux_prot(prot)) != 0) {
		kr = KERN_PROTECTION_FAILURE;
	} else {
		for (size_t i = 0; i < n_entries; i++)
			if (entries[i].start >= start && entries[i].end <= end)
				entries[i].prot = prot;
	}
	pthread_mutex_unlock(&vm_lock);
	return kr;
}

kern_return_t mach_vm_copy(vm_map_t target, mach_vm_address_t src, mach_vm_size_t size,
    mach_vm_address_t dst)
{
	if (target != mach_task_self_)
		return KERN_INVALID_ARGUMENT;
	pthread_mutex_lock(&vm_lock);
	machsim_counts.copy++;
	bool ok = range_covered((uintptr_t)src, (uintptr_t)(src + size)) &&
	    range_covered((uintptr_t)dst, (uintptr_t)(dst + size));
	pthread_mutex_unlock(&vm_lock);
	if (!ok)
		return KERN_INVALID_ADDRESS;
	/* xnu shares the pages copy-on-write; the bytes seen are the same. */
	memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, (size_t)size);
	return KERN_SUCCESS;
}

kern_return_t mach_vm_region(vm_map_t target, mach_vm_address_t *address, mach_vm_size_t *size,
    vm_region_flavor_t flavor, vm_region_info_t info, mach_msg_type_number_t *count,
    mach_port_t *object_name)
{
	if (target != mach_task_self_ || flavor != VM_REGION_BASIC_INFO_64 ||
	    *count < VM_REGION_BASIC_INFO_COUNT_64)
		return KERN_INVALID_ARGUMENT;
	uintptr_t a = (uintptr_t)*address;
	uintptr_t start = 0, end = 0;
	vm_prot_t prot = VM_PROT_DEFAULT;
	pthread_mutex_lock(&vm_lock);
	machsim_counts.region++;
	for (size_t i = 0; i < n_entries && !end; i++) {
		if (entries[i].end > a) {
			start = entries[i].start;
			end = entries[i].end;
			prot = entries[i].prot;
		}
	}
	pthread_mutex_unlock(&vm_lock);
	/* Memory mapped by others (glibc's heap, stacks): one page at a time. */
	unsigned char vec;
	uintptr_t page = a & ~(uintptr_t)(vm_page_size - 1);
	if (!(start <= a && a < end) && !in_arena(a, a + 1) &&
	    mincore((void *)page, 1, &vec) == 0) {
		start = page;
		end = page + vm_page_size;
		prot = VM_PROT_DEFAULT;
	}
	if (!end)
		return KERN_INVALID_ADDRESS;
	struct vm_region_basic_info_64 *bi = (void *)info;
	memset(bi, 0, sizeof(*bi));
	bi->protection = prot;
	bi->max_protection = VM_PROT_ALL;
	bi->inheritance = VM_INHERIT_DEFAULT;
	*address = start;
	*size = end - start;
	*count = VM_REGION_BASIC_INFO_COUNT_64;
	if (object_name)
		*object_name = MACH_PORT_NULL;
	return KERN_SUCCESS;
}

int machsim_tag_at(const void *p)
{
	uintptr_t s, e;
	int tag = -1;
	pthread_mutex_lock(&vm_lock);
	for (size_t i = 0; i < n_entries; i++) {
		s = entries[i].start;
		e = entries[i].end;
		if ((uintptr_t)p >= s && (uintptr_t)p < e)
			tag = entries[i].tag;
	}
	pthread_mutex_unlock(&vm_lock);
	return tag;
}

bool machsim_entry(const void *p, uintptr_t *start, uintptr_t *end)
{
	bool found = false;
	pthread_mutex_lock(&vm_lock);
	for (size_t i = 0; i < n_entries && !found; i++) {
		if ((uintptr_t)p >= entries[i].start && (uintptr_t)p < entries[i].end) {
			*start = entries[i].start;
			*end = entries[i].end;
			found = true;
		}
	}
	pthread_mutex_unlock(&vm_lock);
	return found;
}

size_t machsim_entry_count(void)
{
	return n_entries;
}

int machsim_occupy(void *addr, size_t size)
{
	uintptr_t s = (uintptr_t)addr, e = s + size;
	int err = 0;
	pthread_mutex_lock(&vm_lock);
	if (!in_arena(s, e) || overlaps_entry(s, e))
		err = EEXIST;
	else if (mmap(addr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		err = errno;
	else
		entry_insert(s, e, 99, VM_PROT_READ);
	pthread_mutex_unlock(&vm_lock);
	return err;
}

void machsim_release(void *addr, size_t size)
{
	pthread_mutex_lock(&vm_lock);
	arena_unmap((uintptr_t)addr, (uintptr_t)addr + size);
	entry_remove((uintptr_t)addr, (uintptr_t)addr + size);
	pthread_mutex_unlock(&vm_lock);
}

/* ---- libSystem odds and ends ------------------------------------------------ */

char ***_NSGetEnviron(void)
{
	return &environ;
}

void os_unfair_lock_lock(os_unfair_lock_t lock)
{
	while (__atomic_exchange_n(&lock->_os_unfair_lock_opaque, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

void os_unfair_lock_unlock(os_unfair_lock_t lock)
{
	__atomic_store_n(&lock->_os_unfair_lock_opaque, 0, __ATOMIC_RELEASE);
}

/* ---- machsim zones: glibc-backed, knowing their own pointers ---------------- */

#define SET_BITS 16
#define SET_CAP ((size_t)1 << SET_BITS)

struct simzone {
	malloc_zone_t zone;
	malloc_introspection_t introspect;
	pthread_mutex_t lock;
	unsigned frees;
	int locked;
	/* Open addressing, tombstones as (void *)1; sizes beside. */
	const void **ptrs;
	size_t *sizes;
};

#define TOMB ((const void *)1)

static size_t set_hash(const void *p)
{
	return (size_t)(((uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull) >> (64 - SET_BITS));
}

static size_t set_find(struct simzone *z, const void *p)
{
	for (size_t i = set_hash(p), n = 0; n < SET_CAP; i = (i + 1) & (SET_CAP - 1), n++) {
		if (z->ptrs[i] == p)
			return i;
		if (z->ptrs[i] == NULL)
			return (size_t)-1;
	}
	return (size_t)-1;
}

static void set_add(struct simzone *z, const void *p, size_t size)
{
	for (size_t i = set_hash(p);; i = (i + 1) & (SET_CAP - 1)) {
		if (z->ptrs[i] == NULL || z->ptrs[i] == TOMB) {
			z->ptrs[i] = p;
			z->sizes[i] = size;
			return;
		}
	}
}

static size_t sz_size(malloc_zone_t *zone, const void *p)
{
	struct simzone *z = (struct simzone *)zone;
	if (!p || p == TOMB)
		return 0;
	pthread_mutex_lock(&z->lock);
	size_t i = set_find(z, p);
	size_t s = i == (size_t)-1 ? 0 : z->sizes[i];
	pthread_mutex_unlock(&z->lock);
	return s;
}

static void *sz_track(struct simzone *z, void *p, size_t size)
{
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&z->lock);
	set_add(z, p, size ? size : 1);
	pthread_mutex_unlock(&z->lock);
	return p;
}

static void *sz_malloc(malloc_zone_t *zone, size_t size)
{
	return sz_track((struct simzone *)zone, malloc(size ? size : 1), size);
}

static void *sz_calloc(malloc_zone_t *zone, size_t n, size_t size)
{
	return sz_track((struct simzone *)zone, calloc(n ? n : 1, size ? size : 1), n * size);
}

static void *sz_memalign(malloc_zone_t *zone, size_t align, size_t size)
{
	void *p = NULL;
	if (posix_memalign(&p, align, size ? size : 1) != 0)
		p = NULL;
	return sz_track((struct simzone *)zone, p, size);
}

static void *sz_valloc(malloc_zone_t *zone, size_t size)
{
	return sz_memalign(zone, vm_page_size, size);
}

static void sz_free(malloc_zone_t *zone, void *p)
{
	struct simzone *z = (struct simzone *)zone;
	if (!p)
		return;
	pthread_mutex_lock(&z->lock);
	size_t i = set_find(z, p);
	if (i == (size_t)-1) {
		fprintf(stderr, "machsim(%s): pointer %p being freed was not allocated\n",
		    zone->zone_name, p);
		abort();
	}
	z->ptrs[i] = TOMB;
	z->frees++;
	pthread_mutex_unlock(&z->lock);
	free(p);
}

static void *sz_realloc(malloc_zone_t *zone, void *p, size_t size)
{
	if (!p)
		return sz_malloc(zone, size);
	size_t old = sz_size(zone, p);
	if (!old) {
		fprintf(stderr, "machsim(%s): pointer %p being realloc'd was not allocated\n",
		    zone->zone_name, p);
		abort();
	}
	/* libmalloc: realloc(p, 0) returns a minimal block. */
	void *q = sz_malloc(zone, size ? size : 1);
	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	sz_free(zone, p);
	return q;
}

static void sz_destroy(malloc_zone_t *zone)
{
	(void)zone;
}

static size_t sz_good_size(malloc_zone_t *zone, size_t size)
{
	(void)zone;
	return (size + 15) & ~(size_t)15;
}

static void sz_force_lock(malloc_zone_t *zone)
{
	struct simzone *z = (struct simzone *)zone;
	pthread_mutex_lock(&z->lock);
	z->locked = 1;
}

static void sz_force_unlock(malloc_zone_t *zone)
{
	struct simzone *z = (struct simzone *)zone;
	z->locked = 0;
	pthread_mutex_unlock(&z->lock);
}

static void sz_reinit_lock(malloc_zone_t *zone)
{
	struct simzone *z = (struct simzone *)zone;
	z->locked = 0;
	pthread_mutex_init(&z->lock, NULL);
}

static boolean_t sz_locked(malloc_zone_t *zone)
{
	return ((struct simzone *)zone)->locked;
}

static struct simzone *simzone_new(const char *name)
{
	struct simzone *z = calloc(1, sizeof(*z));
	z->ptrs = calloc(SET_CAP, sizeof(*z->ptrs));
	z->sizes = calloc(SET_CAP, sizeof(*z->sizes));
	pthread_mutex_init(&z->lock, NULL);
	z->introspect.good_size = sz_good_size;
	z->introspect.force_lock = sz_force_lock;
	z->introspect.force_unlock = sz_force_unlock;
	z->introspect.reinit_lock = sz_reinit_lock;
	z->introspect.zone_locked = sz_locked;
	z->zone = (malloc_zone_t){
		.size = sz_size, .malloc = sz_malloc, .calloc = sz_calloc,
		.valloc = sz_valloc, .free = sz_free, .realloc = sz_realloc,
		.destroy = sz_destroy, .zone_name = name, .introspect = &z->introspect,
		.version = 9, .memalign = sz_memalign,
	};
	return z;
}

unsigned machsim_zone_frees(malloc_zone_t *zone)
{
	return ((struct simzone *)zone)->frees;
}

/* ---- the registry ------------------------------------------------------------ */

#define MAX_ZONES 32
static malloc_zone_t *malloc_zones[MAX_ZONES];
static unsigned malloc_num_zones;
static malloc_zone_t *purgeable;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

static void registry_init_locked(void)
{
	if (malloc_num_zones == 0 && !malloc_zones[0])
		malloc_zones[malloc_num_zones++] = &simzone_new("DefaultMallocZone")->zone;
}

static void register_locked(malloc_zone_t *zone)
{
	registry_init_locked();
	for (unsigned i = 0; i < malloc_num_zones; i++) {
		if (malloc_zones[i] == zone) {
			fprintf(stderr, "machsim: Attempted to register zone more than once: %p\n",
			    (void *)zone);
			return;
		}
	}
	if (malloc_num_zones == MAX_ZONES)
		abort();
	malloc_zones[malloc_num_zones++] = zone;
}

void malloc_zone_register(malloc_zone_t *zone)
{
	pthread_mutex_lock(&reg_lock);
	register_locked(zone);
	pthread_mutex_unlock(&reg_lock);
}

void malloc_zone_unregister(malloc_zone_t *zone)
{
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < malloc_num_zones; i++) {
		if (malloc_zones[i] == zone) {
			/* As libmalloc: the last zone takes the hole. */
			malloc_zones[i] = malloc_zones[--malloc_num_zones];
			malloc_zones[malloc_num_zones] = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

kern_return_t malloc_get_all_zones(task_t task, memory_reader_t reader,
    vm_address_t **addresses, unsigned *count)
{
	(void)reader;
	if (task != mach_task_self_)
		return KERN_INVALID_ARGUMENT;
	pthread_mutex_lock(&reg_lock);
	registry_init_locked();
	*addresses = (vm_address_t *)malloc_zones;
	*count = malloc_num_zones;
	pthread_mutex_unlock(&reg_lock);
	return KERN_SUCCESS;
}

malloc_zone_t *machsim_zone_create(const char *name)
{
	malloc_zone_t *z = &simzone_new(name)->zone;
	malloc_zone_register(z);
	return z;
}

malloc_zone_t *malloc_default_purgeable_zone(void)
{
	pthread_mutex_lock(&reg_lock);
	if (!purgeable) {
		purgeable = &simzone_new("DefaultPurgeableMallocZone")->zone;
		register_locked(purgeable);
	}
	pthread_mutex_unlock(&reg_lock);
	return purgeable;
}

static malloc_zone_t *zone0(void)
{
	vm_address_t *zones;
	unsigned n;
	malloc_get_all_zones(mach_task_self_, NULL, &zones, &n);
	return (malloc_zone_t *)zones[0];
}

/* The modern virtual default zone: every call goes to malloc_zones[0]. */
static size_t vz_size(malloc_zone_t *z, const void *p) { (void)z; return zone0()->size(zone0(), p); }
static void *vz_malloc(malloc_zone_t *z, size_t n) { (void)z; return zone0()->malloc(zone0(), n); }
static void *vz_calloc(malloc_zone_t *z, size_t c, size_t n) { (void)z; return zone0()->calloc(zone0(), c, n); }
static void *vz_valloc(malloc_zone_t *z, size_t n) { (void)z; return zone0()->valloc(zone0(), n); }
static void vz_free(malloc_zone_t *z, void *p) { (void)z; zone0()->free(zone0(), p); }
static void *vz_realloc(malloc_zone_t *z, void *p, size_t n) { (void)z; return zone0()->realloc(zone0(), p, n); }
static void *vz_memalign(malloc_zone_t *z, size_t a, size_t n) { (void)z; return zone0()->memalign(zone0(), a, n); }

static malloc_zone_t virtual_default_zone = {
	.size = vz_size, .malloc = vz_malloc, .calloc = vz_calloc, .valloc = vz_valloc,
	.free = vz_free, .realloc = vz_realloc, .zone_name = "DefaultMallocZone",
	.version = 10, .memalign = vz_memalign,
};

malloc_zone_t *malloc_default_zone(void)
{
	return &virtual_default_zone;
}

malloc_zone_t *malloc_zone_from_ptr(const void *ptr)
{
	vm_address_t *zones;
	unsigned n;
	malloc_get_all_zones(mach_task_self_, NULL, &zones, &n);
	for (unsigned i = 0; i < n; i++) {
		malloc_zone_t *z = (malloc_zone_t *)zones[i];
		if (z->size(z, ptr))
			return z;
	}
	return NULL;
}

size_t malloc_size(const void *ptr)
{
	malloc_zone_t *z = malloc_zone_from_ptr(ptr);
	return z ? z->size(z, ptr) : 0;
}

void *malloc_zone_malloc(malloc_zone_t *zone, size_t size) { return zone->malloc(zone, size); }
void *malloc_zone_calloc(malloc_zone_t *zone, size_t n, size_t size) { return zone->calloc(zone, n, size); }
void *malloc_zone_valloc(malloc_zone_t *zone, size_t size) { return zone->valloc(zone, size); }
void *malloc_zone_realloc(malloc_zone_t *zone, void *p, size_t size) { return zone->realloc(zone, p, size); }
void malloc_zone_free(malloc_zone_t *zone, void *p) { zone->free(zone, p); }

void *malloc_zone_memalign(malloc_zone_t *zone, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return NULL;
	return zone->memalign(zone, align, size);
}

int machsim_fork(void)
{
	vm_address_t *zones;
	unsigned n;
	malloc_get_all_zones(mach_task_self_, NULL, &zones, &n);
	for (unsigned i = 0; i < n; i++) {
		malloc_zone_t *z = (malloc_zone_t *)zones[i];
		z->introspect->force_lock(z);
	}
	int pid = fork();
	for (unsigned i = 0; i < n; i++) {
		malloc_zone_t *z = (malloc_zone_t *)zones[i];
		if (pid == 0 && z->version >= 9 && z->introspect->reinit_lock)
			z->introspect->reinit_lock(z);
		else
			z->introspect->force_unlock(z);
	}
	return pid;
}
