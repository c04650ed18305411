/*
 * vm_mach.c - the platform contract (os.h) on macOS: Mach VM calls,
 * os_unfair_lock, _NSGetEnviron.
 *
 * Thin wrappers; policy lives in the engine. Facts that shape them (from
 * libmalloc's and xnu's sources):
 * - large blocks are mach_vm_map'ed anywhere above a high base of their
 *   own (placement, below), tagged VM_MEMORY_MALLOC_LARGE, so
 *   vmmap/footprint account them as malloc memory;
 * - growth in place maps the adjacent range at a fixed address, tagged
 *   VM_MEMORY_REALLOC (xnu merges such an allocation into the previous map
 *   entry, up to 128 MiB per entry); KERN_NO_SPACE means a neighbour is
 *   there and the engine falls back to a new block and a copy;
 * - mach_vm_remap(copy=FALSE) shares pages instead of moving them, so there
 *   is no mremap(MREMAP_MAYMOVE): can_move is false;
 * - the page is max(vm_page_size, vm_kernel_page_size): 16 KiB kernel pages
 *   on Apple silicon, 4 KiB user pages under Rosetta.
 * Every kern_return_t is checked and turned into an errno (mach_errno).
 * Apple's SDK has <mach/mach_vm.h>, but the headers bundled with the zig
 * cross compiler do not; libSystem exports the calls either way, so their
 * prototypes are declared here.
 * May include: os.h, config.h, Mach, libSystem and POSIX headers.
 */
#include "config.h"

#if !defined(__APPLE__) && !defined(REZONE_MACH_SIM)
#error "vm_mach.c is the macOS backend (tests/machsim builds it on Linux with REZONE_MACH_SIM)"
#endif

#include <crt_externs.h>
#include <errno.h>
#include <mach/mach.h>
#include <os/lock.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend/os.h"
#include "backend/posix.h"

/* From <mach/mach_vm.h> (MIG-generated; absent from zig's bundled headers). */
extern kern_return_t mach_vm_map(vm_map_t target_task, mach_vm_address_t *address,
    mach_vm_size_t size, mach_vm_offset_t mask, int flags,
    mem_entry_name_port_t object, memory_object_offset_t offset, boolean_t copy,
    vm_prot_t cur_protection, vm_prot_t max_protection, vm_inherit_t inheritance);
extern kern_return_t mach_vm_deallocate(vm_map_t target, mach_vm_address_t address,
    mach_vm_size_t size);
extern kern_return_t mach_vm_protect(vm_map_t target_task, mach_vm_address_t address,
    mach_vm_size_t size, boolean_t set_maximum, vm_prot_t new_protection);
extern kern_return_t mach_vm_copy(vm_map_t target_task, mach_vm_address_t source_address,
    mach_vm_size_t size, mach_vm_address_t dest_address);
extern kern_return_t mach_vm_region(vm_map_t target_task, mach_vm_address_t *address,
    mach_vm_size_t *size, vm_region_flavor_t flavor, vm_region_info_t info,
    mach_msg_type_number_t *info_count, mach_port_t *object_name);

/*
 * Copies of at least this many bytes use mach_vm_copy. It maps the source
 * pages copy-on-write into the destination instead of touching them; the
 * pages are never actually copied provided the source is deallocated or
 * decommitted right after (_rz_vm_copy_shares says when that is needed;
 * a source kept in the cache still shares them). Below it the map-entry bookkeeping (and the later
 * faults on the destination) cost more than a memcpy that stays in the
 * cache; 2 MiB is where libmalloc's large realloc switches too.
 */
#define MACH_VM_COPY_MIN ((size_t)2 << 20)

struct _rz_os_caps _rz_caps;

