#!/bin/sh
# run.sh SCENARIO [ARGS...] - runs rzstress with librezone.so preloaded,
# bounded by timeout(1) on top of rzstress's own watchdog, so a deadlock
# fails the test instead of hanging make check. Called by the run-*.sh
# wrappers (one per make check test, so each has its own .log); run from
# the top build directory, as make check does.
#   REZONE_LIB      library to preload (default: .libs/librezone.so)
#   REZONE_STRESS   the rzstress program (default: tests/stress/rzstress)
#   STRESS_TIMEOUT  seconds before timeout(1) kills it (default: 300)
set -u
lib=${REZONE_LIB:-$PWD/.libs/librezone.so}
prog=${REZONE_STRESS:-$PWD/tests/stress/rzstress}
if [ ! -f "$lib" ] || [ ! -x "$prog" ]; then
	echo "run.sh: missing $lib or $prog (run from the top build directory)" >&2
	exit 99
fi
limit=${STRESS_TIMEOUT:-300}
echo "run.sh: LD_PRELOAD=$lib $(env | grep '^REZONE_' | grep -v '^REZONE_LIB=\|^REZONE_PROBE=\|^REZONE_INTEG' | tr '\n' ' ')rzstress $*"
start=$(date +%s)
timeout -k 10 "$limit" env LD_PRELOAD="$lib" "$prog" "$@" -R -w "$((limit - 10))"
status=$?
echo "run.sh: exit $status after $(( $(date +%s) - start )) s"
[ $status -eq 124 ] && echo "run.sh: FAIL killed by timeout after $limit s (hang)" >&2
exit $status
