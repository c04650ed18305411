/*
 * test_stats.c - specification of rezone_stats, rezone_version and the
 * REZONE_STATS report at exit: one line on stderr, or JSON lines in a
 * file (scenarios in probe_stats.c).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* With strict commit (and guard mode) a block that moved and grew is two
 * mappings that one mremap cannot move: its next move is a copy. */
Test(rezone_stats, an_over_aligned_block_grows_without_a_copy_and_stays_aligned)
{
	assert_probe_passes(PROBE_ENV("REZONE_STRICT_COMMIT", "REZONE_GUARD"),
	    "stats_aligned_growth");
}

Test(rezone_stats, peak_bytes_is_a_high_water_mark_that_follows_rezone_expand)
{
	/* Headroom on (rezone_expand grows inside it), no guard pages. */
	assert_probe_passes(PROBE_ENV("REZONE_HEADROOM", "REZONE_GUARD"), "stats_peak");
}

/* "rezone[PID] rzprobe: large_allocs=N ..." and nothing else. */
Test(rezone_stats, stats_option_prints_one_key_value_line_per_process)
{
	struct outcome o;
	char want[64];
	unsigned long allocs = 0;
	const char *kv;

	cr_assert(spawn_probe(&o, PROBE_ENV("REZONE_STATS=1"), "large_churn",
			      NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert(strchr(o.err, '\n') == o.err + strlen(o.err) - 1,
		  "not exactly one line on stderr: %s", o.err);
	cr_assert(strncmp(o.err, "rezone[", 7) == 0, "%s", o.err);
	snprintf(want, sizeof(want), "] rzprobe: large_allocs=");
	kv = strstr(o.err, want);
	cr_assert(kv != NULL, "no '%s' in %s", want, o.err);
	cr_assert(sscanf(kv + strlen(want), "%lu", &allocs) == 1 && allocs >= 8,
		  "large_allocs: %s", o.err);
	cr_assert(strstr(o.err, " grow_copied=") && strstr(o.err, " large_live_bytes="),
		  "counters missing: %s", o.err);
	outcome_release(&o);
}

/* A shell script's helpers that never go near the large path say nothing. */
Test(rezone_stats, stats_option_prints_nothing_for_a_process_without_large_requests)
{
	struct outcome o;

	cr_assert(spawn_probe(&o, PROBE_ENV("REZONE_STATS=1",
					    "REZONE_LARGE_THRESHOLD"),
			      "idle", NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert_str_empty(o.err, "unexpected stderr: %s", o.err);
	outcome_release(&o);
}

/* Eight processes append to one file at once: eight whole JSON lines. */
Test(rezone_stats, stats_file_gets_one_json_object_per_process_from_concurrent_processes)
{
	struct outcome o;
	char path[] = "/tmp/rezone-stats-XXXXXX";
	char setting[64], buf[16384];
	const char *probe = getenv("REZONE_PROBE");
	const char *const argv[] = {
		"/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do \"$REZONE_PROBE\" "
		"large_churn & done; wait", NULL,
	};
	int fd = mkstemp(path);
	size_t lines = 0;

	cr_assert(fd >= 0 && probe != NULL);
	close(fd);
	snprintf(setting, sizeof(setting), "REZONE_STATS=%s", path);
	cr_assert(spawn_preloaded(&o, argv, PROBE_ENV(setting), NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert_str_empty(o.err, "unexpected stderr: %s", o.err);
	FILE *f = fopen(path, "r");
	cr_assert(f != NULL);
	while (fgets(buf, sizeof(buf), f)) {
		unsigned long allocs = 0;
		const char *kv = strstr(buf, "\"large_allocs\":");

		cr_assert(buf[0] == '{' && strcmp(buf + strlen(buf) - 2, "}\n") == 0,
			  "not one object per line: %s", buf);
		if (!strstr(buf, "\"program\":\"rzprobe\""))
			continue; /* the shell's own record */
		lines++;
		cr_assert(strstr(buf, "\"pid\":") != NULL, "%s", buf);
		cr_assert(kv && sscanf(kv + 15, "%lu", &allocs) == 1 && allocs >= 8,
			  "%s", buf);
	}
	fclose(f);
	cr_assert_eq(lines, 8, "%zu rzprobe records for 8 processes", lines);
	if (system("python3 -c 1 2>/dev/null") == 0) {
		snprintf(buf, sizeof(buf), "python3 -c 'import json, sys\n"
			 "for l in open(sys.argv[1]): json.loads(l)' %s", path);
		cr_expect(system(buf) == 0, "the file is not JSON lines");
	}
	unlink(path);
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
	cr_assert(strstr(o.err, ": large_allocs=") != NULL,
		  "no report from sort: %s", o.err);
	outcome_release(&o);
}
