//! The events a payload decodes to, and the values they carry.

use std::borrow::Cow;

use super::{MetricKind, SpanKind, Temporality};

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
        /// Bytes of the `Metric` message in its `ScopeMetrics` (tag and
        /// length included): see [`Event::Span`]'s `bytes`.
        bytes: u32,
    },
    /// One data point of the current metric.
    DataPoint {
        time_unix_nano: u64,
        /// The point's shape: for a `Histogram` its explicit bounds (it has
        /// one bucket more), for an `ExponentialHistogram` its positive
        /// plus negative bucket counts, for a `Summary` its quantile
        /// values; 0 for gauges and sums.
        buckets: u32,
        /// `ExponentialHistogramDataPoint.scale`; 0 for other kinds.
        scale: i32,
    },
    DataPointAttr(Attr<'a>),
    Span {
        name: Cow<'a, str>,
        kind: SpanKind,
        start_time_unix_nano: u64,
        /// `status.code` as sent: 0 unset, 1 ok, 2 error (0 when there is no
        /// status).
        status_code: i32,
        /// Bytes of the `Span` message in its `ScopeSpans`, tag and length
        /// included: as sent in protobuf, and what a canonical encoder
        /// writes for the record's fields in JSON (`otlp::size`);
        /// saturates at `u32::MAX`.
        bytes: u32,
        /// `dropped_attributes_count`, `dropped_events_count`,
        /// `dropped_links_count` as sent.
        dropped_attributes: u32,
        dropped_events: u32,
        dropped_links: u32,
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
        /// Bytes of the `LogRecord` message in its `ScopeLogs`: see
        /// [`Event::Span`]'s `bytes`.
        bytes: u32,
        /// `dropped_attributes_count` as sent.
        dropped_attributes: u32,
        /// Whether `trace_id` and `span_id` are not empty.
        has_trace_id: bool,
        has_span_id: bool,
    },
    LogAttr(Attr<'a>),
}

impl Event<'_> {
    /// Whether dropping this event frees memory (an owned string, bytes, or
    /// a nested array or kvlist value).
    #[inline(always)]
    pub(crate) fn owns_heap(&self) -> bool {
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
