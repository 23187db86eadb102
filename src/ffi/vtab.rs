//! Virtual tables: what both kinds share, and writeable eponymous tables
//! that take part in transactions ([`WriteTable`]).

use super::*;

// ---------------------------------------------------------------------------
// Virtual tables: shared pieces

/// Stores `e` as the table's error message (SQLite frees the old one and
/// reports this one) and returns its code.
pub(super) fn vtab_error(vtab: *mut sqlite3_vtab, e: Error) -> c_int {
    // SAFETY: vtab is a table SQLite passed to the running callback; its
    // zErrMsg is null or an sqlite3_malloc'ed text that we replace.
    unsafe {
        if !(*vtab).zErrMsg.is_null() {
            sqlite!(free((*vtab).zErrMsg as *mut c_void));
        }
        (*vtab).zErrMsg = sqlite_malloc_str(&e.msg);
    }
    e.code
}

/// Declares the table's columns and marks it direct-only when it writes.
pub(super) fn declare(db: Db, name: &str, schema: &str, direct_only: bool) -> Result<()> {
    let decl = CString::new(schema).expect("schema has no NUL");
    let rc = sqlite!(declare_vtab(db.raw(), decl.as_ptr()));
    if rc != SQLITE_OK {
        bail!("{name}: cannot declare the table (code {rc})");
    }
    if direct_only {
        let rc = sqlite!(vtab_config(db.raw(), SQLITE_VTAB_DIRECTONLY));
        if rc != SQLITE_OK {
            bail!("{name}: cannot mark the table direct-only (code {rc})");
        }
    }
    Ok(())
}

/// Runs a connect body and reports its error in `pz_err`.
pub(super) fn connect_result(r: Result<()>, pz_err: *mut *mut c_char) -> c_int {
    match r {
        Ok(()) => SQLITE_OK,
        Err(e) => {
            if !pz_err.is_null() {
                // SAFETY: SQLite passes a writable slot for an
                // sqlite3_malloc'ed message.
                unsafe { *pz_err = sqlite_malloc_str(&e.msg) };
            }
            e.code
        }
    }
}

/// Registers a module (an eponymous-only table) with its owned state.
pub(super) fn create_module<M>(
    db: Db,
    name: &str,
    module: M,
    get: fn(&M) -> &sqlite3_module,
) -> Result<()> {
    let cname = CString::new(name).expect("table names have no NUL");
    let mb = Box::into_raw(Box::new(module));
    let rc = sqlite!(create_module_v2(
        db.raw(),
        cname.as_ptr(),
        // SAFETY: mb stays alive until SQLite calls drop_box::<M> when the
        // module goes (or at once, if the registration fails).
        get(unsafe { &*mb }),
        mb as *mut c_void,
        Some(drop_box::<M>),
    ));
    if rc != SQLITE_OK {
        bail!("otelcat: cannot register table {name} (code {rc})");
    }
    Ok(())
}

/// An empty module of version 2 (transactions and savepoints), eponymous
/// only: exists without CREATE VIRTUAL TABLE.
pub(super) fn empty_module() -> sqlite3_module {
    // SAFETY: sqlite3_module is a plain C struct of an int and nullable
    // function pointers; all-zero is "no methods".
    let mut m: sqlite3_module = unsafe { std::mem::zeroed() };
    m.iVersion = 2;
    m.xCreate = None;
    m
}

// ---------------------------------------------------------------------------
// Writeable eponymous virtual tables

