//! OTLP/JSON decoder: a small recursive-descent parser made for OTLP.
//!
//! Why not serde_json (the crate the project rule would prefer): even with
//! borrowing seeds that write events straight into the output, serde_json
//! (and sonic-rs behind the same seeds) decoded about half as fast
//! (docs/BENCHMARKS.md, "Decoders"), most of the time in the tokenizer and
//! the visitor plumbing. This parser validates UTF-8 once for the whole
//! payload, borrows every string without escapes, finds string ends eight
//! bytes at a time and matches field names directly. The tests check it
//! against prost-encoded random requests written as JSON with quirks, and
//! against serde_json on mutated input (it accepts no invalid JSON).
//!
//! Accepted, as senders write it:
//! - several requests separated by whitespace: JSON Lines as the Collector's
//!   file exporter writes them (each line may be a different signal), or
//!   pretty-printed requests one after the other; a leading UTF-8 BOM;
//! - lowerCamelCase field names (the spec) and their snake_case forms;
//! - 64-bit integers (times, `intValue`) as JSON numbers or strings; times
//!   as non-negative floats too;
//! - enums (`kind`, `severityNumber`, `aggregationTemporality`) as numbers,
//!   numeric strings or names, with or without their prefix (`2`,
//!   `"SPAN_KIND_SERVER"`, `"SERVER"`); an unknown name reads as 0;
//! - doubles as numbers or strings (`"NaN"`, `"Infinity"`, `"-Infinity"`,
//!   `"1.5"`); numbers beyond the range of f64 read as infinities;
//! - `bytesValue` in standard or URL-safe base64, padded or not;
//! - `null` for any field: absent for scalars and `body`, empty for objects
//!   and lists; unknown fields anywhere (skipped, syntax still checked, up
//!   to 128 levels deep); any trace and span ids (not read).
//!
//! Rejected: invalid JSON (including raw control characters in strings,
//! lone surrogate escapes, trailing commas); a document that is not an
//! object or has none of `resourceSpans`, `resourceMetrics`,
//! `resourceLogs` (so `{}` too); an empty payload; values of the wrong JSON
//! type for known fields.

mod syntax;
mod value;

use std::borrow::Cow;

use super::clip::clip_name;
use super::{
    AttrTarget, Ctx, DecodeError, ErrorKind, Event, Fail, Fallible, MetricKind, Position, Sections,
    Signal, SpanKind, Within, empty_log, empty_metric, empty_scope, empty_span, empty_span_event,
    failure, metric_event, render_path, saturate, size,
};

/// Deepest nesting of containers in skipped (unknown) values.
const MAX_SKIP_DEPTH: usize = 128;

pub(super) fn decode<'a>(payload: &'a [u8], ctx: &mut Ctx<'a>) -> Result<(), DecodeError> {
    let bytes = payload.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(payload);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(bytes, e.valid_up_to());
        DecodeError::new(ErrorKind::Json, "invalid UTF-8").at(
            Position::Text {
                line,
                column,
                document: 0,
            },
            String::new(),
        )
    })?;
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        pos: 0,
    };
    if p.peek().is_none() {
        return Err(DecodeError::new(ErrorKind::Json, "empty payload"));
    }
    let mut document = 0;
    while p.peek().is_some() {
        document += 1;
        if let Err(e) = p.request(ctx) {
            let (line, column) = line_column(bytes, e.pos);
            return Err(DecodeError::new(ErrorKind::Json, e.message).at(
                Position::Text {
                    line,
                    column,
                    document,
                },
                render_path(&e.path),
            ));
        }
        ctx.summary.requests += 1;
    }
    Ok(())
}

