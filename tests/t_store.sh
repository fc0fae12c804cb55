#!/usr/bin/env bash
# t_store.sh — the daemons' LMDB stores.
#
# (a) Map growth: a site (housing, health, transport) whose broker and nodes
#     start with a 1 MiB map (--map-mb 1) takes 2,000 real complaints in one
#     `orderbus submit --batch`, several MiB of store: every order is
#     registered, dispatched and delivered (status, list, the nodes'
#     inboxes), none lost or twice; the maps grew (broker status) and the
#     logs say so (the broker's once for each doubling); every daemon still
#     runs, and after a restart with --map-mb 1 again the grown stores are
#     read whole and still take orders.
# (b) The broker refuses a store of the wrong kind (a node's) and one of an
#     unknown schema version or with an unreadable stamp (the meta "schema"
#     entry overwritten with mdb_load) with a clear message and exit 69, and
#     changes nothing in it.
#     A second broker started on the running broker's store exits 69 with a
#     message naming the running one (its pid), and changes nothing.
# (c) A department node refuses a broker's store and a node store of an
#     unknown schema version likewise (exit 73).
# The refused stores are copies (mdb_copy) of the site's.
. "$(dirname "$0")/lib.sh"

DATA=$REPO/deploy/data/tipdm_demo.jsonl
DEPTS3="housing health transport"
N=${STORE_N:-2000}   # enough for every store to outgrow its 1 MiB map, sanitized or not
MIB=$((1024 * 1024))

for t in mdb_dump mdb_load mdb_copy; do
    command -v "$t" >/dev/null || { not_ok "$t is installed (lmdb-utils)"; finish; }
done

site_start --depts "$DEPTS3" --broker-args "--map-mb 1" --node-args "--map-mb 1"
T=$SITE/t_store
mkdir -p "$T"

# --- (a) map growth --------------------------------------------------------------

