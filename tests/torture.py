"""Workloads and child processes for the crash and concurrency tests
(tests/test_crash.py): deterministic transactions of otlp_ingest payloads and
of drain_template lines, the same code for the child that is killed and for
the in-memory reference it is compared with, and the soak writers and
readers.

    python tests/torture.py ingest DB MODE SEED   ingest transactions N, N+1, ... until killed (N: the next
                                                  one after those in the file)
    python tests/torture.py drain DB MODE SEED    the same with drain_template lines
    python tests/torture.py writer DB W TXNS SECONDS MS soak writer W: TXNS transactions (0: until SECONDS
                                                        pass), busy timeout MS
    python tests/torture.py reader DB STOPFILE MS       soak reader: reads and checks totals until STOPFILE exists,
                                                        each read transaction held open MS more

The kill children write `ready N` once the file is open, `b N` before the
BEGIN of transaction N and `c N` only after its COMMIT returned, each line
written straight to the pipe (no buffering), so the parent knows which
transactions were committed when it killed the child.
"""
import json
import os
import random
import sqlite3
import sys
import time
import gzip

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import connect  # noqa: E402
from otlp_payloads import gauge, log, logs, span, traces  # noqa: E402

T0 = 1_700_000_000_000_000_000
PROGRESS = "CREATE TABLE IF NOT EXISTS torture_progress(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)"
SET_PROGRESS = "INSERT INTO torture_progress VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET n = excluded.n"
TEMPLATES = "CREATE TABLE IF NOT EXISTS torture_templates(n INTEGER, i INTEGER, partition TEXT, template TEXT, PRIMARY KEY (n, i))"


def rng(seed, n):
    return random.Random(seed * 1_000_003 + n)


# ---------------------------------------------------------------------------
# otlp_ingest transactions

BODIES = ["user {} logged in from 10.0.{}.{}", "disk {}% full on /dev/sd{}", "request {} took {} ms",
          "cache miss for key k{}", "connection closed by host{} port {}", "job {} finished with status {}",
          "retrying {} after {} attempts"]


def ingest_payloads(seed, n):
    """The payloads of transaction n: a list of groups, each group one
    INSERT statement (several rows in one statement exercise savepoints)."""
    rnd = rng(seed, n)
    t = T0 + n * 60 * 10**9
    spans = []
    for i in range(60):
        name = rnd.choice(["GET /users/{}".format(rnd.randrange(30)), "POST /orders", "db.query", "cache.get"])
        attrs = {"http.method": rnd.choice(["GET", "POST"]), "user.id": f"u{n}-{i}", "mid": f"m{rnd.randrange(300)}",
                 "n": rnd.randrange(1000), "ok": i % 3 == 0}
        if rnd.random() < 0.2:
            attrs["arr"] = [1, "x", rnd.randrange(4)]
        events = [("retry", {"attempt": rnd.randrange(4)})] if rnd.random() < 0.15 else ()
        links = [{"rel": f"r{rnd.randrange(9)}"}] if rnd.random() < 0.1 else ()
        spans.append(span(name, kind=1 + rnd.randrange(5), attrs=attrs, events=events, links=links, t=t + i * 10**6))
    tr = traces(spans, service=f"svc{n % 3}", host_name=f"h{rnd.randrange(5)}")
    recs = []
    for i in range(40):
        if rnd.random() < 0.05:
            body = "one-off event " + "".join(rnd.choice("abcdefghij") for _ in range(8))
        elif rnd.random() < 0.05:
            body = {"op": rnd.choice(["put", "get"]), "key": f"k{rnd.randrange(50)}"}
        else:
            b = rnd.choice(BODIES)
            body = b.format(*(rnd.randrange(200) for _ in range(b.count("{}"))))
        recs.append(log(body, severity_number=rnd.choice([9, 9, 13, 17, 5]), severity_text=None,
                        attrs={"code": rnd.randrange(20), "req": f"r{n}-{i}"}, t=t + i * 10**6))
    lg = logs(recs, service=f"svc{n % 2}")
    points = [({"queue": f"q{rnd.randrange(20)}", "host": f"h{rnd.randrange(100)}"}, float(i)) for i in range(30)]
    mt = gauge(f"queue.depth.{n % 4}", points, service=f"svc{n % 3}")
    more = logs([log(rnd.choice(BODIES).format(*(["x"] * 3)), severity_number=13, t=t)], service="svc9")
    # A metric name of its own per transaction: the catalog keeps growing.
    new = gauge(f"series.{n}", [({"k": "v"}, 1.0)], service="svc9")
    return [[tr], [lg, gzip.compress(mt.encode())], ["\n".join([more, traces([span("tail", t=t)], service="svc9"), new])]]


