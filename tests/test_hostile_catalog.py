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
NAMES = ("otlp_ingest", "hll_", "json_samples", "json_counts", "otelcat_add", "drain_", "otelcat_drain_sync", "unsafe use of",
         "integer overflow", "JSON cannot hold BLOB values")

CHILD = textwrap.dedent("""
    import json, sqlite3, sys
    ext, path, script = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(ext)
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


def payloads():
    """Payloads that reach every entity, key and template model of the
    fixture (same names, services and severities), and some new ones."""
    import sqlite3
    db = sqlite3.connect(f"file:{HOSTILE}?mode=ro", uri=True)
    out = []
    for (svc,) in db.execute("SELECT DISTINCT service_name FROM span_services ORDER BY 1"):
        names = [r[0] for r in db.execute("SELECT span_name FROM span_services WHERE service_name = ?", (svc,))]
        out.append(traces([span(n, attrs={"user.id": f"u{i}", "k": i}) for i, n in enumerate(names)], service=svc))
    for sev, svc in db.execute("SELECT severity, service_name FROM log_services ORDER BY 1, 2"):
        number = SEVERITY_NUMBERS.get(sev, 9)
        out.append(logs([log(f"user {i} logged in", severity_number=number, severity_text=sev,
                             attrs={"request.id": f"r{i}"}) for i in range(3)], service=svc))
    for name, svc in db.execute("SELECT metric_name, service_name FROM metric_services ORDER BY 1, 2"):
        out.append(gauge(name, [({"core": str(i)}, 0.5) for i in range(2)], service=svc))
    out.append(traces([span(f"op{i}", attrs={"fresh.key": "v"}) for i in range(5)], service="newcomer"))
    return out


class Hostile(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(HOSTILE):
            self.fail(f"{HOSTILE} is missing: run /usr/bin/python3 tools/make_hostile_catalog.py")
        self.dir = tempfile.mkdtemp(prefix="otelcat-hostile-cat-")
        self.path = os.path.join(self.dir, "hostile.db")
        shutil.copy(HOSTILE, self.path)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_child(self, path, script):
        """Runs (sql, params) statements in a fresh process: outcomes, or a
        test failure on an abort or a hang."""
        try:
            r = subprocess.run([sys.executable, "-c", CHILD, EXT, path, json.dumps(script)],
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

    def test_every_view_and_table_can_be_queried(self):
        names = self.run_child(self.path, [["SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') "
                                            "ORDER BY name", []]])
        self.assertEqual(names[0][0], "ok")
        import sqlite3
        objects = [r[0] for r in sqlite3.connect(self.path).execute(
            "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name")]
        script = [[f'SELECT * FROM "{o}"', []] for o in objects]
        script += [["SELECT * FROM drain_clusters", []], ["SELECT otelcat_debug()", []]]
        script += [[f"SELECT hll_count({c}), hll_info({c}) FROM {t}", []] for t, c in
                   (("span_keys", "hll_sketch"), ("metric_keys", "hll_sketch"), ("log_keys", "hll_sketch"),
                    ("metrics", "series_sketch"), ("span_name_patterns", "names_sketch"))]
        script += [["SELECT json_samples_merge(value_samples, value_samples) FROM span_keys", []]]
        outcomes = self.run_child(self.path, script)
        for (sql, _), outcome in zip(script, outcomes):
            self.assert_clear(outcome, sql)
        # The views that call a writing function are refused as unsafe.
        by_sql = {s[0]: o for s, o in zip(script, outcomes)}
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
        # goes in, following each error's advice: a damaged row is deleted
        # (or its value reset), a stored configuration out of bounds is
        # reset. Each round must change something; the loop must end.
        import sqlite3
        plain = sqlite3.connect(self.path)
        plain.executescript("DROP TRIGGER notes_ingest; DROP TRIGGER spans_learn; DROP TRIGGER logs_reset;")
        plain.commit()
        plain.close()
        for _ in range(200):
            outcomes = self.run_child(self.path, [["INSERT INTO otlp_ingest(payload) VALUES (?)", [p]] for p in payloads()])
            errors = [o[1] for o in outcomes if o[0] == "error"]
            if not errors:
                break
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
        else:
            self.fail("ingest never went through after repairs: " + errors[0])

    def repair(self, msg):
        """Does what the error says to do, with plain SQL."""
        import re
        import sqlite3
        db = sqlite3.connect(self.path)
        m = re.search(r"(\w+) row \((.*?)\): ", msg)
        if m:
            table, key = m.group(1), [k.strip("'").replace("''", "'") for k in re.findall(r"'(?:[^']|'')*'", m.group(2))]
            cols = {"metrics": ["name"], "spans": ["name"], "logs": ["severity"],
                    "metric_services": ["metric_name", "service_name"], "span_services": ["span_name", "service_name"],
                    "log_services": ["severity", "service_name"], "span_events": ["span_name", "event_name"],
                    "metric_keys": ["metric_name", "key_scope", "key_name"],
                    "span_keys": ["span_name", "key_scope", "key_name", "event_name"],
                    "log_keys": ["severity", "key_scope", "key_name"],
                    "log_body_templates": ["severity", "service_name", "cluster_id"],
                    "log_body_template_rows": ["severity", "service_name", "cluster_id"],
                    "span_name_patterns": ["service_name", "cluster_id"]}[table]
            where = " AND ".join(f"{c} = ?" for c in cols[:len(key)])
            db.execute(f"DELETE FROM {table} WHERE {where}", key[:len(cols)])
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
        before = self.dump(good)
        r = subprocess.run(["sqlite3", "-batch", good, f".load {EXT}", f"ATTACH '{self.path}' AS other", f".read {MERGE}"],
                           capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
        self.assertGreater(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(any(n in r.stderr for n in NAMES), r.stderr)
        self.assertEqual(self.dump(good), before)
        # The good catalog still takes ingest and merges of good files.
        outcomes = self.run_child(good, [["INSERT INTO otlp_ingest(payload) VALUES (?)", [p]] for p in payloads()])
        self.assertEqual([o[0] for o in outcomes], ["ok"] * len(outcomes), outcomes)
        other = os.path.join(self.dir, "other.db")
        shutil.copy(GOOD, other)
        # merge.sql needs this version's schema in both files: an empty
        # ingest upgrades a catalog of an older version.
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
        cmds += [f"INSERT INTO otlp_ingest(payload) VALUES ('{p.replace(chr(39), chr(39) * 2)}');" for p in payloads()]
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


if __name__ == "__main__":
    unittest.main()
