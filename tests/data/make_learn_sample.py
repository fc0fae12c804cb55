#!/usr/bin/env python3
"""make_learn_sample.py: a small training file for tests/t_learn.sh.

    python3 tests/data/make_learn_sample.py [CSV] [OUT]

CSV defaults to ../shared/data/tipdm2020c_train.csv beside the repository
(6,342 hand-labelled citizen messages of the TipDM 2020 problem C release;
provenance in ../shared/data/README.md), OUT to tipdm_learn_sample.csv
beside this script. Keeps, in the file's order, the first PER_LABEL rows of
each label, with the body cut to BODY_MAX characters, and writes them as
CSV (id, subject, body, label; fields quoted where needed, by the csv
module) so that the test trains in about a second and runs where the
shared data is absent (a fresh clone, CI). The figures of the real file
come from `make routing-eval`, not from this sample.
"""
import csv
import os
import sys

PER_LABEL = 40
BODY_MAX = 200

here = os.path.dirname(os.path.abspath(__file__))
src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    here, '..', '..', '..', 'shared', 'data', 'tipdm2020c_train.csv')
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, 'tipdm_learn_sample.csv')

kept = {}
rows = []
with open(src, newline='', encoding='utf-8') as f:
    for row in csv.DictReader(f):
        label = row['label']
        if kept.get(label, 0) >= PER_LABEL:
            continue
        kept[label] = kept.get(label, 0) + 1
        rows.append([row['id'], row['subject'], row['body'][:BODY_MAX], label])
with open(out, 'w', newline='', encoding='utf-8') as f:
    w = csv.writer(f, lineterminator='\n')
    w.writerow(['id', 'subject', 'body', 'label'])
    w.writerows(rows)
print(f'{out}: {len(rows)} rows, {len(kept)} labels', file=sys.stderr)
