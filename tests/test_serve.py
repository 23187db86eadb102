"""otelcat serve (python/otelcat/serve*.py), run as `python -m otelcat serve`
from the source tree: OTLP/gRPC (the three Export services, gzip, status
codes with RetryInfo / BadRequest details), the official Python SDK's gRPC
and HTTP exporters over TLS with a bearer token, tokens refused, a catalog
locked by another writer for longer than any busy timeout, slow and huge
clients, connection limits, shutdown with gRPC calls in flight, and startup
errors. OTLP/HTTP's answers are tested through examples/receiver (the same
server with gRPC off) in test_receiver.py.

The gRPC tests need grpcio (tests/requirements.txt); without it they skip
and say why."""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import unittest
import urllib.error

from helpers import EXT, ROOT, connect
from otlp_payloads import logs, log as log_record, span, traces
from test_receiver import JSON, PB, Receiver, Tmp, catalog, fixture, parse_proto, parse_status, post

try:
    import grpc
    NO_GRPC = None
except ImportError as e:  # pragma: no cover - reported as a skip
    grpc, NO_GRPC = None, f"grpcio is not installed ({e}); install tests/requirements.txt"

needs_grpc = unittest.skipIf(grpc is None, NO_GRPC or "")
METHODS = {"traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
           "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
           "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export"}
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def serve_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    env["OTELCAT_LOADABLE_PATH"] = EXT
    return env


class Serve(Receiver):
    """`python -m otelcat serve` on free HTTP and gRPC ports."""

    def __init__(self, db, *args, grpc_port="0"):
        super().__init__(db, cmd=[sys.executable, "-m", "otelcat", "serve", "--db", db, "--http", "0", "--grpc",
                                  grpc_port, *args], env=serve_env())


def call(port, signal_, body, metadata=None, compression=None, creds=None, timeout=20):
    """(status name, response bytes or details, trailing metadata dict) of one
    Export call with raw bytes."""
    target = f"localhost:{port}" if creds else f"127.0.0.1:{port}"
    ch = grpc.secure_channel(target, creds) if creds else grpc.insecure_channel(target)
    try:
        rpc = ch.unary_unary(METHODS[signal_])
        try:
            return "OK", rpc(body, timeout=timeout, metadata=metadata, compression=compression), {}
        except grpc.RpcError as e:
            return e.code().name, e.details(), dict(e.trailing_metadata() or ())
    finally:
        ch.close()


def status_details(trailers):
    """(code, message, [type urls], retry delay seconds or None) of the
    google.rpc.Status in grpc-status-details-bin."""
    st = parse_status(trailers["grpc-status-details-bin"])
    delay = None
    for url, value in st[3]:
        if url == RETRY_INFO:
            delay = dict(parse_proto(dict(parse_proto(value))[1])).get(1, 0)
    return st[1], st.get(2, ""), [u for u, _ in st[3]], delay


def spans(db_path):
    """{span name: total_sample_count}."""
    db = connect(db_path)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'spans'").fetchone():
            return {}
        return dict(db.execute("SELECT name, total_sample_count FROM spans"))
    finally:
        db.close()


def make_cert(d):
    """A self-signed certificate for localhost and 127.0.0.1 (openssl)."""
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    # what X509_STRICT verification (urllib3 2) wants of a self-signed anchor
                    "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
                    "-addext", "extendedKeyUsage=serverAuth"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class ServeTmp(Tmp):
    def serve(self, *args, **kw):
        r = Serve(self.db, *args, **kw)
        self.receivers.append(r)
        return r


# --- OTLP/gRPC ----------------------------------------------------------------

