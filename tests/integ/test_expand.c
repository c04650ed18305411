/*
 * test_expand.c - specification of rezone_expand, reached through dlsym
 * in a preloaded child (scenarios in probe_expand.c).
 */
#include "config.h"

#include <criterion/criterion.h>

#include "spawn.h"

TestSuite(rezone_expand, .timeout = 90);

Test(rezone_expand, grows_large_block_in_place_or_fails_leaving_it_intact)
{
	assert_probe_passes(NULL, "expand_large");
}

/* Headroom is set explicitly: with 100% reserved beyond a 1 MiB block,
 * growth to 2 MiB has nowhere to fail. */
Test(rezone_expand, growth_within_headroom_and_shrink_keep_the_pointer)
{
	assert_probe_passes(PROBE_ENV("REZONE_HEADROOM=100"),
			    "expand_within_headroom");
}

Test(rezone_expand, impossible_growth_fails_with_enomem_leaving_block_intact)
{
	assert_probe_passes(NULL, "expand_fail");
}

Test(rezone_expand, null_pointer_or_zero_size_fails_with_einval)
{
	assert_probe_passes(NULL, "expand_einval");
}

Test(rezone_expand, small_block_resizes_only_within_its_usable_size)
{
	assert_probe_passes(NULL, "expand_small");
}
