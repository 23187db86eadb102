#!/usr/bin/python3
"""Instructions per line of drain_template through SQL, for callgrind (CPU
time is too noisy on a shared machine to see a few per cent).

usage: PYTHONHASHSEED=0 valgrind --tool=callgrind python3 bench/drain_callgrind.py [EXT] [REPEAT] [train|train-nomask|none]

Loads the Content column of the Loghub-2k files ($DRAIN_LOGHUB_DIR, else
../shared/data/loghub-2k),
REPEAT times (default 5: 100 000 lines), into an in-memory table, then runs
SELECT count(drain_template(body, 'p')) over it ('train', default
configuration; 'train-nomask', the masks off), or the same scan
without Drain ('none'). (train - none) / lines is the cost of a line; or read
the inclusive cost of otelcat::drain::drain_template with callgrind_annotate
--inclusive=yes. Exits 0 with a note when the data is absent.
"""
import csv
import glob
import os
import sqlite3
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("DRAIN_LOGHUB_DIR") or os.path.join(os.path.dirname(ROOT), "shared", "data", "loghub-2k")

ext = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "dist", "otelcat")
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
mode = sys.argv[3] if len(sys.argv) > 3 else "train"
files = sorted(glob.glob(os.path.join(DATA, "*", "*_structured.csv")))
if not files:
    print(f"{DATA} is not present; nothing to measure")
    sys.exit(0)
lines = []
for f in files:
    with open(f, newline="", encoding="utf-8") as fh:
        lines += [r["Content"] for r in csv.DictReader(fh)]
db = sqlite3.connect(":memory:", isolation_level=None)
db.enable_load_extension(True)
db.load_extension(ext)
db.execute("CREATE TABLE l(body TEXT)")
db.executemany("INSERT INTO l VALUES (?)", [(x,) for x in lines * repeat])
if mode == "train-nomask":
    db.execute("""SELECT drain_configure('p', '{"masks": []}')""").fetchone()
if mode.startswith("train"):
    n = db.execute("SELECT count(drain_template(body, 'p')) FROM l").fetchone()[0]
else:
    n = db.execute("SELECT count(length(body)) FROM l").fetchone()[0]
print(mode, n, "lines")
