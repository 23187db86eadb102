//! In-process aggregation of decoded OTLP events into one batch: per
//! entity (metric, span name, log severity) its counts, services, and per
//! attribute key a count, the first distinct values and an HLL sketch.
//! Memory grows with distinct entities and keys, not with records.

use std::borrow::Cow;

use ahash::{AHashMap as Map, AHashSet as Set};

use crate::hll;
use crate::otlp::{AnyValue, Attr, Event, MetricKind, SpanKind};

/// How many distinct values a key keeps as samples.
pub const SAMPLES: usize = 10;

/// First and last time seen, unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub first: i64,
    pub last: i64,
}

impl Seen {
    pub fn at(t: i64) -> Seen {
        Seen { first: t, last: t }
    }
    /// Nothing seen yet (a metric without data points so far).
    pub fn none() -> Seen {
        Seen {
            first: i64::MAX,
            last: i64::MIN,
        }
    }
    pub fn is_none(&self) -> bool {
        self.first > self.last
    }
    #[inline]
    pub fn add(&mut self, t: i64) {
        self.first = self.first.min(t);
        self.last = self.last.max(t);
    }
    pub fn merge(&mut self, o: &Seen) {
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }
}

/// A count with its time range.
#[derive(Clone, Debug)]
pub struct Counted {
    pub count: u64,
    pub seen: Seen,
}

impl Counted {
    fn new(t: i64) -> Counted {
        Counted {
            count: 0,
            seen: Seen::at(t),
        }
    }
    #[inline]
    fn add(&mut self, n: u64, t: i64) {
        self.count += n;
        self.seen.add(t);
    }
    fn merge(&mut self, o: &Counted) {
        self.count += o.count;
        self.seen.merge(&o.seen);
    }
}

/// The records of one entity in the resource block being applied, added
/// to the entity's service count and resource keys once, when the block
/// ends (instead of a map lookup per record).
#[derive(Clone, Debug)]
struct BlockCount {
    /// The block (numbered from 1 by `Batch::blocks`); 0 when none.
    block: u64,
    counted: Counted,
}

impl Default for BlockCount {
    fn default() -> Self {
        BlockCount {
            block: 0,
            counted: Counted {
                count: 0,
                seen: Seen::none(),
            },
        }
    }
}

impl BlockCount {
    /// Counts a record at `t` of block `block`; true for the entity's
    /// first record of the block.
    #[inline]
    fn add(&mut self, block: u64, t: i64) -> bool {
        let first = self.block != block;
        if first {
            *self = BlockCount {
                block,
                ..BlockCount::default()
            };
        }
        self.counted.add(1, t);
        first
    }
    /// The block's records, once; nothing is pending afterwards.
    fn take(&mut self) -> Counted {
        std::mem::take(self).counted
    }
}

/// What a batch knows of one attribute key of one entity.
pub struct KeyAgg {
    /// The last record counted (a key repeated on one record counts once).
    rec: u64,
    pub count: u64,
    /// First distinct values (text form), in arrival order.
    pub samples: SampleList,
    pub sketch: hll::Builder,
    pub seen: Seen,
}

impl KeyAgg {
    fn new(t: i64) -> KeyAgg {
        KeyAgg {
            rec: u64::MAX,
            count: 0,
            samples: SampleList::default(),
            sketch: hll::Builder::new(),
            seen: Seen::at(t),
        }
    }
    #[inline]
    fn add(&mut self, rec: u64, n: u64, value: &str, t: i64) {
        if self.rec == rec {
            return; // the same key again on the same record
        }
        self.rec = rec;
        self.count += n;
        self.seen.add(t);
        // A recent value of this key (most values of keys of low
        // cardinality) is in the sketch and was offered to the samples.
        if self.sketch.add(value.as_bytes()) && !self.samples.is_full() {
            self.samples.offer(value);
        }
    }
    fn merge(&mut self, o: &KeyAgg) {
        self.count += o.count;
        self.seen.merge(&o.seen);
        self.sketch.merge(&o.sketch);
        self.samples.merge(&o.samples);
    }
    /// Samples as the catalog stores them: a JSON array of strings.
    pub fn samples_json(&self) -> String {
        self.samples.to_json()
    }
}

/// Up to [`SAMPLES`] distinct values in arrival order, kept as the JSON
/// text the catalog stores (strings as serde_json writes them): one
/// allocation a key, copied out once at the flush.
#[derive(Default)]
pub struct SampleList {
    /// `[` then the elements, comma-separated (no closing bracket).
    json: String,
    /// Where each element starts in `json`.
    starts: [u32; SAMPLES],
    len: u8,
    /// Bit i: element i holds escapes (its text is not `"` + value + `"`).
    escaped: u16,
}

/// Whether a string needs escapes in JSON (a fold, so that it vectorises).
fn needs_escapes(v: &str) -> bool {
    v.bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'))
}

