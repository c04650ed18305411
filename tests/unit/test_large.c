/*
 * test_large.c - the large engine through the engine's entry points, on
 * the real Linux backend: placement, growth order, shrink, cache, strict
 * commit, misuse.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rezone.h"
#include "engine/engine.h"
#include "engine/large.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

static struct rezone_stats stats(void)
{
	struct rezone_stats s;
	cr_assert_eq(rezone_stats(&s, sizeof(s)), 0);
	return s;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 512)
		p[i] = (unsigned char)(seed + i / 512);
}

static void check(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 512)
		cr_assert_eq(p[i], (unsigned char)(seed + i / 512), "byte %zu", i);
}

/* Bytes of [p, p+n) resident in RAM, by mincore. */
static size_t resident(void *p, size_t n)
{
	size_t pages = n / 4096, count = 0;
	unsigned char *vec = malloc(pages);
	cr_assert_eq(mincore(p, n, vec), 0);
	for (size_t i = 0; i < pages; i++)
		count += vec[i] & 1;
	free(vec);
	return count * 4096;
}

Test(large, blocks_at_the_threshold_are_page_aligned_mappings)
{
	_rz_init();
	void *small = _rz_malloc(256 * KiB - 1);
	void *big = _rz_malloc(256 * KiB);
	cr_assert_eq((uintptr_t)big % 4096, 0);
	cr_assert_eq(_rz_large_size(big), 256 * KiB);
	cr_assert_eq(_rz_large_size(small), 0);
	cr_assert_eq(stats().large_allocs, 1);
	_rz_free(big);
	_rz_free(small);
	cr_assert_eq(stats().large_live, 0);
}

Test(large, growth_inside_the_reservation_keeps_the_pointer)
{
	_rz_init();
	unsigned char *p = _rz_malloc(1 * MiB);
	fill(p, 1 * MiB, 1);
	unsigned char *q = _rz_realloc(p, 1 * MiB + 512 * KiB);
	cr_assert_eq(q, p);
	check(q, 1 * MiB, 1);
	cr_assert_eq(stats().grow_reserved, 1);
	cr_assert_eq(stats().grow_copied, 0);
	_rz_free(q);
}

/*
 * The fast lane (src/README.md): a growth inside the reservation makes no
 * system call and so does not wait at the fork gate, which fork's prepare
 * closes (before, every resize entered it first: a vector's growth paid a
 * compare-and-swap on a gate slot). A growth that needs a system call
 * still waits until the fork is over.
 */
struct grower {
	unsigned char *p;
	size_t to;
	unsigned char *q;
	int done;
};

