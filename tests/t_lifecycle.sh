#!/usr/bin/env bash
# t_lifecycle.sh — every CLI command against a real local site (broker and the
# seven departments of router-rules/default.yaml, no demo auto mode), checking
# what a user sees: the happy path from submit to CLOSED, manual routing,
# return and re-route, a denied return, a rejected review, an unsatisfied
# callback, refused transitions, status, stats, a batch of real orders; the
# complainant's contact kept at the centre (in no node store, clerk output,
# log or event); the broker refusing a department's act on a stale attempt.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEPTS_ALL="commerce education environment health housing hrss transport"
WAIT=10                     # seconds for asynchronous effects (x SCALE)

# --- helpers -----------------------------------------------------------------

# field REF PATH: a field of `ob --json show REF` ("" when absent)
field() { ob --json show "$1" 2>/dev/null | json_get "$2" ""; }

# state_is REF STATE [DEPT]: the broker has the order in STATE (at DEPT)
state_is() {
    local j
    j=$(ob --json show "$1" 2>/dev/null) || return 1
    [[ $(json_get state <<<"$j") == "$2" ]] || return 1
    [[ -z ${3:-} || $(json_get dept "" <<<"$j") == "$3" ]]
}

# wait_state REF STATE [DEPT]: one check, waiting for the broker
wait_state() {
    wait_until "$WAIT" "order $1 reaches $2${3:+ at $3}" state_is "$@"
}

# inbox_state DEPT REF [--all]: the state of REF in DEPT's inbox ("" if not listed)
inbox_state() {
    ob_node "$1" --json inbox ${3:+"$3"} 2>/dev/null | python3 -c '
import json, sys
ref = sys.argv[1]
for o in json.load(sys.stdin):
    if ref in (o.get("id"), o.get("case_no")):
        print(o.get("state", "")); break' "$2"
}
inbox_has() { [[ $(inbox_state "$1" "$2" "${4:-}") == "$3" ]]; }
inbox_lacks() { [[ -z $(inbox_state "$1" "$2") ]]; }

# submit_one CATEGORY TITLE -> prints "CASE ID" of a new order (flags, --json)
submit_one() {
    local j
    j=$(ob --json submit --title "$2" --content "测试内容：$2" --category "$1" \
        --contact-name 测试人 --contact-phone 13900000000) || return 1
    echo "$(json_get case_no <<<"$j") $(json_get id <<<"$j")"
}

today() { TZ=UTC-8 date +%Y%m%d; }

site_start

# --- status: the site is up --------------------------------------------------------

check "status answers" ob status
for d in $DEPTS_ALL; do
    check_match "status shows $d up" "^${d}[[:space:]].*[[:space:]]up[[:space:]]" "$OUT"
done
check "status --json" ob --json status
check_eq "status --json: 7 departments, all up" 7 \
    "$(python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin)["nodes"] if n["up"] is True))' <<<"$OUT")"

# --- the happy path ------------------------------------------------------------------

TITLE="小区门口道路破损，雨天积水严重"
CONTENT="A3区杜鹃文苑小区东门外人行道塌陷，雨天积水，老人小孩出行不便，请尽快修复。"
d0=$(today)
check "submit from flags (Chinese text)" ob submit --title "$TITLE" --content "$CONTENT" \
    --category 城乡建设 --channel web --appeal complaint --district A3 --street 书院路 \
    --address "杜鹃文苑小区东门" --urgency urgent --contact-name 张三 --contact-phone 13800000000
d1=$(today)
line=$OUT
CASE=$(awk '{print $1}' <<<"$line")
ID=$(awk '{print $2}' <<<"$line")
check_match "submit prints a case number YYYYMMDD-NNNNNN" '^[0-9]{8}-[0-9]{6}$' "$CASE"
check_match "case number dated today (site zone +08:00)" "^($d0|$d1)-" "$CASE"
check_match "submit prints the 32-hex order id" '^[0-9a-f]{32}$' "$ID"
check_match "submit: routed to housing, DISPATCHED" 'DISPATCHED.*housing' "$line"

