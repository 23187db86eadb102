//! The per-connection registry of Drain models and their persistence in the
//! database (sql/drain.sql).
//!
//! A partition's model lives in memory and in `otelcat_drain_clusters`. The
//! database is the truth: a model is loaded from it on first use, written
//! back (dirty clusters only) inside the transaction that trained it, and
//! dropped from memory whenever that transaction, or a savepoint holding the
//! write, rolls back, or another connection commits to the file; it is then
//! reloaded on next use.

use std::cell::RefCell;
use std::collections::BTreeSet;

use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use std::rc::Rc;

use super::engine::{Change, ClusterRecord, Drain, DrainConfig, Trained};
use crate::ffi::{self, Error, Result, Stmt, bail, exec, sqlite3};

pub const SCHEMA: &str = include_str!("../../sql/drain.sql");
/// Layout version of stored clusters (docs/FORMAT.md section 4).
pub const LAYOUT: i64 = 1;
/// Partitions otlp_ingest owns; trained only through it.
pub const INGEST_PREFIX: &str = "otlp.";

/// A model and what changed in it since it was last written.
pub struct Part {
    pub drain: Drain,
    /// The configuration as stored with the partition.
    pub config_json: String,
    /// Clusters created or whose template changed since the last write.
    pub dirty: HashSet<u64>,
    /// Clusters that only counted more lines since the last write.
    pub resized: HashSet<u64>,
    /// Clusters evicted or merged away since the last write.
    pub deleted: HashSet<u64>,
    /// The cluster last noted dirty (skips the set on runs of one cluster).
    last_dirty: u64,
    /// Whether the partition row exists in the database.
    pub stored: bool,
}

impl Part {
    pub fn new(drain: Drain, config_json: String, stored: bool) -> Part {
        Part {
            drain,
            config_json,
            dirty: HashSet::new(),
            resized: HashSet::new(),
            deleted: HashSet::new(),
            last_dirty: u64::MAX,
            stored,
        }
    }

    /// Records what a training step changed.
    #[inline]
    pub fn note(&mut self, t: &Trained) {
        if t.change == Change::None {
            // Most lines: only the size and LRU clock moved.
            if t.cluster_id != self.last_dirty && !self.dirty.contains(&t.cluster_id) {
                self.resized.insert(t.cluster_id);
                self.last_dirty = t.cluster_id;
            }
        } else {
            self.dirty.insert(t.cluster_id);
            self.resized.remove(&t.cluster_id);
            self.last_dirty = u64::MAX;
        }
        if let Some(e) = t.evicted {
            self.dirty.remove(&e);
            self.resized.remove(&e);
            self.deleted.insert(e);
        }
        for m in &t.merged {
            self.dirty.remove(m);
            self.resized.remove(m);
            self.deleted.insert(*m);
        }
        if t.evicted.is_some() || !t.merged.is_empty() {
            self.last_dirty = u64::MAX;
        }
    }
    pub fn is_dirty(&self) -> bool {
        !self.dirty.is_empty() || !self.resized.is_empty() || !self.deleted.is_empty()
    }
}

#[derive(Default)]
pub struct Registry {
    parts: HashMap<String, Part>,
    /// `PRAGMA data_version` when models were last known to match the file.
    data_version: Option<u32>,
    /// Partitions written by the drain functions in the current transaction.
    pub written_in_txn: BTreeSet<String>,
}

pub type Shared = Rc<RefCell<Registry>>;

fn table_exists(db: *mut sqlite3, name: &str) -> Result<bool> {
    let mut st = Stmt::prepare(
        db,
        "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
    )?;
    st.bind_text(1, name)?;
    let found = st.step()?;
    st.reset();
    Ok(found)
}

/// Creates the storage tables if needed. Runs DDL: call it from xUpdate or a
/// function, never from xSync.
pub fn ensure_schema(db: *mut sqlite3) -> Result<()> {
    if !table_exists(db, "otelcat_drain_clusters")? {
        exec(db, SCHEMA)?;
    }
    Ok(())
}

/// The configuration new partitions get: the stored default, else the built-in one.
pub fn default_config(db: *mut sqlite3) -> Result<DrainConfig> {
    if !table_exists(db, "otelcat_meta")? {
        return Ok(DrainConfig::default());
    }
    let mut st = Stmt::prepare(
        db,
        "SELECT value FROM main.otelcat_meta WHERE key = 'drain_default_config'",
    )?;
    if st.step()? {
        let json = st.column_text(0);
        return DrainConfig::from_json(&json)
            .map_err(|e| Error::new(format!("stored default {e}")));
    }
    Ok(DrainConfig::default())
}

impl Registry {
    pub fn shared() -> Shared {
        Rc::new(RefCell::new(Registry::default()))
    }

