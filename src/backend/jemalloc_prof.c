/*
 * jemalloc_prof.c - the four outside calls of the embedded jemalloc's heap
 * profiler (prof*.c), renamed in src/backend/jemalloc.syms and answered
 * here (and round, which the profiler's set-up calls), so that librezone
 * needs neither libm nor libgcc_s.
 *
 * Why: those two libraries were loaded into every process only for the
 * profiler, which is off unless MALLOC_CONF says prof:true: 372 KiB of
 * RSS (libm 308 KiB, libgcc_s 64 KiB of mapped pages) and two more
 * objects for the dynamic loader, in a program that links neither (a
 * vector benchmark: 2.9 MiB at start against glibc's 1.3 MiB).
 *   log, exp, round: the profiler's sampling interval (a geometric draw)
 *     and the unbiasing of sampled sizes; computed here to within 1e-14
 *     relative error (tests/unit/test_jemalloc_prof.c), far below what
 *     sampling needs.
 *   _Unwind_Backtrace, _Unwind_GetIP: the profiler's stack walk. Not
 *     provided: a profile taken with the embedded delegate has no stack
 *     frames (README, "Using it"). Heap profiling is a job for jemalloc
 *     itself, preloaded without rezone.
 * May include: backend/os.h, <float.h>, <stdbool.h>, <stdint.h>, <string.h>.
 */
#include <float.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "backend/os.h"

double rzje_log(double x) RZ_HIDDEN;
double rzje_exp(double x) RZ_HIDDEN;
double rzje_round(double x) RZ_HIDDEN;
int rzje_unwind_backtrace(void *trace, void *arg) RZ_HIDDEN;
uintptr_t rzje_unwind_get_ip(void *context) RZ_HIDDEN;

#define LN2 0.6931471805599453094172321214581766
/* ln 2 in two parts, the first with its low bits zero, so that k * LN2_HI
 * is exact for the k of exp's range reduction (|k| < 1100). */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10

static uint64_t bits_of(double x)
{
	uint64_t u;
	memcpy(&u, &x, sizeof(u));
	return u;
}

static double double_of(uint64_t u)
{
	double x;
	memcpy(&x, &u, sizeof(x));
	return x;
}

double rzje_log(double x)
{
	if (x != x || x < 0)
		return 0.0 / 0.0; /* NaN, as log does */
	if (x == 0)
		return -1.0 / 0.0;
	if (x > DBL_MAX)
		return x;
	int scale = 0;
	if (x < DBL_MIN) { /* subnormal: bring it into the normal range */
		x *= 0x1p54;
		scale = -54;
	}
	uint64_t u = bits_of(x);
	int e = (int)((u >> 52) & 0x7ff) - 1023 + scale;
	double m = double_of((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
	/* m in [1, 2); fold it into [sqrt(1/2), sqrt(2)) so the series in s
	 * below converges fast (|s| <= 0.172). */
	if (m > 1.4142135623730951) {
		m *= 0.5;
		e++;
	}
	double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
	/* log m = 2 atanh s = 2 (s + s^3/3 + s^5/5 + ...) */
	for (int k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return e * LN2 + 2 * sum;
}

double rzje_exp(double x)
{
	if (x != x)
		return x;
	if (x > 709.782712893384)
		return 1.0 / 0.0;
	if (x < -745.1332191019412)
		return 0;
	/* x = k ln2 + r, |r| <= ln2 / 2; exp x = 2^k exp r. */
	double kf = x / LN2;
	int k = (int)(kf < 0 ? kf - 0.5 : kf + 0.5);
	double r = (x - k * LN2_HI) - k * LN2_LO, term = 1, sum = 1;
	for (int n = 1; n < 24; n++) {
		term *= r / n;
		sum += term;
	}
	/* 2^k in two steps, so that k near the ends of the range (where 2^k
	 * alone is not a normal double) still scales correctly. */
	int k1 = k / 2, k2 = k - k1;
	return sum * double_of((uint64_t)(k1 + 1023) << 52) *
	    double_of((uint64_t)(k2 + 1023) << 52);
}

/* Half-way cases away from zero, as round(3) does. */
double rzje_round(double x)
{
	bool negative = bits_of(x) >> 63; /* -0.0 and -0.4 round to -0.0 */
	double a = negative ? -x : x;
	if (!(a < 0x1p52)) /* already an integer, or NaN, or infinite */
		return x;
	double t = (double)(int64_t)a;
	if (a - t >= 0.5)
		t += 1;
	return negative ? -t : t;
}

/* _URC_END_OF_STACK: no frames, and the callback is never called. */
int rzje_unwind_backtrace(void *trace, void *arg)
{
	(void)trace;
	(void)arg;
	return 5;
}

uintptr_t rzje_unwind_get_ip(void *context)
{
	(void)context;
	return 0;
}
