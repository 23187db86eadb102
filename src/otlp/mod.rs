//! Decoding of OpenTelemetry (OTLP) export requests into a flat stream of
//! catalog events. Pure Rust: nothing here knows about SQLite.
//!
//! [`decode`] turns one payload (an `Export{Trace,Metrics,Logs}ServiceRequest`
//! in OTLP/JSON or OTLP/protobuf) into [`Event`]s appended to a caller's `Vec`.
//! The events borrow strings and bytes from the payload where they can (all
//! of them in protobuf; in JSON all but strings with escapes and base64
//! `bytesValue`s; arrays and kvlists own their `Vec`). A payload either
//! decodes completely or not at all: on error the `Vec` is left as it was,
//! so the caller aggregates only what came from valid payloads.
//!
//! # The event stream
//!
//! Whatever the order of fields in the payload, the events come in this
//! order (`*` = zero or more), identical for JSON and protobuf:
//!
//! ```text
//! resource := Resource ResourceAttr* scope*
//! scope    := Scope ScopeAttr* (span* | metric* | log*)
//! span     := Span SpanAttr* (SpanEvent SpanEventAttr*)* (SpanLink SpanLinkAttr*)*
//! metric   := Metric (DataPoint DataPointAttr*)*
//! log      := Log LogAttr*
//! ```
//!
//! Every `ResourceSpans`/`ResourceMetrics`/`ResourceLogs` yields a `Resource`
//! (even with no resource) and every `Scope{Spans,Metrics,Logs}` a `Scope`
//! (empty name and version when there is no scope). Request boundaries are
//! not marked; [`Summary::requests`] counts them.
//!
//! # Encodings
//!
//! - OTLP/JSON (`json.rs`): the signal is detected per request from its
//!   top-level key. Several requests may follow each other separated by
//!   whitespace (JSON Lines, as the Collector's file exporter writes them;
//!   each line may be a different signal). See the module for the quirks
//!   accepted.
//! - OTLP/protobuf (`proto.rs`): the caller names the signal, as the
//!   protobuf bytes do not say it. Decoding bytes of another signal fails in
//!   practice (wire-type mismatch or invalid UTF-8 in the first record); a
//!   payload whose fields happen to line up decodes to a meaningless but
//!   well-formed stream. It never panics. An empty payload is a valid empty
//!   request (no events), where the JSON decoder refuses `{}` and empty
//!   text.
//! - gzip: [`decode`] rejects gzip data; inflate it first with
//!   [`maybe_gunzip`], which leaves other payloads untouched.
//!
//! # Limits
//!
//! [`Limits`] bounds what one payload may cost. Its defaults are documented
//! on each field; a payload that exceeds one fails with an error naming it.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::str::FromStr;

mod json;
mod proto;
#[cfg(test)]
mod testdata;

/// The three OTLP signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    /// `"traces"`, `"metrics"` or `"logs"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// The request field holding this signal's resource blocks, as named in
    /// OTLP/JSON (`resourceSpans`, ...).
    pub(crate) fn request_field(self) -> &'static str {
        match self {
            Signal::Traces => "resourceSpans",
            Signal::Metrics => "resourceMetrics",
            Signal::Logs => "resourceLogs",
        }
    }

    /// The resource-block field holding the scope blocks (`scopeSpans`, ...).
    pub(crate) fn scope_field(self) -> &'static str {
        match self {
            Signal::Traces => "scopeSpans",
            Signal::Metrics => "scopeMetrics",
            Signal::Logs => "scopeLogs",
        }
    }

    /// The scope-block field holding the records (`spans`, ...).
    pub(crate) fn records_field(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "metrics",
            Signal::Logs => "logRecords",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Signal::from_str`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownSignal(pub String);

impl fmt::Display for UnknownSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown OTLP signal '{}': expected traces, metrics or logs",
            self.0
        )
    }
}

impl std::error::Error for UnknownSignal {}

impl FromStr for Signal {
    type Err = UnknownSignal;

    /// `traces`, `metrics` or `logs`, ASCII case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("traces") {
            Ok(Signal::Traces)
        } else if s.eq_ignore_ascii_case("metrics") {
            Ok(Signal::Metrics)
        } else if s.eq_ignore_ascii_case("logs") {
            Ok(Signal::Logs)
        } else {
            Err(UnknownSignal(s.to_owned()))
        }
    }
}

/// How a payload is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// OTLP/JSON; the signal is read from the payload.
    Json,
    /// OTLP/protobuf of the given signal.
    Protobuf(Signal),
}

/// `Span.kind`. Values outside the enum decode as `Unspecified`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    pub fn from_i32(v: i32) -> Self {
        match v {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    /// `"Unspecified"`, `"Internal"`, `"Server"`, `"Client"`, `"Producer"`,
    /// `"Consumer"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "Unspecified",
            SpanKind::Internal => "Internal",
            SpanKind::Server => "Server",
            SpanKind::Client => "Client",
            SpanKind::Producer => "Producer",
            SpanKind::Consumer => "Consumer",
        }
    }
}

impl fmt::Display for SpanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of `Metric.data` is set. `Unknown` when none is (or one this
/// decoder does not know).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
    Unknown,
}

impl MetricKind {
    /// `"Gauge"`, `"Sum"`, `"Histogram"`, `"ExponentialHistogram"`,
    /// `"Summary"` or `"Unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "Gauge",
            MetricKind::Sum => "Sum",
            MetricKind::Histogram => "Histogram",
            MetricKind::ExponentialHistogram => "ExponentialHistogram",
            MetricKind::Summary => "Summary",
            MetricKind::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `aggregationTemporality` of sums and histograms (`Unspecified` for gauges
/// and summaries, and for values outside the enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Temporality {
    Unspecified,
    Delta,
    Cumulative,
}

impl Temporality {
    pub fn from_i32(v: i32) -> Self {
        match v {
            1 => Temporality::Delta,
            2 => Temporality::Cumulative,
            _ => Temporality::Unspecified,
        }
    }

