#!/usr/bin/env python3
"""make_demo_jsonl.py — turns the TipDM 2020 C sample (Chinese government
message-board complaints, see deploy/data/README.md) into work orders, one
JSON object a line, in the form `orderbus submit --batch FILE.jsonl` takes.

    python3 deploy/data/make_demo_jsonl.py \
        ../shared/data/tipdm2020c_messages_sample_labeled.csv \
        > deploy/data/tipdm_demo.jsonl

Standard library only. The output is deterministic: same CSV, same bytes.
"""
import csv
import json
import re
import sys

# "A3区", "K8区": the organisers' anonymised district names. Counties
# ("K8县") are not districts and are left out on purpose.
DISTRICT = re.compile(r"([A-Z]\d+)区")

# Limits ob_json_to_workorder enforces (lib/ob_json.c).
TITLE_MAX = 512
CONTENT_MAX = 64 * 1024

COLUMNS = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "一级分类"]


def district_of(*texts):
    """The first district named in the texts, in order, or None."""
    for text in texts:
        m = DISTRICT.search(text)
        if m:
            return m.group(1)
    return None


def order_of(row):
    title = row["留言主题"].strip()
    content = row["留言详情"].strip()
    if len(title.encode()) > TITLE_MAX or len(content.encode()) > CONTENT_MAX:
        raise ValueError("message %s is longer than a work order allows" % row["留言编号"])
    order = {
        "channel": "WEB",
        "appeal_type": "COMPLAINT",
        "category": [row["一级分类"].strip()],
        "title": title,
        "content": content,
    }
    district = district_of(title, content)
    if district:
        order["location"] = {"district_code": district}
    # 留言用户 is the platform's pseudonymous user id; it stands in for the
    # complainant's name so that the demo exercises contact handling.
    order["contact"] = {"name": row["留言用户"].strip()}
    order["received_at"] = row["留言时间"].strip()
    order["external_ref"] = "tipdm-" + row["留言编号"].strip()
    return order


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: make_demo_jsonl.py MESSAGES.csv > tipdm_demo.jsonl\n")
        return 64
    with open(argv[1], encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            sys.stderr.write("make_demo_jsonl.py: '%s' lacks columns: %s\n"
                             % (argv[1], ", ".join(missing)))
            return 65
        out = sys.stdout
        n = 0
        for row in reader:
            out.write(json.dumps(order_of(row), ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            n += 1
    sys.stderr.write("make_demo_jsonl.py: %d work orders\n" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
