#!/usr/bin/python3
"""Writes tests/fixtures/catalog/hostile.db: the catalog of v0.1.0.db with
every kind of crafted row a file from a stranger may hold, made with plain
SQL (no extension), deterministically. tests/test_hostile_catalog.py opens,
queries, ingests into and merges it.

    /usr/bin/python3 tools/make_hostile_catalog.py

What it holds (each a row or object named so that tests can find it):
- sketches that are not sketches, and the hostile images found by fuzzing
  (tests/fixtures/hll/hostile/*.bin), in key, series and pattern sketches;
- sample lists that are not JSON arrays, or not JSON;
- counts at the 64-bit limit, and counts that are REAL, TEXT or NULL;
- Drain: a stored default configuration that is not JSON and one that is
  out of bounds; a partition whose stored config is huge; cluster rows
  whose tokens contradict the template, with negative or huge sizes, NULL
  templates, huge examples, and a layout that is not ours;
- times that are not times;
- triggers and views that call the extension (the ones that write are
  refused by SQLite as unsafe, the pure ones run).

The fixture is a catalog of 0.1.0, upgraded when a test first writes it.
For the columns and tables of later schema versions,
`craft_every_column(db)` damages a catalog of the current schema driven by
its schema alone: every column of every table (keys included) gets each
kind of value that does not belong there, in rows of its own where the
table has enough. tests/test_hostile_catalog.py (HostileEveryColumn) runs it
on a catalog this build writes, so a column added later is covered without
a change here:

    /usr/bin/python3 tools/make_hostile_catalog.py --every-column CATALOG
"""
import glob
import os
import shutil
import sqlite3
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = os.path.join(ROOT, "tests", "fixtures", "catalog", "v0.1.0.db")
HOSTILE = os.path.join(ROOT, "tests", "fixtures", "hll", "hostile")
OUT = os.path.join(ROOT, "tests", "fixtures", "catalog", "hostile.db")
MAX = 2**63 - 1


def hostile_images():
    """The sketch images found by fuzzing, and some that are not sketches."""
    images = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(HOSTILE, "*.bin")))]
    if not images:
        raise SystemExit(f"no hostile images in {HOSTILE}")
    return images + [b"", b"\x00", b"not a sketch at all", b"\x02\x01\x07\x0c\x03\x08" + b"\xff" * 64]


# What craft_every_column writes, by the column's declared type. A value
# that the column's constraints refuse (NOT NULL, CHECK) is skipped.
NUMBERS = [MAX, -MAX - 1, -1, 0.5, 1e300, "many", b"\x00", None]
TEXTS = ["not json", '{"a": ', "[" * 2000 + "]" * 2000, b"\x00\xff\x80", 12345, "x" * 300000,
         '{"int": -5, "string": 1e30, "nested": {"a": 1}}', '[{"value": 1}, {"count": "x"}, 7]', "", None]
SKIP_TABLES = ("otelcat_meta",)


