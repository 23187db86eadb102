//! One batch: what otlp_ingest has aggregated and not yet written. Per
//! entity (metric, span name, log severity) its counts, services, and per
//! attribute key what `keys.rs` keeps; per (severity, service) the lines of
//! each log template. Memory grows with distinct entities and keys, not with
//! records.
//!
//! [`Batch::apply`] reads a decoded payload's events once, in order, with
//! one method per kind of record (`metric`, `span`, `log`), each consuming
//! the events that belong to its record (attributes, data points, span
//! events and links). A resource block's services and resource keys are
//! counted once, when the block ends. [`Batch::merge`] adds a later batch
//! (a released savepoint) with one method per entity kind.

use std::borrow::Cow;

use ahash::AHashMap as Map;

use super::keys::{Counted, KeyCounts, Keys, PairInfo, Seen, entry, merge_by_name};
use super::series::{Series, SeriesId};
use crate::hll;
use crate::otlp::{AnyValue, Attr, Event, MetricKind, SpanKind, Temporality};

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
    /// The last `aggregationTemporality` and `isMonotonic` seen.
    pub temporality: Temporality,
    pub monotonic: bool,
    /// The shape of its histogram and summary points.
    pub shape: PointShape,
    /// Per service, the last (kind, temporality, monotonic) it sent.
    pub service_shapes: Map<String, (MetricKind, Temporality, bool)>,
}

/// The most buckets or quantiles a metric's points had (`None`: no point
/// of that kind), and the range of its exponential histograms' scales.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PointShape {
    /// Histogram points: explicit bounds + 1 (the `+Inf` bucket).
    pub histogram_buckets: Option<u32>,
    /// ExponentialHistogram points: positive + negative bucket counts.
    pub exp_buckets: Option<u32>,
    /// ExponentialHistogram points: (min, max) scale.
    pub exp_scale: Option<(i32, i32)>,
    /// Summary points: quantile values.
    pub summary_quantiles: Option<u32>,
}

fn max_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    a.max(b)
}

impl PointShape {
    /// Counts one point of a metric of `kind` (see `Event::DataPoint`).
    #[inline]
    fn add(&mut self, kind: MetricKind, buckets: u32, scale: i32) {
        match kind {
            MetricKind::Histogram => {
                let b = buckets.saturating_add(1);
                self.histogram_buckets = max_opt(self.histogram_buckets, Some(b));
            }
            MetricKind::ExponentialHistogram => {
                self.exp_buckets = max_opt(self.exp_buckets, Some(buckets));
                self.exp_scale = Some(match self.exp_scale {
                    None => (scale, scale),
                    Some((lo, hi)) => (lo.min(scale), hi.max(scale)),
                });
            }
            MetricKind::Summary => {
                self.summary_quantiles = max_opt(self.summary_quantiles, Some(buckets));
            }
            _ => {}
        }
    }

    fn merge(&mut self, o: &PointShape) {
        self.histogram_buckets = max_opt(self.histogram_buckets, o.histogram_buckets);
        self.exp_buckets = max_opt(self.exp_buckets, o.exp_buckets);
        if let Some((lo, hi)) = o.exp_scale {
            self.exp_scale = Some(match self.exp_scale {
                None => (lo, hi),
                Some((a, b)) => (a.min(lo), b.max(hi)),
            });
        }
        self.summary_quantiles = max_opt(self.summary_quantiles, o.summary_quantiles);
    }
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
    /// Spans by `status.code`: unset (and codes outside the enum), ok,
    /// error; of the resource block being applied; per service.
    pub status: [u64; 3],
    in_block_status: [u64; 3],
    pub service_status: Map<String, [u64; 3]>,
}

/// A span's status as an index of `SpanAgg::status`.
#[inline]
fn status_index(code: i32) -> usize {
    match code {
        1 => 1,
        2 => 2,
        _ => 0,
    }
}

