/*
 * probe_threads.c - rzprobe scenarios with many threads allocating,
 * resizing and freeing mixed sizes, and freeing each other's blocks.
 *
 * Afterwards every block has been freed, so the live large-block count
 * must be back where it started: a lost update under contention shows up
 * there even when no contents were damaged.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(HAVE_THREADS_H)
#include <threads.h>
#endif

#include "probe.h"

#define MiB ((size_t)1 << 20)

static unsigned threads_iters;
static atomic_uint threads_seed;

static void *threads_worker(void *arg)
{
	uint64_t rng = 0x9E3779B97F4A7C15ULL * (atomic_fetch_add(&threads_seed, 1) + 1);

	(void)arg;
	for (unsigned i = 0; i < threads_iters; i++)
		probe_churn_step(&rng);
	return NULL;
}

static unsigned arg_or(int argc, char **argv, int i, unsigned dflt)
{
	return argc > i ? (unsigned)strtoul(argv[i], NULL, 0) : dflt;
}

/* threads_exchange [THREADS [ITERATIONS]]: one long round. */
static int threads_exchange(int argc, char **argv)
{
	unsigned nthreads = arg_or(argc, argv, 0, 8);
	struct rezone_stats before = probe_stats(), after;

	threads_iters = arg_or(argc, argv, 1, 3000);
	probe_churn_init(64);
	probe_threads(nthreads, threads_worker, NULL);
	probe_churn_drain();
	after = probe_stats();
	CHECK(after.large_live == before.large_live, "%lld large blocks live "
	      "after every block was freed",
	      (long long)(after.large_live - before.large_live));
	return 0;
}

/* threads_rounds [ROUNDS [THREADS [ITERATIONS]]]: threads are created and
 * joined in rounds; blocks left in the slots are freed by threads of later
 * rounds, after the threads that allocated them have exited. */
static int threads_rounds(int argc, char **argv)
{
	unsigned rounds = arg_or(argc, argv, 0, 12);
	unsigned nthreads = arg_or(argc, argv, 1, 8);
	struct rezone_stats before = probe_stats(), after;

	threads_iters = arg_or(argc, argv, 2, 200);
	probe_churn_init(256);
	for (unsigned r = 0; r < rounds; r++)
		probe_threads(nthreads, threads_worker, NULL);
	probe_churn_drain();
	after = probe_stats();
	CHECK(after.large_live == before.large_live, "%lld large blocks live "
	      "after every block was freed",
	      (long long)(after.large_live - before.large_live));
	return 0;
}

/* ---- threads whose first allocation comes after memory ran out ---------- */

static pthread_barrier_t late_running, late_start;
static atomic_uint late_null, late_served;

static atomic_int late_tid; /* a worker's thread id (not the pid) */

static void *late_worker(void *arg)
{
	(void)arg;
	atomic_store(&late_tid, (int)gettid());
	pthread_barrier_wait(&late_running);
	pthread_barrier_wait(&late_start);
	static const size_t sizes[] = { 16, PROBE_SMALL, 64 * 1024, PROBE_LARGE };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		errno = 0;
		char *p = malloc(sizes[i]);
		if (!p) {
			CHECK(errno == ENOMEM, "malloc(%zu) failed with errno %d",
			      sizes[i], errno);
			atomic_fetch_add(&late_null, 1);
			continue;
		}
		memset(p, 3, sizes[i]);
		free(p);
		atomic_fetch_add(&late_served, 1);
	}
	return NULL;
}

/* Barriers for nthreads workers and the main thread; attr gets small
 * stacks, so the limits stay small. */
static void late_setup(unsigned nthreads, pthread_attr_t *attr)
{
	CHECK(nthreads <= 64, "at most 64 threads, not %u", nthreads);
	CHECK(pthread_barrier_init(&late_running, NULL, nthreads + 1) == 0, "barrier");
	CHECK(pthread_barrier_init(&late_start, NULL, nthreads + 1) == 0, "barrier");
	CHECK(pthread_attr_init(attr) == 0, "pthread_attr_init");
	CHECK(pthread_attr_setstacksize(attr, 256 * 1024) == 0, "stack size");
}

/* Fills what the limit leaves: large blocks, then ever smaller ones,
 * until nothing is left; the bytes held go to *held. */
struct late_link {
	struct late_link *next;
};

static struct late_link *late_fill(size_t *held)
{
	struct late_link *head = NULL;
	for (size_t size = PROBE_LARGE; size >= 64; size /= 4)
		for (;;) {
			struct late_link *e = malloc(size);
			if (!e)
				break;
			e->next = head;
			head = e;
			*held += size;
		}
	return head;
}

static void late_free(struct late_link *head)
{
	while (head) {
		struct late_link *next = head->next;
		free(head);
		head = next;
	}
}

