//! OTLP/JSON encoding of a [`Batch`], following the OTLP/JSON rules of the
//! OTLP specification:
//!
//! - field names in lowerCamelCase (`resourceSpans`, `timeUnixNano`);
//! - 64-bit integers (`*UnixNano`, `intValue`, `asInt`, `count`,
//!   `zeroCount`, `bucketCounts`) as decimal strings; 32-bit ones
//!   (`flags`, `scale`, `offset`, `droppedAttributesCount`) as numbers;
//! - enums (`kind`, `code`, `severityNumber`, `aggregationTemporality`) as
//!   integers;
//! - `traceId` / `spanId` / `parentSpanId` as lower-case hex, not base64;
//! - doubles as JSON numbers (non-finite ones as `"NaN"`, `"Infinity"`,
//!   `"-Infinity"`);
//! - fields holding their default value (0, "", empty list, absent message)
//!   are omitted, as the protobuf JSON mapping allows; oneof members and
//!   `optional` fields are written when set.
//!
//! `--self-check` parses every document with serde_json, checks these rules,
//! and decodes it with opentelemetry-proto's serde support to the same
//! message as the protobuf frame.

use std::io::Write as _;

use crate::rec::{Attr, Batch, Kind, MKind, PVal, PointRec, Val};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A JSON object being written: tracks whether a comma is needed.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    #[inline]
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// Writes the separator and `"name":`; returns the buffer for the value.
    #[inline]
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

    #[inline]
    fn str(&mut self, name: &str, v: &str) {
        if !v.is_empty() {
            string(self.key(name), v);
        }
    }

    /// A 64-bit integer as a decimal string, omitted when 0.
    #[inline]
    fn u64s(&mut self, name: &str, v: u64) {
        if v != 0 {
            quoted_uint(self.key(name), v);
        }
    }

    /// A 32-bit integer or enum as a JSON number, omitted when 0.
    #[inline]
    fn num(&mut self, name: &str, v: i64) {
        if v != 0 {
            int(self.key(name), v);
        }
    }

    #[inline]
    fn dbl(&mut self, name: &str, v: f64) {
        double(self.key(name), v);
    }

    #[inline]
    fn hex(&mut self, name: &str, v: &[u8]) {
        let o = self.key(name);
        o.push(b'"');
        for b in v {
            o.push(HEX[(b >> 4) as usize]);
            o.push(HEX[(b & 15) as usize]);
        }
        o.push(b'"');
    }

    #[inline]
    fn attrs(&mut self, name: &str, b: &Batch, attrs: &[Attr]) {
        if !attrs.is_empty() {
            key_values(self.key(name), b, attrs);
        }
    }

    #[inline]
    fn end(self) {
        self.out.push(b'}');
    }
}

fn string(o: &mut Vec<u8>, s: &str) {
    o.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    // Most strings need no escape: one scan, one copy.
    while let Some(off) = bytes[start..]
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
    {
        let i = start + off;
        o.extend_from_slice(&bytes[start..i]);
        match bytes[i] {
            b'"' => o.extend_from_slice(b"\\\""),
            b'\\' => o.extend_from_slice(b"\\\\"),
            b'\n' => o.extend_from_slice(b"\\n"),
            b'\r' => o.extend_from_slice(b"\\r"),
            b'\t' => o.extend_from_slice(b"\\t"),
            b => {
                o.extend_from_slice(b"\\u00");
                o.push(HEX[(b >> 4) as usize]);
                o.push(HEX[(b & 15) as usize]);
            }
        }
        start = i + 1;
    }
    o.extend_from_slice(&bytes[start..]);
    o.push(b'"');
}

#[inline]
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

#[inline]
fn quoted_uint(o: &mut Vec<u8>, v: u64) {
    o.push(b'"');
    uint(o, v);
    o.push(b'"');
}

#[inline]
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
        // Display is the shortest round-trip form without exponent
        // notation: always a valid JSON number.
        let _ = write!(o, "{v}");
    }
}

fn any_value(o: &mut Vec<u8>, b: &Batch, v: &Val) {
    let mut obj = Obj::new(o);
    match *v {
        Val::Str(..) | Val::Lit(_) => string(obj.key("stringValue"), b.str_of(v)),
        Val::Bool(x) => obj
            .key("boolValue")
            .extend_from_slice(if x { b"true" } else { b"false" }),
        Val::Int(i) => {
            let o = obj.key("intValue");
            o.push(b'"');
            int(o, i);
            o.push(b'"');
        }
        Val::Double(d) => double(obj.key("doubleValue"), d),
        Val::Array(r) => {
            let mut inner = Obj::new(obj.key("arrayValue"));
            if r.len() > 0 {
                let o = inner.key("values");
                o.push(b'[');
                for (i, x) in b.vals[r.range()].iter().enumerate() {
                    if i > 0 {
                        o.push(b',');
                    }
                    any_value(o, b, x);
                }
                o.push(b']');
            }
            inner.end();
        }
        Val::Kvlist(r) => {
            let mut inner = Obj::new(obj.key("kvlistValue"));
            inner.attrs("values", b, b.attrs_of(r));
            inner.end();
        }
    }
    obj.end();
}

