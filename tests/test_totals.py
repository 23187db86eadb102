"""Key totals (issue 16 §3; docs/catalog.md "Key totals"): attribute_catalog,
key_bytes and key_mixed_types read the tables key_totals and key_name_totals,
kept at every commit by otlp_ingest and built again by every other writer of
key rows (otelcat_refresh_totals). Whatever wrote the catalog, the views give
what the full computation over every key row gives: the views as they were
before the totals, kept here."""
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from helpers import FIXTURES, ROOT, connect, err
from otlp_payloads import gauge, log, logs, span, traces

# The three views over every key row, as sql/views.sql had them before the
# key totals: the reference.
KEYS = """k(signal, entity, scope, key_name, event_name, key_count, hll_sketch, first_seen, last_seen, bytes, value_types) AS (
  SELECT 'metrics', metric_name, key_scope, key_name, '', key_count, hll_sketch, first_seen, last_seen, bytes, value_types FROM metric_keys
  UNION ALL
  SELECT 'spans', span_name, key_scope, key_name, event_name, key_count, hll_sketch, first_seen, last_seen, bytes, value_types FROM span_keys
  UNION ALL
  SELECT 'logs', severity, key_scope, key_name, '', key_count, hll_sketch, first_seen, last_seen, bytes, value_types FROM log_keys)"""
OLD_ATTRIBUTE_CATALOG = f"""WITH {KEYS}
SELECT key_name,
       group_concat(DISTINCT signal) AS signals,
       group_concat(DISTINCT scope) AS scopes,
       count(DISTINCT CASE WHEN signal = 'metrics' THEN entity END) AS metrics,
       count(DISTINCT CASE WHEN signal = 'spans' THEN entity END) AS spans,
       count(DISTINCT CASE WHEN signal = 'logs' THEN entity END) AS severities,
       sum(key_count) AS total_count,
       min(hll_count(hll_merge(hll_sketch)), sum(key_count)) AS estimated_cardinality,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen,
       sum(bytes) AS bytes,
       (SELECT json_counts_merge(json_group_object(t, n), NULL) FROM (
          SELECT j.key AS t, sum(j.value) AS n FROM (
            SELECT value_types FROM metric_keys m WHERE m.key_name = k.key_name
            UNION ALL SELECT value_types FROM span_keys s WHERE s.key_name = k.key_name
            UNION ALL SELECT value_types FROM log_keys l WHERE l.key_name = k.key_name) x, json_each(x.value_types) j
          GROUP BY j.key)) AS value_types
FROM k GROUP BY key_name"""
OLD_KEY_BYTES = f"""WITH {KEYS},
g AS (
  SELECT signal, scope AS key_scope, key_name, count(DISTINCT entity) AS entities, sum(key_count) AS key_count,
         sum(bytes) AS bytes
  FROM k GROUP BY signal, scope, key_name)
SELECT signal, key_scope, key_name, entities, key_count, bytes,
       round(1.0 * bytes / max(key_count, 1), 1) AS bytes_per_record,
       round(100.0 * bytes / max(sum(bytes) OVER (PARTITION BY signal), 1), 2) AS signal_percentage
FROM g ORDER BY bytes DESC, signal, key_scope, key_name"""
OLD_KEY_MIXED_TYPES = f"""WITH {KEYS},
mixed AS (
  SELECT v.signal, v.scope, v.key_name
  FROM (SELECT * FROM k WHERE json_valid(value_types)) v, json_each(v.value_types) j
  GROUP BY v.signal, v.scope, v.key_name HAVING count(DISTINCT j.key) > 1)
SELECT k.signal, k.entity, k.scope, k.key_name, k.event_name, k.key_count, k.value_types
FROM k JOIN mixed m ON m.signal = k.signal AND m.scope = k.scope AND m.key_name = k.key_name"""


def normalized(view, rows):
    """Rows in a comparable form: lists (group_concat) as sets, JSON parsed;
    key_mixed_types and attribute_catalog as sets of rows (no order is
    promised); key_bytes in its order."""
    out = []
    for r in rows:
        r = list(r)
        if view == "attribute_catalog":
            r[1], r[2] = frozenset(r[1].split(",")), frozenset(r[2].split(","))
            r[11] = json.dumps(json.loads(r[11]), sort_keys=True)
        if view == "key_mixed_types":
            r[6] = json.dumps(json.loads(r[6]), sort_keys=True)
        out.append(tuple(r))
    return out if view == "key_bytes" else sorted(out, key=repr)


def check_views(test, db, what=""):
    """The three views equal the full computation, and the totals equal a
    rebuild from the rows."""
    for view, old in (("attribute_catalog", OLD_ATTRIBUTE_CATALOG), ("key_bytes", OLD_KEY_BYTES),
                      ("key_mixed_types", OLD_KEY_MIXED_TYPES)):
        with test.subTest(view=view, what=what):
            got = normalized(view, db.execute(f"SELECT * FROM {view}").fetchall())
            want = normalized(view, db.execute(old).fetchall())
            test.assertEqual(got, want)
    kept = totals(db)
    db.execute("SAVEPOINT t")
    db.execute("SELECT otelcat_refresh_totals()")
    rebuilt = totals(db)
    db.execute("ROLLBACK TO t")
    db.execute("RELEASE t")
    with test.subTest("totals kept = totals rebuilt", what=what):
        test.assertEqual(kept, rebuilt)
    return kept


