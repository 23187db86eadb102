-- otelcat catalog views (created with the schema). They answer the
-- catalog's common questions; each is meant to be filtered on its first column(s), which
-- SQLite pushes down to an index (tests/test_views.py checks the plans).

-- The keys of each entity (the tables metric_key_rows, span_key_rows and
-- log_key_rows) with key_percentage: of the entity's records (metrics
-- total_sample_count, spans total_sample_count, logs total_sample_count;
-- span events: span_events.event_count of the key's event, links:
-- spans.link_count), derived when read so that a commit writes only the
-- keys its batch counted, however many keys the entity has (schema version
-- 3; these were tables before). Plain SQL: tools that read a catalog
-- without the extension read them too.
--   SELECT * FROM span_keys WHERE span_name = 'GET /items' ORDER BY key_count DESC;
CREATE VIEW IF NOT EXISTS metric_keys AS
SELECT metric_name, key_scope, key_name, key_count,
       100.0 * metric_key_rows.key_count / max(1, (SELECT m.total_sample_count FROM metrics m WHERE m.name = metric_key_rows.metric_name))
         AS key_percentage,
       estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen,
       bytes, value_types, top_sketch, top_values
FROM metric_key_rows;

CREATE VIEW IF NOT EXISTS span_keys AS
SELECT span_name, key_scope, key_name, event_name, key_count,
       100.0 * key_count / max(1, CASE key_scope
         WHEN 'event' THEN (SELECT e.event_count FROM span_events e WHERE e.span_name = span_key_rows.span_name AND e.event_name = span_key_rows.event_name)
         WHEN 'link' THEN (SELECT p.link_count FROM spans p WHERE p.name = span_key_rows.span_name)
         ELSE (SELECT p.total_sample_count FROM spans p WHERE p.name = span_key_rows.span_name) END) AS key_percentage,
       estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen,
       bytes, value_types, top_sketch, top_values
FROM span_key_rows;

CREATE VIEW IF NOT EXISTS log_keys AS
SELECT severity, key_scope, key_name, key_count,
       100.0 * log_key_rows.key_count / max(1, (SELECT l.total_sample_count FROM logs l WHERE l.severity = log_key_rows.severity))
         AS key_percentage,
       estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen,
       bytes, value_types, top_sketch, top_values
FROM log_key_rows;

-- Metrics, spans and log severities of a service:
--   SELECT * FROM service_metrics WHERE service_name = 'checkout';
CREATE VIEW IF NOT EXISTS service_metrics AS
SELECT s.service_name, s.metric_name, m.type, m.unit, m.description, s.sample_count,
       m.estimated_active_series, s.first_seen, s.last_seen
FROM metric_services s JOIN metrics m ON m.name = s.metric_name;

CREATE VIEW IF NOT EXISTS service_spans AS
SELECT s.service_name, s.span_name, p.kind, s.sample_count, s.first_seen, s.last_seen
FROM span_services s JOIN spans p ON p.name = s.span_name;

CREATE VIEW IF NOT EXISTS service_log_severities AS
SELECT s.service_name, s.severity, s.sample_count, s.first_seen, s.last_seen
FROM log_services s;

-- Log body templates (the table log_body_template_rows) with each one's
-- percentage of its (severity, service)'s records, derived when read: a
-- commit then rewrites only the templates it counted lines in.
--   SELECT * FROM log_body_templates WHERE severity = 'ERROR' AND service_name = 'checkout' ORDER BY count DESC;
CREATE VIEW IF NOT EXISTS log_body_templates AS
SELECT t.severity, t.service_name, t.cluster_id, t.template, t.example, t.count,
       100.0 * t.count / max(1, (SELECT s.sample_count FROM log_services s
                                 WHERE s.severity = t.severity AND s.service_name = t.service_name)) AS percentage,
       t.first_seen, t.last_seen, t.bytes
FROM log_body_template_rows t;

-- Top-K templates of a severity and service:
--   SELECT * FROM top_log_templates WHERE severity = 'ERROR' AND service_name = 'checkout' LIMIT 10;
CREATE VIEW IF NOT EXISTS top_log_templates AS
SELECT severity, service_name, template, count, percentage, example, first_seen, last_seen
FROM log_body_templates ORDER BY severity, service_name, count DESC;

-- Get-API documents (one JSON document per entity, the shape of OCC's Go models):
--   SELECT document FROM metric_metadata WHERE name = 'http.server.request.duration';
CREATE VIEW IF NOT EXISTS metric_metadata(name, document) AS
SELECT m.name, json_object(
  'name', m.name, 'type', m.type, 'unit', m.unit, 'description', m.description,
  'sample_count', m.total_sample_count, 'estimated_active_series', m.estimated_active_series,
  'first_seen', m.first_seen, 'last_seen', m.last_seen,
  'services', (SELECT json_group_object(service_name, sample_count) FROM metric_services s WHERE s.metric_name = m.name),
  -- Bytes of the records in OTLP protobuf (schema version 3; docs/catalog.md "Bytes").
  'bytes', m.bytes,
  'service_bytes', (SELECT json_group_object(service_name, bytes) FROM metric_services s WHERE s.metric_name = m.name),
  -- Metric shape (schema version 3; docs/catalog.md "Metric shape").
  'temporality', m.temporality, 'is_monotonic', CASE m.is_monotonic WHEN 1 THEN json('true') WHEN 0 THEN json('false') END,
  'histogram_buckets', m.histogram_buckets, 'exp_histogram_buckets', m.exp_histogram_buckets,
  'exp_histogram_scales', iif(m.exp_histogram_min_scale IS NULL, NULL, json_array(m.exp_histogram_min_scale, m.exp_histogram_max_scale)),
  'summary_quantiles', m.summary_quantiles, 'estimated_prometheus_series', m.estimated_prometheus_series,
  'service_types', (SELECT json_group_object(service_name, type) FROM metric_services s WHERE s.metric_name = m.name AND type IS NOT NULL),
  'label_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'bytes', bytes, 'value_types', iif(json_valid(value_types), json(value_types), json_quote(value_types)),
                   'top_values', iif(json_valid(top_values), json(top_values), json_quote(top_values)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM metric_keys k WHERE k.metric_name = m.name AND k.key_scope = 'label'),
  'resource_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'bytes', bytes, 'value_types', iif(json_valid(value_types), json(value_types), json_quote(value_types)),
                   'top_values', iif(json_valid(top_values), json(top_values), json_quote(top_values)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM metric_keys k WHERE k.metric_name = m.name AND k.key_scope = 'resource'),
  -- Instrumentation scopes (schema version 3; docs/catalog.md "Instrumentation scopes"), most records first.
  'scopes', (SELECT json_group_array(json_object('name', scope_name, 'version', scope_version, 'records', records))
             FROM (SELECT scope_name, scope_version, sum(sample_count) AS records FROM metric_scopes c
                   WHERE c.metric_name = m.name GROUP BY scope_name, scope_version
                   ORDER BY records DESC, scope_name, scope_version)),
  -- History (schema version 3; docs/catalog.md "History"): the last 24 buckets' records, oldest first.
  'history', (SELECT json_group_array(json_array(bucket_start, records)) FROM
              (SELECT * FROM (SELECT bucket_start, records FROM entity_history h
                              WHERE h.signal = 'metrics' AND h.entity = m.name AND h.resolution = 'bucket'
                              ORDER BY bucket_start DESC LIMIT 24) ORDER BY bucket_start)))
FROM metrics m;

CREATE VIEW IF NOT EXISTS span_metadata(name, document) AS
SELECT p.name, json_object(
  'name', p.name, 'kind', p.kind, 'sample_count', p.total_sample_count,
  'first_seen', p.first_seen, 'last_seen', p.last_seen,
  'services', (SELECT json_group_object(service_name, sample_count) FROM span_services s WHERE s.span_name = p.name),
  -- Span status (schema version 3).
  'status', json_object('unset', p.status_unset_count, 'ok', p.status_ok_count, 'error', p.status_error_count),
  -- Bytes and dropped counts (schema version 3; docs/catalog.md "Bytes", "Dropped counts").
  'bytes', p.bytes,
  'service_bytes', (SELECT json_group_object(service_name, bytes) FROM span_services s WHERE s.span_name = p.name),
  'dropped', json_object('attributes', p.dropped_attributes_count, 'events', p.dropped_events_count,
                         'links', p.dropped_links_count),
  'attribute_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'bytes', bytes, 'value_types', iif(json_valid(value_types), json(value_types), json_quote(value_types)),
                   'top_values', iif(json_valid(top_values), json(top_values), json_quote(top_values)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM span_keys k WHERE k.span_name = p.name AND k.key_scope = 'attribute'),
  'resource_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'bytes', bytes, 'value_types', iif(json_valid(value_types), json(value_types), json_quote(value_types)),
                   'top_values', iif(json_valid(top_values), json(top_values), json_quote(top_values)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM span_keys k WHERE k.span_name = p.name AND k.key_scope = 'resource'),
  'link_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'bytes', bytes, 'value_types', iif(json_valid(value_types), json(value_types), json_quote(value_types)),
                   'top_values', iif(json_valid(top_values), json(top_values), json_quote(top_values))))
                 FROM span_keys k WHERE k.span_name = p.name AND k.key_scope = 'link'),
  'event_names', (SELECT json_group_array(event_name) FROM (SELECT event_name FROM span_events e
                   WHERE e.span_name = p.name ORDER BY event_name)),
  'events', (SELECT json_group_object(event_name, json_object('count', event_count,
               'attribute_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'bytes', bytes, 'value_types', iif(json_valid(value_types), json(value_types), json_quote(value_types)),
                   'top_values', iif(json_valid(top_values), json(top_values), json_quote(top_values))))
                 FROM span_keys k WHERE k.span_name = p.name AND k.key_scope = 'event' AND k.event_name = e.event_name)))
             FROM span_events e WHERE e.span_name = p.name),
  -- Instrumentation scopes (schema version 3; docs/catalog.md "Instrumentation scopes"), most records first.
  'scopes', (SELECT json_group_array(json_object('name', scope_name, 'version', scope_version, 'records', records))
             FROM (SELECT scope_name, scope_version, sum(sample_count) AS records FROM span_scopes c
                   WHERE c.span_name = p.name GROUP BY scope_name, scope_version
                   ORDER BY records DESC, scope_name, scope_version)),
  -- History (schema version 3; docs/catalog.md "History"): the last 24 buckets' records, oldest first.
  'history', (SELECT json_group_array(json_array(bucket_start, records)) FROM
              (SELECT * FROM (SELECT bucket_start, records FROM entity_history h
                              WHERE h.signal = 'spans' AND h.entity = p.name AND h.resolution = 'bucket'
                              ORDER BY bucket_start DESC LIMIT 24) ORDER BY bucket_start)))
