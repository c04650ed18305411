/*
 * fuzz_engine.c - libFuzzer target for the engine (clang
 * -fsanitize=fuzzer,address,undefined; built by `make fuzz`).
 *
 * The input is a program: each operation is an opcode, a slot (16 slots)
 * and size bytes, decoded into _rz_malloc, _rz_calloc, _rz_realloc,
 * _rz_reallocarray, _rz_memalign, _rz_posix_memalign, _rz_free,
 * _rz_free_sized and rezone_expand calls. Sizes are biased to where the
 * engine changes behaviour: zero, the threshold and its neighbours, page
 * multiples and their neighbours, the current size plus or minus a little,
 * doubling and halving, and values that overflow. Every live block has a
 * shadow copy (ASan's malloc) and is compared with it byte for byte after
 * every operation on it; contract violations (wrong errno, misaligned
 * result, a failed call that changed the block, usable size too small)
 * abort, which libFuzzer reports with the input.
 * The engine's own entry points are called, not malloc, so that the
 * fuzzer's and ASan's allocations stay with ASan; small blocks reach ASan
 * too through small_asan.c. REZONE_LARGE_THRESHOLD defaults to 64k here
 * (large blocks stay cheap); set it in the environment to change it.
 * May include: engine/engine.h, rezone.h, the C library.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rezone.h"
#include "engine/engine.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define SLOTS 16
/* Bounds that keep one input fast and the process small. */
#define MAX_BLOCK (8 * MiB)
#define MAX_LIVE (32 * MiB)

struct slot {
	unsigned char *p;
	unsigned char *shadow;
	size_t size;
};

static struct slot slots[SLOTS];
static size_t live_bytes;
static size_t threshold = 64 * KiB;
static uint64_t fill_seed;

struct input {
	const uint8_t *data;
	size_t left;
};

static uint64_t in_bytes(struct input *in, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n && in->left; i++, in->left--)
		v = v << 8 | *in->data++;
	return v;
}

#define FUZZ_ASSERT(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_engine: " __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* A size biased to the engine's boundaries; cur is the slot's size. */
static size_t fuzz_size(struct input *in, size_t cur)
{
	uint8_t kind = (uint8_t)in_bytes(in, 1);
	uint64_t v = in_bytes(in, 2);
	long d = (long)(v & 0xff) - 128;
	switch (kind % 12) {
	case 0: return (size_t)(v % 64);
	case 1: return (size_t)(v % (64 * KiB));
	case 2: /* within 32 KiB of the threshold */
		return (threshold > 32 * KiB ? threshold - 32 * KiB : 0) + (size_t)(v % (64 * KiB));
	case 3: return threshold + (size_t)(d % 3); /* threshold-1 .. threshold+1 */
	case 4: return (size_t)(v % 1024) * 4096 + (size_t)(d % 2);
	case 5: return (size_t)(v % 512) * 4096;
	case 6: return cur + (size_t)(v % 8192);
	case 7: return cur > (size_t)(v % 8192) ? cur - (size_t)(v % 8192) : 0;
	case 8: return cur * 2 + (size_t)(d & 7);
	case 9: return cur / 2;
	case 10: return (size_t)(v % 8) * MiB + (size_t)(v >> 8) * 4096 % MiB;
	default:
		/* Requests that can never succeed: the contract's error paths. */
		switch (v % 4) {
		case 0: return SIZE_MAX;
		case 1: return (size_t)PTRDIFF_MAX + 1;
		case 2: return (size_t)PTRDIFF_MAX;
		default: return SIZE_MAX - 4095;
		}
	}
}

static bool fuzz_fits(size_t size, size_t old)
{
	return size <= MAX_BLOCK && live_bytes - old + size <= MAX_LIVE;
}

/* Writes a position-dependent pattern into [from, to) of the block and
 * its shadow (words, so a page put at the wrong place is noticed). */
/* Bulk loops over bytes the harness owns: no coverage or ASan checks
 * (they made these loops, not the engine, the cost of an input). */
typedef uint64_t __attribute__((may_alias, aligned(1))) fuzz_word;
#define FUZZ_BULK __attribute__((no_sanitize("address", "undefined", "coverage")))

FUZZ_BULK static void fuzz_fill(struct slot *s, size_t from, size_t to)
{
	uint64_t seed = ++fill_seed * 0x9E3779B97F4A7C15ULL;
	for (size_t i = from; i < to; ) {
		uint64_t w = seed ^ (i * 0xD6E8FEB86659FD93ULL);
		if (to - i >= 8) {
			*(fuzz_word *)(void *)(s->p + i) = w;
			*(fuzz_word *)(void *)(s->shadow + i) = w;
			i += 8;
			continue;
		}
		for (; i < to; i++, w >>= 8)
			s->p[i] = s->shadow[i] = (unsigned char)w;
	}
}

