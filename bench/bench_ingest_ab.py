#!/usr/bin/python3
"""Builds side by side: make bench-ingest's ingest measurement (the same
workloads, frames, child process, one core and wall time as
bench/bench_ingest.py, best of 5) for several builds of the extension,
alternating the builds inside each round so that the VM's drift falls on
all of them alike. No baseline and no memory runs.

    /usr/bin/python3 bench/bench_ingest_ab.py NAME=PATH NAME=PATH ...

PATH: an extension without its suffix (what load_extension takes), e.g.
before=/tmp/before/otelcat after=dist/otelcat. Needs target/release/otlp_gen
(make bench-ingest builds it).
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ingest as b  # noqa: E402

ROUNDS = 5
RUNS_ALL = [("traces", "proto", 1_000_000, (b.PER_TXN, b.SMALL_TXN)), ("traces", "json", 500_000, (b.PER_TXN, b.SMALL_TXN)),
        ("logs", "proto", 1_000_000, (b.PER_TXN,)), ("metrics", "proto", 1_000_000, (b.PER_TXN,))]
# ONLY="logs proto" (a workload's signal and format, as bench_ingest.py
# takes it) runs that workload alone.
RUNS = [r for r in RUNS_ALL if not os.environ.get("ONLY") or f"{r[0]} {r[1]}" == os.environ["ONLY"]]


def main():
    builds = [a.split("=", 1) for a in sys.argv[1:]]
    if len(builds) < 2 or any(len(x) != 2 for x in builds):
        sys.exit(__doc__)
    if not os.path.exists(b.GEN):
        sys.exit(f"{b.GEN} is missing: run make bench-ingest")
    tmp = tempfile.mkdtemp(prefix="bench-ingest-ab-")
    print(f"# bench-ingest-ab {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.2f}: records/s (wall, "
          f"best of {ROUNDS}, builds alternating)\n")
    print("| workload | requests / txn | records | " + " | ".join(name for name, _ in builds) + " |")
    print("| --- | ---: | ---: |" + " ---: |" * len(builds))
    for signal, fmt, n, pers in RUNS:
        path = os.path.join(tmp, f"{signal}.{fmt}")
        b.gen(signal, fmt, n, path)
        for per in pers:
            best = {}
            for _ in range(ROUNDS):
                for name, ext in builds:
                    b.EXT = ext
                    r = b.ingest(path, signal, fmt, tmp, per)
                    if name not in best or r["wall"] < best[name]["wall"]:
                        best[name] = r
            records = best[builds[0][0]]["records"]
            print(f"| {signal} {fmt} | {per} | {records:,} | "
                  + " | ".join(f"{best[name]['records'] / best[name]['wall']:,.0f}" for name, _ in builds) + " |", flush=True)
        os.remove(path)
    print(f"\nload {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
