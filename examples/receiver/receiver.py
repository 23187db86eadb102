#!/usr/bin/python3
"""otelcat OTLP/HTTP receiver: POST /v1/traces, /v1/metrics, /v1/logs into an
otelcat catalog (a SQLite file), through the otlp_ingest virtual table.

    /usr/bin/python3 examples/receiver/receiver.py --db catalog.db [--port 4318]

Python standard library only (Debian's python3: its sqlite3 module can load
extensions). HTTP threads read and check requests and queue them to one
writer thread, which owns the only database connection: each request is
one INSERT into otlp_ingest inside a batch transaction, committed every
--batch-size requests or --batch-ms milliseconds, whichever comes first. A
request is answered 200 only once its transaction has committed.
See README.md beside this file.
"""
import argparse
import json
import os
import queue
import signal
import socket
import sqlite3
import sys
import threading
import time
import traceback
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "0.1.0"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_EXT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "dist", "otelcat")
PATHS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}
PROTOBUF, JSON = "application/x-protobuf", "application/json"
MIB = 1 << 20
# The extension's own bound on a payload after inflating (max_payload_bytes).
MAX_INFLATED = 64 * MIB
# google.rpc.Code values used in Status messages.
INVALID_ARGUMENT, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE = 3, 8, 13, 14
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           413: "Content Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
           503: "Service Unavailable"}
# Errors of otlp_ingest that are about the payload (400), after "otlp_ingest: ".
PAYLOAD_ERRORS = ("invalid ", "OTLP payload too large", "the JSON payload holds another signal", "payload ",
                  "a protobuf payload needs")


def log(msg):
    sys.stderr.write(f"otelcat-receiver: {msg}\n")
    sys.stderr.flush()


# --- responses --------------------------------------------------------------

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def status_message(encoding, code, message):
    """A google.rpc.Status in the request's encoding: JSON, or protobuf by
    hand (field 1 `code` varint, field 2 `message` string)."""
    if encoding == JSON:
        return json.dumps({"code": code, "message": message}).encode()
    m = message.encode("utf-8", "replace")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(m)) + m


SUCCESS = {PROTOBUF: b"", JSON: b"{}"}  # empty Export*ServiceResponse


# --- the writer -------------------------------------------------------------

class Job:
    """One request on its way through the writer. `code` and `message` are
    set before `done` is."""
    __slots__ = ("payload", "signal", "is_json", "done", "code", "message")

    def __init__(self, payload, signal, is_json):
        self.payload, self.signal, self.is_json = payload, signal, is_json
        self.done = threading.Event()
        self.code, self.message = 0, ""

    def finish(self, code, message=""):
        self.code, self.message = code, message
        self.payload = None
        self.done.set()


STOP = object()
INSERT_PROTOBUF = "INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)"
INSERT_JSON = "INSERT INTO otlp_ingest(payload, signal) VALUES (CAST(? AS TEXT), ?)"


def classify(e):
    """HTTP status for an error of one INSERT: the payload's fault (400, 413
    for size limits), a transient database state (503), or ours (500)."""
    msg = str(e)
    if msg.startswith("otlp_ingest: "):
        rest = msg[len("otlp_ingest: "):]
        if "max_payload_bytes" in rest:
            return 413
        if rest.startswith(PAYLOAD_ERRORS):
            return 400
    if getattr(e, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL,
                                                      sqlite3.SQLITE_IOERR):
        return 503
    return 500


