# bench/report-header.sh - sourced by the run-*.sh scripts: the lines every
# report starts with.
#
#   report_header SCRIPT PKG... -- ARG...
# prints the command (SCRIPT with the arguments it was given), the date and
# commit (noting uncommitted changes), the machine, and the version of each
# Debian package PKG that is installed.
report_header() {
    local script=$1 quoted="" pkg v
    shift
    local pkgs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do pkgs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    for x in "$@"; do quoted+=" $(printf '%q' "$x")"; done
    echo "- command: \`${script}${quoted}\`"
    local dirty=""
    [ -n "$(git status --porcelain 2>/dev/null)" ] && dirty=" (with uncommitted changes)"
    echo "- date: $(date -u "+%Y-%m-%d %H:%M UTC"), commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)${dirty}"
    echo "- machine: $(nproc) CPUs, $(grep -m 1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    for pkg in "${pkgs[@]}"; do
        v=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
        [ -n "$v" ] && echo "- $pkg $v"
    done
    return 0
}
