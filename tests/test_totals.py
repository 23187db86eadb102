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


# The three service views as sql/views.sql had them before the service totals
# (over every *_services row): the reference.
OLD_SERVICE_OVERVIEW = """-- Each table's figures in one pass over each of its service indexes,
-- which cover them (grouped in index order, no sort): counts and times from
-- idx_*_services_service, bytes and span errors from idx_*_services_bytes;
-- the services are the union of the groupings' names, joined by name.
WITH m0 AS (SELECT service_name, count(*) AS n, sum(sample_count) AS points, min(first_seen) AS f, max(last_seen) AS l
       FROM metric_services GROUP BY service_name),
mb AS (SELECT service_name, sum(bytes) AS bytes FROM metric_services GROUP BY service_name),
m AS (SELECT m0.*, mb.bytes FROM m0 JOIN mb USING (service_name)),
p0 AS (SELECT service_name, count(*) AS n, sum(sample_count) AS spans, min(first_seen) AS f, max(last_seen) AS l
       FROM span_services GROUP BY service_name),
pb AS (SELECT service_name, sum(bytes) AS bytes, sum(status_error_count) AS errors FROM span_services GROUP BY service_name),
p AS (SELECT p0.*, pb.bytes, pb.errors FROM p0 JOIN pb USING (service_name)),
g0 AS (SELECT service_name, sum(sample_count) AS records, json_group_object(severity, sample_count) AS by_sev,
              min(first_seen) AS f, max(last_seen) AS l
       FROM log_services GROUP BY service_name),
gb AS (SELECT service_name, sum(bytes) AS bytes FROM log_services GROUP BY service_name),
g AS (SELECT g0.*, gb.bytes FROM g0 JOIN gb USING (service_name)),
svc(service_name) AS (SELECT service_name FROM m UNION SELECT service_name FROM p UNION SELECT service_name FROM g)
SELECT s.service_name, coalesce(m.n, 0) AS metrics, coalesce(m.points, 0) AS data_points,
       coalesce(p.n, 0) AS span_names, coalesce(p.spans, 0) AS spans, coalesce(g.records, 0) AS log_records,
       coalesce(g.by_sev, json_object()) AS logs_by_severity,
       min(coalesce(m.f, p.f, g.f), coalesce(p.f, m.f, g.f), coalesce(g.f, m.f, p.f)) AS first_seen,
       max(coalesce(m.l, p.l, g.l), coalesce(p.l, m.l, g.l), coalesce(g.l, m.l, p.l)) AS last_seen,
       -- Bytes of its records in OTLP protobuf (schema version 3; docs/catalog.md "Record bytes").
       coalesce(m.bytes, 0) AS metric_bytes, coalesce(p.bytes, 0) AS span_bytes, coalesce(g.bytes, 0) AS log_bytes,
       -- Span status, instrumentation scopes and log event names (schema version 3):
       -- the last two each a search of the service's index range.
       coalesce(p.errors, 0) AS span_errors,
       (SELECT json_group_array(json_object('name', scope_name, 'version', scope_version)) FROM (
          SELECT scope_name, scope_version FROM metric_scopes x WHERE x.service_name = s.service_name
          UNION SELECT scope_name, scope_version FROM span_scopes x WHERE x.service_name = s.service_name
          UNION SELECT scope_name, scope_version FROM log_scopes x WHERE x.service_name = s.service_name
          ORDER BY 1, 2)) AS scopes,
       (SELECT count(*) FROM log_event_services x WHERE x.service_name = s.service_name) AS log_event_names
FROM svc s LEFT JOIN m ON m.service_name = s.service_name LEFT JOIN p ON p.service_name = s.service_name
LEFT JOIN g ON g.service_name = s.service_name"""
OLD_INSTANCE_LIKE_SERVICES = """WITH svc(service_name) AS (
  -- Distinct names from the service indexes (each DISTINCT skips from one
  -- name to the next), judged first; only the services judged instance-like
  -- are then added up, each by its own index range.
  SELECT service_name FROM (SELECT DISTINCT service_name FROM metric_services)
  UNION SELECT service_name FROM (SELECT DISTINCT service_name FROM span_services)
  UNION SELECT service_name FROM (SELECT DISTINCT service_name FROM log_services)),
why(service_name, reason) AS (
  SELECT service_name, CASE
    WHEN service_name GLOB 'unknown_service*' THEN 'unknown_service: the sender sets no service.name'
    WHEN service_name GLOB '*?-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]'
      OR service_name GLOB '*?-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]'
      OR service_name GLOB '*?-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]'
      THEN 'pod name (replica set hash and pod suffix)'
    WHEN service_name GLOB '*[0-9].[0-9]*.[0-9]*.[0-9]*' THEN 'IP address'
    WHEN service_name GLOB '*[0-9][0-9][0-9][0-9]*' THEN 'number of 4 digits or more'
    WHEN service_name GLOB '*[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]*'
      AND service_name GLOB '*[0-9]*' AND service_name GLOB '*[a-fA-F]*' THEN 'hex id'
    WHEN service_name GLOB '*?-[0-9]' OR service_name GLOB '*?-[0-9][0-9]' OR service_name GLOB '*?-[0-9][0-9][0-9]'
      THEN 'ordinal suffix (StatefulSet pod or replica)'
    END
  FROM svc)
SELECT w.service_name, w.reason,
  (SELECT sum(n) FROM (SELECT sample_count AS n FROM metric_services WHERE service_name = w.service_name
     UNION ALL SELECT sample_count FROM span_services WHERE service_name = w.service_name
     UNION ALL SELECT sample_count FROM log_services WHERE service_name = w.service_name)) AS records,
  (SELECT min(t) FROM (SELECT first_seen AS t FROM metric_services WHERE service_name = w.service_name
     UNION ALL SELECT first_seen FROM span_services WHERE service_name = w.service_name
     UNION ALL SELECT first_seen FROM log_services WHERE service_name = w.service_name)) AS first_seen,
  (SELECT max(t) FROM (SELECT last_seen AS t FROM metric_services WHERE service_name = w.service_name
     UNION ALL SELECT last_seen FROM span_services WHERE service_name = w.service_name
     UNION ALL SELECT last_seen FROM log_services WHERE service_name = w.service_name)) AS last_seen
FROM why w WHERE w.reason IS NOT NULL ORDER BY w.service_name"""

