/*
 * probe_scale.c - scenarios for large blocks at scale: grown buffers reused,
 * impossible requests refused, process limits honoured, locked memory,
 * idle memory returned, address space kept proportionate, page-aligned
 * small frees independent of the number of live large blocks.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/* A field of /proc/self/status in bytes (VmRSS, VmHWM, VmLck, VmSize). */
static size_t status_bytes(const char *field)
{
	return probe_status(field) * KiB;
}

/* A vector grown by doubling from 1 KiB to top, touching what it adds. */
static void *vector_grow(size_t top)
{
	unsigned char *v = malloc(KiB);
	CHECK(v != NULL, "malloc 1 KiB");
	memset(v, 1, KiB);
	for (size_t n = 2 * KiB; n <= top; n *= 2) {
		v = realloc(v, n);
		CHECK(v != NULL, "realloc to %zu", n);
		memset(v + n / 2, 2, n / 2);
	}
	return v;
}

/* vector-reuse TOP ROUNDS: the freed vector's mapping is the next one's. */
static int scale_vector_reuse(int argc, char **argv)
{
	size_t top = argc > 0 ? strtoull(argv[0], NULL, 0) : MiB;
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
	struct rezone_stats before = probe_stats();

	for (unsigned i = 0; i < rounds; i++)
		free(vector_grow(top));
	struct rezone_stats after = probe_stats();
	uint64_t hits = after.cache_hits - before.cache_hits;
	CHECK(hits + 2 >= rounds, "only %llu cache hits in %u vectors",
	      (unsigned long long)hits, rounds);
	size_t hwm = status_bytes("VmHWM");
	CHECK(hwm < 3 * top + 24 * MiB, "peak RSS %zu MiB for vectors of %zu MiB",
	      hwm >> 20, top >> 20);
	return 0;
}

/* tail-rss: a freed 32 MiB vector's mapping is taken by a small buffer
 * that grows to 4 MiB in it (the realloc threshold), then three 8 MiB
 * blocks are mapped and written. The 28 MiB the buffer's mapping had
 * touched past its end are no use to anybody then: they must go back
 * before the process maps more, not a decay period later (sqlite3 sorting
 * then building a string peaked at 1.21x glibc's RSS this way). */
static int scale_tail_rss(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	size_t base = status_bytes("VmRSS");
	struct rezone_stats before = probe_stats();
	free(vector_grow(32 * MiB));
	unsigned char *c = malloc(2 * KiB);
	CHECK(c != NULL, "malloc 2 KiB");
	memset(c, 3, 2 * KiB);
	for (size_t n = 8 * KiB; n <= 4 * MiB; n *= 2) {
		c = realloc(c, n);
		CHECK(c != NULL, "realloc to %zu", n);
		memset(c + n / 2, 4, n / 2);
	}
	struct rezone_stats after = probe_stats();
	if (after.cache_hits == before.cache_hits) {
		printf("rzprobe: the buffer did not take the cached mapping (no cache?)\n");
		free(c);
		return PROBE_SKIP;
	}
	unsigned char *big[3];
	for (int i = 0; i < 3; i++) {
		big[i] = malloc(8 * MiB);
		CHECK(big[i] != NULL, "malloc 8 MiB");
		memset(big[i], 5, 8 * MiB);
	}
	size_t grown = status_bytes("VmRSS") - base, live = 4 * MiB + 3 * 8 * MiB;
	printf("rzprobe: RSS grew %zu KiB for %zu KiB live\n", grown >> 10, live >> 10);
	CHECK(grown <= live + 2 * MiB, "RSS grew %zu MiB for %zu MiB of live blocks",
	      grown >> 20, live >> 20);
	for (int i = 0; i < 3; i++)
		free(big[i]);
	free(c);
	return 0;
}

/* copy-grow-rss: a buffer grown by copying into one 1.5 times bigger and
 * freeing the old one (grep's line buffer), 1 MiB to ~57 MiB, every byte
 * written: the peak is the last two buffers, as under glibc, not those
 * plus the cached smaller ones (grep -c on a 100 MB line: 322 MB of peak
 * RSS against glibc's 197). */
static int scale_copy_grow_rss(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	size_t base = status_bytes("VmRSS");
	size_t n = MiB, prev = 0;
	unsigned char *old = malloc(n);
	CHECK(old != NULL, "malloc 1 MiB");
	memset(old, 1, n);
	while (n < 48 * MiB) {
		size_t next = n + n / 2;
		unsigned char *p = malloc(next);
		CHECK(p != NULL, "malloc(%zu)", next);
		memcpy(p, old, n);
		memset(p + n, 2, next - n);
		free(old);
		old = p;
		prev = n;
		n = next;
	}
	size_t grown = status_bytes("VmHWM") - base, live = prev + n;
	printf("rzprobe: peak RSS grew %zu KiB for two buffers of %zu KiB\n", grown >> 10, live >> 10);
	CHECK(grown <= live + 8 * MiB, "peak RSS grew %zu MiB for buffers of %zu + %zu MiB",
	      grown >> 20, prev >> 20, n >> 20);
	free(old);
	return 0;
}

static bool delegate_is_system(void);

/* Writes and frees n blocks of size bytes. */
static void written_and_freed(size_t n, size_t size)
{
	unsigned char *b[8];
	CHECK(n <= 8, "at most 8 blocks");
	for (size_t i = 0; i < n; i++) {
		b[i] = malloc(probe_opaque(size));
		CHECK(b[i] != NULL, "malloc(%zu)", size);
		memset(b[i], 0xaa, size);
	}
	for (size_t i = 0; i < n; i++)
		free(b[i]);
}

/* give-way-small: 4 x 60 MiB written and freed, then 240 MiB of 1000-byte
 * blocks written: the cached mappings' pages give way to the small
 * blocks' new memory, so the peak is about the small blocks, as under
 * glibc (peak 496 MB before, with the freed pages still cached; glibc
 * 244; a 400 MB memory cgroup killed python doing this). The array of
 * pointers (1.9 MiB) takes a cached 60 MiB mapping: its pages past its
 * end give way too. Not in the --with-small=system build: glibc's heap
 * grows inside the C library, where rezone does not see it. */
static int scale_give_way_small(int argc, char **argv)
{
	(void)argc; (void)argv;
	if (delegate_is_system()) {
		printf("rzprobe: the small delegate is glibc's, whose heap grows unseen\n");
		return PROBE_SKIP;
	}
	size_t base = status_bytes("VmRSS");
	written_and_freed(4, 60 * MiB);
	size_t n = 240 * MiB / 1000;
	unsigned char **v = malloc(probe_opaque(n * sizeof(*v)));
	CHECK(v != NULL, "malloc of %zu pointers", n);
	for (size_t i = 0; i < n; i++) {
		v[i] = malloc(probe_opaque(1000));
		CHECK(v[i] != NULL, "malloc(1000) #%zu", i);
		memset(v[i], (int)(i & 0x7f), 1000);
	}
	size_t grown = status_bytes("VmHWM") - base, live = n * 1024 + n * sizeof(*v);
	printf("rzprobe: peak RSS grew %zu KiB for %zu KiB of small blocks\n", grown >> 10, live >> 10);
	CHECK(grown <= live + live / 8, "peak RSS grew %zu MiB for %zu MiB of small blocks "
	      "after 240 MiB of large ones were freed", grown >> 20, live >> 20);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return 0;
}

/* give-way-mmap: 100 MiB written and freed, then the program's own mmap
 * of 200 MiB written: peak 200 MiB, as under glibc (300 before: the freed
 * pages stayed cached beside it). */