    /// `"Unspecified"`, `"Delta"` or `"Cumulative"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Temporality::Unspecified => "Unspecified",
            Temporality::Delta => "Delta",
            Temporality::Cumulative => "Cumulative",
        }
    }
}

impl fmt::Display for Temporality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OTLP `AnyValue`. `Empty` is an `AnyValue` with no value set (JSON `{}`
/// or `null`, or a key/value pair without a value).
#[derive(Clone, Debug)]
// A whole word for the tag (same size: 32 bytes) keeps the payload aligned,
// so moving a value copies whole words; with a one-byte tag the protobuf
// decoder ran 10 % slower (partial-word copies stall store forwarding).
#[repr(u64)]
pub enum AnyValue<'a> {
    Empty,
    Str(Cow<'a, str>),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Cow<'a, [u8]>),
    Array(Vec<AnyValue<'a>>),
    KvList(Vec<Attr<'a>>),
}

impl AnyValue<'_> {
    /// `"empty"`, `"string"`, `"bool"`, `"int"`, `"double"`, `"bytes"`,
    /// `"array"` or `"kvlist"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            AnyValue::Empty => "empty",
            AnyValue::Str(_) => "string",
            AnyValue::Bool(_) => "bool",
            AnyValue::Int(_) => "int",
            AnyValue::Double(_) => "double",
            AnyValue::Bytes(_) => "bytes",
            AnyValue::Array(_) => "array",
            AnyValue::KvList(_) => "kvlist",
        }
    }

    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AnyValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Appends the value's text form, used for samples and hashing:
    ///
    /// - strings as they are; `Empty` as the empty string;
    /// - ints in decimal; bools as `true`/`false`;
    /// - doubles in their shortest round-trip form: plain decimal when
    ///   `1e-6 <= |x| < 1e21` or `x == 0` (`5`, `637.704`, `-0`), exponent
    ///   form otherwise (`1e21`, `1.5e-7`), as JavaScript prints numbers;
    ///   `NaN`, `Infinity`, `-Infinity`;
    /// - bytes in standard base64 with padding, as OTLP/JSON writes them;
    /// - arrays and kvlists as compact JSON, nested values by the same rules
    ///   but strings quoted, non-finite doubles and bytes as JSON strings and
    ///   `Empty` as `null`; a kvlist is a JSON object with its keys in order
    ///   (duplicates kept).
    pub fn render(&self, out: &mut String) {
        match self {
            AnyValue::Empty => {}
            AnyValue::Str(s) => out.push_str(s),
            AnyValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            AnyValue::Int(i) => crate::text::push_i64(out, *i),
            AnyValue::Double(d) => crate::text::push_f64(out, *d),
            AnyValue::Bytes(b) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode_string(b, out);
            }
            AnyValue::Array(_) | AnyValue::KvList(_) => self.render_json(out),
        }
    }

    /// [`render`](Self::render) into a new `String`.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.render(&mut s);
        s
    }

    fn render_json(&self, out: &mut String) {
        match self {
            AnyValue::Empty => out.push_str("null"),
            AnyValue::Str(s) => push_json_string(s, out),
            AnyValue::Double(d) if !d.is_finite() => {
                out.push('"');
                crate::text::push_f64(out, *d);
                out.push('"');
            }
            AnyValue::Bytes(_) => {
                out.push('"');
                self.render(out);
                out.push('"');
            }
            AnyValue::Bool(_) | AnyValue::Int(_) | AnyValue::Double(_) => self.render(out),
            AnyValue::Array(values) => {
                out.push('[');
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.render_json(out);
                }
                out.push(']');
            }
            AnyValue::KvList(kvs) => {
                out.push('{');
                for (i, kv) in kvs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_json_string(&kv.key, out);
                    out.push(':');
                    kv.value.render_json(out);
                }
                out.push('}');
            }
        }
    }
}

/// Equality as values: doubles compare with `==` except that NaN equals NaN.
impl PartialEq for AnyValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (AnyValue::Empty, AnyValue::Empty) => true,
            (AnyValue::Str(a), AnyValue::Str(b)) => a == b,
            (AnyValue::Bool(a), AnyValue::Bool(b)) => a == b,
            (AnyValue::Int(a), AnyValue::Int(b)) => a == b,
            (AnyValue::Double(a), AnyValue::Double(b)) => a == b || (a.is_nan() && b.is_nan()),
            (AnyValue::Bytes(a), AnyValue::Bytes(b)) => a == b,
            (AnyValue::Array(a), AnyValue::Array(b)) => a == b,
            (AnyValue::KvList(a), AnyValue::KvList(b)) => a == b,
            _ => false,
        }
    }
}

fn push_json_string(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escaped.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// An attribute: an OTLP `KeyValue`.
#[derive(Clone, Debug, PartialEq)]
pub struct Attr<'a> {
    pub key: Cow<'a, str>,
    pub value: AnyValue<'a>,
}

