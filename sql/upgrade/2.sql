-- Upgrade from schema version 1 (otelcat 0.1.0) to 2: keys per log template.
-- Statements of a step run in the writing transaction, in order, before
-- sql/schema.sql; they must leave the tables exactly as a new catalog of the
-- step's version has them (tests/test_ingest.py TestUpgrade compares them).
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
