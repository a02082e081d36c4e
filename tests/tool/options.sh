#!/usr/bin/env bash
# tests/tool/options.sh TOOL
#
# `lle-memory options` prints the effective configuration in the option
# syntax, every option included.  With LLE_MEMORY_OPTIONS set to a value
# other than the default for every kind of option:
#   - each entry of the input shows in the output with a value other than
#     the default's (so an option the command forgets to print, or prints
#     from the defaults, fails);
#   - the output, joined with commas and given back as LLE_MEMORY_OPTIONS,
#     prints the same configuration again (it is valid option syntax);
#   - a bad option is refused with status 2 and named.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 TOOL" >&2
    exit 2
fi
tool=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
entries() { grep -v '^#' | paste -sd, -; }

given="emergency_reserve=128k,resize_history=7,large_cache=4m,audit=100,error_history=32"
given+=",pool.string.initial=256k,pool.string.max=32m,pool.string.block=128k"
given+=",pool.string.align=64,pool.string.growth=1.5,pool.string.grow_threshold=0.9"
given+=",pool.string.shrink_threshold=0.125,pool.string.debug=track+poison"
given+=",pool.string.quarantine=2m,pool.string.backtrace=8,pool.event.guard=1000"
given+=",pool.event.guard_side=start,pool.event.guard_freed=fault,pool.temp.debug=canary"
given+=",pool.history.guard=all,secure.lock=required,secure.level=high"
given+=",secure.encrypt_sensitive=off,secure.encrypt_all=on,secure.max=1m"
given+=",secure.cold_seal=5min,secure.rotate=90s"

defaults=$(LLE_MEMORY_OPTIONS= "$tool" options) || fail "options with no options failed"
first=$(LLE_MEMORY_OPTIONS="$given" "$tool" options) || fail "options refused: $given"

IFS=, read -r -a list <<< "$given"
for e in "${list[@]}"; do
    key=${e%%=*}
    line=$(grep -E "^${key//./\\.}=" <<< "$first") || fail "$key is not printed"
    def=$(grep -E "^${key//./\\.}=" <<< "$defaults") || fail "$key is not printed for the defaults"
    [ "$line" != "$def" ] || fail "$key: printed as the default ($def) though given as $e"
done

again=$(LLE_MEMORY_OPTIONS="$(entries <<< "$first")" "$tool" options) ||
    fail "the printed configuration is not a valid option string"
[ "$(entries <<< "$first")" = "$(entries <<< "$again")" ] ||
    fail "printing the printed configuration changes it"

set +e
err=$(LLE_MEMORY_OPTIONS="pool.string.guard_side=middle" "$tool" options 2>&1 >/dev/null)
rc=$?
set -e
[ "$rc" = 2 ] || fail "a bad option gave status $rc, not 2"
grep -q "guard_side" <<< "$err" || fail "the error does not name the option: $err"
echo "options: ${#list[@]} entries printed and read back"
