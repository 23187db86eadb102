//! The SQL functions `hll_sketch`, `hll_add`, `hll_merge`, `hll_count`,
//! `hll_info`: arguments in, images out; the sketch work is in the
//! sibling modules.

use datasketches::hll::{HllSketch, HllUnion};

use super::{
    DEFAULT_LG_K, MAX_LG_K, MIN_LG_K, Union, Value, count, decode, encode_union, info_json,
    merge_stored, update_value,
};
use std::borrow::Cow;
use std::cell::RefCell;

use crate::ffi::{self, Aggregate, Arg, Ctx, Db, Error, Kind, Result, bail};
use crate::memo;

/// Checks an lg_k argument.
fn lg_k_arg(func: &str, arg: Arg, pos: usize) -> Result<u8> {
    if arg.kind() != Kind::Integer {
        bail!(
            "{func}: argument {pos} (lg_k) must be an integer from {MIN_LG_K} to {MAX_LG_K}, got {}",
            arg.kind().name()
        );
    }
    let v = arg.i64();
    if !(MIN_LG_K as i64..=MAX_LG_K as i64).contains(&v) {
        bail!("{func}: argument {pos} (lg_k) must be from {MIN_LG_K} to {MAX_LG_K}, got {v}");
    }
    Ok(v as u8)
}

/// Reads argument `pos` (1-based) of `func` as a sketch; `None` for NULL.
pub fn sketch_arg(func: &str, arg: Arg, pos: usize) -> Result<Option<HllSketch>> {
    match arg.kind() {
        Kind::Null => Ok(None),
        Kind::Blob => decode(arg.blob()).map(Some).map_err(|why| {
            Error::new(format!(
                "{func}: argument {pos} is not an HLL sketch ({why})"
            ))
        }),
        k => bail!(
            "{func}: argument {pos} is not an HLL sketch (got {}, expected a BLOB)",
            k.name()
        ),
    }
}

