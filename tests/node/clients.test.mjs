// The official OpenTelemetry JavaScript SDK (2.x line; 3.x needs Node 22)
// sends spans, metrics and logs over OTLP/HTTP JSON to examples/receiver,
// started as a child process on a free port; the catalog is then read with
// better-sqlite3 and otelcat. Run: node --test clients.test.mjs
//
// The resource is the SDK's defaultResource() merged with ours, as the
// NodeSDK does: it adds telemetry.sdk.language / name / version (SDK_RESOURCE).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { context, SpanKind, trace } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ext = path.join(root, "dist", "otelcat");
const receiverScript = path.join(root, "examples", "receiver", "receiver.py");
// Debian's interpreter: its sqlite3 module loads extensions.
const python = process.env.SYSPY || "/usr/bin/python3";
const SDK_RESOURCE = ["telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version"];

/** Starts the receiver on a free port; resolves with { url, stop() }. */
function startReceiver(db) {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [receiverScript, "--db", db, "--port", "0", "--verbose"], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    let started = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`receiver did not start:\n${log}`));
    }, 20000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = /listening on (http:\/\/[^ ]+)/.exec(log);
      if (m && !started) {
        started = true;
        clearTimeout(timer);
        const exited = new Promise((res) => child.on("exit", (code, signal) => res({ code, signal, log })));
        resolve({
          url: m[1],
          stop: () => {
            child.kill("SIGTERM");
            return exited;
          },
          kill: () => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"),
        });
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (!started) {
        clearTimeout(timer);
        reject(new Error(`receiver exited with ${code}:\n${log}`));
      }
    });
  });
}

/** Wraps an exporter so that every export's result code is recorded. */
function recording(exporter, signal, results) {
  const exportFn = exporter.export.bind(exporter);
  exporter.export = (items, done) =>
    exportFn(items, (result) => {
      results.push([signal, result.code, result.error ? String(result.error) : null]);
      done(result);
    });
  return exporter;
}

async function emit(url) {
  const results = [];
  const resource = defaultResource().merge(
    resourceFromAttributes({ "service.name": "cart-js", "deployment.environment.name": "test" }),
  );

  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(recording(new OTLPTraceExporter({ url: `${url}/v1/traces` }), "traces", results))],
  });
  const tracer = tracerProvider.getTracer("cart.tracer", "1.0.0");
  const parent = tracer.startSpan("POST /checkout", {
    kind: SpanKind.SERVER,
    attributes: { "http.request.method": "POST", "http.route": "/checkout" },
  });
  parent.addEvent("payment.authorized", { "payment.provider": "acme" });
  const child = tracer.startSpan(
    "INSERT orders",
    {
      kind: SpanKind.CLIENT,
      attributes: { "db.system.name": "sqlite", "db.rows": 1 },
      links: [{ context: parent.spanContext(), attributes: { "link.reason": "audit" } }],
    },
    trace.setSpan(context.active(), parent),
  );
  child.end();
  parent.end();

  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: recording(new OTLPMetricExporter({ url: `${url}/v1/metrics` }), "metrics", results),
        exportIntervalMillis: 3_600_000,
      }),
    ],
  });
  const meter = meterProvider.getMeter("cart.meter", "1.0.0");
  meter.createCounter("checkouts", { unit: "{checkout}", description: "Checkouts done" }).add(1, { "payment.method": "card" });
  meter.createHistogram("checkout.duration", { unit: "ms", description: "Checkout time" }).record(120, { "checkout.step": "pay" });
  meter.createUpDownCounter("carts.open", { unit: "{cart}", description: "Open carts" }).add(3, { region: "eu" });
  meter.createGauge("stock.level", { unit: "{item}", description: "Items in stock" }).record(42, { sku: "A-1" });

  const loggerProvider = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({ exporter: recording(new OTLPLogExporter({ url: `${url}/v1/logs` }), "logs", results) })],
  });
  const logger = loggerProvider.getLogger("cart.logs", "1.0.0");
  logger.emit({ severityNumber: SeverityNumber.INFO, severityText: "INFO", body: "cart c-7 checked out", attributes: { "cart.id": "c-7" } });
  logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: "ERROR", body: "payment failed for cart c-8", attributes: { "error.type": "declined" } });

  for (const p of [tracerProvider, meterProvider, loggerProvider]) await p.forceFlush();
  for (const p of [tracerProvider, meterProvider, loggerProvider]) await p.shutdown();
  return results;
}

function keys(db, table, nameCol, extra = "") {
  const out = {};
  for (const r of db.prepare(`SELECT ${nameCol} AS n, key_scope || '/' || key_name${extra} AS k FROM ${table}`).all()) {
    (out[r.n] ??= []).push(r.k);
  }
  for (const n in out) out[n].sort();
  return out;
}

