/*
 * stress_main.c - rzstress's command line.
 *
 *   rzstress SCENARIO [-t THREADS] [-r ROUNDS] [-s SCALE] [-n COUNT]
 *                     [-b BIG_MAX_MIB] [-w WATCHDOG_S] [-S] [-v] [-R]
 *
 * SCENARIO is churn, maps, fork, forkio, forksig or exhaust (see stress.h). -R fails at
 * once unless librezone.so is loaded (the make check wrappers pass it so
 * a broken LD_PRELOAD cannot make the tests pass against glibc). Every run
 * is bounded by a watchdog (default 300 s): a hang is a failure.
 *
 * Settings (the make check ones are in tests/stress/run-*.sh):
 *   short (make check, ~10 s):  churn -t 4 -r 3 -s 2
 *   long  (by hand, not timed; tens of minutes): churn -t 16 -r 40 -s 20 -b 64 -w 3600
 *   under a tiny threshold:     REZONE_LARGE_THRESHOLD=4096 with either
 * May include: stress.h, the C library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

static _Noreturn void main_usage(void)
{
	fprintf(stderr, "usage: rzstress churn|maps|fork|forkio|forksig|exhaust [-t threads] [-r rounds]"
	    " [-s scale] [-n count] [-b big_max_MiB] [-w watchdog_s] [-S] [-v] [-R]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct stress_opts o = {
		.threads = 4, .rounds = 3, .scale = 2, .count = 0,
		.big_max = 32 * MiB,
	};
	unsigned watchdog = 300;
	bool require = false;
	int c;

	if (argc < 2)
		main_usage();
	const char *scenario = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "t:r:s:n:b:w:SvR")) != -1) {
		switch (c) {
		case 't': o.threads = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'r': o.rounds = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': o.scale = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'n': o.count = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b': o.big_max = (size_t)strtoul(optarg, NULL, 0) * MiB; break;
		case 'w': watchdog = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': o.self = true; break;
		case 'v': o.verbose = true; break;
		case 'R': require = true; break;
		default: main_usage();
		}
	}
	if (o.threads == 0 || o.rounds == 0 || o.scale == 0)
		main_usage();
	stress_setup();
	if (require && !stress_have_rezone()) {
		fprintf(stderr, "rzstress: FAIL librezone.so is not loaded (LD_PRELOAD?)\n");
		return 99;
	}
	/* Results go through pipes to make; keep lines whole and ordered. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	stress_watchdog(watchdog, scenario);
	if (strcmp(scenario, "churn") == 0)
		return stress_churn(&o);
	if (strcmp(scenario, "maps") == 0)
		return stress_maps(&o);
	if (strcmp(scenario, "fork") == 0)
		return stress_fork(&o);
	if (strcmp(scenario, "forkio") == 0)
		return stress_forkio(&o);
	if (strcmp(scenario, "forksig") == 0)
		return stress_forksig(&o);
	if (strcmp(scenario, "exhaust") == 0)
		return stress_exhaust(&o);
	main_usage();
}
