//! otelcat: a SQLite extension that turns a database into a telemetry
//! metadata catalog for OpenTelemetry data. This file is the table of
//! registrations; each function family lives in its own module, and the
//! entry point SQLite calls (`sqlite3_otelcat_init`) in `ffi.rs`.

pub mod catalog;
pub mod counts;
pub mod drain;
pub mod ffi;
pub mod hll;
pub mod meta;
pub mod otlp;
pub mod samples;
pub mod semconv;
pub mod sqltext;
#[cfg(test)]
mod testutil;
pub mod text;
pub mod topk;

use ffi::{Db, Result};

/// Registers every function and table on a connection (called by the entry
/// point).
pub(crate) fn register(db: Db) -> Result<()> {
    meta::register(db)?; //    otelcat_version, otelcat_debug
    counts::register(db)?; //  otelcat_add
    hll::register(db)?; //     hll_sketch, hll_add, hll_merge, hll_count, hll_info
    samples::register(db)?; // json_samples_merge, json_samples
    topk::register(db)?; //    topk_sketch, topk_sketch_weighted, topk_add, topk_merge, topk_values, topk_estimate, topk_info
    semconv::sql::register(db)?; // semconv_attribute, semconv_nearest, semconv_attributes, semconv_metrics, semconv_groups, semconv_group_attributes
    let models = drain::store::Models::new(); // per connection
    drain::register(db, &models)?; // drain_template, drain_match, drain_configure, drain_reset, drain_clusters, otelcat_drain_sync
    catalog::register(db, &models)?; // otlp_ingest
    Ok(())
}
