//! The per-connection registry of Drain models and their persistence in the
//! database (sql/drain.sql).
//!
//! A partition's model lives in memory and in `otelcat_drain_clusters`. The
//! database is the truth: a model is loaded from it on first use, written
//! back (dirty clusters only) inside the transaction that trained it, and
//! dropped from memory whenever that transaction, or a savepoint holding the
//! write, rolls back, or another connection commits to the file; it is then
//! reloaded on next use.

use std::cell::{RefCell, RefMut};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::c_int;

use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use std::rc::Rc;

use super::engine::{
    Change, ClusterRecord, Drain, DrainConfig, MAX_CONFIG_JSON_BYTES, MAX_ID, Trained,
};
use crate::ffi::{Db, Error, Result, Stmt, bail, exec};

pub const SCHEMA: &str = include_str!("../../sql/drain.sql");
/// Layout version of stored clusters (docs/FORMAT.md section 4): 2 since
/// masks and token patterns. Layout 1 (v0.1.0) is read as layout 2, and
/// rewritten as layout 2 (its partition row) when the partition is next
/// written.
pub const LAYOUT: i64 = 2;
/// Layouts this version reads.
const READS_LAYOUTS: [i64; 2] = [1, 2];
/// Partitions otlp_ingest owns; trained only through it.
pub const INGEST_PREFIX: &str = "otlp.";
/// The memory the models a connection keeps loaded may take, by
/// [`Drain::approx_bytes`] (docs/functions.md, "Log templates"): past it, the least
/// recently used models are dropped from memory (written first when
/// otlp_ingest has not written them yet) and reloaded from the file when
/// next needed, down to three quarters of it.
pub const MODEL_BUDGET_BYTES: usize = 32 << 20;

// The statements that write models (`Registry::flush`, `Registry::reset`).
const PUT_PARTITION: &str =
    "INSERT INTO main.otelcat_drain_partitions(partition, config, layout) VALUES (?1, ?2, ?3)
     ON CONFLICT(partition) DO NOTHING";
/// Rewrites a partition row of an older layout: the complete configuration
/// (the masks it is read with pinned) and this layout.
const UPGRADE_PARTITION: &str =
    "UPDATE main.otelcat_drain_partitions SET config = ?2, layout = ?3 WHERE partition = ?1";
const PUT_CLUSTER: &str = "INSERT INTO main.otelcat_drain_clusters(partition, cluster_id, template, tokens, path, size, last_used, example)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT(partition, cluster_id) DO UPDATE SET template = excluded.template,
       tokens = excluded.tokens, path = excluded.path, size = excluded.size,
       last_used = excluded.last_used, example = excluded.example";
const DELETE_CLUSTER: &str =
    "DELETE FROM main.otelcat_drain_clusters WHERE partition = ?1 AND cluster_id = ?2";
const RESIZE_CLUSTER: &str = "UPDATE main.otelcat_drain_clusters SET size = ?3, last_used = ?4 \
     WHERE partition = ?1 AND cluster_id = ?2";
const PUT_LAST_ID: &str = "INSERT INTO main.otelcat_drain_ids(partition, last_id) VALUES (?1, ?2) \
     ON CONFLICT(partition) DO UPDATE SET last_id = excluded.last_id";

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

/// What a flush wrote of one partition and cleared from its dirty sets: put
/// back with [`Registry::requeue`] when the transaction that wrote it rolls
/// back but the models must keep what they learned.
#[derive(Default)]
pub struct Unsaved {
    dirty: HashSet<u64>,
    resized: HashSet<u64>,
    deleted: HashSet<u64>,
    /// Whether the partition row existed before the write.
    stored_before: bool,
    /// The layout the partition row had before the write upgraded it.
    layout_before: Option<i64>,
}

impl Unsaved {
    fn absorb(&mut self, o: Unsaved) {
        self.dirty.extend(o.dirty);
        self.resized.extend(o.resized);
        self.deleted.extend(o.deleted);
        self.stored_before &= o.stored_before;
        self.layout_before = self.layout_before.or(o.layout_before);
    }
}

