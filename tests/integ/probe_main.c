/*
 * probe_main.c - entry point of rzprobe: runs the scenario named by argv[1].
 *
 * One program with sub-commands keeps the build to a single helper and lets
 * the suite name each scenario in its test; "list" prints them all.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "probe.h"

static const struct probe_cmd *const probe_tables[] = {
	probe_malloc_cmds,  probe_aliases_cmds, probe_realloc_cmds,
	probe_align_cmds,   probe_expand_cmds,  probe_stats_cmds,
	probe_misuse_cmds,  probe_threads_cmds, probe_fork_cmds,
	probe_maps_cmds,    probe_scale_cmds,   probe_deepbind_cmds,
	probe_glibc_cmds,   probe_floor_cmds,
};

#define PROBE_NTABLES (sizeof(probe_tables) / sizeof(probe_tables[0]))

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "list";

	for (size_t t = 0; t < PROBE_NTABLES; t++)
		for (const struct probe_cmd *c = probe_tables[t]; c->name; c++)
			if (strcmp(name, "list") == 0)
				printf("%s\n", c->name);
			else if (strcmp(name, c->name) == 0)
				return c->fn(argc - 2, argv + 2);
	if (strcmp(name, "list") == 0)
		return 0;
	fprintf(stderr, "rzprobe: unknown scenario '%s' (try 'list')\n", name);
	return PROBE_USAGE;
}
