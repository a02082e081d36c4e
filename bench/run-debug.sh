#!/usr/bin/env bash
# bench/run-debug.sh - what debugging costs: the churn workload (lle-bench
# churn, 10,000 live blocks of the line-editor size mix) with every pool
# untracked, with one block in 1000 sampled for guard pages (freed ones
# poisoned, the default, or made inaccessible), with tracking
# on, with full debugging on (track, canary, poison, 1 MiB quarantine), and
# the same workload on glibc malloc run under valgrind memcheck.
#
# R interleaved rounds (default 7), the order rotated from round to round;
# medians of ns per operation over the rounds, and their ratios.  valgrind
# runs fewer operations (it is slow); ns per operation is comparable.  Raw
# RESULT lines go to BUILD_DIR/debug-raw.txt.
set -euo pipefail

ROUNDS=7
BUILD=1
BUILD_DIR=build-bench
OPS=2000000
VG_OPS=200000
usage() {
    echo "usage: bench/run-debug.sh [-r ROUNDS] [-n OPS] [--vg-ops N] [--no-build] [-B BUILD_DIR]"
}
ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    -r | --rounds) ROUNDS="$2"; shift 2 ;;
    -n) OPS="$2"; shift 2 ;;
    --vg-ops) VG_OPS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -B | --build-dir) BUILD_DIR="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
if [ "$BUILD" = 1 ]; then
    cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLLE_BUILD_TESTS=OFF >&2
    cmake --build "$BUILD_DIR" --target lle-bench -j "$(nproc)" >&2
fi
B="$BUILD_DIR/bench/lle-bench"
[ -x "$B" ] || { echo "run-debug.sh: $B is missing" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "run-debug.sh: valgrind is not installed" >&2; exit 1; }

run_mode() {
    case "$1" in
    untracked) "$B" lle churn -n "$OPS" --label untracked ;;
    track) "$B" lle churn -n "$OPS" --label track --lle-options pool.all.debug=track ;;
    full) "$B" lle churn -n "$OPS" --label full --lle-options pool.all.debug=full ;;
    sampled) "$B" lle churn -n "$OPS" --label sampled --lle-options pool.all.guard=1000 ;;
    sampled_fault) "$B" lle churn -n "$OPS" --label sampled_fault \
        --lle-options pool.all.guard=1000,pool.all.guard_freed=fault ;;
    valgrind) valgrind -q --error-exitcode=99 "$B" malloc churn -n "$VG_OPS" --label valgrind ;;
    esac
}

MODES=(untracked sampled sampled_fault track full valgrind)
RAW="$BUILD_DIR/debug-raw.txt"
: >"$RAW"
n=${#MODES[@]}
for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
        mode=${MODES[$(((i + r) % n))]}
        run_mode "$mode" | grep '^RESULT' | sed "s/^RESULT /RESULT round=$r /" >>"$RAW"
    done
done

. bench/report-header.sh
report_header bench/run-debug.sh valgrind libc6 -- ${ARGS[@]+"${ARGS[@]}"}
echo "- rounds: $ROUNDS (lle: $OPS operations a run; valgrind: $VG_OPS)"
echo
python3 - "$RAW" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kv = dict(t.split("=", 1) for t in line.split()[1:] if "=" in t)
    runs.setdefault(kv["alloc"], []).append(float(kv["ns_per_op"]))
med = {k: statistics.median(v) for k, v in runs.items()}
what = {"untracked": "lle, no debugging", "track": "lle, pool.all.debug=track",
        "full": "lle, pool.all.debug=full (track, canary, poison, 1 MiB quarantine)",
        "sampled": "lle, pool.all.guard=1000 (one block in 1000 on guard pages)",
        "sampled_fault": "lle, the same with guard_freed=fault (freed pages made inaccessible)",
        "valgrind": "glibc malloc under valgrind memcheck"}
print("| mode | median ns/op | range (ns/op) | / untracked |")
print("|---|--:|--:|--:|")
for k in ("untracked", "sampled", "sampled_fault", "track", "full", "valgrind"):
    if k in med:
        lo, hi = min(runs[k]), max(runs[k])
        print(f"| {what[k]} | {med[k]:.1f} | {lo:.1f}-{hi:.1f} | {med[k] / med['untracked']:.2f}x |")
print()
t, f, u, v = med.get("track"), med.get("full"), med["untracked"], med.get("valgrind")
if t:
    print(f"- target: tracking within 3x untracked: {t / u:.2f}x -> {'met' if t <= 3 * u else 'NOT met'}")
if f and v:
    print(f"- target: full debugging at least 10x faster than valgrind: {v / f:.1f}x -> "
          f"{'met' if v >= 10 * f else 'NOT met'}")
s = med.get("sampled")
if s:
    print(f"- target: sampled guard pages (1 in 1000) within 1.2x untracked: {s / u:.2f}x -> "
          f"{'met' if s <= 1.2 * u else 'NOT met'}")
PY
