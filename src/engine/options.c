/*
 * options.c - the option table: one row per tunable, with why it exists.
 *
 * Read with _rz_os_getenv, which scans the environment without allocating:
 * options are loaded from inside malloc, possibly before libc is ready.
 * A malformed value keeps the default and says so once (options are read
 * once per process), naming the values that are accepted.
 * The rows' names and default texts are also what the README and rezone(3)
 * list; tests/test-manuals.sh compares the three.
 * May include: options.h, diag.h, backend/os.h.
 */
#include "engine/options.h"
#include "engine/diag.h"
#include "engine/engine.h"

struct _rz_options _rz_opt;

/* OPT_WORD: one of the two words of `expect` ("FALSE or TRUE"; a bool).
 * OPT_CHOICE: one of the words of `expect` ("W0, W1 or W2"), stored as its
 * index in an int. */
enum opt_kind { OPT_SIZE, OPT_PERCENT, OPT_MS, OPT_BOOL, OPT_STATS, OPT_WORD, OPT_CHOICE };

struct opt_row {
	const char *env;
	enum opt_kind kind;
	/* The default as a user would write it: parsed like a value from the
	 * environment, and quoted as is in warnings and the manuals. */
	const char *def;
	size_t max;
	void *field;
	/* What is accepted, for the warning: "expected ..., e.g. ...". */
	const char *expect;
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
	{ "REZONE_LARGE_THRESHOLD", OPT_SIZE, "256k", (size_t)1 << 46, &_rz_opt.large_threshold,
	  "a size in bytes with an optional k, m or g suffix, e.g. 1m" },
	{ "REZONE_REALLOC_THRESHOLD", OPT_SIZE, "4k", (size_t)1 << 46, &_rz_opt.realloc_threshold,
	  "a size in bytes with an optional k, m or g suffix, e.g. 64k" },
	{ "REZONE_HEADROOM", OPT_PERCENT, "100", 10000, &_rz_opt.headroom_pct,
	  "a percentage 0-10000, e.g. 100" },
	{ "REZONE_CACHE", OPT_SIZE, "256m", (size_t)1 << 46, &_rz_opt.cache_bytes,
	  "a size in bytes with an optional k, m or g suffix, e.g. 64m, or 0" },
	{ "REZONE_CACHE_DECAY_MS", OPT_MS, "1000", 3600000, &_rz_opt.cache_decay_ms,
	  "milliseconds 0-3600000, e.g. 1000" },
	/* Report the counters at exit: 1 on stderr, anything else is a file
	 * that gets one JSON record per process. */
	{ "REZONE_STATS", OPT_STATS, "0", 0, &_rz_opt.stats,
	  "0, 1 or a file name" },
	/* Behave as under vm.overcommit_memory=2 even when it is not set. */
	{ "REZONE_STRICT_COMMIT", OPT_BOOL, "0", 1, &_rz_opt.strict_commit,
	  "0 or 1" },
	/* Also abort on free() of a page-aligned address that nothing maps.
	 * Off by default: it costs one mincore call (~1-2 us) per free of a
	 * page-aligned small block, which made small churn 10x slower. */
	{ "REZONE_CHECK_UNKNOWN", OPT_BOOL, "0", 1, &_rz_opt.check_unknown,
	  "0 or 1" },
	/* Debugging: a write past the end of a large block (beyond its
	 * page-rounded size) faults instead of landing in headroom, and freed
	 * large blocks become inaccessible. Costs a system call per growth. */
	{ "REZONE_GUARD", OPT_BOOL, "0", 1, &_rz_opt.guard,
	  "0 or 1" },
	/* Name large mappings [anon:rezone] where the kernel supports it. */
	{ "REZONE_NAME", OPT_BOOL, "1", 1, &_rz_opt.name_mappings,
	  "0 or 1" },
	/* Linux: dlopen/dlmopen drop RTLD_DEEPBIND by default, or a library
	 * loaded with it frees rezone's blocks with glibc's free (PHP's
	 * extensions); "keep" passes the flag on (deepbind_linux.c). */
	{ "REZONE_DEEPBIND", OPT_WORD, "drop", 1, &_rz_opt.deepbind_keep,
	  "drop or keep" },
	/* Ask for transparent huge pages for blocks of 32 MiB and more
	 * (large.c): "on" always, "auto" unless the machine reports free
	 * pages to a hypervisor (_rz_vm_huge_faults_slow). There a huge-page
	 * fault is fast or very slow depending on whether the host still backs
	 * that guest memory: on our VMs, grow1 (64 KiB -> 1 GiB), 6 pairs:
	 * without 0.55-0.65 s, with 0.11-0.12 s in three and 1.05-2.76 s in
	 * the other three; touching 1 GiB, 8 pairs: 0.55-0.73 s against
	 * 0.09-3.0 s (median 1.04 s). Where memory stays backed, huge pages
	 * are the fast case of those runs (0.11-0.15 s against 0.55-0.9 s). */
	{ "REZONE_THP", OPT_CHOICE, "auto", 2, &_rz_opt.thp,
	  "never, auto or on" },
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

/* Copies a string value into static storage (no allocation); false when
 * it does not fit. */
static bool opt_copy(char *dst, size_t cap, const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (n + 1 >= cap)
			return false;
	for (size_t i = 0; i <= n; i++)
		dst[i] = s[i];
	return true;
}

/* Whether s is the n-th (0 or 1) word of "WORD0 or WORD1", without the C
 * library (options load early). */
static bool opt_is_word(const char *s, const char *expect, int n)
{
	const char *w = expect;
	if (n == 1) {
		while (*w && !(w[0] == ' ' && w[1] == 'o' && w[2] == 'r' && w[3] == ' '))
			w++;
		if (!*w)
			return false;
		w += 4;
	}
	while (*w && *w != ' ' && *s == *w)
		s++, w++;
	return *s == '\0' && (*w == '\0' || *w == ' ');
}

/* The index of word s in "W0, W1 or W2", or -1; without the C library. */
static int opt_choice(const char *s, const char *expect)
{
	const char *w = expect;
	for (int i = 0; *w; i++) {
		const char *c = s;
		while (*w && *w != ',' && *w != ' ' && *c == *w)
			c++, w++;
		if (*c == '\0' && (*w == '\0' || *w == ',' || *w == ' '))
			return i;
		/* On to the next word: past this one, its comma or " or ". */
		while (*w && *w != ',' && *w != ' ')
			w++;
		if (*w == ',')
			w++;
		while (*w == ' ')
			w++;
		if (w[0] == 'o' && w[1] == 'r' && w[2] == ' ')
			w += 3;
	}
	return -1;
}

/* Why a value was refused, for the warning; NULL when it was accepted. */
static const char *opt_parse(const struct opt_row *row, const char *s, size_t *out)
{
	switch (row->kind) {
	case OPT_BOOL:
		if ((s[0] == '0' || s[0] == '1') && s[1] == '\0') {
			*out = (size_t)(s[0] - '0');
			return NULL;
		}
		return "not 0 or 1";
	case OPT_STATS:
		if (s[0] == '\0')
			return "empty";
		if ((s[0] == '0' || s[0] == '1') && s[1] == '\0') {
			*out = (size_t)(s[0] - '0');
			return NULL;
		}
		if (!opt_copy(_rz_opt.stats_file, sizeof(_rz_opt.stats_file), s))
			return "file name too long";
		*out = 1;
		return NULL;
	case OPT_SIZE:
		if (!_rz_options_parse_size(s, out))
			return "not a size";
		return *out <= row->max ? NULL : "too large";
	case OPT_WORD:
		if (!opt_is_word(s, row->expect, 0) && !opt_is_word(s, row->expect, 1))
			return "not one of the words";
		*out = opt_is_word(s, row->expect, 1);
		return NULL;
	case OPT_CHOICE: {
		int i = opt_choice(s, row->expect);
		if (i < 0)
			return "not one of the words";
		*out = (size_t)i;
		return NULL;
	}
	case OPT_PERCENT:
	case OPT_MS:
		break;
	}
	size_t v = 0;
	if (*s == '\0')
		return "not a number";
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return "not a number";
		if (v > row->max)
			return "too large";
		v = v * 10 + (size_t)(*c - '0');
	}
	if (v > row->max)
		return "too large";
	*out = v;
	return NULL;
}

