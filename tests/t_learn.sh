#!/usr/bin/env bash
# t_learn.sh — the routing model (issue 9): `orderbus rules learn` and
# `orderbus rules model`, as a centre's operator uses them.
#
#   - training on tests/data/tipdm_learn_sample.csv (280 real messages,
#     tests/data/make_learn_sample.py) reports cross-validated right /
#     misrouted / manual figures and writes a model;
#   - training is deterministic: two trainings give the same file, byte for
#     byte (cmp);
#   - a nonsense message is not routed (manual, with 3 suggestions); a clear
#     one is;
#   - training files with malformed rows, empty or unknown labels, or too few
#     examples of a label are refused with FILE:LINE and what to do, and no
#     model is written;
#   - a truncated, corrupted or foreign model file is refused whole;
#   - a rule file naming the model: explicit rules decide first, then the
#     model above its threshold, then manual with 3 suggestions; rules test
#     shows the probability and n-grams; a missing, corrupt or mismatched
#     model or a bad threshold refuses the file with its place; the broker
#     routes with it, and a reload with a corrupt model is refused while the
#     old rules and model keep routing;
#   - --from-store learns from the closed orders of a real site's broker.
# The figures on the real training file are `make routing-eval`'s: this
# test trains on small data and takes a few seconds.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OB=$BIN/orderbus
SAMPLE=$REPO/tests/data/tipdm_learn_sample.csv
FAST=(--bits 16 --folds 3)   # small data: fewer features and folds
WAIT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ob-learn.XXXXXX") || { not_ok "mktemp"; finish; }
trap 'rm -rf "$TMP"' EXIT

# --- training and its report ------------------------------------------------------

check "rules learn --from CSV writes a model" \
    "$OB" rules learn --from "$SAMPLE" "${FAST[@]}" --confusion --out "$TMP/a.obm"
report=$OUT
check_match "the report gives right / misrouted / manual at the threshold" \
    'right [0-9.]+%  misrouted [0-9.]+%  manual [0-9.]+%' "$report"
check_match "the report gives the curve" 'curve: +threshold +right +misrouted +manual' "$report"
check_match "the report gives the confusion table" 'truth \\ routed to.*manual' "$report"
check_match "the report says how to name the model in a rule file" 'threshold: 0\.[0-9]+' "$report"
check "the model file exists" test -s "$TMP/a.obm"

run "$OB" --json rules learn --from "$SAMPLE" "${FAST[@]}" --out "$TMP/b.obm"
json=$OUT
if (( RC == 0 )) && [[ $(json_get texts <<<"$json") == 280 ]] \
    && [[ $(json_get labels <<<"$json" | json_len) == 7 ]]; then
    ok "--json: 280 texts, 7 labels"
else
    not_ok "--json: 280 texts, 7 labels" "$OUT" "$ERR"
fi
mis=$(json_get cv.misrouted <<<"$json")
target=$(json_get target <<<"$json")
check "cross-validated misrouted share within the target + 3 points (small data)" \
    python3 -c "import sys; sys.exit(not float('$mis') <= 100 * float('$target') + 3)"

# --- determinism --------------------------------------------------------------------

check "two trainings on the same data give the same file (cmp)" cmp "$TMP/a.obm" "$TMP/b.obm"
check "the sample written as JSON Lines" python3 - "$SAMPLE" "$TMP/s.jsonl" <<'EOF'
import csv, json, sys
with open(sys.argv[1], newline='', encoding='utf-8') as f, open(sys.argv[2], 'w', encoding='utf-8') as o:
    for r in csv.DictReader(f):
        o.write(json.dumps({'title': r['subject'], 'content': r['body'], 'label': r['label']},
                           ensure_ascii=False) + '\n')
EOF
check "rules learn --from JSONL" "$OB" rules learn --from "$TMP/s.jsonl" "${FAST[@]}" --out "$TMP/c.obm"
check "JSON Lines and CSV of the same texts give the same file" cmp "$TMP/a.obm" "$TMP/c.obm"

# --- what it does with a message ------------------------------------------------------

