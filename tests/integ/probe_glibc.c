/*
 * probe_glibc.c - rzprobe scenarios for glibc's malloc extensions
 * (mallopt, mallinfo2, mallinfo, malloc_stats, malloc_info, malloc_trim)
 * as rezone answers them: calls made the ordinary way, through <malloc.h>,
 * so that without rezone's exports they reach glibc's own heap.
 */
#include "config.h"

#include <malloc.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define PROBE_TEN_MIB (10 * PROBE_MIB)

/* M_MMAP_THRESHOLD moves the large threshold both ways; the options glibc
 * alone understands are accepted; values glibc refuses are refused. */
static int mallopt_threshold(int argc, char **argv)
{
	struct rezone_stats s0, s1, s2, s3;
	void *p, *q;

	(void)argc, (void)argv;
	CHECK(mallopt(M_MMAP_THRESHOLD, 2 * PROBE_MIB) == 1, "mallopt(M_MMAP_THRESHOLD, 2 MiB)");
	s0 = probe_stats();
	p = malloc(PROBE_MIB);
	s1 = probe_stats();
	CHECK(p != NULL, "malloc");
	CHECK(s1.large_allocs == s0.large_allocs, "1 MiB is large with a "
	      "2 MiB M_MMAP_THRESHOLD");
	CHECK(mallopt(M_MMAP_THRESHOLD, 64 * 1024) == 1, "mallopt(M_MMAP_THRESHOLD, 64 KiB)");
	s2 = probe_stats();
	q = malloc(100 * 1024);
	s3 = probe_stats();
	CHECK(q != NULL, "malloc");
	CHECK(s3.large_allocs == s2.large_allocs + 1, "100 KiB is not large "
	      "with a 64 KiB M_MMAP_THRESHOLD");
	/* Blocks made under another threshold stay valid. */
	p = realloc(p, 3 * PROBE_MIB);
	CHECK(p != NULL, "realloc");
	free(p);
	free(q);
	CHECK(mallopt(M_MMAP_THRESHOLD, -1) == 0, "negative threshold accepted");
	CHECK(mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1, "M_TRIM_THRESHOLD");
	CHECK(mallopt(M_TOP_PAD, 0) == 1, "M_TOP_PAD");
	CHECK(mallopt(M_MMAP_MAX, 65536) == 1, "M_MMAP_MAX");
	CHECK(mallopt(M_ARENA_MAX, 1) == 1, "M_ARENA_MAX");
	CHECK(mallopt(M_ARENA_TEST, 8) == 1, "M_ARENA_TEST");
	CHECK(mallopt(M_MXFAST, 64) == 1, "M_MXFAST 64");
	CHECK(mallopt(M_MXFAST, 100000) == 0, "M_MXFAST beyond glibc's limit");
	return 0;
}

/* A live 10 MiB block shows in hblks/hblkhd, as glibc shows an mmapped
 * chunk, and leaves them when freed. */
