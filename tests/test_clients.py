"""Real OpenTelemetry clients into the catalog: the official Python SDK
exporting over OTLP/HTTP protobuf to examples/receiver, and a file in the
Collector's file-exporter format (OTLP/JSON Lines, one export request per
line) ingested in one statement. Versions are pinned in requirements.txt.

The SDK adds resource attributes of its own (telemetry.sdk.language / name /
version and service.instance.id) and the logging bridge adds code.file.path,
code.function.name and code.line.number to every record: the expected sets
below name them explicitly (SDK_RESOURCE, CODE_ATTRS)."""
import base64
import json
import logging
import os
import subprocess
import sys
import unittest
import warnings

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.version import __version__ as SDK_VERSION
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from helpers import connect
from test_receiver import Tmp, catalog

SDK_RESOURCE = {"telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version", "service.instance.id"}
CODE_ATTRS = {"code.file.path", "code.function.name", "code.line.number"}

# The program under test: what an instrumented Python service does.
EMIT = r'''
import json, logging, sys
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind

url = sys.argv[1]
exports = []  # (signal, result) of every export the SDK made


def recording(cls, signal):
    class Recording(cls):
        def export(self, batch, *args, **kwargs):
            result = super().export(batch, *args, **kwargs)
            exports.append((signal, result.name))
            return result
    return Recording


def main():
    resource = Resource.create({"service.name": "checkout", "deployment.environment.name": "test"})

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(recording(OTLPSpanExporter, "traces")(endpoint=url + "/v1/traces")))
    tracer = tracer_provider.get_tracer("shop.tracer", "1.2.3")
    with tracer.start_as_current_span("GET /cart", kind=SpanKind.SERVER,
                                      attributes={"http.request.method": "GET", "http.route": "/cart"}) as root:
        root.add_event("cache.miss", {"cache.key": "cart:42"})
        with tracer.start_as_current_span("SELECT cart", kind=SpanKind.CLIENT,
                                          attributes={"db.system.name": "sqlite", "db.rows": 3},
                                          links=[Link(root.get_span_context(), {"link.reason": "batch"})]):
            pass

    reader = PeriodicExportingMetricReader(
        recording(OTLPMetricExporter, "metrics")(endpoint=url + "/v1/metrics", compression=Compression.Deflate),
        export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = meter_provider.get_meter("shop.meter", "1.2.3")
    meter.create_counter("orders.placed", unit="{order}", description="Orders placed").add(2, {"payment.method": "card"})
    meter.create_histogram("http.server.request.duration", unit="s", description="Request duration").record(
        0.25, {"http.route": "/cart", "http.response.status_code": 200})
    meter.create_up_down_counter("queue.depth", unit="{item}", description="Items queued").add(5, {"queue.name": "emails"})
    meter.create_gauge("cpu.temperature", unit="Cel", description="CPU temperature").set(61.5, {"cpu.id": "0"})

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(
        recording(OTLPLogExporter, "logs")(endpoint=url + "/v1/logs", compression=Compression.Gzip)))
    log = logging.getLogger("shop.orders")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
    log.info("order %s placed", "o-1", extra={"order.id": "o-1"})
    log.warning("payment retry %d for order %s", 2, "o-1", extra={"retry.count": 2})

    flushed = [p.force_flush(10_000) for p in (tracer_provider, meter_provider, logger_provider)]
    for p in (tracer_provider, meter_provider, logger_provider):
        p.shutdown()
    print(json.dumps({"flushed": flushed, "exports": exports}))


main()
'''


def keys(db, table, name_col, extra=""):
    """{name: {(scope, key[, event]) ...}} of a *_keys table."""
    out = {}
    for row in db.execute(f"SELECT {name_col}, key_scope, key_name{extra} FROM {table}"):
        out.setdefault(row[0], set()).add(row[1:])
    return out


