/*
 * zone_mach.c - the macOS drop-in: a malloc zone (version 13) over the
 * engine, made the default zone when the library is loaded
 * (DYLD_INSERT_LIBRARIES or linking), or on request.
 *
 * libmalloc finds the zone of a pointer by asking each registered zone's
 * size(), in order, for every free/realloc/malloc_size in the process. So
 * size() must be fast and answer 0 for pointers that are not ours; ours
 * are the large blocks and the blocks of the small delegate (the previous
 * default zone), whose size() answers for them. A pointer no one here
 * owns that reaches free/realloc directly (malloc_zone_free(rezone, p)) is
 * handed to the zone that owns it.
 *
 * May include: engine/engine.h, backend/small_zone.h, frontend/zone_task.h,
 * frontend/zone_msl.h,
 * rezone.h, <malloc/malloc.h>, <mach/mach.h>, <sys/mman.h>.
 */
#include "config.h"

#if !defined(__APPLE__) && !defined(REZONE_MACH_SIM)
#error "zone_mach.c is the macOS front end (tests/machsim builds it on Linux with REZONE_MACH_SIM)"
#endif

#include <errno.h>
#include <mach/mach.h>
#include <malloc/malloc.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "rezone.h"
#include "backend/small_zone.h"
#include "engine/engine.h"
#include "frontend/zone_msl.h"
#include "frontend/zone_task.h"

#define RZ_EXPORT __attribute__((visibility("default")))

/* Public: declared in include/rezone.h (macOS section), which the Mach
 * simulation build on Linux does not see. */
#ifndef __APPLE__
RZ_EXPORT malloc_zone_t *rezone_zone(void);
RZ_EXPORT int rezone_zone_register_default(void);
#endif

static size_t zone_size(malloc_zone_t *z, const void *p);
static void *zone_malloc(malloc_zone_t *z, size_t size);
static void *zone_calloc(malloc_zone_t *z, size_t count, size_t size);
static void *zone_valloc(malloc_zone_t *z, size_t size);
static void zone_free(malloc_zone_t *z, void *p);
static void *zone_realloc(malloc_zone_t *z, void *p, size_t size);
static void zone_destroy(malloc_zone_t *z);
static unsigned zone_batch_malloc(malloc_zone_t *z, size_t size, void **out, unsigned n);
static void zone_batch_free(malloc_zone_t *z, void **ps, unsigned n);
static void *zone_memalign(malloc_zone_t *z, size_t align, size_t size);
static void zone_free_definite_size(malloc_zone_t *z, void *p, size_t size);
static size_t zone_pressure_relief(malloc_zone_t *z, size_t goal);
static boolean_t zone_claimed_address(malloc_zone_t *z, void *p);

static size_t zone_good_size(malloc_zone_t *z, size_t size);
static boolean_t zone_check(malloc_zone_t *z);
static void zone_print(malloc_zone_t *z, boolean_t verbose);
static void zone_log(malloc_zone_t *z, void *address);
static void zone_force_lock(malloc_zone_t *z);
static void zone_force_unlock(malloc_zone_t *z);
static void zone_reinit_lock(malloc_zone_t *z);
static void zone_statistics(malloc_zone_t *z, malloc_statistics_t *stats);
static boolean_t zone_locked(malloc_zone_t *z);

/* const: libmalloc and the tools only read it, and in read-only memory a
 * stray write cannot redirect a call. */
static const malloc_introspection_t zone_introspect = {
	.enumerator = _rz_zone_enumerator,
	.good_size = zone_good_size,
	.check = zone_check,
	.print = zone_print,
	.log = zone_log,
	.force_lock = zone_force_lock,
	.force_unlock = zone_force_unlock,
	.statistics = zone_statistics,
	.zone_locked = zone_locked,
	.reinit_lock = zone_reinit_lock,
	.print_task = _rz_zone_print_task,
	.task_statistics = _rz_zone_task_statistics,
};

/*
 * The zone fills a 16 KiB page of its own: malloc_set_zone_name() and
 * tools that protect zones mprotect the page holding a zone structure,
 * which must not take unrelated writable data with it. The page also
 * carries the link that introspection from another task starts from
 * (zone_task.h), written before the page becomes read-only.
 */
#define ZONE_PAGE 16384
_Static_assert(sizeof(malloc_zone_t) <= RZ_ZONE_LINK_AT &&
    RZ_ZONE_LINK_AT + sizeof(struct _rz_zone_link) <= ZONE_PAGE, "zone page layout");
