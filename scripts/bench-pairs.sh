#!/bin/sh
# bench-pairs.sh - paired timing of one bench program under two allocators:
# runs A B A B ... (the order inside a pair alternates), and prints the
# median of the per-pair ratios B/A for CPU time (user+sys) and wall time,
# with the lowest and highest ratio. For small differences (issue 9: rezone
# within 2% of jemalloc alone), where a median of each side would drift
# with the machine's load.
#   scripts/bench-pairs.sh [-n PAIRS] LIB_A LIB_B PROGRAM [ARGS...]
# LIB_A or LIB_B may be "none" (the C library's allocator). POSIX sh, awk.
set -eu

pairs=9
if [ "${1:-}" = -n ]; then
	pairs=$2
	shift 2
fi
[ $# -ge 3 ] || { echo "usage: $0 [-n PAIRS] LIB_A LIB_B PROGRAM [ARGS...]" >&2; exit 2; }
lib_a=$1 lib_b=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One run: "cpu_seconds wall_seconds" on stdout.
run_one() {
	if [ "$1" = none ]; then pre=; else pre=$1; fi
	shift
	start=$(date +%s.%N)
	# times of the child: user and system of the shell's children.
	env ${pre:+LD_PRELOAD=$pre} sh -c '"$@" >/dev/null; times' sh "$@" >"$tmp/t" 2>&1
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" 'NR == 2 {
		split($1, u, /[ms]/); split($2, y, /[ms]/)
		printf "%.4f %.4f\n", u[1] * 60 + u[2] + y[1] * 60 + y[2], e - s }' "$tmp/t"
}

i=0
while [ $i -lt "$pairs" ]; do
	if [ $((i % 2)) -eq 0 ]; then
		a=$(run_one "$lib_a" "$@"); b=$(run_one "$lib_b" "$@")
	else
		b=$(run_one "$lib_b" "$@"); a=$(run_one "$lib_a" "$@")
	fi
	echo "$a $b" >>"$tmp/pairs"
	i=$((i + 1))
done
awk '{ cpu[NR] = $3 / $1; wall[NR] = $4 / $2 }
function med(x, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) {
		t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
	return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
}
END {
	n = NR
	c = med(cpu, n); clo = cpu[1]; chi = cpu[n]
	w = med(wall, n); wlo = wall[1]; whi = wall[n]
	printf "pairs=%d cpu_ratio=%.3f [%.3f..%.3f] wall_ratio=%.3f [%.3f..%.3f] (B/A)\n",
	    n, c, clo, chi, w, wlo, whi
}' "$tmp/pairs"
