//! OTLP/JSON encoding, written by hand from the prost messages (faster than
//! going through serde, and exactly the spec's mapping):
//!
//! - field names in lowerCamelCase (`resourceSpans`, `timeUnixNano`);
//! - 64-bit integers (`*UnixNano`, `intValue`, `asInt`, `count`,
//!   `zeroCount`, `bucketCounts`) as decimal strings; 32-bit ones
//!   (`droppedAttributesCount`, `flags`, `scale`, `offset`) as numbers;
//! - enums (`kind`, `code`, `severityNumber`, `aggregationTemporality`) as
//!   integers;
//! - `traceId` / `spanId` / `parentSpanId` as lower-case hex, never base64;
//! - `bytesValue` as standard base64 with padding;
//! - doubles as JSON numbers, non-finite ones as `"NaN"`, `"Infinity"`,
//!   `"-Infinity"`;
//! - fields holding their default value (0, "", empty list, absent message)
//!   are omitted, as the protobuf JSON mapping allows.

use std::io::Write as _;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, Metric, exemplar, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// A JSON object being written: tracks whether a comma is needed.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// Writes the separator and `"name":`, returns the buffer for the value.
    fn key(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn str(&mut self, name: &str, v: &str) {
        if !v.is_empty() {
            let o = self.key(name);
            string(o, v);
        }
    }

    /// A 64-bit unsigned integer as a decimal string.
    fn u64s(&mut self, name: &str, v: u64) {
        if v != 0 {
            let o = self.key(name);
            o.push(b'"');
            uint(o, v);
            o.push(b'"');
        }
    }

    /// A 32-bit integer (or enum) as a JSON number.
    fn i32n(&mut self, name: &str, v: i64) {
        if v != 0 {
            let o = self.key(name);
            int(o, v);
        }
    }

    fn f64n(&mut self, name: &str, v: f64) {
        if v != 0.0 {
            let o = self.key(name);
            double(o, v);
        }
    }

    fn opt_f64(&mut self, name: &str, v: Option<f64>) {
        if let Some(v) = v {
            let o = self.key(name);
            double(o, v);
        }
    }

    fn boolean(&mut self, name: &str, v: bool) {
        if v {
            self.key(name).extend_from_slice(b"true");
        }
    }

    fn hex(&mut self, name: &str, v: &[u8]) {
        if !v.is_empty() {
            let o = self.key(name);
            o.push(b'"');
            for b in v {
                o.push(HEX[(b >> 4) as usize]);
                o.push(HEX[(b & 15) as usize]);
            }
            o.push(b'"');
        }
    }

    fn attrs(&mut self, name: &str, kvs: &[KeyValue]) {
        if !kvs.is_empty() {
            let o = self.key(name);
            key_values(o, kvs);
        }
    }

    /// A non-empty list, each element written by `f`.
    fn list<T>(&mut self, name: &str, items: &[T], mut f: impl FnMut(&mut Vec<u8>, &T)) {
        if items.is_empty() {
            return;
        }
        let o = self.key(name);
        o.push(b'[');
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            f(o, x);
        }
        o.push(b']');
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn string(o: &mut Vec<u8>, s: &str) {
    o.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        o.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            o.extend_from_slice(b"\\u00");
            o.push(HEX[(b >> 4) as usize]);
            o.push(HEX[(b & 15) as usize]);
        } else {
            o.extend_from_slice(esc);
        }
        start = i + 1;
    }
    o.extend_from_slice(&bytes[start..]);
    o.push(b'"');
}

fn uint(o: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    o.extend_from_slice(&buf[i..]);
}

fn int(o: &mut Vec<u8>, v: i64) {
    if v < 0 {
        o.push(b'-');
    }
    uint(o, v.unsigned_abs());
}

fn double(o: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        o.extend_from_slice(b"\"NaN\"");
    } else if v.is_infinite() {
        o.extend_from_slice(if v > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        // Rust's Display is the shortest round-trip form, never exponent
        // notation: always a valid JSON number.
        let _ = write!(o, "{v}");
    }
}

fn base64(o: &mut Vec<u8>, data: &[u8]) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        o.push(T[(n >> 18) as usize & 63]);
        o.push(T[(n >> 12) as usize & 63]);
        o.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        o.push(if c.len() > 2 {
            T[n as usize & 63]
        } else {
            b'='
        });
    }
}