run "$OB" --json rules model "$TMP/a.obm"
version=$(json_get version "" <<<"$OUT")
check_match "rules model shows a 12-digit version" '^[0-9a-f]{12}$' "$version"
check_match "rules model shows load time and memory" '"load_ms".*"memory"|"memory".*"load_ms"' \
    "$(tr -d '\n' <<<"$OUT")"

run "$OB" --json rules model "$TMP/a.obm" --title "qwerty zxcvb" --content "asdf hjkl 12345 !!!"
if (( RC == 0 )) && [[ $(json_get decision.decision <<<"$OUT") == manual ]] \
    && [[ $(json_get decision.suggestions <<<"$OUT" | json_len) == 3 ]]; then
    ok "a nonsense message is left to manual, with 3 suggestions"
else
    not_ok "a nonsense message is left to manual, with 3 suggestions" "$OUT" "$ERR"
fi
run "$OB" --json rules model "$TMP/a.obm" --threshold 0.2 --title "拖欠工资" \
    --content "公司拖欠工资三个月，劳动合同也不签，社保不缴纳，请劳动监察部门处理"
if (( RC == 0 )) && [[ $(json_get decision.label "" <<<"$OUT") == 劳动和社会保障 ]] \
    && [[ $(json_get decision.ngrams <<<"$OUT" | json_len) -gt 0 ]]; then
    ok "a clear message is routed to its label, with the n-grams that weighed"
else
    not_ok "a clear message is routed to its label, with the n-grams that weighed" "$OUT" "$ERR"
fi

# --- training files with problems: refused with FILE:LINE, no model --------------------

# bad_file NAME DESC ERE [learn options]: NAME (in TMP) refused with exit 65,
# stderr matching ERE, and no model written
bad_file() {
    local name=$1 desc=$2 ere=$3
    shift 3
    rm -f "$TMP/bad.obm"
    check_fails 65 "$desc" --match "$ere" \
        "$OB" rules learn --from "$TMP/$name" --folds 2 --bits 12 "$@" --out "$TMP/bad.obm"
    [[ -e $TMP/bad.obm ]] && not_ok "no model written after: $desc"
}

{ head -n 5 "$SAMPLE"; printf '9001,路灯"坏了,不亮,城乡建设\n'; tail -n +6 "$SAMPLE"; } >"$TMP/quote.csv"
bad_file quote.csv "a stray quote is refused with its line" \
    'quote\.csv:6: error: quote inside an unquoted field.*double the quotes'
# the sample's bodies hold line breaks: its last line is not its last record
END=$(( $(wc -l <"$SAMPLE") + 1 ))
{ cat "$SAMPLE"; printf '9002,"路灯,不亮,城乡建设\n'; } >"$TMP/unclosed.csv"
bad_file unclosed.csv "an unclosed quote is refused with the line it opens on" \
    "unclosed\.csv:$END: error: quoted field opened on line $END is never closed"
{ head -n 3 "$SAMPLE"; printf '9003,a,b,c,城乡建设\n9004,路灯,不亮,\n'; tail -n +4 "$SAMPLE"; } >"$TMP/rows.csv"
bad_file rows.csv "a row of 5 fields is refused with its line" \
    'rows\.csv:4: error: 5 fields, the header has 4'
check_match "an empty label too, in the same run" 'rows\.csv:5: error: empty label: label the row' "$ERR"
{ cat "$SAMPLE"; printf '9005,垃圾,垃圾分类,城市管理\n9006,垃圾,垃圾清运,城市管理\n'; } >"$TMP/few.csv"
bad_file few.csv "a label with too few examples: its lines and what to do" \
    "few\.csv:$END: error: label '城市管理' has 2 examples \(lines $END, $((END + 1))\), at least 3 are needed: add examples, merge the label into another, or remove its rows" \
    --min-per-label 3
bad_file few.csv "a label not in --labels is refused with its line" \
    "few\.csv:$END: error: unknown label '城市管理'" \
    --labels 交通运输,劳动和社会保障,卫生计生,商贸旅游,城乡建设,教育文体,环境保护
