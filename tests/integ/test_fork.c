/*
 * test_fork.c - specification of fork under rezone: a child forked while
 * other threads allocate can allocate, free and exit (scenario in
 * probe_fork.c, guarded by watchdogs in the probe and the spawner).
 */
#include "config.h"

#include <criterion/criterion.h>

#include "spawn.h"

TestSuite(fork, .timeout = 120);

Test(fork, child_forked_during_concurrent_allocation_allocates_and_exits)
{
	assert_probe_passes(NULL, "fork_while_allocating", "24", "4");
}
