//! OTLP/protobuf decoder: a zero-copy walker over the wire format.
//!
//! Why not the opentelemetry-proto crate (prost types), which the project
//! rule would prefer: it decodes about four times slower (docs/BENCHMARKS.md,
//! "Decoders"): prost allocates a `String` per key and string value and a
//! `Vec` per attribute list; the walker allocates nothing but the output
//! (and arrays and kvlists). Run: `cargo test --release -- --ignored
//! --nocapture bench_decoders`. opentelemetry-proto stays as a dev-dependency: the tests
//! check this walker against prost on the official examples, random
//! requests and mutated bytes.
//!
//! The walker reads only the fields the catalog needs and skips the rest
//! (unknown fields too). It validates what it reads: varints (at most 10
//! bytes), lengths against the enclosing message, UTF-8 of strings, and the
//! wire type of every known field (which also makes bytes of another
//! signal fail early). Groups (wire types 3 and 4) are rejected: OTLP has
//! none. Like protobuf, the last value of a repeated scalar field wins and a
//! repeated message field (such as `resource`) merges.

mod wire;

use std::borrow::Cow;

use wire::{Field, I32, I64, LEN, Reader, VARINT};

use super::clip::clip_str;
use super::{
    AnyValue, Attr, AttrTarget, Ctx, DecodeError, ErrorKind, Event, Fallible, MetricKind, Position,
    Sections, Signal, SpanKind, Within, empty_log, empty_metric, empty_scope, empty_span,
    empty_span_event, metric_event, overwrite, render_path,
};

pub(super) fn decode<'a>(
    payload: &'a [u8],
    signal: Signal,
    ctx: &mut Ctx<'a>,
) -> Result<(), DecodeError> {
    let mut d = Decoder { ctx };
    let r = Reader::new(payload, 0, payload.len());
    match d.request(r, signal) {
        Ok(()) => {
            d.ctx.summary.requests = 1;
            Ok(())
        }
        Err(e) => {
            let mut message = e.message.into_owned();
            if super::looks_like_json(payload) {
                message.push_str(" (the payload looks like OTLP/JSON)");
            }
            Err(DecodeError::new(ErrorKind::Protobuf(signal), message)
                .at(Position::Offset(e.pos), render_path(&e.path)))
        }
    }
}

/// `Status` of a span (1 deprecated_code, 2 message, 3 code): its code,
/// if set. Out of line: only spans with a status call it.
#[inline(never)]
fn status_code(mut r: Reader<'_>) -> Fallible<Option<i32>> {
    let mut code = None;
    while let Some(f) = r.field()? {
        match f.number() {
            3 => code = Some(r.int32(f)?),
            1 => r.skip_as(f, VARINT)?,
            2 => r.skip_as(f, LEN)?,
            _ => r.skip(f)?,
        }
    }
    Ok(code)
}

/// `Buckets` of an exponential histogram point (1 offset, 2 bucket_counts):
/// how many bucket counts it holds. Out of line, like `status_code`.
#[inline(never)]
fn bucket_counts(mut r: Reader<'_>) -> Fallible<u32> {
    let mut n = 0u32;
    while let Some(f) = r.field()? {
        match f.number() {
            1 => r.skip_as(f, VARINT)?,
            2 => n = n.saturating_add(r.count_packed(f, VARINT)?),
            _ => r.skip(f)?,
        }
    }
    Ok(n)
}

