//! OTLP/JSON decoder.
//!
//! serde_json drives a set of borrowing seeds that write events straight
//! into the output: no intermediate structs, strings borrowed from the
//! payload unless they hold escapes, one allocation per array or kvlist
//! value (and per base64 `bytesValue`).
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
//!   `"1.5"`);
//! - `bytesValue` in standard or URL-safe base64, padded or not;
//! - `null` for any field: absent for scalars and `body`, empty for objects
//!   and lists; unknown fields anywhere; any trace and span ids (not read).
//!
//! Rejected: a document that is not an object or has none of
//! `resourceSpans`, `resourceMetrics`, `resourceLogs` (so `{}` too); an
//! empty payload; values of the wrong JSON type for known fields.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};

use super::{
    AnyValue, Attr, AttrTarget, Ctx, DecodeError, ErrorKind, Event, Fail, MetricKind, Position,
    Sections, Seg, Signal, SpanKind, Temporality, empty_log, empty_metric, empty_scope,
    empty_span, empty_span_event, render_path,
};

pub(super) fn decode<'a>(payload: &'a [u8], ctx: &mut Ctx<'a>) -> Result<(), DecodeError> {
    let text = payload.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(payload);
    if text
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Err(DecodeError::new(ErrorKind::Json, "empty payload"));
    }
    // Validating the whole text at once is much faster than serde_json's
    // check of every string, and lets it borrow strings without one.
    let text = std::str::from_utf8(text).map_err(|e| {
        let (line, column) = line_column(&text[..e.valid_up_to()]);
        DecodeError::new(ErrorKind::Json, "invalid UTF-8").at(
            Position::Text {
                line,
                column: column + 1,
                document: 0,
            },
            String::new(),
        )
    })?;
    let mut de = sonic_rs::Deserializer::from_str(text);
    let mut document = 0;
    loop {
        document += 1;
        let request = Obj {
            ctx: &mut *ctx,
            dec: RequestDec { found: false },
        };
        if let Err(e) = request.deserialize(&mut de) {
            return Err(convert_error(e, document, ctx));
        }
        ctx.summary.requests += 1;
        // `end` fails when anything but whitespace follows: the next request.
        if de.end().is_ok() {
            return Ok(());
        }
    }
}

/// The 1-based line and the column (bytes after the last newline) at the
/// end of `before`.
fn line_column(before: &[u8]) -> (usize, usize) {
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = before.len() - before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    (line, column)
}

fn convert_error(e: sonic_rs::Error, document: usize, ctx: &mut Ctx<'_>) -> DecodeError {
    let (line, column) = (e.line(), e.column());
    let mut message = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    if message.ends_with(&suffix) {
        message.truncate(message.len() - suffix.len());
    }
    let path = render_path(&ctx.err_path);
    ctx.err_path.clear();
    DecodeError::new(ErrorKind::Json, message).at(
        Position::Text {
            line,
            column,
            document,
        },
        path,
    )
}

// ---------------------------------------------------------------------------
// Objects and lists.

/// Decodes the fields of one JSON object (`null` counts as `{}`).
trait ObjectDecoder<'a>: Sized {
    type Output;
    const EXPECTING: &'static str;

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error>;

    fn finish(self, ctx: &mut Ctx<'a>) -> Result<Self::Output, Fail>;
}

struct Obj<'c, 'a, T> {
    ctx: &'c mut Ctx<'a>,
    dec: T,
}

impl<'a, T: ObjectDecoder<'a>> DeserializeSeed<'a> for Obj<'_, 'a, T> {
    type Value = T::Output;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<T::Output, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a, T: ObjectDecoder<'a>> Visitor<'a> for Obj<'_, 'a, T> {
    type Value = T::Output;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'a>>(mut self, mut map: A) -> Result<T::Output, A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            if let Err(e) = self.dec.field(self.ctx, &key, &mut map) {
                self.ctx
                    .err_path
                    .push(Seg::Field(Cow::Owned(key.into_owned())));
                return Err(e);
            }
        }
        self.dec.finish(self.ctx).map_err(de::Error::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<T::Output, E> {
        self.dec.finish(self.ctx).map_err(E::custom)
    }
}

/// Decodes the elements of one JSON array (`null` counts as `[]`).
trait ElementDecoder<'a> {
    const EXPECTING: &'static str;

    fn element<D: Deserializer<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        index: usize,
        d: D,
    ) -> Result<(), D::Error>;
}

