"""Semantic conventions: the release the extension embeds (semconv_* tables
and functions), the generator that makes it (reproducible from the model
files when ../shared has them; its rules on a small model of its own), the
semconv_* views of sql/views.sql on small hand-written catalogs (every
view's positive and negative cases), on catalogs of older versions and
through otlp_ingest, and `otelcat check --semconv`."""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import unittest

from helpers import EXT, FIXTURES, ROOT, SHARED, connect, err
from otlp_payloads import kv, span, traces

MODEL = os.path.join(SHARED, "data", "semconv")
GEN = os.path.join(ROOT, "tools", "semconv_gen.py")
DATA = os.path.join(ROOT, "src", "semconv", "data.json")
VERSION = "1.44.0"
VIEWS = ("semconv_deprecated_keys", "semconv_type_mismatches", "semconv_metric_mismatches", "semconv_unknown_keys",
         "semconv_similar_keys", "semconv_coverage", "semconv_missing_attributes")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def rows(db, sql, params=()):
    return db.execute(sql, params).fetchall()


# ---------------------------------------------------------------------------
# Hand-written catalogs: rows written straight into the catalog tables.

class Catalog:
    """An in-memory catalog (sql/schema.sql + sql/views.sql) filled row by
    row. A key is `name` (on every record), `(name, samples)`,
    `(name, samples, count)` or `(name, samples, count, value_types)`
    (value_types a dict, {} by default as in a row older than the upgrade
    to schema version 3)."""

    def __init__(self):
        self.db = connect()
        self.db.executescript(read("sql/schema.sql") + read("sql/views.sql"))

    @staticmethod
    def _key(k, records):
        if isinstance(k, str):
            return k, ["x"], records, "{}"
        if len(k) == 2:
            return k[0], k[1], records, "{}"
        if len(k) == 3:
            return (*k, "{}")
        return k[0], k[1], k[2], json.dumps(k[3], separators=(",", ":"), sort_keys=True)

    def metric(self, name, type="Histogram", unit="", services=("svc",), labels=(), resource=(), records=10, monotonic=None):
        """`monotonic`: is_monotonic of the metric and its services (NULL:
        an upgraded catalog's); a service is a name or (name, type,
        is_monotonic), what that service sent last."""
        db = self.db
        db.execute("INSERT INTO metrics(name, type, unit, total_sample_count, is_monotonic) VALUES (?, ?, ?, ?, ?)",
                   (name, type, unit, records, monotonic))
        for s in services:
            svc, stype, smono = s if isinstance(s, tuple) else (s, None if monotonic is None else type, monotonic)
            db.execute("INSERT INTO metric_services(metric_name, service_name, sample_count, type, is_monotonic) "
                       "VALUES (?, ?, ?, ?, ?)", (name, svc, records, stype, smono))
        for scope, keys in (("label", labels), ("resource", resource)):
            for k in keys:
                key, samples, count, types = self._key(k, records)
                db.execute("INSERT INTO metric_key_rows(metric_name, key_scope, key_name, key_count, value_samples, "
                           "value_types) VALUES (?, ?, ?, ?, ?, ?)",
                           (name, scope, key, count, json.dumps(samples), types))
        return self

    def span(self, name, kind="Server", services=("svc",), attrs=(), resource=(), events=None, records=10):
        db = self.db
        db.execute("INSERT INTO spans(name, kind, total_sample_count) VALUES (?, ?, ?)", (name, kind, records))
        for s in services:
            db.execute("INSERT INTO span_services(span_name, service_name, sample_count) VALUES (?, ?, ?)", (name, s, records))
        keys = [("attribute", "", k) for k in attrs] + [("resource", "", k) for k in resource]
        for event, eattrs in (events or {}).items():
            db.execute("INSERT INTO span_events(span_name, event_name, event_count) VALUES (?, ?, ?)", (name, event, records))
            keys += [("event", event, k) for k in eattrs]
        for scope, event, k in keys:
            key, samples, count, types = self._key(k, records)
            db.execute("INSERT INTO span_key_rows(span_name, key_scope, key_name, event_name, key_count, value_samples, "
                       "value_types) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (name, scope, key, event, count, json.dumps(samples), types))
        return self

    def log(self, severity="INFO", services=("svc",), attrs=(), records=10):
        db = self.db
        db.execute("INSERT INTO logs(severity, total_sample_count) VALUES (?, ?)", (severity, records))
        for s in services:
            db.execute("INSERT INTO log_services(severity, service_name, sample_count) VALUES (?, ?, ?)", (severity, s, records))
        for k in attrs:
            key, samples, count, types = self._key(k, records)
            db.execute("INSERT INTO log_key_rows(severity, key_scope, key_name, key_count, value_samples, value_types) "
                       "VALUES (?, 'attribute', ?, ?, ?, ?)",
                       (severity, key, count, json.dumps(samples), types))
        return self

    def q(self, sql, params=()):
        return rows(self.db, sql, params)


# ---------------------------------------------------------------------------
# The embedded release

class TestTables(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = connect()

    def q(self, sql, params=()):
        return rows(self.db, sql, params)

    def test_semconv_attributes(self):
        self.assertEqual(self.q("SELECT count(*), count(DISTINCT name), min(semconv_version), max(semconv_version) "
                                "FROM semconv_attributes"), [(940, 940, VERSION, VERSION)])
        cols = [r[1] for r in self.q("PRAGMA table_info(semconv_attributes)")]
        self.assertEqual(cols, ["name", "type", "template", "enum_members", "stability", "deprecated", "deprecated_reason",
                                "replacement", "deprecated_note", "brief", "namespace", "semconv_version"])
        self.assertEqual(self.q("SELECT type, template, enum_members IS NOT NULL, stability, deprecated, namespace "
                                "FROM semconv_attributes WHERE name = 'http.request.method'"),
                         [("string", 0, 1, "stable", 0, "http")])
        self.assertEqual(self.q("SELECT deprecated, deprecated_reason, replacement FROM semconv_attributes WHERE name = 'http.method'"),
                         [(1, "renamed", "http.request.method")])
        self.assertEqual(self.q("SELECT type, template FROM semconv_attributes WHERE name = 'http.request.header'"), [("string[]", 1)])
        # An int enum: its members are JSON numbers.
        self.assertEqual(json.loads(self.q("SELECT enum_members FROM semconv_attributes WHERE name = 'rpc.grpc.status_code'")[0][0]),
                         list(range(17)))
        self.assertEqual(self.q("SELECT DISTINCT type FROM semconv_attributes ORDER BY 1"),
                         [("any",), ("boolean",), ("double",), ("int",), ("int[]",), ("string",), ("string[]",)])
        # A name without a dot is its own namespace.
        self.assertEqual(self.q("SELECT namespace, replacement FROM semconv_attributes WHERE name = 'state'"),
                         [("state", "db.client.connection.state")])

    def test_semconv_attributes_lookups(self):
        # Every lookup answers as a scan filtered by SQLite would.
        for col, value in (("name", "url.full"), ("name", "no.such.key"), ("namespace", "http"), ("namespace", "state"),
                           ("replacement", "url.full"), ("replacement", "server.address")):
            with self.subTest(col=col, value=value):
                plan = " ".join(r[3] for r in self.q(f"EXPLAIN QUERY PLAN SELECT name FROM semconv_attributes WHERE {col} = ?", (value,)))
                self.assertRegex(plan, r"VIRTUAL TABLE INDEX [1-9]")
                got = self.q(f"SELECT name FROM semconv_attributes WHERE {col} = ? ORDER BY name", (value,))
                want = self.q(f"SELECT name FROM semconv_attributes WHERE +{col} = ? ORDER BY name", (value,))
                self.assertEqual(got, want)
        self.assertEqual(len(self.q("SELECT 1 FROM semconv_attributes WHERE namespace = 'http'")), 26)
        self.assertEqual(self.q("SELECT name FROM semconv_attributes WHERE replacement = 'url.full'"), [("http.url",)])
        # A NULL matches nothing, a number nothing either (SQLite compares), bytes of no name nothing.
        self.assertEqual(self.q("SELECT count(*) FROM semconv_attributes WHERE name = NULL"), [(0,)])
        self.assertEqual(self.q("SELECT count(*) FROM semconv_attributes WHERE name = 42"), [(0,)])
        self.assertEqual(self.q("SELECT count(*) FROM semconv_attributes WHERE name = CAST(x'ff00' AS TEXT)"), [(0,)])
        self.assertEqual(self.q("SELECT count(*) FROM semconv_attributes WHERE name = 'url.full' AND namespace = 'http'"), [(0,)])
        # A join looks each key up instead of scanning.
        plan = " ".join(r[3] for r in self.q("EXPLAIN QUERY PLAN SELECT a.type FROM (SELECT 'url.full' AS k UNION ALL SELECT 'x') "
                                             "CROSS JOIN semconv_attributes a ON a.name = k"))
        self.assertRegex(plan, r"VIRTUAL TABLE INDEX [1-9]")

    def test_semconv_metrics(self):
        # One row per metric name: the 562 metric definitions less 21 refinements.
        self.assertEqual(self.q("SELECT count(*), count(DISTINCT name) FROM semconv_metrics"), [(541, 541)])
        row = self.q("SELECT instrument, unit, stability, deprecated, group_id, semconv_version, attributes "
                     "FROM semconv_metrics WHERE name = 'http.server.request.duration'")[0]
        self.assertEqual(row[:6], ("histogram", "s", "stable", 0, "metric.http.server.request.duration", VERSION))
        attrs = json.loads(row[6])
        # Inherited through extends (attributes.http.server -> attributes.http.common).
        self.assertEqual((attrs["http.request.method"], attrs["url.scheme"], attrs["http.route"], attrs["server.address"]),
                         ("required", "required", "conditionally_required", "opt_in"))
        self.assertEqual(self.q("SELECT deprecated, replacement FROM semconv_metrics WHERE name = 'db.client.connections.usage'"),
                         [(1, "db.client.connection.count")])
        # definition/2 metrics are there too.
        self.assertEqual(self.q("SELECT instrument, unit FROM semconv_metrics WHERE name = 'hw.fan.speed'"), [("gauge", "rpm")])
        self.assertEqual(self.q("SELECT count(*) FROM semconv_metrics WHERE name = 'no.such.metric'"), [(0,)])
        plan = " ".join(r[3] for r in self.q("EXPLAIN QUERY PLAN SELECT * FROM semconv_metrics WHERE name = 'x'"))
        self.assertRegex(plan, r"VIRTUAL TABLE INDEX [1-9]")

    def test_semconv_groups(self):
        self.assertEqual(self.q("SELECT type, count(*) FROM semconv_groups GROUP BY type ORDER BY type"),
                         [("entity", 64), ("event", 32), ("metric", 562), ("span", 113)])
        self.assertEqual(self.q("SELECT type, name, span_kind, stability FROM semconv_groups WHERE id = 'span.http.server'"),
                         [("span", None, "server", "stable")])
        # A definition/2 refinement names what it refines and inherits its kind.
        self.assertEqual(self.q("SELECT refines, span_kind FROM semconv_groups WHERE id = 'span.messaging.kafka.send.producer'"),
                         [("span.messaging.send.producer", "producer")])
        self.assertEqual(self.q("SELECT refines, name, instrument, unit FROM semconv_groups WHERE id = 'metric.hw.fan.status'"),
                         [("metric.hw.status", "hw.status", "updowncounter", "1")])
        self.assertEqual(self.q("SELECT id FROM semconv_groups WHERE type = 'event' AND name = 'exception'"), [("event.exception",)])
        for where in ("id = 'event.exception'", "type = 'event'", "name = 'exception'"):
            plan = " ".join(r[3] for r in self.q(f"EXPLAIN QUERY PLAN SELECT * FROM semconv_groups WHERE {where}"))
            self.assertRegex(plan, r"VIRTUAL TABLE INDEX [1-9]", where)
        self.assertEqual(self.q("SELECT count(*) FROM semconv_groups WHERE type = 'event'"),
                         self.q("SELECT count(*) FROM semconv_groups WHERE +type = 'event'"))

    def test_semconv_group_attributes(self):
        required = lambda g: [r[0] for r in self.q("SELECT attribute FROM semconv_group_attributes WHERE group_id = ? "
                                                    "AND requirement_level = 'required' ORDER BY 1", (g,))]
        self.assertEqual(required("span.http.server"), ["http.request.method", "url.path", "url.scheme"])
        # A ref restating an inherited attribute overrides its level (server.address is
        # recommended for servers, required for clients).
        self.assertEqual(required("span.http.client"), ["http.request.method", "server.address", "server.port", "url.full"])
        # definition/2: ref_group, and refinements on top of what they refine.
        self.assertIn("messaging.system", required("span.messaging.send.producer"))
        kafka = dict(self.q("SELECT attribute, requirement_level FROM semconv_group_attributes "
                            "WHERE group_id = 'span.messaging.kafka.send.producer'"))
        self.assertEqual((kafka["messaging.system"], kafka["messaging.kafka.offset"]), ("required", "recommended"))
        # Entity roles, conditions, the default level.
        self.assertEqual(self.q("SELECT requirement_level, role FROM semconv_group_attributes "
                                "WHERE group_id = 'entity.service' AND attribute = 'service.name'"), [("required", "identifying")])
        self.assertEqual(self.q("SELECT requirement_level, condition FROM semconv_group_attributes "
                                "WHERE group_id = 'span.http.server' AND attribute = 'http.route'"),
                         [("conditionally_required", "If and only if it's available")])
        self.assertEqual(self.q("SELECT DISTINCT requirement_level FROM semconv_group_attributes ORDER BY 1"),
                         [("conditionally_required",), ("opt_in",), ("recommended",), ("required",)])
        self.assertEqual(self.q("SELECT DISTINCT group_type FROM semconv_group_attributes ORDER BY 1"),
                         [("entity",), ("event",), ("metric",), ("span",)])
        got = self.q("SELECT group_id, attribute FROM semconv_group_attributes WHERE attribute = 'url.full' ORDER BY 1")
        self.assertEqual(got, self.q("SELECT group_id, attribute FROM semconv_group_attributes WHERE +attribute = 'url.full' ORDER BY 1"))
        self.assertEqual(self.q("SELECT count(*) FROM semconv_group_attributes WHERE group_id = 'no.such.group'"), [(0,)])

    def test_every_attribute_of_a_definition_is_in_the_registry(self):
        self.assertEqual(self.q("SELECT DISTINCT g.attribute FROM semconv_group_attributes g "
                                "WHERE NOT EXISTS (SELECT 1 FROM semconv_attributes a WHERE a.name = g.attribute)"), [])

    def test_no_attribute_lies_under_a_template(self):
        # The views match template keys by name range (name.…); semconv_attribute()
        # prefers an exact name. They agree as long as no attribute is named
        # under a template: a new release that breaks this fails here.
        self.assertEqual(self.q("SELECT t.name, a.name FROM semconv_attributes t JOIN semconv_attributes a "
                                "ON a.name > t.name || '.' AND a.name < t.name || '/' WHERE t.template"), [])

    def test_semconv_attribute(self):
        self.assertEqual(self.q("SELECT semconv_attribute('url.full'), semconv_attribute('http.request.header.x-forwarded-for'), "
                                "semconv_attribute('k8s.pod.labels.app'), semconv_attribute('http.request.methd'), "
                                "semconv_attribute(NULL), semconv_attribute(''), semconv_attribute('http.request.header')"),
                         [("url.full", "http.request.header", "k8s.pod.labels", None, None, None, "http.request.header")])
        for bad, kind in (("42", "INTEGER"), ("1.5", "REAL"), ("x'00'", "BLOB")):
            self.assertEqual(err(self.db, f"SELECT semconv_attribute({bad})"),
                             f"semconv_attribute: argument 1 (key) must be TEXT or NULL, got {kind}")
        self.assertIn("not valid UTF-8", err(self.db, "SELECT semconv_attribute(CAST(x'ff' AS TEXT))"))

    def test_semconv_nearest(self):
        one = lambda k: json.loads(self.q("SELECT semconv_nearest(?, 1)", (k,))[0][0])
        self.assertEqual(one("http.reponse.status_code"), ["http.response.status_code"])
        self.assertEqual(one("http.request.metohd"), ["http.request.method"])
        self.assertEqual(one("userId"), ["user.id"])
        self.assertEqual(one("USER_ID"), ["user.id"])
        self.assertEqual(one("http.response.status"), ["http.response.status_code"])
        self.assertEqual(one("app.product.id"), [])
        self.assertEqual(json.loads(self.q("SELECT semconv_nearest('http.response.status')")[0][0]),
                         ["http.response.status_code", "http.response.size", "http.response.header"])
        self.assertEqual(json.loads(self.q("SELECT semconv_nearest('k8s.pod.uid', 2)")[0][0]), ["k8s.pod.ip", "k8s.job.uid"])
        # Never a deprecated name, never the key itself.
        self.assertNotIn("http.method", json.loads(self.q("SELECT semconv_nearest('http.methd', 10)")[0][0]))
        self.assertNotIn("url.full", json.loads(self.q("SELECT semconv_nearest('url.full', 10)")[0][0]))
        self.assertEqual(self.q("SELECT semconv_nearest(NULL), semconv_nearest(NULL, 2)"), [(None, None)])
        self.assertEqual(err(self.db, "SELECT semconv_nearest('x', 0)"), "semconv_nearest: argument 2 (n) must be from 1 to 100, got 0")
        self.assertEqual(err(self.db, "SELECT semconv_nearest('x', 101)"), "semconv_nearest: argument 2 (n) must be from 1 to 100, got 101")
        self.assertEqual(err(self.db, "SELECT semconv_nearest('x', '2')"),
                         "semconv_nearest: argument 2 (n) must be an integer from 1 to 100, got TEXT")
        self.assertEqual(err(self.db, "SELECT semconv_nearest(7)"), "semconv_nearest: argument 1 (key) must be TEXT or NULL, got INTEGER")

    def test_tables_and_functions_work_in_untrusted_schemas(self):
        """Innocuous: a view of the file may use them with trusted_schema = OFF
        (drain_clusters, which reads models, may not)."""
        db = connect()
        db.execute("CREATE VIEW v AS SELECT count(*) FROM semconv_attributes a JOIN semconv_group_attributes g "
                   "ON g.attribute = a.name JOIN semconv_groups s ON s.id = g.group_id "
                   "WHERE semconv_attribute(a.name) = a.name AND semconv_nearest(a.name) IS NOT NULL")
        db.execute("CREATE VIEW m AS SELECT count(*) FROM semconv_metrics")
        db.execute("CREATE VIEW d AS SELECT count(*) FROM drain_clusters")
        db.execute("PRAGMA trusted_schema = OFF")
        self.assertGreater(db.execute("SELECT * FROM v").fetchone()[0], 1000)
        self.assertEqual(db.execute("SELECT * FROM m").fetchone()[0], 541)
        self.assertIn("unsafe use of virtual table", err(db, "SELECT * FROM d"))

    def test_the_release_is_named_everywhere(self):
        with open(DATA, encoding="utf-8") as f:
            data = json.load(f)
        self.assertEqual((data["semconv_version"], data["schema_url"]), (VERSION, f"https://opentelemetry.io/schemas/{VERSION}"))
        self.assertIn(f"Semantic conventions: v{VERSION} (https://opentelemetry.io/schemas/{VERSION})",
                      self.q("SELECT otelcat_debug()")[0][0])
        # Every row of every table names it.
        for table in ("semconv_attributes", "semconv_metrics", "semconv_groups", "semconv_group_attributes"):
            rows_, other = self.q(f"SELECT count(*), count(*) FILTER (WHERE semconv_version IS NOT ?) FROM {table}", (VERSION,))[0]
            self.assertGreater(rows_, 500, table)
            self.assertEqual(other, 0, table)
        for doc in ("docs/catalog.md", "docs/functions.md", "NOTICE", "CHANGELOG.md"):
            self.assertIn(f"v{VERSION}", read(doc), doc)


# ---------------------------------------------------------------------------
# The generator

class TestGenerator(unittest.TestCase):
    def test_committed_data_is_a_fresh_run_of_the_generator(self):
        if not os.path.isdir(os.path.join(MODEL, "model")):
            self.skipTest(f"{MODEL} is not present: the semantic-conventions model files (../shared) are needed "
                          "to regenerate src/semconv/data.json")
        try:
            import yaml  # noqa: F401
        except ImportError:
            self.fail(f"{sys.executable} has no PyYAML (examples/datasette/requirements.txt pins it): make venv")
        tmp = tempfile.mkdtemp(prefix="otelcat-semconv-gen-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        out = os.path.join(tmp, "data.json")
        r = subprocess.run([sys.executable, GEN, MODEL, "--out", out], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as a, open(DATA, "rb") as b:
            self.assertEqual(hashlib.sha256(a.read()).hexdigest(), hashlib.sha256(b.read()).hexdigest(),
                             "src/semconv/data.json is not what tools/semconv_gen.py makes of the model files: regenerate it")
        r = subprocess.run([sys.executable, GEN, MODEL, "--check"], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def write_model(self, files):
        tmp = tempfile.mkdtemp(prefix="otelcat-semconv-model-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        files = {"model/manifest.yaml": "schema_url: https://opentelemetry.io/schemas/9.9.9\n", **files}
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(tmp, path)), exist_ok=True)
            with open(os.path.join(tmp, path), "w") as f:
                f.write(textwrap.dedent(text))
        return tmp

    def generate(self, files, code=0):
        model = self.write_model(files)
        out = os.path.join(model, "out.json")
        r = subprocess.run([sys.executable, GEN, model, "--out", out], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        if code:
            return r.stderr
        with open(out) as f:
            data = json.load(f)
        cols = data["columns"]
        table = lambda name: [dict(zip(cols[name], r)) for r in data[name]]
        return data, table("attributes"), table("groups"), table("group_attributes")

    def test_generator_resolves_both_formats(self):
        try:
            import yaml  # noqa: F401
        except ImportError:
            self.fail(f"{sys.executable} has no PyYAML (examples/datasette/requirements.txt pins it): make venv")
        data, attrs, groups, gattrs = self.generate({
            "model/a/registry.yaml": """\
                groups:
                  - id: registry.a
                    type: attribute_group
                    brief: A.
                    attributes:
                      - id: a.code
                        type: {members: [{id: ok, value: 0, stability: stable}, {id: bad, value: 1, stability: stable}]}
                        stability: stable
                        brief: "  The   code. "
                      - id: a.header
                        type: template[string[]]
                        stability: stable
                        brief: Headers.
                      - id: a.old
                        type: string
                        stability: development
                        brief: Old.
                        deprecated: {reason: renamed, renamed_to: a.code}
            """,
            "model/a/spans.yaml": """\
                groups:
                  - id: attributes.a.common
                    type: attribute_group
                    brief: Common.
                    attributes:
                      - ref: a.code
                        requirement_level: required
                      - ref: b.port
                        requirement_level: {conditionally_required: If any.}
                  - id: span.a.server
                    type: span
                    extends: attributes.a.common
                    span_kind: server
                    stability: stable
                    brief: A server.
                    attributes:
                      - ref: b.port
                        requirement_level: opt_in
                      - ref: a.header
                  - id: metric.a.duration
                    type: metric
                    metric_name: a.duration
                    instrument: histogram
                    unit: s
                    stability: stable
                    brief: Duration.
                    deprecated: {reason: renamed, renamed_to: a.time}
                    extends: attributes.a.common
            """,
            "model/b/registry.yaml": """\
                file_format: definition/2
                attributes:
                  - key: b.port
                    type: int
                    stability: stable
                    brief: Port.
                attribute_groups:
                  - id: b.attrs
                    visibility: internal
                    attributes:
                      - ref: b.port
                        requirement_level: required
                spans:
                  - type: b.send.producer
                    kind: producer
                    stability: development
                    brief: Sends.
                    name: {note: how to name it}
                    attributes:
                      - ref_group: b.attrs
                      - ref: a.code
                span_refinements:
                  - id: span.b.kafka.send.producer
                    ref: b.send.producer
                    stability: development
                    brief: Kafka sends.
                    attributes:
                      - ref: a.header
                        requirement_level: opt_in
                metrics:
                  - name: b.sent
                    instrument: counter
                    unit: "{message}"
                    stability: development
                    brief: Sent.
                    attributes:
                      - ref_group: b.attrs
                metric_refinements:
                  - id: metric.b.kafka.sent
                    ref: b.sent
                    attributes:
                      - ref: a.code
            """,
        })
        self.assertEqual(data["semconv_version"], "9.9.9")
        by = {a["name"]: a for a in attrs}
        self.assertEqual([a["name"] for a in attrs], ["a.code", "a.header", "a.old", "b.port"])
        self.assertEqual((by["a.code"]["type"], by["a.code"]["enum_members"], by["a.code"]["brief"]), ("int", [0, 1], "The code."))
        self.assertEqual((by["a.header"]["type"], by["a.header"]["template"]), ("string[]", 1))
        self.assertEqual((by["a.old"]["deprecated_reason"], by["a.old"]["replacement"]), ("renamed", "a.code"))
        g = {x["id"]: x for x in groups}
        self.assertEqual(sorted(g), ["metric.a.duration", "metric.b.kafka.sent", "metric.b.sent", "span.a.server",
                                     "span.b.kafka.send.producer", "span.b.send.producer"])
        self.assertEqual((g["metric.a.duration"]["name"], g["metric.a.duration"]["replacement"]), ("a.duration", "a.time"))
        self.assertEqual((g["span.b.send.producer"]["span_kind"], g["span.b.send.producer"]["name"]), ("producer", None))
        self.assertEqual((g["span.b.kafka.send.producer"]["refines"], g["span.b.kafka.send.producer"]["span_kind"]),
                         ("span.b.send.producer", "producer"))
        self.assertEqual((g["metric.b.kafka.sent"]["name"], g["metric.b.kafka.sent"]["unit"]), ("b.sent", "{message}"))
        level = {(x["group_id"], x["attribute"]): (x["requirement_level"], x["condition"]) for x in gattrs}
        self.assertEqual(level[("span.a.server", "a.code")], ("required", None))             # inherited
        self.assertEqual(level[("span.a.server", "b.port")], ("opt_in", None))                 # overridden
        self.assertEqual(level[("span.a.server", "a.header")], ("recommended", None))          # default
        self.assertEqual(level[("metric.a.duration", "b.port")], ("conditionally_required", "If any."))
        self.assertEqual(level[("span.b.send.producer", "b.port")], ("required", None))        # ref_group
        self.assertEqual(level[("span.b.kafka.send.producer", "b.port")], ("required", None))  # refined
        self.assertEqual(level[("span.b.kafka.send.producer", "a.header")], ("opt_in", None))
        self.assertEqual(level[("metric.b.kafka.sent", "a.code")], ("recommended", None))
        self.assertEqual(level[("metric.b.kafka.sent", "b.port")], ("required", None))

    def test_generator_refuses_what_it_does_not_know(self):
        try:
            import yaml  # noqa: F401
        except ImportError:
            self.fail(f"{sys.executable} has no PyYAML (examples/datasette/requirements.txt pins it): make venv")
        e = self.generate({"model/x.yaml": "file_format: definition/2\nevents:\n  - name: e\n"}, code=1)
        self.assertIn("unknown definition/2 sections ['events']", e)
        e = self.generate({"model/x.yaml": "groups:\n  - {id: s, type: span, brief: b, attributes: [{ref: nope}]}\n"}, code=1)
        self.assertIn("group s refers to unknown attribute nope", e)
        e = self.generate({"model/x.yaml": "groups:\n  - {id: s, type: span, brief: b, extends: t}\n"
                                           "  - {id: t, type: attribute_group, brief: b, extends: s}\n"}, code=1)
        self.assertIn("extends cycle", e)


# ---------------------------------------------------------------------------
# The views, on hand-written catalogs

class TestDeprecatedKeys(unittest.TestCase):
    def test_semconv_deprecated_keys(self):
        c = (Catalog()
             .span("GET /a", services=("web", "api"), attrs=["http.method", "http.request.method", "http.methods", "custom.key"],
                   resource=["k8s.pod.labels.app", "k8s.pod.label.app"], events={"exception": ["exception.escaped"]})
             .metric("db.pool", type="Sum", labels=["state", "db.client.connection.state"], services=("db",))
             .log("WARN", services=("api",), attrs=["enduser.role"]))
        got = c.q("SELECT key_name, replacement, reason, signal, entity, key_scope, event_name, key_count, services "
                  "FROM semconv_deprecated_keys ORDER BY key_name, signal, entity")
        self.assertEqual(got, [
            ("enduser.role", None, "uncategorized", "logs", "WARN", "attribute", "", 10, "api"),
            ("exception.escaped", None, "obsoleted", "spans", "GET /a", "event", "exception", 10, "api, web"),
            ("http.method", "http.request.method", "renamed", "spans", "GET /a", "attribute", "", 10, "api, web"),
            ("k8s.pod.labels.app", "k8s.pod.label", "renamed", "spans", "GET /a", "resource", "", 10, "api, web"),
            ("state", "db.client.connection.state", "renamed", "metrics", "db.pool", "label", "", 10, "db"),
        ])
        self.assertIsNotNone(c.q("SELECT note FROM semconv_deprecated_keys WHERE key_name = 'enduser.role'")[0][0])

    def test_no_deprecated_key_no_row(self):
        c = Catalog().span("GET /a", attrs=["http.request.method", "url.full", "my.key"]).metric("m", labels=["http.route"])
        self.assertEqual(c.q("SELECT * FROM semconv_deprecated_keys"), [])

    def test_index_use(self):
        c = Catalog()
        plan = " | ".join(r[3] for r in c.q("EXPLAIN QUERY PLAN SELECT * FROM semconv_deprecated_keys"))
        for table in ("metric_keys", "span_keys", "log_keys"):
            self.assertRegex(plan, rf"SEARCH \w+ USING INDEX idx_{table}_key \(key_name>\? AND key_name<\?\)")


class TestTypeMismatches(unittest.TestCase):
    def test_semconv_type_mismatches(self):
        c = (Catalog()
             .span("GET /a", services=("web",), attrs=[
                 ("http.response.status_code", ["200", "200 OK", "-1"]),      # int: "200 OK" cannot be one
                 ("server.port", ["80", "1.5"]),                                # int: 1.5 is a double
                 ("http.request.method", ["GET", "get", "_OTHER"]),             # enum: get is no member
                 ("http.request.header.accept", ["text/html", '["a","b"]']),    # string[]: a scalar
                 ("url.full", ["12", "true", "https://x"]),                     # a string: anything goes
                 ("error.type", ["timeout"]),                                   # _OTHER-only enum: left out
             ])
             .metric("m", labels=[("rpc.grpc.status_code", ["0", "17", "UNAVAILABLE"]),  # int enum
                                  ("messaging.batch.message_count", ["3", "2e1"]),
                                  ("network.peer.port", ["-8", "0"])])
             .log("INFO", attrs=[("exception.escaped", ["yes", "true"]),               # boolean
                                 ("db.query.parameter.x", ["a"]),                       # template of strings
                                 ("otel.scope.attributes.x", [{"a": 1}])]))
        got = c.q("SELECT key_name, problem, expected_type, observed_types, samples, signal, entity, key_scope, key_count, services "
                  "FROM semconv_type_mismatches ORDER BY key_name, problem")
        self.assertEqual(got, [
            ("exception.escaped", "type", "boolean", "string", '["yes"]', "logs", "INFO", "attribute", 10, "svc"),
            ("http.request.header.accept", "type", "string[]", "string", '["text/html"]', "spans", "GET /a", "attribute", 10, "web"),
            ("http.request.method", "not in enum", "string", None, '["get"]', "spans", "GET /a", "attribute", 10, "web"),
            ("http.response.status_code", "type", "int", "string", '["200 OK"]', "spans", "GET /a", "attribute", 10, "web"),
            ("messaging.batch.message_count", "type", "int", "double", '["2e1"]', "metrics", "m", "label", 10, "svc"),
            ("rpc.grpc.status_code", "not in enum", "int", None, '["17"]', "metrics", "m", "label", 10, "svc"),
            ("rpc.grpc.status_code", "type", "int", "string", '["UNAVAILABLE"]', "metrics", "m", "label", 10, "svc"),
            ("server.port", "type", "int", "double", '["1.5"]', "spans", "GET /a", "attribute", 10, "web"),
        ])

    def test_values_that_fit_give_no_row(self):
        c = (Catalog()
             .span("GET /a", attrs=[("http.response.status_code", ["200", "-5", "0"]), ("http.request.method", ["GET", "_OTHER"]),
                                    ("http.request.header.accept", ['["text/html"]']), ("url.full", ["1", "[1]", "true"]),
                                    ("error.type", ["java.io.IOException", "500"]), ("my.key", ["anything"])])
             .metric("m", labels=[("gen_ai.request.temperature", ["3", "0.5", "NaN", "-Infinity", "1e21"]),
                                  ("process.executable.build_id.gnu", ["ab"]), ("exception.escaped", ["true", "false"])])
             .log("INFO", attrs=[("otel.scope.attributes.x", ["anything"])]))
        self.assertEqual(c.q("SELECT * FROM semconv_type_mismatches"), [])

    def test_unreadable_samples_are_skipped(self):
        c = Catalog().span("GET /a", attrs=[("server.port", ["x"])])
        c.db.execute("UPDATE span_key_rows SET value_samples = 'not json' WHERE key_name = 'server.port'")
        self.assertEqual(c.q("SELECT * FROM semconv_type_mismatches"), [])

    def test_value_types(self):
        """Where value_types counts every record, it decides: a string where
        an int is expected (the samples "200" and "404" fit an int, the
        types do not), an int where a string is expected, mixed types
        (each other type with its records), arrays for string[] and int[],
        bool for boolean, an empty value; doubles and ints are told apart.
        samples: those that cannot be of the type when there are some (the
        types are still the counted ones: "1.5" was a string), else all."""
        c = (Catalog()
             .span("GET /a", services=("web",), attrs=[
                 ("http.response.status_code", ["200", "404"], 10, {"string": 10}),   # int sent as string
                 ("http.route", ["42"], 10, {"int": 10}),                              # string sent as int
                 ("server.port", ["80", "x"], 10, {"int": 7, "string": 3}),            # mixed; "x" cannot be an int
                 ("client.port", ["1.5"], 10, {"string": 10}),                          # a string that looks like a double
                 ("network.peer.port", ["1"], 10, {"bool": 1, "double": 2, "int": 7}),
                 ("http.request.header.accept", ["text/html"], 10, {"string": 10}),    # string[] sent as a scalar
                 ("exception.escaped", ["1"], 10, {"int": 10}),                        # boolean sent as int
                 ("url.full", [""], 10, {"empty": 2, "string": 8}),                    # pairs without a value
             ])
             .metric("m", labels=[("gen_ai.request.temperature", ["3", "0.5"], 10, {"double": 6, "int": 4}),  # double sent as int
                                  ("pprof.scope.sample_type_order", ["1"], 10, {"int": 10})])            # int[] sent as a scalar
             .log("INFO", attrs=[("db.query.parameter.x", ["1"], 10, {"int": 10})]))              # a template of strings
        got = c.q("SELECT key_name, problem, expected_type, observed_types, type_counts, samples, judged_from, signal, entity, "
                  "key_count, services FROM semconv_type_mismatches ORDER BY key_name, problem")
        self.assertEqual(got, [
            ("client.port", "type", "int", "string", '{"string":10}', '["1.5"]', "value_types", "spans", "GET /a", 10, "web"),
            ("db.query.parameter.x", "type", "string", "int", '{"int":10}', '["1"]', "value_types", "logs", "INFO", 10, "svc"),
            ("exception.escaped", "type", "boolean", "int", '{"int":10}', '["1"]', "value_types", "spans", "GET /a", 10, "web"),
            ("gen_ai.request.temperature", "type", "double", "int", '{"int":4}', '["3","0.5"]', "value_types", "metrics", "m", 10,
             "svc"),
            ("http.request.header.accept", "type", "string[]", "string", '{"string":10}', '["text/html"]', "value_types",
             "spans", "GET /a", 10, "web"),
            ("http.response.status_code", "type", "int", "string", '{"string":10}', '["200","404"]', "value_types",
             "spans", "GET /a", 10, "web"),
            ("http.route", "type", "string", "int", '{"int":10}', '["42"]', "value_types", "spans", "GET /a", 10, "web"),
            ("network.peer.port", "type", "int", "bool,double", '{"bool":1,"double":2}', '["1"]', "value_types",
             "spans", "GET /a", 10, "web"),
            ("pprof.scope.sample_type_order", "type", "int[]", "int", '{"int":10}', '["1"]', "value_types", "metrics", "m", 10, "svc"),
            ("server.port", "type", "int", "string", '{"string":3}', '["x"]', "value_types", "spans", "GET /a", 10, "web"),
            ("url.full", "type", "string", "empty", '{"empty":2}', '[""]', "value_types", "spans", "GET /a", 10, "web"),
        ])

    def test_value_types_of_the_convention_give_no_row(self):
        """Every record of the convention's type: no row, whatever the
        samples look like (value_types counts every record, so the samples
        are not judged)."""
        c = (Catalog()
             .span("GET /a", attrs=[("http.response.status_code", ["200 OK"], 10, {"int": 10}),
                                    ("http.route", ["/a"], 10, {"string": 10}),
                                    ("http.request.header.accept", ["text/html"], 10, {"array": 10}),
                                    ("exception.escaped", ["yes"], 10, {"bool": 10}),
                                    ("my.key", ["1"], 10, {"int": 5, "string": 5})])
             .metric("m", labels=[("gen_ai.request.temperature", ["0.5"], 10, {"double": 10}),
                                  ("pprof.scope.sample_type_order", ["[1]"], 10, {"array": 10})])
             .log("INFO", attrs=[("server.port", ["x"], 3, {"int": 3})]))
        self.assertEqual(c.q("SELECT * FROM semconv_type_mismatches"), [])

    def test_value_types_unknown_falls_back_to_samples(self):
        """{} (rows from before the upgrade to schema version 3) is unknown,
        neither fine nor wrong: the samples judge, without counts. value_types
        that count only some records (a row older than the upgrade) are
        applied, and the samples judge the rest. Unreadable value_types
        are unknown too."""
        c = (Catalog()
             .span("GET /a", attrs=[
                 ("http.response.status_code", ["200", "200 OK"], 10, {}),            # unknown: samples
                 ("server.port", ["80"], 10, {}),                                      # unknown, and the samples fit
                 ("network.peer.port", ["1", "x"], 10, {"int": 4}),                    # 4 of 10 known, all ints: samples
                 ("client.port", ["1", "x"], 10, {"int": 2, "string": 2}),             # both say string
                 ("network.local.port", ["1"], 10, {"int": 2, "string": 2}),           # only the counts say string
             ])
             .metric("m", labels=[("server.port", ["x"], 10, "not json"), ("client.port", ["y"], 10, [1]),
                                  ("network.peer.port", ["z"], 10, {"int": "3"}), ("network.local.port", ["w"], 10, {"int": -5})]))
        c.db.execute("UPDATE metric_key_rows SET value_types = 'not json' WHERE key_name = 'server.port'")
        got = c.q("SELECT key_name, signal, observed_types, type_counts, samples, judged_from FROM semconv_type_mismatches "
                  "ORDER BY key_name, signal")
        self.assertEqual(got, [
            ("client.port", "metrics", "string", None, '["y"]', "samples"),
            ("client.port", "spans", "string", '{"string":2}', '["x"]', "value_types, samples"),
            ("http.response.status_code", "spans", "string", None, '["200 OK"]', "samples"),
            ("network.local.port", "metrics", "string", None, '["w"]', "samples"),
            ("network.local.port", "spans", "string", '{"string":2}', '["1"]', "value_types, samples"),
            ("network.peer.port", "metrics", "string", None, '["z"]', "samples"),
            ("network.peer.port", "spans", "string", None, '["x"]', "value_types, samples"),
            ("server.port", "metrics", "string", None, '["x"]', "samples"),
        ])

    def test_same_rows_as_the_former_sql(self):
        """Rows whose records are all of the convention's type (and no enum)
        are left out before the samples are judged: the view gives exactly
        the rows of its former SQL (tests/fixtures/, as of 5824685) on a
        catalog with every kind of key (fine, mistyped, outside an enum,
        unknown or partial value_types, unreadable samples) on several
        entities, scopes, signals and services."""
        keys = [("http.response.status_code", ["200", "200 OK"], 10, {}), ("http.response.status_code", ["200"], 10, {"int": 10}),
                ("server.port", ["80", "1.5"]), ("server.port", ["80", "x"], 10, {"int": 7, "string": 3}),
                ("http.request.method", ["GET", "get", "_OTHER"], 10, {"string": 10}), ("http.request.method", ["GET"], 10, {"string": 10}),
                ("http.request.header.accept", ["text/html"], 10, {"string": 10}),
                ("http.request.header.accept", ['["a"]'], 10, {"array": 10}),
                ("url.full", ["12", "true"], 10, {"empty": 2, "string": 8}), ("url.full", ["x"], 10, {"string": 10}),
                ("error.type", ["timeout"], 10, {"string": 10}), ("exception.escaped", ["yes", "true"], 10, {"string": 10}),
                ("exception.escaped", ["true"], 10, {"bool": 10}), ("network.peer.port", ["1", "x"], 10, {"int": 4}),
                ("client.port", ["1", "x"], 10, {"int": 2, "string": 2}), ("rpc.grpc.status_code", ["0", "17", "UNAVAILABLE"]),
                ("rpc.grpc.status_code", ["0"], 10, {"int": 10}), ("gen_ai.request.temperature", ["3", "0.5"], 10, {"double": 6, "int": 4}),
                ("gen_ai.request.temperature", ["0.5"], 10, {"double": 10}), ("db.query.parameter.x", ["1"], 10, {"int": 10}),
                ("db.query.parameter.y", ["a"], 10, {"string": 10}), ("my.key", ["1"], 10, {"int": 5, "string": 5})]
        c = Catalog()
        n = len(keys)
        for i, k in enumerate(keys):
            c.span(f"span {i}", services=("web", f"svc{i}"), attrs=[k], resource=[keys[(i + 1) % n]],
                   events={"exception": [keys[(i + 2) % n]]})
            c.metric(f"metric {i}", services=(f"svc{i}",), labels=[k], resource=[keys[(i + 3) % n]])
        first = {k[0]: k for k in reversed(keys)}
        c.log("INFO", attrs=list(first.values()))
        c.log("WARN", services=("a", "b"), attrs=[k for k in keys if first[k[0]] is not k])
        c.db.execute("UPDATE metric_key_rows SET value_types = 'not json' WHERE key_name = 'server.port'")
        c.db.execute("UPDATE span_key_rows SET value_samples = 'not json' WHERE key_name = 'client.port' AND key_scope = 'resource'")
        c.db.executescript(read("tests/fixtures/semconv_type_mismatches_former.sql"))
        new = c.q("SELECT * FROM semconv_type_mismatches")
        self.assertGreater(len(new), 30)
        self.assertEqual({r[1] for r in new}, {"type", "not in enum"})
        self.assertEqual({r[7] for r in new}, {"metrics", "spans", "logs"})
        self.assertEqual(sorted(new, key=repr), sorted(c.q("SELECT * FROM semconv_type_mismatches_former"), key=repr))

    def test_catalog_without_value_types(self):
        """A catalog of 0.1.0 or 0.2.0 has no value_types column: the view
        (as the Python tools make it, a TEMP view) judges from the samples."""
        db = connect()
        schema = read("sql/schema.sql")
        without = "\n".join(line for line in schema.split("\n") if not line.strip().startswith("value_types "))
        self.assertEqual(without.count("value_types"), 0)
        # (Its key tables are the tables metric_keys, span_keys, log_keys.)
        without = re.sub(r"\b(metric|span|log)_key_rows\b", r"\1_keys", without)
        db.executescript(without)
        sys.path.insert(0, os.path.join(ROOT, "python"))
        from otelcat._common import view_statements
        view = next(stmt for name, stmt in view_statements() if name == "semconv_type_mismatches")
        db.execute(view.replace("CREATE VIEW", "CREATE TEMP VIEW", 1))
        db.execute("INSERT INTO span_keys(span_name, key_scope, key_name, key_count, value_samples) VALUES "
                   "('GET /a', 'attribute', 'http.response.status_code', 3, '[\"200\",\"200 OK\"]'), "
                   "('GET /a', 'attribute', 'server.port', 3, '[\"80\"]'), "
                   "('GET /a', 'attribute', 'http.request.method', 3, '[\"GET\",\"get\"]')")
        self.assertEqual(db.execute("SELECT key_name, problem, observed_types, type_counts, samples, judged_from "
                                    "FROM semconv_type_mismatches ORDER BY key_name").fetchall(), [
            ("http.request.method", "not in enum", None, None, '["get"]', "samples"),
            ("http.response.status_code", "type", "string", None, '["200 OK"]', "samples"),
        ])

    def test_through_ingest(self):
        """What otlp_ingest writes: value_types counts each record's type,
        so the string "200" is a string where an int belongs (its text
        alone would pass), an int for a string attribute too; samples are
        the values whose text cannot be of the type when there are some."""
        db = connect()
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([
            span("GET /a", attrs={"http.response.status_code": 200, "server.port": 8080, "exception.escaped": True,
                                  "http.request.header.accept": ["text/html"], "url.full": "https://x"}),
            span("GET /a", attrs={"http.response.status_code": "200", "server.port": 80.5, "exception.escaped": "yes",
                                  "http.request.header.accept": "text/html", "url.full": 42}),
            span("GET /a", attrs={"http.response.status_code": "200 OK"}),
            span("GET /b", attrs={"http.response.status_code": "200", "server.port": 80}),
            span("GET /b", attrs={"http.response.status_code": 404, "server.port": 81}),
            span("GET /c", attrs={"http.response.status_code": 200, "server.port": 80, "url.full": "https://x"}),
        ]),))
        got = db.execute("SELECT key_name, entity, observed_types, type_counts, samples, judged_from, key_count "
                         "FROM semconv_type_mismatches WHERE problem = 'type' ORDER BY key_name, entity").fetchall()
        self.assertEqual(got, [
            ("exception.escaped", "GET /a", "string", '{"string":1}', '["yes"]', "value_types", 2),
            ("http.request.header.accept", "GET /a", "string", '{"string":1}', '["text/html"]', "value_types", 2),
            ("http.response.status_code", "GET /a", "string", '{"string":2}', '["200 OK"]', "value_types", 3),
            ("http.response.status_code", "GET /b", "string", '{"string":1}', '["200","404"]', "value_types", 2),
            ("server.port", "GET /a", "double", '{"double":1}', '["80.5"]', "value_types", 2),
            ("url.full", "GET /a", "int", '{"int":1}', '["https://x","42"]', "value_types", 2),
        ])


class TestMetricMismatches(unittest.TestCase):
    def test_semconv_metric_mismatches(self):
        c = (Catalog()
             .metric("http.server.request.duration", type="Histogram", unit="ms", services=("web", "api"))
             .metric("http.client.request.duration", type="Summary", unit="s")
             .metric("http.server.active_requests", type="Gauge", unit="")
             .metric("rpc.server.duration", type="Histogram", unit="ms")
             .metric("db.client.connections.usage", type="Sum", unit="{connection}"))
        got = c.q("SELECT * FROM semconv_metric_mismatches ORDER BY metric_name, problem")
        self.assertEqual(got, [
            ("db.client.connections.usage", "deprecated", "db.client.connections.usage", "db.client.connection.count",
             "updowncounter", "svc"),
            ("http.client.request.duration", "instrument", "Summary", "Histogram", "histogram", "svc"),
            ("http.server.active_requests", "instrument", "Gauge", "Sum", "updowncounter", "svc"),
            ("http.server.active_requests", "unit", "", "{request}", "updowncounter", "svc"),
            ("http.server.request.duration", "unit", "ms", "s", "histogram", "api, web"),
            ("rpc.server.duration", "deprecated", "rpc.server.duration", "Replaced by `rpc.server.call.duration` with unit `s`.",
             "histogram", "svc"),
        ])

    def test_metrics_that_follow_give_no_row(self):
        c = (Catalog()
             .metric("http.server.request.duration", type="ExponentialHistogram", unit="s")
             .metric("http.server.active_requests", type="Sum", unit="{request}")
             .metric("jvm.thread.count", type="Sum", unit="{thread}")
             .metric("system.cpu.utilization", type="Gauge", unit="1")
             .metric("app.orders", type="Gauge", unit="whatever"))
        self.assertEqual(c.q("SELECT * FROM semconv_metric_mismatches"), [])


class TestMetricMonotonicity(unittest.TestCase):
    """A convention counter is a monotonic Sum, an updowncounter a
    non-monotonic one (metrics.is_monotonic, metric_services.is_monotonic)."""

    def mono(self, c):
        return c.q("SELECT metric_name, observed, expected, instrument, services FROM semconv_metric_mismatches "
                   "WHERE problem = 'monotonicity' ORDER BY metric_name")

    def test_a_counter_sent_as_an_updowncounter_and_the_reverse(self):
        c = (Catalog()
             .metric("jvm.class.loaded", type="Sum", unit="{class}", monotonic=0)
             .metric("http.server.active_requests", type="Sum", unit="{request}", monotonic=1,
                     services=(("web", "Sum", 1), ("api", "Sum", 0)))
             # The metric's last Sum is right, one service's is not.
             .metric("jvm.thread.count", type="Sum", unit="{thread}", monotonic=0,
                     services=(("old", "Sum", 1), ("new", "Sum", 0), ("gone", None, None))))
        self.assertEqual(self.mono(c), [
            ("http.server.active_requests", "monotonic Sum", "non-monotonic Sum", "updowncounter", "web"),
            ("jvm.class.loaded", "non-monotonic Sum", "monotonic Sum", "counter", "svc"),
            ("jvm.thread.count", "monotonic Sum", "non-monotonic Sum", "updowncounter", "old"),
        ])
        # Nothing else is wrong with them.
        self.assertEqual(c.q("SELECT count(*) FROM semconv_metric_mismatches WHERE problem <> 'monotonicity'"), [(0,)])

    def test_right_unknown_or_not_a_sum_gives_no_monotonicity_row(self):
        c = (Catalog()
             .metric("jvm.class.loaded", type="Sum", unit="{class}", monotonic=1)
             .metric("http.server.active_requests", type="Sum", unit="{request}", monotonic=0,
                     services=(("web", "Sum", 0), ("old", None, None)))
             # Upgraded catalogs: NULL until the metric comes again.
             .metric("jvm.thread.count", type="Sum", unit="{thread}", monotonic=None)
             # A counter sent as a Gauge is an instrument mismatch, not a
             # monotonicity one (is_monotonic is 0 for non-Sums).
             .metric("dotnet.gc.collections", type="Gauge", unit="{collection}", monotonic=0,
                     services=(("a", "Gauge", 0),))
             # Conventions without a monotonicity (gauge, histogram) and a
             # metric the conventions do not define.
             .metric("system.cpu.utilization", type="Gauge", unit="1", monotonic=0)
             .metric("http.server.request.duration", type="Histogram", unit="s", monotonic=0)
             .metric("app.orders", type="Sum", unit="{order}", monotonic=0))
        self.assertEqual(self.mono(c), [])
        self.assertEqual(c.q("SELECT metric_name, problem FROM semconv_metric_mismatches"),
                         [("dotnet.gc.collections", "instrument")])

    def test_through_ingest(self):
        db = connect()

        def send(service, name, monotonic):
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (json.dumps({"resourceMetrics": [{
                "resource": {"attributes": [kv("service.name", service)]}, "scopeMetrics": [{"metrics": [{
                    "name": name, "unit": "{class}", "sum": {"aggregationTemporality": 2, "isMonotonic": monotonic,
                                                           "dataPoints": [{"asInt": "3"}]}}]}]}]}),))
        send("a", "jvm.class.loaded", True)
        self.assertEqual(rows(db, "SELECT * FROM semconv_metric_mismatches"), [])
        send("b", "jvm.class.loaded", False)
        self.assertEqual(rows(db, "SELECT * FROM semconv_metric_mismatches"),
                         [("jvm.class.loaded", "monotonicity", "non-monotonic Sum", "monotonic Sum", "counter", "b")])


class TestUnknownKeys(unittest.TestCase):
    def test_semconv_unknown_keys(self):
        c = (Catalog()
             .span("GET /a", attrs=["http.reponse.status_code", "app.widget.color", "http.request.method",
                                    "http.request.header.x-id", "userId", "user_id", "mycompany.team", ".hidden",
                                    "state"], records=4)
             .span("GET /b", attrs=["http.reponse.status_code"], records=6)
             .metric("m", labels=["http.reponse.status_code"], records=5)
             .log("INFO", attrs=[("db.sytem.name", ["x"], 3)]))
        got = c.q("SELECT key_name, namespace, nearest, signals, metrics, spans, severities, total_count FROM semconv_unknown_keys "
                  "ORDER BY key_name")
        self.assertEqual(got, [
            ("app.widget.color", "app", "[]", "spans", 0, 1, 0, 4),
            ("db.sytem.name", "db", '["db.system.name"]', "logs", 0, 0, 1, 3),
            ("http.reponse.status_code", "http",
             '["http.response.status_code","db.response.status_code","rpc.response.status_code"]', "metrics,spans", 1, 2, 0, 15),
        ])

    def test_known_keys_give_no_row(self):
        c = Catalog().span("GET /a", attrs=["http.request.method", "http.request.header.accept", "userId", "my.key", "state"])
        self.assertEqual(c.q("SELECT * FROM semconv_unknown_keys"), [])


class TestSimilarKeys(unittest.TestCase):
    def test_semconv_similar_keys(self):
        c = (Catalog()
             .span("GET /a", attrs=["user.id", "userId", "orderId", "order_id"], records=4)
             .log("INFO", attrs=["user_id", "order_id"], records=3))
        got = c.q("SELECT form, key_name, convention, convention_key, metrics, spans, severities, total_count FROM semconv_similar_keys "
                  "ORDER BY form, convention DESC, key_name")
        self.assertEqual(got, [
            ("orderid", "orderId", 0, None, 0, 1, 0, 4),
            ("orderid", "order_id", 0, None, 0, 1, 1, 7),
            ("userid", "user.id", 1, "user.id", 0, 1, 0, 4),
            ("userid", "userId", 0, "user.id", 0, 1, 0, 4),
            ("userid", "user_id", 0, "user.id", 0, 0, 1, 3),
        ])

    def test_one_spelling_gives_no_row(self):
        c = Catalog().span("GET /a", attrs=["user.id", "orderId", "http.request.method"]).log("INFO", attrs=["user.id"])
        self.assertEqual(c.q("SELECT * FROM semconv_similar_keys"), [])


class TestCoverage(unittest.TestCase):
    def test_semconv_coverage(self):
        c = (Catalog()
             .span("GET /a", services=("web",), attrs=["http.request.method", "url.full", "http.method", "my.key"],
                   resource=["service.name"])
             .span("GET /b", services=("web", "api"), attrs=["http.request.method", "k8s.pod.labels.app"])
             .metric("m", services=("api",), labels=["custom", "http.route"])
             .log("INFO", services=("web",), attrs=["userId"]))
        got = c.q("SELECT * FROM semconv_coverage ORDER BY service_name, signal")
        self.assertEqual(got, [
            ("api", "metrics", 2, 1, 0, 1, 50.0),
            ("api", "spans", 2, 1, 1, 0, 50.0),
            ("web", "logs", 1, 0, 0, 1, 0.0),
            ("web", "spans", 6, 3, 2, 1, 50.0),
        ])

    def test_empty_catalog(self):
        self.assertEqual(Catalog().q("SELECT * FROM semconv_coverage"), [])


class TestMissingAttributes(unittest.TestCase):
    def test_semconv_missing_attributes(self):
        c = (Catalog()
             # An HTTP server span of the old conventions.
             .span("GET /old", kind="Server", services=("legacy",), attrs=["http.method", "http.scheme", "http.target", "http.route"],
                   events={"exception": ["exception.type"]})
             # An HTTP client span lacking url.full.
             .span("GET", kind="Client", attrs=["http.request.method", "server.address", "server.port",
                                                "network.peer.address", "network.protocol.version"])
             # A metric without its required labels.
             .metric("http.server.request.duration", labels=["http.route"], services=("web",)))
        got = c.q("SELECT signal, entity, convention, event_name, attribute, requirement_level, sent_as, records, services "
                  "FROM semconv_missing_attributes ORDER BY signal, entity, convention, requirement_level DESC, attribute")
        self.assertEqual(got, [
            ("metrics", "http.server.request.duration", "metric.http.server.request.duration", "", "http.request.method",
             "required", None, 10, "web"),
            ("metrics", "http.server.request.duration", "metric.http.server.request.duration", "", "url.scheme",
             "required", None, 10, "web"),
            ("metrics", "http.server.request.duration", "metric.http.server.request.duration", "", "network.protocol.version",
             "recommended", None, 10, "web"),
            ("spans", "GET", "span.http.client", "", "url.full", "required", None, 10, "svc"),
            ("spans", "GET /old", "event.exception", "exception", "exception.stacktrace", "recommended", None, 10, "legacy"),
            ("spans", "GET /old", "span.http.server", "", "http.request.method", "required", "http.method", 10, "legacy"),
            ("spans", "GET /old", "span.http.server", "", "url.path", "required", None, 10, "legacy"),
            ("spans", "GET /old", "span.http.server", "", "url.scheme", "required", "http.scheme", 10, "legacy"),
            ("spans", "GET /old", "span.http.server", "", "client.address", "recommended", None, 10, "legacy"),
            ("spans", "GET /old", "span.http.server", "", "network.peer.address", "recommended", None, 10, "legacy"),
            ("spans", "GET /old", "span.http.server", "", "network.protocol.version", "recommended", None, 10, "legacy"),
            ("spans", "GET /old", "span.http.server", "", "server.address", "recommended", None, 10, "legacy"),
            ("spans", "GET /old", "span.http.server", "", "user_agent.original", "recommended", None, 10, "legacy"),
        ])

    def test_filtered_on_requirement_level_each_entity_is_read_once(self):
        """Filtered on requirement_level (cookbook 32, the dashboard), SQLite
        made the attributes asked for the outer loop and read every matched
        entity once per attribute after ANALYZE (5.8 s at 100 000 span names,
        issue 16): the entities stay the outer loop, the attributes are
        looked up by definition."""
        c = Catalog()
        for i in range(2000):
            c.span(f"GET /a/{i}", attrs=["http.method", "url.path"])
        c.db.execute("ANALYZE")
        plan = [r[3] for r in c.db.execute("EXPLAIN QUERY PLAN SELECT * FROM semconv_missing_attributes "
                                          "WHERE requirement_level = 'required'") if r[1] == 0]
        self.assertIn("SCAN m", plan)
        self.assertNotIn("SCAN a", plan)
        self.assertTrue(any(p.startswith("SEARCH a USING AUTOMATIC") for p in plan), plan)
        self.assertEqual(len(c.q("SELECT * FROM semconv_missing_attributes WHERE requirement_level = 'required'")), 2000 * 2)

    def test_complete_or_unmatched_entities_give_no_row(self):
        full = ["http.request.method", "url.path", "url.scheme", "client.address", "network.peer.address",
                "network.protocol.version", "server.address", "user_agent.original"]
        c = (Catalog()
             .span("GET /ok", kind="Server", attrs=full, events={"exception": ["exception.stacktrace"]})
             # Present on some records only: one span name can gather different operations.
             .span("GET /mixed", kind="Server", attrs=[(k, ["x"], 4) for k in full])
             # Not matched: no http.* key, or not a server.
             .span("GET /plain", kind="Server", attrs=["my.key"])
             .span("render", kind="Internal", attrs=["http.request.method"])
             .span("job", kind="Unspecified", attrs=["http.request.method"])
             # A deprecated metric is not checked; an unknown one neither.
             .metric("rpc.server.duration")
             .metric("app.requests", labels=["user.id"])
             .metric("http.server.active_requests", type="Sum", unit="{request}", labels=["http.request.method", "url.scheme"]))
        self.assertEqual(c.q("SELECT * FROM semconv_missing_attributes"), [])

    def test_other_conventions(self):
        c = (Catalog()
             .span("SELECT db", kind="Client", attrs=["db.system", "db.statement"])
             .span("Svc/M", kind="Server", attrs=["rpc.system.name", "rpc.method"])
             .span("orders send", kind="Producer", attrs=["messaging.system"]))
        got = c.q("SELECT entity, convention, attribute, sent_as FROM semconv_missing_attributes WHERE requirement_level = 'required' "
                  "ORDER BY entity")
        self.assertEqual(got, [("SELECT db", "span.db.client", "db.system.name", "db.system"),
                               ("orders send", "span.messaging.send.producer", "messaging.operation.name", None)])


# The dashboard's convention_violations as it was (examples/datasette/metadata.yml
# before 2026-12-08): every row of the three views, sorted, then 1 000.
FORMER_CONVENTION_VIOLATIONS = """
SELECT * FROM (
  SELECT 'deprecated key' AS problem, key_name AS key, coalesce('use ' || replacement, reason) AS detail,
         signal, entity, key_scope AS scope, key_count AS records, services
  FROM semconv_deprecated_keys
  UNION ALL
  SELECT 'type mismatch', key_name, 'expected ' || expected_type || ', got ' || observed_types || ': ' || samples,
         signal, entity, key_scope, key_count, services
  FROM semconv_type_mismatches WHERE problem = 'type'
  UNION ALL
  SELECT 'missing required attribute', attribute, convention || coalesce(' (sent as ' || sent_as || ')', ''),
         signal, entity, iif(event_name <> '', 'event ' || event_name, ''), records, services
  FROM semconv_missing_attributes WHERE requirement_level = 'required')
WHERE key GLOB coalesce(nullif(:key, ''), '*')
ORDER BY problem, key, signal, entity
LIMIT 1000"""


class TestConventionViolationsQuery(unittest.TestCase):
    """The dashboard's convention_violations reads a problem only while the
    ones before it give fewer than 1 000 rows and looks up services for the
    rows it shows (issue 16: 8.6 s at 100 000 metrics): the same rows, in the
    same order, as its former SQL, whether deprecated keys alone fill the
    1 000 rows, deprecated keys and missing attributes do, or all three
    problems are needed, with and without a key."""

    @classmethod
    def setUpClass(cls):
        import yaml
        with open(os.path.join(ROOT, "examples", "datasette", "metadata.yml"), encoding="utf-8") as f:
            cls.sql = yaml.safe_load(f)["databases"]["catalog"]["queries"]["convention_violations"]["sql"]

    @staticmethod
    def catalog(deprecated, missing, mistyped):
        """`deprecated` spans sending http.method, `missing` client spans lacking
        required attributes (3 each), `mistyped` metrics and logs with values of
        another type; services vary per entity. One span in ten also sends
        keys of a deprecated template attribute (k8s.pod.labels.*, as a
        resource key), one in seven http.status_code; one metric in four
        http.method and container.labels.team; logs of three severities
        http.method."""
        c = Catalog()
        for i in range(deprecated):
            c.span(f"GET /d/{i:05}", services=(f"s{i % 3}", f"t{i % 5}"),
                   attrs=["http.method", "http.request.method", "url.path", "url.scheme", "http.response.status_code"]
                   + (["http.status_code"] if i % 7 == 0 else []),
                   resource=[f"k8s.pod.labels.l{i % 3}", "k8s.pod.labels.app"] if i % 10 == 0 else [])
            if i % 4 == 0:
                c.metric(f"d.{i:05}", services=(f"s{i % 2}",), labels=["http.method", "container.labels.team"])
        for severity in ("DEBUG", "ERROR", "INFO") if deprecated else ():
            c.log(severity, services=("a",), attrs=["http.method", "k8s.pod.labels.app"])
        for i in range(missing):
            c.span(f"call {i:05}", kind="Client", services=(f"c{i % 4}",), attrs=[("http.request.method", ["GET"])])
        for i in range(mistyped):
            c.metric(f"m.{i:05}", services=(f"s{i % 2}", "z"), labels=[("server.port", ["80", "x"], 10, {"int": 7, "string": 3})])
        c.log("WARN", services=("a", "b"), attrs=[("http.response.status_code", ["OK"], 10, {"string": 10}), "http.method"])
        return c

    def test_same_rows_as_the_former_sql(self):
        for shape in ((1200, 10, 10), (400, 700, 10), (300, 100, 40), (0, 0, 5), (0, 0, 0)):
            c = self.catalog(*shape)
            for key in ("", "http.*", "http.method", "url.*", "server.port", "user_id"):
                with self.subTest(shape=shape, key=key):
                    got = c.q(self.sql, {"key": key})
                    want = c.q(FORMER_CONVENTION_VIOLATIONS, {"key": key})
                    self.assertEqual(got, want)
                    # and the query as it was before deprecated keys were judged per key name
                    self.assertEqual(got, c.q(read("tests/fixtures/convention_violations_former.sql"), {"key": key}))
                    if key == "" and shape[0] == 300:
                        self.assertEqual({r[0] for r in got}, {"deprecated key", "missing required attribute", "type mismatch"})
                    if key == "" and shape[0] == 1200:
                        self.assertEqual(len(got), 1000)
        c = self.catalog(300, 100, 40)
        for key in ("k8s.pod.labels.*", "*labels*", "container.labels.team", "http.status_code"):
            with self.subTest(key=key):
                got = c.q(self.sql, {"key": key})
                self.assertTrue(got)
                self.assertEqual(got, c.q(FORMER_CONVENTION_VIOLATIONS, {"key": key}))

    def test_deprecated_keys_read_per_signal_in_index_order(self):
        """The deprecated keys' rows come from idx_*_keys_key_entity in (key,
        entity) order, each signal's first 1 000 (no sort of every row), and
        the problems after them are not read when no key of the pattern can
        have one (a key no convention attribute defines)."""
        c = self.catalog(1200, 10, 10)
        plan = "\n".join(r[3] for r in c.db.execute("EXPLAIN QUERY PLAN " + self.sql, {"key": ""}))
        for index in ("idx_metric_keys_key_entity", "idx_span_keys_key_entity", "idx_log_keys_key_entity"):
            self.assertRegex(plan, rf"SEARCH \w+ USING (COVERING )?INDEX {index} \(key_name=\?\)")
        self.assertNotIn("RIGHT PART OF ORDER BY", plan)

        def steps(sql, key):
            n = [0]

            def tick():
                n[0] += 1
            c.db.set_progress_handler(tick, 100)
            try:
                rows = c.q(sql, {"key": key})
            finally:
                c.db.set_progress_handler(None, 100)
            return rows, n[0]
        # A key of no row: no problem is read (SQLite's virtual-machine steps,
        # deterministic: a tenth of the former SQL's at most, which reads
        # every row of the three views).
        got, new = steps(self.sql, "user_id")
        want, old = steps(FORMER_CONVENTION_VIOLATIONS, "user_id")
        self.assertEqual(got, want)
        self.assertLess(new * 10, old)


    def test_on_a_catalog_of_v0_1_0(self):
        """On a catalog of 0.1.0 opened read-only, its views made TEMP views
        (as the Datasette plugin does), the query gives its former SQL's rows
        (no idx_*_keys_key_entity there: SQLite sorts)."""
        tmp = tempfile.mkdtemp(prefix="otelcat-semconv-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        path = os.path.join(tmp, "old.db")
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.1.0.db"), path)
        sys.path.insert(0, os.path.join(ROOT, "python"))
        from otelcat._common import ensure_views
        ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.addCleanup(ro.close)
        ro.enable_load_extension(True)
        ro.load_extension(EXT)
        ensure_views(ro)
        for key in ("", "http.*", "http.method", "user_id"):
            with self.subTest(key=key):
                got = ro.execute(self.sql, {"key": key}).fetchall()
                self.assertEqual(got, ro.execute(FORMER_CONVENTION_VIOLATIONS, {"key": key}).fetchall())
                if key == "":
                    self.assertTrue(got)


class TestViewsOnOtherCatalogs(unittest.TestCase):
    def test_every_view_runs_on_an_empty_catalog(self):
        c = Catalog()
        for v in VIEWS:
            self.assertEqual(c.q(f"SELECT * FROM {v}"), [], v)

    def test_views_need_the_extension(self):
        """Without the extension the views fail with SQLite's own error (the file stays readable)."""
        tmp = tempfile.mkdtemp(prefix="otelcat-semconv-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        path = os.path.join(tmp, "c.db")
        connect(path).execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"http.method": "GET"})]),))
        plain = sqlite3.connect(path)
        self.assertEqual(plain.execute("SELECT key_name FROM span_keys WHERE key_scope = 'attribute'").fetchall(), [("http.method",)])
        with self.assertRaisesRegex(sqlite3.OperationalError, "no such table: main.semconv_attributes"):
            plain.execute("SELECT * FROM semconv_deprecated_keys").fetchall()
        self.assertEqual(connect(path).execute("SELECT key_name FROM semconv_deprecated_keys").fetchall(), [("http.method",)])

    def test_views_with_trusted_schema_off(self):
        """With trusted_schema = OFF nothing of otelcat stops the views: they
        run, or fail only on SQLite's own JSON functions where the host's
        SQLite does not mark them innocuous (3.40 does not)."""
        tmp = tempfile.mkdtemp(prefix="otelcat-semconv-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        path = os.path.join(tmp, "c.db")
        connect(path).execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(
            [span("GET /a", attrs={"http.method": "GET", "userId": "u", "user.id": "u", "http.reponse.status_code": 1})]),))
        db = connect(path)
        db.execute("PRAGMA trusted_schema = OFF")
        for v in VIEWS:
            with self.subTest(v):
                try:
                    db.execute(f"SELECT * FROM {v}").fetchall()
                except sqlite3.OperationalError as e:
                    self.assertRegex(str(e), r"^unsafe use of json\w*\(\)$")

    def test_catalog_of_v0_1_0(self):
        """A catalog written by v0.1.0 has none of the views: the Python tools
        add them as TEMP views of a read-only connection, leaving the file as it
        was; sql/views.sql adds them (it creates only what is missing); and its
        upgrade on the first write creates them; they run on its tables."""
        tmp = tempfile.mkdtemp(prefix="otelcat-semconv-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        path = os.path.join(tmp, "old.db")
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.1.0.db"), path)
        with open(path, "rb") as f:
            before = hashlib.sha256(f.read()).hexdigest()
        sys.path.insert(0, os.path.join(ROOT, "python"))
        from otelcat._common import ensure_views
        ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        ro.enable_load_extension(True)
        ro.load_extension(EXT)
        # template_keys reads log_template_keys (schema version 2), which a
        # catalog of 0.1.0 lacks: left out, as every view it cannot run;
        # so is instance_like_services, which reads service_totals (schema
        # version 3: an ingest upgrades the file and builds it).
        made = ensure_views(ro)
        self.assertEqual(made, list(VIEWS))
        for v in made:
            ro.execute(f"SELECT * FROM {v} LIMIT 1").fetchall()
        self.assertEqual(ensure_views(ro), [])
        counts = {v: ro.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in VIEWS}
        self.assertGreater(counts["semconv_deprecated_keys"], 0)
        self.assertGreater(counts["semconv_missing_attributes"], 0)
        # The catalog's own span_name_explosions (v0.1.0's definition) is kept.
        self.assertEqual(ro.execute("SELECT count(*) FROM temp.sqlite_master WHERE name = 'span_name_explosions'").fetchone()[0], 0)
        ro.close()
        with open(path, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), before)
        db = connect(path)
        db.executescript(read("sql/views.sql"))
        self.assertEqual({v: db.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in VIEWS}, counts)
        db.close()
        path2 = os.path.join(tmp, "old2.db")
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.1.0.db"), path2)
        db = connect(path2)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /new", attrs={"http.method": "GET"})]),))
        self.assertEqual(db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name LIKE 'semconv_%'").fetchone()[0],
                         len(VIEWS))
        self.assertIn(("http.method", "GET /new"), db.execute("SELECT key_name, entity FROM semconv_deprecated_keys").fetchall())


