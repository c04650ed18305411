/*
 * test_fork_decision.c - fork's prepare handler takes only the engine's
 * locks when the forking thread's only company is rezone's helper thread,
 * and never when a program thread may be inside the small delegate.
 *
 * The decision counts the process's threads (stat of /proc/self/task) and
 * subtracts the helper thread if it runs. Since the helper thread ends
 * when idle and comes back for the next freed block, a program thread's
 * free can start it during the count: the count then holds the program
 * thread and not the helper, and "the helper runs" made it look like the
 * forking thread's only company (found in review). This file's stat()
 * starts the helper at that moment.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/decay.h"
#include "engine/engine.h"

#define MiB ((size_t)1 << 20)

static volatile bool start_helper_in_count;

/* A freed, written large block goes to the cache and starts the helper
 * thread; waits up to 2 s for it to run. */
static bool helper_started(void)
{
	unsigned char *p = _rz_malloc(4 * MiB);
	cr_assert_not_null(p);
	memset(p, 1, 4 * MiB);
	_rz_free(p);
	for (int i = 0; i < 200; i++) {
		if (_rz_decay_running_id() != 0)
			return true;
		usleep(10000);
	}
	return false;
}

/* The engine's thread count calls stat(); this one is the C library's
 * (fstatat), and starts the helper right after the count when asked. */
int stat(const char *path, struct stat *st)
{
	int r = fstatat(AT_FDCWD, path, st, 0);
	if (start_helper_in_count && strcmp(path, "/proc/self/task") == 0) {
		start_helper_in_count = false;
		(void)helper_started();
	}
	return r;
}

static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;

/* A program thread: it only waits, and is counted. */
static void *program_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hold);
	pthread_mutex_unlock(&hold);
	return NULL;
}

/* Runs fn in a child of the test's process, whose only thread is the
 * forking one (Criterion's worker has one more): 0 passed, 77 skipped,
 * anything else failed. */
static void in_a_child(int (*fn)(void))
{
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0)
		_exit(fn());
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "the child died (status %#x)", status);
	if (WEXITSTATUS(status) == 77)
		cr_skip_test("no helper thread in this build");
	cr_assert_eq(WEXITSTATUS(status), 0, "check %d failed in the child", WEXITSTATUS(status));
}

static int helper_alone(void)
{
	if (!helper_started())
		return 77;
	return _rz_fork_only_helper_threads() ? 0 : 1;
}

Test(fork_decision, the_helper_thread_alone_beside_the_forking_one_counts_as_rezones)
{
	_rz_init();
	in_a_child(helper_alone);
}

static int helper_starts_in_count(void)
{
	if (!helper_started())
		return 77;
	/* Let it end (idle for 1 s) so that the next free starts it anew. */
	for (int i = 0; i < 600 && _rz_decay_running_id() != 0; i++)
		usleep(10000);
	if (_rz_decay_running_id() != 0)
		return 2; /* the helper thread did not end when idle */
	pthread_t t;
	pthread_mutex_lock(&hold);
	if (pthread_create(&t, NULL, program_thread, NULL) != 0)
		return 3;
	start_helper_in_count = true;
	bool only = _rz_fork_only_helper_threads();
	if (start_helper_in_count)
		return 4; /* the count did not stat /proc/self/task */
	if (_rz_decay_running_id() == 0)
		return 5; /* the helper thread did not start */
	pthread_mutex_unlock(&hold);
	pthread_join(t, NULL);
	/* 6: a program thread beside the forking one was taken for rezone's. */
	return only ? 6 : 0;
}

Test(fork_decision, a_program_thread_counts_even_if_the_helper_starts_during_the_count)
{
	_rz_init();
	in_a_child(helper_starts_in_count);
}
