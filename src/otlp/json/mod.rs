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

use std::borrow::Cow;

use super::{
    AnyValue, Attr, AttrTarget, Ctx, DecodeError, ErrorKind, Event, Fail, Fallible, MetricKind,
    Position, Sections, Signal, SpanKind, Within, empty_log, empty_metric, empty_scope, empty_span,
    empty_span_event, failure, metric_event, overwrite, render_path,
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

/// The index of the first byte at or after `i` that ends the plain part of
/// a string: `"`, `\\` or a control character (or `b.len()`). Eight bytes
/// at a time: for the short strings of OTLP this beats a call to memchr.
#[inline(always)]
fn special_byte(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Bit 7 of byte k of `zero(x)` is set if byte k of x is 0; the lowest set
    // bit always marks a zero byte (borrows only disturb the bytes above).
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let hits = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            // Bytes below 0x20 (same borrow argument).
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b
        .get(i)
        .is_some_and(|&c| !matches!(c, b'"' | b'\\' | 0..=0x1f))
    {
        i += 1;
    }
    i
}

/// The usual shape of a `KeyValue` as SDKs and the Collector write it,
/// read straight from the text at `at`: `{"key":"K","value":{"stringValue":
/// "S"}}` (strings without escapes), `{"intValue":"N"}` or `{"intValue":N}`
/// (up to 18 digits, no sign or leading zero), `{"boolValue":true|false}`,
/// with no whitespace. Returns the attribute and the offset after it, or
/// `None` for anything else, which the field-by-field reader then decodes,
/// or reports, as usual (a randomised test checks they agree).
#[inline(always)]
fn simple_key_value(text: &str, at: usize) -> Option<(Attr<'_>, usize)> {
    let b = text.as_bytes();
    // A plain string starting at `i` (after its quote): its end quote.
    let plain = |i: usize| -> Option<usize> {
        let end = special_byte(b, i);
        (b.get(end) == Some(&b'"')).then_some(end)
    };
    let rest = b.get(at..)?;
    const KEY: &[u8] = b"{\"key\":\"";
    if !rest.starts_with(KEY) {
        return None;
    }
    let ks = at + KEY.len();
    let ke = plain(ks)?;
    let mut p = ke + 1;
    const VALUE: &[u8] = b",\"value\":{\"";
    if !b.get(p..)?.starts_with(VALUE) {
        return None;
    }
    p += VALUE.len();
    let field = b.get(p..)?;
    const STRING: &[u8] = b"stringValue\":\"";
    const INT: &[u8] = b"intValue\":";
    const TRUE: &[u8] = b"boolValue\":true";
    const FALSE: &[u8] = b"boolValue\":false";
    let value = if field.starts_with(STRING) {
        let vs = p + STRING.len();
        let ve = plain(vs)?;
        p = ve + 1;
        AnyValue::Str(Cow::Borrowed(text.get(vs..ve)?))
    } else if field.starts_with(INT) {
        p += INT.len();
        let quoted = b.get(p) == Some(&b'"');
        if quoted {
            p += 1;
        }
        let ds = p;
        while b.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
        let digits = &b[ds..p];
        if digits.is_empty() || digits.len() > 18 || (digits[0] == b'0' && digits.len() > 1) {
            return None;
        }
        if quoted {
            if b.get(p) != Some(&b'"') {
                return None;
            }
            p += 1;
        }
        let n = digits
            .iter()
            .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
        AnyValue::Int(n)
    } else if field.starts_with(TRUE) {
        p += TRUE.len();
        AnyValue::Bool(true)
    } else if field.starts_with(FALSE) {
        p += FALSE.len();
        AnyValue::Bool(false)
    } else {
        return None;
    };
    if !b.get(p..)?.starts_with(b"}}") {
        return None;
    }
    let key = text.get(ks..ke)?;
    Some((
        Attr {
            key: Cow::Borrowed(key),
            value,
        },
        p + 2,
    ))
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

    /// An `attributes` list, each appended as an event. `n`: the record's
    /// attributes so far (an object may repeat "attributes"; the limit
    /// counts them all).
    fn attributes(&mut self, ctx: &mut Ctx<'a>, target: AttrTarget, n: &mut usize) -> Fallible<()> {
        self.list(ctx, "attributes", |p, ctx, _| {
            ctx.check_attr_index(*n).map_err(|f| p.fail(f))?;
            let attr = p.key_value(ctx, 1)?;
            ctx.push(target.wrap(attr)).map_err(|f| p.fail(f))?;
            *n += 1;
            Ok(())
        })
    }

    /// A `KeyValue` whose value is at nesting `depth`.
    #[inline(always)]
    fn key_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<Attr<'a>> {
        self.peek();
        if ctx.check_depth(depth).is_ok()
            && let Some((attr, end)) = simple_key_value(self.text, self.pos)
        {
            self.pos = end;
            return Ok(attr);
        }
        self.key_value_fields(ctx, depth)
    }

    /// [`key_value`](Self::key_value), field by field.
    fn key_value_fields(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<Attr<'a>> {
        let mut key = Cow::Borrowed("");
        let mut value = AnyValue::Empty;
        let mut c = self.object("a key/value object")?;
        while let Some(k) = self.key(&mut c)? {
            match &*k {
                "key" => set(&mut key, self.opt_str().within("key", None)?),
                "value" => {
                    let v = self.any_value(ctx, depth).within("value", None)?;
                    overwrite(&mut value, v);
                }
                _ => self.skip(0)?,
            }
        }
        Ok(Attr { key, value })
    }

    /// An `AnyValue` at nesting `depth`. The last value field wins.
    #[inline(always)]
    fn any_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<AnyValue<'a>> {
        ctx.check_depth(depth).map_err(|f| self.fail(f))?;
        let mut value = AnyValue::Empty;
        let mut c = self.object("a value object")?;
        while let Some(k) = self.key(&mut c)? {
            let v = match &*k {
                "stringValue" | "string_value" => self
                    .opt_str()
                    .within("stringValue", None)?
                    .map(AnyValue::Str),
                "intValue" | "int_value" => {
                    self.opt_i64().within("intValue", None)?.map(AnyValue::Int)
                }
                "boolValue" | "bool_value" => self
                    .opt_bool()
                    .within("boolValue", None)?
                    .map(AnyValue::Bool),
                "doubleValue" | "double_value" => self
                    .opt_f64()
                    .within("doubleValue", None)?
                    .map(AnyValue::Double),
                "bytesValue" | "bytes_value" => self
                    .opt_bytes()
                    .within("bytesValue", None)?
                    .map(|b| AnyValue::Bytes(Cow::Owned(b))),
                "arrayValue" | "array_value" => Some(AnyValue::Array(
                    self.array_value(ctx, depth + 1)
                        .within("arrayValue", None)?,
                )),
                "kvlistValue" | "kvlist_value" => Some(AnyValue::KvList(
                    self.kvlist_value(ctx, depth + 1)
                        .within("kvlistValue", None)?,
                )),
                _ => {
                    self.skip(0)?;
                    continue;
                }
            };
            if let Some(v) = v {
                overwrite(&mut value, v);
            }
        }
        Ok(value)
    }

    /// An `arrayValue` object, whose values are at nesting `depth`.
    fn array_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<Vec<AnyValue<'a>>> {
        self.values_object(ctx, depth, "an array value object", Self::any_value)
    }

    /// A `kvlistValue` object, whose values are at nesting `depth`.
    fn kvlist_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<Vec<Attr<'a>>> {
        self.values_object(ctx, depth, "a kvlist value object", Self::key_value)
    }

    /// The `values` list of an `arrayValue` or `kvlistValue` object, each
    /// element read by `element`.
    #[inline(never)]
    fn values_object<T>(
        &mut self,
        ctx: &mut Ctx<'a>,
        depth: usize,
        what: &'static str,
        element: fn(&mut Self, &mut Ctx<'a>, usize) -> Fallible<T>,
    ) -> Fallible<Vec<T>> {
        let mut values = Vec::new();
        let mut c = self.object(what)?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "values" => self.list(ctx, "values", |p, ctx, _| {
                    ctx.spend().map_err(|f| p.fail(f))?;
                    values.push(element(p, ctx, depth)?);
                    Ok(())
                })?,
                _ => self.skip(0)?,
            }
        }
        Ok(values)
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

