//! Names and keys longer than [`MAX_NAME_BYTES`], clipped as they are
//! decoded: a catalog stores every name in many rows and indexes (its
//! entity, service, scope and history rows), so a 10 MB span name would
//! cost the commit hundreds of megabytes of writes. What is clipped: span,
//! span event, metric and log event names, scope names and versions,
//! severity texts, attribute keys (of records, resources and scopes, not
//! the keys inside kvlist values) and the `service.name` resource value.

use std::borrow::Cow;

use super::{AnyValue, Attr};

/// The longest name or key kept as sent, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// What a clipped name ends with after its cut: `…#` and 16 hex digits.
const SUFFIX_BYTES: usize = "…#".len() + 16;

/// `name`, or, when it is longer than [`MAX_NAME_BYTES`], its first bytes
/// (cut at a character boundary, at most `MAX_NAME_BYTES` − 20), `…#` and
/// the first 64 bits of the MurmurHash3 x64 128 (seed 0) of the whole name
/// as 16 lowercase hex digits, so that distinct long names stay distinct.
#[inline(always)]
pub fn clip_name(name: Cow<'_, str>) -> Cow<'_, str> {
    if name.len() <= MAX_NAME_BYTES {
        name
    } else {
        Cow::Owned(clip_long(&name))
    }
}

/// [`clip_name`] of a borrowed name (the protobuf decoder's, as read).
#[inline(always)]
pub fn clip_str(name: &str) -> Cow<'_, str> {
    if name.len() <= MAX_NAME_BYTES {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(clip_long(name))
    }
}

/// [`clip_name`] in place.
#[inline(always)]
fn clip(name: &mut Cow<'_, str>) {
    if name.len() > MAX_NAME_BYTES {
        *name = Cow::Owned(clip_long(name));
    }
}

#[cold]
#[inline(never)]
fn clip_long(name: &str) -> String {
    let (hash, _) = crate::hll::murmur3_x64_128(name.as_bytes(), 0);
    let mut cut = MAX_NAME_BYTES - SUFFIX_BYTES;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…#{hash:016x}", &name[..cut])
}

/// Clips an attribute's key, and the value of a resource's `service.name`.
#[inline(always)]
pub(crate) fn clip_attr(attr: &mut Attr<'_>, resource: bool) {
    clip(&mut attr.key);
    if resource
        && attr.key == "service.name"
        && let AnyValue::Str(s) = &mut attr.value
    {
        clip(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_stay_borrowed() {
        let s = "x".repeat(MAX_NAME_BYTES);
        assert!(matches!(clip_name(Cow::Borrowed(&s)), Cow::Borrowed(b) if b == s));
    }

    #[test]
    fn long_names_are_cut_with_their_hash() {
        let long = "a".repeat(MAX_NAME_BYTES + 1);
        let c = clip_name(Cow::Borrowed(&long));
        assert_eq!(c.len(), MAX_NAME_BYTES);
        let (h, _) = crate::hll::murmur3_x64_128(long.as_bytes(), 0);
        assert_eq!(
            c,
            format!("{}…#{h:016x}", "a".repeat(MAX_NAME_BYTES - SUFFIX_BYTES))
        );
        // Names differing past the cut stay distinct.
        let other = format!("{}b", "a".repeat(MAX_NAME_BYTES));
        assert_ne!(clip_name(Cow::Borrowed(&other)), c);
        // The same name, the same clip.
        assert_eq!(clip_name(Cow::Owned(long.clone())), c);
    }

    #[test]
    fn cut_at_a_character_boundary() {
        for pad in 0..4 {
            let long = format!("{}{}", "p".repeat(pad), "é€😀".repeat(400));
            let c = clip_name(Cow::Borrowed(&long));
            assert!(c.len() <= MAX_NAME_BYTES, "{}", c.len());
            assert!(c.len() > MAX_NAME_BYTES - SUFFIX_BYTES - 4);
            let cut = c.len() - SUFFIX_BYTES;
            assert!(long.starts_with(&c[..cut]));
        }
    }

    #[test]
    fn service_name_values_only_on_resources() {
        let v = "s".repeat(5000);
        let mut a = Attr {
            key: Cow::Borrowed("service.name"),
            value: AnyValue::Str(Cow::Borrowed(&v)),
        };
        clip_attr(&mut a, false);
        assert_eq!(a.value.as_str().unwrap().len(), 5000);
        clip_attr(&mut a, true);
        assert_eq!(a.value.as_str().unwrap().len(), MAX_NAME_BYTES);
    }
}
