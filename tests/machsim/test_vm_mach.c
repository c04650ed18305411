/*
 * test_vm_mach.c - the Mach VM backend (src/backend/vm_mach.c) driven by
 * the engine, inside the Mach SIMULATION (machsim.c). Simulation results:
 * they show the logic and the calls made, not macOS behaviour or timing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "machsim.h"
#include "rezone.h"
#include "backend/os.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

malloc_zone_t *rezone_zone(void);

static malloc_zone_t *rz(void)
{
	return rezone_zone();
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 4093)
		p[i] = (unsigned char)(seed + i / 4093);
	p[n - 1] = (unsigned char)seed;
}

static bool intact(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 4093)
		if (p[i] != (unsigned char)(seed + i / 4093))
			return false;
	return p[n - 1] == (unsigned char)seed;
}

/* The reservation behind a large block: the map entry it starts. */
static size_t reservation(const void *p)
{
	uintptr_t s, e;
	cr_assert(machsim_entry(p, &s, &e), "no map entry at %p", p);
	cr_assert_eq(s, (uintptr_t)p);
	return e - s;
}

static struct rezone_stats stats(void)
{
	struct rezone_stats s;
	cr_assert_eq(rezone_stats(&s, sizeof(s)), 0);
	return s;
}

TestSuite(vm_mach, .description = "Mach VM backend in the Mach simulation");

Test(vm_mach, page_is_the_larger_of_user_and_kernel_page)
{
	rz()->free(rz(), rz()->malloc(rz(), 1 * MiB)); /* sets the engine up */
	cr_assert_eq(vm_page_size, 4096);
	cr_assert_eq(vm_kernel_page_size, 16384);
	cr_assert_eq(_rz_caps.page_size, 16384);
	cr_assert(_rz_caps.can_extend);
	cr_assert_not(_rz_caps.can_move, "mach_vm_remap shares; it does not move");
	cr_assert_not(_rz_caps.realloc_zero_frees);
}

Test(vm_mach, large_blocks_are_tagged_malloc_large)
{
	void *p = rz()->malloc(rz(), 1 * MiB);
	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p % 16384, 0);
	cr_assert_eq(machsim_tag_at(p), VM_MEMORY_MALLOC_LARGE);
	rz()->free(rz(), p);
}

Test(vm_mach, growth_within_headroom_needs_no_mach_call)
{
	unsigned char *p = rz()->malloc(rz(), 1 * MiB);
	size_t r = reservation(p);
	cr_assert_gt(r, 1 * MiB, "no headroom reserved");
	fill(p, 1 * MiB, 7);
	machsim_counts_reset();
	unsigned char *q = rz()->realloc(rz(), p, r);
	cr_assert_eq(q, p);
	cr_assert_eq(machsim_calls(), 0, "%u Mach calls for growth inside the reservation",
	    machsim_calls());
	cr_assert(intact(q, 1 * MiB, 7));
	q[r - 1] = 1; /* the whole reservation is writable */
	rz()->free(rz(), q);
}

Test(vm_mach, growth_past_reservation_extends_in_place_tagged_realloc)
{
	unsigned char *p = rz()->malloc(rz(), 1 * MiB);
	size_t r = reservation(p);
	fill(p, 1 * MiB, 3);
	struct rezone_stats before = stats();
	machsim_counts_reset();
	unsigned char *q = rz()->realloc(rz(), p, r + 1 * MiB);
	cr_assert_eq(q, p, "the neighbour was free: growth must stay in place");
	cr_assert_eq(machsim_counts.map_fixed, 1);
	cr_assert_eq(machsim_counts.copy, 0);
	cr_assert_eq(machsim_tag_at(p), VM_MEMORY_MALLOC_LARGE);
	cr_assert_eq(machsim_tag_at(p + r), VM_MEMORY_REALLOC);
	cr_assert(intact(q, 1 * MiB, 3));
	q[r + 1 * MiB - 1] = 1;
	cr_assert_eq(stats().grow_in_place, before.grow_in_place + 1);
	cr_assert_geq(rz()->size(rz(), q), r + 1 * MiB);
	rz()->free(rz(), q);
}

