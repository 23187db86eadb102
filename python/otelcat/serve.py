"""Receive OTLP over HTTP (protobuf and JSON, port 4318) and gRPC (port 4317)
into a catalog. Requests are batched into transactions by one writer; a
request is answered success only after its transaction has committed.
Listens on 127.0.0.1 unless --listen says otherwise; optional TLS
(--tls-cert/--tls-key) and bearer tokens (--token-file). SIGTERM or SIGINT
commits what is pending, answers it and exits 0.

exit status: 0 stopped by a signal, 1 the writer failed, 2 usage or input
error (database, port, certificate, token file).
"""
import argparse
import ipaddress
import os
import signal
import sys
import threading
import time

from .serve_common import MIB, Budget, Job, Tokens, log

DEFAULT_HTTP, DEFAULT_GRPC = 4318, 4317


class Usage(Exception):
    """An input error: one line, exit status 2."""


def _port(text):
    if text.lower() in ("off", "none", "no"):
        return False
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number or 'off': {text!r}")
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {n}")
    return n


def _one_line_error(parser):
    def error(message):
        sys.stderr.write(f"{parser.prog}: {message} (see {parser.prog} --help)\n")
        sys.exit(2)
    return error


def add_arguments(p):
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.error = _one_line_error(p)  # usage errors in one line, exit status 2
    p.add_argument("--db", required=True, help="catalog database file (created if missing)")
    g = p.add_argument_group("listening")
    g.add_argument("--listen", default="127.0.0.1", metavar="ADDR",
                   help="address of both listeners (default 127.0.0.1; 0.0.0.0 or :: for every interface)")
    g.add_argument("--http", type=_port, default=DEFAULT_HTTP, metavar="PORT",
                   help="OTLP/HTTP port (default 4318; 0 picks a free one; 'off' for none)")
    g.add_argument("--grpc", type=_port, default=None, metavar="PORT",
                   help="OTLP/gRPC port (default 4317 when the grpcio package is installed; 0 picks a free one; "
                        "'off' for none)")
    g.add_argument("--tls-cert", metavar="FILE", help="TLS certificate chain (PEM) for both listeners")
    g.add_argument("--tls-key", metavar="FILE", help="private key (PEM) of --tls-cert")
    g.add_argument("--token-file", metavar="FILE",
                   help="require 'Authorization: Bearer <token>' with a token of FILE (one a line); "
                        "others get 401 / UNAUTHENTICATED and write nothing")
    g = p.add_argument_group("limits")
    g.add_argument("--max-request-mib", type=float, default=20.0, metavar="MIB",
                   help="largest request, as sent and inflated (default 20; at most 64): 413 / RESOURCE_EXHAUSTED")
    g.add_argument("--max-pending-mib", type=float, default=256.0, metavar="MIB",
                   help="requests waiting for their commit beyond this many bytes get 503 / UNAVAILABLE "
                        "(default 256)")
    g.add_argument("--request-timeout", type=float, default=5.0, metavar="S",
                   help="a request not stored within S seconds (catalog locked by another writer, overload) is "
                        "answered 503 / UNAVAILABLE and not written (default 5; gRPC: sooner if the client's "
                        "deadline is)")
    g.add_argument("--read-timeout", type=float, default=30.0, metavar="S",
                   help="an HTTP request must arrive whole within S seconds (default 30)")
    g.add_argument("--max-connections", type=int, default=256, metavar="N",
                   help="HTTP connections served at once, and gRPC calls handled at once (default 256)")
    g = p.add_argument_group("batching and the database")
    g.add_argument("--batch-size", type=int, default=512, metavar="N",
                   help="a batch commits when it holds N requests (default 512)...")
    g.add_argument("--batch-ms", type=float, default=100.0, metavar="MS",
                   help="...or MS after its first request (default 100)...")
    g.add_argument("--linger-ms", type=float, default=2.0, metavar="MS",
                   help="...or when no request has come for MS (default 2)")
    g.add_argument("--synchronous", default="FULL", choices=["OFF", "NORMAL", "FULL", "EXTRA"],
                   help="PRAGMA synchronous (default FULL: an acknowledged request survives a power cut)")
    g.add_argument("--cache-mb", type=int, default=64, metavar="MB",
                   help="page cache of the writer connection (default 64; allocated as used)")
    g.add_argument("--shutdown-timeout", type=float, default=30.0, metavar="S",
                   help="at shutdown, how long to wait for requests in flight (default 30)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request and batch")


