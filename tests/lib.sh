# lib.sh — helpers every tests/t_*.sh script sources.
#
# A test script prints TAP-like lines, one per check:
#     ok - DESCRIPTION
#     not ok - DESCRIPTION
#     ok - DESCRIPTION # SKIP REASON     (a check that could not run here)
# followed, for a failure, by "#  " lines with what was seen. tests/run.sh
# counts those lines (a skip apart: neither passed nor failed); a script
# must end with `finish`, which exits non-zero when any check failed (and
# prints nothing else).
#
#   . "$(dirname "$0")/lib.sh"
#   site_start                      # broker + every department of the default rules
#   check "submit works" ob submit --title 标题 --content 内容 --category 城乡建设
#   id=$(json_get order.id <<<"$OUT")
#   finish
#
# Functions (stable: other scripts rely on them):
#   ok DESC / not_ok DESC [DETAIL...]      record one result
#   skip DESC REASON                       a check that cannot run here (e.g. its
#                                          data is missing): counted as skipped
#   run CMD...                             run, capture: $OUT (stdout), $ERR (stderr), $RC
#   check DESC CMD...                      ok if CMD exits 0
#   check_fails CODE DESC [--match ERE] CMD...
#                                          ok if CMD exits with CODE (and, with --match,
#                                          stdout+stderr matches the extended regex ERE)
#   check_eq DESC EXPECTED ACTUAL          ok if the two strings are equal
#   check_match DESC ERE TEXT              ok if TEXT matches the extended regex ERE
#   check_nomatch DESC ERE TEXT            ok if TEXT does not match ERE
#   wait_until TIMEOUT DESC CMD...         ok once CMD exits 0 (polled every 0.2 s),
#                                          not ok after TIMEOUT seconds
#   poll_until TIMEOUT CMD...              the same without printing: returns 0 or 1
#   site_start [local-site.sh start options]
#                                          a fresh site under /tmp (mktemp -d), stopped
#                                          and removed at exit (KEEP_SITE=1 keeps it);
#                                          exports SITE; sources SITE/site.env
#   site_sh CMD [ARGS...]                  deploy/local-site.sh CMD $SITE ARGS...
#   site_stop                              stop the site now (by pid), check its logs
#   site_pid NAME                          pid of broker or DEPT ("" if none)
#   site_alive NAME                        true if that process is alive
#   ob ARGS...                             orderbus --config $SITE/orderbus.yaml ARGS...
#   ob_node DEPT ARGS...                   orderbus --node $SITE/nodes/DEPT ARGS...
#   json_get PATH [DEFAULT]                stdin JSON -> the value at PATH (dot path,
#                                          numbers index lists: orders.0.state); strings
#                                          printed raw, other values as compact JSON;
#                                          exit 1 (DEFAULT printed if given) when absent
#   json_len PATH                          length of the list/object at PATH ("." = root)
#   json_valid                             exit 0 if stdin is one JSON document
#   json_lines_valid                       exit 0 if every non-empty stdin line is JSON
#   diag TEXT...                           "# TEXT" comment lines
#   finish                                 stop the site, exit 1 if any check failed
#
# python3 is a function calling the real interpreter ($PYTHON) directly.
# Note: check/run set OUT, so `check DESC cmd <<<"$OUT"` feeds the old value
# but replaces OUT: save it in a variable first when you need it again.
#
# Variables: REPO, BIN (${BUILD:-build}/bin, absolute), SCALE (timeout factor:
# 3 under OB_SANITIZED=1, else 1), TESTS_FAILED, TESTS_PASSED, TESTS_SKIPPED.

