#!/usr/bin/python3
"""make demo: a realistic multi-service telemetry set ingested into demo.db, then
a report of what the catalog found.

The data comes from the project's deterministic generator (tools/otlp_gen,
profile "demo": a dozen services, with a few deliberately exploding keys: a
user id on a metric label, an unbounded URL in a span name, a request id on
logs). It is ingested through otlp_ingest, one transaction per 20 export
requests, as OTLP/protobuf.
"""
import argparse
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "dist", "otelcat")
GEN = os.path.join(ROOT, "target", "release", "examples", "otlp_gen")


def frames(path):
    with open(path, "rb") as f:
        while True:
            head = f.read(4)
            if len(head) < 4:
                return
            (n,) = struct.unpack("<I", head)
            yield f.read(n)


def progress(label, done, total, started):
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.perf_counter() - started, 1e-9)
    end = "" if sys.stdout.isatty() else "\n"
    if sys.stdout.isatty() or done >= total or done % (total // 4 or 1) < (total // 15 or 1):
        sys.stdout.write(f"\r  {label:<8} [{'#' * filled}{'.' * (width - filled)}] {done:>9,}/{total:,} records  {rate:>10,.0f}/s{end}")
        sys.stdout.flush()


def cell(v, width=60):
    """One line of at most `width` characters."""
    s = "" if v is None else str(v)
    s = s.replace("\r", " ").replace("\n", " \u21b5 ").replace("\t", " ")
    return s if len(s) <= width else s[: width - 1] + "\u2026"


def table(rows, headers):
    rows = [[cell(v) for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    print("  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=os.path.join(ROOT, "demo.db"))
    ap.add_argument("--records", type=int, default=150_000, help="records per signal")
    args = ap.parse_args()
    if os.path.exists(args.db):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(args.db + suffix):
                os.remove(args.db + suffix)
    tmp = tempfile.mkdtemp(prefix="otelcat-demo-")
    print(f"otelcat demo: generating {args.records:,} spans, {args.records:,} metric points and {args.records:,} log records")
    files = {}
    for signal in ("traces", "metrics", "logs"):
        out = os.path.join(tmp, signal + ".pb")
        truth = os.path.join(tmp, signal + ".truth.json")
        subprocess.run([GEN, "--signal", signal, "--format", "proto", "--records", str(args.records), "--batch", "500",
                        "--profile", "demo", "--seed", "2026", "--out", out, "--truth", truth],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        files[signal] = out

    db = sqlite3.connect(args.db, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    print(f"ingesting into {os.path.relpath(args.db)} through otlp_ingest (OTLP/protobuf, one transaction per 20 requests)")
    t_all = time.perf_counter()
    for signal, path in files.items():
        started = time.perf_counter()
        payloads = list(frames(path))
        done, per = 0, args.records / max(len(payloads), 1)
        for i in range(0, len(payloads), 20):
            db.execute("BEGIN")
            for p in payloads[i:i + 20]:
                db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (p, signal))
            db.execute("COMMIT")
            done = min(args.records, int((i + 20) * per))
            progress(signal, done, args.records, started)
        if sys.stdout.isatty():
            print()
    took = time.perf_counter() - t_all
    print(f"done: {3 * args.records:,} records in {took:.1f} s ({3 * args.records / took:,.0f} records/s), "
          f"catalog {os.path.getsize(args.db) / 1e6:.1f} MB\n")
    report(db)


def report(db):
    q = lambda sql: db.execute(sql).fetchall()
    print("== Highest-cardinality keys per signal")
    for signal in ("metrics", "spans", "logs"):
        print(f"\n  {signal}:")
        table(q(f"""SELECT entity, key_scope, key_name, estimated_cardinality, printf('%.1f%%', key_percentage), value_samples
                   FROM key_cardinality WHERE signal = '{signal}' ORDER BY estimated_cardinality DESC LIMIT 5"""),
              ["entity", "scope", "key", "~distinct", "present", "samples"])
    print("\n== Metrics by estimated active series")
    table(q("""SELECT name, type, estimated_active_series, total_sample_count,
               (SELECT group_concat(key_name || '~' || estimated_cardinality, ', ') FROM
                  (SELECT key_name, estimated_cardinality FROM metric_keys k WHERE k.metric_name = m.name AND key_scope = 'label'
                   ORDER BY estimated_cardinality DESC LIMIT 3)) FROM metrics m
               ORDER BY estimated_active_series DESC LIMIT 8"""), ["metric", "type", "~series", "points", "top labels"])
    print("\n== Noisiest services")
    table(q("""SELECT service_name, spans, data_points, log_records, spans + data_points + log_records AS total, span_names, metrics,
               logs_by_severity FROM service_overview ORDER BY total DESC LIMIT 12"""),
          ["service", "spans", "points", "logs", "total", "span names", "metrics", "logs by severity"])
    print("\n== Span names that explode (one pattern, many names)")
    table(q("SELECT service_name, pattern, estimated_names, span_count, example FROM span_name_explosions LIMIT 5"),
          ["service", "pattern", "~names", "spans", "example"])
    print("\n== Top log templates per service and severity (3 busiest pairs)")
    pairs = q("""SELECT severity, service_name FROM log_services ORDER BY sample_count DESC LIMIT 3""")
    for sev, svc in pairs:
        print(f"\n  {svc} / {sev}:")
        table(q(f"""SELECT printf('%.1f%%', percentage), count, template FROM top_log_templates
                    WHERE severity = '{sev}' AND service_name = '{svc}' LIMIT 5"""), ["share", "count", "template"])
    print("\n== Errors by service")
    table(q("""SELECT service_name, sample_count, (SELECT template FROM top_log_templates t WHERE t.severity = 'ERROR'
               AND t.service_name = s.service_name LIMIT 1) FROM log_services s WHERE severity = 'ERROR' ORDER BY sample_count DESC LIMIT 6"""),
          ["service", "errors", "most frequent error"])
    print("\nExplore further: sqlite3 demo.db -cmd '.load dist/otelcat'   (docs/cookbook.md has twelve questions to ask it)")


if __name__ == "__main__":
    main()
