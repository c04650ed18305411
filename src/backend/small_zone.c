/*
 * small_zone.c - small-size delegate on macOS: the previous default zone.
 *
 * Selected by --with-small=system on macOS. Calls go straight to the
 * zone's functions rather than through malloc_zone_malloc() and friends:
 * those wrappers report to malloc_logger (MallocStackLogging), and the
 * libmalloc wrapper that called into rezone's zone has already reported
 * this allocation once.
 * The zone is captured before rezone becomes the default: after that,
 * malloc_default_zone() is libmalloc's forwarder to malloc_zones[0], which
 * is rezone itself, and delegating to it would recurse forever.
 * May include: small.h, small_zone.h, <malloc/malloc.h>, <mach/mach.h>.
 */
#include "config.h"

#if !defined(__APPLE__) && !defined(REZONE_MACH_SIM)
#error "small_zone.c is the macOS delegate (tests/machsim builds it on Linux with REZONE_MACH_SIM)"
#endif

#include <errno.h>
#include <mach/mach.h>
#include <malloc/malloc.h>
#include <string.h>

#include "backend/small_zone.h"

const char _rz_small_name[] = "system";

static malloc_zone_t *small_prev;

#define likely(x) __builtin_expect(!!(x), 1)

/* The first registered zone that is not rezone's own ("rezone" is the
 * front end's zone_name; matching it keeps a late capture from
 * delegating to ourselves). */
static __attribute__((noinline)) malloc_zone_t *small_capture(void)
{
	vm_address_t *zones = NULL;
	unsigned count = 0;
	malloc_zone_t *found = NULL;
	if (malloc_get_all_zones(mach_task_self(), NULL, &zones, &count) == KERN_SUCCESS) {
		for (unsigned i = 0; i < count && !found; i++) {
			malloc_zone_t *z = (malloc_zone_t *)zones[i];
			if (z && !(z->zone_name && strcmp(z->zone_name, "rezone") == 0))
				found = z;
		}
	}
	if (!found) {
		static const char msg[] = "rezone: no malloc zone to delegate small sizes to\n";
		_rz_os_write_err(msg, sizeof(msg) - 1);
		_rz_os_abort();
	}
	malloc_zone_t *expected = NULL;
	if (!__atomic_compare_exchange_n(&small_prev, &expected, found, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expected;
	return found;
}

static inline malloc_zone_t *small_zone(void)
{
	malloc_zone_t *z = __atomic_load_n(&small_prev, __ATOMIC_ACQUIRE);
	return likely(z != NULL) ? z : small_capture();
}

struct _malloc_zone_t *_rz_small_zone(void)
{
	return small_zone();
}

/* Zones of version >= 13 set errno themselves; older ones leave it to
 * libmalloc's wrappers, which we bypass. */
static void *small_nomem(void *p)
{
	if (!p)
		errno = ENOMEM;
	return p;
}

void *_rz_small_malloc(size_t size)
{
	malloc_zone_t *z = small_zone();
	return small_nomem(z->malloc(z, size));
}

void *_rz_small_calloc(size_t count, size_t size)
{
	malloc_zone_t *z = small_zone();
	return small_nomem(z->calloc(z, count, size));
}

void *_rz_small_realloc(void *p, size_t size)
{
	malloc_zone_t *z = small_zone();
	return small_nomem(z->realloc(z, p, size));
}

void *_rz_small_memalign(size_t align, size_t size)
{
	malloc_zone_t *z = small_zone();
	if (z->version < 5 || !z->memalign) {
		errno = ENOMEM;
		return NULL;
	}
	return small_nomem(z->memalign(z, align, size));
}

void _rz_small_free(void *p)
{
	malloc_zone_t *z = small_zone();
	if (p)
		z->free(z, p);
}

/* The size here is the requested one; the zone's free_definite_size wants
 * its own size class, so the hint is dropped. */
void _rz_small_free_sized(void *p, size_t size)
{
	(void)size;
	_rz_small_free(p);
}

size_t _rz_small_usable_size(const void *p)
{
	malloc_zone_t *z = small_zone();
	return p ? z->size(z, p) : 0;
}

size_t _rz_small_owned_size(const void *p)
{
	return _rz_small_usable_size(p);
}

/* A zone has no resize-in-place call: only what the block already holds. */
size_t _rz_small_expand(void *p, size_t size)
{
	(void)size;
	return _rz_small_usable_size(p);
}

/* The zone's own pressure relief (goal 0: as much as it can), as
 * malloc_zone_pressure_relief() would call it; zones before version 8
 * have none. */
bool _rz_small_trim(void)
{
	malloc_zone_t *z = small_zone();
	if (z->version < 8 || !z->pressure_relief)
		return false;
	return z->pressure_relief(z, 0) != 0;
}

void _rz_small_info(struct _rz_small_info *out)
{
	malloc_zone_t *z = small_zone();
	malloc_statistics_t st;
	memset(out, 0, sizeof(*out));
	if (!z->introspect || !z->introspect->statistics)
		return;
	memset(&st, 0, sizeof(st));
	z->introspect->statistics(z, &st);
	out->allocated = st.size_in_use;
	out->active = st.size_in_use;
	out->mapped = st.size_allocated;
	out->resident = st.size_allocated;
}