check "show by id" ob show "$ID"
show_id=$OUT
check_match "show: Chinese title printed as is" "$TITLE" "$show_id"
check_match "show: Chinese content printed as is" "$CONTENT" "$show_id"
check_match "show: state DISPATCHED" '^state[[:space:]]+DISPATCHED' "$show_id"
check_match "show: dept housing" '^dept[[:space:]]+housing' "$show_id"
check_match "show: the case number" "$CASE" "$show_id"
check_match "show: contact shown to the dispatcher" '张三' "$show_id"
check "show by case number" ob show "$CASE"
check_eq "show by case number = show by id" "$show_id" "$OUT"
check "show --json" ob --json show "$CASE"
j=$OUT
check "show --json parses" json_valid <<<"$j"
check_eq "show --json: state" DISPATCHED "$(json_get state <<<"$j")"
check_eq "show --json: dept" housing "$(json_get dept <<<"$j")"
check_eq "show --json: attempt" 1 "$(json_get attempt <<<"$j")"
check_eq "show --json: title" "$TITLE" "$(json_get order.title <<<"$j")"
check_eq "show --json: category" 城乡建设 "$(json_get order.category.0 <<<"$j")"
check_eq "show --json: urgency" URGENT "$(json_get order.urgency <<<"$j")"

# submit FILE.json: an order as JSON (the demo data's format)
cat >"$SITE/order.json" <<'EOF'
{"channel":"WEB","appeal_type":"COMPLAINT","category":["卫生计生"],
 "title":"社区卫生服务中心周末不开门","content":"B2区某社区卫生服务中心周末停诊，附近老人看病要跑很远。",
 "location":{"district_code":"B2","address":"和平路12号"},
 "contact":{"name":"李四","phone":"13700000000"},"external_ref":"test-file-1"}
EOF
check "submit FILE.json" ob --json submit "$SITE/order.json"
FCASE=$(json_get case_no <<<"$OUT")
check_eq "submit FILE.json: routed to health" health "$(json_get dept <<<"$OUT")"
check_eq "submit FILE.json: DISPATCHED" DISPATCHED "$(json_get state <<<"$OUT")"
check_eq "submit FILE.json: title kept" 社区卫生服务中心周末不开门 "$(json_get order.title <<<"$OUT")"
check_eq "submit FILE.json: external ref kept" test-file-1 "$(json_get order.external_ref <<<"$OUT")"

# list
check "list --dept housing --state DISPATCHED" ob list --dept housing --state DISPATCHED
check_match "list: shows the housing order" "^${CASE}[[:space:]]+${ID}[[:space:]]+DISPATCHED[[:space:]]+housing" "$OUT"
check_match "list: Chinese title in the table" '小区门口' "$OUT"
check_nomatch "list --dept housing: not the health order" "$FCASE" "$OUT"
check "list --dept health" ob list --dept health
check_match "list --dept health: the health order" "$FCASE" "$OUT"
check_nomatch "list --dept health: not the housing order" "$CASE" "$OUT"
check "list --json --state DISPATCHED" ob --json list --state DISPATCHED
j=$OUT
check "list --json parses" json_valid <<<"$j"
check_eq "list --json: 2 dispatched orders" 2 "$(json_len . <<<"$j")"
check_eq "list --state: in id order across departments (housing's came first)" "$CASE $FCASE" \
    "$(json_get 0.case_no <<<"$j") $(json_get 1.case_no <<<"$j")"
check "list --state DISPATCHED --limit 1" ob --json list --state DISPATCHED --limit 1
check_eq "  the oldest, not the first department's" "$CASE" "$(json_get 0.case_no <<<"$OUT")"
check "list --limit 1" ob --json list --limit 1
check_eq "list --limit 1: one order" 1 "$(json_len . <<<"$OUT")"
check "list --state CLOSED (none yet)" ob --json list --state CLOSED
check_eq "list --state CLOSED: empty" 0 "$(json_len . <<<"$OUT")"

# the department's inbox
wait_until "$WAIT" "housing inbox lists the order as DISPATCHED" inbox_has housing "$CASE" DISPATCHED
check "inbox (table)" ob_node housing inbox
check_match "inbox: case number, Chinese title" "$CASE.*小区门口" "$OUT"
check "inbox --json parses" json_valid < <(ob_node housing --json inbox)
check "health inbox does not list the housing order" inbox_lacks health "$CASE"

