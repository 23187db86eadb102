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

use datasketches::frequencies::FrequentItemsSketch;

use crate::ffi::{self, Aggregate, Arg, Ctx, Db, Error, Kind, Result, bail};
use crate::text;

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

/// DataSketches' family id of frequent items sketches, and its serial version.
const FAMILY: u8 = 10;
const HLL_FAMILY: u8 = 7;
const SERIAL_VERSION: u8 = 1;
/// Preamble sizes in 8-byte words: empty, and non-empty.
const PRE_LONGS_EMPTY: u8 = 1;
const PRE_LONGS_FULL: u8 = 4;
/// Flags bits 0 and 2 both mean "empty" (DataSketches keeps both for
/// compatibility).
const EMPTY_FLAGS: u8 = 5;
/// DataSketches' epsilon factor: maximum_error ≤ 3.5 / max_map_size × weight.
pub const EPSILON_FACTOR: f64 = 3.5;

/// The number of values a map of 2^lg counters holds (load factor 3/4).
fn capacity(lg: u8) -> usize {
    3 * (1usize << lg) / 4
}

/// `epsilon` of a maximum map size 2^lg_max.
pub fn epsilon(lg_max: u8) -> f64 {
    EPSILON_FACTOR / (1u64 << lg_max) as f64
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
fn shown(s: &str) -> String {
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
        let mut lg = MIN_LG_MAX;
        while capacity(lg) < self.items.len() {
            lg += 1;
        }
        let mut img = bytes.to_vec();
        img[4] = lg.min(self.lg_cur);
        Sketch::deserialize(&img).map_err(|e| e.to_string())
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

/// The stored image of a sketch.
pub fn encode(s: &Sketch) -> Vec<u8> {
    s.serialize()
}

/// An empty sketch with a map of at most 2^lg_max counters.
pub fn new_sketch(lg_max: u8) -> Sketch {
    Sketch::new(1usize << lg_max).expect("lg_max_map_size checked")
}

/// For a fuzz target (and the property tests): checks that an image is
/// either refused by [`parse`] or read consistently by everything the SQL
/// functions do with it, and that what they write reads back. Panics when
/// it is not.
pub fn check_image(bytes: &[u8]) {
    let Ok(v) = parse(bytes) else { return };
    let all = v.rows(Mode::NoFalseNegatives, usize::MAX);
    assert_eq!(all.len(), v.items.len());
    for r in &all {
        assert!(r.lower <= r.upper && r.upper <= v.total_weight, "{r:?}");
        assert_eq!(v.estimate(r.value), r.count);
    }
    for r in v.rows(Mode::NoFalsePositives, usize::MAX) {
        assert!(r.lower > v.offset);
    }
    let _ = (
        v.rows_json(Mode::NoFalsePositives, 10),
        v.info_json(bytes.len()),
    );
    let s = v
        .to_sketch(bytes)
        .unwrap_or_else(|e| panic!("parse took the image, the crate refused it: {e}"));
    assert_eq!(s.total_weight(), v.total_weight);
    assert_eq!(s.maximum_error(), v.offset);
    assert_eq!(s.num_active_items(), v.items.len());
    assert_eq!(s.lg_max_map_size(), v.lg_max);
    let again = encode(&s);
    let w = parse(&again).unwrap_or_else(|e| panic!("re-encoded image refused: {e}"));
    assert_eq!(w.rows(Mode::NoFalseNegatives, usize::MAX), all);
    assert_eq!((w.total_weight, w.offset), (v.total_weight, v.offset));
    // Merged with itself (when the doubled weight is a SQL integer): every
    // count doubles, within the bounds, and the image reads back.
    if v.total_weight <= MAX_WEIGHT / 2 {
        let mut m = Merger::default();
        m.add(&v, bytes).expect("weight checked");
        m.add(&v, bytes).expect("weight checked");
        let img = m.result().expect("two inputs");
        let d = parse(&img).unwrap_or_else(|e| panic!("merged image refused: {e}"));
        assert_eq!(d.total_weight, 2 * v.total_weight);
        for (value, c) in &v.items {
            let r = d.rows(Mode::NoFalseNegatives, usize::MAX);
            if let Some(r) = r.iter().find(|r| r.value == *value) {
                assert!(r.lower <= 2 * (c + v.offset) && 2 * c <= r.upper, "{r:?}");
            } else {
                assert!(2 * c <= d.offset);
            }
        }
    }
}

/// The union behind `topk_merge`: counts add; the result has the smallest
/// lg_max_map_size among its inputs (a larger map merged into a smaller one
/// keeps the smaller one's bound).
#[derive(Default)]
pub struct Merger {
    acc: Option<Sketch>,
}

impl Merger {
    /// Adds a checked image. Errors (a total beyond 2^63 − 1) say why.
    pub fn add(&mut self, v: &View, bytes: &[u8]) -> std::result::Result<(), String> {
        if let Some(a) = &self.acc
            && a.total_weight() + v.total_weight > MAX_WEIGHT
        {
            return Err(format!(
                "the merged total weight ({} + {}) would exceed 2^63 - 1",
                a.total_weight(),
                v.total_weight
            ));
        }
        match &mut self.acc {
            None => self.acc = Some(v.to_sketch(bytes)?),
            Some(a) if v.lg_max < a.lg_max_map_size() => {
                let mut s = v.to_sketch(bytes)?;
                s.merge(a);
                *a = s;
            }
            Some(a) => merge_view(a, v),
        }
        Ok(())
    }

    /// The merged image, `None` when nothing was added.
    pub fn result(&self) -> Option<Vec<u8>> {
        self.acc.as_ref().map(encode)
    }
}

/// `a.merge(&b)` for `b` a checked image, without decoding it into a
/// sketch (a map and a String per value): what the crate's merge does —
/// each of b's values added with its count, then b's offset and total
/// weight added — with b's values in image order. The crate adds only
/// through a sketch, so what b's counts do not account for (total weight
/// − Σ counts, at least b's offset: checked by `parse`) comes as a sketch
/// holding no value, that weight and b's offset.
fn merge_view(a: &mut Sketch, b: &View) {
    let mut counted = 0;
    for &(value, c) in &b.items {
        a.update_with_count_ref(value, c);
        counted += c;
    }
    let rest = b.total_weight - counted;
    if rest > 0 {
        let mut img = vec![
            PRE_LONGS_FULL,
            SERIAL_VERSION,
            FAMILY,
            b.lg_max,
            MIN_LG_MAX,
            0,
            0,
            0,
        ];
        img.extend_from_slice(&[0; 8]);
        img.extend_from_slice(&rest.to_le_bytes());
        img.extend_from_slice(&b.offset.to_le_bytes());
        a.merge(&Sketch::deserialize(&img).expect("offset ≤ rest: a valid image"));
    }
}

// ---------------------------------------------------------------------------
// SQL functions

/// Reads argument `pos` (1-based) of `func` as a sketch; `None` for NULL.
fn sketch_arg<'a>(func: &str, arg: Arg<'a>, pos: usize) -> Result<Option<View<'a>>> {
    match arg.kind() {
        Kind::Null => Ok(None),
        Kind::Blob => parse(arg.blob()).map(Some).map_err(|why| {
            Error::new(format!(
                "{func}: argument {pos} is not a frequent-items sketch ({why})"
            ))
        }),
        k => bail!(
            "{func}: argument {pos} is not a frequent-items sketch (got {}, expected a BLOB)",
            k.name()
        ),
    }
}

