"""examples/spark/etl.py: the otelcat catalog computed by Spark SQL directly
from Collector JSON Lines files (the file exporter's OTLP/JSON, one export
request a line: traces, metrics and logs may be mixed), written as a
catalog file otelcat opens: examples/etl.sql's logic in Spark.

    python examples/spark/etl.py --out catalog.db telemetry/*.jsonl

It computes metrics, metric_services, metric_keys, spans, span_services,
span_events, span_keys, logs, log_services and log_keys as otlp_ingest does
(tests/spark_test.py checks it against `otelcat ingest` of the same file):
the same counts, times, sample lists and percentages, and sketches of the
same values (Spark's hll_sketch_agg over each value's text, UTF-8, lg_k 12:
the registers otlp_ingest writes, so hll_merge merges them with otelcat's
and `otelcat merge` / fleet_merge.py combine this catalog with others).

Not computed: the columns of schema version 3 (metric shape and
Prometheus series, metric_services.type/temporality/is_monotonic, span
status counts: NULL or 0 here), and log_body_templates, log_template_keys and span_name_patterns
(Drain templates are otelcat's engine, not Spark's: ingest into a catalog,
then merge). Known differences from otlp_ingest (docs/interop.md):
- values' text (docs/catalog.md): a double prints as an integer when whole
  (below 1e21), else as Spark prints it with otelcat's exponent spelling
  (1e21, 1.5e-7); this differs from otelcat's for 1e-6 <= |x| < 0.001
  (otelcat 0.0001, here 1e-4) and where Java 17's digits are not the
  shortest; arrays and maps of scalars are compact JSON as otelcat writes
  them, but values nested two levels deep keep the file's own spelling;
- sample lists take values in the order Spark reads them: one file in line
  order; several files in the order Spark packs them (largest first);
- a record without a timestamp gets the time of this run.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import otelcat_spark  # noqa: E402

# OTLP/JSON AnyValue. Nested values (the elements of arrays and the values
# of maps) are read as their raw JSON text (Spark's JSON reader gives an
# object's text for a STRING field) and parsed again as SCALAR.
SCALAR = ("STRUCT<stringValue: STRING, intValue: STRING, boolValue: BOOLEAN, doubleValue: DOUBLE, "
          "bytesValue: STRING, arrayValue: STRING, kvlistValue: STRING>")
ANYVALUE = ("STRUCT<stringValue: STRING, intValue: STRING, boolValue: BOOLEAN, doubleValue: DOUBLE, "
            "bytesValue: STRING, arrayValue: STRUCT<`values`: ARRAY<STRING>>, "
            "kvlistValue: STRUCT<`values`: ARRAY<STRUCT<key: STRING, value: STRING>>>>")
ATTRS = f"ARRAY<STRUCT<key: STRING, value: {ANYVALUE}>>"
RESOURCE = f"STRUCT<attributes: {ATTRS}>"
POINTS = f"STRUCT<dataPoints: ARRAY<STRUCT<timeUnixNano: STRING, attributes: {ATTRS}>>>"
REQUEST = f"""
resourceSpans ARRAY<STRUCT<resource: {RESOURCE}, scopeSpans: ARRAY<STRUCT<spans: ARRAY<STRUCT<
  name: STRING, kind: STRING, startTimeUnixNano: STRING, attributes: {ATTRS},
  events: ARRAY<STRUCT<name: STRING, timeUnixNano: STRING, attributes: {ATTRS}>>,
  links: ARRAY<STRUCT<attributes: {ATTRS}>>>>>>>>,
resourceMetrics ARRAY<STRUCT<resource: {RESOURCE}, scopeMetrics: ARRAY<STRUCT<metrics: ARRAY<STRUCT<
  name: STRING, unit: STRING, description: STRING,
  gauge: {POINTS}, sum: {POINTS}, histogram: {POINTS}, exponentialHistogram: {POINTS}, summary: {POINTS}>>>>>>,
resourceLogs ARRAY<STRUCT<resource: {RESOURCE}, scopeLogs: ARRAY<STRUCT<logRecords: ARRAY<STRUCT<
  timeUnixNano: STRING, observedTimeUnixNano: STRING, severityNumber: INT, severityText: STRING,
  attributes: {ATTRS}>>>>>>
