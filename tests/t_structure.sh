#!/usr/bin/env bash
# t_structure.sh — the layout's promises (LAYOUT.md), checked on the built
# tree: an order's state is written only by lib/ob_fsm.c; no production
# function over 100 lines; no circle of calls between the files of broker/
# or of nodes/ (from the symbols their objects define and use); each
# main.c under 80 lines.
. "$(dirname "$0")/lib.sh"

PY=$REPO/tests/tools/structure.py
run python3 "$PY" states "$REPO/lib" "$REPO/broker" "$REPO/nodes"
check_eq "an order's state is assigned only in lib/ob_fsm.c" "" "$OUT"
run python3 "$PY" lengths "$REPO/lib" "$REPO/broker" "$REPO/nodes" "$REPO/cli"
check_eq "no production function over 100 lines" "" "$OUT"
run bash -c "cd '$REPO' && python3 '$PY' cycles '$(dirname "$BIN")' broker nodes"
check_eq "no circle of calls between the files of broker/ or nodes/" "" "$OUT"
run python3 "$PY" mains "$REPO/broker/main.c" "$REPO/nodes/main.c" "$REPO/cli/main.c"
check_eq "each main.c under 80 lines" "" "$OUT"
finish