static int scale_give_way_mmap(int argc, char **argv)
{
	(void)argc; (void)argv;
	size_t base = status_bytes("VmRSS");
	written_and_freed(1, 100 * MiB);
	unsigned char *m = mmap(NULL, 200 * MiB, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap 200 MiB: %s", strerror(errno));
	memset(m, 1, 200 * MiB);
	size_t grown = status_bytes("VmHWM") - base;
	printf("rzprobe: peak RSS grew %zu KiB for a 200 MiB mapping\n", grown >> 10);
	CHECK(grown <= 200 * MiB + 16 * MiB, "peak RSS grew %zu MiB for a 200 MiB mapping "
	      "after a 100 MiB block was freed", grown >> 20);
	munmap(m, 200 * MiB);
	return 0;
}

/* give-way-part: a cached 64 MiB mapping gives 16 MiB of its touched pages
 * to a 16 MiB mmap and stays cached with the rest: calloc(64 MiB) takes
 * it and is zero everywhere (the pages it kept are cleared, the ones it
 * gave are new), and it is written whole again. */
static int scale_give_way_part(int argc, char **argv)
{
	(void)argc; (void)argv;
	size_t base = status_bytes("VmRSS");
	written_and_freed(1, 64 * MiB);
	size_t rss = status_bytes("VmRSS");
	/* Guard mode keeps freed blocks inaccessible, their pages gone. */
	bool kept = rss >= base + 48 * MiB;
	unsigned char *m = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap 16 MiB: %s", strerror(errno));
	size_t after = status_bytes("VmRSS");
	munmap(m, 16 * MiB);
	struct rezone_stats before = probe_stats();
	unsigned char *c = calloc(1, 64 * MiB);
	CHECK(c != NULL, "calloc 64 MiB");
	struct rezone_stats now = probe_stats();
	if (now.cache_hits == before.cache_hits) {
		printf("rzprobe: the freed mapping was not cached (no cache?)\n");
		free(c);
		return PROBE_SKIP;
	}
	CHECK(!kept || rss >= after + 15 * MiB, "RSS %zu KiB before the mmap, %zu after: nothing given back",
	      rss >> 10, after >> 10);
	for (size_t i = 0; i < 64 * MiB; i += 512)
		CHECK(c[i] == 0, "calloc'd byte %zu is %#x", i, c[i]);
	CHECK(c[64 * MiB - 1] == 0, "calloc's last byte is %#x", c[64 * MiB - 1]);
	memset(c, 2, 64 * MiB);
	free(c);
	return 0;
}

/* Bytes the kernel cannot back: four times RAM + swap. */
static size_t impossible_size(void)
{
	struct sysinfo si;
	CHECK(sysinfo(&si) == 0, "sysinfo");
	return ((size_t)si.totalram + si.totalswap) * si.mem_unit * 4;
}

static int overcommit_mode(void)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	int mode = 0;
	if (f) {
		if (fscanf(f, "%d", &mode) != 1)
			mode = 0;
		fclose(f);
	}
	return mode;
}

#define CHECK_ENOMEM(expr, what)                                            \
	do {                                                                \
		errno = 0;                                                  \
		void *r_ = (expr);                                          \
		CHECK(r_ == NULL && errno == ENOMEM, "%s of %zu GiB: %p, errno %d", \
		      what, big >> 30, r_, errno);                          \
	} while (0)

/* impossible: requests the machine cannot back fail at once. */
static int scale_impossible(int argc, char **argv)
{
	(void)argc; (void)argv;
	if (overcommit_mode() == 1) {
		printf("overcommit_memory=1: the kernel backs anything (glibc succeeds too)\n");
		return PROBE_SKIP;
	}
	size_t big = probe_opaque(impossible_size());
	/* Beyond the address space nothing can help: such a request fails
	 * at once and leaves the cache alone (it used to empty it, trim every
	 * block's headroom and retry, for each of glibc's tst-malloc-too-large
	 * sizes: 12.7 s against glibc's 5.2). */
	{
		void *warm = malloc(2 * MiB);
		CHECK(warm != NULL, "malloc 2 MiB");
		free(warm);
		struct rezone_stats s0 = probe_stats(), s1;
		size_t huge = probe_opaque((size_t)1 << 50);
		CHECK_ENOMEM(malloc(huge), "malloc of 1 PiB");
		CHECK_ENOMEM(memalign(4096, huge), "memalign of 1 PiB");
		s1 = probe_stats();
		CHECK(s1.cache_releases == s0.cache_releases, "a request beyond the address "
		      "space returned %lld cached mappings",
		      (long long)(s1.cache_releases - s0.cache_releases));
	}
	CHECK_ENOMEM(malloc(big), "malloc");
	CHECK_ENOMEM(calloc(1, big), "calloc");
	CHECK_ENOMEM(memalign(2 * MiB, big), "memalign");
	CHECK_ENOMEM(aligned_alloc(4096, big), "aligned_alloc");
	/* A small block with an alignment the machine cannot back either:
	 * glibc maps size + alignment and is refused; the small delegate
	 * mapped it with MAP_NORESERVE and succeeded. */
	size_t align = (size_t)1 << (63 - __builtin_clzl(big));
	CHECK_ENOMEM(memalign(align, 16), "memalign(16 bytes) aligned to a power of two");
	CHECK_ENOMEM(aligned_alloc(align, 64), "aligned_alloc(64 bytes) aligned to a power of two");
	void *out = NULL;
	/* glibc leaves ENOMEM in errno too, and programs check it (glibc's
	 * own tst-malloc-thread-fail aborts otherwise). */
	errno = 0;
	CHECK(posix_memalign(&out, 64, big) == ENOMEM && out == NULL && errno == ENOMEM,
	      "posix_memalign: out %p, errno %d", out, errno);
	unsigned char *p = malloc(MiB);
	CHECK(p != NULL, "malloc 1 MiB");
	probe_fill(p, 0, MiB, 5);
	CHECK_ENOMEM(realloc(p, big), "realloc");
	CHECK_PATTERN(p, 0, MiB, 5);
	void *(*expand)(void *, size_t) = (void *(*)(void *, size_t))probe_sym("rezone_expand");
	CHECK_ENOMEM(expand(p, big), "rezone_expand");
	CHECK_PATTERN(p, 0, MiB, 5);
	free(p);
	/* Headroom never makes a request fail: a quarter of RAM + swap is
	 * fine, as under glibc, though its headroom would not be. */
	size_t fits = big / 16;
	p = malloc(fits);
	CHECK(p != NULL, "malloc of %zu MiB (a quarter of RAM + swap)", fits >> 20);
	p[0] = p[fits - 1] = 1;
	free(p);
	return 0;
}

/* limit as|data: under a 2 GiB limit, many growing buffers then one big
 * block (and 64 of 4 MiB) succeed, as under glibc. Runs in a child. */
static int scale_limit(int argc, char **argv)
{
	int which = argc > 0 && strcmp(argv[0], "data") == 0 ? RLIMIT_DATA : RLIMIT_AS;
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct rlimit rl = { 2 * GiB, 2 * GiB };
		if (setrlimit(which, &rl) != 0)
			_exit(PROBE_SKIP);
		static void *bufs[200];
		for (int i = 0; i < 200; i++) {
			bufs[i] = vector_grow(MiB);
			if (!bufs[i])
				_exit(10);
		}
		unsigned char *big = malloc(900 * MiB);
		if (!big) {
			fprintf(stderr, "rzprobe: malloc(900 MiB) failed, VmSize %zu MiB\n",
			    status_bytes("VmSize") >> 20);
			_exit(11);
		}
		big[0] = big[900 * MiB - 1] = 1;
		for (int i = 0; i < 64; i++) {
			void *q = malloc(4 * MiB);
			if (!q) {
				fprintf(stderr, "rzprobe: malloc(4 MiB) #%d failed\n", i);
				_exit(12);
			}
			memset(q, 1, 4096);
		}
		_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_SKIP)
		return PROBE_SKIP;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %s %d",
	      WIFEXITED(status) ? "exit status" : "signal",
	      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

/* Runs "rzprobe SCENARIO which" in a child under RLIMIT_AS or RLIMIT_DATA
 * (which: "as" or "data") of the child's current use plus extra bytes, set
 * before the exec: the allocator then starts under the limit, as under
 * ulimit. Returns the child's result (PROBE_SKIP if no limit can be set). */
static int limit_exec(const char *scenario, const char *which, size_t extra)
{
	int res = strcmp(which, "data") == 0 ? RLIMIT_DATA : RLIMIT_AS;
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		size_t used = status_bytes(res == RLIMIT_DATA ? "VmData" : "VmSize");
		struct rlimit rl = { used + extra, used + extra };
		if (setrlimit(res, &rl) != 0)
			_exit(PROBE_SKIP);
		char *args[] = { (char *)"rzprobe", (char *)scenario, (char *)which, NULL };
		execv("/proc/self/exe", args);
		_exit(PROBE_SKIP);
	}
	return probe_child_result(pid, scenario);
}

/* Runs fn in a child that sets its own RLIMIT_AS or RLIMIT_DATA (which:
 * "as" or "data") of its current use plus extra bytes, with setrlimit,
 * after the allocator has started: a program that limits itself. */
static int limit_later(int (*fn)(int, char **), const char *which, size_t extra)
{
	int res = strcmp(which, "data") == 0 ? RLIMIT_DATA : RLIMIT_AS;
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		free(malloc(100)); /* the small delegate is set up before */
		size_t used = status_bytes(res == RLIMIT_DATA ? "VmData" : "VmSize");
		struct rlimit rl = { used + extra, used + extra };
		if (setrlimit(res, &rl) != 0)
			_exit(PROBE_SKIP);
		_exit(fn(0, NULL));
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_SKIP)
		return PROBE_SKIP;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "under the limit set "
	      "later: %s %d", WIFEXITED(status) ? "exit status" : "signal",
	      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

static int scale_limit_spent_shrink_child(int argc, char **argv);

/* limit-spent-shrink as|data: a 1 MiB block shrunk to 100 KiB once the
 * rest of a 64 MiB limit is used up. glibc shrinks its mapping in place;
 * rezone hands a block shrunk that far to the small delegate, which needs
 * room first: NULL. It shrinks in place now when the delegate has none. */