struct List<'c, 'a, E> {
    ctx: &'c mut Ctx<'a>,
    elem: E,
}

impl<'a, E: ElementDecoder<'a>> DeserializeSeed<'a> for List<'_, 'a, E> {
    type Value = E;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<E, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a, E: ElementDecoder<'a>> Visitor<'a> for List<'_, 'a, E> {
    type Value = E;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(E::EXPECTING)
    }

    fn visit_seq<S: SeqAccess<'a>>(mut self, mut seq: S) -> Result<E, S::Error> {
        let mut index = 0;
        loop {
            let elem = Elem {
                ctx: &mut *self.ctx,
                dec: &mut self.elem,
                index,
            };
            match seq.next_element_seed(elem) {
                Ok(Some(())) => index += 1,
                Ok(None) => return Ok(self.elem),
                Err(e) => {
                    self.ctx.err_path.push(Seg::Index(index));
                    return Err(e);
                }
            }
        }
    }

    fn visit_unit<Er: de::Error>(self) -> Result<E, Er> {
        Ok(self.elem)
    }
}

struct Elem<'e, 'a, E> {
    ctx: &'e mut Ctx<'a>,
    dec: &'e mut E,
    index: usize,
}

impl<'a, E: ElementDecoder<'a>> DeserializeSeed<'a> for Elem<'_, 'a, E> {
    type Value = ();

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        self.dec.element(self.ctx, self.index, d)
    }
}

fn ignore<'a, A: MapAccess<'a>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Decodes a list field whose events belong to section `i` of a record.
fn section<'a, A, E, const N: usize>(
    ctx: &mut Ctx<'a>,
    map: &mut A,
    sections: &mut Sections<N>,
    i: usize,
    elem: E,
) -> Result<(), A::Error>
where
    A: MapAccess<'a>,
    E: ElementDecoder<'a>,
{
    let mark = ctx.out.len();
    map.next_value_seed(List { ctx: &mut *ctx, elem })?;
    sections.place(&mut ctx.out, i, mark);
    Ok(())
}

// ---------------------------------------------------------------------------
// The request and its records.

struct RequestDec {
    found: bool,
}

impl<'a> ObjectDecoder<'a> for RequestDec {
    type Output = ();
    const EXPECTING: &'static str = "an OTLP/JSON export request object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let signal = match key {
            "resourceSpans" | "resource_spans" => Signal::Traces,
            "resourceMetrics" | "resource_metrics" => Signal::Metrics,
            "resourceLogs" | "resource_logs" => Signal::Logs,
            _ => return ignore(map),
        };
        self.found = true;
        map.next_value_seed(List {
            ctx,
            elem: Record::ResourceBlock(signal),
        })?;
        Ok(())
    }

    fn finish(self, _: &mut Ctx<'a>) -> Result<(), Fail> {
        if self.found {
            Ok(())
        } else {
            Err(Fail(
                "not an OTLP export request: no resourceSpans, resourceMetrics or resourceLogs"
                    .into(),
            ))
        }
    }
}

/// The elements of the lists of records.
#[derive(Clone, Copy)]
enum Record {
    ResourceBlock(Signal),
    ScopeBlock(Signal),
    Span,
    SpanEvent,
    SpanLink,
    Metric,
    DataPoint,
    Log,
}

impl<'a> ElementDecoder<'a> for Record {
    const EXPECTING: &'static str = "a list of objects";

