#!/usr/bin/env bash
# bench/run.sh - build lle-bench and compare lle-memory with its peers.
#
# Every workload runs for every allocator, in R interleaved rounds: within a
# round each allocator runs once per workload, and the order of the
# allocators rotates from round to round, so slow drifts of the machine
# (frequency, noisy neighbours) fall on all of them alike.  The medians per
# (allocator, workload) and their ratios to mimalloc and to glibc are then
# printed as Markdown by bench/summarize.py, under a header that names the
# machine, the compiler, the peers' package versions and this command.
#
# Peers are the same binary run under LD_PRELOAD of the Debian shared
# objects (found with dpkg -L); a peer that is not installed is skipped and
# said so.  The report is printed and also written to BUILD_DIR/bench-report.md,
# the raw RESULT lines to BUILD_DIR/bench-raw.txt.
#
# Run from anywhere; paths are relative to the repository root.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/run.sh [options]
  -r, --rounds N        interleaved rounds (default 7)
      --no-build        use the lle-bench already built in the build directory
  -B, --build-dir DIR   build directory, relative to the repository root
                        (default build-bench)
  -a, --allocators LIST space-separated subset of: lle glibc jemalloc mimalloc tcmalloc
  -w, --workloads LIST  space-separated subset of: pairs48 churn churn2t latency overhead
  -q, --quick           a tenth of the operations (a smoke test, not for figures)
      --wait-idle       before each run, wait until the CPUs have been at
                        least 90 % idle for half a second (at most 2 minutes a
                        run, 20 minutes in all): for shared machines
  -h, --help
EOF
}

ROUNDS=7
BUILD=1
BUILD_DIR=build-bench
ALLOCATORS="lle glibc jemalloc mimalloc tcmalloc"
WORKLOADS="pairs48 churn churn2t latency overhead"
QUICK=0
WAIT_IDLE=0
ARGS=("$@")

while [ $# -gt 0 ]; do
    case "$1" in
    -r | --rounds) ROUNDS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -B | --build-dir) BUILD_DIR="$2"; shift 2 ;;
    -a | --allocators) ALLOCATORS="$2"; shift 2 ;;
    -w | --workloads) WORKLOADS="$2"; shift 2 ;;
    -q | --quick) QUICK=1; shift ;;
    --wait-idle) WAIT_IDLE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$ROUNDS" in
'' | *[!0-9]* | 0) echo "run.sh: --rounds wants a positive number" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."

# Operations per run.  Each run takes well under 2 s on a 2-core machine
# with any of the allocators, so 7 rounds finish in a few minutes.
declare -A OPS=([pairs48]=20000000 [churn]=10000000 [churn2t]=5000000
                [latency]=1000000 [overhead]=2000000)
if [ "$QUICK" = 1 ]; then
    for w in "${!OPS[@]}"; do OPS[$w]=$((OPS[$w] / 10)); done
fi

# ---------------------------------------------------------------- build
BIN="$BUILD_DIR/bench/lle-bench"
if [ "$BUILD" = 1 ]; then
    echo "run.sh: building $BIN" >&2
    cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLLE_BUILD_TESTS=OFF >&2
    cmake --build "$BUILD_DIR" --target lle-bench -j "$(nproc)" >&2
fi
if [ ! -x "$BIN" ]; then
    echo "run.sh: $BIN is missing (build it, or drop --no-build)" >&2
    exit 1
fi

# ---------------------------------------------------------------- peers
# peer NAME -> "package version soname path", from the first candidate
# package that is installed.
declare -A PEER_PKGS=(
    [jemalloc]="libjemalloc2"
    [mimalloc]="libmimalloc2.0 libmimalloc3"
    [tcmalloc]="libtcmalloc-minimal4 libtcmalloc-minimal4t64"
)
declare -A PEER_SONAME=(
    [jemalloc]='libjemalloc\.so\.2$'
    [mimalloc]='libmimalloc\.so\.[0-9]+$'
    [tcmalloc]='libtcmalloc_minimal\.so\.4$'
)
declare -A PEER_LIB PEER_INFO
for p in jemalloc mimalloc tcmalloc; do
    for pkg in ${PEER_PKGS[$p]}; do
        ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
        [ -n "$ver" ] || continue
        lib=$(dpkg -L "$pkg" 2>/dev/null | grep -E "/${PEER_SONAME[$p]}" | head -n 1 || true)
        if [ -n "$lib" ] && [ -e "$lib" ]; then
            PEER_LIB[$p]=$lib
            PEER_INFO[$p]="$pkg $ver (${lib##*/})"
            break
        fi
    done
