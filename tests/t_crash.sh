#!/usr/bin/env bash
# t_crash.sh — nothing lost, nothing applied twice, under kill -9.
#
# A site with three departments (housing, health, transport) whose nodes run
# in demo auto-handling mode with returns disabled, so each order is signed,
# progressed and replied by its department without a clerk. 2,000 real
# complaints (500 under OB_SANITIZED=1) spread over the three departments are
# submitted with one `orderbus submit --batch` while a background loop
# kill -9s the broker and the nodes in turn (odd kills the broker, the first
# one during the submission; even kills a random node: 4 broker kills of the
# default 7, at least 3 whatever the seed) and starts each again. When
# everything has settled the test asserts:
#   - the submit reported every order once, and the broker holds exactly N
#     orders, every one REPLIED;
#   - `orderbus stats`: dispatched = signed = replied = N in total (a message
#     applied twice would count N+1), no returns;
#   - the nodes' inboxes hold N orders together, no order twice or in two
#     departments, each the same set the broker has for that department;
#   - a sample of traces: exactly one REGISTER, ROUTE, DELIVERED, SIGN, REPLY;
#   - the centre can still review and call back a sample to CLOSED, and the
#     nodes learn it.
#
# Environment: CRASH_N (orders), CRASH_KILLS (default 7, at least 5), CRASH_SEED
# (random seed of the killer: timings and which node), CRASH_GAP_MS (pause between kills, default 500:3000),
# CRASH_DOWN_MS (time a killed process stays down, default 100:1000),
# CRASH_TRACES (traces checked, default 150; "all").
# KEEP_SITE=1 keeps the site (logs in SITE/log).

. "$(dirname "$0")/lib.sh"

DATA=$REPO/deploy/data/tipdm_demo.jsonl
DEPTS="housing health transport"
if [[ ${OB_SANITIZED:-0} == 1 ]]; then N=${CRASH_N:-500}; else N=${CRASH_N:-2000}; fi
KILLS=${CRASH_KILLS:-7}
BROKER_KILLS_MIN=3
# odd kills are the broker: 2 * BROKER_KILLS_MIN - 1 kills make the minimum
if (( KILLS < 2 * BROKER_KILLS_MIN - 1 )); then
    diag "CRASH_KILLS=$KILLS raised to $((2 * BROKER_KILLS_MIN - 1)) (at least $BROKER_KILLS_MIN broker kills)"
    KILLS=$((2 * BROKER_KILLS_MIN - 1))
fi
SEED=${CRASH_SEED:-$((RANDOM * 32768 + RANDOM))}
N_TRACES=${CRASH_TRACES:-150}
GAP_MS=${CRASH_GAP_MS:-500:3000}
DOWN_MS=${CRASH_DOWN_MS:-100:1000}
N_CLOSE=12
SETTLE_S=120
# python3 for the JSON checks (the system one when there is one: a version
# manager's shim can cost half a second a call)
PY=$(command -v /usr/bin/python3 || command -v python3)

site_start --depts "$DEPTS" --demo-auto --node-args "--demo-return-pct 0 --demo-delay-ms 500:6000"
T=$SITE/t_crash
mkdir -p "$T"
diag "orders $N, kills $KILLS, killer seed $SEED"

