//! The per-connection registry of Drain models and their persistence in the
//! database (sql/drain.sql).
//!
//! A partition's model lives in memory and in `otelcat_drain_clusters`. The
//! database is the truth: a model is loaded from it on first use, written
//! back (dirty clusters only) inside the transaction that trained it, and
//! dropped from memory whenever that transaction, or a savepoint holding the
//! write, rolls back, or another connection commits to the file; it is then
//! reloaded on next use.
//!
//! The code follows those concerns:
//!
//! - this file, the registry: [`Models`] (the registry of a connection,
//!   shared by the drain functions and otlp_ingest, held through a
//!   [`Guard`]), [`Registry`] (the loaded models, their memory budget and
//!   the eviction of the least recently used) and [`Part`] (a model and
//!   what changed in it since it was last written);
//! - `load.rs`, reading the database: the storage tables
//!   ([`ensure_schema`]), the default configuration ([`default_config`]),
//!   a partition's rows, each checked as it is read (a row otelcat never
//!   writes is an error naming the partition), the partitions listed;
//! - `write.rs`, writing it: the changed clusters of dirty partitions
//!   ([`Registry::flush`]), what a rolled-back write wrote put back in the
//!   dirty sets ([`Registry::requeue`]), a partition removed
//!   ([`Registry::reset`]);
//! - `txn.rs`, following transactions: the models as they were when a
//!   savepoint opened ([`Snapshot`]), and the drain functions' part in a
//!   transaction they joined ([`Joined`]).

use std::cell::{RefCell, RefMut};
use std::collections::BTreeMap;
use std::ffi::c_int;

use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use super::engine::{Change, Drain, DrainConfig, Trained};
use crate::ffi::{Db, Result};

mod load;
mod txn;
mod write;

pub use load::{default_config, ensure_schema};
pub use txn::{Joined, Snapshot};
pub use write::Unsaved;

/// Layout version of stored clusters (docs/FORMAT.md section 4): 2 since
/// masks and token patterns. Layout 1 (v0.1.0) is read as layout 2, and
/// rewritten as layout 2 (its partition row) when the partition is next
/// written.
pub const LAYOUT: i64 = 2;
/// Partitions otlp_ingest owns; trained only through it.
pub const INGEST_PREFIX: &str = "otlp.";
/// The memory the models a connection keeps loaded may take, by
/// [`Drain::approx_bytes`] (docs/functions.md, "Log templates"): past it, the least
/// recently used models are dropped from memory (written first when
/// otlp_ingest has not written them yet) and reloaded from the file when
/// next needed, down to three quarters of it.
pub const MODEL_BUDGET_BYTES: usize = 32 << 20;

/// A partition's name with its hash computed once. The registry is keyed
/// by it, so that a caller holding the key it got back
/// ([`Registry::part_named`]) finds the model without hashing or comparing
/// the name again: otlp_ingest's log partitions embed the sender's service
/// name, which may be megabytes long, and are looked up for every record.
#[derive(Clone)]
pub struct PartName {
    hash: u64,
    name: Arc<str>,
}

