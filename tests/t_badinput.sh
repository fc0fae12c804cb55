#!/usr/bin/env bash
# t_badinput.sh — bad input everywhere, and the site carries on: malformed
# frames, random garbage, an unknown protocol version, oversize and
# multi-frame messages on the broker's client service, the node link and a
# node's local service (tests/tools/ob_rawsend); unregistered keys; unknown
# orders; invalid CLI arguments; bad and missing input files; a batch with
# bad lines. At the end every process still runs and an order still goes
# through end to end.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RAW=$BIN/ob_rawsend
WAIT_MS=$((3000 * SCALE))
DEPTS_ALL="commerce education environment health housing hrss transport"

site_start

# --- raw frames -------------------------------------------------------------------

# raw_case WHERE DESC EXPECT_RE RAWSEND-ARGS...: one rawsend, a reply matching
# EXPECT_RE ("answer CODE" on services, "error CODE" on the node link)
raw_case() {
    local where=$1 desc=$2 re=$3; shift 3
    local ep keys=()
    case $where in
        client) ep=$CLIENT_ENDPOINT
                keys=(--server-key "$SITE/keys/broker.key" --key "$SITE/keys/dispatcher.key") ;;
        node)   ep=$NODE_ENDPOINT
                keys=(--server-key "$SITE/keys/broker.key" --key "$SITE/keys/commerce.key") ;;
        local)  ep=ipc://$SITE/nodes/housing/node.sock ;;
    esac
    check_fails 0 "$where: $desc" --match "$re" "$RAW" "${keys[@]}" --wait "$WAIT_MS" "$@" "$ep"
}

for where in client node local; do
    case $where in client|local) a=answer ;; node) a=error ;; esac
    raw_case "$where" "random garbage answered BAD_REQUEST" "reply: $a BAD_REQUEST" --garbage 200
    raw_case "$where" "one garbage byte answered" "reply: $a (BAD_REQUEST|UNSUPPORTED_VERSION)" --hex ff
    raw_case "$where" "an empty frame answered" "reply: $a (BAD_REQUEST|UNSUPPORTED_VERSION)" --garbage 0
    raw_case "$where" "a truncated envelope answered BAD_REQUEST" "reply: $a BAD_REQUEST" --size 20
    raw_case "$where" "version 7 answered UNSUPPORTED_VERSION" "reply: $a UNSUPPORTED_VERSION" --version 7
    raw_case "$where" "version 0 answered UNSUPPORTED_VERSION" "reply: $a UNSUPPORTED_VERSION" --version 0
    raw_case "$where" "a 3-byte msg_id answered BAD_REQUEST" "reply: $a BAD_REQUEST" --msgid-len 3
    raw_case "$where" "an envelope without a body answered BAD_REQUEST" "reply: $a BAD_REQUEST" --body none
    raw_case "$where" "a 2 MiB frame answered TOO_LARGE" "reply: $a TOO_LARGE" --size 2097152
    raw_case "$where" "1 MiB + 1 byte answered TOO_LARGE" "reply: $a TOO_LARGE" --size 1048577
    raw_case "$where" "a 3-frame message answered BAD_REQUEST" "reply: $a BAD_REQUEST" --frames 3
    raw_case "$where" "a 2-frame message of garbage answered BAD_REQUEST" "reply: $a BAD_REQUEST" \
        --frames 2 --garbage 64
done
raw_case client "a valid status request is answered OK" "reply: answer OK" --body status
raw_case client "exactly 1 MiB (padded with an unknown field) is accepted" "reply: answer OK" --size 1048576
raw_case client "a node-link body on the client service answered BAD_REQUEST" "reply: answer BAD_REQUEST" --body hello
raw_case local "a valid status request is answered OK" "reply: answer OK" --body status
raw_case local "a node-link body on the local service answered BAD_REQUEST" "reply: answer BAD_REQUEST" --body hello
raw_case node "a client body on the node link answered BAD_REQUEST" "reply: error BAD_REQUEST" --body status