OLD_SERVICE_BYTES = """WITH s(signal, service_name, records, bytes) AS (
  SELECT 'metrics', service_name, sum(sample_count), sum(bytes) FROM metric_services GROUP BY service_name
  UNION ALL
  SELECT 'spans', service_name, sum(sample_count), sum(bytes) FROM span_services GROUP BY service_name
  UNION ALL
  SELECT 'logs', service_name, sum(sample_count), sum(bytes) FROM log_services GROUP BY service_name)
SELECT signal, service_name, records, bytes,
       round(1.0 * bytes / max(records, 1), 1) AS bytes_per_record,
       round(100.0 * bytes / max(sum(bytes) OVER (PARTITION BY signal), 1), 2) AS signal_percentage
FROM s ORDER BY bytes DESC, signal, service_name"""


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
    # The service views: the same rows in the same order.
    for view, old in (("service_overview", OLD_SERVICE_OVERVIEW), ("instance_like_services", OLD_INSTANCE_LIKE_SERVICES),
                      ("service_bytes", OLD_SERVICE_BYTES)):
        with test.subTest(view=view, what=what):
            got = db.execute(f"SELECT * FROM {view}").fetchall()
            test.assertEqual(got, db.execute(old).fetchall())
            if view == "service_overview":
                test.assertGreater(len(got), 0)
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
    return t, n, service_totals(db)


