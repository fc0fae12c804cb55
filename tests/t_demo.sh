#!/usr/bin/env bash
# t_demo.sh — the demo path of `make demo` (deploy/demo.sh), small: a site
# whose seven department nodes run in demo auto-handling mode, 60 of the
# real messages of deploy/data/tipdm_demo.jsonl (every eighth line, so that
# every department gets some; the last one without its category, so that
# the centre routes one PENDING_MANUAL order by hand), and
# `orderbus demo centre --expect 60` playing the centre. It must end with
# "60 orders: 60 closed" and exit 0, and its report must add up:
#   - the per-department table's TOTAL row is the sum of its rows, 60 closed;
#   - the table agrees with the actions the centre reports: dispatched =
#     60 + returns approved + reopened, signed = dispatched - returned +
#     denied, replied = 60 + reworked + reopened,
#     returned = approved + denied, reworked = rejected reviews, reopened =
#     unsatisfied callbacks, closed = callbacks closed, replies accepted =
#     replied - rejected; one manual route, and returns approved (the nodes
#     return 15% of first dispatches);
#   - the broker has the 60 orders, all CLOSED, and the departments learn it.
# Then deploy/demo.sh (`make demo`) itself runs on the same 60 orders and
# must close them all. Runs in well under a minute (demo steps of 20-200 ms).
. "$(dirname "$0")/lib.sh"

N=60
DATA=$REPO/deploy/data/tipdm_demo.jsonl

# returns at 15% of first dispatches: some return approvals, whatever the seeds
site_start --demo-auto --node-args "--demo-delay-ms 20:200 --demo-return-pct 15"

awk 'NF && NR % 8 == 1' "$DATA" | head -n "$N" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
rows[-1].pop("category", None)   # no category: PENDING_MANUAL, routed by the centre
for r in rows:
    print(json.dumps(r, ensure_ascii=False))' >"$SITE/demo.jsonl"
check_eq "$N demo orders prepared" "$N" "$(wc -l <"$SITE/demo.jsonl" | tr -d ' ')"

check "submit --batch of the $N orders" ob submit --batch "$SITE/demo.jsonl"
check_match "submit: '$N submitted, 0 failed'" "^$N submitted, 0 failed\$" "$OUT"

t0=$SECONDS
run ob demo centre --expect "$N" --timeout $((45 * SCALE))
demo_out=$OUT
demo_s=$((SECONDS - t0))
printf '%s\n' "$demo_out" >"$SITE/demo.out"
if (( RC == 0 )); then ok "demo centre --expect $N exits 0 (${demo_s} s)"
else not_ok "demo centre --expect $N exits 0" "exit $RC after ${demo_s} s" "$(tail -n 20 <<<"$demo_out")" "$ERR"; fi
check_eq "demo centre ends with '$N orders: $N closed'" "$N orders: $N closed" "$(tail -n 1 <<<"$demo_out")"

# the report: the per-department table (dept, name, 7 counts, 2 medians),
# its TOTAL row, and the "demo actions:" line
run python3 - "$SITE/demo.out" "$N" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read().splitlines()
n = int(sys.argv[2])
cols = ("dispatched", "signed", "replied", "closed", "returned", "reworked", "reopened")
rows, total, actions, bad = {}, None, None, []
in_table = False
for line in text:
    f = line.split()
    if f[:3] == ["dept", "name", "dispatched"]:
        in_table = True
        continue
    if in_table and f and f[0] == "TOTAL":
        total = dict(zip(cols, map(int, f[1:8])))
        in_table = False
    elif in_table and len(f) >= 9:
        rows[f[0]] = dict(zip(cols, map(int, f[2:9])))
    m = re.match(r"demo actions: (\d+) replies accepted, (\d+) rejected \(rework\); (\d+) callbacks "
                 r"closed, (\d+) unsatisfied \(reopened\); (\d+) returns approved, (\d+) denied; "
                 r"(\d+) manual routes; (\d+) skipped", line)
    if m:
        actions = dict(zip(("accepted", "rejected", "satisfied", "unsatisfied", "approved",
                            "denied", "routed", "skipped"), map(int, m.groups())))
