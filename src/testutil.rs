//! Helpers shared by the unit tests.

use crate::otlp::{Encoding, Event, Limits, decode};

/// The events of an OTLP/JSON text that must decode.
pub fn json_events(text: &str) -> Vec<Event<'_>> {
    let mut out = Vec::new();
    decode(
        text.as_bytes(),
        Encoding::Json,
        &Limits::default(),
        &mut out,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// Deterministic pseudo-random numbers (xorshift64) for the randomised
/// tests: the same seed gives the same inputs on every run.
pub struct XorShift(u64);

impl XorShift {
    /// `seed` must not be 0.
    pub fn new(seed: u64) -> Self {
        assert_ne!(seed, 0, "xorshift needs a non-zero seed");
        XorShift(seed)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `m`.
    pub fn below(&mut self, m: u64) -> u64 {
        self.next() % m
    }
}
