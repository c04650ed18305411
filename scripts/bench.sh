#!/bin/sh
# bench.sh - runs the bench/ workloads under several allocators and compares
# them: median and spread of the time inside the allocator, wall time, peak
# RSS and page faults, with ratios against the system allocator and
# jemalloc; writes CSV files, a Markdown table and plots (gnuplot).
# rezone's ratios to glibc and jemalloc are also taken pair by pair (same
# workload, same repetition, run next to each other), with their spread.
#
# Each allocator but `system` is injected with LD_PRELOAD (macOS:
# DYLD_INSERT_LIBRARIES); the workloads never link one. Repetitions are
# interleaved (rep 1: every workload under every allocator, then rep 2, ...)
# and the allocator order rotates, so that drift in the machine's state
# lands on all allocators alike rather than on whichever ran last.
#
# POSIX sh and awk (plus cksum and, for plots, gnuplot); needs a C compiler
# only when the build directory has no bench programs (then they are
# compiled into the output directory). See bench/README.md, or run
# `scripts/bench.sh --help` for the options.
#
# Globbing is off: lists are space-separated words split on purpose
# (SC2046, SC2086); per-allocator variables are set through eval (SC2154).
# shellcheck disable=SC2046,SC2086,SC2154
set -euf

me=bench.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { say "$*"; exit 2; }

growth_workloads='grow1 growdouble grow8 growshrink growmany'
churn_workloads='largechurn smallchurn smallchurn2 smallchurn4'
scale_workloads='vector64k vector1m vector4m vector64m lchurn1 lchurn2 lchurn4 lrealloc1 lrealloc2 lrealloc4 alignedfree'
real_workloads='perl python tcl sqlite git lua ruby'
all_workloads="$growth_workloads $churn_workloads $scale_workloads $real_workloads touch"
default_allocators='system rezone jemalloc mimalloc tcmalloc'

usage() {
	cat <<EOF
usage: $me [options]
Runs the rezone benchmarks under several allocators and compares them.
  --quick             small sizes, 1 repetition, no caps (well under a minute;
                      for CI: checks completion and outputs, not timings)
  --reps N            repetitions (default 3; 1 with --quick)
  --workloads LIST    comma-separated names or groups (default: all)
                        growth: $growth_workloads
                        churn:  $churn_workloads
                        scale:  $scale_workloads
                        real:   $real_workloads
                        touch   (the page-fault floor, system only)
  --allocators LIST   comma-separated (default: $(echo $default_allocators | tr ' ' ,));
                      NAME=PATH adds a shared library as allocator NAME
  --args W:ARGS       run workload W with ARGS (key=value words; for real
                      programs the size: MiB, rows) under every allocator
  --no-caps           run the slow allocators at full size too (see below)
  --builddir DIR      build directory holding .libs/librezone.so and the
                      bench/ programs (default: ., else this script's tree)
  --lib PATH          rezone library (default: \$REZONE_LIB or
                      \$REZONE_LIBRARY, else DIR/.libs/librezone.so|.dylib)
  --out DIR           results directory (default: bench-results)
  --timeout S         kill a run after S seconds (default 300; 60 with --quick)
  --no-install        do not apt-get install a missing allocator or program
  --no-plot           do not run gnuplot
Caps: mimalloc copies the whole block on every growth (about 90 s for one
1 GiB growth by 1 MiB steps), so in a full run it grows to 128 MiB in grow1
and 256 MiB in total in grow8; capped cells are marked and not compared.
Writes DIR/results.csv (one row per run), summary.csv (medians), ratios.csv
(rezone against system and jemalloc, paired by repetition), traces.csv
(realloc time against block size), table.md, realloc.png and realloc.svg,
env.txt; each run's stderr and output in DIR/logs.
An allocator or program that is not installed is skipped, not an error.
Exit status: 0; 1 if any run failed (crash, corruption, output mismatch,
wrong allocator; a timeout too with --quick); 2 on misuse.
EOF
}

# ---- workloads ----------------------------------------------------------------
# Sets, for workload $1 under allocator $2 (empty: any):
#   wl_prog   bench program, or real program's command name
#   wl_kind   synth (a bench/ program), real (a Debian program), floor
#   wl_args   arguments (the size of the work, full or --quick)
#   wl_cap    non-empty when allocator $2 runs reduced arguments (why)
#   wl_metric what the overview compares: alloc (time inside realloc),
#             op (time per operation), wall
# Adding a workload: one case here, and (synthetic) one bench/NAME.c and a
# program in Makefile.inc, or (real) one case in real_command.
workload_def() {
	wl_kind=synth wl_cap='' wl_metric=alloc
	case $1 in
	grow1) wl_prog=grow1
		wl_args='start=64K end=1G step=1M' q='start=64K end=32M step=1M'
		[ "$2" != mimalloc ] || wl_cap='start=64K end=128M step=1M' ;;
	growdouble) wl_prog=grow1
		wl_args='start=64K end=1G factor=2' q='start=64K end=32M factor=2' ;;
	grow8) wl_prog=grow8
		wl_args='bufs=8 start=64K total=1G step=1M' q='bufs=8 start=64K total=32M step=1M'
		[ "$2" != mimalloc ] || wl_cap='bufs=8 start=64K total=256M step=1M' ;;
	growshrink) wl_prog=growshrink
		wl_args='start=64K max=32M step=1M cycles=8' q='start=64K max=8M step=1M cycles=2' ;;
	growmany) wl_prog=grow8
		wl_args='bufs=2048 start=16K total=1G step=16K' q='bufs=256 start=16K total=128M step=16K' ;;
	largechurn) wl_prog=largechurn wl_metric=op
		wl_args='ops=300 slots=20 min=5M max=25M' q='ops=20 slots=20 min=5M max=25M' ;;
	smallchurn) wl_prog=smallchurn wl_metric=op
		wl_args='ops=10M slots=4096 min=16 max=1024 threads=1' q='ops=200K slots=4096 min=16 max=1024 threads=1' ;;
	smallchurn2) wl_prog=smallchurn wl_metric=op
		wl_args='ops=10M slots=4096 min=16 max=1024 threads=2' q='ops=200K slots=4096 min=16 max=1024 threads=2' ;;
	smallchurn4) wl_prog=smallchurn wl_metric=op
		wl_args='ops=10M slots=4096 min=16 max=1024 threads=4' q='ops=200K slots=4096 min=16 max=1024 threads=4' ;;
	# Vectors that never reach the large threshold: growth from 4 KiB
	# on is the large engine's only if it takes them early.
	vector64k) wl_prog=vector wl_metric=op
		wl_args='rounds=100000 top=64K' q='rounds=1000 top=64K' ;;
	vector1m) wl_prog=vector wl_metric=op
		wl_args='rounds=3000 top=1M' q='rounds=50 top=1M' ;;
	vector4m) wl_prog=vector wl_metric=op
		wl_args='rounds=1000 top=4M' q='rounds=20 top=4M' ;;
	vector64m) wl_prog=vector wl_metric=op
		wl_args='rounds=30 top=64M' q='rounds=2 top=64M' ;;
	lchurn[124]) wl_prog=largechurn wl_metric=op
		wl_args="ops=40000 slots=8 min=256K max=4M threads=${1#lchurn}"
		q="ops=400 slots=8 min=256K max=4M threads=${1#lchurn}" ;;
	lrealloc[124]) wl_prog=largechurn wl_metric=op
		wl_args="ops=40000 slots=8 min=256K max=4M threads=${1#lrealloc} realloc=1"
		q="ops=400 slots=8 min=256K max=4M threads=${1#lrealloc} realloc=1" ;;
	alignedfree) wl_prog=alignedfree wl_metric=op
		wl_args='ops=200000 live=60000' q='ops=20000 live=2000' ;;
	touch) wl_prog=touch wl_kind=floor wl_metric=wall
		wl_args='size=1G chunk=1M' q='size=32M chunk=1M' ;;
	perl) wl_prog=perl wl_kind=real wl_metric=wall wl_args=256 q=16 ;;
	python) wl_prog=python3 wl_kind=real wl_metric=wall wl_args=256 q=16 ;;
	tcl) wl_prog=tclsh wl_kind=real wl_metric=wall wl_args=256 q=16 ;;
	sqlite) wl_prog=sqlite3 wl_kind=real wl_metric=wall wl_args=300000 q=20000 ;;
	git) wl_prog=git wl_kind=real wl_metric=wall wl_args=128 q=8 ;;
	# lua's string and table together are twice its size argument: 128
	# takes about as long as perl's 256.
	lua) wl_prog=lua5.4 wl_kind=real wl_metric=wall wl_args=128 q=16 ;;
	ruby) wl_prog=ruby wl_kind=real wl_metric=wall wl_args=256 q=16 ;;
	*) return 1 ;;
	esac
	[ $quick = 0 ] || wl_args=$q
	[ $quick = 0 ] && [ $caps = 1 ] || wl_cap=''
	eval "wl_over=\${override_$1-}"
	if [ -n "$wl_over" ]; then wl_args=$wl_over wl_cap=''; fi
	if [ -n "$wl_cap" ]; then wl_args=$wl_cap wl_cap="capped: $wl_cap"; fi
	return 0
}

