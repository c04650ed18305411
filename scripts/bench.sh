#!/bin/sh
# bench.sh - runs the bench/ workloads under several allocators and compares
# them: median and spread of realloc and wall time, peak RSS and page faults,
# with ratios against the system allocator and jemalloc.
#
# Each allocator but `system` is brought in with LD_PRELOAD; the workloads
# never link one. Repetitions are interleaved (rep 1: every workload under
# every allocator, then rep 2, ...) so that drift in the machine's state lands
# on all allocators alike rather than on whichever ran last.
#
# POSIX sh and awk only; needs a C compiler only when the build directory has
# no bench programs (then they are compiled into the output directory).
# Run `scripts/bench.sh --help` for the options.
#
# Globbing is off: lists are space-separated words split on purpose
# (SC2046, SC2086); per-allocator variables are set through eval (SC2154).
# shellcheck disable=SC2046,SC2086,SC2154
set -euf

me=bench.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { say "$*"; exit 2; }

usage() {
	cat <<EOF
usage: $me [options]
Runs the rezone benchmarks under several allocators and compares them.
  --quick             small sizes and 2 repetitions (seconds; for CI)
  --reps N            repetitions (default 5, 2 with --quick)
  --workloads LIST    comma-separated (default $all_workloads)
  --allocators LIST   comma-separated (default $default_allocators;
                      also known: $extra_allocators)
  --builddir DIR      build directory holding .libs/librezone.so and
                      bench/ programs (default: .)
  --lib PATH          rezone library (default: \$REZONE_LIB, else
                      DIR/.libs/librezone.so)
  --out DIR           results directory (default: bench-results)
  --timeout S         kill a run after S seconds (default 600)
  --no-install        do not apt-get install a missing allocator package
Writes DIR/results.csv (one row per run) and DIR/summary.csv; logs in DIR/logs.
An allocator that is not installed or not built is skipped, not an error.
Exit status: 0, 1 if any run failed (corruption, crash, timeout), 2 on misuse.
EOF
}

all_workloads=grow1,grow8,touch,smallchurn
default_allocators=system,rezone,jemalloc
# Not in the default set: mimalloc takes about 90 s per 1 GiB growth run.
extra_allocators=mimalloc,tcmalloc

# Arguments of each workload, full and --quick. Adding a workload: one
# bench/NAME.c, one line in each case below, one program in Makefile.inc.
workload_args() {
	case $1:$quick in
	grow1:0) echo "start=64K end=1G step=1M" ;;
	grow1:1) echo "start=64K end=32M step=1M" ;;
	grow8:0) echo "bufs=8 start=64K total=1G step=1M" ;;
	grow8:1) echo "bufs=8 start=64K total=32M step=1M" ;;
	touch:0) echo "size=1G chunk=1M" ;;
	touch:1) echo "size=32M chunk=1M" ;;
	smallchurn:0) echo "ops=10M slots=4096 min=16 max=1024 threads=1" ;;
	smallchurn:1) echo "ops=1M slots=4096 min=16 max=1024 threads=1" ;;
	*) return 1 ;;
	esac
}

# Shared library and Debian package of each preloaded allocator.
allocator_soname() {
	case $1 in
	jemalloc) echo "libjemalloc.so.2 libjemalloc2" ;;
	mimalloc) echo "libmimalloc.so.2 libmimalloc2.0" ;;
	tcmalloc) echo "libtcmalloc_minimal.so.4 libtcmalloc-minimal4" ;;
	*) return 1 ;;
	esac
}

quick=0 reps='' workloads=$all_workloads allocators=$default_allocators
builddir=. lib=${REZONE_LIB:-} out=bench-results timeout=600 install=1
while [ $# -gt 0 ]; do
	opt=$1 val=
	case $opt in
	--*=*) val=${opt#*=} opt=${opt%%=*} ;;
	--reps | --workloads | --allocators | --builddir | --lib | --out | --timeout)
		[ $# -ge 2 ] || die "$opt needs a value"
		val=$2; shift ;;
	esac
	case $opt in
	--quick) quick=1 ;;
	--reps) reps=$val ;;
	--workloads) workloads=$val ;;
	--allocators) allocators=$val ;;
	--builddir) builddir=$val ;;
	--lib) lib=$val ;;
	--out) out=$val ;;
	--timeout) timeout=$val ;;
	--no-install) install=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[ -n "$reps" ] || { [ $quick = 1 ] && reps=2 || reps=5; }