class Writer(threading.Thread):
    """Owns the connection. Ingests each request as it arrives, inside the
    open batch transaction (an INSERT into otlp_ingest that fails adds
    nothing, so a bad request needs no savepoint); commits when the batch holds
    batch_size requests, batch_ms after its first request, when no request
    has come for linger_ms, or at shutdown; then answers the batch's requests."""

    def __init__(self, db_path, ext, batch_size, batch_ms, linger_ms, busy_ms, synchronous, verbose=False,
                 cache_mb=64):
        super().__init__(name="otelcat-writer", daemon=True)
        self.db_path, self.ext = db_path, ext
        self.batch_size, self.batch_s = batch_size, batch_ms / 1000.0
        self.linger_s = min(linger_ms, batch_ms) / 1000.0
        self.busy_ms, self.synchronous, self.verbose = busy_ms, synchronous, verbose
        self.cache_mb = cache_mb
        self.q = queue.SimpleQueue()
        self.ready = threading.Event()
        self.dead = threading.Event()  # the loop failed: nothing is answered any more
        self.on_death = None
        self.error = None
        self.flush_now = False  # set at shutdown: commit without waiting
        self.stats = {"batches": 0, "requests": 0, "failed": 0, "busy": 0.0, "cpu": 0.0}

    def submit(self, job):
        self.q.put(job)

    def stop(self):
        self.q.put(STOP)

    def open(self):
        db = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=True, cached_statements=16)
        try:
            db.enable_load_extension(True)
            db.load_extension(self.ext)
            db.enable_load_extension(False)
        except AttributeError:
            raise SystemExit(f"{sys.executable}: this Python's sqlite3 module cannot load extensions; "
                             "run the receiver with Debian's /usr/bin/python3")
        db.execute(f"PRAGMA busy_timeout = {int(self.busy_ms)}")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal" and self.db_path != ":memory:":
            log(f"warning: journal_mode is {mode}, not wal")
        db.execute(f"PRAGMA synchronous = {self.synchronous}")
        # A page cache larger than the catalog: a commit rewrites most key
        # rows, and SQLite's default 2 MiB cache would spill and re-read them.
        db.execute(f"PRAGMA cache_size = {-1024 * int(self.cache_mb)}")
        return db

    def run(self):
        try:
            db = self.open()
        except BaseException as e:  # reported by main, which exits non-zero
            self.error = e
            self.ready.set()
            return
        self.ready.set()
        try:
            self.loop(db)
            self.stats["cpu"] = time.thread_time()
        except BaseException as e:  # a bug: answer everyone, then main exits 1
            self.error = e
            log("writer failed:\n" + traceback.format_exc())
            self.fail_all(getattr(self, "pending", []), f"receiver error: {e}")
            self.dead.set()
            while True:
                try:
                    job = self.q.get_nowait()
                except queue.Empty:
                    break
                if isinstance(job, Job):
                    job.finish(503, f"receiver error: {e}")
            if self.on_death:
                self.on_death()
        finally:
            try:
                db.close()
            except sqlite3.Error as e:
                log(f"closing the database: {e}")

    def loop(self, db):
        get, clock = self.q.get, time.monotonic
        self.pending = []     # jobs ingested in the open transaction, waiting for its commit
        self.handled = 0      # requests handled in the open transaction (ok or not)
        deadline = 0.0        # the open batch commits at the latest then
        self.last = 0.0       # when the last request was ingested
        stopping = False
        while True:
            job = None
            try:
                if stopping:
                    job = self.q.get_nowait()
                elif self.handled == 0:
                    job = get()
                else:
                    # Wait for more requests until the batch is due, or until
                    # none has come for linger_s (group commit).
                    wait = min(deadline, self.last + self.linger_s) - clock()
                    job = get(timeout=wait) if wait > 0 and not self.flush_now else self.q.get_nowait()
            except queue.Empty:
                pass
            if job is STOP:
                stopping, job = True, None
            if job is not None:
                if self.handled == 0:
                    try:
                        db.execute("BEGIN IMMEDIATE")
                    except sqlite3.Error as e:
                        job.finish(503, f"cannot start a transaction: {e}")
                        continue
                    deadline = clock() + self.batch_s
                self.ingest(db, job)
            # job is None: nothing arrived in time (or a wake-up at shutdown).
            if self.handled and (job is None or stopping or self.flush_now or self.handled >= self.batch_size
                                 or clock() >= deadline):
                self.commit(db, self.pending)
                self.pending, self.handled = [], 0
            if stopping and job is None and self.handled == 0:
                return

    def ingest(self, db, job):
        """One request, one INSERT in the batch transaction."""
        self.handled += 1
        t0 = time.monotonic()
        try:
            # CAST: JSON bytes (gzip-compressed or not) go in as TEXT, which
            # otlp_ingest always reads as OTLP/JSON, after inflating gzip.
            db.execute(INSERT_JSON if job.is_json else INSERT_PROTOBUF, (job.payload, job.signal))
        except sqlite3.Error as e:
            self.stats["busy"] += time.monotonic() - t0
            if not db.in_transaction:  # SQLite rolled the whole transaction back
                self.fail_all(self.pending + [job], f"the batch transaction was rolled back: {e}")
                self.pending, self.handled = [], 0
                return
            code = classify(e)
            self.stats["failed"] += 1
            job.finish(code, str(e))
            return
        self.last = time.monotonic()
        self.stats["busy"] += self.last - t0
        job.payload = None
        self.pending.append(job)

    def commit(self, db, pending):
        t0 = time.monotonic()
        try:
            db.execute("COMMIT")
        except sqlite3.Error as e:
            self.stats["busy"] += time.monotonic() - t0
            if db.in_transaction:
                db.execute("ROLLBACK")
            self.fail_all(pending, f"commit failed: {e}")
            return
        for j in pending:
            j.finish(200)
        self.stats["busy"] += time.monotonic() - t0
        self.stats["batches"] += 1
        self.stats["requests"] += len(pending)
        if self.verbose:
            log(f"batch: {len(pending)} request(s) committed in {1000 * (time.monotonic() - t0):.1f} ms")

    def fail_all(self, jobs, message):
        log(message)
        self.stats["failed"] += len(jobs)
        for j in jobs:
            j.finish(503, message)


