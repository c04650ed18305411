/*
 * small_jemalloc.c - small-size delegate: the embedded jemalloc.
 *
 * The only file that calls jemalloc. jemalloc is linked statically with its
 * public names renamed to rzje_* (src/backend/jemalloc.syms), so these are
 * direct calls into its fast paths and nothing of it is exported. The
 * hottest calls (malloc, calloc, realloc, free, sized free) are inline in
 * small.h; this file has the rest, and two of jemalloc's own calls into the
 * C library, renamed too and defined here:
 *   mmap -> rzje_os_mmap: when the OS refuses jemalloc memory, the
 *     engine's cache of freed large mappings (address space, commit
 *     charge) is returned and the mapping retried. Out of memory is thus
 *     handled where it happens, and the exported malloc can tail-call
 *     jemalloc with no NULL check after it.
 *   sbrk -> rzje_os_sbrk (and mmap's failures): jemalloc may succeed
 *     after its system call failed; errno is the caller's again.
 *   pthread_atfork -> rzje_os_atfork: jemalloc's fork handlers are kept
 *     here and run by the engine's (route.c), in a fixed order: jemalloc's
 *     locks before the engine's. The reclaim above runs inside jemalloc
 *     with its locks held and then takes the engine's lock; had jemalloc
 *     registered its handlers before rezone's (a constructor that mallocs
 *     first), fork would take them the other way round and could deadlock
 *     against it.
 * May include: config.h, small.h, <errno.h>, <stdint.h>, <stdlib.h>, <string.h>,
 * <sys/mman.h>, <sys/types.h>, <unistd.h>.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "backend/small.h"

#ifndef RZ_SMALL_INLINE_JEMALLOC
#error "small_jemalloc.c is built with RZ_SMALL_INLINE_JEMALLOC (Makefile.am)"
#endif

void *rzje_mallocx(size_t size, int flags) RZ_HIDDEN;
size_t rzje_xallocx(void *p, size_t size, size_t extra, int flags) RZ_HIDDEN;
size_t rzje_malloc_usable_size(const void *p) RZ_HIDDEN;
int rzje_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
    size_t newlen) RZ_HIDDEN;
int rzje_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp) RZ_HIDDEN;
int rzje_mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
    void *newp, size_t newlen) RZ_HIDDEN;

/* jemalloc's MALLOCX_ALIGN(a): log2 of the alignment in the low bits. */
#define SMALL_ALIGN_FLAG(a) ((int)__builtin_ctzl(a))

const char _rz_small_name[] = "jemalloc";

size_t _rz_small_usable_size(const void *p) { return rzje_malloc_usable_size(p); }

void *_rz_small_memalign(size_t align, size_t size)
{
	/* mallocx with zero size is undefined; malloc(0) semantics want a block.
	 * mallocx leaves errno alone, even on failure (rzje_os_mmap and
	 * rzje_os_sbrk restore it): the engine sets ENOMEM (_rz_memalign). */
	return rzje_mallocx(size ? size : 1, SMALL_ALIGN_FLAG(align));
}

size_t _rz_small_expand(void *p, size_t size)
{
	return rzje_xallocx(p, size, 0, 0);
}

/* ---- jemalloc's options ------------------------------------------------------ */

/*
 * jemalloc reads its options once, when it initialises, from this string
 * (its own weak definition, renamed, is replaced by this one), then from
 * MALLOC_CONF, which can override it. jemalloc's constructor initialises
 * it at load time, after rezone's (preload_linux.c), which calls
 * _rz_small_configure through the engine's set-up.
 * On Linux jemalloc keeps the address space of the memory it frees mapped
 * for reuse (retain), and purging only drops the pages. Under RLIMIT_AS or
 * RLIMIT_DATA (which counts private writable mappings) that space stays
 * charged: a program that filled 900 MiB with 4000-byte blocks and freed
 * them all could not get malloc(500 MiB) under ulimit -v 1500000, where
 * glibc gives its heap back and succeeds. With retain:false a purge
 * unmaps it, and the engine's reclaim purges when a mapping fails.
 * Without a limit, retain stays on: it keeps the number of mappings low
 * and is jemalloc's choice on Linux.
 */
