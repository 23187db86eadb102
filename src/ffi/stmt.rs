//! Nested statements ([`Stmt`], [`exec`]) and statement-scoped state
//! ([`stmt_scoped`]).

use super::*;

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
