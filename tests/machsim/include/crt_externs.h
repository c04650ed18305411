/*
 * crt_externs.h - SIMULATION of macOS <crt_externs.h> (test-only, Linux).
 * A dylib reaches the environment through _NSGetEnviron(); machsim.c
 * answers with glibc's environ.
 */
#ifndef MACHSIM_CRT_EXTERNS_H
#define MACHSIM_CRT_EXTERNS_H

char ***_NSGetEnviron(void);

#endif
