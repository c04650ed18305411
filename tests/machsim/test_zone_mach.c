/*
 * test_zone_mach.c - the rezone malloc zone (src/frontend/zone_mach.c)
 * and its small delegate (src/backend/small_zone.c) inside the Mach
 * SIMULATION's zone registry (machsim.c). The zone was registered and
 * promoted by its constructor when this program loaded, as under
 * DYLD_INSERT_LIBRARIES. Simulation results, not macOS results.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "machsim.h"
#include "rezone.h"
#include "engine/engine.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

malloc_zone_t *rezone_zone(void);
int rezone_zone_register_default(void);

static malloc_zone_t *rz(void)
{
	return rezone_zone();
}

static malloc_zone_t *zone_named(const char *name, unsigned *index)
{
	vm_address_t *zones;
	unsigned n;
	cr_assert_eq(malloc_get_all_zones(mach_task_self(), NULL, &zones, &n), KERN_SUCCESS);
	for (unsigned i = 0; i < n; i++) {
		malloc_zone_t *z = (malloc_zone_t *)zones[i];
		if (strcmp(z->zone_name, name) == 0) {
			if (index)
				*index = i;
			return z;
		}
	}
	return NULL;
}

static unsigned times_registered(malloc_zone_t *zone)
{
	vm_address_t *zones;
	unsigned n, k = 0;
	malloc_get_all_zones(mach_task_self(), NULL, &zones, &n);
	for (unsigned i = 0; i < n; i++)
		k += (malloc_zone_t *)zones[i] == zone;
	return k;
}

static malloc_zone_t *first_zone(void)
{
	vm_address_t *zones;
	unsigned n;
	malloc_get_all_zones(mach_task_self(), NULL, &zones, &n);
	return (malloc_zone_t *)zones[0];
}

TestSuite(zone_mach, .description = "rezone malloc zone in the Mach simulation");

Test(zone_mach, constructor_makes_rezone_the_first_zone)
{
	unsigned d, p;
	cr_assert_eq(first_zone(), rz());
	cr_assert_eq(times_registered(rz()), 1);
	cr_assert_not_null(zone_named("DefaultMallocZone", &d), "default zone lost");
	cr_assert_not_null(zone_named("DefaultPurgeableMallocZone", &p), "purgeable zone lost");
	cr_assert_lt(d, p, "the purgeable zone must stay behind the default zone");
	/* libmalloc's forwarder now reaches rezone. */
	void *big = malloc_zone_malloc(malloc_default_zone(), 1 * MiB);
	cr_assert_eq(rz()->size(rz(), big), 1 * MiB);
	malloc_zone_free(rz(), big);
}

/* As on macOS 11-15: what zone 0 claims, malloc_zone_from_ptr() reports as
 * the virtual default zone, whoever zone 0 is; so a harness must look at
 * zone 0 itself (bench.h, scripts/bench.sh). */
Test(zone_mach, zone_from_ptr_answers_with_the_virtual_default_zone)
{
	void *big = malloc_zone_malloc(malloc_default_zone(), 1 * MiB);
	void *small = malloc_zone_malloc(malloc_default_zone(), 64);
	cr_assert_neq(malloc_default_zone(), rz());
	cr_assert_str_eq(malloc_default_zone()->zone_name, "DefaultMallocZone");
	cr_assert_eq(malloc_zone_from_ptr(big), malloc_default_zone());
	cr_assert_eq(malloc_zone_from_ptr(small), malloc_default_zone());
	/* The active zone: zone 0 by name, and it claims a fresh block. */
	malloc_zone_t *z0 = first_zone();
	cr_assert_str_eq(z0->zone_name, "rezone");
	cr_assert_neq(z0->size(z0, small), 0);
	free(NULL);
	malloc_zone_free(rz(), big);
	malloc_zone_free(rz(), small);
}

