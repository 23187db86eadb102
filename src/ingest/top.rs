//! A key's top values in a batch: a bounded Misra-Gries table per key
//! ([`TopCounter`]), counted as a DataSketches frequent-items sketch of
//! lg_max_map_size [`TOP_LG`] counts, and written at the flush as such a
//! sketch's image, which `topk_merge` merges into the stored `top_sketch`.

use crate::hll;
use crate::topk;

/// log2 of the map of a key's frequent-items sketch (`top_sketch`): 64
/// counters, up to 48 distinct values tracked; counts exact while a key has
/// had fewer, else within 3.5/64 (5.5 %) of its records (docs/catalog.md).
pub const TOP_LG: u8 = 6;
/// Values count by their first so many characters in `top_sketch` (a
/// stack trace is one value of its first 128 characters): bounds a sketch
/// image to a few KiB.
pub const TOP_CHARS: usize = 128;
/// Values a batch's table of one key's values tracks: what the stored
/// sketch's map holds (0.75 × 2^[`TOP_LG`]).
const TOP_CAP: usize = 3 * (1 << TOP_LG) / 4;
/// Slots of that table's index (at most 3/8 full: short probes).
const TOP_SLOTS: usize = 128;
/// The longest text of a last value counted without reading the table.
const INLINE: usize = 30;
/// The low bits of an index slot that hold the entry's number (+ 1); the
/// other 10 hold bits 32 to 41 of the value's hash.
const IDX_BITS: u16 = 0x3f;

/// `v` cut to its first [`TOP_CHARS`] characters.
#[inline]
pub fn top_cut(v: &str) -> &str {
    if v.len() <= TOP_CHARS {
        return v;
    }
    match v.char_indices().nth(TOP_CHARS) {
        Some((i, _)) => &v[..i],
        None => v,
    }
}

/// Copies `src` (at most [`INLINE`] bytes) to the start of `dst` in at
/// most two fixed-size moves (overlapping in the middle) instead of a call
/// to `memcpy`: the last value's text is copied at almost every look-up.
#[inline(always)]
fn copy_short(dst: &mut [u8; INLINE], src: &[u8]) {
    fn two<const W: usize>(dst: &mut [u8], src: &[u8]) {
        let n = src.len();
        let head: [u8; W] = src[..W].try_into().expect("W bytes");
        let tail: [u8; W] = src[n - W..].try_into().expect("W bytes");
        dst[..W].copy_from_slice(&head);
        dst[n - W..n].copy_from_slice(&tail);
    }
    let n = src.len();
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => two::<4>(dst, src),
        8..=15 => two::<8>(dst, src),
        _ => two::<16>(dst, &src[..n.min(INLINE)]),
    }
}

/// One value a [`TopCounter`] tracks.
struct TopEntry {
    /// `hll::Builder::hash` of its text.
    hash: u64,
    /// Its count since it was last taken in (a lower bound).
    count: u64,
    /// Where its text is in the table's `text`.
    at: u32,
    len: u32,
}

/// The table of a key that has had a value: an index of tagged hashes
/// and the entries, allocated together with the key's first value.
struct Table {
    /// Slot → 0 (empty) or a tag: 10 bits of the value's hash above its
    /// entry's number + 1 ([`IDX_BITS`]); linear probing from the hash's
    /// top bits. A probe compares those 10 bits here and reads an entry
    /// (and its text) only when they match (1 in 1 024 for another value).
    /// 256 bytes: what a look-up reads first is one of 4 cache lines of
    /// the key (most of the cost of a look-up is that read's cache miss).
    index: [u16; TOP_SLOTS],
    entries: Vec<TopEntry>,
    /// The entries' texts, one after the other in the order they were
    /// taken in (a purge compacts them into `spare`, and the two swap): no
    /// allocation per value once both have grown, and values taken in one
    /// after the other are written side by side.
    text: String,
    spare: String,
}

