"""otlp_ingest through the built extension: the catalog it writes, encodings,
transactions, concurrency and bad input."""
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from helpers import err, FIXTURES, connect
from otlp_payloads import gauge, kv, log, logs, resource, span, traces

OTLP = os.path.join(FIXTURES, "otlp")
TABLES = ["metrics", "metric_services", "metric_keys", "spans", "span_services", "span_keys", "span_events",
          "logs", "log_services", "log_keys", "log_body_templates",
          # Instrumentation scopes (schema version 3).
          "metric_scopes", "span_scopes", "log_scopes"]
# Per-service keys (schema version 3).
SERVICE_TABLES = ["metric_service_key_rows", "span_service_key_rows", "span_service_events", "log_service_key_rows"]


def read(name, mode="rb"):
    with open(os.path.join(OTLP, name), mode) as f:
        return f.read()


def dump(db, skip_blobs=False, tables=TABLES, approx_top=False):
    """Every catalog table as sorted rows (sketch blobs as their count; top
    sketches as their values). approx_top: a top sketch that is not exact
    (its counts depend on the order values came in) as its total only."""
    inexact = "coalesce(json_extract(topk_info(top_sketch), '$.maximum_error'), 0) > 0"
    col = {"hll_sketch": "hll_count(hll_sketch)", "series_sketch": "hll_count(series_sketch)",
           "top_sketch": "topk_values(top_sketch, 100)"}
    if approx_top:
        col["top_sketch"] = (f"iif({inexact}, 'inexact, total ' || json_extract(topk_info(top_sketch), '$.total_weight'), "
                             "topk_values(top_sketch, 100))")
        col["top_values"] = f"iif({inexact}, 'inexact', top_values)"
    out = {}
    for t in tables:
        cols = [r[1] for r in db.execute(f"PRAGMA table_info({t})")]
        sel = ", ".join(col.get(c, c) for c in cols)
        out[t] = sorted(db.execute(f"SELECT {sel} FROM {t}").fetchall(), key=repr)
    return out