/// The text of a value argument (numbers in their text form, docs/FORMAT.md
/// section 1); `None` for NULL. BLOBs are refused: the results are JSON.
fn value_arg<'a>(
    func: &str,
    arg: Arg<'a>,
    pos: usize,
    buf: &'a mut String,
) -> Result<Option<&'a str>> {
    match arg.kind() {
        Kind::Null => Ok(None),
        Kind::Integer => {
            buf.clear();
            text::push_i64(buf, arg.i64());
            Ok(Some(buf.as_str()))
        }
        Kind::Real => {
            buf.clear();
            text::push_f64(buf, arg.f64());
            Ok(Some(buf.as_str()))
        }
        Kind::Text => arg.str(func, pos).map(Some),
        Kind::Blob => bail!(
            "{func}: argument {pos} is a BLOB; values are text (give hex(x) or CAST(x AS TEXT); topk_merge merges sketches)"
        ),
    }
}

/// Checks an lg_max_map_size argument.
fn lg_arg(func: &str, arg: Arg, pos: usize) -> Result<u8> {
    if arg.kind() != Kind::Integer {
        bail!(
            "{func}: argument {pos} (lg_max_map_size) must be an integer from {MIN_LG_MAX} to {MAX_LG_MAX}, got {}",
            arg.kind().name()
        );
    }
    let v = arg.i64();
    if !(MIN_LG_MAX as i64..=MAX_LG_MAX as i64).contains(&v) {
        bail!(
            "{func}: argument {pos} (lg_max_map_size) must be from {MIN_LG_MAX} to {MAX_LG_MAX}, got {v}"
        );
    }
    Ok(v as u8)
}

/// Checks a count argument; `None` for NULL.
fn count_arg(func: &str, arg: Arg, pos: usize) -> Result<Option<u64>> {
    match arg.kind() {
        Kind::Null => Ok(None),
        Kind::Integer if arg.i64() >= 0 => Ok(Some(arg.i64() as u64)),
        Kind::Integer => bail!(
            "{func}: argument {pos} (count) must be 0 or more, got {}",
            arg.i64()
        ),
        k => bail!(
            "{func}: argument {pos} (count) must be an integer, got {}",
            k.name()
        ),
    }
}

