"""examples/spark/etl.py: the otelcat catalog computed by Spark SQL directly
from Collector JSON Lines files (the file exporter's OTLP/JSON, one export
request a line: traces, metrics and logs may be mixed), written as a
catalog file otelcat opens: examples/etl.sql's logic in Spark.

    python examples/spark/etl.py --out catalog.db telemetry/*.jsonl

It computes metrics, metric_services, metric_keys, spans, span_services,
span_events, span_keys, logs, log_services, log_keys, the instrumentation
scopes (metric_scopes, span_scopes, log_scopes) and the log event tables
(log_events, log_event_services, log_event_key_rows) as otlp_ingest does
(tests/spark_test.py checks it against `otelcat ingest` of the same file):
the same counts, times, sample lists and percentages, and sketches of the
same values (Spark's hll_sketch_agg over each value's text, UTF-8, lg_k 12:
the registers otlp_ingest writes, so hll_merge merges them with otelcat's
and `otelcat merge` / fleet_merge.py combine this catalog with others).
Also the metric shape (docs/catalog.md "Metric shape": type, temporality
and monotonicity of the last metric sent, per metric and per service; the
most buckets and quantiles a point had, the range of exponential
histograms' scales; estimated_prometheus_series from them) and the span
status counts (status.code as a number, numeric string or name; codes
outside the enum count as unset).

Also the history (docs/catalog.md "History"): entity_history,
service_history and key_history_rows per bucket of the default width (one
hour), rolled up and pruned as a commit does.

Not computed: log_body_templates, log_template_keys, span_name_patterns and
template_history_rows (Drain templates are otelcat's engine, not Spark's:
ingest into a catalog, then merge), the keys' bytes, value_types, top_sketch and top_values
(NULL here; `otelcat merge` and fleet_merge.py carry them from catalogs
that have them), and the records' bytes (0 here: a record's bytes in OTLP
protobuf need its every field sized by otelcat's rules, which this Spark SQL
does not redo; fleet_merge.py adds them up from catalogs that have them).
The spans' and logs' dropped counts and the logs' trace context (records
with a trace id, a span id) are computed. Known differences from otlp_ingest (docs/interop.md):
- a metric sent without data points gets no row here (otlp_ingest writes
  one with no points and no times); when the metric has points elsewhere,
  its unit, description and shape count here as there;
- fields are read by their OTLP/JSON names (lowerCamelCase, as the file
  exporter writes them); otlp_ingest also reads snake_case names;
- values' text (docs/catalog.md): a double prints as an integer when whole
  (below 1e21), else as Spark prints it with otelcat's exponent spelling
  (1e21, 1.5e-7); this differs from otelcat's for 1e-6 <= |x| < 0.001
  (otelcat 0.0001, here 1e-4) and where Java 17's digits are not the
  shortest; arrays and maps of scalars are compact JSON as otelcat writes
  them, but values nested two levels deep keep the file's own spelling;
- sample lists take values in the order Spark reads them: one file in line
  order; several files in the order Spark packs them (largest first);
- a record without a timestamp gets the time of this run;
- names and keys longer than 256 bytes are kept whole (otlp_ingest clips
  them: docs/catalog.md "Limits and errors").
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
# A metric's data (gauge, sum, ...): the fields of every kind, those giving
# its shape read as text (a number or a string, as otlp_ingest takes them):
# temporality, monotonicity, and per point the lists whose lengths are its
# buckets or quantiles (their elements are not read) and its scale.
BUCKETS = "STRUCT<bucketCounts: ARRAY<STRING>>"
POINTS = (f"STRUCT<aggregationTemporality: STRING, isMonotonic: STRING, dataPoints: ARRAY<STRUCT<timeUnixNano: STRING, "
          f"attributes: {ATTRS}, explicitBounds: ARRAY<STRING>, quantileValues: ARRAY<STRING>, positive: {BUCKETS}, "
          f"negative: {BUCKETS}, scale: STRING>>>")
# An InstrumentationScope: its name and version ('' when absent).
SCOPE = "STRUCT<name: STRING, version: STRING>"
REQUEST = f"""
resourceSpans ARRAY<STRUCT<resource: {RESOURCE}, scopeSpans: ARRAY<STRUCT<scope: {SCOPE}, spans: ARRAY<STRUCT<
  name: STRING, kind: STRING, startTimeUnixNano: STRING, attributes: {ATTRS}, status: STRUCT<code: STRING>,
  droppedAttributesCount: STRING, droppedEventsCount: STRING, droppedLinksCount: STRING,
  events: ARRAY<STRUCT<name: STRING, timeUnixNano: STRING, attributes: {ATTRS}>>,
  links: ARRAY<STRUCT<attributes: {ATTRS}>>>>>>>>,
