/*
 * api.c - rezone's own public functions (include/rezone.h), other than
 * rezone_stats (stats.c), and the engine side of the C library's malloc
 * extensions (engine.h: threshold, trim, heap figures) and the new-thread
 * hook.
 * May include: engine.h, large.h, backend/small.h, rezone.h, <errno.h>.
 */
#include <errno.h>
#include <stdint.h>

#include "rezone.h"
#include "backend/small.h"
#include "engine/engine.h"
#include "engine/large.h"

#define RZ_STR2(x) #x
#define RZ_STR(x) RZ_STR2(x)

__attribute__((visibility("default")))
const char *rezone_version(void)
{
	return RZ_STR(REZONE_VERSION_MAJOR) "." RZ_STR(REZONE_VERSION_MINOR) "."
	    RZ_STR(REZONE_VERSION_PATCH);
}

__attribute__((visibility("default")))
void *rezone_expand(void *p, size_t size)
{
	if (!p || size == 0) {
		errno = EINVAL;
		return NULL;
	}
	_rz_init();
	if (size > _rz_route_max_request) {
		errno = ENOMEM;
		return NULL;
	}
	if (_rz_large_size(p) != 0)
		return _rz_large_expand(p, size);
	if (_rz_small_expand(p, size) >= size)
		return p;
	errno = ENOMEM;
	return NULL;
}

bool _rz_set_threshold(size_t bytes)
{
	_rz_init();
	/* SIZE_MAX is the mark of a disabled large path (route.c, _rz_init):
	 * nothing may re-enable it without a table. */
	if (__atomic_load_n(&_rz_route_threshold, __ATOMIC_RELAXED) == SIZE_MAX)
		return false;
	if (bytes < _rz_caps.page_size)
		bytes = _rz_caps.page_size;
	if (bytes == SIZE_MAX)
		bytes--;
	_rz_route_threshold_chosen();
	/* Routing needs no other state: a block is large because the table
	 * holds it, not because of its size, so blocks made under the old
	 * threshold are freed and resized correctly under the new one. */
	_rz_route_set_thresholds(bytes);
	return true;
}

bool _rz_thread_boot_wanted(void)
{
	if (!RZ_SMALL_THREAD_BOOT)
		return false;
	return _rz_memory_prepare(false, 1) || _rz_small_thread_boot_pending();
}

void _rz_thread_boot(void)
{
	_rz_small_thread_boot();
}

bool _rz_trim(void)
{
	_rz_init();
	bool large = _rz_release_cache() != 0;
	bool small = _rz_small_trim();
	return large || small;
}

void _rz_heap_info(struct _rz_heap_info *out)
{
	struct rezone_stats s;
	struct _rz_small_info si;
	_rz_init();
	(void)rezone_stats(&s, sizeof(s));
	_rz_small_info(&si);
	out->large_live = s.large_live;
	out->large_live_bytes = s.large_live_bytes;
	out->large_peak_bytes = s.large_peak_bytes;
	out->small_name = _rz_small_name;
	out->small_allocated = si.allocated;
	out->small_active = si.active;
	out->small_mapped = si.mapped;
	out->small_resident = si.resident;
	out->small_retained = si.retained;
}
