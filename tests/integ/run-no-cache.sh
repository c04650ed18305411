#!/bin/sh
# run-no-cache.sh - the integration suite with the freed-large-block cache
# disabled, so every free of a large block unmaps it and every large malloc
# maps afresh.
exec "$(dirname "$0")/run-suite.sh" REZONE_CACHE=0
