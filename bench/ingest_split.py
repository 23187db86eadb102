#!/usr/bin/python3
"""Where otlp_ingest's time goes: CPU seconds spent in the INSERTs (decoding
and aggregating) and in the COMMITs (the UPSERTs of sql/flush.sql), for a
frame file written by tools/otlp_gen (u32 little-endian length + one export
request). Used for the analysis in docs/BENCHMARKS.md, also under
`valgrind --tool=callgrind` to count instructions.

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
    sql = "INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)"
    insert = commit = 0.0
    for at in range(0, len(frames), per):
        db.execute("BEGIN")
        t0 = time.process_time()
        db.executemany(sql, ((p, signal) for p in frames[at:at + per]))
        t1 = time.process_time()
        db.execute("COMMIT")
        t2 = time.process_time()
        insert += t1 - t0
        commit += t2 - t1
    print(f"{len(frames)} requests, {per} per transaction: insert {insert:.2f} s CPU, commit {commit:.2f} s CPU")


if __name__ == "__main__":
    main()