def ingest(db, payload, signal=None):
    if signal:
        db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (payload, signal))
    else:
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload,))


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otelcat-ingest-")
        self.path = os.path.join(self.dir, "c.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class TestOfficialExamples(unittest.TestCase):
    def test_otlp_ingest(self):
        db = connect()
        for f in ("trace.json", "metrics.json", "logs.json", "events.json"):
            ingest(db, read(f, "r"))
        self.assertEqual(db.execute("SELECT name, kind, total_sample_count FROM spans").fetchall(),
                         [("I'm a server span", "Server", 1)])
        self.assertEqual(db.execute("SELECT service_name FROM span_services").fetchall(), [("my.service",)])
        self.assertEqual(db.execute("SELECT key_scope, key_name, key_count, key_percentage, value_samples FROM span_keys ORDER BY 1, 2").fetchall(),
                         [("attribute", "my.span.attr", 1, 100.0, '["some value"]'), ("resource", "service.name", 1, 100.0, '["my.service"]')])
        self.assertEqual(db.execute("SELECT name, type, unit, description, total_sample_count FROM metrics ORDER BY name").fetchall(), [
            ("my.counter", "Sum", "1", "I am a Counter", 1),
            ("my.exponential.histogram", "ExponentialHistogram", "1", "I am an Exponential Histogram", 1),
            ("my.gauge", "Gauge", "1", "I am a Gauge", 1),
            ("my.histogram", "Histogram", "1", "I am a Histogram", 1)])
        self.assertEqual(db.execute("SELECT DISTINCT key_scope FROM metric_keys ORDER BY 1").fetchall(), [("label",), ("resource",)])
        self.assertEqual(db.execute("SELECT severity, total_sample_count FROM logs").fetchall(), [("INFO", 2)])
        samples = dict(db.execute("SELECT key_name, value_samples FROM log_keys WHERE key_scope = 'attribute'"))
        self.assertEqual(samples["int.attribute"], '["10"]')
        self.assertEqual(samples["double.attribute"], '["637.704"]')
        self.assertEqual(samples["boolean.attribute"], '["true"]')
        self.assertEqual(json.loads(samples["array.attribute"]), ['["many","values"]'])
        self.assertEqual(json.loads(samples["map.attribute"]), ['{"some.map.key":"some value"}'])
        rows = db.execute("SELECT template, example, count, percentage FROM log_body_templates ORDER BY template").fetchall()
        self.assertEqual(rows[0][0], "Example log record")
        self.assertEqual(sum(r[2] for r in rows), 2)
        self.assertEqual(db.execute("SELECT first_seen, last_seen FROM spans").fetchone(), ("2018-12-13 14:51:00", "2018-12-13 14:51:00"))

    def test_protobuf_agrees_with_json(self):
        for name, signal in (("trace", "traces"), ("metrics", "metrics"), ("logs", "logs"), ("events", "logs")):
            with self.subTest(name):
                a, b = connect(), connect()
                ingest(a, read(name + ".json", "r"))
                ingest(b, read(name + ".pb"), signal)
                self.assertEqual(dump(a), dump(b))

    def test_gzip_and_blob_json(self):
        ref = connect()
        ingest(ref, read("trace.json", "r"))
        for payload, signal in ((gzip.compress(read("trace.json")), None), (gzip.compress(read("trace.pb")), "traces"),
                                (read("trace.json"), None)):
            db = connect()
            ingest(db, payload, signal)
            self.assertEqual(dump(db), dump(ref))

    def test_json_lines_of_mixed_signals_in_one_statement(self):
        lines = "\n".join(json.dumps(json.loads(read(f, "r"))) for f in ("trace.json", "metrics.json", "logs.json"))
        db = connect()
        ingest(db, lines + "\n\n")
        self.assertEqual([db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("spans", "metrics", "logs")], [1, 4, 1])

    def test_empty_requests(self):
        db = connect()
        # `{}` is a valid empty OTLP/JSON request when the signal is named.
        for signal in ("traces", "metrics", "logs"):
            ingest(db, "{}", signal)
            ingest(db, '{"partialSuccess": {}}', signal)
            ingest(db, gzip.compress(b"{}"), signal)
        ingest(db, '{"resourceSpans": []}')
        self.assertEqual(db.execute("SELECT count(*) FROM spans").fetchone()[0], 0)
        self.assertIn("not an OTLP export request", err(db, "INSERT INTO otlp_ingest(payload) VALUES ('{}')"))

    def test_reading_the_table_gives_no_rows(self):
        db = connect()
        self.assertEqual(db.execute("SELECT * FROM otlp_ingest").fetchall(), [])
        # Nothing to delete or update: said, not silently ignored.
        for sql in ("DELETE FROM otlp_ingest", "UPDATE otlp_ingest SET signal = 'logs'",
                    "DELETE FROM main.otlp_ingest WHERE signal = 'x'"):
            with self.subTest(sql=sql):
                e = err(db, sql)
                self.assertIn("otlp_ingest:", e)
                self.assertIn("only INSERT", e)


class TestRecordBytes(unittest.TestCase):
    """Bytes of records (docs/catalog.md "Bytes"): what each record's message
    takes in its scope block, the same from JSON and protobuf (compared
    table by table in TestOfficialExamples.test_protobuf_agrees_with_json),
    and in protobuf the lengths as sent."""

    @staticmethod
    def field(n):
        return 1 + max(1, (n.bit_length() + 6) // 7) + n

    def sent(self, name):
        """(entity, service) -> bytes of the records of the .pb fixture,
        read with the protobuf package."""
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
        data = read(name + ".pb")
        out = {}

        def add(entity, res, rec):
            svc = next((a.value.string_value for a in res.attributes if a.key == "service.name"), "unknown_service")
            out[(entity, svc)] = out.get((entity, svc), 0) + self.field(rec.ByteSize())
        if name == "trace":
            for rs in ExportTraceServiceRequest.FromString(data).resource_spans:
                for ss in rs.scope_spans:
                    for sp in ss.spans:
                        add(sp.name, rs.resource, sp)
        elif name == "metrics":
            for rm in ExportMetricsServiceRequest.FromString(data).resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        add(m.name, rm.resource, m)
        else:
            for rl in ExportLogsServiceRequest.FromString(data).resource_logs:
                for sl in rl.scope_logs:
                    for r in sl.log_records:
                        add("INFO", rl.resource, r)
        return out

    def test_protobuf_bytes_are_the_lengths_sent(self):
        for name, signal, table, entity in (("trace", "traces", "span_services", "span_name"),
                                            ("metrics", "metrics", "metric_services", "metric_name"),
                                            ("logs", "logs", "log_services", "severity")):
            with self.subTest(name):
                db = connect()
                ingest(db, read(name + ".pb"), signal)
                got = {(e, s): b for e, s, b in db.execute(f"SELECT {entity}, service_name, bytes FROM {table}")}
                self.assertEqual(got, self.sent(name))
                self.assertTrue(all(b > 0 for b in got.values()))
                entities = {"span_services": "spans", "metric_services": "metrics", "log_services": "logs"}[table]
                total = db.execute(f"SELECT sum(bytes) FROM {entities}").fetchone()[0]
                self.assertEqual(total, sum(got.values()))

    def test_templates_services_and_views(self):
        db = connect()
        big = "x" * 300
        ingest(db, logs([log("short line 1"), log("short line 2"), log(f"long line {big}")], service="a"))
        ingest(db, logs([log("short line 3")], service="b"))
        svc = dict(db.execute("SELECT service_name, bytes FROM log_services"))
        self.assertEqual(sum(svc.values()), db.execute("SELECT bytes FROM logs").fetchone()[0])
        # Template rows split their service's bytes.
        rows = db.execute("SELECT service_name, sum(bytes) FROM log_body_template_rows GROUP BY 1").fetchall()
        self.assertEqual(dict(rows), svc)
        top = db.execute("SELECT template, bytes, count FROM log_template_bytes LIMIT 1").fetchone()
        self.assertIn(big, top[0])
        self.assertGreater(top[1], 300)
        self.assertEqual(db.execute("SELECT bytes FROM log_body_templates WHERE template = ?", (top[0],)).fetchone()[0], top[1])
        sb = db.execute("SELECT signal, service_name, records, bytes FROM service_bytes").fetchall()
        self.assertEqual(sb, [("logs", "a", 3, svc["a"]), ("logs", "b", 1, svc["b"])])
        ov = dict(db.execute("SELECT service_name, log_bytes FROM service_overview"))
        self.assertEqual(ov, svc)
        doc = json.loads(db.execute("SELECT document FROM log_metadata").fetchone()[0])
        self.assertEqual((doc["bytes"], doc["service_bytes"]), (sum(svc.values()), svc))

    def test_dropped_counts_and_trace_context(self):
        db = connect()
        s1 = span("a")
        s1.update(droppedAttributesCount=3, droppedEventsCount=2, droppedLinksCount=1)
        s2 = span("a")
        s2["droppedAttributesCount"] = 4
        ingest(db, traces([s1, s2]))
        self.assertEqual(db.execute("SELECT dropped_attributes_count, dropped_events_count, dropped_links_count FROM spans").fetchone(),
                         (7, 2, 1))
        recs = [log("one"), log("two"), log("three")]
        recs[0].update(traceId="5b8efff798038103d269b633813fc60c", spanId="eee19b7ec3c1b174", droppedAttributesCount=5)
        recs[1].update(traceId="5b8efff798038103d269b633813fc60c", spanId="")
        ingest(db, logs(recs, service="a"))
        ingest(db, logs([dict(log("four"), traceId="5b8efff798038103d269b633813fc60c")], service="b"))
        self.assertEqual(db.execute("SELECT dropped_attributes_count, trace_id_count, span_id_count FROM logs").fetchone(), (5, 3, 1))
        self.assertEqual(db.execute("SELECT service_name, trace_id_count, span_id_count FROM log_services ORDER BY 1").fetchall(),
                         [("a", 2, 1), ("b", 1, 0)])
        doc = json.loads(db.execute("SELECT document FROM span_metadata").fetchone()[0])
        self.assertEqual(doc["dropped"], {"attributes": 7, "events": 2, "links": 1})

    def test_bad_payload_writes_nothing(self):
        db = connect()
        ingest(db, logs([log("one")]))
        before = db.execute("SELECT bytes FROM logs").fetchone()
        with self.assertRaises(sqlite3.Error):
            ingest(db, logs([log("two"), {"droppedAttributesCount": "many"}]))
        self.assertEqual(db.execute("SELECT bytes FROM logs").fetchone(), before)


class TestCatalogValues(unittest.TestCase):
    def test_counts_percentages_and_cardinality(self):
        db = connect()
        ingest(db, traces([span("GET /a", attrs={"user.id": f"u{i}", "http.method": "GET"}) for i in range(50)]
                          + [span("GET /a", attrs={"http.method": "GET"}) for i in range(50)], service="front", host="h1"))
        keys = {r[0]: r[1:] for r in db.execute(
            "SELECT key_name, key_count, key_percentage, estimated_cardinality FROM span_keys WHERE span_name = 'GET /a' AND key_scope = 'attribute'")}
        self.assertEqual(keys["user.id"], (50, 50.0, 50))
        self.assertEqual(keys["http.method"], (100, 100.0, 1))
        self.assertEqual(db.execute("SELECT key_count FROM span_keys WHERE key_scope = 'resource' AND key_name = 'host'").fetchone()[0], 100)
        # A later commit changes the denominator: percentages follow.
        ingest(db, traces([span("GET /a")] * 100, service="front"))
        self.assertEqual(db.execute("SELECT key_percentage FROM span_keys WHERE key_name = 'user.id'").fetchone()[0], 25.0)
        self.assertEqual(db.execute("SELECT key_percentage FROM span_keys WHERE key_name = 'host'").fetchone()[0], 50.0)
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans").fetchone()[0], 200)

    def test_samples_are_first_ten_distinct_across_commits(self):
        db = connect()
        for batch in range(3):
            ingest(db, traces([span("s", attrs={"k": f"v{batch * 5 + i}"}) for i in range(5)]))
        self.assertEqual(json.loads(db.execute("SELECT value_samples FROM span_keys WHERE key_name = 'k'").fetchone()[0]),
                         [f"v{i}" for i in range(10)])
        self.assertEqual(db.execute("SELECT estimated_cardinality FROM span_keys WHERE key_name = 'k'").fetchone()[0], 15)

    def test_events_and_links(self):
        db = connect()
        ingest(db, traces([
            span("op", events=[("exception", {"exception.type": "E"}), ("retry", {"attempt": 1})], links=[{"l": "x"}]),
            span("op", events=[("exception", {"exception.type": "F", "exception.message": "m"})]),
        ]))
        self.assertEqual(db.execute("SELECT span_name, event_name, event_count FROM span_events ORDER BY 2").fetchall(),
                         [("op", "exception", 2), ("op", "retry", 1)])
        ev = {r[0]: r[1:] for r in db.execute(
            "SELECT key_name, event_name, key_count, key_percentage FROM span_keys WHERE key_scope = 'event'")}
        self.assertEqual(ev["exception.type"], ("exception", 2, 100.0))
        self.assertEqual(ev["exception.message"], ("exception", 1, 50.0))
        self.assertEqual(ev["attempt"], ("retry", 1, 100.0))
        self.assertEqual(db.execute("SELECT key_count, key_percentage, event_name FROM span_keys WHERE key_scope = 'link'").fetchone(),
                         (1, 100.0, ""))

    def test_services_kinds_and_severities(self):
        db = connect()
        ingest(db, traces([span("a", kind=3), span("b", kind="SPAN_KIND_CONSUMER")], service=None))
        self.assertEqual(db.execute("SELECT name, kind FROM spans ORDER BY 1").fetchall(), [("a", "Client"), ("b", "Consumer")])
        self.assertEqual(db.execute("SELECT DISTINCT service_name FROM span_services").fetchall(), [("unknown_service",)])
        ingest(db, logs([log("x", 1, None), log("x", 5), log("x", 11), log("x", 13), log("x", 18), log("x", 24),
                         log("x", 0, "notice"), log("x", 0, None), log("x", "SEVERITY_NUMBER_WARN2", None)]))
        self.assertEqual(dict(db.execute("SELECT severity, total_sample_count FROM logs")),
                         {"TRACE": 1, "DEBUG": 1, "INFO": 1, "WARN": 2, "ERROR": 1, "FATAL": 1, "NOTICE": 1, "UNSPECIFIED": 1})

    def test_metric_series_and_labels(self):
        db = connect()
        ingest(db, gauge("cpu", [({"core": str(i % 4), "user.id": f"u{i}"}, 1.0) for i in range(40)] + [({"core": "0", "user.id": "u0"}, 2.0)]))
        self.assertEqual(db.execute("SELECT total_sample_count, estimated_active_series FROM metrics").fetchone(), (41, 40))
        self.assertEqual(dict(db.execute("SELECT key_name, estimated_cardinality FROM metric_keys WHERE key_scope = 'label'")),
                         {"core": 4, "user.id": 40})


class TestNoImpossibleEstimates(unittest.TestCase):
    """An HLL estimate of n distinct values can be a little above n (407
    values 'u1'..'u407' give 408): the catalog's estimate columns are clamped
    to their counts; hll_count of the stored sketch is left as it is."""

    def test_estimates_never_exceed_their_counts(self):
        db = connect()
        ingest(db, traces([span("GET /a", attrs={"id": f"u{i}"}) for i in range(1, 408)]))
        self.assertEqual(db.execute("SELECT key_count, estimated_cardinality, hll_count(hll_sketch) FROM span_keys "
                                    "WHERE key_name = 'id'").fetchone(), (407, 407, 408))
        self.assertEqual(db.execute("SELECT total_count, estimated_cardinality FROM attribute_catalog "
                                    "WHERE key_name = 'id'").fetchone(), (407, 407))
        # 1 241 distinct series estimated as 1 243.
        ingest(db, gauge("m", [({"id": f"u{i}"}, 1.0) for i in range(1241)]))
        self.assertEqual(db.execute("SELECT total_sample_count, estimated_active_series, hll_count(series_sketch) "
                                    "FROM metrics").fetchone(), (1241, 1241, 1243))
        for table in ("metric_keys", "span_keys", "log_keys"):
            self.assertEqual(db.execute(f"SELECT count(*) FROM {table} WHERE estimated_cardinality > key_count").fetchone(), (0,))
        self.assertEqual(db.execute("SELECT count(*) FROM span_name_patterns WHERE estimated_names > span_count").fetchone(), (0,))


class TestCatalogGolden(unittest.TestCase):
    """The whole catalog of a fixed workload, blobs included, against a digest
    written by an earlier version (tests/fixtures/catalog/golden.json). It
    pins what otlp_ingest stores, byte for byte: a change to decoding,
    aggregation, sketches or samples that alters any stored value fails here.
    When a change is meant to alter the catalog, say so in its commit and
    rewrite the digest with OTELCAT_UPDATE_GOLDEN=1."""

    GOLDEN = os.path.join(FIXTURES, "catalog", "golden.json")

    @staticmethod
    def workload():
        import random
        rnd = random.Random(7)
        t0 = 1700000000000000000
        reqs = []
        for r in range(6):
            spans = []
            # 1 000 spans per request: each span name gets more distinct
            # "high" values per transaction than a sparse sketch holds.
            for i in range(1000):
                n = r * 1000 + i
                attrs = {"low": rnd.choice(["GET", "POST", "PUT"]), "mid": f"m{rnd.randrange(300)}",
                         "high": f"u{n}", "n": rnd.randrange(1000), "d": round(rnd.random() * 100, 2),
                         "ok": n % 3 == 0}
                if n % 5 == 0:
                    attrs["arr"] = [1, "x", n % 4]
                events = [("retry", {"attempt": n % 4})] if n % 7 == 0 else ()
                links = [{"rel": f"r{n % 9}"}] if n % 11 == 0 else ()
                spans.append(span(f"op{rnd.randrange(5)}", kind=1 + n % 5, attrs=attrs, events=events,
                                  links=links, t=t0 + n * 1_000_000_000))
            reqs.append((traces(spans, service=f"s{r % 4}", host_name=f"h{r}"), None))
        bodies = ["user {} logged in from 10.0.{}.{}", "disk {}% full on /dev/sd{}", "request {} took {} ms",
                  "cache miss for key {}"]
        for r in range(2):
            recs = []
            for i in range(300):
                b = bodies[i % len(bodies)]
                body = b.format(*(rnd.randrange(200) for _ in range(b.count("{}"))))
                recs.append(log(body, severity_number=[9, 13, 17, 5][i % 4], severity_text=None,
                                attrs={"code": rnd.randrange(20)}, t=t0 + (r * 300 + i) * 1_000_000_000))
            reqs.append((logs(recs, service=f"s{r}"), None))
        for r in range(2):
            points = [({"queue": f"q{rnd.randrange(20)}", "host": f"h{rnd.randrange(100)}"}, float(i))
                      for i in range(300)]
            reqs.append((gauge("queue.depth", points, service=f"s{r}"), None))
        return reqs

    def test_catalog_digest(self):
        import hashlib
        db = connect()
        reqs = self.workload()
        for part in (reqs[: len(reqs) // 2], reqs[len(reqs) // 2:]):
            db.execute("BEGIN")
            for p, sig in part:
                ingest(db, p, sig)
            db.execute("COMMIT")
        rows = []
        for t in TABLES + SERVICE_TABLES:
            for row in db.execute(f"SELECT * FROM {t}"):
                rows.append(t + ":" + repr(tuple(v.hex() if isinstance(v, bytes) else v for v in row)))
        rows.sort()
        got = {"rows": len(rows), "sha256": hashlib.sha256("\n".join(rows).encode()).hexdigest()}
        if os.environ.get("OTELCAT_UPDATE_GOLDEN") == "1":
            os.makedirs(os.path.dirname(self.GOLDEN), exist_ok=True)
            with open(self.GOLDEN, "w") as f:
                json.dump(got, f, indent=1)
                f.write("\n")
        with open(self.GOLDEN) as f:
            want = json.load(f)
        self.assertEqual(got, {"rows": want["rows"], "sha256": want["sha256"]})

    def test_one_row_statements_write_the_same_catalog(self):
        """Key rows go 32 to a statement; a host whose variable limit is too
        low for that gets them one by one, and the same catalog."""
        def catalog(limit):
            db = connect()
            if limit:
                db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
            db.execute("BEGIN")
            for p, sig in self.workload():
                ingest(db, p, sig)
            db.execute("COMMIT")
            return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
        self.assertEqual(catalog(None), catalog(100))


class TestLogTemplates(Tmp):
    LINES = ["connection closed by alpha port x", "connection closed by beta port y", "connection closed by gamma port z"]

    def test_rows_follow_their_cluster(self):
        db = connect(self.path)
        for l in self.LINES:  # one commit each: the row must follow the generalising template
            ingest(db, logs([log(l)], service="api"))
        rows = db.execute("SELECT template, example, count, percentage FROM log_body_templates").fetchall()
        self.assertEqual(rows, [("connection closed by <*> port <*>", self.LINES[0], 3, 100.0)])
        self.assertEqual(db.execute("SELECT template FROM drain_clusters('otlp.logs/INFO/api')").fetchall(),
                         [("connection closed by <*> port <*>",)])

    def test_counts_add_up_per_severity_and_service(self):
        db = connect(self.path)
        recs = [log(f"user u{i % 7} logged in from 10.0.0.{i}", 9 if i % 3 else 17) for i in range(200)] + [log(None), log({"k": 1})]
        ingest(db, logs(recs, service="auth"))
        ingest(db, logs(recs[:50], service="web"))
        bad = db.execute("""SELECT s.severity, s.service_name, s.sample_count, sum(t.count) FROM log_services s
                            JOIN log_body_templates t USING (severity, service_name)
                            GROUP BY 1, 2 HAVING s.sample_count <> sum(t.count)""").fetchall()
        self.assertEqual(bad, [])
        self.assertEqual(db.execute("SELECT round(sum(percentage)) FROM log_body_templates GROUP BY severity, service_name").fetchall(),
                         [(100.0,)] * 4)

    def test_blocks_of_one_payload_find_their_service_model(self):
        """Resource blocks of one payload, services of equal length interleaved,
        one service in several blocks (once written with an escape, so the
        decoder copies it): each (severity, service) model counts its own lines."""
        db = connect(self.path)
        def block(service, n, sev):
            return {"resource": resource(service), "scopeLogs": [{"scope": {"name": "t"}, "logRecords": [
                log(f"job {i} done on {service}", 9 if sev == "INFO" else 17, sev) for i in range(n)]}]}
        blocks = [block("svc-a", 5, "INFO"), block("svc-b", 3, "INFO"), block("svc-a", 2, "ERROR"),
                  block("svc-a", 4, "INFO"), block("svc-b", 1, "ERROR")]
        payload = json.dumps({"resourceLogs": blocks}).replace('"svc-a"', '"svc\\u002da"', 1)
        self.assertIn("\\u002d", payload)
        ingest(db, payload)
        rows = db.execute("""SELECT severity, service_name, sum(count) FROM log_body_templates
                             GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
        self.assertEqual(rows, [("ERROR", "svc-a", 2), ("ERROR", "svc-b", 1), ("INFO", "svc-a", 9), ("INFO", "svc-b", 3)])
        sizes = {p: db.execute(f"SELECT sum(size) FROM drain_clusters('{p}')").fetchone()[0]
                 for p in ("otlp.logs/INFO/svc-a", "otlp.logs/INFO/svc-b", "otlp.logs/ERROR/svc-a", "otlp.logs/ERROR/svc-b")}
        self.assertEqual(sizes, {"otlp.logs/INFO/svc-a": 9, "otlp.logs/INFO/svc-b": 3,
                                 "otlp.logs/ERROR/svc-a": 2, "otlp.logs/ERROR/svc-b": 1})


class TestTemplateKeys(Tmp):
    """log_template_keys: the attribute keys of each template's records."""

    def keys(self, db):
        return db.execute("""SELECT template, key_name, key_count, key_percentage FROM template_keys
                             ORDER BY template, key_name""").fetchall()

    def test_keys_and_shares_per_template(self):
        db = connect(self.path)
        ingest(db, logs([log("user 1 logged in", attrs={"user.id": "1"}),
                         log("user 2 logged in", attrs={"user.id": "2", "client.ip": "10.0.0.1"}),
                         log("user 3 logged in", attrs={"client.ip": "10.0.0.2", "user.id": "3"}),
                         log("disk full", attrs={"disk": "sda"}),
                         log("disk full")], service="auth"))
        self.assertEqual(self.keys(db), [("disk full", "disk", 1, 50.0),
                                         ("user <*> logged in", "client.ip", 2, 200 / 3),
                                         ("user <*> logged in", "user.id", 3, 100.0)])
        # Another transaction adds up, per severity and service.
        ingest(db, logs([log("user 4 logged in", attrs={"user.id": "4"})], service="auth"))
        ingest(db, logs([log("user 5 logged in", attrs={"session": "s"})], service="web"))
        rows = db.execute("""SELECT service_name, key_name, key_count FROM log_template_keys
                             WHERE key_name IN ('user.id', 'session') ORDER BY 1, 2""").fetchall()
        self.assertEqual(rows, [("auth", "user.id", 4), ("web", "session", 1)])

    def test_rows_follow_their_cluster(self):
        """Clusters that merge (one commit per line) hand their key rows
        over: every key row belongs to a template row, counts add up."""
        db = connect(self.path)
        lines = TestLogTemplates.LINES
        for n, l in enumerate(lines):
            ingest(db, logs([log(l, attrs={"k": n, f"only{n}": 1})], service="api"))
        # and once more inside one transaction, where clusters merge in memory
        db.execute("BEGIN")
        for n, l in enumerate(lines):
            ingest(db, logs([log(l.replace("closed", "opened"), attrs={"k": n})], service="api"))
        db.execute("COMMIT")
        self.assertEqual(self.keys(db), [
            ("connection closed by <*> port <*>", "k", 3, 100.0),
            ("connection closed by <*> port <*>", "only0", 1, 100 / 3),
            ("connection closed by <*> port <*>", "only1", 1, 100 / 3),
            ("connection closed by <*> port <*>", "only2", 1, 100 / 3),
            ("connection opened by <*> port <*>", "k", 3, 100.0)])
        orphans = db.execute("""SELECT count(*) FROM log_template_keys k LEFT JOIN log_body_templates t
                                USING (severity, service_name, cluster_id) WHERE t.template IS NULL""").fetchone()
        self.assertEqual(orphans, (0,))

    def test_a_failed_ingest_writes_no_key_rows(self):
        db = connect(self.path)
        ingest(db, logs([log("first")]))
        db.execute("BEGIN")
        ingest(db, logs([log("a b c", attrs={"x": 1})]))
        with self.assertRaises(sqlite3.Error):
            ingest(db, "{not json")
        db.execute("ROLLBACK")
        self.assertEqual(db.execute("SELECT count(*) FROM log_template_keys").fetchone(), (0,))


class TestUpgrade(Tmp):
    """Catalogs of older versions are upgraded in the writing transaction;
    newer ones are refused for writing."""

    OLD = os.path.join(FIXTURES, "catalog", "v0.1.0.db")

    def copy(self):
        shutil.copy(self.OLD, self.path)
        return connect(self.path)

    def test_v0_1_0_catalog_upgrades_and_adds_up(self):
        db = self.copy()
        self.assertEqual(db.execute("SELECT value FROM otelcat_meta WHERE key = 'schema_version'").fetchone(), ("1",))
        before = dict(db.execute("SELECT severity, total_sample_count FROM logs"))
        spans_before = dict(db.execute("SELECT name, total_sample_count FROM spans"))
        ingest(db, logs([log("upgrade check", attrs={"a": 1})], service="upgrader"))
        ingest(db, traces([span(next(iter(spans_before)))]))
        self.assertEqual(db.execute("SELECT value FROM otelcat_meta WHERE key = 'schema_version'").fetchone(), ("3",))
        after = dict(db.execute("SELECT severity, total_sample_count FROM logs"))
        self.assertEqual(sum(after.values()), sum(before.values()) + 1)
        name = next(iter(spans_before))
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans WHERE name = ?", (name,)).fetchone(),
                         (spans_before[name] + 1,))
        self.assertEqual(db.execute("SELECT key_name, key_count FROM template_keys WHERE service_name = 'upgrader'").fetchall(),
                         [("a", 1)])
        # Views are those of this version (dropped and created again).
        views = {r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'view'")}
        self.assertIn("template_keys", views)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone(), ("ok",))

    def schema_of(self, db):
        """Columns (name, type, notnull, default, pk) of every table and the
        definition of every index, as PRAGMAs report them."""
        out = {}
        for (t,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"):
            out[t] = db.execute(f"SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo('{t}')").fetchall()
        for (i, t) in db.execute("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' ORDER BY name"):
            out["index " + i] = (t, db.execute(f"SELECT name FROM pragma_index_info('{i}')").fetchall(),
                                 db.execute(f"SELECT \"unique\", partial FROM pragma_index_list('{t}') "
                                            f"WHERE name = '{i}'").fetchall())
        out["views"] = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'view'"))
        return out

    def test_every_older_catalog_upgrades_to_the_schema_of_a_new_one(self):
        fresh = connect(os.path.join(self.dir, "fresh.db"))
        ingest(fresh, logs([log("x")]))
        ingest(fresh, traces([span("s")]))
        fresh.execute("SELECT drain_template('a b 1', 'p'), drain_reset('p')")
        want = self.schema_of(fresh)
        version = fresh.execute("SELECT value FROM otelcat_meta WHERE key = 'schema_version'").fetchone()
        for name in sorted(os.listdir(os.path.join(FIXTURES, "catalog"))):
            if not name.startswith("v") or not name.endswith(".db"):
                continue
            with self.subTest(fixture=name):
                shutil.copy(os.path.join(FIXTURES, "catalog", name), self.path)
                db = connect(self.path)
                before = db.execute("SELECT sum(total_sample_count) FROM spans").fetchone()[0]
                ingest(db, logs([log("x")]))
                db.execute("SELECT drain_template('a b 1', 'p'), drain_reset('p')")
                self.assertEqual(db.execute("SELECT value FROM otelcat_meta WHERE key = 'schema_version'").fetchone(),
                                 version)
                self.assertEqual(self.schema_of(db), want)
                ingest(db, traces([span("s")]))
                self.assertEqual(db.execute("SELECT sum(total_sample_count) FROM spans").fetchone()[0], before + 1)
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone(), ("ok",))
                db.close()
                os.remove(self.path)

    def test_upgrade_clamps_impossible_estimates(self):
        """Older versions stored estimates above their counts; the upgrade to
        version 3 clamps them."""
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.2.0.db"), self.path)
        db = connect(self.path)
        db.execute("UPDATE span_keys SET estimated_cardinality = key_count + 2")   # (a table before version 3)
        db.execute("UPDATE metrics SET estimated_active_series = total_sample_count + 1")
        ingest(db, logs([log("x")]))
        self.assertEqual(db.execute("SELECT count(*) FROM span_keys WHERE estimated_cardinality > key_count").fetchone(), (0,))
        self.assertEqual(db.execute("SELECT count(*) FROM span_keys WHERE estimated_cardinality = key_count").fetchone(),
                         db.execute("SELECT count(*) FROM span_keys").fetchone())
        self.assertEqual(db.execute("SELECT count(*) FROM metrics WHERE estimated_active_series > total_sample_count").fetchone(), (0,))

    def test_upgrade_rolls_back_with_its_transaction(self):
        db = self.copy()
        db.execute("BEGIN")
        ingest(db, logs([log("x")]))
        db.execute("ROLLBACK")
        self.assertEqual(db.execute("SELECT value FROM otelcat_meta WHERE key = 'schema_version'").fetchone(), ("1",))
        self.assertEqual(db.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'log_template_keys'").fetchone(), (0,))

    def test_a_missing_view_comes_back_on_the_next_write(self):
        db = self.copy()
        ingest(db, logs([log("x")]))
        views = db.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'view' ORDER BY name").fetchall()
        db.execute("DROP VIEW template_keys")
        db.close()
        db = connect(self.path)
        ingest(db, logs([log("y")]))
        self.assertEqual(db.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'view' ORDER BY name").fetchall(),
                         views)

    def test_newer_catalog_is_refused_for_writing(self):
        db = self.copy()
        db.execute("UPDATE otelcat_meta SET value = '99' WHERE key = 'schema_version'")
        n = db.execute("SELECT sum(total_sample_count) FROM logs").fetchone()
        e = err(db, "INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("x")]),))
        self.assertIn("otlp_ingest", e)
        self.assertIn("schema version 99", e)
        self.assertIn("schema version 3", e)
        self.assertEqual(db.execute("SELECT sum(total_sample_count) FROM logs").fetchone(), n)
        # Reading works.
        self.assertGreater(db.execute("SELECT count(*) FROM service_overview").fetchone()[0], 0)

    def test_damaged_version_is_a_clear_error(self):
        db = self.copy()
        db.execute("UPDATE otelcat_meta SET value = 'x1' WHERE key = 'schema_version'")
        e = err(db, "INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("x")]),))
        self.assertIn("otlp_ingest", e)
        self.assertIn("schema_version", e)


class TestTransactions(Tmp):
    def test_failed_row_leaves_no_trace_and_rollback_discards(self):
        db = connect(self.path)
        good = [traces([span(f"s{i}")]) for i in range(4)]
        db.execute("BEGIN")
        ingest(db, traces([span("kept")]))
        self.assertIn("otlp_ingest: invalid OTLP/JSON", err(db, "INSERT INTO otlp_ingest(payload) VALUES (?), (?), (?), (?), (?)",
                                                          good + ['{"resourceSpans": [ {"resource": 1}']))
        db.execute("COMMIT")
        self.assertEqual(db.execute("SELECT name FROM spans").fetchall(), [("kept",)])
        db.execute("BEGIN")
        ingest(db, traces([span("gone")]))
        ingest(db, logs([log("gone too")]))
        db.execute("ROLLBACK")
        self.assertEqual(db.execute("SELECT name FROM spans").fetchall(), [("kept",)])
        self.assertEqual(db.execute("SELECT count(*) FROM logs").fetchone()[0], 0)

    def test_a_failing_flush_writes_nothing(self):
        """A stored sketch damaged by hand: the next commit fails with the
        function's error, in the middle of a multi-row key UPSERT, and the
        catalog is as it was (rows written before the failure included)."""
        db = connect(self.path)

        def batch(n0):
            return traces([span(f"op{i % 3}", attrs={f"k{j}": f"v{(i * j) % 50}" for j in range(20)})
                           for i in range(n0, n0 + 200)], service="s")

        def snapshot():
            return [db.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall()
                    for t in ("spans", "span_services", "span_keys")]

        db.execute("BEGIN")
        ingest(db, batch(0))
        db.execute("COMMIT")
        db.execute("UPDATE span_key_rows SET hll_sketch = x'0102' WHERE span_name = 'op1' AND key_name = 'k7'")
        before = snapshot()
        db.execute("BEGIN")
        ingest(db, batch(200))
        with self.assertRaises(sqlite3.Error) as e:
            db.execute("COMMIT")
        self.assertIn("otlp_ingest: writing the catalog failed: span_key_rows row (", str(e.exception))
        self.assertIn("hll_merge: argument 1 is not an HLL sketch", str(e.exception))
        if db.in_transaction:
            db.execute("ROLLBACK")
        self.assertEqual(snapshot(), before)
        # Mended, the next batch goes in.
        db.execute("UPDATE span_key_rows SET hll_sketch = NULL WHERE span_name = 'op1' AND key_name = 'k7'")
        db.execute("BEGIN")
        ingest(db, batch(400))
        db.execute("COMMIT")
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans WHERE name = 'op1'").fetchone()[0], 134)

    def test_savepoint_rollback_restores_templates(self):
        db = connect(self.path)
        db.execute("BEGIN")
        ingest(db, logs([log("disk full on /dev/sda1")], service="s"))
        db.execute("SAVEPOINT a")
        ingest(db, logs([log("completely different message here")], service="s"))
        db.execute("ROLLBACK TO a")
        db.execute("RELEASE a")
        ingest(db, logs([log("disk full on /dev/sdb2")], service="s"))
        db.execute("COMMIT")
        self.assertEqual(db.execute("SELECT template, count FROM log_body_templates").fetchall(), [("disk full on <PATH>", 2)])
        self.assertEqual(db.execute("SELECT count(*) FROM drain_clusters('otlp.logs/INFO/s')").fetchone()[0], 1)
        # The model in the file agrees with the catalog.
        other = connect(self.path)
        self.assertEqual(other.execute("SELECT template, size FROM drain_clusters('otlp.logs/INFO/s')").fetchall(), [("disk full on <PATH>", 2)])

    def test_reader_sees_none_or_all_of_a_commit(self):
        db = connect(self.path)
        db.execute("PRAGMA journal_mode=WAL")
        ingest(db, traces([span("warm")]))
        seen, stop = set(), threading.Event()

        def reader():
            r = connect(self.path)
            while not stop.is_set():
                r.execute("BEGIN")
                a = r.execute("SELECT coalesce(sum(total_sample_count), 0) FROM spans WHERE name = 'x'").fetchone()[0]
                b = r.execute("SELECT coalesce(sum(sample_count), 0) FROM span_services WHERE span_name = 'x'").fetchone()[0]
                c = r.execute("SELECT coalesce(max(key_count), 0) FROM span_keys WHERE span_name = 'x'").fetchone()[0]
                r.execute("COMMIT")
                seen.add((a, b, c))

        t = threading.Thread(target=reader)
        t.start()
        try:
            for _ in range(5):
                db.execute("BEGIN")
                for _ in range(20):
                    ingest(db, traces([span("x", attrs={"k": "v"})] * 50))
                db.execute("COMMIT")
                time.sleep(0.01)
        finally:
            stop.set()
            t.join()
        self.assertTrue(all(a == b == c and a % 1000 == 0 for a, b, c in seen), seen)

    def test_models_follow_another_connections_commits(self):
        # Each connection keeps its template models across its own commits,
        # and reloads them when the other connection has committed since.
        a, b = connect(self.path), connect(self.path)
        for i, db in enumerate([a, b, a, b, a]):
            db.execute("BEGIN")
            ingest(db, logs([log(f"user u{i} logged in")], service="api"))
            db.execute("COMMIT")
        for db in (a, b):
            self.assertEqual(db.execute("SELECT template, count FROM log_body_templates").fetchall(),
                             [("user u<*> logged in", 5)])
            self.assertEqual(db.execute("SELECT template, size FROM drain_clusters('otlp.logs/INFO/api')").fetchall(),
                             [("user u<*> logged in", 5)])

    def test_two_writer_processes_lose_no_counts(self):
        connect(self.path).execute("PRAGMA journal_mode=WAL")
        here = os.path.dirname(os.path.abspath(__file__))
        code = f"""
import sys; sys.path.insert(0, {here!r})
from helpers import connect
from otlp_payloads import traces, span, logs, log
db = connect({self.path!r})
db.execute('PRAGMA busy_timeout = 20000')
for i in range(40):
    db.execute('BEGIN IMMEDIATE')
    db.execute('INSERT INTO otlp_ingest(payload) VALUES (?)', (traces([span('shared', attrs={{'w': sys.argv[1], 'i': i}})] * 25),))
    db.execute('INSERT INTO otlp_ingest(payload) VALUES (?)', (logs([log('job ' + sys.argv[1] + ' step done')] * 5, service='w'),))
    db.execute('COMMIT')
"""
        procs = [subprocess.Popen([sys.executable, "-c", code, w]) for w in ("a", "b")]
        self.assertEqual([p.wait(timeout=300) for p in procs], [0, 0])
        db = connect(self.path)
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans WHERE name = 'shared'").fetchone()[0], 2 * 40 * 25)
        self.assertEqual(db.execute("SELECT key_count, estimated_cardinality FROM span_keys WHERE key_name = 'w'").fetchone(), (2000, 2))
        self.assertEqual(db.execute("SELECT sample_count FROM log_services").fetchone()[0], 400)
        self.assertEqual(db.execute("SELECT sum(count) FROM log_body_templates").fetchone()[0], 400)


def topk_json(pairs):
    """top_values of (value, count) pairs: most counted first, then by value."""
    pairs = sorted(pairs, key=lambda p: (-p[1], p[0]))
    return "[" + ",".join(json.dumps({"value": v, "count": c}, separators=(",", ":")) for v, c in pairs) + "]"


class TestCommitCost(unittest.TestCase):
    """What a commit writes of templates, keys and span-name patterns follows
    what it counted, not how many the service has (issue 16): a one-record
    commit into a (severity, service) of 100 templates rewrites one template
    row, not 100 (percentages are derived when read). Rows written are
    counted by a TEMP trigger on the table that stores them."""

    @staticmethod
    def stored(db, view, table):
        kind = db.execute("SELECT type FROM sqlite_schema WHERE name = ?", (table,)).fetchone()
        return table if kind else view

    def updates_of(self, db, table, then):
        db.execute("CREATE TEMP TABLE IF NOT EXISTS written(n INTEGER)")
        db.execute("DELETE FROM written")
        db.execute(f"CREATE TEMP TRIGGER count_updates AFTER UPDATE ON main.{table} BEGIN "
                   "INSERT INTO written VALUES (1); END")
        try:
            then()
        finally:
            db.execute("DROP TRIGGER temp.count_updates")
        return db.execute("SELECT count(*) FROM written").fetchone()[0]

    def test_one_log_record_rewrites_one_template_row(self):
        db = connect()
        # 100 templates: lines of 1 to 100 words (one cluster per length).
        ingest(db, logs([log(" ".join(["word"] * n)) for n in range(1, 101)]))
        self.assertEqual(db.execute("SELECT count(*) FROM log_body_templates").fetchone()[0], 100)
        table = self.stored(db, "log_body_templates", "log_body_template_rows")
        n = self.updates_of(db, table, lambda: ingest(db, logs([log("word word word")])))
        self.assertEqual(n, 1)
        # Percentages still those of the records counted.
        rows = db.execute("SELECT count, percentage FROM log_body_templates").fetchall()
        self.assertEqual(sum(c for c, _ in rows), 101)
        for c, p in rows:
            self.assertAlmostEqual(p, 100.0 * c / 101)

    def test_one_span_rewrites_the_key_rows_it_counted(self):
        """A span with 2 of a span name's 101 attribute keys rewrites those 2
        key rows and its resource's service.name (on the old code, the
        refresh rewrote all 103: the percentage moves
        with the span name's total); percentages, estimates and top values
        read as the refresh wrote them."""
        db = connect()
        ingest(db, traces([span("op", attrs={f"k{i:03}": f"v{i}" for i in range(100)}),
                           span("op", attrs={"k000": "w", "link.x": 1}, links=[{"l": "x"}])]))
        self.assertEqual(db.execute("SELECT count(*) FROM span_keys WHERE span_name = 'op' AND key_scope = 'attribute'").fetchone(),
                         (101,))
        table = self.stored(db, "span_keys", "span_key_rows")
        n = self.updates_of(db, table, lambda: ingest(db, traces([span("op", attrs={"k000": "x", "k001": "v1"})])))
        self.assertEqual(n, 3)
        got = {r[0]: r[1:] for r in db.execute(
            "SELECT key_name, key_count, key_percentage, estimated_cardinality, top_values FROM span_keys "
            "WHERE span_name = 'op' AND key_scope = 'attribute'")}
        self.assertEqual(got["k000"], (3, 100.0, 3, topk_json([("v0", 1), ("w", 1), ("x", 1)])))
        self.assertEqual(got["k001"], (2, 100.0 * 2 / 3, 1, '[{"value":"v1","count":2}]'))
        self.assertEqual(got["k002"], (1, 100.0 / 3, 1, '[{"value":"v2","count":1}]'))
        self.assertEqual(db.execute("SELECT key_percentage FROM span_keys WHERE key_scope = 'link'").fetchone(), (100.0,))
        # The stored values are what the old refresh computed: percentage
        # from the span name's total, estimate and top values from the sketches.
        self.assertEqual(db.execute(
            "SELECT count(*) FROM span_keys k JOIN spans p ON p.name = k.span_name WHERE k.key_scope = 'attribute' "
            "AND (k.key_percentage IS NOT 100.0 * k.key_count / max(p.total_sample_count, 1) "
            "OR k.estimated_cardinality IS NOT min(hll_count(k.hll_sketch), k.key_count) "
            "OR k.top_values IS NOT topk_counts(k.top_sketch, 10))").fetchone(), (0,))

    def test_one_span_rewrites_one_pattern_row(self):
        db = connect()
        # 50 patterns: span names of 1 to 50 words.
        ingest(db, traces([span(" ".join(["op"] * n)) for n in range(1, 51)]))
        self.assertEqual(db.execute("SELECT count(*) FROM span_name_patterns").fetchone()[0], 50)
        n = self.updates_of(db, "span_name_patterns", lambda: ingest(db, traces([span("op op")])))
        # The pattern's row (UPSERT) and its estimated names.
        self.assertLessEqual(n, 2)
        self.assertEqual(db.execute("SELECT span_count, estimated_names FROM span_name_patterns "
                                    "WHERE pattern = 'op op'").fetchone(), (2, 1))


class TestModelMemory(unittest.TestCase):
    """Template models stay within the registry's memory budget whatever
    the number of (severity, service) partitions (issue 16): the least
    recently used are written, dropped and reloaded from the file, and the
    templates are those of a connection that never dropped one. Measured
    with the registry's own accounting (otelcat_test_drain_memory, in the
    test-hooks build)."""

    def hooks(self):
        from helpers import HOOKS_EXT
        if not os.path.exists(HOOKS_EXT + ".so"):
            self.fail(f"{HOOKS_EXT}.so is missing: build it with `make dist/test-hooks/otelcat.so`")
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.enable_load_extension(True)
        db.load_extension(HOOKS_EXT)
        return db

    @staticmethod
    def memory(db, budget=None):
        import json
        if budget is None:
            return json.loads(db.execute("SELECT otelcat_test_drain_memory()").fetchone()[0])
        return json.loads(db.execute("SELECT otelcat_test_drain_memory(?)", (budget,)).fetchone()[0])

    @staticmethod
    def payloads(first, count, word):
        """Logs and spans of services first..first+count, one request each."""
        import json
        res = lambda i: {"attributes": [{"key": "service.name", "value": {"stringValue": f"svc-{i}"}}]}
        lg = {"resourceLogs": [{"resource": res(i), "scopeLogs": [{"logRecords": [
            log(f"user {word} logged in from host {word}{i % 7}")]}]} for i in range(first, first + count)]}
        sp = {"resourceSpans": [{"resource": res(i), "scopeSpans": [{"spans": [
            span(f"GET /api/{word}/items")]}]} for i in range(first, first + count)]}
        return json.dumps(lg), json.dumps(sp)

    def test_30k_services_stay_within_the_budget(self):
        db = self.hooks()
        budget = self.memory(db)["budget"]
        self.assertEqual(budget, 32 << 20)
        for first in range(0, 30000, 1000):
            lg, sp = self.payloads(first, 1000, "alice")
            db.execute("BEGIN")
            ingest(db, lg)
            ingest(db, sp)
            db.execute("COMMIT")
            m = self.memory(db)
            self.assertLessEqual(m["bytes"], budget, m)
        m = self.memory(db)
        # 60 000 models (logs and spans of 30 000 services) do not fit.
        self.assertGreater(m["evictions"], 0, m)
        self.assertLess(m["models"], 60000, m)
        self.assertEqual(db.execute("SELECT count(*), sum(count) FROM log_body_templates").fetchone(), (30000, 30000))
        self.assertEqual(db.execute("SELECT count(*) FROM span_name_patterns").fetchone()[0], 30000)

    def test_templates_are_exact_after_models_were_dropped_and_reloaded(self):
        small, big = self.hooks(), self.hooks()
        self.memory(small, 64 << 10)
        self.memory(big, 1 << 40)
        for db in (small, big):
            # Rounds over the same 300 services: each round's lines
            # generalise the templates of the previous ones, which the small
            # budget has dropped from memory in between. One round in two
            # transactions, one inside a savepoint rolled back.
            for r, word in enumerate(["alice", "bob", "carol", "dave"]):
                for first in (0, 150):
                    lg, sp = self.payloads(first, 150, word)
                    db.execute("BEGIN")
                    ingest(db, lg)
                    ingest(db, sp)
                    if r == 2:
                        db.execute("SAVEPOINT s")
                        ingest(db, self.payloads(first, 150, "mallory")[0])
                        db.execute("ROLLBACK TO s")
                    db.execute("COMMIT")
                    if db is small:
                        m = self.memory(db)
                        self.assertLessEqual(m["bytes"], m["budget"], m)
        self.assertGreater(self.memory(small)["evictions"], 0)
        self.assertEqual(self.memory(big)["evictions"], 0)
        for q in ("SELECT * FROM log_body_templates ORDER BY 1, 2, 3",
                  "SELECT service_name, cluster_id, pattern, example, span_count, estimated_names, hex(names_sketch) "
                  "FROM span_name_patterns ORDER BY 1, 2",
                  "SELECT * FROM otelcat_drain_clusters ORDER BY 1, 2",
                  "SELECT * FROM drain_clusters ORDER BY 1, 2"):
            with self.subTest(q=q):
                a, b = small.execute(q).fetchall(), big.execute(q).fetchall()
                self.assertGreater(len(a), 0)
                self.assertEqual(a, b)
        # The rounds generalised templates learned before the models were dropped.
        self.assertEqual(small.execute("SELECT count(*) FROM log_body_templates "
                                       "WHERE template NOT LIKE 'user <*> logged in from host <*>%'").fetchone()[0], 0)


class TestBadInput(Tmp):
    def assert_refused(self, payload, msg, signal=None):
        db = connect(self.path)
        e = err(db, "INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (payload, signal))
        self.assertIn(msg, e)
        self.assertTrue(e.startswith("otlp_ingest: "), e)
        self.assertEqual(db.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'spans'").fetchone()[0] and
                         db.execute("SELECT count(*) FROM spans").fetchone()[0], 0)
        return e

    def test_not_otlp(self):
        self.assert_refused("this is not json", "invalid OTLP/JSON")
        e = self.assert_refused('{"foo": 1}', "invalid OTLP/JSON")
        self.assert_refused('{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "a", "kind": true}]}]}]}', "spans[0]")
        e = self.assert_refused('{"resourceSpans": [ {"resource": {}, "scopeSpans": [ {"spans": [{"name": "x"', "invalid OTLP/JSON at line 1 column")

    def test_protobuf_errors(self):
        pb = read("trace.pb")
        self.assert_refused(pb, "otlp_ingest: a protobuf payload needs its signal")
        self.assert_refused(pb[: len(pb) // 2], "invalid OTLP/protobuf traces request at byte", "traces")
        self.assert_refused(bytes(range(7, 250)), "invalid OTLP/protobuf", "metrics")
        self.assert_refused(read("logs.pb"), "invalid OTLP/protobuf", "traces")
        self.assert_refused(pb, "signal must be 'traces', 'metrics' or 'logs', got 'spans'", "spans")
        self.assert_refused(read("trace.json", "r"), "holds another signal than 'logs'", "logs")
        self.assert_refused(None, "otlp_ingest: payload is NULL (say, readfile() of a file that could not be read)")
        self.assert_refused(42, "payload must be TEXT (OTLP/JSON) or BLOB")
        self.assert_refused(b"\x1f\x8b\x08\x00garbage", "invalid gzip payload")

    def test_hostile_payloads(self):
        deep = {"stringValue": "x"}
        for _ in range(200):
            deep = {"arrayValue": {"values": [deep]}}
        doc = {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "n", "attributes": [{"key": "k", "value": deep}]}]}]}]}
        self.assert_refused(json.dumps(doc), "otlp_ingest: invalid OTLP/JSON")
        many = {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "n", "attributes": [
            {"key": f"k{i}", "value": {"intValue": i}} for i in range(1_000_000)]}]}]}]}
        self.assert_refused(json.dumps(many), "max_attributes_per_record")
        big = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "x" * 100_000_000}}]}]}]})
        self.assert_refused(big, "max_payload_bytes")
        bomb = gzip.compress(b" " * 80_000_000)
        self.assert_refused(bomb, "max_payload_bytes")