"""


def double_text(x):
    """otelcat's text of a double (see the module docstring for where Spark's differs)."""
    return f"""CASE WHEN isnan({x}) THEN 'NaN' WHEN {x} = double('Infinity') THEN 'Infinity'
  WHEN {x} = double('-Infinity') THEN '-Infinity'
  WHEN {x} = 0 THEN if(CAST({x} AS STRING) LIKE '-%', '-0', '0')
  WHEN {x} = rint({x}) AND abs({x}) < 1e21D THEN CAST(CAST({x} AS DECIMAL(38, 0)) AS STRING)
  ELSE replace(replace(lower(CAST({x} AS STRING)), '.0e', 'e'), 'e+', 'e') END"""


def quoted(s):
    """A string as a JSON string."""
    return f"substr(to_json(named_struct('s', {s})), 6, length(to_json(named_struct('s', {s}))) - 6)"


def nested_json(x):
    """A nested AnyValue as the JSON element otelcat writes inside an array
    or map; `x` is named_struct('raw', its JSON text, 'v', it parsed as
    SCALAR)."""
    v = f"{x}.v"
    return f"""CASE WHEN {v}.stringValue IS NOT NULL THEN {quoted(f'{v}.stringValue')}
  WHEN {v}.intValue IS NOT NULL THEN {v}.intValue
  WHEN {v}.boolValue IS NOT NULL THEN if({v}.boolValue, 'true', 'false')
  WHEN {v}.doubleValue IS NOT NULL THEN if(isnan({v}.doubleValue) OR abs({v}.doubleValue) = double('Infinity'),
       concat('"', {double_text(f'{v}.doubleValue')}, '"'), {double_text(f'{v}.doubleValue')})
  WHEN {v}.bytesValue IS NOT NULL THEN {quoted(f'{v}.bytesValue')}
  WHEN {v}.arrayValue IS NOT NULL OR {v}.kvlistValue IS NOT NULL THEN {x}.raw
  ELSE 'null' END"""


def parsed(raw):
    return f"named_struct('raw', {raw}, 'v', from_json({raw}, '{SCALAR}'))"


def value_text(v):
    """The text of an attribute value (docs/catalog.md, "Values as text")."""
    return f"""CASE WHEN {v}.stringValue IS NOT NULL THEN {v}.stringValue
  WHEN {v}.intValue IS NOT NULL THEN {v}.intValue
  WHEN {v}.boolValue IS NOT NULL THEN if({v}.boolValue, 'true', 'false')
  WHEN {v}.doubleValue IS NOT NULL THEN {double_text(f'{v}.doubleValue')}
  WHEN {v}.bytesValue IS NOT NULL THEN {v}.bytesValue
  WHEN {v}.arrayValue IS NOT NULL THEN concat('[', array_join(transform(transform({v}.arrayValue.`values`, e -> {parsed('e')}), x -> {nested_json('x')}), ','), ']')
  WHEN {v}.kvlistValue IS NOT NULL THEN concat('{{', array_join(transform(transform({v}.kvlistValue.`values`,
       e -> named_struct('key', e.key, 'x', {parsed('e.value')})), e -> concat({quoted('e.key')}, ':', {nested_json('e.x')})), ','), '}}')
  ELSE '' END"""


def datetime(ns):
    """Nanoseconds since the epoch (text) as SQLite datetime() text; the time
    of this run when absent or 0."""
    return (f"if(coalesce(CAST({ns} AS DECIMAL(20, 0)), 0) = 0, date_format(current_timestamp(), 'yyyy-MM-dd HH:mm:ss'), "
            f"from_unixtime(CAST(CAST({ns} AS DECIMAL(20, 0)) DIV 1000000000 AS BIGINT), 'yyyy-MM-dd HH:mm:ss'))")


SERVICE = f"coalesce(element_at(filter(transform(res, a -> named_struct('k', a.key, 'v', {value_text('a.value')})), "\
          "x -> x.k = 'service.name'), -1).v, 'unknown_service')"
KIND = """CASE upper(kind) WHEN '1' THEN 'Internal' WHEN 'SPAN_KIND_INTERNAL' THEN 'Internal'
  WHEN '2' THEN 'Server' WHEN 'SPAN_KIND_SERVER' THEN 'Server' WHEN '3' THEN 'Client' WHEN 'SPAN_KIND_CLIENT' THEN 'Client'
  WHEN '4' THEN 'Producer' WHEN 'SPAN_KIND_PRODUCER' THEN 'Producer' WHEN '5' THEN 'Consumer'
  WHEN 'SPAN_KIND_CONSUMER' THEN 'Consumer' ELSE 'Unspecified' END"""
SEVERITY = """CASE WHEN severityNumber BETWEEN 1 AND 4 THEN 'TRACE' WHEN severityNumber BETWEEN 5 AND 8 THEN 'DEBUG'
  WHEN severityNumber BETWEEN 9 AND 12 THEN 'INFO' WHEN severityNumber BETWEEN 13 AND 16 THEN 'WARN'
  WHEN severityNumber BETWEEN 17 AND 20 THEN 'ERROR' WHEN severityNumber BETWEEN 21 AND 24 THEN 'FATAL'
  WHEN coalesce(severityText, '') <> '' THEN upper(severityText) ELSE 'UNSPECIFIED' END"""

# Records: one row each, `ord` their arrival order (line, then position in
# the request), `res` the resource's attributes.
RECORDS = {
    "r_spans": f"""
