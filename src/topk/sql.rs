//! The `topk_*` SQL functions: arguments checked and named in errors, the
//! work done by the FFI-free modules beside it.

use std::cell::RefCell;

use super::image::shown;
use super::{
    DEFAULT_LG_MAX, DEFAULT_N, MAX_LG_MAX, MAX_WEIGHT, MIN_LG_MAX, Merger, Mode, Sketch, View,
    encode, merge_two, new_sketch, parse,
};
use crate::ffi::{self, Aggregate, Arg, Ctx, Db, Error, Kind, Result, bail};
use crate::memo;
use crate::text;

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
    if let [a, b] = args
        && a.kind() == Kind::Blob
        && b.kind() == Kind::Blob
    {
        let merge = || {
            if let (Some(va), Some(vb)) = (sketch_arg(func, *a, 1)?, sketch_arg(func, *b, 2)?)
                && let Some(img) = merge_two(&va, &vb)
            {
                return Ok(std::borrow::Cow::Owned(img));
            }
            merge_all(func, args)?
                .map(std::borrow::Cow::Owned)
                .ok_or_else(|| Error::new(format!("{func}: two sketches made no merge")))
        };
        return memo::merged(&LAST_MERGE, a.blob(), b.blob(), merge, |img| ctx.blob(img));
    }
    match merge_all(func, args)? {
        Some(img) => ctx.blob(&img),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

thread_local! {
    /// The last `topk_merge(a, b)` of two sketches (`crate::memo`).
    static LAST_MERGE: RefCell<memo::LastMerge> = RefCell::new(memo::LastMerge::default());
}

/// The merge of the sketches among `args` (NULLs skipped): one sketch is
/// itself, as it is; `None` without any.
fn merge_all(func: &str, args: &[Arg]) -> Result<Option<Vec<u8>>> {
    let mut views = Vec::with_capacity(args.len());
    for (i, &a) in args.iter().enumerate() {
        if let Some(v) = sketch_arg(func, a, i + 1)? {
            views.push((v, a, i + 1));
        }
    }
    match views.as_slice() {
        [] => Ok(None),
        [(_, a, _)] => Ok(Some(a.blob().to_vec())),
        _ => {
            let mut m = Merger::default();
            for (v, a, pos) in &views {
                merge_arg(func, &mut m, v, *a, *pos)?;
            }
            Ok(m.result())
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

/// The `n` argument of `topk_values` and `topk_counts` (default 10).
fn n_arg(func: &str, arg: Option<&Arg>) -> Result<usize> {
    let n = match arg {
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
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// `topk_values(sketch [, n [, mode]])`.
pub fn topk_values(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let func = "topk_values";
    let view = sketch_arg(func, args[0], 1)?;
    let n = n_arg(func, args.get(1))?;
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
        Some(v) => ctx.text(&v.rows_json(mode, n)),
        None => ctx.text("[]"),
    }
}

/// `topk_counts(sketch [, n])`: what the catalog's `top_values` columns
/// hold.
pub fn topk_counts(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let func = "topk_counts";
    let view = sketch_arg(func, args[0], 1)?;
    let n = n_arg(func, args.get(1))?;
    match view {
        Some(v) => ctx.text(&v.counts_json(n)),
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
    ffi::define_scalar(db, "topk_counts", 1, pure, topk_counts)?;
    ffi::define_scalar(db, "topk_counts", 2, pure, topk_counts)?;
    ffi::define_scalar(db, "topk_estimate", 2, pure, topk_estimate)?;
    ffi::define_scalar(db, "topk_info", 1, pure, topk_info)?;
    Ok(())
}
