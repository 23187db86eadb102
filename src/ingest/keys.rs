//! What a batch keeps of attribute keys: per key its count, time range,
//! first distinct values (the samples) and an HLL sketch, and the keys of
//! one entity and scope in first-seen order.

use ahash::AHashMap as Map;

use super::history::{BucketStats, Buckets, Hist};
use super::top::TopCounter;
use crate::hll;
use crate::otlp::size::{len_field, varint_len};
use crate::otlp::{AnyValue, Attr};

/// How many distinct values a key keeps as samples.
pub const SAMPLES: usize = 10;

/// The OTLP value types a key's `value_types` counts, in the order of its
/// JSON object (by name, as `json_counts_merge` writes objects).
pub const VALUE_TYPES: [&str; 8] = [
    "array", "bool", "bytes", "double", "empty", "int", "kvlist", "string",
];

/// What a key-value pair brings to its key's statistics besides its text:
/// its value type (an index into [`VALUE_TYPES`]) and the bytes the pair
/// takes in its record in OTLP protobuf (`Attr::field_len`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairInfo {
    pub ty: u8,
    pub bytes: u64,
}

impl PairInfo {
    /// The pair's type and `a.field_len()`, the sizes of scalar values
    /// worked out here (inlined into the loop over a record's attributes;
    /// `field_len` is a call, and recursive).
    #[inline(always)]
    pub fn of(a: &Attr<'_>) -> PairInfo {
        let (ty, value) = match &a.value {
            AnyValue::Str(s) => (7, len_field(len_field(s.len()))),
            AnyValue::Int(i) => (5, len_field(1 + varint_len(*i as u64))),
            AnyValue::Double(_) => (3, len_field(9)),
            AnyValue::Bool(_) => (1, len_field(2)),
            AnyValue::Empty => (4, 0),
            AnyValue::Array(_) => return PairInfo::nested(0, a),
            AnyValue::Bytes(_) => return PairInfo::nested(2, a),
            AnyValue::KvList(_) => return PairInfo::nested(6, a),
        };
        let key = if a.key.is_empty() {
            0
        } else {
            len_field(a.key.len())
        };
        PairInfo {
            ty,
            bytes: len_field(key + value) as u64,
        }
    }

    #[inline(never)]
    fn nested(ty: u8, a: &Attr<'_>) -> PairInfo {
        PairInfo {
            ty,
            bytes: a.field_len() as u64,
        }
    }
}

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
    /// Bytes of the records in OTLP protobuf (docs/catalog.md "Bytes"):
    /// of an entity, a service's records of it, a log template's lines; 0
    /// where a count is not of records (a key's records).
    pub bytes: u64,
    pub seen: Seen,
}

