//! The FFI boundary: every `unsafe` of otelcat lives in this module and its
//! submodules (`function.rs`, `vtab.rs`, `table_function.rs`, `stmt.rs`).
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

mod function;
mod stmt;
mod table_function;
mod vtab;

pub use function::*;
pub use stmt::*;
pub use table_function::*;
pub use vtab::*;

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
