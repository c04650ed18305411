/*
 * probe_align.c - rzprobe scenarios for the aligned allocation calls
 * (posix_memalign, aligned_alloc, memalign, valloc, pvalloc): alignment is
 * honoured for small and large sizes, bad alignments are refused with
 * EINVAL (memalign rounds them up, as glibc's does), impossible sizes with
 * ENOMEM.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"

enum align_fn { USE_POSIX_MEMALIGN, USE_ALIGNED_ALLOC, USE_MEMALIGN };

static void *align_alloc(enum align_fn fn, size_t align, size_t n)
{
	void *p = NULL;
	int rc;

	switch (fn) {
	case USE_POSIX_MEMALIGN:
		rc = posix_memalign(&p, probe_opaque(align), probe_opaque(n));
		if (rc) {
			errno = rc;
			return NULL;
		}
		return p;
	case USE_ALIGNED_ALLOC:
		return aligned_alloc(probe_opaque(align), probe_opaque(n));
	case USE_MEMALIGN:
		return memalign(probe_opaque(align), probe_opaque(n));
	}
	return NULL;
}

static const size_t aligned_sizes[] = {
	1, 24, PROBE_SMALL, 4096, 10000, 300000, PROBE_LARGE + 5,
	3 * PROBE_MIB,
};
#define NALIGNED (sizeof(aligned_sizes) / sizeof(aligned_sizes[0]))

/* Every alignment from 8 bytes to 1 MiB, with all sizes of one alignment
 * alive at once so overlapping blocks would corrupt each other. */
static int aligned_results(enum align_fn fn)
{
	for (size_t align = 8; align <= PROBE_MIB; align *= 2) {
		unsigned char *p[NALIGNED];

		for (size_t i = 0; i < NALIGNED; i++) {
			size_t n = aligned_sizes[i];

			p[i] = align_alloc(fn, align, n);
			CHECK(p[i] != NULL, "alignment %zu, size %zu: errno %d",
			      align, n, errno);
			CHECK((uintptr_t)p[i] % align == 0, "%p is not aligned "
			      "to %zu (size %zu)", (void *)p[i], align, n);
			CHECK(malloc_usable_size(p[i]) >= n, "usable %zu < %zu",
			      malloc_usable_size(p[i]), n);
			probe_fill(p[i], 0, n, (unsigned)(align + i));
		}
		for (size_t i = 0; i < NALIGNED; i++) {
			CHECK_PATTERN(p[i], 0, aligned_sizes[i],
				      (unsigned)(align + i));
			free(p[i]);
		}
	}
	return 0;
}

static int posix_memalign_aligned(int argc, char **argv)
{
	(void)argc, (void)argv;
	return aligned_results(USE_POSIX_MEMALIGN);
}

static int aligned_alloc_aligned(int argc, char **argv)
{
	(void)argc, (void)argv;
	return aligned_results(USE_ALIGNED_ALLOC);
}

static int memalign_aligned(int argc, char **argv)
{
	(void)argc, (void)argv;
	return aligned_results(USE_MEMALIGN);
}

/* posix_memalign wants a power of two that is a multiple of sizeof(void *),
 * and must leave *memptr alone when it refuses. */
static int posix_memalign_bad(int argc, char **argv)
{
	static const size_t bad[] = { 0, 1, 2, 4, 3, 12, 24, 100, 4097,
				      3 << 20, SIZE_MAX };
	static const size_t sizes[] = { 16, PROBE_LARGE };
	void *const sentinel = (void *)(uintptr_t)0x5ea1ed;

	(void)argc, (void)argv;
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			void *p = sentinel;
			int rc = posix_memalign(&p, probe_opaque(bad[i]),
						sizes[s]);

			CHECK(rc == EINVAL, "posix_memalign(align %zu, size "
			      "%zu) returned %d", bad[i], sizes[s], rc);
			CHECK(p == sentinel, "posix_memalign(align %zu) wrote "
			      "%p to its output", bad[i], p);
		}
	return 0;
}

/* Alignments that are not powers of two. */
static int bad_alignment(enum align_fn fn, const char *name)
{
	static const size_t bad[] = { 3, 12, 24, 100, 4097, 3 << 20,
				      SIZE_MAX };
	static const size_t sizes[] = { 16, PROBE_LARGE };

	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			errno = 0;
			void *p = align_alloc(fn, bad[i], sizes[s]);

			CHECK(p == NULL, "%s(%zu, %zu) returned %p", name,
			      bad[i], sizes[s], p);
			CHECK(errno == EINVAL, "%s(%zu, %zu) set errno %d",
			      name, bad[i], sizes[s], errno);
		}
	return 0;
}

static int aligned_alloc_bad(int argc, char **argv)
{
	(void)argc, (void)argv;
	return bad_alignment(USE_ALIGNED_ALLOC, "aligned_alloc");
}

/* memalign, unlike aligned_alloc and posix_memalign, rounds an alignment
 * that is not a power of two up to one, in every glibc (0 and up to 16:
 * malloc's 16); only an alignment above SIZE_MAX/2+1 is EINVAL. */