/// One element of the decoded stream; see the module docs for the order.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<'a> {
    /// Starts a resource block (`ResourceSpans`, `ResourceMetrics` or
    /// `ResourceLogs`); its `ResourceAttr`s follow.
    Resource,
    ResourceAttr(Attr<'a>),
    /// Starts a scope block; its `ScopeAttr`s follow.
    Scope {
        name: Cow<'a, str>,
        version: Cow<'a, str>,
    },
    ScopeAttr(Attr<'a>),
    Metric {
        name: Cow<'a, str>,
        kind: MetricKind,
        unit: Cow<'a, str>,
        description: Cow<'a, str>,
        /// Sums and histograms; `Unspecified` otherwise.
        temporality: Temporality,
        /// `Sum.isMonotonic`; false for other kinds.
        monotonic: bool,
    },
    /// One data point of the current metric.
    DataPoint {
        time_unix_nano: u64,
    },
    DataPointAttr(Attr<'a>),
    Span {
        name: Cow<'a, str>,
        kind: SpanKind,
        start_time_unix_nano: u64,
    },
    SpanAttr(Attr<'a>),
    /// An event of the current span.
    SpanEvent {
        name: Cow<'a, str>,
        time_unix_nano: u64,
    },
    SpanEventAttr(Attr<'a>),
    /// A link of the current span.
    SpanLink,
    SpanLinkAttr(Attr<'a>),
    Log {
        /// As sent (0 when absent); see [`severity_label`].
        severity_number: i32,
        severity_text: Cow<'a, str>,
        /// `eventName`, empty for plain log records.
        event_name: Cow<'a, str>,
        /// `timeUnixNano`, else `observedTimeUnixNano`, else 0.
        time_unix_nano: u64,
        /// `None` when the record has no body.
        body: Option<AnyValue<'a>>,
    },
    LogAttr(Attr<'a>),
}

impl Event<'_> {
    /// Whether dropping this event frees memory (an owned string, bytes, or
    /// a nested array or kvlist value).
    #[inline(always)]
    fn owns_heap(&self) -> bool {
        let cow = |c: &Cow<'_, str>| matches!(c, Cow::Owned(_));
        match self {
            Event::Resource | Event::DataPoint { .. } | Event::SpanLink => false,
            Event::ResourceAttr(a)
            | Event::ScopeAttr(a)
            | Event::DataPointAttr(a)
            | Event::SpanAttr(a)
            | Event::SpanEventAttr(a)
            | Event::SpanLinkAttr(a)
            | Event::LogAttr(a) => cow(&a.key) || a.value.owns_heap(),
            Event::Scope { name, version } => cow(name) || cow(version),
            Event::Metric {
                name,
                unit,
                description,
                ..
            } => cow(name) || cow(unit) || cow(description),
            Event::Span { name, .. } | Event::SpanEvent { name, .. } => cow(name),
            Event::Log {
                severity_text,
                event_name,
                body,
                ..
            } => {
                cow(severity_text)
                    || cow(event_name)
                    || body.as_ref().is_some_and(AnyValue::owns_heap)
            }
        }
    }
}

impl AnyValue<'_> {
    #[inline(always)]
    fn owns_heap(&self) -> bool {
        match self {
            AnyValue::Empty | AnyValue::Bool(_) | AnyValue::Int(_) | AnyValue::Double(_) => false,
            AnyValue::Str(c) => matches!(c, Cow::Owned(_)),
            AnyValue::Bytes(c) => matches!(c, Cow::Owned(_)),
            AnyValue::Array(_) | AnyValue::KvList(_) => true,
        }
    }
}

/// Counts of what one [`decode`] call produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Export requests (JSON documents; 1 for protobuf).
    pub requests: usize,
    pub resources: usize,
    pub scopes: usize,
    pub spans: usize,
    pub span_events: usize,
    pub span_links: usize,
    pub metrics: usize,
    pub data_points: usize,
    pub logs: usize,
    /// Events appended to the output.
    pub events: usize,
    /// Whether some appended event owns memory (an unescaped string, bytes,
    /// an array or kvlist value): what [`recycle`] needs to know.
    pub owns_heap: bool,
}

/// Bounds on what one payload may cost. Exceeding one is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload [`decode`] accepts, and largest size
    /// [`maybe_gunzip`] inflates to. Default 64 MiB.
    pub max_payload_bytes: usize,
    /// Deepest nesting of `AnyValue`s (an attribute value is at depth 1, an
    /// element of an array value at depth 2, ...). Default 32; values above
    /// 128 act as 128, as the decoders recurse once per level (128 levels
    /// take about 1 MiB of stack in a debug build, far less in release).
    pub max_depth: usize,
    /// Most attributes of one resource, scope, span, span event, span
    /// link, data point or log record, counted over all its `attributes`
    /// lists (a protobuf resource or scope sent in several parts, a JSON
    /// object repeating `attributes`). Default 4096.
    pub max_attributes_per_record: usize,
    /// Most events in the output of one payload, counting also the values
    /// nested in arrays and kvlists. Bounds memory: a hostile payload can
    /// pack an event into two bytes, and an event takes about 100 bytes.
    /// Default 8 million (below 1 GiB of events).
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_bytes: 64 << 20,
            max_depth: 32,
            max_attributes_per_record: 4096,
            max_events: 8_000_000,
        }
    }
}

/// What failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not valid OTLP/JSON, or a limit was hit while decoding it.
    Json,
    /// Not valid OTLP/protobuf of the given signal, or a limit was hit.
    Protobuf(Signal),
    /// Invalid gzip data, or it inflates past `max_payload_bytes`.
    Gzip,
    /// The payload is larger than `max_payload_bytes`.
    TooLarge,
}

/// Where an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    None,
    /// Byte offset into the protobuf payload.
    Offset(usize),
    /// In a JSON payload: 1-based line and column (in bytes), and the
    /// 1-based index of the request (JSON document) among those of the
    /// payload, 0 for invalid UTF-8 (checked for the whole payload first).
    /// For JSON Lines the line is the line of the file.
    Text {
        line: usize,
        column: usize,
        document: usize,
    },
}

/// A payload that could not be decoded. Displays as, for instance,
/// `invalid OTLP/JSON at line 1 column 57 (resourceSpans[0].scopeSpans[1]
/// .spans[3].kind): invalid type: boolean ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    kind: ErrorKind,
    message: String,
    position: Position,
    path: String,
}

