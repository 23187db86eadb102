//! What sqlite-loadable lacks, in one place.
//!
//! * the SQLite routine table (`sqlite3_api_routines`) for routines that
//!   sqlite-loadable does not wrap (aggregates, window functions, prepared
//!   statements, `file_control`, …);
//! * panic guards: every callback SQLite makes into Rust goes through
//!   [`guard`], so a panic becomes an SQL error naming the function and the
//!   host process survives;
//! * aggregate and window functions ([`define_aggregate`]);
//! * a writeable, eponymous virtual-table module with transaction and
//!   savepoint callbacks whose errors reach the user with their text
//!   ([`define_write_table`]); sqlite-loadable turns xUpdate errors into
//!   "SQL logic error" and its UPDATE path ends in `todo!()`;
//! * nested statements ([`Stmt`]) and statement-scoped state ([`stmt_scoped`]).

// The unsafe fns below are SQLite callbacks whose whole body is FFI work.
#![allow(unsafe_op_in_unsafe_fn)]

use std::any::Any;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use sqlite_loadable::FunctionFlags;
pub use sqlite3ext_sys::{
    sqlite3, sqlite3_api_routines, sqlite3_context, sqlite3_index_info, sqlite3_module,
    sqlite3_stmt, sqlite3_value, sqlite3_vtab, sqlite3_vtab_cursor,
};

// ---------------------------------------------------------------------------
// The routine table

static API: AtomicPtr<sqlite3_api_routines> = AtomicPtr::new(ptr::null_mut());

/// Calls a routine of the host's `sqlite3_api_routines` table.
macro_rules! sqlite {
    ($name:ident ( $($arg:expr),* $(,)? )) => {{
        #[allow(unused_unsafe)]
        unsafe {
            let api = $crate::ffi::api();
            ((*api).$name.expect(concat!("the host SQLite lacks sqlite3_", stringify!($name))))($($arg),*)
        }
    }};
}
#[allow(unused_imports)]
pub(crate) use sqlite;

#[inline]
pub fn api() -> *mut sqlite3_api_routines {
    API.load(Ordering::Relaxed)
}

pub const SQLITE_OK: c_int = 0;
pub const SQLITE_ERROR: c_int = 1;
pub const SQLITE_ROW: c_int = 100;
pub const SQLITE_DONE: c_int = 101;
pub const SQLITE_NULL: c_int = 5;
pub const SQLITE_INTEGER: c_int = 1;
pub const SQLITE_FLOAT: c_int = 2;
pub const SQLITE_TEXT: c_int = 3;
pub const SQLITE_BLOB: c_int = 4;
const SQLITE_UTF8: c_int = 1;
const SQLITE_FCNTL_DATA_VERSION: c_int = 35;
const SQLITE_VTAB_DIRECTONLY: c_int = 3;

/// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
fn transient() -> Option<unsafe extern "C" fn(*mut c_void)> {
    // SAFETY: SQLite defines SQLITE_TRANSIENT as ((sqlite3_destructor_type)-1)
    // and compares the pointer value only; it is never called.
    Some(unsafe { std::mem::transmute::<isize, unsafe extern "C" fn(*mut c_void)>(-1) })
}

/// The extension's entry point body: installs the routine table for both
/// sqlite-loadable and this module, runs `register`, reports its error.
///
/// # Safety
/// Called by SQLite with valid pointers.
pub unsafe fn entrypoint(
    db: *mut sqlite3,
    pz_err_msg: *mut *mut c_char,
    p_api: *mut sqlite3_api_routines,
    register: fn(*mut sqlite3) -> Result<()>,
) -> c_int {
    sqlite_loadable::ext::faux_sqlite_extension_init2(p_api);
    API.store(p_api, Ordering::Relaxed);
    let outcome = catch_unwind(AssertUnwindSafe(|| register(db)));
    let err = match outcome {
        Ok(Ok(())) => return SQLITE_OK,
        Ok(Err(e)) => e,
        Err(p) => Error::new(format!("otelcat: panic while loading: {}", panic_text(&p))),
    };
    if !pz_err_msg.is_null() {
        *pz_err_msg = sqlite_malloc_str(&err.msg);
    }
    err.code
}

// ---------------------------------------------------------------------------
// Errors and panic guards

/// An error that reaches the user as an SQL error with this exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: c_int,
    pub msg: String,
}

