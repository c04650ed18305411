/*
 * test_align.c - specification of the aligned allocation calls under
 * rezone (scenarios in probe_align.c).
 */
#include "config.h"

#include <criterion/criterion.h>

#include "spawn.h"

TestSuite(posix_memalign, .timeout = 90);
TestSuite(aligned_alloc, .timeout = 90);
TestSuite(memalign, .timeout = 90);
TestSuite(valloc, .timeout = 90);

Test(posix_memalign, aligns_small_and_large_blocks_from_8_bytes_to_1_mib)
{
	assert_probe_passes(NULL, "posix_memalign_aligned");
}

Test(posix_memalign, bad_alignment_gives_einval_and_leaves_output_untouched)
{
	assert_probe_passes(NULL, "posix_memalign_bad");
}

Test(posix_memalign, aligned_blocks_resize_like_any_other_block)
{
	assert_probe_passes(NULL, "aligned_realloc");
}

Test(aligned_alloc, aligns_small_and_large_blocks_from_8_bytes_to_1_mib)
{
	assert_probe_passes(NULL, "aligned_alloc_aligned");
}

Test(aligned_alloc, alignment_not_a_power_of_two_gives_null_and_einval)
{
	assert_probe_passes(NULL, "aligned_alloc_bad");
}

/* Covers posix_memalign, aligned_alloc and memalign alike. */
Test(aligned_alloc, impossible_size_with_any_alignment_gives_enomem)
{
	assert_probe_passes(NULL, "aligned_huge");
}

Test(memalign, aligns_small_and_large_blocks_from_8_bytes_to_1_mib)
{
	assert_probe_passes(NULL, "memalign_aligned");
}

/* glibc's memalign(24, n) succeeds; so must rezone's (aligned_alloc and
 * posix_memalign still refuse it). */
Test(memalign, alignment_not_a_power_of_two_is_rounded_up_as_glibc_does)
{
	assert_probe_passes(NULL, "memalign_rounds_up");
}

Test(valloc, valloc_and_pvalloc_return_page_aligned_whole_pages)
{
	assert_probe_passes(NULL, "valloc_pvalloc");
}
