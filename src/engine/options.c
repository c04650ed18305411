/*
 * options.c - the option table: one row per tunable, with why it exists.
 *
 * Read with _rz_os_getenv, which scans the environment without allocating:
 * options are loaded from inside malloc, possibly before libc is ready.
 * A malformed value keeps the default and says so once on stderr.
 * May include: options.h, diag.h, engine.h (the accessors front ends
 * call), backend/os.h.
 */
#include "engine/options.h"
#include "engine/diag.h"
#include "engine/engine.h"

struct _rz_options _rz_opt;

/* OPT_KEEP: "drop" or "keep" (a bool field, true for keep). */
enum opt_kind { OPT_SIZE, OPT_PERCENT, OPT_MS, OPT_BOOL, OPT_KEEP };

struct opt_row {
	const char *env;
	enum opt_kind kind;
	size_t def;
	size_t max;
	void *field;
};

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/*
 * Defaults, with the reason for each (figures in README.md, "Choosing the
 * defaults"):
 * - threshold 256 KiB: below it jemalloc's size classes are as fast as a
 *   cached mapping and waste less; above it one mapping per block costs
 *   little and makes realloc cheap.
 * - headroom 100%: address space is plentiful and untouched pages are free,
 *   so twice the size is reserved and most growth needs no system call.
 * - cache 256 MiB, decay 1 s: a program that churns 5-25 MiB blocks reuses
 *   their pages instead of faulting them again; idle memory goes back to
 *   the kernel within a second.
 */
static const struct opt_row opt_table[] = {
	{ "REZONE_LARGE_THRESHOLD", OPT_SIZE, 256 * KiB, (size_t)1 << 46, &_rz_opt.large_threshold },
	{ "REZONE_HEADROOM", OPT_PERCENT, 100, 10000, &_rz_opt.headroom_pct },
	{ "REZONE_CACHE", OPT_SIZE, 256 * MiB, (size_t)1 << 46, &_rz_opt.cache_bytes },
	{ "REZONE_CACHE_DECAY_MS", OPT_MS, 1000, 3600000, &_rz_opt.cache_decay_ms },
	/* Print the counters at exit. */
	{ "REZONE_STATS", OPT_BOOL, 0, 1, &_rz_opt.stats },
	/* Behave as under vm.overcommit_memory=2 even when it is not set. */
	{ "REZONE_STRICT_COMMIT", OPT_BOOL, 0, 1, &_rz_opt.strict_commit },
	/* Also abort on free() of a page-aligned address that nothing maps.
	 * Off by default: it costs one mincore call (~1-2 us) per free of a
	 * page-aligned small block, which made small churn 10x slower. */
	{ "REZONE_CHECK_UNKNOWN", OPT_BOOL, 0, 1, &_rz_opt.check_unknown },
	/* Debugging: a write past the end of a large block (beyond its
	 * page-rounded size) faults instead of landing in headroom, and freed
	 * large blocks become inaccessible. Costs a system call per growth. */
	{ "REZONE_GUARD", OPT_BOOL, 0, 1, &_rz_opt.guard },
	/* Name large mappings [anon:rezone] where the kernel supports it. */
	{ "REZONE_NAME", OPT_BOOL, 1, 1, &_rz_opt.name_mappings },
	/* Linux: dlopen/dlmopen drop RTLD_DEEPBIND by default, or a library
	 * loaded with it frees rezone's blocks with glibc's free (PHP's
	 * extensions); "keep" passes the flag on (deepbind_linux.c). */
	{ "REZONE_DEEPBIND", OPT_KEEP, 0, 1, &_rz_opt.deepbind_keep },
};

bool _rz_options_parse_size(const char *s, size_t *out)
{
	size_t v = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		size_t d = (size_t)(*s - '0');
		if (v > ((size_t)-1 - d) / 10)
			return false;
		v = v * 10 + d;
	}
	unsigned shift = 0;
	switch (*s) {
	case '\0': break;
	case 'k': case 'K': shift = 10; s++; break;
	case 'm': case 'M': shift = 20; s++; break;
	case 'g': case 'G': shift = 30; s++; break;
	default: return false;
	}
	if (*s == 'i' || *s == 'b' || *s == 'B')
		s++;
	if (*s == 'B')
		s++;
	if (*s != '\0' || (shift && v > ((size_t)-1 >> shift)))
		return false;
	*out = v << shift;
	return true;
}

/* strcmp(s, word) == 0, without the C library (options load early). */
static bool opt_is(const char *s, const char *word)
{
	while (*word && *s == *word)
		s++, word++;
	return *s == '\0' && *word == '\0';
}

static bool opt_parse(const struct opt_row *row, const char *s, size_t *out)
{
	if (row->kind == OPT_BOOL) {
		if ((s[0] == '0' || s[0] == '1') && s[1] == '\0') {
			*out = (size_t)(s[0] - '0');
			return true;
		}
		return false;
	}
	if (row->kind == OPT_KEEP) {
		if (!opt_is(s, "drop") && !opt_is(s, "keep"))
			return false;
		*out = opt_is(s, "keep");
		return true;
	}
	if (row->kind == OPT_SIZE)
		return _rz_options_parse_size(s, out) && *out <= row->max;
	size_t v = 0;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9' || v > row->max)
			return false;
		v = v * 10 + (size_t)(*c - '0');
	}
	if (*s == '\0' || v > row->max)
		return false;
	*out = v;
	return true;
}

void _rz_options_load(void)
{
	for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
		const struct opt_row *row = &opt_table[i];
		size_t v = row->def;
		const char *s = _rz_os_getenv(row->env);
		if (s && !opt_parse(row, s, &v)) {
			_rz_diag_warn(row->env, "invalid value ignored", s);
			v = row->def;
		}
		if (row->kind == OPT_BOOL || row->kind == OPT_KEEP)
			*(bool *)row->field = v != 0;
		else
			*(size_t *)row->field = v;
	}
}

bool _rz_option_deepbind_keep(void)
{
	return _rz_opt.deepbind_keep;
}

void _rz_note(const char *who, const char *what, const char *value)
{
	/* Notes are for someone watching: stats or a debugging option. */
	if (_rz_opt.stats || _rz_opt.guard || _rz_opt.check_unknown)
		_rz_diag_warn(who, what, value);
}
