#!/usr/bin/env bash
# routebench.sh — the routing figure: per-order routing time with 100 and
# with 1,000 generated rules holding 10,000 real Chinese keywords between
# them, over the 495 real messages of the demo data (deploy/data/
# tipdm_demo.jsonl); the ratio of the two. No daemons: the rules engine
# (ob_rules_load, ob_rules_route) in one process. See tests/tools/
# ob_routebench.c for how rules and keywords are made.
#
#   BUILD=build tests/routebench.sh [ob_routebench options]
#   ROUTEBENCH_SECONDS=1 (time per rule set)  ROUTEBENCH_STRICT=1 (exit 1 when
#   the targets, under 10 us/order and a ratio under 3, are missed)
#   ROUTEBENCH_WORDS=FILE.csv (keyword source; default the TipDM sample in
#   shared/data beside the repository, else the orders' own text)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || { [[ -d $BUILD ]] && BUILD=$(cd "$BUILD" && pwd) || BUILD=$REPO/$BUILD; }
BENCH=$BUILD/bin/ob_routebench
[[ -x $BENCH ]] || { echo "routebench: $BENCH is missing (run make)" >&2; exit 1; }

WORDS=${ROUTEBENCH_WORDS:-}
if [[ -z $WORDS ]]; then
    for w in "$REPO/../shared/data/tipdm2020c_messages_sample_labeled.csv"; do
        [[ -r $w ]] && { WORDS=$w; break; }
    done
fi

cmd=("$BENCH" --orders "$REPO/deploy/data/tipdm_demo.jsonl"
     --taxonomy "$REPO/router-rules/taxonomy.csv"
     --seconds "${ROUTEBENCH_SECONDS:-1}")
[[ -n $WORDS ]] && cmd+=(--words "$WORDS")
[[ ${ROUTEBENCH_STRICT:-0} == 1 ]] && cmd+=(--strict)
cmd+=("$@")

echo "== orderbus bench: routing (rules engine, in process) =="
echo "\$ ${cmd[*]}"
exec "${cmd[@]}"
