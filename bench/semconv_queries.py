#!/usr/bin/python3
"""The semantic-convention and rare-key questions of the dashboard, the
cookbook and the semconv_* views, timed on `make bench-queries`' catalog
(bench_queries.build) with more violations: log keys (deprecated, unknown in
a namespace, mistyped, outside an enum, spelled two ways), span events
(exception events on one span name in ten, some lacking attributes) and
3 000 more key names (custom, unknown http.* and db.*) on three metrics each,
with few records (rare keys). CPU ms of one run (time.process_time), one
connection, a file database kept at PATH (built when absent).

  /usr/bin/python3 bench/semconv_queries.py PATH [ONLY]
"""
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "bench"), os.path.join(ROOT, "tools"), os.path.join(ROOT, "python")]
import bench_queries as bq  # noqa: E402


def build(path):
    db = bq.connect(path)
    bq.build(db)
    db.execute("BEGIN")
    db.execute("""INSERT INTO log_key_rows(severity, key_scope, key_name, key_count, estimated_cardinality, value_samples,
       hll_sketch, first_seen, last_seen, value_types)
       WITH k(j, key, vt, vs) AS (VALUES (0, 'http.method', '{"string":10}', '["GET"]'),
         (1, 'http.reponse.status_code', '{"int":10}', '["1"]'), (2, 'http.response.status_code', '{"string":10}', '["abc"]'),
         (3, 'user.id', '{"string":10}', '["u"]'), (4, 'user_id', '{"string":10}', '["u"]'),
         (5, 'http.request.method', '{"string":10}', '["FETCH"]'), (6, 'k8s.pod.labels.team', '{"string":10}', '["a"]'))
       SELECT l.severity, iif(j = 6, 'resource', 'attribute'), key, 10, 1, vs, NULL, '2026-11-01 00:00:00',
              '2026-11-28 00:00:00', vt
       FROM logs l, k""")
    db.execute("""INSERT INTO span_events(span_name, event_name, event_count, first_seen, last_seen)
       SELECT name, 'exception', 10, first_seen, last_seen FROM spans WHERE CAST(substr(name, 6) AS INT) % 10 = 0""")
    db.execute("""INSERT INTO span_key_rows(span_name, key_scope, key_name, event_name, key_count, estimated_cardinality,
       value_samples, hll_sketch, first_seen, last_seen, value_types)
       SELECT span_name, 'event', 'exception.message', 'exception', 10, 1, '["boom"]', NULL, first_seen, last_seen,
              '{"string":10}'
       FROM span_events WHERE CAST(substr(span_name, 6) AS INT) % 20 = 0
       UNION ALL
       SELECT span_name, 'event', 'exception.escaped', 'exception', 10, 1, '["yes"]', NULL, first_seen, last_seen, '{}'
       FROM span_events""")
    db.execute("""INSERT OR IGNORE INTO metric_key_rows(metric_name, key_scope, key_name, key_count, estimated_cardinality,
       value_samples, hll_sketch, first_seen, last_seen, value_types)
       WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < 2999), e(j) AS (VALUES (0), (1), (2))
       SELECT 'metric.' || (1000 + v * 7 + j * 13), 'label',
              CASE v % 3 WHEN 0 THEN 'custom_' || v WHEN 1 THEN 'http.custom' || v ELSE 'db.Query' || v END,
              1 + v % 5, 1, '["x"]', NULL, '2026-11-01 00:00:00', '2026-11-28 00:00:00', '{"string":1}'
       FROM s, e""")
    db.execute("SELECT otelcat_refresh_totals()")
    db.execute("COMMIT")
    db.execute("ANALYZE")
    return db


def main():
    import cookbook
    import yaml
    path = sys.argv[1]
    only = sys.argv[2] if len(sys.argv) > 2 else None
    db = bq.connect(path) if os.path.exists(path) else build(path)
    with open(os.path.join(ROOT, "examples", "datasette", "metadata.yml")) as f:
        canned = yaml.safe_load(f)["databases"]["catalog"]["queries"]
    work = []
    for name in ("convention_violations", "rare_keys"):
        sql = canned[name]["sql"]
        params = {p: "" for p in re.findall(r":(\w+)", sql)}
        work.append((f"dashboard `{name}` (empty parameters)", sql, params))
        if "key" in params:
            for key in ("user_id", "http.method"):
                work.append((f"dashboard `{name}` key={key}", sql, {**params, "key": key}))
    for i, (_, _, sql) in enumerate(cookbook.QUESTIONS, 1):
        if i in (23, 26, 27, 28, 29, 30, 31, 32):
            work.append((f"cookbook {i}", sql, {}))
    for v in bq.CHECKS:
        work.append((f"`SELECT * FROM {v}`", f"SELECT * FROM {v}", {}))
    print("| query | rows | CPU (ms) |\n| --- | ---: | ---: |")
    for label, sql, params in work:
        if only and only not in label:
            continue
        t = time.process_time()
        n = len(db.execute(sql, params).fetchall())
        print(f"| {label} | {n:,} | {(time.process_time() - t) * 1000:.1f} |", flush=True)


if __name__ == "__main__":
    main()