static void fuzz_compare(const struct slot *s, size_t n, const char *what)
{
	if (n && memcmp(s->p, s->shadow, n) != 0) {
		size_t i = 0;
		while (s->p[i] == s->shadow[i])
			i++;
		FUZZ_ASSERT(0, "%s: block %p (%zu bytes): byte %zu is 0x%02x, shadow 0x%02x",
		    what, (void *)s->p, s->size, i, s->p[i], s->shadow[i]);
	}
}

static void fuzz_check_usable(const struct slot *s)
{
	size_t u = _rz_usable_size(s->p);
	FUZZ_ASSERT(u >= s->size, "usable size %zu < %zu", u, s->size);
	size_t large = _rz_large_size(s->p);
	FUZZ_ASSERT(large == 0 || large == u, "large size %zu != usable %zu", large, u);
}

/* A new block from a successful allocation call. */
static void fuzz_adopt(struct slot *s, void *p, size_t size, bool zeroed)
{
	s->p = p;
	s->size = size;
	s->shadow = malloc(size ? size : 1);
	FUZZ_ASSERT(s->shadow, "shadow malloc");
	if (zeroed) {
		static const unsigned char zero[4096];
		for (size_t i = 0; i < size; i += sizeof(zero)) {
			size_t n = size - i < sizeof(zero) ? size - i : sizeof(zero);
			FUZZ_ASSERT(memcmp(s->p + i, zero, n) == 0, "calloc: bytes %zu..%zu of %zu "
			    "are not all zero", i, i + n, size);
		}
	}
	live_bytes += size;
	fuzz_fill(s, 0, size);
	fuzz_check_usable(s);
}

static void fuzz_release(struct slot *s, bool sized)
{
	if (!s->p)
		return;
	fuzz_compare(s, s->size, "before free");
	if (sized)
		_rz_free_sized(s->p, s->size);
	else
		_rz_free(s->p);
	free(s->shadow);
	live_bytes -= s->size;
	*s = (struct slot){ 0 };
}

/* Checks a failed call: NULL (done by the caller), errno, block intact. */
static void fuzz_failed(const struct slot *s, int err, int want, const char *call,
    size_t size)
{
	FUZZ_ASSERT(err == want || (want == 0 && err == ENOMEM),
	    "%s(%zu): errno %d, expected %d", call, size, err, want ? want : ENOMEM);
	if (s && s->p)
		fuzz_compare(s, s->size, "after a failed call");
}

/* The block moved to p (or stayed) with new_size bytes. */
static void fuzz_resized(struct slot *s, void *p, size_t new_size, const char *what)
{
	size_t keep = s->size < new_size ? s->size : new_size;
	unsigned char *old_p = s->p;
	s->p = p;
	fuzz_compare(s, keep, what);
	s->p = old_p;
	unsigned char *shadow = realloc(s->shadow, new_size ? new_size : 1);
	FUZZ_ASSERT(shadow, "shadow realloc");
	s->shadow = shadow;
	live_bytes = live_bytes - s->size + new_size;
	s->p = p;
	s->size = new_size;
	if (new_size > keep)
		fuzz_fill(s, keep, new_size);
	fuzz_check_usable(s);
}

static void fuzz_alloc(struct slot *s, uint8_t op, struct input *in)
{
	size_t size = fuzz_size(in, s->size), align = 0, n = 1;
	void *p = NULL;
	int err = 0, ret = 0;
	bool overflow = false;

	fuzz_release(s, false);
	switch (op) {
	case 1: { /* calloc: a count and a size, either may be the big one */
		uint64_t c = in_bytes(in, 2);
		n = c & 0x8000 ? (size_t)(c & 0x7fff) + 1 : 1;
		if (c & 0x4000 && size) {
			size_t t = n; n = size; size = t;
		}
		size_t total;
		overflow = __builtin_mul_overflow(n, size, &total);
		errno = 0;
		if (overflow || total <= MAX_BLOCK)
			p = _rz_calloc(n, size);
		else
			return;
		err = errno;
		if (!overflow)
			size = total;
		break;
	}
	case 2: case 3: { /* memalign, posix_memalign: fuzzed alignments */
		uint8_t a = (uint8_t)in_bytes(in, 1);
		align = a == 0xff ? 0 : a & 0x80 ? (size_t)a : (size_t)1 << (a % 23);
		if (!fuzz_fits(size, 0) && size <= PTRDIFF_MAX)
			return;
		errno = 0;
		if (op == 2) {
			p = _rz_memalign(align, size);
			err = errno;
		} else {
			void *keep = (void *)&slots;
			p = keep;
			ret = _rz_posix_memalign(&p, align, size);
			FUZZ_ASSERT((ret == 0) != (p == keep), "posix_memalign: ret %d, *out %s",
			    ret, p == keep ? "untouched" : "changed");
			if (ret) {
				p = NULL;
				err = ret;
			}
		}
		break;
	}
	default: /* malloc */
		if (!fuzz_fits(size, 0) && size <= PTRDIFF_MAX)
			return;
		errno = 0;
		p = _rz_malloc(size);
		err = errno;
		break;
	}
	bool bad_align = (op == 2 || op == 3) && (align & (align - 1)) != 0;
	if ((op == 2 || op == 3) && align == 0)
		bad_align = true;
	if (op == 3 && align < sizeof(void *))
		bad_align = true;
	if (overflow || size > PTRDIFF_MAX || bad_align) {
		FUZZ_ASSERT(p == NULL, "op %u: impossible request (size %zu, n %zu, align %zu) succeeded",
		    op, size, n, align);
		fuzz_failed(NULL, err, bad_align ? EINVAL : ENOMEM, "alloc", size);
		return;
	}
	if (!p) {
		/* A possible request may fail only for lack of memory. */
		fuzz_failed(NULL, err, ENOMEM, "alloc", size);
		return;
	}
	if (align)
		FUZZ_ASSERT(((uintptr_t)p & (align - 1)) == 0, "alignment %zu: %p", align, p);
	fuzz_adopt(s, p, size, op == 1);
}