/* ---- placement: a range of rezone's own (vm_mach.c) ---------------------- */

static malloc_zone_t *delegate_zone(void)
{
	malloc_zone_t *z = machsim_libmalloc_zone();
	cr_assert_not_null(z, "no libmalloc default zone in the simulation");
	return z;
}

/* libmalloc's page-aligned blocks (medium, 32 KiB and up; large) are
 * placed from the bottom of the map; rezone's blocks, above a high base,
 * keep free space behind them and grow in place after the delegate has
 * placed many blocks. */
Test(vm_mach, large_blocks_live_in_a_high_range_and_grow_past_the_delegates_blocks)
{
	malloc_zone_t *d = delegate_zone();
	uintptr_t hint = _rz_vm_mach_large_hint();
	cr_assert_geq(hint, machsim_map_bottom() + ((size_t)1 << 40),
	    "the high range starts 1 TiB above the bottom of the simulated map");
	unsigned char *p = rz()->malloc(rz(), 1 * MiB);
	cr_assert_geq((uintptr_t)p, hint, "block at %p, below the hint %#lx", (void *)p,
	    (unsigned long)hint);
	size_t r = reservation(p);
	fill(p, 1 * MiB, 9);
	void *theirs[16];
	for (int i = 0; i < 16; i++) {
		theirs[i] = malloc_zone_malloc(d, (size_t)(32 + 64 * i) * KiB);
		cr_assert_not_null(theirs[i]);
		cr_assert_lt((uintptr_t)theirs[i], hint, "a delegate block in rezone's range");
	}
	machsim_counts_reset();
	unsigned char *q = rz()->realloc(rz(), p, r + 1 * MiB);
	cr_assert_eq(q, p, "growth past the reservation moved the block");
	cr_assert_eq(machsim_counts.copy, 0);
	cr_assert(intact(q, 1 * MiB, 9));
	for (int i = 0; i < 16; i++)
		malloc_zone_free(d, theirs[i]);
	rz()->free(rz(), q);
}

/* A map with no room above the hint (full, or ending lower): the hint is
 * a preference, never a reason to fail. */
Test(vm_mach, no_room_above_the_high_base_places_blocks_from_the_bottom)
{
	uintptr_t hint = _rz_vm_mach_large_hint();
	machsim_set_map_end(hint);
	unsigned char *p = rz()->malloc(rz(), 4 * MiB);
	cr_assert_not_null(p, "the hint made the mapping fail");
	cr_assert_lt((uintptr_t)p, hint);
	fill(p, 4 * MiB, 2);
	unsigned char *q = rz()->realloc(rz(), p, 64 * MiB);
	cr_assert_not_null(q);
	cr_assert(intact(q, 4 * MiB, 2));
	rz()->free(rz(), q);
}

Test(vm_mach, occupied_neighbour_falls_back_to_vm_copy_with_contents_intact)
{
	size_t n = 3 * MiB; /* above the 2 MiB vm_copy threshold */
	unsigned char *p = rz()->malloc(rz(), n);
	size_t r = reservation(p);
	cr_assert_eq(machsim_occupy(p + r, 16 * KiB), 0);
	fill(p, n, 11);
	struct rezone_stats before = stats();
	machsim_counts_reset();
	unsigned char *q = rz()->realloc(rz(), p, r + 1 * MiB);
	cr_assert_not_null(q);
	cr_assert_neq(q, p, "the neighbour is taken: the block must move");
	cr_assert_geq(machsim_counts.no_space, 1, "extension was not refused");
	cr_assert_eq(machsim_counts.copy, 1, "contents not moved with mach_vm_copy");
	cr_assert(intact(q, n, 11));
	cr_assert_eq(machsim_tag_at(q), VM_MEMORY_MALLOC_LARGE);
	cr_assert_eq(machsim_tag_at(p + r), 99, "the neighbour was touched");
	cr_assert_eq(stats().grow_copied, before.grow_copied + 1);
	rz()->free(rz(), q);
}

