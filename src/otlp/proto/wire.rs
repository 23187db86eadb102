//! The protobuf wire format: fields, varints, length-delimited slices and
//! the checks on each.

use std::num::NonZeroU32;

use super::super::{Fail, Failure, Fallible, failure};

pub(super) const VARINT: u8 = 0;
pub(super) const I64: u8 = 1;
pub(super) const LEN: u8 = 2;
pub(super) const I32: u8 = 5;

pub(super) fn wire_type_name(wt: u8) -> &'static str {
    match wt {
        VARINT => "varint",
        I64 => "64-bit",
        LEN => "length-delimited",
        I32 => "32-bit",
        _ => "invalid",
    }
}

/// A cursor over one message: `data[pos..end]`. Offsets are into the whole
/// payload, for error messages.
#[derive(Clone, Copy)]
pub(super) struct Reader<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    pub(super) end: usize,
    /// Offset of the last tag read, where errors about its field point.
    pub(super) tag_at: usize,
}

/// The tag of the field just read: its number and wire type. Small on
/// purpose: `Fallible<Option<Field>>` comes back in registers.
#[derive(Clone, Copy)]
pub(super) struct Field(pub(super) NonZeroU32);

impl Field {
    #[inline(always)]
    pub(super) fn number(self) -> u32 {
        self.0.get() >> 3
    }