impl Error {
    pub fn new(msg: impl Into<String>) -> Error {
        Error {
            code: SQLITE_ERROR,
            msg: msg.into(),
        }
    }
    pub fn with_code(code: c_int, msg: impl Into<String>) -> Error {
        Error {
            code,
            msg: msg.into(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl From<Error> for sqlite_loadable::Error {
    fn from(e: Error) -> Self {
        sqlite_loadable::Error::new_message(e.msg)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// `return Err(Error::new(format!(...)))`.
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::ffi::Error::new(format!($($arg)*))) };
}
pub(crate) use bail;

fn panic_text(p: &Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs `f`, turning a panic into an error that names `what`.
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(Error::with_code(
            2, // SQLITE_INTERNAL
            format!("{what}: internal error (panic: {})", panic_text(&p)),
        )),
    }
}

/// Copies `s` into memory from `sqlite3_malloc` (for zErrMsg and friends).
fn sqlite_malloc_str(s: &str) -> *mut c_char {
    let bytes = s.as_bytes();
    let n = bytes.len();
    let p = sqlite!(malloc((n + 1) as c_int)) as *mut u8;
    if p.is_null() {
        return ptr::null_mut();
    }
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
        // Text may not hold NUL bytes: SQLite would cut the message there anyway.
        for i in 0..n {
            if *p.add(i) == 0 {
                *p.add(i) = b'?';
            }
        }
        *p.add(n) = 0;
    }
    p as *mut c_char
}

// ---------------------------------------------------------------------------
// Values

/// The fundamental datatype of an `sqlite3_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Integer,
    Real,
    Text,
    Blob,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Null => "NULL",
            Kind::Integer => "INTEGER",
            Kind::Real => "REAL",
            Kind::Text => "TEXT",
            Kind::Blob => "BLOB",
        }
    }
}

/// Read access to a function argument.
#[derive(Clone, Copy)]
pub struct Arg(pub *mut sqlite3_value);

impl Arg {
    #[inline]
    pub fn kind(self) -> Kind {
        match sqlite!(value_type(self.0)) {
            SQLITE_INTEGER => Kind::Integer,
            SQLITE_FLOAT => Kind::Real,
            SQLITE_TEXT => Kind::Text,
            SQLITE_BLOB => Kind::Blob,
            _ => Kind::Null,
        }
    }
    #[inline]
    pub fn is_null(self) -> bool {
        self.kind() == Kind::Null
    }
    #[inline]
    pub fn i64(self) -> i64 {
        sqlite!(value_int64(self.0))
    }
    #[inline]
    pub fn f64(self) -> f64 {
        sqlite!(value_double(self.0))
    }
    /// The bytes of a BLOB (or of the value converted to a BLOB).
    #[inline]
    pub fn blob<'a>(self) -> &'a [u8] {
        let p = sqlite!(value_blob(self.0)) as *const u8;
        let n = sqlite!(value_bytes(self.0));
        if p.is_null() || n <= 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(p, n as usize) }
        }
    }
    /// The UTF-8 bytes of the value's text form (SQLite's conversion rules).
    #[inline]
    pub fn text_bytes<'a>(self) -> &'a [u8] {
        let p = sqlite!(value_text(self.0));
        let n = sqlite!(value_bytes(self.0));
        if p.is_null() || n <= 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(p, n as usize) }
        }
    }
    /// The value's text; an error naming `func` and argument `pos` (1-based)
    /// when it is not valid UTF-8.
    pub fn str<'a>(self, func: &str, pos: usize) -> Result<&'a str> {
        std::str::from_utf8(self.text_bytes())
            .map_err(|_| Error::new(format!("{func}: argument {pos} is not valid UTF-8 text")))
    }
}

/// Wraps an argv array.
#[inline]
pub fn args<'a>(argc: c_int, argv: *mut *mut sqlite3_value) -> &'a [*mut sqlite3_value] {
    if argc <= 0 || argv.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(argv, argc as usize) }
    }
}

// ---------------------------------------------------------------------------
// Results

/// Where a function's result goes.
#[derive(Clone, Copy)]
pub struct Ctx(pub *mut sqlite3_context);

