/*
 * cxx_linux.c - the C++ operator new/delete family, written in C, so that a
 * preloaded (or linked) librezone serves C++ programs without going through
 * libstdc++'s operators (which call malloc: one more frame, and the size of
 * a sized delete is lost).
 *
 * Itanium C++ ABI names; std::align_val_t is passed as a size_t, a
 * std::nothrow_t const & as a pointer nobody reads. new and delete forward
 * to the engine's inline fast paths (engine.h); a sized delete passes its
 * size to the delegate (jemalloc's sdallocx skips its size-class lookup).
 *
 * Failure follows the C++ contract without depending on libstdc++: the
 * throwing forms call the installed new_handler until it stops returning
 * (std::get_new_handler, looked up weakly, else with dlsym) and then throw
 * std::bad_alloc through libstdc++'s own __throw_bad_alloc (weak or dlsym;
 * with no C++ runtime in the process at all there is no catcher either:
 * a one-line diagnostic and abort). The nothrow forms return NULL when no
 * handler is installed; when one is, they hand over to libstdc++'s own
 * nothrow operator, which calls the throwing one (ours) in a try block:
 * only C++ can catch what the handler may throw.
 * May include: engine/engine.h, <dlfcn.h>, <stdlib.h>, <unistd.h>.
 */
#include "config.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/engine.h"

#if !defined(__linux__)
#error "cxx_linux.c is the Linux C++ front end"
#endif

#define RZ_EXPORT __attribute__((visibility("default")))
#define CXX_COLD __attribute__((noinline, cold))

typedef void (*cxx_handler)(void);

/* libstdc++, when the process has it; never a dependency of librezone. */
extern cxx_handler _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

static void *cxx_lookup(void *weak, const char *name)
{
	return weak ? weak : dlsym(RTLD_DEFAULT, name);
}

static cxx_handler cxx_new_handler(void)
{
	cxx_handler (*get)(void) = (cxx_handler (*)(void))cxx_lookup(
	    (void *)_ZSt15get_new_handlerv, "_ZSt15get_new_handlerv");
	return get ? get() : NULL;
}

static _Noreturn void cxx_throw_bad_alloc(void)
{
	void (*throw_it)(void) = (void (*)(void))cxx_lookup(
	    (void *)_ZSt17__throw_bad_allocv, "_ZSt17__throw_bad_allocv");
	if (throw_it)
		throw_it();
	static const char msg[] = "rezone: operator new: out of memory and no "
	    "C++ runtime to throw std::bad_alloc; aborting\n";
	ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
	abort();
}

/* The one allocation both families retry: align 0 means plain new. */
static void *cxx_alloc(size_t size, size_t align)
{
	return align ? _rz_memalign(align, size) : _rz_malloc(size);
}

/* Throwing new after a failed attempt: [new.delete.single] p3. */
static CXX_COLD void *cxx_new_retry(size_t size, size_t align)
{
	for (;;) {
		cxx_handler h = cxx_new_handler();
		if (!h)
			cxx_throw_bad_alloc();
		h();
		void *p = cxx_alloc(size, align);
		if (p)
			return p;
	}
}

/* Nothrow new after a failed attempt: libstdc++'s nothrow operator of the
 * same kind (name), which calls ours in a try block; NULL without one. */
static CXX_COLD void *cxx_nothrow_retry(size_t size, size_t align, const char *name)
{
	if (!cxx_new_handler())
		return NULL;
	void *lib = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
	void *op = lib ? dlsym(lib, name) : NULL;
	static const char nothrow_tag = 0; /* a std::nothrow_t: empty */
	if (!op)
		return NULL;
	if (align)
		return ((void *(*)(size_t, size_t, const void *))op)(size, align, &nothrow_tag);
	return ((void *(*)(size_t, const void *))op)(size, &nothrow_tag);
}

#define CXX_NEW(size, align)                                                 \
	do {                                                                 \
		void *p_ = cxx_alloc(size, align);                           \
		return RZ_LIKELY(p_ != NULL) ? p_ : cxx_new_retry(size, align); \
	} while (0)
#define CXX_NEW_NOTHROW(name, size, align)                                   \
	do {                                                                 \
		void *p_ = cxx_alloc(size, align);                           \
		return RZ_LIKELY(p_ != NULL) ? p_                            \
		    : cxx_nothrow_retry(size, align, name);                  \
	} while (0)

/* Prototypes: these names have no C declaration anywhere. */
RZ_EXPORT void *_Znwm(size_t size);
RZ_EXPORT void *_Znam(size_t size);
RZ_EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, const void *nt);
RZ_EXPORT void *_ZnamRKSt9nothrow_t(size_t size, const void *nt);
RZ_EXPORT void *_ZnwmSt11align_val_t(size_t size, size_t align);
RZ_EXPORT void *_ZnamSt11align_val_t(size_t size, size_t align);
RZ_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *nt);
RZ_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *nt);
RZ_EXPORT void _ZdlPv(void *p);
RZ_EXPORT void _ZdaPv(void *p);
RZ_EXPORT void _ZdlPvm(void *p, size_t size);
RZ_EXPORT void _ZdaPvm(void *p, size_t size);
RZ_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt);
RZ_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt);
RZ_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t align);
RZ_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t align);
RZ_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t size, size_t align);
RZ_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t size, size_t align);
RZ_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt);
RZ_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt);

RZ_EXPORT void *_Znwm(size_t size) { CXX_NEW(size, 0); }
RZ_EXPORT void *_Znam(size_t size) { CXX_NEW(size, 0); }
RZ_EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, const void *nt)
{ (void)nt; CXX_NEW_NOTHROW("_ZnwmRKSt9nothrow_t", size, 0); }
RZ_EXPORT void *_ZnamRKSt9nothrow_t(size_t size, const void *nt)
{ (void)nt; CXX_NEW_NOTHROW("_ZnamRKSt9nothrow_t", size, 0); }
RZ_EXPORT void *_ZnwmSt11align_val_t(size_t size, size_t align)
{ CXX_NEW(size, align); }
RZ_EXPORT void *_ZnamSt11align_val_t(size_t size, size_t align)
{ CXX_NEW(size, align); }
RZ_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *nt)
{ (void)nt; CXX_NEW_NOTHROW("_ZnwmSt11align_val_tRKSt9nothrow_t", size, align); }
RZ_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *nt)
{ (void)nt; CXX_NEW_NOTHROW("_ZnamSt11align_val_tRKSt9nothrow_t", size, align); }

RZ_EXPORT void _ZdlPv(void *p) { _rz_free(p); }
RZ_EXPORT void _ZdaPv(void *p) { _rz_free(p); }
RZ_EXPORT void _ZdlPvm(void *p, size_t size) { _rz_free_sized_fast(p, size); }
RZ_EXPORT void _ZdaPvm(void *p, size_t size) { _rz_free_sized_fast(p, size); }
RZ_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; _rz_free(p); }
RZ_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; _rz_free(p); }

/* Aligned deletes ignore the size: an aligned block's size class depends on
 * the alignment too (memalign may round the request up), so only the
 * unsized free is right for every block. */
RZ_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t align) { (void)align; _rz_free(p); }
RZ_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t align) { (void)align; _rz_free(p); }
RZ_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t size, size_t align)
{ (void)size; (void)align; _rz_free(p); }
RZ_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t size, size_t align)
{ (void)size; (void)align; _rz_free(p); }
RZ_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt)
{ (void)align; (void)nt; _rz_free(p); }
RZ_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt)
{ (void)align; (void)nt; _rz_free(p); }