/* Undoes late_setup and late_fill, after the workers are joined, and
 * requires that the limit held a fair amount. */
static void late_teardown(pthread_attr_t *attr, struct late_link *head, size_t held,
    const char *who)
{
	late_free(head);
	pthread_attr_destroy(attr);
	pthread_barrier_destroy(&late_running);
	pthread_barrier_destroy(&late_start);
	CHECK(held > 32 * PROBE_MIB, "only %zu bytes held under the limit", held);
	printf("held %zu MiB; %s: %u served, %u NULL\n", held >> 20, who,
	       atomic_load(&late_served), atomic_load(&late_null));
}

#if defined(HAVE_THREADS_H)
static int late_worker_c11(void *arg)
{
	late_worker(arg);
	return 0;
}
#endif

/* threads_late_start [THREADS [c11]]: under RLIMIT_AS, threads are created
 * while memory is still plentiful, start and wait; the main thread then
 * fills the address space up to the limit, and only then do the threads
 * make their first allocation.
 * Each must get a block or NULL with ENOMEM, as under glibc (glibc's
 * tst-malloc-thread-fail); the small delegate must not crash setting up
 * the thread (src/frontend/thread_linux.c). With "c11", the threads are
 * C11's (thrd_create, whose stack size comes from the process default). */
static int threads_late_start(int argc, char **argv)
{
	unsigned nthreads = arg_or(argc, argv, 0, 8);
	bool c11 = argc > 1 && strcmp(argv[1], "c11") == 0;
	pthread_t tid[64];
#if defined(HAVE_THREADS_H)
	thrd_t ctid[64];
#else
	if (c11)
		return PROBE_SKIP; /* no C11 threads in this C library */
#endif
	pthread_attr_t attr;

	late_setup(nthreads, &attr);
	if (c11)
		CHECK(pthread_setattr_default_np(&attr) == 0, "default stack size");
	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_AS, &old) == 0, "getrlimit: %s", strerror(errno));
	lim = old;
	lim.rlim_cur = probe_vm_bytes() + (64 + 2 * nthreads) * PROBE_MIB;
	CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: %s", strerror(errno));
	for (unsigned i = 0; i < nthreads; i++)
#if defined(HAVE_THREADS_H)
		if (c11)
			CHECK(thrd_create(&ctid[i], late_worker_c11, NULL) == thrd_success,
			      "thrd_create %u", i);
		else
#endif
			CHECK(pthread_create(&tid[i], &attr, late_worker, NULL) == 0,
			      "pthread_create %u", i);
	pthread_barrier_wait(&late_running);
	size_t held = 0;
	struct late_link *head = late_fill(&held);
	pthread_barrier_wait(&late_start);
	for (unsigned i = 0; i < nthreads; i++)
#if defined(HAVE_THREADS_H)
		if (c11)
			CHECK(thrd_join(ctid[i], NULL) == thrd_success, "thrd_join %u", i);
		else
#endif
			CHECK(pthread_join(tid[i], NULL) == 0, "pthread_join %u", i);
	setrlimit(RLIMIT_AS, &old);
	late_teardown(&attr, head, held, "late threads");
	return 0;
}

/* threads_before_limit [THREADS [prlimit|prlimit-tid|syscall]]: threads
 * are created and start while there is no limit, and wait without
 * allocating; the main thread then sets RLIMIT_AS itself (setrlimit, or
 * prlimit on its own pid or its own thread id, or the prlimit64 system call
 * made directly, which rezone does not see, as a limit set by another
 * process),
 * fills it, and only then do the threads make their first allocation.
 * Each must get a block or NULL with ENOMEM, as under glibc: the small
 * delegate must not crash setting the thread up (it mapped an arena and
 * thread-cache stacks there: SIGSEGV; src/frontend/limit_linux.c). */