impl Counted {
    pub(super) fn new(t: i64) -> Counted {
        Counted {
            count: 0,
            bytes: 0,
            seen: Seen::at(t),
        }
    }
    #[inline]
    pub(super) fn add(&mut self, n: u64, t: i64) {
        self.count += n;
        self.seen.add(t);
    }
    pub(super) fn merge(&mut self, o: &Counted) {
        self.count += o.count;
        self.bytes += o.bytes;
        self.seen.merge(&o.seen);
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
    /// Bytes of the key's pairs in OTLP protobuf (every pair, a key
    /// repeated on one record too).
    pub bytes: u64,
    /// Records per value type ([`VALUE_TYPES`] order): of a key repeated on
    /// one record, the first value's type.
    pub types: [u64; VALUE_TYPES.len()],
    /// Value frequencies (of a key repeated on one record, the first value).
    pub top: TopCounter,
    /// The time buckets of its contributions (`history.rs`).
    pub hist: Hist<KeyBucket>,
}

/// What the history keeps of a key per time bucket.
#[derive(Default)]
pub struct KeyBucket {
    pub count: u64,
    pub bytes: u64,
    pub sketch: hll::Builder,
}

impl BucketStats for KeyBucket {
    fn merge(&mut self, o: &Self) {
        self.count += o.count;
        self.bytes += o.bytes;
        self.sketch.merge(&o.sketch);
    }
}

impl KeyAgg {
    pub(super) fn new(t: i64) -> KeyAgg {
        KeyAgg {
            rec: u64::MAX,
            count: 0,
            samples: SampleList::default(),
            sketch: hll::Builder::new(),
            seen: Seen::at(t),
            bytes: 0,
            types: [0; VALUE_TYPES.len()],
            top: TopCounter::default(),
            hist: Hist::default(),
        }
    }
    /// Counts `n` records (record number `rec`) carrying the key with
    /// `value` (text form) at `t`; `pair` is the pair's type and bytes.
    /// Always inlined into `Recorder::record`, the per-attribute hot path
    /// (left to the compiler, it was outlined when the batch's per-record
    /// code grew: 5 % more instructions in the ingest of a span's keys).
    #[inline(always)]
    pub(super) fn add(&mut self, rec: u64, n: u64, value: &str, pair: PairInfo, t: i64, bk: i64) {
        self.add_with(rec, n, value, pair, (t, bk), || {
            hll::Builder::hash(value.as_bytes())
        })
    }
    /// [`add`](Self::add) with the value's hash (`hll::Builder::hash`)
    /// computed already: a value counted into two key tables is hashed once.
    #[inline]
    pub(super) fn add_hashed(
        &mut self,
        rec: u64,
        n: u64,
        value: &str,
        h: u64,
        pair: PairInfo,
        (t, bk): (i64, i64),
    ) {
        self.add_with(rec, n, value, pair, (t, bk), || h)
    }
    #[inline(always)]
    fn add_with(
        &mut self,
        rec: u64,
        n: u64,
        value: &str,
        pair: PairInfo,
        (t, bk): (i64, i64),
        hash: impl FnOnce() -> u64,
    ) {
        if !self.hist.is_home(bk) {
            self.add_other_bucket(rec, n, value, pair, bk);
        }
        self.bytes += pair.bytes;
        if self.rec == rec {
            return; // the same key again on the same record
        }
        self.rec = rec;
        self.count += n;
        self.types[pair.ty as usize] += n;
        let h = hash();
        self.top.add(value, h, n);
        self.seen.add(t);
        // A recent value of this key (most values of keys of low
        // cardinality) is in the sketch and was offered to the samples.
        if self.sketch.add_hashed(value.as_bytes(), h) && !self.samples.is_full() {
            self.samples.offer(value, rec);
        }
    }
    /// The history part of a contribution to a bucket that is not the
    /// key's only one so far (before the key's own statistics count it).
    #[inline(never)]
    fn add_other_bucket(&mut self, rec: u64, n: u64, value: &str, pair: PairInfo, bk: i64) {
        let (count, bytes, sketch) = (self.count, self.bytes, &self.sketch);
        let own = || KeyBucket {
            count,
            bytes,
            sketch: copy(sketch),
        };
        if let Some(e) = self.hist.other(bk, own) {
            e.bytes += pair.bytes;
            if self.rec != rec {
                e.count += n;
                e.sketch.add(value.as_bytes());
            }
        }
    }
    /// The key's buckets: its own statistics for a key of one bucket.
    pub fn buckets(&self) -> Buckets<'_, KeyBucket> {
        self.hist.buckets()
    }
    pub(super) fn merge(&mut self, o: &KeyAgg) {
        let own = || KeyBucket {
            count: self.count,
            bytes: self.bytes,
            sketch: copy(&self.sketch),
        };
        let theirs = || KeyBucket {
            count: o.count,
            bytes: o.bytes,
            sketch: copy(&o.sketch),
        };
        let mut hist = std::mem::take(&mut self.hist);
        hist.merge(&o.hist, own, theirs);
        self.hist = hist;
        self.count += o.count;
        self.seen.merge(&o.seen);
        self.sketch.merge(&o.sketch);
        self.samples.merge(&o.samples);
        self.bytes += o.bytes;
        for (a, b) in self.types.iter_mut().zip(&o.types) {
            *a += b;
        }
        self.top.merge(&o.top);
    }
    /// Samples as the catalog stores them: a JSON array of strings.
    pub fn samples_json(&self) -> String {
        self.samples.to_json()
    }
    /// `value_types` as the catalog stores it: a JSON object of the
    /// non-zero counts by type name, in name order (`{"int":3,"string":7}`).
    pub fn types_json(&self) -> String {
        types_json(&self.types)
    }
}

/// A copy of a sketch.
fn copy(s: &hll::Builder) -> hll::Builder {
    let mut c = hll::Builder::new();
    c.merge(s);
    c
}