# Debian package of each real program (to install or name when missing).
real_package() {
	case $1 in
	perl) echo perl ;; python) echo python3 ;; tcl) echo tcl ;;
	sqlite) echo sqlite3 ;; git) echo git ;;
	lua) echo lua5.4 ;; ruby) echo ruby ;;
	esac
}

# Sets rc_cmd (the command line, words), rc_in (a file fed through a pipe
# to its standard input, or empty) and rc_show (the short form for tables)
# of real workload $1 at size $2; creates the input files it needs.
real_command() {
	eval "rc_path=\${prog_$1}"
	rc_in=''
	case $1 in
	perl) rc_cmd="$rc_path $srcdir/bench/real/strcat.pl $2" rc_show="perl strcat.pl $2" ;;
	python) rc_cmd="$rc_path $srcdir/bench/real/bytearray.py $2" rc_show="python3 bytearray.py $2" ;;
	tcl) rc_cmd="$rc_path $srcdir/bench/real/append.tcl $2" rc_show="tclsh append.tcl $2" ;;
	lua) rc_cmd="$rc_path $srcdir/bench/real/concat.lua $2" rc_show="lua5.4 concat.lua $2" ;;
	ruby) rc_cmd="$rc_path $srcdir/bench/real/append.rb $2" rc_show="ruby append.rb $2" ;;
	sqlite)
		rc_in=$out/inputs/build-$2.sql
		[ -f "$rc_in" ] || sed "s/@ROWS@/$2/g" "$srcdir/bench/real/build.sql" >"$rc_in"
		rc_cmd="$rc_path :memory:" rc_show="sqlite3 :memory: < build.sql ($2 rows)" ;;
	git)
		# Through a pipe: git reads a pipe into a growing buffer
		# (strbuf, by realloc to 1.5 times), a regular file by mmap.
		rc_in=$out/inputs/text-${2}M.txt
		if [ ! -f "$rc_in" ]; then
			"$(bench_bin gentext)" size="${2}M" >"$rc_in.tmp" && mv "$rc_in.tmp" "$rc_in"
		fi
		rc_cmd="$rc_path hash-object --stdin" rc_show="git hash-object --stdin < ${2} MiB text" ;;
	esac
}

# ---- options --------------------------------------------------------------------
quick=0 reps='' workloads='' allocators=$default_allocators caps=1 plot=1
builddir='' lib=${REZONE_LIB:-${REZONE_LIBRARY:-}} out=bench-results timeout='' install=1
while [ $# -gt 0 ]; do
	opt=$1 val=
	case $opt in
	--*=*) val=${opt#*=} opt=${opt%%=*} ;;
	--reps | --workloads | --allocators | --args | --builddir | --lib | --out | --timeout)
		[ $# -ge 2 ] || die "$opt needs a value"
		val=$2; shift ;;
	esac
	case $opt in
	--quick) quick=1 ;;
	--reps) reps=$val ;;
	--workloads) workloads="$workloads $(echo "$val" | tr ',' ' ')" ;;
	--allocators) allocators=$(echo "$val" | tr ',' ' ') ;;
	--args)
		ov_w=${val%%:*}
		case $ov_w in '' | *[!a-z0-9]*) die "--args needs WORKLOAD:ARGS" ;; esac
		[ "$ov_w" != "$val" ] || die "--args needs WORKLOAD:ARGS"
		eval "override_$ov_w=\${val#*:}" ;;
	--no-caps) caps=0 ;;
	--builddir) builddir=$val ;;
	--lib) lib=$val ;;
	--out) out=$val ;;
	--timeout) timeout=$val ;;
	--no-install) install=0 ;;
	--no-plot) plot=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[ -n "$reps" ] || { [ $quick = 1 ] && reps=1 || reps=3; }
