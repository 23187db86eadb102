//! Drain log templates in SQL: `drain_template`, `drain_match`,
//! `drain_params`, `drain_seed`, `drain_configure`, `drain_reset` and the
//! `drain_clusters` table.
//!
//! The engine (`engine/`, `tokenize.rs`) is pure Rust; this module keeps a
//! per-connection registry of models (`store/`) and persists them in the
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
mod generalize;
mod glob;
mod mask;
pub mod store;
mod tokenize;

use std::borrow::Cow;
use std::ffi::c_int;

use crate::ffi::{self, Arg, Ctx, Db, Error, Kind, Result, Stmt, WriteTable, bail, exec};
use engine::DrainConfig;
use store::{INGEST_PREFIX, Shared};

/// Key of the statement-scoped flush object (negative: statement-wide).
const STMT_KEY: c_int = -0x4f43_4452;

fn is_function_owned(name: &str) -> bool {
    !name.starts_with(INGEST_PREFIX)
}

/// A log line's text: text as is (invalid UTF-8 replaced), blobs decoded
/// as UTF-8 with replacement, numbers in their text form. `None` for NULL.
pub fn body_text<'a>(arg: Arg<'a>) -> Option<Cow<'a, str>> {
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

fn partition_arg<'a>(func: &str, args: &[Arg<'a>], pos: usize) -> Result<&'a str> {
    match args.get(pos - 1) {
        None => Ok(""),
        Some(&a) => match a.kind() {
            Kind::Null => Ok(""),
            Kind::Text => a.str(func, pos),
            k => bail!(
                "{func}: argument {pos} (partition) must be TEXT, got {}",
                k.name()
            ),
        },
    }
}

/// A statement that calls the drain functions. Where it runs inside a
/// transaction (BEGIN … COMMIT, or another writing statement), the
/// functions join that transaction (otelcat_drain_sync) and what they
/// change is written when it commits: an error then fails the COMMIT, and
/// a rollback, to a savepoint or whole, puts the models back. A statement
/// running on its own (a SELECT in autocommit mode) writes what it trained
/// when it ends, as its own transaction; SQLite drops this scope then.
struct StmtScope {
    reg: Shared,
    db: Db,
    /// The main database is read-only (looked up once per statement).
    read_only: bool,
    /// The statement runs inside a transaction the functions joined.
    joined: bool,
}

const FLUSH_SQL: &str = "INSERT INTO main.otelcat_drain_sync(op) VALUES ('flush')";
const JOIN_SQL: &str = "INSERT INTO main.otelcat_drain_sync(op) VALUES ('join')";

/// Whether an error is a lock held by another connection: worth retrying
/// later, not worth failing a statement that only reads models.
fn is_lock(e: &Error) -> bool {
    matches!(e.code & 0xff, 5 | 6) // SQLITE_BUSY, SQLITE_LOCKED
}

impl Drop for StmtScope {
    fn drop(&mut self) {
        if self.joined || self.read_only {
            return;
        }
        let dirty = self
            .reg
            .lock()
            .is_some_and(|r| r.has_dirty(is_function_owned));
        if !dirty {
            return;
        }
        // Errors cannot be returned from here (the statement has ended).
        // The write is its own transaction: if it fails, its rollback puts
        // what it wrote back into the dirty sets (see SyncTable), and the
        // next statement that trains writes it first, failing if that
        // still fails (a lock held elsewhere is waited out). If another
        // writing statement started meanwhile, the write is part of it and
        // a failure drops the models: the next call says so.
        let (result, own) = write_models(self.db, &self.reg);
        if let Err(e) = result
            && !own
        {
            self.reg.after(move |r| {
                r.deferred = Some((
                    e.code,
                    format!(
                        "what an earlier statement learned was rolled back with the transaction \
                         that saved it when the statement ended: {}",
                        e.msg
                    ),
                ));
            });
        }
    }
}