const char *rzje_malloc_conf RZ_HIDDEN;
const char *rzje_malloc_conf;

/*
 * jemalloc 5.3 pads every block of its large classes (16 KiB and up) with
 * one page, for a random cache-line offset ("cache oblivious"): malloc
 * (20000) maps 24 KiB, and a block written whole touches all of them.
 * Under a limit that page counts against it: under ulimit -v 100000,
 * 20,000-byte blocks until NULL gave 65.3 MiB against glibc's 95.2. It
 * costs memory without a limit too: 5,000 blocks of 16 KiB, each written,
 * peak RSS 102,740 KiB with the page, 82,960 without, glibc 81,180.
 * Dropping it cost no time (smallchurn, 16-128 KiB blocks, 1 thread:
 * 0.97x [0.91-1.08], 7 pairs; 16-64 KiB, 2 threads: 0.96x [0.93-1.05]).
 * So it is always off, not only under a limit set at start-up: a limit set
 * later (setrlimit, prlimit from outside) finds jemalloc's sizes fixed.
 * The switch is not one of 5.3's MALLOC_CONF options but a variable read
 * once, by jemalloc's initialisation (sz_boot; the rest of jemalloc
 * follows the padding it sets), so it is cleared before that runs. Weak:
 * a jemalloc without the variable keeps its own choice.
 */
extern bool je_opt_cache_oblivious __attribute__((weak)) RZ_HIDDEN;

/*
 * glibc's malloc has grown the brk heap by the time a program runs (132
 * KiB at its first malloc); jemalloc maps first and never does, so under
 * rezone nothing lies below the initial break. stress-ng's brk stressor
 * writes the byte below sbrk(0) and its every child died with SIGSEGV
 * (0 operations in 10 s against 20,000 in 0.07 s). One page of heap, which
 * rezone never uses, keeps the layout programs expect. A refusal (a data
 * limit of almost nothing) changes nothing else.
 */
static void small_heap_page(void)
{
#if defined(__linux__)
	int saved = errno;
	long pg = sysconf(_SC_PAGESIZE);
	(void)sbrk(pg > 0 ? pg : 4096);
	errno = saved;
#endif
}

void _rz_small_configure(bool address_limited)
{
	if (&je_opt_cache_oblivious != NULL)
		je_opt_cache_oblivious = false;
	if (address_limited)
		__atomic_store_n(&rzje_malloc_conf, "retain:false", __ATOMIC_RELAXED);
	small_heap_page();
}

/* jemalloc's figures after refreshing them ("epoch"); 0 where jemalloc was
 * built without statistics. */
static size_t small_stat(const char *name)
{
	size_t v = 0, len = sizeof(v);
	return rzje_mallctl(name, &v, &len, NULL, 0) == 0 ? v : 0;
}

static void small_refresh(void)
{
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);
	(void)rzje_mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));
}

/* ---- a limit on memory -------------------------------------------------------- */

/*
 * A thread's first jemalloc call sets the thread up: its thread cache's
 * stacks (25 KiB, from arena 0), then an arena (the least loaded one set
 * up, or, while each has a thread, a new one: 2 MiB of metadata). When the
 * process has filled its limit by then, jemalloc crashes where glibc
 * returns NULL: a failed stack allocation leaves the cache on with no
 * stacks (SIGSEGV in its malloc), a failed arena leaves the cache bound to
 * a NULL arena (SIGSEGV in tcache_arena_associate). 8 threads made before
 * a limit and first allocating after the process filled it: SIGSEGV in 3
 * of 3 runs. Without a thread cache neither happens: the thread's malloc
 * returns NULL (no arena) and tries again at its next call.
 * So once memory is limited, threads are set up without a cache (the
 * option tcache cleared; jemalloc reads it only when it sets a thread
 * up), and rezone's trampoline turns it on for a thread it starts
 * (_rz_small_thread_boot), after the thread has its arena and arena 0
 * has shown room for the stacks. Threads rezone does not start (made
 * before the limit, or by the C library) and not yet set up go without:
 * slower (64-520 B malloc+free: 210 ns against 17), never broken; hence
 * not cleared when every thread is set up already.
 * jemalloc reads tcache twice as it sets a thread up (once for "on",
 * once for "make the stacks"): cleared between the two, a thread would be
 * on with no stacks. So the set-up is taken over (SMALL_HOOK) by a gate,
 * and the option is cleared only while no thread is inside it. Without
 * it (configure found no such function) the option is never cleared.
 * Turning a cache on later can still fail for want of memory (another
 * thread takes the room shown in arena 0, in a window of two calls): the
 * failure is seen and the cache turned off again (small_cache_off).
 * Setting arenas up ahead would also avoid the NULL arena, but costs
 * each 2 MiB of address space (8 idle threads: the program held 67 MiB
 * under its limit where glibc held 79), and a thread without a cache
 * needs none.
 * retain, also read where it is used, is cleared for an address-space or
 * data limit: retain:false from start-up acts on every extent freed from
 * then on (those kept before stay kept, and are reused first).
 * Both names are weak: a jemalloc without them keeps its own behaviour.
 * An option that MALLOC_CONF names is the user's and is left alone.
 */