    #[inline(always)]
    pub(super) fn wire_type(self) -> u8 {
        (self.0.get() & 7) as u8
    }
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8], pos: usize, end: usize) -> Self {
        Reader {
            data,
            pos,
            end,
            tag_at: pos,
        }
    }

    /// The next field's tag, or `None` at the end of the message.
    #[inline(always)]
    pub(super) fn field(&mut self) -> Fallible<Option<Field>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        self.tag_at = self.pos;
        let tag = self.varint()?;
        let number = tag >> 3;
        let wire_type = (tag & 7) as u8;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(failure(
                self.tag_at,
                format!("invalid field number {number}"),
            ));
        }
        if !matches!(wire_type, VARINT | I64 | LEN | I32) {
            return Err(failure(
                self.tag_at,
                format!("field {number} has unsupported wire type {wire_type}"),
            ));
        }
        Ok(NonZeroU32::new(tag as u32).map(Field))
    }

    #[inline(always)]
    pub(super) fn varint(&mut self) -> Fallible<u64> {
        let bytes = &self.data[self.pos..self.end];
        if let Some(&b) = bytes.first().filter(|&&b| b < 0x80) {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        let mut value = 0u64;
        for (i, &b) in bytes.iter().take(10).enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                if i == 9 && b > 1 {
                    break;
                }
                self.pos += i + 1;
                return Ok(value);
            }
        }
        Err(failure(
            self.pos,
            if bytes.len() < 10 && bytes.iter().all(|b| b & 0x80 != 0) {
                "truncated varint"
            } else {
                "invalid varint"
            },
        ))
    }

    #[inline(always)]
    pub(super) fn take(&mut self, n: usize) -> Fallible<&'a [u8]> {
        if n > self.end - self.pos {
            return Err(failure(
                self.pos,
                format!(
                    "truncated: {n}-byte value, {} bytes left in the message",
                    self.end - self.pos
                ),
            ));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    #[inline(always)]
    pub(super) fn fixed64(&mut self) -> Fallible<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// Skips the value of a field of which only the wire type is known.
    pub(super) fn skip(&mut self, f: Field) -> Fallible<()> {
        match f.wire_type() {
            VARINT => self.varint().map(|_| ()),
            I64 => self.take(8).map(|_| ()),
            I32 => self.take(4).map(|_| ()),
            _ => self.len_delimited().map(|_| ()),
        }
    }

    #[inline(always)]
    pub(super) fn len_delimited(&mut self) -> Fallible<Reader<'a>> {
        let at = self.pos;
        let len = self.varint()?;
        let start = self.pos;
        let left = self.end - start;
        let len = match usize::try_from(len) {
            Ok(len) if len <= left => len,
            _ => {
                return Err(failure(
                    at,
                    format!("truncated: {len} bytes announced, {left} left in the message"),
                ));
            }
        };
        self.pos += len;
        Ok(Reader::new(self.data, start, start + len))
    }

    #[inline(always)]
    pub(super) fn expect(&self, f: Field, wire_type: u8) -> Fallible<()> {
        if f.wire_type() == wire_type {
            Ok(())
        } else {
            Err(failure(
                self.tag_at,
                format!(
                    "field {} has wire type {}, expected {}",
                    f.number(),
                    wire_type_name(f.wire_type()),
                    wire_type_name(wire_type)
                ),
            ))
        }
    }

    /// The body of a message field.
    #[inline(always)]
    pub(super) fn message(&mut self, f: Field) -> Fallible<Reader<'a>> {
        self.expect(f, LEN)?;
        self.len_delimited()
    }

    #[inline(always)]
    pub(super) fn bytes(&mut self, f: Field) -> Fallible<&'a [u8]> {
        let r = self.message(f)?;
        Ok(&r.data[r.pos..r.end])
    }

    #[inline(always)]
    pub(super) fn string(&mut self, f: Field) -> Fallible<&'a str> {
        let bytes = self.bytes(f)?;
        // An inlined ASCII check spares most strings the out-of-line
        // `str::from_utf8` call (18 % faster decoding when measured).
        if let Some(s) = crate::ffi::ascii_str(bytes) {
            return Ok(s);
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(_) => Err(failure(
                self.tag_at,
                format!("field {}: invalid UTF-8", f.number()),
            )),
        }
    }

    #[inline(always)]
    pub(super) fn uint(&mut self, f: Field) -> Fallible<u64> {
        self.expect(f, VARINT)?;
        self.varint()
    }

    /// An `int32` or enum field (protobuf truncates to 32 bits).
    #[inline(always)]
    pub(super) fn int32(&mut self, f: Field) -> Fallible<i32> {
        Ok(self.uint(f)? as i32)
    }

    #[inline(always)]
    pub(super) fn fixed64_field(&mut self, f: Field) -> Fallible<u64> {
        self.expect(f, I64)?;
        self.fixed64()
    }

    /// Skips a known field that is not read, checking its wire type.
    /// Inlined with the constant `wire_type` of each caller, so that what
    /// is skipped is known there (no call to [`skip`](Self::skip): a span
    /// skips its ids and end time so).
    #[inline(always)]
    pub(super) fn skip_as(&mut self, f: Field, wire_type: u8) -> Fallible<()> {
        self.expect(f, wire_type)?;
        match wire_type {
            VARINT => self.varint().map(|_| ()),
            I64 => self.take(8).map(|_| ()),
            I32 => self.take(4).map(|_| ()),
            _ => self.len_delimited().map(|_| ()),
        }
    }

    /// Skips a known repeated numeric field, packed or not.
    pub(super) fn skip_packed(&mut self, f: Field, wire_type: u8) -> Fallible<()> {
        if f.wire_type() != LEN {
            self.expect(f, wire_type)?;
        }
        self.skip(f)
    }

    /// Skips a known repeated numeric field, packed or not, and returns how
    /// many values it held (a packed run of varints is read value by value;
    /// one of fixed-size values must be a whole number of them).
    pub(super) fn count_packed(&mut self, f: Field, wire_type: u8) -> Fallible<u32> {
        if f.wire_type() != LEN {
            self.expect(f, wire_type)?;
            self.skip(f)?;
            return Ok(1);
        }
        let at = self.pos;
        let mut run = self.len_delimited()?;
        let n = match wire_type {
            VARINT => {
                let mut n = 0usize;
                while run.pos < run.end {
                    run.varint()?;
                    n += 1;
                }
                n
            }
            _ => {
                let size = if wire_type == I64 { 8 } else { 4 };
                let len = run.end - run.pos;
                if len % size != 0 {
                    return Err(failure(
                        at,
                        format!(
                            "field {}: {len} bytes of packed {size}-byte values",
                            f.number()
                        ),
                    ));
                }
                len / size
            }
        };
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub(super) fn fail(&self, f: Fail) -> Box<Failure> {
        failure(self.pos, f.0)
    }
}
