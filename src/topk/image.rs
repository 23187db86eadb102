//! The image of a frequent items sketch (DataSketches' serialization of
//! `ItemsSketch<String>`, docs/FORMAT.md): its preamble's fields, the check
//! of every field ([`parse`]) and the checked image read in place
//! ([`View`]: the rows of `topk_values`, the estimate of one value, the
//! information of `topk_info`, the crate's sketch of it).

use super::{MAX_LG_MAX, MAX_WEIGHT, MIN_LG_MAX, Sketch, epsilon};

/// DataSketches' family id of frequent items sketches, and its serial version.
pub(super) const FAMILY: u8 = 10;
const HLL_FAMILY: u8 = 7;
pub(super) const SERIAL_VERSION: u8 = 1;
/// Preamble sizes in 8-byte words: empty, and non-empty.
const PRE_LONGS_EMPTY: u8 = 1;
pub(super) const PRE_LONGS_FULL: u8 = 4;
/// Flags bits 0 and 2 both mean "empty" (DataSketches keeps both for
/// compatibility).
const EMPTY_FLAGS: u8 = 5;

/// The number of values a map of 2^lg counters holds (load factor 3/4).
fn capacity(lg: u8) -> usize {
    3 * (1usize << lg) / 4
}

/// The log2 of the smallest map that holds `n` values (at least
/// [`MIN_LG_MAX`]).
pub(super) fn map_lg_for(n: usize) -> u8 {
    let mut lg = MIN_LG_MAX;
    while capacity(lg) < n {
        lg += 1;
    }
    lg
}

/// The image of a frequent-items sketch given by its fields (docs/FORMAT.md,
/// "Top values"): a map of at most 2^`lg_max` counters holding `items` (each
/// value once, a count above 0; at most 0.75 × 2^`lg_max` of them), the sum
/// of every count it was given (`total_weight`, at least the counts plus
/// `offset`) and its maximum error (`offset`). For summaries that count as
/// a DataSketches sketch does but are not the crate's (`otlp_ingest`'s
/// per-batch tables of a key's values). `None` when `total_weight` is 0.
/// The image is one that [`parse`] takes.
pub fn write_image(
    lg_max: u8,
    total_weight: u64,
    offset: u64,
    items: &[(&str, u64)],
) -> Option<Vec<u8>> {
    if total_weight == 0 {
        return None;
    }
    let lg_cur = map_lg_for(items.len());
    debug_assert!((MIN_LG_MAX..=MAX_LG_MAX).contains(&lg_max) && lg_cur <= lg_max);
    debug_assert!(items.iter().map(|i| i.1).sum::<u64>() + offset <= total_weight);
    let len: usize = items.iter().map(|(v, _)| 12 + v.len()).sum();
    let mut img = Vec::with_capacity(32 + len);
    img.extend_from_slice(&[
        PRE_LONGS_FULL,
        SERIAL_VERSION,
        FAMILY,
        lg_max,
        lg_cur,
        0,
        0,
        0,
    ]);
    img.extend_from_slice(&(items.len() as u32).to_le_bytes());
    img.extend_from_slice(&[0; 4]);
    img.extend_from_slice(&total_weight.to_le_bytes());
    img.extend_from_slice(&offset.to_le_bytes());
    for &(_, c) in items {
        img.extend_from_slice(&c.to_le_bytes());
    }
    for &(v, _) in items {
        img.extend_from_slice(&(v.len() as u32).to_le_bytes());
        img.extend_from_slice(v.as_bytes());
    }
    Some(img)
}

/// A checked image, read in place.
#[derive(Debug, Clone)]
pub struct View<'a> {
    pub lg_max: u8,
    pub lg_cur: u8,
    /// The sum of every count the sketch was given.
    pub total_weight: u64,
    /// DataSketches' offset: the maximum error of every count.
    pub offset: u64,
    /// The tracked values and their counters (lower bounds), in image order.
    pub items: Vec<(&'a str, u64)>,
}

/// One row of `topk_values` (serialized in this field order).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row<'a> {
    pub value: &'a str,
    /// DataSketches' estimate: the upper bound.
    pub count: u64,
    pub lower: u64,
    pub upper: u64,
}

/// Which values `topk_values` lists (DataSketches' `ErrorType`, with the
/// maximum error as the threshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every tracked value (upper bound above the maximum error): no value
    /// that occurred more than maximum_error times is missing.
    NoFalseNegatives,
    /// Only values whose lower bound is above the maximum error: each surely
    /// occurred more often than any value the sketch dropped.
    NoFalsePositives,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Checks an image field by field and reads it in place. The error says