Test(zone_mach, register_default_is_idempotent)
{
	cr_assert_eq(rezone_zone_register_default(), 0);
	cr_assert_eq(rezone_zone_register_default(), 0);
	cr_assert_eq(first_zone(), rz());
	cr_assert_eq(times_registered(rz()), 1);
}

Test(zone_mach, register_default_again_after_unregister)
{
	malloc_zone_unregister(rz());
	cr_assert_eq(times_registered(rz()), 0);
	cr_assert_eq(rezone_zone_register_default(), 0);
	cr_assert_eq(first_zone(), rz());
	cr_assert_eq(times_registered(rz()), 1);
}

Test(zone_mach, zone_is_version_13_with_every_function)
{
	malloc_zone_t *z = rz();
	cr_assert_geq(z->version, 13);
	cr_assert_str_eq(z->zone_name, "rezone");
	cr_assert(z->size && z->malloc && z->calloc && z->valloc && z->free && z->realloc &&
	    z->destroy && z->batch_malloc && z->batch_free && z->memalign &&
	    z->free_definite_size && z->pressure_relief && z->claimed_address);
	cr_assert_null(z->try_free_default);
	malloc_introspection_t *i = z->introspect;
	cr_assert(i->enumerator && i->good_size && i->check && i->print && i->log &&
	    i->force_lock && i->force_unlock && i->reinit_lock && i->statistics && i->zone_locked);
	/* Versions 11 and 12 of the zone interface, which 13 includes. */
	cr_assert(i->print_task && i->task_statistics);
	cr_assert_eq((uintptr_t)z % 16384, 0, "the zone must own its page");
}

Test(zone_mach, small_sizes_go_to_the_previous_default_zone)
{
	malloc_zone_t *prev = zone_named("DefaultMallocZone", NULL);
	unsigned frees = machsim_zone_frees(prev);
	void *p = rz()->malloc(rz(), 100);
	cr_assert_not_null(p);
	cr_assert_eq(prev->size(prev, p), 100, "small block not from the previous default zone");
	cr_assert_eq(rz()->size(rz(), p), 100);
	cr_assert_eq(malloc_zone_from_ptr(p), malloc_default_zone(),
	    "rezone, zone 0, answers for it (reported as the virtual default zone)");
	rz()->free(rz(), p);
	cr_assert_eq(machsim_zone_frees(prev), frees + 1);
}

Test(zone_mach, size_is_zero_for_pointers_rezone_does_not_own)
{
	malloc_zone_t *other = machsim_zone_create("other");
	void *fp = malloc_zone_malloc(other, 100);
	void *fpage = malloc_zone_valloc(other, 64 * KiB);
	void *glibc = malloc(100);
	int on_stack;
	cr_assert_eq(rz()->size(rz(), fp), 0);
	cr_assert_eq(rz()->size(rz(), fpage), 0);
	cr_assert_eq(rz()->size(rz(), glibc), 0);
	cr_assert_eq(rz()->size(rz(), &on_stack), 0);
	cr_assert_eq(rz()->size(rz(), NULL), 0);
	unsigned char *big = rz()->malloc(rz(), 1 * MiB);
	cr_assert_eq(rz()->size(rz(), big + 16), 0, "interior pointers are not blocks");
	cr_assert_eq(rz()->size(rz(), big + 16 * KiB), 0);
	cr_assert_geq(rz()->size(rz(), big), 1 * MiB);
	cr_assert_eq(malloc_size(big), rz()->size(rz(), big));
	cr_assert_eq(malloc_zone_from_ptr(fp), other);
	free(glibc);
	rz()->free(rz(), big);
}

Test(zone_mach, free_of_a_foreign_pointer_goes_to_its_zone)
{
	malloc_zone_t *other = machsim_zone_create("other");
	void *fp = malloc_zone_malloc(other, 100);
	void *fpage = malloc_zone_valloc(other, 64 * KiB);
	unsigned frees = machsim_zone_frees(other);
	unsigned logged = machsim_logged;
	rz()->free(rz(), fp);
	rz()->free(rz(), fpage);
	cr_assert_eq(machsim_zone_frees(other), frees + 2);
	cr_assert_eq(other->size(other, fp), 0);
	cr_assert_eq(machsim_logged, logged, "forwarded through malloc_zone_free (logged twice)");
}