SELECT struct(line, i, j, k) AS ord, sp.name, {KIND.replace('kind', 'sp.kind')} AS kind, {SERVICE} AS service,
       {datetime('sp.startTimeUnixNano')} AS time, sp.attributes, sp.events, sp.links, res
FROM (SELECT line, i, rs.resource.attributes AS res, rs.scopeSpans FROM requests LATERAL VIEW posexplode(resourceSpans) AS i, rs)
LATERAL VIEW posexplode(scopeSpans) AS j, ss LATERAL VIEW posexplode(ss.spans) AS k, sp""",
    "r_points": f"""
SELECT struct(line, i, j, k, p) AS ord, m.name AS metric,
       CASE WHEN m.gauge IS NOT NULL THEN 'Gauge' WHEN m.sum IS NOT NULL THEN 'Sum' WHEN m.histogram IS NOT NULL THEN 'Histogram'
            WHEN m.exponentialHistogram IS NOT NULL THEN 'ExponentialHistogram' ELSE 'Summary' END AS type,
       coalesce(m.unit, '') AS unit, coalesce(m.description, '') AS description, {SERVICE} AS service,
       {datetime('dp.timeUnixNano')} AS time, dp.attributes, res
FROM (SELECT line, i, rs.resource.attributes AS res, rs.scopeMetrics FROM requests LATERAL VIEW posexplode(resourceMetrics) AS i, rs)
LATERAL VIEW posexplode(scopeMetrics) AS j, sm LATERAL VIEW posexplode(sm.metrics) AS k, m
LATERAL VIEW posexplode(coalesce(m.gauge.dataPoints, m.sum.dataPoints, m.histogram.dataPoints,
                                 m.exponentialHistogram.dataPoints, m.summary.dataPoints)) AS p, dp""",
    "r_logs": f"""
SELECT struct(line, i, j, k) AS ord, {SEVERITY} AS severity, {SERVICE} AS service,
       {datetime('if(coalesce(CAST(lr.timeUnixNano AS DECIMAL(20, 0)), 0) = 0, lr.observedTimeUnixNano, lr.timeUnixNano)')} AS time,
       lr.attributes, res
FROM (SELECT line, i, rs.resource.attributes AS res, rs.scopeLogs FROM requests LATERAL VIEW posexplode(resourceLogs) AS i, rs)
LATERAL VIEW posexplode(scopeLogs) AS j, sl LATERAL VIEW posexplode(sl.logRecords) AS k, lr""".replace(
        "severityNumber", "lr.severityNumber").replace("severityText", "lr.severityText"),
}

# Key occurrences: (entity, scope, key, record, value text, time, ord).
KEYS = {
    "k_spans": f"""
SELECT name AS entity, 'attribute' AS scope, '' AS event_name, a.key, named_struct('o', ord, 'n', -1) AS rec, {value_text('a.value')} AS value, time, ord
FROM r_spans LATERAL VIEW explode(attributes) AS a
UNION ALL SELECT name, 'resource', '', a.key, named_struct('o', ord, 'n', -1), {value_text('a.value')}, time, ord FROM r_spans LATERAL VIEW explode(res) AS a
UNION ALL SELECT name, 'event', e.name, a.key, named_struct('o', ord, 'n', ei), {value_text('a.value')}, {datetime('e.timeUnixNano')}, ord
  FROM r_spans LATERAL VIEW posexplode(events) AS ei, e LATERAL VIEW explode(e.attributes) AS a
