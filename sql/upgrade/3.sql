-- Upgrade from schema version 2 (otelcat 0.2.0) to 3.
-- New tables: the CREATE TABLE of sql/schema.sql as it is in version 3.
-- New columns of existing tables: ALTER TABLE ... ADD COLUMN, and the same
-- column at the END of the table's CREATE TABLE in sql/schema.sql (so a new
-- catalog and an upgraded one have the same columns in the same order).
-- Values that cannot be recomputed from an older catalog stay NULL (or the
-- column's default) and docs/catalog.md "Upgrades" says so.

-- No impossible estimates (issue 15): an estimate never exceeds its count.
-- Older versions stored hll_count as it came; the flush now clamps it.
-- First: the Prometheus series below start from the clamped series.
UPDATE main.metric_keys SET estimated_cardinality = key_count WHERE estimated_cardinality > key_count;
UPDATE main.span_keys SET estimated_cardinality = key_count WHERE estimated_cardinality > key_count;
UPDATE main.log_keys SET estimated_cardinality = key_count WHERE estimated_cardinality > key_count;
UPDATE main.metrics SET estimated_active_series = total_sample_count WHERE estimated_active_series > total_sample_count;
UPDATE main.span_name_patterns SET estimated_names = span_count WHERE estimated_names > span_count;
-- Log templates: percentages derived when read (commit cost that follows
-- the batch, not the catalog). The table log_body_templates becomes
-- log_body_template_rows without its stored percentage; sql/views.sql
-- creates the view log_body_templates in its place (views are made again
-- after the upgrade), with the same columns and the same values. (Renamed
-- and altered, not copied: the upgrade runs inside an INSERT into
-- otlp_ingest, where SQLite refuses DROP TABLE. The views that read the
-- column go first; they are all made again. The rename does not check or
-- rewrite the file's other views and triggers (legacy_alter_table), so a
-- view of the user's that reads log_body_templates reads the new view, made
-- here before the column goes: DROP COLUMN checks every view and trigger of
-- the file, and names one that cannot be read. Every name is main's: an
-- unqualified DROP VIEW would drop a view of an attached database that main
-- lacks, say a read-only source of otelcat merge.)
DROP VIEW IF EXISTS main.top_log_templates;
DROP VIEW IF EXISTS main.log_metadata;
DROP VIEW IF EXISTS main.template_keys;
PRAGMA legacy_alter_table = ON;
ALTER TABLE main.log_body_templates RENAME TO log_body_template_rows;
PRAGMA legacy_alter_table = OFF;
CREATE VIEW main.log_body_templates AS
SELECT t.severity, t.service_name, t.cluster_id, t.template, t.example, t.count,
       100.0 * t.count / max(1, (SELECT s.sample_count FROM log_services s
                                 WHERE s.severity = t.severity AND s.service_name = t.service_name)) AS percentage,
       t.first_seen, t.last_seen
FROM log_body_template_rows t;
ALTER TABLE main.log_body_template_rows DROP COLUMN percentage;
-- Metric shape (docs/catalog.md "Metric shape"): unknown for what was
-- ingested before the upgrade (NULL); gauges, sums and exponential
-- histograms make one Prometheus series per series whatever their shape.
ALTER TABLE main.metrics ADD COLUMN temporality TEXT;
ALTER TABLE main.metrics ADD COLUMN is_monotonic INTEGER;
ALTER TABLE main.metrics ADD COLUMN histogram_buckets INTEGER;
ALTER TABLE main.metrics ADD COLUMN exp_histogram_buckets INTEGER;
ALTER TABLE main.metrics ADD COLUMN exp_histogram_min_scale INTEGER;
ALTER TABLE main.metrics ADD COLUMN exp_histogram_max_scale INTEGER;
ALTER TABLE main.metrics ADD COLUMN summary_quantiles INTEGER;
ALTER TABLE main.metrics ADD COLUMN estimated_prometheus_series INTEGER;
UPDATE main.metrics SET estimated_prometheus_series = estimated_active_series
WHERE type IN ('Gauge', 'Sum', 'ExponentialHistogram');
ALTER TABLE main.metric_services ADD COLUMN type TEXT;
ALTER TABLE main.metric_services ADD COLUMN temporality TEXT;
ALTER TABLE main.metric_services ADD COLUMN is_monotonic INTEGER;
-- Span status (docs/catalog.md "Span status"): counted since the upgrade.
ALTER TABLE main.spans ADD COLUMN status_unset_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.spans ADD COLUMN status_ok_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.spans ADD COLUMN status_error_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.span_services ADD COLUMN status_unset_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.span_services ADD COLUMN status_ok_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.span_services ADD COLUMN status_error_count INTEGER NOT NULL DEFAULT 0;

-- Bytes and value types per key (issue 15): counted from the upgrade on.
ALTER TABLE main.metric_keys ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.metric_keys ADD COLUMN value_types TEXT NOT NULL DEFAULT '{}';
ALTER TABLE main.span_keys ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.span_keys ADD COLUMN value_types TEXT NOT NULL DEFAULT '{}';
ALTER TABLE main.log_keys ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.log_keys ADD COLUMN value_types TEXT NOT NULL DEFAULT '{}';

-- Top values per key (issue 15): from the upgrade on (NULL before).
ALTER TABLE main.metric_keys ADD COLUMN top_sketch BLOB;
ALTER TABLE main.metric_keys ADD COLUMN top_values TEXT;
ALTER TABLE main.span_keys ADD COLUMN top_sketch BLOB;
ALTER TABLE main.span_keys ADD COLUMN top_values TEXT;
ALTER TABLE main.log_keys ADD COLUMN top_sketch BLOB;
ALTER TABLE main.log_keys ADD COLUMN top_values TEXT;

-- Entity keys: percentages derived when read (commit cost that follows the
-- batch, not the catalog), as for log templates above. The tables
-- metric_keys, span_keys and log_keys become metric_key_rows, span_key_rows
-- and log_key_rows without key_percentage; sql/views.sql creates the views metric_keys,
-- span_keys and log_keys in their place (made again after the upgrade),
-- with the same columns and the same values. Made here before the column
-- goes, so that the file's views that read these names (older otelcat
-- views, a user's) can be read when DROP COLUMN checks them. The indexes
-- follow the tables under their names.
PRAGMA legacy_alter_table = ON;
ALTER TABLE main.metric_keys RENAME TO metric_key_rows;
ALTER TABLE main.span_keys RENAME TO span_key_rows;
ALTER TABLE main.log_keys RENAME TO log_key_rows;
PRAGMA legacy_alter_table = OFF;
CREATE VIEW main.metric_keys AS
SELECT metric_name, key_scope, key_name, key_count,
       100.0 * metric_key_rows.key_count / max(1, (SELECT m.total_sample_count FROM metrics m WHERE m.name = metric_key_rows.metric_name))
         AS key_percentage,
       estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen,
       bytes, value_types, top_sketch, top_values
FROM metric_key_rows;
CREATE VIEW main.span_keys AS
SELECT span_name, key_scope, key_name, event_name, key_count,
       100.0 * key_count / max(1, CASE key_scope
         WHEN 'event' THEN (SELECT e.event_count FROM span_events e WHERE e.span_name = span_key_rows.span_name AND e.event_name = span_key_rows.event_name)
         WHEN 'link' THEN (SELECT p.link_count FROM spans p WHERE p.name = span_key_rows.span_name)
         ELSE (SELECT p.total_sample_count FROM spans p WHERE p.name = span_key_rows.span_name) END) AS key_percentage,
       estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen,
       bytes, value_types, top_sketch, top_values
FROM span_key_rows;
CREATE VIEW main.log_keys AS
SELECT severity, key_scope, key_name, key_count,
       100.0 * log_key_rows.key_count / max(1, (SELECT l.total_sample_count FROM logs l WHERE l.severity = log_key_rows.severity))
         AS key_percentage,
       estimated_cardinality, value_samples, hll_sketch, first_seen, last_seen,
       bytes, value_types, top_sketch, top_values
FROM log_key_rows;
ALTER TABLE main.metric_key_rows DROP COLUMN key_percentage;
ALTER TABLE main.span_key_rows DROP COLUMN key_percentage;
ALTER TABLE main.log_key_rows DROP COLUMN key_percentage;
-- Keys by when they were first seen (the view new_keys).
CREATE INDEX main.idx_metric_keys_first_seen ON metric_key_rows(first_seen);
CREATE INDEX main.idx_span_keys_first_seen ON span_key_rows(first_seen);
CREATE INDEX main.idx_log_keys_first_seen ON log_key_rows(first_seen);
-- Rare keys (sql/schema.sql, idx_metrics_records): key rows by their
-- records, and the most records of an entity in one step.
CREATE INDEX main.idx_metric_keys_count ON metric_key_rows(key_count);
CREATE INDEX main.idx_span_keys_count ON span_key_rows(key_count);
CREATE INDEX main.idx_log_keys_count ON log_key_rows(key_count);
CREATE INDEX main.idx_metrics_records ON metrics(total_sample_count);
CREATE INDEX main.idx_spans_records ON spans(total_sample_count);
CREATE INDEX main.idx_spans_links ON spans(link_count);
CREATE INDEX main.idx_span_events_count ON span_events(event_count);
-- Dashboard rankings over the key rows (sql/schema.sql, idx_metric_keys_top).
CREATE INDEX main.idx_metric_keys_top ON metric_key_rows(key_name, key_count DESC, metric_name) WHERE top_values IS NOT NULL;
CREATE INDEX main.idx_span_keys_top ON span_key_rows(key_name, key_count DESC, span_name) WHERE top_values IS NOT NULL;
CREATE INDEX main.idx_log_keys_top ON log_key_rows(key_name, key_count DESC, severity) WHERE top_values IS NOT NULL;
CREATE INDEX main.idx_metric_keys_cardinality_names
  ON metric_key_rows(estimated_cardinality DESC, metric_name, key_scope, key_name);
-- Key rows by key name, then entity (sql/schema.sql, its last block).
CREATE INDEX main.idx_metric_keys_key_entity ON metric_key_rows(key_name, metric_name, key_scope);
CREATE INDEX main.idx_span_keys_key_entity ON span_key_rows(key_name, span_name, key_scope, event_name);
CREATE INDEX main.idx_log_keys_key_entity ON log_key_rows(key_name, severity, key_scope);

-- Per-service keys (docs/catalog.md "Per-service keys"): counted from the
-- upgrade on; the key percentages of an upgraded catalog's services are of
-- all their records, those before the upgrade too.
ALTER TABLE main.span_services ADD COLUMN link_count INTEGER NOT NULL DEFAULT 0;
CREATE TABLE main.metric_service_key_rows (
  metric_name            TEXT NOT NULL,
  service_name           TEXT NOT NULL,
  key_scope              TEXT NOT NULL,          -- label | resource
  key_name               TEXT NOT NULL,
  key_count              INTEGER NOT NULL DEFAULT 0,
  estimated_cardinality  INTEGER NOT NULL DEFAULT 0,
  value_samples          TEXT NOT NULL DEFAULT '[]',
  hll_sketch             BLOB,
  first_seen             TEXT,
  last_seen              TEXT,
  bytes                  INTEGER NOT NULL DEFAULT 0,
  value_types            TEXT NOT NULL DEFAULT '{}',
  top_sketch             BLOB,
  PRIMARY KEY (metric_name, service_name, key_scope, key_name)
);
CREATE INDEX main.idx_metric_service_key_rows_service ON metric_service_key_rows(service_name);
CREATE INDEX main.idx_metric_service_key_rows_key ON metric_service_key_rows(key_name, metric_name);

CREATE TABLE main.span_service_key_rows (
  span_name              TEXT NOT NULL,
  service_name           TEXT NOT NULL,
  key_scope              TEXT NOT NULL,          -- attribute | resource | event | link
  key_name               TEXT NOT NULL,
  event_name             TEXT NOT NULL DEFAULT '',
  key_count              INTEGER NOT NULL DEFAULT 0,
  estimated_cardinality  INTEGER NOT NULL DEFAULT 0,
  value_samples          TEXT NOT NULL DEFAULT '[]',
  hll_sketch             BLOB,
  first_seen             TEXT,
  last_seen              TEXT,
  bytes                  INTEGER NOT NULL DEFAULT 0,
  value_types            TEXT NOT NULL DEFAULT '{}',
  top_sketch             BLOB,
  PRIMARY KEY (span_name, service_name, key_scope, key_name, event_name)
);
CREATE INDEX main.idx_span_service_key_rows_service ON span_service_key_rows(service_name);
CREATE INDEX main.idx_span_service_key_rows_key ON span_service_key_rows(key_name, span_name);

-- Events of each name on one service's spans (the denominator of its
-- event-scope keys).
CREATE TABLE main.span_service_events (
  span_name     TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  event_name    TEXT NOT NULL,
  event_count   INTEGER NOT NULL DEFAULT 0,
  first_seen    TEXT,
  last_seen     TEXT,
  PRIMARY KEY (span_name, service_name, event_name)
) WITHOUT ROWID;

