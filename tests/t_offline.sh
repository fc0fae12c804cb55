#!/usr/bin/env bash
# t_offline.sh — an offline department and store and forward, both ways.
#
#   a) broker -> node: the housing node is killed (kill -9); 200 orders that
#      route to housing (城乡建设, real complaints from deploy/data) are
#      submitted; the broker keeps them DISPATCHED with transport QUEUED and
#      shows housing down with an outbox of 200; the node is started again
#      and receives every order exactly once (inbox of exactly 200 distinct
#      orders, one DELIVERED event in each order's journal).
#   b) node -> broker: orders are delivered and some signed; the broker is
#      killed (kill -9); the clerk signs, reports progress and replies
#      through the node, which answers alone and keeps the actions in its
#      outbox, which survives a kill -9 of the node too; the broker is
#      started again and applies each action exactly once and in order (one
#      SIGN, PROGRESS, REPLY each, in that order).
#   c) a department is killed and 20 orders follow at once, before the broker
#      can notice: they reach the restarted node once each all the same.
#   d) a department the rules name but that is not registered yet: its
#      orders wait at the broker; registered while the broker runs, its node
#      connects and receives them (no restart of the broker).
#
# Prints TAP-like lines (see tests/lib.sh); exits 1 if any check failed.
# KEEP_SITE=1 keeps the site (logs in SITE/log) for a look afterwards.

. "$(dirname "$0")/lib.sh"

DATA=$REPO/deploy/data/tipdm_demo.jsonl
# python3 for the JSON checks (the system one when there is one: a version
# manager's shim can cost half a second a call)
PY=$(command -v /usr/bin/python3 || command -v python3)
N_OFFLINE=200

# --- helpers -----------------------------------------------------------------

# dept_field DEPT FIELD: FIELD of DEPT in the broker's status (JSON value:
# true/false/number/string), fails when the broker does not answer.
dept_field() {
    local json
    json=$(ob --json --timeout 2000 status 2>/dev/null) || return 1
    "$PY" -c '
import json, sys
d = json.loads(sys.argv[3])
for n in d.get("nodes", []):
    if n.get("dept") == sys.argv[1]:
        v = n.get(sys.argv[2])
        print(v if isinstance(v, str) else json.dumps(v))
        sys.exit(0)
sys.exit(1)' "$1" "$2" "$json"
}

dept_is() { [[ $(dept_field "$1" "$2") == "$3" ]]; }

# node_field DEPT FIELD: FIELD of the node's own status (LocalStatus JSON).
node_field() {
    ob_node "$1" --json --timeout 2000 status 2>/dev/null |
        "$PY" -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; print(v if isinstance(v, str) else json.dumps(v))' "$2"
}

node_is() { [[ $(node_field "$1" "$2") == "$3" ]]; }

# orders_in IDS_FILE STATE TRANSPORT: true when every order of IDS_FILE is in
# STATE at the broker (and, unless TRANSPORT is "-", has that transport state).
# With VERBOSE=1 prints what differs.
orders_in() {
    local json
    json=$(ob --json --timeout 5000 list --limit 100000 2>/dev/null) || return 1
    "$PY" -c '
import json, sys, collections
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()]
want_state, want_tr, verbose = sys.argv[2], sys.argv[3], sys.argv[4] == "1"
by_id = {o["id"]: o for o in json.load(sys.stdin)}
seen = collections.Counter()
bad = 0
for i in ids:
    o = by_id.get(i)
    key = "missing" if o is None else "%s/%s" % (o.get("state"), o.get("transport"))
    seen[key] += 1
    if o is None or o.get("state") != want_state or (want_tr != "-" and o.get("transport") != want_tr):
        bad += 1
if verbose:
    print("state/transport of the %d orders: %s" % (len(ids), dict(seen)))
sys.exit(1 if bad or not ids else 0)' "$1" "$2" "$3" "${VERBOSE:-0}" <<<"$json"
}