static union {
	malloc_zone_t zone;
	unsigned char page[ZONE_PAGE];
	struct {
		unsigned char before[RZ_ZONE_LINK_AT];
		struct _rz_zone_link link;
	} at;
} zone_page __attribute__((aligned(ZONE_PAGE))) = {
	.zone = {
		.size = zone_size,
		.malloc = zone_malloc,
		.calloc = zone_calloc,
		.valloc = zone_valloc,
		.free = zone_free,
		.realloc = zone_realloc,
		.destroy = zone_destroy,
		.zone_name = "rezone",
		.batch_malloc = zone_batch_malloc,
		.batch_free = zone_batch_free,
		.introspect = (malloc_introspection_t *)&zone_introspect,
		/* 13: malloc/calloc set errno themselves (the engine does). */
		.version = 13,
		.memalign = zone_memalign,
		.free_definite_size = zone_free_definite_size,
		.pressure_relief = zone_pressure_relief,
		.claimed_address = zone_claimed_address,
		/* try_free_default (version 13) stays NULL, so libmalloc finds
		 * a pointer's zone through size(), which forwards correctly.
		 * Not named: SDKs before macOS 13 lack the field, and the rest
		 * of the page is zero, which reads as NULL to a newer libmalloc. */
	},
};
#define zone_self (&zone_page.zone)

/* Set between force_lock and force_unlock/reinit_lock (fork). */
static bool zone_lock_held;

/* ---- ownership and forwarding -------------------------------------------- */

static bool zone_owns(const void *p)
{
	return _rz_large_size(p) != 0 || _rz_small_owned_size(p) != 0;
}

/*
 * The registered zone other than this one whose size() claims p, or NULL.
 * Asked zone by zone rather than through malloc_zone_from_ptr(): for a
 * pointer zone 0 claims, that answers with libmalloc's virtual default
 * zone, a forwarder to zone 0 (which may be rezone itself).
 */
static malloc_zone_t *zone_owner_elsewhere(const void *p)
{
	vm_address_t *zones = NULL;
	unsigned count = 0;
	if (malloc_get_all_zones(mach_task_self(), NULL, &zones, &count) != KERN_SUCCESS)
		return NULL;
	for (unsigned i = 0; i < count; i++) {
		malloc_zone_t *z = (malloc_zone_t *)zones[i];
		if (z && z != zone_self && z->size(z, p) != 0)
			return z;
	}
	return NULL;
}

/* ---- malloc_zone_t ------------------------------------------------------- */

static size_t zone_size(malloc_zone_t *z, const void *p)
{
	(void)z;
	/* Large first: one mask test for unaligned pointers, then a
	 * lock-free table probe; everything else is the delegate's answer. */
	size_t s = _rz_large_size(p);
	return s ? s : _rz_small_owned_size(p);
}

static void *zone_malloc(malloc_zone_t *z, size_t size)
{
	(void)z;
	return _rz_malloc(size);
}

static void *zone_calloc(malloc_zone_t *z, size_t count, size_t size)
{
	(void)z;
	size_t total;
	if (__builtin_mul_overflow(count, size, &total))
		total = SIZE_MAX;
	return _rz_calloc(count, size);
}

static void *zone_valloc(malloc_zone_t *z, size_t size)
{
	(void)z;
	return _rz_valloc(size);
}

/*
 * Large first (one lock-free probe); a pointer the delegate owns goes to it
 * directly: many of libmalloc's blocks are page-aligned, and the engine's
 * free would probe again and run its misuse checks on each of them.
 */
static void zone_free(malloc_zone_t *z, void *p)
{
	(void)z;
	if (!p)
		return;
	if (_rz_large_size(p)) {
		_rz_free(p);
		return;
	}
	if (_rz_small_owned_size(p)) {
		_rz_small_free(p);
		return;
	}
	/* The owner's own function: malloc_zone_free() would report the free
	 * to malloc_logger a second time (libmalloc's free() already did). */
	malloc_zone_t *owner = zone_owner_elsewhere(p);
	if (owner) {
		owner->free(owner, p);
		return;
	}
	/* Nobody's: the engine's misuse checks, then the delegate's report. */
	_rz_free(p);
}

/* libmalloc's free() calls this with the size our size() just returned,
 * so p is a large block or the delegate's: no ownership walk, and a
 * page-aligned small block goes straight to the delegate. */
static void zone_free_definite_size(malloc_zone_t *z, void *p, size_t size)
{
	(void)z; (void)size;
	if (_rz_large_size(p))
		_rz_free(p);
	else
		_rz_small_free(p);
}

static void *zone_realloc(malloc_zone_t *z, void *p, size_t size)
{
	(void)z;
	if (p && !zone_owns(p)) {
		malloc_zone_t *owner = zone_owner_elsewhere(p);
		if (owner)
			return owner->realloc(owner, p, size);
	}
	return _rz_realloc(p, size);
}

