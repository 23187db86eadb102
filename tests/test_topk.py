"""The frequent-items ("top values") functions through the built extension:
topk_sketch, topk_sketch_weighted, topk_add, topk_merge, topk_values,
topk_estimate, topk_info; their bounds on skewed data and across merges;
hostile images; and interoperability with Apache DataSketches for Python
(frequent_strings_sketch), both directions."""
import collections
import json
import os
import random
import sqlite3
import unittest

from helpers import FIXTURES, connect, err, series

NOT_A_SKETCH = "is not a frequent-items sketch"
FUNCS = ("topk_values(?)", "topk_values(?, 3, 'no_false_positives')", "topk_estimate(?, 'a')", "topk_info(?)",
         "topk_add(?, 'a')", "topk_merge(?, ?)")


def values_of(db, blob, n=10_000, mode="no_false_negatives"):
    return json.loads(db.execute("SELECT topk_values(?, ?, ?)", (blob, n, mode)).fetchone()[0])


def info_of(db, blob):
    return json.loads(db.execute("SELECT topk_info(?)", (blob,)).fetchone()[0])


def zipf_rows(rnd, n, distinct):
    """n values, value k (0-based) with probability proportional to 1/(k+1)."""
    weights = [1 / (k + 1) for k in range(distinct)]
    return [f"v{k}" for k in rnd.choices(range(distinct), weights=weights, k=n)]


def load(db, rows, table="t"):
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(f"CREATE TABLE {table}(i INTEGER PRIMARY KEY, v)")
    db.executemany(f"INSERT INTO {table}(v) VALUES (?)", ((v,) for v in rows))


class BoundsMixin:
    def assert_bounds(self, db, blob, truth, what=""):
        """lower ≤ true ≤ upper for every listed value, true ≤ maximum_error
        for the others, maximum_error ≤ epsilon × total weight."""
        info = info_of(db, blob)
        self.assertEqual(info["total_weight"], sum(truth.values()), what)
        self.assertLessEqual(info["maximum_error"], info["epsilon"] * info["total_weight"], what)
        listed = {r["value"]: r for r in values_of(db, blob)}
        self.assertEqual(len(listed), info["num_items"], what)
        for value, t in truth.items():
            r = listed.get(value)
            if r is None:
                self.assertLessEqual(t, info["maximum_error"], f"{what}: {value} untracked")
            else:
                self.assertLessEqual(r["lower"], t, f"{what}: {value} {r}")
                self.assertLessEqual(t, r["upper"], f"{what}: {value} {r}")
                self.assertEqual(r["count"], r["upper"])
                self.assertEqual(r["upper"] - r["lower"], info["maximum_error"])
        for r in values_of(db, blob, mode="no_false_positives"):
            self.assertGreater(truth[r["value"]], info["maximum_error"], what)


