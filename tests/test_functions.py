"""The SQL functions through the built extension, in Python's sqlite3.

Every function the extension registers must appear in the snapshot below and
have a test method named test_<function name> in this file (or another test
file): adding a function without a test fails test_every_function_is_tested.
"""
import glob
import json
import math
import os
import random
import re
import sqlite3
import subprocess
import sys
import unittest

from helpers import err, EXT, FIXTURES, ROOT, connect, hooks_env, series

# (name, number of arguments, type s=scalar a=aggregate w=window, flags)
# flags: deterministic, innocuous, directonly (from pragma_function_list).
EXPECTED = {
    ("otelcat_version", 0, "s", "deterministic innocuous"),
    ("otelcat_debug", 0, "s", "deterministic innocuous"),
    ("otelcat_add", -1, "s", "deterministic innocuous"),
    ("json_counts_merge", -1, "s", "deterministic innocuous"),
    ("hll_sketch", 1, "w", "deterministic innocuous"),
    ("hll_sketch", 2, "w", "deterministic innocuous"),
    ("hll_add", 2, "s", "deterministic innocuous"),
    ("hll_merge", -1, "s", "deterministic innocuous"),
    ("hll_merge", 1, "w", "deterministic innocuous"),
    ("hll_count", 1, "s", "deterministic innocuous"),
    ("hll_info", 1, "s", "deterministic innocuous"),
    ("topk_sketch", 1, "w", "deterministic innocuous"),
    ("topk_sketch", 2, "w", "deterministic innocuous"),
    ("topk_sketch_weighted", 2, "w", "deterministic innocuous"),
    ("topk_sketch_weighted", 3, "w", "deterministic innocuous"),
    ("topk_add", 2, "s", "deterministic innocuous"),
    ("topk_add", 3, "s", "deterministic innocuous"),
    ("topk_merge", -1, "s", "deterministic innocuous"),
    ("topk_merge", 1, "w", "deterministic innocuous"),
    ("topk_values", 1, "s", "deterministic innocuous"),
    ("topk_values", 2, "s", "deterministic innocuous"),
    ("topk_values", 3, "s", "deterministic innocuous"),
    ("topk_counts", 1, "s", "deterministic innocuous"),
    ("topk_counts", 2, "s", "deterministic innocuous"),
    ("topk_estimate", 2, "s", "deterministic innocuous"),
    ("topk_info", 1, "s", "deterministic innocuous"),
    ("json_samples_merge", 2, "s", "deterministic innocuous"),
    ("json_samples_merge", 3, "s", "deterministic innocuous"),
    ("json_samples", 1, "w", "deterministic innocuous"),
    ("json_samples", 2, "w", "deterministic innocuous"),
    ("drain_template", 1, "s", "directonly"),
    ("drain_template", 2, "s", "directonly"),
    ("drain_match", 1, "s", ""),
    ("drain_match", 2, "s", ""),
    ("drain_configure", 1, "s", "directonly"),
    ("drain_configure", 2, "s", "directonly"),
    ("drain_reset", 1, "s", "directonly"),
    ("drain_params", 1, "s", ""),
    ("drain_params", 2, "s", ""),
    ("drain_seed", 2, "s", "directonly"),
    ("otelcat_refresh_totals", 0, "s", "directonly"),
    ("semconv_attribute", 1, "s", "deterministic innocuous"),
    ("semconv_nearest", 1, "s", "deterministic innocuous"),
    ("semconv_nearest", 2, "s", "deterministic innocuous"),
}
# Virtual table modules (table-valued functions and writeable tables).
EXPECTED_MODULES = {"drain_clusters", "otelcat_drain_sync", "otlp_ingest", "semconv_attributes", "semconv_metrics",
                    "semconv_groups", "semconv_group_attributes"}
# Functions added by later modules register their rows here (see other test files).
EXTRA_EXPECTED = set()

SQLITE_DETERMINISTIC = 0x800
SQLITE_DIRECTONLY = 0x80000
SQLITE_INNOCUOUS = 0x200000


def function_list(db):
    rows = db.execute("SELECT name, narg, type, flags FROM pragma_function_list").fetchall()
    out = set()
    for name, narg, typ, flags in rows:
        words = [w for bit, w in ((SQLITE_DETERMINISTIC, "deterministic"), (SQLITE_INNOCUOUS, "innocuous"),
                                  (SQLITE_DIRECTONLY, "directonly")) if flags & bit]
        out.add((name, narg, typ, " ".join(words)))
    return out


def extension_functions():
    plain = sqlite3.connect(":memory:")
    before = {r[:3] for r in function_list(plain)}
    return {r for r in function_list(connect()) if r[:3] not in before}


