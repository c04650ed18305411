/*
 * test_threads.c - specification of rezone under concurrency: threads
 * allocating, resizing and freeing mixed sizes and each other's blocks
 * (scenarios in probe_threads.c and probe_churn.c).
 */
#include "config.h"

#include <criterion/criterion.h>

#include "spawn.h"

TestSuite(threads, .timeout = 120);

Test(threads, eight_threads_exchanging_mixed_blocks_keep_contents_and_counts)
{
	assert_probe_passes(NULL, "threads_exchange", "8", "3000");
}

Test(threads, threads_created_in_rounds_free_blocks_of_exited_threads)
{
	assert_probe_passes(NULL, "threads_rounds", "12", "8", "200");
}

/* Threads created before memory ran out make their first allocation
 * after: NULL with ENOMEM or a block, never a crash (it was SIGSEGV in
 * jemalloc's thread set-up). */
Test(threads, threads_first_allocating_after_memory_ran_out_get_null_not_a_crash)
{
	assert_probe_passes(NULL, "threads_late_start", "8");
}

/* The same with C11 threads: glibc's thrd_create does not call the
 * exported pthread_create, so rezone wraps it too. */
Test(threads, c11_threads_first_allocating_after_memory_ran_out_get_null_not_a_crash)
{
	assert_probe_passes(NULL, "threads_late_start", "8", "c11");
}

/* Threads created before the program set its limit (setrlimit, prlimit
 * on its own pid or thread id, or the system call directly), first
 * allocating after the limit was filled: NULL with ENOMEM or a block,
 * never a crash (it was SIGSEGV in jemalloc's arena and thread-cache
 * set-up). */
Test(threads, threads_made_before_a_limit_first_allocating_after_it_filled_get_null_not_a_crash)
{
	assert_probe_passes(NULL, "threads_before_limit", "8");
	assert_probe_passes(NULL, "threads_before_limit", "8", "prlimit");
	assert_probe_passes(NULL, "threads_before_limit", "8", "prlimit-tid");
	/* A limit rezone does not see set (as from another process). */
	assert_probe_passes(NULL, "threads_before_limit", "8", "syscall");
	/* Another option whose name begins with "tcache" is not the user
	 * choosing the thread cache. */
	assert_probe_passes(PROBE_ENV("MALLOC_CONF=tcache_max:4096"),
			    "threads_before_limit", "8");
}

/* The user's MALLOC_CONF=tcache:true is kept: the threads are set up
 * with a cache, and one whose cache stacks cannot be had goes without
 * instead of crashing (SIGSEGV in 3 runs of 3 before; src/README.md,
 * "Third step"). */
Test(threads, with_the_users_tcache_a_thread_whose_cache_cannot_be_had_goes_without)
{
	assert_probe_passes(PROBE_ENV("MALLOC_CONF=tcache:true"), "threads_before_limit", "8");
	assert_probe_passes(PROBE_ENV("MALLOC_CONF=tcache:true"), "limit_during_first_malloc",
			    "40", "syscall");
}

/* A thread made when little is left under the limit: its small blocks
 * come from an arena that exists, as under glibc (jemalloc could not make
 * the thread's own, 2 MiB, and gave NULL to 64 of 64). */
Test(threads, a_thread_made_near_the_limit_gets_small_blocks_as_under_glibc)
{
	assert_probe_passes(NULL, "threads_new_near_limit", "2");
	assert_probe_passes(NULL, "threads_new_near_limit", "4");
}

/* A limit set while a thread made before it is inside its first
 * allocation: a block or NULL, never a crash (SIGSEGV in jemalloc's
 * thread-cache set-up, 28 runs of 40). */
Test(threads, a_limit_set_during_a_threads_first_malloc_is_not_a_crash)
{
	assert_probe_passes(NULL, "limit_during_first_malloc", "40");
}

/* The same with the limit set by the prlimit64 system call itself, which
 * rezone does not see: the thread's arena or cache stacks could not be
 * had inside jemalloc's own malloc (SIGSEGV in tcache_arena_associate,
 * 12 runs of 40; src/README.md, "Reaching jemalloc's internal calls"). */