static int scale_limit_spent_shrink(int argc, char **argv)
{
	return limit_later(scale_limit_spent_shrink_child, argc > 0 ? argv[0] : "as", 64 * MiB);
}

static int scale_limit_spent_shrink_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	unsigned char *big = malloc(MiB);
	CHECK(big != NULL, "malloc(1 MiB)");
	memset(big, 0x5a, MiB);
	/* Use the limit up: blocks of 1 MiB, then of halves, all kept. */
	size_t n = 0;
	for (size_t sz = MiB; sz >= 16; sz /= 2)
		while (malloc(sz) != NULL)
			n++;
	CHECK(n > 0, "nothing fitted under the limit");
	errno = 0;
	unsigned char *q = realloc(big, probe_opaque(100 * KiB));
	CHECK(q != NULL, "realloc(1 MiB -> 100 KiB) with the limit used up: %s", strerror(errno));
	for (size_t i = 0; i < 100 * KiB; i++)
		CHECK(q[i] == 0x5a, "byte %zu lost", i);
	return 0; /* the kept blocks go with the process */
}

/* Whether a malloc(size) now is a large block (rezone's counters). */
static bool is_large_now(size_t size)
{
	struct rezone_stats s0 = probe_stats();
	void *p = malloc(probe_opaque(size));
	CHECK(p != NULL, "malloc(%zu)", size);
	struct rezone_stats s1 = probe_stats();
	free(p);
	return s1.large_allocs > s0.large_allocs;
}

static int scale_limit_threshold_child(int argc, char **argv);

/* limit-threshold small|big|chosen: under a limit set while running,
 * blocks from 64 KiB are large only where the limit's bytes in such
 * blocks stay well under vm.max_map_count, and never against the
 * program's own mallopt(M_MMAP_THRESHOLD).
 *   small: 256 MiB beyond use: 70,000 bytes are large
 *   big: 32 GiB beyond use: 70,000 bytes stay the delegate's (150,000 of
 *     them, every other one freed, reached the map count before)
 *   chosen: mallopt(M_MMAP_THRESHOLD, 1 MiB) first: 300,000 bytes stay
 *     the delegate's (the limit lowered the threshold to 64 KiB before) */
static int scale_limit_threshold(int argc, char **argv)
{
	const char *mode = argc > 0 ? argv[0] : "small";
	if (strcmp(mode, "chosen") == 0)
		CHECK(mallopt(M_MMAP_THRESHOLD, (int)MiB) == 1, "mallopt(M_MMAP_THRESHOLD, 1 MiB)");
	size_t extra = strcmp(mode, "big") == 0 ? 32 * GiB : 256 * MiB;
	if (strcmp(mode, "chosen") == 0)
		setenv("RZ_PROBE_CHOSEN", "1", 1);
	return limit_later(scale_limit_threshold_child, "as", extra);
}

static int scale_limit_threshold_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	if (getenv("RZ_PROBE_CHOSEN")) {
		CHECK(!is_large_now(300000), "300,000 bytes became large against mallopt's 1 MiB");
		CHECK(is_large_now(2 * MiB), "2 MiB is not large");
		return 0;
	}
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_AS, &rl) == 0, "getrlimit");
	bool big = rl.rlim_cur - status_bytes("VmSize") > 16 * GiB;
	CHECK(is_large_now(70000) == !big, "70,000 bytes %s a large block under a limit of %zu MiB",
	      big ? "became" : "did not become", (size_t)(rl.rlim_cur >> 20));
	return 0;
}

static int scale_limit_shrink_delegate_child(int argc, char **argv);

/* limit-shrink-delegate as|data: a 200,000-byte block made before a limit
 * (the delegate's), the limit set and used up, then the block shrunk to
 * 100,000 bytes: it stays the delegate's and shrinks, as under glibc. The
 * lowered threshold made it migrate, which needs room: NULL. */
static int scale_limit_shrink_delegate(int argc, char **argv)
{
	int res = argc > 0 && strcmp(argv[0], "data") == 0 ? RLIMIT_DATA : RLIMIT_AS;
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		unsigned char *p = malloc(probe_opaque(200000));
		CHECK(p != NULL, "malloc(200000)");
		memset(p, 0x3c, 200000);
		size_t used = status_bytes(res == RLIMIT_DATA ? "VmData" : "VmSize");
		struct rlimit rl = { used + 64 * MiB, used + 64 * MiB };
		if (setrlimit(res, &rl) != 0)
			_exit(PROBE_SKIP);
		_exit(scale_limit_shrink_delegate_child(0, (char **)&p));
	}
	return probe_child_result(pid, "limit-shrink-delegate");
}

static int scale_limit_shrink_delegate_child(int argc, char **argv)
{
	(void)argc;
	unsigned char *p = *(unsigned char **)argv;
	for (size_t sz = MiB; sz >= 16; sz /= 2)
		while (malloc(sz) != NULL)
			;
	int ok = 0;
	for (int i = 0; i < 64; i++) {
		unsigned char *q = realloc(p, probe_opaque(200000 - (size_t)i * 1000 - 100000));
		if (q) {
			p = q;
			ok++;
		}
	}
	CHECK(ok == 64, "%d of 64 shrinks of the delegate's block succeeded with the limit used up", ok);
	for (size_t i = 0; i < 37000; i++)
		CHECK(p[i] == 0x3c, "byte %zu lost", i);
	return 0;
}

/* map-count-free: two 8 MiB blocks written, the process's map count
 * filled (pages of alternating protection, which never merge), then one
 * block freed (run with REZONE_CACHE=0, so the free unmaps): the munmap
 * fails (ENOMEM: the blocks' mappings merged, and the free must split
 * them), and its pages must still go back. Before: RSS did not drop. */
