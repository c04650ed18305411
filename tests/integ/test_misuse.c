/*
 * test_misuse.c - specification of how rezone reacts to a misused large
 * block: one diagnostic line on stderr naming rezone, the call and the
 * pointer, then abort(); in guard mode, a fault at the stray access
 * (scenarios in probe_misuse.c).
 *
 * Silently ignoring such a free would hide the bug; releasing the range
 * would unmap memory still in use, or someone else's memory.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spawn.h"

TestSuite(misuse, .timeout = 90);

/* The probe prints "ptr=0x..."; returns its hex digits without "0x" and
 * leading zeros, the part any printf-style rendering of it contains. */
static void misuse_pointer_digits(const char *out, char *digits, size_t len)
{
	const char *p = strstr(out, "ptr=0x");

	cr_assert(p != NULL, "the probe did not announce the pointer: %s", out);
	p += 6;
	while (*p == '0')
		p++;
	size_t n = strspn(p, "0123456789abcdefABCDEF");
	cr_assert(n > 0 && n < len, "bad pointer in: %s", out);
	memcpy(digits, p, n);
	digits[n] = '\0';
}

static void assert_aborts_with_diagnostic(const char *const env[],
					  const char *scenario,
					  const char *call)
{
	struct outcome o;
	char digits[32];
	const char *nl;

	cr_assert(spawn_probe(&o, env, scenario, NULL), "%s", o.err);
	cr_assert(outcome_signalled(&o, SIGABRT), "expected SIGABRT: %s",
		  outcome_describe(&o));
	misuse_pointer_digits(o.out, digits, sizeof(digits));
	nl = strchr(o.err, '\n');
	cr_assert(nl != NULL && nl[1] == '\0',
		  "expected exactly one line on stderr, got:\n%s", o.err);
	cr_assert(strstr(o.err, "rezone") != NULL,
		  "the diagnostic does not name rezone: %s", o.err);
	cr_assert(strstr(o.err, call) != NULL,
		  "the diagnostic does not name %s: %s", call, o.err);
	cr_assert(strcasestr(o.err, digits) != NULL,
		  "the diagnostic does not name the pointer 0x%s: %s", digits,
		  o.err);
	outcome_release(&o);
}

Test(misuse, free_of_a_page_inside_a_large_block_aborts_with_diagnostic)
{
	assert_aborts_with_diagnostic(NULL, "free_interior", "free");
}

Test(misuse, realloc_of_a_page_inside_a_large_block_aborts_with_diagnostic)
{
	assert_aborts_with_diagnostic(NULL, "realloc_interior", "realloc");
}

/* With a cache the first free parks the mapping instead of unmapping it:
 * the second free must still be recognised. */
Test(misuse, double_free_of_a_large_block_aborts_with_diagnostic)
{
	assert_aborts_with_diagnostic(PROBE_ENV("REZONE_CACHE=64m"),
				      "double_free", "free");
}

Test(misuse, double_free_of_a_large_block_without_cache_aborts_with_diagnostic)
{
	assert_aborts_with_diagnostic(PROBE_ENV("REZONE_CACHE=0"),
				      "double_free", "free");
}

/* An address nothing maps is only recognised with REZONE_CHECK_UNKNOWN=1
 * (it costs a mincore per free of a page-aligned small block); by default
 * such a pointer goes to jemalloc, whose behaviour on it is undefined. */
Test(misuse, free_of_an_unmapped_never_allocated_page_aborts_when_checking_unknown)
{
	assert_aborts_with_diagnostic(PROBE_ENV("REZONE_CHECK_UNKNOWN=1"),
				      "free_unmapped", "free");
}

/* A pointer into a large block at an offset that is not a multiple of a
 * page: by default it goes straight to jemalloc (the unaligned path is
 * the delegate's, with no lookup: undefined, as with jemalloc alone);
 * REZONE_CHECK_UNKNOWN=1 checks every pointer against the page map. */
Test(misuse, free_inside_a_large_block_at_any_offset_aborts_when_checking)
{
	assert_aborts_with_diagnostic(PROBE_ENV("REZONE_CHECK_UNKNOWN=1"),
				      "free_interior_unaligned", "free");
}

Test(misuse, realloc_inside_a_large_block_at_any_offset_aborts_when_checking)
{
	assert_aborts_with_diagnostic(PROBE_ENV("REZONE_CHECK_UNKNOWN=1"),
				      "realloc_interior_unaligned", "realloc");
}

Test(misuse, usable_size_inside_a_large_block_at_any_offset_aborts_when_checking)
{
	assert_aborts_with_diagnostic(PROBE_ENV("REZONE_CHECK_UNKNOWN=1"),
				      "usable_size_interior_unaligned",
				      "malloc_usable_size");
}

/* Guard mode: the fault comes from the access itself, so the program dies
 * by SIGSEGV at the faulty instruction (a debugger shows where). */
static void assert_faults(const char *scenario)
{
	struct outcome o;

	cr_assert(spawn_probe(&o, PROBE_ENV("REZONE_GUARD=1"), scenario, NULL),
		  "%s", o.err);
	cr_assert(!outcome_exited(&o, 3), "the access went through without a "
		  "fault (at the address the probe printed): %s",
		  outcome_describe(&o));
	cr_assert(outcome_signalled(&o, SIGSEGV) || outcome_signalled(&o, SIGBUS),
		  "expected a fault: %s", outcome_describe(&o));
	outcome_release(&o);
}

Test(misuse, guard_mode_faults_on_a_write_past_the_end_of_a_large_block)
{
	assert_faults("guard_overflow");
}

Test(misuse, guard_mode_faults_on_a_write_to_a_freed_large_block)
{
	assert_faults("guard_use_after_free");
}