/// Writes the dirty models of the drain functions (a nested INSERT into
/// otelcat_drain_sync) as a statement of their own. Returns the outcome
/// and whether the write was its own transaction (no BEGIN in effect and
/// no other writing statement running), in which case a rollback of it
/// keeps what it wrote dirty.
fn write_models(db: Db, reg: &Shared) -> (Result<()>, bool) {
    let own = db.autocommit() && !db.writer_running();
    reg.after(move |r| r.own_write = own);
    let result = exec(db, FLUSH_SQL);
    reg.after(|r| r.own_write = false);
    (result, own)
}

/// Notes the statement; returns the connection and whether the main
/// database is read-only. On a statement's first call: reports an error
/// an earlier statement could not; inside a transaction, joins it;
/// otherwise, for the functions that change models (`writes`), writes what
/// earlier statements learned but could not write, so that a write that
/// keeps failing fails a statement instead of piling up in memory (a lock
/// held elsewhere is waited out, not reported).
fn enter_statement(ctx: Ctx, reg: &Shared, writes: bool) -> Result<(Db, bool)> {
    let db = ctx.db();
    let mut first = false;
    let scope = ffi::stmt_scoped(ctx, STMT_KEY, || {
        first = true;
        if let Some(mut r) = reg.lock() {
            r.check_data_version(db);
            // Within the budget: models written since are clean, and the
            // least recently used go (reloaded when used again).
            let _ = r.shrink(None, |_| false);
        }
        StmtScope {
            reg: reg.clone(),
            db,
            read_only: db.readonly("main"),
            joined: !db.autocommit() || db.writer_running(),
        }
    });
    let (read_only, joined) = match scope {
        Some(s) => (s.read_only, s.joined),
        None => (db.readonly("main"), false),
    };
    if first {
        let (is_joined, pending) = {
            let mut r = borrow("drain", reg)?;
            if let Some((code, why)) = r.deferred.take() {
                return Err(Error::with_code(code, why));
            }
            (r.joined.is_some(), r.has_dirty(is_function_owned))
        };
        if writes && !read_only {
            if joined {
                if !is_joined {
                    exec(db, JOIN_SQL)?;
                }
            } else if pending
                && let (Err(e), _) = write_models(db, reg)
                && !is_lock(&e)
            {
                return Err(Error::with_code(
                    e.code,
                    format!(
                        "what earlier statements learned is not saved yet and cannot be: {}",
                        e.msg
                    ),
                ));
            }
        }
    }
    Ok((db, read_only))
}

/// The error of a function that writes models, on a read-only database.
fn refuse_read_only(func: &str, db: Db) -> Result<()> {
    if db.readonly("main") {
        bail!(
            "{func}: the database is read-only (opened read-only, ?mode=ro or a read-only file), \
             so drain models cannot be changed in it; open it read-write"
        );
    }
    Ok(())
}

/// `e` with its text prefixed by the function's name, unless it names it
/// already (say SQLite's text of a failed nested statement, or a partition
/// that cannot be loaded).
fn named(func: &str, e: Error) -> Error {
    if e.msg.starts_with(func) {
        e
    } else {
        Error::with_code(e.code, format!("{func}: {}", e.msg))
    }
}

fn borrow<'a>(func: &str, reg: &'a Shared) -> Result<store::Guard<'a>> {
    reg.lock().ok_or_else(|| {
        Error::new(format!(
            "{func}: called while the drain models are busy (re-entrant call)"
        ))
    })
}

/// `otelcat_test_drain_memory([budget])` (feature `test-hooks` only): the
/// registry's accounting as JSON `{"models", "bytes", "budget",
/// "evictions"}`; with an argument, sets the budget in bytes first (0: the
/// default).
#[cfg(feature = "test-hooks")]
fn test_drain_memory(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    let mut r = borrow("otelcat_test_drain_memory", reg)?;
    if let Some(a) = args.first() {
        r.budget = a.i64().max(0) as usize;
    }
    let (models, bytes, budget, evictions) = r.memory();
    ctx.text(&format!(
        "{{\"models\": {models}, \"bytes\": {bytes}, \"budget\": {budget}, \"evictions\": {evictions}}}"
    ))
}