/// A table users write to with `INSERT INTO name(...) VALUES (...)` without
/// creating it (eponymous), that takes part in transactions. Reading it
/// yields no rows; DELETE and UPDATE are refused. Direct-only: never usable
/// from a trigger or view. Every callback is guarded; errors keep their
/// text.
pub trait WriteTable: Sized + 'static {
    /// Per-connection data handed to every instance.
    type Aux: 'static;
    /// Used in error messages ("otlp_ingest: …").
    const NAME: &'static str;
    /// `CREATE TABLE x(...)` declaring the columns.
    const SCHEMA: &'static str;
    /// `schema` is the database the table was named in (SQLite says "main"
    /// for an eponymous table whatever the statement wrote).
    fn connect(db: Db, schema: &str, aux: &Self::Aux) -> Result<Self>;
    /// One inserted row: the declared columns in order.
    fn insert(&mut self, values: &[Arg<'_>]) -> Result<()>;
    fn begin(&mut self) -> Result<()> {
        Ok(())
    }
    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
    fn commit(&mut self) -> Result<()> {
        Ok(())
    }
    fn rollback(&mut self) -> Result<()> {
        Ok(())
    }
    fn savepoint(&mut self, _level: c_int) -> Result<()> {
        Ok(())
    }
    fn release(&mut self, _level: c_int) -> Result<()> {
        Ok(())
    }
    fn rollback_to(&mut self, _level: c_int) -> Result<()> {
        Ok(())
    }
}

#[repr(C)]
struct VTab<T: WriteTable> {
    base: sqlite3_vtab,
    db: Db,
    /// A callback of this table is running: SQLite may call another one
    /// from inside it (a nested statement that fails with a full disk rolls
    /// the transaction back at once), which must not get a second `&mut`.
    busy: Cell<bool>,
    /// Transaction callbacks that arrived while busy, run when it returns.
    deferred: RefCell<Vec<TxnOp>>,
    inner: T,
}

/// A transaction callback, kept for later when it arrives re-entrantly.
#[derive(Clone, Copy)]
enum TxnOp {
    Begin,
    Sync,
    Commit,
    Rollback,
    Savepoint(c_int),
    Release(c_int),
    RollbackTo(c_int),
}

impl TxnOp {
    fn apply<T: WriteTable>(self, t: &mut T) -> Result<()> {
        match self {
            TxnOp::Begin => t.begin(),
            TxnOp::Sync => t.sync(),
            TxnOp::Commit => t.commit(),
            TxnOp::Rollback => t.rollback(),
            TxnOp::Savepoint(n) => t.savepoint(n),
            TxnOp::Release(n) => t.release(n),
            TxnOp::RollbackTo(n) => t.rollback_to(n),
        }
    }
}

#[repr(C)]
struct EmptyCursor {
    base: sqlite3_vtab_cursor,
}

struct WriteModule<T: WriteTable> {
    module: sqlite3_module,
    aux: T::Aux,
}

/// Runs `f` on the table, once no other callback of it is running: a
/// transaction callback that arrives inside another one is kept and run
/// right after it (in order); any other re-entrant call is an error.
fn vtab_call<T: WriteTable>(
    vtab: *mut sqlite3_vtab,
    op: Option<TxnOp>,
    f: impl FnOnce(&mut T) -> Result<()>,
) -> c_int {
    let vt = vtab as *mut VTab<T>;
    // SAFETY: vtab is a VTab<T> made by wt_connect and not yet disconnected
    // (SQLite passes its own tables only); `busy` and `deferred` are only
    // reached through shared references, and `inner` is borrowed mutably
    // only while `busy` is set, so no two `&mut T` ever exist at once.
    let (busy, deferred) = unsafe { (&(*vt).busy, &(*vt).deferred) };
    if busy.get() {
        return match op {
            Some(op) => {
                deferred.borrow_mut().push(op);
                SQLITE_OK
            }
            None => vtab_error(
                vtab,
                Error::new(format!(
                    "{}: used again while it is running (from a trigger or function of its own writes)",
                    T::NAME
                )),
            ),
        };
    }
    busy.set(true);
    // SAFETY: see above: the only `&mut T` while busy.
    let inner = unsafe { &mut (*vt).inner };
    let r = guard(T::NAME, || f(inner));
    loop {
        let ops = std::mem::take(&mut *deferred.borrow_mut());
        if ops.is_empty() {
            break;
        }
        for op in ops {
            // SQLite has moved on: a late callback's error has no one to
            // reach (rollbacks do not fail anyway).
            let _ = guard(T::NAME, || op.apply(inner));
        }
    }
    busy.set(false);
    match r {
        Ok(()) => SQLITE_OK,
        Err(e) => vtab_error(vtab, e),
    }
}

unsafe extern "C" fn wt_connect<T: WriteTable>(
    db: *mut sqlite3,
    p_aux: *mut c_void,
    argc: c_int,
    argv: *const *const c_char,
    pp_vtab: *mut *mut sqlite3_vtab,
    pz_err: *mut *mut c_char,
) -> c_int {
    let r = guard(T::NAME, || {
        let db = Db(NonNull::new(db).ok_or_else(|| Error::new("no connection"))?);
        // SAFETY: p_aux is the WriteModule<T> registered with the module,
        // alive until the module goes (after every table of it).
        let aux = unsafe { &(*(p_aux as *const WriteModule<T>)).aux };
        // These tables write: never usable from a trigger or view.
        declare(db, T::NAME, T::SCHEMA, true)?;
        // SAFETY: argv holds argc NUL-terminated strings; argv[1] is the
        // name of the database the table is used in.
        let schema = (argc > 1)
            .then(|| unsafe { *argv.add(1) })
            .filter(|p| !p.is_null())
            .map(|p| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
            .unwrap_or_else(|| "main".to_string());
        let inner = T::connect(db, &schema, aux)?;
        let vt = Box::new(VTab {
            base: sqlite3_vtab {
                pModule: ptr::null(),
                nRef: 0,
                zErrMsg: ptr::null_mut(),
            },
            db,
            busy: Cell::new(false),
            deferred: RefCell::new(Vec::new()),
            inner,
        });
        // SAFETY: SQLite passes a writable slot for the new table.
        unsafe { *pp_vtab = Box::into_raw(vt) as *mut sqlite3_vtab };
        Ok(())
    });
    connect_result(r, pz_err)
}

unsafe extern "C" fn wt_disconnect<T: WriteTable>(vtab: *mut sqlite3_vtab) -> c_int {
    let _ = guard(T::NAME, || {
        // SAFETY: vtab was made by wt_connect; SQLite never uses it again.
        drop(unsafe { Box::from_raw(vtab as *mut VTab<T>) });
        Ok(())
    });
    SQLITE_OK
}

/// The code of a callback that cannot fail but for a panic.
fn guarded(f: impl FnOnce()) -> c_int {
    let r = guard("otelcat", || {
        f();
        Ok(())
    });
    match r {
        Ok(()) => SQLITE_OK,
        Err(e) => e.code,
    }
}

unsafe extern "C" fn wt_best_index(
    _vtab: *mut sqlite3_vtab,
    info: *mut sqlite3_index_info,
) -> c_int {
    guarded(|| {
        // SAFETY: SQLite passes an index_info valid for the call.
        if let Some(info) = unsafe { info.as_mut() } {
            info.estimatedCost = 1.0;
            info.estimatedRows = 0;
        }
    })
}

unsafe extern "C" fn wt_open(
    vtab: *mut sqlite3_vtab,
    pp_cursor: *mut *mut sqlite3_vtab_cursor,
) -> c_int {
    guarded(|| {
        let c = Box::new(EmptyCursor {
            base: sqlite3_vtab_cursor { pVtab: vtab },
        });
        // SAFETY: SQLite passes a writable slot for the new cursor.
        unsafe { *pp_cursor = Box::into_raw(c) as *mut sqlite3_vtab_cursor };
    })
}

unsafe extern "C" fn wt_close(cursor: *mut sqlite3_vtab_cursor) -> c_int {
    // SAFETY: cursor was made by wt_open; SQLite never uses it again.
    guarded(|| drop(unsafe { Box::from_raw(cursor as *mut EmptyCursor) }))
}

unsafe extern "C" fn wt_filter<T: WriteTable>(
    c: *mut sqlite3_vtab_cursor,
    _idx: c_int,
    _idx_str: *const c_char,
    _argc: c_int,
    _argv: *mut *mut sqlite3_value,
) -> c_int {
    // SAFETY: SQLite passes a cursor of one of its tables.
    let vtab = unsafe { (*c).pVtab };
    // SAFETY: the table is a VTab<T> (see vtab_call); db is a plain copy.
    let db = unsafe { (*(vtab as *const VTab<T>)).db };
    // A scan yields no rows, so a DELETE or UPDATE of the table would do
    // nothing without a word: refuse it here, where it scans.
    vtab_call::<T>(vtab, None, |_| {
        for sql in db.running_statements() {
            if let Some(verb) = crate::sqltext::modifies(&sql, T::NAME) {
                bail!(
                    "{}: {verb} is not supported: the table holds no rows; only INSERT is \
                     (INSERT INTO {}(...) VALUES (...))",
                    T::NAME,
                    T::NAME
                );
            }
        }
        Ok(())
    })
}

unsafe extern "C" fn wt_next(_c: *mut sqlite3_vtab_cursor) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn wt_eof(_c: *mut sqlite3_vtab_cursor) -> c_int {
    1
}

unsafe extern "C" fn wt_column(
    _c: *mut sqlite3_vtab_cursor,
    ctx: *mut sqlite3_context,
    _i: c_int,
) -> c_int {
    guarded(|| {
        if let Some(ctx) = Ctx::new(ctx) {
            ctx.null();
        }
    })
}

unsafe extern "C" fn wt_rowid(_c: *mut sqlite3_vtab_cursor, rowid: *mut i64) -> c_int {
    guarded(|| {
        // SAFETY: SQLite passes a writable slot for the rowid.
        if let Some(r) = unsafe { rowid.as_mut() } {
            *r = 0;
        }
    })
}

unsafe extern "C" fn wt_update<T: WriteTable>(
    vtab: *mut sqlite3_vtab,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
    rowid: *mut i64,
) -> c_int {
    let argv = args(argc, argv);
    vtab_call::<T>(vtab, None, |t| {
        // argc == 1: DELETE; argv[0] not NULL: UPDATE. Neither can happen
        // (the table never has rows) but refuse them clearly anyway.
        if argv.len() < 2 || !argv[0].is_null() {
            bail!("{}: only INSERT is supported", T::NAME);
        }
        if !argv[1].is_null() {
            bail!("{}: rowid cannot be given", T::NAME);
        }
        t.insert(&argv[2..])?;
        // SAFETY: SQLite passes a writable slot for the new rowid.
        if let Some(r) = unsafe { rowid.as_mut() } {
            *r = 0;
        }
        Ok(())
    })
}

unsafe extern "C" fn wt_begin<T: WriteTable>(vtab: *mut sqlite3_vtab) -> c_int {
    vtab_call::<T>(vtab, Some(TxnOp::Begin), |t| t.begin())
}
unsafe extern "C" fn wt_sync<T: WriteTable>(vtab: *mut sqlite3_vtab) -> c_int {
    vtab_call::<T>(vtab, Some(TxnOp::Sync), |t| t.sync())
}
unsafe extern "C" fn wt_commit<T: WriteTable>(vtab: *mut sqlite3_vtab) -> c_int {
    vtab_call::<T>(vtab, Some(TxnOp::Commit), |t| t.commit())
}
unsafe extern "C" fn wt_rollback<T: WriteTable>(vtab: *mut sqlite3_vtab) -> c_int {
    vtab_call::<T>(vtab, Some(TxnOp::Rollback), |t| t.rollback())
}
unsafe extern "C" fn wt_savepoint<T: WriteTable>(vtab: *mut sqlite3_vtab, n: c_int) -> c_int {
    vtab_call::<T>(vtab, Some(TxnOp::Savepoint(n)), |t| t.savepoint(n))
}
unsafe extern "C" fn wt_release<T: WriteTable>(vtab: *mut sqlite3_vtab, n: c_int) -> c_int {
    vtab_call::<T>(vtab, Some(TxnOp::Release(n)), |t| t.release(n))
}
unsafe extern "C" fn wt_rollback_to<T: WriteTable>(vtab: *mut sqlite3_vtab, n: c_int) -> c_int {
    vtab_call::<T>(vtab, Some(TxnOp::RollbackTo(n)), |t| t.rollback_to(n))
}

/// Registers `T` as an eponymous-only, writeable virtual table module.
pub fn define_write_table<T: WriteTable>(db: Db, aux: T::Aux) -> Result<()> {
    let mut module = empty_module();
    module.xConnect = Some(wt_connect::<T>);
    module.xBestIndex = Some(wt_best_index);
    module.xDisconnect = Some(wt_disconnect::<T>);
    module.xDestroy = Some(wt_disconnect::<T>);
    module.xOpen = Some(wt_open);
    module.xClose = Some(wt_close);
    module.xFilter = Some(wt_filter::<T>);
    module.xNext = Some(wt_next);
    module.xEof = Some(wt_eof);
    module.xColumn = Some(wt_column);
    module.xRowid = Some(wt_rowid);
    module.xUpdate = Some(wt_update::<T>);
    module.xBegin = Some(wt_begin::<T>);
    module.xSync = Some(wt_sync::<T>);
    module.xCommit = Some(wt_commit::<T>);
    module.xRollback = Some(wt_rollback::<T>);
    module.xSavepoint = Some(wt_savepoint::<T>);
    module.xRelease = Some(wt_release::<T>);
    module.xRollbackTo = Some(wt_rollback_to::<T>);
    create_module(db, T::NAME, WriteModule::<T> { module, aux }, |m| &m.module)
}