static int threads_before_limit(int argc, char **argv)
{
	unsigned nthreads = arg_or(argc, argv, 0, 8);
	bool use_prlimit = argc > 1 && strcmp(argv[1], "prlimit") == 0;
	bool use_tid = argc > 1 && strcmp(argv[1], "prlimit-tid") == 0;
	bool use_syscall = argc > 1 && strcmp(argv[1], "syscall") == 0;
	pthread_t tid[64];
	pthread_attr_t attr;

	late_setup(nthreads, &attr);
	for (unsigned i = 0; i < nthreads; i++)
		CHECK(pthread_create(&tid[i], &attr, late_worker, NULL) == 0,
		      "pthread_create %u", i);
	pthread_barrier_wait(&late_running);
	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_AS, &old) == 0, "getrlimit: %s", strerror(errno));
	lim = old;
	lim.rlim_cur = probe_vm_bytes() + (64 + 2 * nthreads) * PROBE_MIB;
	if (use_syscall)
		CHECK(syscall(SYS_prlimit64, 0, RLIMIT_AS, &lim, NULL) == 0,
		      "prlimit64: %s", strerror(errno));
	else if (use_prlimit || use_tid)
		/* A thread's id names the whole process too. */
		CHECK(prlimit(use_tid ? (pid_t)atomic_load(&late_tid) : getpid(), RLIMIT_AS,
			      &lim, NULL) == 0,
		      "prlimit: %s", strerror(errno));
	else
		CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: %s", strerror(errno));
	size_t held = 0;
	struct late_link *head = late_fill(&held);
	pthread_barrier_wait(&late_start);
	for (unsigned i = 0; i < nthreads; i++)
		CHECK(pthread_join(tid[i], NULL) == 0, "pthread_join %u", i);
	CHECK(setrlimit(RLIMIT_AS, &old) == 0, "setrlimit back: %s", strerror(errno));
	late_teardown(&attr, head, held, "threads made before the limit");
	return 0;
}

/* threads_new_near_limit [FREED_MIB]: under RLIMIT_AS, the main thread
 * fills the limit, frees FREED_MIB (default 2) of 1 MiB blocks, and
 * creates a thread (its stack mapped before) whose 64 mallocs of 64 bytes must all
 * be served, as under glibc (it gives such a thread an arena that exists).
 * jemalloc could not make the thread's own arena (2 MiB of metadata) and
 * returned NULL to each: 0 of 64 (src/backend/small_jemalloc.c). */
static void *near_worker(void *arg)
{
	atomic_uint *served = arg;
	void *keep[64];
	for (unsigned i = 0; i < 64; i++) {
		errno = 0;
		keep[i] = malloc(64);
		if (keep[i])
			atomic_fetch_add(served, 1);
		else
			CHECK(errno == ENOMEM, "malloc(64) failed with errno %d", errno);
	}
	for (unsigned i = 0; i < 64; i++)
		free(keep[i]);
	return NULL;
}

static int threads_new_near_limit(int argc, char **argv)
{
	unsigned freed = arg_or(argc, argv, 0, 2), spare = 8;
	void *first[16 + 8];
	CHECK(freed <= 16, "at most 16 MiB freed, not %u", freed);
	/* The thread's stack is mapped before the limit: what is freed is
	 * left to the allocator (a stack mapped under it found it taken, now
	 * and then, under a loaded make check). */
	size_t stack_size = 256 * 1024;
	void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(stack != MAP_FAILED, "mmap of a stack: %s", strerror(errno));
	pthread_attr_t attr;
	CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
	CHECK(pthread_attr_setstack(&attr, stack, stack_size) == 0, "pthread_attr_setstack");
	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_AS, &old) == 0, "getrlimit: %s", strerror(errno));
	lim = old;
	lim.rlim_cur = probe_vm_bytes() + 64 * PROBE_MIB;
	CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: %s", strerror(errno));
	for (unsigned i = 0; i < freed + spare; i++)
		CHECK((first[i] = malloc(PROBE_MIB)) != NULL, "malloc(1 MiB) under the limit");
	size_t held = 0;
	struct late_link *head = late_fill(&held);
	for (unsigned i = 0; i < freed; i++)
		free(first[i]);
	atomic_uint served = 0;
	pthread_t t;
	/* Making the thread takes a little of the creator's memory (its
	 * trampoline note, glibc's TLS vector), for which jemalloc may need a
	 * new radix leaf (4 MiB, in a 6 MiB base block) when the room freed
	 * lies in a GiB it has not used: then EAGAIN, whatever the thread
	 * would do (4 runs in 180 under a loaded machine). One more MiB at a
	 * time; if that never does, the thread's part cannot be tested. */
	int err;
	while ((err = pthread_create(&t, &attr, near_worker, &served)) == EAGAIN && spare > 0) {
		free(first[freed++]);
		spare--;
	}
	if (err == 0)
		CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	while (spare > 0)
		free(first[freed + --spare]);
	CHECK(setrlimit(RLIMIT_AS, &old) == 0, "setrlimit back: %s", strerror(errno));
	late_free(head);
	pthread_attr_destroy(&attr);
	munmap(stack, stack_size);
	if (err == EAGAIN) {
		printf("skipped: pthread_create failed with %u MiB freed (EAGAIN)\n", freed);
		return PROBE_SKIP;
	}
	CHECK(err == 0, "pthread_create with %u MiB freed: %s", freed, strerror(err));
	printf("held %zu MiB, freed %u: the new thread got %u of 64\n", held >> 20, freed,
	       atomic_load(&served));
	CHECK(atomic_load(&served) == 64, "the new thread got %u of 64 small blocks",
	      atomic_load(&served));
	return 0;
}