/// Adds `count` of `value`, or fails when the total would leave the SQL
/// integer range.
fn update(func: &str, s: &mut Sketch, value: &str, count: u64) -> Result<()> {
    if count > MAX_WEIGHT - s.total_weight() {
        bail!(
            "{func}: the total count would exceed 2^63 - 1 ({} + {count})",
            s.total_weight()
        );
    }
    s.update_with_count_ref(value, count);
    Ok(())
}

/// `topk_sketch(value [, lg_max_map_size])` (`WEIGHTED` false) and
/// `topk_sketch_weighted(value, count [, lg_max_map_size])` (true).
pub struct SketchAgg<const WEIGHTED: bool> {
    sketch: Sketch,
    lg_max: u8,
    buf: String,
}

impl<const WEIGHTED: bool> SketchAgg<WEIGHTED> {
    const NAME: &'static str = if WEIGHTED {
        "topk_sketch_weighted"
    } else {
        "topk_sketch"
    };
    /// The 0-based position of the lg_max_map_size argument.
    const LG_AT: usize = if WEIGHTED { 2 } else { 1 };
}

impl<const WEIGHTED: bool> Aggregate for SketchAgg<WEIGHTED> {
    fn new(args: &[Arg]) -> Result<Self> {
        let lg_max = match args.get(Self::LG_AT) {
            Some(&a) => lg_arg(Self::NAME, a, Self::LG_AT + 1)?,
            None => DEFAULT_LG_MAX,
        };
        Ok(SketchAgg {
            sketch: new_sketch(lg_max),
            lg_max,
            buf: String::new(),
        })
    }
    fn step(&mut self, args: &[Arg]) -> Result<()> {
        let func = Self::NAME;
        if let Some(&a) = args.get(Self::LG_AT) {
            let lg = lg_arg(func, a, Self::LG_AT + 1)?;
            if lg != self.lg_max {
                bail!(
                    "{func}: lg_max_map_size must be the same on every row ({} then {lg})",
                    self.lg_max
                );
            }
        }
        let count = if WEIGHTED {
            count_arg(func, args[1], 2)?
        } else {
            Some(1)
        };
        let Some(value) = value_arg(func, args[0], 1, &mut self.buf)? else {
            return Ok(());
        };
        match count {
            Some(c) if c > 0 => update(func, &mut self.sketch, value, c),
            _ => Ok(()),
        }
    }
    fn result(&mut self, ctx: Ctx) -> Result<()> {
        if self.sketch.is_empty() {
            ctx.null();
            return Ok(());
        }
        ctx.blob(&encode(&self.sketch))
    }
}

/// `topk_add(sketch, value [, count])`.
pub fn topk_add(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let func = "topk_add";
    let existing = sketch_arg(func, args[0], 1)?;
    let mut buf = String::new();
    let value = value_arg(func, args[1], 2, &mut buf)?;
    let count = match args.get(2) {
        Some(&a) => count_arg(func, a, 3)?,
        None => Some(1),
    };
    let (Some(value), Some(count @ 1..)) = (value, count) else {
        // Nothing to add: the sketch unchanged (NULL stays NULL).
        return match existing {
            Some(_) => ctx.blob(args[0].blob()),
            None => {
                ctx.null();
                Ok(())
            }
        };
    };
    let mut s = match &existing {
        Some(v) => v
            .to_sketch(args[0].blob())
            .map_err(|why| Error::new(format!("{func}: argument 1: {why}")))?,
        None => new_sketch(DEFAULT_LG_MAX),
    };
    update(func, &mut s, value, count)?;
    ctx.blob(&encode(&s))
}

/// Adds argument `pos` (a checked image) to a merger.
fn merge_arg(func: &str, m: &mut Merger, v: &View, arg: Arg, pos: usize) -> Result<()> {
    m.add(v, arg.blob())
        .map_err(|why| Error::new(format!("{func}: argument {pos}: {why}")))
}

/// `topk_merge(a, b, …)`: scalar over two or more sketches.
pub fn topk_merge(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let func = "topk_merge";
    if args.len() < 2 {
        bail!(
            "{func}: wrong number of arguments ({}): give 2 or more sketches, or 1 to use it as an aggregate",
            args.len()
        );
    }
    let mut views = Vec::with_capacity(args.len());
    for (i, &a) in args.iter().enumerate() {
        if let Some(v) = sketch_arg(func, a, i + 1)? {
            views.push((v, a, i + 1));
        }
    }
    match views.as_slice() {
        [] => {
            ctx.null();
            Ok(())
        }
        // One sketch: itself, as it is.
        [(_, a, _)] => ctx.blob(a.blob()),
        _ => {
            let mut m = Merger::default();
            for (v, a, pos) in &views {
                merge_arg(func, &mut m, v, *a, *pos)?;
            }
            ctx.blob(&m.result().expect("two or more inputs"))
        }
    }
}

