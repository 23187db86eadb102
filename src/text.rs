//! The value-to-text rule shared by sketches, samples and OTLP attributes.
//!
//! A value is hashed into a sketch, and shown in a sample list, as the UTF-8
//! bytes of its text form: integers in decimal, reals in the shortest form
//! that reads back to the same double, written the way JavaScript (and so
//! most OTLP/JSON senders) writes numbers: plain decimal when
//! 1e-6 <= |x| < 1e21 or x is 0 (`1`, `0.1`, `637.704`, `-0`), exponent form
//! otherwise (`1e21`, `1.5e-7`); infinities as `Infinity` / `-Infinity`, NaN
//! as `NaN`, the spellings of OTLP/JSON. Text as is, blobs as their bytes. The same
//! rule renders OTLP attribute values, so a value hashed by `hll_sketch` in
//! SQL and the same value arriving through `otlp_ingest` land in the same
//! register. See docs/FORMAT.md.

use std::fmt::Write;

use crate::ffi::{Arg, Kind};

/// Appends the text form of a double.
pub fn push_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let a = v.abs();
        let _ = if a != 0.0 && !(1e-6..1e21).contains(&a) {
            write!(out, "{v:e}")
        } else {
            write!(out, "{v}")
        };
    }
}

/// Appends the decimal form of an integer.
pub fn push_i64(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// The bytes a SQL value is hashed and sampled as; `None` for NULL.
/// `buf` holds the text of numbers (cleared first).
pub fn value_bytes<'a>(arg: Arg<'a>, buf: &'a mut String) -> Option<&'a [u8]> {
    match arg.kind() {
        Kind::Null => None,
        Kind::Integer => {
            buf.clear();
            push_i64(buf, arg.i64());
            Some(buf.as_bytes())
        }
        Kind::Real => {
            buf.clear();
            push_f64(buf, arg.f64());
            Some(buf.as_bytes())
        }
        Kind::Text => Some(arg.text_bytes()),
        Kind::Blob => Some(arg.blob()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_shortest_round_trip() {
        let cases = [
            (1.0, "1"),
            (0.1, "0.1"),
            (1e21, "1e21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (1.5e-6, "0.0000015"),
            (-0.0, "-0"),
            (123456789.5, "123456789.5"),
            (637.704, "637.704"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            let mut s = String::new();
            push_f64(&mut s, v);
            assert_eq!(s, want);
            if v.is_finite() {
                assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn integers_decimal() {
        let mut s = String::new();
        push_i64(&mut s, i64::MIN);
        assert_eq!(s, "-9223372036854775808");
    }
}
