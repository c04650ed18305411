/*
 * probe_aliases.c - rzprobe scenarios for the entry points beyond the
 * standard names: glibc's __libc_* aliases (called by some programs and by
 * tools that interpose malloc themselves) must be rezone's own functions,
 * so blocks move freely between the two spellings.
 */
#include "config.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

struct libc_aliases {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	int (*mallopt)(int, int);
};

static struct libc_aliases aliases_load(void)
{
	struct libc_aliases a;

	*(void **)&a.malloc = probe_sym("__libc_malloc");
	*(void **)&a.free = probe_sym("__libc_free");
	*(void **)&a.calloc = probe_sym("__libc_calloc");
	*(void **)&a.realloc = probe_sym("__libc_realloc");
	*(void **)&a.memalign = probe_sym("__libc_memalign");
	*(void **)&a.valloc = probe_sym("__libc_valloc");
	*(void **)&a.pvalloc = probe_sym("__libc_pvalloc");
	*(void **)&a.mallopt = probe_sym("__libc_mallopt");
	return a;
}

/* A large request through each alias is a rezone large block, and blocks
 * from either spelling are freed and resized by the other. */
static int libc_aliases(int argc, char **argv)
{
	struct libc_aliases a = aliases_load();
	struct rezone_stats s0, s1;
	unsigned char *m, *c, *al, *std;
	size_t at;

	(void)argc, (void)argv;
	s0 = probe_stats();
	m = a.malloc(PROBE_LARGE);
	c = a.calloc(PROBE_LARGE / 16, 16);
	al = a.memalign(65536, PROBE_LARGE);
	s1 = probe_stats();
	CHECK(m && c && al, "__libc_* allocations");
	CHECK(s1.large_allocs == s0.large_allocs + 3, "3 large requests through "
	      "__libc_* aliases made %lld large blocks",
	      (long long)(s1.large_allocs - s0.large_allocs));
	at = probe_nonzero(c, PROBE_LARGE);
	CHECK(at == SIZE_MAX, "__libc_calloc byte %zu is not zero", at);
	CHECK((uintptr_t)al % 65536 == 0, "__libc_memalign gave %p", (void *)al);
	probe_fill(m, 0, PROBE_LARGE, 30);
	m = a.realloc(m, 3 * PROBE_MIB);
	CHECK(m != NULL, "__libc_realloc");
	CHECK_PATTERN(m, 0, PROBE_LARGE, 30);
	m = realloc(m, 4 * PROBE_MIB);
	CHECK(m != NULL, "realloc of a __libc_realloc block");
	CHECK_PATTERN(m, 0, PROBE_LARGE, 30);
	free(m);
	free(c);
	a.free(al);
	std = malloc(100);
	CHECK(std != NULL, "malloc");
	std = a.realloc(std, 200);
	CHECK(std != NULL, "__libc_realloc of a small malloc block");
	a.free(std);
	s0 = probe_stats();
	CHECK(s0.large_live == s1.large_live - 3, "large blocks still live "
	      "after freeing across spellings");

	/* glibc's valloc/pvalloc spellings: page-aligned rezone blocks (a
	 * glibc block here would abort in rezone's free). */
	m = a.valloc(PROBE_LARGE);
	c = a.pvalloc(PROBE_LARGE + 1);
	s1 = probe_stats();
	CHECK(m && c, "__libc_valloc/__libc_pvalloc");
	CHECK(s1.large_allocs == s0.large_allocs + 2, "2 large requests through "
	      "__libc_valloc/pvalloc made %lld large blocks",
	      (long long)(s1.large_allocs - s0.large_allocs));
	CHECK((uintptr_t)m % 4096 == 0 && (uintptr_t)c % 4096 == 0,
	      "valloc %p, pvalloc %p", (void *)m, (void *)c);
	CHECK(malloc_usable_size(c) >= PROBE_LARGE + 4096, "pvalloc did not "
	      "round up to a page: %zu", malloc_usable_size(c));
	free(m);
	free(c);

	/* __libc_mallopt(M_MMAP_THRESHOLD) moves rezone's threshold. */
	CHECK(a.mallopt(M_MMAP_THRESHOLD, 8 * PROBE_MIB) == 1, "__libc_mallopt");
	s0 = probe_stats();
	m = malloc(2 * PROBE_MIB);
	s1 = probe_stats();
	CHECK(m != NULL, "malloc");
	CHECK(s1.large_allocs == s0.large_allocs, "2 MiB became a large block "
	      "after __libc_mallopt set the threshold to 8 MiB");
	free(m);
	return 0;
}

const struct probe_cmd probe_aliases_cmds[] = {
	{ "libc_aliases", libc_aliases },
	{ NULL, NULL },
};
