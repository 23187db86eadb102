"""The query layer (sql/views.sql): index use, documents, catalogs of keys and
services, span-name patterns, first/last seen."""
import json
import os
import unittest

from helpers import connect
from otlp_payloads import gauge, log, logs, span, traces

# The catalog's query patterns (sql/views.sql) and the index each must use.
PLANS = {
    "SELECT * FROM service_metrics WHERE service_name = 'api'": ["COVERING INDEX idx_metric_services_service", "(name=?)"],
    "SELECT * FROM service_spans WHERE service_name = 'api'": ["COVERING INDEX idx_span_services_service", "(name=?)"],
    "SELECT * FROM service_log_severities WHERE service_name = 'api'": ["idx_log_services_service"],
    "SELECT document FROM metric_metadata WHERE name = 'cpu'": ["SEARCH m USING", "(name=?)", "(metric_name=? AND key_scope=?)"],
    "SELECT document FROM span_metadata WHERE name = 'GET /a'": ["SEARCH p USING", "(name=?)", "(span_name=? AND key_scope=?)"],
    "SELECT document FROM log_metadata WHERE severity = 'ERROR'": ["SEARCH l USING", "(severity=?)", "(severity=? AND key_scope=?)"],
    "SELECT * FROM top_log_templates WHERE severity = 'ERROR' AND service_name = 'api' LIMIT 5":
        ["idx_log_body_templates_top (severity=? AND service_name=?)"],
    # Keys first seen lately: a range of each key table's first_seen index (issue 16).
    "SELECT * FROM new_keys": [f"SEARCH {t}_key_rows USING INDEX idx_{t}_keys_first_seen (first_seen>?)"
                               for t in ("metric", "span", "log")],
}


def catalog():
    db = connect()
    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(
        [span("GET /a", attrs={"user.id": f"u{i}", "http.method": "GET"}, events=[("exception", {"exception.type": "E"})])
         for i in range(30)] + [span(f"GET /users/{i}") for i in range(40)], service="api", host="h1"),))
    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"user.id": "u1"})], service="web"),))
    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge("cpu", [({"core": str(i % 4), "user.id": f"u{i}"}, 1.0) for i in range(20)], service="api"),))
    db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs(
        [log(f"disk {i} failed", 17, "ERROR", {"user.id": f"u{i}"}) for i in range(10)] + [log("started", 9)] * 5, service="api"),))
    return db


