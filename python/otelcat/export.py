"""Writes a catalog's tables as JSON Lines for engines such as Apache Spark:
one file per table (OUT/<table>.jsonl, one JSON object a row) and
OUT/manifest.json, which names each table's key, the role of every column
(sketch, sample list, template, count, time, ...) and a Spark schema
(`spark.read.schema(ddl).json(file)`). Sketches are base64 text of the
stored image (Spark: unbase64(col), then hll_union_agg / hll_sketch_estimate);
sample lists are the stored JSON array text. docs/interop.md has the recipe.

The catalog is read in one read transaction (a consistent snapshot, while
writers go on) and never written. OUT must not exist or be an empty
directory; on any error nothing is left behind.
"""
import base64
import json
import os
import shutil
import sqlite3
import tempfile

from . import __version__
from ._common import UsageError, open_catalog

FORMAT = "otelcat-export"
FORMAT_VERSION = 1

# The catalog's tables in export order, with their keys and the role of each
# column that a merge treats specially. Roles (docs/interop.md, "Export"):
#   key          part of the table's primary key
#   count        an exact count: sums when catalogs merge
#   first_seen / last_seen   UTC 'YYYY-MM-DD HH:MM:SS' text: min / max
#   sketch       base64 of an HLL image (docs/FORMAT.md): hll_union_agg
#   estimate     hll_count of the sketch named by "of": recompute after a merge
#   samples      JSON array text of sample values: json_samples_merge
#   percentage   100 x count / the entity's records: recompute after a merge
#   template     Drain template or span-name pattern: catalogs merge these by text
#   cluster_id   the row's cluster in its own catalog's Drain model (local)
#   example      the first record of the cluster: keep the first catalog's
#   attribute    descriptive text: keep the first catalog's (non-empty) value
#   type_counts  JSON object of counts per OTLP value type: add per type
#                (json_counts_merge)
#   topk         base64 of a frequent-items image (DataSketches, docs/FORMAT.md):
#                topk_merge in catalog order
#   top_values   the top 10 of the key's topk image: recompute after a merge
# Columns not named here (added by a later schema) are exported with the
# role "other".
TABLES = {
    "metrics": {"key": ["name"], "roles": {
        "type": "attribute", "unit": "attribute", "description": "attribute",
        "total_sample_count": "count", "estimated_active_series": ("estimate", "series_sketch"),
        "series_sketch": "sketch", "bytes": "count"}},
    "metric_services": {"key": ["metric_name", "service_name"], "roles": {"sample_count": "count", "bytes": "count"}},
    "metric_keys": {"key": ["metric_name", "key_scope", "key_name"], "roles": {
        "key_count": "count", "key_percentage": "percentage", "estimated_cardinality": ("estimate", "hll_sketch"),
        "value_samples": "samples", "hll_sketch": "sketch", "bytes": "count", "value_types": "type_counts",
        "top_sketch": "topk", "top_values": "top_values"}},
    "spans": {"key": ["name"], "roles": {
        "kind": "attribute", "total_sample_count": "count", "event_count": "count", "link_count": "count",
        "bytes": "count", "dropped_attributes_count": "count", "dropped_events_count": "count",
        "dropped_links_count": "count"}},
    "span_services": {"key": ["span_name", "service_name"], "roles": {
        "sample_count": "count", "link_count": "count", "bytes": "count"}},
    "span_keys": {"key": ["span_name", "key_scope", "key_name", "event_name"], "roles": {
        "key_count": "count", "key_percentage": "percentage", "estimated_cardinality": ("estimate", "hll_sketch"),
        "value_samples": "samples", "hll_sketch": "sketch", "bytes": "count", "value_types": "type_counts",
        "top_sketch": "topk", "top_values": "top_values"}},
    "span_events": {"key": ["span_name", "event_name"], "roles": {"event_count": "count"}},
    "span_service_events": {"key": ["span_name", "service_name", "event_name"], "roles": {"event_count": "count"}},
    "metric_service_key_rows": {"key": ["metric_name", "service_name", "key_scope", "key_name"], "roles": {
        "key_count": "count", "estimated_cardinality": ("estimate", "hll_sketch"),
        "value_samples": "samples", "hll_sketch": "sketch", "bytes": "count", "value_types": "type_counts",
        "top_sketch": "topk"}},
    "span_service_key_rows": {"key": ["span_name", "service_name", "key_scope", "key_name", "event_name"], "roles": {
        "key_count": "count", "estimated_cardinality": ("estimate", "hll_sketch"),
        "value_samples": "samples", "hll_sketch": "sketch", "bytes": "count", "value_types": "type_counts",
        "top_sketch": "topk"}},
    "log_service_key_rows": {"key": ["severity", "service_name", "key_scope", "key_name"], "roles": {
        "key_count": "count", "estimated_cardinality": ("estimate", "hll_sketch"),
        "value_samples": "samples", "hll_sketch": "sketch", "bytes": "count", "value_types": "type_counts",
        "top_sketch": "topk"}},
    "logs": {"key": ["severity"], "roles": {
        "total_sample_count": "count", "bytes": "count", "dropped_attributes_count": "count",
        "trace_id_count": "count", "span_id_count": "count"}},
    "log_services": {"key": ["severity", "service_name"], "roles": {
        "sample_count": "count", "bytes": "count", "trace_id_count": "count", "span_id_count": "count"}},
    "log_keys": {"key": ["severity", "key_scope", "key_name"], "roles": {
        "key_count": "count", "key_percentage": "percentage", "estimated_cardinality": ("estimate", "hll_sketch"),
        "value_samples": "samples", "hll_sketch": "sketch", "bytes": "count", "value_types": "type_counts",
        "top_sketch": "topk", "top_values": "top_values"}},
    "log_body_templates": {"key": ["severity", "service_name", "cluster_id"], "roles": {
        "template": "template", "example": "example", "count": "count", "percentage": "percentage",
        "bytes": "count"}},
    "log_template_keys": {"key": ["severity", "service_name", "cluster_id", "key_name"], "roles": {
        "key_count": "count"}},
    "span_name_patterns": {"key": ["service_name", "cluster_id"], "roles": {
        "pattern": "template", "example": "example", "span_count": "count",
        "estimated_names": ("estimate", "names_sketch"), "names_sketch": "sketch"}},
    # Instrumentation scopes (schema version 3).
    "metric_scopes": {"key": ["metric_name", "service_name", "scope_name", "scope_version"], "roles": {
        "sample_count": "count", "bytes": "count"}},
    "span_scopes": {"key": ["span_name", "service_name", "scope_name", "scope_version"], "roles": {
        "sample_count": "count", "bytes": "count"}},
    "log_scopes": {"key": ["severity", "service_name", "scope_name", "scope_version"], "roles": {
        "sample_count": "count", "bytes": "count"}},
    # Log event names (schema version 3).
    "log_events": {"key": ["event_name"], "roles": {
        "total_sample_count": "count", "bytes": "count", "dropped_attributes_count": "count",
        "trace_id_count": "count", "span_id_count": "count"}},
    "log_event_services": {"key": ["event_name", "service_name"], "roles": {"sample_count": "count", "bytes": "count"}},
    "log_event_key_rows": {"key": ["event_name", "key_name"], "roles": {
        "key_count": "count", "estimated_cardinality": ("estimate", "hll_sketch"),
        "value_samples": "samples", "hll_sketch": "sketch", "bytes": "count", "value_types": "type_counts",
        "top_sketch": "topk"}},
    # Key-name patterns (schema version 3): names past an entity's key_name_bound.
    "key_name_patterns": {"key": ["entity_kind", "entity_name", "key_scope", "event_name", "pattern"], "roles": {
        "key_count": "count", "estimated_names": ("estimate", "names_sketch"), "names_sketch": "sketch",
        "sample_names": "samples", "bytes": "count"}},
    # History (schema version 3; docs/catalog.md "History"): rows of one
    # bucket (resolution, bucket_start) merge like the rows of one key.
    "entity_history": {"key": ["signal", "entity", "resolution", "bucket_start"], "roles": {
        "records": "count", "bytes": "count"}},
    "service_history": {"key": ["signal", "entity", "service_name", "resolution", "bucket_start"], "roles": {
        "records": "count", "bytes": "count"}},
    "key_history_rows": {"key": ["signal", "entity", "key_scope", "key_name", "event_name", "resolution",
                                 "bucket_start"], "roles": {
        "key_count": "count", "bytes": "count", "hll_sketch": "sketch"}},
    "template_history_rows": {"key": ["severity", "service_name", "cluster_id", "resolution", "bucket_start"], "roles": {
        "count": "count", "bytes": "count"}},
}