fn any_value(o: &mut Vec<u8>, v: &AnyValue) {
    let mut obj = Obj::new(o);
    match &v.value {
        None | Some(Value::StringValueStrindex(_)) => {}
        Some(Value::StringValue(s)) => {
            let o = obj.key("stringValue");
            string(o, s);
        }
        Some(Value::BoolValue(b)) => {
            obj.key("boolValue")
                .extend_from_slice(if *b { b"true" } else { b"false" });
        }
        Some(Value::IntValue(i)) => {
            let o = obj.key("intValue");
            o.push(b'"');
            int(o, *i);
            o.push(b'"');
        }
        Some(Value::DoubleValue(d)) => {
            let o = obj.key("doubleValue");
            double(o, *d);
        }
        Some(Value::BytesValue(b)) => {
            let o = obj.key("bytesValue");
            o.push(b'"');
            base64(o, b);
            o.push(b'"');
        }
        Some(Value::ArrayValue(a)) => {
            let o = obj.key("arrayValue");
            let mut inner = Obj::new(o);
            inner.list("values", &a.values, any_value);
            inner.end();
        }
        Some(Value::KvlistValue(l)) => {
            let o = obj.key("kvlistValue");
            let mut inner = Obj::new(o);
            inner.attrs("values", &l.values);
            inner.end();
        }
    }
    obj.end();
}

fn key_values(o: &mut Vec<u8>, kvs: &[KeyValue]) {
    o.push(b'[');
    for (i, kv) in kvs.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        let mut obj = Obj::new(o);
        obj.str("key", &kv.key);
        if let Some(v) = &kv.value {
            let o = obj.key("value");
            any_value(o, v);
        }
        obj.end();
    }
    o.push(b']');
}

fn resource(o: &mut Vec<u8>, r: &Resource) {
    let mut obj = Obj::new(o);
    obj.attrs("attributes", &r.attributes);
    obj.i32n("droppedAttributesCount", r.dropped_attributes_count as i64);
    obj.end();
}

fn scope(o: &mut Vec<u8>, s: &InstrumentationScope) {
    let mut obj = Obj::new(o);
    obj.str("name", &s.name);
    obj.str("version", &s.version);
    obj.attrs("attributes", &s.attributes);
    obj.i32n("droppedAttributesCount", s.dropped_attributes_count as i64);
    obj.end();
}

/// Writes `ExportTraceServiceRequest` as OTLP/JSON.
pub fn traces(r: &ExportTraceServiceRequest, o: &mut Vec<u8>) {
    let mut root = Obj::new(o);
    root.list("resourceSpans", &r.resource_spans, |o, rs| {
        let mut obj = Obj::new(o);
        if let Some(res) = &rs.resource {
            resource(obj.key("resource"), res);
        }
        obj.list("scopeSpans", &rs.scope_spans, |o, ss| {
            let mut obj = Obj::new(o);
            if let Some(s) = &ss.scope {
                scope(obj.key("scope"), s);
            }
            obj.list("spans", &ss.spans, |o, sp| {
                let mut obj = Obj::new(o);
                obj.hex("traceId", &sp.trace_id);
                obj.hex("spanId", &sp.span_id);
                obj.str("traceState", &sp.trace_state);
                obj.hex("parentSpanId", &sp.parent_span_id);
                obj.i32n("flags", sp.flags as i64);
                obj.str("name", &sp.name);
                obj.i32n("kind", sp.kind as i64);
                obj.u64s("startTimeUnixNano", sp.start_time_unix_nano);
                obj.u64s("endTimeUnixNano", sp.end_time_unix_nano);
                obj.attrs("attributes", &sp.attributes);
                obj.i32n("droppedAttributesCount", sp.dropped_attributes_count as i64);
                obj.list("events", &sp.events, |o, ev| {
                    let mut obj = Obj::new(o);
                    obj.u64s("timeUnixNano", ev.time_unix_nano);
                    obj.str("name", &ev.name);
                    obj.attrs("attributes", &ev.attributes);
                    obj.i32n("droppedAttributesCount", ev.dropped_attributes_count as i64);
                    obj.end();
                });
                obj.i32n("droppedEventsCount", sp.dropped_events_count as i64);
                obj.list("links", &sp.links, |o, l| {
                    let mut obj = Obj::new(o);
                    obj.hex("traceId", &l.trace_id);
                    obj.hex("spanId", &l.span_id);
                    obj.str("traceState", &l.trace_state);
                    obj.attrs("attributes", &l.attributes);
                    obj.i32n("droppedAttributesCount", l.dropped_attributes_count as i64);
                    obj.i32n("flags", l.flags as i64);
                    obj.end();
                });
                obj.i32n("droppedLinksCount", sp.dropped_links_count as i64);
                if let Some(st) = &sp.status {
                    let mut s = Obj::new(obj.key("status"));
                    s.str("message", &st.message);
                    s.i32n("code", st.code as i64);
                    s.end();
                }
                obj.end();
            });
            obj.str("schemaUrl", &ss.schema_url);
            obj.end();
        });
        obj.str("schemaUrl", &rs.schema_url);
        obj.end();
    });
    root.end();
}

