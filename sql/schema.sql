-- otelcat catalog schema (schema version 3; see docs/catalog.md "Upgrades").
--
-- Created on first use by otlp_ingest (and by examples/etl.sql). Every
-- statement is idempotent. Columns marked "extra" are additions to the
-- catalog's original schema design. Times (first_seen / last_seen) are UTC text in
-- SQLite's datetime() format, 'YYYY-MM-DD HH:MM:SS', taken from the records'
-- timestamps (the ingest time when a record has none), so
--   WHERE first_seen > datetime('now', '-1 day')
-- finds what appeared since yesterday.

CREATE TABLE IF NOT EXISTS otelcat_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO otelcat_meta(key, value) VALUES ('schema_version', '3');

-- Tables whose rows carry a sketch or an example (hundreds of bytes to a few
-- KiB) are rowid tables; the small ones are WITHOUT ROWID. SQLite's advice:
-- WITHOUT ROWID pays off only for small rows (rewriting a 2 KiB row in a
-- WITHOUT ROWID b-tree measured 20 % slower commits here).

-- Metrics: one sample = one data point.
CREATE TABLE IF NOT EXISTS metrics (
  name                     TEXT PRIMARY KEY,
  type                     TEXT NOT NULL,          -- Gauge | Sum | Histogram | ExponentialHistogram | Summary
  unit                     TEXT NOT NULL DEFAULT '',
  description              TEXT NOT NULL DEFAULT '',
  total_sample_count       INTEGER NOT NULL DEFAULT 0,
  estimated_active_series  INTEGER NOT NULL DEFAULT 0,  -- extra: hll_count(series_sketch)
  series_sketch            BLOB,                        -- extra: HLL over each point's sorted resource + point attribute set
  first_seen               TEXT,                        -- extra
  last_seen                TEXT,                        -- extra
  -- Metric shape (extra, schema version 3; docs/catalog.md "Metric shape").
  temporality              TEXT,                        -- Unspecified | Delta | Cumulative (the last seen)
  is_monotonic             INTEGER,                     -- Sum.isMonotonic (the last seen), 0 for other types
  histogram_buckets        INTEGER,                     -- most buckets of a Histogram point: explicit bounds + 1 (+Inf)
  exp_histogram_buckets    INTEGER,                     -- most positive + negative buckets of an ExponentialHistogram point
  exp_histogram_min_scale  INTEGER,
  exp_histogram_max_scale  INTEGER,
  summary_quantiles        INTEGER,                     -- most quantile values of a Summary point
  estimated_prometheus_series INTEGER,                  -- estimated_active_series x series per series in Prometheus
  -- Bytes (extra, schema version 3; docs/catalog.md "Bytes"): of the Metric messages in OTLP protobuf.
  bytes                    INTEGER NOT NULL DEFAULT 0
);

