#!/usr/bin/env bash
# tests/wrong/run-detection.sh - which tool catches which memory bug, and
# when: the measurement behind docs/DETECTION.md.
#
# Builds lle-wrong and malloc-wrong (tests/wrong/wrong.c), then runs every
# bug of the catalogue once per column:
#
#   lle default | track | canary+poison | full   lle-wrong, LLE_MEMORY_OPTIONS
#   lle guard                                    the same, pool.all.guard=all:
#                                                every block on its own page,
#                                                against an inaccessible one
#   lle full, ASan build                         lle-wrong built with
#                                                -fsanitize=address (arena
#                                                memory is poisoned for ASan)
#   glibc        malloc-wrong as it is
#   glibc check  LD_PRELOAD=libc_malloc_debug.so.0 MALLOC_CHECK_=3 (since
#                glibc 2.34 the checks live in that library)
#   mimalloc     LD_PRELOAD=libmimalloc.so.2 MIMALLOC_SHOW_ERRORS=1
#   jemalloc     LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=junk:true
#   efence       LD_PRELOAD=libefence.so.0 (its defaults)
#   valgrind     valgrind memcheck, --leak-check=full, definite leaks are errors
#
# and a second table of variants: lle guard pages with the block at the
# start of its page (pool.all.guard=all,pool.all.guard_side=start) and
# for one allocation in 1000 (pool.all.guard=1000), MALLOC_CHECK_=3
# without the preload (it does nothing since glibc 2.34), the same check
# asked by GLIBC_TUNABLES=glibc.malloc.check=3, jemalloc told to abort on
# any warning and on a bad option (abort, abort_conf), jemalloc without its
# thread cache,
# Electric Fence with EF_ALIGNMENT=1, EF_PROTECT_BELOW=1, EF_PROTECT_FREE=1.
#
# A run is classified from its output (stdout and stderr together, in
# order) and its exit status, with no judgement by hand:
#   - a *diagnostic* is, for lle columns, an error line of the library
#     ("lle: LLE_ERROR_...") or a sanitizer report; for the other columns,
#     any line the program did not print itself, once the banner of
#     Electric Fence is set aside;
#   - caught with a report: the first diagnostic; where it came is read
#     from the program's markers around it: "fault" (at the faulty
#     statement itself), "later" (at a later allocator call), "exit" (at
#     the final checks or at exit);
#   - caught by a crash: no diagnostic, but the program died (a signal, or
#     an exit status it never gives itself), where the last marker says;
#   - missed: neither;  n/a: the bug does not apply (the program says so).
# A bug may be named by more than one lle code (CODE|CODE in the --list of
# the programs: an overflow is a CORRUPTION found by a canary, or a
# BOUNDS_VIOLATION at a guard page); a report with any of them counts.
# An lle run that reported errors, none of them with a code of the bug,
# reads "other: CODE".  At a guard page or a read-only block the library
# reports the fault through the error callback and then lets the process
# die of SIGSEGV: the report is the first diagnostic, so the run reads as
# caught with a report where the report came ("fault"), not as a crash.
# The control row (no bug) must read missed everywhere; the script warns
# if it does not.  With --repeat N every run is made N times and a cell
# whose verdicts differ lists them all, with their counts.
#
# Output: the report (Markdown) on stdout and in BUILD/detection-report.md,
# one line per run in BUILD/detection-runs.tsv, every run's output in
# BUILD/detection-logs/BUG.COLUMN.N.log.
set -uo pipefail

usage() {
    cat <<'EOF'
usage: tests/wrong/run-detection.sh [options]
  -B, --build-dir DIR   build directory, relative to the repository root
                        (default build-detection; the ASan build is DIR-asan)
      --no-build        use the programs already built there
      --no-asan         leave out the column of the ASan build
  -r, --repeat N        run everything N times (default 1)
  -b, --bugs LIST       space-separated subset of the bugs (default: all)
  -h, --help
EOF
}

BUILD_DIR=build-detection
BUILD=1
ASAN=1
REPEAT=1
BUGS=""
ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    -B | --build-dir) BUILD_DIR="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-asan) ASAN=0; shift ;;
    -r | --repeat) REPEAT="$2"; shift 2 ;;
    -b | --bugs) BUGS="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run-detection: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$REPEAT" in
