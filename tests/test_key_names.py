"""Key-name patterns (issue 16 §2): past an entity's key_name_bound of
distinct key names, new names fold into key-name patterns (docs/catalog.md
"Key-name patterns"), through the built extension."""
import json
import os
import shutil
import sqlite3
import tempfile
import unittest

from helpers import FIXTURES, connect, err
from otlp_payloads import gauge, log, logs, span, traces

MERGE = os.path.join(os.path.dirname(FIXTURES), "..", "examples", "merge.sql")


def ingest(db, payload):
    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload,))


def bound(db, n):
    """Sets key_name_bound (the catalog is made first by an empty ingest)."""
    ingest(db, '{"resourceSpans": []}')
    db.execute("INSERT OR REPLACE INTO otelcat_meta(key, value) VALUES ('key_name_bound', ?)", (str(n),))


def named(names, name="op", t=1700000000000000000, **extra):
    """One span per entry of `names` (a list of key names per span)."""
    return [span(name, attrs={**{k: "v" for k in ks}, **extra}, t=t + i) for i, ks in enumerate(names)]


def span_key_names(db, scope="attribute", name="op"):
    return {k for (k,) in db.execute("SELECT key_name FROM span_keys WHERE span_name = ? AND key_scope = ?",
                                     (name, scope))}


def patterns(db):
    return db.execute("SELECT entity_kind, entity_name, key_scope, event_name, pattern, key_count, estimated_names, "
                      "sample_names FROM key_name_patterns ORDER BY 1, 2, 3, 4, 5").fetchall()


