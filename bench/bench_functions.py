#!/usr/bin/python3
"""make bench: rows/s of the sketch and sample functions, run inside SQLite.

Each workload is a table prepared first (not timed); the timed statement is a
single SELECT over it, run 3 times, best CPU time of the process kept
(time.process_time: the machine is shared, wall time is noise). Single
connection, one core.

    bench_functions.py [hll] [samples] [topk]    (default: all three)
"""
import os
import sqlite3
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "dist", "otelcat")


def connect():
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    return db


def best(db, sql, runs=3):
    t = []
    for _ in range(runs):
        t0 = time.process_time()
        db.execute(sql).fetchall()
        t.append(time.process_time() - t0)
    return min(t)


def series(n):
    return f"WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < {n})"


def main(sections):
    db = connect()
    rows = []

    n = 2_000_000
    db.execute(f"CREATE TABLE ints AS {series(n)} SELECT v FROM s")
    db.execute(f"CREATE TABLE strs AS {series(n)} SELECT 'user-' || (v * 7919 % 1000003) AS v FROM s")
    base = best(db, "SELECT count(v) FROM strs")
    rows.append(("scan baseline: count(v) over text", n, base))
    if "hll" in sections:
        hll(db, rows, n)
    if "samples" in sections:
        samples(db, rows, n)
    if "topk" in sections:
        topk(db, rows, n)

    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}\n")
    print("| workload | rows | best of 3 (CPU s) | rows/s | values/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r, t, *values in rows:
        v = f"{r * values[0] / t:,.0f}" if values else ""
        print(f"| {name} | {r:,} | {t:.3f} | {r / t:,.0f} | {v} |")


def hll(db, rows, n):
    rows.append(("hll_sketch(v) over integers", n, best(db, "SELECT hll_sketch(v) FROM ints")))
    rows.append(("hll_sketch(v) over text", n, best(db, "SELECT hll_sketch(v) FROM strs")))

    # Sparse sketches: 200k sketches of 5 values each (LIST mode, ~28 bytes).
    m = 200_000
    db.execute(f"CREATE TABLE sparse AS {series(m)} SELECT hll_add(hll_add(hll_add(hll_add(hll_add(NULL, v), v + 1), v + 2), v + 3), v + 4) AS s FROM s")
    rows.append(("hll_merge(s) aggregate, sparse sketches (5 values)", m, best(db, "SELECT hll_merge(s) FROM sparse")))

    # Dense sketches: 1000 distinct HLL-mode sketches (10k values each), repeated to 50k rows.
    db.execute(f"CREATE TABLE dense0 AS {series(10_000_000)} SELECT v / 10000 AS g, hll_sketch(v) AS s FROM s GROUP BY v / 10000")
    d = 50_000
    db.execute(f"CREATE TABLE dense AS {series(d)} SELECT (SELECT s FROM dense0 WHERE g = v % 1000) AS s FROM s")
    rows.append(("hll_merge(s) aggregate, dense sketches (10k values, lg_k 12)", d, best(db, "SELECT hll_merge(s) FROM dense")))
    rows.append(("hll_merge(a, b) scalar, dense + sparse", d,
                 best(db, "SELECT count(hll_merge(d.s, p.s)) FROM dense d JOIN sparse p ON p.rowid = d.rowid")))
    rows.append(("hll_count(s), dense", d, best(db, "SELECT sum(hll_count(s)) FROM dense")))



def samples(db, rows, n):
    k = 500_000
    db.execute(f"""CREATE TABLE pairs AS {series(k)} SELECT
        json_array('a' || (v % 17), 'b' || (v % 5), 'c' || (v % 3), 'd', 'e', 'f', 'g') AS existing,
        json_array('x' || (v % 11), 'a' || (v % 13), 'h', 'i', 'j', 'k') AS incoming FROM s""")
    rows.append(("json_samples_merge(existing, incoming), 7 + 6 elements", k,
                 best(db, "SELECT count(json_samples_merge(existing, incoming)) FROM pairs")))
    rows.append(("json_samples(v) aggregate over text", n, best(db, "SELECT json_samples(v) FROM strs")))


def topk(db, rows, n):
    """Frequent-items sketches at the default lg_max_map_size 8. values/s
    counts the values a statement reads: rows for the aggregates, the values
    the input sketches track for merges and reads."""
    db.execute(f"CREATE TABLE few AS {series(n)} SELECT 'status-' || (v * 7919 % 97) AS v FROM s")
    rows.append(("topk_sketch(v) over text, 97 distinct (exact)", n, best(db, "SELECT topk_sketch(v) FROM few"), 1))
    rows.append(("topk_sketch(v) over text, ~1M distinct (purging)", n, best(db, "SELECT topk_sketch(v) FROM strs"), 1))
    rows.append(("topk_sketch(v) over integers, 2M distinct (purging)", n, best(db, "SELECT topk_sketch(v) FROM ints"), 1))
    # 20 000 sketches of 100 distinct values each (exact, ~2 KB), and of 1 000 values (purged to ≤ 192).
    m = 20_000
    db.execute(f"CREATE TABLE tk100 AS SELECT topk_sketch(v) AS s FROM (SELECT rowid / 100 AS g, v FROM strs "
               f"WHERE rowid <= {m * 100}) GROUP BY g")
    db.execute(f"CREATE TABLE tk1000 AS SELECT topk_sketch(v) AS s FROM (SELECT rowid / 1000 AS g, v FROM strs) GROUP BY g")
    per100 = db.execute("SELECT avg(topk_info(s) ->> '$.num_items') FROM tk100").fetchone()[0]
    per1000 = db.execute("SELECT avg(topk_info(s) ->> '$.num_items') FROM tk1000").fetchone()[0]
    r100 = db.execute("SELECT count(*) FROM tk100").fetchone()[0]
    r1000 = db.execute("SELECT count(*) FROM tk1000").fetchone()[0]
    rows.append((f"topk_merge(s) aggregate, sketches of {per100:.0f} values", r100,
                 best(db, "SELECT topk_merge(s) FROM tk100"), per100))
    rows.append((f"topk_merge(s) aggregate, purged sketches of {per1000:.0f} values", r1000,
                 best(db, "SELECT topk_merge(s) FROM tk1000"), per1000))
    rows.append((f"topk_merge(a, b) scalar, {per100:.0f} + {per100:.0f} values", r100 - 1,
                 best(db, "SELECT count(topk_merge(a.s, b.s)) FROM tk100 a JOIN tk100 b ON b.rowid = a.rowid + 1"),
                 2 * per100))
    rows.append((f"topk_values(s), sketches of {per100:.0f} values", r100,
                 best(db, "SELECT count(topk_values(s)) FROM tk100"), per100))
    rows.append((f"topk_estimate(s, v), sketches of {per100:.0f} values", r100,
                 best(db, "SELECT sum(topk_estimate(s, 'user-1')) FROM tk100"), per100))


if __name__ == "__main__":
    main(sys.argv[1:] or ["hll", "samples", "topk"])