# the department works the order
check "sign" ob_node housing sign "$CASE"
check_match "sign: the order is IN_PROGRESS at the node" 'IN_PROGRESS' "$OUT"
wait_state "$CASE" IN_PROGRESS housing
check_fails 1 "sign twice refused (exit 1, names state and event)" --match 'SIGN.*IN_PROGRESS|IN_PROGRESS.*SIGN' \
    ob_node housing sign "$CASE"
check_fails 1 "return after signing refused" --match 'RETURN' ob_node housing return "$CASE" --reason 不归我管
check "progress --note" ob_node housing progress "$CASE" --note "已派人到现场查看"
check "reply --result resolved" ob_node housing reply "$ID" --result resolved --note "人行道已修复，积水已排除"
wait_state "$CASE" REPLIED housing
check_fails 1 "callback on a REPLIED order refused" --match 'CALLBACK.*REPLIED|REPLIED.*CALLBACK' \
    ob callback "$CASE" --satisfaction satisfied
check "review --accept" ob review "$CASE" --accept --note 答复完整
check_match "review --accept: PENDING_CALLBACK" PENDING_CALLBACK "$OUT"
check_fails 1 "review twice refused" --match 'REVIEW' ob review "$CASE" --accept
check "callback --satisfaction satisfied" ob callback "$CASE" --satisfaction satisfied --note 市民满意
check_match "callback: CLOSED" CLOSED "$OUT"
check_eq "the order is CLOSED" CLOSED "$(field "$CASE" state)"
check_eq "satisfaction recorded" SATISFIED "$(field "$CASE" satisfaction)"
check_eq "reply result recorded" RESOLVED "$(field "$CASE" reply_result)"

check "trace" ob trace "$CASE"
trace_txt=$OUT
check_match "trace: Chinese notes printed as is" '已派人到现场查看' "$trace_txt"
check "trace --json" ob --json trace "$ID"
events=$(python3 -c 'import json,sys; print(" ".join(e["event"] for e in json.load(sys.stdin)["events"]))' <<<"$OUT")
check_eq "trace: events in order" \
    "REGISTER ROUTE DELIVERED SIGN PROGRESS REPLY REVIEW_ACCEPT CALLBACK_OK" "$events"
check_eq "trace (table) has the same events in order" "$events" \
    "$(grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' <<<"$trace_txt" | awk '{ print $3 }' | tr '\n' ' ' | sed 's/ $//')"
wait_until "$WAIT" "the closed order leaves the housing inbox" inbox_lacks housing "$CASE"
wait_until "$WAIT" "inbox --all lists it as CLOSED" inbox_has housing "$CASE" CLOSED --all

# --- manual routing ------------------------------------------------------------------

read -r MCASE _ < <(submit_one 政法 "邻居深夜噪音扰民")
check_match "unknown category: submitted" '^[0-9]{8}-[0-9]{6}$' "${MCASE:-}"
check_eq "unknown category: PENDING_MANUAL" PENDING_MANUAL "$(field "$MCASE" state)"
check_eq "PENDING_MANUAL: no department" "" "$(field "$MCASE" dept)"
check "list --state PENDING_MANUAL" ob list --state PENDING_MANUAL
check_match "list --state PENDING_MANUAL shows it" "$MCASE" "$OUT"
check "route --dept health" ob route "$MCASE" --dept health --note 转卫健委
check_match "route: DISPATCHED to health" 'DISPATCHED.*health' "$OUT"
wait_state "$MCASE" DISPATCHED health
wait_until "$WAIT" "health inbox lists the routed order" inbox_has health "$MCASE" DISPATCHED
check_fails 1 "route to an unknown department refused" --match 'nosuchdept' \
    ob route "$FCASE" --dept nosuchdept

# --- return and re-route -----------------------------------------------------------------