CREATE TABLE main.log_service_key_rows (
  severity               TEXT NOT NULL,
  service_name           TEXT NOT NULL,
  key_scope              TEXT NOT NULL,          -- attribute | resource
  key_name               TEXT NOT NULL,
  key_count              INTEGER NOT NULL DEFAULT 0,
  estimated_cardinality  INTEGER NOT NULL DEFAULT 0,
  value_samples          TEXT NOT NULL DEFAULT '[]',
  hll_sketch             BLOB,
  first_seen             TEXT,
  last_seen              TEXT,
  bytes                  INTEGER NOT NULL DEFAULT 0,
  value_types            TEXT NOT NULL DEFAULT '{}',
  top_sketch             BLOB,
  PRIMARY KEY (severity, service_name, key_scope, key_name)
);
CREATE INDEX main.idx_log_service_key_rows_service ON log_service_key_rows(service_name);
CREATE INDEX main.idx_log_service_key_rows_key ON log_service_key_rows(key_name, severity);
-- Bytes of records, dropped counts, logs' trace context (issue 15; docs/
-- catalog.md "Bytes", "Dropped counts", "Trace context"): counted from the
-- upgrade on (0 before).
ALTER TABLE main.metrics ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.metric_services ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.spans ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.spans ADD COLUMN dropped_attributes_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.spans ADD COLUMN dropped_events_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.spans ADD COLUMN dropped_links_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.span_services ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.logs ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.logs ADD COLUMN dropped_attributes_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.logs ADD COLUMN trace_id_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.logs ADD COLUMN span_id_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.log_services ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.log_services ADD COLUMN trace_id_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.log_services ADD COLUMN span_id_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE main.log_body_template_rows ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;