    /// Drops clean models when another connection committed to the file
    /// since they were loaded (they are reloaded on next use).
    pub fn check_data_version(&mut self, db: *mut sqlite3) {
        let v = ffi::data_version(db);
        if self.data_version != Some(v) {
            if self.data_version.is_some() {
                self.parts.retain(|_, p| p.is_dirty());
            }
            self.data_version = Some(v);
        }
    }

    /// Notes that the file's changes so far are this connection's own
    /// (called when its transaction has committed): the models match them,
    /// so the next `check_data_version` keeps them. The data version
    /// `SQLITE_FCNTL_DATA_VERSION` reads changes on the connection's own
    /// commits too, unlike `PRAGMA data_version`.
    pub fn note_own_commit(&mut self, db: *mut sqlite3) {
        if self.data_version.is_some() {
            self.data_version = Some(ffi::data_version(db));
        }
    }

    /// Forgets these partitions' models (after a rollback).
    pub fn forget<'a>(&mut self, names: impl IntoIterator<Item = &'a String>) {
        for n in names {
            self.parts.remove(n);
        }
    }

    pub fn loaded(&self, name: &str) -> Option<&Part> {
        self.parts.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.parts.keys()
    }

    /// The partition's model, loaded from the database (or created empty
    /// with the default configuration) on first use.
    pub fn part(&mut self, db: *mut sqlite3, name: &str) -> Result<&mut Part> {
        self.part_or(db, name, None)
    }

    /// Like [`Registry::part`], with the configuration a partition gets
    /// when it does not exist yet (instead of the default).
    pub fn part_or(
        &mut self,
        db: *mut sqlite3,
        name: &str,
        fresh: Option<&DrainConfig>,
    ) -> Result<&mut Part> {
        if !self.parts.contains_key(name) {
            let part = load(db, name, fresh)?;
            self.parts.insert(name.to_string(), part);
        }
        Ok(self.parts.get_mut(name).expect("just inserted"))
    }

    /// Writes the changed clusters of the partitions `owned` selects.
    /// Returns the names written.
    pub fn flush(&mut self, db: *mut sqlite3, owned: impl Fn(&str) -> bool) -> Result<Vec<String>> {
        let mut written = Vec::new();
        let names: Vec<String> = self
            .parts
            .iter()
            .filter(|(n, p)| owned(n) && p.is_dirty())
            .map(|(n, _)| n.clone())
            .collect();
        if names.is_empty() {
            return Ok(written);
        }
        let mut put_part = Stmt::prepare(
            db,
            "INSERT INTO main.otelcat_drain_partitions(partition, config, layout) VALUES (?1, ?2, ?3)
             ON CONFLICT(partition) DO NOTHING",
        )?;
        let mut put = Stmt::prepare(
            db,
            "INSERT INTO main.otelcat_drain_clusters(partition, cluster_id, template, tokens, path, size, last_used, example)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(partition, cluster_id) DO UPDATE SET template = excluded.template,
               tokens = excluded.tokens, path = excluded.path, size = excluded.size,
               last_used = excluded.last_used, example = excluded.example",
        )?;
        let mut del = Stmt::prepare(
            db,
            "DELETE FROM main.otelcat_drain_clusters WHERE partition = ?1 AND cluster_id = ?2",
        )?;
        let mut resize = Stmt::prepare(
            db,
            "UPDATE main.otelcat_drain_clusters SET size = ?3, last_used = ?4 WHERE partition = ?1 AND cluster_id = ?2",
        )?;
        for name in names {
            let part = self.parts.get_mut(&name).expect("listed above");
            if !part.stored {
                put_part.bind_text(1, &name)?;
                put_part.bind_text(2, &part.config_json)?;
                put_part.bind_i64(3, LAYOUT)?;
                put_part.run()?;
            }
            for id in &part.deleted {
                del.bind_text(1, &name)?;
                del.bind_i64(2, *id as i64)?;
                del.run()?;
            }
            for id in &part.dirty {
                let Some(r) = part.drain.record(*id) else {
                    continue;
                };
                put.bind_text(1, &name)?;
                put.bind_i64(2, r.id as i64)?;
                put.bind_text(3, &r.template)?;
                put.bind_text(4, &r.tokens)?;
                put.bind_text(5, &r.path)?;
                put.bind_i64(6, r.size as i64)?;
                put.bind_i64(7, r.last_used as i64)?;
                put.bind_text(8, &r.example)?;
                put.run()?;
            }
            for id in &part.resized {
                let Some(c) = part.drain.cluster(*id) else {
                    continue;
                };
                resize.bind_text(1, &name)?;
                resize.bind_i64(2, *id as i64)?;
                resize.bind_i64(3, c.size() as i64)?;
                resize.bind_i64(4, c.last_used() as i64)?;
                resize.run()?;
            }
            part.stored = true;
            part.dirty.clear();
            part.resized.clear();
            part.deleted.clear();
            part.last_dirty = u64::MAX;
            written.push(name);
        }
        Ok(written)
    }

    pub fn has_dirty(&self, owned: impl Fn(&str) -> bool) -> bool {
        self.parts.iter().any(|(n, p)| owned(n) && p.is_dirty())
    }

    /// Loads every stored partition (for listings).
    pub fn load_all(&mut self, db: *mut sqlite3) -> Result<()> {
        if !table_exists(db, "otelcat_drain_partitions")? {
            return Ok(());
        }
        let mut st = Stmt::prepare(db, "SELECT partition FROM main.otelcat_drain_partitions")?;
        let mut names = Vec::new();
        while st.step()? {
            names.push(st.column_text(0));
        }
        for n in names {
            self.part(db, &n)?;
        }
        Ok(())
    }

    /// Removes a partition: model, clusters and configuration.
    pub fn reset(&mut self, db: *mut sqlite3, name: &str) -> Result<()> {
        self.parts.remove(name);
        if table_exists(db, "otelcat_drain_partitions")? {
            for sql in [
                "DELETE FROM main.otelcat_drain_clusters WHERE partition = ?1",
                "DELETE FROM main.otelcat_drain_partitions WHERE partition = ?1",
            ] {
                let mut st = Stmt::prepare(db, sql)?;
                st.bind_text(1, name)?;
                st.run()?;
            }
        }
        Ok(())
    }

    /// Snapshot of a loaded partition (for savepoints of otlp_ingest).
    pub fn snapshot(&self, name: &str) -> Option<Snapshot> {
        self.parts.get(name).map(|p| Snapshot {
            config: p.drain.config().clone(),
            config_json: p.config_json.clone(),
            records: p.drain.records(),
            dirty: p.dirty.clone(),
            resized: p.resized.clone(),
            deleted: p.deleted.clone(),
            stored: p.stored,
        })
    }

    /// Puts a partition back as a snapshot had it.
    pub fn restore(&mut self, name: &str, s: Snapshot) -> Result<()> {
        let drain = Drain::from_records(s.config, s.records).map_err(|e| {
            Error::new(format!(
                "otelcat: cannot restore drain partition {name}: {e}"
            ))
        })?;
        self.parts.insert(
            name.to_string(),
            Part {
                drain,
                config_json: s.config_json,
                dirty: s.dirty,
                resized: s.resized,
                deleted: s.deleted,
                last_dirty: u64::MAX,
                stored: s.stored,
            },
        );
        Ok(())
    }
}

