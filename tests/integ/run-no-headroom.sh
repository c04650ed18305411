#!/bin/sh
# run-no-headroom.sh - the integration suite with no address space reserved
# beyond large blocks, so every growth has to extend or move the mapping.
exec "$(dirname "$0")/run-suite.sh" REZONE_HEADROOM=0
