#!/bin/sh
# test-wrapper.sh - the `rezone` wrapper: --version, --help, run (injects the
# library and becomes the program: its status and signals are the
# program's), a missing program, stats (summary of a REZONE_STATS=FILE
# record file) and usage errors.
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
check run_injects_rezone_into_an_unmodified_program sh -c "echo \"$out\" | grep -q '^8388608' && echo \"$out\" | grep -q ': large_allocs=[1-9]'"
err=$("$wrapper" run 2>&1 >/dev/null); status=$?
check run_without_a_program_is_a_usage_error [ $status -eq 2 ]
check run_without_a_program_prints_the_usage sh -c "echo \"$err\" | grep -q '^usage: rezone run'"
err=$(REZONE_LIBRARY="$lib" "$wrapper" run nosuchprogram 2>&1); status=$?
check run_of_a_missing_program_exits_127 [ $status -eq 127 ]
check run_of_a_missing_program_says_command_not_found [ "$err" = "rezone: nosuchprogram: command not found" ]
err=$(REZONE_LIBRARY="$lib" "$wrapper" run /dev/null/nothing 2>&1); status=$?
check run_of_a_missing_path_exits_127 [ $status -eq 127 ]
plain=$(mktemp)
err=$(REZONE_LIBRARY="$lib" "$wrapper" run "$plain" 2>&1); status=$?
check run_of_a_file_that_is_not_executable_exits_126 [ $status -eq 126 ]
rm -f "$plain"
out=$(REZONE_LIBRARY="$lib" "$wrapper" run echo builtin too)
check run_finds_a_program_that_is_also_a_shell_builtin [ "$out" = "builtin too" ]
REZONE_LIBRARY="$lib" "$wrapper" run sh -c 'exit 42'
check run_passes_the_exit_status_on [ $? -eq 42 ]
# Killed by a signal, not exiting 128+N: the wrapper became the program.
sig=$(REZONE_LIBRARY="$lib" perl -e 'system(@ARGV); print $? & 127' "$wrapper" run sh -c 'kill -TERM $$')
check run_passes_a_fatal_signal_on [ "$sig" = 15 ]
pids=$(REZONE_LIBRARY="$lib" sh -c 'echo $$; exec "$0" run sh -c "echo \$\$"' "$wrapper" | tr '\n' ' ')
check run_execs_the_program_in_its_own_process sh -c "set -- $pids; [ \$# -eq 2 ] && [ \$1 = \$2 ]"
stats=$(mktemp)
for n in 8 16; do
	REZONE_LIBRARY="$lib" REZONE_STATS="$stats" "$wrapper" run perl -e "\$s = 'x' x ($n << 20); \$s .= 'y' x (4 << 20)"
done
table=$("$wrapper" stats "$stats")
check stats_file_has_one_record_per_process [ "$(grep -c '"program":"perl"' "$stats")" -eq 2 ]
check stats_summary_has_a_header_a_perl_row_and_a_total sh -c "echo \"$table\" | grep -q '^program *procs *large_allocs' &&
	echo \"$table\" | grep -Eq '^perl +2 +[1-9]' && echo \"$table\" | grep -q '^TOTAL'"
rm -f "$stats"
"$wrapper" stats >/dev/null 2>&1
check stats_without_a_file_is_a_usage_error [ $? -eq 2 ]
"$wrapper" frobnicate >/dev/null 2>&1
check unknown_command_is_a_usage_error [ $? -eq 2 ]
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