Test(threads, a_limit_rezone_does_not_see_set_during_a_threads_first_malloc_is_not_a_crash)
{
	assert_probe_passes(NULL, "limit_during_first_malloc", "40", "syscall");
}

/* A thread made before the limit whose one call so far was a free, and
 * one set up in full: with 2 MiB left, jemalloc made the first a new
 * arena that took the last room and then served NULL to 64 of 64
 * malloc(64), where glibc serves 64. */
/* A cancel pending when a new thread starts acts in the program's start
 * routine, not inside rezone's set-up of the thread (which read procfs
 * with open(), a cancellation point: the start routine never ran, and the
 * next thread hung on jemalloc's arenas lock). */
Test(threads, a_thread_cancelled_at_once_under_a_limit_runs_its_start_routine)
{
	assert_probe_passes(NULL, "threads_cancel_before_start");
}

/* malloc is not a cancellation point, under a limit too: it read procfs
 * with open() while jemalloc held its arenas lock. */
Test(threads, a_pending_cancel_does_not_act_inside_malloc)
{
	assert_probe_passes(NULL, "threads_cancel_before_start", "in-malloc");
}

Test(threads, a_thread_made_before_the_limit_gets_small_blocks_with_little_left)
{
	assert_probe_passes(NULL, "threads_freed_before_limit", "free", "2");
	assert_probe_passes(NULL, "threads_freed_before_limit", "malloc", "2");
	assert_probe_passes(NULL, "threads_freed_before_limit", "free", "4");
}

/* A thread's result reaches pthread_join however it ends (return,
 * pthread_exit, cancellation), with and without a memory limit (with one,
 * rezone's pthread_create starts it through a trampoline). */
Test(threads, a_threads_result_reaches_join_however_it_ends)
{
	assert_probe_passes(NULL, "threads_start_contract");
}

Test(threads, a_threads_result_reaches_join_however_it_ends_under_a_limit)
{
	assert_probe_passes(NULL, "threads_start_contract", "limit");
}

/* rezone's decay thread made a program that had freed large blocks
 * multi-threaded, and the kernel refuses setns into a mount namespace and
 * unshare(CLONE_NEWUSER) to such a process (EINVAL, both, before): rezone
 * ends its thread and the call is made again (namespace_linux.c). */
Test(threads, a_program_that_freed_large_blocks_can_enter_namespaces_that_want_one_thread)
{
	assert_probe_passes(NULL, "threads_alone_for_namespaces");
}

/* The decay thread ended for unshare returns the cache at once (nothing
 * would until the next large call: 248 MB resident 3 s later), and a
 * retried call that succeeds leaves errno alone (it was EINVAL). */
Test(threads, unsharing_returns_the_cache_and_leaves_errno_alone)
{
	assert_probe_passes(NULL, "threads_alone_returns_cache");
}

/* With a decay time of 0 the stop's "everything is due" wrapped around
 * and returned nothing (242 MiB resident after unshare). */
Test(threads, unsharing_returns_the_cache_with_a_decay_time_of_0)
{
	assert_probe_passes(PROBE_ENV("REZONE_CACHE", "REZONE_CACHE_DECAY_MS=0"),
	    "threads_alone_returns_cache");
}

/* One failed start of the helper thread (RLIMIT_NPROC reached for a
 * moment) left every later freed block resident until a large call: the
 * next free tries again. */
Test(threads, a_helper_thread_that_could_not_start_is_tried_again)
{
	assert_probe_passes(PROBE_ENV("REZONE_CACHE", "REZONE_CACHE_DECAY_MS=200"),
	    "threads_helper_retries");
}

/* The helper thread that returns the cache ends once idle, and a later
 * freed block starts it again. */
Test(threads, the_helper_thread_ends_when_idle_and_comes_back_when_needed)
{
	assert_probe_passes(PROBE_ENV("REZONE_CACHE", "REZONE_CACHE_DECAY_MS=200"),
	    "threads_helper_leaves");
}