if len(rows) != 7 or total is None or actions is None:
    print("report not found: %d department rows, TOTAL %s, actions %s" % (len(rows), total, actions))
    sys.exit(1)
sums = {c: sum(r[c] for r in rows.values()) for c in cols}
print("TOTAL %s; actions %s" % (total, actions))
print("busy departments: %s" % " ".join("%s:%d" % (d, r["closed"]) for d, r in sorted(rows.items()) if r["dispatched"]))
def want(what, a, b):
    if a != b:
        bad.append("%s: %s != %s" % (what, a, b))
for c in cols:
    want("TOTAL %s is the sum of the rows" % c, total[c], sums[c])
want("closed", total["closed"], n)
want("dispatched = N + returns approved + reopened", total["dispatched"], n + actions["approved"] + total["reopened"])
want("signed = dispatched - returned + denied", total["signed"], total["dispatched"] - total["returned"] + actions["denied"])
want("replied = N + reworked + reopened", total["replied"], n + total["reworked"] + total["reopened"])
want("returned = approved + denied", total["returned"], actions["approved"] + actions["denied"])
want("reworked = rejected reviews", total["reworked"], actions["rejected"])
want("reopened = unsatisfied callbacks", total["reopened"], actions["unsatisfied"])
want("closed = callbacks closed", total["closed"], actions["satisfied"])
want("replies accepted = replied - rejected", actions["accepted"], total["replied"] - actions["rejected"])
want("manual routes", actions["routed"], 1)
if actions["approved"] < 1:
    bad.append("no return approved: the return path did not run (15%% of %d first dispatches)" % n)
want("departments with orders", sum(1 for r in rows.values() if r["dispatched"]), 7)
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
if (( RC == 0 )); then ok "demo report adds up: TOTAL = the rows, $N closed, the table agrees with the centre's actions, all 7 departments busy"
else not_ok "demo report adds up: TOTAL = the rows, $N closed, the table agrees with the centre's actions, all 7 departments busy" \
    "$OUT" "$ERR" "$(grep -A 12 '^dept ' "$SITE/demo.out")"; fi
diag "$OUT"

run ob --json status
check_eq "status: $N orders, all CLOSED" "$N {\"CLOSED\":$N}" \
    "$(json_get orders "" <<<"$OUT") $(json_get states "" <<<"$OUT")"
# every node's open inbox empties once it learns its orders are CLOSED
open_at_nodes() {
    local d v sum=0
    for d in $DEPTS; do
        v=$(ob_node "$d" --json status 2>/dev/null | json_get inbox_orders) || return 1
        sum=$((sum + v))
    done
    (( sum == 0 ))
}
wait_until 10 "the departments learn every order is CLOSED (no open order at any node)" open_at_nodes
crashes=$(grep -hE 'Assertion|Segmentation|panic|fatal|abort' "$SITE"/log/*.log | head -n 5)
check_eq "no assertion, crash or fatal line in the logs" "" "$crashes"
site_stop

# `make demo` itself (deploy/demo.sh: its own site in a temporary directory,
# removed at the end) on the same 60 orders, with quick departments
run timeout -k 5 $((90 * SCALE)) env BUILD="${BIN%/bin}" DEMO_DATA="$SITE/demo.jsonl" \
    DEMO_NODE_ARGS="--demo-delay-ms 20:200 --demo-return-pct 15 -q" DEMO_TIMEOUT=$((45 * SCALE)) \
    "$REPO/deploy/demo.sh"
if (( RC == 0 )); then ok "deploy/demo.sh on the $N orders exits 0"
else not_ok "deploy/demo.sh on the $N orders exits 0" "exit $RC" "$(tail -n 20 <<<"$OUT")" "$(tail -n 10 <<<"$ERR")"; fi
check_match "deploy/demo.sh: '$N submitted, 0 failed'" "^$N submitted, 0 failed\$" "$OUT"
check_match "deploy/demo.sh: '$N orders: $N closed', then done" \
    "$N orders: $N closed demo: done\." "$(tr '\n' ' ' <<<"$OUT" | tr -s ' ')"

finish
