/*
 * glibc_ext_linux.c - glibc's malloc extensions (<malloc.h>) answered with
 * rezone's own figures: mallinfo2, mallinfo, malloc_stats, malloc_info,
 * mallopt and malloc_trim.
 *
 * Without these, a program that calls them under LD_PRELOAD reaches
 * glibc's heap, which rezone does not use: it would read figures of an
 * empty heap and trim nothing. Large blocks are rezone's mappings (glibc's
 * "mmapped" chunks: hblks/hblkhd); the small delegate's figures stand in
 * for glibc's arena. Only the Linux front end exports these (rezone.map).
 * May include: engine/engine.h, <malloc.h>, <stdio.h>, <errno.h>,
 * <limits.h>.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/engine.h"

#if !defined(__linux__)
#error "glibc_ext_linux.c is part of the Linux front end"
#endif

#define RZ_EXPORT __attribute__((visibility("default")))

/* glibc's own spellings, which <malloc.h> does not declare. */
RZ_EXPORT struct mallinfo __libc_mallinfo(void);
RZ_EXPORT int __libc_mallopt(int param, int value);

/* The subset of glibc's fields that rezone's figures fill. */
static struct mallinfo2 ext_info2(void)
{
	struct _rz_heap_info h;
	struct mallinfo2 m = { 0 };
	_rz_heap_info(&h);
	/* arena: what the small delegate holds from the OS; uordblks: what
	 * the program holds in it; fordblks: the rest. */
	m.arena = h.small_mapped;
	m.uordblks = h.small_allocated;
	m.fordblks = h.small_mapped > h.small_allocated ?
	    h.small_mapped - h.small_allocated : 0;
	m.hblks = (size_t)h.large_live;
	m.hblkhd = (size_t)h.large_live_bytes;
	return m;
}

RZ_EXPORT struct mallinfo2 mallinfo2(void)
{
	return ext_info2();
}

