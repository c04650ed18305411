/*
 * zone_msl.c - detects libmalloc's malloc stack logging "lite" mode at
 * start-up (MallocStackLogging=lite, or =1, whose default is lite; Xcode's
 * "Malloc Stack Logging: Live Allocations Only").
 *
 * In lite mode libmalloc puts the stack logger's own zone in front of
 * every registered zone: malloc() reaches that zone, which allocates from
 * a helper zone of its own, so a zone made zone 0 afterwards is only
 * asked size() for pointers it never handed out. The front end then stays
 * out of the way and says so once.
 *
 * Known from libmalloc's malloc(3): MallocStackLogging=1 means lite, and
 * "full", "vm" and "malloc" are other modes; MallocStackLoggingNoCompact
 * implies full. The lite zone's name comes from the closed
 * MallocStackLogging framework; a registered zone whose name starts with
 * "MallocStackLoggingLite" is taken as one.
 * May include: zone_msl.h, engine/engine.h, <malloc/malloc.h>,
 * <mach/mach.h>, <string.h>.
 */
#include "config.h"

#if !defined(__APPLE__) && !defined(REZONE_MACH_SIM)
#error "zone_msl.c is part of the macOS front end (tests/machsim builds it on Linux with REZONE_MACH_SIM)"
#endif

#include <mach/mach.h>
#include <malloc/malloc.h>
#include <string.h>

#include "frontend/zone_msl.h"

static bool msl_env_lite(void)
{
	const char *v = _rz_os_getenv("MallocStackLogging");
	if (!v || _rz_os_getenv("MallocStackLoggingNoCompact"))
		return false;
	return strcmp(v, "lite") == 0 || strcmp(v, "1") == 0;
}

static bool msl_zone_lite(void)
{
	static const char prefix[] = "MallocStackLoggingLite";
	vm_address_t *zones = NULL;
	unsigned count = 0;
	if (malloc_get_all_zones(mach_task_self(), NULL, &zones, &count) != KERN_SUCCESS)
		return false;
	for (unsigned i = 0; i < count; i++) {
		const malloc_zone_t *z = (const malloc_zone_t *)zones[i];
		if (z && z->zone_name && strncmp(z->zone_name, prefix, sizeof(prefix) - 1) == 0)
			return true;
	}
	return false;
}

bool _rz_zone_msl_inactive(void)
{
	if (!msl_env_lite() && !msl_zone_lite())
		return false;
	static const char msg[] = "rezone: malloc stack logging lite mode puts its own zone "
	    "in front of every zone; rezone is inactive in this process\n";
	_rz_os_write_err(msg, sizeof(msg) - 1);
	return true;
}
