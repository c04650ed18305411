#!/bin/sh
# the same with a one-page threshold.
REZONE_LARGE_THRESHOLD=4096; export REZONE_LARGE_THRESHOLD
exec "$(dirname "$0")/run.sh" exhaust
