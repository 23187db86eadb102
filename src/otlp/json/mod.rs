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

use super::{
    AttrTarget, Ctx, DecodeError, ErrorKind, Event, Fail, Fallible, MetricKind, Position, Sections,
    Signal, SpanKind, Within, empty_log, empty_metric, empty_scope, empty_span, empty_span_event,
    failure, metric_event, render_path,
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
                    self.attributes_only(ctx, target, &mut n_attrs)
                        .within("resource", None)?;
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
                "attributes" => self.attributes(ctx, target, n)?,
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
        ctx.fill(at, Event::Scope { name, version });
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
                "attributes" => self.attributes(ctx, AttrTarget::Scope, n)?,
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
        let (mut kind, mut start, mut status) = (0, 0, 0);
        let mut n_attrs = 0;
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
                "status" => set(&mut status, self.status_code().within("status", None)?),
                "attributes" => {
                    self.attributes(ctx, AttrTarget::Span, &mut n_attrs)?;
                    sections.place(&ctx.out, 0, mark);
                }
                "events" => {
                    self.list(ctx, "events", |p, ctx, _| p.span_event(ctx))?;
                    sections.place(&ctx.out, 1, mark);
                }
                "links" => {
                    self.list(ctx, "links", |p, ctx, _| {
                        ctx.open(Event::SpanLink).map_err(|f| p.fail(f))?;
                        p.attributes_only(ctx, AttrTarget::SpanLink, &mut 0)
                    })?;
                    sections.place(&ctx.out, 2, mark);
                }
                _ => self.skip(0)?,
            }
        }
        sections.finish(&mut ctx.out);
        ctx.fill(
            at,
            Event::Span {
                name,
                kind: SpanKind::from_i32(kind),
                start_time_unix_nano: start,
                status_code: status,
            },
        );
        Ok(())
    }

    fn span_event(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_span_event()).map_err(|f| self.fail(f))?;
        let mut name = Cow::Borrowed("");
        let mut time = 0;
        let mut n_attrs = 0;
        let mut c = self.object("a span event object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "name" => set(&mut name, self.opt_str().within("name", None)?),
                "timeUnixNano" | "time_unix_nano" => {
                    set(&mut time, self.opt_u64().within("timeUnixNano", None)?)
                }
                "attributes" => self.attributes(ctx, AttrTarget::SpanEvent, &mut n_attrs)?,
                _ => self.skip(0)?,
            }
        }
        ctx.fill(
            at,
            Event::SpanEvent {
                name,
                time_unix_nano: time,
            },
        );
        Ok(())
    }

    fn metric(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_metric()).map_err(|f| self.fail(f))?;
        let (mut name, mut description, mut unit) =
            (Cow::Borrowed(""), Cow::Borrowed(""), Cow::Borrowed(""));
        let mut kind = MetricKind::Unknown;
        let (mut temporality, mut monotonic) = (0, false);
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
            (temporality, monotonic) = self.metric_data(ctx).within(field, None)?;
        }
        ctx.fill(
            at,
            metric_event(name, kind, unit, description, temporality, monotonic),
        );
        Ok(())
    }

    /// The `gauge`, `sum`, ... object of a metric: its temporality and
    /// monotonicity.
    fn metric_data(&mut self, ctx: &mut Ctx<'a>) -> Fallible<(i32, bool)> {
        let (mut temporality, mut monotonic) = (0, false);
        let mut c = self.object("a metric data object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "dataPoints" | "data_points" => {
                    self.list(ctx, "dataPoints", |p, ctx, _| p.data_point(ctx))?
                }
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
        Ok((temporality, monotonic))
    }

    fn data_point(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx
            .open(Event::DataPoint {
                time_unix_nano: 0,
                buckets: 0,
                scale: 0,
            })
            .map_err(|f| self.fail(f))?;
        let mut time = 0;
        let (mut buckets, mut scale) = (0u32, 0);
        let mut n_attrs = 0;
        let mut c = self.object("a data point object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "timeUnixNano" | "time_unix_nano" => {
                    set(&mut time, self.opt_u64().within("timeUnixNano", None)?)
                }
                "attributes" => self.attributes(ctx, AttrTarget::DataPoint, &mut n_attrs)?,
                // The shape of histograms and summaries (which field a
                // point of a metric kind may carry is not checked: a point
                // has the fields of its kind only).
                "explicitBounds" | "explicit_bounds" => {
                    buckets = buckets.saturating_add(self.count(ctx, "explicitBounds")?)
                }
                "quantileValues" | "quantile_values" => {
                    buckets = buckets.saturating_add(self.count(ctx, "quantileValues")?)
                }
                "positive" | "negative" => {
                    let n = self.bucket_counts(ctx).within("positive", None)?;
                    buckets = buckets.saturating_add(n);
                }
                "scale" => set(
                    &mut scale,
                    self.opt_i64().within("scale", None)?.map(|v| v as i32),
                ),
                _ => self.skip(0)?,
            }
        }
        ctx.fill(
            at,
            Event::DataPoint {
                time_unix_nano: time,
                buckets,
                scale,
            },
        );
        Ok(())
    }

    /// A span's `status` object: its `code`, if set.
    fn status_code(&mut self) -> Fallible<Option<i32>> {
        let mut code = None;
        let mut c = self.object("a status object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "code" => {
                    if let Some(v) = self.opt_enum(status_code_name).within("code", None)? {
                        code = Some(v);
                    }
                }
                _ => self.skip(0)?,
            }
        }
        Ok(code)
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

    /// The `bucketCounts` of an exponential histogram's `positive` or
    /// `negative` buckets: how many there are.
    fn bucket_counts(&mut self, ctx: &mut Ctx<'a>) -> Fallible<u32> {
        let mut n = 0u32;
        let mut c = self.object("a buckets object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "bucketCounts" | "bucket_counts" => {
                    n = n.saturating_add(self.count(ctx, "bucketCounts")?)
                }
                _ => self.skip(0)?,
            }
        }
        Ok(n)
    }

    fn log(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_log()).map_err(|f| self.fail(f))?;
        let (mut time, mut observed, mut severity_number) = (0, 0, 0);
        let (mut severity_text, mut event_name) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut body = None;
        let mut n_attrs = 0;
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
                "attributes" => self.attributes(ctx, AttrTarget::Log, &mut n_attrs)?,
                _ => self.skip(0)?,
            }
        }
        ctx.fill(
            at,
            Event::Log {
                severity_number,
                severity_text,
                event_name,
                time_unix_nano: if time != 0 { time } else { observed },
                body,
            },
        );
        Ok(())
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
