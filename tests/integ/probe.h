/*
 * probe.h - shared declarations of rzprobe, the program the integration
 * suite runs with rezone injected through LD_PRELOAD.
 *
 * rzprobe is an ordinary C program: it calls the standard malloc family and
 * is never linked against rezone, so what it exercises is exactly what an
 * unmodified program gets. It reaches the rezone API (rezone_stats, ...)
 * through dlsym(RTLD_DEFAULT), which only finds it when the library is
 * preloaded. Each scenario is a sub-command; it exits 0 when every check
 * holds, PROBE_FAILED with a message on stderr when one does not, and
 * PROBE_SKIP when the machine cannot run it. Depends on libc, libdl,
 * pthreads and include/rezone.h (for types and constants only).
 */
#ifndef REZONE_PROBE_H
#define REZONE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rezone.h"

/* Exit codes the Criterion side understands (77 is automake's "skip"). */
#define PROBE_FAILED 1
#define PROBE_USAGE 2
#define PROBE_SURVIVED 3 /* a misuse that should have aborted returned */
#define PROBE_SKIP 77

/* Sizes every option setting under test treats the same way: below the
 * tiny threshold (4096) a block is small, from 1 MiB on it is large. */
#define PROBE_SMALL 1000u
#define PROBE_LARGE (1u << 20)
#define PROBE_MIB ((size_t)1 << 20)

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond))                                               \
			probe_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

/* Prints "rzprobe: FAIL file:line: cond: message" on stderr and exits. */
__attribute__((noreturn, format(printf, 4, 5)))
void probe_fail(const char *file, int line, const char *cond,
		const char *fmt, ...);

/* Returns n through a volatile, so the compiler cannot fold huge sizes into
 * warnings or reason about malloc results at compile time. */
size_t probe_opaque(size_t n);

/* Position-dependent pattern: a block moved or remapped a page off, or a
 * prefix that lost a page, fails the check at the first wrong byte. */
void probe_fill(void *p, size_t from, size_t to, unsigned seed);
/* Returns the first offset in [from, to) that does not hold the pattern,
 * or SIZE_MAX when all do. */
size_t probe_mismatch(const void *p, size_t from, size_t to, unsigned seed);
#define CHECK_PATTERN(p, from, to, seed)                                   \
	do {                                                               \
		size_t at_ = probe_mismatch((p), (from), (to), (seed));    \
		CHECK(at_ == SIZE_MAX, "pattern broken at offset %zu of "  \
		      "[%zu, %zu) in block %p", at_, (size_t)(from),       \
		      (size_t)(to), (const void *)(p));                    \
	} while (0)

/* Returns the first nonzero offset in [0, n), or SIZE_MAX. */
size_t probe_nonzero(const void *p, size_t n);

/* dlsym(RTLD_DEFAULT, name); fails the probe when the symbol is absent
 * (rezone is not preloaded). */
void *probe_sym(const char *name);

/* Current rezone counters (fails the probe when rezone is absent). */
struct rezone_stats probe_stats(void);
/* Sum of the grow_* counters: every growth bumps exactly one of them. */
uint64_t probe_growths(const struct rezone_stats *s);

/* Runs fn(arg) on n threads and joins them. */
void probe_threads(unsigned n, void *(*fn)(void *), void *arg);
/* A field of /proc/self/status (kB fields in KiB), read without malloc. */
size_t probe_status(const char *field);
/* Address space the process has mapped, from /proc/self/statm. */
size_t probe_vm_bytes(void);
/* Waits for the child pid that ran scenario: PROBE_SKIP if it skipped, 0
 * if it passed; anything else (an exit status, a signal: 14 is the alarm
 * of a child that hung) fails the probe. */
int probe_child_result(pid_t pid, const char *scenario);
/* Seconds on the monotonic clock. */
double probe_now_s(void);

/* Scenarios: one function per sub-command, argc/argv after the name. */
typedef int probe_fn(int argc, char **argv);

struct probe_cmd {
	const char *name;
	probe_fn *fn;
};

/* Each probe_*.c file exports its table, terminated by a NULL name. */
extern const struct probe_cmd probe_malloc_cmds[];
extern const struct probe_cmd probe_realloc_cmds[];
extern const struct probe_cmd probe_align_cmds[];
extern const struct probe_cmd probe_expand_cmds[];
extern const struct probe_cmd probe_stats_cmds[];
extern const struct probe_cmd probe_misuse_cmds[];
extern const struct probe_cmd probe_threads_cmds[];
extern const struct probe_cmd probe_fork_cmds[];
extern const struct probe_cmd probe_maps_cmds[];
extern const struct probe_cmd probe_aliases_cmds[];
extern const struct probe_cmd probe_scale_cmds[];
extern const struct probe_cmd probe_deepbind_cmds[];
extern const struct probe_cmd probe_glibc_cmds[];
extern const struct probe_cmd probe_floor_cmds[];

/* Shared by the thread and fork scenarios: one allocate/resize/hand-over
 * step on mixed sizes; the exchange slots are process-wide. */
void probe_churn_init(unsigned slots);
void probe_churn_step(uint64_t *rng);
void probe_churn_drain(void);

#endif /* REZONE_PROBE_H */