# ---------------------------------------------------------------------------
# otelcat check --semconv

class TestCheckCommand(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="otelcat-semconv-check-")
        cls.bad = os.path.join(cls.tmp, "bad.db")
        db = connect(cls.bad)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([
            span("GET /a", attrs={"http.method": "GET", "http.status_code": "200 OK", "url.path": "/a", "url.scheme": "http",
                                  "http.request.method": "GET", "user_id": "u", "user.id": "u", "http.methd": "GET"})],
            service="web"),))
        db.close()
        cls.good = os.path.join(cls.tmp, "good.db")
        db = connect(cls.good)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([
            span("GET /a", attrs={"http.request.method": "GET", "url.path": "/a", "url.scheme": "http",
                                  "http.response.status_code": 200})], service="web"),))
        db.close()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def otelcat(self, *args, code=0):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), OTELCAT_LOADABLE_PATH=EXT)
        r = subprocess.run([sys.executable, "-m", "otelcat", *args], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return r.stdout, r.stderr

    def test_fails_on_violations(self):
        out, _ = self.otelcat("check", "--db", self.bad, "--semconv", code=1)
        self.assertIn(f"semantic-convention violation(s) in {self.bad} (OpenTelemetry semantic conventions {VERSION})", out)
        for line in ("deprecated key  spans   GET /a  attribute  http.method", "type mismatch   spans   GET /a  attribute  http.status_code"):
            self.assertIn(line, out)
        self.assertIn("semantic-convention warnings (not failing; --format json lists them): ", out)
        self.assertIn("1 spelling of a key", out)
        self.assertIn("1 unknown key", out)

    def test_json_report(self):
        out, _ = self.otelcat("check", "--db", self.bad, "--semconv", "--format", "json", code=1)
        js = json.loads(out)
        self.assertFalse(js["ok"])
        self.assertEqual(js["offenders"], [])
        s = js["semconv"]
        self.assertEqual((s["version"], s["ok"], s["allow"]), (VERSION, False, None))
        found = {(f["problem"], f["key"]) for f in s["findings"]}
        self.assertEqual(found, {("deprecated key", "http.method"), ("deprecated key", "http.status_code"),
                                 ("type mismatch", "http.status_code")})
        f = next(f for f in s["findings"] if f["problem"] == "deprecated key" and f["key"] == "http.method")
        self.assertEqual(f, {"problem": "deprecated key", "signal": "spans", "entity": "GET /a", "scope": "attribute",
                             "key": "http.method", "detail": "use http.request.method", "services": "web"})
        f = next(f for f in s["findings"] if f["problem"] == "type mismatch")
        self.assertEqual(f["detail"], 'expected int, got string (1 of 1 records): ["200 OK"]')
        warned = {(w["problem"], w["key"]) for w in s["warnings"]}
        self.assertIn(("unknown key", "http.methd"), warned)
        self.assertIn(("spelling of userid", "user_id"), warned)
        self.assertEqual(s["warning_counts"]["unknown key"], 1)

    def test_missing_required_attribute_fails(self):
        tmp = os.path.join(self.tmp, "missing.db")
        db = connect(tmp)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"http.route": "/a"})]),))
        db.close()
        js = json.loads(self.otelcat("check", "--db", tmp, "--semconv", "--format", "json", code=1)[0])
        self.assertEqual(sorted(f["key"] for f in js["semconv"]["findings"]), ["http.request.method", "url.path", "url.scheme"])
        self.assertTrue(all(f["problem"] == "missing required attribute" for f in js["semconv"]["findings"]))

    def test_allow_list(self):
        allow = os.path.join(self.tmp, "semconv-allow.txt")
        with open(allow, "w") as f:
            f.write("# legacy service, upgrade pending\nhttp.status_code\nhttp.meth*\n")
        js = json.loads(self.otelcat("check", "--db", self.bad, "--semconv", "--semconv-allow", allow, "--format", "json")[0])
        self.assertTrue(js["ok"])
        self.assertEqual((js["semconv"]["findings"], js["semconv"]["allow"]), ([], allow))
        self.assertNotIn("http.methd", {w["key"] for w in js["semconv"]["warnings"]})
        out, _ = self.otelcat("check", "--db", self.bad, "--semconv", "--semconv-allow", allow)
        self.assertIn(f"no semantic-convention violation ({VERSION})", out)
        _, e = self.otelcat("check", "--db", self.bad, "--semconv-allow", allow, code=2)
        self.assertIn("otelcat check: --semconv-allow needs --semconv", e)
        _, e = self.otelcat("check", "--db", self.bad, "--semconv", "--semconv-allow", allow + ".nope", code=2)
        self.assertIn("no such allow-list", e)

    def test_ok_and_without_semconv(self):
        out, _ = self.otelcat("check", "--db", self.good, "--semconv")
        self.assertIn(f"otelcat check: ok ({self.good}: no key above cardinality 1000, no semantic-convention violation ({VERSION}))",
                      out)
        # Without --semconv nothing of it is checked (nor is the extension loaded).
        out, _ = self.otelcat("check", "--db", self.bad)
        self.assertIn("otelcat check: ok", out)
        self.assertNotIn("semconv", json.loads(self.otelcat("check", "--db", self.bad, "--format", "json")[0]))

    def test_catalog_of_v0_1_0(self):
        path = os.path.join(self.tmp, "old.db")
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.1.0.db"), path)
        js = json.loads(self.otelcat("check", "--db", path, "--semconv", "--max-cardinality", "100000000", "--format", "json",
                                     code=1)[0])
        self.assertTrue(any(f["problem"] == "deprecated key" for f in js["semconv"]["findings"]))

    def test_catalog_of_v0_2_0(self):
        """0.2.0's catalogs keep 0.2.0's semconv_type_mismatches (no
        type_counts) until they are upgraded: the check reads it as it is."""
        path = os.path.join(self.tmp, "v0.2.0.db")
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.2.0.db"), path)
        plain = sqlite3.connect(path)
        (view,) = plain.execute("SELECT sql FROM sqlite_master WHERE name = 'semconv_type_mismatches'").fetchone()
        self.assertNotIn("type_counts", view)
        plain.close()
        js = json.loads(self.otelcat("check", "--db", path, "--semconv", "--max-cardinality", "100000000", "--format", "json",
                                     code=1)[0])
        self.assertTrue(any(f["problem"] == "deprecated key" for f in js["semconv"]["findings"]))


if __name__ == "__main__":
    unittest.main()