class TestPythonSDK(Tmp):
    def test_sdk_over_otlp_http_protobuf(self):
        prog = os.path.join(self.dir, "emit.py")
        with open(prog, "w") as f:
            f.write(EMIT)
        r = self.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        p = subprocess.run([sys.executable, prog, r.url], capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["flushed"], [True, True, True], p.stderr)
        # Metrics are exported twice: by force_flush and at shutdown (cumulative).
        self.assertEqual(sorted(out["exports"]), [["logs", "SUCCESS"], ["metrics", "SUCCESS"], ["metrics", "SUCCESS"],
                                                  ["traces", "SUCCESS"]], p.stderr)
        self.assertEqual(r.stop(), 0, r.output())

        db = connect(self.db)
        res = {("resource", k) for k in {"service.name", "deployment.environment.name"} | SDK_RESOURCE}
        self.assertEqual(db.execute("SELECT name, kind, total_sample_count, event_count, link_count FROM spans ORDER BY 1").fetchall(),
                         [("GET /cart", "Server", 1, 1, 0), ("SELECT cart", "Client", 1, 0, 1)])
        self.assertEqual(db.execute("SELECT span_name, service_name, sample_count FROM span_services ORDER BY 1").fetchall(),
                         [("GET /cart", "checkout", 1), ("SELECT cart", "checkout", 1)])
        self.assertEqual(db.execute("SELECT span_name, event_name, event_count FROM span_events").fetchall(),
                         [("GET /cart", "cache.miss", 1)])
        self.assertEqual(keys(db, "span_keys", "span_name", ", event_name"), {
            "GET /cart": {("attribute", "http.request.method", ""), ("attribute", "http.route", ""),
                          ("event", "cache.key", "cache.miss")} | {s + ("",) for s in res},
            "SELECT cart": {("attribute", "db.system.name", ""), ("attribute", "db.rows", ""),
                            ("link", "link.reason", "")} | {s + ("",) for s in res},
        })
        samples = dict(db.execute("SELECT key_name, value_samples FROM span_keys WHERE span_name = 'SELECT cart'"))
        self.assertEqual((samples["db.rows"], samples["link.reason"], samples["service.name"]), ('["3"]', '["batch"]', '["checkout"]'))
        self.assertEqual(json.loads(samples["telemetry.sdk.version"]), [SDK_VERSION])
        self.assertEqual(json.loads(samples["telemetry.sdk.language"]), ["python"])

        self.assertEqual(db.execute("SELECT name, type, unit, description, total_sample_count, estimated_active_series "
                                    "FROM metrics ORDER BY 1").fetchall(), [
            ("cpu.temperature", "Gauge", "Cel", "CPU temperature", 2, 1),
            ("http.server.request.duration", "Histogram", "s", "Request duration", 2, 1),
            ("orders.placed", "Sum", "{order}", "Orders placed", 2, 1),
            ("queue.depth", "Sum", "{item}", "Items queued", 2, 1)])
        self.assertEqual(set(db.execute("SELECT metric_name, service_name FROM metric_services")),
                         {(m, "checkout") for m in ("cpu.temperature", "http.server.request.duration", "orders.placed", "queue.depth")})
        self.assertEqual(keys(db, "metric_keys", "metric_name"), {
            "cpu.temperature": {("label", "cpu.id")} | res,
            "http.server.request.duration": {("label", "http.route"), ("label", "http.response.status_code")} | res,
            "orders.placed": {("label", "payment.method")} | res,
            "queue.depth": {("label", "queue.name")} | res,
        })

        self.assertEqual(db.execute("SELECT severity, total_sample_count FROM logs ORDER BY 1").fetchall(), [("INFO", 1), ("WARN", 1)])
        self.assertEqual(db.execute("SELECT severity, service_name, sample_count FROM log_services ORDER BY 1").fetchall(),
                         [("INFO", "checkout", 1), ("WARN", "checkout", 1)])
        code = {("attribute", k) for k in CODE_ATTRS}
        self.assertEqual(keys(db, "log_keys", "severity"), {
            "INFO": {("attribute", "order.id")} | code | res,
            "WARN": {("attribute", "retry.count")} | code | res,
        })
        self.assertEqual(db.execute("SELECT value_samples FROM log_keys WHERE key_name = 'code.file.path' GROUP BY 1").fetchall(),
                         [(json.dumps([prog]),)])
        self.assertEqual(db.execute("SELECT severity, service_name, template, example, count, percentage "
                                    "FROM log_body_templates ORDER BY 1").fetchall(), [
            ("INFO", "checkout", "order o-<*> placed", "order o-1 placed", 1, 100.0),
            ("WARN", "checkout", "payment retry 2 for order o-<*>", "payment retry 2 for order o-1", 1, 100.0)])