# shellcheck shell=bash
set -u
set -o pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_b=${BUILD:-build}
[[ $_b == /* ]] || _b="$REPO/$_b"
BIN=$_b/bin
unset _b
export REPO BIN
LOCAL_SITE=$REPO/deploy/local-site.sh

if [[ ${OB_SANITIZED:-0} == 1 ]]; then SCALE=3; else SCALE=1; fi

# The real interpreter: a pyenv shim costs half a second a call.
PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[[ -x $PYTHON ]] || PYTHON=$(command -v python3)
export PYTHON
python3() { "$PYTHON" "$@"; }
export SCALE

TESTS_FAILED=0
TESTS_PASSED=0
TESTS_SKIPPED=0
SITE=${SITE:-}
OUT=""
ERR=""
RC=0

# --- results ---------------------------------------------------------------

diag() {
    local line
    while IFS= read -r line; do printf '#   %s\n' "$line"; done <<<"$*"
}

ok() {
    TESTS_PASSED=$((TESTS_PASSED + 1))
    printf 'ok - %s\n' "$1"
}

# skip DESC REASON: the TAP form of a skipped check; not a pass.
skip() {
    TESTS_SKIPPED=$((TESTS_SKIPPED + 1))
    printf 'ok - %s # SKIP %s\n' "$1" "${2:-}"
}

not_ok() {
    TESTS_FAILED=$((TESTS_FAILED + 1))
    printf 'not ok - %s\n' "$1"
    shift
    local d
    for d in "$@"; do [[ -n $d ]] && diag "$d"; done
    return 0
}

# Shows a command and what it printed (at most 30 lines of each stream).
_seen() {
    local s
    s="command: $(printf '%q ' "$@")"$'\n'"exit status: $RC"
    [[ -n $OUT ]] && s+=$'\n'"stdout:"$'\n'"$(head -n 30 <<<"$OUT")"
    [[ -n $ERR ]] && s+=$'\n'"stderr:"$'\n'"$(head -n 30 <<<"$ERR")"
    printf '%s' "$s"
}

# run CMD... : captures stdout in OUT, stderr in ERR, the status in RC.
run() {
    local ef
    ef=$(mktemp "${TMPDIR:-/tmp}/ob-err.XXXXXX")
    OUT=$("$@" 2>"$ef")
    RC=$?
    ERR=$(cat "$ef")
    rm -f "$ef"
    return 0
}

check() {
    local desc=$1; shift
    run "$@"
    if (( RC == 0 )); then ok "$desc"; return 0; fi
    not_ok "$desc" "$(_seen "$@")"
    return 1
}

check_fails() {
    local code=$1 desc=$2 pat=""
    shift 2
    if [[ ${1:-} == --match ]]; then pat=$2; shift 2; fi
    run "$@"
    if (( RC != code )); then
        not_ok "$desc" "expected exit status $code" "$(_seen "$@")"
        return 1
    fi
    if [[ -n $pat ]] && ! grep -Eq -- "$pat" <<<"$OUT"$'\n'"$ERR"; then
        not_ok "$desc" "output does not match /$pat/" "$(_seen "$@")"
        return 1
    fi
    ok "$desc"
}

check_eq() {
    if [[ $2 == "$3" ]]; then ok "$1"; return 0; fi
    not_ok "$1" "expected: '$2'" "got:      '$3'"
    return 1
}

check_match() {
    if grep -Eq -- "$2" <<<"$3"; then ok "$1"; return 0; fi
    not_ok "$1" "expected a match for /$2/ in:" "$(head -n 30 <<<"$3")"
    return 1
}

check_nomatch() {
    if ! grep -Eq -- "$2" <<<"$3"; then ok "$1"; return 0; fi
    not_ok "$1" "expected no match for /$2/ in:" "$(grep -E -- "$2" <<<"$3" | head -n 10)"
    return 1
}

poll_until() {
    local limit=$1; shift
    local t0=$SECONDS
    limit=$((limit * SCALE))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        (( SECONDS - t0 >= limit )) && return 1
        sleep 0.2
    done
}

wait_until() {
    local limit=$1 desc=$2; shift 2
    if poll_until "$limit" "$@"; then ok "$desc"; return 0; fi
    run "$@"
    not_ok "$desc" "still failing after $((limit * SCALE)) s" "$(_seen "$@")"
    return 1
}

# --- JSON ------------------------------------------------------------------

_JSON_PY='
import json, sys
path, default = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
mode = sys.argv[3] if len(sys.argv) > 3 else "get"
try:
    v = json.load(sys.stdin)
except Exception as e:
    sys.stderr.write("json_get: stdin is not JSON: %s\n" % e)
    sys.exit(2)
try:
    for p in ([] if path in ("", ".") else path.strip(".").split(".")):
        if isinstance(v, list):
            v = v[int(p)]
        elif isinstance(v, dict):
            v = v[p]
        else:
            raise KeyError(p)
except (KeyError, IndexError, ValueError):
    if default is not None:
        print(default)
    sys.exit(1)
if mode == "len":
    print(len(v))
elif isinstance(v, str):
    print(v)
else:
    print(json.dumps(v, ensure_ascii=False, separators=(",", ":")))
'

json_get() { python3 -c "$_JSON_PY" "$1" "${2-}" get; }
json_len() { python3 -c "$_JSON_PY" "${1:-.}" "" len; }
json_valid() { python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; }
json_lines_valid() {
    python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    if line.strip():
        json.loads(line); n += 1
sys.exit(0 if n else 1)' 2>/dev/null
}

# --- the site ----------------------------------------------------------------

ob() { "$BIN/orderbus" --config "$SITE/orderbus.yaml" "$@"; }
ob_node() { local d=$1; shift; "$BIN/orderbus" --node "$SITE/nodes/$d" "$@"; }

site_sh() { local c=$1; shift; "$LOCAL_SITE" "$c" "$SITE" "$@"; }

site_pid() {
    local f=$SITE/run/$1.pid
    if [[ -n $SITE && -f $f ]]; then cat "$f"; fi
}

site_alive() {
    local pid
    pid=$(site_pid "$1")
    [[ -n $pid && -d /proc/$pid ]] || return 1
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

_SITE_OWNED=0
_SITE_STOPPED=0

site_start() {
    SITE=$(mktemp -d /tmp/ob-test.XXXXXX) || { not_ok "site: mktemp"; finish; }
    export SITE
    _SITE_OWNED=1
    _SITE_STOPPED=0
    trap '_site_cleanup' EXIT
    trap 'exit 143' TERM INT HUP     # a time-out still stops the site
    local log
    log=$(WAIT_S=$((20 * SCALE)) BUILD=$BIN/.. "$LOCAL_SITE" start "$SITE" "$@" 2>&1)
    local rc=$?
    if (( rc != 0 )); then
        not_ok "site starts (local-site.sh start $*)" "$log"
        finish
    fi
    # shellcheck disable=SC1091
    . "$SITE/site.env"
    SITE=$(cd "$SITE" && pwd)
    export SITE
}

# Stops every process of the site by its pid file: TERM, then KILL after 5 s.
_site_kill_all() {
    local f pid i
    [[ -d $SITE/run ]] || return 0
    for f in "$SITE"/run/*.pid; do
        [[ -f $f ]] || continue
        pid=$(cat "$f")
        [[ -n $pid && -d /proc/$pid ]] || continue
        kill -TERM "$pid" 2>/dev/null || true
    done
    for f in "$SITE"/run/*.pid; do
        [[ -f $f ]] || continue
        pid=$(cat "$f")
        for ((i = 0; i < 50 * SCALE; i++)); do
            [[ -d /proc/$pid && $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || break
            sleep 0.1
        done
        if [[ -d /proc/$pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
}

# Stops the site; a sanitizer report in any log is a failure.
site_stop() {
    [[ $_SITE_OWNED == 1 && $_SITE_STOPPED == 0 && -n $SITE ]] || return 0
    _SITE_STOPPED=1
    "$LOCAL_SITE" stop "$SITE" >/dev/null 2>&1
    _site_kill_all
    local f hits
    for f in "$SITE"/log/*.log; do
        [[ -f $f ]] || continue
        hits=$(grep -E 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$f" | head -n 5)
        if [[ -n $hits ]]; then
            not_ok "no sanitizer report in $(basename "$f")" "$hits" "$(grep -E -A 12 'ERROR: |runtime error:' "$f" | head -n 40)"
        fi
    done
}

_site_cleanup() {
    local rc=$?
    site_stop
    (( TESTS_FAILED > 0 && rc == 0 )) && rc=1
    if [[ $_SITE_OWNED == 1 && -n $SITE && -d $SITE ]]; then
        if [[ ${KEEP_SITE:-0} == 1 ]]; then
            echo "# site kept in $SITE" >&2
        else
            rm -rf "$SITE"
        fi
    fi
    _SITE_OWNED=0
    exit "$rc"
}

# Prints the last lines of every log of the site as diagnostics.
site_logs() {
    local f
    for f in "$SITE"/log/*.log; do
        [[ -f $f ]] || continue
        diag "---- $(basename "$f")"
        diag "$(tail -n "${1:-10}" "$f")"
    done
}

finish() {
    site_stop
    if (( TESTS_FAILED > 0 )); then
        [[ -n $SITE && -d $SITE/log ]] && site_logs 15
        exit 1
    fi
    exit 0
}
