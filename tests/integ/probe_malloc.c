/*
 * probe_malloc.c - rzprobe scenarios for malloc, calloc, free and
 * malloc_usable_size: the contract every drop-in allocator must keep.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "probe.h"

#define NZERO 64

static int malloc_zero(int argc, char **argv)
{
	void *p[NZERO];

	(void)argc, (void)argv;
	for (int i = 0; i < NZERO; i++) {
		p[i] = malloc(probe_opaque(0));
		CHECK(p[i] != NULL, "malloc(0) #%d returned NULL", i);
		for (int j = 0; j < i; j++)
			CHECK(p[i] != p[j], "malloc(0) #%d and #%d both %p",
			      i, j, p[i]);
	}
	for (int i = 0; i < NZERO; i++)
		free(p[i]);
	return 0;
}

/* Sizes no allocator may satisfy: objects larger than PTRDIFF_MAX break
 * pointer subtraction, so glibc refuses them and so must rezone. */
static const size_t huge_sizes[] = {
	(size_t)PTRDIFF_MAX + 1, SIZE_MAX, SIZE_MAX - 4095, SIZE_MAX / 2 + 4096,
};
#define NHUGE (sizeof(huge_sizes) / sizeof(huge_sizes[0]))

static int malloc_huge(int argc, char **argv)
{
	(void)argc, (void)argv;
	for (size_t i = 0; i < NHUGE; i++) {
		errno = 0;
		void *p = malloc(probe_opaque(huge_sizes[i]));
		CHECK(p == NULL, "malloc(%zu) returned %p", huge_sizes[i], p);
		CHECK(errno == ENOMEM, "malloc(%zu) set errno %d", huge_sizes[i],
		      errno);
	}
	return 0;
}

static const size_t usable_sizes[] = {
	1, 8, 13, 100, 1000, 4095, 4096, 4097, 65536, 262143, 262144, 262145,
	1 << 20, (3 << 20) + 17,
};
#define NUSABLE (sizeof(usable_sizes) / sizeof(usable_sizes[0]))

/* All blocks are filled before any is checked, so two blocks that overlap
 * inside their usable sizes corrupt each other and fail the check. */
static int usable_size(int argc, char **argv)
{
	void *p[NUSABLE];
	size_t u[NUSABLE];

	(void)argc, (void)argv;
	for (size_t i = 0; i < NUSABLE; i++) {
		p[i] = malloc(probe_opaque(usable_sizes[i]));
		CHECK(p[i] != NULL, "malloc(%zu)", usable_sizes[i]);
		u[i] = malloc_usable_size(p[i]);
		CHECK(u[i] >= usable_sizes[i], "usable size %zu < %zu", u[i],
		      usable_sizes[i]);
		probe_fill(p[i], 0, u[i], (unsigned)i);
	}
	for (size_t i = 0; i < NUSABLE; i++) {
		CHECK_PATTERN(p[i], 0, u[i], (unsigned)i);
		CHECK(malloc_usable_size(p[i]) == u[i], "usable size changed");
		free(p[i]);
	}
	CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) != 0");
	return 0;
}

static int free_null(int argc, char **argv)
{
	void (*cfree_fn)(void *);

	(void)argc, (void)argv;
	*(void **)&cfree_fn = probe_sym("cfree");
	for (int i = 0; i < 1000; i++) {
		errno = EDOM;
		free(NULL);
		cfree_fn(NULL);
		CHECK(errno == EDOM, "free(NULL) changed errno to %d", errno);
	}
	return 0;
}

/* free must not clobber errno even when it unmaps: POSIX 2024 requires it
 * and callers such as "save errno, clean up, return -1" rely on it. */
static int free_errno(int argc, char **argv)
{
	static const size_t sizes[] = { 16, PROBE_SMALL, 8192, 300000,
					PROBE_LARGE, 16 * PROBE_MIB };

	(void)argc, (void)argv;
	for (size_t r = 0; r < 3; r++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			void *p = malloc(probe_opaque(sizes[i]));

			CHECK(p != NULL, "malloc(%zu)", sizes[i]);
			memset(p, 1, sizes[i]);
			errno = EDOM;
			free(p);
			CHECK(errno == EDOM, "free of a %zu-byte block set "
			      "errno to %d", sizes[i], errno);
		}
	return 0;
}

