#!/usr/bin/python3
"""make bench-queries: latency of the catalog's query patterns (sql/views.sql) on a
catalog of 100 000 metrics (plus as many span names, 5 severities x 1 000
services of templates), then the CPU time of the semantic-convention checks
(the semconv_* views, whole catalog) on it; before those, every query the
Datasette dashboard, the cookbook and `otelcat report` run.

The catalog is synthesised directly in the tables (not timed): each metric has
3 services and 6 keys with sketches and samples, each span 3 services and 8
keys; each service row one instrumentation scope (3 per service and signal),
each service 3 log event names. The keys are named as real telemetry names them: convention keys,
deprecated ones (http.method, a k8s.pod.labels.* template key), a misspelled
one, a custom one (user_id), with one value in a hundred of the wrong type;
value types as in a catalog upgraded from 0.2.0 (one span key row in ten
from before the upgrade, '{}'); the first 541 metrics carry the names of the
conventions' metrics (with the unit "ms", all monotonic Sums, one of each
metric's 3 services sending a non-monotonic one), and every span is an HTTP
server span lacking some attributes.
Each query pattern runs 2 000 times with random parameters; the median and
the 99th percentile of wall time are reported. Each check view is read whole
3 times; the median CPU time (time.process_time) is reported. One connection,
one core, file database.
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
    # Metric names: the conventions' own for the first ones (semconv_metrics, all 541), then metric.N.
    db.execute("CREATE TEMP TABLE conv(v INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO conv SELECT row_number() OVER (ORDER BY name) - 1, name FROM semconv_metrics")
    db.execute(f"""INSERT INTO metrics(name, type, unit, description, total_sample_count, estimated_active_series, first_seen, last_seen,
        is_monotonic)
        {s} SELECT coalesce((SELECT name FROM conv WHERE conv.v = s.v), 'metric.' || v), 'Sum', 'ms', 'metric number ' || v, 1000, 10,
        '2026-11-01 00:00:00', '2026-11-28 00:00:00', 1 FROM s""")
    db.execute("CREATE TEMP TABLE mname AS SELECT rowid - 1 AS v, name FROM metrics")
    # Every metric a monotonic Sum, but its third service sends a non-monotonic one.
    db.execute("""INSERT INTO metric_services(metric_name, service_name, sample_count, first_seen, last_seen, type, is_monotonic)
        WITH k(j) AS (VALUES (0), (1), (2)) SELECT m.name, 'service-' || ((m.v + j * 7) % 1000), 333, '2026-11-01 00:00:00',
        '2026-11-28 00:00:00', 'Sum', iif(j = 2, 0, 1) FROM mname m, k""")
    # Labels: a convention key, a deprecated one, a misspelled one, a custom one; resource: two.
    mkeys = "(VALUES (0, 'http.request.method'), (1, 'http.method'), (2, 'http.reponse.status_code'), (3, 'user_id'), " \
            "(4, 'service.name'), (5, 'k8s.pod.labels.app'))"
    db.execute(f"""INSERT INTO metric_key_rows(metric_name, key_scope, key_name, key_count, estimated_cardinality,
        value_samples, hll_sketch, first_seen, last_seen, value_types)
        WITH k(j, key) AS {mkeys} SELECT m.name, iif(j < 4, 'label', 'resource'), k.key,
        1000, 3, iif(j = 0, '["GET","POST","PUT"]', '["a","b","c"]'), hll_add(hll_add(hll_add(NULL, 'a'), 'b'), 'c'), '2026-11-01 00:00:00', '2026-11-28 00:00:00',
        iif(j = 2, '{{"int":1000}}', '{{"string":1000}}')
        FROM mname m, k""")
    db.execute(f"""INSERT INTO spans(name, kind, total_sample_count, first_seen, last_seen)
        {s} SELECT 'span.' || v, 'Server', 1000, '2026-11-01 00:00:00', '2026-11-28 00:00:00' FROM s""")
    db.execute(f"""INSERT INTO span_services(span_name, service_name, sample_count, first_seen, last_seen)
        {s}, k(j) AS (VALUES (0), (1), (2)) SELECT 'span.' || v, 'service-' || ((v + j * 7) % 1000), 333, '2026-11-01 00:00:00',
        '2026-11-28 00:00:00' FROM s, k""")
    # Attributes of an HTTP server span, some old (http.method, http.status_code: an int, sent as the string
    # "200 OK" by a tenth of the records of one span name in a hundred), a custom userId; resource: two. Value
    # types as a catalog upgraded from 0.2.0 holds them: one key row in ten from before the upgrade ({},
    # judged from its samples).
    skeys = "(VALUES (0, 'http.request.method'), (1, 'url.path'), (2, 'http.method'), (3, 'http.status_code'), " \
            "(4, 'userId'), (5, 'custom.key'), (6, 'service.name'), (7, 'host.name'))"
    db.execute(f"""INSERT INTO span_key_rows(span_name, key_scope, key_name, event_name, key_count, estimated_cardinality,
        value_samples, hll_sketch, first_seen, last_seen, value_types)
        {s}, k(j, key) AS {skeys} SELECT 'span.' || v, iif(j < 6, 'attribute', 'resource'),
        k.key, '', 1000, 3, CASE WHEN j = 3 THEN iif(v % 100 = 0, '["200","200 OK"]', '["200","404"]')
        WHEN j = 0 THEN '["GET","POST","PUT"]' ELSE '["a","b","c"]' END,
        hll_add(NULL, 'a'), '2026-11-01 00:00:00', '2026-11-28 00:00:00',
        CASE WHEN v % 10 = 5 THEN '{{}}' WHEN j <> 3 THEN '{{"string":1000}}'
             WHEN v % 100 = 0 THEN '{{"int":900,"string":100}}' ELSE '{{"int":1000}}' END FROM s, k""")
    sev = "(VALUES ('TRACE'), ('DEBUG'), ('INFO'), ('WARN'), ('ERROR'))"
    db.execute(f"INSERT INTO logs(severity, total_sample_count) SELECT column1, 1000000 FROM {sev}")
    db.execute(f"""INSERT INTO log_services(severity, service_name, sample_count)
        WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < 999) SELECT column1, 'service-' || v, 1000 FROM {sev}, s""")
    db.execute(f"""INSERT INTO log_body_template_rows(severity, service_name, cluster_id, template, example, count)
        WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < 999), t(j) AS (VALUES (1),(2),(3),(4),(5),(6),(7),(8),(9),(10),(11),(12),(13),(14),(15),(16),(17),(18),(19),(20))
        SELECT column1, 'service-' || v, j, 'template ' || j || ' <*>', 'template ' || j || ' 42', j * 10 FROM {sev}, s, t""")
    # Instrumentation scopes: each service row's records from one of 3 scopes
    # of its service (1 000 services x 3 scopes), as the SDKs' libraries send
    # them; 3 log event names per service. service_overview lists each
    # service's scopes and event names (a search of its index ranges).
    for t, e in (("metric", "metric_name"), ("span", "span_name"), ("log", "severity")):
        db.execute(f"""INSERT INTO {t}_scopes({e}, service_name, scope_name, scope_version, sample_count, first_seen, last_seen)
            SELECT {e}, service_name, 'io.opentelemetry.' || '{t}.' || (length({e}) % 3), '1.' || (length(service_name) % 2),
            sample_count, first_seen, last_seen FROM {t}_services""")
    db.execute("""INSERT INTO log_events(event_name, total_sample_count) VALUES ('app.login', 3000), ('app.logout', 3000),
        ('browser.page_view', 3000)""")
    db.execute("""INSERT INTO log_event_services(event_name, service_name, sample_count)
        WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < 999) SELECT e.event_name, 'service-' || v, 3
        FROM log_events e, s""")
    # Key rows written with SQL: their totals are built at the end, as every
    # writer other than otlp_ingest does (docs/catalog.md "Key totals").
    db.execute("SELECT otelcat_refresh_totals()")
    db.execute("COMMIT")
    db.execute("ANALYZE")


CHECKS = ["semconv_deprecated_keys", "semconv_type_mismatches", "semconv_metric_mismatches", "semconv_unknown_keys",
          "semconv_similar_keys", "semconv_coverage", "semconv_missing_attributes"]


def checks(db):
    """CPU time of each semantic-convention check view read whole, and of
    otelcat check --semconv's query (all of them)."""
    sys.path.insert(0, os.path.join(ROOT, "python"))
    from otelcat.check import semconv_query
    print("\n| check (whole catalog) | rows | median CPU (s) | runs (s) |")
    print("| --- | ---: | ---: | --- |")
    work = [(f"`SELECT * FROM {v}`", f"SELECT * FROM {v}", {}) for v in CHECKS]
    work.append(("`otelcat check --semconv` (its query)", semconv_query(db), {"allow": "[]"}))
    for name, sql, params in work:
        times, n = [], 0
        for _ in range(3):
            t = time.process_time()
            n = len(db.execute(sql, params).fetchall())
            times.append(time.process_time() - t)
        print(f"| {name} | {n:,} | {statistics.median(times):.2f} | {', '.join(f'{x:.2f}' for x in times)} |")


