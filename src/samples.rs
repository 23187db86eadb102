//! Sample functions: `json_samples_merge` and the `json_samples` aggregate.
//!
//! A sample list is a JSON array of the first N distinct values seen, in
//! arrival order (the catalog keeps N = 10). Two elements are the same when
//! their compact JSON texts are equal.

use std::borrow::Cow;

use serde_json::Value;

use crate::ffi::{self, Aggregate, Arg, Ctx, Db, Kind, Result, bail};
use crate::text;

pub const DEFAULT_MAX_N: usize = 10;
pub const MAX_MAX_N: i64 = 10_000;

fn max_n_arg(func: &str, arg: Arg, pos: usize) -> Result<usize> {
    if arg.kind() != Kind::Integer {
        bail!(
            "{func}: argument {pos} (max_n) must be an integer from 0 to {MAX_MAX_N}, got {}",
            arg.kind().name()
        );
    }
    let v = arg.i64();
    if !(0..=MAX_MAX_N).contains(&v) {
        bail!("{func}: argument {pos} (max_n) must be from 0 to {MAX_MAX_N}, got {v}");
    }
    Ok(v as usize)
}

/// An ordered set of distinct compact-JSON element texts, capped at `max`.
pub struct Samples {
    max: usize,
    order: Vec<String>,
}

impl Samples {
    pub fn new(max: usize) -> Self {
        Samples {
            max,
            order: Vec::new(),
        }
    }
    #[inline]
    pub fn is_full(&self) -> bool {
        self.order.len() >= self.max
    }
    /// Adds one element given as compact JSON text; false when full.
    /// (At most `max` elements: a linear scan beats hashing here.)
    pub fn push_json(&mut self, json: String) -> bool {
        if self.is_full() {
            return false;
        }
        if !self.order.contains(&json) {
            self.order.push(json);
        }
        true
    }
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.order.len()
    }
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
    pub fn to_json(&self) -> String {
        json_array(&self.order)
    }
}

/// The JSON array of elements given as compact JSON texts.
fn json_array<S: AsRef<str>>(elements: &[S]) -> String {
    let len = elements.iter().map(|s| s.as_ref().len() + 1).sum::<usize>();
    let mut out = String::with_capacity(2 + len);
    out.push('[');
    for (i, s) in elements.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(s.as_ref());
    }
    out.push(']');
    out
}

/// Deepest nesting accepted in a sample list (serde_json's own limit).
const MAX_DEPTH: usize = 128;

/// The deepest array/object nesting of a JSON text (strings skipped).
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The elements of a JSON array text, validated, each in compact form
/// (borrowed when it is compact already, as otelcat writes them).
fn array_elements(array_text: &str) -> std::result::Result<Vec<Cow<'_, str>>, String> {
    match plain_strings(array_text) {
        Some(items) => Ok(items),
        None => parsed_elements(array_text),
    }
}

/// [`array_elements`] through the JSON parser.
fn parsed_elements(array_text: &str) -> std::result::Result<Vec<Cow<'_, str>>, String> {
    // The nesting scan only matters when the text has that many brackets.
    if array_text
        .bytes()
        .filter(|&b| b == b'[' || b == b'{')
        .count()
        > MAX_DEPTH
        && nesting_depth(array_text) > MAX_DEPTH
    {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    let items: Vec<&serde_json::value::RawValue> = match serde_json::from_str(array_text) {
        Ok(items) => items,
        Err(e) => {
            // Say what it is when it is JSON but not an array.
            return Err(match serde_json::from_str::<Value>(array_text) {
                Ok(v) if !v.is_array() => format!("a JSON {} is not an array", json_kind(&v)),
                _ => e.to_string(),
            });
        }
    };
    items
        .into_iter()
        .map(|item| {
            let raw = item.get();
            // Compact already: a string without escapes (serde_json writes it
            // the same), a number or literal; an array or object without
            // whitespace or escapes. Otherwise re-serialized.
            let canonical = match raw.as_bytes().first() {
                Some(b'"') => short_escapes_only(raw),
                Some(b'[' | b'{') => !raw
                    .bytes()
                    .any(|b| matches!(b, b' ' | b'\n' | b'\t' | b'\r' | b'\\')),
                _ => true,
            };
            if !canonical {
                serde_json::from_str::<Value>(raw)
                    .map(|v| Cow::Owned(v.to_string()))
                    .map_err(|e| e.to_string())
            } else {
                Ok(Cow::Borrowed(raw))
            }
        })
        .collect()
}