def prepare(db, mode):
    """The file's journal mode and the progress table (outside any transaction)."""
    if mode:
        got = db.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0]
        assert got.lower() == mode.lower(), (got, mode)
    db.execute(PROGRESS)
    db.execute(TEMPLATES)


def ingest_txn(db, seed, n):
    """Transaction n of the otlp_ingest workload, committed."""
    db.execute("BEGIN")
    for group in ingest_payloads(seed, n):
        db.execute("INSERT INTO otlp_ingest(payload) VALUES " + ", ".join(["(?)"] * len(group)), group)
    db.execute(SET_PROGRESS, (n,))
    db.execute("COMMIT")


# ---------------------------------------------------------------------------
# drain_template transactions

PATTERNS = ["connection closed by {} port {}", "user {} logged in", "session {} expired after {} s",
            "GET /api/items/{} returned {}", "worker {} picked job {}", "VM {}", "disk {} is {}% full",
            "failed to open {}: permission denied", "queue {} has {} messages", "{} retries left"]
WORDS = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa", "Paused", "Resumed"]
SMALL = '{"max_clusters": 12}'


def drain_lines(seed, n):
    rnd = rng(seed, n)
    out = []
    for _ in range(30):
        part = rnd.choice(["", "net", "small"])
        if rnd.random() < 0.25:
            line = " ".join(rnd.choice(WORDS) + rnd.choice(["", "x", "y"]) for _ in range(rnd.randrange(2, 6)))
        else:
            p = rnd.choice(PATTERNS)
            line = p.format(*(rnd.choice(WORDS + [str(rnd.randrange(500))]) for _ in range(p.count("{}"))))
        out.append((part, line))
    return out


def drain_txn(db, seed, n):
    """Transaction n of the drain workload: half the lines one statement
    each, half in one statement; the templates returned are kept."""
    lines = drain_lines(seed, n)
    db.execute("BEGIN")
    if n == 0:
        db.execute("SELECT drain_configure('small', ?)", (SMALL,)).fetchall()
    half = len(lines) // 2
    for i, (part, line) in enumerate(lines[:half]):
        db.execute("INSERT INTO torture_templates VALUES (?, ?, ?, drain_template(?, ?))", (n, i, part, line, part))
    db.execute("INSERT INTO torture_templates SELECT ?, ? + key, json_extract(value, '$[0]'), "
               "drain_template(json_extract(value, '$[1]'), json_extract(value, '$[0]')) FROM json_each(?)",
               (n, half, json.dumps(lines[half:])))
    db.execute(SET_PROGRESS, (n,))
    db.execute("COMMIT")


def drain_probes(seed):
    """Lines to match against a model, trained or not."""
    out = []
    for n in range(5):
        out += drain_lines(seed + 99, n)
    return out


# ---------------------------------------------------------------------------
# Comparing catalogs

