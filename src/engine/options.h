/*
 * options.h - rezone's tunables, read once from the environment.
 * May include: nothing but the C standard headers.
 */
#ifndef RZ_ENGINE_OPTIONS_H
#define RZ_ENGINE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "backend/os.h"

struct _rz_options {
	size_t large_threshold;  /* REZONE_LARGE_THRESHOLD */
	bool large_threshold_set; /* ... given in the environment */
	size_t realloc_threshold; /* REZONE_REALLOC_THRESHOLD */
	size_t headroom_pct;     /* REZONE_HEADROOM */
	size_t cache_bytes;      /* REZONE_CACHE */
	size_t cache_decay_ms;   /* REZONE_CACHE_DECAY_MS */
	bool stats;              /* REZONE_STATS: report at exit */
	char stats_file[1024];   /* REZONE_STATS=FILE: append JSON there
	                            ("" = one line on stderr) */
	bool strict_commit;      /* REZONE_STRICT_COMMIT */
	bool check_unknown;      /* REZONE_CHECK_UNKNOWN */
	bool name_mappings;      /* REZONE_NAME */
	bool guard;              /* REZONE_GUARD */
	int thp;                 /* REZONE_THP: RZ_THP_OPT_NEVER, _AUTO or _ON */
	bool deepbind_keep;      /* REZONE_DEEPBIND (drop | keep) */
};
/* REZONE_THP's words, in the order of its row. */
enum { RZ_THP_OPT_NEVER, RZ_THP_OPT_AUTO, RZ_THP_OPT_ON };
extern struct _rz_options _rz_opt RZ_HIDDEN;

/* Fills _rz_opt from the defaults and the environment; never allocates. */
void _rz_options_load(void) RZ_HIDDEN;
/* Parses "123", "64k", "2M", "1g" (binary units); false on junk/overflow. */
bool _rz_options_parse_size(const char *s, size_t *out) RZ_HIDDEN;

#endif
