//! HyperLogLog sketch functions: `hll_sketch`, `hll_add`, `hll_merge`,
//! `hll_count`, `hll_info`.
//!
//! Sketches are Apache DataSketches HLL sketches (the `datasketches` crate).
//! A stored sketch is the compact DataSketches serialization of an HLL_4
//! sketch, readable by every DataSketches library (Java, C++, Python's
//! `datasketches.hll_sketch.deserialize`, Rust). Values are hashed as the
//! bytes of their text form (see `text.rs` and docs/FORMAT.md).

use datasketches::common::NumStdDev;
use datasketches::hash::value::raw_bytes;
use datasketches::hll::{HllSketch, HllType, HllUnion};

/// Default log2 of the number of registers: 4096 registers, relative
/// standard error ≈ 1.04/√4096 = 1.6 %, dense HLL_4 image ≈ 2.1 KiB.
pub const DEFAULT_LG_K: u8 = 12;
pub const MIN_LG_K: u8 = 4;
pub const MAX_LG_K: u8 = 21;
/// The stored register width: 4 bits (plus an exception table), the most
/// compact of the three DataSketches HLL types and Python's default.
pub const STORED_TYPE: HllType = HllType::Hll4;

mod builder;
pub mod check;
mod image;
pub mod murmur3;
#[cfg(any(test, feature = "fuzzing"))]
pub mod property;
mod sql;
mod stored;
#[cfg(test)]
mod tests;
mod union;

pub use builder::Builder;
pub use image::{decode, encode, encode_union};
pub use murmur3::{Murmur3, coupon_of, murmur3_x64_128};
pub use sql::register;
pub use union::{Merger, Union, merge_stored};

/// Adds the bytes of one value.
#[inline]
pub fn update_bytes(union: &mut HllUnion, bytes: &[u8]) {
    union.update_value(raw_bytes::from_slice(bytes));
}

/// The estimate rounded to an integer, as `hll_count` returns it: the
/// composite estimate (see [`encode`]), so equal registers count the same.
pub fn count(s: &HllSketch) -> i64 {
    s.composite_estimate().round() as i64
}

/// `hll_info` document. Estimate and bounds are the composite ones, as
/// `hll_count` counts, also for a foreign sketch flagged for HIP.
pub fn info_json(s: &HllSketch, stored_bytes: usize) -> String {
    let normalized = decode(&encode(s)).unwrap_or_else(|_| s.clone());
    let s = &normalized;
    let mode = {
        // The first byte of the image is the preamble size: 2 LIST, 3 SET, 10 HLL.
        let img = s.serialize();
        match img.first() {
            Some(2) => "LIST",
            Some(3) => "SET",
            _ => "HLL",
        }
    };
    let ty = match s.target_type() {
        HllType::Hll4 => "HLL_4",
        HllType::Hll6 => "HLL_6",
        HllType::Hll8 => "HLL_8",
    };
    serde_json::json!({
        "lg_k": s.lg_config_k(),
        "type": ty,
        "mode": mode,
        "empty": s.is_empty(),
        "estimate": s.estimate(),
        "lower_bound": s.lower_bound(NumStdDev::Two),
        "upper_bound": s.upper_bound(NumStdDev::Two),
        "bytes": stored_bytes,
    })
    .to_string()
}