impl PartName {
    pub fn new(name: &str) -> PartName {
        // Seeded at random once per process: the names come from senders.
        static SEED: OnceLock<ahash::RandomState> = OnceLock::new();
        PartName {
            hash: SEED.get_or_init(ahash::RandomState::new).hash_one(name),
            name: Arc::from(name),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl Hash for PartName {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl PartialEq for PartName {
    fn eq(&self, other: &PartName) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.name, &other.name) || self.name == other.name)
    }
}

impl Eq for PartName {}

impl std::fmt::Debug for PartName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

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
    /// The layout of the partition row ([`LAYOUT`] unless it was read
    /// from an older one, which the next flush rewrites).
    pub layout: i64,
    /// Bytes counted for it in [`Registry::bytes`] (measured when loaded
    /// and when written).
    bytes: usize,
    /// When it was last used (the registry's clock), for eviction.
    used: u64,
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
            layout: LAYOUT,
            bytes: 0,
            used: 0,
        }
    }

    /// What the model and its bookkeeping take, `name` its partition.
    fn measure(&self, name: &str) -> usize {
        let set = |cap: usize| cap * 9 * 8 / 7;
        std::mem::size_of::<Part>()
            + 2 * name.len()
            + 48
            + self.config_json.capacity()
            + set(self.dirty.capacity())
            + set(self.resized.capacity())
            + set(self.deleted.capacity())
            + self.drain.approx_bytes()
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
    parts: HashMap<PartName, Part>,
    /// The sum of the loaded parts' `bytes`.
    bytes: usize,
    /// Ticks at each use of a model.
    clock: u64,
    /// The bound of `bytes` ([`MODEL_BUDGET_BYTES`] when 0; tests set
    /// it lower).
    pub budget: usize,
    /// Models dropped from memory to keep within the budget, since the
    /// connection opened.
    pub evictions: u64,
    /// `PRAGMA data_version` when models were last known to match the file.
    data_version: Option<u32>,
    /// What the drain functions wrote in the current transaction, by
    /// partition (otelcat_drain_sync keeps it until commit or rollback).
    pub written_in_txn: BTreeMap<String, Unsaved>,
    /// Set while a statement-end write runs as its own transaction (no
    /// user transaction, no other writing statement): a rollback of it
    /// puts what it wrote back in the dirty sets instead of dropping the
    /// models, since the statements that learned it have returned.
    pub own_write: bool,
    /// An error a statement-end write could not report: the next drain
    /// function call reports it.
    pub deferred: Option<(c_int, String)>,
    /// Set while otelcat_drain_sync takes part in the transaction (a drain
    /// function ran inside BEGIN … COMMIT or inside another writing
    /// statement): what the functions change is written at its commit.
    pub joined: Option<Joined>,
    /// Log partitions of otlp_ingest whose lines it counted in the current
    /// transaction and has not written to the catalog yet (the rows it
    /// writes need their clusters): `drain_reset` refuses them until then.
    pub ingest_pending: HashSet<String>,
}

/// The models of a connection, shared by the drain functions and
/// otlp_ingest. SQLite may roll a transaction back from inside a write
/// that holds the registry (a nested statement that fills the disk rolls
/// back at once): a change that must follow a rollback is then queued with
/// [`Models::after`] and made by the holder when it lets go
/// ([`Guard`]'s drop), never skipped.
pub struct Models {
    reg: RefCell<Registry>,
    queued: RefCell<Vec<Queued>>,
}

pub type Shared = Rc<Models>;

/// A change of the registry queued until its holder lets it go.
type Queued = Box<dyn FnOnce(&mut Registry)>;

/// The registry, held; queued changes are made when it is released.
pub struct Guard<'a> {
    reg: Option<RefMut<'a, Registry>>,
    queued: &'a RefCell<Vec<Queued>>,
}

impl std::ops::Deref for Guard<'_> {
    type Target = Registry;
    fn deref(&self) -> &Registry {
        self.reg.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut Registry {
        self.reg.as_mut().expect("held until dropped")
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let Some(reg) = self.reg.as_mut() {
            loop {
                let fs = std::mem::take(&mut *self.queued.borrow_mut());
                if fs.is_empty() {
                    break;
                }
                for f in fs {
                    f(reg);
                }
            }
        }
    }
}

impl Models {
    pub fn new() -> Shared {
        Rc::new(Models {
            reg: RefCell::new(Registry::default()),
            queued: RefCell::new(Vec::new()),
        })
    }

    /// The registry, or `None` while another call holds it (a re-entrant
    /// call).
    pub fn lock(&self) -> Option<Guard<'_>> {
        let reg = self.reg.try_borrow_mut().ok()?;
        Some(Guard {
            reg: Some(reg),
            queued: &self.queued,
        })
    }

    /// Makes `f` now, or when the call holding the registry lets it go.
    pub fn after(&self, f: impl FnOnce(&mut Registry) + 'static) {
        match self.lock() {
            Some(mut g) => f(&mut g),
            None => self.queued.borrow_mut().push(Box::new(f)),
        }
    }
}

impl Registry {
    /// Drops clean models when another connection committed to the file
    /// since they were loaded (they are reloaded on next use).
    pub fn check_data_version(&mut self, db: Db) {
        let v = db.data_version();
        if self.data_version != Some(v) {
            if self.data_version.is_some() {
                self.parts.retain(|_, p| p.is_dirty());
                self.bytes = self.parts.values().map(|p| p.bytes).sum();
            }
            self.data_version = Some(v);
        }
    }

    /// Notes that the file's changes so far are this connection's own
    /// (called when its transaction has committed): the models match them,
    /// so the next `check_data_version` keeps them. The data version
    /// `SQLITE_FCNTL_DATA_VERSION` reads changes on the connection's own
    /// commits too, unlike `PRAGMA data_version`.
    pub fn note_own_commit(&mut self, db: Db) {
        if self.data_version.is_some() {
            self.data_version = Some(db.data_version());
        }
    }

