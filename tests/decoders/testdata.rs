//! Test data for the decoders, built with the prost types of
//! opentelemetry-proto (a dev-dependency):
//! - [`Request`]: a request of any signal, encodable to protobuf;
//! - [`reference_events`]: the event stream of a decoded prost request, the
//!   oracle the walker is checked against (and the prost side of the decoder benchmark);
//! - [`to_json`]: an OTLP/JSON writer, canonical or with the quirks senders
//!   have (snake_case, numbers vs strings, enum names, shuffled and unknown
//!   fields, nulls);
//! - [`random_request`] and [`realistic_traces`]: generators;
//! - [`example_request`]: the official JSON examples read into prost types by
//!   an independent, strict converter (for the protobuf fixtures).

use std::borrow::Cow;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue as PValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use prost::Message;
use serde_json::Value as J;

use otelcat::otlp::{AnyValue, Attr, Event, MetricKind, Signal, SpanKind, Temporality};

/// A request of any signal.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

impl Request {
    pub fn signal(&self) -> Signal {
        match self {
            Request::Traces(_) => Signal::Traces,
            Request::Metrics(_) => Signal::Metrics,
            Request::Logs(_) => Signal::Logs,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            Request::Traces(r) => r.encode_to_vec(),
            Request::Metrics(r) => r.encode_to_vec(),
            Request::Logs(r) => r.encode_to_vec(),
        }
    }

    /// Decodes protobuf with prost.
    pub fn decode(signal: Signal, bytes: &[u8]) -> Result<Request, prost::DecodeError> {
        Ok(match signal {
            Signal::Traces => Request::Traces(ExportTraceServiceRequest::decode(bytes)?),
            Signal::Metrics => Request::Metrics(ExportMetricsServiceRequest::decode(bytes)?),
            Signal::Logs => Request::Logs(ExportLogsServiceRequest::decode(bytes)?),
        })
    }
}

// ---------------------------------------------------------------------------
// Reference conversion of prost requests into events.

fn s(v: &str) -> Cow<'_, str> {
    Cow::Borrowed(v)
}

fn value(v: Option<&PValue>) -> AnyValue<'_> {
    use any_value::Value as V;
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(V::StringValueStrindex(_)) => AnyValue::Empty,
        Some(V::StringValue(x)) => AnyValue::Str(s(x)),
        Some(V::BoolValue(x)) => AnyValue::Bool(*x),
        Some(V::IntValue(x)) => AnyValue::Int(*x),
        Some(V::DoubleValue(x)) => AnyValue::Double(*x),
        Some(V::BytesValue(x)) => AnyValue::Bytes(Cow::Borrowed(x)),
        Some(V::ArrayValue(a)) => {
            AnyValue::Array(a.values.iter().map(|v| value(Some(v))).collect())
        }
        Some(V::KvlistValue(l)) => AnyValue::KvList(l.values.iter().map(attr).collect()),
    }
}

fn attr(kv: &KeyValue) -> Attr<'_> {
    Attr {
        key: s(&kv.key),
        value: value(kv.value.as_ref()),
    }
}

fn attrs<'a>(kvs: &'a [KeyValue], wrap: fn(Attr<'a>) -> Event<'a>, out: &mut Vec<Event<'a>>) {
    out.extend(kvs.iter().map(|kv| wrap(attr(kv))));
}

fn resource<'a>(r: Option<&'a Resource>, out: &mut Vec<Event<'a>>) {
    out.push(Event::Resource);
    if let Some(r) = r {
        attrs(&r.attributes, Event::ResourceAttr, out);
    }
}

fn scope<'a>(sc: Option<&'a InstrumentationScope>, out: &mut Vec<Event<'a>>) {
    let (name, version) = sc.map_or(("", ""), |sc| (&sc.name, &sc.version));
    out.push(Event::Scope {
        name: s(name),
        version: s(version),
    });
    if let Some(sc) = sc {
        attrs(&sc.attributes, Event::ScopeAttr, out);
    }
}

/// The events a correct decoder produces for `req`.
pub fn reference_events<'a>(req: &'a Request, out: &mut Vec<Event<'a>>) {
    match req {
        Request::Traces(r) => {
            for rs in &r.resource_spans {
                resource(rs.resource.as_ref(), out);
                for ss in &rs.scope_spans {
                    scope(ss.scope.as_ref(), out);
                    for sp in &ss.spans {
                        out.push(Event::Span {
                            name: s(&sp.name),
                            kind: SpanKind::from_i32(sp.kind),
                            start_time_unix_nano: sp.start_time_unix_nano,
                            status_code: sp.status.as_ref().map_or(0, |st| st.code),
                            bytes: field_len(sp),
                            dropped_attributes: sp.dropped_attributes_count,
                            dropped_events: sp.dropped_events_count,
                            dropped_links: sp.dropped_links_count,
                        });
                        attrs(&sp.attributes, Event::SpanAttr, out);
                        for ev in &sp.events {
                            out.push(Event::SpanEvent {
                                name: s(&ev.name),
                                time_unix_nano: ev.time_unix_nano,
                            });
                            attrs(&ev.attributes, Event::SpanEventAttr, out);
                        }
                        for link in &sp.links {
                            out.push(Event::SpanLink);
                            attrs(&link.attributes, Event::SpanLinkAttr, out);
                        }
                    }
                }
            }
        }
        Request::Metrics(r) => {
            for rm in &r.resource_metrics {
                resource(rm.resource.as_ref(), out);
                for sm in &rm.scope_metrics {
                    scope(sm.scope.as_ref(), out);
                    for m in &sm.metrics {
                        metric_events(m, out);
                    }
                }
            }
        }
        Request::Logs(r) => {
            for rl in &r.resource_logs {
                resource(rl.resource.as_ref(), out);
                for sl in &rl.scope_logs {
                    scope(sl.scope.as_ref(), out);
                    for l in &sl.log_records {
                        out.push(Event::Log {
                            severity_number: l.severity_number,
                            severity_text: s(&l.severity_text),
                            event_name: s(&l.event_name),
                            time_unix_nano: if l.time_unix_nano != 0 {
                                l.time_unix_nano
                            } else {
                                l.observed_time_unix_nano
                            },
                            body: l.body.as_ref().map(|b| value(Some(b))),
                            bytes: field_len(l),
                            dropped_attributes: l.dropped_attributes_count,
                            has_trace_id: !l.trace_id.is_empty(),
                            has_span_id: !l.span_id.is_empty(),
                        });
                        attrs(&l.attributes, Event::LogAttr, out);
                    }
                }
            }
        }
    }
}

/// Bytes of a record as a field of its parent message, as prost encodes it:
/// tag (one byte), length, message.
pub fn field_len(m: &impl Message) -> u32 {
    let n = m.encoded_len();
    (1 + prost::encoding::encoded_len_varint(n as u64) + n) as u32
}

