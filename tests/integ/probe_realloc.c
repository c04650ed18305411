/*
 * probe_realloc.c - rzprobe scenarios for realloc and reallocarray: contents
 * survive every growth and shrink, on both sides of the large threshold, and
 * a failed call leaves the block as it was.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

/* Resizes *p from old to n bytes, checks the common prefix kept its
 * pattern, and fills the new tail. */
static void resize_checked(unsigned char **p, size_t old, size_t n,
			   unsigned seed)
{
	unsigned char *q = realloc(*p, probe_opaque(n));

	CHECK(q != NULL, "realloc(%p, %zu) from %zu bytes", (void *)*p, n, old);
	CHECK(malloc_usable_size(q) >= n, "usable %zu < %zu",
	      malloc_usable_size(q), n);
	CHECK_PATTERN(q, 0, old < n ? old : n, seed);
	if (n > old)
		probe_fill(q, old, n, seed);
	*p = q;
}

static int realloc_small(int argc, char **argv)
{
	unsigned char *p = NULL;
	size_t old = 0;

	(void)argc, (void)argv;
	for (size_t n = 1; n < 4000; n = n * 3 / 2 + 1) {
		resize_checked(&p, old, n, 1);
		old = n;
	}
	/* One byte at a time through the first size classes. */
	for (size_t n = old; n > 1; n = n * 2 / 3) {
		resize_checked(&p, old, n, 1);
		old = n;
	}
	for (size_t n = old + 1; n < 600; n++) {
		resize_checked(&p, old, n, 1);
		old = n;
	}
	free(p);
	return 0;
}

static int realloc_large(int argc, char **argv)
{
	unsigned char *p = NULL;
	size_t old = 0;

	(void)argc, (void)argv;
	/* Doublings, then odd sizes that are not page multiples. */
	for (size_t n = 256 << 10; n <= 32 * PROBE_MIB; n *= 2) {
		resize_checked(&p, old, n, 2);
		old = n;
	}
	for (size_t k = 1, base = old; k <= 12; k++) {
		resize_checked(&p, old, base + k * 4097, 2);
		old = base + k * 4097;
	}
	/* 1 MiB steps, the pattern the design is measured on. */
	for (size_t n = old + PROBE_MIB; n < 48 * PROBE_MIB; n += PROBE_MIB) {
		resize_checked(&p, old, n, 2);
		old = n;
	}
	free(p);
	return 0;
}

/* Blocks grown in turn sit in each other's way: in-place growth is blocked
 * and the move paths run, with their neighbours' contents at stake. */
static int realloc_interleaved(int argc, char **argv)
{
	enum { N = 6 };
	unsigned char *p[N] = { 0 };
	size_t old[N] = { 0 };

	(void)argc, (void)argv;
	for (size_t step = 1; step <= 24; step++)
		for (unsigned i = 0; i < N; i++) {
			size_t n = step * (PROBE_MIB / 2) + i * 4096 + 100;

			resize_checked(&p[i], old[i], n, 10 + i);
			old[i] = n;
		}
	for (unsigned i = 0; i < N; i++) {
		CHECK_PATTERN(p[i], 0, old[i], 10 + i);
		free(p[i]);
	}
	return 0;
}

/* Thousands of live large blocks grown in rounds: a big block table, many
 * mappings (vm.max_map_count matters) and every block boxed in by others.
 * Only marker words are written, so the pages stay mostly untouched. */
static int realloc_many(int argc, char **argv)
{
	enum { N = 2000, ROUNDS = 4 };
	static uint64_t *p[N];
	static size_t n[N];

	(void)argc, (void)argv;
	for (size_t round = 0; round <= ROUNDS; round++)
		for (size_t i = 0; i < N; i++) {
			size_t want = (256 << 10) + round * (300 << 10) +
				      i % 7 * 4096 + 8 * (i % 3);
			uint64_t *q = realloc(p[i], probe_opaque(want));
			size_t words = want / 8;

			CHECK(q != NULL, "block %zu, round %zu: realloc to %zu",
			      i, round, want);
			if (round > 0) {
				size_t old = n[i] / 8;

				CHECK(q[0] == i && q[old / 2] == ~i &&
				      q[old - 1] == i * 3, "block %zu lost its "
				      "markers growing from %zu to %zu", i,
				      n[i], want);
			}
			q[0] = i;
			q[words / 2] = ~i;
			q[words - 1] = i * 3;
			p[i] = q;
			n[i] = want;
		}
	for (size_t i = 0; i < N; i++)
		free(p[i]);
	return 0;
}