static void *grow_it(void *arg)
{
	struct grower *g = arg;
	g->q = _rz_realloc(g->p, g->to);
	__atomic_store_n(&g->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Whether g finished within ms milliseconds. */
static bool done_within(struct grower *g, int ms)
{
	for (int i = 0; i < ms && !__atomic_load_n(&g->done, __ATOMIC_SEQ_CST); i++) {
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return __atomic_load_n(&g->done, __ATOMIC_SEQ_CST);
}

/* Runs g in another thread while fork's prepare handler holds the engine
 * (the gate closed); whether it finished within ms milliseconds. */
static bool grown_during_prepare(struct grower *g, int ms)
{
	_rz_prefork_engine();
	pthread_t t;
	pthread_create(&t, NULL, grow_it, g);
	bool done = done_within(g, ms);
	_rz_postfork_parent_engine();
	pthread_join(t, NULL);
	return done;
}

Test(large, growth_inside_the_reservation_does_not_wait_for_a_fork)
{
	_rz_init();
	unsigned char *p = _rz_malloc(1 * MiB);
	fill(p, 1 * MiB, 7);
	uint64_t before = stats().grow_reserved;
	struct grower g = { .p = p, .to = 1 * MiB + 256 * KiB };
	bool quick = grown_during_prepare(&g, 3000);
	cr_assert(quick, "a growth inside the reservation waited for fork's prepare");
	cr_assert_eq(g.q, p);
	cr_assert_eq(stats().grow_reserved, before + 1);
	check(g.q, 1 * MiB, 7);
	_rz_free(g.q);
}

Test(large, growth_that_needs_a_system_call_waits_for_a_fork)
{
	_rz_init();
	unsigned char *p = _rz_malloc(1 * MiB);
	fill(p, 1 * MiB, 9);
	struct _rz_block b;
	cr_assert(_rz_table_find((uintptr_t)p, &b));
	struct grower g = { .p = p, .to = b.reserved + 1 * MiB };
	bool early = grown_during_prepare(&g, 200);
	cr_assert_not(early, "a growth past the reservation ran while fork's prepare held the gate");
	cr_assert(g.q != NULL);
	check(g.q, 1 * MiB, 9);
	_rz_free(g.q);
}

Test(large, growth_past_the_reservation_moves_without_copying)
{
	_rz_init();
	unsigned char *p = _rz_malloc(1 * MiB);
	fill(p, 1 * MiB, 2);
	/* Occupy the neighbour so that extending in place is impossible. */
	void *wall = mmap(p + 2 * MiB, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	unsigned char *q = _rz_realloc(p, 64 * MiB);
	cr_assert_not_null(q);
	check(q, 1 * MiB, 2);
	struct rezone_stats s = stats();
	if (wall != MAP_FAILED)
		cr_assert_eq(s.grow_moved, 1);
	cr_assert_eq(s.grow_copied, 0);
	cr_assert_geq(s.bytes_not_copied, 1 * MiB);
	memset(q, 7, 64 * MiB); /* all of it is usable */
	_rz_free(q);
}

Test(large, growth_extends_in_place_when_the_neighbour_is_free)
{
	setenv("REZONE_HEADROOM", "0", 1);
	_rz_init();
	/* Make a hole: map 64 MiB, keep the first 4 MiB as the block's place. */
	unsigned char *p = _rz_malloc(4 * MiB);
	unsigned char *hole = mmap(p + 4 * MiB, 32 * MiB, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (hole == MAP_FAILED)
		cr_skip_test("the range after the block is taken");
	munmap(hole, 32 * MiB);
	fill(p, 4 * MiB, 3);
	unsigned char *q = _rz_realloc(p, 8 * MiB);
	cr_assert_eq(q, p);
	check(q, 4 * MiB, 3);
	cr_assert_eq(stats().grow_in_place, 1);
	_rz_free(q);
}

Test(large, a_growing_buffer_moves_rarely)
{
	_rz_init();
	size_t size = 64 * KiB;
	unsigned char *p = _rz_malloc(size);
	while (size < 256 * MiB) {
		p = _rz_realloc(p, size + 1 * MiB);
		cr_assert_not_null(p);
		p[size] = 1;
		size += 1 * MiB;
	}
	struct rezone_stats s = stats();
	cr_assert_leq(s.grow_moved + s.grow_in_place + s.grow_copied, 3,
	    "moves: %llu", (unsigned long long)s.grow_moved);
	cr_assert_geq(s.grow_reserved, 250);
	_rz_free(p);
}

Test(large, shrink_returns_whole_pages_and_keeps_the_pointer)
{
	_rz_init();
	unsigned char *p = _rz_malloc(8 * MiB);
	memset(p, 1, 8 * MiB);
	cr_assert_eq(resident(p, 8 * MiB), 8 * MiB);
	unsigned char *q = _rz_realloc(p, 2 * MiB);
	cr_assert_eq(q, p);
	cr_assert_eq(resident(p + 2 * MiB, 6 * MiB), 0);
	cr_assert_eq(p[2 * MiB - 1], 1);
	cr_assert_eq(stats().shrinks, 1);
	_rz_free(q);
}

Test(large, a_shrink_keeps_a_few_touched_pages_until_they_decay)
{
	_rz_init();
	unsigned char *p = _rz_malloc(4 * MiB);
	memset(p, 1, 4 * MiB);
	unsigned char *q = _rz_realloc(p, 2 * MiB);
	cr_assert_eq(q, p);
	cr_assert_eq(resident(p + 2 * MiB, 2 * MiB), 2 * MiB, "kept for regrowth");
	cr_assert(_rz_large_excess_pending());
	_rz_large_decay_excess(UINT64_MAX);
	cr_assert_eq(resident(p + 2 * MiB, 2 * MiB), 0, "returned by decay");
	cr_assert_not(_rz_large_excess_pending());
	cr_assert_eq(p[2 * MiB - 1], 1);
	_rz_free(p);
}

/*
 * A free runs outside the fork gate: a fork between its leaving the table
 * and its forgetting the block's kept pages left the child counting a
 * block with kept pages that no record holds, and the child's decay
 * thread scanning every block forever. The child recounts from the
 * records. Here the interrupted free is a record removed by hand.
 */
Test(large, a_fork_child_recounts_blocks_with_kept_pages)
{
	_rz_init();
	unsigned char *p = _rz_malloc(4 * MiB);
	memset(p, 1, 4 * MiB);
	cr_assert_eq(_rz_realloc(p, 2 * MiB), p);
	cr_assert(_rz_large_excess_pending(), "the shrink kept pages");
	struct _rz_block b;
	struct _rz_rec *r = _rz_table_acquire((uintptr_t)p, &b);
	cr_assert(r != NULL);
	_rz_table_remove(r); /* a free, interrupted here by another thread's fork */
	pid_t pid = fork();
	if (pid == 0) {
		_rz_large_postfork_child(); /* what the front end's handler calls */
		_exit(_rz_large_excess_pending() ? 1 : 0);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "the child still counts a block with kept pages");
}

/* A shrink that keeps touched pages and also trims the reservation below
 * them must not remember pages past the new end of the mapping: their
 * decay would madvise whatever is mapped there now (stress churn saw a
 * neighbour's block turn to zeros). */
Test(large, decay_after_a_trimming_shrink_stays_inside_the_mapping)
{
	_rz_init();
	unsigned char *p = _rz_malloc(100 * KiB);
	p = _rz_realloc(p, 4 * MiB + 512 * KiB); /* a growing buffer: 8x reserved */
	cr_assert_not_null(p);
	memset(p, 1, 4 * MiB + 512 * KiB);
	cr_assert_eq(_rz_realloc(p, 512 * KiB), p);
	/* The reservation is now 4 MiB: put someone else's data right after. */
	unsigned char *n = mmap(p + 4 * MiB, 1 * MiB, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	cr_assert_eq(n, p + 4 * MiB, "the trimmed tail is free");
	memset(n, 7, 1 * MiB);
	_rz_large_decay_excess(UINT64_MAX);
	cr_assert_eq(n[0], 7, "the neighbour's data survived");
	cr_assert_eq(n[1 * MiB - 1], 7);
	munmap(n, 1 * MiB);
	_rz_free(p);
}

Test(large, freed_blocks_are_reused_from_the_cache_and_calloc_is_zero)
{
	_rz_init();
	unsigned char *p = _rz_malloc(8 * MiB);
	memset(p, 0xff, 8 * MiB);
	_rz_free(p);
	unsigned char *q = _rz_calloc(1, 8 * MiB);
	cr_assert_eq(q, p, "the cached mapping is reused");
	cr_assert_eq(stats().cache_hits, 1);
	for (size_t i = 0; i < 8 * MiB; i += 4093)
		cr_assert_eq(q[i], 0);
	_rz_free(q);
}

Test(large, no_cache_means_every_free_unmaps)
{
	setenv("REZONE_CACHE", "0", 1);
	_rz_init();
	unsigned char *p = _rz_malloc(8 * MiB);
	_rz_free(p);
	unsigned char vec;
	cr_assert_eq(mincore(p, 4096, &vec), -1);
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(stats().cache_hits, 0);
}

static int maps_has_noaccess_range_after(void *p)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
		    lo > (uintptr_t)p && lo < (uintptr_t)p + 64 * MiB && strcmp(perms, "---p") == 0)
			found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

Test(large, strict_commit_reserves_headroom_without_access)
{
	setenv("REZONE_STRICT_COMMIT", "1", 1);
	_rz_init();
	unsigned char *p = _rz_malloc(4 * MiB);
	cr_assert(maps_has_noaccess_range_after(p), "headroom must be PROT_NONE");
	memset(p, 1, 4 * MiB);
	unsigned char *q = _rz_realloc(p, 6 * MiB);
	cr_assert_eq(q, p);
	memset(q, 2, 6 * MiB); /* the grown part was opened */
	q = _rz_realloc(q, 200 * MiB);
	cr_assert_not_null(q);
	cr_assert_eq(q[6 * MiB - 1], 2);
	memset(q, 3, 200 * MiB);
	q = _rz_realloc(q, 1 * MiB);
	cr_assert_eq(q[1 * MiB - 1], 3);
	_rz_free(q);
}

/* Mappings (lines of /proc/self/maps) that overlap [p, p+n). */
static int maps_pieces(const void *p, size_t n)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int pieces = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && hi > (uintptr_t)p &&
		    lo < (uintptr_t)p + n)
			pieces++;
	}
	if (f)
		fclose(f);
	return pieces;
}

/* Strict commit under RLIMIT_AS: a block that moved and then grew inside
 * its new reservation is one mapping, which a later move that must also
 * resize can take (it was the moved mapping and the pages opened beside
 * it, two: such a move failed with EFAULT and copied). */
Test(large, with_strict_commit_a_moved_block_stays_one_mapping_as_it_grows)
{
	setenv("REZONE_STRICT_COMMIT", "1", 1);
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_AS, &rl), 0);
	rl.rlim_cur = (rlim_t)64 << 30;
	cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
	_rz_init();
	unsigned char *p = _rz_malloc(4 * MiB);
	fill(p, 4 * MiB, 7);
	size_t n = 300 * MiB;
	unsigned char *q = _rz_realloc(p, n);
	cr_assert_not_null(q);
	cr_assert_neq(q, p, "300 MiB must outgrow a 4 MiB block's reservation");
	check(q, 4 * MiB, 7);
	struct rezone_stats s0 = stats();
	for (int i = 0; i < 8; i++) {
		unsigned char *r = _rz_realloc(q, n + MiB);
		cr_assert_eq(r, q, "growth %d of 1 MiB moved the block", i);
		n += MiB;
		memset(q + n - MiB, 1, MiB);
	}
	cr_assert_eq(stats().grow_reserved - s0.grow_reserved, 8);
	cr_assert_eq(maps_pieces(q, n), 1, "the open part of a moved block is %d mappings",
	    maps_pieces(q, n));
	check(q, 4 * MiB, 7);
	_rz_free(q);
}

