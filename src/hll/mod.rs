//! HyperLogLog sketch functions: `hll_sketch`, `hll_add`, `hll_merge`,
//! `hll_count`, `hll_info`.
//!
//! Sketches are Apache DataSketches HLL sketches (the `datasketches` crate).
//! A stored sketch is the compact DataSketches serialization of an HLL_4
//! sketch, readable by every DataSketches library (Java, C++, Python's
//! `datasketches.hll_sketch.deserialize`, Rust). SQL values are hashed as
//! DataSketches hashes their type ([`Value`]); the catalog hashes OTLP
//! values as the bytes of their text form (`text.rs`). See docs/FORMAT.md.

use datasketches::common::NumStdDev;
use datasketches::hash::value::{canonical_float, raw_bytes};
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

/// A value as the DataSketches libraries hash it (docs/FORMAT.md, section
/// 1): a long as its 8 little-endian bytes (Java `update(long)`, C++
/// `update(int64_t)`), a double as the 8 bytes of its bits with -0.0 read
/// as 0.0 and every NaN as Java's canonical NaN (`update(double)`), text as
/// its UTF-8 bytes (`update(String)`), bytes as they are (`update(byte[])`).
/// One difference: empty text or bytes are a value here (the empty OTLP
/// value is one in the catalog); DataSketches' `update` skips them.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    Long(i64),
    Double(f64),
    Bytes(&'a [u8]),
}

/// Adds one value, hashed by its type.
#[inline]
pub fn update_value(union: &mut HllUnion, v: Value) {
    match v {
        Value::Long(i) => update_bytes(union, &i.to_le_bytes()),
        Value::Double(d) => union.update_value(canonical_float::from_f64(d)),
        Value::Bytes(b) => update_bytes(union, b),
    }
}

/// The estimate rounded to an integer, as `hll_count` returns it: what
/// every DataSketches library's `getEstimate()` gives for the image (HIP
/// for a dense image built in one pass and flagged in-order, the composite
/// estimate of the registers otherwise; see docs/FORMAT.md). Saturates at
/// `i64::MAX`.
pub fn count(s: &HllSketch) -> i64 {
    s.estimate().round() as i64
}

/// `hll_info` document of an image (`img`) and its decoded sketch (`s`):
/// the image's own lg_k, target type and mode; estimate and bounds as
/// DataSketches gives them (the estimate is `hll_count`'s, unrounded).
pub fn info_json(s: &HllSketch, img: &[u8]) -> String {
    let mode = match image::mode_and_type(img).0 {
        image::MODE_LIST => "LIST",
        image::MODE_SET => "SET",
        _ => "HLL",
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
        "bytes": img.len(),
    })
    .to_string()
}
