/*
 * machsim.c - a SIMULATION of the Mach VM and libmalloc zone-registry calls
 * rezone's macOS sources use, on Linux (test-only; see machsim.h).
 *
 * Mach VM: mach_vm_map (ANYWHERE with an alignment mask, FIXED, FIXED |
 * OVERWRITE, tag in the top byte of flags), mach_vm_deallocate,
 * mach_vm_protect, mach_vm_copy, mach_vm_region, over mmap/munmap/mprotect.
 * Sizes and addresses are in units of vm_kernel_page_size. Page sizes
 * (user/kernel) come from MACHSIM_PAGES at load time: "4k/16k" (default:
 * Rosetta on Apple silicon, where the two differ and rezone must use the
 * larger), "16k/16k" (native arm64) or "4k/4k" (Intel). A fixed map over
 * anything already mapped fails with KERN_NO_SPACE, as in xnu.
 * mach_vm_copy of page-aligned ranges is recorded as copy-on-write sharing:
 * the bytes are copied (later writes to either side stay apart, as with
 * xnu's copy-on-write) and the shared pages are counted for both ranges
 * until either range is deallocated or mapped over (machsim_cow_bytes;
 * plain writes are not observed).
 * os_unfair_lock aborts on recursion and on unlock by a non-owner, as the
 * real one does. madvise(MADV_FREE_REUSABLE/REUSE) records which ranges
 * are out of the footprint (machsim_reusable_bytes); contents are kept.
 * Address space: Linux places new mappings top-down, right below the
 * previous ones, so the range after a block is usually taken; xnu places
 * VM_FLAGS_ANYWHERE allocations first-fit, ascending. The simulation
 * reserves one large inaccessible arena and allocates inside it first-fit
 * ascending, so what lies after a block is what xnu would put there: the
 * next allocation, or nothing.
 *
 * Registry: malloc_zones[] with libmalloc's rules (register appends and
 * refuses a zone twice; unregister moves the last zone into the hole),
 * malloc_default_zone() as the modern virtual default zone (a forwarder to
 * malloc_zones[0]), a purgeable zone created on first request,
 * malloc_zone_from_ptr by asking each zone's size() in order, answering
 * with the virtual default zone when zone 0 claims the pointer (libmalloc
 * does so unless a zone 0 was injected through its private interface,
 * which rezone does not use). The default zone is version 16 with
 * claimed_address, as libmalloc's; its page-aligned blocks of 32 KiB and up
 * get map entries of their own in the simulated address space, so they can
 * sit right behind rezone's blocks as libmalloc's medium and large blocks
 * do on a Mac.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <crt_externs.h>
#include <os/lock.h>

#include "machsim.h"

mach_port_t mach_task_self_ = 0x103;
vm_size_t vm_page_size = 4096;
vm_size_t vm_kernel_page_size = 16384;

/* Before any constructor of rezone's (priority 101 runs first). */
__attribute__((constructor(101))) static void machsim_pages_init(void)
{
	const char *v = getenv("MACHSIM_PAGES");
	if (!v || !*v || strcmp(v, "4k/16k") == 0)
		return;
	if (strcmp(v, "16k/16k") == 0) {
		vm_page_size = 16384;
	} else if (strcmp(v, "4k/4k") == 0) {
		vm_kernel_page_size = 4096;
	} else {
		fprintf(stderr, "machsim: MACHSIM_PAGES must be 4k/16k, 16k/16k or 4k/4k\n");
		abort();
	}
}

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

/*
 * The simulated address space, inaccessible and uncharged until mapped;
 * entries inside it are the only things mapped there. It sits at fixed
 * addresses so that it can model where things go in a Mac's map: its
 * bottom (23 TiB) stands for the bottom of the user map, where xnu places
 * VM_FLAGS_ANYWHERE requests from address 0 and libmalloc's regions grow;
 * its top half TiB holds the high range rezone's backend gives its large
 * blocks (vm_mach.c: 24 TiB plus 0-255 GiB). 23-24.5 TiB is clear of what
 * Linux places (executable and libraries near 85 and 127 TiB), of ASan's
 * shadow (up to 16 TiB) and of Criterion's shared arenas (MAP_FIXED at
 * random addresses from 32 TiB up, inherited by every test process; a
 * range at 31-32.5 TiB collided with one about 1 run in 50).
 * machsim_set_map_end lowers the end, as a smaller map would.
 */
