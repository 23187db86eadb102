#!/usr/bin/python3
"""The two service views on make bench-queries' catalog (bench_queries.build:
1 000 services, 300 000 metric_services and span_services rows, their scope
rows) and the dashboard's, cookbook's and report's queries over
service_overview: the views of this version (service totals) and their
former SQL (tests/test_totals.py), in one process, median CPU ms of 5 reads;
plus what building the service totals from the rows costs.

  /usr/bin/python3 bench/service_totals_queries.py
"""
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "bench"), os.path.join(ROOT, "tests"), os.path.join(ROOT, "tools")]
import bench_queries as bq  # noqa: E402
from test_totals import OLD_INSTANCE_LIKE_SERVICES, OLD_SERVICE_BYTES, OLD_SERVICE_OVERVIEW  # noqa: E402


def main():
    tmp = tempfile.mkdtemp(prefix="service-totals-")
    db = bq.connect(os.path.join(tmp, "catalog.db"))
    t = time.perf_counter()
    bq.build(db)
    print(f"built in {time.perf_counter() - t:.1f} s")
    for table in ("metric_services", "span_services", "log_services", "metric_scopes", "span_scopes", "log_scopes",
                  "log_event_services", "service_totals"):
        print(f"{table}: {db.execute(f'SELECT count(*) FROM {table}').fetchone()[0]:,} rows")
    with open(os.path.join(ROOT, "sql", "totals.sql")) as f:
        sql = f.read()
    part = sql[sql.index("DELETE FROM main.service_totals"):]
    t = time.process_time()
    db.execute("BEGIN")
    for statement in part.split(";\n"):
        if statement.strip():
            db.execute(statement)
    db.execute("COMMIT")
    print(f"service totals built from the rows (sql/totals.sql, its service part): {(time.process_time() - t) * 1000:.0f} ms CPU")
    timings(db, "with ANALYZE's statistics (as make bench-queries)")
    # otelcat never runs ANALYZE: a catalog as it writes it has no statistics.
    db.execute("DELETE FROM sqlite_stat1")
    db.close()
    db = bq.connect(os.path.join(tmp, "catalog.db"))
    timings(db, "without statistics (a catalog as otelcat writes it)")


def timings(db, what):
    import yaml
    import cookbook

    def run(q):
        ts, rows = [], None
        for _ in range(5):
            t = time.process_time()
            rows = db.execute(q).fetchall()
            ts.append((time.process_time() - t) * 1000)
        return rows, statistics.median(ts)

    with open(os.path.join(ROOT, "examples", "datasette", "metadata.yml")) as f:
        noisiest = yaml.safe_load(f)["databases"]["catalog"]["queries"]["noisiest_services"]["sql"]
    cook = next(q for q in cookbook.QUESTIONS if "service_overview" in q[2])
    print(f"\n{what}:\n\n| query | rows | service totals (ms) | former SQL, same run (ms) |")
    print("| --- | ---: | ---: | ---: |")
    for name, q in [("service_overview (whole)", "SELECT * FROM service_overview"),
                    ("instance_like_services LIMIT 20", "SELECT * FROM instance_like_services LIMIT 20"),
                    ("dashboard noisiest_services", noisiest),
                    (f"cookbook: {cook[0]}", cook[2]),
                    ("report: services by bytes (no bytes > 0 filter: bench rows have none)",
                     "SELECT signal, service_name, records, bytes, bytes_per_record "
                     "FROM service_bytes LIMIT 10")]:
        old = q.replace("service_overview", f"({OLD_SERVICE_OVERVIEW})").replace(
            "instance_like_services", f"({OLD_INSTANCE_LIKE_SERVICES})").replace("service_bytes", f"({OLD_SERVICE_BYTES})")
        new_rows, a = run(q)
        old_rows, b = run(old)
        assert new_rows == old_rows, name
        print(f"| {name} | {len(new_rows):,} | {a:.1f} | {b:.1f} |")


if __name__ == "__main__":
    main()