class TestPayloadCost(Tmp):
    """One payload adds at most MAX_PAYLOAD_COST (250 000) entries to the
    transaction's aggregate (a key of an entity 1, a new entity 4): past it,
    the payload is refused with an error naming the table, nothing of it is
    counted (its template training undone), and the transaction goes on. A
    payload that could cost that much but does not counts as if sent in
    smaller ones (issue 13: memory and commit bounded per payload)."""

    TABLES = TABLES + SERVICE_TABLES + ["entity_history", "service_history", "key_history_rows",
                                        "span_name_patterns", "key_totals", "key_name_totals"]

    def quadratic_spans(self, names=500, attrs=600):
        # Every resource key goes to every span name: names x attrs entries.
        res = {"attributes": [kv(f"r{j}", f"v{j}") for j in range(attrs)] + [kv("service.name", "flood")]}
        return json.dumps({"resourceSpans": [{"resource": res, "scopeSpans": [
            {"scope": {"name": "s"}, "spans": [span(f"op{i}") for i in range(names)]}]}]})

    def test_many_resource_keys_on_many_span_names_are_refused(self):
        db = connect(self.path)
        db.execute("BEGIN")
        ingest(db, traces([span("GET /a", attrs={"k": "1"})], service="api"))
        e = err(db, "INSERT INTO otlp_ingest(payload) VALUES (?)", (self.quadratic_spans(),))
        self.assertTrue(e.startswith("otlp_ingest: the payload makes more than 250000 new catalog entries"), e)
        self.assertIn("send it in smaller requests", e)
        ingest(db, traces([span("GET /a", attrs={"k": "2"}), span("GET /b")], service="api"))
        db.execute("COMMIT")
        ref = connect(os.path.join(self.dir, "ref.db"))
        ref.execute("BEGIN")
        ingest(ref, traces([span("GET /a", attrs={"k": "1"})], service="api"))
        ingest(ref, traces([span("GET /a", attrs={"k": "2"}), span("GET /b")], service="api"))
        ref.execute("COMMIT")
        self.assertEqual(dump(db, tables=self.TABLES), dump(ref, tables=self.TABLES))
        # Below the limit, the same shape is counted.
        db.execute("BEGIN")
        ingest(db, self.quadratic_spans(names=50))
        db.execute("COMMIT")
        self.assertEqual(db.execute("SELECT count(*) FROM span_keys WHERE span_name = 'op49' AND key_scope = 'resource'")
                         .fetchone()[0], 601)

    def test_a_refused_log_payload_teaches_the_templates_nothing(self):
        db = connect(self.path)
        db.execute("BEGIN")
        ingest(db, logs([log("alpha started")] * 3, service="api"))
        # Records of the same model (INFO, api), then 300 severities
        # carrying 900 resource keys each.
        res = {"attributes": [kv(f"r{j}", "v") for j in range(900)] + [kv("service.name", "api")]}
        hostile = json.dumps({"resourceLogs": [{"resource": res, "scopeLogs": [{"scope": {}, "logRecords":
            [log("beta started"), log("gamma started")] + [log("x", 0, f"S{i}") for i in range(300)]}]}]})
        e = err(db, "INSERT INTO otlp_ingest(payload) VALUES (?)", (hostile,))
        self.assertIn("new catalog entries", e)
        ingest(db, logs([log("alpha started")], service="api"))
        db.execute("COMMIT")
        self.assertEqual(db.execute("SELECT template, count FROM log_body_templates WHERE service_name = 'api'").fetchall(),
                         [("alpha started", 4)])
        self.assertEqual(db.execute("SELECT group_concat(DISTINCT severity) FROM logs").fetchone()[0], "INFO")

    def test_a_large_payload_counts_as_if_sent_in_small_ones(self):
        # 24 resource blocks of 500 spans, 30 resource attributes each: the
        # payload could make 720 x 12 000 entries (so it is applied apart,
        # then merged); it makes a few hundred, counted as the same blocks
        # sent as 24 payloads (straight into the batch).
        def blocks(lo, hi):
            return [{"resource": resource("api", **{f"a{j}": f"v{j}" for j in range(30)}),
                     "scopeSpans": [{"scope": {"name": "s"}, "spans": [
                         span(f"op{i % 5}", attrs={"user.id": f"u{i % 700}", "n": i % 3},
                              t=1700000000000000000 + i * 10**9) for i in range(b, b + 500)]}]}
                    for b in range(lo, hi, 500)]
        one = connect(self.path)
        one.execute("BEGIN")
        ingest(one, json.dumps({"resourceSpans": blocks(0, 12_000)}))
        one.execute("COMMIT")
        parts = connect(os.path.join(self.dir, "parts.db"))
        parts.execute("BEGIN")
        for lo in range(0, 12_000, 500):
            ingest(parts, json.dumps({"resourceSpans": blocks(lo, lo + 500)}))
        parts.execute("COMMIT")
        self.assertEqual(dump(one, tables=self.TABLES), dump(parts, tables=self.TABLES))
        self.assertEqual(one.execute("SELECT sum(total_sample_count) FROM spans").fetchone()[0], 12_000)