static int realloc_across_threshold(int argc, char **argv)
{
	static const size_t path[] = {
		PROBE_SMALL, PROBE_LARGE, 100, 3 * PROBE_MIB, PROBE_SMALL,
		262143, 262144, 262143, 4095, 4096, 4095, 4 * PROBE_MIB + 1, 1,
		PROBE_LARGE,
	};
	unsigned char *p = NULL;
	size_t old = 0;

	(void)argc, (void)argv;
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		resize_checked(&p, old, path[i], 3);
		old = path[i];
	}
	free(p);
	return 0;
}

static int realloc_shrink(int argc, char **argv)
{
	static const size_t path[] = {
		16 * PROBE_MIB, 8 * PROBE_MIB, 8 * PROBE_MIB - 1, 300000,
		262144, PROBE_LARGE, 12 * PROBE_MIB, 2 * PROBE_MIB + 4095,
	};
	unsigned char *p = NULL;
	size_t old = 0;

	(void)argc, (void)argv;
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		resize_checked(&p, old, path[i], 4);
		old = path[i];
	}
	free(p);
	return 0;
}

/*
 * Run with the threshold at 256 KiB, REZONE_REALLOC_THRESHOLD=32k and the
 * cache on. A small block realloc'ed to 32 KiB or more, past its usable
 * size, becomes a large block when a cached mapping can take it (its
 * later growths then copy nothing) or when fewer than four large blocks
 * are live (mapped fresh), and stays with the delegate otherwise; a large
 * block goes back to the delegate only when it shrinks below
 * half the threshold. Contents survive every step.
 */
static int realloc_grows_early(int argc, char **argv)
{
	struct rezone_stats s0, s1, s2, s3, s4, s5, s6;
	unsigned char *p = NULL, *big, *at;

	(void)argc, (void)argv;
	/* Many live large blocks (four) and nothing cached: no fresh mapping. */
	unsigned char *kept[4], *q = NULL;
	for (size_t i = 0; i < 4; i++) {
		kept[i] = malloc(probe_opaque(300 * 1024));
		CHECK(kept[i] != NULL, "malloc");
	}
	malloc_trim(0); /* no cached mapping */
	resize_checked(&p, 0, 1000, 6);
	s0 = probe_stats();
	CHECK(s0.large_live >= 4, "four large blocks live: %llu",
	      (unsigned long long)s0.large_live);
	resize_checked(&p, 1000, 48 * 1024, 6);
	s1 = probe_stats();
	CHECK(s1.large_allocs == s0.large_allocs, "grown to 48 KiB with an empty "
	      "cache and four large blocks live: it became a large block (mapped fresh)");
	/* Few live (none) and nothing cached: a fresh mapping, which a
	 * vector churned after it then finds in the cache. */
	for (size_t i = 0; i < 4; i++)
		free(kept[i]);
	malloc_trim(0);
	resize_checked(&q, 0, 1000, 7);
	s0 = probe_stats();
	resize_checked(&q, 1000, 48 * 1024, 7);
	s1 = probe_stats();
	CHECK(s0.large_live < 4, "large blocks live after freeing them: %llu",
	      (unsigned long long)s0.large_live);
	CHECK(s1.large_allocs == s0.large_allocs + 1 && s1.cache_hits == s0.cache_hits,
	      "grown to 48 KiB with few large blocks live: large_allocs +%llu, "
	      "cache_hits +%llu (want +1, +0)",
	      (unsigned long long)(s1.large_allocs - s0.large_allocs),
	      (unsigned long long)(s1.cache_hits - s0.cache_hits));
	free(q);
	big = malloc(probe_opaque(2 * PROBE_MIB));
	CHECK(big != NULL, "malloc");
	memset(big, 1, 2 * PROBE_MIB);
	free(big); /* cached */
	s2 = probe_stats();
	resize_checked(&p, 48 * 1024, 100 * 1024, 6);
	s3 = probe_stats();
	CHECK(s3.large_allocs == s2.large_allocs + 1 && s3.cache_hits == s2.cache_hits + 1,
	      "grown to 100 KiB with a cached mapping: large_allocs +%llu, "
	      "cache_hits +%llu (want +1, +1)",
	      (unsigned long long)(s3.large_allocs - s2.large_allocs),
	      (unsigned long long)(s3.cache_hits - s2.cache_hits));
	at = p;
	resize_checked(&p, 100 * 1024, 200 * 1024, 6);
	s4 = probe_stats();
	CHECK(p == at && s4.bytes_copied == s3.bytes_copied,
	      "growth of the early large block copied (%p -> %p)", (void *)at, (void *)p);
	resize_checked(&p, 200 * 1024, 150 * 1024, 6);
	s5 = probe_stats();
	CHECK(s5.large_live == s4.large_live, "a shrink to 150 KiB (above half the "
	      "threshold) left the large engine");
	resize_checked(&p, 150 * 1024, 20 * 1024, 6);
	s6 = probe_stats();
	CHECK(s6.large_live == s5.large_live - 1, "a shrink to 20 KiB stayed large");
	free(p);
	return 0;
}