/* Strict commit without a limit: a moved block grown inside its
 * reservation moves again without a copy, whether its open part is one
 * mapping (kernels that cannot move several: it grew its mapping) or two
 * (the move opens the growth first and moves without resizing). */
Test(large, with_strict_commit_a_moved_and_grown_block_moves_again_without_a_copy)
{
	setenv("REZONE_STRICT_COMMIT", "1", 1);
	_rz_init();
	unsigned char *p = _rz_malloc(4 * MiB);
	fill(p, 4 * MiB, 9);
	unsigned char *q = _rz_realloc(p, 300 * MiB);
	cr_assert_not_null(q);
	cr_assert_neq(q, p, "300 MiB must outgrow a 4 MiB block's reservation");
	size_t n = 300 * MiB;
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(_rz_realloc(q, n + MiB), q, "growth %d of 1 MiB moved the block", i);
		n += MiB;
		memset(q + n - MiB, 1, MiB);
	}
	struct rezone_stats s0 = stats();
	unsigned char *r = _rz_realloc(q, 4096 * MiB);
	cr_assert_not_null(r);
	cr_assert_neq(r, q, "4 GiB must outgrow the reservation");
	struct rezone_stats s1 = stats();
	cr_assert_eq(s1.grow_copied, s0.grow_copied, "the second move was a copy");
	cr_assert_eq(s1.grow_moved, s0.grow_moved + 1);
	check(r, 4 * MiB, 9);
	cr_assert_eq(r[n - 1], 1);
	_rz_free(r);
}

