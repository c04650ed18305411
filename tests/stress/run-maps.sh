#!/bin/sh
# 70000 large blocks alive (vm.max_map_count pressure).
exec "$(dirname "$0")/run.sh" maps -n 70000
