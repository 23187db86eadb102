"""examples/spark/fleet_merge.py: N otelcat catalogs -> one fleet catalog, merged
in Apache Spark, written back as a catalog file otelcat opens.

    python examples/spark/fleet_merge.py --out fleet.db node1.db node2.db node3.db
    python examples/spark/fleet_merge.py --out fleet.db exports/node1 exports/node2   # `otelcat export` directories

The result is what examples/merge.sql gives when it merges the same
catalogs, in the same order, into an empty file (`otelcat merge --db
fleet.db node1.db node2.db ...`); tests/test_spark.py checks it:
- counts add up (a sum past 2^63 - 1 fails, as otelcat_add does: Spark's
  ANSI mode);
- sketches merge with hll_union_agg (Apache DataSketches HLL, as hll_merge);
  a key held by one catalog keeps its image byte for byte, as merge.sql
  copies it; the estimate columns are hll_count of the merged images,
  computed when the result is written back (as merge.sql computes them);
- sample lists merge as json_samples_merge does: the distinct values of the
  first catalog's list, then the next one's, cut at 10;
- times: the earliest first_seen, the latest last_seen;
- unit, description: the first catalog's non-empty one; type, kind: the
  first catalog's;
- log templates and span-name patterns merge by text per (severity,
  service) / service, with new negative cluster ids numbered as merge.sql
  numbers them (by the catalog that brought the text first, then severity,
  service and text); their keys (log_template_keys) follow them by text;
- percentages are recomputed from the merged counts;
- keys' bytes add up, value_types add per type (json_counts_merge), and
  top_sketch images are folded in catalog order with otelcat's topk_merge at
  write-back, as merge.sql merges them (Spark has no frequent-items
  functions); top_values is recomputed from the merged image.

Catalog files (.db) are exported first (otelcat.export, into a temporary
directory); export directories are read as they are. Spark runs in local
mode (OTELCAT_SPARK_CORES, default 2); on a cluster, point SparkSession at
it and the exports at shared storage.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import otelcat_spark  # noqa: E402

# One statement per catalog table, over the views <table>_all of
# otelcat_spark.read_exports (every export's rows, plus `node`: the
# export's position). `nodes`: how many catalogs held the row.
# A sketch column: the image as it is when one catalog holds the key (as
# merge.sql copies it), else the union.
SKETCH = "CASE WHEN count({c}) <= 1 THEN max({c}) ELSE hll_union_agg({c}, true) END AS {c}"
# A sample list: the first catalog's, when one holds the key (copied as
# merge.sql copies it), else json_samples_merge's fold: the distinct values
# of every list in catalog order, cut at 10.
SAMPLES = """CASE WHEN count(*) = 1 THEN max(value_samples) ELSE to_json(slice(array_distinct(flatten(
    transform(array_sort(collect_list(struct(node, from_json(value_samples, 'array<string>') AS v))), x -> x.v))), 1, 10))
  END AS value_samples"""
TIMES = "min(first_seen) AS first_seen, max(last_seen) AS last_seen"
# What keys count of their values (schema version 3): bytes add up;
# value_types add per type (written back in otelcat's spelling by
# json_counts_merge); top_sketch: the images in catalog order, which the
# write-back folds with otelcat's topk_merge as merge.sql does (Spark has no
# frequent-items functions), and top_values is recomputed from the result.
KEY_VALUES = """sum(bytes) AS bytes,
       to_json(aggregate(collect_list(from_json(value_types, 'map<string,bigint>')), cast(map() AS map<string,bigint>),
                         (acc, m) -> map_zip_with(acc, m, (k, a, b) -> coalesce(a, 0) + coalesce(b, 0)))) AS value_types,
       transform(filter(array_sort(collect_list(struct(node, top_sketch))), x -> x.top_sketch IS NOT NULL),
                 x -> x.top_sketch) AS top_sketch"""
# The first catalog's value that is not NULL (merge.sql's coalesce(mine, other)).
FIRST = "min_by({c}, node) FILTER (WHERE {c} IS NOT NULL) AS {c}"
# Records' bytes, dropped counts, logs' trace context (schema version 3): sums.
SPAN_META = ("sum(bytes) AS bytes, sum(dropped_attributes_count) AS dropped_attributes_count, "
             "sum(dropped_events_count) AS dropped_events_count, sum(dropped_links_count) AS dropped_links_count")
LOG_META = ("sum(bytes) AS bytes, sum(dropped_attributes_count) AS dropped_attributes_count, "
            "sum(trace_id_count) AS trace_id_count, sum(span_id_count) AS span_id_count")
SERVICE_LOG_META = "sum(bytes) AS bytes, sum(trace_id_count) AS trace_id_count, sum(span_id_count) AS span_id_count"
# Span status counts (schema version 3): sums.
STATUS = ("sum(status_unset_count) AS status_unset_count, sum(status_ok_count) AS status_ok_count, "
          "sum(status_error_count) AS status_error_count")

FLEET = {
    "metrics": f"""
