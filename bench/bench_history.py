#!/usr/bin/python3
"""The history's size over a month (issue 16, docs/BENCHMARKS.md "the
history's size over a month"): `make bench-history`.

A month of the bench traces' shape, simulated with the generator's clock
(`otlp_gen --signal traces --format proto --records 100000 --batch 500
--seed 1 --time-scale 38700`: 100 000 spans from 2026-11-01 to 2026-12-01),
ingested 20 requests a transaction (WAL, synchronous=NORMAL, 64 MiB page
cache, as bench/ingest_split.py). Reports the file's size, each history
table's and index's bytes (dbstat), the rest of the catalog, the INSERT and
COMMIT CPU seconds, and the same catalog without its history (a copy whose
history rows are deleted, then VACUUMed; BASE_EXT=path also ingests the
month with another build, e.g. one from before the history, for its CPU).

The budget (docs/catalog.md "History"), for this month (the defaults): the
history tables and their indexes at most 8.5 MB (about 1.2x the same
catalog without history), the file at most 20 MB. Exits 1 when over.

  /usr/bin/python3 bench/bench_history.py      (EXT=path, BASE_EXT=path,
      RECORDS=n, TIME_SCALE=n, PER_TXN=n, KEEP=dir to keep the files)
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(ROOT, "target", "release", "otlp_gen")
EXT = os.environ.get("EXT", os.path.join(ROOT, "dist", "otelcat"))
RECORDS = int(os.environ.get("RECORDS", "100000"))
TIME_SCALE = os.environ.get("TIME_SCALE", "38700")
PER_TXN = int(os.environ.get("PER_TXN", "20"))
BUDGET_FILE = 20 * 10**6
BUDGET_HISTORY = 8.5 * 10**6
HISTORY = ("entity_history", "service_history", "key_history_keys", "key_history_buckets",
           "template_history_rows")


def frames_of(path):
    import struct
    data = open(path, "rb").read()
    out, i = [], 0
    while i + 4 <= len(data):
        n = struct.unpack_from("<I", data, i)[0]
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def connect(path, ext):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(ext)
    return db


def ingest(frames, path, ext):
    """CPU seconds of the INSERTs and of the COMMITs."""
    db = connect(path, ext)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-65536")
    cpu = {"insert": 0.0, "commit": 0.0}
    for at in range(0, len(frames), PER_TXN):
        db.execute("BEGIN")
        t0 = time.process_time()
        db.executemany("INSERT INTO otlp_ingest(payload, signal) VALUES (?, 'traces')",
                       ((p,) for p in frames[at:at + PER_TXN]))
        t1 = time.process_time()
        db.execute("COMMIT")
        cpu["insert"] += t1 - t0
        cpu["commit"] += time.process_time() - t1
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return cpu


def objects(db):
    """{table or index: (bytes, the table it belongs to)} from dbstat."""
    owner = {name: tbl for name, tbl in db.execute("SELECT name, tbl_name FROM sqlite_schema")}
    return {name: (size, owner.get(name, name))
            for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")}


def mb(n):
    return f"{n / 1e6:.1f} MB"


def main():
    work = os.environ.get("KEEP") or tempfile.mkdtemp(prefix="otelcat-bench-history-")
    os.makedirs(work, exist_ok=True)
    try:
        frames_path = os.path.join(work, "month.frames")
        subprocess.run([GEN, "--signal", "traces", "--format", "proto", "--records", str(RECORDS),
                        "--batch", "500", "--seed", "1", "--time-scale", TIME_SCALE, "--out", frames_path],
                       check=True, stdout=subprocess.DEVNULL)
        frames = frames_of(frames_path)
        print(f"month: {RECORDS} spans in {len(frames)} requests (--time-scale {TIME_SCALE}), "
              f"{PER_TXN} requests a transaction")
        path = os.path.join(work, "month.db")
        for s in ("", "-wal", "-shm"):
            if os.path.exists(path + s):
                os.remove(path + s)
        cpu = ingest(frames, path, EXT)
        db = connect(path, EXT)
        objs = objects(db)
        size = os.path.getsize(path)
        hist = {n: v for n, v in objs.items() if v[1] in HISTORY}
        hist_bytes = sum(v[0] for v in hist.values())
        rest = size - hist_bytes
        print(f"\nfile {mb(size)}; INSERT {cpu['insert']:.2f} s CPU, COMMIT {cpu['commit']:.2f} s CPU")
        print("\n| history table or index | bytes |\n| --- | ---: |")
        for name, (b, _) in sorted(hist.items(), key=lambda x: -x[1][0]):
            print(f"| {name} | {mb(b)} |")
        print(f"| **history** | **{mb(hist_bytes)}** |\n| the rest of the file | {mb(rest)} |")
        (buckets, days), = db.execute(
            "SELECT sum(resolution = 0), sum(resolution = 1) FROM key_history_buckets")
        (keys,), = db.execute("SELECT count(*) FROM key_history_keys")
        (key_rows,), = db.execute("SELECT count(*) FROM span_key_rows")
        print(f"\nkey history: {buckets} hourly and {days} daily rows of {keys} keys "
              f"({key_rows} span key rows); {hist_bytes / max(keys, 1):.0f} history bytes a key")
        db.close()

        # The same catalog without its history.
        bare = os.path.join(work, "month-no-history.db")
        shutil.copyfile(path, bare)
        db = connect(bare, EXT)
        for t in ("entity_history", "service_history", "key_history_buckets", "key_history_keys",
                  "template_history_rows"):
            db.execute(f"DELETE FROM {t}")
        db.execute("VACUUM")
        db.close()
        bare_size = os.path.getsize(bare)
        print(f"the same catalog without history (rows deleted, VACUUM): {mb(bare_size)}; "
              f"history / that: {hist_bytes / bare_size:.2f}")

        base = os.environ.get("BASE_EXT")
        if base:
            bpath = os.path.join(work, "month-base.db")
            for s in ("", "-wal", "-shm"):
                if os.path.exists(bpath + s):
                    os.remove(bpath + s)
            bcpu = ingest(frames, bpath, base)
            print(f"BASE_EXT {base}: file {mb(os.path.getsize(bpath))}; INSERT {bcpu['insert']:.2f} s CPU, "
                  f"COMMIT {bcpu['commit']:.2f} s CPU")

        if (RECORDS, TIME_SCALE, PER_TXN) != (100000, "38700", 20):
            print("\n(the budget is stated for the default month: not checked)")
            return 0
        ok = hist_bytes <= BUDGET_HISTORY and size <= BUDGET_FILE
        print(f"\nbudget (history <= {mb(BUDGET_HISTORY)}, file <= {mb(BUDGET_FILE)}): "
              f"{'met' if ok else 'NOT MET'}")
        return 0 if ok else 1
    finally:
        if not os.environ.get("KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
