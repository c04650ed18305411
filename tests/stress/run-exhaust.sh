#!/bin/sh
# every function under a lowered RLIMIT_AS.
exec "$(dirname "$0")/run.sh" exhaust
