//! The FFI boundary: every `unsafe` of otelcat lives in this file.
//!
//! * the entry point SQLite calls, and the SQLite routine table
//!   (`sqlite3_api_routines`) it hands over, through which every SQLite
//!   routine is reached (the extension links against no SQLite symbol);
//! * typed handles for what SQLite passes to a call: [`Arg`] (a function
//!   argument) and [`Ctx`] (where a result goes) live only as long as the
//!   call that received them; [`Db`] is the connection, valid while it is
//!   open (everything of otelcat that holds one — function state, tables,
//!   statements — is dropped by SQLite before the connection closes);
//! * panic guards: every callback SQLite makes into Rust goes through
//!   [`guard`], so a panic is an SQL error naming the function or table and
//!   the host process lives on;
//! * scalar, aggregate and window functions ([`define_scalar`],
//!   [`define_aggregate`]); writeable, transactional eponymous tables
//!   ([`WriteTable`]); read-only table-valued functions
//!   ([`TableFunction`]);
//! * nested statements ([`Stmt`], [`exec`]) and statement-scoped state
//!   ([`stmt_scoped`]).
//!
//! The rest of the crate is safe Rust (`unsafe_code` is denied outside this
//! module, see Cargo.toml's `[lints]`).
#![allow(unsafe_code)]

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};

use sqlite3ext_sys::{
    sqlite3, sqlite3_api_routines, sqlite3_context, sqlite3_index_info, sqlite3_module,
    sqlite3_stmt, sqlite3_value, sqlite3_vtab, sqlite3_vtab_cursor,
};

// ---------------------------------------------------------------------------
// The routine table and the entry point

static API: AtomicPtr<sqlite3_api_routines> = AtomicPtr::new(ptr::null_mut());

/// Calls a routine of the host's `sqlite3_api_routines` table.
macro_rules! sqlite {
    ($name:ident ( $($arg:expr),* $(,)? )) => {{
        let api = API.load(Ordering::Relaxed);
        // SAFETY: API points to the routine table SQLite passed to the entry
        // point, which stays valid while the library is loaded; the routine
        // exists in every SQLite that otelcat supports (3.40+), and the
        // caller passes arguments as that routine's C contract requires.
        #[allow(unused_unsafe)]
        unsafe {
            ((*api).$name.expect(concat!("the host SQLite lacks sqlite3_", stringify!($name))))($($arg),*)
        }
    }};
}

pub const SQLITE_OK: c_int = 0;
pub const SQLITE_ERROR: c_int = 1;
const SQLITE_INTERNAL: c_int = 2;
const SQLITE_NOMEM: c_int = 7;
const SQLITE_TOOBIG: c_int = 18;
const SQLITE_ROW: c_int = 100;
const SQLITE_DONE: c_int = 101;
const SQLITE_INTEGER: c_int = 1;
const SQLITE_FLOAT: c_int = 2;
const SQLITE_TEXT: c_int = 3;
const SQLITE_BLOB: c_int = 4;
const SQLITE_UTF8: c_int = 1;
const SQLITE_DETERMINISTIC: c_int = 0x800;
const SQLITE_DIRECTONLY: c_int = 0x80000;
const SQLITE_INNOCUOUS: c_int = 0x200000;
const SQLITE_FCNTL_DATA_VERSION: c_int = 35;
const SQLITE_VTAB_INNOCUOUS: c_int = 2;
const SQLITE_VTAB_DIRECTONLY: c_int = 3;
const SQLITE_INDEX_CONSTRAINT_EQ: u8 = 2;

/// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
fn transient() -> Option<unsafe extern "C" fn(*mut c_void)> {
    // SAFETY: SQLite defines SQLITE_TRANSIENT as ((sqlite3_destructor_type)-1)
    // and compares the pointer value only; it is never called.
    Some(unsafe { std::mem::transmute::<isize, unsafe extern "C" fn(*mut c_void)>(-1) })
}