    fn element<D: Deserializer<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        _: usize,
        d: D,
    ) -> Result<(), D::Error> {
        fn open<'a, T, E: de::Error>(
            ctx: &mut Ctx<'a>,
            event: Event<'a>,
            dec: impl FnOnce(usize) -> T,
        ) -> Result<T, E> {
            ctx.open(event).map(dec).map_err(E::custom)
        }
        match *self {
            Record::ResourceBlock(signal) => {
                let dec = open(ctx, Event::Resource, |at| ResourceBlockDec {
                    signal,
                    sections: Sections::new(at + 1),
                })?;
                Obj { ctx, dec }.deserialize(d)
            }
            Record::ScopeBlock(signal) => {
                let dec = open(ctx, empty_scope(), |at| ScopeBlockDec {
                    signal,
                    at,
                    sections: Sections::new(at + 1),
                    name: Cow::Borrowed(""),
                    version: Cow::Borrowed(""),
                })?;
                Obj { ctx, dec }.deserialize(d)
            }
            Record::Span => {
                let dec = open(ctx, empty_span(), |at| SpanDec {
                    at,
                    sections: Sections::new(at + 1),
                    name: Cow::Borrowed(""),
                    kind: 0,
                    start: 0,
                })?;
                Obj { ctx, dec }.deserialize(d)
            }
            Record::SpanEvent => {
                let dec = open(ctx, empty_span_event(), |at| SpanEventDec {
                    at,
                    name: Cow::Borrowed(""),
                    time: 0,
                })?;
                Obj { ctx, dec }.deserialize(d)
            }
            Record::SpanLink => {
                open::<_, D::Error>(ctx, Event::SpanLink, |_| ())?;
                Obj {
                    ctx,
                    dec: AttrsOnly(AttrTarget::SpanLink),
                }
                .deserialize(d)
            }
            Record::Metric => {
                let dec = open(ctx, empty_metric(), |at| MetricDec {
                    at,
                    name: Cow::Borrowed(""),
                    description: Cow::Borrowed(""),
                    unit: Cow::Borrowed(""),
                    kind: MetricKind::Unknown,
                    data: MetricData::default(),
                })?;
                Obj { ctx, dec }.deserialize(d)
            }
            Record::DataPoint => {
                let dec = open(ctx, Event::DataPoint { time_unix_nano: 0 }, |at| {
                    DataPointDec { at, time: 0 }
                })?;
                Obj { ctx, dec }.deserialize(d)
            }
            Record::Log => {
                let dec = open(ctx, empty_log(), |at| LogDec {
                    at,
                    time: 0,
                    observed: 0,
                    severity_number: 0,
                    severity_text: Cow::Borrowed(""),
                    event_name: Cow::Borrowed(""),
                    body: None,
                })?;
                Obj { ctx, dec }.deserialize(d)
            }
        }
    }
}

struct ResourceBlockDec {
    signal: Signal,
    /// The resource's attributes, then the scope blocks.
    sections: Sections<2>,
}

impl<'a> ObjectDecoder<'a> for ResourceBlockDec {
    type Output = ();
    const EXPECTING: &'static str = "a resource block object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match (self.signal, key) {
            (_, "resource") => {
                let mark = ctx.out.len();
                map.next_value_seed(Obj {
                    ctx: &mut *ctx,
                    dec: AttrsOnly(AttrTarget::Resource),
                })?;
                self.sections.place(&mut ctx.out, 0, mark);
            }
            (Signal::Traces, "scopeSpans" | "scope_spans")
            | (Signal::Metrics, "scopeMetrics" | "scope_metrics")
            | (Signal::Logs, "scopeLogs" | "scope_logs") => {
                let elem = Record::ScopeBlock(self.signal);
                section(ctx, map, &mut self.sections, 1, elem)?;
            }
            _ => ignore(map)?,
        }
        Ok(())
    }

    fn finish(self, _: &mut Ctx<'a>) -> Result<(), Fail> {
        Ok(())
    }
}

/// An object of which only `attributes` is read: a resource or a span link.
struct AttrsOnly(AttrTarget);

impl<'a> ObjectDecoder<'a> for AttrsOnly {
    type Output = ();
    const EXPECTING: &'static str = "an object with attributes";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "attributes" => {
                map.next_value_seed(List {
                    ctx,
                    elem: Attributes(self.0),
                })?;
                Ok(())
            }
            _ => ignore(map),
        }
    }

    fn finish(self, _: &mut Ctx<'a>) -> Result<(), Fail> {
        Ok(())
    }
}

struct ScopeBlockDec<'a> {
    signal: Signal,
    at: usize,
    /// The scope's attributes, then the records.
    sections: Sections<2>,
    name: Cow<'a, str>,
    version: Cow<'a, str>,
}

