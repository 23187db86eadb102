//! In-process baseline for `make bench-ingest`: the same decoding and
//! aggregation `otlp_ingest` does, without SQLite. Reads frame files written
//! by `otlp_gen` (u32 little-endian length + one export request), decodes
//! each request, aggregates it into a batch per N requests (log bodies
//! templated by in-memory Drain models, one per severity and service, as the
//! ingest does), and prints the records and the CPU-bound wall time.
//!
//!   cargo run --release --example ingest_baseline -- --signal traces --format proto --per-txn 20 FILE

use std::collections::HashMap;
use std::time::Instant;

use otelcat::drain::engine::{Drain, DrainConfig};
use otelcat::ingest::batch::{Batch, Templater};
use otelcat::ingest::templates::{PartitionNames, log_partition};
use otelcat::otlp::{self, Encoding, Limits, Signal};

/// Models per partition, named as otlp_ingest names them, and found as it
/// finds them: by where the record's service name lies in the payload
/// (`recent`, otlp_ingest's [`PartitionNames`], cleared for each payload),
/// the name built and looked up once per resource block and severity.
#[derive(Default)]
struct Models {
    index: HashMap<String, usize>,
    drains: Vec<Drain>,
    recent: PartitionNames<usize>,
}

impl Templater for Models {
    fn train(
        &mut self,
        severity: &str,
        service: &str,
        body: &str,
    ) -> Result<(u64, Vec<u64>), String> {
        let i = match self.recent.get(severity, service) {
            Some(&i) => i,
            None => {
                let name = log_partition(severity, service);
                let n = self.drains.len();
                let i = *self.index.entry(name).or_insert(n);
                if i == n {
                    self.drains.push(Drain::new(DrainConfig::default()));
                }
                self.recent.insert(severity, service, i);
                i
            }
        };
        let t = self.drains[i].train(body);
        Ok((t.cluster_id, t.merged))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut signal = Signal::Traces;
    let mut json = false;
    let mut per_txn = 20usize;
    let mut file = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--signal" => {
                signal = args[i + 1].parse().expect("traces, metrics or logs");
                i += 1;
            }
            "--format" => {
                json = args[i + 1] == "json";
                i += 1;
            }
            "--per-txn" => {
                per_txn = args[i + 1].parse().expect("a number");
                i += 1;
            }
            f => file = Some(f.to_string()),
        }
        i += 1;
    }
    let data = std::fs::read(file.expect("a frame file")).expect("readable file");
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 4 <= data.len() {
        let n = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        frames.push(&data[at + 4..at + 4 + n]);
        at += 4 + n;
    }
    let encoding = if json {
        Encoding::Json
    } else {
        Encoding::Protobuf(signal)
    };
    let limits = Limits::default();
    let mut models = Models::default();
    let started = Instant::now();
    let mut records = 0u64;
    let mut keys = 0usize;
    let mut spare = Vec::new();
    for chunk in frames.chunks(per_txn) {
        let mut batch = Batch::default();
        for f in chunk {
            let mut events = otlp::recycle(std::mem::take(&mut spare), false);
            let s = otlp::decode(f, encoding, &limits, &mut events).expect("valid payload");
            records += (s.spans + s.data_points + s.logs) as u64;
            // As otlp_ingest does: straight into the transaction's batch.
            models.recent.clear();
            batch
                .apply(&events, 1_780_000_000, &mut models, 1000, usize::MAX)
                .expect("aggregates");
            spare = otlp::recycle(events, s.owns_heap);
        }
        keys += batch.key_entries;
        std::hint::black_box(&batch);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"records\": {records}, \"seconds\": {secs:.6}, \"records_per_s\": {:.0}, \"key_entries\": {keys}}}",
        records as f64 / secs
    );
}