impl SampleList {
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn is_full(&self) -> bool {
        self.len() >= SAMPLES
    }
    /// Element `i`, as JSON text.
    fn element(&self, i: usize) -> &str {
        let end = if i + 1 < self.len() {
            self.starts[i + 1] as usize - 1
        } else {
            self.json.len()
        };
        &self.json[self.starts[i] as usize..end]
    }
    /// Adds a value unless it is there already or the list is full.
    pub fn offer(&mut self, v: &str) {
        if self.is_full() {
            return;
        }
        if needs_escapes(v) {
            let quoted = serde_json::to_string(v).expect("strings serialize");
            return self.offer_json(&quoted, true);
        }
        let plain = |i: usize| self.escaped & (1 << i) == 0;
        let same = |i: usize| self.element(i).get(1..).and_then(|e| e.strip_suffix('"')) == Some(v);
        if (0..self.len()).any(|i| plain(i) && same(i)) {
            return;
        }
        self.open_element(false);
        self.json.push('"');
        self.json.push_str(v);
        self.json.push('"');
    }
    /// Adds an element given as JSON text unless it is there already.
    fn offer_json(&mut self, el: &str, escaped: bool) {
        if self.is_full() || (0..self.len()).any(|i| self.element(i) == el) {
            return;
        }
        self.open_element(escaped);
        self.json.push_str(el);
    }
    /// Starts element `len` (its text follows).
    fn open_element(&mut self, escaped: bool) {
        self.json.push(if self.json.is_empty() { '[' } else { ',' });
        self.starts[self.len()] = self.json.len() as u32;
        self.escaped |= (escaped as u16) << self.len;
        self.len += 1;
    }
    /// Adds another list's elements (same escaping: equal texts are equal values).
    pub fn merge(&mut self, o: &SampleList) {
        for i in 0..o.len() {
            self.offer_json(o.element(i), o.escaped & (1 << i) != 0);
        }
    }
    /// The JSON array.
    pub fn to_json(&self) -> String {
        if self.json.is_empty() {
            return "[]".into();
        }
        let mut out = String::with_capacity(self.json.len() + 1);
        out.push_str(&self.json);
        out.push(']');
        out
    }
}

/// The attribute keys of one entity and scope. Records of one entity tend
/// to carry the same keys in the same order: the positions of the previous
/// record's keys (`shape`) are tried first, before a hash lookup.
#[derive(Default)]
pub struct Keys {
    index: Map<String, u32>,
    list: Vec<(String, KeyAgg)>,
    shape: Vec<u32>,
}

impl Keys {
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// Keys in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &KeyAgg)> {
        self.list.iter().map(|(k, a)| (k, a))
    }
    pub fn get(&self, key: &str) -> Option<&KeyAgg> {
        self.index.get(key).map(|&i| &self.list[i as usize].1)
    }
    /// The entry of `key`, the `pos`-th attribute of its record; created
    /// (first seen at `t`) when new.
    #[inline(always)]
    fn entry(&mut self, pos: usize, key: &str, t: i64, entries: &mut usize) -> &mut KeyAgg {
        if let Some(&i) = self.shape.get(pos)
            && same(self.list[i as usize].0.as_bytes(), key.as_bytes())
        {
            return &mut self.list[i as usize].1;
        }
        self.lookup(pos, key, t, entries)
    }

    /// [`entry`](Self::entry) when the key is not where the previous
    /// record had it.
    #[inline(never)]
    fn lookup(&mut self, pos: usize, key: &str, t: i64, entries: &mut usize) -> &mut KeyAgg {
        let key = placed(key);
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                let i = self.list.len() as u32;
                self.list.push((owned(key), KeyAgg::new(t)));
                self.index.insert(owned(key), i);
                *entries += 1;
                i
            }
        };
        if pos < self.shape.len() {
            self.shape[pos] = i;
        } else if pos == self.shape.len() {
            self.shape.push(i);
        }
        &mut self.list[i as usize].1
    }
}

/// `a == b`, inlined for the short strings of attribute keys (up to 32
/// bytes in a few word loads instead of a call to `memcmp`).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    match n {
        // No call to memcmp for empty keys (see `placed`).
        0 => true,
        8..=16 => w(a, 0) == w(b, 0) && w(a, n - 8) == w(b, n - 8),
        17..=32 => {
            w(a, 0) == w(b, 0)
                && w(a, 8) == w(b, 8)
                && w(a, n - 16) == w(b, n - 16)
                && w(a, n - 8) == w(b, n - 8)
        }
        _ => a == b,
    }
}

fn merge_keys(into: &mut Keys, from: Keys) {
    for (k, v) in from.list {
        match into.index.get(&k) {
            Some(&i) => into.list[i as usize].1.merge(&v),
            None => {
                into.index.insert(k.clone(), into.list.len() as u32);
                into.list.push((k, v));
            }
        }
    }
}

fn merge_counted(into: &mut Map<String, Counted>, from: Map<String, Counted>) {
    for (k, v) in from {
        match into.get_mut(&k) {
            Some(e) => e.merge(&v),
            None => {
                into.insert(k, v);
            }
        }
    }
}

pub struct MetricAgg {
    /// Records of the resource block being applied.
    in_block: BlockCount,
    pub kind: MetricKind,
    pub unit: String,
    pub description: String,
    pub total: Counted,
    pub services: Map<String, Counted>,
    /// Data point attributes (scope `label`).
    pub labels: Keys,
    /// Resource attributes (scope `resource`).
    pub resource: Keys,
    /// Distinct series: sorted resource + point attribute sets.
    pub series: hll::Builder,
}

pub struct EventAgg {
    pub total: Counted,
    pub keys: Keys,
}

pub struct SpanAgg {
    /// Records of the resource block being applied.
    in_block: BlockCount,
    pub kind: SpanKind,
    pub total: Counted,
    pub events_total: u64,
    pub links_total: u64,
    pub services: Map<String, Counted>,
    pub attrs: Keys,
    pub resource: Keys,
    pub links: Keys,
    pub events: Map<String, EventAgg>,
}

pub struct LogAgg {
    /// Records of the resource block being applied.
    in_block: BlockCount,
    pub total: Counted,
    pub services: Map<String, Counted>,
    pub attrs: Keys,
    pub resource: Keys,
}

/// Lines of one template cluster in this batch, and the attribute keys
/// those lines' records carried.
pub struct TemplateAgg {
    pub lines: Counted,
    pub keys: KeyCounts,
}

impl TemplateAgg {
    fn new(t: i64) -> TemplateAgg {
        TemplateAgg {
            lines: Counted::new(t),
            keys: KeyCounts::default(),
        }
    }
    fn merge(&mut self, o: TemplateAgg) {
        self.lines.merge(&o.lines);
        self.keys.merge(o.keys);
    }
}