[ -n "$timeout" ] || { [ $quick = 1 ] && timeout=60 || timeout=300; }
case $reps in '' | *[!0-9]* | 0) die "--reps needs a positive number" ;; esac
case $timeout in '' | *[!0-9]*) die "--timeout needs a number of seconds" ;; esac
[ -n "$workloads" ] || workloads=all
wl_list=''
for w in $workloads; do
	case $w in
	all) wl_list="$wl_list $all_workloads" ;;
	growth) wl_list="$wl_list $growth_workloads" ;;
	churn) wl_list="$wl_list $churn_workloads" ;;
	scale) wl_list="$wl_list $scale_workloads" ;;
	real) wl_list="$wl_list $real_workloads" ;;
	*) workload_def "$w" '' || die "unknown workload: $w (known: $all_workloads)"
		wl_list="$wl_list $w" ;;
	esac
done
# Each workload once, in the order given.
workloads=$(for w in $wl_list; do echo "$w"; done | awk '!seen[$0]++' | tr '\n' ' ')

os=$(uname -s)
if [ "$os" = Darwin ]; then preload_var=DYLD_INSERT_LIBRARIES so_ext=dylib
else preload_var=LD_PRELOAD so_ext=so; fi
srcdir=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
# `rezone bench` runs this script without --builddir: use the current
# directory if it is a build, else the tree this script is in.
if [ -z "$builddir" ]; then
	builddir=.
	[ -d .libs ] || [ -x bench/measure ] || builddir=$srcdir
fi
[ -d "$builddir" ] || die "no build directory $builddir"
builddir=$(CDPATH='' cd -- "$builddir" && pwd)
[ -n "$lib" ] || lib=$builddir/.libs/librezone.$so_ext
case $lib in /*) ;; *) lib=$(pwd)/$lib ;; esac
mkdir -p "$out/logs" "$out/inputs"
out=$(CDPATH='' cd -- "$out" && pwd)
# Logs of an earlier run must not pass for this one's (the stats summary).
find "$out/logs" -type f -exec rm -f {} +

# ---- programs ---------------------------------------------------------------------
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
		# -ldl: dladdr on glibc before 2.34 (a no-op elsewhere).
		${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -pthread -o "$bb_bin" \
			"$srcdir/bench/$1.c" -ldl >&2 || return 1
	fi
	echo "$bb_bin"
}

measure=$(bench_bin measure) || die "cannot build bench/measure"
for w in $workloads; do
	workload_def "$w" ''
	[ $wl_kind = real ] || bench_bin "$wl_prog" >/dev/null || die "cannot build bench/$wl_prog"
done

# The project's machines are rebuilt from scratch, so the script installs
# the peers and programs it compares with rather than silently skipping them.
install_pkg() {
	[ $install = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
	say "installing $1 with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "$1" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "$1" >&2; }
}

# Real programs: the distribution's binary, not a shim in PATH (pyenv and
# the like exec another interpreter). On macOS the /usr/bin ones are
# platform binaries whose DYLD_* variables are stripped: use Homebrew's.
find_program() {
	# Homebrew's ruby is keg-only: not linked into bin/.
	if [ "$os" = Darwin ]; then fp_dirs='/opt/homebrew/bin /usr/local/bin
		/opt/homebrew/opt/ruby/bin /usr/local/opt/ruby/bin'
	else fp_dirs='/usr/bin /bin /usr/local/bin'; fi
	for fp_dir in $fp_dirs; do
		if [ -x "$fp_dir/$1" ]; then echo "$fp_dir/$1"; return 0; fi
	done
	return 1
}

skipped_wl='' active_wl=''
for w in $workloads; do
	workload_def "$w" ''
	if [ $wl_kind = real ]; then
		p=$(find_program "$wl_prog") || p=''
		if [ -z "$p" ] && [ "$os" != Darwin ] && install_pkg "$(real_package "$w")"; then
			p=$(find_program "$wl_prog") || p=''
		fi
		if [ -z "$p" ]; then
			why="$wl_prog not found ($([ "$os" = Darwin ] && echo "brew install" || echo "Debian package") $(real_package "$w"))"
			say "skipping workload $w: $why"
			skipped_wl="$skipped_wl$w: $why
"
			continue
		fi
		eval "prog_$w=\$p"
	fi
	active_wl="$active_wl $w"
done
[ -n "$active_wl" ] || die "no workload available"

# ---- allocators -------------------------------------------------------------------
# Finds the shared library $1 (a file name), or prints nothing.
find_so() {
	if [ "$os" = Darwin ]; then
		# Homebrew: /opt/homebrew on Apple silicon, /usr/local on Intel.
		fs_dirs='/opt/homebrew/lib /usr/local/lib /opt/homebrew/opt/jemalloc/lib
			/opt/homebrew/opt/mimalloc/lib /opt/homebrew/opt/gperftools/lib
			/usr/local/opt/jemalloc/lib /usr/local/opt/mimalloc/lib
			/usr/local/opt/gperftools/lib'
	else
		fs_dirs="/usr/lib/$(uname -m)-linux-gnu /lib/$(uname -m)-linux-gnu
			/usr/lib64 /usr/lib /usr/local/lib"
	fi
	for fs_dir in $fs_dirs; do
		if [ -f "$fs_dir/$1" ]; then echo "$fs_dir/$1"; return 0; fi
	done
	[ "$os" = Darwin ] || ldconfig -p 2>/dev/null | awk -v so="$1" '$1 == so { print $NF; exit }'
}

# Library file names and package of each known peer: Debian (soname,
# package) or Homebrew (dylib names, formula).
allocator_soname() {
	case $os:$1 in
	Darwin:jemalloc) echo "libjemalloc.2.dylib libjemalloc.dylib jemalloc" ;;
	Darwin:mimalloc) echo "libmimalloc.2.dylib libmimalloc.dylib mimalloc" ;;
	Darwin:tcmalloc) echo "libtcmalloc_minimal.4.dylib libtcmalloc_minimal.dylib gperftools" ;;
	*:jemalloc) echo "libjemalloc.so.2 libjemalloc2" ;;
	*:mimalloc) echo "libmimalloc.so.2 libmimalloc2.0" ;;
	*:tcmalloc) echo "libtcmalloc_minimal.so.4 libtcmalloc-minimal4" ;;
	*) return 1 ;;
	esac
}

# Sets al_lib (empty for system) or al_why (why it is skipped).
resolve_allocator() {
	al_lib='' al_why='' ra_name=$1
	case $1 in
	system) return 0 ;;
	rezone)
		[ -f "$lib" ] || al_why="$lib not found (build rezone, or pass --lib)"
		al_lib=$lib
		return 0 ;;
	*=*)
		al_lib=${1#*=}
		case $al_lib in /*) ;; *) al_lib=$(pwd)/$al_lib ;; esac
		[ -f "$al_lib" ] || al_why="$al_lib not found"
		return 0 ;;
	esac
	set -- $(allocator_soname "$1")
	while [ $# -gt 1 ] && [ -z "$al_lib" ]; do
		al_lib=$(find_so "$1")
		shift
	done
	if [ -z "$al_lib" ] && [ "$os" != Darwin ] && install_pkg "$1"; then
		al_lib=$(find_so "$(allocator_soname "$ra_name" | cut -d' ' -f1)")
	fi
	if [ -z "$al_lib" ]; then
		if [ "$os" = Darwin ]; then al_why="not found (brew install $1)"
		else al_why="not found (Debian package $1)"; fi
	fi
}

# Runs the smallest workload once: the allocator must load, and malloc must
# really come from it (ld.so only warns when a preload fails, and the run
# would then measure the system allocator under another name). Prints who
# serves malloc (see bench_malloc_origin in bench/bench.h).
probe_malloc() {
	pm_out=$("$measure" -t 60 ${1:+-e "$preload_var=$1"} "$(bench_bin touch)" \
		size=64K chunk=64K 2>"$out/logs/probe.err") || return 1
	grep -q 'cannot be preloaded' "$out/logs/probe.err" && return 1
	echo "$pm_out" | tr ' ' '\n' | sed -n 's/^malloc=//p'
}

# One line naming what ran: version, and the library preloaded.
allocator_describe() {
	eval "ad_lib=\${lib_$1}"
	case $1 in
	system)
		if [ "$os" = Darwin ]; then echo "system: libmalloc (macOS $(sw_vers -productVersion 2>/dev/null)), no preload"
		else echo "system: $(getconf GNU_LIBC_VERSION 2>/dev/null || echo 'C library'), no preload"; fi ;;
	rezone) echo "rezone: $ad_lib" ;;
	*)
		ad_pkg=$(allocator_soname "$1" 2>/dev/null | awk '{ print $NF }') || ad_pkg=''
		ad_ver=''
		[ -z "$ad_pkg" ] || ad_ver=$(dpkg-query -W -f '${Version}' "$ad_pkg" 2>/dev/null) || ad_ver=''
		echo "$1: ${ad_ver:+$ad_pkg $ad_ver, }$ad_lib" ;;
	esac
}

sys_origin=$(probe_malloc '') || die "the bench programs do not run (see $out/logs/probe.err)"
active='' skipped='' nact=0
for spec in $allocators; do
	a=${spec%%=*}
	case $a in '' | *[!a-z0-9_]*) die "allocator names are [a-z0-9_]: $a" ;; esac
	case $spec in
	system | rezone | *=*) ;;
	*) allocator_soname "$a" >/dev/null ||
		die "unknown allocator: $a (known: $(echo $default_allocators | tr ' ' ,); or NAME=PATH)" ;;
	esac
	resolve_allocator "$spec"
	origin=$sys_origin
	if [ -z "$al_why" ] && [ -n "$al_lib" ]; then
		origin=$(probe_malloc "$al_lib") || origin=
		# Linux: malloc must resolve into the preloaded library. macOS:
		# zone 0 (the zone malloc() reaches; bench.h names it) must have
		# changed, and be rezone's own zone for rezone.
		if [ -z "$origin" ] || { [ "$os" != Darwin ] && [ "$origin" != "${al_lib##*/}" ]; } ||
			{ [ "$os" = Darwin ] && [ "$origin" = "$sys_origin" ]; } ||
			{ [ "$os" = Darwin ] && [ "$a" = rezone ] && [ "$origin" != rezone ]; }; then
			al_why="$preload_var=$al_lib does not take over malloc (${origin:-probe failed})"
		fi
	fi
	if [ -n "$al_why" ]; then
		say "skipping allocator $a: $al_why"
		skipped="$skipped$a: $al_why
