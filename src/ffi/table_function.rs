//! Read-only table-valued functions ([`TableFunction`]).

use super::*;

// ---------------------------------------------------------------------------
// Read-only table-valued functions

/// A read-only, eponymous table-valued function: `SELECT … FROM name(arg)`.
/// Its rows are computed when a scan starts ([`TableFunction::rows`]) and
/// read column by column. Every callback runs behind a panic guard.
pub trait TableFunction: Sized + 'static {
    /// Per-connection data handed to every instance.
    type Aux: 'static;
    type Row;
    const NAME: &'static str;
    /// `CREATE TABLE x(...)`; its HIDDEN columns are the arguments, in
    /// order, and must come last.
    const SCHEMA: &'static str;
    /// The index of the first HIDDEN (argument) column (the column count
    /// when there is none).
    const FIRST_ARG: c_int;
    /// Ordinary columns whose `=` constraints SQLite hands to
    /// [`TableFunction::lookup_rows`] (a lookup by name, say), in this
    /// order. SQLite still checks these constraints on every row returned.
    const LOOKUP: &'static [c_int] = &[];
    /// The table reads nothing but its own constant data: usable in views
    /// and triggers even when the schema is untrusted
    /// (`SQLITE_VTAB_INNOCUOUS`, see `PRAGMA trusted_schema`).
    const INNOCUOUS: bool = false;
    fn connect(db: Db, aux: &Self::Aux) -> Result<Self>;
    /// The rows for the arguments given (`None`: not given).
    fn rows(&self, args: &[Option<Arg<'_>>]) -> Result<Vec<Self::Row>>;
    /// The rows for the arguments and the values the [`Self::LOOKUP`]
    /// columns must equal (`None`: not constrained): every matching row, and
    /// possibly others (SQLite filters them out).
    fn lookup_rows(
        &self,
        args: &[Option<Arg<'_>>],
        _lookups: &[Option<Arg<'_>>],
    ) -> Result<Vec<Self::Row>> {
        self.rows(args)
    }
    /// Column `col` of `row` into `ctx`.
    fn column(row: &Self::Row, ctx: Ctx<'_>, col: c_int) -> Result<()>;
    /// Test hook: called at the start of every callback with its name; a
    /// table that panics here proves the guards.
    fn at(&self, _callback: &str) {}
}

#[repr(C)]
struct TfTable<T: TableFunction> {
    base: sqlite3_vtab,
    inner: T,
}

#[repr(C)]
struct TfCursor<T: TableFunction> {
    base: sqlite3_vtab_cursor,
    rows: Vec<T::Row>,
    i: usize,
}

struct TfModule<T: TableFunction> {
    module: sqlite3_module,
    aux: T::Aux,
}

/// The table and the cursor SQLite passes to a cursor callback.
///
/// # Safety
/// `cur` must be a live cursor made by `tf_open::<T>`.
unsafe fn tf_parts<'a, T: TableFunction>(
    cur: *mut sqlite3_vtab_cursor,
) -> (&'a T, &'a mut TfCursor<T>) {
    // SAFETY: the caller's contract; the table outlives its cursors, and
    // SQLite calls one callback of a cursor at a time.
    unsafe {
        let c = &mut *(cur as *mut TfCursor<T>);
        let t = &(*(c.base.pVtab as *const TfTable<T>)).inner;
        (t, c)
    }
}

unsafe extern "C" fn tf_connect<T: TableFunction>(
    db: *mut sqlite3,
    p_aux: *mut c_void,
    _argc: c_int,
    _argv: *const *const c_char,
    pp_vtab: *mut *mut sqlite3_vtab,
    pz_err: *mut *mut c_char,
) -> c_int {
    let r = guard(T::NAME, || {
        let db = Db(NonNull::new(db).ok_or_else(|| Error::new("no connection"))?);
        // SAFETY: p_aux is the TfModule<T> registered with the module,
        // alive until the module goes (after every table of it).
        let aux = unsafe { &(*(p_aux as *const TfModule<T>)).aux };
        declare(db, T::NAME, T::SCHEMA, false)?;
        if T::INNOCUOUS {
            let rc = sqlite!(vtab_config(db.raw(), SQLITE_VTAB_INNOCUOUS));
            if rc != SQLITE_OK {
                bail!("{}: cannot mark the table innocuous (code {rc})", T::NAME);
            }
        }
        let inner = T::connect(db, aux)?;
        inner.at("connect");
        let t = Box::new(TfTable {
            base: sqlite3_vtab {
                pModule: ptr::null(),
                nRef: 0,
                zErrMsg: ptr::null_mut(),
            },
            inner,
        });
        // SAFETY: SQLite passes a writable slot for the new table.
        unsafe { *pp_vtab = Box::into_raw(t) as *mut sqlite3_vtab };
        Ok(())
    });
    connect_result(r, pz_err)
}

unsafe extern "C" fn tf_disconnect<T: TableFunction>(vtab: *mut sqlite3_vtab) -> c_int {
    // The table is gone either way: a panic has nowhere to be reported.
    let r = guard(T::NAME, || {
        // SAFETY: vtab was made by tf_connect; SQLite never uses it again.
        let t = unsafe { Box::from_raw(vtab as *mut TfTable<T>) };
        t.inner.at("disconnect");
        Ok(())
    });
    if r.is_ok() { SQLITE_OK } else { SQLITE_ERROR }
}

unsafe extern "C" fn tf_best_index<T: TableFunction>(
    vtab: *mut sqlite3_vtab,
    info: *mut sqlite3_index_info,
) -> c_int {
    let r = guard(T::NAME, || {
        // SAFETY: SQLite passes its table and an index_info valid for the call.
        let (t, info) = unsafe { (&(*(vtab as *const TfTable<T>)).inner, &mut *info) };
        t.at("best_index");
        let n = info.nConstraint.max(0) as usize;
        // SAFETY: aConstraint and aConstraintUsage hold nConstraint entries.
        let (cons, usage) = unsafe {
            (
                std::slice::from_raw_parts(info.aConstraint, n),
                std::slice::from_raw_parts_mut(info.aConstraintUsage, n),
            )
        };
        // Each argument column given with '=' becomes argv[k] in filter, in
        // column order, then each LOOKUP column given with '='; idxNum's bit
        // j says argument j is given, bit LOOKUP_BIT + p that lookup p is.
        let mut given: Vec<(c_int, usize)> = Vec::new();
        for (k, c) in cons.iter().enumerate() {
            if c.usable == 0 || c.op != SQLITE_INDEX_CONSTRAINT_EQ {
                continue;
            }
            let j = c.iColumn - T::FIRST_ARG;
            let slot = if j >= 0 {
                j
            } else if let Some(p) = T::LOOKUP.iter().position(|&l| l == c.iColumn) {
                LOOKUP_BIT + p as c_int
            } else {
                continue;
            };
            if !given.iter().any(|&(g, _)| g == slot) {
                given.push((slot, k));
            }
        }
        given.sort_unstable();
        let mut idx = 0;
        for (argv, &(j, k)) in given.iter().enumerate() {
            usage[k].argvIndex = argv as c_int + 1;
            // Arguments are consumed; lookups are checked again by SQLite.
            usage[k].omit = (j < LOOKUP_BIT) as u8;
            idx |= 1 << j;
        }
        info.idxNum = idx;
        info.estimatedCost = if given.is_empty() { 1000.0 } else { 10.0 };
        if idx >> LOOKUP_BIT != 0 {
            info.estimatedRows = 1;
        }
        Ok(())
    });
    match r {
        Ok(()) => SQLITE_OK,
        Err(e) => vtab_error(vtab, e),
    }
}

unsafe extern "C" fn tf_open<T: TableFunction>(
    vtab: *mut sqlite3_vtab,
    pp_cursor: *mut *mut sqlite3_vtab_cursor,
) -> c_int {
    let r = guard(T::NAME, || {
        // SAFETY: SQLite passes its table.
        unsafe { &(*(vtab as *const TfTable<T>)).inner }.at("open");
        let c = Box::new(TfCursor::<T> {
            base: sqlite3_vtab_cursor { pVtab: vtab },
            rows: Vec::new(),
            i: 0,
        });
        // SAFETY: SQLite passes a writable slot for the new cursor.
        unsafe { *pp_cursor = Box::into_raw(c) as *mut sqlite3_vtab_cursor };
        Ok(())
    });
    match r {
        Ok(()) => SQLITE_OK,
        Err(e) => vtab_error(vtab, e),
    }
}

unsafe extern "C" fn tf_close<T: TableFunction>(cur: *mut sqlite3_vtab_cursor) -> c_int {
    let r = guard(T::NAME, || {
        // SAFETY: cur was made by tf_open; SQLite never uses it again.
        let c = unsafe { Box::from_raw(cur as *mut TfCursor<T>) };
        // SAFETY: the table outlives its cursors.
        let t = unsafe { &(*(c.base.pVtab as *const TfTable<T>)).inner };
        drop(c);
        t.at("close");
        Ok(())
    });
    if r.is_ok() { SQLITE_OK } else { SQLITE_ERROR }
}

unsafe extern "C" fn tf_filter<T: TableFunction>(
    cur: *mut sqlite3_vtab_cursor,
    idx_num: c_int,
    _idx_str: *const c_char,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) -> c_int {
    let values = args(argc, argv);
    let r = guard(T::NAME, || {
        // SAFETY: SQLite passes a cursor made by tf_open.
        let (t, c) = unsafe { tf_parts::<T>(cur) };
        t.at("filter");
        c.rows.clear();
        c.i = 0;
        let mut given = values.iter();
        let mut all = Vec::new();
        for j in 0..LOOKUP_BIT {
            if (idx_num & ((1 << LOOKUP_BIT) - 1)) >> j == 0 {
                break;
            }
            all.push(if idx_num & (1 << j) != 0 {
                given.next().copied()
            } else {
                None
            });
        }
        if T::LOOKUP.is_empty() {
            c.rows = t.rows(&all)?;
        } else {
            let lookups: Vec<_> = (0..T::LOOKUP.len() as c_int)
                .map(|p| {
                    if idx_num & (1 << (LOOKUP_BIT + p)) != 0 {
                        given.next().copied()
                    } else {
                        None
                    }
                })
                .collect();
            c.rows = t.lookup_rows(&all, &lookups)?;
        }
        Ok(())
    });
    match r {
        Ok(()) => SQLITE_OK,
        // SAFETY: the cursor's table.
        Err(e) => vtab_error(unsafe { (*cur).pVtab }, e),
    }
}

unsafe extern "C" fn tf_next<T: TableFunction>(cur: *mut sqlite3_vtab_cursor) -> c_int {
    let r = guard(T::NAME, || {
        // SAFETY: SQLite passes a cursor made by tf_open.
        let (t, c) = unsafe { tf_parts::<T>(cur) };
        t.at("next");
        c.i += 1;
        Ok(())
    });
    match r {
        Ok(()) => SQLITE_OK,
        // SAFETY: the cursor's table.
        Err(e) => vtab_error(unsafe { (*cur).pVtab }, e),
    }
}

unsafe extern "C" fn tf_eof<T: TableFunction>(cur: *mut sqlite3_vtab_cursor) -> c_int {
    // xEof cannot report an error: a panic ends the scan.
    guard(T::NAME, || {
        // SAFETY: SQLite passes a cursor made by tf_open.
        let (t, c) = unsafe { tf_parts::<T>(cur) };
        t.at("eof");
        Ok((c.i >= c.rows.len()) as c_int)
    })
    .unwrap_or(1)
}

unsafe extern "C" fn tf_column<T: TableFunction>(
    cur: *mut sqlite3_vtab_cursor,
    ctx: *mut sqlite3_context,
    col: c_int,
) -> c_int {
    let Some(ctx) = Ctx::new(ctx) else {
        return SQLITE_ERROR;
    };
    let r = guard(T::NAME, || {
        // SAFETY: SQLite passes a cursor made by tf_open.
        let (t, c) = unsafe { tf_parts::<T>(cur) };
        t.at("column");
        match c.rows.get(c.i) {
            Some(row) => T::column(row, ctx, col),
            None => {
                ctx.null();
                Ok(())
            }
        }
    });
    match r {
        Ok(()) => SQLITE_OK,
        Err(e) => {
            ctx.error(&e);
            e.code
        }
    }
}

unsafe extern "C" fn tf_rowid<T: TableFunction>(
    cur: *mut sqlite3_vtab_cursor,
    rowid: *mut i64,
) -> c_int {
    let r = guard(T::NAME, || {
        // SAFETY: SQLite passes a cursor made by tf_open and a writable slot.
        let (t, c) = unsafe { tf_parts::<T>(cur) };
        t.at("rowid");
        // SAFETY: SQLite passes a writable slot for the rowid.
        if let Some(r) = unsafe { rowid.as_mut() } {
            *r = c.i as i64;
        }
        Ok(())
    });
    match r {
        Ok(()) => SQLITE_OK,
        // SAFETY: the cursor's table.
        Err(e) => vtab_error(unsafe { (*cur).pVtab }, e),
    }
}

/// idxNum bit of the first LOOKUP column (arguments take the bits below).
const LOOKUP_BIT: c_int = 16;

/// Registers `T` as an eponymous-only, read-only table-valued function.
pub fn define_table_function<T: TableFunction>(db: Db, aux: T::Aux) -> Result<()> {
    const {
        assert!(T::LOOKUP.len() <= 15, "at most 15 lookup columns");
    }
    let mut module = empty_module();
    module.xConnect = Some(tf_connect::<T>);
    module.xBestIndex = Some(tf_best_index::<T>);
    module.xDisconnect = Some(tf_disconnect::<T>);
    module.xDestroy = Some(tf_disconnect::<T>);
    module.xOpen = Some(tf_open::<T>);
    module.xClose = Some(tf_close::<T>);
    module.xFilter = Some(tf_filter::<T>);
    module.xNext = Some(tf_next::<T>);
    module.xEof = Some(tf_eof::<T>);
    module.xColumn = Some(tf_column::<T>);
    module.xRowid = Some(tf_rowid::<T>);
    create_module(db, T::NAME, TfModule::<T> { module, aux }, |m| &m.module)
}
