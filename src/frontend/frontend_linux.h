/*
 * frontend_linux.h - what the Linux front end's files share: the pieces
 * preload_linux.c sets up at start-up.
 * May include: nothing.
 */
#ifndef RZ_FRONTEND_LINUX_H
#define RZ_FRONTEND_LINUX_H

/* Registers rezone's fork handlers (fork_linux.c); once, at start-up. */
void _rz_fork_install(void) __attribute__((visibility("hidden")));

#endif
