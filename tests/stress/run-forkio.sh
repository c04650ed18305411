#!/bin/sh
# fork 1,000 times while 4 threads use stdio (getdelim, fflush(NULL),
# memory streams) and allocate; a deadlock fails by timeout.
STRESS_TIMEOUT=${STRESS_TIMEOUT:-240}; export STRESS_TIMEOUT
exec "$(dirname "$0")/run.sh" forkio -t 4 -n 1000
