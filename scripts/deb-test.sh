#!/bin/sh
# deb-test.sh - builds the Debian packages from debian/ and tries them as a
# user would, without installing anything on this machine:
#   1. dpkg-buildpackage -us -uc -b on a copy of the tree (tests skipped:
#      make check has run them), then lintian, which must report no error;
#   2. dpkg -x of librezone1, librezone-dev and rezone into a scratch root;
#   3. a program compiled against the installed -dev package with
#      pkg-config (PKG_CONFIG_SYSROOT_DIR/PKG_CONFIG_PATH into the root)
#      runs and sees rezone's API and large blocks;
#   4. a program run through the installed wrapper gets rezone injected.
# Debian 12 with the build dependencies (scripts/setup.sh installs them).
# Usage: scripts/deb-test.sh [--keep]   (--keep: leave the work directory)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = --keep ] && keep=1
work=$(mktemp -d /tmp/rezone-deb.XXXXXX)
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT
say() { echo "deb-test: $*"; }
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }

# 1. The tree as git knows it (tracked and new files, not build products),
# in a directory named like a source package.
version=$(sed -n '1s/^rezone (\([^)]*\)).*/\1/p' "$here/debian/changelog")
src=$work/rezone-$version
mkdir -p "$src"
if git -C "$here" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$here" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -x -C "$src"
else
	# A release tarball: it holds only sources (and a configure that
	# dh_autoreconf regenerates).
	(cd "$here" && tar -cf - --exclude=./.libs --exclude='*.o' --exclude='*.lo' .) |
		tar -x -C "$src"
	rm -f "$src/Makefile" "$src/config.status" "$src/config.h"
fi
say "building in $src"
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc 2>/dev/null || echo 2)" \
	dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
	{ tail -40 "$work/build.log"; fail "dpkg-buildpackage failed (log: $work/build.log)"; }
changes=$(ls "$work"/rezone_*.changes)
for p in librezone1 librezone-dev rezone; do
	ls "$work/${p}_"*.deb >/dev/null 2>&1 || fail "no $p package"
done
say "built: $(cd "$work" && ls ./*.deb | tr '\n' ' ')"
lintian --fail-on error --tag-display-limit 0 "$changes" >"$work/lintian.log" 2>&1 ||
	{ cat "$work/lintian.log"; fail "lintian reports errors"; }
say "lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors, $(grep -c '^W:' "$work/lintian.log" || true) warnings"
grep -v 'running with root privileges' "$work/lintian.log" | sed 's/^/  /' || true

# 2. A scratch root.
root=$work/root
for p in librezone1 librezone-dev rezone; do dpkg -x "$work/${p}_$version"_*.deb "$root"; done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=$root/usr/lib/$multiarch
for f in "$libdir/librezone.so.1" "$libdir/librezone.so" "$libdir/pkgconfig/rezone.pc" \
    "$root/usr/include/rezone.h" "$root/usr/bin/rezone" \
    "$root/usr/share/man/man1/rezone.1.gz" "$root/usr/share/man/man3/rezone.3.gz"; do
	[ -e "$f" ] || fail "missing from the packages: ${f#"$root"}"
done
dpkg-deb -c "$work"/librezone1_*.deb | grep 'librezone.so.1' >/dev/null || fail "librezone1 lacks the library"

# 3. Compile and run against the installed -dev package.
cat >"$work/use.c" <<'PROGRAM'
#include <rezone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	struct rezone_stats s;
	size_t n = 1 << 20;
	char *p = malloc(n);

	for (; p && n < (64u << 20); n += 1 << 20) {
		p = realloc(p, n + (1 << 20));
		if (p)
			memset(p + n, 1, 1 << 20);
	}
	if (!p || rezone_stats(&s, sizeof(s)) != 0 || s.large_allocs == 0 ||
	    s.grow_reserved + s.grow_in_place + s.grow_moved + s.grow_copied == 0)
		return 1;
	printf("rezone %s: %llu large block(s), %llu growth(s) without a copy\n",
	       rezone_version(), (unsigned long long)s.large_allocs,
	       (unsigned long long)(s.grow_reserved + s.grow_in_place + s.grow_moved));
	free(p);
	return 0;
}
PROGRAM
export PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs rezone) || fail "pkg-config does not know rezone"
case "$flags" in *"$root"*) ;; *) fail "pkg-config flags do not point into the root: $flags" ;; esac
cc -o "$work/use" "$work/use.c" $flags || fail "cannot compile against librezone-dev ($flags)"
out=$(LD_LIBRARY_PATH=$libdir "$work/use") || fail "the linked program failed"
say "linked program: $out"
case "$out" in "rezone $version:"*) ;; *) fail "unexpected output: $out" ;; esac

# 4. The installed wrapper. Its library path is the system's, which is not
# where the root is, so REZONE_LIBRARY points into the root; the path it
# would use by default must name a file the runtime package ships.
grep -q "^libdir=.*/lib/$multiarch\"" "$root/usr/bin/rezone" ||
	fail "the wrapper's libdir is not /usr/lib/$multiarch"
grep -q 'librezone.so.1' "$root/usr/bin/rezone" || fail "the wrapper does not look for librezone.so.1"
out=$(REZONE_LIBRARY="$libdir/librezone.so.1" REZONE_STATS=1 "$root/usr/bin/rezone" run \
	perl -e '$s = "x" x (8 << 20); $s .= "y" x (8 << 20); print length($s), "\n"' 2>&1) ||
	fail "rezone run failed: $out"
echo "$out" | grep -q '^16777216$' || fail "wrong output through the wrapper: $out"
echo "$out" | grep -q '^rezone\[[0-9]*\] perl: large_allocs=[1-9]' ||
	fail "no rezone report from the program run through the wrapper: $out"
say "wrapper: $(echo "$out" | grep '^rezone\[' | cut -c1-60)..."
"$root/usr/bin/rezone" run nosuchprogram 2>/dev/null && fail "rezone run nosuchprogram succeeded"
say "all checks passed"