# a burst of garbage of random sizes on every endpoint: every frame is
# answered, with a refusal (--wait lets the Curve handshake finish so that
# the frame is really sent); one "EXIT-STATUS REPLY" line a frame in FILE
burst() {
    local out=$1 _i r rc
    shift
    for _i in $(seq 1 15); do
        r=$("$RAW" "$@" --quiet --wait "$WAIT_MS" --garbage $((RANDOM % 5000)) 2>&1)
        rc=$?
        printf '%s %s\n' "$rc" "$(head -n 1 <<<"$r")" >>"$out"
    done
}
: >"$SITE/burst.client" >"$SITE/burst.node" >"$SITE/burst.local"
burst "$SITE/burst.client" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/dispatcher.key" "$CLIENT_ENDPOINT" &
burst "$SITE/burst.node" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/commerce.key" "$NODE_ENDPOINT" &
burst "$SITE/burst.local" "ipc://$SITE/nodes/housing/node.sock" &
wait
for where in client node local; do
    case $where in client|local) a=answer ;; node) a=error ;; esac
    # a random frame that happens to be a valid envelope is not impossible,
    # only far less likely than anything else going wrong
    bad=$(grep -Evc "^0 reply: $a (BAD_REQUEST|UNSUPPORTED_VERSION): " "$SITE/burst.$where")
    check_eq "$where: 15 garbage frames of random sizes, each answered with a refusal" \
        "15 0" "$(wc -l <"$SITE/burst.$where" | tr -d ' ') $bad"
    (( bad == 0 )) || diag "$(grep -Ev "^0 reply: $a (BAD_REQUEST|UNSUPPORTED_VERSION): " "$SITE/burst.$where" | head -n 5)"
done
check "the broker still runs after the garbage" site_alive broker
check "node housing still runs after the garbage on its local service" site_alive housing

