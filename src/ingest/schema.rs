//! The catalog's schema version: read from `otelcat_meta`, created or
//! upgraded in the writing transaction (docs/catalog.md "Upgrades").
//!
//! Version 1: the tables of v0.1.0. Version 2 (v0.2.0): `log_template_keys`
//! and the view `template_keys`. Version 3: see sql/upgrade/3.sql.
//!
//! A new catalog is made by sql/schema.sql. An older one is brought up step
//! by step: `sql/upgrade/<v>.sql` takes version `v - 1` to `v` (new tables,
//! `ALTER TABLE ... ADD COLUMN`, new indexes), then sql/schema.sql runs as
//! for a new catalog (its `IF NOT EXISTS` statements change nothing more).
//! Views are dropped and created again on upgrade, so a catalog gets the
//! views of the extension that upgraded it.

use crate::ffi::{Db, Result, Stmt, bail, exec};

pub const SCHEMA: &str = include_str!("../../sql/schema.sql");
pub const VIEWS: &str = include_str!("../../sql/views.sql");

/// The schema version this build writes (sql/schema.sql says the same).
pub const VERSION: i64 = 3;

/// `UPGRADES[i]` takes a catalog from version `i + 1` to `i + 2`.
const UPGRADES: [&str; (VERSION - 1) as usize] = [
    include_str!("../../sql/upgrade/2.sql"),
    include_str!("../../sql/upgrade/3.sql"),
];

/// The tables (and one view) a catalog of [`VERSION`] has.
const TABLES: [&str; 32] = [
    "metrics",
    "metric_services",
    "metric_key_rows",
    "spans",
    "span_services",
    "span_key_rows",
    "span_events",
    "logs",
    "log_services",
    "log_key_rows",
    "log_body_template_rows",
    "log_template_keys",
    "span_name_patterns",
    "metric_service_key_rows",
    "span_service_key_rows",
    "span_service_events",
    "log_service_key_rows",
    "metric_scopes",
    "span_scopes",
    "log_scopes",
    "log_events",
    "log_event_services",
    "log_event_key_rows",
    "key_name_patterns",
    "entity_history",
    "service_history",
    "key_history_keys",
    "key_history_buckets",
    "template_history_rows",
    "key_totals",
    "key_name_totals",
    "service_totals",
];

/// The schema version stored in the catalog; `None` for a database without
/// a catalog (no `otelcat_meta` table or no version in it).
pub fn stored_version(db: Db) -> Result<Option<i64>> {
    let mut st = Stmt::prepare(
        db,
        "SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND name = 'otelcat_meta'",
    )?;
    st.step()?;
    if st.column_i64(0) == 0 {
        return Ok(None);
    }
    drop(st);
    let mut st = Stmt::prepare(
        db,
        "SELECT value FROM main.otelcat_meta WHERE key = 'schema_version'",
    )?;
    if !st.step()? {
        return Ok(None);
    }
    let text = st.column_text(0);
    match text.trim().parse::<i64>() {
        Ok(v) if v >= 1 => Ok(Some(v)),
        _ => bail!(
            "otlp_ingest: the catalog's schema_version in otelcat_meta is '{}', not a version \
             number (a file damaged or edited by hand?): set it to the version the catalog was \
             written with (1 for otelcat 0.1.0)",
            text.chars().take(40).collect::<String>()
        ),
    }
}

/// The default of the catalog setting `key_name_bound`.
pub const KEY_NAME_BOUND: usize = 1000;

/// The catalog setting `key_name_bound` (a row of `otelcat_meta`; the
/// default when absent): how many distinct key names an entity's key table
/// gives rows of their own in one transaction before new names are folded
/// into key-name patterns (docs/catalog.md, "Key-name patterns").
pub fn key_name_bound(db: Db) -> Result<usize> {
    let mut st = Stmt::prepare(
        db,
        "SELECT value FROM main.otelcat_meta WHERE key = 'key_name_bound'",
    )?;
    if !st.step()? {
        return Ok(KEY_NAME_BOUND);
    }
    let text = st.column_text(0);
    match text.trim().parse::<u32>() {
        Ok(v) if v >= 1 => Ok(v as usize),
        _ => bail!(
            "otlp_ingest: the setting key_name_bound in otelcat_meta is '{}', not a whole number              from 1 to 4294967295: UPDATE otelcat_meta SET value = '1000' WHERE key = 'key_name_bound'",
            text.chars().take(40).collect::<String>()
        ),
    }
}