UNION ALL SELECT name, 'link', '', a.key, named_struct('o', ord, 'n', li), {value_text('a.value')}, time, ord
  FROM r_spans LATERAL VIEW posexplode(links) AS li, l LATERAL VIEW explode(l.attributes) AS a""",
    "k_points": f"""
SELECT metric AS entity, 'label' AS scope, a.key, ord AS rec, {value_text('a.value')} AS value, time, ord
FROM r_points LATERAL VIEW explode(attributes) AS a
UNION ALL SELECT metric, 'resource', a.key, ord, {value_text('a.value')}, time, ord FROM r_points LATERAL VIEW explode(res) AS a""",
    "k_logs": f"""
SELECT severity AS entity, 'attribute' AS scope, a.key, ord AS rec, {value_text('a.value')} AS value, time, ord
FROM r_logs LATERAL VIEW explode(attributes) AS a
UNION ALL SELECT severity, 'resource', a.key, ord, {value_text('a.value')}, time, ord FROM r_logs LATERAL VIEW explode(res) AS a""",
}


def keys_sql(view, group):
    """Per key: records carrying it, the first 10 distinct values in arrival
    order, the sketch of every value's text, times. (The samples without
    collecting every value: each distinct value's first arrival, then the
    10 earliest.)"""
    g = ", ".join(group)
    return f"""
SELECT {g}, key_count, value_samples, hll_sketch, first_seen, last_seen FROM (
  SELECT {g}, count(DISTINCT rec) AS key_count, hll_sketch_agg(value, 12) AS hll_sketch,
         min(time) AS first_seen, max(time) AS last_seen FROM {view} GROUP BY {g})
JOIN (
  SELECT {g}, to_json(transform(array_sort(collect_list(struct(first, value))), x -> x.value)) AS value_samples FROM (
    SELECT *, row_number() OVER (PARTITION BY {g} ORDER BY first) AS n FROM (
      SELECT {g}, value, min(ord) AS first FROM {view} GROUP BY {g}, value))
  WHERE n <= 10 GROUP BY {g}) USING ({g})"""



def sorted_pairs(attrs):
    """The series text of an array of attributes: `key` US `value` RS,
    sorted by key then value. A series is the resource's and the point's
    pairs sorted together, or, when the resource's pairs alone take 4096
    bytes or more, the resource's, GS, then the point's (docs/catalog.md
    "Series"; examples/etl.sql)."""
    return (f"array_join(transform(array_sort(transform({attrs}, a -> struct(a.key AS k, {value_text('a.value')} AS v))), "
            "p -> concat(p.k, char(31), p.v, char(30))), '')")
TABLES = {
    "metrics": """
SELECT metric AS name, max_by(type, ord) AS type,
       coalesce(max_by(unit, ord) FILTER (WHERE unit <> ''), '') AS unit,
       coalesce(max_by(description, ord) FILTER (WHERE description <> ''), '') AS description,
       count(*) AS total_sample_count, hll_sketch_agg(series, 12) AS series_sketch, min(time) AS first_seen, max(time) AS last_seen
FROM (SELECT *, CASE WHEN octet_length(RES) >= 4096 THEN concat(RES, char(29), POINT) ELSE BOTH END AS series
      FROM r_points)
GROUP BY metric""".replace("RES", sorted_pairs("coalesce(res, array())")).replace(
        "POINT", sorted_pairs("coalesce(attributes, array())")).replace(
        "BOTH", sorted_pairs("concat(coalesce(res, array()), coalesce(attributes, array()))")),
    "metric_services": "SELECT metric AS metric_name, service AS service_name, count(*) AS sample_count, min(time) AS first_seen, "
                       "max(time) AS last_seen FROM r_points GROUP BY metric, service",
    "metric_keys": "SELECT entity AS metric_name, scope AS key_scope, key AS key_name, key_count, value_samples, hll_sketch, "
                   "first_seen, last_seen FROM (" + keys_sql("k_points", ["entity", "scope", "key"]) + ")",
    "spans": """
