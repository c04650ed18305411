/*
 * diag.c - diagnostics that never allocate.
 *
 * Misuse of a large block (double free, interior pointer, unknown address)
 * is corruption: rezone reports it on one line and aborts rather than let
 * the program run on with a broken heap.
 * May include: diag.h, backend/os.h.
 */
#include "engine/diag.h"

void _rz_line_str(struct _rz_line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

void _rz_line_u64(struct _rz_line *l, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = tmp[--n];
}

void _rz_line_hex(struct _rz_line *l, uintptr_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[2 * sizeof(v)];
	size_t n = 0;
	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	_rz_line_str(l, "0x");
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = tmp[--n];
}

void _rz_line_flush(struct _rz_line *l)
{
	if (l->len > sizeof(l->buf) - 1)
		l->len = sizeof(l->buf) - 1;
	l->buf[l->len++] = '\n';
	_rz_os_write_err(l->buf, l->len);
	l->len = 0;
}

void _rz_diag_misuse(const char *call, const void *p, const char *what)
{
	struct _rz_line l = { .len = 0 };
	_rz_line_str(&l, "rezone: ");
	_rz_line_str(&l, call);
	_rz_line_str(&l, "(");
	_rz_line_hex(&l, (uintptr_t)p);
	_rz_line_str(&l, "): ");
	_rz_line_str(&l, what);
	_rz_line_flush(&l);
	_rz_os_abort();
}

void _rz_diag_warn(const char *who, const char *what, const char *value)
{
	struct _rz_line l = { .len = 0 };
	_rz_line_str(&l, "rezone: ");
	_rz_line_str(&l, who);
	_rz_line_str(&l, ": ");
	_rz_line_str(&l, what);
	if (value) {
		_rz_line_str(&l, " (");
		_rz_line_str(&l, value);
		_rz_line_str(&l, ")");
	}
	_rz_line_flush(&l);
}
