#!/bin/sh
# run-guard.sh - the integration suite in guard mode (REZONE_GUARD=1): large
# blocks end at their usable size and freed ones are inaccessible, so any
# stray access by the allocator itself faults.
exec "$(dirname "$0")/run-suite.sh" REZONE_GUARD=1
