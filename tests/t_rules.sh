#!/usr/bin/env bash
# t_rules.sh — the routing rules engine through `orderbus rules`: check on
# good and bad files (exact file:line:column; shadowed rules, rules of one
# priority that one order can match both of, whatever their kinds of
# conditions, and those that provably cannot; the taxonomy beside a file
# that names none, and the warning when there is none), test explanations
# (Chinese keywords, negative keywords, polygon, recusal, reject, transfer,
# priority order), --batch lines with and without --explain (text and
# JSON), and a live reload on a running site: a bad file refused with
# file:line:column while orders still route with the old set, then a good
# file accepted and a new order routed by the new rule.
. "$(dirname "$0")/lib.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/ob_t_rules.XXXXXX")
trap 'rm -rf "$W"' EXIT
OB=$BIN/orderbus

# --- fixtures ---------------------------------------------------------------

cat >"$W/area.geojson" <<'EOF'
{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"name": "西湖区"},
  "geometry": {"type": "Polygon",
   "coordinates": [[[120.0,30.0],[120.2,30.0],[120.2,30.3],[120.0,30.3],[120.0,30.0]]]}}]}
EOF
cp "$REPO/router-rules/taxonomy.csv" "$W/taxonomy.csv"

cat >"$W/good.yaml" <<'EOF'
version: "t-rules-1"
taxonomy: taxonomy.csv
departments:
  - {id: housing, name: 市住房和城乡建设局}
  - {id: property, name: 市物业管理办公室}
  - {id: env, name: 市生态环境局}
  - {id: supervision, name: 市纪委监委派驻纪检组}
  - {id: xihu, name: 西湖区政府}
sites:
  - {id: province, name: 省12345热线}
recusal:
  instead: supervision
  departments:
    - {dept: housing, names: [住建局]}
rules:
  - id: police-110
    priority: 1000
    when: {keywords: [打架斗殴, 持刀, [有人, 抢劫]]}
    then: {reject: {reason: 属公安机关紧急警情, referral: "110"}, priority: 9}
  - id: province
    priority: 500
    when: {keywords: 高速公路收费}
    then: {transfer: {site: province, reason: 省级事权}}
  - id: property-fee
    priority: 100
    when:
      category: 城乡建设/住房保障与房地产
      keywords: [物业费, 物业公司]
      keywords_none: [咨询]
    then: {lead: property, assist: [housing]}
  - id: xihu-area
    priority: 50
    when: {polygon: {file: area.geojson, name: 西湖区}}
    then: {lead: xihu}
  - id: housing
    when: {category: 城乡建设}
    then: {lead: housing}
EOF

# --- rules check ------------------------------------------------------------

run "$OB" rules check "$W/good.yaml"
check_eq "check: a good file exits 0" 0 "$RC"
check_eq "check: a good file prints no problem" "" "$OUT"

cat >"$W/bad.yaml" <<'EOF'
version: v1
taxonomy: taxonomy.csv
departments: [{id: a, name: A}, {id: b, name: B}]
rules:
  - id: unknown-category
    when: {category: 城乡建设/没有这个分类}
    then: {lead: a}
  - id: unknown-dept
    then: {lead: nobody}
  - id: bad-channel
    when: {keywords: [漏水], channel: FAX}
    then: {lead: a}
  - id: two-decisions
    then: {lead: a, reject: {reason: x}}
EOF
run "$OB" rules check "$W/bad.yaml"
check_eq "check: a bad file exits 1" 1 "$RC"
check_match "check: unknown category at file:6:22" \
    "bad\\.yaml:6:22: error: category '城乡建设/没有这个分类' is not in the taxonomy" "$OUT"
check_match "check: unknown department at file:9:18" \
    "bad\\.yaml:9:18: error: lead department 'nobody' is not declared" "$OUT"
check_match "check: bad enum at file:11:37" "bad\\.yaml:11:37: error: unknown channel 'FAX'" "$OUT"
check_match "check: two decisions at file:14:21" \
    "bad\\.yaml:14:21: error: then has both 'lead' and 'reject'" "$OUT"
