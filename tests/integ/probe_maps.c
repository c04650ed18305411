/*
 * probe_maps.c - rzprobe scenario checking that large blocks are named
 * mappings, so /proc/PID/maps (and tools reading it) can tell rezone's
 * memory apart: "[anon:rezone...]".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>

#include "probe.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

/* Naming needs Linux 5.17 and a kernel built with CONFIG_ANON_VMA_NAME;
 * naming a scratch mapping of our own tells both apart from a failure. */
static bool maps_naming_supported(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	void *p;
	int rc;

	if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	if (major < 5 || (major == 5 && minor < 17))
		return false;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	rc = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, 4096UL,
		   (unsigned long)"rzprobe");
	munmap(p, 4096);
	return rc == 0;
}

/* Prints the /proc/self/maps line whose range holds addr into line. */
static bool maps_line_of(const void *addr, char *line, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	bool found = false;

	CHECK(f != NULL, "fopen /proc/self/maps");
	while (!found && fgets(line, (int)len, f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    lo <= (uintptr_t)addr && (uintptr_t)addr < hi)
			found = true;
	}
	fclose(f);
	return found;
}

static int maps_named(int argc, char **argv)
{
	static const size_t sizes[] = { PROBE_LARGE, 7 * PROBE_MIB + 3 };
	char line[512];

	(void)argc, (void)argv;
	if (!maps_naming_supported()) {
		printf("anonymous mapping names unsupported by this kernel\n");
		return PROBE_SKIP;
	}
	for (size_t i = 0; i < 2; i++) {
		unsigned char *p = malloc(sizes[i]);

		CHECK(p != NULL, "malloc");
		memset(p, 1, sizes[i]);
		CHECK(maps_line_of(p, line, sizeof(line)), "%p not in maps",
		      (void *)p);
		CHECK(strstr(line, "rezone") != NULL, "mapping of a %zu-byte "
		      "block is not named: %s", sizes[i], line);
		/* Grown blocks keep the name wherever they end up. */
		p = realloc(p, 4 * sizes[i]);
		CHECK(p != NULL, "realloc");
		CHECK(maps_line_of(p, line, sizeof(line)), "%p not in maps",
		      (void *)p);
		CHECK(strstr(line, "rezone") != NULL, "mapping of a block grown "
		      "to %zu bytes is not named: %s", 4 * sizes[i], line);
		free(p);
	}
	return 0;
}

const struct probe_cmd probe_maps_cmds[] = {
	{ "maps_named", maps_named },
	{ NULL, NULL },
};