def totals(db):
    """key_totals (value types parsed, the sketch as its estimate) and key_name_totals."""
    t = {r[:3]: (r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[9]) for r in db.execute(
        "SELECT key_name, signal, key_scope, entities, key_count, bytes, value_types, hll_count(hll_sketch), "
        "first_seen, last_seen FROM key_totals")}
    n = {r[:2]: r[2] for r in db.execute("SELECT key_name, signal, entities FROM key_name_totals")}
    return t, n


def ingest(db, *payloads):
    db.execute("BEGIN")
    for p in payloads:
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (p,))
    db.execute("COMMIT")


T = 1_700_000_000_000_000_000


def batches():
    """Ingests of different shapes: new keys, keys the catalog holds, a key
    in several scopes, signals and span event names, values of two types,
    new entities of known keys."""
    yield [traces([span("GET /a", attrs={"user.id": f"u{i}", "http.method": "GET"},
                        events=[("exception", {"exception.type": "E", "user.id": "x"})]) for i in range(30)],
                  service="api", host_name="h1")]
    # Known keys, a new entity, the same key in a new event name, a link, an int value.
    yield [traces([span("GET /a", attrs={"user.id": 7}, events=[("retry", {"user.id": "y"})], t=T + 10**12),
                   span("GET /b", attrs={"http.method": "POST"}, links=[{"user.id": "z"}], t=T - 10**12)],
                  service="web"),
           gauge("cpu", [({"core": str(i % 4), "user.id": f"u{i}"}, 1.0) for i in range(20)], service="api"),
           logs([log(f"disk {i} failed", 17, "ERROR", {"user.id": f"u{i}"}) for i in range(10)] + [log("started", 9)] * 5,
                service="api")]
    # Only keys the catalog holds, on entities that hold them.
    yield [gauge("cpu", [({"core": "1", "user.id": "u1"}, 2.0)], service="api"),
           traces([span("GET /a", attrs={"user.id": "u3"})], service="api", host_name="h1")]
    # A key an entity has in one scope, new to it in another (an event, a link).
    yield [traces([span("GET /b", events=[("e2", {"http.method": "x"})], links=[{"http.method": "y"}])], service="web")]
    # The same key in another event name of a span that has it in one already; a new severity.
    yield [traces([span("GET /a", events=[("timeout", {"user.id": "q"}), ("exception", {"user.id": 3})])], service="api"),
           logs([log("x", 13, "WARN", {"user.id": True, "host.name": "h"})], service="api", host_name="h2")]
    # Many metrics in one transaction, one new key each.
    yield [gauge(f"m{i}", [({f"k{i % 3}": "v", "user.id": "u"}, 1.0)], service="s") for i in range(40)]


