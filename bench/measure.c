/*
 * measure.c - runs one workload and reports what the kernel saw of it.
 *
 *   measure [-t SECONDS] [-e NAME=VALUE]... [--] PROGRAM [ARG]...
 *
 * Forks PROGRAM, waits with wait4() and, after the program's own output,
 * prints one line on stdout:
 *   maxrss_kb=N minflt=N majflt=N utime_us=N stime_us=N elapsed_ns=N status=S
 * where S is exit:N, signal:N or timeout. wait4() gives the rusage of that
 * child alone, which /usr/bin/time would too but is not always installed.
 *
 * The -e variables (LD_PRELOAD, REZONE_STATS) are set in the child only, so
 * the allocator under test never runs inside this process. -t kills the
 * child after SECONDS (a slow allocator must not stall the whole run).
 * Exit status: the child's; 128+N if killed by signal N; 124 on timeout;
 * 125 when measure itself fails; 127 when PROGRAM cannot be executed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
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
	fprintf(stderr, "usage: measure [-t SECONDS] [-e NAME=VALUE]... [--] PROGRAM [ARG]...\n");
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

int main(int argc, char **argv)
{
	char *env[MEASURE_MAX_ENV];
	int nenv = 0, opt, status;
	unsigned timeout = 0;
	struct sigaction sa;
	struct rusage ru;
	uint64_t t0, elapsed;
	pid_t got;

	/* "+": stop at the first non-option, which is the program. */
	while ((opt = getopt(argc, argv, "+t:e:")) != -1) {
		switch (opt) {
		case 't':
			timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			if (nenv == MEASURE_MAX_ENV || !strchr(optarg, '='))
				measure_usage();
			env[nenv++] = optarg;
			break;
		default:
			measure_usage();
		}
	}
	if (optind >= argc)
		measure_usage();

	fflush(NULL);
	t0 = measure_now_ns();
	measure_child = fork();
	if (measure_child < 0) {
		perror("measure: fork");
		return 125;
	}
	if (measure_child == 0) {
		for (int i = 0; i < nenv; i++)
			putenv(env[i]);
		execvp(argv[optind], &argv[optind]);
		fprintf(stderr, "measure: cannot run %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}

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

	printf("maxrss_kb=%ld minflt=%ld majflt=%ld utime_us=%lld stime_us=%lld elapsed_ns=%llu ",
	       ru.ru_maxrss, ru.ru_minflt, ru.ru_majflt, measure_us(ru.ru_utime),
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