fn key_values(o: &mut Vec<u8>, b: &Batch, attrs: &[Attr]) {
    o.push(b'[');
    for (i, a) in attrs.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        // Keys are static identifiers: nothing to escape.
        debug_assert!(!a.key.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'));
        o.extend_from_slice(b"{\"key\":\"");
        o.extend_from_slice(a.key.as_bytes());
        o.extend_from_slice(b"\",\"value\":");
        any_value(o, b, &a.val);
        o.push(b'}');
    }
    o.push(b']');
}

/// Appends the OTLP/JSON encoding of `b`'s export request to `out` (no
/// trailing newline).
pub fn encode(b: &Batch, out: &mut Vec<u8>) {
    let (top, scopes_field, records_field) = match b.kind {
        Kind::Traces => ("resourceSpans", "scopeSpans", "spans"),
        Kind::Metrics => ("resourceMetrics", "scopeMetrics", "metrics"),
        Kind::Logs => ("resourceLogs", "scopeLogs", "logRecords"),
    };
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(top.as_bytes());
    out.extend_from_slice(b"\":[");
    let mut rs = Obj::new(out);
    {
        let mut res = Obj::new(rs.key("resource"));
        res.attrs("attributes", b, b.attrs_of(b.resource));
        res.end();
    }
    let o = rs.key(scopes_field);
    o.push(b'[');
    for (si, &(name, version)) in b.scopes.iter().enumerate() {
        if si > 0 {
            o.push(b',');
        }
        let mut ss = Obj::new(o);
        {
            let mut sc = Obj::new(ss.key("scope"));
            sc.str("name", name);
            sc.str("version", version);
            sc.end();
        }
        let o = ss.key(records_field);
        o.push(b'[');
        let si = si as u8;
        let mut first = true;
        let mut sep = |o: &mut Vec<u8>| {
            if !first {
                o.push(b',');
            }
            first = false;
        };
        match b.kind {
            Kind::Traces => {
                for i in 0..b.spans.len() {
                    if b.spans[i].scope == si {
                        sep(o);
                        span(o, b, i);
                    }
                }
            }
            Kind::Metrics => {
                for i in 0..b.metrics.len() {
                    if b.metrics[i].scope == si {
                        sep(o);
                        metric(o, b, i);
                    }
                }
            }
            Kind::Logs => {
                for i in 0..b.logs.len() {
                    if b.logs[i].scope == si {
                        sep(o);
                        log(o, b, i);
                    }
                }
            }
        }
        o.push(b']');
        ss.str("schemaUrl", b.scope_schema);
        ss.end();
    }
    o.push(b']');
    rs.str("schemaUrl", b.resource_schema);
    rs.end();
    out.extend_from_slice(b"]}");
}

fn span(o: &mut Vec<u8>, b: &Batch, i: usize) {
    let sp = &b.spans[i];
    let mut obj = Obj::new(o);
    obj.hex("traceId", &sp.trace_id);
    obj.hex("spanId", &sp.span_id);
    if let Some(p) = &sp.parent {
        obj.hex("parentSpanId", p);
    }
    obj.num("flags", sp.flags as i64);
    obj.str("name", b.str_of(&sp.name));
    obj.num("kind", sp.kind as i64);
    obj.u64s("startTimeUnixNano", sp.start);
    obj.u64s("endTimeUnixNano", sp.end);
    obj.attrs("attributes", b, b.attrs_of(sp.attrs));
    if sp.events.len() > 0 {
        let o = obj.key("events");
        o.push(b'[');
        for (k, ev) in b.events[sp.events.range()].iter().enumerate() {
            if k > 0 {
                o.push(b',');
            }
            let mut e = Obj::new(o);
            e.u64s("timeUnixNano", ev.time);
            e.str("name", ev.name);
            e.attrs("attributes", b, b.attrs_of(ev.attrs));
            e.end();
        }
        o.push(b']');
    }
    if sp.links.len() > 0 {
        let o = obj.key("links");
        o.push(b'[');
        for (k, l) in b.links[sp.links.range()].iter().enumerate() {
            if k > 0 {
                o.push(b',');
            }
            let mut e = Obj::new(o);
            e.hex("traceId", &l.trace_id);
            e.hex("spanId", &l.span_id);
            e.attrs("attributes", b, b.attrs_of(l.attrs));
            e.num("flags", l.flags as i64);
            e.end();
        }
        o.push(b']');
    }
    if let Some((code, msg)) = sp.status {
        let mut st = Obj::new(obj.key("status"));
        st.str("message", msg);
        st.num("code", code as i64);
        st.end();
    }
    obj.end();
}

