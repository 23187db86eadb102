"""Drain functions against hostile input, through the built extension: configurations
that would ask for unbounded memory, database files whose Drain rows were written by
someone else, read-only databases, cluster ids across drain_reset, and panics inside
the drain_clusters table.

Whatever could abort the host runs in a child process with a cap on its address
space (so that an unbounded allocation fails fast instead of exhausting the machine);
the parent checks that the child lived and what it printed."""
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

from helpers import FIXTURES, connect, err, hooks_env
from otlp_payloads import log, logs

HERE = os.path.dirname(os.path.abspath(__file__))
CAP = 2 << 30  # address space of a child process: 2 GiB


def child(code, env=None, timeout=300):
    """Runs `code` in a Python child with the extension's helpers importable and its
    address space capped. Returns (returncode, stdout lines as parsed JSON, stderr)."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))
    r = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {HERE!r})\n" + code],
                       env=dict(os.environ, **(env or {})), preexec_fn=cap,
                       capture_output=True, text=True, timeout=timeout)
    out = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    return r.returncode, out, r.stderr[-2000:]


# The child's side: runs SQL steps, printing one JSON line per step.
STEPS = r'''
import json, sqlite3
from helpers import connect
def step(db, name, sql, params=()):
    try:
        rows = db.execute(sql, params).fetchall()
        print(json.dumps({"step": name, "ok": True, "rows": rows}), flush=True)
    except sqlite3.Error as e:
        print(json.dumps({"step": name, "ok": False, "error": str(e)}), flush=True)
'''


def by_step(out):
    return {o["step"]: o for o in out}


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otelcat-hostile-drain-")
        self.path = os.path.join(self.dir, "t.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class TestBoundedConfiguration(Tmp):
    """Every configuration value is bounded, at drain_configure and when read back
    from a file, and one call costs memory proportional to its input."""

    def test_huge_param_str_is_refused_and_the_host_lives(self):
        # The reported crash: a 100 kB param_str, then a 600 kB line of 300 000
        # parameters asked for 30 GB and aborted the host.
        code, out, stderr = child(STEPS + r'''
db = connect()
step(db, "configure", "SELECT drain_configure('p', json_object('param_str', printf('%.*c', 100000, 'P'), 'max_line_bytes', 1048576))")
step(db, "template", "SELECT length(drain_template(replace(printf('%.*c', 300000, 'x'), 'x', '1='), 'p'))")
print(json.dumps({"step": "alive", "ok": True}))
''')
        self.assertEqual(code, 0, stderr)
        s = by_step(out)
        self.assertFalse(s["configure"]["ok"])
        self.assertIn('drain_configure: drain config: "param_str" must be at most 16 bytes, got 100000',
                      s["configure"]["error"])
        self.assertTrue(s["template"]["ok"], s["template"])  # the default configuration
        self.assertIn("alive", s)

    def test_memory_of_a_call_is_proportional_to_its_line(self):
        # The largest configuration allowed: a template of a line of N bytes is at
        # most N + ceil(N / 2) * 15 bytes; the child has 2 GiB of address space.
        code, out, stderr = child(STEPS + r'''
db = connect()
step(db, "configure", """SELECT drain_configure('p', '{"param_str": "PPPPPPPPPPPPPPPP", "max_line_bytes": 1048576,
     "max_tokens": 4096, "max_example_bytes": 1048576}')""")
for i, line in enumerate(["1=" * 524288, "1 " * 524288, "=1" * 300000, "é1" * 300000]):
    step(db, f"line{i}", "SELECT length(CAST(drain_template(?, 'p') AS BLOB)), length(CAST(? AS BLOB))", (line, line))