impl DecodeError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DecodeError {
            kind,
            message: message.into(),
            position: Position::None,
            path: String::new(),
        }
    }

    pub(crate) fn at(mut self, position: Position, path: String) -> Self {
        self.position = position;
        self.path = path;
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message alone, without position or path.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn position(&self) -> Position {
        self.position
    }

    /// Where in the request, in OTLP/JSON field names:
    /// `resourceSpans[0].scopeSpans[1].spans[3].attributes[2].value`; empty
    /// when unknown or at the top.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Json => f.write_str("invalid OTLP/JSON")?,
            ErrorKind::Protobuf(s) => write!(f, "invalid OTLP/protobuf {s} request")?,
            ErrorKind::Gzip => f.write_str("invalid gzip payload")?,
            ErrorKind::TooLarge => f.write_str("OTLP payload too large")?,
        }
        match self.position {
            Position::None => {}
            Position::Offset(o) => write!(f, " at byte {o}")?,
            Position::Text { line, column, .. } => write!(f, " at line {line} column {column}")?,
        }
        if !self.path.is_empty() {
            write!(f, " ({})", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DecodeError {}

/// An empty vector of events for a new payload, reusing the allocation of
/// one used for an earlier payload (a payload's events borrow from it, so the
/// vector cannot simply be kept; its capacity can). Saves the page faults of
/// allocating megabytes per payload.
///
/// `owns_heap`: whether an event in `old` may own memory, as
/// [`Summary::owns_heap`] of the payload decoded into it tells (`true` when
/// unsure). Usually no event does (every string borrows from the payload,
/// the usual case for protobuf and for JSON without escapes): then nothing
/// needs dropping, and the events are not even read again (a payload's
/// events outgrow the CPU's caches). Otherwise only the events that own
/// memory go through the drop glue, which costs a tenth of the decoder's
/// time when run on every event.
pub fn recycle<'a>(mut old: Vec<Event<'_>>, owns_heap: bool) -> Vec<Event<'a>> {
    if owns_heap {
        for e in old.iter_mut().filter(|e| e.owns_heap()) {
            // Drops what the event owned.
            *e = Event::Resource;
        }
    }
    // The events own nothing now: forget them without visiting them (a
    // forgotten drain leaves the vector empty, leaking the events, which
    // hold no memory of their own), then clear in case it did not.
    std::mem::forget(old.drain(..));
    old.clear();
    // Same layout whatever the lifetime: collecting an empty iterator into a
    // Vec of the same layout reuses the allocation (in-place collection).
    old.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// Decodes one payload, appending its events to `out`, and returns what it
/// counted. On error `out` is left as it was. Rejects payloads larger than
/// `limits.max_payload_bytes` and gzip data (see [`maybe_gunzip`]).
pub fn decode<'a>(
    payload: &'a [u8],
    encoding: Encoding,
    limits: &Limits,
    out: &mut Vec<Event<'a>>,
) -> Result<Summary, DecodeError> {
    let kind = match encoding {
        Encoding::Json => ErrorKind::Json,
        Encoding::Protobuf(s) => ErrorKind::Protobuf(s),
    };
    if payload.len() > limits.max_payload_bytes {
        return Err(DecodeError::new(
            ErrorKind::TooLarge,
            format!(
                "{} bytes exceed max_payload_bytes ({})",
                payload.len(),
                limits.max_payload_bytes
            ),
        ));
    }
    if is_gzip(payload) {
        return Err(DecodeError::new(
            kind,
            "the payload is still gzip after one inflation (compressed twice?): \
             compress it once; one level of gzip is inflated",
        ));
    }
    let start = out.len();
    let mut ctx = Ctx::new(std::mem::take(out), *limits);
    let result = match encoding {
        Encoding::Json => json::decode(payload, &mut ctx),
        Encoding::Protobuf(signal) => proto::decode(payload, signal, &mut ctx),
    };
    *out = ctx.out;
    match result {
        Ok(()) => {
            if cfg!(test) {
                // Every unit test that decodes checks what recycle relies on.
                let any = out[start..].iter().any(Event::owns_heap);
                assert_eq!(ctx.summary.owns_heap, any, "Summary::owns_heap");
            }
            Ok(Summary {
                events: out.len() - start,
                ..ctx.summary
            })
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

fn is_gzip(payload: &[u8]) -> bool {
    payload.starts_with(&[0x1f, 0x8b])
}

/// Inflates `payload` if it is gzip data (starts with `1f 8b`; several
/// concatenated gzip members are one stream), else returns it as it is.
/// Fails on invalid gzip data and when the payload or its inflated form is
/// larger than `limits.max_payload_bytes` (which stops zip bombs early).
pub fn maybe_gunzip<'p>(payload: &'p [u8], limits: &Limits) -> Result<Cow<'p, [u8]>, DecodeError> {
    if !is_gzip(payload) {
        return Ok(Cow::Borrowed(payload));
    }
    let cap = limits.max_payload_bytes;
    if payload.len() > cap {
        return Err(DecodeError::new(
            ErrorKind::TooLarge,
            format!(
                "{} bytes of gzip exceed max_payload_bytes ({cap})",
                payload.len()
            ),
        ));
    }
    let mut inflated = Vec::with_capacity(payload.len().saturating_mul(4).min(cap));
    flate2::read::MultiGzDecoder::new(payload)
        .take(cap as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| DecodeError::new(ErrorKind::Gzip, e.to_string()))?;
    if inflated.len() > cap {
        return Err(DecodeError::new(
            ErrorKind::Gzip,
            format!("inflates to more than max_payload_bytes ({cap})"),
        ));
    }
    Ok(Cow::Owned(inflated))
}

/// Whether a payload holds OTLP/JSON text rather than protobuf: after an
/// optional UTF-8 byte-order mark and JSON whitespace comes `{`, then
/// (after whitespace) `}` or `"resource`. A bare `{` is not enough: a
/// protobuf request starts with `0x0a` (a newline) and its first length byte
/// may be `0x7b` (`{`); no valid OTLP protobuf continues that with
/// `"resource`. Requests whose first key is something else (an unknown
/// field) are therefore not recognised; name the encoding for those.
pub fn looks_like_json(payload: &[u8]) -> bool {
    let skip_ws = |s: &[u8]| -> usize {
        s.iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .unwrap_or(s.len())
    };
    let s = payload.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(payload);
    let s = &s[skip_ws(s)..];
    let Some(s) = s.strip_prefix(b"{") else {
        return false;
    };
    let s = &s[skip_ws(s)..];
    s.starts_with(b"}") || s.starts_with(b"\"resource")
}

/// A display label for a log severity: `TRACE` for severity numbers 1–4,
/// `DEBUG` 5–8, `INFO` 9–12, `WARN` 13–16, `ERROR` 17–20, `FATAL` 21–24;
/// else the severity text upper-cased if it is not empty; else
/// `UNSPECIFIED`.
pub fn severity_label(number: i32, text: &str) -> Cow<'_, str> {
    let label = match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ if text.is_empty() => "UNSPECIFIED",
        _ if text.chars().any(char::is_lowercase) => return Cow::Owned(text.to_uppercase()),
        _ => return Cow::Borrowed(text),
    };
    Cow::Borrowed(label)
}

