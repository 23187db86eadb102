#!/usr/bin/python3
"""The dashboard's convention_violations (examples/datasette/metadata.yml)
against its SQL before deprecated keys were judged per key name
(tests/fixtures/convention_violations_former.sql), on a catalog built by
bench/semconv_queries.py: the former SQL with the key rows' (key name,
entity) indexes dropped (main's schema; inside a transaction rolled back),
the current one with them. Median CPU ms of 3 runs each, alternating; the
script asserts that both give the same rows. Cookbook 26 the same way.

  /usr/bin/python3 bench/convention_violations_compare.py PATH
"""
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "bench"), os.path.join(ROOT, "tools"), os.path.join(ROOT, "python")]
import bench_queries as bq  # noqa: E402


def main():
    import cookbook
    import yaml
    db = bq.connect(sys.argv[1])
    with open(os.path.join(ROOT, "examples", "datasette", "metadata.yml")) as f:
        new = yaml.safe_load(f)["databases"]["catalog"]["queries"]["convention_violations"]["sql"]
    with open(os.path.join(ROOT, "tests", "fixtures", "convention_violations_former.sql")) as f:
        old = f.read()
    cb26 = cookbook.QUESTIONS[25][2]

    def run(sql, key, drop):
        db.execute("BEGIN")
        if drop:
            for t in ("metric", "span", "log"):
                db.execute(f"DROP INDEX idx_{t}_keys_key_entity")
        t0 = time.process_time()
        rows = db.execute(sql, {"key": key} if ":key" in sql else {}).fetchall()
        ms = (time.process_time() - t0) * 1000
        db.execute("ROLLBACK")
        return rows, ms

    print("| query | rows | former, main's indexes (ms) | now (ms) |\n| --- | ---: | ---: | ---: |")
    work = [(f"dashboard `convention_violations`, key {k!r}", new, old, k) for k in ("", "http.method", "user_id")]
    work.append(("cookbook 26", cb26, cb26, ""))
    for label, sql, former, key in work:
        a, b = [], []
        for _ in range(3):
            r1, m1 = run(former, key, True)
            r2, m2 = run(sql, key, False)
            assert r1 == r2, label
            a.append(m1)
            b.append(m2)
        print(f"| {label} | {len(r1):,} | {statistics.median(a):.1f} | {statistics.median(b):.1f} |", flush=True)


if __name__ == "__main__":
    main()