check_eq "check: one line per problem" 4 "$(grep -c ': error: ' <<<"$OUT")"

cat >"$W/warn.yaml" <<'EOF'
version: v1
departments: [{id: a, name: A}, {id: b, name: B}]
rules:
  - {id: general, when: {category: 城乡建设}, then: {lead: a}}
  - {id: special, when: {category: 城乡建设/住房保障与房地产}, then: {lead: b}}
  - {id: leak, priority: 5, when: {keywords: [漏水, 渗水]}, then: {lead: a}}
  - {id: seep, priority: 5, when: {keywords: [渗水, 滴水]}, then: {lead: b}}
  - {id: catch-all, priority: -1, then: {lead: a}}
  - {id: never, priority: -2, when: {district: A1}, then: {lead: b}}
EOF
run "$OB" rules check "$W/warn.yaml"
check_eq "check: warnings only exit 0" 0 "$RC"
check_match "check: shadowed rule (strictly more general, earlier)" \
    "warn\\.yaml:5:5: warning: rule 'special' is shadowed: rule 'general'" "$OUT"
check_match "check: overlapping rules at one priority" \
    "warn\\.yaml:7:5: warning: rule 'seep' overlaps rule 'leak'" "$OUT"
check_match "check: unreachable after an unconditional rule" \
    "warn\\.yaml:9:5: warning: rule 'never' is unreachable: rule 'catch-all'" "$OUT"