/* C23 free_sized/free_aligned_sized and the legacy cfree must release the
 * block like free does: the live large-block count returns to its start. */
static int free_variants(int argc, char **argv)
{
	void (*free_sized_fn)(void *, size_t);
	void (*free_aligned_sized_fn)(void *, size_t, size_t);
	void (*cfree_fn)(void *);
	struct rezone_stats before, after;
	size_t sizes[] = { 24, PROBE_SMALL, PROBE_LARGE, 5 * PROBE_MIB + 3 };

	(void)argc, (void)argv;
	*(void **)&free_sized_fn = probe_sym("free_sized");
	*(void **)&free_aligned_sized_fn = probe_sym("free_aligned_sized");
	*(void **)&cfree_fn = probe_sym("cfree");
	before = probe_stats();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		void *a = malloc(n), *b = aligned_alloc(4096, n), *c = malloc(n);

		CHECK(a && b && c, "allocations of %zu bytes", n);
		memset(a, 1, n), memset(b, 2, n), memset(c, 3, n);
		free_sized_fn(a, n);
		free_aligned_sized_fn(b, 4096, n);
		cfree_fn(c);
		free_sized_fn(NULL, 0);
		free_aligned_sized_fn(NULL, 64, 0);
	}
	after = probe_stats();
	CHECK(after.large_live == before.large_live,
	      "%llu large blocks still live after free_sized, "
	      "free_aligned_sized and cfree",
	      (unsigned long long)(after.large_live - before.large_live));
	return 0;
}

static const size_t calloc_sizes[] = {
	1, 24, 1000, 4096, 5000, 65536, 262144, 1 << 20, (5 << 20) + 5,
};
#define NCALLOC (sizeof(calloc_sizes) / sizeof(calloc_sizes[0]))

/* Each size is first allocated, dirtied and freed, so a calloc that reuses
 * the memory without clearing it is caught, whatever path serves it. */
static int calloc_zeroed(int argc, char **argv)
{
	(void)argc, (void)argv;
	for (size_t i = 0; i < NCALLOC; i++) {
		size_t n = calloc_sizes[i];
		unsigned char *d = malloc(n);

		CHECK(d != NULL, "malloc(%zu)", n);
		memset(d, 0xFF, malloc_usable_size(d));
		free(d);
		/* Both argument orders, and a product that is not n. */
		const size_t forms[3][2] = { { n, 1 }, { 1, n }, { n / 8 + 1, 8 } };
		for (int f = 0; f < 3; f++) {
			size_t nm = forms[f][0], sz = forms[f][1];
			unsigned char *p = calloc(probe_opaque(nm),
						  probe_opaque(sz));

			CHECK(p != NULL, "calloc(%zu, %zu)", nm, sz);
			size_t at = probe_nonzero(p, nm * sz);
			CHECK(at == SIZE_MAX, "calloc(%zu, %zu) byte %zu is "
			      "0x%02x", nm, sz, at, p[at]);
			memset(p, 0xFF, nm * sz);
			free(p);
		}
	}
	return 0;
}

/* A large block that went back to the freed-block cache still holds what
 * the program wrote; calloc must not hand it out dirty. */
static int calloc_after_cached_free(int argc, char **argv)
{
	static const size_t sizes[] = { 262144, 1 << 20, (4 << 20) + 123,
					16 << 20 };

	(void)argc, (void)argv;
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			unsigned char *d = malloc(probe_opaque(n)), *p;
			uintptr_t dirty = (uintptr_t)d;
			size_t at;

			CHECK(d != NULL, "malloc(%zu)", n);
			memset(d, 0xFF, malloc_usable_size(d));
			free(d);
			p = round == 1 ? calloc(1, probe_opaque(n))
				       : calloc(probe_opaque(n), 1);
			CHECK(p != NULL, "calloc of %zu", n);
			at = probe_nonzero(p, n);
			CHECK(at == SIZE_MAX, "calloc of %zu bytes after a "
			      "freed %zu-byte block: byte %zu is 0x%02x "
			      "(same address: %s)", n, n, at, p[at],
			      (uintptr_t)p == dirty ? "yes" : "no");
			free(p);
		}
	return 0;
}