printf '{"title":"a","content":"b","label":"x"}\n{"title": "c",\n[1,2]\n' >"$TMP/bad.jsonl"
bad_file bad.jsonl "JSON Lines: a line that is not JSON, by line" 'bad\.jsonl:2: error: not JSON'
check_match "and one that is not an object" 'bad\.jsonl:3: error: not a JSON object' "$ERR"
sed 's/^id,subject,body,label$/id,subject,body,category/' "$SAMPLE" >"$TMP/category.csv"
bad_file category.csv "no label column: says to name it with --label-column" \
    "category\.csv:1: error: no label column 'label' in the header: name it with --label-column"
check "--label-column names it" \
    "$OB" rules learn --from "$TMP/category.csv" --label-column category "${FAST[@]}" --out "$TMP/d.obm"
check_fails 66 "a missing training file: exit 66" --match "cannot open" \
    "$OB" rules learn --from "$TMP/absent.csv" --out "$TMP/x.obm"
check_fails 64 "neither --from nor --from-store: usage error" --match "give one of" \
    "$OB" rules learn --out "$TMP/x.obm"

# --- model files that must be refused whole ---------------------------------------------

size=$(stat -c %s "$TMP/a.obm")
head -c $((size - 100)) "$TMP/a.obm" >"$TMP/truncated.obm"
check_fails 65 "a truncated model is refused (checksum)" --match "truncated or corrupt" \
    "$OB" rules model "$TMP/truncated.obm"
cp "$TMP/a.obm" "$TMP/flipped.obm"
printf '\x55' | dd of="$TMP/flipped.obm" bs=1 seek=$((size / 2)) conv=notrunc status=none
check_fails 65 "a model with one byte changed is refused (checksum)" --match "checksum" \
    "$OB" rules model "$TMP/flipped.obm"
cp "$TMP/a.obm" "$TMP/format9.obm"
printf '\x09' | dd of="$TMP/format9.obm" bs=1 seek=8 conv=notrunc status=none
check_fails 65 "a model of another format version is refused, saying to retrain" \
    --match "format 9, this release reads format 1: retrain" "$OB" rules model "$TMP/format9.obm"
check_fails 65 "a rule file is not a model" --match "not an orderbus model file" \
    "$OB" rules model "$REPO/router-rules/default.yaml"

# --- a rule file naming the model: rules first, then the model, then manual -------------

# The sample model predicts categories; default.yaml's rules dispatch each
# category; the threshold is set by hand (the sample's own is low).
rules_with() {   # rules_with MODEL-LINE... > FILE: default.yaml plus the lines
    sed "s|^taxonomy: taxonomy.csv|taxonomy: $REPO/router-rules/taxonomy.csv|" \
        "$REPO/router-rules/default.yaml"
    printf '%s\n' "$@"
}
rules_with "model: a.obm" "threshold: 0.5" >"$TMP/site.yaml"
check "rules check: a rule file naming a model" "$OB" rules check "$TMP/site.yaml"
LABOUR='"title":"拖欠工资","content":"公司拖欠工资三个月，劳动合同也不签，社保不缴纳，请劳动监察部门处理"'
printf '{%s,"category":["城乡建设"]}\n{%s}\n{"title":"qwerty zxcv","content":"asdf hjkl 12345"}\n' \
    "$LABOUR" "$LABOUR" >"$TMP/orders.jsonl"
run "$OB" --json rules test "$TMP/site.yaml" --batch "$TMP/orders.jsonl"
lines=$OUT
line() { sed -n "${1}p" <<<"$lines" | json_get "$2" ""; }
check_eq "an explicit rule decides first (category 城乡建设: housing, whatever the text)" \
    "rule housing" "$(line 1 decided_by) $(line 1 lead)"
check_eq "no rule matches: the model decides (hrss, by its category 劳动和社会保障)" \
    "model hrss 劳动和社会保障" "$(line 2 decided_by) $(line 2 lead) $(line 2 model.suggestions.0.label)"
check_eq "nonsense: manual, with 3 suggestions and their departments" "none manual 3" \
    "$(line 3 decided_by) $(line 3 decision) $(line 3 model.suggestions | json_len)"
check_match "each suggestion names the department its category goes to" '"dept": *"[a-z]+"' \
    "$(line 3 model.suggestions)"