static void zone_destroy(malloc_zone_t *z)
{
	/* The process allocator is never destroyed. */
	(void)z;
}

static unsigned zone_batch_malloc(malloc_zone_t *z, size_t size, void **out, unsigned n)
{
	(void)z;
	unsigned i;
	for (i = 0; i < n; i++) {
		out[i] = _rz_malloc(size);
		if (!out[i])
			break;
	}
	return i;
}

static void zone_batch_free(malloc_zone_t *z, void **ps, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		zone_free(z, ps[i]);
}

static void *zone_memalign(malloc_zone_t *z, size_t align, size_t size)
{
	(void)z;
	return _rz_memalign(align, size);
}

static size_t zone_pressure_relief(malloc_zone_t *z, size_t goal)
{
	(void)z; (void)goal;
	/* The delegate is a registered zone and gets its own call. */
	return _rz_release_cache();
}

static boolean_t zone_claimed_address(malloc_zone_t *z, void *p)
{
	(void)z;
	/* False positives are allowed, false negatives are not: the span
	 * filter answers "maybe" for every address near a large mapping, and
	 * a delegate that cannot say (no claimed_address before version 10)
	 * gets the benefit of the doubt: its size() knows block starts only. */
	if (_rz_maybe_ours(p))
		return 1;
	malloc_zone_t *small = _rz_small_zone();
	if (small->version >= 10 && small->claimed_address)
		return small->claimed_address(small, p);
	return 1;
}

/* ---- introspection ------------------------------------------------------- */

/* The enumerator, print_task and task_statistics read any task, this one
 * included, through a memory reader: zone_task.c. */

/* The delegate's good size. For large sizes it rounds to its page, which
 * our page (the larger of user and kernel page) is a multiple of, so the
 * answer never exceeds what rezone would hand out. */
static size_t zone_good_size(malloc_zone_t *z, size_t size)
{
	(void)z;
	malloc_zone_t *small = _rz_small_zone();
	if (small->introspect && small->introspect->good_size)
		return small->introspect->good_size(small, size);
	return size;
}

static boolean_t zone_check(malloc_zone_t *z)
{
	(void)z;
	return 1;
}

static void zone_put_u64(char **at, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*(*at)++ = tmp[--n];
}

static void zone_print(malloc_zone_t *z, boolean_t verbose)
{
	(void)z; (void)verbose;
	struct rezone_stats s;
	if (rezone_stats(&s, sizeof(s)) != 0)
		return;
	char line[160], *at = line;
	static const char a[] = "rezone zone: large blocks ", b[] = ", bytes ", c[] = "\n";
	memcpy(at, a, sizeof(a) - 1); at += sizeof(a) - 1;
	zone_put_u64(&at, s.large_live);
	memcpy(at, b, sizeof(b) - 1); at += sizeof(b) - 1;
	zone_put_u64(&at, s.large_live_bytes);
	memcpy(at, c, sizeof(c) - 1); at += sizeof(c) - 1;
	_rz_os_write_err(line, (size_t)(at - line));
}

static void zone_log(malloc_zone_t *z, void *address)
{
	(void)z; (void)address;
}

/* libmalloc's fork handlers call these (without NULL checks) around
 * fork(): force_lock before, force_unlock in the parent, reinit_lock in
 * the child. The delegate is a registered zone and is locked by libmalloc
 * itself, so it is not forwarded to. */
static void zone_force_lock(malloc_zone_t *z)
{
	(void)z;
	_rz_prefork();
	__atomic_store_n(&zone_lock_held, true, __ATOMIC_RELAXED);
}

static void zone_force_unlock(malloc_zone_t *z)
{
	(void)z;
	__atomic_store_n(&zone_lock_held, false, __ATOMIC_RELAXED);
	_rz_postfork_parent();
}

static void zone_reinit_lock(malloc_zone_t *z)
{
	(void)z;
	__atomic_store_n(&zone_lock_held, false, __ATOMIC_RELAXED);
	_rz_postfork_child();
}

/* Held by force_lock, or by a thread inside the engine right now (lldb
 * asks before it runs code that allocates in a stopped process). */
static boolean_t zone_locked(malloc_zone_t *z)
{
	(void)z;
	return __atomic_load_n(&zone_lock_held, __ATOMIC_RELAXED) || _rz_engine_locked();
}

static void zone_add_reserved(uintptr_t addr, size_t size, size_t reserved, void *arg)
{
	(void)addr; (void)size;
	*(size_t *)arg += reserved;
}

/* Large blocks only: the delegate reports its own blocks as a zone.
 * size_allocated is what libmalloc's zones mean by it, the address space
 * held for those blocks (their reservations), not their usable bytes. */
