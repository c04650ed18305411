/*
 * probe_floor.c - scenarios for what a limit leaves a program started
 * under it (ulimit -v / -d): the same program run twice under the same
 * absolute limit, once with the C library's allocator (LD_PRELOAD removed
 * for that child) and once as the suite runs it, compares what each got.
 *
 *   floor-fill SIZE as|data MIB RATIO [later]   SIZE-byte blocks until NULL
 *       under a limit of MIB MiB: the library under test serves at least
 *       RATIO (a decimal) of the bytes glibc serves; "later": the program
 *       sets the limit itself once running (setrlimit), not before exec
 *   floor-first-malloc MIB              address space after a program's
 *       first malloc: at most MIB MiB more than under glibc
 *   floor-rss SIZE COUNT RATIO          peak RSS of COUNT written SIZE-byte
 *       blocks, no limit: at most RATIO of glibc's
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

/* A /proc/self/status field (VmSize, VmHWM) in bytes, read without
 * allocating (the process may be at its limit: fopen's buffer could fail). */
static size_t floor_status_bytes(const char *field)
{
	static char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	const char *v = strstr(buf, field);
	return v ? (size_t)strtoull(v + strlen(field) + 1, NULL, 10) << 10 : 0;
}

static void floor_report(const char *fd_arg, unsigned long long v)
{
	char line[32];
	int fd = atoi(fd_arg);
	int n = snprintf(line, sizeof(line), "%llu\n", v);
	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

/* floor-fill-child FD SIZE [RESOURCE BYTES]: mallocs SIZE bytes until
 * NULL, touching each block; reports the bytes served. The blocks are never
 * freed. With RESOURCE and BYTES it first sets that limit itself, after a
 * malloc has set the allocator up. */
static int floor_fill_child(int argc, char **argv)
{
	CHECK(argc >= 2, "usage: floor-fill-child FD SIZE [RESOURCE BYTES]");
	size_t size = strtoull(argv[1], NULL, 0), served = 0;
	CHECK(size > 0, "SIZE must be positive");
	if (argc >= 4) {
		free(malloc(100));
		rlim_t bytes = strtoull(argv[3], NULL, 10);
		struct rlimit rl = { bytes, bytes };
		CHECK(setrlimit(atoi(argv[2]), &rl) == 0, "setrlimit: %s", strerror(errno));
	}
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

/* floor-rss-child FD SIZE COUNT: COUNT blocks of SIZE bytes, each written
 * whole and kept; reports the peak RSS in KiB (VmHWM). */
static int floor_rss_child(int argc, char **argv)
{
	CHECK(argc >= 3, "usage: floor-rss-child FD SIZE COUNT");
	size_t size = strtoull(argv[1], NULL, 0), count = strtoull(argv[2], NULL, 0);
	for (size_t i = 0; i < count; i++) {
		unsigned char *p = malloc(size);
		CHECK(p != NULL, "malloc(%zu) %zu", size, i);
		memset(p, (int)(i & 0xff), size);
	}
	floor_report(argv[0], floor_status_bytes("VmHWM") >> 10);
	return 0;
}

/* floor-first-malloc-child FD: reports VmSize after one malloc(100). */
static int floor_first_malloc_child(int argc, char **argv)
{
	CHECK(argc >= 1, "usage: floor-first-malloc-child FD");
	char *p = malloc(100);
	CHECK(p != NULL, "malloc(100)");
	p[0] = 1;
	floor_report(argv[0], floor_status_bytes("VmSize"));
	free(p);
	return 0;
}

/* Runs "rzprobe CHILD FD ARG" under the limit (resource res, bytes), with
 * the preloaded library or without it (glibc); the number it reports.
 * later: the child is told to set the limit itself once running; bytes 0:
 * no limit. */
static unsigned long long floor_run(bool preloaded, int res, size_t bytes,
    const char *child, const char *arg, bool later, const char *arg2)
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
		if (!later && bytes != 0 && setrlimit(res, &rl) != 0)
			_exit(PROBE_SKIP);
		char fd_arg[16], res_arg[16], bytes_arg[32];
		snprintf(fd_arg, sizeof(fd_arg), "%d", fds[1]);
		snprintf(res_arg, sizeof(res_arg), "%d", res);
		snprintf(bytes_arg, sizeof(bytes_arg), "%zu", bytes);
		char *args[] = { (char *)"rzprobe", (char *)child, fd_arg, (char *)arg,
			later ? res_arg : (char *)arg2, bytes_arg, NULL };
		if (!later && !arg2)
			args[4] = NULL;
		else if (!later)
			args[5] = NULL;
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
	CHECK(argc >= 4, "usage: floor-fill SIZE as|data MIB RATIO [later]");
	int res = strcmp(argv[1], "data") == 0 ? RLIMIT_DATA : RLIMIT_AS;
	size_t limit = strtoull(argv[2], NULL, 10) * MiB;
	double want = strtod(argv[3], NULL);
	bool later = argc >= 5 && strcmp(argv[4], "later") == 0;
	if (!getenv("LD_PRELOAD")) {
		printf("rzprobe: floor-fill compares a preloaded library with glibc\n");
		return PROBE_SKIP;
	}
	unsigned long long glibc = floor_run(false, res, limit, "floor-fill-child", argv[0], later, NULL);
	unsigned long long ours = floor_run(true, res, limit, "floor-fill-child", argv[0], later, NULL);
	CHECK(glibc > 0, "glibc served nothing");
	double ratio = (double)ours / (double)glibc;
	CHECK(ratio >= want, "%s-byte blocks under a %s limit of %s MiB%s: %.1f MiB served, "
	      "glibc %.1f MiB (%.3f, want >= %.2f)", argv[0], argv[1], argv[2],
	      later ? " set while running" : "",
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
	unsigned long long glibc = floor_run(false, RLIMIT_AS, limit, "floor-first-malloc-child", NULL, false, NULL);
	unsigned long long ours = floor_run(true, RLIMIT_AS, limit, "floor-first-malloc-child", NULL, false, NULL);
	CHECK(ours <= glibc + most, "address space after the first malloc under RLIMIT_AS: "
	      "%.1f MiB, glibc %.1f MiB (want at most %zu MiB more)",
	      (double)ours / MiB, (double)glibc / MiB, most / MiB);
	return 0;
}

static int floor_rss(int argc, char **argv)
{
	CHECK(argc >= 3, "usage: floor-rss SIZE COUNT RATIO");
	double want = strtod(argv[2], NULL);
	if (!getenv("LD_PRELOAD")) {
		printf("rzprobe: floor-rss compares a preloaded library with glibc\n");
		return PROBE_SKIP;
	}
	unsigned long long glibc = floor_run(false, RLIMIT_AS, 0, "floor-rss-child", argv[0], false, argv[1]);
	unsigned long long ours = floor_run(true, RLIMIT_AS, 0, "floor-rss-child", argv[0], false, argv[1]);
	CHECK(glibc > 0, "glibc reported no RSS");
	double ratio = (double)ours / (double)glibc;
	CHECK(ratio <= want, "%s x %s-byte blocks, each written: peak RSS %llu KiB, glibc %llu KiB "
	      "(%.3f, want <= %.2f)", argv[1], argv[0], ours, glibc, ratio, want);
	return 0;
}

const struct probe_cmd probe_floor_cmds[] = {
	{ "floor-fill", floor_fill },
	{ "floor-fill-child", floor_fill_child },
	{ "floor-first-malloc", floor_first_malloc },
	{ "floor-first-malloc-child", floor_first_malloc_child },
	{ "floor-rss", floor_rss },
	{ "floor-rss-child", floor_rss_child },
	{ NULL, NULL },
};