/// why, for the caller to prefix with the function and argument.
///
/// What is taken is exactly what a DataSketches writer can produce: family
/// 10, serial version 1, a preamble of 1 (empty) or 4 words whose empty flag
/// agrees, 3 ≤ lg_cur_map_size ≤ lg_max_map_size ≤ 14, at most
/// 0.75 × 2^lg_cur_map_size items, a total weight from 1 to 2^63 − 1, every
/// count above 0, the counts plus the offset (maximum error) no more than the
/// total weight (every purge removes at least what it adds to the offset),
/// items of valid UTF-8 each listed once, and no byte after the last item.
/// Memory and time are proportional to the image's length, never to a
/// declared size.
pub fn parse(bytes: &[u8]) -> std::result::Result<View<'_>, String> {
    if bytes.is_empty() {
        return Err("empty blob".into());
    }
    if bytes.len() < 8 {
        return Err(format!(
            "{} bytes, shorter than the 8-byte preamble",
            bytes.len()
        ));
    }
    match bytes[2] {
        FAMILY => {}
        HLL_FAMILY => {
            return Err(format!(
                "family byte is {HLL_FAMILY}, an HLL sketch (read it with the hll_* functions), not {FAMILY} (frequent items)"
            ));
        }
        f => return Err(format!("family byte is {f}, not {FAMILY} (frequent items)")),
    }
    if bytes[1] != SERIAL_VERSION {
        return Err(format!(
            "serial version {} is not {SERIAL_VERSION}",
            bytes[1]
        ));
    }
    let pre_longs = bytes[0] & 0x3f;
    if pre_longs != PRE_LONGS_EMPTY && pre_longs != PRE_LONGS_FULL {
        return Err(format!(
            "preamble of {pre_longs} words, neither {PRE_LONGS_EMPTY} (empty) nor {PRE_LONGS_FULL}"
        ));
    }
    let (lg_max, lg_cur) = (bytes[3], bytes[4]);
    if !(MIN_LG_MAX..=MAX_LG_MAX).contains(&lg_max) {
        return Err(format!(
            "lg_max_map_size {lg_max} is outside {MIN_LG_MAX}..{MAX_LG_MAX} (otelcat reads maps of 8 to 16384 counters)"
        ));
    }
    if lg_cur < MIN_LG_MAX || lg_cur > lg_max {
        return Err(format!(
            "lg_cur_map_size {lg_cur} is outside {MIN_LG_MAX}..{lg_max} (lg_max_map_size)"
        ));
    }
    let empty = pre_longs == PRE_LONGS_EMPTY;
    if (bytes[5] & EMPTY_FLAGS != 0) != empty {
        return Err(format!(
            "the empty flag ({}) contradicts the preamble size ({pre_longs} words)",
            bytes[5] & EMPTY_FLAGS != 0
        ));
    }
    if empty {
        if bytes.len() != 8 {
            return Err(format!(
                "{} bytes after the preamble of an empty sketch",
                bytes.len() - 8
            ));
        }
        return Ok(View {
            lg_max,
            lg_cur,
            total_weight: 0,
            offset: 0,
            items: Vec::new(),
        });
    }
    let (Some(n), Some(total_weight), Some(offset)) =
        (u32_at(bytes, 8), u64_at(bytes, 16), u64_at(bytes, 24))
    else {
        return Err(format!(
            "truncated: {} bytes, shorter than the 32-byte preamble of a non-empty sketch",
            bytes.len()
        ));
    };
    let n = n as usize;
    if n > capacity(lg_cur) {
        return Err(format!(
            "{n} items, more than the {} a map of 2^{lg_cur} counters holds",
            capacity(lg_cur)
        ));
    }
    if total_weight == 0 {
        return Err("total weight 0 in a non-empty sketch".into());
    }
    if total_weight > MAX_WEIGHT {
        return Err(format!(
            "total weight {total_weight} is above 2^63 - 1 (counts are SQL integers)"
        ));
    }
    if offset > total_weight {
        return Err(format!(
            "maximum error {offset} is above the total weight {total_weight}"
        ));
    }
    // n ≤ 12 288: no overflow.
    let items_at = 32 + 8 * n;
    if bytes.len() < items_at {
        return Err(format!(
            "truncated: {n} counts need {} bytes, {} left",
            8 * n,
            bytes.len() - 32
        ));
    }
    let mut counts = Vec::with_capacity(n);
    let mut sum = offset;
    for i in 0..n {
        let c = u64_at(bytes, 32 + 8 * i).expect("length checked above");
        if c == 0 {
            return Err(format!("item {i} has a count of 0"));
        }
        sum = sum.saturating_add(c);
        counts.push(c);
    }
    if sum > total_weight {
        return Err(format!(
            "the counts plus the maximum error ({sum}) exceed the total weight {total_weight}"
        ));
    }
    let mut items = Vec::with_capacity(n);
    // ahash: random keys (values from a stranger cannot flood it).
    let mut seen = ahash::AHashSet::with_capacity(n);
    let mut at = items_at;
    for (i, c) in counts.into_iter().enumerate() {
        let len = u32_at(bytes, at).ok_or_else(|| format!("truncated at item {i}"))? as usize;
        let s = bytes
            .get(at + 4..)
            .and_then(|rest| rest.get(..len))
            .ok_or_else(|| {
                format!(
                    "truncated: item {i} is {len} bytes long, {} left",
                    bytes.len() - at - 4
                )
            })?;
        let s = std::str::from_utf8(s).map_err(|_| format!("item {i} is not valid UTF-8"))?;
        if !seen.insert(s) {
            return Err(format!("item {i} ({}) is listed twice", shown(s)));
        }
        items.push((s, c));
        at += 4 + len;
    }
    if at != bytes.len() {
        return Err(format!("{} bytes after the last item", bytes.len() - at));
    }
    Ok(View {
        lg_max,
        lg_cur,
        total_weight,
        offset,
        items,
    })
}

