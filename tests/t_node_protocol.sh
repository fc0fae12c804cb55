#!/usr/bin/env bash
# t_node_protocol.sh — the department node's link and local service against
# a fake broker: $BIN/ob_nodetest (tests/tools/ob_nodetest.c) runs the real
# orderbus-node and plays the broker and the clerk by hand: Hello, acks,
# duplicates, gaps, resend, window, reconnect, restart, demo mode, the local
# service's InboxRequest (ref, all, after_id paging) and its errors.
#
# The fake broker listens on a free loopback port (not listening per
# `ss -ltn`, picked at random). ob_nodetest prints the TAP-like lines itself;
# this script exits non-zero when any check failed or the tool did not run.

. "$(dirname "$0")/lib.sh"

TOOL=$BIN/ob_nodetest
if [[ ! -x $TOOL || ! -x $BIN/orderbus-node ]]; then
    not_ok "ob_nodetest and orderbus-node are built" "missing in $BIN (run make)"
    exit 1
fi

# A loopback TCP port nothing listens on.
free_port() {
    local used port tries=0
    used=$(ss -ltnH 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    while (( tries++ < 1000 )); do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
        grep -qx "$port" <<<"$used" || { echo "$port"; return 0; }
    done
    return 1
}

port=$(free_port) || { not_ok "a free loopback port"; exit 1; }
BUILD=${BIN%/bin} "$TOOL" "$port"
rc=$?
if (( rc != 0 )); then
    # a tool that died without saying which check failed still fails here
    echo "not ok - ob_nodetest exited with status $rc"
    exit 1
fi
exit 0
