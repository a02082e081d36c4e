#!/usr/bin/env bash
# bench/run-scope.sh - the keystroke-scope workload (bench/scope.c): lle-memory's
# event arena against talloc, APR pools, mimalloc heaps, mimalloc and glibc
# with individual frees.
#
# R interleaved rounds (default 7): each round runs every peer once, in an
# order rotated from round to round.  Prints a Markdown report with the
# median ns per keystroke, the range, the ratio of lle-memory to each peer,
# and the targets of DESIGN.md checked.  Raw RESULT lines go to
# BUILD_DIR/scope-raw.txt.
set -euo pipefail

ROUNDS=7
BUILD=1
BUILD_DIR=build-bench
KEYS=200000
usage() {
    cat <<'USAGE'
usage: bench/run-scope.sh [-r ROUNDS] [-n KEYSTROKES] [--no-build] [-B BUILD_DIR]
USAGE
}
ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    -r | --rounds) ROUNDS="$2"; shift 2 ;;
    -n) KEYS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -B | --build-dir) BUILD_DIR="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
if [ "$BUILD" = 1 ]; then
    cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLLE_BUILD_TESTS=OFF >&2
    cmake --build "$BUILD_DIR" --target lle-bench-scope lle-bench-scope-mimalloc -j "$(nproc)" >&2
fi
B="$BUILD_DIR/bench/lle-bench-scope"
BM="$BUILD_DIR/bench/lle-bench-scope-mimalloc"
[ -x "$B" ] || { echo "run-scope.sh: $B is missing (talloc or apr-1 not installed?)" >&2; exit 1; }
PEERS=(lle talloc apr glibc)
[ -x "$BM" ] && PEERS+=(mimalloc mimalloc-free)

RAW="$BUILD_DIR/scope-raw.txt"
: >"$RAW"
n=${#PEERS[@]}
for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
        p=${PEERS[$(((i + r) % n))]}
        bin=$B
        case "$p" in mimalloc*) bin=$BM ;; esac
        "$bin" "$p" -n "$KEYS" | grep '^RESULT' | sed "s/^RESULT /RESULT round=$r /" >>"$RAW"
    done
done

. bench/report-header.sh
report_header bench/run-scope.sh libtalloc2 libapr1 libapr1t64 libmimalloc2.0 libc6 -- ${ARGS[@]+"${ARGS[@]}"}
echo "- rounds: $ROUNDS, keystrokes per run: $KEYS (24 allocations each)"
echo
python3 - "$RAW" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kv = dict(t.split("=", 1) for t in line.split()[1:] if "=" in t)
    runs.setdefault(kv["alloc"], []).append(float(kv["ns_per_op"]))
med = {p: statistics.median(v) for p, v in runs.items()}
lle = med["lle"]
print("| peer | median ns/keystroke | range | ns/allocation | lle / peer |")
print("|---|--:|--:|--:|--:|")
for p in sorted(med, key=med.get):
    v = runs[p]
    print(f"| {p} | {med[p]:.1f} | {min(v):.1f}-{max(v):.1f} | {med[p] / 24:.2f} | {lle / med[p]:.2f}x |")
peers = {p: m for p, m in med.items() if p != "lle"}
fastest = min(peers, key=peers.get)
print()
ok1 = lle <= peers[fastest]
print(f"- target: at least as fast as the fastest peer ({fastest}, {peers[fastest]:.1f} ns): "
      f"lle {lle:.1f} ns, {lle / peers[fastest]:.2f}x -> {'met' if ok1 else 'NOT met'}")
if "talloc" in med:
    k = med["talloc"] / lle
    print(f"- target: at least 5x faster than talloc: {k:.1f}x -> {'met' if k >= 5 else 'NOT met'}")
PY
