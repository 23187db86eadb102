#!/usr/bin/env bash
# otelcat from the sqlite3 shell: load the extension, ingest OTLP files with
# readfile(), query the catalog.
#
#   examples/shell/ingest.sh [catalog.db]      (default: catalog.db here)
#
# Needs the sqlite3 CLI, 3.40 or newer (readfile() is one of its functions).
# Ingesting adds to what the catalog already holds: run it twice and every
# count doubles. It ingests the OTLP fixtures of tests/fixtures/otlp as
# OTLP/JSON, then the same requests as OTLP/protobuf, so counts are 2 per record.
set -euo pipefail
SQLITE=${SQLITE:-sqlite3}
db=$(realpath -m -- "${1:-catalog.db}")
cd "$(dirname "$0")/../.."      # the repository root: dist/ and tests/ below are relative to it

# OTLP/JSON: the signal is read from the payload (readfile() gives a BLOB; a
# BLOB holding JSON text is taken as JSON). One sqlite3 call, one transaction.
"$SQLITE" -bail "$db" '.load dist/otelcat' \
  "BEGIN" \
  "INSERT INTO otlp_ingest(payload) VALUES (readfile('tests/fixtures/otlp/trace.json'))" \
  "INSERT INTO otlp_ingest(payload) VALUES (readfile('tests/fixtures/otlp/metrics.json'))" \
  "INSERT INTO otlp_ingest(payload) VALUES (readfile('tests/fixtures/otlp/logs.json'))" \
  "COMMIT"

# OTLP/protobuf: the bytes do not say which signal they are, so give it.
"$SQLITE" -bail "$db" '.load dist/otelcat' \
  "BEGIN" \
  "INSERT INTO otlp_ingest(payload, signal) VALUES (readfile('tests/fixtures/otlp/trace.pb'), 'traces')" \
  "INSERT INTO otlp_ingest(payload, signal) VALUES (readfile('tests/fixtures/otlp/metrics.pb'), 'metrics')" \
  "INSERT INTO otlp_ingest(payload, signal) VALUES (readfile('tests/fixtures/otlp/logs.pb'), 'logs')" \
  "COMMIT"

# The catalog. Plain tables need no extension; the views that use its
# functions (attribute_catalog's hll_merge/hll_count) do.
"$SQLITE" -bail "$db" '.load dist/otelcat' '.mode box' \
  "SELECT name, type, unit, total_sample_count, estimated_active_series FROM metrics ORDER BY name" \
  "SELECT span_name, key_scope, key_name, key_count, estimated_cardinality, value_samples
     FROM span_keys ORDER BY span_name, key_scope, key_name" \
  "SELECT severity, service_name, template, count FROM top_log_templates" \
  "SELECT key_name, signals, total_count, estimated_cardinality
     FROM attribute_catalog ORDER BY total_count DESC, key_name LIMIT 3"
