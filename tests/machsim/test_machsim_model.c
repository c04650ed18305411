/*
 * test_machsim_model.c - the Mach SIMULATION itself (machsim.c) behaves
 * as the parts of macOS it stands for: the lock aborts on misuse,
 * mach_vm_copy keeps copy-on-write semantics, the default zone is a
 * version-16 libmalloc-like zone whose big blocks live in the simulated
 * address space, and the three page-size configurations of real Macs run
 * rezone (suite "pages", which tests/machsim/pages.sh re-runs under each
 * MACHSIM_PAGES setting).
 * Simulation results, not macOS results.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <os/lock.h>

#include "machsim.h"
#include "backend/os.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

malloc_zone_t *rezone_zone(void);
/* The simulation's Mach VM calls (the SDK has them in <mach/mach_vm.h>). */
kern_return_t mach_vm_map(vm_map_t, mach_vm_address_t *, mach_vm_size_t, mach_vm_offset_t,
    int, mem_entry_name_port_t, memory_object_offset_t, boolean_t, vm_prot_t, vm_prot_t,
    vm_inherit_t);
kern_return_t mach_vm_deallocate(vm_map_t, mach_vm_address_t, mach_vm_size_t);
kern_return_t mach_vm_copy(vm_map_t, mach_vm_address_t, mach_vm_size_t, mach_vm_address_t);

static malloc_zone_t *default_zone(void)
{
	return machsim_libmalloc_zone();
}

TestSuite(machsim, .description = "the Mach simulation models what rezone meets on a Mac");

Test(machsim, unfair_lock_aborts_on_recursion, .signal = SIGABRT)
{
	os_unfair_lock l = OS_UNFAIR_LOCK_INIT;
	os_unfair_lock_lock(&l);
	os_unfair_lock_lock(&l);
}

static void *unlock_it(void *l)
{
	os_unfair_lock_unlock(l);
	return NULL;
}

Test(machsim, unfair_lock_aborts_on_unlock_by_another_thread, .signal = SIGABRT)
{
	static os_unfair_lock l = OS_UNFAIR_LOCK_INIT;
	os_unfair_lock_lock(&l);
	pthread_t t;
	pthread_create(&t, NULL, unlock_it, &l);
	pthread_join(t, NULL);
}

Test(machsim, unfair_lock_trylock_fails_while_held)
{
	os_unfair_lock l = OS_UNFAIR_LOCK_INIT;
	cr_assert(os_unfair_lock_trylock(&l));
	cr_assert_not(os_unfair_lock_trylock(&l));
	os_unfair_lock_unlock(&l);
	cr_assert(os_unfair_lock_trylock(&l));
	os_unfair_lock_unlock(&l);
}

static mach_vm_address_t map_rw(size_t size)
{
	mach_vm_address_t a = 0;
	cr_assert_eq(mach_vm_map(mach_task_self(), &a, size, 0,
	    VM_FLAGS_ANYWHERE | VM_MAKE_TAG(VM_MEMORY_MALLOC_LARGE), MEMORY_OBJECT_NULL, 0,
	    FALSE, VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT), KERN_SUCCESS);
	return a;
}

Test(machsim, vm_copy_is_copy_on_write)
{
	size_t n = 4 * MiB;
	mach_vm_address_t src = map_rw(n), dst = map_rw(n);
	memset((void *)src, 0xa5, n);
	size_t before = machsim_cow_bytes();
	cr_assert_eq(mach_vm_copy(mach_task_self(), src, n, dst), KERN_SUCCESS);
	cr_assert_eq(((unsigned char *)dst)[n - 1], 0xa5);
	/* Later writes to the source do not show in the copy. */
	((unsigned char *)src)[0] = 1;
	cr_assert_eq(((unsigned char *)dst)[0], 0xa5);
	/* The pages count for both ranges while the source stays mapped. */
	cr_assert_eq(machsim_cow_bytes(), before + n);
	mach_vm_deallocate(mach_task_self(), src, n);
	cr_assert_eq(machsim_cow_bytes(), before);
	cr_assert_eq(((unsigned char *)dst)[1], 0xa5);
	mach_vm_deallocate(mach_task_self(), dst, n);
}

Test(machsim, default_zone_is_a_version_16_zone_with_claimed_address)
{
	malloc_zone_t *d = default_zone();
	cr_assert_not_null(d);
	cr_assert_geq(d->version, 16);
	cr_assert_not_null(d->claimed_address);
	char *p = malloc_zone_malloc(d, 100);
	cr_assert(d->claimed_address(d, p + 50));
	cr_assert_not(d->claimed_address(d, p + 4096));
	malloc_zone_free(d, p);
}

Test(machsim, default_zone_blocks_live_in_the_simulated_address_space)
{
	malloc_zone_t *d = default_zone();
	/* A map that ends below rezone's high range: its blocks are placed
	 * from the bottom, where the delegate's go. */
	machsim_set_map_end(_rz_vm_mach_large_hint());
	void *big = rezone_zone()->malloc(rezone_zone(), 256 * KiB);
	void *m = malloc_zone_malloc(d, 64 * KiB);
	cr_assert_eq(machsim_tag_at(m), VM_MEMORY_MALLOC_MEDIUM);
	cr_assert_eq((uintptr_t)m % vm_kernel_page_size, 0);
	/* Placed first fit, ascending: it can sit right behind a large
	 * block's reservation placed the same way, taking the range it would
	 * grow into (what rezone's high range avoids: test_vm_mach.c). */
	uintptr_t s, e;
	cr_assert(machsim_entry(big, &s, &e));
	cr_assert_geq((uintptr_t)m, e);
	malloc_zone_free(d, m);
	cr_assert_eq(machsim_tag_at(m), -1, "mapping not returned");
	rezone_zone()->free(rezone_zone(), big);
}

/* ---- page-size configurations ----------------------------------------------- */

TestSuite(pages, .description = "rezone under the configuration MACHSIM_PAGES names");

Test(pages, rezone_uses_the_larger_page)
{
	malloc_zone_t *z = rezone_zone();
	z->free(z, z->malloc(z, 1 * MiB));
	size_t want = vm_page_size > vm_kernel_page_size ? vm_page_size : vm_kernel_page_size;
	cr_assert_eq(_rz_caps.page_size, want);
	void *v = z->valloc(z, 100);
	cr_assert_eq((uintptr_t)v % vm_page_size, 0);
	z->free(z, v);
}

Test(pages, large_blocks_are_kernel_page_multiples_and_grow_in_place)
{
	malloc_zone_t *z = rezone_zone();
	unsigned char *p = z->malloc(z, 1 * MiB + 1);
	size_t sz = z->size(z, p);
	cr_assert_eq((uintptr_t)p % vm_kernel_page_size, 0);
	cr_assert_eq(sz % _rz_caps.page_size, 0);
	cr_assert_geq(sz, 1 * MiB + 1);
	memset(p, 0x3c, sz);
	/* Far past the headroom: a fixed map behind the block (tagged
	 * VM_MEMORY_REALLOC) or a copy, in units of the kernel page. */
	unsigned char *q = z->realloc(z, p, 64 * MiB + 3 * vm_page_size);
	cr_assert_not_null(q);
	cr_assert_eq(q[sz - 1], 0x3c);
	cr_assert_eq(z->size(z, q) % _rz_caps.page_size, 0);
	q[64 * MiB] = 1;
	z->free(z, q);
}