/* threads_freed_before_limit [free|malloc [FREED_MIB]]: a thread made
 * before any limit makes one call and waits: free of a block the main
 * thread made (jemalloc then sets the thread up only in part, with no
 * cache and no arena), or malloc and free (in full). The main thread sets
 * RLIMIT_AS, fills it, frees FREED_MIB (default 2) of 1 MiB blocks, and
 * releases the thread, whose 64 mallocs of 64 bytes must all be served,
 * as under glibc. With "free" jemalloc could not make the thread's arena
 * (2 MiB) and gave NULL to 64 of 64: its arena choice, called from its
 * own object, was out of the linker's --wrap (src/README.md, "Reaching
 * jemalloc's internal calls"). */
static atomic_uint freed_served;
static void *freed_block;
static bool freed_first_malloc;

static void *freed_worker(void *arg)
{
	(void)arg;
	if (freed_first_malloc)
		free(malloc(64));
	free(freed_block);
	pthread_barrier_wait(&late_running);
	pthread_barrier_wait(&late_start);
	void *keep[64];
	for (unsigned i = 0; i < 64; i++) {
		errno = 0;
		keep[i] = malloc(64);
		if (keep[i])
			atomic_fetch_add(&freed_served, 1);
		else
			CHECK(errno == ENOMEM, "malloc(64) failed with errno %d", errno);
	}
	for (unsigned i = 0; i < 64; i++)
		free(keep[i]);
	return NULL;
}

static void freed_child(unsigned freed)
{
	void *first[16];
	pthread_attr_t attr;
	late_setup(1, &attr);
	CHECK((freed_block = malloc(64)) != NULL, "malloc(64)");
	pthread_t t;
	CHECK(pthread_create(&t, &attr, freed_worker, NULL) == 0, "pthread_create");
	pthread_barrier_wait(&late_running);
	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_AS, &old) == 0, "getrlimit: %s", strerror(errno));
	lim = old;
	lim.rlim_cur = probe_vm_bytes() + 64 * PROBE_MIB;
	CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: %s", strerror(errno));
	for (unsigned i = 0; i < freed; i++)
		CHECK((first[i] = malloc(PROBE_MIB)) != NULL, "malloc(1 MiB) under the limit");
	size_t held = 0;
	struct late_link *head = late_fill(&held);
	for (unsigned i = 0; i < freed; i++)
		free(first[i]);
	pthread_barrier_wait(&late_start);
	CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	CHECK(setrlimit(RLIMIT_AS, &old) == 0, "setrlimit back: %s", strerror(errno));
	late_teardown(&attr, head, held, "a thread made before the limit");
	printf("first call %s, %u MiB freed: the thread got %u of 64\n",
	       freed_first_malloc ? "malloc" : "free", freed, atomic_load(&freed_served));
	fflush(stdout);
	_exit(atomic_load(&freed_served) == 64 ? 0 : 3);
}

static int threads_freed_before_limit_child(int argc, char **argv)
{
	freed_first_malloc = argc > 0 && strcmp(argv[0], "malloc") == 0;
	freed_child(arg_or(argc, argv, 1, 2));
	return 0; /* not reached: freed_child exits */
}

/* Each try in a process of its own, exec'd afresh. Up to three: jemalloc's
 * radix tree needs a 4 MiB leaf (in a 6 MiB block of metadata) for memory
 * in a GiB it has not used yet, so where the kernel puts the thread's
 * first page decides whether 2 MiB can serve it (the first page fell into
 * a new GiB in 1 run of 20-75 on a loaded machine, and then the thread got
 * NULL after its arena's first blocks, for want of the leaf). A forked
 * try inherits its parent's layout, so a run whose layout did that failed
 * all three (2 runs of 75 here, and under make check -j2); exec draws a
 * new one. The failure this probe is for happened in every run. */
static int threads_freed_before_limit(int argc, char **argv)
{
	unsigned freed = arg_or(argc, argv, 1, 2), tries = 0;
	CHECK(freed <= 16, "at most 16 MiB freed, not %u", freed);
	char mib[16];
	snprintf(mib, sizeof(mib), "%u", freed);
	char *args[] = { (char *)"rzprobe", (char *)"threads_freed_before_limit_child",
		(char *)(argc > 0 ? argv[0] : "free"), mib, NULL };
	int status;
	do {
		fflush(NULL);
		pid_t pid = fork();
		CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			execv("/proc/self/exe", args);
			_exit(127);
		}
		CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
		CHECK(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3),
		      "the child %s %d", WIFSIGNALED(status) ? "died of signal" : "exited with",
		      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	} while (WEXITSTATUS(status) != 0 && ++tries < 3);
	CHECK(WEXITSTATUS(status) == 0, "the thread got fewer than 64 of 64 small blocks in %u tries",
	      tries);
	return 0;
}

