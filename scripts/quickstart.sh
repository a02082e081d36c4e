#!/usr/bin/env bash
# scripts/quickstart.sh - from a fresh clone to a working library.
#
# Installs the missing Debian packages, builds lle-memory into build/
# (RelWithDebInfo; set BUILD_TYPE=Release to change), and runs
# `build/tools/lle-memory selftest`.  The exit status is the self-test's.
#
# Environment: BUILD_TYPE (default RelWithDebInfo), LLE_JOBS (default: the
# number of processors).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build_type=${BUILD_TYPE:-RelWithDebInfo}
jobs=${LLE_JOBS:-$(nproc 2> /dev/null || echo 2)}

scripts/install-deps.sh

echo "quickstart: building lle-memory ($build_type) into build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type"
cmake --build build -j "$jobs"

tool=build/tools/lle-memory
if [ ! -x "$tool" ]; then
    echo "quickstart: $tool was not built (is LLE_BUILD_TOOLS off in build/CMakeCache.txt?)" >&2
    exit 1
fi

echo "quickstart: running $tool selftest"
status=0
"$tool" selftest || status=$?
if [ "$status" -eq 0 ]; then
    echo "quickstart: self-test passed"
else
    echo "quickstart: self-test FAILED (exit status $status)" >&2
fi
exit "$status"
