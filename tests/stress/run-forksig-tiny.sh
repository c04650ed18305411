#!/bin/sh
# the same with a one-page threshold (most interrupted calls are large).
REZONE_LARGE_THRESHOLD=4096; export REZONE_LARGE_THRESHOLD
STRESS_TIMEOUT=${STRESS_TIMEOUT:-240}; export STRESS_TIMEOUT
exec "$(dirname "$0")/run.sh" forksig -n 500
