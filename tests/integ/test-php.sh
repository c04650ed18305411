#!/bin/sh
# test-php.sh - PHP under rezone: Debian's php-cli loads its extensions
# with dlopen(RTLD_DEEPBIND) and crashed at start-up with any preloaded
# allocator until rezone dropped the flag (src/frontend/deepbind_linux.c).
# Runs `php -r` and php-big.php with and without the library and compares
# their output. Skips (77) where php is not installed (scripts/setup.sh
# installs php-cli as an optional package).
lib=${REZONE_LIB:?set by make check}
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v php >/dev/null 2>&1; then
	echo "SKIP: php not installed (apt-get install php-cli)"
	exit 77
fi
passed=0 failed=0
same() { # name, then the php arguments
	name=$1; shift
	want=$(timeout 120 php -d memory_limit=-1 "$@" 2>&1)
	got=$(LD_PRELOAD=$lib timeout 120 php -d memory_limit=-1 "$@" 2>&1)
	status=$?
	if [ $status -eq 0 ] && [ "$got" = "$want" ]; then
		passed=$((passed + 1)); echo "PASS: $name ($got)"
	else
		failed=$((failed + 1))
		echo "FAIL: $name: status $status under rezone"
		echo "  glibc:  $want"; echo "  rezone: $got"
	fi
}
same php_r_prints_like_glibc -r 'echo 1, "\n";'
same php_builds_256mib_string_and_2m_array_like_glibc "$here/php-big.php"
# The big script really went through rezone's large path.
stats=$(LD_PRELOAD=$lib REZONE_STATS=1 timeout 120 php -d memory_limit=-1 "$here/php-big.php" 2>&1 >/dev/null)
if echo "$stats" | grep -q 'large_allocs=[1-9]'; then
	passed=$((passed + 1)); echo "PASS: php_big_script_uses_large_blocks"
else
	failed=$((failed + 1)); echo "FAIL: php_big_script_uses_large_blocks: $stats"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