fn metric_events<'a>(m: &'a Metric, out: &mut Vec<Event<'a>>) {
    use metric::Data;
    let (kind, temporality, monotonic) = match &m.data {
        None => (MetricKind::Unknown, 0, false),
        Some(Data::Gauge(_)) => (MetricKind::Gauge, 0, false),
        Some(Data::Sum(x)) => (MetricKind::Sum, x.aggregation_temporality, x.is_monotonic),
        Some(Data::Histogram(x)) => (MetricKind::Histogram, x.aggregation_temporality, false),
        Some(Data::ExponentialHistogram(x)) => (
            MetricKind::ExponentialHistogram,
            x.aggregation_temporality,
            false,
        ),
        Some(Data::Summary(_)) => (MetricKind::Summary, 0, false),
    };
    out.push(Event::Metric {
        name: s(&m.name),
        kind,
        unit: s(&m.unit),
        description: s(&m.description),
        temporality: Temporality::from_i32(temporality),
        monotonic,
        bytes: field_len(m),
    });
    // The shape of a point: see `Event::DataPoint`.
    let point =
        |time: u64, buckets: usize, scale: i32, kvs: &'a [KeyValue], out: &mut Vec<Event<'a>>| {
            out.push(Event::DataPoint {
                time_unix_nano: time,
                buckets: buckets as u32,
                scale,
            });
            attrs(kvs, Event::DataPointAttr, out);
        };
    match &m.data {
        None => {}
        Some(Data::Gauge(Gauge { data_points: dps }))
        | Some(Data::Sum(Sum {
            data_points: dps, ..
        })) => {
            for dp in dps {
                point(dp.time_unix_nano, 0, 0, &dp.attributes, out);
            }
        }
        Some(Data::Histogram(x)) => {
            for dp in &x.data_points {
                let b = dp.explicit_bounds.len();
                point(dp.time_unix_nano, b, 0, &dp.attributes, out);
            }
        }
        Some(Data::ExponentialHistogram(x)) => {
            for dp in &x.data_points {
                let n = |b: &Option<Buckets>| b.as_ref().map_or(0, |b| b.bucket_counts.len());
                let b = n(&dp.positive) + n(&dp.negative);
                point(dp.time_unix_nano, b, dp.scale, &dp.attributes, out);
            }
        }
        Some(Data::Summary(x)) => {
            for dp in &x.data_points {
                let q = dp.quantile_values.len();
                point(dp.time_unix_nano, q, 0, &dp.attributes, out);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// OTLP/JSON writer.

/// How [`to_json`] writes: canonically (as the spec and the Collector do),
/// or with random sender quirks.
pub struct Style {
    rng: fastrand::Rng,
    quirky: bool,
}

impl Style {
    pub fn canonical() -> Self {
        Style {
            rng: fastrand::Rng::with_seed(0),
            quirky: false,
        }
    }

    pub fn quirky(seed: u64) -> Self {
        Style {
            rng: fastrand::Rng::with_seed(seed),
            quirky: true,
        }
    }

    fn quirk(&mut self) -> bool {
        self.quirky && self.rng.u8(..4) == 0
    }

    fn key(&mut self, camel: &str) -> String {
        if !self.quirk() {
            return camel.to_owned();
        }
        let mut snake = String::new();
        for c in camel.chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
                snake.push(c.to_ascii_lowercase());
            } else {
                snake.push(c);
            }
        }
        snake
    }

    fn u64(&mut self, v: u64) -> J {
        if self.quirk() {
            J::from(v)
        } else {
            J::from(v.to_string())
        }
    }

    fn i64(&mut self, v: i64) -> J {
        if self.quirk() {
            J::from(v)
        } else {
            J::from(v.to_string())
        }
    }

    fn f64(&mut self, v: f64) -> J {
        if v.is_nan() {
            J::from("NaN")
        } else if v.is_infinite() {
            J::from(if v > 0.0 { "Infinity" } else { "-Infinity" })
        } else if self.quirk() {
            J::from(v.to_string())
        } else {
            J::from(v)
        }
    }

    /// An enum: a number, or with quirks its name (given by `name`) or a
    /// numeric string.
    fn enumeration(&mut self, v: i32, name: impl Fn(i32) -> Option<String>) -> J {
        if let Some(n) = self.quirk().then(|| name(v)).flatten() {
            return J::from(n);
        }
        if self.quirk() {
            J::from(v.to_string())
        } else {
            J::from(v)
        }
    }

    fn hex(&mut self, bytes: &[u8]) -> J {
        let mut h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        if self.quirk() {
            h.make_ascii_uppercase();
        }
        J::from(h)
    }

    /// An object from its fields; `None` values are left out (or, with
    /// quirks, written as null). Quirks also shuffle the fields and add
    /// unknown ones.
    fn obj(&mut self, fields: Vec<(&str, Option<J>)>) -> J {
        let mut out: Vec<(String, J)> = Vec::new();
        for (k, v) in fields {
            match v {
                Some(v) => out.push((self.key(k), v)),
                None if self.quirk() => out.push((self.key(k), J::Null)),
                None => {}
            }
        }
        if self.quirk() {
            let unknown =
                serde_json::json!({"deep": [1, "x", {"a": null, "b": [[{}]]}], "n": -1.5e300});
            out.push(("someFutureField".to_owned(), unknown));
        }
        if self.quirk() {
            self.rng.shuffle(&mut out);
        }
        J::Object(out.into_iter().collect())
    }

    fn list<T>(&mut self, items: &[T], f: impl FnMut(&mut Self, &T) -> J) -> Option<J> {
        if items.is_empty() {
            return None;
        }
        let mut f = f;
        Some(J::Array(items.iter().map(|i| f(self, i)).collect()))
    }

    fn string(&mut self, v: &str) -> Option<J> {
        (!v.is_empty()).then(|| J::from(v))
    }

    fn nonzero_u64(&mut self, v: u64) -> Option<J> {
        (v != 0).then(|| self.u64(v))
    }

    fn nonzero_u32(&mut self, v: u32) -> Option<J> {
        (v != 0).then(|| J::from(v))
    }

    fn nonzero_f64(&mut self, v: f64) -> Option<J> {
        (v != 0.0).then(|| self.f64(v))
    }

    fn exemplars(&mut self, exemplars: &[Exemplar]) -> Option<J> {
        self.list(exemplars, |st, e| {
            let value = match e.value {
                Some(exemplar::Value::AsDouble(d)) => ("asDouble", Some(st.f64(d))),
                Some(exemplar::Value::AsInt(i)) => ("asInt", Some(st.i64(i))),
                None => ("asInt", None),
            };
            let fields = vec![
                ("filteredAttributes", st.attributes(&e.filtered_attributes)),
                ("timeUnixNano", st.nonzero_u64(e.time_unix_nano)),
                value,
                ("spanId", Some(st.hex(&e.span_id))),
                ("traceId", Some(st.hex(&e.trace_id))),
            ];
            st.obj(fields)
        })
    }

    fn value(&mut self, v: &PValue) -> J {
        use any_value::Value as V;
        let field = match &v.value {
            None | Some(V::StringValueStrindex(_)) => return self.obj(vec![]),
            Some(V::StringValue(x)) => ("stringValue", J::from(x.as_str())),
            Some(V::BoolValue(x)) => ("boolValue", J::from(*x)),
            Some(V::IntValue(x)) => ("intValue", self.i64(*x)),
            Some(V::DoubleValue(x)) => ("doubleValue", self.f64(*x)),
            Some(V::BytesValue(x)) => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(x);
                ("bytesValue", J::from(b64))
            }
            Some(V::ArrayValue(a)) => {
                let values = self.list(&a.values, |st, v| st.value(v));
                ("arrayValue", self.obj(vec![("values", values)]))
            }
            Some(V::KvlistValue(l)) => {
                let values = self.list(&l.values, |st, kv| st.key_value(kv));
                ("kvlistValue", self.obj(vec![("values", values)]))
            }
        };
        self.obj(vec![(field.0, Some(field.1))])
    }

    fn key_value(&mut self, kv: &KeyValue) -> J {
        let v = kv.value.as_ref().map(|v| self.value(v));
        self.obj(vec![("key", Some(J::from(kv.key.as_str()))), ("value", v)])
    }

    fn attributes(&mut self, kvs: &[KeyValue]) -> Option<J> {
        self.list(kvs, |st, kv| st.key_value(kv))
    }

    fn resource(&mut self, r: &Option<Resource>) -> Option<J> {
        r.as_ref().map(|r| {
            let a = self.attributes(&r.attributes);
            self.obj(vec![("attributes", a)])
        })
    }

    fn scope(&mut self, sc: &Option<InstrumentationScope>) -> Option<J> {
        sc.as_ref().map(|sc| {
            let fields = vec![
                ("name", self.string(&sc.name)),
                ("version", self.string(&sc.version)),
                ("attributes", self.attributes(&sc.attributes)),
            ];
            self.obj(fields)
        })
    }

    fn span(&mut self, sp: &Span) -> J {
        let kind = self.enumeration(sp.kind, |k| {
            span::SpanKind::try_from(k)
                .ok()
                .map(|k| k.as_str_name().to_owned())
        });
        let fields = vec![
            ("traceId", Some(self.hex(&sp.trace_id))),
            ("spanId", Some(self.hex(&sp.span_id))),
            ("parentSpanId", Some(self.hex(&sp.parent_span_id))),
            ("traceState", self.string(&sp.trace_state)),
            ("flags", self.nonzero_u32(sp.flags)),
            (
                "droppedAttributesCount",
                self.nonzero_u32(sp.dropped_attributes_count),
            ),
            ("droppedEventsCount", self.nonzero_u32(sp.dropped_events_count)),
            ("droppedLinksCount", self.nonzero_u32(sp.dropped_links_count)),
            ("name", self.string(&sp.name)),
            ("kind", (sp.kind != 0).then_some(kind)),
            (
                "startTimeUnixNano",
                self.nonzero_u64(sp.start_time_unix_nano),
            ),
            ("endTimeUnixNano", self.nonzero_u64(sp.end_time_unix_nano)),
            ("attributes", self.attributes(&sp.attributes)),
            (
                "events",
                self.list(&sp.events, |st, ev| {
                    let fields = vec![
                        ("timeUnixNano", st.nonzero_u64(ev.time_unix_nano)),
                        ("name", st.string(&ev.name)),
                        ("attributes", st.attributes(&ev.attributes)),
                        (
                            "droppedAttributesCount",
                            st.nonzero_u32(ev.dropped_attributes_count),
                        ),
                    ];
                    st.obj(fields)
                }),
            ),
            (
                "links",
                self.list(&sp.links, |st, l| {
                    let fields = vec![
                        ("traceId", Some(st.hex(&l.trace_id))),
                        ("spanId", Some(st.hex(&l.span_id))),
                        ("traceState", st.string(&l.trace_state)),
                        ("attributes", st.attributes(&l.attributes)),
                        (
                            "droppedAttributesCount",
                            st.nonzero_u32(l.dropped_attributes_count),
                        ),
                        ("flags", st.nonzero_u32(l.flags)),
                    ];
                    st.obj(fields)
                }),
            ),
            (
                "status",
                sp.status.as_ref().map(|x| {
                    let fields = vec![
                        ("message", self.string(&x.message)),
                        (
                            "code",
                            (x.code != 0).then(|| {
                                self.enumeration(x.code, |c| {
                                    opentelemetry_proto::tonic::trace::v1::status::StatusCode::try_from(c)
                                        .ok()
                                        .map(|c| c.as_str_name().to_owned())
                                })
                            }),
                        ),
                    ];
                    self.obj(fields)
                }),
            ),
        ];
        self.obj(fields)
    }

    fn buckets(&mut self, b: &Buckets) -> J {
        let fields = vec![
            ("offset", Some(J::from(b.offset))),
            (
                "bucketCounts",
                Some(J::Array(
                    b.bucket_counts.iter().map(|c| self.u64(*c)).collect(),
                )),
            ),
        ];
        self.obj(fields)
    }

    fn temporality(&mut self, t: i32) -> Option<J> {
        (t != 0).then(|| {
            self.enumeration(t, |t| {
                opentelemetry_proto::tonic::metrics::v1::AggregationTemporality::try_from(t)
                    .ok()
                    .map(|t| t.as_str_name().to_owned())
            })
        })
    }

    fn number_point(&mut self, dp: &NumberDataPoint) -> J {
        let value = match dp.value {
            Some(number_data_point::Value::AsDouble(d)) => ("asDouble", Some(self.f64(d))),
            Some(number_data_point::Value::AsInt(i)) => ("asInt", Some(self.i64(i))),
            None => ("asInt", None),
        };
        let fields = vec![
            ("attributes", self.attributes(&dp.attributes)),
            (
                "startTimeUnixNano",
                self.nonzero_u64(dp.start_time_unix_nano),
            ),
            ("timeUnixNano", self.nonzero_u64(dp.time_unix_nano)),
            value,
            ("exemplars", self.exemplars(&dp.exemplars)),
            ("flags", self.nonzero_u32(dp.flags)),
        ];
        self.obj(fields)
    }

    fn metric(&mut self, m: &Metric) -> J {
        use metric::Data;
        let data = match &m.data {
            None => None,
            Some(Data::Gauge(g)) => {
                let dps = self.list(&g.data_points, |st, dp| st.number_point(dp));
                Some(("gauge", self.obj(vec![("dataPoints", dps)])))
            }
            Some(Data::Sum(x)) => {
                let fields = vec![
                    (
                        "dataPoints",
                        self.list(&x.data_points, |st, dp| st.number_point(dp)),
                    ),
                    (
                        "aggregationTemporality",
                        self.temporality(x.aggregation_temporality),
                    ),
                    ("isMonotonic", x.is_monotonic.then_some(J::from(true))),
                ];
                Some(("sum", self.obj(fields)))
            }
            Some(Data::Histogram(x)) => {
                let dps = self.list(&x.data_points, |st, dp| {
                    let fields = vec![
                        ("attributes", st.attributes(&dp.attributes)),
                        ("startTimeUnixNano", st.nonzero_u64(dp.start_time_unix_nano)),
                        ("timeUnixNano", st.nonzero_u64(dp.time_unix_nano)),
                        ("count", st.nonzero_u64(dp.count)),
                        ("sum", dp.sum.map(|v| st.f64(v))),
                        ("min", dp.min.map(|v| st.f64(v))),
                        ("max", dp.max.map(|v| st.f64(v))),
                        ("flags", st.nonzero_u32(dp.flags)),
                        ("exemplars", st.exemplars(&dp.exemplars)),
                        (
                            "bucketCounts",
                            Some(J::Array(
                                dp.bucket_counts.iter().map(|c| st.u64(*c)).collect(),
                            )),
                        ),
                        (
                            "explicitBounds",
                            Some(J::Array(
                                dp.explicit_bounds.iter().map(|c| st.f64(*c)).collect(),
                            )),
                        ),
                    ];
                    st.obj(fields)
                });
                let fields = vec![
                    ("dataPoints", dps),
                    (
                        "aggregationTemporality",
                        self.temporality(x.aggregation_temporality),
                    ),
                ];
                Some(("histogram", self.obj(fields)))
            }
            Some(Data::ExponentialHistogram(x)) => {
                let dps = self.list(&x.data_points, |st, dp| {
                    let fields = vec![
                        ("attributes", st.attributes(&dp.attributes)),
                        ("startTimeUnixNano", st.nonzero_u64(dp.start_time_unix_nano)),
                        ("timeUnixNano", st.nonzero_u64(dp.time_unix_nano)),
                        ("count", st.nonzero_u64(dp.count)),
                        ("sum", dp.sum.map(|v| st.f64(v))),
                        ("min", dp.min.map(|v| st.f64(v))),
                        ("max", dp.max.map(|v| st.f64(v))),
                        ("zeroThreshold", st.nonzero_f64(dp.zero_threshold)),
                        ("flags", st.nonzero_u32(dp.flags)),
                        ("exemplars", st.exemplars(&dp.exemplars)),
                        ("scale", Some(J::from(dp.scale))),
                        ("zeroCount", st.nonzero_u64(dp.zero_count)),
                        ("positive", dp.positive.as_ref().map(|b| st.buckets(b))),
                        ("negative", dp.negative.as_ref().map(|b| st.buckets(b))),
                    ];
                    st.obj(fields)
                });
                let fields = vec![
                    ("dataPoints", dps),
                    (
                        "aggregationTemporality",
                        self.temporality(x.aggregation_temporality),
                    ),
                ];
                Some(("exponentialHistogram", self.obj(fields)))
            }
            Some(Data::Summary(x)) => {
                let dps = self.list(&x.data_points, |st, dp| {
                    let q = st.list(&dp.quantile_values, |st, q| {
                        let fields = vec![
                            ("quantile", Some(st.f64(q.quantile))),
                            ("value", Some(st.f64(q.value))),
                        ];
                        st.obj(fields)
                    });
                    let fields = vec![
                        ("attributes", st.attributes(&dp.attributes)),
                        ("startTimeUnixNano", st.nonzero_u64(dp.start_time_unix_nano)),
                        ("timeUnixNano", st.nonzero_u64(dp.time_unix_nano)),
                        ("count", st.nonzero_u64(dp.count)),
                        ("sum", st.nonzero_f64(dp.sum)),
                        ("flags", st.nonzero_u32(dp.flags)),
                        ("quantileValues", q),
                    ];
                    st.obj(fields)
                });
                Some(("summary", self.obj(vec![("dataPoints", dps)])))
            }
        };
        let mut fields = vec![
            ("name", self.string(&m.name)),
            ("description", self.string(&m.description)),
            ("unit", self.string(&m.unit)),
            ("metadata", self.attributes(&m.metadata)),
        ];
        if let Some((k, v)) = data {
            fields.push((k, Some(v)));
        }
        self.obj(fields)
    }

    fn log(&mut self, l: &LogRecord) -> J {
        let severity = self.enumeration(l.severity_number, |n| {
            opentelemetry_proto::tonic::logs::v1::SeverityNumber::try_from(n)
                .ok()
                .map(|n| n.as_str_name().to_owned())
        });
        let body = l.body.as_ref().map(|b| self.value(b));
        let fields = vec![
            ("timeUnixNano", self.nonzero_u64(l.time_unix_nano)),
            (
                "observedTimeUnixNano",
                self.nonzero_u64(l.observed_time_unix_nano),
            ),
            (
                "severityNumber",
                (l.severity_number != 0).then_some(severity),
            ),
            ("severityText", self.string(&l.severity_text)),
            ("eventName", self.string(&l.event_name)),
            ("traceId", Some(self.hex(&l.trace_id))),
            ("spanId", Some(self.hex(&l.span_id))),
            ("body", body),
            ("attributes", self.attributes(&l.attributes)),
            (
                "droppedAttributesCount",
                self.nonzero_u32(l.dropped_attributes_count),
            ),
            ("flags", self.nonzero_u32(l.flags)),
        ];
        self.obj(fields)
    }
}