class TestViews(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = catalog()

    def test_query_plans_use_indexes(self):
        for sql, wanted in PLANS.items():
            with self.subTest(sql):
                plan = " | ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN " + sql))
                for w in wanted:
                    self.assertIn(w, plan)
                self.assertNotRegex(plan, r"SCAN (metrics|spans|logs|metric_services|span_services|log_services|log_body_templates)\b")

    def test_top_keys_read_the_cardinality_indexes(self):
        """The top N of key_cardinality merges the three cardinality indexes:
        no full scan and no sort of every key row (issue 16)."""
        plan = " | ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN SELECT * FROM key_cardinality LIMIT 20"))
        for t in ("metric", "span", "log"):
            # The views over the key tables (schema version 3) keep their indexes' names.
            self.assertIn(f"SCAN {t}_key_rows USING INDEX idx_{t}_keys_cardinality", plan)
        self.assertNotIn("TEMP B-TREE", plan)
        top = [r[0] for r in self.db.execute("SELECT estimated_cardinality FROM key_cardinality LIMIT 20")]
        self.assertEqual(top, sorted(top, reverse=True))
        self.assertEqual(top[0], self.db.execute("SELECT max(estimated_cardinality) FROM span_keys").fetchone()[0])

    def test_report_top_keys_read_the_cardinality_indexes(self):
        """otelcat report's highest-cardinality keys: the top N from each
        cardinality index, ties on the N-th estimate taken in index order:
        no sort of every key row (a catalog of constant keys ties on every
        row; issue 16), and the N rows shown ranked."""
        import sys
        from helpers import ROOT
        sys.path.insert(0, os.path.join(ROOT, "python"))
        from otelcat import report
        db = connect()
        # 300 keys, every one with one value: all tie at estimate 1.
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(
            [span(f"op{i}", attrs={f"k{j}": "v" for j in range(30)}) for i in range(10)]),))
        seen = []

        class Recording:
            def execute(self, sql, params=()):
                seen.append((sql, params))
                return db.execute(sql, params)

        sections = report.sections(Recording(), 5, 3)
        top = next(s for s in sections if s[0] == "Highest-cardinality keys: spans")[3]
        self.assertEqual(len(top), 5)
        self.assertEqual([r[3] for r in top], [1] * 5)
        queries = [(sql, p) for sql, p in seen if "ORDER BY estimated_cardinality DESC, key_count DESC" in sql]
        self.assertEqual(len(queries), 3)
        for sql, params in queries:
            plan = " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, params))
            self.assertRegex(plan, r"SCAN \w+_key_rows USING INDEX idx_\w+_keys_cardinality")
            self.assertNotRegex(plan, r"SCAN \w+_key_rows(?! USING INDEX idx_\w+_keys_cardinality)")
            # Sorts: the N rows found, and each one's services (LIMIT 3);
            # not the key rows tied on an estimate.
            self.assertNotIn("RIGHT PART OF ORDER BY", plan)

    def test_rankings_read_an_index(self):
        """The top N of metric_prometheus_series, span_status and metrics by
        active series come from an index in their order: no scan of every row and no sort (issue 16)."""
        for sql, index in (("SELECT * FROM metric_prometheus_series LIMIT 20", "SCAN metrics USING INDEX idx_metrics_prometheus_series"),
                           ("SELECT * FROM span_status LIMIT 20", "SCAN span_services USING INDEX idx_span_services_errors"),
                           # Metrics by active series: the cookbook, the report, the dashboard.
                           ("SELECT name FROM metrics ORDER BY estimated_active_series DESC, name LIMIT 6",
                            "SCAN metrics USING COVERING INDEX idx_metrics_active_series")):
            with self.subTest(sql):
                plan = " | ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN " + sql))
                self.assertIn(index, plan)
                self.assertNotIn("TEMP B-TREE", plan)
        errors = [r[5] for r in self.db.execute("SELECT * FROM span_status")]
        self.assertEqual(errors, sorted(errors, reverse=True))

    def test_per_service_key_lookups_read_an_index(self):
        """Per-service keys: "keys of service X" and "which services send key
        K (on entity E)" are index searches, no full scan of a key table."""
        for sql, wanted in (
                ("SELECT * FROM service_keys WHERE service_name = 'api'",
                 [f"SEARCH k USING INDEX idx_{t}_service_key_rows_service (service_name=?)" for t in ("metric", "span", "log")]),
                ("SELECT * FROM key_services WHERE key_name = 'user.id'",
                 [f"SEARCH k USING INDEX idx_{t}_service_key_rows_key (key_name=?)" for t in ("metric", "span", "log")]),
                ("SELECT * FROM key_services WHERE key_name = 'user.id' AND signal = 'spans' AND entity = 'GET /a'",
                 ["SEARCH k USING INDEX idx_span_service_key_rows_key (key_name=? AND span_name=?)"]),
                ("SELECT * FROM log_service_keys WHERE severity = 'ERROR' AND service_name = 'api'",
                 ["SEARCH k USING INDEX sqlite_autoindex_log_service_key_rows_1 (severity=? AND service_name=?)"])):
            with self.subTest(sql):
                plan = " | ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN " + sql))
                for w in wanted:
                    self.assertIn(w, plan)
                # (SCAN of the view's own co-routine reads only the rows found.)
                self.assertNotRegex(plan, r"SCAN (k|s|e|\w+_service_key_rows|metric_services|span_services|log_services|"
                                          r"span_service_events)\b")
        self.assertEqual(self.db.execute("SELECT service_name, key_count, estimated_cardinality FROM key_services "
                                         "WHERE key_name = 'user.id' AND signal = 'spans' AND entity = 'GET /a' "
                                         "ORDER BY 1").fetchall(), [("api", 30, 30), ("web", 1, 1)])

    def test_service_views(self):
        self.assertEqual(self.db.execute("SELECT metric_name, type, sample_count FROM service_metrics WHERE service_name = 'api'").fetchall(),
                         [("cpu", "Gauge", 20)])
        spans = dict(self.db.execute("SELECT span_name, sample_count FROM service_spans WHERE service_name = 'api'"))
        self.assertEqual(spans["GET /a"], 30)
        self.assertEqual(self.db.execute("SELECT severity, sample_count FROM service_log_severities WHERE service_name = 'api' ORDER BY 1").fetchall(),
                         [("ERROR", 10), ("INFO", 5)])
        self.assertEqual(self.db.execute("SELECT template, count FROM top_log_templates WHERE severity = 'ERROR' AND service_name = 'api'").fetchall(),
                         [("disk <*> failed", 10)])

    def test_metric_metadata(self):
        d = json.loads(self.db.execute("SELECT document FROM metric_metadata WHERE name = 'cpu'").fetchone()[0])
        self.assertEqual((d["name"], d["type"], d["unit"], d["sample_count"], d["services"]), ("cpu", "Gauge", "1", 20, {"api": 20}))
        self.assertEqual(d["label_keys"]["core"]["estimated_cardinality"], 4)
        self.assertEqual(d["label_keys"]["core"]["value_samples"], ["0", "1", "2", "3"])
        self.assertEqual(set(d["resource_keys"]), {"service.name"})
        self.assertEqual(d["estimated_active_series"], 20)

    def test_span_metadata(self):
        d = json.loads(self.db.execute("SELECT document FROM span_metadata WHERE name = 'GET /a'").fetchone()[0])
        self.assertEqual((d["kind"], d["sample_count"], d["services"]), ("Server", 31, {"api": 30, "web": 1}))
        self.assertEqual(d["attribute_keys"]["user.id"]["count"], 31)
        self.assertAlmostEqual(d["attribute_keys"]["http.method"]["percentage"], 100 * 30 / 31)
        self.assertEqual(d["event_names"], ["exception"])
        self.assertEqual(d["events"]["exception"]["attribute_keys"]["exception.type"]["count"], 30)
        self.assertEqual(set(d["resource_keys"]), {"service.name", "host"})

    def test_log_metadata(self):
        d = json.loads(self.db.execute("SELECT document FROM log_metadata WHERE severity = 'ERROR'").fetchone()[0])
        self.assertEqual((d["sample_count"], d["services"]), (10, {"api": 10}))
        self.assertEqual(d["body_templates"], [{"service_name": "api", "template": "disk <*> failed", "count": 10,
                                                "percentage": 100.0, "example": "disk 0 failed", "bytes": 540}])
        self.assertEqual((d["bytes"], d["service_bytes"]), (540, {"api": 540}))
        self.assertEqual(d["attribute_keys"]["user.id"]["estimated_cardinality"], 10)

    def test_attribute_catalog(self):
        row = self.db.execute("SELECT signals, scopes, metrics, spans, severities, total_count, estimated_cardinality "
                              "FROM attribute_catalog WHERE key_name = 'user.id'").fetchone()
        self.assertEqual(set(row[0].split(",")), {"metrics", "spans", "logs"})
        self.assertEqual(set(row[1].split(",")), {"label", "attribute"})
        self.assertEqual(row[2:6], (1, 1, 1, 31 + 20 + 10))
        self.assertEqual(row[6], 30)  # u0..u29 on spans ∪ u0..u19 on cpu ∪ u0..u9 in logs

    def test_shape_conflicts_read_metric_by_metric(self):
        """metric_shape_conflicts LIMIT 20 judges metrics in name order, each
        by its own rows: no scan of every service row, no Bloom filter built
        over them, no sort of the whole result (issue 16: 261 ms at 100 000
        metrics before)."""
        plan = " | ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN SELECT * FROM metric_shape_conflicts LIMIT 20"))
        self.assertIn("SCAN m USING COVERING INDEX", plan)
        self.assertNotRegex(plan, r"SCAN (s|o|metric_services)\b")
        self.assertNotIn("BLOOM FILTER", plan)
        self.assertNotIn("TEMP B-TREE FOR ORDER BY", plan)

    def test_service_overview(self):
        rows = {r[0]: r[1:] for r in self.db.execute(
            "SELECT service_name, metrics, data_points, span_names, spans, log_records, logs_by_severity FROM service_overview")}
        self.assertEqual(rows["api"][:5], (1, 20, 41, 70, 15))
        self.assertEqual(json.loads(rows["api"][5]), {"ERROR": 10, "INFO": 5})
        self.assertEqual(rows["web"][:5], (0, 0, 1, 1, 0))
        self.assertEqual(rows["web"][5], "{}")
        seen = self.db.execute("SELECT first_seen, last_seen FROM service_overview WHERE service_name = 'api'").fetchone()
        self.assertEqual(seen, self.db.execute(
            "SELECT min(f), max(l) FROM (SELECT first_seen f, last_seen l FROM metric_services WHERE service_name = 'api' "
            "UNION ALL SELECT first_seen, last_seen FROM span_services WHERE service_name = 'api' "
            "UNION ALL SELECT first_seen, last_seen FROM log_services WHERE service_name = 'api')").fetchone())

    def test_service_overview_scopes_errors_and_event_names(self):
        """service_overview shows each service's span errors, instrumentation
        scopes (distinct name and version over the three signals) and log
        event names (issue 15, "Everywhere it shows")."""
        db = connect()
        res = {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]}
        err = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "pay", "kind": 2,
               "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000", "status": {"code": 2}}
        ok = dict(err, status={"code": 1})
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (json.dumps({"resourceSpans": [{"resource": res, "scopeSpans": [
            {"scope": {"name": "io.opentelemetry.jdbc", "version": "2.1"}, "spans": [err, err, ok]},
            {"scope": {"name": "io.opentelemetry.http"}, "spans": [ok]}]}]}),))
        rec = {"timeUnixNano": "1700000000000000000", "severityNumber": 9, "body": {"stringValue": "hi"}}
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (json.dumps({"resourceLogs": [{"resource": res, "scopeLogs": [
            {"scope": {"name": "io.opentelemetry.jdbc", "version": "2.1"},
             "logRecords": [dict(rec, eventName="browser.click"), dict(rec, eventName="browser.page_view"),
                            dict(rec, eventName="browser.click"), rec]}]}]}),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("x")], service="quiet"),))
        row = db.execute("SELECT span_errors, scopes, log_event_names FROM service_overview WHERE service_name = 'shop'").fetchone()
        self.assertEqual(row[0], 2)
        self.assertEqual(json.loads(row[1]), [{"name": "io.opentelemetry.http", "version": ""},
                                              {"name": "io.opentelemetry.jdbc", "version": "2.1"}])
        self.assertEqual(row[2], 2)
        self.assertEqual(db.execute("SELECT span_errors, scopes, log_event_names FROM service_overview "
                                    "WHERE service_name = 'quiet'").fetchone(), (0, '[{"name":"test","version":""}]', 0))

    def test_span_name_explosions(self):
        rows = self.db.execute("SELECT service_name, pattern, estimated_names, span_count FROM span_name_explosions").fetchall()
        self.assertIn(("api", "GET /users/<*>", 40, 40), rows)
        self.assertEqual([r for r in rows if r[1] == "GET /a"], [])

    def test_an_explosion_is_ten_names_or_more(self):
        db = connect()
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(
            [span(f"GET /items/{i}") for i in range(9)] + [span(f"GET /orders/{i}") for i in range(10)]
            + [span("GET"), span("GET ")], service="shop"),))
        rows = db.execute("SELECT pattern, estimated_names FROM span_name_explosions").fetchall()
        self.assertEqual(rows, [("GET /orders/<*>", 10)])
        self.assertEqual(dict(db.execute("SELECT pattern, estimated_names FROM span_name_patterns WHERE pattern <> 'GET /orders/<*>'")),
                         {"GET /items/<*>": 9, "GET": 2})

    def test_instance_like_services(self):
        db = connect()
        names = ["checkout", "api-gateway", "unknown_service:java", "web-7d4b9c8f6d-x2kqz", "db-0", "worker-1a2b3c4d5e",
                 "ingest-20261207", "10.0.3.17", "cart-v2", "payments"]
        for n in names:
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs([log("hello")], service=n),))
        rows = dict(db.execute("SELECT service_name, reason FROM instance_like_services"))
        self.assertEqual(rows, {
            "unknown_service:java": "unknown_service: the sender sets no service.name",
            "web-7d4b9c8f6d-x2kqz": "pod name (replica set hash and pod suffix)",
            "db-0": "ordinal suffix (StatefulSet pod or replica)",
            "worker-1a2b3c4d5e": "hex id",
            "ingest-20261207": "number of 4 digits or more",
            "10.0.3.17": "IP address"})
        self.assertEqual(db.execute("SELECT records FROM instance_like_services WHERE service_name = 'db-0'").fetchone()[0], 1)
        # Records, first and last seen add up over the three signals.
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("a", t=1700000100000000000)] * 3, service="db-0"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge("m", [({}, 1.0)] * 2, service="db-0"),))
        self.assertEqual(db.execute("SELECT records, first_seen, last_seen FROM instance_like_services WHERE service_name = 'db-0'").fetchone(),
                         (6, "2023-11-14 22:13:20", "2023-11-14 22:15:00"))

    def test_whole_catalog_views_read_the_service_totals(self):
        """service_overview and instance_like_services read the service
        totals (a row per service and signal) in key order, no service row
        but a service's own log severities (issue 16: 536 and 2 926 ms at
        1 000 services x 600 000 rows, then 213 and 15 ms reading each
        service index once, make bench-queries; tests/test_totals.py
        compares them with that computation)."""
        for view in ("service_overview", "instance_like_services"):
            with self.subTest(view):
                plan = " | ".join(r[3] for r in self.db.execute(f"EXPLAIN QUERY PLAN SELECT * FROM {view}"))
                self.assertIn("SCAN service_totals", plan)
                # (a service's few distinct scopes are put in order: no sort of the services)
                self.assertNotIn("TEMP B-TREE FOR GROUP BY", plan)
                self.assertNotRegex(plan, r"^CO-ROUTINE \w+ \| SCAN service_totals \| SCAN \w+ \| USE TEMP B-TREE")
                self.assertNotRegex(plan, r"(metric|span)_services|SCAN log_services")

    def test_key_cardinality(self):
        top = self.db.execute("SELECT signal, entity, key_name, estimated_cardinality FROM key_cardinality "
                              "ORDER BY estimated_cardinality DESC LIMIT 1").fetchone()
        self.assertEqual(top, ("spans", "GET /a", "user.id", 30))

    def test_first_and_last_seen(self):
        self.assertEqual(self.db.execute("SELECT first_seen, last_seen FROM spans WHERE name = 'GET /a'").fetchone(),
                         ("2023-11-14 22:13:20", "2023-11-14 22:13:20"))
        recent = self.db.execute("SELECT count(*) FROM key_cardinality WHERE first_seen > datetime('2023-11-14')").fetchone()[0]
        self.assertEqual(recent, self.db.execute("SELECT count(*) FROM key_cardinality").fetchone()[0])


