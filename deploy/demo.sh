#!/usr/bin/env bash
# demo.sh — `make demo`: a whole orderbus site on this machine, fed with 495
# real citizen messages (TipDM 2020 C, deploy/data/tipdm_demo.jsonl), handled
# end to end: the departments' nodes run in demo-auto mode (sign, progress,
# sometimes return, reply), `orderbus demo centre` plays the hotline centre
# (review, callback, return approvals). Everything runs in a temporary
# directory that is removed at the end; every process started is stopped.
#
#   BUILD=build deploy/demo.sh [--keep]     (--keep: leave the site directory)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || { [[ -d $BUILD ]] && BUILD=$(cd "$BUILD" && pwd) || BUILD=$REPO/$BUILD; }
export BUILD
BIN=$BUILD/bin
DATA=${DEMO_DATA:-$HERE/data/tipdm_demo.jsonl}
KEEP=0
[[ ${1:-} == --keep ]] && KEEP=1

for b in orderbus orderbus-broker orderbus-node; do
    [[ -x $BIN/$b ]] || { echo "demo: $BIN/$b is missing (run make)" >&2; exit 1; }
done
[[ -r $DATA ]] || { echo "demo: cannot read '$DATA'" >&2; exit 66; }
N=$(grep -c '[^[:space:]]' "$DATA")

SITE=$(mktemp -d "${TMPDIR:-/tmp}/orderbus-demo.XXXXXX")
cleanup() {
    local rc=$?
    "$HERE/local-site.sh" stop "$SITE" 2>/dev/null || true
    if (( KEEP )); then echo "demo: site kept in $SITE"; else rm -rf "$SITE"; fi
    exit "$rc"
}
trap cleanup EXIT
# the long steps run in the background so that a signal is handled at once
CHILD=""
on_signal() {
    if [[ -n $CHILD ]]; then kill -TERM "$CHILD" 2>/dev/null || true; fi
    exit 130
}
trap on_signal INT TERM

cat <<EOF
== orderbus demo ==========================================================
A hotline centre (orderbus-broker) and one node per department of
router-rules/default.yaml (orderbus-node --demo-auto: each signs, reports
progress, sometimes returns, and replies), all on 127.0.0.1, in
$SITE.
$N real citizen messages from $(basename "$DATA") are submitted without
their category, routed by keyword rules and a model trained on other
messages (the rest to a dispatcher with the model's suggestions), and handled
to the end; \`orderbus demo centre\` plays the centre: it routes what waits
for a dispatcher, reviews replies, calls citizens back, approves returns.
===========================================================================
EOF

# Routing: the keyword rules first (router-rules/examples/tipdm-keywords.yaml),
# then a model trained on 5,765 other labelled messages (never these), then a
# dispatcher with the model's 3 suggestions. The orders go without their
# category, as a citizen's message comes in.
RULES=$REPO/router-rules/default.yaml
TRAIN_GZ=$HERE/data/tipdm_train_heldout.csv.gz
if [[ ${DEMO_MODEL:-1} == 1 && -r $TRAIN_GZ ]]; then
    R=$SITE/routing
    mkdir -p "$R"
    gunzip -c "$TRAIN_GZ" >"$R/train.csv"
    cp "$REPO/router-rules/examples/tipdm-keywords.yaml" "$R/rules.yaml"
    echo "-- training the routing model: orderbus rules learn --from tipdm_train_heldout.csv --rules tipdm-keywords.yaml"
    "$BIN/orderbus" rules learn --from "$R/train.csv" --rules "$R/rules.yaml" --folds 3 \
        --out "$R/model.obm" >"$R/learn.out" 2>&1 || { cat "$R/learn.out" >&2; exit 1; }
    grep -E '^(cross|threshold|model):' "$R/learn.out" | sed 's/^/   /'
    threshold=$(sed -nE 's/.*`threshold: ([0-9.]+)`.*/\1/p' "$R/learn.out")
    printf 'model: model.obm\nthreshold: %s\n' "${threshold:-0.75}" >>"$R/rules.yaml"
    python3 -c 'import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    if l.strip():
        o = json.loads(l); o.pop("category", None); print(json.dumps(o, ensure_ascii=False))' \
        "$DATA" >"$R/orders.jsonl"
    RULES=$R/rules.yaml
    DATA=$R/orders.jsonl
    echo
fi

echo "-- starting the site"
# the departments take their time (0.3-4 s a step) so that the flow can be watched
"$HERE/local-site.sh" start "$SITE" --rules "$RULES" --demo-auto \
    --node-args "${DEMO_NODE_ARGS---demo-delay-ms 300:4000 -q}"
OB=("$BIN/orderbus" --config "$SITE/orderbus.yaml")
"${OB[@]}" status || true

echo
echo "-- submitting $N orders: orderbus submit --batch $(basename "$DATA")"
set +e
"${OB[@]}" submit --batch "$DATA" >"$SITE/submit.out" 2>"$SITE/submit.err"
src=$?
set -e
head -n 5 "$SITE/submit.out"
echo "   ..."
tail -n 1 "$SITE/submit.out"
if (( src != 0 )); then
    echo "demo: submit --batch exited $src:" >&2
    tail -n 20 "$SITE/submit.err" >&2
    exit "$src"
fi

# an intake's external reference is its idempotency key: a message that
# appears twice in the source under the same id is registered once
M=$(grep -oE '[0-9]{8}-[0-9]{6}' "$SITE/submit.out" | sort -u | wc -l)
if (( M != N )); then
    echo "   $N lines, $M orders: $((N - M)) line(s) repeat a message id already submitted" \
         "(external_ref), answered with the order registered for it"
fi

manual=$(grep -c 'PENDING_MANUAL' "$SITE/submit.out" || true)
if (( manual > 0 )); then
    echo "   $manual order(s) the rules and the model were not sure of wait for a dispatcher;"
    echo "   the first, with the model's suggestions (the demo centre takes suggestion 1):"
    first=$(grep -m1 'PENDING_MANUAL' "$SITE/submit.out" | grep -oE '[0-9]{8}-[0-9]{6}' | head -n 1)
    "${OB[@]}" show "$first" | grep -E '^(case no|title|routing model|suggestion)' | sed 's/^/     /'
fi

echo
echo "-- the centre at work: orderbus demo centre --expect $M"
set +e
"${OB[@]}" demo centre --expect "$M" --timeout "${DEMO_TIMEOUT:-100}" &
CHILD=$!
wait "$CHILD"
rc=$?
CHILD=""
set -e
echo
if (( rc == 0 )); then
    echo "demo: done. Try it by hand: deploy/local-site.sh start /tmp/mysite --demo-auto"
else
    echo "demo: the centre exited $rc; logs:" >&2
    for f in "$SITE"/log/*.log; do echo "---- $f" >&2; tail -n 5 "$f" >&2; done
fi
exit "$rc"
