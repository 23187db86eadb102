#!/usr/bin/python3
"""The dashboard's and cookbook's rankings over the key rows (rare keys, the
top values of a key, a metric's labels by cardinality) on make bench-queries'
catalog (bench_queries.build: 100 000 metrics and span names, 1.4 M key rows)
with what it lacks to exercise them, added here: rare keys (3 000 key names
on 3 metrics each and 1 000 span names with an attribute, 1 to 5 records
each), a busy metric and span name (10 M records, their keys on all of them:
the bench catalog's entities all have 1 000), and top values on the keys
user_id (every metric) and userId (every span name), as otlp_ingest writes
them (http.method has none, as in a catalog upgraded from 0.2.0). Each query
of this version and its former SQL (below) in one process, the same rows
(asserted), median CPU ms of 5 reads; with ANALYZE's statistics, then
without (otelcat never runs ANALYZE). The catalog is kept at PATH (built
when absent).

  /usr/bin/python3 bench/key_rankings_queries.py PATH
"""
import os
import re
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "bench"), os.path.join(ROOT, "tests"), os.path.join(ROOT, "tools")]
import bench_queries as bq  # noqa: E402
from test_views import TestDashboardRankings  # noqa: E402

FORMER_LABEL_CARDINALITY = TestDashboardRankings.FORMER_LABEL_CARDINALITY

# The SQL before this version (rare keys: one bound per signal, p % of the
# most records an entity of the signal has).
FORMER_RARE_KEYS = """
WITH p(percent) AS (SELECT coalesce(CAST(nullif(:percent, '') AS REAL), 10)),
bound(metrics, spans, logs) AS (SELECT
  percent * coalesce((SELECT max(total_sample_count) FROM metrics), 0) / 100.0 + 1,
  percent * max(coalesce((SELECT max(total_sample_count) FROM spans), 0), coalesce((SELECT max(link_count) FROM spans), 0),
                coalesce((SELECT max(event_count) FROM span_events), 0)) / 100.0 + 1,
  percent * coalesce((SELECT max(total_sample_count) FROM logs), 0) / 100.0 + 1 FROM p)
SELECT signal, entity, key_scope, key_name, event_name, round(key_percentage, 2) AS key_percentage, key_count,
       estimated_cardinality, value_samples
FROM (
  SELECT 'metrics' AS signal, metric_name AS entity, key_scope, key_name, '' AS event_name, key_percentage, key_count,
         estimated_cardinality, value_samples FROM metric_keys WHERE key_count <= (SELECT metrics FROM bound)
  UNION ALL
  SELECT 'spans', span_name, key_scope, key_name, event_name, key_percentage, key_count, estimated_cardinality, value_samples
  FROM span_keys WHERE key_count <= (SELECT spans FROM bound)
  UNION ALL
  SELECT 'logs', severity, key_scope, key_name, '', key_percentage, key_count, estimated_cardinality, value_samples
  FROM log_keys WHERE key_count <= (SELECT logs FROM bound))
WHERE key_percentage < (SELECT percent FROM p)
ORDER BY key_percentage, signal, entity, key_name
LIMIT 1000"""

FORMER_COOKBOOK_RARE = """WITH bound(metrics, spans, logs) AS (SELECT (SELECT max(total_sample_count) FROM metrics) * 0.05 + 1,
    max((SELECT max(total_sample_count) FROM spans), (SELECT max(link_count) FROM spans),
        coalesce((SELECT max(event_count) FROM span_events), 0)) * 0.05 + 1,
    (SELECT max(total_sample_count) FROM logs) * 0.05 + 1)
SELECT signal, entity, key_scope, key_name, key_count, round(key_percentage, 2) AS pct FROM (
  SELECT 'metrics' AS signal, metric_name AS entity, key_scope, key_name, key_count, key_percentage
  FROM metric_keys WHERE key_count <= (SELECT metrics FROM bound)
  UNION ALL SELECT 'spans', span_name, key_scope, key_name, key_count, key_percentage
  FROM span_keys WHERE key_count <= (SELECT spans FROM bound)
  UNION ALL SELECT 'logs', severity, key_scope, key_name, key_count, key_percentage
  FROM log_keys WHERE key_count <= (SELECT logs FROM bound))
WHERE key_percentage < 5 ORDER BY key_percentage LIMIT 8;"""