class TestTopk(unittest.TestCase, BoundsMixin):
    def setUp(self):
        self.db = connect()

    def test_topk_sketch(self):
        db = self.db
        blob = db.execute("SELECT topk_sketch(v) FROM (SELECT 'a' v UNION ALL SELECT 'b' UNION ALL SELECT 'a' "
                          "UNION ALL SELECT NULL UNION ALL SELECT 'a')").fetchone()[0]
        self.assertIsInstance(blob, bytes)
        self.assertEqual(values_of(db, blob), [{"value": "a", "count": 3, "lower": 3, "upper": 3},
                                               {"value": "b", "count": 1, "lower": 1, "upper": 1}])
        self.assertIsNone(db.execute("SELECT topk_sketch(1) WHERE 0").fetchone()[0])
        self.assertIsNone(db.execute("SELECT topk_sketch(NULL)").fetchone()[0])
        # Numbers as their text: 42, 42.0 and '42' are one value.
        b = db.execute("SELECT topk_sketch(x) FROM (SELECT 42 x UNION ALL SELECT 42.0 UNION ALL SELECT '42' "
                       "UNION ALL SELECT 1.5e-7)").fetchone()[0]
        self.assertEqual([(r["value"], r["count"]) for r in values_of(db, b)], [("42", 3), ("1.5e-7", 1)])
        self.assertEqual(info_of(db, db.execute(f"{series(10)} SELECT topk_sketch(v, 5) FROM s").fetchone()[0])
                         ["lg_max_map_size"], 5)
        self.assertEqual(info_of(db, blob)["lg_max_map_size"], 8)
        for bad in (2, 15, -1, 100):
            self.assertIn(f"topk_sketch: argument 2 (lg_max_map_size) must be from 3 to 14, got {bad}",
                          err(db, f"SELECT topk_sketch(1, {bad})"))
        self.assertIn("topk_sketch: argument 2 (lg_max_map_size) must be an integer from 3 to 14, got TEXT",
                      err(db, "SELECT topk_sketch(1, '8')"))
        self.assertIn("topk_sketch: lg_max_map_size must be the same on every row (5 then 6)",
                      err(db, "SELECT topk_sketch(v, k) FROM (SELECT 1 v, 5 k UNION ALL SELECT 2, 6)"))
        self.assertIn("topk_sketch: argument 1 is a BLOB; values are text",
                      err(db, "SELECT topk_sketch(x'00ff')"))
        self.assertIn("topk_sketch: argument 1 is not valid UTF-8 text",
                      err(db, "SELECT topk_sketch(CAST(x'ff' AS TEXT))"))
        self.assertIn("wrong number of arguments", err(db, "SELECT topk_sketch(1, 8, 3)"))
        self.assertIn("topk_sketch: rows cannot be removed",
                      err(db, "SELECT topk_sketch(v) OVER (ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) "
                              "FROM (SELECT 1 v UNION ALL SELECT 2 UNION ALL SELECT 3)"))
        # A growing window: the running top value.
        running = db.execute("SELECT topk_values(topk_sketch(v) OVER (ORDER BY i), 1) ->> '$[0].value' FROM "
                             "(SELECT 1 i, 'a' v UNION ALL SELECT 2, 'b' UNION ALL SELECT 3, 'b')").fetchall()
        self.assertEqual([r[0] for r in running], ["a", "a", "b"])
        # The same values in the same order: the same bytes (the function is deterministic).
        q = f"{series(50_000)} SELECT topk_sketch('k' || (v * v % 977), 6) FROM s"
        self.assertEqual(db.execute(q).fetchone()[0], db.execute(q).fetchone()[0])

    def test_topk_sketch_weighted(self):
        db = self.db
        b = db.execute("SELECT topk_sketch_weighted(v, n) FROM (SELECT 'GET' v, 40 n UNION ALL SELECT 'POST', 2 "
                       "UNION ALL SELECT 'GET', 2 UNION ALL SELECT 'PUT', 0 UNION ALL SELECT 'DELETE', NULL "
                       "UNION ALL SELECT NULL, 5)").fetchone()[0]
        self.assertEqual([(r["value"], r["count"]) for r in values_of(db, b)], [("GET", 42), ("POST", 2)])
        self.assertEqual(info_of(db, b)["total_weight"], 44)
        # Weighted over grouped counts lists what the plain aggregate lists
        # over the rows (exact: 300 values fit in the 768 of a 2^10 map).
        rows = zipf_rows(random.Random(3), 20_000, 300)
        load(db, rows)
        a = db.execute("SELECT topk_values(topk_sketch(v, 10), 10000) FROM t").fetchone()[0]
        w = db.execute("SELECT topk_values(topk_sketch_weighted(v, n, 10), 10000) "
                       "FROM (SELECT v, count(*) n FROM t GROUP BY v)").fetchone()[0]
        self.assertEqual(json.loads(a), json.loads(w))
        self.assertEqual({r["value"]: r["count"] for r in json.loads(a)}, collections.Counter(rows))
        self.assertIsNone(db.execute("SELECT topk_sketch_weighted('a', 0)").fetchone()[0])
        self.assertEqual(info_of(db, db.execute("SELECT topk_sketch_weighted('a', 1, 4)").fetchone()[0])
                         ["lg_max_map_size"], 4)
        self.assertIn("topk_sketch_weighted: argument 2 (count) must be 0 or more, got -1",
                      err(db, "SELECT topk_sketch_weighted('a', -1)"))
        self.assertIn("topk_sketch_weighted: argument 2 (count) must be an integer, got REAL",
                      err(db, "SELECT topk_sketch_weighted('a', 2.0)"))
        self.assertIn("topk_sketch_weighted: argument 3 (lg_max_map_size) must be from 3 to 14, got 20",
                      err(db, "SELECT topk_sketch_weighted('a', 1, 20)"))
        self.assertIn("topk_sketch_weighted: the total count would exceed 2^63 - 1 (9223372036854775807 + 1)",
                      err(db, "SELECT topk_sketch_weighted(v, n) FROM (SELECT 'a' v, 9223372036854775807 n "
                              "UNION ALL SELECT 'b', 1)"))
        self.assertIn("wrong number of arguments", err(db, "SELECT topk_sketch_weighted('a')"))

    def test_topk_add(self):
        db = self.db
        s = db.execute("SELECT topk_add(topk_add(topk_add(NULL, 'a'), 'b'), 'a')").fetchone()[0]
        self.assertEqual([(r["value"], r["count"]) for r in values_of(db, s)], [("a", 2), ("b", 1)])
        self.assertEqual(info_of(db, s)["lg_max_map_size"], 8)
        self.assertEqual(db.execute("SELECT topk_add(?, NULL)", (s,)).fetchone()[0], s)
        self.assertEqual(db.execute("SELECT topk_add(?, 'z', 0)", (s,)).fetchone()[0], s)
        self.assertEqual(db.execute("SELECT topk_add(?, 'z', NULL)", (s,)).fetchone()[0], s)
        self.assertIsNone(db.execute("SELECT topk_add(NULL, NULL)").fetchone()[0])
        self.assertEqual(db.execute("SELECT topk_estimate(topk_add(?, 'b', 41), 'b')", (s,)).fetchone()[0], 42)
        small = db.execute("SELECT topk_sketch(v, 4) FROM (SELECT 'x' v)").fetchone()[0]
        self.assertEqual(info_of(db, db.execute("SELECT topk_add(?, 'y')", (small,)).fetchone()[0])
                         ["lg_max_map_size"], 4)
        self.assertIn("topk_add: argument 1 is not a frequent-items sketch (got TEXT, expected a BLOB)",
                      err(db, "SELECT topk_add('text', 1)"))
        self.assertIn("topk_add: argument 2 is a BLOB", err(db, "SELECT topk_add(NULL, x'01')"))
        self.assertIn("topk_add: argument 3 (count) must be 0 or more", err(db, "SELECT topk_add(NULL, 'a', -5)"))
        self.assertIn("wrong number of arguments", err(db, "SELECT topk_add(NULL)"))

    def test_topk_merge(self):
        db = self.db
        a = db.execute("SELECT topk_add(topk_add(NULL, 'a'), 'b')").fetchone()[0]
        b = db.execute("SELECT topk_add(topk_add(NULL, 'a', 5), 'c')").fetchone()[0]
        m = db.execute("SELECT topk_merge(?, NULL, ?)", (a, b)).fetchone()[0]
        self.assertEqual([(r["value"], r["count"]) for r in values_of(db, m)], [("a", 6), ("b", 1), ("c", 1)])
        # Counts add: a sketch merged with itself counts twice.
        self.assertEqual(db.execute("SELECT topk_estimate(topk_merge(?, ?), 'a')", (a, a)).fetchone()[0], 2)
        # One sketch among NULLs: itself; all NULL: NULL.
        self.assertEqual(db.execute("SELECT topk_merge(NULL, ?)", (a,)).fetchone()[0], a)
        self.assertIsNone(db.execute("SELECT topk_merge(NULL, NULL)").fetchone()[0])
        # Aggregate, NULLs skipped; no rows or only NULL give NULL.
        agg = db.execute("SELECT topk_merge(s) FROM (SELECT ? s UNION ALL SELECT NULL UNION ALL SELECT ?)",
                         (a, b)).fetchone()[0]
        self.assertEqual(values_of(db, agg), values_of(db, m))
        self.assertIsNone(db.execute("SELECT topk_merge(x) FROM (SELECT NULL x)").fetchone()[0])
        # Map sizes: the result has the smallest.
        big = db.execute(f"{series(1000)} SELECT topk_sketch(v % 7, 12) FROM s").fetchone()[0]
        small = db.execute(f"{series(1000)} SELECT topk_sketch(v % 5, 5) FROM s").fetchone()[0]
        for args in ((big, small), (small, big)):
            self.assertEqual(info_of(db, db.execute("SELECT topk_merge(?, ?)", args).fetchone()[0])
                             ["lg_max_map_size"], 5)
        # An empty sketch (Python writes them) merges as nothing, and an empty result stays a sketch.
        empty = bytes([1, 1, 10, 8, 3, 5, 0, 0])
        self.assertEqual(values_of(db, db.execute("SELECT topk_merge(?, ?)", (a, empty)).fetchone()[0]),
                         values_of(db, a))
        self.assertEqual(db.execute("SELECT topk_merge(?, ?)", (empty, empty)).fetchone()[0], empty)
        self.assertIn("topk_merge: wrong number of arguments (0)", err(db, "SELECT topk_merge()"))
        self.assertIn("topk_merge: argument 3 is not a frequent-items sketch (6 bytes",
                      err(db, "SELECT topk_merge(NULL, ?, x'001122334455')", (a,)))
        self.assertIn("topk_merge: argument 1 is not a frequent-items sketch (got TEXT",
                      err(db, "SELECT topk_merge(x) FROM (SELECT 'nope' x)"))
        hll = db.execute("SELECT hll_add(NULL, 'a')").fetchone()[0]
        self.assertIn("topk_merge: argument 2 is not a frequent-items sketch (family byte is 7, an HLL sketch",
                      err(db, "SELECT topk_merge(?, ?)", (a, hll)))
        huge = db.execute("SELECT topk_sketch_weighted('a', 9223372036854775000)").fetchone()[0]
        self.assertIn("topk_merge: argument 2: the merged total weight (9223372036854775000 + 9223372036854775000) "
                      "would exceed 2^63 - 1", err(db, "SELECT topk_merge(?, ?)", (huge, huge)))
        self.assertIn("topk_merge: argument 1: the merged total weight",
                      err(db, "SELECT topk_merge(s) FROM (SELECT ? s UNION ALL SELECT ?)", (huge, huge)))

    def test_topk_values(self):
        db = self.db
        s = db.execute("SELECT topk_sketch_weighted(v, n) FROM (SELECT 'a' v, 5 n UNION ALL SELECT 'b', 5 "
                       "UNION ALL SELECT 'c', 9 UNION ALL SELECT 'd', 1)").fetchone()[0]
        # By count, ties by value; n cuts; default 10.
        self.assertEqual([r["value"] for r in values_of(db, s)], ["c", "a", "b", "d"])
        self.assertEqual(json.loads(db.execute("SELECT topk_values(?, 2)", (s,)).fetchone()[0]),
                         [{"value": "c", "count": 9, "lower": 9, "upper": 9},
                          {"value": "a", "count": 5, "lower": 5, "upper": 5}])
        self.assertEqual(db.execute("SELECT topk_values(?, 0)", (s,)).fetchone()[0], "[]")
        many = db.execute(f"{series(100)} SELECT topk_sketch(v) FROM s").fetchone()[0]
        self.assertEqual(len(json.loads(db.execute("SELECT topk_values(?)", (many,)).fetchone()[0])), 10)
        self.assertEqual(db.execute("SELECT topk_values(NULL)").fetchone()[0], "[]")
        # Purged: no_false_positives lists only values above the maximum error.
        rows = zipf_rows(random.Random(5), 30_000, 5_000)
        load(db, rows)
        p = db.execute("SELECT topk_sketch(v, 5) FROM t").fetchone()[0]
        err_max = info_of(db, p)["maximum_error"]
        self.assertGreater(err_max, 0)
        nfp = values_of(db, p, mode="no_false_positives")
        nfn = values_of(db, p, mode="no_false_negatives")
        self.assertTrue(all(r["lower"] > err_max for r in nfp))
        self.assertLess(len(nfp), len(nfn))
        self.assertEqual(nfp, [r for r in nfn if r["lower"] > err_max])
        # The default lists what no_false_positives lists.
        self.assertEqual(json.loads(db.execute("SELECT topk_values(?, 10000)", (p,)).fetchone()[0]), nfp)
        self.assertIn("topk_values: argument 3 must be 'no_false_negatives' or 'no_false_positives', got \"x\"",
                      err(db, "SELECT topk_values(?, 1, 'x')", (s,)))
        self.assertIn("topk_values: argument 3 must be 'no_false_negatives' or 'no_false_positives', got NULL",
                      err(db, "SELECT topk_values(?, 1, NULL)", (s,)))
        self.assertIn("topk_values: argument 2 (n) must be 0 or more, got -1", err(db, "SELECT topk_values(?, -1)", (s,)))
        self.assertIn("topk_values: argument 2 (n) must be an integer, got TEXT", err(db, "SELECT topk_values(?, '3')", (s,)))
        self.assertIn("topk_values: argument 1 is not a frequent-items sketch (got INTEGER", err(db, "SELECT topk_values(7)"))
        # Values that need escaping in JSON come back intact.
        odd = ['quote " and \\ backslash', "line\nbreak", "", "日本語", "\u0001"]
        load(db, odd, "o")
        got = {r["value"] for r in values_of(db, db.execute("SELECT topk_sketch(v) FROM o").fetchone()[0])}
        self.assertEqual(got, set(odd))

    def test_topk_counts(self):
        """The catalog's top_values: topk_values' default rows, value and
        count only."""
        db = self.db
        s = db.execute("SELECT topk_sketch_weighted(v, n) FROM (SELECT 'a' v, 5 n UNION ALL SELECT 'b', 5 "
                       "UNION ALL SELECT 'c', 9 UNION ALL SELECT 'd', 1)").fetchone()[0]
        self.assertEqual(db.execute("SELECT topk_counts(?, 2)", (s,)).fetchone()[0],
                         '[{"value":"c","count":9},{"value":"a","count":5}]')
        self.assertEqual(db.execute("SELECT topk_counts(?, 0), topk_counts(NULL)", (s,)).fetchone(), ("[]", "[]"))
        many = db.execute(f"{series(100)} SELECT topk_sketch(v) FROM s").fetchone()[0]
        self.assertEqual(len(json.loads(db.execute("SELECT topk_counts(?)", (many,)).fetchone()[0])), 10)
        # Purged or not, the same values and counts as topk_values, in order.
        rows = zipf_rows(random.Random(6), 30_000, 5_000)
        load(db, rows)
        for lg in (5, 8, 12):
            p = db.execute("SELECT topk_sketch(v, ?) FROM t", (lg,)).fetchone()[0]
            for n in (1, 10, 1000):
                want = [{"value": r["value"], "count": r["count"]} for r in values_of(db, p, n, "no_false_positives")]
                self.assertEqual(json.loads(db.execute("SELECT topk_counts(?, ?)", (p, n)).fetchone()[0]), want, (lg, n))
        # Values that need escaping in JSON come back intact.
        odd = ['quote " and \\ backslash', "line\nbreak", "", "日本語", "\u0001"]
        load(db, odd, "o2")
        got = {r["value"] for r in json.loads(db.execute("SELECT topk_counts(topk_sketch(v)) FROM o2").fetchone()[0])}
        self.assertEqual(got, set(odd))
        self.assertIn("topk_counts: argument 2 (n) must be 0 or more, got -1", err(db, "SELECT topk_counts(?, -1)", (s,)))
        self.assertIn("topk_counts: argument 2 (n) must be an integer, got TEXT", err(db, "SELECT topk_counts(?, '3')", (s,)))
        self.assertIn("topk_counts: argument 1 is not a frequent-items sketch (got INTEGER", err(db, "SELECT topk_counts(7)"))
        self.assertIn("topk_counts: argument 1 is not a frequent-items sketch (", err(db, "SELECT topk_counts(x'0101')"))

    def test_topk_estimate(self):
        db = self.db
        s = db.execute("SELECT topk_sketch(v) FROM (SELECT 'a' v UNION ALL SELECT 'a' UNION ALL SELECT 42)").fetchone()[0]
        got = db.execute("SELECT topk_estimate(?, 'a'), topk_estimate(?, 42), topk_estimate(?, '42'), "
                         "topk_estimate(?, 42.0), topk_estimate(?, 'zz'), topk_estimate(NULL, 'a'), "
                         "topk_estimate(?, NULL)", (s,) * 6).fetchone()
        self.assertEqual(got, (2, 1, 1, 1, 0, 0, None))
        self.assertIn("topk_estimate: argument 2 is a BLOB", err(db, "SELECT topk_estimate(?, x'00')", (s,)))
        self.assertIn("topk_estimate: argument 1 is not a frequent-items sketch",
                      err(db, "SELECT topk_estimate(x'00', 'a')"))
        self.assertIn("wrong number of arguments", err(db, "SELECT topk_estimate(NULL)"))

    def test_topk_info(self):
        db = self.db
        s = db.execute(f"{series(1000)} SELECT topk_sketch(v % 3) FROM s").fetchone()[0]
        self.assertEqual(info_of(db, s), {"lg_max_map_size": 8, "max_map_size": 256, "epsilon": 3.5 / 256,
                                          "total_weight": 1000, "maximum_error": 0, "num_items": 3,
                                          "empty": False, "serial_version": 1, "bytes": len(s)})
        empty = bytes([1, 1, 10, 6, 3, 5, 0, 0])
        self.assertEqual(info_of(db, empty)["empty"], True)
        self.assertEqual(info_of(db, empty)["total_weight"], 0)
        self.assertIsNone(db.execute("SELECT topk_info(NULL)").fetchone()[0])
        self.assertIn("topk_info: argument 1 is not a frequent-items sketch (empty blob)",
                      err(db, "SELECT topk_info(x'')"))

    def test_skewed_key(self):
        """One value in 50 % of 100 000 records, the rest over 30 000 values:
        it is the top value, its count within the sketch's bound, and every
        listed value's bounds hold."""
        db = self.db
        rnd = random.Random(11)
        rows = ["GET /health" if i % 2 else f"GET /users/{rnd.randrange(30_000)}" for i in range(100_000)]
        rnd.shuffle(rows)
        load(db, rows)
        truth = collections.Counter(rows)
        self.assertEqual(truth["GET /health"], 50_000)
        for lg in (4, 6, 8, 10):
            s = db.execute("SELECT topk_sketch(v, ?) FROM t", (lg,)).fetchone()[0]
            with self.subTest(lg=lg):
                self.assert_bounds(db, s, truth, f"lg {lg}")
                top = values_of(db, s, 1, "no_false_positives")[0]
                info = info_of(db, s)
                self.assertEqual(top["value"], "GET /health")
                self.assertLessEqual(top["lower"], 50_000)
                self.assertLessEqual(50_000, top["upper"])
                self.assertLessEqual(top["count"] - 50_000, info["epsilon"] * 100_000)
                self.assertGreater(info["maximum_error"], 0)  # the sketch did purge

    def test_merged_shards_bound_the_union(self):
        """Per-shard sketches of different map sizes, merged by the aggregate
        and by nested scalar merges in several groupings: the bounds hold
        for the union of the shards."""
        db = self.db
        rows = zipf_rows(random.Random(17), 60_000, 20_000)
        load(db, rows)
        truth = collections.Counter(rows)
        db.execute("CREATE TABLE shards AS SELECT i % 4 AS shard, topk_sketch(v, 6 + 2 * (i % 2)) AS s "
                   "FROM t GROUP BY i % 4")
        agg = db.execute("SELECT topk_merge(s) FROM shards").fetchone()[0]
        agg_desc = db.execute("SELECT topk_merge(s) FROM (SELECT s FROM shards ORDER BY shard DESC)").fetchone()[0]
        a, b, c, d = [r[0] for r in db.execute("SELECT s FROM shards ORDER BY shard")]
        nested = db.execute("SELECT topk_merge(topk_merge(?, ?), topk_merge(?, ?))", (a, b, c, d)).fetchone()[0]
        chain = db.execute("SELECT topk_merge(?, topk_merge(?, topk_merge(?, ?)))", (d, c, b, a)).fetchone()[0]
        flat = db.execute("SELECT topk_merge(?, ?, ?, ?)", (b, d, a, c)).fetchone()[0]
        for what, m in (("aggregate", agg), ("aggregate desc", agg_desc), ("nested", nested),
                        ("chain", chain), ("flat", flat)):
            with self.subTest(what):
                self.assert_bounds(db, m, truth, what)
                self.assertEqual(info_of(db, m)["lg_max_map_size"], 6)
                self.assertEqual(values_of(db, m, 1)[0]["value"], "v0")

    def test_hostile_images(self):
        """Damaged images (truncated, bytes changed, inserted, removed):
        every topk_* function refuses an image alike with an error naming
        itself, or every one reads it; never a crash, and what they write
        reads back."""
        db = self.db
        rnd = random.Random(23)
        load(db, zipf_rows(rnd, 5_000, 800))
        good = [db.execute("SELECT topk_sketch(v, 5) FROM t").fetchone()[0],
                db.execute("SELECT topk_sketch(v) FROM t WHERE i < 40").fetchone()[0],
                bytes([1, 1, 10, 5, 3, 5, 0, 0])]
        outcomes = collections.Counter()
        for g in good:
            for k in range(600):
                m = bytearray(g)
                if k < 40:
                    m = m[: rnd.randrange(len(m))]
                else:
                    for _ in range(rnd.randint(1, 3)):
                        at = rnd.randrange(len(m))
                        op = rnd.randrange(3)
                        if op == 0:
                            m[at] = rnd.getrandbits(8)
                        elif op == 1:
                            m.insert(at, rnd.getrandbits(8))
                        elif len(m) > 1:
                            del m[at]
                m = bytes(m)
                verdicts = []
                for f in FUNCS:
                    name = f.split("(")[0]
                    try:
                        out = db.execute(f"SELECT {f}", (m,) * f.count("?")).fetchone()[0]
                        verdicts.append(True)
                        if isinstance(out, bytes):  # what a function writes reads back
                            db.execute("SELECT topk_info(?)", (out,)).fetchone()
                    except sqlite3.Error as e:
                        self.assertIn(f"{name}: argument 1 {NOT_A_SKETCH}", str(e))
                        self.assertNotIn("panic", str(e))
                        verdicts.append(False)
                self.assertEqual(len(set(verdicts)), 1, f"{m!r}: {verdicts}")
                outcomes[verdicts[0]] += 1
        self.assertGreater(outcomes[True], 20)
        self.assertGreater(outcomes[False], 500)
        # Declared sizes that no image backs: refused or read without allocating them.
        for blob, want in (
            (bytes([4, 1, 10, 14, 14, 0, 0, 0]) + (12288).to_bytes(4, "little") + bytes(4) + (5).to_bytes(8, "little")
             + bytes(8), "truncated: 12288 counts"),
            (bytes([4, 1, 10, 30, 30, 0, 0, 0]) + bytes(24), "lg_max_map_size 30 is outside 3..14"),
            (bytes([4, 1, 10, 8, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]) + (2 ** 63).to_bytes(8, "little") + bytes(16),
             "total weight 9223372036854775808 is above 2^63 - 1"),
        ):
            self.assertIn(want, err(db, "SELECT topk_values(?)", (blob,)))
        lone = (bytes([4, 1, 10, 14, 14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]) + (5).to_bytes(8, "little")
                + bytes(8) + (5).to_bytes(8, "little") + (1).to_bytes(4, "little") + b"x")
        self.assertEqual(db.execute("SELECT topk_estimate(topk_merge(?, ?), 'x')", (lone, lone)).fetchone()[0], 10)

    def test_golden_fixtures_decode_forever(self):
        with open(os.path.join(FIXTURES, "topk", "manifest.json")) as f:
            manifest = json.load(f)
        self.assertGreaterEqual(len(manifest), 3)
        for name, want in manifest.items():
            with open(os.path.join(FIXTURES, "topk", name), "rb") as f:
                blob = f.read()
            with self.subTest(name):
                self.assertEqual(info_of(self.db, blob)["total_weight"], want["total_weight"])
                self.assertEqual(info_of(self.db, blob)["maximum_error"], want["maximum_error"])
                self.assertEqual(values_of(self.db, blob, 10), want["top10"])
                if want["writer"].startswith("otelcat"):
                    # Rebuilding the same values today gives the same bytes.
                    self.assertEqual(self.db.execute(want["sql"]).fetchone()[0], blob)


