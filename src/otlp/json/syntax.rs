//! JSON syntax for the OTLP parser: objects, arrays, strings with their
//! escapes, numbers, literals, skipping unknown values, and the typed
//! optional values OTLP fields hold.

use std::borrow::Cow;

use super::*;

impl<'a> Parser<'a> {
    /// The next byte after whitespace, not consumed.
    #[inline(always)]
    pub(super) fn peek(&mut self) -> Option<u8> {
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
    pub(super) fn expected(&mut self, what: &str) -> Box<crate::otlp::Failure> {
        self.peek();
        let found = match self.text.get(self.pos..).and_then(|t| t.chars().next()) {
            None => "the end of the input".to_owned(),
            Some(c) => format!("{c:?}"),
        };
        failure(self.pos, format!("expected {what}, found {found}"))
    }

    #[cold]
    pub(super) fn fail(&self, f: Fail) -> Box<crate::otlp::Failure> {
        failure(self.pos, f.0)
    }

    pub(super) fn literal(&mut self, word: &'static str) -> Fallible<()> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.expected("a JSON value"))
        }
    }

    /// `{` (or `null`, an object without fields).
    #[inline(always)]
    pub(super) fn object(&mut self, what: &'static str) -> Fallible<Container> {
        self.open(b'{', what)
    }

    /// `open` (`{` or `[`), or `null`, a container without members.
    #[inline(always)]
    pub(super) fn open(&mut self, open: u8, what: &'static str) -> Fallible<Container> {
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
    pub(super) fn key(&mut self, c: &mut Container) -> Fallible<Option<Cow<'a, str>>> {
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
    pub(super) fn array(&mut self, what: &'static str) -> Fallible<Container> {
        self.open(b'[', what)
    }

    /// Whether another element follows (and is next), or `]` ended the array.
    #[inline(always)]
    pub(super) fn item(&mut self, c: &mut Container) -> Fallible<bool> {
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
    pub(super) fn string(&mut self) -> Fallible<Cow<'a, str>> {
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
    pub(super) fn escaped_string(&mut self, start: usize) -> Fallible<String> {
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

    pub(super) fn hex4(&self, at: usize) -> Fallible<u32> {
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
    pub(super) fn number(&mut self) -> Fallible<(&'a str, bool)> {
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
    pub(super) fn skip(&mut self, depth: usize) -> Fallible<()> {
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
    pub(super) fn null(&mut self) -> Fallible<bool> {
        if self.peek() == Some(b'n') {
            self.literal("null")?;
            return Ok(true);
        }
        Ok(false)
    }

    #[inline(always)]
    pub(super) fn opt_str(&mut self) -> Fallible<Option<Cow<'a, str>>> {
        match self.peek() {
            Some(b'"') => self.string().map(Some),
            _ if self.null()? => Ok(None),
            _ => Err(self.expected("a string")),
        }
    }

    /// A number or a string holding one (parsed with `parse`), or null.
    pub(super) fn opt_number<T>(
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

    pub(super) fn opt_u64(&mut self) -> Fallible<Option<u64>> {
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

    pub(super) fn opt_i64(&mut self) -> Fallible<Option<i64>> {
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

    pub(super) fn opt_f64(&mut self) -> Fallible<Option<f64>> {
        // Rust's parser takes "NaN", "Infinity", "-Infinity" (any case) and
        // decimal numbers, correctly rounded.
        self.opt_number(
            "a number, or a string such as \"NaN\" or \"Infinity\"",
            |s, _| s.parse().ok(),
        )
    }

    pub(super) fn opt_bool(&mut self) -> Fallible<Option<bool>> {
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
    pub(super) fn opt_enum(&mut self, names: fn(&str) -> Option<i32>) -> Fallible<Option<i32>> {
        if self.peek() == Some(b'"') {
            let s = self.string()?;
            return Ok(Some(s.parse().ok().or_else(|| names(&s)).unwrap_or(0)));
        }
        self.opt_number("an enum number or name", |s, integer| {
            integer.then(|| s.parse().ok()).flatten()
        })
    }

    /// A base64 `bytesValue`.
    pub(super) fn opt_bytes(&mut self) -> Fallible<Option<Vec<u8>>> {
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
    pub(super) fn list<F>(
        &mut self,
        ctx: &mut Ctx<'a>,
        name: &'static str,
        mut elem: F,
    ) -> Fallible<()>
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

/// The index of the first byte at or after `i` that ends the plain part of
/// a string: `"`, `\\` or a control character (or `b.len()`). Eight bytes
/// at a time: for the short strings of OTLP this beats a call to memchr.
#[inline(always)]
pub(super) fn special_byte(b: &[u8], mut i: usize) -> usize {
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