/// Writes `req` as OTLP/JSON (compact, one line).
pub fn to_json(req: &Request, style: &mut Style) -> String {
    let (key, blocks) = match req {
        Request::Traces(r) => (
            "resourceSpans",
            style.list(&r.resource_spans, |st, rs| {
                let fields = vec![
                    ("resource", st.resource(&rs.resource)),
                    (
                        "scopeSpans",
                        st.list(&rs.scope_spans, |st, ss| {
                            let fields = vec![
                                ("scope", st.scope(&ss.scope)),
                                ("spans", st.list(&ss.spans, |st, sp| st.span(sp))),
                                ("schemaUrl", st.string(&ss.schema_url)),
                            ];
                            st.obj(fields)
                        }),
                    ),
                    ("schemaUrl", st.string(&rs.schema_url)),
                ];
                st.obj(fields)
            }),
        ),
        Request::Metrics(r) => (
            "resourceMetrics",
            style.list(&r.resource_metrics, |st, rm| {
                let fields = vec![
                    ("resource", st.resource(&rm.resource)),
                    (
                        "scopeMetrics",
                        st.list(&rm.scope_metrics, |st, sm| {
                            let fields = vec![
                                ("scope", st.scope(&sm.scope)),
                                ("metrics", st.list(&sm.metrics, |st, m| st.metric(m))),
                            ];
                            st.obj(fields)
                        }),
                    ),
                ];
                st.obj(fields)
            }),
        ),
        Request::Logs(r) => (
            "resourceLogs",
            style.list(&r.resource_logs, |st, rl| {
                let fields = vec![
                    ("resource", st.resource(&rl.resource)),
                    (
                        "scopeLogs",
                        st.list(&rl.scope_logs, |st, sl| {
                            let fields = vec![
                                ("scope", st.scope(&sl.scope)),
                                ("logRecords", st.list(&sl.log_records, |st, l| st.log(l))),
                            ];
                            st.obj(fields)
                        }),
                    ),
                ];
                st.obj(fields)
            }),
        ),
    };
    // The signal key must be there even for an empty request.
    let blocks = blocks.unwrap_or(J::Array(vec![]));
    let doc = style.obj(vec![(key, Some(blocks))]);
    if style.quirk() {
        serde_json::to_string_pretty(&doc).unwrap()
    } else {
        serde_json::to_string(&doc).unwrap()
    }
}