def build(path):
    db = bq.connect(path)
    bq.build(db)
    db.execute("BEGIN")
    # Rare keys: as bench/semconv_queries.py adds them (3 000 key names on 3
    # metrics each), and an attribute on 1 000 span names, 1 to 5 records.
    db.execute("""INSERT OR IGNORE INTO metric_key_rows(metric_name, key_scope, key_name, key_count, estimated_cardinality,
       value_samples, hll_sketch, first_seen, last_seen, value_types)
       WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < 2999), e(j) AS (VALUES (0), (1), (2))
       SELECT 'metric.' || (1000 + v * 7 + j * 13), 'label', 'custom_' || v, 1 + v % 5, 1, '["x"]', NULL,
              '2026-11-01 00:00:00', '2026-11-28 00:00:00', '{"string":1}'
       FROM s, e""")
    db.execute("""INSERT OR IGNORE INTO span_key_rows(span_name, key_scope, key_name, event_name, key_count, estimated_cardinality,
       value_samples, hll_sketch, first_seen, last_seen, value_types)
       WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < 999)
       SELECT 'span.' || (v * 97), 'attribute', 'retry.reason', '', 1 + v % 5, 1, '["x"]', NULL,
              '2026-11-01 00:00:00', '2026-11-28 00:00:00', '{"string":1}' FROM s""")
    # A busy metric and span name: 10 M records, their keys on all of them.
    db.execute("UPDATE metrics SET total_sample_count = 10000000 WHERE name = 'metric.7'")
    db.execute("UPDATE metric_key_rows SET key_count = 10000000 WHERE metric_name = 'metric.7'")
    db.execute("UPDATE spans SET total_sample_count = 10000000 WHERE name = 'span.7'")
    db.execute("UPDATE span_key_rows SET key_count = 10000000 WHERE span_name = 'span.7'")
    # Top values, as otlp_ingest writes them, on user_id and userId.
    sketch = db.execute("SELECT topk_sketch(v) FROM (SELECT 'u1' AS v UNION ALL SELECT 'u1' UNION ALL SELECT 'u1' UNION ALL SELECT 'u2' "
                        "UNION ALL SELECT 'u2' UNION ALL SELECT 'u3')").fetchone()[0]
    for table, key in (("metric_key_rows", "user_id"), ("span_key_rows", "userId")):
        db.execute(f"UPDATE {table} SET top_sketch = ?1, top_values = topk_counts(?1, 10) WHERE key_name = ?2", (sketch, key))
    db.execute("SELECT otelcat_refresh_totals()")
    db.execute("COMMIT")
    db.execute("ANALYZE")
    return db


def main():
    import cookbook
    import yaml
    path = sys.argv[1]
    db = bq.connect(path) if os.path.exists(path) else build(path)
    with open(os.path.join(ROOT, "examples", "datasette", "metadata.yml")) as f:
        canned = yaml.safe_load(f)["databases"]["catalog"]["queries"]
    rare = next(sql for q, _, sql in cookbook.QUESTIONS if q.startswith("Which keys are present on less than"))
    label = canned["metric_label_cardinality"]["sql"]
    # metric_label_cardinality's former SQL runs without the index
    # idx_metric_keys_cardinality_names, as before it (dropped in a
    # transaction rolled back after).
    work = [
        ("dashboard `rare_keys` (default 10 %)", canned["rare_keys"]["sql"], FORMER_RARE_KEYS, {"percent": ""}, None),
        ("dashboard `rare_keys` 50 %", canned["rare_keys"]["sql"], FORMER_RARE_KEYS, {"percent": "50"}, None),
        ("cookbook 23 (keys on < 5 % of records)", rare, FORMER_COOKBOOK_RARE, {}, None),
        ("dashboard `top_values_of_key` user_id (every metric)", canned["top_values_of_key"]["sql"],
         TestDashboardRankings.FORMER_TOP_VALUES, {"key": "user_id"}, None),
        ("dashboard `top_values_of_key` userId (every span name)", canned["top_values_of_key"]["sql"],
         TestDashboardRankings.FORMER_TOP_VALUES, {"key": "userId"}, None),
        ("dashboard `top_values_of_key` http.method (no top values)", canned["top_values_of_key"]["sql"],
         TestDashboardRankings.FORMER_TOP_VALUES, {"key": "http.method"}, None),
        ("dashboard `metric_label_cardinality` (every metric)", label, FORMER_LABEL_CARDINALITY, {"metric": ""},
         "idx_metric_keys_cardinality_names"),
        ("dashboard `metric_label_cardinality` metric.5*", label, FORMER_LABEL_CARDINALITY, {"metric": "metric.5*"},
         "idx_metric_keys_cardinality_names"),
    ]
    timings(db, work, "with ANALYZE's statistics (as make bench-queries)")
    db.execute("DELETE FROM sqlite_stat1")
    db.close()
    db = bq.connect(path)
    timings(db, work, "without statistics (a catalog as otelcat writes it)")
    db.execute("ANALYZE")


def timings(db, work, what):
    def run(q, params):
        ts, rows = [], None
        for _ in range(5):
            t = time.process_time()
            rows = db.execute(q, params).fetchall()
            ts.append((time.process_time() - t) * 1000)
        return rows, statistics.median(ts)

    print(f"\n{what}:\n\n| query | rows | this version (ms) | former SQL, same run (ms) |")
    print("| --- | ---: | ---: | ---: |")
    for name, new, old, params, drop in work:
        params = {p: params.get(p, "") for p in re.findall(r":(\w+)", new)}
        new_rows, a = run(new, params)
        if drop:
            db.execute("BEGIN")
            db.execute(f"DROP INDEX {drop}")
        old_rows, b = run(old, params)
        if drop:
            db.execute("ROLLBACK")
        # Rows tied on every sort key may come in another order.
        assert sorted(new_rows, key=repr) == sorted(old_rows, key=repr), name
        print(f"| {name} | {len(new_rows):,} | {a:.1f} | {b:.1f} |")


if __name__ == "__main__":
    main()