class TestScopes(Tmp):
    """Instrumentation scopes (docs/catalog.md "Instrumentation scopes"):
    per entity, service and scope (name, version) the records, their bytes
    and times, the same from JSON and protobuf."""

    T0 = 1_700_000_000

    @classmethod
    def requests(cls):
        """(traces, metrics, logs) OTLP/JSON requests: two services, two
        versions of one library, another library without a version, a scope
        block without a scope, a scope that comes back in a later block."""
        t = lambda s: str((cls.T0 + s) * 10**9)
        res = lambda svc: {"attributes": [{"key": "service.name", "value": {"stringValue": svc}}]}
        http1, http2 = {"name": "io.http", "version": "1.0"}, {"name": "io.http", "version": "2.0"}
        db = {"name": "io.db"}
        sp = lambda name, s, **kw: {"name": name, "kind": 2, "startTimeUnixNano": t(s), "endTimeUnixNano": t(s + 1), **kw}
        blocks = lambda scopes, key: [dict(({"scope": sc} if sc is not None else {}), **{key: rs}) for sc, rs in scopes]
        tr = {"resourceSpans": [
            {"resource": res("api"), "scopeSpans": blocks([
                (http1, [sp("GET", 0), sp("GET", 60, attributes=[{"key": "a", "value": {"stringValue": "x" * 50}}]),
                         sp("POST", 5)]),
                (http2, [sp("GET", 120)]),
                (None, [sp("GET", 30)]),
                (http1, [sp("GET", 180)])], "spans")},
            {"resource": res("web"), "scopeSpans": blocks([(http1, [sp("GET", 10)]), (db, [sp("SELECT", 1), sp("SELECT", 2)])],
                                                          "spans")}]}
        gauge = lambda name, secs: {"name": name, "unit": "1", "gauge": {"dataPoints": [
            {"timeUnixNano": t(s), "asDouble": 1.5} for s in secs]}}
        me = {"resourceMetrics": [
            {"resource": res("api"), "scopeMetrics": blocks([
                (http1, [gauge("cpu", [0, 10]), gauge("mem", [3])]),
                (http2, [gauge("cpu", [20])]),
                (http1, [gauge("cpu", [30]), gauge("idle", [])])], "metrics")}]}
        lg = lambda sev, num, s, body: {"timeUnixNano": t(s), "severityNumber": num, "severityText": sev,
                                        "body": {"stringValue": body}}
        lo = {"resourceLogs": [
            {"resource": res("api"), "scopeLogs": blocks([
                (http1, [lg("INFO", 9, 0, "a"), lg("ERROR", 17, 5, "b"), lg("INFO", 9, 7, "c")]),
                ({"name": "", "version": "3"}, [lg("INFO", 9, 9, "d")]),
                (None, [lg("INFO", 9, 11, "e")])], "logRecords")}]}
        return tr, me, lo

    @staticmethod
    def protobuf(doc):
        from google.protobuf.json_format import ParseDict
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
        kind = {"resourceSpans": ExportTraceServiceRequest, "resourceMetrics": ExportMetricsServiceRequest,
                "resourceLogs": ExportLogsServiceRequest}[next(iter(doc))]
        return ParseDict(doc, kind())

    @classmethod
    def expected(cls, docs):
        """{table: sorted rows} computed from the protobuf messages."""
        import datetime
        field = lambda m: (lambda n: 1 + max(1, (n.bit_length() + 6) // 7) + n)(m.ByteSize())
        dt = lambda ns: datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        out = {"metric_scopes": {}, "span_scopes": {}, "log_scopes": {}}

        def add(table, key, ns, nbytes):
            c, b, first, last = out[table].get(key, (0, 0, None, None))
            out[table][key] = (c + 1, b + nbytes, min(first or dt(ns), dt(ns)), max(last or dt(ns), dt(ns)))
        for doc in docs:
            req = cls.protobuf(doc)
            for rs in getattr(req, "resource_spans", []):
                svc = rs.resource.attributes[0].value.string_value
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        add("span_scopes", (s.name, svc, ss.scope.name, ss.scope.version), s.start_time_unix_nano, field(s))
            for rm in getattr(req, "resource_metrics", []):
                svc = rm.resource.attributes[0].value.string_value
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        for i, p in enumerate(m.gauge.data_points):
                            add("metric_scopes", (m.name, svc, sm.scope.name, sm.scope.version), p.time_unix_nano,
                                field(m) if i == 0 else 0)
            for rl in getattr(req, "resource_logs", []):
                svc = rl.resource.attributes[0].value.string_value
                for sl in rl.scope_logs:
                    for r in sl.log_records:
                        add("log_scopes", (r.severity_text, svc, sl.scope.name, sl.scope.version), r.time_unix_nano, field(r))
        return {t: sorted(k + v for k, v in rows.items()) for t, rows in out.items()}

    @staticmethod
    def rows(db):
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in ("metric_scopes", "span_scopes", "log_scopes")}

    def test_counts_bytes_and_times_per_scope_from_json_and_protobuf(self):
        docs = self.requests()
        j, pb = connect(), connect()
        for doc, signal in zip(docs, ("traces", "metrics", "logs")):
            ingest(j, json.dumps(doc))
            ingest(pb, self.protobuf(doc).SerializeToString(), signal)
        want = self.expected(docs)
        self.assertEqual(self.rows(j), want)
        self.assertEqual(self.rows(pb), want)
        # By hand: the same scope in two blocks adds up; no scope is ('', '').
        self.assertEqual(j.execute("SELECT scope_name, scope_version, sample_count FROM span_scopes "
                                   "WHERE span_name = 'GET' AND service_name = 'api' ORDER BY 1, 2").fetchall(),
                         [("", "", 1), ("io.http", "1.0", 3), ("io.http", "2.0", 1)])
        self.assertEqual(j.execute("SELECT scope_name, scope_version, sample_count, first_seen, last_seen FROM metric_scopes "
                                   "WHERE metric_name = 'cpu'").fetchall(),
                         [("io.http", "1.0", 3, "2023-11-14 22:13:20", "2023-11-14 22:13:50"),
                          ("io.http", "2.0", 1, "2023-11-14 22:13:40", "2023-11-14 22:13:40")])
        self.assertEqual(j.execute("SELECT severity, scope_name, scope_version, sample_count FROM log_scopes "
                                   "ORDER BY 1, 2, 3").fetchall(),
                         [("ERROR", "io.http", "1.0", 1), ("INFO", "", "", 1), ("INFO", "", "3", 1), ("INFO", "io.http", "1.0", 2)])
        # A metric without points has no records, of any scope.
        self.assertEqual(j.execute("SELECT count(*) FROM metric_scopes WHERE metric_name = 'idle'").fetchone(), (0,))
        # Scope rows split their service's records and bytes.
        for t, e, svc in (("metric_scopes", "metric_name", "metric_services"), ("span_scopes", "span_name", "span_services"),
                          ("log_scopes", "severity", "log_services")):
            self.assertEqual(j.execute(f"SELECT {e}, service_name, sum(sample_count), sum(bytes), min(first_seen), max(last_seen) "
                                       f"FROM {t} GROUP BY 1, 2 ORDER BY 1, 2").fetchall(),
                             j.execute(f"SELECT {e}, service_name, sample_count, bytes, first_seen, last_seen FROM {svc} "
                                       "WHERE sample_count > 0 ORDER BY 1, 2").fetchall(), t)

    def test_views_and_documents(self):
        db = connect()
        for doc in self.requests():
            ingest(db, json.dumps(doc))
        self.assertEqual(db.execute("SELECT * FROM scopes WHERE scope_name = 'io.http' AND signal = 'spans' "
                                    "ORDER BY scope_version").fetchall(),
                         [("spans", "io.http", "1.0", 2, 2, 5, db.execute("SELECT sum(bytes) FROM span_scopes WHERE "
                                                                          "scope_version = '1.0'").fetchone()[0],
                           "2023-11-14 22:13:20", "2023-11-14 22:16:20"),
                          ("spans", "io.http", "2.0", 1, 1, 1, db.execute("SELECT sum(bytes) FROM span_scopes WHERE "
                                                                          "scope_version = '2.0'").fetchone()[0],
                           "2023-11-14 22:15:20", "2023-11-14 22:15:20")])
        self.assertEqual(db.execute("SELECT signal, scope_name, scope_version, entities, records FROM service_scopes "
                                    "WHERE service_name = 'web' ORDER BY 1, 2, 3").fetchall(),
                         [("spans", "io.db", "", 1, 2), ("spans", "io.http", "1.0", 1, 1)])
        doc = json.loads(db.execute("SELECT document FROM span_metadata WHERE name = 'GET'").fetchone()[0])
        self.assertEqual(doc["scopes"], [{"name": "io.http", "version": "1.0", "records": 4},
                                         {"name": "", "version": "", "records": 1},
                                         {"name": "io.http", "version": "2.0", "records": 1}])
        doc = json.loads(db.execute("SELECT document FROM metric_metadata WHERE name = 'idle'").fetchone()[0])
        self.assertEqual(doc["scopes"], [])
        doc = json.loads(db.execute("SELECT document FROM log_metadata WHERE severity = 'INFO'").fetchone()[0])
        self.assertEqual(sum(s["records"] for s in doc["scopes"]), doc["sample_count"])
        # "Which entities does scope X send": the scope index, no scan.
        for t in ("metric_scopes", "span_scopes", "log_scopes"):
            plan = " | ".join(r[3] for r in db.execute(
                f"EXPLAIN QUERY PLAN SELECT * FROM {t} WHERE scope_name = 'io.http' AND scope_version = '1.0'"))
            self.assertIn(f"USING INDEX idx_{t}_scope (scope_name=? AND scope_version=?)", plan)
            self.assertNotIn("SCAN", plan)
        for view, col, index in (("scopes", "scope_name", "scope"), ("service_scopes", "service_name", "service")):
            plan = " | ".join(r[3] for r in db.execute(f"EXPLAIN QUERY PLAN SELECT * FROM {view} WHERE {col} = 'x'"))
            for t in ("metric_scopes", "span_scopes", "log_scopes"):
                self.assertIn(f"SEARCH {t} USING INDEX idx_{t}_{index} ({col}=?)", plan)
            self.assertNotRegex(plan, r"SCAN (metric|span|log)_scopes\b")

    def payloads(self):
        """Three span requests whose scopes come in different orders."""
        mk = lambda scopes: json.dumps({"resourceSpans": [{"resource": resource("api"), "scopeSpans": [
            {"scope": {"name": n, "version": v}, "spans": [span(name, t=1_700_000_000_000_000_000 + i * 10**9)
                                                           for i, name in enumerate(names)]}
            for n, v, names in scopes]}]})
        return (mk([("a", "1", ["GET", "GET"]), ("b", "", ["GET"])]),
                mk([("c", "9", ["PUT"]), ("b", "", ["GET", "PUT"]), ("a", "1", ["GET"])]),
                mk([("d", "", ["GET"]), ("a", "2", ["GET"]), ("c", "9", ["GET"])]))

    def test_savepoints(self):
        p1, p2, p3 = self.payloads()
        ref = {}
        for name, parts in (("p1", [p1]), ("all", [p1, p2, p3])):
            db = connect()
            for p in parts:
                ingest(db, p)
            ref[name] = self.rows(db)
        self.assertEqual(sum(r[4] for r in ref["all"]["span_scopes"]), 10)
        # Rolled back to a savepoint: its scopes' counts go.
        db = connect()
        db.execute("BEGIN")
        ingest(db, p1)
        db.execute("SAVEPOINT s")
        ingest(db, p2)
        ingest(db, p3)
        db.execute("ROLLBACK TO s")
        db.execute("RELEASE s")
        db.execute("COMMIT")
        self.assertEqual(self.rows(db), ref["p1"])
        # Released (nested) savepoints: the layers' scopes, numbered apart,
        # add up as one transaction's.
        db = connect()
        db.execute("BEGIN")
        ingest(db, p1)
        db.execute("SAVEPOINT a")
        ingest(db, p2)
        db.execute("SAVEPOINT b")
        ingest(db, p3)
        db.execute("RELEASE a")
        db.execute("COMMIT")
        self.assertEqual(self.rows(db), ref["all"])
        # A transaction rolled back writes nothing.
        db.execute("BEGIN")
        ingest(db, p2)
        db.execute("ROLLBACK")
        self.assertEqual(self.rows(db), ref["all"])

    def test_upgraded_catalogs_count_from_the_upgrade(self):
        p1 = self.payloads()[0]
        for name in ("v0.1.0.db", "v0.2.0.db"):
            with self.subTest(fixture=name):
                path = os.path.join(self.dir, name)
                shutil.copy(os.path.join(FIXTURES, "catalog", name), path)
                db = connect(path)
                before = db.execute("SELECT coalesce(sum(sample_count), 0) FROM span_services WHERE span_name = 'GET'").fetchone()[0]
                ingest(db, p1)
                self.assertEqual(db.execute("SELECT scope_name, scope_version, sample_count FROM span_scopes "
                                            "ORDER BY 1").fetchall(), [("a", "1", 2), ("b", "", 1)])
                self.assertEqual(db.execute("SELECT sum(sample_count) FROM span_services WHERE span_name = 'GET'").fetchone(),
                                 (before + 3,))
                self.assertEqual(db.execute("SELECT count(*) FROM metric_scopes").fetchone(), (0,))
                db.close()


if __name__ == "__main__":
    unittest.main()


class TestServiceKeys(Tmp):
    """Per-service keys (docs/catalog.md "Per-service keys"): each entity's
    keys per service that sent them, through the views *_service_keys."""

    def workload(self, db):
        # Two services on one span name, log severity and metric, with
        # different keys and values; one transaction holds both, another one.
        db.execute("BEGIN")
        ingest(db, traces([span("GET /x", attrs={"user.id": f"u{i}", "http.method": "GET"},
                                events=[("exception", {"exception.type": "IO"})] if i % 4 == 0 else (),
                                links=[{"link.kind": "parent"}] if i % 5 == 0 else ())
                           for i in range(40)], service="web"))
        ingest(db, traces([span("GET /x", attrs={"http.method": "POST" if i % 2 else "GET"},
                                events=[("exception", {"exception.type": "Timeout", "tries": i})] if i % 2 == 0 else ())
                           for i in range(10)], service="api"))
        ingest(db, logs([log("hello", attrs={"user.id": f"u{i % 7}"}) for i in range(21)], service="web"))
        ingest(db, logs([log("hello", attrs={"request.id": f"r{i}"}) for i in range(9)], service="api"))
        db.execute("COMMIT")
        ingest(db, logs([log("hello", attrs={"user.id": "u100", "request.id": "r100"})], service="api"))
        ingest(db, gauge("cpu", [({"core": i % 4}, 1.0) for i in range(12)], service="web"))
        ingest(db, gauge("cpu", [({"core": 9, "node": "n1"}, 1.0) for _ in range(3)], service="api"))

    def test_entity_samples_stay_in_arrival_order_across_services(self):
        """An entity's value_samples are its first distinct values in arrival
        order whatever services and savepoints they came through: what one
        list kept before per-service keys, and what examples/spark/etl.py
        computes (so the per-service lists merge by the records' order)."""
        db = connect(self.path)
        db.execute("BEGIN")
        # Resource blocks of two services alternating in one payload, then
        # a savepoint's payload whose values come after them.
        blocks = [traces([span("GET /y", attrs={"user.id": f"{svc}{i}"}) for i in range(n)], service=svc)
                  for svc, n in (("b", 2), ("a", 3), ("b", 4), ("a", 1))]
        body = {"resourceSpans": [json.loads(b)["resourceSpans"][0] for b in blocks]}
        ingest(db, json.dumps(body))
        db.execute("SAVEPOINT s1")
        ingest(db, traces([span("GET /y", attrs={"user.id": f"c{i}"}) for i in range(3)], service="a"))
        db.execute("RELEASE s1")
        db.execute("COMMIT")
        got = json.loads(db.execute("SELECT value_samples FROM span_keys WHERE span_name = 'GET /y' "
                                    "AND key_name = 'user.id'").fetchone()[0])
        # b0 b1 | a0 a1 a2 | b0.. b3 (b0, b1 seen) | a0 (seen) | c0 c1 c2
        self.assertEqual(got, ["b0", "b1", "a0", "a1", "a2", "b2", "b3", "c0", "c1", "c2"])
        self.assertEqual(json.loads(db.execute("SELECT value_samples FROM span_service_keys WHERE span_name = 'GET /y' "
                                               "AND service_name = 'a' AND key_name = 'user.id'").fetchone()[0]),
                         ["a0", "a1", "a2", "c0", "c1", "c2"])

    def test_two_services_on_one_entity(self):
        db = connect(self.path)
        self.workload(db)
        rows = db.execute("SELECT service_name, key_count, key_percentage, estimated_cardinality, value_samples "
                          "FROM log_service_keys WHERE severity = 'INFO' AND key_name = 'user.id' ORDER BY 1").fetchall()
        self.assertEqual(rows, [("api", 1, 10.0, 1, '["u100"]'),
                                ("web", 21, 100.0, 7, '["u0","u1","u2","u3","u4","u5","u6"]')])
        self.assertEqual(db.execute("SELECT service_name, key_count, estimated_cardinality FROM key_services "
                                    "WHERE key_name = 'request.id' AND signal = 'logs' AND entity = 'INFO'").fetchall(),
                         [("api", 10, 10)])
        # Span keys of every scope, with the service's own denominators.
        got = db.execute("SELECT service_name, key_scope, key_name, event_name, key_count, key_percentage, top_values "
                         "FROM span_service_keys WHERE span_name = 'GET /x' AND key_scope <> 'resource' "
                         "ORDER BY 1, 2, 3").fetchall()
        self.assertEqual(got, [
            ("api", "attribute", "http.method", "", 10, 100.0, '[{"value":"GET","count":5},{"value":"POST","count":5}]'),
            ("api", "event", "exception.type", "exception", 5, 100.0, '[{"value":"Timeout","count":5}]'),
            ("api", "event", "tries", "exception", 5, 100.0, None if False else got[2][6]),
            ("web", "attribute", "http.method", "", 40, 100.0, '[{"value":"GET","count":40}]'),
            ("web", "attribute", "user.id", "", 40, 100.0, got[4][6]),
            ("web", "event", "exception.type", "exception", 10, 100.0, '[{"value":"IO","count":10}]'),
            ("web", "link", "link.kind", "", 8, 100.0, '[{"value":"parent","count":8}]'),
        ])
        self.assertEqual(db.execute("SELECT service_name, event_count FROM span_service_events ORDER BY 1").fetchall(),
                         [("api", 5), ("web", 10)])
        self.assertEqual(db.execute("SELECT service_name, link_count FROM span_services ORDER BY 1").fetchall(),
                         [("api", 0), ("web", 8)])
        self.assertEqual(db.execute("SELECT service_name, key_name, key_count, key_percentage FROM metric_service_keys "
                                    "WHERE metric_name = 'cpu' AND key_scope = 'label' ORDER BY 1, 2").fetchall(),
                         [("api", "core", 3, 100.0), ("api", "node", 3, 100.0), ("web", "core", 12, 100.0)])
        # Keys of a service, every signal.
        self.assertEqual({r[0] for r in db.execute("SELECT key_name FROM service_keys WHERE service_name = 'api'")},
                         {"http.method", "exception.type", "tries", "service.name", "user.id", "request.id", "core", "node"})

    def test_counts_per_service_add_up_to_the_entitys(self):
        db = connect(self.path)
        self.workload(db)
        for table, entity, svc_table, cols in [
                ("metric_keys", "metric_name", "metric_service_key_rows", "metric_name, key_scope, key_name"),
                ("span_keys", "span_name", "span_service_key_rows", "span_name, key_scope, key_name, event_name"),
                ("log_keys", "severity", "log_service_key_rows", "severity, key_scope, key_name")]:
            with self.subTest(table=table):
                want = db.execute(f"SELECT {cols}, key_count, bytes, estimated_cardinality, value_types "
                                  f"FROM {table} ORDER BY {cols}").fetchall()
                got = db.execute(f"SELECT {cols}, sum(key_count), sum(bytes), "
                                 f"min(hll_count(hll_merge(hll_sketch)), sum(key_count)) FROM {svc_table} "
                                 f"GROUP BY {cols} ORDER BY {cols}").fetchall()
                self.assertEqual(got, [r[:-1] for r in want])
                self.assertGreaterEqual(len(want), 3)
                # value types add up too
                for r in want:
                    types = {}
                    key = r[:cols.count(",") + 1]
                    where = " AND ".join(f"{c.strip()} = ?" for c in cols.split(","))
                    for (vt,) in db.execute(f"SELECT value_types FROM {svc_table} WHERE {where}", key):
                        for t, n in json.loads(vt).items():
                            types[t] = types.get(t, 0) + n
                    self.assertEqual(types, json.loads(r[-1]), key)
        # Services' records add up to the entity's.
        self.assertEqual(db.execute("SELECT sum(event_count) FROM span_service_events").fetchone(),
                         db.execute("SELECT sum(event_count) FROM span_events").fetchone())
        self.assertEqual(db.execute("SELECT sum(link_count) FROM span_services").fetchone(),
                         db.execute("SELECT sum(link_count) FROM spans").fetchone())

    def test_bad_input_writes_nothing(self):
        db = connect(self.path)
        self.workload(db)
        before = [db.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4").fetchall()
                  for t in ("metric_service_key_rows", "span_service_key_rows", "log_service_key_rows", "span_service_events")]
        db.execute("BEGIN")
        ingest(db, logs([log("x", attrs={"user.id": "u1"})], service="web"))
        with self.assertRaises(sqlite3.Error) as e:
            ingest(db, '{"resourceLogs": [{"resource": {"attributes": []}, "scopeLogs": [{"logRecords": [{"body": ')
        self.assertIn("otlp_ingest", str(e.exception))
        db.execute("ROLLBACK")
        after = [db.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4").fetchall()
                 for t in ("metric_service_key_rows", "span_service_key_rows", "log_service_key_rows", "span_service_events")]
        self.assertEqual(after, before)

    def test_a_damaged_sketch_names_the_table_and_key(self):
        db = connect(self.path)
        self.workload(db)
        db.execute("UPDATE log_service_key_rows SET hll_sketch = x'0102' WHERE service_name = 'web' AND key_name = 'user.id'")
        before = db.execute("SELECT * FROM log_service_key_rows ORDER BY 1, 2, 3, 4").fetchall()
        with self.assertRaises(sqlite3.Error) as e:
            ingest(db, logs([log("x", attrs={"user.id": "u1"})], service="web"))
        msg = str(e.exception)
        self.assertIn("log_service_key_rows row ('INFO', 'web', 'attribute', 'user.id')", msg)
        self.assertIn("hll_merge: argument 1 is not an HLL sketch", msg)
        self.assertEqual(db.execute("SELECT * FROM log_service_key_rows ORDER BY 1, 2, 3, 4").fetchall(), before)
        # Mended, the next batch goes in.
        db.execute("UPDATE log_service_key_rows SET hll_sketch = NULL WHERE service_name = 'web' AND key_name = 'user.id'")
        ingest(db, logs([log("x", attrs={"user.id": "u1"})], service="web"))

    def test_upgraded_catalogs_count_from_the_upgrade(self):
        for name in ("v0.1.0.db", "v0.2.0.db"):
            with self.subTest(fixture=name):
                path = os.path.join(self.dir, name)
                shutil.copy(os.path.join(FIXTURES, "catalog", name), path)
                db = connect(path)
                self.workload(db)
                self.assertEqual(db.execute("SELECT service_name, key_count FROM log_service_keys "
                                            "WHERE severity = 'INFO' AND key_name = 'user.id' ORDER BY 1").fetchall(),
                                 [("api", 1), ("web", 21)])
                self.assertEqual(db.execute("SELECT sum(key_count) FROM span_service_key_rows WHERE span_name = 'GET /x' "
                                            "AND key_name = 'http.method'").fetchone(), (50,))
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone(), ("ok",))
                db.close()

    def test_merge_adds_service_keys_up(self):
        a, b, both = (os.path.join(self.dir, f"{n}.db") for n in ("a", "b", "both"))
        db = connect(a)
        self.workload(db)
        db.close()
        db = connect(b)
        ingest(db, logs([log("hello", attrs={"user.id": "u200"})], service="api"))
        db.close()
        db = connect(both)
        self.workload(db)
        ingest(db, logs([log("hello", attrs={"user.id": "u200"})], service="api"))
        db.close()
        with open(os.path.join(os.path.dirname(FIXTURES), "..", "examples", "merge.sql")) as f:
            script = "\n".join(l for l in f.read().splitlines() if not l.startswith("."))
        db = connect(a)
        db.execute("ATTACH ? AS other", (b,))
        db.executescript(script)
        ref = connect(both)
        for view in ("metric_service_keys", "span_service_keys", "log_service_keys"):
            q = f"SELECT * FROM (SELECT * FROM {view}) ORDER BY 1, 2, 3, 4, 5"
            strip = lambda rows: [tuple(hll if not isinstance(hll, bytes) else None for hll in r) for r in rows]
            with self.subTest(view=view):
                self.assertEqual(strip(db.execute(q).fetchall()), strip(ref.execute(q).fetchall()))