python3 - "$DATA" "$N" >"$T/orders.jsonl" <<'EOF'
import json, sys
cats = ("城乡建设", "卫生计生", "交通运输")
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
by = [[r for r in rows if r.get("category", [""])[0] == c] for c in cats]
for i in range(int(sys.argv[2])):
    lst = by[i % 3]
    r = dict(lst[(i // 3) % len(lst)])
    r["external_ref"] = "%s-store-%d" % (r.get("external_ref", "t"), i)
    print(json.dumps(r, ensure_ascii=False))
EOF
check_eq "$N orders prepared (城乡建设, 卫生计生, 交通运输)" "$N" "$(wc -l <"$T/orders.jsonl" | tr -d ' ')"

run ob --json --timeout $((60000 * SCALE)) submit --batch "$T/orders.jsonl"
printf '%s\n' "$OUT" >"$T/submit.out"
check_eq "submit --batch of $N orders into 1 MiB maps exits 0" 0 "$RC"
check_match "submit reports '$N submitted, 0 failed'" "(^|[^0-9])$N submitted, 0 failed" "$OUT"$'\n'"$ERR"
python3 -c '
import json, sys
for l in open(sys.argv[1]):
    try: d = json.loads(l)
    except ValueError: continue
    if d.get("ok") and d.get("id"): print(d["id"], d.get("dept", ""))' "$T/submit.out" >"$T/submitted"
check_eq "submit: $N answers, $N distinct order ids" "$N $N" \
    "$(wc -l <"$T/submitted" | tr -d ' ') $(cut -d' ' -f1 "$T/submitted" | sort -u | wc -l | tr -d ' ')"

# delivered: every department up, nothing queued or in flight at the broker
delivered() {
    ob --json status 2>/dev/null | python3 -c '
import json, sys
st = json.load(sys.stdin)
sys.exit(0 if st.get("orders") == int(sys.argv[1]) and all(
    d.get("up") and d.get("outbox_depth") == 0 and d.get("inflight") == 0 for d in st["nodes"]) else 1)' "$N"
}
wait_until 60 "every order delivered: nothing queued for any department" delivered

run ob --json status
st=$OUT
check_eq "status: $N orders, all DISPATCHED" "$N {\"DISPATCHED\":$N}" \
    "$(json_get orders "" <<<"$st") $(json_get states "" <<<"$st")"
map=$(json_get map_bytes 0 <<<"$st")
used=$(json_get store_bytes 0 <<<"$st")
if (( map > MIB && used > MIB )); then ok "broker map grew from 1 MiB to $((map / MIB)) MiB ($((used / 1024)) KiB used)"
else not_ok "broker map grew from 1 MiB" "map_bytes $map, store_bytes $used"; fi

run ob --json --timeout 20000 list --limit 100000
printf '%s\n' "$OUT" >"$T/list.json"
run python3 - "$T/submitted" "$T/list.json" <<'EOF'
import json, sys
sub = dict(l.split() for l in open(sys.argv[1]) if l.strip())
lst = json.load(open(sys.argv[2]))
got = {o["id"]: o for o in lst}
missing = [i for i in sub if i not in got]
extra = [i for i in got if i not in sub]
bad = [(o["id"], o.get("state"), o.get("transport"), o.get("dept")) for o in lst
       if o.get("state") != "DISPATCHED" or o.get("transport") != "RECEIVED"
       or o.get("dept") != sub.get(o["id"])]
print("list: %d orders; missing %s; extra %s; not DISPATCHED+RECEIVED at their department: %s"
      % (len(lst), missing[:5], extra[:5], bad[:5]))
sys.exit(0 if len(lst) == len(sub) and not missing and not extra and not bad else 1)
EOF
if (( RC == 0 )); then ok "list: exactly the submitted orders, DISPATCHED, transport RECEIVED, at the department the submit named"
else not_ok "list: exactly the submitted orders, DISPATCHED, transport RECEIVED, at the department the submit named" "$OUT" "$ERR"; fi

# the nodes: what each holds (inbox --all) against what the broker says
for d in $DEPTS3; do
    run ob_node "$d" --json --timeout 20000 inbox --all
    printf '%s\n' "${OUT:-[]}" >"$T/inbox.$d.json"
done
run python3 - "$T/list.json" "$T" $DEPTS3 <<'EOF'
import json, sys, collections
broker = {o["id"]: o["dept"] for o in json.load(open(sys.argv[1]))}
where = collections.defaultdict(list)
msg = []
for d in sys.argv[3:]:
    inbox = json.load(open("%s/inbox.%s.json" % (sys.argv[2], d)))
    msg.append("%s: %d orders" % (d, len(inbox)))
    for o in inbox:
        where[o["id"]].append(d)
twice = {i: w for i, w in where.items() if len(w) > 1}
wrong = {i: w for i, w in where.items() if broker.get(i) not in w}
missing = set(broker) - set(where)
msg.append("twice %s; at another department %s; missing %s" % (list(twice)[:5], list(wrong)[:5], list(missing)[:5]))
print("; ".join(msg))
sys.exit(0 if not twice and not wrong and not missing and len(where) == len(broker) else 1)
EOF
if (( RC == 0 )); then ok "node inboxes: every order once, at its department ($OUT)"
else not_ok "node inboxes: every order once, at its department" "$OUT" "$ERR"; fi

# (a node grows its map when three quarters are used; its store may stay
# under 1 MiB)
for d in $DEPTS3; do
    check_match "node $d: its log says the map grew" 'store map (full: )?grown' "$(cat "$SITE/log/$d.log")"
done
# each doubling of the broker's map (1 MiB to map_bytes) should be logged
doublings=0
for ((m = MIB; m < map; m *= 2)); do doublings=$((doublings + 1)); done
grown_lines=$(grep -cEi 'map.*(grow|grew|grown)' "$SITE/log/broker.log")
if (( grown_lines >= doublings && doublings > 0 )); then
    ok "broker log: the map's growth logged ($grown_lines lines for $doublings doublings to $((map / MIB)) MiB)"
else
    not_ok "broker log: the map's growth logged, once a doubling" \
        "the map doubled $doublings times (1 MiB to $((map / MIB)) MiB); the log has $grown_lines growth lines:" \
        "$(grep -Ei 'map|grow' "$SITE/log/broker.log" | head -n 5)"
fi
for p in broker $DEPTS3; do
    check "$p still runs" site_alive "$p"
done
errors=$(grep -hE ': error: |Assertion|Segmentation' "$SITE"/log/*.log | head -n 5)
check_eq "no error line in the logs" "" "$errors"

# a restart with --map-mb 1 again: the grown stores are read whole
check "restart the broker (--map-mb 1 on a grown store)" site_sh restart-broker
check "restart node housing (--map-mb 1 on a grown store)" site_sh restart-node housing
wait_until 20 "every department up again" delivered
check_eq "after the restart: still $N orders, all DISPATCHED" "$N {\"DISPATCHED\":$N}" \
    "$(ob --json status | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["orders"], json.dumps(d["states"],separators=(",",":")))')"
housing_n=$(grep -c ' housing$' "$T/submitted")
check_eq "after the restart: housing's node still holds its $housing_n orders" "$housing_n" \
    "$(ob_node housing --json status | json_get inbox_orders)"
kib=$(grep 'store opened' "$SITE/log/housing.log" | tail -n 1 | sed -nE 's/.*\(([0-9]+) KiB used.*/\1/p')
if (( ${kib:-0} > 1024 )); then ok "housing's log: its store reopened whole, $kib KiB (more than the 1 MiB asked)"
else not_ok "housing's log: its store reopened whole, more than 1 MiB" \
    "$(grep 'store opened' "$SITE/log/housing.log" | tail -n 2)"; fi
check "and the site still takes an order" ob --json submit --title 楼道堆放杂物 --content 楼道堆满杂物影响通行 --category 城乡建设
new_case=$(json_get case_no "" <<<"$OUT")
got_it() { ob_node housing --json inbox 2>/dev/null | grep -q "\"$new_case\""; }
wait_until 15 "  delivered to housing" got_it

# --- (b) the broker refuses a store that is not its own ----------------------------

# copy_store SRC DST: a consistent copy of a live store
copy_store() { rm -rf "$2" && mkdir -p "$2" && chmod 700 "$2" && mdb_copy "$1" "$2"; }
# set_schema DIR VALUE: overwrites the meta database's "schema" entry
set_schema() { printf 'schema\n%s\n' "$2" | mdb_load -T -s meta "$1"; }
dump_of() { mdb_dump -a "$1" 2>&1 | grep -v '^mapsize='; }

# refused WHAT KIND DIR CODE RE: a daemon of KIND (broker or node) started on
# the store in DIR exits CODE at once, with a message matching RE, and the
# store is unchanged
refused() {
    local what=$1 kind=$2 dir=$3 code=$4 re=$5 before cmd
    if [[ $kind == broker ]]; then
        cmd=("$BIN/orderbus-broker" --data "$dir" --key "$SITE/keys/broker.key" --rules "$RULES"
             --calendar weekdays --node-endpoint "ipc://$T/b-node.sock"
             --client-endpoint "ipc://$T/b-client.sock" --event-endpoint "ipc://$T/b-event.sock")
    else
        cmd=("$BIN/orderbus-node" --data "$dir" --broker tcp://127.0.0.1:1
             --broker-key "$SITE/keys/broker.key" --key "$SITE/keys/housing.key")
    fi
    before=$(dump_of "$dir")
    run timeout 20 "${cmd[@]}"
    if (( RC == code )) && grep -Eq -- "$re" <<<"$ERR"; then
        ok "$what: refused, exit $code: $(grep -E -- "$re" <<<"$ERR" | head -n 1 | sed 's/^[^:]*: //')"
    else
        not_ok "$what: refused with exit $code and a message matching /$re/" "$(_seen "${cmd[@]}")"
    fi
    check_eq "  ... and the store is unchanged" "$before" "$(dump_of "$dir")"
}

copy_store "$SITE/nodes/health" "$T/node-copy"
refused "broker on a node's store" broker "$T/node-copy" 69 "is a node store, not a broker store"

copy_store "$SITE/broker" "$T/broker-v9"
check "a broker store stamped with schema version 9 (mdb_load)" set_schema "$T/broker-v9" "broker 9"
refused "broker on a store of schema version 9" broker "$T/broker-v9" 69 \
    "has schema version 9; this orderbus reads version [0-9]+ only"

copy_store "$SITE/broker" "$T/broker-stamp"
check "a broker store with an unreadable schema stamp" set_schema "$T/broker-stamp" "orderbus"
refused "broker on a store with an unreadable schema stamp" broker "$T/broker-stamp" 69 \
    "unreadable schema stamp"

# a second broker on the store the running broker uses would give out the
# same case numbers and overwrite its journal: it takes the store's lock
# and refuses, naming the running one
refused "a second broker on the running broker's store" broker "$SITE/broker" 69 \
    "another orderbus-broker \(pid $(site_pid broker)\) is running on"
check "  the running broker still answers" ob status

# --- (c) a department node refuses a store that is not its own ---------------------

copy_store "$SITE/broker" "$T/broker-copy"
refused "node on the broker's store" node "$T/broker-copy" 73 "is a broker store, not a node store"

copy_store "$SITE/nodes/housing" "$T/node-v9"
check "a node store stamped with schema version 9 (mdb_load)" set_schema "$T/node-v9" "node 9"
refused "node on a store of schema version 9" node "$T/node-v9" 73 \
    "has schema version 9; this orderbus reads version [0-9]+ only"

# the site's own stores were never touched: the broker still has every order
check_eq "the site still has its $((N + 1)) orders" "$((N + 1))" "$(ob --json status | json_get orders)"

finish