# trace_events IDS_FILE: for each order, the events of its journal, one JSON
# object a line ({"id", "events": [names], "notes": [notes]}, or {"id",
# "error"}), from `orderbus --json trace` (one python process for all).
trace_events() {
    "$PY" - "$1" "$BIN/orderbus" "$SITE/orderbus.yaml" <<'PYEOF'
import json, subprocess, sys
ids_file, exe, conf = sys.argv[1:4]
for i in (l.strip() for l in open(ids_file)):
    if not i:
        continue
    p = subprocess.run([exe, "--config", conf, "--json", "--timeout", "5000", "trace", i],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print(json.dumps({"id": i, "error": "trace exit %d: %s" % (p.returncode, p.stderr.strip())}))
        continue
    d = json.loads(p.stdout)
    ev = d.get("events", [])
    print(json.dumps({"id": i, "events": [e.get("event") for e in ev],
                      "notes": [e.get("note", "") for e in ev]}, ensure_ascii=False))
PYEOF
}

# ============================================================================
# a) the broker queues for an offline department, and delivers once
# ============================================================================

site_start --depts "housing health transport"
T=$SITE/t_offline
mkdir -p "$T"

# 200 real complaints in the housing category, each with its own reference.
"$PY" - "$DATA" "$N_OFFLINE" >"$T/housing.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
rows = [r for r in rows if r.get("category", [""])[0] == "城乡建设"]
for i in range(int(sys.argv[2])):
    r = dict(rows[i % len(rows)])
    r["external_ref"] = "%s-offline-%d" % (r.get("external_ref", "t"), i)
    print(json.dumps(r, ensure_ascii=False))
EOF
check_eq "a: $N_OFFLINE housing orders prepared" "$N_OFFLINE" "$(wc -l <"$T/housing.jsonl" | tr -d ' ')"

wait_until 10 "a: housing is up at the broker" dept_is housing up true
check "a: kill -9 the housing node" site_sh kill-node housing
if site_alive housing; then not_ok "a: housing node is gone"; else ok "a: housing node is gone"; fi
wait_until 10 "a: the broker marks housing down" dept_is housing up false

run ob --json --timeout 30000 submit --batch "$T/housing.jsonl"
if (( RC == 0 )); then ok "a: submit --batch of $N_OFFLINE orders while housing is down"
else not_ok "a: submit --batch of $N_OFFLINE orders while housing is down" "exit $RC" "$(tail -n 5 <<<"$ERR")"; fi
"$PY" -c '
import json, sys
for l in sys.stdin:
    l = l.strip()
    if not l: continue
    try: d = json.loads(l)
    except ValueError: continue
    if d.get("ok") and d.get("id"): print(d["id"])' <<<"$OUT" >"$T/ids"
check_eq "a: $N_OFFLINE distinct orders registered" "$N_OFFLINE" "$(sort -u "$T/ids" | wc -l | tr -d ' ')"
run "$PY" -c '
import json, sys
bad = [l for l in sys.stdin if l.strip() and (json.loads(l).get("dept") != "housing"
       or json.loads(l).get("state") != "DISPATCHED")]
print("".join(bad[:5])); sys.exit(1 if bad else 0)' <<<"$OUT"
if (( RC == 0 )); then ok "a: every submit answer says DISPATCHED to housing"
else not_ok "a: every submit answer says DISPATCHED to housing" "$OUT"; fi

if orders_in "$T/ids" DISPATCHED QUEUED; then ok "a: broker: all $N_OFFLINE DISPATCHED, transport QUEUED"
else not_ok "a: broker: all $N_OFFLINE DISPATCHED, transport QUEUED" "$(VERBOSE=1 orders_in "$T/ids" DISPATCHED QUEUED)"; fi
check_eq "a: status: housing down" "false" "$(dept_field housing up)"
check_eq "a: status: housing outbox depth $N_OFFLINE" "$N_OFFLINE" "$(dept_field housing outbox_depth)"
check_eq "a: status: housing open orders $N_OFFLINE" "$N_OFFLINE" "$(dept_field housing open_orders)"
check_eq "a: status: health outbox empty" "0" "$(dept_field health outbox_depth)"

check "a: restart the housing node" site_sh start-node housing
wait_until 30 "a: the broker sees housing up again" dept_is housing up true
wait_until 30 "a: housing outbox drains to 0" dept_is housing outbox_depth 0
if poll_until 30 orders_in "$T/ids" DISPATCHED RECEIVED; then ok "a: broker: all $N_OFFLINE transport RECEIVED"
else not_ok "a: broker: all $N_OFFLINE transport RECEIVED" "$(VERBOSE=1 orders_in "$T/ids" DISPATCHED RECEIVED)"; fi

run ob_node housing --json --timeout 10000 inbox --all
if (( RC == 0 )); then ok "a: housing inbox answers"; else not_ok "a: housing inbox answers" "$(_seen ob_node housing --json inbox --all)"; fi
check_eq "a: housing inbox is not truncated" "" "$ERR"
run "$PY" -c '
import json, sys, collections
inbox = json.load(sys.stdin)
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()]
got = collections.Counter(o.get("id") for o in inbox)
twice = [i for i, c in got.items() if c > 1]
missing = [i for i in ids if i not in got]
extra = [i for i in got if i not in set(ids)]
states = collections.Counter(o.get("state") for o in inbox)
print("inbox %d orders, %d distinct; twice: %s; missing: %s; extra: %s; states %s"
      % (len(inbox), len(got), twice[:5], missing[:5], extra[:5], dict(states)))