/* limit_during_first_malloc [ROUNDS [syscall]]: ROUNDS times, a child with 64 MiB
 * in use releases a thread made before any limit to its first malloc and,
 * 10-40 us later, sets RLIMIT_AS or RLIMIT_DATA (setrlimit, or prlimit on
 * its pid; with "syscall", the prlimit64 system call made directly, which
 * rezone does not see) to 1 MiB, far below its use. Every malloc of the thread must
 * give a block or NULL with ENOMEM, as under glibc. The limit took hold
 * while the thread was inside its first jemalloc call, with its thread
 * cache made and its arena not yet: SIGSEGV in tcache_arena_associate,
 * 28 runs of 40 at 30 us (src/frontend/limit_linux.c). */
static atomic_int first_go;
static bool first_syscall;

static void *first_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&first_go))
		;
	for (unsigned k = 0; k < 2000; k++) {
		errno = 0;
		char *p = malloc(16 + (k % 64) * 16);
		if (!p) {
			CHECK(errno == ENOMEM, "malloc failed with errno %d", errno);
			continue;
		}
		*(volatile char *)p = 1;
		free(p);
	}
	return NULL;
}

static void first_child(unsigned round)
{
	char *big = malloc(64 * PROBE_MIB);
	CHECK(big != NULL, "malloc(64 MiB)");
	memset(big, 1, 64 * PROBE_MIB);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, first_worker, NULL) == 0, "pthread_create");
	usleep(2000);
	atomic_store(&first_go, 1);
	double lead = 10e-6 * (1 + round % 4), t0 = probe_now_s();
	while (probe_now_s() - t0 < lead)
		;
	struct rlimit lim = { PROBE_MIB, RLIM_INFINITY };
	int resource = round % 2 ? RLIMIT_DATA : RLIMIT_AS;
	if (first_syscall)
		CHECK(syscall(SYS_prlimit64, 0, resource, &lim, NULL) == 0,
		      "prlimit64: %s", strerror(errno));
	else if (round % 3 == 2)
		CHECK(prlimit(getpid(), resource, &lim, NULL) == 0, "prlimit: %s", strerror(errno));
	else
		CHECK(setrlimit(resource, &lim) == 0, "setrlimit: %s", strerror(errno));
	CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	_exit(0);
}

static int limit_during_first_malloc(int argc, char **argv)
{
	unsigned rounds = arg_or(argc, argv, 0, 40), bad = 0;
	first_syscall = argc > 1 && strcmp(argv[1], "syscall") == 0;
	for (unsigned r = 0; r < rounds; r++) {
		fflush(NULL);
		pid_t pid = fork();
		CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0)
			first_child(r);
		int status;
		CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			if (bad++ == 0)
				fprintf(stderr, "round %u: %s %d\n", r,
				    WIFSIGNALED(status) ? "signal" : "exit status",
				    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		}
	}
	CHECK(bad == 0, "%u of %u children failed", bad, rounds);
	return 0;
}

/* ---- the start routine's contract, with rezone's pthread_create ---------- */

static void *ends_by_return(void *arg)
{
	free(malloc(PROBE_SMALL));
	return arg;
}

static void *ends_by_exit(void *arg)
{
	free(malloc(PROBE_SMALL));
	pthread_exit(arg);
}

static void *ends_by_cancel(void *arg)
{
	(void)arg;
	for (;;) {
		free(malloc(PROBE_SMALL));
		pthread_testcancel();
	}
	return NULL;
}

#if defined(HAVE_THREADS_H)
static int c11_ends_by_return(void *arg)
{
	free(malloc(PROBE_SMALL));
	return *(int *)arg;
}

static int c11_ends_by_exit(void *arg)
{
	free(malloc(PROBE_SMALL));
	thrd_exit(*(int *)arg + 1);
}
#endif

/* threads_start_contract [limit]: a thread's result reaches pthread_join
 * whether it returns, calls pthread_exit or is cancelled, and a C11
 * thread's reaches thrd_join whether it returns or calls thrd_exit. With "limit",
 * under a (generous) RLIMIT_AS, where rezone starts threads through its
 * trampoline (src/frontend/thread_linux.c). */
