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

use crate::ffi::{
    self, Arg, Ctx, Error, Kind, Result, Stmt, WriteTable, bail, exec, sqlite3, sqlite3_context,
    sqlite3_index_info, sqlite3_module, sqlite3_value, sqlite3_vtab, sqlite3_vtab_cursor,
};
use engine::DrainConfig;
use store::{INGEST_PREFIX, Shared};

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

/// A statement that calls the drain functions. Where it runs inside a
/// transaction (BEGIN … COMMIT, or another writing statement), the
/// functions join that transaction (otelcat_drain_sync) and what they
/// change is written when it commits: an error then fails the COMMIT, and
/// a rollback, to a savepoint or whole, puts the models back. A statement
/// running on its own (a SELECT in autocommit mode) writes what it trained
/// when it ends, as its own transaction; SQLite drops this scope then.
struct StmtScope {
    reg: Shared,
    db: *mut sqlite3,
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
fn write_models(db: *mut sqlite3, reg: &Shared) -> (Result<()>, bool) {
    let own = ffi::autocommit(db) && !ffi::writer_running(db);
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
fn enter_statement(ctx: Ctx, reg: &Shared, writes: bool) -> Result<(*mut sqlite3, bool)> {
    let db = ctx.db();
    let mut first = false;
    let scope = ffi::stmt_scoped(ctx, STMT_KEY, || {
        first = true;
        if let Some(mut r) = reg.lock() {
            r.check_data_version(db);
        }
        StmtScope {
            reg: reg.clone(),
            db,
            read_only: ffi::db_readonly(db, "main"),
            joined: !ffi::autocommit(db) || ffi::writer_running(db),
        }
    });
    // SAFETY: SQLite keeps the scope until the statement ends (null if it
    // could not store it).
    let (read_only, joined) = match unsafe { scope.as_ref() } {
        Some(s) => (s.read_only, s.joined),
        None => (ffi::db_readonly(db, "main"), false),
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
            } else if pending && let (Err(e), _) = write_models(db, reg) {
                if !is_lock(&e) {
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
    }
    Ok((db, read_only))
}

/// The error of a function that writes models, on a read-only database.
fn refuse_read_only(func: &str, db: *mut sqlite3) -> Result<()> {
    if ffi::db_readonly(db, "main") {
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

/// `drain_template(body [, partition])`.
fn drain_template(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    drain_template_inner(ctx, args, reg).map_err(|e| named("drain_template", e))
}

fn drain_template_inner(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
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
    let Some(body) = body_text(Arg(args[0])) else {
        ctx.null();
        return Ok(());
    };
    let mut r = borrow("drain_template", reg)?;
    r.part(db, partition)?;
    r.changing(partition);
    let part = r.part(db, partition)?;
    let t = part.drain.train(&body);
    part.note(&t);
    ctx.text(part.drain.template(t.cluster_id).unwrap_or(""))
}

/// `drain_match(body [, partition])`.
fn drain_match(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    drain_match_inner(ctx, args, reg).map_err(|e| named("drain_match", e))
}

fn drain_match_inner(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    let partition = partition_arg("drain_match", args, 2)?;
    let Some(body) = body_text(Arg(args[0])) else {
        ctx.null();
        return Ok(());
    };
    let (db, _) = enter_statement(ctx, reg, false)?;
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
fn drain_configure(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    drain_configure_inner(ctx, args, reg).map_err(|e| named("drain_configure", e))
}

fn drain_configure_inner(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    let db = ctx.db();
    refuse_read_only("drain_configure", db)?;
    enter_statement(ctx, reg, true)?;
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
         ON CONFLICT(partition) DO UPDATE SET config = excluded.config",
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
    ctx.text(&json)
}

/// `drain_reset(partition)`: forgets a partition; returns the clusters removed.
fn drain_reset(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    drain_reset_inner(ctx, args, reg).map_err(|e| named("drain_reset", e))
}

fn drain_reset_inner(ctx: Ctx, args: &[*mut sqlite3_value], reg: &Shared) -> Result<()> {
    let partition = partition_arg("drain_reset", args, 1)?;
    let db = ctx.db();
    refuse_read_only("drain_reset", db)?;
    enter_statement(ctx, reg, true)?;
    let mut r = borrow("drain_reset", reg)?;
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
    /// `op`: 'join' (the drain functions take part in the transaction: see
    /// StmtScope) or 'flush' (write what they changed, now).
    fn insert(&mut self, values: &[*mut sqlite3_value]) -> Result<()> {
        let op = match values.first().map(|&v| Arg(v)) {
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
//
// Its module is written here against the C interface (not sqlite-loadable's
// table plumbing, which calls into Rust without a panic guard): every
// callback SQLite makes runs inside `ffi::guard`, so a panic is an SQL error
// (or, where SQLite takes no error, a harmless answer) and never unwinds
// into SQLite.

const CLUSTERS: &str = "drain_clusters";

/// Column of the hidden `part` argument: `drain_clusters('name')`.
const COL_PART_ARG: c_int = 6;
const SQLITE_INDEX_CONSTRAINT_EQ: u8 = 2;

/// The module and what every table and cursor of the connection shares.
struct ClustersModule {
    module: sqlite3_module,
    reg: Shared,
    /// Test hook (OTELCAT_TEST_HOOKS=1): the callback that panics on purpose,
    /// from OTELCAT_TEST_PANIC_DRAIN_CLUSTERS when the extension loads.
    panic_at: Option<String>,
}

#[repr(C)]
struct ClustersTable {
    base: sqlite3_vtab,
    db: *mut sqlite3,
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

#[repr(C)]
struct ClustersCursor {
    base: sqlite3_vtab_cursor,
    rows: Vec<ClusterRow>,
    i: usize,
}

impl ClustersTable {
    fn test_panic(&self, here: &str) {
        if self.panic_at.as_deref() == Some(here) {
            panic!("test panic requested ({CLUSTERS} {here})");
        }
    }
}

/// The table a cursor belongs to.
unsafe fn table_of<'a>(cur: *mut sqlite3_vtab_cursor) -> &'a ClustersTable {
    unsafe { &*((*cur).pVtab as *const ClustersTable) }
}

/// Copies `msg` into memory from sqlite3_malloc (SQLite frees error texts).
fn sqlite_string(msg: &str) -> *mut std::ffi::c_char {
    let p = ffi::sqlite!(malloc64(msg.len() as u64 + 1)) as *mut u8;
    if !p.is_null() {
        // SAFETY: p holds msg.len() + 1 bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(msg.as_ptr(), p, msg.len());
            for i in 0..msg.len() {
                if *p.add(i) == 0 {
                    *p.add(i) = b'?';
                }
            }
            *p.add(msg.len()) = 0;
        }
    }
    p as *mut std::ffi::c_char
}

/// Reports `r`'s error as the table's error message; returns the code.
unsafe fn vtab_result(vtab: *mut sqlite3_vtab, r: Result<()>) -> c_int {
    match r {
        Ok(()) => ffi::SQLITE_OK,
        Err(e) => unsafe {
            if !(*vtab).zErrMsg.is_null() {
                ffi::sqlite!(free((*vtab).zErrMsg as *mut std::ffi::c_void));
            }
            (*vtab).zErrMsg = sqlite_string(&e.msg);
            e.code
        },
    }
}

unsafe extern "C" fn clusters_connect(
    db: *mut sqlite3,
    p_aux: *mut std::ffi::c_void,
    _argc: c_int,
    _argv: *const *const std::ffi::c_char,
    pp_vtab: *mut *mut sqlite3_vtab,
    pz_err: *mut *mut std::ffi::c_char,
) -> c_int {
    let r = ffi::guard(CLUSTERS, || {
        // SAFETY: p_aux is the ClustersModule registered with the module.
        let m = unsafe { &*(p_aux as *const ClustersModule) };
        if m.panic_at.as_deref() == Some("connect") {
            panic!("test panic requested ({CLUSTERS} connect)");
        }
        let decl =
            c"CREATE TABLE x(partition TEXT, cluster_id INTEGER, template TEXT, size INTEGER, \
                     example TEXT, last_used INTEGER, part HIDDEN)";
        let rc = ffi::sqlite!(declare_vtab(db, decl.as_ptr()));
        if rc != ffi::SQLITE_OK {
            bail!("{CLUSTERS}: cannot declare the table (code {rc})");
        }
        let t = Box::new(ClustersTable {
            // SAFETY: a plain C struct; all-zero is its initial state.
            base: unsafe { std::mem::zeroed() },
            db,
            reg: m.reg.clone(),
            panic_at: m.panic_at.clone(),
        });
        // SAFETY: SQLite passes a valid out pointer.
        unsafe { *pp_vtab = Box::into_raw(t) as *mut sqlite3_vtab };
        Ok(())
    });
    match r {
        Ok(()) => ffi::SQLITE_OK,
        Err(e) => {
            if !pz_err.is_null() {
                // SAFETY: SQLite passes a valid out pointer.
                unsafe { *pz_err = sqlite_string(&e.msg) };
            }
            e.code
        }
    }
}

unsafe extern "C" fn clusters_disconnect(vtab: *mut sqlite3_vtab) -> c_int {
    let r = ffi::guard(CLUSTERS, || {
        // SAFETY: vtab was made by clusters_connect; SQLite never uses it again.
        let t = unsafe { Box::from_raw(vtab as *mut ClustersTable) };
        t.test_panic("disconnect");
        Ok(())
    });
    // The table is gone: its error message has nowhere to go.
    if r.is_ok() {
        ffi::SQLITE_OK
    } else {
        ffi::SQLITE_ERROR
    }
}

unsafe extern "C" fn clusters_best_index(
    vtab: *mut sqlite3_vtab,
    info: *mut sqlite3_index_info,
) -> c_int {
    let r = ffi::guard(CLUSTERS, || {
        // SAFETY: SQLite passes the table and an index_info valid for the call.
        let (t, info) = unsafe { (&*(vtab as *const ClustersTable), &mut *info) };
        t.test_panic("best_index");
        let n = info.nConstraint.max(0) as usize;
        let mut filtered = false;
        for k in 0..n {
            // SAFETY: aConstraint and aConstraintUsage hold nConstraint entries.
            let c = unsafe { &*info.aConstraint.add(k) };
            if c.iColumn == COL_PART_ARG && c.usable != 0 && c.op == SQLITE_INDEX_CONSTRAINT_EQ {
                let u = unsafe { &mut *info.aConstraintUsage.add(k) };
                u.argvIndex = 1;
                u.omit = 1;
                filtered = true;
                break;
            }
        }
        info.idxNum = filtered as c_int;
        info.estimatedCost = if filtered { 10.0 } else { 1000.0 };
        Ok(())
    });
    unsafe { vtab_result(vtab, r) }
}

unsafe extern "C" fn clusters_open(
    vtab: *mut sqlite3_vtab,
    pp_cursor: *mut *mut sqlite3_vtab_cursor,
) -> c_int {
    let r = ffi::guard(CLUSTERS, || {
        // SAFETY: SQLite passes its table.
        unsafe { &*(vtab as *const ClustersTable) }.test_panic("open");
        let c = Box::new(ClustersCursor {
            // SAFETY: a plain C struct; SQLite sets pVtab itself.
            base: unsafe { std::mem::zeroed() },
            rows: Vec::new(),
            i: 0,
        });
        // SAFETY: SQLite passes a valid out pointer.
        unsafe { *pp_cursor = Box::into_raw(c) as *mut sqlite3_vtab_cursor };
        Ok(())
    });
    unsafe { vtab_result(vtab, r) }
}

unsafe extern "C" fn clusters_close(cur: *mut sqlite3_vtab_cursor) -> c_int {
    let r = ffi::guard(CLUSTERS, || {
        // SAFETY: cur was made by clusters_open; SQLite never uses it again.
        let c = unsafe { Box::from_raw(cur as *mut ClustersCursor) };
        let t = unsafe { &*((*cur).pVtab as *const ClustersTable) };
        drop(c);
        t.test_panic("close");
        Ok(())
    });
    if r.is_ok() {
        ffi::SQLITE_OK
    } else {
        ffi::SQLITE_ERROR
    }
}

unsafe extern "C" fn clusters_filter(
    cur: *mut sqlite3_vtab_cursor,
    idx_num: c_int,
    _idx_str: *const std::ffi::c_char,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) -> c_int {
    let r = ffi::guard(CLUSTERS, || {
        // SAFETY: SQLite passes its cursor, of its table.
        let (c, t) = unsafe { (&mut *(cur as *mut ClustersCursor), table_of(cur)) };
        t.test_panic("filter");
        c.rows.clear();
        c.i = 0;
        let values = ffi::args(argc, argv);
        let only = if idx_num == 1 && !values.is_empty() {
            match Arg(values[0]).kind() {
                Kind::Null => None,
                Kind::Text => Some(Arg(values[0]).str(CLUSTERS, 1)?.to_string()),
                k => bail!(
                    "{CLUSTERS}: argument 1 (partition) must be TEXT, got {}",
                    k.name()
                ),
            }
        } else {
            None
        };
        let mut r = borrow(CLUSTERS, &t.reg)?;
        r.check_data_version(t.db);
        match &only {
            Some(p) => {
                r.part(t.db, p)?;
            }
            None => r.load_all(t.db)?,
        }
        let mut names: Vec<String> = r
            .names()
            .filter(|n| only.as_deref().is_none_or(|o| o == *n))
            .cloned()
            .collect();
        names.sort();
        for n in names {
            let Some(part) = r.loaded(&n) else { continue };
            let mut cl: Vec<_> = part.drain.clusters().collect();
            cl.sort_by_key(|c| c.id());
            c.rows.extend(cl.into_iter().map(|cluster| ClusterRow {
                partition: n.clone(),
                id: cluster.id() as i64,
                template: cluster.template().to_string(),
                size: cluster.size() as i64,
                example: cluster.example().to_string(),
                last_used: cluster.last_used() as i64,
            }));
        }
        Ok(())
    })
    .map_err(|e| named(CLUSTERS, e));
    unsafe { vtab_result((*cur).pVtab, r) }
}

unsafe extern "C" fn clusters_next(cur: *mut sqlite3_vtab_cursor) -> c_int {
    let r = ffi::guard(CLUSTERS, || {
        // SAFETY: SQLite passes its cursor.
        let c = unsafe { &mut *(cur as *mut ClustersCursor) };
        unsafe { table_of(cur) }.test_panic("next");
        c.i += 1;
        Ok(())
    });
    unsafe { vtab_result((*cur).pVtab, r) }
}

unsafe extern "C" fn clusters_eof(cur: *mut sqlite3_vtab_cursor) -> c_int {
    // xEof cannot report an error: a panic ends the scan.
    ffi::guard(CLUSTERS, || {
        // SAFETY: SQLite passes its cursor.
        let c = unsafe { &*(cur as *const ClustersCursor) };
        unsafe { table_of(cur) }.test_panic("eof");
        Ok((c.i >= c.rows.len()) as c_int)
    })
    .unwrap_or(1)
}

unsafe extern "C" fn clusters_column(
    cur: *mut sqlite3_vtab_cursor,
    ctx: *mut sqlite3_context,
    col: c_int,
) -> c_int {
    let ctx = Ctx(ctx);
    let r = ffi::guard(CLUSTERS, || {
        // SAFETY: SQLite passes its cursor.
        let c = unsafe { &*(cur as *const ClustersCursor) };
        unsafe { table_of(cur) }.test_panic("column");
        let Some(row) = c.rows.get(c.i) else {
            ctx.null();
            return Ok(());
        };
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
    });
    match r {
        Ok(()) => ffi::SQLITE_OK,
        Err(e) => {
            ctx.error(&e);
            e.code
        }
    }
}

unsafe extern "C" fn clusters_rowid(cur: *mut sqlite3_vtab_cursor, rowid: *mut i64) -> c_int {
    let r = ffi::guard(CLUSTERS, || {
        // SAFETY: SQLite passes its cursor and a valid out pointer.
        let c = unsafe { &*(cur as *const ClustersCursor) };
        unsafe { table_of(cur) }.test_panic("rowid");
        unsafe { *rowid = c.i as i64 };
        Ok(())
    });
    unsafe { vtab_result((*cur).pVtab, r) }
}

unsafe extern "C" fn drop_clusters_module(p: *mut std::ffi::c_void) {
    let _ = ffi::guard(CLUSTERS, || {
        if !p.is_null() {
            // SAFETY: p is the Box registered with the module, dropped once.
            drop(unsafe { Box::from_raw(p as *mut ClustersModule) });
        }
        Ok(())
    });
}

/// Registers `drain_clusters` as an eponymous-only table-valued function.
fn define_clusters(db: *mut sqlite3, reg: &Shared) -> Result<()> {
    // SAFETY: a plain C struct of an int and nullable function pointers.
    let mut module: sqlite3_module = unsafe { std::mem::zeroed() };
    module.iVersion = 2;
    module.xCreate = None; // eponymous-only
    module.xConnect = Some(clusters_connect);
    module.xBestIndex = Some(clusters_best_index);
    module.xDisconnect = Some(clusters_disconnect);
    module.xDestroy = Some(clusters_disconnect);
    module.xOpen = Some(clusters_open);
    module.xClose = Some(clusters_close);
    module.xFilter = Some(clusters_filter);
    module.xNext = Some(clusters_next);
    module.xEof = Some(clusters_eof);
    module.xColumn = Some(clusters_column);
    module.xRowid = Some(clusters_rowid);
    let panic_at = if std::env::var("OTELCAT_TEST_HOOKS").as_deref() == Ok("1") {
        std::env::var("OTELCAT_TEST_PANIC_DRAIN_CLUSTERS").ok()
    } else {
        None
    };
    let m = Box::into_raw(Box::new(ClustersModule {
        module,
        reg: reg.clone(),
        panic_at,
    }));
    let rc = ffi::sqlite!(create_module_v2(
        db,
        c"drain_clusters".as_ptr(),
        // SAFETY: m lives until SQLite calls drop_clusters_module.
        unsafe { &(*m).module },
        m as *mut std::ffi::c_void,
        Some(drop_clusters_module),
    ));
    if rc != ffi::SQLITE_OK {
        bail!("otelcat: cannot register drain_clusters (code {rc})");
    }
    Ok(())
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
    define_clusters(db, reg)?;
    ffi::define_write_table::<SyncTable>(db, reg.clone())?;
    Ok(())
}
