#!/bin/sh
# build.sh - one command from a fresh clone to a result.
#   scripts/build.sh bench   install deps, build, run the benchmark (default workload)
#   scripts/build.sh check   install deps, build, run the whole test suite
#   scripts/build.sh         install deps and build only
# Extra arguments after the target go to the benchmark runner.
# Builds in the source tree; CONFIGURE_FLAGS adds configure options
# (e.g. --with-small=system).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
target=${1:-build}
[ $# -gt 0 ] && shift

sh scripts/setup.sh
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null
fi
[ -f Makefile ] || ./configure -q ${CONFIGURE_FLAGS:-}
jobs=$(nproc 2>/dev/null || echo 2)
make -s -j"$jobs"

case "$target" in
build) ;;
bench)
	make -s bench BENCH_FLAGS="$*" ;;
check)
	status=0
	make -s -j"$jobs" check || status=$?
	# Criterion's summaries (and any failure's log) into the console/CI log.
	for log in $(find tests -name '*.log' ! -name 'test-suite.log' | sort); do
		echo "== $log"
		if [ $status -ne 0 ]; then cat "$log"; else grep -E 'Synthesis|^(PASS|FAIL|SKIP|ERROR)|[0-9]+ passed' "$log" || true; fi
	done
	[ -f tests/test-suite.log ] && [ $status -ne 0 ] && cat tests/test-suite.log
	[ -f test-suite.log ] && grep -E '^# (TOTAL|PASS|FAIL|SKIP|XFAIL|ERROR)' test-suite.log || true
	exit $status ;;
*)
	echo "usage: scripts/build.sh [build|bench|check] [bench options]" >&2
	exit 2 ;;
esac
