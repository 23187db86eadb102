"""Adds OTLP files to a catalog (created when missing) through otlp_ingest.

Each FILE (or - for standard input) is one of:
  - OTLP/JSON: one export request of any signal (a .json file);
  - JSON Lines: one export request per line, as the OpenTelemetry
    Collector's file exporter writes them (format: json);
  - OTLP/protobuf with --signal: one export request per file, or with
    --framing a stream of length-prefixed requests (be32: the Collector's file
    exporter with format: proto; le32: this project's otlp_gen);
and may be gzip-compressed (any of them). Requests are written in
transactions of --batch requests; a progress line with records/s appears on
long inputs, and a summary at the end. A request otlp_ingest refuses stops
the run with its reason, file and request number (exit 2): the batches
committed before it stay, the failing batch is rolled back.
"""
import gzip
import io
import json
import os
import struct
import sys
import time

from ._common import UsageError, check_catalog, has_catalog_tables, open_catalog

SIGNALS = ("traces", "metrics", "logs")


def add_arguments(p):
    p.add_argument("--db", required=True, metavar="CATALOG", help="the catalog file (created when missing)")
    p.add_argument("files", nargs="+", metavar="FILE", help="OTLP files, or - for standard input")
    p.add_argument("--signal", choices=SIGNALS, help="the signal of protobuf input (every FILE is then protobuf)")
    p.add_argument("--framing", choices=("none", "be32", "le32"), default="none",
                   help="protobuf: one request per file (none, default) or 4-byte length-prefixed requests")
    p.add_argument("--batch", type=int, default=100, metavar="N", help="requests per transaction (default 100)")
    p.add_argument("--progress", type=float, metavar="SECONDS",
                   help="seconds between progress lines (default 1 on a terminal, 5 otherwise; 0: after every batch)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress line and no summary")


def _open(name):
    """A binary stream of the file's content, gunzipped when it is gzip."""
    raw = sys.stdin.buffer if name == "-" else open(name, "rb")
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered)
    return buffered


def requests(name, signal, framing):
    """(request number, payload) of one input."""
    f = _open(name)
    try:
        if signal:
            if framing == "none":
                yield 1, f.read()
                return
            fmt = ">I" if framing == "be32" else "<I"
            n = 0
            while True:
                head = f.read(4)
                if not head:
                    return
                if len(head) < 4:
                    raise UsageError(f"{name}: truncated length prefix after request {n}")
                (size,) = struct.unpack(fmt, head)
                body = f.read(size)
                if len(body) < size:
                    raise UsageError(f"{name}: request {n + 1} is truncated ({len(body)} of {size} bytes): "
                                     f"is --framing {framing} right?")
                n += 1
                yield n, body
        first = f.readline()
        while first and not first.strip():
            first = f.readline()
        if not first:
            raise UsageError(f"{name}: empty input")
        if first.lstrip()[:1] not in (b"{", b"["):
            raise UsageError(f"{name}: not OTLP/JSON (it does not start with {{); for protobuf give --signal")
        try:
            json.loads(first)
            lines = True            # the first line is a whole JSON value: JSON Lines
        except ValueError:
            lines = False
        if not lines:
            yield 1, (first + f.read()).decode("utf-8", errors="replace")
            return
        n = 1
        yield n, first.decode("utf-8", errors="replace")
        for line in f:
            n += 1
            if line.strip():
                yield n, line.decode("utf-8", errors="replace")
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def counts(db):
    """Records in the catalog per signal (0 before the first ingest)."""
    if not has_catalog_tables(db):
        return {s: 0 for s in SIGNALS}
    q = lambda t: db.execute(f"SELECT coalesce(sum(total_sample_count), 0) FROM {t}").fetchone()[0]
    return {"traces": q("spans"), "metrics": q("metrics"), "logs": q("logs")}


class Progress:
    def __init__(self, quiet, every=None):
        self.quiet = quiet
        self.started = time.monotonic()
        self.shown = self.started
        self.tty = sys.stderr.isatty()
        self.dirty = False
        self.every = every if every is not None else (1.0 if self.tty else 5.0)

    def update(self, records, requests, force=False):
        now = time.monotonic()
        if self.quiet or (not force and now - self.shown < self.every):
            return
        self.shown = now
        rate = records / max(now - self.started, 1e-9)
        line = f"otelcat ingest: {requests:,} requests, {records:,} records, {rate:,.0f} records/s"
        sys.stderr.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        sys.stderr.flush()
        self.dirty = self.tty

    def done(self):
        if self.dirty:
            sys.stderr.write("\n")


def run(args):
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    if args.framing != "none" and not args.signal:
        raise UsageError("--framing is for protobuf input: give --signal too")
    if args.files.count("-") > 1:
        raise UsageError("standard input (-) can be read once")
    for name in args.files:
        if name != "-" and not os.path.isfile(name):
            raise UsageError(f"no such file: {name}")
    existed = os.path.isfile(args.db) and os.path.getsize(args.db) > 0
    db = open_catalog(args.db, readonly=False, must_exist=False)
    if existed and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] and not has_catalog_tables(db):
        check_catalog(db, args.db)       # an existing database with other tables: refuse
    db.execute("PRAGMA cache_size = -65536")   # 64 MiB: commits do not spill (docs/catalog.md)
    before = counts(db)
    progress = Progress(args.quiet, args.progress)
    n_requests = 0
    pending = 0
    base = sum(before.values())
    sql_plain = "INSERT INTO otlp_ingest(payload) VALUES (?)"
    sql_signal = "INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)"

    def commit():
        nonlocal pending
        db.execute("COMMIT")
        pending = 0
        progress.update(sum(counts(db).values()) - base, n_requests)

    try:
        for name in args.files:
            label = "standard input" if name == "-" else name
            try:
                for number, payload in requests(name, args.signal, args.framing):
                    if not db.in_transaction:
                        db.execute("BEGIN IMMEDIATE")
                    try:
                        if args.signal:
                            db.execute(sql_signal, (payload, args.signal))
                        else:
                            db.execute(sql_plain, (payload,))
                    except Exception as e:
                        where = f"line {number}" if not args.signal else f"request {number}"
                        raise UsageError(f"{label}, {where}: {' '.join(str(e).split())}") from None
                    n_requests += 1
                    pending += 1
                    if pending >= args.batch:
                        commit()
            except OSError as e:
                raise UsageError(f"{label}: {e.strerror or e}") from None
            except EOFError as e:
                raise UsageError(f"{label}: truncated gzip input ({e})") from None
        if db.in_transaction:
            commit()
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        progress.done()
        if not args.quiet and n_requests:
            after = counts(db)
            print(f"otelcat ingest: stopped; batches committed before the failure stay in {args.db} "
                  f"({sum(after.values()) - base:,} records)", file=sys.stderr)
        raise
    progress.done()
    after = counts(db)
    took = time.monotonic() - progress.started
    added = {s: after[s] - before[s] for s in SIGNALS}
    total = sum(added.values())
    if not args.quiet:
        print(f"otelcat ingest: {n_requests:,} requests from {len(args.files)} input(s): {added['traces']:,} spans, "
              f"{added['metrics']:,} data points, {added['logs']:,} log records in {took:.1f} s "
              f"({total / max(took, 1e-9):,.0f} records/s); {args.db} is {os.path.getsize(args.db) / 1e6:.1f} MB")
    return 0