impl Ctx {
    pub fn null(self) {
        sqlite!(result_null(self.0));
    }
    pub fn i64(self, v: i64) {
        sqlite!(result_int64(self.0, v));
    }
    pub fn f64(self, v: f64) {
        sqlite!(result_double(self.0, v));
    }
    pub fn text(self, s: &str) -> Result<()> {
        let n: c_int = s
            .len()
            .try_into()
            .map_err(|_| Error::with_code(18, "string or blob too big"))?;
        sqlite!(result_text(
            self.0,
            s.as_ptr() as *const c_char,
            n,
            transient()
        ));
        Ok(())
    }
    pub fn blob(self, b: &[u8]) -> Result<()> {
        let n: c_int = b
            .len()
            .try_into()
            .map_err(|_| Error::with_code(18, "string or blob too big"))?;
        sqlite!(result_blob(
            self.0,
            b.as_ptr() as *const c_void,
            n,
            transient()
        ));
        Ok(())
    }
    pub fn error(self, e: &Error) {
        let n = e.msg.len().min(c_int::MAX as usize) as c_int;
        sqlite!(result_error(self.0, e.msg.as_ptr() as *const c_char, n));
        if e.code != SQLITE_ERROR {
            // Keeps the message set above, changes the code.
            sqlite!(result_error_code(self.0, e.code));
        }
    }
    pub fn db(self) -> *mut sqlite3 {
        sqlite!(context_db_handle(self.0))
    }
}

// ---------------------------------------------------------------------------
// Scalar functions

/// Flags of a pure function: same result for the same arguments, no side
/// effects (so usable in indexes, views, triggers and untrusted schemas).
pub fn pure() -> FunctionFlags {
    FunctionFlags::UTF8 | FunctionFlags::DETERMINISTIC | FunctionFlags::INNOCUOUS
}
/// Flags of a function with state or side effects.
pub fn impure() -> FunctionFlags {
    FunctionFlags::UTF8
}
/// Flags of a function that changes state: only callable from top-level SQL,
/// never from a view, trigger, CHECK or index of a (possibly untrusted) schema.
pub fn direct_only() -> FunctionFlags {
    FunctionFlags::UTF8 | FunctionFlags::DIRECTONLY
}

/// A scalar function: fills `ctx` from `args`.
pub type ScalarFn = fn(Ctx, &[*mut sqlite3_value]) -> Result<()>;

/// Registers a scalar function through sqlite-loadable, behind a panic guard.
/// `nargs` = -1 accepts any number of arguments.
pub fn define_scalar(
    db: *mut sqlite3,
    name: &'static str,
    nargs: c_int,
    flags: FunctionFlags,
    f: ScalarFn,
) -> Result<()> {
    sqlite_loadable::define_scalar_function(
        db,
        name,
        nargs,
        move |ctx: *mut sqlite3_context, argv: &[*mut sqlite3_value]| {
            if let Err(e) = guard(name, || f(Ctx(ctx), argv)) {
                // Set here, with its code and any text; sqlite-loadable's own
                // error path would drop texts holding a NUL byte.
                Ctx(ctx).error(&e);
            }
            Ok(())
        },
        flags,
    )
    .map_err(|_| Error::new(format!("otelcat: cannot register function {name}")))
}

/// A scalar function with per-connection state `T` (shared with other
/// functions or tables through `Rc` inside `T`). Registered directly with
/// `sqlite3_create_function_v2` so that the state is dropped when the
/// connection closes (sqlite-loadable leaks the closure it boxes).
pub fn define_scalar_with<T: 'static>(
    db: *mut sqlite3,
    name: &'static str,
    nargs: c_int,
    flags: FunctionFlags,
    state: T,
    f: fn(Ctx, &[*mut sqlite3_value], &T) -> Result<()>,
) -> Result<()> {
    struct Data<T> {
        name: &'static str,
        state: T,
        f: fn(Ctx, &[*mut sqlite3_value], &T) -> Result<()>,
    }
    unsafe extern "C" fn call<T: 'static>(
        ctx: *mut sqlite3_context,
        argc: c_int,
        argv: *mut *mut sqlite3_value,
    ) {
        let d = sqlite!(user_data(ctx)) as *const Data<T>;
        let argv = args(argc, argv);
        if let Err(e) = guard((*d).name, || ((*d).f)(Ctx(ctx), argv, &(*d).state)) {
            Ctx(ctx).error(&e);
        }
    }
    let cname = CString::new(name).expect("function names have no NUL");
    let data = Box::into_raw(Box::new(Data { name, state, f }));
    let rc = sqlite!(create_function_v2(
        db,
        cname.as_ptr(),
        nargs,
        flags.bits(),
        data as *mut c_void,
        Some(call::<T>),
        None,
        None,
        Some(drop_box::<Data<T>>),
    ));
    if rc != SQLITE_OK {
        bail!("otelcat: cannot register function {name} (code {rc})");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Aggregate and window functions

/// An aggregate. `new` sees the first row's arguments; `step` every row's
/// (the first one included); `result` may be called several times when the
/// aggregate is used as a window function (xValue) and once at the end.
pub trait Aggregate: Sized + 'static {
    fn new(args: &[*mut sqlite3_value]) -> Result<Self>;
    fn step(&mut self, args: &[*mut sqlite3_value]) -> Result<()>;
    fn result(&mut self, ctx: Ctx) -> Result<()>;
    /// The result over no rows at all.
    fn empty(ctx: Ctx) -> Result<()> {
        ctx.null();
        Ok(())
    }
}

