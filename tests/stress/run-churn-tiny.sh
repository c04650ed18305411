#!/bin/sh
# multi-threaded churn, every page-sized block large.
REZONE_LARGE_THRESHOLD=4096; export REZONE_LARGE_THRESHOLD
exec "$(dirname "$0")/run.sh" churn -t 4 -r 3 -s 2
