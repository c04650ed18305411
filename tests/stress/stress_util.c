/*
 * stress_util.c - what every rzstress scenario shares: sizes biased to the
 * allocator's boundaries, position-dependent tags and their checks,
 * failure reports and the watchdog.
 * May include: stress.h, the C library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

size_t stress_threshold = 256 * KiB;
void *(*stress_expand)(void *, size_t);

static size_t util_parse_size(const char *s, size_t def)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s)
		return def;
	switch (*end) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	default: break;
	}
	/* rezone never lets the threshold drop below a page. */
	return v < 4096 ? 4096 : (size_t)v;
}

void stress_setup(void)
{
	const char *t = getenv("REZONE_LARGE_THRESHOLD");
	if (t)
		stress_threshold = util_parse_size(t, stress_threshold);
	stress_expand = (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "rezone_expand");
}

bool stress_have_rezone(void)
{
	return dlsym(RTLD_DEFAULT, "rezone_version") != NULL;
}

uint64_t stress_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

size_t stress_pick_size(uint64_t *rng, size_t big_max)
{
	uint64_t r = stress_rand(rng);
	size_t thr = stress_threshold, pg = 4096;
	uint64_t v = r >> 8;
	switch (r % 100) {
	case 0 ... 39:
		return (size_t)(v % 512);               /* includes 0 */
	case 40 ... 59:
		return 512 + (size_t)(v % (64 * KiB));
	case 60 ... 69: {
		/* Exactly on or next to the threshold and its page multiples. */
		static const long delta[] = { -1, 0, 1, -4096, 4096, -4097, 4097, -8, 8 };
		size_t d = (size_t)(v % (sizeof(delta) / sizeof(delta[0])));
		size_t base = thr + pg * (size_t)((v >> 8) % 4);
		long s = (long)base + delta[d];
		return s < 0 ? 0 : (size_t)s;
	}
	case 70 ... 79:
		/* Within 64 KiB of the threshold (both sides). */
		return thr - (thr < 32 * KiB ? thr / 2 : 32 * KiB) + (size_t)(v % (64 * KiB));
	case 80 ... 94:
		return thr + (size_t)(v % (4 * MiB));
	default:
		return (size_t)(v % (big_max + 1));
	}
}

static inline uint64_t util_word_tag(uint64_t seed, size_t word)
{
	uint64_t x = seed + word * 0x9E3779B97F4A7C15ULL;
	return x ^ (x >> 31);
}

/* Visits the tagged bytes of [from, to): every word with stride 1, every
 * 64th word otherwise; partial words at the edges byte by byte. Writes
 * the tags, or returns the offset of the first byte that differs (SIZE_MAX
 * when all match). */
static size_t util_tag_range(unsigned char *p, size_t from, size_t to,
    uint64_t seed, size_t stride, bool check)
{
	if (from >= to)
		return SIZE_MAX;
	size_t i = from / 8;
	if (stride > 1)
		i = (i + stride - 1) / stride * stride;
	for (; i * 8 < to; i += stride) {
		uint64_t t = util_word_tag(seed, i);
		size_t lo = i * 8 < from ? from : i * 8;
		size_t hi = i * 8 + 8 > to ? to : i * 8 + 8;
		if (lo == i * 8 && hi == i * 8 + 8) {
			uint64_t *w = (uint64_t *)(void *)(p + lo);
			if (!check)
				*w = t;
			else if (*w != t)
				for (size_t b = lo; b < hi; b++)
					if (p[b] != (unsigned char)(t >> (8 * (b % 8))))
						return b;
			continue;
		}
		for (size_t b = lo; b < hi; b++) {
			unsigned char want = (unsigned char)(t >> (8 * (b % 8)));
			if (!check)
				p[b] = want;
			else if (p[b] != want)
				return b;
		}
	}
	return SIZE_MAX;
}

void stress_tag(struct stress_block *b, size_t from, size_t to)
{
	if (to <= STRESS_DENSE_MAX) {
		util_tag_range(b->p, from, to, b->seed, 1, false);
		if (from <= b->dense && to > b->dense)
			b->dense = to;
	} else {
		util_tag_range(b->p, from, to, b->seed, 64, false);
	}
}

static _Noreturn void util_mismatch(const struct stress_block *b, size_t at,
    const char *what)
{
	uint64_t t = util_word_tag(b->seed, at / 8);
	stress_fail("%s: block %p of %zu bytes: byte %zu is 0x%02x, expected 0x%02x",
	    what, (void *)b->p, b->size, at, b->p[at],
	    (unsigned char)(t >> (8 * (at % 8))));
}

void stress_verify(const struct stress_block *b, const char *what)
{
	size_t dense = b->dense < b->size ? b->dense : b->size;
	size_t at = util_tag_range(b->p, 0, dense, b->seed, 1, true);
	if (at == SIZE_MAX)
		at = util_tag_range(b->p, dense, b->size, b->seed, 64, true);
	if (at != SIZE_MAX)
		util_mismatch(b, at, what);
}

void stress_verify_zero(const unsigned char *p, size_t n, const char *what)
{
	size_t step = n <= STRESS_DENSE_MAX ? 1 : 509;
	for (size_t i = 0; i < n; i += step)
		if (p[i] != 0)
			stress_fail("%s: byte %zu of a %zu-byte zeroed block is 0x%02x",
			    what, i, n, p[i]);
	if (n && p[n - 1] != 0)
		stress_fail("%s: last byte of a %zu-byte zeroed block is not 0", what, n);
}

void stress_fail(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(line, sizeof(line), "rzstress[%d]: FAIL ", (int)getpid());
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	if (write(2, line, strlen(line)) < 0)
		abort();
	abort();
}

static const char *watchdog_what = "rzstress";

static void util_on_alarm(int sig)
{
	(void)sig;
	static const char pre[] = "rzstress: FAIL watchdog expired (hang?) in ";
	if (write(2, pre, sizeof(pre) - 1) < 0 ||
	    write(2, watchdog_what, strlen(watchdog_what)) < 0 || write(2, "\n", 1) < 0)
		_exit(124);
	_exit(124);
}

void stress_watchdog(unsigned seconds, const char *what)
{
	watchdog_what = what;
	signal(SIGALRM, util_on_alarm);
	alarm(seconds);
}

double stress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
