#!/usr/bin/env python3
"""make bench-serve: spans/s that `otelcat serve` sustains from concurrent
clients over OTLP/gRPC and OTLP/HTTP (protobuf), and the in-process rate of
the same requests for comparison.

Workload: gen/ (otlp_gen), profile "bench", seed 1, traces, 512 spans per
export request (about 256 KB of protobuf each). The client process (one,
with --clients threads, each with its own connection: a gRPC channel or an
HTTP/1.1 keep-alive connection) sends pre-encoded requests from memory, one
at a time per client, for --seconds after a warm-up, so the client side is
cheap; it runs on the same machine as the server. The server runs with its
defaults (synchronous=FULL) against a fresh catalog file unless given
arguments after "--".

    .venv/bin/python bench/bench_serve.py [--clients 16] [--seconds 20] [--proto grpc,http] [-- serve args]

Prints, per protocol: requests and spans per second (every request answered
success counted), requests per batch, and CPU time per request of the server
(its writer thread, and the rest: HTTP or gRPC, over the whole run) and of
the client process (measured window); then the in-process rate of
otlp_ingest on the same requests, one transaction per --clients requests
(the batch a server with that many clients can form at most) and per 512,
in this process; and the load average before and after.
"""
import argparse
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "dist", "otelcat")
GEN = os.path.join(ROOT, "target", "release", "otlp_gen")

CLIENT = r"""
import struct, sys, threading, time
proto, port, n, seconds, warm, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
P = []
with open(path, "rb") as f:
    while True:
        h = f.read(4)
        if len(h) < 4:
            break
        P.append(f.read(struct.unpack("<I", h)[0]))
lock = threading.Lock()
counts = {"ok": 0, "other": {}}
start = threading.Event()
state = {"measuring": False}

def client(k):
    if proto == "grpc":
        import grpc
        ch = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 << 20)])
        call = ch.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        def send(body):
            try:
                call(body, timeout=60)
                return 200
            except grpc.RpcError as e:
                return str(e.code())
    else:
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        def send(body):
            c.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
            r = c.getresponse()
            r.read()
            return r.status
    start.wait()
    i = k
    while not stop.is_set():
        code = send(P[i % len(P)])
        i += n
        if state["measuring"]:
            with lock:
                if code == 200:
                    counts["ok"] += 1
                else:
                    counts["other"][code] = counts["other"].get(code, 0) + 1

stop = threading.Event()
ts = [threading.Thread(target=client, args=(k,)) for k in range(n)]
for t in ts:
    t.start()
start.set()
time.sleep(warm)
c0 = time.process_time()
state["measuring"] = True
t0 = time.perf_counter()
time.sleep(seconds)
state["measuring"] = False
dt = time.perf_counter() - t0
cpu = time.process_time() - c0
stop.set()
for t in ts:
    t.join()
print(f"{counts['ok']} {dt:.3f} {cpu:.3f} {counts['other']}")
"""


def frames(path):
    out = []
    with open(path, "rb") as f:
        while True:
            h = f.read(4)
            if len(h) < 4:
                return out
            out.append(f.read(struct.unpack("<I", h)[0]))


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def serve(db, extra):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"),
               OTELCAT_LOADABLE_PATH=os.environ.get("OTELCAT_LOADABLE_PATH", EXT))
    log = open(db + ".log", "w+")
    p = subprocess.Popen([sys.executable, "-m", "otelcat", "serve", "--db", db, "--http", "0", "--grpc", "0", *extra],
                         stderr=log, stdout=subprocess.DEVNULL, env=env)
    end = time.time() + 30
    while time.time() < end:
        with open(db + ".log") as f:
            text = f.read()
        h, g = re.search(r"http://[^:]+:(\d+)", text), re.search(r"grpc://[^:]+:(\d+)", text)
        if h and g:
            return p, log, {"http": int(h.group(1)), "grpc": int(g.group(1))}
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    raise SystemExit(f"otelcat serve did not start:\n{text}")


def in_process(payloads, per, tmp):
    path = os.path.join(tmp, f"inproc{per}.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(os.environ.get("OTELCAT_LOADABLE_PATH", EXT))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA cache_size=-65536")
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(payloads), per):
        db.execute("BEGIN IMMEDIATE")
        for x in payloads[i:i + per]:
            db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, 'traces')", (x,))
        db.execute("COMMIT")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    db.close()
    return len(payloads) * 512 / wall, len(payloads) * 512 / cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--requests", type=int, default=256, help="distinct requests generated (cycled)")
    ap.add_argument("--proto", default="grpc,http")
    ap.add_argument("serve_args", nargs="*", help="extra otelcat serve arguments (after --)")
    a = ap.parse_args()
    if not os.path.exists(GEN):
        raise SystemExit(f"{GEN} is missing: make {GEN} (or make bench-serve)")
    tmp = tempfile.mkdtemp(prefix="otelcat-bench-serve-")
    try:
        data = os.path.join(tmp, "traces.bin")
        subprocess.run([GEN, "--signal", "traces", "--records", str(512 * a.requests), "--batch", "512", "--seed", "1",
                        "--out", data, "--quiet"], check=True, stderr=subprocess.DEVNULL)
        payloads = frames(data)
        size = sum(map(len, payloads)) / len(payloads)
        print(f"workload: otlp_gen traces, profile bench, seed 1: {len(payloads)} distinct requests of 512 spans, "
              f"{size / 1024:.0f} KiB each on average; {a.clients} clients, {a.seconds:g} s measured after "
              f"{a.warmup:g} s warm-up; serve args {a.serve_args or '(defaults)'}")
        print(f"load average before: {loadavg()} ({os.cpu_count()} CPUs)")
        for proto in a.proto.split(","):
            db = os.path.join(tmp, f"{proto}.db")
            p, log, ports = serve(db, a.serve_args)
            try:
                out = subprocess.run([sys.executable, "-c", CLIENT, proto, str(ports[proto]), str(a.clients),
                                      str(a.seconds), str(a.warmup), data], capture_output=True, text=True)
                if out.returncode != 0:
                    raise SystemExit(out.stderr)
                ok, dt, ccpu, other = out.stdout.split(" ", 3)
                ok, dt, ccpu = int(ok), float(dt), float(ccpu)
            finally:
                p.send_signal(signal.SIGTERM)
                p.wait(120)
                log.seek(0)
                text = log.read()
                log.close()
            stats = text.strip().splitlines()[-1]
            m = re.search(r"(\d+) request\(s\) committed in (\d+) batch", stats)
            cpu = re.search(r"CPU: writer ([\d.]+) s, whole process ([\d.]+) s", stats)
            reqs, batches = int(m.group(1)), int(m.group(2))
            wcpu, pcpu = float(cpu.group(1)), float(cpu.group(2))
            print(f"{proto:5s}: {ok / dt:7.0f} requests/s, {ok * 512 / dt:9,.0f} spans/s (other answers: {other.strip()}); "
                  f"{reqs / max(batches, 1):.1f} requests a batch; CPU per request: server {1000 * pcpu / reqs:.2f} ms "
                  f"(writer {1000 * wcpu / reqs:.2f} ms, the rest {1000 * (pcpu - wcpu) / reqs:.2f} ms), "
                  f"clients {1000 * ccpu / ok:.2f} ms")
        for per in (a.clients, 512):
            wall, cpu = in_process(payloads[: max(per, len(payloads) // per * per)], per, tmp)
            print(f"in process, {per} requests a transaction: {wall:9,.0f} spans/s wall, {cpu:9,.0f} spans/CPU-s")
        print(f"load average after: {loadavg()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
