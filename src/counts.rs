//! `otelcat_add(a, b [, table, key…])`: the sum of two counts, exact or an
//! error. SQLite turns an integer sum past 2^63 - 1 into a REAL silently;
//! the catalog's UPSERTs (sql/flush.sql) and the merge script add counts
//! with this function instead, so a count is exact or the statement fails
//! with an error naming the table and the key.

use crate::ffi::{self, Arg, Ctx, Db, Kind, Result, bail};

/// "metric_keys (m / label / k)" from the optional arguments 3.. .
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

pub fn register(db: Db) -> Result<()> {
    ffi::define_scalar(db, "otelcat_add", -1, ffi::pure(), otelcat_add)
}
