"""A catalog file from a stranger (tests/fixtures/catalog/hostile.db, made
by tools/make_hostile_catalog.py: damaged sketches, sample lists that are
not arrays, counts at the integer limit or not integers, Drain
configurations and model rows out of bounds or contradicting each other,
triggers and views calling the extension). Opening it, querying every view,
ingesting into it and merging it either works or fails with a clear error
— never an abort, a hang, or a catalog that later ingest cannot write.

Every operation runs in a child process under a timeout, so that an abort
(a signal) or a hang fails the test instead of the test run."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

from helpers import EXT, FIXTURES, ROOT
from otlp_payloads import gauge, log, logs, span, traces

HOSTILE = os.path.join(FIXTURES, "catalog", "hostile.db")
GOOD = os.path.join(FIXTURES, "catalog", "v0.1.0.db")
MERGE = os.path.join(ROOT, "examples", "merge.sql")
TIMEOUT = 120

# What a clear error looks like: it names what failed (one of otelcat's
# functions or tables), or is SQLite's own refusal that says what happened:
# an unsafe use in a schema, or a view's SQL meeting a value of the wrong
# type (sum() of counts at the 64-bit limit, a time stored as a BLOB).
NAMES = ("otlp_ingest", "hll_", "json_samples", "json_counts", "otelcat_add", "drain_", "otelcat_drain_sync", "semconv_", "topk_",
         "unsafe use of",
         "integer overflow", "JSON cannot hold BLOB values")

CHILD = textwrap.dedent("""
    import json, sqlite3, sys
    ext, path, script = sys.argv[1], sys.argv[2], json.load(sys.stdin)
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(ext)
    # Text a view builds from a stranger's bytes need not be UTF-8: read it
    # as it is (what a C host does) instead of failing in Python.
    db.text_factory = lambda b: b.decode("utf-8", "replace")
    out = []
    for sql, params in script:
        try:
            rows = db.execute(sql, params).fetchall()
            out.append(["ok", len(rows)])
        except sqlite3.Error as e:
            out.append(["error", str(e)])
            if db.in_transaction:
                db.execute("ROLLBACK")
    print(json.dumps(out))
