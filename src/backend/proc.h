/*
 * proc.h - process facts and report files, for the engine's end-of-run
 * report (REZONE_STATS), and the pid for telling a vfork child from its
 * parent (route.c). Part of the platform contract beside os.h, kept in
 * its own header because it serves reporting almost only.
 *
 * Implemented once for POSIX systems in os_posix.c. Nothing here allocates
 * through malloc: it runs at exit, inside the allocator.
 * May include: os.h.
 */
#ifndef RZ_BACKEND_PROC_H
#define RZ_BACKEND_PROC_H

#include <stddef.h>

#include "backend/os.h"

/* The process id. */
long _rz_os_pid(void) RZ_HIDDEN;
/* The program's name without its directory (static storage owned by the
 * C library), or "?" when the platform does not know it. */
const char *_rz_os_progname(void) RZ_HIDDEN;
/* Appends s[0..n) to the file at path, created 0644 if missing, with one
 * write() on an O_APPEND descriptor: records that several processes
 * append at once never interleave. Returns 0 or an errno value. */
int _rz_os_append(const char *path, const char *s, size_t n) RZ_HIDDEN;

#endif