FROM spans p;

CREATE VIEW IF NOT EXISTS log_metadata(severity, document) AS
SELECT l.severity, json_object(
  'severity', l.severity, 'sample_count', l.total_sample_count,
  'first_seen', l.first_seen, 'last_seen', l.last_seen,
  'services', (SELECT json_group_object(service_name, sample_count) FROM log_services s WHERE s.severity = l.severity),
  -- Bytes, dropped counts, trace context (schema version 3; docs/catalog.md).
  'bytes', l.bytes,
  'service_bytes', (SELECT json_group_object(service_name, bytes) FROM log_services s WHERE s.severity = l.severity),
  'dropped_attributes', l.dropped_attributes_count,
  'trace_context', json_object('trace_id', l.trace_id_count, 'span_id', l.span_id_count),
  'attribute_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'bytes', bytes, 'value_types', iif(json_valid(value_types), json(value_types), json_quote(value_types)),
                   'top_values', iif(json_valid(top_values), json(top_values), json_quote(top_values)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM log_keys k WHERE k.severity = l.severity AND k.key_scope = 'attribute'),
  'resource_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'bytes', bytes, 'value_types', iif(json_valid(value_types), json(value_types), json_quote(value_types)),
                   'top_values', iif(json_valid(top_values), json(top_values), json_quote(top_values)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM log_keys k WHERE k.severity = l.severity AND k.key_scope = 'resource'),
  'body_templates', (SELECT json_group_array(json_object('service_name', service_name, 'template', template,
                   'count', count, 'percentage', percentage, 'example', example, 'bytes', bytes))
                 FROM (SELECT * FROM log_body_templates t WHERE t.severity = l.severity
                       ORDER BY count DESC, service_name, template)),
  -- Instrumentation scopes (schema version 3; docs/catalog.md "Instrumentation scopes"), most records first.
  'scopes', (SELECT json_group_array(json_object('name', scope_name, 'version', scope_version, 'records', records))
             FROM (SELECT scope_name, scope_version, sum(sample_count) AS records FROM log_scopes c
                   WHERE c.severity = l.severity GROUP BY scope_name, scope_version
                   ORDER BY records DESC, scope_name, scope_version)),
  -- History (schema version 3; docs/catalog.md "History"): the last 24 buckets' records, oldest first.
  'history', (SELECT json_group_array(json_array(bucket_start, records)) FROM
              (SELECT * FROM (SELECT bucket_start, records FROM entity_history h
                              WHERE h.signal = 'logs' AND h.entity = l.severity AND h.resolution = 'bucket'
                              ORDER BY bucket_start DESC LIMIT 24) ORDER BY bucket_start)))
FROM logs l;

-- Every attribute key across signals: where it appears, how much, and the
-- cardinality of the union of all its values (hll_merge as an aggregate).
-- It reads the key totals (key_totals, key_name_totals: schema version 3,
-- docs/catalog.md "Key totals"), kept at every commit: a row per key name,
-- signal and scope, not every key row of the catalog.
CREATE VIEW IF NOT EXISTS attribute_catalog AS
SELECT t.key_name,
       -- Signals in the order metrics, spans, logs; scopes in that order too.
       (SELECT group_concat(signal) FROM (SELECT signal FROM key_name_totals n WHERE n.key_name = t.key_name
          ORDER BY CASE signal WHEN 'metrics' THEN 0 WHEN 'spans' THEN 1 ELSE 2 END)) AS signals,
       (SELECT group_concat(key_scope) FROM (SELECT key_scope FROM key_totals x WHERE x.key_name = t.key_name
          GROUP BY key_scope ORDER BY min(CASE signal WHEN 'metrics' THEN 0 WHEN 'spans' THEN 1 ELSE 2 END), key_scope)) AS scopes,
       coalesce((SELECT n.entities FROM key_name_totals n WHERE n.key_name = t.key_name AND n.signal = 'metrics'), 0) AS metrics,
       coalesce((SELECT n.entities FROM key_name_totals n WHERE n.key_name = t.key_name AND n.signal = 'spans'), 0) AS spans,
       coalesce((SELECT n.entities FROM key_name_totals n WHERE n.key_name = t.key_name AND n.signal = 'logs'), 0) AS severities,
       sum(t.key_count) AS total_count,
       -- A key has no more distinct values than records carrying it.
       min(hll_count(hll_merge(t.hll_sketch)), sum(t.key_count)) AS estimated_cardinality,
       min(t.first_seen) AS first_seen, max(t.last_seen) AS last_seen,
       -- attribution (issue 15): bytes of its pairs, records per value type
       sum(t.bytes) AS bytes,
       (SELECT json_counts_merge(json_group_object(ty, n), NULL) FROM (
          SELECT j.key AS ty, sum(j.value) AS n FROM key_totals x, json_each(x.value_types) j
          WHERE x.key_name = t.key_name GROUP BY j.key)) AS value_types
FROM key_totals t GROUP BY t.key_name;

-- Per service: what it sends and how much (the noisy-neighbour view).
CREATE VIEW IF NOT EXISTS service_overview AS
-- Each service's figures from its service totals (service_totals, kept at
-- every commit: a row per service and signal, docs/catalog.md "Service
-- totals"), grouped in primary-key order (no sort); its logs by severity,
-- scopes and log event names are each a search of the service's index range.
WITH t AS (
  SELECT service_name,
         sum(entities) FILTER (WHERE signal = 'metrics') AS metrics,
         sum(records) FILTER (WHERE signal = 'metrics') AS data_points,
         sum(bytes) FILTER (WHERE signal = 'metrics') AS metric_bytes,
         sum(entities) FILTER (WHERE signal = 'spans') AS span_names,
         sum(records) FILTER (WHERE signal = 'spans') AS spans,
         sum(bytes) FILTER (WHERE signal = 'spans') AS span_bytes,
         sum(span_errors) FILTER (WHERE signal = 'spans') AS span_errors,
         sum(records) FILTER (WHERE signal = 'logs') AS log_records,
         sum(bytes) FILTER (WHERE signal = 'logs') AS log_bytes,
         count(*) FILTER (WHERE signal = 'logs') AS has_logs,
         min(first_seen) AS first_seen, max(last_seen) AS last_seen
  FROM service_totals GROUP BY service_name)
