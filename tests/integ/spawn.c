/*
 * spawn.c - starts a child with rezone preloaded, captures its stdout and
 * stderr, and waits for it under a watchdog (see spawn.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

extern char **environ;

#define SPAWN_MAX_ARGS 32

const char *spawn_library(void)
{
	const char *lib = getenv("REZONE_LIB");

	return lib && *lib ? lib : NULL;
}

static bool spawn_fail(struct outcome *out, const char *why)
{
	out->err = strdup(why);
	return false;
}

/* True when entry ("NAME=value") has the name that change ("NAME=..." or
 * "NAME") is about. */
static bool spawn_same_name(const char *entry, const char *change)
{
	size_t n = strcspn(change, "=");

	return strncmp(entry, change, n) == 0 && entry[n] == '=';
}

/* The suite's environment with the changes applied and rezone preloaded. */
static char **spawn_environment(const char *const env[], const char *lib)
{
	size_t n = 0, k = 0, nchanges = 0;
	char **envp;

	while (environ[n])
		n++;
	while (env && env[nchanges])
		nchanges++;
	envp = calloc(n + nchanges + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool changed = spawn_same_name(environ[i], "LD_PRELOAD");

		for (size_t c = 0; c < nchanges && !changed; c++)
			changed = spawn_same_name(environ[i], env[c]);
		if (!changed)
			envp[k++] = environ[i];
	}
	for (size_t c = 0; c < nchanges; c++)
		if (strchr(env[c], '='))
			envp[k++] = (char *)env[c];
	if (asprintf(&envp[k++], "LD_PRELOAD=%s", lib) < 0)
		return NULL;
	return envp;
}

/* The LD_PRELOAD entry, added last, is the only one allocated here. */
static void spawn_free_environment(char **envp)
{
	size_t n = 0;

	while (envp[n])
		n++;
	free(envp[n - 1]);
	free(envp);
}

/* In the child: nothing returns from here. */
static void spawn_child(const char *const argv[], char **envp,
			const char *stdin_path, int out_fd, int err_fd)
{
	struct rlimit no_core = { 0, 0 };
	int in_fd = open(stdin_path ? stdin_path : "/dev/null",
			 O_RDONLY | O_CLOEXEC);

	/* Expected aborts must not leave core files or wait for a dump. */
	setrlimit(RLIMIT_CORE, &no_core);
	/* A child whose test process died (Criterion timeout) dies too, and
	 * its own children are killed with it by process group. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	if (in_fd < 0 || dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 ||
	    dup2(err_fd, 2) < 0)
		_exit(126);
	execve(argv[0], (char *const *)argv, envp);
	dprintf(2, "spawn: cannot execute %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static char *spawn_slurp(int fd)
{
	struct stat st;
	char *buf;

	if (fstat(fd, &st) != 0 || !(buf = malloc((size_t)st.st_size + 1)))
		return strdup("");
	ssize_t got = pread(fd, buf, (size_t)st.st_size, 0);
	buf[got > 0 ? got : 0] = '\0';
	return buf;
}

/* Polls rather than blocking in waitpid, so a hung child is killed after
 * SPAWN_TIMEOUT seconds and reported instead of hanging the suite. */
static void spawn_wait(struct outcome *out, pid_t pid)
{
	const struct timespec tick = { 0, 5 * 1000 * 1000 };
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(pid, &out->status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= SPAWN_TIMEOUT) {
			out->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &out->status, 0);
			return;
		}
		nanosleep(&tick, NULL);
	}
}

bool spawn_preloaded(struct outcome *out, const char *const argv[],
		     const char *const env[], const char *stdin_path)
{
	const char *lib = spawn_library();
	char **envp;
	int out_fd, err_fd;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	if (!lib)
		return spawn_fail(out, "REZONE_LIB is not set "
				  "(run the suite through make check)");
	if (access(lib, R_OK) != 0)
		return spawn_fail(out, "REZONE_LIB names no readable file");
	if (!(envp = spawn_environment(env, lib)))
		return spawn_fail(out, "out of memory");
	/* Anonymous files: no temporary paths, and no pipe that a chatty
	 * child could fill while we are not reading. */
	out_fd = memfd_create("stdout", MFD_CLOEXEC);
	err_fd = memfd_create("stderr", MFD_CLOEXEC);
	if (out_fd < 0 || err_fd < 0) {
		spawn_free_environment(envp);
		return spawn_fail(out, "memfd_create failed");
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		spawn_free_environment(envp);
		close(out_fd);
		close(err_fd);
		return spawn_fail(out, "fork failed");
	}
	if (pid == 0)
		spawn_child(argv, envp, stdin_path, out_fd, err_fd);
	spawn_wait(out, pid);
	out->out = spawn_slurp(out_fd);
	out->err = spawn_slurp(err_fd);
	close(out_fd);
	close(err_fd);
	spawn_free_environment(envp);
	return true;
}

bool spawn_probe(struct outcome *out, const char *const env[],
		 const char *scenario, ...)
{
	const char *argv[SPAWN_MAX_ARGS + 3];
	const char *probe = getenv("REZONE_PROBE");
	size_t n = 0;
	va_list ap;

	if (!probe || !*probe) {
		memset(out, 0, sizeof(*out));
		return spawn_fail(out, "REZONE_PROBE is not set "
				  "(run the suite through make check)");
	}
	argv[n++] = probe;
	argv[n++] = scenario;
	va_start(ap, scenario);
	for (const char *a; n < SPAWN_MAX_ARGS && (a = va_arg(ap, const char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return spawn_preloaded(out, argv, env, NULL);
}

bool outcome_exited(const struct outcome *o, int code)
{
	return !o->timed_out && WIFEXITED(o->status) &&
	       WEXITSTATUS(o->status) == code;
}

bool outcome_signalled(const struct outcome *o, int sig)
{
	return !o->timed_out && WIFSIGNALED(o->status) &&
	       WTERMSIG(o->status) == sig;
}

const char *outcome_describe(const struct outcome *o)
{
	static char text[8192];
	char how[64];

	if (o->timed_out)
		snprintf(how, sizeof(how), "hung: killed after %d s",
			 SPAWN_TIMEOUT);
	else if (WIFEXITED(o->status))
		snprintf(how, sizeof(how), "exit status %d",
			 WEXITSTATUS(o->status));
	else
		snprintf(how, sizeof(how), "killed by signal %d (%s)",
			 WTERMSIG(o->status), strsignal(WTERMSIG(o->status)));
	snprintf(text, sizeof(text), "%s\n--- stdout ---\n%.3000s\n"
		 "--- stderr ---\n%.3000s", how, o->out ? o->out : "",
		 o->err ? o->err : "");
	return text;
}

void outcome_release(struct outcome *o)
{
	free(o->out);
	free(o->err);
	o->out = o->err = NULL;
}