/// Record counts per attribute key (the keys of a log template's records),
/// looked up like [`Keys`]: by the key's position in the previous record
/// first, by name when it moved. A key repeated on one record counts once.
#[derive(Default)]
pub struct KeyCounts {
    index: Map<String, u32>,
    /// (key, records, the last record counted).
    list: Vec<(String, Counted, u64)>,
    shape: Vec<u32>,
}

impl KeyCounts {
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// Keys in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Counted)> {
        self.list.iter().map(|(k, c, _)| (k, c))
    }
    /// Counts `key`, the `pos`-th attribute of record `rec` seen at `t`.
    #[inline]
    fn add(&mut self, pos: usize, key: &str, rec: u64, t: i64, entries: &mut usize) {
        let i = match self.shape.get(pos) {
            Some(&i) if same(self.list[i as usize].0.as_bytes(), key.as_bytes()) => i,
            _ => self.lookup(pos, key, t, entries),
        };
        let e = &mut self.list[i as usize];
        if e.2 != rec {
            e.2 = rec;
            e.1.add(1, t);
        }
    }
    #[inline(never)]
    fn lookup(&mut self, pos: usize, key: &str, t: i64, entries: &mut usize) -> u32 {
        let key = placed(key);
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                let i = self.list.len() as u32;
                self.list.push((owned(key), Counted::new(t), 0));
                self.index.insert(owned(key), i);
                *entries += 1;
                i
            }
        };
        if pos < self.shape.len() {
            self.shape[pos] = i;
        } else if pos == self.shape.len() {
            self.shape.push(i);
        }
        i
    }
    /// Adds `o`'s counts. Merges happen between records, never inside
    /// one, so the record marks start over (0 is no record's number).
    fn merge(&mut self, o: KeyCounts) {
        if self.list.is_empty() {
            *self = o;
            for e in &mut self.list {
                e.2 = 0;
            }
            return;
        }
        for (k, c, _) in o.list {
            match self.index.get(k.as_str()) {
                Some(&i) => self.list[i as usize].1.merge(&c),
                None => {
                    self.index.insert(k.clone(), self.list.len() as u32);
                    self.list.push((k, c, 0));
                }
            }
        }
    }
}

/// Log templates of one (severity, service).
#[derive(Default)]
pub struct TemplateGroup {
    pub clusters: Map<u64, TemplateAgg>,
    /// Clusters merged away into another: (from, into), in order.
    pub folds: Vec<(u64, u64)>,
}

impl TemplateGroup {
    /// Counts a line trained into `cluster` at `t`, after the clusters
    /// the model merged into it (`merged`); returns the cluster's entry.
    fn add(&mut self, cluster: u64, merged: Vec<u64>, t: i64) -> &mut TemplateAgg {
        for m in merged {
            if let Some(x) = self.clusters.remove(&m) {
                match self.clusters.get_mut(&cluster) {
                    Some(c) => c.merge(x),
                    None => {
                        self.clusters.insert(cluster, x);
                    }
                }
            }
            self.folds.push((m, cluster));
        }
        let c = self
            .clusters
            .entry(cluster)
            .or_insert_with(|| TemplateAgg::new(t));
        c.lines.add(1, t);
        c
    }

    /// Adds what a later group learned: its folds apply to what this one
    /// holds too, then its clusters join. The same as adding its lines
    /// here one by one (counts add up, times take the min and max).
    pub fn merge(&mut self, g: TemplateGroup) {
        for &(from, to) in &g.folds {
            if let Some(t) = self.clusters.remove(&from) {
                match self.clusters.get_mut(&to) {
                    Some(x) => x.merge(t),
                    None => {
                        self.clusters.insert(to, t);
                    }
                }
            }
        }
        self.folds.extend(g.folds);
        for (id, t) in g.clusters {
            match self.clusters.get_mut(&id) {
                Some(x) => x.merge(t),
                None => {
                    self.clusters.insert(id, t);
                }
            }
        }
    }
}

/// Spans of one span-name pattern in this batch.
pub struct PatternAgg {
    pub spans: Counted,
    /// The distinct span names of the pattern.
    pub names: hll::Builder,
}

/// Span-name patterns of one service.
#[derive(Default)]
pub struct PatternGroup {
    pub clusters: Map<u64, PatternAgg>,
    /// Patterns merged away into another: (from, into), in order.
    pub folds: Vec<(u64, u64)>,
}

impl PatternGroup {
    /// Adds the spans of one name that the model put in `cluster`.
    pub fn add(&mut self, cluster: u64, merged: &[u64], name: &str, c: &Counted) {
        for &m in merged {
            if let Some(p) = self.clusters.remove(&m) {
                match self.clusters.get_mut(&cluster) {
                    Some(x) => {
                        x.spans.merge(&p.spans);
                        x.names.merge(&p.names);
                    }
                    None => {
                        self.clusters.insert(cluster, p);
                    }
                }
            }
            self.folds.push((m, cluster));
        }
        let p = self.clusters.entry(cluster).or_insert_with(|| PatternAgg {
            spans: Counted {
                count: 0,
                seen: Seen::none(),
            },
            names: hll::Builder::new(),
        });
        p.spans.count += c.count;
        p.spans.seen.merge(&c.seen);
        p.names.add(name.as_bytes());
    }
}