fn add3(a: &mut [u64; 3], b: &[u64; 3]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

pub struct LogAgg {
    /// Records of the resource block being applied.
    in_block: BlockCount,
    pub total: Counted,
    pub services: Map<String, Counted>,
    pub attrs: Keys,
    pub resource: Keys,
}

/// Adds a later batch's service counts.
fn merge_services(into: &mut Map<String, Counted>, from: Map<String, Counted>) {
    merge_by_name(into, from, |e, v| e.merge(&v));
}

impl MetricAgg {
    /// Adds what a later batch counted of the same metric.
    fn merge(&mut self, m: MetricAgg) {
        self.kind = m.kind;
        self.temporality = m.temporality;
        self.monotonic = m.monotonic;
        self.shape.merge(&m.shape);
        self.service_shapes.extend(m.service_shapes);
        if !m.unit.is_empty() {
            self.unit = m.unit;
        }
        if !m.description.is_empty() {
            self.description = m.description;
        }
        self.total.merge(&m.total);
        merge_services(&mut self.services, m.services);
        self.labels.merge(m.labels);
        self.resource.merge(m.resource);
        self.series.merge(&m.series);
    }
}

impl SpanAgg {
    /// Adds what a later batch counted of the same span name.
    fn merge(&mut self, s: SpanAgg) {
        self.kind = s.kind;
        self.total.merge(&s.total);
        self.events_total += s.events_total;
        self.links_total += s.links_total;
        merge_services(&mut self.services, s.services);
        self.attrs.merge(s.attrs);
        self.resource.merge(s.resource);
        self.links.merge(s.links);
        merge_by_name(&mut self.events, s.events, |x, a| {
            x.total.merge(&a.total);
            x.keys.merge(a.keys);
        });
        add3(&mut self.status, &s.status);
        merge_by_name(&mut self.service_status, s.service_status, |x, a| {
            add3(x, &a)
        });
    }
}

impl LogAgg {
    /// Adds what a later batch counted of the same severity.
    fn merge(&mut self, l: LogAgg) {
        self.total.merge(&l.total);
        merge_services(&mut self.services, l.services);
        self.attrs.merge(l.attrs);
        self.resource.merge(l.resource);
    }
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
    pub(super) fn add(&mut self, cluster: u64, merged: Vec<u64>, t: i64) -> &mut TemplateAgg {
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
        merge_by_name(&mut self.metrics, o.metrics, MetricAgg::merge);
        merge_by_name(&mut self.spans, o.spans, SpanAgg::merge);
        merge_by_name(&mut self.logs, o.logs, LogAgg::merge);
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

/// Trains a log body into the template model of its (severity, service);
/// returns the cluster id and the clusters merged into it.
/// (`templates::Templates` in the extension; in-memory models in the
/// ingest benchmark's baseline.)
pub trait Templater {
    fn train(
        &mut self,
        severity: &str,
        service: &str,
        body: &str,
    ) -> Result<(u64, Vec<u64>), String>;
}

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
                .add(self.rec, 1, v, PairInfo::of(a), t);
            n = pos + 1;
        }
        n
    }

    /// Adds a resource block's attributes to an entity's resource keys,
    /// once for all `c.count` records of the block: each record counts
    /// (key_count, value_types), the pair's bytes once (the block sends
    /// its resource once, whatever its records).
    fn resource(&mut self, keys: &mut Keys, resource: &[&Attr<'_>], c: &Counted) {
        self.rec += 1;
        for (pos, a) in resource.iter().enumerate() {
            let v = value_text(&a.value, &mut self.buf);
            let k = keys.entry(pos, &a.key, c.seen.first, &mut self.entries);
            k.add(self.rec, c.count, v, PairInfo::of(a), c.seen.first);
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

fn counted<'m>(map: &'m mut Map<String, Counted>, key: &str, t: i64) -> &'m mut Counted {
    entry(map, key, || Counted::new(t))
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

/// One payload being applied to a batch: the resource block it is in.
struct Applier<'b, 'e, 'a> {
    batch: &'b mut Batch,
    /// Stands in for absent timestamps (unix seconds).
    now: i64,
    templater: &'b mut dyn Templater,
    r: Recorder,
    series: Series<'e>,
    /// The resource block's attributes and service.
    resource: Vec<&'e Attr<'a>>,
    service: &'e str,
    block: Block<'e>,
    /// The block's number (see `BlockCount`).
    block_id: u64,
}

impl Batch {
    /// Applies one decoded payload to the batch. `now` (unix seconds)
    /// stands in for absent timestamps; `templater` trains log bodies.
    pub fn apply(
        &mut self,
        events: &[Event<'_>],
        now: i64,
        templater: &mut dyn Templater,
    ) -> Result<(), String> {
        self.blocks += 1;
        let mut a = Applier {
            r: Recorder {
                rec: self.records,
                entries: self.key_entries,
                buf: String::new(),
            },
            block_id: self.blocks,
            batch: self,
            now,
            templater,
            series: Series::default(),
            resource: Vec::new(),
            service: "unknown_service",
            block: Block::default(),
        };
        let mut i = 0;
        while i < events.len() {
            i = match &events[i] {
                Event::Resource => a.resource(events, i),
                Event::Metric { .. } => a.metric(events, i),
                Event::DataPoint { .. } => return Err("a data point outside a metric".into()),
                Event::Span { .. } => a.span(events, i),
                Event::Log { .. } => a.log(events, i)?,
                // Attributes are consumed with their record; a stray one
                // (and scopes) is skipped.
                _ => i + 1,
            };
        }
        a.end_block();
        let (entries, records) = (a.r.entries, a.r.rec);
        self.key_entries = entries;
        self.records = records;
        Ok(())
    }
}

impl<'e, 'a: 'e> Applier<'_, 'e, 'a> {
    /// A resource and its attributes (`events[i]` on): a new block.
    #[inline]
    fn resource(&mut self, events: &'e [Event<'a>], mut i: usize) -> usize {
        self.end_block();
        self.batch.blocks += 1;
        self.block_id = self.batch.blocks;
        self.resource.clear();
        self.series.reset();
        i += 1;
        while let Some(Event::ResourceAttr(a)) = events.get(i) {
            self.resource.push(a);
            i += 1;
        }
        self.service = crate::otlp::service_name(self.resource.iter().copied());
        i
    }

    /// The block's end: its records' counts go to their entities' services
    /// and resource keys, its log templates to the batch's groups.
    fn end_block(&mut self) {
        let (batch, r, service) = (&mut *self.batch, &mut self.r, self.service);
        let resource = &self.resource[..];
        for name in self.block.spans.drain(..) {
            if let Some(s) = batch.spans.get_mut(name.as_ref()) {
                let c = s.in_block.take();
                counted(&mut s.services, service, c.seen.first).merge(&c);
                r.resource(&mut s.resource, resource, &c);
                let st = std::mem::take(&mut s.in_block_status);
                add3(entry(&mut s.service_status, service, || [0; 3]), &st);
            }
        }
        for name in self.block.metrics.drain(..) {
            if let Some(m) = batch.metrics.get_mut(name.as_ref()) {
                let c = m.in_block.take();
                counted(&mut m.services, service, c.seen.first).merge(&c);
                r.resource(&mut m.resource, resource, &c);
                let shape = (m.kind, m.temporality, m.monotonic);
                *entry(&mut m.service_shapes, service, || shape) = shape;
            }
        }
        for sev in self.block.logs.drain(..) {
            if let Some(l) = batch.logs.get_mut(sev.as_ref()) {
                let c = l.in_block.take();
                counted(&mut l.services, service, c.seen.first).merge(&c);
                r.resource(&mut l.resource, resource, &c);
            }
        }
        for (sev, g) in self.block.templates.drain() {
            batch
                .templates
                .entry((sev, service.to_string()))
                .or_default()
                .merge(g);
        }
    }

    /// A metric and its data points with their attributes (`events[i]` on).
    #[inline]
    fn metric(&mut self, events: &'e [Event<'a>], mut i: usize) -> usize {
        let Event::Metric {
            name,
            kind,
            unit,
            description,
            temporality,
            monotonic,
        } = &events[i]
        else {
            return i + 1;
        };
        let m = entry(&mut self.batch.metrics, name, || MetricAgg {
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
            temporality: *temporality,
            monotonic: *monotonic,
            shape: PointShape::default(),
            service_shapes: Map::new(),
        });
        m.kind = *kind;
        m.temporality = *temporality;
        m.monotonic = *monotonic;
        if !unit.is_empty() {
            m.unit = unit.to_string();
        }
        if !description.is_empty() {
            m.description = description.to_string();
        }
        i += 1;
        // Its data points (the metric's entry is looked up once, whatever
        // the length of its name).
        while let Some(Event::DataPoint {
            time_unix_nano,
            buckets,
            scale,
        }) = events.get(i)
        {
            let t = secs(*time_unix_nano, self.now);
            let start = i + 1;
            m.total.add(1, t);
            m.shape.add(*kind, *buckets, *scale);
            if m.in_block.add(self.block_id, t) {
                self.block.metrics.push(Cow::Borrowed(name));
            }
            let end = start + self.r.record(&mut m.labels, &events[start..], dp_attr, t);
            let attrs = events[start..end].iter().map_while(dp_attr);
            match self.series.identity(&self.resource, attrs, &mut self.r.buf) {
                SeriesId::Bytes => {
                    m.series.add(self.r.buf.as_bytes());
                }
                SeriesId::Coupon(c) => m.series.add_coupon(c),
            }
            i = end;
        }
        i
    }

    /// A span with its attributes, events and links (`events[i]` on).
    #[inline]
    fn span(&mut self, events: &'e [Event<'a>], mut i: usize) -> usize {
        let Event::Span {
            name,
            kind,
            start_time_unix_nano,
            status_code,
        } = &events[i]
        else {
            return i + 1;
        };
        let t = secs(*start_time_unix_nano, self.now);
        let s = entry(&mut self.batch.spans, name, || SpanAgg {
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
            status: [0; 3],
            in_block_status: [0; 3],
            service_status: Map::new(),
        });
        s.kind = *kind;
        s.total.add(1, t);
        let st = status_index(*status_code);
        s.status[st] += 1;
        s.in_block_status[st] += 1;
        if s.in_block.add(self.block_id, t) {
            self.block.spans.push(Cow::Borrowed(name));
        }
        i += 1;
        i += self.r.record(&mut s.attrs, &events[i..], span_attr, t);
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
                    i += self.r.record(&mut e.keys, &events[i..], event_attr, te);
                }
                Some(Event::SpanLink) => {
                    i += 1;
                    s.links_total += 1;
                    i += self.r.record(&mut s.links, &events[i..], link_attr, t);
                }
                _ => break,
            }
        }
        i
    }

    /// A log record with its attributes (`events[i]` on); its body is
    /// trained into the template model of its (severity, service).
    #[inline]
    fn log(&mut self, events: &'e [Event<'a>], mut i: usize) -> Result<usize, String> {
        let Event::Log {
            severity_number,
            severity_text,
            time_unix_nano,
            body,
            ..
        } = &events[i]
        else {
            return Ok(i + 1);
        };
        let t = secs(*time_unix_nano, self.now);
        let sev = crate::otlp::severity_label(*severity_number, severity_text);
        let l = entry(&mut self.batch.logs, &sev, || LogAgg {
            total: Counted::new(t),
            in_block: BlockCount::default(),
            services: Map::new(),
            attrs: Keys::default(),
            resource: Keys::default(),
        });
        l.total.add(1, t);
        let first_in_block = l.in_block.add(self.block_id, t);
        i += 1;
        let attrs = i;
        i += self.r.record(&mut l.attrs, &events[i..], log_attr, t);
        // The body's template, and the keys of its record.
        let text = match body {
            None => "",
            Some(v) => value_text(v, &mut self.r.buf),
        };
        let (cluster, merged) = self.templater.train(&sev, self.service, text)?;
        let c =
            entry(&mut self.block.templates, &sev, TemplateGroup::default).add(cluster, merged, t);
        for (pos, a) in events[attrs..i].iter().map_while(log_attr).enumerate() {
            c.keys
                .entry(pos, &a.key, t, &mut self.r.entries)
                .add(self.r.rec, t);
        }
        if first_in_block {
            self.block.logs.push(sev);
        }
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::TemplateGroup;
    use crate::testutil::XorShift;

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
                    a.keys
                        .entry(pos, k, *t, &mut entries)
                        .add(rec as u64 + 1, *t);
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
                            .map(|(k, c)| (k.clone(), c.records.count, c.records.seen))
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
}
