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

pub mod clip;
mod decoder;
mod error;
mod event;
mod json;
mod proto;
pub mod size;

pub(crate) use decoder::*;
pub use error::{DecodeError, ErrorKind, Limits, Position};
pub use event::{AnyValue, Attr, Event};

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
    /// Resource attributes, over all resource blocks: with the records,
    /// bounds how many (entity, resource key) pairs the payload can make.
    pub resource_attrs: usize,
    /// Events appended to the output.
    pub events: usize,
    /// Whether some appended event owns memory (an unescaped string, bytes,
    /// an array or kvlist value): what [`recycle`] needs to know.
    pub owns_heap: bool,
}

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
            bytes: 0,
            dropped_attributes: 0,
            has_trace_id: false,
            has_span_id: false,
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