/// The elements of an array of strings without whitespace, control
/// characters or escapes other than serde_json's short ones (`\"` `\\`
/// `\n` `\r` `\t` `\b` `\f`), as otelcat writes sample lists
/// (`["GET","POST"]`), read without the JSON parser: such a text is valid
/// JSON, compact, and its elements are the quoted slices. `None` for
/// anything else (the parser reads that).
fn plain_strings(text: &str) -> Option<Vec<Cow<'_, str>>> {
    let b = text.as_bytes();
    if b.len() < 2 || b[0] != b'[' || b[b.len() - 1] != b']' {
        return None;
    }
    let mut out = Vec::with_capacity(16);
    if b.len() == 2 {
        return Some(out);
    }
    // Control characters are not allowed anywhere in such a text.
    if !b.iter().fold(true, |ok, &c| ok & (c >= 0x20)) {
        return None;
    }
    let mut i = 1;
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let mut end = i + 1;
        loop {
            end += memchr::memchr2(b'"', b'\\', &b[end..])?;
            if b[end] == b'"' {
                break;
            }
            match b.get(end + 1) {
                Some(&e) if is_short_escape(e) => end += 2,
                _ => return None,
            }
        }
        out.push(Cow::Borrowed(&text[i..=end]));
        match b.get(end + 1) {
            Some(b',') => i = end + 2,
            Some(b']') if end + 2 == b.len() => return Some(out),
            _ => return None,
        }
    }
}

/// Whether `\` + `e` is an escape serde_json writes itself (`\"` `\\`
/// `\n` `\r` `\t` `\b` `\f`; other control characters it writes `\u00XX`).
fn is_short_escape(e: u8) -> bool {
    matches!(e, b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f')
}

/// Whether every escape of a JSON string is one serde_json writes itself
/// (`\"` `\\` `\n` `\r` `\t` `\b` `\f`): then the text is compact as is.
fn short_escapes_only(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b'\\') {
        match b.get(i + p + 1) {
            Some(&e) if is_short_escape(e) => i += p + 2,
            _ => return false,
        }
    }
    true
}

/// Merges two sample lists (pure logic of `json_samples_merge`): both are
/// parsed (and so checked) whole, then the first `max_n` distinct elements
/// are written out, without a copy of each element.
pub fn merge(
    existing: Option<&str>,
    incoming: Option<&str>,
    max_n: usize,
) -> std::result::Result<String, (usize, String)> {
    let mut lists = Vec::with_capacity(2);
    for (i, t) in [existing, incoming].into_iter().enumerate() {
        if let Some(t) = t {
            lists.push(array_elements(t).map_err(|why| (i + 1, why))?);
        }
    }
    let mut picked: Vec<&str> = Vec::with_capacity(max_n.min(16));
    for e in lists.iter().flatten() {
        if picked.len() >= max_n {
            break;
        }
        if !picked.contains(&e.as_ref()) {
            picked.push(e);
        }
    }
    Ok(json_array(&picked))
}

fn array_arg<'a>(arg: Arg<'a>, pos: usize) -> Result<Option<&'a str>> {
    match arg.kind() {
        Kind::Null => Ok(None),
        Kind::Text => Ok(Some(arg.str("json_samples_merge", pos)?)),
        k => bail!(
            "json_samples_merge: argument {pos} is not a JSON array (got {}): a sample list is JSON text",
            k.name()
        ),
    }
}

/// `json_samples_merge(existing, incoming [, max_n])`.
pub fn json_samples_merge(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let max_n = match args.get(2) {
        Some(&a) => max_n_arg("json_samples_merge", a, 3)?,
        None => DEFAULT_MAX_N,
    };
    let existing = array_arg(args[0], 1)?;
    let incoming = array_arg(args[1], 2)?;
    match merge(existing, incoming, max_n) {
        Ok(s) => ctx.text(&s),
        Err((pos, why)) => bail!("json_samples_merge: argument {pos} is not a JSON array ({why})"),
    }
}

/// `json_samples(value [, max_n])`: the first max_n distinct non-NULL values.
pub struct SamplesAgg {
    samples: Samples,
    buf: String,
}

impl Aggregate for SamplesAgg {
    fn new(args: &[Arg]) -> Result<Self> {
        let max_n = match args.get(1) {
            Some(&a) => max_n_arg("json_samples", a, 2)?,
            None => DEFAULT_MAX_N,
        };
        Ok(SamplesAgg {
            samples: Samples::new(max_n),
            buf: String::new(),
        })
    }
    fn step(&mut self, args: &[Arg]) -> Result<()> {
        if self.samples.is_full() {
            return Ok(());
        }
        let a = args[0];
        let json = match a.kind() {
            Kind::Null => return Ok(()),
            Kind::Integer | Kind::Real => {
                self.buf.clear();
                if a.kind() == Kind::Integer {
                    text::push_i64(&mut self.buf, a.i64());
                } else {
                    let f = a.f64();
                    if !f.is_finite() {
                        // JSON has no infinities: keep the text form as a string.
                        text::push_f64(&mut self.buf, f);
                        self.buf = Value::String(std::mem::take(&mut self.buf)).to_string();
                    } else {
                        text::push_f64(&mut self.buf, f);
                    }
                }
                self.buf.clone()
            }
            Kind::Text => Value::String(a.str("json_samples", 1)?.to_string()).to_string(),
            Kind::Blob => bail!("json_samples: argument 1 is a BLOB, which JSON cannot hold"),
        };
        self.samples.push_json(json);
        Ok(())
    }
    fn result(&mut self, ctx: Ctx) -> Result<()> {
        ctx.text(&self.samples.to_json())
    }
    /// Like json_group_array: no rows give an empty array.
    fn empty(ctx: Ctx) -> Result<()> {
        ctx.text("[]")
    }
}

