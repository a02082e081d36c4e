#!/usr/bin/env bash
# scripts/install-deps.sh - install the Debian packages lle-memory needs.
#
# Installs only the packages that are missing; when none is missing it does
# nothing at all (no `apt-get update`).  Never prompts: apt runs
# non-interactively, and sudo (used only when not root) is asked with -n
# when there is no terminal or CI=true.
#
#   scripts/install-deps.sh           install what is missing
#   scripts/install-deps.sh --check   only list what is missing (exit 1 if any)
set -euo pipefail

packages=(
    # build
    cmake pkg-config gcc make clang
    # libraries the library uses
    libsodium-dev libutf8proc-dev libzstd-dev
    # tests (electric-fence: a peer of tests/wrong/run-detection.sh;
    # libclang-rt-14-dev: libFuzzer for clang, scripts/fuzz.sh)
    libcmocka-dev valgrind unicode-data electric-fence libclang-rt-14-dev
    # benchmark peers
    libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev libtalloc-dev
    libapr1-dev libgc-dev libreadline-dev
)

check_only=0
case "${1:-}" in
    --check) check_only=1 ;;
    "") ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if ! command -v dpkg-query > /dev/null 2>&1; then
    echo "install-deps: dpkg-query not found: this script is for Debian and its derivatives" >&2
    exit 1
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2> /dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages are installed"
    exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if [ "$check_only" -eq 1 ]; then
    exit 1
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo > /dev/null 2>&1; then
        echo "install-deps: not root and sudo is not installed; install as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    if [ "${CI:-}" = true ] || [ ! -t 0 ]; then
        as_root=(sudo -n)   # fail rather than wait for a password
    else
        as_root=(sudo)
    fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}"

# Check that everything is really there now.
still=()
for p in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2> /dev/null || true)
    [ "$status" = "install ok installed" ] || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
    echo "install-deps: still missing after apt-get install: ${still[*]}" >&2
    exit 1
fi
echo "install-deps: installed ${missing[*]}"
