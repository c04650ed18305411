/*
 * os.h - the platform contract: everything the engine may ask of the OS.
 *
 * Implemented once per platform (vm_linux.c, vm_mach.c); the engine includes
 * this header and never an OS header. Every function that can fail returns
 * 0 or an errno value. Addresses and sizes passed in are multiples of
 * _rz_caps.page_size unless said otherwise. Functions never allocate memory
 * through malloc: they run inside malloc.
 */
#ifndef RZ_BACKEND_OS_H
#define RZ_BACKEND_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RZ_HIDDEN __attribute__((visibility("hidden")))

/* rezone's own thread-locals. Beside the embedded jemalloc on Linux the
 * library needs static TLS anyway (jemalloc's 2.6 KiB are initial-exec:
 * DF_STATIC_TLS is set, and a late dlopen needs the glibc tunable either
 * way), so initial-exec costs nothing more and spares the TLS-descriptor
 * call on every access (callgrind: vector churn to 1 MiB, 500 vectors,
 * 526.57 -> 526.45 M instructions, 220 fewer per vector; large churn,
 * 4,000 ops, 24.82 -> 24.58 M). The system delegate's build keeps
 * descriptors (-mtls-dialect=gnu2) and stays dlopen-able as is. */
#if defined(__linux__) && defined(RZ_SMALL_INLINE_JEMALLOC) && !defined(REZONE_MACH_SIM)
#define RZ_THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))
#else
#define RZ_THREAD_LOCAL __thread
#endif

/* Capabilities, filled once by _rz_os_init(); the engine branches on these. */
struct _rz_os_caps {
	size_t page_size;     /* allocation granule: max of user and kernel page */
	size_t move_align;    /* moves are cheapest between addresses with equal
	                         offset modulo this (2 MiB on Linux); 0: no effect */
	bool can_extend;      /* a mapping may grow in place when its neighbour is free */
	bool can_move;        /* a mapping may move without copying its pages */
	bool commit_is_free;  /* writable reservations cost nothing until touched;
	                         false under strict overcommit: reserve inaccessible,
	                         commit on growth */
	bool can_name;        /* mappings can carry a name (tag) */
	size_t va_size;       /* bytes of user address space (0: assume 2^47) */
	bool realloc_zero_frees; /* the host C library's realloc(p, 0) frees p
	                            and returns NULL (glibc) rather than
	                            returning a minimal block */
	bool shrink_keeps_pages; /* a shrunk block may keep its tail's touched
	                            pages for regrowth (returned later by
	                            decay); false where every resident page
	                            counts against the process (macOS
	                            footprint), and the tail goes back at once */
	int thp_mode;         /* transparent huge pages: RZ_THP_NONE (none, or
	                         the kernel's "never"), RZ_THP_MADVISE (only
	                         where asked), RZ_THP_ALWAYS (everywhere unless
	                         refused) */
};
#define RZ_THP_NONE 0
#define RZ_THP_MADVISE 1
#define RZ_THP_ALWAYS 2
extern struct _rz_os_caps _rz_caps RZ_HIDDEN;

/* Reads the platform's capabilities; idempotent. strict forces
 * commit_is_free off (for tests and for users who want commit charged). */
int _rz_os_init(bool strict) RZ_HIDDEN;

/* Maps size bytes anywhere, aligned to align (a power of two >= page).
 * writable: read-write and zero-filled on touch; else reserved, no access. */
int _rz_vm_map(size_t size, size_t align, bool writable, void **out) RZ_HIDDEN;
/* Returns a range (all or part of a mapping) to the OS. */
int _rz_vm_unmap(void *p, size_t size) RZ_HIDDEN;
/* Linux: mmap as the system call, past rezone's own export of mmap
 * (frontend/mmap_linux.c), for rezone's and the delegate's mappings. */