def dump(db):
    """Every table of the file (the catalog, the drain models, otelcat_meta,
    the test's own tables) as sorted rows, blobs by their bytes, and the
    schema. Two dumps are equal only if every count, time, sketch, sample
    list, template and model row is."""
    names = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    out = {"schema": sorted(db.execute("SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"))}
    for t in names:
        out[t] = sorted(db.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
    return out


def first_difference(a, b):
    """A short description of where two dumps differ (None when equal)."""
    for t in sorted(set(a) | set(b)):
        ra, rb = a.get(t), b.get(t)
        if ra == rb:
            continue
        if ra is None or rb is None:
            return f"table {t}: only in {'the reference' if ra is None else 'the file'}"
        sa, sb = set(ra), set(rb)
        only_a, only_b = sorted(sa - sb, key=repr)[:3], sorted(sb - sa, key=repr)[:3]
        return f"table {t}: {len(ra)} rows in the file, {len(rb)} in the reference; file only: {only_a!r:.600}; reference only: {only_b!r:.600}"
    return None


# ---------------------------------------------------------------------------
# Soak: several writers, several readers

SOAK_SPANS, SOAK_POINTS = 20, 10
SOAK_LOGS = {"INFO": 8, "ERROR": 4}   # records per transaction and writer
SOAK_PROGRESS = "CREATE TABLE IF NOT EXISTS soak_progress(writer TEXT PRIMARY KEY, n INTEGER NOT NULL)"


def soak_payloads(w, n):
    t = T0 + n * 10**9
    svc = f"w{w}"
    sp = traces([span(f"op{i % 4}", attrs={"writer": svc, "i": i, "txn": n}, t=t + i) for i in range(SOAK_SPANS)], service=svc)
    recs = []
    for sev, count in SOAK_LOGS.items():
        num = {"INFO": 9, "ERROR": 17}[sev]
        recs += [log(f"writer {svc} step {n} item {i} done" if i % 2 else f"request {n * 100 + i} from {svc} failed",
                     severity_number=num, severity_text=None, attrs={"i": i}, t=t + i) for i in range(count)]
    lg = logs(recs, service=svc)
    mt = gauge("soak.gauge", [({"writer": svc, "i": str(i)}, float(n)) for i in range(SOAK_POINTS)], service=svc)
    return [sp, lg, mt]


def write_soak_txn(db, w, n, stats):
    """One whole transaction of writer w, however long it takes to get the
    write lock. What a writer must do with several writers on one WAL file:
      * set a busy timeout, so BEGIN IMMEDIATE waits for the lock instead of
        failing at once with "database is locked";
      * open the transaction with BEGIN IMMEDIATE (it takes the write lock
        first; a deferred BEGIN that read first can fail with
        SQLITE_BUSY_SNAPSHOT, which no waiting cures);
      * if BEGIN IMMEDIATE still fails with SQLITE_BUSY (the timeout ran
        out), try again; if a statement inside fails, ROLLBACK and redo the
        whole transaction; a COMMIT that fails with SQLITE_BUSY leaves the
        transaction open: retry the COMMIT (or ROLLBACK and redo)."""
    while True:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            stats["begin_busy"] += 1
            time.sleep(0.001)
            continue
        try:
            for p in soak_payloads(w, n):
                db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (p,))
            db.execute("INSERT INTO soak_progress VALUES (?, ?) ON CONFLICT(writer) DO UPDATE SET n = excluded.n",
                       (f"w{w}", n))
        except sqlite3.Error:
            stats["rolled_back"] += 1
            db.execute("ROLLBACK")
            continue
        while True:
            try:
                db.execute("COMMIT")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e) or not db.in_transaction:
                    raise
                stats["commit_busy"] += 1


def soak_expected(progress):
    """Catalog totals implied by whole transactions: progress maps writer
    name to transactions committed."""
    total = sum(progress.values())
    return {
        "spans": total * SOAK_SPANS,
        "span_services": {w: n * SOAK_SPANS for w, n in progress.items()},
        "logs": {sev: total * c for sev, c in SOAK_LOGS.items()} if total else {},
        "log_services": {(sev, w): n * c for w, n in progress.items() for sev, c in SOAK_LOGS.items()},
        "points": total * SOAK_POINTS,
        "metric_services": {w: n * SOAK_POINTS for w, n in progress.items()},
    }


