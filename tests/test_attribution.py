"""Attribution of keys (issue 15): the bytes of each key's pairs in OTLP
protobuf and the counts of its value types, checked against the official
OpenTelemetry protobuf classes (opentelemetry-proto) on the official examples
and on generated requests, sent as protobuf and as JSON."""
import json
import os
import random
import sqlite3
import unittest
from collections import defaultdict

from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from helpers import FIXTURES, connect

OTLP = os.path.join(FIXTURES, "otlp")
TYPES = {"string_value": "string", "bool_value": "bool", "int_value": "int", "double_value": "double",
         "bytes_value": "bytes", "array_value": "array", "kvlist_value": "kvlist", None: "empty"}


def varint_len(n):
    return max(1, (n.bit_length() + 6) // 7)


def field_len(kv):
    """Bytes of a KeyValue in its record: tag, length, message."""
    n = kv.ByteSize()
    return 1 + varint_len(n) + n


def severity(n, text):
    for lo, label in ((21, "FATAL"), (17, "ERROR"), (13, "WARN"), (9, "INFO"), (5, "DEBUG"), (1, "TRACE")):
        if lo <= n <= lo + 3:
            return label
    return text.upper() if text else "UNSPECIFIED"


class Expected:
    """Per (table, entity, scope, key, event): bytes and value-type counts,
    computed from protobuf messages as docs/catalog.md defines them."""

    def __init__(self):
        self.bytes = defaultdict(int)
        self.types = defaultdict(lambda: defaultdict(int))

    def record(self, where, attrs):
        seen = set()
        for kv in attrs:
            k = where + (kv.key,)
            self.bytes[k] += field_len(kv)
            if kv.key not in seen:
                seen.add(kv.key)
                self.types[k][TYPES[kv.value.WhichOneof("value")]] += 1

    def resource(self, table, entities, attrs):
        """A resource block: its pairs' bytes once per entity with records
        in it; each of those records counts its type."""
        for entity, n in entities.items():
            seen = set()
            for kv in attrs:
                k = (table, entity, "resource", kv.key)
                self.bytes[k] += field_len(kv)
                if kv.key not in seen:
                    seen.add(kv.key)
                    self.types[k][TYPES[kv.value.WhichOneof("value")]] += n

    def add(self, req):
        if isinstance(req, ExportTraceServiceRequest):
            for rs in req.resource_spans:
                names = defaultdict(int)
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        names[s.name] += 1
                        self.record(("span_keys", s.name, "attribute"), s.attributes)
                        for e in s.events:
                            self.record(("span_keys", s.name, "event", e.name), e.attributes)
                        for link in s.links:
                            self.record(("span_keys", s.name, "link"), link.attributes)
                self.resource("span_keys", names, rs.resource.attributes)
        elif isinstance(req, ExportLogsServiceRequest):
            for rl in req.resource_logs:
                sevs = defaultdict(int)
                for sl in rl.scope_logs:
                    for r in sl.log_records:
                        sev = severity(r.severity_number, r.severity_text)
                        sevs[sev] += 1
                        self.record(("log_keys", sev, "attribute"), r.attributes)
                self.resource("log_keys", sevs, rl.resource.attributes)
        else:
            for rm in req.resource_metrics:
                names = defaultdict(int)
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        data = getattr(m, m.WhichOneof("data"))
                        for dp in data.data_points:
                            names[m.name] += 1
                            self.record(("metric_keys", m.name, "label"), dp.attributes)
                self.resource("metric_keys", names, rm.resource.attributes)

    def rows(self):
        """As catalog_rows gives them: span keys end with their event name."""
        out = {}
        for k, b in self.bytes.items():
            if k[0] == "span_keys" and k[2] == "event":
                key = k[:3] + (k[4], k[3])
            elif k[0] == "span_keys":
                key = k + ("",)
            else:
                key = k
            out[key] = (b, dict(sorted(self.types[k].items())))
        return out


def catalog_rows(db):
    out = {}
    for table, entity in (("metric_keys", "metric_name"), ("span_keys", "span_name"), ("log_keys", "severity")):
        event = ", event_name" if table == "span_keys" else ""
        for row in db.execute(f"SELECT {entity}, key_scope, key_name{event}, bytes, value_types FROM {table}"):
            out[(table,) + tuple(row[:-2])] = (row[-2], json.loads(row[-1]))
    return out


def kv(key, value):
    """A pair; an empty value is left out of the message, as prost writes a
    KeyValue whose value is None (src/otlp/size.rs counts it so)."""
    return KeyValue(key=key) if value is None else KeyValue(key=key, value=value)


def anyvalue(rnd, depth=0, element=False):
    """A random value; None for an empty one (an empty AnyValue message in
    an array)."""
    kind = rnd.choice(["s", "s", "s", "i", "d", "b", "y", "a", "k", "e"] if depth == 0 else ["s", "i", "e"])
    v = AnyValue()
    if kind == "e" and not element:
        return None
    if kind == "s":
        v.string_value = rnd.choice(["", "GET", "x" * rnd.randint(1, 300), "é日本"])
    elif kind == "i":
        v.int_value = rnd.choice([0, 1, -1, 200, 2**40, -2**63])
    elif kind == "d":
        v.double_value = rnd.choice([0.0, 1.5, -3.25])
    elif kind == "b":
        v.bool_value = rnd.random() < 0.5
    elif kind == "y":
        v.bytes_value = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 40)))
    elif kind == "a":
        v.array_value.values.extend(anyvalue(rnd, 1, element=True) for _ in range(rnd.randint(0, 4)))
    elif kind == "k":
        v.kvlist_value.values.extend(kv(f"k{i}", anyvalue(rnd, 1)) for i in range(rnd.randint(0, 3)))
    return v