pub fn register(db: Db) -> Result<()> {
    let pure = ffi::pure();
    ffi::define_scalar(db, "json_samples_merge", 2, pure, json_samples_merge)?;
    ffi::define_scalar(db, "json_samples_merge", 3, pure, json_samples_merge)?;
    ffi::define_aggregate::<SamplesAgg>(db, "json_samples", 1, pure)?;
    ffi::define_aggregate::<SamplesAgg>(db, "json_samples", 2, pure)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_order_and_distinct() {
        assert_eq!(
            merge(Some(r#"["a","b"]"#), Some(r#"["b","c"]"#), 10).unwrap(),
            r#"["a","b","c"]"#
        );
        assert_eq!(
            merge(None, Some(r#"["x","x",1,"1"]"#), 10).unwrap(),
            r#"["x",1,"1"]"#
        );
        assert_eq!(merge(None, None, 10).unwrap(), "[]");
        assert_eq!(
            merge(Some(r#"[1,2,3]"#), Some(r#"[4]"#), 2).unwrap(),
            "[1,2]"
        );
        assert_eq!(
            merge(Some(r#"[{"a":1}]"#), Some(r#"[{"a":1},[1,2]]"#), 10).unwrap(),
            r#"[{"a":1},[1,2]]"#
        );
    }

    #[test]
    fn elements_compare_in_compact_form() {
        assert_eq!(
            merge(
                None,
                Some(r#"["a\u0041", "aA", "x y", [1, 2], [1,2], {"k": "v w"}, {"k":"v w"}, "q\"\n", "q\u0022\u000a", "\/"]"#),
                10
            )
            .unwrap(),
            r#"["aA","x y",[1,2],{"k":"v w"},"q\"\n","/"]"#
        );
    }

    /// The parser-free reading of plain string arrays gives what the JSON
    /// parser gives, and refuses whatever is not exactly such an array.
    #[test]
    fn plain_string_arrays_read_like_the_parser() {
        let plain = [
            "[]",
            r#"[""]"#,
            r#"["GET"]"#,
            r#"["a","b","a"]"#,
            "[\"é ü\",\"日本\",\"x y\",\"\u{7f}\"]",
            r#"["a\"b","c\\d","e\nf\r\t\b\f"]"#,
            r#"["[1,\"x\",0]","\\"]"#,
        ];
        for t in plain {
            let fast = plain_strings(t).unwrap_or_else(|| panic!("{t}"));
            assert_eq!(fast, parsed_elements(t).unwrap(), "{t}");
        }
        let other = [
            "",
            "[",
            "]",
            "[ ]",
            r#"[ "a"]"#,
            r#"["a" ]"#,
            r#"["a",]"#,
            r#"[,"a"]"#,
            r#"["a""b"]"#,
            r#"["a"]]"#,
            r#"["a\u0062"]"#,
            r#"["a\/"]"#,
            r#"["a\"]"#,
            "[\"a\u{1}\"]",
            "[\"a\tb\"]",
            r#"["a"#,
            r#"[1,"a"]"#,
            r#"["a",1]"#,
            r#"[["a"]]"#,
            r#"{"a":"b"}"#,
            r#""a""#,
        ];
        for t in other {
            assert!(plain_strings(t).is_none(), "{t}");
            // Same answer as before this reader existed.
            assert_eq!(array_elements(t), parsed_elements(t), "{t}");
        }
        assert_eq!(
            merge(Some(r#"["a"]"#), Some(r#"["a\u0062","b"]"#), 10).unwrap(),
            r#"["a","ab","b"]"#
        );
    }

    #[test]
    fn merge_rejects_non_arrays() {
        assert_eq!(merge(Some("{}"), None, 10).unwrap_err().0, 1);
        assert_eq!(merge(None, Some("3"), 10).unwrap_err().0, 2);
        assert!(merge(Some("[1,"), None, 10).is_err());
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(merge(Some(&deep), None, 10).is_err());
    }
}
