/*
 * deep_lib.c - librzdeep.so, the library rzprobe loads with RTLD_DEEPBIND
 * (probe_deepbind.c). It allocates and frees through whatever malloc and
 * free its own symbol lookup finds: with RTLD_DEEPBIND in force that is
 * glibc's (its dependency), without it the preloaded rezone's.
 * May include: the C library.
 */
#include <stdlib.h>

/* The build hides symbols by default (-fvisibility=hidden). */
#define DEEP_EXPORT __attribute__((visibility("default")))

DEEP_EXPORT void *rzdeep_malloc(size_t n);
DEEP_EXPORT void *rzdeep_realloc(void *p, size_t n);
DEEP_EXPORT void rzdeep_free(void *p);
DEEP_EXPORT void *rzdeep_free_address(void);

void *rzdeep_malloc(size_t n) { return malloc(n); }
void *rzdeep_realloc(void *p, size_t n) { return realloc(p, n); }
void rzdeep_free(void *p) { free(p); }
/* The free this library binds to, to compare with the program's. */
void *rzdeep_free_address(void) { return (void *)free; }