void *_rz_os_kernel_mmap(void *addr, size_t len, int prot, int flags, int fd, long off) RZ_HIDDEN;
/* Makes a reserved range read-write (counted against commit). */
int _rz_vm_commit(void *p, size_t size) RZ_HIDDEN;
/* Opens [p+open, p+new_open) of a reservation [p, p+reserved) whose first
 * open bytes are open (strict commit), so that the open part stays one
 * mapping where the OS can (Linux: the open mapping grows in place with
 * mremap; opened beside it with mprotect after a move, it is a second
 * mapping that a later move cannot resize). 0, or an errno with the
 * range as it was, or EEXIST: the range was lost to another mapping made
 * meanwhile, and [p+open, p+reserved) is no longer the caller's. */
int _rz_vm_commit_grow(void *p, size_t open, size_t new_open, size_t reserved) RZ_HIDDEN;
/* Whether a move takes a range of several mappings as it is (Linux 6.17
 * and later move them together with one mremap; before, EFAULT). Probed
 * once, lazily; false where !can_move. */
bool _rz_vm_moves_split(void) RZ_HIDDEN;
/* Returns a range's pages to the OS; contents are lost. The range stays
 * mapped; it stays writable only when commit_is_free. */
int _rz_vm_decommit(void *p, size_t size) RZ_HIDDEN;
/* Grows the mapping [p, p+old) to [p, p+new) in place; ENOMEM when the
 * neighbouring range is taken, ENOTSUP when !can_extend. The new part is
 * writable iff commit_is_free. */
int _rz_vm_extend(void *p, size_t old_size, size_t new_size) RZ_HIDDEN;
/* Moves the mapping [p, p+old) without copying to a new place with room
 * for new_size bytes; only the first used bytes need survive (with strict
 * commit only they are writable) and the first new_used bytes of the new
 * place are writable afterwards. The new place is aligned to align (a
 * power of two, 0: page) when the OS can make room there; when it cannot,
 * the move may land at page alignment (the caller checks *out). ENOTSUP
 * when !can_move. On failure the original mapping is untouched. */
int _rz_vm_move(void *p, size_t old_size, size_t used, size_t new_used,
    size_t new_size, size_t align, void **out) RZ_HIDDEN;
/* Copies size bytes between page-aligned ranges the cheapest way the OS
 * has (copy-on-write where possible). Cannot fail. */
void _rz_vm_copy(void *dst, const void *src, size_t size) RZ_HIDDEN;
/* Faults in a range that is about to be written in full (best effort,
 * one system call instead of a page fault per page). */
void _rz_vm_prefault(void *p, size_t size) RZ_HIDDEN;
/* Labels a mapping as rezone's (best effort; no-op when !can_name). */
void _rz_vm_name(void *p, size_t size) RZ_HIDDEN;
/* Asks for huge pages on a whole mapping (on) or refuses them (off); best
 * effort, no-op when thp_mode is RZ_THP_NONE. Applies to the mapping
 * itself, so it follows the mapping when it grows or moves. */
void _rz_vm_hugepage(void *p, size_t size, bool on) RZ_HIDDEN;
/* Whether a huge-page fault may wait for a hypervisor: the machine hands
 * free memory back to its host (a Linux guest's free page reporting), and
 * a huge page is always such memory (README, "Huge pages"). Looked up once,
 * at the first call; false where unknown or without huge pages. */
bool _rz_vm_huge_faults_slow(void) RZ_HIDDEN;
/* Whether the page holding p is mapped by anyone (one system call). */
bool _rz_vm_is_mapped(const void *p) RZ_HIDDEN;

/* The process's limits on address space (RLIMIT_AS) and on private
 * writable memory (RLIMIT_DATA), 0 when unlimited. Read anew at each call:
 * a program may change them at any time. */
void _rz_os_limits(size_t *as_limit, size_t *data_limit) RZ_HIDDEN;
/* false when the kernel would refuse to commit one writable mapping of
 * size bytes (Linux overcommit 0: more than RAM + swap); checked before a
 * failed large request falls back to the small delegate, whose own
 * mappings may skip the kernel's check. */