case $reps in '' | *[!0-9]* | 0) die "--reps needs a positive number" ;; esac
case $timeout in '' | *[!0-9]*) die "--timeout needs a number of seconds" ;; esac
workloads=$(echo "$workloads" | tr ',' ' ')
allocators=$(echo "$allocators" | tr ',' ' ')
for w in $workloads; do
	workload_args "$w" >/dev/null || die "unknown workload: $w (known: $all_workloads)"
done
for a in $allocators; do
	case $a in system | rezone) ;; *) allocator_soname "$a" >/dev/null ||
		die "unknown allocator: $a (known: $default_allocators,$extra_allocators)" ;;
	esac
done

srcdir=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
[ -d "$builddir" ] || die "no build directory $builddir"
builddir=$(CDPATH='' cd -- "$builddir" && pwd)
[ -n "$lib" ] || lib=$builddir/.libs/librezone.so
case $lib in /*) ;; *) lib=$(pwd)/$lib ;; esac
mkdir -p "$out/logs"
out=$(CDPATH='' cd -- "$out" && pwd)
# Logs of an earlier run must not pass for this one's (the stats summary).
find "$out/logs" -type f -name '*.err' -exec rm -f {} +

# ---- programs ---------------------------------------------------------------
# Prints the path of bench program $1: the build's, or one compiled here
# from the sources beside this script when there is no build.
bench_bin() {
	if [ -x "$builddir/bench/$1" ]; then
		echo "$builddir/bench/$1"
		return 0
	fi
	bb_bin=$out/bin/$1
	if [ ! -x "$bb_bin" ] || [ -n "$(find "$srcdir/bench/$1.c" \
		"$srcdir/bench/bench.h" -newer "$bb_bin" 2>/dev/null)" ]; then
		mkdir -p "$out/bin"
		say "compiling $1 (no $builddir/bench/$1)"
		${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -pthread -o "$bb_bin" \
			"$srcdir/bench/$1.c" -ldl >&2 || return 1
	fi
	echo "$bb_bin"
}

measure=$(bench_bin measure) || die "cannot build bench/measure"
for w in $workloads; do
	bench_bin "$w" >/dev/null || die "cannot build bench/$w"
done

# ---- allocators -------------------------------------------------------------
# Finds the shared library $1 (a soname), or prints nothing.
find_so() {
	for fs_dir in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu \
		/usr/lib/"$(uname -m)"-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
		if [ -f "$fs_dir/$1" ]; then echo "$fs_dir/$1"; return 0; fi
	done
	ldconfig -p 2>/dev/null | awk -v so="$1" '$1 == so { print $NF; exit }'
}

# The project's machines are rebuilt from scratch, so the script installs
# the peers it compares with rather than silently skipping them.
install_pkg() {
	[ $install = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
	say "installing $1 with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "$1" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "$1" >&2; }
}

# Sets al_lib (empty for system) or al_why (why it is skipped).
resolve_allocator() {
	al_lib='' al_why=''
	case $1 in
	system) return 0 ;;
	rezone)
		[ -f "$lib" ] || al_why="$lib not found (build rezone, or pass --lib)"
		al_lib=$lib
		return 0 ;;
	esac
	set -- $(allocator_soname "$1")
	al_lib=$(find_so "$1")
	if [ -z "$al_lib" ] && install_pkg "$2"; then
		al_lib=$(find_so "$1")
	fi
	[ -n "$al_lib" ] || al_why="$1 not found (Debian package $2)"
}

# Runs the smallest workload once: the allocator must load, and malloc must
# really come from it (ld.so only warns when a preload fails, and the run
# would then measure the system allocator under another name).
probe_malloc() {
	pm_out=$("$measure" -t 60 ${1:+-e "LD_PRELOAD=$1"} "$(bench_bin touch)" \
		size=64K chunk=64K 2>"$out/logs/probe.err") || return 1
	grep -q 'cannot be preloaded' "$out/logs/probe.err" && return 1
	echo "$pm_out" | tr ' ' '\n' | sed -n 's/^malloc=//p'
}

# One line naming what ran: version, and the library preloaded.
allocator_describe() {
	eval "ad_lib=\${lib_$1}"
	case $1 in
	system) echo "system: $(getconf GNU_LIBC_VERSION 2>/dev/null || echo 'C library'), no preload" ;;
	rezone) echo "rezone: $ad_lib" ;;
	*)
		set -- "$1" $(allocator_soname "$1")
		ad_ver=$(dpkg-query -W -f '${Version}' "$3" 2>/dev/null) || ad_ver=''
		echo "$1: ${ad_ver:+$3 $ad_ver, }$ad_lib" ;;
	esac
}

active='' skipped='' nact=0
for a in $allocators; do
	resolve_allocator "$a"
	if [ -z "$al_why" ]; then
		origin=$(probe_malloc "$al_lib") || origin=
		if [ -z "$origin" ] || { [ -n "$al_lib" ] && [ "$origin" != "${al_lib##*/}" ]; }; then
			al_why="LD_PRELOAD of $al_lib does not take over malloc (${origin:-probe failed})"
		fi
	fi
	if [ -n "$al_why" ]; then
		say "skipping $a: $al_why"
		skipped="$skipped$a: $al_why
