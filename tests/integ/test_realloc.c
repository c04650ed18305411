/*
 * test_realloc.c - specification of realloc and reallocarray under rezone
 * (scenarios in probe_realloc.c).
 */
#include "config.h"

#include <criterion/criterion.h>

#include "spawn.h"

TestSuite(realloc, .timeout = 90);
TestSuite(reallocarray, .timeout = 90);

Test(realloc, growth_and_shrink_preserve_small_block_contents)
{
	assert_probe_passes(NULL, "realloc_small");
}

Test(realloc, growth_preserves_large_block_contents_up_to_48_mib)
{
	assert_probe_passes(NULL, "realloc_large");
}

Test(realloc, interleaved_growth_of_neighbouring_large_blocks_preserves_all)
{
	assert_probe_passes(NULL, "realloc_interleaved");
}

Test(realloc, two_thousand_live_large_blocks_grow_in_rounds_keeping_contents)
{
	assert_probe_passes(NULL, "realloc_many");
}

Test(realloc, contents_survive_crossing_the_large_threshold_both_ways)
{
	assert_probe_passes(NULL, "realloc_across_threshold");
}

Test(realloc, growing_small_block_takes_a_cached_mapping_past_the_realloc_threshold)
{
	assert_probe_passes(PROBE_ENV("REZONE_LARGE_THRESHOLD=256k",
	    "REZONE_REALLOC_THRESHOLD=32k", "REZONE_CACHE=256m", "REZONE_GUARD",
	    "REZONE_HEADROOM"), "realloc_grows_early");
}

Test(realloc, shrinking_a_large_block_keeps_its_prefix)
{
	assert_probe_passes(NULL, "realloc_shrink");
}

Test(realloc, zero_size_frees_the_block_and_returns_null_as_glibc_does)
{
	assert_probe_passes(NULL, "realloc_zero");
}

Test(realloc, null_pointer_behaves_as_malloc)
{
	assert_probe_passes(NULL, "realloc_null");
}

Test(realloc, failure_returns_null_with_enomem_and_keeps_the_block)
{
	assert_probe_passes(NULL, "realloc_fail");
}

Test(reallocarray, overflow_fails_with_enomem_in_both_orders_keeping_block)
{
	assert_probe_passes(NULL, "reallocarray_overflow");
}

Test(reallocarray, growth_preserves_contents)
{
	assert_probe_passes(NULL, "reallocarray_grow");
}

/* A mapping refused on the way to a success must not leave ENOMEM behind:
 * a successful call keeps errno as the caller had it. */
Test(realloc, a_large_call_that_succeeds_keeps_errno)
{
	assert_probe_passes(NULL, "large_success_keeps_errno");
}
