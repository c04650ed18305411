/*
 * probe_stats.c - rzprobe scenarios for rezone_stats and rezone_version, and
 * the small probes the option tests use to observe routing, growth and the
 * cache through the counters.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

typedef int stats_fn(struct rezone_stats *, size_t);

static int stats_layout(int argc, char **argv)
{
	stats_fn *stats;
	struct rezone_stats s;
	unsigned char buf[sizeof(s) + 64];

	(void)argc, (void)argv;
	*(void **)&stats = probe_sym("rezone_stats");
	memset(&s, 0xAB, sizeof(s));
	CHECK(stats(&s, sizeof(s)) == 0, "rezone_stats");
	CHECK(s.version == REZONE_STATS_VERSION, "version %u", s.version);
	CHECK(s.size == sizeof(s), "size %u, expected %zu", s.size, sizeof(s));
	CHECK(stats(NULL, sizeof(s)) == EINVAL, "NULL output accepted");
	CHECK(stats(&s, 4) == EINVAL, "4-byte output accepted");
	/* An older caller's smaller struct: only its bytes are written. */
	memset(buf, 0xAB, sizeof(buf));
	CHECK(stats((struct rezone_stats *)buf, 16) == 0, "16-byte output");
	CHECK(((struct rezone_stats *)buf)->size == 16, "size %u for a "
	      "16-byte output", ((struct rezone_stats *)buf)->size);
	for (size_t i = 16; i < sizeof(buf); i++)
		CHECK(buf[i] == 0xAB, "byte %zu written beyond 16", i);
	/* A newer caller's bigger struct: the library says what it filled. */
	memset(buf, 0xAB, sizeof(buf));
	CHECK(stats((struct rezone_stats *)buf, sizeof(buf)) == 0, "big output");
	CHECK(((struct rezone_stats *)buf)->size == sizeof(s), "size %u for a "
	      "bigger output", ((struct rezone_stats *)buf)->size);
	for (size_t i = sizeof(s); i < sizeof(buf); i++)
		CHECK(buf[i] == 0xAB, "byte %zu written beyond the library's "
		      "struct", i);
	return 0;
}

static int stats_version(int argc, char **argv)
{
	const char *(*version)(void);
	char want[32];

	(void)argc, (void)argv;
	*(void **)&version = probe_sym("rezone_version");
	snprintf(want, sizeof(want), "%d.%d.%d", REZONE_VERSION_MAJOR,
		 REZONE_VERSION_MINOR, REZONE_VERSION_PATCH);
	CHECK(version() != NULL && strcmp(version(), want) == 0,
	      "rezone_version() = \"%s\", header says %s",
	      version() ? version() : "(null)", want);
	return 0;
}

/* Nothing between two snapshots may allocate (stdio would), or a tiny
 * threshold would count its buffers as large blocks. */
static int stats_large_malloc(int argc, char **argv)
{
	struct rezone_stats s0, s1, s2, s3;
	void *small, *big;

	(void)argc, (void)argv;
	s0 = probe_stats();
	small = malloc(100);
	s1 = probe_stats();
	big = malloc(PROBE_LARGE);
	s2 = probe_stats();
	CHECK(small && big, "malloc");
	free(big);
	s3 = probe_stats();
	free(small);
	CHECK(s1.large_allocs == s0.large_allocs, "a 100-byte malloc counted "
	      "as large");
	CHECK(s2.large_allocs == s1.large_allocs + 1, "large_allocs moved by "
	      "%lld for a 1 MiB malloc",
	      (long long)(s2.large_allocs - s1.large_allocs));
	CHECK(s2.large_live == s1.large_live + 1, "large_live moved by %lld",
	      (long long)(s2.large_live - s1.large_live));
	CHECK(s2.large_live_bytes >= s1.large_live_bytes + PROBE_LARGE,
	      "large_live_bytes grew by %lld",
	      (long long)(s2.large_live_bytes - s1.large_live_bytes));
	CHECK(s3.large_frees == s2.large_frees + 1, "large_frees moved by %lld",
	      (long long)(s3.large_frees - s2.large_frees));
	CHECK(s3.large_live == s1.large_live, "large_live not back after free");
	CHECK(s3.large_live_bytes == s1.large_live_bytes,
	      "large_live_bytes not back after free");
	return 0;
}

