//! OTLP/protobuf encoding of a [`Batch`], byte-identical to what prost's
//! `encode_to_vec` gives for the same message (`--self-check` decodes every
//! frame with prost and compares the re-encoding): fields in tag order,
//! proto3 defaults omitted, oneof members and `optional` fields written when
//! set, minimal varints.
//!
//! Nested messages are written in one pass: a one-byte length placeholder,
//! then the body, then the length; a body of 128 bytes or more is shifted
//! right to make room for its longer varint (cheap: each byte moves a few
//! times at most, against prost computing nested lengths at every level).

use crate::rec::{Attr, Batch, Kind, LinkRec, MKind, PVal, PointRec, Val};

const VARINT: u32 = 0;
const I64: u32 = 1;
const LEN: u32 = 2;
const I32: u32 = 5;

struct W<'a> {
    out: &'a mut Vec<u8>,
}

impl W<'_> {
    #[inline]
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    #[inline]
    fn key(&mut self, tag: u32, wire: u32) {
        self.varint(((tag << 3) | wire) as u64);
    }

    /// Starts a length-delimited field whose body is expected to be under
    /// 128 bytes; returns the body start for [`W::end`].
    #[inline]
    fn begin(&mut self, tag: u32) -> usize {
        self.begin_r(tag, 1)
    }

    /// Starts a length-delimited field, reserving `r` bytes for its length
    /// varint (2 for bodies of 128 B..16 KiB, 3 up to 2 MiB).
    #[inline]
    fn begin_r(&mut self, tag: u32, r: usize) -> usize {
        self.key(tag, LEN);
        self.out.resize(self.out.len() + r, 0);
        self.out.len()
    }

    #[inline]
    fn end(&mut self, start: usize) {
        self.end_r(start, 1);
    }

    /// Ends the field started at `start` with `r` reserved bytes: writes its
    /// length varint, moving the body when the varint is not `r` bytes long.
    #[inline]
    fn end_r(&mut self, start: usize, r: usize) {
        let len = self.out.len() - start;
        let n = varint_len(len as u64);
        if n != r {
            let end = self.out.len();
            if n > r {
                self.out.resize(end + n - r, 0);
                self.out.copy_within(start..end, start + n - r);
            } else {
                self.out.copy_within(start..end, start - (r - n));
                self.out.truncate(end - (r - n));
            }
        }
        let mut v = len;
        let at = start - r;
        for i in 0..n {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            self.out[at + i] = if i + 1 < n { b | 0x80 } else { b };
        }
    }

    #[inline]
    fn bytes(&mut self, tag: u32, b: &[u8]) {
        if !b.is_empty() {
            self.key(tag, LEN);
            self.varint(b.len() as u64);
            self.out.extend_from_slice(b);
        }
    }

    /// A string field, omitted when empty.
    #[inline]
    fn str(&mut self, tag: u32, s: &str) {
        self.bytes(tag, s.as_bytes());
    }

    /// A uint32/enum/int64 varint field, omitted when 0.
    #[inline]
    fn uvar(&mut self, tag: u32, v: u64) {
        if v != 0 {
            self.key(tag, VARINT);
            self.varint(v);
        }
    }

    #[inline]
    fn fixed64(&mut self, tag: u32, v: u64) {
        if v != 0 {
            self.key(tag, I64);
            self.out.extend_from_slice(&v.to_le_bytes());
        }
    }

    #[inline]
    fn fixed32(&mut self, tag: u32, v: u32) {
        if v != 0 {
            self.key(tag, I32);
            self.out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// A double field written even when 0 (oneof members, `optional`).
    #[inline]
    fn double_always(&mut self, tag: u32, v: f64) {
        self.key(tag, I64);
        self.out.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    #[inline]
    fn double(&mut self, tag: u32, v: f64) {
        if v.to_bits() != 0 {
            self.double_always(tag, v);
        }
    }

    fn any_value(&mut self, b: &Batch, v: &Val) {
        match *v {
            Val::Str(..) | Val::Lit(_) => {
                // Oneof member: written even when empty.
                let s = b.str_of(v);
                self.key(1, LEN);
                self.varint(s.len() as u64);
                self.out.extend_from_slice(s.as_bytes());
            }
            Val::Bool(x) => {
                self.key(2, VARINT);
                self.out.push(x as u8);
            }
            Val::Int(i) => {
                self.key(3, VARINT);
                self.varint(i as u64);
            }
            Val::Double(d) => self.double_always(4, d),
            Val::Array(r) => {
                let s = self.begin(5);
                for x in &b.vals[r.range()] {
                    let e = self.begin(1);
                    self.any_value(b, x);
                    self.end(e);
                }
                self.end(s);
            }
            Val::Kvlist(r) => {
                let s = self.begin(6);
                self.attrs(b, 1, b.attrs_of(r));
                self.end(s);
            }
        }
    }

    /// A repeated KeyValue field. Scalar values take a fast path whose
    /// lengths are computed up front (no placeholder to patch).
    fn attrs(&mut self, b: &Batch, tag: u32, attrs: &[Attr]) {
        for a in attrs {
            let key = a.key.as_bytes();
            // AnyValue body length and how to write it.
            let (any_len, scalar) = match a.val {
                Val::Str(..) | Val::Lit(_) => {
                    let n = b.str_of(&a.val).len();
                    (1 + varint_len(n as u64) + n, true)
                }
                Val::Bool(_) => (2, true),
                Val::Int(i) => (1 + varint_len(i as u64), true),
                Val::Double(_) => (9, true),
                Val::Array(_) | Val::Kvlist(_) => (0, false),
            };
            if !scalar {
                let s = self.begin_r(tag, 2);
                self.str(1, a.key);
                let v = self.begin_r(2, 2);
                self.any_value(b, &a.val);
                self.end_r(v, 2);
                self.end_r(s, 2);
                continue;
            }
            let kv_len = 1
                + varint_len(key.len() as u64)
                + key.len()
                + 1
                + varint_len(any_len as u64)
                + any_len;
            self.key(tag, LEN);
            self.varint(kv_len as u64);
            self.out.push(0x0a);
            self.varint(key.len() as u64);
            self.out.extend_from_slice(key);
            self.out.push(0x12);
            self.varint(any_len as u64);
            self.any_value(b, &a.val);
        }
    }

    fn resource(&mut self, b: &Batch) {
        let s = self.begin_r(1, 2);
        self.attrs(b, 1, b.attrs_of(b.resource));
        self.end_r(s, 2);
    }

    fn scope(&mut self, b: &Batch, i: usize) {
        let (name, version) = b.scopes[i];
        let s = self.begin(1);
        self.str(1, name);
        self.str(2, version);
        self.end(s);
    }

    fn span(&mut self, b: &Batch, i: usize) {
        let sp = &b.spans[i];
        let s = self.begin_r(2, 2);
        self.bytes(1, &sp.trace_id);
        self.bytes(2, &sp.span_id);
        if let Some(p) = &sp.parent {
            self.bytes(4, p);
        }
        self.str(5, b.str_of(&sp.name));
        self.uvar(6, sp.kind as u64);
        self.fixed64(7, sp.start);
        self.fixed64(8, sp.end);
        self.attrs(b, 9, b.attrs_of(sp.attrs));
        for ev in &b.events[sp.events.range()] {
            let e = self.begin(11);
            self.fixed64(1, ev.time);
            self.str(2, ev.name);
            self.attrs(b, 3, b.attrs_of(ev.attrs));
            self.end(e);
        }
        for l in &b.links[sp.links.range()] {
            self.link(b, l);
        }
        if let Some((code, msg)) = sp.status {
            let st = self.begin(15);
            self.str(2, msg);
            self.uvar(3, code as u64);
            self.end(st);
        }
        self.fixed32(16, sp.flags);
        self.end_r(s, 2);
    }

    fn link(&mut self, b: &Batch, l: &LinkRec) {
        let s = self.begin(13);
        self.bytes(1, &l.trace_id);
        self.bytes(2, &l.span_id);
        self.attrs(b, 4, b.attrs_of(l.attrs));
        self.fixed32(6, l.flags);
        self.end(s);
    }

    fn metric(&mut self, b: &Batch, i: usize) {
        let m = &b.metrics[i];
        let s = self.begin_r(2, 2);
        self.str(1, m.name);
        self.str(2, m.description);
        self.str(3, m.unit);
        let (tag, temporality, monotonic) = match m.kind {
            MKind::Gauge => (5, 0, false),
            MKind::Sum {
                temporality,
                monotonic,
            } => (7, temporality, monotonic),
            MKind::Histogram { temporality } => (9, temporality, false),
            MKind::Exp { temporality } => (10, temporality, false),
            MKind::Summary => (11, 0, false),
        };
        let d = self.begin_r(tag, 2);
        for p in &b.points[m.points.range()] {
            self.point(b, p);
        }
        self.uvar(2, temporality as u64);
        if monotonic {
            self.key(3, VARINT);
            self.out.push(1);
        }
        self.end_r(d, 2);
        self.end_r(s, 2);
    }

    fn point(&mut self, b: &Batch, p: &PointRec) {
        let s = self.begin_r(1, 2);
        match p.val {
            PVal::Double(_) | PVal::Int(_) => {
                // NumberDataPoint: start 2, time 3, value oneof {4, 6},
                // exemplars 5, attributes 7, flags 8.
                self.fixed64(2, p.start);
                self.fixed64(3, p.time);
                match p.val {
                    PVal::Double(d) => self.double_always(4, d),
                    PVal::Int(i) => {
                        self.key(6, I64);
                        self.out.extend_from_slice(&i.to_le_bytes());
                    }
                    _ => unreachable!(),
                }
                self.exemplar(5, p);
                self.attrs(b, 7, b.attrs_of(p.attrs));
            }
            PVal::Hist {
                count,
                sum,
                buckets,
                bounds,
                min,
                max,
            } => {
                self.fixed64(2, p.start);
                self.fixed64(3, p.time);
                self.fixed64(4, count);
                self.double_always(5, sum);
                self.packed_fixed64(6, &b.u64s[buckets.range()]);
                if !bounds.is_empty() {
                    self.key(7, LEN);
                    self.varint(bounds.len() as u64 * 8);
                    for x in bounds {
                        self.out.extend_from_slice(&x.to_bits().to_le_bytes());
                    }
                }
                self.exemplar(8, p);
                self.attrs(b, 9, b.attrs_of(p.attrs));
                self.double_always(11, min);
                self.double_always(12, max);
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
                self.attrs(b, 1, b.attrs_of(p.attrs));
                self.fixed64(2, p.start);
                self.fixed64(3, p.time);
                self.fixed64(4, count);
                self.double_always(5, sum);
                self.uvar(6, zigzag(scale));
                self.fixed64(7, zero_count);
                let pos = self.begin(8);
                self.uvar(1, zigzag(offset));
                let counts = &b.u64s[buckets.range()];
                if !counts.is_empty() {
                    let c = self.begin(2);
                    for &x in counts {
                        self.varint(x);
                    }
                    self.end(c);
                }
                self.end(pos);
                self.exemplar(11, p);
                self.double_always(12, min);
                self.double_always(13, max);
            }
            PVal::Summary {
                count,
                sum,
                quantiles,
            } => {
                self.fixed64(2, p.start);
                self.fixed64(3, p.time);
                self.fixed64(4, count);
                self.double(5, sum);
                for (q, v) in quantiles {
                    let e = self.begin(6);
                    self.double(1, q);
                    self.double(2, v);
                    self.end(e);
                }
                self.attrs(b, 7, b.attrs_of(p.attrs));
            }
        }
        self.end_r(s, 2);
    }

    fn packed_fixed64(&mut self, tag: u32, xs: &[u64]) {
        if !xs.is_empty() {
            self.key(tag, LEN);
            self.varint(xs.len() as u64 * 8);
            for x in xs {
                self.out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }

    /// The point's exemplar (if any) as field `tag`. Exemplar: time 2,
    /// value oneof {3, 6}, span_id 4, trace_id 5, filtered_attributes 7.
    fn exemplar(&mut self, tag: u32, p: &PointRec) {
        if let Some(e) = &p.exemplar {
            let s = self.begin(tag);
            self.fixed64(2, e.time);
            self.double_always(3, e.value);
            self.bytes(4, &e.span_id);
            self.bytes(5, &e.trace_id);
            self.end(s);
        }
    }

    fn log(&mut self, b: &Batch, i: usize) {
        let l = &b.logs[i];
        let s = self.begin_r(2, 2);
        self.fixed64(1, l.time);
        self.uvar(2, l.severity as u64);
        self.str(3, l.severity_text);
        if let Some(body) = &l.body {
            let e = self.begin(5);
            self.any_value(b, body);
            self.end(e);
        }
        self.attrs(b, 6, b.attrs_of(l.attrs));
        self.fixed32(8, l.flags);
        if let Some((t, sp)) = &l.trace {
            self.bytes(9, t);
            self.bytes(10, sp);
        }
        self.fixed64(11, l.observed);
        self.end_r(s, 2);
    }
}

#[inline]
fn varint_len(v: u64) -> usize {
    // 1 byte per started 7 bits (at least 1).
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[inline]
fn zigzag(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

/// Appends the OTLP/protobuf encoding of `b`'s export request to `out`.
pub fn encode(b: &Batch, out: &mut Vec<u8>) {
    let mut w = W { out };
    // Request field 1: resource_spans / resource_metrics / resource_logs.
    let r = w.begin_r(1, 3);
    w.resource(b);
    for si in 0..b.scopes.len() {
        let s = w.begin_r(2, 3);
        w.scope(b, si);
        let si8 = si as u8;
        match b.kind {
            Kind::Traces => {
                for (i, sp) in b.spans.iter().enumerate() {
                    if sp.scope == si8 {
                        w.span(b, i);
                    }
                }
            }
            Kind::Metrics => {
                for (i, m) in b.metrics.iter().enumerate() {
                    if m.scope == si8 {
                        w.metric(b, i);
                    }
                }
            }
            Kind::Logs => {
                for (i, l) in b.logs.iter().enumerate() {
                    if l.scope == si8 {
                        w.log(b, i);
                    }
                }
            }
        }
        w.str(3, b.scope_schema);
        w.end_r(s, 3);
    }
    w.str(3, b.resource_schema);
    w.end_r(r, 3);
}
