"""Writes the seed corpora fuzz/corpus/<target>/ from tests/fixtures
(python3 fuzz/make_corpus.py). Small on purpose: what libFuzzer finds
while it runs goes to target/fuzz-work/<target>/ (tools/fuzz.sh), not
here; commit only these seeds. make test replays them (fuzz/tests/replay.rs)."""
import glob
import hashlib
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "fuzz", "corpus")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def put(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


# hll: mode byte (bit 0: repair the derived fields), then the image.
for path in sorted(glob.glob(os.path.join(FIX, "hll", "**", "*.hll"), recursive=True)
                   + glob.glob(os.path.join(FIX, "hll", "hostile", "*.bin"))):
    img = read(path)
    if len(img) > 4200:
        continue
    put("hll", b"\x00" + img)
    if img[:1] == b"\x0a":
        put("hll", b"\x01" + img)

# topk: the image (the frequent-items fixtures, and an empty sketch).
for path in sorted(glob.glob(os.path.join(FIX, "topk", "*.fi"))):
    put("topk", read(path))
put("topk", bytes([1, 1, 10, 8, 3, 5, 0, 0]))

# otlp_proto: signal byte (0 traces, 1 metrics, 2 logs), then protobuf.
for name, sel in (("trace", 0), ("metrics", 1), ("logs", 2), ("events", 2)):
    put("otlp_proto", bytes([sel]) + read(os.path.join(FIX, "otlp", f"{name}.pb")))
    put("otlp_json", read(os.path.join(FIX, "otlp", f"{name}.json")))

# drain: configuration byte (bit 7: the SQL half too), then lines.
lines = [
    "connection closed by alpha port 22", "connection closed by beta port 23",
    "connection closed by gamma port 24", "user bob logged in", "user ann logged in",
    "GET /users/17 200 12ms", "GET /users/18 404 3ms", "disk /dev/sda1 at 91%",
    "disk /dev/sdb1 at 45%", "retrying request id=42 attempt=3", "retrying request id=43 attempt=1",
]
for sel in range(10):
    put("drain", bytes([sel]) + "\n".join(lines[sel:] + lines[:sel]).encode())
    put("drain", bytes([sel | 0x80]) + "\n".join(lines[sel:] + lines[:sel]).encode())
# Seeded templates (a "#seed " line of the first half) and lines the masks take.
masked = [
    "#seed job <*> finished in <*> ms", "#seed disk <*> at <*>", "job nightly finished in 5200 ms",
    "restarted k17 on 10.0.3.7", "restarted k18 on 10.0.3.9", "job hourly finished in 12 ms",
    "req 3f2c1a9e-7b1d-4c2e-9a3b-1c2d3e4f5a6b from 2001:db8::1 GET https://example.org/a?b=1",
    "req 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d from 2001:db8::2 GET https://example.org/c?d=2",
    "disk /dev/sda1 at 91%", "restarted k19 on 10.0.3.7",
]
for sel in (0, 8, 9, 0x80, 0x88, 0x89):
    put("drain", bytes([sel]) + "\n".join(masked).encode())

# samples: selector byte (max_n, NULL flags), lists separated by 0xFF.
for sel, a, b in ((10, '["a","b"]', '["b","c"]'), (3, '[1,"1",{"k":[1, 2]}]', '[ "x" , null ]'),
                  (10, '["\\u00e9","\\n"]', '[]'), (2, '{"a":1}', '["a"]'), (31, '[[[]]]', '["\\ud83d\\ude00"]')):
    put("samples", bytes([sel]) + a.encode() + b"\xff" + b.encode())

# otlp_ingest: mutations, then payloads (kind byte, u16 length, bytes).
def payload(kind, data):
    return bytes([kind]) + struct.pack("<H", len(data)) + data

trace = read(os.path.join(FIX, "otlp", "trace.json"))
logs_pb = read(os.path.join(FIX, "otlp", "logs.pb"))
hostile = read(os.path.join(FIX, "hll", "hostile", "hll_reencode_min.bin"))
put("otlp_ingest", b"\x00" + payload(0, trace) + payload(3, logs_pb))
put("otlp_ingest", b"\x00" + payload(16 | 8, trace) + payload(16 | 3, logs_pb))
put("otlp_ingest", b"\x01" + bytes([0, len(hostile)]) + hostile + payload(0, trace))
put("otlp_ingest", b"\x01" + bytes([8, 7]) + b'{"a":1}' + payload(8, trace))
put("otlp_ingest", b"\x02" + bytes([22, 4]) + b"nope" + bytes([13, 8]) + b"\xff" * 8 + payload(3, logs_pb))
# Ops from 128 (MORE in src/ingest.rs): clusters made seeded templates of size 0,
# a last id for every partition.
put("otlp_ingest", b"\x02" + bytes([128 + 3, 1, 0]) + bytes([128 + 7, 2, 0x10, 0x27]) + payload(3, logs_pb))
