#!/usr/bin/env bash
# tests/consumer/run.sh BUILD_DIR
#
# Installs the lle-memory build in BUILD_DIR into a temporary prefix, then
# builds the consumer program in this directory against that prefix only:
#   1. with CMake:      find_package(lle-memory CONFIG)  (shared and static)
#   2. with pkg-config: cc $(pkg-config --cflags --libs lle-memory)
#                       and the --static variant against liblle-memory.a
# and runs every binary.  Removes the prefix afterwards; exits non-zero on
# the first failure.
#
# Environment: CMAKE (default: cmake), CC (default: cc), LLE_CONFIG (the
# build configuration to install, for multi-config generators), CFLAGS and
# LDFLAGS (added to every consumer build, e.g. sanitizer flags).
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build_dir=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmake_bin=${CMAKE:-cmake}
cc_bin=${CC:-cc}
config=${LLE_CONFIG:-}

say() { printf 'consumer: %s\n' "$*"; }
fail() { printf 'consumer: FAILED: %s\n' "$*" >&2; exit 1; }

[ -f "$build_dir/cmake_install.cmake" ] ||
    fail "$build_dir is not a configured lle-memory build directory"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lle-consumer.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
prefix=$tmp/prefix

# ------------------------------------------------------------------ install
say "installing $build_dir into a temporary prefix"
install_args=(--install "$build_dir" --prefix "$prefix")
[ -n "$config" ] && install_args+=(--config "$config")
"$cmake_bin" "${install_args[@]}" > "$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    fail "cmake --install"
}

find_one() { # find_one NAME: the single installed file called NAME
    local hits
    hits=$(find "$prefix" -name "$1" \( -type f -o -type l \) | sort)
    [ -n "$hits" ] || fail "$1 was not installed"
    [ "$(printf '%s\n' "$hits" | wc -l)" -eq 1 ] || fail "$1 was installed more than once: $hits"
    printf '%s\n' "$hits"
}
[ -f "$prefix/include/lle/memory.h" ] || fail "include/lle/memory.h was not installed"
shared_lib=$(find_one liblle-memory.so)
static_lib=$(find_one liblle-memory.a)
config_file=$(find_one lle-memoryConfig.cmake)
find_one lle-memoryConfigVersion.cmake > /dev/null
pc_file=$(find_one lle-memory.pc)
libdir=$(dirname "$shared_lib")
[ "$(dirname "$static_lib")" = "$libdir" ] || fail "static and shared libraries in different directories"
say "installed: ${shared_lib#"$prefix"/}, ${static_lib#"$prefix"/}, ${config_file#"$prefix"/}, ${pc_file#"$prefix"/}"

# check_needed BINARY yes|no: whether BINARY needs liblle-memory.so at run time,
# and when it does, that it resolves to the installed copy.
check_needed() {
    local bin=$1 want=$2 needed
    command -v readelf > /dev/null 2>&1 || return 0
    needed=$(readelf -d "$bin" | grep -c 'NEEDED.*liblle-memory\.so' || true)
    if [ "$want" = yes ]; then
        [ "$needed" -ge 1 ] || fail "$(basename "$bin") does not link liblle-memory.so"
        if command -v ldd > /dev/null 2>&1; then
            LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} ldd "$bin" |
                grep 'liblle-memory\.so' | grep -qF "$libdir/" ||
                fail "$(basename "$bin") does not load liblle-memory.so from the prefix"
        fi
    else
        [ "$needed" -eq 0 ] || fail "$(basename "$bin") links liblle-memory.so, expected the static library"
    fi
}

run() { # run BINARY
    say "running $(basename "$1")"
    LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$1" ||
        fail "$(basename "$1") exited with status $?"
}

# ------------------------------------------------------------------ CMake
say "building with CMake find_package(lle-memory CONFIG)"
cmake_args=(-S "$here" -B "$tmp/cmake-build"
            -DCMAKE_PREFIX_PATH="$prefix"
            -DCMAKE_C_COMPILER="$cc_bin"
            -DCMAKE_BUILD_TYPE=Release
            -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
            -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
"$cmake_bin" "${cmake_args[@]}" > "$tmp/cmake-configure.log" 2>&1 || {
    cat "$tmp/cmake-configure.log" >&2
    fail "configuring the consumer with CMake"
}
found_dir=$(sed -n 's/^lle-memory_DIR:[A-Z]*=//p' "$tmp/cmake-build/CMakeCache.txt")
[ "$found_dir" = "$(dirname "$config_file")" ] ||
    fail "find_package found '$found_dir', not the temporary prefix"
"$cmake_bin" --build "$tmp/cmake-build" > "$tmp/cmake-build.log" 2>&1 || {
    cat "$tmp/cmake-build.log" >&2
    fail "building the consumer with CMake"
}
check_needed "$tmp/cmake-build/consumer_shared" yes
check_needed "$tmp/cmake-build/consumer_static" no
run "$tmp/cmake-build/consumer_shared"
run "$tmp/cmake-build/consumer_static"

# ------------------------------------------------------------------ pkg-config
say "building with pkg-config"
command -v pkg-config > /dev/null 2>&1 || fail "pkg-config is not installed"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc_file")
pkg-config --exists --print-errors lle-memory || fail "pkg-config does not find lle-memory"
say "pkg-config: lle-memory $(pkg-config --modversion lle-memory)"
pc_prefix=$(pkg-config --variable=prefix lle-memory)
[ "$pc_prefix" = "$prefix" ] || fail "lle-memory.pc has prefix '$pc_prefix', expected '$prefix'"
pc_cflags=$(pkg-config --cflags lle-memory)
pc_libs=$(pkg-config --libs lle-memory)
pc_static_libs=$(pkg-config --static --libs lle-memory)
# Link the static archive by its file name (-l:liblle-memory.a): the shared
# library sits beside it and -llle-memory would pick that one.
pc_static_libs=$(printf '%s\n' "$pc_static_libs" | sed 's/\(^\| \)-llle-memory\( \|$\)/\1-l:liblle-memory.a\2/')
case " $pc_static_libs " in
    *" -l:liblle-memory.a "*) ;;
    *) fail "pkg-config --static --libs has no -llle-memory: $pc_static_libs" ;;
esac

# The flags are meant to be split into words; file names must not be globbed.
set -f
# shellcheck disable=SC2086
"$cc_bin" -std=c11 -Wall -Wextra -Werror ${CFLAGS:-} $pc_cflags "$here/main.c" \
    -o "$tmp/consumer_pc" ${LDFLAGS:-} $pc_libs ||
    fail "cc \$(pkg-config --cflags --libs lle-memory)"
# shellcheck disable=SC2086
"$cc_bin" -std=c11 -Wall -Wextra -Werror ${CFLAGS:-} $pc_cflags "$here/main.c" \
    -o "$tmp/consumer_pc_static" ${LDFLAGS:-} $pc_static_libs ||
    fail "cc \$(pkg-config --cflags --static --libs lle-memory)"
set +f
check_needed "$tmp/consumer_pc" yes
check_needed "$tmp/consumer_pc_static" no
run "$tmp/consumer_pc"
run "$tmp/consumer_pc_static"

say "all consumer builds passed"
