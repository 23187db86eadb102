#!/usr/bin/python3
"""otelcat from Python's sqlite3: load the extension, ingest OTLP, query the catalog.

    /usr/bin/python3 examples/python/ingest_and_query.py [catalog.db]

Use Debian's /usr/bin/python3 (or a venv made from it): its sqlite3 module can
load extensions; pyenv's and some other builds were compiled without that.
Without an argument the catalog lives in memory. It ingests the OTLP fixtures
of tests/fixtures/otlp: each request as OTLP/JSON, then the same requests as
OTLP/protobuf (which needs its signal), so every count below is 2 per record.
"""
import json
import os
import sqlite3
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXT = os.path.join(ROOT, "dist", "otelcat")            # SQLite adds .so / .dylib / .dll
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "otlp")


def read(name, mode="r"):
    with open(os.path.join(FIXTURES, name), mode) as f:
        return f.read()


def show(db, title, sql, *params):
    cur = db.execute(sql, params)
    print(f"\n{title}")
    print("  " + " | ".join(d[0] for d in cur.description))
    for row in cur:
        print("  " + " | ".join("" if v is None else str(v) for v in row))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else ":memory:"
    db = sqlite3.connect(path, isolation_level=None)   # autocommit: we write BEGIN/COMMIT ourselves
    if not hasattr(db, "enable_load_extension"):
        # pyenv's and some other builds compile sqlite3 without extension loading.
        other = " (this machine has /usr/bin/python3)" if os.path.exists("/usr/bin/python3") else ""
        sys.exit(f"{sys.executable}: this Python's sqlite3 module cannot load extensions (it was built without "
                 f"them). Run the example with Debian's or Ubuntu's /usr/bin/python3{other}, python.org's "
                 "Python or a venv made from one of them; with pyenv, rebuild Python with "
                 "PYTHON_CONFIGURE_OPTS=--enable-loadable-sqlite-extensions.")
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.enable_load_extension(False)
    db.execute("PRAGMA busy_timeout = 10000")           # wait for other writers instead of failing
    print("otelcat", db.execute("SELECT otelcat_version()").fetchone()[0], "on SQLite", sqlite3.sqlite_version)

    # One transaction for many payloads: the catalog is written at COMMIT.
    db.execute("BEGIN IMMEDIATE")
    for name in ("trace.json", "metrics.json", "logs.json", "events.json"):
        # OTLP/JSON as text: the signal is read from the payload.
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (read(name),))
    for name, signal in (("trace.pb", "traces"), ("metrics.pb", "metrics"), ("logs.pb", "logs"), ("events.pb", "logs")):
        # OTLP/protobuf as bytes (a BLOB): the signal must be given.
        db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (read(name, "rb"), signal))
    db.execute("COMMIT")

    show(db, "Metrics:",
         "SELECT name, type, unit, total_sample_count, estimated_active_series FROM metrics ORDER BY name")
    show(db, "Which services send each span:",
         "SELECT span_name, service_name, sample_count FROM span_services ORDER BY span_name, service_name")
    show(db, "Keys of each span name:",
         "SELECT span_name, key_scope, key_name, key_count, key_percentage, estimated_cardinality, value_samples "
         "FROM span_keys ORDER BY span_name, key_scope, key_name")
    show(db, "Log body templates:",
         "SELECT severity, service_name, template, count FROM log_body_templates ORDER BY count DESC, template")
    show(db, "Keys across signals (attribute_catalog), most frequent first:",
         "SELECT key_name, signals, metrics, spans, severities, total_count, estimated_cardinality "
         "FROM attribute_catalog ORDER BY total_count DESC, key_name LIMIT 3")

    doc = db.execute("SELECT document FROM metric_metadata WHERE name = ?", ("my.histogram",)).fetchone()[0]
    print("\nThe document of metric my.histogram:")
    print(json.dumps(json.loads(doc), indent=2))

    # A bad payload is an error that writes nothing.
    try:
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (read("trace.pb", "rb"),))
    except sqlite3.OperationalError as e:
        print("\nA protobuf payload without its signal:", e)
    db.close()


if __name__ == "__main__":
    main()
