#!/usr/bin/env bash
# t_intake.sh — registering a complaint exactly once, whoever retries:
# a request's msg id is unique per sender (two clients' requests that
# happen to share an id are two complaints), a client's own retry with the
# same id is answered with the first order, and an intake's external
# reference is an idempotency key per client.
. "$(dirname "$0")/lib.sh"

RAW=$BIN/ob_rawsend
site_start --depts "housing"
"$BIN/orderbus" keys new "$SITE/keys/intake2.key" --name intake2 >/dev/null
"$BIN/orderbus" admin add-client intake2 --role dispatcher --key "$SITE/keys/intake2.key" \
    --store "$SITE/broker" >/dev/null
raw_as() { local who=$1; shift; "$RAW" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/$who.key" \
    --wait 5000 --body submit "$@" "$CLIENT_ENDPOINT"; }
case_of() { sed -nE 's/^reply: order (.*)$/\1/p' <<<"$1"; }

MID=0123456789abcdef0123456789abcdef
check "dispatcher submits with msg id M" raw_as dispatcher --msg-id $MID --title 小区噪音扰民
c1=$(case_of "$OUT")
check "another client submits another complaint with the same msg id M" \
    raw_as intake2 --msg-id $MID --title 道路积水严重
c2=$(case_of "$OUT")
check_match "  registered (an order in the answer)" '^reply: answer OK' "$OUT"
[[ -n $c1 && -n $c2 && $c1 != "$c2" ]] && ok "  two complaints, two orders ($c1, $c2)" ||
    not_ok "  two complaints, two orders (got '$c1' and '$c2')"
check "the dispatcher's own retry with msg id M" raw_as dispatcher --msg-id $MID --title 小区噪音扰民
check_eq "  is answered with its first order" "$c1" "$(case_of "$OUT")"
check "ob show of the second one shows the intake's title" ob show "$c2"
check_match "  (its complaint was registered)" '道路积水严重' "$OUT"

# the external reference: an idempotency key per client
check "intake submits with external reference R-1" raw_as intake2 --external-ref R-1 --title 路灯不亮
r1=$(case_of "$OUT")
check "the same reference again (a new msg id: the intake restarted)" \
    raw_as intake2 --external-ref R-1 --title 路灯不亮
check_eq "  answered with the same order" "$r1" "$(case_of "$OUT")"
check_match "  and says it was registered before" 'already registered' "$OUT"
check "the same reference from another client is that client's own" \
    raw_as dispatcher --external-ref R-1 --title 井盖丢失
r3=$(case_of "$OUT")
[[ -n $r3 && $r3 != "$r1" ]] && ok "  another order ($r3)" || not_ok "  another order (got '$r3')"
check "the CLI with --external-ref twice" ob --json submit --title 垃圾清运不及时 --external-ref CLI-7
e1=$(json_get case_no <<<"$OUT")
check "  again" ob --json submit --title 垃圾清运不及时 --external-ref CLI-7
check_eq "  one order" "$e1" "$(json_get case_no <<<"$OUT")"
check "status counts the orders" ob --json status
check_eq "  five orders registered, not seven" 5 "$(json_get orders <<<"$OUT")"
finish