/// A key's value frequencies in a batch: a Misra-Gries summary that counts
/// as a DataSketches frequent-items sketch of lg_max_map_size [`TOP_LG`]
/// does, written as such a sketch's image (`topk::write_image`) and merged
/// into the stored one by `topk_merge`.
///
/// Up to [`TOP_CAP`] values are tracked with a count each, found by the
/// 64-bit hash the key's HLL builder computes for the value anyway (and
/// then compared as text: a hash collision costs a probe, never a wrong
/// count). A run of one value is counted here, without reading the table:
/// the last value's hash and (up to [`INLINE`] bytes) text are held here,
/// and its count since it was last looked up (`run`) is added to its
/// entry when another value comes (most look-ups' cost is reading a key's
/// table: a cache miss). A value not tracked when the table
/// is full first makes room the way DataSketches purges: the median count m
/// is subtracted from every count, values left at 0 or below are dropped,
/// and m is added to the maximum error (`offset`). So for every value,
/// tracked count ≤ true count ≤ tracked count + offset (0 when not
/// tracked), and each purge removes at least (TOP_CAP/2)·m from the counts,
/// so offset ≤ total / 24, within DataSketches' 3.5/64 × total for the same
/// map. The tracked values' texts are kept in one buffer per key ([`Table`]):
/// no allocation per value once it has grown, and a purge costs O(TOP_CAP
/// × TOP_CHARS) for at least TOP_CAP/2 values taken in after it.
#[derive(Default)]
pub struct TopCounter {
    /// The hash of the value counted last (0: none; hashes are odd).
    last_hash: u64,
    /// Its entry.
    last: usize,
    /// Its count not yet in its entry.
    run: u64,
    /// Its text when at most [`INLINE`] bytes long (`last_len`), else
    /// `last_len` is `u8::MAX` and a run is counted through the table.
    last_text: [u8; INLINE],
    last_len: u8,
    /// Every count given (DataSketches' total weight).
    total: u64,
    /// The maximum error of every count (DataSketches' offset).
    offset: u64,
    table: Option<Box<Table>>,
}

#[inline(always)]
fn top_slot(h: u64) -> usize {
    (h >> 57) as usize & (TOP_SLOTS - 1)
}

/// The hash bits of an index slot's tag.
#[inline(always)]
fn tag_bits(h: u64) -> u16 {
    ((h >> 32) as u16) << 6
}

/// An index slot's value for entry `i` of a value of hash `h`.
#[inline(always)]
fn tag(h: u64, i: usize) -> u16 {
    tag_bits(h) | (i as u16 + 1)
}

impl Table {
    /// Out of line: once per key, and its 256-byte index built on the stack
    /// would otherwise enlarge the frame of every look-up.
    #[cold]
    #[inline(never)]
    fn new() -> Box<Table> {
        Box::new(Table {
            index: [0; TOP_SLOTS],
            entries: Vec::with_capacity(TOP_CAP),
            text: String::new(),
            spare: String::new(),
        })
    }

    fn text_of(&self, e: &TopEntry) -> &str {
        &self.text[e.at as usize..(e.at + e.len) as usize]
    }

    /// The bytes of [`text_of`](Self::text_of), without its checks of
    /// character boundaries (for comparisons).
    #[inline(always)]
    fn bytes_of(&self, e: &TopEntry) -> &[u8] {
        &self.text.as_bytes()[e.at as usize..(e.at + e.len) as usize]
    }

    /// The entry of `v` (hash `h`), or the free slot where it goes.
    #[inline(always)]
    fn find(&self, v: &str, h: u64) -> Result<usize, usize> {
        let mut slot = top_slot(h);
        let bits = tag_bits(h);
        loop {
            let t = self.index[slot];
            if t == 0 {
                return Err(slot);
            }
            if t & !IDX_BITS == bits {
                let i = (t & IDX_BITS) as usize - 1;
                let e = &self.entries[i];
                if e.hash == h && super::keys::same(self.bytes_of(e), v.as_bytes()) {
                    return Ok(i);
                }
            }
            slot = (slot + 1) & (TOP_SLOTS - 1);
        }
    }

    /// The index of the entries, made again.
    fn reindex(&mut self) {
        self.index.fill(0);
        for (i, e) in self.entries.iter().enumerate() {
            let mut slot = top_slot(e.hash);
            while self.index[slot] != 0 {
                slot = (slot + 1) & (TOP_SLOTS - 1);
            }
            self.index[slot] = tag(e.hash, i);
        }
    }

