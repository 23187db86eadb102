//! The OTLP decoders through their public interface (`otlp::decode`),
//! checked against an independent oracle: requests built with the prost
//! types of opentelemetry-proto (`testdata.rs`), encoded to protobuf by
//! prost and written as JSON with the quirks senders have, must decode to
//! the same events in both encodings; the fixtures in tests/fixtures/otlp/
//! (the official OTLP examples) likewise.
//!
//!   cargo test --release --test decoders

// `crate::otlp` for the shared unit-test helpers of src/testutil.rs.
use otelcat::otlp;

mod json;
mod protobuf;
mod size;
mod testdata;
#[path = "../../src/testutil.rs"]
mod testutil;
