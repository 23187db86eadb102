#!/usr/bin/python3
"""Instructions per value of the topk_* functions through SQL, for callgrind
(CPU time is too noisy on a shared machine to see a few per cent).

usage: python3 bench/topk_callgrind.py prepare [DB]      (not under valgrind)
       valgrind --tool=callgrind python3 bench/topk_callgrind.py WORKLOAD [DB] [EXT]

`prepare` writes DB (default /tmp/otelcat_topk_callgrind.db): table strs
(200 000 texts 'user-' || (v * 7919 % 1000003), as make bench), few (the
same count of 'status-' || (v * 7919 % 97)) and tk100 (2 000 sketches of
100 distinct values, lg_max_map_size 8). A WORKLOAD runs one statement over
it; subtract the matching scan workload's total and divide by the values:

  scan-strs    SELECT count(v) FROM strs                (baseline of the next two)
  build-few    SELECT topk_sketch(v) FROM few           (97 distinct: exact)
  build-strs   SELECT topk_sketch(v) FROM strs          (~200k distinct: purging)
  scan-tk      SELECT count(s) FROM tk100               (baseline of the next three)
  merge-agg    SELECT topk_merge(s) FROM tk100
  merge-pair   SELECT count(topk_merge(a.s, b.s)) FROM tk100 a JOIN tk100 b ON b.rowid = a.rowid + 1
  scan-pair    SELECT count(a.s) + count(b.s) FROM tk100 a JOIN tk100 b ON b.rowid = a.rowid + 1
  values       SELECT count(topk_values(s)) FROM tk100
"""
import os
import sqlite3
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = {
    "scan-strs": "SELECT count(v) FROM strs",
    "build-few": "SELECT topk_sketch(v) FROM few",
    "build-strs": "SELECT topk_sketch(v) FROM strs",
    "scan-tk": "SELECT count(s) FROM tk100",
    "merge-agg": "SELECT topk_merge(s) FROM tk100",
    "merge-pair": "SELECT count(topk_merge(a.s, b.s)) FROM tk100 a JOIN tk100 b ON b.rowid = a.rowid + 1",
    "scan-pair": "SELECT count(a.s) + count(b.s) FROM tk100 a JOIN tk100 b ON b.rowid = a.rowid + 1",
    "values": "SELECT count(topk_values(s)) FROM tk100",
}


def connect(path, ext):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(ext)
    return db


def main(argv):
    what = argv[0] if argv else "prepare"
    path = argv[1] if len(argv) > 1 else "/tmp/otelcat_topk_callgrind.db"
    ext = argv[2] if len(argv) > 2 else os.path.join(ROOT, "dist", "otelcat")
    if what == "prepare":
        if os.path.exists(path):
            os.remove(path)
        db = connect(path, ext)
        s = "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 200000)"
        db.execute(f"CREATE TABLE strs AS {s} SELECT 'user-' || (v * 7919 % 1000003) AS v FROM s")
        db.execute(f"CREATE TABLE few AS {s} SELECT 'status-' || (v * 7919 % 97) AS v FROM s")
        db.execute("CREATE TABLE tk100 AS SELECT topk_sketch(v) AS s FROM "
                   "(SELECT (rowid - 1) / 100 AS g, v FROM strs) GROUP BY g")
        n = db.execute("SELECT count(*), avg(topk_info(s) ->> '$.num_items') FROM tk100").fetchone()
        print(f"{path}: {n[0]} sketches of {n[1]:.1f} values")
        return 0
    db = connect(path, ext)
    print(db.execute(WORKLOADS[what]).fetchone()[0] is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
