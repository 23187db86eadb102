//! Reading models from the database: the storage tables of sql/drain.sql
//! (made when missing), the default configuration of new partitions, and a
//! partition's rows, each checked as it is read: a file from a stranger
//! makes a load fail with an error naming the partition, never a model
//! wrong or unbounded.

use super::write::{PUT_CLUSTER, PUT_LAST_ID, PUT_PARTITION, RESIZE_CLUSTER};
use super::{LAYOUT, Part, Registry};
use crate::drain::engine::{ClusterRecord, Drain, DrainConfig, MAX_CONFIG_JSON_BYTES, MAX_ID};
use crate::ffi::{Db, Error, Result, Stmt, bail, exec};

const SCHEMA: &str = include_str!("../../../sql/drain.sql");
/// Layouts this version reads.
const READS_LAYOUTS: [i64; 2] = [1, 2];

pub(super) fn table_exists(db: Db, name: &str) -> Result<bool> {
    let mut st = Stmt::prepare(
        db,
        "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
    )?;
    st.bind_text(1, name)?;
    let found = st.step()?;
    st.reset();
    Ok(found)
}

/// Whether the schema holds anything (table, view, index, trigger) named `name`.
fn object_exists(db: Db, name: &str) -> Result<bool> {
    let mut st = Stmt::prepare(db, "SELECT 1 FROM main.sqlite_schema WHERE name = ?1")?;
    st.bind_text(1, name)?;
    st.step()
}

/// Creates the storage tables that are missing: all of them in a new file,
/// `otelcat_drain_ids` in a file of v0.1.0 (the upgrade in place, done the
/// first time such a file is written; every statement of the script is
/// `IF NOT EXISTS`). Runs DDL: call it from xUpdate or a function, never
/// from xSync.
pub fn ensure_schema(db: Db) -> Result<()> {
    let mut st = Stmt::prepare(
        db,
        "SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND name IN \
         ('otelcat_meta', 'otelcat_drain_partitions', 'otelcat_drain_clusters', 'otelcat_drain_ids')",
    )?;
    st.step()?;
    let have = st.column_i64(0);
    drop(st);
    if have < 4 {
        exec(db, SCHEMA)?;
    }
    Ok(())
}

/// What to do about a stored default configuration that cannot be used.
const DEFAULT_FIX: &str = "set a valid one with drain_configure('{...}') (one argument), \
     or delete that row to use the built-in default";

/// The configuration new partitions get: the stored default, else the built-in one.
pub fn default_config(db: Db) -> Result<DrainConfig> {
    if !table_exists(db, "otelcat_meta")? {
        return Ok(DrainConfig::default());
    }
    let mut st = Stmt::prepare(
        db,
        "SELECT value, typeof(value), length(CAST(value AS BLOB)) FROM main.otelcat_meta \
         WHERE key = 'drain_default_config'",
    )?;
    if st.step()? {
        let what =
            "the stored default drain configuration (otelcat_meta key 'drain_default_config')";
        let kind = st.column_text(1);
        if kind != "text" {
            bail!("{what} is {kind}, not JSON text: {DEFAULT_FIX}");
        }
        let bytes = st.column_i64(2);
        if bytes > 2 * MAX_CONFIG_JSON_BYTES as i64 {
            bail!("{what} is {bytes} bytes, more than {MAX_CONFIG_JSON_BYTES}: {DEFAULT_FIX}");
        }
        let json = st.column_text(0);
        return DrainConfig::from_json(&json)
            .map_err(|e| Error::new(format!("{what} cannot be used: {e}; {DEFAULT_FIX}")));
    }
    Ok(DrainConfig::default())
}

impl Registry {
    /// The partitions stored in the file and those loaded (not written
    /// yet), for listings.
    pub fn stored_names(&self, db: Db) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.parts.keys().map(|k| k.as_str().to_string()).collect();
        if !table_exists(db, "otelcat_drain_partitions")? {
            return Ok(names);
        }
        let mut st = Stmt::prepare(db, "SELECT partition FROM main.otelcat_drain_partitions")?;
        while st.step()? {
            names.push(st.column_text(0));
        }
        Ok(names)
    }
}