/* glibc frees the block and returns NULL for realloc(p, 0) with p set, and
 * behaves as malloc(0) for realloc(NULL, 0); programs depend on both. */
static int realloc_zero(int argc, char **argv)
{
	static const size_t sizes[] = { 10, PROBE_SMALL, PROBE_LARGE,
					6 * PROBE_MIB };
	struct rezone_stats before, after;

	(void)argc, (void)argv;
	before = probe_stats();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = malloc(sizes[i]), *q;

		CHECK(p != NULL, "malloc(%zu)", sizes[i]);
		memset(p, 5, sizes[i]);
		q = realloc(p, probe_opaque(0));
		CHECK(q == NULL, "realloc(p, 0) of %zu bytes returned %p",
		      sizes[i], q);
	}
	after = probe_stats();
	CHECK(after.large_live == before.large_live,
	      "realloc(p, 0) left %llu large blocks live",
	      (unsigned long long)(after.large_live - before.large_live));
	void *z = realloc(NULL, probe_opaque(0));
	CHECK(z != NULL, "realloc(NULL, 0) returned NULL");
	free(z);
	return 0;
}

static int realloc_null(int argc, char **argv)
{
	static const size_t sizes[] = { 1, PROBE_SMALL, 262144, PROBE_LARGE,
					7 * PROBE_MIB + 9 };

	(void)argc, (void)argv;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = NULL;

		resize_checked(&p, 0, sizes[i], 6);
		CHECK_PATTERN(p, 0, sizes[i], 6);
		free(p);
	}
	return 0;
}

/* Sizes a realloc cannot honour: beyond PTRDIFF_MAX, or beyond any address
 * space a 64-bit process has (1 PiB). */
static const size_t unsatisfiable[] = {
	SIZE_MAX, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX - 4096,
	(size_t)1 << 50, SIZE_MAX - PROBE_MIB,
};
#define NUNSAT (sizeof(unsatisfiable) / sizeof(unsatisfiable[0]))

static int realloc_fail(int argc, char **argv)
{
	static const size_t sizes[] = { 40, PROBE_SMALL, PROBE_LARGE,
					3 * PROBE_MIB + 5 };

	(void)argc, (void)argv;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *p = malloc(n);
		size_t usable;

		CHECK(p != NULL, "malloc(%zu)", n);
		usable = malloc_usable_size(p);
		probe_fill(p, 0, n, 7);
		for (size_t k = 0; k < NUNSAT; k++) {
			errno = 0;
			void *q = realloc(p, probe_opaque(unsatisfiable[k]));
			CHECK(q == NULL, "realloc to %zu returned %p",
			      unsatisfiable[k], q);
			CHECK(errno == ENOMEM, "realloc of %zu bytes to %zu "
			      "set errno %d", n, unsatisfiable[k], errno);
			CHECK_PATTERN(p, 0, n, 7);
			CHECK(malloc_usable_size(p) == usable,
			      "usable size changed from %zu to %zu", usable,
			      malloc_usable_size(p));
		}
		/* The block is still a working block. */
		resize_checked(&p, n, 2 * n, 7);
		free(p);
	}
	return 0;
}