static int memalign_rounds_up(int argc, char **argv)
{
	static const size_t cases[][2] = {
		/* asked, at least */
		{ 0, 16 }, { 3, 16 }, { 12, 16 }, { 24, 32 }, { 100, 128 },
		{ 4097, 8192 }, { 3 << 20, 4 << 20 },
	};
	static const size_t sizes[] = { 16, PROBE_SMALL, PROBE_LARGE };

	(void)argc, (void)argv;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t n = sizes[s];
			unsigned char *p = align_alloc(USE_MEMALIGN, cases[i][0], n);

			CHECK(p != NULL, "memalign(%zu, %zu): errno %d",
			      cases[i][0], n, errno);
			CHECK((uintptr_t)p % cases[i][1] == 0, "memalign(%zu, %zu) "
			      "= %p, not %zu-aligned", cases[i][0], n, (void *)p,
			      cases[i][1]);
			probe_fill(p, 0, n, 14);
			CHECK_PATTERN(p, 0, n, 14);
			free(p);
		}
	static const size_t bad[] = { SIZE_MAX / 2 + 2, SIZE_MAX };
	for (size_t i = 0; i < 2; i++) {
		errno = 0;
		void *p = align_alloc(USE_MEMALIGN, bad[i], 16);
		CHECK(p == NULL && errno == EINVAL, "memalign(%zu, 16) = %p, "
		      "errno %d", bad[i], p, errno);
	}
	return 0;
}

/* Size plus alignment padding must not wrap around. */
static int aligned_huge(int argc, char **argv)
{
	static const size_t sizes[] = { SIZE_MAX, SIZE_MAX - 100,
					(size_t)PTRDIFF_MAX + 1,
					(size_t)PTRDIFF_MAX - 4096 };
	static const size_t aligns[] = { 16, 4096, PROBE_MIB };
	static const enum align_fn fns[] = { USE_POSIX_MEMALIGN,
					     USE_ALIGNED_ALLOC, USE_MEMALIGN };

	(void)argc, (void)argv;
	for (size_t f = 0; f < 3; f++)
		for (size_t a = 0; a < 3; a++)
			for (size_t s = 0; s < 4; s++) {
				errno = 0;
				void *p = align_alloc(fns[f], aligns[a], sizes[s]);
				CHECK(p == NULL, "call %zu (align %zu, size %zu) "
				      "returned %p", f, aligns[a], sizes[s], p);
				CHECK(errno == ENOMEM, "call %zu (align %zu, "
				      "size %zu) gave errno %d", f, aligns[a],
				      sizes[s], errno);
			}
	return 0;
}

static int valloc_pvalloc(int argc, char **argv)
{
	static const size_t sizes[] = { 1, 100, 4095, 4096, 4097, 300000,
					PROBE_LARGE + 1 };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	(void)argc, (void)argv;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], rounded = (n + page - 1) / page * page;
		unsigned char *v = valloc(probe_opaque(n));
		unsigned char *pv = pvalloc(probe_opaque(n));

		CHECK(v && pv, "valloc/pvalloc(%zu)", n);
		CHECK((uintptr_t)v % page == 0, "valloc(%zu) = %p", n, (void *)v);
		CHECK((uintptr_t)pv % page == 0, "pvalloc(%zu) = %p", n,
		      (void *)pv);
		/* pvalloc rounds the size itself up to whole pages. */
		CHECK(malloc_usable_size(pv) >= rounded, "pvalloc(%zu) usable "
		      "%zu < %zu", n, malloc_usable_size(pv), rounded);
		probe_fill(v, 0, n, 11);
		probe_fill(pv, 0, rounded, 12);
		CHECK_PATTERN(v, 0, n, 11);
		CHECK_PATTERN(pv, 0, rounded, 12);
		free(v);
		free(pv);
	}
	unsigned char *z = pvalloc(probe_opaque(0));
	CHECK(z != NULL && (uintptr_t)z % page == 0, "pvalloc(0) = %p",
	      (void *)z);
	free(z);
	return 0;
}

/* Over-aligned blocks must still resize like any other block. */
static int aligned_realloc(int argc, char **argv)
{
	static const size_t cases[][3] = {
		/* alignment, first size, second size */
		{ 64, 100, PROBE_SMALL },
		{ 4096, 5000, 3 * PROBE_MIB },
		{ PROBE_MIB, 2 * PROBE_MIB, 9 * PROBE_MIB },
		{ PROBE_MIB, 2 * PROBE_MIB, 200 },
		{ 65536, PROBE_LARGE, 8 * PROBE_MIB + 1 },
	};

	(void)argc, (void)argv;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t align = cases[i][0], n = cases[i][1], m = cases[i][2];
		unsigned char *p = align_alloc(USE_POSIX_MEMALIGN, align, n);

		CHECK(p != NULL, "posix_memalign(%zu, %zu)", align, n);
		probe_fill(p, 0, n, 13);
		p = realloc(p, probe_opaque(m));
		CHECK(p != NULL, "realloc to %zu", m);
		CHECK_PATTERN(p, 0, n < m ? n : m, 13);
		free(p);
	}
	return 0;
}

const struct probe_cmd probe_align_cmds[] = {
	{ "posix_memalign_aligned", posix_memalign_aligned },
	{ "aligned_alloc_aligned", aligned_alloc_aligned },
	{ "memalign_aligned", memalign_aligned },
	{ "posix_memalign_bad", posix_memalign_bad },
	{ "aligned_alloc_bad", aligned_alloc_bad },
	{ "memalign_rounds_up", memalign_rounds_up },
	{ "aligned_huge", aligned_huge },
	{ "valloc_pvalloc", valloc_pvalloc },
	{ "aligned_realloc", aligned_realloc },
	{ NULL, NULL },
};