def attrs(rnd, n):
    out = []
    for _ in range(n):
        out.append(kv(rnd.choice(["a", "b", "http.status", "user.id", "x" * 140]), anyvalue(rnd)))
    return out


def generated(seed):
    """Requests of every signal with values of every type, repeated keys,
    several resource blocks and entities per block."""
    rnd = random.Random(seed)
    reqs = []
    for _ in range(6):
        t = ExportTraceServiceRequest()
        for _ in range(rnd.randint(1, 3)):
            rs = t.resource_spans.add()
            rs.resource.attributes.extend([KeyValue(key="service.name", value=AnyValue(string_value=rnd.choice(["a", "b"])))]
                                          + attrs(rnd, rnd.randint(0, 3)))
            for _ in range(rnd.randint(1, 2)):
                ss = rs.scope_spans.add()
                for _ in range(rnd.randint(1, 20)):
                    s = ss.spans.add(name=rnd.choice(["GET /", "POST /x", "db"]), kind=2, start_time_unix_nano=1700000000 * 10**9)
                    s.attributes.extend(attrs(rnd, rnd.randint(0, 6)))
                    for _ in range(rnd.randint(0, 2)):
                        s.events.add(name=rnd.choice(["exception", "retry"]), time_unix_nano=1700000000 * 10**9).attributes.extend(attrs(rnd, rnd.randint(0, 3)))
                    for _ in range(rnd.randint(0, 1)):
                        s.links.add().attributes.extend(attrs(rnd, rnd.randint(0, 2)))
        reqs.append(t)
        lg = ExportLogsServiceRequest()
        for _ in range(rnd.randint(1, 3)):
            rl = lg.resource_logs.add()
            rl.resource.attributes.extend(attrs(rnd, rnd.randint(0, 3)))
            sl = rl.scope_logs.add()
            for _ in range(rnd.randint(1, 20)):
                r = sl.log_records.add(severity_number=rnd.choice([9, 13, 17]), time_unix_nano=1700000000 * 10**9)
                r.body.string_value = "line"
                r.attributes.extend(attrs(rnd, rnd.randint(0, 6)))
        reqs.append(lg)
        mt = ExportMetricsServiceRequest()
        for _ in range(rnd.randint(1, 3)):
            rm = mt.resource_metrics.add()
            rm.resource.attributes.extend(attrs(rnd, rnd.randint(0, 3)))
            sm = rm.scope_metrics.add()
            for name in rnd.sample(["cpu", "mem", "req"], 2):
                m = sm.metrics.add(name=name)
                for _ in range(rnd.randint(1, 10)):
                    dp = m.gauge.data_points.add(as_double=1.0, time_unix_nano=1700000000 * 10**9)
                    dp.attributes.extend(attrs(rnd, rnd.randint(0, 6)))
        reqs.append(mt)
    return reqs


