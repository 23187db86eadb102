//! The in-memory form of one export request, built for speed: records
//! refer to attribute ranges in shared vectors and to strings in one text
//! arena, with `&'static str` keys. A [`Batch`] is cleared and reused for
//! every request, so steady-state generation allocates nothing. `proto.rs`
//! and `json.rs` serialise it; `--self-check` decodes that output with
//! prost and serde to prove it is the OTLP it claims to be.

use crate::model::Scope;

/// A half-open range of indices into one of the [`Batch`] vectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rg(pub u32, pub u32);

impl Rg {
    pub fn len(self) -> usize {
        (self.1 - self.0) as usize
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.0 as usize..self.1 as usize
    }
}

/// An attribute value (an OTLP `AnyValue`).
#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// A string in the batch's text arena (byte range).
    Str(u32, u32),
    /// A static string.
    Lit(&'static str),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// Elements in `Batch::vals`.
    Array(Rg),
    /// Key/value pairs in `Batch::attrs`.
    Kvlist(Rg),
}

#[derive(Clone, Copy, Debug)]
pub struct Attr {
    pub key: &'static str,
    pub val: Val,
}

pub struct SpanRec {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent: Option<[u8; 8]>,
    pub flags: u32,
    /// A string value (`Str` or `Lit`).
    pub name: Val,
    pub kind: i32,
    pub start: u64,
    pub end: u64,
    pub attrs: Rg,
    pub events: Rg,
    pub links: Rg,
    /// Error status: (code, message).
    pub status: Option<(i32, &'static str)>,
    pub scope: u8,
}

pub struct EventRec {
    pub time: u64,
    pub name: &'static str,
    pub attrs: Rg,
}

pub struct LinkRec {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub attrs: Rg,
    pub flags: u32,
}

/// Metric type with its type-specific fields.
#[derive(Clone, Copy, Debug)]
pub enum MKind {
    Gauge,
    Sum { temporality: i32, monotonic: bool },
    Histogram { temporality: i32 },
    Exp { temporality: i32 },
    Summary,
}

pub struct MetricRec {
    pub name: &'static str,
    pub description: &'static str,
    pub unit: &'static str,
    pub kind: MKind,
    /// Data points in `Batch::points`.
    pub points: Rg,
    pub scope: u8,
}

/// A data point's value, by metric type.
#[derive(Clone, Copy, Debug)]
pub enum PVal {
    Double(f64),
    Int(i64),
    Hist {
        count: u64,
        sum: f64,
        /// Bucket counts in `Batch::u64s` (one more than `bounds`).
        buckets: Rg,
        bounds: &'static [f64],
        min: f64,
        max: f64,
    },
    Exp {
        count: u64,
        sum: f64,
        scale: i32,
        zero_count: u64,
        offset: i32,
        /// Positive bucket counts in `Batch::u64s`.
        buckets: Rg,
        min: f64,
        max: f64,
    },
    Summary {
        count: u64,
        sum: f64,
        quantiles: [(f64, f64); 5],
    },
}

#[derive(Clone, Copy, Debug)]
pub struct Exemplar {
    pub time: u64,
    pub value: f64,
    pub span_id: [u8; 8],
    pub trace_id: [u8; 16],
}

pub struct PointRec {
    pub attrs: Rg,
    /// 0 for gauges.
    pub start: u64,
    pub time: u64,
    pub val: PVal,
    pub exemplar: Option<Exemplar>,
}

pub struct LogRec {
    /// 0 when the record has no event time.
    pub time: u64,
    pub observed: u64,
    pub severity: i32,
    /// Empty when not set.
    pub severity_text: &'static str,
    pub body: Option<Val>,
    pub attrs: Rg,
    pub flags: u32,
    pub trace: Option<([u8; 16], [u8; 8])>,
    pub scope: u8,
    /// `event_name`: empty for plain log records.
    pub event_name: &'static str,
}

/// Which records a batch holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Traces,
    Metrics,
    Logs,
}

/// One export request: one resource, its scopes, and their records.
pub struct Batch {
    pub kind: Kind,
    pub text: String,
    pub attrs: Vec<Attr>,
    pub vals: Vec<Val>,
    pub u64s: Vec<u64>,
    pub resource: Rg,
    pub resource_schema: &'static str,
    pub scopes: Vec<Scope>,
    pub scope_schema: &'static str,
    pub spans: Vec<SpanRec>,
    pub events: Vec<EventRec>,
    pub links: Vec<LinkRec>,
    pub metrics: Vec<MetricRec>,
    pub points: Vec<PointRec>,
    pub logs: Vec<LogRec>,
}