void *rzje_mallocx(size_t size, int flags) RZ_HIDDEN;
void rzje_dallocx(void *p, int flags) RZ_HIDDEN;
extern bool rzje_opt_retain __attribute__((weak)) RZ_HIDDEN;
extern bool rzje_opt_tcache __attribute__((weak)) RZ_HIDDEN;

/* jemalloc's MALLOCX_ARENA(a) and MALLOCX_TCACHE_NONE. */
#define SMALL_ARENA_FLAG(a) ((int)(((unsigned)(a) + 1) << 20))
#define SMALL_TCACHE_NONE_FLAG ((int)(1u << 8))
/* Room to show for a thread cache: its stacks are 24,784 bytes with
 * jemalloc 5.3's default options (tcache_bin_alloc_size, read in gdb). */
#define SMALL_TCACHE_ROOM (64 * 1024)

static bool small_tcache_deferred;

/* Whether MALLOC_CONF sets this option ("name:" at the start or after a
 * comma: tcache_max is not tcache). */
static bool small_conf_names(const char *option)
{
	size_t n = strlen(option);
	for (const char *p = getenv("MALLOC_CONF"); p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (strncmp(p, option, n) == 0 && p[n] == ':')
			return true;
	}
	return false;
}

/* Whether one of jemalloc's boolean options is on and not the user's. */
static bool small_option_ours(const bool *option, const char *name)
{
	return option && __atomic_load_n(option, __ATOMIC_RELAXED) && !small_conf_names(name);
}

/*
 * jemalloc's internal functions that rezone takes over (below): with the
 * archive rewritten (jemalloc_hooks.sh, configure's check), rezone's
 * definition is the function for every caller, jemalloc's own objects
 * included, and calls jemalloc's as rzje_real_<name>; otherwise the
 * linker's --wrap reaches the calls from jemalloc's other objects only.
 */
#if defined(REZONE_JEMALLOC_HOOKS)
#define SMALL_HOOK(fn) fn
#define SMALL_REAL(fn) rzje_real_##fn
#else
#define SMALL_HOOK(fn) __wrap_##fn
#define SMALL_REAL(fn) __real_##fn
#endif

#if defined(REZONE_JEMALLOC_TCACHE_FAILSAFE)
/*
 * A thread whose cache stacks (24,784 bytes from arena 0) cannot be
 * allocated: jemalloc ignores the failure, leaves the cache on with no
 * stacks and crashes in the thread's next malloc. That happens when
 * memory runs out inside the thread's set-up, where rezone could not
 * prepare: a limit set by the raw system call while the thread was
 * inside its first malloc (SIGSEGV in 12-18 runs of 40), or the room
 * shown in arena 0 taken by another thread just before the boot turns
 * the cache on. The failure is noted here and the caller turns the
 * thread's cache off again (small_cache_off): the thread goes on without
 * one. Only the rewritten archive reaches this: the set-up calls it from
 * its own object.
 */
static RZ_THREAD_LOCAL void *small_stacks_failed; /* the thread's tsd */

