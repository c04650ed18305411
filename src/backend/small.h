/*
 * small.h - the small-size delegate contract.
 *
 * Sizes below the large threshold are forwarded here untouched: this must
 * stay a thin forward. Implemented by small_jemalloc.c (the only file that
 * calls jemalloc), small_system.c (the C library's own allocator) or
 * small_zone.c (macOS: the previous default zone).
 * Contracts are those of the C functions of the same name; the engine has
 * already rejected sizes above PTRDIFF_MAX and bad alignments.
 *
 * librezone's own build (Makefile.am) defines RZ_SMALL_INLINE_JEMALLOC or
 * RZ_SMALL_INLINE_SYSTEM, and then the hottest calls are inline here, so
 * that the exported malloc and free jump straight into the delegate's fast
 * path (issue 9: one out-of-line forward plus a NULL check cost 10% on
 * small churn). Builds that bring their own delegate (the Mach simulation,
 * the fuzz target) define neither and get plain functions.
 * May include: backend/os.h, <stddef.h>, <stdbool.h>, <stdint.h>.
 */
#ifndef RZ_BACKEND_SMALL_H
#define RZ_BACKEND_SMALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/os.h"

/* Name of the delegate, for stats and diagnostics ("jemalloc", "system"). */
extern const char _rz_small_name[] RZ_HIDDEN;
void *_rz_small_memalign(size_t align, size_t size) RZ_HIDDEN;
size_t _rz_small_usable_size(const void *p) RZ_HIDDEN;
/* Resizes in place if the delegate can; returns the new usable size
 * (>= size on success, smaller when it could not). */
size_t _rz_small_expand(void *p, size_t size) RZ_HIDDEN;

#if defined(RZ_SMALL_INLINE_JEMALLOC)

/* The embedded jemalloc's public entry points, renamed (jemalloc.syms).
 * rzje_malloc, rzje_free and rzje_sdallocx are jemalloc's je_malloc,
 * je_free and je_sdallocx: the tcache fast path inline, with a tail call to
 * the slow path; calloc and realloc have no separate fast path there. */
void *rzje_malloc(size_t size) RZ_HIDDEN;
void *rzje_calloc(size_t count, size_t size) RZ_HIDDEN;
void *rzje_realloc(void *p, size_t size) RZ_HIDDEN;
void rzje_free(void *p) RZ_HIDDEN;
void rzje_sdallocx(void *p, size_t size, int flags) RZ_HIDDEN;

/* The delegate frees the engine's cache itself when the OS refuses it
 * memory (small_jemalloc.c wraps jemalloc's mmap), so a NULL from it is
 * final and the engine needs no check after the call: it can be a tail
 * call. */
#define RZ_SMALL_RECLAIMS 1

/* Whether rezone may run a helper thread (decay.c) beside this delegate;
 * jemalloc's locks are taken by rezone's fork protocol, which knows that
 * thread. */
static inline bool _rz_small_allows_helper_thread(void) { return true; }

static inline void *_rz_small_malloc(size_t size) { return rzje_malloc(size); }
static inline void *_rz_small_calloc(size_t count, size_t size) { return rzje_calloc(count, size); }
static inline void *_rz_small_realloc(void *p, size_t size) { return rzje_realloc(p, size); }
static inline void _rz_small_free(void *p) { rzje_free(p); }
/* _rz_small_free for a pointer known not to be page-aligned (the engine's
 * fast path): lets a delegate skip checks that only page-aligned blocks
 * need. */
static inline void _rz_small_free_unaligned(void *p) { rzje_free(p); }

/* size is the size the block was requested with (or 0: unknown). A sized
 * free skips jemalloc's radix-tree lookup of the block's size class. */
static inline void _rz_small_free_sized(void *p, size_t size)
{
	if (size != 0)
		rzje_sdallocx(p, size, 0);
	else
		rzje_free(p);
}

/* On a new thread, before the program's code (engine.h, _rz_thread_boot):
 * jemalloc's first call on a thread creates its thread cache and maybe an
 * arena, and crashes when it cannot map memory for them (a NULL arena),
 * so the front end has that first call made while memory is there, and,
 * caches deferred (_rz_small_prepare_limit), turns the cache on only
 * once the thread has its arena and there is room for the cache. */
#define RZ_SMALL_THREAD_BOOT 1
void _rz_small_thread_boot(void) RZ_HIDDEN;

/* Set once by the engine: what the delegate calls when the OS refuses it
 * memory; true when it freed some, and the delegate then retries once. */
void _rz_small_set_reclaim(bool (*reclaim)(void)) RZ_HIDDEN;
/* Set once by the engine: what the delegate calls before it maps len
 * bytes of accessible memory (the cache's pages give way to it). */
void _rz_small_set_shed(void (*shed)(size_t len)) RZ_HIDDEN;
/* Called by the engine's set-up, before jemalloc's own (rezone's
 * constructor runs first): under RLIMIT_AS or RLIMIT_DATA, jemalloc is
 * told to give freed address space back to the OS (retain:false) rather
 * than keep it mapped for reuse, so that _rz_small_trim can return it. */
