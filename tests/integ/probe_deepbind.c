/*
 * probe_deepbind.c - rzprobe scenarios for libraries loaded with
 * RTLD_DEEPBIND (librzdeep.so, deep_lib.c), as PHP loads its extensions.
 *
 * Such a library binds malloc and free to glibc's unless rezone drops the
 * flag; blocks then cross between allocators and the process crashes.
 * rzprobe finds librzdeep.so by its bare name through its own RUNPATH,
 * which glibc searches only when rzprobe itself is dlopen's caller: so
 * these scenarios also check that rezone's dlopen forwards without
 * becoming the caller.
 */
#include "config.h"

#include <dlfcn.h>
#include <string.h>
#include <stdlib.h>

#include "probe.h"

struct deep_lib {
	void *(*malloc)(size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	void *(*free_address)(void);
};

static struct deep_lib deep_open(const char *how)
{
	struct deep_lib l;
	void *h;

	if (strcmp(how, "dlmopen") == 0)
		h = dlmopen(LM_ID_BASE, "librzdeep.so", RTLD_NOW | RTLD_DEEPBIND);
	else
		h = dlopen("librzdeep.so", RTLD_NOW | RTLD_DEEPBIND);
	CHECK(h != NULL, "%s(librzdeep.so, RTLD_DEEPBIND): %s", how, dlerror());
	*(void **)&l.malloc = dlsym(h, "rzdeep_malloc");
	*(void **)&l.realloc = dlsym(h, "rzdeep_realloc");
	*(void **)&l.free = dlsym(h, "rzdeep_free");
	*(void **)&l.free_address = dlsym(h, "rzdeep_free_address");
	CHECK(l.malloc && l.realloc && l.free && l.free_address, "librzdeep.so symbols");
	return l;
}

/* deepbind_cross_free dlopen|dlmopen: blocks, small and large, allocated
 * on one side of the library boundary are resized and freed on the other. */
static int deepbind_cross_free(int argc, char **argv)
{
	struct deep_lib l = deep_open(argc > 0 ? argv[0] : "dlopen");
	static const size_t sizes[] = { 24, PROBE_SMALL, PROBE_LARGE, 5 * PROBE_MIB };

	CHECK(l.free_address() == probe_sym("free"),
	      "the library's free is not rezone's (RTLD_DEEPBIND kept)");
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char *p = malloc(n);
		CHECK(p != NULL, "malloc(%zu)", n);
		probe_fill(p, 0, n, 1);
		p = l.realloc(p, 2 * n);
		CHECK(p != NULL, "the library's realloc(%zu) of the program's block", 2 * n);
		CHECK_PATTERN(p, 0, n, 1);
		l.free(p);

		char *q = l.malloc(n);
		CHECK(q != NULL, "the library's malloc(%zu)", n);
		probe_fill(q, 0, n, 2);
		q = realloc(q, 2 * n);
		CHECK(q != NULL, "realloc(%zu) of the library's block", 2 * n);
		CHECK_PATTERN(q, 0, n, 2);
		free(q);
	}
	return 0;
}

/* deepbind_kept: with REZONE_DEEPBIND=keep the flag reaches glibc, and the
 * library's free is glibc's, not rezone's (no block crosses here). */
static int deepbind_kept(int argc, char **argv)
{
	struct deep_lib l = deep_open(argc > 0 ? argv[0] : "dlopen");

	CHECK(l.free_address() != probe_sym("free"),
	      "the library's free is rezone's: RTLD_DEEPBIND was dropped");
	l.free(l.malloc(100));
	return 0;
}

const struct probe_cmd probe_deepbind_cmds[] = {
	{ "deepbind_cross_free", deepbind_cross_free },
	{ "deepbind_kept", deepbind_kept },
	{ NULL, NULL },
};
