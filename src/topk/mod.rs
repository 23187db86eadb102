//! Frequent-items ("top values") sketch functions: `topk_sketch`,
//! `topk_sketch_weighted`, `topk_add`, `topk_merge`, `topk_values`,
//! `topk_estimate`, `topk_info`.
//!
//! A sketch is an Apache DataSketches frequent items sketch of strings (the
//! `datasketches` crate's `frequencies` feature), stored in the DataSketches
//! serialization of `ItemsSketch<String>` / `frequent_items_sketch<string>`
//! (serial version 1, family 10), so Python's
//! `datasketches.frequent_strings_sketch.deserialize` reads ours and we read
//! theirs. Values are the text form of SQL values (`text.rs`); BLOBs are
//! refused (the results are JSON text).
//!
//! The guarantee (Misra-Gries with DataSketches' purge): for every value the
//! sketch tracks, `lower ≤ true count ≤ upper = lower + maximum_error`, and
//! a value it does not track occurred at most `maximum_error` times;
//! `maximum_error ≤ 3.5 / 2^lg_max_map_size × total_weight` (the crate's
//! `EPSILON_FACTOR`), and 0 (every count exact) while fewer than
//! 0.75 × 2^lg_max_map_size distinct values were seen.
//!
//! Images are checked field by field ([`parse`]) before any function reads
//! them: an image is refused by every `topk_*` function alike, or read by
//! all of them. Reading functions (`topk_values`, `topk_estimate`,
//! `topk_info`) work on the checked image in place; merging and adding go
//! through the crate, which only ever sees checked images.
//!
//! The modules split as `src/hll/` does, the core free of FFI: the image
//! layout, its field-by-field check and the reading in place (`image.rs`:
//! [`parse`], [`View`]); the union behind `topk_merge` (`merge.rs`:
//! [`Merger`]; `replay.rs`: the crate's sketch replayed over borrowed
//! values, for the flush's two writes, [`merge_two`] and
//! [`write_crate_image`]); the SQL functions (`sql.rs`, the only module that knows
//! `ffi`); the property the fuzz target asserts (`property.rs`, feature
//! `fuzzing`: [`check_image`]); unit tests (`tests.rs`).

use datasketches::frequencies::FrequentItemsSketch;

mod image;
mod merge;
#[cfg(any(test, feature = "fuzzing"))]
mod property;
mod replay;
mod sql;
#[cfg(test)]
mod tests;

pub use image::{Mode, Row, View, parse, write_image};
pub use merge::Merger;
#[cfg(any(test, feature = "fuzzing"))]
pub use property::check_image;
pub use replay::{merge_two, write_crate_image};
pub use sql::register;

/// The crate's sketch of strings.
pub type Sketch = FrequentItemsSketch<String>;

/// Default log2 of the maximum map size: 256 counters, up to 192 distinct
/// values tracked, counts exact below that, maximum error at most
/// 3.5/256 ≈ 1.4 % of the total count.
pub const DEFAULT_LG_MAX: u8 = 8;
/// The crate's (and DataSketches') smallest map: 8 counters.
pub const MIN_LG_MAX: u8 = 3;
/// The largest map otelcat builds or reads: 16 384 counters (12 288 values,
/// maximum error at most 0.021 % of the total count). It bounds the work of
/// one update: a crafted set of values that collide in the crate's
/// linear-probing table costs at most 12 288 comparisons each.
pub const MAX_LG_MAX: u8 = 14;
/// Counts and total weights are SQL integers.
pub const MAX_WEIGHT: u64 = i64::MAX as u64;
/// How many values `topk_values` returns by default.
pub const DEFAULT_N: i64 = 10;
/// DataSketches' epsilon factor: maximum_error ≤ 3.5 / max_map_size × weight.
pub const EPSILON_FACTOR: f64 = 3.5;

/// `epsilon` of a maximum map size 2^lg_max.
pub fn epsilon(lg_max: u8) -> f64 {
    EPSILON_FACTOR / (1u64 << lg_max) as f64
}

/// The stored image of a sketch.
pub fn encode(s: &Sketch) -> Vec<u8> {
    s.serialize()
}

/// The image `topk_merge` writes for one image that [`write_image`] wrote
/// (read by the crate and written again), without the checks of [`parse`]:
/// its writer made it. `write_image` sizes the map for its items, as
/// [`View::to_sketch`] does for a merge.
#[cfg(test)]
pub fn rewrite_written(raw: &[u8]) -> std::result::Result<Vec<u8>, String> {
    Sketch::deserialize(raw)
        .map(|s| encode(&s))
        .map_err(|e| e.to_string())
}

/// An empty sketch with a map of at most 2^lg_max counters.
pub fn new_sketch(lg_max: u8) -> Sketch {
    Sketch::new(1usize << lg_max).expect("lg_max_map_size checked")
}