bool _rz_os_commit_possible(size_t size) RZ_HIDDEN;
/* The process's address space (VmSize) and private writable memory
 * (VmData, what RLIMIT_DATA counts) in bytes; false if unknown. System
 * calls only (no allocation), 16-19 us. */
bool _rz_os_vm_use(size_t *as_bytes, size_t *data_bytes) RZ_HIDDEN;
/* The most mappings a process may have (Linux: vm.max_map_count), 0 if
 * unknown or unlimited. */
size_t _rz_os_max_map_count(void) RZ_HIDDEN;
/* Threads in the process now, 0 if unknown; async-signal-safe. */
unsigned _rz_os_thread_count(void) RZ_HIDDEN;
/* Gives the processor away (lock spinning). */
void _rz_os_yield(void) RZ_HIDDEN;
/* Sleeps about ns nanoseconds; never a cancellation point. */
void _rz_os_sleep_ns(uint64_t ns) RZ_HIDDEN;
/* One waiter (the helper thread) sleeps in _rz_os_wait until another
 * thread calls _rz_os_wake (a wake before the wait is not lost). Never
 * allocates. _rz_os_wait_reset re-creates it in a fork child. */
void _rz_os_wait(void) RZ_HIDDEN;
/* The same, but for at most about ns nanoseconds (a monotonic clock). */
void _rz_os_wait_for(uint64_t ns) RZ_HIDDEN;
void _rz_os_wake(void) RZ_HIDDEN;
void _rz_os_wait_reset(void) RZ_HIDDEN;
/* Starts a detached helper thread running fn(arg), with every signal
 * blocked and a small stack; 0 or an errno value. */
int _rz_os_thread_start(void *(*fn)(void *), void *arg) RZ_HIDDEN;
/* The C library's pthread_create, looked up past rezone's own export
 * (Linux: thread_linux.c), as dlsym returns it; NULL if not found. Its
 * one lookup serves the front end's wrapper and the helper thread. */
void *_rz_os_libc_pthread_create(void) RZ_HIDDEN;
/* The same for C11's thrd_create (Linux; NULL elsewhere or if the C
 * library has none). */
void *_rz_os_libc_thrd_create(void) RZ_HIDDEN;

/* Environment lookup that never allocates (safe before libc is ready). */
const char *_rz_os_getenv(const char *name) RZ_HIDDEN;
/* Monotonic clock in nanoseconds; coarse (it may lag by a few ms). */
uint64_t _rz_os_now_ns(void) RZ_HIDDEN;
/* Writes to standard error, retrying short writes; never allocates. */
void _rz_os_write_err(const char *s, size_t n) RZ_HIDDEN;
/* Keeps a private duplicate of standard error for later reports, so that a
 * program closing its stderr before exit (coreutils do) still gets them. */
void _rz_os_keep_stderr(void) RZ_HIDDEN;
/* Aborts the process (SIGABRT). */
_Noreturn void _rz_os_abort(void) RZ_HIDDEN;

/* A sleeping mutex, big enough for any platform's native one. */
typedef struct {
	_Alignas(16) unsigned char opaque[64];
} _rz_mutex_t;
void _rz_mutex_init(_rz_mutex_t *m) RZ_HIDDEN;
void _rz_mutex_lock(_rz_mutex_t *m) RZ_HIDDEN;
void _rz_mutex_unlock(_rz_mutex_t *m) RZ_HIDDEN;
/* For fork's prepare handler: takes the mutex, unless the calling thread
 * already holds it (fork from a signal handler that interrupted that very
 * critical section), where waiting would never end: then returns false
 * and leaves it as it is. */
bool _rz_mutex_lock_for_fork(_rz_mutex_t *m) RZ_HIDDEN;

/* ---- cached pages, metadata, copy-on-write, trylock ---------------------- */

/* Marks a cached range's pages reusable: the OS may reclaim them at any
 * time and they stop counting toward the process footprint (libmalloc does
 * this to its cached large frees). Contents become undefined, not zero.
 * Best effort. Linux: no-op (MADV_FREE would zero pages under the engine,
 * which counts cached bytes as dirty, not zero; harmless, but not needed). */