/// A partition as it was, for rolling back to a savepoint.
pub struct Snapshot {
    config: DrainConfig,
    config_json: String,
    records: Vec<ClusterRecord>,
    dirty: HashSet<u64>,
    resized: HashSet<u64>,
    deleted: HashSet<u64>,
    stored: bool,
}

/// Reads a partition from the database.
fn load(db: *mut sqlite3, name: &str, fresh: Option<&DrainConfig>) -> Result<Part> {
    let fresh_config = || -> Result<DrainConfig> {
        match fresh {
            Some(c) => Ok(c.clone()),
            None => default_config(db),
        }
    };
    if !table_exists(db, "otelcat_drain_partitions")? {
        let cfg = fresh_config()?;
        let config_json = cfg.to_json();
        return Ok(Part::new(Drain::new(cfg), config_json, false));
    }
    let mut st = Stmt::prepare(
        db,
        "SELECT config, layout FROM main.otelcat_drain_partitions WHERE partition = ?1",
    )?;
    st.bind_text(1, name)?;
    let (cfg, config_json, stored) = if st.step()? {
        let json = st.column_text(0);
        let layout = st.column_i64(1);
        if layout != LAYOUT {
            bail!(
                "drain partition '{name}' is stored with layout {layout}; this otelcat reads layout {LAYOUT}"
            );
        }
        let cfg = DrainConfig::from_json(&json)
            .map_err(|e| Error::new(format!("drain partition '{name}': stored {e}")))?;
        (cfg, json, true)
    } else {
        let cfg = fresh_config()?;
        let json = cfg.to_json();
        (cfg, json, false)
    };
    drop(st);
    let mut records = Vec::new();
    let mut st = Stmt::prepare(
        db,
        "SELECT cluster_id, template, tokens, path, size, last_used, example
         FROM main.otelcat_drain_clusters WHERE partition = ?1 ORDER BY cluster_id",
    )?;
    st.bind_text(1, name)?;
    while st.step()? {
        records.push(ClusterRecord {
            id: st.column_i64(0) as u64,
            template: st.column_text(1),
            tokens: st.column_text(2),
            path: st.column_text(3),
            size: st.column_i64(4) as u64,
            last_used: st.column_i64(5) as u64,
            example: st.column_text(6),
        });
    }
    let drain = Drain::from_records(cfg, records)
        .map_err(|e| Error::new(format!("drain partition '{name}' cannot be read: {e}")))?;
    Ok(Part::new(drain, config_json, stored))
}
