/*
 * diag.h - diagnostics that never allocate: misuse reports and warnings.
 * May include: backend/os.h.
 */
#ifndef RZ_ENGINE_DIAG_H
#define RZ_ENGINE_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "backend/os.h"

/* Prints "rezone: CALL(PTR): WHAT" on one line, then aborts. */
_Noreturn void _rz_diag_misuse(const char *call, const void *p,
    const char *what) RZ_HIDDEN;
/* Prints "rezone: WHO: WHAT (VALUE)" on one line. */
void _rz_diag_warn(const char *who, const char *what, const char *value) RZ_HIDDEN;

/* Line builder over a caller's buffer (no allocation, truncates). */
struct _rz_line {
	char buf[1024]; /* the one-line stats report is ~400 bytes */
	size_t len;
};
void _rz_line_str(struct _rz_line *l, const char *s) RZ_HIDDEN;
void _rz_line_u64(struct _rz_line *l, uint64_t v) RZ_HIDDEN;
void _rz_line_hex(struct _rz_line *l, uintptr_t v) RZ_HIDDEN;
void _rz_line_flush(struct _rz_line *l) RZ_HIDDEN;

#endif
