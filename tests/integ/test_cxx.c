/*
 * test_cxx.c - specification of the C++ operator new/delete family under
 * rezone (src/frontend/cxx_linux.c), checked in a preloaded C++ child
 * (scenarios in cxxprobe.cc, found through REZONE_CXX_PROBE; skipped when
 * the build had no C++ compiler).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include "spawn.h"

TestSuite(cxx, .timeout = 90);

static void cxx_passes(const char *scenario)
{
	const char *probe = getenv("REZONE_CXX_PROBE");
	struct outcome o;

	if (!probe || access(probe, X_OK) != 0)
		cr_skip_test("no C++ probe (built without a C++ compiler)");
	cr_assert(spawn_preloaded(&o, (const char *const[]){ probe, scenario, NULL },
				  NULL, NULL), "could not run %s: %s", probe, o.err);
	if (outcome_exited(&o, 77))
		cr_skip_test("%s", o.out);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	outcome_release(&o);
}

Test(cxx, every_operator_new_and_delete_is_rezones_own)
{
	cxx_passes("operators_are_rezones");
}

Test(cxx, large_new_is_a_rezone_large_block_and_delete_frees_it)
{
	cxx_passes("new_routes_to_rezone");
}

Test(cxx, sized_delete_frees_small_and_large_blocks)
{
	cxx_passes("sized_delete_frees");
}

Test(cxx, aligned_new_honours_the_alignment)
{
	cxx_passes("aligned_new_honours_alignment");
}

Test(cxx, nothrow_new_of_an_impossible_size_returns_null)
{
	cxx_passes("nothrow_new_returns_null");
}

Test(cxx, throwing_new_of_an_impossible_size_throws_bad_alloc)
{
	cxx_passes("throwing_new_throws_bad_alloc");
}

Test(cxx, new_calls_the_new_handler_until_it_gives_up)
{
	cxx_passes("new_handler_is_called");
}
