#!/bin/sh
# run-strict-commit.sh - the integration suite as under vm.overcommit_memory=2:
# headroom reserved PROT_NONE and opened with mprotect as blocks grow.
exec "$(dirname "$0")/run-suite.sh" REZONE_STRICT_COMMIT=1
