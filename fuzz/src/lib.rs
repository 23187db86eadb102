//! The bodies of otelcat's fuzz targets. Each takes libFuzzer's input and
//! panics when a property fails; the binaries in `fuzz_targets/` call
//! them, and `tests/replay.rs` calls them on every kept crash input
//! (`../tests/fuzz-crashes/<target>/`) and corpus file on stable Rust.
//!
//! Targets (README, "Fuzzing"):
//! - [`hll`]: sketch images through every reader and writer;
//! - [`otlp_proto`], [`otlp_json`]: the OTLP decoders against prost and
//!   serde_json, and against each other;
//! - [`drain`]: a Drain model rebuilt from its records matches as the
//!   model did;
//! - [`samples`](samples()): `json_samples_merge`;
//! - [`topk`](topk()): frequent-items sketch images through every `topk_*`
//!   function;
//! - [`otlp_ingest`]: payloads into an in-memory catalog whose tables the
//!   input damages first.

mod drain;
mod hll;
mod ingest;
mod oracle;
mod otlp;
mod samples;
mod sql;
mod topk;

pub use drain::drain;
pub use hll::hll;
pub use ingest::otlp_ingest;
pub use otlp::{otlp_json, otlp_proto};
pub use samples::samples;
pub use topk::topk;

/// A target's body.
pub type Target = fn(&[u8]);

/// The targets by name, for the replay test.
pub const TARGETS: &[(&str, Target)] = &[
    ("hll", hll),
    ("otlp_proto", otlp_proto),
    ("otlp_json", otlp_json),
    ("drain", drain),
    ("samples", samples),
    ("otlp_ingest", otlp_ingest),
    ("topk", topk),
];