'' | *[!0-9]* | 0) echo "run-detection: --repeat wants a positive number" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
ASAN_DIR="${BUILD_DIR}-asan"
LLE_BIN="$BUILD_DIR/tests/wrong/lle-wrong"
MALLOC_BIN="$BUILD_DIR/tests/wrong/malloc-wrong"
LLE_ASAN_BIN="$ASAN_DIR/tests/wrong/lle-wrong"
ulimit -c 0   # the crashes are expected: no core files

say() { echo "run-detection: $*" >&2; }

# ---------------------------------------------------------------- build
if [ "$BUILD" = 1 ]; then
    jobs=$(nproc)
    say "building $BUILD_DIR"
    { cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLE_BUILD_BENCH=OFF \
          -DLLE_BUILD_TOOLS=OFF -DLLE_SANITIZE= &&
      cmake --build "$BUILD_DIR" -j "$jobs" --target lle-wrong malloc-wrong; } >&2 || exit 1
    if [ "$ASAN" = 1 ]; then
        # Address only: with UBSan the first allocation of a debug pool
        # aborts (a library bug, see tests/wrong/CMakeLists.txt).
        say "building $ASAN_DIR (AddressSanitizer)"
        { cmake -S "$root" -B "$ASAN_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLE_BUILD_BENCH=OFF \
              -DLLE_BUILD_TOOLS=OFF -DLLE_SANITIZE=address &&
          cmake --build "$ASAN_DIR" -j "$jobs" --target lle-wrong; } >&2 || exit 1
    fi
fi
for b in "$LLE_BIN" "$MALLOC_BIN"; do
    [ -x "$b" ] || { say "$b is missing (build it, or drop --no-build)"; exit 1; }
done
if [ "$ASAN" = 1 ] && [ ! -x "$LLE_ASAN_BIN" ]; then
    say "$LLE_ASAN_BIN is missing (build it, drop --no-build, or add --no-asan)"
    exit 1
fi

# ---------------------------------------------------------------- tools
# The shared object of the first installed package that has it.
lib_of() {
    local pattern=$1 pkg lib
    shift
    for pkg in "$@"; do
        lib=$(dpkg -L "$pkg" 2>/dev/null | grep -E "$pattern" | head -n 1 || true)
        if [ -n "$lib" ] && [ -e "$lib" ]; then echo "$lib"; return 0; fi
    done
    return 1
}
GLIBC_DEBUG=$(lib_of '/libc_malloc_debug\.so\.0$' libc6 || true)
MIMALLOC=$(lib_of '/libmimalloc\.so\.[0-9]+$' libmimalloc2.0 libmimalloc3 || true)
JEMALLOC=$(lib_of '/libjemalloc\.so\.2$' libjemalloc2 || true)
EFENCE=$(lib_of '/libefence\.so\.0$' electric-fence || true)
VALGRIND=$(command -v valgrind || true)