static int mallinfo_large(int argc, char **argv)
{
	struct mallinfo2 m0, m1, m2;
	struct mallinfo i1;
	char *p;

	(void)argc, (void)argv;
	m0 = mallinfo2();
	p = malloc(PROBE_TEN_MIB);
	CHECK(p != NULL, "malloc");
	memset(p, 1, PROBE_TEN_MIB);
	m1 = mallinfo2();
	/* Deprecated in glibc, still called by programs: it must agree. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	i1 = mallinfo();
#pragma GCC diagnostic pop
	free(p);
	m2 = mallinfo2();
	CHECK(m1.hblks == m0.hblks + 1, "hblks %zu -> %zu for a 10 MiB block",
	      m0.hblks, m1.hblks);
	CHECK(m1.hblkhd >= m0.hblkhd + PROBE_TEN_MIB, "hblkhd %zu -> %zu for "
	      "a 10 MiB block", m0.hblkhd, m1.hblkhd);
	CHECK((size_t)i1.hblkhd == m1.hblkhd && (size_t)i1.hblks == m1.hblks,
	      "mallinfo (%d, %d) differs from mallinfo2 (%zu, %zu)", i1.hblks,
	      i1.hblkhd, m1.hblks, m1.hblkhd);
	CHECK(m2.hblks == m0.hblks && m2.hblkhd == m0.hblkhd, "the freed "
	      "block still counts: hblks %zu hblkhd %zu", m2.hblks, m2.hblkhd);
	CHECK(m1.arena > 0 && m1.uordblks > 0, "no small-heap figures "
	      "(arena %zu, uordblks %zu)", m1.arena, m1.uordblks);
	return 0;
}

/* malloc_info with a live 10 MiB block, on stdout; the suite parses it. */
static int malloc_info_xml(int argc, char **argv)
{
	char *p;

	(void)argc, (void)argv;
	p = malloc(PROBE_TEN_MIB);
	CHECK(p != NULL, "malloc");
	memset(p, 1, PROBE_TEN_MIB);
	CHECK(malloc_info(0, stdout) == 0, "malloc_info");
	CHECK(malloc_info(1, stdout) == -1, "malloc_info with options != 0");
	free(p);
	return 0;
}

/* The total <system type="max"> of a malloc_info report (its last one). */
static unsigned long long info_max(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	CHECK(m != NULL, "open_memstream");
	CHECK(malloc_info(0, m) == 0, "malloc_info");
	fclose(m);
	const char *key = "<system type=\"max\" size=\"", *at = NULL;
	for (const char *p = buf; (p = strstr(p, key)) != NULL; p++)
		at = p;
	CHECK(at != NULL, "no <system type=\"max\"> in:\n%s", buf);
	unsigned long long v = strtoull(at + strlen(key), NULL, 10);
	free(buf);
	return v;
}

/* malloc_info_max: "max" is a high-water mark, as in glibc: after a
 * 64 MiB block is freed it stays at 64 MiB or more (it fell to the
 * current size, 20 MiB, before). */
static int malloc_info_max(int argc, char **argv)
{
	(void)argc, (void)argv;
	char *p = malloc(64 * PROBE_MIB);
	CHECK(p != NULL, "malloc(64 MiB)");
	memset(p, 1, 64 * PROBE_MIB);
	unsigned long long live = info_max();
	free(p);
	unsigned long long after = info_max();
	printf("max with the block %llu, after its free %llu\n", live, after);
	CHECK(live >= 64 * PROBE_MIB, "max %llu with a live 64 MiB block", live);
	CHECK(after >= live, "max fell from %llu to %llu", live, after);
	return 0;
}

/* malloc_stats with a live 10 MiB block (on stderr). */
static int malloc_stats_large(int argc, char **argv)
{
	char *p;

	(void)argc, (void)argv;
	p = malloc(PROBE_TEN_MIB);
	CHECK(p != NULL, "malloc");
	malloc_stats();
	free(p);
	return 0;
}

/* Resident bytes of this process, from /proc/self/statm. */
static size_t probe_rss(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	CHECK(f != NULL, "/proc/self/statm");
	CHECK(fscanf(f, "%lu %lu", &size, &resident) == 2, "statm");
	fclose(f);
	return resident * 4096;
}

/* Freed large blocks stay cached with their pages; malloc_trim returns
 * them. Exits 77 when nothing is cached (REZONE_CACHE=0). */
static int trim_large(int argc, char **argv)
{
	enum { BLOCK = 64 << 20 };
	size_t before, cached, trimmed;
	char *p;

	(void)argc, (void)argv;
	probe_rss(); /* stdio's buffers before the first figure */
	p = malloc(BLOCK);
	CHECK(p != NULL, "malloc");
	memset(p, 1, BLOCK);
	before = probe_rss();
	free(p);
	cached = probe_rss();
	if (cached + BLOCK / 2 < before) {
		printf("free returned the block at once (no cache)\n");
		return PROBE_SKIP;
	}
	CHECK(malloc_trim(0) == 1, "malloc_trim returned 0 with 64 MiB cached");
	trimmed = probe_rss();
	CHECK(trimmed + BLOCK / 2 < cached, "RSS %zu KiB before malloc_trim, "
	      "%zu KiB after", cached >> 10, trimmed >> 10);
	return 0;
}

/* Freed small blocks leave dirty pages to the delegate; malloc_trim
 * purges them. */
static int trim_small(int argc, char **argv)
{
	enum { COUNT = 200000, SIZE = 200 };
	static void *blocks[COUNT];
	size_t held, freed, trimmed;

	(void)argc, (void)argv;
	probe_rss();
	for (size_t i = 0; i < COUNT; i++) {
		blocks[i] = malloc(SIZE);
		CHECK(blocks[i] != NULL, "malloc");
		memset(blocks[i], 1, SIZE);
	}
	held = probe_rss();
	for (size_t i = 0; i < COUNT; i++)
		free(blocks[i]);
	freed = probe_rss();
	CHECK(malloc_trim(0) == 1 || freed + COUNT * SIZE / 2 < held,
	      "malloc_trim returned 0 with %zu KiB of small blocks freed",
	      (size_t)COUNT * SIZE >> 10);
	trimmed = probe_rss();
	CHECK(trimmed + COUNT * SIZE / 2 < held, "RSS %zu KiB with the "
	      "blocks, %zu KiB freed, %zu KiB after malloc_trim", held >> 10,
	      freed >> 10, trimmed >> 10);
	return 0;
}

/* malloc_stats in a thread with a cancellation pending writes all of its
 * report (glibc's tst-malloc-stats-cancellation): its writes must not be
 * where the thread is cancelled; the next cancellation point is. */
static pthread_barrier_t stats_gate;

static void *stats_thread(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&stats_gate); /* the cancel is pending now */
	malloc_stats();
	fputs("after malloc_stats: cancelled before this\n", stderr);
	return NULL;
}

