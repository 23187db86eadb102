//! Per-service keys (schema version 3): a batch keeps each entity's
//! attribute keys per service that sent them, and the flush derives the
//! entity's own key rows by merging its services' in memory (counts, times,
//! bytes and value types add up; sketches are unions; sample lists merge by
//! the record each value came with, so they stay in arrival order). A
//! record costs what it cost when keys were kept per entity only: the
//! service of a resource block is looked up once per entity and block
//! ([`PerService::select`]), and its records are counted into that
//! service's keys.

use ahash::AHashMap as Map;

use super::EventAgg;
use super::scopes::ScopeCounts;
use crate::ingest::history::Volume;
use crate::ingest::keys::{Budget, Counted, Keys, merge_by_name};

/// Something kept per service of an entity.
pub trait ServicePart: Default {
    /// Adds what a later batch kept for the same service.
    fn merge(&mut self, o: Self);
    /// Key entries held (bounds the batch's memory).
    fn key_entries(&self) -> usize;
}

/// One entity's parts per service, in the order the services first came.
pub struct PerService<T> {
    index: Map<String, u32>,
    list: Vec<(String, T)>,
    /// The service of the resource block being applied.
    cur: usize,
}

impl<T> Default for PerService<T> {
    fn default() -> Self {
        PerService {
            index: Map::new(),
            list: Vec::new(),
            cur: 0,
        }
    }
}

impl<T: ServicePart> PerService<T> {
    /// Makes `service` the current one (once per entity and resource
    /// block, before its first record is counted).
    #[inline]
    pub fn select(&mut self, service: &str) {
        if let Some((name, _)) = self.list.get(self.cur)
            && name == service
        {
            return;
        }
        self.cur = match self.index.get(service) {
            Some(&i) => i as usize,
            None => {
                let i = self.list.len();
                self.index.insert(service.to_string(), i as u32);
                self.list.push((service.to_string(), T::default()));
                i
            }
        };
    }

    /// The current service's part ([`select`](Self::select) first).
    #[inline(always)]
    pub fn cur(&mut self) -> &mut T {
        &mut self.list[self.cur].1
    }

    /// Services and their parts, mutable (renumbering scopes).
    pub fn parts_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.list.iter_mut().map(|(_, t)| t)
    }

    /// Services and their parts, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &T)> {
        self.list.iter().map(|(s, t)| (s, t))
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds a later batch's parts of the same entity.
    pub fn merge(&mut self, o: PerService<T>) {
        for (name, part) in o.list {
            match self.index.get(&name) {
                Some(&i) => self.list[i as usize].1.merge(part),
                None => {
                    self.index.insert(name.clone(), self.list.len() as u32);
                    self.list.push((name, part));
                }
            }
        }
    }

    pub fn key_entries(&self) -> usize {
        self.list.iter().map(|(_, t)| t.key_entries()).sum()
    }
}

/// A metric's keys from one service.
#[derive(Default)]
pub struct MetricSvc {
    /// Its records per time bucket (`history.rs`).
    pub volume: Volume,
    /// Data point attributes (scope `label`).
    pub labels: Keys,
    /// Resource attributes (scope `resource`).
    pub resource: Keys,
    /// Data points per instrumentation scope.
    pub scopes: ScopeCounts,
}

impl ServicePart for MetricSvc {
    fn merge(&mut self, o: Self) {
        self.volume.merge(&o.volume);
        self.labels.merge(o.labels);
        self.resource.merge(o.resource);
        self.scopes.merge(o.scopes);
    }
    fn key_entries(&self) -> usize {
        self.labels.len() + self.resource.len()
    }
}

/// A span name's keys, events and links from one service.
#[derive(Default)]
pub struct SpanSvc {
    /// Its records per time bucket (`history.rs`).
    pub volume: Volume,
    pub attrs: Keys,
    pub resource: Keys,
    pub links: Keys,
    /// Links of the service's spans (denominator of its link scope).
    pub links_total: u64,
    /// Per event name: its events (denominator of the event scope) and keys.
    pub events: Map<String, EventAgg>,
    /// Spans per instrumentation scope.
    pub scopes: ScopeCounts,
}