Test(zone_mach, realloc_of_a_foreign_pointer_goes_to_its_zone)
{
	malloc_zone_t *other = machsim_zone_create("other");
	char *fp = malloc_zone_malloc(other, 100);
	strcpy(fp, "kept");
	unsigned logged = machsim_logged;
	char *q = rz()->realloc(rz(), fp, 200);
	cr_assert_eq(machsim_logged, logged, "forwarded through malloc_zone_realloc");
	cr_assert_not_null(q);
	cr_assert_eq(malloc_zone_from_ptr(q), other);
	cr_assert_eq(other->size(other, q), 200);
	cr_assert_str_eq(q, "kept");
	malloc_zone_free(other, q);
}

Test(zone_mach, realloc_to_zero_returns_a_minimal_block)
{
	void *p = rz()->malloc(rz(), 100);
	void *q = rz()->realloc(rz(), p, 0);
	cr_assert_not_null(q, "macOS realloc(p, 0) returns a block");
	rz()->free(rz(), q);
	void *big = rz()->malloc(rz(), 1 * MiB);
	void *b0 = rz()->realloc(rz(), big, 0);
	cr_assert_not_null(b0);
	rz()->free(rz(), b0);
}

Test(zone_mach, allocation_calls_honour_their_contracts)
{
	malloc_zone_t *z = rz();
	unsigned char *c = z->calloc(z, 1, 2 * MiB);
	for (size_t i = 0; i < 2 * MiB; i += 4096)
		cr_assert_eq(c[i], 0);
	void *v = z->valloc(z, 100);
	cr_assert_eq((uintptr_t)v % 16384, 0, "valloc: page of the larger page size");
	void *m = z->memalign(z, 64 * KiB, 1 * MiB);
	cr_assert_eq((uintptr_t)m % (64 * KiB), 0);
	void *s = z->memalign(z, 256, 100);
	cr_assert_eq((uintptr_t)s % 256, 0);
	void *batch[8];
	cr_assert_eq(z->batch_malloc(z, 48, batch, 8), 8);
	z->batch_free(z, batch, 8);
	z->free_definite_size(z, c, z->size(z, c));
	z->free_definite_size(z, s, z->size(z, s));
	z->free(z, v);
	z->free(z, m);
	cr_assert_geq(z->introspect->good_size(z, 100), 100);
	cr_assert(z->introspect->check(z));
}

Test(zone_mach, claimed_address_covers_rezone_memory)
{
	unsigned char *big = rz()->malloc(rz(), 1 * MiB);
	void *small = rz()->malloc(rz(), 64);
	cr_assert(rz()->claimed_address(rz(), big));
	cr_assert(rz()->claimed_address(rz(), big + 100 * KiB));
	cr_assert(rz()->claimed_address(rz(), small));
	rz()->free(rz(), big);
	rz()->free(rz(), small);
}

Test(zone_mach, claimed_address_asks_the_delegate_or_says_yes)
{
	malloc_zone_t *prev = zone_named("DefaultMallocZone", NULL);
	char *small = rz()->malloc(rz(), 200);
	unsigned claims = machsim_zone_claims(prev);
	cr_assert(rz()->claimed_address(rz(), small + 100), "interior of a delegate block");
	cr_assert_gt(machsim_zone_claims(prev), claims, "the v16 delegate was not asked");
	/* A delegate without claimed_address cannot say: never a false no. */
	machsim_zone_set_version(prev, 9);
	cr_assert(rz()->claimed_address(rz(), small + 100));
	machsim_zone_set_version(prev, 16);
	rz()->free(rz(), small);
}

/*
 * A page-aligned block of the delegate is freed by the delegate without
 * the engine's misuse checks (which take the engine lock when the span
 * filter cannot rule the address out). With the engine lock held by this
 * thread, a path through the lock would abort: os_unfair_lock recursion.
 */
