#!/bin/sh
# multi-threaded churn, default threshold.
exec "$(dirname "$0")/run.sh" churn -t 4 -r 3 -s 2
