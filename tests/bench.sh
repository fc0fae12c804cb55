#!/usr/bin/env bash
# bench.sh — `make bench`: the durable end-to-end figures. A local site with
# one department (no demo handling), then ob_bench twice: window 1 (one order
# at a time: the latency of one submit -> broker commit -> dispatch -> node
# commit -> DELIVERED at the broker) and window 256 (throughput with many
# orders in flight). Every commit is a real fsync'd LMDB commit.
#
#   BUILD=build tests/bench.sh
#   BENCH_DEPT=housing BENCH_CATEGORY=城乡建设 BENCH_N1=20000 BENCH_N256=20000
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || { [[ -d $BUILD ]] && BUILD=$(cd "$BUILD" && pwd) || BUILD=$REPO/$BUILD; }
export BUILD
BENCH=$BUILD/bin/ob_bench
DEPT=${BENCH_DEPT:-housing}
CATEGORY=${BENCH_CATEGORY:-城乡建设}
N1=${BENCH_N1:-20000}
N256=${BENCH_N256:-20000}
[[ -x $BENCH ]] || { echo "bench: $BENCH is missing (run make)" >&2; exit 1; }

SITE=$(mktemp -d "${TMPDIR:-/tmp}/orderbus-bench.XXXXXX")
cleanup() {
    local rc=$?
    "$REPO/deploy/local-site.sh" stop "$SITE" 2>/dev/null || true
    rm -rf "$SITE"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== orderbus bench: durable end to end (submit -> node commit -> DELIVERED) =="
echo "machine: $(nproc) cores, $(uname -srm), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo '?')"
echo "store: $(df -hT "$SITE" | awk 'NR == 2 {print $2 " on " $7}') (site in $SITE)"
echo

# a map big enough for the run without growing; quiet logs
"$REPO/deploy/local-site.sh" start "$SITE" --depts "$DEPT" \
    --broker-args "${BENCH_BROKER_ARGS:---map-mb 2048 -q}" \
    --node-args "${BENCH_NODE_ARGS:--q}"

rc=0
run() {
    local cmd=("$BENCH" --config "$SITE/orderbus.yaml" --category "$CATEGORY" --dept "$DEPT" "$@")
    echo
    echo "\$ ${cmd[*]}"
    "${cmd[@]}" || rc=$?
}
echo "\$ $BUILD/bin/ob_storebench $SITE"
"$BUILD/bin/ob_storebench" "$SITE" || rc=$?
run --window 1 --orders "$N1"
run --window 256 --orders "$N256"
echo; "$HERE/routebench.sh" || rc=$?
echo; "$HERE/modelbench.sh" || rc=$?
echo
exit "$rc"