static int threads_start_contract(int argc, char **argv)
{
	struct rlimit old, lim;
	bool limit = argc > 0 && strcmp(argv[0], "limit") == 0;
	static int token;
	pthread_t t;
	void *r;

	CHECK(getrlimit(RLIMIT_AS, &old) == 0, "getrlimit: %s", strerror(errno));
	if (limit) {
		lim = old;
		lim.rlim_cur = probe_vm_bytes() + ((size_t)8 << 30);
		CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: %s", strerror(errno));
	}
	CHECK(pthread_create(&t, NULL, ends_by_return, &token) == 0, "create");
	CHECK(pthread_join(t, &r) == 0 && r == &token, "returned %p, not %p", r, (void *)&token);
	CHECK(pthread_create(&t, NULL, ends_by_exit, &token) == 0, "create");
	CHECK(pthread_join(t, &r) == 0 && r == &token, "pthread_exit gave %p, not %p", r, (void *)&token);
	CHECK(pthread_create(&t, NULL, ends_by_cancel, NULL) == 0, "create");
	CHECK(pthread_cancel(t) == 0, "pthread_cancel");
	CHECK(pthread_join(t, &r) == 0 && r == PTHREAD_CANCELED, "cancelled thread gave %p", r);
#if defined(HAVE_THREADS_H)
	/* C11's threads end with an int (src/frontend/thread_linux.c). */
	static int code = 41;
	thrd_t c;
	int res = 0;
	CHECK(thrd_create(&c, c11_ends_by_return, &code) == thrd_success, "thrd_create");
	CHECK(thrd_join(c, &res) == thrd_success && res == 41, "C11 thread returned %d", res);
	CHECK(thrd_create(&c, c11_ends_by_exit, &code) == thrd_success, "thrd_create");
	CHECK(thrd_join(c, &res) == thrd_success && res == 42, "thrd_exit gave %d", res);
#endif
	if (limit)
		setrlimit(RLIMIT_AS, &old);
	return 0;
}

static volatile int cancel_started;

static void *cancel_start(void *arg)
{
	cancel_started = 1; /* no cancellation point before this */
	return arg;
}

/* threads_cancel_before_start: under RLIMIT_AS (where new threads run
 * rezone's set-up before the program's start routine), 20 threads each
 * cancelled right after pthread_create, on one CPU so that the cancel is
 * pending when the thread starts. A deferred cancel acts only at a
 * cancellation point: each start routine runs (and returns), as under
 * glibc. rezone's set-up read procfs with open(), a cancellation point:
 * the thread was cancelled there holding jemalloc's arenas lock, its
 * start routine never ran, and the next thread hung (the alarm). */
static int threads_cancel_before_start_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	alarm(20);
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	(void)sched_setaffinity(0, sizeof(one), &one);
	int ran = 0;
	for (int i = 0; i < 20; i++) {
		pthread_t t;
		void *ret;
		cancel_started = 0;
		CHECK(pthread_create(&t, NULL, cancel_start, NULL) == 0, "pthread_create");
		pthread_cancel(t);
		CHECK(pthread_join(t, &ret) == 0, "pthread_join");
		ran += cancel_started;
	}
	printf("%d of 20 cancelled threads ran their start routine\n", ran);
	fflush(stdout);
	return ran == 20 ? 0 : 1;
}

static pthread_barrier_t cancel_barrier;
static volatile int cancel_malloc_returned;

static void *cancel_in_malloc_start(void *arg)
{
	pthread_barrier_wait(&cancel_barrier); /* not a cancellation point */
	void *p = malloc(64);                  /* its first allocation */
	cancel_malloc_returned = 1;
	free(p);
	pthread_testcancel();
	return arg;
}

/* threads_cancel_in_malloc: 12 threads, the first made before the program
 * sets RLIMIT_AS, each cancelled before its first malloc. malloc is not a
 * cancellation point: it returns, and the cancel acts at
 * pthread_testcancel. rezone's malloc read procfs with open() while
 * jemalloc made the thread an arena: the thread was cancelled inside
 * malloc, holding the arenas lock, and the next thread hung. */
static int threads_cancel_in_malloc_child(int argc, char **argv)
{
	(void)argc; (void)argv;
	alarm(20);
	int returned = 0;
	for (int i = 0; i < 12; i++) {
		CHECK(pthread_barrier_init(&cancel_barrier, NULL, 2) == 0, "pthread_barrier_init");
		pthread_t t;
		cancel_malloc_returned = 0;
		CHECK(pthread_create(&t, NULL, cancel_in_malloc_start, NULL) == 0, "pthread_create");
		if (i == 0) {
			struct rlimit rl = { (rlim_t)4 << 30, RLIM_INFINITY };
			if (setrlimit(RLIMIT_AS, &rl) != 0)
				return PROBE_SKIP;
		}
		pthread_cancel(t);
		pthread_barrier_wait(&cancel_barrier);
		CHECK(pthread_join(t, NULL) == 0, "pthread_join");
		returned += cancel_malloc_returned;
		pthread_barrier_destroy(&cancel_barrier);
	}
	printf("malloc returned in %d of 12 cancelled threads\n", returned);
	fflush(stdout);
	return returned == 12 ? 0 : 1;
}

