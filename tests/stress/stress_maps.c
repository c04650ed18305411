/*
 * stress_maps.c - tens of thousands of large blocks alive at once.
 *
 * Every large block is at least one mapping, and Linux refuses new
 * mappings past vm.max_map_count (65530 by default); growth that splits
 * or adds mappings fails there too. This scenario allocates more blocks
 * of the threshold size than the limit allows, grows all of them, frees
 * every other one and grows the rest again. Every step must either work
 * or fail cleanly (NULL with ENOMEM, the block intact); the allocator
 * must work normally once the blocks are gone. Only the first and last
 * words of each block are written, so resident memory stays small.
 * May include: stress.h, rezone.h (the stats struct; the function is
 * looked up with dlsym), the C library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rezone.h"
#include "stress.h"

struct maps_block {
	unsigned char *p;
	size_t size;
};

static uint64_t maps_tag(size_t i, int end)
{
	return 0xC0FFEE0000000000ULL ^ ((uint64_t)i << 1) ^ (uint64_t)end;
}

static void maps_write(struct maps_block *b, size_t i)
{
	uint64_t head = maps_tag(i, 0), tail = maps_tag(i, 1);
	memcpy(b->p, &head, 8);
	memcpy(b->p + b->size - 8, &tail, 8);
}

static void maps_check(const struct maps_block *b, size_t i, const char *what)
{
	uint64_t head, tail;
	memcpy(&head, b->p, 8);
	memcpy(&tail, b->p + b->size - 8, 8);
	STRESS_CHECK(head == maps_tag(i, 0) && tail == maps_tag(i, 1),
	    "%s: block %zu at %p (%zu bytes) lost its contents", what, i,
	    (void *)b->p, b->size);
}

static unsigned long maps_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long n = 0;
	int ch;
	if (!f)
		return 0;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* Grows b to new_size; returns false on a clean failure. */
static bool maps_grow(struct maps_block *b, size_t i, size_t new_size,
    unsigned long *fails)
{
	errno = 0;
	unsigned char *q = realloc(b->p, new_size);
	if (!q) {
		STRESS_CHECK(errno == ENOMEM, "realloc to %zu: NULL with errno %d",
		    new_size, errno);
		maps_check(b, i, "after a failed growth");
		(*fails)++;
		return false;
	}
	b->p = q;
	maps_check(b, i, "after growth");  /* the old tail, at the old end */
	b->size = new_size;
	maps_write(b, i);
	return true;
}

static void maps_stats(const char *when)
{
	int (*stats)(struct rezone_stats *, size_t) =
	    (int (*)(struct rezone_stats *, size_t))dlsym(RTLD_DEFAULT, "rezone_stats");
	struct rezone_stats s;
	if (!stats || stats(&s, sizeof(s)) != 0)
		return;
	printf("maps: %s: large_live %llu, fallbacks_small %llu, grow reserved/in place/"
	    "moved/copied %llu/%llu/%llu/%llu\n", when,
	    (unsigned long long)s.large_live, (unsigned long long)s.fallbacks_small,
	    (unsigned long long)s.grow_reserved, (unsigned long long)s.grow_in_place,
	    (unsigned long long)s.grow_moved, (unsigned long long)s.grow_copied);
}

int stress_maps(const struct stress_opts *o)
{
	size_t n = o->count ? o->count : 70000;
	size_t size = stress_threshold;
	struct maps_block *b = calloc(n, sizeof(*b));
	unsigned long alloc_fails = 0, grow_fails = 0, regrow_fails = 0, peak_maps;
	size_t live = 0;
	double start = stress_now();

	STRESS_CHECK(b != NULL, "calloc of %zu records", n);
	for (size_t i = 0; i < n; i++) {
		errno = 0;
		b[i].p = malloc(size);
		if (!b[i].p) {
			STRESS_CHECK(errno == ENOMEM, "malloc(%zu) #%zu: NULL with errno %d",
			    size, i, errno);
			/* The limit is reached; a few more tries must fail as cleanly. */
			if (++alloc_fails > 1000)
				break;
			continue;
		}
		b[i].size = size;
		maps_write(&b[i], i);
		live++;
	}
	peak_maps = maps_count();
	printf("maps: %zu of %zu blocks of %zu bytes allocated (%lu failed cleanly), "
	    "%lu mappings\n", live, n, size, alloc_fails, peak_maps);
	maps_stats("after allocation");

	for (size_t i = 0; i < n; i++)
		if (b[i].p)
			maps_grow(&b[i], i, 2 * size + 4096, &grow_fails);
	unsigned long grown_maps = maps_count();
	maps_stats("after growth");

	for (size_t i = 0; i < n; i += 2)
		if (b[i].p) {
			maps_check(&b[i], i, "before free");
			free(b[i].p);
			b[i].p = NULL;
		}
	for (size_t i = 1; i < n; i += 2)
		if (b[i].p)
			maps_grow(&b[i], i, b[i].size * 4, &regrow_fails);
	for (size_t i = 0; i < n; i++)
		if (b[i].p) {
			maps_check(&b[i], i, "before free");
			free(b[i].p);
		}
	free(b);
	maps_stats("after freeing all");

	/* Afterwards the allocator works as usual. */
	struct stress_block big = { .seed = 7 };
	big.p = malloc(size);
	STRESS_CHECK(big.p != NULL, "malloc after the pressure");
	big.size = size;
	stress_tag(&big, 0, size);
	unsigned char *q = realloc(big.p, 64 * MiB);
	STRESS_CHECK(q != NULL, "realloc to 64 MiB after the pressure");
	big.p = q;
	stress_verify(&big, "realloc after the pressure");
	free(big.p);

	printf("maps: growth %lu failed cleanly, %lu mappings after it; interleaved "
	    "regrowth %lu failed cleanly; %.1f s\n", grow_fails, grown_maps,
	    regrow_fails, stress_now() - start);
	return 0;
}