/// `drain_template(body [, partition])`.
fn drain_template(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    drain_template_inner(ctx, args, reg).map_err(|e| named("drain_template", e))
}

fn drain_template_inner(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    let partition = partition_arg("drain_template", args, 2)?;
    if partition.starts_with(INGEST_PREFIX) {
        bail!(
            "drain_template: partitions starting with '{INGEST_PREFIX}' belong to otlp_ingest; train them through it"
        );
    }
    let (db, read_only) = enter_statement(ctx, reg, true)?;
    if read_only {
        bail!(
            "drain_template: the database is read-only (opened read-only, ?mode=ro or a read-only file), \
             so what drain_template learns could never be saved; use drain_match, which only reads, \
             or open the database read-write to train"
        );
    }
    let Some(body) = body_text(args[0]) else {
        ctx.null();
        return Ok(());
    };
    let mut r = borrow("drain_template", reg)?;
    if r.joined.is_some() {
        // (a no-op outside a joined transaction: skips a lookup per line)
        r.part(db, partition)?;
        r.changing(partition);
    }
    let part = r.part(db, partition)?;
    let t = part.drain.train(&body);
    part.note(&t);
    ctx.text(part.drain.template(t.cluster_id).unwrap_or(""))
}

/// `drain_match(body [, partition])`.
fn drain_match(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    drain_match_inner(ctx, args, reg).map_err(|e| named("drain_match", e))
}

fn drain_match_inner(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    read_line("drain_match", ctx, args, reg, |drain, body| {
        drain
            .match_line(body)
            .and_then(|id| drain.template(id))
            .map(Cow::Borrowed)
    })
}

/// `drain_params(body [, partition])`: the line's parameter values as a
/// JSON array, in template order; NULL when no template matches.
fn drain_params(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    drain_params_inner(ctx, args, reg).map_err(|e| named("drain_params", e))
}

fn drain_params_inner(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    read_line("drain_params", ctx, args, reg, |drain, body| {
        let (_, values) = drain.params(body)?;
        Some(Cow::Owned(
            serde_json::to_string(&values).unwrap_or_default(),
        ))
    })
}

