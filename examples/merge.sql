-- examples/merge.sql: merge another catalog file into this one.
--
--   sqlite3 catalog.db '.load dist/otelcat' "ATTACH 'other.db' AS other" '.read examples/merge.sql'
--
-- All or nothing: the first failing statement stops the script (.bail on),
-- the sqlite3 shell exits with a non-zero status and the transaction is
-- rolled back, so the catalog stays as it was. (Run from another host, stop
-- at the first error and ROLLBACK; the dot-command below is the shell's.)
--
-- Counts add up, sketches merge with hll_merge (so cardinalities are those of
-- the union of the values, as if one catalog had seen everything), sample
-- lists merge with json_samples_merge (this catalog's values first), times
-- take the earliest first_seen and the latest last_seen. Everything runs in
-- one transaction. Counts add with otelcat_add: exact, or the merge fails
-- with an error naming the table and key (SQLite's + would turn a sum past
-- 2^63 - 1 into an inexact REAL); a count in the other file that is not an
-- integer fails the merge the same way.
--
-- Log templates and span-name patterns are merged by their text, per
-- severity and service (patterns: per service). Templates learned on
-- different nodes are only comparable as text: two nodes that saw the same
-- kind of line may have generalised differently (a node that saw one user
-- keeps 'user bob logged in' where another has 'user <*> logged in'), and both
-- rows are kept; for every severity and service sum(count) still equals the
-- number of log records. A row whose text is new here gets a negative
-- cluster_id: it is not a cluster of this catalog's Drain model, and later
-- ingests never touch it. The other file's Drain models are not copied.
--
-- Requires this version's schema in both files (a table an older version
-- did not have fails the script: "no such table: other.log_template_keys").
-- A catalog written by an older version is upgraded the first time this
-- version's otlp_ingest writes into it; to upgrade one without adding
-- anything: INSERT INTO otlp_ingest(payload) VALUES ('{"resourceSpans": []}').
-- A new file gets the schema the same way. `otelcat merge` does this for its
-- target, and reads older sources as they are (what they lack merges as
-- nothing).

.bail on
BEGIN;

INSERT INTO metrics(name, type, unit, description, total_sample_count, series_sketch, first_seen, last_seen)
SELECT name, type, unit, description, otelcat_add(0, total_sample_count, 'other.metrics', name), series_sketch, first_seen, last_seen FROM other.metrics WHERE true
ON CONFLICT(name) DO UPDATE SET
  unit = iif(unit <> '', unit, excluded.unit),
  description = iif(description <> '', description, excluded.description),
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'metrics', name),
  series_sketch = hll_merge(series_sketch, excluded.series_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));
-- Metric shape (schema version 3): this catalog's temporality and
-- monotonicity (like its type), else the other's; the most buckets and
-- quantiles, the range of scales; then the Prometheus series of the merged
-- series (docs/catalog.md "Metric shape").
UPDATE metrics AS m SET
  temporality = coalesce(m.temporality, o.temporality),
  is_monotonic = coalesce(m.is_monotonic, o.is_monotonic),
  histogram_buckets = max(coalesce(m.histogram_buckets, o.histogram_buckets), coalesce(o.histogram_buckets, m.histogram_buckets)),
  exp_histogram_buckets = max(coalesce(m.exp_histogram_buckets, o.exp_histogram_buckets), coalesce(o.exp_histogram_buckets, m.exp_histogram_buckets)),
  exp_histogram_min_scale = min(coalesce(m.exp_histogram_min_scale, o.exp_histogram_min_scale), coalesce(o.exp_histogram_min_scale, m.exp_histogram_min_scale)),
  exp_histogram_max_scale = max(coalesce(m.exp_histogram_max_scale, o.exp_histogram_max_scale), coalesce(o.exp_histogram_max_scale, m.exp_histogram_max_scale)),
  summary_quantiles = max(coalesce(m.summary_quantiles, o.summary_quantiles), coalesce(o.summary_quantiles, m.summary_quantiles))
FROM other.metrics AS o WHERE o.name = m.name;
UPDATE metrics SET
  estimated_active_series = min(hll_count(series_sketch), total_sample_count),
  estimated_prometheus_series = min(hll_count(series_sketch), total_sample_count) * CASE type
    WHEN 'Histogram' THEN histogram_buckets + 2
    WHEN 'Summary' THEN summary_quantiles + 2
    ELSE 1 END;

INSERT INTO metric_services(metric_name, service_name, sample_count, first_seen, last_seen)
SELECT metric_name, service_name, otelcat_add(0, sample_count, 'other.metric_services', metric_name, service_name), first_seen, last_seen FROM other.metric_services WHERE true
ON CONFLICT(metric_name, service_name) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'metric_services', metric_name, service_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);
UPDATE metric_services AS m SET
  type = coalesce(m.type, o.type), temporality = coalesce(m.temporality, o.temporality),
  is_monotonic = coalesce(m.is_monotonic, o.is_monotonic)