/// A JSON object of the non-zero `counts`, named by [`VALUE_TYPES`].
pub fn types_json(counts: &[u64; VALUE_TYPES.len()]) -> String {
    let mut out = String::from("{");
    for (name, &n) in VALUE_TYPES.iter().zip(counts) {
        if n > 0 {
            if out.len() > 1 {
                out.push(',');
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            out.push_str(&n.to_string());
        }
    }
    out.push('}');
    out
}

/// Up to [`SAMPLES`] distinct values in arrival order, kept as the JSON
/// text the catalog stores (strings as serde_json writes them): one
/// allocation a key, copied out once at the flush.
///
/// Each element keeps the number of the record it first came with (the
/// batch's record numbers grow through a transaction's savepoints), so
/// that lists kept apart (one per service of an entity, or a later
/// savepoint's) merge into the first distinct values of all their records
/// in arrival order: what one list would have kept.
#[derive(Default)]
pub struct SampleList {
    /// `[` then the elements, comma-separated (no closing bracket).
    json: String,
    /// Where each element starts in `json`.
    starts: [u32; SAMPLES],
    /// The record each element first came with (ascending).
    recs: [u64; SAMPLES],
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
    /// Adds a value, first seen on record `rec` (no earlier than the
    /// list's elements), unless it is there already or the list is full.
    pub fn offer(&mut self, v: &str, rec: u64) {
        if self.is_full() {
            return;
        }
        if needs_escapes(v) {
            let quoted = serde_json::to_string(v).expect("strings serialize");
            return self.offer_json(&quoted, true, rec);
        }
        let plain = |i: usize| self.escaped & (1 << i) == 0;
        let same = |i: usize| self.element(i).get(1..).and_then(|e| e.strip_suffix('"')) == Some(v);
        if (0..self.len()).any(|i| plain(i) && same(i)) {
            return;
        }
        self.open_element(false, rec);
        self.json.push('"');
        self.json.push_str(v);
        self.json.push('"');
    }
    /// Adds an element given as JSON text unless it is there already.
    fn offer_json(&mut self, el: &str, escaped: bool, rec: u64) {
        if self.is_full() || (0..self.len()).any(|i| self.element(i) == el) {
            return;
        }
        self.open_element(escaped, rec);
        self.json.push_str(el);
    }
    /// Starts element `len`, first seen on record `rec` (its text follows).
    fn open_element(&mut self, escaped: bool, rec: u64) {
        self.json.push(if self.json.is_empty() { '[' } else { ',' });
        self.starts[self.len()] = self.json.len() as u32;
        self.recs[self.len()] = rec;
        self.escaped |= (escaped as u16) << self.len;
        self.len += 1;
    }
    /// Adds another list's elements (same escaping: equal texts are equal
    /// values): the first [`SAMPLES`] distinct values of both, in the order
    /// of the records they first came with (a value in both, at the earlier).
    pub fn merge(&mut self, o: &SampleList) {
        if o.is_empty() {
            return;
        }
        if self.is_empty() || o.recs[0] > self.recs[self.len() - 1] {
            // The other list's records all came later: appended.
            for i in 0..o.len() {
                self.offer_json(o.element(i), o.escaped & (1 << i) != 0, o.recs[i]);
            }
            return;
        }
        let mut all: Vec<(u64, &str, bool)> = (0..self.len())
            .map(|i| (self.recs[i], self.element(i), self.escaped & (1 << i) != 0))
            .chain((0..o.len()).map(|i| (o.recs[i], o.element(i), o.escaped & (1 << i) != 0)))
            .collect();
        // Stable: of equal record numbers, this list's element first.
        all.sort_by_key(|e| e.0);
        let mut out = SampleList::default();
        for (rec, el, escaped) in all {
            out.offer_json(el, escaped, rec);
        }
        *self = out;
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

/// What key tables may take while a batch is applied: the key entries
/// made so far (they bound the batch's memory) and the most distinct names
/// a table gives entries of their own (the catalog's `key_name_bound`;
/// past it, names are folded into key-name patterns). One pointer on the
/// per-attribute path: the bound is read only when a key is not where the
/// previous record had it.
pub struct Budget {
    pub entries: usize,
    pub bound: usize,
}

impl Budget {
    /// No bound (copies of tables made at the flush).
    pub fn unbounded() -> Budget {
        Budget {
            entries: 0,
            bound: usize::MAX,
        }
    }
}

/// What a [`KeyTable`] keeps per key.
pub trait KeySlot {
    /// A new key, first seen at `t`.
    fn new(t: i64) -> Self;
    /// Adds what a later batch kept of the same key.
    fn merge(&mut self, o: &Self);
    /// When the key was first seen.
    fn first_seen(&self) -> i64;
    /// Forgets the last record counted: a pattern counts each of its names
    /// on a record (what their own counts would sum to), not the record once.
    fn forget_record(&mut self);
}

impl KeySlot for KeyAgg {
    fn new(t: i64) -> Self {
        KeyAgg::new(t)
    }
    fn merge(&mut self, o: &Self) {
        KeyAgg::merge(self, o)
    }
    fn first_seen(&self) -> i64 {
        self.seen.first
    }
    fn forget_record(&mut self) {
        self.rec = u64::MAX;
    }
}

/// Attribute keys with what is kept of each. Records of one entity tend to
/// carry the same keys in the same order: the positions of the previous
/// record's keys (`shape`) are tried first, before a hash lookup.
///
/// Past `bound` distinct key names (the catalog's `key_name_bound`), a new
/// name is not given an entry of its own: it is counted into its key-name
/// pattern (`keyfold::pattern`), so that a flood of names made of ids costs
/// a few patterns, not an entry per name.
pub struct KeyTable<V> {
    index: Map<String, u32>,
    list: Vec<(String, V)>,
    shape: Vec<u32>,
    /// The most names given an entry (the bound the last lookup was given).
    bound: usize,
    /// Names past the bound, by key-name pattern (none until then).
    folded: Option<Box<Folded<V>>>,
}

impl<V> Default for KeyTable<V> {
    fn default() -> Self {
        KeyTable {
            index: Map::new(),
            list: Vec::new(),
            shape: Vec::new(),
            bound: usize::MAX,
            folded: None,
        }
    }
}

/// What a key table keeps of one key-name pattern: the slot its names are
/// counted into, as a key's would be, the distinct names (an HLL sketch),
/// the first of them (examples) and the names counted.
pub struct PatternSlot<V> {
    pub slot: V,
    pub names: hll::Builder,
    pub examples: SampleList,
}

impl<V: KeySlot> PatternSlot<V> {
    /// A copy (for the union of an entity's services).
    pub fn copy(&self) -> PatternSlot<V> {
        let mut slot = V::new(self.slot.first_seen());
        slot.merge(&self.slot);
        let mut names = hll::Builder::new();
        names.merge(&self.names);
        let mut examples = SampleList::default();
        examples.merge(&self.examples);
        PatternSlot {
            slot,
            names,
            examples,
        }
    }
}

/// Key-name patterns of one key table, in first-seen order.
pub struct Folded<V> {
    index: Map<String, u32>,
    list: Vec<(String, PatternSlot<V>)>,
    /// Names folded so far (numbers the examples).
    names: u64,
}

impl<V: KeySlot> Folded<V> {
    /// The slot of `name`'s pattern (made, first seen at `t`, if new).
    fn slot(&mut self, name: &str, t: i64, entries: &mut usize) -> &mut PatternSlot<V> {
        let pattern = super::keyfold::pattern(name);
        let i = match self.index.get(pattern.as_ref()) {
            Some(&i) => i,
            None => {
                let i = self.list.len() as u32;
                self.index.insert(pattern.to_string(), i);
                self.list.push((
                    pattern.into_owned(),
                    PatternSlot {
                        slot: V::new(t),
                        names: hll::Builder::new(),
                        examples: SampleList::default(),
                    },
                ));
                *entries += 1;
                i
            }
        };
        self.names += 1;
        let p = &mut self.list[i as usize].1;
        if p.names.add(name.as_bytes()) && !p.examples.is_full() {
            p.examples.offer(name, self.names);
        }
        p
    }
}

/// The attribute keys of one entity and scope.
pub type Keys = KeyTable<KeyAgg>;

/// Record counts per attribute key: the keys of a log template's records.
pub type KeyCounts = KeyTable<RecordCount>;

impl<V: KeySlot> KeyTable<V> {
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// Keys in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.list.iter().map(|(k, a)| (k, a))
    }
    /// Key-name patterns of the names past the bound, in first-seen order.
    pub fn patterns(&self) -> impl Iterator<Item = (&String, &PatternSlot<V>)> {
        self.folded
            .iter()
            .flat_map(|f| f.list.iter().map(|(p, s)| (p, s)))
    }
    /// Whether names were folded into patterns.
    pub fn has_patterns(&self) -> bool {
        self.folded.is_some()
    }
    pub fn get(&self, key: &str) -> Option<&V> {
        self.index.get(key).map(|&i| &self.list[i as usize].1)
    }
    /// The entry of `key`, the `pos`-th attribute of its record; created
    /// (first seen at `t`) when new, or, past `budget.bound` names, the
    /// slot of its key-name pattern.
    #[inline(always)]
    pub(super) fn entry(&mut self, pos: usize, key: &str, t: i64, budget: &mut Budget) -> &mut V {
        if let Some(&i) = self.shape.get(pos)
            && same(self.list[i as usize].0.as_bytes(), key.as_bytes())
        {
            return &mut self.list[i as usize].1;
        }
        self.lookup(pos, key, t, budget)
    }

    /// [`entry`](Self::entry) when the key is not where the previous
    /// record had it.
    #[inline(never)]
    fn lookup(&mut self, pos: usize, key: &str, t: i64, budget: &mut Budget) -> &mut V {
        let key = placed(key);
        let (entries, bound) = (&mut budget.entries, budget.bound);
        self.bound = bound;
        let i = match self.index.get(key) {
            Some(&i) => i,
            None if self.list.len() >= bound => {
                // Folded: the record's shape is left as it was.
                let p = self.fold(key, t, entries);
                p.slot.forget_record();
                return &mut p.slot;
            }
            None => {
                let i = self.list.len() as u32;
                self.list.push((owned(key), V::new(t)));
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

    /// Folds the names of `names` into their patterns (names past the
    /// bound counted over the catalog: `write/fold.rs`).
    pub fn fold_out(&mut self, names: &ahash::AHashSet<String>) {
        if !self.list.iter().any(|(k, _)| names.contains(k)) {
            return;
        }
        let mut entries = 0;
        let list = std::mem::take(&mut self.list);
        self.index.clear();
        self.shape.clear();
        for (k, v) in list {
            if names.contains(&k) {
                let t = v.first_seen();
                self.fold(&k, t, &mut entries).slot.merge(&v);
            } else {
                self.index.insert(k.clone(), self.list.len() as u32);
                self.list.push((k, v));
            }
        }
    }

    /// The pattern slot of a name past the bound.
    #[inline(never)]
    fn fold(&mut self, key: &str, t: i64, entries: &mut usize) -> &mut PatternSlot<V> {
        self.folded
            .get_or_insert_with(|| {
                Box::new(Folded {
                    index: Map::new(),
                    list: Vec::new(),
                    names: 0,
                })
            })
            .slot(key, t, entries)
    }

    /// Adds a later batch's keys of the same entity and scope: its names
    /// past this table's bound are folded as they would have been.
    pub(super) fn merge(&mut self, from: KeyTable<V>) {
        let bound = self.bound.min(from.bound);
        self.bound = bound;
        let mut entries = 0;
        for (k, v) in from.list {
            match self.index.get(&k) {
                Some(&i) => self.list[i as usize].1.merge(&v),
                None if self.list.len() >= bound => {
                    let t = first_seen_of(&v);
                    self.fold(&k, t, &mut entries).slot.merge(&v);
                }
                None => {
                    self.index.insert(k.clone(), self.list.len() as u32);
                    self.list.push((k, v));
                }
            }
        }
        self.merge_patterns(from.folded.map(|f| f.list).unwrap_or_default());
    }

    /// Adds another table's patterns (a later batch's, or another service's).
    pub(super) fn merge_patterns(
        &mut self,
        from: impl IntoIterator<Item = (String, PatternSlot<V>)>,
    ) {
        for (p, s) in from {
            let f = self.folded.get_or_insert_with(|| {
                Box::new(Folded {
                    index: Map::new(),
                    list: Vec::new(),
                    names: 0,
                })
            });
            match f.index.get(&p) {
                Some(&i) => {
                    let x = &mut f.list[i as usize].1;
                    x.slot.merge(&s.slot);
                    x.names.merge(&s.names);
                    x.examples.merge(&s.examples);
                }
                None => {
                    f.index.insert(p.clone(), f.list.len() as u32);
                    f.list.push((p, s));
                }
            }
        }
    }
}

/// When a slot was first seen (a name folded when batches merge).
fn first_seen_of<V: KeySlot>(v: &V) -> i64 {
    v.first_seen()
}

/// Records carrying a key, each counted once however often it repeats the
/// key. Record numbers grow across the batches that merge
/// (`Batch::merge` adds their counters), so a mark never meets a later
/// record's number.
pub struct RecordCount {
    pub records: Counted,
    /// The last record counted.
    rec: u64,
}

impl KeySlot for RecordCount {
    fn new(t: i64) -> Self {
        RecordCount {
            records: Counted::new(t),
            rec: 0,
        }
    }
    fn merge(&mut self, o: &Self) {
        self.records.merge(&o.records);
    }
    fn first_seen(&self) -> i64 {
        self.records.seen.first
    }
    fn forget_record(&mut self) {
        self.rec = 0;
    }
}

impl RecordCount {
    /// Counts record `rec`, seen at `t`, unless it was counted already.
    #[inline]
    pub(super) fn add(&mut self, rec: u64, t: i64) {
        if self.rec != rec {
            self.rec = rec;
            self.records.add(1, t);
        }
    }
}

/// Adds `from`'s entries to `into`: `merge` those of names in both.
pub(super) fn merge_by_name<V>(
    into: &mut Map<String, V>,
    from: Map<String, V>,
    merge: fn(&mut V, V),
) {
    for (name, v) in from {
        match into.get_mut(&name) {
            Some(e) => merge(e, v),
            None => {
                into.insert(name, v);
            }
        }
    }
}

/// `a == b`, inlined for the short strings of attribute keys (up to 32
/// bytes in a few word loads instead of a call to `memcmp`).
#[inline(always)]
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
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

/// The entry of `key`, made by `make` when new (the key is copied only then).
#[inline]
pub(super) fn entry<'m, V>(
    map: &'m mut Map<String, V>,
    key: &str,
    make: impl FnOnce() -> V,
) -> &'m mut V {
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
/// suppressed in microcode (its cost: docs/BENCHMARKS.md, "Hostile
/// payloads").
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

#[cfg(test)]
mod tests {
    /// Lists kept apart merge into what one list of all their records in
    /// arrival order keeps (the first SAMPLES distinct values).
    #[test]
    fn sample_lists_merge_by_arrival() {
        use super::SampleList;
        let mut rng = 7u64;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            rng >> 33
        };
        for _ in 0..500 {
            let (mut a, mut b, mut one) = (
                SampleList::default(),
                SampleList::default(),
                SampleList::default(),
            );
            for rec in 0..(next() % 40) {
                let v = format!("v{}", next() % 15);
                one.offer(&v, rec);
                if next() % 2 == 0 {
                    a.offer(&v, rec)
                } else {
                    b.offer(&v, rec)
                }
            }
            let mut ab = SampleList::default();
            ab.merge(&a);
            ab.merge(&b);
            assert_eq!(ab.to_json(), one.to_json());
            b.merge(&a);
            assert_eq!(b.to_json(), one.to_json());
        }
    }

    use super::{KeyAgg, PairInfo, SAMPLES, same};

    const STR: PairInfo = PairInfo { ty: 7, bytes: 0 };

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
            // (Records 2 on: after the two of the list `k` merges into below.)
            for (i, v) in tricky[..n].iter().enumerate() {
                k.add(2 + 2 * i as u64, 1, v, STR, 0, 0);
                k.add(2 + 2 * i as u64 + 1, 1, v, STR, 0, 0); // again: kept once
            }
            let want: Vec<&str> = tricky[..n.min(SAMPLES)].to_vec();
            assert_eq!(
                k.samples_json(),
                serde_json::to_string(&want).unwrap(),
                "{n}"
            );
            assert_eq!(k.samples.len(), want.len());
            // Merged into a list of earlier records holding some of them:
            // each value once, in order.
            let mut m = KeyAgg::new(0);
            m.add(0, 1, "GET", STR, 0, 0);
            m.add(1, 1, "tab\there", STR, 0, 0);
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

    /// The inlined sizes of scalar values are `Attr::field_len`'s.
    #[test]
    fn pair_bytes_are_field_len() {
        use crate::otlp::{AnyValue, Attr};
        use std::borrow::Cow;
        let long = "x".repeat(300);
        let values = [
            AnyValue::Str(Cow::Borrowed("")),
            AnyValue::Str(Cow::Borrowed("GET")),
            AnyValue::Str(Cow::Borrowed(&long)),
            AnyValue::Int(0),
            AnyValue::Int(-1),
            AnyValue::Int(300),
            AnyValue::Int(i64::MIN),
            AnyValue::Double(1.5),
            AnyValue::Bool(false),
            AnyValue::Empty,
            AnyValue::Bytes(Cow::Borrowed(&[1, 2, 3])),
            AnyValue::Array(vec![AnyValue::Int(1), AnyValue::Empty]),
            AnyValue::KvList(vec![]),
        ];
        for key in ["", "k", &"k".repeat(200)] {
            for v in &values {
                let a = Attr {
                    key: Cow::Borrowed(key),
                    value: v.clone(),
                };
                assert_eq!(
                    PairInfo::of(&a).bytes,
                    a.field_len() as u64,
                    "{key:?} {v:?}"
                );
            }
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