/*
 * Placement. xnu places a VM_FLAGS_ANYWHERE mapping at the first hole at
 * or above the address passed in (0: the bottom of the map), and answers
 * KERN_NO_SPACE when there is none up to the map's end. libmalloc's
 * regions and its page-aligned medium and large blocks fill the map from
 * the bottom, so a block of rezone's mapped from 0 soon has one of theirs
 * right behind it and its in-place growth (_rz_vm_extend) fails into a
 * copy. rezone's blocks therefore search from a base of their own,
 * MACH_LARGE_BASE plus a per-process offset of 0-255 GiB (rezone's blocks
 * are not at a predictable address, as libmalloc randomises its own); the
 * 64-bit user map reaches 128 TiB (libmalloc's nano region sits at
 * 96 TiB), so 72 TiB lie free above the base. (24 TiB rather than higher:
 * the Mach simulation must reserve the same range on Linux, where ASan's
 * shadow ends near 16 TiB and Criterion's shared arenas land at random
 * from 32 TiB up; an overlap made the simulation fail 1 run in 50.)
 * Where the search from the
 * base fails (the range is full, or a map that ends lower), the block is
 * placed from the bottom as before: the hint never makes a mapping fail.
 * The bookkeeping (_rz_vm_map_meta) stays at the bottom.
 */
#define MACH_LARGE_BASE ((mach_vm_address_t)0x180000000000ull) /* 24 TiB */
#define MACH_LARGE_JITTER_GIB 256u
static mach_vm_address_t mach_large_hint;

_Static_assert(sizeof(os_unfair_lock) <= sizeof(_rz_mutex_t), "mutex too big");

static int mach_errno(kern_return_t kr)
{
	switch (kr) {
	case KERN_SUCCESS:
		return 0;
	case KERN_INVALID_ADDRESS:
	case KERN_INVALID_ARGUMENT:
	case KERN_PROTECTION_FAILURE:
		return EINVAL;
	default:
		/* KERN_NO_SPACE, KERN_RESOURCE_SHORTAGE and anything else: the
		 * request could not be met; the caller keeps what it had. */
		return ENOMEM;
	}
}

static vm_prot_t mach_prot(bool writable)
{
	return writable ? VM_PROT_DEFAULT : VM_PROT_NONE;
}

/* One mach_vm_map of fresh zero-fill memory. flags carry ANYWHERE or
 * FIXED(|OVERWRITE) and the tag; max protection stays ALL so that a
 * reservation can be opened later with mach_vm_protect. */
static int mach_map(mach_vm_address_t *addr, size_t size, size_t mask, int flags,
    bool writable)
{
	kern_return_t kr = mach_vm_map(mach_task_self(), addr, size, mask, flags,
	    MEMORY_OBJECT_NULL, 0, FALSE, mach_prot(writable), VM_PROT_ALL,
	    VM_INHERIT_DEFAULT);
	return mach_errno(kr);
}

int _rz_os_init(bool strict)
{
	size_t pg = vm_page_size > vm_kernel_page_size ? vm_page_size : vm_kernel_page_size;
	_rz_caps.page_size = pg ? pg : 16384;
	/* No zero-copy move, so alignment beyond the page buys nothing. */
	_rz_caps.move_align = 0;
	_rz_caps.can_extend = true;
	_rz_caps.can_move = false;
	/* macOS has no commit charge: untouched pages of a mapping cost only
	 * address space. strict (tests) still reserves inaccessible. */
	_rz_caps.commit_is_free = !strict;
	/* The tag given at map time is the name (vmmap shows MALLOC_LARGE). */
	_rz_caps.can_name = true;
	/* libmalloc's realloc(p, 0) returns a minimal block. */
	_rz_caps.realloc_zero_frees = false;
	(void)_rz_vm_mach_large_hint();
	return 0;
}

/* Chosen once (the first caller wins the compare-and-swap). Entropy
 * without a call that could allocate: the clock and the ASLR-placed
 * stack, mixed by a multiplicative hash. */