FROM other.metric_services AS o WHERE o.metric_name = m.metric_name AND o.service_name = m.service_name;

-- Bytes of records (schema version 3; docs/catalog.md "Bytes"): add up.
UPDATE metrics AS m SET bytes = otelcat_add(m.bytes, o.bytes, 'metrics', m.name)
FROM other.metrics AS o WHERE o.name = m.name;
UPDATE metric_services AS m SET bytes = otelcat_add(m.bytes, o.bytes, 'metric_services', m.metric_name, m.service_name)
FROM other.metric_services AS o WHERE o.metric_name = m.metric_name AND o.service_name = m.service_name;

INSERT INTO metric_key_rows(metric_name, key_scope, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
SELECT metric_name, key_scope, key_name, otelcat_add(0, key_count, 'other.metric_keys', metric_name, key_scope, key_name), value_samples, hll_sketch, first_seen, last_seen, otelcat_add(0, bytes, 'other.metric_keys', metric_name, key_scope, key_name), json_counts_merge(value_types, NULL, 'other.metric_keys', metric_name, key_scope, key_name), top_sketch FROM other.metric_keys WHERE true
ON CONFLICT(metric_name, key_scope, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'metric_key_rows', metric_name, key_scope, key_name),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'metric_key_rows', metric_name, key_scope, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'metric_key_rows', metric_name, key_scope, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);
UPDATE metric_key_rows SET
  estimated_cardinality = min(hll_count(hll_sketch), key_count),
  top_values = CASE WHEN top_sketch IS NULL THEN NULL ELSE topk_counts(top_sketch, 10) END;

