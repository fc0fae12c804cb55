#!/usr/bin/env bash
# t_diskfull.sh — the broker on a full disk (its store on a 4 MiB tmpfs;
# needs root to mount it, skipped otherwise): submits are refused with
# ERR_STORE and the words "disk is full", the broker's log says so once with
# what to do (not a line per batch, not "Input/output error"), the broker
# keeps running, and once space is freed it takes orders again with nothing
# lost.
. "$(dirname "$0")/lib.sh"

if [[ $(id -u) != 0 ]]; then
    skip "a full disk needs a tmpfs mount (root)"
    finish
fi
site_start --depts "housing"
MNT=$SITE/broker
T=$SITE/t_diskfull
mkdir -p "$T"
check "stop the broker" site_sh stop-broker
cp -a "$MNT/." "$T/store-copy"
if ! mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null; then
    skip "cannot mount a tmpfs here"; site_sh start-broker >/dev/null; finish
fi
trap 'site_stop; umount "$MNT" 2>/dev/null; _site_cleanup' EXIT
cp -a "$T/store-copy/." "$MNT/"
check "start the broker with its store on a 4 MiB disk" site_sh start-broker
LOG=$SITE/log/broker.log
before=$(wc -l <"$LOG")

# fill the disk but for ~200 KiB, then submit until the store cannot grow
avail=$(df --output=avail -k "$MNT" | tail -n 1)
dd if=/dev/zero of="$MNT/filler" bs=1k count=$((avail - 200)) 2>/dev/null
big=$(python3 -c 'print("投诉内容" * 2000)')
ok_n=0 refused=0 words=0
for i in $(seq 1 40); do
    if out=$(ob submit --title "满盘测试 $i" --content "$big" 2>&1); then ok_n=$((ok_n + 1))
    else refused=$((refused + 1)); grep -q 'disk is full' <<<"$out" && words=$((words + 1)); fi
done
diag "$ok_n submitted, $refused refused"
(( refused > 0 )) && ok "submits are refused once the disk is full ($refused of 40)" ||
    not_ok "submits are refused once the disk is full"
check_eq "  every refusal says the disk is full" "$refused" "$words"
site_alive broker && ok "the broker still runs" || not_ok "the broker still runs"
newlog=$(tail -n +"$((before + 1))" "$LOG")
n_lines=$(grep -c 'store failure\|cannot grow' <<<"$newlog")
(( n_lines >= 1 && n_lines <= 3 )) && ok "its log says so $n_lines time(s), not once a batch" ||
    not_ok "its log says so once, then rate-limited (got $n_lines lines)" "$(tail -n 5 <<<"$newlog")"
check_match "  in words an operator can act on" "disk holding .* is full .*free space there" "$newlog"
check_nomatch "  not 'Input/output error'" 'Input/output error' "$newlog"

rm -f "$MNT/filler"
check "after space is freed, a submit goes through" ob --json submit --title 空间已释放
check "status" ob --json status
check_eq "  every order acknowledged is there, and the new one" "$((ok_n + 1))" "$(json_get orders <<<"$OUT")"
finish
