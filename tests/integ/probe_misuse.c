/*
 * probe_misuse.c - rzprobe scenarios that misuse a large block. rezone must
 * stop the process: a bad free or realloc with one diagnostic line and
 * abort(), a stray access in guard mode (REZONE_GUARD=1) with a fault. If
 * the misuse goes through instead, the probe exits PROBE_SURVIVED.
 *
 * Each scenario prints "ptr=<address>" on stdout first, so the suite can
 * check that the diagnostic names the pointer that was passed.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "probe.h"

/* Hides a pointer from the compiler's use-after-free analysis: the misuse
 * is the point of these scenarios. */
static void *launder(void *p)
{
	void *volatile v = p;

	return v;
}

static void announce(const void *p)
{
	printf("ptr=%p\n", p);
	fflush(stdout);
}

static unsigned char *large_block(void)
{
	unsigned char *p = malloc(PROBE_LARGE);

	CHECK(p != NULL, "malloc");
	memset(p, 1, PROBE_LARGE);
	return p;
}

/* A page-aligned address inside a large block looks like a block start to
 * a naive lookup; it must not be released as one. */
static int free_interior(int argc, char **argv)
{
	unsigned char *p = large_block(), *inner = p + 3 * 4096;

	(void)argc, (void)argv;
	announce(inner);
	free(inner);
	return PROBE_SURVIVED;
}

static int realloc_interior(int argc, char **argv)
{
	unsigned char *p = large_block(), *inner = p + 4 * 4096;

	(void)argc, (void)argv;
	announce(inner);
	inner = realloc(inner, 2 * PROBE_LARGE);
	return PROBE_SURVIVED;
}

/* The same at an offset that is not a multiple of the page size (a
 * pointer into the block's data, not a page): checked only with
 * REZONE_CHECK_UNKNOWN=1, where every free consults the page map. */
static int free_interior_unaligned(int argc, char **argv)
{
	unsigned char *p = large_block(), *inner = launder(p + 8200);

	(void)argc, (void)argv;
	announce(inner);
	free(inner);
	return PROBE_SURVIVED;
}

static int realloc_interior_unaligned(int argc, char **argv)
{
	unsigned char *p = large_block(), *inner = launder(p + 17);

	(void)argc, (void)argv;
	announce(inner);
	inner = realloc(inner, 100);
	return PROBE_SURVIVED;
}

static int usable_size_interior_unaligned(int argc, char **argv)
{
	unsigned char *p = large_block(), *inner = launder(p + 4097);

	(void)argc, (void)argv;
	announce(inner);
	volatile size_t n = malloc_usable_size(inner);
	(void)n;
	return PROBE_SURVIVED;
}

static int double_free(int argc, char **argv)
{
	unsigned char *p = large_block(), *again = launder(p);

	(void)argc, (void)argv;
	announce(p);
	free(p);
	free(again);
	return PROBE_SURVIVED;
}

/* An address that was a mapping once but never came from rezone. */
static int free_unmapped(int argc, char **argv)
{
	size_t len = 16 * (size_t)sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)argc, (void)argv;
	CHECK(p != MAP_FAILED, "mmap");
	CHECK(munmap(p, len) == 0, "munmap");
	announce(p);
	free(launder(p));
	return PROBE_SURVIVED;
}

/* Guard mode (REZONE_GUARD=1) stops a write one byte past a large block's
 * usable size with a fault, instead of letting it land in headroom. */
static int guard_overflow(int argc, char **argv)
{
	volatile unsigned char *p = malloc(PROBE_LARGE + 100);
	size_t usable;

	(void)argc, (void)argv;
	CHECK(p != NULL, "malloc");
	usable = malloc_usable_size((void *)p);
	p[usable - 1] = 1;
	announce((const void *)(p + usable));
	p[usable] = 1;
	return PROBE_SURVIVED;
}

/* ... and makes a freed large block inaccessible. */
static int guard_use_after_free(int argc, char **argv)
{
	volatile unsigned char *p = launder(large_block());

	(void)argc, (void)argv;
	announce((const void *)p);
	free((void *)p);
	p[4096] = 1;
	return PROBE_SURVIVED;
}

const struct probe_cmd probe_misuse_cmds[] = {
	{ "free_interior", free_interior },
	{ "realloc_interior", realloc_interior },
	{ "free_interior_unaligned", free_interior_unaligned },
	{ "realloc_interior_unaligned", realloc_interior_unaligned },
	{ "usable_size_interior_unaligned", usable_size_interior_unaligned },
	{ "double_free", double_free },
	{ "free_unmapped", free_unmapped },
	{ "guard_overflow", guard_overflow },
	{ "guard_use_after_free", guard_use_after_free },
	{ NULL, NULL },
};