/* glibc's int fields wrap past 2 GiB; saturating says "at least this". */
static int ext_int(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

static struct mallinfo ext_info1(void)
{
	struct mallinfo2 m2 = ext_info2();
	struct mallinfo m = {
		.arena = ext_int(m2.arena), .ordblks = ext_int(m2.ordblks),
		.smblks = ext_int(m2.smblks), .hblks = ext_int(m2.hblks),
		.hblkhd = ext_int(m2.hblkhd), .usmblks = ext_int(m2.usmblks),
		.fsmblks = ext_int(m2.fsmblks), .uordblks = ext_int(m2.uordblks),
		.fordblks = ext_int(m2.fordblks), .keepcost = ext_int(m2.keepcost),
	};
	return m;
}

RZ_EXPORT struct mallinfo mallinfo(void)
{
	return ext_info1();
}

/* glibc exports its own spellings too; one left to glibc would report on
 * glibc's unused heap. */
RZ_EXPORT struct mallinfo __libc_mallinfo(void)
{
	return ext_info1();
}

/*
 * glibc's "max" figures are high-water marks, which never go down (its
 * max_system_mem, max_n_mmaps, max_mmapped_mem). rezone keeps the large
 * blocks' peak bytes; for the rest, each "max" is the most that any
 * report has shown, and at least that peak: a lower bound of the true
 * peak that never falls (it reported the current size before, so after
 * a 635 MiB block was freed, "max" fell from 635 to 20 MiB).
 */
static uint64_t ext_max_small, ext_max_total, ext_max_regions;

static uint64_t ext_high(uint64_t *mark, uint64_t now)
{
	uint64_t seen = __atomic_load_n(mark, __ATOMIC_RELAXED);
	while (now > seen &&
	    !__atomic_compare_exchange_n(mark, &seen, now, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return now > seen ? now : seen;
}

struct ext_highs {
	uint64_t small, total, regions;
};

/* Every report raises all three marks, whichever it prints. */
static struct ext_highs ext_highs(const struct _rz_heap_info *h)
{
	uint64_t all = (uint64_t)h->small_mapped + h->large_live_bytes;
	struct ext_highs m = {
		.small = ext_high(&ext_max_small, h->small_mapped),
		.total = ext_high(&ext_max_total, all > h->large_peak_bytes ? all : h->large_peak_bytes),
		.regions = ext_high(&ext_max_regions, h->large_live),
	};
	return m;
}

/* glibc's layout (one arena, then the totals) so that tools reading it
 * still find their lines; the arena is the small delegate. */
RZ_EXPORT void malloc_stats(void)
{
	struct _rz_heap_info h;
	int cancel;
	_rz_heap_info(&h);
	struct ext_highs max = ext_highs(&h);
	/* The report is one unit, as glibc's is: a pending cancellation must
	 * not act at its first write (glibc's tst-malloc-stats-cancellation);
	 * it acts at the thread's next cancellation point. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	fprintf(stderr,
	    "Arena 0 (%s):\n"
	    "system bytes     = %10zu\n"
	    "in use bytes     = %10zu\n"
	    "Total (incl. mmap):\n"
	    "system bytes     = %10zu\n"
	    "in use bytes     = %10zu\n"
	    "max mmap regions = %10llu\n"
	    "max mmap bytes   = %10llu\n",
	    h.small_name, h.small_mapped, h.small_allocated,
	    h.small_mapped + (size_t)h.large_live_bytes,
	    h.small_allocated + (size_t)h.large_live_bytes,
	    (unsigned long long)max.regions,
	    (unsigned long long)h.large_peak_bytes);
	pthread_setcancelstate(cancel, NULL);
}

/* glibc's element structure: one <heap> (the small delegate) and the
 * totals, large blocks as type="mmap". rezone's own figures ride in
 * attributes glibc does not use, which XML readers ignore. */
RZ_EXPORT int malloc_info(int options, FILE *fp)
{
	struct _rz_heap_info h;
	if (options != 0) {
		errno = EINVAL;
		return -1;
	}
	_rz_heap_info(&h);
	struct ext_highs max = ext_highs(&h);
	size_t small_free = h.small_active > h.small_allocated ?
	    h.small_active - h.small_allocated : 0;
	unsigned long long large = h.large_live, large_bytes = h.large_live_bytes;
	fprintf(fp,
	    "<malloc version=\"1\" allocator=\"rezone\">\n"
	    "<heap nr=\"0\" delegate=\"%s\">\n"
	    "<sizes>\n"
	    "</sizes>\n"
	    "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
	    "<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n"
	    "<system type=\"current\" size=\"%zu\"/>\n"
	    "<system type=\"max\" size=\"%llu\"/>\n"
	    "<aspace type=\"total\" size=\"%zu\"/>\n"
	    "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
	    "<rezone allocated=\"%zu\" active=\"%zu\" resident=\"%zu\" retained=\"%zu\"/>\n"
	    "</heap>\n"
	    "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
	    "<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n"
	    "<total type=\"mmap\" count=\"%llu\" size=\"%llu\"/>\n"
	    "<system type=\"current\" size=\"%llu\"/>\n"
	    "<system type=\"max\" size=\"%llu\"/>\n"
	    "<aspace type=\"total\" size=\"%llu\"/>\n"
	    "<aspace type=\"mprotect\" size=\"%llu\"/>\n"
	    "</malloc>\n",
	    h.small_name, small_free, h.small_mapped, (unsigned long long)max.small,
	    h.small_mapped, h.small_mapped, h.small_allocated, h.small_active,
	    h.small_resident, h.small_retained, small_free, large, large_bytes,
	    h.small_mapped + large_bytes, (unsigned long long)max.total,
	    h.small_mapped + large_bytes, h.small_mapped + large_bytes);
	return 0;
}

/*
 * M_MMAP_THRESHOLD is the one glibc option with a meaning here: sizes at
 * or above it become large blocks (rezone's mappings), as they become
 * mmapped chunks in glibc. The others tune glibc's heap, which rezone
 * does not use: accepted and ignored, returning 1 as glibc does (for
 * unknown options too). Values glibc itself refuses are refused (0).
 */
RZ_EXPORT int mallopt(int param, int value)
{
	switch (param) {
	case M_MMAP_THRESHOLD:
		return value >= 0 && _rz_set_threshold((size_t)value);
	case M_MXFAST:
		/* glibc's limit: 80 * sizeof(size_t) / 4. */
		return value >= 0 && (size_t)value <= 80 * sizeof(size_t) / 4;
	default:
		/* M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX, M_ARENA_TEST,
		 * M_ARENA_MAX, M_CHECK_ACTION, M_PERTURB, ... */
		return 1;
	}
}

/* mallopt(M_MMAP_THRESHOLD) through glibc's spelling must reach rezone. */
RZ_EXPORT int __libc_mallopt(int param, int value)
{
	return mallopt(param, value);
}

/* pad is glibc's "leave this much at the top of the heap"; rezone's heap
 * has no top, so it only decides nothing. Returns 1 when memory went back
 * to the OS, 0 otherwise, as glibc does. */
RZ_EXPORT int malloc_trim(size_t pad)
{
	(void)pad;
	return _rz_trim() ? 1 : 0;
}