#[derive(Default)]
pub struct Registry {
    parts: HashMap<String, Part>,
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

fn table_exists(db: Db, name: &str) -> Result<bool> {
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
    fn insert_part(&mut self, name: &str, mut part: Part) {
        part.bytes = part.measure(name);
        self.clock += 1;
        part.used = self.clock;
        self.bytes += part.bytes;
        if let Some(old) = self.parts.insert(name.to_string(), part) {
            self.bytes -= old.bytes;
        }
    }

    fn remove_part(&mut self, name: &str) -> Option<Part> {
        let p = self.parts.remove(name)?;
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
        let mut cands: Vec<(u64, &String, usize, bool)> = self
            .parts
            .iter()
            .filter(|(n, p)| {
                !keep(n) && (!p.is_dirty() || (db.is_some() && n.starts_with(INGEST_PREFIX)))
            })
            .map(|(n, p)| (p.used, n, p.bytes, p.is_dirty()))
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
                write.insert(n.clone());
            }
            victims.push(n.clone());
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
        self.parts.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.parts.keys()
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
        if !self.parts.contains_key(name) {
            let part = load(db, name, fresh)?;
            self.insert_part(name, part);
        }
        self.clock += 1;
        let part = self.parts.get_mut(name).expect("just inserted");
        part.used = self.clock;
        Ok(part)
    }

    /// Writes the changed clusters of the partitions `owned` selects,
    /// adding what each partition had to write to `written` as soon as it
    /// is written (so that a failure part-way leaves `written` exact).
    pub fn flush(
        &mut self,
        db: Db,
        owned: impl Fn(&str) -> bool,
        written: &mut BTreeMap<String, Unsaved>,
    ) -> Result<()> {
        let names: Vec<String> = self
            .parts
            .iter()
            .filter(|(n, p)| owned(n) && p.is_dirty())
            .map(|(n, _)| n.clone())
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        let mut put_part = Stmt::prepare(db, PUT_PARTITION)?;
        let mut upgrade: Option<Stmt> = None;
        let mut put = Stmt::prepare(db, PUT_CLUSTER)?;
        let mut del = Stmt::prepare(db, DELETE_CLUSTER)?;
        let mut resize = Stmt::prepare(db, RESIZE_CLUSTER)?;
        for name in names {
            let part = self.parts.get_mut(&name).expect("listed above");
            if !part.stored {
                put_part.bind_text(1, &name)?;
                put_part.bind_text(2, &part.config_json)?;
                put_part.bind_i64(3, LAYOUT)?;
                put_part.run()?;
            }
            let mut layout_before = None;
            if part.stored && part.layout != LAYOUT {
                let st = match &mut upgrade {
                    Some(st) => st,
                    None => upgrade.insert(Stmt::prepare(db, UPGRADE_PARTITION)?),
                };
                let json = part.drain.config().to_json();
                st.bind_text(1, &name)?;
                st.bind_text(2, &json)?;
                st.bind_i64(3, LAYOUT)?;
                st.run()?;
                layout_before = Some(part.layout);
                part.layout = LAYOUT;
                part.config_json = json;
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
            let unsaved = Unsaved {
                dirty: std::mem::take(&mut part.dirty),
                resized: std::mem::take(&mut part.resized),
                deleted: std::mem::take(&mut part.deleted),
                stored_before: part.stored,
                layout_before,
            };
            part.stored = true;
            part.last_dirty = u64::MAX;
            let before = part.bytes;
            part.bytes = part.measure(&name);
            self.bytes = self.bytes - before + part.bytes;
            match written.get_mut(&name) {
                Some(u) => u.absorb(unsaved),
                None => {
                    written.insert(name, unsaved);
                }
            }
        }
        Ok(())
    }

    /// Puts what `written` wrote back into the dirty sets of the models
    /// still loaded: the write was rolled back, the learning is kept and
    /// written again by the next flush. A cluster deleted since stays
    /// deleted; one changed since stays dirty.
    pub fn requeue(&mut self, written: BTreeMap<String, Unsaved>) {
        for (name, u) in written {
            let Some(part) = self.parts.get_mut(&name) else {
                continue;
            };
            for id in u.deleted {
                part.dirty.remove(&id);
                part.resized.remove(&id);
                part.deleted.insert(id);
            }
            for id in u.dirty {
                if !part.deleted.contains(&id) {
                    part.resized.remove(&id);
                    part.dirty.insert(id);
                }
            }
            for id in u.resized {
                if !part.deleted.contains(&id) && !part.dirty.contains(&id) {
                    part.resized.insert(id);
                }
            }
            if !u.stored_before {
                part.stored = false;
            }
            if let Some(l) = u.layout_before {
                part.layout = l;
            }
            part.last_dirty = u64::MAX;
        }
    }

    pub fn has_dirty(&self, owned: impl Fn(&str) -> bool) -> bool {
        self.parts.iter().any(|(n, p)| owned(n) && p.is_dirty())
    }

    /// The partitions stored in the file and those loaded (not written
    /// yet), for listings.
    pub fn stored_names(&self, db: Db) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.parts.keys().cloned().collect();
        if !table_exists(db, "otelcat_drain_partitions")? {
            return Ok(names);
        }
        let mut st = Stmt::prepare(db, "SELECT partition FROM main.otelcat_drain_partitions")?;
        while st.step()? {
            names.push(st.column_text(0));
        }
        Ok(names)
    }