/// The 1-based line and column of byte `pos`.
fn line_column(b: &[u8], pos: usize) -> (usize, usize) {
    let before = &b[..pos.min(b.len())];
    let line = 1 + before.iter().filter(|&&c| c == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    (line, pos - line_start + 1)
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// The state of an object or array being read.
struct Container {
    first: bool,
    done: bool,
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

// ---------------------------------------------------------------------------
// OTLP.

impl<'a> Parser<'a> {
    fn request(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let start = self.pos;
        if self.peek() != Some(b'{') {
            return Err(self.expected("an OTLP/JSON export request object"));
        }
        let mut found = false;
        let mut c = self.object("")?;
        while let Some(key) = self.key(&mut c)? {
            let signal = match &*key {
                "resourceSpans" | "resource_spans" => Signal::Traces,
                "resourceMetrics" | "resource_metrics" => Signal::Metrics,
                "resourceLogs" | "resource_logs" => Signal::Logs,
                _ => {
                    self.skip(0)?;
                    continue;
                }
            };
            found = true;
            self.list(ctx, signal.request_field(), |p, ctx, _| {
                p.resource_block(ctx, signal)
            })?;
        }
        if !found {
            return Err(failure(
                start,
                "not an OTLP export request: no resourceSpans, resourceMetrics or resourceLogs",
            ));
        }
        Ok(())
    }

    fn resource_block(&mut self, ctx: &mut Ctx<'a>, signal: Signal) -> Fallible<()> {
        let at = ctx.open(Event::Resource).map_err(|f| self.fail(f))?;
        // The resource's attributes, then the scope blocks.
        let mut sections = Sections::<2>::new(at + 1);
        // The resource's attributes, counted together for the limit even
        // when "resource" (or its "attributes") comes twice.
        let mut n_attrs = 0;
        let mut c = self.object("a resource block object")?;
        while let Some(key) = self.key(&mut c)? {
            let mark = ctx.out.len();
            match (signal, &*key) {
                (_, "resource") => {
                    let target = AttrTarget::Resource;
                    let before = n_attrs;
                    self.attributes_only(ctx, target, &mut n_attrs)
                        .within("resource", None)?;
                    ctx.summary.resource_attrs += n_attrs - before;
                    sections.place(&ctx.out, 0, mark);
                }
                (Signal::Traces, "scopeSpans" | "scope_spans")
                | (Signal::Metrics, "scopeMetrics" | "scope_metrics")
                | (Signal::Logs, "scopeLogs" | "scope_logs") => {
                    self.list(ctx, signal.scope_field(), |p, ctx, _| {
                        p.scope_block(ctx, signal)
                    })?;
                    sections.place(&ctx.out, 1, mark);
                }
                _ => self.skip(0)?,
            }
        }
        sections.finish(&mut ctx.out);
        Ok(())
    }

    /// An object of which only `attributes` is read: a resource or a link.
    /// `n`: the record's attributes so far.
    fn attributes_only(
        &mut self,
        ctx: &mut Ctx<'a>,
        target: AttrTarget,
        n: &mut usize,
    ) -> Fallible<()> {
        let mut c = self.object("an object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "attributes" => {
                    self.attributes(ctx, target, n)?;
                }
                _ => self.skip(0)?,
            }
        }
        Ok(())
    }

    fn scope_block(&mut self, ctx: &mut Ctx<'a>, signal: Signal) -> Fallible<()> {
        let at = ctx.open(empty_scope()).map_err(|f| self.fail(f))?;
        // The scope's attributes, then the records.
        let mut sections = Sections::<2>::new(at + 1);
        let (mut name, mut version) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut n_attrs = 0;
        let mut c = self.object("a scope block object")?;
        while let Some(key) = self.key(&mut c)? {
            let mark = ctx.out.len();
            match (signal, &*key) {
                (_, "scope") => {
                    (name, version) = self.scope(ctx, &mut n_attrs).within("scope", None)?;
                    sections.place(&ctx.out, 0, mark);
                }
                (Signal::Traces, "spans") => {
                    self.list(ctx, "spans", |p, ctx, _| p.span(ctx))?;
                    sections.place(&ctx.out, 1, mark);
                }
                (Signal::Metrics, "metrics") => {
                    self.list(ctx, "metrics", |p, ctx, _| p.metric(ctx))?;
                    sections.place(&ctx.out, 1, mark);
                }
                (Signal::Logs, "logRecords" | "log_records") => {
                    self.list(ctx, "logRecords", |p, ctx, _| p.log(ctx))?;
                    sections.place(&ctx.out, 1, mark);
                }
                _ => self.skip(0)?,
            }
        }
        sections.finish(&mut ctx.out);
        ctx.fill(
            at,
            Event::Scope {
                name: clip_name(name),
                version: clip_name(version),
            },
        );
        Ok(())
    }

    /// `n`: the scope's attributes so far.
    fn scope(
        &mut self,
        ctx: &mut Ctx<'a>,
        n: &mut usize,
    ) -> Fallible<(Cow<'a, str>, Cow<'a, str>)> {
        let (mut name, mut version) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut c = self.object("a scope object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "name" => set(&mut name, self.opt_str().within("name", None)?),
                "version" => set(&mut version, self.opt_str().within("version", None)?),
                "attributes" => {
                    self.attributes(ctx, AttrTarget::Scope, n)?;
                }
                _ => self.skip(0)?,
            }
        }
        Ok((name, version))
    }

    fn span(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_span()).map_err(|f| self.fail(f))?;
        // Attributes, events, links.
        let mut sections = Sections::<3>::new(at + 1);
        let mut name = Cow::Borrowed("");
        let (mut kind, mut start, mut end, mut status) = (0, 0, 0, 0);
        let mut n_attrs = 0;
        // Bytes in protobuf: of the lists as they come, of the scalars
        // (the last value of a field repeated) at the end.
        let mut lists = 0;
        let (mut trace_id, mut span_id, mut parent, mut state) = (0, 0, 0, 0);
        let (mut dropped, mut flags) = ([0u32; 3], 0);
        let mut status_bytes = None;
        let mut c = self.object("a span object")?;
        while let Some(key) = self.key(&mut c)? {
            let mark = ctx.out.len();
            match &*key {
                "name" => set(&mut name, self.opt_str().within("name", None)?),
                "kind" => set(
                    &mut kind,
                    self.opt_enum(span_kind_name).within("kind", None)?,
                ),
                "startTimeUnixNano" | "start_time_unix_nano" => set(
                    &mut start,
                    self.opt_u64().within("startTimeUnixNano", None)?,
                ),
                "endTimeUnixNano" | "end_time_unix_nano" => {
                    set(&mut end, self.opt_u64().within("endTimeUnixNano", None)?)
                }
                "traceId" | "trace_id" => {
                    set(&mut trace_id, self.id_len().within("traceId", None)?)
                }
                "spanId" | "span_id" => set(&mut span_id, self.id_len().within("spanId", None)?),
                "parentSpanId" | "parent_span_id" => {
                    set(&mut parent, self.id_len().within("parentSpanId", None)?)
                }
                "traceState" | "trace_state" => set(
                    &mut state,
                    self.opt_str().within("traceState", None)?.map(|s| s.len()),
                ),
                "droppedAttributesCount" | "dropped_attributes_count" => set(
                    &mut dropped[0],
                    self.opt_u32().within("droppedAttributesCount", None)?,
                ),
                "droppedEventsCount" | "dropped_events_count" => set(
                    &mut dropped[1],
                    self.opt_u32().within("droppedEventsCount", None)?,
                ),
                "droppedLinksCount" | "dropped_links_count" => set(
                    &mut dropped[2],
                    self.opt_u32().within("droppedLinksCount", None)?,
                ),
                "flags" => set(&mut flags, self.opt_u32().within("flags", None)?),
                "status" => {
                    if self.null()? {
                        status_bytes = None;
                    } else {
                        let (code, bytes) = self.status().within("status", None)?;
                        set(&mut status, code);
                        status_bytes = Some(bytes);
                    }
                }
                "attributes" => {
                    lists += self.attributes(ctx, AttrTarget::Span, &mut n_attrs)?;
                    sections.place(&ctx.out, 0, mark);
                }
                "events" => {
                    self.list(ctx, "events", |p, ctx, _| {
                        lists += p.span_event(ctx)?;
                        Ok(())
                    })?;
                    sections.place(&ctx.out, 1, mark);
                }
                "links" => {
                    self.list(ctx, "links", |p, ctx, _| {
                        lists += p.span_link(ctx)?;
                        Ok(())
                    })?;
                    sections.place(&ctx.out, 2, mark);
                }
                _ => self.skip(0)?,
            }
        }
        sections.finish(&mut ctx.out);
        let bytes = lists
            + size::bytes_field(trace_id)
            + size::bytes_field(span_id)
            + size::bytes_field(state)
            + size::bytes_field(parent)
            + size::bytes_field(name.len())
            + size::int32_field(kind)
            + size::fixed64_field(start != 0)
            + size::fixed64_field(end != 0)
            + dropped.iter().map(|&d| size::varint_field(d.into())).sum::<usize>()
            + status_bytes.map_or(0, size::len_field)
            // `flags` is field 16: a two-byte tag.
            + size::fixed32_field(flags)
            + usize::from(flags != 0);
        ctx.fill(
            at,
            Event::Span {
                name: clip_name(name),
                kind: SpanKind::from_i32(kind),
                start_time_unix_nano: start,
                status_code: status,
                bytes: saturate(size::len_field(bytes)),
                dropped_attributes: dropped[0],
                dropped_events: dropped[1],
                dropped_links: dropped[2],
            },
        );
        Ok(())
    }

    /// A span event; returns the bytes of its field in the span.
    fn span_event(&mut self, ctx: &mut Ctx<'a>) -> Fallible<usize> {
        let at = ctx.open(empty_span_event()).map_err(|f| self.fail(f))?;
        let mut name = Cow::Borrowed("");
        let (mut time, mut dropped) = (0, 0);
        let mut n_attrs = 0;
        let mut bytes = 0;
        let mut c = self.object("a span event object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "name" => set(&mut name, self.opt_str().within("name", None)?),
                "timeUnixNano" | "time_unix_nano" => {
                    set(&mut time, self.opt_u64().within("timeUnixNano", None)?)
                }
                "attributes" => {
                    bytes += self.attributes(ctx, AttrTarget::SpanEvent, &mut n_attrs)?
                }
                "droppedAttributesCount" | "dropped_attributes_count" => set(
                    &mut dropped,
                    self.opt_u32().within("droppedAttributesCount", None)?,
                ),
                _ => self.skip(0)?,
            }
        }
        bytes += size::fixed64_field(time != 0)
            + size::bytes_field(name.len())
            + size::varint_field(dropped.into());
        ctx.fill(
            at,
            Event::SpanEvent {
                name: clip_name(name),
                time_unix_nano: time,
            },
        );
        Ok(size::len_field(bytes))
    }

    /// A span link; returns the bytes of its field in the span.
    fn span_link(&mut self, ctx: &mut Ctx<'a>) -> Fallible<usize> {
        ctx.open(Event::SpanLink).map_err(|f| self.fail(f))?;
        let (mut trace_id, mut span_id, mut state) = (0, 0, 0);
        let (mut dropped, mut flags) = (0, 0);
        let mut n_attrs = 0;
        let mut bytes = 0;
        let mut c = self.object("a span link object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "attributes" => {
                    bytes += self.attributes(ctx, AttrTarget::SpanLink, &mut n_attrs)?
                }
                "traceId" | "trace_id" => {
                    set(&mut trace_id, self.id_len().within("traceId", None)?)
                }
                "spanId" | "span_id" => set(&mut span_id, self.id_len().within("spanId", None)?),
                "traceState" | "trace_state" => set(
                    &mut state,
                    self.opt_str().within("traceState", None)?.map(|s| s.len()),
                ),
                "droppedAttributesCount" | "dropped_attributes_count" => set(
                    &mut dropped,
                    self.opt_u32().within("droppedAttributesCount", None)?,
                ),
                "flags" => set(&mut flags, self.opt_u32().within("flags", None)?),
                _ => self.skip(0)?,
            }
        }
        bytes += size::bytes_field(trace_id)
            + size::bytes_field(span_id)
            + size::bytes_field(state)
            + size::varint_field(dropped.into())
            + size::fixed32_field(flags);
        Ok(size::len_field(bytes))
    }

    fn metric(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_metric()).map_err(|f| self.fail(f))?;
        let (mut name, mut description, mut unit) =
            (Cow::Borrowed(""), Cow::Borrowed(""), Cow::Borrowed(""));
        let mut kind = MetricKind::Unknown;
        let (mut temporality, mut monotonic) = (0, false);
        // Bytes in protobuf: `metadata`, and the data field (a oneof: the
        // last one sent).
        let (mut metadata, mut data) = (0, None);
        let mut c = self.object("a metric object")?;
        while let Some(key) = self.key(&mut c)? {
            let (k, field) = match &*key {
                "name" => {
                    set(&mut name, self.opt_str().within("name", None)?);
                    continue;
                }
                "description" => {
                    set(
                        &mut description,
                        self.opt_str().within("description", None)?,
                    );
                    continue;
                }
                "unit" => {
                    set(&mut unit, self.opt_str().within("unit", None)?);
                    continue;
                }
                "metadata" => {
                    metadata += self.key_value_bytes(ctx, "metadata")?;
                    continue;
                }
                "gauge" => (MetricKind::Gauge, "gauge"),
                "sum" => (MetricKind::Sum, "sum"),
                "histogram" => (MetricKind::Histogram, "histogram"),
                "exponentialHistogram" | "exponential_histogram" => {
                    (MetricKind::ExponentialHistogram, "exponentialHistogram")
                }
                "summary" => (MetricKind::Summary, "summary"),
                _ => {
                    self.skip(0)?;
                    continue;
                }
            };
            kind = k;
            let bytes;
            (temporality, monotonic, bytes) = self.metric_data(ctx, k).within(field, None)?;
            data = Some(bytes);
        }
        let bytes = size::bytes_field(name.len())
            + size::bytes_field(description.len())
            + size::bytes_field(unit.len())
            + metadata
            + data.map_or(0, size::len_field);
        ctx.fill(
            at,
            metric_event(
                clip_name(name),
                kind,
                unit,
                description,
                temporality,
                monotonic,
                size::len_field(bytes),
            ),
        );
        Ok(())
    }

    /// The `gauge`, `sum`, ... object of a metric of `kind`: its
    /// temporality and monotonicity, and its bytes in protobuf.
    fn metric_data(&mut self, ctx: &mut Ctx<'a>, kind: MetricKind) -> Fallible<(i32, bool, usize)> {
        let (mut temporality, mut monotonic) = (0, false);
        let mut points = 0;
        let mut c = self.object("a metric data object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "dataPoints" | "data_points" => self.list(ctx, "dataPoints", |p, ctx, _| {
                    points += p.data_point(ctx, kind)?;
                    Ok(())
                })?,
                "aggregationTemporality" | "aggregation_temporality" => set(
                    &mut temporality,
                    self.opt_enum(temporality_name)
                        .within("aggregationTemporality", None)?,
                ),
                "isMonotonic" | "is_monotonic" => {
                    set(&mut monotonic, self.opt_bool().within("isMonotonic", None)?)
                }
                _ => self.skip(0)?,
            }
        }
        // Gauges and summaries have no temporality, only sums monotonicity.
        let has_temporality = !matches!(kind, MetricKind::Gauge | MetricKind::Summary);
        let bytes = points
            + if has_temporality {
                size::int32_field(temporality)
            } else {
                0
            }
            + if kind == MetricKind::Sum && monotonic {
                2
            } else {
                0
            };
        Ok((temporality, monotonic, bytes))
    }

    /// A data point of a metric of `kind`; returns the bytes of its field
    /// in protobuf.
    fn data_point(&mut self, ctx: &mut Ctx<'a>, kind: MetricKind) -> Fallible<usize> {
        let at = ctx
            .open(Event::DataPoint {
                time_unix_nano: 0,
                buckets: 0,
                scale: 0,
            })
            .map_err(|f| self.fail(f))?;
        let (mut time, mut start, mut count, mut zero_count) = (0, 0, 0, 0);
        let (mut buckets, mut scale) = (0u32, 0);
        let mut n_attrs = 0;
        // Bytes in protobuf: of lists as they come; of scalars at the end
        // (`optional` and oneof fields count when set, even to 0).
        let mut lists = 0;
        let (mut value, mut sum, mut min, mut max) = (false, None, false, false);
        let (mut flags, mut zero_threshold) = (0, 0.0);
        let mut c = self.object("a data point object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "timeUnixNano" | "time_unix_nano" => {
                    set(&mut time, self.opt_u64().within("timeUnixNano", None)?)
                }
                "startTimeUnixNano" | "start_time_unix_nano" => set(
                    &mut start,
                    self.opt_u64().within("startTimeUnixNano", None)?,
                ),
                "attributes" => {
                    lists += self.attributes(ctx, AttrTarget::DataPoint, &mut n_attrs)?
                }
                // The shape of histograms and summaries (which field a
                // point of a metric kind may carry is not checked: a point
                // has the fields of its kind only).
                "explicitBounds" | "explicit_bounds" => {
                    let n = self.count(ctx, "explicitBounds")?;
                    buckets = buckets.saturating_add(n);
                    lists += size::bytes_field(8 * n as usize);
                }
                "bucketCounts" | "bucket_counts" => {
                    let n = self.count(ctx, "bucketCounts")?;
                    lists += size::bytes_field(8 * n as usize);
                }
                "quantileValues" | "quantile_values" => {
                    self.list(ctx, "quantileValues", |p, _, _| {
                        buckets = buckets.saturating_add(1);
                        lists += size::len_field(p.quantile()?);
                        Ok(())
                    })?;
                }
                "positive" | "negative" => {
                    if !self.null()? {
                        let (n, bytes) = self.buckets().within("positive", None)?;
                        buckets = buckets.saturating_add(n);
                        lists += size::len_field(bytes);
                    }
                }
                "exemplars" => self.list(ctx, "exemplars", |p, ctx, _| {
                    lists += size::len_field(p.exemplar(ctx)?);
                    Ok(())
                })?,
                "scale" => set(
                    &mut scale,
                    self.opt_i64().within("scale", None)?.map(|v| v as i32),
                ),
                "count" => set(&mut count, self.opt_u64().within("count", None)?),
                "zeroCount" | "zero_count" => {
                    set(&mut zero_count, self.opt_u64().within("zeroCount", None)?)
                }
                "zeroThreshold" | "zero_threshold" => set(
                    &mut zero_threshold,
                    self.opt_f64().within("zeroThreshold", None)?,
                ),
                "sum" => sum = self.opt_f64().within("sum", None)?.or(sum),
                "min" => min |= self.opt_f64().within("min", None)?.is_some(),
                "max" => max |= self.opt_f64().within("max", None)?.is_some(),
                "asDouble" | "as_double" => {
                    value |= self.opt_f64().within("asDouble", None)?.is_some()
                }
                "asInt" | "as_int" => value |= self.opt_i64().within("asInt", None)?.is_some(),
                "flags" => set(&mut flags, self.opt_u32().within("flags", None)?),
                _ => self.skip(0)?,
            }
        }
        // A summary's sum is a plain double, a histogram's `optional`.
        let sum_bytes = match (kind, sum) {
            (_, None) => 0,
            (MetricKind::Summary, Some(v)) => size::fixed64_field(v != 0.0),
            (MetricKind::Histogram | MetricKind::ExponentialHistogram, Some(_)) => 9,
            _ => 0,
        };
        let bytes = lists
            + size::fixed64_field(time != 0)
            + size::fixed64_field(start != 0)
            + size::fixed64_field(count != 0)
            + size::fixed64_field(zero_count != 0)
            + size::fixed64_field(zero_threshold != 0.0)
            + size::sint32_field(scale)
            + sum_bytes
            + 9 * usize::from(min)
            + 9 * usize::from(max)
            + 9 * usize::from(value)
            + size::varint_field(flags.into());
        ctx.fill(
            at,
            Event::DataPoint {
                time_unix_nano: time,
                buckets,
                scale,
            },
        );
        Ok(size::len_field(bytes))
    }

    /// A span's `status` object: its `code`, if set, and its bytes in
    /// protobuf.
    fn status(&mut self) -> Fallible<(Option<i32>, usize)> {
        let mut code = None;
        let mut message = 0;
        let mut c = self.object("a status object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "code" => {
                    if let Some(v) = self.opt_enum(status_code_name).within("code", None)? {
                        code = Some(v);
                    }
                }
                "message" => set(
                    &mut message,
                    self.opt_str().within("message", None)?.map(|s| s.len()),
                ),
                _ => self.skip(0)?,
            }
        }
        Ok((
            code,
            size::bytes_field(message) + size::int32_field(code.unwrap_or(0)),
        ))
    }

    /// A summary point's quantile value: its bytes in protobuf.
    fn quantile(&mut self) -> Fallible<usize> {
        let (mut quantile, mut value) = (0.0, 0.0);
        let mut c = self.object("a quantile value object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "quantile" => set(&mut quantile, self.opt_f64().within("quantile", None)?),
                "value" => set(&mut value, self.opt_f64().within("value", None)?),
                _ => self.skip(0)?,
            }
        }
        Ok(size::fixed64_field(quantile != 0.0) + size::fixed64_field(value != 0.0))
    }

    /// An exemplar: its bytes in protobuf.
    fn exemplar(&mut self, ctx: &mut Ctx<'a>) -> Fallible<usize> {
        let (mut time, mut value, mut trace_id, mut span_id) = (0, false, 0, 0);
        let mut bytes = 0;
        let mut c = self.object("an exemplar object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "filteredAttributes" | "filtered_attributes" => {
                    bytes += self.key_value_bytes(ctx, "filteredAttributes")?
                }
                "timeUnixNano" | "time_unix_nano" => {
                    set(&mut time, self.opt_u64().within("timeUnixNano", None)?)
                }
                "asDouble" | "as_double" => {
                    value |= self.opt_f64().within("asDouble", None)?.is_some()
                }
                "asInt" | "as_int" => value |= self.opt_i64().within("asInt", None)?.is_some(),
                "traceId" | "trace_id" => {
                    set(&mut trace_id, self.id_len().within("traceId", None)?)
                }
                "spanId" | "span_id" => set(&mut span_id, self.id_len().within("spanId", None)?),
                _ => self.skip(0)?,
            }
        }
        Ok(bytes
            + size::fixed64_field(time != 0)
            + 9 * usize::from(value)
            + size::bytes_field(trace_id)
            + size::bytes_field(span_id))
    }

    /// The number of elements of a list whose elements are not read.
    fn count(&mut self, ctx: &mut Ctx<'a>, name: &'static str) -> Fallible<u32> {
        let mut n = 0u32;
        self.list(ctx, name, |p, _, _| {
            n = n.saturating_add(1);
            p.skip(0)
        })?;
        Ok(n)
    }

    /// An exponential histogram's `positive` or `negative` buckets: how
    /// many bucket counts there are, and the bytes of the message in
    /// protobuf.
    fn buckets(&mut self) -> Fallible<(u32, usize)> {
        let (mut n, mut packed, mut offset) = (0u32, 0, 0);
        let mut c = self.object("a buckets object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "bucketCounts" | "bucket_counts" => {
                    let mut l = self.array("a list").within("bucketCounts", None)?;
                    let mut i = 0;
                    while self.item(&mut l).within("bucketCounts", Some(i))? {
                        let v = self.opt_u64().within("bucketCounts", Some(i))?;
                        n = n.saturating_add(1);
                        packed += size::varint_len(v.unwrap_or(0));
                        i += 1;
                    }
                }
                "offset" => set(
                    &mut offset,
                    self.opt_i64().within("offset", None)?.map(|v| v as i32),
                ),
                _ => self.skip(0)?,
            }
        }
        Ok((n, size::sint32_field(offset) + size::bytes_field(packed)))
    }

    fn log(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_log()).map_err(|f| self.fail(f))?;
        let (mut time, mut observed, mut severity_number) = (0, 0, 0);
        let (mut severity_text, mut event_name) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut body = None;
        let mut n_attrs = 0;
        let mut attrs = 0;
        let (mut trace_id, mut span_id, mut dropped, mut flags) = (0, 0, 0, 0);
        let mut c = self.object("a log record object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "timeUnixNano" | "time_unix_nano" => {
                    set(&mut time, self.opt_u64().within("timeUnixNano", None)?)
                }
                "observedTimeUnixNano" | "observed_time_unix_nano" => set(
                    &mut observed,
                    self.opt_u64().within("observedTimeUnixNano", None)?,
                ),
                "severityNumber" | "severity_number" => set(
                    &mut severity_number,
                    self.opt_enum(severity_name)
                        .within("severityNumber", None)?,
                ),
                "severityText" | "severity_text" => set(
                    &mut severity_text,
                    self.opt_str().within("severityText", None)?,
                ),
                "eventName" | "event_name" => {
                    set(&mut event_name, self.opt_str().within("eventName", None)?)
                }
                "body" => {
                    body = if self.null()? {
                        None
                    } else {
                        Some(self.any_value(ctx, 1).within("body", None)?)
                    }
                }
                "attributes" => attrs += self.attributes(ctx, AttrTarget::Log, &mut n_attrs)?,
                "traceId" | "trace_id" => {
                    set(&mut trace_id, self.id_len().within("traceId", None)?)
                }
                "spanId" | "span_id" => set(&mut span_id, self.id_len().within("spanId", None)?),
                "droppedAttributesCount" | "dropped_attributes_count" => set(
                    &mut dropped,
                    self.opt_u32().within("droppedAttributesCount", None)?,
                ),
                "flags" => set(&mut flags, self.opt_u32().within("flags", None)?),
                _ => self.skip(0)?,
            }
        }
        let bytes = attrs
            + size::fixed64_field(time != 0)
            + size::fixed64_field(observed != 0)
            + size::int32_field(severity_number)
            + size::bytes_field(severity_text.len())
            + body
                .as_ref()
                .map_or(0, |b| size::len_field(b.encoded_len()))
            + size::varint_field(dropped.into())
            + size::fixed32_field(flags)
            + size::bytes_field(trace_id)
            + size::bytes_field(span_id)
            + size::bytes_field(event_name.len());
        ctx.fill(
            at,
            Event::Log {
                severity_number,
                severity_text: clip_name(severity_text),
                event_name: clip_name(event_name),
                time_unix_nano: if time != 0 { time } else { observed },
                body,
                bytes: saturate(size::len_field(bytes)),
                dropped_attributes: dropped,
                has_trace_id: trace_id != 0,
                has_span_id: span_id != 0,
            },
        );
        Ok(())
    }

    /// A trace or span id (hex): its length in bytes (half its digits).
    fn id_len(&mut self) -> Fallible<Option<usize>> {
        Ok(self.opt_str()?.map(|s| s.len() / 2))
    }

    /// A `uint32` or `fixed32`: as protobuf reads a larger number, its low
    /// 32 bits.
    fn opt_u32(&mut self) -> Fallible<Option<u32>> {
        Ok(self.opt_u64()?.map(|v| v as u32))
    }
}

