/*
 * bench.h - helpers shared by the workload programs in bench/: the clock,
 * key=value arguments with K/M/G sizes, the page pattern that proves data
 * survives realloc, a fixed-seed PRNG, and the report of which library
 * serves malloc.
 *
 * Header-only (static inline) so that each workload stays one .c file and
 * links nothing but libc: the workloads are measured under each allocator
 * by LD_PRELOAD, so they must never link rezone or any other allocator.
 * Includers define _GNU_SOURCE before any system header (for dladdr).
 *
 * Exit codes shared by all workloads: 0 ok, 2 bad arguments, 3 an
 * allocation failed, 4 data corruption.
 */
#ifndef BENCH_H
#define BENCH_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __APPLE__
#include <mach/mach.h>
#include <malloc/malloc.h>
#endif

#define BENCH_EXIT_USAGE 2
#define BENCH_EXIT_NOMEM 3
#define BENCH_EXIT_CORRUPT 4

/* One key=value argument; the value is a count or a size (K/M/G = 2^10..). */
struct bench_opt {
	const char *key;
	size_t *value;
	const char *help;
};

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bench_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* Parses "123", "64K", "1M", "1G"; returns 0, or -1 when malformed. */
static inline int bench_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v > (SIZE_MAX >> shift))
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

static inline void bench_usage(const char *name, const char *what,
			       const struct bench_opt *opts, size_t n)
{
	fprintf(stderr, "usage: %s [key=value]...\n%s\n", name, what);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "  %-8s %s (default %zu)\n", opts[i].key,
			opts[i].help, *opts[i].value);
	fprintf(stderr, "Sizes take K, M, G suffixes (powers of 1024).\n");
}

/* Fills the options from argv; exits with usage on anything unknown. */
static inline void bench_parse_args(int argc, char **argv, const char *what,
				    const struct bench_opt *opts, size_t n)
{
	for (int a = 1; a < argc; a++) {
		const char *eq = strchr(argv[a], '=');
		size_t i;

		for (i = 0; eq && i < n; i++) {
			size_t klen = strlen(opts[i].key);

			if ((size_t)(eq - argv[a]) == klen &&
			    strncmp(argv[a], opts[i].key, klen) == 0)
				break;
		}
		if (!eq || i == n || bench_parse_size(eq + 1, opts[i].value)) {
			bench_usage(argv[0], what, opts, n);
			exit(BENCH_EXIT_USAGE);
		}
	}
}

/*
 * xorshift64: fixed seeds make every run touch the same pages and sizes,
 * so runs under different allocators do the same work.
 */
static inline uint64_t bench_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/*
 * The word written at the start of each page: depends on the buffer and the
 * page, so a block moved or copied to the wrong place, or a page lost (read
 * back as zeros), is detected.
 */
static inline uint64_t bench_pattern(uint64_t tag, size_t page)
{
	uint64_t x = (tag << 40) ^ (uint64_t)page ^ 0x9e3779b97f4a7c15u;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 29;
	return x | 1;
}

/*
 * Writes the pattern at the start of every page that begins in [from, to).
 * That is the first touch of each new page, so it is where the page faults
 * land, as they would for a program filling its buffer.
 * Sizes are multiples of 8, so every word fits.
 */
static inline void bench_fill(char *p, size_t from, size_t to, size_t pg,
			      uint64_t tag)
{
	for (size_t page = (from + pg - 1) / pg; page * pg < to; page++) {
		uint64_t w = bench_pattern(tag, page);

		memcpy(p + page * pg, &w, sizeof(w));
	}
}

static inline int bench_check_page(const char *p, size_t page, size_t pg,
				   uint64_t tag)
{
	uint64_t w;

	memcpy(&w, p + page * pg, sizeof(w));
	if (w == bench_pattern(tag, page))
		return 0;
	fprintf(stderr, "corruption: buffer %llu page %zu holds %#llx\n",
		(unsigned long long)tag, page, (unsigned long long)w);
	return -1;
}

/*
 * Checks the first and last pages of [0, size) and `samples` random ones:
 * cheap enough to run after every realloc without hiding its cost.
 */
