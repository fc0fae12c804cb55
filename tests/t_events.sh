#!/usr/bin/env bash
# t_events.sh — the broker's event stream, read with `orderbus watch`: one
# event per journal entry after its commit, topics that let a subscriber
# narrow by department, state and event, no free text on the stream (the
# journal keeps the notes), and watch's own filters and options.
. "$(dirname "$0")/lib.sh"

site_start --depts "housing environment"
W=$(mktemp -d "${TMPDIR:-/tmp}/ob-events.XXXXXX") || { not_ok "mktemp"; finish; }
trap 'rm -rf "$W"; _site_cleanup' EXIT

# watchers start first (a subscription takes a moment to reach the publisher)
ob watch --json --dept housing --count 5 --for $((20000 * SCALE)) >"$W/housing.jsonl" 2>"$W/housing.err" &
w_housing=$!
ob watch --json --event PROGRESS --count 1 --for $((20000 * SCALE)) >"$W/progress.jsonl" 2>"$W/progress.err" &
w_progress=$!
ob watch --json --dept environment --for $((6000 * SCALE)) >"$W/env.jsonl" 2>"$W/env.err" &
w_env=$!
ob watch --dept housing --state IN_PROGRESS --event SIGN --count 1 --for $((20000 * SCALE)) \
    >"$W/sign.txt" 2>"$W/sign.err" &
w_sign=$!
sleep $((1 * SCALE))

check "submit a housing complaint" ob --json submit --title 小区电梯停运 --content 电梯坏了 \
    --category 城乡建设 --contact-name 张三丰 --contact-phone 13800138000
id=$(json_get id <<<"$OUT")
case_no=$(json_get case_no <<<"$OUT")
wait_until 10 "housing has it" bash -c "'$BIN/orderbus' --node '$SITE/nodes/housing' inbox | grep -q '$case_no'"
check "the clerk signs" ob_node housing sign "$case_no"
check "the clerk reports progress with a note naming the complainant" \
    ob_node housing progress "$case_no" --note "已电话联系张三丰（13800138000），约定明天上门"
check "the clerk replies" ob_node housing reply "$case_no" --result resolved --note 已修复

wait "$w_housing"
check_eq "watch --count 5 exits 0" 0 $?
wait "$w_progress"
check_eq "watch --event PROGRESS --count 1 exits 0" 0 $?
wait "$w_sign"
check_eq "watch --dept --state --event exits 0" 0 $?
wait "$w_env"
check_eq "watch --for with no event exits 0" 0 $?

events=$(python3 -c '
import json, sys
print(" ".join(json.loads(l)["event"] for l in open(sys.argv[1]) if l.strip()))' "$W/housing.jsonl")
check_eq "housing's stream: one event per journal entry, in order, after REGISTER (dept -)" \
    "ROUTE DELIVERED SIGN PROGRESS REPLY" "$events"
trace_events=$(ob --json trace "$id" | python3 -c '
import json, sys
print(" ".join(e["event"] for e in json.load(sys.stdin)["events"] if e.get("dept") == "housing"))')
check_eq "the same entries as the journal holds for housing" "$trace_events" "$events"
check_eq "environment's stream is empty (the publisher filters by topic)" 0 \
    "$(grep -c . "$W/env.jsonl")"
check_match "the event filter alone works: PROGRESS" '"event": *"PROGRESS"' "$(cat "$W/progress.jsonl")"
check_match "a text line for SIGN with the case number" "$case_no .*SIGN .*DISPATCHED -> IN_PROGRESS  housing" \
    "$(cat "$W/sign.txt")"

stream=$(cat "$W"/*.jsonl "$W/sign.txt")
check_nomatch "no note and no contact on the stream" '张三丰|13800138000|约定明天|已修复' "$stream"
check_match "the journal keeps the note (trace, authenticated)" '约定明天上门' "$(ob trace "$case_no")"

check_fails 64 "watch: an unknown state is refused" ob watch --state NOSUCH
check_fails 64 "watch: an unknown event is refused" ob watch --event NOSUCH
check_fails 64 "watch: --count 0 is refused" ob watch --count 0
check_fails 78 "watch: no event endpoint" "$BIN/orderbus" --broker tcp://127.0.0.1:1 watch --for 10

finish