"
		continue
	fi
	active="$active $a"
	nact=$((nact + 1))
	eval "lib_$a=\$al_lib origin_$a=\$origin"
done
[ -n "$active" ] || die "no allocator available"
set -- $active
ref_alloc=$1

# ---- runs -------------------------------------------------------------------------
csv=$out/results.csv traces=$out/traces.csv
echo "rep,workload,allocator,status,alloc_ns,alloc_max_ns,wall_ns,ns_per_op,calls,moves,bytes,maxrss_kb,minflt,majflt,utime_us,stime_us,elapsed_ns,malloc,checksum,timed,cap,args" >"$csv"
echo "rep,workload,allocator,size,calls,cum_ns,last_ns" >"$traces"
{
	echo "date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
	echo "host: $(uname -srm), $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') cpus, load $(uptime | sed 's/.*load average[s]*: //')"
	echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo '?')"
	echo "overcommit_memory: $(cat /proc/sys/vm/overcommit_memory 2>/dev/null || echo '?')"
	echo "mode: $([ $quick = 1 ] && echo quick || echo full), $reps reps, caps $([ $caps = 1 ] && echo on || echo off)"
	for a in $active; do echo "allocator $(allocator_describe "$a")"; done
	for w in $active_wl; do
		workload_def "$w" ''
		[ $wl_kind != real ] || echo "program $w: $(eval "echo \${prog_$w}")"
	done
	printf '%s' "$skipped" | sed 's/^/skipped allocator /'
	printf '%s' "$skipped_wl" | sed 's/^/skipped workload /'
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
# A ratio that may be far below 1 (rezone against a copying realloc):
# two significant digits there rather than "0.00".
function fmt_x(r,    d) {
	if (r >= 0.1 || r <= 0) return fmt_ratio(r)
	d = 1 - int(log(r) / log(10) - 1)
	return sprintf("%." d "f", r)
}
'

now() { date +%s; }
t_start=$(now)
nwl=0
for w in $active_wl; do
	workload_def "$w" ''
	if [ $wl_kind = floor ]; then nwl=$((nwl + 1)); else nwl=$((nwl + nact)); fi
