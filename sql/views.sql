-- otelcat catalog views (created with the schema). They answer the seed's
-- query patterns; each is meant to be filtered on its first column(s), which
-- SQLite pushes down to an index (tests/test_views.py checks the plans).

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

-- Top-K templates of a severity and service:
--   SELECT * FROM top_log_templates WHERE severity = 'ERROR' AND service_name = 'checkout' LIMIT 10;
CREATE VIEW IF NOT EXISTS top_log_templates AS
SELECT severity, service_name, template, count, percentage, example, first_seen, last_seen
FROM log_body_templates ORDER BY severity, service_name, count DESC;

-- Get-API documents (the seed's "Option A", OCC's Go models):
--   SELECT document FROM metric_metadata WHERE name = 'http.server.request.duration';
CREATE VIEW IF NOT EXISTS metric_metadata(name, document) AS
SELECT m.name, json_object(
  'name', m.name, 'type', m.type, 'unit', m.unit, 'description', m.description,
  'sample_count', m.total_sample_count, 'estimated_active_series', m.estimated_active_series,
  'first_seen', m.first_seen, 'last_seen', m.last_seen,
  'services', (SELECT json_group_object(service_name, sample_count) FROM metric_services s WHERE s.metric_name = m.name),
  'label_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM metric_keys k WHERE k.metric_name = m.name AND k.key_scope = 'label'),
  'resource_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM metric_keys k WHERE k.metric_name = m.name AND k.key_scope = 'resource'))
FROM metrics m;

CREATE VIEW IF NOT EXISTS span_metadata(name, document) AS
SELECT p.name, json_object(
  'name', p.name, 'kind', p.kind, 'sample_count', p.total_sample_count,
  'first_seen', p.first_seen, 'last_seen', p.last_seen,
  'services', (SELECT json_group_object(service_name, sample_count) FROM span_services s WHERE s.span_name = p.name),
  'attribute_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM span_keys k WHERE k.span_name = p.name AND k.key_scope = 'attribute'),
  'resource_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM span_keys k WHERE k.span_name = p.name AND k.key_scope = 'resource'),
  'link_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples))))
                 FROM span_keys k WHERE k.span_name = p.name AND k.key_scope = 'link'),
  'event_names', (SELECT json_group_array(event_name) FROM (SELECT event_name FROM span_events e
                   WHERE e.span_name = p.name ORDER BY event_name)),
  'events', (SELECT json_group_object(event_name, json_object('count', event_count,
               'attribute_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples))))
                 FROM span_keys k WHERE k.span_name = p.name AND k.key_scope = 'event' AND k.event_name = e.event_name)))
             FROM span_events e WHERE e.span_name = p.name))
FROM spans p;

CREATE VIEW IF NOT EXISTS log_metadata(severity, document) AS
SELECT l.severity, json_object(
  'severity', l.severity, 'sample_count', l.total_sample_count,
  'first_seen', l.first_seen, 'last_seen', l.last_seen,
  'services', (SELECT json_group_object(service_name, sample_count) FROM log_services s WHERE s.severity = l.severity),
  'attribute_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM log_keys k WHERE k.severity = l.severity AND k.key_scope = 'attribute'),
  'resource_keys', (SELECT json_group_object(key_name, json_object('count', key_count, 'percentage', key_percentage,
                   'estimated_cardinality', estimated_cardinality, 'value_samples', iif(json_valid(value_samples), json(value_samples), json_quote(value_samples)),
                   'first_seen', first_seen, 'last_seen', last_seen))
                 FROM log_keys k WHERE k.severity = l.severity AND k.key_scope = 'resource'),
  'body_templates', (SELECT json_group_array(json_object('service_name', service_name, 'template', template,
                   'count', count, 'percentage', percentage, 'example', example))
                 FROM (SELECT * FROM log_body_templates t WHERE t.severity = l.severity
                       ORDER BY count DESC, service_name, template)))
FROM logs l;

-- Every attribute key across signals: where it appears, how much, and the
-- cardinality of the union of all its values (hll_merge as an aggregate).
CREATE VIEW IF NOT EXISTS attribute_catalog AS
WITH k(signal, entity, scope, key_name, key_count, hll_sketch, first_seen, last_seen) AS (
  SELECT 'metrics', metric_name, key_scope, key_name, key_count, hll_sketch, first_seen, last_seen FROM metric_keys
  UNION ALL
  SELECT 'spans', span_name, key_scope, key_name, key_count, hll_sketch, first_seen, last_seen FROM span_keys
  UNION ALL
  SELECT 'logs', severity, key_scope, key_name, key_count, hll_sketch, first_seen, last_seen FROM log_keys)