test("OpenTelemetry JS SDK over OTLP/HTTP JSON into the catalog", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "otelcat-node-clients-"));
  const dbPath = path.join(dir, "catalog.db");
  const receiver = await startReceiver(dbPath);
  let db;
  try {
    const results = await emit(receiver.url);
    // Metrics are exported twice: by forceFlush and at shutdown (cumulative).
    assert.deepEqual(results.map((r) => r.slice(0, 2)).sort(), [["logs", 0], ["metrics", 0], ["metrics", 0], ["traces", 0]],
      JSON.stringify(results));
    const { code, log } = await receiver.stop();
    assert.equal(code, 0, log);
    // Every request was OTLP/JSON (the receiver's --verbose log names the media type).
    const requests = log.split("\n").filter((l) => l.includes('"POST /v1/'));
    assert.equal(requests.length, 4, log);
    for (const l of requests) assert.match(l, /" application\/json .* -> 200 2$/);

    db = new Database(dbPath, { readonly: true });
    db.loadExtension(ext);
    const res = ["service.name", "deployment.environment.name", ...SDK_RESOURCE].map((k) => `resource/${k}`);
    const withRes = (...ks) => [...ks, ...res].sort();

    assert.deepEqual(db.prepare("SELECT name, kind, total_sample_count AS n, event_count AS e, link_count AS l FROM spans ORDER BY 1").all(), [
      { name: "INSERT orders", kind: "Client", n: 1, e: 0, l: 1 },
      { name: "POST /checkout", kind: "Server", n: 1, e: 1, l: 0 },
    ]);
    assert.deepEqual(db.prepare("SELECT span_name, service_name, sample_count FROM span_services ORDER BY 1").raw().all(),
      [["INSERT orders", "cart-js", 1], ["POST /checkout", "cart-js", 1]]);
    assert.deepEqual(db.prepare("SELECT span_name, event_name, event_count FROM span_events").raw().all(),
      [["POST /checkout", "payment.authorized", 1]]);
    assert.deepEqual(keys(db, "span_keys", "span_name", " || '/' || event_name"), {
      "INSERT orders": withRes("attribute/db.rows", "attribute/db.system.name", "link/link.reason").map((k) => k + "/"),
      "POST /checkout": [...withRes("attribute/http.request.method", "attribute/http.route").map((k) => k + "/"),
        "event/payment.provider/payment.authorized"].sort(),
    });
    const samples = Object.fromEntries(db.prepare("SELECT key_name, value_samples FROM span_keys WHERE span_name = 'INSERT orders'").raw().all());
    assert.equal(samples["db.rows"], '["1"]');
    assert.equal(samples["service.name"], '["cart-js"]');
    assert.equal(samples["telemetry.sdk.language"], '["nodejs"]');
    assert.equal(samples["telemetry.sdk.name"], '["opentelemetry"]');
    assert.match(JSON.parse(samples["telemetry.sdk.version"])[0], /^2\.12\.\d+$/);

    assert.deepEqual(db.prepare("SELECT name, type, unit, description, total_sample_count AS n FROM metrics ORDER BY 1").raw().all(), [
      ["carts.open", "Sum", "{cart}", "Open carts", 2],
      ["checkout.duration", "Histogram", "ms", "Checkout time", 2],
      ["checkouts", "Sum", "{checkout}", "Checkouts done", 2],
      ["stock.level", "Gauge", "{item}", "Items in stock", 2],
    ]);
    assert.deepEqual(db.prepare("SELECT DISTINCT service_name FROM metric_services").pluck().all(), ["cart-js"]);
    assert.deepEqual(keys(db, "metric_keys", "metric_name"), {
      "carts.open": withRes("label/region"),
      "checkout.duration": withRes("label/checkout.step"),
      checkouts: withRes("label/payment.method"),
      "stock.level": withRes("label/sku"),
    });

    assert.deepEqual(db.prepare("SELECT severity, service_name, sample_count FROM log_services ORDER BY 1").raw().all(),
      [["ERROR", "cart-js", 1], ["INFO", "cart-js", 1]]);
    assert.deepEqual(keys(db, "log_keys", "severity"), {
      ERROR: withRes("attribute/error.type"),
      INFO: withRes("attribute/cart.id"),
    });
    assert.deepEqual(db.prepare("SELECT severity, template, example, count FROM log_body_templates ORDER BY 1").raw().all(), [
      ["ERROR", "payment failed for cart c-<*>", "payment failed for cart c-8", 1],
      ["INFO", "cart c-<*> checked out", "cart c-7 checked out", 1],
    ]);
  } finally {
    db?.close();
    receiver.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
