"""examples/etl.sql builds the same catalog from raw rows with SQL only as
otlp_ingest builds from OTLP: same counts, samples, cardinalities, times and
log templates. The same generated data is fed both ways."""
import datetime
import json
import os
import random
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from helpers import ROOT, connect
from test_ingest import TABLES, dump

SCHEMA = os.path.join(ROOT, "sql", "schema.sql")
VIEWS_SQL = os.path.join(ROOT, "sql", "views.sql")
ETL = os.path.join(ROOT, "examples", "etl.sql")
SQLITE = os.environ.get("SQLITE") or shutil.which("sqlite3")
T0 = 1_780_000_000  # seconds


def text(v):
    """The text form of an attribute value (docs/FORMAT.md section 1)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v == int(v) else repr(v)
    if isinstance(v, list):
        return json.dumps([x if not isinstance(x, float) or x != int(x) else int(x) for x in v], separators=(",", ":"))
    return v


def anyvalue(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [anyvalue(x) for x in v]}}
    return {"stringValue": v}


def attrs(d):
    return [{"key": k, "value": anyvalue(v)} for k, v in d.items()]


def typ(v):
    """The OTLP value type of a generated value."""
    return {bool: "bool", int: "int", float: "double", list: "array", str: "string"}[type(v)]


def pair_bytes(k, v):
    """Bytes of the pair in its record in OTLP protobuf (tag, length, KeyValue)."""
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue
    n = ParseDict({"key": k, "value": anyvalue(v)}, KeyValue()).ByteSize()
    return 1 + max(1, (n.bit_length() + 6) // 7) + n


def record_bytes(message, d):
    """Bytes of a record (a Span, Metric or LogRecord in OTLP/JSON) in its
    parent message in OTLP protobuf: tag, length, message."""
    import base64
    from google.protobuf.json_format import ParseDict

    def ids_as_base64(x):
        # OTLP/JSON writes ids in hex; protobuf's JSON mapping reads base64.
        if isinstance(x, list):
            return [ids_as_base64(v) for v in x]
        if isinstance(x, dict):
            return {k: base64.b64encode(bytes.fromhex(v)).decode() if k in ("traceId", "spanId", "parentSpanId")
                    else ids_as_base64(v) for k, v in x.items()}
        return x
    n = ParseDict(ids_as_base64(d), message()).ByteSize()
    return 1 + max(1, (n.bit_length() + 6) // 7) + n


def rows(owner, d, scope=None, first=True):
    """Raw attribute rows of one record: (owner, [scope,] key, value, type,
    bytes); resource pairs (first=False on all but the first record of its
    entity in the block) bring no bytes."""
    head = (owner,) if scope is None else (owner, scope)
    return [head + (k, text(v), typ(v), pair_bytes(k, v) if first else 0) for k, v in d.items()]


def dt(sec):
    return datetime.datetime.fromtimestamp(sec, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


# Instrumentation scopes: two versions of one library, another, none (no
# "scope" field: '' and '').
SCOPES = [("io.opentelemetry.http", "1.0"), ("io.opentelemetry.http", "2.1"), ("db.lib", ""), ("", "")]


def scope_json(scope):
    name, version = scope
    out = {}
    if name:
        out["name"] = name
    if version:
        out["version"] = version
    return {"scope": out} if out else {}


def scope_blocks(records, scopes, key):
    """Consecutive records of one scope as one scope block each (a scope
    may come back in a later block): [{scope, key: records}], in order."""
    blocks = []
    for r, sc in zip(records, scopes):
        if not blocks or blocks[-1][0] != sc:
            blocks.append((sc, []))
        blocks[-1][1].append(r)
    return [{**scope_json(sc), key: rs} for sc, rs in blocks]


BODIES = ["user {u} logged in from {ip}", "order {n} placed for {amount} USD", "cache miss for key item:{n}",
          "connection to db-{k}.internal refused", "GET /api/items/{n} returned {code}", "payment declined for user {u}"]


class Generated:
    """Deterministic data: payloads for otlp_ingest and raw rows for etl.sql."""

    def __init__(self, seed=7, batches=12):
        rnd = random.Random(seed)
        self.payloads = []  # one list of JSON payloads per transaction
        tables = ("raw_spans", "raw_span_attrs", "raw_span_events", "raw_span_event_attrs", "raw_span_links",
                  "raw_span_link_attrs", "raw_points", "raw_point_attrs", "raw_logs", "raw_log_attrs")
        self.raw_batches = []   # the raw rows of each transaction
        self.raw = {k: [] for k in tables}
        ids = {"span": 0, "event": 0, "link": 0, "point": 0, "log": 0}
        services = ["cart", "checkout", "payment"]
        for b in range(batches):
            txn = []
            before = {k: len(v) for k, v in self.raw.items()}
            for svc in services:
                res = {"service.name": svc, "host.name": f"{svc}-{rnd.randint(1, 3)}", "pod": f"pod-{rnd.randint(1, 40)}"}
                if svc == "payment":
                    # A resource part over 4 096 bytes: series hash the resource once (catalog.md "Series").
                    res["process.command_line"] = "java " + " ".join(f"-Dopt{i}=v{rnd.randint(1, 2)}" for i in range(400))
                res_attrs = attrs(res)
                # spans (a resource's bytes count once per entity and block)
                spans, named, span_scopes = [], set(), []
                scope = rnd.choice(SCOPES)
                for _ in range(150):
                    if rnd.random() < 0.1:
                        scope = rnd.choice(SCOPES)
                    t = T0 + b * 3600 + rnd.randint(0, 3599)
                    name = rnd.choice(["GET /items", "POST /orders", "db.query", "GET /users/{id}"])
                    kind = {"GET /items": 2, "POST /orders": 2, "db.query": 3, "GET /users/{id}": 2}[name]
                    # an id in the span name: an explosion (span_name_patterns)
                    name = name.format(id=rnd.randint(1, 400))
                    a = {"user.id": f"u{rnd.randint(1, 5000)}", "http.status": rnd.choice([200, 200, 404, "500"]),
                         "retry": rnd.random() < 0.2, "latency": rnd.choice([0.5, 12.25, 3.0]), "tags": ["a", rnd.randint(1, 3)]}
                    if rnd.random() < 0.3:
                        a["rare"] = "x"
                    ids["span"] += 1
                    sid = ids["span"]
                    status = rnd.choice([0, 0, 1, 2, 2, 7])       # 7: outside the enum, counts as unset
                    dropped = [rnd.choice([0, 0, 3]), rnd.choice([0, 1]), rnd.choice([0, 0, 2])]
                    self.raw["raw_span_attrs"] += rows(sid, a, "attribute")
                    self.raw["raw_span_attrs"] += rows(sid, res, "resource", name not in named)
                    named.add(name)
                    events, links = [], []
                    if rnd.random() < 0.25:
                        ea = {"exception.type": rnd.choice(["IOError", "Timeout"])}
                        if rnd.random() < 0.5:
                            ea["exception.message"] = f"failed after {rnd.randint(1, 9)} tries"
                        ids["event"] += 1
                        te = t + 1
                        events.append({"name": "exception", "timeUnixNano": str(te * 10**9), "attributes": attrs(ea)})
                        self.raw["raw_span_events"].append((ids["event"], sid, "exception", dt(te)))
                        self.raw["raw_span_event_attrs"] += rows(ids["event"], ea)
                    if rnd.random() < 0.1:
                        la = {"link.kind": rnd.choice(["parent", "follows"])}
                        ids["link"] += 1
                        links.append({"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "attributes": attrs(la)})
                        self.raw["raw_span_links"].append((ids["link"], sid))
                        self.raw["raw_span_link_attrs"] += rows(ids["link"], la)
                    if status:
                        a_status = {"code": rnd.choice([status, {1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR", 7: 7}[status]]),
                                    "message": "m"}
                    else:
                        a_status = rnd.choice([None, {"message": "unset"}, {"code": 0}])
                    span = {"name": name, "kind": kind, "startTimeUnixNano": str(t * 10**9), "attributes": attrs(a),
                            **({"status": a_status} if a_status else {}),
                            "events": events, "links": links,
                            "droppedAttributesCount": dropped[0], "droppedEventsCount": dropped[1],
                            "droppedLinksCount": dropped[2]}
                    spans.append(span)
                    span_scopes.append(scope)
                    from opentelemetry.proto.trace.v1.trace_pb2 import Span
                    self.raw["raw_spans"].append((sid, name, {2: "Server", 3: "Client"}[kind], svc, dt(t), status,
                                                  record_bytes(Span, span), *dropped, *scope))
                txn.append(json.dumps({"resourceSpans": [{"resource": {"attributes": res_attrs},
                                                          "scopeSpans": scope_blocks(spans, span_scopes, "spans")}]}))
                # metric points, of every type; "mixed" is a Gauge from cart and a delta Sum from the others
                dps, first_points, metric_scopes = {}, {}, {}
                shapes = {"cpu.usage": ("Gauge", "1", "Unspecified", 0), "requests": ("Sum", "{request}", "Cumulative", 1),
                          "latency": ("Histogram", "s", "Cumulative", 0),
                          "rpc.size": ("ExponentialHistogram", "By", "Delta", 0),
                          "gc.pause": ("Summary", "s", "Unspecified", 0),
                          "mixed": ("Gauge", "1", "Unspecified", 0) if svc == "cart" else ("Sum", "1", "Delta", 0)}
                for _ in range(80):
                    t = T0 + b * 3600 + rnd.randint(0, 3599)
                    name = rnd.choice(["cpu.usage", "requests", "latency", "rpc.size", "gc.pause", "mixed"])
                    la = {"core": rnd.randint(0, 3), "user.id": f"u{rnd.randint(1, 300)}"}
                    ids["point"] += 1
                    pid = ids["point"]
                    typ, unit, temporality, monotonic = shapes[name]
                    dp = {"timeUnixNano": str(t * 10**9), "attributes": attrs(la)}
                    buckets, scale = 0, 0
                    if typ == "Histogram":
                        buckets = rnd.randint(0, 6)
                        dp.update(count="2", explicitBounds=[0.5 * (i + 1) for i in range(buckets)],
                                  bucketCounts=["0"] * buckets + ["2"])
                    elif typ == "ExponentialHistogram":
                        pos, neg, scale = rnd.randint(0, 5), rnd.randint(0, 2), rnd.randint(-2, 4)
                        buckets = pos + neg
                        dp.update(count="2", scale=scale, positive={"offset": 1, "bucketCounts": ["1"] * pos},
                                  negative={"bucketCounts": ["1"] * neg})
                    elif typ == "Summary":
                        buckets = rnd.randint(0, 4)
                        dp.update(count="2", sum=1.0, quantileValues=[{"quantile": i / 4, "value": 1.0} for i in range(buckets)])
                    else:
                        dp["asDouble"] = 1.5
                    if name not in first_points:
                        first_points[name] = len(self.raw["raw_points"])
                        metric_scopes[name] = rnd.choice(SCOPES)
                    self.raw["raw_points"].append((pid, name, typ, unit, "d", svc, dt(t), temporality, monotonic, buckets, scale,
                                                   0, *metric_scopes[name]))
                    self.raw["raw_point_attrs"] += rows(pid, la, "label")
                    self.raw["raw_point_attrs"] += rows(pid, res, "resource", name not in dps)
                    dps.setdefault(name, []).append(dp)
                metrics = []
                for name, points in dps.items():
                    typ, unit, temporality, monotonic = shapes[name]
                    m = {"name": name, "unit": unit, "description": "d"}
                    data = {"dataPoints": points}
                    if temporality != "Unspecified":
                        data["aggregationTemporality"] = {"Delta": 1, "Cumulative": 2}[temporality]
                    if monotonic:
                        data["isMonotonic"] = True
                    m[typ[0].lower() + typ[1:]] = data
                    metrics.append(m)
                    # The Metric message's bytes go on its first point.
                    from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
                    i = first_points[name]
                    row = self.raw["raw_points"][i]
                    self.raw["raw_points"][i] = row[:-3] + (record_bytes(Metric, m),) + row[-2:]
                # Each Metric message in the scope block of its metric's scope.
                scopes_of = [metric_scopes[name] for name in dps]
                txn.append(json.dumps({"resourceMetrics": [{"resource": {"attributes": res_attrs},
                                                            "scopeMetrics": scope_blocks(metrics, scopes_of, "metrics")}]}))
                # logs
                recs, sevs, log_scopes = [], set(), []
                scope = rnd.choice(SCOPES)
                for _ in range(100):
                    if rnd.random() < 0.1:
                        scope = rnd.choice(SCOPES)
                    t = T0 + b * 3600 + rnd.randint(0, 3599)
                    sev = rnd.choice([(9, "INFO"), (9, "INFO"), (13, "WARN"), (17, "ERROR")])
                    body = rnd.choice(BODIES).format(u=f"u{rnd.randint(1, 50)}", ip=f"10.0.0.{rnd.randint(1, 9)}", n=rnd.randint(1, 9999),
                                                     amount=rnd.randint(5, 500), k=rnd.choice(["a", "b", "c"]), code=rnd.choice([200, 404]))
                    la = {"code.function": rnd.choice(["handle", "process", "retry"]), "request.id": f"r{rnd.randint(1, 10**6)}"}
                    ids["log"] += 1
                    lid = ids["log"]
                    # Some are events (LogRecord.event_name), with attributes of their own.
                    ev = rnd.choice(["", "", "", "session.start", "browser.page_view"])
                    if ev == "browser.page_view":
                        la["url.path"] = f"/p/{rnd.randint(1, 300)}"
                    rec = {"timeUnixNano": str(t * 10**9), "severityNumber": sev[0], "severityText": sev[1],
                           "body": {"stringValue": body}, "attributes": attrs(la)}
                    if ev:
                        rec["eventName"] = ev
                    ctx = rnd.choice([0, 1, 2])
                    if ctx:
                        rec["traceId"] = "5b8efff798038103d269b633813fc60c"
                    if ctx == 2:
                        rec["spanId"] = "eee19b7ec3c1b174"
                    if rnd.random() < 0.2:
                        rec["droppedAttributesCount"] = 4
                    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
                    self.raw["raw_logs"].append((lid, sev[1], svc, body, dt(t), record_bytes(LogRecord, rec),
                                                 rec.get("droppedAttributesCount", 0), int(ctx > 0), int(ctx == 2), *scope, ev))
                    self.raw["raw_log_attrs"] += rows(lid, la, "attribute")
                    self.raw["raw_log_attrs"] += rows(lid, res, "resource", sev[1] not in sevs)
                    sevs.add(sev[1])
                    recs.append(rec)
                    log_scopes.append(scope)
                txn.append(json.dumps({"resourceLogs": [{"resource": {"attributes": res_attrs},
                                                         "scopeLogs": scope_blocks(recs, log_scopes, "logRecords")}]}))
            self.payloads.append(txn)
            self.raw_batches.append({k: v[before[k]:] for k, v in self.raw.items()})


VIEWS = ["service_metrics", "service_spans", "service_log_severities", "top_log_templates", "metric_metadata",
         "span_metadata", "log_metadata", "attribute_catalog", "service_overview", "key_cardinality", "span_name_explosions",
         "instance_like_services", "key_bytes", "key_mixed_types", "scopes", "service_scopes",
         "log_event_metadata", "service_log_events"]


def ingest(g):
    db = connect()
    for txn in g.payloads:
        db.execute("BEGIN")
        for p in txn:
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (p,))
        db.execute("COMMIT")
    return db


def load_raw(db, raw):
    for table, rows in raw.items():
        if rows:
            db.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(rows[0]))})", rows)


def view_rows(db, view):
    return sorted(db.execute(f"SELECT * FROM {view}").fetchall(), key=repr)


class TestEtlMatchesIngest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.g = Generated()
        cls.ing = ingest(cls.g)
        with open(ETL) as f:
            cls.script = f.read()

    def test_same_catalog_both_ways(self):
        """One run of the script over all raw rows: every table is the same as
        otlp_ingest's (which took the records in 12 transactions); span-name
        patterns, which otlp_ingest trains once per distinct (service, name)
        per transaction, are those of one transaction of the same records."""
        etl = connect()
        for path in (SCHEMA, VIEWS_SQL):
            with open(path) as f:
                etl.executescript(f.read())
        script = self.script
        # Create the raw tables (the script's first statements), load rows, run the rest.
        etl.executescript(script[: script.index("-- ---------------------------------------------------------------- metrics")])
        load_raw(etl, self.g.raw)
        etl.executescript(script)
        tables = TABLES + ["log_template_keys", "metric_service_key_rows", "span_service_key_rows", "span_service_events",
                           "log_service_key_rows", "log_events", "log_event_services", "log_event_key_rows",
                           # History (docs/catalog.md "History"): records, bytes and template volume per bucket.
                           "entity_history", "service_history", "key_history_rows", "template_history_rows",
                           # Service totals: kept at commit by otlp_ingest, built by the script's otelcat_refresh_totals().
                           "service_totals"]
        # (Top sketches past their exact range depend on the order values
        # came in and on the commits: compared by their totals.)
        a, b = dump(self.ing, tables=tables, approx_top=True), dump(etl, tables=tables, approx_top=True)
        for t in tables:
            with self.subTest(table=t):
                self.assertGreater(len(a[t]), 0)
                self.assertEqual(a[t], b[t])
        # The service views read the totals: what the full computation gives.
        from test_totals import OLD_INSTANCE_LIKE_SERVICES, OLD_SERVICE_BYTES, OLD_SERVICE_OVERVIEW
        for view, old in (("service_overview", OLD_SERVICE_OVERVIEW), ("instance_like_services", OLD_INSTANCE_LIKE_SERVICES),
                          ("service_bytes", OLD_SERVICE_BYTES)):
            with self.subTest(view=view):
                self.assertEqual(etl.execute(f"SELECT * FROM {view}").fetchall(), etl.execute(old).fetchall())
        one = connect()
        one.execute("BEGIN")
        for txn in self.g.payloads:
            for p in txn:
                one.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (p,))
        one.execute("COMMIT")
        patterns = lambda db: sorted(db.execute("SELECT service_name, cluster_id, pattern, example, span_count, "
                                                "estimated_names, hex(names_sketch), first_seen, last_seen "
                                                "FROM span_name_patterns").fetchall())
        self.assertEqual(patterns(etl), patterns(one))
        self.assertEqual(len(patterns(etl)), 12)        # 3 services x (3 routes + GET /users/<*>)
        ing = self.ing
        # The data exercises dense sketches, full sample lists and an exploding span name.
        self.assertGreater(ing.execute("SELECT max(estimated_cardinality) FROM span_keys").fetchone()[0], 1000)
        self.assertEqual(ing.execute("SELECT json_array_length(value_samples) FROM span_keys WHERE key_name = 'user.id'").fetchone()[0], 10)
        # Scopes: entities sent by several scopes of one service, and records without a scope.
        for t, e in (("metric_scopes", "metric_name"), ("span_scopes", "span_name"), ("log_scopes", "severity")):
            self.assertGreater(ing.execute(f"SELECT max(n) FROM (SELECT count(*) AS n FROM {t} "
                                           f"GROUP BY {e}, service_name)").fetchone()[0], 1, t)
            self.assertEqual(ing.execute(f"SELECT count(DISTINCT scope_name || '/' || scope_version) FROM {t}").fetchone()[0],
                             4, t)
        self.assertEqual([r[:2] for r in one.execute("SELECT pattern, service_name FROM span_name_explosions ORDER BY 2")],
                         [("GET /users/<*>", s) for s in ("cart", "checkout", "payment")])

    def test_the_documented_command_builds_the_views_too(self):
        """The command in the script's header, run as written (sqlite3 CLI,
        from the repository root), on a file holding one batch of raw rows:
        the views exist and answer as otlp_ingest's catalog does."""
        if not SQLITE:
            self.skipTest("the sqlite3 CLI is not installed")
        line = next(l for l in self.script.splitlines() if l.startswith("--   sqlite3 catalog.db"))
        argv = shlex.split(line[len("--   "):])
        tmp = tempfile.mkdtemp(prefix="otelcat-etl-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        path = os.path.join(tmp, "catalog.db")
        argv[0], argv[1] = SQLITE, path
        one = Generated(batches=1)
        db = sqlite3.connect(path)
        db.executescript(self.script[: self.script.index("-- ---------------------------------------------------------------- metrics")])
        load_raw(db, one.raw)
        db.commit()
        db.close()
        r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        etl = connect(path)
        ing = ingest(one)
        for view in VIEWS:
            with self.subTest(view=view):
                self.assertEqual(view_rows(etl, view), view_rows(ing, view))
        self.assertTrue(view_rows(etl, "span_name_explosions"))


if __name__ == "__main__":
    unittest.main()
