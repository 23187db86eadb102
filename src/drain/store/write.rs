//! Writing models to the database, inside the transaction that trained
//! them: the changed clusters of dirty partitions ([`Registry::flush`]),
//! what a rolled-back write wrote put back in the dirty sets
//! ([`Registry::requeue`]), and a partition removed, its ids kept
//! ([`Registry::reset`]). `load.rs` compiles the same statements to refuse
//! storage tables that would not take them.

use std::collections::BTreeMap;

use ahash::AHashSet as HashSet;

use super::load::{ensure_schema, stored_last_id, table_exists};
use super::{LAYOUT, PartName, Registry};
use crate::drain::engine::MAX_ID;
use crate::ffi::{Db, Result, Stmt};

// The statements that write models (`Registry::flush`, `Registry::reset`).
pub(super) const PUT_PARTITION: &str =
    "INSERT INTO main.otelcat_drain_partitions(partition, config, layout) VALUES (?1, ?2, ?3)
     ON CONFLICT(partition) DO NOTHING";
/// Rewrites a partition row of an older layout: the complete configuration
/// (the masks it is read with pinned) and this layout.
const UPGRADE_PARTITION: &str =
    "UPDATE main.otelcat_drain_partitions SET config = ?2, layout = ?3 WHERE partition = ?1";
pub(super) const PUT_CLUSTER: &str = "INSERT INTO main.otelcat_drain_clusters(partition, cluster_id, template, tokens, path, size, last_used, example)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT(partition, cluster_id) DO UPDATE SET template = excluded.template,
       tokens = excluded.tokens, path = excluded.path, size = excluded.size,
       last_used = excluded.last_used, example = excluded.example";
const DELETE_CLUSTER: &str =
    "DELETE FROM main.otelcat_drain_clusters WHERE partition = ?1 AND cluster_id = ?2";
pub(super) const RESIZE_CLUSTER: &str = "UPDATE main.otelcat_drain_clusters SET size = ?3, last_used = ?4 \
     WHERE partition = ?1 AND cluster_id = ?2";
pub(super) const PUT_LAST_ID: &str = "INSERT INTO main.otelcat_drain_ids(partition, last_id) VALUES (?1, ?2) \
     ON CONFLICT(partition) DO UPDATE SET last_id = excluded.last_id";

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

impl Registry {
    /// Writes the changed clusters of the partitions `owned` selects,
    /// adding what each partition had to write to `written` as soon as it
    /// is written (so that a failure part-way leaves `written` exact).
    pub fn flush(
        &mut self,
        db: Db,
        owned: impl Fn(&str) -> bool,
        written: &mut BTreeMap<String, Unsaved>,
    ) -> Result<()> {
        let names: Vec<PartName> = self
            .parts
            .iter()
            .filter(|(n, p)| owned(n.as_str()) && p.is_dirty())
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
        for key in names {
            let part = self.parts.get_mut(&key).expect("listed above");
            let name = key.as_str();
            if !part.stored {
                put_part.bind_text(1, name)?;
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
                st.bind_text(1, name)?;
                st.bind_text(2, &json)?;
                st.bind_i64(3, LAYOUT)?;
                st.run()?;
                layout_before = Some(part.layout);
                part.layout = LAYOUT;
                part.config_json = json;
            }
            for id in &part.deleted {
                del.bind_text(1, name)?;
                del.bind_i64(2, *id as i64)?;
                del.run()?;
            }
            for id in &part.dirty {
                let Some(r) = part.drain.record(*id) else {
                    continue;
                };
                put.bind_text(1, name)?;
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
                resize.bind_text(1, name)?;
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
            part.bytes = part.measure(name);
            self.bytes = self.bytes - before + part.bytes;
            match written.get_mut(name) {
                Some(u) => u.absorb(unsaved),
                None => {
                    written.insert(name.to_string(), unsaved);
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
            let Some(part) = self.parts.get_mut(&PartName::new(&name)) else {
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
}
