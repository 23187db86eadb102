//! Target `otlp_ingest`: payloads into an in-memory catalog whose tables
//! the input damages first ("a database file from a stranger").
//!
//! Each run starts a new in-memory database with otelcat loaded, holding a
//! copy of the catalog made from the example payloads of every signal
//! (tests/fixtures/otlp), so that every table has rows. Input:
//!
//! - byte 0: the number of mutations (0–3, bits 0–1);
//! - per mutation: an operation byte (below 128 one of [`MUTATIONS`], from
//!   128 one of [`MORE`], each list taken modulo its length, so that kept
//!   inputs keep their meaning when [`MORE`] grows), a length byte L and L
//!   bytes of parameter (bound as a BLOB, as UTF-8 text read lossily, or as
//!   the little-endian integer of its first 8 bytes, as the statement
//!   wants);
//! - then payloads until the input ends: a kind byte (bits 0–1: OTLP/JSON,
//!   or protobuf traces, metrics, logs; bit 2: say the signal in the
//!   `signal` column; bit 3: inside BEGIN … COMMIT; bit 4: gzip-compressed
//!   before it goes in), a little-endian u16 length and that many bytes.
//!
//! Property: the process never aborts or hangs (libFuzzer reports both);
//! every statement succeeds or fails with a clear error (not empty, not a
//! panic caught by a guard); after everything, a fresh valid payload still
//! ingests or fails with a clear error, and it ingests when nothing was
//! damaged.

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::sql::{self, assert_clear};

const SEEDS: &[(&[u8], &str)] = &[
    (
        include_bytes!("../../tests/fixtures/otlp/trace.json"),
        "traces",
    ),
    (
        include_bytes!("../../tests/fixtures/otlp/metrics.json"),
        "metrics",
    ),
    (
        include_bytes!("../../tests/fixtures/otlp/logs.json"),
        "logs",
    ),
    (
        include_bytes!("../../tests/fixtures/otlp/events.json"),
        "logs",
    ),
];

/// How a mutation's parameter is bound.
#[derive(Clone, Copy)]
enum P {
    Blob,
    Text,
    Int,
}

/// Damage a stranger's catalog file can carry: sketches that are not
/// sketches (or damaged ones), sample lists that are not arrays, huge or
/// negative counts, Drain models whose rows do not parse, odd meta rows.
const MUTATIONS: &[(&str, P)] = &[
    ("UPDATE span_key_rows SET hll_sketch = ?1", P::Blob),
    ("UPDATE metric_key_rows SET hll_sketch = ?1", P::Blob),
    ("UPDATE log_key_rows SET hll_sketch = ?1", P::Blob),
    ("UPDATE metrics SET series_sketch = ?1", P::Blob),
    ("UPDATE span_name_patterns SET names_sketch = ?1", P::Blob),
    (
        "UPDATE span_key_rows SET hll_sketch = substr(hll_sketch, 1, ?1)",
        P::Int,
    ),
    (
        "UPDATE metric_key_rows SET hll_sketch = hll_sketch || ?1",
        P::Blob,
    ),
    ("UPDATE span_key_rows SET hll_sketch = ?1", P::Text),
    ("UPDATE span_key_rows SET value_samples = ?1", P::Text),
    ("UPDATE metric_key_rows SET value_samples = ?1", P::Text),
    ("UPDATE log_key_rows SET value_samples = ?1", P::Text),
    ("UPDATE span_key_rows SET value_samples = ?1", P::Int),
    ("UPDATE log_key_rows SET value_samples = ?1", P::Blob),
    ("UPDATE spans SET total_sample_count = ?1", P::Int),
    ("UPDATE span_key_rows SET key_count = ?1", P::Int),
    ("UPDATE metrics SET total_sample_count = ?1", P::Int),
    ("UPDATE logs SET total_sample_count = ?1", P::Int),
    ("UPDATE log_body_template_rows SET count = ?1", P::Int),
    ("UPDATE log_body_template_rows SET cluster_id = ?1", P::Int),
    (
        "UPDATE span_key_rows SET first_seen = ?1, last_seen = ?1",
        P::Text,
    ),
    ("UPDATE metrics SET type = ?1", P::Text),
    ("UPDATE spans SET event_count = ?1, link_count = ?1", P::Int),
    ("UPDATE otelcat_drain_clusters SET tokens = ?1", P::Text),
    ("UPDATE otelcat_drain_clusters SET path = ?1", P::Text),
    (
        "UPDATE otelcat_drain_clusters SET size = ?1, last_used = ?1",
        P::Int,
    ),
    ("UPDATE otelcat_drain_clusters SET cluster_id = ?1", P::Int),
    ("UPDATE otelcat_drain_clusters SET example = ?1", P::Blob),
    ("UPDATE otelcat_drain_partitions SET config = ?1", P::Text),
    ("UPDATE otelcat_drain_partitions SET layout = ?1", P::Int),
    ("DELETE FROM otelcat_drain_partitions", P::Int),
    ("UPDATE otelcat_meta SET value = ?1", P::Text),
    (
        "INSERT OR REPLACE INTO otelcat_meta(key, value) VALUES ('drain_default_config', ?1)",
        P::Text,
    ),
];