-- Instrumentation scopes (docs/catalog.md "Instrumentation scopes"):
-- counted from the upgrade on (the tables start empty).
CREATE TABLE main.metric_scopes (
  metric_name    TEXT NOT NULL,
  service_name   TEXT NOT NULL,
  scope_name     TEXT NOT NULL,
  scope_version  TEXT NOT NULL,
  sample_count   INTEGER NOT NULL DEFAULT 0,
  bytes          INTEGER NOT NULL DEFAULT 0,
  first_seen     TEXT,
  last_seen      TEXT,
  PRIMARY KEY (metric_name, service_name, scope_name, scope_version)
) WITHOUT ROWID;
CREATE INDEX main.idx_metric_scopes_scope ON metric_scopes(scope_name, scope_version);
CREATE INDEX main.idx_metric_scopes_service ON metric_scopes(service_name, scope_name, scope_version);

CREATE TABLE main.span_scopes (
  span_name      TEXT NOT NULL,
  service_name   TEXT NOT NULL,
  scope_name     TEXT NOT NULL,
  scope_version  TEXT NOT NULL,
  sample_count   INTEGER NOT NULL DEFAULT 0,
  bytes          INTEGER NOT NULL DEFAULT 0,
  first_seen     TEXT,
  last_seen      TEXT,
  PRIMARY KEY (span_name, service_name, scope_name, scope_version)
) WITHOUT ROWID;
CREATE INDEX main.idx_span_scopes_scope ON span_scopes(scope_name, scope_version);
CREATE INDEX main.idx_span_scopes_service ON span_scopes(service_name, scope_name, scope_version);