struct AggInfo {
    name: &'static str,
}

unsafe fn agg_name(ctx: *mut sqlite3_context) -> &'static str {
    let info = sqlite!(user_data(ctx)) as *const AggInfo;
    if info.is_null() {
        "aggregate"
    } else {
        (*info).name
    }
}

/// The state slot inside SQLite's aggregate context: a pointer to our box.
unsafe fn agg_slot<A>(ctx: *mut sqlite3_context, alloc: bool) -> *mut *mut A {
    let n = if alloc {
        std::mem::size_of::<*mut A>() as c_int
    } else {
        0
    };
    sqlite!(aggregate_context(ctx, n)) as *mut *mut A
}

unsafe extern "C" fn agg_step<A: Aggregate>(
    ctx: *mut sqlite3_context,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) {
    let name = agg_name(ctx);
    let argv = args(argc, argv);
    let r = guard(name, || {
        let slot = agg_slot::<A>(ctx, true);
        if slot.is_null() {
            return Err(Error::with_code(7, format!("{name}: out of memory")));
        }
        if (*slot).is_null() {
            *slot = Box::into_raw(Box::new(A::new(argv)?));
        }
        (**slot).step(argv)
    });
    if let Err(e) = r {
        Ctx(ctx).error(&e);
    }
}

unsafe extern "C" fn agg_final<A: Aggregate>(ctx: *mut sqlite3_context) {
    let name = agg_name(ctx);
    let r = guard(name, || {
        let slot = agg_slot::<A>(ctx, false);
        if slot.is_null() || (*slot).is_null() {
            return A::empty(Ctx(ctx));
        }
        let mut state = Box::from_raw(*slot);
        *slot = ptr::null_mut();
        state.result(Ctx(ctx))
    });
    if let Err(e) = r {
        Ctx(ctx).error(&e);
    }
}

unsafe extern "C" fn agg_value<A: Aggregate>(ctx: *mut sqlite3_context) {
    let name = agg_name(ctx);
    let r = guard(name, || {
        let slot = agg_slot::<A>(ctx, false);
        if slot.is_null() || (*slot).is_null() {
            return A::empty(Ctx(ctx));
        }
        (**slot).result(Ctx(ctx))
    });
    if let Err(e) = r {
        Ctx(ctx).error(&e);
    }
}