#[cfg(test)]
mod tests {
    use super::super::Limits;

    /// The `KeyValue` shortcut agrees with the field-by-field reader on
    /// everything it accepts: canonical attributes of each kind and random
    /// mutations of them (bytes changed, cut, appended).
    #[test]
    fn simple_key_value_agrees_with_the_field_reader() {
        use super::super::Ctx;
        use super::{Parser, simple_key_value};
        let seeds = [
            r#"{"key":"http.url","value":{"stringValue":"https://x/y?z=1"}}"#,
            r#"{"key":"","value":{"stringValue":""}}"#,
            r#"{"key":"n","value":{"intValue":"12345"}}"#,
            r#"{"key":"n","value":{"intValue":987654321012345678}}"#,
            r#"{"key":"n","value":{"intValue":"0"}}"#,
            r#"{"key":"b","value":{"boolValue":true}}"#,
            r#"{"key":"b","value":{"boolValue":false}}"#,
            r#"{"key":"d","value":{"doubleValue":1.5}}"#,
            r#"{"key":"é","value":{"stringValue":"ü"}}"#,
        ];
        let mut r = crate::testutil::XorShift::new(0x2545_F491_4F6C_DD1D);
        let mut rnd = |m: u64| r.below(m);
        let alphabet = b"{}[]\":,0123456789-.eE tfnrul\\\x01abcxyzVvkKIiSsB";
        let mut checked = 0;
        for round in 0..30_000 {
            let mut b = seeds[round % seeds.len()].as_bytes().to_vec();
            for _ in 0..rnd(3) {
                let c = alphabet[rnd(alphabet.len() as u64) as usize];
                match rnd(3) {
                    0 if !b.is_empty() => {
                        let i = rnd(b.len() as u64) as usize;
                        b[i] = c;
                    }
                    1 if !b.is_empty() => b.truncate(rnd(b.len() as u64) as usize),
                    _ => b.insert(rnd(b.len() as u64 + 1) as usize, c),
                }
            }
            let Ok(text) = std::str::from_utf8(&b) else {
                continue;
            };
            let Some((fast, end)) = simple_key_value(text, 0) else {
                continue;
            };
            let mut ctx = Ctx::new(Vec::new(), Limits::default());
            let mut p = Parser {
                text,
                b: text.as_bytes(),
                pos: 0,
            };
            let slow = p.key_value_fields(&mut ctx, 1).unwrap_or_else(|e| {
                panic!("{text}: shortcut accepted, reader failed: {}", e.message)
            });
            assert_eq!((fast, end), (slow, p.pos), "{text}");
            checked += 1;
        }
        assert!(checked > 3_000, "{checked}");
    }
}
