#!/bin/sh
# setup.sh - installs what building, testing and benchmarking rezone needs,
# from Debian's packages, when it is missing. Safe to run repeatedly.
set -eu

if [ "$(uname -s)" = Darwin ]; then
	# macOS (the CI workflow for real Macs): Homebrew has the tools.
	brew list autoconf automake libtool pkg-config criterion >/dev/null 2>&1 ||
		brew install autoconf automake libtool pkg-config criterion
	exit 0
fi

# mandoc lints the manual pages; debhelper, dpkg-dev, fakeroot and lintian
# build and check the Debian packages (scripts/deb-test.sh).
need="build-essential autoconf automake libtool pkg-config binutils
libjemalloc-dev libjemalloc2 libcriterion-dev mandoc
debhelper dpkg-dev fakeroot lintian"
# For the benchmark: the allocators it compares against, and plots; for the
# tests: php-cli (tests/integ/test-php.sh, skipped without); for CI:
# python3-yaml (lints the macOS workflow), llvm-14 (llvm-lipo joins the
# cross-built dylibs into a universal one).
want="libmimalloc2.0 libtcmalloc-minimal4 gnuplot-nox perl python3 tcl sqlite3 git lua5.4 ruby
clang libclang-rt-14-dev php-cli
python3-yaml llvm-14"

missing=""
for p in $need $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing$missing" >&2
$SUDO apt-get update -qq
# The wanted extras may be missing on other releases; the needed ones may not.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
for p in $want; do
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$p" >/dev/null 2>&1 ||
		echo "setup: optional package $p unavailable (skipped)" >&2
done