def soak_read(db, hold=0.0):
    """Totals in one read transaction (kept open `hold` seconds more), and
    every cross-table inconsistency seen in it (an empty list when the
    snapshot is whole)."""
    db.execute("BEGIN")
    try:
        q = lambda sql: db.execute(sql).fetchall()
        have = {r[0] for r in q("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        progress = dict(q("SELECT writer, n + 1 FROM soak_progress")) if "soak_progress" in have else {}
        if "spans" not in have:
            return progress, ([] if not progress else [f"progress {progress} without a catalog"])
        got = {
            "spans": q("SELECT coalesce(sum(total_sample_count), 0) FROM spans")[0][0],
            "span_services": dict(q("SELECT service_name, sum(sample_count) FROM span_services GROUP BY 1")),
            "logs": dict(q("SELECT severity, total_sample_count FROM logs")),
            "log_services": {(r[0], r[1]): r[2] for r in q("SELECT severity, service_name, sample_count FROM log_services")},
            "points": q("SELECT coalesce(sum(total_sample_count), 0) FROM metrics")[0][0],
            "metric_services": dict(q("SELECT service_name, sum(sample_count) FROM metric_services GROUP BY 1")),
        }
        cross = {
            "span_services per span = spans": q(
                "SELECT s.name, s.total_sample_count, v.n FROM spans s LEFT JOIN "
                "(SELECT span_name, sum(sample_count) n FROM span_services GROUP BY 1) v ON v.span_name = s.name "
                "WHERE v.n IS NOT s.total_sample_count"),
            "metric_services per metric = metrics": q(
                "SELECT m.name, m.total_sample_count, v.n FROM metrics m LEFT JOIN "
                "(SELECT metric_name, sum(sample_count) n FROM metric_services GROUP BY 1) v ON v.metric_name = m.name "
                "WHERE v.n IS NOT m.total_sample_count"),
            "log_services per severity = logs": q(
                "SELECT l.severity, l.total_sample_count, s.n FROM logs l JOIN "
                "(SELECT severity, sum(sample_count) n FROM log_services GROUP BY 1) s USING (severity) "
                "WHERE l.total_sample_count <> s.n"),
            "templates per (severity, service) = log_services": q(
                "SELECT s.severity, s.service_name, s.sample_count, t.n FROM log_services s LEFT JOIN "
                "(SELECT severity, service_name, sum(count) n FROM log_body_templates GROUP BY 1, 2) t "
                "USING (severity, service_name) WHERE t.n IS NOT s.sample_count"),
            "span_keys 'writer' = spans": q(
                "SELECT s.name, s.total_sample_count, k.key_count FROM spans s LEFT JOIN span_keys k "
                "ON k.span_name = s.name AND k.key_scope = 'attribute' AND k.key_name = 'writer' "
                "WHERE k.key_count IS NOT s.total_sample_count"),
        }
        if hold:
            time.sleep(hold)
    finally:
        db.execute("COMMIT")
    errors = [f"{k}: {v}" for k, v in cross.items() if v]
    want = soak_expected(progress)
    for k in want:
        if got[k] != want[k]:
            errors.append(f"{k}: read {got[k]}, whole transactions of {progress} give {want[k]}")
    if got["spans"] % SOAK_SPANS:
        errors.append(f"{got['spans']} spans is not a whole number of transactions")
    return progress, errors


# ---------------------------------------------------------------------------
# Child processes

def say(msg):
    os.write(1, (msg + "\n").encode())


def kill_child(kind, path, mode, seed):
    db = connect(path)
    db.execute("PRAGMA busy_timeout = 10000")
    prepare(db, mode)
    have = db.execute("SELECT n FROM torture_progress").fetchone()
    start = have[0] + 1 if have else 0
    txn = ingest_txn if kind == "ingest" else drain_txn
    say(f"ready {start}")
    n = start
    while True:
        say(f"b {n}")
        txn(db, seed, n)
        say(f"c {n}")
        n += 1


def writer_child(path, w, txns, seconds, timeout_ms):
    db = connect(path)
    db.execute("PRAGMA busy_timeout = 10000")
    db.execute("PRAGMA cache_size = -16384")
    db.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
    stats = {"begin_busy": 0, "commit_busy": 0, "rolled_back": 0}
    deadline = time.monotonic() + seconds
    n = 0
    while (n < txns) if txns else (time.monotonic() < deadline):
        write_soak_txn(db, w, n, stats)
        n += 1
    say(json.dumps({"writer": f"w{w}", "txns": n, **stats}))


def reader_child(path, stopfile, hold_ms):
    db = connect(path)
    db.execute("PRAGMA busy_timeout = 10000")
    reads, sizes, errors = 0, set(), []
    while True:
        stopping = os.path.exists(stopfile)   # then one last read, after the writers ended
        progress, errs = soak_read(db, hold_ms / 1000)
        reads += 1
        sizes.add(sum(progress.values()))
        errors += errs
        if reads == 1:
            say("ready")
        if stopping or len(errors) > 20:
            break
    say(json.dumps({"reads": reads, "distinct_totals": len(sizes), "errors": errors[:20]}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd in ("ingest", "drain"):
        kill_child(cmd, args[0], args[1], int(args[2]))
    elif cmd == "writer":
        writer_child(args[0], int(args[1]), int(args[2]), float(args[3]), int(args[4]))
    elif cmd == "reader":
        reader_child(args[0], args[1], float(args[2]))
    else:
        sys.exit(f"unknown command {cmd}")