class TestKeyTotals(unittest.TestCase):
    def test_ingests_of_every_shape_keep_the_totals(self):
        db = connect()
        for n, b in enumerate(batches()):
            ingest(db, *b)
            check_views(self, db, f"after batch {n}")
        t, names = totals(db)
        # The key on spans: attribute scope of 2 span names, events of 1 (3 event names), a link of 1.
        self.assertEqual(t[("user.id", "spans", "attribute")][0], 1)
        self.assertEqual(t[("http.method", "spans", "attribute")][0], 2)
        self.assertEqual(t[("user.id", "spans", "event")][0], 1)
        self.assertEqual(t[("user.id", "spans", "link")][0], 1)
        self.assertEqual(names[("user.id", "spans")], 2)
        self.assertEqual(names[("user.id", "metrics")], 41)
        self.assertEqual(names[("user.id", "logs")], 2)
        mixed = {r[0] for r in db.execute("SELECT DISTINCT key_name FROM key_mixed_types")}
        self.assertEqual(mixed, {"user.id"})

    def test_one_transaction_of_many_ingests_and_savepoints(self):
        db = connect()
        db.execute("BEGIN")
        for n, b in enumerate(batches()):
            db.execute(f"SAVEPOINT s{n}")
            for p in b:
                db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (p,))
            if n == 2:
                db.execute(f"ROLLBACK TO s{n}")
            db.execute(f"RELEASE s{n}")
        db.execute("COMMIT")
        check_views(self, db)

    def test_folded_key_names_write_no_totals(self):
        """Key names past key_name_bound are folded into patterns: no key
        row, so no total either; the totals agree with the rows."""
        db = connect()
        ingest(db, traces([]))
        db.execute("INSERT OR REPLACE INTO otelcat_meta(key, value) VALUES ('key_name_bound', '5')")
        ingest(db, traces([span("GET /a", attrs={f"user.{i}.name": "v" for i in range(3)})]))
        ingest(db, traces([span("GET /a", attrs={f"user.{i}.name": "v" for i in range(3, 40)}),
                           span("GET /b", attrs={f"user.{i}.name": "v" for i in range(40, 50)})]))
        ingest(db, traces([span("GET /a", attrs={f"user.{i}.name": "w" for i in range(0, 60, 7)})]))
        t, names = check_views(self, db)
        # 5 names of GET /a, 5 of GET /b, the rest folded.
        self.assertEqual(len([k for k in t if k[1:] == ("spans", "attribute")]), 10)
        self.assertGreater(db.execute("SELECT count(*) FROM key_name_patterns").fetchone()[0], 0)

    def test_merge_sql_rebuilds_the_totals(self):
        d = tempfile.mkdtemp(prefix="otelcat-totals-")
        self.addCleanup(shutil.rmtree, d)
        parts = list(batches())
        a, b = os.path.join(d, "a.db"), os.path.join(d, "b.db")
        for path, half in ((a, parts[:3]), (b, parts[3:] + parts[:1])):
            db = connect(path)
            for p in half:
                ingest(db, *p)
            db.close()
        db = connect(a)
        db.execute("ATTACH ? AS other", (b,))
        with open(os.path.join(ROOT, "examples", "merge.sql")) as f:
            db.executescript("".join(line for line in f if not line.startswith(".")))
        db.execute("DETACH other")
        t, _ = check_views(self, db, "merge.sql")
        self.assertEqual(t[("http.method", "spans", "attribute")][0], 2)

    def test_older_catalogs_get_their_totals_at_the_upgrade(self):
        d = tempfile.mkdtemp(prefix="otelcat-totals-")
        self.addCleanup(shutil.rmtree, d)
        for older in ("v0.1.0.db", "v0.2.0.db"):
            with self.subTest(older):
                path = os.path.join(d, older)
                shutil.copy(os.path.join(FIXTURES, "catalog", older), path)
                db = connect(path)
                before = db.execute("SELECT count(*) FROM span_keys").fetchone()[0]
                self.assertGreater(before, 0)
                ingest(db, traces([]))
                t, _ = check_views(self, db, older)
                self.assertGreater(len(t), 0)
                ingest(db, *next(batches()))
                check_views(self, db, older + " then an ingest")

    def test_the_views_read_no_key_rows(self):
        db = connect()
        for b in batches():
            ingest(db, *b)
        for view in ("attribute_catalog", "key_bytes LIMIT 20"):
            plan = " | ".join(r[3] for r in db.execute(f"EXPLAIN QUERY PLAN SELECT * FROM {view}"))
            with self.subTest(view, plan=plan):
                self.assertNotRegex(plan, r"_key_rows|_keys\b")
                self.assertRegex(plan, r"SCAN t|SCAN key_totals")
        # The key rows of the mixed keys only, by key name, whatever
        # ANALYZE says of the tables (it made SQLite scan span_key_rows).
        for analyzed in (False, True):
            if analyzed:
                db.execute("ANALYZE")
            plan = " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM key_mixed_types LIMIT 20"))
            with self.subTest(analyzed=analyzed, plan=plan):
                for t in ("metric", "span", "log"):
                    self.assertIn(f"SEARCH k USING INDEX idx_{t}_keys_key (key_name=?)", plan)
                self.assertNotRegex(plan, r"SCAN (k|\w+_key_rows)\b")

    def test_otelcat_refresh_totals(self):
        """otelcat_refresh_totals rebuilds the totals, all or nothing."""
        db = connect()
        for b in batches():
            ingest(db, *b)
        kept = totals(db)
        db.execute("UPDATE span_key_rows SET hll_sketch = x'0102030405' WHERE key_name = 'http.method'")
        self.assertIn("otelcat_refresh_totals", err(db, "SELECT otelcat_refresh_totals()"))
        self.assertEqual(totals(db), kept)
        db.execute("BEGIN")
        self.assertIn("otelcat_refresh_totals", err(db, "SELECT otelcat_refresh_totals()"))
        self.assertEqual(totals(db), kept)
        db.execute("ROLLBACK")
        # A writer of its own: rows deleted, then the totals rebuilt.
        db.execute("DELETE FROM span_key_rows WHERE key_name = 'http.method'")
        self.assertGreater(db.execute("SELECT otelcat_refresh_totals()").fetchone()[0], 0)
        check_views(self, db, "after a DELETE and a refresh")
        self.assertEqual(db.execute("SELECT count(*) FROM key_totals WHERE key_name = 'http.method'").fetchone()[0], 0)

    def test_refresh_in_a_catalog_less_database_says_so(self):
        db = connect()
        self.assertIn("otelcat_refresh_totals", err(db, "SELECT otelcat_refresh_totals()"))


if __name__ == "__main__":
    unittest.main()
