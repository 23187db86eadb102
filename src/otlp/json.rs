//! OTLP/JSON decoder: a small recursive-descent parser made for OTLP.
//!
//! Why not serde_json (the crate the project rule would prefer): even with
//! borrowing seeds that write events straight into the output, serde_json
//! (and sonic-rs behind the same seeds) decoded about half as fast
//! (docs/BENCHMARKS.md, "Decoders"), most of the time in the tokenizer and
//! the visitor plumbing. This parser validates UTF-8 once for the whole
//! payload, borrows every string without escapes, finds string ends eight
//! bytes at a time and matches field names directly. The tests check it
//! against prost-encoded random requests written as JSON with quirks, and
//! against serde_json on mutated input (it accepts no invalid JSON).
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
//!   `"1.5"`); numbers beyond the range of f64 read as infinities;
//! - `bytesValue` in standard or URL-safe base64, padded or not;
//! - `null` for any field: absent for scalars and `body`, empty for objects
//!   and lists; unknown fields anywhere (skipped, syntax still checked, up
//!   to 128 levels deep); any trace and span ids (not read).
//!
//! Rejected: invalid JSON (including raw control characters in strings,
//! lone surrogate escapes, trailing commas); a document that is not an
//! object or has none of `resourceSpans`, `resourceMetrics`,
//! `resourceLogs` (so `{}` too); an empty payload; values of the wrong JSON
//! type for known fields.

use std::borrow::Cow;

use super::{
    AnyValue, Attr, AttrTarget, Ctx, DecodeError, ErrorKind, Event, Fail, Fallible, MetricKind,
    Position, Sections, Signal, SpanKind, Within, empty_log, empty_metric, empty_scope, empty_span,
    empty_span_event, failure, metric_event, overwrite, render_path,
};

/// Deepest nesting of containers in skipped (unknown) values.
const MAX_SKIP_DEPTH: usize = 128;

pub(super) fn decode<'a>(payload: &'a [u8], ctx: &mut Ctx<'a>) -> Result<(), DecodeError> {
    let bytes = payload.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(payload);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(bytes, e.valid_up_to());
        DecodeError::new(ErrorKind::Json, "invalid UTF-8").at(
            Position::Text {
                line,
                column,
                document: 0,
            },
            String::new(),
        )
    })?;
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        pos: 0,
    };
    if p.peek().is_none() {
        return Err(DecodeError::new(ErrorKind::Json, "empty payload"));
    }
    let mut document = 0;
    while p.peek().is_some() {
        document += 1;
        if let Err(e) = p.request(ctx) {
            let (line, column) = line_column(bytes, e.pos);
            return Err(DecodeError::new(ErrorKind::Json, e.message).at(
                Position::Text {
                    line,
                    column,
                    document,
                },
                render_path(&e.path),
            ));
        }
        ctx.summary.requests += 1;
    }
    Ok(())
}

