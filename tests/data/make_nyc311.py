#!/usr/bin/env python3
"""make_nyc311.py: NYC 311 service requests -> orderbus work orders.

    python3 tests/data/make_nyc311.py [CSV] [OUTDIR]

CSV defaults to ../shared/data/nyc311_sample_2023-02-28.csv beside the repository (a real export
of NYC Open Data erm2-nwe9; provenance in router-rules/examples/README.md),
OUTDIR to the directory of this script. Writes, in the CSV's row order:

  nyc311_orders.jsonl   one work order per row, in the JSON that
                        `orderbus submit --batch` and `orderbus rules test
                        --batch` accept (lib/ob_json.c):
                          category      [Complaint Type, Descriptor]
                                        ([Complaint Type] when the
                                        descriptor is empty); a "/"
                                        inside a name becomes "-"
                                        (HEAT/HOT WATER -> HEAT-HOT
                                        WATER): orderbus category paths
                                        separate levels with "/"
                          title         Complaint Type, as it is
                          content       Descriptor, and the Location Type
                                        when there is one
                          location      district_code = Borough, lat/lon
                          channel       PHONE / WEB (ONLINE) / APP (MOBILE)
                          received_at   Created Date, New York time (EST in
                                        February: -05:00)
                          external_ref  nyc311-<Unique Key>
  nyc311_expected.tsv   line (1-based, in the .jsonl), unique key, the real
                        Agency, and the agencies a router may pick: the real
                        one, or for the five complaint types that several
                        agencies handle in this sample, any of them.

Only the Python standard library; the same input gives the same bytes.
"""
import csv
import json
import os
import sys
from collections import defaultdict
from datetime import datetime

DEFAULT_CSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                           "shared", "data", "nyc311_sample_2023-02-28.csv")

# The complaint types that more than one agency handles in this sample
# (the data's README: Sewer / Water System, Encampment, Graffiti, Asbestos).
# For these either agency counts as right. Checked against the data below.
MULTI_AGENCY = {"Sewer", "Water System", "Encampment", "Graffiti", "Asbestos"}

CHANNELS = {"PHONE": "PHONE", "ONLINE": "WEB", "MOBILE": "APP"}   # UNKNOWN: none

# Every row of the sample was created on 2023-02-28: Eastern Standard Time.
ZONE = "-05:00"


def received_at(created):
    t = datetime.strptime(created, "%m/%d/%Y %I:%M:%S %p")
    if not (t.month < 3 or (t.month == 3 and t.day < 12) or t.month > 11):
        sys.exit("make_nyc311: a Created Date outside EST; extend ZONE first")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ZONE


def level(name):
    """A category level: "/" separates levels in orderbus paths."""
    return name.replace("/", "-")


def order(row):
    ctype = row["Complaint Type"].strip()
    desc = row["Descriptor"].strip()
    ltype = row["Location Type"].strip()
    cat = [level(ctype), level(desc)] if desc else [level(ctype)]
    o = {"category": cat, "title": ctype}
    content = desc
    if ltype:
        content = (content + "; " if content else "") + "location type: " + ltype
    if content:
        o["content"] = content
    chan = CHANNELS.get(row["Open Data Channel Type"].strip())
    if chan:
        o["channel"] = chan
    loc = {}
    borough = row["Borough"].strip()
    if borough and borough != "Unspecified":
        loc["district_code"] = borough
    try:
        lat, lon = float(row["Latitude"]), float(row["Longitude"])
        loc["lat"], loc["lon"] = lat, lon
    except ValueError:
        pass
    if loc:
        o["location"] = loc
    o["received_at"] = received_at(row["Created Date"].strip())
    o["external_ref"] = "nyc311-" + row["Unique Key"].strip()
    return o


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_CSV
    outdir = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    agencies = defaultdict(set)
    for r in rows:
        agencies[r["Complaint Type"].strip()].add(r["Agency"].strip())
    if len({level(t) for t in agencies}) != len(agencies):
        sys.exit("make_nyc311: two complaint types differ only by '/' and '-'")
    multi = {t for t, a in agencies.items() if len(a) > 1}
    if multi != MULTI_AGENCY:
        sys.exit("make_nyc311: multi-agency complaint types are %s, expected %s"
                 % (sorted(multi), sorted(MULTI_AGENCY)))

    with open(os.path.join(outdir, "nyc311_orders.jsonl"), "w", encoding="utf-8",
              newline="\n") as jf, \
         open(os.path.join(outdir, "nyc311_expected.tsv"), "w", encoding="utf-8",
              newline="\n") as tf:
        tf.write("# line\tunique_key\tagency\taccepted\n")
        for n, r in enumerate(rows, 1):
            jf.write(json.dumps(order(r), ensure_ascii=False, separators=(",", ":")) + "\n")
            ctype = r["Complaint Type"].strip()
            agency = r["Agency"].strip()
            accepted = sorted(agencies[ctype]) if ctype in MULTI_AGENCY else [agency]
            tf.write("%d\t%s\t%s\t%s\n" % (n, r["Unique Key"].strip(), agency,
                                           ",".join(accepted)))
    print("make_nyc311: %d rows, %d complaint types, %d agencies"
          % (len(rows), len(agencies), len({r["Agency"] for r in rows})), file=sys.stderr)


if __name__ == "__main__":
    main()
