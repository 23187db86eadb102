//! Key-name patterns: what a key name past an entity's bound of distinct
//! names (`key_name_bound`) is counted as. Names that embed ids
//! (`user.8812.name`, `session.3f2a…-….id`) become one pattern per shape
//! (`user.<num>.name`, `session.<uuid>.id`).
//!
//! The masking is a pure function of the name, segment by segment (the
//! segments lie between `.`, `_`, `-`, `/`, `:`, `@`, `[`, `]` and spaces):
//!
//! - a UUID (8-4-4-4-12 hex digits, anywhere in the name) is `<uuid>`;
//! - a segment of digits only is `<num>`;
//! - a segment of 6 or more hex digits with at least one decimal digit is
//!   `<hex>`;
//! - a segment of 16 or more letters and digits with at least one digit
//!   (a token, a base64 id) is `<id>`;
//! - in any other segment each run of digits is `<num>` (`shard42` is
//!   `shard<num>`).
//!
//! A name without digits is its own pattern. The same name always gives the
//! same pattern, whatever the batch, connection or catalog (the Drain
//! engine was the other choice: it learns from the order names come in,
//! needs a stored model per entity and would let two catalogs disagree).

use std::borrow::Cow;

/// Whether `b` separates segments of a key name.
#[inline]
fn is_sep(b: u8) -> bool {
    matches!(
        b,
        b'.' | b'_' | b'-' | b'/' | b':' | b'@' | b'[' | b']' | b' '
    )
}

/// Whether `s[at..]` starts with a UUID (8-4-4-4-12 hex digits) not glued
/// to letters or digits on either side.
fn uuid_at(s: &[u8], at: usize) -> bool {
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    if s.len() < at + 36 {
        return false;
    }
    let w = &s[at..at + 36];
    let shape = w.iter().enumerate().all(|(i, &b)| {
        if DASHES.contains(&i) {
            b == b'-'
        } else {
            b.is_ascii_hexdigit()
        }
    });
    let glued = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    shape && !glued(at.checked_sub(1).and_then(|i| s.get(i))) && !glued(s.get(at + 36))
}

/// Appends the masked form of one segment (no separator in it).
fn mask_segment(seg: &str, out: &mut String) {
    let b = seg.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        out.push_str(seg);
    } else if digits == b.len() {
        out.push_str("<num>");
    } else if b.len() >= 6 && b.iter().all(u8::is_ascii_hexdigit) {
        out.push_str("<hex>");
    } else if b.len() >= 16 && b.iter().all(u8::is_ascii_alphanumeric) {
        out.push_str("<id>");
    } else {
        let mut in_run = false;
        for ch in seg.chars() {
            if ch.is_ascii_digit() {
                if !in_run {
                    out.push_str("<num>");
                }
                in_run = true;
            } else {
                in_run = false;
                out.push(ch);
            }
        }
    }
}

/// The key-name pattern of `name`: borrowed when the name has no digit.
pub fn pattern(name: &str) -> Cow<'_, str> {
    let b = name.as_bytes();
    if !b.iter().any(u8::is_ascii_digit) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    let mut start = 0;
    while i < b.len() {
        if (i == start || is_sep(b[i - 1])) && uuid_at(b, i) {
            mask_segment(&name[start..i], &mut out);
            out.push_str("<uuid>");
            i += 36;
            start = i;
            continue;
        }
        if is_sep(b[i]) {
            mask_segment(&name[start..i], &mut out);
            out.push(b[i] as char);
            start = i + 1;
        }
        i += 1;
    }
    mask_segment(&name[start..], &mut out);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::pattern;

    #[test]
    fn ids_are_masked_per_segment() {
        let cases = [
            ("http.method", "http.method"),
            ("", ""),
            ("user.12345.name", "user.<num>.name"),
            ("user_12345_name", "user_<num>_name"),
            ("user-7", "user-<num>"),
            ("shard42.load", "shard<num>.load"),
            ("a1b2.x", "a<num>b<num>.x"),
            ("cache.deadbeef01.hits", "cache.<hex>.hits"),
            ("cache.DEADBEEF01.hits", "cache.<hex>.hits"),
            ("cache.deadbeef.hits", "cache.deadbeef.hits"),
            (
                "session.3f2a9c1e-0b7d-4e4f-9a7b-5c1d2e3f4a5b.id",
                "session.<uuid>.id",
            ),
            ("3F2A9C1E-0B7D-4E4F-9A7B-5C1D2E3F4A5B", "<uuid>"),
            (
                "x3f2a9c1e-0b7d-4e4f-9a7b-5c1d2e3f4a5b",
                "x<num>f<num>a<num>c<num>e-<num>b<num>d-<num>e<num>f-<num>a<num>b-<hex>",
            ),
            ("tok.Zk3LmQ9pRt7sVw2xYz.v", "tok.<id>.v"),
            ("k8s.pod.uid", "k<num>s.pod.uid"),
            ("a..1", "a..<num>"),
            ("9", "<num>"),
            ("é1.ü", "é<num>.ü"),
        ];
        for (name, want) in cases {
            assert_eq!(pattern(name), want, "{name}");
        }
    }

    /// Names of one shape with different ids give one pattern; a pattern
    /// is its own pattern (masking is idempotent).
    #[test]
    fn one_pattern_per_shape() {
        let mut rng = 99u64;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            rng >> 11
        };
        for _ in 0..2000 {
            let id = next();
            let name = format!("user.{id}.name");
            assert_eq!(pattern(&name), "user.<num>.name");
            let hex = format!("req_{:016x}_ms", next() | 1);
            let p = pattern(&hex).into_owned();
            assert!(p == "req_<hex>_ms" || p == "req_<num>_ms", "{hex} {p}");
            assert_eq!(pattern(&p), p);
        }
    }

    /// Any text, however odd, gives a pattern without a panic (multi-byte
    /// characters next to digits and separators).
    #[test]
    fn any_text() {
        let alphabet = ["a", "1", ".", "-", "é", "日", "_", "f", "0", " "];
        let mut rng = 5u64;
        for _ in 0..5000 {
            let mut s = String::new();
            for _ in 0..(rng % 50) {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                s.push_str(alphabet[(rng >> 33) as usize % alphabet.len()]);
            }
            let p = pattern(&s);
            assert!(!p.contains(|c: char| c.is_ascii_digit()), "{s} {p}");
        }
    }
}