done
total=$((reps * nwl))
say "$total runs: $reps reps x ($(echo $active_wl | wc -w | tr -d ' ') workloads x$active); results in $out"
done_runs=0 failed=0 timeouts=0
rep=1
while [ $rep -le "$reps" ]; do
	# Rotate the allocator order each repetition, so none always runs
	# right after the same neighbour (page cache, freed memory, heat).
	order='' i=0
	for a in $active; do order="$order $a"; done
	while [ $i -lt $(( (rep - 1) % nact )) ]; do
		set -- $order; first=$1; shift; order="$* $first"; i=$((i + 1))
	done
	for w in $active_wl; do
		workload_def "$w" ''
		run_order=$order
		[ $wl_kind != floor ] || run_order=$ref_alloc
		if [ $rep = 1 ] && [ $wl_kind != real ]; then
			# Warm-up, not recorded: the first touch of memory the
			# machine has not used lately is much slower (seen
			# here: the same 1 GiB touch took 0.6 s or 1.6 s).
			"$measure" -t "$timeout" "$(bench_bin "$wl_prog")" $wl_args >/dev/null 2>&1 || true
		fi
		for a in $run_order; do
			done_runs=$((done_runs + 1))
			workload_def "$w" "$a"
			eval "a_lib=\${lib_$a} a_origin=\${origin_$a}"
			log=$out/logs/$w.$a.$rep.err
			res_file=$out/logs/$w.$a.$rep.res
			# REZONE_STATS=1 on the first repetition only: the
			# summary is printed at exit, outside the timed region.
			set -- -t "$timeout"
			[ -z "$a_lib" ] || set -- "$@" -e "$preload_var=$a_lib"
			[ "$a" != rezone ] || [ $rep != 1 ] || set -- "$@" -e REZONE_STATS=1
			if [ $wl_kind = real ]; then
				real_command "$w" "$wl_args"
				outf=$out/logs/$w.$a.$rep.out
				set -- "$@" -o "$outf"
				[ -z "$rc_in" ] || set -- "$@" -p "$rc_in"
				set -- "$@" $rc_cmd
				show=$rc_show
			else
				set -- "$@" "$(bench_bin "$wl_prog")" $wl_args
				show=$wl_args outf=''
			fi
			printf '%s: [%d/%d] rep %d/%d %s on %s%s ... ' "$me" "$done_runs" "$total" \
				"$rep" "$reps" "$w" "$a" "${wl_cap:+ ($wl_cap)}" >&2
			"$measure" "$@" >"$res_file" 2>"$log" || true
			sum=''
			if [ -n "$outf" ] && [ -f "$outf" ]; then
				sum=$(cksum <"$outf" | awk '{ print $1 "-" $2 }')
			fi
			eval "ref_sum=\${sum_$w-} ref_who=\${sumby_$w-}"
			# The trace lines, then the result line(s).
			grep '^trace ' "$res_file" | awk -v rep="$rep" -v w="$w" -v a="$a" '{
				for (i = 2; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v); kv[k] = v }
				print rep "," w "," a "," kv["size"] "," kv["calls"] "," kv["cum_ns"] "," kv["last_ns"]
			}' >>"$traces"
			row=$(grep -v '^trace ' "$res_file" | tr '\n' ' ' | awk -v rep="$rep" -v w="$w" \
				-v a="$a" -v args="$show" -v expect="$a_origin" -v prog="$wl_prog" \
				-v kind="$wl_kind" -v sum="$sum" -v ref_sum="$ref_sum" -v ref_who="$ref_who" \
				-v cap="$wl_cap" "$awk_lib"'
			{
				for (i = 1; i <= NF; i++) {
					k = $i; sub(/=.*/, "", k)
					v = $i; sub(/^[^=]*=/, "", v)
					kv[k] = v
				}
			}
			END {
				s = kv["status"]
				if (kind == "real") { kv["wall_ns"] = kv["elapsed_ns"]; kv["malloc"] = "" }
				if (s == "") s = "measure-failed"
				else if (s == "exit:0" && kind != "real" && kv["workload"] != prog) s = "no-result"
				else if (s == "exit:0" && kind != "real" && kv["malloc"] != expect) s = "wrong-malloc"
				else if (s == "exit:0" && kind == "real" && ref_sum != "" && sum != ref_sum) s = "mismatch"
				else if (s == "exit:0") s = "ok"
				else if (s == "exit:3") s = "nomem"
				else if (s == "exit:4") s = "corrupt"
				n = split("alloc_ns alloc_max_ns wall_ns ns_per_op calls moves bytes maxrss_kb minflt majflt utime_us stime_us elapsed_ns malloc", col, " ")
				line = rep "," w "," a "," s
				for (i = 1; i <= n; i++) line = line "," kv[col[i]]
				print line "," sum "," kv["timed"] ",\"" cap "\",\"" args "\""
				msg = s
				if (s == "ok") {
					msg = ""
					if (kv["alloc_ns"] != "") msg = "in " kv["timed"] " " fmt_ns(kv["alloc_ns"]) ", "
					if (kv["ns_per_op"] != "") msg = msg fmt_ns(kv["ns_per_op"]) "/op, "
					msg = msg "wall " fmt_ns(kv["wall_ns"]) ", rss " fmt_kb(kv["maxrss_kb"])
					if (sum != "") msg = msg ", output " sum (ref_sum == "" ? " (reference)" : " (same as " ref_who ")")
				} else if (s == "mismatch")
					msg = "output " sum " differs from " ref_who "\047s " ref_sum
				print msg > "/dev/stderr"
			}')
			echo "$row" >>"$csv"
			case $row in
			*,ok,*)
				[ -z "$sum" ] || [ -n "$ref_sum" ] || eval "sum_$w=\$sum sumby_$w=\$a" ;;
			*,timeout,*)
				timeouts=$((timeouts + 1))
				say "$w on $a timed out after $timeout s (reported as such)" ;;
			*)
				failed=$((failed + 1))
				say "$w on $a failed; $log ends with:"
				tail -n 5 "$log" | sed 's/^/    /' >&2 ;;
			esac
		done
	done
	t_now=$(now)
	if [ $rep -lt "$reps" ]; then
		say "rep $rep/$reps done, $((t_now - t_start)) s so far, about $(( (t_now - t_start) * (reps - rep) / rep )) s left"
	fi
	rep=$((rep + 1))
done
say "all runs done in $(( $(now) - t_start )) s"

# ---- summary ----------------------------------------------------------------------
# Medians and ranges of the successful runs: a block per workload, ratios
# against system and jemalloc, the growth workloads against the touch floor
# (same bytes written, no allocator at all), an overview table in Markdown
# (table.md), and the issue's targets checked.
metrics=''
for w in $active_wl; do workload_def "$w" ''; metrics="$metrics $w:$wl_metric"; done
# The heading names the kernel and its THP mode: both move the page-fault
# floor of every big-buffer workload (issue 9), so a table is only
# comparable with one from the same setting.
thp_mode=$(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null) || thp_mode=''
[ -n "$thp_mode" ] || thp_mode='n/a'
if [ "$os" = Darwin ]; then sys_name=libmalloc; else sys_name=glibc; fi
heading="# rezone benchmark: $(uname -s) $(uname -r) $(uname -m), THP $thp_mode, $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') cpus, $(date -u '+%Y-%m-%d'), $([ $quick = 1 ] && echo 'quick sizes' || echo 'full sizes'), $reps rep$([ "$reps" = 1 ] || echo s)"
awk -F, -v workloads="$active_wl" -v allocators="$active" -v reps="$reps" -v metrics="$metrics" \
	-v quick="$quick" -v summary="$out/summary.csv" -v table="$out/table.md" -v traces="$traces" \
	-v ratios="$out/ratios.csv" -v heading="$heading" -v sysname="$sys_name" "$awk_lib"'
