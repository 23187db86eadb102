"""Catalogs as files: examples/merge.sql, examples/diff.sql, examples/ci_check.sh,
snapshots with VACUUM INTO."""
import base64
import contextlib
import io
import json
import os
import shutil
import subprocess
import sqlite3
import sys
import tempfile
import unittest

from helpers import EXT, FIXTURES, ROOT, connect
from otlp_payloads import gauge, log, logs, span, traces
from test_etl import T0, Generated
from test_ingest import dump

MERGE = os.path.join(ROOT, "examples", "merge.sql")
DIFF = os.path.join(ROOT, "examples", "diff.sql")
CI = os.path.join(ROOT, "examples", "ci_check.sh")


def script(path):
    """The SQL of a script without its sqlite3-shell dot-commands (.bail on)."""
    with open(path) as f:
        return "".join(line for line in f if not line.startswith("."))


def ingest_batches(path, batches):
    db = connect(path)
    for txn in batches:
        db.execute("BEGIN")
        for p in txn:
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (p,))
        db.execute("COMMIT")
    return db


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otelcat-files-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def p(self, name):
        return os.path.join(self.dir, name)


class TestMerge(Tmp):
    def test_halves_merged_equal_the_whole(self):
        g = Generated(batches=8)
        whole = ingest_batches(self.p("whole.db"), g.payloads)
        first = ingest_batches(self.p("first.db"), g.payloads[:4])
        ingest_batches(self.p("second.db"), g.payloads[4:]).close()
        first.execute("ATTACH ? AS other", (self.p("second.db"),))
        first.executescript(script(MERGE))
        a, b = dump(first), dump(whole)
        # Every count, sample list, time and cardinality estimate is the same:
        # merged sketches hold the union's registers exactly.
        for t in ("metrics", "metric_services", "metric_keys", "spans", "span_services", "span_keys", "span_events",
                  "logs", "log_services", "log_keys", "metric_scopes", "span_scopes", "log_scopes"):
            with self.subTest(table=t):
                self.assertGreater(len(b[t]), 0)
                self.assertEqual(a[t], b[t])
        # Templates: merged by text; every (severity, service) still adds up.
        q = """SELECT s.severity, s.service_name, s.sample_count, (SELECT sum(count) FROM log_body_templates t
               WHERE t.severity = s.severity AND t.service_name = s.service_name) FROM log_services s ORDER BY 1, 2"""
        self.assertEqual(first.execute(q).fetchall(), whole.execute(q).fetchall())
        # Halves may generalise a template differently from the whole (a half
        # saw fewer distinct values); most lines still land on the same text.
        by_text = "SELECT severity, service_name, template, sum(count) FROM log_body_templates GROUP BY 1, 2, 3"
        merged, ref = set(first.execute(by_text)), set(whole.execute(by_text))
        total = sum(r[3] for r in ref)
        same = sum(r[3] for r in merged & ref)
        self.assertGreater(same / total, 0.8, (merged ^ ref))

    def test_templates_from_different_nodes(self):
        a = connect(self.p("a.db"))
        b = connect(self.p("b.db"))
        a.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log(f"user {u} logged in") for u in ("bob", "ann", "eve")]
                                                                         + [log("cache warmed")], service="auth"),))
        b.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("user bob logged in"), log("cache warmed"),
                                                                         log("cache warmed")], service="auth"),))
        b.close()
        a.execute("ATTACH ? AS other", (self.p("b.db"),))
        a.executescript(script(MERGE))
        rows = a.execute("SELECT template, count, cluster_id < 0 FROM log_body_templates ORDER BY template").fetchall()
        # Same text adds up; b's ungeneralised template stays its own row, under a
        # negative id that no later ingest touches.
        self.assertEqual(rows, [("cache warmed", 3, 0), ("user <*> logged in", 3, 0), ("user bob logged in", 1, 1)])
        self.assertEqual(a.execute("SELECT sample_count FROM log_services").fetchone()[0], 7)
        self.assertEqual(a.execute("SELECT round(sum(percentage), 6) FROM log_body_templates").fetchone()[0], 100.0)
        a.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("user kim logged in")], service="auth"),))
        self.assertEqual(a.execute("SELECT count FROM log_body_templates WHERE template = 'user bob logged in'").fetchone()[0], 1)
        self.assertEqual(a.execute("SELECT count FROM log_body_templates WHERE template = 'user <*> logged in'").fetchone()[0], 4)


    def test_a_hostile_sketch_is_refused_and_writes_nothing(self):
        """A sketch image fuzzing found (tests/fixtures/hll/hostile/) in the
        other file makes the merge fail with an error naming the function;
        this catalog keeps what it had, and later ingests of the same keys
        work. (Before the image checks, hll_reencode_min.bin merged, and every
        later ingest of its key failed: the merge had stored an image that
        nothing reads.)"""
        hostile_dir = os.path.join(ROOT, "tests", "fixtures", "hll", "hostile")
        payload = traces([span("GET /", attrs={"http.route": "/", "user": "ann"})])
        later = traces([span("GET /", attrs={"http.route": "/a", "user": "bob"})])
        for name in sorted(f for f in os.listdir(hostile_dir) if f.endswith(".bin")):
            with self.subTest(name), open(os.path.join(hostile_dir, name), "rb") as f:
                blob = f.read()
                a = ingest_batches(self.p(f"a-{name}.db"), [[payload]])
                b = ingest_batches(self.p(f"b-{name}.db"), [[payload]])
                b.execute("INSERT INTO otlp_ingest(payload) VALUES (?)",
                          (traces([span("GET /", attrs={"only.in.b": "x"})]),))
                # Both a key this catalog has (hll_merge) and one it lacks (copied, then hll_count).
                n = b.execute("UPDATE span_key_rows SET hll_sketch = ? WHERE key_name IN ('user', 'only.in.b')", (blob,)).rowcount
                self.assertEqual(n, 2)
                b.close()
                before = dump(a)
                a.execute("ATTACH ? AS other", (self.p(f"b-{name}.db"),))
                with self.assertRaises(sqlite3.Error) as e:
                    a.executescript(script(MERGE))
                self.assertRegex(str(e.exception), r"^hll_(merge|count): argument \d is not an HLL sketch \(")
                a.execute("ROLLBACK")
                a.execute("DETACH other")
                self.assertEqual(dump(a), before)
                a.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (later,))
                self.assertEqual(a.execute("SELECT estimated_cardinality FROM span_keys WHERE key_name = 'user'").fetchone()[0], 2)
                a.close()


