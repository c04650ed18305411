/*
 * test_maps.c - specification of large-block naming: /proc/PID/maps shows
 * rezone's mappings as "[anon:rezone...]" on kernels that support names
 * (Linux 5.17+ with CONFIG_ANON_VMA_NAME); skipped elsewhere.
 */
#include "config.h"

#include <criterion/criterion.h>

#include "spawn.h"

TestSuite(maps, .timeout = 90);

Test(maps, large_block_mapping_is_named_rezone_before_and_after_growth)
{
	assert_probe_passes(NULL, "maps_named");
}