/// Everything one batch learned.
#[derive(Default)]
pub struct Batch {
    pub metrics: Map<String, MetricAgg>,
    pub spans: Map<String, SpanAgg>,
    pub logs: Map<String, LogAgg>,
    /// Key: (severity, service).
    pub templates: Map<(String, String), TemplateGroup>,
    /// Number of key entries (bounds memory).
    pub key_entries: usize,
    pub records: u64,
    /// Resource blocks applied (numbers them for `BlockCount`).
    pub blocks: u64,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
            && self.spans.is_empty()
            && self.logs.is_empty()
            && self.templates.is_empty()
    }

    /// Adds a later batch to this one.
    pub fn merge(&mut self, o: Batch) {
        self.records += o.records;
        self.blocks += o.blocks;
        for (name, m) in o.metrics {
            match self.metrics.get_mut(&name) {
                None => {
                    self.metrics.insert(name, m);
                }
                Some(e) => {
                    e.kind = m.kind;
                    if !m.unit.is_empty() {
                        e.unit = m.unit;
                    }
                    if !m.description.is_empty() {
                        e.description = m.description;
                    }
                    e.total.merge(&m.total);
                    merge_counted(&mut e.services, m.services);
                    merge_keys(&mut e.labels, m.labels);
                    merge_keys(&mut e.resource, m.resource);
                    e.series.merge(&m.series);
                }
            }
        }
        for (name, s) in o.spans {
            match self.spans.get_mut(&name) {
                None => {
                    self.spans.insert(name, s);
                }
                Some(e) => {
                    e.kind = s.kind;
                    e.total.merge(&s.total);
                    e.events_total += s.events_total;
                    e.links_total += s.links_total;
                    merge_counted(&mut e.services, s.services);
                    merge_keys(&mut e.attrs, s.attrs);
                    merge_keys(&mut e.resource, s.resource);
                    merge_keys(&mut e.links, s.links);
                    for (ev, a) in s.events {
                        match e.events.get_mut(&ev) {
                            None => {
                                e.events.insert(ev, a);
                            }
                            Some(x) => {
                                x.total.merge(&a.total);
                                merge_keys(&mut x.keys, a.keys);
                            }
                        }
                    }
                }
            }
        }
        for (sev, l) in o.logs {
            match self.logs.get_mut(&sev) {
                None => {
                    self.logs.insert(sev, l);
                }
                Some(e) => {
                    e.total.merge(&l.total);
                    merge_counted(&mut e.services, l.services);
                    merge_keys(&mut e.attrs, l.attrs);
                    merge_keys(&mut e.resource, l.resource);
                }
            }
        }
        for (k, g) in o.templates {
            self.templates.entry(k).or_default().merge(g);
        }
        self.key_entries = self.count_keys();
    }

    fn count_keys(&self) -> usize {
        self.metrics
            .values()
            .map(|m| m.labels.len() + m.resource.len())
            .sum::<usize>()
            + self
                .spans
                .values()
                .map(|s| {
                    s.attrs.len()
                        + s.resource.len()
                        + s.links.len()
                        + s.events.values().map(|e| e.keys.len()).sum::<usize>()
                })
                .sum::<usize>()
            + self
                .logs
                .values()
                .map(|l| l.attrs.len() + l.resource.len())
                .sum::<usize>()
            + self
                .templates
                .values()
                .flat_map(|g| g.clusters.values())
                .map(|c| c.keys.len())
                .sum::<usize>()
    }
}

// ---------------------------------------------------------------------------
// Applying a decoded payload

/// Text of an attribute value: borrowed for strings, rendered into `buf`
/// otherwise (the rule of `text.rs` / docs/FORMAT.md).
#[inline]
pub fn value_text<'v>(v: &'v AnyValue<'_>, buf: &'v mut String) -> &'v str {
    match v {
        AnyValue::Str(s) => s,
        other => {
            buf.clear();
            other.render(buf);
            buf
        }
    }
}

/// Nanoseconds since the epoch to seconds; `now` when absent (0).
#[inline]
pub fn secs(nanos: u64, now: i64) -> i64 {
    if nanos == 0 {
        now
    } else {
        (nanos / 1_000_000_000) as i64
    }
}

/// What applying records to key tables needs along the way: the record
/// counter (a key counts once per record), the number of key entries, and a
/// buffer for the text of non-string values.
struct Recorder {
    rec: u64,
    entries: usize,
    buf: String,
}

impl Recorder {
    /// Counts one record at `t` whose attribute events lead `events` (as
    /// long as `pick` takes them) and adds them to `keys`; returns how many
    /// events they were.
    #[inline]
    fn record<'e, 'a>(
        &mut self,
        keys: &mut Keys,
        events: &'e [Event<'a>],
        pick: fn(&'e Event<'a>) -> Option<&'e Attr<'a>>,
        t: i64,
    ) -> usize {
        self.rec += 1;
        let mut n = 0;
        for (pos, a) in events.iter().map_while(pick).enumerate() {
            let v = value_text(&a.value, &mut self.buf);
            keys.entry(pos, &a.key, t, &mut self.entries)
                .add(self.rec, 1, v, t);
            n = pos + 1;
        }
        n
    }

    /// Adds a resource block's attributes to an entity's resource keys,
    /// once for all `c.count` records of the block.
    fn resource(&mut self, keys: &mut Keys, resource: &[&Attr<'_>], c: &Counted) {
        self.rec += 1;
        for (pos, a) in resource.iter().enumerate() {
            let v = value_text(&a.value, &mut self.buf);
            let k = keys.entry(pos, &a.key, c.seen.first, &mut self.entries);
            k.add(self.rec, c.count, v, c.seen.first);
            k.seen.add(c.seen.last);
        }
    }
}

/// Pickers of the attribute events of each kind of record.
macro_rules! attr_picker {
    ($($name:ident => $variant:ident),* $(,)?) => {$(
        fn $name<'e, 'a>(e: &'e Event<'a>) -> Option<&'e Attr<'a>> {
            match e {
                Event::$variant(a) => Some(a),
                _ => None,
            }
        }
    )*};
}
attr_picker!(dp_attr => DataPointAttr, span_attr => SpanAttr, event_attr => SpanEventAttr,
             link_attr => SpanLinkAttr, log_attr => LogAttr);