"
		continue
	fi
	active="$active $a"
	nact=$((nact + 1))
	eval "lib_$a=\$al_lib origin_$a=\$origin"
done
[ -n "$active" ] || die "no allocator available"

# ---- runs -------------------------------------------------------------------
csv=$out/results.csv
echo "rep,workload,allocator,status,realloc_ns,realloc_max_ns,wall_ns,ns_per_op,reallocs,moves,bytes,maxrss_kb,minflt,majflt,utime_us,stime_us,elapsed_ns,malloc,args" >"$csv"
{
	echo "date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
	echo "host: $(uname -srm), $(nproc 2>/dev/null || echo '?') cpus"
	echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo '?')"
	echo "overcommit_memory: $(cat /proc/sys/vm/overcommit_memory 2>/dev/null || echo '?')"
	echo "mode: $([ $quick = 1 ] && echo quick || echo full), $reps reps"
	for a in $active; do echo "allocator $(allocator_describe "$a")"; done
	printf '%s' "$skipped" | sed 's/^/skipped /'
} >"$out/env.txt"

# Number formatting shared by the awk programs below.
awk_lib='
function fmt_ns(x) {
	if (x == "") return "-"
	x += 0
	if (x >= 1e9) return fmt3(x / 1e9) " s"
	if (x >= 1e6) return fmt3(x / 1e6) " ms"
	if (x >= 1e3) return fmt3(x / 1e3) " us"
	return fmt3(x) " ns"
}
function fmt3(v) { return sprintf(v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v) }
function fmt_kb(x) {
	if (x == "") return "-"
	x += 0
	return x >= 1048576 ? fmt3(x / 1048576) " GiB" : fmt3(x / 1024) " MiB"
}
function fmt_count(x) {
	if (x == "") return "-"
	x += 0
	return x >= 1e6 ? fmt3(x / 1e6) "M" : x >= 1e3 ? fmt3(x / 1e3) "k" : sprintf("%.0f", x)
}
function fmt_ratio(r) { return sprintf(r >= 100 ? "%.0f" : r >= 10 ? "%.1f" : "%.2f", r) }
'