bool rzje_real_je_tsd_tcache_data_init(void *tsd) RZ_HIDDEN;
bool je_tsd_tcache_data_init(void *tsd) RZ_HIDDEN;

bool je_tsd_tcache_data_init(void *tsd)
{
	bool failed = rzje_real_je_tsd_tcache_data_init(tsd);
	if (__builtin_expect(failed, 0))
		small_stacks_failed = tsd;
	return failed;
}
#define SMALL_STACKS_FAILED() small_stacks_failed
#else
#define SMALL_STACKS_FAILED() ((void *)0)
#endif

#if defined(REZONE_JEMALLOC_TCACHE_GATE)
/* The gate: threads inside jemalloc's per-thread cache set-up, and a
 * clearer waiting for them to leave (sequentially consistent, so that a
 * thread entering and the clearer cannot both miss the other). */
static unsigned small_setting_up;
static bool small_clearing;

bool SMALL_REAL(je_tsd_tcache_enabled_data_init)(void *tsd) RZ_HIDDEN;
bool SMALL_HOOK(je_tsd_tcache_enabled_data_init)(void *tsd) RZ_HIDDEN;
static void small_cache_off(void *tsd);

/* A limit that rezone did not see set (the prlimit64 system call made
 * directly, or prlimit(1) from another process) finds threads made
 * before it not yet set up, and their set-up maps thread-cache stacks and
 * maybe an arena under it: SIGSEGV in 3 of 3 runs (threads_before_limit
 * syscall). So each set-up but the first (the process's start, memory
 * plentiful) reads the limits while caches are not deferred yet: two
 * getrlimit calls per thread, next to its 60-90 us of creation. */
static void small_limit_unseen(void)
{
	static unsigned set_ups;
	if (__atomic_fetch_add(&set_ups, 1, __ATOMIC_RELAXED) == 0 ||
	    __atomic_load_n(&small_tcache_deferred, __ATOMIC_ACQUIRE))
		return;
	size_t as, data;
	_rz_os_limits(&as, &data);
	if (as != 0 || data != 0)
		_rz_small_prepare_limit(0, 1, true); /* as for a thread about to be made */
}

bool SMALL_HOOK(je_tsd_tcache_enabled_data_init)(void *tsd)
{
	small_limit_unseen();
	for (;;) {
		__atomic_fetch_add(&small_setting_up, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&small_clearing, __ATOMIC_SEQ_CST))
			break;
		__atomic_fetch_sub(&small_setting_up, 1, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&small_clearing, __ATOMIC_ACQUIRE))
			;
	}
	bool err = SMALL_REAL(je_tsd_tcache_enabled_data_init)(tsd);
	__atomic_fetch_sub(&small_setting_up, 1, __ATOMIC_RELEASE);
	if (__builtin_expect(SMALL_STACKS_FAILED() == tsd, 0))
		small_cache_off(tsd);
	return err;
}

/* Waits until no thread is inside the set-up, and keeps new ones out
 * until small_gate_open. One closer at a time: a closer changes the
 * option and may put it back, and two interleaved would put back each
 * other's temporary value. A closer is never inside the set-up (the
 * thread that failed there has left its count), so none waits for it. */
static bool small_closer;

static void small_gate_close(void)
{
	while (__atomic_exchange_n(&small_closer, true, __ATOMIC_ACQUIRE))
		;
	__atomic_store_n(&small_clearing, true, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&small_setting_up, __ATOMIC_SEQ_CST) != 0)
		;
}

static void small_gate_open(void)
{
	__atomic_store_n(&small_clearing, false, __ATOMIC_RELEASE);
	__atomic_store_n(&small_closer, false, __ATOMIC_RELEASE);
}

/* Runs once (small_tcache_deferred is set first, under jemalloc's
 * "epoch" caller). */
static void small_clear_tcache(void)
{
	small_gate_close();
	__atomic_store_n(&rzje_opt_tcache, false, __ATOMIC_SEQ_CST);
	small_gate_open();
}

/* The option's value to put back while it is cleared for one thread
 * (small_cache_off), for a fork child made in between. */
static bool small_borrowed, small_borrowed_value;

