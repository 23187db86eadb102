//! The crate's frequent-items sketch of strings replayed over values
//! borrowed from images: `datasketches` 0.6.0's `FrequentItemsSketch<String>`
//! and its `ReversePurgeItemHashMap` (the crate version is pinned in
//! Cargo.toml), step for step — the same map size, probe sequence (the
//! crate's item hash: MurmurHash3 x64 128, seed 9001, of the value's bytes
//! and 0xFF, as `str`'s `Hash` writes it), drifts, resizes, purges (the
//! same sampled median), deletions and iteration order — so that the image
//! it writes is the crate's byte for byte. It makes no `String` per value
//! and hashes each value once (the crate hashes at every look-up and
//! resize): the two writes of the flush, a merge of two stored images
//! (`topk_merge(a, b)`, [`merge_two`]) and a batch's image ([`write_crate_image`]),
//! cost a fraction of the crate's. `tests.rs` compares both with the crate
//! on random sketches.

use super::image::{FAMILY, PRE_LONGS_FULL, SERIAL_VERSION};
use super::{MAX_WEIGHT, MIN_LG_MAX, View};
use crate::hll::{Murmur3, murmur3_x64_128};

/// The crate's sample size for the purge's median.
const SAMPLE_SIZE: usize = 1024;

/// The crate's hash of an item (`hash_item`: the `Hash` of `str` into its
/// MurmurHash3 hasher, seed 9001, which writes the bytes, then 0xFF): in
/// one pass for values up to 255 bytes (TOP_CHARS characters of ASCII).
fn item_hash(v: &str) -> u64 {
    let n = v.len();
    if n < 256 {
        let mut buf = [0u8; 256];
        buf[..n].copy_from_slice(v.as_bytes());
        buf[n] = 0xff;
        return murmur3_x64_128(&buf[..=n], 9001).0;
    }
    let mut m = Murmur3::new();
    m.update(v.as_bytes()).update(&[0xff]);
    m.finish128().0
}

/// `ReversePurgeItemHashMap::capacity` of a map of `size` slots.
fn load_threshold(size: usize) -> usize {
    (size as f64 * 0.75) as usize
}

/// `map_capacity_for_lg`.
fn map_capacity(lg: u8) -> usize {
    (1usize << lg) * 3 / 4
}

/// One slot of the map: the crate's key, value and state, and the key's
/// hash.
#[derive(Clone, Copy)]
struct Slot<'a> {
    key: &'a str,
    hash: u64,
    value: u64,
    /// 0: empty; else the drift (probe distance + 1).
    state: u16,
}

const EMPTY: Slot<'static> = Slot {
    key: "",
    hash: 0,
    value: 0,
    state: 0,
};

/// `ReversePurgeItemHashMap<String>` with borrowed keys, each key's hash
/// kept beside it.
struct Map<'a> {
    slots: Vec<Slot<'a>>,
    num_active: usize,
}

impl<'a> Map<'a> {
    fn new(size: usize) -> Map<'a> {
        Map {
            slots: vec![EMPTY; size],
            num_active: 0,
        }
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn lg_length(&self) -> u8 {
        self.len().trailing_zeros() as u8
    }

    fn find_probe_or_empty(&self, key: &str, h: u64) -> (usize, usize) {
        let mask = self.len() - 1;
        let mut probe = h as usize & mask;
        let mut drift = 1;
        loop {
            let s = &self.slots[probe];
            if s.state == 0 || (s.hash == h && s.key == key) {
                return (probe, drift);
            }
            probe = (probe + 1) & mask;
            drift += 1;
        }
    }

    fn adjust_or_put_value(&mut self, key: &'a str, h: u64, amount: u64) {
        let (probe, drift) = self.find_probe_or_empty(key, h);
        let s = &mut self.slots[probe];
        if s.state == 0 {
            *s = Slot {
                key,
                hash: h,
                value: amount,
                state: drift as u16,
            };
            self.num_active += 1;
        } else {
            s.value += amount;
        }
    }

