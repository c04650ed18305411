/*
 * test_malloc.c - specification of malloc and malloc_usable_size under
 * rezone, checked in a preloaded child (scenarios in probe_malloc.c).
 */
#include "config.h"

#include <criterion/criterion.h>

#include "spawn.h"

TestSuite(malloc, .timeout = 90);

Test(malloc, zero_size_returns_unique_non_null_pointers)
{
	assert_probe_passes(NULL, "malloc_zero");
}

Test(malloc, size_beyond_ptrdiff_max_fails_with_enomem)
{
	assert_probe_passes(NULL, "malloc_huge");
}

Test(malloc, usable_size_covers_request_and_every_usable_byte_is_writable)
{
	assert_probe_passes(NULL, "usable_size");
}

/* glibc's internal names, used by some programs and interposers, must be
 * rezone's own entry points (scenario in probe_aliases.c). */
Test(malloc, libc_aliases_are_rezone_entry_points_interchangeable_with_std)
{
	assert_probe_passes(NULL, "libc_aliases");
}

/* Address space held by freed large mappings (the cache) is given back
 * when the small delegate runs out: under RLIMIT_AS it must not fail. */
Test(malloc, small_malloc_out_of_address_space_reclaims_the_large_cache)
{
	assert_probe_passes(NULL, "small_oom_reclaims_cache");
}

/* Programs that assume the brk heap below the break, as glibc leaves it
 * (stress-ng's brk stressor), find memory there. */
Test(malloc, the_byte_below_the_program_break_is_memory_after_a_malloc)
{
	assert_probe_passes(NULL, "brk_heap");
}
