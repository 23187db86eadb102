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

use std::borrow::Cow;
use std::num::NonZeroU32;

use super::{
    AnyValue, Attr, AttrTarget, Ctx, DecodeError, ErrorKind, Event, Fail, Failure, Fallible,
    MetricKind, Position, Sections, Signal, SpanKind, Within, empty_log, empty_metric, empty_scope,
    empty_span, empty_span_event, failure, metric_event, overwrite, render_path,
};

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

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

fn wire_type_name(wt: u8) -> &'static str {
    match wt {
        VARINT => "varint",
        I64 => "64-bit",
        LEN => "length-delimited",
        I32 => "32-bit",
        _ => "invalid",
    }
}

/// A cursor over one message: `data[pos..end]`. Offsets are into the whole
/// payload, for error messages.
#[derive(Clone, Copy)]
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
    /// Offset of the last tag read, where errors about its field point.
    tag_at: usize,
}

/// The tag of the field just read: its number and wire type. Small on
/// purpose: `Fallible<Option<Field>>` comes back in registers.
#[derive(Clone, Copy)]
struct Field(NonZeroU32);

impl Field {
    #[inline(always)]
    fn number(self) -> u32 {
        self.0.get() >> 3
    }

    #[inline(always)]
    fn wire_type(self) -> u8 {
        (self.0.get() & 7) as u8
    }
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], pos: usize, end: usize) -> Self {
        Reader {
            data,
            pos,
            end,
            tag_at: pos,
        }
    }

    /// The next field's tag, or `None` at the end of the message.
    #[inline(always)]
    fn field(&mut self) -> Fallible<Option<Field>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        self.tag_at = self.pos;
        let tag = self.varint()?;
        let number = tag >> 3;
        let wire_type = (tag & 7) as u8;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(failure(
                self.tag_at,
                format!("invalid field number {number}"),
            ));
        }
        if !matches!(wire_type, VARINT | I64 | LEN | I32) {
            return Err(failure(
                self.tag_at,
                format!("field {number} has unsupported wire type {wire_type}"),
            ));
        }
        Ok(NonZeroU32::new(tag as u32).map(Field))
    }

    #[inline(always)]
    fn varint(&mut self) -> Fallible<u64> {
        let bytes = &self.data[self.pos..self.end];
        if let Some(&b) = bytes.first().filter(|&&b| b < 0x80) {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        let mut value = 0u64;
        for (i, &b) in bytes.iter().take(10).enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                if i == 9 && b > 1 {
                    break;
                }
                self.pos += i + 1;
                return Ok(value);
            }
        }
        Err(failure(
            self.pos,
            if bytes.len() < 10 && bytes.iter().all(|b| b & 0x80 != 0) {
                "truncated varint"
            } else {
                "invalid varint"
            },
        ))
    }

    #[inline(always)]
    fn take(&mut self, n: usize) -> Fallible<&'a [u8]> {
        if n > self.end - self.pos {
            return Err(failure(
                self.pos,
                format!(
                    "truncated: {n}-byte value, {} bytes left in the message",
                    self.end - self.pos
                ),
            ));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    #[inline(always)]
    fn fixed64(&mut self) -> Fallible<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// Skips the value of a field of which only the wire type is known.
    fn skip(&mut self, f: Field) -> Fallible<()> {
        match f.wire_type() {
            VARINT => self.varint().map(|_| ()),
            I64 => self.take(8).map(|_| ()),
            I32 => self.take(4).map(|_| ()),
            _ => self.len_delimited().map(|_| ()),
        }
    }

    #[inline(always)]
    fn len_delimited(&mut self) -> Fallible<Reader<'a>> {
        let at = self.pos;
        let len = self.varint()?;
        let start = self.pos;
        let left = self.end - start;
        let len = match usize::try_from(len) {
            Ok(len) if len <= left => len,
            _ => {
                return Err(failure(
                    at,
                    format!("truncated: {len} bytes announced, {left} left in the message"),
                ));
            }
        };
        self.pos += len;
        Ok(Reader::new(self.data, start, start + len))
    }

    #[inline(always)]
    fn expect(&self, f: Field, wire_type: u8) -> Fallible<()> {
        if f.wire_type() == wire_type {
            Ok(())
        } else {
            Err(failure(
                self.tag_at,
                format!(
                    "field {} has wire type {}, expected {}",
                    f.number(),
                    wire_type_name(f.wire_type()),
                    wire_type_name(wire_type)
                ),
            ))
        }
    }

    /// The body of a message field.
    #[inline(always)]
    fn message(&mut self, f: Field) -> Fallible<Reader<'a>> {
        self.expect(f, LEN)?;
        self.len_delimited()
    }

    #[inline(always)]
    fn bytes(&mut self, f: Field) -> Fallible<&'a [u8]> {
        let r = self.message(f)?;
        Ok(&r.data[r.pos..r.end])
    }

    #[inline(always)]
    fn string(&mut self, f: Field) -> Fallible<&'a str> {
        let bytes = self.bytes(f)?;
        // An inlined ASCII check spares most strings the out-of-line
        // `str::from_utf8` call (18 % faster decoding when measured).
        if let Some(s) = crate::ffi::ascii_str(bytes) {
            return Ok(s);
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(_) => Err(failure(
                self.tag_at,
                format!("field {}: invalid UTF-8", f.number()),
            )),
        }
    }

    #[inline(always)]
    fn uint(&mut self, f: Field) -> Fallible<u64> {
        self.expect(f, VARINT)?;
        self.varint()
    }

    /// An `int32` or enum field (protobuf truncates to 32 bits).
    #[inline(always)]
    fn int32(&mut self, f: Field) -> Fallible<i32> {
        Ok(self.uint(f)? as i32)
    }

    #[inline(always)]
    fn fixed64_field(&mut self, f: Field) -> Fallible<u64> {
        self.expect(f, I64)?;
        self.fixed64()
    }

    /// Skips a known field that is not read, checking its wire type.
    #[inline(always)]
    fn skip_as(&mut self, f: Field, wire_type: u8) -> Fallible<()> {
        self.expect(f, wire_type)?;
        self.skip(f)
    }

    /// Skips a known repeated numeric field, packed or not.
    fn skip_packed(&mut self, f: Field, wire_type: u8) -> Fallible<()> {
        if f.wire_type() != LEN {
            self.expect(f, wire_type)?;
        }
        self.skip(f)
    }

    fn fail(&self, f: Fail) -> Box<Failure> {
        failure(self.pos, f.0)
    }
}