/// Whether every table and view of the current version exists (a catalog
/// whose tables or views were dropped by hand, or one written by a
/// development build of the same version, gets the missing ones).
pub fn complete(db: Db) -> Result<bool> {
    let quoted = |names: &[&str]| {
        names
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let views = view_names();
    let mut st = Stmt::prepare(
        db,
        &format!(
            "SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND name IN ({}) \
             OR type = 'view' AND name IN ({})",
            quoted(&TABLES),
            quoted(&views)
        ),
    )?;
    st.step()?;
    Ok(st.column_i64(0) == (TABLES.len() + views.len()) as i64)
}

/// The names of the views of sql/views.sql.
pub fn view_names() -> Vec<&'static str> {
    const CREATE: &str = "CREATE VIEW IF NOT EXISTS ";
    VIEWS
        .match_indices(CREATE)
        .map(|(at, _)| {
            let rest = &VIEWS[at + CREATE.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// What to do when an upgrade step fails on a view or trigger of the file
/// that SQLite cannot read (ALTER TABLE checks them all): SQLite's text is
/// "error in view v: …" or "error in trigger t: …".
fn unreadable_object_advice(msg: &str) -> String {
    for kind in ["view", "trigger"] {
        let Some(at) = msg.find(&format!("error in {kind} ")) else {
            continue;
        };
        let rest = &msg[at + "error in ".len() + kind.len() + 1..];
        let name = rest.split(':').next().unwrap_or("").trim();
        if !name.is_empty() {
            return format!(
                "; the {kind} {name} of this file cannot be read, so the catalog cannot be upgraded \
                 around it: drop it (DROP {} \"{}\") and write again",
                kind.to_uppercase(),
                name.replace('"', "\"\"")
            );
        }
    }
    String::new()
}

/// Creates the catalog (`from` = `None`) or upgrades it from version
/// `from`: new tables and indexes, the views of this version, the version.
/// Runs inside the caller's transaction.
pub fn create_or_upgrade(db: Db, from: Option<i64>) -> Result<()> {
    if let Some(v) = from {
        for (i, step) in UPGRADES.iter().enumerate().skip((v - 1).max(0) as usize) {
            exec(db, step).map_err(|e| {
                crate::ffi::Error::new(format!(
                    "from schema version {} to {}: {}{}",
                    i + 1,
                    i + 2,
                    e.msg,
                    unreadable_object_advice(&e.msg)
                ))
            })?;
        }
    }
    exec(db, SCHEMA)?;
    if from.is_some_and(|v| v < VERSION) {
        let drops: String = view_names()
            .iter()
            .map(|v| format!("DROP VIEW IF EXISTS main.\"{v}\";\n"))
            .collect();
        exec(db, &drops)?;
    }
    exec(db, VIEWS)?;
    if let Some(v) = from {
        // An older catalog (or one whose key totals are missing): its key
        // totals are built from its key rows (sql/totals.sql). A damaged row
        // is named as the file names it until the upgrade commits (the key
        // tables of versions 1 and 2 are metric_keys, span_keys, log_keys).
        super::write::refresh_totals(db).map_err(|e| {
            if v >= 3 {
                return e;
            }
            let mut msg = e.msg;
            for t in ["metric", "span", "log"] {
                msg = msg.replace(&format!("{t}_key_rows row ("), &format!("{t}_keys row ("));
            }
            crate::ffi::Error::with_code(e.code, msg)
        })?;
    }
    let mut st = Stmt::prepare(
        db,
        "INSERT INTO main.otelcat_meta(key, value) VALUES ('schema_version', ?1) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?;
    st.bind_text(1, &VERSION.to_string())?;
    st.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_is_named_and_the_version_matches_the_schema_file() {
        let names = view_names();
        assert!(names.contains(&"template_keys"), "{names:?}");
        assert!(names.contains(&"service_metrics"), "{names:?}");
        assert_eq!(names.len(), VIEWS.matches("CREATE VIEW").count());
        assert!(SCHEMA.contains(&format!("('schema_version', '{VERSION}')")));
        for t in TABLES {
            assert!(
                SCHEMA.contains(&format!("CREATE TABLE IF NOT EXISTS {t} (")),
                "{t}"
            );
        }
    }
}
