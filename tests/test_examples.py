"""The per-driver examples run as their READMEs say and print the catalog:
examples/python (Debian's python3 + sqlite3), examples/node (better-sqlite3@12,
from tests/node/node_modules through NODE_PATH), examples/shell (sqlite3 CLI
with readfile()), examples/go (when a Go toolchain is installed: Debian's
golang-go, Go 1.19; without network it builds against Debian's
golang-github-mattn-go-sqlite3-dev, and skips when neither is there)."""
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from helpers import ROOT

SYSPY = os.environ.get("SYSPY") or "/usr/bin/python3"
NODE = os.environ.get("NODE") or shutil.which("node")
SQLITE = os.environ.get("SQLITE") or shutil.which("sqlite3")
NODE_MODULES = os.path.join(ROOT, "tests", "node", "node_modules")
CI = bool(os.environ.get("CI"))


def run(cmd, cwd, env=None, timeout=60):
    r = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"{cmd} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.stdout


def counts(path):
    """What the examples' catalog file holds, read without the extension."""
    db = sqlite3.connect(path)
    try:
        return {
            "metrics": db.execute("SELECT group_concat(name || '=' || total_sample_count, ' ') "
                                  "FROM (SELECT * FROM metrics ORDER BY name)").fetchone()[0],
            "spans": db.execute("SELECT total_sample_count FROM spans WHERE name = 'I''m a server span'").fetchone()[0],
            "logs": db.execute("SELECT total_sample_count FROM logs WHERE severity = 'INFO'").fetchone()[0],
        }
    finally:
        db.close()


# Lines both the Python and the Node example print (fixtures ingested as JSON
# and as protobuf: 2 per record).
COMMON = [
    "my.counter | Sum | 1 | 2 | 1",
    "my.exponential.histogram | ExponentialHistogram | 1 | 2 | 1",
    "my.histogram | Histogram | 1 | 2 | 1",
    "I'm a server span | my.service | 2",
    "INFO | my.service | Example log record | 2",
    "A protobuf payload without its signal: otlp_ingest: a protobuf payload needs its signal",
]
TWICE = {"metrics": "my.counter=2 my.exponential.histogram=2 my.gauge=2 my.histogram=2", "spans": 2, "logs": 4}