/// The usual shape of a `KeyValue`, as every SDK writes it: field 1 (key,
/// under 128 bytes), then field 2 (value, under 128 bytes) holding one
/// string, bool, int or double field, and nothing else. Read straight from
/// the bytes; `None` for anything else (or anything wrong), which the
/// field-by-field reader then decodes, or reports, as usual. Equivalent to
/// that reader for what it accepts (tested on random bytes).
#[inline(always)]
fn simple_key_value<'a>(r: &Reader<'a>) -> Option<Attr<'a>> {
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
        while let Some(f) = r.field()? {
            match f.number() {
                1 => self.attribute(&mut r, f, AttrTarget::Resource, n)?,
                2 => r.skip_as(f, VARINT)?,
                3 => r.skip_as(f, LEN)?,
                _ => r.skip(f)?,
            }
        }
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
                    match signal {
                        Signal::Traces => self.span(sub),
                        Signal::Metrics => self.metric(sub),
                        Signal::Logs => self.log(sub),
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
                1 => name = Cow::Borrowed(r.string(f)?),
                2 => version = Cow::Borrowed(r.string(f)?),
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
    fn span(&mut self, mut r: Reader<'a>) -> Fallible<()> {
        let at = self.open(&r, empty_span())?;
        let mut sections = Sections::<3>::new(at + 1);
        let mut name = Cow::Borrowed("");
        let (mut kind, mut start) = (0, 0);
        let (mut n_attrs, mut n_events, mut n_links) = (0, 0, 0);
        while let Some(f) = r.field()? {
            let mark = self.ctx.out.len();
            match f.number() {
                5 => name = Cow::Borrowed(r.string(f)?),
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
                1..=4 | 15 => r.skip_as(f, LEN)?,
                8 => r.skip_as(f, I64)?,
                10 | 12 | 14 => r.skip_as(f, VARINT)?,
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
                2 => name = Cow::Borrowed(r.string(f)?),
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
    fn metric(&mut self, mut r: Reader<'a>) -> Fallible<()> {
        let at = self.open(&r, empty_metric())?;
        let (mut name, mut description, mut unit) =
            (Cow::Borrowed(""), Cow::Borrowed(""), Cow::Borrowed(""));
        let mut kind = MetricKind::Unknown;
        let (mut temporality, mut monotonic) = (0, false);
        while let Some(f) = r.field()? {
            let (k, field_name) = match f.number() {
                1 => {
                    name = Cow::Borrowed(r.string(f)?);
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
            metric_event(name, kind, unit, description, temporality, monotonic),
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
        let at = self.open(&r, Event::DataPoint { time_unix_nano: 0 })?;
        let mut time = 0;
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
                    6 | 7 => r.skip_packed(f, I64)?,
                    8 => r.skip_as(f, LEN)?,
                    10 => r.skip_as(f, VARINT)?,
                    _ => r.skip(f)?,
                },
                (MetricKind::ExponentialHistogram, number) => match number {
                    1 => self.attribute(&mut r, f, AttrTarget::DataPoint, &mut n)?,
                    4 | 5 | 7 | 12 | 13 | 14 => r.skip_as(f, I64)?,
                    6 | 10 => r.skip_as(f, VARINT)?,
                    8 | 9 | 11 => r.skip_as(f, LEN)?,
                    _ => r.skip(f)?,
                },
                (MetricKind::Summary, number) => match number {
                    7 => self.attribute(&mut r, f, AttrTarget::DataPoint, &mut n)?,
                    4 | 5 => r.skip_as(f, I64)?,
                    6 => r.skip_as(f, LEN)?,
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
            },
        );
        Ok(())
    }

    /// `LogRecord`: 1 time_unix_nano, 2 severity_number, 3 severity_text,
    /// 5 body, 6 attributes, 7 dropped_attributes_count, 8 flags,
    /// 9 trace_id, 10 span_id, 11 observed_time_unix_nano, 12 event_name.
    fn log(&mut self, mut r: Reader<'a>) -> Fallible<()> {
        let at = self.open(&r, empty_log())?;
        let (mut time, mut observed, mut severity_number) = (0, 0, 0);
        let (mut severity_text, mut event_name) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut body = None;
        let mut n = 0;
        while let Some(f) = r.field()? {
            match f.number() {
                1 => time = r.fixed64_field(f)?,
                11 => observed = r.fixed64_field(f)?,
                2 => severity_number = r.int32(f)?,
                3 => severity_text = Cow::Borrowed(r.string(f)?),
                12 => event_name = Cow::Borrowed(r.string(f)?),
                5 => {
                    let sub = r.message(f)?;
                    body = Some(self.any_value(sub, 1).within("body", None)?);
                }
                6 => self.attribute(&mut r, f, AttrTarget::Log, &mut n)?,
                7 => r.skip_as(f, VARINT)?,
                8 => r.skip_as(f, I32)?,
                9 | 10 => r.skip_as(f, LEN)?,
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
            let attr = self.key_value(sub, 1).within("attributes", Some(*n))?;
            self.ctx.push(target.wrap(attr)).map_err(|e| r.fail(e))?;
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
    use super::super::testdata::{
        self, Request, Style, example_request, fixture, fixture_path, random_request,
        reference_events, to_json,
    };
    use super::super::{
        AnyValue, Encoding, ErrorKind, Event, Limits, Position, Signal, Summary, decode,
    };
    use super::{Ctx, Decoder, Reader, simple_key_value};
    use prost::Message;
    use std::borrow::Cow;

    const EXAMPLES: [(&str, Signal); 4] = [
        ("trace", Signal::Traces),
        ("metrics", Signal::Metrics),
        ("logs", Signal::Logs),
        ("events", Signal::Logs),
    ];

    fn pb(payload: &[u8], signal: Signal) -> Result<Vec<Event<'_>>, super::DecodeError> {
        let mut out = Vec::new();
        decode(
            payload,
            Encoding::Protobuf(signal),
            &Limits::default(),
            &mut out,
        )?;
        Ok(out)
    }

    fn json(payload: &[u8]) -> Vec<Event<'_>> {
        let mut out = Vec::new();
        decode(payload, Encoding::Json, &Limits::default(), &mut out)
            .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(payload)));
        out
    }

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

    /// Regenerates the protobuf fixtures from the JSON examples.
    #[test]
    #[ignore = "writes tests/fixtures/otlp/*.pb"]
    fn write_protobuf_fixtures() {
        for (name, _) in EXAMPLES {
            let req = example_request(&fixture(&format!("{name}.json")));
            std::fs::write(fixture_path(&format!("{name}.pb")), req.encode()).unwrap();
        }
    }

    #[test]
    fn examples_agree_in_both_encodings() {
        for (name, signal) in EXAMPLES {
            let json_bytes = fixture(&format!("{name}.json"));
            let pb_bytes = fixture(&format!("{name}.pb"));
            let req = example_request(&json_bytes);
            assert_eq!(req.signal(), signal);
            // The checked-in fixture is what the generator writes.
            assert!(pb_bytes == req.encode(), "{name}.pb is stale");
            let mut want = Vec::new();
            reference_events(&req, &mut want);
            assert_eq!(json(&json_bytes), want, "{name}.json");
            assert_eq!(pb(&pb_bytes, signal).unwrap(), want, "{name}.pb");
        }
    }

    #[test]
    fn trace_example_events() {
        let bytes = fixture("trace.pb");
        let attr = |k: &'static str, v: &'static str| super::Attr {
            key: k.into(),
            value: AnyValue::Str(v.into()),
        };
        let mut out = Vec::new();
        let summary = decode(
            &bytes,
            Encoding::Protobuf(Signal::Traces),
            &Limits::default(),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            [
                Event::Resource,
                Event::ResourceAttr(attr("service.name", "my.service")),
                Event::Scope {
                    name: "my.library".into(),
                    version: "1.0.0".into()
                },
                Event::ScopeAttr(attr("my.scope.attribute", "some scope attribute")),
                Event::Span {
                    name: "I'm a server span".into(),
                    kind: super::SpanKind::Server,
                    start_time_unix_nano: 1544712660000000000
                },
                Event::SpanAttr(attr("my.span.attr", "some value")),
            ]
        );
        assert_eq!(
            summary,
            Summary {
                requests: 1,
                resources: 1,
                scopes: 1,
                spans: 1,
                events: 6,
                ..Summary::default()
            }
        );
        // Zero-copy: strings borrow from the payload.
        assert!(matches!(
            &out[4],
            Event::Span {
                name: Cow::Borrowed(_),
                ..
            }
        ));
    }

    #[test]
    fn random_requests_agree_with_prost_and_json() {
        for seed in 0..150 {
            for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
                let req = random_request(signal, seed);
                let bytes = req.encode();
                // prost's decoding is the oracle.
                let decoded = Request::decode(signal, &bytes).unwrap();
                let mut want = Vec::new();
                reference_events(&decoded, &mut want);
                let got = pb(&bytes, signal).unwrap();
                assert_eq!(got, want, "protobuf, {signal} seed {seed}");
                let canonical = to_json(&req, &mut Style::canonical());
                assert_eq!(
                    json(canonical.as_bytes()),
                    want,
                    "canonical JSON, seed {seed}"
                );
                let quirky = to_json(&req, &mut Style::quirky(seed));
                assert_eq!(json(quirky.as_bytes()), want, "quirky JSON, seed {seed}");
            }
        }
    }

    #[test]
    fn out_of_order_fields_are_put_in_order() {
        // prost writes fields in number order; write a span whose links,
        // events and attributes come in reverse, a scope block whose spans
        // come before its scope, and a resource after its scope blocks.
        let mut g = testdata::Gen::new(7);
        let mut span = g.span();
        span.attributes = vec![testdata_kv("a", "1"), testdata_kv("b", "2")];
        span.events.truncate(1);
        span.links.truncate(1);
        if span.events.is_empty() || span.links.is_empty() {
            span = testdata::Gen::new(1).span();
        }
        let mut span_bytes = Vec::new();
        for l in span.links.iter().rev() {
            prost::encoding::message::encode(13, l, &mut span_bytes);
        }
        for e in span.events.iter().rev() {
            prost::encoding::message::encode(11, e, &mut span_bytes);
        }
        for a in span.attributes.iter().rev() {
            prost::encoding::message::encode(9, a, &mut span_bytes);
        }
        prost::encoding::string::encode(5, &span.name, &mut span_bytes);
        let scope = opentelemetry_proto::tonic::common::v1::InstrumentationScope {
            name: "lib".into(),
            attributes: vec![testdata_kv("s", "x")],
            ..Default::default()
        };
        let mut scope_block = Vec::new();
        prost::encoding::bytes::encode(2, &span_bytes, &mut scope_block);
        prost::encoding::message::encode(1, &scope, &mut scope_block);
        let resource = opentelemetry_proto::tonic::resource::v1::Resource {
            attributes: vec![testdata_kv("service.name", "svc")],
            ..Default::default()
        };
        let mut resource_block = Vec::new();
        prost::encoding::bytes::encode(2, &scope_block, &mut resource_block);
        prost::encoding::message::encode(1, &resource, &mut resource_block);
        let mut request = Vec::new();
        prost::encoding::bytes::encode(1, &resource_block, &mut request);

        let decoded = Request::decode(Signal::Traces, &request).unwrap();
        let mut want = Vec::new();
        reference_events(&decoded, &mut want);
        assert_eq!(pb(&request, Signal::Traces).unwrap(), want);
        // And the same in JSON, whose writer keeps the prost order.
        let text = to_json(&decoded, &mut Style::canonical());
        assert_eq!(json(text.as_bytes()), want);
    }

    fn testdata_kv(k: &str, v: &str) -> opentelemetry_proto::tonic::common::v1::KeyValue {
        use opentelemetry_proto::tonic::common::v1::{AnyValue as P, KeyValue, any_value};
        KeyValue {
            key: k.into(),
            value: Some(P {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            key_strindex: 0,
        }
    }

    #[test]
    fn truncated_protobuf_fails() {
        for (name, signal) in EXAMPLES {
            let bytes = fixture(&format!("{name}.pb"));
            for len in 1..bytes.len() {
                let err = pb(&bytes[..len], signal).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Protobuf(signal));
                let Position::Offset(o) = err.position() else {
                    panic!("{err}")
                };
                assert!(o <= len, "{err}");
            }
        }
        // Truncation shows at the outermost length that runs past the end.
        let err = pb(&fixture("trace.pb")[..100], Signal::Traces).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid OTLP/protobuf traces request at byte 1: \
             truncated: 211 bytes announced, 97 left in the message"
        );
        // An empty payload is an empty request.
        assert_eq!(pb(b"", Signal::Traces).unwrap(), []);
    }

    fn offset(e: &super::DecodeError) -> usize {
        match e.position() {
            Position::Offset(o) => o,
            _ => panic!("{e}"),
        }
    }

    #[test]
    fn wrong_signal() {
        // Bytes of another signal fail on the first record: wire types differ
        // (a log record starts with a fixed64 time where a span has bytes,
        // a metric's gauge is a message where a span has a fixed64 start).
        for (name, actual) in EXAMPLES {
            let bytes = fixture(&format!("{name}.pb"));
            for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
                if signal == actual {
                    continue;
                }
                let err = pb(&bytes, signal).unwrap_err();
                assert!(
                    err.message().contains("wire type") || err.message().contains("UTF-8"),
                    "{name} as {signal}: {err}"
                );
            }
        }
    }

    #[test]
    fn hostile_protobuf() {
        use prost::encoding::{encode_key, encode_varint};
        let kv = |key: &[u8]| {
            let mut b = Vec::new();
            prost::encoding::bytes::encode(1, &key.to_vec(), &mut b);
            b
        };
        // Wrap `inner` as field `f` of each enclosing message, innermost first.
        let wrap = |inner: Vec<u8>, fields: &[u32]| {
            fields.iter().fold(inner, |acc, &f| {
                let mut b = Vec::new();
                prost::encoding::bytes::encode(f, &acc, &mut b);
                b
            })
        };
        // attributes → span → scope spans → resource spans → request
        let span_attr = |attr: Vec<u8>| wrap(attr, &[9, 2, 2, 1]);

        // Invalid UTF-8 in a key.
        let bytes = span_attr(kv(b"\xff\xfe"));
        let err = pb(&bytes, Signal::Traces).unwrap_err();
        assert_eq!(
            err.path(),
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0]"
        );
        assert_eq!(err.message(), "field 1: invalid UTF-8");
        assert_eq!(offset(&err), bytes.len() - 4, "at the key's tag");

        // A varint where a string belongs.
        let mut bad = Vec::new();
        encode_key(1, prost::encoding::WireType::Varint, &mut bad);
        encode_varint(5, &mut bad);
        let err = pb(&span_attr(bad), Signal::Traces).unwrap_err();
        assert_eq!(
            err.message(),
            "field 1 has wire type varint, expected length-delimited"
        );

        // Overlong varint, group wire type, field number 0.
        for (bytes, msg) in [
            (
                &b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"[..],
                "invalid varint",
            ),
            (b"\x0a\xff\xff", "truncated varint"),
            (b"\x0b", "field 1 has unsupported wire type 3"),
            (b"\x00", "invalid field number 0"),
        ] {
            assert_eq!(pb(bytes, Signal::Logs).unwrap_err().message(), msg);
        }

        // A million attributes on one span.
        let mut attrs = Vec::new();
        let one = {
            let mut b = Vec::new();
            prost::encoding::bytes::encode(9, &kv(b"k"), &mut b);
            b
        };
        for _ in 0..1_000_000 {
            attrs.extend_from_slice(&one);
        }
        let bytes = wrap(attrs.clone(), &[2, 2, 1]);
        let err = pb(&bytes, Signal::Traces).unwrap_err();
        assert!(err.message().contains("max_attributes_per_record"), "{err}");
        // 4096 is fine.
        let n = 4096 * one.len();
        let bytes = wrap(attrs[..n].to_vec(), &[2, 2, 1]);
        assert_eq!(pb(&bytes, Signal::Traces).unwrap().len(), 3 + 4096);

        // Values nested 33 deep (arrays of arrays).
        let nest = |depth: usize| {
            let mut v = Vec::new(); // empty AnyValue
            for _ in 1..depth {
                v = wrap(wrap(v, &[1]), &[5]); // ArrayValue.values → AnyValue.array_value
            }
            let mut attr = kv(b"deep");
            prost::encoding::bytes::encode(2, &v, &mut attr);
            span_attr(attr)
        };
        assert!(pb(&nest(32), Signal::Traces).is_ok());
        let err = pb(&nest(33), Signal::Traces).unwrap_err();
        assert!(err.message().contains("max_depth"), "{err}");
        let path = err.path();
        assert!(path.starts_with("resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value."));
        assert_eq!(path.matches(".arrayValue.values[0]").count(), 32, "{path}");

        // max_depth has a ceiling: the decoders recurse once per level.
        let deep = Limits {
            max_depth: 10_000,
            ..Limits::default()
        };
        let bytes = nest(129);
        let mut out = Vec::new();
        let err = decode(&bytes, Encoding::Protobuf(Signal::Traces), &deep, &mut out).unwrap_err();
        assert!(err.message().contains("deeper than 128"), "{err}");

        // JSON sent as protobuf gets a hint.
        let err = pb(&fixture("trace.json"), Signal::Traces).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid OTLP/protobuf traces request at byte 0: \
             field 15 has unsupported wire type 3 (the payload looks like OTLP/JSON)"
        );

        // max_events bounds the output of tiny records.
        let spans: Vec<u8> = std::iter::repeat_n([0x12u8, 0x00], 100).flatten().collect();
        let bytes = wrap(spans, &[2, 1]);
        let limits = Limits {
            max_events: 50,
            ..Limits::default()
        };
        let mut out = vec![Event::Resource];
        let err = decode(
            &bytes,
            Encoding::Protobuf(Signal::Traces),
            &limits,
            &mut out,
        )
        .unwrap_err();
        assert!(err.message().contains("max_events"), "{err}");
        // The output is left as it was.
        assert_eq!(out, [Event::Resource]);
    }

    /// Length-delimited field `f` holding `inner`.
    fn ld(f: u32, inner: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        prost::encoding::bytes::encode(f, &inner.to_vec(), &mut b);
        b
    }

    /// A `KeyValue` with a string value.
    fn kv_bytes(key: &str, value: &str) -> Vec<u8> {
        let mut b = ld(1, key.as_bytes());
        b.extend(ld(2, &ld(1, value.as_bytes())));
        b
    }

    /// Shuffles the fields of `kinds` (lists of encoded fields) into one
    /// message: each list keeps its order, the lists interleave at random.
    fn interleave(rnd: &mut crate::testutil::XorShift, kinds: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut next = vec![0; kinds.len()];
        let mut out = Vec::new();
        while let Some(k) = {
            let open: Vec<usize> = (0..kinds.len())
                .filter(|&k| next[k] < kinds[k].len())
                .collect();
            (!open.is_empty()).then(|| open[rnd.below(open.len() as u64) as usize])
        } {
            out.extend_from_slice(&kinds[k][next[k]]);
            next[k] += 1;
        }
        out
    }

    /// Fields in any order decode as in order: a span's attributes, events
    /// and links interleaved; a scope block's scope (in several parts,
    /// which protobuf merges) among its spans; a resource block's resource
    /// (in parts) among its scope blocks.
    #[test]
    fn interleaved_fields_are_put_in_order() {
        let mut rnd = crate::testutil::XorShift::new(99);
        for case in 0..200 {
            let mut n = || rnd.below(6) as usize;
            let (na, ne, nl, nsp, nsc, nsa, nrp, nsb) =
                (n(), n(), n(), n(), n(), n(), n(), 1 + n() % 3);
            let attrs: Vec<Vec<u8>> = (0..na)
                .map(|i| ld(9, &kv_bytes(&format!("a{i}"), "v")))
                .collect();
            let events: Vec<Vec<u8>> = (0..ne)
                .map(|i| {
                    ld(
                        11,
                        &[
                            ld(2, format!("e{i}").as_bytes()),
                            ld(3, &kv_bytes("ek", "x")),
                        ]
                        .concat(),
                    )
                })
                .collect();
            let links: Vec<Vec<u8>> = (0..nl)
                .map(|i| ld(13, &ld(4, &kv_bytes(&format!("l{i}"), "y"))))
                .collect();
            let name = ld(5, b"span");
            let kinds = [
                vec![name.clone()],
                attrs.clone(),
                events.clone(),
                links.clone(),
            ];
            let span_in_order = kinds.concat().concat();
            let span_shuffled = interleave(&mut rnd, &kinds);
            // Scope blocks: scope parts (name, then an attribute each) and spans.
            let scope_parts: Vec<Vec<u8>> = (0..nsc)
                .map(|i| {
                    ld(
                        1,
                        &[ld(1, b"lib"), ld(3, &kv_bytes(&format!("s{i}"), "z"))].concat(),
                    )
                })
                .collect();
            let spans =
                |span: &[u8]| -> Vec<Vec<u8>> { (0..nsp.max(1)).map(|_| ld(2, span)).collect() };
            let block_in_order = [scope_parts.clone(), spans(&span_in_order)]
                .concat()
                .concat();
            let scope_kinds = [scope_parts.clone(), spans(&span_shuffled)];
            let blocks_in_order: Vec<Vec<u8>> = (0..nsb).map(|_| ld(2, &block_in_order)).collect();
            let blocks_shuffled: Vec<Vec<u8>> = (0..nsb)
                .map(|_| ld(2, &interleave(&mut rnd, &scope_kinds)))
                .collect();
            // Resource parts, each with some attributes.
            let res_parts: Vec<Vec<u8>> = (0..nrp)
                .map(|p| {
                    ld(
                        1,
                        &(0..nsa)
                            .map(|i| ld(1, &kv_bytes(&format!("r{p}.{i}"), "w")))
                            .collect::<Vec<_>>()
                            .concat(),
                    )
                })
                .collect();
            let in_order = ld(1, &[res_parts.clone(), blocks_in_order].concat().concat());
            let shuffled = ld(1, &interleave(&mut rnd, &[res_parts, blocks_shuffled]));
            let want = pb(&in_order, Signal::Traces).unwrap();
            assert_eq!(pb(&shuffled, Signal::Traces).unwrap(), want, "case {case}");
        }
    }

    /// The attribute limit counts a resource's (or scope's) attributes
    /// over all the parts protobuf merges into it.
    #[test]
    fn attribute_limit_counts_merged_parts() {
        let part = |f: u32, n: usize| {
            let attrs: Vec<u8> = (0..n)
                .flat_map(|i| ld(f, &kv_bytes(&format!("k{i}"), "v")))
                .collect();
            ld(1, &attrs)
        };
        let scope_block = |scope: Vec<u8>| ld(2, &[scope, ld(2, &ld(5, b"s"))].concat());
        for (a, b, ok) in [(2048, 2048, true), (3000, 1097, false), (4096, 1, false)] {
            // Two `resource` fields.
            let req = ld(
                1,
                &[part(1, a), part(1, b), scope_block(Vec::new())].concat(),
            );
            let r = pb(&req, Signal::Traces);
            assert_eq!(r.is_ok(), ok, "resource {a} + {b}");
            if let Err(e) = r {
                assert!(e.message().contains("max_attributes_per_record"), "{e}");
            }
            // Two `scope` fields of one scope block.
            let req = ld(1, &scope_block([part(3, a), part(3, b)].concat()));
            let r = pb(&req, Signal::Traces);
            assert_eq!(r.is_ok(), ok, "scope {a} + {b}");
            if let Err(e) = r {
                assert!(e.message().contains("max_attributes_per_record"), "{e}");
            }
        }
    }

    /// Random bytes and mutations of valid payloads: never a panic, and
    /// whenever both prost and the walker accept a payload, they agree.
    #[test]
    fn fuzz_protobuf() {
        let mut rng = fastrand::Rng::with_seed(42);
        let mut seeds: Vec<(Vec<u8>, Signal)> = EXAMPLES
            .iter()
            .map(|(n, s)| (fixture(&format!("{n}.pb")), *s))
            .collect();
        for seed in 0..30 {
            for s in [Signal::Traces, Signal::Metrics, Signal::Logs] {
                seeds.push((random_request(s, seed).encode(), s));
            }
        }
        let mut agreed = 0;
        for i in 0..10_000 {
            let (base, signal) = &seeds[i % seeds.len()];
            let mut bytes = base.clone();
            match rng.u8(..4) {
                0 => {
                    let n = rng.usize(..64);
                    bytes = std::iter::repeat_with(|| rng.u8(..)).take(n).collect();
                }
                _ if bytes.is_empty() => {}
                _ => {
                    for _ in 0..rng.usize(1..4) {
                        let at = rng.usize(..bytes.len());
                        match rng.u8(..4) {
                            0 => bytes[at] = rng.u8(..),
                            1 => bytes[at] ^= 1 << rng.u8(..8),
                            2 => bytes.truncate(at),
                            _ => bytes.insert(at, rng.u8(..)),
                        }
                        if bytes.is_empty() {
                            break;
                        }
                    }
                }
            }
            let ours = pb(&bytes, *signal);
            if let (Ok(ours), Ok(theirs)) = (ours, Request::decode(*signal, &bytes)) {
                let mut want = Vec::new();
                reference_events(&theirs, &mut want);
                assert_eq!(ours, want, "{bytes:?}");
                agreed += 1;
            }
        }
        assert!(agreed > 500, "{agreed}");
    }

    /// Decoder throughput on realistic spans. Run with
    /// `cargo test --release -- --ignored --nocapture bench_decoders`.
    #[test]
    #[ignore = "benchmark"]
    fn bench_decoders() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use std::hint::black_box;
        use std::time::{Duration, Instant};

        const SPANS: usize = 1024;
        let req = Request::Traces(testdata::realistic_traces(SPANS, 1));
        let bytes = req.encode();
        let text = to_json(&req, &mut Style::canonical());
        let limits = Limits::default();
        println!(
            "{SPANS} spans per request: protobuf {} bytes, JSON {} bytes",
            bytes.len(),
            text.len()
        );
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        let run = |name: &str, size: usize, f: &mut dyn FnMut() -> usize| {
            if !name.contains(only.as_str()) {
                return;
            }
            for _ in 0..20 {
                black_box(f());
            }
            let mut best = Duration::MAX;
            for _ in 0..5 {
                let start = Instant::now();
                let mut n = 0;
                while start.elapsed() < Duration::from_millis(300) {
                    black_box(f());
                    n += 1;
                }
                best = best.min(start.elapsed() / n);
            }
            let secs = best.as_secs_f64();
            println!(
                "{name:<34} {:>6.2} M spans/s {:>7.0} MB/s",
                SPANS as f64 / secs / 1e6,
                size as f64 / secs / 1e6
            );
        };
        let mut out = Vec::new();
        run("B: protobuf walker -> events", bytes.len(), &mut || {
            out.clear();
            decode(
                &bytes,
                Encoding::Protobuf(Signal::Traces),
                &limits,
                &mut out,
            )
            .unwrap();
            out.len()
        });
        run("A: prost decode only", bytes.len(), &mut || {
            let r = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
            r.resource_spans.len()
        });
        run("A: prost decode -> events", bytes.len(), &mut || {
            let r = Request::Traces(ExportTraceServiceRequest::decode(&bytes[..]).unwrap());
            let mut events = Vec::with_capacity(16 * SPANS);
            reference_events(&r, &mut events);
            events.len()
        });
        let mut out = Vec::new();
        run("JSON -> events", text.len(), &mut || {
            out.clear();
            decode(text.as_bytes(), Encoding::Json, &limits, &mut out).unwrap();
            out.len()
        });
        let quirky = to_json(&req, &mut Style::quirky(3));
        let mut out = Vec::new();
        run("JSON with quirks -> events", quirky.len(), &mut || {
            out.clear();
            decode(quirky.as_bytes(), Encoding::Json, &limits, &mut out).unwrap();
            out.len()
        });
    }
}