/// Writes `ExportLogsServiceRequest` as OTLP/JSON.
pub fn logs(r: &ExportLogsServiceRequest, o: &mut Vec<u8>) {
    let mut root = Obj::new(o);
    root.list("resourceLogs", &r.resource_logs, |o, rl| {
        let mut obj = Obj::new(o);
        if let Some(res) = &rl.resource {
            resource(obj.key("resource"), res);
        }
        obj.list("scopeLogs", &rl.scope_logs, |o, sl| {
            let mut obj = Obj::new(o);
            if let Some(s) = &sl.scope {
                scope(obj.key("scope"), s);
            }
            obj.list("logRecords", &sl.log_records, |o, lr| {
                let mut obj = Obj::new(o);
                obj.u64s("timeUnixNano", lr.time_unix_nano);
                obj.u64s("observedTimeUnixNano", lr.observed_time_unix_nano);
                obj.i32n("severityNumber", lr.severity_number as i64);
                obj.str("severityText", &lr.severity_text);
                if let Some(b) = &lr.body {
                    any_value(obj.key("body"), b);
                }
                obj.attrs("attributes", &lr.attributes);
                obj.i32n("droppedAttributesCount", lr.dropped_attributes_count as i64);
                obj.i32n("flags", lr.flags as i64);
                obj.hex("traceId", &lr.trace_id);
                obj.hex("spanId", &lr.span_id);
                obj.str("eventName", &lr.event_name);
                obj.end();
            });
            obj.str("schemaUrl", &sl.schema_url);
            obj.end();
        });
        obj.str("schemaUrl", &rl.schema_url);
        obj.end();
    });
    root.end();
}

/// Writes `ExportMetricsServiceRequest` as OTLP/JSON.
pub fn metrics(r: &ExportMetricsServiceRequest, o: &mut Vec<u8>) {
    let mut root = Obj::new(o);
    root.list("resourceMetrics", &r.resource_metrics, |o, rm| {
        let mut obj = Obj::new(o);
        if let Some(res) = &rm.resource {
            resource(obj.key("resource"), res);
        }
        obj.list("scopeMetrics", &rm.scope_metrics, |o, sm| {
            let mut obj = Obj::new(o);
            if let Some(s) = &sm.scope {
                scope(obj.key("scope"), s);
            }
            obj.list("metrics", &sm.metrics, metric);
            obj.str("schemaUrl", &sm.schema_url);
            obj.end();
        });
        obj.str("schemaUrl", &rm.schema_url);
        obj.end();
    });
    root.end();
}