class TestFold(unittest.TestCase):
    def test_default_bound_is_exact(self):
        """1 000 names (the default bound) get rows; the 1 001st is folded."""
        db = connect()
        db.execute("BEGIN")
        ingest(db, traces(named([[f"user.{i}.name"] for i in range(1000)])))
        ingest(db, traces(named([["user.1000.name"], ["user.5.name"]])))
        db.execute("COMMIT")
        self.assertEqual(len(span_key_names(db)), 1000)
        self.assertNotIn("user.1000.name", span_key_names(db))
        self.assertEqual(patterns(db), [("span", "op", "attribute", "", "user.<num>.name", 1, 1, '["user.1000.name"]')])
        self.assertEqual(db.execute("SELECT key_count FROM span_keys WHERE key_name = 'user.5.name'").fetchone(), (2,))
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans").fetchone(), (1002,))

    def test_the_bound_counts_stored_names(self):
        """Across transactions: names stored keep being counted, new ones past
        the bound (stored + this batch's, in the order they came) fold."""
        db = connect()
        bound(db, 5)
        ingest(db, traces(named([["a.1", "a.2", "a.3"]])))
        # Stored 3: of a.4, a.5, a.6, a.7 (new), a.4 and a.5 fill the bound
        # (a.7, past the transaction's own 5 names, folded while aggregating;
        # a.6 at the flush).
        ingest(db, traces(named([["a.2", "a.1", "a.4", "a.5", "a.6"], ["a.7", "a.1"]])))
        self.assertEqual(span_key_names(db), {"a.1", "a.2", "a.3", "a.4", "a.5"})
        self.assertEqual(db.execute("SELECT key_count FROM span_keys WHERE key_name = 'a.1'").fetchone(), (3,))
        self.assertEqual(patterns(db), [("span", "op", "attribute", "", "a.<num>", 2, 2, '["a.7","a.6"]')])
        # Folded once, folded again; stored, counted.
        ingest(db, traces(named([["a.6", "a.3"]])))
        self.assertEqual(span_key_names(db), {"a.1", "a.2", "a.3", "a.4", "a.5"})
        self.assertEqual(db.execute("SELECT key_count FROM span_keys WHERE key_name = 'a.3'").fetchone(), (2,))
        self.assertEqual(patterns(db)[0][5:7], (3, 2))
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans").fetchone(), (4,))

    def test_a_stored_name_past_the_transactions_own_bound(self):
        """The documented boundary: a stored name that comes after the
        transaction's own key_name_bound new names in one key table is
        counted in its pattern for that transaction; every occurrence is
        counted once, in a key row or a pattern."""
        db = connect()
        bound(db, 2)
        ingest(db, traces(named([["a.1"]])))
        ingest(db, traces(named([["a.5", "a.6", "a.1"]])))
        self.assertEqual(span_key_names(db), {"a.1", "a.5"})
        self.assertEqual(db.execute("SELECT key_count FROM span_keys WHERE key_name = 'a.1'").fetchone(), (1,))
        self.assertEqual(patterns(db), [("span", "op", "attribute", "", "a.<num>", 2, 2, '["a.1","a.6"]')])
        # A later transaction counts a.1 in its row again.
        ingest(db, traces(named([["a.1"]])))
        self.assertEqual(db.execute("SELECT key_count FROM span_keys WHERE key_name = 'a.1'").fetchone(), (2,))

    def test_one_transaction_and_many_give_the_same_fold(self):
        names = [[f"k{i}", f"k{i + 1}", "http.method"] for i in range(0, 40, 2)]
        one, many = connect(), connect()
        for db in (one, many):
            bound(db, 9)
        one.execute("BEGIN")
        for ks in names:
            ingest(one, traces(named([ks])))
        one.execute("COMMIT")
        for ks in names:
            ingest(many, traces(named([ks])))
        for db in (one, many):
            self.assertEqual(span_key_names(db), {"http.method"} | {f"k{i}" for i in range(8)})
        self.assertEqual(patterns(one), patterns(many))
        self.assertEqual(patterns(one)[0][4:7], ("k<num>", 32, 32))

    def test_counts_and_estimates_of_patterns(self):
        """3 000 names past a bound of 10: the pattern counts every record,
        estimates the names within HLL's error; entity counts stay exact."""
        db = connect()
        bound(db, 10)
        db.execute("BEGIN")
        for r in range(10):
            ingest(db, traces(named([[f"session.{r * 300 + i}.id", f"user-{r * 300 + i}"] for i in range(300)],
                                    **{"http.route": "/x"})))
        db.execute("COMMIT")
        rows = {p[4]: p for p in patterns(db)}
        self.assertEqual(set(rows), {"session.<num>.id", "user-<num>"})
        # Names: 10 of the 3 001 distinct names per span got rows (http.route,
        # then session.0..4 and user-0..3 in arrival order).
        self.assertEqual(len(span_key_names(db)), 10)
        kept = span_key_names(db)
        for p, prefix in (("session.<num>.id", "session."), ("user-<num>", "user-")):
            n_kept = sum(1 for k in kept if k.startswith(prefix))
            self.assertEqual(rows[p][5], 3000 - n_kept)
            self.assertLess(abs(rows[p][6] - (3000 - n_kept)), 0.05 * 3000)
            self.assertEqual(len(json.loads(rows[p][7])), 10)
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans").fetchone(), (3000,))
        self.assertEqual(db.execute("SELECT key_count FROM span_keys WHERE key_name = 'http.route'").fetchone(), (3000,))
        # The view ranks them.
        view = db.execute("SELECT pattern, estimated_names FROM key_name_explosions").fetchall()
        self.assertEqual({v[0] for v in view}, set(rows))
        self.assertEqual([v[1] for v in view], sorted((v[1] for v in view), reverse=True))
        # Bytes: what the folded pairs take in OTLP protobuf (key, a string
        # value "v": 2 + len(key) + 2 + 3 bytes, in a field of 2 bytes).
        self.assertEqual(db.execute("SELECT bytes FROM key_name_patterns WHERE pattern = 'user-<num>'").fetchone()[0],
                         sum(2 + 2 + len(f"user-{i}") + 2 + 3 for i in range(3000) if f"user-{i}" not in kept))

    def test_services_fold_alike(self):
        """The entity's key rows stay the union of its services' rows."""
        db = connect()
        bound(db, 4)
        for i in range(6):
            ingest(db, traces(named([[f"a.{i}", f"b.{i}"]]), service=f"svc{i % 2}"))
        per_service = {k for (k,) in db.execute(
            "SELECT DISTINCT key_name FROM span_service_key_rows WHERE key_scope = 'attribute'")}
        self.assertEqual(per_service, span_key_names(db))
        self.assertEqual(len(span_key_names(db)), 4)
        total = db.execute("SELECT sum(key_count) FROM span_keys WHERE key_scope = 'attribute'").fetchone()[0]
        folded = db.execute("SELECT sum(key_count) FROM key_name_patterns").fetchone()[0]
        self.assertEqual(total + folded, 12)

    def test_every_key_table_folds(self):
        db = connect()
        bound(db, 2)
        ingest(db, traces([span("op", attrs={f"a{i}": 1 for i in range(4)},
                                events=[("ev", {f"e{i}": 1 for i in range(3)})],
                                links=[{f"l{i}": 1 for i in range(3)}])],
                          **{f"r{i}": "x" for i in range(3)}))
        ingest(db, gauge("m", [({f"lab{i}": "x" for i in range(3)}, 1.0)]))
        ingest(db, logs([log("hi", attrs={f"x{i}": 1 for i in range(3)})]))
        rec = log(None, attrs={f"y{i}": 1 for i in range(3)})
        rec["eventName"] = "app.evt"
        ingest(db, logs([rec]))
        got = {(p[0], p[2], p[3], p[4]) for p in patterns(db)}
        self.assertEqual(got, {
            ("span", "attribute", "", "a<num>"), ("span", "event", "ev", "e<num>"), ("span", "link", "", "l<num>"),
            ("span", "resource", "", "r<num>"), ("metric", "label", "", "lab<num>"),
            ("log", "attribute", "", "x<num>"), ("log", "attribute", "", "y<num>"),
            ("log_event", "attribute", "", "y<num>")})
        self.assertEqual(db.execute("SELECT count(*) FROM log_event_key_rows").fetchone(), (2,))

    def test_log_template_keys_list_patterns(self):
        """A log template's keys past the bound are listed by pattern, with
        the counts the severity's pattern has."""
        db = connect()
        bound(db, 2)
        ingest(db, logs([log("hi", attrs={f"x{i}": 1 for i in range(4)}), log("hi", attrs={"x7": 1, "x0": 2})]))
        self.assertEqual(db.execute("SELECT key_name, key_count FROM log_template_keys ORDER BY 1").fetchall(),
                         [("x0", 2), ("x1", 1), ("x<num>", 3)])
        self.assertEqual(patterns(db), [("log", "INFO", "attribute", "", "x<num>", 3, 3, '["x2","x3","x7"]')])

    def test_savepoints(self):
        """A released savepoint's names past the bound fold; a rolled back
        one leaves nothing."""
        db = connect()
        bound(db, 3)
        db.execute("BEGIN")
        ingest(db, traces(named([["a.1", "a.2"]])))
        db.execute("SAVEPOINT s")
        ingest(db, traces(named([["a.3", "a.4", "a.5"]])))
        db.execute("RELEASE s")
        db.execute("SAVEPOINT t")
        ingest(db, traces(named([["a.6"]])))
        db.execute("ROLLBACK TO t")
        db.execute("RELEASE t")
        db.execute("COMMIT")
        self.assertEqual(span_key_names(db), {"a.1", "a.2", "a.3"})
        self.assertEqual(patterns(db)[0][4:8], ("a.<num>", 2, 2, '["a.4","a.5"]'))