# How each column's value is written, by its declared SQLite type (and role).
SPARK_TYPES = {"long": "BIGINT", "double": "DOUBLE", "string": "STRING"}


def add_arguments(p):
    p.add_argument("--db", required=True, metavar="CATALOG", help="the catalog to export (opened read-only)")
    p.add_argument("out", metavar="OUT", help="the directory to write (must not exist, or be empty)")


def _column_type(decl, role):
    if role == "sketch":
        return "string"         # base64
    if role == "percentage":
        return "double"         # a view's computed column has no declared type
    d = (decl or "").upper()
    if "INT" in d:
        return "long"
    if "REAL" in d or "FLOA" in d or "DOUB" in d:
        return "double"
    return "string"             # text, or base64 of a BLOB


def _columns(db, table):
    spec = TABLES[table]
    cols = []
    for _, name, decl, _, _, pk in db.execute(f'PRAGMA table_info("{table}")'):
        role = spec["roles"].get(name)
        of = None
        if isinstance(role, tuple):
            role, of = role
        if role is None:
            role = "key" if name in spec["key"] else ("first_seen" if name == "first_seen" else
                                                      "last_seen" if name == "last_seen" else "other")
        c = {"name": name, "type": _column_type(decl, role), "role": role}
        if role == "sketch" or "BLOB" in (decl or "").upper():
            c["encoding"] = "base64"
        if of:
            c["of"] = of
        cols.append(c)
    return cols


