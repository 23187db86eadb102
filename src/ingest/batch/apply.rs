//! Applying a decoded payload to a batch: [`Batch::apply`] reads the
//! events once, in order, with one method per kind of record.

use std::borrow::Cow;

use ahash::AHashMap as Map;

use super::*;
use crate::ingest::history::Bucketer;
use crate::ingest::keys::{Budget, Counted, Keys, PairInfo, entry};
use crate::ingest::series::{Series, SeriesId};
use crate::otlp::{AnyValue, Attr, Event};

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

/// What a new entity (metric name, span name, severity, log event name)
/// costs against [`Batch::apply`]'s `max_cost`, in key entries: about what
/// its aggregates take in memory against a key's.
pub const ENTITY_COST: usize = 4;

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
    /// Key entries made, and the catalog's `key_name_bound`.
    budget: Budget,
    buf: String,
    /// The time bucket of a record (`history.rs`).
    buckets: Bucketer,
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
        let bk = self.buckets.of(t);
        let mut n = 0;
        for (pos, a) in events.iter().map_while(pick).enumerate() {
            let v = value_text(&a.value, &mut self.buf);
            keys.entry(pos, &a.key, t, &mut self.budget).add(
                self.rec,
                1,
                v,
                PairInfo::of(a),
                t,
                bk,
            );
            n = pos + 1;
        }
        n
    }

    /// [`record`](Self::record) into two key tables (a log event's record:
    /// its severity's keys and its event name's): each value is rendered,
    /// sized and hashed once.
    #[inline]
    fn record_twice<'e, 'a>(
        &mut self,
        keys: &mut Keys,
        also: &mut Keys,
        events: &'e [Event<'a>],
        pick: fn(&'e Event<'a>) -> Option<&'e Attr<'a>>,
        t: i64,
    ) -> usize {
        self.rec += 1;
        let bk = self.buckets.of(t);
        let mut n = 0;
        for (pos, a) in events.iter().map_while(pick).enumerate() {
            let v = value_text(&a.value, &mut self.buf);
            let pair = PairInfo::of(a);
            let h = hll::Builder::hash(v.as_bytes());
            keys.entry(pos, &a.key, t, &mut self.budget).add_hashed(
                self.rec,
                1,
                v,
                h,
                pair,
                (t, bk),
            );
            also.entry(pos, &a.key, t, &mut self.budget).add_hashed(
                self.rec,
                1,
                v,
                h,
                pair,
                (t, bk),
            );
            n = pos + 1;
        }
        n
    }

    /// Adds a resource block's attributes to an entity's resource keys,
    /// once for all `c.count` records of the block: each record counts
    /// (key_count, value_types), the pair's bytes once (the block sends
    /// its resource once, whatever its records). Their history counts
    /// them in the bucket of the block's first record.
    fn resource(&mut self, keys: &mut Keys, resource: &[&Attr<'_>], c: &Counted) {
        self.rec += 1;
        let bk = self.buckets.of(c.seen.first);
        for (pos, a) in resource.iter().enumerate() {
            let v = value_text(&a.value, &mut self.buf);
            let k = keys.entry(pos, &a.key, c.seen.first, &mut self.budget);
            k.add(self.rec, c.count, v, PairInfo::of(a), c.seen.first, bk);
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
    /// The entities with records in the scope block being applied.
    scope_spans: Vec<Cow<'e, str>>,
    scope_metrics: Vec<Cow<'e, str>>,
    scope_logs: Vec<Cow<'e, str>>,
    /// Log event names.
    log_events: Vec<&'e str>,
    /// Per severity, the number of the batch's template group of the
    /// severity and the block's service (`TemplateGroups`): looked up once
    /// per block, so that a record costs no copy or hash of the service
    /// name, however long it is.
    templates: Map<String, usize>,
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
    /// The scope block's number (see `BlockCount`) and its scope's
    /// (`Batch::scopes`).
    scope_block: u64,
    scope: u32,
    /// `apply`'s `max_cost`, and the batch's key entries and entities
    /// before the payload.
    max_cost: usize,
    start: (usize, usize),
}

/// Whether the payload being applied has cost more than `max_cost` (see
/// [`Batch::apply`]).
#[inline]
fn over_cost(batch: &Batch, r: &Recorder, start: (usize, usize), max_cost: usize) -> bool {
    max_cost != usize::MAX
        && (r.budget.entries - start.0)
            .saturating_add((batch.entities() - start.1).saturating_mul(ENTITY_COST))
            > max_cost
}

impl Batch {
    /// Applies one decoded payload to the batch. `now` (unix seconds)
    /// stands in for absent timestamps; `templater` trains log bodies;
    /// `key_name_bound` is the most distinct key names a key table gives
    /// entries of their own (past it, names are folded into patterns).
    /// `max_cost`: the most the payload may add to the batch, counted as
    /// its new key entries plus [`ENTITY_COST`] per new entity (metric
    /// name, span name, severity, log event name); past it, applying stops
    /// with an error, the batch holding part of the payload.
    pub fn apply(
        &mut self,
        events: &[Event<'_>],
        now: i64,
        templater: &mut dyn Templater,
        key_name_bound: usize,
        max_cost: usize,
    ) -> Result<(), String> {
        self.blocks += 1;
        // Records before any scope (the decoders always send one) are of
        // the unknown scope.
        let scope = self.scopes.intern("", "");
        let mut a = Applier {
            r: Recorder {
                rec: self.records,
                budget: Budget {
                    entries: self.key_entries,
                    bound: key_name_bound,
                },
                buf: String::new(),
                buckets: Bucketer::new(self.bucket_width, now),
            },
            block_id: self.blocks,
            scope_block: self.blocks,
            scope,
            batch: self,
            now,
            templater,
            series: Series::default(),
            resource: Vec::new(),
            service: "unknown_service",
            block: Block::default(),
            max_cost,
            start: (0, 0),
        };
        a.start = (a.r.budget.entries, a.batch.entities());
        let mut i = 0;
        while i < events.len() {
            if over_cost(a.batch, &a.r, a.start, max_cost) {
                return Err(too_costly(max_cost));
            }
            i = match &events[i] {
                Event::Resource => a.resource(events, i),
                Event::Metric { .. } => a.metric(events, i),
                Event::DataPoint { .. } => return Err("a data point outside a metric".into()),
                Event::Span { .. } => a.span(events, i),
                Event::Log { .. } => a.log(events, i)?,
                Event::Scope { name, version } => a.scope(name, version, i),
                // Attributes are consumed with their record; a stray one
                // (and a scope's attributes) is skipped.
                _ => i + 1,
            };
        }
        a.end_block();
        if over_cost(a.batch, &a.r, a.start, max_cost) {
            return Err(too_costly(max_cost));
        }
        let (entries, records) = (a.r.budget.entries, a.r.rec);
        self.key_entries = entries;
        self.records = records;
        Ok(())
    }
}

/// The error of a payload past `max_cost`.
fn too_costly(max_cost: usize) -> String {
    format!(
        "the payload makes more than {max_cost} new catalog entries (each key of a metric, span name, severity or \
         log event name counts 1, each new one of those {ENTITY_COST}: many resource attributes on many span \
         names, or many thousands of distinct names, in one request); nothing of it was counted: send it in smaller \
         requests (the limit is per payload), or check its sender"
    )
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

    /// A scope (`events[i]`): a new scope block, in the resource block.
    #[inline]
    fn scope(&mut self, name: &str, version: &str, i: usize) -> usize {
        self.end_scope();
        self.batch.blocks += 1;
        self.scope_block = self.batch.blocks;
        self.scope = self.batch.scopes.intern(name, version);
        i + 1
    }

    /// The scope block's end: its records' counts go to their entities'
    /// scope counts of the resource block's service (selected by the
    /// entity's first record of the resource block, which the scope block
    /// lies in).
    fn end_scope(&mut self) {
        let (batch, scope) = (&mut *self.batch, self.scope);
        for name in self.block.scope_spans.drain(..) {
            if let Some(s) = batch.spans.get_mut(name.as_ref()) {
                s.svc.cur().scopes.add(scope, &s.in_scope.take());
            }
        }
        for name in self.block.scope_metrics.drain(..) {
            if let Some(m) = batch.metrics.get_mut(name.as_ref()) {
                m.svc.cur().scopes.add(scope, &m.in_scope.take());
            }
        }
        for sev in self.block.scope_logs.drain(..) {
            if let Some(l) = batch.logs.get_mut(sev.as_ref()) {
                l.svc.cur().scopes.add(scope, &l.in_scope.take());
            }
        }
    }

    /// The block's end: its records' counts go to their entities' services
    /// and resource keys, its log templates to the batch's groups.
    fn end_block(&mut self) {
        self.end_scope();
        let (batch, r, service) = (&mut *self.batch, &mut self.r, self.service);
        let resource = &self.resource[..];
        // The block's resource keys go to each of its entities: a payload
        // past its cost stops here (many resource keys on many entities).
        let (start, max_cost) = (self.start, self.max_cost);
        for name in self.block.spans.drain(..) {
            if let Some(s) = batch.spans.get_mut(name.as_ref()) {
                let c = s.in_block.take();
                counted(&mut s.services, service, c.seen.first).merge(&c);
                r.resource(&mut s.svc.cur().resource, resource, &c);
                let st = std::mem::take(&mut s.in_block_status);
                add3(entry(&mut s.service_status, service, || [0; 3]), &st);
            }
            if over_cost(batch, r, start, max_cost) {
                return;
            }
        }
        for name in self.block.metrics.drain(..) {
            if let Some(m) = batch.metrics.get_mut(name.as_ref()) {
                let c = m.in_block.take();
                counted(&mut m.services, service, c.seen.first).merge(&c);
                r.resource(&mut m.svc.cur().resource, resource, &c);
                let shape = (m.kind, m.temporality, m.monotonic);
                *entry(&mut m.service_shapes, service, || shape) = shape;
            }
            if over_cost(batch, r, start, max_cost) {
                return;
            }
        }
        for sev in self.block.logs.drain(..) {
            if let Some(l) = batch.logs.get_mut(sev.as_ref()) {
                let c = l.in_block.take();
                counted(&mut l.services, service, c.seen.first).merge(&c);
                r.resource(&mut l.svc.cur().resource, resource, &c);
                let tc = std::mem::take(&mut l.in_block_trace_context);
                add2(entry(&mut l.service_trace_context, service, || [0; 2]), &tc);
            }
            if over_cost(batch, r, start, max_cost) {
                return;
            }
        }
        for name in self.block.log_events.drain(..) {
            if let Some(e) = batch.log_events.get_mut(name) {
                let c = e.in_block.take();
                counted(&mut e.services, service, c.seen.first).merge(&c);
            }
        }
        self.block.templates.clear();
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
            bytes,
        } = &events[i]
        else {
            return i + 1;
        };
        // The Metric message's bytes count with its first point (a metric
        // without points has no records, and counts none).
        let mut bytes = u64::from(*bytes);
        let m = entry(&mut self.batch.metrics, name, || MetricAgg {
            kind: *kind,
            unit: String::new(),
            description: String::new(),
            total: Counted {
                count: 0,
                bytes: 0,
                seen: Seen::none(),
            },
            in_block: BlockCount::default(),
            in_scope: BlockCount::default(),
            services: Map::new(),
            svc: PerService::default(),
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
            m.total.bytes += bytes;
            m.shape.add(*kind, *buckets, *scale);
            let b = std::mem::take(&mut bytes);
            if m.in_block.add(self.block_id, t, b) {
                self.block.metrics.push(Cow::Borrowed(name));
                m.svc.select(self.service);
            }
            if m.in_scope.add(self.scope_block, t, b) {
                self.block.scope_metrics.push(Cow::Borrowed(name));
            }
            let part = m.svc.cur();
            part.volume.add(self.r.buckets.of(t), 1, b);
            let labels = &mut part.labels;
            let end = start + self.r.record(labels, &events[start..], dp_attr, t);
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
            bytes,
            dropped_attributes,
            dropped_events,
            dropped_links,
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
            in_scope: BlockCount::default(),
            services: Map::new(),
            svc: PerService::default(),
            status: [0; 3],
            in_block_status: [0; 3],
            service_status: Map::new(),
            dropped: [0; 3],
        });
        s.kind = *kind;
        s.total.add(1, t);
        s.total.bytes += u64::from(*bytes);
        let st = status_index(*status_code);
        s.status[st] += 1;
        s.in_block_status[st] += 1;
        let dropped = [*dropped_attributes, *dropped_events, *dropped_links];
        add3(&mut s.dropped, &dropped.map(u64::from));
        if s.in_block.add(self.block_id, t, u64::from(*bytes)) {
            self.block.spans.push(Cow::Borrowed(name));
            s.svc.select(self.service);
        }
        if s.in_scope.add(self.scope_block, t, u64::from(*bytes)) {
            self.block.scope_spans.push(Cow::Borrowed(name));
        }
        i += 1;
        let links_total = &mut s.links_total;
        let events_total = &mut s.events_total;
        let s = s.svc.cur();
        s.volume.add(self.r.buckets.of(t), 1, u64::from(*bytes));
        i += self.r.record(&mut s.attrs, &events[i..], span_attr, t);
        loop {
            match events.get(i) {
                Some(Event::SpanEvent {
                    name: ev,
                    time_unix_nano,
                }) => {
                    let te = secs(*time_unix_nano, t);
                    i += 1;
                    *events_total += 1;
                    let e = entry(&mut s.events, ev, || EventAgg {
                        total: Counted::new(te),
                        keys: Keys::default(),
                    });
                    e.total.add(1, te);
                    i += self.r.record(&mut e.keys, &events[i..], event_attr, te);
                }
                Some(Event::SpanLink) => {
                    i += 1;
                    *links_total += 1;
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
            event_name,
            time_unix_nano,
            body,
            bytes,
            dropped_attributes,
            has_trace_id,
            has_span_id,
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
            in_scope: BlockCount::default(),
            services: Map::new(),
            svc: PerService::default(),
            dropped_attributes: 0,
            trace_context: [0; 2],
            in_block_trace_context: [0; 2],
            service_trace_context: Map::new(),
        });
        let bytes = u64::from(*bytes);
        l.total.add(1, t);
        l.total.bytes += bytes;
        l.dropped_attributes += u64::from(*dropped_attributes);
        let tc = [u64::from(*has_trace_id), u64::from(*has_span_id)];
        add2(&mut l.trace_context, &tc);
        add2(&mut l.in_block_trace_context, &tc);
        let first_in_block = l.in_block.add(self.block_id, t, bytes);
        if first_in_block {
            l.svc.select(self.service);
        }
        let first_in_scope = l.in_scope.add(self.scope_block, t, bytes);
        let bk = self.r.buckets.of(t);
        l.svc.cur().volume.add(bk, 1, bytes);
        i += 1;
        let attrs = i;
        if event_name.is_empty() {
            i += self
                .r
                .record(&mut l.svc.cur().attrs, &events[i..], log_attr, t);
        } else {
            // An event record: its attributes are its event name's keys too.
            let entries = &mut self.r.budget.entries;
            let e = entry(&mut self.batch.log_events, event_name, || {
                *entries += 1;
                LogEventAgg::new(t)
            });
            e.total.add(1, t);
            e.total.bytes += bytes;
            e.dropped_attributes += u64::from(*dropped_attributes);
            add2(&mut e.trace_context, &tc);
            if e.in_block.add(self.block_id, t, bytes) {
                self.block.log_events.push(event_name);
            }
            let sev_keys = &mut l.svc.cur().attrs;
            i += self
                .r
                .record_twice(sev_keys, &mut e.attrs, &events[i..], log_attr, t);
        }
        // The body's template, and the keys of its record.
        let text = match body {
            None => "",
            Some(v) => value_text(v, &mut self.r.buf),
        };
        let (cluster, merged) = self.templater.train(&sev, self.service, text)?;
        let group = match self.block.templates.get(sev.as_ref()) {
            Some(&n) => n,
            None => {
                let n = self.batch.templates.number(&sev, self.service);
                self.block.templates.insert(sev.to_string(), n);
                n
            }
        };
        let c = self
            .batch
            .templates
            .get_mut(group)
            .add(cluster, merged, t, bk, bytes);
        for (pos, a) in events[attrs..i].iter().map_while(log_attr).enumerate() {
            c.keys
                .entry(pos, &a.key, t, &mut self.r.budget)
                .add(self.r.rec, t);
        }
        if first_in_scope {
            self.block.scope_logs.push(sev.clone());
        }
        if first_in_block {
            self.block.logs.push(sev);
        }
        Ok(i)
    }
}
