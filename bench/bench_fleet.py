#!/usr/bin/python3
"""make bench-fleet: merging a fleet of catalogs into one, in Apache Spark
local mode (examples/spark/fleet_merge.py) and with examples/merge.sql,
for 3 and 30 catalogs (FLEET_SIZES="3 30").

Workload: one catalog per node, each from gen/ (otlp_gen)'s "bench" profile
(12 services, the card.* keys of 3 to 1M values) with the node's own seed:
20 000 spans, 5 000 metric data points and 5 000 log records per node
(FLEET_RECORDS scales all three), ingested by `otelcat ingest` from
length-prefixed protobuf. Every node has the same keys and overlapping
values, so most rows merge.

merge.sql: one process (Debian's python3, its sqlite3 module) creates the
fleet catalog and, for each node, ATTACHes it, runs examples/merge.sql and
DETACHes it (otelcat merge does the same, 9 at a time). Spark: one run of
fleet_merge.py on the catalog files (it exports them, starts a local[2]
Spark session with the default JVM options, merges and writes the fleet
catalog back); its CPU is that of the Python driver plus the Spark JVM
(read from /proc, as the JVM is not waited for). Both results are checked
to have the same rows. Times are CPU seconds (user + system) and wall
seconds: on a loaded machine only the CPU figures are comparable.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "dist", "otelcat")
GEN = os.environ.get("OTLP_GEN") or os.path.join(ROOT, "target", "release", "otlp_gen")
MERGE = os.path.join(ROOT, "examples", "merge.sql")
FLEET = os.path.join(ROOT, "examples", "spark", "fleet_merge.py")
SIZES = [int(n) for n in os.environ.get("FLEET_SIZES", "3 30").split()]
SCALE = float(os.environ.get("FLEET_RECORDS", "1"))
RECORDS = {"traces": int(20000 * SCALE), "metrics": int(5000 * SCALE), "logs": int(5000 * SCALE)}
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), OTELCAT_LOADABLE_PATH=EXT)

# merge.sql in one process: prints "wall cpu".
MERGE_CHILD = r"""
import os, sqlite3, sys, time
ext, script_path, target, nodes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
script = "".join(l for l in open(script_path) if not l.startswith("."))
t0, c0 = time.perf_counter(), time.process_time()
db = sqlite3.connect(target, isolation_level=None)
db.enable_load_extension(True)
db.load_extension(ext)
db.execute("PRAGMA cache_size = -65536")
db.execute("INSERT INTO otlp_ingest(payload) VALUES ('{\"resourceSpans\": []}')")
for n in nodes:
    db.execute("ATTACH ? AS other", (n,))
    db.executescript(script)
    db.execute("DETACH other")
db.close()
print(time.perf_counter() - t0, time.process_time() - c0)
"""


def build_node(i, tmp):
    path = os.path.join(tmp, f"node{i:02d}.db")
    for signal, n in RECORDS.items():
        pb = os.path.join(tmp, f"node{i:02d}-{signal}.pb")
        subprocess.run([GEN, "--signal", signal, "--format", "proto", "--records", str(n), "--batch", "500",
                        "--seed", str(i + 1), "--profile", "bench", "--out", pb, "--quiet"], check=True,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["/usr/bin/python3", "-m", "otelcat", "ingest", "--db", path, "--signal", signal, "--framing", "le32", "--quiet", pb],
                       check=True, env=ENV, stdout=subprocess.DEVNULL)
        os.remove(pb)
    return path


def rows(path):
    import sqlite3
    db = sqlite3.connect(path)
    out = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
           for t in ("metrics", "metric_keys", "spans", "span_keys", "logs", "log_keys", "log_body_templates",
                     "span_name_patterns")}
    db.close()
    return out


def main():
    for exe in (GEN, EXT + ".so"):
        if not os.path.exists(exe):
            sys.exit(f"missing {exe}: run make")
    tmp = tempfile.mkdtemp(prefix="otelcat-bench-fleet-")
    try:
        nodes = []
        t0 = time.perf_counter()
        for i in range(max(SIZES)):
            nodes.append(build_node(i, tmp))
        size = sum(os.path.getsize(n) for n in nodes) / len(nodes) / 1e6
        print(f"built {len(nodes)} catalogs ({size:.1f} MB each, {sum(RECORDS.values()):,} records each) "
              f"in {time.perf_counter() - t0:.0f} s", flush=True)
        print("| catalogs | merge.sql CPU s | merge.sql wall s | Spark CPU s (driver + JVM) | Spark wall s | "
              "of which export CPU s | fleet rows |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in SIZES:
            ref = os.path.join(tmp, f"merge-{n}.db")
            out = subprocess.run(["/usr/bin/python3", "-c", MERGE_CHILD, EXT, MERGE, ref, *nodes[:n]],
                                 capture_output=True, text=True, check=True).stdout.split()
            m_wall, m_cpu = float(out[0]), float(out[1])
            fleet = os.path.join(tmp, f"spark-{n}.db")
            r = subprocess.run([sys.executable, FLEET, "--out", fleet, *nodes[:n]], capture_output=True, text=True,
                               env=ENV)
            if r.returncode != 0:
                sys.exit(r.stderr[-3000:])
            line = [l for l in r.stdout.splitlines() if l.startswith("fleet_merge:")][0]
            x = re.search(r"export ([\d.]+) s, ([\d.]+) s CPU; Spark and write-back ([\d.]+) s, ([\d.]+) s CPU", line)
            e_wall, e_cpu, s_wall, s_cpu = map(float, x.groups())
            a, b = rows(ref), rows(fleet)
            if a != b:
                sys.exit(f"the fleet catalogs differ: merge.sql {a}, Spark {b}")
            print(f"| {n} | {m_cpu:.1f} | {m_wall:.1f} | {e_cpu + s_cpu:.1f} | {e_wall + s_wall:.1f} | {e_cpu:.1f} | "
                  f"{sum(a.values()):,} |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