    /// DataSketches' purge: subtracts the median count from every count,
    /// drops the values left at 0 or below; returns the median (added to
    /// the offset).
    #[inline(never)]
    fn purge(&mut self) -> u64 {
        let mut counts = [0u64; TOP_CAP];
        let n = self.entries.len();
        for (c, e) in counts.iter_mut().zip(&self.entries) {
            *c = e.count;
        }
        // The (n/2)-th smallest: at least n/2 counts are at least it.
        let m = *counts[..n].select_nth_unstable(n / 2).1;
        let mut kept = 0;
        self.spare.clear();
        for i in 0..n {
            let e = &self.entries[i];
            if e.count > m {
                let (count, at, hash) = (e.count - m, self.spare.len() as u32, e.hash);
                let len = e.len;
                let (from, to) = (e.at as usize, (e.at + e.len) as usize);
                self.spare.push_str(&self.text[from..to]);
                self.entries[kept] = TopEntry {
                    hash,
                    count,
                    at,
                    len,
                };
                kept += 1;
            }
        }
        self.entries.truncate(kept);
        std::mem::swap(&mut self.text, &mut self.spare);
        self.reindex();
        m
    }
}

impl TopCounter {
    /// Counts `n` records of value `v`, whose `hll::Builder::hash` is `h`.
    #[inline(always)]
    pub fn add(&mut self, v: &str, h: u64, n: u64) {
        self.total += n;
        if h == self.last_hash
            && v.len() == self.last_len as usize
            && super::keys::same(&self.last_text[..v.len()], v.as_bytes())
        {
            self.run += n;
            return;
        }
        self.add_slow(v, h, n);
    }

    /// Adds the run of the last value to its entry.
    #[inline(always)]
    fn settle(&mut self) {
        if self.run > 0
            && let Some(t) = &mut self.table
        {
            t.entries[self.last].count += self.run;
            self.run = 0;
        }
    }

    #[inline(never)]
    fn add_slow(&mut self, v: &str, h: u64, n: u64) {
        self.settle();
        // (A value longer than TOP_CHARS never equals a tracked text.)
        if h == self.last_hash
            && let Some(t) = &mut self.table
        {
            let e = &t.entries[self.last];
            if super::keys::same(t.bytes_of(e), v.as_bytes()) {
                t.entries[self.last].count += n;
                return;
            }
        }
        if v.len() > TOP_CHARS {
            // A long value counts as its cut, hashed again.
            let cut = top_cut(v);
            return self.add_lookup(cut, hll::Builder::hash(cut.as_bytes()), n);
        }
        self.add_lookup(v, h, n)
    }

    /// `v` (hash `h`, entry `i`) is the last value counted.
    #[inline(always)]
    fn set_last(&mut self, v: &str, h: u64, i: usize) {
        self.last = i;
        self.last_hash = h;
        if v.len() <= INLINE {
            copy_short(&mut self.last_text, v.as_bytes());
            self.last_len = v.len() as u8;
        } else {
            self.last_len = u8::MAX;
        }
    }

    /// Adds `n` to the count of `v` (no longer than [`TOP_CHARS`]), taking
    /// it in when it is not tracked. The run of the last value is settled.
    #[inline]
    fn add_lookup(&mut self, v: &str, h: u64, n: u64) {
        debug_assert_eq!(self.run, 0);
        if self.table.is_none() {
            self.table = Some(Table::new());
        }
        let Some(t) = &mut self.table else {
            unreachable!("made above")
        };
        let mut slot = match t.find(v, h) {
            Ok(i) => {
                t.entries[i].count += n;
                self.set_last(v, h, i);
                return;
            }
            Err(slot) => slot,
        };
        if t.entries.len() == TOP_CAP {
            self.offset += t.purge();
            // The index was rebuilt: find the new value's free slot again.
            slot = top_slot(h);
            while t.index[slot] != 0 {
                slot = (slot + 1) & (TOP_SLOTS - 1);
            }
        }
        let i = t.entries.len();
        t.entries.push(TopEntry {
            hash: h,
            count: n,
            at: t.text.len() as u32,
            len: v.len() as u32,
        });
        t.text.push_str(v);
        t.index[slot] = tag(h, i);
        self.set_last(v, h, i);
    }