/// A SQL value as DataSketches hashes its type; `None` for NULL.
fn value_arg(arg: Arg<'_>) -> Option<Value<'_>> {
    match arg.kind() {
        Kind::Null => None,
        Kind::Integer => Some(Value::Long(arg.i64())),
        Kind::Real => Some(Value::Double(arg.f64())),
        Kind::Text => Some(Value::Bytes(arg.text_bytes())),
        Kind::Blob => Some(Value::Bytes(arg.blob())),
    }
}

/// `hll_sketch(value [, lg_k])`: aggregate building a sketch of the values.
pub struct SketchAgg {
    union: HllUnion,
    lg_k: u8,
}

impl Aggregate for SketchAgg {
    fn new(args: &[Arg]) -> Result<Self> {
        let lg_k = match args.get(1) {
            Some(&a) => lg_k_arg("hll_sketch", a, 2)?,
            None => DEFAULT_LG_K,
        };
        Ok(SketchAgg {
            union: HllUnion::new(lg_k).expect("lg_k checked"),
            lg_k,
        })
    }
    fn step(&mut self, args: &[Arg]) -> Result<()> {
        if let Some(&a) = args.get(1) {
            let k = lg_k_arg("hll_sketch", a, 2)?;
            if k != self.lg_k {
                bail!(
                    "hll_sketch: lg_k must be the same on every row ({} then {k})",
                    self.lg_k
                );
            }
        }
        if let Some(v) = value_arg(args[0]) {
            update_value(&mut self.union, v);
        }
        Ok(())
    }
    fn result(&mut self, ctx: Ctx) -> Result<()> {
        if self.union.is_empty() {
            ctx.null();
            return Ok(());
        }
        ctx.blob(&encode_union(&self.union))
    }
}

/// `hll_add(sketch, value)`.
pub fn hll_add(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let existing = sketch_arg("hll_add", args[0], 1)?;
    let Some(v) = value_arg(args[1]) else {
        // NULL value: the sketch unchanged (NULL stays NULL).
        match existing {
            Some(_) => return ctx.blob(args[0].blob()),
            None => {
                ctx.null();
                return Ok(());
            }
        }
    };
    let mut union = match &existing {
        Some(s) => {
            let mut u = HllUnion::new(s.lg_config_k()).expect("decoded lg_k in range");
            u.update(s);
            u
        }
        None => HllUnion::new(DEFAULT_LG_K).expect("default lg_k"),
    };
    update_value(&mut union, v);
    ctx.blob(&encode_union(&union))
}

/// `hll_merge(a, b, …)`: scalar over two or more sketches.
pub fn hll_merge(ctx: Ctx, args: &[Arg]) -> Result<()> {
    if args.len() < 2 {
        bail!(
            "hll_merge: wrong number of arguments ({}): give 2 or more sketches, or 1 to use it as an aggregate",
            args.len()
        );
    }
    if let [a, b] = args {
        let (a, b) = (*a, *b);
        if a.kind() == Kind::Blob && b.kind() == Kind::Blob {
            let merge = || match merge_stored(a.blob(), b.blob()) {
                Some(img) => Ok(img),
                None => union_of(args)?
                    .map(Cow::Owned)
                    .ok_or_else(|| Error::new("hll_merge: two sketches made no union")),
            };
            return memo::merged(&LAST_MERGE, a.blob(), b.blob(), merge, |img| ctx.blob(img));
        }
    }
    match union_of(args)? {
        Some(img) => ctx.blob(&img),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

thread_local! {
    /// The last `hll_merge(a, b)` of two sketches (`crate::memo`).
    static LAST_MERGE: RefCell<memo::LastMerge> = RefCell::new(memo::LastMerge::default());
}

/// The union of the sketches among `args` (NULLs skipped), `None` without any.
fn union_of(args: &[Arg]) -> Result<Option<Vec<u8>>> {
    let mut u = Union::default();
    for (i, &a) in args.iter().enumerate() {
        if let Some(s) = sketch_arg("hll_merge", a, i + 1)? {
            u.add(a.blob(), &s);
        }
    }
    Ok(u.result())
}

/// `hll_merge(sketch)`: aggregate union of a column of sketches.
#[derive(Default)]
pub struct MergeAgg {
    union: Union,
}

impl Aggregate for MergeAgg {
    fn new(_args: &[Arg]) -> Result<Self> {
        Ok(MergeAgg::default())
    }
    fn step(&mut self, args: &[Arg]) -> Result<()> {
        if let Some(s) = sketch_arg("hll_merge", args[0], 1)? {
            self.union.add(args[0].blob(), &s);
        }
        Ok(())
    }
    fn result(&mut self, ctx: Ctx) -> Result<()> {
        match self.union.result() {
            Some(img) => ctx.blob(&img),
            None => {
                ctx.null();
                Ok(())
            }
        }
    }
}

/// `hll_count(sketch)`.
pub fn hll_count(ctx: Ctx, args: &[Arg]) -> Result<()> {
    match sketch_arg("hll_count", args[0], 1)? {
        Some(s) => ctx.i64(count(&s)),
        None => ctx.i64(0),
    }
    Ok(())
}

/// `hll_info(sketch)`.
pub fn hll_info(ctx: Ctx, args: &[Arg]) -> Result<()> {
    match sketch_arg("hll_info", args[0], 1)? {
        Some(s) => ctx.text(&info_json(&s, args[0].blob())),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

pub fn register(db: Db) -> Result<()> {
    let pure = ffi::pure();
    ffi::define_aggregate::<SketchAgg>(db, "hll_sketch", 1, pure)?;
    ffi::define_aggregate::<SketchAgg>(db, "hll_sketch", 2, pure)?;
    ffi::define_scalar(db, "hll_add", 2, pure, hll_add)?;
    ffi::define_scalar(db, "hll_merge", -1, pure, hll_merge)?;
    ffi::define_aggregate::<MergeAgg>(db, "hll_merge", 1, pure)?;
    ffi::define_scalar(db, "hll_count", 1, pure, hll_count)?;
    ffi::define_scalar(db, "hll_info", 1, pure, hll_info)?;
    Ok(())
}