fn span_kind_name(s: &str) -> Option<i32> {
    Some(match s.strip_prefix("SPAN_KIND_").unwrap_or(s) {
        "UNSPECIFIED" => 0,
        "INTERNAL" => 1,
        "SERVER" => 2,
        "CLIENT" => 3,
        "PRODUCER" => 4,
        "CONSUMER" => 5,
        _ => return None,
    })
}

fn status_code_name(s: &str) -> Option<i32> {
    match s {
        "STATUS_CODE_UNSET" => Some(0),
        "STATUS_CODE_OK" => Some(1),
        "STATUS_CODE_ERROR" => Some(2),
        _ => None,
    }
}

fn temporality_name(s: &str) -> Option<i32> {
    Some(
        match s.strip_prefix("AGGREGATION_TEMPORALITY_").unwrap_or(s) {
            "UNSPECIFIED" => 0,
            "DELTA" => 1,
            "CUMULATIVE" => 2,
            _ => return None,
        },
    )
}

/// `SEVERITY_NUMBER_INFO` → 9, `SEVERITY_NUMBER_WARN3` → 15, ...
fn severity_name(s: &str) -> Option<i32> {
    let s = s.strip_prefix("SEVERITY_NUMBER_").unwrap_or(s);
    if s == "UNSPECIFIED" {
        return Some(0);
    }
    let (base, step) = match s.as_bytes().last() {
        Some(&d @ b'2'..=b'4') => (&s[..s.len() - 1], i32::from(d - b'1')),
        _ => (s, 0),
    };
    let first = match base {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "WARN" => 13,
        "ERROR" => 17,
        "FATAL" => 21,
        _ => return None,
    };
    Some(first + step)
}