static void fuzz_realloc(struct slot *s, bool array, struct input *in)
{
	size_t size = fuzz_size(in, s->size), n = 1, total;
	if (array) {
		n = (size_t)in_bytes(in, 1) + 1;
		if (n > 1 && size > 4096 && in_bytes(in, 1) & 1)
			size /= n; /* mostly fitting products, some overflowing */
	}
	bool overflow = __builtin_mul_overflow(n, size, &total);
	if (!overflow && total <= PTRDIFF_MAX && !fuzz_fits(total, s->size))
		return;
	errno = 0;
	void *p = array ? _rz_reallocarray(s->p, n, size) : _rz_realloc(s->p, size);
	int err = errno;
	if (overflow || total > PTRDIFF_MAX) {
		FUZZ_ASSERT(p == NULL, "realloc to an impossible size succeeded");
		fuzz_failed(s, err, ENOMEM, "realloc", total);
		return;
	}
	if (total == 0 && s->p) {
		/* glibc's rule, which rezone follows on Linux: frees, NULL. */
		FUZZ_ASSERT(p == NULL, "realloc(p, 0) returned a block");
		free(s->shadow);
		live_bytes -= s->size;
		*s = (struct slot){ 0 };
		return;
	}
	if (!p) {
		fuzz_failed(s, err, ENOMEM, "realloc", total);
		return;
	}
	if (!s->p) {
		fuzz_adopt(s, p, total, false);
		return;
	}
	fuzz_resized(s, p, total, "realloc kept");
}

static void fuzz_expand(struct slot *s, struct input *in)
{
	size_t size = fuzz_size(in, s->size);
	if (!s->p || (size <= PTRDIFF_MAX && !fuzz_fits(size, s->size)))
		return;
	errno = 0;
	void *p = rezone_expand(s->p, size);
	int err = errno;
	if (!p) {
		FUZZ_ASSERT(err == ENOMEM || err == EINVAL, "rezone_expand: errno %d", err);
		fuzz_compare(s, s->size, "after a failed rezone_expand");
		return;
	}
	FUZZ_ASSERT(p == s->p, "rezone_expand moved the block");
	FUZZ_ASSERT(size != 0 && size <= PTRDIFF_MAX, "rezone_expand(%zu) succeeded", size);
	fuzz_resized(s, p, size, "rezone_expand kept");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("REZONE_LARGE_THRESHOLD", "64k", 0);
	_rz_init();
	const char *env = getenv("REZONE_LARGE_THRESHOLD");
	char *end;
	threshold = (size_t)strtoull(env, &end, 10);
	if (*end == 'k' || *end == 'K')
		threshold <<= 10;
	else if (*end == 'm' || *end == 'M')
		threshold <<= 20;
	if (threshold < 4096)
		threshold = 4096;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	while (in.left) {
		uint8_t op = (uint8_t)in_bytes(&in, 1);
		struct slot *s = &slots[in_bytes(&in, 1) % SLOTS];
		switch (op % 12) {
		case 0: case 1: case 2: case 3:
			fuzz_alloc(s, op % 4, &in);
			break;
		case 4: case 5:
			fuzz_realloc(s, false, &in);
			break;
		case 6:
			fuzz_realloc(s, true, &in);
			break;
		case 7:
			fuzz_expand(s, &in);
			break;
		case 8:
			fuzz_release(s, op & 0x80);
			break;
		case 9:
			if (s->p) {
				/* Rewrite part of the block: growth must keep new bytes. */
				size_t a = (size_t)in_bytes(&in, 3) % (s->size + 1);
				fuzz_fill(s, a, s->size);
			}
			break;
		case 10:
			if (s->p) {
				fuzz_check_usable(s);
				fuzz_compare(s, s->size, "check");
			}
			break;
		default:
			/* Drop the cache: reused and fresh mappings both get tested. */
			if (op & 0x80)
				_rz_release_cache();
			break;
		}
	}
	for (unsigned i = 0; i < SLOTS; i++)
		fuzz_release(&slots[i], i & 1);
	return 0;
}