def craft_every_column(db, images=None):
    """Damages every column of every table of the catalog `db` (an open
    sqlite3 connection, no extension needed): each value of NUMBERS, TEXTS
    or the hostile images (for BLOB and untyped columns) in a row of its
    own while the table has rows enough, then again from its first row.
    Returns the number of values written."""
    images = hostile_images() if images is None else images
    written = 0
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for t in tables:
        if t in SKIP_TABLES:
            continue
        cols = db.execute(f'PRAGMA table_info("{t}")').fetchall()   # cid, name, type, notnull, dflt, pk
        pk = [c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5])]
        without_rowid = db.execute("SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_schema WHERE name = ?", (t,)).fetchone()[0]
        key_cols = pk if without_rowid else ["rowid"]
        rows = db.execute(f'SELECT {", ".join(key_cols)} FROM "{t}" ORDER BY {", ".join(key_cols)}').fetchall()
        if not rows:
            continue
        at = 0
        for _, name, decl, _, _, is_pk in cols:
            decl = (decl or "").upper()
            if "INT" in decl or "REAL" in decl:
                values = NUMBERS
            elif "TEXT" in decl:
                values = TEXTS
            else:
                values = images + [None, "text"]
            if is_pk:
                # A key column: values that keep rows apart (the key
                # becomes a text, a blob or a huge number).
                values = ["not a key", b"\x00\xff", MAX, "x" * 100000]
            for v in values:
                key = rows[at % len(rows)]
                at += 1
                where = " AND ".join(f'"{k}" IS ?' if k != "rowid" else "rowid = ?" for k in key_cols)
                try:
                    db.execute(f'UPDATE "{t}" SET "{name}" = ? WHERE {where}', (v, *key))
                except sqlite3.DatabaseError:
                    continue   # NOT NULL, UNIQUE, CHECK: the schema refuses it
                written += 1
                if is_pk:
                    # The row's key changed: read the keys again.
                    rows = db.execute(f'SELECT {", ".join(key_cols)} FROM "{t}" ORDER BY {", ".join(key_cols)}').fetchall()
    db.commit()
    return written


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--every-column":
        db = sqlite3.connect(sys.argv[2])
        print(sys.argv[2], craft_every_column(db), "values written")
        return
    if os.path.exists(OUT):
        os.remove(OUT)
    shutil.copy(BASE, OUT)
    db = sqlite3.connect(OUT)
    # The views as this version creates them (a catalog of an older version
    # gets them when it is upgraded).
    for (v,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'view'").fetchall():
        db.execute(f'DROP VIEW "{v}"')
    db.executescript(open(os.path.join(ROOT, "sql", "views.sql")).read())
    images = hostile_images()
    # Sketches: one damaged key per table and image, plus series and pattern sketches.
    for table, entity in (("span_keys", "span_name"), ("metric_keys", "metric_name"), ("log_keys", "severity")):
        rows = db.execute(f"SELECT rowid FROM {table} ORDER BY rowid LIMIT ?", (len(images),)).fetchall()
        for (rowid,), img in zip(rows, images):
            db.execute(f"UPDATE {table} SET hll_sketch = ? WHERE rowid = ?", (img, rowid))
    for (name,), img in zip(db.execute("SELECT name FROM metrics ORDER BY name LIMIT ?", (len(images),)).fetchall(), images):
        db.execute("UPDATE metrics SET series_sketch = ? WHERE name = ?", (img, name))
    for (rowid,), img in zip(db.execute("SELECT rowid FROM span_name_patterns ORDER BY rowid LIMIT ?", (len(images),)).fetchall(), images):
        db.execute("UPDATE span_name_patterns SET names_sketch = ? WHERE rowid = ?", (img, rowid))
    # Sample lists that are not arrays.
    bad_samples = ['{"not": "an array"}', "not json", "[1, 2,", '"a string"', "[[[[[[[[[[]]]]]]]]]]", "x" * 20000,
                   "[" + ",".join(['"v"'] * 5000) + "]", "null"]
    for table in ("span_keys", "metric_keys", "log_keys"):
        rows = db.execute(f"SELECT rowid FROM {table} ORDER BY rowid DESC LIMIT ?", (len(bad_samples),)).fetchall()
        for (rowid,), v in zip(rows, bad_samples):
            db.execute(f"UPDATE {table} SET value_samples = ? WHERE rowid = ?", (v, rowid))
    # Counts at the limit, and counts that are not integers.
    db.execute("UPDATE spans SET total_sample_count = ? WHERE name = (SELECT min(name) FROM spans)", (MAX,))
    db.execute("UPDATE span_services SET sample_count = 1.5 WHERE span_name = (SELECT min(span_name) FROM span_services)")
    db.execute("UPDATE logs SET total_sample_count = 'many' WHERE severity = (SELECT min(severity) FROM logs)")
    db.execute("UPDATE metric_services SET sample_count = ? WHERE metric_name = (SELECT max(metric_name) FROM metric_services)",
               (MAX,))
    db.execute("UPDATE log_body_templates SET count = ? WHERE rowid = (SELECT min(rowid) FROM log_body_templates)", (MAX,))
    db.execute("UPDATE span_keys SET key_count = ? WHERE rowid = (SELECT min(rowid) FROM span_keys WHERE key_scope = 'resource')", (MAX,))
    # Times that are not times.
    db.execute("UPDATE spans SET first_seen = 'yesterday', last_seen = x'00ff' WHERE name = (SELECT max(name) FROM spans)")
    # Drain: stored configurations and model rows.
    db.execute("INSERT OR REPLACE INTO otelcat_meta(key, value) VALUES ('drain_default_config', "
               "'{\"param_str\": \"' || printf('%.*c', 100000, 'P') || '\", \"max_line_bytes\": 1048576}')")
    parts = [r[0] for r in db.execute("SELECT partition FROM otelcat_drain_partitions ORDER BY partition")]
    ingest_logs = [p for p in parts if p.startswith("otlp.logs/")]
    ingest_spans = [p for p in parts if p.startswith("otlp.spans/")]
    db.execute("UPDATE otelcat_drain_partitions SET config = '{not json' WHERE partition = ?", (ingest_logs[0],))
    db.execute("UPDATE otelcat_drain_partitions SET config = json_set(config, '$.max_clusters', 1e12) WHERE partition = ?",
               (ingest_logs[1],))
    db.execute("UPDATE otelcat_drain_partitions SET layout = 99 WHERE partition = ?", (ingest_spans[0],))
    db.execute("UPDATE otelcat_drain_partitions SET config = json_set(config, '$.param_str', printf('%.*c', 100000, 'P')) "
               "WHERE partition = 'fixture'")
    for i, p in enumerate(ingest_logs[2:7]):
        row = db.execute("SELECT min(cluster_id) FROM otelcat_drain_clusters WHERE partition = ?", (p,)).fetchone()[0]
        damage = [
            "UPDATE otelcat_drain_clusters SET tokens = '[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"]' WHERE partition = ? AND cluster_id = ?",
            "UPDATE otelcat_drain_clusters SET size = -5 WHERE partition = ? AND cluster_id = ?",
            "UPDATE otelcat_drain_clusters SET template = x'00ff80' WHERE partition = ? AND cluster_id = ?",
            "UPDATE otelcat_drain_clusters SET example = printf('%.*c', 300000, 'e') WHERE partition = ? AND cluster_id = ?",
            "UPDATE otelcat_drain_clusters SET cluster_id = -1 WHERE partition = ? AND cluster_id = ?",
        ][i]
        db.execute(damage, (p, row))
    # Triggers and views that call the extension. Writers are refused at
    # prepare time ("unsafe use of"); pure functions run.
    db.executescript("""
        CREATE TABLE notes(x);
        CREATE TRIGGER notes_ingest AFTER INSERT ON notes BEGIN
          INSERT INTO otlp_ingest(payload) VALUES ('{"resourceSpans": []}');
        END;
        CREATE TRIGGER spans_learn AFTER UPDATE ON spans BEGIN
          SELECT drain_template(new.name, 'spy');
        END;
        CREATE TRIGGER logs_reset AFTER INSERT ON logs BEGIN
          SELECT drain_reset('otlp.logs/INFO/frontend');
        END;
        CREATE VIEW learning AS SELECT drain_template(name) AS t FROM spans;
        CREATE VIEW counted AS SELECT name, hll_count(series_sketch) AS n FROM metrics;
        CREATE VIEW synced AS SELECT * FROM otelcat_drain_sync;
    """)
    db.commit()
    db.execute("VACUUM")
    db.close()
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
