"""Drain log templates through the built extension: drain_template, drain_match,
drain_configure, drain_reset, drain_clusters, persistence and transactions."""
import csv
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

from helpers import err, FIXTURES, SHARED, connect

CLOSED = [
    "connection closed by alpha port x",
    "connection closed by beta port y",
    "connection closed by gamma port z",
]



class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otelcat-drain-")
        self.path = os.path.join(self.dir, "t.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class TestDrainFunctions(Tmp):
    def test_drain_template(self):
        db = connect()
        got = [db.execute("SELECT drain_template(?)", (l,)).fetchone()[0] for l in CLOSED]
        self.assertEqual(got[-1], "connection closed by <*> port <*>")
        # Lines shorter than the tree depth merge too; digits near the start are parameters.
        got = [db.execute("SELECT drain_template(?, 'short')", (l,)).fetchone()[0] for l in ("VM Paused", "VM Paused", "VM Resumed")]
        self.assertEqual(got, ["VM Paused", "VM Paused", "VM Resumed"])
        self.assertEqual(db.execute("SELECT drain_template('13 retries left', 'd')").fetchone()[0], "<*> retries left")
        self.assertIsNone(db.execute("SELECT drain_template(NULL)").fetchone()[0])
        # Numbers and blobs are bodies too; invalid UTF-8 is replaced, NUL bytes are separators.
        self.assertEqual(db.execute("SELECT drain_template(42, 'n')").fetchone()[0], "<*>")
        self.assertIsInstance(db.execute("SELECT drain_template(x'fffe414243', 'b')").fetchone()[0], str)
        self.assertIsInstance(db.execute("SELECT drain_template('a' || char(0) || 'b', 'nul')").fetchone()[0], str)
        self.assertIn("drain_template: argument 2 (partition) must be TEXT", err(db, "SELECT drain_template('x', 5)"))
        self.assertIn("drain_template: partitions starting with 'otlp.' belong to otlp_ingest",
                      err(db, "SELECT drain_template('x', 'otlp.logs/INFO/a')"))
        self.assertIn("wrong number of arguments", err(db, "SELECT drain_template()"))

    def test_directonly(self):
        db = connect(self.path)
        db.execute("CREATE TABLE l(b TEXT)")
        db.execute("CREATE VIEW v AS SELECT drain_template(b) t FROM l")
        self.assertIn("unsafe use of drain_template()", err(db, "SELECT * FROM v"))
        db.execute("CREATE VIEW m AS SELECT drain_match(b) t FROM l")
        db.execute("SELECT * FROM m").fetchall()  # read-only matching is allowed in views

    def test_drain_match(self):
        db = connect()
        for l in CLOSED + ["user bob logged in", "user ann logged in", "user eve logged in"]:
            db.execute("SELECT drain_template(?)", (l,))
        self.assertEqual([db.execute("SELECT drain_match(?)", (l,)).fetchone()[0] for l in CLOSED],
                         ["connection closed by <*> port <*>"] * 3)
        self.assertEqual(db.execute("SELECT drain_match('connection closed by delta port w')").fetchone()[0],
                         "connection closed by <*> port <*>")
        self.assertIsNone(db.execute("SELECT drain_match('never seen anything like it')").fetchone()[0])
        self.assertIsNone(db.execute("SELECT drain_match('x', 'no such partition')").fetchone()[0])
        self.assertIsNone(db.execute("SELECT drain_match(NULL)").fetchone()[0])
        before = db.execute("SELECT count(*) FROM drain_clusters").fetchone()[0]
        db.execute("SELECT drain_match('a brand new line')")
        self.assertEqual(db.execute("SELECT count(*) FROM drain_clusters").fetchone()[0], before, "match must not learn")

    def test_drain_clusters(self):
        db = connect()
        db.execute("CREATE TABLE l(p TEXT, b TEXT)")
        db.executemany("INSERT INTO l VALUES (?, ?)", [("a", x) for x in CLOSED] + [("b", "disk full"), ("b", "disk full")])
        db.execute("SELECT count(drain_template(b, p)) FROM l")
        rows = db.execute("SELECT partition, cluster_id, template, size FROM drain_clusters ORDER BY partition").fetchall()
        self.assertEqual([(r[0], r[2], r[3]) for r in rows], [("a", "connection closed by <*> port <*>", 3), ("b", "disk full", 2)])
        self.assertEqual(db.execute("SELECT template FROM drain_clusters('b')").fetchall(), [("disk full",)])
        self.assertEqual(db.execute("SELECT example FROM drain_clusters('a')").fetchone()[0], CLOSED[0])
        self.assertEqual(db.execute("SELECT count(*) FROM drain_clusters('nothing')").fetchone()[0], 0)
        self.assertIn("drain_clusters: argument 1 (partition) must be TEXT", err(db, "SELECT * FROM drain_clusters(3)"))

    def test_drain_configure(self):
        db = connect(self.path)
        cfg = json.loads(db.execute("""SELECT drain_configure('tight', '{"max_clusters": 2, "sim_th": 0.9}')""").fetchone()[0])
        self.assertEqual((cfg["max_clusters"], cfg["sim_th"], cfg["depth"]), (2, 0.9, 4))
        for l in ("alpha one", "beta two words", "gamma three more words", "delta four more words here"):
            db.execute("SELECT drain_template(?, 'tight')", (l,))
        self.assertEqual(db.execute("SELECT count(*) FROM drain_clusters('tight')").fetchone()[0], 2)  # LRU evicted
        # Default for new partitions.
        db.execute("""SELECT drain_configure('{"param_str": "{var}"}')""")
        self.assertEqual(db.execute("SELECT drain_template('took 15 ms', 'new')").fetchone()[0], "took {var} ms")
        # A trained partition keeps its stored configuration.
        self.assertEqual(db.execute("SELECT drain_template('took 16 ms')").fetchone()[0], "took {var} ms")
        bad = {
            "not json": ("'{nope'", "drain_configure: drain config: invalid JSON"),
            "not an object": ("'[1]'", "drain_configure: drain config: expected a JSON object"),
            "unknown key": ("""'{"simth": 0.5}'""", 'drain_configure: drain config: unknown key "simth"'),
            "out of range": ("""'{"sim_th": 2}'""", 'drain_configure: drain config: "sim_th" must be in 0..=1'),
            "wrong type": ("""'{"depth": "deep"}'""", 'drain_configure: drain config: "depth" must be a non-negative integer'),
            "not text": ("7", "drain_configure: argument 2 must be a JSON object as TEXT"),
        }
        for what, (arg, msg) in bad.items():
            with self.subTest(what):
                self.assertIn(msg, err(db, f"SELECT drain_configure('p', {arg})"))
        self.assertIn("drain_configure: partition 'tight' already holds 2 clusters trained with another configuration",
                      err(db, """SELECT drain_configure('tight', '{"max_clusters": 3}')"""))
        # Nothing was written by the failed calls.
        self.assertIsNone(db.execute("SELECT config FROM otelcat_drain_partitions WHERE partition = 'p'").fetchone())
        # The configuration survives a new connection.
        db2 = connect(self.path)
        self.assertEqual(db2.execute("SELECT drain_template('zeta five words long enough', 'tight')").fetchone()[0],
                         "zeta five words long enough")
        self.assertEqual(db2.execute("SELECT count(*) FROM drain_clusters('tight')").fetchone()[0], 2)

    def test_drain_reset(self):
        db = connect(self.path)
        for l in CLOSED:
            db.execute("SELECT drain_template(?, 'r')", (l,))
        self.assertEqual(db.execute("SELECT drain_reset('r')").fetchone()[0], 1)
        self.assertEqual(db.execute("SELECT count(*) FROM drain_clusters('r')").fetchone()[0], 0)
        self.assertEqual(db.execute("SELECT count(*) FROM otelcat_drain_clusters WHERE partition = 'r'").fetchone()[0], 0)
        self.assertEqual(db.execute("SELECT drain_reset('never')").fetchone()[0], 0)


class TestDrainPersistence(Tmp):
    def test_otelcat_drain_sync(self):
        """The sync table writes the statement's clusters inside its transaction."""
        a = connect(self.path)
        a.execute("SELECT drain_template(?, 'p')", (CLOSED[0],))
        self.assertEqual(a.execute("SELECT count(*) FROM otelcat_drain_clusters").fetchone()[0], 1)
        self.assertEqual(a.execute("SELECT count(*) FROM otelcat_drain_sync").fetchone()[0], 0)

    def test_committed_statements_reach_the_next_connection(self):
        a = connect(self.path)
        a.execute("CREATE TABLE l(b TEXT)")
        a.executemany("INSERT INTO l VALUES (?)", [(x,) for x in CLOSED])
        a.execute("SELECT count(drain_template(b, 'p')) FROM l")
        b = connect(self.path)
        self.assertEqual(b.execute("SELECT drain_match(?, 'p')", (CLOSED[0],)).fetchone()[0], "connection closed by <*> port <*>")
        self.assertEqual(b.execute("SELECT size FROM drain_clusters('p')").fetchone()[0], 3)
        # b continues training from a's clusters; a sees b's commit at its next statement.
        b.execute("SELECT drain_template('connection closed by delta port w', 'p')")
        self.assertEqual(a.execute("SELECT size FROM drain_clusters('p')").fetchone()[0], 4)
        self.assertEqual(a.execute("SELECT count(*) FROM drain_clusters('p')").fetchone()[0], 1)
        ids = a.execute("SELECT cluster_id FROM drain_clusters('p')").fetchall()
        a.execute("SELECT drain_template('something else entirely', 'p')")
        new_ids = a.execute("SELECT cluster_id FROM drain_clusters('p') ORDER BY cluster_id").fetchall()
        self.assertEqual(new_ids[0], ids[0])
        self.assertGreater(new_ids[1][0], ids[0][0], "ids continue, never reused")

    def test_sizes_reach_the_file_statement_after_statement(self):
        a = connect(self.path)
        for _ in range(3):  # created, then two lines that only count
            a.execute("SELECT drain_template('same line again', 's')")
        self.assertEqual(connect(self.path).execute("SELECT size FROM otelcat_drain_clusters WHERE partition = 's'").fetchone()[0], 3)

    def test_rollback_leaves_nothing(self):
        db = connect(self.path)
        db.execute("SELECT drain_template('kept line one', 'p')")
        db.execute("BEGIN")
        db.execute("SELECT drain_template('rolled back alpha', 'p')")
        db.execute("SELECT drain_template('also rolled back', 'p')")
        self.assertEqual(db.execute("SELECT count(*) FROM drain_clusters('p')").fetchone()[0], 3)
        db.execute("ROLLBACK")
        self.assertEqual(db.execute("SELECT template, size FROM drain_clusters('p')").fetchall(), [("kept line one", 1)])
        self.assertIsNone(db.execute("SELECT drain_match('rolled back alpha', 'p')").fetchone()[0])
        self.assertEqual(connect(self.path).execute("SELECT count(*) FROM otelcat_drain_clusters").fetchone()[0], 1)

    def test_savepoint_and_failed_statement_roll_back(self):
        db = connect(self.path)
        db.execute("CREATE TABLE t(x TEXT UNIQUE)")
        db.execute("INSERT INTO t VALUES ('dup')")
        db.execute("BEGIN")
        db.execute("SELECT drain_template('before savepoint', 'p')")
        db.execute("SAVEPOINT s")
        db.execute("SELECT drain_template('inside savepoint', 'p')")
        db.execute("ROLLBACK TO s")
        self.assertEqual([r[0] for r in db.execute("SELECT template FROM drain_clusters('p')")], ["before savepoint"])
        # A write statement that fails is undone, clusters it learned included.
        self.assertIn("UNIQUE", err(db, "INSERT INTO t SELECT drain_template(v, 'p') FROM (SELECT 'new line' v UNION ALL SELECT 'dup')"))
        self.assertEqual([r[0] for r in db.execute("SELECT template FROM drain_clusters('p')")], ["before savepoint"])
        db.execute("COMMIT")
        self.assertEqual(connect(self.path).execute("SELECT template FROM otelcat_drain_clusters").fetchall(), [("before savepoint",)])

    def test_rollback_to_puts_a_generalised_template_back(self):
        db = connect(self.path)
        state = "SELECT cluster_id, template, size FROM drain_clusters('p') ORDER BY 1"
        db.execute("BEGIN")
        db.execute("SELECT drain_template('user bob logged in', 'p')")
        db.execute("SELECT drain_template('user ann logged in', 'p')")
        before = db.execute(state).fetchall()
        self.assertNotIn("user <*> logged in", [r[1] for r in before])
        db.execute("SAVEPOINT s")
        self.assertEqual(db.execute("SELECT drain_template('user eve logged in', 'p')").fetchone()[0], "user <*> logged in")
        db.execute("SAVEPOINT t")
        db.execute("SELECT drain_template('user joe logged in', 'p')")
        db.execute("RELEASE t")
        db.execute("ROLLBACK TO s")
        self.assertEqual(db.execute(state).fetchall(), before)
        db.execute("COMMIT")
        self.assertEqual(connect(self.path).execute("SELECT cluster_id, template, size FROM otelcat_drain_clusters ORDER BY 1").fetchall(),
                         before)

    def test_inside_a_transaction_nothing_is_written_before_commit(self):
        """The drain functions join a transaction and write at its commit."""
        db = connect(self.path)
        db.execute("BEGIN")
        db.execute("SELECT drain_template('one line', 'p')")
        other = connect(self.path)
        self.assertEqual(other.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'otelcat_drain_clusters'").fetchone()[0], 0)
        db.execute("COMMIT")
        self.assertEqual(other.execute("SELECT template FROM otelcat_drain_clusters").fetchall(), [("one line",)])
        # An autocommit statement that writes elsewhere joins too: its own
        # commit writes the clusters.
        db.execute("CREATE TABLE t(x)")
        db.execute("INSERT INTO t SELECT drain_template('two line', 'p')")
        self.assertEqual(other.execute("SELECT count(*) FROM otelcat_drain_clusters").fetchone()[0], 2)

    def test_golden_state_from_v0_1_0(self):
        src = os.path.join(FIXTURES, "drain", "drain_v1.db")
        shutil.copy(src, self.path)
        with open(os.path.join(FIXTURES, "drain", "expected.json")) as f:
            expected = json.load(f)
        db = connect(self.path)
        for part, cases in expected["match"].items():
            for line, template in cases:
                self.assertEqual(db.execute("SELECT drain_match(?, ?)", (line, part)).fetchone()[0], template, line)
        self.assertEqual([list(r) for r in db.execute("SELECT partition, cluster_id, template, size FROM drain_clusters ORDER BY 1, 2")],
                         expected["clusters"])
        # Training continues from the stored state.
        self.assertEqual(db.execute("SELECT drain_template('connection closed by omega port q', 'net')").fetchone()[0],
                         "connection closed by <*> port <*>")

    def test_layout_1_is_rewritten_as_layout_2_when_next_written(self):
        shutil.copy(os.path.join(FIXTURES, "drain", "drain_v1.db"), self.path)
        rows = "SELECT partition, cluster_id, tokens, path, example FROM otelcat_drain_clusters ORDER BY 1, 2"
        db = connect(self.path)
        before = db.execute(rows).fetchall()

        def partitions():
            other = connect(self.path)
            return {p: (layout, json.loads(config))
                    for p, config, layout in other.execute("SELECT partition, config, layout FROM otelcat_drain_partitions")}

        old = partitions()
        self.assertEqual({p: v[0] for p, v in old.items()}, {"app": 1, "net": 1})
        self.assertNotIn("masks", old["net"][1])
        # reading writes nothing
        db.execute("SELECT drain_match('connection closed by alpha port x', 'net')").fetchone()
        self.assertEqual(partitions(), old)
        # a write that rolls back leaves layout 1
        db.execute("BEGIN")
        db.execute("SELECT drain_template('connection closed by omega port q', 'net')").fetchone()
        db.execute("ROLLBACK")
        self.assertEqual(partitions(), old)
        # the next write of 'net' rewrites its row: layout 2, the masks it is read with pinned
        db.execute("SELECT drain_template('connection closed by omega port q', 'net')").fetchone()
        now = partitions()
        self.assertEqual(now["app"], old["app"])
        layout, config = now["net"]
        self.assertEqual(layout, 2)
        defaults = json.loads(db.execute("SELECT drain_configure('{}')").fetchone()[0])["masks"]
        self.assertEqual(config["masks"], defaults)
        self.assertIn("IP", [m["name"] for m in defaults])
        self.assertEqual({k: v for k, v in config.items() if k in old["net"][1]}, old["net"][1])
        # the clusters keep their rows (a layout-1 row reads as layout 2), templates and matches
        self.assertEqual([r for r in db.execute(rows) if r[0] == "app"], [r for r in before if r[0] == "app"])
        self.assertEqual(db.execute("SELECT tokens FROM otelcat_drain_clusters WHERE partition = 'net' ORDER BY cluster_id").fetchall(),
                         [r[2:3] for r in before if r[0] == "net"])
        with open(os.path.join(FIXTURES, "drain", "expected.json")) as f:
            expected = json.load(f)
        fresh = connect(self.path)
        for part, cases in expected["match"].items():
            for line, template in cases:
                self.assertEqual(fresh.execute("SELECT drain_match(?, ?)", (line, part)).fetchone()[0], template, line)


def tpl(db, lines, part="r"):
    """Trains the lines, then returns each line's final template."""
    for l in lines:
        db.execute("SELECT drain_template(?, ?)", (l, part))
    return [db.execute("SELECT drain_match(?, ?)", (l, part)).fetchone()[0] for l in lines]


class TestTemplateRules(unittest.TestCase):
    """The rules of docs/functions.md, through SQL, on hand-written lines."""

    def test_names_with_digits_stay_apart(self):
        db = connect()
        self.assertEqual(tpl(db, ["listening on IPV4 socket", "listening on IPV6 socket"]),
                         ["listening on IPV4 socket", "listening on IPV6 socket"])
        self.assertEqual(tpl(db, ["mounted disk7 ok", "mounted disk12 ok", "mounted disk31 ok"], "d")[0],
                         "mounted disk<*> ok")

    def test_ipv4_and_ipv6_lines_stay_apart_over_many_lines(self):
        # the class: a token holding a digit (IPV4) must not become a
        # parameter by itself; interleaved with changing values, in one model
        db = connect()
        lines = []
        for i in range(40):
            lines.append(f"Binding to IPV4 address 10.0.{i}.7 port {8000 + i} for worker-{i}")
            lines.append(f"Binding to IPV6 address fe80::{i + 1:x}:1 port {9000 + i} for worker-{i}")
        got = tpl(db, lines, "ip")
        self.assertEqual(sorted(set(got)), ["Binding to IPV4 address <IP> port <*> for worker-<*>",
                                            "Binding to IPV6 address <IP> port <*> for worker-<*>"])
        self.assertEqual(got[0::2], [got[0]] * 40)
        self.assertEqual(db.execute("SELECT count(*) FROM drain_clusters('ip')").fetchone()[0], 2)

    def test_optional_parts_make_one_template(self):
        # a size in parentheses and a `<1 sec` on some lines of one event only
        d = tempfile.mkdtemp(prefix="otelcat-drain-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        path = os.path.join(d, "t.db")
        db = connect(path)
        proxy = [
            "gw.example.org:443 close, 403 bytes sent, 426 bytes received, lifetime <1 sec",
            "gw.example.org:443 close, 850 bytes sent, 10547 bytes (10.2 KB) received, lifetime 00:02",
            "gw.example.org:443 close, 1143 bytes (1.11 KB) sent, 365 bytes received, lifetime 00:01",
            "gw.example.org:443 close, 1268 bytes (1.23 KB) sent, 6274 bytes (6.12 KB) received, lifetime <1 sec",
            "gw.example.org:443 close, 0 bytes sent, 0 bytes received, lifetime 02:11:13",
        ]
        got = tpl(db, proxy, "px")
        self.assertEqual(len(set(got)), 1, got)
        px = got[0]
        self.assertEqual(db.execute("SELECT count(*) FROM drain_clusters('px')").fetchone()[0], 1)
        blocks = ["Received block blk_1 of size 67108864 from /10.0.0.1",
                  "Received block blk_2 of size 67108864 (64 MB) from /10.0.0.2",
                  "Received block blk_3 of size 512 from /10.0.0.3"]
        got = tpl(db, blocks, "blk")
        self.assertEqual(got, ["Received block blk_<*> of size <*> from /<IP>"] * 3)
        self.assertEqual(json.loads(db.execute("SELECT drain_params(?, 'blk')", (blocks[1],)).fetchone()[0]),
                         ["2", "67108864 (64 MB)", "10.0.0.2"])
        self.assertEqual(json.loads(db.execute("SELECT drain_params(?, 'blk')", (blocks[0],)).fetchone()[0]),
                         ["1", "67108864", "10.0.0.1"])
        # words are never optional: other events stay apart
        ssh = ["Connection closed by 10.0.0.1 port 22", "Connection closed by 10.0.0.1 port 22 [preauth]",
               "Failed password for root from 10.0.0.1 port 22 ssh2",
               "Failed password for invalid user admin from 10.0.0.2 port 23 ssh2"]
        got = tpl(db, ssh, "ssh")
        self.assertEqual(len(set(got)), 4, got)
        # kept in the file: another connection matches the same way
        other = connect(path)
        for l in proxy:
            self.assertEqual(other.execute("SELECT drain_match(?, 'px')", (l,)).fetchone()[0], px)
        self.assertEqual(other.execute("SELECT drain_match(?, 'blk')", (blocks[1],)).fetchone()[0],
                         "Received block blk_<*> of size <*> from /<IP>")

    def test_vm_lifecycle_states_stay_four_templates_over_many_lines(self):
        # OpenStack compute lines: many instances, states in any order,
        # among other lines of the same shape
        import random
        rnd = random.Random(7)
        db = connect()
        lines = []
        for i in range(200):
            u = f"{rnd.getrandbits(32):08x}-{rnd.getrandbits(16):04x}-4{rnd.getrandbits(12):03x}-a{rnd.getrandbits(12):03x}-{rnd.getrandbits(48):012x}"
            s = rnd.choice(["Paused", "Resumed", "Started", "Stopped"])
            lines.append(f"[instance: {u}] VM {s} (Lifecycle Event)")
            if i % 5 == 0:
                lines.append(f"[instance: {u}] Took {rnd.randint(1, 40)}.{rnd.randint(10, 99)} seconds to build instance.")
        got = tpl(db, lines, "vm")
        vm = sorted({t for t, l in zip(got, lines) if " VM " in l})
        self.assertEqual(vm, [f"[instance: <UUID>] VM {s} (Lifecycle Event)"
                              for s in ("Paused", "Resumed", "Started", "Stopped")])
        for t, l in zip(got, lines):
            if " VM " in l:
                self.assertIn(l.split(" VM ")[1].split()[0], t)

    def test_documented_promise_vm_states_stay_apart(self):
        db = connect()
        vm = [f"[instance: {u}] VM {s} (Lifecycle Event)"
              for u in ("0b9f7c2e-1d2a-4c3b-9e8f-123456789abc", "1c9f7c2e-1d2a-4c3b-9e8f-123456789abd")
              for s in ("Started", "Paused", "Resumed", "Resumed", "Stopped")]
        got = tpl(db, vm)
        self.assertEqual(sorted(set(got)), [f"[instance: <UUID>] VM {s} (Lifecycle Event)"
                                            for s in ("Paused", "Resumed", "Started", "Stopped")])
        # while free values generalise
        self.assertEqual(tpl(db, ["user ann logged in", "user bob logged in", "user eve logged in"], "u")[0],
                         "user <*> logged in")

    def test_constants_stay_literal_until_they_vary(self):
        db = connect()
        self.assertEqual(tpl(db, ["auth failure uid=0 rhost=10.0.0.1", "auth failure uid=0 rhost=10.0.0.2"]),
                         ["auth failure uid=0 rhost=<IP>"] * 2)
        self.assertEqual(tpl(db, ["exit code 1", "exit code 2"], "e"), ["exit code <*>"] * 2)
        self.assertEqual(tpl(db, ["fetched blk_-4021 from node-17 in 250ms"], "b"),
                         ["fetched blk_<*> from node-<*> in <*>ms"])

    def test_repeating_values_and_field_names_stay_apart(self):
        db = connect()
        got = tpl(db, ["login user=root"] * 3 + ["login user=guest"] * 3 + ["login user=test"])
        self.assertEqual(got[0], "login user=root")
        self.assertEqual(got[-1], "login user=test")
        self.assertEqual(tpl(db, ["Total disk: 15", "Total memory: 64", "Total vcpu: 16"], "f"),
                         ["Total disk: <*>", "Total memory: <*>", "Total vcpu: <*>"])


class TestMasks(unittest.TestCase):
    def test_default_masks(self):
        db = connect()
        line = "peer 10.0.0.1:5000 id 0b9f7c2e-1d2a-4c3b-9e8f-123456789abc read /var/lib/x/y.db at 0x7ffe12"
        self.assertEqual(db.execute("SELECT drain_template(?)", (line,)).fetchone()[0],
                         "peer <IP>:<*> id <UUID> read <PATH> at <HEX>")
        self.assertEqual(db.execute("SELECT drain_template('GET https://example.org/a?b=1 done', 'u')").fetchone()[0],
                         "GET https://<URL> done")

    def test_configured_masks(self):
        db = connect()
        db.execute("""SELECT drain_configure('off', '{"masks": []}')""")
        self.assertEqual(db.execute("SELECT drain_template('peer 10.0.0.1:5000 up', 'off')").fetchone()[0],
                         "peer <*>:<*> up")
        cfg = json.loads(db.execute(
            "SELECT drain_configure('k', json_object('masks', json_array('default', "
            "json_object('name', 'POD', 'regex', 'pod-[a-z0-9]+'))))").fetchone()[0])
        self.assertEqual([m["name"] for m in cfg["masks"]], ["URL", "PATH", "UUID", "IP", "HEX", "POD"])
        self.assertEqual(db.execute("SELECT drain_template('restarted pod-7f9c2 on 10.0.3.7', 'k')").fetchone()[0],
                         "restarted <POD> on <IP>")
        # a group masks only itself
        db.execute("SELECT drain_configure('g', ?)", (json.dumps({"masks": [{"name": "CMD", "regex": r"executed cmd (\S+)"}]}),))
        self.assertEqual(db.execute("SELECT drain_template('executed cmd ls now', 'g')").fetchone()[0],
                         "executed cmd <CMD> now")

    def test_bad_masks_are_refused_and_write_nothing(self):
        db = connect()
        bad = {
            '{"masks": [{"name": "X", "regex": "a(b"}]}': 'mask "X": invalid regex',
            '{"masks": [{"name": "X-1", "regex": "a"}]}': '"name" must be 1 to 14 ASCII letters',
            '{"masks": [{"name": "ABCDEFGHIJKLMNO", "regex": "a"}]}': '"name" must be 1 to 14',
            '{"masks": [{"name": "X", "regex": ""}]}': '"regex" must be 1 to 1024 bytes',
            '{"masks": {"name": "X"}}': '"masks" must be an array',
            '{"masks": [{"name": "X", "regex": "a", "flags": "i"}]}': 'unknown key "flags"',
            '{"masks": [7]}': 'masks[0] must be an object',
        }
        for cfg, msg in bad.items():
            with self.subTest(cfg):
                self.assertIn(msg, err(db, "SELECT drain_configure('p', ?)", (cfg,)))
        many = json.dumps({"masks": [{"name": f"M{i}", "regex": f"x{i}"} for i in range(17)]})
        self.assertIn('"masks" holds 17 masks, more than 16', err(db, "SELECT drain_configure('p', ?)", (many,)))
        long = json.dumps({"masks": [{"name": "L", "regex": "a" * 1025}]})
        self.assertIn('"regex" must be 1 to 1024 bytes, got 1025', err(db, "SELECT drain_configure('p', ?)", (long,)))
        # a program too large to compile is refused, not built
        huge = json.dumps({"masks": [{"name": "H", "regex": "\\w{1000}\\w{1000}\\w{1000}"}]})
        self.assertIn('mask "H": invalid regex', err(db, "SELECT drain_configure('p', ?)", (huge,)))
        self.assertEqual(db.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'otelcat_drain_partitions'").fetchone()[0] and
                         db.execute("SELECT count(*) FROM otelcat_drain_partitions WHERE partition = 'p'").fetchone()[0], 0)

    def test_stored_masks_are_read_with_suspicion(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.db")
            db = connect(path)
            db.execute("SELECT drain_template('a b c', 'p')")
            cfg = json.loads(db.execute("SELECT config FROM otelcat_drain_partitions WHERE partition = 'p'").fetchone()[0])
            self.assertEqual(len(cfg["masks"]), 5)
            cfg["masks"] = [{"name": "X", "regex": "(("}]
            db.execute("UPDATE otelcat_drain_partitions SET config = ? WHERE partition = 'p'", (json.dumps(cfg),))
            db.close()
            db = connect(path)
            e = err(db, "SELECT drain_match('a b c', 'p')")
            self.assertIn("drain partition 'p'", e)
            self.assertIn('mask "X": invalid regex', e)
            self.assertIn("drain_reset('p')", e)


class TestParamsAndSeeds(Tmp):
    def test_drain_params(self):
        db = connect()
        for l in ["user ann logged in from 10.0.0.1:22", "user bob logged in from 10.0.0.2:22",
                  "user eve logged in from 10.0.0.3:2222"]:
            db.execute("SELECT drain_template(?)", (l,))
        self.assertEqual(json.loads(db.execute("SELECT drain_params('user zed logged in from 10.1.1.1:80')").fetchone()[0]),
                         ["zed", "10.1.1.1", "80"])
        self.assertIsNone(db.execute("SELECT drain_params('no such line')").fetchone()[0])
        self.assertIsNone(db.execute("SELECT drain_params(NULL)").fetchone()[0])
        self.assertIsNone(db.execute("SELECT drain_params('x', 'no such partition')").fetchone()[0])
        self.assertIn("drain_params: argument 2 (partition) must be TEXT", err(db, "SELECT drain_params('x', 5)"))

    def test_drain_params_on_an_ingest_partition(self):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from otlp_payloads import log, logs
        db = connect(self.path)
        recs = [log(f"payment {i} failed for order {1000 + i}", severity_number=17, severity_text="ERROR") for i in range(5)]
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs(recs, service="checkout"),))
        part = "otlp.logs/ERROR/checkout"
        self.assertEqual(json.loads(db.execute("SELECT drain_params('payment 9 failed for order 4711', ?)", (part,)).fetchone()[0]),
                         ["9", "4711"])

    def test_drain_seed(self):
        db = connect(self.path)
        sid = db.execute("SELECT drain_seed('jobs', 'job <*> finished in <*> ms')").fetchone()[0]
        self.assertEqual(db.execute("SELECT drain_seed('jobs', 'job <*> finished in <*> ms')").fetchone()[0], sid)
        self.assertEqual(db.execute("SELECT drain_template('job nightly finished in 5200 ms', 'jobs')").fetchone()[0],
                         "job <*> finished in <*> ms")
        # other lines learn as usual and never change the seed
        for l in ["job a failed", "job b failed", "job c failed"]:
            db.execute("SELECT drain_template(?, 'jobs')", (l,))
        rows = db.execute("SELECT cluster_id, template, size FROM drain_clusters('jobs') ORDER BY cluster_id").fetchall()
        self.assertEqual(rows[0], (sid, "job <*> finished in <*> ms", 1))
        self.assertIn((rows[1][0], "job <*> failed", 3), rows)
        # kept in the file
        other = connect(self.path)
        self.assertEqual(other.execute("SELECT drain_match('job x finished in 1 ms', 'jobs')").fetchone()[0],
                         "job <*> finished in <*> ms")
        self.assertEqual(json.loads(other.execute("SELECT drain_params('job x finished in 1 ms', 'jobs')").fetchone()[0]),
                         ["x", "1"])
        tokens = other.execute("SELECT tokens FROM otelcat_drain_clusters WHERE partition = 'jobs' AND cluster_id = ?",
                               (sid,)).fetchone()[0]
        self.assertTrue(tokens.startswith('{"seed":['), tokens)
        # errors
        self.assertIn("drain_seed: partitions starting with 'otlp.' belong to otlp_ingest",
                      err(db, "SELECT drain_seed('otlp.logs/INFO/x', 'a <*>')"))
        self.assertIn("seed a partition of your own",
                      err(db, "SELECT drain_seed('otlp.logs/ERROR/svc', 'disk <*> is full')"))
        # and writes nothing
        self.assertEqual(db.execute("SELECT count(*) FROM drain_clusters WHERE partition LIKE 'otlp.%'").fetchone()[0], 0)
        self.assertEqual(db.execute("SELECT count(*) FROM otelcat_drain_partitions WHERE partition LIKE 'otlp.%'").fetchone()[0], 0)
        self.assertIn("the template has no token", err(db, "SELECT drain_seed('jobs', '   ')"))
        self.assertIn("argument 2 (template) must be TEXT", err(db, "SELECT drain_seed('jobs', NULL)"))
        self.assertIn("more than max_line_bytes", err(db, "SELECT drain_seed('jobs', ?)", ("x" * 3001,)))
        db.execute("""SELECT drain_configure('few', '{"max_clusters": 3}')""")
        db.execute("SELECT drain_seed('few', 'a <*>')")
        db.execute("SELECT drain_seed('few', 'b <*>')")
        self.assertIn("seeded templates", err(db, "SELECT drain_seed('few', 'c <*>')"))
        ro = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        ro.enable_load_extension(True)
        from helpers import EXT
        ro.load_extension(EXT)
        self.assertIn("drain_seed: the database is read-only", err(ro, "SELECT drain_seed('jobs', 'z <*>')"))

    def test_directonly(self):
        db = connect(self.path)
        db.execute("CREATE TABLE l(b TEXT)")
        db.execute("CREATE VIEW s AS SELECT drain_seed('p', b) t FROM l")
        self.assertIn("unsafe use of drain_seed()", err(db, "SELECT * FROM s"))
        db.execute("CREATE VIEW v AS SELECT drain_params(b) t FROM l")
        db.execute("SELECT * FROM v").fetchall()


class TestDrainBounds(unittest.TestCase):
    def test_hostile_lines(self):
        db = connect()
        cases = {
            "10 MB line": "x" * 10_000_000,
            "100k tokens": " ".join(["tok"] * 100_000),
            "whitespace only": " \t  \n ",
            "empty": "",
            "NUL bytes": "a\x00b\x00c",
        }
        for what, line in cases.items():
            with self.subTest(what):
                t = db.execute("SELECT drain_template(?, 'hostile')", (line,)).fetchone()[0]
                self.assertIsInstance(t, str)
                self.assertLessEqual(len(t), 3100)
                self.assertEqual(db.execute("SELECT drain_match(?, 'hostile')", (line,)).fetchone()[0], t)
        self.assertIsInstance(db.execute("SELECT drain_template(?, 'hostile')", (b"\xff\xfe\xfd bad utf8",)).fetchone()[0], str)

    def test_million_one_off_lines_plateau(self):
        """Memory stays bounded: RSS after 1M distinct lines is within 25% of RSS after 250k."""
        code = r"""
import sys, resource
sys.path.insert(0, %r)
from helpers import connect
db = connect()
db.execute('''SELECT drain_configure('m', '{"max_clusters": 2000}')''')
def rss():
    return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])
gen = '''WITH RECURSIVE s(v) AS (SELECT ?1 UNION ALL SELECT v + 1 FROM s WHERE v < ?2)
SELECT count(drain_template(w || ' ' || w2 || ' happened', 'm')) FROM (SELECT
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(hex(randomblob(5))),
  '0','g'),'1','h'),'2','i'),'3','j'),'4','k'),'5','l'),'6','m'),'7','n'),'8','o'),'9','p') AS w,
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(hex(randomblob(4))),
  '0','g'),'1','h'),'2','i'),'3','j'),'4','k'),'5','l'),'6','m'),'7','n'),'8','o'),'9','p') AS w2 FROM s)'''
db.execute(gen, (1, 250000)).fetchone(); a = rss()
db.execute(gen, (250001, 1000000)).fetchone(); b = rss()
n = db.execute("SELECT count(*) FROM drain_clusters('m')").fetchone()[0]
print(a, b, n)
""" % os.path.dirname(os.path.abspath(__file__))
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        a, b, n = map(int, r.stdout.split())
        self.assertLessEqual(n, 2000)
        self.assertLess(b, a * 1.25 + 8192, f"RSS {a} kB after 250k lines, {b} kB after 1M")


class TestLoghubAccuracy(unittest.TestCase):
    @unittest.skipUnless(glob.glob(os.path.join(SHARED, "data", "loghub-2k", "*", "*_structured.csv")),
                         "../shared/data/loghub-2k not present")
    def test_grouping_accuracy_over_loghub(self):
        """Over the Loghub-2k systems, drain_template over the file then drain_match: average GA >= 0.95,
        no system below 0.85, average exact templates (PA) >= 0.75."""
        sys.path.insert(0, os.path.join(SHARED, "tools"))
        import loghub_eval
        gas, pas = [], []
        for f in sorted(glob.glob(os.path.join(SHARED, "data", "loghub-2k", "*", "*_structured.csv"))):
            contents, truth = loghub_eval.load_truth(f)
            db = connect()
            db.execute("CREATE TABLE l(i INTEGER PRIMARY KEY, body TEXT)")
            db.executemany("INSERT INTO l(body) VALUES (?)", [(c,) for c in contents])
            db.execute("SELECT count(drain_template(body)) FROM l")
            pred = [r[0] for r in db.execute("SELECT drain_match(body) FROM l ORDER BY i")]
            ga, pa = loghub_eval.score(truth, pred)[:2]
            gas.append(ga)
            pas.append(pa)
        self.assertGreaterEqual(sum(gas) / len(gas), 0.95, gas)
        self.assertGreaterEqual(min(gas), 0.85, gas)
        self.assertGreaterEqual(sum(pas) / len(pas), 0.75, pas)


if __name__ == "__main__":
    unittest.main()
