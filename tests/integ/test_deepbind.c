/*
 * test_deepbind.c - specification of libraries loaded with RTLD_DEEPBIND
 * under rezone (scenarios in probe_deepbind.c): rezone drops the flag so
 * that blocks cross the library boundary both ways, unless
 * REZONE_DEEPBIND=keep; it says so on stderr only when asked for notes.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "spawn.h"

TestSuite(deepbind, .timeout = 60);

/* The note appears with stats or a debugging option; these runs set
 * their own. */
#define DEEPBIND_QUIET "REZONE_STATS", "REZONE_GUARD", "REZONE_CHECK_UNKNOWN"

Test(deepbind, library_loaded_with_deepbind_frees_the_programs_blocks_and_back)
{
	assert_probe_passes(PROBE_ENV(DEEPBIND_QUIET), "deepbind_cross_free", "dlopen");
}

Test(deepbind, dlmopen_drops_deepbind_too)
{
	assert_probe_passes(NULL, "deepbind_cross_free", "dlmopen");
}

Test(deepbind, keep_passes_the_flag_to_the_c_library)
{
	assert_probe_passes(PROBE_ENV("REZONE_DEEPBIND=keep"), "deepbind_kept", "dlopen");
}

Test(deepbind, dropping_is_silent_by_default)
{
	struct outcome o;

	cr_assert(spawn_probe(&o, PROBE_ENV(DEEPBIND_QUIET), "deepbind_cross_free",
			      "dlopen", NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert(strstr(o.err, "DEEPBIND") == NULL, "unexpected note: %s", o.err);
	outcome_release(&o);
}

Test(deepbind, dropping_is_noted_once_with_stats)
{
	struct outcome o;

	cr_assert(spawn_probe(&o, PROBE_ENV("REZONE_STATS=1"), "deepbind_cross_free",
			      "dlopen", NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	const char *note = strstr(o.err, "rezone: dlopen: RTLD_DEEPBIND dropped");
	cr_assert(note != NULL, "no note on stderr: %s", o.err);
	const char *eol = strchr(note, '\n');
	cr_assert(eol && strstr(eol, "DEEPBIND") == NULL, "more than one note: %s", o.err);
	outcome_release(&o);
}
