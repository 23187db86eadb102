//! Drain log templates in SQL: `drain_template`, `drain_match`,
//! `drain_configure`, `drain_reset` and the `drain_clusters` table.
//!
//! The engine (`engine.rs`, `tokenize.rs`) is pure Rust; this module keeps a
//! per-connection registry of models (`store.rs`) and persists them in the
//! database:
//!
//! * `drain_template` trains in memory; at the end of each statement the
//!   clusters it changed are written by a nested
//!   `INSERT INTO otelcat_drain_sync` whose virtual table joins the
//!   statement's transaction. The statement end is detected with
//!   statement-scoped auxiliary data, which SQLite drops when the statement
//!   halts, before it commits (see `ffi::stmt_scoped`). So what a committed
//!   statement learned is in the file for the next connection.
//! * When that transaction (or the statement's savepoint) rolls back,
//!   `otelcat_drain_sync` hears it (xRollback / xRollbackTo) and the models
//!   it wrote are dropped from memory, to be reloaded from the rolled-back
//!   file on next use: the connection does not keep what was rolled back.
//! * Another connection's commit changes `PRAGMA data_version`; models are
//!   then reloaded at the next statement.

pub mod engine;
pub mod store;
mod tokenize;

use std::borrow::Cow;
use std::ffi::c_int;

use sqlite_loadable::table::{
    BestIndexError, ConstraintOperator, IndexInfo, VTab, VTabArguments, VTabCursor,
    define_table_function,
};

use crate::ffi::{
    self, Arg, Ctx, Error, Kind, Result, Stmt, WriteTable, bail, exec, sqlite3, sqlite3_context,
    sqlite3_value, sqlite3_vtab, sqlite3_vtab_cursor,
};
use engine::DrainConfig;
use store::{INGEST_PREFIX, Registry, Shared};

/// Key of the statement-scoped flush object (negative: statement-wide).
const STMT_KEY: c_int = -0x4f43_4452;

fn is_function_owned(name: &str) -> bool {
    !name.starts_with(INGEST_PREFIX)
}

/// A log line's text: text as is (invalid UTF-8 replaced), blobs decoded
/// as UTF-8 with replacement, numbers in their text form. `None` for NULL.
pub fn body_text<'a>(arg: Arg) -> Option<Cow<'a, str>> {
    match arg.kind() {
        Kind::Null => None,
        Kind::Text | Kind::Blob => {
            let bytes: &'a [u8] = if arg.kind() == Kind::Text {
                arg.text_bytes()
            } else {
                arg.blob()
            };
            // from_utf8 is the fast check; lossy decoding only for bad bytes.
            Some(match std::str::from_utf8(bytes) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => String::from_utf8_lossy(bytes),
            })
        }
        Kind::Integer | Kind::Real => {
            let mut buf = String::new();
            crate::text::value_bytes(arg, &mut buf);
            Some(Cow::Owned(buf))
        }
    }
}

fn partition_arg<'a>(func: &str, args: &[*mut sqlite3_value], pos: usize) -> Result<&'a str> {
    match args.get(pos - 1) {
        None => Ok(""),
        Some(&a) => match Arg(a).kind() {
            Kind::Null => Ok(""),
            Kind::Text => Arg(a).str(func, pos),
            k => bail!(
                "{func}: argument {pos} (partition) must be TEXT, got {}",
                k.name()
            ),
        },
    }
}

/// Flushes what the statement trained when SQLite drops it at statement end.
struct StmtScope {
    reg: Shared,
    db: *mut sqlite3,
}

impl Drop for StmtScope {
    fn drop(&mut self) {
        let dirty = self
            .reg
            .try_borrow()
            .map(|r| r.has_dirty(is_function_owned))
            .unwrap_or(false);
        if dirty {
            // Errors cannot be reported from here: on failure (say the write
            // lock is busy) the clusters stay dirty and the next statement
            // writes them.
            let _ = exec(
                self.db,
                "INSERT INTO main.otelcat_drain_sync(op) VALUES ('flush')",
            );
        }
    }
}

fn enter_statement(ctx: Ctx, reg: &Shared) -> *mut sqlite3 {
    let db = ctx.db();
    ffi::stmt_scoped(ctx, STMT_KEY, || {
        if let Ok(mut r) = reg.try_borrow_mut() {
            r.check_data_version(db);
        }
        StmtScope {
            reg: reg.clone(),
            db,
        }
    });
    db
}