/// The entry of `key`, made by `make` when new (the key is copied only then).
#[inline]
fn entry<'m, V>(map: &'m mut Map<String, V>, key: &str, make: impl FnOnce() -> V) -> &'m mut V {
    let key = placed(key);
    if !map.contains_key(key) {
        map.insert(owned(key), make());
    }
    map.get_mut(key).expect("inserted")
}

/// An empty string at a real address, to look up and compare empty keys
/// with. An empty `&str` or `String` usually points nowhere (address 1),
/// and `==` calls `memcmp` even for 0 bytes: glibc's AVX-512 `memcmp`
/// then makes a masked load at that address, which faults and is
/// suppressed in microcode, about 400 ns a comparison on the benchmark
/// machine (`bench/bench_hostile.py`: 8 million spans without a name took
/// 3.9 s, nearly all in `memcmp`).
#[inline(always)]
fn placed(key: &str) -> &str {
    static SOMEWHERE: &str = " ";
    if key.is_empty() { &SOMEWHERE[..0] } else { key }
}

/// `key` owned, at a real address when empty (see [`placed`]).
fn owned(key: &str) -> String {
    if key.is_empty() {
        String::with_capacity(1)
    } else {
        key.to_string()
    }
}

fn counted<'m>(map: &'m mut Map<String, Counted>, key: &str, t: i64) -> &'m mut Counted {
    entry(map, key, || Counted::new(t))
}

/// The service of a resource block.
fn service_of<'e>(resource: &[&'e Attr<'e>]) -> &'e str {
    crate::otlp::service_name(resource.iter().copied())
}

/// The entities with records in the resource block being applied, and the
/// log templates its records trained.
#[derive(Default)]
struct Block<'e> {
    spans: Vec<Cow<'e, str>>,
    metrics: Vec<Cow<'e, str>>,
    logs: Vec<Cow<'e, str>>,
    /// Per severity, the templates of the block's log records: the block's
    /// service is the other half of their key. Added to the batch's groups
    /// when the block ends, so that a record costs no copy or hash of the
    /// service name, however long it is.
    templates: Map<String, TemplateGroup>,
}

/// The series identities of data points (what `series_sketch` counts): the
/// (key, text) pairs of the resource's and the point's attributes, sorted
/// by key then text, each written `key 0x1f text 0x1e`.
///
/// The resource's pairs are rendered, sorted and written once per resource
/// block; each point's pairs are then merged into them, which writes the
/// bytes a sort of all the pairs writes (equal pairs are equal bytes). When
/// the resource's part is long, a point whose attributes repeat those of an
/// earlier point of the same metric in the block is skipped: its identity
/// is in the sketch already, and adding it again would change nothing.
#[derive(Default)]
struct Series<'e> {
    /// Whether `res` holds the block's resource.
    ready: bool,
    /// The resource's part: its sorted pairs, written one after the other.
    res: String,
    /// Each pair of `res`: where it starts, where its key ends (its text
    /// starts after the 0x1f there) and where its text ends (at its 0x1e).
    res_pairs: Vec<(usize, usize, usize)>,
    /// Scratch: the pairs being sorted, (key, range of the text in `texts`).
    pairs: Vec<(&'e str, usize, usize)>,
    texts: String,
    /// Points already counted in this block (long resources only): the
    /// metric's number (see `number`), then the point's pairs, each part
    /// length-prefixed.
    seen: Set<Vec<u8>>,
    key: Vec<u8>,
    /// Numbers given to the block's metrics so far.
    numbered: u32,
}

/// A resource part from this many bytes on makes points check whether they
/// repeat an earlier point's attributes (below it, the check costs about
/// what it saves).
const SERIES_SEEN_FROM: usize = 4096;

impl<'e> Series<'e> {
    /// A new resource block.
    fn reset(&mut self) {
        self.ready = false;
        if !self.seen.is_empty() {
            // A new table rather than clearing one that a large block grew
            // (clearing costs its capacity, block after block).
            self.seen = Set::default();
        }
        self.numbered = 0;
    }

    /// Renders `attrs` into `texts` and sorts them, as pairs, into `pairs`.
    fn sort<'a: 'e>(&mut self, attrs: impl Iterator<Item = &'e Attr<'a>>) {
        self.pairs.clear();
        self.texts.clear();
        for a in attrs {
            let from = self.texts.len();
            a.value.render(&mut self.texts);
            self.pairs.push((a.key.as_ref(), from, self.texts.len()));
        }
        let texts = &self.texts;
        self.pairs
            .sort_by(|x, y| (x.0, &texts[x.1..x.2]).cmp(&(y.0, &texts[y.1..y.2])));
    }

    /// Writes the resource's part.
    fn prepare<'a: 'e>(&mut self, resource: &[&'e Attr<'a>]) {
        self.sort(resource.iter().copied());
        self.res.clear();
        self.res_pairs.clear();
        for &(k, from, to) in &self.pairs {
            let start = self.res.len();
            self.res.push_str(k);
            let key_end = self.res.len();
            self.res.push('\u{1f}');
            self.res.push_str(&self.texts[from..to]);
            self.res_pairs.push((start, key_end, self.res.len()));
            self.res.push('\u{1e}');
        }
        self.ready = true;
    }

    /// Where resource pair `i` starts (the end of `res` past the last).
    fn res_start(&self, i: usize) -> usize {
        self.res_pairs.get(i).map_or(self.res.len(), |p| p.0)
    }