# --- data: N real complaints of three categories, each its own reference ----
"$PY" - "$DATA" "$N" >"$T/orders.jsonl" <<'EOF'
import json, sys
cats = ("城乡建设", "卫生计生", "交通运输")
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
rows = [r for r in rows if r.get("category", [""])[0] in cats]
# interleave the categories so every department gets orders all along
by = [[r for r in rows if r["category"][0] == c] for c in cats]
for i in range(int(sys.argv[2])):
    lst = by[i % 3]
    r = dict(lst[(i // 3) % len(lst)])
    r["external_ref"] = "%s-crash-%d" % (r.get("external_ref", "t"), i)
    print(json.dumps(r, ensure_ascii=False))
EOF
check_eq "$N orders prepared (城乡建设, 卫生计生, 交通运输)" "$N" "$(wc -l <"$T/orders.jsonl" | tr -d ' ')"

# --- the killer ----------------------------------------------------------------

# rand_ms LO HI: a random number of milliseconds in [LO, HI].
rand_ms() { echo $(($1 + RANDOM % ($2 - $1 + 1))); }
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# Kills KILLS times a process of the site with kill -9, the broker and a
# random node in turn (kills 1, 3, 5 ... the broker, the first soon after the
# start to hit the submission; kills 2, 4 ... a node), restarts it after a
# short pause (DOWN_MS), and waits GAP_MS before the next one. One line per
# kill in $T/kills.log. A restart that fails is tried once more after 1 s
# (a binary being relinked by a concurrent build fails to exec); "FAILED"
# lines when that fails too.
restart_proc() {
    local what=$1 args=("${@:2}")
    site_sh "$what" "${args[@]}" >>"$T/restart.log" 2>&1 && return 0
    echo "retry $what ${args[*]} (first start failed, see restart.log)" >>"$T/kills.log"
    sleep 1
    site_sh "$what" "${args[@]}" >>"$T/restart.log" 2>&1 || echo "FAILED $what ${args[*]}" >>"$T/kills.log"
}

# The first kill waits for the submission to be under way: a fifth of the
# answers written (the CLI's output comes in buffered chunks), at most 10 s;
# a timer alone misses a submission that takes well under a second.
first_kill_wait() {
    local t0=$SECONDS n
    while (( SECONDS - t0 < 10 )) && [[ ! -f $T/submit.done ]]; do
        n=$(wc -l <"$T/submit.out" 2>/dev/null || echo 0)
        (( n >= N / 5 )) && return 0
        sleep 0.02
    done
}

killer() {
    RANDOM=$SEED
    local i target pause pid when nodes=($DEPTS)
    for ((i = 1; i <= KILLS; i++)); do
        if ((i == 1)); then first_kill_wait
        else sleep_ms "$(rand_ms "${GAP_MS%:*}" "${GAP_MS#*:}")"; fi
        if ((i % 2 == 1)); then target=broker
        else target=${nodes[RANDOM % ${#nodes[@]}]}; fi
        pause=$(rand_ms "${DOWN_MS%:*}" "${DOWN_MS#*:}")
        pid=$(site_pid "$target")
        when=""
        [[ -f $T/submit.done ]] || when=" (during the submission)"
        if [[ $target == broker ]]; then
            site_sh kill-broker >/dev/null 2>&1 || echo "FAILED kill-broker" >>"$T/kills.log"
        else
            site_sh kill-node "$target" >/dev/null 2>&1 || echo "FAILED kill-node $target" >>"$T/kills.log"
        fi
        echo "kill $i $target pid ${pid:-none} at $(date +%T.%N | cut -c1-12), down ${pause} ms$when" >>"$T/kills.log"
        sleep_ms "$pause"
        if [[ $target == broker ]]; then restart_proc start-broker
        else restart_proc start-node "$target"; fi
    done
}

: >"$T/kills.log"
: >"$T/submit.out"
t0=$SECONDS
killer &
killer_pid=$!

# --- the submission, while the killer runs ------------------------------------
# (the answers go to a file as they come: the killer watches it)
ob --json --timeout $((60000 * SCALE)) submit --batch "$T/orders.jsonl" --window 16 \
    >"$T/submit.out" 2>"$T/submit.err"
RC=$?
submit_s=$((SECONDS - t0))
touch "$T/submit.done"
OUT=$(cat "$T/submit.out") ERR=$(cat "$T/submit.err")
if (( RC == 0 )); then ok "submit --batch of $N orders under kill -9 exits 0 (${submit_s} s)"
else not_ok "submit --batch of $N orders under kill -9 exits 0" "exit $RC after ${submit_s} s" "$(tail -n 8 <<<"$ERR")"; fi
check_match "submit reports '$N submitted, 0 failed'" "(^|[^0-9])$N submitted, 0 failed" "$ERR"$'\n'"$OUT"
"$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    l = l.strip()
    if not l: continue
    try: d = json.loads(l)
    except ValueError: continue
    if d.get("ok") and d.get("id"): print(d["id"], d.get("case_no", ""), d.get("dept", ""), d.get("line", ""))' \
    "$T/submit.out" >"$T/submitted"
cut -d' ' -f1 "$T/submitted" >"$T/ids"
check_eq "submit: $N answers, $N distinct order ids" "$N $N" \
    "$(wc -l <"$T/ids" | tr -d ' ') $(sort -u "$T/ids" | wc -l | tr -d ' ')"
check_eq "submit: $N distinct case numbers and input lines" "$N $N" \
    "$(cut -d' ' -f2 "$T/submitted" | sort -u | wc -l | tr -d ' ') $(cut -d' ' -f4 "$T/submitted" | sort -u | wc -l | tr -d ' ')"

wait "$killer_pid"
kills=$(grep -c '^kill ' "$T/kills.log")
diag "$(cat "$T/kills.log")"
diag "kills done: $kills (over $((SECONDS - t0)) s; the submission took ${submit_s} s)"
check_eq "kills done: $kills, every restart worked" "$KILLS 0" "$kills $(grep -c '^FAILED' "$T/kills.log")"
check_match "the first kill, of the broker, came during the submission" \
    '^kill 1 broker pid [0-9]+ .*\(during the submission\)' "$(grep '^kill 1 ' "$T/kills.log")"
# each broker kill hit a running broker, a new one each time (its pid)
broker_kills=$(grep -cE '^kill [0-9]+ broker pid [0-9]+ ' "$T/kills.log")
broker_pids=$(grep -E '^kill [0-9]+ broker ' "$T/kills.log" | awk '{print $5}' | grep -E '^[0-9]+$' | sort -u | wc -l)
node_kills=$(grep -E '^kill [0-9]+ ' "$T/kills.log" | grep -cvE '^kill [0-9]+ broker ')
if (( broker_kills >= BROKER_KILLS_MIN && broker_pids == broker_kills
      && broker_kills + node_kills == kills && node_kills >= 1 )); then
    ok "kills: the broker $broker_kills times (at least $BROKER_KILLS_MIN, a new pid each time), nodes $node_kills times"
else
    not_ok "kills: the broker at least $BROKER_KILLS_MIN times (a new pid each time), nodes the rest" \
        "broker kills of a running broker $broker_kills (distinct pids $broker_pids), node kills $node_kills, of $kills"
fi
if grep -q '^FAILED' "$T/kills.log"; then diag "$(tail -n 30 "$T/restart.log")"; fi

# anything the killer left down (a failed restart) is started again, so the
# other checks still say something
for p in broker $DEPTS; do
    if ! site_alive "$p"; then
        not_ok "$p is running after the kills"
        if [[ $p == broker ]]; then site_sh start-broker >/dev/null 2>&1; else site_sh start-node "$p" >/dev/null 2>&1; fi
    fi
done

# --- settle -----------------------------------------------------------------------

# settled: the broker has N orders, all REPLIED, every department up with an
# empty outbox and nothing in flight, every node's outbox empty. Writes what it
# saw to $T/settle.txt.
settled() {
    local st
    st=$(ob --json --timeout 3000 status 2>/dev/null) || { echo "broker does not answer" >"$T/settle.txt"; return 1; }
    local nodes="" d
    for d in $DEPTS; do
        nodes+="$d $(ob_node "$d" --json --timeout 2000 status 2>/dev/null | tr -d '\n')"$'\n'
    done
    "$PY" -c '
import json, sys
n = int(sys.argv[1])
st = json.loads(sys.argv[2])
msg = ["broker: orders %s, states %s" % (st.get("orders"), st.get("states"))]
good = st.get("orders") == n and st.get("states", {}).get("REPLIED") == n
for d in st.get("nodes", []):
    msg.append("  broker view of %s: up %s, outbox %s, inflight %s, open %s"
               % (d.get("dept"), d.get("up"), d.get("outbox_depth"), d.get("inflight"), d.get("open_orders")))
    good = good and d.get("up") is True and d.get("outbox_depth") == 0 and d.get("inflight") == 0
for line in sys.stdin:
    dept, _, js = line.strip().partition(" ")
    if not dept: continue
    try: ls = json.loads(js)
    except ValueError:
        msg.append("  node %s: no status" % dept); good = False; continue
    msg.append("  node %s: broker_up %s, outbox %s, inbox %s"
               % (dept, ls.get("broker_up"), ls.get("outbox_depth"), ls.get("inbox_orders")))
    good = good and ls.get("broker_up") is True and ls.get("outbox_depth") == 0
print("\n".join(msg))
sys.exit(0 if good else 1)' "$N" "$st" <<<"$nodes" >"$T/settle.txt"
}

t1=$SECONDS
if poll_until "$SETTLE_S" settled; then ok "settled: $N orders REPLIED, every outbox empty ($((SECONDS - t1)) s after the kills)"
else
    settled
    not_ok "settled: $N orders REPLIED, every outbox empty (within $((SETTLE_S * SCALE)) s)" "$(cat "$T/settle.txt")"
fi
diag "$(cat "$T/settle.txt")"

# --- the broker's view ---------------------------------------------------------------
run ob --json status
check_eq "status: the broker has exactly $N orders" "$N" "$(json_get orders <<<"$OUT" 2>/dev/null)"
check_eq "status: all $N REPLIED" "{\"REPLIED\":$N}" "$(json_get states <<<"$OUT" 2>/dev/null)"

run ob --json --timeout 20000 list --limit 100000
printf '%s\n' "$OUT" >"$T/list.json"
run "$PY" - "$T/ids" "$T/list.json" <<'EOF'
import json, sys, collections
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()]
lst = json.load(open(sys.argv[2]))
got = collections.Counter(o["id"] for o in lst)
missing = [i for i in ids if i not in got]
extra = [i for i in got if i not in set(ids)]
bad = [o for o in lst if o.get("state") != "REPLIED" or o.get("attempt") != 1 or o.get("transport") != "RECEIVED"]
print("list: %d orders, missing %s, extra %s, not REPLIED/attempt 1/RECEIVED: %s"
      % (len(lst), missing[:5], extra[:5],
         [(o["id"], o.get("state"), o.get("attempt"), o.get("transport")) for o in bad[:5]]))
sys.exit(0 if len(lst) == len(ids) and not missing and not extra and not bad else 1)
EOF
if (( RC == 0 )); then ok "list: exactly the submitted orders, all REPLIED, attempt 1, transport RECEIVED"
else not_ok "list: exactly the submitted orders, all REPLIED, attempt 1, transport RECEIVED" "$OUT"; fi

run ob --json stats
printf '%s\n' "$OUT" >"$T/stats.json"
run "$PY" - "$T/stats.json" "$N" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
t = {k: sum(r.get(k, 0) for r in rows) for k in ("dispatched", "signed_for", "replied", "returned", "reworked", "reopened")}
print("totals: %s; per dept: %s" % (t, [(r["dept"], r.get("dispatched"), r.get("signed_for"), r.get("replied")) for r in rows]))
n = int(sys.argv[2])
sys.exit(0 if t["dispatched"] == t["signed_for"] == t["replied"] == n and t["returned"] == 0 else 1)
EOF
if (( RC == 0 )); then ok "stats: dispatched = signed = replied = $N in total, no returns"
else not_ok "stats: dispatched = signed = replied = $N in total, no returns" "$OUT"; fi

# --- the nodes' view -------------------------------------------------------------------
# The clerk's `inbox --all` is the interface; the node's LMDB store (read with
# mdb_dump: the keys of its `inbox` database are order ids) is the truth, used
# for the exactly-once check too, so that check holds even where the CLI
# listing is cut short.
truncated=""
for d in $DEPTS; do
    run ob_node "$d" --json --timeout 20000 inbox --all
    printf '%s\n' "${OUT:-[]}" >"$T/inbox.$d.json"
    if (( RC != 0 )); then not_ok "$d inbox answers" "exit $RC: $ERR"; fi
    [[ -n $ERR ]] && truncated+="$d: $ERR"$'\n'
    if command -v mdb_dump >/dev/null 2>&1; then
        mdb_dump -s inbox "$SITE/nodes/$d" 2>/dev/null |
            awk 'f && /^ / { if (++n % 2 == 1) print substr($0, 2) } /^HEADER=END/ { f = 1 }' >"$T/store.$d.ids"
    fi
done
check_eq "node inboxes are listed whole by 'inbox --all' (no answer cut)" "" "$truncated"
nodes_sum=0
for d in $DEPTS; do
    v=$(ob_node "$d" --json status 2>/dev/null | json_get inbox_orders 2>/dev/null)
    nodes_sum=$((nodes_sum + ${v:-0}))
done
check_eq "node status: inbox orders sum to $N" "$N" "$nodes_sum"
run "$PY" - "$T/ids" "$T/list.json" "$T" $DEPTS <<'EOF'
import json, os, sys, collections
ids = set(l.strip() for l in open(sys.argv[1]) if l.strip())
broker = {o["id"]: o.get("dept") for o in json.load(open(sys.argv[2]))}
t = sys.argv[3]
msg, good = [], True
listed = collections.defaultdict(list)   # what the CLI lists
stored = collections.defaultdict(list)   # what the stores hold
for d in sys.argv[4:]:
    inbox = json.load(open("%s/inbox.%s.json" % (t, d)))
    states = collections.Counter(o.get("state") for o in inbox)
    for o in inbox:
        listed[o["id"]].append(d)
    sf = "%s/store.%s.ids" % (t, d)
    keys = [l.strip() for l in open(sf) if l.strip()] if os.path.exists(sf) else None
    for k in keys or []:
        stored[k].append(d)
    msg.append("%s: listed %d orders, states %s; store holds %s"
               % (d, len(inbox), dict(states), "?" if keys is None else len(keys)))
    if set(states) - {"REPLIED"}:
        good = False
where = stored if stored else listed
msg.append("checked against the %s" % ("node stores" if stored else "CLI listings"))
for i, ds in where.items():
    if any(broker.get(i) != d for d in ds):
        good = False
        msg.append("  %s is at %s, the broker says %s" % (i, ds, broker.get(i)))
twice = {i: w for i, w in list(where.items()) + list(listed.items()) if len(w) > 1}
missing = ids - set(where)
extra = set(where) - ids
msg.append("%d distinct; twice: %s; missing: %s; extra: %s"
           % (len(where), list(twice.items())[:5], list(missing)[:5], list(extra)[:5]))
print("\n".join(msg[:40]))
sys.exit(0 if good and not twice and not missing and not extra else 1)
EOF
if (( RC == 0 )); then ok "node inboxes: $N orders together, none twice or in two departments, each where the broker says, all listed REPLIED"
else not_ok "node inboxes: $N orders together, none twice or in two departments, each where the broker says, all listed REPLIED" "$OUT"; fi
diag "$OUT"

# --- traces of a sample ---------------------------------------------------------------
if [[ $N_TRACES == all ]]; then cp "$T/ids" "$T/sample"
else "$PY" -c '
import random, sys
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()]
random.seed(int(sys.argv[3]))
for i in random.sample(ids, min(len(ids), int(sys.argv[2]))): print(i)' "$T/ids" "$N_TRACES" "$SEED" >"$T/sample"
fi
run "$PY" - "$T/sample" "$BIN/orderbus" "$SITE/orderbus.yaml" <<'EOF'
import json, subprocess, sys, collections
bad, progress = [], collections.Counter()
n = 0
for i in (l.strip() for l in open(sys.argv[1])):
    if not i: continue
    n += 1
    p = subprocess.run([sys.argv[2], "--config", sys.argv[3], "--json", "--timeout", "5000", "trace", i],
                       capture_output=True, text=True)
    if p.returncode != 0:
        bad.append("%s: trace exit %d %s" % (i, p.returncode, p.stderr.strip())); continue
    ev = [e.get("event") for e in json.loads(p.stdout).get("events", [])]
    c = collections.Counter(ev)
    progress[c["PROGRESS"]] += 1
    once = all(c[k] == 1 for k in ("REGISTER", "ROUTE", "DELIVERED", "SIGN", "REPLY"))
    others = set(c) - {"REGISTER", "ROUTE", "DELIVERED", "SIGN", "PROGRESS", "REPLY"}
    ordered = once and ev[0] == "REGISTER" and ev[1] == "ROUTE" and ev[-1] == "REPLY" \
        and ev.index("SIGN") < ev.index("REPLY")
    if not once or others or not ordered:
        bad.append("%s: %s" % (i, " ".join(ev)))
print("%d traces, %d bad; orders by number of PROGRESS events: %s" % (n, len(bad), dict(progress)))
print("\n".join(bad[:15]))
sys.exit(1 if bad or n == 0 else 0)
EOF
if (( RC == 0 )); then ok "traces of $(wc -l <"$T/sample" | tr -d ' ') orders: exactly one REGISTER, ROUTE, DELIVERED, SIGN, REPLY"
else not_ok "traces of $(wc -l <"$T/sample" | tr -d ' ') orders: exactly one REGISTER, ROUTE, DELIVERED, SIGN, REPLY" "$OUT"; fi
diag "$(head -n 1 <<<"$OUT")"

# --- the system still works: review and call back a sample to CLOSED ------------------
head -n "$N_CLOSE" "$T/sample" >"$T/close"
fails=0
while IFS= read -r id; do
    run ob review "$id" --accept --note 审核通过
    (( RC == 0 )) || { fails=$((fails + 1)); diag "review $id: exit $RC $ERR"; continue; }
    run ob --json callback "$id" --satisfaction satisfied --note 回访满意
    [[ $RC == 0 && $(json_get state <<<"$OUT" 2>/dev/null) == CLOSED ]] ||
        { fails=$((fails + 1)); diag "callback $id: exit $RC $ERR"; }
done <"$T/close"
check_eq "centre reviews and calls back $N_CLOSE orders to CLOSED" 0 "$fails"

# closed_at_nodes: every order of $T/close is CLOSED in its department's inbox
closed_at_nodes() {
    local d all=""
    for d in $DEPTS; do all+="$(ob_node "$d" --json --timeout 5000 inbox --state CLOSED 2>/dev/null || echo '[]')"$'\n'; done
    "$PY" -c '
import json, sys
closed = set()
dec = json.JSONDecoder()
s, i = sys.stdin.read(), 0
while True:
    while i < len(s) and s[i].isspace(): i += 1
    if i >= len(s): break
    v, i = dec.raw_decode(s, i)
    closed.update(o["id"] for o in v)
want = [l.strip() for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if all(w in closed for w in want) else 1)' "$T/close" <<<"$all"
}
wait_until 20 "the departments learn the $N_CLOSE orders are CLOSED" closed_at_nodes
run ob --json stats
check_eq "stats: $N_CLOSE closed in total" "$N_CLOSE" "$("$PY" -c 'import json,sys; print(sum(r.get("closed", 0) for r in json.load(sys.stdin)))' <<<"$OUT" 2>/dev/null)"

# --- the logs -------------------------------------------------------------------------
crashes=$(grep -hE 'Assertion|Segmentation|panic|fatal|abort' "$SITE"/log/*.log | head -n 10)
check_eq "no assertion, crash or fatal line in the logs" "" "$crashes"
diag "warnings/errors logged: $(cat "$SITE"/log/*.log | grep -cE ': (warn|warning|error):')"
diag "total time $((SECONDS - t0)) s"

finish