/* The calling thread's cache off after its stacks could not be had: the
 * set-up run again with the option cleared only sets "off". Memory has
 * run out, so caches are deferred from now on, as under a limit (new
 * threads get rezone's boot, which shows room first): the option stays
 * cleared. An option the user set keeps its value for other threads, and
 * is cleared only for this one, with the gate closed. */
static void small_cache_off(void *tsd)
{
#if defined(REZONE_JEMALLOC_TCACHE_FAILSAFE)
	small_stacks_failed = NULL;
#endif
	bool ours = small_option_ours(&rzje_opt_tcache, "tcache");
	if (ours)
		__atomic_store_n(&small_tcache_deferred, true, __ATOMIC_SEQ_CST);
	small_gate_close();
	bool keep = !ours && __atomic_load_n(&rzje_opt_tcache, __ATOMIC_SEQ_CST);
	__atomic_store_n(&small_borrowed_value, keep, __ATOMIC_SEQ_CST);
	__atomic_store_n(&small_borrowed, true, __ATOMIC_SEQ_CST);
	__atomic_store_n(&rzje_opt_tcache, false, __ATOMIC_SEQ_CST);
	(void)SMALL_REAL(je_tsd_tcache_enabled_data_init)(tsd);
	__atomic_store_n(&rzje_opt_tcache, keep, __ATOMIC_SEQ_CST);
	__atomic_store_n(&small_borrowed, false, __ATOMIC_SEQ_CST);
	small_gate_open();
}

/* The child has one thread, the one that forked, and it is not setting
 * up a cache: a parent thread that was (its count inherited) or was
 * clearing the option would hold the child's clearer or set-ups forever
 * (a multithreaded program's children calling setrlimit hung). A clear
 * that fork cut short is finished here, and the user's option, cleared
 * for one thread at the fork, is put back. */