/* threads_cancel_before_start [in-malloc]: either child, in a process
 * exec'd afresh (under the limit for the first): its threads are the
 * first the delegate sets up arenas for. */
static int threads_cancel_before_start(int argc, char **argv)
{
	bool in_malloc = argc > 0 && strcmp(argv[0], "in-malloc") == 0;
	const char *child = in_malloc ? "threads_cancel_in_malloc_child" :
	    "threads_cancel_before_start_child";
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct rlimit rl = { (rlim_t)4 << 30, RLIM_INFINITY };
		if (!in_malloc && setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(PROBE_SKIP);
		char *args[] = { (char *)"rzprobe", (char *)child, NULL };
		execv("/proc/self/exe", args);
		_exit(PROBE_SKIP);
	}
	return probe_child_result(pid, child);
}

static int threads_now(void)
{
	return (int)probe_status("Threads");
}

/* threads_alone_for_namespaces: a single-threaded program that freed large
 * blocks can still enter namespaces that want one thread, as under glibc:
 * setns into its own mount namespace, then unshare(CLONE_NEWUSER). Both
 * failed with EINVAL beside rezone's decay thread. Skips where the kernel
 * or the user may not (EPERM, ENOSPC: user namespaces off). */
static int threads_alone_for_namespaces(int argc, char **argv)
{
	(void)argc; (void)argv;
	for (size_t sz = MiB; sz <= 8 * MiB; sz *= 2) {
		unsigned char *p = malloc(probe_opaque(sz));
		CHECK(p != NULL, "malloc(%zu)", sz);
		memset(p, 1, sz);
		free(p);
	}
	int before = threads_now();
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0, "open /proc/self/ns/mnt: %s", strerror(errno));
	errno = 0;
	int r = setns(fd, CLONE_NEWNS);
	int err = errno;
	close(fd);
	if (r != 0 && err == EPERM) {
		printf("setns(mount namespace): EPERM (not privileged here)\n");
		return PROBE_SKIP;
	}
	CHECK(r == 0, "setns(own mount namespace) with %d threads: %s", before, strerror(err));
	/* The decay thread may come back with the next large call. */
	free(malloc(probe_opaque(2 * MiB)));
	before = threads_now();
	errno = 0;
	r = unshare(CLONE_NEWUSER);
	err = errno;
	if (r != 0 && (err == EPERM || err == ENOSPC || err == EUSERS)) {
		printf("unshare(CLONE_NEWUSER): %s (user namespaces not allowed here)\n", strerror(err));
		return PROBE_SKIP;
	}
	CHECK(r == 0, "unshare(CLONE_NEWUSER) with %d threads: %s", before, strerror(err));
	return 0;
}

/* VmRSS in bytes. */
static size_t threads_rss(void)
{
	return probe_status("VmRSS") << 10;
}

/* Waits up to ms milliseconds for the process to have `want` threads. */
static bool threads_become(int want, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (threads_now() == want)
			return true;
		usleep(10000);
	}
	return threads_now() == want;
}

/* threads_alone_returns_cache: 8 x 30 MiB written and freed, then
 * unshare(CLONE_THREAD) (a no-op that the kernel refuses, EINVAL, to a
 * process of several threads): it succeeds, leaves errno as it was, and
 * the cached memory is gone at once (the stopped decay thread would not
 * return it: 248 MB resident 3 s later). Skips where the memory stays
 * cached with no helper thread (the --with-small=system build, whose
 * cache goes back at the next large call): unshare has nothing to stop. */
static int threads_alone_returns_cache(int argc, char **argv)
{
	(void)argc; (void)argv;
	void *b[8];
	for (int i = 0; i < 8; i++) {
		b[i] = malloc(probe_opaque(30 * MiB));
		CHECK(b[i] != NULL, "malloc(30 MiB)");
		memset(b[i], i + 1, 30 * MiB);
	}
	for (int i = 0; i < 8; i++)
		free(b[i]);
	if (!threads_become(2, 1000) && threads_rss() >= 64 * MiB) {
		printf("rzprobe: no helper thread runs: nothing for unshare to stop\n");
		return PROBE_SKIP;
	}
	errno = EDOM;
	int r = unshare(CLONE_THREAD);
	int err = errno;
	CHECK(r == 0, "unshare(CLONE_THREAD) after freeing 8 x 30 MiB: %s", strerror(err));
	CHECK(err == EDOM, "unshare succeeded and left errno %d (%s)", err, strerror(err));
	size_t rss = threads_rss();
	CHECK(rss < 64 * MiB, "%zu MiB resident right after unshare", rss >> 20);
	return 0;
}

