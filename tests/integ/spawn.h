/*
 * spawn.h - runs programs with rezone injected (LD_PRELOAD) for the
 * integration suite, and captures how they ended.
 *
 * The suite itself never loads rezone: every program under test is a child
 * process, so an abort or a corrupted heap there is an observation, not a
 * crash of the test runner. The library and the probe are found through
 * REZONE_LIB and REZONE_PROBE, which tests/Makefile.inc sets for make check.
 */
#ifndef REZONE_INTEG_SPAWN_H
#define REZONE_INTEG_SPAWN_H

#include <stdbool.h>

/* How a child ended. */
struct outcome {
	int status;     /* wait status; meaningful when !timed_out */
	bool timed_out; /* killed by the spawner's own watchdog */
	char *out;      /* captured stdout, NUL-terminated */
	char *err;      /* captured stderr, NUL-terminated */
};

/* Seconds a child may run before it is killed and reported as hung; below
 * the Criterion timeouts, so the spawner reports the hang itself. */
#ifndef SPAWN_TIMEOUT
#define SPAWN_TIMEOUT 60
#endif

/*
 * Runs argv[0] (a path) with rezone preloaded. env lists changes to the
 * suite's own environment: "NAME=value" sets, "NAME" removes; it may be
 * NULL. stdin_path, if not NULL, becomes the child's stdin (else
 * /dev/null). Returns false, with a reason in out->err, when the child
 * could not be started.
 */
bool spawn_preloaded(struct outcome *out, const char *const argv[],
		     const char *const env[], const char *stdin_path);

/* Runs "rzprobe scenario [args...]"; the argument list ends with NULL. */
bool spawn_probe(struct outcome *out, const char *const env[],
		 const char *scenario, ...);

/* Path of the library under test (REZONE_LIB), or NULL. */
const char *spawn_library(void);

bool outcome_exited(const struct outcome *o, int code);
bool outcome_signalled(const struct outcome *o, int sig);
/* "exit status 1" / "signal 6" / "timed out", then both streams. */
const char *outcome_describe(const struct outcome *o);
void outcome_release(struct outcome *o);

/*
 * Criterion helpers: run a probe scenario and require it to pass (exit 0),
 * or skip the test when it exits 77 (the machine cannot run it).
 */
#define PROBE_ENV(...) ((const char *const[]){ __VA_ARGS__, NULL })

#define assert_probe_passes(env, ...)                                      \
	do {                                                               \
		struct outcome o_;                                         \
		cr_assert(spawn_probe(&o_, (env), __VA_ARGS__, NULL),      \
			  "could not run the probe: %s", o_.err);          \
		if (outcome_exited(&o_, 77))                               \
			cr_skip_test("%s", o_.out);                        \
		cr_assert(outcome_exited(&o_, 0), "%s",                    \
			  outcome_describe(&o_));                          \
		outcome_release(&o_);                                      \
	} while (0)

#endif /* REZONE_INTEG_SPAWN_H */