void _rz_vm_reusable(void *p, size_t size) RZ_HIDDEN;
/* Takes a reusable range back before handing it out again, so that the
 * footprint counts it again. Contents stay undefined. Linux: no-op. */
void _rz_vm_reuse(void *p, size_t size) RZ_HIDDEN;
/* Maps size bytes for rezone's own bookkeeping, labelled as such rather
 * than as malloc memory; it may be reserved only: open what is used with
 * _rz_vm_commit. Linux: an inaccessible reservation. */
int _rz_vm_map_meta(size_t size, void **out) RZ_HIDDEN;
#if defined(__APPLE__) || defined(REZONE_MACH_SIM)
/* Mach only: the address large blocks' placement search starts from (a
 * high base of their own; vm_mach.c says why), for the tests. */
uintptr_t _rz_vm_mach_large_hint(void) RZ_HIDDEN;
#endif
/* _rz_vm_copy, telling whether dst now shares src's pages copy-on-write
 * (mach_vm_copy): then src must be unmapped or decommitted, not cached, or
 * the first write to either copy faults and copies. Linux: _rz_vm_copy,
 * false. */
bool _rz_vm_copy_shares(void *dst, const void *src, size_t size) RZ_HIDDEN;
/* Takes the mutex if it is free; true on success. Linux:
 * pthread_mutex_trylock() == 0. */
bool _rz_mutex_trylock(_rz_mutex_t *m) RZ_HIDDEN;

/* ---- short locks --------------------------------------------------------- */

/* A lock held for a few stores (the table's and the cache's shards), so the
 * uncontended path is what counts. macOS: the mutex above, an
 * os_unfair_lock (one compare-and-swap each way), whose holder the kernel
 * boosts for a waiter of higher QoS. Linux: a futex word, 0 free, 1 held,
 * 2 held with waiters: one compare-and-swap to take and one exchange to
 * free, against ~96 instructions for the errorcheck pthread mutex it
 * replaced (a vector's life takes four pairs); a waiter spins a little,
 * then sleeps in the kernel, so a holder that was preempted, even by a
 * real-time thread on its CPU, gets to run (a spinlock that only yielded
 * could spin forever there). */
#if defined(__APPLE__) || defined(REZONE_MACH_SIM)
typedef _rz_mutex_t _rz_short_lock_t;
static inline void _rz_short_lock_init(_rz_short_lock_t *l) { _rz_mutex_init(l); }
static inline bool _rz_short_trylock(_rz_short_lock_t *l) { return _rz_mutex_trylock(l); }
static inline void _rz_short_lock(_rz_short_lock_t *l) { _rz_mutex_lock(l); }
static inline void _rz_short_unlock(_rz_short_lock_t *l) { _rz_mutex_unlock(l); }
#else
typedef struct {
	uint32_t state;
} _rz_short_lock_t;
/* The contended halves (vm_linux.c); both keep errno. */
void _rz_short_lock_wait(_rz_short_lock_t *l) RZ_HIDDEN;
void _rz_short_lock_wake(_rz_short_lock_t *l) RZ_HIDDEN;

static inline void _rz_short_lock_init(_rz_short_lock_t *l)
{
	__atomic_store_n(&l->state, 0, __ATOMIC_RELEASE);
}

static inline bool _rz_short_trylock(_rz_short_lock_t *l)
{
	uint32_t free_state = 0;
	return __atomic_compare_exchange_n(&l->state, &free_state, 1, false,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void _rz_short_lock(_rz_short_lock_t *l)
{
	if (__builtin_expect(!_rz_short_trylock(l), 0))
		_rz_short_lock_wait(l);
}

static inline void _rz_short_unlock(_rz_short_lock_t *l)
{
	if (__builtin_expect(__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2, 0))
		_rz_short_lock_wake(l);
}
#endif

#endif /* RZ_BACKEND_OS_H */
