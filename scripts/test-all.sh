#!/usr/bin/env bash
# scripts/test-all.sh - every check the project has, as CI runs it.
#
#   scripts/test-all.sh [STAGE...]     (default: all stages, in this order)
#
# Stages:
#   werror    -Werror build in build-ci/, every test (ctest --output-on-failure)
#   asan      ASan+UBSan build in build-asan/, every test but label consumer
#   tsan      TSan build in build-tsan/, the tests labelled concurrency
#   valgrind  build-valgrind/ (-Werror, -DLLE_ANNOTATE=ON: the pools and
#             arenas tell valgrind about their blocks): the tests labelled
#             unit under valgrind memcheck (any valgrind error or leak fails
#             the test), then those labelled valgrind (tests/wrong: each
#             runs a deliberate bug under valgrind and passes only when
#             valgrind reports it)
#   fuzz      scripts/fuzz.sh: the libFuzzer drivers fuzz/ops.c and
#             fuzz/text.c built with clang in build-fuzz/, each run for
#             LLE_FUZZ_SECONDS (default 60)
#
# Dependencies are installed first (scripts/install-deps.sh: only what is
# missing).  Every stage runs even when an earlier one failed, and the last
# line is `test-all: N passed, N failed` (stages); the exit status is
# non-zero when any stage failed.  Nothing prompts (CI=true is honoured).
#
# Environment: LLE_JOBS (default 2) parallel build jobs and tests;
# ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS override the defaults below;
# LLE_FUZZ_SECONDS the length of the fuzz stage's run.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
jobs=${LLE_JOBS:-2}
all_stages=(werror asan tsan valgrind fuzz)
if [ $# -gt 0 ]; then
    stages=("$@")
else
    stages=("${all_stages[@]}")
fi
for s in "${stages[@]}"; do
    case " ${all_stages[*]} " in
        *" $s "*) ;;
        *) echo "test-all: unknown stage '$s' (stages: ${all_stages[*]})" >&2; exit 2 ;;
    esac
done

if [ "${CI:-}" = true ]; then
    export DEBIAN_FRONTEND=noninteractive
    exec < /dev/null
fi

passed=0
failed=0
skipped=0
summary=()
declare -A built=()      # build dir -> yes once it built in this run
ctest_wrap=()            # command run_ctest puts before ctest

banner() { printf '\n==================== test-all: %s ====================\n' "$*"; }
note() { printf 'test-all: %s\n' "$*"; }

# ---------------------------------------------------------------- helpers

# build DIR CMAKE_ARGS...: configure and build; the log is shown on failure.
build() {
    local dir=$1; shift
    local log
    mkdir -p "$dir"
    log=$dir/test-all-build.log
    note "configuring and building $dir ($*)"
    if ! { cmake -S "$root" -B "$dir" -DLLE_BUILD_TESTS=ON "$@" &&
           cmake --build "$dir" -j "$jobs"; } > "$log" 2>&1; then
        cat "$log"
        note "build of $dir FAILED (log above, kept in $log)"
        built[$dir]=failed
        return 1
    fi
    built[$dir]=yes
    note "built $dir"
}

# count_tests DIR CTEST_FILTER...: how many tests the filter selects.
count_tests() {
    local dir=$1; shift
    [ -f "$dir/CTestTestfile.cmake" ] || { echo 0; return; }
    local n
    n=$(cd "$dir" && ctest -N "$@" 2> /dev/null | sed -n 's/^Total Tests: *//p')
    echo "${n:-0}"
}

# label_declared LABEL: whether a test CMake file gives tests that label.
label_declared() {
    grep -rEqs --include=CMakeLists.txt --include='*.cmake' \
        "LABELS.*\\b$1\\b" "$root/tests"
}

# have_tests DIR REQUIRED CTEST_FILTER...: 0 when the filter selects tests.
# When it selects nothing: 1 (the stage fails) if REQUIRED is yes, else 77
# (the stage is skipped).
have_tests() {
    local dir=$1 required=$2; shift 2
    [ "$(count_tests "$dir" "$@")" -gt 0 ] && return 0
    if [ "$required" = yes ]; then
        note "no tests match '$*' in $dir, but they should exist: FAILED"
        return 1
    fi
    note "no tests match '$*' in $dir yet: stage skipped"
    return 77
}