sys.exit(0 if len(inbox) == len(ids) and not twice and not missing and not extra
         and set(states) == {"DISPATCHED"} else 1)' "$T/ids" <<<"${OUT:-[]}"
if (( RC == 0 )); then ok "a: housing inbox holds exactly the $N_OFFLINE orders, each once, DISPATCHED"
else not_ok "a: housing inbox holds exactly the $N_OFFLINE orders, each once, DISPATCHED" "$OUT"; fi
check_eq "a: node status: inbox orders $N_OFFLINE" "$N_OFFLINE" "$(node_field housing inbox_orders)"
check_eq "a: node status: outbox empty" "0" "$(node_field housing outbox_depth)"

trace_events "$T/ids" >"$T/traces_a"
run "$PY" -c '
import json, sys
bad = []
for l in open(sys.argv[1]):
    d = json.loads(l)
    ev = d.get("events")
    if ev is None or ev.count("DELIVERED") != 1 or ev.count("REGISTER") != 1 or ev.count("ROUTE") != 1:
        bad.append("%s: %s" % (d["id"], d.get("error") or " ".join(ev)))
print("%d orders traced, %d bad" % (sum(1 for _ in open(sys.argv[1])), len(bad)))
print("\n".join(bad[:10]))
sys.exit(1 if bad else 0)' "$T/traces_a"
if (( RC == 0 )); then ok "a: every trace has exactly one REGISTER, ROUTE, DELIVERED ($(head -n 1 <<<"$OUT"))"
else not_ok "a: every trace has exactly one REGISTER, ROUTE, DELIVERED" "$OUT"; fi

# ============================================================================
# b) the clerk works while the broker is down; actions arrive once, in order
# ============================================================================

head -n 3 "$T/ids" >"$T/signed_before"     # signed while the broker is up
sed -n '4,6p' "$T/ids" >"$T/signed_during" # signed while it is down
cat "$T/signed_before" "$T/signed_during" >"$T/ids_b"

fails=0
while IFS= read -r id; do
    run ob_node housing --json sign "$id"
    [[ $RC == 0 && $(json_get state <<<"$OUT") == IN_PROGRESS ]] || { fails=$((fails + 1)); diag "sign $id: exit $RC $ERR"; }
done <"$T/signed_before"
check_eq "b: clerk signs 3 orders (broker up)" 0 "$fails"
if poll_until 15 orders_in "$T/signed_before" IN_PROGRESS -; then ok "b: broker shows the 3 signed orders IN_PROGRESS"
else not_ok "b: broker shows the 3 signed orders IN_PROGRESS" "$(VERBOSE=1 orders_in "$T/signed_before" IN_PROGRESS -)"; fi

check "b: kill -9 the broker" site_sh kill-broker
down_ms=$(date +%s%3N)
if site_alive broker; then not_ok "b: broker is gone"; else ok "b: broker is gone"; fi
check_fails 69 "b: centre commands report the broker unreachable" ob --timeout 1000 status