#define ARENA_BASE ((uintptr_t)0x170000000000ull)
#define ARENA_SIZE ((size_t)0x18000000000ull) /* 1.5 TiB */
static uintptr_t arena_lo, arena_hi;

static void arena_init_locked(void)
{
	if (arena_lo)
		return;
	void *a = mmap((void *)ARENA_BASE, ARENA_SIZE, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (a != (void *)ARENA_BASE) {
		fprintf(stderr, "machsim: cannot reserve the simulated address space at %#lx: %s\n",
		    (unsigned long)ARENA_BASE, a == MAP_FAILED ? strerror(errno) : "taken");
		abort();
	}
	arena_lo = ARENA_BASE;
	arena_hi = ARENA_BASE + ARENA_SIZE;
}

void machsim_set_map_end(uintptr_t end)
{
	pthread_mutex_lock(&vm_lock);
	arena_init_locked();
	if (end > arena_lo && end < ARENA_BASE + ARENA_SIZE)
		arena_hi = end;
	pthread_mutex_unlock(&vm_lock);
}

uintptr_t machsim_map_bottom(void)
{
	return ARENA_BASE;
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

/* First fit, ascending, aligned, from the hint `from` (0: the bottom):
 * xnu's choice for VM_FLAGS_ANYWHERE; 0 when nothing fits above it. */
static uintptr_t arena_find(size_t len, size_t align, uintptr_t from)
{
	uintptr_t at = from > arena_lo ? from : arena_lo;
	if (at >= arena_hi)
		return 0;
	at = (at + align - 1) & ~(uintptr_t)(align - 1);
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

/* ---- copy-on-write records (mach_vm_copy) ------------------------------------ */

#define MAX_COW 256
static struct cow { uintptr_t src, dst, len; } cows[MAX_COW];
static size_t n_cows;

/* A range deallocated or mapped over stops sharing pages with its copy. */
static void cow_forget(uintptr_t start, uintptr_t end)
{
	for (size_t i = 0; i < n_cows;) {
		struct cow *c = &cows[i];
		if ((c->src < end && c->src + c->len > start) ||
		    (c->dst < end && c->dst + c->len > start))
			*c = cows[--n_cows];
		else
			i++;
	}
}

size_t machsim_cow_bytes(void)
{
	size_t n = 0;
	pthread_mutex_lock(&vm_lock);
	for (size_t i = 0; i < n_cows; i++)
		n += cows[i].len;
	pthread_mutex_unlock(&vm_lock);
	return n;
}

/* ---- reusable ranges (madvise MADV_FREE_REUSABLE / MADV_FREE_REUSE) ------- */

#define MAX_REUSABLE 256
static struct reusable { uintptr_t start, end; } reusables[MAX_REUSABLE];
static size_t n_reusables;

static void reusable_forget(uintptr_t start, uintptr_t end)
{
	for (size_t i = 0; i < n_reusables;) {
		if (reusables[i].start < end && reusables[i].end > start)
			reusables[i] = reusables[--n_reusables];
		else
			i++;
	}
}

#undef madvise
int machsim_madvise(void *addr, size_t len, int advice)
{
	uintptr_t s = (uintptr_t)addr, e = s + len;
	if (advice != MADV_FREE_REUSABLE && advice != MADV_FREE_REUSE)
		return madvise(addr, len, advice);
	pthread_mutex_lock(&vm_lock);
	int rc = 0;
	if (!range_covered(s, e)) {
		errno = EINVAL;
		rc = -1;
	} else {
		reusable_forget(s, e);
		if (advice == MADV_FREE_REUSABLE && n_reusables < MAX_REUSABLE)
			reusables[n_reusables++] = (struct reusable){ s, e };
	}
	pthread_mutex_unlock(&vm_lock);
	return rc;
}

size_t machsim_reusable_bytes(void)
{
	size_t n = 0;
	pthread_mutex_lock(&vm_lock);
	for (size_t i = 0; i < n_reusables; i++)
		n += reusables[i].end - reusables[i].start;
	pthread_mutex_unlock(&vm_lock);
	return n;
}

/* Gives a range back to the arena (or to Linux outside it). */
static void arena_unmap(uintptr_t start, uintptr_t end)
{
	cow_forget(start, end);
	reusable_forget(start, end);
	if (in_arena(start, end))
		mmap((void *)start, end - start, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	else
		munmap((void *)start, end - start);
}

/* Anywhere maps without counting, for the simulated zones' own blocks. */
static void *arena_alloc(size_t size, int tag)
{
	size_t pg = kpage();
	size_t len = (size + pg - 1) & ~(pg - 1);
	void *p = NULL;
	pthread_mutex_lock(&vm_lock);
	arena_init_locked();
	uintptr_t a = arena_find(len, pg, 0);
	if (a && mmap((void *)a, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED) {
		entry_insert(a, a + len, tag, VM_PROT_DEFAULT);
		p = (void *)a;
	}
	pthread_mutex_unlock(&vm_lock);
	return p;
}

static void arena_free(void *p, size_t size)
{
	size_t pg = kpage();
	uintptr_t s = (uintptr_t)p, e = s + ((size + pg - 1) & ~(pg - 1));
	pthread_mutex_lock(&vm_lock);
	arena_unmap(s, e);
	entry_remove(s, e);
	pthread_mutex_unlock(&vm_lock);
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
		a = arena_find(len, align, (uintptr_t)*address);
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
			cow_forget(a, a + len);
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
	/* xnu shares the pages copy-on-write: the bytes seen are the same, and
	 * later writes to either side do not show in the other (a copy gives
	 * both). Page-aligned copies are recorded as sharing their pages. */
	memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, (size_t)size);
	size_t pg = kpage();
	if (((src | dst | size) & (pg - 1)) == 0) {
		pthread_mutex_lock(&vm_lock);
		cow_forget((uintptr_t)dst, (uintptr_t)(dst + size));
		if (n_cows < MAX_COW)
			cows[n_cows++] = (struct cow){ (uintptr_t)src, (uintptr_t)dst, (uintptr_t)size };
		pthread_mutex_unlock(&vm_lock);
	}
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

/* The lock word holds the owner (here its Linux thread id), as the real
 * lock holds the owner's thread port; misuse aborts as libplatform's does. */
static uint32_t lock_self(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

static _Noreturn void lock_crash(const char *why)
{
	fprintf(stderr, "machsim: BUG IN CLIENT OF LIBPLATFORM: %s\n", why);
	abort();
}

bool os_unfair_lock_trylock(os_unfair_lock_t lock)
{
	uint32_t free_word = 0;
	return __atomic_compare_exchange_n(&lock->_os_unfair_lock_opaque, &free_word,
	    lock_self(), false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void os_unfair_lock_lock(os_unfair_lock_t lock)
{
	uint32_t me = lock_self();
	if (__atomic_load_n(&lock->_os_unfair_lock_opaque, __ATOMIC_RELAXED) == me)
		lock_crash("Trying to recursively lock an os_unfair_lock");
	while (!os_unfair_lock_trylock(lock))
		sched_yield();
}

void os_unfair_lock_unlock(os_unfair_lock_t lock)
{
	uint32_t me = lock_self();
	if (__atomic_load_n(&lock->_os_unfair_lock_opaque, __ATOMIC_RELAXED) != me)
		lock_crash("Unlock of an os_unfair_lock not owned by current thread");
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
	/* Open addressing, tombstones as (void *)1; sizes beside; mapped:
	 * the block has a map entry of its own. */
	const void **ptrs;
	size_t *sizes;
	bool *mapped;
	unsigned claims; /* claimed_address calls */
};

/* libmalloc gives blocks from about here up page-aligned memory (medium
 * and large); the simulation maps them in the simulated address space. */
#define ZONE_MAPPED_MIN ((size_t)32 << 10)

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

static void set_add(struct simzone *z, const void *p, size_t size, bool mapped)
{
	for (size_t i = set_hash(p);; i = (i + 1) & (SET_CAP - 1)) {
		if (z->ptrs[i] == NULL || z->ptrs[i] == TOMB) {
			z->ptrs[i] = p;
			z->sizes[i] = size;
			z->mapped[i] = mapped;
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

static void *sz_track(struct simzone *z, void *p, size_t size, bool mapped)
{
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&z->lock);
	set_add(z, p, size ? size : 1, mapped);
	pthread_mutex_unlock(&z->lock);
	return p;
}

static void *sz_malloc(malloc_zone_t *zone, size_t size)
{
	if (size >= ZONE_MAPPED_MIN)
		return sz_track((struct simzone *)zone,
		    arena_alloc(size, VM_MEMORY_MALLOC_MEDIUM), size, true);
	return sz_track((struct simzone *)zone, malloc(size ? size : 1), size, false);
}

static void *sz_calloc(malloc_zone_t *zone, size_t n, size_t size)
{
	if (n && size > SIZE_MAX / n) {
		errno = ENOMEM;
		return NULL;
	}
	if (n * size >= ZONE_MAPPED_MIN)
		return sz_malloc(zone, n * size); /* fresh mappings are zero */
	return sz_track((struct simzone *)zone, calloc(n ? n : 1, size ? size : 1), n * size,
	    false);
}

static void *sz_memalign(malloc_zone_t *zone, size_t align, size_t size)
{
	if (size >= ZONE_MAPPED_MIN && align <= kpage())
		return sz_malloc(zone, size);
	void *p = NULL;
	if (posix_memalign(&p, align, size ? size : 1) != 0)
		p = NULL;
	return sz_track((struct simzone *)zone, p, size, false);
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
	bool mapped = z->mapped[i];
	size_t size = z->sizes[i];
	pthread_mutex_unlock(&z->lock);
	if (mapped)
		arena_free(p, size);
	else
		free(p);
}

/* Any address inside a live block (libmalloc's zones answer for their
 * regions, which is looser still). */
static boolean_t sz_claimed_address(malloc_zone_t *zone, void *p)
{
	struct simzone *z = (struct simzone *)zone;
	uintptr_t a = (uintptr_t)p;
	boolean_t found = 0;
	pthread_mutex_lock(&z->lock);
	z->claims++;
	for (size_t i = 0; i < SET_CAP && !found; i++) {
		uintptr_t b = (uintptr_t)z->ptrs[i];
		if (b > (uintptr_t)TOMB && a >= b && a - b < z->sizes[i])
			found = 1;
	}
	pthread_mutex_unlock(&z->lock);
	return found;
}

static void *sz_type_malloc(malloc_zone_t *zone, size_t size, uint64_t type)
{
	(void)type;
	return sz_malloc(zone, size);
}

static void *sz_type_calloc(malloc_zone_t *zone, size_t n, size_t size, uint64_t type)
{
	(void)type;
	return sz_calloc(zone, n, size);
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
	z->mapped = calloc(SET_CAP, sizeof(*z->mapped));
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
		.version = 16, .memalign = sz_memalign, .claimed_address = sz_claimed_address,
		.malloc_type_malloc = sz_type_malloc, .malloc_type_calloc = sz_type_calloc,
	};
	return z;
}

void machsim_zone_set_version(malloc_zone_t *zone, unsigned version)
{
	zone->version = version;
}

unsigned machsim_zone_claims(malloc_zone_t *zone)
{
	return ((struct simzone *)zone)->claims;
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
	.version = 16, .memalign = vz_memalign,
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
			return i == 0 ? &virtual_default_zone : z;
	}
	return NULL;
}

size_t malloc_size(const void *ptr)
{
	malloc_zone_t *z = malloc_zone_from_ptr(ptr);
	return z ? z->size(z, ptr) : 0;
}

/* libmalloc's wrappers report each call to malloc_logger (stack
 * logging); the count shows a call reported twice. */
unsigned machsim_logged;

static void logged(void)
{
	__atomic_fetch_add(&machsim_logged, 1, __ATOMIC_RELAXED);
}

void *malloc_zone_malloc(malloc_zone_t *zone, size_t size) { logged(); return zone->malloc(zone, size); }
void *malloc_zone_calloc(malloc_zone_t *zone, size_t n, size_t size) { logged(); return zone->calloc(zone, n, size); }
void *malloc_zone_valloc(malloc_zone_t *zone, size_t size) { logged(); return zone->valloc(zone, size); }
void *malloc_zone_realloc(malloc_zone_t *zone, void *p, size_t size) { logged(); return zone->realloc(zone, p, size); }
void malloc_zone_free(malloc_zone_t *zone, void *p) { logged(); zone->free(zone, p); }

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

malloc_zone_t *machsim_libmalloc_zone(void)
{
	vm_address_t *zones;
	unsigned n;
	malloc_get_all_zones(mach_task_self(), NULL, &zones, &n);
	for (unsigned i = 0; i < n; i++)
		if (strcmp(((malloc_zone_t *)zones[i])->zone_name, "DefaultMallocZone") == 0)
			return (malloc_zone_t *)zones[i];
	return NULL;
}
