#!/usr/bin/python3
"""Load test for the receiver, on this machine only (loopback).

    /usr/bin/python3 examples/receiver/bench.py [--spans 512] [--requests 400] [--connections 4]

Starts receiver.py on a free port against a temporary catalog, sends
--requests OTLP/protobuf trace requests of --spans spans each over
--connections keep-alive connections, and prints requests/s and spans/s
(every request answered 200 counted). Also measures otlp_ingest alone on the
same payloads, in one transaction, for comparison. Standard library only:
the protobuf is encoded by hand.
"""
import argparse
import http.client
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "dist", "otelcat")


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def field(num, payload):  # length-delimited
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def fixed64(num, v):
    return varint(num << 3 | 1) + v.to_bytes(8, "little")


def vint(num, v):
    return varint(num << 3) + varint(v)


def kv(key, value):
    if isinstance(value, int):
        any_value = vint(3, value)
    else:
        any_value = field(1, value.encode())
    return field(1, key.encode()) + field(2, any_value)


def span(rng, i, t):
    name = f"GET /api/v1/items/{{id}}/{i % 20}"
    attrs = [kv("http.method", rng.choice(["GET", "POST", "PUT"])), kv("http.route", name),
             kv("http.status_code", rng.choice([200, 200, 200, 404, 500])), kv("user.id", f"u{rng.randrange(10000)}"),
             kv("net.peer.name", f"host-{rng.randrange(50)}"), kv("request.size", rng.randrange(100000)),
             kv("feature.flag", rng.choice(["a", "b"])), kv("region", rng.choice(["eu", "us", "ap"]))]
    s = (field(1, rng.randbytes(16)) + field(2, rng.randbytes(8)) + field(5, name.encode()) + vint(6, 2)
         + fixed64(7, t) + fixed64(8, t + 1000) + b"".join(field(9, a) for a in attrs))
    if i % 10 == 0:
        s += field(11, fixed64(1, t) + field(2, b"exception") + field(3, kv("exception.type", "IOError")))
    return s


def request(rng, spans, service):
    t = 1_700_000_000_000_000_000
    resource = field(1, field(1, kv("service.name", service)) + field(1, kv("host.name", f"node-{rng.randrange(8)}")))
    scope = field(1, field(1, b"bench") + field(2, b"1.0"))
    scope_spans = field(2, scope + b"".join(field(2, span(rng, i, t + i)) for i in range(spans)))
    return field(1, resource + scope_spans)


def run_receiver(db, extra):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "receiver.py"), "--db", db, "--port", "0", *extra],
                         stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    m = re.search(r"http://[^:]+:(\d+)", line)
    if not m:
        p.kill()
        raise SystemExit(f"receiver did not start: {line}{p.stderr.read()}")
    return p, int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=512)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--distinct", type=int, default=16, help="distinct payloads (cycled)")
    ap.add_argument("receiver_args", nargs="*", help="extra receiver arguments (after --)")
    a = ap.parse_args()
    rng = random.Random(1)
    payloads = [request(rng, a.spans, f"svc-{k % 4}") for k in range(a.distinct)]
    tmp = tempfile.mkdtemp(prefix="otelcat-bench-")
    try:
        # otlp_ingest alone, one transaction.
        db = sqlite3.connect(os.path.join(tmp, "direct.db"), isolation_level=None)
        db.enable_load_extension(True)
        db.load_extension(EXT)
        db.execute("PRAGMA journal_mode=WAL")
        t0 = time.perf_counter()
        db.execute("BEGIN")
        for k in range(a.requests):
            db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, 'traces')", (payloads[k % a.distinct],))
        db.execute("COMMIT")
        dt = time.perf_counter() - t0
        print(f"otlp_ingest alone: {a.requests} requests x {a.spans} spans in {dt:.2f} s: "
              f"{a.requests / dt:,.0f} req/s, {a.requests * a.spans / dt:,.0f} spans/s")
        db.close()

        p, port = run_receiver(os.path.join(tmp, "recv.db"), a.receiver_args)
        try:
            counter = iter(range(a.requests))
            lock = threading.Lock()
            codes = {}

            def client():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                while True:
                    with lock:
                        k = next(counter, None)
                    if k is None:
                        break
                    c.request("POST", "/v1/traces", payloads[k % a.distinct], {"Content-Type": "application/x-protobuf"})
                    r = c.getresponse()
                    r.read()
                    with lock:
                        codes[r.status] = codes.get(r.status, 0) + 1
                c.close()

            t0 = time.perf_counter()
            ts = [threading.Thread(target=client) for _ in range(a.connections)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            dt = time.perf_counter() - t0
            ok = codes.get(200, 0)
            print(f"receiver: {ok} requests x {a.spans} spans answered 200 in {dt:.2f} s over {a.connections} "
                  f"connections: {ok / dt:,.0f} req/s, {ok * a.spans / dt:,.0f} spans/s; statuses {codes}")
        finally:
            p.terminate()
            _, err = p.communicate(timeout=60)
            print(err.strip().splitlines()[-1])
        got = sqlite3.connect(os.path.join(tmp, "recv.db")).execute("SELECT sum(total_sample_count) FROM spans").fetchone()[0]
        print(f"spans in the catalog: {got}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