// ---------------------------------------------------------------------------
// Generators.

/// Random requests of every shape: all value types nested a few levels,
/// every metric kind, missing and empty parts, odd strings and numbers.
pub struct Gen {
    pub rng: fastrand::Rng,
}

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    fn count(&mut self, max: usize) -> usize {
        // Mostly small, sometimes zero.
        match self.rng.u8(..8) {
            0 => 0,
            1 => max,
            _ => self.rng.usize(1..=max.max(1)),
        }
    }

    pub fn string(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a",
            "http.method",
            "GET",
            " ",
            "\"",
            "\\",
            "\n",
            "\t",
            "\u{1}",
            "é",
            "日本",
            "🦀",
            "/",
            "{}",
            "[1]",
            "\u{7f}",
            "\u{2028}",
            "0",
            "-",
            "NaN",
        ];
        let n = self.count(6);
        (0..n).map(|_| *self.rng.choice(PIECES).unwrap()).collect()
    }

    fn f64(&mut self) -> f64 {
        match self.rng.u8(..10) {
            0 => f64::NAN,
            1 => *self
                .rng
                .choice(&[
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    -0.0,
                    0.0,
                    f64::MIN_POSITIVE,
                ])
                .unwrap(),
            2 => f64::from_bits(self.rng.u64(..)),
            3 => self.rng.f64() * 1e300,
            4 => (self.rng.i32(..) as f64) / 8.0,
            _ => self.rng.f64() * 1000.0,
        }
        .max(f64::MIN)
    }

    fn u64(&mut self) -> u64 {
        match self.rng.u8(..4) {
            0 => 0,
            1 => u64::MAX,
            _ => 1_700_000_000_000_000_000 + self.rng.u64(..1 << 40),
        }
    }

    pub fn value(&mut self, depth: usize) -> PValue {
        use any_value::Value as V;
        let top = if depth >= 3 { 6 } else { 8 };
        let v = match self.rng.u8(..top) {
            0 => None,
            1 => Some(V::StringValue(self.string())),
            2 => Some(V::BoolValue(self.rng.bool())),
            3 => {
                let any = self.rng.i64(..);
                Some(V::IntValue(
                    *self.rng.choice(&[0, -1, i64::MIN, i64::MAX, any]).unwrap(),
                ))
            }
            4 => Some(V::DoubleValue(self.f64())),
            5 => {
                let n = self.count(5);
                Some(V::BytesValue(
                    std::iter::repeat_with(|| self.rng.u8(..)).take(n).collect(),
                ))
            }
            6 => {
                let n = self.count(3);
                Some(V::ArrayValue(ArrayValue {
                    values: (0..n).map(|_| self.value(depth + 1)).collect(),
                }))
            }
            _ => {
                let n = self.count(3);
                Some(V::KvlistValue(KeyValueList {
                    values: (0..n).map(|_| self.key_value(depth + 1)).collect(),
                }))
            }
        };
        PValue { value: v }
    }

    fn key_value(&mut self, depth: usize) -> KeyValue {
        KeyValue {
            key: self.string(),
            // Mostly a value; sometimes none at all. Not an empty value
            // message: the decoded value does not tell it from none, and
            // JSON counts its record's bytes without it (docs/catalog.md
            // "Bytes"; `empty_values_count_as_absent` checks that case).
            value: (self.rng.u8(..10) != 0)
                .then(|| self.value(depth))
                .filter(|v| v.value.is_some()),
            key_strindex: 0,
        }
    }

    fn attributes(&mut self, max: usize) -> Vec<KeyValue> {
        let n = self.count(max);
        (0..n).map(|_| self.key_value(1)).collect()
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        if self.rng.u8(..5) == 0 {
            return Vec::new();
        }
        std::iter::repeat_with(|| self.rng.u8(..)).take(n).collect()
    }

    fn resource(&mut self) -> Option<Resource> {
        (self.rng.u8(..5) != 0).then(|| Resource {
            attributes: self.attributes(4),
            ..Default::default()
        })
    }

    fn scope(&mut self) -> Option<InstrumentationScope> {
        (self.rng.u8(..5) != 0).then(|| InstrumentationScope {
            name: self.string(),
            version: self.string(),
            attributes: self.attributes(2),
            dropped_attributes_count: self.rng.u32(..3),
        })
    }

    pub fn span(&mut self) -> Span {
        Span {
            trace_id: self.bytes(16),
            span_id: self.bytes(8),
            parent_span_id: self.bytes(8),
            trace_state: self.string(),
            name: self.string(),
            kind: self.rng.i32(0..=6),
            start_time_unix_nano: self.u64(),
            end_time_unix_nano: self.u64(),
            attributes: self.attributes(6),
            dropped_attributes_count: self.rng.u32(..3),
            events: (0..self.count(2))
                .map(|_| span::Event {
                    time_unix_nano: self.u64(),
                    name: self.string(),
                    attributes: self.attributes(3),
                    dropped_attributes_count: self.rng.u32(..3),
                })
                .collect(),
            links: (0..self.count(2))
                .map(|_| span::Link {
                    trace_id: self.bytes(16),
                    span_id: self.bytes(8),
                    attributes: self.attributes(2),
                    flags: self.rng.u32(..),
                    trace_state: self.string(),
                    dropped_attributes_count: self.rng.u32(..3),
                })
                .collect(),
            status: (self.rng.bool()).then(|| Status {
                message: self.string(),
                code: self.rng.i32(0..3),
            }),
            flags: self.rng.u32(..),
            dropped_events_count: self.rng.u32(..300),
            dropped_links_count: self.rng.u32(..3),
        }
    }

    fn exemplars(&mut self) -> Vec<Exemplar> {
        (0..self.count(2) / 2)
            .map(|_| Exemplar {
                filtered_attributes: self.attributes(2),
                time_unix_nano: self.u64(),
                span_id: self.bytes(8),
                trace_id: self.bytes(16),
                value: match self.rng.u8(..3) {
                    0 => None,
                    1 => Some(exemplar::Value::AsInt(self.rng.i64(..))),
                    _ => Some(exemplar::Value::AsDouble(self.f64())),
                },
            })
            .collect()
    }

    fn number_point(&mut self) -> NumberDataPoint {
        NumberDataPoint {
            attributes: self.attributes(3),
            start_time_unix_nano: self.u64(),
            time_unix_nano: self.u64(),
            value: match self.rng.u8(..3) {
                0 => None,
                1 => Some(number_data_point::Value::AsInt(self.rng.i64(..))),
                _ => Some(number_data_point::Value::AsDouble(self.f64())),
            },
            exemplars: self.exemplars(),
            flags: self.rng.u32(..2),
        }
    }

    pub fn metric(&mut self) -> Metric {
        use metric::Data;
        let temporality = self.rng.i32(0..=3);
        let points = self.count(3);
        let data = match self.rng.u8(..6) {
            0 => None,
            1 => Some(Data::Gauge(Gauge {
                data_points: (0..points).map(|_| self.number_point()).collect(),
            })),
            2 => Some(Data::Sum(Sum {
                data_points: (0..points).map(|_| self.number_point()).collect(),
                aggregation_temporality: temporality,
                is_monotonic: self.rng.bool(),
            })),
            3 => Some(Data::Histogram(Histogram {
                data_points: (0..points)
                    .map(|_| HistogramDataPoint {
                        attributes: self.attributes(3),
                        time_unix_nano: self.u64(),
                        count: self.rng.u64(..),
                        sum: self.rng.bool().then(|| self.f64()),
                        bucket_counts: vec![1, 2, 3],
                        explicit_bounds: (0..self.count(20)).map(|_| self.f64()).collect(),
                        min: Some(self.f64()),
                        max: self.rng.bool().then(|| self.f64()),
                        start_time_unix_nano: self.u64(),
                        flags: self.rng.u32(..2),
                        exemplars: self.exemplars(),
                    })
                    .collect(),
                aggregation_temporality: temporality,
            })),
            4 => Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: (0..points)
                    .map(|_| ExponentialHistogramDataPoint {
                        attributes: self.attributes(3),
                        time_unix_nano: self.u64(),
                        scale: self.rng.i32(-10..10),
                        zero_count: 3,
                        positive: Some(Buckets {
                            offset: -2,
                            bucket_counts: (0..self.count(30))
                                .map(|_| self.rng.u64(..300))
                                .collect(),
                        }),
                        negative: self.rng.bool().then(|| Buckets {
                            offset: self.rng.i32(-5..5),
                            bucket_counts: (0..self.count(5)).map(|_| self.rng.u64(..)).collect(),
                        }),
                        start_time_unix_nano: self.u64(),
                        count: self.u64(),
                        sum: self.rng.bool().then(|| self.f64()),
                        min: self.rng.bool().then(|| self.f64()),
                        max: self.rng.bool().then(|| self.f64()),
                        zero_threshold: if self.rng.bool() { 0.0 } else { self.f64() },
                        flags: self.rng.u32(..2),
                        exemplars: self.exemplars(),
                    })
                    .collect(),
                aggregation_temporality: temporality,
            })),
            _ => Some(Data::Summary(Summary {
                data_points: (0..points)
                    .map(|_| SummaryDataPoint {
                        attributes: self.attributes(3),
                        time_unix_nano: self.u64(),
                        count: 4,
                        sum: self.f64(),
                        quantile_values: (0..self.count(6))
                            .map(|_| ValueAtQuantile {
                                quantile: 0.5,
                                value: self.f64(),
                            })
                            .collect(),
                        start_time_unix_nano: self.u64(),
                        flags: self.rng.u32(..2),
                    })
                    .collect(),
            })),
        };
        Metric {
            name: self.string(),
            description: self.string(),
            unit: self.string(),
            metadata: self.attributes(1),
            data,
        }
    }

    pub fn log(&mut self) -> LogRecord {
        LogRecord {
            time_unix_nano: self.u64(),
            observed_time_unix_nano: self.u64(),
            severity_number: self.rng.i32(0..=25),
            severity_text: self.string(),
            body: self.rng.bool().then(|| self.value(1)),
            attributes: self.attributes(5),
            dropped_attributes_count: self.rng.u32(..3),
            flags: self.rng.u32(..),
            trace_id: self.bytes(16),
            span_id: self.bytes(8),
            event_name: self.string(),
        }
    }
}

