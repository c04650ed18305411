#!/bin/sh
# run-default.sh - the integration suite with rezone's default options.
exec "$(dirname "$0")/run-suite.sh"
