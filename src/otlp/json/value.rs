//! Attribute and value readers of the JSON decoder: the fast path for a
//! `KeyValue` in the shape SDKs write, then `AnyValue` field by field.

use std::borrow::Cow;

use super::super::{AnyValue, Attr, AttrTarget, Ctx, Fallible, Within, overwrite};
use super::syntax::special_byte;
use super::{Parser, set};

/// The usual shape of a `KeyValue` as SDKs and the Collector write it,
/// read straight from the text at `at`: `{"key":"K","value":{"stringValue":
/// "S"}}` (strings without escapes), `{"intValue":"N"}` or `{"intValue":N}`
/// (up to 18 digits, no sign or leading zero), `{"boolValue":true|false}`,
/// with no whitespace. Returns the attribute and the offset after it, or
/// `None` for anything else, which the field-by-field reader then decodes,
/// or reports, as usual (a randomised test checks they agree).
#[inline(always)]
pub(super) fn simple_key_value(text: &str, at: usize) -> Option<(Attr<'_>, usize)> {
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

impl<'a> Parser<'a> {
    /// An `attributes` list, each appended as an event. `n`: the record's
    /// attributes so far (an object may repeat "attributes"; the limit
    /// counts them all). Returns the bytes the list takes in its record in
    /// protobuf.
    pub(super) fn attributes(
        &mut self,
        ctx: &mut Ctx<'a>,
        target: AttrTarget,
        n: &mut usize,
    ) -> Fallible<usize> {
        let mut bytes = 0;
        self.list(ctx, "attributes", |p, ctx, _| {
            ctx.check_attr_index(*n).map_err(|f| p.fail(f))?;
            let attr = p.key_value(ctx, 1)?;
            bytes += attr.field_len();
            ctx.push(target.wrap_clipped(attr)).map_err(|f| p.fail(f))?;
            *n += 1;
            Ok(())
        })?;
        Ok(bytes)
    }

    /// A list of `KeyValue`s that are not attributes of the catalog (a
    /// metric's `metadata`, an exemplar's `filteredAttributes`): only the
    /// bytes they take in their message in protobuf.
    pub(super) fn key_value_bytes(
        &mut self,
        ctx: &mut Ctx<'a>,
        name: &'static str,
    ) -> Fallible<usize> {
        let mut bytes = 0;
        self.list(ctx, name, |p, ctx, _| {
            ctx.spend().map_err(|f| p.fail(f))?;
            bytes += p.key_value(ctx, 1)?.field_len();
            Ok(())
        })?;
        Ok(bytes)
    }

    /// A `KeyValue` whose value is at nesting `depth`.
    #[inline(always)]
    pub(super) fn key_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<Attr<'a>> {
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
    pub(super) fn any_value(&mut self, ctx: &mut Ctx<'a>, depth: usize) -> Fallible<AnyValue<'a>> {
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
    pub(super) fn array_value(
        &mut self,
        ctx: &mut Ctx<'a>,
        depth: usize,
    ) -> Fallible<Vec<AnyValue<'a>>> {
        self.values_object(ctx, depth, "an array value object", Self::any_value)
    }

    /// A `kvlistValue` object, whose values are at nesting `depth`.
    pub(super) fn kvlist_value(
        &mut self,
        ctx: &mut Ctx<'a>,
        depth: usize,
    ) -> Fallible<Vec<Attr<'a>>> {
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

#[cfg(test)]
mod tests {
    use super::super::super::{Ctx, Limits};
    use super::{Parser, simple_key_value};

    /// The `KeyValue` shortcut agrees with the field-by-field reader on
    /// everything it accepts: canonical attributes of each kind and random
    /// mutations of them (bytes changed, cut, appended).
    #[test]
    fn simple_key_value_agrees_with_the_field_reader() {
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
}
