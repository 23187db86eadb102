//! The OTLP decoders' test oracle, src/otlp/testdata.rs, included as it is
//! (it is private to the extension's unit tests): its `super::` items are
//! the extension's public OTLP types.

pub use otelcat::otlp::{AnyValue, Attr, Event, MetricKind, Signal, SpanKind, Temporality};

#[allow(dead_code, clippy::all)]
#[path = "../../src/otlp/testdata.rs"]
pub mod testdata;