impl<'a> ObjectDecoder<'a> for ScopeBlockDec<'a> {
    type Output = ();
    const EXPECTING: &'static str = "a scope block object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let record = match (self.signal, key) {
            (_, "scope") => {
                let mark = ctx.out.len();
                let scope = map.next_value_seed(Obj {
                    ctx: &mut *ctx,
                    dec: ScopeDec {
                        name: Cow::Borrowed(""),
                        version: Cow::Borrowed(""),
                    },
                })?;
                (self.name, self.version) = scope;
                self.sections.place(&mut ctx.out, 0, mark);
                return Ok(());
            }
            (Signal::Traces, "spans") => Record::Span,
            (Signal::Metrics, "metrics") => Record::Metric,
            (Signal::Logs, "logRecords" | "log_records") => Record::Log,
            _ => return ignore(map),
        };
        section(ctx, map, &mut self.sections, 1, record)
    }

    fn finish(self, ctx: &mut Ctx<'a>) -> Result<(), Fail> {
        ctx.out[self.at] = Event::Scope {
            name: self.name,
            version: self.version,
        };
        Ok(())
    }
}

struct ScopeDec<'a> {
    name: Cow<'a, str>,
    version: Cow<'a, str>,
}

impl<'a> ObjectDecoder<'a> for ScopeDec<'a> {
    type Output = (Cow<'a, str>, Cow<'a, str>);
    const EXPECTING: &'static str = "a scope object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "name" => set(&mut self.name, map.next_value_seed(StrV)?),
            "version" => set(&mut self.version, map.next_value_seed(StrV)?),
            "attributes" => {
                map.next_value_seed(List {
                    ctx,
                    elem: Attributes(AttrTarget::Scope),
                })?;
            }
            _ => ignore(map)?,
        }
        Ok(())
    }

    fn finish(self, _: &mut Ctx<'a>) -> Result<Self::Output, Fail> {
        Ok((self.name, self.version))
    }
}

struct SpanDec<'a> {
    at: usize,
    /// Attributes, events, links.
    sections: Sections<3>,
    name: Cow<'a, str>,
    kind: i32,
    start: u64,
}

impl<'a> ObjectDecoder<'a> for SpanDec<'a> {
    type Output = ();
    const EXPECTING: &'static str = "a span object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "name" => set(&mut self.name, map.next_value_seed(StrV)?),
            "kind" => set(&mut self.kind, map.next_value_seed(EnumV(span_kind_name))?),
            "startTimeUnixNano" | "start_time_unix_nano" => {
                set(&mut self.start, map.next_value_seed(U64V)?)
            }
            "attributes" => {
                let elem = Attributes(AttrTarget::Span);
                section(ctx, map, &mut self.sections, 0, elem)?;
            }
            "events" => section(ctx, map, &mut self.sections, 1, Record::SpanEvent)?,
            "links" => section(ctx, map, &mut self.sections, 2, Record::SpanLink)?,
            _ => ignore(map)?,
        }
        Ok(())
    }

    fn finish(self, ctx: &mut Ctx<'a>) -> Result<(), Fail> {
        ctx.out[self.at] = Event::Span {
            name: self.name,
            kind: SpanKind::from_i32(self.kind),
            start_time_unix_nano: self.start,
        };
        Ok(())
    }
}

struct SpanEventDec<'a> {
    at: usize,
    name: Cow<'a, str>,
    time: u64,
}

impl<'a> ObjectDecoder<'a> for SpanEventDec<'a> {
    type Output = ();
    const EXPECTING: &'static str = "a span event object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "name" => set(&mut self.name, map.next_value_seed(StrV)?),
            "timeUnixNano" | "time_unix_nano" => set(&mut self.time, map.next_value_seed(U64V)?),
            "attributes" => {
                map.next_value_seed(List {
                    ctx,
                    elem: Attributes(AttrTarget::SpanEvent),
                })?;
            }
            _ => ignore(map)?,
        }
        Ok(())
    }

    fn finish(self, ctx: &mut Ctx<'a>) -> Result<(), Fail> {
        ctx.out[self.at] = Event::SpanEvent {
            name: self.name,
            time_unix_nano: self.time,
        };
        Ok(())
    }
}

struct MetricDec<'a> {
    at: usize,
    name: Cow<'a, str>,
    description: Cow<'a, str>,
    unit: Cow<'a, str>,
    kind: MetricKind,
    data: MetricData,
}

