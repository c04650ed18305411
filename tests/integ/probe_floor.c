/*
 * probe_floor.c - scenarios for what a limit leaves a program started
 * under it (ulimit -v / -d): the same program run twice under the same
 * absolute limit, once with the C library's allocator (LD_PRELOAD removed
 * for that child) and once as the suite runs it, compares what each got.
 *
 *   floor-fill SIZE as|data MIB RATIO   SIZE-byte blocks until NULL under a
 *       limit of MIB MiB: the library under test serves at least RATIO
 *       (a decimal) of the bytes glibc serves
 *   floor-first-malloc MIB              address space after a program's
 *       first malloc: at most MIB MiB more than under glibc
 *
 * The children report one number on a pipe ("floor-*-child FD ...").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

#define MiB ((size_t)1 << 20)

/* VmSize in bytes, read without allocating (the process may be at its
 * limit: fopen's buffer could fail). */
static size_t floor_vm_size(void)
{
	static char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	const char *v = strstr(buf, "VmSize:");
	return v ? (size_t)strtoull(v + 7, NULL, 10) << 10 : 0;
}

static void floor_report(const char *fd_arg, unsigned long long v)
{
	char line[32];
	int fd = atoi(fd_arg);
	int n = snprintf(line, sizeof(line), "%llu\n", v);
	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

/* floor-fill-child FD SIZE: mallocs SIZE bytes until NULL, touching each
 * block; reports the bytes served. The blocks are never freed. */
static int floor_fill_child(int argc, char **argv)
{
	CHECK(argc >= 2, "usage: floor-fill-child FD SIZE");
	size_t size = strtoull(argv[1], NULL, 0), served = 0;
	CHECK(size > 0, "SIZE must be positive");
	for (;;) {
		unsigned char *p = malloc(size);
		if (!p)
			break;
		p[0] = p[size - 1] = 1;
		served += size;
	}
	floor_report(argv[0], served);
	return 0;
}

/* floor-first-malloc-child FD: reports VmSize after one malloc(100). */
static int floor_first_malloc_child(int argc, char **argv)
{
	CHECK(argc >= 1, "usage: floor-first-malloc-child FD");
	char *p = malloc(100);
	CHECK(p != NULL, "malloc(100)");
	p[0] = 1;
	floor_report(argv[0], floor_vm_size());
	free(p);
	return 0;
}

/* Runs "rzprobe CHILD FD ARG" under the limit (resource res, bytes), with
 * the preloaded library or without it (glibc); the number it reports. */
static unsigned long long floor_run(bool preloaded, int res, size_t bytes,
    const char *child, const char *arg)
{
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		close(fds[0]);
		if (!preloaded)
			unsetenv("LD_PRELOAD");
		struct rlimit rl = { bytes, bytes };
		if (setrlimit(res, &rl) != 0)
			_exit(PROBE_SKIP);
		char fd_arg[16];
		snprintf(fd_arg, sizeof(fd_arg), "%d", fds[1]);
		char *args[] = { (char *)"rzprobe", (char *)child, fd_arg, (char *)arg, NULL };
		execv("/proc/self/exe", args);
		_exit(PROBE_SKIP);
	}
	close(fds[1]);
	char buf[64] = "";
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_SKIP)
		exit(PROBE_SKIP);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && n > 0,
	      "%s (%s) under a limit of %zu MiB: %s %d", child,
	      preloaded ? "preloaded" : "glibc", bytes / MiB,
	      WIFEXITED(status) ? "exit status" : "signal",
	      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return strtoull(buf, NULL, 10);
}

static int floor_fill(int argc, char **argv)
{
	CHECK(argc >= 4, "usage: floor-fill SIZE as|data MIB RATIO");
	int res = strcmp(argv[1], "data") == 0 ? RLIMIT_DATA : RLIMIT_AS;
	size_t limit = strtoull(argv[2], NULL, 10) * MiB;
	double want = strtod(argv[3], NULL);
	if (!getenv("LD_PRELOAD")) {
		printf("rzprobe: floor-fill compares a preloaded library with glibc\n");
		return PROBE_SKIP;
	}
	unsigned long long glibc = floor_run(false, res, limit, "floor-fill-child", argv[0]);
	unsigned long long ours = floor_run(true, res, limit, "floor-fill-child", argv[0]);
	CHECK(glibc > 0, "glibc served nothing");
	double ratio = (double)ours / (double)glibc;
	CHECK(ratio >= want, "%s-byte blocks under a %s limit of %s MiB: %.1f MiB served, "
	      "glibc %.1f MiB (%.3f, want >= %.2f)", argv[0], argv[1], argv[2],
	      (double)ours / MiB, (double)glibc / MiB, ratio, want);
	return 0;
}

static int floor_first_malloc(int argc, char **argv)
{
	CHECK(argc >= 1, "usage: floor-first-malloc MIB");
	size_t most = strtoull(argv[0], NULL, 10) * MiB;
	if (!getenv("LD_PRELOAD")) {
		printf("rzprobe: floor-first-malloc compares a preloaded library with glibc\n");
		return PROBE_SKIP;
	}
	/* A limit far above both: the allocators start as under ulimit -v. */
	size_t limit = 1024 * MiB;
	unsigned long long glibc = floor_run(false, RLIMIT_AS, limit, "floor-first-malloc-child", NULL);
	unsigned long long ours = floor_run(true, RLIMIT_AS, limit, "floor-first-malloc-child", NULL);
	CHECK(ours <= glibc + most, "address space after the first malloc under RLIMIT_AS: "
	      "%.1f MiB, glibc %.1f MiB (want at most %zu MiB more)",
	      (double)ours / MiB, (double)glibc / MiB, most / MiB);
	return 0;
}

const struct probe_cmd probe_floor_cmds[] = {
	{ "floor-fill", floor_fill },
	{ "floor-fill-child", floor_fill_child },
	{ "floor-first-malloc", floor_first_malloc },
	{ "floor-first-malloc-child", floor_first_malloc_child },
	{ NULL, NULL },
};
