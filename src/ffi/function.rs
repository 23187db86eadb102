//! Scalar, aggregate and window functions.

use super::*;

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

pub(super) unsafe extern "C" fn drop_box<T>(p: *mut c_void) {
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