/// `topk_merge(sketch)`: aggregate merge of a column of sketches.
#[derive(Default)]
pub struct MergeAgg {
    merger: Merger,
}

impl Aggregate for MergeAgg {
    fn new(_args: &[Arg]) -> Result<Self> {
        Ok(MergeAgg::default())
    }
    fn step(&mut self, args: &[Arg]) -> Result<()> {
        if let Some(v) = sketch_arg("topk_merge", args[0], 1)? {
            merge_arg("topk_merge", &mut self.merger, &v, args[0], 1)?;
        }
        Ok(())
    }
    fn result(&mut self, ctx: Ctx) -> Result<()> {
        match self.merger.result() {
            Some(img) => ctx.blob(&img),
            None => {
                ctx.null();
                Ok(())
            }
        }
    }
}

/// `topk_values(sketch [, n [, mode]])`.
pub fn topk_values(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let func = "topk_values";
    let view = sketch_arg(func, args[0], 1)?;
    let n = match args.get(1) {
        None => DEFAULT_N,
        Some(a) if a.kind() == Kind::Integer && a.i64() >= 0 => a.i64(),
        Some(a) if a.kind() == Kind::Integer => {
            bail!("{func}: argument 2 (n) must be 0 or more, got {}", a.i64())
        }
        Some(a) => bail!(
            "{func}: argument 2 (n) must be an integer, got {}",
            a.kind().name()
        ),
    };
    let mode = match args.get(2) {
        None => Mode::NoFalsePositives,
        Some(a) => match (a.kind(), a.text_bytes()) {
            (Kind::Text, b"no_false_negatives") => Mode::NoFalseNegatives,
            (Kind::Text, b"no_false_positives") => Mode::NoFalsePositives,
            (k, b) => bail!(
                "{func}: argument 3 must be 'no_false_negatives' or 'no_false_positives', got {}",
                match k {
                    Kind::Text => shown(&String::from_utf8_lossy(b)),
                    k => k.name().to_string(),
                }
            ),
        },
    };
    match view {
        Some(v) => ctx.text(&v.rows_json(mode, usize::try_from(n).unwrap_or(usize::MAX))),
        None => ctx.text("[]"),
    }
}

/// `topk_estimate(sketch, value)`.
pub fn topk_estimate(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let func = "topk_estimate";
    let view = sketch_arg(func, args[0], 1)?;
    let mut buf = String::new();
    match (view, value_arg(func, args[1], 2, &mut buf)?) {
        (_, None) => ctx.null(),
        (None, Some(_)) => ctx.i64(0),
        (Some(v), Some(value)) => ctx.i64(v.estimate(value) as i64),
    }
    Ok(())
}