SELECT s.service_name, coalesce(s.metrics, 0) AS metrics, coalesce(s.data_points, 0) AS data_points,
       coalesce(s.span_names, 0) AS span_names, coalesce(s.spans, 0) AS spans, coalesce(s.log_records, 0) AS log_records,
       -- records per severity, in severity order (idx_log_services_service)
       CASE WHEN s.has_logs THEN (SELECT json_group_object(severity, sample_count) FROM (
                                    SELECT severity, sample_count FROM log_services x
                                    WHERE x.service_name = s.service_name ORDER BY severity))
            ELSE json_object() END AS logs_by_severity,
       s.first_seen, s.last_seen,
       -- Bytes of its records in OTLP protobuf (schema version 3; docs/catalog.md "Record bytes").
       coalesce(s.metric_bytes, 0) AS metric_bytes, coalesce(s.span_bytes, 0) AS span_bytes, coalesce(s.log_bytes, 0) AS log_bytes,
       -- Span status, instrumentation scopes and log event names (schema version 3):
       -- the last two each a search of the service's index range.
       coalesce(s.span_errors, 0) AS span_errors,
       -- (each signal's scopes DISTINCT first: in index order, and with
       -- ANALYZE's statistics SQLite skips from one scope to the next)
       (SELECT json_group_array(json_object('name', scope_name, 'version', scope_version)) FROM (
          SELECT * FROM (SELECT DISTINCT scope_name, scope_version FROM metric_scopes x WHERE x.service_name = s.service_name)
          UNION SELECT * FROM (SELECT DISTINCT scope_name, scope_version FROM span_scopes x WHERE x.service_name = s.service_name)
          UNION SELECT * FROM (SELECT DISTINCT scope_name, scope_version FROM log_scopes x WHERE x.service_name = s.service_name)
          ORDER BY 1, 2)) AS scopes,
       (SELECT count(*) FROM log_event_services x WHERE x.service_name = s.service_name) AS log_event_names
FROM t s;

-- Services by the bytes of their records in OTLP protobuf, per signal
-- (schema version 3; docs/catalog.md "Bytes"): "which service costs the
-- most". signal_percentage: its share of the signal's bytes.
--   SELECT * FROM service_bytes WHERE signal = 'logs' LIMIT 10;
-- It reads the service totals (service_totals: a row per service and signal).
CREATE VIEW IF NOT EXISTS service_bytes AS
WITH s(signal, service_name, records, bytes) AS (
  SELECT signal, service_name, records, bytes FROM service_totals)
SELECT signal, service_name, records, bytes,
       round(1.0 * bytes / max(records, 1), 1) AS bytes_per_record,
       round(100.0 * bytes / max(sum(bytes) OVER (PARTITION BY signal), 1), 2) AS signal_percentage
FROM s ORDER BY bytes DESC, signal, service_name;

-- Log templates by the bytes of their records (schema version 3): "which
-- kind of log line costs the most".
--   SELECT * FROM log_template_bytes LIMIT 10;
CREATE VIEW IF NOT EXISTS log_template_bytes AS
SELECT severity, service_name, cluster_id, template, count, bytes,
       round(1.0 * bytes / max(count, 1), 1) AS bytes_per_record, example
FROM log_body_template_rows ORDER BY bytes DESC, severity, service_name, cluster_id;

-- Every key of every signal, ranked by estimated cardinality: the top N is
--   SELECT * FROM key_cardinality LIMIT 20;
-- which merges the three tables' cardinality indexes and reads N rows (an
-- ORDER BY of the query's own replaces the view's and sorts every row).
CREATE VIEW IF NOT EXISTS key_cardinality AS
SELECT 'metrics' AS signal, metric_name AS entity, key_scope, key_name, '' AS event_name, key_count, key_percentage,
       estimated_cardinality, value_samples, first_seen, last_seen FROM metric_keys
UNION ALL
SELECT 'spans', span_name, key_scope, key_name, event_name, key_count, key_percentage,
       estimated_cardinality, value_samples, first_seen, last_seen FROM span_keys
UNION ALL
SELECT 'logs', severity, key_scope, key_name, '', key_count, key_percentage,
       estimated_cardinality, value_samples, first_seen, last_seen FROM log_keys
ORDER BY estimated_cardinality DESC;

-- Attribution (issue 15, schema version 3) ---------------------------------
-- Which attribute costs the most: per signal, scope and key name (across its
-- metrics, span names or severities), the bytes its pairs take in OTLP
-- protobuf, per record carrying it, and its share of the signal's attribute
-- bytes. Resource keys count once per resource block (docs/catalog.md).
--   SELECT * FROM key_bytes WHERE signal = 'logs' LIMIT 10;
-- From the key totals (docs/catalog.md "Key totals"): a row per signal,
-- scope and key name, whatever the number of key rows.
CREATE VIEW IF NOT EXISTS key_bytes AS
SELECT signal, key_scope, key_name, entities, key_count, bytes,
       round(1.0 * bytes / max(key_count, 1), 1) AS bytes_per_record,
       round(100.0 * bytes / max(sum(bytes) OVER (PARTITION BY signal), 1), 2) AS signal_percentage
FROM key_totals ORDER BY bytes DESC, signal, key_scope, key_name;

-- Keys whose values come in more than one OTLP value type (int 200 on some
-- records, "200" on others), on one entity or across the entities of a
-- signal: every key row of such a key, with its own value_types, so that
-- the rows show where each type comes from. The mixed keys are found in the
-- key totals (their value_types add up every row's); their rows are then
-- read by key name (idx_*_keys_key; CROSS JOIN keeps the mixed keys the
-- outer loop whatever ANALYZE says about the key rows).
CREATE VIEW IF NOT EXISTS key_mixed_types AS
WITH mixed AS (
  SELECT t.signal, t.key_scope, t.key_name
  FROM key_totals t, json_each(t.value_types) j WHERE json_valid(t.value_types)
  GROUP BY t.key_name, t.signal, t.key_scope HAVING count(DISTINCT j.key) > 1)
SELECT 'metrics' AS signal, k.metric_name AS entity, k.key_scope, k.key_name, '' AS event_name, k.key_count, k.value_types
FROM mixed m CROSS JOIN metric_key_rows k ON k.key_name = m.key_name AND k.key_scope = m.key_scope WHERE m.signal = 'metrics'
UNION ALL
SELECT 'spans', k.span_name, k.key_scope, k.key_name, k.event_name, k.key_count, k.value_types
FROM mixed m CROSS JOIN span_key_rows k ON k.key_name = m.key_name AND k.key_scope = m.key_scope WHERE m.signal = 'spans'
UNION ALL
SELECT 'logs', k.severity, k.key_scope, k.key_name, '', k.key_count, k.value_types
FROM mixed m CROSS JOIN log_key_rows k ON k.key_name = m.key_name AND k.key_scope = m.key_scope WHERE m.signal = 'logs';

-- Span-name patterns that many distinct names collapse into (unbounded span names).
-- An explosion: at least 10 distinct span names under one pattern. Fewer is
-- a handful of routes or spellings ('GET' and 'GET ' are two names of the
-- pattern GET), not an id in the name.
CREATE VIEW IF NOT EXISTS span_name_explosions AS
SELECT service_name, pattern, estimated_names, span_count, example, first_seen, last_seen
FROM span_name_patterns WHERE estimated_names >= 10
ORDER BY estimated_names DESC;

-- Services whose name looks like an instance id rather than a service (each
-- gets its own log and span-name template models, and its own rows):
-- unknown_service (no service.name set), Kubernetes pod names
-- (name-<replica set hash>-<5 characters>, name-<ordinal>), IP addresses,
-- long numbers, hex ids. The reason is the first that matches.
CREATE VIEW IF NOT EXISTS instance_like_services AS
-- Every service once, judged by its name, with its records and time range,
-- from the service totals (service_totals: a row per service and signal,
-- grouped in primary-key order: no sort).
SELECT service_name, CASE
    WHEN service_name GLOB 'unknown_service*' THEN 'unknown_service: the sender sets no service.name'
    WHEN service_name GLOB '*?-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]'
      OR service_name GLOB '*?-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]'
      OR service_name GLOB '*?-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]'
      THEN 'pod name (replica set hash and pod suffix)'
    WHEN service_name GLOB '*[0-9].[0-9]*.[0-9]*.[0-9]*' THEN 'IP address'
    WHEN service_name GLOB '*[0-9][0-9][0-9][0-9]*' THEN 'number of 4 digits or more'
    WHEN service_name GLOB '*[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]*'
      AND service_name GLOB '*[0-9]*' AND service_name GLOB '*[a-fA-F]*' THEN 'hex id'
    WHEN service_name GLOB '*?-[0-9]' OR service_name GLOB '*?-[0-9][0-9]' OR service_name GLOB '*?-[0-9][0-9][0-9]'
      THEN 'ordinal suffix (StatefulSet pod or replica)'
    END AS reason,
  sum(records) AS records, min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM service_totals GROUP BY service_name HAVING reason IS NOT NULL ORDER BY service_name;

-- The attribute keys of each log template's records, with the share of the
-- template's lines that carry them: "which field holds the user id here".
CREATE VIEW IF NOT EXISTS template_keys AS
SELECT t.severity, t.service_name, t.cluster_id, t.template, k.key_name, k.key_count,
       100.0 * k.key_count / max(t.count, 1) AS key_percentage,
       k.first_seen, k.last_seen
FROM log_template_keys k
JOIN log_body_templates t USING (severity, service_name, cluster_id);

-- ---------------------------------------------------------------------------
-- Semantic conventions: the catalog's keys and metrics against the release of
-- OpenTelemetry's semantic conventions the extension embeds (the tables
-- semconv_attributes, semconv_metrics, semconv_groups,
-- semconv_group_attributes; docs/catalog.md, "Semantic conventions"). They
-- are queries over the catalog, run when asked, never during ingest.
--
-- A key is a convention key when an attribute of the registry defines it:
-- its name, or a key of a template attribute (http.request.header.accept is
-- one of http.request.header's). The catalog counts keys per metric, span
-- name or log severity, not per service: `services` lists the services that
-- send the entity.

-- Keys in use that the conventions deprecate, with what replaces them.
CREATE VIEW IF NOT EXISTS semconv_deprecated_keys AS
WITH d AS (
  SELECT name, replacement, deprecated_reason, deprecated_note,
         iif(template, name || '.', name) AS lo, iif(template, name || '.' || char(1114111), name) AS hi
  FROM semconv_attributes WHERE deprecated),
k(signal, entity, key_scope, event_name, key_name, key_count, replacement, reason, note) AS (
  SELECT 'metrics', m.metric_name, m.key_scope, '', m.key_name, m.key_count, d.replacement, d.deprecated_reason, d.deprecated_note
  FROM d CROSS JOIN metric_keys m ON m.key_name BETWEEN d.lo AND d.hi
  UNION ALL
  SELECT 'spans', s.span_name, s.key_scope, s.event_name, s.key_name, s.key_count, d.replacement, d.deprecated_reason, d.deprecated_note
  FROM d CROSS JOIN span_keys s ON s.key_name BETWEEN d.lo AND d.hi
  UNION ALL
  SELECT 'logs', l.severity, l.key_scope, '', l.key_name, l.key_count, d.replacement, d.deprecated_reason, d.deprecated_note
  FROM d CROSS JOIN log_keys l ON l.key_name BETWEEN d.lo AND d.hi)
SELECT k.key_name, k.replacement, k.reason, k.note, k.signal, k.entity, k.key_scope, k.event_name, k.key_count,
  CASE k.signal
    WHEN 'metrics' THEN (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM metric_services WHERE metric_name = k.entity ORDER BY 1))
    WHEN 'spans' THEN (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM span_services WHERE span_name = k.entity ORDER BY 1))
    ELSE (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM log_services WHERE severity = k.entity ORDER BY 1)) END AS services
