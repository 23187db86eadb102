#!/usr/bin/python3
"""make bench-queries: latency of the seed's query patterns (sql/views.sql) on a
catalog of 100 000 metrics (plus as many span names, 5 severities x 1 000
services of templates).

The catalog is synthesised directly in the tables (not timed): each metric has
3 services and 6 keys with sketches and samples, each span 3 services and 8
keys. Each query runs 2 000 times with random parameters; the median and the
99th percentile are reported. One connection, one core, file database.
"""
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "dist", "otelcat")
N = 100_000


def connect(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    return db


def build(db):
    with open(os.path.join(ROOT, "sql", "schema.sql")) as f:
        db.executescript(f.read())
    with open(os.path.join(ROOT, "sql", "views.sql")) as f:
        db.executescript(f.read())
    s = f"WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < {N - 1})"
    db.execute("BEGIN")
    db.execute(f"""INSERT INTO metrics(name, type, unit, description, total_sample_count, estimated_active_series, first_seen, last_seen)
        {s} SELECT 'metric.' || v, 'Sum', '1', 'metric number ' || v, 1000, 10, '2026-11-01 00:00:00', '2026-11-28 00:00:00' FROM s""")
    db.execute(f"""INSERT INTO metric_services(metric_name, service_name, sample_count, first_seen, last_seen)
        {s}, k(j) AS (VALUES (0), (1), (2)) SELECT 'metric.' || v, 'service-' || ((v + j * 7) % 1000), 333, '2026-11-01 00:00:00',
        '2026-11-28 00:00:00' FROM s, k""")
    db.execute(f"""INSERT INTO metric_keys(metric_name, key_scope, key_name, key_count, key_percentage, estimated_cardinality,
        value_samples, hll_sketch, first_seen, last_seen)
        {s}, k(j) AS (VALUES (0), (1), (2), (3), (4), (5)) SELECT 'metric.' || v, iif(j < 4, 'label', 'resource'), 'key.' || j,
        1000, 100.0, 3, '["a","b","c"]', hll_add(hll_add(hll_add(NULL, 'a'), 'b'), 'c'), '2026-11-01 00:00:00', '2026-11-28 00:00:00'
        FROM s, k""")
    db.execute(f"""INSERT INTO spans(name, kind, total_sample_count, first_seen, last_seen)
        {s} SELECT 'span.' || v, 'Server', 1000, '2026-11-01 00:00:00', '2026-11-28 00:00:00' FROM s""")
    db.execute(f"""INSERT INTO span_services(span_name, service_name, sample_count, first_seen, last_seen)
        {s}, k(j) AS (VALUES (0), (1), (2)) SELECT 'span.' || v, 'service-' || ((v + j * 7) % 1000), 333, '2026-11-01 00:00:00',
        '2026-11-28 00:00:00' FROM s, k""")
    db.execute(f"""INSERT INTO span_keys(span_name, key_scope, key_name, event_name, key_count, key_percentage, estimated_cardinality,
        value_samples, hll_sketch, first_seen, last_seen)
        {s}, k(j) AS (VALUES (0), (1), (2), (3), (4), (5), (6), (7)) SELECT 'span.' || v, iif(j < 6, 'attribute', 'resource'),
        'key.' || j, '', 1000, 100.0, 3, '["a","b","c"]', hll_add(NULL, 'a'), '2026-11-01 00:00:00', '2026-11-28 00:00:00' FROM s, k""")
    sev = "(VALUES ('TRACE'), ('DEBUG'), ('INFO'), ('WARN'), ('ERROR'))"
    db.execute(f"INSERT INTO logs(severity, total_sample_count) SELECT column1, 1000000 FROM {sev}")
    db.execute(f"""INSERT INTO log_services(severity, service_name, sample_count)
        WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < 999) SELECT column1, 'service-' || v, 1000 FROM {sev}, s""")
    db.execute(f"""INSERT INTO log_body_templates(severity, service_name, cluster_id, template, example, count, percentage)
        WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < 999), t(j) AS (VALUES (1),(2),(3),(4),(5),(6),(7),(8),(9),(10),(11),(12),(13),(14),(15),(16),(17),(18),(19),(20))
        SELECT column1, 'service-' || v, j, 'template ' || j || ' <*>', 'template ' || j || ' 42', j * 10, j FROM {sev}, s, t""")
    db.execute("COMMIT")
    db.execute("ANALYZE")


def main():
    tmp = tempfile.mkdtemp(prefix="bench-queries-")
    db = connect(os.path.join(tmp, "catalog.db"))
    t = time.perf_counter()
    build(db)
    print(f"# bench-queries {time.strftime('%Y-%m-%d')}, SQLite {sqlite3.sqlite_version}; "
          f"catalog of {N:,} metrics and {N:,} span names built in {time.perf_counter() - t:.1f} s\n")
    rnd = random.Random(1)
    queries = [
        ("metrics of a service", "SELECT * FROM service_metrics WHERE service_name = ?", lambda: (f"service-{rnd.randrange(1000)}",)),
        ("spans of a service", "SELECT * FROM service_spans WHERE service_name = ?", lambda: (f"service-{rnd.randrange(1000)}",)),
        ("log severities of a service", "SELECT * FROM service_log_severities WHERE service_name = ?", lambda: (f"service-{rnd.randrange(1000)}",)),
        ("a metric with all details (document)", "SELECT document FROM metric_metadata WHERE name = ?", lambda: (f"metric.{rnd.randrange(N)}",)),
        ("a span with all details (document)", "SELECT document FROM span_metadata WHERE name = ?", lambda: (f"span.{rnd.randrange(N)}",)),
        ("top-10 templates of a severity and service", "SELECT * FROM top_log_templates WHERE severity = ? AND service_name = ? LIMIT 10",
         lambda: (rnd.choice(["INFO", "WARN", "ERROR"]), f"service-{rnd.randrange(1000)}")),
        ("keys of a metric", "SELECT * FROM metric_keys WHERE metric_name = ?", lambda: (f"metric.{rnd.randrange(N)}",)),
    ]
    print("| query | rows | median (ms) | p99 (ms) |")
    print("| --- | ---: | ---: | ---: |")
    worst = 0.0
    for name, sql, params in queries:
        plan = " / ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, params()))
        times, rows = [], 0
        for _ in range(2000):
            p = params()
            t = time.perf_counter()
            rows = len(db.execute(sql, p).fetchall())
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        med, p99 = statistics.median(times), times[int(len(times) * 0.99)]
        worst = max(worst, med)
        print(f"| {name}: `{sql}` | {rows} | {med:.3f} | {p99:.3f} |")
        print(f"|  plan: {plan} | | | |", file=sys.stderr)
    print(f"\nWorst median: {worst:.3f} ms (goal < 1 ms). Times include Python's sqlite3 call overhead.")


if __name__ == "__main__":
    main()