EVENT_TABLES = ["log_events", "log_event_services", "log_event_key_rows"]


def event(name, body=None, attrs=None, severity_number=9, **extra):
    """A log record with an event name (LogRecord.event_name)."""
    rec = log(body, severity_number, None, attrs)
    rec["eventName"] = name
    rec.update(extra)
    return rec


class TestLogEvents(Tmp):
    """Log event names (docs/catalog.md "Log event names"): records with a
    non-empty event_name, by name, on top of their severity."""

    def payloads(self):
        return [
            logs([event("browser.page_view", attrs={"url.path": f"/p{i % 3}", "session.id": "s1"}) for i in range(6)]
                 + [event("session.start", attrs={"session.id": "s1"}, traceId="5b8efff798038103d269b633813fc60c"),
                    log("plain line", attrs={"url.path": "/p0"}),
                    event("device.app.lifecycle", "foreground", {"ios.app.state": "active"}, 13,
                          droppedAttributesCount=2)],
                 service="web"),
            logs([event("browser.page_view", attrs={"url.path": "/p9", "tries": 2}),
                  event("browser.page_view", attrs={"tries": 3, "tries ": 1})], service="api", host="h1"),
        ]

    def ingest_all(self, db, payloads):
        for p in payloads:
            ingest(db, p)

    def test_counts_and_keys_per_event_name(self):
        db = connect(self.path)
        self.ingest_all(db, self.payloads())
        self.assertEqual(db.execute("SELECT event_name, total_sample_count, dropped_attributes_count, trace_id_count, "
                                    "span_id_count FROM log_events ORDER BY 1").fetchall(),
                         [("browser.page_view", 8, 0, 0, 0), ("device.app.lifecycle", 1, 2, 0, 0),
                          ("session.start", 1, 0, 1, 0)])
        self.assertEqual(db.execute("SELECT event_name, service_name, sample_count FROM log_event_services "
                                    "ORDER BY 1, 2").fetchall(),
                         [("browser.page_view", "api", 2), ("browser.page_view", "web", 6),
                          ("device.app.lifecycle", "web", 1), ("session.start", "web", 1)])
        got = db.execute("SELECT key_name, key_count, key_percentage, estimated_cardinality, value_samples, value_types, "
                         "top_values FROM log_event_keys WHERE event_name = 'browser.page_view' ORDER BY 1").fetchall()
        self.assertEqual(got, [
            ("session.id", 6, 75.0, 1, '["s1"]', '{"string":6}', '[{"value":"s1","count":6}]'),
            ("tries", 2, 25.0, 2, '["2","3"]', '{"int":2}', '[{"value":"2","count":1},{"value":"3","count":1}]'),
            ("tries ", 1, 12.5, 1, '["1"]', '{"int":1}', '[{"value":"1","count":1}]'),
            ("url.path", 7, 87.5, 4, '["/p0","/p1","/p2","/p9"]', '{"string":7}',
             '[{"value":"/p0","count":2},{"value":"/p1","count":2},{"value":"/p2","count":2},{"value":"/p9","count":1}]'),
        ])
        # Event records are log records: logs and log_keys count them all.
        self.assertEqual(db.execute("SELECT severity, total_sample_count FROM logs ORDER BY 1").fetchall(),
                         [("INFO", 10), ("WARN", 1)])
        self.assertEqual(db.execute("SELECT key_count FROM log_keys WHERE severity = 'INFO' AND key_name = 'url.path'").fetchone(),
                         (8,))
        # Their bytes add up to their severity's, less the plain record's.
        plain = db.execute("SELECT bytes FROM log_body_templates WHERE template = 'plain line'").fetchone()[0]
        self.assertEqual(db.execute("SELECT sum(bytes) FROM log_events").fetchone()[0] + plain,
                         db.execute("SELECT sum(bytes) FROM logs").fetchone()[0])
        self.assertEqual(db.execute("SELECT sum(bytes) FROM log_event_services").fetchone(),
                         db.execute("SELECT sum(bytes) FROM log_events").fetchone())
        # The document.
        doc = json.loads(db.execute("SELECT document FROM log_event_metadata WHERE event_name = 'browser.page_view'").fetchone()[0])
        self.assertEqual(doc["services"], {"api": 2, "web": 6})
        self.assertEqual(doc["attribute_keys"]["url.path"]["percentage"], 87.5)
        self.assertEqual(sorted(doc["attribute_keys"]), ["session.id", "tries", "tries ", "url.path"])
        # Records without an event name are in no event table.
        self.assertEqual(db.execute("SELECT count(*) FROM log_events WHERE event_name = ''").fetchone(), (0,))

    def test_protobuf_gives_the_same_tables(self):
        from google.protobuf.json_format import Parse
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
        a, b = connect(), connect()
        for p in self.payloads():
            ingest(a, p)
            req = Parse(p, ExportLogsServiceRequest())
            # (ParseDict reads bytes fields as base64; OTLP/JSON sends ids in hex.)
            for rl, rl_json in zip(req.resource_logs, json.loads(p)["resourceLogs"]):
                for r, r_json in zip(rl.scope_logs[0].log_records, rl_json["scopeLogs"][0]["logRecords"]):
                    if "traceId" in r_json:
                        r.trace_id = bytes.fromhex(r_json["traceId"])
            pb = req.SerializeToString()
            self.assertIn(b"browser.page_view", pb)
            ingest(b, pb, "logs")
        tables = EVENT_TABLES + ["logs", "log_keys"]
        self.assertEqual(dump(b, tables=tables), dump(a, tables=tables))
        self.assertEqual(a.execute("SELECT count(*) FROM log_event_key_rows").fetchone()[0], 6)

    def test_savepoint_rollback_and_bad_input(self):
        db = connect(self.path)
        one, two = self.payloads()
        ingest(db, one)
        before = dump(db, tables=EVENT_TABLES)
        db.execute("BEGIN")
        db.execute("SAVEPOINT s1")
        ingest(db, two)
        ingest(db, logs([event(f"flood.{i}") for i in range(50)]))
        db.execute("ROLLBACK TO s1")
        db.execute("RELEASE s1")
        with self.assertRaises(sqlite3.Error):
            ingest(db, logs([event("x")])[:-3])
        db.execute("COMMIT")
        self.assertEqual(dump(db, tables=EVENT_TABLES), before)
        # A savepoint released adds up as one transaction does.
        db.execute("BEGIN")
        db.execute("SAVEPOINT s2")
        ingest(db, two)
        db.execute("RELEASE s2")
        db.execute("COMMIT")
        ref = connect()
        self.ingest_all(ref, self.payloads())
        self.assertEqual(dump(db, tables=EVENT_TABLES), dump(ref, tables=EVENT_TABLES))

    def test_commits_add_up_to_one(self):
        """Payloads committed one by one (rows merged by the UPSERTs) give
        what one transaction gives."""
        a, b = connect(), connect()
        payloads = self.payloads() * 2
        self.ingest_all(a, payloads)
        b.execute("BEGIN")
        self.ingest_all(b, payloads)
        b.execute("COMMIT")
        self.assertEqual(dump(a, tables=EVENT_TABLES), dump(b, tables=EVENT_TABLES))
        self.assertEqual(a.execute("SELECT key_count, estimated_cardinality FROM log_event_key_rows "
                                   "WHERE event_name = 'browser.page_view' AND key_name = 'url.path'").fetchone(), (14, 4))

    def test_upgraded_catalogs_count_from_the_upgrade(self):
        for name in ("v0.1.0.db", "v0.2.0.db"):
            with self.subTest(fixture=name):
                path = os.path.join(self.dir, name)
                shutil.copy(os.path.join(FIXTURES, "catalog", name), path)
                db = connect(path)
                self.ingest_all(db, self.payloads())
                self.assertEqual(db.execute("SELECT event_name, total_sample_count FROM log_events ORDER BY 1").fetchall(),
                                 [("browser.page_view", 8), ("device.app.lifecycle", 1), ("session.start", 1)])
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone(), ("ok",))
                db.close()

    def test_merge_adds_up(self):
        a, b, both = (os.path.join(self.dir, f"{n}.db") for n in ("a", "b", "both"))
        one, two = self.payloads()
        for path, ps in ((a, [one]), (b, [two, one]), (both, [one, two, one])):
            db = connect(path)
            self.ingest_all(db, ps)
            db.close()
        with open(os.path.join(os.path.dirname(FIXTURES), "..", "examples", "merge.sql")) as f:
            script = "\n".join(l for l in f.read().splitlines() if not l.startswith("."))
        db = connect(a)
        db.execute("ATTACH ? AS other", (b,))
        db.executescript(script)
        ref = connect(both)
        self.assertEqual(dump(db, tables=EVENT_TABLES), dump(ref, tables=EVENT_TABLES))
        self.assertEqual(db.execute("SELECT * FROM log_event_keys ORDER BY 1, 2").fetchall(),
                         ref.execute("SELECT * FROM log_event_keys ORDER BY 1, 2").fetchall())

    def test_a_damaged_sketch_names_the_table_and_key(self):
        db = connect(self.path)
        self.ingest_all(db, self.payloads())
        db.execute("UPDATE log_event_key_rows SET hll_sketch = x'0102' WHERE key_name = 'url.path'")
        with self.assertRaises(sqlite3.Error) as e:
            ingest(db, self.payloads()[1])
        self.assertIn("log_event_key_rows row ('browser.page_view', 'url.path')", str(e.exception))