FROM k;

-- Keys whose values disagree with the convention: problem 'type' when
-- values are not of the attribute's type, 'not in enum' when a value of an
-- enum attribute is none of its members (enums admit other values, so
-- review them; error.type, whose only member is _OTHER, is left out).
--
-- Types are judged from value_types, the key's records per OTLP value type
-- (schema version 3): any record of another type than the convention's
-- (array for string[] and int[], bool for boolean) is a 'type' row, with
-- those types in observed_types and their records in type_counts
-- ({"string":120}). Where value_types tells nothing ('{}': rows ingested
-- before a catalog's upgrade to version 3, or no such column in a catalog
-- of 0.1.0 or 0.2.0 read through TEMP views), the types are judged from
-- value_samples, the first 10 distinct values as text: a value whose text
-- can be of the type gets the benefit of the doubt ('200' fits an int and
-- a string alike), so only values that cannot be of it make a row ('abc' or
-- '1.5' for an int, 'yes' for a boolean, a scalar for an array), with no
-- counts. Where value_types covers only some records (sum below
-- key_count: a row older than the upgrade that kept receiving), both are
-- applied. judged_from says which. Values outside an enum are judged from
-- the samples.
-- value_types is read from `(SELECT *, NULL AS value_types FROM <table>) x`
-- as x.value_types: when the table has the column (schema version 3), the
-- subquery's second column of that name is renamed (value_types:1) and
-- x.value_types is the table's; in an older catalog it is the NULL. (The
-- subquery is flattened: the key_name index serves as before.)
CREATE VIEW IF NOT EXISTS semconv_type_mismatches AS
WITH a AS (
  SELECT name, type, otlp_type, '{"' || otlp_type || '":' AS all_of, members, lo, hi FROM (
    SELECT name, type, CASE WHEN type LIKE '%[]' THEN 'array' WHEN type = 'boolean' THEN 'bool' ELSE type END AS otlp_type,
           -- ',"m1","m2",…,' (members as JSON strings): a value is a member when ',' || json_quote(value) || ',' is in it
           CASE WHEN enum_members <> '["_OTHER"]'
                THEN ',' || (SELECT group_concat(json_quote(CAST(value AS TEXT)), ',') FROM json_each(enum_members)) || ',' END AS members,
           iif(template, name || '.', name) AS lo, iif(template, name || '.' || char(1114111), name) AS hi
    FROM semconv_attributes WHERE type <> 'any')),
k(signal, entity, key_scope, event_name, key_name, key_count, value_samples, value_types, type, otlp_type, all_of, members) AS (
  SELECT 'metrics', m.metric_name, m.key_scope, '', m.key_name, m.key_count, m.value_samples,
         m.value_types, a.type, a.otlp_type, a.all_of, a.members
  FROM a CROSS JOIN (SELECT *, NULL AS value_types FROM metric_keys) m ON m.key_name BETWEEN a.lo AND a.hi
  UNION ALL
  SELECT 'spans', s.span_name, s.key_scope, s.event_name, s.key_name, s.key_count, s.value_samples,
         s.value_types, a.type, a.otlp_type, a.all_of, a.members
  FROM a CROSS JOIN (SELECT *, NULL AS value_types FROM span_keys) s ON s.key_name BETWEEN a.lo AND a.hi
  UNION ALL
  SELECT 'logs', l.severity, l.key_scope, '', l.key_name, l.key_count, l.value_samples,
         l.value_types, a.type, a.otlp_type, a.all_of, a.members
  FROM a CROSS JOIN (SELECT *, NULL AS value_types FROM log_keys) l ON l.key_name BETWEEN a.lo AND a.hi),
t AS NOT MATERIALIZED (
  SELECT k.*,
    -- counted: {type: records} of the types other than the convention's
    -- that value_types counts ('{}' when none); known: the records it
    -- counts (0 when it counts none or cannot be read). The common case,
    -- every record of the convention's type, is one comparison of text.
    CASE WHEN value_types = all_of || key_count || '}' THEN '{}'
         WHEN value_types IS NULL OR value_types = '{}' OR NOT json_valid(value_types) OR json_type(value_types) <> 'object' THEN '{}'
         ELSE (SELECT json_group_object(name, n) FROM (
                 SELECT v.key AS name, v.value AS n FROM json_each(k.value_types) v
                 WHERE v.type = 'integer' AND v.value > 0 AND v.key <> k.otlp_type ORDER BY v.key)) END AS counted,
    CASE WHEN value_types = all_of || key_count || '}' THEN key_count
         WHEN value_types IS NULL OR value_types = '{}' OR NOT json_valid(value_types) OR json_type(value_types) <> 'object' THEN 0
         ELSE (SELECT total(v.value) FROM json_each(k.value_types) v WHERE v.type = 'integer' AND v.value > 0) END AS known
  FROM k
  -- a row of a key that is no enum and whose every record is of the
  -- convention's type is fine: left out before j judges its samples
  WHERE members IS NOT NULL OR value_types IS NOT all_of || key_count || '}'),
j AS MATERIALIZED (
  SELECT * FROM (
    SELECT t.*,
      -- sampled: {"types": [the types the samples that cannot be of the
      -- attribute's must have been sent as], "samples": such values}, NULL
      -- when none is; not looked for when value_types counts every record
      -- of the convention's type. A sample's text is given the attribute's
      -- own type when it can be of it (a string attribute takes anything),
      -- else the narrowest type it can be.
      CASE WHEN otlp_type <> 'string' AND (known < key_count OR counted <> '{}') THEN (
        SELECT json_object('types', json_group_array(DISTINCT value_type), 'samples', json_group_array(sample))
        FROM (SELECT s.value AS sample, CASE
                WHEN s.value GLOB '*[0-9]' AND substr(s.value, 1 + (substr(s.value, 1, 1) = '-')) NOT GLOB '*[^0-9]*'
                  THEN iif(t.otlp_type = 'double', 'double', 'int')
                WHEN s.value IN ('NaN', 'Infinity', '-Infinity') OR (s.value GLOB '*[0-9]*' AND s.value NOT GLOB '*[^0-9.eE+-]*')
                  THEN 'double'
                WHEN s.value IN ('true', 'false') THEN 'bool'
                WHEN json_valid(s.value) THEN CASE json_type(s.value) WHEN 'array' THEN 'array' WHEN 'object' THEN 'kvlist'
                                                ELSE 'string' END
                ELSE 'string' END AS value_type
              FROM json_each(iif(json_valid(t.value_samples), t.value_samples, '[]')) s)
        WHERE value_type <> t.otlp_type HAVING count(*) > 0) END AS sampled,
      -- outside: the values of an enum attribute that are of its type and none of its members
      CASE WHEN members IS NOT NULL THEN (
        SELECT json_group_array(s.value) FROM json_each(iif(json_valid(t.value_samples), t.value_samples, '[]')) s
        WHERE instr(t.members, ',' || json_quote(CAST(s.value AS TEXT)) || ',') = 0
          AND (t.otlp_type = 'string'
               OR (s.value GLOB '*[0-9]' AND substr(s.value, 1 + (substr(s.value, 1, 1) = '-')) NOT GLOB '*[^0-9]*')
               OR (t.otlp_type = 'double' AND (s.value IN ('NaN', 'Infinity', '-Infinity')
                                               OR (s.value GLOB '*[0-9]*' AND s.value NOT GLOB '*[^0-9.eE+-]*'))))
        HAVING count(*) > 0) END AS outside
    FROM t)
  WHERE counted <> '{}' OR sampled IS NOT NULL OR outside IS NOT NULL),
-- One read of j for both problems (not two): a filter on the view (a key
-- name) then reaches the key tables' key_name index through j and k.
p(signal, entity, key_scope, event_name, key_name, key_count, type, problem, observed, samples, type_counts, judged_from) AS (
  SELECT signal, entity, key_scope, event_name, key_name, key_count, type, x.problem,
         -- the types value_types counts, and those of the samples where it does not count every record
         iif(x.problem = 'type', (SELECT group_concat(x, ',') FROM (
            SELECT v.key AS x FROM json_each(iif(counted <> '{}', counted, '{}')) v
            UNION SELECT v.value FROM json_each(iif(known < key_count, ifnull(json_extract(sampled, '$.types'), '[]'), '[]')) v
            ORDER BY 1)), NULL),
         -- the values that cannot be of the type when the samples show some, else the key's samples
         iif(x.problem = 'type',
             coalesce(json(json_extract(sampled, '$.samples')), iif(json_valid(value_samples), json(value_samples), json_quote(value_samples))),
             outside),
         iif(x.problem = 'type' AND counted <> '{}', counted, NULL),
         CASE WHEN x.problem <> 'type' THEN 'samples'
              WHEN known >= key_count THEN 'value_types' WHEN known = 0 THEN 'samples' ELSE 'value_types, samples' END
  FROM j JOIN (SELECT 'type' AS problem UNION ALL SELECT 'not in enum') x
    ON CASE x.problem WHEN 'type' THEN counted <> '{}' OR (sampled IS NOT NULL AND known < key_count)
                      ELSE outside IS NOT NULL END)
SELECT p.key_name, p.problem, p.type AS expected_type, p.observed AS observed_types, p.type_counts, p.samples, p.judged_from,
  p.signal, p.entity, p.key_scope, p.event_name, p.key_count,
  CASE p.signal
    WHEN 'metrics' THEN (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM metric_services WHERE metric_name = p.entity ORDER BY 1))
    WHEN 'spans' THEN (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM span_services WHERE span_name = p.entity ORDER BY 1))
    ELSE (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM log_services WHERE severity = p.entity ORDER BY 1)) END AS services
