#!/usr/bin/env bash
# local-site.sh — a whole orderbus site (one broker, one node per department)
# on 127.0.0.1, for demos, tests and benchmarks. Every process runs in the
# background with its log in SITE/log/NAME.log and its pid in
# SITE/run/NAME.pid (NAME = broker or the department id); processes are
# only ever stopped by the pids in those files, never by name.
#
#   local-site.sh start SITE [--rules FILE] [--demo-auto] [--depts "hrss housing ..."]
#                            [--broker-args "..."] [--node-args "..."] [--no-wait]
#                            [--ports "NODE CLIENT EVENT"]  (default: free ones)
#   local-site.sh stop SITE
#   local-site.sh status SITE                    which processes run
#   local-site.sh wait-up SITE [DEPT ...]        until the broker shows them up (20 s)
#   local-site.sh start-broker | stop-broker | kill-broker | restart-broker SITE
#   local-site.sh start-node | stop-node | kill-node | restart-node SITE DEPT
#
# kill-* is kill -9 (crash tests); stop-* is TERM, then KILL after 5 s.
# Binaries come from ${BUILD:-build}/bin. A second `start` of a stopped site
# reuses its keys, ports and registrations.
#
# Site layout: SITE/keys/{broker,DEPT,dispatcher}.key(+_secret), SITE/broker/
# (broker store), SITE/nodes/DEPT/ (node store, node.sock), SITE/orderbus.yaml
# (CLI config for the dispatcher), SITE/site.env (shell variables), SITE/run,
# SITE/log.
set -euo pipefail

PROG=local-site.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
WAIT_S=${WAIT_S:-20}

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

# --- paths -----------------------------------------------------------------

# The directory holding the binaries, absolute: $BUILD/bin relative to the
# current directory, else to the repository.
find_bin() {
    local build=${BUILD:-build} dir
    for dir in "$build/bin" "$REPO/$build/bin"; do
        if [[ -x $dir/orderbus-broker && -x $dir/orderbus-node && -x $dir/orderbus ]]; then
            (cd "$dir" && pwd)
            return 0
        fi
    done
    die "no orderbus binaries in '$build/bin' (run make first, or set BUILD)"
}