static int scale_map_count_free(int argc, char **argv)
{
	(void)argc; (void)argv;
	unsigned char *a = malloc(probe_opaque(8 * MiB)), *b = malloc(probe_opaque(8 * MiB));
	CHECK(a != NULL && b != NULL, "malloc(8 MiB) x 2");
	memset(a, 1, 8 * MiB);
	memset(b, 2, 8 * MiB);
	static void *pages[70000];
	size_t n = 0;
	while (n < sizeof(pages) / sizeof(pages[0])) {
		void *p = mmap(NULL, 4096, (n & 1) ? PROT_READ : PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		pages[n++] = p;
	}
	if (n == sizeof(pages) / sizeof(pages[0])) {
		printf("vm.max_map_count above %zu: not filled\n", n);
		return PROBE_SKIP;
	}
	size_t before = status_bytes("VmRSS");
	free(a);
	size_t after = status_bytes("VmRSS");
	for (size_t i = 0; i < n; i++)
		munmap(pages[i], 4096);
	CHECK(after + 6 * MiB < before, "an 8 MiB block freed with the map count full: "
	      "RSS %zu -> %zu KiB", before >> 10, after >> 10);
	for (size_t i = 0; i < 8 * MiB; i += 4096)
		CHECK(b[i] == 2, "the other block lost byte %zu", i);
	free(b);
	return 0;
}

/* guard-map-count (run with REZONE_GUARD=1 REZONE_LARGE_THRESHOLD=4096):
 * 40,000 live blocks of 5,000 bytes, each written, then small and large
 * mallocs. A guarded block is two mappings that never merge: 35,800 of
 * them used up vm.max_map_count (65,530) and every malloc after failed,
 * brk and jemalloc's mmap refused alike; glibc's heap does it in one
 * mapping. */
static int scale_guard_map_count(int argc, char **argv)
{
	(void)argc; (void)argv;
	enum { N = 40000 };
	static unsigned char *b[N];
	for (size_t i = 0; i < N; i++) {
		b[i] = malloc(probe_opaque(5000));
		CHECK(b[i] != NULL, "malloc(5000) #%zu of %d failed (errno %d)", i, N, errno);
		memset(b[i], (int)(i & 0x7f), 5000);
	}
	void *s = malloc(probe_opaque(100)), *l = malloc(probe_opaque(MiB));
	CHECK(s != NULL && l != NULL, "malloc(100) %p, malloc(1 MiB) %p with %d blocks live", s, l, N);
	for (size_t i = 0; i < N; i++) {
		CHECK(b[i][4999] == (unsigned char)(i & 0x7f), "block %zu lost its last byte", i);
		free(b[i]);
	}
	free(s);
	free(l);
	return 0;
}

/* guard-moved-maps (REZONE_GUARD=1 REZONE_LARGE_THRESHOLD=4096): 16,350
 * guarded blocks, under a quarter of the map count, grown by realloc ten
 * times in turn, so that they move (four mappings each), filled it: 901 of
 * the program's own 1,000 mmaps failed after, and pthread_create. */
static void *guard_nothing(void *arg)
{
	return arg;
}

static int scale_guard_moved_maps(int argc, char **argv)
{
	(void)argc; (void)argv;
	enum { N = 16350 };
	static unsigned char *b[N];
	static size_t size[N];
	for (size_t i = 0; i < N; i++) {
		size[i] = 5000;
		b[i] = malloc(probe_opaque(size[i]));
		CHECK(b[i] != NULL, "malloc(5000) #%zu", i);
		memset(b[i], 1, size[i]);
	}
	for (size_t step = 1; step <= 10; step++)
		for (size_t i = 0; i < N; i++) {
			size_t n = size[i] + 4096 * step;
			unsigned char *q = realloc(b[i], n);
			CHECK(q != NULL, "realloc #%zu to %zu (step %zu)", i, n, step);
			memset(q + size[i], 2, n - size[i]);
			b[i] = q;
			size[i] = n;
		}
	static void *own[1000];
	size_t failed = 0;
	for (size_t i = 0; i < 1000; i++) {
		/* Alternate protections: they cannot merge. */
		own[i] = mmap(NULL, 4096, (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		failed += own[i] == MAP_FAILED;
	}
	pthread_t t;
	int err = pthread_create(&t, NULL, guard_nothing, NULL);
	if (err == 0)
		pthread_join(t, NULL);
	CHECK(failed == 0 && err == 0, "with %d grown blocks live: %zu of 1000 mmaps failed, "
	      "pthread_create: %s", N, failed, strerror(err));
	for (size_t i = 0; i < 1000; i++)
		if (own[i] != MAP_FAILED)
			munmap(own[i], 4096);
	for (size_t i = 0; i < N; i++)
		free(b[i]);
	return 0;
}

/* shed-signal: mmap in a signal handler (every 50 us) while the program
 * mallocs and frees 1-8 MiB blocks: the handler's mmap gives cached pages
 * back only where no shard is busy. It waited on a cache shard its own
 * thread held, for ever. A child runs it for 2 s under a 30 s watchdog. */
static void shed_on_alarm(int sig)
{
	(void)sig;
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
}

static int scale_shed_signal(int argc, char **argv)
{
	(void)argc; (void)argv;
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = shed_on_alarm;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, NULL);
		struct itimerval it = { { 0, 50 }, { 0, 50 } };
		setitimer(ITIMER_REAL, &it, NULL);
		double end = probe_now_s() + 2.0;
		for (unsigned i = 0; probe_now_s() < end; i++) {
			size_t n = (size_t)(1 + i % 8) * MiB;
			unsigned char *p = malloc(probe_opaque(n));
			if (!p)
				_exit(3);
			memset(p, 1, n);
			free(p);
		}
		_exit(0);
	}
	int status = 0;
	for (int i = 0; i < 3000 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		CHECK(false, "a signal handler's mmap hung (30 s)");
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ended with status %#x", status);
	return 0;
}

/* shed-file-map: a read-only file mapping adds no anonymous memory and
 * must not take the cache's pages: 100 rounds of a 16 MiB buffer
 * (malloc, write, free) and a 16 MiB file mapping (one byte read) faulted
 * 410,000 pages where the rounds without the file fault 4,100. */
static long shed_rounds(int fd)
{
	struct rusage before, after;
	getrusage(RUSAGE_SELF, &before);
	for (int i = 0; i < 100; i++) {
		unsigned char *p = malloc(probe_opaque(16 * MiB));
		CHECK(p != NULL, "malloc 16 MiB");
		memset(p, 1, 16 * MiB);
		free(p);
		if (fd >= 0) {
			volatile unsigned char *m = mmap(NULL, 16 * MiB, PROT_READ, MAP_PRIVATE, fd, 0);
			CHECK(m != MAP_FAILED, "mmap of the file: %s", strerror(errno));
			(void)m[4096];
			munmap((void *)m, 16 * MiB);
		}
	}
	getrusage(RUSAGE_SELF, &after);
	return after.ru_minflt - before.ru_minflt;
}

static int scale_shed_file_map(int argc, char **argv)
{
	(void)argc; (void)argv;
	char path[] = "/tmp/rzprobe-shed-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	unlink(path);
	CHECK(ftruncate(fd, (off_t)(16 * MiB)) == 0, "ftruncate: %s", strerror(errno));
	long plain = shed_rounds(-1), with_file = shed_rounds(fd);
	close(fd);
	printf("rzprobe: %ld minor faults without the file mapping, %ld with\n", plain, with_file);
	CHECK(with_file <= 2 * plain + 4096, "a read-only file mapping in each round: %ld page faults "
	      "against %ld without", with_file, plain);
	return 0;
}

static int scale_limit_own_mmap_child(int argc, char **argv);

/* limit-own-mmap as|data: under 200 MiB beyond use, a buffer grown by
 * doubling to 64 MiB (headroom behind it) and 4 x 24 MiB written and
 * freed (cached), then the program maps 120 MiB itself, in 1 MiB pieces
 * (RZ_PROBE_NEED=MiB to change it): rezone kept part of the limit that
 * the program's own mmap could not get back (ruby's heap pages); glibc
 * passes up to 130 MiB, rezone failed from 120 before. */
static int scale_limit_own_mmap(int argc, char **argv)
{
	return limit_later(scale_limit_own_mmap_child, argc > 0 ? argv[0] : "as", 200 * MiB);
}

static int scale_limit_own_mmap_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	unsigned char *v = NULL;
	for (size_t n = 4096; n <= 64 * MiB; n *= 2) {
		unsigned char *q = realloc(v, probe_opaque(n));
		CHECK(q != NULL, "realloc to %zu", n);
		v = q;
		memset(v + n / 2, 1, n / 2);
	}
	void *b[4];
	for (int i = 0; i < 4; i++) {
		b[i] = malloc(probe_opaque(24 * MiB));
		CHECK(b[i] != NULL, "malloc(24 MiB) %d", i);
		memset(b[i], 2, 24 * MiB);
	}
	for (int i = 0; i < 4; i++)
		free(b[i]);
	size_t got = 0;
	size_t need = getenv("RZ_PROBE_NEED") ? strtoull(getenv("RZ_PROBE_NEED"), NULL, 10) * MiB : 120 * MiB;
	while (got < need) {
		errno = 0;
		void *m = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(m != MAP_FAILED, "the program's own mmap after %zu MiB: %s (VmSize %zu MiB)",
		      got >> 20, strerror(errno), status_bytes("VmSize") >> 20);
		CHECK(errno == 0, "a successful mmap left errno %d", errno);
		memset(m, 3, 4096);
		got += MiB;
	}
	free(v);
	return 0;
}

static int scale_limit_errno_child(int argc, char **argv);

/* limit-errno as|data: blocks until NULL under a limit set while running
 * (64 MiB beyond use). A malloc that returns a block leaves errno alone
 * (errno is 0 before each); the NULL says ENOMEM. jemalloc's failed mmap,
 * then its failed sbrk, left ENOMEM after a malloc(5000) that succeeded
 * (1 of ~50,000 under ulimit -v 262144). */
static int scale_limit_errno(int argc, char **argv)
{
	return limit_later(scale_limit_errno_child, argc > 0 ? argv[0] : "as", 64 * MiB);
}

static int scale_limit_errno_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	static const size_t sizes[] = { 5000, 100, 20000 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = 0;
		for (;;) {
			errno = 0;
			void *p = k == 2 ? memalign(64, sizes[k]) : malloc(sizes[k]);
			if (!p) {
				CHECK(errno == ENOMEM, "NULL for %zu bytes after %zu blocks: errno %d",
				      sizes[k], n, errno);
				break;
			}
			CHECK(errno == 0, "block %zu of %zu bytes returned with errno %d (%s)",
			      n, sizes[k], errno, strerror(errno));
			n++;
		}
		/* The first size fills the limit; the others may find no room. */
		CHECK(n > 0 || k > 0, "no block of %zu bytes fitted", sizes[k]);
	}
	return 0; /* the blocks go with the process */
}

static int scale_limit_cache_mmap_child(int argc, char **argv);

/* limit-cache-mmap as|data: under a limit of 140 MiB beyond use, 4 blocks
 * of 32 MiB are written and freed, then the program maps 64 MiB itself.
 * glibc unmaps the chunks; rezone kept them in its cache, which the
 * program's mmap cannot reclaim: ENOMEM. */
static int scale_limit_cache_mmap(int argc, char **argv)
{
	return limit_later(scale_limit_cache_mmap_child, argc > 0 ? argv[0] : "as", 140 * MiB);
}

static int scale_limit_cache_mmap_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	void *b[4];
	for (int i = 0; i < 4; i++) {
		b[i] = malloc(32 * MiB);
		CHECK(b[i] != NULL, "malloc(32 MiB) %d under the limit", i);
		memset(b[i], i + 1, 32 * MiB);
	}
	for (int i = 0; i < 4; i++)
		free(b[i]);
	void *m = mmap(NULL, 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "the program's mmap(64 MiB) after freeing 4 x 32 MiB: %s (VmSize %zu MiB)",
	      strerror(errno), status_bytes("VmSize") >> 20);
	munmap(m, 64 * MiB);
	return 0;
}