static void small_gate_postfork_child(void)
{
	__atomic_store_n(&small_setting_up, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&small_clearing, false, __ATOMIC_RELAXED);
	__atomic_store_n(&small_closer, false, __ATOMIC_RELAXED);
	if (__atomic_load_n(&small_borrowed, __ATOMIC_RELAXED)) {
		__atomic_store_n(&rzje_opt_tcache,
		    __atomic_load_n(&small_borrowed_value, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
		__atomic_store_n(&small_borrowed, false, __ATOMIC_RELAXED);
	}
	if (__atomic_load_n(&small_tcache_deferred, __ATOMIC_RELAXED))
		__atomic_store_n(&rzje_opt_tcache, false, __ATOMIC_RELAXED);
}
#define SMALL_TCACHE_GATE 1
#else
static void small_clear_tcache(void) {}
static void small_gate_postfork_child(void) {}
static void small_cache_off(void *tsd) { (void)tsd; }
#define SMALL_TCACHE_GATE 0
#endif

#if defined(REZONE_JEMALLOC_ARENA_FALLBACK)
/*
 * A thread whose own arena cannot be made (2 MiB of metadata, mapped
 * 2 MiB-aligned: up to 4 MiB of address space) got no block from jemalloc
 * at all, where glibc falls back to an arena that exists: with 2-3 MiB
 * left under RLIMIT_AS, a new thread's malloc(64) failed 64 of 64 times
 * (glibc served 64 of 64). So when jemalloc finds no arena for a thread,
 * that call gets arena 0, unbound (the thread is not counted there, and
 * its next slow-path call tries again to make its own). jemalloc's own
 * malloc calls it from its object (arena_choose, inline there): only the
 * rewritten archive reaches that call (SMALL_HOOK).
 */
extern void *je_arenas[] RZ_HIDDEN; /* atomic_p_t, one pointer each */
void *SMALL_REAL(je_arena_choose_hard)(void *tsd, bool internal) RZ_HIDDEN;
void *SMALL_HOOK(je_arena_choose_hard)(void *tsd, bool internal) RZ_HIDDEN;
static RZ_THREAD_LOCAL bool small_unbound;

void *SMALL_HOOK(je_arena_choose_hard)(void *tsd, bool internal)
{
	void *arena = SMALL_REAL(je_arena_choose_hard)(tsd, internal);
	small_unbound = arena == NULL;
	return arena ? arena : __atomic_load_n(&je_arenas[0], __ATOMIC_ACQUIRE);
}
#define SMALL_UNBOUND() small_unbound
#else
#define SMALL_UNBOUND() false
#endif

#if defined(REZONE_JEMALLOC_ARENA_ROOM)
/*
 * A new arena takes 2 MiB of metadata, mapped 2 MiB-aligned (up to 4 MiB
 * of address space for a moment), before it can serve anything. Made
 * with only that much left under RLIMIT_AS or RLIMIT_DATA, it took the
 * last room and then could not map a page for its blocks, while arena 0
 * could have served from that room: a thread made before the limit,
 * whose first call was a free, got NULL for 64 of 64 malloc(64) with
 * 2 MiB left (glibc, whose new arena needs a 64 MiB reservation, falls
 * back to its main arena and served 64). So under such a limit a new
 * arena is made for a thread only while SMALL_ARENA_ROOM is left;
 * otherwise jemalloc's arena choice finds none, and the thread is served
 * from arena 0 (above).
 * One read of /proc/self/status per arena made (16-19 us; at most 4 per
 * processor in a process's life), nothing without a limit.
 */
/* Its metadata (up to 4 MiB while it is aligned), a radix-tree leaf its
 * first blocks may need (a 6 MiB block of jemalloc's metadata, for memory
 * in a GiB not used before), and as much again to serve from. */
#define SMALL_ARENA_ROOM ((size_t)16 << 20)

void *SMALL_REAL(je_arena_new)(void *tsdn, unsigned ind, const void *config) RZ_HIDDEN;
void *SMALL_HOOK(je_arena_new)(void *tsdn, unsigned ind, const void *config) RZ_HIDDEN;

static bool small_room_for_arena(void)
{
	size_t as_limit, data_limit, as, data;
	_rz_os_limits(&as_limit, &data_limit);
	if ((as_limit == 0 && data_limit == 0) || !_rz_os_vm_use(&as, &data))
		return true;
	if (as_limit != 0 && (as >= as_limit || as_limit - as < SMALL_ARENA_ROOM))
		return false;
	return data_limit == 0 || (data < data_limit && data_limit - data >= SMALL_ARENA_ROOM);
}

/* Arenas below it are the threads' (the huge arena, for jemalloc's
 * oversize blocks, comes next; a weak name: without it, every arena). */
extern unsigned je_narenas_auto __attribute__((weak)) RZ_HIDDEN;

void *SMALL_HOOK(je_arena_new)(void *tsdn, unsigned ind, const void *config)
{
	/* Arena 0 is jemalloc's start-up: always made. The huge arena
	 * serves one request of 8 MiB or more, which needs the room anyway. */
	bool threads = &je_narenas_auto == NULL ||
	    ind < __atomic_load_n(&je_narenas_auto, __ATOMIC_RELAXED);
	if (ind != 0 && threads && !small_room_for_arena())
		return NULL;
	return SMALL_REAL(je_arena_new)(tsdn, ind, config);
}
#endif

/* How many threads jemalloc has set up: the sum of its arenas' thread
 * counts (statistics, refreshed first), or 0 when it keeps none. */
static unsigned small_threads_set_up(void)
{
	unsigned narenas;
	size_t len = sizeof(narenas);
	size_t mib[4];
	size_t miblen = sizeof(mib) / sizeof(mib[0]);
	small_refresh();
	if (rzje_mallctl("arenas.narenas", &narenas, &len, NULL, 0) != 0 ||
	    rzje_mallctlnametomib("stats.arenas.0.nthreads", mib, &miblen) != 0)
		return 0;
	unsigned sum = 0;
	for (unsigned i = 0; i < narenas; i++) {
		unsigned n;
		len = sizeof(n);
		mib[2] = i;
		if (rzje_mallctlbymib(mib, miblen, &n, &len, NULL, 0) == 0)
			sum += n; /* ENOENT: an arena not set up */
	}
	return sum;
}

static void small_defer_tcache(void)
{
	__atomic_store_n(&small_tcache_deferred, true, __ATOMIC_SEQ_CST);
	small_clear_tcache();
}

void _rz_small_prepare_limit(unsigned threads, unsigned new_threads, bool address_limited)
{
	if (address_limited && small_option_ours(&rzje_opt_retain, "retain"))
		__atomic_store_n(&rzje_opt_retain, false, __ATOMIC_RELAXED);
	if (!SMALL_TCACHE_GATE || __atomic_load_n(&small_tcache_deferred, __ATOMIC_ACQUIRE) ||
	    !small_option_ours(&rzje_opt_tcache, "tcache"))
		return;
	/* The statistics call sets the caller up first. Deferred is set
	 * before the option is cleared: a pthread_create that sees the
	 * option cleared also sees that its thread needs the trampoline. */
	if (new_threads > 0 || small_threads_set_up() < threads)
		small_defer_tcache();
}


bool _rz_small_thread_boot_pending(void)
{
	return __atomic_load_n(&small_tcache_deferred, __ATOMIC_RELAXED);
}

/* On a new thread, first thing. Any call that fetches the thread's state
 * in full sets it up; a read of "thread.tcache.enabled" does no more,
 * where a malloc and free of one byte would also fill a thread-cache bin
 * the thread may never use. With caches deferred, the cache is turned on
 * here once the thread has an arena (a block without the cache binds
 * it) and arena 0, which the stacks come from, has served and taken back
 * room for them (another thread could take that room first, in a window
 * of two calls: turning the cache on then fails, and jemalloc crashes,
 * as every such thread did before). No arena or no room: the thread goes
 * without a cache. */
void _rz_small_thread_boot(void)
{
	bool on;
	size_t len = sizeof(on);
	(void)rzje_mallctl("thread.tcache.enabled", &on, &len, NULL, 0);
	if (on || !__atomic_load_n(&small_tcache_deferred, __ATOMIC_ACQUIRE))
		return;
	void *bound = rzje_mallocx(1, SMALL_TCACHE_NONE_FLAG);
	if (!bound)
		return;
	rzje_dallocx(bound, SMALL_TCACHE_NONE_FLAG);
	if (SMALL_UNBOUND())
		return; /* on arena 0 for now: no cache, whose stacks may not fit */
	int flags = SMALL_ARENA_FLAG(0) | SMALL_TCACHE_NONE_FLAG;
	void *room = rzje_mallocx(SMALL_TCACHE_ROOM, flags);
	if (!room)
		return;
	rzje_dallocx(room, flags);
	on = true;
	(void)rzje_mallctl("thread.tcache.enabled", NULL, NULL, &on, sizeof(on));
	/* The room went to another thread first: jemalloc left the cache on
	 * with no stacks (it crashed in the thread's next malloc). */
	void *failed = SMALL_STACKS_FAILED();
	if (__builtin_expect(failed != NULL, 0))
		small_cache_off(failed);
}

/* ---- jemalloc's view of the OS ---------------------------------------------- */

static bool (*small_reclaim)(void);
static void (*small_shed)(size_t);

void _rz_small_set_reclaim(bool (*reclaim)(void))
{
	__atomic_store_n(&small_reclaim, reclaim, __ATOMIC_RELEASE);
}

void _rz_small_set_shed(void (*shed)(size_t len))
{
	__atomic_store_n(&small_shed, shed, __ATOMIC_RELEASE);
}

/* Memory jemalloc gave back: unmapped, decommitted (mapped again
 * PROT_NONE over itself, which ends the commit charge) or its pages
 * dropped (madvise). _rz_small_trim compares it across a purge, where
 * reading jemalloc's figures (two "epoch" refreshes, merging every
 * arena's statistics) cost more than the purge: stress-ng's malloc
 * stressor under ulimit -v spent 65% of its time merging statistics. */
static uint64_t small_returned;

void *rzje_os_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) RZ_HIDDEN;
int rzje_os_munmap(void *addr, size_t len) RZ_HIDDEN;
int rzje_os_madvise(void *addr, size_t len, int advice) RZ_HIDDEN;

int rzje_os_madvise(void *addr, size_t len, int advice)
{
	int ret = madvise(addr, len, advice);
	if (ret == 0 && (advice == MADV_DONTNEED || advice == MADV_FREE))
		__atomic_fetch_add(&small_returned, 1, __ATOMIC_RELAXED);
	return ret;
}

int rzje_os_munmap(void *addr, size_t len)
{
	int ret = munmap(addr, len);
	if (ret == 0)
		__atomic_fetch_add(&small_returned, 1, __ATOMIC_RELAXED);
	return ret;
}

/* jemalloc's second source of memory when mmap fails ("dss"): glibc's
 * sbrk leaves ENOMEM in errno when the heap cannot grow, and jemalloc,
 * which reads no errno there, may still succeed (the same malloc(5000)
 * under ulimit -v as below). Every other outcome is sbrk's. */
void *rzje_os_sbrk(intptr_t increment) RZ_HIDDEN;

void *rzje_os_sbrk(intptr_t increment)
{
	int saved = errno;
	void *p = sbrk(increment);
	errno = saved;
	return p;
}

/*
 * jemalloc adds MAP_NORESERVE to its mappings wherever the kernel
 * overcommits (modes 0 and 1), which skips mode 0's check of a mapping
 * against RAM and swap: memalign(1 TiB, 16), a small block with a huge
 * alignment and so jemalloc's, "succeeded" where glibc fails with ENOMEM.
 * Without the flag the kernel judges jemalloc's mappings as it judges
 * glibc's (mode 1 still accepts them; mode 2 never saw the flag).
 */
void *rzje_os_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int saved = errno;
	flags &= ~MAP_NORESERVE;
	/* New memory for small blocks: the cache's pages give way to it
	 * (src/README.md, "Cached pages give way to other memory"). */
	void (*shed)(size_t) = __atomic_load_n(&small_shed, __ATOMIC_ACQUIRE);
	if (shed && prot != PROT_NONE)
		shed(len);
	void *p = _rz_os_kernel_mmap(addr, len, prot, flags, fd, (long)off);
	if (p != MAP_FAILED && prot == PROT_NONE && (flags & MAP_FIXED))
		__atomic_fetch_add(&small_returned, 1, __ATOMIC_RELAXED);
	if (__builtin_expect(p == MAP_FAILED, 0) && errno == ENOMEM) {
		bool (*reclaim)(void) = __atomic_load_n(&small_reclaim, __ATOMIC_ACQUIRE);
		if (reclaim && reclaim())
			p = _rz_os_kernel_mmap(addr, len, prot, flags, fd, (long)off);
	}
	/* jemalloc reads no errno from its mmap, and may still succeed
	 * without the mapping (a thread cache filled with fewer blocks): the
	 * malloc that got a block then left ENOMEM behind (under ulimit -v
	 * 262144, 1 of 50,104 successful malloc(5000), with rzje_os_sbrk). Where jemalloc fails
	 * it sets ENOMEM itself (malloc, calloc, realloc; for mallocx the
	 * engine does, _rz_memalign). */
	errno = saved;
	return p;
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

int rzje_os_atfork(void (*prepare)(void), void (*parent)(void),
    void (*child)(void)) RZ_HIDDEN;

int rzje_os_atfork(void (*prepare)(void), void (*parent)(void),
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
	small_gate_postfork_child();
}

void _rz_small_info(struct _rz_small_info *out)
{
	small_refresh();
	out->allocated = small_stat("stats.allocated");
	out->active = small_stat("stats.active");
	out->mapped = small_stat("stats.mapped");
	out->resident = small_stat("stats.resident");
	out->retained = small_stat("stats.retained");
}

/* Every arena's unused dirty pages go back to the OS at once, instead of
 * after the decay time (10 s by default). MALLCTL_ARENAS_ALL is 4096 in
 * jemalloc 5; the name is built by hand, since jemalloc.h is not
 * included (its public names would clash with ours). */
#define SMALL_PURGE_ALL "arena.4096.purge"

bool _rz_small_trim(void)
{
	uint64_t before = __atomic_load_n(&small_returned, __ATOMIC_RELAXED);
	if (rzje_mallctl(SMALL_PURGE_ALL, NULL, NULL, NULL, 0) != 0)
		return false;
	return __atomic_load_n(&small_returned, __ATOMIC_RELAXED) != before;
}
