//! The OTLP decoders' test oracle, tests/decoders/testdata.rs (the
//! decoder tests' own), included as it is: it uses only the extension's
//! public OTLP types.

#[allow(dead_code, clippy::all)]
#[path = "../../tests/decoders/testdata.rs"]
pub mod testdata;
