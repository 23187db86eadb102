#!/usr/bin/python3
"""What a commit costs per key row as the catalog outgrows the page cache
(issue 16): catalogs of 100 000 and 1 000 000 span key rows (10 000 or
100 000 span names x 10 attribute keys, written by otlp_ingest), then
commits of 1 000 spans of existing names drawn at random (10 000 key rows
each, spread over the whole catalog), with SQLite's default page cache
(2 MiB) and with the 64 MiB that examples/receiver sets.

    make bench-commit-rows      (or: /usr/bin/python3 bench/bench_commit_rows.py [EXT])

Figures: CPU seconds of this process (SQLite and the extension run in it;
time.process_time, user + system) of BEGIN; INSERT; COMMIT, divided by
the key rows the commit wrote, median of REPEAT commits; file catalog in
WAL mode, synchronous=NORMAL (as the receiver). EXT: another build.
"""
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "dist", "otelcat")
KEYS = 10
REPEAT = int(os.environ.get("REPEAT", "7"))
PER_COMMIT = 1000


def payload(names, rnd):
    spans = [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": n, "kind": 2,
              "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000000001000",
              "attributes": [{"key": f"attr.{k}", "value": {"stringValue": f"v{rnd.randrange(1000)}"}} for k in range(KEYS)]}
             for n in names]
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "svc"}}]}, "scopeSpans": [{"spans": spans}]}]})


def connect(path, cache_kib):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(f"PRAGMA cache_size = -{cache_kib}")
    return db


def main():
    rnd = random.Random(16)
    print(f"extension: {EXT}; CPU µs per key row written, median of {REPEAT} commits of {PER_COMMIT} spans "
          f"({PER_COMMIT * KEYS} key rows)")
    print("| span key rows | catalog MB | page cache 2 MiB | page cache 64 MiB |")
    print("| ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as d:
        for names in (10_000, 100_000):
            path = os.path.join(d, f"c{names}.db")
            db = connect(path, 65536)
            all_names = [f"op.{i:06d}" for i in range(names)]
            for i in range(0, names, 5000):
                db.execute("BEGIN")
                db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload(all_names[i:i + 5000], rnd),))
                db.execute("COMMIT")
            rows = db.execute("SELECT count(*) FROM span_keys").fetchone()[0]
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            size = os.path.getsize(path) / 1e6
            out = []
            for cache in (2000, 65536):
                db = connect(path, cache)
                times = []
                for _ in range(REPEAT):
                    p = payload(rnd.sample(all_names, PER_COMMIT), rnd)
                    t = time.process_time()
                    db.execute("BEGIN")
                    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (p,))
                    db.execute("COMMIT")
                    times.append(time.process_time() - t)
                db.close()
                out.append(statistics.median(times) / (PER_COMMIT * (KEYS + 1)) * 1e6)
            print(f"| {rows:,} | {size:.0f} | {out[0]:.1f} | {out[1]:.1f} |")


if __name__ == "__main__":
    main()