Test(vm_mach, small_copies_use_memcpy)
{
	size_t n = 512 * KiB;
	unsigned char *p = rz()->malloc(rz(), n);
	size_t r = reservation(p);
	cr_assert_eq(machsim_occupy(p + r, 16 * KiB), 0);
	fill(p, n, 5);
	machsim_counts_reset();
	unsigned char *q = rz()->realloc(rz(), p, r + 16 * KiB);
	cr_assert_neq(q, p);
	cr_assert_eq(machsim_counts.copy, 0, "mach_vm_copy below the threshold");
	cr_assert(intact(q, n, 5));
	rz()->free(rz(), q);
}

Test(vm_mach, shrink_keeps_the_head_and_zero_fills_the_tail)
{
	unsigned char *p = rz()->malloc(rz(), 4 * MiB);
	memset(p, 0xab, 4 * MiB);
	unsigned char *q = rz()->realloc(rz(), p, 1 * MiB);
	cr_assert_eq(q, p);
	cr_assert_eq(q[0], 0xab);
	cr_assert_eq(q[1 * MiB - 1], 0xab);
	/* Grown back inside the reservation: the decommitted pages are new. */
	unsigned char *g = rz()->realloc(rz(), q, 2 * MiB);
	cr_assert_eq(g, p);
	cr_assert_eq(g[1 * MiB], 0);
	cr_assert_eq(g[2 * MiB - 1], 0);
	rz()->free(rz(), g);
}

Test(vm_mach, kern_errors_become_errno)
{
	rz()->free(rz(), rz()->malloc(rz(), 1 * MiB));
	unsigned char *p = rz()->malloc(rz(), 1 * MiB);
	size_t r = reservation(p);
	cr_assert_eq(machsim_occupy(p + r, 16 * KiB), 0);
	cr_assert_eq(_rz_vm_extend(p, r, r + 16 * KiB), ENOMEM, "KERN_NO_SPACE -> ENOMEM");
	/* Nothing mapped there: KERN_INVALID_ADDRESS -> EINVAL. */
	void *hole = mmap(NULL, 64 * KiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, 64 * KiB);
	cr_assert_eq(_rz_vm_commit(hole, 16 * KiB), EINVAL);
	void *out;
	cr_assert_eq(_rz_vm_move(p, r, r, r, 2 * r, 0, &out), ENOTSUP);
	cr_assert(_rz_vm_is_mapped(p));
	cr_assert_not(_rz_vm_is_mapped(hole));
	char on_stack;
	cr_assert(_rz_vm_is_mapped(&on_stack));
	machsim_release(p + r, 16 * KiB);
	rz()->free(rz(), p);
}

Test(vm_mach, strict_commit_opens_pages_with_mach_vm_protect)
{
	setenv("REZONE_STRICT_COMMIT", "1", 1);
	unsigned char *p = rz()->malloc(rz(), 1 * MiB);
	cr_assert_not(_rz_caps.commit_is_free);
	size_t r = reservation(p);
	p[1 * MiB - 1] = 1;
	machsim_counts_reset();
	unsigned char *q = rz()->realloc(rz(), p, r);
	cr_assert_eq(q, p);
	cr_assert_geq(machsim_counts.protect, 1, "headroom opened without mach_vm_protect");
	q[r - 1] = 2;
	rz()->free(rz(), q);
}

/* Growth by extending the mapping under strict commit (and so in guard
 * mode) must open the new bytes: the extension and the old headroom are
 * inaccessible until committed. Crashed before the fix. */
Test(vm_mach, strict_commit_growth_by_extension_opens_the_new_bytes)
{
	setenv("REZONE_STRICT_COMMIT", "1", 1);
	unsigned char *p = rz()->malloc(rz(), 1 * MiB);
	cr_assert_not(_rz_caps.commit_is_free);
	size_t r = reservation(p);
	p[1 * MiB - 1] = 1;
	unsigned char *q = rz()->realloc(rz(), p, r + 4 * MiB);
	cr_assert_not_null(q);
	q[1 * MiB] = 3;          /* old headroom */
	q[r + 4 * MiB - 1] = 2;  /* extension */
	cr_assert_eq(q[1 * MiB - 1], 1);
	rz()->free(rz(), q);
}

