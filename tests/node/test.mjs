// otelcat in Node through better-sqlite3@12. Run: node --test test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ext = path.join(root, "dist", "otelcat");

function open() {
  const db = new Database(":memory:");
  db.loadExtension(ext);
  return db;
}
const one = (db, sql, ...p) => db.prepare(sql).pluck().get(...p);
const series = (n) => `WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < ${n})`;

test("loads and reports its version", () => {
  const db = open();
  assert.match(one(db, "SELECT otelcat_version()"), /^v\d+\.\d+\.\d+/);
  assert.match(one(db, "SELECT otelcat_debug()"), new RegExp("SQLite: " + one(db, "SELECT sqlite_version()")));
});

test("sketches count, merge and round-trip as Buffers", () => {
  const db = open();
  const a = one(db, `${series(20000)} SELECT hll_sketch(v) FROM s`);
  assert.ok(Buffer.isBuffer(a));
  const n = one(db, "SELECT hll_count(?)", a);
  assert.ok(Math.abs(n - 20000) < 20000 * 3 * 0.01625, `estimate ${n}`);
  const b = one(db, `${series(20000)} SELECT hll_sketch(v + 10000) FROM s`);
  const u = one(db, "SELECT hll_count(hll_merge(?, ?))", a, b);
  assert.ok(Math.abs(u - 30000) < 30000 * 3 * 0.01625, `union ${u}`);
  assert.equal(JSON.parse(one(db, "SELECT hll_info(?)", a)).lg_k, 12);
});

test("samples", () => {
  const db = open();
  assert.equal(one(db, `SELECT json_samples_merge('["a","b"]', '["b","c"]')`), '["a","b","c"]');
  assert.equal(one(db, `${series(50)} SELECT json_samples(v % 4) FROM s`), "[1,2,3,0]");
});

test("bad input is an SQL error naming the function, and the process lives", () => {
  const db = open();
  assert.throws(() => one(db, "SELECT hll_count('abc')"), /hll_count: argument 1 is not an HLL sketch/);
  assert.throws(() => one(db, "SELECT hll_count(?)", Buffer.from([1, 2, 3])), /hll_count: argument 1 is not an HLL sketch/);
  assert.throws(() => one(db, "SELECT json_samples_merge('{}', NULL)"), /json_samples_merge: argument 1 is not a JSON array/);
  assert.throws(() => one(db, "SELECT hll_sketch(1, 99)"), /hll_sketch: argument 2 \(lg_k\) must be from 4 to 21/);
  assert.equal(one(db, "SELECT hll_count(hll_add(NULL, 'x'))"), 1);
});