abspath() {
    local p=$1
    [[ $p == /* ]] || p="$PWD/$p"
    echo "$p"
}

# --- rule file: department ids and names ------------------------------------

# Prints "id<TAB>name" for each department in the rule file's top-level
# `departments:` list (block or flow style).
rule_departments() {
    awk '
    function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
    function unq(s) {
        s = trim(s)
        if (s ~ /^".*"$/ || s ~ /^\047.*\047$/) s = substr(s, 2, length(s) - 2)
        return s
    }
    function flush() {
        if (id != "") print id "\t" (name != "" ? name : id)
        id = ""; name = ""
    }
    function field(piece,   k, v) {
        piece = trim(piece)
        if (piece ~ /^(id|name)[ \t]*:/) {
            k = piece; sub(/[ \t]*:.*$/, "", k)
            v = piece; sub(/^[a-z]+[ \t]*:[ \t]*/, "", v); v = unq(v)
            if (k == "id") id = v; else name = v
        }
    }
    function scan(text,   n, parts, i) {
        sub(/[ \t]+#.*$/, "", text)
        if (text ~ /^[ \t]*-/) { flush(); sub(/^[ \t]*-[ \t]*/, "", text) }
        gsub(/\{/, "\001,", text); gsub(/\}/, ",\001,", text); gsub(/[\[\]]/, "", text)
        n = split(text, parts, ",")
        for (i = 1; i <= n; i++) {
            if (parts[i] == "\001") flush(); else field(parts[i])
        }
    }
    /^departments[ \t]*:/ {
        inblock = 1; rest = $0; sub(/^departments[ \t]*:[ \t]*/, "", rest)
        if (rest != "") scan(rest)
        next
    }
    inblock && /^[A-Za-z_]/ { flush(); inblock = 0 }
    inblock && /^[ \t]*(#.*)?$/ { next }
    inblock { scan($0) }
    END { flush() }
    ' "$1"
}

# --- ports -----------------------------------------------------------------

# Prints N free loopback TCP ports (not listening per `ss -ltn`), distinct.
free_ports() {
    local n=$1 used port tries=0 out=()
    used=$(ss -ltnH 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    while (( ${#out[@]} < n )); do
        (( tries++ < 1000 )) || die "no free TCP port found"
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
        grep -qx "$port" <<<"$used" && continue
        [[ " ${out[*]} " == *" $port "* ]] && continue
        out+=("$port")
    done
    echo "${out[@]}"
}

# --- site state ------------------------------------------------------------

load_site() {
    SITE=$(abspath "${1:?SITE directory missing}")
    [[ -f $SITE/site.env ]] || die "'$SITE' is not a local site (no site.env)"
    # shellcheck disable=SC1091
    . "$SITE/site.env"
    SITE=$(abspath "$1")
    if [[ ! -x ${BIN_DIR:-}/orderbus-broker ]]; then BIN_DIR=$(find_bin); fi
}

pid_of() { # NAME -> pid or empty
    local f=$SITE/run/$1.pid
    [[ -f $f ]] && cat "$f" || true
}

# True if pid is a live (not zombie) orderbus process.
is_alive() {
    local pid=$1 state
    [[ -n $pid && -d /proc/$pid ]] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
    [[ $state != Z ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'orderbus-' || return 1
}

write_env() {
    local tmp=$SITE/site.env.tmp d var
    {
        echo "# orderbus local site, written by deploy/local-site.sh; source it from a shell"
        printf 'SITE=%q\n' "$SITE"
        printf 'BIN_DIR=%q\n' "$BIN_DIR"
        printf 'RULES=%q\n' "$RULES"
        printf 'DEPTS=%q\n' "$DEPTS"
        printf 'DEMO_AUTO=%q\n' "$DEMO_AUTO"
        printf 'BROKER_ARGS=%q\n' "$BROKER_ARGS"
        printf 'NODE_ARGS=%q\n' "$NODE_ARGS"
        printf 'NODE_PORT=%q\nCLIENT_PORT=%q\nEVENT_PORT=%q\n' "$NODE_PORT" "$CLIENT_PORT" "$EVENT_PORT"
        printf 'NODE_ENDPOINT=%q\n' "tcp://127.0.0.1:$NODE_PORT"
        printf 'CLIENT_ENDPOINT=%q\n' "tcp://127.0.0.1:$CLIENT_PORT"
        printf 'EVENT_ENDPOINT=%q\n' "tcp://127.0.0.1:$EVENT_PORT"
        printf 'CONFIG=%q\n' "$SITE/orderbus.yaml"
        printf 'BROKER_KEY=%q\n' "$SITE/keys/broker.key"
        printf 'BROKER_PID=%q\n' "$(pid_of broker)"
        for d in $DEPTS; do
            var=NODE_PID_${d//[^A-Za-z0-9_]/_}
            printf '%s=%q\n' "$var" "$(pid_of "$d")"
        done
    } >"$tmp"
    mv "$tmp" "$SITE/site.env"
}

write_cli_config() {
    cat >"$SITE/orderbus.yaml" <<EOF
# orderbus CLI configuration for this local site (dispatcher role).
# Relative paths are resolved against this file's directory.
broker: tcp://127.0.0.1:$CLIENT_PORT
broker_key: keys/broker.key
key: keys/dispatcher.key
events: tcp://127.0.0.1:$EVENT_PORT
EOF
}

# --- processes -------------------------------------------------------------

# Starts "$@" in the background as NAME (log, pid file).
spawn() {
    local name=$1; shift
    local pid
    pid=$(pid_of "$name")
    if is_alive "$pid"; then die "$name is already running (pid $pid)"; fi
    echo "---- $(date '+%F %T') start: $*" >>"$SITE/log/$name.log"
    "$@" </dev/null >>"$SITE/log/$name.log" 2>&1 &
    echo $! >"$SITE/run/$name.pid"
}

# Sends SIG to NAME; for TERM waits up to 5 s, then KILL. Removes the pid file.
stop_proc() {
    local name=$1 sig=${2:-TERM} pid i
    pid=$(pid_of "$name")
    if ! is_alive "$pid"; then rm -f "$SITE/run/$name.pid"; return 0; fi
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        is_alive "$pid" || break
        sleep 0.1
    done
    if is_alive "$pid"; then
        say "$name (pid $pid) did not stop within 5 s: KILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do is_alive "$pid" || break; sleep 0.1; done
    fi
    rm -f "$SITE/run/$name.pid"
}

log_tail() {
    local name=$1
    if [[ -f $SITE/log/$name.log ]]; then
        echo "---- last lines of $SITE/log/$name.log:" >&2
        tail -n 15 "$SITE/log/$name.log" >&2
    fi
}

cli() { "$BIN_DIR/orderbus" --config "$SITE/orderbus.yaml" "$@"; }

# Departments the broker reports up, one a line (empty if it does not answer).
depts_up() {
    local json
    json=$(cli --timeout 1000 status --json 2>/dev/null) || return 0
    if command -v jq >/dev/null 2>&1; then
        jq -r '(.nodes // .departments // [])[] | select(.up == true) | .dept' <<<"$json" 2>/dev/null || true
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c '
import json, sys
d = json.load(sys.stdin)
for n in d.get("nodes", d.get("departments", [])):
    if n.get("up") is True: print(n.get("dept"))' <<<"$json" 2>/dev/null || true
    else   # the CLI prints one field a line
        awk '/"dept":/ { d = $0; sub(/^[^:]*: *"/, "", d); sub(/".*$/, "", d) }
             /"up": *true/ { print d }' <<<"$json"
    fi
}

# Waits until the broker answers a status request.
wait_broker() {
    local t0=$SECONDS pid
    while (( SECONDS - t0 < WAIT_S )); do
        pid=$(pid_of broker)
        if ! is_alive "$pid"; then
            say "the broker exited during start"; log_tail broker; return 1
        fi
        if cli --timeout 1000 status --json >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    say "the broker did not answer within ${WAIT_S} s"; log_tail broker
    return 1
}

# Waits until every department in "$@" is up at the broker.
wait_up() {
    local t0=$SECONDS up missing d
    while :; do
        up=$(depts_up)
        missing=()
        for d in "$@"; do grep -qx "$d" <<<"$up" || missing+=("$d"); done
        (( ${#missing[@]} == 0 )) && return 0
        if (( SECONDS - t0 >= WAIT_S )); then
            say "not up after ${WAIT_S} s: ${missing[*]}"
            log_tail broker
            for d in "${missing[@]}"; do log_tail "$d"; done
            return 1
        fi
        for d in "${missing[@]}"; do
            if ! is_alive "$(pid_of "$d")" && [[ -f $SITE/run/$d.pid ]]; then
                say "node '$d' exited"; log_tail "$d"; return 1
            fi
        done
        sleep 0.2
    done
}

start_broker() {
    # the working-day calendar: China's official holidays and make-up days
    local cal=()
    for f in "$REPO"/router-rules/calendar/CN-*.yaml; do
        [[ -f $f ]] && cal+=(--calendar "$f")
    done
    spawn broker "$BIN_DIR/orderbus-broker" --data "$SITE/broker" --key "$SITE/keys/broker.key" \
        --rules "$RULES" "${cal[@]}" --node-endpoint "tcp://127.0.0.1:$NODE_PORT" \
        --client-endpoint "tcp://127.0.0.1:$CLIENT_PORT" \
        --event-endpoint "tcp://127.0.0.1:$EVENT_PORT" $BROKER_ARGS
    write_env
}

start_node() {
    local d=$1 extra=()
    [[ $DEMO_AUTO == 1 ]] && extra+=(--demo-auto)
    mkdir -p "$SITE/nodes/$d"
    chmod 700 "$SITE/nodes/$d"
    spawn "$d" "$BIN_DIR/orderbus-node" --data "$SITE/nodes/$d" \
        --broker "tcp://127.0.0.1:$NODE_PORT" --broker-key "$SITE/keys/broker.key" \
        --key "$SITE/keys/$d.key" "${extra[@]}" $NODE_ARGS
    write_env
}

# Waits until node DEPT answers on its local service (it needs no broker).
wait_node_local() {
    local d=$1 t0=$SECONDS
    while (( SECONDS - t0 < WAIT_S )); do
        if ! is_alive "$(pid_of "$d")"; then
            say "node '$d' exited during start"; log_tail "$d"; return 1
        fi
        if "$BIN_DIR/orderbus" --node "$SITE/nodes/$d" --timeout 1000 status >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    say "node '$d' did not answer on its local service within ${WAIT_S} s"; log_tail "$d"
    return 1
}

dept_known() {
    local d
    for d in $DEPTS; do [[ $d == "$1" ]] && return 0; done
    die "'$1' is not a department of this site (have: $DEPTS)"
}

# --- commands --------------------------------------------------------------

cmd_start() {
    local site=${1:-}; [[ -n $site && $site != -* ]] || die "usage: $PROG start SITE [options]"
    shift
    local rules="" depts="" demo=0 wait=1 fresh=0 ports=""
    local bargs=${BROKER_ARGS-__unset__} nargs=${NODE_ARGS-__unset__}
    while (( $# )); do
        case $1 in
            --rules) rules=${2:?--rules needs a file}; shift 2 ;;
            --depts) depts=${2:?--depts needs a list}; shift 2 ;;
            --demo-auto) demo=1; shift ;;
            --broker-args) bargs=${2?--broker-args needs a value}; shift 2 ;;
            --node-args) nargs=${2?--node-args needs a value}; shift 2 ;;
            --ports) ports=${2:?--ports needs "NODE CLIENT EVENT"}; shift 2 ;;
            --no-wait) wait=0; shift ;;
            *) die "start: unknown option '$1'" ;;
        esac
    done
    SITE=$(abspath "$site")
    BIN_DIR=$(find_bin)

    if [[ -f $SITE/site.env ]]; then
        # a site made before: same keys, ports and registrations
        load_site "$SITE"
        DEMO_AUTO=$demo
        [[ $bargs == __unset__ ]] || BROKER_ARGS=$bargs   # else the ones stored
        [[ $nargs == __unset__ ]] || NODE_ARGS=$nargs
        [[ -z $depts || $depts == "$DEPTS" ]] || say "reusing the site's departments: $DEPTS"
    else
        RULES=$(abspath "${rules:-$REPO/router-rules/default.yaml}")
        [[ -r $RULES ]] || die "cannot read rule file '$RULES'"
        local table
        table=$(rule_departments "$RULES")
        [[ -n $table ]] || die "no departments found in '$RULES'"
        if [[ -z $depts ]]; then depts=$(cut -f1 <<<"$table" | tr '\n' ' '); fi
        DEPTS=$(echo $depts)   # normalise spaces
        DEMO_AUTO=$demo
        [[ $bargs == __unset__ ]] && BROKER_ARGS="" || BROKER_ARGS=$bargs
        [[ $nargs == __unset__ ]] && NODE_ARGS="" || NODE_ARGS=$nargs
        if [[ -n $ports ]]; then
            read -r NODE_PORT CLIENT_PORT EVENT_PORT <<<"$ports"
            [[ $NODE_PORT =~ ^[0-9]+$ && $CLIENT_PORT =~ ^[0-9]+$ && $EVENT_PORT =~ ^[0-9]+$ ]] \
                || die "--ports wants three port numbers: node, client, event"
        else
            read -r NODE_PORT CLIENT_PORT EVENT_PORT <<<"$(free_ports 3)"
        fi

        mkdir -p "$SITE"/{keys,broker,nodes,run,log}
        chmod 700 "$SITE/keys" "$SITE/broker" "$SITE/nodes"
        local d name
        "$BIN_DIR/orderbus" keys new "$SITE/keys/broker.key" --name broker >/dev/null
        "$BIN_DIR/orderbus" keys new "$SITE/keys/dispatcher.key" --name dispatcher >/dev/null
        for d in $DEPTS; do
            [[ $d =~ ^[a-z0-9_-]{1,63}$ ]] || die "bad department id '$d'"
            name=$(awk -F'\t' -v d="$d" '$1 == d { print $2; exit }' <<<"$table")
            if [[ -z $name ]]; then
                say "department '$d' is not declared in '$RULES': registered with its id as name"
                name=$d
            fi
            "$BIN_DIR/orderbus" keys new "$SITE/keys/$d.key" --name "$d" >/dev/null
            "$BIN_DIR/orderbus" admin add-department "$d" --name "$name" \
                --key "$SITE/keys/$d.key" --store "$SITE/broker" >/dev/null
        done
        "$BIN_DIR/orderbus" admin add-client dispatcher --role dispatcher \
            --key "$SITE/keys/dispatcher.key" --store "$SITE/broker" >/dev/null
        write_cli_config
        write_env
        fresh=1
    fi

    local d tries=0
    start_broker
    if (( wait )); then
        # ports were checked free, but another program may have taken one
        # since: a new site picks new ones
        while ! wait_broker; do
            stop_proc broker KILL
            if (( fresh && ++tries < 4 )) && tail -n 5 "$SITE/log/broker.log" | grep -qi 'in use'; then
                say "a port was taken meanwhile: picking new ones"
                read -r NODE_PORT CLIENT_PORT EVENT_PORT <<<"$(free_ports 3)"
                write_cli_config
                start_broker
                continue
            fi
            cmd_stop_quiet
            die "site did not start (logs in $SITE/log)"
        done
    fi
    for d in $DEPTS; do start_node "$d"; done
    if (( wait )); then
        # shellcheck disable=SC2086
        wait_up $DEPTS || { cmd_stop_quiet; die "site did not start (logs in $SITE/log)"; }
    fi
    say "site '$SITE' up: broker $CLIENT_PORT (clients), $NODE_PORT (nodes), $EVENT_PORT (events); departments: $DEPTS"
}

cmd_stop_quiet() {
    local d
    for d in $DEPTS; do stop_proc "$d" TERM; done
    stop_proc broker TERM
    write_env
}

cmd_status() {
    local d pid
    for d in broker $DEPTS; do
        pid=$(pid_of "$d")
        if is_alive "$pid"; then echo "$d running (pid $pid)"; else echo "$d stopped"; fi
    done
}

main() {
    local cmd=${1:-}
    [[ -n $cmd ]] || { usage >&2; exit 64; }
    shift
    case $cmd in
        -h|--help|help) usage ;;
        start) cmd_start "$@" ;;
        stop) load_site "${1:-}"; cmd_stop_quiet ;;
        status) load_site "${1:-}"; cmd_status ;;
        wait-up) load_site "${1:-}"; shift || true
                 if (( $# )); then wait_up "$@"; else wait_up $DEPTS; fi ;;
        start-broker) load_site "${1:-}"; start_broker; wait_broker ;;
        stop-broker) load_site "${1:-}"; stop_proc broker TERM; write_env ;;
        kill-broker) load_site "${1:-}"; stop_proc broker KILL; write_env ;;
        restart-broker) load_site "${1:-}"; stop_proc broker TERM; start_broker; wait_broker ;;
        start-node|stop-node|kill-node|restart-node)
            load_site "${1:-}"
            local d=${2:?"$cmd needs SITE DEPT"}
            dept_known "$d"
            case $cmd in
                start-node) start_node "$d"; wait_node_local "$d" ;;
                stop-node) stop_proc "$d" TERM; write_env ;;
                kill-node) stop_proc "$d" KILL; write_env ;;
                restart-node) stop_proc "$d" TERM; start_node "$d"; wait_node_local "$d" ;;
            esac ;;
        *) die "unknown command '$cmd' (try --help)" ;;
    esac
}

main "$@"
