#!/bin/sh
# test-wrapper.sh - the `rezone` wrapper: --version, --help, run (injects the
# library and runs the program unmodified), and usage errors.
# Run by make check with REZONE_WRAPPER and REZONE_LIB set.
wrapper=${REZONE_WRAPPER:?set by make check}
lib=${REZONE_LIB:?set by make check}
passed=0 failed=0
check() { # name, condition (shell words)
	name=$1; shift
	if "$@"; then passed=$((passed + 1)); echo "PASS: $name"
	else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
out=$("$wrapper" --version)

check version_prints_rezone_and_a_version sh -c "expr '$out' : 'rezone [0-9][0-9.]*$' >/dev/null"
check help_mentions_run sh -c "\"$wrapper\" --help | grep -q 'rezone run'"
out=$(REZONE_LIBRARY="$lib" "$wrapper" run -- sh -c 'echo "$LD_PRELOAD"')
check run_sets_ld_preload_to_the_library [ "$out" = "$lib" ]
out=$(REZONE_LIBRARY="$lib" REZONE_STATS=1 "$wrapper" run perl -e '$s = "x" x (8 << 20); print length($s), "\n"' 2>&1)
check run_injects_rezone_into_an_unmodified_program sh -c "echo \"$out\" | grep -q '^8388608' && echo \"$out\" | grep -q 'rezone: large_allocs [1-9]'"
"$wrapper" run >/dev/null 2>&1
check run_without_a_program_is_a_usage_error [ $? -eq 2 ]
"$wrapper" frobnicate >/dev/null 2>&1
check unknown_command_is_a_usage_error [ $? -eq 2 ]
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