if __name__ == "__main__":
    unittest.main()


class TestRareKeys(unittest.TestCase):
    """Keys on few records of their entity (the dashboard's rare_keys, cookbook
    question 23): the key rows below p % of the most records an entity of the
    signal has, from the key tables' key_count indexes, give exactly the rows
    of `key_cardinality WHERE key_percentage < p` (which computes the
    percentage of every key row: 1.2 s at 100 000 metrics, issue 16)."""

    @classmethod
    def setUpClass(cls):
        import os
        import sys
        import yaml
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "examples", "datasette", "metadata.yml")) as f:
            cls.canned = yaml.safe_load(f)["databases"]["catalog"]["queries"]["rare_keys"]["sql"]
        sys.path.insert(0, os.path.join(here, "..", "tools"))
        import cookbook
        cls.cookbook = next(sql for q, _, sql in cookbook.QUESTIONS if q.startswith("Which keys are present on less than"))
        db = cls.db = connect()
        # Spans: an attribute on 1, 3, 10 of 40 records, a resource key on all, event keys
        # on 1 of 20 events, link keys on 1 of 4 links; a busy span name (skew within a signal).
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(
            [span("GET /a", attrs={"user.id": "u", **({"rare.a": "x"} if i < 1 else {}), **({"rare.b": "x"} if i < 3 else {}),
                                   **({"rare.c": "x"} if i < 10 else {})},
                  events=[("exception", {"exception.type": "E", **({"exception.note": "n"} if i < 1 else {})})] if i < 20 else [],
                  links=[{"link.kind": "child", **({"link.rare": "y"} if i < 1 else {})}] if i < 4 else [])
             for i in range(40)] + [span("GET /busy", attrs={"q": "1", **({"rare.d": "x"} if i < 2 else {})}) for i in range(400)],
            service="api", host="h1"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces([span("GET /a", attrs={"rare.a": "z"})], service="web"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge(
            "cpu", [({"core": str(i), **({"rare.m": "1"} if i < 2 else {})}, 1.0) for i in range(60)], service="api"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge("mem", [({"k": "v"}, 1.0)], service="api"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs(
            [log(f"disk {i} failed", 17, "ERROR", {"user.id": f"u{i}", **({"rare.l": "1"} if i < 1 else {})}) for i in range(30)]
            + [log("started", 9, "INFO", {"x": "1"})] * 5, service="api"),))
        # More than 8 entities of each kind, so that some are read through the
        # key_count indexes, and a busy one of each (its records would widen
        # a bound taken from the most records to every key row): metrics of 20
        # points with a label on 1 of them, one of 2 000 with a label on 30
        # (1.5 %); span names of 20 spans with an attribute on 1, events and
        # links on a few; severities of 20 records with an attribute on 1.
        for i in range(12):
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge(
                f"g{i}", [({"core": str(j % 4), **({"rare.g": "1"} if j < 1 + i % 2 else {})}, 1.0) for j in range(20)],
                service="api"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge(
            "busy", [({"core": str(j % 4), **({"rare.b": "1"} if j < 30 else {})}, 1.0) for j in range(2000)], service="api"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(
            [span(f"op{i}", attrs={"q": "1", **({"rare.o": "x"} if j < 1 else {})},
                  events=[("retry", {"n": "1", **({"rare.e": "y"} if j < 1 else {})})] if j < 2 + i else [],
                  links=[{"l": "1"}] if j < i else []) for i in range(12) for j in range(20)], service="api"),))
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs(
            [log("x", 9, f"LEVEL{i}", {"k": "1", **({"rare.s": "1"} if j < 1 else {})}) for i in range(12) for j in range(20)],
            service="api"),))

    def former(self, percent):
        return self.db.execute(
            "SELECT signal, entity, key_scope, key_name, event_name, round(key_percentage, 2) AS key_percentage, key_count, "
            "estimated_cardinality, value_samples FROM key_cardinality WHERE key_percentage < ?", (percent,)).fetchall()

    def test_same_rows_as_the_percentage_of_every_key_row(self):
        for percent in ("0.1", "1", "2.5", "3", "5", "10", "25", "50", "99.9", "100", "150", ""):
            with self.subTest(percent=percent):
                got = self.db.execute(self.canned, {"percent": percent}).fetchall()
                want = self.former(float(percent or 10))
                self.assertEqual(sorted(got, key=repr), sorted(want, key=repr))
        # Every signal and scope is exercised, and a bound that is not every row.
        rows = self.former(50)
        self.assertEqual({(r[0], r[2]) for r in rows}, {("spans", "attribute"), ("spans", "event"), ("spans", "link"),
                                                        ("metrics", "label"), ("logs", "attribute")})
        self.assertLess(len(self.former(5)), len(self.former(50)))
        # The busy metric holds a rare key (30 of 2 000 records); a bound of 50 %
        # of the most records would cover every other metric's key rows, one of
        # the 9th most records does not.
        self.assertIn(("metrics", "busy", "label", "rare.b"), {r[:4] for r in self.former(5)})
        most, ninth = (self.db.execute(f"SELECT total_sample_count FROM metrics ORDER BY total_sample_count DESC LIMIT 1 OFFSET {n}")
                       .fetchone()[0] for n in (0, 8))
        self.assertEqual(self.db.execute("SELECT count(*) FROM metric_key_rows WHERE key_count > ? AND metric_name <> 'busy'",
                                         (0.5 * most,)).fetchone()[0], 0)
        self.assertGreater(self.db.execute("SELECT count(*) FROM metric_key_rows WHERE key_count > ?", (0.5 * ninth,)).fetchone()[0], 0)

    def test_cookbook(self):
        got = self.db.execute(self.cookbook.replace("LIMIT 8", "")).fetchall()
        want = [(r[0], r[1], r[2], r[3], r[6], r[5]) for r in self.former(5)]
        self.assertTrue(want)
        self.assertEqual(sorted(got, key=repr), sorted(want, key=repr))

    def test_plan_reads_the_key_count_indexes(self):
        for sql in (self.canned, self.cookbook):
            plan = " | ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN " + sql, {"percent": ""} if ":percent" in sql else {}))
            for t in ("metric", "span", "log"):
                self.assertIn(f"SEARCH {t}_key_rows USING INDEX idx_{t}_keys_count (key_count<?)", plan)
            # The key rows of the 8 busiest entities of each kind by their
            # primary key; the 9th most records of each kind from its index.
            for t, e in (("metric", "metric_name"), ("span", "span_name"), ("log", "severity")):
                self.assertIn(f"SEARCH {t}_key_rows USING INDEX sqlite_autoindex_{t}_key_rows_1 ({e}=?)", plan)
            for t, i in (("metrics", "records"), ("spans", "records"), ("spans", "links"), ("span_events", "count")):
                self.assertIn(f"SCAN {t} USING COVERING INDEX idx_{t}_{i}", plan)
            self.assertNotRegex(plan, r"SCAN (metric|span|log)_key_rows|SCAN (metrics|spans|span_events)\b(?! USING (COVERING )?INDEX)")