static int malloc_stats_cancel(int argc, char **argv)
{
	int fds[2], saved;
	pthread_t t;
	void *rv;
	char buf[4096];
	ssize_t n, got = 0;

	(void)argc, (void)argv;
	CHECK(pipe(fds) == 0, "pipe");
	saved = dup(2);
	CHECK(saved >= 0 && dup2(fds[1], 2) == 2, "dup2");
	close(fds[1]);
	CHECK(pthread_barrier_init(&stats_gate, NULL, 2) == 0, "barrier");
	CHECK(pthread_create(&t, NULL, stats_thread, NULL) == 0, "pthread_create");
	CHECK(pthread_cancel(t) == 0, "pthread_cancel");
	pthread_barrier_wait(&stats_gate);
	CHECK(pthread_join(t, &rv) == 0, "pthread_join");
	dup2(saved, 2);
	close(saved);
	while (got < (ssize_t)sizeof(buf) - 1 && (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	CHECK(rv == PTHREAD_CANCELED, "the thread was not cancelled");
	CHECK(strstr(buf, "max mmap bytes") != NULL, "malloc_stats' report was cut "
	      "short by the pending cancellation: \"%s\"", buf);
	CHECK(strstr(buf, "after malloc_stats") == NULL, "the write after "
	      "malloc_stats was not where the thread was cancelled");
	return 0;
}

const struct probe_cmd probe_glibc_cmds[] = {
	{ "malloc_stats_cancel", malloc_stats_cancel },
	{ "mallopt_threshold", mallopt_threshold },
	{ "mallinfo_large", mallinfo_large },
	{ "malloc_info_xml", malloc_info_xml },
	{ "malloc_info_max", malloc_info_max },
	{ "malloc_stats_large", malloc_stats_large },
	{ "trim_large", trim_large },
	{ "trim_small", trim_small },
	{ NULL, NULL },
};