step(db, "match", "SELECT length(drain_match(?, 'p'))", ("1=" * 524288,))
step(db, "clusters", "SELECT count(*), max(length(template)) FROM drain_clusters('p')")
''')
        self.assertEqual(code, 0, stderr)
        s = by_step(out)
        self.assertTrue(s["configure"]["ok"], s["configure"])
        for i in range(4):
            self.assertTrue(s[f"line{i}"]["ok"], s[f"line{i}"])
            tpl, n = s[f"line{i}"]["rows"][0]
            n = min(n, 1048576)
            self.assertLessEqual(tpl, n + (n + 1) // 2 * 15, i)
        self.assertEqual(s["clusters"]["rows"][0][0], 4)

    def test_every_field_is_bounded_at_configure(self):
        db = connect()
        for cfg, msg in [
            ('{"param_str": "0123456789abcdefg"}', '"param_str" must be at most 16 bytes, got 17'),
            ('{"max_line_bytes": 1048577}', '"max_line_bytes" must be in 1..=1048576'),
            ('{"max_tokens": 4097}', '"max_tokens" must be in 2..=4096'),
            ('{"max_clusters": 10000001}', '"max_clusters" must be in 1..=10000000'),
            ('{"max_leaf_clusters": 0}', '"max_leaf_clusters" must be in 1..=1000000'),
            ('{"max_children": 1}', '"max_children" must be in 2..=1000000'),
            ('{"max_example_bytes": 1048577}', '"max_example_bytes" must be in 0..=1048576'),
            ('{"min_distinct": 1001}', '"min_distinct" must be in 2..=1000'),
            ('{"depth": 17}', '"depth" must be in 3..=16'),
            ('{"sim_th": -0.1}', '"sim_th" must be in 0..=1'),
            ('{"depth": 4%s}' % (" " * 1048576), "the JSON text is 1048588 bytes, more than 1048576"),
        ]:
            with self.subTest(cfg[:40]):
                self.assertIn(f"drain_configure: drain config: {msg}", err(db, "SELECT drain_configure('p', ?)", (cfg,)))
                self.assertIn(f"drain_configure: drain config: {msg}", err(db, "SELECT drain_configure(?)", (cfg,)))
        # the bounds themselves are accepted
        full = json.loads(db.execute("""SELECT drain_configure('p', '{"param_str": "0123456789abcdef", "extra_delimiters": "%s",
            "max_line_bytes": 1048576, "max_tokens": 4096, "max_clusters": 10000000, "depth": 16}')""" % ("/;" * 100000)).fetchone()[0])
        self.assertEqual(len(full["param_str"]), 16)
        self.assertEqual(full["extra_delimiters"], "/;")  # a set: each character once

    def _file_with(self, sql):
        db = connect(self.path)
        db.execute("SELECT drain_template('connection closed by alpha port 22', 'p')")
        db.execute("""SELECT drain_configure('{}')""")
        db.close()
        raw = sqlite3.connect(self.path, isolation_level=None)
        raw.executescript(sql)
        raw.close()

    def test_stored_default_configuration_out_of_bounds(self):
        # A file someone hands you, with an out-of-bounds default: ingesting a 1 MB
        # log into it aborted the host.
        self._file_with("""UPDATE otelcat_meta SET value = json_object('param_str', printf('%.*c', 100000, 'P'),
                           'max_line_bytes', 1048576) WHERE key = 'drain_default_config';""")
        big = os.path.join(self.dir, "big.json")
        with open(big, "w") as f:
            f.write(logs([log("1=" * 500000)], service="big"))
        code, out, stderr = child(STEPS + f'''
db = connect({self.path!r})
payload = open({big!r}).read()
step(db, "ingest", "INSERT INTO otlp_ingest(payload) VALUES (?)", (payload,))
step(db, "template", "SELECT drain_template('a new line', 'fresh')")
step(db, "old partition", "SELECT drain_template('connection closed by beta port 22', 'p')")
step(db, "fix", "SELECT length(drain_configure('{{}}'))")
step(db, "ingest again", "INSERT INTO otlp_ingest(payload) VALUES (?)", (payload,))
step(db, "templates", "SELECT count(*) FROM log_body_templates WHERE service_name = 'big'")
''')
        self.assertEqual(code, 0, stderr)
        s = by_step(out)
        for name, func in (("ingest", "otlp_ingest"), ("template", "drain_template")):
            self.assertFalse(s[name]["ok"], name)
            e = s[name]["error"]
            self.assertIn(func, e)
            self.assertIn("the stored default drain configuration (otelcat_meta key 'drain_default_config') cannot be used", e)
            self.assertIn('"param_str" must be at most 16 bytes, got 100000', e)
            self.assertIn("drain_configure('{...}')", e)
        self.assertTrue(s["old partition"]["ok"])  # a stored partition has its own configuration
        self.assertTrue(s["fix"]["ok"])
        self.assertTrue(s["ingest again"]["ok"], s["ingest again"])
        self.assertEqual(s["templates"]["rows"], [[1]])

    def test_stored_partition_configurations_out_of_bounds(self):
        cases = {
            "huge param_str": "json_object('param_str', printf('%.*c', 100000, 'P'))",
            "max_line_bytes": """'{"max_line_bytes": 1073741824}'""",
            "max_tokens": """'{"max_tokens": 100000}'""",
            "depth": """'{"depth": 1000}'""",
            "sim_th": """'{"sim_th": 7}'""",
            "max_clusters": """'{"max_clusters": 1000000000000}'""",
            "extra_delimiters": "json_object('extra_delimiters', 'é')",
            "not JSON": "'{nope'",
            "not an object": "'[1, 2]'",
            "a number": "42",
            "a blob": "x'7b7d'",
            "3 MB of JSON": "'{\"depth\": 4' || printf('%.*c', 3000000, ' ') || '}'",
        }
        for what, value in cases.items():
            with self.subTest(what):
                if os.path.exists(self.path):
                    os.remove(self.path)
                self._file_with(f"UPDATE otelcat_drain_partitions SET config = {value} WHERE partition = 'p';")
                code, out, stderr = child(STEPS + f'''