# --- HTTP -------------------------------------------------------------------

class App:
    """What the handlers share: the writer, limits, and the in-flight count
    that shutdown waits on."""

    def __init__(self, writer, max_body, max_pending, verbose):
        self.writer, self.max_body, self.max_pending, self.verbose = writer, max_body, max_pending, verbose
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.inflight = 0
        self.pending_bytes = 0
        self.draining = False

    def enter(self):
        with self.lock:
            if self.draining:
                return False
            self.inflight += 1
            return True

    def leave(self):
        with self.lock:
            self.inflight -= 1
            if self.inflight == 0:
                self.idle.notify_all()

    def reserve(self, n):
        with self.lock:
            if self.pending_bytes + n > self.max_pending and self.pending_bytes > 0:
                return False
            self.pending_bytes += n
            return True

    def release(self, n):
        with self.lock:
            self.pending_bytes -= n

    def drain(self, timeout):
        """Refuse new requests and wait for those in flight to be answered."""
        end = time.monotonic() + timeout
        with self.lock:
            self.draining = True
            while self.inflight > 0:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.idle.wait(left)
        return True


class BodyError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otelcat-receiver/" + VERSION
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 30  # seconds a connection may sit idle or stall mid-request
    app = None    # set in main

    # --- helpers

    def send(self, code, ctype, body, headers=(), close=False):
        close = close or self.close_connection
        self.close_connection = close
        lines = [f"HTTP/1.1 {code} {REASONS.get(code, '')}", f"Server: {self.server_version}",
                 f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers]
        if close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" else head + body)
        if self.app.verbose:
            h = self.headers
            log(f'{self.address_string()} "{self.requestline}" {h.get("Content-Type", "-")} '
                f'{h.get("Content-Encoding", "-")} {h.get("Content-Length", "-")} -> {code} {len(body)}')

    def plain(self, code, text, headers=(), close=False):
        self.send(code, "text/plain; charset=utf-8", (text + "\n").encode(), headers, close)

    def status(self, code, encoding, grpc_code, message, headers=(), close=False):
        if encoding is None:
            return self.plain(code, message, headers, close)
        self.send(code, encoding, status_message(encoding, grpc_code, message), headers, close)

    def body_length(self):
        """Content-Length as an int; None for a chunked body."""
        te = self.headers.get("Transfer-Encoding", "").strip().lower()
        if te:
            if te != "chunked":
                raise BodyError(400, f"unsupported Transfer-Encoding {te!r}")
            return None
        cl = self.headers.get("Content-Length")
        if cl is None:
            return 0
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            raise BodyError(400, f"invalid Content-Length {cl!r}")
        return n

    def discard_body(self, cap=64 * MIB):
        """Reads and drops the request body (so the answer reaches a client
        that sends its whole body first); closes the connection instead
        when the body is larger than cap or unreadable."""
        try:
            n = self.body_length()
            if n is None or n > cap:
                self.close_connection = True
                return
            while n > 0:
                got = len(self.rfile.read(min(n, MIB)))
                if got == 0:
                    break
                n -= got
        except (BodyError, OSError):
            self.close_connection = True

    def read_body(self):
        n = self.body_length()
        limit = self.app.max_body
        if n is not None:
            if n > limit:
                self.discard_body()
                raise BodyError(413, f"request body of {n} bytes exceeds the limit of {limit} bytes")
            body = self.rfile.read(n)
            if len(body) != n:
                raise BodyError(400, "request body shorter than its Content-Length")
            return body
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BodyError(400, "malformed chunked body")
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > limit:
                self.close_connection = True
                raise BodyError(413, f"request body exceeds the limit of {limit} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise BodyError(400, "chunked body cut short")
            parts.append(chunk)
            self.rfile.readline(3)

    def check_head(self):
        """Path, method, media type and coding of a request, from its
        headers: (signal, encoding, coding) or an error response sent (None)."""
        path = self.path.split("?", 1)[0]
        signal = PATHS.get(path)
        if signal is None:
            self.plain(404, f"404 page not found: {path}; OTLP/HTTP paths are {', '.join(PATHS)}")
            return None
        if self.command != "POST":
            self.plain(405, "405 method not allowed, supported: [POST]", headers=[("Allow", "POST")])
            return None
        ctype = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if ctype not in (PROTOBUF, JSON):
            self.plain(415, f"415 unsupported media type, supported: [{JSON}, {PROTOBUF}]")
            return None
        coding = self.headers.get("Content-Encoding", "").strip().lower()
        if coding not in ("", "identity", "gzip", "deflate"):
            self.status(415, ctype, INVALID_ARGUMENT, f"unsupported Content-Encoding {coding!r}, supported: gzip, deflate")
            return None
        return signal, ctype, coding

    def handle_expect_100(self):
        # Answer a bad request before the client sends its body, and close
        # the connection (the client may or may not send the body anyway).
        keep = self.close_connection
        self.close_connection = True
        head = self.check_head()
        if head is not None:
            try:
                n = self.body_length()
            except BodyError as e:
                self.status(e.code, head[1], INVALID_ARGUMENT, str(e), close=True)
                return False
            if n is not None and n > self.app.max_body:
                self.status(413, head[1], RESOURCE_EXHAUSTED,
                            f"request body of {n} bytes exceeds the limit of {self.app.max_body} bytes", close=True)
                return False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.close_connection = keep
            return True
        return False

    # --- methods

    def do_POST(self):
        app = self.app
        if not app.enter():
            self.discard_body()
            return self.plain(503, "shutting down", headers=[("Retry-After", "1")], close=True)
        try:
            self.post(app)
        finally:
            app.leave()

    def post(self, app):
        head = self.check_head()
        if head is None:
            return self.discard_body()
        signal, ctype, coding = head
        try:
            body = self.read_body()
            if coding == "gzip" and body[:2] != b"\x1f\x8b":
                raise BodyError(400, "Content-Encoding is gzip but the body is not gzip data")
            if coding == "deflate":
                body = inflate(body)
        except BodyError as e:
            grpc = RESOURCE_EXHAUSTED if e.code == 413 else INVALID_ARGUMENT
            # A body that could not be read whole leaves the connection unusable.
            broken = e.code == 400 and not str(e).startswith(("Content-Encoding", "invalid deflate"))
            return self.status(e.code, ctype, grpc, str(e), close=broken)
        if not body:  # an empty protobuf message: an empty request, nothing to store
            if ctype == PROTOBUF:
                return self.send(200, ctype, SUCCESS[ctype])
            return self.status(400, ctype, INVALID_ARGUMENT, "empty request body")
        size = len(body)
        if not app.reserve(size):
            return self.status(503, ctype, UNAVAILABLE, "too many pending bytes, retry later",
                               headers=[("Retry-After", "1")])
        try:
            job = Job(body, signal, ctype == JSON)
            del body
            app.writer.submit(job)
            while not job.done.wait(1.0):
                if app.writer.dead.is_set():
                    job.finish(503, "receiver error")
        finally:
            app.release(size)
        if job.code == 200:
            return self.send(200, ctype, SUCCESS[ctype])
        grpc = {400: INVALID_ARGUMENT, 413: RESOURCE_EXHAUSTED, 503: UNAVAILABLE}.get(job.code, INTERNAL)
        hdrs = [("Retry-After", "1")] if job.code == 503 else []
        if app.verbose or job.code >= 500:
            log(f"{self.path}: {job.code} {job.message}")
        self.status(job.code, ctype, grpc, job.message, headers=hdrs)

    def not_post(self):
        if self.app.enter():
            try:
                self.check_head()
            finally:
                self.app.leave()
        else:
            self.plain(503, "shutting down", headers=[("Retry-After", "1")], close=True)
        self.discard_body()

    def __getattr__(self, name):
        # Every method other than POST: 405 on the OTLP paths, 404 elsewhere.
        if name.startswith("do_"):
            return self.not_post
        raise AttributeError(name)

    def log_message(self, fmt, *args):
        if self.app.verbose:
            log(f"{self.address_string()} {fmt % args}")


def inflate(body):
    d = zlib.decompressobj()  # zlib-wrapped deflate, as HTTP's "deflate" is
    try:
        out = d.decompress(body, MAX_INFLATED + 1)
    except zlib.error as e:
        raise BodyError(400, f"invalid deflate body: {e}")
    if len(out) > MAX_INFLATED or d.unconsumed_tail:
        raise BodyError(413, f"deflate body inflates to more than max_payload_bytes ({MAX_INFLATED})")
    return out


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ConnectionError, TimeoutError)):
            return  # the client went away
        super().handle_error(request, client_address)