fails=0
while IFS= read -r id; do
    run ob_node housing --json --timeout 3000 sign "$id"
    [[ $RC == 0 && $(json_get state <<<"$OUT") == IN_PROGRESS ]] || { fails=$((fails + 1)); diag "sign $id: exit $RC $OUT $ERR"; }
done <"$T/signed_during"
check_eq "b: clerk signs 3 orders while the broker is down (node answers IN_PROGRESS)" 0 "$fails"

fails=0
while IFS= read -r id; do
    run ob_node housing --json --timeout 3000 progress "$id" --note "已到现场核实，正在协调施工单位整改"
    [[ $RC == 0 && $(json_get state <<<"$OUT") == IN_PROGRESS ]] || { fails=$((fails + 1)); diag "progress $id: exit $RC $OUT $ERR"; }
done <"$T/ids_b"
check_eq "b: clerk reports progress on 6 orders while the broker is down" 0 "$fails"

fails=0
while IFS= read -r id; do
    run ob_node housing --json --timeout 3000 reply "$id" --result resolved --note "施工围挡已后移，人行道恢复通行"
    [[ $RC == 0 && $(json_get state <<<"$OUT") == REPLIED ]] || { fails=$((fails + 1)); diag "reply $id: exit $RC $OUT $ERR"; }
done <"$T/ids_b"
check_eq "b: clerk replies on 6 orders while the broker is down (node answers REPLIED)" 0 "$fails"

wait_until 10 "b: node status: broker link down" node_is housing broker_up false
# 3 signs + 6 progress reports + 6 replies wait for the broker
check_eq "b: node status: outbox depth 15" 15 "$(node_field housing outbox_depth)"

# the node crashes too while the broker is away: its outbox must survive
check "b: kill -9 the housing node as well" site_sh kill-node housing
check "b: start the housing node again (broker still down)" site_sh start-node housing
check_eq "b: node status after its restart: outbox depth still 15" 15 "$(node_field housing outbox_depth)"
run ob_node housing --json inbox --state REPLIED
check_eq "b: node inbox after its restart: the 6 orders REPLIED" 6 "$("$PY" -c '
import json, sys
ids = set(l.strip() for l in open(sys.argv[1]))
print(sum(1 for o in json.load(sys.stdin) if o.get("id") in ids))' "$T/ids_b" <<<"${OUT:-[]}" 2>/dev/null)"

sleep $((2 * SCALE))   # the acts wait in the node's outbox a while
up_ms=$(date +%s%3N)
check "b: start the broker again" site_sh start-broker
if poll_until 30 orders_in "$T/ids_b" REPLIED -; then ok "b: broker shows the 6 orders REPLIED"
else not_ok "b: broker shows the 6 orders REPLIED" "$(VERBOSE=1 orders_in "$T/ids_b" REPLIED -)"; fi
wait_until 15 "b: node status: broker link up" node_is housing broker_up true
wait_until 15 "b: node status: outbox drained" node_is housing outbox_depth 0
if orders_in <(sed -n '7,$p' "$T/ids") DISPATCHED RECEIVED; then ok "b: the other 194 orders untouched (DISPATCHED, RECEIVED)"
else not_ok "b: the other 194 orders untouched (DISPATCHED, RECEIVED)" "$(VERBOSE=1 orders_in <(sed -n '7,$p' "$T/ids") DISPATCHED RECEIVED)"; fi

trace_events "$T/ids_b" >"$T/traces_b"
run "$PY" -c '
import json, sys
bad = []
for l in open(sys.argv[1]):
    d = json.loads(l)
    ev = d.get("events")
    if ev is None:
        bad.append("%s: %s" % (d["id"], d.get("error"))); continue
    tail = [e for e in ev if e in ("DELIVERED", "SIGN", "PROGRESS", "REPLY")]
    if ev.count("SIGN") != 1 or ev.count("REPLY") != 1 or ev.count("PROGRESS") != 1 \
       or tail != ["DELIVERED", "SIGN", "PROGRESS", "REPLY"] or ev[-1] != "REPLY":
        bad.append("%s: %s" % (d["id"], " ".join(ev)))
    notes = d.get("notes", [])
    if ev.count("PROGRESS") == 1 and "已到现场核实" not in notes[ev.index("PROGRESS")]:
        bad.append("%s: progress note lost: %r" % (d["id"], notes[ev.index("PROGRESS")]))