db = connect({self.path!r})
step(db, "template", "SELECT drain_template('connection closed by beta port 22', 'p')")
step(db, "reset", "SELECT drain_reset('p')")
step(db, "after", "SELECT drain_template('connection closed by beta port 22', 'p')")
''')
                self.assertEqual(code, 0, stderr)
                s = by_step(out)
                self.assertFalse(s["template"]["ok"])
                self.assertIn("drain_template: drain partition 'p': its stored configuration", s["template"]["error"])
                self.assertIn("call drain_reset('p') to start the partition over", s["template"]["error"])
                self.assertEqual(s["reset"]["rows"], [[1]])
                self.assertTrue(s["after"]["ok"])


# ---------------------------------------------------------------------------

def payload(service, bodies):
    return logs([log(b) for b in bodies], service=service)


LOGINS = ["user alice logged in", "user bob logged in", "user carol logged in", "user dave logged in"]
DISKS = ["disk sda is full", "disk sdb is full", "disk sdc is full", "disk sdd is full", "disk sde is full"]


class TestIdsNeverReused(Tmp):
    """Cluster ids are never reused in a partition: not after drain_reset, not after
    a reconnect, not after evictions."""

    def templates(self, db, svc="svc"):
        return {r[0]: (r[1], r[2]) for r in db.execute(
            "SELECT cluster_id, template, count FROM log_body_templates WHERE service_name = ? ORDER BY 1", (svc,))}

    def test_reset_of_an_ingest_partition_keeps_templates_apart(self):
        db = connect(self.path)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", LOGINS),))
        before = self.templates(db)
        self.assertEqual(list(before.values()), [("user <*> logged in", 4)])
        self.assertEqual(db.execute("SELECT drain_reset('otlp.logs/INFO/svc')").fetchone()[0], 1)
        for conn in (db, connect(self.path)):  # the same connection, and after a reconnect
            conn.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", DISKS),))
        after = self.templates(db)
        # the old row is as it was; the new bodies have rows of their own
        for id_, row in before.items():
            self.assertEqual(after[id_], row)
        new = {k: v for k, v in after.items() if k not in before}
        self.assertEqual(sorted(v[0] for v in new.values()), ["disk <*> is full"])
        self.assertEqual(sum(v[1] for v in new.values()), 10)
        self.assertGreater(min(new), max(before))
        self.assertEqual(db.execute("SELECT sum(count) FROM log_body_templates").fetchone()[0], 14)
        # the high-water mark is in the file
        self.assertEqual(db.execute("SELECT last_id FROM otelcat_drain_ids WHERE partition = 'otlp.logs/INFO/svc'").fetchone()[0],
                         len(LOGINS))

    def test_reset_refused_while_ingest_lines_are_pending(self):
        """drain_reset of an otlp.logs partition whose lines otlp_ingest counted in
        the open transaction is refused: the rows it writes at COMMIT need the
        clusters' templates (they were written empty). Other partitions may be
        reset; after the transaction ends, that one may too."""
        db = connect(self.path)
        db.execute("BEGIN")
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", LOGINS),))
        self.assertIn("drain_reset: otlp_ingest counted log lines in partition 'otlp.logs/INFO/svc' in this transaction",
                      err(db, "SELECT drain_reset('otlp.logs/INFO/svc')"))
        self.assertEqual(db.execute("SELECT drain_reset('otlp.logs/INFO/other')").fetchone()[0], 0)
        db.execute("COMMIT")
        self.assertEqual(list(self.templates(db).values()), [("user <*> logged in", 4)])
        self.assertEqual(db.execute("SELECT count(*) FROM log_body_templates WHERE template = '' OR example = ''").fetchone()[0], 0)
        # a rolled-back transaction leaves nothing pending either
        db.execute("BEGIN")
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", DISKS),))
        db.execute("ROLLBACK")
        self.assertEqual(db.execute("SELECT drain_reset('otlp.logs/INFO/svc')").fetchone()[0], 1)

    def test_reset_twice_and_rollback(self):
        db = connect(self.path)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", LOGINS),))
        db.execute("SELECT drain_reset('otlp.logs/INFO/svc')")
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", DISKS),))
        db.execute("SELECT drain_reset('otlp.logs/INFO/svc')")
        # a reset that rolls back leaves the model as it was
        db.execute("BEGIN")
        db.execute("SELECT drain_reset('otlp.logs/INFO/svc')")
        db.execute("ROLLBACK")
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", ["cache warmed in 12 ms", "cache warmed in 15 ms"]),))
        rows = self.templates(db)
        self.assertEqual(sorted(t for t, _ in rows.values()), ["cache warmed in <*> ms", "disk <*> is full", "user <*> logged in"])
        self.assertEqual(len(set(rows)), 3)

    def test_reset_then_savepoint_rolled_back(self):
        # otlp_ingest snapshots a model when a savepoint opens and restores it on
        # ROLLBACK TO: the restored (empty) model keeps the high-water mark.
        db = connect(self.path)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", LOGINS),))
        db.execute("SELECT drain_reset('otlp.logs/INFO/svc')")
        # the emptied model is in memory when the savepoint snapshots it
        self.assertIsNone(db.execute("SELECT drain_match('disk sda is full', 'otlp.logs/INFO/svc')").fetchone()[0])
        db.execute("BEGIN")
        # (otlp_ingest takes part in the transaction before the savepoint opens)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("other", ["hello"]),))
        db.execute("SAVEPOINT a")
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", ["cache warmed in 12 ms"]),))
        db.execute("ROLLBACK TO a")
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", DISKS),))
        db.execute("COMMIT")
        rows = self.templates(db)
        self.assertEqual(sorted(rows.values()), [("disk <*> is full", 5), ("user <*> logged in", 4)])

    def test_function_partitions(self):
        db = connect(self.path)
        lines = ["alpha one", "beta two words", "gamma three more words"]
        for l in lines:
            db.execute("SELECT drain_template(?, 'f')", (l,))
        old = [r[0] for r in db.execute("SELECT cluster_id FROM drain_clusters('f')")]
        self.assertEqual(db.execute("SELECT drain_reset('f')").fetchone()[0], 3)
        db.execute("SELECT drain_template('delta four', 'f')")
        again = connect(self.path)  # a reconnect reads the mark from the file
        again.execute("SELECT drain_template('epsilon five six seven eight', 'f')")
        new = [r[0] for r in again.execute("SELECT cluster_id FROM drain_clusters('f') ORDER BY 1")]
        self.assertEqual(len(new), 2)
        self.assertGreater(min(new), max(old))
        # configuring the emptied partition keeps the mark too
        again.execute("SELECT drain_reset('f')")
        again.execute("""SELECT drain_configure('f', '{"sim_th": 0.5}')""")
        self.assertGreater(again.execute("SELECT cluster_id FROM drain_clusters('f') WHERE template = ?",
                                         (again.execute("SELECT drain_template('zeta', 'f')").fetchone()[0],)).fetchone()[0],
                           max(new))

    def test_after_evictions_and_reset(self):
        db = connect(self.path)
        db.execute("""SELECT drain_configure('e', '{"max_clusters": 1}')""")
        seen = set()
        for i, l in enumerate(["one", "two words", "three words here", "four words here now"]):
            db.execute("SELECT drain_template(?, 'e')", (l,))
            seen |= {r[0] for r in db.execute("SELECT cluster_id FROM drain_clusters('e')")}
            if i == 1:
                db = connect(self.path)  # reconnect between evictions
        self.assertEqual(len(seen), 4)
        db.execute("SELECT drain_reset('e')")
        db = connect(self.path)
        db.execute("SELECT drain_template('five', 'e')")
        self.assertGreater(db.execute("SELECT cluster_id FROM drain_clusters('e')").fetchone()[0], max(seen))

    def test_catalog_of_v0_1_0_is_upgraded_in_place(self):
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.1.0.db"), self.path)
        ro = connect(f"file:{self.path}?mode=ro", uri=True)
        # reading does not need (nor create) the new table
        self.assertEqual(ro.execute("SELECT count(*) FROM drain_clusters('otlp.logs/INFO/cart')").fetchone()[0], 20)
        ro.close()
        db = connect(self.path)
        self.assertEqual(db.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'otelcat_drain_ids'").fetchone()[0], 0)
        before = self.templates(db, "cart")
        high = db.execute("SELECT max(last_used) FROM otelcat_drain_clusters WHERE partition = 'otlp.logs/INFO/cart'").fetchone()[0]
        self.assertEqual(db.execute("SELECT drain_reset('otlp.logs/INFO/cart')").fetchone()[0], 20)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("cart", DISKS),))
        after = self.templates(db, "cart")
        for id_, row in before.items():
            self.assertEqual(after[id_], row)
        new = [v for k, v in after.items() if k not in before]
        self.assertEqual(new, [("disk <*> is full", 5)])
        self.assertEqual(db.execute("SELECT last_id FROM otelcat_drain_ids").fetchall(), [(high,)])
        # the upgrade is idempotent: the next writes (and connections) change nothing in the layout
        schema = db.execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall()
        db2 = connect(self.path)
        db2.execute("SELECT drain_template('x y z', 'fixture')")
        db2.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("cart", DISKS),))
        self.assertEqual(db2.execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall(), schema)


# ---------------------------------------------------------------------------

class TestReadOnly(Tmp):
    def setUp(self):
        super().setUp()
        db = connect(self.path)
        for l in ["connection closed by alpha port 22", "connection closed by beta port 23", "connection closed by gamma port 24"]:
            db.execute("SELECT drain_template(?, 'p')", (l,))
        db.close()

    def test_writing_functions_fail_clearly(self):
        for uri in (f"file:{self.path}?mode=ro", f"file:{self.path}?immutable=1"):
            with self.subTest(uri):
                db = connect(uri, uri=True)
                e = err(db, "SELECT drain_template('connection closed by delta port 25', 'p')")
                self.assertIn("drain_template: the database is read-only", e)
                self.assertIn("use drain_match, which only reads", e)
                # also for a partition the file does not have, and in a multi-row statement
                self.assertIn("drain_template: the database is read-only",
                              err(db, "SELECT drain_template(v) FROM (SELECT 'a' v UNION ALL SELECT 'b')"))
                self.assertIn("drain_configure: the database is read-only",
                              err(db, """SELECT drain_configure('p2', '{"sim_th": 0.5}')"""))
                self.assertIn("drain_configure: the database is read-only", err(db, """SELECT drain_configure('{}')"""))
                self.assertIn("drain_reset: the database is read-only", err(db, "SELECT drain_reset('p')"))
                # reading works, and nothing was learned in memory
                self.assertEqual(db.execute("SELECT drain_match('connection closed by omega port 9', 'p')").fetchone()[0],
                                 "connection closed by <*> port <*>")
                self.assertEqual(db.execute("SELECT count(*), sum(size) FROM drain_clusters('p')").fetchone(), (1, 3))
                self.assertIsNone(db.execute("SELECT drain_match('a', '')").fetchone()[0])


# ---------------------------------------------------------------------------

CLOSED = ["connection closed by alpha port 22", "connection closed by beta port 23", "connection closed by gamma port 24"]

# An otelcat_drain_clusters table with its primary key but no NOT NULL nor types (to hold NULLs).
LOOSE = """CREATE TABLE c2 AS SELECT * FROM otelcat_drain_clusters; DROP TABLE otelcat_drain_clusters;
           CREATE TABLE otelcat_drain_clusters(partition, cluster_id, template, tokens, path, size, last_used, example,
                                               PRIMARY KEY (partition, cluster_id));
           INSERT INTO otelcat_drain_clusters SELECT * FROM c2; DROP TABLE c2;"""
# Without a primary key (to hold duplicate ids).
NO_KEY = """CREATE TABLE c2 AS SELECT * FROM otelcat_drain_clusters; DROP TABLE otelcat_drain_clusters;
            CREATE TABLE otelcat_drain_clusters(partition, cluster_id, template, tokens, path, size, last_used, example);
            INSERT INTO otelcat_drain_clusters SELECT * FROM c2; DROP TABLE c2;"""
FIRST = "partition = '{p}' AND cluster_id = (SELECT min(cluster_id) FROM otelcat_drain_clusters WHERE partition = '{p}')"

# name: (SQL that breaks partition {p}, text the error must hold)
HOSTILE = {
    "path disagrees with tokens": (f"UPDATE otelcat_drain_clusters SET path = '[\"nope\"]' WHERE {FIRST}",
                                   "path entry 0 does not agree with the tokens"),
    "tokens not JSON": (f"UPDATE otelcat_drain_clusters SET tokens = 'not json' WHERE {FIRST}", "tokens:"),
    "tokens with a separator": (f"UPDATE otelcat_drain_clusters SET tokens = '[\"a b\"]', path = '[]' WHERE {FIRST}",
                                "invalid token"),
    "more tokens than max_tokens": (
        f"UPDATE otelcat_drain_clusters SET tokens = '[' || substr(replace(printf('%.*c', 200, 'x'), 'x', ',\"w\"'), 2) || ']', "
        f"path = '[\"w\"]' WHERE {FIRST}", "200 tokens, more than max_tokens 128"),
    "NULL ids": (LOOSE + f"UPDATE otelcat_drain_clusters SET cluster_id = NULL WHERE partition = '{{p}}'",
                 "cluster_id is null, not integer"),
    "negative ids": (f"UPDATE otelcat_drain_clusters SET cluster_id = -5, last_used = -5 WHERE {FIRST}",
                     "cluster id -5 is out of range"),
    "negative size": (f"UPDATE otelcat_drain_clusters SET size = -3 WHERE {FIRST}", "size -3 is out of range"),
    "huge size": (f"UPDATE otelcat_drain_clusters SET size = 9223372036854775807 WHERE {FIRST}",
                  "size 9223372036854775807 is out of range"),
    "huge last_used": (f"UPDATE otelcat_drain_clusters SET last_used = 9223372036854775807 WHERE {FIRST}",
                       "last_used 9223372036854775807 is out of range"),
    "last_used before id": (f"UPDATE otelcat_drain_clusters SET last_used = cluster_id - 1 WHERE {FIRST}", "last_used"),
    "two clusters with one clock": ("UPDATE otelcat_drain_clusters SET last_used = 1000 WHERE partition = '{p}'",
                                    "two clusters with last_used 1000"),
    "NULL tokens": (LOOSE + f"UPDATE otelcat_drain_clusters SET tokens = NULL WHERE {FIRST}", "tokens is null, not text"),
    "NULL size": (LOOSE + f"UPDATE otelcat_drain_clusters SET size = NULL WHERE {FIRST}", "size is null, not integer"),
    "text size": (f"UPDATE otelcat_drain_clusters SET size = 'many' WHERE {FIRST}", "size is text, not integer"),
    "real id": (LOOSE + f"UPDATE otelcat_drain_clusters SET cluster_id = 1.5 WHERE {FIRST}", "cluster_id is real"),
    "blob example": (f"UPDATE otelcat_drain_clusters SET example = x'00ff' WHERE {FIRST}", "example is blob, not text"),
    "huge tokens text": (f"UPDATE otelcat_drain_clusters SET tokens = '[\"' || printf('%.*c', 5000000, 'a') || '\"]' WHERE {FIRST}",
                         "tokens is 5000004 bytes"),
    "huge example": (f"UPDATE otelcat_drain_clusters SET example = printf('%.*c', 5000000, 'e') WHERE {FIRST}",
                     "example is 5000000 bytes"),
    "more clusters than max_clusters": (
        """UPDATE otelcat_drain_partitions SET config = json_set(config, '$.max_clusters', 1) WHERE partition = '{p}'""",
        "clusters exceed max_clusters 1"),
    "layout not ours": ("UPDATE otelcat_drain_partitions SET layout = 7 WHERE partition = '{p}'",
                        "is stored with layout 7; this otelcat reads layouts 1 and 2"),
    "layout as text": ("UPDATE otelcat_drain_partitions SET layout = 'one' WHERE partition = '{p}'",
                       "is stored with layout text"),
    "config not JSON": ("UPDATE otelcat_drain_partitions SET config = 'nope' WHERE partition = '{p}'", "invalid JSON"),
    "config as a blob": ("UPDATE otelcat_drain_partitions SET config = x'7b7d' WHERE partition = '{p}'",
                         "its stored configuration is blob, not JSON text"),
    "last id as text": ("CREATE TABLE IF NOT EXISTS otelcat_drain_ids(partition TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID;"
                        "INSERT OR REPLACE INTO otelcat_drain_ids VALUES ('{p}', 'lots')",
                        "its stored last id (otelcat_drain_ids) is text"),
    "negative last id": ("CREATE TABLE IF NOT EXISTS otelcat_drain_ids(partition TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID;"
                         "INSERT OR REPLACE INTO otelcat_drain_ids VALUES ('{p}', -1)",
                         "its stored last id (otelcat_drain_ids) is -1"),
    "huge last id": ("CREATE TABLE IF NOT EXISTS otelcat_drain_ids(partition TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID;"
                     "INSERT OR REPLACE INTO otelcat_drain_ids VALUES ('{p}', 9223372036854775807)",
                     "is 9223372036854775807, not an integer in 0..=9007199254740992"),
}


class TestHostileRows(Tmp):
    """Drain rows of a database file that contradict each other or are malformed
    make loading fail with an error naming the partition and saying what to do; the
    partition can then be reset, and nothing else is disturbed."""

    def make(self, partition, breakage):
        if os.path.exists(self.path):
            os.remove(self.path)
        db = connect(self.path)
        if partition.startswith("otlp."):
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload("svc", CLOSED + ["disk sda is full"]),))
        else:
            for l in CLOSED + ["disk sda is full"]:
                db.execute("SELECT drain_template(?, ?)", (l, partition))
        db.execute("SELECT drain_template('another partition', 'other')")
        db.close()
        raw = sqlite3.connect(self.path, isolation_level=None)
        raw.executescript(breakage.format(p=partition))
        raw.close()

    def test_function_partition(self):
        for what, (sql, msg) in HOSTILE.items():
            with self.subTest(what):
                self.make("p", sql)
                code, out, stderr = child(STEPS + f'''