function sortv(v, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
}
function stat(key, m,    n, v) {
	n = split(vals[key, m], v, " ")
	if (n == 0) return 0
	sortv(v, n)
	smin = v[1]; smax = v[n]
	smed = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	return n
}
function cell(key, m) {
	if (!stat(key, m)) return "-"
	return fmt_ns(smed) " [" fmt_ns(smin) " - " fmt_ns(smax) "]"
}
# Column of the metric compared for workload w: alloc 5, op 8, wall 7.
function mcol(w) { return metric[w] == "alloc" ? 5 : metric[w] == "op" ? 8 : 7 }
# The speed a user sees: wall time, or time per operation for churn.
function scol(w) { return metric[w] == "op" ? 8 : 7 }
function med(w, a, m) { return stat(w SUBSEP a, m) ? smed : "" }
function comparable(w, a, b) { return cap[w, a] == "" && cap[w, b] == "" }
function ratio_line(w, m, label,    i, a, b, k, s, r, sep, mine) {
	for (i = 1; i <= na; i++) {
		a = al[i]
		if (a == "system" || !stat(w SUBSEP a, m) || smed <= 0) continue
		mine = smed; s = ""; sep = ""
		for (k = 1; k <= 2; k++) {
			b = k == 1 ? "system" : "jemalloc"
			if (b == a || !stat(w SUBSEP b, m) || !comparable(w, a, b)) continue
			r = smed / mine
			s = s sep (r >= 1 ? fmt_ratio(r) "x less than " : fmt_ratio(1 / r) "x more than ") b
			sep = ", "
		}
		if (s != "") printf "  %s: %s is %s\n", label, a, s
	}
}
function mcell(w, a, m,    x, b, r, c) {
	x = med(w, a, m)
	if (x == "") return "-"
	c = fmt_ns(x)
	if (cap[w, a] != "") return c " (capped)"
	b = med(w, "system", m)
	if (a != "system" && b != "" && x > 0) {
		r = b / x
		c = c " (" (r >= 1 ? fmt_ratio(r) "x less" : fmt_ratio(1 / r) "x more") ")"
	}
	return c
}
# Paired ratios: for each repetition r, metric m of rezone on workload w
# over that of allocator b in the same repetition (the two ran next to
# each other, so load that drifts over the run cancels out). Sets pmed,
# pmin, pmax; returns the number of pairs.
function pair(w, b, m,    r, n, v) {
	n = 0
	if (!comparable(w, "rezone", b)) return 0
	for (r = 1; r <= reps; r++)
		if ((w, "rezone", r, m) in pv && (w, b, r, m) in pv && pv[w, b, r, m] > 0)
			v[++n] = pv[w, "rezone", r, m] / pv[w, b, r, m]
	if (!n) return 0
	sortv(v, n)
	pmin = v[1]; pmax = v[n]
	pmed = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	return n
}
# Below 1 is a win for rezone (every metric here: less is better), above
# 1 a loss; when the pairs disagree on which side of 1 they fall, the
# difference is within the noise.
function verdict(n) {
	return n < 2 ? "one pair" : pmin <= 1 && pmax >= 1 ? "no difference" : pmax < 1 ? "win" : "loss"
}
function pcell(w, b, m,    n, c) {
	if (!(n = pair(w, b, m))) return "-"
	c = fmt_x(pmed) "x"
	if (n < 2) return c " (1 pair)"
	c = c " (" fmt_x(pmin) "-" fmt_x(pmax) ")"
	return verdict(n) == "no difference" ? c " no difference" : c
}
BEGIN { CONVFMT = "%.1f"; OFMT = "%.1f" }
NR > 1 && $4 == "ok" {
	key = $2 SUBSEP $3
	for (i = 5; i <= 17; i++)
		if ($i != "") { vals[key, i] = vals[key, i] " " $i; pv[$2, $3, $1, i] = $i }
	a = $22; gsub(/"/, "", a); args[$2, $3] = a
	c = $21; gsub(/"/, "", c); cap[$2, $3] = c
	timed[$2] = $20
	bytes[$2] = $11
}
NR > 1 && $4 != "ok" { bad[$2, $3] = bad[$2, $3] " " $4 }
END {
	print "workload,allocator,metric,runs,median,min,max" > summary
	split("alloc_ns alloc_max_ns wall_ns ns_per_op calls moves bytes maxrss_kb minflt majflt utime_us stime_us elapsed_ns", names, " ")
	nw = split(workloads, wl, " "); na = split(allocators, al, " ")
	nm = split(metrics, mm, " ")
	for (i = 1; i <= nm; i++) { split(mm[i], kv, ":"); metric[kv[1]] = kv[2] }
	floor = 0
	if (stat("touch" SUBSEP al[1], 7)) floor = smed
	# Traces: median cumulative realloc time at each size, per allocator.
	while ((getline line < traces) > 0) {
		split(line, f, ",")
		if (f[1] == "rep") continue
		tk = f[2] SUBSEP f[3] SUBSEP f[4]
		if (!(tk in tv)) { tsizes[f[2], f[3]] = tsizes[f[2], f[3]] " " f[4] }
		tv[tk] = tv[tk] " " f[6]
	}
	for (i = 1; i <= nw; i++) {
		w = wl[i]
		printf "\n%s  (reps: %d; median [min - max])\n", w, reps
		printf "  %-10s %-32s %-32s %-10s %-8s %s\n", "allocator", \
			metric[w] == "op" ? "time per op" : timed[w] != "" ? "in " timed[w] : "in allocator", \
			"wall time", "peak RSS", "faults", "arguments"
		for (j = 1; j <= na; j++) {
			a = al[j]; key = w SUBSEP a
			if (!stat(key, 7)) {
				if ((w, a) in bad) printf "  %-10s failed:%s\n", a, bad[w, a]
				continue
			}
			first = metric[w] == "op" ? cell(key, 8) : cell(key, 5)
			stat(key, 12); rss = fmt_kb(smed)
			stat(key, 13); flt = fmt_count(smed)
			printf "  %-10s %-32s %-32s %-10s %-8s %s%s\n", a, first, cell(key, 7), rss, flt, \
				args[w, a], cap[w, a] != "" ? "  [capped]" : ""
			if ((w, a) in bad) printf "  %-10s also failed:%s\n", a, bad[w, a]
			for (m = 5; m <= 17; m++)
				if (n = stat(key, m))
					printf "%s,%s,%s,%d,%s,%s,%s\n", w, a, names[m - 4], n, smed, smin, smax > summary
		}
		ratio_line(w, 5, timed[w] != "" ? "time in " timed[w] : "time in allocator")
		ratio_line(w, 8, "time per op")
		if (w != "touch") ratio_line(w, 7, "wall time")
		for (k = 1; k <= 2; k++) {
			b = k == 1 ? "system" : "jemalloc"
			m = mcol(w)
			if (!pair(w, b, m)) continue
			printf "  paired, rezone/%s: %s %s%s, peak RSS %s\n", b, \
				m == 5 ? "in " timed[w] : m == 8 ? "per op" : "wall", pcell(w, b, m), \
				m == 7 ? "" : ", wall " pcell(w, b, 7), pcell(w, b, 12)
		}
		if (w != "touch" && floor > 0 && bytes[w] == bytes["touch"] && bytes[w] != "") {
			s = ""
			for (j = 1; j <= na; j++)
				if (cap[w, al[j]] == "" && stat(w SUBSEP al[j], 7))
					s = s sprintf("%s%s %sx", s == "" ? "" : ", ", al[j], fmt_ratio(smed / floor))
			printf "  wall time against the touch floor (%s): %s\n", fmt_ns(floor), s
		}
		# A capped allocator against the others at the largest size all
		# reached (the traces record the same sizes for everyone).
		hascap = 0
		for (j = 1; j <= na; j++) if (cap[w, al[j]] != "") hascap = 1
		if (hascap) {
			common = -1
			for (j = 1; j <= na; j++) {
				nt = split(tsizes[w, al[j]], ts, " "); top = 0
				for (k = 1; k <= nt; k++) if (ts[k] + 0 > top) top = ts[k] + 0
				if (nt && (common < 0 || top < common)) common = top
			}
			if (common > 0) {
				s = ""
				for (j = 1; j <= na; j++) {
					n = split(tv[w, al[j], common], v, " ")
					if (!n) continue
					sortv(v, n)
					s = s sprintf("%s%s %s", s == "" ? "" : ", ", al[j], fmt_ns(n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2))
				}
				printf "  realloc time up to %s, the size every allocator reached: %s\n", fmt_kb(common / 1024), s
			}
		}
	}

	# Overview: the compared metric per workload, ratios against system.
	hdr = "| workload | measure |"; sep = "|---|---|"
	for (j = 1; j <= na; j++) { hdr = hdr " " al[j] " |"; sep = sep "---|" }
	print heading "\n" > table
	print "## Time inside the allocator (growth), per operation (churn), wall (programs)\n" > table
	print "Median of " reps " interleaved runs; in brackets: ratio against system (\"less\" is better).\n" > table
	print hdr > table; print sep > table
	for (i = 1; i <= nw; i++) {
		w = wl[i]; m = mcol(w)
		line = "| " w " | " (m == 5 ? "in " timed[w] : m == 8 ? "per op" : "wall") " |"
		for (j = 1; j <= na; j++) line = line " " mcell(w, al[j], m) " |"
		print line > table
	}
	print "\n## Wall time\n" > table
	print hdr > table; print sep > table
	for (i = 1; i <= nw; i++) {
		w = wl[i]; line = "| " w " | wall |"
		for (j = 1; j <= na; j++) line = line " " mcell(w, al[j], 7) " |"
		print line > table
	}
	print "\n## Peak RSS\n" > table
	print hdr > table; print sep > table
	for (i = 1; i <= nw; i++) {
		w = wl[i]; line = "| " w " | peak RSS |"
		for (j = 1; j <= na; j++) line = line " " (stat(w SUBSEP al[j], 12) ? fmt_kb(smed) : "-") " |"
		print line > table
	}
	c = 0
	for (i = 1; i <= nw; i++) for (j = 1; j <= na; j++) if (cap[wl[i], al[j]] != "") {
		if (!c++) print "\nCapped (not compared):" > table
		print "- " al[j] " " wl[i] ": " args[wl[i], al[j]] > table
	}

	# rezone against the system allocator and jemalloc, pair by pair.
	print "workload,against,metric,compared,pairs,median,min,max,verdict" > ratios
	print "\n## rezone vs " sysname " / rezone vs jemalloc\n" > table
	print "Paired runs: for each repetition, rezone\047s value over the other allocator\047s in the same" > table
	print "repetition (they run next to each other); median of those ratios, in brackets the lowest" > table
	print "and highest. Below 1: rezone takes less (time or memory). \"no difference\": the pairs fall" > table
	print "on both sides of 1, so the difference is within the noise. \"1 pair\": one repetition, no spread.\n" > table
	print "| workload | measure | vs " sysname ": measure | vs " sysname ": wall | vs " sysname ": peak RSS | vs jemalloc: measure | vs jemalloc: wall | vs jemalloc: peak RSS |" > table
	print "|---|---|---|---|---|---|---|---|" > table
	split("5 alloc_ns 7 wall_ns 8 ns_per_op 12 maxrss_kb", mname, " ")
	for (k = 1; k < 8; k += 2) colname[mname[k]] = mname[k + 1]
	for (i = 1; i <= nw; i++) {
		w = wl[i]; m = mcol(w)
		if (!stat(w SUBSEP "rezone", 7)) continue
		line = "| " w " | " (m == 5 ? "in " timed[w] : m == 8 ? "per op" : "wall") " |"
		for (k = 1; k <= 2; k++) {
			b = k == 1 ? "system" : "jemalloc"
			line = line " " pcell(w, b, m) " | " pcell(w, b, 7) " | " pcell(w, b, 12) " |"
			# The compared metric, then wall and RSS unless that is it.
			nmc = split(m " 7 12", mc, " ")
			for (j = 1; j <= nmc; j++) {
				if (j > 1 && mc[j] == m) continue
				if (!(n = pair(w, b, mc[j]))) continue
				printf "%s,%s,%s,%d,%d,%.6g,%.6g,%.6g,%s\n", w, b, colname[mc[j]], \
					j == 1, n, pmed, pmin, pmax, verdict(n) > ratios
			}
		}
		print line > table
	}
	close(ratios)
	close(table)

	# The targets of issue 4, where the workloads and allocators ran.
	print "\ntargets (issue 4)" (quick ? ", at --quick sizes (too small to judge; run the full set):" : ":")
	for (k = 1; k <= 2; k++) {
		w = k == 1 ? "grow1" : "grow8"; goal = k == 1 ? 100 : 10
		x = med(w, "rezone", 5); b = med(w, "system", 5)
		if (x == "" || b == "" || x <= 0) continue
		printf "  %-52s %s (%sx)\n", w ": rezone >= " goal "x less time in realloc than system", \
			(b / x >= goal ? "met" : "NOT met"), fmt_ratio(b / x)
		s = ""
		for (j = 1; j <= na; j++) {
			a = al[j]; y = med(w, a, 5)
			if (a == "rezone" || a == "system" || y == "") continue
			s = s sprintf("%s%s %sx%s", s == "" ? "" : ", ", a, fmt_ratio(y / x), cap[w, a] != "" ? " (capped run)" : "")
		}
		if (s != "") printf "  %-52s %s\n", w ": rezone against the others (time in realloc)", s
	}
	for (i = 1; i <= nw; i++) {
		w = wl[i]; m = scol(w)
		x = med(w, "rezone", m); b = med(w, "jemalloc", m)
		if (w == "touch" || x == "" || b == "" || b <= 0) continue
		printf "  %-52s %s (%+.1f%%)\n", w ": rezone at most 5% slower than jemalloc", \
			(x <= 1.05 * b ? "met" : "NOT met"), 100 * (x - b) / b
	}
	for (i = 1; i <= nw; i++) {
		w = wl[i]
		if (metric[w] != "wall" || w == "touch") continue
		x = med(w, "rezone", 7)
		if (x == "") continue
		best = ""; who = ""
		for (j = 1; j <= na; j++) {
			a = al[j]; y = med(w, a, 7)
			if (a == "rezone" || y == "") continue
			if (best == "" || y < best) { best = y; who = a }
		}
		if (best == "") continue
		printf "  %-52s %s (%+.1f%% against %s)\n", w ": rezone at least as fast as the best other", \
			(x <= best ? "met" : x <= 1.02 * best ? "tie" : "NOT met"), 100 * (x - best) / best, who
	}
}' "$csv"

# ---- plots ------------------------------------------------------------------------
# Realloc cost against block size: grow1's cumulative realloc time, and
# growdouble's time per doubling, medians over the repetitions.
mkdir -p "$out/plot"
find "$out/plot" -type f -name '*.dat' -exec rm -f {} +
awk -F, -v dir="$out/plot" 'NR > 1 {
	k = $2 SUBSEP $3 SUBSEP $4
	if (!(k in v)) { order[++n] = k }
	v[k] = v[k] " " ($2 == "grow1" ? $6 : $7)
}
END {
	for (i = 1; i <= n; i++) {
		split(order[i], f, SUBSEP)
		m = split(v[order[i]], x, " ")
		for (a = 2; a <= m; a++) for (b = a; b > 1 && x[b - 1] + 0 > x[b] + 0; b--) { t = x[b]; x[b] = x[b - 1]; x[b - 1] = t }
		y = m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2
		if (y < 1) y = 1
		printf "%.6f %.6f\n", f[3] / 1048576, y / 1e6 > (dir "/" f[1] "." f[2] ".dat")
	}
}' "$traces"
if [ $plot = 1 ]; then
	if command -v gnuplot >/dev/null 2>&1; then
		plotted='' doubled=''
		for a in $active; do
			[ ! -f "$out/plot/grow1.$a.dat" ] || plotted="$plotted $a"
			[ ! -f "$out/plot/growdouble.$a.dat" ] || doubled="$doubled $a"
		done
		title="$(uname -sm), $(date -u '+%Y-%m-%d'), median of $reps"
		if [ -n "$plotted$doubled" ]; then
			for fmt in png svg; do
				gnuplot -c "$srcdir/scripts/bench-plot.gp" "$out/plot" "$plotted" \
					"$out/realloc.$fmt" "$fmt" "$title" "$doubled" 2>"$out/logs/gnuplot.$fmt.err" ||
					say "gnuplot failed ($fmt): $(head -n 3 "$out/logs/gnuplot.$fmt.err")"
			done
		else
			say "no plot: neither grow1 nor growdouble ran"
		fi
	else
		say "no plot: gnuplot not installed (Debian: gnuplot-nox; Homebrew: gnuplot)"
	fi
fi

echo
echo "overview (also in $out/table.md):"
sed -n '/^## Time inside/,/^## Wall/p' "$out/table.md" | sed '$d'
sed -n '/^## rezone vs/,$p' "$out/table.md"
echo
for a in $active; do echo "allocator $(allocator_describe "$a")"; done
if [ -n "$skipped" ]; then printf '%s' "$skipped" | sed 's/^/skipped allocator /'; fi
if [ -n "$skipped_wl" ]; then printf '%s' "$skipped_wl" | sed 's/^/skipped workload /'; fi
for w in $active_wl; do
	workload_def "$w" mimalloc
	[ -z "$wl_cap" ] || case " $active " in *" mimalloc "*)
		echo "mimalloc $w $wl_cap (the full size takes minutes per run; --no-caps runs it)" ;; esac
