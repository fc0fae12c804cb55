#!/usr/bin/env bash
# t_route_decisions.sh — the broker acts on every decision of the rules
# engine, on a real site: dispatch (with the rule and the rule-set version
# in the journal), 不予受理 (REJECTED, with reason and referral), transfer to
# another site (TRANSFERRED_OUT), a rule that sends to manual routing, no
# match (PENDING_MANUAL), recusal (回避) at routing and at manual routing, and
# rules on the time of receipt (hours, weekdays, in the site's zone): orders
# submitted with a received_at_ms inside and outside the rule's times.
. "$(dirname "$0")/lib.sh"

RULES=$(mktemp "${TMPDIR:-/tmp}/ob-rules.XXXXXX.yaml")
cat >"$RULES" <<'EOF'
version: "decisions-1"
departments:
  - {id: housing, name: 市住房和城乡建设局}
  - {id: health, name: 市卫生健康委员会}
  - {id: supervision, name: 市纪委监委}
sites:
  - {id: province, name: 省12345热线}
recusal:
  instead: supervision
  departments:
    - dept: housing
      names: [住建局, 住房和城乡建设局]
rules:
  - id: emergency-110
    priority: 1000
    when: {keywords: [打架斗殴, 正在行凶]}
    then: {reject: {reason: 属公安机关职责, referral: "110"}}
  - id: provincial-road
    priority: 500
    when: {keywords: [高速公路]}
    then: {transfer: {site: province, reason: 高速公路属省管}}
  - id: ask-a-person
    priority: 400
    when: {keywords: [信访复核]}
    then: {manual: 信访复核需人工判断}
  - id: night-works
    priority: 300
    when: {keywords: [夜间施工], hours: "22:00-06:00"}
    then: {lead: health}
  - id: weekend-duty
    priority: 300
    when: {keywords: [值班电话], weekdays: [sat, sun]}
    then: {lead: supervision}
  - id: housing
    when: {category: 城乡建设}
    then: {lead: housing}
  - id: health
    when: {category: 卫生计生}
    then: {lead: health, assist: [housing], priority: 7, confidential: true}
EOF
trap 'rm -f "$RULES"' EXIT
site_start --rules "$RULES" --depts "housing health supervision"

state_of() { ob --json show "$1" | json_get state; }
trace_json() { ob --json trace "$1"; }

# dispatch: the journal names the rule and the version of the rule set
check "submit a housing complaint" ob --json submit --title 小区电梯停运 --content 电梯坏了 --category 城乡建设
c1=$(json_get case_no <<<"$OUT")
check_eq "dispatched to housing" housing "$(json_get dept <<<"$OUT")"
check_match "trace names the rule and the rule-set version" 'rule housing@decisions-1' "$(ob trace "$c1")"
check_eq "show --json: rule_id and rules_version" "housing decisions-1" \
    "$(ob --json show "$c1" | json_get rule_id) $(ob --json show "$c1" | json_get rules_version)"

# the rest of a dispatch decision is kept with the order: assisting departments,
# handling priority, confidentiality, warning times before each deadline (预警)
check "submit a health complaint" ob --json submit --title 医院收费不合理 --content 多收费 --category 卫生计生
ch=$(json_get case_no <<<"$OUT")
j=$(ob --json show "$ch")
check_eq "  assisting department, priority, confidential from the rule" 'housing 7 true' \
    "$(json_get assist_depts.0 <<<"$j") $(json_get priority <<<"$j") $(json_get confidential <<<"$j")"
check "  warning times lie between dispatch and each deadline; the assisting opinion is due before the reply" "$PYTHON" -c '
import json, sys
r = json.loads(sys.argv[1])
ok = r["dispatched_at_ms"] < r["sign_warning_ms"] < r["sign_deadline_ms"] \
     and r["dispatched_at_ms"] < r["reply_warning_ms"] < r["reply_deadline_ms"] \
     and r["dispatched_at_ms"] < r["assist_deadline_ms"] < r["reply_deadline_ms"]
sys.exit(0 if ok else 1)' "$j"

# 不予受理: REJECTED, the reason and the referral in the journal
check "submit an emergency" ob --json submit --title 楼下有人打架斗殴 --content 请马上处理 --category 城乡建设
c2=$(json_get case_no <<<"$OUT")
check_eq "not accepted: REJECTED" REJECTED "$(state_of "$c2")"
t=$(ob trace "$c2")
check_match "trace: REJECT with the reason" 'REJECT.*属公安机关职责' "$t"
check_match "trace: the referral to 110" 'referral: 110' "$t"
check_match "trace: decided by emergency-110" 'emergency-110@decisions-1' "$t"
check_fails 1 "a rejected order cannot be routed" ob route "$c2" --dept housing

# transfer to another site
check "submit a provincial matter" ob --json submit --title 高速公路收费站拥堵 --content 收费站排长队 --category 城乡建设
c3=$(json_get case_no <<<"$OUT")
check_eq "transferred: TRANSFERRED_OUT" TRANSFERRED_OUT "$(state_of "$c3")"
check_match "trace: the site it went to" "province" "$(ob trace "$c3")"