/// The high-water mark `otelcat_drain_ids` holds for a partition: `None`
/// without a row, `Some(Err(text))` when the row holds no valid id.
pub(super) fn stored_last_id(
    db: Db,
    name: &str,
) -> Result<Option<std::result::Result<u64, String>>> {
    if !table_exists(db, "otelcat_drain_ids")? {
        return Ok(None);
    }
    let mut st = Stmt::prepare(
        db,
        "SELECT last_id, typeof(last_id) FROM main.otelcat_drain_ids WHERE partition = ?1",
    )?;
    st.bind_text(1, name)?;
    if !st.step()? {
        return Ok(None);
    }
    let (v, kind) = (st.column_i64(0), st.column_text(1));
    Ok(Some(
        if kind == "integer" && (0..=MAX_ID as i64).contains(&v) {
            Ok(v as u64)
        } else {
            Err(if kind == "integer" {
                v.to_string()
            } else {
                kind
            })
        },
    ))
}

/// Reads a partition from the database. Rows that a model never writes
/// (wrong types, values out of range, a configuration or layout this
/// version does not read, clusters that contradict each other) are an error
/// naming the partition and saying to reset it; the memory used is bounded
/// by the configuration, whatever the rows hold.
pub(super) fn load(db: Db, name: &str, fresh: Option<&DrainConfig>) -> Result<Part> {
    let fix = format!(
        "call drain_reset('{}') to start the partition over",
        name.replace('\'', "''")
    );
    // SQLite's own errors (say a table of another shape) name the partition too.
    let sql_err = |e: Error| {
        Error::with_code(
            e.code,
            format!("drain partition '{name}' cannot be read: {}", e.msg),
        )
    };
    let fresh_config = || -> Result<DrainConfig> {
        match fresh {
            Some(c) => Ok(c.clone()),
            None => default_config(db),
        }
    };
    // (a view or another object under one of these names is checked below)
    let mut st = Stmt::prepare(
        db,
        "SELECT 1 FROM main.sqlite_schema WHERE name IN \
         ('otelcat_drain_partitions', 'otelcat_drain_clusters', 'otelcat_drain_ids')",
    )?;
    let any = st.step()?;
    drop(st);
    if !any {
        let cfg = fresh_config()?;
        let config_json = cfg.to_json();
        return Ok(Part::new(Drain::new(cfg), config_json, false));
    }
    let mut st = Stmt::prepare(
        db,
        "SELECT config, typeof(config), length(CAST(config AS BLOB)), layout, typeof(layout) \
         FROM main.otelcat_drain_partitions WHERE partition = ?1",
    )
    .map_err(sql_err)?;
    st.bind_text(1, name)?;
    let (cfg, config_json, stored, layout) = if st.step().map_err(sql_err)? {
        let (layout, layout_kind) = (st.column_i64(3), st.column_text(4));
        if layout_kind != "integer" || !READS_LAYOUTS.contains(&layout) {
            let shown = if layout_kind == "integer" {
                layout.to_string()
            } else {
                layout_kind
            };
            bail!(
                "drain partition '{name}' is stored with layout {shown}; this otelcat reads layouts 1 and {LAYOUT}: \
                 open the file with the otelcat that wrote it, or {fix}"
            );
        }
        let kind = st.column_text(1);
        if kind != "text" {
            bail!(
                "drain partition '{name}': its stored configuration is {kind}, not JSON text; {fix}"
            );
        }
        let bytes = st.column_i64(2);
        if bytes > 2 * MAX_CONFIG_JSON_BYTES as i64 {
            bail!(
                "drain partition '{name}': its stored configuration is {bytes} bytes, \
                 more than {MAX_CONFIG_JSON_BYTES}; {fix}"
            );
        }
        let json = st.column_text(0);
        let cfg = DrainConfig::from_json(&json).map_err(|e| {
            Error::new(format!(
                "drain partition '{name}': its stored configuration cannot be used: {e}; {fix}"
            ))
        })?;
        (cfg, json, true, layout)
    } else {
        let cfg = fresh_config()?;
        let json = cfg.to_json();
        (cfg, json, false, LAYOUT)
    };
    drop(st);
    // Tables of another shape (no primary key, a missing column) would take
    // the rows a statement learned but refuse to store them at its end, where
    // the error cannot be reported: refuse them here. Compiling the writes
    // checks exactly what they need.
    for (table, sql) in [
        ("otelcat_drain_partitions", PUT_PARTITION),
        ("otelcat_drain_clusters", PUT_CLUSTER),
        ("otelcat_drain_clusters", RESIZE_CLUSTER),
        ("otelcat_drain_ids", PUT_LAST_ID),
    ] {
        if table == "otelcat_drain_ids" && !object_exists(db, table)? {
            continue; // made when first needed (a file of v0.1.0)
        }
        if let Err(e) = Stmt::prepare(db, sql) {
            bail!(
                "drain partition '{name}' cannot be used: the table {table} of this file is not as otelcat makes it ({}); \
                 drop the otelcat_drain_* tables to start every partition over (otelcat makes them again)",
                e.msg
            );
        }
    }
    // A trigger on these tables runs inside those writes: one that fails
    // them (a file from someone else may hold one) would do so unseen.
    let mut st = Stmt::prepare(
        db,
        "SELECT name, tbl_name FROM main.sqlite_schema WHERE type = 'trigger' AND tbl_name IN \
         ('otelcat_drain_partitions', 'otelcat_drain_clusters', 'otelcat_drain_ids') LIMIT 1",
    )?;
    if st.step()? {
        let (trigger, table) = (st.column_text(0), st.column_text(1));
        bail!(
            "drain partition '{name}' cannot be used: this file has a trigger on {table} ({trigger}), \
             which could make otelcat's writes fail unseen; drop it (DROP TRIGGER \"{}\")",
            trigger.replace('"', "\"\"")
        );
    }
    drop(st);
    let last_id = match stored_last_id(db, name).map_err(sql_err)? {
        None => 0,
        Some(Ok(v)) => v,
        Some(Err(v)) => bail!(
            "drain partition '{name}': its stored last id (otelcat_drain_ids) is {v}, not an integer in 0..={MAX_ID}; {fix}"
        ),
    };
    // The longest texts a model writes: tokens and path (see from_records),
    // the example. Longer ones are refused before they are copied (their
    // length is measured by SQLite, whose allocations fail gracefully): in
    // the database's encoding, so twice as long in a UTF-16 file.
    let max_json = 6 * cfg.max_line_bytes + 5 * cfg.max_tokens + 2;
    let mut records = Vec::new();
    let mut st = Stmt::prepare(
        db,
        "SELECT cluster_id, tokens, path, size, last_used, example, \
           typeof(cluster_id), typeof(tokens), typeof(path), typeof(size), typeof(last_used), typeof(example), \
           length(CAST(tokens AS BLOB)), length(CAST(path AS BLOB)), length(CAST(example AS BLOB)) \
         FROM main.otelcat_drain_clusters WHERE partition = ?1 ORDER BY cluster_id LIMIT ?2",
    )
    .map_err(sql_err)?;
    st.bind_text(1, name)?;
    // One more than allowed is enough to refuse too many.
    st.bind_i64(2, cfg.max_clusters as i64 + 1)?;
    const COLS: [&str; 6] = [
        "cluster_id",
        "tokens",
        "path",
        "size",
        "last_used",
        "example",
    ];
    const KINDS: [&str; 6] = ["integer", "text", "text", "integer", "integer", "text"];
    let limits = [
        ("tokens", max_json),
        ("path", max_json),
        ("example", cfg.max_example_bytes),
    ];
    while st.step().map_err(sql_err)? {
        let id = st.column_i64(0);
        for (i, (col, want)) in COLS.iter().zip(KINDS).enumerate() {
            let kind = st.column_text(6 + i as i32);
            if kind != want {
                bail!(
                    "drain partition '{name}' cannot be read: cluster {id}: {col} is {kind}, not {want}; {fix}"
                );
            }
        }
        for (i, (col, max)) in limits.iter().enumerate() {
            let bytes = st.column_i64(12 + i as i32);
            if bytes > 2 * *max as i64 {
                bail!(
                    "drain partition '{name}' cannot be read: cluster {id}: {col} is {bytes} bytes, \
                     more than the configuration allows ({max}); {fix}"
                );
            }
        }
        records.push(ClusterRecord {
            id: id as u64,
            template: String::new(), // rendered again from tokens and example
            tokens: st.column_text(1),
            path: st.column_text(2),
            size: st.column_i64(3) as u64,
            last_used: st.column_i64(4) as u64,
            example: st.column_text(5),
        });
    }
    drop(st);
    let mut drain = Drain::from_records(cfg, records).map_err(|e| {
        Error::new(format!(
            "drain partition '{name}' cannot be read: {e}; {fix}"
        ))
    })?;
    drain.continue_after(last_id);
    let mut part = Part::new(drain, config_json, stored);
    part.layout = layout;
    Ok(part)
}