/// The service of a resource: the string value of its `service.name`
/// attribute (the last one if repeated), or `unknown_service` when there is
/// none, it is not a string, or it is empty.
pub fn service_name<'s, 'a: 's, I>(resource_attrs: I) -> &'s str
where
    I: IntoIterator<Item = &'s Attr<'a>>,
{
    resource_attrs
        .into_iter()
        .filter(|a| a.key == "service.name")
        .last()
        .and_then(|a| a.value.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown_service")
}

/// The attributes of a resource, given the events that follow its
/// [`Event::Resource`]: `service_name(resource_attrs(&events[i + 1..]))`.
pub fn resource_attrs<'s, 'a>(events: &'s [Event<'a>]) -> impl Iterator<Item = &'s Attr<'a>> {
    events.iter().map_while(|e| match e {
        Event::ResourceAttr(a) => Some(a),
        _ => None,
    })
}

// ---------------------------------------------------------------------------
// Shared by the two decoders.

/// A limit-style failure inside a decoder, before it gets a position.
#[derive(Debug)]
pub(crate) struct Fail(pub(crate) Cow<'static, str>);

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A decoding failure inside a decoder: where (a byte offset), what, and
/// the path collected innermost first while it unwinds.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) pos: usize,
    pub(crate) message: Cow<'static, str>,
    pub(crate) path: Vec<Seg>,
}

pub(crate) type Fallible<T> = Result<T, Box<Failure>>;

pub(crate) fn failure(pos: usize, message: impl Into<Cow<'static, str>>) -> Box<Failure> {
    Box::new(Failure {
        pos,
        message: message.into(),
        path: Vec::new(),
    })
}

pub(crate) trait Within<T> {
    /// Adds `name[index]` (or `name`) to the path of an error.
    fn within(self, name: &'static str, index: Option<usize>) -> Fallible<T>;
}

impl<T> Within<T> for Fallible<T> {
    #[inline(always)]
    fn within(self, name: &'static str, index: Option<usize>) -> Fallible<T> {
        self.map_err(|mut e| {
            if let Some(i) = index {
                e.path.push(Seg::Index(i));
            }
            e.path.push(Seg::Field(Cow::Borrowed(name)));
            e
        })
    }
}

/// `*slot = v`, without a call to the drop glue of `AnyValue` in the usual
/// case where the slot still holds the `Empty` it started with.
#[inline(always)]
pub(crate) fn overwrite<'a>(slot: &mut AnyValue<'a>, v: AnyValue<'a>) {
    if matches!(slot, AnyValue::Empty) {
        // An `Empty` owns nothing: forgetting it frees nothing.
        std::mem::forget(std::mem::replace(slot, v));
    } else {
        *slot = v;
    }
}

/// One step of an error's path.
#[derive(Debug)]
pub(crate) enum Seg {
    Field(Cow<'static, str>),
    Index(usize),
}

/// Renders a path collected innermost first while an error unwound.
pub(crate) fn render_path(innermost_first: &[Seg]) -> String {
    let mut s = String::new();
    for seg in innermost_first.iter().rev() {
        match seg {
            Seg::Field(name) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(name);
            }
            Seg::Index(i) => {
                use fmt::Write;
                let _ = write!(s, "[{i}]");
            }
        }
    }
    s
}

/// Whose attributes a `KeyValue` list holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum AttrTarget {
    Resource,
    Scope,
    Span,
    SpanEvent,
    SpanLink,
    DataPoint,
    Log,
}

impl AttrTarget {
    #[inline]
    pub(crate) fn wrap(self, attr: Attr<'_>) -> Event<'_> {
        match self {
            AttrTarget::Resource => Event::ResourceAttr(attr),
            AttrTarget::Scope => Event::ScopeAttr(attr),
            AttrTarget::Span => Event::SpanAttr(attr),
            AttrTarget::SpanEvent => Event::SpanEventAttr(attr),
            AttrTarget::SpanLink => Event::SpanLinkAttr(attr),
            AttrTarget::DataPoint => Event::DataPointAttr(attr),
            AttrTarget::Log => Event::LogAttr(attr),
        }
    }
}

/// The largest effective [`Limits::max_depth`].
const MAX_DEPTH_CAP: usize = 128;

/// Decoding state shared by the JSON and protobuf decoders.
pub(crate) struct Ctx<'a> {
    pub(crate) out: Vec<Event<'a>>,
    pub(crate) limits: Limits,
    pub(crate) summary: Summary,
    /// Events and nested values still allowed (`max_events`).
    budget: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(out: Vec<Event<'a>>, limits: Limits) -> Self {
        Ctx {
            out,
            limits,
            summary: Summary::default(),
            budget: limits.max_events,
        }
    }

    /// Counts one more event or nested value against `max_events`.
    #[inline]
    pub(crate) fn spend(&mut self) -> Result<(), Fail> {
        if self.budget == 0 {
            return Err(Fail(
                format!(
                    "more than {} events and nested values in one payload (max_events)",
                    self.limits.max_events
                )
                .into(),
            ));
        }
        self.budget -= 1;
        Ok(())
    }

    /// Appends an event and returns its index.
    #[inline(always)]
    pub(crate) fn push(&mut self, event: Event<'a>) -> Result<usize, Fail> {
        self.spend()?;
        self.summary.owns_heap |= event.owns_heap();
        self.out.push(event);
        Ok(self.out.len() - 1)
    }

