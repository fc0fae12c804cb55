#!/usr/bin/env bash
# t_deadletter.sh — a message a department refuses for good (here: a fake
# housing node answers seq 1 as a frame it cannot read, ERR_TOO_LARGE) is
# resent with back-off, never in a storm; after 3 refusals it is
# dead-lettered: a Withdrawn takes its seq, the messages behind it reach the
# department, the order shows transport FAILED with the reason, and ops see
# the letter (`orderbus dead list`), queue it again (the real node then
# receives the order) or drop it. Ops only.
. "$(dirname "$0")/lib.sh"

FAKE=$BIN/ob_fakenode
site_start --depts "housing"
"$BIN/orderbus" keys new "$SITE/keys/ops.key" --name ops >/dev/null
"$BIN/orderbus" admin add-client ops --role ops --key "$SITE/keys/ops.key" \
    --store "$SITE/broker" >/dev/null
ops() { ob --key "$SITE/keys/ops.key" "$@"; }

check "kill -9 the housing node" site_sh kill-node housing
for t in 电梯故障 楼道漏水 小区噪音; do
    check "submit a housing complaint ($t)" ob --json submit --title "$t" --category 城乡建设
    cases+=("$(json_get case_no <<<"$OUT")")
done

# a department that cannot read seq 1: 30 s would be ~7,000 resends in a storm
run "$FAKE" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/housing.key" \
    --refuse 1 --until 3 --for $((40000 * SCALE)) "$NODE_ENDPOINT"
check_eq "the fake housing node gets seqs 2 and 3 after all (exit 0)" 0 "$RC"
check_match "  seq 1 came back as a Withdrawn" '^applied 1 withdrawn$' "$OUT"
check_match "  then seq 2 (a dispatch)" '^applied 2 dispatch$' "$OUT"
check_match "  and seq 3" '^applied 3 dispatch$' "$OUT"
refusals=$(grep -c '^refused 1 ' <<<"$OUT")
(( refusals == 3 )) && ok "  seq 1 was sent 3 times before it was dead-lettered, not in a storm" ||
    not_ok "  seq 1 was sent 3 times before it was dead-lettered (sent $refusals times)" "$OUT"

check "ob show: the first order's transport" ob show "${cases[0]}"
check_match "  FAILED, with the department's reason" 'FAILED.*frame over 1 MiB|frame over 1 MiB.*FAILED' \
    "$(tr '\n' ' ' <<<"$OUT")"
check_fails 1 "dead list as a dispatcher: refused" --match 'only ops' ob dead list
check "dead list as ops" ops dead list
check_match "  names housing seq 1, its case and the reason" \
    "housing +1 +${cases[0]} +ROUTE +3 .*TOO_LARGE: frame over 1 MiB" "$OUT"
check "dead list --json" ops --json dead list
check_eq "  one letter" 1 "$(json_len <<<"$OUT")"
check_fails 1 "dead drop of a letter that does not exist" --match 'no such dead letter' \
    ops dead drop housing 99
check_fails 64 "dead requeue without a seq: usage" ops dead requeue housing

check "dead requeue housing 1" ops dead requeue housing 1
# the department (still the fake, at seq 3) gets it again, at the end of its stream
run "$FAKE" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/housing.key" \
    --applied 3 --until 4 --for $((20000 * SCALE)) "$NODE_ENDPOINT"
check_match "the requeued dispatch reaches the department as seq 4" '^applied 4 dispatch$' "$OUT"
wait_until 10 "the first order's transport: RECEIVED" bash -c \
    "'$BIN/orderbus' --config '$SITE/orderbus.yaml' --json show ${cases[0]} | grep -q '\"transport\": *\"RECEIVED\"'"
check "dead list after the requeue" ops --json dead list
check_eq "  empty" 0 "$(json_len <<<"$OUT")"
finish