SIGNAL = {ExportTraceServiceRequest: "traces", ExportLogsServiceRequest: "logs", ExportMetricsServiceRequest: "metrics"}


class TestKeyBytesAndTypes(unittest.TestCase):
    def check(self, reqs, json_too=True):
        want = Expected()
        for r in reqs:
            want.add(r)
        want = want.rows()
        self.assertTrue(want)
        pb = connect()
        pb.execute("BEGIN")
        for r in reqs:
            pb.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (r.SerializeToString(), SIGNAL[type(r)]))
        pb.execute("COMMIT")
        self.assertEqual(catalog_rows(pb), want)
        if json_too:
            js = connect()
            for r in reqs:  # one transaction each: the counts add up across commits
                js.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (MessageToJson(r),))
            self.assertEqual(catalog_rows(js), want)

    def test_official_examples(self):
        reqs = []
        for name, cls in (("trace", ExportTraceServiceRequest), ("logs", ExportLogsServiceRequest),
                          ("events", ExportLogsServiceRequest), ("metrics", ExportMetricsServiceRequest)):
            with open(os.path.join(OTLP, name + ".pb"), "rb") as f:
                reqs.append(cls.FromString(f.read()))
        self.check(reqs, json_too=False)  # (JSON = protobuf: test_ingest's test_protobuf_agrees_with_json)
        db = connect()
        with open(os.path.join(OTLP, "logs.json")) as f:
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (f.read(),))
        types = dict(db.execute("SELECT key_name, value_types FROM log_keys WHERE key_scope = 'attribute'"))
        self.assertEqual(types["int.attribute"], '{"int":1}')
        self.assertEqual(types["double.attribute"], '{"double":1}')
        self.assertEqual(types["array.attribute"], '{"array":1}')
        self.assertEqual(types["map.attribute"], '{"kvlist":1}')

    def test_generated_requests(self):
        for seed in range(4):
            with self.subTest(seed=seed):
                self.check(generated(seed))

    def test_resource_bytes_count_once_per_block(self):
        """A resource block of 50 spans sends its attributes once: the
        resource keys' bytes are the pair's bytes once per block, their
        value types count every record."""
        from otlp_payloads import span, traces
        db = connect()
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("s")] * 50, service="svc"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("s")] * 10, service="svc"),))
        pair = field_len(KeyValue(key="service.name", value=AnyValue(string_value="svc")))
        self.assertEqual(db.execute("SELECT key_count, bytes, value_types FROM span_keys WHERE key_scope = 'resource'").fetchone(),
                         (60, 2 * pair, '{"string":60}'))


class TestViews(unittest.TestCase):
    def test_key_bytes_and_mixed_types(self):
        from otlp_payloads import log, logs, span, traces
        db = connect()
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(
            [span("GET /a", attrs={"http.status": 200, "big": "x" * 1000})] * 3
            + [span("GET /b", attrs={"http.status": "200"})], service="svc"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("l", attrs={"big": "y" * 10})]),))
        big = field_len(KeyValue(key="big", value=AnyValue(string_value="x" * 1000)))
        rows = db.execute("SELECT signal, key_scope, key_name, entities, key_count, bytes, bytes_per_record FROM key_bytes").fetchall()
        self.assertEqual(rows[0], ("spans", "attribute", "big", 1, 3, 3 * big, round(big, 1)))
        self.assertEqual(db.execute("SELECT sum(signal_percentage) FROM key_bytes WHERE signal = 'spans'").fetchone()[0], 100.0)
        # GET /a sends ints, GET /b strings: both rows show, each with its types.
        mixed = "SELECT signal, entity, key_scope, key_name, key_count, value_types FROM key_mixed_types ORDER BY entity"
        self.assertEqual(db.execute(mixed).fetchall(),
                         [("spans", "GET /a", "attribute", "http.status", 3, '{"int":3}'),
                          ("spans", "GET /b", "attribute", "http.status", 1, '{"string":1}')])
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /b", attrs={"http.status": 500})]),))
        self.assertEqual(db.execute(mixed).fetchall()[1], ("spans", "GET /b", "attribute", "http.status", 2, '{"int":1,"string":1}'))
        # One type everywhere: not listed (the logs' "big" is a string like the spans' but another signal).
        self.assertEqual(db.execute("SELECT count(*) FROM key_mixed_types WHERE key_name = 'big'").fetchone(), (0,))
        self.assertEqual(db.execute("SELECT value_types FROM attribute_catalog WHERE key_name = 'http.status'").fetchone(),
                         ('{"int":4,"string":1}',))
        doc = json.loads(db.execute("SELECT document FROM span_metadata WHERE name = 'GET /b'").fetchone()[0])
        self.assertEqual(doc["attribute_keys"]["http.status"]["value_types"], {"int": 1, "string": 1})
        self.assertEqual(doc["attribute_keys"]["http.status"]["bytes"],
                         field_len(KeyValue(key="http.status", value=AnyValue(string_value="200")))
                         + field_len(KeyValue(key="http.status", value=AnyValue(int_value=500))))