fn log(o: &mut Vec<u8>, b: &Batch, i: usize) {
    let l = &b.logs[i];
    let mut obj = Obj::new(o);
    obj.u64s("timeUnixNano", l.time);
    obj.u64s("observedTimeUnixNano", l.observed);
    obj.num("severityNumber", l.severity as i64);
    obj.str("severityText", l.severity_text);
    if !l.event_name.is_empty() {
        obj.str("eventName", l.event_name);
    }
    if let Some(body) = &l.body {
        any_value(obj.key("body"), b, body);
    }
    obj.attrs("attributes", b, b.attrs_of(l.attrs));
    obj.num("flags", l.flags as i64);
    if let Some((t, s)) = &l.trace {
        obj.hex("traceId", t);
        obj.hex("spanId", s);
    }
    obj.end();
}

fn metric(o: &mut Vec<u8>, b: &Batch, i: usize) {
    let m = &b.metrics[i];
    let mut obj = Obj::new(o);
    obj.str("name", m.name);
    obj.str("description", m.description);
    obj.str("unit", m.unit);
    let (field, temporality, monotonic) = match m.kind {
        MKind::Gauge => ("gauge", 0, false),
        MKind::Sum {
            temporality,
            monotonic,
        } => ("sum", temporality, monotonic),
        MKind::Histogram { temporality } => ("histogram", temporality, false),
        MKind::Exp { temporality } => ("exponentialHistogram", temporality, false),
        MKind::Summary => ("summary", 0, false),
    };
    let mut data = Obj::new(obj.key(field));
    let o = data.key("dataPoints");
    o.push(b'[');
    for (k, p) in b.points[m.points.range()].iter().enumerate() {
        if k > 0 {
            o.push(b',');
        }
        point(o, b, p);
    }
    o.push(b']');
    data.num("aggregationTemporality", temporality as i64);
    if monotonic {
        data.key("isMonotonic").extend_from_slice(b"true");
    }
    data.end();
    obj.end();
}

fn point(o: &mut Vec<u8>, b: &Batch, p: &PointRec) {
    let mut obj = Obj::new(o);
    obj.attrs("attributes", b, b.attrs_of(p.attrs));
    obj.u64s("startTimeUnixNano", p.start);
    obj.u64s("timeUnixNano", p.time);
    match p.val {
        PVal::Double(d) => obj.dbl("asDouble", d),
        PVal::Int(i) => {
            let o = obj.key("asInt");
            o.push(b'"');
            int(o, i);
            o.push(b'"');
        }
        PVal::Hist {
            count,
            sum,
            buckets,
            bounds,
            min,
            max,
        } => {
            obj.u64s("count", count);
            obj.dbl("sum", sum);
            counts(obj.key("bucketCounts"), &b.u64s[buckets.range()]);
            let o = obj.key("explicitBounds");
            o.push(b'[');
            for (k, x) in bounds.iter().enumerate() {
                if k > 0 {
                    o.push(b',');
                }
                double(o, *x);
            }
            o.push(b']');
            obj.dbl("min", min);
            obj.dbl("max", max);
        }
        PVal::Exp {
            count,
            sum,
            scale,
            zero_count,
            offset,
            buckets,
            min,
            max,
        } => {
            obj.u64s("count", count);
            obj.dbl("sum", sum);
            obj.num("scale", scale as i64);
            obj.u64s("zeroCount", zero_count);
            let mut pos = Obj::new(obj.key("positive"));
            pos.num("offset", offset as i64);
            counts(pos.key("bucketCounts"), &b.u64s[buckets.range()]);
            pos.end();
            obj.dbl("min", min);
            obj.dbl("max", max);
        }
        PVal::Summary {
            count,
            sum,
            quantiles,
        } => {
            obj.u64s("count", count);
            if sum != 0.0 {
                obj.dbl("sum", sum);
            }
            let o = obj.key("quantileValues");
            o.push(b'[');
            for (k, (q, v)) in quantiles.iter().enumerate() {
                if k > 0 {
                    o.push(b',');
                }
                let mut e = Obj::new(o);
                if *q != 0.0 {
                    e.dbl("quantile", *q);
                }
                if *v != 0.0 {
                    e.dbl("value", *v);
                }
                e.end();
            }
            o.push(b']');
        }
    }
    if let Some(e) = &p.exemplar {
        let o = obj.key("exemplars");
        o.push(b'[');
        let mut x = Obj::new(o);
        x.u64s("timeUnixNano", e.time);
        x.dbl("asDouble", e.value);
        x.hex("spanId", &e.span_id);
        x.hex("traceId", &e.trace_id);
        x.end();
        o.push(b']');
    }
    obj.end();
}

fn counts(o: &mut Vec<u8>, xs: &[u64]) {
    o.push(b'[');
    for (k, &c) in xs.iter().enumerate() {
        if k > 0 {
            o.push(b',');
        }
        quoted_uint(o, c);
    }
    o.push(b']');
}
