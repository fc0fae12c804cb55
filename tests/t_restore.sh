#!/usr/bin/env bash
# t_restore.sh — a store put back from a backup, on either side of a
# department's link.
# - A department's store restored: at its Hello the node has applied less
#   than it had confirmed; it resumes there and the broker sends every order
#   at the department again, so it learns back what it lost; its acts go on.
# - The broker's store restored: the node has applied more than this store
#   ever sent; the link is DIVERGED in `status` (what happened and what to
#   do, said once in the log) and nothing is sent or applied until the stores
#   agree: no message the node would take for a duplicate marked delivered,
#   no act confirmed without being applied, no resend loop. Putting the
#   newest broker store back heals the link and the held messages go out.
#   Case numbers the departments hold are never given out again (each Hello
#   tells the highest case number the node was sent).
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
# its store lost what it had confirmed: it resumes where it confirmed and
# learns again every order at the department, the one it lost included
wait_until 10 "housing learns $c2 again (its store had lost it)" in_inbox "$c2"
check_eq "status: housing not diverged (resynchronised)" "" "$(housing_field diverged)"
check_match "the broker's log says what happened, once" \
    "department 'housing': its node has applied broker seq [0-9]+ but [0-9]+ were confirmed \(its store was restored from a backup\): it resumes" \
    "$(cat "$SITE/log/broker.log")"
check_eq "  once" 1 "$(grep -c "its store was restored from a backup" "$SITE/log/broker.log")"
check_match "housing's log says it resumes" 'older than what it confirmed.*resuming at' \
    "$(cat "$SITE/log/housing.log")"
c3=$(submit 小区噪音)
wait_until 10 "a new order reaches it" in_inbox "$c3"
check "the clerk signs the order it learned again" ob_node housing sign "$c2"
wait_until 10 "  applied at the centre (IN_PROGRESS)" bash -c \
    "[ \"\$('$BIN/orderbus' --config '$SITE/orderbus.yaml' --json show $c2 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" = IN_PROGRESS ]"
gaps=$(grep -c 'gap' "$SITE/log/housing.log")
(( gaps <= 2 )) && ok "no resend loop in housing's log ($gaps gap lines)" ||
    not_ok "no resend loop in housing's log ($gaps gap lines)"

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
[[ -n $c5 && $c5 != "$c4" && $c5 > $c4 ]] &&
    ok "  a new order gets a new case number ($c5), not the one housing holds ($c4)" ||
    not_ok "  a new order gets a new case number, not the one housing holds ($c4): got '$c5'"
sleep $((3 * SCALE))
check_eq "  a new order is not marked delivered (the node would take its seq for a duplicate)" \
    QUEUED "$(ob --json show "$c5" | json_get transport)"
check "stop the broker" site_sh stop-broker
put_back "$T/broker-new" "$SITE/broker"
check "start it on its newest store" site_sh start-broker
wait_until 10 "status: housing agrees again" bash -c "[ -z \"\$('$BIN/orderbus' --config '$SITE/orderbus.yaml' --json status | python3 -c 'import json,sys; print([n.get(\"diverged\",\"\") for n in json.load(sys.stdin)[\"nodes\"] if n[\"dept\"]==\"housing\"][0])')\" ]"
finish