Test(vm_mach, guard_mode_growth_by_extension_opens_the_new_bytes)
{
	setenv("REZONE_GUARD", "1", 1);
	unsigned char *p = rz()->malloc(rz(), 1 * MiB);
	size_t r = reservation(p);
	p[1 * MiB - 1] = 1;
	unsigned char *q = rz()->realloc(rz(), p, r + 4 * MiB);
	cr_assert_not_null(q);
	q[1 * MiB] = 3;
	q[r + 4 * MiB - 1] = 2;
	rz()->free(rz(), q);
}

/* ---- macOS additions to os.h (issue 10): backend side, engine not wired -- */

Test(vm_mach, reusable_pages_leave_the_footprint_until_reused)
{
	rz()->free(rz(), rz()->malloc(rz(), 1 * MiB)); /* sets the engine up */
	void *p;
	cr_assert_eq(_rz_vm_map(2 * MiB, 0, true, &p), 0);
	memset(p, 7, 2 * MiB);
	size_t before = machsim_reusable_bytes();
	_rz_vm_reusable(p, 2 * MiB);
	cr_assert_eq(machsim_reusable_bytes(), before + 2 * MiB);
	_rz_vm_reuse(p, 1 * MiB);
	cr_assert_eq(machsim_reusable_bytes(), before, "reuse of part takes the range back");
	_rz_vm_reusable(p, 2 * MiB);
	cr_assert_eq(_rz_vm_unmap(p, 2 * MiB), 0);
	cr_assert_eq(machsim_reusable_bytes(), before);
}

Test(vm_mach, metadata_is_tagged_as_rezones_own)
{
	rz()->free(rz(), rz()->malloc(rz(), 1 * MiB));
	void *p;
	cr_assert_eq(_rz_vm_map_meta(64 * KiB, &p), 0);
	cr_assert_eq(machsim_tag_at(p), VM_MEMORY_APPLICATION_SPECIFIC_1);
	((char *)p)[64 * KiB - 1] = 1; /* writable */
	cr_assert_eq(_rz_vm_unmap(p, 64 * KiB), 0);
}

Test(vm_mach, copy_shares_reports_copy_on_write)
{
	rz()->free(rz(), rz()->malloc(rz(), 1 * MiB));
	void *a, *b;
	cr_assert_eq(_rz_vm_map(4 * MiB, 0, true, &a), 0);
	cr_assert_eq(_rz_vm_map(4 * MiB, 0, true, &b), 0);
	memset(a, 9, 4 * MiB);
	size_t before = machsim_cow_bytes();
	cr_assert(_rz_vm_copy_shares(b, a, 4 * MiB));
	cr_assert_eq(machsim_cow_bytes(), before + 4 * MiB, "source still shares the pages");
	cr_assert_not(_rz_vm_copy_shares(b, a, 64 * KiB), "small copies are memcpy");
	/* What the engine must do after a sharing copy: drop the source. */
	cr_assert_eq(_rz_vm_decommit(a, 4 * MiB), 0);
	cr_assert_eq(machsim_cow_bytes(), before);
	cr_assert_eq(((unsigned char *)b)[4 * MiB - 1], 9);
	_rz_vm_unmap(a, 4 * MiB);
	_rz_vm_unmap(b, 4 * MiB);
}

Test(vm_mach, mutex_trylock_fails_while_held)
{
	_rz_mutex_t m;
	_rz_mutex_init(&m);
	cr_assert(_rz_mutex_trylock(&m));
	cr_assert_not(_rz_mutex_trylock(&m));
	_rz_mutex_unlock(&m);
	_rz_mutex_lock(&m);
	_rz_mutex_unlock(&m);
}
