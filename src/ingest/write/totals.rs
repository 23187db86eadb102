//! Key totals (docs/catalog.md "Key totals"): per key name, signal and
//! scope, what the entity key rows add up to (`key_totals`), and per key
//! name and signal the distinct entities that have it in any scope
//! (`key_name_totals`), kept at every commit from the key rows the flush
//! writes, so that the whole-catalog views (`attribute_catalog`,
//! `key_bytes`, `key_mixed_types`) read these rows and not every key row.
//!
//! What it costs a commit: per entity key row of the batch, one lookup of
//! its primary key before it is written (is it new?); per distinct (scope,
//! key) of the batch, one UPSERT. Only for the rows that are new: for span
//! event keys, a count of the entity's rows of the (scope, key) (its event
//! names); per key with an entity that had no row of it in the batch's
//! scopes, the scopes the key has, and for such an entity one lookup per
//! other scope (primary-key ranges). A commit that
//! adds to keys the catalog holds pays the lookups and the UPSERTs only.
//!
//! Every other writer of key rows rebuilds both tables from the rows at its
//! end with `otelcat_refresh_totals()` (`sql/totals.sql`).

use ahash::AHashMap as Map;

use super::time::{seen_params, seen_text};
use super::{KeyRow, Writer};
use crate::ffi::{self, Arg, Ctx, Db, Error, Param, Result, Stmt};
use crate::hll;
use crate::ingest::keys::{Seen, VALUE_TYPES, types_json};

const TOTALS_SQL: &str = include_str!("../../../sql/totals.sql");

/// Builds `key_totals` and `key_name_totals` again from the key rows
/// (`sql/totals.sql`), inside the caller's transaction (an upgrade's).
pub fn refresh_totals(db: Db) -> Result<()> {
    ffi::exec(db, TOTALS_SQL).map_err(|e| match damaged_row(db) {
        Some((table, key)) => {
            let key: Vec<&str> = key.iter().map(String::as_str).collect();
            super::located(e, table, &key)
        }
        None => match super::service_totals::overflowing_row(db) {
            Some((table, key)) => {
                let key: Vec<&str> = key.iter().map(String::as_str).collect();
                let e = Error::with_code(
                    e.code,
                    format!(
                        "{}: its service's counts add up past 64 bits (a file edited by hand or from elsewhere?): repair or delete that row",
                        e.msg
                    ),
                );
                super::located(e, table, &key)
            }
            None => e,
        },
    })
}

/// The first key row whose stored sketch cannot be read (the totals could
/// not be built): its table and key. Read on failure only.
fn damaged_row(db: Db) -> Option<(&'static str, Vec<String>)> {
    for signal in ["metrics", "spans", "logs"] {
        let (table, entity, event) = key_table(signal);
        let cols = if event { 4 } else { 3 };
        let event = if event { ", event_name" } else { "" };
        let sql = format!(
            "SELECT {entity}, key_scope, key_name{event}, hll_sketch FROM main.{table} WHERE hll_sketch IS NOT NULL"
        );
        let mut st = Stmt::prepare(db, &sql).ok()?;
        while let Ok(true) = st.step() {
            let bad = st.column_kind(cols) != ffi::Kind::Blob
                || hll::decode(st.column_blob(cols)).is_err();
            if bad {
                return Some((table, (0..cols).map(|i| st.column_text(i)).collect()));
            }
        }
    }
    None
}

/// The same, all or nothing (a savepoint): a failing statement leaves the
/// totals as they were.
fn refresh_totals_atomic(db: Db) -> Result<()> {
    ffi::exec(db, "SAVEPOINT otelcat_refresh_totals")?;
    match refresh_totals(db) {
        Ok(()) => ffi::exec(db, "RELEASE otelcat_refresh_totals"),
        Err(e) => {
            let _ = ffi::exec(
                db,
                "ROLLBACK TO otelcat_refresh_totals; RELEASE otelcat_refresh_totals",
            );
            Err(e)
        }
    }
}

/// `otelcat_refresh_totals()`: rebuilds the key totals from the key rows;
/// returns the number of `key_totals` rows.
fn otelcat_refresh_totals(ctx: Ctx, _args: &[Arg]) -> Result<()> {
    let db = ctx.db();
    let named = |e: Error| {
        Error::with_code(
            e.code,
            format!(
                "otelcat_refresh_totals: {} (nothing was written; is this an otelcat catalog of schema version 3?)",
                e.msg
            ),
        )
    };
    refresh_totals_atomic(db).map_err(named)?;
    let mut st = Stmt::prepare(db, "SELECT count(*) FROM main.key_totals").map_err(named)?;
    st.step().map_err(named)?;
    ctx.i64(st.column_i64(0));
    Ok(())
}

