/*
 * test_zone_msl.c - detection of libmalloc's stack logging lite mode
 * (src/frontend/zone_msl.c) in the Mach SIMULATION: the environment
 * variable and a registered lite zone, and the one line that says rezone
 * is inactive. Simulation results, not macOS results.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machsim.h"
#include "frontend/zone_msl.h"

/* Calls the detection with stderr sent to a file; what it printed. */
static bool detect(char *out, size_t len)
{
	FILE *f = tmpfile();
	cr_assert_not_null(f);
	int saved = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
	bool inactive = _rz_zone_msl_inactive();
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	size_t n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
	return inactive;
}

static unsigned lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

TestSuite(zone_msl, .description = "stack logging lite mode detection (Mach simulation)");

Test(zone_msl, lite_mode_from_the_environment_makes_rezone_inactive)
{
	char out[512];
	unsetenv("MallocStackLogging");
	unsetenv("MallocStackLoggingNoCompact");
	cr_assert_not(detect(out, sizeof(out)));
	cr_assert_str_empty(out, "nothing said when lite mode is off");
	const char *lite[] = { "lite", "1" };
	for (int i = 0; i < 2; i++) {
		setenv("MallocStackLogging", lite[i], 1);
		cr_assert(detect(out, sizeof(out)), "MallocStackLogging=%s", lite[i]);
		cr_assert_eq(lines(out), 1, "one line: %s", out);
		cr_assert(strstr(out, "rezone is inactive"), "%s", out);
	}
	/* Other modes keep malloc going through the zones. */
	const char *other[] = { "full", "vm", "0" };
	for (int i = 0; i < 3; i++) {
		setenv("MallocStackLogging", other[i], 1);
		cr_assert_not(detect(out, sizeof(out)), "MallocStackLogging=%s", other[i]);
	}
	/* NoCompact implies full mode (malloc(3)). */
	setenv("MallocStackLogging", "lite", 1);
	setenv("MallocStackLoggingNoCompact", "1", 1);
	cr_assert_not(detect(out, sizeof(out)));
	unsetenv("MallocStackLogging");
	unsetenv("MallocStackLoggingNoCompact");
}

Test(zone_msl, a_registered_lite_zone_makes_rezone_inactive)
{
	char out[512];
	unsetenv("MallocStackLogging");
	cr_assert_not(detect(out, sizeof(out)));
	malloc_zone_t *lite = machsim_zone_create("MallocStackLoggingLiteZone");
	cr_assert(detect(out, sizeof(out)));
	cr_assert(strstr(out, "rezone is inactive"), "%s", out);
	malloc_zone_unregister(lite);
	cr_assert_not(detect(out, sizeof(out)));
}