/// The 1-based line and column of byte `pos`.
fn line_column(b: &[u8], pos: usize) -> (usize, usize) {
    let before = &b[..pos.min(b.len())];
    let line = 1 + before.iter().filter(|&&c| c == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    (line, pos - line_start + 1)
}

/// The index of the first byte at or after `i` that ends the plain part of
/// a string: `"`, `\\` or a control character (or `b.len()`). Eight bytes
/// at a time: for the short strings of OTLP this beats a call to memchr.
#[inline(always)]
fn special_byte(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Bit 7 of byte k of `zero(x)` is set if byte k of x is 0; the lowest set
    // bit always marks a zero byte (borrows only disturb the bytes above).
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let hits = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            // Bytes below 0x20 (same borrow argument).
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b
        .get(i)
        .is_some_and(|&c| !matches!(c, b'"' | b'\\' | 0..=0x1f))
    {
        i += 1;
    }
    i
}

/// The usual shape of a `KeyValue` as SDKs and the Collector write it,
/// read straight from the text at `at`: `{"key":"K","value":{"stringValue":
/// "S"}}` (strings without escapes), `{"intValue":"N"}` or `{"intValue":N}`
/// (up to 18 digits, no sign or leading zero), `{"boolValue":true|false}`,
/// with no whitespace. Returns the attribute and the offset after it, or
/// `None` for anything else, which the field-by-field reader then decodes,
/// or reports, as usual (a randomised test checks they agree).
#[inline(always)]
fn simple_key_value(text: &str, at: usize) -> Option<(Attr<'_>, usize)> {
    let b = text.as_bytes();
    // A plain string starting at `i` (after its quote): its end quote.
    let plain = |i: usize| -> Option<usize> {
        let end = special_byte(b, i);
        (b.get(end) == Some(&b'"')).then_some(end)
    };
    let rest = b.get(at..)?;
    const KEY: &[u8] = b"{\"key\":\"";
    if !rest.starts_with(KEY) {
        return None;
    }
    let ks = at + KEY.len();
    let ke = plain(ks)?;
    let mut p = ke + 1;
    const VALUE: &[u8] = b",\"value\":{\"";
    if !b.get(p..)?.starts_with(VALUE) {
        return None;
    }
    p += VALUE.len();
    let field = b.get(p..)?;
    const STRING: &[u8] = b"stringValue\":\"";
    const INT: &[u8] = b"intValue\":";
    const TRUE: &[u8] = b"boolValue\":true";
    const FALSE: &[u8] = b"boolValue\":false";
    let value = if field.starts_with(STRING) {
        let vs = p + STRING.len();
        let ve = plain(vs)?;
        p = ve + 1;
        AnyValue::Str(Cow::Borrowed(text.get(vs..ve)?))
    } else if field.starts_with(INT) {
        p += INT.len();
        let quoted = b.get(p) == Some(&b'"');
        if quoted {
            p += 1;
        }
        let ds = p;
        while b.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
        let digits = &b[ds..p];
        if digits.is_empty() || digits.len() > 18 || (digits[0] == b'0' && digits.len() > 1) {
            return None;
        }
        if quoted {
            if b.get(p) != Some(&b'"') {
                return None;
            }
            p += 1;
        }
        let n = digits
            .iter()
            .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
        AnyValue::Int(n)
    } else if field.starts_with(TRUE) {
        p += TRUE.len();
        AnyValue::Bool(true)
    } else if field.starts_with(FALSE) {
        p += FALSE.len();
        AnyValue::Bool(false)
    } else {
        return None;
    };
    if !b.get(p..)?.starts_with(b"}}") {
        return None;
    }
    let key = text.get(ks..ke)?;
    Some((
        Attr {
            key: Cow::Borrowed(key),
            value,
        },
        p + 2,
    ))
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// The state of an object or array being read.
struct Container {
    first: bool,
    done: bool,
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

// ---------------------------------------------------------------------------
// JSON syntax.

impl<'a> Parser<'a> {
    /// The next byte after whitespace, not consumed.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        while let Some(&c) = self.b.get(self.pos) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(c);
            }
            self.pos += 1;
        }
        None
    }

    /// An error at the current position: `expected {what}, found ...`.
    #[cold]
    fn expected(&mut self, what: &str) -> Box<super::Failure> {
        self.peek();
        let found = match self.text.get(self.pos..).and_then(|t| t.chars().next()) {
            None => "the end of the input".to_owned(),
            Some(c) => format!("{c:?}"),
        };
        failure(self.pos, format!("expected {what}, found {found}"))
    }

    #[cold]
    fn fail(&self, f: Fail) -> Box<super::Failure> {
        failure(self.pos, f.0)
    }

    fn literal(&mut self, word: &'static str) -> Fallible<()> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.expected("a JSON value"))
        }
    }

    /// `{` (or `null`, an object without fields).
    #[inline(always)]
    fn object(&mut self, what: &'static str) -> Fallible<Container> {
        self.open(b'{', what)
    }

    /// `open` (`{` or `[`), or `null`, a container without members.
    #[inline(always)]
    fn open(&mut self, open: u8, what: &'static str) -> Fallible<Container> {
        match self.peek() {
            Some(b) if b == open => {
                self.pos += 1;
                Ok(Container {
                    first: true,
                    done: false,
                })
            }
            Some(b'n') => {
                self.literal("null")?;
                Ok(Container {
                    first: false,
                    done: true,
                })
            }
            _ => Err(self.expected(what)),
        }
    }

    /// The next field name of an object and its `:`, or `None` after `}`.
    #[inline(always)]
    fn key(&mut self, c: &mut Container) -> Fallible<Option<Cow<'a, str>>> {
        if c.done {
            return Ok(None);
        }
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                c.done = true;
                return Ok(None);
            }
            Some(b',') if !c.first => {
                self.pos += 1;
                self.peek();
            }
            _ if !c.first => return Err(self.expected("`,` or `}`")),
            _ => {}
        }
        c.first = false;
        if self.b.get(self.pos) != Some(&b'"') {
            return Err(self.expected("a field name"));
        }
        let key = self.string()?;
        if self.peek() != Some(b':') {
            return Err(self.expected("`:`"));
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// `[` (or `null`, an empty array).
    #[inline(always)]
    fn array(&mut self, what: &'static str) -> Fallible<Container> {
        self.open(b'[', what)
    }

    /// Whether another element follows (and is next), or `]` ended the array.
    #[inline(always)]
    fn item(&mut self, c: &mut Container) -> Fallible<bool> {
        if c.done {
            return Ok(false);
        }
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                c.done = true;
                Ok(false)
            }
            Some(b',') if !c.first => {
                self.pos += 1;
                Ok(true)
            }
            _ if !c.first => Err(self.expected("`,` or `]`")),
            _ => {
                c.first = false;
                Ok(true)
            }
        }
    }

    /// A string at `"`: borrowed unless it holds escapes.
    #[inline(always)]
    fn string(&mut self) -> Fallible<Cow<'a, str>> {
        let start = self.pos + 1;
        let end = special_byte(self.b, start);
        match self.b.get(end) {
            Some(b'"') => {
                self.pos = end + 1;
                Ok(Cow::Borrowed(&self.text[start..end]))
            }
            _ => self.escaped_string(start).map(Cow::Owned),
        }
    }

    /// The rest of a string from `start` that holds escapes (or is invalid).
    #[cold]
    fn escaped_string(&mut self, start: usize) -> Fallible<String> {
        let mut out = String::new();
        let mut i = start;
        loop {
            let j = special_byte(self.b, i);
            out.push_str(&self.text[i..j]);
            i = j;
            match self.b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(b'\\') => {}
                Some(_) => return Err(failure(i, "control character in a string")),
                None => return Err(failure(i, "unterminated string")),
            }
            let escape_at = i;
            let c = match self.b.get(i + 1) {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    let hi = self.hex4(i + 2)?;
                    i += 4;
                    let code = if (0xD800..0xDC00).contains(&hi) {
                        if self.b.get(i + 2..i + 4) != Some(b"\\u") {
                            return Err(failure(escape_at, "lone surrogate in a \\u escape"));
                        }
                        let lo = self.hex4(i + 4)?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(failure(escape_at, "lone surrogate in a \\u escape"));
                        }
                        i += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        hi
                    };
                    char::from_u32(code)
                        .ok_or_else(|| failure(escape_at, "lone surrogate in a \\u escape"))?
                }
                _ => return Err(failure(escape_at, "invalid escape in a string")),
            };
            out.push(c);
            i += 2;
        }
    }

    fn hex4(&self, at: usize) -> Fallible<u32> {
        let digits = self
            .b
            .get(at..at + 4)
            .ok_or_else(|| failure(at, "invalid \\u escape"))?;
        let mut v = 0;
        for &d in digits {
            let x = (d as char)
                .to_digit(16)
                .ok_or_else(|| failure(at, "invalid \\u escape"))?;
            v = v * 16 + x;
        }
        Ok(v)
    }

    /// A number token, checked against the JSON grammar; whether it is an
    /// integer (no fraction, no exponent).
    fn number(&mut self) -> Fallible<(&'a str, bool)> {
        let start = self.pos;
        let b = self.b;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut i = start + usize::from(b.get(start) == Some(&b'-'));
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(i),
            _ => return Err(self.expected("a JSON value")),
        }
        let mut integer = true;
        if b.get(i) == Some(&b'.') {
            integer = false;
            let j = digits(i + 1);
            if j == i + 1 {
                return Err(failure(j, "invalid number"));
            }
            i = j;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            integer = false;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let j = digits(i);
            if j == i {
                return Err(failure(j, "invalid number"));
            }
            i = j;
        }
        self.pos = i;
        Ok((&self.text[start..i], integer))
    }

    /// Skips any value (an unknown field's).
    fn skip(&mut self, depth: usize) -> Fallible<()> {
        if depth > MAX_SKIP_DEPTH {
            return Err(failure(
                self.pos,
                format!("values nested deeper than {MAX_SKIP_DEPTH} levels"),
            ));
        }
        match self.peek() {
            Some(b'{') => {
                let mut c = self.object("")?;
                while self.key(&mut c)?.is_some() {
                    self.skip(depth + 1)?;
                }
            }
            Some(b'[') => {
                let mut c = self.array("")?;
                while self.item(&mut c)? {
                    self.skip(depth + 1)?;
                }
            }
            Some(b'"') => {
                self.string()?;
            }
            Some(b't') => self.literal("true")?,
            Some(b'f') => self.literal("false")?,
            Some(b'n') => self.literal("null")?,
            _ => {
                self.number()?;
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------
    // Scalars: `Some(value)`, or `None` for null.

    #[inline(always)]
    fn null(&mut self) -> Fallible<bool> {
        if self.peek() == Some(b'n') {
            self.literal("null")?;
            return Ok(true);
        }
        Ok(false)
    }

    #[inline(always)]
    fn opt_str(&mut self) -> Fallible<Option<Cow<'a, str>>> {
        match self.peek() {
            Some(b'"') => self.string().map(Some),
            _ if self.null()? => Ok(None),
            _ => Err(self.expected("a string")),
        }
    }

    /// A number or a string holding one (parsed with `parse`), or null.
    fn opt_number<T>(
        &mut self,
        what: &str,
        parse: impl Fn(&str, bool) -> Option<T>,
    ) -> Fallible<Option<T>> {
        let next = self.peek();
        let start = self.pos;
        let (token, integer) = match next {
            Some(b'"') => {
                let s = self.string()?;
                return match parse(&s, true) {
                    Some(v) => Ok(Some(v)),
                    None => Err(failure(start, format!("expected {what}, found {s:?}"))),
                };
            }
            _ if self.null()? => return Ok(None),
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(self.expected(what)),
        };
        match parse(token, integer) {
            Some(v) => Ok(Some(v)),
            None => Err(failure(start, format!("expected {what}, found {token}"))),
        }
    }

    fn opt_u64(&mut self) -> Fallible<Option<u64>> {
        self.opt_number("an unsigned 64-bit integer", |s, integer| {
            if let Some(v) = integer.then(|| s.parse().ok()).flatten() {
                return Some(v);
            }
            // 2^64 as f64; `as` saturates, so check the range ourselves.
            let f: f64 = s.parse().ok()?;
            (0.0..18_446_744_073_709_551_616.0)
                .contains(&f)
                .then_some(f as u64)
        })
    }

    fn opt_i64(&mut self) -> Fallible<Option<i64>> {
        self.opt_number("a 64-bit integer", |s, integer| {
            if let Some(v) = integer.then(|| s.parse().ok()).flatten() {
                return Some(v);
            }
            // An integral float in range, as some JavaScript senders write.
            let f: f64 = s.parse().ok()?;
            (f.fract() == 0.0
                && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f))
            .then_some(f as i64)
        })
    }

    fn opt_f64(&mut self) -> Fallible<Option<f64>> {
        // Rust's parser takes "NaN", "Infinity", "-Infinity" (any case) and
        // decimal numbers, correctly rounded.
        self.opt_number(
            "a number, or a string such as \"NaN\" or \"Infinity\"",
            |s, _| s.parse().ok(),
        )
    }

    fn opt_bool(&mut self) -> Fallible<Option<bool>> {
        match self.peek() {
            Some(b't') => self.literal("true").map(|()| Some(true)),
            Some(b'f') => self.literal("false").map(|()| Some(false)),
            Some(b'"') => {
                let at = self.pos;
                match &*self.string()? {
                    "true" => Ok(Some(true)),
                    "false" => Ok(Some(false)),
                    s => Err(failure(at, format!("expected a boolean, found {s:?}"))),
                }
            }
            _ if self.null()? => Ok(None),
            _ => Err(self.expected("a boolean")),
        }
    }

    /// An enum: a number, a numeric string, or a name looked up with
    /// `names` (unknown names read as 0).
    fn opt_enum(&mut self, names: fn(&str) -> Option<i32>) -> Fallible<Option<i32>> {
        if self.peek() == Some(b'"') {
            let s = self.string()?;
            return Ok(Some(s.parse().ok().or_else(|| names(&s)).unwrap_or(0)));
        }
        self.opt_number("an enum number or name", |s, integer| {
            integer.then(|| s.parse().ok()).flatten()
        })
    }

    /// A base64 `bytesValue`.
    fn opt_bytes(&mut self) -> Fallible<Option<Vec<u8>>> {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let at = self.pos;
        let Some(s) = self.opt_str()? else {
            return Ok(None);
        };
        let unpadded = s.trim_end_matches('=');
        STANDARD_NO_PAD
            .decode(unpadded)
            .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
            .map(Some)
            .map_err(|_| failure(at, "invalid base64 in bytesValue"))
    }

    /// The elements of an array, each decoded by `elem` (given its index).
    #[inline(always)]
    fn list<F>(&mut self, ctx: &mut Ctx<'a>, name: &'static str, mut elem: F) -> Fallible<()>
    where
        F: FnMut(&mut Self, &mut Ctx<'a>, usize) -> Fallible<()>,
    {
        let mut c = self.array("a list").within(name, None)?;
        let mut i = 0;
        while self.item(&mut c).within(name, Some(i))? {
            elem(self, ctx, i).within(name, Some(i))?;
            i += 1;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// OTLP.

impl<'a> Parser<'a> {
    fn request(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let start = self.pos;
        if self.peek() != Some(b'{') {
            return Err(self.expected("an OTLP/JSON export request object"));
        }
        let mut found = false;
        let mut c = self.object("")?;
        while let Some(key) = self.key(&mut c)? {
            let signal = match &*key {
                "resourceSpans" | "resource_spans" => Signal::Traces,
                "resourceMetrics" | "resource_metrics" => Signal::Metrics,
                "resourceLogs" | "resource_logs" => Signal::Logs,
                _ => {
                    self.skip(0)?;
                    continue;
                }
            };
            found = true;
            self.list(ctx, signal.request_field(), |p, ctx, _| {
                p.resource_block(ctx, signal)
            })?;
        }
        if !found {
            return Err(failure(
                start,
                "not an OTLP export request: no resourceSpans, resourceMetrics or resourceLogs",
            ));
        }
        Ok(())
    }

    fn resource_block(&mut self, ctx: &mut Ctx<'a>, signal: Signal) -> Fallible<()> {
        let at = ctx.open(Event::Resource).map_err(|f| self.fail(f))?;
        // The resource's attributes, then the scope blocks.
        let mut sections = Sections::<2>::new(at + 1);
        // The resource's attributes, counted together for the limit even
        // when "resource" (or its "attributes") comes twice.
        let mut n_attrs = 0;
        let mut c = self.object("a resource block object")?;
        while let Some(key) = self.key(&mut c)? {
            let mark = ctx.out.len();
            match (signal, &*key) {
                (_, "resource") => {
                    let target = AttrTarget::Resource;
                    self.attributes_only(ctx, target, &mut n_attrs)
                        .within("resource", None)?;
                    sections.place(&ctx.out, 0, mark);
                }
                (Signal::Traces, "scopeSpans" | "scope_spans")
                | (Signal::Metrics, "scopeMetrics" | "scope_metrics")
                | (Signal::Logs, "scopeLogs" | "scope_logs") => {
                    self.list(ctx, signal.scope_field(), |p, ctx, _| {
                        p.scope_block(ctx, signal)
                    })?;
                    sections.place(&ctx.out, 1, mark);
                }
                _ => self.skip(0)?,
            }
        }
        sections.finish(&mut ctx.out);
        Ok(())
    }

    /// An object of which only `attributes` is read: a resource or a link.
    /// `n`: the record's attributes so far.
    fn attributes_only(
        &mut self,
        ctx: &mut Ctx<'a>,
        target: AttrTarget,
        n: &mut usize,
    ) -> Fallible<()> {
        let mut c = self.object("an object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "attributes" => self.attributes(ctx, target, n)?,
                _ => self.skip(0)?,
            }
        }
        Ok(())
    }

    fn scope_block(&mut self, ctx: &mut Ctx<'a>, signal: Signal) -> Fallible<()> {
        let at = ctx.open(empty_scope()).map_err(|f| self.fail(f))?;
        // The scope's attributes, then the records.
        let mut sections = Sections::<2>::new(at + 1);
        let (mut name, mut version) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut n_attrs = 0;
        let mut c = self.object("a scope block object")?;
        while let Some(key) = self.key(&mut c)? {
            let mark = ctx.out.len();
            match (signal, &*key) {
                (_, "scope") => {
                    (name, version) = self.scope(ctx, &mut n_attrs).within("scope", None)?;
                    sections.place(&ctx.out, 0, mark);
                }
                (Signal::Traces, "spans") => {
                    self.list(ctx, "spans", |p, ctx, _| p.span(ctx))?;
                    sections.place(&ctx.out, 1, mark);
                }
                (Signal::Metrics, "metrics") => {
                    self.list(ctx, "metrics", |p, ctx, _| p.metric(ctx))?;
                    sections.place(&ctx.out, 1, mark);
                }
                (Signal::Logs, "logRecords" | "log_records") => {
                    self.list(ctx, "logRecords", |p, ctx, _| p.log(ctx))?;
                    sections.place(&ctx.out, 1, mark);
                }
                _ => self.skip(0)?,
            }
        }
        sections.finish(&mut ctx.out);
        ctx.fill(at, Event::Scope { name, version });
        Ok(())
    }

    /// `n`: the scope's attributes so far.
    fn scope(
        &mut self,
        ctx: &mut Ctx<'a>,
        n: &mut usize,
    ) -> Fallible<(Cow<'a, str>, Cow<'a, str>)> {
        let (mut name, mut version) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut c = self.object("a scope object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "name" => set(&mut name, self.opt_str().within("name", None)?),
                "version" => set(&mut version, self.opt_str().within("version", None)?),
                "attributes" => self.attributes(ctx, AttrTarget::Scope, n)?,
                _ => self.skip(0)?,
            }
        }
        Ok((name, version))
    }

    fn span(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_span()).map_err(|f| self.fail(f))?;
        // Attributes, events, links.
        let mut sections = Sections::<3>::new(at + 1);
        let mut name = Cow::Borrowed("");
        let (mut kind, mut start) = (0, 0);
        let mut n_attrs = 0;
        let mut c = self.object("a span object")?;
        while let Some(key) = self.key(&mut c)? {
            let mark = ctx.out.len();
            match &*key {
                "name" => set(&mut name, self.opt_str().within("name", None)?),
                "kind" => set(
                    &mut kind,
                    self.opt_enum(span_kind_name).within("kind", None)?,
                ),
                "startTimeUnixNano" | "start_time_unix_nano" => set(
                    &mut start,
                    self.opt_u64().within("startTimeUnixNano", None)?,
                ),
                "attributes" => {
                    self.attributes(ctx, AttrTarget::Span, &mut n_attrs)?;
                    sections.place(&ctx.out, 0, mark);
                }
                "events" => {
                    self.list(ctx, "events", |p, ctx, _| p.span_event(ctx))?;
                    sections.place(&ctx.out, 1, mark);
                }
                "links" => {
                    self.list(ctx, "links", |p, ctx, _| {
                        ctx.open(Event::SpanLink).map_err(|f| p.fail(f))?;
                        p.attributes_only(ctx, AttrTarget::SpanLink, &mut 0)
                    })?;
                    sections.place(&ctx.out, 2, mark);
                }
                _ => self.skip(0)?,
            }
        }
        sections.finish(&mut ctx.out);
        ctx.fill(
            at,
            Event::Span {
                name,
                kind: SpanKind::from_i32(kind),
                start_time_unix_nano: start,
            },
        );
        Ok(())
    }

    fn span_event(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_span_event()).map_err(|f| self.fail(f))?;
        let mut name = Cow::Borrowed("");
        let mut time = 0;
        let mut n_attrs = 0;
        let mut c = self.object("a span event object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "name" => set(&mut name, self.opt_str().within("name", None)?),
                "timeUnixNano" | "time_unix_nano" => {
                    set(&mut time, self.opt_u64().within("timeUnixNano", None)?)
                }
                "attributes" => self.attributes(ctx, AttrTarget::SpanEvent, &mut n_attrs)?,
                _ => self.skip(0)?,
            }
        }
        ctx.fill(
            at,
            Event::SpanEvent {
                name,
                time_unix_nano: time,
            },
        );
        Ok(())
    }

    fn metric(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_metric()).map_err(|f| self.fail(f))?;
        let (mut name, mut description, mut unit) =
            (Cow::Borrowed(""), Cow::Borrowed(""), Cow::Borrowed(""));
        let mut kind = MetricKind::Unknown;
        let (mut temporality, mut monotonic) = (0, false);
        let mut c = self.object("a metric object")?;
        while let Some(key) = self.key(&mut c)? {
            let (k, field) = match &*key {
                "name" => {
                    set(&mut name, self.opt_str().within("name", None)?);
                    continue;
                }
                "description" => {
                    set(
                        &mut description,
                        self.opt_str().within("description", None)?,
                    );
                    continue;
                }
                "unit" => {
                    set(&mut unit, self.opt_str().within("unit", None)?);
                    continue;
                }
                "gauge" => (MetricKind::Gauge, "gauge"),
                "sum" => (MetricKind::Sum, "sum"),
                "histogram" => (MetricKind::Histogram, "histogram"),
                "exponentialHistogram" | "exponential_histogram" => {
                    (MetricKind::ExponentialHistogram, "exponentialHistogram")
                }
                "summary" => (MetricKind::Summary, "summary"),
                _ => {
                    self.skip(0)?;
                    continue;
                }
            };
            kind = k;
            (temporality, monotonic) = self.metric_data(ctx).within(field, None)?;
        }
        ctx.fill(
            at,
            metric_event(name, kind, unit, description, temporality, monotonic),
        );
        Ok(())
    }

    /// The `gauge`, `sum`, ... object of a metric: its temporality and
    /// monotonicity.
    fn metric_data(&mut self, ctx: &mut Ctx<'a>) -> Fallible<(i32, bool)> {
        let (mut temporality, mut monotonic) = (0, false);
        let mut c = self.object("a metric data object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "dataPoints" | "data_points" => {
                    self.list(ctx, "dataPoints", |p, ctx, _| p.data_point(ctx))?
                }
                "aggregationTemporality" | "aggregation_temporality" => set(
                    &mut temporality,
                    self.opt_enum(temporality_name)
                        .within("aggregationTemporality", None)?,
                ),
                "isMonotonic" | "is_monotonic" => {
                    set(&mut monotonic, self.opt_bool().within("isMonotonic", None)?)
                }
                _ => self.skip(0)?,
            }
        }
        Ok((temporality, monotonic))
    }

    fn data_point(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx
            .open(Event::DataPoint { time_unix_nano: 0 })
            .map_err(|f| self.fail(f))?;
        let mut time = 0;
        let mut n_attrs = 0;
        let mut c = self.object("a data point object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "timeUnixNano" | "time_unix_nano" => {
                    set(&mut time, self.opt_u64().within("timeUnixNano", None)?)
                }
                "attributes" => self.attributes(ctx, AttrTarget::DataPoint, &mut n_attrs)?,
                _ => self.skip(0)?,
            }
        }
        ctx.fill(
            at,
            Event::DataPoint {
                time_unix_nano: time,
            },
        );
        Ok(())
    }

    fn log(&mut self, ctx: &mut Ctx<'a>) -> Fallible<()> {
        let at = ctx.open(empty_log()).map_err(|f| self.fail(f))?;
        let (mut time, mut observed, mut severity_number) = (0, 0, 0);
        let (mut severity_text, mut event_name) = (Cow::Borrowed(""), Cow::Borrowed(""));
        let mut body = None;
        let mut n_attrs = 0;
        let mut c = self.object("a log record object")?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "timeUnixNano" | "time_unix_nano" => {
                    set(&mut time, self.opt_u64().within("timeUnixNano", None)?)
                }
                "observedTimeUnixNano" | "observed_time_unix_nano" => set(
                    &mut observed,
                    self.opt_u64().within("observedTimeUnixNano", None)?,
                ),
                "severityNumber" | "severity_number" => set(
                    &mut severity_number,
                    self.opt_enum(severity_name)
                        .within("severityNumber", None)?,
                ),
                "severityText" | "severity_text" => set(
                    &mut severity_text,
                    self.opt_str().within("severityText", None)?,
                ),
                "eventName" | "event_name" => {
                    set(&mut event_name, self.opt_str().within("eventName", None)?)
                }
                "body" => {
                    body = if self.null()? {
                        None
                    } else {
                        Some(self.any_value(ctx, 1).within("body", None)?)
                    }
                }
                "attributes" => self.attributes(ctx, AttrTarget::Log, &mut n_attrs)?,
                _ => self.skip(0)?,
            }
        }
        ctx.fill(
            at,
            Event::Log {
                severity_number,
                severity_text,
                event_name,
                time_unix_nano: if time != 0 { time } else { observed },
                body,
            },
        );
        Ok(())
    }

    /// An `attributes` list, each appended as an event. `n`: the record's
    /// attributes so far (an object may repeat "attributes"; the limit
    /// counts them all).
    fn attributes(&mut self, ctx: &mut Ctx<'a>, target: AttrTarget, n: &mut usize) -> Fallible<()> {
        self.list(ctx, "attributes", |p, ctx, _| {
            ctx.check_attr_index(*n).map_err(|f| p.fail(f))?;
            let attr = p.key_value(ctx, 1)?;
            ctx.push(target.wrap(attr)).map_err(|f| p.fail(f))?;
            *n += 1;
            Ok(())
        })
    }

    /// A `KeyValue` whose value is at nesting `depth`.
    #[inline(always)]
    fn key_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<Attr<'a>> {
        self.peek();
        if ctx.check_depth(depth).is_ok()
            && let Some((attr, end)) = simple_key_value(self.text, self.pos)
        {
            self.pos = end;
            return Ok(attr);
        }
        self.key_value_fields(ctx, depth)
    }

    /// [`key_value`](Self::key_value), field by field.
    fn key_value_fields(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<Attr<'a>> {
        let mut key = Cow::Borrowed("");
        let mut value = AnyValue::Empty;
        let mut c = self.object("a key/value object")?;
        while let Some(k) = self.key(&mut c)? {
            match &*k {
                "key" => set(&mut key, self.opt_str().within("key", None)?),
                "value" => {
                    let v = self.any_value(ctx, depth).within("value", None)?;
                    overwrite(&mut value, v);
                }
                _ => self.skip(0)?,
            }
        }
        Ok(Attr { key, value })
    }

    /// An `AnyValue` at nesting `depth`. The last value field wins.
    #[inline(always)]
    fn any_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<AnyValue<'a>> {
        ctx.check_depth(depth).map_err(|f| self.fail(f))?;
        let mut value = AnyValue::Empty;
        let mut c = self.object("a value object")?;
        while let Some(k) = self.key(&mut c)? {
            let v = match &*k {
                "stringValue" | "string_value" => self
                    .opt_str()
                    .within("stringValue", None)?
                    .map(AnyValue::Str),
                "intValue" | "int_value" => {
                    self.opt_i64().within("intValue", None)?.map(AnyValue::Int)
                }
                "boolValue" | "bool_value" => self
                    .opt_bool()
                    .within("boolValue", None)?
                    .map(AnyValue::Bool),
                "doubleValue" | "double_value" => self
                    .opt_f64()
                    .within("doubleValue", None)?
                    .map(AnyValue::Double),
                "bytesValue" | "bytes_value" => self
                    .opt_bytes()
                    .within("bytesValue", None)?
                    .map(|b| AnyValue::Bytes(Cow::Owned(b))),
                "arrayValue" | "array_value" => Some(AnyValue::Array(
                    self.array_value(ctx, depth + 1)
                        .within("arrayValue", None)?,
                )),
                "kvlistValue" | "kvlist_value" => Some(AnyValue::KvList(
                    self.kvlist_value(ctx, depth + 1)
                        .within("kvlistValue", None)?,
                )),
                _ => {
                    self.skip(0)?;
                    continue;
                }
            };
            if let Some(v) = v {
                overwrite(&mut value, v);
            }
        }
        Ok(value)
    }

    /// An `arrayValue` object, whose values are at nesting `depth`.
    fn array_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<Vec<AnyValue<'a>>> {
        self.values_object(ctx, depth, "an array value object", Self::any_value)
    }

    /// A `kvlistValue` object, whose values are at nesting `depth`.
    fn kvlist_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<Vec<Attr<'a>>> {
        self.values_object(ctx, depth, "a kvlist value object", Self::key_value)
    }

    /// The `values` list of an `arrayValue` or `kvlistValue` object, each
    /// element read by `element`.
    #[inline(never)]
    fn values_object<T>(
        &mut self,
        ctx: &mut Ctx<'a>,
        depth: usize,
        what: &'static str,
        element: fn(&mut Self, &mut Ctx<'a>, usize) -> Fallible<T>,
    ) -> Fallible<Vec<T>> {
        let mut values = Vec::new();
        let mut c = self.object(what)?;
        while let Some(key) = self.key(&mut c)? {
            match &*key {
                "values" => self.list(ctx, "values", |p, ctx, _| {
                    ctx.spend().map_err(|f| p.fail(f))?;
                    values.push(element(p, ctx, depth)?);
                    Ok(())
                })?,
                _ => self.skip(0)?,
            }
        }
        Ok(values)
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
    Some(
        match s.strip_prefix("AGGREGATION_TEMPORALITY_").unwrap_or(s) {
            "UNSPECIFIED" => 0,
            "DELTA" => 1,
            "CUMULATIVE" => 2,
            _ => return None,
        },
    )
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

#[cfg(test)]
mod tests {
    use super::super::testdata::{Style, fixture, random_request, to_json};
    use super::super::{
        AnyValue, Attr, DecodeError, Encoding, ErrorKind, Event, Limits, MetricKind, Position,
        Signal, SpanKind, Summary, Temporality, decode, resource_attrs, service_name,
    };
    use std::borrow::Cow;

    /// The `KeyValue` shortcut agrees with the field-by-field reader on
    /// everything it accepts: canonical attributes of each kind and random
    /// mutations of them (bytes changed, cut, appended).
    #[test]
    fn simple_key_value_agrees_with_the_field_reader() {
        use super::super::Ctx;
        use super::{Parser, simple_key_value};
        let seeds = [
            r#"{"key":"http.url","value":{"stringValue":"https://x/y?z=1"}}"#,
            r#"{"key":"","value":{"stringValue":""}}"#,
            r#"{"key":"n","value":{"intValue":"12345"}}"#,
            r#"{"key":"n","value":{"intValue":987654321012345678}}"#,
            r#"{"key":"n","value":{"intValue":"0"}}"#,
            r#"{"key":"b","value":{"boolValue":true}}"#,
            r#"{"key":"b","value":{"boolValue":false}}"#,
            r#"{"key":"d","value":{"doubleValue":1.5}}"#,
            r#"{"key":"é","value":{"stringValue":"ü"}}"#,
        ];
        let mut r = crate::testutil::XorShift::new(0x2545_F491_4F6C_DD1D);
        let mut rnd = |m: u64| r.below(m);
        let alphabet = b"{}[]\":,0123456789-.eE tfnrul\\\x01abcxyzVvkKIiSsB";
        let mut checked = 0;
        for round in 0..30_000 {
            let mut b = seeds[round % seeds.len()].as_bytes().to_vec();
            for _ in 0..rnd(3) {
                let c = alphabet[rnd(alphabet.len() as u64) as usize];
                match rnd(3) {
                    0 if !b.is_empty() => {
                        let i = rnd(b.len() as u64) as usize;
                        b[i] = c;
                    }
                    1 if !b.is_empty() => b.truncate(rnd(b.len() as u64) as usize),
                    _ => b.insert(rnd(b.len() as u64 + 1) as usize, c),
                }
            }
            let Ok(text) = std::str::from_utf8(&b) else {
                continue;
            };
            let Some((fast, end)) = simple_key_value(text, 0) else {
                continue;
            };
            let mut ctx = Ctx::new(Vec::new(), Limits::default());
            let mut p = Parser {
                text,
                b: text.as_bytes(),
                pos: 0,
            };
            let slow = p.key_value_fields(&mut ctx, 1).unwrap_or_else(|e| {
                panic!("{text}: shortcut accepted, reader failed: {}", e.message)
            });
            assert_eq!((fast, end), (slow, p.pos), "{text}");
            checked += 1;
        }
        assert!(checked > 3_000, "{checked}");
    }

    use crate::testutil::json_events as events;

    fn error(text: &[u8]) -> DecodeError {
        let mut out = Vec::new();
        let err = decode(text, Encoding::Json, &Limits::default(), &mut out).unwrap_err();
        assert!(out.is_empty());
        assert_eq!(err.kind(), ErrorKind::Json);
        err
    }

    fn attr<'a>(key: &'a str, value: AnyValue<'a>) -> Attr<'a> {
        Attr {
            key: key.into(),
            value,
        }
    }

    fn s(v: &str) -> AnyValue<'_> {
        AnyValue::Str(v.into())
    }

    #[test]
    fn logs_example() {
        let bytes = fixture("logs.json");
        let out = events(std::str::from_utf8(&bytes).unwrap());
        let Event::Log {
            severity_number,
            severity_text,
            event_name,
            time_unix_nano,
            body,
        } = &out[4]
        else {
            panic!("{:?}", out[4])
        };
        assert_eq!(
            (*severity_number, &**severity_text, &**event_name),
            (10, "Information", "")
        );
        assert_eq!(*time_unix_nano, 1544712660300000000);
        assert_eq!(body, &Some(s("Example log record")));
        let attrs: Vec<(String, &str, String)> = out[5..]
            .iter()
            .map(|e| match e {
                Event::LogAttr(a) => (a.key.to_string(), a.value.type_name(), a.value.to_text()),
                e => panic!("{e:?}"),
            })
            .collect();
        let want = [
            ("string.attribute", "string", "some string"),
            ("boolean.attribute", "bool", "true"),
            ("int.attribute", "int", "10"),
            ("double.attribute", "double", "637.704"),
            ("array.attribute", "array", r#"["many","values"]"#),
            (
                "map.attribute",
                "kvlist",
                r#"{"some.map.key":"some value"}"#,
            ),
        ];
        assert_eq!(attrs.len(), want.len());
        for ((k, t, v), (wk, wt, wv)) in attrs.iter().zip(want) {
            assert_eq!((k.as_str(), *t, v.as_str()), (wk, wt, wv));
        }
        assert_eq!(service_name(resource_attrs(&out[1..])), "my.service");
    }

    #[test]
    fn events_example() {
        let bytes = fixture("events.json");
        let out = events(std::str::from_utf8(&bytes).unwrap());
        let Event::Log {
            event_name, body, ..
        } = &out[4]
        else {
            panic!("{:?}", out[4])
        };
        assert_eq!(event_name, "browser.page_view");
        assert_eq!(
            body.as_ref().unwrap().to_text(),
            r#"{"type":0,"url":"https://www.guidgenerator.com/online-guid-generator.aspx","referrer":"https://wwww.google.com","title":"Free Online GUID Generator"}"#
        );
    }

    #[test]
    fn metrics_example() {
        let bytes = fixture("metrics.json");
        let text = std::str::from_utf8(&bytes).unwrap();
        let mut out = Vec::new();
        let summary = decode(
            text.as_bytes(),
            Encoding::Json,
            &Limits::default(),
            &mut out,
        )
        .unwrap();
        let metrics: Vec<_> = out
            .iter()
            .filter_map(|e| match e {
                Event::Metric {
                    name,
                    kind,
                    unit,
                    temporality,
                    monotonic,
                    ..
                } => Some((&**name, *kind, &**unit, *temporality, *monotonic)),
                _ => None,
            })
            .collect();
        use MetricKind::{ExponentialHistogram, Gauge, Histogram, Sum};
        use Temporality::{Delta, Unspecified};
        assert_eq!(
            metrics,
            [
                ("my.counter", Sum, "1", Delta, true),
                ("my.gauge", Gauge, "1", Unspecified, false),
                ("my.histogram", Histogram, "1", Delta, false),
                (
                    "my.exponential.histogram",
                    ExponentialHistogram,
                    "1",
                    Delta,
                    false
                ),
            ]
        );
        assert!(out.contains(&Event::DataPoint {
            time_unix_nano: 1544712660300000000
        }));
        assert_eq!(
            summary,
            Summary {
                requests: 1,
                resources: 1,
                scopes: 1,
                metrics: 4,
                data_points: 4,
                events: out.len(),
                ..Summary::default()
            }
        );
    }

    /// Everything senders do that the spec does not say, in one request.
    #[test]
    fn sender_quirks() {
        let text = "\u{feff}{\"resource_spans\": [{
            \"resource\": null,
            \"scope_spans\": [{
              \"futureField\": {\"a\": [1, 2.5e-3, true, null, {\"b\": \"\\\"\"}]},
              \"spans\": [{
                \"trace_id\": \"5B8EFFF798038103D269B633813FC60C\",
                \"span_id\": \"not even hex\",
                \"na\\u006de\": \"GET /caf\\u00e9 \\ud83e\\udd80\\n\",
                \"kind\": \"SPAN_KIND_CLIENT\",
                \"start_time_unix_nano\": 1544712660000000000,
                \"status\": {},
                \"attributes\": [
                  {\"key\": \"i\", \"value\": {\"int_value\": 7}},
                  {\"key\": \"i2\", \"value\": {\"intValue\": \"-9223372036854775808\"}},
                  {\"key\": \"f\", \"value\": {\"double_value\": \"NaN\"}},
                  {\"key\": \"f2\", \"value\": {\"doubleValue\": \"-Infinity\"}},
                  {\"key\": \"f3\", \"value\": {\"doubleValue\": 3}},
                  {\"key\": \"b\", \"value\": {\"bool_value\": false}},
                  {\"key\": \"e\", \"value\": {}},
                  {\"key\": \"n\", \"value\": null},
                  {\"key\": \"nothing\"},
                  {\"key\": \"bytes\", \"value\": {\"bytes_value\": \"AP9oaQ==\"}},
                  {\"key\": \"url-safe\", \"value\": {\"bytesValue\": \"_-8\"}},
                  {\"key\": \"s\", \"value\": {\"stringValue\": null, \"unknown\": 1}},
                  {\"key\": \"a\", \"value\": {\"array_value\": {\"values\": [{\"stringValue\": \"x\"}, {}]}}},
                  {\"key\": \"m\", \"value\": {\"kvlist_value\": {\"values\": null}}}
                ],
                \"events\": [{\"name\": \"e1\", \"time_unix_nano\": \"5\", \"attributes\": null}],
                \"links\": [{\"traceId\": \"\", \"attributes\": [{\"key\": \"l\", \"value\": {\"stringValue\": \"v\"}}]}],
                \"kind\": 3
              }]
            }]
          }]}";
        let out = events(text);
        let want = vec![
            Event::Resource,
            Event::Scope {
                name: "".into(),
                version: "".into(),
            },
            Event::Span {
                name: "GET /café 🦀\n".into(),
                kind: SpanKind::Client,
                start_time_unix_nano: 1544712660000000000,
            },
            Event::SpanAttr(attr("i", AnyValue::Int(7))),
            Event::SpanAttr(attr("i2", AnyValue::Int(i64::MIN))),
            Event::SpanAttr(attr("f", AnyValue::Double(f64::NAN))),
            Event::SpanAttr(attr("f2", AnyValue::Double(f64::NEG_INFINITY))),
            Event::SpanAttr(attr("f3", AnyValue::Double(3.0))),
            Event::SpanAttr(attr("b", AnyValue::Bool(false))),
            Event::SpanAttr(attr("e", AnyValue::Empty)),
            Event::SpanAttr(attr("n", AnyValue::Empty)),
            Event::SpanAttr(attr("nothing", AnyValue::Empty)),
            Event::SpanAttr(attr("bytes", AnyValue::Bytes(Cow::Borrowed(b"\x00\xffhi")))),
            Event::SpanAttr(attr(
                "url-safe",
                AnyValue::Bytes(Cow::Borrowed(b"\xff\xef")),
            )),
            Event::SpanAttr(attr("s", AnyValue::Empty)),
            Event::SpanAttr(attr("a", AnyValue::Array(vec![s("x"), AnyValue::Empty]))),
            Event::SpanAttr(attr("m", AnyValue::KvList(vec![]))),
            Event::SpanEvent {
                name: "e1".into(),
                time_unix_nano: 5,
            },
            Event::SpanLink,
            Event::SpanLinkAttr(attr("l", s("v"))),
        ];
        assert_eq!(out, want);
        // The last `kind` wins; escaped strings are owned, others borrowed.
        assert!(matches!(
            &out[2],
            Event::Span {
                name: Cow::Owned(_),
                ..
            }
        ));
        assert!(
            matches!(&out[out.len() - 1], Event::SpanLinkAttr(a) if matches!(a.key, Cow::Borrowed(_)))
        );
        assert_eq!(service_name(resource_attrs(&out[1..])), "unknown_service");
    }

    #[test]
    fn enum_names_and_numbers() {
        let log = |severity: &str| {
            let text = format!(
                r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"severityNumber":{severity},"observedTimeUnixNano":"42"}}]}}]}}]}}"#
            );
            let out = events(&text).into_iter().nth(2).map(|e| match e {
                Event::Log {
                    severity_number,
                    time_unix_nano,
                    ..
                } => (severity_number, time_unix_nano),
                e => panic!("{e:?}"),
            });
            out.unwrap()
        };
        assert_eq!(log("9"), (9, 42));
        assert_eq!(log("\"9\""), (9, 42));
        assert_eq!(log("\"SEVERITY_NUMBER_INFO\""), (9, 42));
        assert_eq!(log("\"SEVERITY_NUMBER_WARN3\""), (15, 42));
        assert_eq!(log("\"FATAL4\""), (24, 42));
        assert_eq!(log("\"SEVERITY_NUMBER_UNSPECIFIED\""), (0, 42));
        assert_eq!(log("\"NOT_A_LEVEL\""), (0, 42));
        assert_eq!(log("null"), (0, 42));
        let sum = |t: &str| {
            let text = format!(
                r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"sum":{{"aggregationTemporality":{t},"isMonotonic":"true"}}}}]}}]}}]}}"#
            );
            match &events(&text)[2] {
                Event::Metric {
                    temporality,
                    monotonic,
                    ..
                } => (*temporality, *monotonic),
                e => panic!("{e:?}"),
            }
        };
        assert_eq!(sum("1"), (Temporality::Delta, true));
        assert_eq!(
            sum("\"AGGREGATION_TEMPORALITY_CUMULATIVE\""),
            (Temporality::Cumulative, true)
        );
    }

    #[test]
    fn json_lines_of_mixed_signals() {
        let traces = String::from_utf8(fixture("trace.json")).unwrap();
        let logs = String::from_utf8(fixture("logs.json")).unwrap();
        let metrics = String::from_utf8(fixture("metrics.json")).unwrap();
        let line = |t: &str| {
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(t).unwrap()).unwrap()
        };
        let text = format!(
            "{}\n\n{}\r\n{}\n   \n",
            line(&traces),
            line(&logs),
            line(&metrics)
        );
        let mut out = Vec::new();
        let summary = decode(
            text.as_bytes(),
            Encoding::Json,
            &Limits::default(),
            &mut out,
        )
        .unwrap();
        assert_eq!(summary.requests, 3);
        assert_eq!((summary.spans, summary.logs, summary.metrics), (1, 1, 4));
        let mut want = events(&traces);
        want.extend(events(&logs));
        want.extend(events(&metrics));
        assert_eq!(out, want);
        // Pretty-printed requests back to back, too.
        let pretty = format!("{traces}{logs}\n{metrics}");
        assert_eq!(events(&pretty), want);

        // An error on the third line says so.
        let bad = format!(
            "{}\n{}\n{{\"resourceLogs\": [{{\"scopeLogs\": 7}}]}}\n",
            line(&traces),
            line(&logs)
        );
        let err = error(bad.as_bytes());
        assert_eq!(
            err.position(),
            Position::Text {
                line: 3,
                column: 33,
                document: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "invalid OTLP/JSON at line 3 column 33 (resourceLogs[0].scopeLogs): expected a list, found '7'"
        );
    }

    #[test]
    fn invalid_json() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "invalid OTLP/JSON: empty payload"),
            (b" \n\t ", "invalid OTLP/JSON: empty payload"),
            (b"hello", "invalid OTLP/JSON at line 1 column 1: expected an OTLP/JSON export request object, found 'h'"),
            (b"[]", "invalid OTLP/JSON at line 1 column 1: expected an OTLP/JSON export request object, found '['"),
            (b"null", "invalid OTLP/JSON at line 1 column 1: expected an OTLP/JSON export request object, found 'n'"),
            (b"{}", "invalid OTLP/JSON at line 1 column 1: not an OTLP export request: no resourceSpans, resourceMetrics or resourceLogs"),
            (b"{\"foo\": {\"resourceSpans\": []}}", "invalid OTLP/JSON at line 1 column 1: not an OTLP export request: no resourceSpans, resourceMetrics or resourceLogs"),
            (b"{\"resourceSpans\":[{\"resource\":", "invalid OTLP/JSON at line 1 column 31 (resourceSpans[0].resource): expected an object, found the end of the input"),
            (b"{\"resourceSpans\":[]", "invalid OTLP/JSON at line 1 column 20: expected `,` or `}`, found the end of the input"),
            (b"{\"resourceSpans\":[],}", "invalid OTLP/JSON at line 1 column 21: expected a field name, found '}'"),
            (b"{\"resourceSpans\":[{},]}", "invalid OTLP/JSON at line 1 column 22 (resourceSpans[1]): expected a resource block object, found ']'"),
            (b"{\"resourceSpans\" []}", "invalid OTLP/JSON at line 1 column 18: expected `:`, found '['"),
            (b"{\"resourceSpans\":[]} x", "invalid OTLP/JSON at line 1 column 22: expected an OTLP/JSON export request object, found 'x'"),
            (b"{\"resourceSpans\":[]}{\"x\":tru}", "invalid OTLP/JSON at line 1 column 26: expected a JSON value, found 't'"),
            (b"{\"resourceSpans\":[], \"x\": 01}", "invalid OTLP/JSON at line 1 column 28: expected `,` or `}`, found '1'"),
            (b"{\"resourceSpans\":[], \"x\": 1.}", "invalid OTLP/JSON at line 1 column 29: invalid number"),
            (b"{\"resourceSpans\":[], \"x\": \"a\nb\"}", "invalid OTLP/JSON at line 1 column 29: control character in a string"),
            (b"{\"resourceSpans\":[], \"x\": \"\\ud800\"}", "invalid OTLP/JSON at line 1 column 28: lone surrogate in a \\u escape"),
            (b"{\"resourceSpans\":[], \"x\": \"\\q\"}", "invalid OTLP/JSON at line 1 column 28: invalid escape in a string"),
            (b"{\"resourceSpans\":[], \"x\": \"abc", "invalid OTLP/JSON at line 1 column 31: unterminated string"),
            (b"{\"resourceSpans\":[], \"x\": \"\xff\"}", "invalid OTLP/JSON at line 1 column 28: invalid UTF-8"),
            (b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":-5}]}]}]}", "invalid OTLP/JSON at line 1 column 63 (resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano): expected an unsigned 64-bit integer, found -5"),
            (b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":true}]}]}]}", "invalid OTLP/JSON at line 1 column 52 (resourceSpans[0].scopeSpans[0].spans[0].kind): expected an enum number or name, found 't'"),
            (b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"9223372036854775808\"}}]}]}]}]}", "invalid OTLP/JSON at line 1 column 90 (resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue): expected a 64-bit integer, found \"9223372036854775808\""),
            (b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\",\"value\":{\"bytesValue\":\"!!\"}}]}]}]}]}", "invalid OTLP/JSON at line 1 column 92 (resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.bytesValue): invalid base64 in bytesValue"),
            (b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":5}]}]}]}", "invalid OTLP/JSON at line 1 column 52 (resourceSpans[0].scopeSpans[0].spans[0].name): expected a string, found '5'"),
        ];
        for (input, want) in cases {
            let err = error(input);
            assert_eq!(&err.to_string(), want, "{}", String::from_utf8_lossy(input));
        }
        // Gzip is named as such.
        assert!(error(b"\x1f\x8b\x08\x00").message().contains("gzip"));
    }

    /// An object may repeat "attributes" (and "events", "links"): the
    /// lists join in order of their sections, and the attribute limit
    /// counts them together.
    #[test]
    fn repeated_attribute_lists() {
        let list = |prefix: &str, n: usize| {
            let items: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"key":"{prefix}{i}","value":{{"intValue":{i}}}}}"#))
                .collect();
            format!(r#""attributes":[{}]"#, items.join(","))
        };
        let spans = |span: &str| {
            format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{span}]}}]}}]}}"#)
        };
        // Interleaved with events: the same events as in order.
        let shuffled = spans(&format!(
            r#"{{"name":"s",{},"events":[{{"name":"e1"}}],{},"links":[{{}}],"events":[{{"name":"e2"}}],{}}}"#,
            list("a", 2),
            list("b", 1),
            list("c", 2)
        ));
        let ordered = spans(&format!(
            r#"{{"name":"s","attributes":[{}],"events":[{{"name":"e1"}},{{"name":"e2"}}],"links":[{{}}]}}"#,
            [list("a", 2), list("b", 1), list("c", 2)]
                .iter()
                .map(|l| &l[l.find('[').unwrap() + 1..l.len() - 1])
                .collect::<Vec<_>>()
                .join(",")
        ));
        assert_eq!(events(&shuffled), events(&ordered));
        // The limit counts every list of a record.
        let record = |kind: &str, a: usize, b: usize| -> String {
            let two = format!("{},{}", list("a", a), list("b", b));
            match kind {
                "span" => spans(&format!("{{{two}}}")),
                "event" => spans(&format!(r#"{{"events":[{{{two}}}]}}"#)),
                "link" => spans(&format!(r#"{{"links":[{{{two}}}]}}"#)),
                "resource" => format!(r#"{{"resourceSpans":[{{"resource":{{{two}}}}}]}}"#),
                "resource twice" => format!(
                    r#"{{"resourceSpans":[{{"resource":{{{}}},"resource":{{{}}}}}]}}"#,
                    list("a", a),
                    list("b", b)
                ),
                "scope" => {
                    format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"scope":{{{two}}}}}]}}]}}"#)
                }
                "point" => format!(
                    r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"m","gauge":{{"dataPoints":[{{{two}}}]}}}}]}}]}}]}}"#
                ),
                "log" => format!(
                    r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{{two}}}]}}]}}]}}"#
                ),
                _ => unreachable!(),
            }
        };
        for kind in [
            "span",
            "event",
            "link",
            "resource",
            "resource twice",
            "scope",
            "point",
            "log",
        ] {
            assert!(!events(&record(kind, 2048, 2048)).is_empty(), "{kind}");
            let err = error(record(kind, 3000, 1097).as_bytes());
            assert!(
                err.message().contains("max_attributes_per_record"),
                "{kind}: {err}"
            );
        }
    }

    #[test]
    fn hostile_json() {
        let limits = Limits::default();
        let nested = |depth: usize| {
            let mut v = String::from("{}");
            for _ in 1..depth {
                v = format!("{{\"arrayValue\":{{\"values\":[{v}]}}}}");
            }
            format!(
                "{{\"resourceLogs\":[{{\"scopeLogs\":[{{\"logRecords\":[{{\"body\":{v}}}]}}]}}]}}"
            )
        };
        assert!(
            decode(
                nested(32).as_bytes(),
                Encoding::Json,
                &limits,
                &mut Vec::new()
            )
            .is_ok()
        );
        let err = error(nested(33).as_bytes());
        assert!(err.message().contains("max_depth"), "{err}");
        assert!(
            err.path().starts_with(
                "resourceLogs[0].scopeLogs[0].logRecords[0].body.arrayValue.values[0]"
            )
        );

        // Deep nesting in an unknown field: an error, not a stack overflow.
        let deep = format!(
            "{{\"resourceSpans\":[],\"x\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(error(deep.as_bytes()).message().contains("deeper than 128"));

        // A million attributes on one record.
        let one = r#"{"key":"k","value":{"intValue":1}},"#;
        let many = |n: usize| {
            let mut attrs = one.repeat(n);
            attrs.pop();
            format!(
                r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"attributes":[{attrs}]}}]}}]}}]}}"#
            )
        };
        let err = error(many(1_000_000).as_bytes());
        assert_eq!(
            err.message(),
            "more than 4096 attributes in one record (max_attributes_per_record)"
        );
        assert_eq!(
            err.path(),
            "resourceLogs[0].scopeLogs[0].logRecords[0].attributes[4096]"
        );
        assert_eq!(events(&many(4096)).len(), 3 + 4096);

        // max_events counts nested values too.
        let array = format!(
            r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{{"arrayValue":{{"values":[{}{{}}]}}}}}}]}}]}}]}}"#,
            "{},".repeat(99)
        );
        let small = Limits {
            max_events: 100,
            ..limits
        };
        let err = decode(array.as_bytes(), Encoding::Json, &small, &mut Vec::new()).unwrap_err();
        assert!(err.message().contains("max_events"), "{err}");
        let enough = Limits {
            max_events: 103,
            ..limits
        };
        assert!(decode(array.as_bytes(), Encoding::Json, &enough, &mut Vec::new()).is_ok());
    }

    trait FilterOutOfRange {
        fn filter_out_range(self) -> Result<(), serde_json::Error>;
    }

    impl<T> FilterOutOfRange for Result<T, serde_json::Error> {
        fn filter_out_range(self) -> Result<(), serde_json::Error> {
            match self {
                Err(e) if !e.to_string().starts_with("number out of range") => Err(e),
                _ => Ok(()),
            }
        }
    }

    /// Random bytes and mutations of valid requests: never a panic, and
    /// nothing accepted that is not JSON.
    #[test]
    fn fuzz_json() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut seeds: Vec<Vec<u8>> = ["trace", "metrics", "logs", "events"]
            .iter()
            .map(|n| fixture(&format!("{n}.json")))
            .collect();
        for seed in 0..8 {
            for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
                let req = random_request(signal, seed);
                seeds.push(to_json(&req, &mut Style::quirky(seed)).into_bytes());
            }
        }
        const ALPHABET: &[u8] = b"{}[]\":,\\ 0123456789-+.eEtruefalsn\n\x01\xc3\xa9";
        let mut accepted = 0;
        for i in 0..6_000 {
            let mut bytes = seeds[i % seeds.len()].clone();
            if rng.u8(..10) == 0 {
                let n = rng.usize(..64);
                bytes = std::iter::repeat_with(|| *rng.choice(ALPHABET).unwrap())
                    .take(n)
                    .collect();
            } else {
                for _ in 0..rng.usize(1..4) {
                    if bytes.is_empty() {
                        break;
                    }
                    let at = rng.usize(..bytes.len());
                    match rng.u8(..4) {
                        0 => bytes[at] = *rng.choice(ALPHABET).unwrap(),
                        1 => bytes.truncate(at),
                        2 => bytes.insert(at, *rng.choice(ALPHABET).unwrap()),
                        _ => {
                            bytes.remove(at);
                        }
                    }
                }
            }
            let mut out = Vec::new();
            if decode(&bytes, Encoding::Json, &Limits::default(), &mut out).is_ok() {
                accepted += 1;
                let values = serde_json::Deserializer::from_slice(&bytes)
                    .into_iter::<serde_json::Value>()
                    .collect::<Result<Vec<_>, _>>();
                // serde_json refuses numbers beyond f64 (JSON does not).
                if let Err(e) = values.filter_out_range() {
                    let text = String::from_utf8_lossy(&bytes);
                    let line = text.lines().nth(e.line() - 1).unwrap_or("");
                    panic!("accepted invalid JSON: {e}: {line:?}");
                }
            }
        }
        assert!(accepted > 300, "{accepted}");
    }
}