done
# The library's exit summary (one "rezone[PID] PROGRAM: name=value ..."
# line per process with large requests), summed over the workload's
# processes, zero counters left out so the few that matter stand out;
# other rezone: lines are shown as they are.
for w in $active_wl; do
	log=$out/logs/$w.rezone.1.err
	if [ ! -f "$log" ] || ! grep -q '^rezone[:[]' "$log"; then continue; fi
	[ -n "${stats_title:-}" ] || { stats_title=1; printf '\nrezone stats (REZONE_STATS=1, rep 1; zero counters omitted):\n'; }
	grep '^rezone[:[]' "$log" | awk -v w="$w" '
		/^rezone\[[0-9]+\] [^:]*: [a-z_]+=/ {
			for (i = 3; i <= NF; i++) {
				n = index($i, "="); k = substr($i, 1, n - 1)
				if (!(k in sum)) order[++nk] = k
				sum[k] += substr($i, n + 1)
			}
			next
		}
		{ other = other "\n    " $0 }
		END {
			for (i = 1; i <= nk; i++) if (sum[order[i]] != 0) kv = kv " " order[i] "=" sum[order[i]]
			printf "  %-11s%s%s\n", w, kv == "" ? " (all zero)" : kv, other
		}'
done
printf '\nresults: %s (summary.csv, ratios.csv, traces.csv, table.md, realloc.png/svg, env.txt, logs/ beside it)\n' "$csv"
status=0
if [ $failed -gt 0 ]; then
	say "$failed run(s) failed"
	status=1
fi
if [ $timeouts -gt 0 ]; then
	say "$timeouts run(s) timed out after $timeout s"
	[ $quick = 0 ] || status=1
fi
exit $status