def service_totals(db):
    """service_totals: per (service, signal), its figures."""
    return {r[:2]: r[2:] for r in db.execute(
        "SELECT service_name, signal, entities, records, bytes, span_errors, first_seen, last_seen FROM service_totals")}


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
    # Services (service totals): instance-like names, spans in error, a
    # service's second entity, a known (entity, service) pair, no service.name.
    yield [traces([errored(span("POST /pay", t=T + 5 * 10**12)), span("GET /a")], service="checkout-7d9f8b6c5d-x2x4z"),
           logs([log("boom", 17, "ERROR", t=T - 5 * 10**12)] * 3, service="10.0.0.12"),
           gauge("cpu", [({}, 1.0)], service="worker-3"),
           traces([errored(span("GET /a")), errored(span("GET /c"))], service="web")]
    yield [traces([errored(span("POST /pay")), span("GET /d")], service="checkout-7d9f8b6c5d-x2x4z"),
           logs([log("ok", 9, "INFO"), log("boom", 17, "ERROR")], service="checkout-7d9f8b6c5d-x2x4z"),
           gauge("mem", [({}, 1.0)], service="10.0.0.12"),
           traces([span("GET /a")], service=None)]


def errored(s):
    """The span with status ERROR."""
    s["status"] = {"code": 2}
    return s


class TestKeyTotals(unittest.TestCase):
    def test_ingests_of_every_shape_keep_the_totals(self):
        db = connect()
        for n, b in enumerate(batches()):
            ingest(db, *b)
            check_views(self, db, f"after batch {n}")
        t, names, _ = totals(db)
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
        t, names, _ = check_views(self, db)
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
        t, _, _ = check_views(self, db, "merge.sql")
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
                t, _, _ = check_views(self, db, older)
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

    def test_the_service_views_read_the_service_totals(self):
        """service_overview and instance_like_services read service_totals
        in key order; of the service rows, only the log severities of a
        service (a search of its index range)."""
        db = connect()
        for b in batches():
            ingest(db, *b)
        for analyzed in (False, True):
            if analyzed:
                db.execute("ANALYZE")
            for view in ("service_overview", "instance_like_services LIMIT 20", "service_bytes"):
                plan = " | ".join(r[3] for r in db.execute(f"EXPLAIN QUERY PLAN SELECT * FROM {view}"))
                with self.subTest(view, analyzed=analyzed, plan=plan):
                    self.assertRegex(plan, r"SCAN service_totals\b")
                    self.assertNotRegex(plan, r"SCAN (metric|span|log)\w*_services\b|metric_services|span_services" +
                                        {"service_bytes": "", "service_overview": "|USE TEMP B-TREE FOR (GROUP|DISTINCT)"}
                                        .get(view, "|USE TEMP B-TREE"))
                    self.assertNotRegex(plan, r"log_services" if view != "service_overview" else
                                        r"SCAN \w*log_services")

    def test_service_totals_follow_the_service_rows(self):
        db = connect()
        for b in batches():
            ingest(db, *b)
        s = service_totals(db)
        # 3 span names, 2 in error (3 spans), from 3 ingests.
        self.assertEqual(s[("checkout-7d9f8b6c5d-x2x4z", "spans")][:4], (3, 4, s[("checkout-7d9f8b6c5d-x2x4z", "spans")][2], 2))
        self.assertEqual(s[("checkout-7d9f8b6c5d-x2x4z", "logs")][:2], (2, 2))
        self.assertEqual(s[("10.0.0.12", "logs")][:2], (1, 3))
        self.assertEqual(s[("10.0.0.12", "metrics")][:2], (1, 1))
        self.assertEqual(s[("web", "spans")][3], 2)
        like = {r[0]: r[1] for r in db.execute("SELECT service_name, reason FROM instance_like_services")}
        self.assertEqual(set(like), {"checkout-7d9f8b6c5d-x2x4z", "10.0.0.12", "worker-3"} | (
            {n for n in like if n.startswith("unknown_service")}))
        # A writer of its own that deletes service rows, then rebuilds.
        db.execute("DELETE FROM span_services WHERE service_name = 'web' AND span_name = 'GET /c'")
        db.execute("DELETE FROM log_services WHERE service_name = '10.0.0.12'")
        db.execute("SELECT otelcat_refresh_totals()")
        check_views(self, db, "after a DELETE of service rows and a refresh")
        s = service_totals(db)
        self.assertNotIn(("10.0.0.12", "logs"), s)
        self.assertEqual(s[("web", "spans")][3], 1)

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