# Column id -> title, and the command prefix of each (an empty prefix
# entry means the tool is missing: the column reads "not installed").
MAIN_COLS=(lle-default lle-track lle-cp lle-full lle-guard)
[ "$ASAN" = 1 ] && MAIN_COLS+=(lle-asan)
MAIN_COLS+=(glibc glibc-check mimalloc jemalloc efence valgrind)
VARIANT_COLS=(lle-guard-start lle-sampled glibc-env glibc-tunable jemalloc-abort jemalloc-notcache efence-align1 efence-below efence-free)
declare -A TITLE=(
    [lle-default]="lle default" [lle-track]="lle track" [lle-cp]="lle canary+poison"
    [lle-full]="lle full" [lle-asan]="lle full, ASan build" [lle-guard]="lle guard"
    [lle-guard-start]="lle guard start" [lle-sampled]="lle sampled 1/1000"
    [glibc]="glibc" [glibc-check]="glibc check" [mimalloc]="mimalloc"
    [jemalloc]="jemalloc junk" [efence]="efence" [valgrind]="valgrind"
    [glibc-env]="MALLOC_CHECK_=3 alone" [glibc-tunable]="glibc check by tunable"
    [jemalloc-abort]="jemalloc junk, abort"
    [jemalloc-notcache]="jemalloc junk, no tcache"
    [efence-align1]="efence EF_ALIGNMENT=1" [efence-below]="efence EF_PROTECT_BELOW=1"
    [efence-free]="efence EF_PROTECT_FREE=1"
)
# What each column runs, as it is written in the report.
declare -A SHOWN=(
    [lle-default]="LLE_MEMORY_OPTIONS= lle-wrong BUG"
    [lle-track]="LLE_MEMORY_OPTIONS=pool.all.debug=track lle-wrong BUG"
    [lle-cp]="LLE_MEMORY_OPTIONS=pool.all.debug=canary+poison lle-wrong BUG"
    [lle-full]="LLE_MEMORY_OPTIONS=pool.all.debug=full lle-wrong BUG"
    [lle-asan]="LLE_MEMORY_OPTIONS=pool.all.debug=full lle-wrong BUG (built with -fsanitize=address)"
    [lle-guard]="LLE_MEMORY_OPTIONS=pool.all.guard=all lle-wrong BUG"
    [lle-guard-start]="LLE_MEMORY_OPTIONS=pool.all.guard=all,pool.all.guard_side=start lle-wrong BUG"
    [lle-sampled]="LLE_MEMORY_OPTIONS=pool.all.guard=1000 lle-wrong BUG"
    [glibc]="malloc-wrong BUG"
    [glibc-check]="LD_PRELOAD=${GLIBC_DEBUG##*/} MALLOC_CHECK_=3 malloc-wrong BUG"
    [glibc-env]="MALLOC_CHECK_=3 malloc-wrong BUG (no LD_PRELOAD)"
    [glibc-tunable]="LD_PRELOAD=${GLIBC_DEBUG##*/} GLIBC_TUNABLES=glibc.malloc.check=3 malloc-wrong BUG"
    [mimalloc]="LD_PRELOAD=${MIMALLOC##*/} MIMALLOC_SHOW_ERRORS=1 malloc-wrong BUG"
    [jemalloc]="LD_PRELOAD=${JEMALLOC##*/} MALLOC_CONF=junk:true malloc-wrong BUG"
    [jemalloc-abort]="LD_PRELOAD=${JEMALLOC##*/} MALLOC_CONF=junk:true,abort:true,abort_conf:true malloc-wrong BUG"
    [jemalloc-notcache]="LD_PRELOAD=${JEMALLOC##*/} MALLOC_CONF=junk:true,tcache:false malloc-wrong BUG"
    [efence]="LD_PRELOAD=${EFENCE##*/} malloc-wrong BUG"
    [efence-align1]="LD_PRELOAD=${EFENCE##*/} EF_ALIGNMENT=1 malloc-wrong BUG"
    [efence-below]="LD_PRELOAD=${EFENCE##*/} EF_PROTECT_BELOW=1 malloc-wrong BUG"
    [efence-free]="LD_PRELOAD=${EFENCE##*/} EF_PROTECT_FREE=1 malloc-wrong BUG"
    [valgrind]="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite malloc-wrong BUG"
)

# available COLUMN: whether its tool is installed.
available() {
    case "$1" in
    glibc-check | glibc-tunable) [ -n "$GLIBC_DEBUG" ] ;;
    mimalloc) [ -n "$MIMALLOC" ] ;;
    jemalloc | jemalloc-*) [ -n "$JEMALLOC" ] ;;
    efence | efence-*) [ -n "$EFENCE" ] ;;
    valgrind) [ -n "$VALGRIND" ] ;;
    *) true ;;
    esac
}

# Every run starts from an environment without allocator settings.
CLEAN_ENV=(env -u LD_PRELOAD -u MALLOC_CHECK_ -u GLIBC_TUNABLES -u MALLOC_CONF
           -u MIMALLOC_SHOW_ERRORS -u MIMALLOC_VERBOSE -u EF_ALIGNMENT -u EF_PROTECT_BELOW
           -u EF_PROTECT_FREE -u LLE_MEMORY_OPTIONS)