@needs_grpc
class TestGRPC(ServeTmp):
    def test_three_services_store_what_otlp_ingest_stores(self):
        r = self.serve()
        ref = connect(os.path.join(self.dir, "ref.db"))
        for name, signal_ in (("trace", "traces"), ("metrics", "metrics"), ("logs", "logs"), ("events", "logs")):
            with self.subTest(name):
                body = fixture(name + ".pb")
                self.assertEqual(call(r.grpc_port, signal_, body), ("OK", b"", {}))
                self.assertEqual(call(r.grpc_port, signal_, body, compression=grpc.Compression.Gzip), ("OK", b"", {}))
                for _ in range(2):
                    ref.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (body, signal_))
        ref.close()
        self.stop(r)
        got = catalog(self.db)
        self.assertEqual(got, catalog(os.path.join(self.dir, "ref.db")))
        self.assertEqual(got["spans"], [("I'm a server span", "Server", 2, 0, 0)])

    def test_bad_payloads_are_invalid_argument_with_a_bad_request_and_write_nothing(self):
        r = self.serve()
        for signal_, body in (("traces", fixture("trace.pb")[:40]), ("logs", fixture("trace.pb")),
                              ("metrics", b"\x0a\x05garbage")):
            with self.subTest(signal_):
                code, details, trailers = call(r.grpc_port, signal_, body)
                self.assertEqual(code, "INVALID_ARGUMENT")
                self.assertTrue(details.startswith(f"otlp_ingest: invalid OTLP/protobuf {signal_} request at byte "),
                                details)
                self.assertEqual(status_details(trailers), (3, details, [BAD_REQUEST], None))
                self.assertNotIn("google.rpc.retryinfo-bin", trailers)
        # An empty request is a success; other methods are not served.
        self.assertEqual(call(r.grpc_port, "metrics", b""), ("OK", b"", {}))
        ch = grpc.insecure_channel(f"127.0.0.1:{r.grpc_port}")
        with self.assertRaises(grpc.RpcError) as e:
            ch.unary_unary("/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export")(b"", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        ch.close()
        self.stop(r)
        self.assertEqual(spans(self.db), {})

    def test_over_the_size_limit_is_resource_exhausted_as_sent_and_inflated(self):
        r = self.serve("--max-request-mib", "1")
        limit = 1 << 20
        code, details, trailers = call(r.grpc_port, "traces", b"\x00" * (limit + 1))
        self.assertEqual(code, "RESOURCE_EXHAUSTED", details)
        # A gzip bomb: small as sent, over the limit inflated.
        big = fixture("trace.pb") + b"\x2a\x00" * limit  # trace + padding fields (unknown field 5, empty)
        code, details, trailers = call(r.grpc_port, "traces", big, compression=grpc.Compression.Gzip)
        self.assertEqual(code, "RESOURCE_EXHAUSTED", details)
        # No RetryInfo: clients must not retry these.
        self.assertNotIn("google.rpc.retryinfo-bin", trailers)
        self.assertEqual(call(r.grpc_port, "traces", fixture("trace.pb"))[0], "OK")
        self.stop(r)
        self.assertEqual(spans(self.db), {"I'm a server span": 1})

    def test_concurrent_calls_are_batched_and_lose_nothing(self):
        r = self.serve("--linger-ms", "5")
        errors = []

        def client(w):
            ch = grpc.insecure_channel(f"127.0.0.1:{r.grpc_port}")
            rpc = ch.unary_unary(METHODS["traces"])
            for i in range(20):
                try:
                    rpc(fixture("trace.pb"), timeout=30)
                except grpc.RpcError as e:
                    errors.append(e.code())
            ch.close()

        ts = [threading.Thread(target=client, args=(w,)) for w in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        out = self.stop(r)
        committed, batches = map(int, re.search(r"stopped: (\d+) request\(s\) committed in (\d+) batch", out).groups())
        self.assertEqual(committed, 160)
        self.assertLess(batches, 160, "concurrent calls were not batched")
        self.assertEqual(spans(self.db), {"I'm a server span": 160})


# --- the SDKs' exporters over TLS with a token -----------------------------------

EMIT = r'''
import json, logging, sys
import grpc
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

grpc_port, http_port, cert_path, token, which = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
with open(cert_path, "rb") as f:
    creds = grpc.ssl_channel_credentials(root_certificates=f.read())
headers = {"authorization": f"Bearer {token}"}
grpc_endpoint = f"https://localhost:{grpc_port}"
exports = []


def recording(cls, name):
    class Recording(cls):
        def export(self, batch, *args, **kwargs):
            result = super().export(batch, *args, **kwargs)
            exports.append((name, result.name))
            return result
    return Recording


resource = Resource.create({"service.name": "shop"})
providers = []
if "grpc" in which:
    tp = TracerProvider(resource=resource)
    tp.add_span_processor(BatchSpanProcessor(recording(GrpcSpanExporter, "grpc traces")(
        endpoint=grpc_endpoint, credentials=creds, headers=headers, timeout=10)))
    tracer = tp.get_tracer("t")
    for i in range(5):
        with tracer.start_as_current_span("via grpc", kind=SpanKind.SERVER, attributes={"i": i}):
            pass
    reader = PeriodicExportingMetricReader(recording(OTLPMetricExporter, "grpc metrics")(
        endpoint=grpc_endpoint, credentials=creds, headers=headers, timeout=10), export_interval_millis=3_600_000)
    mp = MeterProvider(resource=resource, metric_readers=[reader])
    mp.get_meter("m").create_counter("orders", unit="{order}").add(3, {"method": "card"})
    lp = LoggerProvider(resource=resource)
    lp.add_log_record_processor(BatchLogRecordProcessor(recording(OTLPLogExporter, "grpc logs")(
        endpoint=grpc_endpoint, credentials=creds, headers=headers, timeout=10)))
    log = logging.getLogger("shop")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=lp))
    log.info("order o-1 placed")
    log.info("order o-2 placed")
    providers += [tp, mp, lp]
if "http" in which:
    hp = TracerProvider(resource=resource)
    hp.add_span_processor(BatchSpanProcessor(recording(HttpSpanExporter, "http traces")(
        endpoint=f"https://localhost:{http_port}/v1/traces", certificate_file=cert_path, headers=headers, timeout=10)))
    for i in range(4):
        with hp.get_tracer("t").start_as_current_span("via http", kind=SpanKind.CLIENT):
            pass
    providers.append(hp)
flushed = [p.force_flush(30_000) for p in providers]
for p in providers:
    p.shutdown()
print(json.dumps({"flushed": flushed, "exports": sorted(exports)}))
'''


def emit(d, grpc_port, http_port, cert, token, which="grpc,http", timeout=120):
    prog = os.path.join(d, "emit.py")
    with open(prog, "w") as f:
        f.write(EMIT)
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the
    # exporter's certificate_file: without them, the test certificate is used.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OTEL_") and k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    p = subprocess.run([sys.executable, prog, str(grpc_port), str(http_port), cert, token, which],
                       capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    return json.loads(p.stdout), p.stderr


@needs_grpc
@unittest.skipIf(shutil.which("openssl") is None, "the openssl command is needed to make a test certificate")
class TestSDKExportersTLSAndToken(ServeTmp):
    def setUp(self):
        super().setUp()
        self.cert, self.key = make_cert(self.dir)
        self.tokens = os.path.join(self.dir, "tokens")
        with open(self.tokens, "w") as f:
            f.write("# tokens of otelcat serve\n\ns3cret-one\nrotated-two\n")

    def test_python_sdk_grpc_and_http_exporters(self):
        r = self.serve("--tls-cert", self.cert, "--tls-key", self.key, "--token-file", self.tokens)
        self.assertTrue(r.url.startswith("https://127.0.0.1:"))
        self.assertIn(f"listening on grpcs://127.0.0.1:{r.grpc_port}", r.output())
        out, err = emit(self.dir, r.grpc_port, r.port, self.cert, "rotated-two")
        self.assertEqual(out["flushed"], [True] * 4, err)
        # Metrics are exported twice: by force_flush and at shutdown (cumulative).
        self.assertEqual(out["exports"], [["grpc logs", "SUCCESS"], ["grpc metrics", "SUCCESS"],
                                          ["grpc metrics", "SUCCESS"], ["grpc traces", "SUCCESS"],
                                          ["http traces", "SUCCESS"]], err)
        self.stop(r)
        db = connect(self.db)
        self.assertEqual(db.execute("SELECT name, kind, total_sample_count FROM spans ORDER BY 1").fetchall(),
                         [("via grpc", "Server", 5), ("via http", "Client", 4)])
        self.assertEqual(db.execute("SELECT key_count, estimated_cardinality FROM span_keys WHERE key_name = 'i'").fetchall(),
                         [(5, 5)])
        self.assertEqual(db.execute("SELECT name, type, unit, total_sample_count FROM metrics").fetchall(),
                         [("orders", "Sum", "{order}", 2)])
        self.assertEqual(db.execute("SELECT severity, service_name, template, count FROM log_body_templates").fetchall(),
                         [("INFO", "shop", "order o-<*> placed", 2)])

    def test_a_wrong_or_missing_token_is_refused_and_writes_nothing(self):
        r = self.serve("--tls-cert", self.cert, "--tls-key", self.key, "--token-file", self.tokens)
        out, err = emit(self.dir, r.grpc_port, r.port, self.cert, "s3cret-on")
        self.assertEqual(sorted({e[1] for e in out["exports"]}), ["FAILURE"], err)
        self.assertIn("UNAUTHENTICATED", err)
        self.assertIn("401", err)
        # By hand: no header, another scheme, a wrong token; TLS verified against the test certificate.
        ctx = ssl.create_default_context(cafile=self.cert)
        for headers in ({}, {"Authorization": "Basic czNjcmV0LW9uZQ=="}, {"Authorization": "Bearer s3cret-one "[:-2]}):
            with self.subTest(headers):
                c = http.client.HTTPSConnection("localhost", r.port, context=ctx, timeout=10)
                c.request("POST", "/v1/traces", fixture("trace.pb"), {"Content-Type": PB, **headers})
                resp = c.getresponse()
                body = resp.read()
                self.assertEqual((resp.status, resp.getheader("WWW-Authenticate")), (401, 'Bearer realm="otelcat"'))
                self.assertEqual(parse_status(body)[1], 16)
                c.close()
        with open(self.cert, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        for md in (None, (("authorization", "Bearer nope"),)):
            code, details, trailers = call(r.grpc_port, "traces", fixture("trace.pb"), metadata=md, creds=creds)
            self.assertEqual(code, "UNAUTHENTICATED", details)
        # The right token, by hand, both ways.
        c = http.client.HTTPSConnection("localhost", r.port, context=ctx, timeout=10)
        c.request("POST", "/v1/traces", fixture("trace.pb"), {"Content-Type": PB, "Authorization": "bearer s3cret-one"})
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        self.assertEqual(call(r.grpc_port, "traces", fixture("trace.pb"), metadata=(("authorization", "Bearer s3cret-one"),),
                              creds=creds)[0], "OK")
        # Plain HTTP on the TLS port is not served.
        c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            c.request("POST", "/v1/traces", fixture("trace.pb"), {"Content-Type": PB, "Authorization": "Bearer s3cret-one"})
            c.getresponse().read()
        c.close()
        self.stop(r)
        self.assertEqual(spans(self.db), {"I'm a server span": 2})


# --- another writer holds the lock ----------------------------------------------------

class LockHolder:
    """Another connection holding the catalog's write lock (BEGIN IMMEDIATE)."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("BEGIN IMMEDIATE")

    def release(self):
        self.db.execute("COMMIT")
        self.db.close()


@needs_grpc
class TestLockedCatalog(ServeTmp):
    def test_calls_wait_for_another_writer_longer_than_any_busy_timeout(self):
        r = self.serve("--request-timeout", "30")
        self.assertEqual(call(r.grpc_port, "traces", fixture("trace.pb"))[0], "OK")
        holder = LockHolder(self.db)
        results = {}

        def one(i):
            if i % 2:
                results[i] = call(r.grpc_port, "traces", fixture("trace.pb"))[0]
            else:
                results[i] = post(r.url + "/v1/traces", traces([span(f"h{i}")]))[0]

        ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        time.sleep(2.5)  # 25 of the writer's 100 ms lock attempts, and SQLite's busy handler in each
        self.assertEqual(results, {}, "answered while another writer held the lock")
        holder.release()
        for t in ts:
            t.join(30)
        self.assertEqual(results, {i: "OK" if i % 2 else 200 for i in range(8)})
        out = self.stop(r)
        self.assertIn("the catalog is locked by another writer: ", out)
        self.assertRegex(out, r"got the write lock after [\d.]+ s")
        self.assertEqual(spans(self.db), {"I'm a server span": 5, "h0": 1, "h2": 1, "h4": 1, "h6": 1})

    def test_past_the_request_deadline_answers_are_retryable_and_nothing_is_written(self):
        r = self.serve("--request-timeout", "1")
        holder = LockHolder(self.db)
        try:
            status, headers, body = post(r.url + "/v1/traces", traces([span("late")]))
            code, details, trailers = call(r.grpc_port, "traces", fixture("trace.pb"))
        finally:
            holder.release()
        self.assertEqual((status, headers["Retry-After"]), (503, "1"))
        st = json.loads(body)
        self.assertEqual(st["code"], 14)
        self.assertIn("the catalog stayed locked by another writer", st["message"])
        self.assertEqual(st["details"], [{"@type": RETRY_INFO, "retryDelay": "1s"}])
        self.assertEqual(code, "UNAVAILABLE")
        self.assertEqual(status_details(trailers), (14, details, [RETRY_INFO], 1))
        self.assertEqual(trailers["google.rpc.retryinfo-bin"], b"\x0a\x02\x08\x01")
        self.assertEqual(spans(self.db), {}, "a request answered 503 was written")
        # Sent again once the lock is free: stored once.
        self.assertEqual(post(r.url + "/v1/traces", traces([span("late")]))[0], 200)
        self.assertEqual(call(r.grpc_port, "traces", fixture("trace.pb"))[0], "OK")
        out = self.stop(r)
        self.assertIn("2 expired waiting", out)
        self.assertEqual(spans(self.db), {"late": 1, "I'm a server span": 1})

    def test_beyond_max_pending_bytes_requests_are_refused_retryably_at_once(self):
        r = self.serve("--max-pending-mib", "0.0001", "--request-timeout", "30")  # 104 bytes: the first waiting request is over it
        holder = LockHolder(self.db)
        first = threading.Thread(target=lambda: self.assertEqual(call(r.grpc_port, "traces", fixture("trace.pb"))[0], "OK"))
        first.start()
        time.sleep(0.5)  # the first request waits for the lock, holding its bytes
        status, headers, body = post(r.url + "/v1/traces", fixture("trace.pb"), PB)
        code, details, trailers = call(r.grpc_port, "traces", fixture("trace.pb"))
        self.assertTrue(first.is_alive())
        holder.release()
        first.join(30)
        self.assertEqual((status, headers["Retry-After"], parse_status(body)[1]), (503, "1", 14))
        self.assertIn("bytes of requests are waiting (--max-pending-mib)", parse_status(body)[2])
        self.assertEqual((code, status_details(trailers)[2:]), ("UNAVAILABLE", ([RETRY_INFO], 1)))
        self.stop(r)
        self.assertEqual(spans(self.db), {"I'm a server span": 1})

    @unittest.skipIf(shutil.which("openssl") is None, "the openssl command is needed to make a test certificate")
    def test_sdk_exporters_ride_out_a_lock_longer_than_the_request_timeout(self):
        # The exporters retry 503 / UNAVAILABLE (after RetryInfo's 1 s) until
        # the lock is free: every span is stored exactly once.
        cert, key = make_cert(self.dir)
        tokens = os.path.join(self.dir, "tokens")
        with open(tokens, "w") as f:
            f.write("tok\n")
        r = self.serve("--request-timeout", "1", "--tls-cert", cert, "--tls-key", key, "--token-file", tokens)
        holder = LockHolder(self.db)
        threading.Timer(3.0, holder.release).start()
        out, err = emit(self.dir, r.grpc_port, r.port, cert, "tok", which="grpc,http")
        self.assertEqual(sorted({e[1] for e in out["exports"]}), ["SUCCESS"], err)
        self.assertIn("UNAVAILABLE", err)  # the exporters did meet the lock
        log = self.stop(r)
        self.assertRegex(log, r"[1-9]\d* expired waiting")
        self.assertEqual(spans(self.db), {"via grpc": 5, "via http": 4})


# --- slow, huge and many clients ------------------------------------------------------

class TestFairness(ServeTmp):
    def test_a_slow_huge_upload_holds_up_no_one_and_ends_at_its_deadline(self):
        r = Serve(self.db, "--read-timeout", "8") if grpc else Receiver(self.db, "--read-timeout", "8")
        self.receivers.append(r)
        declared = 8 << 20
        state = {"sent": 0, "answer": None}

        def slow():
            s = socket.create_connection(("127.0.0.1", r.port), timeout=30)
            s.sendall(f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {JSON}\r\nContent-Length: {declared}\r\n\r\n"
                      .encode())
            try:
                for _ in range(400):  # 40 s at most, far less than the whole body needs
                    s.sendall(b" " * 1000)
                    state["sent"] += 1000
                    time.sleep(0.1)
            except OSError:
                pass
            try:
                state["answer"] = s.recv(4096)
            except OSError as e:
                state["answer"] = repr(e)
            s.close()

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)
        # Others are served meanwhile, over HTTP and gRPC.
        for i in range(10):
            self.assertEqual(post(r.url + "/v1/traces", traces([span(f"quick{i}")]))[0], 200)
            if grpc:
                self.assertEqual(call(r.grpc_port, "traces", fixture("trace.pb"))[0], "OK")
        self.assertTrue(t.is_alive(), "the slow upload ended before the others were served")
        t.join(60)
        self.assertLess(state["sent"], declared)
        self.assertTrue(isinstance(state["answer"], bytes) and state["answer"].startswith(b"HTTP/1.1 408 "), state)
        self.stop(r)
        self.assertEqual(spans(self.db), {**{f"quick{i}": 1 for i in range(10)}, **({"I'm a server span": 10} if grpc else {})})

    def test_headers_trickled_byte_by_byte_end_at_the_deadline(self):
        r = self.serve("--read-timeout", "2") if grpc else self.start("--read-timeout", "2")
        s = socket.create_connection(("127.0.0.1", r.port), timeout=30)
        s.sendall(b"POST /v1/traces HTTP/1.1\r\n")
        closed = False
        for _ in range(200):  # 20 s at most
            try:
                s.sendall(b"X")
                time.sleep(0.1)
            except OSError:
                closed = True
                break
            s.settimeout(0.001)
            try:
                if s.recv(1) == b"":
                    closed = True
                    break
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                closed = True
                break
            s.settimeout(30)
        s.close()
        self.assertTrue(closed, "a request trickling its headers kept its connection for 20 s")
        self.assertEqual(post(r.url + "/v1/traces", fixture("trace.pb"), PB)[0], 200)
        self.stop(r)

    def test_a_huge_request_is_refused_before_its_body_arrives(self):
        r = self.serve("--max-request-mib", "2") if grpc else self.start("--max-request-mib", "2")
        with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
            s.sendall(f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nContent-Length: {1 << 40}\r\n\r\n".encode())
            s.sendall(b"\x00" * 65536)
            answer = s.makefile("rb").read()
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer[:200])
        self.assertIn(b"Connection: close", answer)
        self.stop(r)

    def test_connections_beyond_the_limit_are_closed(self):
        r = self.serve("--max-connections", "2") if grpc else self.start("--max-connections", "2")
        conns = []
        for _ in range(2):
            c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
            c.request("POST", "/v1/traces", fixture("trace.pb"), {"Content-Type": PB})
            self.assertEqual(c.getresponse().read(), b"")
            conns.append(c)
        with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
            s.sendall(f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nContent-Length: 0\r\n\r\n".encode())
            try:
                self.assertEqual(s.recv(100), b"")
            except ConnectionResetError:
                pass
        conns.pop().close()
        end = time.monotonic() + 10
        while True:  # the slot frees once the server has seen the close
            try:
                self.assertEqual(post(r.url + "/v1/traces", fixture("trace.pb"), PB, timeout=5)[0], 200)
                break
            except (ConnectionError, http.client.RemoteDisconnected, urllib.error.URLError):
                self.assertLess(time.monotonic(), end)
                time.sleep(0.1)
        conns[0].close()
        out = self.stop(r)
        self.assertIn("connection refused: 2 connections are open (--max-connections)", out)
        self.assertEqual(spans(self.db), {"I'm a server span": 3})


# --- the writer's lock handling, with a scripted connection -------------------------

sys.path.insert(0, os.path.join(ROOT, "python"))
from otelcat.serve_common import Job  # noqa: E402
from otelcat.serve import App  # noqa: E402
from otelcat.serve_writer import Writer  # noqa: E402


def sqlite_error(code, message):
    e = sqlite3.OperationalError(message)
    e.sqlite_errorcode = code
    return e


class ScriptedDB:
    """A stand-in for the writer's connection that fails as told: plan maps
    (statement, nth time) to "busy" (SQLITE_BUSY, the transaction stays
    open), "busy-rollback" (SQLITE_BUSY and SQLite rolled the transaction
    back), "full" (SQLITE_FULL) or "bad" (a payload error). Records what
    each commit made durable. These lock paths cannot be provoked at will
    with SQLite in WAL mode (the writer takes the lock at BEGIN IMMEDIATE),
    so the writer's answer to them is tested here."""

    def __init__(self, plan):
        self.plan, self.seen = plan, {}
        self.in_transaction = False
        self.staged, self.committed = [], []

    def execute(self, sql, params=()):
        op = sql.split()[0]
        if op == "PRAGMA":
            return self
        self.seen[op] = self.seen.get(op, 0) + 1
        what = self.plan.get((op, self.seen[op]))
        if what in ("busy-rollback",):
            self.in_transaction, self.staged = False, []
        if what in ("busy", "busy-rollback"):
            raise sqlite_error(5, "database is locked")
        if what == "full":
            raise sqlite_error(13, "database or disk is full")
        if what == "bad":
            raise sqlite_error(1, "otlp_ingest: invalid OTLP/protobuf traces request at byte 0: bad")
        if what == "slow":
            time.sleep(1.5)
        if op == "BEGIN":
            self.in_transaction = True
        elif op == "INSERT":
            self.staged.append(params[0])
        elif op == "COMMIT":
            self.committed.append(list(self.staged))
            self.staged, self.in_transaction = [], False
        elif op == "ROLLBACK":
            self.staged, self.in_transaction = [], False
        return self

    def close(self):
        pass


class TestWriterLocks(unittest.TestCase):
    def run_writer(self, plan, n=5, deadline=30.0, **kw):
        db = ScriptedDB(plan)
        w = Writer(":memory:", None, **kw)
        w.open = lambda: db
        jobs = [Job(f"p{i}".encode(), "traces", False, time.monotonic() + deadline) for i in range(n)]
        for j in jobs:  # all queued before the writer starts: one batch
            w.submit(j)
        w.start()
        for j in jobs:
            self.assertTrue(j.done.wait(30))
        w.stop()
        w.join(30)
        self.assertFalse(w.is_alive())
        return db, [j.code for j in jobs], w.stats

    def everything_once_in_order(self, db, n=5):
        return [p for batch in db.committed for p in batch] == [f"p{i}".encode() for i in range(n)]

    def test_a_batch_rolled_back_by_a_lock_is_ingested_again_in_order(self):
        db, codes, stats = self.run_writer({("INSERT", 3): "busy-rollback"})
        self.assertEqual(codes, [200] * 5)
        self.assertEqual(db.committed, [[b"p0", b"p1", b"p2", b"p3", b"p4"]])
        self.assertEqual(stats["requeued"], 3)

    def test_a_commit_that_meets_a_lock_is_tried_again(self):
        db, codes, _ = self.run_writer({("COMMIT", 1): "busy", ("COMMIT", 2): "busy"})
        self.assertEqual(codes, [200] * 5)
        self.assertEqual(db.seen["COMMIT"], 3)
        self.assertTrue(self.everything_once_in_order(db))
        db, codes, stats = self.run_writer({("COMMIT", 1): "busy-rollback"})
        self.assertEqual(codes, [200] * 5)
        self.assertEqual(db.committed, [[b"p0", b"p1", b"p2", b"p3", b"p4"]])
        self.assertEqual(stats["requeued"], 5)

    def test_an_insert_that_meets_a_lock_in_an_open_transaction_is_tried_again(self):
        db, codes, _ = self.run_writer({("INSERT", 2): "busy"})
        self.assertEqual(codes, [200] * 5)
        self.assertTrue(self.everything_once_in_order(db))

    def test_begin_waits_for_the_lock_then_deadlines_expire(self):
        db, codes, stats = self.run_writer({("BEGIN", k): "busy" for k in range(1, 6)})
        self.assertEqual(codes, [200] * 5)
        self.assertEqual(stats["busy_waits"], 5)
        self.assertTrue(self.everything_once_in_order(db))
        db, codes, stats = self.run_writer({("BEGIN", k): "busy" for k in range(1, 10_000)}, deadline=0.3)
        self.assertEqual(codes, [503] * 5)
        self.assertEqual((db.committed, stats["expired"]), ([], 5))

    def test_a_request_is_answered_at_its_deadline_while_the_writer_is_inside_a_long_statement(self):
        # The writer cannot answer anyone while one request's INSERT runs;
        # the waiting front gives its own request up at the deadline.
        db = ScriptedDB({("INSERT", 1): "slow"})
        w = Writer(":memory:", None, linger_ms=0)
        w.open = lambda: db
        w.start()
        w.ready.wait()
        app = App(w, argparse.Namespace(verbose=False, max_request_mib=1, request_timeout=30, read_timeout=30,
                                        max_pending_mib=16), None)
        res = {}
        slow = threading.Thread(target=lambda: res.setdefault("slow", app.run(b"big", "traces", False,
                                                                               time.monotonic() + 30, "")))
        slow.start()
        time.sleep(0.3)  # the writer is inside the slow INSERT
        job = app.run(b"small", "traces", False, time.monotonic() + 0.2, "")
        self.assertEqual(job.code, 503)
        self.assertIn("until the request's deadline; retry later", job.message)
        self.assertTrue(slow.is_alive(), "answered only once the writer was free")
        slow.join(30)
        self.assertEqual(res["slow"].code, 200)
        w.stop()
        w.join(30)
        self.assertEqual(db.committed, [[b"big"]])
        self.assertEqual(w.stats["expired"], 1)

    def test_a_full_disk_at_the_commit_fails_the_batch_retryably_and_a_bad_payload_alone(self):
        db, codes, _ = self.run_writer({("COMMIT", 1): "full"})
        self.assertEqual((codes, db.committed), ([503] * 5, []))
        self.assertEqual(db.seen["ROLLBACK"], 1)
        db, codes, _ = self.run_writer({("INSERT", 2): "bad"})
        self.assertEqual(codes, [200, 400, 200, 200, 200])
        self.assertEqual(db.committed, [[b"p0", b"p2", b"p3", b"p4"]])


# --- shutdown and startup -------------------------------------------------------------

@needs_grpc
class TestShutdown(ServeTmp):
    def test_sigterm_answers_calls_in_flight_and_loses_nothing_acknowledged(self):
        # The server waits at most --shutdown-timeout for calls in flight
        # (then the writer and gRPC's grace, 5 s each); the test waits
        # longer than all of that, so a slow machine cannot fail it.
        r = self.serve("--batch-ms", "300", "--linger-ms", "300", "--shutdown-timeout", "15")
        acked, refused, lock = [], [], threading.Lock()
        sent = threading.Semaphore(0)
        stop_at = time.monotonic() + 20

        def client(w):
            ch = grpc.insecure_channel(f"127.0.0.1:{r.grpc_port}")
            rpc = ch.unary_unary(METHODS["logs"])
            for i in range(10_000):
                if time.monotonic() > stop_at or r.proc.poll() is not None:
                    break
                name = f"w{w}-{i}"
                sent.release()
                try:
                    rpc(logs([log_record(f"record {name}")], service=name).encode(), timeout=20)
                    with lock:
                        acked.append((name, time.monotonic()))
                except grpc.RpcError as e:
                    with lock:
                        refused.append(e.code())
                    time.sleep(0.01)
            ch.close()

        ts = [threading.Thread(target=client, args=(w,)) for w in range(6)]
        for t in ts:
            t.start()
        for _ in range(20):
            sent.acquire(timeout=10)
        signalled = time.monotonic()
        self.assertEqual(r.stop(timeout=60), 0, r.output())
        for t in ts:
            t.join(30)
        self.assertTrue([a for a in acked if a[1] > signalled], "no call in flight was answered after SIGTERM")
        self.assertTrue(set(refused) <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}, refused)
        db = connect(self.db)
        stored = {s for (s,) in db.execute("SELECT service_name FROM log_services")}
        self.assertEqual({n for n, _ in acked} - stored, set(), "acknowledged but not stored")


class TestStartup(Tmp):
    def run_serve(self, *args, python=None, env=None):
        return subprocess.run([python or sys.executable, "-m", "otelcat", "serve", *args], capture_output=True,
                              text=True, timeout=60, env=env or serve_env())

    def assertUsage(self, p, text):
        self.assertEqual(p.returncode, 2, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn(text, lines[0])

    def test_help(self):
        p = self.run_serve("--help")
        self.assertEqual(p.returncode, 0)
        for opt in ("--db", "--listen", "--http", "--grpc", "--tls-cert", "--tls-key", "--token-file",
                    "--max-request-mib", "--request-timeout", "--read-timeout", "--batch-size"):
            self.assertIn(opt, p.stdout)

    def test_input_errors_exit_2_with_one_line(self):
        db = os.path.join(self.dir, "c.db")
        empty = os.path.join(self.dir, "empty")
        open(empty, "w").close()
        self.assertUsage(self.run_serve("--db", os.path.join(self.dir, "no", "such", "dir.db"), "--http", "0",
                                        "--grpc", "off"), "cannot open")
        self.assertUsage(self.run_serve("--db", db, "--token-file", empty, "--http", "0", "--grpc", "off"),
                         "--token-file: ")
        self.assertUsage(self.run_serve("--db", db, "--token-file", os.path.join(self.dir, "nope"), "--http", "0",
                                        "--grpc", "off"), "--token-file: ")
        self.assertUsage(self.run_serve("--db", db, "--tls-cert", empty, "--http", "0", "--grpc", "off"),
                         "--tls-cert and --tls-key go together")
        self.assertUsage(self.run_serve("--db", db, "--tls-cert", empty, "--tls-key", empty, "--http", "0", "--grpc", "off"),
                         "cannot use --tls-cert")
        self.assertUsage(self.run_serve("--db", db, "--listen", "example.com"), "--listen takes an IP address")
        self.assertUsage(self.run_serve("--db", db, "--http", "off", "--grpc", "off"), "nothing to serve")
        self.assertUsage(self.run_serve("--db", db, "--max-request-mib", "65"), "at most 64")
        self.assertUsage(self.run_serve("--db", db, "--http", "seventy"), "argument --http: not a port number or 'off'")
        self.assertUsage(self.run_serve("--http", "0"), "the following arguments are required: --db")

    def test_a_port_taken_exits_2(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = str(s.getsockname()[1])
            self.assertUsage(self.run_serve("--db", self.db, "--http", port, "--grpc", "off"), f"cannot listen on 127.0.0.1:{port}")
            if grpc:
                self.assertUsage(self.run_serve("--db", self.db, "--http", "off", "--grpc", port), "gRPC: cannot listen on")

    def test_without_grpcio_grpc_is_off_unless_asked_for(self):
        # Debian's python3 has no grpcio: gRPC off with a warning, or an error when --grpc is given.
        if subprocess.run(["/usr/bin/python3", "-c", "import grpc"], capture_output=True).returncode == 0:
            self.skipTest("/usr/bin/python3 has grpcio")
        self.assertUsage(self.run_serve("--db", self.db, "--grpc", "0", python="/usr/bin/python3"),
                         "--grpc needs the grpcio package")
        r = Receiver(self.db, cmd=["/usr/bin/python3", "-m", "otelcat", "serve", "--db", self.db, "--http", "0"],
                     env=serve_env())
        self.receivers.append(r)
        self.assertIn("OTLP/gRPC is off: the grpcio package is not installed", r.output())
        self.assertIsNone(r.grpc_port)
        self.assertEqual(post(r.url + "/v1/traces", fixture("trace.pb"), PB)[0], 200)
        self.stop(r)

    def test_listens_on_loopback_unless_told_otherwise(self):
        r = Receiver(self.db, cmd=[sys.executable, "-m", "otelcat", "serve", "--db", self.db, "--http", "0", "--grpc", "off"],
                     env=serve_env())
        self.receivers.append(r)
        self.assertIn(f"listening on http://127.0.0.1:{r.port} (OTLP/HTTP)", r.output())
        self.stop(r)
        r = Receiver(self.db, cmd=[sys.executable, "-m", "otelcat", "serve", "--db", self.db, "--http", "0", "--grpc", "off",
                                   "--listen", "0.0.0.0"], env=serve_env())
        self.receivers.append(r)
        self.assertIn("without --token-file: anyone who reaches it can write to the catalog", r.output())
        self.stop(r)


if __name__ == "__main__":
    unittest.main()