# a rule that asks for a person, and no rule at all
check "submit a case for a person" ob --json submit --title 信访复核申请 --content 申请复核 --category 城乡建设
c4=$(json_get case_no <<<"$OUT")
check_eq "manual by rule: PENDING_MANUAL" PENDING_MANUAL "$(state_of "$c4")"
check_match "trace: the rule's reason" '信访复核需人工判断' "$(ob trace "$c4")"
check "submit something no rule covers" ob --json submit --title 其他问题 --content 无法归类 --category 商贸旅游
c5=$(json_get case_no <<<"$OUT")
check_eq "no match: PENDING_MANUAL" PENDING_MANUAL "$(state_of "$c5")"
check "the dispatcher routes it by hand" ob route "$c5" --dept health
check_eq "  DISPATCHED to health" "DISPATCHED health" \
    "$(ob --json show "$c5" | json_get state) $(ob --json show "$c5" | json_get dept)"

# recusal: a complaint about the housing bureau never goes to housing
check "submit a complaint about the housing bureau" ob --json submit --title 住建局不作为 \
    --content 多次反映无人处理 --category 城乡建设 --target-org 市住房和城乡建设局
c6=$(json_get case_no <<<"$OUT")
check_eq "recused: routed to supervision instead" supervision "$(json_get dept <<<"$OUT")"
check "submit another about it, unrouted" ob --json submit --title 住建局不作为 --content 投诉 \
    --category 商贸旅游 --target-org 住建局
c7=$(json_get case_no <<<"$OUT")
check_fails 1 "manual routing to the department complained about is refused" \
    --match '回避|recusal' ob route "$c7" --dept housing
check "manual routing elsewhere works" ob route "$c7" --dept supervision

# the department that was recused never saw the orders
wait_until 10 "supervision inbox has the recused order" bash -c \
    "'$BIN/orderbus' --node '$SITE/nodes/supervision' --json inbox | grep -q '$c6'"
out=$("$BIN/orderbus" --node "$SITE/nodes/housing" --json inbox --all)
check_nomatch "housing never received the complaints about it" "$c6|$c7" "$out"

# rules on the time of receipt: the broker routes on the order's
# received_at_ms, read in the site's zone (+08:00, the file's default)
ms_of() { python3 -c 'import datetime, sys; print(int(datetime.datetime.fromisoformat(sys.argv[1]).timestamp() * 1000))' "$1"; }
received() {  # TITLE ISO-TIME: submits an order in 城乡建设 received then; ROUTE "DEPT RULE MS"
    local f j
    f=$(mktemp "${TMPDIR:-/tmp}/ob-order.XXXXXX.json")
    printf '{"title": "%s", "content": "反映", "category": ["城乡建设"], "received_at_ms": %s}\n' \
        "$1" "$(ms_of "$2")" >"$f"
    ROUTE=""
    j=$(ob --json submit "$f")
    rm -f "$f"
    j=$(ob --json show "$(json_get case_no <<<"$j")") || return 1
    ROUTE="$(json_get dept "" <<<"$j") $(json_get rule_id "" <<<"$j") $(ms_of "$(json_get order.received_at "" <<<"$j")")"
}
received 工地夜间施工扰民 2026-03-03T23:30:00+08:00
check_eq "hours: received at 23:30, inside 22:00-06:00: the hours rule decides (the time kept)" \
    "health night-works $(ms_of 2026-03-03T23:30:00+08:00)" "$ROUTE"
received 工地夜间施工扰民 2026-03-04T05:59:00+08:00
check_eq "hours: 05:59, after midnight, still inside the range" "health night-works" "${ROUTE% *}"
received 工地夜间施工扰民 2026-03-04T06:00:00+08:00
check_eq "hours: 06:00, the end is excluded: the next rule decides" "housing housing" "${ROUTE% *}"
received 工地夜间施工扰民 2026-03-03T14:00:00+08:00
check_eq "hours: received at 14:00: outside, the category rule decides" "housing housing" "${ROUTE% *}"
received 工地夜间施工扰民 2026-03-03T15:30:00Z
check_eq "hours: 15:30 UTC is 23:30 in the site's zone: inside" "health night-works" "${ROUTE% *}"
received 值班电话打不通 2026-03-07T10:00:00+08:00
check_eq "weekdays: received on a Saturday: the weekdays rule decides" \
    "supervision weekend-duty" "${ROUTE% *}"
received 值班电话打不通 2026-03-09T10:00:00+08:00
check_eq "weekdays: received on a Monday: outside, the category rule decides" "housing housing" \
    "${ROUTE% *}"
received 值班电话打不通 2026-03-08T17:00:00Z
check_eq "weekdays: Sunday 17:00 UTC is Monday 01:00 in the site's zone: outside" \
    "housing housing" "${ROUTE% *}"

finish