read -r RCASE _ < <(submit_one 城乡建设 "公交站台广告牌松动")
wait_until "$WAIT" "housing inbox lists the order to return" inbox_has housing "$RCASE" DISPATCHED
check "return --reason" ob_node housing return "$RCASE" --reason "公交站台归交通部门管理"
wait_state "$RCASE" RETURN_REQUESTED housing
check_eq "return reason recorded" 公交站台归交通部门管理 "$(field "$RCASE" return_reason)"
check "route to another department (approve the return)" ob route "$RCASE" --dept transport
wait_state "$RCASE" DISPATCHED transport
check_eq "re-routed order: attempt 2" 2 "$(field "$RCASE" attempt)"
wait_until "$WAIT" "transport inbox has the re-routed order" inbox_has transport "$RCASE" DISPATCHED
wait_until "$WAIT" "housing inbox no longer lists it as open" inbox_lacks housing "$RCASE"
check_fails 1 "a reply from the old department is refused" \
    ob_node housing reply "$RCASE" --result resolved --note 已处理
check_fails 1 "a sign from the old department is refused" ob_node housing sign "$RCASE"
check "the new department signs" ob_node transport sign "$RCASE"
wait_state "$RCASE" IN_PROGRESS transport

# --- deny-return ---------------------------------------------------------------------

read -r DCASE _ < <(submit_one 城乡建设 "楼道灯长期不亮")
wait_until "$WAIT" "housing inbox lists the order" inbox_has housing "$DCASE" DISPATCHED
check_fails 1 "deny-return on a DISPATCHED order refused" --match 'DISPATCHED' ob deny-return "$DCASE"
check "return --reason" ob_node housing return "$DCASE" --reason 物业负责
wait_state "$DCASE" RETURN_REQUESTED housing
check "deny-return --note" ob deny-return "$DCASE" --note "属于住建部门监管范围"
check_match "deny-return: DISPATCHED at housing" 'DISPATCHED.*housing' "$OUT"
check_eq "deny-return: still housing" housing "$(field "$DCASE" dept)"
wait_until "$WAIT" "housing inbox shows it DISPATCHED again" inbox_has housing "$DCASE" DISPATCHED
check "housing signs after the denied return" ob_node housing sign "$DCASE"
wait_state "$DCASE" IN_PROGRESS housing

# --- review rejection and rework ---------------------------------------------------------

read -r VCASE _ < <(submit_one 城乡建设 "小区电梯经常故障")
wait_until "$WAIT" "housing inbox lists the order" inbox_has housing "$VCASE" DISPATCHED
check "sign" ob_node housing sign "$VCASE"
check "reply" ob_node housing reply "$VCASE" --result explained --note 已联系物业
wait_state "$VCASE" REPLIED housing
check "review --reject" ob review "$VCASE" --reject --note "答复未说明维修时间"
check_match "review --reject: IN_PROGRESS" IN_PROGRESS "$OUT"
check_eq "rework counted" 1 "$(field "$VCASE" rework_count)"
wait_until "$WAIT" "the node has it IN_PROGRESS again (rework)" inbox_has housing "$VCASE" IN_PROGRESS
check "progress during rework" ob_node housing progress "$VCASE" --note 已督促物业维修
check "reply again" ob_node housing reply "$VCASE" --result resolved --note "电梯已于本周大修"
wait_state "$VCASE" REPLIED housing
check "review --accept" ob review "$VCASE" --accept
check "callback --satisfaction basic" ob callback "$VCASE" --satisfaction basic
check_eq "reworked order CLOSED" CLOSED "$(field "$VCASE" state)"

# --- unsatisfied callback: reopened, redispatched ------------------------------------------