Test(large, failed_realloc_leaves_the_block_intact)
{
	_rz_init();
	unsigned char *p = _rz_malloc(1 * MiB);
	fill(p, 1 * MiB, 9);
	errno = 0;
	cr_assert_null(_rz_realloc(p, (size_t)PTRDIFF_MAX + 1));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_null(_rz_realloc(p, (size_t)1 << 47)); /* 128 TiB: more than user space */
	check(p, 1 * MiB, 9);
	cr_assert_eq(_rz_large_size(p), 1 * MiB);
	_rz_free(p);
}

Test(large, expand_never_moves)
{
	setenv("REZONE_HEADROOM", "0", 1);
	_rz_init();
	unsigned char *p = _rz_malloc(1 * MiB);
	void *wall = mmap(p + 1 * MiB, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (wall == MAP_FAILED)
		cr_skip_test("neighbour already taken by someone else");
	errno = 0;
	cr_assert_null(rezone_expand(p, 2 * MiB));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(rezone_expand(p, 512 * KiB), p, "shrinking in place always works");
	cr_assert_eq(_rz_large_size(p), 512 * KiB);
	cr_assert_eq(rezone_expand(p, 1 * MiB), p, "regrowing into its own pages");
	errno = 0;
	cr_assert_null(rezone_expand(NULL, 10));
	cr_assert_eq(errno, EINVAL);
	_rz_free(p);
}

Test(large, many_blocks_grown_in_turn_keep_their_contents)
{
	_rz_init();
	enum { N = 2000 };
	static unsigned char *b[N];
	static size_t size[N];
	for (int i = 0; i < N; i++) {
		size[i] = 256 * KiB;
		b[i] = _rz_malloc(size[i]);
		cr_assert_not_null(b[i]);
		b[i][0] = (unsigned char)i;
	}
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			size[i] += 300 * KiB;
			b[i] = _rz_realloc(b[i], size[i]);
			cr_assert_not_null(b[i]);
			b[i][size[i] - 1] = (unsigned char)i;
		}
	}
	for (int i = 0; i < N; i++) {
		cr_assert_eq(b[i][0], (unsigned char)i);
		cr_assert_eq(b[i][size[i] - 1], (unsigned char)i);
		_rz_free(b[i]);
	}
	cr_assert_eq(stats().large_live, 0);
}