    /// The tracked values and their counts (a lower bound each), the run
    /// of the last value included.
    fn counts(&self) -> Vec<(&str, u64)> {
        match &self.table {
            Some(t) => t
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let run = if i == self.last { self.run } else { 0 };
                    (t.text_of(e), e.count + run)
                })
                .collect(),
            None => Vec::new(),
        }
    }

    /// Adds what a later batch counted of the same key (Misra-Gries
    /// summaries merge: counts add, purging as they come; offsets add).
    pub fn merge(&mut self, o: &TopCounter) {
        self.settle();
        if let Some(t) = &o.table {
            for (i, e) in t.entries.iter().enumerate() {
                let run = if i == o.last { o.run } else { 0 };
                // Cut values were cut and hashed as such already.
                self.add_lookup(t.text_of(e), e.hash, e.count + run);
            }
        }
        self.total += o.total;
        self.offset += o.offset;
    }

    /// The image of a DataSketches frequent-items sketch holding these
    /// counts, as the crate writes it (`topk::write_image`'s image read and
    /// written again by the crate, as `topk_merge` writes every merged
    /// image; replayed by `topk::write_crate_image`): the same records make
    /// the same stored bytes whether one transaction brought them or
    /// several. `None` when nothing was counted.
    pub fn image(&self) -> Option<Vec<u8>> {
        let items = self.counts();
        topk::write_crate_image(TOP_LG, self.total, self.offset, &items)
    }

    /// (value, lower bound of its count) of the tracked values, the maximum
    /// error and the total (for tests).
    #[cfg(test)]
    fn state(&self) -> (Vec<(&str, u64)>, u64, u64) {
        (self.counts(), self.offset, self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::{INLINE, TOP_LG, TopCounter, copy_short, top_cut};

    /// The short copy writes exactly the source's bytes at the start, at
    /// every length it takes, and leaves the rest as it was.
    #[test]
    fn short_copies() {
        for n in 0..=INLINE {
            let src: Vec<u8> = (0..n as u8).map(|i| i + 1).collect();
            let mut dst = [0xEEu8; INLINE];
            copy_short(&mut dst, &src);
            assert_eq!(&dst[..n], &src[..], "{n}");
            assert!(dst[n..].iter().all(|&b| b == 0xEE), "{n}");
        }
    }
    use crate::hll;
    use crate::topk;
    use std::collections::HashMap;

    /// Counts `values` (with weights) into a counter.
    fn count(values: &[(String, u64)]) -> TopCounter {
        let mut t = TopCounter::default();
        for (v, n) in values {
            t.add(v, hll::Builder::hash(v.as_bytes()), *n);
        }
        t
    }

    /// Every value's true count (of its cut) is within the counter's
    /// bounds, DataSketches' way: tracked lower ≤ true ≤ lower + offset,
    /// untracked true ≤ offset; offset ≤ 3.5/64 of the total; and the
    /// image reads back with the same numbers (crate and `topk::parse`).
    fn check(t: &TopCounter, values: &[(String, u64)]) {
        let mut exact: HashMap<&str, u64> = HashMap::new();
        for (v, n) in values {
            *exact.entry(top_cut(v)).or_default() += n;
        }
        let (items, offset, total) = t.state();
        assert_eq!(total, values.iter().map(|v| v.1).sum::<u64>());
        assert!(
            offset as f64 <= topk::epsilon(TOP_LG) * total as f64,
            "{offset} of {total}"
        );
        let tracked: HashMap<&str, u64> = items.iter().copied().collect();
        assert_eq!(tracked.len(), items.len(), "a value tracked twice");
        for (v, &n) in &exact {
            match tracked.get(v) {
                Some(&c) => assert!(c <= n && n <= c + offset, "{v}: {c} ≤ {n} ≤ {c} + {offset}"),
                None => assert!(n <= offset, "{v}: {n} untracked, offset {offset}"),
            }
        }
        let Some(img) = t.image() else {
            assert_eq!(total, 0);
            return;
        };
        // What topk_merge writes for this one image (checked, then merged).
        let raw = topk::write_image(TOP_LG, total, offset, &items).expect("a total");
        let mut m = topk::Merger::default();
        m.add(&topk::parse(&raw).expect("parses"), &raw)
            .expect("in range");
        assert_eq!(m.result().as_deref(), Some(&img[..]));
        let view = topk::parse(&img).expect("the image parses");
        assert_eq!((view.total_weight, view.offset), (total, offset));
        let s = view.to_sketch(&img).expect("the crate reads it");
        assert_eq!((s.total_weight(), s.maximum_error()), (total, offset));
        for (v, &n) in &exact {
            assert!(s.lower_bound(*v) <= n && n <= s.upper_bound(*v), "{v}");
        }
    }

    /// Streams: skewed (Zipf-like and one value in half the records),
    /// uniform over few and many values, all distinct, long values; with
    /// weights; counted in one counter, and in two merged.
    #[test]
    fn top_counts_stay_within_the_bound() {
        let mut rng = fastrand::Rng::with_seed(15);
        let long = "é".repeat(200);
        type Stream = Box<dyn Fn(&mut fastrand::Rng, usize) -> String>;
        let streams: Vec<(&str, Stream)> = vec![
            (
                "half",
                Box::new(|r, i| {
                    if r.bool() {
                        "hot".into()
                    } else {
                        format!("v{i}")
                    }
                }),
            ),
            (
                "zipf",
                Box::new(|r, _| format!("z{}", (1.0 / (r.f64() + 1e-9)) as u64)),
            ),
            ("uniform40", Box::new(|r, _| format!("u{}", r.u32(0..40)))),
            (
                "uniform5000",
                Box::new(|r, _| format!("u{}", r.u32(0..5000))),
            ),
            ("distinct", Box::new(|_, i| format!("d{i}"))),
            (
                "long",
                Box::new(move |r, _| format!("{long}{}", r.u32(0..100))),
            ),
        ];
        for (name, make) in &streams {
            for len in [0, 1, 47, 48, 49, 500, 20_000] {
                let values: Vec<(String, u64)> = (0..len)
                    .map(|i| {
                        (
                            make(&mut rng, i),
                            if rng.u8(0..10) == 0 {
                                rng.u64(1..50)
                            } else {
                                1
                            },
                        )
                    })
                    .collect();
                let t = count(&values);
                check(&t, &values);
                let mut a = count(&values[..len / 3]);
                a.merge(&count(&values[len / 3..]));
                check(&a, &values);
                if *name == "half" && len == 20_000 {
                    let (items, offset, _) = t.state();
                    let hot = items
                        .iter()
                        .find(|i| i.0 == "hot")
                        .expect("the hot value is tracked");
                    assert!(
                        hot.1 > offset,
                        "hot is surely more frequent than any dropped value"
                    );
                }
            }
        }
    }

    /// Values whose hashes are equal are told apart by their text: a
    /// collision costs a probe, never a wrong count (on the fast path of a
    /// run of one value too).
    #[test]
    fn colliding_hashes_count_apart() {
        let mut t = TopCounter::default();
        let h = 0x8000_0000_0000_0001;
        for i in 0..300u64 {
            t.add("a", h, 1);
            t.add(if i % 3 == 0 { "b" } else { "a" }, h, 1);
            t.add(&format!("x{}", i % 5), h, 2);
        }
        let (items, offset, total) = t.state();
        assert_eq!((offset, total), (0, 1200));
        let counts: HashMap<&str, u64> = items.into_iter().collect();
        assert_eq!(counts["a"], 500);
        assert_eq!(counts["b"], 100);
        for x in 0..5 {
            assert_eq!(counts[format!("x{x}").as_str()], 120);
        }
    }

    /// A batch's image merged into a stored sketch (as the flush's
    /// topk_merge does) keeps the bound of the whole stream.
    #[test]
    fn batch_images_merge_into_stored_sketches_within_the_bound() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut all: Vec<(String, u64)> = Vec::new();
        let mut stored: Option<Vec<u8>> = None;
        for batch in 0..6 {
            let values: Vec<(String, u64)> = (0..3000)
                .map(|_| {
                    let v = if rng.u8(0..3) == 0 {
                        format!("k{batch}")
                    } else {
                        format!("x{}", rng.u32(0..2000))
                    };
                    (v, 1)
                })
                .collect();
            let img = count(&values).image().expect("counted");
            all.extend(values);
            let mut m = topk::Merger::default();
            for b in stored.iter().chain([&img]) {
                let v = topk::parse(b).expect("parses");
                m.add(&v, b).expect("merges");
            }
            stored = m.result();
            let img = stored.as_ref().expect("merged");
            let v = topk::parse(img).expect("parses");
            let total: u64 = all.iter().map(|v| v.1).sum();
            assert_eq!(v.total_weight, total);
            assert!(v.offset as f64 <= topk::epsilon(TOP_LG) * total as f64);
            let mut exact: HashMap<&str, u64> = HashMap::new();
            for (x, n) in &all {
                *exact.entry(x.as_str()).or_default() += n;
            }
            for (x, &n) in &exact {
                let c = v.items.iter().find(|i| i.0 == *x).map_or(0, |i| i.1);
                assert!(
                    c <= n && n <= c + v.offset,
                    "{x}: {c} ≤ {n} ≤ {c} + {}",
                    v.offset
                );
            }
        }
    }
}
