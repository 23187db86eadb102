#!/usr/bin/python3
"""Where otlp_ingest's time goes: CPU and wall seconds spent in the INSERTs
(decoding and aggregating) and in the COMMITs (the UPSERTs of sql/flush.sql,
then SQLite's own commit and checkpoints), for a frame file written by
gen/ (otlp_gen) (u32 little-endian length + one export request). Used for the
analysis in docs/BENCHMARKS.md, also under `valgrind --tool=callgrind` to
count instructions. Same settings as `make bench-ingest` (WAL,
synchronous=NORMAL, 64 MiB page cache); FORMAT=json sends the frames as
text, WAL_AUTOCHECKPOINT=N sets that pragma, EXT=path loads another build,
DROP_INDEXES=a,b drops those indexes after an empty first request made the
catalog (what an index costs ingest, with one build).

  /usr/bin/python3 bench/ingest_split.py FRAMES SIGNAL [REQUESTS_PER_TXN] [DB]
"""
import os
import sqlite3
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    path, signal = sys.argv[1], sys.argv[2]
    per = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    db_path = sys.argv[4] if len(sys.argv) > 4 else "/tmp/otelcat-ingest-split.db"
    data = open(path, "rb").read()
    frames, i = [], 0
    while i + 4 <= len(data):
        n = struct.unpack_from("<I", data, i)[0]
        frames.append(data[i + 4:i + 4 + n])
        i += 4 + n
    for s in ("", "-wal", "-shm"):
        if os.path.exists(db_path + s):
            os.remove(db_path + s)
    db = sqlite3.connect(db_path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(os.environ.get("EXT", os.path.join(ROOT, "dist", "otelcat")))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-65536")
    if os.environ.get("WAL_AUTOCHECKPOINT"):
        db.execute(f"PRAGMA wal_autocheckpoint={int(os.environ['WAL_AUTOCHECKPOINT'])}")
    if os.environ.get("DROP_INDEXES"):
        db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (b"", signal))
        for name in os.environ["DROP_INDEXES"].split(","):
            db.execute(f"DROP INDEX IF EXISTS {name}")
    if os.environ.get("FORMAT") == "json":
        frames = [f.decode() for f in frames]
    sql = "INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)"
    cpu = {"insert": 0.0, "commit": 0.0}
    wall = dict(cpu)
    for at in range(0, len(frames), per):
        db.execute("BEGIN")
        w0, t0 = time.perf_counter(), time.process_time()
        db.executemany(sql, ((p, signal) for p in frames[at:at + per]))
        w1, t1 = time.perf_counter(), time.process_time()
        db.execute("COMMIT")
        w2, t2 = time.perf_counter(), time.process_time()
        cpu["insert"] += t1 - t0
        cpu["commit"] += t2 - t1
        wall["insert"] += w1 - w0
        wall["commit"] += w2 - w1
    print(f"{len(frames)} requests, {per} per transaction: insert {cpu['insert']:.3f} s CPU ({wall['insert']:.3f} wall), "
          f"commit {cpu['commit']:.3f} s CPU ({wall['commit']:.3f} wall)")


if __name__ == "__main__":
    main()
