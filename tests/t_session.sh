#!/usr/bin/env bash
# t_session.sh — one live session per department key. A second connection
# with the key (a stray tool, a second node started by mistake) is refused
# while the department's node is live: its Hello gets no Welcome and its
# acts are neither applied nor confirmed. Once the node has been silent for
# 3 heartbeats another node instance may take over, loudly, and its acts
# are numbered on their own: when the real node comes back, its next act is
# applied, never confirmed as a "duplicate" of the stray's.
. "$(dirname "$0")/lib.sh"

RAW=$BIN/ob_rawsend
site_start --depts "housing"
link=(--server-key "$SITE/keys/broker.key" --key "$SITE/keys/housing.key" --wait $((5000 * SCALE)))
state_of() { ob --json show "$1" | json_get state; }
for t in 电梯故障 楼道漏水 小区噪音 路灯不亮; do
    check "submit a housing complaint ($t)" ob --json submit --title "$t" --category 城乡建设
    ids+=("$(json_get id <<<"$OUT")") cases+=("$(json_get case_no <<<"$OUT")")
done
for c in "${cases[@]}"; do
    wait_until 10 "housing has $c" bash -c "'$BIN/orderbus' --node '$SITE/nodes/housing' inbox | grep -q $c"
done

# a stray tool while the node is live
run "$RAW" "${link[@]}" --body sign --order "${ids[0]}" --attempt 1 "$NODE_ENDPOINT"
check_match "a second connection's Hello is refused while the node is live" \
    '^reply: error FORBIDDEN: another node is connected' "$OUT"
check_nomatch "  no Welcome for it" '^reply: welcome' "$OUT"
check_eq "  its sign is not applied" DISPATCHED "$(state_of "${cases[0]}")"
check_match "the broker's log says so" "refused hello from a second connection" "$(cat "$SITE/log/broker.log")"
check "the real clerk signs another order" ob_node housing sign "${cases[1]}"
wait_until 10 "  applied at the centre (IN_PROGRESS), not taken for a duplicate of the stray's" bash -c \
    "[ \"\$('$BIN/orderbus' --config '$SITE/orderbus.yaml' --json show ${cases[1]} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" = IN_PROGRESS ]"

# the node stopped: a stray may take over once it has been silent
check "stop housing's node" site_sh stop-node housing
wait_until 15 "the broker sees housing down" bash -c "'$BIN/orderbus' --config '$SITE/orderbus.yaml' --json status | python3 -c 'import json,sys
sys.exit(0 if [n[\"up\"] for n in json.load(sys.stdin)[\"nodes\"] if n[\"dept\"] == \"housing\"] == [False] else 1)'"
run "$RAW" "${link[@]}" --body sign --order "${ids[2]}" --attempt 1 "$NODE_ENDPOINT"
check_match "a stray tool takes over the silent link and its sign is applied" '^reply: received seq 1$' "$OUT"
check_eq "  (the third order IN_PROGRESS)" IN_PROGRESS "$(state_of "${cases[2]}")"
check_match "  loudly" "takes over the link from instance" "$(cat "$SITE/log/broker.log")"
check "start housing's node again" site_sh start-node housing
check "the real clerk signs the fourth order" ob_node housing sign "${cases[3]}"
wait_until 10 "  applied at the centre, not taken for the stray's act (IN_PROGRESS)" bash -c \
    "[ \"\$('$BIN/orderbus' --config '$SITE/orderbus.yaml' --json show ${cases[3]} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" = IN_PROGRESS ]"
check "trace of the fourth order" ob --json trace "${cases[3]}"
check_eq "  one SIGN in its journal" 1 "$(python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)["events"] if e["event"] == "SIGN"))' <<<"$OUT")"
finish
