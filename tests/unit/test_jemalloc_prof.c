/*
 * test_jemalloc_prof.c - the log and exp that src/backend/jemalloc_prof.c
 * gives the embedded jemalloc's profiler, against the C library's.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

double rzje_log(double x);
double rzje_exp(double x);
double rzje_round(double x);

static void near(double got, double want, double rel)
{
	double err = fabs(got - want);
	cr_assert(err <= rel * fabs(want) || err < 1e-300, "got %.17g, want %.17g", got, want);
}

Test(jemalloc_prof, log_matches_the_c_library_over_the_double_range)
{
	static const double xs[] = { 1, 2, 0.5, 1.4142135623730951, 1.4142135623730949,
	    3, 10, 1e-3, 1e-300, 4.9e-324, 1e300, 1.7976931348623157e308,
	    0.999999999, 1.000000001, 0x1p-1022 };
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
		near(rzje_log(xs[i]), log(xs[i]), 1e-14);
	/* The profiler's use: log of a uniform draw in (0, 1). */
	uint64_t r = 88172645463325252ull;
	for (int i = 0; i < 100000; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		double u = (double)((r >> 11) + 1) / 9007199254740993.0;
		near(rzje_log(u), log(u), 1e-14);
	}
	cr_assert(isnan(rzje_log(-1)));
	cr_assert(isinf(rzje_log(0)) && rzje_log(0) < 0);
	cr_assert(isinf(rzje_log(INFINITY)));
}

Test(jemalloc_prof, exp_matches_the_c_library_over_its_range)
{
	for (double x = -740; x < 709; x += 0.37)
		near(rzje_exp(x), exp(x), 1e-14);
	near(rzje_exp(0), 1, 0);
	near(rzje_exp(1), M_E, 1e-15);
	cr_assert(isinf(rzje_exp(710)));
	cr_assert_eq(rzje_exp(-800), 0);
	cr_assert(isnan(rzje_exp(NAN)));
}

Test(jemalloc_prof, round_goes_half_away_from_zero_as_the_c_library)
{
	static const double xs[] = { 0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49999999999999994,
	    4503599627370495.5, 4503599627370497.0, 1e300, -1e300, 123456.789, -7.5, -0.4 };
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		cr_assert_eq(rzje_round(xs[i]), round(xs[i]), "round(%.17g): got %.17g, want %.17g",
		    xs[i], rzje_round(xs[i]), round(xs[i]));
		cr_assert_eq(signbit(rzje_round(xs[i])), signbit(round(xs[i])));
	}
	cr_assert(isnan(rzje_round(NAN)));
	cr_assert(isinf(rzje_round(-INFINITY)));
}