    fn keep_only_positive_counts(&mut self) {
        let len = self.len();
        let mut first_probe = len - 1;
        while self.slots[first_probe].state > 0 {
            first_probe -= 1;
        }
        for probe in (0..first_probe).rev().chain((first_probe..len).rev()) {
            if self.slots[probe].state > 0 && self.slots[probe].value == 0 {
                self.hash_delete(probe);
                self.num_active -= 1;
            }
        }
    }

    fn purge(&mut self, sample_size: usize) -> u64 {
        let limit = sample_size.min(self.num_active).min(SAMPLE_SIZE);
        let mut samples = Vec::with_capacity(limit);
        let mut i = 0;
        while samples.len() < limit {
            if self.slots[i].state > 0 {
                samples.push(self.slots[i].value);
            }
            i += 1;
        }
        let mid = samples.len() / 2;
        let median = *samples.select_nth_unstable(mid).1;
        for s in self.slots.iter_mut() {
            s.value = s.value.saturating_sub(median);
        }
        self.keep_only_positive_counts();
        median
    }

    fn resize(&mut self, new_size: usize) {
        let old = std::mem::replace(self, Map::new(new_size));
        for s in &old.slots {
            if s.state > 0 {
                self.adjust_or_put_value(s.key, s.hash, s.value);
            }
        }
    }

    fn hash_delete(&mut self, mut delete_probe: usize) {
        self.slots[delete_probe].state = 0;
        let mut drift: usize = 1;
        let mask = self.len() - 1;
        let mut probe = (delete_probe + drift) & mask;
        while self.slots[probe].state != 0 {
            let state = self.slots[probe].state;
            if state as usize > drift {
                self.slots[delete_probe] = Slot {
                    state: state - drift as u16,
                    ..self.slots[probe]
                };
                self.slots[probe].state = 0;
                drift = 0;
                delete_probe = probe;
            }
            probe = (probe + 1) & mask;
            drift += 1;
        }
    }

    /// The active slots in the crate's iteration order (`iter`: a
    /// golden-ratio stride through the slots).
    fn stride_order(&self) -> Vec<usize> {
        let size = self.len();
        let stride = ((size as f64 * 0.618_033_988_749_894_9) as usize) | 1;
        let mask = size - 1;
        let mut index = 0usize.wrapping_sub(stride);
        let mut out = Vec::with_capacity(self.num_active);
        while out.len() < self.num_active {
            index = index.wrapping_add(stride) & mask;
            if self.slots[index].state > 0 {
                out.push(index);
            }
        }
        out
    }
}

/// `FrequentItemsSketch<String>`.
struct Replay<'a> {
    lg_max: u8,
    cur_map_cap: usize,
    offset: u64,
    weight: u64,
    sample_size: usize,
    map: Map<'a>,
}

