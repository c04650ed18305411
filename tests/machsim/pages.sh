#!/bin/sh
# pages.sh - re-runs the Mach SIMULATION's "pages" suite under the three
# page-size configurations of real Macs: native arm64 (16 KiB user and
# kernel pages), Intel (4 KiB both) and Rosetta (4 KiB user pages on a
# 16 KiB kernel). The simulation reads MACHSIM_PAGES when it loads, before
# rezone's constructor, so each needs a process of its own.
set -eu
prog=./tests/machsim/test_machsim
status=0
for pages in 16k/16k 4k/4k 4k/16k; do
	if MACHSIM_PAGES=$pages "$prog" --filter='pages/*' -j1; then
		echo "PASS: pages $pages"
	else
		echo "FAIL: pages $pages"
		status=1
	fi
done
exit "$status"
