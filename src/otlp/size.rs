//! Sizes in the OTLP protobuf encoding, computed from decoded values, so
//! that a payload counts the same bytes whether it came as protobuf or as
//! JSON: what a canonical encoder (prost, the Collector's) writes for the
//! value. An [`AnyValue::Empty`] attribute value counts as absent (the
//! `KeyValue.value` field omitted); an empty element of an array counts as
//! an empty `AnyValue` message (2 bytes).
//!
//! Every field concerned has a number below 16, so every tag is one byte.

use super::event::{AnyValue, Attr};

/// Bytes of `v` as a protobuf varint (1 to 10).
#[inline]
pub fn varint_len(v: u64) -> usize {
    // One byte per 7 bits, and one for 0.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes of a length-delimited field whose content takes `n` bytes: tag,
/// length, content.
#[inline]
pub fn len_field(n: usize) -> usize {
    1 + varint_len(n as u64) + n
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
