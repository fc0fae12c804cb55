#!/usr/bin/env bash
# t_cli_edges.sh — the CLI's edges of issue 6:
#   8  a citizen's ESC, BEL, DEL and C1 controls never reach the terminal raw:
#      show, list, trace, the clerk's inbox and act outputs replace them
#      (U+FFFD), multi-line text keeps its newlines; --json stays exact;
#   9  --lat/--lon nan, inf and out of range are refused (64), in a JSON file
#      and a batch too (65), and nothing is registered;
#   5  a state-changing request that times out says "in doubt" and prints the
#      msg id; a retry with --msg-id of that id registers one order, and a
#      second retry returns the same order;
#   11 the time-out names the likely cause: never connected (broker down or
#      wrong endpoint), the key refused (not registered), the handshake
#      failed (wrong broker key), connected but stalled;
#   2  (CLI side) trace follows the broker's pages (Answer.more): a journal of
#      over 512 KiB is shown whole.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

site_start

# raw_controls TEXT: the control bytes in TEXT (C0 but newline and tab, DEL,
# C1 as UTF-8, and bytes that are no UTF-8 at all), as hex; empty when clean
raw_controls() {
    python3 -c '
import re, sys
b = sys.stdin.buffer.read()
bad = re.findall(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", b)
try:
    b.decode("utf-8")
except UnicodeDecodeError as e:
    bad.append(b"<invalid utf-8 at %d>" % e.start)
print(" ".join(x.hex() for x in bad))' <<<"$1"
}

orders() { ob --json list --limit 100000 | json_len .; }

# --- edge 8: control characters ------------------------------------------------

ESC=$'\e' BEL=$'\a' DEL=$'\x7f' CSI=$(printf '\xc2\x9b')
TITLE="恶意${ESC}[2J标题${BEL}${CSI}31m"
CONTENT="第一行${ESC}]0;pwned${BEL}"$'\n'"第二行${DEL}"$'\t'"制表"
check "submit a title and content with ESC, BEL, DEL and C1" \
    ob --json submit --title "$TITLE" --content "$CONTENT" --category 城乡建设
ID=$(json_get order.id <<<"$OUT")
CASE=$(json_get order.case_no <<<"$OUT")

check "show" ob show "$ID"
show=$OUT
check_eq "show: no raw control bytes" "" "$(raw_controls "$show")"
check_match "show: the title, its controls replaced visibly" "^title +恶意�\[2J标题��31m$" "$show"
check_match "show: multi-line content keeps its lines, indented" \
    $'content +第一行�]0;pwned�\n +第二行�\t制表' "$show"
check "show --json" ob --json show "$ID"
check_eq "show --json: the title exactly as submitted" "$TITLE" "$(json_get order.title <<<"$OUT")"
check_eq "show --json: the content exactly as submitted" "$CONTENT" "$(json_get order.content <<<"$OUT")"
check "list" ob list
check_eq "list: no raw control bytes" "" "$(raw_controls "$OUT")"
check_match "list: the order's row" "$CASE .*恶意" "$OUT"
check "trace" ob trace "$CASE"
check_eq "trace: no raw control bytes" "" "$(raw_controls "$OUT")"

wait_until $((20 * SCALE)) "the order reaches housing's inbox" \
    bash -c "'$BIN/orderbus' --node '$SITE/nodes/housing' inbox | grep -q '$CASE'"
check "clerk: inbox" ob_node housing inbox
check_eq "clerk inbox: no raw control bytes" "" "$(raw_controls "$OUT")"
check "clerk: sign" ob_node housing sign "$CASE"
check_eq "clerk sign: no raw control bytes" "" "$(raw_controls "$OUT")"
check "clerk: progress with controls in the note" \
    ob_node housing progress "$CASE" --note "进展${ESC}[5m闪烁${BEL}"
check_eq "clerk progress: no raw control bytes" "" "$(raw_controls "$OUT")"
wait_until $((20 * SCALE)) "the progress reaches the broker's journal" \
    bash -c "'$BIN/orderbus' --config '$SITE/orderbus.yaml' --json trace '$CASE' | grep -q PROGRESS"
check "trace after the progress note" ob trace "$CASE"
check_eq "trace: the clerk's note has no raw control bytes" "" "$(raw_controls "$OUT")"
check_match "trace: the note, replaced visibly" "进展�\[5m闪烁�" "$OUT"

# --- edge 2, CLI side: a journal longer than one answer ---------------------------

check "submit an order for a long journal" ob --json submit --title 长日志 --content 很多进展 --category 城乡建设
LID=$(json_get order.id <<<"$OUT")
wait_until $((20 * SCALE)) "it reaches housing" \
    bash -c "'$BIN/orderbus' --node '$SITE/nodes/housing' inbox | grep -q '$LID'"
check "clerk signs it" ob_node housing sign "$LID"
NOTE=$(python3 -c 'print("进" * 10000)')   # 30,000 bytes
for i in $(seq 1 24); do
    run ob_node housing progress "$LID" --note "$i $NOTE"
    (( RC == 0 )) || { not_ok "progress note $i" "$ERR"; break; }
done
wait_until $((30 * SCALE)) "the 24 notes reach the broker's journal (over 512 KiB)" \
    bash -c "'$BIN/orderbus' --config '$SITE/orderbus.yaml' --json trace '$LID' | grep -c '\"PROGRESS\"' | grep -qx 24"
check "trace --json of the long journal" ob --json trace "$LID"
check_eq "  ... holds all 24 progress notes (every page)" 24 \
    "$(python3 -c 'import json,sys; print(sum(e["event"]=="PROGRESS" for e in json.load(sys.stdin)["events"]))' <<<"$OUT")"
check "trace of the long journal" ob trace "$LID"
check_eq "  ... lists all 24 progress notes" 24 "$(grep -c ' PROGRESS ' <<<"$OUT")"

# --- edge 9: positions that mean nothing ----------------------------------------

n0=$(orders)
for v in nan NaN inf -inf 1e999 91 -90.5; do
    check_fails 64 "submit --lat $v: refused (64)" --match "--lat wants a finite number" \
        ob submit --title 位置 --lat "$v" --lon 116.4
done
for v in nan inf 180.01; do
    check_fails 64 "submit --lon $v: refused (64)" --match "--lon wants a finite number" \
        ob submit --title 位置 --lat 39.9 --lon "$v"
done
T=$(mktemp -d /tmp/ob-cli-edges.XXXXXX)
printf '{"title":"位置","location":{"lat":91,"lon":10}}\n' >"$T/far.json"
check_fails 65 "submit FILE.json with lat 91: refused (65), names the field" --match "location" \
    ob submit "$T/far.json"
printf '%s\n' '{"title":"好","location":{"lat":39.9,"lon":116.4}}' \
    '{"title":"坏","location":{"lat":39.9,"lon":-181}}' >"$T/batch.jsonl"
check_fails 65 "submit --batch with lon -181 on line 2: 65" --match "line 2: .*location" \
    ob submit --batch "$T/batch.jsonl"
check_match "  ... line 1 still submitted" "1 submitted, 1 failed" "$OUT"
check_eq "only the good batch line was registered" $((n0 + 1)) "$(orders)"

# --- edge 5: one msg id across retries -------------------------------------------

check_fails 64 "--msg-id that is not 32 hex digits: 64" --match "--msg-id wants 32 hex" \
    ob submit --title x --msg-id 1234
n0=$(orders)
MID=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
check "submit --msg-id" ob --json submit --title 重试 --content 同一个请求 --msg-id "$MID"
first=$(json_get order.id <<<"$OUT")
check "the same submit again with the same --msg-id" \
    ob --json submit --title 重试 --content 同一个请求 --msg-id "$MID"
check_eq "  ... answers the same order" "$first" "$(json_get order.id <<<"$OUT")"
check_eq "  ... and one order was registered, not two" $((n0 + 1)) "$(orders)"

# a stalled broker: the request times out, its outcome is in doubt
BPID=$(site_pid broker)
kill -STOP "$BPID"
check_fails 69 "submit to a stalled broker: 69" --match "in doubt" \
    ob --timeout 1000 submit --title 停顿 --content 代理停顿时提交
stalled=$OUT$ERR
kill -CONT "$BPID"
check_match "  ... prints the id to retry with" "--msg-id [0-9a-f]{32}" "$stalled"
check_match "  ... names the stall, not the key" "did not finish the handshake in time" "$stalled"
check_nomatch "  ... and does not ask whether the key is registered" "registered" "$stalled"
DOUBT=$(grep -oE -- '--msg-id [0-9a-f]{32}' <<<"$stalled" | head -n 1 | cut -d' ' -f2)
n0=$(orders)
check "the retry with that id" ob --json submit --title 停顿 --content 代理停顿时提交 --msg-id "$DOUBT"
first=$(json_get order.id <<<"$OUT")
check "a second retry with that id" ob --json submit --title 停顿 --content 代理停顿时提交 --msg-id "$DOUBT"
check_eq "  ... the same order" "$first" "$(json_get order.id <<<"$OUT")"
check_eq "  ... one order for the three tries" $((n0 + 1)) "$(orders)"
check_fails 69 "a read-only request to a stalled broker is not in doubt" \
    bash -c "kill -STOP $BPID; '$BIN/orderbus' --config '$SITE/orderbus.yaml' --timeout 800 status; rc=\$?; kill -CONT $BPID; exit \$rc"
check_nomatch "  ... and says nothing of a retry" "in doubt|--msg-id" "$OUT$ERR"

# --- edge 11: the cause of a time-out ----------------------------------------------

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
check_fails 69 "no broker at the endpoint: 69" --match "no connection could be made" \
    ob --broker "tcp://127.0.0.1:$PORT" --timeout 800 status
check_match "  ... asks whether the broker runs" "is the broker running" "$ERR"
check_nomatch "  ... not whether the key is registered" "registered" "$ERR"
check "a fresh keypair" "$BIN/orderbus" keys new "$T/stranger.key"
check_fails 69 "an unregistered key: 69" --match "refused this client's key" \
    ob --key "$T/stranger.key" --timeout 2000 status
check_match "  ... asks whether the key is registered" "registered \(orderbus admin add-client\)" "$ERR"
check_nomatch "  ... not whether the broker runs" "broker running" "$ERR"
check_fails 69 "an unregistered key submitting: nothing was applied" --match "nothing was applied" \
    ob --key "$T/stranger.key" --timeout 2000 submit --title 陌生
check_fails 69 "a wrong broker key: 69" --match "Curve handshake failed" \
    ob --broker-key "$T/stranger.key" --timeout 2000 status
check_match "  ... names --broker-key" "broker-key" "$ERR"
rm -rf "$T"

finish