# command_of COLUMN BUG: the command of one run, into CMD.
command_of() {
    local col=$1 bug=$2
    case "$col" in
    lle-default) CMD=("${CLEAN_ENV[@]}" LLE_MEMORY_OPTIONS= "$LLE_BIN" "$bug") ;;
    lle-track) CMD=("${CLEAN_ENV[@]}" LLE_MEMORY_OPTIONS=pool.all.debug=track "$LLE_BIN" "$bug") ;;
    lle-cp) CMD=("${CLEAN_ENV[@]}" LLE_MEMORY_OPTIONS=pool.all.debug=canary+poison "$LLE_BIN" "$bug") ;;
    lle-full) CMD=("${CLEAN_ENV[@]}" LLE_MEMORY_OPTIONS=pool.all.debug=full "$LLE_BIN" "$bug") ;;
    lle-guard) CMD=("${CLEAN_ENV[@]}" LLE_MEMORY_OPTIONS=pool.all.guard=all "$LLE_BIN" "$bug") ;;
    lle-guard-start) CMD=("${CLEAN_ENV[@]}" LLE_MEMORY_OPTIONS=pool.all.guard=all,pool.all.guard_side=start
                          "$LLE_BIN" "$bug") ;;
    lle-sampled) CMD=("${CLEAN_ENV[@]}" LLE_MEMORY_OPTIONS=pool.all.guard=1000 "$LLE_BIN" "$bug") ;;
    lle-asan) CMD=("${CLEAN_ENV[@]}" LLE_MEMORY_OPTIONS=pool.all.debug=full
                   ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
                   "$LLE_ASAN_BIN" "$bug") ;;
    glibc) CMD=("${CLEAN_ENV[@]}" "$MALLOC_BIN" "$bug") ;;
    glibc-check) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$GLIBC_DEBUG" MALLOC_CHECK_=3 "$MALLOC_BIN" "$bug") ;;
    glibc-env) CMD=("${CLEAN_ENV[@]}" MALLOC_CHECK_=3 "$MALLOC_BIN" "$bug") ;;
    glibc-tunable) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$GLIBC_DEBUG" GLIBC_TUNABLES=glibc.malloc.check=3
                        "$MALLOC_BIN" "$bug") ;;
    mimalloc) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$MIMALLOC" MIMALLOC_SHOW_ERRORS=1 "$MALLOC_BIN" "$bug") ;;
    jemalloc) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$JEMALLOC" MALLOC_CONF=junk:true "$MALLOC_BIN" "$bug") ;;
    jemalloc-abort) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$JEMALLOC" MALLOC_CONF=junk:true,abort:true,abort_conf:true
                         "$MALLOC_BIN" "$bug") ;;
    jemalloc-notcache) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$JEMALLOC" MALLOC_CONF=junk:true,tcache:false
                            "$MALLOC_BIN" "$bug") ;;
    efence) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$EFENCE" "$MALLOC_BIN" "$bug") ;;
    efence-align1) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$EFENCE" EF_ALIGNMENT=1 "$MALLOC_BIN" "$bug") ;;
    efence-below) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$EFENCE" EF_PROTECT_BELOW=1 "$MALLOC_BIN" "$bug") ;;
    efence-free) CMD=("${CLEAN_ENV[@]}" LD_PRELOAD="$EFENCE" EF_PROTECT_FREE=1 "$MALLOC_BIN" "$bug") ;;
    valgrind) CMD=("${CLEAN_ENV[@]}" "$VALGRIND" -q --error-exitcode=99 --leak-check=full
                   --show-leak-kinds=definite --errors-for-leak-kinds=definite "$MALLOC_BIN" "$bug") ;;
    *) say "unknown column $col"; exit 2 ;;
    esac
}