/// A random request of the given signal.
pub fn random_request(signal: Signal, seed: u64) -> Request {
    let mut g = Gen::new(seed);
    let blocks = g.count(3);
    match signal {
        Signal::Traces => Request::Traces(ExportTraceServiceRequest {
            resource_spans: (0..blocks)
                .map(|_| ResourceSpans {
                    resource: g.resource(),
                    scope_spans: (0..g.count(2))
                        .map(|_| ScopeSpans {
                            scope: g.scope(),
                            spans: (0..g.count(4)).map(|_| g.span()).collect(),
                            schema_url: g.string(),
                        })
                        .collect(),
                    schema_url: g.string(),
                })
                .collect(),
        }),
        Signal::Metrics => Request::Metrics(ExportMetricsServiceRequest {
            resource_metrics: (0..blocks)
                .map(|_| ResourceMetrics {
                    resource: g.resource(),
                    scope_metrics: (0..g.count(2))
                        .map(|_| ScopeMetrics {
                            scope: g.scope(),
                            metrics: (0..g.count(4)).map(|_| g.metric()).collect(),
                            schema_url: String::new(),
                        })
                        .collect(),
                    schema_url: String::new(),
                })
                .collect(),
        }),
        Signal::Logs => Request::Logs(ExportLogsServiceRequest {
            resource_logs: (0..blocks)
                .map(|_| ResourceLogs {
                    resource: g.resource(),
                    scope_logs: (0..g.count(2))
                        .map(|_| ScopeLogs {
                            scope: g.scope(),
                            log_records: (0..g.count(4)).map(|_| g.log()).collect(),
                            schema_url: String::new(),
                        })
                        .collect(),
                    schema_url: String::new(),
                })
                .collect(),
        }),
    }
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(PValue { value: Some(v) }),
        key_strindex: 0,
    }
}