def all_test_names():
    names = set()
    for mod in sys.modules.values():
        f = getattr(mod, "__file__", "") or ""
        if os.path.dirname(os.path.abspath(f)) == os.path.dirname(os.path.abspath(__file__)):
            for obj in vars(mod).values():
                if isinstance(obj, type) and issubclass(obj, unittest.TestCase):
                    names |= {n for n in dir(obj) if n.startswith("test_")}
    return names


class TestRegistry(unittest.TestCase):
    def test_function_list_snapshot(self):
        import test_functions
        got = extension_functions()
        want = EXPECTED | test_functions.EXTRA_EXPECTED
        self.assertEqual(sorted(got - want), [], "registered but not in the snapshot")
        self.assertEqual(sorted(want - got), [], "in the snapshot but not registered")

    def test_lib_rs_lists_every_sql_name(self):
        """src/lib.rs's table SQL_NAMES is what the extension registers, kinds included."""
        src = open(os.path.join(ROOT, "src", "lib.rs")).read()
        block = src.split("pub const SQL_NAMES: &[(&str, SqlKind)] = &[", 1)[1].split("];", 1)[0]
        table = dict(re.findall(r'\("([a-z_0-9]+)",\s*SqlKind::(\w+)\)', block))
        self.assertEqual(len(table), block.count("SqlKind::"), "an entry the pattern does not read")
        types = {}
        for name, _, typ, _ in extension_functions():
            types.setdefault(name, set()).add("s" if typ == "s" else "a")
        kinds = {name: {frozenset("s"): "Scalar", frozenset("a"): "Aggregate"}.get(frozenset(t), "ScalarAndAggregate")
                 for name, t in types.items()}
        plain = {r[0] for r in sqlite3.connect(":memory:").execute("SELECT name FROM pragma_module_list")}
        for m in {r[0] for r in connect().execute("SELECT name FROM pragma_module_list")} - plain:
            kinds[m] = "InternalTable" if m == "otelcat_drain_sync" else "Table"
        self.assertEqual(table, kinds)

    def test_module_list_snapshot(self):
        plain = {r[0] for r in sqlite3.connect(":memory:").execute("SELECT name FROM pragma_module_list")}
        got = {r[0] for r in connect().execute("SELECT name FROM pragma_module_list")} - plain
        self.assertEqual(got, EXPECTED_MODULES)
        missing = sorted(m for m in got if "test_" + m not in all_test_names())
        self.assertEqual(missing, [], "modules without a test_<name> method")

    def test_every_function_is_tested(self):
        tests = all_test_names()
        missing = sorted({name for name, *_ in extension_functions()} - {t[5:] for t in tests})
        self.assertEqual(missing, [], "functions without a test_<name> method")

    def test_loads_by_stem_and_finds_entry_point(self):
        db = sqlite3.connect(":memory:")
        db.enable_load_extension(True)
        db.load_extension(EXT)  # no suffix, no entry point name: sqlite3_otelcat_init
        self.assertTrue(db.execute("SELECT otelcat_version()").fetchone()[0].startswith("v"))


class TestMeta(unittest.TestCase):
    def test_otelcat_version(self):
        v = connect().execute("SELECT otelcat_version()").fetchone()[0]
        with open(os.path.join(os.path.dirname(EXT), "..", "Cargo.toml")) as f:
            cargo = f.read()
        crate_version = next(l.split('"')[1] for l in cargo.splitlines() if l.startswith("version"))
        self.assertEqual(v, "v" + crate_version)

    def test_otelcat_debug(self):
        db = connect()
        d = db.execute("SELECT otelcat_debug()").fetchone()[0]
        self.assertIn(db.execute("SELECT otelcat_version()").fetchone()[0], d)
        self.assertIn("SQLite: " + sqlite3.sqlite_version, d)
        self.assertRegex(d, r"Commit: (unknown|[0-9a-f]{7,})")
        self.assertRegex(d, r"\nSemantic conventions: v1\.44\.0 \(https://opentelemetry.io/schemas/1\.44\.0\)$")


