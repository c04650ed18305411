#!/bin/sh
# jemalloc_hooks.sh - lets small_jemalloc.c take over some of jemalloc's
# internal functions for every caller, jemalloc's own objects included.
#
#   jemalloc_hooks.sh ARCHIVE FN...          rewrite ARCHIVE in place
#   jemalloc_hooks.sh --check ARCHIVE FN...  exit 0 when it can be done
#
# For each FN (a global function defined in one member of ARCHIVE), the
# defining member gets a second name for FN's code, rzje_real_FN, and FN
# itself becomes weak. small_jemalloc.c defines FN (strong), so every call
# to FN, from any object, comes to it, and it calls rzje_real_FN.
# The linker's --wrap cannot do this: it only redirects references that
# are undefined in their object, so a call from the object that defines
# FN (jemalloc.c choosing an arena inside its own malloc) is out of its
# reach (src/README.md, "Reaching jemalloc's internal calls").
# It is right only when every call to FN in the defining member goes
# through a relocation against FN's symbol (the assembler's choice for a
# global symbol) and nothing else names FN's address (a local alias):
# --check verifies both, and configure falls back to --wrap without it.
#
# Tools: $NM, $READELF, $OBJCOPY, $OBJDUMP, $AR (defaults: the plain names).
set -eu

NM=${NM:-nm}
READELF=${READELF:-readelf}
OBJCOPY=${OBJCOPY:-objcopy}
OBJDUMP=${OBJDUMP:-objdump}
AR=${AR:-ar}

check=no
if [ "${1:-}" = --check ]; then
	check=yes
	shift
fi
[ $# -ge 2 ] || { echo "usage: $0 [--check] ARCHIVE FN..." >&2; exit 2; }
archive=$1
shift
case $archive in /*) ;; *) archive=$(pwd)/$archive ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/rzhooks.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

fail() {
	echo "jemalloc_hooks.sh: $*" >&2
	exit 1
}

for fn in "$@"; do
	# "archive:member:value T name": the one member that defines FN.
	member=$($NM -A "$archive" 2>/dev/null |
		awk -v fn="$fn" '$NF == fn && $(NF-1) == "T" { n = split($1, a, ":"); print a[n-1] }')
	[ -n "$member" ] || fail "$fn: not defined in $archive"
	[ "$(printf '%s\n' "$member" | wc -l)" -eq 1 ] || fail "$fn: defined in more than one member"
	(cd "$work" && rm -f "$member" && $AR x "$archive" "$member")
	obj=$work/$member

	# FN's value and section index, and that no other function symbol
	# sits at the same place (a local alias would bypass the hook).
	sym=$($READELF -sW "$obj" | awk -v fn="$fn" '$8 == fn && $4 == "FUNC" { print $2, $7 }')
	[ -n "$sym" ] || fail "$fn: no function symbol in $member"
	value=${sym% *}
	ndx=${sym#* }
	aliases=$($READELF -sW "$obj" |
		awk -v fn="$fn" -v v="$value" -v n="$ndx" '$2 == v && $7 == n && $4 == "FUNC" && $8 != fn' | wc -l)
	[ "$aliases" -eq 0 ] || fail "$fn: another symbol names its code in $member"
	section=$($READELF -SW "$obj" | sed 's/\[ */[/' |
		awk -v n="[$ndx]" '$1 == n { print $2 }')
	[ -n "$section" ] || fail "$fn: section $ndx not found in $member"

	# The disassembly check below is written for x86-64's objdump output;
	# another architecture would pass it by printing no such lines.
	case $($OBJDUMP -f "$obj") in
	*x86-64*) ;;
	*) fail "$member: not an x86-64 object" ;;
	esac
	# Every call or jump to FN in its own member carries a relocation
	# (objdump -dr prints it on the next line); an unrelocated one was
	# resolved by the assembler and would still reach jemalloc's FN.
	$OBJDUMP -dr --no-show-raw-insn "$obj" | awk -v fn="$fn" '
		pending { if ($0 !~ ("R_X86_64_[A-Z0-9]+[ \t]+" fn "-")) bad++; pending = 0 }
		$0 ~ ("(call|jmp)[a-z]*[ \t]+[0-9a-f]+ <" fn ">$") { pending = 1 }
		END { exit bad > 0 }' ||
		fail "$fn: a call in $member does not go through its symbol"

	[ $check = yes ] && continue
	$OBJCOPY --weaken-symbol="$fn" \
		--add-symbol="rzje_real_$fn=$section:0x$value,global,function" "$obj"
	$AR r "$archive" "$obj"
done
[ $check = yes ] || $AR s "$archive"
