/*
 * stress.h - rzstress, the reliability program run with librezone.so
 * preloaded (it is never linked against rezone: it calls the plain malloc
 * family, which the preloaded library replaces).
 *
 * Scenarios, one file each:
 *   churn    (stress_churn.c)   threads allocate, grow, shrink, hand over
 *                               and free tagged blocks of every size
 *   maps     (stress_maps.c)    tens of thousands of large blocks alive at
 *                               once, grown under vm.max_map_count pressure
 *   fork     (stress_fork.c)    fork from many threads, and from a signal
 *                               handler, while other threads allocate
 *   forkio   (stress_forkio.c)  fork while threads use stdio (getdelim,
 *                               fflush(NULL), memory streams) and allocate
 *   forksig  (stress_forksig.c) fork from a signal handler that interrupted
 *                               malloc/free/realloc, single-threaded
 *   exhaust  (stress_exhaust.c) every function under a lowered RLIMIT_AS
 * Helpers shared by all of them live in stress_util.c.
 * May include: the C library only.
 */
#ifndef RZ_STRESS_H
#define RZ_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

/* Parameters from the command line; each scenario reads what it needs. */
struct stress_opts {
	unsigned threads;  /* worker threads per round */
	unsigned rounds;   /* rounds (threads are recreated every round) */
	unsigned scale;    /* operations per thread per round, in thousands */
	unsigned count;    /* blocks (maps), forks (fork) */
	size_t big_max;    /* largest block churn allocates */
	bool self;         /* fork: also signal the allocating threads themselves */
	bool verbose;
};

int stress_churn(const struct stress_opts *o);
int stress_maps(const struct stress_opts *o);
int stress_fork(const struct stress_opts *o);
int stress_forkio(const struct stress_opts *o);
int stress_forksig(const struct stress_opts *o);
int stress_exhaust(const struct stress_opts *o);

/* ---- stress_util.c ---------------------------------------------------- */

/* The large threshold in force: REZONE_LARGE_THRESHOLD parsed as rezone
 * does (suffixes k, m, g), 256 KiB otherwise. */
extern size_t stress_threshold;
/* rezone_expand when rezone is loaded, else NULL (found with dlsym). */
extern void *(*stress_expand)(void *, size_t);
/* True when the process runs with rezone loaded. */
bool stress_have_rezone(void);
void stress_setup(void);

/* xorshift64*: per-thread generator; seed must not be 0. */
uint64_t stress_rand(uint64_t *s);
/* A size biased to where the allocator changes behaviour: tiny, small,
 * around the threshold and page multiples, large, and up to big_max. */
size_t stress_pick_size(uint64_t *rng, size_t big_max);

/* A block's contents are a function of (seed, byte offset). Blocks below
 * STRESS_DENSE_MAX are tagged in every word; above it only every 64th
 * word is (the first bytes of each 512-byte stretch), so huge blocks cost
 * one store per cache line pair rather than one per word. */
#define STRESS_DENSE_MAX (1 * MiB)
struct stress_block {
	unsigned char *p;
	size_t size;
	size_t dense;  /* bytes [0, dense) carry tags in every word */
	uint64_t seed;
};
/* Tags [from, to) of b (b->size must already be >= to). */
void stress_tag(struct stress_block *b, size_t from, size_t to);
/* Checks every tagged byte of b; on a mismatch reports where and aborts. */
void stress_verify(const struct stress_block *b, const char *what);
/* Checks that [0, n) of p reads as zero (densely below STRESS_DENSE_MAX). */
void stress_verify_zero(const unsigned char *p, size_t n, const char *what);

/* Prints "rzstress: FAIL ..." and aborts (a core names the scenario). */
_Noreturn void stress_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
#define STRESS_CHECK(cond, ...) \
	do { if (!(cond)) stress_fail(__VA_ARGS__); } while (0)

/* Arms a watchdog: the process dies with a message after seconds. */
void stress_watchdog(unsigned seconds, const char *what);
/* Monotonic seconds, for progress lines. */
double stress_now(void);

#endif
