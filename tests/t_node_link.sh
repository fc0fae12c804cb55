#!/usr/bin/env bash
# t_node_link.sh — the node's end of the link at its edges (issue 6).
#
#   heartbeat) a broker started with --heartbeat-ms 250 and a node with its
#      default (1000 ms): the node adopts the broker's interval from Welcome,
#      and for 3 s neither side logs a flap (the broker "department ... is
#      down", the node a disconnect or reconnect). --heartbeat-ms 0 and
#      nonsense values are refused by the node, as a flag and as a config
#      key, naming the key and the range.
#   handshake) a node whose key is not registered is told so (ZAP refusal:
#      "refused this node's key ... add-department"); a node whose
#      connection is cut mid-handshake (a listener that resets every
#      connection, as a broker killed mid-connection does) is told that, and
#      is not asked whether its key is registered.
#   diskfull) the housing node's store on a small tmpfs, filled up: every
#      clerk act is refused with ERR_STORE, the node says once what happened
#      and what to do, and not once per failure; after space is freed the
#      next act is applied and the node says the store is written again
#      (skipped where tmpfs cannot be mounted).
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

# --- handshake: the likely cause named only when it is the likely one ---------
site_start --depts "housing"
W=$SITE/hs
mkdir -p "$W"
"$BIN/orderbus" keys new "$W/stray.key" >/dev/null
# runs a node for 2 s against ENDPOINT with KEY; its log in $OUT
node_for_2s() {
    run timeout -s TERM 2 "$BIN/orderbus-node" --data "$W/data.$RANDOM" --broker "$1" \
        --broker-key "$SITE/keys/broker.key" --key "$2"
    OUT=$ERR
}
node_for_2s "tcp://127.0.0.1:$NODE_PORT" "$W/stray.key"
check_match "handshake: an unregistered key: the node says the broker refused its key" \
    "refused this node's key \(ZAP status 400\): register the public key of --key with 'orderbus admin add-department'" "$OUT"
check_nomatch "handshake:   and nothing about a dropped connection" 'closed during the handshake' "$OUT"
# a listener that resets each connection once the node's greeting arrives
"$PYTHON" - "$W/port" <<'PY' &
import socket, struct, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
s.settimeout(0.2)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
end = time.time() + 10
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.settimeout(1)
    try:
        c.recv(64)
    except OSError:
        pass
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY
resetter=$!
poll_until 5 test -s "$W/port"
node_for_2s "tcp://127.0.0.1:$(cat "$W/port")" "$SITE/keys/housing.key"
kill "$resetter" 2>/dev/null; wait "$resetter" 2>/dev/null
check_match "handshake: a connection reset mid-handshake is named as such" \
    'connection to tcp://127\.0\.0\.1:[0-9]+ closed during the handshake \((Connection reset by peer|Broken pipe|closed by the peer)\): the broker may be restarting' "$OUT"
check_nomatch "handshake:   and the node is not asked whether its key is registered" \
    'registered|refused' "$OUT"
site_stop

# --- diskfull: said once, then rate-limited; nothing lost ---------------------
site_start --depts "housing"
for i in 1 2 3; do
    run ob submit --title "路灯不亮$i" --content "书院路$i号路灯不亮，夜间出行不便。" \
        --category 城乡建设 --channel web --appeal complaint
    ids[$i]=$(awk '{print $2}' <<<"$OUT")
done
wait_until 15 "diskfull: 3 orders reach housing" \
    bash -c "[[ \$('$BIN/orderbus' --node '$SITE/nodes/housing' --json inbox | '$PYTHON' -c 'import json,sys; print(len(json.load(sys.stdin)))') == 3 ]]"
MNT=$SITE/nodes/housing
mounted=0
site_sh stop-node housing >/dev/null 2>&1
cp -a "$MNT" "$SITE/housing.copy"
if mount -t tmpfs -o size=2m tmpfs "$MNT" 2>/dev/null; then
    mounted=1
    cp -a "$SITE/housing.copy/." "$MNT/"
fi
if (( mounted == 0 )); then
    skip "diskfull: a full disk" "cannot mount a tmpfs here (not root?)"
else
    check "diskfull: the node starts on a 2 MiB tmpfs" site_sh start-node housing
    wait_until 15 "diskfull:   and is up" site_sh wait-up housing
    dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
    mark=$(wc -l <"$SITE/log/housing.log")
    fails=0
    for ((i = 0; i < 20; i++)); do
        run ob_node housing --timeout 2000 sign "${ids[$((i % 3 + 1))]}"
        [[ $RC != 0 ]] && fails=$((fails + 1))
        sleep 0.1
    done
    check_eq "diskfull: 20 clerk signs on a full disk all refused" 20 "$fails"
    check_match "diskfull:   each told the store failed (ERR_STORE, retry)" \
        'store error: .*nothing was applied, retry later' "$ERR"
    log=$(tail -n +"$((mark + 1))" "$SITE/log/housing.log")
    check_match "diskfull: the node says what happened and what to do" \
        "cannot write the store in '.*': No space left on device: the disk holding the store is full: free space there\. The store is intact and nothing acknowledged was lost" "$log"
    check_eq "diskfull:   once, not once per failure" 1 \
        "$(grep -c -E 'error: (still )?cannot write the store|not applied' <<<"$log")"
    rm -f "$MNT/fill"
    check "diskfull: space freed: the next sign is applied" \
        ob_node housing --timeout 5000 sign "${ids[1]}"
    log=$(tail -n +"$((mark + 1))" "$SITE/log/housing.log")
    check_match "diskfull:   and the node says the store is written again" \
        "the store in '.*' is written again \(after [0-9]+ failed batches\)" "$log"
    wait_until 15 "diskfull:   the sign reaches the centre" \
        bash -c "'$BIN/orderbus' --config '$SITE/orderbus.yaml' show ${ids[1]} | grep -q IN_PROGRESS"
    site_sh stop-node housing >/dev/null 2>&1
    umount "$MNT"
fi
finish
