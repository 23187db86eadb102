"""Database files and statements from a stranger: what they can and cannot
make otelcat do (triggers and views that would write, other schemas, counts
at the 64-bit limit, damaged stored values, half-done merges)."""
import gzip
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from helpers import EXT, ROOT, connect, err
from otlp_payloads import gauge, log, logs, span, traces

MERGE = os.path.join(ROOT, "examples", "merge.sql")
CATALOG = ["metrics", "metric_services", "metric_keys", "spans", "span_services", "span_keys", "span_events",
           "logs", "log_services", "log_keys", "log_body_templates", "span_name_patterns"]
MAX = 2**63 - 1


def dump(db):
    return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in CATALOG}


def sample(service="svc"):
    """Spans, logs and metric points of one service."""
    return [traces([span("GET /a", attrs={"k": f"v{i}", "user.id": i}) for i in range(5)], service=service),
            logs([log(f"user {i} logged in", attrs={"k": i}) for i in range(5)], service=service),
            gauge("cpu", [({"core": str(i)}, 0.5) for i in range(3)], service=service)]


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otelcat-hostile-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def p(self, name):
        return os.path.join(self.dir, name)

    def catalog(self, name, payloads=None):
        db = connect(self.p(name))
        for payload in payloads if payloads is not None else sample():
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload,))
        return db

    def shell(self, db_path, *commands):
        return subprocess.run(["sqlite3", "-batch", db_path, f".load {EXT}", *commands],
                              capture_output=True, text=True, cwd=ROOT)


class TestStrangersSchema(Tmp):
    """A file's triggers and views run with the user's connection when
    trusted_schema is ON (SQLite's default): none may reach what writes."""

    WRITERS = {
        "otlp_ingest": "INSERT INTO otlp_ingest(payload) VALUES ('{\"resourceSpans\": []}')",
        "otelcat_drain_sync": "INSERT INTO otelcat_drain_sync(op) VALUES ('flush')",
        "drain_template": "SELECT drain_template('user bob logged in')",
        "drain_configure": "SELECT drain_configure('{}')",
        "drain_reset": "SELECT drain_reset('')",
    }

    def test_triggers_and_views_cannot_write(self):
        path = self.p("stranger.db")
        plain = sqlite3.connect(path)  # no extension: a file made anywhere
        for i, (name, sql) in enumerate(self.WRITERS.items()):
            plain.execute(f"CREATE TABLE innocent{i}(x)")
            plain.execute(f"CREATE TRIGGER t{i} AFTER INSERT ON innocent{i} BEGIN {sql}; END")
            if sql.startswith("SELECT"):
                plain.execute(f"CREATE VIEW v{i} AS {sql}")
        plain.commit()
        plain.close()
        db = connect(path)
        self.assertEqual(db.execute("PRAGMA trusted_schema").fetchone()[0], 1)
        for i, (name, sql) in enumerate(self.WRITERS.items()):
            with self.subTest(name=name):
                e = err(db, f"INSERT INTO innocent{i} VALUES (1)")
                self.assertIn("unsafe use of", e)
                self.assertIn(name, e)
                if sql.startswith("SELECT"):
                    self.assertIn(name, err(db, f"SELECT * FROM v{i}"))
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_schema")}
        self.assertFalse(names & {"spans", "otelcat_drain_clusters", "otelcat_meta"}, names)
        self.assertEqual(db.execute("SELECT count(*) FROM innocent0").fetchone()[0], 0)
        # Top-level SQL still works on that file.
        db.execute(f"INSERT INTO otlp_ingest(payload) VALUES (?)", (sample()[0],))
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans").fetchone()[0], 5)


class TestOtherSchemas(Tmp):
    def test_insert_into_an_attached_database_is_refused(self):
        db = connect(self.p("main.db"))
        db.execute("ATTACH ? AS aux", (self.p("aux.db"),))
        for target in ("aux.otlp_ingest", '"aux"."otlp_ingest"', "[aux] . otlp_ingest", "temp.otlp_ingest"):
            with self.subTest(target=target):
                e = err(db, f"INSERT INTO {target}(payload) VALUES (?)", (sample()[0],))
                self.assertIn("otlp_ingest: writes the catalog of the main database only", e)
        for schema in ("main", "aux"):
            self.assertEqual(db.execute(f"SELECT count(*) FROM {schema}.sqlite_schema WHERE name = 'spans'").fetchone()[0], 0)
        db.execute("INSERT INTO main.otlp_ingest(payload) VALUES (?)", (sample()[0],))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (sample()[0],))
        self.assertEqual(db.execute("SELECT total_sample_count FROM main.spans").fetchone()[0], 10)


