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

from helpers import FIXTURES, connect, err
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


class TestDrainClustersPanicGuard(unittest.TestCase):
    """A panic in any drain_clusters callback is an SQL error (or, for the callbacks
    that report none, ends the scan); the host lives on."""

    def run_with_panic(self, where, code):
        return child(STEPS + code, env={"OTELCAT_TEST_HOOKS": "1", "OTELCAT_TEST_PANIC_DRAIN_CLUSTERS": where})

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

    def test_no_hook_without_the_variable(self):
        code, out, stderr = child(STEPS + self.QUERY, env={"OTELCAT_TEST_PANIC_DRAIN_CLUSTERS": "filter"})
        self.assertEqual(code, 0, stderr)
        self.assertEqual(len(by_step(out)["scan"]["rows"]), 2)


if __name__ == "__main__":
    unittest.main()
