/*
 * test_calloc.c - specification of calloc under rezone: zeroed memory,
 * also when a large block is recycled, and overflow detection
 * (scenarios in probe_malloc.c).
 */
#include "config.h"

#include <criterion/criterion.h>

#include "spawn.h"

TestSuite(calloc, .timeout = 90);

Test(calloc, memory_is_zeroed_for_small_and_large_sizes_after_reuse)
{
	assert_probe_passes(NULL, "calloc_zeroed");
}

/* The cache is switched on explicitly, so this holds in every run of the
 * suite, the no-cache one included. */
Test(calloc, large_block_recycled_from_the_cache_is_zeroed)
{
	assert_probe_passes(PROBE_ENV("REZONE_CACHE=256m"),
			    "calloc_after_cached_free");
}

Test(calloc, overflowing_product_fails_with_enomem_in_both_argument_orders)
{
	assert_probe_passes(NULL, "calloc_overflow");
}
