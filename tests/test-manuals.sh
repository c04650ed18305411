#!/bin/sh
# test-manuals.sh - the manual pages: rezone(1) and rezone(3) pass
# `mandoc -Tlint` with no warning, and the three places that list the
# options agree on names and defaults: the option table in
# src/engine/options.c (the source of truth), the README's table and
# rezone(3)'s ENVIRONMENT list. Every function of the export list
# (rezone.map) is documented in rezone(3).
# Run by make check (srcdir set by automake) or by hand from the top.
top=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
passed=0 failed=0 skipped=0
check() { # name, condition (shell words)
	name=$1; shift
	if "$@"; then passed=$((passed + 1)); echo "PASS: $name"
	else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if command -v mandoc >/dev/null 2>&1; then
	for page in rezone.1 rezone.3; do
		# -W warning: warnings and errors only (style notes such as a
		# not-yet-installed cross reference are not failures).
		mandoc -Tlint -W warning "$top/man/$page" >"$tmp/lint" 2>&1
		status=$?
		[ $status -eq 0 ] || cat "$tmp/lint"
		check "mandoc_lint_finds_no_warning_in_$page" [ $status -eq 0 ]
	done
else
	echo "SKIP: mandoc_lint (mandoc is not installed; scripts/setup.sh installs it)"
	skipped=$((skipped + 1))
fi

# NAME DEFAULT, one per line, sorted.
sed -n 's/^[[:space:]]*{ "\(REZONE_[A-Z_]*\)", OPT_[A-Z]*, "\([^"]*\)".*/\1 \2/p' \
	"$top/src/engine/options.c" | sort >"$tmp/code"
sed -n 's/^| `\(REZONE_[A-Z_]*\)` | `\([^`]*\)` |.*/\1 \2/p' "$top/README.md" | sort >"$tmp/readme"
sed -n 's/^\.It Ev \(REZONE_[A-Z_]*\) Pq default: Li \([^ ]*\).*/\1 \2/p' \
	"$top/man/rezone.3" | sort >"$tmp/manual"
check options_table_is_found_in_options_c [ "$(wc -l <"$tmp/code")" -ge 9 ]
diff -u "$tmp/code" "$tmp/readme" || true
check readme_lists_the_options_and_defaults_of_options_c cmp -s "$tmp/code" "$tmp/readme"
diff -u "$tmp/code" "$tmp/manual" || true
check rezone_3_lists_the_options_and_defaults_of_options_c cmp -s "$tmp/code" "$tmp/manual"

missing=""
for f in $(sed -n '/global:/,/local:/p' "$top/src/frontend/rezone.map" |
    grep -v 'global:\|local:' | tr ';' '\n' | tr -d ' \t'); do
	[ -n "$f" ] || continue
	grep -q "^\.\(Fn\|It Fn\) $f\( \|$\)" "$top/man/rezone.3" ||
		grep -q "^\.It Fn .*Fn $f\( \|$\)" "$top/man/rezone.3" || missing="$missing $f"
done
[ -z "$missing" ] || echo "not in rezone.3:$missing"
check rezone_3_documents_every_exported_function [ -z "$missing" ]

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
