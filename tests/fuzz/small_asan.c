/*
 * small_asan.c - a small-size delegate (backend/small.h) for the fuzz
 * target: forwards to the process's malloc, which AddressSanitizer
 * replaces. Small blocks thereby get ASan's redzones and exact usable
 * sizes, so an engine bug that copies or writes past a small block (when
 * realloc moves a block across the threshold, say) is reported at once.
 * Test-only; never part of librezone.
 * May include: backend/small.h, <malloc.h>, <stdlib.h>.
 */
#include <malloc.h>
#include <stdlib.h>

#include "backend/small.h"

const char _rz_small_name[] = "asan";

void *_rz_small_malloc(size_t size) { return malloc(size); }
void *_rz_small_calloc(size_t count, size_t size) { return calloc(count, size); }
void *_rz_small_realloc(void *p, size_t size) { return realloc(p, size); }
void *_rz_small_memalign(size_t align, size_t size) { return memalign(align, size); }
void _rz_small_free(void *p) { free(p); }
void _rz_small_free_sized(void *p, size_t size) { (void)size; free(p); }
size_t _rz_small_usable_size(const void *p) { return malloc_usable_size((void *)p); }
size_t _rz_small_expand(void *p, size_t size)
{
	(void)size;
	return malloc_usable_size(p);
}
/* ASan's allocator has nothing to trim or report here. */
bool _rz_small_trim(void) { return false; }
void _rz_small_info(struct _rz_small_info *out)
{
	*out = (struct _rz_small_info){ 0 };
}