# The envelope fuzz corpus (tests/fuzz/corpus/fuzz_envelope): files named
# bad_*, garbage_*, trunc_* and empty are broken envelopes and must be
# refused by the decoder (ob_wire_decode); every other file is a valid
# envelope whose body its name says (BODY or BODY_*, e.g. answer_list is an
# answer) and must decode to it. A decoder that refused everything, or took
# anything, fails here (the replay in tests/run.sh only shows that nothing
# crashes).
corpus=$REPO/tests/fuzz/corpus/fuzz_envelope
corpus_valid=() corpus_broken=() corpus_wrong=()
declare -A corpus_body=() corpus_refusal=()
for f in "$corpus"/*; do
    [[ -f $f ]] || continue
    n=$(basename "$f")
    r=$("$RAW" --decode --file "$f" 2>&1)
    rc=$?
    case $n in
        bad_*|garbage_*|trunc_*|empty)
            if (( rc == 3 )) && [[ $r =~ ^refused:\ ([A-Z_]+): ]]; then
                corpus_broken+=("$n"); corpus_refusal[$n]=${BASH_REMATCH[1]}
            else
                corpus_wrong+=("$n (broken, must be refused): exit $rc, $r")
            fi ;;
        *)
            if (( rc == 0 )) && [[ $r =~ ^decoded:\ ([a-z_]+)\  ]] &&
                [[ $n == "${BASH_REMATCH[1]}" || $n == "${BASH_REMATCH[1]}"_* ]]; then
                corpus_valid+=("$n"); corpus_body[$n]=${BASH_REMATCH[1]}
            else
                corpus_wrong+=("$n (valid, must decode to the body its name says): exit $rc, $r")
            fi ;;
    esac
done
if (( ${#corpus_wrong[@]} == 0 && ${#corpus_valid[@]} >= 20 && ${#corpus_broken[@]} >= 5 )); then
    ok "envelope corpus: the ${#corpus_valid[@]} valid envelopes decode, each to its body; the ${#corpus_broken[@]} broken ones are refused"
else
    not_ok "envelope corpus: the valid envelopes (at least 20) decode, each to its body; the broken ones (at least 5) are refused" \
        "valid and decoded: ${#corpus_valid[@]}, broken and refused: ${#corpus_broken[@]}" \
        "$(printf '%s\n' "${corpus_wrong[@]}")"
fi

# The corpus sent to the client service and to a node's local service
# (submits are left out: they would make orders): every file is answered; a
# broken one with the decoder's refusal; a valid one as a request, not as a
# broken frame: OK, NOT_FOUND, or BAD_REQUEST naming its body as a request
# this service does not serve.
for where in client local; do
    if [[ $where == client ]]; then
        ep=$CLIENT_ENDPOINT keys=(--server-key "$SITE/keys/broker.key" --key "$SITE/keys/dispatcher.key")
    else
        ep=ipc://$SITE/nodes/housing/node.sock keys=()
    fi
    sent=0 wrong=()
    for n in "${corpus_valid[@]}" "${corpus_broken[@]}"; do
        [[ $n == submit* ]] && continue
        r=$("$RAW" "${keys[@]}" --quiet --wait "$WAIT_MS" --file "$corpus/$n" "$ep" 2>&1)
        rc=$?
        sent=$((sent + 1))
        r=$(head -n 1 <<<"$r")
        if [[ -n ${corpus_refusal[$n]:-} ]]; then
            [[ $rc == 0 && $r == "reply: answer ${corpus_refusal[$n]}: "* ]] ||
                wrong+=("$n: expected the refusal ${corpus_refusal[$n]}, got (exit $rc) $r")
        else
            b=${corpus_body[$n]}
            [[ $rc == 0 && ( $r =~ ^reply:\ answer\ (OK|NOT_FOUND): ||
                $r == "reply: answer BAD_REQUEST: request '$b' is not served"* ) ]] ||
                wrong+=("$n: expected an answer to a '$b' request, got (exit $rc) $r")
        fi
    done
    if (( ${#wrong[@]} == 0 && sent > 0 )); then
        ok "$where service answers each of the $sent corpus files as it decodes"
    else
        not_ok "$where service answers each corpus file as it decodes" "$sent sent" "$(printf '%s\n' "${wrong[@]}")"
    fi
done

# --- keys -------------------------------------------------------------------------

check "a fresh keypair" "$BIN/orderbus" keys new "$SITE/keys/stranger.key" --name stranger
check_fails 2 "client service: an unregistered key gets no answer" \
    "$RAW" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/stranger.key" --wait 1500 "$CLIENT_ENDPOINT"
check_fails 2 "node link: an unregistered key gets no answer" \
    "$RAW" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/stranger.key" --wait 1500 --body hello "$NODE_ENDPOINT"
check_fails 2 "node link: a client's key is refused" \
    "$RAW" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/dispatcher.key" --wait 1500 --body hello "$NODE_ENDPOINT"
check_fails 2 "client service: a department's key is refused" \
    "$RAW" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/health.key" --wait 1500 "$CLIENT_ENDPOINT"
t0=$SECONDS
check_fails 69 "CLI with an unregistered key: exit 69 after its --timeout" --match 'no answer' \
    ob --key "$SITE/keys/stranger.key" --timeout 1500 status
check_match "  ... and quickly (within 5 s)" '^[0-5]$' "$((SECONDS - t0))"
check_fails 69 "CLI with a wrong broker key: exit 69" \
    ob --broker-key "$SITE/keys/stranger.key" --timeout 1000 status
wait_until 5 "broker log: the key was refused" grep -Eq 'refused key .*client' "$SITE/log/broker.log"
check "broker log: the refusal names the node endpoint too" grep -Eq 'refused key .*node' "$SITE/log/broker.log"

# --- unknown orders ---------------------------------------------------------------

for cmd in show trace; do
    check_fails 1 "$cmd of an unknown order id: exit 1, no order" --match 'no order' \
        ob "$cmd" 0123456789abcdef0123456789abcdef
    check_fails 1 "$cmd of an unknown case number: exit 1, no order" --match 'no order' \
        ob "$cmd" 20200101-000999
done
check_fails 1 "route of an unknown order: no order" --match 'no order' ob route 20200101-000999 --dept health
check_fails 1 "deny-return of an unknown order: no order" --match 'no order' ob deny-return 0123456789abcdef0123456789abcdef
check_fails 1 "review of an unknown order: no order" --match 'no order' ob review 20200101-000999 --accept
check_fails 1 "callback of an unknown order: no order" --match 'no order' \
    ob callback 20200101-000999 --satisfaction satisfied
check_fails 1 "show --json of an unknown order: exit 1" ob --json show 20200101-000999
check_fails 1 "clerk sign of an unknown order id: exit 1" --match 'no order|not in' \
    ob_node housing sign 0123456789abcdef0123456789abcdef
check_fails 1 "clerk reply of an unknown case number: exit 1" --match 'no order|not in' \
    ob_node housing reply 20200101-000999 --result resolved --note x

# --- invalid arguments ------------------------------------------------------------

check_fails 64 "broker --heartbeat-ms 0 refused: 64" --match 'heartbeat-ms .*50 to 600000' \
    "$BIN/orderbus-broker" --heartbeat-ms 0 --data "$SITE/never"
check_fails 64 "broker --heartbeat-ms 10000000 refused: 64" --match 'heartbeat-ms .*must be' \
    "$BIN/orderbus-broker" --heartbeat-ms 10000000 --data "$SITE/never"
check_fails 64 "unknown command: 64" ob frobnicate
check_fails 64 "unknown global option: 64" ob --frobnicate status
check_fails 64 "show without ID: 64" ob show
check_fails 64 "show of a malformed ID: 64" ob show nothex
check_fails 64 "show of a 31-hex ID: 64" ob show 0123456789abcdef0123456789abcde
check_fails 64 "show with two IDs: 64" ob show 20200101-000001 20200101-000002
check_fails 64 "submit with a bad --urgency: 64" ob submit --urgency whatever --title x --content y
check_fails 64 "submit with --lat out of range: 64" ob submit --lat 91 --lon 10 --title t --content c
check_fails 64 "submit with an unknown option: 64" ob submit --colour red
check_fails 64 "list --limit abc: 64" ob list --limit abc
check_fails 64 "list --state NOSUCH: 64" ob list --state NOSUCH
check_fails 64 "route without --dept: 64" ob route 20200101-000001
check_fails 64 "review without --accept/--reject: 64" ob review 20200101-000001
check_fails 64 "review with both --accept and --reject: 64" ob review 20200101-000001 --accept --reject
check_fails 64 "review --reject without a note: 64" --match 'needs --note' ob review 20200101-000001 --reject
check_fails 64 "callback with a bad --satisfaction: 64" ob callback 20200101-000001 --satisfaction maybe
check_fails 64 "callback without --satisfaction: 64" ob callback 20200101-000001
check_fails 64 "--timeout -5: 64" ob --timeout -5 status
check_fails 64 "--timeout abc: 64" ob --timeout abc status
check_fails 64 "reply with a bad --result: 64" ob_node housing reply 20200101-000001 --result nope --note x
check_fails 64 "progress without --note: 64" ob_node housing progress 20200101-000001
check_fails 64 "return without --reason: 64" ob_node housing return 20200101-000001
check_fails 64 "inbox --state NOSUCH: 64" ob_node housing inbox --state NOSUCH
check_fails 64 "clerk command without a node: 64" ob sign 20200101-000001
check_fails 64 "keys new without PATH: 64" "$BIN/orderbus" keys new
check_fails 64 "admin add-client with a bad role: 64" "$BIN/orderbus" admin add-client x --role king \
    --key "$SITE/keys/stranger.key" --store "$SITE/broker"
# Every command's --help: exit 0, a usage that names the command (as
# "orderbus [...] COMMAND"), and each of its options (its arguments, for
# the commands that have none).
while read -r cmd opts; do
    [[ -z $cmd || $cmd == \#* ]] && continue
    cmd=${cmd//+/ }
    # shellcheck disable=SC2086
    run "$BIN/orderbus" $cmd --help
    text=$OUT$'\n'$ERR
    miss=()
    grep -Eq -- "orderbus( \[[^]]*\])* $cmd( |$)" <<<"$text" || miss+=("the usage 'orderbus $cmd'")
    for o in $opts; do
        re=${o//|/[|]}
        re=${re//./[.]}
        grep -Eq -- "(^|[^A-Za-z0-9-])$re([^A-Za-z0-9-]|$)" <<<"$text" || miss+=("$o")
    done
    if (( RC == 0 && ${#miss[@]} == 0 )); then
        ok "$cmd --help: exit 0, names the command and $opts"
    else
        not_ok "$cmd --help: exit 0, names the command and $opts" "exit status $RC" \
            "missing: ${miss[*]}" "$(head -n 12 <<<"$text")"
    fi
done <<'EOF'
# command (+ for a space)  options the help must name
submit                --title --content --category --channel --appeal --district --street --address --lat --lon --target-org --urgency --anonymous --confidential --contact-name --contact-phone --external-ref --batch --window
show                  ID|CASE --json
list                  --dept --state --limit --json
trace                 ID|CASE --json
route                 --dept --note --json
deny-return           --note --json
review                --accept --reject --note
callback              --satisfaction --note
stats                 --dept --json
status                --node --json
inbox                 --state --all --json
sign                  ID|CASE --json
progress              --note
return                --reason
reply                 --result --note
keys+new              PATH --name
admin+add-department  --name --key --store
admin+add-client      --role --key --store
admin+list            --store --json
rules+check           FILE...
rules+test            --order --batch --json
rules+reload          reload
demo+centre           --expect --timeout --seed --reject-pct --unsatisfied-pct
EOF
check_fails 66 "missing config file: 66" "$BIN/orderbus" --config "$SITE/nonexistent.yaml" status
printf 'broker: [\n' >"$SITE/bad.yaml"
check_fails 78 "bad config file: 78" "$BIN/orderbus" --config "$SITE/bad.yaml" status
check_fails 66 "missing key file: 66" ob --key "$SITE/keys/nonexistent.key" status
check_fails 69 "nobody listening: 69" ob --broker tcp://127.0.0.1:1 --timeout 500 status

# --- bad input files ----------------------------------------------------------------

printf '{"title": "x", broken\n' >"$SITE/bad.json"
check_fails 65 "submit of broken JSON: 65" --match 'invalid JSON' ob submit "$SITE/bad.json"
printf '[1, 2]\n' >"$SITE/array.json"
check_fails 65 "submit of a JSON array: 65" ob submit "$SITE/array.json"
printf '{"title":"标题","content":"内容","category":["城乡建设"],"nosuchfield":1}\n' >"$SITE/unknown.json"
check_fails 65 "submit with an unknown field: 65, the field named" --match 'nosuchfield' ob submit "$SITE/unknown.json"
printf '\xff\xfe{"title":"\xc3"}\n' >"$SITE/badutf8.json"
check_fails 65 "submit of invalid UTF-8: 65" ob submit "$SITE/badutf8.json"
# orders the CLI would not build (it checks these too): the broker checks
# them itself. Envelopes encoded here by hand (protobuf wire format).
mkorder() {  # KIND FILE: an Envelope{Submit{order}} with a bad attachments part
    "$PYTHON" - "$1" "$2" <<'PYEOF'
import os, sys
def varint(n):
    out = b""
    while True:
        b = n & 0x7f; n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n: return out
def field(num, data):  # length-delimited
    return varint(num << 3 | 2) + varint(len(data)) + data
kind, path = sys.argv[1], sys.argv[2]
if kind == "many":
    atts = [field(1, ("照片%d.jpg" % i).encode()) + field(5, b"file:///x") for i in range(65)]
elif kind == "mime":
    atts = [field(1, b"a") + field(2, b"x" * 2000)]
else:  # sha: a 3-byte digest
    atts = [field(1, b"a") + field(4, b"abc")]
order = field(6, "附件".encode()) + field(7, b"c") + field(5, "城乡建设".encode())
order += b"".join(field(14, a) for a in atts)
env = varint(1 << 3) + varint(1) + field(2, os.urandom(16)) + field(40, field(1, order))
open(path, "wb").write(env)
PYEOF
}
for kind in many mime sha; do
    mkorder "$kind" "$SITE/attach_$kind.bin"
done
raw_client() { "$RAW" --server-key "$SITE/keys/broker.key" --key "$SITE/keys/dispatcher.key" \
    --wait 3000 --file "$1" "$CLIENT_ENDPOINT"; }
check_fails 0 "broker: 65 attachments refused, naming the field" \
    --match "BAD_REQUEST.*attachments.*at most 32" raw_client "$SITE/attach_many.bin"
check_fails 0 "broker: a 2000-byte attachment mime_type refused" \
    --match "BAD_REQUEST.*attachments.mime_type" raw_client "$SITE/attach_mime.bin"
check_fails 0 "broker: a 3-byte attachment sha256 refused" \
    --match "BAD_REQUEST.*sha256.*32" raw_client "$SITE/attach_sha.bin"
: >"$SITE/empty.json"
check_fails 65 "submit of an empty file: 65" ob submit "$SITE/empty.json"
check_fails 66 "submit of a missing file: 66" ob submit "$SITE/nonexistent.json"
check_fails 66 "batch of a missing file: 66" ob submit --batch "$SITE/nonexistent.jsonl"
check_eq "no order was made by the bad files" 0 "$(ob --json status | json_get orders)"

data=$REPO/deploy/data/tipdm_demo.jsonl
{
    sed -n 1,3p "$data"
    echo '{broken'
    sed -n 4p "$data"
    echo '[]'
    echo '{"title":"x","content":"y","urgency":"NOPE"}'
    sed -n 5p "$data"
} >"$SITE/mixed.jsonl"
check_fails 65 "batch with bad lines: exit 65" ob submit --batch "$SITE/mixed.jsonl"
out=$OUT$'\n'$ERR
check_match "batch: line 4 reported" 'line 4' "$out"
check_match "batch: line 6 reported" 'line 6' "$out"
check_match "batch: line 7 reported" 'line 7' "$out"
check_match "batch: final count" '5 submitted, 3 failed' "$out"
check_eq "batch: the 5 good lines submitted" "1 2 3 5 8" \
    "$(grep -E '^ *[0-9]+ +[0-9]{8}-[0-9]{6} ' <<<"$OUT" | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
check_fails 65 "batch --json with bad lines: exit 65" ob --json submit --batch "$SITE/mixed.jsonl"
j=$OUT
check "batch --json: every line is JSON" json_lines_valid <<<"$j"
check_eq "batch --json: failed lines" "4 6 7" "$(python3 -c '
import json, sys
print(" ".join(str(d["line"]) for d in map(json.loads, filter(str.strip, sys.stdin)) if not d["ok"]))' <<<"$j")"
# the two batches are the same lines: their external references (the
# message ids) are idempotency keys, so the second registered nothing twice
check_eq "orders from the two batches of the same lines: 5, not 10" 5 "$(ob --json status | json_get orders)"

# --- still standing -----------------------------------------------------------------

check "the broker is still running (pid $(site_pid broker))" site_alive broker
for d in $DEPTS_ALL; do
    check "node $d is still running" site_alive "$d"
done
check "status OK" ob status
wait_until 10 "every department up again" bash -c '
    "$0" --config "$1/orderbus.yaml" --json status | "$2" -c "
import json, sys
sys.exit(0 if all(n[\"up\"] for n in json.load(sys.stdin)[\"nodes\"]) else 1)"' "$BIN/orderbus" "$SITE" "$PYTHON"

# an order through every step, at commerce (whose key sent the raw frames)
check "submit after all that" ob --json submit --title 商场消防通道被占 --content 某商场消防通道堆放杂物 --category 商贸旅游
case_no=$(json_get case_no <<<"$OUT")
check_eq "  dispatched to commerce" commerce "$(json_get dept <<<"$OUT")"
# capture first: `cmd | grep -q` under pipefail fails with SIGPIPE when grep
# stops reading before a long output ends
inbox_has() { local out; out=$(ob_node "$1" --json inbox 2>/dev/null) && grep -q "\"$2\"" <<<"$out"; }
state_is() { [[ $(ob --json show "$1" 2>/dev/null | json_get state) == "$2" ]]; }
wait_until 15 "  commerce inbox has it" inbox_has commerce "$case_no"
check "  sign" ob_node commerce sign "$case_no"
check "  reply" ob_node commerce reply "$case_no" --result resolved --note 已清理
wait_until 15 "  REPLIED at the broker" state_is "$case_no" REPLIED
check "  review --accept" ob review "$case_no" --accept
check "  callback" ob callback "$case_no" --satisfaction satisfied
check_eq "  CLOSED" CLOSED "$(ob --json show "$case_no" | json_get state)"

# one order to housing too (its local service took the garbage)
check "submit to housing" ob --json submit --title 路灯不亮 --content 路灯坏了 --category 城乡建设
case_no=$(json_get case_no <<<"$OUT")
wait_until 15 "  housing inbox has it" inbox_has housing "$case_no"
check "  housing signs" ob_node housing sign "$case_no"
wait_until 15 "  IN_PROGRESS at the broker" state_is "$case_no" IN_PROGRESS

finish