/* "rezone: NAME=VALUE: WHY (expected ...); using DEFAULT" */
static void opt_warn(const struct opt_row *row, const char *value, const char *why)
{
	struct _rz_line l = { .len = 0 };
	_rz_line_str(&l, "rezone: ");
	_rz_line_str(&l, row->env);
	_rz_line_str(&l, "=");
	_rz_line_str(&l, value);
	_rz_line_str(&l, ": ");
	_rz_line_str(&l, why);
	_rz_line_str(&l, " (expected ");
	_rz_line_str(&l, row->expect);
	_rz_line_str(&l, "); using ");
	_rz_line_str(&l, row->def);
	_rz_line_flush(&l);
}

void _rz_options_load(void)
{
	_rz_opt.stats_file[0] = '\0';
	for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
		const struct opt_row *row = &opt_table[i];
		size_t v = 0;
		/* The defaults are written to be valid; a row whose default did
		 * not parse would be caught by the unit tests (all zero). */
		(void)opt_parse(row, row->def, &v);
		const char *s = _rz_os_getenv(row->env);
		/* Empty is unset (VAR= in a shell script clears an option),
		 * not a malformed value worth a warning. */
		if (s && *s == '\0')
			s = NULL;
		const char *why = s ? opt_parse(row, s, &v) : NULL;
		if (why) {
			opt_warn(row, s, why);
			if (row->kind == OPT_STATS)
				_rz_opt.stats_file[0] = '\0';
			(void)opt_parse(row, row->def, &v);
		}
		if (row->field == &_rz_opt.large_threshold)
			_rz_opt.large_threshold_set = s != NULL && why == NULL;
		if (row->kind == OPT_BOOL || row->kind == OPT_STATS || row->kind == OPT_WORD)
			*(bool *)row->field = v != 0;
		else if (row->kind == OPT_CHOICE)
			*(int *)row->field = (int)v;
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
