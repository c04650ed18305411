/*
 * test_options.c - option parsing (src/engine/options.c).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "engine/options.h"

Test(options, parses_sizes_with_binary_suffixes)
{
	size_t v;
	cr_assert(_rz_options_parse_size("4096", &v));
	cr_assert_eq(v, 4096);
	cr_assert(_rz_options_parse_size("64k", &v));
	cr_assert_eq(v, 64 * 1024);
	cr_assert(_rz_options_parse_size("2M", &v));
	cr_assert_eq(v, 2u << 20);
	cr_assert(_rz_options_parse_size("1GiB", &v));
	cr_assert_eq(v, 1u << 30);
}

Test(options, rejects_junk_and_overflow)
{
	size_t v = 7;
	cr_assert_not(_rz_options_parse_size("", &v));
	cr_assert_not(_rz_options_parse_size("12x", &v));
	cr_assert_not(_rz_options_parse_size("-1", &v));
	cr_assert_not(_rz_options_parse_size("99999999999999999999999", &v));
	cr_assert_not(_rz_options_parse_size("17179869184G", &v));
	cr_assert_eq(v, 7, "a rejected value must not be written");
}

Test(options, environment_overrides_defaults_and_bad_values_keep_them)
{
	setenv("REZONE_LARGE_THRESHOLD", "1m", 1);
	setenv("REZONE_HEADROOM", "banana", 1);
	_rz_options_load();
	cr_assert_eq(_rz_opt.large_threshold, 1u << 20);
	cr_assert_eq(_rz_opt.headroom_pct, 100, "invalid value falls back to the default");
	unsetenv("REZONE_LARGE_THRESHOLD");
	unsetenv("REZONE_HEADROOM");
	_rz_options_load();
	cr_assert_eq(_rz_opt.large_threshold, 256u << 10);
}

Test(options, deepbind_is_dropped_unless_keep_and_junk_keeps_the_default)
{
	unsetenv("REZONE_DEEPBIND");
	_rz_options_load();
	cr_assert_not(_rz_opt.deepbind_keep, "RTLD_DEEPBIND is dropped by default");
	setenv("REZONE_DEEPBIND", "keep", 1);
	_rz_options_load();
	cr_assert(_rz_opt.deepbind_keep);
	setenv("REZONE_DEEPBIND", "drop", 1);
	_rz_options_load();
	cr_assert_not(_rz_opt.deepbind_keep);
	setenv("REZONE_DEEPBIND", "keeps", 1);
	_rz_options_load();
	cr_assert_not(_rz_opt.deepbind_keep, "an unknown word keeps the default");
	unsetenv("REZONE_DEEPBIND");
	_rz_options_load();
}

Test(options, thp_takes_never_auto_or_on_and_defaults_to_auto)
{
	unsetenv("REZONE_THP");
	_rz_options_load();
	cr_assert_eq(_rz_opt.thp, RZ_THP_OPT_AUTO, "auto by default");
	const char *words[] = { "never", "auto", "on" };
	int want[] = { RZ_THP_OPT_NEVER, RZ_THP_OPT_AUTO, RZ_THP_OPT_ON };
	for (int i = 0; i < 3; i++) {
		setenv("REZONE_THP", words[i], 1);
		_rz_options_load();
		cr_assert_eq(_rz_opt.thp, want[i], "REZONE_THP=%s", words[i]);
	}
	/* Neither a part of a word, nor more, nor the list's own "or". */
	const char *junk[] = { "o", "nev", "onn", "auto,", "or", "never, auto or on" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		setenv("REZONE_THP", "never", 1);
		_rz_options_load();
		setenv("REZONE_THP", junk[i], 1);
		_rz_options_load();
		cr_assert_eq(_rz_opt.thp, RZ_THP_OPT_AUTO, "REZONE_THP=%s keeps the default", junk[i]);
	}
	unsetenv("REZONE_THP");
	_rz_options_load();
}

Test(options, stats_takes_0_1_or_a_file_name)
{
	setenv("REZONE_STATS", "1", 1);
	_rz_options_load();
	cr_assert(_rz_opt.stats);
	cr_assert_str_empty(_rz_opt.stats_file, "1 is stderr, not a file");
	setenv("REZONE_STATS", "/tmp/rezone-stats.json", 1);
	_rz_options_load();
	cr_assert(_rz_opt.stats);
	cr_assert_str_eq(_rz_opt.stats_file, "/tmp/rezone-stats.json");
	setenv("REZONE_STATS", "0", 1);
	_rz_options_load();
	cr_assert_not(_rz_opt.stats);
	cr_assert_str_empty(_rz_opt.stats_file);
	setenv("REZONE_STATS", "", 1);
	_rz_options_load();
	cr_assert_not(_rz_opt.stats, "an empty value keeps the default (off)");
	unsetenv("REZONE_STATS");
	_rz_options_load();
}

Test(options, out_of_range_values_keep_the_default)
{
	setenv("REZONE_HEADROOM", "10001", 1);
	setenv("REZONE_CACHE_DECAY_MS", "99999999999999999999999", 1);
	setenv("REZONE_CACHE", "1000000g", 1);
	_rz_options_load();
	cr_assert_eq(_rz_opt.headroom_pct, 100);
	cr_assert_eq(_rz_opt.cache_decay_ms, 1000);
	cr_assert_eq(_rz_opt.cache_bytes, 256u << 20);
	unsetenv("REZONE_HEADROOM");
	unsetenv("REZONE_CACHE_DECAY_MS");
	unsetenv("REZONE_CACHE");
	_rz_options_load();
}

Test(options, defaults_are_the_documented_ones)
{
	_rz_options_load();
	cr_assert_eq(_rz_opt.large_threshold, 256u << 10);
	cr_assert_eq(_rz_opt.headroom_pct, 100);
	cr_assert_eq(_rz_opt.cache_bytes, 256u << 20);
	cr_assert_eq(_rz_opt.cache_decay_ms, 1000);
	cr_assert_not(_rz_opt.stats);
	cr_assert_not(_rz_opt.strict_commit);
	cr_assert_not(_rz_opt.check_unknown);
	cr_assert_not(_rz_opt.guard);
	cr_assert(_rz_opt.name_mappings);
}