static void *thread_stack_start(void *arg)
{
	return arg;
}

static int scale_limit_thread_stack_child(int argc, char **argv);

/* limit-thread-stack as|data: under a limit of 256 MiB beyond use, a
 * buffer grown by 1 MiB steps to 210 MiB, then a thread with a 16 MiB
 * stack. The buffer's headroom (within the budget) left too little for
 * the stack: EAGAIN, where glibc's pthread_create succeeds. */
static int scale_limit_thread_stack(int argc, char **argv)
{
	return limit_later(scale_limit_thread_stack_child, argc > 0 ? argv[0] : "as", 256 * MiB);
}

static int scale_limit_thread_stack_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	unsigned char *p = NULL;
	for (size_t n = MiB; n <= 210 * MiB; n += MiB) {
		unsigned char *q = realloc(p, n);
		CHECK(q != NULL, "realloc to %zu MiB under the limit", n >> 20);
		memset(q + n - MiB, 1, MiB);
		p = q;
	}
	pthread_attr_t attr;
	CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
	CHECK(pthread_attr_setstacksize(&attr, 16 * MiB) == 0, "stack size");
	pthread_t t;
	int err = pthread_create(&t, &attr, thread_stack_start, NULL);
	CHECK(err == 0, "pthread_create with a 16 MiB stack beside a 210 MiB buffer: %s (VmSize %zu MiB)",
	      strerror(err), status_bytes("VmSize") >> 20);
	CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	pthread_attr_destroy(&attr);
	for (size_t i = 0; i < 210 * MiB; i += 4096)
		CHECK(p[i] == 1, "byte %zu of the buffer lost", i);
	free(p);
	return 0;
}

static int scale_limit_small_freed_child(int argc, char **argv);

/* limit-small-freed as|data [later]: started under a limit of 1 GiB
 * beyond its use (with "later": the program sets that limit itself once
 * running), the program fills 640 MiB with 4000-byte blocks, frees them
 * all, then asks for one 640 MiB block. glibc gives its heap back; the
 * small delegate must too (it kept the address space mapped: NULL). */
static int scale_limit_small_freed(int argc, char **argv)
{
	const char *which = argc > 0 ? argv[0] : "as";
	if (argc > 1 && strcmp(argv[1], "later") == 0)
		return limit_later(scale_limit_small_freed_child, which, GiB);
	return limit_exec("limit-small-freed-child", which, GiB);
}

static int scale_limit_small_freed_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	enum { SIZE = 4000 };
	size_t n = 640 * MiB / SIZE;
	void **blocks = malloc(n * sizeof(*blocks));
	CHECK(blocks != NULL, "malloc of the pointer array");
	for (size_t i = 0; i < n; i++) {
		/* Left untouched: the limit counts address space, not pages
		 * (touched, the test held 680 MiB of memory). */
		blocks[i] = malloc(SIZE);
		CHECK(blocks[i] != NULL, "small block %zu of %zu failed", i, n);
	}
	for (size_t i = 0; i < n; i++)
		free(blocks[i]);
	errno = 0;
	unsigned char *big = malloc(640 * MiB);
	CHECK(big != NULL, "malloc(640 MiB) after freeing 640 MiB of small blocks: %s "
	      "(VmSize %zu MiB)", strerror(errno), status_bytes("VmSize") >> 20);
	big[0] = big[640 * MiB - 1] = 1;
	free(big);
	free(blocks);
	return 0;
}

/* limit-threads-fill [ROUNDS]: ROUNDS times, a child started under
 * RLIMIT_DATA of 50 MiB beyond its use runs 4 threads that each, 6
 * times over, fill the limit: a pointer array grown by realloc (it moves
 * as a large block) holding small calloc'd blocks, then 1 MiB and 80 KB
 * blocks, until a call fails (it must with ENOMEM), then free everything.
 * A moved block whose record the table could not store under the limit
 * was later freed into the small delegate: SIGSEGV in 2-5 runs of 10.
 * With REZONE_HEADROOM=0 (1 run in 800) or a 4 KiB threshold, a block
 * the page map could not record (no memory for its leaf) was hidden by a
 * leaf made later: the same SIGSEGV (tests/unit/test_table.c). */
static int scale_limit_threads_fill(int argc, char **argv)
{
	unsigned rounds = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 0) : 20;
	for (unsigned i = 0; i < rounds; i++) {
		int r = limit_exec("limit-threads-fill-child", "data", 50 * MiB);
		if (r != 0)
			return r;
	}
	return 0;
}

static atomic_int fill_bad_errno;

/* Grows *arr to hold n + 1 pointers (n + n/8 + 6 at a time). */
static bool fill_grow(void ***arr, size_t *cap, size_t n)
{
	if (n < *cap)
		return true;
	size_t want = n + (n >> 3) + 6;
	errno = 0;
	void **grown = realloc(*arr, want * sizeof(void *));
	if (!grown) {
		if (errno != ENOMEM)
			atomic_store(&fill_bad_errno, errno ? errno : -1);
		return false;
	}
	*arr = grown;
	*cap = want;
	return true;
}

static void fill_free(void **arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(arr[i]);
	free(arr);
}

static void *fill_thread(void *arg)
{
	for (int round = 0; round < 6; round++) {
		void **small = NULL, **big = NULL;
		size_t ns = 0, cs = 0, nb = 0, cb = 0;
		for (size_t j = 0; j < 150000 && fill_grow(&small, &cs, ns); j++) {
			void *p = calloc(1, 100 + j % 300);
			if (!p)
				break;
			small[ns++] = p;
		}
		for (size_t sz = MiB + 1;; sz = sz == MiB + 1 ? 80000 : MiB + 1) {
			if (!fill_grow(&big, &cb, nb))
				break;
			unsigned char *p = malloc(sz);
			if (!p)
				break;
			memset(p, 1, sz);
			big[nb++] = p;
		}
		fill_free(big, nb);
		fill_free(small, ns);
	}
	return arg;
}

static int scale_limit_threads_fill_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	pthread_t t[4];
	pthread_attr_t attr;
	/* Small stacks: RLIMIT_DATA counts thread stacks (8 MiB each). */
	CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
	CHECK(pthread_attr_setstacksize(&attr, 256 * 1024) == 0, "stack size");
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], &attr, fill_thread, NULL) == 0, "pthread_create");
	pthread_attr_destroy(&attr);
	for (int i = 0; i < 4; i++)
		CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
	CHECK(atomic_load(&fill_bad_errno) == 0, "a failed realloc set errno %d, not ENOMEM",
	      atomic_load(&fill_bad_errno));
	return 0;
}

/* limit-realloc-doubling as|data: under a limit of 1280 MiB beyond its
 * use, with an 80 MiB block live, a block doubled from 1 byte reaches
 * 1 GiB, as under glibc (whose mremap is charged only the growth; a
 * destination mapped beside the source needs 1.5 GiB at 512 MiB). */
static int scale_limit_realloc_doubling(int argc, char **argv)
{
	return limit_exec("limit-realloc-doubling-child", argc > 0 ? argv[0] : "as", 1280 * MiB);
}

static int scale_limit_realloc_doubling_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	unsigned char *keep = malloc(80 * MiB);
	CHECK(keep != NULL, "malloc(80 MiB)");
	keep[0] = 1;
	unsigned char *q = malloc(1);
	CHECK(q != NULL, "malloc(1)");
	for (size_t s = 2; s <= GiB; s *= 2) {
		errno = 0;
		unsigned char *r = realloc(q, s);
		CHECK(r != NULL, "realloc to %zu MiB failed: %s (VmSize %zu MiB)", s >> 20,
		      strerror(errno), status_bytes("VmSize") >> 20);
		q = r;
		q[s - 1] = 1;
	}
	free(q);
	free(keep);
	return 0;
}

static int scale_limit_strict_grow_child(int argc, char **argv);

/* Grows one block through sizes[0..n) from NULL with realloc, writing one
 * byte a page after each growth (the limits count address space, not
 * pages) with a value that changes per growth, and checking the bytes
 * kept across each growth. */
static int grow_through(const size_t *sizes, size_t n)
{
	unsigned char *p = NULL;
	size_t had = 0;
	for (size_t k = 0; k < n; k++) {
		errno = 0;
		unsigned char *q = realloc(p, sizes[k]);
		CHECK(q != NULL, "realloc(%zu MiB -> %zu MiB): %s (VmSize %zu MiB)", had >> 20,
		      sizes[k] >> 20, strerror(errno), status_bytes("VmSize") >> 20);
		for (size_t i = 0; i < had; i += 4096)
			CHECK(q[i] == (unsigned char)(i / 4096 + k), "byte %zu lost in growth %zu", i, k);
		for (size_t i = 0; i < sizes[k]; i += 4096)
			q[i] = (unsigned char)(i / 4096 + k + 1);
		p = q;
		had = sizes[k];
	}
	free(p);
	return 0;
}

