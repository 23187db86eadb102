"""The packages as users install them: the wheel and the npm tarball that
`make packages` writes to dist/, installed into a fresh venv (made from
Debian's /usr/bin/python3) and a fresh Node project, then used from there:
load(conn) with sqlite3 and sqlite-utils, every `otelcat` subcommand through
its console script (output and exit codes), the Datasette plugin, and
getLoadablePath()/load(db) with better-sqlite3. Nothing here imports the
package from the source tree: every check runs in a subprocess whose working
directory is a temporary folder.

pip resolves otelcat (with Datasette and grpcio) and sqlite-utils against the pinned
examples/datasette/requirements.txt and tests/requirements-packages.txt
(PyPI, cached by pip). Without the artifacts (make packages) or without
network for pip the tests skip, and with CI set they fail."""
import glob
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import zipfile

from helpers import FIXTURES, ROOT

CI = bool(os.environ.get("CI"))
SYSPY = os.environ.get("SYSPY") or "/usr/bin/python3"
NODE = shutil.which("node")
NPM = shutil.which("npm")
OTLP = os.path.join(FIXTURES, "otlp")
NODE_MODULES = os.path.join(ROOT, "tests", "node", "node_modules")


def cargo_version():
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        return re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)


VERSION = cargo_version()


def wheel_path():
    found = sorted(glob.glob(os.path.join(ROOT, "dist", f"otelcat-{VERSION}-*.whl")))
    return found[-1] if found else None


def missing(what):
    msg = f"{what} (make packages builds dist/)"
    if CI:
        raise AssertionError(msg)
    raise unittest.SkipTest(msg)


