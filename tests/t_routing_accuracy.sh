#!/usr/bin/env bash
# t_routing_accuracy.sh — routing measured on real data (issue 3).
#
# Replays real requests through `orderbus --json rules test FILE --batch` and
# compares the department chosen with what really happened:
#   - NYC 311 (tests/data/nyc311_orders.jsonl, 4,999 requests of 2023-02-28,
#     made by tests/data/make_nyc311.py) through
#     router-rules/examples/nyc311.yaml, against the real Agency column
#     (tests/data/nyc311_expected.tsv; the five complaint types that several
#     agencies handle in the sample count right for any of them). Target:
#     at least 99% right.
#   - the 495 labelled TipDM messages (deploy/data/tipdm_demo.jsonl) with
#     their category removed, through router-rules/examples/tipdm-keywords.yaml
#     (keywords of the title, and of title and content, only). The expected
#     department is the one router-rules/default.yaml gives the message's
#     label (一级分类). Targets: misrouted at most 5% (what the rules cannot
#     decide must go to PENDING_MANUAL), and at least TIP_RIGHT_MIN right: a
#     floor a few points under the 87.3% the file reaches (issue 3 aims at
#     80%), so that a regression of the rules or of the engine fails. The
#     odd/even-line split is reported alongside (see
#     router-rules/examples/README.md).
# Both rule files must pass `orderbus rules check` without errors or warnings.
# No site is started: `rules test` runs the engine in the CLI.
. "$(dirname "$0")/lib.sh"

OB=$BIN/orderbus
NYC_RULES=$REPO/router-rules/examples/nyc311.yaml
NYC_ORDERS=$REPO/tests/data/nyc311_orders.jsonl
NYC_EXPECT=$REPO/tests/data/nyc311_expected.tsv
NYC_CSV=${NYC_CSV:-$REPO/../shared/data/nyc311_sample_2023-02-28.csv}
TIP_RULES=$REPO/router-rules/examples/tipdm-keywords.yaml
TIP_LABELS=$REPO/router-rules/default.yaml
TIP_ORDERS=$REPO/deploy/data/tipdm_demo.jsonl
NYC_MIN=99
TIP_MISROUTED_MAX=5
TIP_RIGHT_MIN=84

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ob-routing.XXXXXX") || { not_ok "mktemp"; finish; }
trap 'rm -rf "$TMP"' EXIT

# --- the command must exist -------------------------------------------------------

# `rules test` on one known order: JSON with a "decision" key, else the
# command is missing (or broken) and nothing below can be measured.
printf '%s\n' '{"title":"t","content":"c","category":["城乡建设"]}' >"$TMP/probe.jsonl"
run "$OB" --json rules test "$TIP_LABELS" --batch "$TMP/probe.jsonl"
if (( RC != 0 )) || ! grep -q '"decision"' <<<"$OUT"; then
    not_ok "orderbus rules test --batch --json exists (needed to measure routing)" \
        "$(_seen "$OB" --json rules test "$TIP_LABELS" --batch "$TMP/probe.jsonl")"
    finish
fi
ok "orderbus rules test --batch --json exists"

# --- rule files are clean ---------------------------------------------------------

for f in "$NYC_RULES" "$TIP_RULES"; do
    run "$OB" rules check "$f"
    if (( RC == 0 )) && ! grep -Eq '(error|warning):' <<<"$OUT"$'\n'"$ERR"; then
        ok "rules check $(basename "$f"): no error, no warning"
    else
        not_ok "rules check $(basename "$f"): no error, no warning" "$(_seen "$OB" rules check "$f")"
    fi
done

# --- NYC 311 ----------------------------------------------------------------------

# The committed orders are what make_nyc311.py makes of the CSV (when the CSV
# is at hand: it is not part of the repository).
if [[ -r $NYC_CSV ]]; then
    run python3 "$REPO/tests/data/make_nyc311.py" "$NYC_CSV" "$TMP"
    if (( RC == 0 )) && cmp -s "$TMP/nyc311_orders.jsonl" "$NYC_ORDERS" \
        && cmp -s "$TMP/nyc311_expected.tsv" "$NYC_EXPECT"; then
        ok "tests/data/nyc311_* are what make_nyc311.py makes of the CSV"
    else
        not_ok "tests/data/nyc311_* are what make_nyc311.py makes of the CSV" \
            "$(_seen python3 tests/data/make_nyc311.py "$NYC_CSV" "$TMP")"
    fi
else
    skip "tests/data/nyc311_* are what make_nyc311.py makes of the CSV" "no $NYC_CSV"
fi

# shellcheck disable=SC2016
NYC_PY='
import json, sys
out, expect = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t") for l in open(expect, encoding="utf-8") if not l.startswith("#")]
got = {}
for l in open(out, encoding="utf-8"):
    if l.strip():
        o = json.loads(l)
        got[o["line"]] = o
n = len(rows)
right = strict = manual = bad = 0
wrong = {}
for line, key, agency, accepted in rows:
    o = got.get(int(line))
    if o is None or o.get("decision") == "error":
        bad += 1
        continue
    lead = (o.get("lead") or "").upper() if o.get("decision") == "dispatch" else None
    if lead is None:
        manual += 1
    if lead in accepted.split(","):
        right += 1
    else:
        k = "%s -> %s" % (agency, lead or "MANUAL")
        wrong[k] = wrong.get(k, 0) + 1
    if lead == agency:
        strict += 1
print("%d %.2f %.2f %d %d" % (n, 100.0 * right / n, 100.0 * strict / n, manual, bad))
for k, v in sorted(wrong.items(), key=lambda kv: -kv[1])[:10]:
    print("%5d  %s" % (v, k))
'

