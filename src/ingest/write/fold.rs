//! The bound of distinct key names per entity, counted over the catalog
//! (docs/catalog.md "Key-name patterns"): before a batch is written, each
//! entity's key table (entity, scope, event) that would hold more than
//! `key_name_bound` names once written has its new names past the bound
//! folded into key-name patterns, in every service's table alike (the
//! entity's keys stay the union of its services'). Names already stored
//! keep their rows. The batch folded its own names past the bound already,
//! while aggregating (`keys.rs`); this adds what the catalog holds.
//!
//! What it costs a commit: per key table of the batch, one count of the
//! stored names (an index range of the key table's primary key); past the
//! bound only, one lookup per name of the batch.

use ahash::{AHashMap as Map, AHashSet as Set};

use super::Writer;
use crate::ffi::{Result, Stmt};
use crate::ingest::batch::Batch;
use crate::ingest::keys::Keys;

/// The stored key table of an entity kind (named here only, so that a
/// renamed key table is a one-line change): its name, the entity's column,
/// whether it has the `key_scope` and `event_name` columns.
fn key_table(kind: &str) -> (&'static str, &'static str, bool, bool) {
    match kind {
        "metric" => ("metric_key_rows", "metric_name", true, false),
        "span" => ("span_key_rows", "span_name", true, true),
        "log" => ("log_key_rows", "severity", true, false),
        _ => ("log_event_key_rows", "event_name", false, false),
    }
}

/// The two queries of one kind: the number of stored names of an (entity,
/// scope, event), and whether one name is stored. Parameters: ?1 entity,
/// ?2 scope, ?3 event, ?4 name (those of columns the table lacks are not
/// used).
fn queries(kind: &str) -> (String, String) {
    let (table, entity, scope, event) = key_table(kind);
    let mut filter = format!("{entity} = ?1");
    if scope {
        filter.push_str(" AND key_scope = ?2");
    }
    if event {
        filter.push_str(" AND event_name = ?3");
    }
    (
        format!("SELECT count(*) FROM main.{table} WHERE {filter}"),
        format!("SELECT 1 FROM main.{table} WHERE {filter} AND key_name = ?4"),
    )
}

/// Prepared queries of the fold, per entity kind.
#[derive(Default)]
pub(super) struct FoldQueries(Map<&'static str, (Stmt, Stmt)>);

impl FoldQueries {
    fn get(&mut self, db: crate::ffi::Db, kind: &'static str) -> Result<&mut (Stmt, Stmt)> {
        if !self.0.contains_key(kind) {
            let (count, has) = queries(kind);
            let pair = (Stmt::prepare(db, &count)?, Stmt::prepare(db, &has)?);
            self.0.insert(kind, pair);
        }
        Ok(self.0.get_mut(kind).expect("inserted"))
    }
}

/// Binds the (entity, scope, event) of a key table of `kind` (?1, and ?2,
/// ?3 where its table has those columns).
fn bind(st: &mut Stmt, kind: &str, entity: &str, scope: &str, event: &str) -> Result<()> {
    let (_, _, has_scope, has_event) = key_table(kind);
    st.reset();
    st.bind_text(1, entity)?;
    if has_scope {
        st.bind_text(2, scope)?;
    }
    if has_event {
        st.bind_text(3, event)?;
    }
    Ok(())
}

impl Writer {
    /// Folds, in every entity's key tables of `b`, the new names past
    /// `bound` counting the names the catalog holds (see the module docs).
    pub fn fold_stored(&mut self, b: &mut Batch, bound: usize) -> Result<()> {
        for (name, m) in b.metrics.iter_mut() {
            let labels = m.svc.parts_mut().map(|p| &mut p.labels).collect();
            self.fold_entity("metric", name, "label", "", labels, bound)?;
            let resource = m.svc.parts_mut().map(|p| &mut p.resource).collect();
            self.fold_entity("metric", name, "resource", "", resource, bound)?;
        }
        for (name, s) in b.spans.iter_mut() {
            let attrs = s.svc.parts_mut().map(|p| &mut p.attrs).collect();
            self.fold_entity("span", name, "attribute", "", attrs, bound)?;
            let resource = s.svc.parts_mut().map(|p| &mut p.resource).collect();
            self.fold_entity("span", name, "resource", "", resource, bound)?;
            let links = s.svc.parts_mut().map(|p| &mut p.links).collect();
            self.fold_entity("span", name, "link", "", links, bound)?;
            let mut events: Vec<String> = s
                .svc
                .parts_mut()
                .flat_map(|p| p.events.keys().cloned().collect::<Vec<_>>())
                .collect();
            events.sort_unstable();
            events.dedup();
            for ev in events {
                let keys = s
                    .svc
                    .parts_mut()
                    .filter_map(|p| p.events.get_mut(&ev).map(|e| &mut e.keys))
                    .collect();
                self.fold_entity("span", name, "event", &ev, keys, bound)?;
            }
        }
        for (sev, l) in b.logs.iter_mut() {
            let attrs = l.svc.parts_mut().map(|p| &mut p.attrs).collect();
            self.fold_entity("log", sev, "attribute", "", attrs, bound)?;
            let resource = l.svc.parts_mut().map(|p| &mut p.resource).collect();
            self.fold_entity("log", sev, "resource", "", resource, bound)?;
        }
        for (name, e) in b.log_events.iter_mut() {
            self.fold_entity(
                "log_event",
                name,
                "attribute",
                "",
                vec![&mut e.attrs],
                bound,
            )?;
        }
        Ok(())
    }

    /// One key table of an entity, kept per service in `tables`.
    fn fold_entity(
        &mut self,
        kind: &'static str,
        entity: &str,
        scope: &str,
        event: &str,
        mut tables: Vec<&mut Keys>,
        bound: usize,
    ) -> Result<()> {
        // The batch's names, in first-seen order (services in order).
        let mut seen: Set<&str> = Set::new();
        let mut names: Vec<String> = Vec::new();
        for t in &tables {
            for (k, _) in t.iter() {
                if seen.insert(k.as_str()) {
                    names.push(k.clone());
                }
            }
        }
        drop(seen);
        if names.is_empty() {
            return Ok(());
        }
        let (count, has) = self.fold.get(self.db, kind)?;
        bind(count, kind, entity, scope, event)?;
        count.step()?;
        let stored = usize::try_from(count.column_i64(0)).unwrap_or(0);
        count.reset();
        if stored + names.len() <= bound {
            return Ok(());
        }
        let mut room = bound.saturating_sub(stored);
        let mut fold: Set<String> = Set::new();
        for n in names {
            bind(has, kind, entity, scope, event)?;
            has.bind_text(4, &n)?;
            let stored = has.step()?;
            has.reset();
            if stored {
                continue;
            }
            if room > 0 {
                room -= 1;
            } else {
                fold.insert(n);
            }
        }
        if !fold.is_empty() {
            for t in tables.iter_mut() {
                t.fold_out(&fold);
            }
        }
        Ok(())
    }
}