def clean_env(**extra):
    """The environment of a user's shell: no variable that points at the source tree."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "OTELCAT_LOADABLE_PATH", "VIRTUAL_ENV", "NODE_PATH")}
    env.update(extra)
    return env


class Venv:
    """One fresh venv with the wheel installed, shared by the Python tests."""
    dir = None

    @classmethod
    def get(cls):
        if cls.dir is None:
            whl = wheel_path()
            if not whl:
                missing(f"no dist/otelcat-{VERSION}-*.whl")
            cls.tmp = tempfile.mkdtemp(prefix="otelcat-pkg-venv-")
            subprocess.run([SYSPY, "-m", "venv", cls.tmp], check=True, capture_output=True)
            r = subprocess.run([os.path.join(cls.tmp, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check",
                                "-c", os.path.join(ROOT, "examples", "datasette", "requirements.txt"),
                                "-c", os.path.join(ROOT, "tests", "requirements-packages.txt"),
                                whl, "sqlite-utils"],
                               capture_output=True, text=True, env=clean_env(), timeout=600)
            if r.returncode != 0:
                shutil.rmtree(cls.tmp, ignore_errors=True)
                msg = f"pip install of {os.path.basename(whl)} failed:\n{r.stderr[-3000:]}"
                if CI:
                    raise AssertionError(msg)
                raise unittest.SkipTest(msg)
            cls.dir = cls.tmp
        return cls.dir


def tearDownModule():
    if Venv.dir:
        shutil.rmtree(Venv.dir, ignore_errors=True)


class PackageTest(unittest.TestCase):
    def setUp(self):
        self.venv = Venv.get()
        self.tmp = tempfile.mkdtemp(prefix="otelcat-pkg-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def bin(self, name):
        return os.path.join(self.venv, "bin", name)

    def run_(self, args, code=0, stdin=None, env=None, timeout=120):
        """Runs args in the temporary folder; asserts the exit code; returns (stdout, stderr)."""
        r = subprocess.run(args, cwd=self.tmp, input=stdin, capture_output=True, env=clean_env(**(env or {})),
                           timeout=timeout)
        out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, code, f"{args} exited {r.returncode}, expected {code}:\n{out[-3000:]}\n{err[-3000:]}")
        return out, err

    def otelcat(self, *args, code=0, stdin=None):
        return self.run_([self.bin("otelcat"), *args], code=code, stdin=stdin)

    def python(self, code, exit_code=0):
        return self.run_([self.bin("python"), "-c", code], code=exit_code)[0]

    def path(self, name):
        return os.path.join(self.tmp, name)

    def ingest_fixtures(self, db="c.db"):
        self.otelcat("ingest", "--db", self.path(db), *(os.path.join(OTLP, f) for f in
                                                         ("trace.json", "metrics.json", "logs.json", "events.json")))
        return self.path(db)

    def one_line_error(self, err, *fragments):
        lines = [line for line in err.splitlines() if line.startswith("otelcat")]
        self.assertEqual(len(lines), 1, err)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])


class TestWheel(unittest.TestCase):
    def test_wheel_contents_and_tags(self):
        whl = wheel_path() or missing(f"no dist/otelcat-{VERSION}-*.whl")
        # Platform-tagged: any Python 3, the glibc the extension needs, x86_64.
        self.assertRegex(os.path.basename(whl), rf"^otelcat-{re.escape(VERSION)}-py3-none-manylinux_2_\d+_x86_64\.whl$")
        with open(os.path.join(ROOT, "dist", "otelcat.so"), "rb") as f:
            needed = max(int(m) for m in re.findall(rb"GLIBC_2\.(\d+)", f.read()))
        self.assertIn(f"manylinux_2_{needed}_", os.path.basename(whl))
        with zipfile.ZipFile(whl) as z:
            names = set(z.namelist())
            for name in ("otelcat/__init__.py", "otelcat/otelcat.so", "otelcat/cli.py", "otelcat/datasette_plugin.py",
                         "otelcat/data/merge.sql", "otelcat/data/diff.sql", "otelcat/data/datasette-metadata.yml",
                         "otelcat/data/views.sql",
                         f"otelcat-{VERSION}.dist-info/licenses/LICENSE", f"otelcat-{VERSION}.dist-info/licenses/NOTICE"):
                self.assertIn(name, names)
            self.assertEqual(z.read("otelcat/_version.py").decode().split('"')[1], VERSION)
            meta = z.read(f"otelcat-{VERSION}.dist-info/METADATA").decode()
            self.assertIn(f"Version: {VERSION}\n", meta)
            self.assertIn("Requires-Dist: datasette>=0.65,<0.66", meta)
            self.assertIn("Requires-Dist: grpcio>=1.60", meta)
            eps = z.read(f"otelcat-{VERSION}.dist-info/entry_points.txt").decode()
            self.assertIn("otelcat = otelcat.cli:main", eps)
            self.assertIn("[datasette]\notelcat = otelcat.datasette_plugin", eps)
            # RECORD lists every file with its hash.
            record = z.read(f"otelcat-{VERSION}.dist-info/RECORD").decode()
            for line in record.splitlines():
                name, digest, _ = line.split(",")
                if digest:
                    import base64
                    h = base64.urlsafe_b64encode(hashlib.sha256(z.read(name)).digest()).rstrip(b"=").decode()
                    self.assertEqual(digest, "sha256=" + h, name)
            self.assertEqual(z.read("otelcat/otelcat.so"), open(os.path.join(ROOT, "dist", "otelcat.so"), "rb").read())

    def test_the_version_is_written_in_one_place(self):
        """Cargo.toml's version is the one every package reports; the copies in
        the source tree agree with it."""
        with open(os.path.join(ROOT, "python", "otelcat", "_version.py")) as f:
            self.assertEqual(f.read().split('"')[1], VERSION)
        with open(os.path.join(ROOT, "npm", "package.json")) as f:
            self.assertEqual(json.load(f)["version"], VERSION)
        with open(os.path.join(ROOT, "CHANGELOG.md")) as f:
            self.assertRegex(f.read(), rf"\n## {re.escape(VERSION)}\b")
        db = sqlite3.connect(":memory:")
        db.enable_load_extension(True)
        db.load_extension(os.path.join(ROOT, "dist", "otelcat"))
        self.assertEqual(db.execute("SELECT otelcat_version()").fetchone()[0], "v" + VERSION)


class TestDist(unittest.TestCase):
    def test_release_tarball_and_checksums(self):
        """make dist: the tarball holds the extension, sql/, the docs, the
        licenses, the changelog and both packages; SHA256SUMS is right."""
        import tarfile
        name = f"otelcat-{VERSION}-linux-x86_64"
        tarball = os.path.join(ROOT, "dist", name + ".tar.gz")
        sums = os.path.join(ROOT, "dist", "SHA256SUMS")
        if not (os.path.exists(tarball) and os.path.exists(sums)):
            missing("no release tarball or SHA256SUMS in dist/ (make dist)")
        with tarfile.open(tarball) as t:
            names = set(t.getnames())
            for member in ("otelcat.so", "sql/schema.sql", "sql/views.sql", "docs/functions.md", "docs/images/dashboard.png",
                           "README.md", "CHANGELOG.md", "LICENSE", "NOTICE", f"otelcat-{VERSION}.tgz",
                           os.path.basename(wheel_path())):
                self.assertIn(f"{name}/{member}", names)
            self.assertEqual(t.extractfile(f"{name}/otelcat.so").read(),
                             open(os.path.join(ROOT, "dist", "otelcat.so"), "rb").read())
            self.assertTrue(all(m.uid == 0 and m.gid == 0 for m in t.getmembers()))
        listed = {}
        with open(sums) as f:
            for line in f:
                digest, file = line.split()
                listed[file] = digest
        self.assertEqual(set(listed), {"otelcat.so", os.path.basename(wheel_path()), f"otelcat-{VERSION}.tgz",
                                       name + ".tar.gz"})
        for file, digest in listed.items():
            with open(os.path.join(ROOT, "dist", file), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest, file)


class TestPythonPackage(PackageTest):
    def test_load_with_sqlite3(self):
        out = self.python("import sqlite3, otelcat, os\n"
                          "db = sqlite3.connect(':memory:')\n"
                          "otelcat.load(db)\n"
                          "print(db.execute('SELECT otelcat_version(), hll_count(hll_add(NULL, 1))').fetchone())\n"
                          "print(otelcat.__version__)\n"
                          "print(os.path.exists(otelcat.loadable_path() + '.so'), otelcat.loadable_path())\n"
                          "print(otelcat.__file__)")
        lines = out.splitlines()
        self.assertEqual(lines[0], f"('v{VERSION}', 1)")
        self.assertEqual(lines[1], VERSION)
        self.assertTrue(lines[2].startswith(f"True {self.venv}/lib/"), lines[2])
        self.assertTrue(lines[3].startswith(self.venv), "imported from the source tree: " + lines[3])

    def test_load_with_sqlite_utils(self):
        out = self.python("import sqlite_utils, otelcat\n"
                          "db = sqlite_utils.Database(memory=True)\n"
                          "otelcat.load(db.conn)\n"
                          "db.execute(\"INSERT INTO otlp_ingest(payload) VALUES (?)\", [open(%r).read()])\n"
                          "print([r['name'] for r in db.query('SELECT name FROM spans')])\n"
                          "print(db['metrics'].count)" % os.path.join(OTLP, "trace.json"))
        self.assertEqual(out.splitlines(), ["[\"I'm a server span\"]", "0"])

    def test_an_interpreter_that_cannot_load_extensions_gets_a_clear_error(self):
        # Any connection object without enable_load_extension, as pyenv's sqlite3 gives.
        out = self.python("import otelcat\n"
                          "class Conn: pass\n"
                          "try:\n    otelcat.load(Conn())\n"
                          "except otelcat.ExtensionLoadError as e:\n    print(e)")
        self.assertIn("built without extension loading", out)
        self.assertIn("/usr/bin/python3", out)
        # And a real one when this machine has such an interpreter (pyenv's).
        for cand in [shutil.which("python3", path=os.path.expanduser("~/.pyenv/shims"))] + glob.glob(
                os.path.expanduser("~/.pyenv/versions/3.1*/bin/python3")):
            if not cand:
                continue
            probe = subprocess.run([cand, "-c", "import sqlite3; print(hasattr(sqlite3.connect(':memory:'), "
                                                "'enable_load_extension'))"], capture_output=True, text=True)
            if probe.stdout.strip() != "False":
                continue
            site = glob.glob(os.path.join(self.venv, "lib", "python3*", "site-packages"))[0]
            out, err = self.run_([cand, "-c", "import sqlite3, otelcat; otelcat.load(sqlite3.connect(':memory:'))"],
                                 code=1, env={"PYTHONPATH": site})
            self.assertIn("otelcat.ExtensionLoadError: this Python", err)
            self.assertIn("/usr/bin/python3", err)
            self.assertNotIn("AttributeError", err)
            break

    # --- the otelcat command --------------------------------------------------

    def test_help_for_every_subcommand(self):
        out, _ = self.otelcat("--help")
        for cmd in ("ingest", "report", "serve", "check", "merge", "diff", "snapshot", "export"):
            self.assertIn(cmd, out)
        for cmd in ("ingest", "report", "check", "merge", "diff", "snapshot", "export"):
            with self.subTest(cmd):
                out, _ = self.otelcat(cmd, "--help")
                self.assertIn(f"usage: otelcat {cmd}", out)
                self.assertIn("Exit codes", out)
        self.assertEqual(self.otelcat("--version")[0].strip(), f"otelcat {VERSION}")
        _, err = self.otelcat(code=2)
        self.assertIn("usage: otelcat", err)
        _, err = self.otelcat("frobnicate", code=2)
        self.assertIn("invalid choice: 'frobnicate'", err)

    def test_ingest_every_input_form(self):
        db = self.path("c.db")
        # OTLP/JSON files
        out, _ = self.otelcat("ingest", "--db", db, os.path.join(OTLP, "trace.json"), os.path.join(OTLP, "metrics.json"))
        self.assertRegex(out, r"^otelcat ingest: 2 requests from 2 input\(s\): 1 spans, 4 data points, 0 log records in "
                              r"[\d.]+ s \([\d,]+ records/s\); .*c\.db is [\d.]+ MB$")
        # protobuf with its signal, one request per file
        self.otelcat("ingest", "--db", db, "--signal", "logs", os.path.join(OTLP, "logs.pb"))
        # JSON Lines (the Collector's file exporter), gzipped, from standard input
        lines = b"".join(json.dumps(json.load(open(os.path.join(OTLP, n)))).encode() + b"\n"
                         for n in ("trace.json", "logs.json", "trace.json"))
        out, _ = self.otelcat("ingest", "--db", db, "-", stdin=gzip.compress(lines))
        self.assertIn("3 requests from 1 input(s): 2 spans, 0 data points, 1 log records", out)
        # length-prefixed protobuf streams: big-endian (Collector) and little-endian (otlp_gen)
        pb = open(os.path.join(OTLP, "trace.pb"), "rb").read()
        with open(self.path("be.bin"), "wb") as f:
            f.write((struct.pack(">I", len(pb)) + pb) * 3)
        with gzip.open(self.path("le.bin.gz"), "wb") as f:
            f.write((struct.pack("<I", len(pb)) + pb) * 2)
        self.otelcat("ingest", "--db", db, "--signal", "traces", "--framing", "be32", self.path("be.bin"))
        out, _ = self.otelcat("ingest", "--db", db, "--signal", "traces", "--framing", "le32", self.path("le.bin.gz"))
        self.assertIn("2 requests from 1 input(s): 2 spans", out)
        con = sqlite3.connect(db)
        self.assertEqual(con.execute("SELECT total_sample_count FROM spans").fetchone()[0], 1 + 2 + 3 + 2)
        self.assertEqual(con.execute("SELECT total_sample_count FROM logs").fetchone()[0], 2)
        self.assertEqual(con.execute("SELECT sum(total_sample_count) FROM metrics").fetchone()[0], 4)

    def test_ingest_progress_and_batches(self):
        db = self.path("c.db")
        payload = json.dumps(json.load(open(os.path.join(OTLP, "trace.json")))).encode() + b"\n"
        with open(self.path("many.jsonl"), "wb") as f:
            f.write(payload * 7)
        out, err = self.otelcat("ingest", "--db", db, "--batch", "3", "--progress", "0", self.path("many.jsonl"))
        progress = [line for line in err.splitlines() if "records/s" in line]
        # one line per committed batch: 3, 6, 7 requests
        self.assertEqual([re.match(r"otelcat ingest: (\d+) requests, (\d+) records", p).groups() for p in progress],
                         [("3", "3"), ("6", "6"), ("7", "7")])
        self.assertIn("7 requests from 1 input(s): 7 spans", out)
        _, err = self.otelcat("ingest", "--db", db, "--quiet", self.path("many.jsonl"))
        self.assertEqual(err, "")

    def test_ingest_errors_exit_2_with_one_line(self):
        db = self.path("c.db")
        _, err = self.otelcat("ingest", "--db", db, self.path("nope.json"), code=2)
        self.one_line_error(err, "no such file", "nope.json")
        _, err = self.otelcat("ingest", "--db", db, os.path.join(OTLP, "trace.pb"), code=2)
        self.one_line_error(err, "trace.pb", "give --signal")
        # a bad request in the second batch: the first batch stays, the second is rolled back
        good = json.dumps(json.load(open(os.path.join(OTLP, "trace.json"))))
        with open(self.path("bad.jsonl"), "w") as f:
            f.write(f"{good}\n{good}\n{good}\n{{\"resourceSpans\": 7}}\n")
        _, err = self.otelcat("ingest", "--db", db, "--batch", "2", self.path("bad.jsonl"), code=2)
        self.assertIn("bad.jsonl, line 4: otlp_ingest", err)
        self.assertEqual(sqlite3.connect(db).execute("SELECT total_sample_count FROM spans").fetchone()[0], 2)
        # a database that is not a catalog is refused, and left alone
        other = self.path("other.db")
        sqlite3.connect(other).execute("CREATE TABLE t(x)")
        _, err = self.otelcat("ingest", "--db", other, os.path.join(OTLP, "trace.json"), code=2)
        self.one_line_error(err, "other.db is not an otelcat catalog")
        self.assertEqual([r[0] for r in sqlite3.connect(other).execute("SELECT name FROM sqlite_master")], ["t"])
        _, err = self.otelcat("ingest", "--db", db, "--batch", "0", os.path.join(OTLP, "trace.json"), code=2)
        self.one_line_error(err, "--batch")

    def test_report(self):
        db = self.ingest_fixtures()
        self.otelcat("ingest", "--db", db, os.path.join(OTLP, "events.json"))
        out, _ = self.otelcat("report", "--db", db)
        for title in ("Highest-cardinality keys: metrics", "Highest-cardinality keys: spans",
                      "Highest-cardinality keys: logs", "Metrics by estimated active series", "Services by volume (all)",
                      "Span names that explode", "Top log templates: my.service / INFO", "Errors by service (all)",
                      "Attribute keys by bytes (OTLP protobuf)", "Services by bytes (OTLP protobuf)", "Instrumentation scopes"):
            self.assertIn("== " + title, out)
        self.assertNotIn("\u2026", out)         # nothing cut
        self.assertRegex(out, r"my\.service +1 +4 +3 +8 +1 +4 +INFO 3\n")
        md, _ = self.otelcat("report", "--db", db, "--format", "markdown")
        self.assertIn("## Metrics by estimated active series\n\n| metric | type |", md)
        js = json.loads(self.otelcat("report", "--db", db, "--format", "json")[0])
        self.assertEqual(js["totals"]["spans"], 1)
        services = next(s for s in js["sections"] if s["title"].startswith("Services by volume"))["rows"]
        self.assertEqual(services[0]["service"], "my.service")
        self.assertEqual(services[0]["logs_by_severity"], "INFO 3")

    def test_report_shows_every_service_and_plain_severities(self):
        db = self.path("c.db")
        con = sqlite3.connect(":memory:")
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        from otlp_payloads import log, logs
        with open(self.path("logs.jsonl"), "w") as f:
            for i in range(14):
                f.write(json.dumps(json.loads(logs([log(f"disk {j} failed", 17, "ERROR") for j in range(i + 1)]
                                                   + [log("ok", 9, "INFO")], service=f"svc-{i:02d}"))) + "\n")
        con.close()
        self.otelcat("ingest", "--db", db, self.path("logs.jsonl"))
        js = json.loads(self.otelcat("report", "--db", db, "--format", "json")[0])
        errors = next(s for s in js["sections"] if s["title"].startswith("Errors"))["rows"]
        self.assertEqual([r["service"] for r in errors], [f"svc-{i:02d}" for i in range(13, -1, -1)])
        svc = next(s for s in js["sections"] if s["title"].startswith("Services by volume"))["rows"]
        self.assertEqual(len(svc), 14)
        self.assertEqual(svc[0]["logs_by_severity"], "ERROR 14, INFO 1")
        out, _ = self.otelcat("report", "--db", db)
        self.assertIn("ERROR 14, INFO 1", out)
        self.assertNotIn('{"', out)

    def test_report_on_a_v0_1_0_catalog_leaves_it_unchanged(self):
        db = self.path("old.db")
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.1.0.db"), db)
        before = hashlib.sha256(open(db, "rb").read()).hexdigest()
        out, _ = self.otelcat("report", "--db", db)
        self.assertIn("== Services by volume (all)", out)
        self.assertRegex(out, r"\d+ metrics \([\d,]+ data points\)")
        self.assertEqual(hashlib.sha256(open(db, "rb").read()).hexdigest(), before)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["old.db"])

    def test_report_refuses_what_is_not_a_catalog(self):
        open(self.path("empty.db"), "wb").close()
        _, err = self.otelcat("report", "--db", self.path("empty.db"), code=2)
        self.one_line_error(err, "empty.db is not an otelcat catalog")
        with open(self.path("text.db"), "w") as f:
            f.write("hello, this is not a database file at all" * 50)
        _, err = self.otelcat("report", "--db", self.path("text.db"), code=2)
        self.one_line_error(err, "text.db is not an SQLite database")
        _, err = self.otelcat("report", "--db", self.path("none.db"), code=2)
        self.one_line_error(err, "no such catalog")
        _, err = self.otelcat("report", code=2)
        self.assertIn("the following arguments are required: --db", err)

    def test_check(self):
        db = self.ingest_fixtures()
        out, _ = self.otelcat("check", "--db", db, "--max-cardinality", "5")
        self.assertIn("otelcat check: ok", out)
        out, _ = self.otelcat("check", "--db", db, "--max-cardinality", "0", code=1)
        self.assertIn("offending key(s)", out)
        with open(self.path("allow.txt"), "w") as f:
            f.write("# allowed keys\nservice.name\nmy.*\n\n")
        out, _ = self.otelcat("check", "--db", db, "--allow", self.path("allow.txt"), "--format", "json", code=1)
        js = json.loads(out)
        self.assertFalse(js["ok"])
        self.assertTrue(all(o["problem"] == "not in allow-list" and not o["key"].startswith("my.") for o in js["offenders"]))
        self.assertIn("int.attribute", {o["key"] for o in js["offenders"]})
        with open(self.path("allow.txt"), "a") as f:
            f.write("*\n")
        self.assertTrue(json.loads(self.otelcat("check", "--db", db, "--allow", self.path("allow.txt"),
                                                "--format", "json")[0])["ok"])
        # usage and input errors: 2
        with open(self.path("notes.txt"), "w") as f:
            f.write("not a database" * 100)
        _, err = self.otelcat("check", "--db", self.path("notes.txt"), code=2)
        self.one_line_error(err, "is not an SQLite database")
        open(self.path("empty.db"), "wb").close()
        _, err = self.otelcat("check", "--db", self.path("empty.db"), code=2)
        self.one_line_error(err, "is not an otelcat catalog")
        _, err = self.otelcat("check", "--db", db, "--max-cardinality", code=2)
        self.assertIn("expected one argument", err)
        _, err = self.otelcat("check", "--db", db, "--max-cardinality", "lots", code=2)
        self.assertIn("needs a whole number", err)
        _, err = self.otelcat("check", "--db", db, "--allow", self.path("nope.txt"), code=2)
        self.one_line_error(err, "no such allow-list")

    def test_check_semconv(self):
        """The installed package checks the semantic conventions with the views
        it carries (otelcat/data/views.sql), also on a catalog of v0.1.0."""
        db = self.ingest_fixtures()
        js = json.loads(self.otelcat("check", "--db", db, "--semconv", "--format", "json")[0])
        self.assertTrue(js["ok"])
        self.assertEqual(js["semconv"]["version"], "1.44.0")
        shutil.copy(os.path.join(ROOT, "tests", "fixtures", "catalog", "v0.1.0.db"), self.path("old.db"))
        out, _ = self.otelcat("check", "--db", self.path("old.db"), "--semconv", "--max-cardinality", "100000000", code=1)
        self.assertIn("semantic-convention violation(s)", out)
        self.assertIn("deprecated key", out)

    def test_merge_diff_snapshot(self):
        a = self.ingest_fixtures("a.db")
        b = self.path("b.db")
        self.otelcat("ingest", "--db", b, os.path.join(OTLP, "trace.json"))
        out, _ = self.otelcat("merge", "--db", self.path("m.db"), a, b)
        self.assertIn("2 catalog(s) merged", out)
        con = sqlite3.connect(self.path("m.db"))
        self.assertEqual(con.execute("SELECT total_sample_count FROM spans").fetchone()[0], 2)
        self.assertEqual(con.execute("SELECT sum(total_sample_count) FROM metrics").fetchone()[0], 4)
        con.close()
        # diff: no change -> 0, changes -> 1 (listed), input error -> 2
        out, _ = self.otelcat("diff", a, a)
        self.assertIn("no changes", out)
        out, _ = self.otelcat("diff", b, a, "--format", "json", code=1)
        changes = json.loads(out)["changes"]
        self.assertIn({"change": "new metrics", "signal": "metrics", "entity": "my.counter", "item": "", "old": None,
                       "new": None}, changes)
        _, err = self.otelcat("diff", a, self.path("none.db"), code=2)
        self.one_line_error(err, "no such catalog")
        # snapshot
        out, _ = self.otelcat("snapshot", "--db", self.path("m.db"), self.path("snap.db"))
        self.assertIn("wrote", out)
        self.assertEqual(self.otelcat("diff", self.path("m.db"), self.path("snap.db"))[0].split(":")[0],
                         "otelcat diff")
        _, err = self.otelcat("snapshot", "--db", self.path("m.db"), self.path("snap.db"), code=2)
        self.one_line_error(err, "already exists")

    def test_merge_upgrades_an_old_target_and_reads_old_sources(self):
        old = os.path.join(FIXTURES, "catalog", "v0.1.0.db")
        target = self.path("old-target.db")
        shutil.copy(old, target)
        a = self.ingest_fixtures("a.db")
        q = lambda p, sql: sqlite3.connect(p).execute(sql).fetchone()[0]
        logs_before = q(target, "SELECT sum(total_sample_count) FROM logs")
        out, _ = self.otelcat("merge", "--db", target, old, a)
        self.assertIn("2 catalog(s) merged", out)
        self.assertEqual(q(target, "SELECT value FROM otelcat_meta WHERE key = 'schema_version'"),
                         q(a, "SELECT value FROM otelcat_meta WHERE key = 'schema_version'"))
        self.assertEqual(q(target, "SELECT sum(total_sample_count) FROM logs"),
                         2 * logs_before + q(a, "SELECT sum(total_sample_count) FROM logs"))
        self.assertGreater(q(a, "SELECT sum(key_count) FROM log_template_keys"), 0)
        self.assertEqual(q(target, "SELECT sum(key_count) FROM log_template_keys"),
                         q(a, "SELECT sum(key_count) FROM log_template_keys"))
        # Columns an old source lacks merge as their defaults (bytes since the upgrade).
        self.assertGreater(q(a, "SELECT sum(bytes) FROM span_keys"), 0)
        self.assertEqual(q(target, "SELECT sum(bytes) FROM span_keys"), q(a, "SELECT sum(bytes) FROM span_keys"))
        self.assertEqual(q(target, "SELECT value_types FROM log_keys WHERE key_name = 'int.attribute'"), '{"int":1}')

    def test_a_failing_merge_writes_nothing(self):
        a = self.ingest_fixtures("a.db")
        b = self.ingest_fixtures("b.db")
        con = sqlite3.connect(b)
        con.execute("UPDATE span_key_rows SET hll_sketch = x'0102030405'")      # damaged sketches
        con.commit()
        con.close()
        dump = lambda p: list(sqlite3.connect(p).iterdump())
        before = dump(a)
        _, err = self.otelcat("merge", "--db", a, b, code=2)
        self.one_line_error(err, "merging", "b.db", "hll_merge", "nothing was written")
        self.assertEqual(dump(a), before)
        # a new target is not left behind
        _, err = self.otelcat("merge", "--db", self.path("new.db"), b, code=2)
        self.assertFalse(os.path.exists(self.path("new.db")))
        _, err = self.otelcat("merge", "--db", a, a, code=2)
        self.one_line_error(err, "is the target itself")

    # --- Datasette ------------------------------------------------------------

    def test_datasette_plugin(self):
        db = self.ingest_fixtures("catalog.db")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(self.path("datasette.log"), "w+")
        proc = subprocess.Popen([self.bin("datasette"), "serve", db, "--port", str(port)], cwd=self.tmp,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=clean_env())

        def stop():
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
        self.addCleanup(stop)
        base = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/-/plugins.json", timeout=2) as r:
                    plugins = json.load(r)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > end:
                    log.seek(0)
                    self.fail("datasette did not start:\n" + log.read())
                time.sleep(0.2)
        self.assertIn("otelcat", {p["name"] for p in plugins})
        get = lambda path: json.load(urllib.request.urlopen(base + path, timeout=30))
        # the extension is loaded into Datasette's connections
        rows = get("/catalog.json?_shape=array&sql=" + urllib.parse.quote("SELECT otelcat_version() AS v"))
        self.assertEqual(rows, [{"v": "v" + VERSION}])
        meta = get("/-/metadata.json")
        self.assertIn("metric_label_cardinality", meta["databases"]["catalog"]["queries"])
        self.assertEqual(meta["databases"]["catalog"]["title"], "otelcat catalog: catalog")
        rows = get("/catalog/metric_label_cardinality.json?_shape=array&metric=my.counter")
        self.assertEqual({r["key_name"] for r in rows}, {"my.counter.attr", "service.name"})
        with urllib.request.urlopen(base + "/-/dashboards/otelcat", timeout=30) as r:
            self.assertEqual(r.status, 200)
            self.assertIn("Estimated cardinality per attribute key", r.read().decode())


class TestServeEndToEnd(PackageTest):
    """The last mile: in the fresh venv, `otelcat serve --db c.db`
    receives the Python SDK's gRPC export, `otelcat report` shows it. Runs
    when the wheel carries otelcat/serve.py and this venv has the SDK's gRPC exporter."""

    def test_sdk_grpc_export_to_serve_then_report(self):
        with zipfile.ZipFile(wheel_path()) as z:
            if "otelcat/serve.py" not in z.namelist():
                self.skipTest("this wheel has no otelcat/serve.py (otelcat serve is written on another branch)")
        try:
            import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
        except ImportError:
            if CI:
                self.fail("opentelemetry-exporter-otlp-proto-grpc is not installed (tests/requirements.txt)")
            self.skipTest("opentelemetry-exporter-otlp-proto-grpc is not installed in this venv")
        help_text, _ = self.otelcat("serve", "--help")
        ports = {}
        for proto in ("grpc", "http"):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports[proto] = s.getsockname()[1]
        self.assertIn("--grpc", help_text)
        self.assertIn("--http", help_text)
        db = self.path("c.db")
        log = open(self.path("serve.log"), "w+")
        proc = subprocess.Popen([self.bin("otelcat"), "serve", "--db", db, "--grpc", str(ports["grpc"]),
                                 "--http", str(ports["http"])], cwd=self.tmp, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=clean_env())
        try:
            end = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", ports["grpc"]), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > end:
                        log.seek(0)
                        self.fail("otelcat serve did not start:\n" + log.read())
                    time.sleep(0.2)
            script = f"""
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
provider = TracerProvider(resource=Resource.create({{"service.name": "pkg-e2e"}}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint="127.0.0.1:{ports['grpc']}", insecure=True)))
tracer = provider.get_tracer("e2e")
for i in range(12):
    with tracer.start_as_current_span(f"GET /items/{{i}}") as span:
        span.set_attribute("user.id", f"u{{i}}")
provider.shutdown()
"""
            r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            end = time.monotonic() + 30
            while True:       # the receiver commits in batches: wait for the rows
                try:
                    n = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
                        "SELECT coalesce(sum(total_sample_count), 0) FROM spans").fetchone()[0]
                except sqlite3.Error:
                    n = 0
                if n >= 12 or time.monotonic() > end:
                    break
                time.sleep(0.3)
            self.assertEqual(n, 12)
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
        out, _ = self.otelcat("report", "--db", db)
        self.assertRegex(out, r"pkg-e2e +12 ")
        self.assertIn("GET /items/<*>", out)