SELECT name, min_by(type, node) AS type,
       coalesce(min_by(unit, node) FILTER (WHERE unit <> ''), '') AS unit,
       coalesce(min_by(description, node) FILTER (WHERE description <> ''), '') AS description,
       sum(total_sample_count) AS total_sample_count, {SKETCH.format(c='series_sketch')}, {TIMES},
       -- Metric shape (schema version 3), as merge.sql merges it: the first
       -- catalog's temporality and monotonicity that has one, the most
       -- buckets and quantiles, the range of scales.
       {FIRST.format(c='temporality')}, {FIRST.format(c='is_monotonic')},
       max(histogram_buckets) AS histogram_buckets, max(exp_histogram_buckets) AS exp_histogram_buckets,
       min(exp_histogram_min_scale) AS exp_histogram_min_scale,
       max(exp_histogram_max_scale) AS exp_histogram_max_scale, max(summary_quantiles) AS summary_quantiles,
       sum(bytes) AS bytes
FROM metrics_all GROUP BY name""",
    "metric_services": f"""
SELECT metric_name, service_name, sum(sample_count) AS sample_count, {TIMES},
       {FIRST.format(c='type')}, {FIRST.format(c='temporality')}, {FIRST.format(c='is_monotonic')},
       sum(bytes) AS bytes
FROM metric_services_all GROUP BY metric_name, service_name""",
    "metric_keys": f"""
SELECT metric_name, key_scope, key_name, sum(key_count) AS key_count, {SAMPLES},
       {SKETCH.format(c='hll_sketch')}, {TIMES}, count(*) AS nodes, {KEY_VALUES}
FROM metric_keys_all GROUP BY metric_name, key_scope, key_name""",
    "spans": f"""
SELECT name, min_by(kind, node) AS kind, sum(total_sample_count) AS total_sample_count,
       sum(event_count) AS event_count, sum(link_count) AS link_count, {TIMES}, {STATUS}, {SPAN_META}
FROM spans_all GROUP BY name""",
    "span_services": f"""
SELECT span_name, service_name, sum(sample_count) AS sample_count, {TIMES}, {STATUS}, sum(bytes) AS bytes,
       sum(link_count) AS link_count
FROM span_services_all GROUP BY span_name, service_name""",
    # Per-service keys (schema version 3): as the entity's keys, per service.
    "span_service_events": f"""
SELECT span_name, service_name, event_name, sum(event_count) AS event_count, {TIMES}
FROM span_service_events_all GROUP BY span_name, service_name, event_name""",
    "metric_service_key_rows": f"""
SELECT metric_name, service_name, key_scope, key_name, sum(key_count) AS key_count, {SAMPLES},
       {SKETCH.format(c='hll_sketch')}, {TIMES}, count(*) AS nodes, {KEY_VALUES}