fn metric(o: &mut Vec<u8>, m: &Metric) {
    let mut obj = Obj::new(o);
    obj.str("name", &m.name);
    obj.str("description", &m.description);
    obj.str("unit", &m.unit);
    match &m.data {
        None => {}
        Some(Data::Gauge(g)) => {
            let mut d = Obj::new(obj.key("gauge"));
            d.list("dataPoints", &g.data_points, number_point);
            d.end();
        }
        Some(Data::Sum(s)) => {
            let mut d = Obj::new(obj.key("sum"));
            d.list("dataPoints", &s.data_points, number_point);
            d.i32n("aggregationTemporality", s.aggregation_temporality as i64);
            d.boolean("isMonotonic", s.is_monotonic);
            d.end();
        }
        Some(Data::Histogram(h)) => {
            let mut d = Obj::new(obj.key("histogram"));
            d.list("dataPoints", &h.data_points, |o, p| {
                let mut obj = Obj::new(o);
                obj.attrs("attributes", &p.attributes);
                obj.u64s("startTimeUnixNano", p.start_time_unix_nano);
                obj.u64s("timeUnixNano", p.time_unix_nano);
                obj.u64s("count", p.count);
                obj.opt_f64("sum", p.sum);
                obj.list("bucketCounts", &p.bucket_counts, |o, c| {
                    o.push(b'"');
                    uint(o, *c);
                    o.push(b'"');
                });
                obj.list("explicitBounds", &p.explicit_bounds, |o, b| double(o, *b));
                obj.list("exemplars", &p.exemplars, exemplar_json);
                obj.i32n("flags", p.flags as i64);
                obj.opt_f64("min", p.min);
                obj.opt_f64("max", p.max);
                obj.end();
            });
            d.i32n("aggregationTemporality", h.aggregation_temporality as i64);
            d.end();
        }
        Some(Data::ExponentialHistogram(h)) => {
            let mut d = Obj::new(obj.key("exponentialHistogram"));
            d.list("dataPoints", &h.data_points, |o, p| {
                let mut obj = Obj::new(o);
                obj.attrs("attributes", &p.attributes);
                obj.u64s("startTimeUnixNano", p.start_time_unix_nano);
                obj.u64s("timeUnixNano", p.time_unix_nano);
                obj.u64s("count", p.count);
                obj.opt_f64("sum", p.sum);
                obj.i32n("scale", p.scale as i64);
                obj.u64s("zeroCount", p.zero_count);
                for (name, b) in [("positive", &p.positive), ("negative", &p.negative)] {
                    if let Some(b) = b {
                        let mut bo = Obj::new(obj.key(name));
                        bo.i32n("offset", b.offset as i64);
                        bo.list("bucketCounts", &b.bucket_counts, |o, c| {
                            o.push(b'"');
                            uint(o, *c);
                            o.push(b'"');
                        });
                        bo.end();
                    }
                }
                obj.i32n("flags", p.flags as i64);
                obj.list("exemplars", &p.exemplars, exemplar_json);
                obj.opt_f64("min", p.min);
                obj.opt_f64("max", p.max);
                obj.f64n("zeroThreshold", p.zero_threshold);
                obj.end();
            });
            d.i32n("aggregationTemporality", h.aggregation_temporality as i64);
            d.end();
        }
        Some(Data::Summary(s)) => {
            let mut d = Obj::new(obj.key("summary"));
            d.list("dataPoints", &s.data_points, |o, p| {
                let mut obj = Obj::new(o);
                obj.attrs("attributes", &p.attributes);
                obj.u64s("startTimeUnixNano", p.start_time_unix_nano);
                obj.u64s("timeUnixNano", p.time_unix_nano);
                obj.u64s("count", p.count);
                obj.f64n("sum", p.sum);
                obj.list("quantileValues", &p.quantile_values, |o, q| {
                    let mut obj = Obj::new(o);
                    obj.f64n("quantile", q.quantile);
                    obj.f64n("value", q.value);
                    obj.end();
                });
                obj.i32n("flags", p.flags as i64);
                obj.end();
            });
            d.end();
        }
    }
    obj.attrs("metadata", &m.metadata);
    obj.end();
}

fn number_point(o: &mut Vec<u8>, p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint) {
    let mut obj = Obj::new(o);
    obj.attrs("attributes", &p.attributes);
    obj.u64s("startTimeUnixNano", p.start_time_unix_nano);
    obj.u64s("timeUnixNano", p.time_unix_nano);
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => double(obj.key("asDouble"), d),
        Some(number_data_point::Value::AsInt(i)) => {
            let o = obj.key("asInt");
            o.push(b'"');
            int(o, i);
            o.push(b'"');
        }
        None => {}
    }
    obj.list("exemplars", &p.exemplars, exemplar_json);
    obj.i32n("flags", p.flags as i64);
    obj.end();
}

fn exemplar_json(o: &mut Vec<u8>, e: &Exemplar) {
    let mut obj = Obj::new(o);
    obj.attrs("filteredAttributes", &e.filtered_attributes);
    obj.u64s("timeUnixNano", e.time_unix_nano);
    match e.value {
        Some(exemplar::Value::AsDouble(d)) => double(obj.key("asDouble"), d),
        Some(exemplar::Value::AsInt(i)) => {
            let o = obj.key("asInt");
            o.push(b'"');
            int(o, i);
            o.push(b'"');
        }
        None => {}
    }
    obj.hex("spanId", &e.span_id);
    obj.hex("traceId", &e.trace_id);
    obj.end();
}