pub fn register(db: Db) -> Result<()> {
    ffi::define_scalar(
        db,
        "otelcat_refresh_totals",
        0,
        ffi::direct_only(),
        otelcat_refresh_totals,
    )
}

/// The entity key table of a signal: its name, its entity column, whether
/// it has `event_name`.
fn key_table(signal: &str) -> (&'static str, &'static str, bool) {
    match signal {
        "metrics" => ("metric_key_rows", "metric_name", false),
        "spans" => ("span_key_rows", "span_name", true),
        _ => ("log_key_rows", "severity", false),
    }
}

/// The prepared queries of one signal: whether a row is stored (?1 entity,
/// ?2 scope, ?3 key, ?4 event); the rows of an (entity, scope, key) (?1,
/// ?2, ?3); the scopes a key has (?1 key).
struct Probes {
    has: Stmt,
    in_scope: Stmt,
    scopes: Stmt,
}

#[derive(Default)]
pub(super) struct TotalsQueries(Map<&'static str, Probes>);

impl TotalsQueries {
    fn get(&mut self, db: Db, signal: &'static str) -> Result<&mut Probes> {
        if !self.0.contains_key(signal) {
            let (table, entity, event) = key_table(signal);
            let base = format!("FROM main.{table} WHERE {entity} = ?1");
            let has = if event {
                format!("SELECT 1 {base} AND key_scope = ?2 AND key_name = ?3 AND event_name = ?4")
            } else {
                format!("SELECT 1 {base} AND key_scope = ?2 AND key_name = ?3")
            };
            let probes = Probes {
                has: Stmt::prepare(db, &has)?,
                in_scope: Stmt::prepare(
                    db,
                    &format!("SELECT count(*) {base} AND key_scope = ?2 AND key_name = ?3"),
                )?,
                scopes: Stmt::prepare(
                    db,
                    &format!(
                        "SELECT key_scope FROM main.key_totals WHERE key_name = ?1 AND signal = '{signal}'"
                    ),
                )?,
            };
            self.0.insert(signal, probes);
        }
        Ok(self.0.get_mut(signal).expect("inserted"))
    }
}

/// One `key_totals` row's part of a batch.
struct Total<'a> {
    /// Per entity, its new rows of the (scope, key) (span events: one per
    /// event name).
    new_rows: Map<&'a str, u32>,
    entities: i64,
    count: i64,
    bytes: i64,
    types: [u64; VALUE_TYPES.len()],
    sketch: hll::Builder,
    seen: Seen,
}

fn count_of(st: &mut Stmt) -> Result<i64> {
    let r = st.step();
    let n = st.column_i64(0);
    st.reset();
    r.map(|_| n)
}