FROM metric_service_key_rows_all GROUP BY metric_name, service_name, key_scope, key_name""",
    "span_service_key_rows": f"""
SELECT span_name, service_name, key_scope, key_name, event_name, sum(key_count) AS key_count, {SAMPLES},
       {SKETCH.format(c='hll_sketch')}, {TIMES}, count(*) AS nodes, {KEY_VALUES}
FROM span_service_key_rows_all GROUP BY span_name, service_name, key_scope, key_name, event_name""",
    "log_service_key_rows": f"""
SELECT severity, service_name, key_scope, key_name, sum(key_count) AS key_count, {SAMPLES},
       {SKETCH.format(c='hll_sketch')}, {TIMES}, count(*) AS nodes, {KEY_VALUES}
FROM log_service_key_rows_all GROUP BY severity, service_name, key_scope, key_name""",
    # Log event names (schema version 3): as severities, their services and keys.
    "log_events": f"""
SELECT event_name, sum(total_sample_count) AS total_sample_count, {TIMES}, {LOG_META}
FROM log_events_all GROUP BY event_name""",
    "log_event_services": f"""
SELECT event_name, service_name, sum(sample_count) AS sample_count, {TIMES}, sum(bytes) AS bytes
FROM log_event_services_all GROUP BY event_name, service_name""",
    "log_event_key_rows": f"""
SELECT event_name, key_name, sum(key_count) AS key_count, {SAMPLES},
       {SKETCH.format(c='hll_sketch')}, {TIMES}, count(*) AS nodes, {KEY_VALUES}
FROM log_event_key_rows_all GROUP BY event_name, key_name""",
    # Key-name patterns (schema version 3): counts and bytes add, name
    # sketches union, sample names as value samples merge.
    "key_name_patterns": f"""
SELECT entity_kind, entity_name, key_scope, event_name, pattern, sum(key_count) AS key_count,
       {SKETCH.format(c='names_sketch')},
       {SAMPLES.replace('value_samples', 'sample_names')}, {TIMES}, sum(bytes) AS bytes
FROM key_name_patterns_all GROUP BY entity_kind, entity_name, key_scope, event_name, pattern""",
    # History (schema version 3): rows of one bucket (resolution,
    # bucket_start) add up, sketches union; then the roll-up and retention
    # apply relative to the newest bucket of the union, as merge.sql applies
    # them (otelcat_spark.write_catalog).
    "entity_history": """
SELECT signal, entity, resolution, bucket_start, sum(records) AS records, sum(bytes) AS bytes
FROM entity_history_all GROUP BY signal, entity, resolution, bucket_start""",
    "service_history": """
SELECT signal, entity, service_name, resolution, bucket_start, sum(records) AS records, sum(bytes) AS bytes
FROM service_history_all GROUP BY signal, entity, service_name, resolution, bucket_start""",
    "key_history_rows": f"""
SELECT signal, entity, key_scope, key_name, event_name, resolution, bucket_start, sum(key_count) AS key_count,
       sum(bytes) AS bytes, {SKETCH.format(c='hll_sketch')}
FROM key_history_rows_all GROUP BY signal, entity, key_scope, key_name, event_name, resolution, bucket_start""",
    "span_events": f"""
SELECT span_name, event_name, sum(event_count) AS event_count, {TIMES}
FROM span_events_all GROUP BY span_name, event_name""",
    "span_keys": f"""
SELECT span_name, key_scope, key_name, event_name, sum(key_count) AS key_count, {SAMPLES},
       {SKETCH.format(c='hll_sketch')}, {TIMES}, count(*) AS nodes, {KEY_VALUES}
FROM span_keys_all GROUP BY span_name, key_scope, key_name, event_name""",
    "logs": f"""
SELECT severity, sum(total_sample_count) AS total_sample_count, {TIMES}, {LOG_META}
FROM logs_all GROUP BY severity""",
    "log_services": f"""