resourceMetrics ARRAY<STRUCT<resource: {RESOURCE}, scopeMetrics: ARRAY<STRUCT<scope: {SCOPE}, metrics: ARRAY<STRUCT<
  name: STRING, unit: STRING, description: STRING,
  gauge: {POINTS}, sum: {POINTS}, histogram: {POINTS}, exponentialHistogram: {POINTS}, summary: {POINTS}>>>>>>,
resourceLogs ARRAY<STRUCT<resource: {RESOURCE}, scopeLogs: ARRAY<STRUCT<scope: {SCOPE}, logRecords: ARRAY<STRUCT<
  timeUnixNano: STRING, observedTimeUnixNano: STRING, severityNumber: INT, severityText: STRING,
  attributes: {ATTRS}, droppedAttributesCount: STRING, traceId: STRING, spanId: STRING, eventName: STRING>>>>>>
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

INTEGER = "'^[+-]?[0-9]+$'"


def enum_int(x, names):
    """An OTLP/JSON enum field read as text: a number, a numeric string, or
    one of `names` ({name: number}); anything else 0, as otlp_ingest reads
    it (an integer outside INT: 0 here; otlp_ingest refuses it as a number
    and reads 0 as a string)."""
    named = " ".join(f"WHEN '{n}' THEN {v}" for n, v in names.items())
    return f"""CASE WHEN {x} RLIKE {INTEGER} THEN coalesce(try_cast({x} AS INT), 0)
  ELSE CASE {x} {named} ELSE 0 END END"""


# A span's status.code as otlp_ingest counts it: 1 ok, 2 error, anything
# else (no status, unset, outside the enum) unset.
STATUS = enum_int("sp.status.code", {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2})
# A metric's kind: its data field (a metric carries one).
KIND_OF_METRIC = """CASE WHEN m.gauge IS NOT NULL THEN 'Gauge' WHEN m.sum IS NOT NULL THEN 'Sum'
            WHEN m.histogram IS NOT NULL THEN 'Histogram' WHEN m.exponentialHistogram IS NOT NULL THEN 'ExponentialHistogram' WHEN m.summary IS NOT NULL THEN 'Summary'
            ELSE 'Unknown' END"""
DATA_OF_METRIC = "coalesce(m.gauge, m.sum, m.histogram, m.exponentialHistogram, m.summary)"
# aggregationTemporality (a number or a name, with or without its prefix);
# only sums and histograms have one (docs/catalog.md "Metric shape").
TEMPORALITY = "CASE WHEN type IN ('Sum', 'Histogram', 'ExponentialHistogram') THEN CASE " + enum_int(
    "regexp_replace(data.aggregationTemporality, '^AGGREGATION_TEMPORALITY_', '')",
    {"UNSPECIFIED": 0, "DELTA": 1, "CUMULATIVE": 2}) + """
  WHEN 1 THEN 'Delta' WHEN 2 THEN 'Cumulative' ELSE 'Unspecified' END ELSE 'Unspecified' END"""


def size0(a):
    return f"if({a} IS NULL, 0, size({a}))"


