/*
 * test_free.c - specification of free and its variants (cfree, free_sized,
 * free_aligned_sized) under rezone (scenarios in probe_malloc.c).
 */
#include "config.h"

#include <criterion/criterion.h>

#include "spawn.h"

TestSuite(free, .timeout = 90);

Test(free, null_pointer_is_a_no_op_that_keeps_errno)
{
	assert_probe_passes(NULL, "free_null");
}

Test(free, keeps_errno_for_small_and_large_blocks)
{
	assert_probe_passes(NULL, "free_errno");
}

/* Without the cache every large free is an munmap: errno must survive it. */
Test(free, keeps_errno_when_large_blocks_are_unmapped_without_cache)
{
	assert_probe_passes(PROBE_ENV("REZONE_CACHE=0"), "free_errno");
}

Test(free, sized_aligned_sized_and_cfree_variants_release_blocks)
{
	assert_probe_passes(NULL, "free_variants");
}