""")


SEVERITY_NUMBERS = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}


def payloads(path=HOSTILE):
    """Payloads that reach every entity, key and template model of the
    catalog at `path` (same names, services and severities), and some new
    ones."""
    import sqlite3
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = []
    for (svc,) in db.execute("SELECT DISTINCT service_name FROM span_services WHERE typeof(service_name) = 'text' ORDER BY 1"):
        names = [r[0] for r in db.execute("SELECT span_name FROM span_services WHERE service_name = ?", (svc,))
                 if isinstance(r[0], str)]
        # (the first span with an event: per-service event counts and keys)
        out.append(traces([span(n, attrs={"user.id": f"u{i}", "k": i},
                                events=[("exception", {"exception.type": "E"})] if i == 0 else ())
                           for i, n in enumerate(names)], service=svc))
    for sev, svc in db.execute("SELECT severity, service_name FROM log_services WHERE typeof(severity) = 'text' "
                               "AND typeof(service_name) = 'text' ORDER BY 1, 2"):
        number = SEVERITY_NUMBERS.get(sev, 9)
        recs = [log(f"user {i} logged in", severity_number=number, severity_text=sev,
                    attrs={"request.id": f"r{i}"}) for i in range(3)]
        recs[0]["eventName"] = "session.start"    # (the log event tables)
        out.append(logs(recs, service=svc))
    if db.execute("SELECT 1 FROM sqlite_schema WHERE name = 'log_event_services'").fetchone():
        for name, svc in db.execute("SELECT event_name, service_name FROM log_event_services "
                                    "WHERE typeof(event_name) = 'text' AND typeof(service_name) = 'text' ORDER BY 1, 2"):
            rec = log(None, attrs={"session.id": "s1"})
            rec["eventName"] = name
            out.append(logs([rec], service=svc))
    for name, svc in db.execute("SELECT metric_name, service_name FROM metric_services WHERE typeof(metric_name) = 'text' "
                                "AND typeof(service_name) = 'text' ORDER BY 1, 2"):
        out.append(gauge(name, [({"core": str(i)}, 0.5) for i in range(2)], service=svc))
    out.append(traces([span(f"op{i}", attrs={"fresh.key": "v"}) for i in range(5)], service="newcomer"))
    # More key names than the default key_name_bound (1 000): a key-name pattern.
    out.append(traces([span("many.keys", attrs={f"item.{i}.qty": 1 for i in range(1003)})], service="newcomer"))
    return out


class CatalogChecks:
    """What every hostile catalog must survive; `self.path` is a copy of it
    and `self.source` the file the payloads are read from."""

    def run_child(self, path, script):
        """Runs (sql, params) statements in a fresh process: outcomes, or a
        test failure on an abort or a hang."""
        try:
            r = subprocess.run([sys.executable, "-c", CHILD, EXT, path], input=json.dumps(script),
                               capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(f"hung for more than {TIMEOUT} s on {script!r:.300}")
        self.assertGreaterEqual(r.returncode, 0, f"killed by signal {-r.returncode}: {r.stderr[-2000:]}")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        return json.loads(r.stdout)

    def assert_clear(self, outcome, what):
        if outcome[0] == "error":
            msg = outcome[1]
            self.assertTrue(any(n in msg for n in NAMES), f"{what}: unclear error {msg!r}")
            self.assertNotIn("panic", msg, what)
            self.assertNotIn("internal error", msg, what)

    def query_everything(self):
        """Every table and view, and the extension's readers on every
        sketch and sample column: outcomes by SQL."""
        import sqlite3
        db = sqlite3.connect(self.path)
        objects = [r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name")]
        script = [[f'SELECT * FROM "{o}"', []] for o in objects]
        script += [["SELECT * FROM drain_clusters", []], ["SELECT otelcat_debug()", []]]
        for (t,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"):
            for c in (r[1] for r in db.execute(f'PRAGMA table_info("{t}")')):
                if c in ("hll_sketch", "series_sketch", "names_sketch") or c.endswith("_hll"):
                    script.append([f'SELECT hll_count("{c}"), hll_info("{c}") FROM "{t}"', []])
                elif c == "top_sketch":
                    script.append([f'SELECT topk_counts("{c}", 10) FROM "{t}"', []])
                elif c == "value_samples":
                    script.append([f'SELECT json_samples_merge("{c}", "{c}") FROM "{t}"', []])
        db.close()
        outcomes = self.run_child(self.path, script)
        for (sql, _), outcome in zip(script, outcomes):
            self.assert_clear(outcome, sql)
        return {sql: o for (sql, _), o in zip(script, outcomes)}

    def ingest_until_repaired(self):
        """Ingests payloads reaching every row until all go in, following
        each error's advice: a damaged row is deleted (or its value reset),
        a stored configuration out of bounds is reset. Each round must
        change something; the loop must end."""
        batch = payloads(self.source)
        for _ in range(400):
            outcomes = self.run_child(self.path, [["INSERT INTO otlp_ingest(payload) VALUES (?)", [p]] for p in batch])
            errors = [o[1] for o in outcomes if o[0] == "error"]
            if not errors:
                return
            for e in errors:
                self.assert_clear(["error", e], "ingest")
            # Each payload stops at its first damaged row: repair those
            # (the same row may stop several payloads).
            done = set()
            for e in errors:
                where = e.split(": ")[:3]
                if str(where) not in done:
                    done.add(str(where))
                    self.repair(e)
        self.fail("ingest never went through after repairs: " + errors[0])

    def repair(self, msg):
        """Does what the error says to do, with plain SQL."""
        import re
        import sqlite3
        db = sqlite3.connect(self.path)
        m = re.search(r"(\w+) row \((.*?)\): ", msg)
        if m:
            table, key = m.group(1), [k.strip("'").replace("''", "'") for k in re.findall(r"'(?:[^']|'')*'", m.group(2))]
            if table == "log_body_templates":
                table = "log_body_template_rows" if db.execute(
                    "SELECT 1 FROM sqlite_schema WHERE name = 'log_body_template_rows'").fetchone() else table
            # The row's key: the table's primary key columns, in order.
            cols = [c[1] for c in sorted((c for c in db.execute(f'PRAGMA table_info("{table}")') if c[5]),
                                         key=lambda c: c[5])]
            self.assertTrue(cols, f"no table {table} for {msg!r}")
            where = " AND ".join(f"{c} = ?" for c in cols[:len(key)])
            deleted = db.execute(f"DELETE FROM {table} WHERE {where}", key[:len(cols)]).rowcount
            self.assertGreater(deleted, 0, f"the error names no row of {table}: {msg!r}")
        elif "drain_reset('" in msg or "drain partition '" in msg or "partition '" in msg:
            part = re.search(r"partition '([^']+)'", msg).group(1)
            db.execute("DELETE FROM otelcat_drain_clusters WHERE partition = ?", (part,))
            db.execute("DELETE FROM otelcat_drain_partitions WHERE partition = ?", (part,))
        elif re.search(r'DROP (VIEW|TRIGGER) "', msg):
            db.execute(re.search(r'DROP (?:VIEW|TRIGGER) "(?:[^"]|"")*"', msg).group(0))
        elif "drain_default_config" in msg:
            db.execute("DELETE FROM otelcat_meta WHERE key = 'drain_default_config'")
        else:
            self.fail(f"no advice to follow in {msg!r}")
        db.commit()
        db.close()

    def test_merging_it_into_a_good_catalog_changes_nothing(self):
        good = os.path.join(self.dir, "good.db")
        shutil.copy(GOOD, good)
        # merge.sql needs this version's schema in both files: an empty
        # ingest upgrades a catalog of an older version.
        up = subprocess.run(["sqlite3", "-batch", good, f".load {EXT}",
                             """INSERT INTO otlp_ingest(payload) VALUES ('{"resourceSpans": []}')"""], capture_output=True, text=True,
                            timeout=TIMEOUT)
        self.assertEqual(up.returncode, 0, up.stderr)
        before = self.dump(good)
        r = subprocess.run(["sqlite3", "-batch", good, f".load {EXT}", f"ATTACH '{self.path}' AS other", f".read {MERGE}"],
                           capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
        self.assertGreater(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(any(n in r.stderr for n in NAMES + ("merge.sql",)), r.stderr)
        self.assertEqual(self.dump(good), before)
        # The good catalog still takes ingest and merges of good files.
        outcomes = self.run_child(good, [["INSERT INTO otlp_ingest(payload) VALUES (?)", [p]] for p in payloads(self.source)])
        self.assertEqual([o[0] for o in outcomes], ["ok"] * len(outcomes), outcomes)
        other = os.path.join(self.dir, "other.db")
        shutil.copy(GOOD, other)
        up = subprocess.run(["sqlite3", "-batch", other, f".load {EXT}",
                             """INSERT INTO otlp_ingest(payload) VALUES ('{"resourceSpans": []}')"""], capture_output=True, text=True,
                            timeout=TIMEOUT)
        self.assertEqual(up.returncode, 0, up.stderr)
        r = subprocess.run(["sqlite3", "-batch", good, f".load {EXT}", f"ATTACH '{other}' AS other", f".read {MERGE}"],
                           capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_the_sqlite3_shell_survives_it(self):
        """The same file through the sqlite3 CLI (the host most
        users open a file with): every view, and ingest; no signal, no hang."""
        import sqlite3
        objects = [r[0] for r in sqlite3.connect(self.path).execute(
            "SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name")]
        cmds = [f".load {EXT}"] + [f'SELECT count(*) FROM "{o}";' for o in objects]
        cmds += [f"INSERT INTO otlp_ingest(payload) VALUES ('{p.replace(chr(39), chr(39) * 2)}');" for p in payloads(self.source)]
        r = subprocess.run(["sqlite3", "-batch", self.path], input="\n".join(cmds), capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertGreaterEqual(r.returncode, 0, f"killed by signal {-r.returncode}")
        for line in r.stderr.splitlines():
            self.assertTrue(any(n in line for n in NAMES), line)

    @staticmethod
    def dump(path):
        import sqlite3
        db = sqlite3.connect(path)
        return {t: sorted(db.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for (t,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")}


class Hostile(CatalogChecks, unittest.TestCase):
    """tests/fixtures/catalog/hostile.db: a catalog of 0.1.0 with crafted
    rows, triggers and views (upgraded by the first write)."""

    def setUp(self):
        if not os.path.exists(HOSTILE):
            self.fail(f"{HOSTILE} is missing: run /usr/bin/python3 tools/make_hostile_catalog.py")
        self.dir = tempfile.mkdtemp(prefix="otelcat-hostile-cat-")
        self.path = os.path.join(self.dir, "hostile.db")
        self.source = HOSTILE
        shutil.copy(HOSTILE, self.path)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_every_view_and_table_can_be_queried(self):
        by_sql = self.query_everything()
        # The views that call a writing function are refused as unsafe.
        self.assertIn("unsafe use of drain_template", by_sql['SELECT * FROM "learning"'][1])
        self.assertIn("unsafe use of virtual table", by_sql['SELECT * FROM "synced"'][1])
        self.assertEqual(by_sql['SELECT * FROM "counted"'][0], "error")   # a hostile series sketch

    def test_ingest_fails_clearly_and_repairs_as_the_errors_say(self):
        script = [["INSERT INTO otlp_ingest(payload) VALUES (?)", [p]] for p in payloads()]
        script.append(["INSERT INTO notes VALUES (1)", []])
        outcomes = self.run_child(self.path, script)
        for (sql, _), o in zip(script, outcomes):
            self.assert_clear(o, sql)
        self.assertIn("unsafe use of", outcomes[-1][1])
        # Remove what the stranger planted, then ingest until every payload
        # goes in.
        import sqlite3
        plain = sqlite3.connect(self.path)
        plain.executescript("DROP TRIGGER notes_ingest; DROP TRIGGER spans_learn; DROP TRIGGER logs_reset;")
        plain.commit()
        plain.close()
        self.ingest_until_repaired()


class HostileEveryColumn(CatalogChecks, unittest.TestCase):
    """A catalog this build writes (0.1.0's fixture upgraded, then every
    entity, key and template model of it ingested again, so the tables of
    later versions hold rows too), with every column of every table
    damaged by tools/make_hostile_catalog.py's craft_every_column: the
    columns and tables of the current schema, whatever they are."""

    @classmethod
    def setUpClass(cls):
        cls.base_dir = tempfile.mkdtemp(prefix="otelcat-hostile-every-")
        cls.base = os.path.join(cls.base_dir, "every.db")
        shutil.copy(GOOD, cls.base)
        script = [["INSERT INTO otlp_ingest(payload) VALUES (?)", [p]] for p in payloads(GOOD)]
        r = subprocess.run([sys.executable, "-c", CHILD, EXT, cls.base], input=json.dumps(script),
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        errors = [o for o in json.loads(r.stdout) if o[0] != "ok"]
        assert not errors, errors
        import importlib.util
        import sqlite3
        spec = importlib.util.spec_from_file_location("make_hostile_catalog",
                                                      os.path.join(ROOT, "tools", "make_hostile_catalog.py"))
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        db = sqlite3.connect(cls.base)
        cls.empty = [t for (t,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' "
                                              "AND name NOT LIKE 'sqlite_%' ORDER BY name")
                     if not db.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()]
        cls.written = tool.craft_every_column(db)
        db.close()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.base_dir, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otelcat-hostile-every-")
        self.path = os.path.join(self.dir, "every.db")
        self.source = self.base
        shutil.copy(self.base, self.path)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_every_table_had_rows_to_damage(self):
        """A table left empty would go unchecked: the base catalog must
        fill every table (otelcat_drain_ids holds only reset partitions)."""
        self.assertEqual([t for t in self.empty if t != "otelcat_drain_ids"], [])
        self.assertGreater(self.written, 500)

    def test_every_view_and_table_can_be_queried(self):
        self.query_everything()

    def test_ingest_fails_clearly_and_repairs_as_the_errors_say(self):
        self.ingest_until_repaired()


if __name__ == "__main__":
    unittest.main()