/// The usual shape of a `KeyValue`, as every SDK writes it: field 1 (key,
/// under 128 bytes), then field 2 (value, under 128 bytes) holding one
/// string, bool, int or double field, and nothing else. Read straight from
/// the bytes; `None` for anything else (or anything wrong), which the
/// field-by-field reader then decodes, or reports, as usual. Equivalent to
/// that reader for what it accepts (tested on random bytes).
///
/// Its keys and values are too short to be clipped (`clip`): the caller
/// wraps them without the check.
#[inline(always)]
fn simple_key_value<'a>(r: &Reader<'a>) -> Option<Attr<'a>> {
    const _: () = assert!(super::clip::MAX_NAME_BYTES >= 128);
    let b = r.data.get(r.pos..r.end)?;
    let ascii = crate::ffi::ascii_str;
    // 0x0A = field 1, length-delimited.
    if b.len() < 4 || b[0] != 0x0A || b[1] >= 0x80 {
        return None;
    }
    let key_end = 2 + b[1] as usize;
    let key = b.get(2..key_end)?;
    // 0x12 = field 2, length-delimited; the value message must end the KeyValue.
    if b.get(key_end) != Some(&0x12) {
        return None;
    }
    let len = *b.get(key_end + 1)? as usize;
    if len >= 0x80 || key_end + 2 + len != b.len() {
        return None;
    }
    let v = &b[key_end + 2..];
    let value = match *v.first()? {
        // 0x0A: string_value, one length byte, the string ends the value.
        // Every byte of the KeyValue is then ASCII when key and value are
        // (tags and lengths are under 0x80): one check for both.
        0x0A if v.len() >= 2 && v[1] < 0x80 && 2 + v[1] as usize == v.len() => {
            return Some(Attr {
                key: Cow::Borrowed(ascii(key)?),
                value: AnyValue::Str(Cow::Borrowed(ascii(&v[2..])?)),
            });
        }
        // 0x10: bool_value, 0x18: int_value (varint), ending the value.
        tag @ (0x10 | 0x18) => {
            // Up to 9 bytes (63 bits); longer ones (negative ints) go the
            // usual way.
            let mut n = 0u64;
            let mut i = 1;
            loop {
                if i > 9 {
                    return None;
                }
                let byte = *v.get(i)?;
                n |= u64::from(byte & 0x7f) << (7 * (i - 1));
                i += 1;
                if byte < 0x80 {
                    break;
                }
            }
            if i != v.len() {
                return None;
            }
            if tag == 0x10 {
                AnyValue::Bool(n != 0)
            } else {
                AnyValue::Int(n as i64)
            }
        }
        // 0x21: double_value, 8 bytes, ending the value.
        0x21 if v.len() == 9 => {
            AnyValue::Double(f64::from_bits(u64::from_le_bytes(v[1..9].try_into().ok()?)))
        }
        _ => return None,
    };
    Some(Attr {
        key: Cow::Borrowed(ascii(key)?),
        value,
    })
}

struct Decoder<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
}