read -r UCASE _ < <(submit_one 城乡建设 "工地夜间施工噪音")
wait_until "$WAIT" "housing inbox lists the order" inbox_has housing "$UCASE" DISPATCHED
check "sign" ob_node housing sign "$UCASE"
check "reply" ob_node housing reply "$UCASE" --result resolved --note 已要求停工
wait_state "$UCASE" REPLIED housing
check "review --accept" ob review "$UCASE" --accept
check "callback --satisfaction unsatisfied" ob callback "$UCASE" --satisfaction unsatisfied --note 仍在施工
wait_state "$UCASE" DISPATCHED housing
check_eq "reopened order: attempt 2" 2 "$(field "$UCASE" attempt)"
check_eq "reopen counted" 1 "$(field "$UCASE" reopen_count)"
check "trace --json" ob --json trace "$UCASE"
uevents=$(python3 -c 'import json,sys; print(" ".join(e["event"] for e in json.load(sys.stdin)["events"]))' <<<"$OUT")
check_match "trace: CALLBACK_REOPEN then REDISPATCH" 'CALLBACK_REOPEN REDISPATCH' "$uevents"
wait_until "$WAIT" "housing inbox has it DISPATCHED again" inbox_has housing "$UCASE" DISPATCHED
check_eq "the node holds attempt 2" 2 "$(ob_node housing --json inbox | python3 -c '
import json, sys
print(next((o["attempt"] for o in json.load(sys.stdin) if o["case_no"] == sys.argv[1]), ""))' "$UCASE")"
check "sign again" ob_node housing sign "$UCASE"
check "reply again" ob_node housing reply "$UCASE" --result resolved --note 已停止夜间施工
wait_state "$UCASE" REPLIED housing
check "review --accept" ob review "$UCASE" --accept
check "callback satisfied" ob callback "$UCASE" --satisfaction satisfied
check_eq "reopened order finally CLOSED" CLOSED "$(field "$UCASE" state)"

# --- illegal transitions ----------------------------------------------------------------------

check_fails 1 "callback on a DISPATCHED order refused (names state and event)" \
    --match "CALLBACK.*DISPATCHED|DISPATCHED.*CALLBACK" ob callback "$FCASE" --satisfaction satisfied
check_fails 1 "review on a DISPATCHED order refused" --match 'DISPATCHED' ob review "$FCASE" --accept
check_fails 1 "callback on a CLOSED order refused" --match 'CLOSED' ob callback "$CASE" --satisfaction basic
check_fails 1 "route of a CLOSED order refused" --match 'CLOSED' ob route "$CASE" --dept health
check_eq "refusals changed nothing" DISPATCHED "$(field "$FCASE" state)"

# --- status and stats -----------------------------------------------------------------------

check "status" ob --json status
st=$OUT
check_eq "status: every department up" "$DEPTS_ALL" \
    "$(python3 -c 'import json,sys; print(" ".join(sorted(n["dept"] for n in json.load(sys.stdin)["nodes"] if n["up"] is True)))' <<<"$st")"