/// What `drain_match` and `drain_params` share: the line (argument 1) read
/// with the model of the partition (argument 2), which they never change;
/// the text `answer` makes of them, NULL for a NULL line or when it has
/// none.
fn read_line<F>(func: &str, ctx: Ctx, args: &[Arg], reg: &Shared, answer: F) -> Result<()>
where
    F: for<'d> FnOnce(&'d engine::Drain, &str) -> Option<Cow<'d, str>>,
{
    let partition = partition_arg(func, args, 2)?;
    let Some(body) = body_text(args[0]) else {
        ctx.null();
        return Ok(());
    };
    let (db, _) = enter_statement(ctx, reg, false)?;
    let mut r = borrow(func, reg)?;
    let part = r.part(db, partition)?;
    match answer(&part.drain, &body) {
        Some(t) => ctx.text(&t),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

/// `drain_seed(partition, template)`: adds a user's template; returns its
/// cluster id.
fn drain_seed(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    drain_seed_inner(ctx, args, reg).map_err(|e| named("drain_seed", e))
}

fn drain_seed_inner(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    let Kind::Text = args[0].kind() else {
        bail!(
            "drain_seed: argument 1 (partition) must be TEXT, got {}",
            args[0].kind().name()
        );
    };
    let partition = args[0].str("drain_seed", 1)?;
    if partition.starts_with(INGEST_PREFIX) {
        bail!(
            "drain_seed: partitions starting with '{INGEST_PREFIX}' belong to otlp_ingest; seed a partition of your own"
        );
    }
    let Kind::Text = args[1].kind() else {
        bail!(
            "drain_seed: argument 2 (template) must be TEXT, got {}",
            args[1].kind().name()
        );
    };
    let template = args[1].str("drain_seed", 2)?;
    let (db, read_only) = enter_statement(ctx, reg, true)?;
    if read_only {
        bail!(
            "drain_seed: the database is read-only (opened read-only, ?mode=ro or a read-only file), \
             so a seeded template could never be saved; open it read-write"
        );
    }
    let mut r = borrow("drain_seed", reg)?;
    r.part(db, partition)?;
    r.changing(partition);
    let part = r.part(db, partition)?;
    let t = part
        .drain
        .seed(template)
        .map_err(|e| Error::new(format!("drain_seed: partition '{partition}': {e}")))?;
    part.note(&t);
    ctx.i64(t.cluster_id as i64);
    Ok(())
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
    if text.len() > engine::MAX_CONFIG_JSON_BYTES {
        bail!(
            "{func}: drain config: the JSON text is {} bytes, more than {}",
            text.len(),
            engine::MAX_CONFIG_JSON_BYTES
        );
    }
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
fn drain_configure(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    drain_configure_inner(ctx, args, reg).map_err(|e| named("drain_configure", e))
}

fn drain_configure_inner(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    let db = ctx.db();
    refuse_read_only("drain_configure", db)?;
    enter_statement(ctx, reg, true)?;
    store::ensure_schema(db)?;
    if args.len() == 1 {
        let cfg = config_arg("drain_configure", args[0], 1, &DrainConfig::default())?;
        let mut st = Stmt::prepare(
            db,
            "INSERT INTO main.otelcat_meta(key, value) VALUES ('drain_default_config', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?;
        st.bind_text(1, &cfg.to_json())?;
        st.run()?;
        return ctx.text(&cfg.to_json());
    }
    let Kind::Text = args[0].kind() else {
        bail!(
            "drain_configure: argument 1 (partition) must be TEXT, got {}",
            args[0].kind().name()
        );
    };
    let partition = args[0].str("drain_configure", 1)?;
    let cfg = config_arg("drain_configure", args[1], 2, &store::default_config(db)?)?;
    let mut r = borrow("drain_configure", reg)?;
    r.part(db, partition)?;
    r.changing(partition);
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
         ON CONFLICT(partition) DO UPDATE SET config = excluded.config, layout = excluded.layout",
    )?;
    st.bind_text(1, partition)?;
    st.bind_text(2, &json)?;
    st.bind_i64(3, store::LAYOUT)?;
    st.run()?;
    if part.drain.is_empty() {
        // (ids continue above those the partition gave before a reset)
        let last_id = part.drain.last_id();
        part.drain = engine::Drain::new(cfg);
        part.drain.continue_after(last_id);
    }
    part.config_json = json.clone();
    part.stored = true;
    part.layout = store::LAYOUT;
    ctx.text(&json)
}

/// `drain_reset(partition)`: forgets a partition; returns the clusters removed.
fn drain_reset(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    drain_reset_inner(ctx, args, reg).map_err(|e| named("drain_reset", e))
}

fn drain_reset_inner(ctx: Ctx, args: &[Arg], reg: &Shared) -> Result<()> {
    let partition = partition_arg("drain_reset", args, 1)?;
    let db = ctx.db();
    refuse_read_only("drain_reset", db)?;
    enter_statement(ctx, reg, true)?;
    let mut r = borrow("drain_reset", reg)?;
    if r.ingest_pending.contains(partition) {
        bail!(
            "drain_reset: otlp_ingest counted log lines in partition '{partition}' in this transaction \
             and writes their templates at COMMIT; reset it after the transaction ends"
        );
    }
    r.changing(partition);
    // (without loading the model: a partition whose rows cannot be read
    // can be reset)
    let n = r.reset(db, partition)?;
    ctx.i64(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// otelcat_drain_sync: joins transactions to write models and hear rollbacks

pub struct SyncTable {
    db: Db,
    reg: Shared,
}

impl WriteTable for SyncTable {
    type Aux = Shared;
    const NAME: &'static str = "otelcat_drain_sync";
    const SCHEMA: &'static str = "CREATE TABLE x(op TEXT)";

    fn connect(db: Db, _schema: &str, aux: &Shared) -> Result<Self> {
        Ok(SyncTable {
            db,
            reg: aux.clone(),
        })
    }
    /// `op`: 'join' (the drain functions take part in the transaction: see
    /// StmtScope) or 'flush' (write what they changed, now).
    fn insert(&mut self, values: &[Arg]) -> Result<()> {
        let op = match values.first().copied() {
            Some(a) if a.kind() == Kind::Text => a.str(Self::NAME, 1)?,
            _ => "",
        };
        match op {
            "join" | "flush" => store::ensure_schema(self.db)?,
            _ => bail!("{}: op must be 'flush' or 'join'", Self::NAME),
        }
        if op == "join" {
            borrow(Self::NAME, &self.reg)?.join();
            Ok(())
        } else {
            self.flush()
        }
    }
    /// (DDL is not allowed here: the tables were made at the join.)
    fn sync(&mut self) -> Result<()> {
        let joined = borrow(Self::NAME, &self.reg)?.joined.is_some();
        if joined { self.flush() } else { Ok(()) }
    }
    fn commit(&mut self) -> Result<()> {
        let db = self.db;
        self.reg.after(move |r| {
            r.written_in_txn.clear();
            r.leave(true);
            // The file changed by this commit is what the models hold: keep
            // them (without this, the next statement would reload every
            // model from the file).
            r.note_own_commit(db);
        });
        Ok(())
    }
    fn rollback(&mut self) -> Result<()> {
        self.reg.after(|r| {
            let written = std::mem::take(&mut r.written_in_txn);
            if r.own_write {
                // A statement-end write that was its own transaction: the
                // statements that learned it have returned; keep it dirty.
                r.requeue(written);
            } else {
                let names: Vec<String> = written.into_keys().collect();
                r.forget(&names);
            }
            r.leave(false);
        });
        Ok(())
    }
    fn savepoint(&mut self, level: c_int) -> Result<()> {
        self.reg.after(move |r| r.savepoint(level));
        Ok(())
    }
    fn release(&mut self, level: c_int) -> Result<()> {
        self.reg.after(move |r| r.release(level));
        Ok(())
    }
    fn rollback_to(&mut self, level: c_int) -> Result<()> {
        self.reg.after(move |r| {
            if r.joined.is_some() {
                r.rollback_to(level);
            } else {
                // What was written since the savepoint is gone from the
                // file: reload those models (the file still holds what
                // earlier statements of the transaction wrote).
                let names: Vec<String> = r.written_in_txn.keys().cloned().collect();
                r.forget(&names);
            }
        });
        Ok(())
    }
}

impl SyncTable {
    fn flush(&mut self) -> Result<()> {
        let mut r = borrow(Self::NAME, &self.reg)?;
        let mut written = std::mem::take(&mut r.written_in_txn);
        let result = r.flush(self.db, is_function_owned, &mut written);
        r.written_in_txn = written;
        result
    }
}

// ---------------------------------------------------------------------------
// drain_clusters table-valued function

/// `drain_clusters` / `drain_clusters('partition')`: the clusters of every
/// stored partition, or of one.
struct ClustersTable {
    db: Db,
    reg: Shared,
    /// Test hook (builds with the feature `test-hooks` only): the callback
    /// that panics on purpose, from OTELCAT_TEST_PANIC_DRAIN_CLUSTERS when
    /// the extension loads.
    panic_at: Option<String>,
}

/// What every `drain_clusters` table of the connection shares.
struct ClustersAux {
    reg: Shared,
    panic_at: Option<String>,
}

struct ClusterRow {
    partition: String,
    id: i64,
    template: String,
    size: i64,
    example: String,
    last_used: i64,
}

impl ffi::TableFunction for ClustersTable {
    type Aux = ClustersAux;
    type Row = ClusterRow;
    const NAME: &'static str = "drain_clusters";
    const SCHEMA: &'static str = "CREATE TABLE x(partition TEXT, cluster_id INTEGER, template TEXT, \
        size INTEGER, example TEXT, last_used INTEGER, part HIDDEN)";
    const FIRST_ARG: c_int = 6;

    fn connect(db: Db, aux: &ClustersAux) -> Result<Self> {
        Ok(ClustersTable {
            db,
            reg: aux.reg.clone(),
            panic_at: aux.panic_at.clone(),
        })
    }

    fn at(&self, callback: &str) {
        if self.panic_at.as_deref() == Some(callback) {
            panic!("test panic requested ({} {callback})", Self::NAME);
        }
    }

    fn rows(&self, args: &[Option<Arg>]) -> Result<Vec<ClusterRow>> {
        let name = Self::NAME;
        let only = match args.first().copied().flatten() {
            None => None,
            Some(a) => match a.kind() {
                Kind::Null => None,
                Kind::Text => Some(a.str(name, 1)?.to_string()),
                k => bail!(
                    "{name}: argument 1 (partition) must be TEXT, got {}",
                    k.name()
                ),
            },
        };
        let mut r = borrow(name, &self.reg)?;
        r.check_data_version(self.db);
        let mut names: Vec<String> = match &only {
            Some(p) => vec![p.clone()],
            None => r.stored_names(self.db).map_err(|e| named(name, e))?,
        };
        names.sort();
        names.dedup();
        let mut rows = Vec::new();
        for n in names {
            // One model at a time, within the memory budget.
            r.part(self.db, &n).map_err(|e| named(name, e))?;
            let keep = n.clone();
            let _ = r.shrink(None, |x| x == keep);
            let Some(part) = r.loaded(&n) else { continue };
            let mut cl: Vec<_> = part.drain.clusters().collect();
            cl.sort_by_key(|c| c.id());
            rows.extend(cl.into_iter().map(|cluster| ClusterRow {
                partition: n.clone(),
                id: cluster.id() as i64,
                template: cluster.template().to_string(),
                size: cluster.size() as i64,
                example: cluster.example().to_string(),
                last_used: cluster.last_used() as i64,
            }));
        }
        Ok(rows)
    }

    fn column(row: &ClusterRow, ctx: Ctx, col: c_int) -> Result<()> {
        match col {
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
}

pub fn register(db: Db, reg: &Shared) -> Result<()> {
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
    ffi::define_scalar_with(db, "drain_params", 1, read, reg.clone(), drain_params)?;
    ffi::define_scalar_with(db, "drain_params", 2, read, reg.clone(), drain_params)?;
    ffi::define_scalar_with(db, "drain_seed", 2, train, reg.clone(), drain_seed)?;
    #[cfg(feature = "test-hooks")]
    {
        ffi::define_scalar_with(
            db,
            "otelcat_test_drain_memory",
            0,
            ffi::impure(),
            reg.clone(),
            test_drain_memory,
        )?;
        ffi::define_scalar_with(
            db,
            "otelcat_test_drain_memory",
            1,
            ffi::impure(),
            reg.clone(),
            test_drain_memory,
        )?;
    }
    let panic_at = if cfg!(feature = "test-hooks") {
        std::env::var("OTELCAT_TEST_PANIC_DRAIN_CLUSTERS").ok()
    } else {
        None
    };
    ffi::define_table_function::<ClustersTable>(
        db,
        ClustersAux {
            reg: reg.clone(),
            panic_at,
        },
    )?;
    ffi::define_write_table::<SyncTable>(db, reg.clone())?;
    Ok(())
}
