//! Ground truth: what a correct catalog must contain for the generated data,
//! counted while generating.
//!
//! Entities are span names (traces), metric names (metrics) and severities
//! (logs, by `severityNumber`; the name is the spec's short name such as
//! `INFO`). For each entity: its record count, records per service, and per
//! key scope (`attribute`/`label`, `resource`, `event`, `link`) the keys seen
//! with
//! - `count`: records carrying the key (for `resource`: records whose
//!   resource has it; for `event` and `link`: events / links carrying it),
//! - `types`: the value types seen (`string`, `int`, `double`, `bool`,
//!   `array`, `kvlist`, `bytes`),
//! - `distinct` (only with `--truth`): the exact number of distinct values
//!   (values compared by type and content; arrays element-wise).

use std::hash::{BuildHasher, Hasher};

use ahash::{AHashMap, AHashSet};
use serde_json::{Map, Value as J, json};

use crate::engine::Signal;
use crate::model::SERVICES;
use crate::rec::{Attr, Batch, Val};

/// Key scopes, as indices.
pub const ATTRIBUTE: usize = 0;
/// Metrics call their data point attributes labels; same slot.
pub const LABEL: usize = 0;
pub const RESOURCE: usize = 1;
pub const EVENT: usize = 2;
pub const LINK: usize = 3;

/// Type bits of [`Slot::types`], in output order.
pub const TYPE_NAMES: [&str; 8] = [
    "empty", "string", "bool", "int", "double", "array", "kvlist", "bytes",
];

/// What kind of entity, with its signal-specific facts.
#[derive(Clone, Debug)]
pub enum EntityInfo {
    Span,
    Metric {
        kind: &'static str,
        unit: &'static str,
        description: &'static str,
        /// `Cumulative`, `Delta`, or empty for gauges and summaries.
        temporality: &'static str,
        monotonic: Option<bool>,
    },
    Log {
        severity_number: i32,
    },
}

struct Slot {
    key: &'static str,
    count: u64,
    types: u8,
    values: Option<AHashSet<u64>>,
}

struct Entity {
    name: String,
    info: EntityInfo,
    records: u64,
    per_service: Vec<u64>,
    /// Sub-counts: span kinds, or for logs `text` / `no_text`.
    details: Vec<(&'static str, u64)>,
    scopes: [Vec<Slot>; 4],
    /// Where the next key of each scope is expected (keys mostly come in the
    /// same order for an entity, so lookups are usually one comparison).
    hints: [usize; 4],
}

struct TemplateStat {
    pattern: String,
    severity: &'static str,
    records: u64,
    per_service: Vec<u64>,
}

pub struct Truth {
    signal: Signal,
    distinct: bool,
    entities: Vec<Entity>,
    index: AHashMap<String, usize>,
    per_service: Vec<u64>,
    /// Records per entity since the last [`Truth::flush_resource`].
    pending: Vec<(usize, u64)>,
    templates: Vec<Option<TemplateStat>>,
    body_kinds: [u64; 8],
    hasher: ahash::RandomState,
}

impl Truth {
    pub fn new(signal: Signal, distinct: bool) -> Self {
        Truth {
            signal,
            distinct,
            entities: Vec::new(),
            index: AHashMap::new(),
            per_service: vec![0; SERVICES.len()],
            pending: Vec::new(),
            templates: Vec::new(),
            body_kinds: [0; 8],
            hasher: ahash::RandomState::with_seeds(1, 2, 3, 4),
        }
    }

    /// The entity called `name`, created with `info` on first use.
    #[inline]
    pub fn entity(&mut self, name: &str, info: EntityInfo) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.entities.len();
        self.entities.push(Entity {
            name: name.to_owned(),
            info,
            records: 0,
            per_service: vec![0; SERVICES.len()],
            details: Vec::new(),
            scopes: Default::default(),
            hints: [0; 4],
        });
        self.index.insert(name.to_owned(), i);
        i
    }

    /// Counts one record of entity `e` from service `svc`; `detail` is a
    /// sub-count (span kind, log text presence), empty for none.
    #[inline]
    pub fn record(&mut self, e: usize, svc: usize, detail: &'static str) {
        let ent = &mut self.entities[e];
        ent.records += 1;
        ent.per_service[svc] += 1;
        if !detail.is_empty() {
            match ent.details.iter_mut().find(|(d, _)| *d == detail) {
                Some((_, n)) => *n += 1,
                None => ent.details.push((detail, 1)),
            }
        }
        self.per_service[svc] += 1;
        match self.pending.iter_mut().rev().find(|(p, _)| *p == e) {
            Some((_, n)) => *n += 1,
            None => self.pending.push((e, 1)),
        }
    }