void _rz_small_configure(bool address_limited) RZ_HIDDEN;
/* Memory is limited, or is about to be (the engine calls this before a
 * thread is created under a limit, and before the program sets
 * RLIMIT_AS or RLIMIT_DATA). A thread's first jemalloc call maps its
 * thread cache and maybe an arena, and crashes when it cannot; from here
 * on threads are set up without a cache, which needs neither (a NULL
 * arena is then a NULL block), when `new_threads` are about to be made
 * (_rz_small_thread_boot turns theirs on) or when fewer of the process's
 * `threads` (those that may call the delegate; read only when
 * new_threads is 0) are set up. With
 * address_limited, jemalloc also stops keeping freed address space
 * (_rz_small_configure's retain:false, for a limit set after start-up).
 * An option MALLOC_CONF names is left alone. Not on a hot path. */
void _rz_small_prepare_limit(unsigned threads, unsigned new_threads,
    bool address_limited) RZ_HIDDEN;
/* Whether a new thread needs _rz_small_thread_boot even without a limit:
 * true once _rz_small_prepare_limit has deferred thread caches (a limit
 * since lifted still leaves them deferred). */
bool _rz_small_thread_boot_pending(void) RZ_HIDDEN;
/* Fork: the delegate's own locks (jemalloc's fork handlers, which it
 * would otherwise register itself). The engine takes them before its own
 * and releases them after, the order the reclaim above takes them in
 * (_rz_prefork, route.c). postfork_child makes them usable again and
 * works whether or not prefork ran: a single-threaded fork from a signal
 * handler skips prefork, and the interrupted code may hold a lock. */
void _rz_small_prefork(void) RZ_HIDDEN;
void _rz_small_postfork_parent(void) RZ_HIDDEN;
void _rz_small_postfork_child(void) RZ_HIDDEN;

#else /* out-of-line delegate */

void *_rz_small_calloc(size_t count, size_t size) RZ_HIDDEN;
void *_rz_small_realloc(void *p, size_t size) RZ_HIDDEN;
/* size is the size the block was requested with (or 0: unknown). */
void _rz_small_free_sized(void *p, size_t size) RZ_HIDDEN;

void _rz_small_free(void *p) RZ_HIDDEN;

#if defined(RZ_SMALL_INLINE_SYSTEM)
/* The C library's malloc and free, reached through pointers that
 * small_system.c fills (they start as resolving stubs, so the fast path
 * needs no "resolved yet?" test). Its bootstrap blocks (served while dlsym
 * runs) are all RZ_SMALL_BOOT_ALIGN-aligned, which is at least a page, so
 * a pointer that is not page-aligned is never one of them. */
#define RZ_SMALL_BOOT_ALIGN (64 * 1024)
struct _rz_small_sys_fast {
	void *(*malloc)(size_t);
	void (*free)(void *);
};
extern struct _rz_small_sys_fast _rz_small_sys RZ_HIDDEN;

static inline void *_rz_small_malloc(size_t size)
{
	return __atomic_load_n(&_rz_small_sys.malloc, __ATOMIC_RELAXED)(size);
}

static inline void _rz_small_free_unaligned(void *p)
{
	__atomic_load_n(&_rz_small_sys.free, __ATOMIC_RELAXED)(p);
}
#else
void *_rz_small_malloc(size_t size) RZ_HIDDEN;
static inline void _rz_small_free_unaligned(void *p) { _rz_small_free(p); }
#endif

/* These delegates need none of these: the engine retries after a NULL,
 * the C library (or the zone) handles its own locks across fork, and a
 * thread's first call into it survives running out of memory. */
#define RZ_SMALL_THREAD_BOOT 0
static inline void _rz_small_thread_boot(void) {}
static inline void _rz_small_set_reclaim(bool (*reclaim)(void)) { (void)reclaim; }
static inline void _rz_small_set_shed(void (*shed)(size_t len)) { (void)shed; }
static inline void _rz_small_configure(bool address_limited) { (void)address_limited; }
static inline void _rz_small_prepare_limit(unsigned threads, unsigned new_threads,
    bool address_limited)
{
	(void)threads;
	(void)new_threads;
	(void)address_limited;
}
static inline bool _rz_small_thread_boot_pending(void) { return false; }
static inline void _rz_small_prefork(void) {}
static inline void _rz_small_postfork_parent(void) {}
static inline void _rz_small_postfork_child(void) {}

#if defined(RZ_SMALL_INLINE_SYSTEM) || defined(RZ_SMALL_SYSTEM_FORK)
/* No helper thread beside glibc's malloc: glibc's fork takes its heap
 * locks as soon as a second thread has ever existed, so a fork from a
 * signal handler that interrupted malloc would deadlock where glibc alone
 * does not (stress forksig hung). Decay then runs inside large calls. */
static inline bool _rz_small_allows_helper_thread(void) { return false; }
#else
static inline bool _rz_small_allows_helper_thread(void) { return true; }
#endif

#endif

/* Returns the delegate's free but still resident pages to the OS (what
 * malloc_trim asks), and under an address-space limit their address space
 * too (_rz_small_configure); true when it released some. Not on a hot
 * path, and never from inside the delegate (its locks). */
bool _rz_small_trim(void) RZ_HIDDEN;
/* The delegate's own figures, in bytes; 0 for what it cannot tell. */
struct _rz_small_info {
	size_t allocated;  /* in blocks the program holds */
	size_t active;     /* in pages holding those blocks */
	size_t mapped;     /* mapped from the OS */
	size_t resident;   /* of those, in physical memory */
	size_t retained;   /* address space kept for reuse, not counted above */
};
void _rz_small_info(struct _rz_small_info *out) RZ_HIDDEN;

#endif /* RZ_BACKEND_SMALL_H */
