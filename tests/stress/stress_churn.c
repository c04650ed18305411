/*
 * stress_churn.c - the multi-threaded stress scenario.
 *
 * Every round starts `threads` threads and joins them, so thread caches
 * and thread exit paths are exercised too. Each thread keeps a few dozen
 * tagged blocks and, at random: allocates one (malloc, calloc, realloc
 * from NULL, memalign, posix_memalign, aligned_alloc, valloc), resizes
 * one with realloc or rezone_expand (both directions, across the
 * threshold), hands one to whichever thread takes it next (a shared
 * mailbox, so blocks are freed by threads that did not allocate them),
 * takes one from the mailbox, or frees one. Every block is checked
 * against its tags whenever it is resized, handed over or freed. A thread
 * leaves half its blocks in the mailbox when it exits: the next round's
 * threads free what a dead thread allocated.
 * May include: stress.h, the C library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

#define CHURN_SLOTS 32
#define MAILBOX_CAP 1024

static struct {
	pthread_mutex_t lock;
	struct stress_block items[MAILBOX_CAP];
	size_t n;
} mailbox = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct churn_thread {
	pthread_t tid;
	uint64_t rng;
	const struct stress_opts *o;
	unsigned long ops, allocs, resizes, handed, taken, expands, alloc_fails;
};

static bool mailbox_put(const struct stress_block *b)
{
	bool ok = false;
	pthread_mutex_lock(&mailbox.lock);
	if (mailbox.n < MAILBOX_CAP) {
		mailbox.items[mailbox.n++] = *b;
		ok = true;
	}
	pthread_mutex_unlock(&mailbox.lock);
	return ok;
}

static bool mailbox_take(struct stress_block *b, uint64_t *rng)
{
	bool ok = false;
	pthread_mutex_lock(&mailbox.lock);
	if (mailbox.n > 0) {
		size_t i = (size_t)(stress_rand(rng) % mailbox.n);
		*b = mailbox.items[i];
		mailbox.items[i] = mailbox.items[--mailbox.n];
		ok = true;
	}
	pthread_mutex_unlock(&mailbox.lock);
	return ok;
}

static void churn_free(struct stress_block *b, const char *what)
{
	stress_verify(b, what);
	free(b->p);
	b->p = NULL;
}

/* Allocates a block with one of the family's functions and tags it. */
static bool churn_alloc(struct churn_thread *t, struct stress_block *b)
{
	size_t size = stress_pick_size(&t->rng, t->o->big_max);
	size_t align = (size_t)16 << (stress_rand(&t->rng) % 18); /* 16 B .. 2 MiB */
	unsigned how = (unsigned)(stress_rand(&t->rng) % 10);
	void *p = NULL;
	bool zeroed = false;
	int err = 0;

	errno = 0;
	switch (how) {
	case 0: case 1: case 2: case 3: p = malloc(size); break;
	case 4: p = calloc(1 + size / 64, size ? 64 : 0); size = size ? (1 + size / 64) * 64 : 0; zeroed = true; break;
	case 5: p = realloc(NULL, size); break;
	case 6: p = memalign(align, size); break;
	case 7: err = posix_memalign(&p, align, size); if (err) p = NULL; break;
	case 8: size = (size + align - 1) / align * align; p = aligned_alloc(align, size); break;
	default: p = valloc(size); align = 4096; break;
	}
	if (!p) {
		/* Only huge requests may fail, and only cleanly. */
		STRESS_CHECK(size >= 64 * MiB, "alloc #%u of %zu bytes failed (errno %d, ret %d)",
		    how, size, errno, err);
		t->alloc_fails++;
		return false;
	}
	if (how >= 6)
		STRESS_CHECK(((uintptr_t)p & (align - 1)) == 0,
		    "alloc #%u of %zu bytes aligned %zu returned %p", how, size, align, p);
	STRESS_CHECK(malloc_usable_size(p) >= size, "usable size %zu < %zu",
	    malloc_usable_size(p), size);
	if (zeroed)
		stress_verify_zero(p, size, "calloc");
	b->p = p;
	b->size = size;
	b->dense = 0;
	b->seed = stress_rand(&t->rng) | 1;
	stress_tag(b, 0, size);
	t->allocs++;
	return true;
}