impl<'a> ObjectDecoder<'a> for MetricDec<'a> {
    type Output = ();
    const EXPECTING: &'static str = "a metric object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let kind = match key {
            "name" => return Ok(set(&mut self.name, map.next_value_seed(StrV)?)),
            "description" => return Ok(set(&mut self.description, map.next_value_seed(StrV)?)),
            "unit" => return Ok(set(&mut self.unit, map.next_value_seed(StrV)?)),
            "gauge" => MetricKind::Gauge,
            "sum" => MetricKind::Sum,
            "histogram" => MetricKind::Histogram,
            "exponentialHistogram" | "exponential_histogram" => MetricKind::ExponentialHistogram,
            "summary" => MetricKind::Summary,
            _ => return ignore(map),
        };
        self.kind = kind;
        self.data = map.next_value_seed(Obj {
            ctx,
            dec: MetricData::default(),
        })?;
        Ok(())
    }

    fn finish(self, ctx: &mut Ctx<'a>) -> Result<(), Fail> {
        let (temporality, monotonic) = match self.kind {
            MetricKind::Sum => (self.data.temporality, self.data.monotonic),
            MetricKind::Histogram | MetricKind::ExponentialHistogram => {
                (self.data.temporality, false)
            }
            _ => (0, false),
        };
        ctx.out[self.at] = Event::Metric {
            name: self.name,
            kind: self.kind,
            unit: self.unit,
            description: self.description,
            temporality: Temporality::from_i32(temporality),
            monotonic,
        };
        Ok(())
    }
}

/// The `gauge`, `sum`, ... object of a metric.
#[derive(Default)]
struct MetricData {
    temporality: i32,
    monotonic: bool,
}

impl<'a> ObjectDecoder<'a> for MetricData {
    type Output = MetricData;
    const EXPECTING: &'static str = "a metric data object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => {
                map.next_value_seed(List {
                    ctx,
                    elem: Record::DataPoint,
                })?;
            }
            "aggregationTemporality" | "aggregation_temporality" => set(
                &mut self.temporality,
                map.next_value_seed(EnumV(temporality_name))?,
            ),
            "isMonotonic" | "is_monotonic" => set(&mut self.monotonic, map.next_value_seed(BoolV)?),
            _ => ignore(map)?,
        }
        Ok(())
    }

    fn finish(self, _: &mut Ctx<'a>) -> Result<Self, Fail> {
        Ok(self)
    }
}

struct DataPointDec {
    at: usize,
    time: u64,
}

impl<'a> ObjectDecoder<'a> for DataPointDec {
    type Output = ();
    const EXPECTING: &'static str = "a data point object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "timeUnixNano" | "time_unix_nano" => set(&mut self.time, map.next_value_seed(U64V)?),
            "attributes" => {
                map.next_value_seed(List {
                    ctx,
                    elem: Attributes(AttrTarget::DataPoint),
                })?;
            }
            _ => ignore(map)?,
        }
        Ok(())
    }

    fn finish(self, ctx: &mut Ctx<'a>) -> Result<(), Fail> {
        ctx.out[self.at] = Event::DataPoint {
            time_unix_nano: self.time,
        };
        Ok(())
    }
}

struct LogDec<'a> {
    at: usize,
    time: u64,
    observed: u64,
    severity_number: i32,
    severity_text: Cow<'a, str>,
    event_name: Cow<'a, str>,
    body: Option<AnyValue<'a>>,
}

impl<'a> ObjectDecoder<'a> for LogDec<'a> {
    type Output = ();
    const EXPECTING: &'static str = "a log record object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "timeUnixNano" | "time_unix_nano" => set(&mut self.time, map.next_value_seed(U64V)?),
            "observedTimeUnixNano" | "observed_time_unix_nano" => {
                set(&mut self.observed, map.next_value_seed(U64V)?)
            }
            "severityNumber" | "severity_number" => set(
                &mut self.severity_number,
                map.next_value_seed(EnumV(severity_name))?,
            ),
            "severityText" | "severity_text" => {
                set(&mut self.severity_text, map.next_value_seed(StrV)?)
            }
            "eventName" | "event_name" => set(&mut self.event_name, map.next_value_seed(StrV)?),
            "body" => self.body = map.next_value_seed(Body { ctx })?,
            "attributes" => {
                map.next_value_seed(List {
                    ctx,
                    elem: Attributes(AttrTarget::Log),
                })?;
            }
            _ => ignore(map)?,
        }
        Ok(())
    }

    fn finish(self, ctx: &mut Ctx<'a>) -> Result<(), Fail> {
        ctx.out[self.at] = Event::Log {
            severity_number: self.severity_number,
            severity_text: self.severity_text,
            event_name: self.event_name,
            time_unix_nano: if self.time != 0 {
                self.time
            } else {
                self.observed
            },
            body: self.body,
        };
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Attributes and values.

/// The elements of an `attributes` list.
struct Attributes(AttrTarget);

impl<'a> ElementDecoder<'a> for Attributes {
    const EXPECTING: &'static str = "a list of key/value objects";

    fn element<D: Deserializer<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        index: usize,
        d: D,
    ) -> Result<(), D::Error> {
        ctx.check_attr_index(index).map_err(de::Error::custom)?;
        let attr = Obj {
            ctx: &mut *ctx,
            dec: KeyValueDec::new(1),
        }
        .deserialize(d)?;
        ctx.push(self.0.wrap(attr)).map_err(de::Error::custom)?;
        Ok(())
    }
}