class App:
    """What the fronts share: the writer, limits, tokens, and the count of
    requests in flight that shutdown waits for."""

    def __init__(self, writer, args, tokens):
        self.writer, self.tokens, self.verbose = writer, tokens, args.verbose
        self.max_request = int(args.max_request_mib * MIB)
        self.request_timeout, self.read_timeout = args.request_timeout, args.read_timeout
        self.budget = Budget(int(args.max_pending_mib * MIB))
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.inflight = 0
        self.draining = False
        self.clock = time.monotonic

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

    def drain(self, timeout):
        """Refuses new requests; waits until those in flight are answered."""
        end = time.monotonic() + timeout
        with self.lock:
            self.draining = True
            while self.inflight:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.idle.wait(left)
        return True

    def run(self, payload, signal_, is_json, deadline, peer):
        """Hands a request to the writer and waits for its outcome."""
        size = len(payload)
        job = Job(payload, signal_, is_json, deadline, peer)
        if not self.budget.reserve(size):
            job.finish(503, f"not stored: more than {self.budget.limit} bytes of requests are waiting "
                            "(--max-pending-mib); retry later")
            return job
        try:
            self.writer.submit(job)
            del payload
            # Wait for the outcome; at the deadline, give the request up
            # unless the writer has taken it (even while the writer is busy
            # inside a long statement: no request waits on it past its deadline).
            while not job.done.wait(min(1.0, max(0.0, job.deadline - self.clock()) + 0.001)):
                if self.writer.dead.is_set():
                    job.finish(503, "not stored: receiver error")
                elif self.clock() >= job.deadline and job.expire(self.writer.expiry_message()):
                    self.writer.count_expired()
        finally:
            self.budget.release(size)
        return job

    def log_request(self, proto, peer, what, size, code):
        log(f"{peer} {proto} {what} {size} -> {code}")


def _validate(a):
    if a.batch_size < 1:
        raise Usage("--batch-size must be at least 1")
    for name in ("batch_ms", "linger_ms", "shutdown_timeout"):
        if getattr(a, name) < 0:
            raise Usage(f"--{name.replace('_', '-')} must be 0 or more")
    for name in ("request_timeout", "read_timeout", "max_pending_mib"):
        if getattr(a, name) <= 0:
            raise Usage(f"--{name.replace('_', '-')} must be more than 0")
    if not 0 < a.max_request_mib <= 64:
        raise Usage("--max-request-mib must be more than 0 and at most 64 (the extension's own bound)")
    if a.max_connections < 1:
        raise Usage("--max-connections must be at least 1")
    if bool(a.tls_cert) != bool(a.tls_key):
        raise Usage("--tls-cert and --tls-key go together")
    try:
        ipaddress.ip_address(a.listen)
    except ValueError:
        if a.listen != "localhost":
            raise Usage(f"--listen takes an IP address (or localhost), not {a.listen!r}")


def _load_grpc(explicit):
    try:
        from . import serve_grpc
        return serve_grpc
    except ImportError as e:
        if explicit:
            raise Usage(f"--grpc needs the grpcio package ({e}); install it (pip install grpcio) or use --grpc off")
        log(f"OTLP/gRPC is off: the grpcio package is not installed ({e})")
        return None


def run(args):
    try:
        return _run(args)
    except Usage as e:
        sys.stderr.write(f"otelcat serve: {e}\n")
        return 2