SELECT severity, service_name, sum(sample_count) AS sample_count, {TIMES}, {SERVICE_LOG_META}
FROM log_services_all GROUP BY severity, service_name""",
    "log_keys": f"""
SELECT severity, key_scope, key_name, sum(key_count) AS key_count, {SAMPLES},
       {SKETCH.format(c='hll_sketch')}, {TIMES}, count(*) AS nodes, {KEY_VALUES}
FROM log_keys_all GROUP BY severity, key_scope, key_name""",
    # Instrumentation scopes (schema version 3): counts and bytes add up.
    "metric_scopes": f"""
SELECT metric_name, service_name, scope_name, scope_version, sum(sample_count) AS sample_count, sum(bytes) AS bytes, {TIMES}
FROM metric_scopes_all GROUP BY metric_name, service_name, scope_name, scope_version""",
    "span_scopes": f"""
SELECT span_name, service_name, scope_name, scope_version, sum(sample_count) AS sample_count, sum(bytes) AS bytes, {TIMES}
FROM span_scopes_all GROUP BY span_name, service_name, scope_name, scope_version""",
    "log_scopes": f"""
SELECT severity, service_name, scope_name, scope_version, sum(sample_count) AS sample_count, sum(bytes) AS bytes, {TIMES}
FROM log_scopes_all GROUP BY severity, service_name, scope_name, scope_version""",
    # Templates by text; cluster ids as merge.sql gives them: -1, -2, ... in
    # the order of (the catalog that brought the text first, severity,
    # service, text); the example is that catalog's min(example).
    "log_body_templates": """
SELECT severity, service_name, -row_number() OVER (ORDER BY first_node, severity, service_name, template) AS cluster_id,
       template, example, count, first_seen, last_seen, bytes
FROM (SELECT severity, service_name, template, min(node) AS first_node,
             min_by(example, struct(node, example)) AS example, sum(count) AS count, {TIMES}, sum(bytes) AS bytes
      FROM log_body_templates_all GROUP BY severity, service_name, template)""".replace("{TIMES}", TIMES),
    "span_name_patterns": """
SELECT service_name, -row_number() OVER (ORDER BY first_node, service_name, pattern) AS cluster_id,
       pattern, example, span_count, names_sketch, first_seen, last_seen
FROM (SELECT service_name, pattern, min(node) AS first_node,
             min_by(example, struct(node, example)) AS example, sum(span_count) AS span_count,
             {SKETCH}, {TIMES}
      FROM span_name_patterns_all GROUP BY service_name, pattern)""".replace("{TIMES}", TIMES).replace(
        "{SKETCH}", SKETCH.format(c="names_sketch")),
}

# Then what depends on the merged rows: percentages, template keys. (The
# estimate columns: hll_count at write-back, otelcat_spark.write_catalog.)
FINAL = {
    "metric_keys": """
SELECT k.*, 100.0D * k.key_count / greatest(m.total_sample_count, 1) AS key_percentage
FROM f_metric_keys k LEFT JOIN f_metrics m ON m.name = k.metric_name""",
    "span_keys": """
SELECT k.*, 100.0D * k.key_count / greatest(1, CASE k.key_scope WHEN 'event' THEN e.event_count
                                                        WHEN 'link' THEN s.link_count
                                                        ELSE s.total_sample_count END) AS key_percentage
FROM f_span_keys k LEFT JOIN f_spans s ON s.name = k.span_name
LEFT JOIN f_span_events e ON e.span_name = k.span_name AND e.event_name = k.event_name AND k.key_scope = 'event'""",
    "log_keys": """
SELECT k.*, 100.0D * k.key_count / greatest(l.total_sample_count, 1) AS key_percentage
FROM f_log_keys k LEFT JOIN f_logs l ON l.severity = k.severity""",
    "log_body_templates": """
