/*
 * sys/mman.h - SIMULATION of the macOS additions to <sys/mman.h>
 * (test-only, Linux): the MADV_FREE_REUSABLE / MADV_FREE_REUSE advice
 * (macOS's values), which Linux lacks. madvise() is routed to machsim.c,
 * which records reusable ranges and passes other advice to Linux.
 */
#ifndef MACHSIM_SYS_MMAN_H
#define MACHSIM_SYS_MMAN_H

#include_next <sys/mman.h>

#define MADV_FREE_REUSABLE 7
#define MADV_FREE_REUSE 8

int machsim_madvise(void *addr, size_t len, int advice);
#define madvise machsim_madvise

#endif