    /// Removes a partition: model, clusters and configuration, keeping the
    /// highest id it gave in `otelcat_drain_ids` so that its next clusters
    /// get new ids. Does not read the model (a partition whose stored rows
    /// cannot be loaded can be reset). Returns how many clusters it held.
    pub fn reset(&mut self, db: Db, name: &str) -> Result<usize> {
        let live = self.remove_part(name);
        let mut last = live.as_ref().map_or(0, |p| p.drain.last_id());
        let mut held = live.as_ref().map(|p| p.drain.len());
        if table_exists(db, "otelcat_drain_clusters")? {
            // Values out of range are a foreign file's: not ids we gave.
            let mut st = Stmt::prepare(
                db,
                "SELECT count(*), max(CASE WHEN typeof(last_used) = 'integer' AND last_used BETWEEN 0 AND ?2 \
                   THEN last_used END), max(CASE WHEN typeof(cluster_id) = 'integer' AND cluster_id BETWEEN 0 AND ?2 \
                   THEN cluster_id END) FROM main.otelcat_drain_clusters WHERE partition = ?1",
            )?;
            st.bind_text(1, name)?;
            st.bind_i64(2, MAX_ID as i64)?;
            st.step()?;
            held.get_or_insert(st.column_i64(0).max(0) as usize);
            last = last
                .max(st.column_i64(1) as u64)
                .max(st.column_i64(2) as u64);
        }
        let stored = stored_last_id(db, name)?;
        if let Some(Ok(v)) = stored {
            last = last.max(v);
        }
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
        // (a row that held no valid id is overwritten)
        if last > 0 || stored.is_some() {
            ensure_schema(db)?;
            let mut st = Stmt::prepare(db, PUT_LAST_ID)?;
            st.bind_text(1, name)?;
            st.bind_i64(2, last as i64)?;
            st.run()?;
        }
        Ok(held.unwrap_or(0))
    }

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
        self.parts.get(name).map(|p| Snapshot {
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
            name,
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

/// The high-water mark `otelcat_drain_ids` holds for a partition: `None`
/// without a row, `Some(Err(text))` when the row holds no valid id.
fn stored_last_id(db: Db, name: &str) -> Result<Option<std::result::Result<u64, String>>> {
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
fn load(db: Db, name: &str, fresh: Option<&DrainConfig>) -> Result<Part> {
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
