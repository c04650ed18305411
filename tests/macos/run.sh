#!/bin/sh
# run.sh - the native macOS suite (`make check` on Darwin): tests/macos/native
# with librezone.dylib injected (DYLD_INSERT_LIBRARIES), then Apple's heap,
# vmmap and leaks against a process holding large blocks, which must list
# them (heap: the rezone zone; vmmap: MALLOC_LARGE regions). Written for
# GitHub's macOS runners; not run by us (no Mac here).
set -u
lib=${REZONE_DYLIB:-./.libs/librezone.dylib}
prog=./tests/macos/native
status=0

DYLD_INSERT_LIBRARIES=$lib "$prog" || status=1

out=$(mktemp -d)
mkfifo "$out/in"
DYLD_INSERT_LIBRARIES=$lib "$prog" hold <"$out/in" >"$out/hold" &
holder=$!
exec 3>"$out/in"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	grep -q ready "$out/hold" 2>/dev/null && break
	sleep 1
done
if heap "$holder" >"$out/heap" 2>&1 && grep -q rezone "$out/heap"; then
	echo "ok - heap lists the rezone zone"
else
	echo "not ok - heap lists the rezone zone"; sed -n 1,40p "$out/heap"; status=1
fi
if vmmap "$holder" >"$out/vmmap" 2>&1 && grep -q MALLOC_LARGE "$out/vmmap"; then
	echo "ok - vmmap shows MALLOC_LARGE regions"
else
	echo "not ok - vmmap shows MALLOC_LARGE regions"; sed -n 1,40p "$out/vmmap"; status=1
fi
# leaks exits 1 when it finds leaks; the holder has none, and large blocks
# referenced from its stack must not be reported.
if leaks "$holder" >"$out/leaks" 2>&1; then
	echo "ok - leaks finds no leaks"
else
	echo "not ok - leaks finds no leaks"; sed -n 1,40p "$out/leaks"; status=1
fi
exec 3>&-
wait "$holder" || status=1
rm -rf "$out"
exit "$status"
