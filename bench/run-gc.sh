#!/usr/bin/env bash
# bench/run-gc.sh - the collector's benchmarks (bench/gc.c): pause of a full
# collection of 100,000 objects (10% in unreachable rings) against Boehm
# GC, and the overshoot of lle_memory_idle's budget with collection work
# pending.
#
# R interleaved rounds (default 7): each round runs lle, lle-touched,
# boehm, idle and idle-full once, in an order rotated from round to round; each run does
# its own 11 collections (or 300 idle calls) and reports their median.
# Prints a Markdown report: medians over the rounds, ratios, targets.  Raw
# RESULT lines go to BUILD_DIR/gc-raw.txt.
set -euo pipefail

ROUNDS=7
BUILD=1
BUILD_DIR=build-bench
BUDGET=1000000
usage() {
    cat <<'USAGE'
usage: bench/run-gc.sh [-r ROUNDS] [-b BUDGET_NS] [--no-build] [-B BUILD_DIR]
USAGE
}
ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    -r | --rounds) ROUNDS="$2"; shift 2 ;;
    -b) BUDGET="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -B | --build-dir) BUILD_DIR="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
if [ "$BUILD" = 1 ]; then
    cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLLE_BUILD_TESTS=OFF >&2
    cmake --build "$BUILD_DIR" --target lle-bench-gc -j "$(nproc)" >&2
fi
B="$BUILD_DIR/bench/lle-bench-gc"
[ -x "$B" ] || { echo "run-gc.sh: $B is missing (libgc-dev not installed?)" >&2; exit 1; }
MODES=(lle lle-touched boehm idle idle-full)

RAW="$BUILD_DIR/gc-raw.txt"
: >"$RAW"
n=${#MODES[@]}
for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
        mode=${MODES[$(((i + r) % n))]}
        "$B" "$mode" -b "$BUDGET" -r $([ "${mode#idle}" != "$mode" ] && echo 300 || echo 11) |
            grep '^RESULT' | sed "s/^RESULT /RESULT round=$r /" >>"$RAW"
    done
done

. bench/report-header.sh
report_header bench/run-gc.sh libgc1 libc6 -- ${ARGS[@]+"${ARGS[@]}"}
echo "- rounds: $ROUNDS (each: 11 timed collections, or 300 idle calls of ${BUDGET} ns)"
echo
python3 - "$RAW" "$BUDGET" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kv = dict(t.split("=", 1) for t in line.split()[1:] if "=" in t)
    runs.setdefault(kv["peer"], []).append(kv)
budget = float(sys.argv[2])
def med(peer, key):
    return statistics.median(float(r[key]) for r in runs[peer])
def rng(peer, key):
    v = [float(r[key]) for r in runs[peer]]
    return min(v), max(v)
print("Full collection, 100,000 objects (10% in unreachable rings of 10):")
print()
print("| peer | median pause (ms) | range of run medians (ms) | objects freed |")
print("|---|--:|--:|--:|")
for p in ("lle", "lle-touched", "boehm"):
    if p in runs:
        lo, hi = rng(p, "median_ns")
        print(f"| {p} | {med(p, 'median_ns') / 1e6:.3f} | {lo / 1e6:.3f}-{hi / 1e6:.3f} | {med(p, 'freed'):.0f} |")
if "boehm" in runs:
    b = med("boehm", "median_ns")
    for p in ("lle", "lle-touched"):
        if p not in runs:
            continue
        l = med(p, "median_ns")
        print()
        print(f"- {p} / Boehm: {l / b:.2f}x")
        print(f"- target ({p}): pause under 2 ms: {l / 1e6:.3f} ms -> {'met' if l < 2e6 else 'NOT met'}")
        print(f"- target ({p}): below Boehm: {'met' if l < b else 'NOT met'}")
print()
print(f"lle_memory_idle with a budget of {budget / 1e6:.3f} ms, 1,000 new garbage objects per call:")
print()
print("| work pending | p50 overshoot (us) | p99 overshoot (us) | max (us) | median call (ms) | freed per call | live at end |")
print("|---|--:|--:|--:|--:|--:|--:|")
for p, what in (("idle", "young collections"), ("idle-full", "a full collection, always")):
    if p in runs:
        print(f"| {what} | {med(p, 'p50_over_ns') / 1e3:.2f} | {med(p, 'p99_over_ns') / 1e3:.2f} | "
              f"{max(float(r['max_over_ns']) for r in runs[p]) / 1e3:.1f} | {med(p, 'median_ns') / 1e6:.3f} | "
              f"{med(p, 'freed_per_call'):.0f} | {med(p, 'live_end'):.0f} |")
if "idle-full" in runs:
    p99 = max(med(p, "p99_over_ns") for p in ("idle", "idle-full") if p in runs)
    print()
    print(f"- target: p99 overshoot under 10% of the budget ({budget * 0.1 / 1e3:.0f} us): "
          f"{p99 / 1e3:.2f} us -> {'met' if p99 < budget * 0.1 else 'NOT met'}")
PY