db = connect({self.path!r})
step(db, "template", "SELECT drain_template('connection closed by delta port 25', 'p')")
step(db, "match", "SELECT drain_match('connection closed by delta port 25', 'p')")
step(db, "clusters of p", "SELECT count(*) FROM drain_clusters('p')")
step(db, "all clusters", "SELECT count(*) FROM drain_clusters")
step(db, "configure", """SELECT drain_configure('p', '{{"sim_th": 0.4}}')""")
step(db, "other partition", "SELECT drain_template('another partition', 'other')")
step(db, "template again", "SELECT drain_template('connection closed by delta port 25', 'p')")
step(db, "reset", "SELECT drain_reset('p')")
step(db, "after reset", "SELECT drain_template('connection closed by delta port 25', 'p')")
step(db, "ids", "SELECT cluster_id FROM drain_clusters('p')")
db2 = connect({self.path!r})
step(db2, "next connection", "SELECT drain_match('connection closed by delta port 25', 'p'), count(*) FROM drain_clusters")
''')
                self.assertEqual(code, 0, stderr)
                s = by_step(out)
                for name, func in (("template", "drain_template"), ("match", "drain_match"),
                                   ("clusters of p", "drain_clusters"), ("all clusters", "drain_clusters"),
                                   ("configure", "drain_configure"), ("template again", "drain_template")):
                    self.assertFalse(s[name]["ok"], (name, s[name]))
                    e = s[name]["error"]
                    self.assertTrue(e.startswith(f"{func}: drain partition 'p'"), (name, e))
                    self.assertIn(msg, e, name)
                    self.assertIn("drain_reset('p')", e, name)
                self.assertTrue(s["other partition"]["ok"])
                self.assertTrue(s["reset"]["ok"], s["reset"])
                self.assertEqual(s["after reset"]["rows"], [["connection closed by delta port <*>"]])
                # the new cluster's id is above every sane id the partition had
                self.assertGreater(s["ids"]["rows"][0][0], len(CLOSED) + 1)
                self.assertEqual(s["next connection"]["rows"], [["connection closed by delta port <*>", 2]])

    def test_tables_of_another_shape(self):
        # Tables that could not take the writes of a statement (no primary key:
        # duplicate ids; a missing column) are refused when a model is loaded,
        # rather than trained in memory and never stored.
        for what, sql in {
            "duplicate ids": NO_KEY + "INSERT INTO otelcat_drain_clusters SELECT * FROM otelcat_drain_clusters "
                                      "WHERE partition = '{p}' ORDER BY cluster_id LIMIT 1",
            "no primary key on partitions": """CREATE TABLE p2 AS SELECT * FROM otelcat_drain_partitions;
                DROP TABLE otelcat_drain_partitions; ALTER TABLE p2 RENAME TO otelcat_drain_partitions;""",
            "a column missing": "ALTER TABLE otelcat_drain_clusters DROP COLUMN template",
            "a view": """ALTER TABLE otelcat_drain_partitions RENAME TO p2;
                CREATE VIEW otelcat_drain_partitions AS SELECT * FROM p2;""",
            "a trigger that fails the writes": """CREATE TRIGGER no_writes BEFORE INSERT ON otelcat_drain_clusters
                BEGIN SELECT RAISE(ABORT, 'no'); END;""",
        }.items():
            with self.subTest(what):
                self.make("p", sql)
                code, out, stderr = child(STEPS + f'''