    /// Writes into `buf` the series identity of a data point under
    /// `resource` whose attributes are `attrs`, and returns true; false
    /// (and nothing written) when an earlier point of its metric in the
    /// block had the same attributes. The metric is numbered `*number` in
    /// the block (numbered here when `None`).
    fn identity<'a: 'e>(
        &mut self,
        number: &mut Option<u32>,
        resource: &[&'e Attr<'a>],
        attrs: impl Iterator<Item = &'e Attr<'a>>,
        buf: &mut String,
    ) -> bool {
        if !self.ready {
            self.prepare(resource);
        }
        self.sort(attrs);
        if self.res.len() >= SERIES_SEEN_FROM {
            let n = *number.get_or_insert_with(|| {
                self.numbered += 1;
                self.numbered
            });
            self.key.clear();
            self.key.extend_from_slice(&n.to_le_bytes());
            for &(k, from, to) in &self.pairs {
                for part in [k, &self.texts[from..to]] {
                    self.key
                        .extend_from_slice(&(part.len() as u64).to_le_bytes());
                    self.key.extend_from_slice(part.as_bytes());
                }
            }
            if self.seen.contains(self.key.as_slice()) {
                return false;
            }
            self.seen.insert(self.key.clone());
        }
        buf.clear();
        let mut at = 0;
        for &(k, from, to) in &self.pairs {
            let v = &self.texts[from..to];
            // The resource pairs up to this one, in one copy.
            let res = &self.res;
            let upto = at
                + self.res_pairs[at..].partition_point(|&(start, key_end, text_end)| {
                    (&res[start..key_end], &res[key_end + 1..text_end]) <= (k, v)
                });
            buf.push_str(&res[self.res_start(at)..self.res_start(upto)]);
            buf.push_str(k);
            buf.push('\u{1f}');
            buf.push_str(v);
            buf.push('\u{1e}');
            at = upto;
        }
        buf.push_str(&self.res[self.res_start(at)..]);
        true
    }
}

/// Trains a log body into its template model; returns the cluster id and
/// the clusters merged into it.
pub trait Templater {
    fn train(
        &mut self,
        severity: &str,
        service: &str,
        body: &str,
    ) -> Result<(u64, Vec<u64>), String>;
}