struct KeyValueDec<'a> {
    depth: usize,
    key: Cow<'a, str>,
    value: AnyValue<'a>,
}

impl KeyValueDec<'_> {
    fn new(depth: usize) -> Self {
        KeyValueDec {
            depth,
            key: Cow::Borrowed(""),
            value: AnyValue::Empty,
        }
    }
}

impl<'a> ObjectDecoder<'a> for KeyValueDec<'a> {
    type Output = Attr<'a>;
    const EXPECTING: &'static str = "a key/value object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "key" => set(&mut self.key, map.next_value_seed(StrV)?),
            "value" => {
                ctx.check_depth(self.depth).map_err(de::Error::custom)?;
                self.value = map.next_value_seed(Obj {
                    ctx,
                    dec: AnyDec::new(self.depth),
                })?;
            }
            _ => ignore(map)?,
        }
        Ok(())
    }

    fn finish(self, _: &mut Ctx<'a>) -> Result<Attr<'a>, Fail> {
        Ok(Attr {
            key: self.key,
            value: self.value,
        })
    }
}

/// A log body: `None` for `null`.
struct Body<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
}

impl<'a> DeserializeSeed<'a> for Body<'_, 'a> {
    type Value = Option<AnyValue<'a>>;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'a> Visitor<'a> for Body<'_, 'a> {
    type Value = Option<AnyValue<'a>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value object")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        let dec = AnyDec::new(1);
        Obj { ctx: self.ctx, dec }.deserialize(d).map(Some)
    }
}

/// An `AnyValue` object at nesting depth `depth` (checked by the caller).
struct AnyDec<'a> {
    depth: usize,
    value: AnyValue<'a>,
}

impl AnyDec<'_> {
    fn new(depth: usize) -> Self {
        AnyDec {
            depth,
            value: AnyValue::Empty,
        }
    }
}

impl<'a> ObjectDecoder<'a> for AnyDec<'a> {
    type Output = AnyValue<'a>;
    const EXPECTING: &'static str = "a value object";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let value = match key {
            "stringValue" | "string_value" => map.next_value_seed(StrV)?.map(AnyValue::Str),
            "boolValue" | "bool_value" => map.next_value_seed(BoolV)?.map(AnyValue::Bool),
            "intValue" | "int_value" => map.next_value_seed(I64V)?.map(AnyValue::Int),
            "doubleValue" | "double_value" => map.next_value_seed(F64V)?.map(AnyValue::Double),
            "bytesValue" | "bytes_value" => map
                .next_value_seed(BytesV)?
                .map(|b| AnyValue::Bytes(Cow::Owned(b))),
            "arrayValue" | "array_value" => {
                let dec = Nested {
                    depth: self.depth + 1,
                    values: Vec::new(),
                };
                Some(AnyValue::Array(map.next_value_seed(Obj { ctx, dec })?))
            }
            "kvlistValue" | "kvlist_value" => {
                let dec = Nested {
                    depth: self.depth + 1,
                    values: Vec::new(),
                };
                Some(AnyValue::KvList(map.next_value_seed(Obj { ctx, dec })?))
            }
            _ => return ignore(map),
        };
        set(&mut self.value, value);
        Ok(())
    }

    fn finish(self, _: &mut Ctx<'a>) -> Result<AnyValue<'a>, Fail> {
        Ok(self.value)
    }
}

/// An `arrayValue` (`T` = `AnyValue`) or `kvlistValue` (`T` = `Attr`)
/// object, whose elements are at nesting depth `depth`.
struct Nested<T> {
    depth: usize,
    values: Vec<T>,
}