    /// Appends the placeholder event that starts a record, counting it.
    /// The decoder overwrites it once the record's fields are known.
    pub(crate) fn open(&mut self, event: Event<'a>) -> Result<usize, Fail> {
        let s = &mut self.summary;
        match event {
            Event::Resource => s.resources += 1,
            Event::Scope { .. } => s.scopes += 1,
            Event::Metric { .. } => s.metrics += 1,
            Event::DataPoint { .. } => s.data_points += 1,
            Event::Span { .. } => s.spans += 1,
            Event::SpanEvent { .. } => s.span_events += 1,
            Event::SpanLink => s.span_links += 1,
            Event::Log { .. } => s.logs += 1,
            _ => {}
        }
        self.push(event)
    }

    /// Replaces the placeholder at `at` (see [`open`](Self::open)) by the
    /// finished record.
    #[inline(always)]
    pub(crate) fn fill(&mut self, at: usize, event: Event<'a>) {
        // Placeholders own nothing (empty borrowed strings, no body), so
        // forgetting one frees nothing; it spares a call to the drop glue.
        self.summary.owns_heap |= event.owns_heap();
        std::mem::forget(std::mem::replace(&mut self.out[at], event));
    }

    /// Fails when an attribute list reaches `max_attributes_per_record`
    /// before its element number `index` (0-based).
    #[inline]
    pub(crate) fn check_attr_index(&self, index: usize) -> Result<(), Fail> {
        if index >= self.limits.max_attributes_per_record {
            return Err(Fail(
                format!(
                    "more than {} attributes in one record (max_attributes_per_record)",
                    self.limits.max_attributes_per_record
                )
                .into(),
            ));
        }
        Ok(())
    }

    /// Fails when an `AnyValue` at `depth` is nested too deep.
    #[inline]
    pub(crate) fn check_depth(&self, depth: usize) -> Result<(), Fail> {
        let max = self.limits.max_depth.min(MAX_DEPTH_CAP);
        if depth > max {
            return Err(Fail(
                format!("values nested deeper than {max} levels (max_depth)").into(),
            ));
        }
        Ok(())
    }
}

pub(crate) fn empty_span() -> Event<'static> {
    Event::Span {
        name: Cow::Borrowed(""),
        kind: SpanKind::Unspecified,
        start_time_unix_nano: 0,
    }
}

pub(crate) fn empty_scope() -> Event<'static> {
    Event::Scope {
        name: Cow::Borrowed(""),
        version: Cow::Borrowed(""),
    }
}

/// The `Metric` event of a decoded metric: aggregation temporality only for
/// sums and histograms, monotonicity only for sums (both decoders).
pub(crate) fn metric_event<'a>(
    name: Cow<'a, str>,
    kind: MetricKind,
    unit: Cow<'a, str>,
    description: Cow<'a, str>,
    temporality: i32,
    monotonic: bool,
) -> Event<'a> {
    let has_temporality = matches!(
        kind,
        MetricKind::Sum | MetricKind::Histogram | MetricKind::ExponentialHistogram
    );
    Event::Metric {
        name,
        kind,
        unit,
        description,
        temporality: Temporality::from_i32(if has_temporality { temporality } else { 0 }),
        monotonic: monotonic && kind == MetricKind::Sum,
    }
}

pub(crate) fn empty_metric() -> Event<'static> {
    Event::Metric {
        name: Cow::Borrowed(""),
        kind: MetricKind::Unknown,
        unit: Cow::Borrowed(""),
        description: Cow::Borrowed(""),
        temporality: Temporality::Unspecified,
        monotonic: false,
    }
}

pub(crate) fn empty_span_event() -> Event<'static> {
    Event::SpanEvent {
        name: Cow::Borrowed(""),
        time_unix_nano: 0,
    }
}

pub(crate) fn empty_log() -> Event<'static> {
    Event::Log {
        severity_number: 0,
        severity_text: Cow::Borrowed(""),
        event_name: Cow::Borrowed(""),
        time_unix_nano: 0,
        body: None,
    }
}

/// Keeps a record's child events in canonical order when the payload sends
/// its fields out of order. A record's children come in `N` sections (a
/// span's: attributes, events, links) right after `base`; the decoder
/// appends each child at the end of the output and then calls [`place`]
/// with the section it belongs to, and [`finish`] once the record ends.
/// In-order payloads never move anything. Out of order, the runs of
/// children are noted and put in order once, by [`finish`]: each event
/// moves once per record that holds it, however the fields interleave.
/// (Moving the events already there at every out-of-order [`place`] was
/// quadratic: docs/BENCHMARKS.md, "Hostile payloads".)
///
/// [`place`]: Sections::place
/// [`finish`]: Sections::finish
pub(crate) struct Sections<const N: usize> {
    base: usize,
    /// While in order: the events of each section, laid out one section
    /// after the other from `base`, and the last section placed into.
    len: [usize; N],
    last: usize,
    /// Once out of order: every run of children, (section, start, end),
    /// in the order they were appended; empty while in order.
    runs: Vec<(usize, usize, usize)>,
}

impl<const N: usize> Sections<N> {
    pub(crate) fn new(base: usize) -> Self {
        Sections {
            base,
            len: [0; N],
            last: 0,
            runs: Vec::new(),
        }
    }

