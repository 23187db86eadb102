// otelcat from Node through better-sqlite3@12: load the extension, ingest
// OTLP, query the catalog.
//
//   cd examples/node && npm install && node ingest_and_query.mjs [catalog.db]
//
// or, with the tests' copy of better-sqlite3 (after `make test-node`):
//   NODE_PATH=tests/node/node_modules node examples/node/ingest_and_query.mjs
//
// Without an argument the catalog lives in memory. It ingests the OTLP
// fixtures of tests/fixtures/otlp: each request as OTLP/JSON (a string), then
// the same requests as OTLP/protobuf (a Buffer, which needs its signal), so
// every count below is 2 per record.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

// require() rather than import: it also finds better-sqlite3 through NODE_PATH.
const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ext = path.join(root, "dist", "otelcat");           // SQLite adds .so / .dylib / .dll
const fixture = (name) => readFileSync(path.join(root, "tests", "fixtures", "otlp", name));

const db = new Database(process.argv[2] ?? ":memory:", { timeout: 10000 }); // wait for other writers
db.loadExtension(ext);
console.log("otelcat", db.prepare("SELECT otelcat_version()").pluck().get(),
            "on SQLite", db.prepare("SELECT sqlite_version()").pluck().get());

const ingestJson = db.prepare("INSERT INTO otlp_ingest(payload) VALUES (?)");
const ingestProto = db.prepare("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)");
// One transaction for many payloads: the catalog is written at COMMIT.
const ingestAll = db.transaction(() => {
  for (const name of ["trace.json", "metrics.json", "logs.json", "events.json"]) {
    ingestJson.run(fixture(name).toString("utf8"));        // OTLP/JSON as text: the signal is in the payload
  }
  for (const [name, signal] of [["trace.pb", "traces"], ["metrics.pb", "metrics"], ["logs.pb", "logs"], ["events.pb", "logs"]]) {
    ingestProto.run(fixture(name), signal);                 // a Buffer is a BLOB: OTLP/protobuf
  }
});
ingestAll.immediate();

function show(title, sql, ...params) {
  const stmt = db.prepare(sql);
  console.log(`\n${title}`);
  console.log("  " + stmt.columns().map((c) => c.name).join(" | "));
  for (const row of stmt.raw().all(...params)) {
    console.log("  " + row.map((v) => (v === null ? "" : String(v))).join(" | "));
  }
}

show("Metrics:", "SELECT name, type, unit, total_sample_count, estimated_active_series FROM metrics ORDER BY name");
show("Which services send each span:",
     "SELECT span_name, service_name, sample_count FROM span_services ORDER BY span_name, service_name");
show("Keys of each span name:",
     "SELECT span_name, key_scope, key_name, key_count, key_percentage, estimated_cardinality, value_samples " +
     "FROM span_keys ORDER BY span_name, key_scope, key_name");
show("Log body templates:",
     "SELECT severity, service_name, template, count FROM log_body_templates ORDER BY count DESC, template");

const doc = JSON.parse(db.prepare("SELECT document FROM metric_metadata WHERE name = ?").pluck().get("my.gauge"));
console.log("\nThe document of metric my.gauge:");
console.log(JSON.stringify(doc, null, 2));

// Sketches come back as Buffers and go back in as parameters.
const sketch = db.prepare("SELECT hll_sketch FROM span_keys WHERE key_name = 'service.name'").pluck().get();
console.log(`\nservice.name sketch: ${sketch.length} bytes, hll_count = ${db.prepare("SELECT hll_count(?)").pluck().get(sketch)}`);

try {
  ingestJson.run(fixture("trace.pb"));                      // protobuf without its signal
} catch (e) {
  console.log("\nA protobuf payload without its signal:", e.message);
}
db.close();