impl Batch {
    pub fn new(kind: Kind) -> Self {
        Batch {
            kind,
            text: String::with_capacity(1 << 16),
            attrs: Vec::with_capacity(1 << 12),
            vals: Vec::new(),
            u64s: Vec::new(),
            resource: Rg::default(),
            resource_schema: "",
            scopes: Vec::new(),
            scope_schema: "",
            spans: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
            metrics: Vec::new(),
            points: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.text.clear();
        self.attrs.clear();
        self.vals.clear();
        self.u64s.clear();
        self.resource = Rg::default();
        self.scopes.clear();
        self.spans.clear();
        self.events.clear();
        self.links.clear();
        self.metrics.clear();
        self.points.clear();
        self.logs.clear();
    }

    /// Number of records (spans, data points or log records).
    pub fn records(&self) -> usize {
        match self.kind {
            Kind::Traces => self.spans.len(),
            Kind::Metrics => self.points.len(),
            Kind::Logs => self.logs.len(),
        }
    }

    /// Index of scope `sc`, added on first use.
    pub fn scope(&mut self, sc: Scope) -> u8 {
        match self.scopes.iter().position(|s| s.0 == sc.0) {
            Some(i) => i as u8,
            None => {
                self.scopes.push(sc);
                (self.scopes.len() - 1) as u8
            }
        }
    }

    // --- attributes ------------------------------------------------------

    /// Position for [`Batch::since`].
    #[inline]
    pub fn mark(&self) -> u32 {
        self.attrs.len() as u32
    }

    /// The attributes pushed since `mark`.
    #[inline]
    pub fn since(&self, mark: u32) -> Rg {
        Rg(mark, self.attrs.len() as u32)
    }

    #[inline]
    pub fn attrs_of(&self, r: Rg) -> &[Attr] {
        &self.attrs[r.range()]
    }

    #[inline]
    pub fn push(&mut self, key: &'static str, val: Val) {
        self.attrs.push(Attr { key, val });
    }

    #[inline]
    pub fn lit(&mut self, key: &'static str, v: &'static str) {
        self.push(key, Val::Lit(v));
    }

    /// A string attribute copied into the arena.
    #[inline]
    pub fn text(&mut self, key: &'static str, v: &str) {
        let val = self.str_val(|t| t.push_str(v));
        self.push(key, val);
    }

    /// A string attribute written into the arena by `f`.
    #[inline]
    pub fn with(&mut self, key: &'static str, f: impl FnOnce(&mut String)) {
        let val = self.str_val(f);
        self.push(key, val);
    }

    /// A string value written into the arena by `f`.
    #[inline]
    pub fn str_val(&mut self, f: impl FnOnce(&mut String)) -> Val {
        let start = self.text.len() as u32;
        f(&mut self.text);
        Val::Str(start, self.text.len() as u32)
    }

    #[inline]
    pub fn int(&mut self, key: &'static str, v: i64) {
        self.push(key, Val::Int(v));
    }

    /// A double attribute, rounded by [`crate::rng::round6`].
    #[inline]
    pub fn dbl(&mut self, key: &'static str, v: f64) {
        self.push(key, Val::Double(crate::rng::round6(v)));
    }

    #[inline]
    pub fn boolean(&mut self, key: &'static str, v: bool) {
        self.push(key, Val::Bool(v));
    }

    /// A string-array attribute of static strings.
    pub fn lit_array(&mut self, key: &'static str, items: &[&'static str]) {
        let start = self.vals.len() as u32;
        self.vals.extend(items.iter().map(|s| Val::Lit(s)));
        self.push(key, Val::Array(Rg(start, self.vals.len() as u32)));
    }

    /// A string-array attribute of `n` elements, each written by `f`.
    pub fn str_array(&mut self, key: &'static str, n: usize, mut f: impl FnMut(&mut String)) {
        let start = self.vals.len() as u32;
        for _ in 0..n {
            let v = self.str_val(&mut f);
            self.vals.push(v);
        }
        self.push(key, Val::Array(Rg(start, self.vals.len() as u32)));
    }

    /// The text of a string value (`Str` or `Lit`), else "".
    #[inline]
    pub fn str_of(&self, v: &Val) -> &str {
        match *v {
            Val::Str(a, b) => &self.text[a as usize..b as usize],
            Val::Lit(s) => s,
            _ => "",
        }
    }
}

/// "0000" to "9999" back to back, for [`push_u64`].
fn digits4() -> &'static str {
    static D: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    D.get_or_init(|| (0..10_000).map(|i| format!("{i:04}")).collect())
}

/// Appends the decimal digits of `n` (four at a time from a table).
#[inline]
pub fn push_u64(out: &mut String, n: u64) {
    let d = digits4();
    if n < 10_000 {
        let i = n as usize * 4;
        let skip = match n {
            0..=9 => 3,
            10..=99 => 2,
            100..=999 => 1,
            _ => 0,
        };
        out.push_str(&d[i + skip..i + 4]);
    } else {
        push_u64(out, n / 10_000);
        let i = (n % 10_000) as usize * 4;
        out.push_str(&d[i..i + 4]);
    }
}

/// Appends `x` as `width` lower-case hex digits (most significant first).
#[inline]
pub fn push_hex(out: &mut String, x: u64, width: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..width).rev() {
        out.push(HEX[((x >> (i * 4)) & 15) as usize] as char);
    }
}

/// Appends bytes as lower-case hex.
pub fn push_hex_bytes(out: &mut String, b: &[u8]) {
    for &x in b {
        push_hex(out, x as u64, 2);
    }
}