class TestPanicGuard(unittest.TestCase):
    """A panic inside the extension is an SQL error; the host process lives on."""

    def run_child(self, code, env=None):
        env = env or hooks_env()
        here = os.path.dirname(os.path.abspath(__file__))
        return subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {here!r})\n" + code],
                              env=env, capture_output=True, text=True, timeout=60)

    def test_scalar_panic_is_an_error(self):
        r = self.run_child(
            "from helpers import connect\nimport sqlite3\ndb = connect()\n"
            "try:\n    db.execute(\"SELECT otelcat_test_panic('scalar')\").fetchall()\nexcept sqlite3.Error as e:\n    print('ERR', e)\n"
            "print('ALIVE', db.execute('SELECT hll_count(hll_add(NULL, 1))').fetchone()[0])\n")
        self.assertIn("ERR otelcat_test_panic: internal error (panic: test panic requested (scalar))", r.stdout, r.stderr)
        self.assertIn("ALIVE 1", r.stdout)
        self.assertEqual(r.returncode, 0)

    def test_aggregate_panics_are_errors(self):
        for where in ("step", "final"):
            r = self.run_child(
                "from helpers import connect\nimport sqlite3\ndb = connect()\n"
                f"try:\n    db.execute(\"SELECT otelcat_test_panic_agg('{where}') FROM (SELECT 1 UNION ALL SELECT 2)\").fetchall()\n"
                "except sqlite3.Error as e:\n    print('ERR', e)\nprint('ALIVE')\n")
            self.assertIn(f"ERR otelcat_test_panic_agg: internal error (panic: test panic requested (aggregate {where}))",
                          r.stdout, r.stderr)
            self.assertIn("ALIVE", r.stdout)

    def test_release_build_has_no_hooks(self):
        """The shipped extension has no panic hooks, whatever the environment
        (they are built only with the cargo feature test-hooks)."""
        env = dict(os.environ, OTELCAT_TEST_HOOKS="1")
        env.pop("OTELCAT_TEST_EXT", None)
        for fn in ("otelcat_test_panic('x')", "otelcat_test_panic_agg('step')"):
            r = self.run_child(
                "from helpers import connect\nimport sqlite3\n"
                f"try:\n    connect().execute(\"SELECT {fn}\").fetchall()\nexcept sqlite3.Error as e:\n    print('ERR', e)\n",
                env=env)
            self.assertIn("ERR no such function: otelcat_test_panic", r.stdout, r.stderr)