static void zone_statistics(malloc_zone_t *z, malloc_statistics_t *stats)
{
	(void)z;
	struct rezone_stats s;
	memset(stats, 0, sizeof(*stats));
	if (rezone_stats(&s, sizeof(s)) != 0)
		return;
	size_t reserved = 0;
	_rz_large_each(zone_add_reserved, &reserved);
	stats->blocks_in_use = (unsigned)s.large_live;
	stats->size_in_use = (size_t)s.large_live_bytes;
	stats->max_size_in_use = (size_t)s.large_peak_bytes;
	stats->size_allocated = reserved;
}

/* ---- registration -------------------------------------------------------- */

static malloc_zone_t *zone_first(unsigned *count_self)
{
	vm_address_t *zones = NULL;
	unsigned count = 0;
	if (malloc_get_all_zones(mach_task_self(), NULL, &zones, &count) != KERN_SUCCESS)
		count = 0;
	*count_self = 0;
	for (unsigned i = 0; i < count; i++)
		if ((malloc_zone_t *)zones[i] == zone_self)
			(*count_self)++;
	return count ? (malloc_zone_t *)zones[0] : NULL;
}

/*
 * Unregistering a zone moves the last registered zone into its slot. So
 * with rezone registered last, unregistering the default zone puts rezone
 * first; registering the default again appends it. The purgeable zone is
 * cycled the same way so that it stays behind the default zone (it hands
 * its small sizes to the default zone, and sitting in front of it would
 * make it claim the default zone's pointers). Repeated until rezone is
 * first, in case zones were registered after it; bounded all the same.
 */
static int zone_promote(malloc_zone_t *purgeable)
{
	for (int round = 0; round < 16; round++) {
		unsigned mine;
		malloc_zone_t *first = zone_first(&mine);
		if (mine == 0)
			malloc_zone_register(zone_self);
		else if (first == zone_self)
			return 0;
		if (!first || first == zone_self)
			continue;
		malloc_zone_unregister(first);
		malloc_zone_register(first);
		if (purgeable && purgeable != first) {
			malloc_zone_unregister(purgeable);
			malloc_zone_register(purgeable);
		}
	}
	return EAGAIN;
}

static int zone_busy;

/*
 * The zone page becomes read-only once the zone is handed out, as
 * libmalloc protects its own zones: a wild write cannot redirect its
 * function pointers. mprotect rather than mach_vm_protect: the page is in
 * the image's data segment, and libmalloc (malloc_set_zone_name) unprotects
 * zones the same way when it must write one.
 */
static void zone_protect(void)
{
	static int done;
	if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
		return;
	zone_page.at.link = (struct _rz_zone_link){
		.magic = RZ_ZONE_LINK_MAGIC,
		.version = RZ_ZONE_LINK_VERSION,
		.view = (uintptr_t)_rz_large_view(),
		.peak = (uintptr_t)_rz_large_peak(),
	};
	(void)mprotect(zone_self, ZONE_PAGE, PROT_READ);
}

RZ_EXPORT malloc_zone_t *rezone_zone(void)
{
	/* Capture the delegate while the default zone is not yet rezone. */
	(void)_rz_small_zone();
	zone_protect();
	return zone_self;
}

RZ_EXPORT int rezone_zone_register_default(void)
{
	/* One caller at a time; registration is rare and short. */
	while (__atomic_exchange_n(&zone_busy, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	(void)_rz_small_zone();
	/* Created now, while the default zone is still the system's: it is
	 * built around the default zone and assumes libmalloc's own. */
	malloc_zone_t *purgeable = malloc_default_purgeable_zone();
	int err = zone_promote(purgeable);
	zone_protect();
	__atomic_store_n(&zone_busy, 0, __ATOMIC_RELEASE);
	return err;
}

/* Runs when the library is loaded, before main and, under
 * DYLD_INSERT_LIBRARIES, before the program can start threads. */
__attribute__((constructor)) static void zone_init(void)
{
	const char *v = _rz_os_getenv("REZONE_DEFAULT_ZONE");
	if (v && v[0] == '0' && v[1] == '\0')
		return;
	/* Lite mode's zone would get every allocation anyway; registered
	 * behind it, rezone would only be asked size() for others' blocks. */
	if (_rz_zone_msl_inactive())
		return;
	if (rezone_zone_register_default() != 0) {
		static const char msg[] = "rezone: could not become the default malloc zone\n";
		_rz_os_write_err(msg, sizeof(msg) - 1);
	}
}

__attribute__((destructor)) static void zone_fini(void)
{
	_rz_at_exit();
}