# --- main -------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="receiver.py", description="OTLP/HTTP receiver writing an otelcat catalog.")
    p.add_argument("--db", required=True, help="catalog database file (created if missing)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 4318),
                   help="port (default $PORT or 4318; 0 picks a free one, printed at start)")
    p.add_argument("--ext", default=os.environ.get("OTELCAT_EXT", DEFAULT_EXT),
                   help="path of the extension, without suffix (default: dist/otelcat of this repository)")
    p.add_argument("--batch-size", type=int, default=512, help="commit after this many requests (default 512)")
    p.add_argument("--batch-ms", type=float, default=100.0,
                   help="commit this long after a batch's first request at the latest (default 100)")
    p.add_argument("--linger-ms", type=float, default=0.0,
                   help="commit once no request has arrived for this long (default 0: as soon as none is waiting); "
                        "equal to --batch-ms for strict size-or-time batches")
    p.add_argument("--max-body-mib", type=float, default=16.0, help="largest request body as sent (default 16 MiB)")
    p.add_argument("--max-pending-mib", type=float, default=256.0,
                   help="bodies waiting for the writer beyond this are refused with 503 (default 256 MiB)")
    p.add_argument("--busy-timeout-ms", type=int, default=10000, help="SQLite busy_timeout (default 10000)")
    p.add_argument("--synchronous", default="FULL", choices=["OFF", "NORMAL", "FULL", "EXTRA"],
                   help="PRAGMA synchronous (default FULL: a 200 survives a power cut)")
    p.add_argument("--cache-mb", type=int, default=64,
                   help="SQLite page cache of the writer connection, MiB (default 64; pages are allocated as used)")
    p.add_argument("--shutdown-timeout", type=float, default=30.0,
                   help="seconds to wait for requests in flight at shutdown (default 30)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request and batch")
    a = p.parse_args(argv)
    if a.batch_size < 1 or a.batch_ms < 0 or a.linger_ms < 0 or a.max_body_mib <= 0:
        p.error("--batch-size must be >= 1, --batch-ms and --linger-ms >= 0, --max-body-mib > 0")
    return a


