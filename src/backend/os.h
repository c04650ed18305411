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
	size_t va_limit;      /* address-space limit of the process (RLIMIT_AS),
	                         0 when unlimited: headroom is kept small then */
	bool realloc_zero_frees; /* the host C library's realloc(p, 0) frees p
	                            and returns NULL (glibc) rather than
	                            returning a minimal block */
};
extern struct _rz_os_caps _rz_caps RZ_HIDDEN;

/* Reads the platform's capabilities; idempotent. strict forces
 * commit_is_free off (for tests and for users who want commit charged). */
int _rz_os_init(bool strict) RZ_HIDDEN;

/* Maps size bytes anywhere, aligned to align (a power of two >= page).
 * writable: read-write and zero-filled on touch; else reserved, no access. */
int _rz_vm_map(size_t size, size_t align, bool writable, void **out) RZ_HIDDEN;
/* Returns a range (all or part of a mapping) to the OS. */
int _rz_vm_unmap(void *p, size_t size) RZ_HIDDEN;
/* Makes a reserved range read-write (counted against commit). */
int _rz_vm_commit(void *p, size_t size) RZ_HIDDEN;
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
 * place are writable afterwards. ENOTSUP when !can_move. On failure the
 * original mapping is untouched. */
int _rz_vm_move(void *p, size_t old_size, size_t used, size_t new_used,
    size_t new_size, void **out) RZ_HIDDEN;
/* Copies size bytes between page-aligned ranges the cheapest way the OS
 * has (copy-on-write where possible). Cannot fail. */
void _rz_vm_copy(void *dst, const void *src, size_t size) RZ_HIDDEN;
/* Faults in a range that is about to be written in full (best effort,
 * one system call instead of a page fault per page). */
void _rz_vm_prefault(void *p, size_t size) RZ_HIDDEN;
/* Labels a mapping as rezone's (best effort; no-op when !can_name). */
void _rz_vm_name(void *p, size_t size) RZ_HIDDEN;
/* Whether the page holding p is mapped by anyone (one system call). */
bool _rz_vm_is_mapped(const void *p) RZ_HIDDEN;

/* Environment lookup that never allocates (safe before libc is ready). */
const char *_rz_os_getenv(const char *name) RZ_HIDDEN;
/* Monotonic clock in nanoseconds. */
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

/* ---- macOS additions (issue 10) ---------------------------------------------
 * Implemented by vm_mach.c (and so the Mach simulation); the engine does not
 * call them yet. When it does, vm_linux.c needs the counterparts noted. */

/* Marks a cached range's pages reusable: the OS may reclaim them at any
 * time and they stop counting toward the process footprint (libmalloc does
 * this to its cached large frees). Contents become undefined, not zero.
 * Best effort. Linux: no-op (MADV_FREE would zero pages under the engine,
 * which counts cached bytes as dirty, not zero; harmless, but not needed). */
void _rz_vm_reusable(void *p, size_t size) RZ_HIDDEN;
/* Takes a reusable range back before handing it out again, so that the
 * footprint counts it again. Contents stay undefined. Linux: no-op. */
void _rz_vm_reuse(void *p, size_t size) RZ_HIDDEN;
/* Maps size bytes of read-write metadata (the table), labelled as rezone's
 * own rather than as malloc memory. Linux: _rz_vm_map + _rz_vm_commit. */
int _rz_vm_map_meta(size_t size, void **out) RZ_HIDDEN;
/* _rz_vm_copy, telling whether dst now shares src's pages copy-on-write
 * (mach_vm_copy): then src must be unmapped or decommitted, not cached, or
 * the first write to either copy faults and copies. Linux: _rz_vm_copy,
 * false. */
bool _rz_vm_copy_shares(void *dst, const void *src, size_t size) RZ_HIDDEN;
/* Takes the mutex if it is free; true on success. Linux:
 * pthread_mutex_trylock() == 0. */
bool _rz_mutex_trylock(_rz_mutex_t *m) RZ_HIDDEN;

#endif /* RZ_BACKEND_OS_H */