uintptr_t _rz_vm_mach_large_hint(void)
{
	mach_vm_address_t h = __atomic_load_n(&mach_large_hint, __ATOMIC_ACQUIRE);
	if (h)
		return (uintptr_t)h;
	uintptr_t here = (uintptr_t)&h;
	uint64_t mix = (_rz_os_now_ns() ^ (uint64_t)here) * 0x9e3779b97f4a7c15ull;
	mach_vm_address_t want = MACH_LARGE_BASE +
	    ((mach_vm_address_t)((mix >> 40) % MACH_LARGE_JITTER_GIB) << 30);
	if (!__atomic_compare_exchange_n(&mach_large_hint, &h, want, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return (uintptr_t)h;
	return (uintptr_t)want;
}

int _rz_vm_map(size_t size, size_t align, bool writable, void **out)
{
	size_t pg = _rz_caps.page_size;
	size_t a = align > pg ? align : pg;
	int flags = VM_FLAGS_ANYWHERE | VM_MAKE_TAG(VM_MEMORY_MALLOC_LARGE);
	mach_vm_address_t hint = (mach_vm_address_t)_rz_vm_mach_large_hint();
	mach_vm_address_t addr = hint;
	int err = mach_map(&addr, size, a - 1, flags, writable);
	if (err) {
		addr = 0;
		err = mach_map(&addr, size, a - 1, flags, writable);
	}
	if (err)
		return err;
	*out = (void *)(uintptr_t)addr;
	return 0;
}

int _rz_vm_unmap(void *p, size_t size)
{
	if (size == 0)
		return 0;
	return mach_errno(mach_vm_deallocate(mach_task_self(),
	    (mach_vm_address_t)(uintptr_t)p, size));
}

int _rz_vm_commit(void *p, size_t size)
{
	if (size == 0)
		return 0;
	return mach_errno(mach_vm_protect(mach_task_self(),
	    (mach_vm_address_t)(uintptr_t)p, size, FALSE, VM_PROT_DEFAULT));
}

/*
 * Decommit maps fresh zero-fill memory over the range in one call
 * (VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE): the old pages are freed and no
 * other thread can take the range in between, as it could after a
 * deallocate. madvise(MADV_FREE_REUSABLE) would be cheaper but keeps the
 * old contents until the kernel needs the pages, and the engine relies on
 * decommitted bytes reading as zero (cached blocks reused by calloc).
 */
int _rz_vm_decommit(void *p, size_t size)
{
	if (size == 0)
		return 0;
	mach_vm_address_t addr = (mach_vm_address_t)(uintptr_t)p;
	int err = mach_map(&addr, size, 0,
	    VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE | VM_MAKE_TAG(VM_MEMORY_MALLOC_LARGE),
	    _rz_caps.commit_is_free);
	if (!err && addr != (mach_vm_address_t)(uintptr_t)p)
		err = EINVAL;
	return err;
}

int _rz_vm_extend(void *p, size_t old_size, size_t new_size)
{
	if (new_size <= old_size)
		return 0;
	mach_vm_address_t want = (mach_vm_address_t)(uintptr_t)p + old_size;
	mach_vm_address_t addr = want;
	/* Fixed, not overwrite: KERN_NO_SPACE (-> ENOMEM) when the range is
	 * taken, and the engine then copies. */
	int err = mach_map(&addr, new_size - old_size, 0,
	    VM_FLAGS_FIXED | VM_MAKE_TAG(VM_MEMORY_REALLOC), _rz_caps.commit_is_free);
	if (err)
		return err;
	if (addr != want) {
		mach_vm_deallocate(mach_task_self(), addr, new_size - old_size);
		return ENOMEM;
	}
	return 0;
}

bool _rz_vm_moves_split(void)
{
	return false; /* nothing moves (can_move is false) */
}

int _rz_vm_commit_grow(void *p, size_t open, size_t new_open, size_t reserved)
{
	(void)reserved;
	return _rz_vm_commit((char *)p + open, new_open - open);
}

int _rz_vm_move(void *p, size_t old_size, size_t used, size_t new_used,
    size_t new_size, size_t align, void **out)
{
	(void)p; (void)old_size; (void)used; (void)new_used; (void)new_size; (void)align;
	(void)out;
	return ENOTSUP;
}

void _rz_vm_copy(void *dst, const void *src, size_t size)
{
	/* Small, unaligned, or vm_copy refused: memcpy (it cannot fail). */
	(void)_rz_vm_copy_shares(dst, src, size);
}

void _rz_vm_prefault(void *p, size_t size)
{
	/* Mach faults zero-fill pages cheaply on first touch; nothing to do. */
	(void)p; (void)size;
}

void _rz_vm_name(void *p, size_t size)
{
	/* Named by the tag passed to mach_vm_map; nothing to add. */
	(void)p; (void)size;
}

bool _rz_vm_is_mapped(const void *p)
{
	mach_vm_address_t addr = (mach_vm_address_t)(uintptr_t)p;
	mach_vm_size_t size = 0;
	struct vm_region_basic_info_64 info;
	mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
	mach_port_t object = MACH_PORT_NULL;
	/* mach_vm_region answers with the first region at or above addr. */
	kern_return_t kr = mach_vm_region(mach_task_self(), &addr, &size,
	    VM_REGION_BASIC_INFO_64, (vm_region_info_t)&info, &count, &object);
	if (kr != KERN_SUCCESS)
		return false;
	return addr <= (mach_vm_address_t)(uintptr_t)p &&
	    (mach_vm_address_t)(uintptr_t)p - addr < size;
}

char **_rz_os_environ(void)
{
	/* A dylib has no `environ` of its own; _NSGetEnviron never allocates. */
	char ***envp = _NSGetEnviron();
	return envp ? *envp : NULL;
}

/* os_unfair_lock: what libmalloc uses; never allocates, and re-creating it
 * in a fork child is a plain store. */
void _rz_mutex_init(_rz_mutex_t *m)
{
	*(os_unfair_lock *)(void *)m->opaque = OS_UNFAIR_LOCK_INIT;
}

void _rz_mutex_lock(_rz_mutex_t *m)
{
	os_unfair_lock_lock((os_unfair_lock_t)(void *)m->opaque);
}

void _rz_mutex_unlock(_rz_mutex_t *m)
{
	os_unfair_lock_unlock((os_unfair_lock_t)(void *)m->opaque);
}

bool _rz_mutex_lock_for_fork(_rz_mutex_t *m)
{
	/* libmalloc's own fork handling takes its locks the same plain way. */
	_rz_mutex_lock(m);
	return true;
}

void _rz_vm_hugepage(void *p, size_t size, bool on)
{
	/* No transparent huge pages for user memory on macOS (thp_mode 0). */
	(void)p; (void)size; (void)on;
}

bool _rz_vm_huge_faults_slow(void)
{
	return false;
}

size_t _rz_os_max_map_count(void)
{
	return 0; /* no such limit on Mach */
}

unsigned _rz_os_thread_count(void)
{
	/* Not needed by the zone front end (libmalloc drives fork). */
	return 0;
}

bool _rz_os_commit_possible(size_t size)
{
	/* macOS has no commit charge: a mapping fails or succeeds by itself. */
	(void)size;
	return true;
}

/* ---- macOS additions (os.h, issue 10) -------------------------------------- */

/*
 * madvise rather than mach_vm_behavior_set(VM_BEHAVIOR_REUSABLE), as
 * libmalloc does for its cached large blocks: one BSD call, and the pages
 * leave the footprint (Activity Monitor, `footprint`) until reused.
 */
void _rz_vm_reusable(void *p, size_t size)
{
	if (size)
		(void)madvise(p, size, MADV_FREE_REUSABLE);
}

void _rz_vm_reuse(void *p, size_t size)
{
	if (size)
		(void)madvise(p, size, MADV_FREE_REUSE);
}

/* VM_MEMORY_APPLICATION_SPECIFIC_1: vmmap lists the table apart from the
 * blocks (not as MALLOC_LARGE, which would count it as heap). Tags from
 * 128 up do not fit VM_MAKE_TAG's int shift (undefined behaviour), so the
 * tag is shifted unsigned. */
#define MACH_META_TAG ((int)((unsigned)VM_MEMORY_APPLICATION_SPECIFIC_1 << 24))

int _rz_vm_map_meta(size_t size, void **out)
{
	mach_vm_address_t addr = 0;
	int err = mach_map(&addr, size, _rz_caps.page_size - 1,
	    VM_FLAGS_ANYWHERE | MACH_META_TAG, true);
	if (err)
		return err;
	*out = (void *)(uintptr_t)addr;
	return 0;
}

bool _rz_vm_copy_shares(void *dst, const void *src, size_t size)
{
	size_t pg = _rz_caps.page_size;
	if (size >= MACH_VM_COPY_MIN && ((uintptr_t)dst & (pg - 1)) == 0 &&
	    ((uintptr_t)src & (pg - 1)) == 0 && (size & (pg - 1)) == 0 &&
	    mach_vm_copy(mach_task_self(), (mach_vm_address_t)(uintptr_t)src, size,
	    (mach_vm_address_t)(uintptr_t)dst) == KERN_SUCCESS)
		return true;
	memcpy(dst, src, size);
	return false;
}

bool _rz_mutex_trylock(_rz_mutex_t *m)
{
	return os_unfair_lock_trylock((os_unfair_lock_t)(void *)m->opaque);
}
