/*
 * stress_forkio.c - fork while other threads use stdio and allocate.
 *
 * glibc's fork runs the pthread_atfork prepare handlers first and takes
 * stdio's list lock only after them. An allocator that takes its locks in
 * a prepare handler then deadlocks against this triangle: a thread inside
 * getdelim (or a write to an open_memstream) holds its FILE lock and calls
 * realloc; a thread in fflush(NULL) holds the list lock and waits for that
 * FILE; the forking thread holds the allocator's lock and waits for the
 * list lock. The workers here build that triangle continuously: each reads
 * lines of 1 byte to 640 KiB (past the large threshold, so getdelim's
 * realloc reaches both the small delegate and the large engine), prints
 * into a memory stream, flushes every stream and allocates, while the main
 * thread forks. Every child allocates (small and large), uses stdio, and
 * ends with exit(0), which flushes every stream again.
 * May include: stress.h, the C library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

static atomic_bool forkio_stop;
static atomic_ulong forkio_lines;
static char *forkio_text;
static size_t forkio_len;

/* The text every stream reads: lines whose lengths cover tiny, small,
 * around the threshold and large. In memory (fmemopen), not in a file: a
 * child's exit would move a shared file offset under the parent. */
static void forkio_make_text(void)
{
	static const size_t lens[] = { 1, 100, 3000, 40000, 200000, 300000, 655360, 17 };
	size_t total = 0;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		total += lens[i];
	forkio_text = malloc(total);
	STRESS_CHECK(forkio_text != NULL, "malloc(%zu)", total);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t j = 0; j + 1 < lens[i]; j++)
			forkio_text[forkio_len++] = (char)('a' + j % 26);
		forkio_text[forkio_len++] = '\n';
	}
}

static FILE *forkio_open(void)
{
	FILE *f = fmemopen(forkio_text, forkio_len, "r");
	STRESS_CHECK(f != NULL, "fmemopen: %s", strerror(errno));
	return f;
}

static void *forkio_worker(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 7;
	FILE *in = forkio_open();
	char *line = NULL;
	size_t cap = 0;
	while (!atomic_load(&forkio_stop)) {
		ssize_t n = getdelim(&line, &cap, '\n', in);
		if (n < 0) {
			rewind(in);
			/* A fresh buffer now and then: getdelim grows it again. */
			free(line);
			line = NULL;
			cap = 0;
			continue;
		}
		STRESS_CHECK(line[0] == 'a' || line[0] == '\n', "getdelim read garbage");
		atomic_fetch_add(&forkio_lines, 1);
		uint64_t r = stress_rand(&rng);
		if (r % 4 == 0) {
			/* open_memstream grows its buffer with realloc under the
			 * stream's lock. */
			char *buf = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&buf, &len);
			STRESS_CHECK(m != NULL, "open_memstream");
			fwrite(line, 1, (size_t)n, m);
			fprintf(m, "%zd %llu\n", n, (unsigned long long)r);
			STRESS_CHECK(fclose(m) == 0 && len > (size_t)n, "memstream");
			free(buf);
		}
		if (r % 3 == 0)
			fflush(NULL);
		size_t s = stress_pick_size(&rng, 2 * MiB);
		unsigned char *p = malloc(s);
		STRESS_CHECK(p != NULL || s == 0, "malloc(%zu)", s);
		if (p && s)
			p[s - 1] = 1;
		free(p);
	}
	free(line);
	fclose(in);
	return NULL;
}

/* Allocates on both paths and uses stdio, then exit(0) (which flushes
 * every stream: the child's list lock and FILE locks must be usable). */
static _Noreturn void forkio_child(void)
{
	alarm(10);
	char *small = malloc(100), *big = malloc(stress_threshold + 4096);
	if (!small || !big)
		_exit(3);
	memset(big, 7, stress_threshold + 4096);
	big = realloc(big, 4 * stress_threshold);
	if (!big || big[0] != 7)
		_exit(4);
	FILE *in = fmemopen(forkio_text, forkio_len, "r");
	char *line = NULL;
	size_t cap = 0;
	if (!in || getdelim(&line, &cap, '\n', in) < 0)
		_exit(5);
	snprintf(small, 100, "%zu", cap);
	free(line);
	fclose(in);
	free(big);
	free(small);
	exit(0);
}

int stress_forkio(const struct stress_opts *o)
{
	unsigned nthreads = o->threads, forks = o->count ? o->count : 1000;
	pthread_t tid[64];
	double start = stress_now();

	STRESS_CHECK(nthreads <= 64, "at most 64 threads");
	forkio_make_text();
	fflush(stdout);
	for (unsigned i = 0; i < nthreads; i++)
		STRESS_CHECK(pthread_create(&tid[i], NULL, forkio_worker,
		    (void *)(uintptr_t)(i + 1)) == 0, "pthread_create");
	for (unsigned f = 0; f < forks; f++) {
		pid_t pid = fork();
		STRESS_CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0)
			forkio_child();
		int st;
		pid_t r;
		while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
			;
		STRESS_CHECK(r == pid, "waitpid: %s", strerror(errno));
		if (WIFSIGNALED(st))
			stress_fail("forkio: child %u killed by signal %d%s", f + 1, WTERMSIG(st),
			    WTERMSIG(st) == SIGALRM ? " (its watchdog: deadlock in the child)" : "");
		STRESS_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "forkio: child %u exited with %d", f + 1, WEXITSTATUS(st));
		if (o->verbose && (f + 1) % 100 == 0)
			printf("forkio: %u forks\n", f + 1);
	}
	atomic_store(&forkio_stop, true);
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	free(forkio_text);
	printf("forkio: %u forks while %u threads read %lu lines with getdelim, "
	    "flushed all streams and allocated: all children exited 0, %.1f s\n",
	    forks, nthreads, atomic_load(&forkio_lines), stress_now() - start);
	return 0;
}