impl<'a, T> ObjectDecoder<'a> for Nested<T>
where
    Nested<T>: ElementDecoder<'a>,
{
    type Output = Vec<T>;
    const EXPECTING: &'static str = "an object with values";

    fn field<A: MapAccess<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "values" => {
                let elem = Nested {
                    depth: self.depth,
                    values: std::mem::take(&mut self.values),
                };
                self.values = map.next_value_seed(List { ctx, elem })?.values;
                Ok(())
            }
            _ => ignore(map),
        }
    }

    fn finish(self, _: &mut Ctx<'a>) -> Result<Vec<T>, Fail> {
        Ok(self.values)
    }
}

impl<'a> ElementDecoder<'a> for Nested<AnyValue<'a>> {
    const EXPECTING: &'static str = "a list of value objects";

    fn element<D: Deserializer<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        _: usize,
        d: D,
    ) -> Result<(), D::Error> {
        ctx.spend().map_err(de::Error::custom)?;
        ctx.check_depth(self.depth).map_err(de::Error::custom)?;
        let dec = AnyDec::new(self.depth);
        self.values.push(Obj { ctx, dec }.deserialize(d)?);
        Ok(())
    }
}

impl<'a> ElementDecoder<'a> for Nested<Attr<'a>> {
    const EXPECTING: &'static str = "a list of key/value objects";

    fn element<D: Deserializer<'a>>(
        &mut self,
        ctx: &mut Ctx<'a>,
        _: usize,
        d: D,
    ) -> Result<(), D::Error> {
        ctx.spend().map_err(de::Error::custom)?;
        let dec = KeyValueDec::new(self.depth);
        self.values.push(Obj { ctx, dec }.deserialize(d)?);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Scalars: `Some(value)`, or `None` for null.

/// Object keys, borrowed unless they hold escapes.
struct Key;

impl<'a> DeserializeSeed<'a> for Key {
    type Value = Cow<'a, str>;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for Key {
    type Value = Cow<'a, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'a str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// Implements `DeserializeSeed` through `deserialize_any` for a visitor.
macro_rules! seed_via_any {
    ($t:ty) => {
        impl<'a> DeserializeSeed<'a> for $t {
            type Value = <$t as Visitor<'a>>::Value;

            fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
        }
    };
}

struct StrV;
seed_via_any!(StrV);

impl<'a> Visitor<'a> for StrV {
    type Value = Option<Cow<'a, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'a str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct U64V;
seed_via_any!(U64V);

impl<'a> Visitor<'a> for U64V {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an unsigned 64-bit integer (a number or a string)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // 2^64 as f64; `as` saturates, so check the range ourselves.
        if (0.0..18_446_744_073_709_551_616.0).contains(&v) {
            Ok(Some(v as u64))
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.parse()
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct I64V;
seed_via_any!(I64V);

impl<'a> Visitor<'a> for I64V {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 64-bit integer (a number or a string)")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // An integral float in range, as some JavaScript senders write.
        if v.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v)
        {
            Ok(Some(v as i64))
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.parse()
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct F64V;
seed_via_any!(F64V);

impl<'a> Visitor<'a> for F64V {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, or a string such as \"NaN\" or \"Infinity\"")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        // Rust's parser takes "NaN", "Infinity", "-Infinity" (any case) and
        // decimal numbers.
        v.parse()
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct BoolV;
seed_via_any!(BoolV);

impl<'a> Visitor<'a> for BoolV {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A base64 `bytesValue`.
struct BytesV;
seed_via_any!(BytesV);

impl<'a> Visitor<'a> for BytesV {
    type Value = Option<Vec<u8>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let unpadded = v.trim_end_matches('=');
        STANDARD_NO_PAD
            .decode(unpadded)
            .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An enum field: a number, a numeric string, or a name looked up with the
/// function (unknown names read as 0).
struct EnumV(fn(&str) -> Option<i32>);
seed_via_any!(EnumV);

impl<'a> Visitor<'a> for EnumV {
    type Value = Option<i32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an enum number or name")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        i32::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i32::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.parse().ok().or_else(|| (self.0)(v)).unwrap_or(0)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
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

fn temporality_name(s: &str) -> Option<i32> {
    Some(match s.strip_prefix("AGGREGATION_TEMPORALITY_").unwrap_or(s) {
        "UNSPECIFIED" => 0,
        "DELTA" => 1,
        "CUMULATIVE" => 2,
        _ => return None,
    })
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