class TestSetting(unittest.TestCase):
    def test_bad_settings_are_refused_and_nothing_is_written(self):
        for value in ("0", "-3", "ten", "", "1.5", "99999999999"):
            with self.subTest(value=value):
                db = connect()
                bound(db, value)
                e = err(db, "INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(named([["a"]])),))
                self.assertIn("otlp_ingest", e)
                self.assertIn("key_name_bound", e)
                self.assertEqual(db.execute("SELECT count(*) FROM spans").fetchone(), (0,))

    def test_a_bound_of_one(self):
        db = connect()
        bound(db, " 1 ")
        ingest(db, traces(named([["b", "a"]])))
        self.assertEqual(span_key_names(db), {"b"})
        self.assertEqual(patterns(db)[0][4], "a")

    def test_changed_between_transactions(self):
        db = connect()
        bound(db, 2)
        ingest(db, traces(named([["a.1", "a.2", "a.3"]])))
        db.execute("UPDATE otelcat_meta SET value = '4' WHERE key = 'key_name_bound'")
        ingest(db, traces(named([["a.4", "a.5", "a.6"]])))
        self.assertEqual(span_key_names(db), {"a.1", "a.2", "a.4", "a.5"})


class TestReport(unittest.TestCase):
    def test_report_lists_key_name_explosions(self):
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(FIXTURES), "..", "python"))
        from otelcat.report import sections
        db = connect()
        bound(db, 2)
        ingest(db, traces(named([[f"cart.item.{i}.quantity" for i in range(40)]], name="AddItem")))
        title, headers, keys, rows = next(s for s in sections(db, 5, 1) if s[0].startswith("Key names that explode"))
        self.assertEqual(headers, ["entity kind", "entity", "scope", "pattern", "~names", "count", "sample names"])
        self.assertEqual([r[:6] for r in rows], [("span", "AddItem", "attribute", "cart.item.<num>.quantity", 38, 38)])
        self.assertTrue(rows[0][6].startswith("cart.item.2.quantity"))
        # A catalog without the view (an older version, read as it is) has no such section.
        old = sqlite3.connect(f"file:{os.path.join(FIXTURES, 'catalog', 'v0.1.0.db')}?mode=ro", uri=True)
        self.assertFalse([s for s in sections(old, 5, 1) if s[0].startswith("Key names that explode")])