total=$(( reps * nact * $(echo "$workloads" | wc -w) ))
done_runs=0 failed=0
rep=1
while [ $rep -le "$reps" ]; do
	# Rotate the allocator order each repetition, so none always runs
	# right after the same neighbour (page cache, freed memory, heat).
	order='' i=0
	for a in $active; do order="$order $a"; done
	while [ $i -lt $(( (rep - 1) % nact )) ]; do
		set -- $order; first=$1; shift; order="$* $first"; i=$((i + 1))
	done
	for w in $workloads; do
		args=$(workload_args "$w")
		bin=$(bench_bin "$w")
		if [ $rep = 1 ]; then
			# Warm-up, not recorded: the first touch of memory the
			# machine has not used lately is much slower (seen
			# here: the same 1 GiB touch took 0.6 s or 1.6 s).
			"$measure" -t "$timeout" "$bin" $args >/dev/null 2>&1 || true
		fi
		for a in $order; do
			done_runs=$((done_runs + 1))
			eval "a_lib=\${lib_$a} a_origin=\${origin_$a}"
			log=$out/logs/$w.$a.$rep.err
			# REZONE_STATS=1 on the first repetition only: the
			# summary is printed at exit, outside the timed region.
			set -- -t "$timeout"
			[ -z "$a_lib" ] || set -- "$@" -e "LD_PRELOAD=$a_lib"
			[ "$a" != rezone ] || [ $rep != 1 ] || set -- "$@" -e REZONE_STATS=1
			printf '%s: [%d/%d] rep %d/%d %s on %s ... ' "$me" "$done_runs" "$total" \
				"$rep" "$reps" "$w" "$a" >&2
			res=$("$measure" "$@" "$bin" $args 2>"$log") || true
			row=$(echo $res | awk -v rep="$rep" -v w="$w" -v a="$a" -v args="$args" \
				-v expect="$a_origin" "$awk_lib"'
			{
				for (i = 1; i <= NF; i++) {
					k = $i; sub(/=.*/, "", k)
					v = $i; sub(/^[^=]*=/, "", v)
					kv[k] = v
				}
			}
			END {
				s = kv["status"]
				if (s == "") s = "measure-failed"
				else if (s == "exit:0" && kv["workload"] != w) s = "no-result"
				else if (s == "exit:0" && kv["malloc"] != expect) s = "wrong-malloc"
				else if (s == "exit:0") s = "ok"
				else if (s == "exit:3") s = "nomem"
				else if (s == "exit:4") s = "corrupt"
				n = split("realloc_ns realloc_max_ns wall_ns ns_per_op reallocs moves bytes maxrss_kb minflt majflt utime_us stime_us elapsed_ns malloc", col, " ")
				line = rep "," w "," a "," s
				for (i = 1; i <= n; i++) line = line "," kv[col[i]]
				print line ",\"" args "\""
				msg = s
				if (s == "ok") {
					msg = ""
					if (kv["realloc_ns"] != "") msg = "realloc " fmt_ns(kv["realloc_ns"]) ", "
					if (kv["ns_per_op"] != "") msg = msg kv["ns_per_op"] " ns/op, "
					msg = msg "wall " fmt_ns(kv["wall_ns"]) ", rss " fmt_kb(kv["maxrss_kb"])
				}
				print msg > "/dev/stderr"
			}')
			echo "$row" >>"$csv"
			case $row in
			*,ok,*) ;;
			*)
				failed=$((failed + 1))
				say "$w on $a failed; $log ends with:"
				tail -n 5 "$log" | sed 's/^/    /' >&2 ;;
			esac
		done
	done
	rep=$((rep + 1))
done

# ---- summary ----------------------------------------------------------------
# Medians and ranges of the successful runs, a table per workload, ratios
# against system and jemalloc, and the growth workloads against the touch
# floor (same bytes written, no allocator at all).
awk -F, -v workloads="$workloads" -v allocators="$active" -v reps="$reps" \
	-v summary="$out/summary.csv" "$awk_lib"'