/// Damage added later (ops 128–255): Drain rows one column at a time (in
/// range but contradicting each other), seeded templates, the ids of
/// reset partitions, clusters that log templates and span patterns point
/// to but that are gone.
const MORE: &[(&str, P)] = &[
    ("UPDATE otelcat_drain_clusters SET size = ?1", P::Int),
    ("UPDATE otelcat_drain_clusters SET last_used = ?1", P::Int),
    (
        "UPDATE otelcat_drain_clusters SET cluster_id = cluster_id + ?1",
        P::Int,
    ),
    (
        "UPDATE otelcat_drain_clusters SET tokens = '{\"seed\":' || tokens || '}', size = ?1",
        P::Int,
    ),
    (
        "UPDATE otelcat_drain_clusters SET tokens = ?1 WHERE cluster_id = 1",
        P::Text,
    ),
    (
        "UPDATE otelcat_drain_clusters SET path = tokens, tokens = ?1",
        P::Text,
    ),
    (
        "DELETE FROM otelcat_drain_clusters WHERE cluster_id % 2 = ?1",
        P::Int,
    ),
    (
        "INSERT OR REPLACE INTO otelcat_drain_ids(partition, last_id) \
         SELECT partition, ?1 FROM otelcat_drain_partitions",
        P::Int,
    ),
    (
        "UPDATE otelcat_drain_partitions SET config = json_set(config, '$.masks', json(?1))",
        P::Text,
    ),
    ("UPDATE otelcat_drain_partitions SET layout = 1", P::Int),
    ("UPDATE log_body_template_rows SET template = ?1", P::Text),
    ("UPDATE span_name_patterns SET cluster_id = ?1", P::Int),
    ("UPDATE metric_key_rows SET key_count = ?1", P::Int),
    ("UPDATE log_key_rows SET hll_sketch = ?1", P::Text),
];

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
}

fn param(p: P, bytes: &[u8]) -> Value {
    match p {
        P::Blob => Value::Blob(bytes.to_vec()),
        P::Text => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        P::Int => {
            let mut w = [0u8; 8];
            w[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
            Value::Integer(i64::from_le_bytes(w))
        }
    }
}

/// Runs `sql`; an error must be clear. True when it succeeded.
fn run(db: &Connection, what: &str, sql: &str, params: impl rusqlite::Params) -> bool {
    match db.execute(sql, params) {
        Ok(_) => true,
        Err(e) => {
            assert_clear(what, &e);
            if std::env::var_os("OTELCAT_FUZZ_VERBOSE").is_some() {
                eprintln!("{what}: {e}");
            }
            false
        }
    }
}

fn ingest(db: &Connection, payload: &[u8], signal: Option<&str>) -> bool {
    match signal {
        Some(s) => run(
            db,
            "otlp_ingest",
            "INSERT INTO otlp_ingest(payload, signal) VALUES (?1, ?2)",
            (payload, s),
        ),
        None => run(
            db,
            "otlp_ingest",
            "INSERT INTO otlp_ingest(payload) VALUES (?1)",
            [payload],
        ),
    }
}

thread_local! {
    /// The catalog of the seed payloads, built once; each run copies it.
    static SEEDED: Connection = {
        let db = sql::connect();
        for (payload, signal) in SEEDS {
            db.execute(
                "INSERT INTO otlp_ingest(payload, signal) VALUES (?1, ?2)",
                (payload, signal),
            )
            .expect("a seed payload");
        }
        db
    };
}

pub fn otlp_ingest(data: &[u8]) {
    // A new connection (no model or statement cached from earlier runs)
    // on a copy of the seeded catalog (its Drain models are read back from
    // their tables on first use).
    let mut db = sql::connect();
    SEEDED.with(|seeded| {
        rusqlite::backup::Backup::new(seeded, &mut db)
            .and_then(|b| b.run_to_completion(1 << 20, std::time::Duration::ZERO, None))
            .expect("copy of the seeded catalog");
    });
    let mut input = Input(data);
    let n = input.byte().unwrap_or(0) & 3;
    let mut damaged = false;
    for _ in 0..n {
        let (Some(op), Some(len)) = (input.byte(), input.byte()) else {
            break;
        };
        let (sql, p) = match op {
            0..128 => MUTATIONS[op as usize % MUTATIONS.len()],
            _ => MORE[(op - 128) as usize % MORE.len()],
        };
        let value = param(p, input.bytes(len as usize));
        let params: &[&dyn rusqlite::ToSql] = if sql.contains("?1") { &[&value] } else { &[] };
        damaged |= run(&db, sql, sql, params);
    }
    while let Some(kind) = input.byte() {
        let len = u16::from_le_bytes([input.byte().unwrap_or(0), input.byte().unwrap_or(0)]);
        let mut payload = input.bytes(len as usize).to_vec();
        if kind & 16 != 0 {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&payload).expect("gzip in memory");
            payload = gz.finish().expect("gzip in memory");
        }
        let signal = ["json", "traces", "metrics", "logs"][kind as usize & 3];
        let say = kind & 4 != 0 || signal != "json";
        let txn = kind & 8 != 0;
        if txn {
            db.execute_batch("BEGIN").expect("BEGIN");
        }
        let ok = ingest(&db, &payload, say.then_some(signal));
        if txn {
            if ok {
                run(&db, "COMMIT", "COMMIT", []);
            }
            if !db.is_autocommit() {
                db.execute_batch("ROLLBACK").expect("ROLLBACK");
            }
        }
    }
    // A fresh valid payload: ingested, or refused with a clear error (a
    // damaged row can make it fail); ingested when nothing was damaged.
    let (fresh, signal) = SEEDS[0];
    let ok = ingest(&db, fresh, Some(signal));
    assert!(
        ok || damaged,
        "a valid payload failed in an undamaged catalog"
    );
    // The catalog's views and functions still answer (or fail clearly).
    for q in [
        "SELECT count(*), sum(hll_count(hll_sketch)) FROM span_keys",
        "SELECT json_samples_merge(value_samples, '[\"x\"]') FROM log_keys",
        "SELECT count(*), max(length(document)) FROM span_metadata",
        "SELECT count(*) FROM key_cardinality",
    ] {
        if let Err(e) = db.query_row(q, [], |r| r.get::<_, Value>(0)) {
            assert_clear(q, &e);
        }
    }
}