Test(large, double_free_aborts_with_a_diagnostic, .signal = SIGABRT)
{
	_rz_init();
	void *p = _rz_malloc(1 * MiB);
	_rz_free(p);
	_rz_free(p);
}

Test(large, double_free_after_unmap_aborts, .signal = SIGABRT)
{
	setenv("REZONE_CACHE", "0", 1);
	_rz_init();
	void *p = _rz_malloc(1 * MiB);
	_rz_free(p);
	_rz_free(p);
}

Test(large, free_of_an_interior_pointer_aborts, .signal = SIGABRT)
{
	_rz_init();
	unsigned char *p = _rz_malloc(1 * MiB);
	_rz_free(p + 64 * KiB);
}

Test(large, free_of_an_unmapped_address_aborts_when_checked, .signal = SIGABRT)
{
	setenv("REZONE_CHECK_UNKNOWN", "1", 1);
	_rz_init();
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, 4096);
	_rz_free(p);
}

Test(guard, write_past_the_end_of_a_large_block_faults, .signal = SIGSEGV)
{
	setenv("REZONE_GUARD", "1", 1);
	_rz_init();
	volatile unsigned char *p = _rz_malloc(1 * MiB);
	p[1 * MiB - 1] = 1; /* the last usable byte is fine */
	p[1 * MiB] = 1;     /* the first byte of headroom is not */
}