fn kv_str(key: &str, v: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.to_owned()))
}

/// Spans as a service instrumented with HTTP conventions sends them: 4
/// services (resources of 6 attributes), one scope each, spans of 10
/// attributes of mixed types (7 strings, 2 ints, a bool or a double), an
/// event on every 4th span, ids, end times and status.
pub fn realistic_traces(spans: usize, seed: u64) -> ExportTraceServiceRequest {
    use any_value::Value as V;
    const ROUTES: &[&str] = &[
        "/api/users/{id}",
        "/api/orders",
        "/api/orders/{id}/items",
        "/health",
        "/api/cart",
        "/api/search",
        "/login",
        "/api/products/{sku}",
    ];
    const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE"];
    let mut rng = fastrand::Rng::with_seed(seed);
    let services = 4;
    let resource_spans = (0..services)
        .map(|svc| {
            let resource = Resource {
                attributes: vec![
                    kv_str("service.name", &format!("service-{svc}")),
                    kv_str("service.version", "1.42.0"),
                    kv_str("host.name", &format!("ip-10-0-0-{svc}.ec2.internal")),
                    kv_str("k8s.pod.name", &format!("service-{svc}-7d9f8b6c5-x2x9k")),
                    kv_str("deployment.environment", "production"),
                    kv("process.pid", V::IntValue(4242 + svc as i64)),
                ],
                ..Default::default()
            };
            let n = spans / services + usize::from(svc < spans % services);
            let spans = (0..n)
                .map(|i| {
                    let route = *rng.choice(ROUTES).unwrap();
                    let method = *rng.choice(METHODS).unwrap();
                    let status = *rng.choice(&[200, 200, 200, 201, 404, 500]).unwrap();
                    let start = 1_700_000_000_000_000_000 + rng.u64(..1 << 36);
                    let mut attributes = vec![
                        kv_str("http.request.method", method),
                        kv_str("http.route", route),
                        kv_str(
                            "url.path",
                            &route.replace("{id}", &rng.u32(..100_000).to_string()),
                        ),
                        kv("http.response.status_code", V::IntValue(status)),
                        kv_str("server.address", "api.example.com"),
                        kv("server.port", V::IntValue(443)),
                        kv_str(
                            "user_agent.original",
                            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0",
                        ),
                        kv_str("network.protocol.version", "1.1"),
                        kv_str(
                            "client.address",
                            &format!("10.1.{}.{}", rng.u8(..), rng.u8(..)),
                        ),
                    ];
                    attributes.push(if i % 2 == 0 {
                        kv("error", V::BoolValue(status >= 500))
                    } else {
                        kv("app.cache_ratio", V::DoubleValue(rng.f64()))
                    });
                    let events = if i % 4 == 0 {
                        vec![span::Event {
                            time_unix_nano: start + 1000,
                            name: "exception".to_owned(),
                            attributes: vec![
                                kv_str("exception.type", "java.lang.IllegalStateException"),
                                kv_str("exception.message", "connection reset by peer"),
                            ],
                            dropped_attributes_count: 0,
                        }]
                    } else {
                        vec![]
                    };
                    Span {
                        trace_id: rng.u128(..).to_le_bytes().to_vec(),
                        span_id: rng.u64(..).to_le_bytes().to_vec(),
                        parent_span_id: rng.u64(..).to_le_bytes().to_vec(),
                        name: format!("{method} {route}"),
                        kind: 2,
                        start_time_unix_nano: start,
                        end_time_unix_nano: start + rng.u64(..1_000_000_000),
                        attributes,
                        events,
                        status: Some(Status {
                            message: String::new(),
                            code: if status >= 500 { 2 } else { 0 },
                        }),
                        ..Default::default()
                    }
                })
                .collect();
            ResourceSpans {
                resource: Some(resource),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "io.opentelemetry.tomcat-10.0".to_owned(),
                        version: "2.1.0-alpha".to_owned(),
                        ..Default::default()
                    }),
                    spans,
                    schema_url: "https://opentelemetry.io/schemas/1.24.0".to_owned(),
                }],
                schema_url: String::new(),
            }
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

