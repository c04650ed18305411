/*
 * small_jemalloc.c - small-size delegate: the embedded jemalloc.
 *
 * The only file that calls jemalloc. jemalloc is linked statically with its
 * public names renamed to rzje_* (src/backend/jemalloc.syms), so these are
 * direct calls into its fast paths and nothing of it is exported.
 * jemalloc's own pthread_atfork call is renamed too: its fork handlers are
 * captured here and run by rezone's fork protocol, in rezone's order.
 * May include: small.h.
 */
#include <stdbool.h>

#include "backend/small.h"

void *rzje_malloc(size_t size);
void *rzje_calloc(size_t count, size_t size);
void *rzje_realloc(void *p, size_t size);
void rzje_free(void *p);
void rzje_sdallocx(void *p, size_t size, int flags);
void *rzje_mallocx(size_t size, int flags);
size_t rzje_xallocx(void *p, size_t size, size_t extra, int flags);
size_t rzje_malloc_usable_size(const void *p);

/* jemalloc's MALLOCX_ALIGN(a): log2 of the alignment in the low bits. */
#define SMALL_ALIGN_FLAG(a) ((int)__builtin_ctzl(a))

const char _rz_small_name[] = "jemalloc";

void *_rz_small_malloc(size_t size) { return rzje_malloc(size); }
void *_rz_small_calloc(size_t count, size_t size) { return rzje_calloc(count, size); }
void *_rz_small_realloc(void *p, size_t size) { return rzje_realloc(p, size); }
void _rz_small_free(void *p) { rzje_free(p); }
size_t _rz_small_usable_size(const void *p) { return rzje_malloc_usable_size(p); }

void *_rz_small_memalign(size_t align, size_t size)
{
	/* mallocx with zero size is undefined; malloc(0) semantics want a block. */
	return rzje_mallocx(size ? size : 1, SMALL_ALIGN_FLAG(align));
}

void _rz_small_free_sized(void *p, size_t size)
{
	/* A sized free skips jemalloc's size lookup; 0 means unknown. */
	if (size == 0)
		rzje_free(p);
	else
		rzje_sdallocx(p, size, 0);
}

size_t _rz_small_expand(void *p, size_t size)
{
	return rzje_xallocx(p, size, 0, 0);
}

/*
 * jemalloc registers its fork handlers with pthread_atfork during its
 * initialisation; jemalloc.syms renames that call to this function. Left
 * to glibc, they would run apart from rezone's (before them when
 * registered later) and always before stdio's list lock is taken: the
 * deadlock of src/README.md, "Fork".
 * The pointers are written once, maybe while another thread forks.
 */
static void (*je_prefork)(void), (*je_postfork_parent)(void), (*je_postfork_child)(void);
static bool je_prefork_ran;

int _rz_jemalloc_atfork(void (*prepare)(void), void (*parent)(void),
    void (*child)(void)) RZ_HIDDEN;

int _rz_jemalloc_atfork(void (*prepare)(void), void (*parent)(void),
    void (*child)(void))
{
	__atomic_store_n(&je_postfork_parent, parent, __ATOMIC_RELAXED);
	__atomic_store_n(&je_postfork_child, child, __ATOMIC_RELAXED);
	__atomic_store_n(&je_prefork, prepare, __ATOMIC_RELEASE);
	return 0;
}

void _rz_small_prefork(void)
{
	void (*fn)(void) = __atomic_load_n(&je_prefork, __ATOMIC_ACQUIRE);
	/* Not initialised yet: jemalloc holds no lock a child could need. */
	je_prefork_ran = fn != NULL;
	if (fn)
		fn();
}

void _rz_small_postfork_parent(void)
{
	if (je_prefork_ran)
		je_postfork_parent();
	je_prefork_ran = false;
}

void _rz_small_postfork_child(void)
{
	/* jemalloc's child handler re-initialises every mutex (it does not
	 * unlock them), so it is also right when its prefork did not run. */
	void (*fn)(void) = __atomic_load_n(&je_postfork_child, __ATOMIC_ACQUIRE);
	je_prefork_ran = false;
	if (fn && __atomic_load_n(&je_prefork, __ATOMIC_ACQUIRE))
		fn();
}