# A data point's buckets, as otlp_ingest counts them: its explicit bounds,
# quantile values and positive and negative bucket counts (a point carries
# those of its kind); its scale (an integer, or an integral number, as a
# 32-bit integer; 0 when absent).
POINT_BUCKETS = " + ".join(size0(f"dp.{f}") for f in ("explicitBounds", "quantileValues", "positive.bucketCounts",
                                                      "negative.bucketCounts"))
POINT_SCALE = f"""coalesce(CAST(pmod(CASE WHEN dp.scale RLIKE {INTEGER} THEN try_cast(dp.scale AS DECIMAL(20, 0))
  ELSE try_cast(try_cast(dp.scale AS DOUBLE) AS DECIMAL(20, 0)) END + 2147483648, 4294967296) - 2147483648 AS INT), 0)"""
METRICS_FROM = """
FROM (SELECT line, i, rs.resource.attributes AS res, rs.scopeMetrics FROM requests LATERAL VIEW posexplode(resourceMetrics) AS i, rs)
LATERAL VIEW posexplode(scopeMetrics) AS j, sm LATERAL VIEW posexplode(sm.metrics) AS k, m"""

# A record's dropped_*_count (a uint32: a number or a string holding one, as
# otlp_ingest reads it, its low 32 bits; 0 when absent).
def dropped(c):
    return f"coalesce(pmod(try_cast(try_cast({c} AS DOUBLE) AS DECIMAL(20, 0)), 4294967296), 0)"