class TestCountLimits(Tmp):
    def test_ingest_past_the_limit_fails_naming_table_and_key(self):
        db = self.catalog("c.db")
        cases = [
            ("UPDATE span_key_rows SET key_count = ? WHERE key_name = 'user.id'", "span_key_rows row ('GET /a', 'attribute', 'user.id', '')"),
            ("UPDATE spans SET total_sample_count = ?", "spans row ('GET /a')"),
            ("UPDATE log_services SET sample_count = ?", "log_services row ('INFO', 'svc')"),
            ("UPDATE metric_key_rows SET key_count = ? WHERE key_name = 'core'", "metric_key_rows row ('cpu', 'label', 'core')"),
            ("UPDATE log_body_template_rows SET count = ?", "log_body_template_rows row ('INFO', 'svc', "),
        ]
        for update, where in cases:
            with self.subTest(where=where):
                db.execute(update, (MAX - 2,))
                before = dump(db)
                db.execute("BEGIN")
                for payload in sample():
                    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload,))
                e = err(db, "COMMIT")
                self.assertFalse(db.in_transaction)
                self.assertIn("otlp_ingest:", e)
                self.assertIn("count overflow", e)
                self.assertIn(where, e)
                self.assertEqual(dump(db), before)
                self.assertEqual(db.execute("SELECT count(*) FROM span_keys WHERE typeof(key_count) <> 'integer'").fetchone()[0], 0)
                db.execute(update, (5,))

    def test_otelcat_add(self):
        db = connect()
        self.assertEqual(db.execute("SELECT otelcat_add(?, 2)", (MAX - 2,)).fetchone()[0], MAX)
        self.assertEqual(db.execute("SELECT otelcat_add(NULL, 2), otelcat_add(1, NULL)").fetchone(), (None, None))
        self.assertEqual(db.execute("SELECT otelcat_add(-5, 2)").fetchone()[0], -3)
        self.assertIn("otelcat_add: count overflow in t (a / 1): 9223372036854775807 + 1",
                      err(db, "SELECT otelcat_add(?, 1, 't', 'a', 1)", (MAX,)))
        self.assertIn("otelcat_add: count overflow", err(db, "SELECT otelcat_add(?, -2)", (-MAX,)))
        self.assertIn("otelcat_add: count in t (k) is REAL '1.5', not an integer",
                      err(db, "SELECT otelcat_add(1.5, 1, 't', 'k')"))
        self.assertIn("is TEXT", err(db, "SELECT otelcat_add(1, 'x')"))
        self.assertIn("needs two counts", err(db, "SELECT otelcat_add(1)"))

    def test_json_counts_merge(self):
        db = connect()
        q = lambda sql, *p: db.execute(sql, p).fetchone()[0]
        self.assertEqual(q("""SELECT json_counts_merge('{"string":7,"int":3}', '{"int":2,"bool":1}')"""),
                         '{"bool":1,"int":5,"string":7}')
        # Merging in either order gives the same text; zero counts go; NULL is nothing.
        self.assertEqual(q("""SELECT json_counts_merge('{"int":2,"bool":0}', '{"string":7,"int":3}')"""), '{"int":5,"string":7}')
        self.assertEqual(q("""SELECT json_counts_merge(NULL, '{"int":1}')"""), '{"int":1}')
        self.assertEqual(q("""SELECT json_counts_merge('{}', NULL)"""), "{}")
        self.assertIsNone(q("SELECT json_counts_merge(NULL, NULL)"))
        self.assertEqual(q("SELECT json_counts_merge(?, '{\"int\":2}')", f'{{"int":{MAX - 2}}}'), f'{{"int":{MAX}}}')
        self.assertIn("json_counts_merge: count overflow in t (a / 1): 9223372036854775807 + 1",
                      err(db, "SELECT json_counts_merge(?, '{\"int\":1}', 't', 'a', 1)", (f'{{"int":{MAX}}}',)))
        for bad, why in (("[1]", "invalid type"), ('{"int":-1}', '"int" is -1, not a count'),
                         ('{"int":1.5}', '"int" is 1.5, not a count'), ('{"int":"1"}', 'not a count'), ("{", "EOF")):
            with self.subTest(bad):
                e = err(db, "SELECT json_counts_merge('{}', ?, 't', 'k')", (bad,))
                self.assertIn("json_counts_merge: argument 2 is not a JSON object of counts (", e)
                self.assertIn(why, e)
                self.assertIn("in t (k)", e)
        self.assertIn("argument 1 is BLOB", err(db, "SELECT json_counts_merge(x'00', '{}')"))
        self.assertIn("needs two objects", err(db, "SELECT json_counts_merge('{}')"))