unsafe extern "C" fn agg_inverse<A: Aggregate>(
    ctx: *mut sqlite3_context,
    _argc: c_int,
    _argv: *mut *mut sqlite3_value,
) {
    let name = agg_name(ctx);
    Ctx(ctx).error(&Error::new(format!(
        "{name}: rows cannot be removed from a sketch; use a window frame that only grows \
         (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )));
}

unsafe extern "C" fn drop_box<T>(p: *mut c_void) {
    if !p.is_null() {
        drop(Box::from_raw(p as *mut T));
    }
}

/// Registers an aggregate that is also a window function over frames that
/// only grow (the default frame, or UNBOUNDED PRECEDING to CURRENT ROW):
/// rows leaving a frame cannot be removed from a sketch or a sample list,
/// so a sliding frame is an error naming the function.
pub fn define_aggregate<A: Aggregate>(
    db: *mut sqlite3,
    name: &'static str,
    nargs: c_int,
    flags: FunctionFlags,
) -> Result<()> {
    let cname = CString::new(name).expect("function names have no NUL");
    let info = Box::into_raw(Box::new(AggInfo { name }));
    let rc = sqlite!(create_window_function(
        db,
        cname.as_ptr(),
        nargs,
        flags.bits(),
        info as *mut c_void,
        Some(agg_step::<A>),
        Some(agg_final::<A>),
        Some(agg_value::<A>),
        Some(agg_inverse::<A>),
        Some(drop_box::<AggInfo>),
    ));
    if rc != SQLITE_OK {
        bail!("otelcat: cannot register aggregate {name} (code {rc})");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Writeable eponymous virtual tables

/// A table users write to with `INSERT INTO name(...) VALUES (...)` without
/// creating it (eponymous), that takes part in transactions. Reading it
/// yields no rows. Every callback is guarded; errors keep their text.
pub trait WriteTable: Sized + 'static {
    /// Per-connection data handed to every instance.
    type Aux: 'static;
    /// Used in error messages ("otlp_ingest: …").
    const NAME: &'static str;
    /// `CREATE TABLE x(...)` declaring the columns.
    const SCHEMA: &'static str;
    /// `schema` is the database the table was named in (`main`, `temp`, or
    /// an attached database's name).
    fn connect(db: *mut sqlite3, schema: &str, aux: &'static Self::Aux) -> Result<Self>;
    /// One inserted row: the declared columns in order.
    fn insert(&mut self, values: &[*mut sqlite3_value]) -> Result<()>;
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
    db: *mut sqlite3,
    /// A callback of this table is running: SQLite may call another one
    /// from inside it (a nested statement that fails with a full disk rolls
    /// the transaction back at once), which must not get a second `&mut`.
    busy: std::cell::Cell<bool>,
    /// Transaction callbacks that arrived while busy, run when it returns.
    deferred: std::cell::RefCell<Vec<TxnOp>>,
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

struct ModuleBox<T: WriteTable> {
    module: sqlite3_module,
    aux: T::Aux,
}

/// Stores `e` as the table's error message (SQLite frees the old one and
/// reports this one) and returns its code.
unsafe fn vtab_error(vtab: *mut sqlite3_vtab, e: Error) -> c_int {
    if !(*vtab).zErrMsg.is_null() {
        sqlite!(free((*vtab).zErrMsg as *mut c_void));
    }
    (*vtab).zErrMsg = sqlite_malloc_str(&e.msg);
    e.code
}

/// Runs `f` on the table, once no other callback of it is running: a
/// transaction callback that arrives inside another one is kept and run
/// right after it (in order); any other re-entrant call is an error.
unsafe fn vtab_call<T: WriteTable>(
    vtab: *mut sqlite3_vtab,
    op: Option<TxnOp>,
    f: impl FnOnce(&mut T) -> Result<()>,
) -> c_int {
    let vt = vtab as *mut VTab<T>;
    if (*vt).busy.get() {
        return match op {
            Some(op) => {
                (*vt).deferred.borrow_mut().push(op);
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
    (*vt).busy.set(true);
    let r = guard(T::NAME, || f(&mut (*vt).inner));
    loop {
        let ops = std::mem::take(&mut *(*vt).deferred.borrow_mut());
        if ops.is_empty() {
            break;
        }
        for op in ops {
            // SQLite has moved on: a late callback's error has no one to
            // reach (rollbacks do not fail anyway).
            let _ = guard(T::NAME, || op.apply(&mut (*vt).inner));
        }
    }
    (*vt).busy.set(false);
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
        let mb = p_aux as *const ModuleBox<T>;
        let aux: &'static T::Aux = &(*mb).aux;
        let decl = CString::new(T::SCHEMA).expect("schema has no NUL");
        let rc = sqlite!(declare_vtab(db, decl.as_ptr()));
        if rc != SQLITE_OK {
            bail!("{}: cannot declare the table (code {rc})", T::NAME);
        }
        // These tables write: never usable from a trigger or view, which a
        // database file from a stranger could hold (trusted_schema=ON is
        // SQLite's default).
        let rc = sqlite!(vtab_config(db, SQLITE_VTAB_DIRECTONLY));
        if rc != SQLITE_OK {
            bail!("{}: cannot mark the table direct-only (code {rc})", T::NAME);
        }
        // argv[1] is the name of the database the table is used in.
        let schema = if argc > 1 && !(*argv.add(1)).is_null() {
            CStr::from_ptr(*argv.add(1)).to_string_lossy().into_owned()
        } else {
            "main".to_string()
        };
        let inner = T::connect(db, &schema, aux)?;
        let vt = Box::new(VTab {
            base: sqlite3_vtab {
                pModule: ptr::null(),
                nRef: 0,
                zErrMsg: ptr::null_mut(),
            },
            db,
            busy: std::cell::Cell::new(false),
            deferred: std::cell::RefCell::new(Vec::new()),
            inner,
        });
        *pp_vtab = Box::into_raw(vt) as *mut sqlite3_vtab;
        Ok(())
    });
    match r {
        Ok(()) => SQLITE_OK,
        Err(e) => {
            if !pz_err.is_null() {
                *pz_err = sqlite_malloc_str(&e.msg);
            }
            e.code
        }
    }
}

unsafe extern "C" fn wt_disconnect<T: WriteTable>(vtab: *mut sqlite3_vtab) -> c_int {
    let _ = guard(T::NAME, || {
        drop(Box::from_raw(vtab as *mut VTab<T>));
        Ok(())
    });
    SQLITE_OK
}

unsafe extern "C" fn wt_best_index(
    _vtab: *mut sqlite3_vtab,
    info: *mut sqlite3_index_info,
) -> c_int {
    (*info).estimatedCost = 1.0;
    (*info).estimatedRows = 0;
    SQLITE_OK
}

unsafe extern "C" fn wt_open(
    vtab: *mut sqlite3_vtab,
    pp_cursor: *mut *mut sqlite3_vtab_cursor,
) -> c_int {
    let c = Box::new(EmptyCursor {
        base: sqlite3_vtab_cursor { pVtab: vtab },
    });
    *pp_cursor = Box::into_raw(c) as *mut sqlite3_vtab_cursor;
    SQLITE_OK
}

unsafe extern "C" fn wt_close(cursor: *mut sqlite3_vtab_cursor) -> c_int {
    drop(Box::from_raw(cursor as *mut EmptyCursor));
    SQLITE_OK
}

unsafe extern "C" fn wt_filter<T: WriteTable>(
    c: *mut sqlite3_vtab_cursor,
    _idx: c_int,
    _idx_str: *const c_char,
    _argc: c_int,
    _argv: *mut *mut sqlite3_value,
) -> c_int {
    // A scan yields no rows, so a DELETE or UPDATE of the table would do
    // nothing without a word: refuse it here, where it scans.
    let vtab = (*c).pVtab;
    let vt = vtab as *mut VTab<T>;
    vtab_call::<T>(vtab, None, |_| {
        for sql in running_statements((*vt).db) {
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
    sqlite!(result_null(ctx));
    SQLITE_OK
}

unsafe extern "C" fn wt_rowid(_c: *mut sqlite3_vtab_cursor, rowid: *mut i64) -> c_int {
    *rowid = 0;
    SQLITE_OK
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
        if argv.len() < 2 || !Arg(argv[0]).is_null() {
            bail!("{}: only INSERT is supported", T::NAME);
        }
        if !Arg(argv[1]).is_null() {
            bail!("{}: rowid cannot be given", T::NAME);
        }
        t.insert(&argv[2..])?;
        *rowid = 0;
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
pub fn define_write_table<T: WriteTable>(db: *mut sqlite3, aux: T::Aux) -> Result<()> {
    // SAFETY: sqlite3_module is a plain C struct of an int and nullable
    // function pointers; all-zero is "no methods".
    let mut module: sqlite3_module = unsafe { std::mem::zeroed() };
    module.iVersion = 2;
    module.xCreate = None; // eponymous-only: exists without CREATE VIRTUAL TABLE
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
    let mb = Box::into_raw(Box::new(ModuleBox::<T> { module, aux }));
    let cname = CString::new(T::NAME).expect("table names have no NUL");
    let rc = sqlite!(create_module_v2(
        db,
        cname.as_ptr(),
        unsafe { &(*mb).module },
        mb as *mut c_void,
        Some(drop_box::<ModuleBox<T>>),
    ));
    if rc != SQLITE_OK {
        bail!("otelcat: cannot register table {} (code {rc})", T::NAME);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Nested statements

/// A prepared statement on the connection the extension runs in.
pub struct Stmt {
    raw: *mut sqlite3_stmt,
    db: *mut sqlite3,
}

/// A parameter for [`Stmt::run_with`], bound without a copy.
pub enum Param<'a> {
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
    Null,
}

/// The connection's current error message.
pub fn errmsg(db: *mut sqlite3) -> String {
    let p = sqlite!(errmsg(db));
    if p.is_null() {
        return "unknown error".into();
    }
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

impl Stmt {
    pub fn prepare(db: *mut sqlite3, sql: &str) -> Result<Stmt> {
        let mut raw = ptr::null_mut();
        let rc = sqlite!(prepare_v2(
            db,
            sql.as_ptr() as *const c_char,
            sql.len() as c_int,
            &mut raw,
            ptr::null_mut(),
        ));
        if rc != SQLITE_OK {
            return Err(Error::with_code(rc, errmsg(db)));
        }
        Ok(Stmt { raw, db })
    }
    fn check(&self, rc: c_int) -> Result<()> {
        if rc == SQLITE_OK {
            Ok(())
        } else {
            Err(Error::with_code(rc, errmsg(self.db)))
        }
    }
    pub fn bind_i64(&mut self, i: c_int, v: i64) -> Result<()> {
        self.check(sqlite!(bind_int64(self.raw, i, v)))
    }
    pub fn bind_null(&mut self, i: c_int) -> Result<()> {
        self.check(sqlite!(bind_null(self.raw, i)))
    }
    /// Binds a copy of `s` (SQLITE_TRANSIENT).
    pub fn bind_text(&mut self, i: c_int, s: &str) -> Result<()> {
        self.bind(i, &Param::Text(s), transient())
    }
    /// Binds a copy of `b` (SQLITE_TRANSIENT).
    pub fn bind_blob(&mut self, i: c_int, b: &[u8]) -> Result<()> {
        self.bind(i, &Param::Blob(b), transient())
    }
    /// Binds `p` to ?i; texts and blobs with `destructor` (SQLITE_TRANSIENT:
    /// SQLite copies them; `None`, SQLITE_STATIC: it reads them in place).
    #[inline]
    fn bind(
        &mut self,
        i: c_int,
        p: &Param<'_>,
        destructor: Option<unsafe extern "C" fn(*mut c_void)>,
    ) -> Result<()> {
        let rc = match *p {
            Param::Int(v) => sqlite!(bind_int64(self.raw, i, v)),
            Param::Null => sqlite!(bind_null(self.raw, i)),
            Param::Text(s) => sqlite!(bind_text64(
                self.raw,
                i,
                s.as_ptr() as *const c_char,
                s.len() as u64,
                destructor,
                SQLITE_UTF8 as u8,
            )),
            Param::Blob(b) => sqlite!(bind_blob64(
                self.raw,
                i,
                b.as_ptr() as *const c_void,
                b.len() as u64,
                destructor,
            )),
        };
        self.check(rc)
    }
    /// Binds `params` to ?1, ?2, … without copying them (SQLITE_STATIC:
    /// SQLite reads them in place while the statement runs), runs the
    /// statement to its end, then resets it and clears its bindings, so
    /// that SQLite keeps no pointer into `params` once this returns.
    pub fn run_with(&mut self, params: &[Param<'_>]) -> Result<()> {
        let r = self.bind_static(params).and_then(|()| {
            while self.step()? {}
            Ok(())
        });
        self.reset();
        sqlite!(clear_bindings(self.raw));
        r
    }
    fn bind_static(&mut self, params: &[Param<'_>]) -> Result<()> {
        for (i, p) in params.iter().enumerate() {
            // SQLITE_STATIC is the null destructor.
            self.bind(i as c_int + 1, p, None)?;
        }
        Ok(())
    }
    /// Steps once: `Ok(true)` when a row is ready.
    pub fn step(&mut self) -> Result<bool> {
        match sqlite!(step(self.raw)) {
            SQLITE_ROW => Ok(true),
            SQLITE_DONE => Ok(false),
            _ => {
                // With prepare_v2, the error code comes back from step; the
                // message is on the connection.
                let e = Error::with_code(sqlite!(extended_errcode(self.db)), errmsg(self.db));
                sqlite!(reset(self.raw));
                Err(e)
            }
        }
    }
    /// Runs to completion, then resets for the next use.
    pub fn run(&mut self) -> Result<()> {
        while self.step()? {}
        self.reset();
        Ok(())
    }
    pub fn reset(&mut self) {
        sqlite!(reset(self.raw));
    }
    pub fn column_i64(&self, i: c_int) -> i64 {
        sqlite!(column_int64(self.raw, i))
    }
    pub fn column_blob<'a>(&'a self, i: c_int) -> &'a [u8] {
        let p = sqlite!(column_blob(self.raw, i)) as *const u8;
        let n = sqlite!(column_bytes(self.raw, i));
        if p.is_null() || n <= 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(p, n as usize) }
        }
    }
    pub fn column_text<'a>(&'a self, i: c_int) -> String {
        let p = sqlite!(column_text(self.raw, i));
        let n = sqlite!(column_bytes(self.raw, i));
        if p.is_null() || n <= 0 {
            String::new()
        } else {
            String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p, n as usize) })
                .into_owned()
        }
    }
}

impl Drop for Stmt {
    fn drop(&mut self) {
        sqlite!(finalize(self.raw));
    }
}

/// Runs a script of SQL statements (no results).
pub fn exec(db: *mut sqlite3, sql: &str) -> Result<()> {
    let c = CString::new(sql).map_err(|_| Error::new("SQL text holds a NUL byte"))?;
    let mut err: *mut c_char = ptr::null_mut();
    let rc = sqlite!(exec(db, c.as_ptr(), None, ptr::null_mut(), &mut err));
    if rc != SQLITE_OK {
        let msg = if err.is_null() {
            errmsg(db)
        } else {
            let m = unsafe { CStr::from_ptr(err) }
                .to_string_lossy()
                .into_owned();
            sqlite!(free(err as *mut c_void));
            m
        };
        return Err(Error::with_code(rc, msg));
    }
    Ok(())
}

/// The "main" database's data version: changes when another connection
/// commits to the file (`PRAGMA data_version`, without parsing SQL).
pub fn data_version(db: *mut sqlite3) -> u32 {
    let mut v: u32 = 0;
    let rc = sqlite!(file_control(
        db,
        b"main\0".as_ptr() as *const c_char,
        SQLITE_FCNTL_DATA_VERSION,
        &mut v as *mut u32 as *mut c_void,
    ));
    if rc == SQLITE_OK { v } else { 0 }
}

/// Whether the database `schema` ("main", …) is read-only on this
/// connection (opened read-only, or a read-only file). An unknown schema
/// counts as read-only.
pub fn db_readonly(db: *mut sqlite3, schema: &str) -> bool {
    let Ok(c) = CString::new(schema) else {
        return true;
    };
    sqlite!(db_readonly(db, c.as_ptr())) != 0
}

/// The SQL text of every statement of the connection that is running
/// (stepped and not yet reset or finished).
pub fn running_statements(db: *mut sqlite3) -> Vec<String> {
    let mut out = Vec::new();
    let mut st = sqlite!(next_stmt(db, ptr::null_mut()));
    while !st.is_null() {
        if sqlite!(stmt_busy(st)) != 0 {
            let p = sqlite!(sql(st));
            if !p.is_null() {
                // SAFETY: sqlite3_sql returns a NUL-terminated string owned
                // by the statement, valid until it is finalized; copied here.
                out.push(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned());
            }
        }
        st = sqlite!(next_stmt(db, st));
    }
    out
}

/// Whether the connection is in autocommit mode (no BEGIN in effect).
pub fn autocommit(db: *mut sqlite3) -> bool {
    sqlite!(get_autocommit(db)) != 0
}

/// Whether a statement of the connection that writes is running (stepped
/// and not yet reset): SQLite commits an autocommit write only when the
/// last running writer ends.
pub fn writer_running(db: *mut sqlite3) -> bool {
    let mut st = sqlite!(next_stmt(db, ptr::null_mut()));
    while !st.is_null() {
        if sqlite!(stmt_busy(st)) != 0 && sqlite!(stmt_readonly(st)) == 0 {
            return true;
        }
        st = sqlite!(next_stmt(db, st));
    }
    false
}

/// The host's SQLite version text.
pub fn libversion() -> String {
    let p = sqlite!(libversion());
    if p.is_null() {
        return String::new();
    }
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

pub fn libversion_number() -> c_int {
    sqlite!(libversion_number())
}

// ---------------------------------------------------------------------------
// Statement-scoped state

/// Returns the `T` attached to the statement running `ctx` under the key
/// `key` (a negative number), creating it with `make` on the statement's
/// first call. SQLite drops it when the statement halts, before it commits
/// an autocommit transaction (the auxiliary-data mechanism with a negative
/// argument index, which SQLite's own JSON functions use for their cache):
/// that is where `T`'s `Drop` can still write within the statement's
/// transaction.
pub fn stmt_scoped<T: 'static>(ctx: Ctx, key: c_int, make: impl FnOnce() -> T) -> *mut T {
    debug_assert!(key < 0);
    let p = sqlite!(get_auxdata(ctx.0, key)) as *mut T;
    if !p.is_null() {
        return p;
    }
    let b = Box::into_raw(Box::new(make()));
    sqlite!(set_auxdata(
        ctx.0,
        key,
        b as *mut c_void,
        Some(drop_aux::<T>)
    ));
    // set_auxdata frees the value itself on failure; look it up again.
    sqlite!(get_auxdata(ctx.0, key)) as *mut T
}

unsafe extern "C" fn drop_aux<T>(p: *mut c_void) {
    let _ = guard("otelcat", || {
        drop_box::<T>(p);
        Ok(())
    });
}