INSERT INTO spans(name, kind, total_sample_count, event_count, link_count, first_seen, last_seen)
SELECT name, kind, otelcat_add(0, total_sample_count, 'other.spans', name), otelcat_add(0, event_count, 'other.spans', name), otelcat_add(0, link_count, 'other.spans', name), first_seen, last_seen FROM other.spans WHERE true
ON CONFLICT(name) DO UPDATE SET
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'spans', name),
  event_count = otelcat_add(event_count, excluded.event_count, 'spans', name),
  link_count = otelcat_add(link_count, excluded.link_count, 'spans', name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

INSERT INTO span_services(span_name, service_name, sample_count, first_seen, last_seen)
SELECT span_name, service_name, otelcat_add(0, sample_count, 'other.span_services', span_name, service_name), first_seen, last_seen FROM other.span_services WHERE true
ON CONFLICT(span_name, service_name) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'span_services', span_name, service_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

-- Span status (schema version 3): counts add up.
UPDATE spans AS m SET
  status_unset_count = otelcat_add(m.status_unset_count, o.status_unset_count, 'spans', m.name),
  status_ok_count = otelcat_add(m.status_ok_count, o.status_ok_count, 'spans', m.name),
  status_error_count = otelcat_add(m.status_error_count, o.status_error_count, 'spans', m.name)
FROM other.spans AS o WHERE o.name = m.name;
UPDATE span_services AS m SET
  status_unset_count = otelcat_add(m.status_unset_count, o.status_unset_count, 'span_services', m.span_name, m.service_name),
  status_ok_count = otelcat_add(m.status_ok_count, o.status_ok_count, 'span_services', m.span_name, m.service_name),
  status_error_count = otelcat_add(m.status_error_count, o.status_error_count, 'span_services', m.span_name, m.service_name),
  link_count = otelcat_add(m.link_count, o.link_count, 'span_services', m.span_name, m.service_name)
FROM other.span_services AS o WHERE o.span_name = m.span_name AND o.service_name = m.service_name;
-- Bytes and dropped counts (schema version 3): add up.
UPDATE spans AS m SET
  bytes = otelcat_add(m.bytes, o.bytes, 'spans', m.name),
  dropped_attributes_count = otelcat_add(m.dropped_attributes_count, o.dropped_attributes_count, 'spans', m.name),
  dropped_events_count = otelcat_add(m.dropped_events_count, o.dropped_events_count, 'spans', m.name),
  dropped_links_count = otelcat_add(m.dropped_links_count, o.dropped_links_count, 'spans', m.name)
FROM other.spans AS o WHERE o.name = m.name;
UPDATE span_services AS m SET bytes = otelcat_add(m.bytes, o.bytes, 'span_services', m.span_name, m.service_name)
FROM other.span_services AS o WHERE o.span_name = m.span_name AND o.service_name = m.service_name;

INSERT INTO span_events(span_name, event_name, event_count, first_seen, last_seen)
SELECT span_name, event_name, otelcat_add(0, event_count, 'other.span_events', span_name, event_name), first_seen, last_seen FROM other.span_events WHERE true
ON CONFLICT(span_name, event_name) DO UPDATE SET
  event_count = otelcat_add(event_count, excluded.event_count, 'span_events', span_name, event_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

INSERT INTO span_key_rows(span_name, key_scope, key_name, event_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
SELECT span_name, key_scope, key_name, event_name, otelcat_add(0, key_count, 'other.span_keys', span_name, key_scope, key_name, event_name), value_samples, hll_sketch, first_seen, last_seen, otelcat_add(0, bytes, 'other.span_keys', span_name, key_scope, key_name, event_name), json_counts_merge(value_types, NULL, 'other.span_keys', span_name, key_scope, key_name, event_name), top_sketch FROM other.span_keys WHERE true
ON CONFLICT(span_name, key_scope, key_name, event_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'span_key_rows', span_name, key_scope, key_name, event_name),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'span_key_rows', span_name, key_scope, key_name, event_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'span_key_rows', span_name, key_scope, key_name, event_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);
UPDATE span_key_rows SET
  estimated_cardinality = min(hll_count(hll_sketch), key_count),
  top_values = CASE WHEN top_sketch IS NULL THEN NULL ELSE topk_counts(top_sketch, 10) END;

INSERT INTO logs(severity, total_sample_count, first_seen, last_seen)
SELECT severity, otelcat_add(0, total_sample_count, 'other.logs', severity), first_seen, last_seen FROM other.logs WHERE true
ON CONFLICT(severity) DO UPDATE SET
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'logs', severity),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

INSERT INTO log_services(severity, service_name, sample_count, first_seen, last_seen)
SELECT severity, service_name, otelcat_add(0, sample_count, 'other.log_services', severity, service_name), first_seen, last_seen FROM other.log_services WHERE true
ON CONFLICT(severity, service_name) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'log_services', severity, service_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

-- Bytes, dropped counts, trace context (schema version 3): add up.
UPDATE logs AS m SET
  bytes = otelcat_add(m.bytes, o.bytes, 'logs', m.severity),
  dropped_attributes_count = otelcat_add(m.dropped_attributes_count, o.dropped_attributes_count, 'logs', m.severity),
  trace_id_count = otelcat_add(m.trace_id_count, o.trace_id_count, 'logs', m.severity),
  span_id_count = otelcat_add(m.span_id_count, o.span_id_count, 'logs', m.severity)
FROM other.logs AS o WHERE o.severity = m.severity;
UPDATE log_services AS m SET
  bytes = otelcat_add(m.bytes, o.bytes, 'log_services', m.severity, m.service_name),
  trace_id_count = otelcat_add(m.trace_id_count, o.trace_id_count, 'log_services', m.severity, m.service_name),
  span_id_count = otelcat_add(m.span_id_count, o.span_id_count, 'log_services', m.severity, m.service_name)
FROM other.log_services AS o WHERE o.severity = m.severity AND o.service_name = m.service_name;

INSERT INTO log_key_rows(severity, key_scope, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
SELECT severity, key_scope, key_name, otelcat_add(0, key_count, 'other.log_keys', severity, key_scope, key_name), value_samples, hll_sketch, first_seen, last_seen, otelcat_add(0, bytes, 'other.log_keys', severity, key_scope, key_name), json_counts_merge(value_types, NULL, 'other.log_keys', severity, key_scope, key_name), top_sketch FROM other.log_keys WHERE true
ON CONFLICT(severity, key_scope, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_key_rows', severity, key_scope, key_name),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_key_rows', severity, key_scope, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'log_key_rows', severity, key_scope, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);
UPDATE log_key_rows SET
  estimated_cardinality = min(hll_count(hll_sketch), key_count),
  top_values = CASE WHEN top_sketch IS NULL THEN NULL ELSE topk_counts(top_sketch, 10) END;

-- Templates: same (severity, service, template text) add up; new ones come
-- in with fresh negative cluster ids. They are stored in
-- log_body_template_rows; the view log_body_templates derives percentages.
UPDATE log_body_template_rows SET
  count = otelcat_add(count, (SELECT sum(o.count) FROM other.log_body_templates o WHERE o.severity = log_body_template_rows.severity
                   AND o.service_name = log_body_template_rows.service_name AND o.template = log_body_template_rows.template),
                   'log_body_template_rows', severity, service_name, template),
  -- (an older source's templates have no bytes: NULL counts as 0)
  bytes = otelcat_add(bytes, (SELECT coalesce(sum(o.bytes), 0) FROM other.log_body_templates o WHERE o.severity = log_body_template_rows.severity
                   AND o.service_name = log_body_template_rows.service_name AND o.template = log_body_template_rows.template),
                   'log_body_template_rows', severity, service_name, template),
  first_seen = min(first_seen, (SELECT min(o.first_seen) FROM other.log_body_templates o WHERE o.severity = log_body_template_rows.severity
                   AND o.service_name = log_body_template_rows.service_name AND o.template = log_body_template_rows.template)),
  last_seen = max(last_seen, (SELECT max(o.last_seen) FROM other.log_body_templates o WHERE o.severity = log_body_template_rows.severity
                   AND o.service_name = log_body_template_rows.service_name AND o.template = log_body_template_rows.template))
WHERE EXISTS (SELECT 1 FROM other.log_body_templates o WHERE o.severity = log_body_template_rows.severity
              AND o.service_name = log_body_template_rows.service_name AND o.template = log_body_template_rows.template)
  AND cluster_id = (SELECT min(cluster_id) FROM log_body_template_rows t WHERE t.severity = log_body_template_rows.severity
              AND t.service_name = log_body_template_rows.service_name AND t.template = log_body_template_rows.template);
INSERT INTO log_body_template_rows(severity, service_name, cluster_id, template, example, count, first_seen, last_seen, bytes)
SELECT o.severity, o.service_name,
       (SELECT min(0, coalesce(min(cluster_id), 0)) FROM log_body_template_rows) - row_number() OVER (ORDER BY o.severity, o.service_name, o.template),
       o.template, min(o.example), otelcat_add(0, sum(o.count), 'other.log_body_templates', o.severity, o.service_name, o.template), min(o.first_seen), max(o.last_seen),
       otelcat_add(0, coalesce(sum(o.bytes), 0), 'other.log_body_templates', o.severity, o.service_name, o.template)
FROM other.log_body_templates o
WHERE NOT EXISTS (SELECT 1 FROM log_body_template_rows t WHERE t.severity = o.severity AND t.service_name = o.service_name AND t.template = o.template)
GROUP BY o.severity, o.service_name, o.template;

-- Keys per template: by the template's text, into the row that template
-- went to above.
INSERT INTO log_template_keys(severity, service_name, cluster_id, key_name, key_count, first_seen, last_seen)
SELECT ot.severity, ot.service_name,
       (SELECT min(t.cluster_id) FROM log_body_template_rows t
        WHERE t.severity = ot.severity AND t.service_name = ot.service_name AND t.template = ot.template),
       ok.key_name, otelcat_add(0, sum(ok.key_count), 'other.log_template_keys', ot.severity, ot.service_name, ot.template, ok.key_name),
       min(ok.first_seen), max(ok.last_seen)
FROM other.log_template_keys ok
JOIN other.log_body_templates ot ON ot.severity = ok.severity AND ot.service_name = ok.service_name AND ot.cluster_id = ok.cluster_id
WHERE true GROUP BY ot.severity, ot.service_name, ot.template, ok.key_name
ON CONFLICT(severity, service_name, cluster_id, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_template_keys', severity, service_name, cluster_id, key_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

-- Span-name patterns, by pattern text per service.
UPDATE span_name_patterns SET
  span_count = otelcat_add(span_count, (SELECT sum(o.span_count) FROM other.span_name_patterns o
                             WHERE o.service_name = span_name_patterns.service_name AND o.pattern = span_name_patterns.pattern),
                             'span_name_patterns', service_name, pattern),
  names_sketch = hll_merge(names_sketch, (SELECT hll_merge(o.names_sketch) FROM other.span_name_patterns o
                             WHERE o.service_name = span_name_patterns.service_name AND o.pattern = span_name_patterns.pattern)),
  first_seen = min(first_seen, (SELECT min(o.first_seen) FROM other.span_name_patterns o
                             WHERE o.service_name = span_name_patterns.service_name AND o.pattern = span_name_patterns.pattern)),
  last_seen = max(last_seen, (SELECT max(o.last_seen) FROM other.span_name_patterns o
                             WHERE o.service_name = span_name_patterns.service_name AND o.pattern = span_name_patterns.pattern))
WHERE EXISTS (SELECT 1 FROM other.span_name_patterns o WHERE o.service_name = span_name_patterns.service_name AND o.pattern = span_name_patterns.pattern)
  AND cluster_id = (SELECT min(cluster_id) FROM span_name_patterns p WHERE p.service_name = span_name_patterns.service_name
                    AND p.pattern = span_name_patterns.pattern);
INSERT INTO span_name_patterns(service_name, cluster_id, pattern, example, span_count, names_sketch, first_seen, last_seen)
SELECT o.service_name,
       (SELECT min(0, coalesce(min(cluster_id), 0)) FROM span_name_patterns) - row_number() OVER (ORDER BY o.service_name, o.pattern),
       o.pattern, min(o.example), otelcat_add(0, sum(o.span_count), 'other.span_name_patterns', o.service_name, o.pattern), hll_merge(o.names_sketch), min(o.first_seen), max(o.last_seen)
FROM other.span_name_patterns o
WHERE NOT EXISTS (SELECT 1 FROM span_name_patterns p WHERE p.service_name = o.service_name AND p.pattern = o.pattern)
GROUP BY o.service_name, o.pattern;
UPDATE span_name_patterns SET estimated_names = min(hll_count(names_sketch), span_count);

-- Per-service keys (schema version 3): merged as the per-entity keys are;
-- their percentages are derived when read (the views *_service_keys).
INSERT INTO metric_service_key_rows(metric_name, service_name, key_scope, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
SELECT metric_name, service_name, key_scope, key_name, otelcat_add(0, key_count, 'other.metric_service_key_rows', metric_name, service_name, key_scope, key_name), value_samples, hll_sketch, first_seen, last_seen, otelcat_add(0, bytes, 'other.metric_service_key_rows', metric_name, service_name, key_scope, key_name), json_counts_merge(value_types, NULL, 'other.metric_service_key_rows', metric_name, service_name, key_scope, key_name), top_sketch FROM other.metric_service_key_rows WHERE true
ON CONFLICT(metric_name, service_name, key_scope, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'metric_service_key_rows', metric_name, service_name, key_scope, key_name),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'metric_service_key_rows', metric_name, service_name, key_scope, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'metric_service_key_rows', metric_name, service_name, key_scope, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);
UPDATE metric_service_key_rows SET
  estimated_cardinality = min(hll_count(hll_sketch), key_count)
WHERE (metric_name, service_name, key_scope, key_name) IN (SELECT metric_name, service_name, key_scope, key_name FROM other.metric_service_key_rows);

INSERT INTO span_service_events(span_name, service_name, event_name, event_count, first_seen, last_seen)
SELECT span_name, service_name, event_name, otelcat_add(0, event_count, 'other.span_service_events', span_name, service_name, event_name), first_seen, last_seen FROM other.span_service_events WHERE true
ON CONFLICT(span_name, service_name, event_name) DO UPDATE SET
  event_count = otelcat_add(event_count, excluded.event_count, 'span_service_events', span_name, service_name, event_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

INSERT INTO span_service_key_rows(span_name, service_name, key_scope, key_name, event_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
SELECT span_name, service_name, key_scope, key_name, event_name, otelcat_add(0, key_count, 'other.span_service_key_rows', span_name, service_name, key_scope, key_name, event_name), value_samples, hll_sketch, first_seen, last_seen, otelcat_add(0, bytes, 'other.span_service_key_rows', span_name, service_name, key_scope, key_name, event_name), json_counts_merge(value_types, NULL, 'other.span_service_key_rows', span_name, service_name, key_scope, key_name, event_name), top_sketch FROM other.span_service_key_rows WHERE true
ON CONFLICT(span_name, service_name, key_scope, key_name, event_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'span_service_key_rows', span_name, service_name, key_scope, key_name, event_name),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'span_service_key_rows', span_name, service_name, key_scope, key_name, event_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'span_service_key_rows', span_name, service_name, key_scope, key_name, event_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);
UPDATE span_service_key_rows SET
  estimated_cardinality = min(hll_count(hll_sketch), key_count)
WHERE (span_name, service_name, key_scope, key_name, event_name) IN (SELECT span_name, service_name, key_scope, key_name, event_name FROM other.span_service_key_rows);

INSERT INTO log_service_key_rows(severity, service_name, key_scope, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
SELECT severity, service_name, key_scope, key_name, otelcat_add(0, key_count, 'other.log_service_key_rows', severity, service_name, key_scope, key_name), value_samples, hll_sketch, first_seen, last_seen, otelcat_add(0, bytes, 'other.log_service_key_rows', severity, service_name, key_scope, key_name), json_counts_merge(value_types, NULL, 'other.log_service_key_rows', severity, service_name, key_scope, key_name), top_sketch FROM other.log_service_key_rows WHERE true
ON CONFLICT(severity, service_name, key_scope, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_service_key_rows', severity, service_name, key_scope, key_name),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_service_key_rows', severity, service_name, key_scope, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'log_service_key_rows', severity, service_name, key_scope, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);
UPDATE log_service_key_rows SET
  estimated_cardinality = min(hll_count(hll_sketch), key_count)
WHERE (severity, service_name, key_scope, key_name) IN (SELECT severity, service_name, key_scope, key_name FROM other.log_service_key_rows);

-- Instrumentation scopes (schema version 3): counts and bytes add up, times
-- take the earliest and the latest. A source without these tables (an older
-- version) has none to merge.
INSERT INTO metric_scopes(metric_name, service_name, scope_name, scope_version, sample_count, bytes, first_seen, last_seen)
SELECT metric_name, service_name, scope_name, scope_version, otelcat_add(0, sample_count, 'other.metric_scopes', metric_name, service_name, scope_name, scope_version), otelcat_add(0, bytes, 'other.metric_scopes', metric_name, service_name, scope_name, scope_version), first_seen, last_seen FROM other.metric_scopes WHERE true
ON CONFLICT(metric_name, service_name, scope_name, scope_version) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'metric_scopes', metric_name, service_name, scope_name, scope_version),
  bytes = otelcat_add(bytes, excluded.bytes, 'metric_scopes', metric_name, service_name, scope_name, scope_version),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

INSERT INTO span_scopes(span_name, service_name, scope_name, scope_version, sample_count, bytes, first_seen, last_seen)
SELECT span_name, service_name, scope_name, scope_version, otelcat_add(0, sample_count, 'other.span_scopes', span_name, service_name, scope_name, scope_version), otelcat_add(0, bytes, 'other.span_scopes', span_name, service_name, scope_name, scope_version), first_seen, last_seen FROM other.span_scopes WHERE true
ON CONFLICT(span_name, service_name, scope_name, scope_version) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'span_scopes', span_name, service_name, scope_name, scope_version),
  bytes = otelcat_add(bytes, excluded.bytes, 'span_scopes', span_name, service_name, scope_name, scope_version),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

INSERT INTO log_scopes(severity, service_name, scope_name, scope_version, sample_count, bytes, first_seen, last_seen)
SELECT severity, service_name, scope_name, scope_version, otelcat_add(0, sample_count, 'other.log_scopes', severity, service_name, scope_name, scope_version), otelcat_add(0, bytes, 'other.log_scopes', severity, service_name, scope_name, scope_version), first_seen, last_seen FROM other.log_scopes WHERE true
ON CONFLICT(severity, service_name, scope_name, scope_version) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'log_scopes', severity, service_name, scope_name, scope_version),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_scopes', severity, service_name, scope_name, scope_version),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- Log event names (schema version 3): merged as severities and their keys
-- are; key percentages are derived when read (the view log_event_keys). A
-- source without these tables (an older version) has none to merge.
INSERT INTO log_events(event_name, total_sample_count, first_seen, last_seen, bytes, dropped_attributes_count, trace_id_count, span_id_count)
SELECT event_name, otelcat_add(0, total_sample_count, 'other.log_events', event_name), first_seen, last_seen,
       otelcat_add(0, bytes, 'other.log_events', event_name), otelcat_add(0, dropped_attributes_count, 'other.log_events', event_name),
       otelcat_add(0, trace_id_count, 'other.log_events', event_name), otelcat_add(0, span_id_count, 'other.log_events', event_name)
FROM other.log_events WHERE true
ON CONFLICT(event_name) DO UPDATE SET
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'log_events', event_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_events', event_name),
  dropped_attributes_count = otelcat_add(dropped_attributes_count, excluded.dropped_attributes_count, 'log_events', event_name),
  trace_id_count = otelcat_add(trace_id_count, excluded.trace_id_count, 'log_events', event_name),
  span_id_count = otelcat_add(span_id_count, excluded.span_id_count, 'log_events', event_name);

INSERT INTO log_event_services(event_name, service_name, sample_count, first_seen, last_seen, bytes)
SELECT event_name, service_name, otelcat_add(0, sample_count, 'other.log_event_services', event_name, service_name), first_seen, last_seen,
       otelcat_add(0, bytes, 'other.log_event_services', event_name, service_name)
FROM other.log_event_services WHERE true
ON CONFLICT(event_name, service_name) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'log_event_services', event_name, service_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_event_services', event_name, service_name);

INSERT INTO log_event_key_rows(event_name, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
SELECT event_name, key_name, otelcat_add(0, key_count, 'other.log_event_key_rows', event_name, key_name), value_samples, hll_sketch, first_seen, last_seen, otelcat_add(0, bytes, 'other.log_event_key_rows', event_name, key_name), json_counts_merge(value_types, NULL, 'other.log_event_key_rows', event_name, key_name), top_sketch FROM other.log_event_key_rows WHERE true
ON CONFLICT(event_name, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_event_key_rows', event_name, key_name),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_event_key_rows', event_name, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'log_event_key_rows', event_name, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);
UPDATE log_event_key_rows SET
  estimated_cardinality = min(hll_count(hll_sketch), key_count)
WHERE (event_name, key_name) IN (SELECT event_name, key_name FROM other.log_event_key_rows);

-- Key-name patterns (names past an entity's key_name_bound): counts add,
-- sketches of names merge, sample names merge (this catalog's first). The
-- merged key tables are not folded again: an entity can hold up to twice
-- the bound of names after a merge of two catalogs.
INSERT INTO key_name_patterns(entity_kind, entity_name, key_scope, event_name, pattern, key_count, names_sketch, sample_names, first_seen, last_seen, bytes)
SELECT entity_kind, entity_name, key_scope, event_name, pattern,
       otelcat_add(0, key_count, 'other.key_name_patterns', entity_kind, entity_name, key_scope, pattern), names_sketch, sample_names, first_seen, last_seen,
       otelcat_add(0, bytes, 'other.key_name_patterns', entity_kind, entity_name, key_scope, pattern)
FROM other.key_name_patterns WHERE true
ON CONFLICT(entity_kind, entity_name, key_scope, event_name, pattern) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'key_name_patterns', entity_kind, entity_name, key_scope, pattern),
  names_sketch = hll_merge(names_sketch, excluded.names_sketch),
  sample_names = json_samples_merge(sample_names, excluded.sample_names),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'key_name_patterns', entity_kind, entity_name, key_scope, pattern);
UPDATE key_name_patterns SET
  estimated_names = min(hll_count(names_sketch), key_count)
WHERE (entity_kind, entity_name, key_scope, event_name, pattern) IN
  (SELECT entity_kind, entity_name, key_scope, event_name, pattern FROM other.key_name_patterns);

-- History (schema version 3; docs/catalog.md "History"): rows of the same
-- bucket (resolution, bucket_start) add up, sketches merge; template rows
-- follow their template's text as the templates did above. Both catalogs
-- must use the same history_bucket_seconds (the default, 3600, unless
-- set): buckets of different widths would mix. Then this catalog's roll-up
-- and retention apply, relative to the newest bucket of the union, as a
-- commit of otlp_ingest applies them (sql/flush.sql, *_history_rollup and
-- *_history_prune): the result is the history of one catalog that had
-- ingested both.
INSERT INTO entity_history(signal, entity, resolution, bucket_start, records, bytes)
SELECT signal, entity, resolution, bucket_start, otelcat_add(0, records, 'other.entity_history', signal, entity, bucket_start),
       otelcat_add(0, bytes, 'other.entity_history', signal, entity, bucket_start)
FROM other.entity_history WHERE true
ON CONFLICT(signal, entity, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'entity_history', signal, entity, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'entity_history', signal, entity, bucket_start);
INSERT INTO service_history(signal, entity, service_name, resolution, bucket_start, records, bytes)
SELECT signal, entity, service_name, resolution, bucket_start,
       otelcat_add(0, records, 'other.service_history', signal, entity, service_name, bucket_start),
       otelcat_add(0, bytes, 'other.service_history', signal, entity, service_name, bucket_start)
FROM other.service_history WHERE true
ON CONFLICT(signal, entity, service_name, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'service_history', signal, entity, service_name, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'service_history', signal, entity, service_name, bucket_start);
-- (key_history_rows is a view: its INSERT adds to the row of the key and
-- bucket, counts added and sketches merged, as an UPSERT would.)
INSERT INTO key_history_rows(signal, entity, key_scope, key_name, event_name, resolution, bucket_start, key_count, bytes, hll_sketch)
SELECT signal, entity, key_scope, key_name, event_name, resolution, bucket_start,
       otelcat_add(0, key_count, 'other.key_history_rows', signal, entity, key_name, bucket_start),
       otelcat_add(0, bytes, 'other.key_history_rows', signal, entity, key_name, bucket_start), hll_sketch
FROM other.key_history_rows WHERE true;
INSERT INTO template_history_rows(severity, service_name, cluster_id, resolution, bucket_start, count, bytes)
SELECT oh.severity, oh.service_name,
       (SELECT min(t.cluster_id) FROM log_body_template_rows t
        WHERE t.severity = ot.severity AND t.service_name = ot.service_name AND t.template = ot.template),
       oh.resolution, oh.bucket_start,
       otelcat_add(0, sum(oh.count), 'other.template_history_rows', oh.severity, oh.service_name, ot.template, oh.bucket_start),
       otelcat_add(0, sum(oh.bytes), 'other.template_history_rows', oh.severity, oh.service_name, ot.template, oh.bucket_start)
FROM other.template_history_rows oh
JOIN other.log_body_templates ot ON ot.severity = oh.severity AND ot.service_name = oh.service_name AND ot.cluster_id = oh.cluster_id
WHERE true GROUP BY oh.severity, oh.service_name, ot.template, oh.resolution, oh.bucket_start
ON CONFLICT(severity, service_name, cluster_id, resolution, bucket_start) DO UPDATE SET
  count = otelcat_add(count, excluded.count, 'template_history_rows', severity, service_name, cluster_id, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'template_history_rows', severity, service_name, cluster_id, bucket_start);

-- Roll-up and retention (the newest bucket read before entity_history changes).
INSERT INTO service_history(signal, entity, service_name, resolution, bucket_start, records, bytes)
SELECT signal, entity, service_name, 'day', date(bucket_start) || ' 00:00:00', sum(records), sum(bytes)
FROM service_history WHERE resolution = 'bucket' AND bucket_start <= (SELECT datetime(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_hours'), 48) || ' hours') FROM entity_history WHERE resolution = 'bucket')
GROUP BY signal, entity, service_name, date(bucket_start)
ON CONFLICT(signal, entity, service_name, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'service_history', signal, entity, service_name, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'service_history', signal, entity, service_name, bucket_start);
DELETE FROM service_history
WHERE resolution = 'bucket' AND bucket_start <= (SELECT datetime(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_hours'), 48) || ' hours') FROM entity_history WHERE resolution = 'bucket')
   OR resolution = 'day' AND bucket_start <= (SELECT date(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_days'), 30) || ' days') || ' 00:00:00' FROM entity_history WHERE resolution = 'bucket');
INSERT INTO key_history_rows(signal, entity, key_scope, key_name, event_name, resolution, bucket_start, key_count, bytes, hll_sketch)
SELECT signal, entity, key_scope, key_name, event_name, 'day', date(bucket_start) || ' 00:00:00',
       sum(key_count), sum(bytes), hll_merge(hll_sketch)
FROM key_history_rows WHERE resolution = 'bucket' AND bucket_start <= (SELECT datetime(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_hours'), 48) || ' hours') FROM entity_history WHERE resolution = 'bucket')
GROUP BY signal, entity, key_scope, key_name, event_name, date(bucket_start);
DELETE FROM key_history_rows
WHERE resolution = 'bucket' AND bucket_start <= (SELECT datetime(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_hours'), 48) || ' hours') FROM entity_history WHERE resolution = 'bucket')
   OR resolution = 'day' AND bucket_start <= (SELECT date(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_days'), 30) || ' days') || ' 00:00:00' FROM entity_history WHERE resolution = 'bucket');
INSERT INTO template_history_rows(severity, service_name, cluster_id, resolution, bucket_start, count, bytes)
SELECT severity, service_name, cluster_id, 'day', date(bucket_start) || ' 00:00:00', sum(count), sum(bytes)
FROM template_history_rows WHERE resolution = 'bucket' AND bucket_start <= (SELECT datetime(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_hours'), 48) || ' hours') FROM entity_history WHERE resolution = 'bucket')
GROUP BY severity, service_name, cluster_id, date(bucket_start)
ON CONFLICT(severity, service_name, cluster_id, resolution, bucket_start) DO UPDATE SET
  count = otelcat_add(count, excluded.count, 'template_history_rows', severity, service_name, cluster_id, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'template_history_rows', severity, service_name, cluster_id, bucket_start);
DELETE FROM template_history_rows
WHERE resolution = 'bucket' AND bucket_start <= (SELECT datetime(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_hours'), 48) || ' hours') FROM entity_history WHERE resolution = 'bucket')
   OR resolution = 'day' AND bucket_start <= (SELECT date(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_days'), 30) || ' days') || ' 00:00:00' FROM entity_history WHERE resolution = 'bucket');
INSERT INTO entity_history(signal, entity, resolution, bucket_start, records, bytes)
SELECT signal, entity, 'day', date(bucket_start) || ' 00:00:00', sum(records), sum(bytes)
FROM entity_history WHERE resolution = 'bucket' AND bucket_start <= (SELECT datetime(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_hours'), 48) || ' hours') FROM entity_history WHERE resolution = 'bucket')
GROUP BY signal, entity, date(bucket_start)
ON CONFLICT(signal, entity, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'entity_history', signal, entity, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'entity_history', signal, entity, bucket_start);
DELETE FROM entity_history
WHERE resolution = 'bucket' AND bucket_start <= (SELECT datetime(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_hours'), 48) || ' hours') FROM entity_history WHERE resolution = 'bucket')
   OR resolution = 'day' AND bucket_start <= (SELECT date(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_days'), 30) || ' days') || ' 00:00:00' FROM entity_history WHERE resolution = 'bucket');

-- Key and service totals (schema version 3; docs/catalog.md "Key totals",
-- "Service totals"): built again from the key rows and the *_services rows,
-- as every writer of those rows other than otlp_ingest does at its end
-- (attribute_catalog, key_bytes, key_mixed_types, service_overview and
-- instance_like_services read them).
SELECT otelcat_refresh_totals();

COMMIT;