/* limit-strict-grow: under an address-space limit of 1100 MiB beyond its
 * use, a 600 MiB block grows to 900 MiB. glibc's realloc is one mremap,
 * charged the growth only; run with REZONE_STRICT_COMMIT=1, rezone
 * reserved its destination (900 MiB) while the 600 MiB were still mapped,
 * then tried a copy: NULL. */
static int scale_limit_strict_grow(int argc, char **argv)
{
	(void)argc; (void)argv;
	return limit_exec("limit-strict-grow-child", "as", 1100 * MiB);
}

static int scale_limit_strict_grow_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	static const size_t sizes[] = { 600 * MiB, 900 * MiB };
	return grow_through(sizes, sizeof(sizes) / sizeof(sizes[0]));
}

static int scale_limit_moved_grow_child(int argc, char **argv);

/* limit-moved-grow: under an address-space limit of 560 MiB beyond its
 * use, a 10 MiB block grows to 100 MiB (a move: it outgrows its
 * reservation), then to 120 MiB (inside the new reservation), each time
 * written, then to 500 MiB, which fits once only: glibc's realloc is one
 * mremap, charged the growth. With strict commit the growth in the move
 * and the one after were opened with mprotect, mappings beside the moved
 * one that one mremap cannot move and resize: copied, NULL. */
static int scale_limit_moved_grow(int argc, char **argv)
{
	(void)argc; (void)argv;
	return limit_exec("limit-moved-grow-child", "as", 560 * MiB);
}

static int scale_limit_moved_grow_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	static const size_t sizes[] = { 10 * MiB, 100 * MiB, 120 * MiB, 500 * MiB };
	return grow_through(sizes, sizeof(sizes) / sizeof(sizes[0]));
}

static int scale_limit_aligned_grow_child(int argc, char **argv);

/* limit-aligned-grow as|data: under a limit of 23 MiB beyond its use, a
 * block of 10 MiB aligned to 64 KiB grows to 20 MiB. glibc's realloc is
 * one mremap, charged the growth only; rezone never moved an over-aligned
 * block, so it copied, which needs old + new: NULL. */
static int scale_limit_aligned_grow(int argc, char **argv)
{
	return limit_exec("limit-aligned-grow-child", argc > 0 ? argv[0] : "as",
	    (argc > 1 ? strtoul(argv[1], NULL, 0) : 23) * MiB);
}

static int scale_limit_aligned_grow_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	size_t from = 10 * MiB, to = 20 * MiB, align = 64 * 1024;
	unsigned char *p = aligned_alloc(align, from);
	CHECK(p != NULL && (uintptr_t)p % align == 0, "aligned_alloc(64 KiB, 10 MiB) = %p: %s",
	      (void *)p, strerror(errno));
	for (size_t i = 0; i < from; i += 4096)
		p[i] = (unsigned char)(i / 4096);
	errno = 0;
	unsigned char *q = realloc(p, to);
	CHECK(q != NULL, "realloc(10 MiB -> 20 MiB): %s (VmSize %zu MiB, VmData %zu MiB)",
	      strerror(errno), status_bytes("VmSize") >> 20, status_bytes("VmData") >> 20);
	for (size_t i = 0; i < from; i += 4096)
		CHECK(q[i] == (unsigned char)(i / 4096), "byte %zu lost in the move", i);
	memset(q + from, 2, to - from);
	free(q);
	return 0;
}

enum { SMALL_KEPT = 2000 };
static void *small_kept[SMALL_KEPT];

/* Seconds per free+malloc pair of jemalloc's page-aligned 4 KiB class:
 * the best of 7 rounds, so that a preemption on a loaded machine does not
 * count (one round of 20,000 pairs once took 57 times as long under a
 * parallel CI run; the scan this guards against costs 500-900 times). */
static double aligned_small_pair(void)
{
	double best = 1e9;
	for (int round = 0; round < 7; round++) {
		double t0 = probe_now_s();
		for (int r = 0; r < 10; r++)
			for (int i = 0; i < SMALL_KEPT; i++) {
				free(small_kept[i]);
				small_kept[i] = malloc(4096);
			}
		double t = (probe_now_s() - t0) / (10.0 * SMALL_KEPT);
		if (t < best)
			best = t;
	}
	return best;
}

/* aligned-free-scale: freeing page-aligned small blocks costs the same
 * with 60,000 live large blocks as with none (a lookup, not a scan). The
 * small blocks are made between the large ones, so that their pages lie
 * among rezone's mappings. */
static int scale_aligned_free(int argc, char **argv)
{
	(void)argc; (void)argv;
	enum { LIVE = 60000 };
	for (int i = 0; i < SMALL_KEPT; i++)
		CHECK((small_kept[i] = malloc(4096)) != NULL, "malloc 4096");
	double none = aligned_small_pair();
	static void *live[LIVE];
	for (int i = 0; i < LIVE; i++) {
		live[i] = malloc(256 * KiB);
		CHECK(live[i] != NULL, "large block %d", i);
		if (i % 30 == 0) {
			free(small_kept[i / 30]);
			small_kept[i / 30] = malloc(4096);
		}
	}
	double many = aligned_small_pair();
	/* A scan of 60,000 blocks made each pair 18-37 us, 500-900x more. */
	double ratio = many / (none > 1e-9 ? none : 1e-9);
	for (int i = 0; i < LIVE; i++)
		free(live[i]);
	for (int i = 0; i < SMALL_KEPT; i++)
		free(small_kept[i]);
	CHECK(ratio < 10, "page-aligned small free+malloc %.0fx slower with %d live "
	      "large blocks (%.1f ns vs %.1f ns)", ratio, LIVE, many * 1e9, none * 1e9);
	return 0;
}

/* mlock future|onfault|current: headroom is neither populated nor locked. */
static int scale_mlock(int argc, char **argv)
{
	int flags = MCL_FUTURE;
	if (argc > 0 && strcmp(argv[0], "onfault") == 0)
		flags |= MCL_ONFAULT;
	if (argc > 0 && strcmp(argv[0], "current") == 0)
		flags |= MCL_CURRENT;
	/* A block from before the call too (MCL_CURRENT locks what exists). */
	unsigned char *old = malloc(300 * KiB);
	CHECK(old != NULL, "malloc 300 KiB");
	memset(old, 1, 300 * KiB);
	if (mlockall(flags) != 0) {
		printf("mlockall: %s\n", strerror(errno));
		return PROBE_SKIP;
	}
	size_t before = status_bytes("VmLck");
	unsigned char *p = malloc(300 * KiB);
	CHECK(p != NULL, "malloc 300 KiB");
	memset(p, 1, 300 * KiB);
	p = realloc(p, 2400 * KiB);
	CHECK(p != NULL, "realloc to 2.4 MiB");
	memset(p, 2, 2400 * KiB);
	size_t grew = status_bytes("VmLck") - before;
	munlockall();
	CHECK(grew <= 2400 * KiB * 11 / 10 + 256 * KiB, "%zu KiB more locked for a "
	      "block grown to 2400 KiB", grew >> 10);
	free(p);
	free(old);
	return 0;
}

static int scale_mlock_limit_grow_child(int argc, char **argv);

/* mlock-limit-grow: under mlockall(MCL_FUTURE) and an RLIMIT_MEMLOCK of
 * 6 MiB, a 2 MiB block whose next page is taken grows to 3 MiB. glibc's
 * realloc is one mremap, which counts only the growth against the limit;
 * rezone reserved a PROT_NONE destination, which the kernel locks and
 * counts whole: NULL with errno EAGAIN. Run in an exec'd child without
 * CAP_IPC_LOCK (root ignores the limit). */
static int scale_mlock_limit_grow(int argc, char **argv)
{
	(void)argc; (void)argv;
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		if (geteuid() == 0 && prctl(PR_CAPBSET_DROP, 14 /* CAP_IPC_LOCK */, 0, 0, 0) != 0)
			_exit(PROBE_SKIP);
		char *args[] = { (char *)"rzprobe", (char *)"mlock-limit-grow-child", NULL };
		execv("/proc/self/exe", args);
		_exit(PROBE_SKIP);
	}
	return probe_child_result(pid, "mlock-limit-grow");
}

