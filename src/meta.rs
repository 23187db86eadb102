//! `otelcat_version()`, `otelcat_debug()`, and the panic hooks of the tests
//! (built only with the cargo feature `test-hooks`; the release has none).

use crate::ffi::{self, Arg, Ctx, Db, Result};
#[cfg(feature = "test-hooks")]
use crate::ffi::{Aggregate, bail};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("OTELCAT_GIT_COMMIT");

/// `otelcat_version()` → `'v' || crate version`.
pub fn otelcat_version(ctx: Ctx, _args: &[Arg]) -> Result<()> {
    ctx.text(&format!("v{VERSION}"))
}

/// `otelcat_debug()` → version, commit, the SQLite in use, build profile,
/// the release of the semantic conventions embedded.
pub fn otelcat_debug(ctx: Ctx, _args: &[Arg]) -> Result<()> {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let semconv = match crate::semconv::registry() {
        Ok(r) => format!("v{} ({})", r.version, r.schema_url),
        Err(e) => e,
    };
    ctx.text(&format!(
        "Version: v{VERSION}\nCommit: {COMMIT}\nSQLite: {} ({})\nBuild: {profile}, {}-{}\nSemantic conventions: {semconv}",
        ffi::libversion(),
        ffi::libversion_number(),
        std::env::consts::ARCH,
        std::env::consts::OS,
    ))
}

/// `otelcat_test_panic(where)`: panics on purpose so tests can prove that a
/// panic becomes an SQL error (feature `test-hooks` only).
#[cfg(feature = "test-hooks")]
fn otelcat_test_panic(_ctx: Ctx, args: &[Arg]) -> Result<()> {
    let what = args[0].str("otelcat_test_panic", 1)?.to_string();
    panic!("test panic requested ({what})");
}

/// Aggregate twin: panics in step or in final, as asked by its argument.
#[cfg(feature = "test-hooks")]
struct PanicAgg {
    in_final: bool,
}

#[cfg(feature = "test-hooks")]
impl Aggregate for PanicAgg {
    fn new(args: &[Arg]) -> Result<Self> {
        let what = args[0].str("otelcat_test_panic_agg", 1)?;
        match what {
            "step" | "final" => Ok(PanicAgg {
                in_final: what == "final",
            }),
            _ => bail!("otelcat_test_panic_agg: argument 1 must be 'step' or 'final'"),
        }
    }
    fn step(&mut self, _args: &[Arg]) -> Result<()> {
        if !self.in_final {
            panic!("test panic requested (aggregate step)");
        }
        Ok(())
    }
    fn result(&mut self, _ctx: Ctx) -> Result<()> {
        panic!("test panic requested (aggregate final)");
    }
}

pub fn register(db: Db) -> Result<()> {
    ffi::define_scalar(db, "otelcat_version", 0, ffi::pure(), otelcat_version)?;
    ffi::define_scalar(db, "otelcat_debug", 0, ffi::pure(), otelcat_debug)?;
    #[cfg(feature = "test-hooks")]
    {
        ffi::define_scalar(
            db,
            "otelcat_test_panic",
            1,
            ffi::impure(),
            otelcat_test_panic,
        )?;
        ffi::define_aggregate::<PanicAgg>(db, "otelcat_test_panic_agg", 1, ffi::impure())?;
    }
    Ok(())
}
