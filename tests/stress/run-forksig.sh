#!/bin/sh
# fork from a signal handler that interrupted malloc/free/realloc (small
# and large), 1,000 times, single-threaded.
STRESS_TIMEOUT=${STRESS_TIMEOUT:-240}; export STRESS_TIMEOUT
exec "$(dirname "$0")/run.sh" forksig -n 1000
