#!/bin/sh
# run-tiny-threshold.sh - the integration suite with a 4 KiB large threshold,
# so nearly every block is a mapping and the large path (table, growth,
# cache, misuse checks) sees all the traffic.
exec "$(dirname "$0")/run-suite.sh" REZONE_LARGE_THRESHOLD=4096