static int stats_growth(int argc, char **argv)
{
	enum { GROWTHS = 5 };
	struct rezone_stats s0, s1, s2;
	unsigned char *p;

	(void)argc, (void)argv;
	p = malloc(PROBE_LARGE);
	CHECK(p != NULL, "malloc");
	memset(p, 1, PROBE_LARGE);
	s0 = probe_stats();
	for (size_t i = 1; i <= GROWTHS; i++) {
		p = realloc(p, (i + 1) * PROBE_MIB);
		CHECK(p != NULL, "realloc");
	}
	s1 = probe_stats();
	p = realloc(p, PROBE_MIB / 2);
	s2 = probe_stats();
	CHECK(p != NULL, "shrinking realloc");
	free(p);
	CHECK(probe_growths(&s1) - probe_growths(&s0) == GROWTHS,
	      "%d growths moved the grow_* counters by %llu (reserved %llu, "
	      "in place %llu, moved %llu, copied %llu)", GROWTHS,
	      (unsigned long long)(probe_growths(&s1) - probe_growths(&s0)),
	      (unsigned long long)(s1.grow_reserved - s0.grow_reserved),
	      (unsigned long long)(s1.grow_in_place - s0.grow_in_place),
	      (unsigned long long)(s1.grow_moved - s0.grow_moved),
	      (unsigned long long)(s1.grow_copied - s0.grow_copied));
	CHECK(s1.bytes_not_copied + s1.bytes_copied >
	      s0.bytes_not_copied + s0.bytes_copied,
	      "growth accounted no bytes");
	CHECK(s2.shrinks == s1.shrinks + 1, "a 6 MiB -> 512 KiB realloc moved "
	      "shrinks by %lld", (long long)(s2.shrinks - s1.shrinks));
	return 0;
}

/* large_peak_bytes is a high-water mark of large_live_bytes that follows
 * every way a block grows, rezone_expand included, and stays up after the
 * blocks are freed. */
static int stats_peak(int argc, char **argv)
{
	void *(*expand)(void *, size_t);
	struct rezone_stats s0, s1, s2, s3;
	unsigned char *p, *q;

	(void)argc, (void)argv;
	*(void **)&expand = probe_sym("rezone_expand");
	s0 = probe_stats();
	CHECK(s0.large_peak_bytes >= s0.large_live_bytes, "peak %llu below live %llu",
	      (unsigned long long)s0.large_peak_bytes,
	      (unsigned long long)s0.large_live_bytes);
	p = malloc(PROBE_LARGE);
	CHECK(p != NULL, "malloc");
	s1 = probe_stats();
	CHECK(s1.large_peak_bytes >= s0.large_live_bytes + PROBE_LARGE,
	      "peak %llu after a malloc of %d on %llu live",
	      (unsigned long long)s1.large_peak_bytes, PROBE_LARGE,
	      (unsigned long long)s0.large_live_bytes);
	/* Growth in place through rezone_expand (inside the reservation). */
	q = expand(p, PROBE_LARGE + PROBE_LARGE / 2);
	CHECK(q == p, "rezone_expand inside the reservation failed");
	s2 = probe_stats();
	CHECK(s2.large_live_bytes > s1.large_live_bytes, "expand grew nothing");
	CHECK(s2.large_peak_bytes >= s2.large_live_bytes,
	      "peak %llu below live %llu after rezone_expand",
	      (unsigned long long)s2.large_peak_bytes,
	      (unsigned long long)s2.large_live_bytes);
	free(p);
	s3 = probe_stats();
	CHECK(s3.large_live_bytes == s0.large_live_bytes, "live not back after free");
	CHECK(s3.large_peak_bytes == s2.large_peak_bytes, "peak moved on free: %llu -> %llu",
	      (unsigned long long)s2.large_peak_bytes,
	      (unsigned long long)s3.large_peak_bytes);
	return 0;
}

/* Prints the counters one realloc from 1 MiB to 1.5 MiB moved, for the
 * option tests: "reserved R in_place I moved M copied C". */
static int grow_kind(int argc, char **argv)
{
	struct rezone_stats s0, s1;
	unsigned char *p;

	(void)argc, (void)argv;
	p = malloc(PROBE_LARGE);
	CHECK(p != NULL, "malloc");
	memset(p, 1, PROBE_LARGE);
	s0 = probe_stats();
	p = realloc(p, 3 * PROBE_MIB / 2);
	s1 = probe_stats();
	CHECK(p != NULL, "realloc");
	free(p);
	printf("reserved %llu in_place %llu moved %llu copied %llu\n",
	       (unsigned long long)(s1.grow_reserved - s0.grow_reserved),
	       (unsigned long long)(s1.grow_in_place - s0.grow_in_place),
	       (unsigned long long)(s1.grow_moved - s0.grow_moved),
	       (unsigned long long)(s1.grow_copied - s0.grow_copied));
	return 0;
}