-- metric_prometheus_series ranks by it (sql/views.sql).
CREATE INDEX IF NOT EXISTS idx_metrics_prometheus_series ON metrics(estimated_prometheus_series DESC);
-- Metrics by active series (the report, the cookbook, the dashboard's
-- metrics_by_active_series and metric_document) read their top N from it.
CREATE INDEX IF NOT EXISTS idx_metrics_active_series ON metrics(estimated_active_series DESC, name);
-- Rare keys (the dashboard's rare_keys, the cookbook): a key on less than
-- p % of its entity's records has a key_count below p % of the most records
-- an entity has; these give that most in one step (max()), and
-- idx_*_keys_count the key rows below it.
CREATE INDEX IF NOT EXISTS idx_metrics_records ON metrics(total_sample_count);

CREATE TABLE IF NOT EXISTS metric_services (
  metric_name   TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  sample_count  INTEGER NOT NULL DEFAULT 0,
  first_seen    TEXT,
  last_seen     TEXT,
  -- Metric shape (extra, schema version 3): what this service sent last.
  type          TEXT,
  temporality   TEXT,
  is_monotonic  INTEGER,
  -- Bytes (extra, schema version 3): of this service's Metric messages in OTLP protobuf.
  bytes         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (metric_name, service_name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_metric_services_service ON metric_services(service_name, metric_name, sample_count, first_seen, last_seen);
-- service_overview and service_bytes add up bytes (and span errors) per
-- service from it
-- (schema version 3; the index above predates the column).
CREATE INDEX IF NOT EXISTS idx_metric_services_bytes ON metric_services(service_name, sample_count, bytes);

-- The keys of each entity (metric, span name, log severity): one row per
-- (entity, scope, key). Read them through the views metric_keys, span_keys
-- and log_keys (sql/views.sql), which add key_percentage (of the entity's
-- records; span events: of the event's, links: of the span name's links),
-- derived when read, so that a commit writes only the keys its batch
-- counted, however many the entity has (schema version 3; these were the
-- tables metric_keys, span_keys and log_keys before, with the percentage
-- stored). estimated_cardinality (clamped to key_count) and top_values
-- (topk_counts(top_sketch, 10)) are stored, computed in the UPSERT of the
-- rows a commit writes; so the views need no function of the extension.
CREATE TABLE IF NOT EXISTS metric_key_rows (
  metric_name            TEXT NOT NULL,
  key_scope              TEXT NOT NULL,          -- label (data point attribute) | resource
  key_name               TEXT NOT NULL,
  key_count              INTEGER NOT NULL DEFAULT 0,
  estimated_cardinality  INTEGER NOT NULL DEFAULT 0,
  value_samples          TEXT NOT NULL DEFAULT '[]',
  hll_sketch             BLOB,
  first_seen             TEXT,
  last_seen              TEXT,
  -- attribution (issue 15, schema version 3); since the upgrade in upgraded catalogs
  bytes                  INTEGER NOT NULL DEFAULT 0,    -- the key's pairs in OTLP protobuf (Attr::field_len)
  value_types            TEXT NOT NULL DEFAULT '{}',    -- {"int": n, "string": n, ...}: records per OTLP value type
  top_sketch             BLOB,                          -- frequent-items sketch of the values (topk_*), lg_max_map_size 6
  top_values             TEXT,                          -- up to 10 [{"value": v, "count": n}] from top_sketch
  PRIMARY KEY (metric_name, key_scope, key_name)
);
CREATE INDEX IF NOT EXISTS idx_metric_keys_key ON metric_key_rows(key_name);
CREATE INDEX IF NOT EXISTS idx_metric_keys_cardinality ON metric_key_rows(estimated_cardinality DESC);
-- Keys by when they were first seen ("what is new", the view new_keys).
CREATE INDEX IF NOT EXISTS idx_metric_keys_first_seen ON metric_key_rows(first_seen);
-- Keys by their records (rare keys: see idx_metrics_records).
CREATE INDEX IF NOT EXISTS idx_metric_keys_count ON metric_key_rows(key_count);

-- Spans: one sample = one span.
CREATE TABLE IF NOT EXISTS spans (
  name                TEXT PRIMARY KEY,
  kind                TEXT NOT NULL,            -- Unspecified | Internal | Server | Client | Producer | Consumer
  total_sample_count  INTEGER NOT NULL DEFAULT 0,
  event_count         INTEGER NOT NULL DEFAULT 0,  -- extra: events seen on these spans
  link_count          INTEGER NOT NULL DEFAULT 0,  -- extra: links seen on these spans (denominator of the link scope)
  first_seen          TEXT,
  last_seen           TEXT,
  -- Span status (extra, schema version 3): spans by status.code.
  status_unset_count  INTEGER NOT NULL DEFAULT 0,
  status_ok_count     INTEGER NOT NULL DEFAULT 0,
  status_error_count  INTEGER NOT NULL DEFAULT 0,
  -- Record metadata (extra, schema version 3; docs/catalog.md "Bytes", "Dropped counts").
  bytes                    INTEGER NOT NULL DEFAULT 0,  -- of the Span messages in OTLP protobuf
  dropped_attributes_count INTEGER NOT NULL DEFAULT 0,  -- sums of what the spans say they dropped
  dropped_events_count     INTEGER NOT NULL DEFAULT 0,
  dropped_links_count      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS span_services (
  span_name     TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  sample_count  INTEGER NOT NULL DEFAULT 0,
  first_seen    TEXT,
  last_seen     TEXT,
  -- Span status (extra, schema version 3): this service's spans by status.code.
  status_unset_count  INTEGER NOT NULL DEFAULT 0,
  status_ok_count     INTEGER NOT NULL DEFAULT 0,
  status_error_count  INTEGER NOT NULL DEFAULT 0,
  -- Per-service keys (extra, schema version 3): links on this service's
  -- spans, the denominator of its link-scope keys.
  link_count    INTEGER NOT NULL DEFAULT 0,
  -- Bytes (extra, schema version 3): of this service's Span messages in OTLP protobuf.
  bytes               INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (span_name, service_name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_span_services_service ON span_services(service_name, span_name, sample_count, first_seen, last_seen);
CREATE INDEX IF NOT EXISTS idx_span_services_bytes ON span_services(service_name, sample_count, bytes, status_error_count);
-- span_status ranks by errors (sql/views.sql).
CREATE INDEX IF NOT EXISTS idx_span_services_errors ON span_services(status_error_count DESC, span_name, service_name);

-- A PRIMARY KEY (span_name, key_scope, key_name, COALESCE(event_name, '')) is
-- not valid SQLite: event_name is NOT NULL DEFAULT '' ('' outside the event scope).
CREATE TABLE IF NOT EXISTS span_key_rows (
  span_name              TEXT NOT NULL,
  key_scope              TEXT NOT NULL,          -- attribute | resource | event | link
  key_name               TEXT NOT NULL,
  event_name             TEXT NOT NULL DEFAULT '',
  key_count              INTEGER NOT NULL DEFAULT 0,
  estimated_cardinality  INTEGER NOT NULL DEFAULT 0,
  value_samples          TEXT NOT NULL DEFAULT '[]',
  hll_sketch             BLOB,
  first_seen             TEXT,
  last_seen              TEXT,
  -- attribution (issue 15, schema version 3); since the upgrade in upgraded catalogs
  bytes                  INTEGER NOT NULL DEFAULT 0,    -- the key's pairs in OTLP protobuf (Attr::field_len)
  value_types            TEXT NOT NULL DEFAULT '{}',    -- {"int": n, "string": n, ...}: records per OTLP value type
  top_sketch             BLOB,                          -- frequent-items sketch of the values (topk_*), lg_max_map_size 6
  top_values             TEXT,                          -- up to 10 [{"value": v, "count": n}] from top_sketch
  PRIMARY KEY (span_name, key_scope, key_name, event_name)
);
CREATE INDEX IF NOT EXISTS idx_span_keys_key ON span_key_rows(key_name);
CREATE INDEX IF NOT EXISTS idx_span_keys_cardinality ON span_key_rows(estimated_cardinality DESC);
CREATE INDEX IF NOT EXISTS idx_span_keys_first_seen ON span_key_rows(first_seen);
CREATE INDEX IF NOT EXISTS idx_span_keys_count ON span_key_rows(key_count);

CREATE TABLE IF NOT EXISTS span_events (
  span_name    TEXT NOT NULL,
  event_name   TEXT NOT NULL,
  event_count  INTEGER NOT NULL DEFAULT 0,   -- extra: events of this name (denominator of the event scope)
  first_seen   TEXT,
  last_seen    TEXT,
  PRIMARY KEY (span_name, event_name)
) WITHOUT ROWID;
-- The denominators of the span key percentages (rare keys: see idx_metrics_records).
CREATE INDEX IF NOT EXISTS idx_spans_records ON spans(total_sample_count);
CREATE INDEX IF NOT EXISTS idx_spans_links ON spans(link_count);
CREATE INDEX IF NOT EXISTS idx_span_events_count ON span_events(event_count);

-- Logs: one sample = one log record, grouped by severity.
CREATE TABLE IF NOT EXISTS logs (
  severity            TEXT PRIMARY KEY,   -- TRACE | DEBUG | INFO | WARN | ERROR | FATAL | upper-cased severityText | UNSPECIFIED
  total_sample_count  INTEGER NOT NULL DEFAULT 0,
  first_seen          TEXT,
  last_seen           TEXT,
  -- Record metadata (extra, schema version 3; docs/catalog.md "Bytes", "Trace context").
  bytes                    INTEGER NOT NULL DEFAULT 0,  -- of the LogRecord messages in OTLP protobuf
  dropped_attributes_count INTEGER NOT NULL DEFAULT 0,  -- sum of what the records say they dropped
  trace_id_count           INTEGER NOT NULL DEFAULT 0,  -- records with a trace id
  span_id_count            INTEGER NOT NULL DEFAULT 0   -- records with a span id
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS log_services (
  severity      TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  sample_count  INTEGER NOT NULL DEFAULT 0,
  first_seen    TEXT,
  last_seen     TEXT,
  -- Record metadata (extra, schema version 3): this service's records.
  bytes           INTEGER NOT NULL DEFAULT 0,
  trace_id_count  INTEGER NOT NULL DEFAULT 0,
  span_id_count   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (severity, service_name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_log_services_service ON log_services(service_name, severity, sample_count, first_seen, last_seen);
CREATE INDEX IF NOT EXISTS idx_log_services_bytes ON log_services(service_name, sample_count, bytes);

CREATE TABLE IF NOT EXISTS log_key_rows (
  severity               TEXT NOT NULL,
  key_scope              TEXT NOT NULL,          -- attribute | resource
  key_name               TEXT NOT NULL,
  key_count              INTEGER NOT NULL DEFAULT 0,
  estimated_cardinality  INTEGER NOT NULL DEFAULT 0,
  value_samples          TEXT NOT NULL DEFAULT '[]',
  hll_sketch             BLOB,
  first_seen             TEXT,
  last_seen              TEXT,
  -- attribution (issue 15, schema version 3); since the upgrade in upgraded catalogs
  bytes                  INTEGER NOT NULL DEFAULT 0,    -- the key's pairs in OTLP protobuf (Attr::field_len)
  value_types            TEXT NOT NULL DEFAULT '{}',    -- {"int": n, "string": n, ...}: records per OTLP value type
  top_sketch             BLOB,                          -- frequent-items sketch of the values (topk_*), lg_max_map_size 6
  top_values             TEXT,                          -- up to 10 [{"value": v, "count": n}] from top_sketch
  PRIMARY KEY (severity, key_scope, key_name)
);
CREATE INDEX IF NOT EXISTS idx_log_keys_key ON log_key_rows(key_name);
CREATE INDEX IF NOT EXISTS idx_log_keys_cardinality ON log_key_rows(estimated_cardinality DESC);
CREATE INDEX IF NOT EXISTS idx_log_keys_first_seen ON log_key_rows(first_seen);
CREATE INDEX IF NOT EXISTS idx_log_keys_count ON log_key_rows(key_count);

-- Dashboard rankings over the key rows (issue 16 section 3, top N < 10 ms):
-- the top values of a key (the canned query top_values_of_key) are each
-- signal's key rows of that key name, most records first, entity next;
-- rows without top values (written before the upgrade to version 3) are
-- left out, so a key on 100 000 metrics of an upgraded catalog is not read
-- row by row to find none. A metric's labels by cardinality, every metric
-- at once (metric_label_cardinality with no name), in the query's order, so
-- that the first 200 are read and no tie on an estimate is sorted.
CREATE INDEX IF NOT EXISTS idx_metric_keys_top ON metric_key_rows(key_name, key_count DESC, metric_name) WHERE top_values IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_span_keys_top ON span_key_rows(key_name, key_count DESC, span_name) WHERE top_values IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_log_keys_top ON log_key_rows(key_name, key_count DESC, severity) WHERE top_values IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_metric_keys_cardinality_names
  ON metric_key_rows(estimated_cardinality DESC, metric_name, key_scope, key_name);

-- One row per Drain cluster of (severity, service). cluster_id (extra) is the
-- cluster's id in the drain partition 'otlp.logs/<severity>/<service>'; the
-- row follows the cluster when its template generalises. Read it through the
-- view log_body_templates (sql/views.sql), which adds each row's percentage
-- of its (severity, service)'s records: derived when read, so that a commit
-- writes only the templates whose lines it counted, however many the
-- service has (schema version 3; log_body_templates was this table before).
CREATE TABLE IF NOT EXISTS log_body_template_rows (
  severity      TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  cluster_id    INTEGER NOT NULL,
  template      TEXT NOT NULL,
  example       TEXT NOT NULL,
  count         INTEGER NOT NULL DEFAULT 0,
  first_seen    TEXT,
  last_seen     TEXT,
  -- Bytes (extra, schema version 3): of the template's records (LogRecord messages) in OTLP protobuf.
  bytes         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (severity, service_name, cluster_id)
);
CREATE INDEX IF NOT EXISTS idx_log_body_templates_top ON log_body_template_rows(severity, service_name, count DESC);

-- Attribute keys of each log template's records (extra, schema version 2):
-- which keys the lines of a template carry, and on how many of them, so
-- "which field holds the user id in this template" has an answer. Keyed like
-- log_body_templates; the rows of a cluster merged into another join that
-- cluster's rows. The percentage (of the template's lines) is computed by
-- the view template_keys.
CREATE TABLE IF NOT EXISTS log_template_keys (
  severity      TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  cluster_id    INTEGER NOT NULL,
  key_name      TEXT NOT NULL,
  key_count     INTEGER NOT NULL DEFAULT 0,
  first_seen    TEXT,
  last_seen     TEXT,
  PRIMARY KEY (severity, service_name, cluster_id, key_name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_log_template_keys_key ON log_template_keys(key_name);

-- Span-name patterns (OCC's "trace patterns"): span names templated per
-- service with the Drain engine (drain partition 'otlp.spans/<service>'), so
-- 'GET /users/123' and 'GET /users/456' become 'GET /users/<*>'. A pattern
-- that many distinct names collapse into marks an unbounded span name.
CREATE TABLE IF NOT EXISTS span_name_patterns (
  service_name     TEXT NOT NULL,
  cluster_id       INTEGER NOT NULL,
  pattern          TEXT NOT NULL,
  example          TEXT NOT NULL,      -- the first span name of the pattern
  span_count       INTEGER NOT NULL DEFAULT 0,
  estimated_names  INTEGER NOT NULL DEFAULT 0,  -- distinct span names, hll_count(names_sketch)
  names_sketch     BLOB,
  first_seen       TEXT,
  last_seen        TEXT,
  PRIMARY KEY (service_name, cluster_id)
);
CREATE INDEX IF NOT EXISTS idx_span_name_patterns_names ON span_name_patterns(estimated_names DESC);

-- Per-service keys (extra, schema version 3): the keys of each entity per
-- service that sent them, with the statistics of the per-entity key tables.
-- Read them through the views metric_service_keys, span_service_keys and
-- log_service_keys (sql/views.sql), which add key_percentage: of that
-- service's records of the entity (the *_services sample_count; for span
-- events span_service_events.event_count, for links span_services.link_count),
-- derived when read so that a commit writes only the keys its batch counted,
-- and top_values (topk_counts(top_sketch, 10) when read). estimated_cardinality
-- (clamped to key_count) is stored.
CREATE TABLE IF NOT EXISTS metric_service_key_rows (
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
CREATE INDEX IF NOT EXISTS idx_metric_service_key_rows_service ON metric_service_key_rows(service_name);
CREATE INDEX IF NOT EXISTS idx_metric_service_key_rows_key ON metric_service_key_rows(key_name, metric_name);

CREATE TABLE IF NOT EXISTS span_service_key_rows (
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
CREATE INDEX IF NOT EXISTS idx_span_service_key_rows_service ON span_service_key_rows(service_name);
CREATE INDEX IF NOT EXISTS idx_span_service_key_rows_key ON span_service_key_rows(key_name, span_name);

-- Events of each name on one service's spans (the denominator of its
-- event-scope keys).
CREATE TABLE IF NOT EXISTS span_service_events (
  span_name     TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  event_name    TEXT NOT NULL,
  event_count   INTEGER NOT NULL DEFAULT 0,
  first_seen    TEXT,
  last_seen     TEXT,
  PRIMARY KEY (span_name, service_name, event_name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS log_service_key_rows (
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
CREATE INDEX IF NOT EXISTS idx_log_service_key_rows_service ON log_service_key_rows(service_name);
CREATE INDEX IF NOT EXISTS idx_log_service_key_rows_key ON log_service_key_rows(key_name, severity);

-- Instrumentation scopes (extra, schema version 3; docs/catalog.md
-- "Instrumentation scopes"): per entity and service, the records sent in
-- blocks of each scope (InstrumentationScope name and version; '' when the
-- scope or its version is absent), their bytes and times as in *_services.
-- Indexed by scope ("which entities does scope X send") and by service.
CREATE TABLE IF NOT EXISTS metric_scopes (
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
CREATE INDEX IF NOT EXISTS idx_metric_scopes_scope ON metric_scopes(scope_name, scope_version);
CREATE INDEX IF NOT EXISTS idx_metric_scopes_service ON metric_scopes(service_name, scope_name, scope_version);

CREATE TABLE IF NOT EXISTS span_scopes (
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
CREATE INDEX IF NOT EXISTS idx_span_scopes_scope ON span_scopes(scope_name, scope_version);
CREATE INDEX IF NOT EXISTS idx_span_scopes_service ON span_scopes(service_name, scope_name, scope_version);

CREATE TABLE IF NOT EXISTS log_scopes (
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
CREATE INDEX IF NOT EXISTS idx_log_scopes_scope ON log_scopes(scope_name, scope_version);
CREATE INDEX IF NOT EXISTS idx_log_scopes_service ON log_scopes(service_name, scope_name, scope_version);

-- Log event names (extra, schema version 3; docs/catalog.md "Log event
-- names"): records whose LogRecord.event_name is not empty, by that name.
-- They are log records too, counted in logs, log_services and log_keys as
-- any other; these tables are one more dimension. The keys are the records'
-- attribute keys (their resources' are their services'). Read them through the
-- view log_event_keys (sql/views.sql), which adds key_percentage (of the
-- event's records) and top_values when read; estimated_cardinality (clamped
-- to key_count) is stored.
CREATE TABLE IF NOT EXISTS log_events (
  event_name               TEXT PRIMARY KEY,
  total_sample_count       INTEGER NOT NULL DEFAULT 0,
  first_seen               TEXT,
  last_seen                TEXT,
  bytes                    INTEGER NOT NULL DEFAULT 0,  -- of the LogRecord messages in OTLP protobuf
  dropped_attributes_count INTEGER NOT NULL DEFAULT 0,  -- sum of what the records say they dropped
  trace_id_count           INTEGER NOT NULL DEFAULT 0,  -- records with a trace id
  span_id_count            INTEGER NOT NULL DEFAULT 0   -- records with a span id
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS log_event_services (
  event_name    TEXT NOT NULL,
  service_name  TEXT NOT NULL,
  sample_count  INTEGER NOT NULL DEFAULT 0,
  first_seen    TEXT,
  last_seen     TEXT,
  bytes         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (event_name, service_name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_log_event_services_service ON log_event_services(service_name, event_name, sample_count);

CREATE TABLE IF NOT EXISTS log_event_key_rows (
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
CREATE INDEX IF NOT EXISTS idx_log_event_key_rows_key ON log_event_key_rows(key_name, event_name);

-- Key names past an entity's bound (the setting key_name_bound of
-- otelcat_meta, default 1000 distinct names per entity and key scope in a
-- transaction; docs/catalog.md "Key-name patterns"), folded into patterns:
-- user.1.name, user.2.name, ... count in 'user.<num>.name'. The entity's
-- own counts (total_sample_count, ...) stay exact.
CREATE TABLE IF NOT EXISTS key_name_patterns (
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
CREATE INDEX IF NOT EXISTS idx_key_name_patterns_names ON key_name_patterns(estimated_names DESC);

-- History (schema version 3; docs/catalog.md "History"): counts per time
-- bucket of the records' own times. resolution 'bucket' rows start at
-- multiples of the setting history_bucket_seconds (otelcat_meta, default
-- 3600); at each commit, 'bucket' rows older than history_bucket_hours
-- (default 48) hours before the newest bucket roll up into 'day' rows
-- (counts add, sketches merge), and 'day' rows older than history_days
-- (default 30) days before the newest bucket's day are dropped.
-- bucket_start: 'YYYY-MM-DD HH:MM:SS' (UTC), as first_seen.
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

-- Key rows by key name, then entity (semantic conventions, issue 16): the
-- rows of given key names in (key, entity) order, the first N of them, are
-- a walk of these indexes that stops after N rows instead of a sort of
-- every row of the keys (the dashboard's convention_violations: the first
-- 1 000 deprecated key rows). idx_*_keys_key (key_name alone) stays: an
-- upgrade cannot drop an index (it runs inside otlp_ingest's write).
CREATE INDEX IF NOT EXISTS idx_metric_keys_key_entity ON metric_key_rows(key_name, metric_name, key_scope);
CREATE INDEX IF NOT EXISTS idx_span_keys_key_entity ON span_key_rows(key_name, span_name, key_scope, event_name);
CREATE INDEX IF NOT EXISTS idx_log_keys_key_entity ON log_key_rows(key_name, severity, key_scope);