def _run(a):
    import otelcat
    from .serve_writer import Writer

    _validate(a)
    grpc_explicit = a.grpc is not None  # None: not given; False: off
    grpc_port = a.grpc if grpc_explicit else DEFAULT_GRPC
    serve_grpc = _load_grpc(grpc_explicit) if grpc_port is not False else None
    if a.http is False and serve_grpc is None:
        raise Usage("nothing to serve: --http off and no gRPC listener")

    tokens = None
    if a.token_file:
        try:
            tokens = Tokens.read(a.token_file)
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise Usage(f"--token-file: {e}")
    ssl_ctx = tls = None
    if a.tls_cert:
        from .serve_http import tls_context
        try:
            ssl_ctx = tls_context(a.tls_cert, a.tls_key)
            with open(a.tls_cert, "rb") as f:
                cert = f.read()
            with open(a.tls_key, "rb") as f:
                key = f.read()
            tls = (cert, key)
        except (OSError, ValueError) as e:
            raise Usage(f"cannot use --tls-cert {a.tls_cert} / --tls-key {a.tls_key}: {e}")
    loopback = a.listen == "localhost" or ipaddress.ip_address(a.listen).is_loopback
    if not loopback and tokens is None:
        log(f"warning: listening on {a.listen} without --token-file: anyone who reaches it can write to the catalog")
    if not loopback and tokens is not None and tls is None:
        log(f"warning: listening on {a.listen} with tokens but without TLS: tokens travel in clear text")

    writer = Writer(a.db, otelcat.load, a.batch_size, a.batch_ms, a.linger_ms, a.synchronous, a.cache_mb, a.verbose)
    writer.start()
    writer.ready.wait()
    if writer.error is not None:
        e = writer.error
        raise Usage(f"cannot open {a.db}: {e}")
    app = App(writer, a, tokens)

    fronts = []
    try:
        http = grpc_front = None
        if a.http is not False:
            from .serve_http import HTTPFront
            try:
                http = HTTPFront((a.listen, a.http), app, ssl_ctx, a.max_connections)
            except OSError as e:
                raise Usage(f"cannot listen on {a.listen}:{a.http} for HTTP: {e}")
            fronts.append(http)
        if serve_grpc is not None:
            try:
                grpc_front = serve_grpc.GRPCFront(app, a.listen, grpc_port, a.max_connections, tls)
            except OSError as e:
                raise Usage(f"gRPC: {e}")
    except Usage:
        for f in fronts:
            f.server_close()
        writer.stop()
        writer.join()
        raise

    stop = threading.Event()
    signals = []

    def on_signal(signum, frame):
        signals.append(signum)
        if len(signals) > 1:
            log("second signal: exiting now (requests not yet answered were not acknowledged)")
            os._exit(1)
        stop.set()

    writer.on_death = stop.set
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    host = f"[{a.listen}]" if ":" in a.listen else a.listen
    threads = []
    if http is not None:
        t = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.2}, name="otelcat-http", daemon=True)
        t.start()
        threads.append(t)
        log(f"listening on {'https' if tls else 'http'}://{host}:{http.server_address[1]} (OTLP/HTTP)")
    if grpc_front is not None:
        grpc_front.start()
        log(f"listening on {'grpcs' if tls else 'grpc'}://{host}:{grpc_front.port} (OTLP/gRPC)")
    log(f"db {a.db}; batches of up to {a.batch_size} requests or {a.batch_ms:g} ms, linger {a.linger_ms:g} ms"
        + ("; bearer tokens required" if tokens else ""))
    while not stop.wait(3600):
        pass

    log(f"{signal.Signals(signals[0]).name if signals else 'writer failed'}: shutting down")
    grace = None
    if http is not None:
        http.shutdown()      # no new connections
        http.server_close()
    if grpc_front is not None:
        grace = grpc_front.stop(a.shutdown_timeout)  # no new calls
    writer.flush_now = True
    writer.give_up_at = time.monotonic() + a.shutdown_timeout
    writer.wake()            # commit what it holds now
    if not app.drain(a.shutdown_timeout):
        log(f"{app.inflight} request(s) still in flight after {a.shutdown_timeout:g} s")
    writer.stop()
    writer.join(a.shutdown_timeout + 5)
    if grace is not None:
        grace.wait(5)
    s = writer.stats
    log(f"stopped: {s['requests']} request(s) committed in {s['batches']} batch(es), {s['failed']} refused, "
        f"{s['expired']} expired waiting; lock waits {s['busy_waits']} ({s['busy_s']:.2f} s); "
        f"writer in SQLite {s['sqlite_s']:.2f} s of {time.monotonic() - started:.2f} s (CPU: writer "
        f"{s['cpu']:.2f} s, whole process {time.process_time():.2f} s)")
    if writer.is_alive():
        log("the writer did not stop in time")
        return 1
    return 1 if writer.dead.is_set() else 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="otelcat serve", description=__doc__)
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
