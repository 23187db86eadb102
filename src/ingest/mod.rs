//! `otlp_ingest`: OTLP payloads into the catalog (sql/schema.sql).
//!
//! The data moves one way, one step per module:
//!
//! ```text
//! INSERT INTO otlp_ingest ─► table.rs ─► otlp::decode ─► batch/ ───────► write/ ───► catalog tables
//!   (payload, signal)        arguments,   events          Batch::apply    at COMMIT:    (UPSERTs of
//!                            layers per                   (keys.rs,       one row per   sql/flush.sql)
//!                            savepoint                    series.rs)      distinct key
//!                                                            │   ▲
//!                                                            ▼   │ clusters
//!                                                         templates.rs ─► drain::store
//!                                                         (log bodies now, span names at the flush)
//! ```
//!
//! * `table.rs`: the virtual table and its transaction: arguments, decoding,
//!   one batch per open savepoint, written at COMMIT (xSync) so that a
//!   reader sees all of a transaction or none of it.
//! * `batch/`: aggregation in process, one method per kind of record; a
//!   batch holds per entity its counts, services and keys (`keys.rs`), and
//!   the series identities of data points (`series.rs`).
//! * `templates.rs`: every Drain model otlp_ingest trains, and their part in
//!   its transactions (snapshots, rollbacks).
//! * `write/`: the flush, with the named statements of sql/flush.sql;
//!   `schema.rs`: the catalog's schema, created or upgraded by the first
//!   writing transaction.

pub mod batch;
pub mod history;
pub mod keyfold;
pub mod keys;
pub mod schema;
mod series;
mod table;
pub mod templates;
mod top;
pub mod write;

use crate::drain::store::Shared;
use crate::ffi::{self, Db, Result};

pub fn register(db: Db, models: &Shared) -> Result<()> {
    write::register_totals(db)?;
    ffi::define_write_table::<table::IngestTable>(db, models.clone())
}