class TestDiffAndCheck(Tmp):
    def test_diff(self):
        old = connect(self.p("old.db"))
        old.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"user.id": f"u{i % 3}", "gone": 1})
                                                                            for i in range(30)]),))
        old.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("disk full")]),))
        old.close()
        new = connect(self.p("new.db"))
        new.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"user.id": f"u{i}", "fresh": 1})
                                                                            for i in range(30)] + [span("GET /b")]),))
        new.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("started")]),))
        new.execute("ATTACH ? AS old", (self.p("old.db"),))
        rows = new.execute(script(DIFF), {"factor": 2}).fetchall()
        self.assertIn(("new spans", "spans", "GET /b", "", None, None), rows)
        self.assertIn(("new key", "spans", "GET /a", "attribute:fresh", None, 1), rows)
        self.assertIn(("vanished key", "spans", "GET /a", "attribute:gone", 1, None), rows)
        self.assertIn(("cardinality grew", "spans", "GET /a", "attribute:user.id", 3, 30), rows)
        self.assertIn(("new template", "logs", "INFO/svc", "started", None, 1), rows)
        self.assertIn(("vanished template", "logs", "INFO/svc", "disk full", 1, None), rows)
        self.assertEqual(len([r for r in new.execute(script(DIFF), {"factor": 20}) if r[0] == "cardinality grew"]), 0)

    def test_diff_of_metrics(self):
        """Metrics whose series grew past the factor, and whose type changed."""
        old = connect(self.p("old.db"))
        old.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge("q", [({"k": str(i % 2)}, 1.0) for i in range(9)]),))
        old.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge("flat", [({"k": "a"}, 1.0)]),))
        old.close()
        new = connect(self.p("new.db"))
        new.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge("q", [({"k": str(i)}, 1.0) for i in range(9)]),))
        new.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge("flat", [({"k": "a"}, 1.0)]).replace('"gauge"', '"sum"'),))
        new.execute("ATTACH ? AS old", (self.p("old.db"),))
        rows = [r for r in new.execute(script(DIFF), {"factor": 2}) if r[1] == "metrics" and r[3] == ""]
        self.assertEqual(rows, [("series grew", "metrics", "q", "", 2, 9), ("type changed", "metrics", "flat", "", "Gauge", "Sum")])

    def test_diff_new_types_and_bytes(self):
        """A key that gains a value type, or whose values grew longer than
        the factor, is listed; an older file's keys (no bytes, no types)
        compare as nothing through otelcat diff."""
        old = connect(self.p("old.db"))
        old.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"status": 200, "note": "ok"})]),))
        old.close()
        new = connect(self.p("new.db"))
        new.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"status": "200", "note": "x" * 100})]),))
        new.execute("ATTACH ? AS old", (self.p("old.db"),))
        rows = [r for r in new.execute(script(DIFF), {"factor": 2}) if r[0] in ("new type", "bytes per record grew")]
        self.assertEqual(rows, [("bytes per record grew", "spans", "GET /a", "attribute:note", 14.0, 112.0),
                                ("new type", "spans", "GET /a", "attribute:status", '{"int":1}', '{"string":1}')])
        new.close()
        sys.path.insert(0, os.path.join(ROOT, "python"))
        from otelcat import diff
        import argparse
        for older in ("v0.1.0.db", "v0.2.0.db"):
            with self.subTest(older):
                ns = argparse.Namespace(old=os.path.join(FIXTURES, "catalog", older), new=self.p("new.db"), factor=2.0, format="json")
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    self.assertEqual(diff.run(ns), 1)
                changes = json.loads(out.getvalue())["changes"]
                self.assertFalse([c for c in changes if c["change"] in ("new type", "bytes per record grew",
                                                                         "service bytes grew")])

    def test_diff_service_bytes(self):
        """A service whose records' bytes grew by more than the factor."""
        old = connect(self.p("old.db"))
        old.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a")], service="s"),))
        old.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a")], service="t"),))
        old.close()
        new = connect(self.p("new.db"))
        new.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a")] * 3, service="s"),))
        new.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a")], service="t"),))
        new.execute("ATTACH ? AS old", (self.p("old.db"),))
        one = new.execute("SELECT bytes FROM old.span_services WHERE service_name = 's'").fetchone()[0]
        rows = [r for r in new.execute(script(DIFF), {"factor": 2}) if r[0] == "service bytes grew"]
        self.assertEqual(rows, [("service bytes grew", "spans", "s", "", one, 3 * one)])

    def test_ci_check(self):
        db = connect(self.p("ci.db"))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"user.id": f"u{i}", "http.method": "GET"})
                                                                           for i in range(50)]),))
        db.close()
        run = lambda *a: subprocess.run([CI, self.p("ci.db"), *a], capture_output=True, text=True)
        r = run("--max-cardinality", "100")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run("--max-cardinality", "20")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cardinality 50 > 20", r.stdout)
        self.assertIn("user.id", r.stdout)
        allow = self.p("allow.txt")
        with open(allow, "w") as f:
            f.write("# keys we expect\nhttp.*\nservice.name\n\n")
        r = run("--allow", allow)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not in allow-list", r.stdout)
        self.assertIn("user.id", r.stdout)
        self.assertNotIn("http.method", r.stdout)
        with open(allow, "a") as f:
            f.write("user.id\n")
        self.assertEqual(run("--allow", allow).returncode, 0)
        self.assertEqual(run("--bogus").returncode, 2)
        self.assertEqual(subprocess.run([CI, self.p("missing.db")], capture_output=True).returncode, 2)
        # Usage and input errors are 2, never "offenders found" (1).
        for args in (["--max-cardinality"], ["--allow"]):
            r = run(*args)
            self.assertEqual((r.returncode, r.stderr.strip()), (2, f"ci_check: {args[0]} needs a value"))
        with open(self.p("notes.txt"), "w") as f:
            f.write("not a database " * 100)
        sqlite3.connect(self.p("other.db")).execute("CREATE TABLE t(x)")
        open(self.p("empty.db"), "wb").close()
        for name, reason in (("notes.txt", "is not an SQLite database"), ("other.db", "is not an otelcat catalog"),
                             ("empty.db", "is not an otelcat catalog")):
            r = subprocess.run([CI, self.p(name)], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, name)
            self.assertIn(reason, r.stderr)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)