    /// Counts the keys of `attrs` (held by `b`) once for entity `e` in
    /// `scope`.
    #[inline]
    pub fn attrs(&mut self, e: usize, scope: usize, attrs: &[Attr], b: &Batch) {
        self.attrs_n(e, scope, attrs, b, 1);
    }

    fn attrs_n(&mut self, e: usize, scope: usize, attrs: &[Attr], b: &Batch, n: u64) {
        let distinct = self.distinct;
        let ent = &mut self.entities[e];
        let slots = &mut ent.scopes[scope];
        let mut hint = ent.hints[scope];
        for a in attrs {
            let i = if hint < slots.len() && same_key(slots[hint].key, a.key) {
                hint
            } else if let Some(i) = slots.iter().position(|s| same_key(s.key, a.key)) {
                i
            } else {
                slots.push(Slot {
                    key: a.key,
                    count: 0,
                    types: 0,
                    values: distinct.then(AHashSet::new),
                });
                slots.len() - 1
            };
            let slot = &mut slots[i];
            slot.count += n;
            slot.types |= 1 << type_index(Some(&a.val));
            if let Some(values) = &mut slot.values {
                let mut h = self.hasher.build_hasher();
                hash_value(&a.val, b, &mut h);
                values.insert(h.finish());
            }
            hint = i + 1;
        }
        ent.hints[scope] = hint;
    }

    /// Applies a request's resource attributes to the records counted since
    /// the last call.
    pub fn flush_resource(&mut self, attrs: &[Attr], b: &Batch) {
        let pending = std::mem::take(&mut self.pending);
        for &(e, n) in &pending {
            self.attrs_n(e, RESOURCE, attrs, b, n);
        }
        self.pending = pending;
        self.pending.clear();
    }

    /// Counts a string log body made from template `index`.
    pub fn template(&mut self, index: usize, pattern: &str, severity: &'static str, svc: usize) {
        if self.templates.len() <= index {
            self.templates.resize_with(index + 1, || None);
        }
        let t = self.templates[index].get_or_insert_with(|| TemplateStat {
            pattern: pattern.to_owned(),
            severity,
            records: 0,
            per_service: vec![0; SERVICES.len()],
        });
        t.records += 1;
        t.per_service[svc] += 1;
    }

    /// Counts a log body by type.
    pub fn body(&mut self, body: Option<&Val>) {
        self.body_kinds[type_index(body)] += 1;
    }

    pub fn entities(&self) -> usize {
        self.entities.len()
    }

    pub fn services(&self) -> usize {
        self.per_service.iter().filter(|&&n| n > 0).count()
    }

    /// Number of (entity, key) pairs per scope.
    pub fn key_counts(&self) -> [usize; 4] {
        let mut c = [0; 4];
        for e in &self.entities {
            for (s, slots) in e.scopes.iter().enumerate() {
                c[s] += slots.len();
            }
        }
        c
    }

