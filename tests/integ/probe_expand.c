/*
 * probe_expand.c - rzprobe scenarios for rezone_expand, reached through
 * dlsym as any program that only optionally knows about rezone would:
 * resize in place or fail, never move.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe.h"

typedef void *expand_fn(void *, size_t);

static expand_fn *expand_lookup(void)
{
	expand_fn *fn;

	*(void **)&fn = probe_sym("rezone_expand");
	return fn;
}

/* Each growth either keeps the pointer, the prefix and a usable size that
 * covers the request, or fails with ENOMEM and changes nothing. */
static int expand_large(int argc, char **argv)
{
	static const size_t targets[] = {
		PROBE_MIB + 4096, 3 * PROBE_MIB / 2, 2 * PROBE_MIB,
		4 * PROBE_MIB + 1, 16 * PROBE_MIB, 64 * PROBE_MIB,
	};
	expand_fn *expand = expand_lookup();
	unsigned char *p = malloc(PROBE_LARGE);
	size_t have = PROBE_LARGE;

	(void)argc, (void)argv;
	CHECK(p != NULL, "malloc");
	probe_fill(p, 0, have, 20);
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		size_t usable = malloc_usable_size(p);
		void *r;

		errno = 0;
		r = expand(p, probe_opaque(targets[i]));
		if (r) {
			CHECK(r == p, "rezone_expand moved %p to %p", (void *)p, r);
			CHECK(malloc_usable_size(p) >= targets[i], "usable %zu "
			      "< %zu", malloc_usable_size(p), targets[i]);
			CHECK_PATTERN(p, 0, have, 20);
			probe_fill(p, have, targets[i], 20);
			have = targets[i];
		} else {
			CHECK(errno == ENOMEM, "failed growth to %zu set errno "
			      "%d", targets[i], errno);
			CHECK(malloc_usable_size(p) == usable, "failed growth "
			      "changed usable size %zu to %zu", usable,
			      malloc_usable_size(p));
			CHECK_PATTERN(p, 0, have, 20);
		}
	}
	printf("grown to %zu bytes in place\n", have);
	free(p);
	return 0;
}

/* With headroom reserved beyond the block, growth into it cannot fail;
 * then shrinking in place returns whole pages and keeps the pointer. */
static int expand_within_headroom(int argc, char **argv)
{
	expand_fn *expand = expand_lookup();
	unsigned char *p = malloc(PROBE_LARGE);
	void *r;

	(void)argc, (void)argv;
	CHECK(p != NULL, "malloc");
	probe_fill(p, 0, PROBE_LARGE, 21);
	r = expand(p, probe_opaque(3 * PROBE_MIB / 2));
	CHECK(r == p, "growth to 1.5 MiB inside the headroom returned %p "
	      "(errno %d)", r, errno);
	probe_fill(p, PROBE_LARGE, 3 * PROBE_MIB / 2, 21);
	r = expand(p, probe_opaque(2 * PROBE_MIB));
	CHECK(r == p, "growth to 2 MiB inside the headroom returned %p "
	      "(errno %d)", r, errno);
	CHECK_PATTERN(p, 0, 3 * PROBE_MIB / 2, 21);
	r = expand(p, probe_opaque(300000));
	CHECK(r == p, "shrink to 300000 returned %p (errno %d)", r, errno);
	CHECK(malloc_usable_size(p) >= 300000, "usable %zu after shrink",
	      malloc_usable_size(p));
	CHECK_PATTERN(p, 0, 300000, 21);
	free(p);
	return 0;
}

static int expand_fail(int argc, char **argv)
{
	static const size_t impossible[] = { (size_t)1 << 50, SIZE_MAX,
					     (size_t)PTRDIFF_MAX + 1 };
	expand_fn *expand = expand_lookup();
	unsigned char *p = malloc(PROBE_LARGE);
	size_t usable;

	(void)argc, (void)argv;
	CHECK(p != NULL, "malloc");
	usable = malloc_usable_size(p);
	probe_fill(p, 0, PROBE_LARGE, 22);
	for (size_t i = 0; i < 3; i++) {
		errno = 0;
		void *r = expand(p, probe_opaque(impossible[i]));
		CHECK(r == NULL, "rezone_expand to %zu returned %p",
		      impossible[i], r);
		CHECK(errno == ENOMEM, "rezone_expand to %zu set errno %d",
		      impossible[i], errno);
		CHECK(malloc_usable_size(p) == usable, "usable size changed");
		CHECK_PATTERN(p, 0, PROBE_LARGE, 22);
	}
	free(p);
	return 0;
}

static int expand_einval(int argc, char **argv)
{
	expand_fn *expand = expand_lookup();
	unsigned char *big = malloc(PROBE_LARGE);
	void *r;

	(void)argc, (void)argv;
	CHECK(big != NULL, "malloc");
	errno = 0;
	r = expand(NULL, 100);
	CHECK(r == NULL && errno == EINVAL, "rezone_expand(NULL) = %p, "
	      "errno %d", r, errno);
	errno = 0;
	probe_fill(big, 0, PROBE_LARGE, 23);
	r = expand(big, probe_opaque(0));
	CHECK(r == NULL && errno == EINVAL, "rezone_expand(p, 0) = %p, "
	      "errno %d", r, errno);
	CHECK_PATTERN(big, 0, PROBE_LARGE, 23);
	free(big);
	return 0;
}

/* A small block "grows" only within the usable size it already has. The
 * header files the refusal under EINVAL, the README under either errno;
 * both agree on NULL and an untouched block, which is what is checked. */
static int expand_small(int argc, char **argv)
{
	expand_fn *expand = expand_lookup();
	unsigned char *small = malloc(100);
	size_t usable;
	void *r;

	(void)argc, (void)argv;
	CHECK(small != NULL, "malloc");
	usable = malloc_usable_size(small);
	probe_fill(small, 0, 100, 24);
	r = expand(small, usable);
	CHECK(r == small, "small block within its usable size: %p", r);
	errno = 0;
	r = expand(small, probe_opaque(usable + PROBE_MIB));
	CHECK(r == NULL && (errno == EINVAL || errno == ENOMEM),
	      "small block beyond its usable size: %p, errno %d", r, errno);
	if (errno != EINVAL)
		printf("note: refused with errno %d, the header says EINVAL\n",
		       errno);
	CHECK(malloc_usable_size(small) == usable, "usable size changed");
	CHECK_PATTERN(small, 0, 100, 24);
	free(small);
	return 0;
}

const struct probe_cmd probe_expand_cmds[] = {
	{ "expand_large", expand_large },
	{ "expand_within_headroom", expand_within_headroom },
	{ "expand_fail", expand_fail },
	{ "expand_einval", expand_einval },
	{ "expand_small", expand_small },
	{ NULL, NULL },
};
