/*
 * test_options.c - specification of the environment options as a program
 * sees their effect: which sizes are large, where growth goes, whether the
 * cache serves freed blocks (scenarios in probe_stats.c).
 *
 * Each test sets the option it is about and removes the others' influence
 * where it matters, since the suite runs under several settings.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "spawn.h"

TestSuite(options, .timeout = 90);

/* Requires that malloc(size) is a large block (or not) with env. */
static void expect_large(const char *const env[], const char *size, bool large)
{
	struct outcome o;

	cr_assert(spawn_probe(&o, env, "is_large", size, NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0) || outcome_exited(&o, 10), "%s",
		  outcome_describe(&o));
	cr_assert(outcome_exited(&o, large ? 0 : 10),
		  "malloc(%s) is %s with %s", size,
		  large ? "not a large block" : "a large block", env[0]);
	outcome_release(&o);
}

Test(options, default_large_threshold_is_256_kib)
{
	const char *const *env = PROBE_ENV("REZONE_LARGE_THRESHOLD");

	expect_large(env, "262144", true);
	expect_large(env, "262143", false);
}

Test(options, large_threshold_takes_plain_bytes)
{
	const char *const *env = PROBE_ENV("REZONE_LARGE_THRESHOLD=65536");

	expect_large(env, "65536", true);
	expect_large(env, "65535", false);
}

Test(options, large_threshold_takes_k_suffix)
{
	const char *const *env = PROBE_ENV("REZONE_LARGE_THRESHOLD=64k");

	expect_large(env, "65536", true);
	expect_large(env, "65535", false);
}

Test(options, large_threshold_takes_m_suffix)
{
	const char *const *env = PROBE_ENV("REZONE_LARGE_THRESHOLD=2m");

	expect_large(env, "2097152", true);
	expect_large(env, "1048576", false);
}

Test(options, large_threshold_takes_g_suffix)
{
	const char *const *env = PROBE_ENV("REZONE_LARGE_THRESHOLD=1g");

	expect_large(env, "1073741824", true);
	expect_large(env, "536870912", false);
}

/* Runs grow_kind (one realloc from 1 MiB to 1.5 MiB) and returns how many
 * growths went into reserved space. */
static unsigned long reserved_growths(const char *const env[])
{
	struct outcome o;
	unsigned long reserved = 99;

	cr_assert(spawn_probe(&o, env, "grow_kind", NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert(sscanf(o.out, "reserved %lu", &reserved) == 1, "output: %s",
		  o.out);
	outcome_release(&o);
	return reserved;
}

Test(options, default_headroom_lets_growth_use_reserved_space)
{
	cr_assert_eq(reserved_growths(PROBE_ENV("REZONE_HEADROOM")), 1,
		     "growing 1 MiB to 1.5 MiB did not use the headroom");
}

Test(options, zero_headroom_reserves_nothing_beyond_a_block)
{
	cr_assert_eq(reserved_growths(PROBE_ENV("REZONE_HEADROOM=0")), 0,
		     "growth used reserved space with REZONE_HEADROOM=0");
}

/* Runs cache_reuse (free a 1 MiB block, malloc the same size) and returns
 * the number of cache hits. */
static unsigned long cache_hits(const char *const env[])
{
	struct outcome o;
	unsigned long hits = 99;

	cr_assert(spawn_probe(&o, env, "cache_reuse", NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert(sscanf(o.out, "hits %lu", &hits) == 1, "output: %s", o.out);
	outcome_release(&o);
	return hits;
}

Test(options, cache_serves_a_freed_large_block_to_the_next_malloc)
{
	cr_assert_eq(cache_hits(PROBE_ENV("REZONE_CACHE=64m")), 1,
		     "malloc after free of the same size missed the cache");
}

Test(options, zero_cache_never_serves_freed_blocks)
{
	cr_assert_eq(cache_hits(PROBE_ENV("REZONE_CACHE=0")), 0,
		     "cache hit with REZONE_CACHE=0");
}

/* Runs a threaded scenario with env and returns its stderr's lines that
 * start with "rezone:", with how many there were. */
static size_t option_warnings(const char *const env[], char *out, size_t cap)
{
	struct outcome o;
	size_t n = 0;

	cr_assert(spawn_probe(&o, env, "threads_rounds", NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	out[0] = '\0';
	for (char *line = o.err; *line;) {
		char *end = strchrnul(line, '\n');

		if (strncmp(line, "rezone:", 7) == 0) {
			n++;
			snprintf(out, cap, "%.*s", (int)(end - line), line);
		}
		line = *end ? end + 1 : end;
	}
	outcome_release(&o);
	return n;
}

Test(options, bad_value_warns_once_saying_what_is_accepted_and_keeps_the_default)
{
	char line[512];

	cr_assert_eq(option_warnings(PROBE_ENV("REZONE_HEADROOM=abc"), line,
					 sizeof(line)), 1, "warnings: %s", line);
	cr_assert_str_eq(line, "rezone: REZONE_HEADROOM=abc: not a number "
			 "(expected a percentage 0-10000, e.g. 100); using 100");
	/* The default really is kept: 1 MiB -> 1.5 MiB grows into headroom. */
	cr_assert_eq(reserved_growths(PROBE_ENV("REZONE_HEADROOM=abc")), 1);
}

Test(options, bad_size_names_the_suffixes_and_the_default)
{
	char line[512];

	cr_assert_eq(option_warnings(PROBE_ENV("REZONE_LARGE_THRESHOLD=lots"),
				     line, sizeof(line)), 1, "%s", line);
	cr_assert_str_eq(line, "rezone: REZONE_LARGE_THRESHOLD=lots: not a size "
			 "(expected a size in bytes with an optional k, m or g "
			 "suffix, e.g. 1m); using 256k");
	expect_large(PROBE_ENV("REZONE_LARGE_THRESHOLD=lots"), "262144", true);
}

/* VAR= in a shell script clears an option: no warning, the default. */
Test(options, empty_values_are_unset_and_print_nothing)
{
	char line[512];

	cr_assert_eq(option_warnings(PROBE_ENV("REZONE_LARGE_THRESHOLD=", "REZONE_HEADROOM=",
					       "REZONE_GUARD="), line, sizeof(line)), 0,
		     "warned: %s", line);
	expect_large(PROBE_ENV("REZONE_LARGE_THRESHOLD="), "262144", true);
}

Test(options, bad_switch_says_0_or_1)
{
	char line[512];

	cr_assert_eq(option_warnings(PROBE_ENV("REZONE_GUARD=yes"), line,
				     sizeof(line)), 1, "%s", line);
	cr_assert_str_eq(line, "rezone: REZONE_GUARD=yes: not 0 or 1 "
			 "(expected 0 or 1); using 0");
}