run "$OB" --json rules test "$NYC_RULES" --batch "$NYC_ORDERS"
echo "$OUT" >"$TMP/nyc.out"
nyc_lines=$(grep -c . "$TMP/nyc.out")
if (( RC == 0 )) && [[ $nyc_lines == $(grep -vc '^#' "$NYC_EXPECT") ]]; then
    ok "nyc311: rules test --batch answers every order ($nyc_lines lines)"
else
    not_ok "nyc311: rules test --batch answers every order" "lines: $nyc_lines" \
        "exit status $RC" "$(head -n 5 <<<"$ERR")"
fi
run python3 -c "$NYC_PY" "$TMP/nyc.out" "$NYC_EXPECT"
read -r n acc strict manual bad <<<"$(head -n 1 <<<"$OUT")"
detail=$(tail -n +2 <<<"$OUT")
if [[ -z ${n:-} || -z ${acc:-} ]]; then
    not_ok "nyc311: accuracy computed" "$OUT" "$ERR"
else
    msg="nyc311: $n rows, accuracy $acc% (real agency only: $strict%; manual $manual, invalid $bad)"
    if python3 -c "import sys; sys.exit(0 if float('$acc') >= $NYC_MIN else 1)"; then
        ok "$msg >= $NYC_MIN%"
    else
        not_ok "$msg >= $NYC_MIN%" "most frequent misses (real -> routed):" "$detail"
    fi
    [[ -n $detail ]] && diag "nyc311 misses (real -> routed):"$'\n'"$detail"
fi

# --- TipDM keywords ---------------------------------------------------------------

# The orders without their category (keywords of title and content only).
python3 - "$TIP_ORDERS" "$TMP/tip_nocat.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as g:
    for line in f:
        if line.strip():
            o = json.loads(line)
            o.pop("category", None)
            g.write(json.dumps(o, ensure_ascii=False) + "\n")
PY

run "$OB" --json rules test "$TIP_LABELS" --batch "$TIP_ORDERS"
echo "$OUT" >"$TMP/tip_expect.out"
rc_expect=$RC
run "$OB" --json rules test "$TIP_RULES" --batch "$TMP/tip_nocat.jsonl"
echo "$OUT" >"$TMP/tip.out"
if (( rc_expect == 0 && RC == 0 )); then
    ok "tipdm: rules test --batch runs on labelled and unlabelled orders"
else
    not_ok "tipdm: rules test --batch runs on labelled and unlabelled orders" \
        "exit status (labels) $rc_expect, (keywords) $RC" "$(head -n 5 <<<"$ERR")"
fi

# shellcheck disable=SC2016
TIP_PY='
import json, sys
def load(p):
    d = {}
    for l in open(p, encoding="utf-8"):
        if l.strip():
            o = json.loads(l)
            d[o["line"]] = o
    return d
exp, got = load(sys.argv[1]), load(sys.argv[2])
n = len(exp)
unlabelled = sum(1 for o in exp.values() if o.get("decision") != "dispatch")
right = wrong = manual = 0
conf = {}
half = {1: [0, 0, 0], 0: [0, 0, 0]}  # odd / even lines: n, right, wrong
for line, e in sorted(exp.items()):
    g = got.get(line, {})
    want = e.get("lead")
    lead = g.get("lead") if g.get("decision") == "dispatch" else None
    h = half[line % 2]
    h[0] += 1
    if lead is None:
        manual += 1
    elif lead == want:
        right += 1
        h[1] += 1
    else:
        wrong += 1
        h[2] += 1
        k = "%s -> %s" % (want, lead)
        conf[k] = conf.get(k, 0) + 1
pc = lambda x: 100.0 * x / n if n else 0.0
print("%d %.1f %.1f %.1f %d" % (n, pc(right), pc(wrong), pc(manual), unlabelled))
hp = lambda h, i: 100.0 * h[i] / h[0] if h[0] else 0.0
print("odd lines %.1f%% right, %.1f%% misrouted; even lines %.1f%% right, %.1f%% misrouted"
      % (hp(half[1], 1), hp(half[1], 2), hp(half[0], 1), hp(half[0], 2)))
for k, v in sorted(conf.items(), key=lambda kv: -kv[1])[:8]:
    print("%5d  %s" % (v, k))
'
run python3 -c "$TIP_PY" "$TMP/tip_expect.out" "$TMP/tip.out"
read -r n right wrong manual unlabelled <<<"$(head -n 1 <<<"$OUT")"
split=$(sed -n 2p <<<"$OUT")
detail=$(tail -n +3 <<<"$OUT")
if [[ -z ${n:-} || -z ${wrong:-} ]]; then
    not_ok "tipdm: figures computed" "$OUT" "$ERR"
else
    check_eq "tipdm: default.yaml gives every labelled message a department" 0 "$unlabelled"
    msg="tipdm: $n messages, right $right%, misrouted $wrong%, manual $manual%"
    if python3 -c "import sys; sys.exit(0 if float('$wrong') <= $TIP_MISROUTED_MAX else 1)"; then
        ok "$msg (misrouted <= $TIP_MISROUTED_MAX%)"
    else
        not_ok "$msg (misrouted <= $TIP_MISROUTED_MAX%)" "misrouted (label -> routed):" "$detail"
    fi
    if python3 -c "import sys; sys.exit(0 if float('$right') >= $TIP_RIGHT_MIN else 1)"; then
        ok "tipdm: right $right% >= $TIP_RIGHT_MIN% (the rules decide, not only PENDING_MANUAL)"
    else
        not_ok "tipdm: right $right% >= $TIP_RIGHT_MIN% (the rules decide, not only PENDING_MANUAL)"
    fi
    [[ -n $split ]] && diag "tipdm: $split"
    [[ -n $detail ]] && diag "tipdm misrouted (label -> routed):"$'\n'"$detail"
fi

finish