/// The entry point SQLite finds for `.load dist/otelcat`
/// (`sqlite3_` + file stem + `_init`): installs the routine table, runs the
/// registrations of `lib.rs`, reports their error.
///
/// # Safety
/// Called by SQLite with a valid connection, error-message slot and routine
/// table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_otelcat_init(
    db: *mut sqlite3,
    pz_err_msg: *mut *mut c_char,
    p_api: *mut sqlite3_api_routines,
) -> c_int {
    if p_api.is_null() || db.is_null() {
        return SQLITE_ERROR;
    }
    API.store(p_api, Ordering::Relaxed);
    let db = Db(NonNull::new(db).expect("checked above"));
    let err = match catch_unwind(AssertUnwindSafe(|| crate::register(db))) {
        Ok(Ok(())) => return SQLITE_OK,
        Ok(Err(e)) => e,
        Err(p) => Error::new(format!("otelcat: panic while loading: {}", panic_text(&p))),
    };
    if !pz_err_msg.is_null() {
        // SAFETY: SQLite passes a writable slot for an sqlite3_malloc'ed text.
        unsafe { *pz_err_msg = sqlite_malloc_str(&err.msg) };
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
            SQLITE_INTERNAL,
            format!("{what}: internal error (panic: {})", panic_text(&p)),
        )),
    }
}

/// Copies `s` into memory from `sqlite3_malloc` (for error-message slots,
/// which SQLite frees). NUL bytes become '?': SQLite would cut the text there.
fn sqlite_malloc_str(s: &str) -> *mut c_char {
    let bytes = s.as_bytes();
    let n = bytes.len();
    let p = sqlite!(malloc64(n as u64 + 1)) as *mut u8;
    if p.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: p points to n + 1 bytes just allocated, which nothing else uses.
    let out = unsafe { std::slice::from_raw_parts_mut(p, n + 1) };
    for (o, &b) in out.iter_mut().zip(bytes) {
        *o = if b == 0 { b'?' } else { b };
    }
    out[n] = 0;
    p as *mut c_char
}

// ---------------------------------------------------------------------------
// The connection

/// The database connection the extension runs in. Valid while the
/// connection is open; SQLite drops everything of otelcat that keeps one
/// (function state, tables, statements) before it closes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Db(NonNull<sqlite3>);

impl Db {
    fn raw(self) -> *mut sqlite3 {
        self.0.as_ptr()
    }