class TestMerge(Tmp):
    def merge(self, into, other):
        return self.shell(into, f"ATTACH '{other}' AS other", f".read {MERGE}")

    def test_a_failing_merge_changes_nothing_and_exits_non_zero(self):
        a = self.catalog("a.db")
        b = self.catalog("b.db", sample("other"))
        a.close()
        # Every kind of damage the other file may hold; each stops the merge
        # at a different statement, after earlier tables were merged.
        damages = [
            ("UPDATE span_key_rows SET key_count = ? WHERE key_name = 'k'", (MAX,), "otelcat_add"),
            ("UPDATE log_key_rows SET hll_sketch = x'0102030405' WHERE key_name = 'k'", (), "hll_merge"),
            ("UPDATE log_key_rows SET value_samples = '{\"not\": \"an array\"}'", (), "json_samples_merge"),
            ("UPDATE log_body_template_rows SET count = 1.5", (), "otelcat_add"),
        ]
        # The same service on both sides, so that rows conflict and merge.
        b.execute("UPDATE span_services SET service_name = 'svc'")
        b.commit()
        a = connect(self.p("a.db"))
        before = dump(a)
        a.close()
        for update, params, func in damages:
            with self.subTest(damage=update):
                shutil.copy(self.p("b.db"), self.p("bad.db"))
                bad = sqlite3.connect(self.p("bad.db"))
                bad.execute(update, params)
                bad.commit()
                bad.close()
                r = self.merge(self.p("a.db"), self.p("bad.db"))
                self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn(func, r.stderr)
                a = connect(self.p("a.db"))
                self.assertEqual(dump(a), before)
                a.close()
        r = self.merge(self.p("a.db"), self.p("b.db"))
        self.assertEqual(r.returncode, 0, r.stderr)
        a = connect(self.p("a.db"))
        self.assertEqual(a.execute("SELECT sum(sample_count) FROM span_services").fetchone()[0], 10)

    def test_merged_counts_past_the_limit_fail(self):
        a = self.catalog("a.db")
        b = self.catalog("b.db")
        b.execute("UPDATE spans SET total_sample_count = ?", (MAX - 1,))
        a.close()
        b.close()
        r = self.merge(self.p("a.db"), self.p("b.db"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("otelcat_add: count overflow in spans (GET /a)", r.stderr)
        a = connect(self.p("a.db"))
        self.assertEqual(a.execute("SELECT total_sample_count, typeof(total_sample_count) FROM spans").fetchone(), (5, "integer"))


class TestErrorTexts(Tmp):
    def test_damaged_stored_sketch_names_table_and_key(self):
        db = self.catalog("c.db")
        db.execute("UPDATE span_key_rows SET hll_sketch = x'0201070c03' WHERE key_name = 'k'")
        e = err(db, "INSERT INTO otlp_ingest(payload) VALUES (?)", (sample()[0],))
        self.assertTrue(e.startswith("otlp_ingest: "), e)
        self.assertIn("span_key_rows row ('GET /a', 'attribute', 'k', '')", e)
        self.assertIn("hll_merge", e)
        self.assertIn("repair or delete that row", e)
        db.execute("UPDATE span_key_rows SET hll_sketch = NULL WHERE key_name = 'k'")
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (sample()[0],))
        db.execute("UPDATE metrics SET series_sketch = x'00'")
        e = err(db, "INSERT INTO otlp_ingest(payload) VALUES (?)", (sample()[2],))
        self.assertIn("metrics row ('cpu')", e)

    def test_double_gzip(self):
        db = connect()
        e = err(db, "INSERT INTO otlp_ingest(payload, signal) VALUES (?, 'traces')",
                (gzip.compress(gzip.compress(sample()[0].encode())),))
        self.assertTrue(e.startswith("otlp_ingest: "), e)
        self.assertIn("compressed twice", e)
        self.assertNotIn("gunzip", e)

    def test_span_pattern_errors_name_otlp_ingest(self):
        db = self.catalog("c.db")
        db.execute("INSERT INTO otelcat_meta(key, value) VALUES ('drain_default_config', '{not json')")
        e = err(db, "INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /new")], service="fresh"),))
        self.assertTrue(e.startswith("otlp_ingest: "), e)


if __name__ == "__main__":
    unittest.main()