class TestFiles(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_older_catalogs_upgrade(self):
        for name in ("v0.1.0.db", "v0.2.0.db"):
            with self.subTest(fixture=name):
                path = os.path.join(self.dir, name)
                shutil.copy(os.path.join(FIXTURES, "catalog", name), path)
                db = connect(path)
                before = db.execute("SELECT count(*) FROM span_keys").fetchone()[0]
                names = db.execute("SELECT count(*) FROM span_keys WHERE span_name = 'op'").fetchone()[0]
                ingest(db, '{"resourceSpans": []}')
                db.execute("INSERT OR REPLACE INTO otelcat_meta(key, value) VALUES ('key_name_bound', '3')")
                ingest(db, traces(named([["k.1", "k.2", "k.3", "k.4", "k.5"]])))
                self.assertEqual(names, 0)
                self.assertEqual(db.execute("SELECT count(*) FROM span_keys").fetchone()[0], before + 4)  # service.name too
                self.assertEqual(patterns(db)[0][4:7], ("k.<num>", 2, 2))
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone(), ("ok",))
                db.close()

    def test_merge_adds_patterns(self):
        a, b, both = (os.path.join(self.dir, f"{n}.db") for n in ("a", "b", "both"))
        one = traces(named([[f"u.{i}" for i in range(6)]]))
        two = traces(named([[f"u.{i}" for i in range(3, 12)]], name="op"))
        for path, ps in ((a, [one]), (b, [two]), (both, [one, two])):
            db = connect(path)
            bound(db, 3)
            for p in ps:
                ingest(db, p)
            db.close()
        with open(MERGE) as f:
            script = "\n".join(l for l in f.read().splitlines() if not l.startswith("."))
        db = connect(a)
        db.execute("ATTACH ? AS other", (b,))
        db.executescript(script)
        # a folded u.3..5 (3), b folded u.6..11 (6): 9 records, 9 names.
        self.assertEqual(patterns(db), [("span", "op", "attribute", "", "u.<num>", 9, 9,
                                         '["u.3","u.4","u.5","u.6","u.7","u.8","u.9","u.10","u.11"]')])
        # The merge adds what each catalog folded; one catalog fed both
        # payloads folds by its own stored names (u.0..2 kept, u.3..5 twice).
        ref = connect(both)
        self.assertEqual(ref.execute("SELECT key_count, estimated_names FROM key_name_patterns").fetchone(), (12, 9))
        # Both catalogs' key rows are kept (b kept u.3..5): twice the bound.
        self.assertEqual(span_key_names(db), {f"u.{i}" for i in range(6)})


if __name__ == "__main__":
    unittest.main()
