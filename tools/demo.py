#!/usr/bin/python3
"""make demo: a realistic multi-service telemetry set ingested into demo.db, then
a report of what the catalog found.

The data comes from the project's deterministic generator (gen/ (otlp_gen),
profile "demo": a dozen services, with a few deliberately exploding keys: a
user id on a metric label, an unbounded URL in a span name, a request id on
logs, and a cart session token on checkout's spans that starts halfway
through the day the records cover). It is ingested through otlp_ingest, one transaction per 20 export
requests, as OTLP/protobuf.

    tools/demo.py [--db demo.db] [--replace] [--records N]

An existing --db file is never deleted unless --replace is given, and then
only when it is an otelcat catalog (or empty). The report is `otelcat report`
(python/otelcat/report.py), which works on any catalog:
    otelcat report --db catalog.db
"""
import argparse
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "dist", "otelcat")
GEN = os.path.join(ROOT, "target", "release", "otlp_gen")
# otlp_gen --time-scale for a day of 150 000 records (at scale 1 they cover
# about 100 s of spans, 300 s of metric collections, 150 s of log records).
DAY_SCALE = {"traces": 855, "metrics": 288, "logs": 575}


def frames(path):
    with open(path, "rb") as f:
        while True:
            head = f.read(4)
            if len(head) < 4:
                return
            (n,) = struct.unpack("<I", head)
            yield f.read(n)


def progress(label, done, total, started):
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.perf_counter() - started, 1e-9)
    end = "" if sys.stdout.isatty() else "\n"
    if sys.stdout.isatty() or done >= total or done % (total // 4 or 1) < (total // 15 or 1):
        sys.stdout.write(f"\r  {label:<8} [{'#' * filled}{'.' * (width - filled)}] {done:>9,}/{total:,} records  {rate:>10,.0f}/s{end}")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=os.path.join(ROOT, "demo.db"))
    ap.add_argument("--records", type=int, default=150_000, help="records per signal")
    ap.add_argument("--replace", action="store_true", help="rebuild --db when it exists (only if it is a catalog)")
    args = ap.parse_args()
    if os.path.exists(args.db):
        if not args.replace:
            sys.exit(f"demo: {args.db} exists; pass --replace to rebuild it (make demo does)")
        if os.path.getsize(args.db) > 0:
            with sqlite3.connect(f"file:{os.path.abspath(args.db)}?mode=ro", uri=True) as probe:
                try:
                    tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                except sqlite3.DatabaseError:
                    tables = {"?"}
            if not {"metrics", "spans", "logs"} <= tables:
                sys.exit(f"demo: {args.db} is not an otelcat catalog: not replacing it (choose another --db)")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(args.db + suffix):
                os.remove(args.db + suffix)
    tmp = tempfile.mkdtemp(prefix="otelcat-demo-")
    print(f"otelcat demo: generating {args.records:,} spans, {args.records:,} metric points and {args.records:,} log records")
    files = {}
    for signal in ("traces", "metrics", "logs"):
        out = os.path.join(tmp, signal + ".pb")
        truth = os.path.join(tmp, signal + ".truth.json")
        # Virtual time stretched so that each signal's records cover about
        # one day (from 2026-11-01 00:00 UTC): the history has hours to show.
        scale = max(1, round(DAY_SCALE[signal] * 150_000 / max(args.records, 1)))
        subprocess.run([GEN, "--signal", signal, "--format", "proto", "--records", str(args.records), "--batch", "500",
                        "--profile", "demo", "--seed", "2026", "--time-scale", str(scale), "--out", out, "--truth", truth],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        files[signal] = out

    db = sqlite3.connect(args.db, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    print(f"ingesting into {os.path.relpath(args.db)} through otlp_ingest (OTLP/protobuf, one transaction per 20 requests)")
    t_all = time.perf_counter()
    for signal, path in files.items():
        started = time.perf_counter()
        payloads = list(frames(path))
        done, per = 0, args.records / max(len(payloads), 1)
        for i in range(0, len(payloads), 20):
            db.execute("BEGIN")
            for p in payloads[i:i + 20]:
                db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (p, signal))
            db.execute("COMMIT")
            done = min(args.records, int((i + 20) * per))
            progress(signal, done, args.records, started)
        if sys.stdout.isatty():
            print()
    took = time.perf_counter() - t_all
    print(f"done: {3 * args.records:,} records in {took:.1f} s ({3 * args.records / took:,.0f} records/s), "
          f"catalog {os.path.getsize(args.db) / 1e6:.1f} MB\n")
    db.close()
    report(args.db)


def report(db_path):
    """`otelcat report` on the demo catalog, from this checkout."""
    sys.path.insert(0, os.path.join(ROOT, "python"))
    os.environ.setdefault("OTELCAT_LOADABLE_PATH", EXT)
    from otelcat.cli import main as otelcat
    sys.stdout.flush()
    otelcat(["report", "--db", db_path])
    print(f"\nExplore further: sqlite3 {os.path.relpath(db_path)} -cmd '.load dist/otelcat'   (docs/cookbook.md), "
          "or make explore (Datasette)")


if __name__ == "__main__":
    main()