check_eq "status: orders counted" 7 "$(json_get orders <<<"$st")"
check_eq "status: 3 CLOSED" 3 "$(json_get states.CLOSED 0 <<<"$st")"
check "stats" ob stats
check_match "stats: a housing row with Chinese name" '^housing[[:space:]]+市住房和城乡建设局' "$OUT"
check "stats --json" ob --json stats
stats=$OUT
hs=$(python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r["dept"] == "housing":
        print(r["dispatched"], r["closed"], r["returned"], r["reworked"], r["reopened"])' <<<"$stats")
# housing: CASE, RCASE, DCASE, VCASE, UCASE dispatched (+ redispatch, deny-return?)
read -r h_disp h_closed h_ret h_rew h_reo <<<"$hs"
check_eq "stats: housing closed 3" 3 "${h_closed:-}"
check_eq "stats: housing returned 2" 2 "${h_ret:-}"
check_eq "stats: housing reworked 1" 1 "${h_rew:-}"
check_eq "stats: housing reopened 1" 1 "${h_reo:-}"
check_match "stats: housing dispatched >= 5" '^([5-9]|[1-9][0-9]+)$' "${h_disp:-}"
check "stats --dept transport" ob --json stats --dept transport
check_eq "stats --dept: one row" transport "$(json_get 0.dept <<<"$OUT")"
check "node status" ob_node housing status
check_match "node status: broker link up" 'up' "$OUT"
check "node status --json" ob_node housing --json status
check_eq "node status --json: dept" housing "$(json_get dept <<<"$OUT")"

# --- batch ---------------------------------------------------------------------------------

head -n 20 "$REPO/deploy/data/tipdm_demo.jsonl" >"$SITE/batch.jsonl"
check "submit --batch of 20 demo orders" ob submit --batch "$SITE/batch.jsonl" --window 8
check_match "batch: final count" '20 submitted, 0 failed' "$OUT"
check_eq "batch: one line per order" 20 "$(grep -cE '^ *[0-9]+ +[0-9]{8}-[0-9]{6} +[0-9a-f]{32} ' <<<"$OUT")"
sed -n '21,40p' "$REPO/deploy/data/tipdm_demo.jsonl" >"$SITE/batch2.jsonl"
check "submit --batch --json" ob --json submit --batch "$SITE/batch2.jsonl"
j=$OUT
check "batch --json: one JSON object per line" json_lines_valid <<<"$j"
check_eq "batch --json: 20 lines ok" 20 \
    "$(python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if l.strip() and json.loads(l).get("ok")))' <<<"$j")"
check_eq "status: 47 orders" 47 "$(ob --json status | json_get orders)"


# --- personal data stays at the centre -------------------------------------------------

# An order with the complainant's contact, worked to CLOSED. The dispatcher's
# `show` prints the contact; the department never gets it (the broker strips
# it from the Dispatch): it is in no node store, no clerk output at the node,
# no log, and not on the event stream. Each search is shown to work on what
# must be there (the order's title, case number, or the broker's own copy).
P_NAME=张三丰
P_PHONE=13800138000
P_ADDR=湖北省十堰市武当山特区紫霄宫南岩路8号
P_ID=420302194504120017
P_EMAIL=zhangsanfeng@wudang.example
PII=("$P_NAME" "$P_PHONE" "$P_ADDR" "$P_ID" "$P_EMAIL")
P_TITLE=小区垃圾站臭气熏天无人清运
RAW=$BIN/ob_rawsend

# found_in FILE STRING...: the strings whose UTF-8 bytes are in FILE
found_in() {
    python3 -c '
import sys
blob = open(sys.argv[1], "rb").read()
for s in sys.argv[2:]:
    if s.encode() in blob: print(s)' "$@"
}
# store_bytes DIR > FILE: every key and value of every database of the LMDB
# store in DIR, as raw bytes (mdb_dump prints them in hex)
store_bytes() {
    mdb_dump -a "$1" | python3 -c '
import sys
out = sys.stdout.buffer
for line in sys.stdin:
    if line.startswith(" "):
        try: out.write(bytes.fromhex(line.strip()) + b"\0")
        except ValueError: pass'
}
# pii_absent DESC FILE: one check: no contact string in FILE
pii_absent() {
    local found
    found=$(found_in "$2" "${PII[@]}" | tr '\n' ' ')
    check_eq "$1" "" "$found"
}

# the event stream, read from before the submission to the CLOSED event
"$RAW" --subscribe ev. --dump "$SITE/events.bin" --until ev.housing.CLOSED.CALLBACK_OK \
    --wait $((60000 * SCALE)) "$EVENT_ENDPOINT" >"$SITE/events.txt" 2>&1 &
ev_pid=$!
sleep "$SCALE"   # PUB drops what comes before the subscription reaches it

cat >"$SITE/pii.json" <<EOF
{"channel":"PHONE","appeal_type":"COMPLAINT","category":["城乡建设"],
 "title":"$P_TITLE","content":"C1区某小区垃圾站多日无人清运，夏天臭气熏天。",
 "location":{"district_code":"C1","address":"桂花路3号小区垃圾站"},
 "contact":{"name":"$P_NAME","phone":"$P_PHONE","address":"$P_ADDR","id_number":"$P_ID","email":"$P_EMAIL"}}
EOF
check "submit an order with a contact (name, phone, address, id number, email)" \
    ob --json submit "$SITE/pii.json"
PCASE=$(json_get case_no "" <<<"$OUT")
PID=$(json_get id "" <<<"$OUT")
check_eq "  routed to housing" housing "$(json_get dept "" <<<"$OUT")"

check "centre show" ob show "$PCASE"
show_txt=$OUT
check_match "centre show: the contact name" "^contact name +$P_NAME\$" "$show_txt"
check_match "centre show: the contact phone" "^contact phone +$P_PHONE\$" "$show_txt"
check_match "centre show: the contact address" "^contact address +$P_ADDR\$" "$show_txt"
check_match "centre show: the contact id number" "^contact id number +$P_ID\$" "$show_txt"
check_match "centre show: the contact email" "^contact email +$P_EMAIL\$" "$show_txt"
check_eq "centre show --json: contact.id_number" "$P_ID" "$(ob --json show "$PCASE" | json_get order.contact.id_number "")"

# the clerk at housing works it; everything the node prints is kept
: >"$SITE/clerk.out"
clerk() { run ob_node housing "$@"; printf '%s\n%s\n' "$OUT" "$ERR" >>"$SITE/clerk.out"; (( RC == 0 )); }
wait_until "$WAIT" "housing inbox lists the order" inbox_has housing "$PCASE" DISPATCHED
check "clerk: inbox" clerk inbox
check "clerk: inbox --json" clerk --json inbox
check "clerk: inbox --json --state DISPATCHED" clerk --json inbox --state DISPATCHED
check "clerk: sign" clerk sign "$PCASE"
check "clerk: progress --json" clerk --json progress "$PCASE" --note 已安排环卫车清运
check "clerk: reply" clerk reply "$PID" --result resolved --note 垃圾已清运，已排定每日清运
wait_state "$PCASE" REPLIED housing
check "review --accept" ob review "$PCASE" --accept
check "callback satisfied" ob callback "$PCASE" --satisfaction satisfied
wait_until "$WAIT" "housing learns it is CLOSED" inbox_has housing "$PCASE" CLOSED --all
check "clerk: inbox --all --json" clerk --json inbox --all

check_eq "clerk output shows the order (its title)" "$P_TITLE" "$(found_in "$SITE/clerk.out" "$P_TITLE")"
pii_absent "clerk output at the node (inbox, inbox --json, sign, progress, reply): no contact" "$SITE/clerk.out"

for d in $DEPTS_ALL; do
    store_bytes "$SITE/nodes/$d" >"$SITE/store.$d.bin"
    pii_absent "node store of $d (mdb_dump -a): no contact" "$SITE/store.$d.bin"
done
check_eq "housing's store holds the order (its title): the search works" "$P_TITLE" \
    "$(found_in "$SITE/store.housing.bin" "$P_TITLE")"
store_bytes "$SITE/broker" >"$SITE/store.broker.bin"
check_eq "the broker's store holds the contact (the search finds it)" "$P_NAME $P_ID" \
    "$(found_in "$SITE/store.broker.bin" "$P_NAME" "$P_ID" | tr '\n' ' ' | sed 's/ $//')"

for f in "$SITE"/log/*.log; do
    pii_absent "log $(basename "$f"): no contact" "$f"
done
check_match "the housing log names the order (by id): the search has something to look at" \
    "$PID" "$(cat "$SITE/log/housing.log")"

wait "$ev_pid"
ev_rc=$?
check_eq "event stream: read up to the order's CALLBACK_OK (exit 0)" 0 "$ev_rc"
check_match "event stream: the order's events, REGISTER to CALLBACK_OK" \
    'ev\.-\.REGISTERED\.REGISTER.*ev\.housing\.CLOSED\.CALLBACK_OK' "$(tr '\n' ' ' <"$SITE/events.txt")"
check_eq "event stream: the entries carry the case number" "$PCASE" "$(found_in "$SITE/events.bin" "$PCASE")"
pii_absent "event stream: no contact" "$SITE/events.bin"

# --- the broker refuses a stale attempt -------------------------------------------------

# RCASE was returned by housing (attempt 1) and re-routed to transport
# (attempt 2); above, housing's node refuses its clerk's sign itself. Here
# acts go to the broker on housing's link as housing's node would send them:
# ob_rawsend with housing's keypair says Hello, takes the link's next seq
# from the Welcome and sends a reliable Sign (the node is stopped meanwhile:
# the broker follows the newest connection of a key).
RID=$(field "$RCASE" id)
DID=$(field "$DCASE" id)
snapshot() {   # REF -> "state dept attempt events"
    echo "$(field "$1" state) $(field "$1" dept) $(field "$1" attempt) $(ob --json trace "$1" | json_len events)"
}
r_before=$(snapshot "$RCASE")
d_before=$(snapshot "$DCASE")
check_match "RCASE is IN_PROGRESS at transport, attempt 2" '^IN_PROGRESS transport 2 [0-9]+$' "$r_before"
check "stop housing's node" site_sh stop-node housing
# one live session per department: a second connection with the key is
# refused until the node has been silent for 3 heartbeats
wait_until 15 "the broker sees housing down" bash -c "[ \"\$(\"$BIN/orderbus\" --config \"$SITE/orderbus.yaml\" --json status | python3 -c 'import json,sys
print([n[\"up\"] for n in json.load(sys.stdin)[\"nodes\"] if n[\"dept\"] == \"housing\"][0])')\" = False ]"
link=(--server-key "$SITE/keys/broker.key" --key "$SITE/keys/housing.key" --wait $((5000 * SCALE)))

check "housing: Sign of RCASE attempt 1 (returned, re-routed) sent on the node link" \
    "$RAW" "${link[@]}" --body sign --order "$RID" --attempt 1 "$NODE_ENDPOINT"
stale1=$OUT
seq=$(sed -nE 's/^sent: sign seq ([0-9]+) .*/\1/p' <<<"$stale1")
check_match "  the broker consumes it (Received for its seq ${seq:-?})" "^reply: received seq ${seq:-none}\$" "$stale1"
check_match "  and answers Error STALE_ATTEMPT" '^reply: error STALE_ATTEMPT: .*attempt 1 is not held by department .housing.' "$stale1"

check "housing: Sign of RCASE attempt 2 (transport's attempt) sent on the node link" \
    "$RAW" "${link[@]}" --body sign --order "$RID" --attempt 2 "$NODE_ENDPOINT"
check_match "  the broker answers Error STALE_ATTEMPT (not housing's order)" '^reply: error STALE_ATTEMPT: ' "$OUT"

check "housing: Sign of DCASE (housing's, attempt 1, signed already) sent on the node link" \
    "$RAW" "${link[@]}" --body sign --order "$DID" --attempt 1 "$NODE_ENDPOINT"
check_match "  the broker answers ILLEGAL_TRANSITION, not STALE_ATTEMPT (the attempt is current)" \
    '^reply: error ILLEGAL_TRANSITION: ' "$OUT"

# a numbered message whose body only a later release knows: consumed in
# sequence and refused, so the acts behind it still go through
check "housing: a numbered message of a later release sent on the node link" \
    "$RAW" "${link[@]}" --body future "$NODE_ENDPOINT"
fseq=$(sed -nE 's/^sent: future seq ([0-9]+) .*/\1/p' <<<"$OUT")
check_match "  the broker consumes it (Received for its seq ${fseq:-?})" "^reply: received seq ${fseq:-none}\$" "$OUT"
check_match "  and refuses it with BAD_REQUEST" '^reply: error BAD_REQUEST: ' "$OUT"
check "  the next act still goes through (its seq follows)" \
    "$RAW" "${link[@]}" --body sign --order "$DID" --attempt 1 "$NODE_ENDPOINT"
check_match "  ... answered for seq $((fseq + 1))" "^reply: received seq $((fseq + 1))\$" "$OUT"

check_eq "RCASE unchanged at the broker (state, dept, attempt, journal)" "$r_before" "$(snapshot "$RCASE")"
check_eq "DCASE unchanged at the broker (state, dept, attempt, journal)" "$d_before" "$(snapshot "$DCASE")"
check_match "broker log: the stale sign refused" "refused sign from 'housing' .*STALE_ATTEMPT" \
    "$(cat "$SITE/log/broker.log")"

# housing's node takes the link back; its own acts still reach the broker
# (the broker applied seqs the node never sent: the node numbers after them)
check "start housing's node again" site_sh start-node housing
wait_until "$WAIT" "housing up again at the broker" site_sh wait-up housing
check "housing reports progress on DCASE" ob_node housing progress "$DCASE" --note 电梯维修已完成一半
dcase_progress() { ob --json trace "$DCASE" | grep -q 电梯维修已完成一半; }
wait_until "$WAIT" "  the progress reaches the broker (DCASE's journal)" dcase_progress

finish
