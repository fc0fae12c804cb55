#!/usr/bin/env bash
# keys.sh — Curve keypairs for a real orderbus site, and the commands that
# register them with the broker.
#
#   keys.sh broker DIR                         DIR/broker.key (+ _secret)
#   keys.sh department ID DIR                  DIR/ID.key (+ _secret)
#   keys.sh client NAME DIR                    DIR/NAME.key (+ _secret)
#   keys.sh site DIR [--rules FILE] [--clients "dispatcher supervisor ops"]
#                                              the broker, every department of
#                                              the rule file, and the clients
#   common options: --owner USER (chown the files; root only)
#
# A keypair is two files: NAME (public key, may be copied anywhere) and
# NAME_secret (mode 0600, stays on the one host that uses it). Existing
# files are never overwritten. What goes where:
#   broker host:      broker.key + broker.key_secret; the public NAME.key of
#                     every department and client, to register them:
#                       orderbus admin add-department ID --name NAME --key ID.key --store DATA
#                       orderbus admin add-client NAME --role ROLE --key NAME.key --store DATA
#   department host:  broker.key (public) + ID.key + ID.key_secret
#   a person's CLI:   broker.key (public) + NAME.key + NAME.key_secret
# `site` prints the registration commands for the broker host.
set -euo pipefail

PROG=keys.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OB=${ORDERBUS:-}
OWNER=""

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; }

find_orderbus() {
    [[ -n $OB ]] && return 0
    local c
    for c in "${BUILD:-build}/bin/orderbus" "$REPO/${BUILD:-build}/bin/orderbus" "$(command -v orderbus || true)"; do
        if [[ -n $c && -x $c ]]; then OB=$c; return 0; fi
    done
    die "the orderbus CLI was not found (make, or make install, or set ORDERBUS)"
}

# new_key DIR NAME: DIR/NAME.key and DIR/NAME.key_secret
new_key() {
    local dir=$1 name=$2
    [[ $name =~ ^[A-Za-z0-9._-]{1,63}$ ]] || die "bad key name '$name'"
    install -d -m 750 "$dir"
    if [[ -e $dir/$name.key ]]; then
        echo "kept     $dir/$name.key (exists)"
        return 0
    fi
    "$OB" keys new "$dir/$name.key" --name "$name" >/dev/null
    chmod 600 "$dir/$name.key_secret"
    chmod 644 "$dir/$name.key"
    if [[ -n $OWNER ]]; then chown "$OWNER" "$dir/$name.key" "$dir/$name.key_secret"; fi
    echo "created  $dir/$name.key (public), $dir/$name.key_secret (secret, 0600)"
}

# "id<TAB>name" for each department of a rule file (block or flow style).
rule_departments() {
    awk '
    function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
    function unq(s) {
        s = trim(s)
        if (s ~ /^".*"$/ || s ~ /^\047.*\047$/) s = substr(s, 2, length(s) - 2)
        return s
    }
    function flush() { if (id != "") print id "\t" (name != "" ? name : id); id = ""; name = "" }
    function field(piece,   k, v) {
        piece = trim(piece)
        if (piece ~ /^(id|name)[ \t]*:/) {
            k = piece; sub(/[ \t]*:.*$/, "", k)
            v = piece; sub(/^[a-z]+[ \t]*:[ \t]*/, "", v); v = unq(v)
            if (k == "id") id = v; else name = v
        }
    }
    function scan(text,   n, parts, i) {
        sub(/[ \t]+#.*$/, "", text)
        if (text ~ /^[ \t]*-/) { flush(); sub(/^[ \t]*-[ \t]*/, "", text) }
        gsub(/\{/, "\001,", text); gsub(/\}/, ",\001,", text); gsub(/[\[\]]/, "", text)
        n = split(text, parts, ",")
        for (i = 1; i <= n; i++) { if (parts[i] == "\001") flush(); else field(parts[i]) }
    }
    /^departments[ \t]*:/ {
        inblock = 1; rest = $0; sub(/^departments[ \t]*:[ \t]*/, "", rest)
        if (rest != "") scan(rest)
        next
    }
    inblock && /^[A-Za-z_]/ { flush(); inblock = 0 }
    inblock && /^[ \t]*(#.*)?$/ { next }
    inblock { scan($0) }
    END { flush() }
    ' "$1"
}

cmd_site() {
    local dir=${1:?"usage: $PROG site DIR [--rules FILE] [--clients LIST]"}; shift
    local rules=$REPO/router-rules/default.yaml clients="dispatcher"
    while (( $# )); do
        case $1 in
            --rules) rules=${2:?}; shift 2 ;;
            --clients) clients=${2?}; shift 2 ;;
            *) die "site: unknown option '$1'" ;;
        esac
    done
    [[ -r $rules ]] || die "cannot read rule file '$rules'"
    local table id name c
    table=$(rule_departments "$rules")
    [[ -n $table ]] || die "no departments in '$rules'"
    new_key "$dir" broker
    while IFS=$'\t' read -r id name; do new_key "$dir" "$id"; done <<<"$table"
    for c in $clients; do new_key "$dir" "$c"; done
    echo
    echo "# on the broker host (DATA = the broker's data directory, e.g. /var/lib/orderbus/broker):"
    while IFS=$'\t' read -r id name; do
        printf 'orderbus admin add-department %q --name %q --key %q --store DATA\n' \
            "$id" "$name" "$dir/$id.key"
    done <<<"$table"
    for c in $clients; do
        local role=dispatcher
        case $c in supervisor*) role=supervisor ;; ops*) role=ops ;; esac
        printf 'orderbus admin add-client %q --role %s --key %q --store DATA\n' "$c" "$role" "$dir/$c.key"
    done
    echo "# then give each department host broker.key and its own ID.key + ID.key_secret;"
    echo "# broker.key_secret never leaves the broker host."
}

main() {
    local args=() cmd
    while (( $# )); do
        case $1 in
            --owner) OWNER=${2:?--owner needs a user}; shift 2 ;;
            -h|--help) usage; exit 0 ;;
            *) args+=("$1"); shift ;;
        esac
    done
    set -- "${args[@]}"
    cmd=${1:-}; [[ -n $cmd ]] || { usage >&2; exit 64; }
    shift
    if [[ -n $OWNER && $(id -u) -ne 0 ]]; then die "--owner needs root"; fi
    find_orderbus
    case $cmd in
        broker) new_key "${1:?usage: $PROG broker DIR}" broker ;;
        department) new_key "${2:?usage: $PROG department ID DIR}" "$1" ;;
        client) new_key "${2:?usage: $PROG client NAME DIR}" "$1" ;;
        site) cmd_site "$@" ;;
        *) die "unknown command '$cmd' (try --help)" ;;
    esac
}

main "$@"