SELECT name, max_by(kind, ord) AS kind, count(*) AS total_sample_count, sum(size(events)) AS event_count,
       sum(size(links)) AS link_count, min(time) AS first_seen, max(time) AS last_seen FROM r_spans GROUP BY name""",
    "span_services": "SELECT name AS span_name, service AS service_name, count(*) AS sample_count, min(time) AS first_seen, "
                     "max(time) AS last_seen FROM r_spans GROUP BY name, service",
    "span_events": f"""
SELECT name AS span_name, e.name AS event_name, count(*) AS event_count, min({datetime('e.timeUnixNano')}) AS first_seen,
       max({datetime('e.timeUnixNano')}) AS last_seen FROM r_spans LATERAL VIEW explode(events) AS e GROUP BY name, e.name""",
    "span_keys": "SELECT entity AS span_name, scope AS key_scope, key AS key_name, event_name, key_count, value_samples, "
                 "hll_sketch, first_seen, last_seen FROM (" + keys_sql("k_spans", ["entity", "scope", "key", "event_name"]) + ")",
    "logs": "SELECT severity, count(*) AS total_sample_count, min(time) AS first_seen, max(time) AS last_seen "
            "FROM r_logs GROUP BY severity",
    "log_services": "SELECT severity, service AS service_name, count(*) AS sample_count, min(time) AS first_seen, "
                    "max(time) AS last_seen FROM r_logs GROUP BY severity, service",
    "log_keys": "SELECT entity AS severity, scope AS key_scope, key AS key_name, key_count, value_samples, hll_sketch, "
                "first_seen, last_seen FROM (" + keys_sql("k_logs", ["entity", "scope", "key"]) + ")",
}

# Percentages, from the tables above (as etl.sql and otlp_ingest compute them).
FINAL = {
    "metric_keys": """
SELECT k.*, 100.0D * k.key_count / greatest(m.total_sample_count, 1) AS key_percentage
FROM t_metric_keys k LEFT JOIN t_metrics m ON m.name = k.metric_name""",
    "span_keys": """
SELECT k.*, 100.0D * k.key_count / greatest(1, CASE k.key_scope WHEN 'event' THEN e.event_count
                                                        WHEN 'link' THEN s.link_count
                                                        ELSE s.total_sample_count END) AS key_percentage
FROM t_span_keys k LEFT JOIN t_spans s ON s.name = k.span_name
LEFT JOIN t_span_events e ON e.span_name = k.span_name AND e.event_name = k.event_name AND k.key_scope = 'event'""",
    "log_keys": """
SELECT k.*, 100.0D * k.key_count / greatest(l.total_sample_count, 1) AS key_percentage
FROM t_log_keys k LEFT JOIN t_logs l ON l.severity = k.severity""",
}


def catalog(spark, files):
    """{table: DataFrame} of the catalog of the Collector JSON Lines `files`."""
    from pyspark.sql import functions as F
    df = spark.read.schema(REQUEST).option("mode", "FAILFAST").json(files)
    df.withColumn("line", F.monotonically_increasing_id()).createOrReplaceTempView("requests")
    for name, sql in {**RECORDS, **KEYS}.items():
        spark.sql(sql).createOrReplaceTempView(name)
    for table, sql in TABLES.items():
        spark.sql(sql).createOrReplaceTempView(f"t_{table}")
    return {t: spark.sql(FINAL[t]) if t in FINAL else spark.table(f"t_{t}") for t in TABLES}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="the catalog to write (must not exist)")
    ap.add_argument("files", nargs="+", help="Collector JSON Lines files (OTLP/JSON, one request a line)")
    args = ap.parse_args(argv)
    if os.path.exists(args.out):
        raise SystemExit(f"{args.out} already exists: choose a new file name")
    t0, c0 = time.perf_counter(), otelcat_spark.cpu_seconds()
    spark = otelcat_spark.session("otelcat-etl")
    db = otelcat_spark.write_catalog(args.out, catalog(spark, [os.path.abspath(f) for f in args.files]))
    q = lambda sql: db.execute(sql).fetchone()[0]
    print(f"etl: {args.out}: {q('SELECT count(*) FROM metrics'):,} metrics, {q('SELECT count(*) FROM spans'):,} span names, "
          f"{q('SELECT count(*) FROM logs'):,} log severities ({time.perf_counter() - t0:.1f} s, "
          f"{otelcat_spark.cpu_seconds() - c0:.1f} s CPU)")
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(otelcat_spark.run_main("etl", main))
