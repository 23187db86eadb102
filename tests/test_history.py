"""Time-bucketed history (docs/catalog.md "History"): bucket arithmetic,
sums that match the catalog's counts, roll-up into days (exact sketch
unions), retention, settings, hostile times, views, upgrades."""
import os
import shutil
import sqlite3
import tempfile
import time
import unittest

from helpers import FIXTURES, connect, err
from otlp_payloads import gauge, log, logs, span, traces

H = 3600 * 10**9
DAY = 24 * H
# 2023-11-14 22:13:20 UTC
T = 1_700_000_000 * 10**9
T0 = T - T % DAY  # 2023-11-14 00:00:00


def ingest(db, payload):
    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload,))


class Base(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.db = connect(os.path.join(self.dir, "c.db"))

    def tearDown(self):
        self.db.close()
        shutil.rmtree(self.dir)

    def q(self, sql, *params):
        return self.db.execute(sql, params).fetchall()


class TestBuckets(Base):
    def test_boundaries(self):
        """A record at the last nanosecond of an hour and one at the first of
        the next fall in two buckets; the buckets start on the hour."""
        ingest(self.db, traces([span("GET", t=T0 + 5 * H - 1), span("GET", t=T0 + 5 * H),
                                span("GET", t=T0 + 5 * H + 1)]))
        self.assertEqual(self.q("SELECT resolution, bucket_start, records FROM entity_history"),
                         [("bucket", "2023-11-14 04:00:00", 1), ("bucket", "2023-11-14 05:00:00", 2)])

    def test_sums_match_the_catalog(self):
        """Across transactions, savepoints and services, the buckets of an
        entity, a service and a key add up to the catalog's counts."""
        self.db.execute("BEGIN")
        for h in range(6):
            for svc in ("a", "b"):
                ingest(self.db, traces([span("GET", attrs={"user": f"u{h}{i}", "k": "v"},
                                             events=[("ev", {"e": h})], t=T0 + h * H + i * 10**9)
                                        for i in range(h + 1)], service=svc))
            self.db.execute("SAVEPOINT s")
            ingest(self.db, logs([log(f"user {h} logged in", attrs={"user": h}, t=T0 + h * H)]))
            if h % 2:
                self.db.execute("ROLLBACK TO s")
            self.db.execute("RELEASE s")
        self.db.execute("COMMIT")
        ingest(self.db, gauge("g", [({"x": 1}, 1.0), ({"x": 2}, 2.0)]))
        self.assertEqual(
            self.q("SELECT signal, entity, sum(records), sum(bytes) FROM entity_history GROUP BY 1, 2 ORDER BY 1, 2"),
            self.q("SELECT 'logs', severity, total_sample_count, bytes FROM logs UNION ALL "
                   "SELECT 'metrics', name, total_sample_count, bytes FROM metrics UNION ALL "
                   "SELECT 'spans', name, total_sample_count, bytes FROM spans ORDER BY 1, 2"))
        self.assertEqual(
            self.q("SELECT service_name, sum(records), sum(bytes) FROM service_history WHERE signal = 'spans' GROUP BY 1"),
            self.q("SELECT service_name, sample_count, bytes FROM span_services ORDER BY 1"))
        self.assertEqual(
            self.q("SELECT key_scope, key_name, event_name, sum(key_count), sum(bytes), hll_count(hll_merge(hll_sketch)) "
                   "FROM key_history_rows WHERE signal = 'spans' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
            self.q("SELECT key_scope, key_name, event_name, key_count, bytes, estimated_cardinality FROM span_keys ORDER BY 1, 2, 3"))
        self.assertEqual(self.q("SELECT bucket_start, key_count FROM key_history WHERE key_name = 'user' AND signal = 'spans'"),
                         [(f"2023-11-14 0{h}:00:00", 2 * (h + 1)) for h in range(6)])
        self.assertEqual(self.q("SELECT bucket_start, records FROM entity_history WHERE signal = 'logs'"),
                         [(f"2023-11-14 0{h}:00:00", 1) for h in (0, 2, 4)])
        self.assertEqual(self.q("SELECT sum(count) FROM template_history"), self.q("SELECT sum(count) FROM log_body_templates"))

    def test_records_without_time_count_at_ingest(self):
        before = int(time.time())
        ingest(self.db, traces([span("GET", t=0)]))
        after = int(time.time())
        (start,), = self.q("SELECT unixepoch(bucket_start) FROM entity_history")
        self.assertIn(start, {before - before % 3600, after - after % 3600})
        self.assertEqual(self.q("SELECT unixepoch(first_seen) - unixepoch(first_seen) % 3600 FROM spans"), [(start,)])

    def test_hostile_times_make_bounded_rows(self):
        """Times from the far future count at most a day past the ingest
        clock; far-past ones are dropped by the retention; 5000 distinct
        future hours make one bucket, not 5000."""
        now = int(time.time())
        far = [span("GET", attrs={"k": str(i)}, t=(now + 3600 * (1000 + i)) * 10**9) for i in range(5000)]
        ingest(self.db, traces(far + [span("GET", t=2**64 - 10**6), span("GET", t=1), span("GET", t=T)]))
        rows = self.q("SELECT resolution, unixepoch(bucket_start), records FROM entity_history ORDER BY 2")
        self.assertLessEqual(len(rows), 2, rows)
        newest = rows[-1]
        self.assertLessEqual(newest[1], now + 86_400 + 3600)
        self.assertEqual(newest[2], 5001)
        self.assertLessEqual(self.q("SELECT count(*) FROM key_history_rows")[0][0], 3)
        # The catalog's counts are untouched.
        self.assertEqual(self.q("SELECT total_sample_count FROM spans"), [(5003,)])


def hours_payload(hours, per_hour, key="user", start=T0, offset=0):
    """Spans of one key, `per_hour` distinct values each hour (values shared
    by consecutive hours half the time)."""
    spans = []
    for h in range(hours):
        for i in range(per_hour):
            spans.append(span("GET", attrs={key: f"v{(h * per_hour + i) // 2 + offset}"}, t=start + h * H + i))
    return traces(spans)


class TestKeyHistoryWrites(Base):
    def test_many_keys_are_written_in_chunks_and_a_bad_row_is_named(self):
        """Key history rows go 32 to a statement (as key rows do): 70 keys in
        two buckets are 140 rows equal to what one-by-one writes give (the
        entity's own key rows), and a stored history sketch that cannot be
        read fails the commit with an error naming key_history_buckets and
        the key, writing nothing (issue 16: what the history costs)."""
        attrs = {f"k{i:02d}": f"v{i}" for i in range(70)}
        ingest(self.db, traces([span("GET", attrs=attrs, t=T0 + 1 * H), span("GET", attrs=attrs, t=T0 + 2 * H),
                                span("GET", attrs=dict(attrs, k00="other"), t=T0 + 2 * H + 1)]))
        rows = self.q("SELECT key_name, bucket_start, key_count, estimated_cardinality FROM key_history "
                      "WHERE signal = 'spans' AND key_scope = 'attribute' ORDER BY key_name, bucket_start")
        self.assertEqual(len(rows), 140)
        self.assertEqual(rows[:2], [("k00", "2023-11-14 01:00:00", 1, 1), ("k00", "2023-11-14 02:00:00", 2, 2)])
        self.assertEqual(rows[2:4], [("k01", "2023-11-14 01:00:00", 1, 1), ("k01", "2023-11-14 02:00:00", 2, 1)])
        # Each key's buckets add up to its key row.
        self.assertEqual(self.q("SELECT count(*) FROM span_keys k WHERE key_scope = 'attribute' AND key_count <> "
                                "(SELECT sum(key_count) FROM key_history_rows h WHERE h.entity = k.span_name "
                                "AND h.key_scope = k.key_scope AND h.key_name = k.key_name)"), [(0,)])
        self.db.execute("UPDATE key_history_buckets SET hll_sketch = x'0102' WHERE key_id = "
                        "(SELECT key_id FROM key_history_keys WHERE key_name = 'k37') "
                        "AND bucket_start = unixepoch('2023-11-14 02:00:00')")
        before = self.q("SELECT sum(key_count) FROM key_history_rows")
        msg = err(self.db, "INSERT INTO otlp_ingest(payload) VALUES (?)",
                  (traces([span("GET", attrs=attrs, t=T0 + 2 * H + 5)]),))
        (key_id,), = self.q("SELECT key_id FROM key_history_keys WHERE key_name = 'k37'")
        self.assertIn(f"key_history_buckets row ('{key_id}', '0', '{(T0 + 2 * H) // 10**9}'): hll_merge", msg)
        self.assertIn("(the spans entity 'GET', attribute key 'k37', bucket 2023-11-14 02:00:00)", msg)
        self.assertEqual(self.q("SELECT sum(key_count) FROM key_history_rows"), before)


class TestKeyHistoryView(Base):
    def test_insert_adds_and_delete_drops(self):
        """key_history_rows is a view over key_history_keys and
        key_history_buckets: an INSERT adds to its key's and bucket's row
        (counts add, sketches merge, as otlp_ingest's commit does), a DELETE
        drops rows and the keys left without any; bad rows are refused
        naming the view, writing nothing."""
        ingest(self.db, traces([span("GET", attrs={"user": "a"}, t=T0 + H)]))
        before = self.q("SELECT key_count, hll_count(hll_sketch) FROM key_history_rows WHERE key_name = 'user'")
        self.assertEqual(before, [(1, 1)])
        row = ("spans", "GET", "attribute", "user", "", "bucket", "2023-11-14 01:00:00", 2)
        self.db.execute("INSERT INTO key_history_rows(signal, entity, key_scope, key_name, event_name, resolution, "
                        "bucket_start, key_count, bytes, hll_sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 10, "
                        "hll_add(hll_add(NULL, 'a'), 'b'))", row)
        self.assertEqual(self.q("SELECT key_count, hll_count(hll_sketch) FROM key_history_rows WHERE key_name = 'user'"),
                         [(3, 2)])
        # A new key and a day row.
        self.db.execute("INSERT INTO key_history_rows(signal, entity, key_scope, key_name, resolution, bucket_start, "
                        "key_count) VALUES ('spans', 'GET', 'attribute', 'new', 'day', '2023-11-13 00:00:00', 4)")
        self.assertEqual(self.q("SELECT event_name, resolution, bucket_start, key_count, bytes FROM key_history_rows "
                                "WHERE key_name = 'new'"), [("", "day", "2023-11-13 00:00:00", 4, 0)])
        for bad in (("hour", "2023-11-14 01:00:00"), ("bucket", "yesterday"), (None, "2023-11-14 01:00:00")):
            msg = err(self.db, "INSERT INTO key_history_rows(signal, entity, key_scope, key_name, resolution, "
                      "bucket_start, key_count) VALUES ('spans', 'GET', 'attribute', 'bad', ?, ?, 1)", bad)
            self.assertIn("key_history_rows: resolution must be 'bucket' or 'day'", msg)
        self.assertEqual(self.q("SELECT count(*) FROM key_history_keys WHERE key_name = 'bad'"), [(0,)])
        self.db.execute("DELETE FROM key_history_rows WHERE key_name = 'new'")
        self.assertEqual(self.q("SELECT count(*) FROM key_history_keys WHERE key_name = 'new'"), [(0,)])
        self.assertEqual(self.q("SELECT key_name, key_count FROM key_history_rows WHERE key_scope = 'attribute'"),
                         [("user", 3)])


class TestRollup(Base):
    def test_hours_roll_into_days_exactly(self):
        """72 hours: the 48 newest stay hourly; the older ones are days whose
        counts, bytes and sketches are those of their hours (the same data
        kept hourly in a catalog with a long window)."""
        keep = connect(os.path.join(self.dir, "keep.db"))
        for db in (self.db, keep):
            db.execute("CREATE TABLE IF NOT EXISTS otelcat_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        keep.execute("INSERT OR REPLACE INTO otelcat_meta(key, value) VALUES ('history_bucket_hours', '1000')")
        for day in range(3):  # one transaction a day
            p = hours_payload(24, 7, start=T0 + day * DAY)
            ingest(self.db, p)
            ingest(keep, p)
        self.assertEqual(self.q("SELECT count(*) FROM entity_history WHERE resolution = 'bucket'"), [(48,)])
        self.assertEqual(self.q("SELECT min(bucket_start) FROM entity_history WHERE resolution = 'bucket'"),
                         [("2023-11-15 00:00:00",)])
        self.assertEqual(self.q("SELECT bucket_start, records FROM entity_history WHERE resolution = 'day'"),
                         [("2023-11-14 00:00:00", 24 * 7)])
        want = keep.execute(
            "SELECT key_scope, key_name, date(bucket_start) || ' 00:00:00', sum(key_count), sum(bytes), "
            "hll_count(hll_merge(hll_sketch)) FROM key_history_rows WHERE bucket_start < '2023-11-15' "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2").fetchall()
        got = self.q("SELECT key_scope, key_name, bucket_start, key_count, bytes, hll_count(hll_sketch) "
                     "FROM key_history_rows WHERE resolution = 'day' ORDER BY 1, 2")
        self.assertEqual(got, want)
        self.assertEqual([r[5] for r in got if r[1] == "user"], [84])
        # The day's sketch is the union of its hours' sketches, byte for byte.
        (day,), = self.q("SELECT hll_sketch FROM key_history_rows WHERE resolution = 'day' AND key_name = 'user'")
        (union,), = keep.execute("SELECT hll_merge(hll_sketch) FROM key_history_rows WHERE key_name = 'user' "
                                 "AND bucket_start < '2023-11-15'").fetchall()
        self.assertEqual(hll_set(keep, day), hll_set(keep, union))
        # Late records of a rolled hour join its day.
        ingest(self.db, traces([span("GET", attrs={"user": "late"}, t=T0 + 3 * H)]))
        self.assertEqual(self.q("SELECT records FROM entity_history WHERE resolution = 'day'"), [(24 * 7 + 1,)])
        self.assertEqual(self.q("SELECT count(*) FROM entity_history WHERE resolution = 'bucket'"), [(48,)])
        keep.close()

    def test_retention_drops_old_days(self):
        for d in range(40):
            # 'early' only on the first days: the retention drops its rows, then its key.
            attrs = {"k": d, "early": d} if d < 3 else {"k": d}
            ingest(self.db, traces([span("GET", attrs=attrs, t=T0 + d * DAY)]))
        days = [r[0] for r in self.q("SELECT bucket_start FROM entity_history WHERE resolution = 'day' ORDER BY 1")]
        buckets = self.q("SELECT bucket_start FROM entity_history WHERE resolution = 'bucket' ORDER BY 1")
        # Newest bucket: day 39 00:00. Buckets 48 hours or more older (day
        # 37 and before) roll up; days 30 days or more before day 39 go:
        # days 10 to 37 as days, 38 and 39 hourly.
        self.assertEqual(len(buckets), 2)
        self.assertEqual(len(days), 28)
        self.assertEqual(days[0], self.q("SELECT datetime(?, 'unixepoch')", (T0 + 10 * DAY) // 10**9)[0][0])
        for t in ("service_history", "key_history_rows"):
            self.assertEqual(self.q(f"SELECT min(bucket_start) FROM {t}"), [(days[0],)], t)
        # Every key left has rows, every row a key.
        self.assertEqual(self.q("SELECT key_name FROM key_history_keys WHERE key_scope = 'attribute'"), [("k",)])
        self.assertEqual(self.q("SELECT count(*) FROM key_history_keys k WHERE NOT EXISTS "
                                "(SELECT 1 FROM key_history_buckets b WHERE b.key_id = k.key_id)"), [(0,)])
        self.assertEqual(self.q("SELECT count(*) FROM key_history_buckets b WHERE NOT EXISTS "
                                "(SELECT 1 FROM key_history_keys k WHERE k.key_id = b.key_id)"), [(0,)])

    def test_settings_and_their_refusal(self):
        db = self.db
        ingest(db, traces([span("GET", t=T)]))
        msg = err(db, "INSERT INTO otelcat_meta(key, value) VALUES ('history_bucket_seconds', '900')")
        self.assertIn("history_bucket_seconds cannot change while history rows exist", msg)
        self.assertIn("cannot change", err(db, "INSERT OR REPLACE INTO otelcat_meta(key, value) VALUES ('history_bucket_seconds', '60')"))
        # The same width again is fine.
        db.execute("INSERT INTO otelcat_meta(key, value) VALUES ('history_bucket_seconds', '3600')")
        self.assertIn("cannot change", err(db, "UPDATE otelcat_meta SET value = '1800' WHERE key = 'history_bucket_seconds'"))
        for bad in ("7", "7000", "abc", "3600.5", "172800"):
            self.assertIn("must be a whole number of seconds from 60 to 86400 that divides 86400",
                          err(db, "UPDATE otelcat_meta SET value = ? WHERE key = 'history_bucket_seconds'", (bad,)))
        for t in ("entity_history", "service_history", "key_history_rows", "template_history_rows"):
            db.execute(f"DELETE FROM {t}")
        db.execute("UPDATE otelcat_meta SET value = '900' WHERE key = 'history_bucket_seconds'")
        ingest(db, traces([span("GET", t=T)]))
        self.assertEqual(self.q("SELECT bucket_start FROM entity_history"), [("2023-11-14 22:00:00",)])
        ingest(db, traces([span("GET", t=T + 15 * 60 * 10**9)]))
        self.assertEqual(self.q("SELECT bucket_start FROM entity_history ORDER BY 1"),
                         [("2023-11-14 22:00:00",), ("2023-11-14 22:15:00",)])
        db.execute("INSERT INTO otelcat_meta(key, value) VALUES ('history_days', 'soon')")
        msg = err(db, "INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET")]),))
        self.assertIn("the setting history_days in otelcat_meta is 'soon'", msg)
        self.assertEqual(self.q("SELECT total_sample_count FROM spans"), [(3,)])


def hll_set(db, sketch):
    """What a sketch holds, independent of coupon order: its estimate and
    its union with itself (the union is canonical)."""
    return db.execute("SELECT hll_count(?), hex(hll_merge(?, ?))", (sketch, sketch, sketch)).fetchone()


class TestViews(Base):
    def test_growth_new_keys_metadata_templates(self):
        # Two days: the key 'user' has 2 values an hour the first day and
        # 50 the second; 'k' stays at one value.
        for day, n in ((0, 2), (1, 50)):
            spans = [span("GET", attrs={"user": f"d{day}h{h}u{i}", "k": "v"}, t=T0 + day * DAY + h * H + i)
                     for h in range(24) for i in range(n)]
            ingest(self.db, traces(spans))
        ingest(self.db, traces([span("GET", attrs={"fresh": "x"}, t=T0 + DAY + 23 * H)]))
        self.assertEqual(self.q("SELECT now FROM history_now"), [("2023-11-16 00:00:00",)])
        g = self.q("SELECT key_name, cardinality_previous, cardinality_current, count_previous, count_current "
                   "FROM key_growth WHERE entity = 'GET' AND key_scope = 'attribute' ORDER BY key_name")
        self.assertEqual([r[0] for r in g], ["fresh", "k", "user"])
        user = g[2]
        self.assertEqual(user[3:], (48, 1200))
        self.assertAlmostEqual(user[1], 48, delta=2)
        self.assertAlmostEqual(user[2], 1200, delta=40)
        self.assertEqual(g[1][1:3], (1, 1))
        top = self.q("SELECT key_name FROM key_growth WHERE cardinality_growth > 10")
        self.assertEqual(top, [("user",)])
        self.assertEqual(self.q("SELECT records_previous, records_current, records_growth FROM entity_growth"),
                         [(48, 1201, 25.02)])
        self.assertEqual(self.q("SELECT key_name FROM new_keys"), [("fresh",)])
        doc = self.q("SELECT json_extract(document, '$.history') FROM span_metadata")[0][0]
        import json
        hist = json.loads(doc)
        self.assertEqual(len(hist), 24)
        self.assertEqual(hist[0], ["2023-11-15 00:00:00", 50])
        self.assertEqual(hist[-1], ["2023-11-15 23:00:00", 51])
        est = self.q("SELECT estimated_cardinality FROM key_history WHERE key_name = 'user' ORDER BY bucket_start")
        self.assertEqual(len(est), 48)
        self.assertEqual(est[0], (2,))
        ingest(self.db, logs([log(f"request {i} done", t=T0 + DAY + (i % 3) * H) for i in range(30)]))
        self.assertEqual(self.q("SELECT template, bucket_start, count FROM template_history ORDER BY bucket_start"),
                         [("request <*> done", f"2023-11-15 0{h}:00:00", 10) for h in range(3)])


HISTORY = ("entity_history", "service_history")


def history_dump(db):
    out = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5").fetchall() for t in HISTORY}
    # Templates by their text (a merged-in template gets another cluster id).
    out["template_history"] = db.execute(
        "SELECT severity, service_name, template, resolution, bucket_start, sum(count), sum(bytes) "
        "FROM template_history GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5").fetchall()
    out["key_history_rows"] = db.execute(
        "SELECT signal, entity, key_scope, key_name, event_name, resolution, bucket_start, key_count, bytes, "
        "hll_count(hll_sketch) FROM key_history_rows ORDER BY 1, 2, 3, 4, 5, 6, 7").fetchall()
    return out


class TestMerge(Base):
    def test_merged_halves_have_the_history_of_the_whole(self):
        """examples/merge.sql adds histories bucket by bucket, then rolls up
        and prunes as a commit does: two catalogs of three days each, merged,
        hold the history of one catalog that ingested all six days."""
        from test_catalog_files import MERGE, script
        whole = self.db
        first = connect(os.path.join(self.dir, "first.db"))
        second = connect(os.path.join(self.dir, "second.db"))
        for day in range(6):
            start = T0 + day * DAY
            p = [hours_payload(24, 3, start=start, offset=day * 100),
                 logs([log(f"job {i} took {i * day} ms", attrs={"job": i}, t=start + (i % 24) * H) for i in range(40)],
                      service=f"s{day % 2}")]
            for payload in p:
                ingest(whole, payload)
                # Days interleaved: each half's newest bucket is not the whole's.
                ingest(first if day % 2 == 0 else second, payload)
        second.close()
        first.execute("ATTACH ? AS other", (os.path.join(self.dir, "second.db"),))
        first.executescript(script(MERGE))
        got, want = history_dump(first), history_dump(whole)
        self.assertTrue(want["key_history_rows"] and [r for r in want["entity_history"] if r[2] == "day"])
        for t in want:
            self.assertEqual(got[t], want[t], t)
        first.close()


class TestUpgrade(unittest.TestCase):
    def test_older_catalogs_get_history_from_the_upgrade_on(self):
        d = tempfile.mkdtemp()
        try:
            for older in ("v0.1.0.db", "v0.2.0.db"):
                with self.subTest(older):
                    p = os.path.join(d, older)
                    shutil.copy(os.path.join(FIXTURES, "catalog", older), p)
                    db = connect(p)
                    before = db.execute("SELECT sum(total_sample_count) FROM spans").fetchone()[0] or 0
                    ingest(db, traces([span("GET /upgraded", attrs={"k": "v"}, t=T)]))
                    self.assertEqual(db.execute("SELECT signal, entity, bucket_start, records FROM entity_history").fetchall(),
                                     [("spans", "GET /upgraded", "2023-11-14 22:00:00", 1)])
                    self.assertEqual(db.execute("SELECT sum(total_sample_count) FROM spans").fetchone()[0], before + 1)
                    self.assertEqual(db.execute("SELECT entity, key_name, resolution, bucket_start, key_count FROM key_history "
                                                "WHERE key_scope = 'attribute'").fetchall(),
                                     [("GET /upgraded", "k", "bucket", "2023-11-14 22:00:00", 1)])
                    self.assertIn("cannot change", err(db, "INSERT INTO otelcat_meta VALUES ('history_bucket_seconds', '60')"))
                    db.close()
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()