# classify LOG STATUS KIND CODES: prints "VERDICT<TAB>FIRST-DIAGNOSTIC".
# KIND is lle or peer; CODES the lle codes that name the bug, separated by
# "|" (any of them is the bug's).  VERDICTS:
# n/a, missed, report:PHASE, crash:PHASE, other:CODE, hung, setup-failed.
classify() {
    awk -v status="$2" -v kind="$3" -v codes="$4" '
        function diagnostic(line) {
            if (line ~ /^\[wrong\] /) return 0
            if (kind == "lle")
                return line ~ /^lle: LLE_ERROR_/ || line ~ /ERROR: AddressSanitizer/ ||
                       line ~ /runtime error:/ || line ~ /ERROR: LeakSanitizer/
            if (line ~ /^[ \t]*$/) return 0
            if (line ~ /^  Electric Fence [0-9.]+ Copyright/) return 0
            return 1
        }
        BEGIN {
            phase = "setup"; first = ""; fphase = ""; na = 0; mine = ""; mphase = ""
            n = split(codes, list, "|")
            for (i = 1; i <= n; i++) wanted[list[i]] = 1
        }
        /^\[wrong\] n\/a:/ { na = 1 }
        /^\[wrong\] fault$/ { phase = "fault"; next }
        /^\[wrong\] after$/ { phase = "later"; next }
        /^\[wrong\] end$/ { phase = "exit"; next }
        {
            if (!diagnostic($0)) next
            if (first == "") { first = $0; fphase = phase }
            # For lle, the first report with a code of the bug (or of a
            # sanitizer) counts; other codes only when there is none.
            if (kind == "lle" && mine == "" && ($0 !~ /^lle: LLE_ERROR_/ || ($2 in wanted))) {
                mine = $0; mphase = phase
            }
            if (kind == "lle" && $0 ~ /^lle: LLE_ERROR_/ && !($2 in wanted) && other == "") other = $2
        }
        END {
            if (kind == "lle" && mine != "") { first = mine; fphase = mphase }
            gsub(/\t/, " ", first)
            if (na) { print "n/a\t"; exit }
            if (status == 124) { print "hung\t" first; exit }
            if (kind == "lle") normal = (status == 0 || status == 3)
            else normal = (status == 0)
            if (status == 1 && first == "") { print "setup-failed\t"; exit }
            if (first != "") {
                if (kind == "lle" && mine == "") { print "other:" other "\t" first; exit }
                print "report:" fphase "\t" first; exit
            }
            if (!normal) { print "crash:" phase "\t"; exit }
            print "missed\t"
        }' FS=' ' "$1"
}

# ---------------------------------------------------------------- runs
mapfile -t LIST < <("$MALLOC_BIN" --list)
declare -A CODE WHAT
ALL_BUGS=()
for line in "${LIST[@]}"; do
    IFS=$'\t' read -r name code what <<<"$line"
    ALL_BUGS+=("$name")
    CODE[$name]=$code
    WHAT[$name]=$what
done
if [ -n "$BUGS" ]; then
    read -r -a RUN_BUGS <<<"$BUGS"
    for b in "${RUN_BUGS[@]}"; do
        [ -n "${CODE[$b]:-}" ] || { say "unknown bug '$b' (bugs: ${ALL_BUGS[*]})"; exit 2; }
    done
else
    RUN_BUGS=("${ALL_BUGS[@]}")
fi

LOGS="$BUILD_DIR/detection-logs"
RUNS="$BUILD_DIR/detection-runs.tsv"
REPORT="$BUILD_DIR/detection-report.md"
rm -rf "$LOGS"
mkdir -p "$LOGS"
printf 'bug\tcolumn\trun\tstatus\tverdict\tfirst_diagnostic\n' >"$RUNS"
declare -A CELL

# A cell's text from the verdicts of its runs.
cell_text() {
    local v=$1
    case "$v" in
    missed) echo "–" ;;
    n/a) echo "n/a" ;;
    report:*) echo "${v#report:}" ;;
    crash:*) echo "${v#crash:} (crash)" ;;
    *) echo "$v" ;;
    esac
}