class TestReport(unittest.TestCase):
    def test_report_ranks_services_by_bytes(self):
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(FIXTURES), "..", "python"))
        from otelcat.report import sections
        from otlp_payloads import span, traces
        db = connect()
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("a", attrs={"big": "x" * 300})] * 2, service="fat"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("a")] * 3, service="thin"),))
        title, headers, keys, rows = next(s for s in sections(db, 5, 1) if s[0].startswith("Services by bytes"))
        self.assertEqual(headers, ["signal", "service", "records", "bytes", "bytes / record"])
        want = db.execute("SELECT service_name, sample_count, bytes FROM span_services ORDER BY bytes DESC").fetchall()
        self.assertEqual([(r[1], r[2], r[3]) for r in rows], want)
        self.assertEqual([r[1] for r in rows], ["fat", "thin"])

    def test_report_ranks_keys_by_bytes(self):
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(FIXTURES), "..", "python"))
        from otelcat.report import sections
        from otlp_payloads import span, traces
        db = connect()
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("a", attrs={"small": 1, "big": "x" * 300})] * 4),))
        title, headers, keys, rows = next(s for s in sections(db, 5, 1) if s[0].startswith("Attribute keys by bytes"))
        self.assertEqual(headers, ["signal", "scope", "key", "bytes", "bytes / record"])
        big = field_len(KeyValue(key="big", value=AnyValue(string_value="x" * 300)))
        self.assertEqual(rows[0], ("spans", "attribute", "big", 4 * big, float(big)))
        # The resource pair counts once for the block of 4 spans.
        self.assertEqual([r[2] for r in rows], ["big", "small", "service.name"])