Test(zone_mach, page_aligned_small_frees_skip_the_engine)
{
	malloc_zone_t *prev = zone_named("DefaultMallocZone", NULL);
	void *big = rz()->malloc(rz(), 256 * KiB);
	void *pa = rz()->valloc(rz(), 64 * KiB), *pb = rz()->valloc(rz(), 64 * KiB);
	cr_assert_eq((uintptr_t)pa % 16384, 0);
	cr_assert_neq(prev->size(prev, pa), 0, "not the delegate's");
	size_t sb = rz()->size(rz(), pb);
	/* The engine's page map says pa is not rezone's (exactly, where the
	 * old span filter could only say "maybe" near a large mapping); what
	 * is checked is that no engine lock is taken on the way to the
	 * delegate while force_lock holds them all. */
	cr_assert_not(_rz_maybe_ours(pa), "pa is the delegate's page");
	unsigned frees = machsim_zone_frees(prev);
	rz()->introspect->force_lock(rz());
	rz()->free(rz(), pa);
	rz()->free_definite_size(rz(), pb, sb);
	rz()->introspect->force_unlock(rz());
	cr_assert_eq(machsim_zone_frees(prev), frees + 2);
	rz()->free(rz(), big);
}

Test(zone_mach, zone_page_is_read_only, .signal = SIGSEGV)
{
	volatile unsigned *version = &rz()->version;
	*version = 14;
}

struct seen {
	unsigned calls;
	vm_range_t used[64], regions[64];
	unsigned n_used, n_regions;
};

static void record(task_t task, void *ctx, unsigned type, vm_range_t *r, unsigned n)
{
	struct seen *s = ctx;
	cr_assert_eq(task, mach_task_self());
	s->calls++;
	for (unsigned i = 0; i < n; i++) {
		if (type == MALLOC_PTR_IN_USE_RANGE_TYPE && s->n_used < 64)
			s->used[s->n_used++] = r[i];
		if (type == MALLOC_PTR_REGION_RANGE_TYPE && s->n_regions < 64)
			s->regions[s->n_regions++] = r[i];
	}
}

static bool reported(const struct seen *s, void *p, size_t size)
{
	bool used = false, region = false;
	for (unsigned i = 0; i < s->n_used; i++)
		used |= s->used[i].address == (vm_address_t)p && s->used[i].size == size;
	for (unsigned i = 0; i < s->n_regions; i++)
		region |= s->regions[i].address == (vm_address_t)p && s->regions[i].size >= size;
	return used && region;
}

Test(zone_mach, enumerator_reports_live_large_blocks)
{
	void *b[3];
	for (int i = 0; i < 3; i++)
		b[i] = rz()->malloc(rz(), (size_t)(i + 1) * MiB);
	struct seen s = { 0 };
	kern_return_t kr = rz()->introspect->enumerator(mach_task_self(), &s,
	    MALLOC_PTR_IN_USE_RANGE_TYPE | MALLOC_PTR_REGION_RANGE_TYPE,
	    (vm_address_t)rz(), NULL, record);
	cr_assert_eq(kr, KERN_SUCCESS);
	for (int i = 0; i < 3; i++)
		cr_assert(reported(&s, b[i], rz()->size(rz(), b[i])), "block %d not reported", i);
	rz()->free(rz(), b[1]);
	struct seen t = { 0 };
	rz()->introspect->enumerator(mach_task_self(), &t, MALLOC_PTR_IN_USE_RANGE_TYPE,
	    (vm_address_t)rz(), NULL, record);
	cr_assert_eq(t.n_used, s.n_used - 1);
	cr_assert_eq(t.n_regions, 0, "regions were not asked for");
	for (unsigned i = 0; i < t.n_used; i++)
		cr_assert_neq(t.used[i].address, (vm_address_t)b[1], "freed block reported");
	rz()->free(rz(), b[0]);
	rz()->free(rz(), b[2]);
}

