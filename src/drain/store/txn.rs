//! Following transactions: a model as it was when a savepoint opened
//! ([`Snapshot`], which otlp_ingest keeps per savepoint too), and the drain
//! functions' part in a transaction they joined ([`Joined`]): the
//! partitions they changed are dropped from memory if it rolls back, and
//! put back as they were if it rolls back to a savepoint opened since.

use std::collections::BTreeSet;
use std::ffi::c_int;

use ahash::{AHashMap as HashMap, AHashSet as HashSet};

use super::{Part, PartName, Registry};
use crate::drain::engine::{ClusterRecord, Drain, DrainConfig};
use crate::ffi::{Error, Result};

/// The drain functions' part in a transaction they joined: the partitions
/// they changed (dropped from memory if it rolls back) and, per open
/// savepoint, each partition as it was before the savepoint's first change
/// of it (put back if it rolls back to the savepoint).
#[derive(Default)]
pub struct Joined {
    touched: BTreeSet<String>,
    layers: Vec<Layer>,
    /// (layer count, partition) of the last [`Registry::changing`] call:
    /// most calls change the partition the previous one did.
    last: Option<(usize, String)>,
}

struct Layer {
    level: c_int,
    snapshots: HashMap<String, Option<Snapshot>>,
}

impl Registry {
    /// Notes that the drain functions are about to change partition `name`
    /// (train it, configure it, reset it) inside a transaction they joined:
    /// a rollback drops it from memory, a rollback to a savepoint opened
    /// since puts back the model as it was. No-op outside such a
    /// transaction.
    pub fn changing(&mut self, name: &str) {
        let Some(j) = self.joined.as_ref() else {
            return;
        };
        let depth = j.layers.len();
        if j.last
            .as_ref()
            .is_some_and(|(d, n)| *d == depth && n == name)
        {
            return;
        }
        let needs_snapshot = j
            .layers
            .last()
            .is_some_and(|l| !l.snapshots.contains_key(name));
        let snap = if needs_snapshot {
            self.snapshot(name)
        } else {
            None
        };
        let j = self.joined.as_mut().expect("checked above");
        if needs_snapshot && let Some(top) = j.layers.last_mut() {
            top.snapshots.insert(name.to_string(), snap);
        }
        if !j.touched.contains(name) {
            j.touched.insert(name.to_string());
        }
        j.last = Some((depth, name.to_string()));
    }

    /// otelcat_drain_sync joined the transaction.
    pub fn join(&mut self) {
        if self.joined.is_none() {
            self.joined = Some(Joined::default());
        }
    }

    /// A savepoint opened in a joined transaction.
    pub fn savepoint(&mut self, level: c_int) {
        self.release(level);
        if let Some(j) = self.joined.as_mut() {
            j.layers.push(Layer {
                level,
                snapshots: HashMap::new(),
            });
            j.last = None;
        }
    }

    /// Savepoints at `level` and above released: their snapshots go to the
    /// layer below (the older snapshot of a partition wins).
    pub fn release(&mut self, level: c_int) {
        let Some(j) = self.joined.as_mut() else {
            return;
        };
        while j.layers.last().is_some_and(|l| l.level >= level) {
            let top = j.layers.pop().expect("non-empty");
            if let Some(below) = j.layers.last_mut() {
                for (name, snap) in top.snapshots {
                    below.snapshots.entry(name).or_insert(snap);
                }
            }
        }
        j.last = None;
    }

    /// Rolled back to the savepoint at `level`: the models changed since
    /// are put back as they were then. A savepoint older than the join:
    /// everything the functions changed in the transaction is dropped
    /// (reloaded from the file, which SQLite has put back).
    pub fn rollback_to(&mut self, level: c_int) {
        let Some(mut j) = self.joined.take() else {
            return;
        };
        let mut restore = Vec::new();
        while j.layers.last().is_some_and(|l| l.level > level) {
            restore.push(j.layers.pop().expect("non-empty").snapshots);
        }
        match j.layers.last_mut() {
            Some(top) if top.level == level => restore.push(std::mem::take(&mut top.snapshots)),
            Some(_) => {}
            None => {
                let names: Vec<String> = std::mem::take(&mut j.touched).into_iter().collect();
                self.forget(&names);
            }
        }
        j.last = None;
        // Newest first, so that the oldest snapshot of a partition wins.
        for snapshots in restore {
            for (name, snap) in snapshots {
                let restored = match snap {
                    Some(s) => self.restore(&name, s).is_ok(),
                    None => false,
                };
                if !restored {
                    self.forget([&name]);
                }
            }
        }
        self.joined = Some(j);
    }

    /// The joined transaction ended: rolled back (`committed` false) drops
    /// the models it changed.
    pub fn leave(&mut self, committed: bool) {
        if let Some(j) = self.joined.take()
            && !committed
        {
            let names: Vec<String> = j.touched.into_iter().collect();
            self.forget(&names);
        }
    }

    /// Snapshot of a loaded partition (for savepoints).
    pub fn snapshot(&self, name: &str) -> Option<Snapshot> {
        self.parts.get(&PartName::new(name)).map(|p| Snapshot {
            config: p.drain.config().clone(),
            config_json: p.config_json.clone(),
            records: p.drain.records(),
            last_id: p.drain.last_id(),
            dirty: p.dirty.clone(),
            resized: p.resized.clone(),
            deleted: p.deleted.clone(),
            stored: p.stored,
            layout: p.layout,
        })
    }

    /// Puts a partition back as a snapshot had it.
    pub fn restore(&mut self, name: &str, s: Snapshot) -> Result<()> {
        let mut drain = Drain::from_records(s.config, s.records).map_err(|e| {
            Error::new(format!(
                "otelcat: cannot restore drain partition {name}: {e}"
            ))
        })?;
        // (records alone give the last id only when the model has clusters)
        drain.continue_after(s.last_id);
        self.insert_part(
            PartName::new(name),
            Part {
                drain,
                config_json: s.config_json,
                dirty: s.dirty,
                resized: s.resized,
                deleted: s.deleted,
                last_dirty: u64::MAX,
                stored: s.stored,
                layout: s.layout,
                bytes: 0,
                used: 0,
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
    last_id: u64,
    dirty: HashSet<u64>,
    resized: HashSet<u64>,
    deleted: HashSet<u64>,
    stored: bool,
    layout: i64,
}