static inline int bench_check_sample(const char *p, size_t size, size_t pg,
				     uint64_t tag, uint64_t *rng, int samples)
{
	size_t pages = (size + pg - 1) / pg;

	if (pages == 0)
		return 0;
	if (bench_check_page(p, 0, pg, tag) ||
	    bench_check_page(p, pages - 1, pg, tag))
		return -1;
	for (int i = 0; i < samples; i++)
		if (bench_check_page(p, bench_rand(rng) % pages, pg, tag))
			return -1;
	return 0;
}

/* Checks every page; done once at the end, outside the timed region. */
static inline int bench_check_all(const char *p, size_t size, size_t pg,
				  uint64_t tag)
{
	for (size_t page = 0; page * pg < size; page++)
		if (bench_check_page(p, page, pg, tag))
			return -1;
	return 0;
}

/* Time spent inside realloc by a growth workload. */
struct bench_realloc_time {
	size_t calls, moves;
	uint64_t total_ns, max_ns, last_ns;
};

/* realloc(p, n) timed on its own (nothing else inside the clock reads);
 * dies with BENCH_EXIT_NOMEM naming `who` when it fails. */
static inline void *bench_timed_realloc(struct bench_realloc_time *t, void *p,
					size_t n, const char *who)
{
	uint64_t a = bench_now_ns();
	void *q = realloc(p, n);
	uint64_t b = bench_now_ns();

	if (!q)
		bench_die(BENCH_EXIT_NOMEM, "%s: realloc to %zu failed", who, n);
	t->last_ns = b - a;
	t->total_ns += t->last_ns;
	if (t->last_ns > t->max_ns)
		t->max_ns = t->last_ns;
	t->moves += q != p;
	t->calls++;
	return q;
}

static inline size_t bench_round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/*
 * Who serves malloc in this process, printed in each result line so the
 * runner can refuse a run where the preload silently failed and the numbers
 * are the system allocator's. Linux: the base name of the library that
 * defines malloc. macOS: malloc always resolves to libsystem_malloc, which
 * forwards to malloc_zones[0], so the name of zone 0 is what tells
 * allocators apart, provided zone 0 claims a fresh block.
 * malloc_zone_from_ptr() cannot tell: on macOS 11-15 it answers with
 * libmalloc's virtual default zone ("DefaultMallocZone") for every block
 * zone 0 claims, whoever zone 0 is.
 */
#ifdef __APPLE__
static inline const char *bench_malloc_origin(void)
{
	vm_address_t *zones = NULL;
	unsigned count = 0;
	const char *name = "unknown";
	void *p = malloc(64);

	if (p && malloc_get_all_zones(mach_task_self(), NULL, &zones, &count) == KERN_SUCCESS &&
	    count > 0) {
		malloc_zone_t *z0 = (malloc_zone_t *)zones[0];
		if (z0->size(z0, p) != 0 && z0->zone_name)
			name = z0->zone_name;
	}
	free(p);
	return name;
}
#else
static inline const char *bench_malloc_origin(void)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "malloc");
	const char *slash;

	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		return "unknown";
	slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}
#endif

/*
 * Realloc cost against block size, for the plots: points recorded while the
 * workload runs (a store, no I/O) and printed as "trace ..." lines after the
 * timed region. Each point: the block's new size, the calls so far, the
 * time inside the allocator so far, and the last call's time.
 */
#define BENCH_TRACE_MAX 4096

struct bench_trace_point {
	size_t size, calls;
	uint64_t cum_ns, last_ns;
};

struct bench_trace {
	size_t n, next_mark;
	struct bench_trace_point pt[BENCH_TRACE_MAX];
};

/*
 * Records a point when size has reached the next mark; marks grow by 1/8
 * (about 6 points per doubling), so a 64 KiB to 1 GiB growth gives some 80
 * points whatever the step. every = 1 records every call instead.
 */
static inline void bench_trace_add(struct bench_trace *t, int every, size_t size,
				   size_t calls, uint64_t cum_ns, uint64_t last_ns)
{
	if (t->n == BENCH_TRACE_MAX || (!every && size < t->next_mark))
		return;
	t->pt[t->n++] = (struct bench_trace_point){ size, calls, cum_ns, last_ns };
	t->next_mark = size + (size >> 3);
}

static inline void bench_trace_print(const struct bench_trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		printf("trace size=%zu calls=%zu cum_ns=%llu last_ns=%llu\n",
		       t->pt[i].size, t->pt[i].calls,
		       (unsigned long long)t->pt[i].cum_ns,
		       (unsigned long long)t->pt[i].last_ns);
}

#endif /* BENCH_H */