print("\n".join(bad))
sys.exit(1 if bad else 0)' "$T/traces_b"
if (( RC == 0 )); then ok "b: each trace: one SIGN, one PROGRESS, one REPLY, in that order"
else not_ok "b: each trace: one SIGN, one PROGRESS, one REPLY, in that order" "$OUT"; fi

# an act keeps its own time: the clerk signed while the broker was down, and
# on-time KPIs must not punish the department for the broker's absence
late=0
while IFS= read -r id; do
    at=$(ob --json show "$id" 2>/dev/null | json_get signed_at_ms)
    (( ${at:-0} >= down_ms && ${at:-0} < up_ms )) || { late=$((late + 1)); diag "$id signed_at_ms $at, down $down_ms, up $up_ms"; }
done <"$T/signed_during"
check_eq "b: the 3 orders signed while the broker was down keep the clerk's time (signed_at)" 0 "$late"
run ob --json trace "$(head -n 1 "$T/signed_during")"
check_eq "  and the journal keeps both: the act's own time before its arrival" ok "$("$PY" -c '
import json, sys
e = [x for x in json.load(sys.stdin)["events"] if x["event"] == "SIGN"][0]
print("ok" if e.get("act_at_ms", 0) < e["at_ms"] else e)' <<<"$OUT" 2>&1)"

run ob --json stats --dept housing
check_eq "b: stats: housing signed 6" 6 "$(json_get 0.signed_for <<<"$OUT" 2>/dev/null)"
check_eq "b: stats: housing replied 6" 6 "$(json_get 0.replied <<<"$OUT" 2>/dev/null)"
check_eq "b: stats: housing dispatched $N_OFFLINE" "$N_OFFLINE" "$(json_get 0.dispatched <<<"$OUT" 2>/dev/null)"

# the centre can go on: review and call back one of the replied orders
id=$(head -n 1 "$T/ids_b")
check "b: centre accepts the reply" ob review "$id" --accept --note 审核通过
check "b: centre calls back: satisfied" ob callback "$id" --satisfaction satisfied --note 市民表示满意
check_eq "b: order CLOSED at the broker" CLOSED "$(ob --json show "$id" 2>/dev/null | json_get state)"
node_order_state() {
    ob_node housing --json inbox --all 2>/dev/null | "$PY" -c '
import json, sys
for o in json.load(sys.stdin):
    if o.get("id") == sys.argv[1]: print(o.get("state"))' "$1"
}
wait_until 15 "b: the node learns the order is CLOSED" eval '[[ $(node_order_state '"$id"') == CLOSED ]]'

# ============================================================================
# c) a department killed just before a burst: the broker may still think it
#    is up and send into the void; the orders must still arrive once
# ============================================================================

"$PY" - "$DATA" 20 >"$T/transport.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
rows = [r for r in rows if r.get("category", [""])[0] == "交通运输"]
for i in range(int(sys.argv[2])):
    r = dict(rows[i % len(rows)])
    r["external_ref"] = "%s-burst-%d" % (r.get("external_ref", "t"), i)
    print(json.dumps(r, ensure_ascii=False))
EOF
check "c: kill -9 the transport node" site_sh kill-node transport
run ob --json --timeout 30000 submit --batch "$T/transport.jsonl"
if (( RC == 0 )); then ok "c: 20 transport orders submitted at once after the kill"
else not_ok "c: 20 transport orders submitted at once after the kill" "exit $RC" "$(tail -n 5 <<<"$ERR")"; fi
"$PY" -c '
import json, sys
for l in sys.stdin:
    try: d = json.loads(l)
    except ValueError: continue
    if d.get("ok") and d.get("dept") == "transport": print(d["id"])' <<<"$OUT" >"$T/ids_c"