static int scale_mlock_limit_grow_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	size_t from = 2 * MiB, to = 3 * MiB;
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_MEMLOCK, &rl) == 0, "getrlimit");
	rl.rlim_cur = 6 * MiB;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
		return PROBE_SKIP;
	CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "setrlimit: %s", strerror(errno));
	if (mlockall(MCL_FUTURE) != 0) {
		printf("mlockall: %s\n", strerror(errno));
		return PROBE_SKIP;
	}
	unsigned char *p = malloc(from);
	CHECK(p != NULL, "malloc(2 MiB): %s", strerror(errno));
	memset(p, 0xab, from);
	/* Take the page after the block, so that it cannot grow in place. */
	uintptr_t end = ((uintptr_t)p + malloc_usable_size(p) + 4095) & ~(uintptr_t)4095;
	void *next = mmap((void *)end, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
	    -1, 0);
	errno = 0;
	unsigned char *q = realloc(p, to);
	CHECK(q != NULL, "realloc(2 MiB -> 3 MiB) under RLIMIT_MEMLOCK 6 MiB: %s (VmLck %zu KiB)",
	      strerror(errno), status_bytes("VmLck") >> 10);
	for (size_t i = 0; i < from; i += 4096)
		CHECK(q[i] == 0xab, "byte %zu lost", i);
	memset(q + from, 1, to - from);
	/* Past the limit: NULL with ENOMEM (the malloc family's only errno;
	 * rezone passed the kernel's EAGAIN on), and the block intact. */
	errno = 0;
	CHECK(realloc(q, probe_opaque(64 * MiB)) == NULL, "realloc to 64 MiB under 6 MiB locked");
	CHECK(errno == ENOMEM, "realloc past RLIMIT_MEMLOCK: errno %d (%s)", errno, strerror(errno));
	errno = 0;
	CHECK(malloc(probe_opaque(64 * MiB)) == NULL, "malloc(64 MiB) under 6 MiB locked");
	CHECK(errno == ENOMEM, "malloc past RLIMIT_MEMLOCK: errno %d (%s)", errno, strerror(errno));
	for (size_t i = 0; i < from; i += 4096)
		CHECK(q[i] == 0xab, "byte %zu lost in the failed realloc", i);
	free(q);
	if (next != MAP_FAILED)
		munmap(next, 4096);
	return 0;
}

/* Whether rezone's small delegate is glibc's own (--with-small=system),
 * as its malloc_info says. */
static bool delegate_is_system(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	CHECK(m != NULL, "open_memstream");
	malloc_info(0, m);
	fclose(m);
	bool sys = buf && strstr(buf, "delegate=\"system\"") != NULL;
	free(buf);
	return sys;
}

/* decay: 3 s after freeing 8 x 30 MiB, with only small allocations
 * meanwhile, the cached mappings are gone. */
static int scale_decay(int argc, char **argv)
{
	(void)argc; (void)argv;
	if (delegate_is_system()) {
		/* No helper thread beside glibc's malloc (README, "Fork"). */
		printf("the system delegate decays at large calls only\n");
		return PROBE_SKIP;
	}
	size_t base = status_bytes("VmRSS");
	/* A shrunk block may keep its tail's pages for a while; not longer. */
	unsigned char *shrunk = malloc(4 * MiB);
	CHECK(shrunk != NULL, "malloc 4 MiB");
	memset(shrunk, 1, 4 * MiB);
	shrunk = realloc(shrunk, MiB);
	CHECK(shrunk != NULL, "realloc to 1 MiB");
	void *b[8];
	for (int i = 0; i < 8; i++) {
		b[i] = malloc(30 * MiB);
		CHECK(b[i] != NULL, "malloc 30 MiB");
		memset(b[i], 1, 30 * MiB);
	}
	for (int i = 0; i < 8; i++)
		free(b[i]);
	double end = probe_now_s() + 3.0;
	while (probe_now_s() < end) {
		void *s = malloc(100);
		free(s);
		usleep(1000);
	}
	size_t rss = status_bytes("VmRSS");
	CHECK(rss <= base + 16 * MiB, "RSS %zu MiB, %zu MiB before the blocks",
	      rss >> 20, base >> 20);
	unsigned char vec[768];
	CHECK(mincore(shrunk + MiB, 3 * MiB, vec) == 0, "mincore");
	size_t kept = 0;
	for (size_t i = 0; i < sizeof(vec); i++)
		kept += vec[i] & 1;
	CHECK(kept == 0, "%zu KiB past a shrunk block's end still resident", kept * 4);
	CHECK(shrunk[0] == 1 && shrunk[MiB - 1] == 1, "the shrunk block kept its bytes");
	free(shrunk);
	return 0;
}

/* address-space: headroom stays proportionate to what is allocated. */
static int scale_address_space(int argc, char **argv)
{
	(void)argc; (void)argv;
	size_t base = status_bytes("VmSize");
	static void *v[100];
	for (int i = 0; i < 100; i++)
		v[i] = vector_grow(8 * MiB);
	size_t held = status_bytes("VmSize") - base;
	CHECK(held <= 8 * GiB, "100 buffers of 8 MiB hold %zu MiB of address space",
	      held >> 20);
	for (int i = 0; i < 100; i++)
		free(v[i]);
	/* 2,100 untouched blocks of 2.5 GiB (5.1 TiB): glibc maps them all. */
	enum { N = 2100 };
	static void *big[N];
	int got = 0;
	for (; got < N; got++)
		if (!(big[got] = malloc(probe_opaque(5 * GiB / 2))))
			break;
	for (int i = 0; i < got; i++)
		free(big[i]);
	CHECK(got == N, "only %d of %d blocks of 2.5 GiB (errno %d)", got, N, errno);
	return 0;
}

/* From /proc/self/smaps: the AnonHugePages (bytes) of every mapping that
 * overlaps [p, p+len) (a block under strict commit is several), and
 * whether the mapping holding p carries VmFlags flag ("hg": asked for huge
 * pages, "nh": refused them). */
static size_t smaps_huge_range(const void *p, size_t len, const char *flag, bool *has_flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, holds = false;
	size_t huge = 0;

	CHECK(f != NULL, "fopen /proc/self/smaps");
	*has_flag = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = (uintptr_t)p < hi && (uintptr_t)p + len > lo;
			holds = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (!in)
			continue;
		if (strncmp(line, "AnonHugePages:", 14) == 0)
			huge += strtoull(line + 14, NULL, 10) * KiB;
		if (holds && strncmp(line, "VmFlags:", 8) == 0) {
			char pat[8];
			snprintf(pat, sizeof(pat), " %s", flag);
			*has_flag = strstr(line + 8, pat) != NULL;
		}
	}
	fclose(f);
	return huge;
}

static size_t smaps_huge(const void *p, const char *flag, bool *has_flag)
{
	return smaps_huge_range(p, 1, flag, has_flag);
}