FROM p;

-- Metrics the conventions define whose unit, instrument or monotonicity
-- disagrees, and deprecated metric names (expected: the replacement). An
-- instrument's OTLP type: counter and updowncounter Sum, gauge Gauge,
-- histogram Histogram or ExponentialHistogram. Monotonicity tells a counter
-- (a monotonic Sum) from an updowncounter (a non-monotonic one): a
-- 'monotonicity' row when the metric's last Sum, or a service's, is the
-- other kind; its services are the ones that sent it so (all the metric's
-- when only the metric row says so). A NULL is_monotonic (a catalog
-- upgraded from before schema version 3, until the metric comes again) is
-- not judged.
-- The shape columns are read as `(SELECT col FROM t y WHERE <y is the row>)`
-- beside `absent`, a row of NULLs of the same names: SQLite resolves an
-- unqualified column in the innermost FROM that has it, so a catalog of
-- schema version 3 gives y's value and an older one (which the Python tools
-- give this view as a TEMP view, read-only) gives absent's NULL.
CREATE VIEW IF NOT EXISTS semconv_metric_mismatches AS
WITH absent(type, is_monotonic) AS (VALUES (NULL, NULL)),
m AS (
  SELECT m.name, m.type, m.unit, c.instrument, c.unit AS expected_unit, c.deprecated, c.replacement, c.deprecated_note,
         (SELECT is_monotonic FROM metrics y WHERE y.name = m.name) AS monotonic,
         CASE c.instrument WHEN 'counter' THEN 'Sum' WHEN 'updowncounter' THEN 'Sum' WHEN 'gauge' THEN 'Gauge'
                           WHEN 'histogram' THEN 'Histogram' END AS expected_type,
         CASE c.instrument WHEN 'counter' THEN 1 WHEN 'updowncounter' THEN 0 END AS expected_monotonic,
         (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM metric_services s WHERE s.metric_name = m.name ORDER BY 1)) AS services
  FROM absent, semconv_metrics c CROSS JOIN metrics m ON m.name = c.name),
mono AS (
  SELECT m.*,
         (SELECT group_concat(service_name, ', ') FROM (
            SELECT x.service_name FROM absent, metric_services x
            WHERE x.metric_name = m.name
              AND (SELECT type FROM metric_services y WHERE (y.metric_name, y.service_name) = (x.metric_name, x.service_name)) = 'Sum'
              AND (SELECT is_monotonic FROM metric_services y
                   WHERE (y.metric_name, y.service_name) = (x.metric_name, x.service_name)) = 1 - m.expected_monotonic
            ORDER BY 1)) AS senders
  FROM m WHERE expected_monotonic IS NOT NULL)
SELECT name AS metric_name, problem, observed, expected, instrument, services FROM (
  SELECT name, 'unit' AS problem, unit AS observed, expected_unit AS expected, instrument, services FROM m
  WHERE unit IS NOT expected_unit
  UNION ALL
  SELECT name, 'instrument', type, expected_type, instrument, services FROM m
  WHERE type IS NOT expected_type AND NOT (instrument = 'histogram' AND type = 'ExponentialHistogram')
  UNION ALL
  SELECT name, 'monotonicity', iif(expected_monotonic, 'non-monotonic Sum', 'monotonic Sum'),
         iif(expected_monotonic, 'monotonic Sum', 'non-monotonic Sum'), instrument, coalesce(senders, services) FROM mono
  WHERE senders IS NOT NULL OR (type = 'Sum' AND monotonic = 1 - expected_monotonic)
  UNION ALL
  SELECT name, 'deprecated', name, coalesce(replacement, deprecated_note), instrument, services FROM m WHERE deprecated);

-- Keys in a namespace of the conventions (http.*, db.*, app.*, …) that the
-- conventions do not define: typos, or home-made keys in a namespace the
-- conventions own. nearest: up to 3 convention names close to the key
-- (semconv_nearest), '[]' when none is.
CREATE VIEW IF NOT EXISTS semconv_unknown_keys AS
WITH names(key_name) AS (
  SELECT key_name FROM (SELECT DISTINCT key_name FROM metric_keys)
  UNION SELECT key_name FROM (SELECT DISTINCT key_name FROM span_keys)
  UNION SELECT key_name FROM (SELECT DISTINCT key_name FROM log_keys)),
u AS (
  SELECT key_name, substr(key_name, 1, instr(key_name, '.') - 1) AS namespace FROM names
  WHERE instr(key_name, '.') > 1 AND semconv_attribute(key_name) IS NULL),
c AS (
  SELECT u.key_name, u.namespace,
    (SELECT count(*) FROM metric_keys k WHERE k.key_name = u.key_name) AS metrics,
    (SELECT count(*) FROM span_keys k WHERE k.key_name = u.key_name) AS spans,
    (SELECT count(*) FROM log_keys k WHERE k.key_name = u.key_name) AS severities,
    coalesce((SELECT sum(key_count) FROM metric_keys k WHERE k.key_name = u.key_name), 0)
      + coalesce((SELECT sum(key_count) FROM span_keys k WHERE k.key_name = u.key_name), 0)
      + coalesce((SELECT sum(key_count) FROM log_keys k WHERE k.key_name = u.key_name), 0) AS total_count
  FROM u WHERE EXISTS (SELECT 1 FROM semconv_attributes a WHERE a.namespace = u.namespace))
SELECT key_name, namespace, semconv_nearest(key_name) AS nearest,
  substr(iif(metrics > 0, ',metrics', '') || iif(spans > 0, ',spans', '') || iif(severities > 0, ',logs', ''), 2) AS signals,
  metrics, spans, severities, total_count
FROM c;

-- Keys that differ only in case or separators (userId, user_id, user.id),
-- at least one of them not a convention key: one row per spelling;
-- convention_key is the group's convention spelling when it has one.
CREATE VIEW IF NOT EXISTS semconv_similar_keys AS
WITH names(key_name) AS (
  SELECT key_name FROM (SELECT DISTINCT key_name FROM metric_keys)
  UNION SELECT key_name FROM (SELECT DISTINCT key_name FROM span_keys)
  UNION SELECT key_name FROM (SELECT DISTINCT key_name FROM log_keys)),
n AS (
  SELECT key_name, lower(replace(replace(replace(key_name, '.', ''), '_', ''), '-', '')) AS form,
         semconv_attribute(key_name) IS NOT NULL AS convention
  FROM names),
g AS (
  SELECT form, max(CASE WHEN convention THEN key_name END) AS convention_key FROM n
  GROUP BY form HAVING count(*) > 1 AND sum(convention) < count(*))
SELECT n.form, n.key_name, n.convention, g.convention_key,
  (SELECT count(*) FROM metric_keys k WHERE k.key_name = n.key_name) AS metrics,
  (SELECT count(*) FROM span_keys k WHERE k.key_name = n.key_name) AS spans,
  (SELECT count(*) FROM log_keys k WHERE k.key_name = n.key_name) AS severities,
  coalesce((SELECT sum(key_count) FROM metric_keys k WHERE k.key_name = n.key_name), 0)
    + coalesce((SELECT sum(key_count) FROM span_keys k WHERE k.key_name = n.key_name), 0)
    + coalesce((SELECT sum(key_count) FROM log_keys k WHERE k.key_name = n.key_name), 0) AS total_count