# --- the Collector's file exporter format -------------------------------------

def otlp_json(message):
    """An export request as OTLP/JSON, as the Collector's file exporter
    writes it: proto3 JSON with lowerCamelCase names and integer enums, but
    trace and span ids as hex, not base64."""
    def fix(v):
        if isinstance(v, dict):
            return {k: base64.b64decode(x).hex() if k in ("traceId", "spanId", "parentSpanId") and isinstance(x, str)
                    else fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v
    return json.dumps(fix(MessageToDict(message, use_integers_for_enums=True)), separators=(",", ":"))


def collector_file():
    """Six export requests of the three signals, from two services, made by
    the SDK in process: [(request message, signal)] in file order."""
    out = []
    spans, metrics, logs = InMemorySpanExporter(), InMemoryMetricReader(), InMemoryLogRecordExporter()
    providers = {}
    for svc in ("frontend", "payments"):
        res = Resource.create({"service.name": svc, "service.version": "2.0.1"})
        tp = TracerProvider(resource=res)
        tp.add_span_processor(SimpleSpanProcessor(spans))
        lp = LoggerProvider(resource=res)
        lp.add_log_record_processor(SimpleLogRecordProcessor(logs))
        providers[svc] = (tp.get_tracer("file.test"), lp, tp)
    mp = MeterProvider(resource=Resource.create({"service.name": "frontend"}), metric_readers=[metrics])
    meter = mp.get_meter("file.test")
    requests_total = meter.create_counter("http.requests", unit="{request}", description="Requests")
    latency = meter.create_histogram("http.latency", unit="ms")

    def flush_spans():
        out.append((encode_spans(spans.get_finished_spans()), "traces"))
        spans.clear()

    def flush_logs():
        out.append((encode_logs(logs.get_finished_logs()), "logs"))
        logs.clear()

    tracer = providers["frontend"][0]
    for i in range(3):
        with tracer.start_as_current_span("GET /items", kind=SpanKind.SERVER, attributes={"http.route": "/items", "user.id": f"u{i}"}):
            with providers["payments"][0].start_as_current_span("charge", kind=SpanKind.INTERNAL, attributes={"amount": 10 + i}) as s:
                if i == 2:
                    s.set_status(Status(StatusCode.ERROR))
                    s.add_event("exception", {"exception.type": "CardDeclined"})
        requests_total.add(1, {"route": "/items", "status": "200"})
        latency.record(12.5 * (i + 1), {"route": "/items"})
    flush_spans()
    out.append((encode_metrics(metrics.get_metrics_data()), "metrics"))
    handlers = []
    for svc in ("frontend", "payments"):
        log = logging.getLogger(f"file.test.{svc}")
        log.propagate = False
        log.setLevel(logging.DEBUG)
        with warnings.catch_warnings():  # deprecated for opentelemetry-instrumentation-logging's, same records
            warnings.simplefilter("ignore", DeprecationWarning)
            h = LoggingHandler(level=logging.DEBUG, logger_provider=providers[svc][1])
        log.addHandler(h)
        handlers.append((log, h))
        for i in range(4):
            log.info("served item %d in %d ms", i, 3 * i)
        log.error("card declined for order %s", f"o-{svc}")
    flush_logs()
    probe = tracer.start_span("probe")
    probe.end()
    with tracer.start_as_current_span("GET /health", kind=SpanKind.SERVER, links=[Link(probe.get_span_context(), {"probe": "k8s"})]):
        pass
    flush_spans()
    requests_total.add(2, {"route": "/health", "status": "200"})
    out.append((encode_metrics(metrics.get_metrics_data()), "metrics"))
    handlers[0][0].warning("slow request %s", "/items")
    flush_logs()
    for log, h in handlers:
        log.removeHandler(h)
    for tracer_, lp, tp in providers.values():
        lp.shutdown()
        tp.shutdown()
    mp.shutdown()
    return out


class TestCollectorFileFormat(Tmp):
    def test_json_lines_file_ingests_in_one_statement(self):
        requests = collector_file()
        self.assertEqual([s for _, s in requests], ["traces", "metrics", "logs", "traces", "metrics", "logs"])
        path = os.path.join(self.dir, "otlp.jsonl")
        with open(path, "w") as f:
            for msg, _ in requests:
                f.write(otlp_json(msg) + "\n")
        with open(path) as f:
            text = f.read()
        self.assertEqual(len(text.splitlines()), 6)

        one = os.path.join(self.dir, "one.db")
        db = connect(one)
        db.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (text,))
        self.assertEqual(db.execute("SELECT name, kind, total_sample_count, event_count, link_count FROM spans ORDER BY 1").fetchall(), [
            ("GET /health", "Server", 1, 0, 1), ("GET /items", "Server", 3, 0, 0), ("charge", "Internal", 3, 1, 0),
            ("probe", "Internal", 1, 0, 0)])
        self.assertEqual(db.execute("SELECT span_name, service_name, sample_count FROM span_services ORDER BY 1, 2").fetchall(), [
            ("GET /health", "frontend", 1), ("GET /items", "frontend", 3), ("charge", "payments", 3), ("probe", "frontend", 1)])
        self.assertEqual(db.execute("SELECT key_name, key_count, estimated_cardinality FROM span_keys "
                                    "WHERE span_name = 'GET /items' AND key_scope = 'attribute' ORDER BY 1").fetchall(),
                         [("http.route", 3, 1), ("user.id", 3, 3)])
        self.assertEqual(db.execute("SELECT span_name, event_name, event_count FROM span_events").fetchall(),
                         [("charge", "exception", 1)])
        self.assertEqual(db.execute("SELECT key_scope, key_name FROM span_keys WHERE span_name = 'GET /health' "
                                    "AND key_scope <> 'resource'").fetchall(), [("link", "probe")])
        # Two collections of cumulative metrics: the counter has one series
        # in the first and two in the second.
        self.assertEqual(db.execute("SELECT name, type, unit, description, total_sample_count, estimated_active_series "
                                    "FROM metrics ORDER BY 1").fetchall(), [
            ("http.latency", "Histogram", "ms", "", 2, 1), ("http.requests", "Sum", "{request}", "Requests", 3, 2)])
        self.assertEqual(keys(db, "metric_keys", "metric_name"), {
            "http.latency": {("label", "route")} | {("resource", k) for k in {"service.name"} | SDK_RESOURCE},
            "http.requests": {("label", "route"), ("label", "status")} | {("resource", k) for k in {"service.name"} | SDK_RESOURCE}})
        self.assertEqual(db.execute("SELECT severity, service_name, sample_count FROM log_services ORDER BY 1, 2").fetchall(), [
            ("ERROR", "frontend", 1), ("ERROR", "payments", 1), ("INFO", "frontend", 4), ("INFO", "payments", 4),
            ("WARN", "frontend", 1)])
        self.assertEqual(db.execute("SELECT severity, service_name, template, count FROM log_body_templates ORDER BY 1, 2").fetchall(), [
            ("ERROR", "frontend", "card declined for order o-frontend", 1),
            ("ERROR", "payments", "card declined for order o-payments", 1),
            ("INFO", "frontend", "served item <*> in <*> ms", 4), ("INFO", "payments", "served item <*> in <*> ms", 4),
            ("WARN", "frontend", "slow request /items", 1)])
        self.assertEqual({k for (k,) in db.execute("SELECT DISTINCT key_name FROM log_keys WHERE key_scope = 'attribute'")}, CODE_ATTRS)
        db.close()

        # The same requests one by one, as JSON or as the SDK's protobuf,
        # make the same catalog.
        for name, payloads in (("lines", [(line, None) for line in text.splitlines()]),
                               ("protobuf", [(m.SerializeToString(), s) for m, s in requests])):
            with self.subTest(name):
                other = os.path.join(self.dir, name + ".db")
                db = connect(other)
                for payload, signal in payloads:
                    db.execute("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", (payload, signal))
                db.close()
                self.assertEqual(catalog(other), catalog(one))


if __name__ == "__main__":
    unittest.main()
