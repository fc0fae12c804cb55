#!/usr/bin/env bash
# t_node_link.sh — the node's end of the link at its edges (issue 6).
#
#   heartbeat) a broker started with --heartbeat-ms 250 and a node with its
#      default (1000 ms): the node adopts the broker's interval from Welcome,
#      and for 3 s neither side logs a flap (the broker "department ... is
#      down", the node a disconnect or reconnect). --heartbeat-ms 0 and
#      nonsense values are refused by the node, as a flag and as a config
#      key, naming the key and the range.
#
# Prints TAP-like lines (see tests/lib.sh); exits 1 if any check failed.

. "$(dirname "$0")/lib.sh"

# --- heartbeat: the node beats to the broker's interval ----------------------
BROKER_ARGS="--heartbeat-ms 250" site_start --depts "housing"
sleep $((3 * SCALE))
nlog=$(cat "$SITE/log/housing.log")
blog=$(cat "$SITE/log/broker.log")
check_match "heartbeat: the node adopts the broker's 250 ms from Welcome" \
    'heartbeat interval 250 ms, as the broker asks \(was 1000 ms\)' "$nlog"
check_nomatch "heartbeat: the broker never sees housing go down" \
    "department 'housing' is down" "$blog"
check_nomatch "heartbeat: the node never drops the link" \
    'disconnected|reconnecting|unreachable|broker silent' "$nlog"
run ob_node housing --json status
check_eq "heartbeat: the node's status: broker link up" true "$(json_get broker_up <<<"$OUT")"
site_stop

# --- heartbeat: values that mean nothing are refused --------------------------
node_args=(--data "$SITE/x" --broker tcp://127.0.0.1:1 --broker-key "$SITE/keys/broker.key"
           --key "$SITE/keys/housing.key")
for v in 0 -1 49 600001 abc 1e3 ''; do
    check_fails 64 "heartbeat: --heartbeat-ms '$v' refused" \
        --match "--heartbeat-ms '$v' must be an integer from 50 to 600000" \
        "$BIN/orderbus-node" "${node_args[@]}" --heartbeat-ms "$v"
done
printf 'heartbeat_ms: 0\n' >"$SITE/node0.yaml"
check_fails 78 "heartbeat: heartbeat_ms: 0 in a config file refused, naming file:line:col" \
    --match "node0\\.yaml:1:15: 'heartbeat_ms' '0' must be an integer from 50 to 600000" \
    "$BIN/orderbus-node" --config "$SITE/node0.yaml" "${node_args[@]}"
[[ ! -e $SITE/x ]]; check_eq "heartbeat: nothing created by a refused start" 0 $?

finish