FROM n JOIN g ON g.form = n.form;

-- Per service and signal: the distinct keys of what it sends (every scope,
-- resource included), how many the conventions define (deprecated ones
-- apart) and the convention keys' share. The keys of a metric, span name or
-- severity count for every service that sends it.
CREATE VIEW IF NOT EXISTS semconv_coverage AS
WITH sk(service_name, signal, key_name) AS (
  -- one DISTINCT per signal (they cannot overlap), on two columns: a third
  -- of the work of one UNION of the three
  SELECT service_name, 'metrics', key_name
  FROM (SELECT DISTINCT s.service_name, k.key_name FROM metric_services s JOIN metric_keys k ON k.metric_name = s.metric_name)
  UNION ALL SELECT service_name, 'spans', key_name
  FROM (SELECT DISTINCT s.service_name, k.key_name FROM span_services s JOIN span_keys k ON k.span_name = s.span_name)
  UNION ALL SELECT service_name, 'logs', key_name
  FROM (SELECT DISTINCT s.service_name, k.key_name FROM log_services s JOIN log_keys k ON k.severity = s.severity)),
c AS (
  SELECT sk.service_name, sk.signal, sk.key_name, a.deprecated
  FROM sk LEFT JOIN semconv_attributes a ON a.name = semconv_attribute(sk.key_name))
SELECT service_name, signal, count(*) AS keys,
  sum(ifnull(deprecated = 0, 0)) AS convention_keys, sum(ifnull(deprecated, 0)) AS deprecated_keys,
  sum(deprecated IS NULL) AS custom_keys, round(100.0 * sum(ifnull(deprecated = 0, 0)) / count(*), 1) AS convention_pct
FROM c GROUP BY service_name, signal;

-- Required attributes (and recommended ones without a condition) that no
-- record of a convention span, metric or span event carries. A metric is
-- the convention's when it has its name, a span event when it has its
-- event's name; a span is matched to the general convention span of its
-- kind when it carries a key of that namespace (span_rules). Deprecated
-- definitions and deprecated attributes are left out, and so are
-- conditionally required attributes (the catalog cannot tell whether their
-- condition holds) and attributes carried by only some records (one span
-- name can gather different operations: Redis and HTTP GETs). sent_as:
-- deprecated keys the entity carries instead (http.method for
-- http.request.method).
CREATE VIEW IF NOT EXISTS semconv_missing_attributes AS
WITH span_rules(group_id, kind, lo, hi) AS (VALUES
  ('span.http.server', 'Server', 'http.', 'http/'), ('span.http.client', 'Client', 'http.', 'http/'),
  ('span.db.client', 'Client', 'db.', 'db/'),
  ('span.rpc.call.server', 'Server', 'rpc.', 'rpc/'), ('span.rpc.call.client', 'Client', 'rpc.', 'rpc/'),
  ('span.messaging.send.producer', 'Producer', 'messaging.', 'messaging/'),
  ('span.messaging.process.consumer', 'Consumer', 'messaging.', 'messaging/'),
  ('span.graphql.server', 'Server', 'graphql.', 'graphql/'), ('span.faas.server', 'Server', 'faas.', 'faas/')),
-- services: once per entity, not per missing attribute
matched(signal, entity, convention, key_scope, event_name, records, services) AS (
  SELECT 'metrics', m.name, c.group_id, 'label', '', m.total_sample_count,
         (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM metric_services WHERE metric_name = m.name ORDER BY 1))
  FROM semconv_metrics c CROSS JOIN metrics m ON m.name = c.name WHERE NOT c.deprecated
  UNION ALL
  SELECT 'spans', p.name, r.group_id, 'attribute', '', p.total_sample_count,
         (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM span_services WHERE span_name = p.name ORDER BY 1))
  FROM spans p JOIN span_rules r ON r.kind = p.kind
  WHERE EXISTS (SELECT 1 FROM span_keys k WHERE k.span_name = p.name AND k.key_scope = 'attribute'
                  AND k.key_name >= r.lo AND k.key_name < r.hi)
  UNION ALL
  SELECT 'spans', e.span_name, g.id, 'event', e.event_name, e.event_count,
         (SELECT group_concat(service_name, ', ') FROM (SELECT service_name FROM span_services WHERE span_name = e.span_name ORDER BY 1))
  FROM semconv_groups g CROSS JOIN span_events e ON e.event_name = g.name
  WHERE g.type = 'event' AND NOT g.deprecated),
-- the attributes a definition asks for, once (not once per entity matched)
req AS MATERIALIZED (
  SELECT a.group_id, a.attribute, a.requirement_level FROM semconv_group_attributes a
  WHERE (a.requirement_level = 'required' OR (a.requirement_level = 'recommended' AND a.condition IS NULL))
    AND NOT EXISTS (SELECT 1 FROM semconv_attributes d WHERE d.name = a.attribute AND d.deprecated)),
need AS (
  SELECT m.*, a.attribute, a.requirement_level
  -- matched the outer loop, req looked up by group: with req outer (which
  -- SQLite picks when the view is filtered on requirement_level) every
  -- entity matched is read once per attribute asked for
  FROM matched m CROSS JOIN req a ON a.group_id = m.convention
  WHERE NOT CASE m.signal
      WHEN 'metrics' THEN EXISTS (SELECT 1 FROM metric_keys k WHERE k.metric_name = m.entity AND k.key_scope = 'label' AND k.key_name = a.attribute)
      ELSE EXISTS (SELECT 1 FROM span_keys k WHERE k.span_name = m.entity AND k.key_scope = m.key_scope
                                              AND k.key_name = a.attribute AND k.event_name = m.event_name) END)
SELECT n.signal, n.entity, n.convention, n.event_name, n.attribute, n.requirement_level,
  (SELECT group_concat(d.name, ', ') FROM semconv_attributes d WHERE d.replacement = n.attribute AND (
     CASE n.signal
       WHEN 'metrics' THEN EXISTS (SELECT 1 FROM metric_keys k WHERE k.metric_name = n.entity AND k.key_scope = 'label' AND k.key_name = d.name)
       ELSE EXISTS (SELECT 1 FROM span_keys k WHERE k.span_name = n.entity AND k.key_scope = n.key_scope
                                                AND k.key_name = d.name AND k.event_name = n.event_name) END)) AS sent_as,
  n.records,
  n.services
FROM need n;

-- Metric shape (schema version 3). Metrics whose services disagree on the
-- type, temporality or monotonicity they send (what each sent last), one
-- row per (metric, service): a Gauge from one service and a Sum from
-- another cannot be queried as one metric in Prometheus.
--   SELECT * FROM metric_shape_conflicts WHERE metric_name = 'queue.depth';
-- Metrics in name order, each judged once from its own service rows (two
-- values differ: min <> max, NULLs left out), then its rows: `LIMIT 20`
-- reads about 20 metrics, not every service row. A LEFT JOIN keeps that
-- order (metrics outer) and SQLite builds no Bloom filter over
-- metric_services for it (which costs a scan of every row); it adds no
-- NULL row: a metric judged in conflict has two rows with a type.
CREATE VIEW IF NOT EXISTS metric_shape_conflicts AS
SELECT s.metric_name, s.service_name, s.type, s.temporality, s.is_monotonic, s.sample_count, s.last_seen
FROM metrics m LEFT JOIN metric_services s ON s.metric_name = m.name AND s.type IS NOT NULL
WHERE (SELECT min(o.type) <> max(o.type) OR min(o.temporality) <> max(o.temporality)
              OR min(o.is_monotonic) <> max(o.is_monotonic)
       FROM metric_services o WHERE o.metric_name = m.name AND o.type IS NOT NULL)
ORDER BY m.name, s.service_name;

-- Metrics by the series they make in Prometheus (rule: docs/catalog.md
-- "Metric shape"): "which histogram makes the most Prometheus series".
--   SELECT * FROM metric_prometheus_series LIMIT 10;
CREATE VIEW IF NOT EXISTS metric_prometheus_series AS
SELECT name, type, estimated_active_series,
       CASE type WHEN 'Histogram' THEN histogram_buckets + 2 WHEN 'Summary' THEN summary_quantiles + 2 ELSE 1 END
         AS series_per_series,
       estimated_prometheus_series, histogram_buckets, summary_quantiles
FROM metrics ORDER BY estimated_prometheus_series DESC;

-- Span status (schema version 3). Spans by status per span name and
-- service, errors first: "which operations fail, and where".
--   SELECT * FROM span_status WHERE service_name = 'checkout';
CREATE VIEW IF NOT EXISTS span_status AS
SELECT span_name, service_name, sample_count, status_unset_count, status_ok_count, status_error_count,
       round(100.0 * status_error_count / max(sample_count, 1), 2) AS error_percentage
FROM span_services ORDER BY status_error_count DESC, span_name, service_name;