/// A value as an error message shows it: quoted, cut at 40 characters.
pub(super) fn shown(s: &str) -> String {
    let cut: String = s.chars().take(40).collect();
    if cut.len() < s.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

impl<'a> View<'a> {
    pub fn is_empty(&self) -> bool {
        self.total_weight == 0
    }

    /// The crate's sketch of a checked image (`bytes` is the image `self`
    /// was parsed from). The map is allocated for the items the image
    /// holds, not for the lg_cur_map_size it declares: same counts, same
    /// bounds (the map grows as values arrive).
    pub fn to_sketch(&self, bytes: &[u8]) -> std::result::Result<Sketch, String> {
        let mut img = bytes.to_vec();
        img[4] = self.map_lg_for_items();
        Sketch::deserialize(&img).map_err(|e| e.to_string())
    }

    /// The log2 of the map [`to_sketch`](Self::to_sketch) reads the image
    /// into: the smallest that holds its items, at most its lg_cur_map_size.
    pub(super) fn map_lg_for_items(&self) -> u8 {
        map_lg_for(self.items.len()).min(self.lg_cur)
    }

    /// The upper bound of `value`'s count; 0 when it is not tracked (it then
    /// occurred at most `offset` times).
    pub fn estimate(&self, value: &str) -> u64 {
        self.items
            .iter()
            .find(|(v, _)| *v == value)
            .map_or(0, |&(_, c)| c + self.offset)
    }

    /// The tracked values that `mode` lists, by descending count, then by
    /// value (byte order), at most `n`.
    pub fn rows(&self, mode: Mode, n: usize) -> Vec<Row<'a>> {
        let mut rows: Vec<Row> = self
            .items
            .iter()
            .filter(|&&(_, c)| mode == Mode::NoFalseNegatives || c > self.offset)
            .map(|&(value, c)| Row {
                value,
                count: c + self.offset,
                lower: c,
                upper: c + self.offset,
            })
            .collect();
        let order = |a: &Row, b: &Row| b.count.cmp(&a.count).then(a.value.cmp(b.value));
        if n < rows.len() {
            // The first n in order, then only those sorted.
            if n > 0 {
                rows.select_nth_unstable_by(n - 1, order);
            }
            rows.truncate(n);
        }
        rows.sort_unstable_by(order);
        rows
    }

    /// `topk_values`' JSON.
    pub fn rows_json(&self, mode: Mode, n: usize) -> String {
        serde_json::to_string(&self.rows(mode, n)).expect("rows serialize")
    }

    /// `topk_counts`' JSON (the catalog's `top_values`): the rows
    /// `topk_values` lists in the default mode, value and count only,
    /// `[{"value":"GET","count":7}]`.
    pub fn counts_json(&self, n: usize) -> String {
        #[derive(serde::Serialize)]
        struct Count<'a> {
            value: &'a str,
            count: u64,
        }
        let rows = self.rows(Mode::NoFalsePositives, n);
        let counts: Vec<Count> = rows
            .iter()
            .map(|r| Count {
                value: r.value,
                count: r.count,
            })
            .collect();
        serde_json::to_string(&counts).expect("counts serialize")
    }

    /// `topk_info`'s JSON.
    pub fn info_json(&self, stored_bytes: usize) -> String {
        serde_json::json!({
            "lg_max_map_size": self.lg_max,
            "max_map_size": 1u32 << self.lg_max,
            "epsilon": epsilon(self.lg_max),
            "total_weight": self.total_weight,
            "maximum_error": self.offset,
            "num_items": self.items.len(),
            "empty": self.is_empty(),
            "serial_version": SERIAL_VERSION,
            "bytes": stored_bytes,
        })
        .to_string()
    }
}