# The whole-catalog and top-N views the report, the cookbook and the
# dashboard read (issue goals: a top-N view < 10 ms, a whole-catalog
# aggregate < 200 ms), each read as those callers read it.
VIEWS = [
    ("key_cardinality", "SELECT * FROM key_cardinality LIMIT 20"),
    ("key_bytes", "SELECT * FROM key_bytes LIMIT 20"),
    ("key_mixed_types", "SELECT * FROM key_mixed_types LIMIT 20"),
    ("attribute_catalog", "SELECT * FROM attribute_catalog"),
    ("service_overview", "SELECT * FROM service_overview"),
    ("instance_like_services", "SELECT * FROM instance_like_services LIMIT 20"),
    ("metric_prometheus_series", "SELECT * FROM metric_prometheus_series LIMIT 20"),
    ("metric_shape_conflicts", "SELECT * FROM metric_shape_conflicts LIMIT 20"),
    ("span_status", "SELECT * FROM span_status LIMIT 20"),
    ("span_name_explosions", "SELECT * FROM span_name_explosions LIMIT 20"),
    ("template_keys", "SELECT * FROM template_keys LIMIT 20"),
    ("top_log_templates", "SELECT * FROM top_log_templates LIMIT 20"),
]


def views(db):
    """CPU time of each view read as its callers read it, and its plan."""
    print("\n| view | query | rows | median CPU (ms) | plan |")
    print("| --- | --- | ---: | ---: | --- |")
    for name, sql in VIEWS:
        times, n = [], 0
        for _ in range(3):
            t = time.process_time()
            n = len(db.execute(sql).fetchall())
            times.append(time.process_time() - t)
        plan = " / ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql))
        print(f"| {name} | `{sql}` | {n:,} | {statistics.median(times) * 1000:.1f} | {plan[:160]} |")