-- Per-service keys (schema version 3) ---------------------------------------
-- The keys of each entity per service that sent them (the tables
-- *_service_key_rows), with key_percentage: of that service's records of the
-- entity (its *_services sample_count; span events: span_service_events,
-- links: span_services.link_count), and top_values (topk_counts of top_sketch),
-- derived when read so that a commit writes only the keys its batch counted.
--   SELECT * FROM log_service_keys WHERE severity = 'INFO' AND key_name = 'user.id';
CREATE VIEW IF NOT EXISTS metric_service_keys AS
SELECT k.metric_name, k.service_name, k.key_scope, k.key_name, k.key_count,
       100.0 * k.key_count / max(1, (SELECT s.sample_count FROM metric_services s
                                     WHERE s.metric_name = k.metric_name AND s.service_name = k.service_name)) AS key_percentage,
       k.estimated_cardinality, k.value_samples, k.hll_sketch, k.first_seen, k.last_seen,
       k.bytes, k.value_types, k.top_sketch,
       CASE WHEN k.top_sketch IS NULL THEN NULL ELSE topk_counts(k.top_sketch, 10) END AS top_values
FROM metric_service_key_rows k;

CREATE VIEW IF NOT EXISTS span_service_keys AS
SELECT k.span_name, k.service_name, k.key_scope, k.key_name, k.event_name, k.key_count,
       100.0 * k.key_count / max(1, CASE k.key_scope
         WHEN 'event' THEN (SELECT e.event_count FROM span_service_events e WHERE e.span_name = k.span_name
                              AND e.service_name = k.service_name AND e.event_name = k.event_name)
         WHEN 'link' THEN (SELECT s.link_count FROM span_services s WHERE s.span_name = k.span_name AND s.service_name = k.service_name)
         ELSE (SELECT s.sample_count FROM span_services s WHERE s.span_name = k.span_name AND s.service_name = k.service_name) END)
         AS key_percentage,
       k.estimated_cardinality, k.value_samples, k.hll_sketch, k.first_seen, k.last_seen,
       k.bytes, k.value_types, k.top_sketch,
       CASE WHEN k.top_sketch IS NULL THEN NULL ELSE topk_counts(k.top_sketch, 10) END AS top_values
FROM span_service_key_rows k;

CREATE VIEW IF NOT EXISTS log_service_keys AS
SELECT k.severity, k.service_name, k.key_scope, k.key_name, k.key_count,
       100.0 * k.key_count / max(1, (SELECT s.sample_count FROM log_services s
                                     WHERE s.severity = k.severity AND s.service_name = k.service_name)) AS key_percentage,
       k.estimated_cardinality, k.value_samples, k.hll_sketch, k.first_seen, k.last_seen,
       k.bytes, k.value_types, k.top_sketch,
       CASE WHEN k.top_sketch IS NULL THEN NULL ELSE topk_counts(k.top_sketch, 10) END AS top_values
FROM log_service_key_rows k;

-- The keys of a service, every signal: "what does checkout send".
--   SELECT * FROM service_keys WHERE service_name = 'checkout' ORDER BY estimated_cardinality DESC;
CREATE VIEW IF NOT EXISTS service_keys AS
SELECT service_name, 'metrics' AS signal, metric_name AS entity, key_scope, key_name, '' AS event_name, key_count,
       key_percentage, estimated_cardinality, value_samples, top_values, bytes, value_types, first_seen, last_seen
FROM metric_service_keys
UNION ALL
SELECT service_name, 'spans', span_name, key_scope, key_name, event_name, key_count,
       key_percentage, estimated_cardinality, value_samples, top_values, bytes, value_types, first_seen, last_seen
FROM span_service_keys
UNION ALL
SELECT service_name, 'logs', severity, key_scope, key_name, '', key_count,
       key_percentage, estimated_cardinality, value_samples, top_values, bytes, value_types, first_seen, last_seen
FROM log_service_keys;

-- Which services send a key, on which entity, with what cardinality each:
--   SELECT * FROM key_services WHERE key_name = 'user.id' AND signal = 'logs' AND entity = 'INFO';
CREATE VIEW IF NOT EXISTS key_services AS
SELECT key_name, 'metrics' AS signal, metric_name AS entity, key_scope, '' AS event_name, service_name, key_count,
       key_percentage, estimated_cardinality, value_samples, top_values, bytes, first_seen, last_seen
FROM metric_service_keys
UNION ALL
SELECT key_name, 'spans', span_name, key_scope, event_name, service_name, key_count,
       key_percentage, estimated_cardinality, value_samples, top_values, bytes, first_seen, last_seen
FROM span_service_keys
UNION ALL
SELECT key_name, 'logs', severity, key_scope, '', service_name, key_count,
       key_percentage, estimated_cardinality, value_samples, top_values, bytes, first_seen, last_seen
FROM log_service_keys;

-- Instrumentation scopes (schema version 3) ---------------------------------
-- Which instrumentation libraries (scope name and version; '' when absent)
-- send what: per signal and scope, the services and entities (metrics, span
-- names, log severities) it sent, its records, their bytes and times.
--   SELECT * FROM scopes WHERE scope_name = 'io.opentelemetry.jdbc';
-- Which entities a scope sends: the tables, by their scope index.
--   SELECT span_name, service_name, sample_count FROM span_scopes WHERE scope_name = 'io.opentelemetry.jdbc';
CREATE VIEW IF NOT EXISTS scopes AS
SELECT 'metrics' AS signal, scope_name, scope_version, count(DISTINCT service_name) AS services,
       count(DISTINCT metric_name) AS entities, sum(sample_count) AS records, sum(bytes) AS bytes,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM metric_scopes GROUP BY scope_name, scope_version
UNION ALL
SELECT 'spans', scope_name, scope_version, count(DISTINCT service_name), count(DISTINCT span_name),
       sum(sample_count), sum(bytes), min(first_seen), max(last_seen)
FROM span_scopes GROUP BY scope_name, scope_version
UNION ALL
SELECT 'logs', scope_name, scope_version, count(DISTINCT service_name), count(DISTINCT severity),
       sum(sample_count), sum(bytes), min(first_seen), max(last_seen)
FROM log_scopes GROUP BY scope_name, scope_version;

-- The scopes of a service, every signal: "which instrumentation libraries
-- (and versions) does checkout use, and for what".
--   SELECT * FROM service_scopes WHERE service_name = 'checkout' ORDER BY records DESC;
CREATE VIEW IF NOT EXISTS service_scopes AS
SELECT service_name, 'metrics' AS signal, scope_name, scope_version, count(*) AS entities,
       sum(sample_count) AS records, sum(bytes) AS bytes, min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM metric_scopes GROUP BY service_name, scope_name, scope_version
UNION ALL
SELECT service_name, 'spans', scope_name, scope_version, count(*), sum(sample_count), sum(bytes),
       min(first_seen), max(last_seen)
FROM span_scopes GROUP BY service_name, scope_name, scope_version
UNION ALL
SELECT service_name, 'logs', scope_name, scope_version, count(*), sum(sample_count), sum(bytes),
       min(first_seen), max(last_seen)
FROM log_scopes GROUP BY service_name, scope_name, scope_version;

-- Log event names (schema version 3) ----------------------------------------
-- The keys of each event name (the table log_event_key_rows), with
-- key_percentage: of the event's records (log_events.total_sample_count),
-- and top_values (topk_counts of top_sketch), derived when read.
--   SELECT * FROM log_event_keys WHERE event_name = 'browser.page_view';
CREATE VIEW IF NOT EXISTS log_event_keys AS
SELECT k.event_name, k.key_name, k.key_count,
       100.0 * k.key_count / max(1, (SELECT e.total_sample_count FROM log_events e
                                     WHERE e.event_name = k.event_name)) AS key_percentage,
       k.estimated_cardinality, k.value_samples, k.hll_sketch, k.first_seen, k.last_seen,
       k.bytes, k.value_types, k.top_sketch,
       CASE WHEN k.top_sketch IS NULL THEN NULL ELSE topk_counts(k.top_sketch, 10) END AS top_values
FROM log_event_key_rows k;

-- One JSON document per event name (as log_metadata per severity):
--   SELECT document FROM log_event_metadata WHERE event_name = 'browser.page_view';
CREATE VIEW IF NOT EXISTS log_event_metadata(event_name, document) AS
SELECT e.event_name, json_object(
  'event_name', e.event_name, 'sample_count', e.total_sample_count,
  'first_seen', e.first_seen, 'last_seen', e.last_seen,
  'services', (SELECT json_group_object(service_name, sample_count) FROM log_event_services s WHERE s.event_name = e.event_name),
  'bytes', e.bytes,
  'service_bytes', (SELECT json_group_object(service_name, bytes) FROM log_event_services s WHERE s.event_name = e.event_name),
  'dropped_attributes', e.dropped_attributes_count,
  'trace_context', json_object('trace_id', e.trace_id_count, 'span_id', e.span_id_count),
  'attribute_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'bytes', bytes, 'value_types', iif(json_valid(value_types), json(value_types), json_quote(value_types)),
                   'top_values', iif(json_valid(top_values), json(top_values), json_quote(top_values)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM log_event_keys k WHERE k.event_name = e.event_name))
FROM log_events e;

-- The event names a service sends (the service index):
--   SELECT * FROM service_log_events WHERE service_name = 'web';
CREATE VIEW IF NOT EXISTS service_log_events AS
SELECT s.service_name, s.event_name, s.sample_count, s.first_seen, s.last_seen, s.bytes
FROM log_event_services s;