    /// The connection's current error message.
    pub fn errmsg(self) -> String {
        let p = sqlite!(errmsg(self.raw()));
        if p.is_null() {
            return "unknown error".into();
        }
        // SAFETY: sqlite3_errmsg returns a NUL-terminated string valid until
        // the next call on the connection; it is copied at once.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    /// The main database's data version: changes when another connection
    /// commits to the file, and on this connection's own commits
    /// (`SQLITE_FCNTL_DATA_VERSION`).
    pub fn data_version(self) -> u32 {
        let mut v: u32 = 0;
        let rc = sqlite!(file_control(
            self.raw(),
            c"main".as_ptr(),
            SQLITE_FCNTL_DATA_VERSION,
            &mut v as *mut u32 as *mut c_void,
        ));
        if rc == SQLITE_OK { v } else { 0 }
    }

    /// Whether the database `schema` ("main", …) is read-only on this
    /// connection (opened read-only, or a read-only file). An unknown
    /// schema counts as read-only.
    pub fn readonly(self, schema: &str) -> bool {
        let Ok(c) = CString::new(schema) else {
            return true;
        };
        sqlite!(db_readonly(self.raw(), c.as_ptr())) != 0
    }

    /// Whether the connection is in autocommit mode (no BEGIN in effect).
    pub fn autocommit(self) -> bool {
        sqlite!(get_autocommit(self.raw())) != 0
    }

    /// The running statements (stepped and not yet reset or finished).
    fn running(self) -> impl Iterator<Item = *mut sqlite3_stmt> {
        let db = self.raw();
        let mut st = sqlite!(next_stmt(db, ptr::null_mut()));
        std::iter::from_fn(move || {
            while !st.is_null() {
                let this = st;
                st = sqlite!(next_stmt(db, st));
                if sqlite!(stmt_busy(this)) != 0 {
                    return Some(this);
                }
            }
            None
        })
    }

    /// The SQL text of every running statement of the connection.
    pub fn running_statements(self) -> Vec<String> {
        self.running()
            .filter_map(|st| {
                let p = sqlite!(sql(st));
                // SAFETY: sqlite3_sql returns a NUL-terminated string owned by
                // the statement, valid until it is finalized; copied at once.
                (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
            })
            .collect()
    }

    /// Whether a statement of the connection that writes is running: SQLite
    /// commits an autocommit write only when the last running writer ends.
    pub fn writer_running(self) -> bool {
        self.running().any(|st| sqlite!(stmt_readonly(st)) == 0)
    }
}

/// Runs a script of SQL statements (no results).
pub fn exec(db: Db, sql: &str) -> Result<()> {
    let c = CString::new(sql).map_err(|_| Error::new("SQL text holds a NUL byte"))?;
    let mut err: *mut c_char = ptr::null_mut();
    let rc = sqlite!(exec(db.raw(), c.as_ptr(), None, ptr::null_mut(), &mut err));
    if rc != SQLITE_OK {
        let msg = if err.is_null() {
            db.errmsg()
        } else {
            // SAFETY: sqlite3_exec set err to an sqlite3_malloc'ed
            // NUL-terminated message, which we copy and then free once.
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

/// The host's SQLite version text.
pub fn libversion() -> String {
    let p = sqlite!(libversion());
    if p.is_null() {
        return String::new();
    }
    // SAFETY: sqlite3_libversion returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

pub fn libversion_number() -> c_int {
    sqlite!(libversion_number())
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

/// A function or table argument, valid for the call that received it.
///
/// Reading its text, then its blob (or the reverse) may make SQLite convert
/// the value and free the bytes returned first: read a value one way.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Arg<'a> {
    raw: NonNull<sqlite3_value>,
    _call: PhantomData<&'a sqlite3_value>,
}

impl<'a> Arg<'a> {
    #[inline]
    pub fn kind(self) -> Kind {
        match sqlite!(value_type(self.raw.as_ptr())) {
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
        sqlite!(value_int64(self.raw.as_ptr()))
    }
    #[inline]
    pub fn f64(self) -> f64 {
        sqlite!(value_double(self.raw.as_ptr()))
    }
    /// The bytes of a BLOB (or of the value converted to a BLOB).
    #[inline]
    pub fn blob(self) -> &'a [u8] {
        let p = sqlite!(value_blob(self.raw.as_ptr())) as *const u8;
        let n = sqlite!(value_bytes(self.raw.as_ptr()));
        bytes(p, n)
    }
    /// The UTF-8 bytes of the value's text form (SQLite's conversion rules).
    #[inline]
    pub fn text_bytes(self) -> &'a [u8] {
        let p = sqlite!(value_text(self.raw.as_ptr()));
        let n = sqlite!(value_bytes(self.raw.as_ptr()));
        bytes(p, n)
    }
    /// The value's text; an error naming `func` and argument `pos` (1-based)
    /// when it is not valid UTF-8.
    pub fn str(self, func: &str, pos: usize) -> Result<&'a str> {
        std::str::from_utf8(self.text_bytes())
            .map_err(|_| Error::new(format!("{func}: argument {pos} is not valid UTF-8 text")))
    }
}

/// `n` bytes at `p` (SQLite's answer for a value's bytes), for the call.
#[inline]
fn bytes<'a>(p: *const u8, n: c_int) -> &'a [u8] {
    if p.is_null() || n <= 0 {
        &[]
    } else {
        // SAFETY: SQLite returned p with n readable bytes, valid until the
        // value is converted or freed, which happens after the call ends
        // (or on another conversion of the same value: see Arg's docs).
        unsafe { std::slice::from_raw_parts(p, n as usize) }
    }
}

/// The argv array of a callback as arguments.
#[inline]
fn args<'a>(argc: c_int, argv: *mut *mut sqlite3_value) -> &'a [Arg<'a>] {
    if argc <= 0 || argv.is_null() {
        &[]
    } else {
        // SAFETY: SQLite passes argc non-null value pointers valid for the
        // call; Arg is a transparent non-null pointer with the same layout.
        unsafe { std::slice::from_raw_parts(argv as *const Arg<'a>, argc as usize) }
    }
}

// ---------------------------------------------------------------------------
// Results

/// Where a function's result goes, for the call that received it.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    raw: NonNull<sqlite3_context>,
    _call: PhantomData<&'a mut sqlite3_context>,
}

impl<'a> Ctx<'a> {
    fn new(raw: *mut sqlite3_context) -> Option<Ctx<'a>> {
        NonNull::new(raw).map(|raw| Ctx {
            raw,
            _call: PhantomData,
        })
    }
    fn raw(self) -> *mut sqlite3_context {
        self.raw.as_ptr()
    }
    pub fn null(self) {
        sqlite!(result_null(self.raw()));
    }
    pub fn i64(self, v: i64) {
        sqlite!(result_int64(self.raw(), v));
    }
    pub fn f64(self, v: f64) {
        sqlite!(result_double(self.raw(), v));
    }
    /// (A text or blob over SQLITE_LIMIT_LENGTH: SQLite sets the "string or
    /// blob too big" error itself.)
    pub fn text(self, s: &str) -> Result<()> {
        sqlite!(result_text64(
            self.raw(),
            s.as_ptr() as *const c_char,
            s.len() as u64,
            transient(),
            SQLITE_UTF8 as u8,
        ));
        Ok(())
    }
    pub fn blob(self, b: &[u8]) -> Result<()> {
        sqlite!(result_blob64(
            self.raw(),
            b.as_ptr() as *const c_void,
            b.len() as u64,
            transient()
        ));
        Ok(())
    }
    pub fn error(self, e: &Error) {
        let n = e.msg.len().min(c_int::MAX as usize) as c_int;
        sqlite!(result_error(self.raw(), e.msg.as_ptr() as *const c_char, n));
        if e.code != SQLITE_ERROR {
            // Keeps the message set above, changes the code.
            sqlite!(result_error_code(self.raw(), e.code));
        }
    }
    pub fn db(self) -> Db {
        let p = sqlite!(context_db_handle(self.raw()));
        Db(NonNull::new(p).expect("a function call has a connection"))
    }
}

// ---------------------------------------------------------------------------
// Scalar functions

/// How a function may be used: SQLite's function flags.
#[derive(Clone, Copy)]
pub struct Flags(c_int);

/// Same result for the same arguments, no side effects: usable in indexes,
/// views and triggers, also in untrusted schemas.
pub fn pure() -> Flags {
    Flags(SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS)
}
/// State or side effects: not deterministic, not usable in untrusted
/// schemas.
pub fn impure() -> Flags {
    Flags(SQLITE_UTF8)
}
/// Changes state: only callable from top-level SQL, never from a view,
/// trigger, CHECK or index of a (possibly untrusted) schema.
pub fn direct_only() -> Flags {
    Flags(SQLITE_UTF8 | SQLITE_DIRECTONLY)
}

/// A scalar function: fills `ctx` from `args`.
pub type ScalarFn = for<'a> fn(Ctx<'a>, &[Arg<'a>]) -> Result<()>;

/// Registers a scalar function behind a panic guard. `nargs` = -1 accepts
/// any number of arguments.
pub fn define_scalar(
    db: Db,
    name: &'static str,
    nargs: c_int,
    flags: Flags,
    f: ScalarFn,
) -> Result<()> {
    fn call(ctx: Ctx<'_>, args: &[Arg<'_>], f: &ScalarFn) -> Result<()> {
        f(ctx, args)
    }
    define_scalar_with(db, name, nargs, flags, f, call)
}

/// A scalar function with per-connection state `T` (shared with other
/// functions or tables through `Rc` inside `T`), dropped when the
/// connection closes.
pub fn define_scalar_with<T: 'static>(
    db: Db,
    name: &'static str,
    nargs: c_int,
    flags: Flags,
    state: T,
    f: for<'a> fn(Ctx<'a>, &[Arg<'a>], &T) -> Result<()>,
) -> Result<()> {
    struct Data<T> {
        name: &'static str,
        state: T,
        f: for<'a> fn(Ctx<'a>, &[Arg<'a>], &T) -> Result<()>,
    }
    unsafe extern "C" fn call<T: 'static>(
        ctx: *mut sqlite3_context,
        argc: c_int,
        argv: *mut *mut sqlite3_value,
    ) {
        let Some(ctx) = Ctx::new(ctx) else { return };
        // SAFETY: the user data is the Data<T> registered below, alive until
        // SQLite calls its destructor when the function goes.
        let d = unsafe { &*(sqlite!(user_data(ctx.raw())) as *const Data<T>) };
        if let Err(e) = guard(d.name, || (d.f)(ctx, args(argc, argv), &d.state)) {
            ctx.error(&e);
        }
    }
    let cname = CString::new(name).expect("function names have no NUL");
    let data = Box::into_raw(Box::new(Data { name, state, f }));
    let rc = sqlite!(create_function_v2(
        db.raw(),
        cname.as_ptr(),
        nargs,
        flags.0,
        data as *mut c_void,
        Some(call::<T>),
        None,
        None,
        Some(drop_box::<Data<T>>),
    ));
    // On failure SQLite has called the destructor already.
    if rc != SQLITE_OK {
        bail!("otelcat: cannot register function {name} (code {rc})");
    }
    Ok(())
}

unsafe extern "C" fn drop_box<T>(p: *mut c_void) {
    if !p.is_null() {
        let _ = guard("otelcat", || {
            // SAFETY: p is a Box<T> handed to SQLite with this destructor,
            // which SQLite calls once.
            drop(unsafe { Box::from_raw(p as *mut T) });
            Ok(())
        });
    }
}

// ---------------------------------------------------------------------------
// Aggregate and window functions

/// An aggregate. `new` sees the first row's arguments; `step` every row's
/// (the first one included); `result` may be called several times when the
/// aggregate is used as a window function (xValue) and once at the end.
pub trait Aggregate: Sized + 'static {
    fn new(args: &[Arg<'_>]) -> Result<Self>;
    fn step(&mut self, args: &[Arg<'_>]) -> Result<()>;
    fn result(&mut self, ctx: Ctx<'_>) -> Result<()>;
    /// The result over no rows at all.
    fn empty(ctx: Ctx<'_>) -> Result<()> {
        ctx.null();
        Ok(())
    }
}

struct AggInfo {
    name: &'static str,
}

fn agg_name(ctx: Ctx<'_>) -> &'static str {
    let info = sqlite!(user_data(ctx.raw())) as *const AggInfo;
    // SAFETY: the user data of an aggregate is the AggInfo registered with
    // it, alive until the function goes.
    unsafe { info.as_ref() }.map_or("aggregate", |i| i.name)
}

/// The aggregate's state in SQLite's aggregate context (a pointer to our
/// box, null until the first row). `alloc`: create the context if needed.
fn agg_slot<A>(ctx: Ctx<'_>, alloc: bool) -> Option<&mut Option<Box<A>>> {
    let n = if alloc {
        std::mem::size_of::<Option<Box<A>>>() as c_int
    } else {
        0
    };
    let p = sqlite!(aggregate_context(ctx.raw(), n)) as *mut Option<Box<A>>;
    // SAFETY: SQLite's aggregate context is zeroed memory of n bytes, owned
    // by this aggregate invocation for the duration of the call; all-zero
    // is `None` for Option<Box<A>>.
    unsafe { p.as_mut() }
}

unsafe extern "C" fn agg_step<A: Aggregate>(
    ctx: *mut sqlite3_context,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) {
    let Some(ctx) = Ctx::new(ctx) else { return };
    let name = agg_name(ctx);
    let argv = args(argc, argv);
    let r = guard(name, || {
        let Some(slot) = agg_slot::<A>(ctx, true) else {
            return Err(Error::with_code(
                SQLITE_NOMEM,
                format!("{name}: out of memory"),
            ));
        };
        if slot.is_none() {
            *slot = Some(Box::new(A::new(argv)?));
        }
        slot.as_mut().expect("set above").step(argv)
    });
    if let Err(e) = r {
        ctx.error(&e);
    }
}

unsafe extern "C" fn agg_final<A: Aggregate>(ctx: *mut sqlite3_context) {
    let Some(ctx) = Ctx::new(ctx) else { return };
    let name = agg_name(ctx);
    let r = guard(name, || {
        match agg_slot::<A>(ctx, false).and_then(Option::take) {
            Some(mut state) => state.result(ctx),
            None => A::empty(ctx),
        }
    });
    if let Err(e) = r {
        ctx.error(&e);
    }
}

unsafe extern "C" fn agg_value<A: Aggregate>(ctx: *mut sqlite3_context) {
    let Some(ctx) = Ctx::new(ctx) else { return };
    let name = agg_name(ctx);
    let r = guard(name, || {
        match agg_slot::<A>(ctx, false).and_then(Option::as_mut) {
            Some(state) => state.result(ctx),
            None => A::empty(ctx),
        }
    });
    if let Err(e) = r {
        ctx.error(&e);
    }
}

unsafe extern "C" fn agg_inverse(
    ctx: *mut sqlite3_context,
    _argc: c_int,
    _argv: *mut *mut sqlite3_value,
) {
    let Some(ctx) = Ctx::new(ctx) else { return };
    let name = agg_name(ctx);
    ctx.error(&Error::new(format!(
        "{name}: rows cannot be removed from a sketch; use a window frame that only grows \
         (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )));
}

/// Registers an aggregate that is also a window function over frames that
/// only grow (the default frame, or UNBOUNDED PRECEDING to CURRENT ROW):
/// rows leaving a frame cannot be removed from a sketch or a sample list,
/// so a sliding frame is an error naming the function.
pub fn define_aggregate<A: Aggregate>(
    db: Db,
    name: &'static str,
    nargs: c_int,
    flags: Flags,
) -> Result<()> {
    let cname = CString::new(name).expect("function names have no NUL");
    let info = Box::into_raw(Box::new(AggInfo { name }));
    let rc = sqlite!(create_window_function(
        db.raw(),
        cname.as_ptr(),
        nargs,
        flags.0,
        info as *mut c_void,
        Some(agg_step::<A>),
        Some(agg_final::<A>),
        Some(agg_value::<A>),
        Some(agg_inverse),
        Some(drop_box::<AggInfo>),
    ));
    if rc != SQLITE_OK {
        bail!("otelcat: cannot register aggregate {name} (code {rc})");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Virtual tables: shared pieces

/// Stores `e` as the table's error message (SQLite frees the old one and
/// reports this one) and returns its code.
fn vtab_error(vtab: *mut sqlite3_vtab, e: Error) -> c_int {
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
fn declare(db: Db, name: &str, schema: &str, direct_only: bool) -> Result<()> {
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
fn connect_result(r: Result<()>, pz_err: *mut *mut c_char) -> c_int {
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
fn create_module<M>(db: Db, name: &str, module: M, get: fn(&M) -> &sqlite3_module) -> Result<()> {
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
fn empty_module() -> sqlite3_module {
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

// ---------------------------------------------------------------------------
// Nested statements

/// A prepared statement on the connection the extension runs in.
pub struct Stmt {
    raw: NonNull<sqlite3_stmt>,
    db: Db,
}

/// A parameter for [`Stmt::run_with`], bound without a copy.
#[derive(Clone, Copy)]
pub enum Param<'a> {
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
    Null,
}

impl Stmt {
    pub fn prepare(db: Db, sql: &str) -> Result<Stmt> {
        let mut raw = ptr::null_mut();
        let n = c_int::try_from(sql.len())
            .map_err(|_| Error::with_code(SQLITE_TOOBIG, "SQL text too long"))?;
        let rc = sqlite!(prepare_v2(
            db.raw(),
            sql.as_ptr() as *const c_char,
            n,
            &mut raw,
            ptr::null_mut(),
        ));
        if rc != SQLITE_OK {
            return Err(Error::with_code(rc, db.errmsg()));
        }
        // A text of only comments or spaces prepares to no statement.
        let raw = NonNull::new(raw).ok_or_else(|| Error::new("no SQL statement in the text"))?;
        Ok(Stmt { raw, db })
    }
    fn raw(&self) -> *mut sqlite3_stmt {
        self.raw.as_ptr()
    }
    fn check(&self, rc: c_int) -> Result<()> {
        if rc == SQLITE_OK {
            Ok(())
        } else {
            Err(Error::with_code(rc, self.db.errmsg()))
        }
    }
    pub fn bind_i64(&mut self, i: c_int, v: i64) -> Result<()> {
        self.check(sqlite!(bind_int64(self.raw(), i, v)))
    }
    pub fn bind_null(&mut self, i: c_int) -> Result<()> {
        self.check(sqlite!(bind_null(self.raw(), i)))
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
    /// SQLite copies them; `None`, SQLITE_STATIC: it reads them in place,
    /// which only [`Stmt::run_with`] may ask for).
    #[inline]
    fn bind(
        &mut self,
        i: c_int,
        p: &Param<'_>,
        destructor: Option<unsafe extern "C" fn(*mut c_void)>,
    ) -> Result<()> {
        let rc = match *p {
            Param::Int(v) => sqlite!(bind_int64(self.raw(), i, v)),
            Param::Null => sqlite!(bind_null(self.raw(), i)),
            Param::Text(s) => sqlite!(bind_text64(
                self.raw(),
                i,
                s.as_ptr() as *const c_char,
                s.len() as u64,
                destructor,
                SQLITE_UTF8 as u8,
            )),
            Param::Blob(b) => sqlite!(bind_blob64(
                self.raw(),
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
        let r = params
            .iter()
            .enumerate()
            // SQLITE_STATIC is the null destructor.
            .try_for_each(|(i, p)| self.bind(i as c_int + 1, p, None))
            .and_then(|()| {
                while self.step()? {}
                Ok(())
            });
        self.reset();
        sqlite!(clear_bindings(self.raw()));
        r
    }
    /// The names of the statement's parameters, in index order (`?1` is
    /// the first); "" for a nameless `?`.
    pub fn parameter_names(&self) -> Vec<String> {
        let n = sqlite!(bind_parameter_count(self.raw()));
        (1..=n)
            .map(|i| {
                let p = sqlite!(bind_parameter_name(self.raw(), i));
                if p.is_null() {
                    return String::new();
                }
                // SAFETY: SQLite returns a NUL-terminated UTF-8 string owned
                // by the statement, valid while it is (it is copied here).
                unsafe { std::ffi::CStr::from_ptr(p) }
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }
    /// Steps once: `Ok(true)` when a row is ready.
    pub fn step(&mut self) -> Result<bool> {
        match sqlite!(step(self.raw())) {
            SQLITE_ROW => Ok(true),
            SQLITE_DONE => Ok(false),
            _ => {
                // With prepare_v2, the error code comes back from step; the
                // message is on the connection.
                let e =
                    Error::with_code(sqlite!(extended_errcode(self.db.raw())), self.db.errmsg());
                sqlite!(reset(self.raw()));
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
        sqlite!(reset(self.raw()));
    }
    pub fn column_i64(&self, i: c_int) -> i64 {
        sqlite!(column_int64(self.raw(), i))
    }
    /// The type of column `i` of the current row.
    pub fn column_kind(&self, i: c_int) -> Kind {
        match sqlite!(column_type(self.raw(), i)) {
            SQLITE_INTEGER => Kind::Integer,
            SQLITE_FLOAT => Kind::Real,
            SQLITE_TEXT => Kind::Text,
            SQLITE_BLOB => Kind::Blob,
            _ => Kind::Null,
        }
    }
    pub fn column_blob(&self, i: c_int) -> &[u8] {
        let p = sqlite!(column_blob(self.raw(), i)) as *const u8;
        let n = sqlite!(column_bytes(self.raw(), i));
        // (valid until the statement steps, resets or converts the column:
        // all need `&mut self`, which this borrow of `self` prevents)
        bytes(p, n)
    }
    pub fn column_text(&self, i: c_int) -> String {
        let p = sqlite!(column_text(self.raw(), i));
        let n = sqlite!(column_bytes(self.raw(), i));
        String::from_utf8_lossy(bytes(p, n)).into_owned()
    }
}

impl Drop for Stmt {
    fn drop(&mut self) {
        sqlite!(finalize(self.raw()));
    }
}

// ---------------------------------------------------------------------------
// Statement-scoped state

/// Returns the `T` attached to the statement running `ctx` under the key
/// `key` (a negative number), creating it with `make` on the statement's
/// first call. SQLite drops it when the statement halts, before it commits
/// an autocommit transaction (the auxiliary-data mechanism with a negative
/// argument index, which SQLite's own JSON functions use for their cache):
/// that is where `T`'s `Drop` can still write within the statement's
/// transaction. `None` when SQLite could not keep it (out of memory).
pub fn stmt_scoped<'a, T: 'static>(
    ctx: Ctx<'a>,
    key: c_int,
    make: impl FnOnce() -> T,
) -> Option<&'a T> {
    debug_assert!(key < 0);
    let p = sqlite!(get_auxdata(ctx.raw(), key)) as *const T;
    if p.is_null() {
        let b = Box::into_raw(Box::new(make()));
        sqlite!(set_auxdata(
            ctx.raw(),
            key,
            b as *mut c_void,
            Some(drop_box::<T>)
        ));
    }
    // set_auxdata frees the value itself on failure: look it up again.
    let p = sqlite!(get_auxdata(ctx.raw(), key)) as *const T;
    // SAFETY: p is the Box<T> attached under `key` (only this function
    // attaches under it, with type T for the caller's key), which SQLite
    // keeps until the statement halts, after this call returns.
    unsafe { p.as_ref() }
}

// ---------------------------------------------------------------------------
// Hot-path conversions

/// `s.is_ascii()`, inlined for the short strings of attribute keys and
/// values (up to 32 bytes in a few word loads); longer ones go to the
/// standard library's check.
#[inline(always)]
fn is_ascii_short(s: &[u8]) -> bool {
    const HI: u64 = 0x8080_8080_8080_8080;
    let n = s.len();
    let word = |i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    match n {
        0..=3 => s.iter().fold(0u8, |acc, &b| acc | b) < 0x80,
        4..=7 => {
            let w = |i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes"));
            (w(0) | w(n - 4)) & 0x8080_8080 == 0
        }
        8..=16 => (word(0) | word(n - 8)) & HI == 0,
        17..=32 => (word(0) | word(8) | word(n - 16) | word(n - 8)) & HI == 0,
        _ => s.is_ascii(),
    }
}

/// `bytes` as text when they are all ASCII (always valid UTF-8), checked
/// inline without the out-of-line UTF-8 validation: the decoders' short
/// strings. `None` otherwise (validate them the usual way).
#[inline(always)]
pub fn ascii_str(bytes: &[u8]) -> Option<&str> {
    if is_ascii_short(bytes) {
        // SAFETY: ASCII bytes are valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inlined check agrees with the standard one at every length and
    /// position of a byte over 0x7F.
    #[test]
    fn short_ascii_check() {
        for n in 0..48 {
            let plain = vec![b'a'; n];
            assert_eq!(ascii_str(&plain), std::str::from_utf8(&plain).ok(), "{n}");
            for at in 0..n {
                for high in [0x80u8, 0xC3, 0xFF] {
                    let mut s = plain.clone();
                    s[at] = high;
                    assert!(ascii_str(&s).is_none(), "{n} {at} {high}");
                }
            }
        }
    }
}