/* b now lives at p with new_size bytes; its first min(old, new) bytes
 * were checked by the caller. Tags what is new. */
static void churn_resized(struct stress_block *b, void *p, size_t new_size)
{
	size_t old = b->size;
	b->p = p;
	b->size = new_size;
	if (new_size <= old) {
		if (b->dense > new_size)
			b->dense = new_size;
		/* Shrunk from sparse tags into dense range: tag densely again. */
		if (new_size <= STRESS_DENSE_MAX && b->dense < new_size)
			stress_tag(b, b->dense, new_size);
	} else {
		stress_tag(b, old, new_size);
	}
}

static size_t churn_new_size(struct churn_thread *t, size_t old)
{
	size_t n;
	switch (stress_rand(&t->rng) % 4) {
	case 0: n = old + old / 2 + 1; break;
	case 1: n = old / 2; break;
	case 2: n = old + 4096 * (1 + stress_rand(&t->rng) % 64); break;
	default: n = stress_pick_size(&t->rng, t->o->big_max); break;
	}
	/* Repeated growth must not run away with the machine's memory. */
	return n > 2 * t->o->big_max ? old / 2 : n;
}

static void churn_realloc(struct churn_thread *t, struct stress_block *b)
{
	size_t n = churn_new_size(t, b->size);
	struct stress_block before = *b;
	stress_verify(b, "before realloc");
	errno = 0;
	void *p = realloc(b->p, n);
	if (n == 0) {
		/* glibc semantics: realloc(p, 0) frees p and returns NULL. */
		if (p)
			free(p);
		b->p = NULL;
		return;
	}
	if (!p) {
		STRESS_CHECK(n >= 64 * MiB && errno == ENOMEM,
		    "realloc %zu -> %zu failed with errno %d", before.size, n, errno);
		stress_verify(b, "after a failed realloc");
		return;
	}
	struct stress_block moved = before;
	moved.p = p;
	if (moved.size > n)
		moved.size = n;
	stress_verify(&moved, "realloc kept");
	churn_resized(b, p, n);
	t->resizes++;
}

static void churn_expand(struct churn_thread *t, struct stress_block *b)
{
	if (!stress_expand || b->size == 0)
		return;
	size_t n = churn_new_size(t, b->size);
	if (n == 0)
		n = 1;
	errno = 0;
	void *p = stress_expand(b->p, n);
	if (!p) {
		STRESS_CHECK(errno == ENOMEM || errno == EINVAL,
		    "rezone_expand %zu -> %zu: errno %d", b->size, n, errno);
		stress_verify(b, "after a failed rezone_expand");
		return;
	}
	STRESS_CHECK(p == b->p, "rezone_expand moved the block");
	STRESS_CHECK(malloc_usable_size(p) >= n, "rezone_expand: usable %zu < %zu",
	    malloc_usable_size(p), n);
	struct stress_block kept = *b;
	if (kept.size > n)
		kept.size = n;
	stress_verify(&kept, "rezone_expand kept");
	churn_resized(b, p, n);
	t->expands++;
}

/* Writing up to malloc_usable_size is allowed and must not disturb tags. */
static void churn_touch_usable(struct stress_block *b)
{
	size_t u = malloc_usable_size(b->p);
	STRESS_CHECK(u >= b->size, "usable size %zu < %zu", u, b->size);
	if (u > b->size) {
		b->p[u - 1] = 0xA5;
		STRESS_CHECK(b->p[u - 1] == 0xA5, "last usable byte");
	}
	stress_verify(b, "after writing the last usable byte");
}

