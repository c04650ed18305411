/*
 * posix.h - what the POSIX process services (os_posix.c) need from the
 * platform file that shares them (vm_linux.c, vm_mach.c).
 * May include: os.h.
 */
#ifndef RZ_BACKEND_POSIX_H
#define RZ_BACKEND_POSIX_H

#include "backend/os.h"

/* The process environment, read without allocating (NULL if none). */
char **_rz_os_environ(void) RZ_HIDDEN;

#endif