impl<'a> Decoder<'_, 'a> {
    fn open(&mut self, r: &Reader<'a>, event: Event<'a>) -> Fallible<usize> {
        self.ctx.open(event).map_err(|f| r.fail(f))
    }

    fn request(&mut self, mut r: Reader<'a>, signal: Signal) -> Fallible<()> {
        let mut n = 0;
        while let Some(f) = r.field()? {
            match f.number() {
                1 => {
                    let sub = r.message(f)?;
                    self.resource_block(sub, signal)
                        .within(signal.request_field(), Some(n))?;
                    n += 1;
                }
                _ => r.skip(f)?,
            }
        }
        Ok(())
    }

    /// `ResourceSpans`, `ResourceMetrics` or `ResourceLogs`: 1 resource,
    /// 2 scope blocks, 3 schema_url.
    fn resource_block(&mut self, mut r: Reader<'a>, signal: Signal) -> Fallible<()> {
        let at = self.open(&r, Event::Resource)?;
        let mut sections = Sections::<2>::new(at + 1);
        let mut n = 0;
        // Attributes of the resource: repeated `resource` fields merge into
        // one resource, whose attributes the limit counts together.
        let mut n_attrs = 0;
        while let Some(f) = r.field()? {
            let mark = self.ctx.out.len();
            match f.number() {
                1 => {
                    let sub = r.message(f)?;
                    self.resource(sub, &mut n_attrs).within("resource", None)?;
                    sections.place(&self.ctx.out, 0, mark);
                }
                2 => {
                    let sub = r.message(f)?;
                    self.scope_block(sub, signal)
                        .within(signal.scope_field(), Some(n))?;
                    sections.place(&self.ctx.out, 1, mark);
                    n += 1;
                }
                3 => r.skip_as(f, LEN)?,
                _ => r.skip(f)?,
            }
        }
        sections.finish(&mut self.ctx.out);
        Ok(())
    }

    /// `Resource`: 1 attributes, 2 dropped_attributes_count, 3 entity_refs.
    /// `n`: the resource's attributes so far.
    fn resource(&mut self, mut r: Reader<'a>, n: &mut usize) -> Fallible<()> {
        let before = *n;
        while let Some(f) = r.field()? {
            match f.number() {
                1 => self.attribute(&mut r, f, AttrTarget::Resource, n)?,
                2 => r.skip_as(f, VARINT)?,
                3 => r.skip_as(f, LEN)?,
                _ => r.skip(f)?,
            }
        }
        self.ctx.summary.resource_attrs += *n - before;
        Ok(())
    }

    /// `ScopeSpans`, `ScopeMetrics` or `ScopeLogs`: 1 scope, 2 records,
    /// 3 schema_url.
    fn scope_block(&mut self, mut r: Reader<'a>, signal: Signal) -> Fallible<()> {
        let at = self.open(&r, empty_scope())?;
        let mut sections = Sections::<2>::new(at + 1);
        let (mut name, mut version) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut n = 0;
        // Attributes of the scope (repeated `scope` fields merge).
        let mut n_attrs = 0;
        while let Some(f) = r.field()? {
            let mark = self.ctx.out.len();
            match f.number() {
                1 => {
                    let sub = r.message(f)?;
                    let (nm, v) = self
                        .scope(sub, name, version, &mut n_attrs)
                        .within("scope", None)?;
                    (name, version) = (nm, v);
                    sections.place(&self.ctx.out, 0, mark);
                }
                2 => {
                    let sub = r.message(f)?;
                    // The record's bytes as sent: its tag, length and message.
                    let bytes = super::saturate(r.pos - r.tag_at);
                    match signal {
                        Signal::Traces => self.span(sub, bytes),
                        Signal::Metrics => self.metric(sub, bytes),
                        Signal::Logs => self.log(sub, bytes),
                    }
                    .within(signal.records_field(), Some(n))?;
                    sections.place(&self.ctx.out, 1, mark);
                    n += 1;
                }
                3 => r.skip_as(f, LEN)?,
                _ => r.skip(f)?,
            }
        }
        sections.finish(&mut self.ctx.out);
        self.ctx.fill(at, Event::Scope { name, version });
        Ok(())
    }

    /// `InstrumentationScope`: 1 name, 2 version, 3 attributes,
    /// 4 dropped_attributes_count. Starts from the values of an earlier
    /// occurrence (protobuf merges repeated message fields); `n`: the
    /// scope's attributes so far.
    fn scope(
        &mut self,
        mut r: Reader<'a>,
        mut name: Cow<'a, str>,
        mut version: Cow<'a, str>,
        n: &mut usize,
    ) -> Fallible<(Cow<'a, str>, Cow<'a, str>)> {
        while let Some(f) = r.field()? {
            match f.number() {
                1 => name = clip_str(r.string(f)?),
                2 => version = clip_str(r.string(f)?),
                3 => self.attribute(&mut r, f, AttrTarget::Scope, n)?,
                4 => r.skip_as(f, VARINT)?,
                _ => r.skip(f)?,
            }
        }
        Ok((name, version))
    }

    /// `Span`: 1 trace_id, 2 span_id, 3 trace_state, 4 parent_span_id,
    /// 5 name, 6 kind, 7 start_time_unix_nano, 8 end_time_unix_nano,
    /// 9 attributes, 10 dropped_attributes_count, 11 events,
    /// 12 dropped_events_count, 13 links, 14 dropped_links_count, 15 status,
    /// 16 flags.
    fn span(&mut self, mut r: Reader<'a>, bytes: u32) -> Fallible<()> {
        let at = self.open(&r, empty_span())?;
        let mut sections = Sections::<3>::new(at + 1);
        let mut name = Cow::Borrowed("");
        let (mut kind, mut start, mut status) = (0, 0, 0);
        let mut dropped = [0u32; 3];
        let (mut n_attrs, mut n_events, mut n_links) = (0, 0, 0);
        while let Some(f) = r.field()? {
            let mark = self.ctx.out.len();
            match f.number() {
                5 => name = clip_str(r.string(f)?),
                6 => kind = r.int32(f)?,
                7 => start = r.fixed64_field(f)?,
                9 => {
                    self.attribute(&mut r, f, AttrTarget::Span, &mut n_attrs)?;
                    sections.place(&self.ctx.out, 0, mark);
                }
                11 => {
                    let sub = r.message(f)?;
                    self.span_event(sub).within("events", Some(n_events))?;
                    sections.place(&self.ctx.out, 1, mark);
                    n_events += 1;
                }
                13 => {
                    let sub = r.message(f)?;
                    self.span_link(sub).within("links", Some(n_links))?;
                    sections.place(&self.ctx.out, 2, mark);
                    n_links += 1;
                }
                15 => {
                    let sub = r.message(f)?;
                    if let Some(code) = status_code(sub).within("status", None)? {
                        status = code;
                    }
                }
                1..=4 => r.skip_as(f, LEN)?,
                8 => r.skip_as(f, I64)?,
                10 => dropped[0] = r.uint(f)? as u32,
                12 => dropped[1] = r.uint(f)? as u32,
                14 => dropped[2] = r.uint(f)? as u32,
                16 => r.skip_as(f, I32)?,
                _ => r.skip(f)?,
            }
        }
        sections.finish(&mut self.ctx.out);
        self.ctx.fill(
            at,
            Event::Span {
                name,
                kind: SpanKind::from_i32(kind),
                start_time_unix_nano: start,
                status_code: status,
                bytes,
                dropped_attributes: dropped[0],
                dropped_events: dropped[1],
                dropped_links: dropped[2],
            },
        );
        Ok(())
    }

    /// `Span.Event`: 1 time_unix_nano, 2 name, 3 attributes,
    /// 4 dropped_attributes_count.
    fn span_event(&mut self, mut r: Reader<'a>) -> Fallible<()> {
        let at = self.open(&r, empty_span_event())?;
        let mut name = Cow::Borrowed("");
        let mut time = 0;
        let mut n = 0;
        while let Some(f) = r.field()? {
            match f.number() {
                1 => time = r.fixed64_field(f)?,
                2 => name = clip_str(r.string(f)?),
                3 => self.attribute(&mut r, f, AttrTarget::SpanEvent, &mut n)?,
                4 => r.skip_as(f, VARINT)?,
                _ => r.skip(f)?,
            }
        }
        self.ctx.fill(
            at,
            Event::SpanEvent {
                name,
                time_unix_nano: time,
            },
        );
        Ok(())
    }

    /// `Span.Link`: 1 trace_id, 2 span_id, 3 trace_state, 4 attributes,
    /// 5 dropped_attributes_count, 6 flags.
    fn span_link(&mut self, mut r: Reader<'a>) -> Fallible<()> {
        self.open(&r, Event::SpanLink)?;
        let mut n = 0;
        while let Some(f) = r.field()? {
            match f.number() {
                4 => self.attribute(&mut r, f, AttrTarget::SpanLink, &mut n)?,
                1..=3 => r.skip_as(f, LEN)?,
                5 => r.skip_as(f, VARINT)?,
                6 => r.skip_as(f, I32)?,
                _ => r.skip(f)?,
            }
        }
        Ok(())
    }

    /// `Metric`: 1 name, 2 description, 3 unit, 5 gauge, 7 sum, 9 histogram,
    /// 10 exponential_histogram, 11 summary, 12 metadata.
    fn metric(&mut self, mut r: Reader<'a>, bytes: u32) -> Fallible<()> {
        let at = self.open(&r, empty_metric())?;
        let (mut name, mut description, mut unit) =
            (Cow::Borrowed(""), Cow::Borrowed(""), Cow::Borrowed(""));
        let mut kind = MetricKind::Unknown;
        let (mut temporality, mut monotonic) = (0, false);
        while let Some(f) = r.field()? {
            let (k, field_name) = match f.number() {
                1 => {
                    name = clip_str(r.string(f)?);
                    continue;
                }
                2 => {
                    description = Cow::Borrowed(r.string(f)?);
                    continue;
                }
                3 => {
                    unit = Cow::Borrowed(r.string(f)?);
                    continue;
                }
                5 => (MetricKind::Gauge, "gauge"),
                7 => (MetricKind::Sum, "sum"),
                9 => (MetricKind::Histogram, "histogram"),
                10 => (MetricKind::ExponentialHistogram, "exponentialHistogram"),
                11 => (MetricKind::Summary, "summary"),
                12 => {
                    r.skip_as(f, LEN)?;
                    continue;
                }
                _ => {
                    r.skip(f)?;
                    continue;
                }
            };
            if k != kind {
                // A oneof: another member resets the data.
                (temporality, monotonic) = (0, false);
            }
            kind = k;
            let sub = r.message(f)?;
            self.metric_data(sub, k, &mut temporality, &mut monotonic)
                .within(field_name, None)?;
        }
        self.ctx.fill(
            at,
            metric_event(
                name,
                kind,
                unit,
                description,
                temporality,
                monotonic,
                bytes as usize,
            ),
        );
        Ok(())
    }

    /// `Gauge`, `Sum`, `Histogram`, `ExponentialHistogram`, `Summary`:
    /// 1 data_points, 2 aggregation_temporality (not gauge and summary),
    /// 3 is_monotonic (sum).
    fn metric_data(
        &mut self,
        mut r: Reader<'a>,
        kind: MetricKind,
        temporality: &mut i32,
        monotonic: &mut bool,
    ) -> Fallible<()> {
        let has_temporality = !matches!(kind, MetricKind::Gauge | MetricKind::Summary);
        let mut n = 0;
        while let Some(f) = r.field()? {
            match f.number() {
                1 => {
                    let sub = r.message(f)?;
                    self.data_point(sub, kind).within("dataPoints", Some(n))?;
                    n += 1;
                }
                2 if has_temporality => *temporality = r.int32(f)?,
                3 if kind == MetricKind::Sum => *monotonic = r.uint(f)? != 0,
                _ => r.skip(f)?,
            }
        }
        Ok(())
    }

    /// The data point of a metric kind. All have 2 start_time_unix_nano,
    /// 3 time_unix_nano; the attributes field and the others differ.
    fn data_point(&mut self, mut r: Reader<'a>, kind: MetricKind) -> Fallible<()> {
        let at = self.open(
            &r,
            Event::DataPoint {
                time_unix_nano: 0,
                buckets: 0,
                scale: 0,
            },
        )?;
        let mut time = 0;
        let (mut buckets, mut scale) = (0u32, 0);
        let mut n = 0;
        while let Some(f) = r.field()? {
            match (kind, f.number()) {
                (_, 3) => time = r.fixed64_field(f)?,
                (_, 2) => r.skip_as(f, I64)?,
                (MetricKind::Gauge | MetricKind::Sum, number) => match number {
                    7 => self.attribute(&mut r, f, AttrTarget::DataPoint, &mut n)?,
                    4 | 6 => r.skip_as(f, I64)?,
                    5 => r.skip_as(f, LEN)?,
                    8 => r.skip_as(f, VARINT)?,
                    _ => r.skip(f)?,
                },
                (MetricKind::Histogram, number) => match number {
                    9 => self.attribute(&mut r, f, AttrTarget::DataPoint, &mut n)?,
                    4 | 5 | 11 | 12 => r.skip_as(f, I64)?,
                    6 => r.skip_packed(f, I64)?,
                    7 => buckets = buckets.saturating_add(r.count_packed(f, I64)?),
                    8 => r.skip_as(f, LEN)?,
                    10 => r.skip_as(f, VARINT)?,
                    _ => r.skip(f)?,
                },
                (MetricKind::ExponentialHistogram, number) => match number {
                    1 => self.attribute(&mut r, f, AttrTarget::DataPoint, &mut n)?,
                    4 | 5 | 7 | 12 | 13 | 14 => r.skip_as(f, I64)?,
                    6 => {
                        // sint32: zigzag.
                        let z = r.uint(f)? as u32;
                        scale = (z >> 1) as i32 ^ -((z & 1) as i32);
                    }
                    10 => r.skip_as(f, VARINT)?,
                    8 | 9 => {
                        let sub = r.message(f)?;
                        let name = if f.number() == 8 {
                            "positive"
                        } else {
                            "negative"
                        };
                        let b = bucket_counts(sub).within(name, None)?;
                        buckets = buckets.saturating_add(b);
                    }
                    11 => r.skip_as(f, LEN)?,
                    _ => r.skip(f)?,
                },
                (MetricKind::Summary, number) => match number {
                    7 => self.attribute(&mut r, f, AttrTarget::DataPoint, &mut n)?,
                    4 | 5 => r.skip_as(f, I64)?,
                    6 => {
                        r.skip_as(f, LEN)?;
                        buckets = buckets.saturating_add(1);
                    }
                    8 => r.skip_as(f, VARINT)?,
                    _ => r.skip(f)?,
                },
                (MetricKind::Unknown, _) => r.skip(f)?,
            }
        }
        self.ctx.fill(
            at,
            Event::DataPoint {
                time_unix_nano: time,
                buckets,
                scale,
            },
        );
        Ok(())
    }

    /// `LogRecord`: 1 time_unix_nano, 2 severity_number, 3 severity_text,
    /// 5 body, 6 attributes, 7 dropped_attributes_count, 8 flags,
    /// 9 trace_id, 10 span_id, 11 observed_time_unix_nano, 12 event_name.
    fn log(&mut self, mut r: Reader<'a>, bytes: u32) -> Fallible<()> {
        let at = self.open(&r, empty_log())?;
        let (mut dropped_attributes, mut has_trace_id, mut has_span_id) = (0, false, false);
        let (mut time, mut observed, mut severity_number) = (0, 0, 0);
        let (mut severity_text, mut event_name) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut body = None;
        let mut n = 0;
        while let Some(f) = r.field()? {
            match f.number() {
                1 => time = r.fixed64_field(f)?,
                11 => observed = r.fixed64_field(f)?,
                2 => severity_number = r.int32(f)?,
                3 => severity_text = clip_str(r.string(f)?),
                12 => event_name = clip_str(r.string(f)?),
                5 => {
                    let sub = r.message(f)?;
                    body = Some(self.any_value(sub, 1).within("body", None)?);
                }
                6 => self.attribute(&mut r, f, AttrTarget::Log, &mut n)?,
                7 => dropped_attributes = r.uint(f)? as u32,
                8 => r.skip_as(f, I32)?,
                9 => has_trace_id = !r.bytes(f)?.is_empty(),
                10 => has_span_id = !r.bytes(f)?.is_empty(),
                _ => r.skip(f)?,
            }
        }
        self.ctx.fill(
            at,
            Event::Log {
                severity_number,
                severity_text,
                event_name,
                time_unix_nano: if time != 0 { time } else { observed },
                body,
                bytes,
                dropped_attributes,
                has_trace_id,
                has_span_id,
            },
        );
        Ok(())
    }

    /// Element `n` of an `attributes` field, appended as an event, and the
    /// elements right after it in the message (a repeated field's elements
    /// are written one after the other: they are read here without going
    /// back to the caller's field loop).
    #[inline(always)]
    fn attribute(
        &mut self,
        r: &mut Reader<'a>,
        f: Field,
        target: AttrTarget,
        n: &mut usize,
    ) -> Fallible<()> {
        // The tag of the field when it fits one byte (fields 1 to 15).
        let tag = u8::try_from(f.0.get()).ok().filter(|t| *t < 0x80);
        loop {
            self.ctx.check_attr_index(*n).map_err(|e| r.fail(e))?;
            let sub = r.message(f)?;
            if let Some(attr) = simple_key_value(&sub)
                && self.ctx.check_depth(1).is_ok()
            {
                // Borrowed key and scalar or borrowed value: nothing owned.
                self.ctx.push_borrowed(target.wrap(attr))
            } else {
                let attr = self
                    .key_value_fields(sub, 1)
                    .within("attributes", Some(*n))?;
                self.ctx.push(target.wrap_clipped(attr))
            }
            .map_err(|e| r.fail(e))?;
            *n += 1;
            // The next field is another element: take its tag here.
            match tag {
                Some(t) if r.pos < r.end && r.data[r.pos] == t => {
                    r.tag_at = r.pos;
                    r.pos += 1;
                }
                _ => return Ok(()),
            }
        }
    }

    /// `KeyValue`: 1 key, 2 value, 3 key_strindex (profiles only; ignored).
    #[inline(always)]
    fn key_value(&mut self, r: Reader<'a>, depth: usize) -> Fallible<Attr<'a>> {
        if let Some(attr) = simple_key_value(&r)
            && self.ctx.check_depth(depth).is_ok()
        {
            return Ok(attr);
        }
        self.key_value_fields(r, depth)
    }

    /// [`key_value`](Self::key_value), field by field.
    fn key_value_fields(&mut self, mut r: Reader<'a>, depth: usize) -> Fallible<Attr<'a>> {
        let mut key = Cow::Borrowed("");
        let mut value = AnyValue::Empty;
        while let Some(f) = r.field()? {
            match f.number() {
                1 => key = Cow::Borrowed(r.string(f)?),
                2 => {
                    let sub = r.message(f)?;
                    let v = self.any_value(sub, depth).within("value", None)?;
                    overwrite(&mut value, v);
                }
                3 => r.skip_as(f, VARINT)?,
                _ => r.skip(f)?,
            }
        }
        Ok(Attr { key, value })
    }

    /// `AnyValue` at nesting `depth`: 1 string, 2 bool, 3 int, 4 double,
    /// 5 array, 6 kvlist, 7 bytes, 8 string_value_strindex (profiles only;
    /// read as no value). The last value field wins, as in protobuf.
    #[inline(always)]
    fn any_value(&mut self, mut r: Reader<'a>, depth: usize) -> Fallible<AnyValue<'a>> {
        self.ctx.check_depth(depth).map_err(|e| r.fail(e))?;
        let mut value = AnyValue::Empty;
        while let Some(f) = r.field()? {
            let v = match f.number() {
                1 => AnyValue::Str(Cow::Borrowed(r.string(f)?)),
                2 => AnyValue::Bool(r.uint(f)? != 0),
                3 => AnyValue::Int(r.uint(f)? as i64),
                4 => AnyValue::Double(f64::from_bits(r.fixed64_field(f)?)),
                5 | 6 => self.compound_value(&mut r, f, depth)?,
                7 => AnyValue::Bytes(Cow::Borrowed(r.bytes(f)?)),
                8 => {
                    r.skip_as(f, VARINT)?;
                    AnyValue::Empty
                }
                _ => {
                    r.skip(f)?;
                    continue;
                }
            };
            overwrite(&mut value, v);
        }
        Ok(value)
    }

    /// The array (field 5) or kvlist (6) of an `AnyValue`; kept out of line
    /// so that the scalar path of [`any_value`](Self::any_value) inlines.
    #[inline(never)]
    fn compound_value(
        &mut self,
        r: &mut Reader<'a>,
        f: Field,
        depth: usize,
    ) -> Fallible<AnyValue<'a>> {
        let sub = r.message(f)?;
        if f.number() == 5 {
            let values = self.array(sub, depth + 1).within("arrayValue", None)?;
            Ok(AnyValue::Array(values))
        } else {
            let values = self.kvlist(sub, depth + 1).within("kvlistValue", None)?;
            Ok(AnyValue::KvList(values))
        }
    }

    /// `ArrayValue`: 1 values.
    fn array(&mut self, r: Reader<'a>, depth: usize) -> Fallible<Vec<AnyValue<'a>>> {
        self.values(r, depth, Self::any_value)
    }

    /// `KeyValueList`: 1 values.
    fn kvlist(&mut self, r: Reader<'a>, depth: usize) -> Fallible<Vec<Attr<'a>>> {
        self.values(r, depth, Self::key_value)
    }

    /// The repeated field 1 (`values`) of an `ArrayValue` or `KeyValueList`,
    /// each element decoded by `element`.
    fn values<T>(
        &mut self,
        mut r: Reader<'a>,
        depth: usize,
        element: fn(&mut Self, Reader<'a>, usize) -> Fallible<T>,
    ) -> Fallible<Vec<T>> {
        let mut values = Vec::new();
        while let Some(f) = r.field()? {
            match f.number() {
                1 => {
                    self.ctx.spend().map_err(|e| r.fail(e))?;
                    let sub = r.message(f)?;
                    let v = element(self, sub, depth).within("values", Some(values.len()))?;
                    values.push(v);
                }
                _ => r.skip(f)?,
            }
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Limits;
    use super::{Ctx, Decoder, Reader, simple_key_value};

    /// The `KeyValue` shortcut agrees with the field-by-field reader on
    /// everything it accepts: well-formed attributes of every scalar type
    /// and random mutations of them (bytes changed, cut, appended).
    #[test]
    fn simple_key_value_agrees_with_the_field_reader() {
        let mut r = crate::testutil::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut rnd = |m: u64| r.below(m);
        let mut seeds: Vec<Vec<u8>> = Vec::new();
        let values: Vec<Vec<u8>> = vec![
            b"\x0a\x05hello".to_vec(),
            b"\x0a\x00".to_vec(),
            b"\x0a\x03h\xc3\xa9".to_vec(),
            b"\x10\x01".to_vec(),
            b"\x10\x00".to_vec(),
            b"\x18\x96\x01".to_vec(),
            b"\x18\xff\xff\xff\xff\xff\xff\xff\xff\x7f".to_vec(),
            b"\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01".to_vec(),
            [&b"\x21"[..], &1.5f64.to_le_bytes()].concat(),
            b"\x3a\x02ab".to_vec(),
        ];
        for v in &values {
            let mut kv = b"\x0a\x08http.url\x12".to_vec();
            kv.push(v.len() as u8);
            kv.extend_from_slice(v);
            seeds.push(kv);
        }
        let mut checked = 0;
        for round in 0..20_000 {
            let mut b = seeds[round % seeds.len()].clone();
            for _ in 0..rnd(3) {
                match rnd(3) {
                    0 if !b.is_empty() => {
                        let i = rnd(b.len() as u64) as usize;
                        b[i] = rnd(256) as u8;
                    }
                    1 if !b.is_empty() => b.truncate(rnd(b.len() as u64) as usize),
                    _ => b.push(rnd(256) as u8),
                }
            }
            let r = Reader::new(&b, 0, b.len());
            let Some(fast) = simple_key_value(&r) else {
                continue;
            };
            let mut ctx = Ctx::new(Vec::new(), Limits::default());
            let mut d = Decoder { ctx: &mut ctx };
            let slow = d.key_value_fields(r, 1).unwrap_or_else(|e| {
                panic!("{b:?}: shortcut accepted, reader failed: {}", e.message)
            });
            assert_eq!(fast, slow, "{b:?}");
            checked += 1;
        }
        assert!(checked > 2_000, "{checked}");
    }
}
