#!/usr/bin/env python3
"""make_demo_training.py — writes tipdm_train_heldout.csv.gz: the TipDM 2020
training file (../shared/data/tipdm2020c_train.csv, 6,342 hand-labelled
messages) WITHOUT the 495 demo messages of tipdm_demo.jsonl and their reposts
(same subject or same body, whitespace aside), each labelled with the
department router-rules/default.yaml gives its category. `make demo` trains
its routing model on it, so the demo's model never saw the messages it routes.

    python3 deploy/data/make_demo_training.py ../shared/data/tipdm2020c_train.csv
"""
import csv, gzip, io, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
# the department default.yaml gives each first-level category
DEPT = {"交通运输": "transport", "劳动和社会保障": "hrss", "卫生计生": "health",
        "商贸旅游": "commerce", "城乡建设": "housing", "教育文体": "education",
        "环境保护": "environment"}


def squeeze(s):
    return re.sub(r"[\s*\u3000\u00a0]", "", s or "")


def main(train):
    held = [json.loads(l) for l in open(os.path.join(HERE, "tipdm_demo.jsonl"), encoding="utf-8")
            if l.strip()]
    keys = {squeeze(o.get("title")) for o in held} | {squeeze(o.get("content")) for o in held}
    keys.discard("")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["subject", "body", "label"])
    kept = dropped = 0
    with open(train, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if squeeze(r["subject"]) in keys or squeeze(r["body"]) in keys:
                dropped += 1
                continue
            w.writerow([r["subject"], r["body"], DEPT[r["label"]]])
            kept += 1
    path = os.path.join(HERE, "tipdm_train_heldout.csv.gz")
    with gzip.GzipFile(path, "wb", mtime=0) as g:   # mtime 0: the same bytes every time
        g.write(out.getvalue().encode("utf-8"))
    print("%s: %d rows kept, %d left out (the demo's messages and their reposts)"
          % (path, kept, dropped))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(HERE, "../../../shared/data/tipdm2020c_train.csv"))
