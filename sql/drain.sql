-- otelcat Drain model storage (layout version 1). Created on first use by the
-- drain_* functions and by otlp_ingest, and completed (every statement is
-- IF NOT EXISTS) when a file of an earlier version is first written. See
-- docs/FORMAT.md, section 4.

CREATE TABLE IF NOT EXISTS otelcat_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per partition that has been configured or trained: the full
-- configuration its clusters were trained with (a model is rebuilt with it).
CREATE TABLE IF NOT EXISTS otelcat_drain_partitions (
  partition  TEXT PRIMARY KEY,
  config     TEXT NOT NULL,
  layout     INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;

-- One row per cluster: the engine's ClusterRecord.
CREATE TABLE IF NOT EXISTS otelcat_drain_clusters (
  partition   TEXT NOT NULL,
  cluster_id  INTEGER NOT NULL,   -- ordinal of the training line that created the cluster
  template    TEXT NOT NULL,      -- rendered template, <*> for parameters (not read back)
  tokens      TEXT NOT NULL,      -- exact template: JSON array of normalized tokens, null = wildcard
  path        TEXT NOT NULL,      -- place in the prefix tree, same encoding
  size        INTEGER NOT NULL,   -- lines trained into the cluster
  last_used   INTEGER NOT NULL,   -- ordinal of the last training line that used it (LRU clock)
  example     TEXT NOT NULL,      -- first line of the cluster, cut to max_example_bytes
  PRIMARY KEY (partition, cluster_id)
);  -- a rowid table: rows of hundreds of bytes update faster than in WITHOUT ROWID

-- One row per partition that drain_reset emptied: the highest cluster id the
-- partition had given (the ordinal of its last training line). The
-- partition's next id is above it and above every last_used of its
-- clusters, so ids are never reused in a partition. Added after v0.1.0.
CREATE TABLE IF NOT EXISTS otelcat_drain_ids (
  partition  TEXT PRIMARY KEY,
  last_id    INTEGER NOT NULL
) WITHOUT ROWID;