done

# The allocators that can run here, in the order given.
RUNNABLE=()
SKIPPED=()
for a in $ALLOCATORS; do
    case "$a" in
    lle | glibc) RUNNABLE+=("$a") ;;
    jemalloc | mimalloc | tcmalloc)
        if [ -n "${PEER_LIB[$a]:-}" ]; then RUNNABLE+=("$a"); else SKIPPED+=("$a"); fi ;;
    *) echo "run.sh: unknown allocator '$a'" >&2; exit 2 ;;
    esac
done
for w in $WORKLOADS; do
    [ -n "${OPS[$w]:-}" ] || { echo "run.sh: unknown workload '$w'" >&2; exit 2; }
done
[ ${#RUNNABLE[@]} -gt 0 ] || { echo "run.sh: no allocator to run" >&2; exit 1; }

# ---------------------------------------------------------------- header
RAW="$BUILD_DIR/bench-raw.txt"
REPORT="$BUILD_DIR/bench-report.md"
HEADER="$BUILD_DIR/bench-header.md"
: >"$RAW"

quoted_args=""
for x in ${ARGS[@]+"${ARGS[@]}"}; do quoted_args+=" $(printf '%q' "$x")"; done
cpu=$(grep -m 1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
libc_ver=$(dpkg-query -W -f='${Version}' libc6 2>/dev/null || ldd --version | head -n 1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "none")
dirty=""
if [ "$commit" != none ] && [ -n "$(git status --porcelain 2>/dev/null)" ]; then
    dirty=" (with uncommitted changes)"
fi
# The compiler and build type the build directory was configured with.
cc_path=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
cc_ver=$("${cc_path:-cc}" --version 2>/dev/null | head -n 1 || echo unknown)
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
build_type=${build_type:-unknown}
alloc_env=$(env | grep -E '^(MALLOC_|GLIBC_TUNABLES|MIMALLOC_|TCMALLOC_|LD_PRELOAD|LLE_MEMORY_OPTIONS)' |
            cut -d= -f1 | tr '\n' ' ' || true)
{
    echo "- command: \`bench/run.sh${quoted_args}\`"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit: ${commit}${dirty}"
    echo "- machine: $(nproc) CPUs, ${cpu}, kernel $(uname -r) ($(uname -m))"
    echo "- compiler: ${cc_ver}; lle-bench at -O2, the library at ${build_type}"
    echo "- glibc: libc6 ${libc_ver}"
    for p in jemalloc mimalloc tcmalloc; do
        if [ -n "${PEER_INFO[$p]:-}" ]; then
            echo "- ${p}: ${PEER_INFO[$p]}, run with LD_PRELOAD"
        else
            echo "- ${p}: not installed, skipped"
        fi
    done
    echo "- load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- rounds: ${ROUNDS}; operations per run: pairs48 ${OPS[pairs48]}," \
         "churn ${OPS[churn]}, churn2t ${OPS[churn2t]} per thread," \
         "latency ${OPS[latency]}, overhead ${OPS[overhead]}"
    if [ -n "$alloc_env" ]; then
        echo "- WARNING: allocator variables set in the environment: ${alloc_env}"
    fi
} >"$HEADER"

# ---------------------------------------------------------------- runs
# run_one ROUND ALLOC WORKLOAD
run_one() {
    local round=$1 a=$2 w=$3
    local cmd=("$BIN") pre=()
    case "$a" in
    lle) cmd+=(lle) ;;
    glibc) cmd+=(malloc) ;;
    *) cmd+=(malloc); pre=(env "LD_PRELOAD=${PEER_LIB[$a]}") ;;
    esac
    cmd+=("$w" -n "${OPS[$w]}" --label "$a")
    local out err rc=0 tag=""
    if [ "$WAIT_IDLE" = 1 ]; then
        wait_idle
        tag=" idle_before=$IDLE"
    fi
    err=$(mktemp)
    out=$(${pre[@]+"${pre[@]}"} "${cmd[@]}" 2>"$err") || rc=$?
    local shown="${cmd[*]}"
    if [ ${#pre[@]} -gt 0 ]; then shown="LD_PRELOAD=${PEER_LIB[$a]##*/} $shown"; fi
    if [ $rc -eq 0 ] && grep -q '^RESULT .*status=ok' <<<"$out"; then
        grep '^RESULT' <<<"$out" | sed "s/^RESULT /RESULT round=$round$tag /" >>"$RAW"
    else
        # One line the summary lists verbatim: the command and what it said.
        local msg
        msg=$(tr '\n' ' ' <"$err" | sed 's/  */ /g' | cut -c 1-400)
        if [ $rc -gt 128 ]; then msg="killed by signal $((rc - 128)); $msg"; fi
        echo "FAIL round=$round alloc=$a workload=$w rc=$rc cmd=[$shown] stderr=[$msg]" >>"$RAW"
        echo "run.sh: FAILED (rc=$rc): $shown" >&2
        sed 's/^/    /' "$err" >&2
    fi
    rm -f "$err"
}

# Idle share of all CPUs over the next half second, in percent (/proc/stat).
idle_percent() {
    local a b c d e f g h i0 t0
    read -r _ a b c d e f g h _ </proc/stat
    i0=$((d + e)); t0=$((a + b + c + d + e + f + g + h))
    sleep 0.5
    read -r _ a b c d e f g h _ </proc/stat
    echo $((100 * (d + e - i0) / (a + b + c + d + e + f + g + h - t0 + 1)))
}

# --wait-idle: hold a run back while other processes keep the CPUs busy.
# Sets IDLE to the last reading.
BUSY_RUNS=0
WAITED=0
IDLE=""
wait_idle() {
    local t0 waited=0
    t0=$(date +%s)
    IDLE=$(idle_percent)
    while [ "$IDLE" -lt 90 ] && [ $waited -lt 120 ] && [ $((WAITED + waited)) -lt 1200 ]; do
        IDLE=$(idle_percent)
        waited=$(($(date +%s) - t0))
    done
    WAITED=$((WAITED + waited))
    if [ "$IDLE" -lt 90 ]; then BUSY_RUNS=$((BUSY_RUNS + 1)); fi
}

n=${#RUNNABLE[@]}
start=$(date +%s)
for ((r = 0; r < ROUNDS; r++)); do
    echo "run.sh: round $((r + 1))/$ROUNDS" >&2
    for w in $WORKLOADS; do
        for ((i = 0; i < n; i++)); do
            a=${RUNNABLE[$(((r + i) % n))]}
            if [ "$w" = overhead ] && [ "$a" != lle ]; then continue; fi
            run_one "$r" "$a" "$w"
        done
    done
done
echo "run.sh: $(($(date +%s) - start)) s of runs" >&2
{
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(($(date +%s) - start)) s of runs"
    if [ "$WAIT_IDLE" = 1 ]; then
        echo "- --wait-idle: each run started once the CPUs had been 90 % idle for 0.5 s;" \
             "${WAITED} s spent waiting; runs started on a busy machine all the same" \
             "(waiting limits reached): ${BUSY_RUNS}"
    fi
} >>"$HEADER"

# ---------------------------------------------------------------- report
python3 bench/summarize.py --header "$HEADER" --rounds "$ROUNDS" \
    --allocators "${RUNNABLE[*]}" --workloads "$WORKLOADS" \
    ${SKIPPED[@]+--skipped "${SKIPPED[*]}"} "$RAW" | tee "$REPORT"