// ---------------------------------------------------------------------------
// The official examples.

pub fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/otlp")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads an official OTLP/JSON example into prost types. Independent of the
/// decoders and strict: it panics on any field it does not know, so the
/// protobuf fixtures lose nothing.
pub fn example_request(json: &[u8]) -> Request {
    let doc: J = serde_json::from_slice(json).unwrap();
    let doc = fields(&doc, &["resourceSpans", "resourceMetrics", "resourceLogs"]);
    if let Some(rs) = doc.get("resourceSpans") {
        return Request::Traces(ExportTraceServiceRequest {
            resource_spans: items(rs)
                .map(|rs| {
                    let rs = fields(rs, &["resource", "scopeSpans", "schemaUrl"]);
                    ResourceSpans {
                        resource: rs.get("resource").map(ex_resource),
                        scope_spans: items_of(&rs, "scopeSpans")
                            .map(|ss| {
                                let ss = fields(ss, &["scope", "spans", "schemaUrl"]);
                                ScopeSpans {
                                    scope: ss.get("scope").map(ex_scope),
                                    spans: items_of(&ss, "spans").map(ex_span).collect(),
                                    schema_url: text(&ss, "schemaUrl"),
                                }
                            })
                            .collect(),
                        schema_url: text(&rs, "schemaUrl"),
                    }
                })
                .collect(),
        });
    }
    if let Some(rm) = doc.get("resourceMetrics") {
        return Request::Metrics(ExportMetricsServiceRequest {
            resource_metrics: items(rm)
                .map(|rm| {
                    let rm = fields(rm, &["resource", "scopeMetrics", "schemaUrl"]);
                    ResourceMetrics {
                        resource: rm.get("resource").map(ex_resource),
                        scope_metrics: items_of(&rm, "scopeMetrics")
                            .map(|sm| {
                                let sm = fields(sm, &["scope", "metrics", "schemaUrl"]);
                                ScopeMetrics {
                                    scope: sm.get("scope").map(ex_scope),
                                    metrics: items_of(&sm, "metrics").map(ex_metric).collect(),
                                    schema_url: text(&sm, "schemaUrl"),
                                }
                            })
                            .collect(),
                        schema_url: text(&rm, "schemaUrl"),
                    }
                })
                .collect(),
        });
    }
    let rl = doc.get("resourceLogs").expect("a resource key");
    Request::Logs(ExportLogsServiceRequest {
        resource_logs: items(rl)
            .map(|rl| {
                let rl = fields(rl, &["resource", "scopeLogs", "schemaUrl"]);
                ResourceLogs {
                    resource: rl.get("resource").map(ex_resource),
                    scope_logs: items_of(&rl, "scopeLogs")
                        .map(|sl| {
                            let sl = fields(sl, &["scope", "logRecords", "schemaUrl"]);
                            ScopeLogs {
                                scope: sl.get("scope").map(ex_scope),
                                log_records: items_of(&sl, "logRecords").map(ex_log).collect(),
                                schema_url: text(&sl, "schemaUrl"),
                            }
                        })
                        .collect(),
                    schema_url: text(&rl, "schemaUrl"),
                }
            })
            .collect(),
    })
}

type Fields<'j> = std::collections::HashMap<&'j str, &'j J>;

fn fields<'j>(v: &'j J, known: &[&str]) -> Fields<'j> {
    let obj = v.as_object().expect("an object");
    for k in obj.keys() {
        assert!(known.contains(&k.as_str()), "unknown field {k}");
    }
    obj.iter().map(|(k, v)| (k.as_str(), v)).collect()
}

fn items(v: &J) -> impl Iterator<Item = &J> {
    v.as_array().expect("an array").iter()
}

fn items_of<'j>(f: &Fields<'j>, key: &str) -> impl Iterator<Item = &'j J> + use<'j> {
    f.get(key)
        .map(|v| v.as_array().expect("an array").iter())
        .into_iter()
        .flatten()
}

fn text(f: &Fields<'_>, key: &str) -> String {
    f.get(key)
        .map(|v| v.as_str().expect("a string").to_owned())
        .unwrap_or_default()
}

fn num_u64(f: &Fields<'_>, key: &str) -> u64 {
    f.get(key).map_or(0, |v| match v {
        J::String(s) => s.parse().unwrap(),
        v => v.as_u64().unwrap(),
    })
}

fn num_f64(v: &J) -> f64 {
    v.as_f64().expect("a number")
}

fn num_i32(f: &Fields<'_>, key: &str) -> i32 {
    f.get(key).map_or(0, |v| v.as_i64().unwrap() as i32)
}