SELECT t.*, 100.0D * t.count / greatest(1, s.sample_count) AS percentage
FROM f_log_body_templates t LEFT JOIN f_log_services s ON s.severity = t.severity AND s.service_name = t.service_name""",
    "log_template_keys": """
SELECT k.severity, k.service_name, f.cluster_id, k.key_name, sum(k.key_count) AS key_count,
       min(k.first_seen) AS first_seen, max(k.last_seen) AS last_seen
FROM log_template_keys_all k
JOIN log_body_templates_all t ON t.node = k.node AND t.severity = k.severity AND t.service_name = k.service_name
                              AND t.cluster_id = k.cluster_id
JOIN f_log_body_templates f ON f.severity = t.severity AND f.service_name = t.service_name AND f.template = t.template
GROUP BY k.severity, k.service_name, f.cluster_id, k.key_name""",
    # A template's history follows its template by text, as its keys do.
    "template_history_rows": """
SELECT h.severity, h.service_name, f.cluster_id, h.resolution, h.bucket_start, sum(h.count) AS count,
       sum(h.bytes) AS bytes
FROM template_history_rows_all h
JOIN log_body_templates_all t ON t.node = h.node AND t.severity = h.severity AND t.service_name = h.service_name
                              AND t.cluster_id = h.cluster_id
JOIN f_log_body_templates f ON f.severity = t.severity AND f.service_name = t.service_name AND f.template = t.template
GROUP BY h.severity, h.service_name, f.cluster_id, h.resolution, h.bucket_start""",
}


def fleet(spark):
    """{table: DataFrame} of the fleet catalog, from the <table>_all views."""
    for table, sql in FLEET.items():
        spark.sql(sql).createOrReplaceTempView(f"f_{table}")
    out = {}
    for table in otelcat_spark.TABLES:
        out[table] = spark.sql(FINAL[table]) if table in FINAL else spark.table(f"f_{table}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="the fleet catalog to write (must not exist)")
    ap.add_argument("inputs", nargs="+", help="catalog files (.db) or otelcat export directories, in merge order")
    args = ap.parse_args(argv)
    if os.path.exists(args.out):
        raise SystemExit(f"{args.out} already exists: choose a new file name")
    tmp = tempfile.mkdtemp(prefix="otelcat-fleet-")
    try:
        t0, c0 = time.perf_counter(), otelcat_spark.cpu_seconds()
        dirs = []
        for i, p in enumerate(args.inputs):
            if os.path.isdir(p):
                dirs.append(p)
                continue
            from otelcat._common import open_catalog
            from otelcat.export import export
            d = os.path.join(tmp, f"{i:05d}")
            os.mkdir(d)
            db = open_catalog(p, readonly=True, extension=False)
            export(db, d, os.path.basename(p))
            db.close()
            dirs.append(d)
        t1, c1 = time.perf_counter(), otelcat_spark.cpu_seconds()
        spark = otelcat_spark.session("otelcat-fleet-merge")
        layout = os.path.join(tmp, "layout")
        os.mkdir(layout)
        otelcat_spark.read_exports(spark, dirs, layout)
        db = otelcat_spark.write_catalog(args.out, fleet(spark))
        t2, c2 = time.perf_counter(), otelcat_spark.cpu_seconds()
        q = lambda sql: db.execute(sql).fetchone()[0]
        print(f"fleet_merge: {len(dirs)} catalog(s) merged into {args.out}: {q('SELECT count(*) FROM metrics'):,} metrics, "
              f"{q('SELECT count(*) FROM spans'):,} span names, {q('SELECT count(*) FROM logs'):,} log severities "
              f"(export {t1 - t0:.1f} s, {c1 - c0:.1f} s CPU; Spark and write-back {t2 - t1:.1f} s, "
              f"{c2 - c1:.1f} s CPU)")
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(otelcat_spark.run_main("fleet_merge", main))