class TestDashboardRankings(unittest.TestCase):
    """The dashboard's top-N canned queries over the key rows read an index
    in their order (issue 16: a top N < 10 ms at 100 000 metrics): the top
    values of a key (top_values_of_key) from idx_*_keys_top, and a metric's
    labels by cardinality for every metric (metric_label_cardinality with no
    name) from idx_metric_keys_cardinality_names. Their rows are those of
    the former SQL (kept here), which read every key row of the key or every
    metric's keys and sorted them."""

    FORMER_TOP_VALUES = """
        SELECT signal, entity, key_scope, j.value ->> 'value' AS value, j.value ->> 'count' AS count,
               json_extract(topk_info(top_sketch), '$.maximum_error') AS maximum_error, key_count
        FROM (SELECT 'metrics' AS signal, metric_name AS entity, key_scope, key_count, top_sketch, top_values FROM metric_keys WHERE key_name = :key
              UNION ALL SELECT 'spans', span_name, key_scope, key_count, top_sketch, top_values FROM span_keys WHERE key_name = :key
              UNION ALL SELECT 'logs', severity, key_scope, key_count, top_sketch, top_values FROM log_keys WHERE key_name = :key) k,
             json_each(CASE WHEN json_valid(k.top_values) THEN k.top_values ELSE '[]' END) j
        ORDER BY key_count DESC, signal, entity, CAST(j.value ->> 'count' AS INTEGER) DESC
        LIMIT 200"""

    FORMER_LABEL_CARDINALITY = """
        WITH k AS NOT MATERIALIZED (
          SELECT k.metric_name, k.key_scope, k.key_name, k.estimated_cardinality,
                 m.estimated_active_series,
                 round(100.0 * k.estimated_cardinality / max(m.estimated_active_series, 1), 1) AS pct_of_series,
                 k.key_count, round(k.key_percentage, 1) AS key_percentage, k.value_samples
          FROM metric_keys k JOIN metrics m ON m.name = k.metric_name)
        SELECT * FROM k WHERE metric_name = :metric AND NOT :metric GLOB '*[*?[]*'
        UNION ALL SELECT * FROM k WHERE metric_name GLOB :metric AND :metric GLOB '*[*?[]*'
        UNION ALL SELECT * FROM k WHERE :metric = ''
        ORDER BY estimated_cardinality DESC, metric_name, key_scope, key_name
        LIMIT 200"""

    @classmethod
    def setUpClass(cls):
        import yaml
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "examples", "datasette", "metadata.yml")) as f:
            queries = yaml.safe_load(f)["databases"]["catalog"]["queries"]
        cls.top_values = queries["top_values_of_key"]["sql"]
        cls.label_cardinality = queries["metric_label_cardinality"]["sql"]
        db = cls.db = connect()
        # The key "host" on every signal and scope: metric labels and the
        # resource (the same records: tied on records, signal and entity),
        # span attributes, events and links, log attributes; entities of
        # different sizes, several of each size, values from 1 to 12.
        for i in range(60):
            n = 1 + i % 7
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge(
                f"m{i}", [({"host": f"h{j % (1 + i % 12)}", "core": str(j % 3)}, 1.0) for j in range(n)],
                service=f"s{i % 3}", host="r1"),))
        for i in range(40):
            n = 1 + i % 5
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (traces(
                [span(f"GET /{i}", attrs={"host": f"h{j % (1 + i % 4)}"},
                      events=[("exception", {"host": f"e{j % 2}"})] if j % 2 else [],
                      links=[{"host": "l"}] if i % 3 == 0 else []) for j in range(n)],
                service=f"s{i % 2}", host="r2"),))
        for sev, num in (("INFO", 9), ("WARN", 13), ("ERROR", 17)):
            db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (logs(
                [log(f"line {j}", num, sev, {"host": f"h{j % 5}"}) for j in range(num)], service="s0", host="r3"),))
        # Rows of an upgraded catalog (no top values), and top values that
        # give no row.
        db.execute("UPDATE metric_key_rows SET top_sketch = NULL, top_values = NULL WHERE metric_name IN ('m5', 'm12')")
        db.execute("UPDATE span_key_rows SET top_values = '[]' WHERE span_name = 'GET /7'")
        db.execute("UPDATE span_key_rows SET top_values = 'not json' WHERE span_name = 'GET /8'")

    def same_ranking(self, got, want, order):
        """got and want are the first n rows of one ORDER BY: the same sort
        keys in the same order, the same rows but where ties on the last
        key were cut."""
        self.assertEqual([order(r) for r in got], [order(r) for r in want])
        if want:
            last = order(want[-1])
            self.assertEqual(sorted((r for r in got if order(r) != last), key=repr),
                             sorted((r for r in want if order(r) != last), key=repr))

    def test_top_values_same_rows_as_before(self):
        order = lambda r: (-r[6], r[0], r[1], -int(r[4]))
        every = self.db.execute(self.FORMER_TOP_VALUES.replace("LIMIT 200", ""), {"key": "host"}).fetchall()
        self.assertGreater(len(every), 200)
        self.assertEqual({(r[0], r[2]) for r in every}, {("metrics", "label"), ("metrics", "resource"), ("spans", "attribute"),
                                                         ("spans", "resource"), ("spans", "event"), ("spans", "link"),
                                                         ("logs", "attribute"), ("logs", "resource")})
        for key in ("host", "core", "none"):
            for n in (1, 2, 3, 5, 13, 50, 120, 200, 1000):
                with self.subTest(key=key, n=n):
                    got = self.db.execute(self.top_values.replace("LIMIT 200", f"LIMIT {n}"), {"key": key}).fetchall()
                    want = self.db.execute(self.FORMER_TOP_VALUES.replace("LIMIT 200", f"LIMIT {n}"), {"key": key}).fetchall()
                    self.same_ranking(got, want, order)
                    if key != "none":
                        self.assertEqual(len(got), min(n, len(self.db.execute(
                            self.FORMER_TOP_VALUES.replace("LIMIT 200", ""), {"key": key}).fetchall())))

    def test_top_values_read_the_top_index(self):
        plan = " | ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN " + self.top_values, {"key": "host"}))
        for t in ("metric", "span", "log"):
            self.assertIn(f"SEARCH {t}_key_rows USING INDEX idx_{t}_keys_top (key_name=?)", plan)
        self.assertNotRegex(plan, r"SCAN (metric|span|log)_key_rows|idx_(metric|span|log)_keys_key\b")

    def test_label_cardinality_same_rows_as_before(self):
        for metric in ("", "m7", "m1*", "m?", "nothing*"):
            for n in (1, 5, 30, 200):
                with self.subTest(metric=metric, n=n):
                    got = self.db.execute(self.label_cardinality.replace("LIMIT 200", f"LIMIT {n}"), {"metric": metric}).fetchall()
                    want = self.db.execute(self.FORMER_LABEL_CARDINALITY.replace("LIMIT 200", f"LIMIT {n}"),
                                           {"metric": metric}).fetchall()
                    self.assertEqual(got, want)
                    self.assertTrue(got or metric == "nothing*")
        self.assertGreater(len(self.db.execute(self.FORMER_LABEL_CARDINALITY.replace("LIMIT 200", ""), {"metric": ""}).fetchall()), 200)

    def test_label_cardinality_of_every_metric_reads_its_order(self):
        plan = " | ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN " + self.label_cardinality, {"metric": ""}))
        self.assertIn("SCAN metric_key_rows USING INDEX idx_metric_keys_cardinality_names", plan)
        # The pattern arm's plan for an empty :metric scans the index by key
        # name and entity (idx_metric_keys_key_entity), but its condition on
        # :metric alone is constant and false, tested once before its loop:
        # it reads nothing.
        self.assertNotRegex(plan, r"SCAN metric_key_rows(?! USING INDEX idx_metric_keys_(cardinality_names|key_entity))")
        # Its first 200 in index order (the merge of the arms sorts those 200,
        # not every key row tied on an estimate).
        self.assertNotIn("RIGHT PART OF ORDER BY", plan)
        self.assertNotIn("LAST TERM OF ORDER BY", plan)

    def test_id_like_keys_of_the_cookbook_read_the_cardinality_indexes(self):
        """Cookbook 24: a key of at least 1 000 records with at least half as
        many distinct values has at least 500: the cardinality indexes give
        those (the former query walked every key of 1 000 records or more)."""
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
        import cookbook
        sql = next(sql for q, _, sql in cookbook.QUESTIONS if q.startswith("Which keys look like ids"))
        plan = " | ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN " + sql))
        for t in ("metric", "span", "log"):
            self.assertIn(f"SEARCH {t}_key_rows USING INDEX idx_{t}_keys_cardinality (estimated_cardinality>?)", plan)
        former = sql.replace("+key_count", "key_count").replace(" AND estimated_cardinality >= 500", "")
        # (ties on an estimate come in any order: every row, sorted)
        for a, b in ((sql, former), (sql.replace("1000", "5").replace("500", "2.5"), former.replace("1000", "5"))):
            a, b = a.replace("LIMIT 8", ""), b.replace("LIMIT 8", "")
            self.assertEqual(sorted(self.db.execute(a).fetchall()), sorted(self.db.execute(b).fetchall()))
        self.assertTrue(self.db.execute(sql.replace("1000", "5").replace("500", "2.5")).fetchall())

    def test_report_services_from_the_service_totals(self):
        """otelcat report's services by volume read the service totals (schema
        version 3); the same rows as adding up every service row, which it
        still does on older catalogs."""
        import sys
        from helpers import ROOT
        sys.path.insert(0, os.path.join(ROOT, "python"))
        from otelcat import report
        db = self.db

        class Older:
            def execute(self, sql, params=()):
                if "name = 'service_totals'" in sql:
                    return db.execute("SELECT 1 WHERE 0")
                return db.execute(sql, params)

        def services(conn):
            return next(s for s in report.sections(conn, 10, 3) if s[0] == "Services by volume (all)")[3]

        got, want = services(db), services(Older())
        self.assertEqual(got, want)
        self.assertEqual(len(got), 3)
        self.assertTrue(all(r[1] and r[2] for r in got[:2]))   # spans and points