run "$OB" rules check "$REPO/router-rules/default.yaml" "$W/good.yaml"
check_eq "check: the shipped default rules are clean" "0:" "$RC:$OUT"
run "$OB" rules check "$REPO"/router-rules/default.yaml "$REPO"/router-rules/examples/*.yaml
check_eq "check: the shipped example rules have no error and no warning" "0:" "$RC:$OUT"

# one priority, different decisions: a warning whenever one order can match
# both, also across kinds of conditions and inside all:; none when the
# values of one field do not meet or one rule keeps out what the other needs
cat >"$W/overlap.yaml" <<'EOF'
version: v1
departments: [{id: a, name: A}, {id: b, name: B}]
rules:
  - {id: building, priority: 5, when: {category: 城乡建设}, then: {lead: a}}
  - {id: leak, priority: 5, when: {keywords: [漏水]}, then: {lead: b}}
  - {id: env, priority: 4, when: {category: 环境保护}, then: {lead: a}}
  - {id: noise, priority: 4, when: {all: [{keywords: 噪音}]}, then: {lead: b}}
  - {id: env-deep, priority: 4, when: {all: [{category: 卫生计生}]}, then: {lead: b}}
  - {id: wages, priority: 3, when: {keywords: [农民工工资, 欠薪]}, then: {lead: a}}
  - {id: fees, priority: 3, when: {keywords: 物业费, keywords_none: [工资, 欠薪]}, then: {lead: b}}
  - {id: letters, priority: 2, when: {channel: LETTER}, then: {lead: a}}
  - {id: not-letters, priority: 2, when: {not: {channel: LETTER}}, then: {lead: b}}
  - {id: by-day, priority: 1, when: {hours: "08:00-18:00"}, then: {lead: a}}
  - {id: by-night, priority: 1, when: {hours: "18:00-08:00", keywords: 停水}, then: {lead: b}}
EOF
run "$OB" rules check "$W/overlap.yaml"
check_eq "overlap: warnings only exit 0" 0 "$RC"
check_match "overlap: category and keywords at one priority may overlap (the later rule's file:line:column, the earlier named)" \
    "overlap\\.yaml:5:5: warning: rule 'leak' may overlap rule 'building' \\(line 4\\) at the same priority 5 with a different decision" "$OUT"
check_match "overlap: a condition inside all: counts" \
    "overlap\\.yaml:7:5: warning: rule 'noise' may overlap rule 'env' \\(line 6\\)" "$OUT"
check_nomatch "overlap: disjoint categories (one inside all:) are not reported" "rule 'env-deep'" "$OUT"
check_nomatch "overlap: a keyword kept out by keywords_none (工资 inside 农民工工资) is not reported" \
    "rule 'fees'" "$OUT"
check_nomatch "overlap: a rule and its not: are not reported" "rule 'not-letters'" "$OUT"
check_nomatch "overlap: hours that do not meet are not reported" "rule 'by-night'" "$OUT"
check_eq "overlap: exactly those two warnings" 2 "$(grep -c ': warning: ' <<<"$OUT")"

# the taxonomy: taxonomy.csv beside a file that names none is read; without
# one, a file-level warning; `taxonomy: false` says the categories are free
mkdir -p "$W/notax"
printf '%s\n' 'version: v1' 'departments: [{id: a, name: A}]' 'rules:' \
    '  - {id: r, when: {category: 城乡建设/物业管里}, then: {lead: a}}' >"$W/beside.yaml"
cp "$W/beside.yaml" "$W/notax/free.yaml"
run "$OB" rules check "$W/beside.yaml"
check_eq "taxonomy: taxonomy.csv beside the file is read (a typo is an error)" 1 "$RC"
check_match "taxonomy: ... at file:line:column" \
    "beside\\.yaml:4:30: error: category '城乡建设/物业管里' is not in the taxonomy 'taxonomy.csv'" "$OUT"
run "$OB" rules check "$W/notax/free.yaml"
check_eq "taxonomy: none beside: a warning only" 0 "$RC"
check_match "taxonomy: ... file-level, saying categories are not checked" \
    "notax/free\\.yaml: warning: categories are not checked against a taxonomy" "$OUT"
{ echo 'taxonomy: false'; cat "$W/notax/free.yaml"; } >"$W/notax/free2.yaml"
run "$OB" rules check "$W/notax/free2.yaml"
check_eq "taxonomy: 'taxonomy: false' checks no category, without a warning" "0:" "$RC:$OUT"
printf '%s\n' 'version: v1' 'departments: [{id: a, name: A}]' \
    'rules: [{id: r, when: {keywords: 漏水}, then: {lead: a}}]' >"$W/notax/nocat.yaml"
run "$OB" rules check "$W/notax/nocat.yaml"
check_eq "taxonomy: no warning for a file without categories" "0:" "$RC:$OUT"
run "$OB" rules check "$W/none.yaml"
check_match "check: a missing file is an error without a position" \
    "none\\.yaml: error: cannot open rule file" "$OUT"

# --- rules test: explanations -----------------------------------------------

order() { printf '%s\n' "$1" >"$W/order.json"; run "$OB" rules test "$W/good.yaml" --order "$W/order.json"; }
order_json() { printf '%s\n' "$1" >"$W/order.json"; run "$OB" --json rules test "$W/good.yaml" --order "$W/order.json"; }

order '{"title": "物业公司乱收物业费", "content": "小区物业", "category": ["城乡建设", "住房保障与房地产"]}'
check_match "test: Chinese keywords decide (property-fee)" "decision: +dispatch to property" "$OUT"
check_match "test: the deciding rule is marked" '\* property-fee \(line 2[0-9], priority 100\): matches: decided' "$OUT"
check_match "test: why a rule did not match (keywords)" \
    "police-110 \\(line [0-9]+, priority 1000\\): no: keywords \\[打架斗殴, 持刀, 有人\\+抢劫\\]: none occurs" "$OUT"
check_match "test: a later matching rule is reported as not reached" \
    "housing \\(line [0-9]+, priority 0\\): matches, but an earlier rule decided" "$OUT"
check_match "test: assisting department shown" "assist: +housing" "$OUT"

order '{"title": "咨询物业费标准", "content": "物业公司", "category": ["城乡建设", "住房保障与房地产"]}'
check_match "test: a negative keyword stops a rule" \
    "property-fee .*no: keywords_none \\[咨询\\]: '咨询' occurs" "$OUT"
check_match "test: ... and the general rule decides" "decision: +dispatch to housing" "$OUT"

order '{"title": "有人抢劫", "content": "在小区门口"}'
check_match "test: reject with a referral" "decision: +reject \\(不予受理\\): 属公安机关紧急警情; refer to 110" "$OUT"
order '{"title": "抢劫", "content": "新闻"}'
check_match "test: a keyword group needs all its words" "decision: +manual \\(PENDING_MANUAL\\): no rule matched" "$OUT"

order '{"title": "有人打架斗殴", "content": "高速公路收费站"}'
check_match "test: priority order: the higher rule (1000) wins over 500" "rule: +police-110" "$OUT"
order '{"title": "高速公路收费", "content": "不合理"}'
check_match "test: transfer to another site" "decision: +transfer to site province \\(省12345热线\\)" "$OUT"

order '{"title": "路灯不亮", "content": "x", "location": {"lat": 30.1, "lon": 120.1}}'
check_match "test: a point inside the polygon" "decision: +dispatch to xihu" "$OUT"
order '{"title": "路灯不亮", "content": "x", "location": {"lat": 30.5, "lon": 120.1}}'
check_match "test: a point outside: why not" "xihu-area .*no: polygon \\[area.geojson#西湖区\\]: the order's point is outside" "$OUT"

order '{"title": "投诉住建局", "content": "不作为", "category": ["城乡建设"], "target_org": "A市住建局"}'
check_match "test: recusal: not routed to the department complained about" "decision: +dispatch to supervision" "$OUT"
check_match "test: recusal is shown" "recusal: +housing removed" "$OUT"

order_json '{"title": "投诉住建局", "content": "不作为", "category": ["城乡建设"], "target_org": "住建局"}'
j=$OUT
check_eq "test --json: decision" dispatch "$(json_get decision <<<"$j")"
check_eq "test --json: lead" supervision "$(json_get lead <<<"$j")"
check_eq "test --json: recused" housing "$(json_get recused <<<"$j")"
check_eq "test --json: every rule explained" 5 "$(json_len rules <<<"$j")"
check_eq "test --json: why of the first rule" \
    "keywords [打架斗殴, 持刀, 有人+抢劫]: none occurs in the title or content" \
    "$(json_get rules.0.why <<<"$j")"

printf '{"title": "x", "bogus": 1}\n' >"$W/bad_order.json"
check_fails 65 "test: an invalid order exits 65 naming the field" --match "unknown field 'bogus'" \
    "$OB" rules test "$W/good.yaml" --order "$W/bad_order.json"
check_fails 65 "test: a bad rule file exits 65 with file:line:column" --match "bad\\.yaml:6:22: " \
    "$OB" rules test "$W/bad.yaml" --order "$W/order.json"

# --- rules test --batch -----------------------------------------------------

cat >"$W/batch.jsonl" <<'EOF'
{"title": "有人持刀", "content": "快来", "_expect": "reject", "_n": 1}
{"title": "物业费", "content": "物业公司", "category": ["城乡建设", "住房保障与房地产"], "_expect": "property"}

{"title": "天气", "content": "好"}
{"title": "x", "oops": true}
EOF
run "$OB" --json rules test "$W/good.yaml" --batch "$W/batch.jsonl"
b=$OUT
check_eq "batch: exit 65 when a line is not an order" 65 "$RC"
check "batch: every line is JSON" json_lines_valid <<<"$b"
check_eq "batch: one object per non-blank line" 4 "$(grep -c . <<<"$b")"
l1=$(sed -n 1p <<<"$b"); l2=$(sed -n 2p <<<"$b"); l3=$(sed -n 3p <<<"$b"); l4=$(sed -n 4p <<<"$b")
check_eq "batch: line numbers count blank lines" "1 2 4 5" \
    "$(json_get line <<<"$l1") $(json_get line <<<"$l2") $(json_get line <<<"$l3") $(json_get line <<<"$l4")"
check_eq "batch: reject decision" "reject police-110 null" \
    "$(json_get decision <<<"$l1") $(json_get rule_id <<<"$l1") $(json_get lead <<<"$l1")"
check_eq "batch: _ keys copied" "reject 1" "$(json_get _expect <<<"$l1") $(json_get _n <<<"$l1")"
check_eq "batch: dispatch decision" "true dispatch property" \
    "$(json_get matched <<<"$l2") $(json_get decision <<<"$l2") $(json_get lead <<<"$l2")"
check_eq "batch: no rule: manual" "false manual null" \
    "$(json_get matched <<<"$l3") $(json_get decision <<<"$l3") $(json_get rule_id <<<"$l3")"
check_eq "batch: an invalid line: decision error" error "$(json_get decision <<<"$l4")"
check_nomatch "batch: no \"rules\" without --explain" '"rules"' "$b"

run "$OB" rules test "$W/good.yaml" --batch "$W/batch.jsonl"
plain=$OUT
check_match "batch: text: one line per order, then the counts" \
    $'^1: reject by rule police-110\n2: dispatch property by rule property-fee\n4: manual \\(no rule matched\\)\n5: error: .*oops.*\n4 orders: 1 dispatch, 1 manual, 1 reject, 0 transfer, 1 invalid$' \
    "$plain"

run "$OB" rules test "$W/good.yaml" --batch "$W/batch.jsonl" --explain
check_eq "batch --explain: exit 65 as without" 65 "$RC"
check_eq "batch --explain: the other lines are those without --explain" \
    "$plain" "$(grep -v '^    ' <<<"$OUT")"
block2=$(sed -n '/^2: /,/^4: /p' <<<"$OUT")
check_match "batch --explain: after the decision, a rule that did not match, indented, and why" \
    $'^2: dispatch property by rule property-fee\n    police-110 \\(line [0-9]+, priority 1000\\): no: keywords \\[打架斗殴, 持刀, 有人\\+抢劫\\]: none occurs in the title or content\n' \
    "$block2"
check_match "batch --explain: ... every rule that did not match" \
    "    xihu-area \\(line [0-9]+, priority 50\\): no: polygon \\[area.geojson#西湖区\\]: the order has no point" "$block2"
check_nomatch "batch --explain: matching rules are not listed" "    (property-fee|housing) \\(" "$block2"
check_match "batch --explain: a line no rule matched explains every rule" \
    $'4: manual \\(no rule matched\\)\n    police-110 .*\n    province .*\n    property-fee .*: no: category .*\n    xihu-area .*\n    housing .*: no: category \\[城乡建设\\]: the order has no category' "$OUT"

run "$OB" --json rules test "$W/good.yaml" --batch "$W/batch.jsonl" --explain
e=$OUT
check "batch --explain --json: every line is JSON" json_lines_valid <<<"$e"
e2=$(sed -n 2p <<<"$e"); e4=$(sed -n 4p <<<"$e")
check_eq "batch --explain --json: the decision as without --explain, _ keys copied" \
    "dispatch property property" \
    "$(json_get decision <<<"$e2") $(json_get lead <<<"$e2") $(json_get _expect <<<"$e2")"
check_eq "batch --explain --json: \"rules\" holds every rule, as --order --json" 5 \
    "$(json_len rules <<<"$e2")"
check_eq "batch --explain --json: a rule that did not match, and why" \
    "police-110 false keywords [打架斗殴, 持刀, 有人+抢劫]: none occurs in the title or content" \
    "$(json_get rules.0.id <<<"$e2") $(json_get rules.0.matched <<<"$e2") $(json_get rules.0.why <<<"$e2")"
check_eq "batch --explain --json: the deciding rule matches, why null" "property-fee true null" \
    "$(json_get rules.2.id <<<"$e2") $(json_get rules.2.matched <<<"$e2") $(json_get rules.2.why <<<"$e2")"
check_eq "batch --explain --json: an invalid line has no rules" "error 0" \
    "$(json_get decision <<<"$e4") $(json_len rules <<<"$e4")"

# --- title_keywords / title_keywords_none -----------------------------------

cat >"$W/title.yaml" <<'EOF'
version: "t-title-1"
departments:
  - {id: hrss, name: 市人力资源和社会保障局}
  - {id: housing, name: 市住房和城乡建设局}
rules:
  - id: wages-title
    priority: 300
    when: {title_keywords: [拖欠工资, [农民工, 欠薪]], title_keywords_none: [物业]}
    then: {lead: hrss}
  - id: property-title
    priority: 300
    when: {title_keywords: 物业费}
    then: {lead: housing}
EOF
run "$OB" rules check "$W/title.yaml"
check_eq "title: a file with title_keywords checks clean" "0:" "$RC:$OUT"

torder() { printf '%s\n' "$1" >"$W/order.json"; run "$OB" rules test "$W/title.yaml" --order "$W/order.json"; }
torder '{"title": "公司拖欠工资半年", "content": "请处理"}'
check_match "title: a word in the title decides" "decision: +dispatch to hrss" "$OUT"
torder '{"title": "反映问题", "content": "公司拖欠工资半年，物业费也涨了"}'
check_match "title: the same words in the content alone do not" \
    "decision: +manual \\(PENDING_MANUAL\\): no rule matched" "$OUT"
check_match "title: why title_keywords did not hold" \
    "wages-title .*no: title_keywords \\[拖欠工资, 农民工\\+欠薪\\]: none occurs in the title" "$OUT"
torder '{"title": "物业公司拖欠工资", "content": "x"}'
check_match "title: why title_keywords_none did not hold" \
    "wages-title .*no: title_keywords_none \\[物业\\]: '物业' occurs in the title" "$OUT"
torder '{"title": "拖欠工资", "content": "我在物业公司做保安"}'
check_match "title: title_keywords_none ignores the content" "rule: +wages-title" "$OUT"

cat >"$W/title_warn.yaml" <<'EOF'
version: v1
departments: [{id: a, name: A}, {id: b, name: B}]
rules:
  - {id: any-text, priority: 9, when: {keywords: [社保, 医保]}, then: {lead: a}}
  - {id: title-only, priority: 8, when: {title_keywords: 社保}, then: {lead: b}}
  - {id: park1, priority: 3, when: {title_keywords: [停车, 车位]}, then: {lead: a}}
  - {id: park2, priority: 3, when: {title_keywords: [车位, 车库]}, then: {lead: b}}
EOF
run "$OB" rules check "$W/title_warn.yaml"
check_eq "title: warnings only: check exits 0" 0 "$RC"
check_match "title: a title rule is shadowed by an earlier keywords rule" \
    "title_warn\\.yaml:5:5: warning: rule 'title-only' is shadowed: rule 'any-text'" "$OUT"
check_match "title: title rules sharing a word overlap" \
    "title_warn\\.yaml:7:5: warning: rule 'park2' overlaps rule 'park1'" "$OUT"
printf '%s\n' 'version: v1' 'departments: [{id: a, name: A}]' 'rules:' \
    '  - {id: bad, when: {title_keywords_none: [[a, b]]}, then: {lead: a}}' \
    '  - {id: empty, when: {title_keywords: []}, then: {lead: a}}' >"$W/title_bad.yaml"
run "$OB" rules check "$W/title_bad.yaml"
check_eq "title: check exits 1 on bad title conditions" 1 "$RC"
check_match "title: groups are refused in title_keywords_none, with file:line:column" \
    "title_bad\\.yaml:4:44: error: title_keywords_none entries must be strings" "$OUT"
check_match "title: an empty title_keywords list is refused" \
    "title_bad\\.yaml:5:40: error: title_keywords must not be an empty list" "$OUT"

# --- live reload on a site --------------------------------------------------

cp "$REPO/router-rules/default.yaml" "$W/site.yaml"
site_start --rules "$W/site.yaml" --depts "housing environment"

route_of() {  # TITLE: submits an order in 城乡建设; LAST_ID its id, ROUTE "DEPT RULE VERSION"
    local j
    LAST_ID="" ROUTE=""
    j=$(ob --json submit --title "$1" --content "测试：$1" --category 城乡建设) || return 1
    LAST_ID=$(json_get id <<<"$j") || return 1
    ROUTE=$(decision_of "$LAST_ID")
}

decision_of() {  # ID -> "DEPT RULE VERSION" as the broker recorded them
    local j
    j=$(ob --json show "$1") || return 1
    echo "$(json_get dept "" <<<"$j") $(json_get rule_id "" <<<"$j") $(json_get rules_version "" <<<"$j")"
}

version_of() { sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$1" | head -n 1; }
V1=$(version_of "$REPO/router-rules/default.yaml")

route_of 工地噪音扰民
check_eq "reload: before, 城乡建设 goes to housing" "housing urban-rural-construction $V1" \
    "$ROUTE"
FIRST_ID=$LAST_ID

# a bad file in place: refused with file:line:column for each of its errors,
# the old rules keep running
{ cat "$REPO/router-rules/default.yaml"
  printf '  - id: noise\n    when: {keywords: [噪音]}\n    then: {lead: nobody}\n'
  printf '  - id: noise2\n    when: {channel: PIGEON}\n    then: {lead: housing}\n'; } >"$W/site.yaml"
bad_line=$(grep -n 'lead: nobody' "$W/site.yaml" | cut -d: -f1)
bad_line2=$(grep -n 'PIGEON' "$W/site.yaml" | cut -d: -f1)
check_fails 1 "reload: a bad file is refused (exit 1) with file:line:column" \
    --match "site\\.yaml:$bad_line:18: lead department 'nobody' is not declared" ob rules reload
check_match "reload: ... and every error of it is reported" "site\\.yaml:$bad_line2:[0-9]+: .*PIGEON" \
    "$OUT$ERR"
route_of 工地噪音扰民
check_eq "reload: after the refusal orders still route with the old set" \
    "housing urban-rural-construction $V1" "$ROUTE"

# a good file: accepted, and a new order is routed by the new rule
{ sed 's/^version: .*/version: "t-rules-reload-2"/' "$REPO/router-rules/default.yaml"
  printf '  - id: noise\n    priority: 200\n    when: {keywords: [噪音], keywords_none: [咨询]}\n    then: {lead: environment}\n'; } >"$W/site.yaml"
