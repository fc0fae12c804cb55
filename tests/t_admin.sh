#!/usr/bin/env bash
# t_admin.sh — the ops commands that set up a site, without daemons:
# `orderbus keys new` and `orderbus admin add-department / add-client /
# list` against a broker store in a temp dir (text and --json, refusals).
. "$(dirname "$0")/lib.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/ob-admin.XXXXXX") || { not_ok "mktemp"; finish; }
trap 'rm -rf "$W"' EXIT
OB=$BIN/orderbus

check "keys new writes a keypair" "$OB" keys new "$W/housing.key" --name housing
check_eq "  the secret key file is private (0600)" 600 "$(stat -c %a "$W/housing.key_secret")"
check_fails 1 "keys new refuses to overwrite" "$OB" keys new "$W/housing.key"
check "keys new for a client" "$OB" keys new "$W/alice.key"

run "$OB" admin add-department housing --name 市住房和城乡建设局 --key "$W/housing.key" --store "$W/broker"
check_eq "add-department into a new store" 0 "$RC"
check_match "  it says the store is new (a mistyped --store is not silent)" \
    "created a new broker store in '$W/broker'" "$ERR"
check_match "  and what it registered" "registered department 'housing'" "$OUT"

run "$OB" --json admin add-client alice --role supervisor --key "$W/alice.key" --store "$W/broker"
check_eq "add-client --json" 0 "$RC"
check_eq "  JSON: who, role, key" "alice SUPERVISOR $(sed -n 's/^public-key *= *"\(.*\)"/\1/p;s/^ *public-key = "\(.*\)"/\1/p' "$W/alice.key" | head -n 1)" \
    "$(json_get registered <<<"$OUT") $(json_get role <<<"$OUT") $(json_get public_key <<<"$OUT")"
check_nomatch "  an existing store is not announced as new" "created a new" "$ERR"

check_fails 1 "the same id twice is refused" --match "already registered" \
    "$OB" admin add-department housing --name X --key "$W/alice.key" --store "$W/broker"
"$OB" keys new "$W/other.key" >/dev/null
check_fails 1 "the same key under another id is refused" --match "already registered as 'housing'" \
    "$OB" admin add-department transport --name 市交通运输局 --key "$W/housing.key" --store "$W/broker"

run "$OB" admin list --store "$W/broker"
check_eq "list" 0 "$RC"
check_match "  the department with its Chinese name" "housing +DEPARTMENT +市住房和城乡建设局" "$OUT"
check_match "  the client" "alice +SUPERVISOR" "$OUT"
run "$OB" --json admin list --store "$W/broker"
check_eq "list --json: two principals" 2 "$(json_len <<<"$OUT")"
check_fails 66 "list of a store that does not exist" "$OB" admin list --store "$W/nosuch"
check_fails 66 "add with a key file that does not exist" \
    "$OB" admin add-department env --name E --key "$W/nosuch.key" --store "$W/broker"
check_fails 64 "an id with a space is refused" \
    "$OB" admin add-department "a b" --name E --key "$W/other.key" --store "$W/broker"

finish
