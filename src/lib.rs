//! otelcat: a SQLite extension that turns a database into a telemetry
//! metadata catalog for OpenTelemetry data. This file is the table of
//! registrations; each function family lives in its own module.

pub mod catalog;
pub mod counts;
pub mod drain;
pub mod ffi;
pub mod hll;
pub mod meta;
pub mod otlp;
pub mod samples;
pub mod sqltext;
#[cfg(test)]
mod testutil;
pub mod text;

use std::ffi::{c_char, c_int};

use ffi::{Result, sqlite3, sqlite3_api_routines};

fn register(db: *mut sqlite3) -> Result<()> {
    meta::register(db)?; //    otelcat_version, otelcat_debug
    counts::register(db)?; //  otelcat_add
    hll::register(db)?; //     hll_sketch, hll_add, hll_merge, hll_count, hll_info
    samples::register(db)?; // json_samples_merge, json_samples
    let models = drain::store::Models::new(); // per connection
    drain::register(db, &models)?; // drain_template, drain_match, drain_configure, drain_reset, drain_clusters
    catalog::register(db, &models)?; // otlp_ingest
    Ok(())
}

/// Entry point SQLite finds for `.load dist/otelcat` (`sqlite3_` + file stem + `_init`).
///
/// # Safety
/// Called by SQLite with a valid connection and routine table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_otelcat_init(
    db: *mut sqlite3,
    pz_err_msg: *mut *mut c_char,
    p_api: *mut sqlite3_api_routines,
) -> c_int {
    unsafe { ffi::entrypoint(db, pz_err_msg, p_api, register) }
}