impl Writer {
    /// Writes the entity key rows of `signal` with `stmt` (metric_key,
    /// span_key, log_key) and adds them to the key totals.
    pub(super) fn entity_key_rows<'a>(
        &mut self,
        signal: &'static str,
        stmt: &'static str,
        rows: &[KeyRow<'a>],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let db = self.db;
        // Which rows are new (before they are written).
        let mut fresh = Vec::with_capacity(rows.len());
        {
            let p = self.totals.get(db, signal)?;
            for row in rows {
                let st = &mut p.has;
                st.reset();
                for (i, t) in row.texts[..row.n].iter().enumerate() {
                    st.bind_text(i as i32 + 1, t)?;
                }
                let found = st.step();
                st.reset();
                fresh.push(!found?);
            }
        }
        self.key_rows(stmt, rows)?;

        // Per (scope, key): the batch's sums and, per entity, its new rows.
        let mut totals: Map<(&'a str, &'a str), Total<'a>> = Map::new();
        let mut order = Vec::new();
        for (row, &is_new) in rows.iter().zip(&fresh) {
            let [entity, scope, key] = [row.texts[0], row.texts[1], row.texts[2]];
            let Some(a) = row.agg else {
                return Err(Error::new(format!(
                    "otlp_ingest: key totals: an entity key row without its statistics ({entity}, {scope}, {key})"
                )));
            };
            let t = totals.entry((scope, key)).or_insert_with(|| {
                order.push((scope, key));
                Total {
                    new_rows: Map::new(),
                    entities: 0,
                    count: 0,
                    bytes: 0,
                    types: [0; VALUE_TYPES.len()],
                    sketch: hll::Builder::new(),
                    seen: Seen::none(),
                }
            });
            t.count = t.count.checked_add(a.count as i64).ok_or_else(overflow)?;
            t.bytes = t.bytes.checked_add(a.bytes as i64).ok_or_else(overflow)?;
            for (s, n) in t.types.iter_mut().zip(&a.types) {
                *s += n;
            }
            t.sketch.merge(&a.sketch);
            t.seen.merge(&a.seen);
            if is_new {
                *t.new_rows.entry(entity).or_insert(0) += 1;
            }
        }

        // An entity new to a (scope, key): all its rows of it are new. Span
        // events have a row per event name: an entity with a new row of an
        // event is new to the (event, key) if the rows it has are all new.
        let mut events: Vec<(&'a str, &'a str, &'a str)> = Vec::new();
        for t in totals.values_mut() {
            t.entities = t.new_rows.len() as i64;
        }
        // Per (entity, key): whether it had a row of the key before, in a
        // scope of the batch, and those scopes.
        let mut had: Map<(&'a str, &'a str), (bool, Vec<&'a str>)> = Map::new();
        for (row, &is_new) in rows.iter().zip(&fresh) {
            let (entity, scope, key) = (row.texts[0], row.texts[1], row.texts[2]);
            let h = had.entry((entity, key)).or_insert((false, Vec::new()));
            h.0 |= !is_new;
            if !h.1.contains(&scope) {
                h.1.push(scope);
            }
            if is_new && row.n > 3 && !row.texts[3].is_empty() {
                events.push((entity, scope, key));
            }
        }
        events.sort_unstable();
        events.dedup();
        if !events.is_empty() {
            let p = self.totals.get(db, signal)?;
            for (entity, scope, key) in events {
                let t = totals.get_mut(&(scope, key)).expect("counted above");
                let st = &mut p.in_scope;
                st.reset();
                st.bind_text(1, entity)?;
                st.bind_text(2, scope)?;
                st.bind_text(3, key)?;
                if count_of(st)? != i64::from(t.new_rows[entity]) {
                    // Another event name of the span had the key before.
                    t.entities -= 1;
                    had.get_mut(&(entity, key)).expect("counted above").0 = true;
                }
            }
        }

        for (scope, key) in order {
            let t = &totals[&(scope, key)];
            let seen = seen_text(&t.seen);
            let [first, last] = seen_params(&seen);
            let sketch = t.sketch.image();
            let types = types_json(&t.types);
            let row = [
                ("key_name", Param::Text(key)),
                ("signal", Param::Text(signal)),
                ("key_scope", Param::Text(scope)),
                ("entities", Param::Int(t.entities)),
                ("key_count", Param::Int(t.count)),
                ("bytes", Param::Int(t.bytes)),
                ("value_types", Param::Text(&types)),
                ("hll_sketch", Param::Blob(&sketch)),
                ("first_seen", first),
                ("last_seen", last),
            ];
            self.run("key_total", &row, &[key, signal, scope])?;
        }

        // An entity new to a key (in any scope): it had no row of the key
        // in the batch's scopes, nor in the other scopes the key has (one
        // query per key; a lookup per other scope, for such entities only).
        let mut added: Map<&str, i64> = Map::new();
        let mut key_scopes: Map<&str, Vec<String>> = Map::new();
        {
            let p = self.totals.get(db, signal)?;
            let mut fresh_keys: Vec<_> = had
                .iter()
                .filter(|(_, h)| !h.0)
                .map(|(k, h)| (*k, h))
                .collect();
            fresh_keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for ((entity, key), (_, scopes)) in fresh_keys {
                if !key_scopes.contains_key(key) {
                    let st = &mut p.scopes;
                    st.reset();
                    st.bind_text(1, key)?;
                    let mut v = Vec::new();
                    loop {
                        match st.step() {
                            Ok(true) => v.push(st.column_text(0)),
                            Ok(false) => break,
                            Err(e) => {
                                st.reset();
                                return Err(e);
                            }
                        }
                    }
                    st.reset();
                    key_scopes.insert(key, v);
                }
                let mut before = false;
                for other in &key_scopes[key] {
                    if scopes.contains(&other.as_str()) {
                        continue;
                    }
                    let st = &mut p.in_scope;
                    st.reset();
                    st.bind_text(1, entity)?;
                    st.bind_text(2, other)?;
                    st.bind_text(3, key)?;
                    if count_of(st)? > 0 {
                        before = true;
                        break;
                    }
                }
                if !before {
                    *added.entry(key).or_insert(0) += 1;
                }
            }
        }
        let mut added: Vec<_> = added.into_iter().collect();
        added.sort_unstable();
        for (key, n) in added {
            let row = [
                ("key_name", Param::Text(key)),
                ("signal", Param::Text(signal)),
                ("entities", Param::Int(n)),
            ];
            self.run("key_name_total", &row, &[key, signal])?;
        }
        Ok(())
    }
}

fn overflow() -> Error {
    Error::new(
        "otlp_ingest: key totals: a count of the batch overflows 64 bits; nothing was written",
    )
}