Test(zone_mach, force_lock_and_unlock_are_reported_by_zone_locked)
{
	malloc_introspection_t *i = rz()->introspect;
	cr_assert_not(i->zone_locked(rz()));
	i->force_lock(rz());
	cr_assert(i->zone_locked(rz()));
	i->force_unlock(rz());
	cr_assert_not(i->zone_locked(rz()));
	free(rz()->malloc(rz(), 64)); /* still usable */
	void *p = rz()->malloc(rz(), 1 * MiB);
	rz()->free(rz(), p);
}

Test(zone_mach, fork_leaves_parent_and_child_working)
{
	unsigned char *p = rz()->malloc(rz(), 1 * MiB);
	memset(p, 0x5a, 1 * MiB);
	int pid = machsim_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* Child: the lock was re-created by reinit_lock. */
		int bad = rz()->introspect->zone_locked(rz());
		unsigned char *q = rz()->realloc(rz(), p, 8 * MiB);
		bad |= !q || q[0] != 0x5a || q[1 * MiB - 1] != 0x5a;
		void *r = rz()->malloc(rz(), 3 * MiB);
		bad |= !r;
		rz()->free(rz(), r);
		rz()->free(rz(), q);
		_exit(bad);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (%#x)", status);
	cr_assert_not(rz()->introspect->zone_locked(rz()));
	unsigned char *q = rz()->realloc(rz(), p, 8 * MiB);
	cr_assert_not_null(q);
	cr_assert_eq(q[1 * MiB - 1], 0x5a);
	rz()->free(rz(), q);
}

Test(zone_mach, statistics_count_large_blocks)
{
	void *a = rz()->malloc(rz(), 1 * MiB), *b = rz()->malloc(rz(), 2 * MiB);
	malloc_statistics_t st;
	rz()->introspect->statistics(rz(), &st);
	cr_assert_geq(st.blocks_in_use, 2);
	cr_assert_geq(st.size_in_use, 3 * MiB);
	cr_assert_gt(st.size_allocated, st.size_in_use, "reservations include headroom");
	size_t peak = st.size_in_use;
	rz()->free(rz(), a);
	rz()->free(rz(), b);
	rz()->introspect->statistics(rz(), &st);
	cr_assert_geq(st.max_size_in_use, peak, "max_size_in_use is a high-water mark");
	cr_assert_geq(st.max_size_in_use, st.size_in_use);
}

/* Growth that does not pass through the zone's functions (rezone_expand)
 * raises the high-water mark too: the engine keeps it, the zone only
 * reports it. */
Test(zone_mach, statistics_peak_follows_rezone_expand)
{
	unsigned char *p = rz()->malloc(rz(), 8 * MiB);
	cr_assert_not_null(p);
	/* A new block carries headroom (at least 2x), so this grows in place. */
	cr_assert_eq(rezone_expand(p, 12 * MiB), p);
	/* No statistics() call in between: a peak sampled when asked would
	 * see the growth there. */
	struct rezone_stats s;
	cr_assert_eq(rezone_stats(&s, sizeof(s)), 0);
	size_t grown = (size_t)s.large_live_bytes;
	cr_assert_geq(grown, 12 * MiB);
	rz()->free(rz(), p);
	malloc_statistics_t st;
	rz()->introspect->statistics(rz(), &st);
	cr_assert_geq(st.max_size_in_use, grown, "peak %zu below the %zu reached by rezone_expand",
	    st.max_size_in_use, grown);
}

Test(zone_mach, pressure_relief_returns_cached_blocks)
{
	void *a = rz()->malloc(rz(), 4 * MiB);
	rz()->free(rz(), a); /* kept in the freed-block cache */
	struct rezone_stats before, after;
	rezone_stats(&before, sizeof(before));
	rz()->pressure_relief(rz(), 0);
	rezone_stats(&after, sizeof(after));
	cr_assert_gt(after.cache_releases, before.cache_releases);
}