class TestLogEventsReport(Tmp):
    def test_report_lists_event_names(self):
        sys.path.insert(0, os.path.join(os.path.dirname(FIXTURES), "..", "python"))
        from otelcat.report import sections
        db = connect(self.path)
        for p in TestLogEvents.payloads(None):
            ingest(db, p)
        title, headers, keys, rows = next(s for s in sections(db, 5, 1) if s[0] == "Log event names")
        self.assertEqual(headers, ["event name", "records", "bytes", "services", "attribute keys"])
        self.assertEqual([r[:2] + r[3:] for r in rows], [
            ("browser.page_view", 8, "web 6, api 2", "url.path, session.id, tries, tries "),
            ("device.app.lifecycle", 1, "web 1", "ios.app.state"),
            ("session.start", 1, "web 1", "session.id")])
        # An older catalog has no such section.
        old = os.path.join(self.dir, "old.db")
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.1.0.db"), old)
        self.assertFalse([s for s in sections(sqlite3.connect(old), 5, 1) if s[0] == "Log event names"])


def murmur3_x64_128(data, seed=0):
    """MurmurHash3 x64 128 (Austin Appleby's reference), written here from
    its definition: (h1, h2)."""
    m = 0xFFFFFFFFFFFFFFFF
    c1, c2 = 0x87C37B91114253D5, 0x4CF5AD432745937F

    def rotl(x, r):
        return ((x << r) | (x >> (64 - r))) & m

    def fmix(k):
        k ^= k >> 33
        k = (k * 0xFF51AFD7ED558CCD) & m
        k ^= k >> 33
        k = (k * 0xC4CEB9FE1A85EC53) & m
        return k ^ (k >> 33)

    h1 = h2 = seed
    n = len(data)
    for i in range(0, n - n % 16, 16):
        k1 = int.from_bytes(data[i:i + 8], "little")
        k2 = int.from_bytes(data[i + 8:i + 16], "little")
        h1 ^= (rotl((k1 * c1) & m, 31) * c2) & m
        h1 = (rotl(h1, 27) + h2) & m
        h1 = (h1 * 5 + 0x52DCE729) & m
        h2 ^= (rotl((k2 * c2) & m, 33) * c1) & m
        h2 = (rotl(h2, 31) + h1) & m
        h2 = (h2 * 5 + 0x38495AB5) & m
    tail = data[n - n % 16:]
    if len(tail) > 8:
        h2 ^= (rotl((int.from_bytes(tail[8:], "little") * c2) & m, 33) * c1) & m
    if tail:
        h1 ^= (rotl((int.from_bytes(tail[:8], "little") * c1) & m, 31) * c2) & m
    h1 ^= n
    h2 ^= n
    h1 = (h1 + h2) & m
    h2 = (h2 + h1) & m
    h1, h2 = fmix(h1), fmix(h2)
    h1 = (h1 + h2) & m
    return h1, (h2 + h1) & m