impl ServicePart for SpanSvc {
    fn merge(&mut self, o: Self) {
        self.volume.merge(&o.volume);
        self.attrs.merge(o.attrs);
        self.resource.merge(o.resource);
        self.links.merge(o.links);
        self.links_total += o.links_total;
        self.scopes.merge(o.scopes);
        merge_by_name(&mut self.events, o.events, |x, a| {
            x.total.merge(&a.total);
            x.keys.merge(a.keys);
        });
    }
    fn key_entries(&self) -> usize {
        self.attrs.len()
            + self.resource.len()
            + self.links.len()
            + self.events.values().map(|e| e.keys.len()).sum::<usize>()
    }
}

/// A severity's keys from one service.
#[derive(Default)]
pub struct LogSvc {
    /// Its records per time bucket (`history.rs`).
    pub volume: Volume,
    pub attrs: Keys,
    pub resource: Keys,
    /// Records per instrumentation scope.
    pub scopes: ScopeCounts,
}

impl ServicePart for LogSvc {
    fn merge(&mut self, o: Self) {
        self.volume.merge(&o.volume);
        self.attrs.merge(o.attrs);
        self.resource.merge(o.resource);
        self.scopes.merge(o.scopes);
    }
    fn key_entries(&self) -> usize {
        self.attrs.len() + self.resource.len()
    }
}

/// An entity's keys of one scope: its only service's, or the union of its
/// services' (made at the flush).
pub enum EntityKeys<'a> {
    One(&'a Keys),
    Union(Keys),
}

impl EntityKeys<'_> {
    pub fn get(&self) -> &Keys {
        match self {
            EntityKeys::One(k) => k,
            EntityKeys::Union(k) => k,
        }
    }
}

/// The entity's keys of one scope (`pick`) over all its services: what
/// counting every record into one table gives (sample lists merge by the
/// records their values came with).
pub fn entity_keys<'a, T: ServicePart>(
    svcs: &'a PerService<T>,
    pick: impl Fn(&'a T) -> &'a Keys,
) -> EntityKeys<'a> {
    // (A table whose names all folded into patterns still counts.)
    let mut parts = svcs
        .iter()
        .map(|(_, t)| pick(t))
        .filter(|k| !k.is_empty() || k.has_patterns());
    let (Some(first), second) = (parts.next(), parts.next()) else {
        return EntityKeys::Union(Keys::default());
    };
    let Some(second) = second else {
        return EntityKeys::One(first);
    };
    let mut u = Keys::default();
    for k in [first, second].into_iter().chain(parts) {
        union_into(&mut u, k);
    }
    EntityKeys::Union(u)
}

/// Adds `from`'s keys and key-name patterns to `into` (copies). The union
/// folds nothing more: a name has an entry in the union if a service gave
/// it one.
pub fn union_into(into: &mut Keys, from: &Keys) {
    let mut budget = Budget::unbounded();
    for (k, a) in from.iter() {
        into.entry(usize::MAX, k, a.seen.first, &mut budget)
            .merge(a);
    }
    if from.has_patterns() {
        into.merge_patterns(from.patterns().map(|(p, s)| (p.clone(), s.copy())));
    }
}

/// The entity's events over all its services, in name order: per event
/// name, its events and keys.
pub fn entity_events(svcs: &PerService<SpanSvc>) -> Vec<(&str, Counted, EntityKeys<'_>)> {
    let mut v: Vec<(&str, Counted, EntityKeys<'_>)> = if svcs.len() == 1 {
        svcs.iter()
            .flat_map(|(_, s)| s.events.iter())
            .map(|(ev, e)| (ev.as_str(), e.total.clone(), EntityKeys::One(&e.keys)))
            .collect()
    } else {
        let mut out: Map<&str, (Counted, Keys)> = Map::new();
        for (_, s) in svcs.iter() {
            for (ev, e) in &s.events {
                let x = out.entry(ev.as_str()).or_insert_with(|| {
                    let none = Counted {
                        count: 0,
                        bytes: 0,
                        seen: e.total.seen,
                    };
                    (none, Keys::default())
                });
                x.0.merge(&e.total);
                union_into(&mut x.1, &e.keys);
            }
        }
        out.into_iter()
            .map(|(ev, (c, k))| (ev, c, EntityKeys::Union(k)))
            .collect()
    };
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}
