-- examples/etl.sql: build the otelcat catalog with SQL only, from plain
-- tables of raw rows, using the extension's functions (hll_sketch,
-- hll_merge, hll_count, json_samples, json_samples_merge, json_counts_merge, topk_sketch,
-- topk_merge, topk_values, drain_template,
-- drain_match, drain_configure). It produces the same catalog as otlp_ingest
-- (every table, and the views): the same counts, sample lists and
-- cardinality estimates, the same log templates and span-name patterns
-- (tests/test_etl.py checks it). otlp_ingest templates span names once per
-- distinct (service, name) per transaction, so span_name_patterns equals
-- that of one transaction holding the same records.
-- One gap: key-name patterns (docs/catalog.md "Key-name patterns"). This
-- script writes a key row for every key name, whatever the number of names
-- per entity, and key_name_patterns stays empty: it equals otlp_ingest's
-- catalog while no entity key table goes past key_name_bound (1 000 names
-- by default). To fold here too, give names past the bound the pattern
-- otlp_ingest would (src/ingest/keyfold.rs) in the raw rows first.
-- Another: names and keys longer than 256 bytes, which otlp_ingest clips
-- (docs/catalog.md "Limits and errors"); this script keeps them whole.
--
-- Run it after loading the extension and creating the catalog schema and
-- views:
--   sqlite3 catalog.db '.load dist/otelcat' '.read sql/schema.sql' '.read sql/views.sql' '.read examples/etl.sql'
-- It merges what the raw tables hold into the catalog with UPSERTs (so it can
-- be run again on the next load of raw rows: empty them in between).
--
-- Raw rows, in arrival order (ids ascending). Times are SQLite datetime()
-- text; attribute values are their text form (docs/FORMAT.md section 1).
-- status: the span's status.code (0 unset, 1 ok, 2 error).
-- Each attribute row also gives its OTLP value type (`type`: string, int,
-- double, bool, bytes, array, kvlist or empty) and `bytes`, what the pair
-- takes in its record in OTLP protobuf (docs/catalog.md, "Bytes"). A
-- resource is sent once per resource block: give a resource pair's bytes on
-- the first record of each entity (span name, metric, severity) in each
-- block and 0 on the others, as otlp_ingest counts them.
-- Records' bytes and metadata (schema version 3; docs/catalog.md "Bytes"):
-- bytes, the record's message in OTLP protobuf with its tag and length (a
-- span's Span, a log's LogRecord; for points, the whole Metric message on
-- the first point of each Metric message sent, 0 on its other points); the
-- dropped_*_count fields as sent; trace_id / span_id: 1 when the log record
-- has one, else 0.
-- scope_name, scope_version: the InstrumentationScope of the record's
-- scope block ('' when absent; schema version 3, docs/catalog.md
-- "Instrumentation scopes"). A log record's event_name: its
-- LogRecord.event_name ('' for none; schema version 3, docs/catalog.md "Log
-- event names").
CREATE TABLE IF NOT EXISTS raw_spans(id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
  service TEXT NOT NULL, time TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0, dropped_attributes INTEGER NOT NULL DEFAULT 0,
  dropped_events INTEGER NOT NULL DEFAULT 0, dropped_links INTEGER NOT NULL DEFAULT 0,
  scope_name TEXT NOT NULL DEFAULT '', scope_version TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS raw_span_attrs(span_id INTEGER NOT NULL, scope TEXT NOT NULL, -- 'attribute' | 'resource'
  key TEXT NOT NULL, value TEXT NOT NULL, type TEXT NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS raw_span_events(id INTEGER PRIMARY KEY, span_id INTEGER NOT NULL, name TEXT NOT NULL, time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS raw_span_event_attrs(event_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  type TEXT NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS raw_span_links(id INTEGER PRIMARY KEY, span_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS raw_span_link_attrs(link_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  type TEXT NOT NULL, bytes INTEGER NOT NULL);
-- A point's shape: temporality (Unspecified | Delta | Cumulative) and
-- monotonic (0 | 1) of its metric; buckets: explicit bounds of a Histogram
-- point, positive + negative bucket counts of an ExponentialHistogram point
-- (scale: its scale), quantile values of a Summary point, else 0.
CREATE TABLE IF NOT EXISTS raw_points(id INTEGER PRIMARY KEY, metric TEXT NOT NULL, type TEXT NOT NULL, unit TEXT NOT NULL,
  description TEXT NOT NULL, service TEXT NOT NULL, time TEXT NOT NULL,
  temporality TEXT NOT NULL DEFAULT 'Unspecified', monotonic INTEGER NOT NULL DEFAULT 0,
  buckets INTEGER NOT NULL DEFAULT 0, scale INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
  scope_name TEXT NOT NULL DEFAULT '', scope_version TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS raw_point_attrs(point_id INTEGER NOT NULL, scope TEXT NOT NULL, -- 'label' | 'resource'
  key TEXT NOT NULL, value TEXT NOT NULL, type TEXT NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS raw_logs(id INTEGER PRIMARY KEY, severity TEXT NOT NULL, service TEXT NOT NULL,
  body TEXT NOT NULL, time TEXT NOT NULL, bytes INTEGER NOT NULL DEFAULT 0,
  dropped_attributes INTEGER NOT NULL DEFAULT 0, trace_id INTEGER NOT NULL DEFAULT 0, span_id INTEGER NOT NULL DEFAULT 0,
  scope_name TEXT NOT NULL DEFAULT '', scope_version TEXT NOT NULL DEFAULT '',
  event_name TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS raw_log_attrs(log_id INTEGER NOT NULL, scope TEXT NOT NULL, -- 'attribute' | 'resource'
  key TEXT NOT NULL, value TEXT NOT NULL, type TEXT NOT NULL, bytes INTEGER NOT NULL);

-- ---------------------------------------------------------------- metrics
-- A series is a point's sorted resource + point attribute set, joined as
-- key US value RS ... (the same bytes otlp_ingest hashes); when the
-- resource's part alone is 4096 bytes or more, it is the resource's sorted
-- pairs, GS (char(29)), then the point's sorted pairs (docs/FORMAT.md).
INSERT INTO metrics(name, type, unit, description, total_sample_count, series_sketch, first_seen, last_seen,
                    temporality, is_monotonic, histogram_buckets, exp_histogram_buckets,
                    exp_histogram_min_scale, exp_histogram_max_scale, summary_quantiles)
SELECT metric, type, unit, description, n, series, first_seen, last_seen,
       temporality, monotonic, hb, eb, emin, emax, sq FROM (
  SELECT metric,
         (SELECT type FROM raw_points q WHERE q.metric = p.metric ORDER BY id DESC LIMIT 1) AS type,
         coalesce((SELECT unit FROM raw_points q WHERE q.metric = p.metric AND unit <> '' ORDER BY id DESC LIMIT 1), '') AS unit,
         coalesce((SELECT description FROM raw_points q WHERE q.metric = p.metric AND description <> '' ORDER BY id DESC LIMIT 1), '') AS description,
         count(*) AS n,
         hll_sketch((SELECT CASE WHEN length(CAST(res AS BLOB)) >= 4096 THEN res || char(29) || coalesce(pt, '') ELSE whole END
                     FROM (SELECT
                       (SELECT group_concat(key || char(31) || value || char(30), '') FROM (SELECT key, value
                          FROM raw_point_attrs a WHERE a.point_id = p.id AND a.scope = 'resource' ORDER BY key, value)) AS res,
                       (SELECT group_concat(key || char(31) || value || char(30), '') FROM (SELECT key, value
                          FROM raw_point_attrs a WHERE a.point_id = p.id AND a.scope = 'label' ORDER BY key, value)) AS pt,
                       (SELECT group_concat(key || char(31) || value || char(30), '') FROM (SELECT key, value
                          FROM raw_point_attrs a WHERE a.point_id = p.id ORDER BY key, value)) AS whole))) AS series,
         min(time) AS first_seen, max(time) AS last_seen,
         -- Metric shape (docs/catalog.md "Metric shape").
         (SELECT temporality FROM raw_points q WHERE q.metric = p.metric ORDER BY id DESC LIMIT 1) AS temporality,
         (SELECT monotonic FROM raw_points q WHERE q.metric = p.metric ORDER BY id DESC LIMIT 1) AS monotonic,
         max(CASE type WHEN 'Histogram' THEN buckets + 1 END) AS hb,
         max(CASE type WHEN 'ExponentialHistogram' THEN buckets END) AS eb,
         min(CASE type WHEN 'ExponentialHistogram' THEN scale END) AS emin,
         max(CASE type WHEN 'ExponentialHistogram' THEN scale END) AS emax,
         max(CASE type WHEN 'Summary' THEN buckets END) AS sq
  FROM raw_points p GROUP BY metric) WHERE true
ON CONFLICT(name) DO UPDATE SET
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
  first_seen = min(first_seen, excluded.first_seen),
  last_seen = max(last_seen, excluded.last_seen);
-- estimated_prometheus_series: the rule of docs/catalog.md "Metric shape".
UPDATE metrics SET
  estimated_active_series = min(hll_count(series_sketch), total_sample_count),
  estimated_prometheus_series = min(hll_count(series_sketch), total_sample_count) * CASE type
    WHEN 'Histogram' THEN histogram_buckets + 2
    WHEN 'Summary' THEN summary_quantiles + 2
    ELSE 1 END
WHERE name IN (SELECT metric FROM raw_points);
-- Bytes of records (schema version 3; docs/catalog.md "Bytes").
UPDATE metrics SET bytes = otelcat_add(bytes, (SELECT sum(p.bytes) FROM raw_points p WHERE p.metric = metrics.name), 'metrics', name)
WHERE name IN (SELECT metric FROM raw_points);

INSERT INTO metric_services(metric_name, service_name, sample_count, first_seen, last_seen, type, temporality, is_monotonic)
SELECT metric, service, count(*), min(time), max(time),
       -- what the service sent last (metric shape)
       (SELECT type FROM raw_points q WHERE q.metric = p.metric AND q.service = p.service ORDER BY id DESC LIMIT 1),
       (SELECT temporality FROM raw_points q WHERE q.metric = p.metric AND q.service = p.service ORDER BY id DESC LIMIT 1),
       (SELECT monotonic FROM raw_points q WHERE q.metric = p.metric AND q.service = p.service ORDER BY id DESC LIMIT 1)
FROM raw_points p WHERE true GROUP BY metric, service
ON CONFLICT(metric_name, service_name) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'metric_services', metric_name, service_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  type = excluded.type, temporality = excluded.temporality, is_monotonic = excluded.is_monotonic;

-- Sample lists keep the first distinct values in arrival order: json_samples
-- runs as a window function ordered by arrival (an aggregate's input order
-- is not defined in SQL), then one row per key is kept.
-- value_types and top_sketch: of a key repeated on one record, its first
-- row (firsts); value_types is an object in name order (json_counts_merge
-- sorts it), top_sketch a frequent-items sketch (lg_max_map_size 6) of the
-- values' first 128 characters.
WITH firsts(metric, scope, key, type, value) AS MATERIALIZED (
  SELECT metric, scope, key, type, value FROM (
    SELECT p.metric, a.scope, a.key, a.type, a.value, row_number() OVER (PARTITION BY p.id, a.scope, a.key ORDER BY a.rowid) AS nth
    FROM raw_points p JOIN raw_point_attrs a ON a.point_id = p.id) WHERE nth = 1),
types(metric, scope, key, value_types) AS MATERIALIZED (
  SELECT metric, scope, key, json_counts_merge(json_group_object(type, n), NULL) FROM (
    SELECT metric, scope, key, type, count(*) AS n FROM firsts GROUP BY metric, scope, key, type)
  GROUP BY metric, scope, key),
tops(metric, scope, key, top_sketch) AS MATERIALIZED (
  SELECT metric, scope, key, topk_sketch(substr(value, 1, 128), 6) FROM firsts GROUP BY metric, scope, key)
INSERT INTO metric_key_rows(metric_name, key_scope, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types,
                        top_sketch)
SELECT metric, scope, key, count(DISTINCT id), samples, hll_sketch(CAST(value AS TEXT)), min(time), max(time), sum(bytes),
       (SELECT value_types FROM types t WHERE t.metric = x.metric AND t.scope = x.scope AND t.key = x.key),
       (SELECT top_sketch FROM tops t WHERE t.metric = x.metric AND t.scope = x.scope AND t.key = x.key) FROM (
  SELECT p.metric, a.scope, a.key, p.id, a.value, p.time, a.bytes,
         json_samples(a.value) OVER (PARTITION BY p.metric, a.scope, a.key ORDER BY p.id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS samples
  FROM raw_points p JOIN raw_point_attrs a ON a.point_id = p.id) x
WHERE true GROUP BY metric, scope, key
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
  top_values = CASE WHEN top_sketch IS NULL THEN NULL ELSE topk_counts(top_sketch, 10) END
WHERE metric_name IN (SELECT metric FROM raw_points);

-- Per-service keys (schema version 3): the same per (metric, service); no
-- percentage is stored (the view metric_service_keys derives it).
WITH firsts(metric, service, scope, key, type, value) AS MATERIALIZED (
  SELECT metric, service, scope, key, type, value FROM (
    SELECT p.metric, p.service, a.scope, a.key, a.type, a.value, row_number() OVER (PARTITION BY p.id, a.scope, a.key ORDER BY a.rowid) AS nth
    FROM raw_points p JOIN raw_point_attrs a ON a.point_id = p.id) WHERE nth = 1),
types(metric, service, scope, key, value_types) AS MATERIALIZED (
  SELECT metric, service, scope, key, json_counts_merge(json_group_object(type, n), NULL) FROM (
    SELECT metric, service, scope, key, type, count(*) AS n FROM firsts GROUP BY metric, service, scope, key, type)
  GROUP BY metric, service, scope, key),
tops(metric, service, scope, key, top_sketch) AS MATERIALIZED (
  SELECT metric, service, scope, key, topk_sketch(substr(value, 1, 128), 6) FROM firsts GROUP BY metric, service, scope, key)
INSERT INTO metric_service_key_rows(metric_name, service_name, key_scope, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen,
                                    bytes, value_types, top_sketch)
SELECT metric, service, scope, key, count(DISTINCT id), samples, hll_sketch(CAST(value AS TEXT)), min(time), max(time), sum(bytes),
       (SELECT value_types FROM types t WHERE t.metric = x.metric AND t.service = x.service AND t.scope = x.scope AND t.key = x.key),
       (SELECT top_sketch FROM tops t WHERE t.metric = x.metric AND t.service = x.service AND t.scope = x.scope AND t.key = x.key) FROM (
  SELECT p.metric, p.service, a.scope, a.key, p.id, a.value, p.time, a.bytes,
         json_samples(a.value) OVER (PARTITION BY p.metric, p.service, a.scope, a.key ORDER BY p.id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS samples
  FROM raw_points p JOIN raw_point_attrs a ON a.point_id = p.id) x
WHERE true GROUP BY metric, service, scope, key
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
WHERE metric_name IN (SELECT metric FROM raw_points);
UPDATE metric_services SET bytes = otelcat_add(bytes, (SELECT sum(p.bytes) FROM raw_points p
    WHERE p.metric = metric_services.metric_name AND p.service = metric_services.service_name), 'metric_services', metric_name, service_name)
WHERE (metric_name, service_name) IN (SELECT metric, service FROM raw_points);

-- ---------------------------------------------------------------- spans
INSERT INTO spans(name, kind, total_sample_count, event_count, link_count, first_seen, last_seen,
                  status_unset_count, status_ok_count, status_error_count)
SELECT name, (SELECT kind FROM raw_spans q WHERE q.name = s.name ORDER BY id DESC LIMIT 1), count(*),
       (SELECT count(*) FROM raw_span_events e JOIN raw_spans x ON x.id = e.span_id WHERE x.name = s.name),
       (SELECT count(*) FROM raw_span_links l JOIN raw_spans x ON x.id = l.span_id WHERE x.name = s.name),
       min(time), max(time),
       sum(status NOT IN (1, 2)), sum(status = 1), sum(status = 2)
FROM raw_spans s WHERE true GROUP BY name
ON CONFLICT(name) DO UPDATE SET
  status_unset_count = otelcat_add(status_unset_count, excluded.status_unset_count, 'spans', name),
  status_ok_count = otelcat_add(status_ok_count, excluded.status_ok_count, 'spans', name),
  status_error_count = otelcat_add(status_error_count, excluded.status_error_count, 'spans', name),
  kind = excluded.kind,
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'spans', name),
  event_count = otelcat_add(event_count, excluded.event_count, 'spans', name),
  link_count = otelcat_add(link_count, excluded.link_count, 'spans', name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

INSERT INTO span_services(span_name, service_name, sample_count, first_seen, last_seen,
                          status_unset_count, status_ok_count, status_error_count, link_count)
SELECT name, service, count(*), min(time), max(time), sum(status NOT IN (1, 2)), sum(status = 1), sum(status = 2),
       (SELECT count(*) FROM raw_span_links l JOIN raw_spans x ON x.id = l.span_id WHERE x.name = s.name AND x.service = s.service)
FROM raw_spans s WHERE true GROUP BY name, service
ON CONFLICT(span_name, service_name) DO UPDATE SET
  link_count = otelcat_add(link_count, excluded.link_count, 'span_services', span_name, service_name),
  status_unset_count = otelcat_add(status_unset_count, excluded.status_unset_count, 'span_services', span_name, service_name),
  status_ok_count = otelcat_add(status_ok_count, excluded.status_ok_count, 'span_services', span_name, service_name),
  status_error_count = otelcat_add(status_error_count, excluded.status_error_count, 'span_services', span_name, service_name),
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'span_services', span_name, service_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

INSERT INTO span_events(span_name, event_name, event_count, first_seen, last_seen)
SELECT s.name, e.name, count(*), min(e.time), max(e.time)
FROM raw_span_events e JOIN raw_spans s ON s.id = e.span_id WHERE true GROUP BY s.name, e.name
ON CONFLICT(span_name, event_name) DO UPDATE SET
  event_count = otelcat_add(event_count, excluded.event_count, 'span_events', span_name, event_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

-- Keys of every scope, one stream in arrival order: (span name, scope, event, record, key, value, time).
-- (rec numbers records within their scope: span, event or link ids.)
WITH k(span_name, scope, event_name, rec, key, value, time, ord1, ord2, type, bytes, nth) AS (
  SELECT s.name, a.scope, '', s.id, a.key, a.value, s.time, s.id, 0, a.type, a.bytes, a.rowid
    FROM raw_spans s JOIN raw_span_attrs a ON a.span_id = s.id
  UNION ALL
  SELECT s.name, 'event', e.name, e.id, a.key, a.value, e.time, s.id, e.id, a.type, a.bytes, a.rowid
    FROM raw_span_events e JOIN raw_spans s ON s.id = e.span_id JOIN raw_span_event_attrs a ON a.event_id = e.id
  UNION ALL
  SELECT s.name, 'link', '', l.id, a.key, a.value, s.time, s.id, l.id, a.type, a.bytes, a.rowid
    FROM raw_span_links l JOIN raw_spans s ON s.id = l.span_id JOIN raw_span_link_attrs a ON a.link_id = l.id
),
firsts AS MATERIALIZED (
  SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY scope, rec, key ORDER BY nth) AS first FROM k) WHERE first = 1),
types(span_name, scope, key, event_name, value_types) AS MATERIALIZED (
  SELECT span_name, scope, key, event_name, json_counts_merge(json_group_object(type, n), NULL) FROM (
    SELECT span_name, scope, key, event_name, type, count(*) AS n FROM firsts GROUP BY span_name, scope, key, event_name, type)
  GROUP BY span_name, scope, key, event_name),
tops(span_name, scope, key, event_name, top_sketch) AS MATERIALIZED (
  SELECT span_name, scope, key, event_name, topk_sketch(substr(value, 1, 128), 6) FROM firsts GROUP BY span_name, scope, key, event_name)
INSERT INTO span_key_rows(span_name, key_scope, key_name, event_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types,
                      top_sketch)
SELECT span_name, scope, key, event_name, count(DISTINCT rec), samples, hll_sketch(CAST(value AS TEXT)), min(time), max(time), sum(bytes),
       (SELECT value_types FROM types t WHERE t.span_name = x.span_name AND t.scope = x.scope AND t.key = x.key
                                          AND t.event_name = x.event_name),
       (SELECT top_sketch FROM tops t WHERE t.span_name = x.span_name AND t.scope = x.scope AND t.key = x.key
                                        AND t.event_name = x.event_name) FROM (
  SELECT *, json_samples(value) OVER (PARTITION BY span_name, scope, key, event_name ORDER BY ord1, ord2
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS samples FROM k) x
WHERE true GROUP BY span_name, scope, key, event_name
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
  top_values = CASE WHEN top_sketch IS NULL THEN NULL ELSE topk_counts(top_sketch, 10) END
WHERE span_name IN (SELECT name FROM raw_spans);

INSERT INTO span_service_events(span_name, service_name, event_name, event_count, first_seen, last_seen)
SELECT s.name, s.service, e.name, count(*), min(e.time), max(e.time)
FROM raw_span_events e JOIN raw_spans s ON s.id = e.span_id WHERE true GROUP BY s.name, s.service, e.name
ON CONFLICT(span_name, service_name, event_name) DO UPDATE SET
  event_count = otelcat_add(event_count, excluded.event_count, 'span_service_events', span_name, service_name, event_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

-- Per-service keys (schema version 3): the same per (span name, service);
-- no percentage is stored (the view span_service_keys derives it).
WITH k(span_name, service, scope, event_name, rec, key, value, time, ord1, ord2, type, bytes, nth) AS (
  SELECT s.name, s.service, a.scope, '', s.id, a.key, a.value, s.time, s.id, 0, a.type, a.bytes, a.rowid
    FROM raw_spans s JOIN raw_span_attrs a ON a.span_id = s.id
  UNION ALL
  SELECT s.name, s.service, 'event', e.name, e.id, a.key, a.value, e.time, s.id, e.id, a.type, a.bytes, a.rowid
    FROM raw_span_events e JOIN raw_spans s ON s.id = e.span_id JOIN raw_span_event_attrs a ON a.event_id = e.id
  UNION ALL
  SELECT s.name, s.service, 'link', '', l.id, a.key, a.value, s.time, s.id, l.id, a.type, a.bytes, a.rowid
    FROM raw_span_links l JOIN raw_spans s ON s.id = l.span_id JOIN raw_span_link_attrs a ON a.link_id = l.id
),
firsts AS MATERIALIZED (
  SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY scope, rec, key ORDER BY nth) AS first FROM k) WHERE first = 1),
types(span_name, service, scope, key, event_name, value_types) AS MATERIALIZED (
  SELECT span_name, service, scope, key, event_name, json_counts_merge(json_group_object(type, n), NULL) FROM (
    SELECT span_name, service, scope, key, event_name, type, count(*) AS n FROM firsts GROUP BY span_name, service, scope, key, event_name, type)
  GROUP BY span_name, service, scope, key, event_name),
tops(span_name, service, scope, key, event_name, top_sketch) AS MATERIALIZED (
  SELECT span_name, service, scope, key, event_name, topk_sketch(substr(value, 1, 128), 6) FROM firsts GROUP BY span_name, service, scope, key, event_name)
INSERT INTO span_service_key_rows(span_name, service_name, key_scope, key_name, event_name, key_count, value_samples, hll_sketch, first_seen,
                                  last_seen, bytes, value_types, top_sketch)
SELECT span_name, service, scope, key, event_name, count(DISTINCT rec), samples, hll_sketch(CAST(value AS TEXT)), min(time), max(time), sum(bytes),
       (SELECT value_types FROM types t WHERE t.span_name = x.span_name AND t.service = x.service AND t.scope = x.scope AND t.key = x.key
                                          AND t.event_name = x.event_name),
       (SELECT top_sketch FROM tops t WHERE t.span_name = x.span_name AND t.service = x.service AND t.scope = x.scope AND t.key = x.key
                                        AND t.event_name = x.event_name) FROM (
  SELECT *, json_samples(value) OVER (PARTITION BY span_name, service, scope, key, event_name ORDER BY ord1, ord2
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS samples FROM k) x
WHERE true GROUP BY span_name, service, scope, key, event_name
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
WHERE span_name IN (SELECT name FROM raw_spans);

-- Span-name patterns: each service's span names templated with Drain, as
-- otlp_ingest does (partition per service; '/' also separates tokens, and a
-- literal position needs 10 distinct values before it becomes <*>, so a few
-- routes stay apart while ids collapse: GET /users/<*>). otlp_ingest trains
-- each distinct (name, service) once per transaction, in name order then
-- service order; this script does the same once per run (one run = one
-- transaction). Runs that continue a catalog add up, but a cluster that a
-- later run merges into another keeps its own row here (otlp_ingest folds it). (The partitions
-- here are 'etl.spans/<service>'; a partition is configured only before its
-- first cluster, and the default configuration is assumed to have no extra
-- delimiters and min_distinct <= 10, as it has unless drain_configure
-- changed it.)
CREATE TEMP TABLE etl_span_names AS
SELECT service, name, count(*) AS n, min(time) AS first_seen, max(time) AS last_seen, 'etl.spans/' || service AS part
FROM raw_spans GROUP BY service, name ORDER BY name, service;

SELECT drain_configure(part, '{"extra_delimiters": "/", "min_distinct": 10}')
FROM (SELECT DISTINCT part FROM etl_span_names)
WHERE part NOT IN (SELECT partition FROM drain_clusters);

CREATE TEMP TABLE etl_span_trained AS
SELECT rowid AS id, service, name, n, first_seen, last_seen, part, drain_template(name, part) AS first_pattern
FROM etl_span_names ORDER BY rowid;

INSERT INTO span_name_patterns(service_name, cluster_id, pattern, example, span_count, names_sketch, first_seen, last_seen)
SELECT m.service, c.cluster_id, m.pattern, c.example, sum(m.n), hll_sketch(m.name), min(m.first_seen), max(m.last_seen)
FROM (SELECT id, service, name, n, first_seen, last_seen, part, drain_match(name, part) AS pattern
      FROM etl_span_trained ORDER BY id) m
JOIN drain_clusters c ON c.partition = m.part AND c.template = m.pattern
WHERE true GROUP BY m.service, m.pattern
ON CONFLICT(service_name, cluster_id) DO UPDATE SET
  pattern = excluded.pattern,
  span_count = otelcat_add(span_count, excluded.span_count, 'span_name_patterns', service_name, cluster_id),
  names_sketch = hll_merge(names_sketch, excluded.names_sketch),
  first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
  last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen));
UPDATE span_name_patterns SET estimated_names = min(hll_count(names_sketch), span_count)
WHERE service_name IN (SELECT service FROM raw_spans);

DROP TABLE temp.etl_span_names;
DROP TABLE temp.etl_span_trained;

-- Bytes and dropped counts (schema version 3; docs/catalog.md "Bytes").
UPDATE spans SET
  bytes = otelcat_add(bytes, (SELECT sum(r.bytes) FROM raw_spans r WHERE r.name = spans.name), 'spans', name),
  dropped_attributes_count = otelcat_add(dropped_attributes_count, (SELECT sum(r.dropped_attributes) FROM raw_spans r WHERE r.name = spans.name), 'spans', name),
  dropped_events_count = otelcat_add(dropped_events_count, (SELECT sum(r.dropped_events) FROM raw_spans r WHERE r.name = spans.name), 'spans', name),
  dropped_links_count = otelcat_add(dropped_links_count, (SELECT sum(r.dropped_links) FROM raw_spans r WHERE r.name = spans.name), 'spans', name)
WHERE name IN (SELECT name FROM raw_spans);
UPDATE span_services SET bytes = otelcat_add(bytes, (SELECT sum(r.bytes) FROM raw_spans r
    WHERE r.name = span_services.span_name AND r.service = span_services.service_name), 'span_services', span_name, service_name)
WHERE (span_name, service_name) IN (SELECT name, service FROM raw_spans);

-- ---------------------------------------------------------------- logs
INSERT INTO logs(severity, total_sample_count, first_seen, last_seen)
SELECT severity, count(*), min(time), max(time) FROM raw_logs WHERE true GROUP BY severity
ON CONFLICT(severity) DO UPDATE SET
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'logs', severity),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

INSERT INTO log_services(severity, service_name, sample_count, first_seen, last_seen)
SELECT severity, service, count(*), min(time), max(time) FROM raw_logs WHERE true GROUP BY severity, service
ON CONFLICT(severity, service_name) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'log_services', severity, service_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

WITH firsts(severity, scope, key, type, value) AS MATERIALIZED (
  SELECT severity, scope, key, type, value FROM (
    SELECT l.severity, a.scope, a.key, a.type, a.value, row_number() OVER (PARTITION BY l.id, a.scope, a.key ORDER BY a.rowid) AS nth
    FROM raw_logs l JOIN raw_log_attrs a ON a.log_id = l.id) WHERE nth = 1),
types(severity, scope, key, value_types) AS MATERIALIZED (
  SELECT severity, scope, key, json_counts_merge(json_group_object(type, n), NULL) FROM (
    SELECT severity, scope, key, type, count(*) AS n FROM firsts GROUP BY severity, scope, key, type)
  GROUP BY severity, scope, key),
tops(severity, scope, key, top_sketch) AS MATERIALIZED (
  SELECT severity, scope, key, topk_sketch(substr(value, 1, 128), 6) FROM firsts GROUP BY severity, scope, key)
INSERT INTO log_key_rows(severity, key_scope, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types,
                     top_sketch)
SELECT severity, scope, key, count(DISTINCT id), samples, hll_sketch(CAST(value AS TEXT)), min(time), max(time), sum(bytes),
       (SELECT value_types FROM types t WHERE t.severity = x.severity AND t.scope = x.scope AND t.key = x.key),
       (SELECT top_sketch FROM tops t WHERE t.severity = x.severity AND t.scope = x.scope AND t.key = x.key) FROM (
  SELECT l.severity, a.scope, a.key, l.id, a.value, l.time, a.bytes,
         json_samples(a.value) OVER (PARTITION BY l.severity, a.scope, a.key ORDER BY l.id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS samples
  FROM raw_logs l JOIN raw_log_attrs a ON a.log_id = l.id) x
WHERE true GROUP BY severity, scope, key
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
  top_values = CASE WHEN top_sketch IS NULL THEN NULL ELSE topk_counts(top_sketch, 10) END
WHERE severity IN (SELECT severity FROM raw_logs);

-- The keys' history, every signal: the same count, bytes and sketch per
-- time bucket of history_bucket_seconds (rolled up below), by the record's
-- time. A resource key counts a resource block's records at once (as its
-- bytes), in the bucket of the block's earliest record: a block of an
-- entity starts at a record whose resource pair has bytes.
WITH src(signal, entity, scope, key, event_name, rec, value, time, bytes) AS NOT MATERIALIZED (
  SELECT 'metrics', p.metric, a.scope, a.key, '', p.id, a.value, p.time, a.bytes
    FROM raw_points p JOIN raw_point_attrs a ON a.point_id = p.id
  UNION ALL
  SELECT 'spans', s.name, a.scope, a.key, '', s.id, a.value, s.time, a.bytes
    FROM raw_spans s JOIN raw_span_attrs a ON a.span_id = s.id
  UNION ALL
  SELECT 'spans', s.name, 'event', a.key, e.name, e.id, a.value, e.time, a.bytes
    FROM raw_span_events e JOIN raw_spans s ON s.id = e.span_id JOIN raw_span_event_attrs a ON a.event_id = e.id
  UNION ALL
  SELECT 'spans', s.name, 'link', a.key, '', l.id, a.value, s.time, a.bytes
    FROM raw_span_links l JOIN raw_spans s ON s.id = l.span_id JOIN raw_span_link_attrs a ON a.link_id = l.id
  UNION ALL
  SELECT 'logs', l.severity, a.scope, a.key, '', l.id, a.value, l.time, a.bytes
    FROM raw_logs l JOIN raw_log_attrs a ON a.log_id = l.id)
INSERT INTO key_history_rows(signal, entity, key_scope, key_name, event_name, resolution, bucket_start, key_count, bytes, hll_sketch)
SELECT signal, entity, scope, key, event_name, 'bucket', bucket, sum(n), sum(b), hll_merge(h) FROM (
  SELECT signal, entity, scope, key, event_name, datetime(unixepoch(time) - unixepoch(time) % coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600), 'unixepoch') AS bucket,
         count(DISTINCT rec) AS n, sum(bytes) AS b, hll_sketch(CAST(value AS TEXT)) AS h
  FROM src WHERE scope <> 'resource' GROUP BY signal, entity, scope, key, event_name, bucket
  UNION ALL
  SELECT signal, entity, scope, key, event_name, datetime(unixepoch(min(time)) - unixepoch(min(time)) % coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600), 'unixepoch'),
         count(DISTINCT rec), sum(bytes), hll_sketch(CAST(value AS TEXT))
  FROM (SELECT *, sum(bytes > 0) OVER (PARTITION BY signal, entity, key ORDER BY rec ROWS UNBOUNDED PRECEDING) AS block
        FROM src WHERE scope = 'resource')
  GROUP BY signal, entity, scope, key, event_name, block)
WHERE true GROUP BY signal, entity, scope, key, event_name, bucket;

-- Per-service keys (schema version 3): the same per (severity, service);
-- no percentage is stored (the view log_service_keys derives it).
WITH firsts(severity, service, scope, key, type, value) AS MATERIALIZED (
  SELECT severity, service, scope, key, type, value FROM (
    SELECT l.severity, l.service, a.scope, a.key, a.type, a.value, row_number() OVER (PARTITION BY l.id, a.scope, a.key ORDER BY a.rowid) AS nth
    FROM raw_logs l JOIN raw_log_attrs a ON a.log_id = l.id) WHERE nth = 1),
types(severity, service, scope, key, value_types) AS MATERIALIZED (
  SELECT severity, service, scope, key, json_counts_merge(json_group_object(type, n), NULL) FROM (
    SELECT severity, service, scope, key, type, count(*) AS n FROM firsts GROUP BY severity, service, scope, key, type)
  GROUP BY severity, service, scope, key),
tops(severity, service, scope, key, top_sketch) AS MATERIALIZED (
  SELECT severity, service, scope, key, topk_sketch(substr(value, 1, 128), 6) FROM firsts GROUP BY severity, service, scope, key)
INSERT INTO log_service_key_rows(severity, service_name, key_scope, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen,
                                 bytes, value_types, top_sketch)
SELECT severity, service, scope, key, count(DISTINCT id), samples, hll_sketch(CAST(value AS TEXT)), min(time), max(time), sum(bytes),
       (SELECT value_types FROM types t WHERE t.severity = x.severity AND t.service = x.service AND t.scope = x.scope AND t.key = x.key),
       (SELECT top_sketch FROM tops t WHERE t.severity = x.severity AND t.service = x.service AND t.scope = x.scope AND t.key = x.key) FROM (
  SELECT l.severity, l.service, a.scope, a.key, l.id, a.value, l.time, a.bytes,
         json_samples(a.value) OVER (PARTITION BY l.severity, l.service, a.scope, a.key ORDER BY l.id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS samples
  FROM raw_logs l JOIN raw_log_attrs a ON a.log_id = l.id) x
WHERE true GROUP BY severity, service, scope, key
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
WHERE severity IN (SELECT severity FROM raw_logs);
-- Bytes, dropped counts, trace context (schema version 3; docs/catalog.md).
UPDATE logs SET
  bytes = otelcat_add(bytes, (SELECT sum(r.bytes) FROM raw_logs r WHERE r.severity = logs.severity), 'logs', severity),
  dropped_attributes_count = otelcat_add(dropped_attributes_count, (SELECT sum(r.dropped_attributes) FROM raw_logs r WHERE r.severity = logs.severity), 'logs', severity),
  trace_id_count = otelcat_add(trace_id_count, (SELECT sum(r.trace_id) FROM raw_logs r WHERE r.severity = logs.severity), 'logs', severity),
  span_id_count = otelcat_add(span_id_count, (SELECT sum(r.span_id) FROM raw_logs r WHERE r.severity = logs.severity), 'logs', severity)
WHERE severity IN (SELECT severity FROM raw_logs);
UPDATE log_services SET
  bytes = otelcat_add(bytes, (SELECT sum(r.bytes) FROM raw_logs r WHERE r.severity = log_services.severity AND r.service = log_services.service_name),
                      'log_services', severity, service_name),
  trace_id_count = otelcat_add(trace_id_count, (SELECT sum(r.trace_id) FROM raw_logs r WHERE r.severity = log_services.severity AND r.service = log_services.service_name),
                      'log_services', severity, service_name),
  span_id_count = otelcat_add(span_id_count, (SELECT sum(r.span_id) FROM raw_logs r WHERE r.severity = log_services.severity AND r.service = log_services.service_name),
                      'log_services', severity, service_name)
WHERE (severity, service_name) IN (SELECT severity, service FROM raw_logs);

-- Templates: train one model per (severity, service) over the bodies in
-- arrival order, then give every line its final template.
CREATE TEMP TABLE etl_trained AS
SELECT id, severity, service, body, time, bytes, 'etl.logs/' || severity || '/' || service AS part,
       drain_template(body, 'etl.logs/' || severity || '/' || service) AS first_template
FROM raw_logs ORDER BY id;

CREATE TEMP TABLE etl_matched AS
SELECT id, severity, service, body, time, bytes, drain_match(body, part) AS template FROM etl_trained ORDER BY id;

-- cluster_id: the id of the model's cluster with that template.
INSERT INTO log_body_template_rows(severity, service_name, cluster_id, template, example, count, first_seen, last_seen, bytes)
SELECT m.severity, m.service, c.cluster_id, m.template,
       (SELECT body FROM etl_matched x WHERE x.severity = m.severity AND x.service = m.service AND x.template = m.template ORDER BY id LIMIT 1),
       count(*), min(m.time), max(m.time), sum(m.bytes)
FROM etl_matched m JOIN drain_clusters c ON c.partition = 'etl.logs/' || m.severity || '/' || m.service AND c.template = m.template
WHERE true GROUP BY m.severity, m.service, m.template
ON CONFLICT(severity, service_name, cluster_id) DO UPDATE SET
  template = excluded.template, count = otelcat_add(count, excluded.count, 'log_body_template_rows', severity, service_name, cluster_id),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_body_template_rows', severity, service_name, cluster_id),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

-- Keys per template: the attribute keys of each template's records.
INSERT INTO log_template_keys(severity, service_name, cluster_id, key_name, key_count, first_seen, last_seen)
SELECT m.severity, m.service, c.cluster_id, a.key, count(DISTINCT m.id), min(m.time), max(m.time)
FROM etl_matched m JOIN drain_clusters c ON c.partition = 'etl.logs/' || m.severity || '/' || m.service AND c.template = m.template
JOIN raw_log_attrs a ON a.log_id = m.id AND a.scope = 'attribute'
WHERE true GROUP BY m.severity, m.service, c.cluster_id, a.key
ON CONFLICT(severity, service_name, cluster_id, key_name) DO UPDATE SET
  key_count = otelcat_add(key_count, excluded.key_count, 'log_template_keys', severity, service_name, cluster_id, key_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

-- Template volume per time bucket (the history section below rolls old
-- buckets up into days): every line counts in its final template's bucket
-- of history_bucket_seconds, by the record's time.
INSERT INTO template_history_rows(severity, service_name, cluster_id, resolution, bucket_start, count, bytes)
SELECT m.severity, m.service, c.cluster_id, 'bucket',
       datetime(unixepoch(m.time) - unixepoch(m.time) % coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600), 'unixepoch'),
       count(*), sum(m.bytes)
FROM etl_matched m JOIN drain_clusters c ON c.partition = 'etl.logs/' || m.severity || '/' || m.service AND c.template = m.template
WHERE true GROUP BY 1, 2, 3, 5
ON CONFLICT(severity, service_name, cluster_id, resolution, bucket_start) DO UPDATE SET
  count = otelcat_add(count, excluded.count, 'template_history_rows', severity, service_name, cluster_id, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'template_history_rows', severity, service_name, cluster_id, bucket_start);

DROP TABLE temp.etl_trained;
DROP TABLE temp.etl_matched;

-- ------------------------------------------------- instrumentation scopes
-- Records per entity, service and scope (schema version 3), their bytes
-- (of points: the Metric message on its first point) and times.
INSERT INTO metric_scopes(metric_name, service_name, scope_name, scope_version, sample_count, bytes, first_seen, last_seen)
SELECT metric, service, scope_name, scope_version, count(*), sum(bytes), min(time), max(time)
FROM raw_points WHERE true GROUP BY metric, service, scope_name, scope_version
ON CONFLICT(metric_name, service_name, scope_name, scope_version) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'metric_scopes', metric_name, service_name, scope_name, scope_version),
  bytes = otelcat_add(bytes, excluded.bytes, 'metric_scopes', metric_name, service_name, scope_name, scope_version),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

INSERT INTO span_scopes(span_name, service_name, scope_name, scope_version, sample_count, bytes, first_seen, last_seen)
SELECT name, service, scope_name, scope_version, count(*), sum(bytes), min(time), max(time)
FROM raw_spans WHERE true GROUP BY name, service, scope_name, scope_version
ON CONFLICT(span_name, service_name, scope_name, scope_version) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'span_scopes', span_name, service_name, scope_name, scope_version),
  bytes = otelcat_add(bytes, excluded.bytes, 'span_scopes', span_name, service_name, scope_name, scope_version),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

INSERT INTO log_scopes(severity, service_name, scope_name, scope_version, sample_count, bytes, first_seen, last_seen)
SELECT severity, service, scope_name, scope_version, count(*), sum(bytes), min(time), max(time)
FROM raw_logs WHERE true GROUP BY severity, service, scope_name, scope_version
ON CONFLICT(severity, service_name, scope_name, scope_version) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'log_scopes', severity, service_name, scope_name, scope_version),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_scopes', severity, service_name, scope_name, scope_version),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen);

-- ---------------------------------------------------------------- log event names
-- Log records with an event name (schema version 3), by that name: they are
-- in the tables above too. Keys are the records' attributes; no percentage
-- is stored (the view log_event_keys derives it).
INSERT INTO log_events(event_name, total_sample_count, first_seen, last_seen, bytes, dropped_attributes_count, trace_id_count, span_id_count)
SELECT event_name, count(*), min(time), max(time), sum(bytes), sum(dropped_attributes), sum(trace_id), sum(span_id)
FROM raw_logs WHERE event_name <> '' GROUP BY event_name
ON CONFLICT(event_name) DO UPDATE SET
  total_sample_count = otelcat_add(total_sample_count, excluded.total_sample_count, 'log_events', event_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_events', event_name),
  dropped_attributes_count = otelcat_add(dropped_attributes_count, excluded.dropped_attributes_count, 'log_events', event_name),
  trace_id_count = otelcat_add(trace_id_count, excluded.trace_id_count, 'log_events', event_name),
  span_id_count = otelcat_add(span_id_count, excluded.span_id_count, 'log_events', event_name);

INSERT INTO log_event_services(event_name, service_name, sample_count, first_seen, last_seen, bytes)
SELECT event_name, service, count(*), min(time), max(time), sum(bytes)
FROM raw_logs WHERE event_name <> '' GROUP BY event_name, service
ON CONFLICT(event_name, service_name) DO UPDATE SET
  sample_count = otelcat_add(sample_count, excluded.sample_count, 'log_event_services', event_name, service_name),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
  bytes = otelcat_add(bytes, excluded.bytes, 'log_event_services', event_name, service_name);

WITH firsts(event_name, key, type, value) AS MATERIALIZED (
  SELECT event_name, key, type, value FROM (
    SELECT l.event_name, a.key, a.type, a.value, row_number() OVER (PARTITION BY l.id, a.key ORDER BY a.rowid) AS nth
    FROM raw_logs l JOIN raw_log_attrs a ON a.log_id = l.id AND a.scope = 'attribute' WHERE l.event_name <> '') WHERE nth = 1),
types(event_name, key, value_types) AS MATERIALIZED (
  SELECT event_name, key, json_counts_merge(json_group_object(type, n), NULL) FROM (
    SELECT event_name, key, type, count(*) AS n FROM firsts GROUP BY event_name, key, type)
  GROUP BY event_name, key),
tops(event_name, key, top_sketch) AS MATERIALIZED (
  SELECT event_name, key, topk_sketch(substr(value, 1, 128), 6) FROM firsts GROUP BY event_name, key)
INSERT INTO log_event_key_rows(event_name, key_name, key_count, value_samples, hll_sketch, first_seen, last_seen, bytes, value_types, top_sketch)
SELECT event_name, key, count(DISTINCT id), samples, hll_sketch(CAST(value AS TEXT)), min(time), max(time), sum(bytes),
       (SELECT value_types FROM types t WHERE t.event_name = x.event_name AND t.key = x.key),
       (SELECT top_sketch FROM tops t WHERE t.event_name = x.event_name AND t.key = x.key) FROM (
  SELECT l.event_name, a.key, l.id, a.value, l.time, a.bytes,
         json_samples(a.value) OVER (PARTITION BY l.event_name, a.key ORDER BY l.id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS samples
  FROM raw_logs l JOIN raw_log_attrs a ON a.log_id = l.id AND a.scope = 'attribute' WHERE l.event_name <> '') x
WHERE true GROUP BY event_name, key
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
WHERE event_name IN (SELECT event_name FROM raw_logs WHERE event_name <> '');

-- ---------------------------------------------------------------- history
-- Records and bytes per entity, and per entity and service, per bucket of
-- history_bucket_seconds (docs/catalog.md "History"), then the roll-up and
-- retention a commit of otlp_ingest applies (the keys' and templates'
-- history, key_history_rows and template_history_rows, are built with their
-- key rows and templates above). Unlike otlp_ingest, times are not clamped
-- to [1970, now + 1 day] and an aggregate's buckets are not bounded: clean
-- the raw rows' times first if a sender's clock cannot be trusted.
INSERT INTO entity_history(signal, entity, resolution, bucket_start, records, bytes)
SELECT 'metrics', metric, 'bucket', datetime(unixepoch(time) - unixepoch(time) % coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600), 'unixepoch'), count(*), sum(bytes) FROM raw_points WHERE true GROUP BY 2, 4
ON CONFLICT(signal, entity, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'entity_history', signal, entity, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'entity_history', signal, entity, bucket_start);
INSERT INTO service_history(signal, entity, service_name, resolution, bucket_start, records, bytes)
SELECT 'metrics', metric, service, 'bucket', datetime(unixepoch(time) - unixepoch(time) % coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600), 'unixepoch'), count(*), sum(bytes) FROM raw_points WHERE true GROUP BY 2, 3, 5
ON CONFLICT(signal, entity, service_name, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'service_history', signal, entity, service_name, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'service_history', signal, entity, service_name, bucket_start);
INSERT INTO entity_history(signal, entity, resolution, bucket_start, records, bytes)
SELECT 'spans', name, 'bucket', datetime(unixepoch(time) - unixepoch(time) % coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600), 'unixepoch'), count(*), sum(bytes) FROM raw_spans WHERE true GROUP BY 2, 4
ON CONFLICT(signal, entity, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'entity_history', signal, entity, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'entity_history', signal, entity, bucket_start);
INSERT INTO service_history(signal, entity, service_name, resolution, bucket_start, records, bytes)
SELECT 'spans', name, service, 'bucket', datetime(unixepoch(time) - unixepoch(time) % coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600), 'unixepoch'), count(*), sum(bytes) FROM raw_spans WHERE true GROUP BY 2, 3, 5
ON CONFLICT(signal, entity, service_name, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'service_history', signal, entity, service_name, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'service_history', signal, entity, service_name, bucket_start);
INSERT INTO entity_history(signal, entity, resolution, bucket_start, records, bytes)
SELECT 'logs', severity, 'bucket', datetime(unixepoch(time) - unixepoch(time) % coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600), 'unixepoch'), count(*), sum(bytes) FROM raw_logs WHERE true GROUP BY 2, 4
ON CONFLICT(signal, entity, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'entity_history', signal, entity, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'entity_history', signal, entity, bucket_start);
INSERT INTO service_history(signal, entity, service_name, resolution, bucket_start, records, bytes)
SELECT 'logs', severity, service, 'bucket', datetime(unixepoch(time) - unixepoch(time) % coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta WHERE key = 'history_bucket_seconds'), 3600), 'unixepoch'), count(*), sum(bytes) FROM raw_logs WHERE true GROUP BY 2, 3, 5
ON CONFLICT(signal, entity, service_name, resolution, bucket_start) DO UPDATE SET
  records = otelcat_add(records, excluded.records, 'service_history', signal, entity, service_name, bucket_start),
  bytes = otelcat_add(bytes, excluded.bytes, 'service_history', signal, entity, service_name, bucket_start);
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
