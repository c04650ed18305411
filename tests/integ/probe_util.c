/*
 * probe_util.c - checks and helpers shared by the rzprobe scenarios.
 *
 * Everything here goes through the standard allocator entry points or
 * dlsym, never through rezone directly: the probe must behave like any
 * unmodified program that rezone is injected into.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

void probe_fail(const char *file, int line, const char *cond,
		const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rzprobe: FAIL %s:%d: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(PROBE_FAILED);
}

size_t probe_opaque(size_t n)
{
	volatile size_t v = n;

	return v;
}

/* One 64-bit word of pattern per 8-byte slot, mixed from the slot index so
 * that a page or chunk showing up at the wrong offset never repeats the
 * expected bytes. Word-wise so that verifying a 64 MiB block stays cheap;
 * __builtin_memcpy because the probe is built with -fno-builtin, which
 * would turn each 8-byte copy into a library call. */
static inline uint64_t probe_word(size_t slot, unsigned seed)
{
	uint64_t x = (slot + 1) * 0x9E3779B97F4A7C15ULL ^ seed;

	return x ^ x >> 29;
}

static inline unsigned char probe_byte(size_t i, unsigned seed)
{
	return (unsigned char)(probe_word(i / 8, seed) >> (i % 8 * 8));
}

void probe_fill(void *p, size_t from, size_t to, unsigned seed)
{
	unsigned char *b = p;
	size_t i = from;

	for (; i < to && i % 8; i++)
		b[i] = probe_byte(i, seed);
	for (; i + 8 <= to; i += 8) {
		uint64_t w = probe_word(i / 8, seed);

		__builtin_memcpy(b + i, &w, 8);
	}
	for (; i < to; i++)
		b[i] = probe_byte(i, seed);
}

size_t probe_mismatch(const void *p, size_t from, size_t to, unsigned seed)
{
	const unsigned char *b = p;
	size_t i = from;

	for (; i < to && i % 8; i++)
		if (b[i] != probe_byte(i, seed))
			return i;
	for (; i + 8 <= to; i += 8) {
		uint64_t w;

		__builtin_memcpy(&w, b + i, 8);
		if (w != probe_word(i / 8, seed))
			break;
	}
	for (; i < to; i++)
		if (b[i] != probe_byte(i, seed))
			return i;
	return SIZE_MAX;
}

size_t probe_nonzero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return i;
	return SIZE_MAX;
}

void *probe_sym(const char *name)
{
	void *sym = dlsym(RTLD_DEFAULT, name);

	CHECK(sym != NULL, "%s is not exported by the preloaded library "
	      "(is rezone in LD_PRELOAD?)", name);
	return sym;
}

struct rezone_stats probe_stats(void)
{
	static int (*stats_fn)(struct rezone_stats *, size_t);
	struct rezone_stats s;

	if (!stats_fn)
		*(void **)&stats_fn = probe_sym("rezone_stats");
	memset(&s, 0, sizeof(s));
	CHECK(stats_fn(&s, sizeof(s)) == 0, "rezone_stats failed");
	return s;
}

uint64_t probe_growths(const struct rezone_stats *s)
{
	return s->grow_reserved + s->grow_in_place + s->grow_moved +
	       s->grow_copied;
}

/* A field of /proc/self/status (VmRSS, VmHWM, VmLck, VmSize in KiB;
 * Threads), 0 if absent. Read with open/read into a stack buffer, no
 * stdio: fopen's malloc fails where a probe has used up the map count or
 * the memory, and under the --with-small=system build that malloc is the
 * C library's, which rezone cannot help. */
size_t probe_status(const char *field)
{
	char buf[8192];
	size_t len = strlen(field), used = 0;
	ssize_t r;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0, "open /proc/self/status: %s", strerror(errno));
	while (used < sizeof(buf) - 1 &&
	       (r = read(fd, buf + used, sizeof(buf) - 1 - used)) > 0)
		used += (size_t)r;
	close(fd);
	buf[used] = '\0';
	for (char *line = buf; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			return strtoull(line + len + 1, NULL, 10);
	}
	return 0;
}

/* Address space the process has mapped, from /proc/self/statm. */
size_t probe_vm_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;

	CHECK(f != NULL, "cannot open /proc/self/statm");
	CHECK(fscanf(f, "%lu", &pages) == 1, "cannot read /proc/self/statm");
	fclose(f);
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

void probe_threads(unsigned n, void *(*fn)(void *), void *arg)
{
	pthread_t tid[64];

	CHECK(n <= 64, "at most 64 threads, not %u", n);
	for (unsigned i = 0; i < n; i++)
		CHECK(pthread_create(&tid[i], NULL, fn, arg) == 0,
		      "pthread_create %u", i);
	for (unsigned i = 0; i < n; i++)
		CHECK(pthread_join(tid[i], NULL) == 0, "pthread_join %u", i);
}

double probe_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int probe_child_result(pid_t pid, const char *scenario)
{
	int status;
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_SKIP)
		return PROBE_SKIP;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s in its child: %s %d",
	      scenario, WIFEXITED(status) ? "exit status" : "signal",
	      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}