db = connect({self.path!r})
step(db, "template", "SELECT drain_template('connection closed by delta port 25', 'p')")
step(db, "other", "SELECT drain_template('one more', 'other')")
step(db, "match", "SELECT drain_match('connection closed by delta port 25', 'p')")
''')
                self.assertEqual(code, 0, stderr)
                s = by_step(out)
                for name in ("template", "other", "match"):
                    self.assertFalse(s[name]["ok"], (name, s[name]))
                    e = s[name]["error"]
                    if "trigger" in what:
                        self.assertIn("cannot be used: this file has a trigger on otelcat_drain_clusters (no_writes)", e)
                        self.assertIn('drop it (DROP TRIGGER "no_writes")', e)
                    else:
                        self.assertIn("cannot be used: the table otelcat_drain_", e)
                        self.assertIn("of this file is not as otelcat makes it", e)
                        self.assertIn("drop the otelcat_drain_* tables", e)

    def test_ingest_partition(self):
        for what in ("path disagrees with tokens", "negative size", "huge size", "text size", "config not JSON",
                     "layout not ours", "huge example", "negative last id"):
            sql, msg = HOSTILE[what]
            with self.subTest(what):
                self.make("otlp.logs/INFO/svc", sql)
                p = payload("svc", ["connection closed by delta port 25"])
                q = payload("quiet", ["connection closed by delta port 25"])
                code, out, stderr = child(STEPS + f'''