/// Applies one decoded payload to the batch. `now` (unix seconds) stands in
/// for absent timestamps.
pub fn apply<'e>(
    batch: &mut Batch,
    events: &'e [Event<'_>],
    now: i64,
    templater: &mut dyn Templater,
) -> Result<(), String> {
    let mut series = Series::default();
    // Record ids for the once-per-record rule of keys, key entries, text.
    let mut r = Recorder {
        rec: batch.records,
        entries: batch.key_entries,
        buf: String::new(),
    };
    let mut resource: Vec<&'e Attr<'_>> = Vec::new();
    let mut service: &str = "unknown_service";
    // Per resource block: the entities it has records of (their counts are
    // in their `in_block`), applied to services and resource keys at its end.
    let mut block = Block::default();
    batch.blocks += 1;
    let mut block_id = batch.blocks;

    let flush_block = |batch: &mut Batch,
                       resource: &[&Attr<'_>],
                       service: &str,
                       block: &mut Block<'_>,
                       r: &mut Recorder| {
        for name in block.spans.drain(..) {
            if let Some(s) = batch.spans.get_mut(name.as_ref()) {
                let c = s.in_block.take();
                counted(&mut s.services, service, c.seen.first).merge(&c);
                r.resource(&mut s.resource, resource, &c);
            }
        }
        for name in block.metrics.drain(..) {
            if let Some(m) = batch.metrics.get_mut(name.as_ref()) {
                let c = m.in_block.take();
                counted(&mut m.services, service, c.seen.first).merge(&c);
                r.resource(&mut m.resource, resource, &c);
            }
        }
        for sev in block.logs.drain(..) {
            if let Some(l) = batch.logs.get_mut(sev.as_ref()) {
                let c = l.in_block.take();
                counted(&mut l.services, service, c.seen.first).merge(&c);
                r.resource(&mut l.resource, resource, &c);
            }
        }
        for (sev, g) in block.templates.drain() {
            batch
                .templates
                .entry((sev, service.to_string()))
                .or_default()
                .merge(g);
        }
    };

    let mut i = 0;
    let n = events.len();
    while i < n {
        match &events[i] {
            Event::Resource => {
                flush_block(batch, &resource, service, &mut block, &mut r);
                batch.blocks += 1;
                block_id = batch.blocks;
                resource.clear();
                series.reset();
                i += 1;
                while i < n {
                    if let Event::ResourceAttr(a) = &events[i] {
                        resource.push(a);
                        i += 1;
                    } else {
                        break;
                    }
                }
                service = service_of(&resource);
            }
            Event::Scope { .. } | Event::ScopeAttr(_) | Event::ResourceAttr(_) => i += 1,
            Event::Metric {
                name,
                kind,
                unit,
                description,
                ..
            } => {
                let m = entry(&mut batch.metrics, name, || MetricAgg {
                    kind: *kind,
                    unit: String::new(),
                    description: String::new(),
                    total: Counted {
                        count: 0,
                        seen: Seen::none(),
                    },
                    in_block: BlockCount::default(),
                    services: Map::new(),
                    labels: Keys::default(),
                    resource: Keys::default(),
                    series: hll::Builder::new(),
                });
                m.kind = *kind;
                if !unit.is_empty() {
                    m.unit = unit.to_string();
                }
                if !description.is_empty() {
                    m.description = description.to_string();
                }
                i += 1;
                // Its data points (the metric's entry is looked up once,
                // whatever the length of its name).
                let mut number = None;
                while let Some(Event::DataPoint { time_unix_nano }) = events.get(i) {
                    let t = secs(*time_unix_nano, now);
                    let start = i + 1;
                    m.total.add(1, t);
                    if m.in_block.add(block_id, t) {
                        block.metrics.push(Cow::Borrowed(name));
                    }
                    let end = start + r.record(&mut m.labels, &events[start..], dp_attr, t);
                    let attrs = events[start..end].iter().map_while(dp_attr);
                    if series.identity(&mut number, &resource, attrs, &mut r.buf) {
                        m.series.add(r.buf.as_bytes());
                    }
                    i = end;
                }
            }
            Event::DataPoint { .. } => return Err("a data point outside a metric".into()),
            Event::Span {
                name,
                kind,
                start_time_unix_nano,
            } => {
                let t = secs(*start_time_unix_nano, now);
                let s = entry(&mut batch.spans, name, || SpanAgg {
                    kind: *kind,
                    total: Counted::new(t),
                    events_total: 0,
                    links_total: 0,
                    in_block: BlockCount::default(),
                    services: Map::new(),
                    attrs: Keys::default(),
                    resource: Keys::default(),
                    links: Keys::default(),
                    events: Map::new(),
                });
                s.kind = *kind;
                s.total.add(1, t);
                if s.in_block.add(block_id, t) {
                    block.spans.push(Cow::Borrowed(name));
                }
                i += 1;
                i += r.record(&mut s.attrs, &events[i..], span_attr, t);
                // Events and links of this span.
                loop {
                    match events.get(i) {
                        Some(Event::SpanEvent {
                            name: ev,
                            time_unix_nano,
                        }) => {
                            let te = secs(*time_unix_nano, t);
                            i += 1;
                            s.events_total += 1;
                            let e = entry(&mut s.events, ev, || EventAgg {
                                total: Counted::new(te),
                                keys: Keys::default(),
                            });
                            e.total.add(1, te);
                            i += r.record(&mut e.keys, &events[i..], event_attr, te);
                        }
                        Some(Event::SpanLink) => {
                            i += 1;
                            s.links_total += 1;
                            i += r.record(&mut s.links, &events[i..], link_attr, t);
                        }
                        _ => break,
                    }
                }
            }
            Event::Log {
                severity_number,
                severity_text,
                time_unix_nano,
                body,
                ..
            } => {
                let t = secs(*time_unix_nano, now);
                let sev = crate::otlp::severity_label(*severity_number, severity_text);
                let l = entry(&mut batch.logs, &sev, || LogAgg {
                    total: Counted::new(t),
                    in_block: BlockCount::default(),
                    services: Map::new(),
                    attrs: Keys::default(),
                    resource: Keys::default(),
                });
                l.total.add(1, t);
                let first_in_block = l.in_block.add(block_id, t);
                i += 1;
                let attrs = i;
                i += r.record(&mut l.attrs, &events[i..], log_attr, t);
                // The body's template, and the keys of its record.
                let text = match body {
                    None => "",
                    Some(v) => value_text(v, &mut r.buf),
                };
                let (cluster, merged) = templater.train(&sev, service, text)?;
                let c = entry(&mut block.templates, &sev, TemplateGroup::default)
                    .add(cluster, merged, t);
                for (pos, a) in events[attrs..i].iter().map_while(log_attr).enumerate() {
                    c.keys.add(pos, &a.key, r.rec, t, &mut r.entries);
                }
                if first_in_block {
                    block.logs.push(sev);
                }
            }
            // Attributes are consumed with their record; a stray one is skipped.
            _ => i += 1,
        }
    }
    flush_block(batch, &resource, service, &mut block, &mut r);
    batch.key_entries = r.entries;
    batch.records = r.rec;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{KeyAgg, SAMPLES, Series, TemplateGroup, same};
    use crate::hll;
    use crate::otlp::{AnyValue, Attr};
    use crate::testutil::XorShift;
    use std::borrow::Cow;

    /// The series identity as it was written before resources were
    /// prepared once per block: all pairs rendered and sorted per point.
    fn identity_by_sorting_all(resource: &[&Attr<'_>], point: &[Attr<'_>]) -> String {
        let mut pairs = Vec::new();
        let mut vals = String::new();
        for a in resource.iter().copied().chain(point) {
            let from = vals.len();
            a.value.render(&mut vals);
            pairs.push((a.key.as_ref(), from, vals.len()));
        }
        pairs.sort_by(|x, y| (x.0, &vals[x.1..x.2]).cmp(&(y.0, &vals[y.1..y.2])));
        let mut out = String::new();
        for &(k, from, to) in &pairs {
            out.push_str(k);
            out.push('\u{1f}');
            out.push_str(&vals[from..to]);
            out.push('\u{1e}');
        }
        out
    }

    fn random_value(rnd: &mut XorShift) -> AnyValue<'static> {
        let s = |v: &'static str| AnyValue::Str(Cow::Borrowed(v));
        match rnd.below(14) {
            0 => s(""),
            1 => s("a"),
            2 => s("a\u{1f}"),
            3 => s("ab"),
            4 => s("b\u{1e}x"),
            5 => AnyValue::Int(rnd.below(3) as i64 - 1),
            6 => AnyValue::Bool(rnd.below(2) == 0),
            7 => AnyValue::Double([1.5, f64::NAN, -0.0][rnd.below(3) as usize]),
            8 => AnyValue::Bytes(Cow::Borrowed(&[1, 2])),
            9 => AnyValue::Array(vec![s("x"), AnyValue::Int(1)]),
            10 => AnyValue::KvList(vec![Attr {
                key: Cow::Borrowed("k"),
                value: s("v"),
            }]),
            11 => AnyValue::Empty,
            12 => AnyValue::Str(Cow::Owned(format!("v{}", rnd.below(4)))),
            _ => AnyValue::Str(Cow::Owned("long".repeat(rnd.below(3) as usize * 700))),
        }
    }

    fn random_attrs(rnd: &mut XorShift, max: u64) -> Vec<Attr<'static>> {
        const KEYS: [&str; 8] = [
            "",
            "a",
            "a\u{1f}",
            "ab",
            "b",
            "service.name",
            "k\u{1e}",
            "zz",
        ];
        (0..rnd.below(max + 1))
            .map(|_| Attr {
                key: Cow::Borrowed(KEYS[rnd.below(KEYS.len() as u64) as usize]),
                value: random_value(rnd),
            })
            .collect()
    }

    /// Per point, the identity is the bytes the sort of all pairs wrote;
    /// a point skipped as a repeat had the identity of an earlier point of
    /// its metric in the block; the sketches' images are the same.
    #[test]
    fn series_identities_are_those_of_sorting_all_pairs() {
        let mut rnd = XorShift::new(0x5e41e5);
        let mut skipped = 0;
        for case in 0..400 {
            let resource = random_attrs(&mut rnd, 12);
            let res: Vec<&Attr<'_>> = resource.iter().collect();
            let metrics: Vec<Vec<Vec<Attr<'static>>>> = (0..1 + rnd.below(3))
                .map(|_| {
                    (0..rnd.below(12))
                        .map(|_| random_attrs(&mut rnd, 4))
                        .collect()
                })
                .collect();
            let mut series = Series::default();
            series.reset();
            let mut buf = String::new();
            for points in &metrics {
                let (mut old, mut new) = (hll::Builder::new(), hll::Builder::new());
                let mut number = None;
                let mut earlier = std::collections::HashSet::new();
                for p in points {
                    let want = identity_by_sorting_all(&res, p);
                    old.add(want.as_bytes());
                    if series.identity(&mut number, &res, p.iter(), &mut buf) {
                        assert_eq!(buf, want, "case {case}");
                        new.add(buf.as_bytes());
                    } else {
                        assert!(earlier.contains(&want), "case {case}: skipped a new series");
                        skipped += 1;
                    }
                    earlier.insert(want);
                }
                assert_eq!(old.image(), new.image(), "case {case}");
            }
        }
        assert!(skipped > 50, "the repeat check ran ({skipped} skipped)");
    }

    /// A block's templates added to the batch's group when the block ends
    /// give what adding each line to the batch's group gives.
    #[test]
    fn template_groups_merge_as_lines_added_one_by_one() {
        let mut rnd = XorShift::new(77);
        for case in 0..300 {
            let lines: Vec<(u64, Vec<u64>, i64)> = (0..rnd.below(40))
                .map(|_| {
                    let merged = (0..rnd.below(3) * rnd.below(2))
                        .map(|_| rnd.below(8))
                        .collect();
                    (rnd.below(8), merged, rnd.below(100) as i64)
                })
                .collect();
            let split = rnd.below(lines.len() as u64 + 1) as usize;
            let (mut direct, mut before) = (TemplateGroup::default(), TemplateGroup::default());
            let mut entries = 0;
            // Each line's record carries keys k<c> and "all" (twice: counted once).
            let mut add = |g: &mut TemplateGroup, rec: usize, (c, m, t): &(u64, Vec<u64>, i64)| {
                let a = g.add(*c, m.clone(), *t);
                for (pos, k) in [format!("k{c}"), "all".into(), "all".into()]
                    .iter()
                    .enumerate()
                {
                    a.keys.add(pos, k, rec as u64 + 1, *t, &mut entries);
                }
            };
            for (n, line) in lines[..split].iter().enumerate() {
                add(&mut direct, n, line);
                add(&mut before, n, line);
            }
            let mut block = TemplateGroup::default();
            for (n, line) in lines.iter().enumerate().skip(split) {
                add(&mut direct, n, line);
                add(&mut block, n, line);
            }
            before.merge(block);
            let view = |g: &TemplateGroup| {
                let mut v: Vec<_> = g
                    .clusters
                    .iter()
                    .map(|(id, a)| {
                        let mut keys: Vec<_> = a
                            .keys
                            .iter()
                            .map(|(k, c)| (k.clone(), c.count, c.seen))
                            .collect();
                        keys.sort_by(|x, y| x.0.cmp(&y.0));
                        assert_eq!(
                            keys.iter().find(|k| k.0 == "all").map(|k| k.1),
                            Some(a.lines.count)
                        );
                        (*id, a.lines.count, a.lines.seen, keys)
                    })
                    .collect();
                v.sort_by_key(|x| x.0);
                (v, g.folds.clone())
            };
            assert_eq!(view(&direct), view(&before), "case {case}");
        }
    }

    /// Sample lists are written as serde_json writes them, escapes included.
    #[test]
    fn samples_json_is_what_serde_json_writes() {
        let tricky = [
            "",
            "GET",
            "a\"b",
            "back\\slash",
            "tab\there",
            "nl\n",
            "\u{1}\u{1f}",
            "\u{7f}",
            "é/日本",
            "</script>",
            "\u{2028}",
        ];
        for n in 0..=tricky.len() {
            let mut k = KeyAgg::new(0);
            for (i, v) in tricky[..n].iter().enumerate() {
                k.add(2 * i as u64, 1, v, 0);
                k.add(2 * i as u64 + 1, 1, v, 0); // again: kept once
            }
            let want: Vec<&str> = tricky[..n.min(SAMPLES)].to_vec();
            assert_eq!(
                k.samples_json(),
                serde_json::to_string(&want).unwrap(),
                "{n}"
            );
            assert_eq!(k.samples.len(), want.len());
            // Merged into a list holding some of them: each value once, in order.
            let mut m = KeyAgg::new(0);
            m.add(0, 1, "GET", 0);
            m.add(1, 1, "tab\there", 0);
            m.merge(&k);
            let mut want_m = vec!["GET", "tab\there"];
            want_m.extend(want.iter().filter(|v| !["GET", "tab\there"].contains(v)));
            want_m.truncate(SAMPLES);
            assert_eq!(
                m.samples_json(),
                serde_json::to_string(&want_m).unwrap(),
                "merge {n}"
            );
        }
    }

    /// The inlined comparison agrees with `==` at every length and at every
    /// position of a differing byte.
    #[test]
    fn same_agrees_with_eq() {
        for n in 0..48usize {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i % 26).collect();
            assert!(same(&a, &a.clone()), "{n}");
            if n > 0 {
                assert!(!same(&a, &a[..n - 1]), "{n}");
            }
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same(&a, &b), "{n} {at}");
            }
        }
    }
}
