#!/usr/bin/python3
"""The three key views on make bench-queries' catalog: the views of this
branch (key totals) and their former SQL (tests/test_totals.py), in one
process, median CPU ms of 3 reads; plus the refresh's CPU."""
import os, sys, statistics, tempfile, time
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench")); sys.path.insert(0, os.path.join(ROOT, "tests"))
import bench_queries as bq
from test_totals import OLD_ATTRIBUTE_CATALOG, OLD_KEY_BYTES, OLD_KEY_MIXED_TYPES
tmp = tempfile.mkdtemp(prefix="ht-bq-")
db = bq.connect(os.path.join(tmp, "catalog.db"))
t = time.perf_counter(); bq.build(db); print(f"built in {time.perf_counter()-t:.1f} s")
print("key rows:", [db.execute(f"SELECT count(*) FROM {x}_key_rows").fetchone()[0] for x in ("metric", "span", "log")],
      "key_totals rows:", db.execute("SELECT count(*) FROM key_totals").fetchone()[0])
t = time.process_time(); db.execute("BEGIN"); db.execute("SELECT otelcat_refresh_totals()").fetchall(); db.execute("COMMIT")
print(f"otelcat_refresh_totals(): {time.process_time()-t:.2f} s CPU")
def run(sql):
    ts, n = [], 0
    for _ in range(3):
        t = time.process_time(); n = len(db.execute(sql).fetchall()); ts.append((time.process_time()-t)*1000)
    return n, statistics.median(ts)
for name, new, old in [("key_bytes LIMIT 20", "SELECT * FROM key_bytes LIMIT 20", f"SELECT * FROM ({OLD_KEY_BYTES}) LIMIT 20"),
                       ("key_mixed_types LIMIT 20", "SELECT * FROM key_mixed_types LIMIT 20", f"SELECT * FROM ({OLD_KEY_MIXED_TYPES}) LIMIT 20"),
                       ("attribute_catalog", "SELECT * FROM attribute_catalog", OLD_ATTRIBUTE_CATALOG)]:
    n1, a = run(new); n0, b = run(old)
    print(f"| {name} | {n1} / {n0} rows | {a:.1f} | {b:.1f} |")