def main(argv=None):
    a = parse_args(argv)
    writer = Writer(a.db, a.ext, a.batch_size, a.batch_ms, a.linger_ms, a.busy_timeout_ms, a.synchronous, a.verbose,
                    a.cache_mb)
    writer.start()
    writer.ready.wait()
    if writer.error is not None:
        e = writer.error
        log(f"cannot open {a.db}: {e}" if not isinstance(e, SystemExit) else str(e))
        return 2
    app = App(writer, int(a.max_body_mib * MIB), int(a.max_pending_mib * MIB), a.verbose)
    Handler.app = app
    if ":" in a.host:
        Server.address_family = socket.AF_INET6
    try:
        server = Server((a.host, a.port), Handler)
    except OSError as e:
        log(f"cannot listen on {a.host}:{a.port}: {e}")
        writer.stop()
        writer.join()
        return 2

    stop = threading.Event()
    signals = []

    def on_signal(signum, frame):
        signals.append(signum)
        if len(signals) > 1:
            log("second signal: exiting now (requests not yet answered are not acknowledged)")
            os._exit(1)
        stop.set()

    writer.on_death = stop.set
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="otelcat-http", daemon=True)
    t.start()
    started = time.monotonic()
    host, port = server.server_address[:2]
    host = f"[{host}]" if ":" in host else host
    log(f"listening on http://{host}:{port} (db {a.db}; batches of {a.batch_size} requests, {a.batch_ms:g} ms, linger {a.linger_ms:g} ms)")
    while not stop.wait(3600):
        pass
    log(f"{signal.Signals(signals[0]).name if signals else 'writer failed'}: shutting down")
    server.shutdown()      # no new connections
    server.server_close()
    writer.flush_now = True
    writer.submit(None)    # wake the writer so it commits what it holds now
    if not app.drain(a.shutdown_timeout):
        log(f"{app.inflight} request(s) still in flight after {a.shutdown_timeout:g} s")
    writer.stop()
    writer.join()
    s = writer.stats
    log(f"stopped: {s['requests']} request(s) committed in {s['batches']} batch(es), {s['failed']} refused; "
        f"writer busy {s['busy']:.2f} s of {time.monotonic() - started:.2f} s (CPU: writer {s['cpu']:.2f} s, "
        f"whole process {time.process_time():.2f} s)")
    return 1 if writer.dead.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