Test(guard, use_after_free_of_a_large_block_faults, .signal = SIGSEGV)
{
	setenv("REZONE_GUARD", "1", 1);
	_rz_init();
	volatile unsigned char *p = _rz_malloc(1 * MiB);
	p[0] = 1;
	_rz_free((void *)p);
	p[0] = 2;
}

Test(guard, growth_still_works_and_keeps_contents)
{
	setenv("REZONE_GUARD", "1", 1);
	_rz_init();
	unsigned char *p = _rz_malloc(1 * MiB);
	fill(p, 1 * MiB, 5);
	p = _rz_realloc(p, 3 * MiB);
	cr_assert_not_null(p);
	check(p, 1 * MiB, 5);
	memset(p, 1, 3 * MiB);
	void *q = _rz_malloc(1 * MiB); /* may reuse nothing: the freed one is poisoned */
	_rz_free(q);
	_rz_free(p);
}

Test(guard, a_guard_page_follows_the_block_even_without_headroom, .signal = SIGSEGV)
{
	setenv("REZONE_GUARD", "1", 1);
	setenv("REZONE_HEADROOM", "0", 1);
	_rz_init();
	volatile unsigned char *p = _rz_malloc(1 * MiB + 100);
	volatile unsigned char *q = _rz_malloc(1 * MiB + 100); /* a likely neighbour */
	(void)q;
	p[_rz_usable_size((void *)p)] = 1;
}

/* Found in review: once the cache returned a mapping to the OS, a second
 * free went to jemalloc (SIGSEGV) instead of being diagnosed. */
Test(large, double_free_after_the_cache_released_the_mapping_aborts, .signal = SIGABRT)
{
	setenv("REZONE_CACHE_DECAY_MS", "1", 1);
	_rz_init();
	void *r = _rz_malloc(1 * MiB);
	void *p = _rz_malloc(1 * MiB);
	_rz_free(p);
	usleep(20000);
	_rz_free(r); /* decays p's cached mapping: unmapped now */
	_rz_free(p);
}

Test(large, free_of_the_old_address_after_a_move_aborts, .signal = SIGABRT)
{
	_rz_init();
	unsigned char *p = _rz_malloc(1 * MiB);
	void *wall = mmap(p + 2 * MiB, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	unsigned char *q = _rz_realloc(p, 64 * MiB);
	if (wall == MAP_FAILED || q == p)
		abort(); /* could not force a move: count as the expected outcome */
	_rz_free(p);
}

/* VmSize of this process, in bytes. */
static size_t vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb << 10;
}

/* Found in review: headroom grew address space 16x per move, so under
 * `ulimit -v` a few growing buffers held gigabytes and a big malloc failed. */
Test(large, headroom_stays_small_under_an_address_space_limit)
{
#ifdef __SANITIZE_ADDRESS__
	cr_skip_test("ASan's shadow memory needs far more address space than the limit");
#endif
	struct rlimit rl = { .rlim_cur = (rlim_t)6 << 30, .rlim_max = RLIM_INFINITY };
	cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
	_rz_init();
	/* Two buffers grown by doubling from a small size (the reviewer's
	 * case: each held ~2 GiB of address space at 8 MiB). */
	unsigned char *a = _rz_malloc(128 * KiB), *b = _rz_malloc(128 * KiB);
	for (size_t s = 256 * KiB; s <= 8 * MiB; s *= 2) {
		a = _rz_realloc(a, s);
		b = _rz_realloc(b, s);
		cr_assert(a && b);
	}
	cr_assert_lt(vm_size(), (size_t)1 << 30, "address space used: %zu MiB", vm_size() >> 20);
	void *big = _rz_malloc((size_t)3 << 30);
	cr_assert_not_null(big, "3 GiB under a 6 GiB limit");
	_rz_free(big);
	_rz_free(a);
	_rz_free(b);
}
