/*
 * measure.c - runs one workload and reports what the kernel saw of it.
 *
 *   measure [-t SECONDS] [-e NAME=VALUE]... [-i FILE | -p FILE] [-o FILE]
 *           [--] PROGRAM [ARG]...
 *
 * Forks PROGRAM, waits with wait4() and, after the program's own output,
 * prints one line on stdout:
 *   maxrss_kb=N minflt=N majflt=N utime_us=N stime_us=N elapsed_ns=N status=S
 * where S is exit:N, signal:N or timeout. wait4() gives the rusage of that
 * child alone, which /usr/bin/time would too but is not always installed.
 *
 * The -e variables (LD_PRELOAD, DYLD_INSERT_LIBRARIES, REZONE_STATS) are set
 * in the child only, so the allocator under test never runs inside this
 * process. -t kills the child after SECONDS (a slow allocator must not stall
 * the whole run). -i gives the child FILE as its standard input; -p feeds
 * FILE through a pipe instead (a program that reads a pipe grows its buffer
 * as the data comes, one that reads a regular file may size it up front or
 * map it); the feeder is a separate process, not counted. -o sends the
 * child's standard output to FILE (the runner checksums it).
 * Exit status: the child's; 128+N if killed by signal N; 124 on timeout;
 * 125 when measure itself fails; 127 when PROGRAM cannot be executed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MEASURE_MAX_ENV 64

static volatile sig_atomic_t measure_timed_out;
static pid_t measure_child;

static void measure_alarm(int sig)
{
	(void)sig;
	measure_timed_out = 1;
	kill(measure_child, SIGKILL);
}

static void measure_usage(void)
{
	fprintf(stderr, "usage: measure [-t SECONDS] [-e NAME=VALUE]... [-i FILE | -p FILE] "
		"[-o FILE] [--] PROGRAM [ARG]...\n");
	exit(125);
}

static uint64_t measure_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long long measure_us(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Opens path onto fd in the child, or exits 125. */
static void measure_redirect(const char *path, int fd, int flags)
{
	int f = open(path, flags, 0644);

	if (f < 0 || dup2(f, fd) < 0) {
		fprintf(stderr, "measure: %s: %s\n", path, strerror(errno));
		_exit(125);
	}
	close(f);
}

/* Forks a process that copies path into a pipe; returns the read end. */
static int measure_feeder(const char *path, pid_t *pid)
{
	int fds[2];

	if (pipe(fds) < 0)
		return -1;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		static char buf[1 << 16];
		int in = open(path, O_RDONLY);
		ssize_t n;

		close(fds[0]);
		if (in < 0) {
			fprintf(stderr, "measure: %s: %s\n", path, strerror(errno));
			_exit(125);
		}
		while ((n = read(in, buf, sizeof(buf))) > 0)
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(fds[1], buf + off, (size_t)(n - off));

				if (w < 0)
					_exit(errno == EPIPE ? 0 : 125);
				off += w;
			}
		_exit(n < 0 ? 125 : 0);
	}
	close(fds[1]);
	return fds[0];
}

int main(int argc, char **argv)
{
	char *env[MEASURE_MAX_ENV];
	const char *in = NULL, *pipe_in = NULL, *out = NULL;
	int nenv = 0, opt, status, pipe_fd = -1;
	unsigned timeout = 0;
	struct sigaction sa;
	struct rusage ru;
	uint64_t t0, elapsed;
	pid_t got, feeder = -1;
	long maxrss_kb;

	/* "+": stop at the first non-option, which is the program. */
	while ((opt = getopt(argc, argv, "+t:e:i:p:o:")) != -1) {
		switch (opt) {
		case 't':
			timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			if (nenv == MEASURE_MAX_ENV || !strchr(optarg, '='))
				measure_usage();
			env[nenv++] = optarg;
			break;
		case 'i':
			in = optarg;
			break;
		case 'p':
			pipe_in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			measure_usage();
		}
	}
	if (optind >= argc || (in && pipe_in))
		measure_usage();

	/* A feeder blocked on a full pipe must not outlive a killed child. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe_in && (pipe_fd = measure_feeder(pipe_in, &feeder)) < 0) {
		perror("measure: feeder");
		return 125;
	}
	fflush(NULL);
	t0 = measure_now_ns();
	measure_child = fork();
	if (measure_child < 0) {
		perror("measure: fork");
		return 125;
	}
	if (measure_child == 0) {
		signal(SIGPIPE, SIG_DFL);
		for (int i = 0; i < nenv; i++)
			putenv(env[i]);
		if (in)
			measure_redirect(in, 0, O_RDONLY);
		if (pipe_fd >= 0 && (dup2(pipe_fd, 0) < 0 || close(pipe_fd) < 0))
			_exit(125);
		if (out)
			measure_redirect(out, 1, O_WRONLY | O_CREAT | O_TRUNC);
		execvp(argv[optind], &argv[optind]);
		fprintf(stderr, "measure: cannot run %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	if (pipe_fd >= 0)
		close(pipe_fd);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = measure_alarm;
	sigaction(SIGALRM, &sa, NULL);
	if (timeout)
		alarm(timeout);
	do
		got = wait4(measure_child, &status, 0, &ru);
	while (got < 0 && errno == EINTR);
	elapsed = measure_now_ns() - t0;
	alarm(0);
	if (got < 0) {
		perror("measure: wait4");
		return 125;
	}
	if (feeder > 0) {
		kill(feeder, SIGKILL);
		waitpid(feeder, NULL, 0);
	}

	/* ru_maxrss is in kilobytes on Linux, in bytes on macOS. */
#ifdef __APPLE__
	maxrss_kb = ru.ru_maxrss / 1024;
#else
	maxrss_kb = ru.ru_maxrss;
#endif
	printf("maxrss_kb=%ld minflt=%ld majflt=%ld utime_us=%lld stime_us=%lld elapsed_ns=%llu ",
	       maxrss_kb, ru.ru_minflt, ru.ru_majflt, measure_us(ru.ru_utime),
	       measure_us(ru.ru_stime), (unsigned long long)elapsed);
	if (measure_timed_out) {
		printf("status=timeout\n");
		return 124;
	}
	if (WIFSIGNALED(status)) {
		printf("status=signal:%d\n", WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	printf("status=exit:%d\n", WEXITSTATUS(status));
	return WEXITSTATUS(status);
}
