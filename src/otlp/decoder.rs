//! What the JSON and protobuf decoders share: failures and their paths,
//! the decoding context with its limits, the skeleton events of records,
//! and the reordering of fields sent out of order.

use std::borrow::Cow;
use std::fmt;

use super::{AnyValue, Attr, Event, Limits, MetricKind, SpanKind, Summary, Temporality};

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

    /// [`wrap`](Self::wrap) of an attribute whose key, or `service.name`
    /// value, may be longer than [`super::clip::MAX_NAME_BYTES`]: clips
    /// them (the proto decoder's fast path reads only keys and values
    /// under 128 bytes, and calls `wrap`).
    #[inline]
    pub(crate) fn wrap_clipped(self, mut attr: Attr<'_>) -> Event<'_> {
        super::clip::clip_attr(&mut attr, matches!(self, AttrTarget::Resource));
        self.wrap(attr)
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

    /// [`push`](Self::push) of an event that owns nothing on the heap
    /// (checked in debug builds): spares the check of its strings.
    #[inline(always)]
    pub(crate) fn push_borrowed(&mut self, event: Event<'a>) -> Result<usize, Fail> {
        debug_assert!(!event.owns_heap());
        self.spend()?;
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
        status_code: 0,
        bytes: 0,
        dropped_attributes: 0,
        dropped_events: 0,
        dropped_links: 0,
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
    bytes: usize,
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
        bytes: saturate(bytes),
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
        bytes: 0,
    }
}

/// A record's bytes as an event holds them.
#[inline]
pub(crate) fn saturate(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
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
        bytes: 0,
        dropped_attributes: 0,
        has_trace_id: false,
        has_span_id: false,
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
