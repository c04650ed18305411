#!/bin/sh
# run-suite.sh - runs the integration suite (preload_suite) under exactly the
# rezone option settings given as arguments (NAME=value ...), for the
# run-*.sh wrappers that make check lists as tests.
#
# Every other REZONE_* option inherited from the caller is cleared, so a
# run means one setting only; the suite's own variables (REZONE_LIB,
# REZONE_PROBE, REZONE_CXX_PROBE, REZONE_INTEG_SUITE, set by
# tests/Makefile.inc) are kept.
for v in $(env | sed -n 's/^\(REZONE_[A-Za-z0-9_]*\)=.*/\1/p'); do
	case $v in
	REZONE_LIB | REZONE_PROBE | REZONE_CXX_PROBE | REZONE_INTEG_SUITE) ;;
	*) unset "$v" ;;
	esac
done
for setting in "$@"; do
	export "$setting"
done
echo "rezone options: ${*:-(defaults)}"
exec "${REZONE_INTEG_SUITE:?is set by make check (tests/Makefile.inc)}" --verbose