CREATE TABLE main.log_scopes (
  severity       TEXT NOT NULL,
  service_name   TEXT NOT NULL,
  scope_name     TEXT NOT NULL,
  scope_version  TEXT NOT NULL,
  sample_count   INTEGER NOT NULL DEFAULT 0,
  bytes          INTEGER NOT NULL DEFAULT 0,
  first_seen     TEXT,
  last_seen      TEXT,
  PRIMARY KEY (severity, service_name, scope_name, scope_version)
) WITHOUT ROWID;
CREATE INDEX main.idx_log_scopes_scope ON log_scopes(scope_name, scope_version);
CREATE INDEX main.idx_log_scopes_service ON log_scopes(service_name, scope_name, scope_version);

-- Log event names (docs/catalog.md "Log event names"): counted from the
-- upgrade on (an upgraded catalog's event tables start empty).
CREATE TABLE main.log_events (
  event_name               TEXT PRIMARY KEY,
  total_sample_count       INTEGER NOT NULL DEFAULT 0,
  first_seen               TEXT,
  last_seen                TEXT,
  bytes                    INTEGER NOT NULL DEFAULT 0,  -- of the LogRecord messages in OTLP protobuf
  dropped_attributes_count INTEGER NOT NULL DEFAULT 0,  -- sum of what the records say they dropped
  trace_id_count           INTEGER NOT NULL DEFAULT 0,  -- records with a trace id
  span_id_count            INTEGER NOT NULL DEFAULT 0   -- records with a span id
) WITHOUT ROWID;

CREATE TABLE main.log_event_services (
  event_name    TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  sample_count  INTEGER NOT NULL DEFAULT 0,
  first_seen    TEXT,
  last_seen     TEXT,
  bytes         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (event_name, service_name)
) WITHOUT ROWID;
CREATE INDEX main.idx_log_event_services_service ON log_event_services(service_name, event_name, sample_count);

CREATE TABLE main.log_event_key_rows (
  event_name             TEXT NOT NULL,
  key_name               TEXT NOT NULL,          -- an attribute key of the records
  key_count              INTEGER NOT NULL DEFAULT 0,
  estimated_cardinality  INTEGER NOT NULL DEFAULT 0,
  value_samples          TEXT NOT NULL DEFAULT '[]',
  hll_sketch             BLOB,
  first_seen             TEXT,
  last_seen              TEXT,
  bytes                  INTEGER NOT NULL DEFAULT 0,
  value_types            TEXT NOT NULL DEFAULT '{}',
  top_sketch             BLOB,
  PRIMARY KEY (event_name, key_name)
);
CREATE INDEX main.idx_log_event_key_rows_key ON log_event_key_rows(key_name, event_name);

-- Key-name patterns: an upgraded catalog starts with none (names stored
-- before the upgrade keep their rows).
-- Key names past an entity's bound (the setting key_name_bound of
-- otelcat_meta, default 1000 distinct names per entity and key scope in a
-- transaction; docs/catalog.md "Key-name patterns"), folded into patterns:
-- user.1.name, user.2.name, ... count in 'user.<num>.name'. The entity's
-- own counts (total_sample_count, ...) stay exact.
CREATE TABLE main.key_name_patterns (
  entity_kind      TEXT NOT NULL,              -- metric | span | log | log_event
  entity_name      TEXT NOT NULL,              -- metric name, span name, severity, event name
  key_scope        TEXT NOT NULL,              -- the key table's scope (label | attribute | resource | event | link); 'attribute' for log events
  event_name       TEXT NOT NULL DEFAULT '',   -- span events ('' outside the event scope)
  pattern          TEXT NOT NULL,
  key_count        INTEGER NOT NULL DEFAULT 0, -- records carrying names of the pattern
  estimated_names  INTEGER NOT NULL DEFAULT 0, -- distinct names, hll_count(names_sketch)
  names_sketch     BLOB,
  sample_names     TEXT NOT NULL DEFAULT '[]', -- the first distinct names (up to 10)
  first_seen       TEXT,
  last_seen        TEXT,
  bytes            INTEGER NOT NULL DEFAULT 0, -- the names' pairs in OTLP protobuf
  PRIMARY KEY (entity_kind, entity_name, key_scope, event_name, pattern)
) WITHOUT ROWID;
CREATE INDEX main.idx_key_name_patterns_names ON key_name_patterns(estimated_names DESC);

