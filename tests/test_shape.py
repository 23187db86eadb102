"""Metric shape (issue 15, promise 5): temporality, monotonicity, histogram
buckets, exponential histogram scales and buckets, summary quantiles, the
series a metric makes in Prometheus, and services that disagree on a
metric's type. Through the built .so, from OTLP/JSON and OTLP/protobuf."""
import json
import os
import shutil
import tempfile
import unittest

from helpers import FIXTURES, connect
from otlp_payloads import resource

T = "1700000000000000000"


def point(i, **fields):
    return {"timeUnixNano": T, "attributes": [{"key": "k", "value": {"stringValue": f"v{i}"}}], **fields}


def metric_request(metrics, service="svc"):
    return json.dumps({"resourceMetrics": [{"resource": resource(service), "scopeMetrics": [
        {"scope": {"name": "test"}, "metrics": metrics}]}]})


def histogram(name, series, bounds, temporality=2):
    pts = [point(i, count="3", sum=1.5, bucketCounts=["1"] * (len(bounds) + 1), explicitBounds=bounds)
           for i in range(series)]
    return {"name": name, "histogram": {"dataPoints": pts, "aggregationTemporality": temporality}}


def exp_histogram(name, series, scale, positive, negative=0):
    pts = [point(i, count="3", scale=scale, zeroCount="1",
                 positive={"offset": 1, "bucketCounts": ["1"] * positive},
                 **({"negative": {"offset": -1, "bucketCounts": ["2"] * negative}} if negative else {}))
           for i in range(series)]
    return {"name": name, "exponentialHistogram": {"dataPoints": pts, "aggregationTemporality": 1}}


def summary(name, series, quantiles):
    pts = [point(i, count="3", sum=2.0,
                 quantileValues=[{"quantile": q / 10, "value": float(q)} for q in range(quantiles)])
           for i in range(series)]
    return {"name": name, "summary": {"dataPoints": pts}}


def number(name, kind, series, **extra):
    return {"name": name, kind: {"dataPoints": [point(i, asDouble=1.0) for i in range(series)], **extra}}


def ingest(db, payload, signal=None):
    if signal:
        db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (payload, signal))
    else:
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (payload,))


SHAPE = ("type, temporality, is_monotonic, histogram_buckets, exp_histogram_buckets, exp_histogram_min_scale, "
         "exp_histogram_max_scale, summary_quantiles, estimated_active_series, estimated_prometheus_series")


def shape(db, name):
    return db.execute(f"SELECT {SHAPE} FROM metrics WHERE name = ?", (name,)).fetchone()