class TestSnapshot(Tmp):
    def test_vacuum_into_is_a_catalog(self):
        db = connect(self.p("live.db"))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"k": f"v{i}"}) for i in range(20)]),))
        db.execute("VACUUM INTO ?", (self.p("snap.db"),))
        snap = connect(self.p("snap.db"))
        self.assertEqual(dump(snap), dump(db))
        snap.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"k": "v99"})]),))
        self.assertEqual(snap.execute("SELECT estimated_cardinality FROM span_keys WHERE key_name = 'k'").fetchone()[0], 21)


class TestExport(Tmp):
    """otelcat export: every table as JSON Lines with a manifest that says
    which columns are sketches, sample lists and templates."""

    def otelcat(self, *args, code=0):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), OTELCAT_LOADABLE_PATH=EXT)
        r = subprocess.run([sys.executable, "-m", "otelcat", *args], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return r.stdout, r.stderr

    def catalog(self):
        g = Generated(batches=2)
        # More key names than key_name_bound (1 000): a key-name pattern row too.
        # Timed among the generated records (a span without a time counts at
        # the ingest clock, months later: the history's retention would drop
        # the generated records' buckets).
        many = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "many.keys",
            "startTimeUnixNano": str(T0 * 10**9), "attributes": [
            {"key": f"item.{i}.qty", "value": {"intValue": "1"}} for i in range(1003)]}]}]}]})
        ingest_batches(self.p("c.db"), list(g.payloads) + [[many]]).close()
        return self.p("c.db")

    def test_every_row_and_value_round_trips(self):
        db_path = self.catalog()
        out, _ = self.otelcat("export", "--db", db_path, self.p("out"))
        self.assertRegex(out, r"^otelcat export: wrote 28 tables \([\d,]+ rows, 11 sketch columns\) and manifest.json to ")
        with open(self.p("out/manifest.json"), encoding="utf-8") as f:
            m = json.load(f)
        self.assertEqual((m["format"], m["format_version"], m["schema_version"]), ("otelcat-export", 1, "3"))
        self.assertEqual(sorted(m["sketches"]), ["key_history_rows.hll_sketch", "key_name_patterns.names_sketch",
                                                 "log_event_key_rows.hll_sketch", "log_keys.hll_sketch", "log_service_key_rows.hll_sketch",
                                                 "metric_keys.hll_sketch", "metric_service_key_rows.hll_sketch",
                                                 "metrics.series_sketch", "span_keys.hll_sketch",
                                                 "span_name_patterns.names_sketch", "span_service_key_rows.hll_sketch"])
        self.assertEqual(sorted(m["sample_lists"]), ["key_name_patterns.sample_names",
                                                     "log_event_key_rows.value_samples", "log_keys.value_samples",
                                                     "log_service_key_rows.value_samples",
                                                     "metric_keys.value_samples", "metric_service_key_rows.value_samples",
                                                     "span_keys.value_samples", "span_service_key_rows.value_samples"])
        self.assertEqual(sorted(m["templates"]), ["log_body_templates.template", "span_name_patterns.pattern"])
        db = sqlite3.connect(db_path)
        # log_body_templates is a view over log_body_template_rows (with
        # the percentage), exported under the view's name; so are the
        # entity key views over *_key_rows, and key_history_rows over the
        # key history's two tables.
        # The key and service totals are derived from the key and service
        # rows (docs/catalog.md "Key totals", "Service totals"): not
        # exported; a catalog written from an export builds them again
        # (otelcat_refresh_totals).
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'otelcat%' "
                                           "AND name NOT LIKE 'sqlite%' AND name NOT IN ('key_totals', 'key_name_totals', 'service_totals')")]
        views = {"log_body_template_rows": "log_body_templates", "metric_key_rows": "metric_keys",
                 "span_key_rows": "span_keys", "log_key_rows": "log_keys",
                 "key_history_keys": "key_history_rows", "key_history_buckets": "key_history_rows"}
        tables = sorted({views.get(t, t) for t in tables})
        self.assertEqual(sorted(m["tables"]), sorted(tables))
        for t, spec in m["tables"].items():
            with self.subTest(table=t):
                cols = [c["name"] for c in spec["columns"]]
                self.assertEqual(cols, [r[1] for r in db.execute(f"PRAGMA table_info({t})")])
                with open(self.p(f"out/{spec['file']}"), encoding="utf-8") as f:
                    rows = [json.loads(line) for line in f]
                self.assertEqual(len(rows), spec["rows"])
                self.assertGreater(len(rows), 0)
                back = [tuple(base64.b64decode(r[c["name"]]) if c.get("encoding") == "base64" and r[c["name"]] is not None
                              else r[c["name"]] for c in spec["columns"]) for r in rows]
                self.assertEqual(sorted(back, key=repr), sorted(db.execute(f"SELECT * FROM {t}"), key=repr))
                self.assertRegex(spec["spark_schema"], r"^`\w+` (STRING|BIGINT|DOUBLE)(, `\w+` (STRING|BIGINT|DOUBLE))*$")
        roles = {c["name"]: c for c in m["tables"]["span_keys"]["columns"]}
        self.assertEqual(roles["estimated_cardinality"], {"name": "estimated_cardinality", "type": "long", "role": "estimate",
                                                          "of": "hll_sketch"})
        self.assertEqual(roles["hll_sketch"]["encoding"], "base64")

    def test_refusals_write_nothing(self):
        db_path = self.catalog()
        os.mkdir(self.p("full"))
        open(self.p("full/x"), "w").close()
        _, err = self.otelcat("export", "--db", db_path, self.p("full"), code=2)
        self.assertIn("already exists and is not an empty directory: choose a new one", err)
        _, err = self.otelcat("export", "--db", self.p("missing.db"), self.p("o1"), code=2)
        self.assertIn("no such catalog", err)
        # A value of the wrong type (a stranger's file): the table, row and
        # column are named, and no directory is left behind.
        db = sqlite3.connect(db_path)
        db.execute("UPDATE span_key_rows SET key_count = 'many' WHERE key_name = 'user.id' AND span_name = 'GET /items' "
                   "AND key_scope = 'attribute'")
        db.commit()
        _, err = self.otelcat("export", "--db", db_path, self.p("o2"), code=2)
        self.assertIn("span_keys row (span_name='GET /items', key_scope='attribute', key_name='user.id', event_name='')", err)
        self.assertIn("column key_count holds 'many' where an integer belongs; repair or delete the row", err)
        self.assertIn("nothing was written", err)
        self.assertEqual(sorted(os.listdir(self.dir)), ["c.db", "full"])
        db.execute("UPDATE span_key_rows SET key_count = 1, hll_sketch = 'text' WHERE key_name = 'user.id' AND span_name = 'GET /items' "
                   "AND key_scope = 'attribute'")
        db.commit()
        _, err = self.otelcat("export", "--db", db_path, self.p("o3"), code=2)
        self.assertIn("column hll_sketch holds str where a sketch (BLOB) belongs", err)
        self.assertEqual(sorted(os.listdir(self.dir)), ["c.db", "full"])


if __name__ == "__main__":
    unittest.main()
