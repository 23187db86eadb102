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

use ahash::AHashMap as Map;

mod apply;
mod scopes;
mod services;

pub use apply::{ENTITY_COST, Templater, secs, value_text};
pub use scopes::{ScopeCounts, ScopeTable};
pub use services::{
    EntityKeys, LogSvc, MetricSvc, PerService, ServicePart, SpanSvc, entity_events, entity_keys,
};

use super::history::Volume;
use super::keys::{Counted, KeyCounts, Keys, Seen, merge_by_name};
use crate::hll;
use crate::otlp::{MetricKind, SpanKind, Temporality};

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
                bytes: 0,
                seen: Seen::none(),
            },
        }
    }
}

impl BlockCount {
    /// Counts a record at `t` of block `block` that takes `bytes`; true
    /// for the entity's first record of the block.
    #[inline]
    fn add(&mut self, block: u64, t: i64, bytes: u64) -> bool {
        let first = self.block != block;
        if first {
            *self = BlockCount {
                block,
                ..BlockCount::default()
            };
        }
        self.counted.add(1, t);
        self.counted.bytes += bytes;
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
    /// Records of the scope block being applied (numbered as blocks).
    in_scope: BlockCount,
    pub kind: MetricKind,
    pub unit: String,
    pub description: String,
    pub total: Counted,
    pub services: Map<String, Counted>,
    /// Data point and resource keys, per service (the metric's own are
    /// their union, made at the flush: `entity_keys`).
    pub svc: PerService<MetricSvc>,
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
    /// Records of the scope block being applied (numbered as blocks).
    in_scope: BlockCount,
    pub kind: SpanKind,
    pub total: Counted,
    pub events_total: u64,
    pub links_total: u64,
    pub services: Map<String, Counted>,
    /// Keys, events and links per service (the span name's own are their
    /// union, made at the flush).
    pub svc: PerService<SpanSvc>,
    /// Spans by `status.code`: unset (and codes outside the enum), ok,
    /// error; of the resource block being applied; per service.
    pub status: [u64; 3],
    in_block_status: [u64; 3],
    pub service_status: Map<String, [u64; 3]>,
    /// Sums of `dropped_attributes_count`, `dropped_events_count`,
    /// `dropped_links_count`.
    pub dropped: [u64; 3],
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
    /// Records of the scope block being applied (numbered as blocks).
    in_scope: BlockCount,
    pub total: Counted,
    pub services: Map<String, Counted>,
    /// Keys per service (the severity's own are their union).
    pub svc: PerService<LogSvc>,
    /// Sum of `dropped_attributes_count`.
    pub dropped_attributes: u64,
    /// Records with a trace id, with a span id (`trace_id`, `span_id`): all,
    /// of the resource block being applied, per service.
    pub trace_context: [u64; 2],
    in_block_trace_context: [u64; 2],
    pub service_trace_context: Map<String, [u64; 2]>,
}

fn add2(a: &mut [u64; 2], b: &[u64; 2]) {
    a[0] += b[0];
    a[1] += b[1];
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
        self.svc.merge(m.svc);
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
        self.svc.merge(s.svc);
        add3(&mut self.status, &s.status);
        merge_by_name(&mut self.service_status, s.service_status, |x, a| {
            add3(x, &a)
        });
        add3(&mut self.dropped, &s.dropped);
    }
}

impl LogAgg {
    /// Adds what a later batch counted of the same severity.
    fn merge(&mut self, l: LogAgg) {
        self.total.merge(&l.total);
        merge_services(&mut self.services, l.services);
        self.svc.merge(l.svc);
        self.dropped_attributes += l.dropped_attributes;
        add2(&mut self.trace_context, &l.trace_context);
        merge_by_name(
            &mut self.service_trace_context,
            l.service_trace_context,
            |x, a| add2(x, &a),
        );
    }
}

/// Log records of one event name (`LogRecord.event_name`, when not empty):
/// a dimension next to severities (the records count in their severity
/// too). Its keys (its records' attributes) are kept per event name only,
/// not per service.
pub struct LogEventAgg {
    /// Records of the resource block being applied.
    in_block: BlockCount,
    pub total: Counted,
    pub services: Map<String, Counted>,
    /// Attribute keys of its records.
    pub attrs: Keys,
    /// Sum of `dropped_attributes_count`.
    pub dropped_attributes: u64,
    /// Records with a trace id, with a span id.
    pub trace_context: [u64; 2],
}

impl LogEventAgg {
    fn new(t: i64) -> LogEventAgg {
        LogEventAgg {
            in_block: BlockCount::default(),
            total: Counted::new(t),
            services: Map::new(),
            attrs: Keys::default(),
            dropped_attributes: 0,
            trace_context: [0; 2],
        }
    }

    /// Adds what a later batch counted of the same event name.
    fn merge(&mut self, e: LogEventAgg) {
        self.total.merge(&e.total);
        merge_services(&mut self.services, e.services);
        self.attrs.merge(e.attrs);
        self.dropped_attributes += e.dropped_attributes;
        add2(&mut self.trace_context, &e.trace_context);
    }
}

/// Lines of one template cluster in this batch, and the attribute keys
/// those lines' records carried.
pub struct TemplateAgg {
    pub lines: Counted,
    pub keys: KeyCounts,
    /// Its lines per time bucket (`history.rs`).
    pub volume: Volume,
}