function stat(key, m,    n, i, j, t, v) {
	n = split(vals[key, m], v, " ")
	if (n == 0) return 0
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	smin = v[1]; smax = v[n]
	smed = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	return n
}
function cell(key, m) {
	if (!stat(key, m)) return "-"
	return fmt_ns(smed) " [" fmt_ns(smin) " - " fmt_ns(smax) "]"
}
function ratio_line(w, m, label,    na, al, i, a, b, k, s, r, sep) {
	na = split(allocators, al, " ")
	for (i = 1; i <= na; i++) {
		a = al[i]
		if (a == "system" || !stat(w SUBSEP a, m) || smed <= 0) continue
		mine = smed; s = ""; sep = ""
		for (k = 1; k <= 2; k++) {
			b = k == 1 ? "system" : "jemalloc"
			if (b == a || !stat(w SUBSEP b, m)) continue
			r = smed / mine
			s = s sep (r >= 1 ? fmt_ratio(r) "x less than " : fmt_ratio(1 / r) "x more than ") b
			sep = ", "
		}
		if (s != "") printf "  %s: %s is %s\n", label, a, s
	}
}
# Medians of an even count are halves: keep them from turning into 1.2e+07.
BEGIN { CONVFMT = "%.1f"; OFMT = "%.1f" }
NR > 1 && $4 == "ok" {
	key = $2 SUBSEP $3
	for (i = 5; i <= 17; i++)
		if ($i != "") vals[key, i] = vals[key, i] " " $i
	args[$2] = $19; gsub(/"/, "", args[$2])
	bytes[$2] = $11
}
END {
	print "workload,allocator,metric,runs,median,min,max" > summary
	split("realloc_ns realloc_max_ns wall_ns ns_per_op reallocs moves bytes maxrss_kb minflt majflt utime_us stime_us elapsed_ns", names, " ")
	nw = split(workloads, wl, " "); na = split(allocators, al, " ")
	floor = 0
	for (j = 1; j <= na; j++)
		if (stat("touch" SUBSEP al[j], 7)) { floor_vals = floor_vals " " vals["touch", al[j], 7] }
	if (floor_vals != "") { vals["floor", 7] = floor_vals; stat("floor", 7); floor = smed }
	for (i = 1; i <= nw; i++) {
		w = wl[i]
		# The first column is time per op for churn workloads, else realloc time.
		per_op = 0
		for (j = 1; j <= na; j++) if (stat(w SUBSEP al[j], 8)) per_op = 1
		printf "\n%s  %s  (reps: %d; median [min - max])\n", w, args[w], reps
		printf "  %-10s %-32s %-32s %-10s %s\n", "allocator", \
			per_op ? "time per op" : "realloc time", "wall time", "peak RSS", "minor faults"
		for (j = 1; j <= na; j++) {
			a = al[j]; key = w SUBSEP a
			if (!stat(key, 7)) { printf "  %-10s no successful run\n", a; continue }
			first = per_op ? cell(key, 8) : cell(key, 5)
			stat(key, 12); rss = fmt_kb(smed)
			stat(key, 13); flt = fmt_count(smed)
			printf "  %-10s %-32s %-32s %-10s %s\n", a, first, cell(key, 7), rss, flt
			for (m = 5; m <= 17; m++)
				if (n = stat(key, m))
					printf "%s,%s,%s,%d,%s,%s,%s\n", w, a, names[m - 4], n, smed, smin, smax > summary
		}
		ratio_line(w, 5, "realloc time")
		ratio_line(w, 8, "time per op")
		if (w != "touch") ratio_line(w, 7, "wall time")
		if (w != "touch" && floor > 0 && bytes[w] == bytes["touch"]) {
			s = ""
			for (j = 1; j <= na; j++)
				if (stat(w SUBSEP al[j], 7))
					s = s sprintf("%s%s %sx", s == "" ? "" : ", ", al[j], fmt_ratio(smed / floor))
			printf "  wall time against the touch floor (%s): %s\n", fmt_ns(floor), s
		}
	}
}' "$csv"

echo
for a in $active; do echo "allocator $(allocator_describe "$a")"; done
if [ -n "$skipped" ]; then
	printf '%s' "$skipped" | sed 's/^/skipped: /'
fi
# The library's exit summary ("rezone: NAME VALUE" lines), zero counters
# left out so the few that matter stand out; other lines are shown as they are.
for w in $workloads; do
	log=$out/logs/$w.rezone.1.err
	if [ ! -f "$log" ] || ! grep -q '^rezone:' "$log"; then continue; fi
	[ -n "${stats_title:-}" ] || { stats_title=1; printf '\nrezone stats (REZONE_STATS=1, rep 1; zero counters omitted):\n'; }
	grep '^rezone:' "$log" | awk -v w="$w" '
		NF == 3 && $3 ~ /^[0-9]+$/ { if ($3 != 0) kv = kv " " $2 "=" $3; next }
		{ other = other "\n    " $0 }
		END { printf "  %-10s%s%s\n", w, kv == "" ? " (all zero)" : kv, other }'
done
printf '\nresults: %s (summary.csv, env.txt and logs/ beside it)\n' "$csv"
if [ $failed -gt 0 ]; then
	say "$failed run(s) failed"
	exit 1
fi
