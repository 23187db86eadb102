-- The statements otlp_ingest runs to write one aggregated batch into the
-- catalog (sql/schema.sql), inside the transaction that ingested it. The
-- batch is aggregated in process first: one UPSERT per distinct key per
-- batch, never one per record. Merging happens here, in SQLite, with the
-- public functions: otelcat_add for counts (exact, or an error naming the
-- table and key instead of SQLite's silent switch to REAL past 2^63 - 1),
-- hll_merge for sketches,
-- json_samples_merge for sample lists, min/max for times.
--
-- Each statement starts with a "-- name:" line; parameters are named
-- (:column, most of them after the column they fill) and otlp_ingest binds
-- them by name. It runs the key UPSERTs (metric_key, span_key, log_key)
-- also with their VALUES tuple repeated for 32 rows (each row's parameters
-- numbered apart), so that a statement's fixed cost is paid once per 32
-- keys; for that, those statements take parameters only in their VALUES
-- tuple.
-- Times are 'YYYY-MM-DD HH:MM:SS' UTC text. Order: each entity's row, its
-- services and events; then the batch's key rows; then, for metrics,
-- metric_series_refresh. Key rows store no percentage (the views
-- metric_keys, span_keys and log_keys derive it when read) and template
-- rows none either (the view log_body_templates), and a
-- pattern's estimated names are recomputed for the patterns the batch
-- counted only: what a commit writes of them follows the batch, however
-- many keys or templates the entity has. A key row's estimated cardinality
-- (and an entity key row's top values) is stored: a new row takes the
-- batch's (computed by otlp_ingest), a row the batch adds to has it
-- recomputed from the merged sketch in its UPSERT (the merge is written
-- twice: SET expressions see the row as it was).

-- name: metric
-- The shape columns (temporality ... summary_quantiles): the last
-- temporality and monotonicity; the most buckets and quantiles, the range of
-- scales (max/min ignore NULL: a batch without such points keeps them).
INSERT INTO metrics(name, type, unit, description, total_sample_count, series_sketch, first_seen, last_seen,
                    temporality, is_monotonic, histogram_buckets, exp_histogram_buckets,
                    exp_histogram_min_scale, exp_histogram_max_scale, summary_quantiles, bytes)
VALUES (:name, :type, :unit, :description, :total_sample_count, :series_sketch, :first_seen, :last_seen,
        :temporality, :is_monotonic, :histogram_buckets, :exp_histogram_buckets,
        :exp_histogram_min_scale, :exp_histogram_max_scale, :summary_quantiles, :bytes)
ON CONFLICT(name) DO UPDATE SET
  bytes = otelcat_add(bytes, excluded.bytes, 'metrics', name),
  temporality = excluded.temporality,
  is_monotonic = excluded.is_monotonic,
  histogram_buckets = max(coalesce(histogram_buckets, excluded.histogram_buckets), coalesce(excluded.histogram_buckets, histogram_buckets)),
  exp_histogram_buckets = max(coalesce(exp_histogram_buckets, excluded.exp_histogram_buckets), coalesce(excluded.exp_histogram_buckets, exp_histogram_buckets)),
  exp_histogram_min_scale = min(coalesce(exp_histogram_min_scale, excluded.exp_histogram_min_scale), coalesce(excluded.exp_histogram_min_scale, exp_histogram_min_scale)),
  exp_histogram_max_scale = max(coalesce(exp_histogram_max_scale, excluded.exp_histogram_max_scale), coalesce(excluded.exp_histogram_max_scale, exp_histogram_max_scale)),
  summary_quantiles = max(coalesce(summary_quantiles, excluded.summary_quantiles), coalesce(excluded.summary_quantiles, summary_quantiles)),
  type = excluded.type,
  unit = iif(excluded.unit <> '', excluded.unit, unit),
  description = iif(excluded.description <> '', excluded.description, description),
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'metrics', name),
  series_sketch = hll_merge(series_sketch, excluded.series_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: metric_service
INSERT INTO metric_services(metric_name, service_name, sample_count, first_seen, last_seen, bytes)
VALUES (:metric_name, :service_name, :sample_count, :first_seen, :last_seen, :bytes)
ON CONFLICT(metric_name, service_name) DO UPDATE SET
  bytes = otelcat_add(bytes, excluded.bytes, 'metric_services', metric_name, service_name),
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'metric_services', metric_name, service_name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: metric_key
INSERT INTO metric_key_rows(metric_name, key_scope, key_name, key_count, estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch, top_values)
VALUES (:metric_name, :key_scope, :key_name, :key_count, :estimated_cardinality, :value_samples, :hll_sketch, :first_seen, :last_seen, :bytes, :value_types, :top_sketch, :top_values)
ON CONFLICT(metric_name, key_scope, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'metric_key_rows', metric_name, key_scope, key_name),
  estimated_cardinality = min(hll_count(hll_merge(hll_sketch, excluded.hll_sketch)), key_count + excluded.key_count),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
  bytes = otelcat_add(bytes, excluded.bytes, 'metric_key_rows', metric_name, key_scope, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'metric_key_rows', metric_name, key_scope, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch),
  top_values = CASE WHEN excluded.top_sketch IS NULL THEN top_values
                    ELSE topk_counts(topk_merge(top_sketch, excluded.top_sketch), 10) END;

-- name: metric_series_refresh
-- estimated_prometheus_series: the rule of docs/catalog.md "Metric shape"
-- (a Histogram series is its buckets' _bucket series, _sum and _count; a
-- Summary's its quantiles, _sum and _count; others one).
UPDATE metrics SET
  estimated_active_series = min(hll_count(series_sketch), total_sample_count),
  estimated_prometheus_series = min(hll_count(series_sketch), total_sample_count) * CASE type
    WHEN 'Histogram' THEN histogram_buckets + 2
    WHEN 'Summary' THEN summary_quantiles + 2
    ELSE 1 END
WHERE name = :name;

-- name: metric_service_shape
-- What the service sent last (metric shape, schema version 3).
UPDATE metric_services SET type = :type, temporality = :temporality, is_monotonic = :is_monotonic
WHERE metric_name = :metric_name AND service_name = :service_name;

-- name: span
INSERT INTO spans(name, kind, total_sample_count, event_count, link_count, first_seen, last_seen,
                  status_unset_count, status_ok_count, status_error_count,
                  bytes, dropped_attributes_count, dropped_events_count, dropped_links_count)
VALUES (:name, :kind, :total_sample_count, :event_count, :link_count, :first_seen, :last_seen,
        :status_unset_count, :status_ok_count, :status_error_count,
        :bytes, :dropped_attributes_count, :dropped_events_count, :dropped_links_count)
ON CONFLICT(name) DO UPDATE SET
  bytes = otelcat_add(bytes, excluded.bytes, 'spans', name),
  dropped_attributes_count = otelcat_add(dropped_attributes_count, excluded.dropped_attributes_count, 'spans', name),
  dropped_events_count = otelcat_add(dropped_events_count, excluded.dropped_events_count, 'spans', name),
  dropped_links_count = otelcat_add(dropped_links_count, excluded.dropped_links_count, 'spans', name),
  status_unset_count = otelcat_add(status_unset_count, excluded.status_unset_count, 'spans', name),
  status_ok_count = otelcat_add(status_ok_count, excluded.status_ok_count, 'spans', name),
  status_error_count = otelcat_add(status_error_count, excluded.status_error_count, 'spans', name),
  kind = excluded.kind,
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'spans', name),
  event_count = otelcat_add(event_count, excluded.event_count, 'spans', name),
  link_count = otelcat_add(link_count, excluded.link_count, 'spans', name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: span_service
INSERT INTO span_services(span_name, service_name, sample_count, first_seen, last_seen, bytes)
VALUES (:span_name, :service_name, :sample_count, :first_seen, :last_seen, :bytes)
ON CONFLICT(span_name, service_name) DO UPDATE SET
  bytes = otelcat_add(bytes, excluded.bytes, 'span_services', span_name, service_name),
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'span_services', span_name, service_name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: span_service_status
-- The service's spans by status (span status, schema version 3).
UPDATE span_services SET
  status_unset_count = otelcat_add(status_unset_count, :status_unset_count, 'span_services', span_name, service_name),
  status_ok_count = otelcat_add(status_ok_count, :status_ok_count, 'span_services', span_name, service_name),
  status_error_count = otelcat_add(status_error_count, :status_error_count, 'span_services', span_name, service_name),
  -- the denominator of the service's link-scope keys (per-service keys)
  link_count = otelcat_add(link_count, :link_count, 'span_services', span_name, service_name)
WHERE span_name = :span_name AND service_name = :service_name;

-- name: span_event
INSERT INTO span_events(span_name, event_name, event_count, first_seen, last_seen)
VALUES (:span_name, :event_name, :event_count, :first_seen, :last_seen)
ON CONFLICT(span_name, event_name) DO UPDATE SET
  event_count = otelcat_add(event_count, excluded.event_count, 'span_events', span_name, event_name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: span_key
INSERT INTO span_key_rows(span_name, key_scope, key_name, event_name, key_count, estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch, top_values)
VALUES (:span_name, :key_scope, :key_name, :event_name, :key_count, :estimated_cardinality, :value_samples, :hll_sketch, :first_seen, :last_seen, :bytes, :value_types, :top_sketch, :top_values)
ON CONFLICT(span_name, key_scope, key_name, event_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'span_key_rows', span_name, key_scope, key_name, event_name),
  estimated_cardinality = min(hll_count(hll_merge(hll_sketch, excluded.hll_sketch)), key_count + excluded.key_count),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
  bytes = otelcat_add(bytes, excluded.bytes, 'span_key_rows', span_name, key_scope, key_name, event_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'span_key_rows', span_name, key_scope, key_name, event_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch),
  top_values = CASE WHEN excluded.top_sketch IS NULL THEN top_values
                    ELSE topk_counts(topk_merge(top_sketch, excluded.top_sketch), 10) END;

-- name: log
INSERT INTO logs(severity, total_sample_count, first_seen, last_seen,
                 bytes, dropped_attributes_count, trace_id_count, span_id_count)
VALUES (:severity, :total_sample_count, :first_seen, :last_seen,
        :bytes, :dropped_attributes_count, :trace_id_count, :span_id_count)
ON CONFLICT(severity) DO UPDATE SET
  bytes = otelcat_add(bytes, excluded.bytes, 'logs', severity),
  dropped_attributes_count = otelcat_add(dropped_attributes_count, excluded.dropped_attributes_count, 'logs', severity),
  trace_id_count = otelcat_add(trace_id_count, excluded.trace_id_count, 'logs', severity),
  span_id_count = otelcat_add(span_id_count, excluded.span_id_count, 'logs', severity),
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'logs', severity),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: log_service
INSERT INTO log_services(severity, service_name, sample_count, first_seen, last_seen, bytes)
VALUES (:severity, :service_name, :sample_count, :first_seen, :last_seen, :bytes)
ON CONFLICT(severity, service_name) DO UPDATE SET
  bytes = otelcat_add(bytes, excluded.bytes, 'log_services', severity, service_name),
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'log_services', severity, service_name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: log_service_trace_context
-- The service's records with a trace id, with a span id (schema version 3).
UPDATE log_services SET
  trace_id_count = otelcat_add(trace_id_count, :trace_id_count, 'log_services', severity, service_name),
  span_id_count = otelcat_add(span_id_count, :span_id_count, 'log_services', severity, service_name)
WHERE severity = :severity AND service_name = :service_name;

-- name: log_key
INSERT INTO log_key_rows(severity, key_scope, key_name, key_count, estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch, top_values)
VALUES (:severity, :key_scope, :key_name, :key_count, :estimated_cardinality, :value_samples, :hll_sketch, :first_seen, :last_seen, :bytes, :value_types, :top_sketch, :top_values)
ON CONFLICT(severity, key_scope, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_key_rows', severity, key_scope, key_name),
  estimated_cardinality = min(hll_count(hll_merge(hll_sketch, excluded.hll_sketch)), key_count + excluded.key_count),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_key_rows', severity, key_scope, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'log_key_rows', severity, key_scope, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch),
  top_values = CASE WHEN excluded.top_sketch IS NULL THEN top_values
                    ELSE topk_counts(topk_merge(top_sketch, excluded.top_sketch), 10) END;

-- name: log_template
INSERT INTO log_body_template_rows(severity, service_name, cluster_id, template, example, count, first_seen, last_seen, bytes)
VALUES (:severity, :service_name, :cluster_id, :template, :example, :count, :first_seen, :last_seen, :bytes)
ON CONFLICT(severity, service_name, cluster_id) DO UPDATE SET
  bytes = otelcat_add(bytes, excluded.bytes, 'log_body_template_rows', severity, service_name, cluster_id),
  template = excluded.template,
  count = otelcat_add(count, excluded.count, 'log_body_template_rows', severity, service_name, cluster_id),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: log_template_fold
-- Cluster :from_cluster was merged into cluster :to_cluster (same severity :severity and service :service_name):
-- its row's lines join :to_cluster's row, and the row goes.
UPDATE log_body_template_rows SET
  count = otelcat_add(count, coalesce((SELECT f.count FROM log_body_template_rows f
                            WHERE f.severity = :severity AND f.service_name = :service_name AND f.cluster_id = :from_cluster), 0),
                      'log_body_template_rows', severity, service_name, cluster_id),
  bytes = otelcat_add(bytes, coalesce((SELECT f.bytes FROM log_body_template_rows f
                            WHERE f.severity = :severity AND f.service_name = :service_name AND f.cluster_id = :from_cluster), 0),
                      'log_body_template_rows', severity, service_name, cluster_id),
  first_seen = min(first_seen, coalesce((SELECT f.first_seen FROM log_body_template_rows f
                            WHERE f.severity = :severity AND f.service_name = :service_name AND f.cluster_id = :from_cluster), first_seen)),
  last_seen = max(last_seen, coalesce((SELECT f.last_seen FROM log_body_template_rows f
                            WHERE f.severity = :severity AND f.service_name = :service_name AND f.cluster_id = :from_cluster), last_seen))
WHERE severity = :severity AND service_name = :service_name AND cluster_id = :to_cluster;

-- name: log_template_fold_delete
DELETE FROM log_body_template_rows WHERE severity = :severity AND service_name = :service_name AND cluster_id = :from_cluster;

-- name: log_template_key
INSERT INTO log_template_keys(severity, service_name, cluster_id, key_name, key_count, first_seen, last_seen)
VALUES (:severity, :service_name, :cluster_id, :key_name, :key_count, :first_seen, :last_seen)
ON CONFLICT(severity, service_name, cluster_id, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_template_keys', severity, service_name, cluster_id, key_name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: log_template_key_fold
-- Cluster :from_cluster was merged into cluster :to_cluster: its key rows
-- join those of :to_cluster.
INSERT INTO log_template_keys(severity, service_name, cluster_id, key_name, key_count, first_seen, last_seen)
SELECT severity, service_name, :to_cluster, key_name, key_count, first_seen, last_seen
FROM log_template_keys WHERE severity = :severity AND service_name = :service_name AND cluster_id = :from_cluster AND true
ON CONFLICT(severity, service_name, cluster_id, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_template_keys', severity, service_name, cluster_id, key_name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: log_template_key_fold_delete
DELETE FROM log_template_keys WHERE severity = :severity AND service_name = :service_name AND cluster_id = :from_cluster;

-- name: span_pattern
INSERT INTO span_name_patterns(service_name, cluster_id, pattern, example, span_count, names_sketch, first_seen, last_seen)
VALUES (:service_name, :cluster_id, :pattern, :example, :span_count, :names_sketch, :first_seen, :last_seen)
ON CONFLICT(service_name, cluster_id) DO UPDATE SET
  pattern = excluded.pattern,
  span_count = otelcat_add(span_count, excluded.span_count, 'span_name_patterns', service_name, cluster_id),
  names_sketch = hll_merge(names_sketch, excluded.names_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: span_pattern_fold
-- Pattern :from_cluster of service :service_name was merged into pattern :to_cluster.
UPDATE span_name_patterns SET
  span_count = otelcat_add(span_count, coalesce((SELECT f.span_count FROM span_name_patterns f
                                      WHERE f.service_name = :service_name AND f.cluster_id = :from_cluster), 0),
                           'span_name_patterns', service_name, cluster_id),
  names_sketch = hll_merge(names_sketch, (SELECT f.names_sketch FROM span_name_patterns f
                                          WHERE f.service_name = :service_name AND f.cluster_id = :from_cluster)),
  first_seen = min(first_seen, coalesce((SELECT f.first_seen FROM span_name_patterns f
                                          WHERE f.service_name = :service_name AND f.cluster_id = :from_cluster), first_seen)),
  last_seen = max(last_seen, coalesce((SELECT f.last_seen FROM span_name_patterns f
                                        WHERE f.service_name = :service_name AND f.cluster_id = :from_cluster), last_seen))
WHERE service_name = :service_name AND cluster_id = :to_cluster;

-- name: span_pattern_fold_delete
DELETE FROM span_name_patterns WHERE service_name = :service_name AND cluster_id = :from_cluster;

-- name: span_pattern_refresh
-- Once per pattern the batch wrote or folded into.
UPDATE span_name_patterns SET estimated_names = min(hll_count(names_sketch), span_count)
WHERE service_name = :service_name AND cluster_id = :cluster_id;

-- Per-service keys (schema version 3): the keys of each (entity, service),
-- written after the entity's own key rows. No percentage is stored (the
-- views metric_service_keys, span_service_keys and log_service_keys derive
-- it when read), so a commit writes the rows of the keys its batch counted,
-- however many keys the service has; top_values too (topk_counts of
-- top_sketch when read). The estimated cardinality is stored: a new row
-- takes the batch's (computed by otlp_ingest), a row the batch adds to has
-- it recomputed from the merged sketch here (the merge is written twice: SET
-- expressions see the row as it was).

-- name: metric_service_key
INSERT INTO metric_service_key_rows(metric_name, service_name, key_scope, key_name, key_count, estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
VALUES (:metric_name, :service_name, :key_scope, :key_name, :key_count, :estimated_cardinality, :value_samples, :hll_sketch, :first_seen, :last_seen, :bytes, :value_types, :top_sketch)
ON CONFLICT(metric_name, service_name, key_scope, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'metric_service_key_rows', metric_name, service_name, key_scope, key_name),
  estimated_cardinality = min(hll_count(hll_merge(hll_sketch, excluded.hll_sketch)), key_count + excluded.key_count),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
  bytes = otelcat_add(bytes, excluded.bytes, 'metric_service_key_rows', metric_name, service_name, key_scope, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'metric_service_key_rows', metric_name, service_name, key_scope, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);

-- name: span_service_event
-- Events of one name on one service's spans: the denominator of the
-- service's event-scope keys.
INSERT INTO span_service_events(span_name, service_name, event_name, event_count, first_seen, last_seen)
VALUES (:span_name, :service_name, :event_name, :event_count, :first_seen, :last_seen)
ON CONFLICT(span_name, service_name, event_name) DO UPDATE SET
  event_count = otelcat_add(event_count, excluded.event_count, 'span_service_events', span_name, service_name, event_name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: span_service_key
INSERT INTO span_service_key_rows(span_name, service_name, key_scope, key_name, event_name, key_count, estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
VALUES (:span_name, :service_name, :key_scope, :key_name, :event_name, :key_count, :estimated_cardinality, :value_samples, :hll_sketch, :first_seen, :last_seen, :bytes, :value_types, :top_sketch)
ON CONFLICT(span_name, service_name, key_scope, key_name, event_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'span_service_key_rows', span_name, service_name, key_scope, key_name, event_name),
  estimated_cardinality = min(hll_count(hll_merge(hll_sketch, excluded.hll_sketch)), key_count + excluded.key_count),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
  bytes = otelcat_add(bytes, excluded.bytes, 'span_service_key_rows', span_name, service_name, key_scope, key_name, event_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'span_service_key_rows', span_name, service_name, key_scope, key_name, event_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);

-- name: log_service_key
INSERT INTO log_service_key_rows(severity, service_name, key_scope, key_name, key_count, estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
VALUES (:severity, :service_name, :key_scope, :key_name, :key_count, :estimated_cardinality, :value_samples, :hll_sketch, :first_seen, :last_seen, :bytes, :value_types, :top_sketch)
ON CONFLICT(severity, service_name, key_scope, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_service_key_rows', severity, service_name, key_scope, key_name),
  estimated_cardinality = min(hll_count(hll_merge(hll_sketch, excluded.hll_sketch)), key_count + excluded.key_count),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_service_key_rows', severity, service_name, key_scope, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'log_service_key_rows', severity, service_name, key_scope, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);

-- name: metric_scope
-- Instrumentation scopes, one statement per signal: an entity's records per
-- service, scope name and scope version, their bytes and times (as the
-- *_services rows count them).
INSERT INTO metric_scopes(metric_name, service_name, scope_name, scope_version, sample_count, bytes, first_seen, last_seen)
VALUES (:metric_name, :service_name, :scope_name, :scope_version, :sample_count, :bytes, :first_seen, :last_seen)
ON CONFLICT(metric_name, service_name, scope_name, scope_version) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'metric_scopes', metric_name, service_name, scope_name, scope_version),
  bytes = otelcat_add(bytes, excluded.bytes, 'metric_scopes', metric_name, service_name, scope_name, scope_version),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: span_scope
INSERT INTO span_scopes(span_name, service_name, scope_name, scope_version, sample_count, bytes, first_seen, last_seen)
VALUES (:span_name, :service_name, :scope_name, :scope_version, :sample_count, :bytes, :first_seen, :last_seen)
ON CONFLICT(span_name, service_name, scope_name, scope_version) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'span_scopes', span_name, service_name, scope_name, scope_version),
  bytes = otelcat_add(bytes, excluded.bytes, 'span_scopes', span_name, service_name, scope_name, scope_version),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: log_scope
INSERT INTO log_scopes(severity, service_name, scope_name, scope_version, sample_count, bytes, first_seen, last_seen)
VALUES (:severity, :service_name, :scope_name, :scope_version, :sample_count, :bytes, :first_seen, :last_seen)
ON CONFLICT(severity, service_name, scope_name, scope_version) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'log_scopes', severity, service_name, scope_name, scope_version),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_scopes', severity, service_name, scope_name, scope_version),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- Log event names (schema version 3), the records with a non-empty
-- event_name by that name (they are counted in logs, log_services and
-- log_keys too). Key rows store no percentage (the view log_event_keys
-- derives it when read) and their estimated cardinality as the per-service
-- key rows do. (No colon in this comment, which ends the statement above.)

-- name: log_event
INSERT INTO log_events(event_name, total_sample_count, first_seen, last_seen,
                       bytes, dropped_attributes_count, trace_id_count, span_id_count)
VALUES (:event_name, :total_sample_count, :first_seen, :last_seen,
        :bytes, :dropped_attributes_count, :trace_id_count, :span_id_count)
ON CONFLICT(event_name) DO UPDATE SET
  bytes = otelcat_add(bytes, excluded.bytes, 'log_events', event_name),
  dropped_attributes_count = otelcat_add(dropped_attributes_count, excluded.dropped_attributes_count, 'log_events', event_name),
  trace_id_count = otelcat_add(trace_id_count, excluded.trace_id_count, 'log_events', event_name),
  span_id_count = otelcat_add(span_id_count, excluded.span_id_count, 'log_events', event_name),
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'log_events', event_name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: log_event_service
INSERT INTO log_event_services(event_name, service_name, sample_count, first_seen, last_seen, bytes)
VALUES (:event_name, :service_name, :sample_count, :first_seen, :last_seen, :bytes)
ON CONFLICT(event_name, service_name) DO UPDATE SET
  bytes = otelcat_add(bytes, excluded.bytes, 'log_event_services', event_name, service_name),
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'log_event_services', event_name, service_name),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: log_event_key
INSERT INTO log_event_key_rows(event_name, key_name, key_count, estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
VALUES (:event_name, :key_name, :key_count, :estimated_cardinality, :value_samples, :hll_sketch, :first_seen, :last_seen, :bytes, :value_types, :top_sketch)
ON CONFLICT(event_name, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_event_key_rows', event_name, key_name),
  estimated_cardinality = min(hll_count(hll_merge(hll_sketch, excluded.hll_sketch)), key_count + excluded.key_count),
  value_samples = json_samples_merge(value_samples, excluded.value_samples),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_event_key_rows', event_name, key_name),
  value_types = json_counts_merge(value_types, excluded.value_types, 'log_event_key_rows', event_name, key_name),
  top_sketch = topk_merge(top_sketch, excluded.top_sketch);

-- name: key_name_pattern
-- Key names past the entity's key_name_bound, by pattern (docs/catalog.md
-- "Key-name patterns"). The estimate is recomputed from the merged sketch
-- (written twice: SET expressions see the row as it was).
INSERT INTO key_name_patterns(entity_kind, entity_name, key_scope, event_name, pattern, key_count, estimated_names, names_sketch, sample_names, first_seen, last_seen, bytes)
VALUES (:entity_kind, :entity_name, :key_scope, :event_name, :pattern, :key_count, :estimated_names, :names_sketch, :sample_names, :first_seen, :last_seen, :bytes)
ON CONFLICT(entity_kind, entity_name, key_scope, event_name, pattern) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'key_name_patterns', entity_kind, entity_name, key_scope, pattern),
  estimated_names = min(hll_count(hll_merge(names_sketch, excluded.names_sketch)), key_count + excluded.key_count),
  names_sketch = hll_merge(names_sketch, excluded.names_sketch),
  sample_names = json_samples_merge(sample_names, excluded.sample_names),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
  bytes = otelcat_add(bytes, excluded.bytes, 'key_name_patterns', entity_kind, entity_name, key_scope, pattern);

-- name: entity_history
INSERT INTO entity_history(signal, entity, resolution, bucket_start, records, bytes)
VALUES (:signal, :entity, 'bucket', :bucket_start, :records, :bytes)
ON CONFLICT(signal, entity, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'entity_history', signal, entity, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'entity_history', signal, entity, bucket_start);

-- name: service_history
INSERT INTO service_history(signal, entity, service_name, resolution, bucket_start, records, bytes)
VALUES (:signal, :entity, :service_name, 'bucket', :bucket_start, :records, :bytes)
ON CONFLICT(signal, entity, service_name, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'service_history', signal, entity, service_name, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'service_history', signal, entity, service_name, bucket_start);

-- name: key_history_key
-- A key of key_history (written first): named once, its key_id is the row's.
INSERT INTO key_history_keys(signal, entity, key_scope, key_name, event_name)
VALUES (:signal, :entity, :key_scope, :key_name, :event_name)
ON CONFLICT DO NOTHING;

-- name: key_history
-- A key's row of a bucket (its start in unix seconds), found by the key's
-- texts through key_history_keys' index.
INSERT INTO key_history_buckets(key_id, resolution, bucket_start, key_count, bytes, hll_sketch)
SELECT k.key_id, 0, v.column6, v.column7, v.column8, v.column9
FROM (VALUES (:signal, :entity, :key_scope, :key_name, :event_name, :bucket_start, :key_count, :bytes, :hll_sketch)) v
CROSS JOIN key_history_keys k ON k.signal = v.column1 AND k.entity = v.column2 AND k.key_scope = v.column3
  AND k.key_name = v.column4 AND k.event_name = v.column5
WHERE true
ON CONFLICT(key_id, resolution, bucket_start) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'key_history_buckets', key_id, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'key_history_buckets', key_id, bucket_start),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch);

-- name: template_history
INSERT INTO template_history_rows(severity, service_name, cluster_id, resolution, bucket_start, count, bytes)
VALUES (:severity, :service_name, :cluster_id, 'bucket', :bucket_start, :count, :bytes)
ON CONFLICT(severity, service_name, cluster_id, resolution, bucket_start) DO UPDATE SET
  count = otelcat_add(count, excluded.count, 'template_history_rows', severity, service_name, cluster_id, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'template_history_rows', severity, service_name, cluster_id, bucket_start);

-- name: template_history_fold
-- As log_template_fold: the history of cluster :from_cluster joins :to_cluster's.
INSERT INTO template_history_rows(severity, service_name, cluster_id, resolution, bucket_start, count, bytes)
SELECT severity, service_name, :to_cluster, resolution, bucket_start, count, bytes FROM template_history_rows
WHERE severity = :severity AND service_name = :service_name AND cluster_id = :from_cluster
ON CONFLICT(severity, service_name, cluster_id, resolution, bucket_start) DO UPDATE SET
  count = otelcat_add(count, excluded.count, 'template_history_rows', severity, service_name, cluster_id, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'template_history_rows', severity, service_name, cluster_id, bucket_start);

-- name: template_history_fold_delete
DELETE FROM template_history_rows WHERE severity = :severity AND service_name = :service_name AND cluster_id = :from_cluster;

-- Roll-up and retention, after each commit's rows (docs/catalog.md
-- "History"). :fine_until: 'bucket' rows that start then or before become
-- 'day' rows; :days_until: 'day' rows that start then or before go. Each
-- reads the (resolution, bucket_start) index: its cost follows what rolls.

-- name: entity_history_rollup
INSERT INTO entity_history(signal, entity, resolution, bucket_start, records, bytes)
SELECT signal, entity, 'day', date(bucket_start) || ' 00:00:00', sum(records), sum(bytes)
FROM entity_history WHERE resolution = 'bucket' AND bucket_start <= :fine_until
GROUP BY signal, entity, date(bucket_start)
ON CONFLICT(signal, entity, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'entity_history', signal, entity, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'entity_history', signal, entity, bucket_start);

-- name: entity_history_prune
DELETE FROM entity_history WHERE resolution = 'bucket' AND bucket_start <= :fine_until
   OR resolution = 'day' AND bucket_start <= :days_until;

-- name: service_history_rollup
INSERT INTO service_history(signal, entity, service_name, resolution, bucket_start, records, bytes)
SELECT signal, entity, service_name, 'day', date(bucket_start) || ' 00:00:00', sum(records), sum(bytes)
FROM service_history WHERE resolution = 'bucket' AND bucket_start <= :fine_until
GROUP BY signal, entity, service_name, date(bucket_start)
ON CONFLICT(signal, entity, service_name, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'service_history', signal, entity, service_name, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'service_history', signal, entity, service_name, bucket_start);

-- name: service_history_prune
DELETE FROM service_history WHERE resolution = 'bucket' AND bucket_start <= :fine_until
   OR resolution = 'day' AND bucket_start <= :days_until;

-- name: key_history_rollup
INSERT INTO key_history_buckets(key_id, resolution, bucket_start, key_count, bytes, hll_sketch)
SELECT key_id, 1, bucket_start - bucket_start % 86400, sum(key_count), sum(bytes), hll_merge(hll_sketch)
FROM key_history_buckets WHERE resolution = 0 AND bucket_start <= unixepoch(:fine_until)
GROUP BY key_id, bucket_start - bucket_start % 86400
ON CONFLICT(key_id, resolution, bucket_start) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'key_history_buckets', key_id, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'key_history_buckets', key_id, bucket_start),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch);

-- name: key_history_keys_prune
-- After the roll-up, before key_history_prune: the keys whose every row
-- the prune drops (found through the rows it drops).
DELETE FROM key_history_keys WHERE key_id IN (
    SELECT key_id FROM key_history_buckets
    WHERE resolution = 0 AND bucket_start <= unixepoch(:fine_until)
       OR resolution = 1 AND bucket_start <= unixepoch(:days_until))
  AND NOT EXISTS (SELECT 1 FROM key_history_buckets b WHERE b.key_id = key_history_keys.key_id
                  AND (b.resolution = 0 AND b.bucket_start > unixepoch(:fine_until)
                       OR b.resolution = 1 AND b.bucket_start > unixepoch(:days_until)));

-- name: key_history_prune
DELETE FROM key_history_buckets WHERE resolution = 0 AND bucket_start <= unixepoch(:fine_until)
   OR resolution = 1 AND bucket_start <= unixepoch(:days_until);

-- name: template_history_rollup
INSERT INTO template_history_rows(severity, service_name, cluster_id, resolution, bucket_start, count, bytes)
SELECT severity, service_name, cluster_id, 'day', date(bucket_start) || ' 00:00:00', sum(count), sum(bytes)
FROM template_history_rows WHERE resolution = 'bucket' AND bucket_start <= :fine_until
GROUP BY severity, service_name, cluster_id, date(bucket_start)
ON CONFLICT(severity, service_name, cluster_id, resolution, bucket_start) DO UPDATE SET
  count = otelcat_add(count, excluded.count, 'template_history_rows', severity, service_name, cluster_id, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'template_history_rows', severity, service_name, cluster_id, bucket_start);

-- name: template_history_prune
DELETE FROM template_history_rows WHERE resolution = 'bucket' AND bucket_start <= :fine_until
   OR resolution = 'day' AND bucket_start <= :days_until;

-- Key totals (issue 16; docs/catalog.md "Key totals"): after the entity key
-- rows of a signal, one row per distinct (scope, key) of the batch: the
-- batch's sums, sketch union and the entities new to the (scope, key)
-- (src/ingest/write/totals.rs); then, per key, the entities new to it in
-- any scope.

-- name: key_total
INSERT INTO key_totals(key_name, signal, key_scope, entities, key_count, bytes, value_types, hll_sketch, first_seen, last_seen)
VALUES (:key_name, :signal, :key_scope, :entities, :key_count, :bytes, :value_types, :hll_sketch, :first_seen, :last_seen)
ON CONFLICT(key_name, signal, key_scope) DO UPDATE SET
  entities = otelcat_add(entities, excluded.entities, 'key_totals', key_name, signal, key_scope),
  key_count = otelcat_add(key_count, excluded.key_count, 'key_totals', key_name, signal, key_scope),
  bytes = otelcat_add(bytes, excluded.bytes, 'key_totals', key_name, signal, key_scope),
  value_types = json_counts_merge(value_types, excluded.value_types, 'key_totals', key_name, signal, key_scope),
  hll_sketch = hll_merge(hll_sketch, excluded.hll_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));

-- name: key_name_total
INSERT INTO key_name_totals(key_name, signal, entities) VALUES (:key_name, :signal, :entities)
ON CONFLICT(key_name, signal) DO UPDATE SET
  entities = otelcat_add(entities, excluded.entities, 'key_name_totals', key_name, signal);

-- Service totals (issue 16; docs/catalog.md "Service totals"): before the
-- signals' rows, one row per service and signal of the batch: the batch's
-- sums over its service rows and the service rows it adds
-- (src/ingest/write/service_totals.rs).

-- name: service_total
INSERT INTO service_totals(service_name, signal, entities, records, bytes, span_errors, first_seen, last_seen)
VALUES (:service_name, :signal, :entities, :records, :bytes, :span_errors, :first_seen, :last_seen)
ON CONFLICT(service_name, signal) DO UPDATE SET
  entities = otelcat_add(entities, excluded.entities, 'service_totals', service_name, signal),
  records = otelcat_add(records, excluded.records, 'service_totals', service_name, signal),
  bytes = otelcat_add(bytes, excluded.bytes, 'service_totals', service_name, signal),
  span_errors = otelcat_add(span_errors, excluded.span_errors, 'service_totals', service_name, signal),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));
