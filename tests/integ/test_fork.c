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

/* A child of a multithreaded parent sets a memory limit and makes a
 * thread: it must not hang (it spun in 6 of 50 children when a parent
 * thread was setting itself up at the fork). */
Test(fork, child_setting_a_limit_then_making_a_thread_does_not_hang)
{
	assert_probe_passes(NULL, "fork_limit_thread", "100");
}
