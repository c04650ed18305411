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

/* A large block the program protected (mprotect) and freed is not
 * reused with that protection: the next block there was written and
 * faulted (SIGSEGV at 256 KiB-8 MiB; glibc runs these). Below the large
 * threshold blocks are jemalloc's, which behaves as jemalloc alone. */
Test(free, a_block_the_program_protected_is_not_reused_with_its_protection)
{
	assert_probe_passes(NULL, "protect_free", "262144");
	assert_probe_passes(NULL, "protect_free", "1048576");
	assert_probe_passes(NULL, "protect_free", "8388608");
}

/* A guard page near a block's end (an interior address): shrinking past
 * it and growing back, or freeing the block, leaves no page the next
 * writes fault on. */
Test(free, a_guard_page_the_program_set_does_not_outlive_its_block)
{
	assert_probe_passes(NULL, "protect_guard", "shrink");
	assert_probe_passes(NULL, "protect_guard", "free");
}