fn hex(f: &Fields<'_>, key: &str) -> Vec<u8> {
    let h = text(f, key);
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

fn ex_value(v: &J) -> PValue {
    use any_value::Value as V;
    let f = fields(
        v,
        &[
            "stringValue",
            "boolValue",
            "intValue",
            "doubleValue",
            "arrayValue",
            "kvlistValue",
            "bytesValue",
        ],
    );
    let value = f.iter().next().map(|(k, v)| match *k {
        "stringValue" => V::StringValue(v.as_str().unwrap().to_owned()),
        "boolValue" => V::BoolValue(v.as_bool().unwrap()),
        "intValue" => V::IntValue(match v {
            J::String(s) => s.parse().unwrap(),
            v => v.as_i64().unwrap(),
        }),
        "doubleValue" => V::DoubleValue(num_f64(v)),
        "arrayValue" => V::ArrayValue(ArrayValue {
            values: items_of(&fields(v, &["values"]), "values")
                .map(ex_value)
                .collect(),
        }),
        "kvlistValue" => V::KvlistValue(KeyValueList {
            values: items_of(&fields(v, &["values"]), "values")
                .map(ex_kv)
                .collect(),
        }),
        _ => unimplemented!("{k}"),
    });
    PValue { value }
}

fn ex_kv(v: &J) -> KeyValue {
    let f = fields(v, &["key", "value"]);
    KeyValue {
        key: text(&f, "key"),
        value: f.get("value").map(|v| ex_value(v)),
        key_strindex: 0,
    }
}

fn ex_attrs(f: &Fields<'_>) -> Vec<KeyValue> {
    items_of(f, "attributes").map(ex_kv).collect()
}

fn ex_resource(v: &&J) -> Resource {
    let f = fields(v, &["attributes"]);
    Resource {
        attributes: ex_attrs(&f),
        ..Default::default()
    }
}

fn ex_scope(v: &&J) -> InstrumentationScope {
    let f = fields(v, &["name", "version", "attributes"]);
    InstrumentationScope {
        name: text(&f, "name"),
        version: text(&f, "version"),
        attributes: ex_attrs(&f),
        dropped_attributes_count: 0,
    }
}

fn ex_span(v: &J) -> Span {
    let f = fields(
        v,
        &[
            "traceId",
            "spanId",
            "parentSpanId",
            "name",
            "startTimeUnixNano",
            "endTimeUnixNano",
            "kind",
            "attributes",
        ],
    );
    Span {
        trace_id: hex(&f, "traceId"),
        span_id: hex(&f, "spanId"),
        parent_span_id: hex(&f, "parentSpanId"),
        name: text(&f, "name"),
        kind: num_i32(&f, "kind"),
        start_time_unix_nano: num_u64(&f, "startTimeUnixNano"),
        end_time_unix_nano: num_u64(&f, "endTimeUnixNano"),
        attributes: ex_attrs(&f),
        ..Default::default()
    }
}

fn ex_number_point(v: &J) -> NumberDataPoint {
    let f = fields(
        v,
        &[
            "asDouble",
            "asInt",
            "startTimeUnixNano",
            "timeUnixNano",
            "attributes",
        ],
    );
    let value = if let Some(d) = f.get("asDouble") {
        Some(number_data_point::Value::AsDouble(num_f64(d)))
    } else {
        f.get("asInt")
            .map(|_| number_data_point::Value::AsInt(num_u64(&f, "asInt") as i64))
    };
    NumberDataPoint {
        attributes: ex_attrs(&f),
        start_time_unix_nano: num_u64(&f, "startTimeUnixNano"),
        time_unix_nano: num_u64(&f, "timeUnixNano"),
        value,
        ..Default::default()
    }
}

fn ex_metric(v: &J) -> Metric {
    use metric::Data;
    let f = fields(
        v,
        &[
            "name",
            "unit",
            "description",
            "sum",
            "gauge",
            "histogram",
            "exponentialHistogram",
        ],
    );
    let data = if let Some(d) = f.get("sum") {
        let d = fields(d, &["aggregationTemporality", "isMonotonic", "dataPoints"]);
        Data::Sum(Sum {
            data_points: items_of(&d, "dataPoints").map(ex_number_point).collect(),
            aggregation_temporality: num_i32(&d, "aggregationTemporality"),
            is_monotonic: d.get("isMonotonic").is_some_and(|b| b.as_bool().unwrap()),
        })
    } else if let Some(d) = f.get("gauge") {
        let d = fields(d, &["dataPoints"]);
        Data::Gauge(Gauge {
            data_points: items_of(&d, "dataPoints").map(ex_number_point).collect(),
        })
    } else if let Some(d) = f.get("histogram") {
        let d = fields(d, &["aggregationTemporality", "dataPoints"]);
        Data::Histogram(Histogram {
            data_points: items_of(&d, "dataPoints")
                .map(|p| {
                    let p = fields(
                        p,
                        &[
                            "startTimeUnixNano",
                            "timeUnixNano",
                            "count",
                            "sum",
                            "bucketCounts",
                            "explicitBounds",
                            "min",
                            "max",
                            "attributes",
                        ],
                    );
                    HistogramDataPoint {
                        attributes: ex_attrs(&p),
                        start_time_unix_nano: num_u64(&p, "startTimeUnixNano"),
                        time_unix_nano: num_u64(&p, "timeUnixNano"),
                        count: num_u64(&p, "count"),
                        sum: p.get("sum").map(|v| num_f64(v)),
                        bucket_counts: items_of(&p, "bucketCounts")
                            .map(|c| c.as_str().unwrap().parse().unwrap())
                            .collect(),
                        explicit_bounds: items_of(&p, "explicitBounds").map(num_f64).collect(),
                        min: p.get("min").map(|v| num_f64(v)),
                        max: p.get("max").map(|v| num_f64(v)),
                        ..Default::default()
                    }
                })
                .collect(),
            aggregation_temporality: num_i32(&d, "aggregationTemporality"),
        })
    } else {
        let d = f.get("exponentialHistogram").expect("a metric kind");
        let d = fields(d, &["aggregationTemporality", "dataPoints"]);
        Data::ExponentialHistogram(ExponentialHistogram {
            data_points: items_of(&d, "dataPoints")
                .map(|p| {
                    let p = fields(
                        p,
                        &[
                            "startTimeUnixNano",
                            "timeUnixNano",
                            "count",
                            "sum",
                            "scale",
                            "zeroCount",
                            "positive",
                            "min",
                            "max",
                            "zeroThreshold",
                            "attributes",
                        ],
                    );
                    let positive = p.get("positive").map(|b| {
                        let b = fields(b, &["offset", "bucketCounts"]);
                        Buckets {
                            offset: num_i32(&b, "offset"),
                            bucket_counts: items_of(&b, "bucketCounts")
                                .map(|c| c.as_str().unwrap().parse().unwrap())
                                .collect(),
                        }
                    });
                    ExponentialHistogramDataPoint {
                        attributes: ex_attrs(&p),
                        start_time_unix_nano: num_u64(&p, "startTimeUnixNano"),
                        time_unix_nano: num_u64(&p, "timeUnixNano"),
                        count: num_u64(&p, "count"),
                        sum: p.get("sum").map(|v| num_f64(v)),
                        scale: num_i32(&p, "scale"),
                        zero_count: num_u64(&p, "zeroCount"),
                        positive,
                        min: p.get("min").map(|v| num_f64(v)),
                        max: p.get("max").map(|v| num_f64(v)),
                        zero_threshold: p.get("zeroThreshold").map_or(0.0, |v| num_f64(v)),
                        ..Default::default()
                    }
                })
                .collect(),
            aggregation_temporality: num_i32(&d, "aggregationTemporality"),
        })
    };
    Metric {
        name: text(&f, "name"),
        description: text(&f, "description"),
        unit: text(&f, "unit"),
        metadata: vec![],
        data: Some(data),
    }
}

fn ex_log(v: &J) -> LogRecord {
    let f = fields(
        v,
        &[
            "timeUnixNano",
            "observedTimeUnixNano",
            "severityNumber",
            "severityText",
            "traceId",
            "spanId",
            "body",
            "attributes",
            "eventName",
        ],
    );
    LogRecord {
        time_unix_nano: num_u64(&f, "timeUnixNano"),
        observed_time_unix_nano: num_u64(&f, "observedTimeUnixNano"),
        severity_number: num_i32(&f, "severityNumber"),
        severity_text: text(&f, "severityText"),
        body: f.get("body").map(|v| ex_value(v)),
        attributes: ex_attrs(&f),
        trace_id: hex(&f, "traceId"),
        span_id: hex(&f, "spanId"),
        event_name: text(&f, "eventName"),
        ..Default::default()
    }
}
