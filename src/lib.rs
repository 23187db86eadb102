//! otelcat: a SQLite extension that turns a database into a telemetry
//! metadata catalog for OpenTelemetry data. This file is the table of
//! registrations; each function family lives in its own module, and the
//! entry point SQLite calls (`sqlite3_otelcat_init`) in `ffi/mod.rs`.
//! ARCHITECTURE.md describes the layers.

pub mod counts;
pub mod drain;
pub mod ffi;
pub mod hll;
pub mod ingest;
mod memo;
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

/// What an SQL name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlKind {
    Scalar,
    Aggregate,
    /// A scalar or an aggregate by number of arguments (`hll_merge`).
    ScalarAndAggregate,
    /// A virtual table module (a writeable table or a table-valued function).
    Table,
    /// A module the extension uses itself; not part of the public surface.
    InternalTable,
}

/// Every SQL name the extension registers (docs/functions.md documents each).
/// `register` below must register exactly these: tests/test_functions.py
/// (TestRegistry) compares this table with `pragma_function_list` and
/// `pragma_module_list` of the built extension.
pub const SQL_NAMES: &[(&str, SqlKind)] = &[
    ("otelcat_version", SqlKind::Scalar),
    ("otelcat_debug", SqlKind::Scalar),
    ("otelcat_add", SqlKind::Scalar),
    ("json_counts_merge", SqlKind::Scalar),
    ("hll_sketch", SqlKind::Aggregate),
    ("hll_add", SqlKind::Scalar),
    ("hll_merge", SqlKind::ScalarAndAggregate),
    ("hll_count", SqlKind::Scalar),
    ("hll_info", SqlKind::Scalar),
    ("json_samples_merge", SqlKind::Scalar),
    ("json_samples", SqlKind::Aggregate),
    ("topk_sketch", SqlKind::Aggregate),
    ("topk_sketch_weighted", SqlKind::Aggregate),
    ("topk_add", SqlKind::Scalar),
    ("topk_merge", SqlKind::ScalarAndAggregate),
    ("topk_values", SqlKind::Scalar),
    ("topk_counts", SqlKind::Scalar),
    ("topk_estimate", SqlKind::Scalar),
    ("topk_info", SqlKind::Scalar),
    ("semconv_attribute", SqlKind::Scalar),
    ("semconv_nearest", SqlKind::Scalar),
    ("semconv_attributes", SqlKind::Table),
    ("semconv_metrics", SqlKind::Table),
    ("semconv_groups", SqlKind::Table),
    ("semconv_group_attributes", SqlKind::Table),
    ("drain_template", SqlKind::Scalar),
    ("drain_match", SqlKind::Scalar),
    ("drain_params", SqlKind::Scalar),
    ("drain_seed", SqlKind::Scalar),
    ("drain_configure", SqlKind::Scalar),
    ("drain_reset", SqlKind::Scalar),
    ("drain_clusters", SqlKind::Table),
    ("otelcat_drain_sync", SqlKind::InternalTable),
    ("otlp_ingest", SqlKind::Table),
    ("otelcat_refresh_totals", SqlKind::Scalar),
];

/// The panic hooks a build with the cargo feature `test-hooks` adds.
#[cfg(feature = "test-hooks")]
pub const TEST_HOOK_NAMES: &[(&str, SqlKind)] = &[
    ("otelcat_test_panic", SqlKind::Scalar),
    ("otelcat_test_panic_agg", SqlKind::Aggregate),
];

/// Registers every name of [`SQL_NAMES`] on a connection (called by the
/// entry point).
pub(crate) fn register(db: Db) -> Result<()> {
    meta::register(db)?; //    otelcat_version, otelcat_debug (+ the test hooks)
    counts::register(db)?; //  otelcat_add, json_counts_merge
    hll::register(db)?; //     hll_sketch, hll_add, hll_merge, hll_count, hll_info
    samples::register(db)?; // json_samples_merge, json_samples
    topk::register(db)?; //    topk_sketch, topk_sketch_weighted, topk_add, topk_merge, topk_values, topk_counts, topk_estimate, topk_info
    semconv::sql::register(db)?; // semconv_attribute, semconv_nearest, semconv_attributes, semconv_metrics, semconv_groups, semconv_group_attributes
    let models = drain::store::Models::new(); // per connection
    drain::register(db, &models)?; // drain_*, otelcat_drain_sync
    ingest::register(db, &models)?; // otlp_ingest, otelcat_refresh_totals
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::SQL_NAMES;

    #[test]
    fn sql_names_are_listed_once() {
        let mut names: Vec<&str> = SQL_NAMES.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a name listed twice");
    }
}