/// `topk_info(sketch)`.
pub fn topk_info(ctx: Ctx, args: &[Arg]) -> Result<()> {
    match sketch_arg("topk_info", args[0], 1)? {
        Some(v) => ctx.text(&v.info_json(args[0].blob().len())),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

pub fn register(db: Db) -> Result<()> {
    let pure = ffi::pure();
    ffi::define_aggregate::<SketchAgg<false>>(db, "topk_sketch", 1, pure)?;
    ffi::define_aggregate::<SketchAgg<false>>(db, "topk_sketch", 2, pure)?;
    ffi::define_aggregate::<SketchAgg<true>>(db, "topk_sketch_weighted", 2, pure)?;
    ffi::define_aggregate::<SketchAgg<true>>(db, "topk_sketch_weighted", 3, pure)?;
    ffi::define_scalar(db, "topk_add", 2, pure, topk_add)?;
    ffi::define_scalar(db, "topk_add", 3, pure, topk_add)?;
    ffi::define_scalar(db, "topk_merge", -1, pure, topk_merge)?;
    ffi::define_aggregate::<MergeAgg>(db, "topk_merge", 1, pure)?;
    ffi::define_scalar(db, "topk_values", 1, pure, topk_values)?;
    ffi::define_scalar(db, "topk_values", 2, pure, topk_values)?;
    ffi::define_scalar(db, "topk_values", 3, pure, topk_values)?;
    ffi::define_scalar(db, "topk_estimate", 2, pure, topk_estimate)?;
    ffi::define_scalar(db, "topk_info", 1, pure, topk_info)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::XorShift;
    use datasketches::frequencies::ErrorType;
    use std::collections::HashMap;

    /// A skewed stream: value k with probability ∝ 1/(k+1) over `distinct`
    /// values (Zipf, s = 1), drawn by inverse transform on a table.
    fn zipf(r: &mut XorShift, n: usize, distinct: usize) -> Vec<String> {
        let mut cdf = Vec::with_capacity(distinct);
        let mut acc = 0.0;
        for k in 0..distinct {
            acc += 1.0 / (k + 1) as f64;
            cdf.push(acc);
        }
        (0..n)
            .map(|_| {
                let x = (r.next() >> 11) as f64 / (1u64 << 53) as f64 * acc;
                format!("v{}", cdf.partition_point(|&c| c < x))
            })
            .collect()
    }

    fn build(values: &[String], lg: u8) -> (Vec<u8>, HashMap<String, u64>) {
        let mut s = new_sketch(lg);
        let mut truth = HashMap::new();
        for v in values {
            s.update_with_count_ref(v.as_str(), 1);
            *truth.entry(v.clone()).or_insert(0) += 1;
        }
        (encode(&s), truth)
    }

    /// Every bound of the image holds for the true counts: lower ≤ true ≤
    /// upper for tracked values, true ≤ maximum_error for the others, and
    /// maximum_error ≤ epsilon × total weight.
    fn assert_bounds(img: &[u8], truth: &HashMap<String, u64>, what: &str) {
        let v = parse(img).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(v.total_weight, truth.values().sum::<u64>(), "{what}");
        assert!(
            v.offset as f64 <= epsilon(v.lg_max) * v.total_weight as f64,
            "{what}: maximum error {} above epsilon × weight",
            v.offset
        );
        let rows = v.rows(Mode::NoFalseNegatives, usize::MAX);
        for (value, &t) in truth {
            match rows.iter().find(|r| r.value == value) {
                Some(r) => assert!(r.lower <= t && t <= r.upper, "{what}: {value} {t} {r:?}"),
                None => assert!(
                    t <= v.offset,
                    "{what}: {value} {t} untracked, error {}",
                    v.offset
                ),
            }
        }
        for r in v.rows(Mode::NoFalsePositives, usize::MAX) {
            // Listed as surely frequent: more often than any dropped value.
            assert!(truth[r.value] > v.offset, "{what}: {r:?}");
        }
    }

    #[test]
    fn bounds_hold_on_skewed_and_flat_streams() {
        let mut r = XorShift::new(0x5EED_0F70_9C01);
        for (n, distinct, lg) in [
            (1_000usize, 50usize, 8u8),
            (20_000, 100_000, 4),
            (50_000, 5_000, 6),
            (50_000, 50_000, 8),
            (100_000, 1_000_000, 10),
        ] {
            let values = zipf(&mut r, n, distinct);
            let (img, truth) = build(&values, lg);
            assert_bounds(&img, &truth, &format!("n={n} distinct={distinct} lg={lg}"));
        }
        // Fewer distinct values than 0.75 × the map: every count exact.
        let values: Vec<String> = (0..10_000).map(|i| format!("k{}", i % 150)).collect();
        let (img, truth) = build(&values, 8);
        let v = parse(&img).unwrap();
        assert_eq!(v.offset, 0);
        for r in v.rows(Mode::NoFalseNegatives, usize::MAX) {
            assert_eq!((r.lower, r.upper), (truth[r.value], truth[r.value]));
        }
    }

    /// One value in half of 100 000 records, the rest spread thin: it comes
    /// first, its count within the bounds, the bounds within epsilon.
    #[test]
    fn skewed_key_top_value_within_the_bound() {
        let mut r = XorShift::new(0xC0FF_EE11);
        let values: Vec<String> = (0..100_000)
            .map(|i| {
                if i % 2 == 0 {
                    "GET /health".to_string()
                } else {
                    format!("GET /users/{}", r.below(20_000))
                }
            })
            .collect();
        let (img, truth) = build(&values, DEFAULT_LG_MAX);
        assert_bounds(&img, &truth, "skewed");
        let v = parse(&img).unwrap();
        let top = &v.rows(Mode::NoFalsePositives, 1)[0];
        assert_eq!(top.value, "GET /health");
        assert!(top.lower <= 50_000 && 50_000 <= top.upper, "{top:?}");
        assert!(v.offset > 0, "the test must make the sketch purge");
    }

    /// Merging per-shard sketches in any grouping and order (different map
    /// sizes among them) gives bounds that hold for the union, at the
    /// smallest map size.
    #[test]
    fn merges_keep_bounds_whatever_the_grouping() {
        let mut r = XorShift::new(0xABCD_1234);
        let values = zipf(&mut r, 60_000, 30_000);
        let mut truth = HashMap::new();
        for v in &values {
            *truth.entry(v.clone()).or_insert(0u64) += 1;
        }
        let lgs = [8u8, 6, 10, 8];
        let shards: Vec<Vec<u8>> = values
            .chunks(15_000)
            .zip(lgs)
            .map(|(c, lg)| build(c, lg).0)
            .collect();
        let merge = |imgs: &[&[u8]]| {
            let mut m = Merger::default();
            for img in imgs {
                m.add(&parse(img).unwrap(), img).unwrap();
            }
            m.result().unwrap()
        };
        let [a, b, c, d] = [&shards[0][..], &shards[1], &shards[2], &shards[3]];
        let all = [
            merge(&[a, b, c, d]),
            merge(&[d, c, b, a]),
            merge(&[&merge(&[a, b]), &merge(&[c, d])]),
            merge(&[a, &merge(&[b, &merge(&[c, d])])]),
            merge(&[&merge(&[c, a]), d, b]),
        ];
        for (i, img) in all.iter().enumerate() {
            assert_bounds(img, &truth, &format!("grouping {i}"));
            assert_eq!(parse(img).unwrap().lg_max, 6, "grouping {i}");
        }
        // The most frequent value is found in every grouping.
        for img in &all {
            assert_eq!(
                parse(img).unwrap().rows(Mode::NoFalsePositives, 1)[0].value,
                "v0"
            );
        }
    }

    /// What the in-place reading returns is what the crate's sketch returns.
    #[test]
    fn view_reads_like_the_crate() {
        let mut r = XorShift::new(0x7777_1111);
        for (n, distinct, lg) in [
            (0usize, 1usize, 5u8),
            (10, 5, 3),
            (5_000, 400, 5),
            (30_000, 3_000, 7),
        ] {
            let values = zipf(&mut r, n, distinct);
            let mut s = new_sketch(lg);
            for v in &values {
                s.update_with_count_ref(v.as_str(), 1);
            }
            let img = encode(&s);
            let v = parse(&img).unwrap();
            for (mode, et) in [
                (Mode::NoFalseNegatives, ErrorType::NoFalseNegatives),
                (Mode::NoFalsePositives, ErrorType::NoFalsePositives),
            ] {
                let mut want: Vec<(String, u64, u64, u64)> = s
                    .frequent_items(et)
                    .into_iter()
                    .map(|r| {
                        (
                            r.item().clone(),
                            r.estimate(),
                            r.lower_bound(),
                            r.upper_bound(),
                        )
                    })
                    .collect();
                want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let got: Vec<(String, u64, u64, u64)> = v
                    .rows(mode, usize::MAX)
                    .into_iter()
                    .map(|r| (r.value.to_string(), r.count, r.lower, r.upper))
                    .collect();
                assert_eq!(got, want, "n={n} {mode:?}");
                // The first k of them, for any k.
                let all = v.rows(mode, usize::MAX);
                for k in [0, 1, 2, 5, 10, 11, 100, all.len()] {
                    assert_eq!(v.rows(mode, k), all[..k.min(all.len())], "k={k}");
                }
            }
            for probe in ["v0", "v1", "v7", "absent"] {
                assert_eq!(v.estimate(probe), s.estimate(probe), "n={n} {probe}");
            }
            assert_eq!(v.offset, s.maximum_error());
            assert_eq!(v.total_weight, s.total_weight());
        }
    }

    #[test]
    fn the_same_values_give_the_same_bytes() {
        let mut r = XorShift::new(0x1234_5678);
        let values = zipf(&mut r, 20_000, 2_000);
        assert_eq!(build(&values, 6).0, build(&values, 6).0);
    }

    /// A valid non-empty image of (value, count) items.
    fn image(lg_max: u8, lg_cur: u8, weight: u64, offset: u64, items: &[(&str, u64)]) -> Vec<u8> {
        let mut b = vec![4, 1, 10, lg_max, lg_cur, 0, 0, 0];
        b.extend_from_slice(&(items.len() as u32).to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&weight.to_le_bytes());
        b.extend_from_slice(&offset.to_le_bytes());
        for (_, c) in items {
            b.extend_from_slice(&c.to_le_bytes());
        }
        for (v, _) in items {
            b.extend_from_slice(&(v.len() as u32).to_le_bytes());
            b.extend_from_slice(v.as_bytes());
        }
        b
    }

    #[test]
    fn hand_made_images_read_as_written() {
        let img = image(5, 3, 10, 1, &[("a", 5), ("b", 3)]);
        let v = parse(&img).unwrap();
        assert_eq!(
            v.rows(Mode::NoFalseNegatives, 10),
            vec![
                Row {
                    value: "a",
                    count: 6,
                    lower: 5,
                    upper: 6
                },
                Row {
                    value: "b",
                    count: 4,
                    lower: 3,
                    upper: 4
                },
            ]
        );
        assert_eq!(
            v.rows_json(Mode::NoFalsePositives, 1),
            r#"[{"value":"a","count":6,"lower":5,"upper":6}]"#
        );
        assert_eq!((v.estimate("b"), v.estimate("c")), (4, 0));
        check_image(&img);
        // The crate's own image of the same content.
        let mut s = new_sketch(5);
        s.update_with_count("a".to_string(), 5);
        s.update_with_count("b".to_string(), 3);
        assert_eq!(
            parse(&encode(&s))
                .unwrap()
                .rows(Mode::NoFalseNegatives, 9)
                .len(),
            2
        );
        // Empty.
        let empty = encode(&new_sketch(7));
        assert_eq!(empty, [1, 1, 10, 7, 3, 5, 0, 0]);
        let e = parse(&empty).unwrap();
        assert!(e.is_empty() && e.items.is_empty());
        check_image(&empty);
    }

    #[test]
    fn damaged_images_are_refused_with_the_reason() {
        let good = image(5, 4, 10, 1, &[("a", 5), ("b", 3)]);
        let with = |at: usize, bytes: &[u8]| {
            let mut g = good.clone();
            g[at..at + bytes.len()].copy_from_slice(bytes);
            g
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "empty blob"),
            (
                good[..7].to_vec(),
                "7 bytes, shorter than the 8-byte preamble",
            ),
            (with(2, &[7]), "family byte is 7, an HLL sketch"),
            (with(2, &[3]), "family byte is 3, not 10"),
            (with(1, &[2]), "serial version 2 is not 1"),
            (with(0, &[2]), "preamble of 2 words"),
            (with(3, &[15]), "lg_max_map_size 15 is outside 3..14"),
            (with(3, &[30]), "lg_max_map_size 30 is outside"),
            (with(3, &[2]), "lg_max_map_size 2 is outside"),
            (with(4, &[6]), "lg_cur_map_size 6 is outside 3..5"),
            (with(4, &[2]), "lg_cur_map_size 2 is outside"),
            (
                with(5, &[1]),
                "the empty flag (true) contradicts the preamble size (4 words)",
            ),
            (
                vec![1, 1, 10, 5, 3, 0, 0, 0],
                "the empty flag (false) contradicts",
            ),
            (
                vec![1, 1, 10, 5, 3, 5, 0, 0, 9],
                "1 bytes after the preamble of an empty sketch",
            ),
            (
                good[..31].to_vec(),
                "truncated: 31 bytes, shorter than the 32-byte preamble",
            ),
            (
                with(8, &[13, 0, 0, 0]),
                "13 items, more than the 12 a map of 2^4 counters holds",
            ),
            (with(16, &[0; 8]), "total weight 0 in a non-empty sketch"),
            (
                with(16, &[0, 0, 0, 0, 0, 0, 0, 0x80]),
                "total weight 9223372036854775808 is above 2^63 - 1",
            ),
            (
                with(24, &[11, 0, 0, 0, 0, 0, 0, 0]),
                "maximum error 11 is above the total weight 10",
            ),
            (with(32, &[0; 8]), "item 0 has a count of 0"),
            (
                with(32, &[7, 0, 0, 0, 0, 0, 0, 0]),
                "the counts plus the maximum error (11) exceed the total weight 10",
            ),
            (with(32, &[0xff; 8]), "exceed the total weight"),
            (
                good[..40].to_vec(),
                "truncated: 2 counts need 16 bytes, 8 left",
            ),
            (good[..48].to_vec(), "truncated at item 0"),
            (
                good[..52].to_vec(),
                "truncated: item 0 is 1 bytes long, 0 left",
            ),
            (with(52, &[0xff]), "item 0 is not valid UTF-8"),
            (with(57, b"a"), "item 1 (\"a\") is listed twice"),
            ([&good[..], &[0]].concat(), "1 bytes after the last item"),
            (
                with(48, &[0xff, 0xff, 0xff, 0xff]),
                "truncated: item 0 is 4294967295 bytes long",
            ),
        ];
        assert!(parse(&good).is_ok());
        for (img, want) in cases {
            let got = parse(&img).expect_err(want);
            assert!(got.contains(want), "want {want:?}, got {got:?}");
        }
    }

    /// Declared sizes never size an allocation: a map of 2^14 counters
    /// holding one value is read into the smallest map, and a count of
    /// 12 288 items with no bytes behind it is refused before anything is
    /// reserved.
    #[test]
    fn declared_sizes_allocate_nothing() {
        let img = image(14, 14, 3, 0, &[("x", 3)]);
        let s = parse(&img).unwrap().to_sketch(&img).unwrap();
        assert_eq!(s.lg_cur_map_size(), 3);
        assert!(s.estimated_size() < 1024, "{}", s.estimated_size());
        let mut big = image(14, 14, 3, 0, &[]);
        big[8..12].copy_from_slice(&12_288u32.to_le_bytes());
        assert!(
            parse(&big)
                .unwrap_err()
                .starts_with("truncated: 12288 counts")
        );
        // An empty image declaring the largest map.
        let e = [1, 1, 10, 14, 14, 5, 0, 0];
        let s = parse(&e).unwrap().to_sketch(&e).unwrap();
        assert!(s.estimated_size() < 1024);
    }

    /// Random damage to valid images (bytes set, flipped, inserted,
    /// removed, truncations): each result is refused, or read consistently
    /// by everything (`check_image`), and then also by the crate itself.
    #[test]
    fn mutated_images_are_refused_or_read_consistently() {
        let mut r = XorShift::new(0xF00D_F00D);
        let mut bases = vec![
            encode(&new_sketch(4)),
            image(5, 4, 10, 1, &[("a", 5), ("b", 3)]),
            image(3, 3, 100, 50, &[("x", 1), ("", 49)]),
        ];
        for (n, distinct, lg) in [(50usize, 10usize, 6u8), (3_000, 500, 5), (800, 2_000, 8)] {
            bases.push(build(&zipf(&mut r, n, distinct), lg).0);
        }
        let (mut taken, mut refused) = (0, 0);
        let mut check = |m: &[u8]| {
            check_image(m);
            match parse(m) {
                Ok(_) => {
                    assert!(Sketch::deserialize(m).is_ok(), "{m:?}");
                    taken += 1
                }
                Err(_) => refused += 1,
            }
        };
        for base in &bases {
            for cut in 0..base.len().min(300) {
                check(&base[..cut]);
            }
            for i in 0..base.len().min(400) {
                for v in [0u8, 1, 2, 3, 4, 5, 0x7f, 0x80, 0xff] {
                    let mut m = base.clone();
                    m[i] = v;
                    check(&m);
                }
                for bit in 0..8 {
                    let mut m = base.clone();
                    m[i] ^= 1 << bit;
                    check(&m);
                }
            }
            for _ in 0..2_000 {
                let mut m = base.clone();
                for _ in 0..1 + r.below(4) {
                    let at = r.below(m.len() as u64 + 1) as usize;
                    match r.below(3) {
                        0 if at < m.len() => m[at] = r.next() as u8,
                        1 => m.insert(at, r.next() as u8),
                        _ if at < m.len() => {
                            m.remove(at);
                        }
                        _ => {}
                    }
                }
                check(&m);
            }
        }
        assert!(
            taken > 1_000 && refused > 10_000,
            "{taken} taken, {refused} refused"
        );
    }

    /// `Merger` adds a checked image's values in place of the crate's
    /// merge of its decoded sketch: the same totals and maximum error, and
    /// the same counts when nothing purges.
    #[test]
    fn merging_images_is_the_crate_merge() {
        let mut r = XorShift::new(0x0DDB_A11F);
        let mut exact = 0;
        for (n, distinct, lg) in [
            (500usize, 60usize, 8u8),
            (5_000, 3_000, 6),
            (20_000, 400, 9),
        ] {
            let (a, b) = (
                build(&zipf(&mut r, n, distinct), lg).0,
                build(&zipf(&mut r, n, distinct), lg).0,
            );
            let mut want = Sketch::deserialize(&a).unwrap();
            want.merge(&Sketch::deserialize(&b).unwrap());
            let mut m = Merger::default();
            m.add(&parse(&a).unwrap(), &a).unwrap();
            m.add(&parse(&b).unwrap(), &b).unwrap();
            let got = m.result().unwrap();
            let (g, w) = (parse(&got).unwrap(), encode(&want));
            let w = parse(&w).unwrap();
            assert_eq!((g.total_weight, g.lg_max), (w.total_weight, w.lg_max));
            if w.offset == parse(&a).unwrap().offset + parse(&b).unwrap().offset {
                // No purge during the merge: exactly the crate's counts.
                assert_eq!(g.offset, w.offset);
                assert_eq!(
                    g.rows(Mode::NoFalseNegatives, usize::MAX),
                    w.rows(Mode::NoFalseNegatives, usize::MAX)
                );
                exact += 1;
            }
        }
        assert!(exact >= 1);
    }

    #[test]
    fn merging_past_the_weight_limit_is_an_error() {
        let a = image(5, 3, MAX_WEIGHT - 5, 0, &[("a", 7)]);
        let b = image(5, 3, 6, 0, &[("b", 6)]);
        let mut m = Merger::default();
        m.add(&parse(&a).unwrap(), &a).unwrap();
        let e = m.add(&parse(&b).unwrap(), &b).unwrap_err();
        assert!(e.contains("would exceed 2^63 - 1"), "{e}");
        check_image(&a);
    }
}
