//! Sizes in the OTLP protobuf encoding, computed from decoded values, so
//! that a payload counts the same bytes whether it came as protobuf or as
//! JSON: what a canonical encoder (prost, the Collector's) writes for the
//! value. An [`AnyValue::Empty`] attribute value counts as absent (the
//! `KeyValue.value` field omitted); an empty element of an array counts as
//! an empty `AnyValue` message (2 bytes).
//!
//! Every field concerned has a number below 16, so every tag is one byte
//! (but `Span.flags`, field 16, which the JSON decoder counts as two).

use super::event::{AnyValue, Attr};

/// Bytes of `v` as a protobuf varint (1 to 10).
#[inline(always)]
pub fn varint_len(v: u64) -> usize {
    // Most lengths and values are under 128: one compare instead of the
    // bit scan and the division by 7 (on the ingest hot path, four times
    // for each attribute: `keys::PairInfo::of`).
    if v < 0x80 { 1 } else { varint_len_long(v) }
}

/// [`varint_len`] of a value of 128 or more.
#[inline]
fn varint_len_long(v: u64) -> usize {
    // One byte per 7 bits.
    (64 - v.leading_zeros() as usize).div_ceil(7)
}

/// Bytes of a length-delimited field whose content takes `n` bytes: tag,
/// length, content.
#[inline(always)]
pub fn len_field(n: usize) -> usize {
    1 + varint_len(n as u64) + n
}

// The fields of a record as a canonical proto3 encoder writes them: a
// scalar field with its default value (0, empty) is left out; a field
// marked `optional`, a oneof member and a message field are written
// whenever they are set. Used by the JSON decoder to count a record's bytes
// (docs/catalog.md "Bytes").

/// A string or bytes field of `n` bytes: absent when empty.
#[inline]
pub fn bytes_field(n: usize) -> usize {
    if n == 0 { 0 } else { len_field(n) }
}

/// A varint field (uint32, uint64, bool, enum, int32 as its 64-bit
/// two's complement): absent when 0.
#[inline]
pub fn varint_field(v: u64) -> usize {
    if v == 0 { 0 } else { 1 + varint_len(v) }
}

/// An `int32` or enum field.
#[inline]
pub fn int32_field(v: i32) -> usize {
    varint_field(i64::from(v) as u64)
}

/// A `sint32` field (zigzag).
#[inline]
pub fn sint32_field(v: i32) -> usize {
    varint_field(u64::from(((v << 1) ^ (v >> 31)) as u32))
}

/// A `fixed64`, `sfixed64` or `double` field holding `nonzero`: 9 bytes,
/// absent when zero.
#[inline]
pub fn fixed64_field(nonzero: bool) -> usize {
    if nonzero { 9 } else { 0 }
}

/// A `fixed32` field: 5 bytes, absent when 0.
#[inline]
pub fn fixed32_field(v: u32) -> usize {
    if v == 0 { 0 } else { 5 }
}

impl AnyValue<'_> {
    /// Bytes of this value as an `AnyValue` message (its content, without
    /// the tag and length of the field that holds it).
    pub fn encoded_len(&self) -> usize {
        match self {
            AnyValue::Empty => 0,
            AnyValue::Str(s) => len_field(s.len()),
            AnyValue::Bool(_) => 2,
            AnyValue::Int(i) => 1 + varint_len(*i as u64),
            AnyValue::Double(_) => 9,
            AnyValue::Bytes(b) => len_field(b.len()),
            AnyValue::Array(values) => {
                len_field(values.iter().map(|v| len_field(v.encoded_len())).sum())
            }
            AnyValue::KvList(kvs) => len_field(kvs.iter().map(Attr::field_len).sum()),
        }
    }
}

impl Attr<'_> {
    /// Bytes of this attribute as a `KeyValue` message (without the tag and
    /// length of the field that holds it).
    pub fn encoded_len(&self) -> usize {
        let key = if self.key.is_empty() {
            0
        } else {
            len_field(self.key.len())
        };
        let value = match self.value {
            AnyValue::Empty => 0,
            ref v => len_field(v.encoded_len()),
        };
        key + value
    }

    /// Bytes this attribute takes in its record: the `KeyValue` message with
    /// the tag and length of the `attributes` field that holds it.
    pub fn field_len(&self) -> usize {
        len_field(self.encoded_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn varints() {
        for (v, n) in [
            (0u64, 1),
            (1, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::MAX >> 1, 9),
            (u64::MAX, 10),
        ] {
            assert_eq!(varint_len(v), n, "{v}");
        }
        // Against the definition, at every bit length and either side of
        // every 7-bit boundary.
        let by_bytes = |v: u64| {
            let mut n = 1;
            let mut x = v >> 7;
            while x > 0 {
                n += 1;
                x >>= 7;
            }
            n
        };
        for bits in 0..64 {
            for v in [1u64 << bits, (1u64 << bits) - 1, (1u64 << bits) + 1] {
                assert_eq!(varint_len(v), by_bytes(v), "{v}");
            }
        }
        for v in 0..70_000 {
            assert_eq!(varint_len(v), by_bytes(v), "{v}");
        }
    }

    #[test]
    fn scalar_fields() {
        assert_eq!(int32_field(0), 0);
        assert_eq!(int32_field(2), 2);
        // A negative int32 is sign-extended: a 10-byte varint.
        assert_eq!(int32_field(-1), 11);
        assert_eq!(sint32_field(-1), 2);
        assert_eq!(sint32_field(-64), 2);
        assert_eq!(sint32_field(64), 3);
        assert_eq!(bytes_field(0), 0);
        assert_eq!(bytes_field(16), 18);
        assert_eq!(fixed32_field(7), 5);
        assert_eq!(fixed64_field(true), 9);
    }

    #[test]
    fn hand_encoded_attributes() {
        let a = |key: &'static str, value| Attr {
            key: Cow::Borrowed(key),
            value,
        };
        // {1: "k", 2: {1: "v"}} = 0a 01 6b 12 03 0a 01 76, in a field: +2.
        assert_eq!(a("k", AnyValue::Str("v".into())).encoded_len(), 8);
        assert_eq!(a("k", AnyValue::Str("v".into())).field_len(), 10);
        // Negative ints take 10 bytes as varints.
        assert_eq!(a("k", AnyValue::Int(-1)).encoded_len(), 3 + 2 + 11);
        assert_eq!(a("k", AnyValue::Double(0.5)).encoded_len(), 3 + 2 + 9);
        assert_eq!(a("k", AnyValue::Empty).encoded_len(), 3);
        // [Empty, true]: values {} and {2: 1}.
        let arr = AnyValue::Array(vec![AnyValue::Empty, AnyValue::Bool(true)]);
        assert_eq!(arr.encoded_len(), 2 + (2 + 4));
        assert_eq!(a("", arr).encoded_len(), 2 + 8);
    }
}
