/*
 * deepbind_linux.c - dlopen and dlmopen without RTLD_DEEPBIND.
 *
 * A library loaded with RTLD_DEEPBIND looks symbols up in itself and its
 * own dependencies (libc) before the global scope, so its malloc and free
 * are glibc's while the program's are rezone's: a block crossing between
 * them is freed by the wrong allocator (PHP loads every extension this
 * way; `php -r 'echo 1;'` crashes under any preloaded allocator). rezone
 * exports dlopen and dlmopen, clears the flag and forwards to the C
 * library's; REZONE_DEEPBIND=keep leaves it. The cost: a library that
 * relied on the flag to prefer its own copy of some other symbol over the
 * program's now gets the program's, as without the flag.
 *
 * glibc's dlopen identifies its caller by return address: the caller's
 * RUNPATH is searched, $ORIGIN is the caller's directory, and the caller's
 * namespace is used. So the forward must be a tail call (a jump), which
 * leaves the program's return address in place.
 * May include: engine/engine.h, <dlfcn.h>.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

#if !defined(__linux__)
#error "deepbind_linux.c is part of the Linux front end"
#endif

#define RZ_EXPORT __attribute__((visibility("default")))

/* The forward must compile to a jump at any optimisation level. */
#if defined(__clang__)
#define DEEPBIND_TAIL_FN
#define DEEPBIND_TAIL_CALL __attribute__((musttail))
#else
#define DEEPBIND_TAIL_FN __attribute__((optimize("O2", "optimize-sibling-calls")))
#define DEEPBIND_TAIL_CALL
#endif

RZ_EXPORT void *dlopen(const char *file, int mode) DEEPBIND_TAIL_FN;
RZ_EXPORT void *dlmopen(Lmid_t lmid, const char *file, int mode) DEEPBIND_TAIL_FN;

typedef void *(*deepbind_dlopen_fn)(const char *, int);
typedef void *(*deepbind_dlmopen_fn)(Lmid_t, const char *, int);
static deepbind_dlopen_fn deepbind_real_dlopen;
static deepbind_dlmopen_fn deepbind_real_dlmopen;

/* The C library's function (the next definition after rezone's). Racing
 * threads store the same pointer. dlsym may allocate: rezone is ready. */
static void *deepbind_next(void **slot, const char *name)
{
	void *fn = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (!fn) {
		fn = dlsym(RTLD_NEXT, name);
		if (!fn) {
			static const char msg[] = "rezone: cannot find the C library's dlopen\n";
			_rz_os_write_err(msg, sizeof(msg) - 1);
			_rz_os_abort();
		}
		__atomic_store_n(slot, fn, __ATOMIC_RELAXED);
	}
	return fn;
}

static int deepbind_mode(const char *call, const char *file, int mode)
{
	if (!(mode & RTLD_DEEPBIND))
		return mode;
	_rz_init();
	if (_rz_option_deepbind_keep())
		return mode;
	/* One line per process, for the first library only. */
	static bool noted;
	if (!__atomic_exchange_n(&noted, true, __ATOMIC_RELAXED))
		_rz_note(call, "RTLD_DEEPBIND dropped, here and in every later load "
		    "(REZONE_DEEPBIND=keep keeps it)", file ? file : "main program");
	return mode & ~RTLD_DEEPBIND;
}

RZ_EXPORT void *dlopen(const char *file, int mode)
{
	deepbind_dlopen_fn real = (deepbind_dlopen_fn)deepbind_next(
	    (void **)&deepbind_real_dlopen, "dlopen");
	mode = deepbind_mode("dlopen", file, mode);
	DEEPBIND_TAIL_CALL return real(file, mode);
}

RZ_EXPORT void *dlmopen(Lmid_t lmid, const char *file, int mode)
{
	deepbind_dlmopen_fn real = (deepbind_dlmopen_fn)deepbind_next(
	    (void **)&deepbind_real_dlmopen, "dlmopen");
	mode = deepbind_mode("dlmopen", file, mode);
	DEEPBIND_TAIL_CALL return real(lmid, file, mode);
}
