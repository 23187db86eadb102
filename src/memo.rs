//! The last two-sketch merge of a thread, kept for the next call with the
//! same two images. The flush's key UPSERTs (sql/flush.sql) merge a stored
//! sketch with the batch's twice for one row: once for the estimate
//! (`hll_count(hll_merge(hll_sketch, excluded.hll_sketch))`, the top values'
//! `topk_counts(topk_merge(…), 10)`) and once for the stored column; SQLite
//! evaluates each SET expression on its own. A merge is a function of its
//! two images only, so the second call returns the first's result, compared
//! byte for byte (never by a hash).

use std::borrow::Cow;
use std::cell::RefCell;
use std::thread::LocalKey;

/// Images larger than this (either input or the result) are not kept: the
/// copies would cost more than they save and hold memory.
const MAX_BYTES: usize = 64 * 1024;

/// Inputs and result of the last merge.
#[derive(Default)]
pub struct LastMerge {
    a: Vec<u8>,
    b: Vec<u8>,
    out: Vec<u8>,
    valid: bool,
}

impl LastMerge {
    /// The result of the merge of `a` and `b` if it is the one kept.
    pub fn get(&self, a: &[u8], b: &[u8]) -> Option<&[u8]> {
        (self.valid && self.a == a && self.b == b).then_some(self.out.as_slice())
    }

    /// Keeps `out`, the merge of `a` and `b` (when all are small enough).
    pub fn set(&mut self, a: &[u8], b: &[u8], out: &[u8]) {
        self.valid = false;
        if a.len() > MAX_BYTES || b.len() > MAX_BYTES || out.len() > MAX_BYTES {
            return;
        }
        for (dst, src) in [(&mut self.a, a), (&mut self.b, b), (&mut self.out, out)] {
            dst.clear();
            dst.extend_from_slice(src);
        }
        self.valid = true;
    }
}

/// `f(a, b)` through `memo`: the kept result when the images are the last
/// call's, else `f`'s (kept when it succeeds). `emit` gets the result.
pub fn merged<'a, E>(
    memo: &'static LocalKey<RefCell<LastMerge>>,
    a: &'a [u8],
    b: &[u8],
    f: impl FnOnce() -> Result<Cow<'a, [u8]>, E>,
    emit: impl FnOnce(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut emit = Some(emit);
    let hit = memo.with(|m| {
        let m = m.try_borrow().ok()?;
        let out = m.get(a, b)?;
        emit.take().map(|e| e(out))
    });
    if let Some(r) = hit {
        return r;
    }
    let out = f()?;
    memo.with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            m.set(a, b, &out);
        }
    });
    match emit.take() {
        Some(e) => e(&out),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_only_for_the_same_bytes() {
        let mut m = LastMerge::default();
        assert_eq!(m.get(b"", b""), None);
        m.set(b"ab", b"cd", b"abcd");
        assert_eq!(m.get(b"ab", b"cd"), Some(&b"abcd"[..]));
        assert_eq!(m.get(b"ab", b"ce"), None);
        assert_eq!(m.get(b"cd", b"ab"), None);
        assert_eq!(m.get(b"ab", b"cd\0"), None);
        m.set(b"x", b"y", b"xy");
        assert_eq!(m.get(b"ab", b"cd"), None);
        // Too large: nothing kept (not even the previous merge).
        let big = vec![7u8; MAX_BYTES + 1];
        m.set(&big, b"y", b"z");
        assert_eq!(m.get(&big, b"y"), None);
        assert_eq!(m.get(b"x", b"y"), None);
    }
}