printf '{%s}\n' "$LABOUR" >"$TMP/labour.json"
run "$OB" rules test "$TMP/site.yaml" --order "$TMP/labour.json"
check_match "rules test --order: the model, its probability and threshold" \
    "model: +a\.obm \(version $version\): decided '劳动和社会保障', probability 0\.[0-9]+ >= threshold 0\.500" "$OUT"
check_match "rules test --order: the n-grams that weighed most" 'n-grams: +[^ ]+ \((title|content) [0-9.]+\)' "$OUT"

run "$OB" rules learn --from "$SAMPLE" "${FAST[@]}" --rules "$REPO/router-rules/examples/tipdm-keywords.yaml"
check_match "rules learn --rules: measured on the texts the rules leave undecided" \
    'tipdm-keywords\.yaml decide [0-9]+ texts; the figures are of the [0-9]+ they leave to the model' "$OUT"

# rule files whose model cannot be used are refused whole, with the place
bad_rules() {   # bad_rules DESC ERE MODEL-LINE...
    local desc=$1 ere=$2
    shift 2
    rules_with "$@" >"$TMP/bad.yaml"
    check_fails 1 "rules check: $desc" --match "$ere" "$OB" rules check "$TMP/bad.yaml"
}
MLINE=$(( $(grep -c '' "$REPO/router-rules/default.yaml") + 1 ))
bad_rules "a missing model" "bad\.yaml:$MLINE:8: error: cannot open model '.*absent\.obm'" "model: absent.obm"
bad_rules "a truncated model" "bad\.yaml:$MLINE:8: error: model '.*truncated\.obm': model file truncated or corrupt" \
    "model: truncated.obm"
rm -f "$TMP/mismatch.obm"
"$OB" rules learn --from "$TMP/few.csv" --folds 2 --bits 12 --min-per-label 2 --out "$TMP/mismatch.obm" \
    >/dev/null 2>&1
bad_rules "a model whose label no rule dispatches" \
    "label '城市管理' is neither a department of this file nor a category its rules dispatch" \
    "model: mismatch.obm"
bad_rules "a threshold out of range" "bad\.yaml:$((MLINE + 1)):12: error: threshold must be a probability from 0 to 1" \
    "model: a.obm" "threshold: 1.5"
bad_rules "a threshold without a model" "threshold without a model" "threshold: 0.5"
rules_with "  - id: everything" "    priority: -100" "    then: {lead: housing}" "model: a.obm" \
    >"$TMP/catchall.yaml"
run "$OB" rules check "$TMP/catchall.yaml"
check_match "rules check warns when a catch-all rule leaves the model nothing to decide" \
    "catchall\.yaml:$((MLINE)):5: warning: the model 'a\.obm' is never asked: rule 'everything' matches every order" \
    "$OUT"
rules_with "model: store.obm" >"$TMP/depts.yaml"   # (made below: labels are departments)

# --- from the closed orders of a broker's store -----------------------------------------

# close_one DEPT CATEGORY TITLE CONTENT: an order from submit to CLOSED
close_one() {
    local j case
    j=$(ob --json submit --title "$3" --content "$4" --category "$2" \
        --contact-name 测试人 --contact-phone 13900000000) || return 1
    case=$(json_get case_no <<<"$j") || return 1
    poll_until "$WAIT" ob_node "$1" sign "$case" >/dev/null || return 1
    ob_node "$1" reply "$case" --result resolved --note 已处理 >/dev/null || return 1
    poll_until "$WAIT" ob review "$case" --accept >/dev/null || return 1
    ob callback "$case" --satisfaction satisfied >/dev/null || return 1
}

site_start --rules "$TMP/site.yaml"
# the broker routes with rules, then the model (an order without a category)
j=$(ob --json submit --title 拖欠工资 --content "公司拖欠工资三个月，劳动合同也不签，社保不缴纳")
mcase=$(json_get case_no "" <<<"$j")
wait_until "$WAIT" "the broker dispatches an order no rule matches by the model (hrss)" \
    bash -c "\"$BIN/orderbus\" --config \"$SITE/orderbus.yaml\" --json show $mcase | grep -q '\"dept\": *\"hrss\"'"
