#!/usr/bin/env bash
# t_restore.sh — a store put back from a backup, on either side of a
# department's link. The broker notices at the node's Hello that the two
# stores disagree about what was delivered (DIVERGED in `status`, with what
# happened and what to do, said once in its log) and sends the department
# nothing until they agree again: no message taken by the node for a
# duplicate and marked delivered, no act of the node confirmed without being
# applied, no resend loop. Putting the newest store back heals the link and
# the held messages go out.
. "$(dirname "$0")/lib.sh"

for t in mdb_copy; do command -v "$t" >/dev/null || { not_ok "$t is installed (lmdb-utils)"; finish; }; done
site_start --depts "housing"
T=$SITE/t_restore
mkdir -p "$T"
status_json() { ob --json status; }
housing_field() { status_json | python3 -c 'import json,sys
d=[n for n in json.load(sys.stdin)["nodes"] if n["dept"] == "housing"][0]
print(d.get(sys.argv[1], ""))' "$1"; }
submit() { ob --json submit --title "$1" --category 城乡建设 | json_get case_no; }
in_inbox() { ob_node housing inbox | grep -q "$1"; }
snapshot() { rm -rf "$2"; mkdir -p "$2"; mdb_copy "$1" "$2"; }
put_back() { rm -f "$2/data.mdb" "$2/lock.mdb"; cp "$1/data.mdb" "$2/data.mdb"; }

c1=$(submit 电梯故障)
wait_until 10 "housing has $c1" in_inbox "$c1"

# --- a department's store put back from an older backup -------------------------
check "stop housing's node" site_sh stop-node housing
check "back up housing's store" snapshot "$SITE/nodes/housing" "$T/node-old"
check "start it again" site_sh start-node housing
c2=$(submit 楼道漏水)
wait_until 10 "housing has $c2 (delivered after the backup)" in_inbox "$c2"
check "stop housing's node" site_sh stop-node housing
check "keep its newest store" snapshot "$SITE/nodes/housing" "$T/node-new"
put_back "$T/node-old" "$SITE/nodes/housing"
check "start it on the older store" site_sh start-node housing
wait_until 10 "status: housing DIVERGED" bash -c "[ -n \"\$('$BIN/orderbus' --config '$SITE/orderbus.yaml' --json status | python3 -c 'import json,sys; print([n.get(\"diverged\",\"\") for n in json.load(sys.stdin)[\"nodes\"] if n[\"dept\"]==\"housing\"][0])')\" ]"
check_match "  saying what happened and what to do" 'older than what it confirmed.*put back its newest store' \
    "$(housing_field diverged)"
check "status (human)" ob status
check_match "  shows DIVERGED" 'housing DIVERGED: ' "$OUT"
c3=$(submit 小区噪音)
sleep $((3 * SCALE))
in_inbox "$c3" && not_ok "  a new order is held back, not sent into the divergence" ||
    ok "  a new order is held back, not sent into the divergence"
check_eq "  its transport: QUEUED (not falsely delivered)" QUEUED "$(ob --json show "$c3" | json_get transport)"
check_eq "the broker's log says so once" 1 "$(grep -c "department 'housing' diverged" "$SITE/log/broker.log")"
gaps=$(grep -c 'gap' "$SITE/log/housing.log")
(( gaps <= 2 )) && ok "no resend loop in housing's log ($gaps gap lines)" ||
    not_ok "no resend loop in housing's log ($gaps gap lines)"
check "stop housing's node" site_sh stop-node housing
put_back "$T/node-new" "$SITE/nodes/housing"
check "start it on its newest store" site_sh start-node housing
wait_until 10 "status: housing agrees again" bash -c "[ -z \"\$('$BIN/orderbus' --config '$SITE/orderbus.yaml' --json status | python3 -c 'import json,sys; print([n.get(\"diverged\",\"\") for n in json.load(sys.stdin)[\"nodes\"] if n[\"dept\"]==\"housing\"][0])')\" ]"
wait_until 10 "  and the held order reaches it" in_inbox "$c3"

# --- the broker's store put back from an older backup ---------------------------
check "stop the broker" site_sh stop-broker
check "back up the broker's store" snapshot "$SITE/broker" "$T/broker-old"
check "start it again" site_sh start-broker
c4=$(submit 路灯不亮)
wait_until 10 "housing has $c4 (delivered after the broker's backup)" in_inbox "$c4"
check "stop the broker" site_sh stop-broker
check "keep its newest store" snapshot "$SITE/broker" "$T/broker-new"
put_back "$T/broker-old" "$SITE/broker"
check "start the broker on the older store" site_sh start-broker
wait_until 10 "status: housing DIVERGED" bash -c "[ -n \"\$('$BIN/orderbus' --config '$SITE/orderbus.yaml' --json status | python3 -c 'import json,sys; print([n.get(\"diverged\",\"\") for n in json.load(sys.stdin)[\"nodes\"] if n[\"dept\"]==\"housing\"][0])')\" ]"
check_match "  this store is older than the department's" 'store is older than the department.s.*put back the newest broker store' \
    "$(housing_field diverged)"
c5=$(submit 井盖丢失)
sleep $((3 * SCALE))
check_eq "  a new order is not marked delivered (the node would take its seq for a duplicate)" \
    QUEUED "$(ob --json show "$c5" | json_get transport)"
check "stop the broker" site_sh stop-broker
put_back "$T/broker-new" "$SITE/broker"
check "start it on its newest store" site_sh start-broker
wait_until 10 "status: housing agrees again" bash -c "[ -z \"\$('$BIN/orderbus' --config '$SITE/orderbus.yaml' --json status | python3 -c 'import json,sys; print([n.get(\"diverged\",\"\") for n in json.load(sys.stdin)[\"nodes\"] if n[\"dept\"]==\"housing\"][0])')\" ]"
finish