try:
    import datasketches
except ImportError:  # run outside the venv
    datasketches = None


@unittest.skipIf(datasketches is None, "Python datasketches not installed (make test installs it)")
class TestTopkDataSketchesInterop(unittest.TestCase, BoundsMixin):
    """Python's datasketches.frequent_strings_sketch reads our images and we
    read theirs, with the same counts and bounds."""

    def python_rows(self, sk, mode):
        et = {"no_false_positives": datasketches.frequent_items_error_type.NO_FALSE_POSITIVES,
              "no_false_negatives": datasketches.frequent_items_error_type.NO_FALSE_NEGATIVES}[mode]
        rows = [{"value": v, "count": e, "lower": lo, "upper": up} for v, e, lo, up in sk.get_frequent_items(et)]
        return sorted(rows, key=lambda r: (-r["count"], r["value"].encode()))

    def test_python_reads_ours(self):
        db = connect()
        rows = zipf_rows(random.Random(29), 40_000, 10_000)
        load(db, rows)
        for lg in (3, 6, 8, 12):
            blob = db.execute("SELECT topk_sketch(v, ?) FROM t", (lg,)).fetchone()[0]
            py = datasketches.frequent_strings_sketch.deserialize(blob)
            with self.subTest(lg=lg):
                info = info_of(db, blob)
                self.assertEqual(py.total_weight, info["total_weight"])
                self.assertEqual(py.num_active_items, info["num_items"])
                self.assertEqual(py.epsilon, info["epsilon"])
                for mode in ("no_false_positives", "no_false_negatives"):
                    self.assertEqual(self.python_rows(py, mode), values_of(db, blob, 100_000, mode))
                for v in ("v0", "v1", "v99", "absent"):
                    self.assertEqual(py.get_estimate(v), db.execute("SELECT topk_estimate(?, ?)", (blob, v)).fetchone()[0])
        # Empty, added-to and merged images too.
        for sql in ("SELECT topk_merge(topk_sketch(v, 5), topk_sketch(v)) FROM t",
                    "SELECT topk_add(topk_sketch(v, 4), 'new', 7) FROM t"):
            blob = db.execute(sql).fetchone()[0]
            py = datasketches.frequent_strings_sketch.deserialize(blob)
            self.assertEqual(self.python_rows(py, "no_false_negatives"), values_of(db, blob))
        self.assertTrue(datasketches.frequent_strings_sketch.deserialize(
            db.execute("SELECT topk_merge(?, NULL)", (bytes([1, 1, 10, 5, 3, 5, 0, 0]),)).fetchone()[0]).is_empty())

    def test_we_read_pythons(self):
        db = connect()
        rnd = random.Random(31)
        rows = zipf_rows(rnd, 30_000, 8_000)
        truth = collections.Counter()
        for lg in (3, 5, 8, 10):
            py = datasketches.frequent_strings_sketch(lg)
            truth = collections.Counter()
            for v in rows:
                w = 1 + len(v) % 3  # weighted updates
                py.update(v, w)
                truth[v] += w
            py.update("日本語 ünïcode", 5)
            truth["日本語 ünïcode"] += 5
            blob = py.serialize()
            with self.subTest(lg=lg):
                for mode in ("no_false_positives", "no_false_negatives"):
                    self.assertEqual(values_of(db, blob, 100_000, mode), self.python_rows(py, mode))
                self.assertEqual(info_of(db, blob)["total_weight"], py.total_weight)
                self.assert_bounds(db, blob, truth, f"python lg {lg}")
        # Ours merged with theirs: the bounds hold for everything both saw,
        # and Python merges ours the same way.
        load(db, rows)
        ours = db.execute("SELECT topk_sketch(v, 8) FROM t").fetchone()[0]
        theirs = datasketches.frequent_strings_sketch(8)
        for v in rows:
            theirs.update(v)
        both = collections.Counter(rows) + collections.Counter(rows)
        merged = db.execute("SELECT topk_merge(?, ?)", (ours, theirs.serialize())).fetchone()[0]
        self.assert_bounds(db, merged, both, "ours + theirs")
        py_merged = datasketches.frequent_strings_sketch.deserialize(ours)
        py_merged.merge(theirs)
        self.assert_bounds(db, py_merged.serialize(), both, "merged in Python")
        # An empty Python sketch.
        empty = datasketches.frequent_strings_sketch(6).serialize()
        self.assertEqual(db.execute("SELECT topk_values(?)", (empty,)).fetchone()[0], "[]")
        self.assertTrue(info_of(db, empty)["empty"])


if __name__ == "__main__":
    unittest.main()