-- Key-name explosions: key-name patterns that many distinct names were
-- folded into (an id in the key name, not in its value), largest first.
CREATE VIEW IF NOT EXISTS key_name_explosions AS
SELECT entity_kind, entity_name, key_scope, event_name, pattern, estimated_names,
       key_count, bytes, sample_names, first_seen, last_seen
FROM key_name_patterns WHERE estimated_names >= 10
ORDER BY estimated_names DESC;

-- History (schema version 3; docs/catalog.md "History") ----------------------
-- The catalog's "now" in the records' time: the end of its newest bucket
-- (NULL in a catalog without history). Windows are measured back from it,
-- not from the wall clock, so a replay gives the same answers.
CREATE VIEW IF NOT EXISTS history_now(now, bucket_seconds) AS
SELECT datetime(max(bucket_start), '+' || w.s || ' seconds'), w.s
FROM entity_history,
     (SELECT coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600) AS s) w
WHERE resolution = 'bucket';

-- A key's rows of history as the other history tables show theirs: the
-- key's texts, resolution 'bucket' | 'day', bucket_start 'YYYY-MM-DD
-- HH:MM:SS' (stored compactly in key_history_keys and key_history_buckets:
-- docs/catalog.md "History"). An INSERT adds to the row of its key and
-- bucket (counts add, sketches merge: examples/merge.sql); a DELETE drops
-- rows (and keys left without any).
CREATE VIEW IF NOT EXISTS key_history_rows AS
SELECT k.signal, k.entity, k.key_scope, k.key_name, k.event_name,
       iif(b.resolution = 1, 'day', 'bucket') AS resolution,
       datetime(b.bucket_start, 'unixepoch') AS bucket_start,
       b.key_count, b.bytes, b.hll_sketch
FROM key_history_keys k JOIN key_history_buckets b ON b.key_id = k.key_id;

CREATE TRIGGER IF NOT EXISTS key_history_rows_insert INSTEAD OF INSERT ON key_history_rows
BEGIN
  SELECT RAISE(ABORT, 'key_history_rows: resolution must be ''bucket'' or ''day'' and bucket_start a time ''YYYY-MM-DD HH:MM:SS''')
  WHERE new.resolution IS NULL OR new.resolution NOT IN ('bucket', 'day') OR unixepoch(new.bucket_start) IS NULL;
  INSERT INTO key_history_keys(signal, entity, key_scope, key_name, event_name)
  VALUES (new.signal, new.entity, new.key_scope, new.key_name, coalesce(new.event_name, ''))
  ON CONFLICT DO NOTHING;
  INSERT INTO key_history_buckets(key_id, resolution, bucket_start, key_count, bytes, hll_sketch)
  SELECT key_id, new.resolution = 'day', unixepoch(new.bucket_start), coalesce(new.key_count, 0), coalesce(new.bytes, 0), new.hll_sketch
  FROM key_history_keys
  WHERE signal = new.signal AND entity = new.entity AND key_scope = new.key_scope AND key_name = new.key_name
    AND event_name = coalesce(new.event_name, '')
  ON CONFLICT(key_id, resolution, bucket_start) DO UPDATE SET
    key_count = otelcat_add(key_count, excluded.key_count, 'key_history_rows', new.signal, new.entity, new.key_name, new.bucket_start),
    bytes = otelcat_add(bytes, excluded.bytes, 'key_history_rows', new.signal, new.entity, new.key_name, new.bucket_start),
    hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch);
END;

CREATE TRIGGER IF NOT EXISTS key_history_rows_delete INSTEAD OF DELETE ON key_history_rows
BEGIN
  DELETE FROM key_history_buckets
  WHERE key_id = (SELECT key_id FROM key_history_keys
                  WHERE signal = old.signal AND entity = old.entity AND key_scope = old.key_scope
                    AND key_name = old.key_name AND event_name = old.event_name)
    AND resolution = (old.resolution = 'day') AND bucket_start = unixepoch(old.bucket_start);
  DELETE FROM key_history_keys
  WHERE signal = old.signal AND entity = old.entity AND key_scope = old.key_scope
    AND key_name = old.key_name AND event_name = old.event_name
    AND NOT EXISTS (SELECT 1 FROM key_history_buckets b WHERE b.key_id = key_history_keys.key_id);
END;

-- A key's count, bytes and estimated distinct values per bucket (the
-- union of a day's buckets for 'day' rows: hll_merge is exact).
--   SELECT bucket_start, key_count, estimated_cardinality FROM key_history
--   WHERE signal = 'spans' AND entity = 'GET /cart' AND key_name = 'user.id' ORDER BY bucket_start;
CREATE VIEW IF NOT EXISTS key_history AS
SELECT signal, entity, key_scope, key_name, event_name, resolution, bucket_start, key_count, bytes,
       min(hll_count(hll_sketch), key_count) AS estimated_cardinality, hll_sketch
FROM key_history_rows;

-- Log template lines per bucket, with the template.
CREATE VIEW IF NOT EXISTS template_history AS
SELECT h.severity, h.service_name, h.cluster_id, t.template, h.resolution, h.bucket_start, h.count, h.bytes
FROM template_history_rows h
LEFT JOIN log_body_template_rows t
  ON t.severity = h.severity AND t.service_name = h.service_name AND t.cluster_id = h.cluster_id;

-- Keys first seen in the last 24 hours before history_now (change
-- '-24 hours' in a copy of this query for another window): a range of each
-- key table's first_seen index, so it reads the new keys only.
CREATE VIEW IF NOT EXISTS new_keys AS
SELECT 'metrics' AS signal, metric_name AS entity, key_scope, key_name, '' AS event_name, key_count,
       estimated_cardinality, first_seen, last_seen
FROM metric_key_rows WHERE first_seen >= (SELECT datetime(now, '-24 hours') FROM history_now)
UNION ALL
SELECT 'spans', span_name, key_scope, key_name, event_name, key_count, estimated_cardinality, first_seen, last_seen
FROM span_key_rows WHERE first_seen >= (SELECT datetime(now, '-24 hours') FROM history_now)
UNION ALL
SELECT 'logs', severity, key_scope, key_name, '', key_count, estimated_cardinality, first_seen, last_seen
FROM log_key_rows WHERE first_seen >= (SELECT datetime(now, '-24 hours') FROM history_now)
ORDER BY first_seen DESC, estimated_cardinality DESC;

-- Growth between two windows: the last 24 hours before history_now
-- ("current") and the 24 hours before them ("previous"), from the 'bucket'
-- rows (history_bucket_hours, default 48, keeps both). growth: current /
-- previous (previous 0 counts as 1). For other windows, copy the query
-- with other offsets (docs/catalog.md "History").
CREATE VIEW IF NOT EXISTS key_growth AS
WITH n AS (SELECT unixepoch(now) - 86400 AS cur, unixepoch(now) - 172800 AS prev FROM history_now),
g AS (
  SELECT key_id,
         sum(iif(bucket_start >= n.cur, key_count, 0)) AS count_current,
         sum(iif(bucket_start < n.cur, key_count, 0)) AS count_previous,
         coalesce(hll_count(hll_merge(iif(bucket_start >= n.cur, hll_sketch, NULL))), 0) AS cardinality_current,
         coalesce(hll_count(hll_merge(iif(bucket_start < n.cur, hll_sketch, NULL))), 0) AS cardinality_previous
  FROM key_history_buckets, n
  WHERE resolution = 0 AND bucket_start >= n.prev
  GROUP BY key_id)
SELECT k.signal, k.entity, k.key_scope, k.key_name, k.event_name,
       cardinality_previous, min(cardinality_current, count_current) AS cardinality_current,
       round(1.0 * min(cardinality_current, count_current) / max(min(cardinality_previous, count_previous), 1), 2) AS cardinality_growth,
       count_previous, count_current,
       round(1.0 * count_current / max(count_previous, 1), 2) AS count_growth
FROM g JOIN key_history_keys k ON k.key_id = g.key_id
ORDER BY cardinality_growth DESC, cardinality_current DESC;

-- The same for entities' records and bytes.
CREATE VIEW IF NOT EXISTS entity_growth AS
WITH n AS (SELECT datetime(now, '-24 hours') AS cur, datetime(now, '-48 hours') AS prev FROM history_now)
SELECT signal, entity,
       sum(iif(bucket_start < n.cur, records, 0)) AS records_previous,
       sum(iif(bucket_start >= n.cur, records, 0)) AS records_current,
       round(1.0 * sum(iif(bucket_start >= n.cur, records, 0)) / max(sum(iif(bucket_start < n.cur, records, 0)), 1), 2) AS records_growth,
       sum(iif(bucket_start < n.cur, bytes, 0)) AS bytes_previous,
       sum(iif(bucket_start >= n.cur, bytes, 0)) AS bytes_current,
       round(1.0 * sum(iif(bucket_start >= n.cur, bytes, 0)) / max(sum(iif(bucket_start < n.cur, bytes, 0)), 1), 2) AS bytes_growth
FROM entity_history, n
WHERE resolution = 'bucket' AND bucket_start >= n.prev
GROUP BY signal, entity
ORDER BY records_growth DESC, records_current DESC;