check_eq "c: 20 orders dispatched to transport" 20 "$(sort -u "$T/ids_c" | wc -l | tr -d ' ')"
sleep 1
check "c: restart the transport node" site_sh start-node transport
if poll_until 30 orders_in "$T/ids_c" DISPATCHED RECEIVED; then ok "c: broker: all 20 transport RECEIVED"
else not_ok "c: broker: all 20 transport RECEIVED" "$(VERBOSE=1 orders_in "$T/ids_c" DISPATCHED RECEIVED)"; fi
wait_until 15 "c: transport outbox drains to 0" dept_is transport outbox_depth 0
run ob_node transport --json --timeout 10000 inbox --all
run "$PY" -c '
import json, sys, collections
inbox = json.load(sys.stdin)
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()]
got = collections.Counter(o.get("id") for o in inbox)
print("inbox %d orders, %d distinct, of the 20: %d" % (len(inbox), len(got), sum(1 for i in ids if i in got)))
sys.exit(0 if len(inbox) == len(ids) == len(got) and all(i in got for i in ids) else 1)' "$T/ids_c" <<<"${OUT:-[]}"
if (( RC == 0 )); then ok "c: transport inbox holds exactly the 20 orders, each once"
else not_ok "c: transport inbox holds exactly the 20 orders, each once" "$OUT"; fi
trace_events "$T/ids_c" >"$T/traces_c"
run "$PY" -c '
import json, sys
bad = [l for l in open(sys.argv[1]) if json.loads(l).get("events", []).count("DELIVERED") != 1]
print("".join(bad[:5])); sys.exit(1 if bad else 0)' "$T/traces_c"
if (( RC == 0 )); then ok "c: every trace has exactly one DELIVERED"
else not_ok "c: every trace has exactly one DELIVERED" "$OUT"; fi


# --- d: registered while the broker runs --------------------------------------

# environment is in the rules (环境保护) but not in this site
run ob --json submit --batch - <<<"$(for i in 1 2 3 4 5; do
    printf '{"title":"工地夜间施工噪音%d","content":"晚上十一点还在施工","category":["环境保护"]}\n' "$i"; done)"
"$PY" -c '
import json, sys
for l in sys.stdin:
    try: d = json.loads(l)
    except ValueError: continue
    if d.get("ok") and d.get("dept") == "environment": print(d["id"])' <<<"$OUT" >"$T/ids_d"
check_eq "d: 5 orders for environment, not registered yet, are dispatched (queued)" 5 \
    "$(sort -u "$T/ids_d" | wc -l | tr -d ' ')"
"$BIN/orderbus" keys new "$SITE/keys/environment.key" --name environment >/dev/null
check "d: register environment with the running broker's store" "$BIN/orderbus" admin \
    add-department environment --name 市生态环境局 --key "$SITE/keys/environment.key" --store "$SITE/broker"
# the site's script knows only its own departments: this node runs by hand
node_endpoint=$(. "$SITE/site.env" && echo "$NODE_ENDPOINT")
mkdir -p "$SITE/nodes/environment" && chmod 700 "$SITE/nodes/environment"
"$BIN/orderbus-node" --data "$SITE/nodes/environment" --broker "$node_endpoint" \
    --broker-key "$SITE/keys/broker.key" --key "$SITE/keys/environment.key" \
    >"$T/environment.log" 2>&1 &
env_pid=$!
wait_until 20 "d: the broker sees environment up" dept_is environment up true
if poll_until 30 orders_in "$T/ids_d" DISPATCHED RECEIVED; then ok "d: all 5 delivered, no broker restart"
else not_ok "d: all 5 delivered, no broker restart" "$(VERBOSE=1 orders_in "$T/ids_d" DISPATCHED RECEIVED)"; fi
check_match "d: the node was welcomed as environment" "department 'environment'" "$(cat "$T/environment.log")"
check_nomatch "d: and not refused" 'FORBIDDEN|not registered' "$(cat "$T/environment.log")"
kill "$env_pid" 2>/dev/null
wait "$env_pid" 2>/dev/null

finish
