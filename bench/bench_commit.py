#!/usr/bin/python3
"""What one small commit costs as the catalog grows (issue 16): a
transaction of one log record into a (severity, service) that holds N
templates, one of a single span into a span name that holds N keys, and
one `SELECT drain_template(line, 'p')` statement in autocommit mode (its
own transaction: the model is saved at its end) into a partition of N
clusters, at N = 10, 1 000 and 10 000. A live receiver commits small batches all day:
the cost should follow what the commit changed, not N.

    make bench-commit            (or: /usr/bin/python3 bench/bench_commit.py [EXT])

Figures are CPU seconds of this process (SQLite and the extension run in
it) per commit, median of REPEAT commits, on a file catalog (rollback
journal, synchronous=OFF so that the disk does not count). EXT: another
build of the extension to compare (say main's dist/otelcat).
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
SIZES = [10, 1000, 10000]
REPEAT = int(os.environ.get("REPEAT", "15"))


def attr(k, v):
    return {"key": k, "value": {"stringValue": v}}


def res(service):
    return {"attributes": [attr("service.name", service)]}


def logs(bodies, service="svc"):
    return json.dumps({"resourceLogs": [{"resource": res(service), "scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1700000000000000000", "severityNumber": 9, "body": {"stringValue": b}} for b in bodies]}]}]})


def spans(name, key_sets, service="svc"):
    return json.dumps({"resourceSpans": [{"resource": res(service), "scopeSpans": [{"spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": name, "kind": 2,
         "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000000001000",
         "attributes": [attr(k, "v") for k in keys]} for keys in key_sets]}]}]})


def words(rnd, n):
    """n distinct lines of 6 random letter-only words: no two similar
    enough to share a template, so n templates."""
    letters = "bcdfghjklmnpqrstvwxz"
    out = set()
    while len(out) < n:
        out.add(" ".join("".join(rnd.choice(letters) for _ in range(7)) for _ in range(6)))
    return sorted(out)


def connect(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.execute("PRAGMA synchronous = OFF")
    return db


def per_commit(db, payload):
    """Median CPU seconds of BEGIN; INSERT payload; COMMIT."""
    times = []
    for _ in range(REPEAT):
        t = time.process_time()
        db.execute("BEGIN")
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload,))
        db.execute("COMMIT")
        times.append(time.process_time() - t)
    return statistics.median(times)


def main():
    rnd = random.Random(16)
    print(f"extension: {EXT}; CPU ms per commit, median of {REPEAT}")
    print(f"{'N':>6}  {'1 log record, N templates':>26}  {'1 span, N keys':>16}  {'drain_template, N clusters':>27}")
    with tempfile.TemporaryDirectory() as d:
        for n in SIZES:
            db = connect(os.path.join(d, f"t{n}.db"))
            lines = words(rnd, n)
            db.execute("BEGIN")
            for i in range(0, n, 1000):
                db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs(lines[i:i + 1000]),))
            db.execute("COMMIT")
            got = db.execute("SELECT count(*) FROM log_body_templates WHERE service_name = 'svc'").fetchone()[0]
            assert got == n, (got, n)
            t_log = per_commit(db, logs([lines[0]]))
            keys = [f"key.{i}" for i in range(n)]
            db.execute("BEGIN")
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)",
                       (spans("op", [keys[i:i + 1000] for i in range(0, n, 1000)]),))
            db.execute("COMMIT")
            got = db.execute("SELECT count(*) FROM span_keys WHERE span_name = 'op' AND key_scope = 'attribute'").fetchone()[0]
            assert got == n, (got, n)
            t_key = per_commit(db, spans("op", [keys[:1]]))
            # Wide tree and leaves, so that N distinct lines are N clusters.
            db.execute("""SELECT drain_configure('p', '{"max_children": 100000, "max_leaf_clusters": 100000}')""")
            db.execute("BEGIN")
            for line in lines:
                db.execute("SELECT drain_template(?, 'p')", (line,))
            db.execute("COMMIT")
            got = db.execute("SELECT count(*) FROM drain_clusters WHERE partition = 'p'").fetchone()[0]
            assert got == n, (got, n)
            times = []
            for i in range(REPEAT):
                t = time.process_time()
                db.execute("SELECT drain_template(?, 'p')", (lines[i % n],)).fetchall()
                times.append(time.process_time() - t)
            t_drain = statistics.median(times)
            print(f"{n:>6}  {t_log * 1000:>26.2f}  {t_key * 1000:>16.2f}  {t_drain * 1000:>27.2f}")
            db.close()


if __name__ == "__main__":
    main()