/* Prints how many cache hits a free followed by a malloc of the same large
 * size produced: "hits N". */
static int cache_reuse(int argc, char **argv)
{
	struct rezone_stats s0, s1;
	void *p, *q;

	(void)argc, (void)argv;
	p = malloc(PROBE_LARGE);
	CHECK(p != NULL, "malloc");
	memset(p, 1, PROBE_LARGE);
	s0 = probe_stats();
	free(p);
	q = malloc(PROBE_LARGE);
	s1 = probe_stats();
	CHECK(q != NULL, "malloc");
	free(q);
	printf("hits %llu\n", (unsigned long long)(s1.cache_hits - s0.cache_hits));
	return 0;
}

/* Exit status 0 when malloc(size) is counted as a large block, 10 when it
 * is not: lets the suite check how options route sizes. */
static int is_large(int argc, char **argv)
{
	struct rezone_stats before, after;
	size_t n;
	void *p;

	CHECK(argc == 1, "usage: is_large SIZE");
	n = strtoull(argv[0], NULL, 0);
	before = probe_stats();
	p = malloc(n);
	after = probe_stats();
	CHECK(p != NULL, "malloc(%zu)", n);
	free(p);
	return after.large_allocs == before.large_allocs + 1 ? 0 : 10;
}

/* Allocates, grows and frees large blocks; the suite watches what the
 * library prints at exit. */
static int large_churn(int argc, char **argv)
{
	(void)argc, (void)argv;
	for (int i = 0; i < 8; i++) {
		char *p = malloc(PROBE_LARGE);

		CHECK(p != NULL, "malloc");
		memset(p, 7, PROBE_LARGE);
		p = realloc(p, 3 * PROBE_MIB);
		CHECK(p != NULL, "realloc");
		free(p);
	}
	return 0;
}

/* Makes no request at all: the report must stay silent for it. */
static int idle(int argc, char **argv)
{
	(void)argc, (void)argv;
	return 0;
}

/* A block aligned to 64 KiB, doubled from 2 MiB to 256 MiB: no growth is
 * a copy, every result keeps the alignment and the bytes (over-aligned
 * blocks were always copied). */
static int stats_aligned_growth(int argc, char **argv)
{
	const size_t align = 65536, from = 2 * PROBE_MIB, to = 256 * PROBE_MIB;
	unsigned char *p = NULL;

	(void)argc, (void)argv;
	CHECK(posix_memalign((void **)&p, align, from) == 0, "posix_memalign(64 KiB, 2 MiB)");
	probe_fill(p, 0, from, 29);
	struct rezone_stats s0 = probe_stats();
	for (size_t n = 2 * from; n <= to; n *= 2) {
		p = realloc(p, probe_opaque(n));
		CHECK(p != NULL, "realloc to %zu MiB", n >> 20);
		CHECK((uintptr_t)p % align == 0, "realloc to %zu MiB gave %p, not 64 KiB-aligned",
		      n >> 20, (void *)p);
		CHECK_PATTERN(p, 0, from, 29);
		p[n - 1] = 1;
	}
	struct rezone_stats s1 = probe_stats();
	free(p);
	CHECK(s1.grow_copied == s0.grow_copied, "%llu of the growths copied (moved %llu)",
	      (unsigned long long)(s1.grow_copied - s0.grow_copied),
	      (unsigned long long)(s1.grow_moved - s0.grow_moved));
	return 0;
}

const struct probe_cmd probe_stats_cmds[] = {
	{ "idle", idle },
	{ "stats_layout", stats_layout },
	{ "stats_version", stats_version },
	{ "stats_large_malloc", stats_large_malloc },
	{ "stats_growth", stats_growth },
	{ "stats_aligned_growth", stats_aligned_growth },
	{ "stats_peak", stats_peak },
	{ "large_churn", large_churn },
	{ "is_large", is_large },
	{ "grow_kind", grow_kind },
	{ "cache_reuse", cache_reuse },
	{ NULL, NULL },
};
