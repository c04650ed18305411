/*
 * probe_churn.c - the allocation workload shared by the thread and fork
 * scenarios: blocks of mixed sizes are allocated, resized, handed to other
 * threads through exchange slots, resized again there and freed there.
 *
 * Every block carries its size and a per-block byte in a header and is
 * filled with that byte, so a block that another thread overwrote, that
 * lost its contents in a move, or that two threads both own, fails the
 * check of whichever thread next touches it.
 */
#include "config.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

struct churn_hdr {
	size_t size;     /* bytes of the block in use, header included */
	unsigned char b; /* the byte the rest of the block holds */
};

#define CHURN_MIN sizeof(struct churn_hdr)
#define CHURN_SLOTS_MAX 1024

static _Atomic(struct churn_hdr *) churn_slots[CHURN_SLOTS_MAX];
static unsigned churn_nslots = 64;

static uint64_t churn_next(uint64_t *rng)
{
	/* xorshift64*: cheap, good enough to mix sizes and slots. */
	*rng ^= *rng >> 12;
	*rng ^= *rng << 25;
	*rng ^= *rng >> 27;
	return *rng * 0x2545F4914F6CDD1DULL;
}

/* Mostly small, some medium, a few large (above the default threshold and
 * big enough for the headroom and move paths to matter). */
static size_t churn_size(uint64_t *rng)
{
	uint64_t r = churn_next(rng);

	switch (r % 10) {
	case 0:
		return (256 << 10) + (r >> 8) % (768 << 10);
	case 1:
	case 2:
		return 4096 + (r >> 8) % 200000;
	default:
		return CHURN_MIN + (r >> 8) % 4000;
	}
}

static void churn_check(const struct churn_hdr *h, size_t upto)
{
	const unsigned char *p = (const unsigned char *)h;
	uint64_t want = 0x0101010101010101ULL * h->b, w;
	size_t i = CHURN_MIN;

	CHECK(upto >= CHURN_MIN && malloc_usable_size((void *)h) >= upto,
	      "block %p: %zu bytes in use, usable %zu", (const void *)h, upto,
	      malloc_usable_size((void *)h));
	/* Word-wise, the check runs on every hand-over and must stay cheap
	 * (__builtin_memcpy: see probe_word in probe_util.c). */
	for (; i + 8 <= upto; i += 8) {
		__builtin_memcpy(&w, p + i, 8);
		if (w != want)
			break;
	}
	for (; i < upto; i++)
		CHECK(p[i] == h->b, "block %p of %zu bytes: byte %zu is 0x%02x, "
		      "expected 0x%02x", (const void *)h, h->size, i, p[i], h->b);
}

static void churn_fill(struct churn_hdr *h, size_t from, size_t to)
{
	memset((unsigned char *)h + from, h->b, to - from);
	h->size = to;
}

static struct churn_hdr *churn_resize(struct churn_hdr *h, uint64_t *rng)
{
	size_t n = churn_size(rng), old = h->size;
	struct churn_hdr *q = realloc(h, n);

	CHECK(q != NULL, "realloc to %zu", n);
	churn_check(q, old < n ? old : n);
	if (n > old)
		churn_fill(q, old, n);
	q->size = n;
	return q;
}

void probe_churn_init(unsigned slots)
{
	CHECK(slots >= 1 && slots <= CHURN_SLOTS_MAX, "slots %u", slots);
	churn_nslots = slots;
}

void probe_churn_step(uint64_t *rng)
{
	size_t n = churn_size(rng);
	struct churn_hdr *h = malloc(n), *got;

	CHECK(h != NULL, "malloc(%zu)", n);
	h->b = (unsigned char)(churn_next(rng) | 1);
	churn_fill(h, CHURN_MIN, n);
	if (churn_next(rng) % 2)
		h = churn_resize(h, rng);
	got = atomic_exchange(&churn_slots[churn_next(rng) % churn_nslots], h);
	if (!got)
		return;
	/* Most likely allocated by another thread, possibly a dead one. */
	churn_check(got, got->size);
	if (churn_next(rng) % 3 == 0)
		got = churn_resize(got, rng);
	free(got);
}

void probe_churn_drain(void)
{
	for (unsigned i = 0; i < CHURN_SLOTS_MAX; i++) {
		struct churn_hdr *h = atomic_exchange(&churn_slots[i], NULL);

		if (h) {
			churn_check(h, h->size);
			free(h);
		}
	}
}