def _describe(table, key, row, cols):
    """'metrics row (name='x')': which row of which table, by its key."""
    parts = [f"{k}={row[i]!r}" for i, c in enumerate(cols) for k in key if c["name"] == k]
    return f"{table} row ({', '.join(parts)})"


def _value(v, col, table, key, row, cols):
    """A stored value as its JSON value, checked against the column's type."""
    if v is None:
        return None
    t = col["type"]
    what = lambda: f"{_describe(table, key, row, cols)}: column {col['name']}"
    if col.get("encoding") == "base64":
        if not isinstance(v, bytes):
            if col["role"] == "sketch":
                raise UsageError(f"{what()} holds {type(v).__name__} where a sketch (BLOB) belongs; "
                                 "repair or delete the row, then export again")
            v = str(v).encode("utf-8")
        return base64.b64encode(v).decode("ascii")
    if t == "long":
        if isinstance(v, int):
            return v
        raise UsageError(f"{what()} holds {v!r} where an integer belongs; repair or delete the row, then export again")
    if t == "double":
        if isinstance(v, (int, float)) and v == v and v not in (float("inf"), float("-inf")):
            return float(v)
        raise UsageError(f"{what()} holds {v!r} where a finite number belongs; repair or delete the row, "
                         "then export again")
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        raise UsageError(f"{what()} holds a BLOB where text belongs; repair or delete the row, then export again")
    raise UsageError(f"{what()} holds the number {v!r} where text belongs; repair or delete the row, "
                     "then export again")


def export(db, out_dir, source_name):
    """Writes every catalog table of `db` (a connection to the catalog) into
    out_dir, which exists and is empty. Returns the manifest."""
    db.execute("BEGIN")   # one snapshot of the whole catalog
    try:
        schema = db.execute("SELECT value FROM otelcat_meta WHERE key = 'schema_version'").fetchone()
        have = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "otelcat_version": __version__,
                    "schema_version": schema[0] if schema else None, "source": source_name,
                    "row_format": "JSON Lines, UTF-8, one object a row; absent tables are empty files",
                    "tables": {}, "sketches": [], "sample_lists": [], "templates": []}
        for table, spec in TABLES.items():
            fname = f"{table}.jsonl"
            cols = _columns(db, table) if table in have else []
            rows = 0
            with open(os.path.join(out_dir, fname), "w", encoding="utf-8", newline="\n") as f:
                if cols:
                    names = ", ".join(f'"{c["name"]}"' for c in cols)
                    cur = db.execute(f'SELECT {names} FROM "{table}" ORDER BY {", ".join(spec["key"])}')
                    for row in cur:
                        obj = {c["name"]: _value(v, c, table, spec["key"], row, cols) for c, v in zip(cols, row)}
                        f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
                        f.write("\n")
                        rows += 1
            manifest["tables"][table] = {
                "file": fname, "rows": rows, "key": spec["key"], "columns": cols,
                "spark_schema": ", ".join(f"`{c['name']}` {SPARK_TYPES[c['type']]}" for c in cols)}
            for c in cols:
                ref = f"{table}.{c['name']}"
                if c["role"] == "sketch":
                    manifest["sketches"].append(ref)
                elif c["role"] == "samples":
                    manifest["sample_lists"].append(ref)
                elif c["role"] == "template":
                    manifest["templates"].append(ref)
    finally:
        db.execute("ROLLBACK")
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return manifest


def run(args):
    out = args.out
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise UsageError(f"{out} already exists and is not an empty directory: choose a new one")
    db = open_catalog(args.db, readonly=True, extension=False)
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise UsageError(f"no such directory: {parent}")
    tmp = tempfile.mkdtemp(prefix=".otelcat-export-", dir=parent)
    try:
        try:
            manifest = export(db, tmp, os.path.basename(args.db))
        except sqlite3.Error as e:
            raise UsageError(f"reading {args.db} failed: {' '.join(str(e).split())}; nothing was written") from None
        except UsageError as e:
            raise UsageError(f"{args.db}: {e}; nothing was written") from None
        if os.path.isdir(out):
            os.rmdir(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    n = sum(t["rows"] for t in manifest["tables"].values())
    print(f"otelcat export: wrote {len(manifest['tables'])} tables ({n:,} rows, "
          f"{len(manifest['sketches'])} sketch columns) and manifest.json to {out} from {args.db}")
    return 0
