-- examples/diff.sql: what changed between two catalog files.
--
--   sqlite3 new.db "ATTACH 'old.db' AS old" '.parameter set @factor 2' '.read examples/diff.sql'
--
-- Lists new and vanished metrics, span names, log severities, keys (per
-- signal, entity, scope and event) and log templates (per severity, service
-- and template text), keys whose estimated cardinality grew by more than
-- @factor (default 2) between the two files, metrics whose estimated active
-- series grew by more than @factor ('series grew') and metrics whose type
-- changed ('type changed': old and new are the types), keys whose bytes per
-- record (bytes / key_count) grew by more than @factor, and keys whose values
-- come in a value type the old file did not see for them ('new type'; old
-- and new are the value_types), and services whose records' bytes in a
-- signal grew by more than @factor ('service bytes grew': old and new are the
-- bytes of the service's spans, log records or Metric messages; docs/
-- catalog.md "Record bytes"). Reads plain columns only: the extension need
-- not be loaded. Both files need schema version 3 (bytes, value_types);
-- `otelcat diff` also reads older files (their keys have no bytes or types
-- to compare). One result set:
--   change | signal | entity | item | old | new
WITH
new_keys(signal, entity, item, card, key_count, bytes, types) AS (
  SELECT 'metrics', metric_name, key_scope || ':' || key_name, estimated_cardinality, key_count, bytes, value_types FROM main.metric_keys
  UNION ALL SELECT 'spans', span_name, key_scope || ':' || key_name || iif(event_name <> '', '@' || event_name, ''), estimated_cardinality,
                   key_count, bytes, value_types FROM main.span_keys
  UNION ALL SELECT 'logs', severity, key_scope || ':' || key_name, estimated_cardinality, key_count, bytes, value_types FROM main.log_keys),
old_keys(signal, entity, item, card, key_count, bytes, types) AS (
  SELECT 'metrics', metric_name, key_scope || ':' || key_name, estimated_cardinality, key_count, bytes, value_types FROM old.metric_keys
  UNION ALL SELECT 'spans', span_name, key_scope || ':' || key_name || iif(event_name <> '', '@' || event_name, ''), estimated_cardinality,
                   key_count, bytes, value_types FROM old.span_keys
  UNION ALL SELECT 'logs', severity, key_scope || ':' || key_name, estimated_cardinality, key_count, bytes, value_types FROM old.log_keys),
new_entities(signal, entity) AS (
  SELECT 'metrics', name FROM main.metrics UNION ALL SELECT 'spans', name FROM main.spans UNION ALL SELECT 'logs', severity FROM main.logs),
new_services(signal, service, bytes) AS (
  SELECT 'metrics', service_name, sum(bytes) FROM main.metric_services GROUP BY service_name
  UNION ALL SELECT 'spans', service_name, sum(bytes) FROM main.span_services GROUP BY service_name
  UNION ALL SELECT 'logs', service_name, sum(bytes) FROM main.log_services GROUP BY service_name),
old_services(signal, service, bytes) AS (
  SELECT 'metrics', service_name, sum(bytes) FROM old.metric_services GROUP BY service_name
  UNION ALL SELECT 'spans', service_name, sum(bytes) FROM old.span_services GROUP BY service_name
  UNION ALL SELECT 'logs', service_name, sum(bytes) FROM old.log_services GROUP BY service_name),
old_entities(signal, entity) AS (
  SELECT 'metrics', name FROM old.metrics UNION ALL SELECT 'spans', name FROM old.spans UNION ALL SELECT 'logs', severity FROM old.logs)
SELECT 'new ' || signal AS change, signal, entity, '' AS item, NULL AS old, NULL AS new
  FROM new_entities n WHERE NOT EXISTS (SELECT 1 FROM old_entities o WHERE o.signal = n.signal AND o.entity = n.entity)
UNION ALL
SELECT 'vanished ' || signal, signal, entity, '', NULL, NULL
  FROM old_entities o WHERE NOT EXISTS (SELECT 1 FROM new_entities n WHERE n.signal = o.signal AND n.entity = o.entity)
UNION ALL
SELECT 'new key', signal, entity, item, NULL, card
  FROM new_keys n WHERE NOT EXISTS (SELECT 1 FROM old_keys o WHERE o.signal = n.signal AND o.entity = n.entity AND o.item = n.item)
UNION ALL
SELECT 'vanished key', signal, entity, item, card, NULL
  FROM old_keys o WHERE NOT EXISTS (SELECT 1 FROM new_keys n WHERE n.signal = o.signal AND n.entity = o.entity AND n.item = o.item)
UNION ALL
SELECT 'cardinality grew', n.signal, n.entity, n.item, o.card, n.card
  FROM new_keys n JOIN old_keys o ON o.signal = n.signal AND o.entity = n.entity AND o.item = n.item
  WHERE n.card > coalesce(@factor, 2) * max(o.card, 1)
UNION ALL
SELECT 'series grew', 'metrics', n.name, '', o.estimated_active_series, n.estimated_active_series
  FROM main.metrics n JOIN old.metrics o ON o.name = n.name
  WHERE n.estimated_active_series > coalesce(@factor, 2) * max(o.estimated_active_series, 1)
UNION ALL
SELECT 'type changed', 'metrics', n.name, '', o.type, n.type
  FROM main.metrics n JOIN old.metrics o ON o.name = n.name WHERE n.type <> o.type
UNION ALL
SELECT 'bytes per record grew', n.signal, n.entity, n.item,
       round(1.0 * o.bytes / max(o.key_count, 1), 1), round(1.0 * n.bytes / max(n.key_count, 1), 1)
  FROM new_keys n JOIN old_keys o ON o.signal = n.signal AND o.entity = n.entity AND o.item = n.item
  WHERE o.bytes > 0 AND 1.0 * n.bytes / max(n.key_count, 1) > coalesce(@factor, 2) * o.bytes / max(o.key_count, 1)
UNION ALL
SELECT 'new type', n.signal, n.entity, n.item, o.types, n.types
  FROM new_keys n JOIN old_keys o ON o.signal = n.signal AND o.entity = n.entity AND o.item = n.item
  WHERE json_valid(n.types) AND json_valid(o.types) AND o.types <> '{}'
    AND EXISTS (SELECT 1 FROM json_each(n.types) t WHERE json_type(o.types, '$."' || t.key || '"') IS NULL)
UNION ALL
SELECT 'service bytes grew', n.signal, n.service, '', o.bytes, n.bytes
  FROM new_services n JOIN old_services o ON o.signal = n.signal AND o.service = n.service
  WHERE o.bytes > 0 AND n.bytes > coalesce(@factor, 2) * o.bytes
UNION ALL
SELECT 'new template', 'logs', t.severity || '/' || t.service_name, t.template, NULL, t.count
  FROM main.log_body_templates t WHERE NOT EXISTS (SELECT 1 FROM old.log_body_templates o
    WHERE o.severity = t.severity AND o.service_name = t.service_name AND o.template = t.template)
UNION ALL
SELECT 'vanished template', 'logs', o.severity || '/' || o.service_name, o.template, o.count, NULL
  FROM old.log_body_templates o WHERE NOT EXISTS (SELECT 1 FROM main.log_body_templates t
    WHERE o.severity = t.severity AND o.service_name = t.service_name AND o.template = t.template)
ORDER BY 1, 2, 3, 4;
