-- otelcat: the key totals (tables key_totals and key_name_totals), built
-- again from the key rows (metric_key_rows, span_key_rows, log_key_rows).
-- otlp_ingest keeps them up to date at every commit; a writer that changes
-- key rows otherwise (examples/merge.sql, examples/etl.sql, the Spark
-- examples, the upgrade of an older catalog, your own SQL) runs these
-- statements at its end, through SELECT otelcat_refresh_totals()
-- (docs/catalog.md "Key totals"). Plain SQL: the same result as the views
-- attribute_catalog, key_bytes and key_mixed_types computed over every key
-- row before schema version 3.
DELETE FROM main.key_totals;
DELETE FROM main.key_name_totals;
INSERT INTO main.key_totals(key_name, signal, key_scope, entities, key_count, bytes, value_types, hll_sketch, first_seen, last_seen)
WITH k(signal, entity, key_scope, key_name, key_count, bytes, value_types, hll_sketch, first_seen, last_seen) AS (
  SELECT 'metrics', metric_name, key_scope, key_name, key_count, bytes, value_types, hll_sketch, first_seen, last_seen FROM main.metric_key_rows
  UNION ALL
  SELECT 'spans', span_name, key_scope, key_name, key_count, bytes, value_types, hll_sketch, first_seen, last_seen FROM main.span_key_rows
  UNION ALL
  SELECT 'logs', severity, key_scope, key_name, key_count, bytes, value_types, hll_sketch, first_seen, last_seen FROM main.log_key_rows),
-- Records per value type, of the rows whose value_types is JSON.
t AS (
  SELECT signal, key_scope, key_name, j.key AS type, sum(j.value) AS n
  FROM (SELECT * FROM k WHERE json_valid(value_types)) v, json_each(v.value_types) j
  GROUP BY signal, key_scope, key_name, j.key),
tj AS (
  SELECT signal, key_scope, key_name, json_counts_merge(json_group_object(type, n), NULL) AS value_types
  FROM t GROUP BY signal, key_scope, key_name),
g AS (
  SELECT key_name, signal, key_scope, count(DISTINCT entity) AS entities, sum(key_count) AS key_count,
         sum(bytes) AS bytes, hll_merge(hll_sketch) AS hll_sketch, min(first_seen) AS first_seen, max(last_seen) AS last_seen
  FROM k GROUP BY key_name, signal, key_scope)
SELECT g.key_name, g.signal, g.key_scope, g.entities, g.key_count, g.bytes, coalesce(tj.value_types, '{}'),
       g.hll_sketch, g.first_seen, g.last_seen
FROM g LEFT JOIN tj ON tj.signal = g.signal AND tj.key_scope = g.key_scope AND tj.key_name = g.key_name;
INSERT INTO main.key_name_totals(key_name, signal, entities)
SELECT key_name, 'metrics', count(DISTINCT metric_name) FROM main.metric_key_rows GROUP BY key_name
UNION ALL
SELECT key_name, 'spans', count(DISTINCT span_name) FROM main.span_key_rows GROUP BY key_name
UNION ALL
SELECT key_name, 'logs', count(DISTINCT severity) FROM main.log_key_rows GROUP BY key_name;
-- Service totals (table service_totals), built again from the service rows
-- (metric_services, span_services, log_services): per service and signal,
-- its rows, their records, bytes and span errors, and their time range
-- (docs/catalog.md "Service totals").
DELETE FROM main.service_totals;
INSERT INTO main.service_totals(service_name, signal, entities, records, bytes, span_errors, first_seen, last_seen)
SELECT service_name, 'metrics', count(*), sum(sample_count), sum(bytes), 0, min(first_seen), max(last_seen)
FROM main.metric_services GROUP BY service_name
UNION ALL
SELECT service_name, 'spans', count(*), sum(sample_count), sum(bytes), sum(status_error_count), min(first_seen), max(last_seen)
FROM main.span_services GROUP BY service_name
UNION ALL
SELECT service_name, 'logs', count(*), sum(sample_count), sum(bytes), 0, min(first_seen), max(last_seen)
FROM main.log_services GROUP BY service_name;