SELECT key_name,
       group_concat(DISTINCT signal) AS signals,
       group_concat(DISTINCT scope) AS scopes,
       count(DISTINCT CASE WHEN signal = 'metrics' THEN entity END) AS metrics,
       count(DISTINCT CASE WHEN signal = 'spans' THEN entity END) AS spans,
       count(DISTINCT CASE WHEN signal = 'logs' THEN entity END) AS severities,
       sum(key_count) AS total_count,
       hll_count(hll_merge(hll_sketch)) AS estimated_cardinality,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM k GROUP BY key_name;

-- Per service: what it sends and how much (the noisy-neighbour view).
CREATE VIEW IF NOT EXISTS service_overview AS
WITH svc(service_name) AS (
  SELECT service_name FROM metric_services UNION SELECT service_name FROM span_services
  UNION SELECT service_name FROM log_services)
SELECT s.service_name,
  (SELECT count(*) FROM metric_services m WHERE m.service_name = s.service_name) AS metrics,
  (SELECT coalesce(sum(sample_count), 0) FROM metric_services m WHERE m.service_name = s.service_name) AS data_points,
  (SELECT count(*) FROM span_services p WHERE p.service_name = s.service_name) AS span_names,
  (SELECT coalesce(sum(sample_count), 0) FROM span_services p WHERE p.service_name = s.service_name) AS spans,
  (SELECT coalesce(sum(sample_count), 0) FROM log_services l WHERE l.service_name = s.service_name) AS log_records,
  (SELECT json_group_object(severity, sample_count) FROM log_services l WHERE l.service_name = s.service_name) AS logs_by_severity,
  (SELECT min(first_seen) FROM (SELECT first_seen FROM metric_services WHERE service_name = s.service_name
     UNION ALL SELECT first_seen FROM span_services WHERE service_name = s.service_name
     UNION ALL SELECT first_seen FROM log_services WHERE service_name = s.service_name)) AS first_seen,
  (SELECT max(last_seen) FROM (SELECT last_seen FROM metric_services WHERE service_name = s.service_name
     UNION ALL SELECT last_seen FROM span_services WHERE service_name = s.service_name
     UNION ALL SELECT last_seen FROM log_services WHERE service_name = s.service_name)) AS last_seen
FROM svc s;

-- Every key of every signal, ranked by estimated cardinality.
CREATE VIEW IF NOT EXISTS key_cardinality AS
SELECT 'metrics' AS signal, metric_name AS entity, key_scope, key_name, '' AS event_name, key_count, key_percentage,
       estimated_cardinality, value_samples, first_seen, last_seen FROM metric_keys
UNION ALL
SELECT 'spans', span_name, key_scope, key_name, event_name, key_count, key_percentage,
       estimated_cardinality, value_samples, first_seen, last_seen FROM span_keys
UNION ALL
SELECT 'logs', severity, key_scope, key_name, '', key_count, key_percentage,
       estimated_cardinality, value_samples, first_seen, last_seen FROM log_keys;

-- Span-name patterns that many distinct names collapse into (unbounded span names).
-- An explosion: at least 10 distinct span names under one pattern. Fewer is
-- a handful of routes or spellings ('GET' and 'GET ' are two names of the
-- pattern GET), not an id in the name.
CREATE VIEW IF NOT EXISTS span_name_explosions AS
SELECT service_name, pattern, estimated_names, span_count, example, first_seen, last_seen
FROM span_name_patterns WHERE estimated_names >= 10
ORDER BY estimated_names DESC;

-- The attribute keys of each log template's records, with the share of the
-- template's lines that carry them: "which field holds the user id here".
CREATE VIEW IF NOT EXISTS template_keys AS
SELECT t.severity, t.service_name, t.cluster_id, t.template, k.key_name, k.key_count,
       100.0 * k.key_count / max(t.count, 1) AS key_percentage,
       k.first_seen, k.last_seen
FROM log_template_keys k
JOIN log_body_templates t USING (severity, service_name, cluster_id);