run ob rules reload
check_eq "reload: a good file is accepted" 0 "$RC"
check_match "reload: the broker names the new version" "t-rules-reload-2" "$OUT"
route_of 工地噪音扰民
check_eq "reload: a new order is routed by the new rule" "environment noise t-rules-reload-2" \
    "$ROUTE"
route_of 咨询工地噪音
check_eq "reload: a negative keyword keeps the old route" \
    "housing urban-rural-construction t-rules-reload-2" "$ROUTE"
check_eq "reload: an order routed before keeps the decision it got, and its version" \
    "housing urban-rural-construction $V1" "$(decision_of "$FIRST_ID")"

# SIGHUP does the same: a bad file is refused in the log, a good one taken
broker_pid=$(site_pid broker)
{ cat "$W/site.yaml"; printf '  - id: broken\n    when: {category: 城乡建设}\n    then: {lead: nobody}\n'; } >"$W/site3.yaml"
cp "$W/site3.yaml" "$W/site.yaml"
bad_line=$(grep -n 'lead: nobody' "$W/site.yaml" | cut -d: -f1)
kill -HUP "$broker_pid"
wait_until 10 "SIGHUP: a bad file is refused, with file:line:column in the broker log" \
    grep -Eq "rule reload refused.*site\\.yaml:$bad_line:18: lead department 'nobody'" \
    "$SITE/log/broker.log"
check_eq "SIGHUP: the broker is still running" 0 "$(kill -0 "$broker_pid" 2>/dev/null; echo $?)"
route_of 工地噪音扰民
check_eq "SIGHUP: after the refusal orders route with the set before" \
    "environment noise t-rules-reload-2" "$ROUTE"
sed 's/^version: .*/version: "t-rules-reload-3"/; s/lead: nobody/lead: housing/' "$W/site3.yaml" >"$W/site.yaml"
kill -HUP "$broker_pid"
wait_until 10 "SIGHUP: a good file is taken" \
    grep -q "rules reloaded: version t-rules-reload-3" "$SITE/log/broker.log"
route_of 工地噪音扰民
check_eq "SIGHUP: new orders route by the new set" "environment noise t-rules-reload-3" \
    "$ROUTE"

finish
