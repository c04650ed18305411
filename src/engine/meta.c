/*
 * meta.c - bookkeeping memory: a bump allocator over a range reserved
 * inaccessible at set-up, each piece opened when handed out.
 *
 * 4 MiB hold the first 100 page-map leaves (one per GiB of address space
 * rezone has used) or a table of a few thousand blocks; bigger processes
 * map further pieces one by one. Reserved, not committed: it
 * costs address space only (counted by mlockall(MCL_CURRENT)'s locked
 * total, never resident unused). Under RLIMIT_AS, where that address
 * space would count against the limit before anything needs it, there is
 * no reservation and every piece is its own mapping (src/README.md,
 * "Address space under a limit").
 * May include: meta.h, backend/os.h.
 */
#include "engine/meta.h"

#define META_RESERVE ((size_t)4 << 20)

static char *meta_base;
static size_t meta_used;

void _rz_meta_init(void)
{
	void *p;
	size_t as_limit, data_limit;
	_rz_os_limits(&as_limit, &data_limit);
	if (!meta_base && as_limit == 0 && _rz_vm_map_meta(META_RESERVE, &p) == 0)
		meta_base = p;
}

void *_rz_meta_alloc(size_t bytes)
{
	size_t pg = _rz_caps.page_size;
	bytes = (bytes + pg - 1) & ~(pg - 1);
	void *p = NULL;
	if (meta_base) {
		size_t at = __atomic_fetch_add(&meta_used, bytes, __ATOMIC_RELAXED);
		if (at + bytes <= META_RESERVE)
			p = meta_base + at;
	}
	if (!p && _rz_vm_map_meta(bytes, &p) != 0)
		return NULL;
	if (_rz_vm_commit(p, bytes) != 0) {
		/* An opened piece of the range stays unused; a mapping goes. */
		if ((char *)p < meta_base || (char *)p >= meta_base + META_RESERVE)
			_rz_vm_unmap(p, bytes);
		return NULL;
	}
	return p;
}

void _rz_meta_where(uint64_t *base_at, uint64_t *used_at, uint64_t *reserve)
{
	*base_at = (uintptr_t)&meta_base;
	*used_at = (uintptr_t)&meta_used;
	*reserve = META_RESERVE;
}