    /// Names of the key scopes of this signal, by index.
    pub fn scope_names(&self) -> &'static [&'static str] {
        match self.signal {
            Signal::Traces => &["attribute", "resource", "event", "link"],
            Signal::Metrics => &["label", "resource"],
            Signal::Logs => &["attribute", "resource"],
        }
    }

    /// The truth as JSON, everything sorted (deterministic output). `header`
    /// fields come first.
    pub fn to_json(&self, header: Map<String, J>) -> J {
        let mut root = header;
        root.insert("services".into(), service_map(&self.per_service));
        let mut order: Vec<usize> = (0..self.entities.len()).collect();
        order.sort_by(|&a, &b| self.entities[a].name.cmp(&self.entities[b].name));
        let scope_names = self.scope_names();
        let entities: Vec<J> = order
            .iter()
            .map(|&i| {
                let e = &self.entities[i];
                let mut o = Map::new();
                o.insert("name".into(), J::from(e.name.clone()));
                match &e.info {
                    EntityInfo::Span => {}
                    EntityInfo::Metric {
                        kind,
                        unit,
                        description,
                        temporality,
                        monotonic,
                    } => {
                        o.insert("type".into(), J::from(*kind));
                        o.insert("unit".into(), J::from(*unit));
                        o.insert("description".into(), J::from(*description));
                        o.insert("temporality".into(), J::from(*temporality));
                        o.insert("monotonic".into(), json!(monotonic));
                    }
                    EntityInfo::Log { severity_number } => {
                        o.insert("severity_number".into(), J::from(*severity_number));
                    }
                }
                o.insert("records".into(), J::from(e.records));
                o.insert("services".into(), service_map(&e.per_service));
                if !e.details.is_empty() {
                    let mut d = e.details.clone();
                    d.sort();
                    let label = match self.signal {
                        Signal::Logs => "severity_text",
                        _ => "kinds",
                    };
                    let m: Map<String, J> = d
                        .into_iter()
                        .map(|(k, n)| (k.to_owned(), J::from(n)))
                        .collect();
                    o.insert(label.into(), J::Object(m));
                }
                let mut keys = Map::new();
                for (s, name) in scope_names.iter().enumerate() {
                    let mut slots: Vec<&Slot> = e.scopes[s].iter().collect();
                    slots.sort_by(|a, b| a.key.cmp(b.key));
                    let m: Map<String, J> = slots
                        .into_iter()
                        .map(|sl| {
                            let mut k = Map::new();
                            k.insert("count".into(), J::from(sl.count));
                            k.insert("types".into(), types_json(sl.types));
                            if let Some(v) = &sl.values {
                                k.insert("distinct".into(), J::from(v.len()));
                            }
                            (sl.key.to_owned(), J::Object(k))
                        })
                        .collect();
                    keys.insert((*name).into(), J::Object(m));
                }
                o.insert("keys".into(), J::Object(keys));
                J::Object(o)
            })
            .collect();
        root.insert("entities".into(), J::Array(entities));
        if self.signal == Signal::Logs {
            let mut kinds = Map::new();
            for (i, &n) in self.body_kinds.iter().enumerate() {
                if n > 0 {
                    kinds.insert(TYPE_NAMES[i].into(), J::from(n));
                }
            }
            root.insert("body_types".into(), J::Object(kinds));
            // Templates with the same pattern (`<*>` for each token holding a
            // variable) are merged.
            let mut merged: std::collections::BTreeMap<(&str, &str), (u64, Vec<u64>)> =
                Default::default();
            for t in self.templates.iter().flatten() {
                let m = merged
                    .entry((t.pattern.as_str(), t.severity))
                    .or_insert_with(|| (0, vec![0; SERVICES.len()]));
                m.0 += t.records;
                for (a, b) in m.1.iter_mut().zip(&t.per_service) {
                    *a += b;
                }
            }
            let list: Vec<J> = merged
                .into_iter()
                .map(|((pattern, severity), (records, per))| {
                    json!({
                        "template": pattern,
                        "severity": severity,
                        "records": records,
                        "services": service_map(&per),
                    })
                })
                .collect();
            root.insert("templates".into(), J::Array(list));
        }
        J::Object(root)
    }
}

fn service_map(per: &[u64]) -> J {
    let mut v: Vec<(&str, u64)> = per
        .iter()
        .enumerate()
        .filter(|&(_, &n)| n > 0)
        .map(|(i, &n)| (SERVICES[i].name, n))
        .collect();
    v.sort();
    J::Object(
        v.into_iter()
            .map(|(k, n)| (k.to_owned(), J::from(n)))
            .collect(),
    )
}

fn types_json(bits: u8) -> J {
    J::Array(
        (0..8)
            .filter(|i| bits & (1 << i) != 0)
            .map(|i| J::from(TYPE_NAMES[i]))
            .collect(),
    )
}

/// Keys are static strings, usually the very same literal.
#[inline]
fn same_key(a: &'static str, b: &'static str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// Index into [`TYPE_NAMES`] (0 for no value).
pub fn type_index(v: Option<&Val>) -> usize {
    match v {
        None => 0,
        Some(Val::Str(..) | Val::Lit(_)) => 1,
        Some(Val::Bool(_)) => 2,
        Some(Val::Int(_)) => 3,
        Some(Val::Double(_)) => 4,
        Some(Val::Array(_)) => 5,
        Some(Val::Kvlist(_)) => 6,
    }
}

/// Hashes a value by type and content (arrays and kvlists element-wise).
fn hash_value(v: &Val, b: &Batch, h: &mut impl Hasher) {
    h.write_u8(type_index(Some(v)) as u8);
    match v {
        Val::Str(..) | Val::Lit(_) => h.write(b.str_of(v).as_bytes()),
        Val::Bool(x) => h.write_u8(*x as u8),
        Val::Int(i) => h.write_i64(*i),
        Val::Double(d) => h.write_u64(d.to_bits()),
        Val::Array(r) => {
            h.write_usize(r.len());
            for x in &b.vals[r.range()] {
                hash_value(x, b, h);
            }
        }
        Val::Kvlist(r) => {
            h.write_usize(r.len());
            for a in b.attrs_of(*r) {
                h.write(a.key.as_bytes());
                hash_value(&a.val, b, h);
            }
        }
    }
    // Separates consecutive strings (`"ab","c"` vs `"a","bc"`).
    h.write_u8(0xff);
}
