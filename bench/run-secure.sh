#!/usr/bin/env bash
# bench/run-secure.sh - the secure pool's benchmarks (bench/secure.c): 64 B
# secure alloc+write+free against sodium_malloc/sodium_free, seal and unseal
# of 64 B, 4 KiB and 64 KiB, key rotation with 10,000 sealed blocks, the
# history store (10,000 generated shell commands plus 100 large entries),
# and lle_memory_idle's budget overshoot with cold sealing and a key
# rotation pending (budgets 100 us, 500 us, 2 ms).
#
# R interleaved rounds (default 7): each round runs every mode once, in an
# order rotated from round to round; each run reports medians of its own
# repetitions.  Prints a Markdown report: medians over the rounds, ratios,
# targets.  Raw RESULT lines go to BUILD_DIR/secure-raw.txt.
set -euo pipefail

ROUNDS=7
BUILD=1
BUILD_DIR=build-bench
usage() {
    echo "usage: bench/run-secure.sh [-r ROUNDS] [--no-build] [-B BUILD_DIR]"
}
ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    -r | --rounds) ROUNDS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -B | --build-dir) BUILD_DIR="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
if [ "$BUILD" = 1 ]; then
    cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLLE_BUILD_TESTS=OFF >&2
    cmake --build "$BUILD_DIR" --target lle-bench-secure -j "$(nproc)" >&2
fi
B="$BUILD_DIR/bench/lle-bench-secure"
[ -x "$B" ] || { echo "run-secure.sh: $B is missing" >&2; exit 1; }
MODES=(alloc-lle alloc-sodium seal rotate history idle)

RAW="$BUILD_DIR/secure-raw.txt"
: >"$RAW"
n=${#MODES[@]}
for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
        mode=${MODES[$(((i + r) % n))]}
        "$B" "$mode" | grep '^RESULT' | sed "s/^RESULT /RESULT round=$r /" >>"$RAW"
    done
done

. bench/report-header.sh
report_header bench/run-secure.sh libsodium23 libzstd1 libutf8proc2 libc6 -- ${ARGS[@]+"${ARGS[@]}"}
echo "- rounds: $ROUNDS (medians over the rounds of each run's own median)"
echo "- RLIMIT_MEMLOCK: $(ulimit -l)"
echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
echo
python3 - "$RAW" <<'PY'
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    rows.append(dict(t.split("=", 1) for t in line.split()[1:] if "=" in t))
def pick(**kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]
def med(rs, key):
    return statistics.median(float(r[key]) for r in rs)
def rng(rs, key):
    v = [float(r[key]) for r in rs]
    return f"{min(v):.0f}-{max(v):.0f}"
a, s = pick(mode="alloc-lle"), pick(mode="alloc-sodium")
print("64-byte alloc + write + free:")
print()
print("| allocator | median ns/op | range over rounds |")
print("|---|--:|--:|")
print(f"| lle_secure_alloc / lle_secure_free | {med(a, 'ns_per_op'):.0f} | {rng(a, 'ns_per_op')} |")
print(f"| sodium_malloc / sodium_free | {med(s, 'ns_per_op'):.0f} | {rng(s, 'ns_per_op')} |")
ratio = med(s, 'ns_per_op') / med(a, 'ns_per_op')
print()
print(f"- lle is {ratio:.0f}x faster; target >= 20x: {'met' if ratio >= 20 else 'NOT met'}")
print()
print("Seal and unseal in place (XChaCha20-Poly1305), median of 201 each:")
print()
print("| size | seal (us) | unseal (us) | target < 200 us |")
print("|--:|--:|--:|---|")
for size in ("64", "4096", "65536"):
    rs = pick(mode="seal", size=size)
    se, un = med(rs, "seal_ns") / 1e3, med(rs, "unseal_ns") / 1e3
    print(f"| {int(size):,} B | {se:.2f} | {un:.2f} | {'met' if max(se, un) < 200 else 'NOT met'} |")
rt = pick(mode="rotate")
print()
print(f"Key rotation with {int(rt[0]['blocks']):,} sealed 64-byte blocks: "
      f"{med(rt, 'rotation_ns') / 1e6:.2f} ms (range {rng(rt, 'rotation_ns')} ns; "
      f"locked {int(rt[0]['locked_bytes']):,} B, unlocked {int(rt[0]['unlocked_bytes']):,} B)")
h = pick(mode="history")
r0 = h[0]
print()
print(f"History store, {int(r0['entries']):,} entries (10,000 generated commands, 100 pasted scripts of 2-64 KiB):")
print()
print("| entries compressed | bytes put | bytes kept | bytes saved | ratio | read, command (ns) | read, large (us) |")
print("|--:|--:|--:|--:|--:|--:|--:|")
print(f"| {r0['compressed']} | {int(r0['original']):,} | {int(r0['stored']):,} | {int(r0['saved']):,} | "
      f"{float(r0['ratio']):.2f} | {med(h, 'read_small_ns'):.0f} | {med(h, 'read_large_ns') / 1e3:.1f} |")
idl = pick(mode="idle")
if idl:
    r0 = idl[0]
    print()
    print(f"lle_memory_idle with sealing pending ({r0['sealed']} blocks and history entries to "
          f"seal cold, one rotation re-sealing {r0['resealed']} blocks), called until no work is "
          f"left; overshoot = how far past its budget a call returned (wall clock). Calls during "
          f"which the thread was switched out by the scheduler are counted apart (preempted); "
          f"the percentiles are of the others, medians over the rounds:")
    print()
    print("| budget | calls | preempted | within budget | overshoot p50 | p90 | p99 | max | max when preempted |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for b in ("100", "500", "2000"):
        rs = pick(mode="idle", budget_us=b)
        share = statistics.median(float(r['within']) / max(1.0, float(r['undisturbed'])) for r in rs)
        pre = statistics.median(float(r['calls']) - float(r['undisturbed']) for r in rs)
        worst = max(float(r['over_max_ns']) for r in rs)
        dworst = max(float(r['disturbed_max_ns']) for r in rs)
        print(f"| {int(b)} us | {med(rs, 'calls'):.0f} | {pre:.0f} | {100 * share:.0f} % | "
              f"{med(rs, 'over_p50_ns') / 1e3:.1f} us | {med(rs, 'over_p90_ns') / 1e3:.1f} us | "
              f"{med(rs, 'over_p99_ns') / 1e3:.1f} us | {worst / 1e3:.1f} us | {dworst / 1e3:.0f} us |")
PY