/* threads_helper_leaves: rezone's helper thread (it returns the cache on
 * time) ends once it has nothing to do, so that a program that freed a
 * large block is single-threaded again (it stayed for the process's
 * life: fork in CPython 3.12 warns of threads, sandboxes refuse), and it
 * comes back for the next freed block, whose memory still goes back. Run
 * with REZONE_CACHE_DECAY_MS=200: the thread may end ~1.2 s after the
 * free. */
static int threads_helper_leaves(int argc, char **argv)
{
	(void)argc; (void)argv;
	CHECK(threads_now() == 1, "%d threads at start", threads_now());
	for (int round = 0; round < 2; round++) {
		unsigned char *p = malloc(probe_opaque(16 * MiB));
		CHECK(p != NULL, "malloc(16 MiB)");
		memset(p, 1, 16 * MiB);
		size_t before = threads_rss();
		free(p);
		if (!threads_become(2, 1000)) {
			printf("rzprobe: no helper thread started (round %d)\n", round);
			return round == 0 ? PROBE_SKIP : 1;
		}
		CHECK(threads_become(1, 6000), "round %d: %d threads 6 s after the free",
		      round, threads_now());
		size_t after = threads_rss();
		CHECK(after + 12 * MiB < before, "round %d: %zu KiB resident before the free, %zu after",
		      round, before >> 10, after >> 10);
	}
	return 0;
}

/* Writes and frees a block of mib MiB. */
static void threads_free_written(size_t mib)
{
	unsigned char *p = malloc(probe_opaque(mib * MiB));
	CHECK(p != NULL, "malloc(%zu MiB)", mib);
	memset(p, 1, mib * MiB);
	free(p);
}

/* threads_helper_retries: the helper thread, which now ends when idle and
 * is made again for the next freed block, could not be made once
 * (RLIMIT_NPROC reached for a moment): from then on nothing returned the
 * cache but a later large call, and 100 MiB freed after the limit was
 * lifted stayed resident (10 s and more). The next free tries again.
 * RLIMIT_NPROC does not bind root: as root the probe runs as nobody. */
static int threads_helper_retries(int argc, char **argv)
{
	(void)argc; (void)argv;
	if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
		printf("rzprobe: cannot become nobody: %s\n", strerror(errno));
		return PROBE_SKIP;
	}
	threads_free_written(16);
	if (!threads_become(2, 1000)) {
		printf("rzprobe: no helper thread in this build\n");
		return PROBE_SKIP;
	}
	CHECK(threads_become(1, 6000), "%d threads 6 s after the first free", threads_now());

	struct rlimit old, one;
	CHECK(getrlimit(RLIMIT_NPROC, &old) == 0, "getrlimit: %s", strerror(errno));
	one = old;
	one.rlim_cur = 1;
	CHECK(setrlimit(RLIMIT_NPROC, &one) == 0, "setrlimit(RLIMIT_NPROC, 1): %s", strerror(errno));
	threads_free_written(32);
	int during = threads_now();
	CHECK(setrlimit(RLIMIT_NPROC, &old) == 0, "setrlimit back: %s", strerror(errno));
	if (during != 1) {
		printf("rzprobe: RLIMIT_NPROC did not stop the thread\n");
		return PROBE_SKIP;
	}

	threads_free_written(100);
	for (int i = 0; i < 60 && threads_rss() >= 48 * MiB; i++)
		usleep(100000);
	size_t rss = threads_rss();
	CHECK(rss < 48 * MiB, "%zu MiB resident 6 s after freeing 100 MiB (a thread start had failed once)",
	      rss >> 20);
	return 0;
}

const struct probe_cmd probe_threads_cmds[] = {
	{ "threads_helper_retries", threads_helper_retries },
	{ "threads_helper_leaves", threads_helper_leaves },
	{ "threads_alone_returns_cache", threads_alone_returns_cache },
	{ "threads_alone_for_namespaces", threads_alone_for_namespaces },
	{ "threads_cancel_before_start", threads_cancel_before_start },
	{ "threads_cancel_before_start_child", threads_cancel_before_start_child },
	{ "threads_cancel_in_malloc_child", threads_cancel_in_malloc_child },
	{ "threads_start_contract", threads_start_contract },
	{ "threads_late_start", threads_late_start },
	{ "threads_before_limit", threads_before_limit },
	{ "threads_new_near_limit", threads_new_near_limit },
	{ "threads_freed_before_limit", threads_freed_before_limit },
	{ "threads_freed_before_limit_child", threads_freed_before_limit_child },
	{ "limit_during_first_malloc", limit_during_first_malloc },
	{ "threads_exchange", threads_exchange },
	{ "threads_rounds", threads_rounds },
	{ NULL, NULL },
};