fn borrow<'a>(func: &str, reg: &'a Shared) -> Result<std::cell::RefMut<'a, Registry>> {
    reg.try_borrow_mut().map_err(|_| {
        Error::new(format!(
            "{func}: called while the drain models are busy (re-entrant call)"
        ))
    })
}

/// `drain_template(body [, partition])`.
fn drain_template(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    let partition = partition_arg("drain_template", args, 2)?;
    if partition.starts_with(INGEST_PREFIX) {
        bail!(
            "drain_template: partitions starting with '{INGEST_PREFIX}' belong to otlp_ingest; train them through it"
        );
    }
    let Some(body) = body_text(Arg(args[0])) else {
        ctx.null();
        return Ok(());
    };
    let db = enter_statement(ctx, reg);
    let mut r = borrow("drain_template", reg)?;
    let part = r.part(db, partition)?;
    let t = part.drain.train(&body);
    part.note(&t);
    ctx.text(part.drain.template(t.cluster_id).unwrap_or(""))
}

/// `drain_match(body [, partition])`.
fn drain_match(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    let partition = partition_arg("drain_match", args, 2)?;
    let Some(body) = body_text(Arg(args[0])) else {
        ctx.null();
        return Ok(());
    };
    let db = enter_statement(ctx, reg);
    let mut r = borrow("drain_match", reg)?;
    let part = r.part(db, partition)?;
    match part
        .drain
        .match_line(&body)
        .and_then(|id| part.drain.template(id))
    {
        Some(t) => ctx.text(t),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

/// Parses a configuration argument: its keys override `base`.
fn config_arg(func: &str, arg: Arg, pos: usize, base: &DrainConfig) -> Result<DrainConfig> {
    if arg.kind() != Kind::Text {
        bail!(
            "{func}: argument {pos} must be a JSON object as TEXT, got {}",
            arg.kind().name()
        );
    }
    let text = arg.str(func, pos)?;
    let mut merged: serde_json::Value =
        serde_json::from_str(&base.to_json()).expect("to_json writes an object");
    if let (Ok(serde_json::Value::Object(given)), Some(m)) = (
        serde_json::from_str::<serde_json::Value>(text),
        merged.as_object_mut(),
    ) {
        m.extend(given);
        return DrainConfig::from_json(&merged.to_string())
            .map_err(|e| Error::new(format!("{func}: {e}")));
    }
    // Not an object: let the parser say what is wrong with it.
    DrainConfig::from_json(text).map_err(|e| Error::new(format!("{func}: {e}")))
}

/// `drain_configure(json)` sets the default for new partitions;
/// `drain_configure(partition, json)` configures one partition.
fn drain_configure(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    let db = ctx.db();
    store::ensure_schema(db)?;
    if args.len() == 1 {
        let cfg = config_arg("drain_configure", Arg(args[0]), 1, &DrainConfig::default())?;
        let mut st = Stmt::prepare(
            db,
            "INSERT INTO main.otelcat_meta(key, value) VALUES ('drain_default_config', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?;
        st.bind_text(1, &cfg.to_json())?;
        st.run()?;
        return ctx.text(&cfg.to_json());
    }
    let Kind::Text = Arg(args[0]).kind() else {
        bail!(
            "drain_configure: argument 1 (partition) must be TEXT, got {}",
            Arg(args[0]).kind().name()
        );
    };
    let partition = Arg(args[0]).str("drain_configure", 1)?;
    let cfg = config_arg(
        "drain_configure",
        Arg(args[1]),
        2,
        &store::default_config(db)?,
    )?;
    let mut r = borrow("drain_configure", reg)?;
    let part = r.part(db, partition)?;
    if !part.drain.is_empty() && part.drain.config() != &cfg {
        bail!(
            "drain_configure: partition '{partition}' already holds {} clusters trained with another configuration; \
             call drain_reset('{partition}') first",
            part.drain.len()
        );
    }
    let json = cfg.to_json();
    let mut st = Stmt::prepare(
        db,
        "INSERT INTO main.otelcat_drain_partitions(partition, config, layout) VALUES (?1, ?2, ?3)
         ON CONFLICT(partition) DO UPDATE SET config = excluded.config",
    )?;
    st.bind_text(1, partition)?;
    st.bind_text(2, &json)?;
    st.bind_i64(3, store::LAYOUT)?;
    st.run()?;
    if part.drain.is_empty() {
        part.drain = engine::Drain::new(cfg);
    }
    part.config_json = json.clone();
    part.stored = true;
    ctx.text(&json)
}

/// `drain_reset(partition)`: forgets a partition; returns the clusters removed.
fn drain_reset(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    let partition = partition_arg("drain_reset", args, 1)?;
    let db = ctx.db();
    let mut r = borrow("drain_reset", reg)?;
    let n = r.part(db, partition)?.drain.len();
    r.reset(db, partition)?;
    ctx.i64(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// otelcat_drain_sync: joins transactions to write models and hear rollbacks

pub struct SyncTable {
    db: *mut sqlite3,
    reg: Shared,
}

impl WriteTable for SyncTable {
    type Aux = Shared;
    const NAME: &'static str = "otelcat_drain_sync";
    const SCHEMA: &'static str = "CREATE TABLE x(op TEXT)";

    fn connect(db: *mut sqlite3, _schema: &str, aux: &'static Shared) -> Result<Self> {
        Ok(SyncTable {
            db,
            reg: aux.clone(),
        })
    }
    fn insert(&mut self, _values: &[*mut sqlite3_value]) -> Result<()> {
        store::ensure_schema(self.db)?;
        let mut r = borrow(Self::NAME, &self.reg)?;
        let written = r.flush(self.db, is_function_owned)?;
        r.written_in_txn.extend(written);
        Ok(())
    }
    fn commit(&mut self) -> Result<()> {
        if let Ok(mut r) = self.reg.try_borrow_mut() {
            r.written_in_txn.clear();
        }
        Ok(())
    }
    fn rollback(&mut self) -> Result<()> {
        if let Ok(mut r) = self.reg.try_borrow_mut() {
            let names = std::mem::take(&mut r.written_in_txn);
            r.forget(&names);
        }
        Ok(())
    }
    fn rollback_to(&mut self, _level: c_int) -> Result<()> {
        // What was written since the savepoint is gone from the file: reload
        // those models (conservatively, all written in this transaction).
        if let Ok(mut r) = self.reg.try_borrow_mut() {
            let names: Vec<String> = r.written_in_txn.iter().cloned().collect();
            r.forget(&names);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// drain_clusters table-valued function

#[repr(C)]
pub struct ClustersTable {
    base: sqlite3_vtab,
    db: *mut sqlite3,
    reg: Shared,
}

struct ClusterRow {
    partition: String,
    id: i64,
    template: String,
    size: i64,
    example: String,
    last_used: i64,
}

#[repr(C)]
pub struct ClustersCursor {
    base: sqlite3_vtab_cursor,
    db: *mut sqlite3,
    reg: Shared,
    rows: Vec<ClusterRow>,
    i: usize,
}

const COL_PART_ARG: c_int = 6;

impl<'vtab> VTab<'vtab> for ClustersTable {
    type Aux = Shared;
    type Cursor = ClustersCursor;

    fn connect(
        db: *mut sqlite3,
        aux: Option<&Shared>,
        _args: VTabArguments,
    ) -> sqlite_loadable::Result<(String, Self)> {
        let reg = aux
            .ok_or_else(|| sqlite_loadable::Error::new_message("drain_clusters: no registry"))?
            .clone();
        Ok((
            "CREATE TABLE x(partition TEXT, cluster_id INTEGER, template TEXT, size INTEGER, \
             example TEXT, last_used INTEGER, part HIDDEN)"
                .into(),
            ClustersTable {
                base: unsafe { std::mem::zeroed() },
                db,
                reg,
            },
        ))
    }

    fn best_index(&self, mut info: IndexInfo) -> std::result::Result<(), BestIndexError> {
        let r = ffi::guard("drain_clusters", || {
            let mut filtered = false;
            for mut c in info.constraints() {
                if c.column_idx() == COL_PART_ARG
                    && c.usable()
                    && matches!(c.op(), Some(ConstraintOperator::EQ))
                {
                    c.set_argv_index(1);
                    c.set_omit(true);
                    filtered = true;
                    break;
                }
            }
            info.set_idxnum(filtered as i32);
            info.set_estimated_cost(if filtered { 10.0 } else { 1000.0 });
            Ok(())
        });
        r.map_err(|_| BestIndexError::Error)
    }

    fn open(&'vtab mut self) -> sqlite_loadable::Result<ClustersCursor> {
        Ok(ClustersCursor {
            base: unsafe { std::mem::zeroed() },
            db: self.db,
            reg: self.reg.clone(),
            rows: Vec::new(),
            i: 0,
        })
    }
}

impl VTabCursor for ClustersCursor {
    fn filter(
        &mut self,
        idx_num: c_int,
        _idx_str: Option<&str>,
        values: &[*mut sqlite3_value],
    ) -> sqlite_loadable::Result<()> {
        let rows = ffi::guard("drain_clusters", || {
            let only = if idx_num == 1 && !values.is_empty() {
                match Arg(values[0]).kind() {
                    Kind::Null => None,
                    Kind::Text => Some(Arg(values[0]).str("drain_clusters", 1)?.to_string()),
                    k => bail!(
                        "drain_clusters: argument 1 (partition) must be TEXT, got {}",
                        k.name()
                    ),
                }
            } else {
                None
            };
            let mut r = borrow("drain_clusters", &self.reg)?;
            r.check_data_version(self.db);
            match &only {
                Some(p) => {
                    r.part(self.db, p)?;
                }
                None => r.load_all(self.db)?,
            }
            let mut names: Vec<String> = r
                .names()
                .filter(|n| only.as_deref().is_none_or(|o| o == *n))
                .cloned()
                .collect();
            names.sort();
            let mut rows = Vec::new();
            for n in names {
                let part = r.loaded(&n).expect("listed");
                let mut cl: Vec<_> = part.drain.clusters().collect();
                cl.sort_by_key(|c| c.id());
                rows.extend(cl.into_iter().map(|c| ClusterRow {
                    partition: n.clone(),
                    id: c.id() as i64,
                    template: c.template().to_string(),
                    size: c.size() as i64,
                    example: c.example().to_string(),
                    last_used: c.last_used() as i64,
                }));
            }
            Ok(rows)
        })?;
        self.rows = rows;
        self.i = 0;
        Ok(())
    }
    fn next(&mut self) -> sqlite_loadable::Result<()> {
        self.i += 1;
        Ok(())
    }
    fn eof(&self) -> bool {
        self.i >= self.rows.len()
    }
    fn column(&self, ctx: *mut sqlite3_context, i: c_int) -> sqlite_loadable::Result<()> {
        let ctx = Ctx(ctx);
        let row = &self.rows[self.i];
        match i {
            0 => ctx.text(&row.partition)?,
            1 => ctx.i64(row.id),
            2 => ctx.text(&row.template)?,
            3 => ctx.i64(row.size),
            4 => ctx.text(&row.example)?,
            5 => ctx.i64(row.last_used),
            _ => ctx.null(),
        }
        Ok(())
    }
    fn rowid(&self) -> sqlite_loadable::Result<i64> {
        Ok(self.i as i64)
    }
}

pub fn register(db: *mut sqlite3, reg: &Shared) -> Result<()> {
    // Training changes stored state: callable from top-level SQL only, never
    // from a view or trigger of a (possibly untrusted) database file.
    let train = ffi::direct_only();
    let read = ffi::impure(); // drain_match reads a model that changes: not deterministic
    ffi::define_scalar_with(db, "drain_template", 1, train, reg.clone(), drain_template)?;
    ffi::define_scalar_with(db, "drain_template", 2, train, reg.clone(), drain_template)?;
    ffi::define_scalar_with(db, "drain_match", 1, read, reg.clone(), drain_match)?;
    ffi::define_scalar_with(db, "drain_match", 2, read, reg.clone(), drain_match)?;
    ffi::define_scalar_with(
        db,
        "drain_configure",
        1,
        train,
        reg.clone(),
        drain_configure,
    )?;
    ffi::define_scalar_with(
        db,
        "drain_configure",
        2,
        train,
        reg.clone(),
        drain_configure,
    )?;
    ffi::define_scalar_with(db, "drain_reset", 1, train, reg.clone(), drain_reset)?;
    define_table_function::<ClustersTable>(db, "drain_clusters", Some(reg.clone()))
        .map_err(|_| Error::new("otelcat: cannot register drain_clusters"))?;
    ffi::define_write_table::<SyncTable>(db, reg.clone())?;
    Ok(())
}
