#!/bin/bash
# real-programs.sh - real programs' own test suites and standard workloads,
# run once with the C library's allocator and once with rezone preloaded;
# prints their pass/fail counts side by side. Any difference caused by
# rezone is a bug.
#
#   scripts/real-programs.sh [--quick] [--lib PATH] [--only NAME[,NAME...]]
#                            [--no-install] [--keep]
#
#   --quick       smaller sets and sizes: a few minutes in all
#   --lib PATH    the library to preload (default: .libs/librezone.so of the
#                 build tree this script is in; build it first)
#   --only LIST   run some of: python, stress-ng, redis, sqlite, git
#   --no-install  do not apt-get the programs (skip what is missing)
#   --keep        keep the work directory (logs, databases, repositories)
#
# Workloads (Debian 12 packages, installed with apt-get when missing):
#   python     CPython's regression tests (libpython3.11-testsuite) on a set
#              of modules, with Debian's /usr/bin/python3.11 and
#              PYTHONMALLOC=malloc so every allocation reaches the allocator;
#              counts are test cases (regrtest --junit-xml)
#   stress-ng  stress-ng --malloc (malloc/calloc/realloc/free, up to 64 MiB
#              blocks) with --verify, bounded by --timeout; counts stressor
#              instances passed/failed
#   redis      redis-server on 127.0.0.1 (a free port, no persistence)
#              loaded by redis-benchmark (bounded -n) with small and with
#              512 KiB values, then large values (16 KiB-4 MiB) written,
#              read back and compared; counts benchmark tests and checks
#   sqlite     the sqlite3 CLI builds a database (rows, 300 KiB blobs,
#              indexes, a 200 MB page cache), queries it, VACUUMs it and
#              runs integrity_check; counts statements whose output matches
#              the expected result
#   git        git fast-import builds a repository with thousands of
#              commits; fsck, repack -adf, gc, log --stat, blame, diff,
#              archive and clone; each check passes when it exits 0 and its
#              output (hashed) is the same as in the other run
# Only loopback networking; every loop is bounded; the work directory,
# servers and children are removed on exit (also on ^C).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
quick=0
install=1
keep=0
lib=$here/.libs/librezone.so
only="python,stress-ng,redis,sqlite,git"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--lib) lib=$2; shift ;;
	--only) only=$2; shift ;;
	--no-install) install=0 ;;
	--keep) keep=1 ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "real-programs: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