import urllib.parse  # noqa: E402  (used above)


class TestNpmPackage(unittest.TestCase):
    def test_install_the_tarball_into_a_new_project(self):
        tgz = os.path.join(ROOT, "dist", f"otelcat-{VERSION}.tgz")
        if not os.path.exists(tgz):
            missing(f"no {os.path.relpath(tgz, ROOT)}")
        if not (NODE and NPM):
            missing("node and npm are not installed")
        bs3 = os.path.join(NODE_MODULES, "better-sqlite3")
        if not os.path.isdir(bs3):
            missing("tests/node/node_modules has no better-sqlite3 (make tests/node/node_modules/.ok)")
        tmp = tempfile.mkdtemp(prefix="otelcat-npm-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        run = lambda *cmd: subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env=clean_env(), timeout=300)
        r = run(NPM, "init", "-y")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(NPM, "install", "--no-audit", "--no-fund", "--offline", tgz)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # better-sqlite3@12 as the project's dependency: the one tests/node built (no compiler run here)
        os.symlink(bs3, os.path.join(tmp, "node_modules", "better-sqlite3"))
        with open(os.path.join(tmp, "check.mjs"), "w") as f:
            f.write("""
import Database from 'better-sqlite3';
import * as otelcat from 'otelcat';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const cjs = require('otelcat');
const db = new Database(':memory:');
otelcat.load(db);
const [version] = db.prepare('SELECT otelcat_version()').raw().get();
db.prepare('INSERT INTO otlp_ingest(payload) VALUES (?)').run(readFileSync(process.argv[2], 'utf8'));
const spans = db.prepare('SELECT name FROM spans').pluck().all();
let error = '';
try { otelcat.load({}); } catch (e) { error = `${e.constructor.name}: ${e.message}`; }
const db2 = new Database(':memory:');
db2.loadExtension(cjs.getLoadablePath());
console.log(JSON.stringify({ version, pkg: otelcat.version, path: otelcat.getLoadablePath(), spans, error,
  same: cjs.getLoadablePath() === otelcat.getLoadablePath(),
  hll: db2.prepare("SELECT hll_count(hll_add(NULL, 'x'))").pluck().get() }));
""")
        r = run(NODE, "check.mjs", os.path.join(OTLP, "trace.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["version"], "v" + VERSION)
        self.assertEqual(out["pkg"], VERSION)
        self.assertEqual(out["path"], os.path.join(os.path.realpath(tmp), "node_modules", "otelcat", "lib", "otelcat.so"))
        self.assertEqual(out["spans"], ["I'm a server span"])
        self.assertTrue(out["same"])
        self.assertEqual(out["hll"], 1)
        self.assertIn("TypeError: otelcat.load(db): db must be a better-sqlite3 Database", out["error"])
        with open(os.path.join(tmp, "node_modules", "otelcat", "package.json")) as f:
            pkg = json.load(f)
        self.assertEqual((pkg["version"], pkg["os"], pkg["cpu"]), (VERSION, ["linux"], ["x64"]))


if __name__ == "__main__":
    unittest.main()