# Records: one row each, `ord` their arrival order (line, then position in
# the request), `res` the resource's attributes.
RECORDS = {
    "r_spans": f"""
SELECT struct(line, i, j, k) AS ord, sp.name, {KIND.replace('kind', 'sp.kind')} AS kind, {SERVICE} AS service,
       {datetime('sp.startTimeUnixNano')} AS time, sp.attributes, sp.events, sp.links, res, {STATUS} AS status,
       {dropped('sp.droppedAttributesCount')} AS dropped_attributes, {dropped('sp.droppedEventsCount')} AS dropped_events,
       {dropped('sp.droppedLinksCount')} AS dropped_links,
       coalesce(ss.scope.name, '') AS scope_name, coalesce(ss.scope.version, '') AS scope_version
FROM (SELECT line, i, rs.resource.attributes AS res, rs.scopeSpans FROM requests LATERAL VIEW posexplode(resourceSpans) AS i, rs)
LATERAL VIEW posexplode(scopeSpans) AS j, ss LATERAL VIEW posexplode(ss.spans) AS k, sp""",
    # Metrics as sent (also those without points): their kind, unit and
    # description, temporality and monotonicity; `block` is the resource.
    "r_metrics": f"""
SELECT ord, block, metric, type, unit, description, service, {TEMPORALITY} AS temporality,
       if(type = 'Sum' AND data.isMonotonic = 'true', 1, 0) AS monotonic FROM (
  SELECT struct(line, i, j, k) AS ord, struct(line, i) AS block, m.name AS metric, {KIND_OF_METRIC} AS type,
         coalesce(m.unit, '') AS unit, coalesce(m.description, '') AS description, {SERVICE} AS service,
         {DATA_OF_METRIC} AS data {METRICS_FROM})""",
    "r_points": f"""
SELECT struct(line, i, j, k, p) AS ord, struct(line, i) AS block, m.name AS metric, {KIND_OF_METRIC} AS type, {SERVICE} AS service,
       {datetime('dp.timeUnixNano')} AS time, dp.attributes, res, {POINT_BUCKETS} AS buckets, {POINT_SCALE} AS scale,
       coalesce(sm.scope.name, '') AS scope_name, coalesce(sm.scope.version, '') AS scope_version
{METRICS_FROM}
LATERAL VIEW posexplode({DATA_OF_METRIC}.dataPoints) AS p, dp""",
    "r_logs": f"""
SELECT struct(line, i, j, k) AS ord, {SEVERITY} AS severity, {SERVICE} AS service,
       {datetime('if(coalesce(CAST(lr.timeUnixNano AS DECIMAL(20, 0)), 0) = 0, lr.observedTimeUnixNano, lr.timeUnixNano)')} AS time,
       lr.attributes, res, {dropped('lr.droppedAttributesCount')} AS dropped_attributes,
       if(coalesce(lr.traceId, '') <> '', 1, 0) AS trace_id, if(coalesce(lr.spanId, '') <> '', 1, 0) AS span_id,
       coalesce(sl.scope.name, '') AS scope_name, coalesce(sl.scope.version, '') AS scope_version,
       coalesce(lr.eventName, '') AS event_name
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
    # Log event names' keys: their records' attributes.
    "k_log_events": f"""
SELECT event_name AS entity, a.key, ord AS rec, {value_text('a.value')} AS value, time, ord
FROM (SELECT * FROM r_logs WHERE event_name <> '') LATERAL VIEW explode(attributes) AS a""",
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


STATUS_COUNTS = ("count_if(status NOT IN (1, 2)) AS status_unset_count, count_if(status = 1) AS status_ok_count, "
                 "count_if(status = 2) AS status_error_count")
TABLES = {
    # Type, temporality and monotonicity: the last metric sent; unit and
    # description: the last non-empty; buckets and quantiles: the most any
    # point had, scales their range (docs/catalog.md "Metric shape").
    "metrics": """
SELECT p.*, s.type, s.unit, s.description, s.temporality, s.is_monotonic FROM (
  SELECT metric AS name, count(*) AS total_sample_count, hll_sketch_agg(series, 12) AS series_sketch,
         min(time) AS first_seen, max(time) AS last_seen,
         max(CASE WHEN type = 'Histogram' THEN buckets + 1 END) AS histogram_buckets,
         max(CASE WHEN type = 'ExponentialHistogram' THEN buckets END) AS exp_histogram_buckets,
         min(CASE WHEN type = 'ExponentialHistogram' THEN scale END) AS exp_histogram_min_scale,
         max(CASE WHEN type = 'ExponentialHistogram' THEN scale END) AS exp_histogram_max_scale,
         max(CASE WHEN type = 'Summary' THEN buckets END) AS summary_quantiles
  FROM (SELECT *, CASE WHEN octet_length(RES) >= 4096 THEN concat(RES, char(29), POINT) ELSE BOTH END AS series
        FROM r_points)
  GROUP BY metric) p
JOIN (SELECT metric, max_by(type, ord) AS type,
             coalesce(max_by(unit, ord) FILTER (WHERE unit <> ''), '') AS unit,
             coalesce(max_by(description, ord) FILTER (WHERE description <> ''), '') AS description,
             max_by(temporality, ord) AS temporality, max_by(monotonic, ord) AS is_monotonic
      FROM r_metrics GROUP BY metric) s ON s.metric <=> p.name""".replace("RES", sorted_pairs("coalesce(res, array())")).replace(
        "POINT", sorted_pairs("coalesce(attributes, array())")).replace(
        "BOTH", sorted_pairs("concat(coalesce(res, array()), coalesce(attributes, array()))")),
    # A service's type, temporality and monotonicity: those of the last
    # metric of that name in the last resource block where the service sent
    # points of it (as otlp_ingest records them at each block's end).
    "metric_services": """
SELECT metric_name, service_name, sample_count, first_seen, last_seen,
       s.shape.type AS type, s.shape.temporality AS temporality, s.shape.monotonic AS is_monotonic FROM (
  SELECT metric AS metric_name, service AS service_name, count(*) AS sample_count, min(time) AS first_seen,
         max(time) AS last_seen, max(block) AS block FROM r_points GROUP BY metric, service) c
JOIN (SELECT m.metric, m.block,
             max_by(named_struct('type', m.type, 'temporality', m.temporality, 'monotonic', m.monotonic), m.ord) AS shape
      FROM r_metrics m GROUP BY m.metric, m.block) s ON s.metric <=> c.metric_name AND s.block = c.block""",
    "metric_keys": "SELECT entity AS metric_name, scope AS key_scope, key AS key_name, key_count, value_samples, hll_sketch, "
                   "first_seen, last_seen FROM (" + keys_sql("k_points", ["entity", "scope", "key"]) + ")",
    "spans": f"""
SELECT name, max_by(kind, ord) AS kind, count(*) AS total_sample_count, sum(size(events)) AS event_count,
       sum(size(links)) AS link_count, min(time) AS first_seen, max(time) AS last_seen, {STATUS_COUNTS},
       CAST(sum(dropped_attributes) AS BIGINT) AS dropped_attributes_count,
       CAST(sum(dropped_events) AS BIGINT) AS dropped_events_count,
       CAST(sum(dropped_links) AS BIGINT) AS dropped_links_count FROM r_spans GROUP BY name""",
    "span_services": "SELECT name AS span_name, service AS service_name, count(*) AS sample_count, min(time) AS first_seen, "
                     f"max(time) AS last_seen, {STATUS_COUNTS}, sum(size(links)) AS link_count FROM r_spans GROUP BY name, service",
    "span_events": f"""
SELECT name AS span_name, e.name AS event_name, count(*) AS event_count, min({datetime('e.timeUnixNano')}) AS first_seen,
       max({datetime('e.timeUnixNano')}) AS last_seen FROM r_spans LATERAL VIEW explode(events) AS e GROUP BY name, e.name""",
    "span_keys": "SELECT entity AS span_name, scope AS key_scope, key AS key_name, event_name, key_count, value_samples, "
                 "hll_sketch, first_seen, last_seen FROM (" + keys_sql("k_spans", ["entity", "scope", "key", "event_name"]) + ")",
    "logs": "SELECT severity, count(*) AS total_sample_count, min(time) AS first_seen, max(time) AS last_seen, "
            "CAST(sum(dropped_attributes) AS BIGINT) AS dropped_attributes_count, sum(trace_id) AS trace_id_count, "
            "sum(span_id) AS span_id_count FROM r_logs GROUP BY severity",
    "log_services": "SELECT severity, service AS service_name, count(*) AS sample_count, min(time) AS first_seen, "
                    "max(time) AS last_seen, sum(trace_id) AS trace_id_count, sum(span_id) AS span_id_count "
                    "FROM r_logs GROUP BY severity, service",
    "log_keys": "SELECT entity AS severity, scope AS key_scope, key AS key_name, key_count, value_samples, hll_sketch, "
                "first_seen, last_seen FROM (" + keys_sql("k_logs", ["entity", "scope", "key"]) + ")",
    # Instrumentation scopes (schema version 3): records per entity, service and scope.
    "metric_scopes": "SELECT metric AS metric_name, service AS service_name, scope_name, scope_version, count(*) AS sample_count, "
                   "min(time) AS first_seen, max(time) AS last_seen FROM r_points GROUP BY metric, service, scope_name, scope_version",
    "span_scopes": "SELECT name AS span_name, service AS service_name, scope_name, scope_version, count(*) AS sample_count, "
                   "min(time) AS first_seen, max(time) AS last_seen FROM r_spans GROUP BY name, service, scope_name, scope_version",
    "log_scopes": "SELECT severity, service AS service_name, scope_name, scope_version, count(*) AS sample_count, "
                   "min(time) AS first_seen, max(time) AS last_seen FROM r_logs GROUP BY severity, service, scope_name, scope_version",
    # Log records with an event name, by that name (schema version 3).
    "log_events": "SELECT event_name, count(*) AS total_sample_count, min(time) AS first_seen, max(time) AS last_seen, "
                  "CAST(sum(dropped_attributes) AS BIGINT) AS dropped_attributes_count, sum(trace_id) AS trace_id_count, "
                  "sum(span_id) AS span_id_count FROM r_logs WHERE event_name <> '' GROUP BY event_name",
    "log_event_services": "SELECT event_name, service AS service_name, count(*) AS sample_count, min(time) AS first_seen, "
                          "max(time) AS last_seen FROM r_logs WHERE event_name <> '' GROUP BY event_name, service",
    "log_event_key_rows": "SELECT entity AS event_name, key AS key_name, key_count, value_samples, hll_sketch, "
                          "first_seen, last_seen FROM (" + keys_sql("k_log_events", ["entity", "key"]) + ")",
}

# History (docs/catalog.md "History"): records and key occurrences per time
# bucket of the record's time (BUCKET: the catalog's default width, 3600 s;
# buckets start at multiples of it from midnight UTC), bytes 0 as above.
# A resource key counts a resource block's records of an entity at once,
# in the bucket of the block's earliest one (as otlp_ingest and etl.sql).
# Roll-up and retention are applied when the catalog is written
# (otelcat_spark.write_catalog), relative to the newest bucket.
BUCKET_SECONDS = 3600
BUCKET = ("date_format(timestamp_seconds(unix_timestamp({t}, 'yyyy-MM-dd HH:mm:ss') DIV {b} * {b}), "
          "'yyyy-MM-dd HH:mm:ss')")
RECORDS_OF = (("metrics", "metric", "r_points"), ("spans", "name", "r_spans"), ("logs", "severity", "r_logs"))
# Key occurrences of every signal, with the block of the record (its
# request line and resource position).
KEYS_OF = (("metrics", "k_points", "''"), ("spans", "k_spans", "event_name"), ("logs", "k_logs", "''"))
ALL_KEYS = " UNION ALL ".join(
    f"SELECT '{sig}' AS signal, entity, scope, key, {ev} AS event_name, to_json(rec) AS rec, value, time, "
    f"named_struct('line', ord.line, 'i', ord.i) AS block FROM {view}" for sig, view, ev in KEYS_OF)
HISTORY = {
    "entity_history": " UNION ALL ".join(
        f"SELECT '{sig}' AS signal, {col} AS entity, 'bucket' AS resolution, bucket_start, count(*) AS records, "
        f"0L AS bytes FROM (SELECT *, {BUCKET.format(t='time', b=BUCKET_SECONDS)} AS bucket_start FROM {view}) "
        f"GROUP BY {col}, bucket_start" for sig, col, view in RECORDS_OF),
    "service_history": " UNION ALL ".join(
        f"SELECT '{sig}' AS signal, {col} AS entity, service AS service_name, 'bucket' AS resolution, bucket_start, "
        f"count(*) AS records, 0L AS bytes FROM (SELECT *, {BUCKET.format(t='time', b=BUCKET_SECONDS)} AS bucket_start "
        f"FROM {view}) GROUP BY {col}, service, bucket_start" for sig, col, view in RECORDS_OF),
    "key_history_rows": f"""
SELECT signal, entity, scope AS key_scope, key AS key_name, event_name, 'bucket' AS resolution, bucket_start,
       count(DISTINCT rec) AS key_count, 0L AS bytes, hll_sketch_agg(value, 12) AS hll_sketch
FROM (SELECT *, {BUCKET.format(t='time', b=BUCKET_SECONDS)} AS bucket_start FROM ({ALL_KEYS}) WHERE scope <> 'resource')
GROUP BY signal, entity, scope, key, event_name, bucket_start
UNION ALL
SELECT signal, entity, scope, key, event_name, 'bucket', bucket_start, sum(n), 0L, hll_union_agg(h)
FROM (SELECT signal, entity, scope, key, event_name, {BUCKET.format(t='min(time)', b=BUCKET_SECONDS)} AS bucket_start,
             count(DISTINCT rec) AS n, hll_sketch_agg(value, 12) AS h
      FROM ({ALL_KEYS}) WHERE scope = 'resource' GROUP BY signal, entity, scope, key, event_name, block)
GROUP BY signal, entity, scope, key, event_name, bucket_start""",
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
    out = {t: spark.sql(FINAL[t]) if t in FINAL else spark.table(f"t_{t}") for t in TABLES}
    for table, sql in HISTORY.items():
        out[table] = spark.sql(sql)
    return out


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
