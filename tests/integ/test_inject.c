/*
 * test_inject.c - specification of injection: unmodified system programs
 * run correctly with rezone preloaded.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"

TestSuite(inject, .timeout = 90);

Test(inject, shell_runs_unmodified_with_rezone_preloaded)
{
	const char *const argv[] = { "/bin/sh", "-c", "echo ok", NULL };
	struct outcome o;

	cr_assert(spawn_preloaded(&o, argv, PROBE_ENV("REZONE_STATS"), NULL),
		  "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert_str_eq(o.out, "ok\n");
	cr_assert_str_empty(o.err);
	outcome_release(&o);
}

/* grep reads its own memory map: the library must be in it. */
Test(inject, library_is_mapped_into_an_unmodified_program)
{
	const char *const argv[] = { "/bin/grep", "-c", "librezone",
				     "/proc/self/maps", NULL };
	struct outcome o;

	cr_assert(spawn_preloaded(&o, argv, NULL, NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "librezone is not in grep's own "
		  "maps: %s", outcome_describe(&o));
	outcome_release(&o);
}

/* perl builds a 10 MB string: rezone must serve it as large blocks, as
 * its REZONE_STATS=1 report at exit shows. (Coreutils programs close
 * stderr at exit and dash leaves with _exit, so neither can show one.) */
Test(inject, unmodified_program_gets_large_blocks_from_rezone)
{
	const char *const argv[] = {
		"/usr/bin/perl", "-e",
		"my $x = 'a' x 5_000_000; $x .= 'b' x 5_000_000; "
		"print length($x), qq(\\n)", NULL,
	};
	struct outcome o;
	const char *line;
	unsigned long allocs = 0;

	if (access(argv[0], X_OK) != 0)
		cr_skip_test("no %s on this machine", argv[0]);
	cr_assert(spawn_preloaded(&o, argv, PROBE_ENV("REZONE_STATS=1"), NULL),
		  "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert_str_eq(o.out, "10000000\n");
	line = strstr(o.err, ": large_allocs=");
	cr_assert(line != NULL, "no large_allocs line in the report: '%s'",
		  o.err);
	sscanf(line, ": large_allocs=%lu", &allocs);
	cr_assert(allocs > 0, "perl's 10 MB string used no large block:\n%s",
		  o.err);
	outcome_release(&o);
}

#define SORT_LINES 200000

static int inject_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *inject_find_sort(void)
{
	return access("/usr/bin/sort", X_OK) == 0 ? "/usr/bin/sort" : "/bin/sort";
}

/* A few MiB of input makes sort use large buffers, grow them and, with
 * more than one core, threads. */
Test(inject, sort_sorts_megabytes_of_lines_with_rezone_preloaded)
{
	char path[] = "/tmp/rezone-sort-XXXXXX";
	const char *const argv[] = { inject_find_sort(), NULL };
	static char *lines[SORT_LINES];
	struct outcome o;
	size_t total = 0;
	char *want, *w;
	int fd = mkstemp(path);
	FILE *f;

	cr_assert(fd >= 0, "mkstemp");
	f = fdopen(fd, "w");
	srandom(42);
	for (size_t i = 0; i < SORT_LINES; i++) {
		cr_assert(asprintf(&lines[i], "%08lx-%lu-%lx\n", random(),
				   (unsigned long)i, random()) > 0);
		fputs(lines[i], f);
		total += strlen(lines[i]);
	}
	cr_assert(fclose(f) == 0);
	qsort(lines, SORT_LINES, sizeof(lines[0]), inject_cmp);
	w = want = malloc(total + 1);
	for (size_t i = 0; i < SORT_LINES; i++)
		w = stpcpy(w, lines[i]);

	cr_assert(spawn_preloaded(&o, argv, PROBE_ENV("LC_ALL=C", "REZONE_STATS"),
				  path), "%s", o.err);
	unlink(path);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	cr_assert_str_empty(o.err);
	cr_assert(strlen(o.out) == total, "sort printed %zu bytes, not %zu",
		  strlen(o.out), total);
	cr_assert(strcmp(o.out, want) == 0, "sort output differs from the "
		  "expected order");
	outcome_release(&o);
	free(want);
}