static int calloc_overflow(int argc, char **argv)
{
	/* Pairs whose product overflows size_t, or exceeds PTRDIFF_MAX. */
	static const size_t pairs[][2] = {
		{ SIZE_MAX / 2 + 1, 2 },
		{ (size_t)1 << 32, (size_t)1 << 32 },
		{ SIZE_MAX, SIZE_MAX },
		{ SIZE_MAX / 3, 4 },
		{ (size_t)PTRDIFF_MAX / 2 + 1, 2 },
		{ 65537, (size_t)1 << 48 },
	};

	(void)argc, (void)argv;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		for (int order = 0; order < 2; order++) {
			size_t a = pairs[i][order], b = pairs[i][!order];
			void *p;

			errno = 0;
			p = calloc(probe_opaque(a), probe_opaque(b));
			CHECK(p == NULL, "calloc(%zu, %zu) returned %p", a, b, p);
			CHECK(errno == ENOMEM, "calloc(%zu, %zu) set errno %d",
			      a, b, errno);
		}
	return 0;
}

/* Small mallocs that need address space the large cache holds get it: the
 * delegate's out-of-memory path returns the cache and retries. */
static int small_oom_reclaims_cache(int argc, char **argv)
{
	(void)argc; (void)argv;
	const size_t big = 48 * PROBE_MIB;
	struct rezone_stats s0 = probe_stats(), s1, s2;
	char *p = malloc(big);

	CHECK(p != NULL, "malloc(48 MiB) failed");
	memset(p, 1, PROBE_MIB);
	free(p);
	p = malloc(big);
	s1 = probe_stats();
	if (s1.cache_hits == s0.cache_hits) {
		free(p);
		printf("the large cache is off in this setting\n");
		return PROBE_SKIP;
	}
	free(p); /* cached again: it holds 48 MiB of address space */

	/* Room for a few MiB more than now, far less than 24 MiB. */
	struct rlimit lim = { probe_vm_bytes() + 4 * PROBE_MIB, RLIM_INFINITY };
	CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: %s", strerror(errno));
	static void *blocks[24 * 1024];
	size_t n = 0;
	for (; n < sizeof(blocks) / sizeof(blocks[0]); n++) {
		blocks[n] = malloc(PROBE_SMALL);
		if (!blocks[n])
			break;
		memset(blocks[n], 2, PROBE_SMALL);
	}
	s2 = probe_stats();
	lim.rlim_cur = RLIM_INFINITY;
	setrlimit(RLIMIT_AS, &lim);
	CHECK(n == sizeof(blocks) / sizeof(blocks[0]),
	      "small malloc failed after %zu blocks with the cache full", n);
	CHECK(s2.cache_releases > s1.cache_releases,
	      "the cache was not returned (releases %llu -> %llu)",
	      (unsigned long long)s1.cache_releases,
	      (unsigned long long)s2.cache_releases);
	while (n)
		free(blocks[--n]);
	return 0;
}

/* protect_free [SIZE]: 4 times, a page-aligned block of SIZE bytes
 * (default 1 MiB) is filled, made read-only and executable (mprotect),
 * and freed; then a block of the same size is written all over, and a
 * calloc'd one must read zero. Under glibc (which unmaps such chunks)
 * this runs; rezone's cache kept the protection and the write faulted
 * (src/frontend/protect_linux.c). */