class TestExamples(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="otelcat-examples-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def test_python(self):
        script = os.path.join(ROOT, "examples", "python", "ingest_and_query.py")
        out = run([SYSPY, script], cwd=self.tmp)          # any working directory
        self.assertRegex(out, r"^otelcat v\d+\.\d+\.\d+ on SQLite 3\.\d+")
        for line in COMMON + ["I'm a server span | attribute | my.span.attr | 2 | 100.0 | 1 | [\"some value\"]",
                              "service.name | metrics,spans,logs | 4 | 1 | 1 | 14 | 1",
                              '"name": "my.histogram"']:
            self.assertIn(line, out)
        db = os.path.join(self.tmp, "catalog.db")
        run([SYSPY, script, db], cwd=self.tmp)
        self.assertEqual(counts(db), TWICE)

    def test_python_that_cannot_load_extensions_says_which_can(self):
        """Run by an interpreter whose sqlite3 has no enable_load_extension
        (pyenv's, found here when installed), the example exits with a
        sentence naming one that can, not an AttributeError."""
        import glob
        found = None
        for cand in [shutil.which("python3")] + sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))):
            if cand and subprocess.run([cand, "-c", "import sqlite3, sys; sys.exit(hasattr(sqlite3.connect(':memory:'), "
                                              "'enable_load_extension'))"], capture_output=True).returncode == 0:
                found = cand
                break
        if not found:
            self.skipTest("no Python without extension loading on this machine (pyenv's has none)")
        r = subprocess.run([found, os.path.join(ROOT, "examples", "python", "ingest_and_query.py")], cwd=self.tmp,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertNotIn("Traceback", r.stderr)
        self.assertIn("cannot load extensions", r.stderr)
        self.assertIn("/usr/bin/python3", r.stderr)

    def test_go(self):
        go = shutil.which("go")
        if not go:
            self.skipTest("no Go toolchain (apt-get install golang-go golang-github-mattn-go-sqlite3-dev libsqlite3-dev)")
        src = os.path.join(ROOT, "examples", "go")
        with open(os.path.join(src, "go.mod")) as f:
            wanted = re.search(r"^go (\d+)\.(\d+)", f.read(), re.M).groups()
        have = re.search(r"go(\d+)\.(\d+)", subprocess.run([go, "version"], capture_output=True, text=True).stdout).groups()
        # What the README promises: Debian 12's Go 1.19 is enough.
        self.assertLessEqual(tuple(map(int, wanted)), (1, 19), "examples/go/go.mod asks for a newer Go than Debian 12's")
        work = os.path.join(self.tmp, "go")
        shutil.copytree(src, work)
        env = {"GOPATH": os.path.join(self.tmp, "gopath"), "GOCACHE": os.path.join(self.tmp, "gocache"),
               "GOFLAGS": "-mod=mod"}
        debian = "/usr/share/gocode/src/github.com/mattn/go-sqlite3"
        tags = []
        online = subprocess.run([go, "mod", "tidy"], cwd=work, env={**os.environ, **env}, capture_output=True,
                                timeout=300).returncode == 0
        if not online:
            if not os.path.isdir(debian):
                self.skipTest("go mod tidy cannot download go-sqlite3 and golang-github-mattn-go-sqlite3-dev is not installed")
            env["GOPROXY"] = "off"
            run([go, "mod", "edit", f"-replace=github.com/mattn/go-sqlite3={debian}"], cwd=work, env=env)
            run([go, "mod", "tidy"], cwd=work, env=env, timeout=300)
            tags = ["-tags", "libsqlite3"]      # Debian's source has no SQLite amalgamation
        out = run([go, "run", *tags, ".", "-ext", os.path.join(ROOT, "dist", "otelcat"),
                   "-fixtures", os.path.join(ROOT, "tests", "fixtures", "otlp")], cwd=work, env=env, timeout=900)
        self.assertRegex(out, r"^otelcat v\d+\.\d+\.\d+ on SQLite 3\.\d+")
        for line in COMMON[:5] + ["I'm a server span | attribute | my.span.attr | 2 | 100 | 1 | [\"some value\"]"]:
            self.assertIn(line, out)
        self.assertTrue(tuple(map(int, have)) >= tuple(map(int, wanted)))

    def test_node(self):
        if not NODE:
            self.skipTest("node is not installed")
        if not os.path.isdir(os.path.join(NODE_MODULES, "better-sqlite3")):
            if CI:
                self.fail("tests/node/node_modules has no better-sqlite3: make test-python needs tests/node/node_modules/.ok")
            self.skipTest("tests/node/node_modules has no better-sqlite3 yet (make test-node installs it)")
        script = os.path.join(ROOT, "examples", "node", "ingest_and_query.mjs")
        env = {"NODE_PATH": NODE_MODULES}
        out = run([NODE, script], cwd=self.tmp, env=env)
        self.assertRegex(out, r"^otelcat v\d+\.\d+\.\d+ on SQLite 3\.\d+")
        for line in COMMON + ["I'm a server span | attribute | my.span.attr | 2 | 100 | 1 | [\"some value\"]",
                              '"name": "my.gauge"', "service.name sketch: 12 bytes, hll_count = 1"]:
            self.assertIn(line, out)
        db = os.path.join(self.tmp, "catalog.db")
        run([NODE, script, db], cwd=self.tmp, env=env)
        self.assertEqual(counts(db), TWICE)

    def test_shell(self):
        if not SQLITE:
            self.skipTest("the sqlite3 CLI is not installed")
        script = os.path.join(ROOT, "examples", "shell", "ingest.sh")
        db = os.path.join(self.tmp, "catalog.db")
        out = run([script, "catalog.db"], cwd=self.tmp, env={"SQLITE": SQLITE})   # relative to the caller
        for line in ["│ my.counter               │ Sum                  │ 1    │ 2                  │ 1                       │",
                     "│ I'm a server span │ attribute │ my.span.attr │ 2         │ 1                     │ [\"some value\"] │",
                     "│ INFO     │ my.service   │ Example log record │ 2     │",
                     "│ service.name      │ metrics,spans,logs │ 12          │ 1                     │"]:
            self.assertIn(line, out)
        # trace, metrics, logs (no events) as JSON and as protobuf
        self.assertEqual(counts(db), {**TWICE, "logs": 2})
        run([script, db], cwd=ROOT, env={"SQLITE": SQLITE})                        # a second run adds up
        self.assertEqual(counts(db), {"metrics": "my.counter=4 my.exponential.histogram=4 my.gauge=4 my.histogram=4",
                                      "spans": 4, "logs": 4})


if __name__ == "__main__":
    unittest.main()