-- History (docs/catalog.md "History"): new tables; an upgraded catalog has
-- history from the upgrade on.
CREATE TABLE IF NOT EXISTS entity_history (
  signal        TEXT NOT NULL,                 -- metrics | spans | logs (as key_cardinality)
  entity        TEXT NOT NULL,                 -- metric name | span name | severity
  resolution    TEXT NOT NULL,                 -- bucket | day
  bucket_start  TEXT NOT NULL,
  records       INTEGER NOT NULL DEFAULT 0,
  bytes         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (signal, entity, resolution, bucket_start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_entity_history_bucket ON entity_history(resolution, bucket_start);

CREATE TABLE IF NOT EXISTS service_history (
  signal        TEXT NOT NULL,
  entity        TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  resolution    TEXT NOT NULL,
  bucket_start  TEXT NOT NULL,
  records       INTEGER NOT NULL DEFAULT 0,
  bytes         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (signal, entity, service_name, resolution, bucket_start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_service_history_bucket ON service_history(resolution, bucket_start);
CREATE INDEX IF NOT EXISTS idx_service_history_service ON service_history(service_name, resolution, bucket_start);

-- A key's history, keyed compactly: key_history_keys names each key once
-- (key_id); key_history_buckets holds its rows, resolution 0 (bucket) or 1
-- (day) and bucket_start in unix seconds (a rowid table, its primary key an
-- index: WITHOUT ROWID would copy the sketches into interior and overflow
-- pages). The view
-- key_history_rows (sql/views.sql) shows them as the other history tables
-- do (the key's texts, 'bucket' | 'day', 'YYYY-MM-DD HH:MM:SS') and takes
-- INSERTs (which add to a bucket's row) and DELETEs; the view key_history
-- adds estimated_cardinality.
CREATE TABLE IF NOT EXISTS key_history_keys (
  key_id        INTEGER PRIMARY KEY,
  signal        TEXT NOT NULL,
  entity        TEXT NOT NULL,
  key_scope     TEXT NOT NULL,                 -- as in metric_keys / span_keys / log_keys
  key_name      TEXT NOT NULL,
  event_name    TEXT NOT NULL DEFAULT '',      -- span event keys: the event
  UNIQUE (signal, entity, key_scope, key_name, event_name)
);

CREATE TABLE IF NOT EXISTS key_history_buckets (
  key_id        INTEGER NOT NULL,              -- key_history_keys
  resolution    INTEGER NOT NULL,              -- 0: bucket | 1: day
  bucket_start  INTEGER NOT NULL,              -- unix seconds
  key_count     INTEGER NOT NULL DEFAULT 0,
  bytes         INTEGER NOT NULL DEFAULT 0,
  hll_sketch    BLOB,                          -- the bucket's values (lg_k as the key rows': hll_merge is exact)
  PRIMARY KEY (key_id, resolution, bucket_start)
);
CREATE INDEX IF NOT EXISTS idx_key_history_buckets_bucket ON key_history_buckets(resolution, bucket_start);

-- Log template lines per bucket (the view template_history adds the template text).
CREATE TABLE IF NOT EXISTS template_history_rows (
  severity      TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  cluster_id    INTEGER NOT NULL,
  resolution    TEXT NOT NULL,
  bucket_start  TEXT NOT NULL,
  count         INTEGER NOT NULL DEFAULT 0,
  bytes         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (severity, service_name, cluster_id, resolution, bucket_start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_template_history_rows_bucket ON template_history_rows(resolution, bucket_start);

-- Changing the bucket width would mix widths: refused while history rows
-- exist (delete them first: docs/catalog.md "History").
CREATE TRIGGER IF NOT EXISTS otelcat_meta_history_bucket_insert
BEFORE INSERT ON otelcat_meta WHEN new.key = 'history_bucket_seconds'
BEGIN
  SELECT RAISE(ABORT, 'otelcat_meta: history_bucket_seconds must be a whole number of seconds from 60 to 86400 that divides 86400 (a day)')
  WHERE NOT (CAST(new.value AS INTEGER) = new.value AND CAST(new.value AS INTEGER) BETWEEN 60 AND 86400
             AND 86400 % CAST(new.value AS INTEGER) = 0);
  SELECT RAISE(ABORT, 'otelcat_meta: history_bucket_seconds cannot change while history rows exist (they were counted in buckets of the old width): DELETE FROM entity_history; DELETE FROM service_history; DELETE FROM key_history_rows; DELETE FROM template_history_rows; first, or keep the width')
  WHERE EXISTS (SELECT 1 FROM entity_history)
    AND CAST(new.value AS INTEGER) IS NOT CAST(coalesce((SELECT value FROM otelcat_meta WHERE key = 'history_bucket_seconds'), '3600') AS INTEGER);
END;
CREATE TRIGGER IF NOT EXISTS otelcat_meta_history_bucket_update
BEFORE UPDATE ON otelcat_meta WHEN new.key = 'history_bucket_seconds' OR old.key = 'history_bucket_seconds'
BEGIN
  SELECT RAISE(ABORT, 'otelcat_meta: history_bucket_seconds must be a whole number of seconds from 60 to 86400 that divides 86400 (a day)')
  WHERE new.key = 'history_bucket_seconds'
    AND NOT (CAST(new.value AS INTEGER) = new.value AND CAST(new.value AS INTEGER) BETWEEN 60 AND 86400
             AND 86400 % CAST(new.value AS INTEGER) = 0);
  SELECT RAISE(ABORT, 'otelcat_meta: history_bucket_seconds cannot change while history rows exist (they were counted in buckets of the old width): DELETE FROM entity_history; DELETE FROM service_history; DELETE FROM key_history_rows; DELETE FROM template_history_rows; first, or keep the width')
  WHERE EXISTS (SELECT 1 FROM entity_history)
    AND (new.key IS NOT old.key OR CAST(new.value AS INTEGER) IS NOT CAST(old.value AS INTEGER));
END;
CREATE TRIGGER IF NOT EXISTS otelcat_meta_history_bucket_delete
BEFORE DELETE ON otelcat_meta WHEN old.key = 'history_bucket_seconds'
BEGIN
  SELECT RAISE(ABORT, 'otelcat_meta: history_bucket_seconds cannot change while history rows exist (they were counted in buckets of the old width): DELETE FROM entity_history; DELETE FROM service_history; DELETE FROM key_history_rows; DELETE FROM template_history_rows; first, or keep the width')
  WHERE EXISTS (SELECT 1 FROM entity_history) AND CAST(old.value AS INTEGER) IS NOT 3600;
END;

-- Key totals (issue 16): the tables of sql/schema.sql; otlp_ingest builds their rows from
-- the key rows after the upgrade (sql/totals.sql, run by src/ingest/schema.rs).

-- Key totals (issue 16, schema version 3): per key name, signal and scope,
-- what its key rows (metric_key_rows, span_key_rows, log_key_rows) add up
-- to, kept at every commit by otlp_ingest from the key rows it writes
-- (one UPSERT per distinct key of the batch), so that the whole-catalog
-- views attribute_catalog, key_bytes and key_mixed_types read these rows
-- instead of every key row. A writer that changes key rows otherwise runs
-- SELECT otelcat_refresh_totals() at its end (sql/totals.sql;
-- docs/catalog.md "Key totals").
CREATE TABLE IF NOT EXISTS key_totals (
  key_name     TEXT NOT NULL,
  signal       TEXT NOT NULL,                  -- metrics | spans | logs
  key_scope    TEXT NOT NULL,
  entities     INTEGER NOT NULL DEFAULT 0,     -- distinct entities (metrics, span names, severities) with the key in the scope
  key_count    INTEGER NOT NULL DEFAULT 0,     -- sum of the rows' key_count
  bytes        INTEGER NOT NULL DEFAULT 0,     -- sum of the rows' bytes
  value_types  TEXT NOT NULL DEFAULT '{}',     -- records per value type, added up (json_counts_merge)
  hll_sketch   BLOB,                           -- union of the rows' sketches (hll_merge)
  first_seen   TEXT,
  last_seen    TEXT,
  PRIMARY KEY (key_name, signal, key_scope)
);
-- Per key name and signal: the distinct entities with the key in any scope
-- (span events: any event name), for attribute_catalog.
CREATE TABLE IF NOT EXISTS key_name_totals (
  key_name     TEXT NOT NULL,
  signal       TEXT NOT NULL,
  entities     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (key_name, signal)
) WITHOUT ROWID;

-- Service totals (issue 16, schema version 3): per service and signal, what
-- its *_services rows (metric_services, span_services, log_services) add up
-- to, kept at every commit by otlp_ingest from the service rows it writes
-- (one UPSERT per service and signal of the batch), so that service_overview
-- and instance_like_services read these rows instead of every service row.
-- A writer that changes *_services rows otherwise runs
-- SELECT otelcat_refresh_totals() at its end (sql/totals.sql;
-- docs/catalog.md "Service totals").
CREATE TABLE IF NOT EXISTS service_totals (
  service_name TEXT NOT NULL,
  signal       TEXT NOT NULL,                  -- metrics | spans | logs
  entities     INTEGER NOT NULL DEFAULT 0,     -- the service's rows of the signal: metrics, span names, severities
  records      INTEGER NOT NULL DEFAULT 0,     -- sum of the rows' sample_count (data points, spans, log records)
  bytes        INTEGER NOT NULL DEFAULT 0,     -- sum of the rows' bytes
  span_errors  INTEGER NOT NULL DEFAULT 0,     -- spans: sum of the rows' status_error_count; 0 otherwise
  first_seen   TEXT,
  last_seen    TEXT,
  PRIMARY KEY (service_name, signal)
) WITHOUT ROWID;
