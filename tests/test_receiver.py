"""OTLP/HTTP over real HTTP, through examples/receiver/receiver.py (the
`make receiver` entry point, a thin wrapper around `otelcat serve` with gRPC
off): responses as the OTLP/HTTP specification says, encodings, limits,
batching, a database locked by another writer, and shutdown that loses no
acknowledged request. Also defines Receiver, Tmp, post, parse_status and
catalog, which test_clients.py and test_serve.py use (test_serve.py covers
gRPC, TLS, tokens and the rest of otelcat serve)."""
import ctypes
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import zlib

from helpers import FIXTURES, ROOT, connect
from otlp_payloads import span, traces

RECEIVER = os.path.join(ROOT, "examples", "receiver", "receiver.py")
OTLP = os.path.join(FIXTURES, "otlp")
PB, JSON = "application/x-protobuf", "application/json"
CATALOG = ["metrics", "metric_services", "metric_keys", "spans", "span_services", "span_keys", "span_events",
           "logs", "log_services", "log_keys", "log_body_templates"]


def fixture(name):
    with open(os.path.join(OTLP, name), "rb") as f:
        return f.read()


def die_with_parent():
    """In the child: SIGKILL when the test process dies, however it dies
    (Linux prctl PR_SET_PDEATHSIG), so no receiver outlives a crashed run."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class Receiver:
    """receiver.py in a child process on free ports (--port 0: it prints the
    ports it got), against db. stop() sends SIGTERM and returns the exit
    code. cmd and env replace the command line and the environment (see
    test_serve.Serve)."""

    def __init__(self, db, *args, python=None, cmd=None, env=None):
        self.db = db
        self.log_path = db + ".receiver.log"
        self.log = open(self.log_path, "w+")
        cmd = cmd or [python or sys.executable, RECEIVER, "--db", db, "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=die_with_parent, env=env)
        end = time.monotonic() + 30
        while True:
            out = self.output()
            if "otelcat serve: db " in out:  # printed once every listener is up
                break
            if self.proc.poll() is not None or time.monotonic() > end:
                self.kill()
                raise AssertionError(f"receiver did not start:\n{out}")
            time.sleep(0.02)
        http = re.search(r"listening on (https?)://[^ ]+:(\d+) \(OTLP/HTTP\)", out)
        grpc = re.search(r"listening on grpcs?://[^ ]+:(\d+) \(OTLP/gRPC\)", out)
        self.port = int(http.group(2)) if http else None
        self.url = f"{http.group(1)}://127.0.0.1:{self.port}" if http else None
        self.grpc_port = int(grpc.group(1)) if grpc else None

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def post(url, body, ctype=JSON, headers=None, method="POST", timeout=30):
    """(status, headers, body) of one request, errors included."""
    if isinstance(body, str):
        body = body.encode()
    h = {"Content-Type": ctype} if ctype else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=body, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def parse_proto(body):
    """[(field number, value)] of a protobuf message: ints for varints,
    bytes for length-delimited fields."""
    out, i = [], 0

    def varint():
        nonlocal i
        n = shift = 0
        while True:
            b = body[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(body):
        key = varint()
        if key & 7 == 0:
            out.append((key >> 3, varint()))
        elif key & 7 == 2:
            n = varint()
            out.append((key >> 3, body[i:i + n]))
            i += n
        else:
            raise AssertionError(f"unexpected wire type in {body!r}")
    return out


def parse_status(body):
    """A protobuf google.rpc.Status: {1: code, 2: message, 3: [(type_url, value bytes)]}."""
    out = {1: 0, 3: []}
    for num, v in parse_proto(body):
        if num == 2:
            out[2] = v.decode()
        elif num == 3:
            any_ = dict(parse_proto(v))
            out[3].append((any_[1].decode(), any_.get(2, b"")))
        else:
            out[num] = v
    return out


def catalog(path):
    """The catalog as sorted rows, without sketches and times."""
    db = connect(path)
    try:
        out = {}
        for t in CATALOG:
            cols = [r[1] for r in db.execute(f"PRAGMA table_info({t})")
                    if r[1] not in ("hll_sketch", "series_sketch", "first_seen", "last_seen",
                                    # span status (tests/test_shape.py checks it)
                                    "status_unset_count", "status_ok_count", "status_error_count",
                                    # record bytes, dropped counts, trace context (test_ingest checks them)
                                    "bytes", "dropped_attributes_count", "dropped_events_count",
                                    "dropped_links_count", "trace_id_count", "span_id_count")]
            out[t] = sorted(db.execute(f"SELECT {', '.join(cols)} FROM {t}").fetchall(), key=repr) if cols else []
        return out
    finally:
        db.close()


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otelcat-receiver-")
        self.db = os.path.join(self.dir, "catalog.db")
        self.receivers = []

    def tearDown(self):
        for r in self.receivers:
            r.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, *args, db=None):
        r = Receiver(db or self.db, *args)
        self.receivers.append(r)
        return r

    def stop(self, r):
        self.assertEqual(r.stop(), 0, r.output())
        return r.output()


class TestResponses(Tmp):
    def test_fixtures_json_and_protobuf_give_empty_responses_and_the_direct_catalog(self):
        r = self.start()
        ref = connect(os.path.join(self.dir, "ref.db"))
        for name, signal_ in (("trace", "traces"), ("metrics", "metrics"), ("logs", "logs"), ("events", "logs")):
            with self.subTest(name):
                path = "/v1/" + signal_
                status, headers, body = post(r.url + path, fixture(name + ".json"), JSON)
                self.assertEqual((status, headers["Content-Type"], body), (200, JSON, b"{}"))
                status, headers, body = post(r.url + path, fixture(name + ".pb"), PB + "; charset=binary")
                self.assertEqual((status, headers["Content-Type"], body), (200, PB, b""))
                self.assertEqual(headers["Content-Length"], "0")
                ref.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (fixture(name + ".json").decode(),))
                ref.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (fixture(name + ".pb"), signal_))
        ref.close()
        self.stop(r)
        got = catalog(self.db)
        self.assertEqual(got, catalog(os.path.join(self.dir, "ref.db")))
        self.assertEqual(got["spans"], [("I'm a server span", "Server", 2, 0, 0)])

    def test_gzip_and_deflate(self):
        r = self.start()
        for ctype, body in ((JSON, fixture("trace.json")), (PB, fixture("trace.pb"))):
            with self.subTest(ctype):
                self.assertEqual(post(r.url + "/v1/traces", gzip.compress(body), ctype, {"Content-Encoding": "gzip"})[0], 200)
                self.assertEqual(post(r.url + "/v1/traces", zlib.compress(body), ctype, {"Content-Encoding": "deflate"})[0], 200)
                status, _, err = post(r.url + "/v1/traces", body, ctype, {"Content-Encoding": "gzip"})
                self.assertEqual(status, 400)
                status, _, err = post(r.url + "/v1/traces", b"\x00garbage", ctype, {"Content-Encoding": "deflate"})
                self.assertEqual(status, 400)
                self.assertEqual(post(r.url + "/v1/traces", body, ctype, {"Content-Encoding": "br"})[0], 415)
        self.stop(r)
        self.assertEqual(catalog(self.db)["spans"], [("I'm a server span", "Server", 4, 0, 0)])

    def test_bad_payloads_get_400_with_a_status_in_the_request_encoding(self):
        r = self.start()
        status, headers, body = post(r.url + "/v1/traces", fixture("trace.pb")[:40], PB)
        self.assertEqual((status, headers["Content-Type"]), (400, PB))
        st = parse_status(body)
        self.assertEqual(st[1], 3)
        self.assertTrue(st[2].startswith("otlp_ingest: invalid OTLP/protobuf traces request at byte "), st)
        # The Status carries a google.rpc.BadRequest naming the payload.
        self.assertEqual([u for u, _ in st[3]], ["type.googleapis.com/google.rpc.BadRequest"])
        violation = dict(parse_proto(dict(parse_proto(st[3][0][1]))[1]))
        self.assertEqual((violation[1], violation[2].decode()), (b"payload", st[2]))
        status, headers, body = post(r.url + "/v1/traces", b'{"resourceSpans": [{"scopeSpans": 7}]}', JSON)
        self.assertEqual((status, headers["Content-Type"]), (400, JSON))
        st = json.loads(body)
        self.assertEqual(st["code"], 3)
        self.assertRegex(st["message"], r"^otlp_ingest: invalid OTLP/JSON at line 1 column \d+")
        # The payload must be the path's signal.
        # ...said in HTTP terms (the extension speaks of its signal column).
        status, _, body = post(r.url + "/v1/logs", fixture("trace.json"), JSON)
        self.assertEqual(status, 400)
        st = json.loads(body)
        self.assertEqual(st["message"], "the JSON payload holds another signal than logs: send traces to /v1/traces, "
                                        "metrics to /v1/metrics and logs to /v1/logs")
        self.assertEqual(st["details"], [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                          "fieldViolations": [{"field": "payload", "description": st["message"]}]}])
        self.assertEqual(post(r.url + "/v1/logs", fixture("trace.pb"), PB)[0], 400)
        self.assertEqual(post(r.url + "/v1/traces", b"", JSON)[0], 400)
        self.stop(r)
        self.assertEqual(catalog(self.db)["spans"], [])

    def test_the_answer_shown_in_docs_serve_md(self):
        with open(os.path.join(ROOT, "docs", "serve.md")) as f:
            text = f.read()
        m = re.search(r"\$ curl -s -H 'Content-Type: application/json' --data-binary @(\S+) "
                      r"http://127\.0\.0\.1:4318(/v1/\w+)\n(.+)\n", text)
        self.assertIsNotNone(m, "the curl example of docs/serve.md")
        r = self.start()
        with open(os.path.join(ROOT, m.group(1)), "rb") as f:
            status, headers, body = post(r.url + m.group(2), f.read(), JSON)
        self.assertEqual((status, headers["Content-Type"], body.decode()), (400, JSON, m.group(3)))
        self.stop(r)

    def test_empty_requests_succeed(self):
        r = self.start()
        self.assertEqual(post(r.url + "/v1/metrics", b"", PB)[:3:2], (200, b""))
        for body in (b"{}", b' {"unknownField": [1, 2]} ', gzip.compress(b"{}"), b'{"resourceMetrics": []}'):
            with self.subTest(body):
                h = {"Content-Encoding": "gzip"} if body[:2] == b"\x1f\x8b" else {}
                self.assertEqual(post(r.url + "/v1/metrics", body, JSON, h)[:3:2], (200, b"{}"))
        self.assertEqual(post(r.url + "/v1/metrics", b"[]", JSON)[0], 400)
        self.stop(r)

    def test_415_404_405(self):
        r = self.start()
        for ctype in ("text/plain", "application/protobuf", None, "application/jsonx"):
            with self.subTest(ctype):
                status, _, body = post(r.url + "/v1/traces", fixture("trace.json"), ctype)
                self.assertEqual(status, 415)
                self.assertIn(b"application/x-protobuf", body)
        self.assertEqual(post(r.url + "/v1/trace", fixture("trace.json"))[0], 404)
        self.assertEqual(post(r.url + "/", fixture("trace.json"))[0], 404)
        self.assertEqual(post(r.url + "/v1/traces/x", fixture("trace.json"))[0], 404)
        self.assertEqual(post(r.url + "/v1/traces?x=1", fixture("trace.json"))[0], 200)
        for method in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"):
            with self.subTest(method):
                status, headers, _ = post(r.url + "/v1/logs", None if method == "GET" else b"x", JSON, method=method)
                self.assertEqual((status, headers["Allow"]), (405, "POST"))
        self.assertEqual(post(r.url + "/elsewhere", None, None, method="GET")[0], 404)
        self.stop(r)

    def test_413_over_the_body_limit(self):
        r = self.start("--max-body-mib", "1")
        limit = 1 << 20
        big = b" " * (limit + 1)
        for ctype in (JSON, PB):
            with self.subTest(ctype):
                status, headers, body = post(r.url + "/v1/logs", big, ctype)
                self.assertEqual((status, headers["Content-Type"]), (413, ctype))
                msg = json.loads(body)["message"] if ctype == JSON else parse_status(body)[2]
                self.assertEqual(msg, f"request body of {limit + 1} bytes exceeds the limit of {limit} bytes")
        # Chunked bodies are counted as they come.
        self.assertEqual(post(r.url + "/v1/logs", iter([big[:limit], big[limit:]]), JSON)[0], 413)
        self.assertEqual(post(r.url + "/v1/traces", iter([fixture("trace.pb")[:9], fixture("trace.pb")[9:]]), PB)[0], 200)
        # At the limit is fine.
        self.assertEqual(post(r.url + "/v1/logs", fixture("logs.json").ljust(limit), JSON)[0], 200)
        # Expect: 100-continue is answered before the body is sent.
        with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
            s.sendall(f"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: {JSON}\r\nContent-Length: {limit + 1}\r\n"
                      "Expect: 100-continue\r\n\r\n".encode())
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 413 "))
        # A small body that inflates past the limit is refused too (a gzip
        # bomb is inflated no further than the limit), gzip or deflate.
        for coding, bomb in (("gzip", gzip.compress(b" " * (limit + 1), 9)), ("deflate", zlib.compress(b" " * (8 * limit), 9))):
            with self.subTest(coding):
                self.assertLess(len(bomb), limit // 100)
                status, _, body = post(r.url + "/v1/logs", bomb, JSON, {"Content-Encoding": coding})
                self.assertEqual(status, 413)
                self.assertEqual(json.loads(body)["message"], f"the {coding} body inflates to more than the limit of {limit} bytes")
        # Inflating to exactly the limit is fine; gzip members one after another are read whole.
        at_limit = fixture("logs.json").ljust(limit)
        self.assertEqual(post(r.url + "/v1/logs", gzip.compress(at_limit), JSON, {"Content-Encoding": "gzip"})[0], 200)
        two = gzip.compress(fixture("logs.json")[:50]) + gzip.compress(fixture("logs.json")[50:])
        self.assertEqual(post(r.url + "/v1/logs", two, JSON, {"Content-Encoding": "gzip"})[0], 200)
        self.stop(r)

    def test_expect_100_continue(self):
        r = self.start()
        body = fixture("trace.pb")
        with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
            f = s.makefile("rb")
            s.sendall(f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nContent-Length: {len(body)}\r\n"
                      "Expect: 100-continue\r\n\r\n".encode())
            self.assertEqual(f.readline(), b"HTTP/1.1 100 Continue\r\n")
            self.assertEqual(f.readline(), b"\r\n")
            s.sendall(body)
            self.assertEqual(f.readline(), b"HTTP/1.1 200 OK\r\n")
        with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
            s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            answer = s.makefile("rb").read()  # the whole answer, then the server closes
            self.assertTrue(answer.startswith(b"HTTP/1.1 415 "), answer)
            self.assertIn(b"\r\nConnection: close\r\n", answer)
        self.stop(r)
        self.assertEqual(catalog(self.db)["spans"], [("I'm a server span", "Server", 1, 0, 0)])

    def test_keep_alive_connection_serves_many_requests(self):
        r = self.start()
        c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
        for i in range(20):
            c.request("POST", "/v1/traces", traces([span(f"k{i % 2}")]), {"Content-Type": JSON})
            resp = c.getresponse()
            self.assertEqual((resp.status, resp.read()), (200, b"{}"))
        c.request("GET", "/v1/traces")  # an error answer keeps the connection too
        resp = c.getresponse()
        self.assertEqual(resp.status, 405)
        resp.read()
        c.request("POST", "/v1/traces", fixture("trace.pb"), {"Content-Type": PB})
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        self.stop(r)
        self.assertEqual(catalog(self.db)["spans"], [("I'm a server span", "Server", 1, 0, 0),
                                                     ("k0", "Server", 10, 0, 0), ("k1", "Server", 10, 0, 0)])


class TestBatching(Tmp):
    def test_a_bad_payload_fails_alone_in_its_batch(self):
        # Batches of 2 requests, never cut by time: the good request is
        # answered only when the bad one has joined its batch.
        r = self.start("--batch-size", "2", "--batch-ms", "20000", "--linger-ms", "20000")
        for bad, ctype, good in ((b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": 5}]}]}]}', JSON, "a"),
                                 (fixture("logs.pb")[:-3], PB, "b")):
            with self.subTest(ctype):
                res = {}

                def send():
                    t = time.monotonic()
                    res["status"] = post(r.url + "/v1/logs", json_logs(f"good {good}").encode(), JSON)[0]
                    res["took"] = time.monotonic() - t

                t = threading.Thread(target=send)
                t.start()
                time.sleep(0.5)
                self.assertTrue(t.is_alive(), "answered before its batch was complete")
                status, headers, body = post(r.url + "/v1/logs", bad, ctype)
                t.join(20)
                self.assertEqual(status, 400)
                self.assertEqual((json.loads(body) if ctype == JSON else parse_status(body))["code" if ctype == JSON else 1], 3)
                self.assertEqual(res["status"], 200)
                self.assertGreaterEqual(res["took"], 0.5)
        self.stop(r)
        self.assertEqual(catalog(self.db)["log_body_templates"],
                         [("INFO", "svc", 1, "good a", "good a", 1, 50.0), ("INFO", "svc", 2, "good b", "good b", 1, 50.0)])
        self.assertIn("stopped: 2 request(s) committed in 2 batch(es), 2 refused", r.output())

    def test_concurrent_clients_lose_nothing(self):
        r = self.start("--linger-ms", "5")
        errors = []

        def client(w):
            c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=30)
            for i in range(25):
                c.request("POST", "/v1/traces", traces([span("op", attrs={"w": w, "i": i})] * 4), {"Content-Type": JSON})
                resp = c.getresponse()
                resp.read()
                if resp.status != 200:
                    errors.append(resp.status)
            c.close()

        ts = [threading.Thread(target=client, args=(w,)) for w in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        out = self.stop(r)
        m = re.search(r"stopped: (\d+) request\(s\) committed in (\d+) batch", out)
        self.assertEqual(int(m.group(1)), 200)
        self.assertLess(int(m.group(2)), 200, "concurrent requests were not batched")
        db = connect(self.db)
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans").fetchall(), [(800,)])
        self.assertEqual(db.execute("SELECT key_count, estimated_cardinality FROM span_keys WHERE key_name = 'w'").fetchone(), (800, 8))
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")


def json_logs(body):
    return json.dumps({"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                                         "scopeLogs": [{"logRecords": [{"severityNumber": 9, "body": {"stringValue": body}}]}]}]})


class TestLockedCatalog(Tmp):
    def test_another_writer_holding_the_lock_past_the_busy_timeout_fails_nothing(self):
        # Until otelcat serve, the receiver answered 503 "database is locked"
        # once another writer had held the lock for --busy-timeout-ms. Now
        # requests wait (up to --request-timeout) and are stored in order.
        r = self.start("--busy-timeout-ms", "300", "--request-timeout", "30")
        self.assertEqual(post(r.url + "/v1/traces", traces([span("first")]))[0], 200)
        holder = sqlite3.connect(self.db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        statuses = {}
        ts = [threading.Thread(target=lambda i=i: statuses.__setitem__(i, post(r.url + "/v1/traces", traces([span(f"s{i}")]))[0]))
              for i in range(6)]
        for t in ts:
            t.start()
        time.sleep(2.0)  # the lock is held for more than six busy timeouts
        self.assertEqual(statuses, {}, "answered while another writer held the lock")
        self.assertTrue(all(t.is_alive() for t in ts))
        holder.execute("COMMIT")
        holder.close()
        for t in ts:
            t.join(30)
        self.assertEqual(statuses, {i: 200 for i in range(6)})
        out = self.stop(r)
        self.assertIn("the catalog is locked by another writer", out)
        self.assertEqual(catalog(self.db)["spans"], sorted([("first", "Server", 1, 0, 0)] +
                                                           [(f"s{i}", "Server", 1, 0, 0) for i in range(6)], key=repr))


class TestMakeReceiver(Tmp):
    def test_make_receiver_db_serves_otlp_http_until_sigterm(self):
        log = open(os.path.join(self.dir, "make.log"), "w+")
        p = subprocess.Popen(["make", "-s", "--no-print-directory", "receiver", f"DB={self.db}", "PORT=0"], cwd=ROOT,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                             preexec_fn=die_with_parent)
        def text():
            with open(log.name) as f:
                return f.read()

        try:
            end = time.monotonic() + 60
            while not (m := re.search(r"listening on http://127\.0\.0\.1:(\d+)", text())):
                self.assertIsNone(p.poll(), text())
                self.assertLess(time.monotonic(), end, text())
                time.sleep(0.05)
            self.assertNotIn("grpc", text())  # HTTP only, and no warning about grpcio
            self.assertEqual(post(f"http://127.0.0.1:{m.group(1)}/v1/traces", fixture("trace.pb"), PB)[0], 200)
        finally:
            # SIGTERM to the receiver (make's child: the recipe execs it); make exits with its status.
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                children = [int(c) for c in f.read().split()]
            for c in children:
                os.kill(c, signal.SIGTERM)
            try:
                self.assertEqual(p.wait(30), 0, text())
            finally:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                log.close()
        self.assertEqual(catalog(self.db)["spans"], [("I'm a server span", "Server", 1, 0, 0)])

    def test_make_receiver_without_db_says_how(self):
        p = subprocess.run(["make", "-s", "--no-print-directory", "receiver"], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage: make receiver DB=path/to/catalog.db", p.stderr)


class TestShutdown(Tmp):
    def test_sigterm_with_requests_in_flight_loses_no_acknowledged_request(self):
        # Batches held up to 300 ms, so SIGTERM finds requests waiting for
        # their commit, and clients keep sending while the receiver stops.
        r = self.start("--batch-ms", "300", "--linger-ms", "300")
        acked, refused, lock = [], [], threading.Lock()
        sent = threading.Semaphore(0)
        stop_at = time.monotonic() + 20

        def client(w):
            c = None
            for i in range(10_000):
                if time.monotonic() > stop_at:
                    return
                name = f"w{w}-{i}"
                try:
                    if c is None:
                        c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=20)
                    c.request("POST", "/v1/traces", traces([span(name)]), {"Content-Type": JSON})
                    sent.release()
                    resp = c.getresponse()
                    resp.read()
                    with lock:
                        (acked if resp.status == 200 else refused).append((name, resp.status, time.monotonic()))
                    if resp.will_close:
                        c.close()
                        c = None
                except (OSError, http.client.HTTPException):
                    # Refused, reset or closed: not acknowledged. Stop once
                    # the receiver no longer listens.
                    if c is not None:
                        c.close()
                        c = None
                    if r.proc.poll() is not None:
                        return
                    time.sleep(0.01)

        ts = [threading.Thread(target=client, args=(w,)) for w in range(6)]
        for t in ts:
            t.start()
        for _ in range(20):
            sent.acquire(timeout=10)
        signalled = time.monotonic()
        self.assertEqual(r.stop(signal.SIGTERM), 0, r.output())
        for t in ts:
            t.join(30)
        self.assertTrue([a for a in acked if a[2] > signalled], "no request in flight was answered 200 after SIGTERM")
        self.assertTrue(all(s == 503 for _, s, _ in refused), refused)
        db = connect(self.db)
        stored = {n for (n,) in db.execute("SELECT name FROM spans")}
        self.assertEqual({n for n, _, _ in acked} - stored, set(), "acknowledged but not stored")
        self.assertIn("SIGTERM: shutting down", r.output())

    def test_sigint_flushes_a_held_batch_and_exits_0(self):
        r = self.start("--batch-ms", "60000", "--linger-ms", "60000")
        res = []
        ts = [threading.Thread(target=lambda i=i: res.append(post(r.url + "/v1/traces", traces([span(f"s{i}")]))[0]))
              for i in range(5)]
        for t in ts:
            t.start()
        time.sleep(0.5)
        self.assertEqual(res, [], "answered before the batch was due")
        self.assertEqual(r.stop(signal.SIGINT), 0, r.output())
        for t in ts:
            t.join(10)
        self.assertEqual(res, [200] * 5)
        self.assertEqual(catalog(self.db)["spans"], [(f"s{i}", "Server", 1, 0, 0) for i in range(5)])

    def test_startup_errors_exit_2(self):
        p = subprocess.run([sys.executable, RECEIVER, "--db", os.path.join(self.dir, "no", "such", "dir.db"), "--port", "0"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("cannot open", p.stderr)
        p = subprocess.run([sys.executable, RECEIVER, "--port", "0"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--db", p.stderr)


if __name__ == "__main__":
    unittest.main()