impl<'a> Replay<'a> {
    /// `with_lg_map_sizes`.
    fn new(lg_max: u8, lg_cur: u8) -> Replay<'a> {
        let lg_max = lg_max.max(MIN_LG_MAX);
        let lg_cur = lg_cur.max(MIN_LG_MAX);
        let map = Map::new(1 << lg_cur);
        Replay {
            lg_max,
            cur_map_cap: load_threshold(map.len()),
            offset: 0,
            weight: 0,
            sample_size: SAMPLE_SIZE.min(map_capacity(lg_max)),
            map,
        }
    }

    /// `update_with_count` (the caller keeps the weight within bounds).
    fn update(&mut self, key: &'a str, h: u64, count: u64) {
        if count == 0 {
            return;
        }
        self.weight += count;
        self.map.adjust_or_put_value(key, h, count);
        if self.map.num_active > self.cur_map_cap {
            if self.map.lg_length() < self.lg_max {
                self.map.resize(self.map.len() * 2);
                self.cur_map_cap = load_threshold(self.map.len());
            } else {
                self.offset += self.map.purge(self.sample_size);
            }
        }
    }

    /// `deserialize` of an image of these fields whose map has 2^`lg_cur`
    /// slots.
    fn read(
        lg_max: u8,
        lg_cur: u8,
        total_weight: u64,
        offset: u64,
        items: &[(&'a str, u64)],
    ) -> Replay<'a> {
        let mut s = Replay::new(lg_max, lg_cur);
        for &(v, c) in items {
            s.update(v, item_hash(v), c);
        }
        s.weight = total_weight;
        s.offset = offset;
        s
    }

    /// `View::to_sketch`: the map sized for the items the image holds.
    fn of_view(v: &View<'a>) -> Replay<'a> {
        Replay::read(
            v.lg_max,
            v.map_lg_for_items(),
            v.total_weight,
            v.offset,
            &v.items,
        )
    }

    /// `merge` of another sketch (its items in the crate's iteration order).
    fn merge(&mut self, o: &Replay<'a>) {
        if o.weight == 0 {
            return;
        }
        let total = self.weight + o.weight;
        for i in o.map.stride_order() {
            let s = o.map.slots[i];
            self.update(s.key, s.hash, s.value);
        }
        self.offset += o.offset;
        self.weight = total;
    }

    /// `merge::merge_view`: a checked image's items added in image order,
    /// then what its counts do not account for as a sketch without items.
    fn merge_view(&mut self, b: &View<'a>) {
        let mut counted = 0;
        for &(v, c) in &b.items {
            self.update(v, item_hash(v), c);
            counted += c;
        }
        if b.total_weight > counted {
            self.weight += b.total_weight - counted;
            self.offset += b.offset;
        }
    }

    /// `serialize` (never empty here: the weight is above 0).
    fn image(&self) -> Vec<u8> {
        let m = &self.map;
        let active = || m.slots.iter().filter(|s| s.state > 0);
        let len: usize = active().map(|s| 12 + s.key.len()).sum();
        let mut img = Vec::with_capacity(32 + len);
        img.extend_from_slice(&[
            PRE_LONGS_FULL,
            SERIAL_VERSION,
            FAMILY,
            self.lg_max,
            m.lg_length(),
            0,
            0,
            0,
        ]);
        img.extend_from_slice(&(m.num_active as u32).to_le_bytes());
        img.extend_from_slice(&[0; 4]);
        img.extend_from_slice(&self.weight.to_le_bytes());
        img.extend_from_slice(&self.offset.to_le_bytes());
        for s in active() {
            img.extend_from_slice(&s.value.to_le_bytes());
        }
        for s in active() {
            img.extend_from_slice(&(s.key.len() as u32).to_le_bytes());
            img.extend_from_slice(s.key.as_bytes());
        }
        img
    }
}

/// What `topk_merge(a, b)` writes for two checked non-empty images (the
/// crate's merge through [`super::Merger`], replayed); `None` when either
/// is empty or the total weight would pass 2^63 − 1 (the caller then
/// merges through the crate, which says why).
pub fn merge_two(a: &View, b: &View) -> Option<Vec<u8>> {
    if a.is_empty() || b.is_empty() || a.total_weight + b.total_weight > MAX_WEIGHT {
        return None;
    }
    let mut acc = Replay::of_view(a);
    if b.lg_max < acc.lg_max {
        let mut s = Replay::of_view(b);
        s.merge(&acc);
        acc = s;
    } else {
        acc.merge_view(b);
    }
    Some(acc.image())
}

/// The image the crate writes for the image [`super::write_image`] writes
/// of these fields (read by the crate and written again): the stored form
/// of a batch's counts. `None` when `total_weight` is 0.
pub fn write_crate_image(
    lg_max: u8,
    total_weight: u64,
    offset: u64,
    items: &[(&str, u64)],
) -> Option<Vec<u8>> {
    if total_weight == 0 {
        return None;
    }
    let lg_cur = super::image::map_lg_for(items.len());
    Some(Replay::read(lg_max, lg_cur, total_weight, offset, items).image())
}
