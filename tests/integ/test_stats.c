/*
 * test_stats.c - specification of rezone_stats, rezone_version and the
 * REZONE_STATS=1 report at exit (scenarios in probe_stats.c).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "spawn.h"

TestSuite(rezone_stats, .timeout = 90);

Test(rezone_stats, fills_version_and_size_for_smaller_and_bigger_callers)
{
	assert_probe_passes(NULL, "stats_layout");
}

Test(rezone_stats, version_string_matches_the_public_header)
{
	assert_probe_passes(NULL, "stats_version");
}

Test(rezone_stats, large_malloc_and_free_move_the_allocation_counters)
{
	assert_probe_passes(NULL, "stats_large_malloc");
}

Test(rezone_stats, each_growth_moves_one_grow_counter_and_a_shrink_shrinks)
{
	assert_probe_passes(NULL, "stats_growth");
}

Test(rezone_stats, stats_option_prints_rezone_lines_on_stderr_at_exit)
{
	struct outcome o;
	size_t lines = 0;

	cr_assert(spawn_probe(&o, PROBE_ENV("REZONE_STATS=1"), "large_churn",
			      NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	for (char *line = o.err; *line; lines++) {
		char *end = strchrnul(line, '\n');

		cr_assert(strncmp(line, "rezone:", 7) == 0, "stderr line "
			  "without the rezone: prefix: %.*s",
			  (int)(end - line), line);
		line = *end ? end + 1 : end;
	}
	cr_assert(lines > 0, "REZONE_STATS=1 printed nothing on stderr");
	outcome_release(&o);
}

Test(rezone_stats, nothing_is_printed_at_exit_without_the_stats_option)
{
	struct outcome o;

	cr_assert(spawn_probe(&o, PROBE_ENV("REZONE_STATS"), "large_churn",
			      NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert_str_empty(o.err, "unexpected stderr: %s", o.err);
	outcome_release(&o);
}

/* Coreutils close stderr before exit (close_stdout); the report must still
 * reach the stderr the program was started with. */
Test(rezone_stats, report_survives_a_program_that_closes_stderr)
{
	struct outcome o;
	const char *const argv[] = { "/usr/bin/sort", "/dev/null", NULL };

	cr_assert(spawn_preloaded(&o, argv, PROBE_ENV("REZONE_STATS=1"), NULL),
		  "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert(strstr(o.err, "rezone: large_allocs") != NULL,
		  "no report from sort: %s", o.err);
	outcome_release(&o);
}
