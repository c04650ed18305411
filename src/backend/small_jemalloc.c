/*
 * small_jemalloc.c - small-size delegate: the embedded jemalloc.
 *
 * The only file that calls jemalloc. jemalloc is linked statically with its
 * public names renamed to rzje_* (src/backend/jemalloc.syms), so these are
 * direct calls into its fast paths and nothing of it is exported.
 * May include: small.h, <stdint.h>.
 */
#include <stdint.h>

#include "backend/small.h"

void *rzje_malloc(size_t size);
void *rzje_calloc(size_t count, size_t size);
void *rzje_realloc(void *p, size_t size);
void rzje_free(void *p);
void rzje_sdallocx(void *p, size_t size, int flags);
void *rzje_mallocx(size_t size, int flags);
size_t rzje_xallocx(void *p, size_t size, size_t extra, int flags);
size_t rzje_malloc_usable_size(const void *p);
int rzje_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
    size_t newlen);

/* jemalloc's MALLOCX_ALIGN(a): log2 of the alignment in the low bits. */
#define SMALL_ALIGN_FLAG(a) ((int)__builtin_ctzl(a))

const char _rz_small_name[] = "jemalloc";

void *_rz_small_malloc(size_t size) { return rzje_malloc(size); }
void *_rz_small_calloc(size_t count, size_t size) { return rzje_calloc(count, size); }
void *_rz_small_realloc(void *p, size_t size) { return rzje_realloc(p, size); }
void _rz_small_free(void *p) { rzje_free(p); }
size_t _rz_small_usable_size(const void *p) { return rzje_malloc_usable_size(p); }

void *_rz_small_memalign(size_t align, size_t size)
{
	/* mallocx with zero size is undefined; malloc(0) semantics want a block. */
	return rzje_mallocx(size ? size : 1, SMALL_ALIGN_FLAG(align));
}

void _rz_small_free_sized(void *p, size_t size)
{
	/* A sized free skips jemalloc's size lookup; 0 means unknown. */
	if (size == 0)
		rzje_free(p);
	else
		rzje_sdallocx(p, size, 0);
}

size_t _rz_small_expand(void *p, size_t size)
{
	return rzje_xallocx(p, size, 0, 0);
}

/* jemalloc's figures after refreshing them ("epoch"); 0 where jemalloc was
 * built without statistics. */
static size_t small_stat(const char *name)
{
	size_t v = 0, len = sizeof(v);
	return rzje_mallctl(name, &v, &len, NULL, 0) == 0 ? v : 0;
}

static void small_refresh(void)
{
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);
	(void)rzje_mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));
}

void _rz_small_info(struct _rz_small_info *out)
{
	small_refresh();
	out->allocated = small_stat("stats.allocated");
	out->active = small_stat("stats.active");
	out->mapped = small_stat("stats.mapped");
	out->resident = small_stat("stats.resident");
	out->retained = small_stat("stats.retained");
}

/* Every arena's unused dirty pages go back to the OS at once, instead of
 * after the decay time (10 s by default). MALLCTL_ARENAS_ALL is 4096 in
 * jemalloc 5; the name is built by hand, since jemalloc.h is not
 * included (its public names would clash with ours). */
#define SMALL_PURGE_ALL "arena.4096.purge"

bool _rz_small_trim(void)
{
	small_refresh();
	size_t before = small_stat("stats.resident");
	if (rzje_mallctl(SMALL_PURGE_ALL, NULL, NULL, NULL, 0) != 0)
		return false;
	small_refresh();
	return small_stat("stats.resident") < before;
}
