// The OpenTelemetry JS SDK's OTLP/gRPC trace exporter (gzip, TLS with a
// self-signed certificate, a bearer token in its metadata) into `otelcat
// serve`, started from the source tree with the tests' venv Python (which has
// grpcio); then the catalog is read with better-sqlite3 and otelcat. A wrong
// token is refused with UNAUTHENTICATED and writes nothing.
// Run: node --test serve.test.mjs (VENVPY names the Python; default ../../.venv/bin/python)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { SpanKind } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ext = path.join(root, "dist", "otelcat");
const python = process.env.VENVPY || path.join(root, ".venv", "bin", "python");

/** Starts otelcat serve (gRPC only) on a free port; resolves with { port, stop(), kill() }. */
function startServe(db, args) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PYTHONPATH: path.join(root, "python"), OTELCAT_LOADABLE_PATH: ext };
    const child = spawn(python, ["-m", "otelcat", "serve", "--db", db, "--http", "off", "--grpc", "0", "-v", ...args],
      { stdio: ["ignore", "ignore", "pipe"], env });
    let log = "";
    let started = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`otelcat serve did not start:\n${log}`));
    }, 30000);
    const exited = new Promise((res) => child.on("exit", (code, signal) => res({ code, signal, log })));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = /listening on grpcs:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m && !started && log.includes("otelcat serve: db ")) {
        started = true;
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          log: () => log,
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
        reject(new Error(`otelcat serve exited with ${code}:\n${log}`));
      }
    });
  });
}

async function exportSpans(grpc, OTLPTraceExporter, port, cert, token, names) {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const exporter = new OTLPTraceExporter({
    url: `https://localhost:${port}`,
    credentials: grpc.credentials.createSsl(fs.readFileSync(cert)),
    metadata,
    compression: "gzip",
    timeoutMillis: 10000,
  });
  const results = [];
  const exportFn = exporter.export.bind(exporter);
  exporter.export = (items, done) =>
    exportFn(items, (result) => {
      results.push([result.code, result.error ? String(result.error) : null]);
      done(result);
    });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "cart-js" }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("cart.tracer", "1.0.0");
  for (const [i, name] of names.entries()) {
    tracer.startSpan(name, { kind: SpanKind.SERVER, attributes: { "cart.id": `c-${i}` } }).end();
  }
  // A failed export rejects forceFlush (with the export's error, recorded above).
  await provider.forceFlush().catch(() => {});
  await provider.shutdown();
  return results;
}

let grpcModules;
try {
  grpcModules = [await import("@grpc/grpc-js"), (await import("@opentelemetry/exporter-trace-otlp-grpc")).OTLPTraceExporter];
} catch (e) {
  grpcModules = null;
  console.log(`# skipped: the gRPC exporter packages are not installed (${e.message}); run npm ci in tests/node`);
}

test("OpenTelemetry JS SDK over OTLP/gRPC with TLS and a bearer token into otelcat serve", { skip: grpcModules === null }, async () => {
  const [grpc, OTLPTraceExporter] = grpcModules;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "otelcat-node-serve-"));
  const dbPath = path.join(dir, "catalog.db");
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "ignore" });
  const tokens = path.join(dir, "tokens");
  fs.writeFileSync(tokens, "js-token\n");
  const serve = await startServe(dbPath, ["--tls-cert", cert, "--tls-key", key, "--token-file", tokens]);
  let db;
  try {
    const ok = await exportSpans(grpc, OTLPTraceExporter, serve.port, cert, "js-token",
      ["POST /checkout", "POST /checkout", "GET /cart"]);
    assert.deepEqual(ok, [[0, null]], serve.log());
    const refused = await exportSpans(grpc, OTLPTraceExporter, serve.port, cert, "wrong", ["never stored"]);
    assert.equal(refused.length, 1);
    assert.equal(refused[0][0], 1); // ExportResultCode.FAILED
    assert.match(refused[0][1], /UNAUTHENTICATED|missing or invalid bearer token/);
    const { code, log } = await serve.stop();
    assert.equal(code, 0, log);
    assert.match(log, /grpc traces \d+ -> 200/);
    assert.match(log, /grpc - \d+ -> 401/);

    db = new Database(dbPath, { readonly: true });
    db.loadExtension(ext);
    assert.deepEqual(db.prepare("SELECT name, kind, total_sample_count AS n FROM spans ORDER BY 1").raw().all(), [
      ["GET /cart", "Server", 1],
      ["POST /checkout", "Server", 2],
    ]);
    assert.deepEqual(db.prepare("SELECT span_name, key_count, estimated_cardinality FROM span_keys WHERE key_name = 'cart.id' ORDER BY 1").raw().all(), [
      ["GET /cart", 1, 1],
      ["POST /checkout", 2, 2],
    ]);
    assert.deepEqual(db.prepare("SELECT DISTINCT service_name FROM span_services").pluck().all(), ["cart-js"]);
  } finally {
    db?.close();
    serve.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