    /// Notes that the events appended since `mark` (the output length
    /// before they were decoded) belong to section `i`.
    #[inline(always)]
    pub(crate) fn place(&mut self, out: &[Event<'_>], i: usize, mark: usize) {
        let end = out.len();
        if end == mark {
            return;
        }
        if self.runs.is_empty() && i >= self.last {
            self.len[i] += end - mark;
            self.last = i;
        } else {
            self.note_run(i, mark, end);
        }
    }

    /// [`place`](Self::place) out of order.
    #[cold]
    #[inline(never)]
    fn note_run(&mut self, i: usize, mark: usize, end: usize) {
        if self.runs.is_empty() {
            // The first run out of order: the sections so far as runs.
            let mut at = self.base;
            for (section, &n) in self.len.iter().enumerate() {
                if n > 0 {
                    self.runs.push((section, at, at + n));
                    at += n;
                }
            }
            debug_assert_eq!(at, mark, "every child event is placed");
        }
        self.runs.push((i, mark, end));
    }

    /// Puts the record's children in section order (a stable sort of the
    /// runs), when they came out of order.
    #[inline(always)]
    pub(crate) fn finish(&mut self, out: &mut Vec<Event<'_>>) {
        if !self.runs.is_empty() {
            self.reorder(out);
        }
    }

    #[cold]
    #[inline(never)]
    fn reorder(&mut self, out: &mut Vec<Event<'_>>) {
        self.runs.sort_by_key(|r| r.0);
        let mut tail: Vec<Option<Event<'_>>> = out.drain(self.base..).map(Some).collect();
        for &(_, start, end) in &self.runs {
            for e in &mut tail[start - self.base..end - self.base] {
                out.push(e.take().expect("runs do not overlap"));
            }
        }
        debug_assert!(
            tail.iter().all(Option::is_none),
            "every child event is placed"
        );
        out.extend(tail.into_iter().flatten());
        self.runs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AnyValue<'_> {
        AnyValue::Str(Cow::Borrowed(v))
    }

    /// `recycle` runs the drop glue only for events that own memory.
    #[test]
    fn owned_values_are_seen() {
        use crate::testutil::json_events as decoded;
        let req = |attr: &str| {
            format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"name":"s","attributes":[{attr}]}}]}}]}}]}}"#
            )
        };
        let owns = |attr: &str| decoded(&req(attr)).iter().any(Event::owns_heap);
        assert!(!owns(r#"{"key":"k","value":{"stringValue":"plain"}}"#));
        assert!(owns(r#"{"key":"k","value":{"stringValue":"esc\"aped"}}"#));
        assert!(owns(r#"{"key":"k\u0041","value":{"intValue":1}}"#));
        assert!(owns(r#"{"key":"k","value":{"bytesValue":"AAE="}}"#));
        assert!(owns(r#"{"key":"k","value":{"arrayValue":{"values":[]}}}"#));
        assert!(owns(r#"{"key":"k","value":{"kvlistValue":{"values":[]}}}"#));
        // Recycling either kind keeps the allocation.
        let text = req(r#"{"key":"k","value":{"stringValue":"esc\"aped"}}"#);
        let out = decoded(&text);
        let cap = out.capacity();
        let again: Vec<Event<'static>> = recycle(out, true);
        assert!(again.is_empty() && again.capacity() == cap);
    }

    #[test]
    fn render_scalars() {
        let cases: Vec<(AnyValue, &str)> = vec![
            (AnyValue::Empty, ""),
            (s("a b\"c"), "a b\"c"),
            (AnyValue::Int(-42), "-42"),
            (AnyValue::Int(i64::MIN), "-9223372036854775808"),
            (AnyValue::Bool(true), "true"),
            (AnyValue::Bool(false), "false"),
            (AnyValue::Double(5.0), "5"),
            (AnyValue::Double(637.704), "637.704"),
            (AnyValue::Double(-0.0), "-0"),
            (AnyValue::Double(0.1 + 0.2), "0.30000000000000004"),
            (AnyValue::Double(1e21), "1e21"),
            (AnyValue::Double(1.5e-7), "1.5e-7"),
            (
                AnyValue::Double(123456789012345680000.0),
                "123456789012345680000",
            ),
            (AnyValue::Double(0.000001), "0.000001"),
            (AnyValue::Double(f64::NAN), "NaN"),
            (AnyValue::Double(f64::INFINITY), "Infinity"),
            (AnyValue::Double(f64::NEG_INFINITY), "-Infinity"),
            (AnyValue::Bytes(Cow::Borrowed(b"\x00\xffhi")), "AP9oaQ=="),
        ];
        for (v, want) in cases {
            assert_eq!(v.to_text(), want, "{v:?}");
        }
    }

    #[test]
    fn render_compound_as_compact_json() {
        let v = AnyValue::Array(vec![
            s("x\n\"y\"\u{1}é"),
            AnyValue::Int(1),
            AnyValue::Double(f64::NAN),
            AnyValue::Double(2.5),
            AnyValue::Bool(true),
            AnyValue::Empty,
            AnyValue::Bytes(Cow::Borrowed(b"ab")),
            AnyValue::Array(vec![]),
            AnyValue::KvList(vec![
                Attr {
                    key: "k\\".into(),
                    value: AnyValue::KvList(vec![]),
                },
                Attr {
                    key: "k\\".into(),
                    value: s("dup"),
                },
            ]),
        ]);
        let text = v.to_text();
        assert_eq!(
            text,
            r#"["x\n\"y\"\u0001é",1,"NaN",2.5,true,null,"YWI=",[],{"k\\":{},"k\\":"dup"}]"#
        );
        // Valid JSON.
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed[0], "x\n\"y\"\u{1}é");
    }

    #[test]
    fn severity_labels() {
        let cases = [
            (1, "", "TRACE"),
            (4, "x", "TRACE"),
            (5, "", "DEBUG"),
            (9, "Information", "INFO"),
            (12, "", "INFO"),
            (13, "", "WARN"),
            (17, "", "ERROR"),
            (20, "", "ERROR"),
            (21, "", "FATAL"),
            (24, "", "FATAL"),
            (0, "", "UNSPECIFIED"),
            (25, "", "UNSPECIFIED"),
            (-1, "notice", "NOTICE"),
            (0, "Warning", "WARNING"),
            (0, "CRIT", "CRIT"),
        ];
        for (n, t, want) in cases {
            assert_eq!(severity_label(n, t), want, "{n} {t}");
        }
        assert!(matches!(severity_label(0, "CRIT"), Cow::Borrowed(_)));
    }

    #[test]
    fn kind_names() {
        let spans: Vec<_> = (0..7).map(|i| SpanKind::from_i32(i).as_str()).collect();
        assert_eq!(
            spans,
            [
                "Unspecified",
                "Internal",
                "Server",
                "Client",
                "Producer",
                "Consumer",
                "Unspecified"
            ]
        );
        let metrics = [
            MetricKind::Gauge,
            MetricKind::Sum,
            MetricKind::Histogram,
            MetricKind::ExponentialHistogram,
            MetricKind::Summary,
            MetricKind::Unknown,
        ]
        .map(MetricKind::as_str);
        assert_eq!(
            metrics,
            [
                "Gauge",
                "Sum",
                "Histogram",
                "ExponentialHistogram",
                "Summary",
                "Unknown"
            ]
        );
        assert_eq!(Temporality::from_i32(2).to_string(), "Cumulative");
    }

    #[test]
    fn signal_from_str() {
        assert_eq!("traces".parse(), Ok(Signal::Traces));
        assert_eq!("Metrics".parse(), Ok(Signal::Metrics));
        assert_eq!("LOGS".parse(), Ok(Signal::Logs));
        let err = "spans".parse::<Signal>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown OTLP signal 'spans': expected traces, metrics or logs"
        );
    }

    #[test]
    fn service_names() {
        let attr = |k: &'static str, v: AnyValue<'static>| Attr {
            key: k.into(),
            value: v,
        };
        assert_eq!(service_name(&[]), "unknown_service");
        let attrs = [attr("host", s("h")), attr("service.name", s("api"))];
        assert_eq!(service_name(&attrs), "api");
        assert_eq!(
            service_name(&[attr("service.name", AnyValue::Int(3))]),
            "unknown_service"
        );
        assert_eq!(
            service_name(&[attr("service.name", s(""))]),
            "unknown_service"
        );
        let events = [
            Event::Resource,
            Event::ResourceAttr(attr("service.name", s("a"))),
            Event::ResourceAttr(attr("service.name", s("b"))),
            empty_scope(),
        ];
        assert_eq!(service_name(resource_attrs(&events[1..])), "b");
    }

    #[test]
    fn json_sniffing() {
        assert!(looks_like_json(b"{\"resourceSpans\":[]}"));
        assert!(looks_like_json(
            b"\xEF\xBB\xBF \n {\n  \"resource_logs\": []}"
        ));
        assert!(looks_like_json(b"{}"));
        assert!(!looks_like_json(b""));
        assert!(!looks_like_json(b"[]"));
        assert!(!looks_like_json(b"{\"foo\":1}"));
        // A protobuf request whose first ResourceSpans is 123 bytes long and
        // whose resource is 34 bytes long starts with "\n{\n\"".
        assert!(!looks_like_json(
            b"\x0a\x7b\x0a\x22\x0a\x20\x0a\x0cservice.name"
        ));
    }

    #[test]
    fn gunzip() {
        use std::io::Write;
        let limits = Limits::default();
        assert!(matches!(
            maybe_gunzip(b"{}", &limits).unwrap(),
            Cow::Borrowed(b"{}")
        ));
        let gz = |data: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        };
        let mut two = gz(b"{\"a\":");
        two.extend(gz(b"1}"));
        assert_eq!(&*maybe_gunzip(&two, &limits).unwrap(), b"{\"a\":1}");

        // A bomb: 16 MiB of zeros in about 16 KiB, against a 1 MiB cap.
        let small = Limits {
            max_payload_bytes: 1 << 20,
            ..limits
        };
        let bomb = gz(&vec![0u8; 16 << 20]);
        assert!(bomb.len() < 100_000);
        let err = maybe_gunzip(&bomb, &small).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Gzip);
        assert!(err.to_string().contains("max_payload_bytes"), "{err}");
        // Exactly at the cap is fine.
        let at_cap = gz(&vec![b' '; 1 << 20]);
        assert_eq!(maybe_gunzip(&at_cap, &small).unwrap().len(), 1 << 20);

        let mut truncated = gz(b"{\"resourceSpans\":[]}");
        truncated.truncate(truncated.len() - 5);
        assert_eq!(
            maybe_gunzip(&truncated, &limits).unwrap_err().kind(),
            ErrorKind::Gzip
        );
        assert_eq!(
            maybe_gunzip(b"\x1f\x8bnot gzip", &limits)
                .unwrap_err()
                .kind(),
            ErrorKind::Gzip
        );
        // decode itself refuses gzip (what is left after one inflation) with a hint.
        let err = decode(&two, Encoding::Json, &limits, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("compressed twice"), "{err}");
    }

    #[test]
    fn payload_size_limit() {
        // A 100 MB string is stopped by the size check before any parsing.
        let mut big = b"{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"".to_vec();
        big.resize(100_000_000, b'a');
        big.extend_from_slice(b"\"}}]}}]}");
        let mut out = Vec::new();
        let err = decode(&big, Encoding::Json, &Limits::default(), &mut out).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge);
        assert_eq!(
            err.to_string(),
            "OTLP payload too large: 100000008 bytes exceed max_payload_bytes (67108864)"
        );
        let err = decode(
            &big,
            Encoding::Protobuf(Signal::Logs),
            &Limits::default(),
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge);
        assert!(out.is_empty());
    }

    #[test]
    fn sections_reorder() {
        let ev = |n: i32| Event::Log {
            severity_number: n,
            severity_text: "".into(),
            event_name: "".into(),
            time_unix_nano: 0,
            body: None,
        };
        let mut out = vec![ev(0)];
        let mut sec = Sections::<3>::new(1);
        // Section 2 first, then 0, then 1, then 0 again.
        for (i, items) in [(2, vec![20, 21]), (0, vec![1]), (1, vec![10]), (0, vec![2])] {
            let mark = out.len();
            out.extend(items.into_iter().map(ev));
            sec.place(&out, i, mark);
        }
        sec.finish(&mut out);
        let got: Vec<i32> = out
            .iter()
            .map(|e| match e {
                Event::Log {
                    severity_number, ..
                } => *severity_number,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(got, [0, 1, 2, 10, 20, 21]);
    }
}