    /// Forgets these partitions' models (after a rollback).
    pub fn forget<'a>(&mut self, names: impl IntoIterator<Item = &'a String>) {
        for n in names {
            self.remove_part(n);
        }
    }

    /// Adds a loaded model, measured.
    fn insert_part(&mut self, name: PartName, mut part: Part) {
        part.bytes = part.measure(name.as_str());
        self.clock += 1;
        part.used = self.clock;
        self.bytes += part.bytes;
        if let Some(old) = self.parts.insert(name, part) {
            self.bytes -= old.bytes;
        }
    }

    fn remove_part(&mut self, name: &str) -> Option<Part> {
        let p = self.parts.remove(&PartName::new(name))?;
        self.bytes -= p.bytes;
        Some(p)
    }

    /// (models loaded, their bytes, the bound, evictions so far).
    pub fn memory(&self) -> (usize, usize, usize, u64) {
        (self.parts.len(), self.bytes, self.budget(), self.evictions)
    }

    pub fn budget(&self) -> usize {
        if self.budget == 0 {
            MODEL_BUDGET_BYTES
        } else {
            self.budget
        }
    }

    /// Keeps the loaded models within the budget: when they exceed it,
    /// drops the least recently used ones until they take three quarters
    /// of it. Never drops those `keep` selects, nor models with changes
    /// not written to the file, except, when `db` is given (otlp_ingest,
    /// inside its transaction), its own models, which are written first
    /// (their rows join the transaction; a rollback drops them all). A
    /// dropped model is reloaded from the file when next used.
    pub fn shrink(&mut self, db: Option<Db>, keep: impl Fn(&str) -> bool) -> Result<()> {
        let budget = self.budget();
        if self.bytes <= budget {
            return Ok(());
        }
        let mut over = self.bytes - budget / 4 * 3;
        let mut cands: Vec<(u64, &str, usize, bool)> = self
            .parts
            .iter()
            .filter(|(n, p)| {
                !keep(n.as_str())
                    && (!p.is_dirty() || (db.is_some() && n.as_str().starts_with(INGEST_PREFIX)))
            })
            .map(|(n, p)| (p.used, n.as_str(), p.bytes, p.is_dirty()))
            .collect();
        cands.sort_unstable();
        let mut victims = Vec::new();
        let mut write = HashSet::new();
        for (_, n, b, dirty) in cands {
            if over == 0 {
                break;
            }
            over = over.saturating_sub(b);
            if dirty {
                write.insert(n.to_string());
            }
            victims.push(n.to_string());
        }
        if let Some(db) = db
            && !write.is_empty()
        {
            self.flush(db, |n| write.contains(n), &mut Default::default())?;
        }
        for n in victims {
            self.remove_part(&n);
            self.evictions += 1;
        }
        Ok(())
    }

    pub fn loaded(&self, name: &str) -> Option<&Part> {
        self.parts.get(&PartName::new(name))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.keys().map(PartName::as_str)
    }

    /// The partition's model, loaded from the database (or created empty
    /// with the default configuration) on first use.
    pub fn part(&mut self, db: Db, name: &str) -> Result<&mut Part> {
        self.part_or(db, name, None)
    }

    /// Like [`Registry::part`], with the configuration a partition gets
    /// when it does not exist yet (instead of the default).
    pub fn part_or(
        &mut self,
        db: Db,
        name: &str,
        fresh: Option<&DrainConfig>,
    ) -> Result<&mut Part> {
        let key = PartName::new(name);
        Ok(self.part_named(db, &key, fresh)?.1)
    }

    /// Like [`Registry::part_or`], by a key made once: with a key this
    /// returned before (the registry's own), neither hashes nor compares
    /// the name. Returns the registry's key too.
    pub fn part_named(
        &mut self,
        db: Db,
        key: &PartName,
        fresh: Option<&DrainConfig>,
    ) -> Result<(PartName, &mut Part)> {
        if !self.parts.contains_key(key) {
            let part = load::load(db, key.as_str(), fresh)?;
            self.insert_part(key.clone(), part);
        }
        self.clock += 1;
        let std::collections::hash_map::Entry::Occupied(e) = self.parts.entry(key.clone()) else {
            unreachable!("inserted above")
        };
        let k = e.key().clone();
        let part = e.into_mut();
        part.used = self.clock;
        Ok((k, part))
    }

    pub fn has_dirty(&self, owned: impl Fn(&str) -> bool) -> bool {
        self.parts
            .iter()
            .any(|(n, p)| owned(n.as_str()) && p.is_dirty())
    }
}
