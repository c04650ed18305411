/*
 * api.c - rezone's own public functions (include/rezone.h), other than
 * rezone_stats (stats.c).
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
	if (size > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	_rz_init();
	if (_rz_large_size(p) != 0)
		return _rz_large_expand(p, size);
	if (_rz_small_expand(p, size) >= size)
		return p;
	errno = ENOMEM;
	return NULL;
}