class TestHll(unittest.TestCase):
    def setUp(self):
        self.db = connect()

    def count(self, n, lg_k=None, offset=0):
        k = f", {lg_k}" if lg_k else ""
        return self.db.execute(f"{series(n)} SELECT hll_count(hll_sketch(v + {offset}{k})) FROM s").fetchone()[0]

    @staticmethod
    def bound(n, lg_k=12):
        return 3 * 1.04 / math.sqrt(2 ** lg_k) * n

    def test_hll_sketch(self):
        # Accuracy within 3 standard errors from 10 to 10^7 distinct values.
        for n in (10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000):
            est = self.count(n)
            self.assertLessEqual(abs(est - n), max(self.bound(n), 0), f"n={n} estimate={est}")
        self.assertIsNone(self.db.execute("SELECT hll_sketch(1) WHERE 0").fetchone()[0])
        for bad in (3, 22, 100, -1):
            self.assertIn(f"hll_sketch: argument 2 (lg_k) must be from 4 to 21, got {bad}",
                          err(self.db, f"SELECT hll_sketch(1, {bad})"))
        self.assertIn("hll_sketch: argument 2 (lg_k) must be an integer", err(self.db, "SELECT hll_sketch(1, 'x')"))
        self.assertIn("hll_sketch: lg_k must be the same on every row",
                      err(self.db, "SELECT hll_sketch(v, k) FROM (SELECT 1 v, 10 k UNION ALL SELECT 2, 11)"))
        self.assertIn("wrong number of arguments", err(self.db, "SELECT hll_sketch(1, 12, 3)"))
        self.assertIn("hll_sketch: rows cannot be removed",
                      err(self.db, "SELECT hll_sketch(v) OVER (ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) "
                                   "FROM (SELECT 1 v UNION ALL SELECT 2 UNION ALL SELECT 3)"))

    def test_union_of_halves(self):
        for n in (1000, 100_000, 10_000_000):
            est = self.db.execute(
                f"{series(n)} SELECT hll_count(hll_merge(s)) FROM (SELECT hll_sketch(v) s FROM s GROUP BY v > {n // 2})"
            ).fetchone()[0]
            self.assertLessEqual(abs(est - n), self.bound(n), f"n={n} estimate={est}")
            # Same registers, same count: merged parts count exactly like the whole.
            self.assertEqual(est, self.count(n))

    def test_hll_add(self):
        s = self.db.execute("SELECT hll_add(hll_add(NULL, 'a'), 'b')").fetchone()[0]
        self.assertEqual(self.db.execute("SELECT hll_count(?)", (s,)).fetchone()[0], 2)
        self.assertEqual(self.db.execute("SELECT hll_add(?, NULL)", (s,)).fetchone()[0], s)
        self.assertIn("hll_add: argument 1 is not an HLL sketch", err(self.db, "SELECT hll_add('text', 1)"))
        self.assertIn("wrong number of arguments", err(self.db, "SELECT hll_add(NULL)"))

    def test_hll_merge(self):
        self.assertIn("hll_merge: wrong number of arguments (0)", err(self.db, "SELECT hll_merge()"))
        self.assertIn("hll_merge: argument 3 is not an HLL sketch",
                      err(self.db, "SELECT hll_merge(NULL, hll_add(NULL, 1), x'00112233445566778899')"))
        self.assertIn("hll_merge: argument 1 is not an HLL sketch (got TEXT",
                      err(self.db, "SELECT hll_merge(x) FROM (SELECT 'nope' x)"))
        a = self.db.execute(f"{series(5000)} SELECT hll_sketch(v, 14) FROM s").fetchone()[0]
        b = self.db.execute(f"{series(5000)} SELECT hll_sketch(v + 2500, 11) FROM s").fetchone()[0]
        info = json.loads(self.db.execute("SELECT hll_info(hll_merge(?, ?))", (a, b)).fetchone()[0])
        self.assertEqual(info["lg_k"], 11)
        self.assertLessEqual(abs(info["estimate"] - 7500), self.bound(7500, 11))

    def test_hll_count(self):
        self.assertEqual(self.db.execute("SELECT hll_count(NULL)").fetchone()[0], 0)
        self.assertIsInstance(self.db.execute("SELECT hll_count(hll_add(NULL, 1))").fetchone()[0], int)
        good = self.db.execute(f"{series(10000)} SELECT hll_sketch(v) FROM s").fetchone()[0]
        bad_inputs = {
            "empty blob": b"",
            "truncated": good[: len(good) // 2],
            "header only": good[:8],
            "random bytes": bytes(random.Random(7).getrandbits(8) for _ in range(64)),
            "wrong family": good[:2] + b"\x03" + good[3:],
        }
        for what, blob in bad_inputs.items():
            with self.subTest(what):
                self.assertIn("hll_count: argument 1 is not an HLL sketch", err(self.db, "SELECT hll_count(?)", (blob,)))
        self.assertIn("hll_count: argument 1 is not an HLL sketch (got TEXT", err(self.db, "SELECT hll_count('abc')"))
        self.assertIn("hll_count: argument 1 is not an HLL sketch (got INTEGER", err(self.db, "SELECT hll_count(7)"))
        self.assertIn("wrong number of arguments", err(self.db, "SELECT hll_count(NULL, NULL)"))

    def test_fuzzed_blobs_never_crash(self):
        rnd = random.Random(42)
        good = [self.db.execute(f"{series(n)} SELECT hll_sketch(v) FROM s").fetchone()[0] for n in (3, 300, 30000)]
        for g in good:
            for _ in range(300):
                m = bytearray(g)
                for _ in range(rnd.randint(1, 4)):
                    m[rnd.randrange(len(m))] = rnd.getrandbits(8)
                try:
                    self.db.execute("SELECT hll_count(?), hll_info(?)", (bytes(m), bytes(m))).fetchone()
                except sqlite3.Error as e:
                    self.assertIn("not an HLL sketch", str(e))
                    self.assertNotIn("panic", str(e))

    def test_hll_info(self):
        info = json.loads(self.db.execute(f"{series(100000)} SELECT hll_info(hll_sketch(v)) FROM s").fetchone()[0])
        for k in ("lg_k", "estimate", "lower_bound", "upper_bound", "bytes", "mode", "type"):
            self.assertIn(k, info)
        self.assertEqual((info["lg_k"], info["mode"], info["type"]), (12, "HLL", "HLL_4"))
        self.assertLessEqual(info["lower_bound"], info["estimate"])
        self.assertLessEqual(info["estimate"], info["upper_bound"])
        self.assertLessEqual(info["bytes"], 4096)
        self.assertIn("hll_info: argument 1 is not an HLL sketch", err(self.db, "SELECT hll_info(x'00')"))

    def test_golden_fixtures_decode_forever(self):
        with open(os.path.join(FIXTURES, "hll", "manifest.json")) as f:
            manifest = json.load(f)
        self.assertGreaterEqual(len(manifest), 7)
        for name, want in manifest.items():
            with open(os.path.join(FIXTURES, "hll", name), "rb") as f:
                blob = f.read()
            info = json.loads(self.db.execute("SELECT hll_info(?)", (blob,)).fetchone()[0])
            with self.subTest(name):
                self.assertEqual(info["estimate"], want["estimate"])
                self.assertEqual(info["lower_bound"], want["lower_bound"])
                self.assertEqual(info["upper_bound"], want["upper_bound"])
                self.assertEqual((info["lg_k"], info["mode"]), (want["lg_k"], want["mode"]))
                self.assertEqual(self.db.execute("SELECT hll_count(?)", (blob,)).fetchone()[0], want["hll_count"])
                n = int(want["values"].split("..")[1])
                if want["writer"].startswith("otelcat"):
                    # Rebuilding the same values today gives the same bytes,
                    # but that a dense image has 0 in its HIP field and its
                    # exceptions by slot since 0.2.0 (tests/fixtures/hll/README.md).
                    again = self.db.execute(f"{series(n)} SELECT hll_sketch('user-' || v, {want['lg_k']}) FROM s").fetchone()[0]
                    if blob[0] == 10:
                        aux = 40 + (1 << want["lg_k"]) // 2
                        exc = sorted((blob[i:i + 4] for i in range(aux, len(blob), 4)),
                                     key=lambda c: int.from_bytes(c, "little") & (2 ** 26 - 1))
                        blob = blob[:8] + bytes(8) + blob[16:aux] + b"".join(exc)
                    self.assertEqual(again, blob)
                else:
                    # A foreign sketch merges with ours: same strings, same registers.
                    ours = self.db.execute(f"{series(n)} SELECT hll_sketch('user-' || v, {want['lg_k']}) FROM s").fetchone()[0]
                    self.assertEqual(self.db.execute("SELECT hll_count(hll_merge(?, ?)) = hll_count(?)", (blob, ours, ours)).fetchone()[0], 1)


class TestHostileSketches(unittest.TestCase):
    """The sketch images fuzzing found (tests/fixtures/hll/hostile/README.md)
    are refused by every hll_* function, alone and merged with valid sketches
    in either order, with an error naming the function and the argument; the
    rules they break are in docs/FORMAT.md ("Accepted images")."""

    CALLS = [
        # (SQL with ?1 the hostile image and ?2 a valid one, function, argument it is)
        ("SELECT hll_count(?1)", "hll_count", 1),
        ("SELECT hll_info(?1)", "hll_info", 1),
        ("SELECT hll_add(?1, 'x')", "hll_add", 1),
        ("SELECT hll_add(?1, NULL)", "hll_add", 1),
        ("SELECT hll_merge(?1, NULL)", "hll_merge", 1),
        ("SELECT hll_merge(NULL, ?1)", "hll_merge", 2),
        ("SELECT hll_merge(?1, ?2)", "hll_merge", 1),
        ("SELECT hll_merge(?2, ?1)", "hll_merge", 2),
        ("SELECT hll_merge(?2, ?2, ?1)", "hll_merge", 3),
        ("SELECT hll_merge(s) FROM (SELECT ?1 AS s UNION ALL SELECT ?2)", "hll_merge", 1),
        ("SELECT hll_merge(s) FROM (SELECT ?2 AS s UNION ALL SELECT ?1)", "hll_merge", 1),
        ("SELECT hll_merge(s) OVER (ORDER BY o) FROM (SELECT 1 AS o, ?2 AS s UNION ALL SELECT 2, ?1)", "hll_merge", 1),
    ]

    def test_every_function_refuses_them_in_every_position(self):
        db = connect()
        valid = [db.execute(f"{series(n)} SELECT hll_sketch('v' || v, {k}) FROM s").fetchone()[0]
                 for n, k in ((3, 12), (300, 12), (30000, 12), (5000, 10), (500, 4))]
        hostile = os.path.join(FIXTURES, "hll", "hostile")
        names = sorted(f for f in os.listdir(hostile) if f.endswith(".bin"))
        self.assertEqual(len(names), 5)
        for name in names:
            with open(os.path.join(hostile, name), "rb") as f:
                blob = f.read()
            for sql, func, pos in self.CALLS:
                for v in valid:
                    with self.subTest(name=name, sql=sql, valid=len(v)):
                        msg = err(db, sql, (blob, v) if "?2" in sql else (blob,))
                        self.assertTrue(msg.startswith(f"{func}: argument {pos} is not an HLL sketch ("), msg)
                        self.assertNotIn("panic", msg)

    def test_a_sketch_that_is_read_writes_sketches_that_are_read(self):
        """The other side of the rule: a valid image of every layout, merged and
        added to, gives images every function reads back, with the same count."""
        db = connect()
        foreign = os.path.join(FIXTURES, "hll", "foreign")
        names = sorted(f for f in os.listdir(foreign) if f.endswith(".hll"))
        self.assertEqual(len(names), 38)
        for name in names:
            with open(os.path.join(foreign, name), "rb") as f:
                blob = f.read()
            with self.subTest(name):
                n = db.execute("SELECT hll_count(?)", (blob,)).fetchone()[0]
                alone = db.execute("SELECT hll_merge(?, NULL)", (blob,)).fetchone()[0]
                if blob[0] == 10 and not blob[5] & 0x10:
                    # In-order (HIP) image: the union counts its registers (composite).
                    n = db.execute("SELECT hll_count(?)", (alone,)).fetchone()[0]
                self.assertEqual(db.execute("SELECT hll_count(?)", (alone,)).fetchone()[0], n)
                again = db.execute("SELECT hll_merge(?, NULL)", (alone,)).fetchone()[0]
                self.assertEqual(db.execute("SELECT hll_count(?), length(?)", (again, again)).fetchone(), (n, len(alone)))
                # What otelcat wrote merges with itself into itself, byte for byte.
                self.assertEqual(db.execute("SELECT hll_merge(?1, ?1)", (alone,)).fetchone()[0], alone)
                added = db.execute("SELECT hll_add(?, 'one more')", (blob,)).fetchone()[0]
                self.assertGreaterEqual(db.execute("SELECT hll_count(?)", (added,)).fetchone()[0], n)
                self.assertEqual(json.loads(db.execute("SELECT hll_info(?)", (added,)).fetchone()[0])["lg_k"],
                                 json.loads(db.execute("SELECT hll_info(?)", (blob,)).fetchone()[0])["lg_k"])


try:
    import datasketches
except ImportError:  # run outside the venv
    datasketches = None


@unittest.skipIf(datasketches is None, "Python datasketches not installed (make test installs it)")
class TestDataSketchesInterop(unittest.TestCase):
    def test_python_reads_sql_sketches_and_unions_match(self):
        db = connect()
        sql_blob = db.execute(f"{series(30000)} SELECT hll_sketch('k' || v) FROM s").fetchone()[0]
        py = datasketches.hll_sketch.deserialize(sql_blob)
        self.assertEqual(py.lg_config_k, 12)
        # Python reads our out-of-order flag and takes the same composite estimate.
        self.assertEqual(py.get_estimate(), db.execute("SELECT hll_info(?) ->> '$.estimate'", (sql_blob,)).fetchone()[0])
        self.assertEqual(round(py.get_estimate()), db.execute("SELECT hll_count(?)", (sql_blob,)).fetchone()[0])
        # Python sketches the overlapping range 20001..50000 from the same strings.
        ps = datasketches.hll_sketch(12, datasketches.tgt_hll_type.HLL_4)
        for v in range(20001, 50001):
            ps.update("k" + str(v))
        py_blob = ps.serialize_compact()
        merged = db.execute("SELECT hll_count(hll_merge(?, ?))", (sql_blob, py_blob)).fetchone()[0]
        self.assertLessEqual(abs(merged - 50000), 3 * 1.04 / 64 * 50000)
        # Same strings on both sides: identical registers, so merging the
        # Python sketch changes nothing (the hashes agree value by value).
        same = datasketches.hll_sketch(12, datasketches.tgt_hll_type.HLL_4)
        for v in range(1, 30001):
            same.update("k" + str(v))
        self.assertEqual(db.execute("SELECT hll_merge(?, ?)", (sql_blob, same.serialize_compact())).fetchone()[0],
                         db.execute("SELECT hll_merge(?, ?)", (sql_blob, sql_blob)).fetchone()[0])
        # And Python merges ours.
        u = datasketches.hll_union(12)
        u.update(py)
        u.update(ps)
        self.assertLessEqual(abs(u.get_estimate() - 50000), 3 * 1.04 / 64 * 50000)

    @staticmethod
    def content(blob):
        """What an image holds, comparable across layouts and writers: its
        sorted coupons while sparse, its registers when dense (read from the
        HLL_8 image Python's union writes of it)."""
        sk = datasketches.hll_sketch.deserialize(blob)
        u = datasketches.hll_union(sk.lg_config_k)
        u.update(sk)
        img = u.get_result(datasketches.tgt_hll_type.HLL_8).serialize_compact()
        if img[0] == 10:
            return ("registers", img[40:40 + (1 << sk.lg_config_k)])
        coupons = img[8:] if img[0] == 2 else img[12:]
        return ("coupons", sorted(int.from_bytes(coupons[i:i + 4], "little") for i in range(0, len(coupons), 4)))

    def test_values_hash_as_datasketches_hashes_their_type(self):
        """INTEGER as Python's update(int) (a long), REAL as update(float) (a
        double, -0.0 as 0.0), TEXT as update(str), BLOB as the same bytes:
        the same registers, sparse and dense."""
        db = connect()
        big = 2 ** 63 - 1
        cases = {
            "INTEGER": ([0, 1, -1, 42, -7, big, -big - 1, 2 ** 31, 10 ** 15] + list(range(100, 20_000, 3)), float),
            "REAL": ([0.0, -0.0, 1.0, 0.1, -2.5, 1e300, 5e-324, float("inf"), float("-inf")]
                     + [i * 0.37 for i in range(1, 20_000, 3)], None),
            "TEXT": (["a", "GET /users", "ünïcødé ✓", "42", "1.5"] + [f"k{i}" for i in range(20_000)], None),
        }
        for kind, (values, _) in cases.items():
            for n in (5, 300, len(values)):  # LIST, SET, dense
                vals = values[:n]
                ps = datasketches.hll_sketch(12)
                for v in vals:
                    ps.update(v)
                db.execute("CREATE TEMP TABLE IF NOT EXISTS v(x)")
                db.execute("DELETE FROM v")
                db.executemany("INSERT INTO v VALUES (?)", [(v,) for v in vals])
                types = {t for (t,) in db.execute("SELECT DISTINCT typeof(x) FROM v")}
                self.assertEqual(types, {kind.lower()}, kind)
                with self.subTest(kind=kind, n=n):
                    ours = db.execute("SELECT hll_sketch(x) FROM v").fetchone()[0]
                    self.assertEqual(self.content(ours), self.content(ps.serialize_compact()))
                    if kind == "TEXT":
                        blob = db.execute("SELECT hll_sketch(CAST(x AS BLOB)) FROM v").fetchone()[0]
                        self.assertEqual(blob, ours)
                    # hll_add hashes the same way.
                    added = db.execute("SELECT hll_add(hll_sketch(x), ?) FROM v", (vals[0],)).fetchone()[0]
                    self.assertEqual(self.content(added), self.content(ours))
        # -0.0 is 0.0; the integer 1, the real 1.0 and the text '1' are three
        # values (the integer 0 and the real 0.0 are one: both are 8 zero bytes).
        one = lambda v: db.execute("SELECT hll_sketch(?)", (v,)).fetchone()[0]
        self.assertEqual(one(-0.0), one(0.0))
        self.assertEqual(one(0), one(0.0))
        self.assertEqual(db.execute("SELECT hll_count(hll_merge(?, ?, ?))", (one(1), one(1.0), one("1"))).fetchone()[0], 3)
        # 100 000 integers sketched on both sides are 100 000 after a union (the tester's case).
        ps = datasketches.hll_sketch(12, datasketches.tgt_hll_type.HLL_8)
        for v in range(1, 100_001):
            ps.update(v)
        ours = db.execute(f"{series(100_000)} SELECT hll_sketch(v) FROM s").fetchone()[0]
        self.assertEqual(self.content(db.execute("SELECT hll_merge(?, ?)", (ours, ps.serialize_compact())).fetchone()[0]),
                         self.content(ours))

    def test_empty_text_counts_as_a_value(self):
        """The one difference, documented in docs/FORMAT.md: '' is a value
        (as in the catalog); DataSketches' update('') adds nothing."""
        db = connect()
        self.assertEqual(db.execute("SELECT hll_count(hll_sketch(x)) FROM (SELECT '' x UNION ALL SELECT x'')").fetchone()[0], 1)
        ps = datasketches.hll_sketch(12)
        ps.update("")
        self.assertTrue(ps.is_empty())

    def python_images(self):
        """Images Python writes: HLL_4/6/8, LIST/SET/HLL, in-order one-pass and
        merged, compact and updatable, at several lg_k."""
        T = datasketches.tgt_hll_type
        out = []
        for lg_k in (4, 8, 12, 14):
            for tname in ("HLL_4", "HLL_6", "HLL_8"):
                tgt = getattr(T, tname)
                for n in (0, 5, 300, 3000, 60_000):
                    one = datasketches.hll_sketch(lg_k, tgt)
                    parts = [datasketches.hll_sketch(lg_k, tgt) for _ in range(3)]
                    for v in range(n):
                        one.update(f"py-{v}")
                        parts[v % 3].update(f"py-{v}")
                    u = datasketches.hll_union(lg_k)
                    for p in parts:
                        u.update(p)
                    merged = u.get_result(tgt)
                    for how, sk in (("one-pass", one), ("merged", merged)):
                        out.append((f"{tname} lg_k={lg_k} n={n} {how} compact", tname, lg_k, sk.serialize_compact()))
                        out.append((f"{tname} lg_k={lg_k} n={n} {how} updatable", tname, lg_k, sk.serialize_updatable()))
        return out

    def test_hll_count_is_the_datasketches_estimate_image_by_image(self):
        """hll_count rounds, and hll_info shows, exactly the estimate Python
        gives for the same image (HIP for an in-order dense image, composite
        otherwise); hll_info shows the image's own type, mode and lg_k."""
        db = connect()
        modes = {0: "LIST", 1: "SET", 2: "HLL"}
        in_order_dense = 0
        for what, tname, lg_k, img in self.python_images():
            with self.subTest(what):
                py = datasketches.hll_sketch.deserialize(img).get_estimate()
                count, info = db.execute("SELECT hll_count(?1), hll_info(?1)", (img,)).fetchone()
                info = json.loads(info)
                self.assertEqual(info["estimate"], py)
                self.assertEqual(count, round(py))
                self.assertEqual((info["type"], info["mode"], info["lg_k"]), (tname, modes[img[7] & 3], lg_k))
                in_order_dense += img[0] == 10 and not img[5] & 0x10
        self.assertGreater(in_order_dense, 20)
        # The tester's Spark case: an HLL_8 one-pass image (4 136 bytes at lg_k 12) counts as Python counts it.
        sk = datasketches.hll_sketch(12, datasketches.tgt_hll_type.HLL_8)
        for v in range(621):
            sk.update(f"s{v}")
        img = sk.serialize_compact()
        self.assertEqual(len(img), 4136)
        self.assertEqual(db.execute("SELECT hll_count(?)", (img,)).fetchone()[0],
                         round(datasketches.hll_sketch.deserialize(img).get_estimate()))

    def test_own_images_count_as_python_counts_them(self):
        """otelcat's images, one-pass and merged, sparse and dense: Python's
        estimate is hll_info's, and a dense image is flagged out-of-order with
        a HIP field of 0 (docs/FORMAT.md), so one-pass and merged sketches of
        the same values are the same bytes."""
        db = connect()
        for n in (5, 300, 5_000, 200_000):
            whole = db.execute(f"{series(n)} SELECT hll_sketch(v) FROM s").fetchone()[0]
            merged = db.execute(f"{series(n)} SELECT hll_merge(p) FROM (SELECT hll_sketch(v) p FROM s GROUP BY v % 3)").fetchone()[0]
            added = db.execute(f"{series(n)} SELECT hll_add(hll_sketch(v), 1) FROM s").fetchone()[0]
            for what, img in (("one-pass", whole), ("merged", merged), ("hll_add", added)):
                with self.subTest(n=n, how=what):
                    py = datasketches.hll_sketch.deserialize(img).get_estimate()
                    info = json.loads(db.execute("SELECT hll_info(?)", (img,)).fetchone()[0])
                    self.assertEqual(info["estimate"], py)
                    self.assertEqual(db.execute("SELECT hll_count(?)", (img,)).fetchone()[0], round(py))
                    if img[0] == 10:
                        self.assertTrue(img[5] & 0x10)
                        self.assertEqual(img[8:16], bytes(8))
            if whole[0] == 10:
                self.assertEqual(whole, merged)


class TestSamples(unittest.TestCase):
    def setUp(self):
        self.db = connect()

    def test_json_samples_merge(self):
        q = lambda *a: self.db.execute("SELECT json_samples_merge(" + ",".join("?" * len(a)) + ")", a).fetchone()[0]
        self.assertEqual(q('["a","b"]', '["b","c"]'), '["a","b","c"]')
        self.assertEqual(q(None, None), "[]")
        self.assertEqual(q('[1,2,3]', '[4]', 3), "[1,2,3]")
        cases = {
            "object": ('{"a":1}', "argument 1 is not a JSON array"),
            "number": ("3", "argument 1 is not a JSON array"),
            "truncated": ('["a",', "argument 1 is not a JSON array"),
            "deep": ("[" * 5000 + "]" * 5000, "argument 1 is not a JSON array (nested deeper than 128 levels)"),
        }
        for what, (arg, msg) in cases.items():
            with self.subTest(what):
                self.assertIn("json_samples_merge: " + msg, err(self.db, "SELECT json_samples_merge(?, NULL)", (arg,)))
        self.assertIn("json_samples_merge: argument 2 is not a JSON array",
                      err(self.db, "SELECT json_samples_merge(NULL, 'x')"))
        self.assertIn("json_samples_merge: argument 2 is not a JSON array (got INTEGER)",
                      err(self.db, "SELECT json_samples_merge(NULL, 5)"))
        self.assertIn("json_samples_merge: argument 3 (max_n) must be from 0 to 10000, got -1",
                      err(self.db, "SELECT json_samples_merge(NULL, NULL, -1)"))
        self.assertIn("wrong number of arguments", err(self.db, "SELECT json_samples_merge('[]')"))
        self.assertIn("json_samples_merge: argument 1 is not valid UTF-8",
                      err(self.db, "SELECT json_samples_merge(CAST(x'5b22ff225d' AS TEXT), NULL)"))
        # A BLOB is not JSON text, even one holding the bytes of an array.
        self.assertIn("json_samples_merge: argument 2 is not a JSON array (got BLOB",
                      err(self.db, """SELECT json_samples_merge('["a"]', CAST('["b"]' AS BLOB))"""))

    def test_json_samples(self):
        got = self.db.execute(f"{series(100)} SELECT json_samples(v % 13) FROM s").fetchone()[0]
        self.assertEqual(json.loads(got), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        got = self.db.execute(f"{series(100)} SELECT json_samples('u' || (v % 3), 5) FROM s").fetchone()[0]
        self.assertEqual(json.loads(got), ["u1", "u2", "u0"])
        self.assertEqual(self.db.execute("SELECT json_samples(1) WHERE 0").fetchone()[0], "[]")
        self.assertIn("json_samples: argument 1 is a BLOB", err(self.db, "SELECT json_samples(x'00')"))
        self.assertIn("json_samples: argument 2 (max_n) must be an integer",
                      err(self.db, "SELECT json_samples(1, 'ten')"))


if __name__ == "__main__":
    unittest.main()