j=$(ob --json submit --title qwerty --content "asdf zxcv 12345")
ncase=$(json_get case_no "" <<<"$j")
wait_until "$WAIT" "a nonsense order waits in PENDING_MANUAL" \
    bash -c "\"$BIN/orderbus\" --config \"$SITE/orderbus.yaml\" --json show $ncase | grep -q PENDING_MANUAL"
# the dispatcher sees the model's suggestions and accepts one with one command
check "show: the order the model was not sure of" ob show "$ncase"
check_match "  lists its suggestions, with the command to accept each" \
    'suggestion 1 +[a-z]+  p=0\.[0-9]+  \(.*; route '"$ncase"' --suggestion 1\)' "$OUT"
check_match "  and the model's version" "routing model +$version" "$OUT"
sugg=$(ob --json show "$ncase")
first=$(json_get suggestions.0.dept <<<"$sugg")
check_eq "  show --json: 3 suggestions" 3 "$(json_get suggestions <<<"$sugg" | json_len)"
check "list --state PENDING_MANUAL" ob list --state PENDING_MANUAL
check_match "  shows the best guess, marked as one" "$ncase .* $first\? [0-9]+%" "$OUT"
check_fails 64 "route with --dept and --suggestion: usage" --match 'not both' \
    ob route "$ncase" --dept hrss --suggestion 1
check_fails 1 "route --suggestion of an order the model decided: refused" \
    --match 'has 0 suggestions' ob route "$mcase" --suggestion 1
check "route --suggestion 1: the dispatcher accepts the first" ob --json route "$ncase" --suggestion 1
check_eq "  dispatched to its department" "DISPATCHED $first" \
    "$(json_get state <<<"$OUT") $(json_get dept <<<"$OUT")"
check "trace of an order the model routed" ob trace "$mcase"
check_match "  names model@version as a rule@version" "rule model@$version" "$OUT"
check "trace of the accepted suggestion" ob trace "$ncase"
check_match "  says the suggestion was accepted" "suggestion 1 accepted" "$OUT"
cp "$TMP/a.obm" "$TMP/a.obm.good"
head -c 1000 "$TMP/a.obm.good" >"$TMP/a.obm"
check_fails 1 "rules reload with a corrupt model: refused, with the reason" \
    --match "a\.obm': model file truncated or corrupt" ob rules reload
j=$(ob --json submit --title 拖欠工资 --content "公司拖欠工资三个月，劳动合同也不签，社保不缴纳")
mcase=$(json_get case_no "" <<<"$j")
wait_until "$WAIT" "the old rules and model keep routing (hrss)" \
    bash -c "\"$BIN/orderbus\" --config \"$SITE/orderbus.yaml\" --json show $mcase | grep -q '\"dept\": *\"hrss\"'"
cp "$TMP/a.obm.good" "$TMP/a.obm"
closed=0
for i in 1 2 3; do
    close_one hrss 劳动和社会保障 "拖欠工资$i" "公司拖欠工资${i}个月，请劳动监察处理" && closed=$((closed + 1))
    close_one environment 环境保护 "噪音扰民$i" "工地夜间施工噪音扰民${i}次，请环保部门处理" && closed=$((closed + 1))
done
check_eq "six orders closed through sign, reply, review and callback" 6 "$closed"
ob --json submit --title 未结 --content 还在办理 --category 环境保护 >/dev/null
check "rules learn --from-store (the broker running)" \
    "$OB" rules learn --from-store "$SITE/broker" --folds 2 --min-per-label 2 --bits 12 \
    --out "$TMP/store.obm"
check_match "it says how many orders were closed with an accepted reply" \
    '6 of 10 orders .* are closed with an accepted reply' "$ERR"
run "$OB" --json rules model "$TMP/store.obm"
check_eq "the store's model predicts departments" '["environment", "hrss"]' \
    "$(json_get labels <<<"$OUT" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))')"
check "a model of departments in a rule file: rules check" "$OB" rules check "$TMP/depts.yaml"
check_fails 66 "--from-store on a directory without a store: exit 66" --match "no broker store" \
    "$OB" rules learn --from-store "$TMP" --out "$TMP/x.obm"

finish
