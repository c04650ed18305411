#!/bin/sh
# 70000 one-page large blocks alive.
REZONE_LARGE_THRESHOLD=4096; export REZONE_LARGE_THRESHOLD
exec "$(dirname "$0")/run.sh" maps -n 70000
