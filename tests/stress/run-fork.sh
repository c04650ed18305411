#!/bin/sh
# fork from threads and from a signal handler while threads allocate.
exec "$(dirname "$0")/run.sh" fork -t 3 -n 200
