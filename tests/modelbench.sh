#!/usr/bin/env bash
# modelbench.sh — the routing model's figures (issue 9): per-order prediction
# (title + 1 KiB content, top 3), explain, model load time and memory, over
# the 495 real messages of the demo data. The model is trained here with the
# shipped parameters on the TipDM training file (../shared/data/
# tipdm2020c_train.csv beside the repository: the size a centre would run),
# else on the 280-row sample the tests use (a smaller model: said so).
# See tests/tools/ob_modelbench.c.
#
#   BUILD=build tests/modelbench.sh [ob_modelbench options]
#   MODELBENCH_TRAIN=FILE (training data)  MODELBENCH_MODEL=FILE (use this model)
#   MODELBENCH_SECONDS=1  MODELBENCH_STRICT=1 (exit 1 at 50 us/order or more)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || { [[ -d $BUILD ]] && BUILD=$(cd "$BUILD" && pwd) || BUILD=$REPO/$BUILD; }
BENCH=$BUILD/bin/ob_modelbench
[[ -x $BENCH ]] || { echo "modelbench: $BENCH is missing (run make)" >&2; exit 1; }

cmd=("$BENCH" --orders "$REPO/deploy/data/tipdm_demo.jsonl" --seconds "${MODELBENCH_SECONDS:-1}")
if [[ -n ${MODELBENCH_MODEL:-} ]]; then
    cmd+=(--model "$MODELBENCH_MODEL")
else
    train=${MODELBENCH_TRAIN:-$REPO/../shared/data/tipdm2020c_train.csv}
    if [[ ! -r $train ]]; then
        echo "modelbench: $train is absent: training on the test sample (a smaller model)"
        train=$REPO/tests/data/tipdm_learn_sample.csv
    fi
    cmd+=(--train "$train")
fi
[[ ${MODELBENCH_STRICT:-0} == 1 ]] && cmd+=(--strict)
cmd+=("$@")

echo "== orderbus bench: routing model (in process) =="
echo "\$ ${cmd[*]}"
exec "${cmd[@]}"