class TestTopValues(unittest.TestCase):
    """Per key a frequent-items sketch (top_sketch, DataSketches, lg_max_map_size
    6) and its top 10 values (top_values)."""

    def test_a_skewed_key_has_its_top_value_exact_to_the_bound(self):
        """One value on half of 3 000 records over three commits, the others
        all distinct: the top value and its count, within the sketch's
        maximum error (at most 3.5/64 of the records)."""
        import datasketches
        from otlp_payloads import span, traces
        db = connect()
        for c in range(3):
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(
                [span("GET /a", attrs={"user.id": "hot" if i % 2 else f"u{c}-{i}", "m": ["GET", "POST", "PUT"][i % 3]})
                 for i in range(1000)]),))
        top, info, blob = db.execute("SELECT top_values, topk_info(top_sketch), top_sketch FROM span_keys "
                                     "WHERE key_name = 'user.id'").fetchone()
        top, info = json.loads(top), json.loads(info)
        err = info["maximum_error"]
        self.assertEqual(info["total_weight"], 3000)
        self.assertGreater(err, 0)                     # past the exact range: the bound matters
        self.assertLessEqual(err, 3.5 / 64 * 3000)
        self.assertEqual(top[0]["value"], "hot")
        self.assertLessEqual(1500, top[0]["count"])
        self.assertLessEqual(top[0]["count"], 1500 + err)
        self.assertTrue(all(set(t) == {"value", "count"} for t in top) and len(top) <= 10)
        # Python's DataSketches reads the column.
        s = datasketches.frequent_strings_sketch.deserialize(blob)
        self.assertEqual(s.get_estimate("hot"), top[0]["count"])
        self.assertEqual(s.total_weight, 3000)
        # A key of few values: every count exact.
        self.assertEqual(json.loads(db.execute("SELECT top_values FROM span_keys WHERE key_name = 'm'").fetchone()[0]),
                         [{"value": "GET", "count": 1002}, {"value": "POST", "count": 999}, {"value": "PUT", "count": 999}])
        # Resource keys count every record of the block.
        self.assertEqual(db.execute("SELECT top_values FROM span_keys WHERE key_name = 'service.name'").fetchone(),
                         ('[{"value":"svc","count":3000}]',))

    def test_stored_sketches_bound_the_true_counts(self):
        """Skewed and uniform keys over many distinct values, ingested in
        several transactions (one of them with a rolled-back savepoint):
        Python's DataSketches reads each stored image, and for every value
        its true count lies within [lower bound, upper bound]; a value the
        sketch does not track occurred at most maximum_error times, which is
        at most 3.5/64 of the records."""
        import datasketches
        from otlp_payloads import span, traces
        rnd = random.Random(15)
        db = connect()
        true = {"zipf": defaultdict(int), "uniform": defaultdict(int), "half": defaultdict(int)}
        for txn in range(4):
            db.execute("BEGIN")
            for req in range(5):
                spans = []
                for i in range(400):
                    a = {"zipf": f"z{int(1 / (rnd.random() + 1e-9))}", "uniform": f"u{rnd.randrange(300)}",
                         "half": "hot" if rnd.random() < 0.5 else f"h{txn}-{req}-{i}"}
                    spans.append(span("GET /x", attrs=a))
                    if txn == 2 and req == 4:
                        continue            # rolled back below
                    for k, v in a.items():
                        true[k][v] += 1
                if txn == 2 and req == 4:
                    db.execute("SAVEPOINT gone")
                    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(spans),))
                    db.execute("ROLLBACK TO gone")
                    db.execute("RELEASE gone")
                else:
                    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(spans),))
            db.execute("COMMIT")
        for key, counts in true.items():
            with self.subTest(key=key):
                blob, key_count, top, err = db.execute(
                    "SELECT top_sketch, key_count, top_values, json_extract(topk_info(top_sketch), '$.maximum_error') "
                    "FROM span_keys WHERE key_name = ?", (key,)).fetchone()
                s = datasketches.frequent_strings_sketch.deserialize(blob)
                self.assertEqual(s.total_weight, key_count)
                self.assertEqual(key_count, sum(counts.values()))
                self.assertLessEqual(err, 3.5 / 64 * key_count)
                items = s.get_frequent_items(datasketches.frequent_items_error_type.NO_FALSE_NEGATIVES, 0)
                self.assertTrue(all(upper - lower == err for _, _, lower, upper in items))
                tracked = {i[0] for i in items}
                for v, n in counts.items():
                    self.assertLessEqual(s.get_lower_bound(v), n, v)
                    self.assertLessEqual(n, s.get_upper_bound(v), v)
                    if v not in tracked:
                        self.assertLessEqual(n, err, v)
                top = json.loads(top)
                if key == "half":
                    self.assertEqual(top[0]["value"], "hot")
                    self.assertLessEqual(counts["hot"], top[0]["count"])
                    self.assertLessEqual(top[0]["count"], counts["hot"] + err)
                if key == "uniform":
                    self.assertGreater(err, 0)      # past the exact range: the bound matters

    def test_savepoints_and_long_values(self):
        """Batches of released savepoints merge their counters (exact lists and
        sketches alike) as one batch would; values count by their first 128
        characters."""
        from otlp_payloads import log, logs
        recs = [log("x", attrs={"k": f"v{i % 40}" if i % 4 else "same", "long": "é" * 200 + str(i % 2)}) for i in range(400)]
        one, sp = connect(), connect()
        one.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs(recs),))
        sp.execute("BEGIN")
        for n, part in enumerate((recs[:7], recs[7:150], recs[150:])):
            sp.execute(f"SAVEPOINT s{n}")
            sp.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs(part),))
        for n in (2, 1, 0):
            sp.execute(f"RELEASE s{n}")
        sp.execute("COMMIT")
        q = "SELECT key_name, top_values, topk_values(top_sketch, 100) FROM log_keys WHERE key_scope = 'attribute' ORDER BY 1"
        self.assertEqual(sp.execute(q).fetchall(), one.execute(q).fetchall())
        k = dict((r[0], json.loads(r[1])) for r in one.execute(q))
        self.assertEqual(k["k"][0], {"value": "same", "count": 100})
        # 31 values (30 v* of 10 records each, and same; past the exact list,
        # within the sketch's exact range): the first 10 shown.
        self.assertEqual([t["count"] for t in k["k"]], [100] + [10] * 9)
        self.assertEqual(one.execute("SELECT json_extract(topk_info(top_sketch), '$.maximum_error') FROM log_keys "
                                     "WHERE key_name = 'k'").fetchone(), (0,))
        self.assertEqual(k["long"], [{"value": "é" * 128, "count": 400}])

    def test_upgraded_rows_have_no_top_values_until_written(self):
        shutil_copy = __import__("shutil").copy
        import tempfile
        d = tempfile.mkdtemp(prefix="otelcat-top-")
        path = os.path.join(d, "c.db")
        shutil_copy(os.path.join(FIXTURES, "catalog", "v0.2.0.db"), path)
        db = connect(path)
        from otlp_payloads import log, logs
        name = db.execute("SELECT severity, key_name FROM log_keys WHERE key_scope = 'attribute' LIMIT 1").fetchone()
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("x", severity_number=21, attrs={"new": "v"})]),))
        self.assertEqual(db.execute("SELECT top_sketch, top_values FROM log_keys WHERE severity = ? AND key_name = ?", name).fetchone(),
                         (None, None))
        self.assertEqual(db.execute("SELECT top_values FROM log_keys WHERE key_name = 'new'").fetchone(),
                         ('[{"value":"v","count":1}]',))
        db.close()
        __import__("shutil").rmtree(d, ignore_errors=True)

    def test_a_damaged_top_sketch_fails_clearly_and_poisons_nothing(self):
        """A catalog whose stored top_sketch is not a frequent-items image (a
        file edited by hand or from elsewhere): ingest that reaches the key
        fails with an error naming topk_merge, the table and the row, and
        writes nothing; the other keys' ingest goes on; once the row is
        repaired as the error says, the key counts again."""
        from otlp_payloads import span, traces
        import tempfile
        d = tempfile.mkdtemp(prefix="otelcat-top-")
        path = os.path.join(d, "c.db")
        db = connect(path)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("a", attrs={"k": "v"}), span("b", attrs={"k": "w"})]),))
        db.execute("UPDATE span_key_rows SET top_sketch = substr(top_sketch, 1, length(top_sketch) - 3) WHERE span_name = 'a' AND key_name = 'k'")
        before = db.execute("SELECT * FROM span_keys ORDER BY 1, 2, 3, 4").fetchall()
        with self.assertRaises(sqlite3.Error) as e:
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("a", attrs={"k": "v"})]),))
        msg = str(e.exception)
        self.assertIn("topk_merge", msg)
        self.assertIn("span_key_rows row ('a', 'attribute', 'k'", msg)
        self.assertIn("repair or delete that row", msg)
        self.assertEqual(db.execute("SELECT * FROM span_keys ORDER BY 1, 2, 3, 4").fetchall(), before)
        # Nothing is poisoned: another entity's key still counts.
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("b", attrs={"k": "w"})]),))
        self.assertEqual(db.execute("SELECT key_count, top_values FROM span_keys WHERE span_name = 'b' AND key_name = 'k'").fetchone(),
                         (2, '[{"value":"w","count":2}]'))
        # Repaired as the error says (the sketch reset): the key counts from then on.
        db.execute("UPDATE span_key_rows SET top_sketch = NULL, top_values = NULL WHERE span_name = 'a' AND key_name = 'k'")
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("a", attrs={"k": "v"})]),))
        self.assertEqual(db.execute("SELECT key_count, top_values FROM span_keys WHERE span_name = 'a' AND key_name = 'k'").fetchone(),
                         (2, '[{"value":"v","count":1}]'))
        db.close()
        __import__("shutil").rmtree(d, ignore_errors=True)