COLS=("${MAIN_COLS[@]}" "${VARIANT_COLS[@]}")
total=$(( ${#RUN_BUGS[@]} * ${#COLS[@]} * REPEAT ))
done_runs=0
say "running ${#RUN_BUGS[@]} bugs x ${#COLS[@]} columns x $REPEAT = $total runs"
for bug in "${RUN_BUGS[@]}"; do
    for col in "${COLS[@]}"; do
        if ! available "$col"; then
            CELL[$bug,$col]="not installed"
            continue
        fi
        kind=peer
        case "$col" in lle-*) kind=lle ;; esac
        verdicts=()
        for ((r = 1; r <= REPEAT; r++)); do
            command_of "$col" "$bug"
            log="$LOGS/$bug.$col.$r.log"
            # (The shell's own note of a job killed by a signal goes nowhere.)
            status=$({ timeout -k 5 120 "${CMD[@]}" >"$log" 2>&1 </dev/null; echo $?; } 2>/dev/null)
            IFS=$'\t' read -r verdict first < <(classify "$log" "$status" "$kind" "${CODE[$bug]}")
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$bug" "$col" "$r" "$status" "$verdict" "$first" >>"$RUNS"
            verdicts+=("$verdict")
            done_runs=$((done_runs + 1))
        done
        # One verdict, or all the different ones with how many runs had each.
        uniq=$(printf '%s\n' "${verdicts[@]}" | sort | uniq -c | sort -rn)
        text=""
        if [ "$(wc -l <<<"$uniq")" -gt 1 ]; then
            while read -r n v; do
                [ -n "$text" ] && text+=", "
                text+="$(cell_text "$v") $n/$REPEAT"
            done <<<"$uniq"
            text="varies: $text"
        else
            text=$(cell_text "${verdicts[0]}")
        fi
        CELL[$bug,$col]=$text
        if [ "$bug" = none ] && [ "$text" != "–" ]; then
            say "WARNING: the control run of $col reads '$text' (a false positive?)"
            CELL[$bug,$col]="$text (!)"
        fi
    done
    say "$bug done ($done_runs/$total runs)"
done

# ---------------------------------------------------------------- report
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }

table() {
    local -a cols=("$@")
    local line="| bug |" sep="|---|"
    for c in "${cols[@]}"; do line+=" ${TITLE[$c]} |"; sep+="---|"; done
    echo "$line"
    echo "$sep"
    for bug in "${RUN_BUGS[@]}"; do
        line="| ${WHAT[$bug]} (\`$bug\`) |"
        for c in "${cols[@]}"; do line+=" ${CELL[$bug,$c]} |"; done
        echo "$line"
    done
}

{
    source "$root/bench/report-header.sh"
    report_header tests/wrong/run-detection.sh libc6 libmimalloc2.0 libjemalloc2 electric-fence \
        valgrind -- ${ARGS[@]+"${ARGS[@]}"}
    cc_path=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
    echo "- compiler: $("${cc_path:-cc}" --version 2>/dev/null | head -n 1), RelWithDebInfo (-O2 -g)"
    echo "- runs per cell: $REPEAT"
    echo
    echo "Cells: where the bug was reported - \`fault\` at the faulty statement,"
    echo "\`later\` at a later call of the allocator, \`exit\` at the final checks or"
    echo "at exit; \`(crash)\` when the program died with no diagnostic; \`–\` missed."
    echo
    table "${MAIN_COLS[@]}"
    echo
    echo "Variants:"
    echo
    table "${VARIANT_COLS[@]}"
    echo
    echo "Commands (BUG: the bug's name):"
    echo
    for c in "${COLS[@]}"; do echo "- ${TITLE[$c]}: \`${SHOWN[$c]}\`"; done
    echo
    echo "First diagnostic of each run that reported the bug (first run; of the"
    echo "lle columns only full debugging, the two guard-page columns, and the"
    echo "sanitizer's own reports of the ASan build; addresses shortened):"
    echo
    for bug in "${RUN_BUGS[@]}"; do
        for c in "${MAIN_COLS[@]}" lle-guard-start; do
            case "$c" in lle-default | lle-track | lle-cp) continue ;; esac
            diag=$(awk -F '\t' -v b="$bug" -v c="$c" '$1 == b && $2 == c && $3 == 1 &&
                       $5 ~ /^report:/ { print $6; exit }' "$RUNS" |
                   sed -e "s|$root/||g" -e 's/\(0x\)\{0,1\}[0-9a-f]\{10,\}/0x.../g' -e 's/==[0-9]*==/==PID==/g' |
                   cut -c 1-160)
            [ "$c" = lle-asan ] && [ "${diag#lle: }" != "$diag" ] && continue
            [ -n "$diag" ] && printf -- '- `%s` %s: `%s`\n' "$bug" "${TITLE[$c]}" "$diag"
        done
    done
} >"$REPORT"
cat "$REPORT"
say "report in $REPORT, runs in $RUNS, outputs in $LOGS/"
