/*
 * os_posix.c - the process services of the platform contract (os.h) that
 * Linux and macOS share: environment lookup, clock, stderr reports, abort.
 * Never allocates: it runs inside malloc, possibly before libc is ready.
 * May include: os.h, posix.h, POSIX headers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/os.h"
#include "backend/posix.h"

const char *_rz_os_getenv(const char *name)
{
	char **env = _rz_os_environ();
	size_t n = strlen(name);
	if (!env)
		return NULL;
	for (char **e = env; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

uint64_t _rz_os_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Where reports go: stderr, or its private duplicate once kept. */
static int os_err_fd = STDERR_FILENO;

void _rz_os_keep_stderr(void)
{
	/* Above the descriptors programs usually juggle; close-on-exec so it
	 * never leaks into a child. */
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 100);
	if (fd >= 0)
		os_err_fd = fd;
}

void _rz_os_write_err(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(os_err_fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void _rz_os_abort(void)
{
	abort();
}