db = connect({self.path!r})
step(db, "ingest", "INSERT INTO otlp_ingest(payload) VALUES (?)", ({p!r},))
step(db, "count", "SELECT sum(count) FROM log_body_templates")
step(db, "other service", "INSERT INTO otlp_ingest(payload) VALUES (?)", ({q!r},))
step(db, "reset", "SELECT drain_reset('otlp.logs/INFO/svc')")
step(db, "ingest again", "INSERT INTO otlp_ingest(payload) VALUES (?)", ({p!r},))
step(db, "templates", "SELECT cluster_id, template, count FROM log_body_templates WHERE service_name = 'svc' ORDER BY 1")
''')
                self.assertEqual(code, 0, stderr)
                s = by_step(out)
                self.assertFalse(s["ingest"]["ok"])
                self.assertIn("drain partition 'otlp.logs/INFO/svc'", s["ingest"]["error"])
                self.assertIn(msg, s["ingest"]["error"])
                self.assertIn("drain_reset('otlp.logs/INFO/svc')", s["ingest"]["error"])
                self.assertEqual(s["count"]["rows"], [[4]], "the failed ingest wrote nothing")
                self.assertTrue(s["other service"]["ok"], s["other service"])
                self.assertTrue(s["reset"]["ok"], s["reset"])
                self.assertTrue(s["ingest again"]["ok"], s["ingest again"])
                rows = s["templates"]["rows"]
                # the line after the reset has a row of its own, never one of the old rows
                self.assertEqual(rows[-1][1:], ["connection closed by delta port <*>", 1])
                self.assertEqual(len(rows), 3)


# ---------------------------------------------------------------------------

class TestDrainClustersPanicGuard(unittest.TestCase):
    """A panic in any drain_clusters callback is an SQL error (or, for the callbacks
    that report none, ends the scan); the host lives on."""

    def run_with_panic(self, where, code):
        return child(STEPS + code, env=dict(hooks_env(), OTELCAT_TEST_PANIC_DRAIN_CLUSTERS=where))

    QUERY = '''