def callers(db):
    """CPU time of every query the Datasette dashboard (canned queries of
    examples/datasette/metadata.yml, with an existing name and with empty
    parameters), the cookbook (tools/cookbook.py) and `otelcat report` run,
    slowest first. Goals (issue 16): a lookup by name < 1 ms, a top N < 10
    ms, a whole-catalog aggregate < 200 ms."""
    import re
    sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "python")]
    work = []
    try:
        import yaml
        with open(os.path.join(ROOT, "examples", "datasette", "metadata.yml")) as f:
            canned = yaml.safe_load(f)["databases"]["catalog"]["queries"]
    except ImportError:
        canned = {}
        print("\n(PyYAML is not installed: the dashboard's canned queries are left out)")
    names = {"metric": "metric.50000", "span": "span.50000", "service": "service-5", "severity": "INFO",
             "key": "user_id", "entity": "metric.50000"}
    for name, q in canned.items():
        params = {p: "" for p in re.findall(r":(\w+)", q["sql"])}
        given = {p: names[p] for p in params if p in names}
        if given:
            work.append((f"dashboard `{name}` {given}", q["sql"], {**params, **given}))
        work.append((f"dashboard `{name}` (empty parameters)", q["sql"], params))
    import cookbook
    for i, (question, _, sql) in enumerate(cookbook.QUESTIONS, 1):
        work.append((f"cookbook {i}: {question}", sql, {}))
    rows = []
    for label, sql, params in work:
        t = time.process_time()
        n = len(db.execute(sql, params).fetchall())
        rows.append(((time.process_time() - t) * 1000, label, n))
    from otelcat import report

    class Timed:
        def execute(self, sql, params=()):
            t = time.process_time()
            r = db.execute(sql, params).fetchall()
            rows.append(((time.process_time() - t) * 1000, "report: " + " ".join(sql.split())[:90], len(r)))
            return _Rows(r)

    report.sections(Timed(), 10, 3)
    print("\n| query (dashboard, cookbook, report) | rows | CPU (ms) |")
    print("| --- | ---: | ---: |")
    for ms, label, n in sorted(rows, reverse=True):
        if ms >= 0.05:
            print(f"| {label} | {n:,} | {ms:.1f} |")


class _Rows:
    def __init__(self, rows):
        self.rows = rows

    def fetchall(self):
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None


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
    views(db)
    callers(db)
    checks(db)


if __name__ == "__main__":
    main()
