#!/usr/bin/env bash
# t_calendar.sh — the broker's working-day calendar by default: without
# --calendar it loads the year files in calendar/ beside its rule file
# (China's official holidays and make-up days ship there), says which in its
# log, and warns when there are none; --calendar weekdays asks for Monday to
# Friday on purpose. Each broker runs briefly on loopback in a temp dir.
. "$(dirname "$0")/lib.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/ob-calendar.XXXXXX") || { not_ok "mktemp"; finish; }
trap 'rm -rf "$W"' EXIT
"$BIN/orderbus" keys new "$W/broker.key" >/dev/null || { not_ok "keys new"; finish; }

# Starts a broker with "$@", waits until it has logged its start (or died),
# stops it by its pid; the log is in $W/log.
broker_log() {
    rm -rf "$W/data"
    : >"$W/log"   # emptied now: the wait below must not read the last broker's log
    "$BIN/orderbus-broker" --data "$W/data" --key "$W/broker.key" \
        --node-endpoint "ipc://$W/n" --client-endpoint "ipc://$W/c" --event-endpoint "ipc://$W/e" \
        "$@" >"$W/log" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 50 * SCALE; i++)); do
        grep -q 'node link' "$W/log" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    cat "$W/log"
}

log=$(broker_log --rules "$REPO/router-rules/default.yaml")
check_match "no --calendar: the year files beside the rules are loaded" \
    'working-day calendar: [0-9]+ year files \(.*calendar/CN-2025\.yaml \.\. .*calendar/CN-2026\.yaml\)' "$log"
check_nomatch "  and no warning about a missing calendar" 'no working-day calendar' "$log"

cp "$REPO/router-rules/default.yaml" "$REPO/router-rules/taxonomy.csv" "$W/"
mv "$W/default.yaml" "$W/rules.yaml"
log=$(broker_log --rules "$W/rules.yaml")
check_match "rules without a calendar beside them: a warning" \
    'warn: no working-day calendar .*Monday to Friday' "$log"
check_match "  and the broker runs" 'node link' "$log"

log=$(broker_log --rules "$W/rules.yaml" --calendar weekdays)
check_nomatch "--calendar weekdays: weekdays on purpose, no warning" 'no working-day calendar' "$log"
check_nomatch "  and no year file" 'working-day calendar:' "$log"
check_match "  and the broker runs" 'node link' "$log"

log=$(broker_log --rules "$REPO/router-rules/default.yaml" --calendar "$REPO/router-rules/calendar/CN-2026.yaml")
check_match "--calendar FILE: that file only" 'working-day calendar: 1 year file \(.*CN-2026\.yaml\)' "$log"

printf 'year: 2026\nnot a calendar: [\n' >"$W/bad.yaml"
log=$(broker_log --rules "$REPO/router-rules/default.yaml" --calendar "$W/bad.yaml")
check_match "a bad calendar file: the broker refuses to start, naming file:line:column" \
    'cannot start: .*bad\.yaml:[0-9]+:[0-9]+' "$log"

finish