impl TemplateAgg {
    fn new(t: i64) -> TemplateAgg {
        TemplateAgg {
            lines: Counted::new(t),
            keys: KeyCounts::default(),
            volume: Volume::default(),
        }
    }
    fn merge(&mut self, o: TemplateAgg) {
        self.volume.merge(&o.volume);
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
    /// Counts a line trained into `cluster` at `t` whose record takes
    /// `bytes`, after the clusters the model merged into it (`merged`);
    /// returns the cluster's entry.
    pub(super) fn add(
        &mut self,
        cluster: u64,
        merged: Vec<u64>,
        t: i64,
        bk: i64,
        bytes: u64,
    ) -> &mut TemplateAgg {
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
        c.lines.bytes += bytes;
        c.volume.add(bk, 1, bytes);
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

/// The log templates of a batch by (severity, service), numbered in the
/// order they came: a resource block looks its (severity, service) groups
/// up once and its records reach them by number (no hash or copy of the
/// service name per record, however long it is).
#[derive(Default)]
pub struct TemplateGroups {
    list: Vec<((String, String), TemplateGroup)>,
    index: Map<(String, String), usize>,
}

impl TemplateGroups {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The groups with their (severity, service), in the order they came.
    pub fn iter(&self) -> impl Iterator<Item = (&(String, String), &TemplateGroup)> {
        self.list.iter().map(|(k, g)| (k, g))
    }

    /// The number of the group of (`severity`, `service`), made if new.
    pub(super) fn number(&mut self, severity: &str, service: &str) -> usize {
        self.number_of((severity.to_string(), service.to_string()))
    }

    fn number_of(&mut self, key: (String, String)) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.list.len();
        self.index.insert(key.clone(), i);
        self.list.push((key, TemplateGroup::default()));
        i
    }

    pub(super) fn get_mut(&mut self, number: usize) -> &mut TemplateGroup {
        &mut self.list[number].1
    }

    /// Adds a later batch's groups.
    fn merge(&mut self, o: TemplateGroups) {
        for (k, g) in o.list {
            let i = self.number_of(k);
            self.list[i].1.merge(g);
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
                bytes: 0,
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
    /// Log records by event name. A sender controls the names: each new
    /// name counts as a key entry (`key_entries`), so that a flood of
    /// distinct names is written early as a flood of keys is.
    pub log_events: Map<String, LogEventAgg>,
    /// Log templates by (severity, service).
    pub templates: TemplateGroups,
    /// Number of key entries (bounds memory).
    pub key_entries: usize,
    /// Records numbered so far. A layer opened by a savepoint numbers on
    /// from the layer below (`IngestTable::savepoint`), so numbers grow
    /// through a transaction and sample lists merge in arrival order.
    pub records: u64,
    /// Resource and scope blocks applied (numbers them for `BlockCount`).
    pub blocks: u64,
    /// The instrumentation scopes of the batch's records.
    pub scopes: ScopeTable,
    /// The width of history buckets, seconds (0: the default;
    /// `history.rs`), set by the table from the catalog's setting.
    pub bucket_width: i64,
}

impl Batch {
    /// Metrics, span names, severities and log event names held.
    pub fn entities(&self) -> usize {
        self.metrics.len() + self.spans.len() + self.logs.len() + self.log_events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
            && self.spans.is_empty()
            && self.logs.is_empty()
            && self.log_events.is_empty()
            && self.templates.is_empty()
    }

    /// Adds a later batch to this one.
    pub fn merge(&mut self, mut o: Batch) {
        self.records = self.records.max(o.records);
        if self.bucket_width == 0 {
            self.bucket_width = o.bucket_width;
        }
        self.blocks += o.blocks;
        let to = self.scopes.absorb(&o.scopes);
        for m in o.metrics.values_mut() {
            m.svc.parts_mut().for_each(|p| p.scopes.renumber(&to));
        }
        for s in o.spans.values_mut() {
            s.svc.parts_mut().for_each(|p| p.scopes.renumber(&to));
        }
        for l in o.logs.values_mut() {
            l.svc.parts_mut().for_each(|p| p.scopes.renumber(&to));
        }
        merge_by_name(&mut self.metrics, o.metrics, MetricAgg::merge);
        merge_by_name(&mut self.spans, o.spans, SpanAgg::merge);
        merge_by_name(&mut self.logs, o.logs, LogAgg::merge);
        merge_by_name(&mut self.log_events, o.log_events, LogEventAgg::merge);
        self.templates.merge(o.templates);
        self.key_entries = self.count_keys();
    }

    fn count_keys(&self) -> usize {
        self.metrics
            .values()
            .map(|m| m.svc.key_entries())
            .sum::<usize>()
            + self
                .spans
                .values()
                .map(|s| s.svc.key_entries())
                .sum::<usize>()
            + self
                .logs
                .values()
                .map(|l| l.svc.key_entries())
                .sum::<usize>()
            + self
                .log_events
                .values()
                .map(|e| 1 + e.attrs.len())
                .sum::<usize>()
            + self
                .templates
                .iter()
                .flat_map(|(_, g)| g.clusters.values())
                .map(|c| c.keys.len())
                .sum::<usize>()
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
            let mut budget = crate::ingest::keys::Budget::unbounded();
            // Each line's record carries keys k<c> and "all" (twice: counted once).
            let mut add = |g: &mut TemplateGroup, rec: usize, (c, m, t): &(u64, Vec<u64>, i64)| {
                let a = g.add(*c, m.clone(), *t, 0, 10 + *c);
                for (pos, k) in [format!("k{c}"), "all".into(), "all".into()]
                    .iter()
                    .enumerate()
                {
                    a.keys
                        .entry(pos, k, *t, &mut budget)
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
                        (*id, a.lines.count, a.lines.bytes, a.lines.seen, keys)
                    })
                    .collect();
                v.sort_by_key(|x| x.0);
                (v, g.folds.clone())
            };
            assert_eq!(view(&direct), view(&before), "case {case}");
        }
    }
}