static void *churn_main(void *arg)
{
	struct churn_thread *t = arg;
	struct stress_block slots[CHURN_SLOTS] = { { 0 } };
	unsigned long ops = (unsigned long)t->o->scale * 1000;

	for (unsigned long i = 0; i < ops; i++) {
		struct stress_block *b = &slots[stress_rand(&t->rng) % CHURN_SLOTS];
		unsigned r = (unsigned)(stress_rand(&t->rng) % 100);
		t->ops++;
		if (!b->p) {
			if (r < 15 && mailbox_take(b, &t->rng)) {
				stress_verify(b, "taken from another thread");
				t->taken++;
			} else {
				churn_alloc(t, b);
			}
		} else if (r < 30) {
			churn_realloc(t, b);
		} else if (r < 40) {
			churn_expand(t, b);
		} else if (r < 50) {
			stress_verify(b, "handing over");
			if (mailbox_put(b)) {
				b->p = NULL;
				t->handed++;
			}
		} else if (r < 55) {
			churn_touch_usable(b);
		} else {
			churn_free(b, "free");
		}
	}
	/* Half the survivors outlive this thread, in the mailbox. */
	for (unsigned i = 0; i < CHURN_SLOTS; i++) {
		if (!slots[i].p)
			continue;
		if (i % 2 == 0 && mailbox_put(&slots[i]))
			continue;
		churn_free(&slots[i], "free at thread exit");
	}
	return NULL;
}

/* Before the random part: every aligned function at the small alignments
 * and the tiniest sizes, where a delegate's 8-byte size class could leak
 * through an "alignment <= 16 is plain malloc" shortcut. Two of each in a
 * row, so both slots of a 16-byte pair are seen. */
static void churn_align_sweep(void)
{
	for (size_t align = 8; align <= 64; align *= 2)
		for (size_t n = 0; n <= 2 * align; n++)
			for (int k = 0; k < 2; k++) {
				void *p[3];
				p[0] = memalign(align, n);
				p[1] = aligned_alloc(align, n);
				if (posix_memalign(&p[2], align, n) != 0)
					p[2] = NULL;
				for (int i = 0; i < 3; i++) {
					STRESS_CHECK(p[i] != NULL, "%s(%zu, %zu) failed",
					    i == 0 ? "memalign" : i == 1 ? "aligned_alloc" :
					    "posix_memalign", align, n);
					STRESS_CHECK(((uintptr_t)p[i] & (align - 1)) == 0,
					    "%s(%zu, %zu) returned %p, not %zu-aligned",
					    i == 0 ? "memalign" : i == 1 ? "aligned_alloc" :
					    "posix_memalign", align, n, p[i], align);
				}
				for (int i = 0; i < 3; i++)
					free(p[i]);
			}
}

int stress_churn(const struct stress_opts *o)
{
	struct churn_thread *th = calloc(o->threads, sizeof(*th));
	STRESS_CHECK(th != NULL, "calloc of thread records");
	unsigned long total[7] = { 0 };
	double start = stress_now();

	churn_align_sweep();
	for (unsigned round = 0; round < o->rounds; round++) {
		for (unsigned i = 0; i < o->threads; i++) {
			th[i] = (struct churn_thread){ .o = o,
			    .rng = 0x9E3779B97F4A7C15ULL * (round * 1000 + i + 1) };
			STRESS_CHECK(pthread_create(&th[i].tid, NULL, churn_main, &th[i]) == 0,
			    "pthread_create");
		}
		for (unsigned i = 0; i < o->threads; i++) {
			pthread_join(th[i].tid, NULL);
			total[0] += th[i].ops;
			total[1] += th[i].allocs;
			total[2] += th[i].resizes;
			total[3] += th[i].expands;
			total[4] += th[i].handed;
			total[5] += th[i].taken;
			total[6] += th[i].alloc_fails;
		}
		if (o->verbose)
			fprintf(stderr, "rzstress: churn round %u done at %.1f s, mailbox %zu\n",
			    round + 1, stress_now() - start, mailbox.n);
	}
	struct stress_block b;
	uint64_t rng = 42;
	while (mailbox_take(&b, &rng))
		churn_free(&b, "free of a dead thread's block");
	free(th);
	printf("churn: %u threads x %u rounds, threshold %zu: %lu ops, %lu allocs, "
	    "%lu resizes, %lu expands, %lu handed over, %lu taken, %lu huge failures, %.1f s\n",
	    o->threads, o->rounds, stress_threshold, total[0], total[1], total[2],
	    total[3], total[4], total[5], total[6], stress_now() - start);
	return 0;
}
