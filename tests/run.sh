#!/usr/bin/env bash
# run.sh — the `make check` runner: every orderbus test, one result a line.
#
#   BUILD=build tests/run.sh [NAME...]
#
# Runs, in order:
#   1. the module self-tests ($BIN/ob_selftest): one test per module;
#   2. each fuzz target's corpus through its replay binary ($BIN/replay_fuzz_X
#      on tests/fuzz/corpus/fuzz_X): one test each;
#   3. every tests/t_*.sh script under `timeout` (T_TIMEOUT seconds, default
#      600): each "ok - ..." / "not ok - ..." line it prints is one test, an
#      "ok - ... # SKIP reason" line one skipped test (neither passed nor
#      failed); a script that exits non-zero without a "not ok" line, times
#      out, or prints no result at all counts one failure.
# NAME arguments restrict the run to the parts whose name contains one of
# them (e.g. `tests/run.sh selftest t_lifecycle`).
#
# Prints every result as it comes, then the failures again, and as the last
# line "N passed, N failed" (", N skipped" after it when a test was skipped).
# Exit status 1 if anything failed.
# OB_SANITIZED=1 (make asan) lengthens the time limits.
set -u
set -o pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
BUILD=${BUILD:-build}
BIN=$REPO/$BUILD/bin
[[ $BUILD == /* ]] && BIN=$BUILD/bin
export BUILD BIN

if [[ ${OB_SANITIZED:-0} == 1 ]]; then
    T_TIMEOUT=${T_TIMEOUT:-900}
else
    T_TIMEOUT=${T_TIMEOUT:-600}
fi

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()
WANT=("$@")
T0=$SECONDS

pass() { PASSED=$((PASSED + 1)); printf 'ok - %s\n' "$1"; }
fail() {
    FAILED=$((FAILED + 1)); FAILURES+=("$1")
    printf 'not ok - %s\n' "$1"
    shift
    local l
    for l in "$@"; do [[ -n $l ]] && sed 's/^/#   /' <<<"$l"; done
    return 0
}

wanted() {
    (( ${#WANT[@]} == 0 )) && return 0
    local w
    for w in "${WANT[@]}"; do [[ $1 == *"$w"* ]] && return 0; done
    return 1
}

signame() {
    local rc=$1
    if (( rc == 124 )); then echo "timed out"
    elif (( rc > 128 )); then echo "killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    else echo "exit status $rc"
    fi
}

# --- 1. module self-tests -------------------------------------------------------

# Module names in the order tests/selftest.c runs them.
selftest_modules() {
    grep -oE '\{"[a-z0-9_]+", *ob_[a-z0-9_]+_test\}' tests/selftest.c | sed -E 's/^\{"([^"]+)".*/\1/'
}

# Runs ob_selftest with "$@" (module names, or none for all); reports each
# " * name: OK" line; sets ST_LAST to the module that did not finish, if any.
run_selftest() {
    local out err rc line name
    err=$(mktemp /tmp/ob-selftest.XXXXXX)
    out=$(timeout 300 "$BIN/ob_selftest" "$@" 2>"$err")
    rc=$?
    ST_LAST=""
    # " * name: OK"; a module may log lines of its own (czmq logs to stdout)
    # between the name and its OK
    while IFS= read -r line; do
        if [[ $line =~ ^\ \*\ ([A-Za-z0-9_]+):\ ?(.*)$ ]]; then
            name=${BASH_REMATCH[1]}
            ST_LAST=$name
            line=${BASH_REMATCH[2]}
        fi
        if [[ -n $ST_LAST && $line =~ OK$ ]]; then
            pass "selftest $ST_LAST"
            ST_LAST=""
        fi
    done <<<"$out"
    if (( rc != 0 )); then
        fail "selftest ${ST_LAST:-(start)}: $(signame "$rc")" "$(tail -n 20 "$err")"
    elif [[ -n $ST_LAST ]]; then
        fail "selftest $ST_LAST: no OK" "$(tail -n 20 "$err")"
    fi
    rm -f "$err"
    return $rc
}

if wanted selftest; then
    echo "# module self-tests ($BIN/ob_selftest)"
    if [[ ! -x $BIN/ob_selftest ]]; then
        fail "selftest: $BIN/ob_selftest not built"
    elif ! run_selftest; then
        # carry on with the modules after the one that crashed, one process each
        mods=$(selftest_modules)
        after=0
        for m in $mods; do
            if (( after )); then run_selftest "$m"; fi
            [[ $m == "${ST_LAST:-}" ]] && after=1
        done
    fi
fi

# --- 2. fuzz corpora ------------------------------------------------------------

if wanted fuzz; then
    echo "# fuzz corpora (replay)"
    for src in tests/fuzz/fuzz_*.c; do
        [[ -f $src ]] || continue
        n=$(basename "$src" .c)
        corpus=tests/fuzz/corpus/$n
        if [[ ! -x $BIN/replay_$n ]]; then
            fail "replay $n: $BIN/replay_$n not built"
            continue
        fi
        if [[ ! -d $corpus ]]; then
            fail "replay $n: no corpus $corpus"
            continue
        fi
        out=$(timeout 300 "$BIN/replay_$n" "$corpus" 2>&1)
        rc=$?
        if (( rc == 0 )); then
            pass "replay $n ($(grep -oE 'replayed [0-9]+ inputs' <<<"$out" | tail -n 1 || true))"
        else
            fail "replay $n: $(signame "$rc")" "$(tail -n 20 <<<"$out")"
        fi
    done
fi

# --- 3. scripts ---------------------------------------------------------------

for script in tests/t_*.sh; do
    [[ -f $script ]] || continue
    name=$(basename "$script" .sh)
    wanted "$name" || continue
    echo "# $name"
    log=$(mktemp "/tmp/ob-$name.XXXXXX")
    t1=$SECONDS
    # the script's lines as they come; counted afterwards from the log
    timeout -k 10 "$T_TIMEOUT" bash "$script" 2>&1 | tee "$log" | sed -u "s/^\(not ok\|ok\) - /\1 - $name: /"
    rc=${PIPESTATUS[0]}
    ns=$(grep -cE '^ok - .*# SKIP( |$)' "$log")
    np=$(( $(grep -c '^ok - ' "$log") - ns ))
    nf=$(grep -c '^not ok - ' "$log")
    PASSED=$((PASSED + np))
    FAILED=$((FAILED + nf))
    SKIPPED=$((SKIPPED + ns))
    while IFS= read -r l; do
        FAILURES+=("$name: ${l#not ok - }")
    done < <(grep '^not ok - ' "$log")
    extra=$FAILED
    if (( rc == 124 || rc == 137 )); then
        fail "$name: $(signame 124) after $T_TIMEOUT s"
    elif (( rc != 0 && nf == 0 )); then
        fail "$name: $(signame "$rc") without a failed check" "$(tail -n 15 "$log")"
    elif (( rc == 0 && nf > 0 )); then
        fail "$name: exit status 0 despite failed checks"
    elif (( np + nf + ns == 0 )); then
        fail "$name: printed no result"
    fi
    echo "# $name: $np passed, $((nf + FAILED - extra)) failed$( (( ns )) && echo ", $ns skipped"), $((SECONDS - t1)) s"
    rm -f "$log"
done

# --- summary --------------------------------------------------------------------

echo "# $((SECONDS - T0)) s"
if (( FAILED > 0 )); then
    echo "# failures:"
    for f in "${FAILURES[@]}"; do echo "#   $f"; done
fi
if (( SKIPPED > 0 )); then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
    echo "$PASSED passed, $FAILED failed"
fi
(( FAILED == 0 ))