# run_ctest DIR REQUIRED CTEST_FILTER...: run the selected tests (see
# have_tests for when there are none).
run_ctest() {
    local dir=$1
    have_tests "$@" || return
    shift 2
    (cd "$dir" && "${ctest_wrap[@]}" ctest --output-on-failure --no-tests=error -j "$jobs" "$@")
}

# Tests of a label must exist once a test file declares the label or the
# -Werror build (which has every test) has some.
label_required() {
    if label_declared "$1" || [ "$(count_tests build-ci -L "^$1\$")" -gt 0 ]; then
        echo yes
    else
        echo no
    fi
}

# ---------------------------------------------------------------- stages

stage_werror() {
    build build-ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLE_WERROR=ON -DLLE_SANITIZE= || return 1
    run_ctest build-ci yes
}

stage_asan() {
    local required=no
    if [ "$(count_tests build-ci -LE '^consumer$')" -gt 0 ] ||
       label_declared unit || label_declared concurrency; then
        required=yes
    fi
    build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLE_SANITIZE=address,undefined \
        -DLLE_BUILD_BENCH=OFF -DLLE_WERROR=OFF || return 1
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        run_ctest build-asan "$required" -LE '^consumer$'
}

stage_tsan() {
    local required
    local ctest_wrap=()
    required=$(label_required concurrency)
    # ThreadSanitizer cannot map its shadow memory on kernels with more
    # mmap randomisation than it expects; run it without ASLR when we can.
    if setarch "$(uname -m)" -R true > /dev/null 2>&1; then
        ctest_wrap=(setarch "$(uname -m)" -R)
    fi
    build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLE_SANITIZE=thread \
        -DLLE_BUILD_BENCH=OFF -DLLE_WERROR=OFF || return 1
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
        run_ctest build-tsan "$required" -L '^concurrency$'
}

stage_valgrind() {
    local required rc
    required=$(label_required unit)
    # Its own build: the annotated library is what runs under valgrind.
    build build-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLE_WERROR=ON -DLLE_SANITIZE= \
        -DLLE_ANNOTATE=ON -DLLE_BUILD_BENCH=OFF || return 1
    have_tests build-valgrind "$required" -L '^unit$' || return
    ctest -V -S "$root/scripts/memcheck.cmake" -DLLE_BUILD_DIR="$root/build-valgrind" \
        -DLLE_LABEL=unit -DLLE_JOBS="$jobs"
    rc=$?
    # These run valgrind themselves: plain ctest, not memcheck.
    run_ctest build-valgrind "$(label_required valgrind)" -L '^valgrind$' || rc=1
    return $rc
}

stage_fuzz() {
    "$root/scripts/fuzz.sh" "${LLE_FUZZ_SECONDS:-60}"
}

# ---------------------------------------------------------------- main

banner "dependencies"
if ! "$root/scripts/install-deps.sh"; then
    note "scripts/install-deps.sh FAILED"
    failed=$((failed + 1))
    summary+=("deps      FAILED")
fi

for s in "${stages[@]}"; do
    banner "stage $s"
    start=$SECONDS
    "stage_$s"
    rc=$?
    secs=$((SECONDS - start))
    case $rc in
        0) passed=$((passed + 1)); result="passed" ;;
        77) skipped=$((skipped + 1)); result="skipped (no tests yet)" ;;
        *) failed=$((failed + 1)); result="FAILED" ;;
    esac
    summary+=("$(printf '%-9s %s (%ds)' "$s" "$result" "$secs")")
    note "stage $s: $result in ${secs}s"
done

banner "summary"
for line in "${summary[@]}"; do
    printf '  %s\n' "$line"
done
if [ "$skipped" -gt 0 ]; then
    echo "test-all: $passed passed, $failed failed, $skipped skipped"
else
    echo "test-all: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