static int protect_free(int argc, char **argv)
{
	size_t size = argc > 0 ? strtoul(argv[0], NULL, 0) : PROBE_MIB;
	for (int round = 0; round < 4; round++) {
		void *p;
		CHECK(posix_memalign(&p, 4096, size) == 0, "posix_memalign(4096, %zu)", size);
		memset(p, 0xc3, size);
		CHECK(mprotect(p, size, PROT_READ | PROT_EXEC) == 0, "mprotect: %s",
		      strerror(errno));
		free(p);
		unsigned char *q = malloc(size);
		CHECK(q != NULL, "malloc(%zu)", size);
		memset(q, 1, size);
		unsigned char *c = calloc(1, size);
		CHECK(c != NULL, "calloc(1, %zu)", size);
		for (size_t i = 0; i < size; i += 512)
			CHECK(c[i] == 0, "calloc'd byte %zu is %u", i, c[i]);
		free(c);
		free(q);
	}
	return 0;
}

/* A 1 MiB block, filled with `fill`, whose last page is PROT_NONE. */
static unsigned char *guarded_block(int fill)
{
	size_t size = PROBE_MIB;
	unsigned char *p = malloc(size);
	CHECK(p != NULL, "malloc(1 MiB)");
	memset(p, fill, size);
	unsigned char *guard = (unsigned char *)(((uintptr_t)p + size - 4096) & ~(uintptr_t)4095);
	CHECK(mprotect(guard, 4096, PROT_NONE) == 0, "mprotect: %s", strerror(errno));
	return p;
}

/* protect_guard shrink|free: a guard page (PROT_NONE) at the end of a
 * 1 MiB block (an interior address). shrink: the block shrinks past it,
 * grows back and is written all over. free: a guarded block is freed
 * and the next block of its size written all over. Each runs under glibc
 * as its own process (its mremap drops a shrunk tail; it unmaps freed
 * chunks; but once one is freed, its raised mmap threshold serves the
 * next 1 MiB from the heap, where a guard page faults its free: hence
 * one round, one case per process). */
static int protect_guard(int argc, char **argv)
{
	size_t size = PROBE_MIB;
	if (argc > 0 && strcmp(argv[0], "shrink") == 0) {
		unsigned char *s = realloc(guarded_block(2), size / 2);
		CHECK(s != NULL, "realloc to 512 KiB");
		unsigned char *g = realloc(s, size);
		CHECK(g != NULL, "realloc back to 1 MiB");
		for (size_t i = 0; i < size / 2; i++)
			CHECK(g[i] == 2, "byte %zu lost: %u", i, g[i]);
		memset(g, 3, size);
		free(g);
		return 0;
	}
	free(guarded_block(2));
	unsigned char *q = malloc(size);
	CHECK(q != NULL, "malloc(1 MiB)");
	memset(q, 4, size);
	free(q);
	return 0;
}

/* brk_heap: after a malloc, the byte below the program break is memory,
 * as under glibc, whose malloc has grown the brk heap by then (stress-ng's
 * brk stressor writes there; under rezone, which never used brk, every
 * child died with SIGSEGV). */
static int brk_heap(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	free(malloc(probe_opaque(100)));
	volatile char *end = sbrk(0);
	CHECK(end != (void *)-1, "sbrk(0)");
	end[-1] = 1; /* SIGSEGV without a heap below the break */
	CHECK(end[-1] == 1, "the byte below the break");
	return 0;
}

const struct probe_cmd probe_malloc_cmds[] = {
	{ "brk_heap", brk_heap },
	{ "malloc_zero", malloc_zero },
	{ "malloc_huge", malloc_huge },
	{ "usable_size", usable_size },
	{ "free_null", free_null },
	{ "free_errno", free_errno },
	{ "free_variants", free_variants },
	{ "calloc_zeroed", calloc_zeroed },
	{ "calloc_after_cached_free", calloc_after_cached_free },
	{ "calloc_overflow", calloc_overflow },
	{ "small_oom_reclaims_cache", small_oom_reclaims_cache },
	{ "protect_free", protect_free },
	{ "protect_guard", protect_guard },
	{ NULL, NULL },
};
