#!/usr/bin/env bash
# scripts/fuzz.sh - build the libFuzzer drivers and run them.
#
#   scripts/fuzz.sh [SECONDS]         (default 60)
#
# Configures build-fuzz/ with clang (-DLLE_BUILD_FUZZ=ON), builds
# lle-fuzz-ops (fuzz/ops.c: the pools, arenas, debugging and guard pages)
# and lle-fuzz-text (fuzz/text.c: the text buffer), the library compiled
# with ASan+UBSan and the fuzzer's instrumentation, and runs each for
# SECONDS in turn on the seed inputs of fuzz/corpus/NAME plus the inputs
# earlier runs found (build-fuzz/corpus/NAME, kept between runs).  Prints
# each run's final stats line.  Fails when the build fails, or when a
# driver found a crash, a sanitizer report, a leak, a timeout or a broken
# invariant: the input is then in build-fuzz/artifacts/ (ops) or
# build-fuzz/artifacts-text/ (text) and can be replayed with
#
#   build-fuzz/fuzz/lle-fuzz-ops build-fuzz/artifacts/crash-...
#
# (LLE_FUZZ_VERBOSE=1 lists the operations of lle-fuzz-ops as they run).
#
# Environment: LLE_JOBS (default 2) build jobs; LLE_FUZZ_WORKERS (default 1)
# fuzzing processes run side by side on the same corpus; LLE_FUZZ_ARGS: more
# libFuzzer options.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
secs=${1:-60}
case $secs in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
jobs=${LLE_JOBS:-2}
workers=${LLE_FUZZ_WORKERS:-1}
dir=build-fuzz

note() { printf 'fuzz: %s\n' "$*"; }

if ! command -v clang > /dev/null 2>&1; then
    note "clang not found (scripts/install-deps.sh installs it)"
    exit 1
fi
# libFuzzer ships in its own package on Debian (libclang-rt-N-dev).
probe=$(mktemp -d)
if ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
        > "$probe/t.c" ||
   ! clang -fsanitize=fuzzer,address,undefined "$probe/t.c" -o "$probe/t" > "$probe/log" 2>&1; then
    cat "$probe/log"
    note "clang cannot link -fsanitize=fuzzer: libFuzzer is missing (scripts/install-deps.sh)"
    rm -rf "$probe"
    exit 1
fi
rm -rf "$probe"

mkdir -p "$dir"
log=$dir/fuzz-build.log
note "configuring and building $dir"
if ! { CC=clang cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLE_BUILD_FUZZ=ON \
           -DLLE_BUILD_TESTS=OFF -DLLE_BUILD_BENCH=OFF -DLLE_BUILD_TOOLS=OFF -DLLE_SANITIZE= &&
       cmake --build "$dir" --target lle-fuzz-ops lle-fuzz-text -j "$jobs"; } > "$log" 2>&1; then
    cat "$log"
    note "build FAILED (log above, kept in $log)"
    exit 1
fi

# Ours last: they win over the same options set in the environment.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:allocator_may_return_null=0
# shellcheck disable=SC2206
extra=(${LLE_FUZZ_ARGS:-})

# run NAME ARTIFACTS RUN_LOG: lle-fuzz-NAME for $secs seconds; 1 on a finding.
run() {
    local name=$1 artifacts=$root/$dir/$2 run_log=$dir/$3
    local corpus=$root/$dir/corpus/$name bin=$dir/fuzz/lle-fuzz-$name
    mkdir -p "$corpus" "$artifacts"
    rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-* \
          "$artifacts"/slow-unit-*
    rm -f "$dir"/fuzz-[0-9]*.log
    local args=(-max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1
                -artifact_prefix="$artifacts/")
    if [ "$workers" -gt 1 ]; then
        args+=(-workers="$workers" -jobs="$workers")
    fi
    local seeds=()
    [ -d "$root/fuzz/corpus/$name" ] && seeds=("$root/fuzz/corpus/$name")
    note "running lle-fuzz-$name for ${secs}s ($workers process(es)), log in $run_log"
    # From build-fuzz/: with -jobs each worker writes its own fuzz-N.log there.
    (cd "$dir" && "$root/$bin" "${args[@]}" "${extra[@]}" "$corpus" "${seeds[@]}") \
        > "$run_log" 2>&1
    local rc=$?
    # The final stats of each process (the main log also gets each worker's
    # log when it ends).
    for f in "$dir"/fuzz-[0-9]*.log; do
        [ -f "$f" ] || continue
        echo "  worker $(basename "$f" .log):"
        grep -E '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|^stat::' "$f" | sed 's/^/    /'
    done
    if [ "$workers" -le 1 ]; then
        grep -E '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|^stat::' "$run_log" | sed 's/^/  /'
    fi
    # slow-unit-*: inputs that took long, kept for a look but not findings
    local found slow
    found=$(find "$artifacts" -type f ! -name 'slow-unit-*' | head -n 5)
    slow=$(find "$artifacts" -type f -name 'slow-unit-*' | wc -l)
    [ "$slow" -gt 0 ] && note "lle-fuzz-$name: $slow slow input(s) kept in $artifacts (not a failure)"
    if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
        grep -E 'invariant failed|text fuzz:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' \
            "$run_log" | head -n 20 | sed 's/^/  /'
        note "lle-fuzz-$name FAILED (exit $rc); inputs kept:"
        for f in $found; do printf '  %s\n' "$f"; done
        return 1
    fi
    note "lle-fuzz-$name: no crash, no invariant failure in ${secs}s; corpus: $(find "$corpus" -type f | wc -l) inputs"
}

status=0
run ops artifacts fuzz-run.log || status=1
run text artifacts-text fuzz-run-text.log || status=1
exit $status