db = connect()
db.execute("SELECT drain_template('one line', 'p')")
db.execute("SELECT drain_template('another line here', 'p')")
step(db, "scan", "SELECT partition, cluster_id, template FROM drain_clusters")
step(db, "rowid", "SELECT rowid FROM drain_clusters('p')")
step(db, "after", "SELECT drain_match('one line', 'p')")
db.close()
print(json.dumps({"step": "closed", "ok": True}))
'''

    def test_each_callback(self):
        for where in ("connect", "best_index", "open", "filter", "next", "column", "rowid"):
            with self.subTest(where):
                code, out, stderr = self.run_with_panic(where, self.QUERY)
                self.assertEqual(code, 0, stderr)
                s = by_step(out)
                step = "rowid" if where == "rowid" else "scan"
                self.assertFalse(s[step]["ok"], s[step])
                self.assertIn(f"drain_clusters: internal error (panic: test panic requested (drain_clusters {where}))",
                              s[step]["error"])
                self.assertEqual(s["after"]["rows"], [["one line"]])
                self.assertIn("closed", s)
        # Callbacks whose errors SQLite does not report: the host lives.
        for where in ("eof", "close", "disconnect"):
            with self.subTest(where):
                code, out, stderr = self.run_with_panic(where, self.QUERY)
                self.assertEqual(code, 0, stderr)
                s = by_step(out)
                self.assertEqual(s["after"]["rows"], [["one line"]])
                self.assertIn("closed", s)
                if where == "eof":
                    self.assertEqual(s["scan"]["rows"], [])  # the scan ends
                else:
                    self.assertEqual(len(s["scan"]["rows"]), 2)

    def test_no_hook_in_the_release_build(self):
        code, out, stderr = child(STEPS + self.QUERY, env={"OTELCAT_TEST_HOOKS": "1", "OTELCAT_TEST_PANIC_DRAIN_CLUSTERS": "filter"})
        self.assertEqual(code, 0, stderr)
        self.assertEqual(len(by_step(out)["scan"]["rows"]), 2)


# ---------------------------------------------------------------------------

class TestPersistRoundTrip(Tmp):
    """Through the extension and the file: a model trained in one connection matches
    every line it was trained on to the same template in the next connection, and
    continues with the same ids."""

    def test_random_lines(self):
        import random
        rnd = random.Random(20261206)
        words = ["alpha", "beta", "gamma", "delta", "Paused", "Resumed", "Jan", "disk", "user", "é"]
        seps = [" ", "  ", "\t", "/", ";", "\x00", " | "]
        lines = []
        for i in range(3000):
            shape = rnd.randrange(12)
            toks = [rnd.choice(words) if (shape >> (k % 4)) & 1 else str(rnd.randrange(100)) for k in range(1 + shape % 7)]
            line = toks[0]
            for t in toks[1:]:
                line += rnd.choice(seps) + t
            if rnd.randrange(50) == 0:
                line = "".join(rnd.choice("ab1 =/;é\t") for _ in range(rnd.randrange(300)))
            lines.append(line)
        more = lines[:300]
        for cfg in ("{}", '{"max_clusters": 30, "extra_delimiters": "/;|", "max_example_bytes": 10}',
                    '{"max_tokens": 3, "max_line_bytes": 20, "depth": 6, "min_distinct": 2}'):
            with self.subTest(cfg):
                if os.path.exists(self.path):
                    os.remove(self.path)
                a = connect(self.path)
                a.execute("CREATE TABLE l(i INTEGER PRIMARY KEY, b TEXT)")
                a.executemany("INSERT INTO l(b) VALUES (?)", [(l,) for l in lines])
                # One transaction: the model stays live in memory (a commit would
                # make the next statement reload it from the file).
                a.execute("BEGIN")
                a.execute("SELECT drain_configure('r', ?)", (cfg,))
                a.execute("SELECT count(drain_template(b, 'r')) FROM l")
                live = a.execute("SELECT drain_match(b, 'r') FROM l ORDER BY i").fetchall()
                live_clusters = a.execute("SELECT * FROM drain_clusters('r') ORDER BY cluster_id").fetchall()
                a.execute("SAVEPOINT s")
                cont_live = [a.execute("SELECT drain_template(?, 'r')", (l,)).fetchone()[0] for l in more]
                ids_live = a.execute("SELECT cluster_id, size FROM drain_clusters('r') ORDER BY 1").fetchall()
                a.execute("ROLLBACK TO s")
                a.execute("COMMIT")
                # The next connection rebuilds the model from the file.
                b = connect(self.path)
                b.execute("BEGIN")
                self.assertEqual(b.execute("SELECT drain_match(b, 'r') FROM l ORDER BY i").fetchall(), live)
                self.assertEqual(b.execute("SELECT * FROM drain_clusters('r') ORDER BY cluster_id").fetchall(), live_clusters)
                cont_back = [b.execute("SELECT drain_template(?, 'r')", (l,)).fetchone()[0] for l in more]
                self.assertEqual(cont_back, cont_live)
                self.assertEqual(b.execute("SELECT cluster_id, size FROM drain_clusters('r') ORDER BY 1").fetchall(), ids_live)
                b.execute("ROLLBACK")


if __name__ == "__main__":
    unittest.main()
