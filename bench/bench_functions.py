#!/usr/bin/python3
"""make bench: rows/s of the sketch and sample functions, run inside SQLite.

Each workload is a table prepared first (not timed); the timed statement is a
single SELECT over it, run 3 times, best time kept. Single connection, one core.
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
        t0 = time.perf_counter()
        db.execute(sql).fetchall()
        t.append(time.perf_counter() - t0)
    return min(t)


def series(n):
    return f"WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < {n})"


def main():
    db = connect()
    rows = []

    n = 2_000_000
    db.execute(f"CREATE TABLE ints AS {series(n)} SELECT v FROM s")
    db.execute(f"CREATE TABLE strs AS {series(n)} SELECT 'user-' || (v * 7919 % 1000003) AS v FROM s")
    base = best(db, "SELECT count(v) FROM strs")
    rows.append(("scan baseline: count(v) over text", n, base))
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

    k = 500_000
    db.execute(f"""CREATE TABLE pairs AS {series(k)} SELECT
        json_array('a' || (v % 17), 'b' || (v % 5), 'c' || (v % 3), 'd', 'e', 'f', 'g') AS existing,
        json_array('x' || (v % 11), 'a' || (v % 13), 'h', 'i', 'j', 'k') AS incoming FROM s""")
    rows.append(("json_samples_merge(existing, incoming), 7 + 6 elements", k,
                 best(db, "SELECT count(json_samples_merge(existing, incoming)) FROM pairs")))
    rows.append(("json_samples(v) aggregate over text", n, best(db, "SELECT json_samples(v) FROM strs")))

    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}\n")
    print("| workload | rows | best of 3 (s) | rows/s |")
    print("| --- | ---: | ---: | ---: |")
    for name, r, t in rows:
        print(f"| {name} | {r:,} | {t:.3f} | {r / t:,.0f} |")


if __name__ == "__main__":
    main()
