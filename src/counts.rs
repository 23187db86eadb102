//! `otelcat_add(a, b [, table, key…])`: the sum of two counts, exact or an
//! error. SQLite turns an integer sum past 2^63 - 1 into a REAL silently;
//! the catalog's UPSERTs (sql/flush.sql) and the merge script add counts
//! with this function instead, so a count is exact or the statement fails
//! with an error naming the table and the key.
//!
//! `json_counts_merge(a, b [, table, key…])`: two JSON objects of counts by
//! name (`{"int":3,"string":7}`, a key's `value_types`) merged: per name the
//! counts add, exactly as `otelcat_add` adds them; the result has its names
//! in byte order and no zero counts, so merging in any order gives the same
//! text.

use crate::ffi::{self, Arg, Ctx, Db, Kind, Result, bail};

/// "metric_key_rows (m / label / k)" from the optional arguments 3.. .
fn place(args: &[Arg]) -> String {
    let mut parts = Vec::new();
    for &a in args {
        parts.push(match a.kind() {
            Kind::Null => "NULL".to_string(),
            _ => String::from_utf8_lossy(a.text_bytes()).into_owned(),
        });
    }
    match parts.split_first() {
        None => String::new(),
        Some((table, [])) => format!(" in {table}"),
        Some((table, key)) => format!(" in {table} ({})", key.join(" / ")),
    }
}

fn int(args: &[Arg], i: usize) -> Result<Option<i64>> {
    let a = args[i];
    match a.kind() {
        Kind::Null => Ok(None),
        Kind::Integer => Ok(Some(a.i64())),
        k => bail!(
            "otelcat_add: count{} is {} '{}', not an integer; the row was not written by otelcat: fix or delete it",
            place(&args[2.min(args.len())..]),
            k.name(),
            String::from_utf8_lossy(&a.text_bytes()[..a.text_bytes().len().min(40)])
        ),
    }
}

pub fn otelcat_add(ctx: Ctx, args: &[Arg]) -> Result<()> {
    if args.len() < 2 {
        bail!("otelcat_add: needs two counts: otelcat_add(a, b [, table, key...])");
    }
    let (Some(a), Some(b)) = (int(args, 0)?, int(args, 1)?) else {
        ctx.null();
        return Ok(());
    };
    match a.checked_add(b) {
        Some(s) => ctx.i64(s),
        None => bail!(
            "otelcat_add: count overflow{}: {a} + {b} is beyond the 64-bit integer range; nothing was written",
            place(&args[2..])
        ),
    }
    Ok(())
}

/// Reads argument `i` of `json_counts_merge` as an object of counts; `None`
/// for NULL.
fn counts_arg(args: &[Arg], i: usize) -> Result<Option<Vec<(String, i64)>>> {
    let a = args[i];
    let func = "json_counts_merge";
    let where_ = || place(&args[2.min(args.len())..]);
    let text = match a.kind() {
        Kind::Null => return Ok(None),
        Kind::Text => a.str(func, i + 1)?,
        k => bail!(
            "{func}: argument {} is {}, not a JSON object of counts{}",
            i + 1,
            k.name(),
            where_()
        ),
    };
    let bad = |why: String| -> Result<Option<Vec<(String, i64)>>> {
        bail!(
            "{func}: argument {} is not a JSON object of counts ({why}){}",
            i + 1,
            where_()
        )
    };
    let map: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return bad(e.to_string()),
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        match v.as_i64() {
            Some(n) if n >= 0 => out.push((k, n)),
            _ => {
                let shown: String = v.to_string().chars().take(40).collect();
                return bad(format!("{k:?} is {shown}, not a count"));
            }
        }
    }
    Ok(Some(out))
}

pub fn json_counts_merge(ctx: Ctx, args: &[Arg]) -> Result<()> {
    if args.len() < 2 {
        bail!("json_counts_merge: needs two objects: json_counts_merge(a, b [, table, key...])");
    }
    let (a, b) = (counts_arg(args, 0)?, counts_arg(args, 1)?);
    if a.is_none() && b.is_none() {
        ctx.null();
        return Ok(());
    }
    let mut sum = std::collections::BTreeMap::<String, i64>::new();
    for (k, n) in a.into_iter().chain(b).flatten() {
        let e = sum.entry(k).or_insert(0);
        match e.checked_add(n) {
            Some(s) => *e = s,
            None => bail!(
                "json_counts_merge: count overflow{}: {} + {n} is beyond the 64-bit integer range; nothing was written",
                place(&args[2..]),
                *e
            ),
        }
    }
    sum.retain(|_, n| *n > 0);
    ctx.text(&serde_json::to_string(&sum).expect("counts serialize"))
}

pub fn register(db: Db) -> Result<()> {
    ffi::define_scalar(db, "otelcat_add", -1, ffi::pure(), otelcat_add)?;
    ffi::define_scalar(db, "json_counts_merge", -1, ffi::pure(), json_counts_merge)
}