def clipped(name):
    """docs/catalog.md "Limits and errors": a name or key longer than 256
    bytes is its first bytes (cut at a character boundary, at most 236),
    then "…#" and 16 hex digits of the first 64 bits of its MurmurHash3
    x64 128 with seed 0."""
    b = name.encode()
    if len(b) <= 256:
        return name
    cut = 236
    while b[cut] & 0xC0 == 0x80:
        cut -= 1
    return b[:cut].decode() + "…#%016x" % murmur3_x64_128(b)[0]


class TestLongNames(Tmp):
    """Names and keys past 256 bytes are clipped as they are decoded (every
    catalog row and index holds them; a 10 MB span name made the commit
    write 300 MB): the same from JSON and protobuf, distinct long names stay
    distinct, records' counts and bytes stay exact (issue 13)."""

    def test_murmur3_reference_vectors(self):
        # Published values of MurmurHash3_x64_128 (seed 0), as the first
        # 64 bits: the empty input, and "hello".
        self.assertEqual(murmur3_x64_128(b""), (0, 0))
        self.assertEqual(murmur3_x64_128(b"hello")[0], 0xCBD8A7B341BD9B02)

    def payloads(self):
        span_a = "SELECT " + "é" * 400 + " FROM a"
        span_b = "SELECT " + "é" * 400 + " FROM b"  # differs from span_a past the cut only
        key = "k" * 300 + ".id"
        svc = "svc-" + "x" * 10_000
        sev = "CUSTOM" + "Z" * 500
        res = {"attributes": [kv("service.name", svc), kv("r" * 400, "v")]}
        scope = {"name": "scope" + "s" * 300, "version": "1." + "9" * 300}
        spans = [span(span_a, attrs={key: "1", "short": "x"}, events=[("ev" + "e" * 300, {key: 2})]),
                 span(span_b, attrs={key: "3"})]
        for s in spans:
            # Ids are hex in OTLP/JSON, base64 in protobuf's own JSON
            # mapping (which the protobuf test parses with): left out.
            del s["traceId"], s["spanId"]
        t = json.dumps({"resourceSpans": [{"resource": res, "scopeSpans": [{"scope": scope, "spans": spans}]}]})
        m = json.dumps({"resourceMetrics": [{"resource": res, "scopeMetrics": [{"scope": scope, "metrics": [
            {"name": "m" * 1000, "unit": "1", "gauge": {"dataPoints": [
                {"timeUnixNano": "1700000000000000000", "asInt": "1", "attributes": [kv(key, "a")]}]}}]}]}]})
        rec = log("hello", severity_number=0, severity_text=sev, attrs={key: "v"})
        rec["eventName"] = "event." + "n" * 600
        lg = json.dumps({"resourceLogs": [{"resource": res, "scopeLogs": [{"scope": scope, "logRecords": [rec]}]}]})
        return dict(span_a=span_a, span_b=span_b, key=key, svc=svc, sev=sev, scope=scope, traces=t, metrics=m, logs=lg)

    def name_columns(self, db):
        """Every (table, column) of the catalog that holds a name or key."""
        out = []
        for (table,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'otelcat_%' "
                                   "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'semconv_%'"):
            for _, col, typ, *_ in db.execute(f'PRAGMA table_info("{table}")'):
                if typ == "TEXT" and (col.endswith("name") or col in ("severity", "scope_version")):
                    out.append((table, col))
        return out

    def test_long_names_and_keys_are_clipped(self):
        p = self.payloads()
        db = connect(self.path)
        for signal in ("traces", "metrics", "logs"):
            ingest(db, p[signal])
        q = lambda sql: [r[0] for r in db.execute(sql)]
        self.assertEqual(sorted(q("SELECT name FROM spans")), sorted([clipped(p["span_a"]), clipped(p["span_b"])]))
        self.assertEqual(len(set(q("SELECT name FROM spans"))), 2)
        self.assertEqual(q("SELECT DISTINCT service_name FROM span_services"), [clipped(p["svc"])])
        self.assertEqual(q("SELECT sum(total_sample_count) FROM spans"), [2])
        self.assertIn(clipped(p["key"]), q("SELECT key_name FROM span_keys WHERE key_scope = 'attribute'"))
        self.assertIn(clipped("r" * 400), q("SELECT key_name FROM span_keys WHERE key_scope = 'resource'"))
        self.assertEqual(q("SELECT event_name FROM span_events"), [clipped("ev" + "e" * 300)])
        self.assertEqual(db.execute("SELECT DISTINCT scope_name, scope_version FROM span_scopes").fetchall(),
                         [(clipped(p["scope"]["name"]), clipped(p["scope"]["version"]))])
        self.assertEqual(q("SELECT name FROM metrics"), [clipped("m" * 1000)])
        self.assertEqual(q("SELECT key_name FROM metric_keys WHERE key_scope = 'label'"), [clipped(p["key"])])
        # Clipped, then upper-cased as every severityText is.
        self.assertEqual(q("SELECT severity FROM logs"), [clipped(p["sev"]).upper()])
        self.assertEqual(q("SELECT event_name FROM log_events"), [clipped("event." + "n" * 600)])
        # The service.name resource key's samples hold the clipped name too.
        self.assertEqual(q("SELECT value_samples FROM span_keys WHERE key_name = 'service.name' LIMIT 1"),
                         [json.dumps([clipped(p["svc"])], ensure_ascii=False, separators=(",", ":"))])
        for table, col in self.name_columns(db):
            with self.subTest(table=table, column=col):
                longest = db.execute(f'SELECT max(length(CAST("{col}" AS BLOB))) FROM "{table}"').fetchone()[0]
                self.assertLessEqual(longest or 0, 256)

    def test_protobuf_gives_the_same_catalog(self):
        from google.protobuf import json_format
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
        p = self.payloads()
        a, b = connect(), connect()
        for signal, cls in (("traces", ExportTraceServiceRequest), ("metrics", ExportMetricsServiceRequest),
                            ("logs", ExportLogsServiceRequest)):
            ingest(a, p[signal])
            ingest(b, json_format.Parse(p[signal], cls()).SerializeToString(), signal)
        self.assertEqual(dump(a), dump(b))
        # Records' bytes are those sent, not those of the clipped names.
        self.assertGreater(a.execute("SELECT bytes FROM logs").fetchone()[0], 600)