static int thp_kernel_mode(void)
{
	const char *force = getenv("REZONE_THP_KERNEL");
	char buf[128] = "";
	FILE *f;
	if (force)
		snprintf(buf, sizeof(buf), "[%s]", force);
	else if ((f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r"))) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	return strstr(buf, "[always]") ? 2 : strstr(buf, "[madvise]") ? 1 : 0;
}

/* A counter of /proc/vmstat (0 if absent). */
static unsigned long long vmstat(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	unsigned long long v, found = 0;
	if (!f)
		return 0;
	while (fscanf(f, "%63s %llu", key, &v) == 2)
		if (strcmp(key, name) == 0)
			found = v;
	fclose(f);
	return found;
}

/* thp-big: a block grown to 64 MiB asks for huge pages and gets them. */
static int scale_thp_big(int argc, char **argv)
{
	(void)argc; (void)argv;
	if (thp_kernel_mode() == 0) {
		printf("transparent huge pages unavailable\n");
		return PROBE_SKIP;
	}
	unsigned long long fallback = vmstat("thp_fault_fallback");
	unsigned char *p = vector_grow(64 * MiB);
	bool asked;
	size_t huge = smaps_huge_range(p, 64 * MiB, "hg", &asked);
	CHECK(asked, "a 64 MiB block's mapping does not ask for huge pages");
	if (huge < 16 * MiB && vmstat("thp_fault_fallback") > fallback) {
		/* Asked and refused: the machine's memory is too fragmented
		 * right now (other tests run beside this one). */
		printf("the kernel fell back to small pages (%zu MiB huge)\n", huge >> 20);
		free(p);
		return PROBE_SKIP;
	}
	CHECK(huge >= 16 * MiB, "only %zu MiB of huge pages in a 64 MiB block", huge >> 20);
	free(p);
	return 0;
}

/* thp-asks yes|no: whether a block grown to 64 MiB asks for huge pages
 * (VmFlags "hg"), as REZONE_THP and the machine say; untouched, since only
 * the asking is checked. */
static int scale_thp_asks(int argc, char **argv)
{
	CHECK(argc > 0 && (strcmp(argv[0], "yes") == 0 || strcmp(argv[0], "no") == 0),
	      "usage: thp-asks yes|no");
	bool want = strcmp(argv[0], "yes") == 0;
	if (thp_kernel_mode() != 1) {
		printf("transparent huge pages not in madvise mode\n");
		return PROBE_SKIP;
	}
	void *p = malloc(MiB);
	CHECK(p != NULL, "malloc(1 MiB)");
	void *q = realloc(p, 64 * MiB);
	CHECK(q != NULL, "realloc to 64 MiB");
	bool asked;
	smaps_huge(q, "hg", &asked);
	CHECK(asked == want, "a 64 MiB block's mapping %s for huge pages (REZONE_THP=%s, "
	      "REZONE_PAGE_REPORTING=%s)", asked ? "asks" : "does not ask",
	      getenv("REZONE_THP") ? getenv("REZONE_THP") : "(unset)",
	      getenv("REZONE_PAGE_REPORTING") ? getenv("REZONE_PAGE_REPORTING") : "(unset)");
	free(q);
	return 0;
}

/* thp-small: a 1-4 MiB block refuses huge pages where the kernel would
 * otherwise use them everywhere ("always"), and does not ask for them in
 * "madvise" mode: its headroom and the rest of its last 2 MiB are never
 * faulted in as one huge page. */
static int scale_thp_small(int argc, char **argv)
{
	(void)argc; (void)argv;
	int mode = thp_kernel_mode();
	if (mode == 0) {
		printf("transparent huge pages unavailable\n");
		return PROBE_SKIP;
	}
	for (size_t size = MiB; size <= 4 * MiB; size += MiB / 2) {
		unsigned char *p = malloc(size);
		CHECK(p != NULL, "malloc %zu", size);
		memset(p, 1, size);
		bool refused, asked;
		smaps_huge(p, "nh", &refused);
		smaps_huge(p, "hg", &asked);
		CHECK(!asked, "a %zu KiB block asks for huge pages", size >> 10);
		if (mode == 2)
			CHECK(refused, "a %zu KiB block does not refuse huge pages under "
			      "THP \"always\"", size >> 10);
		free(p);
	}
	return 0;
}

/* limit-big-fits: with room for a 4 MiB block and 64 KiB more (a limit set
 * while running), malloc(4 MiB) is a large block, not the delegate's: the
 * engine maps blocks of 2 MiB and more 2 MiB-aligned (size + 2 MiB, then
 * trimmed) and that over-map was refused where the block itself fits. */
static int scale_limit_big_fits_child(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct rezone_stats s0 = probe_stats(), s1;
	unsigned char *p = malloc(4 * PROBE_MIB);
	s1 = probe_stats();
	CHECK(p != NULL, "malloc(4 MiB) with 4 MiB + 64 KiB free");
	memset(p, 1, 4 * PROBE_MIB);
	CHECK(s1.large_allocs == s0.large_allocs + 1 &&
	      s1.fallbacks_small == s0.fallbacks_small,
	      "malloc(4 MiB) went to the delegate (large blocks %llu -> %llu, "
	      "fallbacks %llu -> %llu)", (unsigned long long)s0.large_allocs,
	      (unsigned long long)s1.large_allocs, (unsigned long long)s0.fallbacks_small,
	      (unsigned long long)s1.fallbacks_small);
	free(p);
	return 0;
}

static int scale_limit_big_fits(int argc, char **argv)
{
	CHECK(argc >= 1, "usage: limit-big-fits as|data");
	if (!getenv("LD_PRELOAD"))
		return PROBE_SKIP;
	return limit_later(scale_limit_big_fits_child, argv[0], 4 * PROBE_MIB + 64 * 1024);
}

/* limit-lost-leaf-child: a large block mapped when the data limit left no
 * room for its page-map leaf (the range is kept aside), neighbours mapped
 * once the limit is lifted (the leaf is made), then the first block freed:
 * the neighbours must still be large blocks to malloc_usable_size and
 * free. The free took the lost range's pages off the 2 MiB grain it shares
 * with a neighbour (below it, where the kernel maps next); the count fell
 * to 0 when the block had as many pages there as the neighbour, the
 * neighbour vanished from the map and went to jemalloc (SIGSEGV). */
#define LOST_A ((size_t)1 << 20)
#define LOST_B ((size_t)256 << 10)
#define LOST_N 8
static int scale_limit_lost_leaf_child(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	free(malloc(100)); /* the small delegate is set up before */
	struct rlimit old, rl;
	CHECK(getrlimit(RLIMIT_DATA, &old) == 0, "getrlimit");
	/* Room for the block's pages, the page map's 4 KiB middle node and
	 * the table's first 16 KiB, not for a 36 KiB leaf. */
	size_t used = status_bytes("VmData");
	rl.rlim_cur = used + LOST_A + 24576;
	rl.rlim_max = old.rlim_max;
	if (setrlimit(RLIMIT_DATA, &rl) != 0)
		return PROBE_SKIP;
	unsigned char *a = malloc(LOST_A);
	CHECK(setrlimit(RLIMIT_DATA, &old) == 0, "setrlimit back");
	if (!a) {
		printf("rzprobe: no room for the first block under the limit\n");
		return PROBE_SKIP;
	}
	memset(a, 1, LOST_A);
	unsigned char *b[LOST_N];
	for (size_t i = 0; i < LOST_N; i++) {
		b[i] = malloc(LOST_B);
		CHECK(b[i] != NULL, "malloc(%zu) without a limit", LOST_B);
		memset(b[i], 2, LOST_B);
	}
	free(a);
	malloc_trim(0); /* its mapping leaves the cache: the map forgets it */
	for (size_t i = 0; i < LOST_N; i++) {
		size_t got = malloc_usable_size(b[i]);
		CHECK(got >= LOST_B, "block %zu at %p: usable size %zu after its "
		      "neighbour's free", i, (void *)b[i], got);
		CHECK(b[i][0] == 2 && b[i][LOST_B - 1] == 2, "block %zu changed", i);
	}
	for (size_t i = 0; i < LOST_N; i++)
		free(b[i]);
	return 0;
}

/* limit-lost-leaf: the child above in fresh processes (the leaf must not
 * exist yet), at addresses the kernel randomises: the grain shared is the
 * bug's in about half the runs, so 12 runs all pass by chance with the bug
 * 1 time in 4,000. */
static int scale_limit_lost_leaf(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int skipped = 0;
	for (int run = 0; run < 12; run++) {
		pid_t pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0) {
			char *args[] = { (char *)"rzprobe", (char *)"limit-lost-leaf-child", NULL };
			execv("/proc/self/exe", args);
			_exit(PROBE_SKIP);
		}
		int status;
		CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
		if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_SKIP) {
			skipped++;
			continue;
		}
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "run %d: %s %d", run,
		      WIFEXITED(status) ? "exit status" : "signal",
		      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	return skipped == 12 ? PROBE_SKIP : 0;
}

const struct probe_cmd probe_scale_cmds[] = {
	{ "thp-big", scale_thp_big },
	{ "thp-small", scale_thp_small },
	{ "thp-asks", scale_thp_asks },
	{ "vector-reuse", scale_vector_reuse },
	{ "tail-rss", scale_tail_rss },
	{ "give-way-small", scale_give_way_small },
	{ "guard-map-count", scale_guard_map_count },
	{ "guard-moved-maps", scale_guard_moved_maps },
	{ "shed-signal", scale_shed_signal },
	{ "shed-file-map", scale_shed_file_map },
	{ "give-way-mmap", scale_give_way_mmap },
	{ "give-way-part", scale_give_way_part },
	{ "copy-grow-rss", scale_copy_grow_rss },
	{ "impossible", scale_impossible },
	{ "limit", scale_limit },
	{ "limit-small-freed", scale_limit_small_freed },
	{ "limit-threads-fill", scale_limit_threads_fill },
	{ "limit-lost-leaf", scale_limit_lost_leaf },
	{ "limit-big-fits", scale_limit_big_fits },
	{ "limit-lost-leaf-child", scale_limit_lost_leaf_child },
	{ "limit-threads-fill-child", scale_limit_threads_fill_child },
	{ "limit-small-freed-child", scale_limit_small_freed_child },
	{ "limit-realloc-doubling", scale_limit_realloc_doubling },
	{ "limit-realloc-doubling-child", scale_limit_realloc_doubling_child },
	{ "limit-strict-grow", scale_limit_strict_grow },
	{ "limit-strict-grow-child", scale_limit_strict_grow_child },
	{ "limit-aligned-grow", scale_limit_aligned_grow },
	{ "limit-moved-grow", scale_limit_moved_grow },
	{ "limit-moved-grow-child", scale_limit_moved_grow_child },
	{ "limit-aligned-grow-child", scale_limit_aligned_grow_child },
	{ "aligned-free-scale", scale_aligned_free },
	{ "mlock", scale_mlock },
	{ "limit-spent-shrink", scale_limit_spent_shrink },
	{ "limit-cache-mmap", scale_limit_cache_mmap },
	{ "limit-errno", scale_limit_errno },
	{ "limit-threshold", scale_limit_threshold },
	{ "map-count-free", scale_map_count_free },
	{ "limit-own-mmap", scale_limit_own_mmap },
	{ "limit-shrink-delegate", scale_limit_shrink_delegate },
	{ "limit-thread-stack", scale_limit_thread_stack },
	{ "mlock-limit-grow", scale_mlock_limit_grow },
	{ "mlock-limit-grow-child", scale_mlock_limit_grow_child },
	{ "decay", scale_decay },
	{ "address-space", scale_address_space },
	{ NULL, NULL },
};
