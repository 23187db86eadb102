#!/usr/bin/python3
"""Memory of template models against the number of services (issue 16):
N services, each sending one log record and one span per transaction of
1 000 services, so N log and N span-name partitions. Prints the registry's
accounting (otelcat_test_drain_memory, test-hooks build) and the process's
resident set size.

    make dist/test-hooks/otelcat.so
    /usr/bin/python3 bench/model_memory.py N [BUDGET_BYTES]   (0 = the default, 32 MiB)
"""
import json
import os
import sqlite3
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "dist", "test-hooks", "otelcat")


def payloads(first, count):
    res = lambda i: {"attributes": [{"key": "service.name", "value": {"stringValue": f"svc-{i}"}}]}
    lg = {"resourceLogs": [{"resource": res(i), "scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1700000000000000000", "severityNumber": 9,
         "body": {"stringValue": f"user alice logged in from host alice{i % 7}"}}]}]} for i in range(first, first + count)]}
    sp = {"resourceSpans": [{"resource": res(i), "scopeSpans": [{"spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "GET /api/alice/items",
         "kind": 2, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000000001000"}]}]}
        for i in range(first, first + count)]}
    return json.dumps(lg), json.dumps(sp)


def rss_mb():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS")).split()[1]) // 1024


def main():
    n = int(sys.argv[1])
    budget = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with tempfile.TemporaryDirectory() as d:
        db = sqlite3.connect(os.path.join(d, "c.db"), isolation_level=None)
        db.enable_load_extension(True)
        db.load_extension(EXT)
        db.execute("SELECT otelcat_test_drain_memory(?)", (budget,))
        start = rss_mb()
        for first in range(0, n, 1000):
            lg, sp = payloads(first, min(1000, n - first))
            db.execute("BEGIN")
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (lg,))
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (sp,))
            db.execute("COMMIT")
        m = json.loads(db.execute("SELECT otelcat_test_drain_memory()").fetchone()[0])
        print(f"{n} services: {m['models']} models loaded, {m['bytes'] / 2**20:.1f} MiB counted "
              f"(budget {m['budget'] / 2**20:.0f} MiB, {m['evictions']} evictions); RSS {start} MB at start, {rss_mb()} MB at end")


if __name__ == "__main__":
    main()