case "$lib" in /*) ;; *) lib=$PWD/$lib ;; esac
if [ ! -f "$lib" ]; then
	echo "real-programs: $lib not found: build rezone first (scripts/build.sh)" >&2
	exit 2
fi
want() { case ",$only," in *",$1,"*) return 0 ;; esac; return 1; }

# ---- packages ---------------------------------------------------------------
pkgs="python3.11 libpython3.11-testsuite stress-ng redis-server redis-tools sqlite3 git"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ] && [ $install -eq 1 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	echo "real-programs: installing$missing" >&2
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rz-real.XXXXXX")
redis_pid=""
cleanup() {
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null
		wait "$redis_pid" 2>/dev/null
	fi
	if [ $keep -eq 1 ]; then
		echo "real-programs: work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
results=$work/results
: > "$results"
echo "real-programs: $(date -u +%FT%TZ) $(uname -r), rezone: $lib, quick=$quick, work: $work"

# record NAME MODE PASS FAIL SKIP SECONDS NOTE
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$results"; }

# run MODE CMD...: the command with or without rezone preloaded.
run() {
	local mode=$1; shift
	if [ "$mode" = rezone ]; then
		LD_PRELOAD=$lib "$@"
	else
		"$@"
	fi
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- CPython ----------------------------------------------------------------
py=/usr/bin/python3.11
py_quick="test_bytes test_list test_dict test_set test_re test_json test_struct
test_array test_mmap test_zlib test_deque test_pickle test_unicode"
py_full="$py_quick test_string test_bisect test_heapq test_sort
test_tuple test_long test_float test_decimal test_fractions test_math
test_random test_statistics test_collections test_itertools test_functools
test_weakref test_gc test_memoryview test_buffer test_io test_bz2 test_lzma
test_gzip test_zipfile test_tarfile test_csv test_codecs test_base64
test_binascii test_hashlib test_difflib test_textwrap test_threading
test_queue test_subprocess test_os test_shutil test_tempfile
test_xml_etree test_email test_marshal test_copy test_enum test_dataclasses"
python_run() {
	local mode=$1 out=$work/python-$mode t0 tests
	[ -x $py ] && [ -d /usr/lib/python3.11/test ] || { record python "$mode" 0 0 0 0 "python3.11 or its test suite missing"; return; }
	tests=$([ $quick -eq 1 ] && echo "$py_quick" || echo "$py_full")
	mkdir -p "$out"
	t0=$(now)
	# -j2: two workers (the machine has two cores); --timeout bounds each
	# test file; the junit file counts test cases.
	(cd "$out" && PYTHONMALLOC=malloc PYTHONHASHSEED=0 run "$mode" timeout -k 10 3600 \
		$py -m test -j2 --timeout 900 --junit-xml "$out/junit.xml" $tests \
		> "$out/log" 2>&1)
	local status=$?
	local counts
	counts=$($py - "$out/junit.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
p = f = s = 0
try:
    for case in ET.parse(sys.argv[1]).getroot().iter('testcase'):
        kids = {c.tag for c in case}
        if kids & {'failure', 'error'}:
            f += 1
        elif 'skipped' in kids:
            s += 1
        else:
            p += 1
except Exception:
    print(0, 1, 0)
    sys.exit()
print(p, f, s)
EOF
)
	set -- $counts
	local note="regrtest exit $status"
	grep -q "Tests result: SUCCESS" "$out/log" || note="$note; $(grep 'Tests result' "$out/log" | head -1)"
	local failed
	failed=$(grep -A3 -E '^[0-9]+ tests? failed' "$out/log" | tail -n +2 | tr -s ' \n' ' ')
	[ -n "$failed" ] && note="$note; failed:$failed"
	record python "$mode" "$1" "$2" "$3" "$(elapsed "$t0")" "$note"
}

# ---- stress-ng --malloc -----------------------------------------------------
stressng_run() {
	local mode=$1 out=$work/stress-ng-$mode.log t0 secs
	command -v stress-ng >/dev/null || { record stress-ng "$mode" 0 0 0 0 "stress-ng missing"; return; }
	secs=$([ $quick -eq 1 ] && echo 15 || echo 60)
	t0=$(now)
	(cd "$work" && run "$mode" timeout -k 10 $((secs + 60)) stress-ng --malloc 2 \
		--malloc-bytes 64M --malloc-max 4096 --verify --timeout "${secs}s" \
		--metrics-brief > "$out" 2>&1)
	local status=$?
	# stress-ng 0.15 prints "successful run completed" when every instance
	# passed (with --verify: every block's contents checked), and "fail:"
	# lines otherwise. Counts are instances (2).
	local pass=0 fail=2 bogo
	if [ $status -eq 0 ] && grep -q "successful run completed" "$out" &&
	    ! grep -q "unsuccessful\|fail:" "$out"; then
		pass=2 fail=0
	fi
	bogo=$(awk '/metrc:.* malloc / { print $5 }' "$out" | tail -1)
	record stress-ng "$mode" "$pass" "$fail" 0 "$(elapsed "$t0")" "exit $status, ${secs} s, bogo ops ${bogo:-?}"
}

# ---- Redis ------------------------------------------------------------------
free_port() {
	local p
	for p in $(seq 16379 16479); do
		(echo > /dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
	done
	echo 0
}

redis_run() {
	local mode=$1 out=$work/redis-$mode t0 port pass=0 fail=0 n
	command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
		{ record redis "$mode" 0 0 0 0 "redis-server/redis-tools missing"; return; }
	mkdir -p "$out"
	port=$(free_port)
	n=$([ $quick -eq 1 ] && echo 20000 || echo 200000)
	t0=$(now)
	run "$mode" redis-server --port "$port" --bind 127.0.0.1 --save "" \
		--appendonly no --dir "$out" --logfile "$out/server.log" --daemonize no \
		--protected-mode yes &
	redis_pid=$!
	local i
	for i in $(seq 100); do
		redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
		sleep 0.1
	done
	# Small values, then 512 KiB values (large blocks in the server).
	timeout 600 redis-benchmark -h 127.0.0.1 -p "$port" -n "$n" -c 20 -r 10000 \
		-t set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100,mset \
		--csv > "$out/bench-small.csv" 2> "$out/bench-small.err"
	timeout 600 redis-benchmark -h 127.0.0.1 -p "$port" -n $((n / 100)) -c 4 -r 50 \
		-d 524288 -t set,get,lpush,lpop --csv > "$out/bench-large.csv" 2> "$out/bench-large.err"
	for f in "$out"/bench-*.csv; do
		local ok bad
		ok=$(awk -F'","' 'NR > 1 && $2 + 0 > 0' "$f" | wc -l)
		bad=$(awk -F'","' 'NR > 1 && !($2 + 0 > 0)' "$f" | wc -l)
		pass=$((pass + ok)); fail=$((fail + bad))
		[ "$ok" -gt 0 ] || fail=$((fail + 1))
	done
	# Values of 16 KiB to 4 MiB written, read back and compared.
	local k size
	for k in $(seq $([ $quick -eq 1 ] && echo 40 || echo 200)); do
		size=$(( (k * 7919 % 256 + 1) * 16384 ))
		head -c "$size" /dev/urandom > "$out/value"
		redis-cli -p "$port" -x SET "big:$k" < "$out/value" > /dev/null
		redis-cli -p "$port" --raw GET "big:$k" > "$out/got"
		# --raw adds one newline after the value.
		if [ "$(stat -c %s "$out/got")" -eq $((size + 1)) ] &&
		    cmp -s -n "$size" "$out/got" "$out/value"; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
		fi
	done
	redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && pass=$((pass + 1)) || fail=$((fail + 1))
	redis-cli -p "$port" shutdown nosave > /dev/null 2>&1
	wait "$redis_pid" 2>/dev/null
	local status=$?
	redis_pid=""
	[ $status -eq 0 ] && pass=$((pass + 1)) || fail=$((fail + 1))
	record redis "$mode" "$pass" "$fail" 0 "$(elapsed "$t0")" "server exit $status, -n $n"
}

# ---- SQLite -----------------------------------------------------------------
sqlite_run() {
	local mode=$1 out=$work/sqlite-$mode t0 rows pass=0 fail=0
	command -v sqlite3 >/dev/null || { record sqlite "$mode" 0 0 0 0 "sqlite3 missing"; return; }
	mkdir -p "$out"
	rows=$([ $quick -eq 1 ] && echo 200000 || echo 2000000)
	t0=$(now)
	local db=$out/big.db
	# Each statement's output is hashed; the expected hash is the other
	# run's (compared in the table) and fixed facts checked here.
	cat > "$out/build.sql" <<EOF
PRAGMA cache_size = -200000;
PRAGMA temp_store = memory;
PRAGMA journal_mode = wal;
CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, name TEXT, pad TEXT);
CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows)
INSERT INTO t SELECT x, (x * 7919) % 100003, printf('name-%08d', (x * 104729) % 1000003),
	printf('%.*c', 50 + x % 200, 'x') FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300)
INSERT INTO blobs SELECT x, zeroblob(300000 + x * 1000) FROM c;
UPDATE blobs SET b = CAST(printf('%.*c', 200000 + id * 500, char(65 + id % 26)) AS BLOB) WHERE id % 3 = 0;
COMMIT;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_name ON t(name);
EOF
	cat > "$out/queries.sql" <<EOF
SELECT count(*), sum(k), max(name) FROM t;
SELECT k % 100, count(*), sum(length(pad)) FROM t GROUP BY k % 100 ORDER BY 1;
SELECT name FROM t ORDER BY pad DESC, name LIMIT 20;
SELECT count(*) FROM t a JOIN t b ON a.k = b.id WHERE a.id % 97 = 0;
SELECT group_concat(name, ',') FROM (SELECT name FROM t WHERE k < 200 ORDER BY name);
SELECT id, length(b), hex(substr(b, length(b) - 4)) FROM blobs ORDER BY length(b) DESC LIMIT 10;
SELECT sum(length(b)) FROM blobs;
SELECT count(DISTINCT pad), count(DISTINCT k) FROM t;
VACUUM;
PRAGMA integrity_check;
SELECT count(*), sum(k) FROM t;
EOF
	if run "$mode" timeout 1800 sqlite3 -bail "$db" < "$out/build.sql" > "$out/build.out" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
	local q=0 line
	: > "$out/hashes"
	while IFS= read -r line; do
		q=$((q + 1))
		if run "$mode" timeout 1800 sqlite3 -bail "$db" "PRAGMA cache_size=-200000; PRAGMA temp_store=memory;" "$line" > "$out/q$q.out" 2>&1; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
		fi
		echo "q$q $(sha1sum < "$out/q$q.out" | cut -c1-12)" >> "$out/hashes"
	done < "$out/queries.sql"
	# Facts that do not depend on the other run: integrity, the row count,
	# and the same sums before and after VACUUM.
	if grep -qx "ok" "$out/q10.out"; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "sqlite $mode: integrity_check: $(head -3 "$out/q10.out")" >&2; fi
	if grep -q "^$rows|" "$out/q1.out"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	if cmp -s <(cut -d'|' -f1-2 "$out/q1.out") "$out/q11.out"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	record sqlite "$mode" "$pass" "$fail" 0 "$(elapsed "$t0")" "$rows rows, db $(du -m "$db" | cut -f1) MB"
}

# ---- git --------------------------------------------------------------------
git_stream() {
	# A fast-import stream: $1 commits on 200 files with growing histories,
	# a 2 MiB file rewritten every 100 commits; fixed names and dates, so the
	# repository (and every hash) is the same in both runs.
	awk -v n="$1" 'BEGIN {
		for (c = 1; c <= n; c++) {
			printf "commit refs/heads/main\n"
			printf "committer Rz Test <rz@example.invalid> %d +0000\n", 1700000000 + c * 60
			msg = sprintf("commit %d: change files %d and %d", c, c % 200, (c * 7) % 200)
			printf "data %d\n%s\n", length(msg), msg
			for (j = 0; j < 2; j++) {
				f = j ? (c * 7) % 200 : c % 200
				body = ""
				for (l = 0; l < 20 + c % 30; l++)
					body = body sprintf("file %d line %d of commit %d value %d\n", f, l, c, (c * 31 + l * 17) % 1009)
				printf "M 644 inline dir%d/file%d.txt\ndata %d\n%s\n", f % 10, f, length(body), body
			}
			if (c % 100 == 1) {
				big = ""
				line = sprintf("%0100d\n", c)
				for (l = 0; l < 20000; l++) big = big line
				printf "M 644 inline big.dat\ndata %d\n%s\n", length(big), big
			}
		}
	}'
}

git_run() {
	local mode=$1 out=$work/git-$mode t0 commits pass=0 fail=0
	command -v git >/dev/null || { record git "$mode" 0 0 0 0 "git missing"; return; }
	mkdir -p "$out"
	commits=$([ $quick -eq 1 ] && echo 1500 || echo 4000)
	t0=$(now)
	local g="git -c gc.auto=0 -c user.name=rz -c user.email=rz@example.invalid -C $out/repo"
	check() { # check NAME CMD...: runs CMD in the mode, hashes its output
		local name=$1; shift
		if run "$mode" timeout 1800 "$@" > "$out/$name.out" 2> "$out/$name.err"; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "git $mode: $name failed: $(head -3 "$out/$name.err")" >&2
		fi
		echo "$name $(sha1sum < "$out/$name.out" | cut -c1-12)" >> "$out/hashes"
	}
	: > "$out/hashes"
	git init -q -b main "$out/repo"
	git_stream "$commits" > "$out/stream"
	check fast-import sh -c "$g fast-import --quiet < '$out/stream'"
	check reset $g reset -q --hard main
	check fsck $g fsck --full --strict
	check log-stat $g log --stat --format='%H %s'
	check rev-list $g rev-list --objects --all
	check repack $g repack -adf -q --window=$([ $quick -eq 1 ] && echo 10 || echo 50) --depth=50
	check fsck-after-repack $g fsck --full --strict
	check gc $g gc -q --prune=now
	check blame $g blame -s dir3/file3.txt
	check diff $g diff --stat main~$((commits - 10)) main
	check log-patch $g log -p -n 200 --format=%H
	check archive sh -c "$g archive --format=tar main | sha1sum"
	check clone git clone -q --no-local "$out/repo" "$out/clone"
	check clone-fsck git -C "$out/clone" fsck --full
	record git "$mode" "$pass" "$fail" 0 "$(elapsed "$t0")" "$commits commits, repo $(du -sm "$out/repo" | cut -f1) MB"
}

# ---- run and report ---------------------------------------------------------
for w in python stress-ng redis sqlite git; do
	want "$w" || continue
	for mode in glibc rezone; do
		echo "real-programs: $w ($mode)..." >&2
		case $w in
		python) python_run $mode ;;
		stress-ng) stressng_run $mode ;;
		redis) redis_run $mode ;;
		sqlite) sqlite_run $mode ;;
		git) git_run $mode ;;
		esac
	done
done

# Outputs that must not depend on the allocator (sqlite, git).
differ=""
for w in sqlite git; do
	want "$w" || continue
	if [ -f "$work/$w-glibc/hashes" ] && ! cmp -s "$work/$w-glibc/hashes" "$work/$w-rezone/hashes"; then
		differ="$differ $w: $(diff "$work/$w-glibc/hashes" "$work/$w-rezone/hashes" | grep '^>' | cut -c3- | cut -d' ' -f1 | tr '\n' ' ')"
	fi
done

echo
echo "| workload | glibc pass / fail / skip | rezone pass / fail / skip | glibc s | rezone s | notes (glibc; rezone) |"
echo "|---|---|---|---|---|---|"
status=0
for w in python stress-ng redis sqlite git; do
	want "$w" || continue
	g=$(awk -F'\t' -v w="$w" '$1 == w && $2 == "glibc"' "$results")
	r=$(awk -F'\t' -v w="$w" '$1 == w && $2 == "rezone"' "$results")
	IFS=$'\t' read -r _ _ gp gf gs gt gn <<< "$g"
	IFS=$'\t' read -r _ _ rp rf rs rt rn <<< "$r"
	mark=""
	if [ "$gp/$gf/$gs" != "$rp/$rf/$rs" ]; then
		mark=" **differs**"
		status=1
	fi
	echo "| $w | $gp / $gf / $gs | $rp / $rf / $rs$mark | $gt | $rt | $gn; $rn |"
done
if [ -n "$differ" ]; then
	echo
	echo "Outputs differ between glibc and rezone:$differ"
	status=1
fi
exit $status