static int reallocarray_overflow(int argc, char **argv)
{
	static const size_t pairs[][2] = {
		{ SIZE_MAX / 2 + 1, 2 },
		{ (size_t)1 << 33, (size_t)1 << 31 },
		{ (size_t)PTRDIFF_MAX / 4 + 1, 4 },
	};
	static const size_t sizes[] = { 64, PROBE_LARGE };

	(void)argc, (void)argv;
	for (size_t s = 0; s < 2; s++) {
		unsigned char *p = malloc(sizes[s]);

		CHECK(p != NULL, "malloc");
		probe_fill(p, 0, sizes[s], 8);
		for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
			for (int order = 0; order < 2; order++) {
				size_t a = pairs[i][order], b = pairs[i][!order];
				void *q;

				errno = 0;
				q = reallocarray(p, probe_opaque(a),
						 probe_opaque(b));
				CHECK(q == NULL, "reallocarray(p, %zu, %zu) "
				      "returned %p", a, b, q);
				CHECK(errno == ENOMEM, "reallocarray(p, %zu, "
				      "%zu) set errno %d", a, b, errno);
				CHECK_PATTERN(p, 0, sizes[s], 8);
			}
		free(p);
	}
	return 0;
}

static int reallocarray_grow(int argc, char **argv)
{
	unsigned char *p = NULL;
	size_t old = 0;

	(void)argc, (void)argv;
	for (size_t count = 1; count < (8u << 20) / 24; count = count * 4 + 3) {
		size_t n = count * 24;
		unsigned char *q = reallocarray(p, probe_opaque(count), 24);

		CHECK(q != NULL, "reallocarray(p, %zu, 24)", count);
		CHECK_PATTERN(q, 0, old, 9);
		probe_fill(q, old, n, 9);
		p = q;
		old = n;
	}
	free(p);
	return 0;
}

/* A large call that succeeds leaves errno as it was, even where the
 * engine had a mapping refused on the way (headroom first, then none):
 * realloc of 1 MiB to 4 GiB and to 12 GiB, and memalign(2^36, 3 MiB),
 * returned their block with errno ENOMEM. At least one must succeed. */
static int large_success_keeps_errno(int argc, char **argv)
{
	static const size_t steps[] = { (size_t)4 << 30, (size_t)12 << 30 };
	unsigned ok = 0;
	char *p = malloc(probe_opaque(PROBE_LARGE));

	(void)argc, (void)argv;
	CHECK(p != NULL, "malloc(1 MiB)");
	p[0] = 7;
	for (size_t i = 0; i < 2; i++) {
		errno = 4242;
		char *q = realloc(p, probe_opaque(steps[i]));
		if (!q)
			continue;
		CHECK(errno == 4242, "realloc to %zu GiB succeeded with errno %d",
		      steps[i] >> 30, errno);
		CHECK(q[0] == 7, "contents lost");
		p = q;
		ok++;
	}
	free(p);
	errno = 4242;
	p = memalign(probe_opaque((size_t)1 << 36), probe_opaque(3 * PROBE_MIB));
	if (p) {
		CHECK(errno == 4242, "memalign(2^36, 3 MiB) succeeded with errno %d",
		      errno);
		ok++;
		free(p);
	}
	CHECK(ok > 0, "no large call succeeded: nothing checked");
	return 0;
}

const struct probe_cmd probe_realloc_cmds[] = {
	{ "large_success_keeps_errno", large_success_keeps_errno },
	{ "realloc_small", realloc_small },
	{ "realloc_large", realloc_large },
	{ "realloc_interleaved", realloc_interleaved },
	{ "realloc_many", realloc_many },
	{ "realloc_across_threshold", realloc_across_threshold },
	{ "realloc_shrink", realloc_shrink },
	{ "realloc_grows_early", realloc_grows_early },
	{ "realloc_zero", realloc_zero },
	{ "realloc_null", realloc_null },
	{ "realloc_fail", realloc_fail },
	{ "reallocarray_overflow", reallocarray_overflow },
	{ "reallocarray_grow", reallocarray_grow },
	{ NULL, NULL },
};