def protobuf(text):
    """The same request in OTLP/protobuf (the official Python classes)."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    return json_format.Parse(text, ExportMetricsServiceRequest()).SerializeToString()


class TestMetricShape(unittest.TestCase):
    def request(self):
        return metric_request([
            histogram("lat", 10, [1, 2, 5]),
            exp_histogram("exp", 4, 3, positive=4, negative=2),
            summary("quant", 4, 3),
            number("reqs", "sum", 6, aggregationTemporality=2, isMonotonic=True),
            number("temp", "gauge", 5),
        ])

    def check(self, db):
        self.assertEqual(shape(db, "lat"), ("Histogram", "Cumulative", 0, 4, None, None, None, None, 10, 10 * (4 + 2)))
        self.assertEqual(shape(db, "exp"), ("ExponentialHistogram", "Delta", 0, None, 6, 3, 3, None, 4, 4))
        self.assertEqual(shape(db, "quant"), ("Summary", "Unspecified", 0, None, None, None, None, 3, 4, 4 * (3 + 2)))
        self.assertEqual(shape(db, "reqs"), ("Sum", "Cumulative", 1, None, None, None, None, None, 6, 6))
        self.assertEqual(shape(db, "temp"), ("Gauge", "Unspecified", 0, None, None, None, None, None, 5, 5))

    def test_json(self):
        db = connect()
        ingest(db, self.request())
        self.check(db)

    def test_protobuf_gives_the_same_shape(self):
        db = connect()
        ingest(db, protobuf(self.request()), "metrics")
        self.check(db)

    def test_shapes_merge_across_transactions(self):
        """The most buckets and quantiles, the range of scales; the last
        temporality. A batch without such points keeps what is stored."""
        db = connect()
        ingest(db, self.request())
        ingest(db, metric_request([histogram("lat", 10, [1, 2, 5, 10, 20], temporality=1),
                                   exp_histogram("exp", 4, -2, positive=1), summary("quant", 2, 1)]))
        ingest(db, metric_request([histogram("lat", 10, [1]), number("lat", "gauge", 0)]))
        self.assertEqual(shape(db, "exp"), ("ExponentialHistogram", "Delta", 0, None, 6, -2, 3, None, 4, 4))
        self.assertEqual(shape(db, "quant"), ("Summary", "Unspecified", 0, None, None, None, None, 3, 4, 20))
        # The last batch saw "lat" last as a Gauge (with no points): one
        # Prometheus series per series, buckets kept.
        self.assertEqual(shape(db, "lat"), ("Gauge", "Unspecified", 0, 6, None, None, None, None, 10, 10))
        ingest(db, metric_request([histogram("lat", 1, [])]))
        self.assertEqual(shape(db, "lat")[:4], ("Histogram", "Cumulative", 0, 6))
        self.assertEqual(shape(db, "lat")[-1], 10 * (6 + 2))

    def test_histogram_without_bounds_has_one_bucket(self):
        db = connect()
        ingest(db, metric_request([histogram("h", 3, [])]))
        self.assertEqual(shape(db, "h")[3], 1)
        self.assertEqual(shape(db, "h")[-1], 3 * 3)

    def test_prometheus_series_view(self):
        db = connect()
        ingest(db, self.request())
        rows = db.execute("SELECT name, series_per_series, estimated_prometheus_series FROM metric_prometheus_series").fetchall()
        self.assertEqual(rows[:2], [("lat", 6, 60), ("quant", 5, 20)])

    def test_metadata_document(self):
        db = connect()
        ingest(db, self.request())
        doc = json.loads(db.execute("SELECT document FROM metric_metadata WHERE name = 'exp'").fetchone()[0])
        self.assertEqual({k: doc[k] for k in ("temporality", "is_monotonic", "exp_histogram_buckets",
                                              "exp_histogram_scales", "estimated_prometheus_series", "service_types")},
                         {"temporality": "Delta", "is_monotonic": False, "exp_histogram_buckets": 6,
                          "exp_histogram_scales": [3, 3], "estimated_prometheus_series": 4,
                          "service_types": {"svc": "ExponentialHistogram"}})
        doc = json.loads(db.execute("SELECT document FROM metric_metadata WHERE name = 'lat'").fetchone()[0])
        self.assertEqual((doc["histogram_buckets"], doc["estimated_prometheus_series"]), (4, 60))

    def test_type_changes_across_services(self):
        db = connect()
        ingest(db, metric_request([number("queue", "gauge", 2), number("ok", "gauge", 1),
                                   number("tot", "sum", 1, aggregationTemporality=2, isMonotonic=True)], service="a"))
        ingest(db, metric_request([number("queue", "sum", 3, aggregationTemporality=1), number("ok", "gauge", 1),
                                   number("tot", "sum", 1, aggregationTemporality=1, isMonotonic=True)], service="b"))
        rows = db.execute("SELECT metric_name, service_name, type, temporality, is_monotonic, sample_count "
                          "FROM metric_shape_conflicts").fetchall()
        self.assertEqual(rows, [("queue", "a", "Gauge", "Unspecified", 0, 2), ("queue", "b", "Sum", "Delta", 0, 3),
                                ("tot", "a", "Sum", "Cumulative", 1, 1), ("tot", "b", "Sum", "Delta", 1, 1)])
        # The per-service shape follows what the service sent last.
        ingest(db, metric_request([number("queue", "gauge", 1)], service="b"))
        self.assertEqual(db.execute("SELECT count(*) FROM metric_shape_conflicts WHERE metric_name = 'queue'").fetchone(),
                         (0,))

    def test_upgraded_catalog(self):
        """A v0.2.0 catalog: shapes are unknown (NULL) until points arrive;
        gauges and sums get their Prometheus series at the upgrade."""
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "c.db")
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.2.0.db"), path)
        db = connect(path)
        before = db.execute("SELECT name, type, estimated_active_series FROM metrics").fetchall()
        self.assertTrue(before)
        ingest(db, metric_request([histogram("new.hist", 2, [1, 2])]))
        for name, typ, series in before:
            got = db.execute("SELECT temporality, histogram_buckets, estimated_prometheus_series FROM metrics "
                             "WHERE name = ?", (name,)).fetchone()
            want = series if typ in ("Gauge", "Sum", "ExponentialHistogram") else None
            self.assertEqual(got, (None, None, want), name)
        self.assertEqual(shape(db, "new.hist")[-1], 2 * 5)


if __name__ == "__main__":
    unittest.main()


def span_request(spans, service="svc"):
    return json.dumps({"resourceSpans": [{"resource": resource(service), "scopeSpans": [
        {"scope": {"name": "test"}, "spans": [
            {"name": name, "kind": 2, "startTimeUnixNano": T, **({"status": status} if status is not None else {})}
            for name, status in spans]}]}]})


def trace_protobuf(text):
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    return json_format.Parse(text, ExportTraceServiceRequest()).SerializeToString()


STATUS = "SELECT status_unset_count, status_ok_count, status_error_count FROM "


class TestSpanStatus(unittest.TestCase):
    """Issue 15, promise 6: span status counts per span name and service."""

    def spans(self):
        # 2 without status, 1 with an empty one, 1 unset by name, 2 ok, 3 error, 1 outside the enum.
        return [("op", None), ("op", None), ("op", {}), ("op", {"code": "STATUS_CODE_UNSET"}),
                ("op", {"code": 1}), ("op", {"code": "STATUS_CODE_OK", "message": "fine"}),
                ("op", {"code": 2, "message": "boom"}), ("op", {"code": "STATUS_CODE_ERROR"}), ("op", {"code": "2"}),
                ("op", {"code": 9})]

    def check(self, db):
        self.assertEqual(db.execute(STATUS + "spans WHERE name = 'op'").fetchone(), (5, 2, 3))
        self.assertEqual(db.execute(STATUS + "span_services WHERE span_name = 'op'").fetchone(), (5, 2, 3))

    def test_json(self):
        db = connect()
        ingest(db, span_request(self.spans()))
        self.check(db)

    def test_protobuf(self):
        db = connect()
        text = span_request([(n, s) for n, s in self.spans() if s is None or s.get("code") != 9])
        ingest(db, trace_protobuf(text), "traces")
        self.assertEqual(db.execute(STATUS + "spans WHERE name = 'op'").fetchone(), (4, 2, 3))

    def test_per_service_across_transactions_and_blocks(self):
        db = connect()
        db.execute("BEGIN")
        ingest(db, span_request([("op", {"code": 2}), ("op", None)], service="a"))
        ingest(db, span_request([("op", {"code": 1})], service="b"))
        db.execute("SAVEPOINT s")
        ingest(db, span_request([("op", {"code": 2})], service="a"))
        db.execute("RELEASE s")
        db.execute("SAVEPOINT t")
        ingest(db, span_request([("op", {"code": 2})], service="b"))
        db.execute("ROLLBACK TO t")
        db.execute("COMMIT")
        ingest(db, span_request([("op", {"code": 2})], service="b"))
        rows = db.execute("SELECT service_name, status_unset_count, status_ok_count, status_error_count, error_percentage "
                          "FROM span_status WHERE span_name = 'op' ORDER BY service_name").fetchall()
        self.assertEqual(rows, [("a", 1, 0, 2, 66.67), ("b", 0, 1, 1, 50.0)])
        self.assertEqual(db.execute(STATUS + "spans").fetchone(), (1, 1, 3))
        doc = json.loads(db.execute("SELECT document FROM span_metadata WHERE name = 'op'").fetchone()[0])
        self.assertEqual(doc["status"], {"unset": 1, "ok": 1, "error": 3})

    def test_upgraded_catalog_counts_since_the_upgrade(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "c.db")
        shutil.copy(os.path.join(FIXTURES, "catalog", "v0.2.0.db"), path)
        db = connect(path)
        name, before = db.execute("SELECT name, total_sample_count FROM spans LIMIT 1").fetchone()
        ingest(db, span_request([(name, {"code": 2})]))
        self.assertEqual(db.execute(STATUS + "spans WHERE name = ?", (name,)).fetchone(), (0, 0, 1))
        self.assertEqual(db.execute("SELECT total_sample_count FROM spans WHERE name = ?", (name,)).fetchone(), (before + 1,))
