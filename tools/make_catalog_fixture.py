#!/usr/bin/python3
"""Writes tests/fixtures/catalog/v<VERSION>.db: a small catalog built by the
extension in dist/ (run it with the release being frozen), with every
catalog table filled, so that later versions can prove they open, upgrade
and keep adding to it. Fixtures are kept forever; never rewrite an old one.

    /usr/bin/python3 tools/make_catalog_fixture.py [--out PATH]
"""
import argparse
import os
import sqlite3
import struct
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "dist", "otelcat")
GEN = os.path.join(ROOT, "target", "release", "otlp_gen")
OTLP = os.path.join(ROOT, "tests", "fixtures", "otlp")


def frames(path):
    with open(path, "rb") as f:
        while head := f.read(4):
            (n,) = struct.unpack("<I", head)
            yield f.read(n)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out")
    args = ap.parse_args()
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    version = db.execute("SELECT otelcat_version()").fetchone()[0]
    out = args.out or os.path.join(ROOT, "tests", "fixtures", "catalog", f"{version}.db")
    if os.path.exists(out):
        os.remove(out)
    db.execute("ATTACH ? AS f", (out,))
    db.execute("DETACH f")
    db.close()
    db = sqlite3.connect(out, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    tmp = tempfile.mkdtemp(prefix="otelcat-fixture-")
    # The official OTLP/JSON examples (every scope, events, links, all metric types).
    for name in ("trace.json", "metrics.json", "logs.json", "events.json"):
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (open(os.path.join(OTLP, name)).read(),))
    # Generated telemetry of several services with exploding keys (demo profile).
    for signal in ("traces", "metrics", "logs"):
        path = os.path.join(tmp, signal + ".pb")
        subprocess.run([GEN, "--signal", signal, "--records", "1000", "--batch", "100", "--profile", "demo",
                        "--seed", "7", "--services", "6", "--out", path, "--quiet"], check=True)
        db.execute("BEGIN")
        for p in frames(path):
            db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (p, signal))
        db.execute("COMMIT")
    # Models of the SQL functions: a configured partition and the default one.
    db.execute("SELECT drain_configure('fixture', json_object('sim_th', 0.5))")
    for line in ("user alice logged in", "user bob logged in", "disk full on /dev/sda1", "disk full on /dev/sdb2"):
        db.execute("SELECT drain_template(?, 'fixture'), drain_template(?)", (line, line))
    # A reset partition keeps its id high-water mark (otelcat_drain_ids, since v0.2.0).
    if db.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'otelcat_drain_ids'").fetchone()[0]:
        db.execute("SELECT drain_template('reset me 1', 'was_reset')")
        db.execute("SELECT drain_reset('was_reset')")
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for (t,) in db.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").fetchall()}
    empty = [t for t, n in counts.items() if n == 0]
    db.execute("VACUUM")
    db.close()
    print(out, os.path.getsize(out), "bytes;", counts)
    if empty:
        raise SystemExit(f"tables left empty: {empty}")


if __name__ == "__main__":
    main()
