//! HyperLogLog sketch functions: `hll_sketch`, `hll_add`, `hll_merge`,
//! `hll_count`, `hll_info`.
//!
//! Sketches are Apache DataSketches HLL sketches (the `datasketches` crate).
//! A stored sketch is the compact DataSketches serialization of an HLL_4
//! sketch, readable by every DataSketches library (Java, C++, Python's
//! `datasketches.hll_sketch.deserialize`, Rust). Values are hashed as the
//! bytes of their text form (see `text.rs` and docs/FORMAT.md).

use datasketches::common::NumStdDev;
use datasketches::hash::value::raw_bytes;
use datasketches::hll::{HllSketch, HllType, HllUnion};

use crate::ffi::{self, Aggregate, Arg, Ctx, Db, Error, Kind, Result, bail};
use crate::text;

/// Default log2 of the number of registers: 4096 registers, relative
/// standard error ≈ 1.04/√4096 = 1.6 %, dense HLL_4 image ≈ 2.1 KiB.
pub const DEFAULT_LG_K: u8 = 12;
pub const MIN_LG_K: u8 = 4;
pub const MAX_LG_K: u8 = 21;
/// The stored register width: 4 bits (plus an exception table), the most
/// compact of the three DataSketches HLL types and Python's default.
pub const STORED_TYPE: HllType = HllType::Hll4;

/// Checks an lg_k argument.
fn lg_k_arg(func: &str, arg: Arg, pos: usize) -> Result<u8> {
    if arg.kind() != Kind::Integer {
        bail!(
            "{func}: argument {pos} (lg_k) must be an integer from {MIN_LG_K} to {MAX_LG_K}, got {}",
            arg.kind().name()
        );
    }
    let v = arg.i64();
    if !(MIN_LG_K as i64..=MAX_LG_K as i64).contains(&v) {
        bail!("{func}: argument {pos} (lg_k) must be from {MIN_LG_K} to {MAX_LG_K}, got {v}");
    }
    Ok(v as u8)
}

pub mod check;
#[cfg(any(test, feature = "fuzzing"))]
pub mod property;

/// Decodes a stored sketch after [`check::check`] has accepted it. Errors
/// say why, for the caller to prefix.
pub fn decode(bytes: &[u8]) -> std::result::Result<HllSketch, String> {
    check::check(bytes)?;
    // (The crate refuses nothing the checks accept; its reason, just in case.)
    HllSketch::deserialize(bytes).map_err(|e| e.message().to_string())
}

/// Preamble byte 5: flags; 0x10 marks the HIP accumulator as not valid.
const FLAGS_BYTE: usize = 5;
const OUT_OF_ORDER_FLAG: u8 = 0x10;
/// Preamble byte 0 of a dense (HLL mode) image.
const HLL_MODE_PREAMBLE: u8 = 10;

/// The stored form of a sketch: HLL_4, compact, and, in dense mode, flagged
/// out-of-order, so that every reader (otelcat, DataSketches in any language)
/// takes the composite estimate, a function of the registers alone. Two
/// sketches of the same values then count the same whether they were built
/// in one pass or merged from parts (the HIP estimator, valid only for a
/// sketch built in one pass, would give a slightly different number).
pub fn encode(sketch: &HllSketch) -> Vec<u8> {
    let mut img = if sketch.target_type() == STORED_TYPE {
        sketch.serialize()
    } else {
        let mut u = HllUnion::new(sketch.lg_config_k()).expect("lg_k in range");
        u.update(sketch);
        u.to_sketch(STORED_TYPE).serialize()
    };
    if img.first() == Some(&HLL_MODE_PREAMBLE) && img.len() > FLAGS_BYTE {
        img[FLAGS_BYTE] |= OUT_OF_ORDER_FLAG;
    }
    img
}

/// The stored image of a union. Same registers and estimates as
/// `encode(&u.to_sketch(STORED_TYPE))`, but a dense union is converted to
/// HLL_4 on its registers (`dense::encode_hll4`) rather than through the
/// crate's coupon path (~75 µs at lg_k 12); its HIP field is not kept (the
/// image is flagged out-of-order anyway).
pub fn encode_union(u: &HllUnion) -> Vec<u8> {
    encode_hll8(&u.to_sketch(HllType::Hll8))
}

/// [`encode_union`] of an HLL_8 sketch.
fn encode_hll8(s8: &HllSketch) -> Vec<u8> {
    let mut img = s8.serialize();
    if dense::is_dense(&img) {
        // A dense HLL_8 image holds its registers as they are after the
        // 40-byte preamble.
        let k = 1usize << s8.lg_config_k();
        return match img.get(40..40 + k) {
            Some(regs) if (img[7] >> 2) & 3 == 2 => dense::encode_hll4(s8.lg_config_k(), regs),
            _ => encode(s8),
        };
    }
    // LIST / SET: the coupons are the same whatever the target type, which
    // is only recorded in bits 2-3 of byte 7 (what to_sketch(HLL_4) changes).
    if img.len() > 7 {
        img[7] &= 0x3;
    }
    img
}

/// Reads argument `pos` (1-based) of `func` as a sketch; `None` for NULL.
pub fn sketch_arg(func: &str, arg: Arg, pos: usize) -> Result<Option<HllSketch>> {
    match arg.kind() {
        Kind::Null => Ok(None),
        Kind::Blob => decode(arg.blob()).map(Some).map_err(|why| {
            Error::new(format!(
                "{func}: argument {pos} is not an HLL sketch ({why})"
            ))
        }),
        k => bail!(
            "{func}: argument {pos} is not an HLL sketch (got {}, expected a BLOB)",
            k.name()
        ),
    }
}

/// Adds the bytes of one value.
#[inline]
pub fn update_bytes(union: &mut HllUnion, bytes: &[u8]) {
    union.update_value(raw_bytes::from_slice(bytes));
}

/// A sketch built value by value in process (the batches of `otlp_ingest`),
/// at the default lg_k, stored with [`Builder::image`] as `encode` would.
/// It remembers the 64-bit hashes of the last values it added in a small
/// direct-mapped table: a value found there (the same status code, method
/// or host again) is in the sketch already and costs that hash, not the
/// 128-bit MurmurHash3 and coupon or register update. Two different values
/// with the same 64-bit hash (odds 2^-63) would count as one, well inside
/// the sketch's own error.
///
/// It keeps what the crate's HLL_8 sketch keeps, laid out the same way:
/// coupons in LIST mode (8 slots, arrival order), then in SET mode (the
/// crate's open addressing, grown at 3/4 load from 2^5 to 2^(lg_k-3)
/// slots), then one byte per register. The crate's sketch computes the same
/// MurmurHash3 through a streaming hasher and keeps estimators up to date
/// on every update: 181 instructions per value on the ingest benchmark,
/// against 112 for this builder (docs/BENCHMARKS.md); here
/// the hash is one pass over the value ([`murmur3_x64_128`], checked against
/// the crate's coupons value by value) and the image is written once, at
/// the end. Tests compare images with the crate union's of the same values,
/// byte for byte for sparse ones, around every change of mode.
pub struct Builder {
    /// Coupons while sparse: `lg` 3 is the LIST (8 slots), 5 to lg_k-3 a
    /// SET of 2^lg slots; 0 marks an empty slot (no coupon is 0).
    coupons: Vec<u32>,
    lg: u32,
    len: usize,
    /// The registers (one byte each) once dense; `coupons` is empty then.
    regs: Option<Box<[u8]>>,
    recent: [u64; RECENT],
}

/// The crate's LIST capacity (2^3) and first SET size (2^5).
const LG_LIST: u32 = 3;
const LG_FIRST_SET: u32 = 5;
const KEY_MASK_26: u32 = (1 << 26) - 1;

/// Inserts a coupon into a SET table of 2^lg slots as the crate's hash set
/// does (first probe: the coupon's low bits; stride: the next bits of its
/// 26-bit address, odd). True when it was not there.
#[inline]
fn set_insert(table: &mut [u32], lg: u32, c: u32) -> bool {
    let slot = &mut table[set_slot(table, lg, c)];
    let new = *slot == 0;
    *slot = c;
    new
}

/// Whether a SET table of 2^lg slots (filled by [`set_insert`]) holds `c`.
fn set_contains(table: &[u32], lg: u32, c: u32) -> bool {
    table[set_slot(table, lg, c)] == c
}

/// Where `c` is in a SET table of 2^lg slots, or the empty slot where it
/// would go.
#[inline]
fn set_slot(table: &[u32], lg: u32, c: u32) -> usize {
    let mask = (1u32 << lg) - 1;
    let mut probe = c & mask;
    let stride = ((c & KEY_MASK_26) >> lg) | 1;
    while table[probe as usize] != 0 && table[probe as usize] != c {
        probe = (probe + stride) & mask;
    }
    probe as usize
}

/// DataSketches' default hash seed.
const UPDATE_SEED: u64 = 9001;

/// The little-endian value of up to 8 bytes, without a loop.
#[inline(always)]
fn le_partial(s: &[u8]) -> u64 {
    let n = s.len();
    let w = |i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes")) as u64;
    match n {
        0 => 0,
        1..=3 => {
            s[0] as u64 | (s[n / 2] as u64) << (n / 2 * 8) | (s[n - 1] as u64) << ((n - 1) * 8)
        }
        _ => w(0) | w(n - 4) << ((n - 4) * 8),
    }
}

/// MurmurHash3_x64_128 of `data` (Austin Appleby's public-domain
/// algorithm), in one pass over the slice: what DataSketches hashes a
/// value with. Checked against the crate's coupons value by value.
#[inline(always)]
pub fn murmur3_x64_128(data: &[u8], seed: u64) -> (u64, u64) {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    fn fmix(mut k: u64) -> u64 {
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    }
    let (mut h1, mut h2) = (seed, seed);
    let mut blocks = data.chunks_exact(16);
    for b in &mut blocks {
        let k1 = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
        let k2 = u64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    if tail.len() > 8 {
        h2 ^= le_partial(&tail[8..])
            .wrapping_mul(C2)
            .rotate_left(33)
            .wrapping_mul(C1);
    }
    if !tail.is_empty() {
        h1 ^= le_partial(&tail[..tail.len().min(8)])
            .wrapping_mul(C1)
            .rotate_left(31)
            .wrapping_mul(C2);
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

/// The HLL coupon of a value as DataSketches computes it: register value
/// (leading zeros of the second hash word, capped at 62, plus 1) in the top
/// 6 bits, the low 26 bits of the first word below.
#[inline]
pub fn coupon_of(bytes: &[u8]) -> u32 {
    let (lo, hi) = murmur3_x64_128(bytes, UPDATE_SEED);
    ((hi.leading_zeros().min(62) + 1) << 26) | (lo as u32 & KEY_MASK_26)
}

/// Entries of [`Builder`]'s table of recent values.
const RECENT: usize = 16;

/// The hasher of [`Builder`]'s recent values (fixed seeds: reproducible).
#[inline(always)]
fn repeat_hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(0x6f74_656c, 0x6361_7420, 0x686c_6c20, 0x6275_696c)
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            coupons: vec![0; 1 << LG_LIST],
            lg: LG_LIST,
            len: 0,
            regs: None,
            recent: [0; RECENT],
        }
    }

    /// Adds the bytes of one value; false when it is one of the recent
    /// values (nothing to do for it then).
    #[inline(always)]
    pub fn add(&mut self, bytes: &[u8]) -> bool {
        // Never 0, the empty entry.
        let h = repeat_hasher().hash_one(bytes) | 1;
        let slot = (h >> 60) as usize % RECENT;
        if self.recent[slot] == h {
            return false;
        }
        self.recent[slot] = h;
        let c = coupon_of(bytes);
        match &mut self.regs {
            Some(regs) => {
                let (slot, v) = ((c as usize) & (regs.len() - 1), (c >> 26) as u8);
                if v > regs[slot] {
                    regs[slot] = v;
                }
            }
            None => self.add_sparse(c),
        }
        true
    }

    /// Adds a coupon while sparse, changing mode as the crate does.
    #[inline(never)]
    fn add_sparse(&mut self, c: u32) {
        if self.lg == LG_LIST {
            for slot in self.coupons.iter_mut() {
                if *slot == 0 {
                    *slot = c;
                    self.len += 1;
                    break;
                }
                if *slot == c {
                    return;
                }
            }
            if self.len == self.coupons.len() {
                // Full: a SET, filled in LIST order.
                self.rehash(LG_FIRST_SET);
            }
            return;
        }
        if set_insert(&mut self.coupons, self.lg, c) {
            self.len += 1;
            if 4 * self.len > 3 * self.coupons.len() {
                if self.lg + 3 == DEFAULT_LG_K as u32 {
                    self.densify();
                } else {
                    // Grown: the old slots re-inserted in slot order.
                    self.rehash(self.lg + 1);
                }
            }
        }
    }

    /// A builder holding what a sparse view holds, laid out as the crate's
    /// deserialized container (a LIST as listed, a SET as its rebuilt
    /// table). `None` for a dense view, or a full LIST (8 coupons, which
    /// the crate would promote on the next one: left to the crate).
    fn from_sparse(v: &stored::View) -> Option<Builder> {
        let mut b = Builder::new();
        match v {
            stored::View::Coupons(_, Some((table, lg))) => {
                b.len = table.iter().filter(|&&c| c != 0).count();
                b.coupons = table.clone();
                b.lg = *lg;
            }
            stored::View::Coupons(c, None) if c.len() < 4 << LG_LIST => {
                for c in stored::union_order(v) {
                    b.add_sparse(c);
                }
            }
            _ => return None,
        }
        Some(b)
    }

    /// Adds a coupon (sparse or dense).
    fn add_coupon(&mut self, c: u32) {
        match &mut self.regs {
            Some(regs) => {
                let (slot, v) = ((c as usize) & (regs.len() - 1), (c >> 26) as u8);
                regs[slot] = regs[slot].max(v);
            }
            None => self.add_sparse(c),
        }
    }

    /// The same coupons in a SET of 2^lg slots, inserted in slot order.
    fn rehash(&mut self, lg: u32) {
        let mut table = vec![0u32; 1 << lg];
        for &c in self.coupons.iter().filter(|&&c| c != 0) {
            set_insert(&mut table, lg, c);
        }
        self.coupons = table;
        self.lg = lg;
    }

    /// Dense: each register holds the largest value of its coupons.
    fn densify(&mut self) {
        let mut regs = vec![0u8; 1 << DEFAULT_LG_K].into_boxed_slice();
        let mask = regs.len() - 1;
        for &c in self.coupons.iter().filter(|&&c| c != 0) {
            let (slot, v) = ((c as usize) & mask, (c >> 26) as u8);
            regs[slot] = regs[slot].max(v);
        }
        self.regs = Some(regs);
        self.coupons = Vec::new();
        self.len = 0;
    }

    /// Adds what another builder holds: the same coupons, or the
    /// register-wise maximum once either is dense (what the crate's union
    /// holds; a merged SET may order its slots differently).
    pub fn merge(&mut self, o: &Builder) {
        match &o.regs {
            None => {
                for &c in o.coupons.iter().filter(|&&c| c != 0) {
                    self.add_coupon(c);
                }
            }
            Some(r) => {
                if self.regs.is_none() {
                    self.densify();
                }
                let regs = self.regs.as_mut().expect("dense");
                for (a, &b) in regs.iter_mut().zip(r.iter()) {
                    *a = (*a).max(b);
                }
            }
        }
    }

    /// The stored image (HLL_4 target, compact, dense images flagged
    /// out-of-order): the crate's LIST / SET layout (docs/FORMAT.md).
    pub fn image(&self) -> Vec<u8> {
        if let Some(regs) = &self.regs {
            return dense::encode_hll4(DEFAULT_LG_K, regs);
        }
        let lg_k = DEFAULT_LG_K;
        let mut out = Vec::with_capacity(12 + 4 * self.len);
        if self.lg == LG_LIST {
            // Flags: compact (8), empty (4); then the count; mode LIST.
            let flags = if self.len == 0 { 8 | 4 } else { 8 };
            out.extend_from_slice(&[2, 1, 7, lg_k, LG_LIST as u8, flags, self.len as u8, 0]);
        } else {
            // Flags: compact; mode SET; the count as a u32.
            out.extend_from_slice(&[3, 1, 7, lg_k, self.lg as u8, 8, 0, 1]);
            out.extend_from_slice(&(self.len as u32).to_le_bytes());
        }
        for &c in self.coupons.iter().filter(|&&c| c != 0) {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out
    }
}

/// A union that remembers the smallest lg_k it has seen, so the result is
/// at the smallest lg_k of its inputs whatever their modes.
pub struct Merger {
    union: Option<HllUnion>,
    min_lg_k: u8,
}

impl Default for Merger {
    fn default() -> Self {
        Merger {
            union: None,
            min_lg_k: MAX_LG_K,
        }
    }
}

impl Merger {
    pub fn add(&mut self, s: &HllSketch) {
        let k = s.lg_config_k();
        self.min_lg_k = self.min_lg_k.min(k);
        let u = self
            .union
            .get_or_insert_with(|| HllUnion::new(k).expect("lg_k in range"));
        u.update(s);
    }
    /// The merged sketch, or `None` when nothing was added.
    pub fn result(&self) -> Option<HllSketch> {
        let u = self.union.as_ref()?;
        if u.lg_config_k() > self.min_lg_k {
            let mut down = HllUnion::new(self.min_lg_k).expect("lg_k in range");
            down.update(&u.to_sketch(HllType::Hll8));
            return Some(down.to_sketch(STORED_TYPE));
        }
        Some(u.to_sketch(STORED_TYPE))
    }
}

/// The union behind `hll_merge`. While every input has the same lg_k and
/// is in a layout read below (dense HLL_4 / HLL_8, sparse LIST / SET), a
/// union holding at least one dense sketch is computed on the registers
/// directly (`regs`): the datasketches crate would copy each 4-bit register
/// through its coupon path and back (~27 µs and ~75 µs at lg_k 12, see
/// docs/BENCHMARKS.md), this takes a few µs and writes the image the crate
/// would write (`dense::encode_hll4`; tests compare both). Otherwise the
/// crate's union (`Merger`) does it.
#[derive(Default)]
pub struct Union {
    lg_k: Option<u8>,
    regs: Option<Vec<u8>>,
    merger: Merger,
    /// Something the register path cannot take arrived: crate only.
    slow: bool,
}

impl Union {
    /// Adds a sketch given as its stored image and its decoded form.
    pub fn add(&mut self, img: &[u8], decoded: &HllSketch) {
        if !self.slow {
            let k = decoded.lg_config_k();
            let same_k = *self.lg_k.get_or_insert(k) == k;
            if same_k && dense::readable(img) {
                if dense::is_dense(img) && self.regs.is_none() {
                    // First dense input: start the registers from what the
                    // sparse inputs so far added up to.
                    let mut regs = vec![0u8; 1 << k];
                    if let Some(prev) = self.merger.result()
                        && !dense::max_into(&encode(&prev), &mut regs)
                    {
                        self.go_slow();
                    }
                    if !self.slow {
                        self.regs = Some(regs);
                    }
                }
                if let Some(regs) = self.regs.as_mut() {
                    if dense::max_into(img, regs) {
                        return;
                    }
                    self.go_slow();
                }
            } else {
                self.go_slow();
            }
        }
        self.merger.add(decoded);
    }

    /// Hands the registers over to the crate's union.
    fn go_slow(&mut self) {
        self.slow = true;
        if let (Some(regs), Some(k)) = (self.regs.take(), self.lg_k) {
            let img = dense::encode_hll4(k, &regs);
            self.merger.add(&decode(&img).expect("own image decodes"));
        }
    }

    /// The stored image of the union, `None` when nothing was added.
    pub fn result(&self) -> Option<Vec<u8>> {
        match (&self.regs, self.lg_k) {
            (Some(regs), Some(k)) if !self.slow => Some(dense::encode_hll4(k, regs)),
            _ => self.merger.result().map(|s| encode(&s)),
        }
    }
}

/// Images in exactly the form otelcat writes them, read in place: a
/// compact LIST or SET with the HLL_4 target, or a compact HLL_4 image
/// flagged out-of-order whose exceptions are listed in slot order. Every
/// length and field is checked; anything else (foreign layouts, HLL_6/8,
/// updatable images, damage) is not a `View` and goes through the crate.
mod stored {
    use super::KEY_MASK_26;
    use super::dense::u32_at;

    pub enum View<'a> {
        /// LIST or SET coupons, little-endian u32 each (none when empty),
        /// and for a SET the crate's table of them (2^lg slots).
        Coupons(&'a [u8], Option<(Vec<u32>, u32)>),
        /// Dense: a nibble per register (value − cur_min, 15 = exception),
        /// then the exceptions (slot | value << 26), by slot.
        Hll4 {
            cur_min: u8,
            nibbles: &'a [u8],
            aux: &'a [u8],
        },
    }

    /// The lg_k and view of an image, `None` when it is not in otelcat's
    /// form. Only images [`check`](super::check::check) accepts are views.
    pub fn view(img: &[u8]) -> Option<(u8, View<'_>)> {
        use super::check::Mode;
        let shape = super::check::check(img).ok()?;
        let lg_k = shape.lg_k;
        let k = 1usize << lg_k;
        match (shape.mode, shape.target, img[5]) {
            // LIST: flags compact (+ empty).
            (Mode::List, 0, 8 | 12) => Some((lg_k, View::Coupons(&img[8..], None))),
            // SET: compact, byte 6 as the crate writes it.
            (Mode::Set, 0, 8) if img[6] == 0 => {
                Some((lg_k, View::Coupons(&img[12..], shape.set_table)))
            }
            // HLL_4, compact, out-of-order, exceptions by slot.
            (Mode::Hll, 0, 0x18) if img[4] == 0 => {
                let (nibbles, aux) = img[40..].split_at(k / 2);
                let mut prev = None;
                for w in aux.chunks_exact(4) {
                    let slot = (u32_at(w, 0)? & KEY_MASK_26) as usize;
                    if prev.is_some_and(|p| p >= slot) {
                        return None;
                    }
                    prev = Some(slot);
                }
                Some((
                    lg_k,
                    View::Hll4 {
                        cur_min: img[6],
                        nibbles,
                        aux,
                    },
                ))
            }
            _ => None,
        }
    }

    fn coupons(c: &[u8]) -> impl Iterator<Item = u32> + '_ {
        c.chunks_exact(4)
            .map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes")))
    }

    pub fn is_empty(v: &View) -> bool {
        matches!(v, View::Coupons(c, _) if c.is_empty())
    }

    /// A sparse view's coupons in the order the crate's container of the
    /// deserialized sketch yields them: a LIST's as listed, a SET's by slot
    /// of the rebuilt table. (Nothing for a dense view.)
    pub fn union_order<'v>(v: &'v View) -> Box<dyn Iterator<Item = u32> + 'v> {
        match v {
            View::Coupons(c, None) => Box::new(coupons(c)),
            View::Coupons(_, Some((table, _))) => {
                Box::new(table.iter().copied().filter(|&c| c != 0))
            }
            View::Hll4 { .. } => Box::new(std::iter::empty()),
        }
    }

    /// The register at `slot` of a dense view.
    fn register(cur_min: u8, nibbles: &[u8], aux: &[u8], slot: usize) -> u8 {
        let nibble = (nibbles[slot / 2] >> (4 * (slot & 1))) & 15;
        if nibble < 15 {
            return cur_min + nibble;
        }
        coupons(aux)
            .find(|&x| (x & KEY_MASK_26) as usize == slot)
            .map_or(0, |x| (x >> 26) as u8)
    }

    /// Whether the union of `a` and `b` (same lg_k) is `a` itself: every
    /// coupon of a sparse `b` is in a sparse `a`, or every register of `b`
    /// is at most `a`'s when `a` is dense. A dense `b` never fits in a
    /// sparse `a` (the union is dense).
    pub fn covers(a: &View, b: &View, lg_k: u8) -> bool {
        let k = 1usize << lg_k;
        match (a, b) {
            (View::Coupons(ca, set), View::Coupons(cb, _)) => {
                if cb.len() > ca.len() {
                    return false;
                }
                match set {
                    Some((table, lg)) => coupons(cb).all(|c| super::set_contains(table, *lg, c)),
                    None => coupons(cb).all(|c| coupons(ca).any(|x| x == c)),
                }
            }
            (View::Coupons(..), View::Hll4 { .. }) => false,
            (
                View::Hll4 {
                    cur_min,
                    nibbles,
                    aux,
                },
                View::Coupons(cb, _),
            ) => coupons(cb).all(|c| {
                let slot = (c & KEY_MASK_26) as usize & (k - 1);
                (c >> 26) as u8 <= register(*cur_min, nibbles, aux, slot)
            }),
            (
                View::Hll4 {
                    cur_min: ma,
                    nibbles: na,
                    aux: xa,
                },
                View::Hll4 {
                    cur_min: mb,
                    nibbles: nb,
                    aux: xb,
                },
            ) => {
                // Nibble by nibble, without decoding: an exception of `a`
                // covers anything there, one of `b` is checked on its own.
                let lane = |raw: u8, min: u8, token: u8| if raw == 15 { token } else { raw + min };
                let bad = na.iter().zip(nb.iter()).fold(0u8, |bad, (&a, &b)| {
                    let lo = (lane(b & 15, *mb, 0) > lane(a & 15, *ma, 255)) as u8;
                    let hi = (lane(b >> 4, *mb, 0) > lane(a >> 4, *ma, 255)) as u8;
                    bad | lo | hi
                });
                bad == 0
                    && coupons(xb).all(|c| {
                        (c >> 26) as u8 <= register(*ma, na, xa, (c & KEY_MASK_26) as usize)
                    })
            }
        }
    }
}

/// `hll_merge(a, b)` of two images in otelcat's stored form (same lg_k),
/// read in place rather than decoded through the crate: `a` itself when
/// `b` adds nothing to it (the common case of the catalog's UPSERTs: a
/// batch of values the stored sketch has seen), else, when either is
/// dense, the registers' maximum written as [`Union`] writes it. `None`
/// (two sparse sketches that differ, or anything not in the stored form)
/// sends the caller down the general path.
pub fn merge_stored<'a>(a: &'a [u8], b: &[u8]) -> Option<std::borrow::Cow<'a, [u8]>> {
    let ((ka, va), (kb, vb)) = (stored::view(a)?, stored::view(b)?);
    if ka != kb {
        return None;
    }
    if stored::covers(&va, &vb, ka) {
        return Some(std::borrow::Cow::Borrowed(a));
    }
    let dense = |v: &stored::View| matches!(v, stored::View::Hll4 { .. });
    if !dense(&va) && !dense(&vb) {
        if ka != DEFAULT_LG_K {
            return None;
        }
        // The crate's union starts from (a copy of) the first non-empty
        // sketch's container, then adds the other's coupons in the order
        // its container holds them; a builder does the same and lays them
        // out as the union does (and densifies as it does).
        let (first, second) = if stored::is_empty(&va) {
            (&vb, &va)
        } else {
            (&va, &vb)
        };
        let mut b = Builder::from_sparse(first)?;
        for c in stored::union_order(second) {
            b.add_coupon(c);
        }
        return Some(std::borrow::Cow::Owned(b.image()));
    }
    let mut regs = vec![0u8; 1 << ka];
    if !(dense::max_into(a, &mut regs) && dense::max_into(b, &mut regs)) {
        return None; // (never for images `view` took)
    }
    Some(std::borrow::Cow::Owned(dense::encode_hll4(ka, &regs)))
}

/// Register-level reading and writing of DataSketches HLL images (the
/// layout in docs/FORMAT.md, section 2).
mod dense {
    /// 2^-exp exactly (the crate's own helper is private).
    fn inv_pow2(exp: u8) -> f64 {
        f64::from_bits((1023 - exp as u64) << 52)
    }

    use super::KEY_MASK_26;

    const AUX_TOKEN: u8 = 15;

    pub(super) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }

    /// Whether the image is a dense (HLL mode) one.
    pub fn is_dense(img: &[u8]) -> bool {
        img.first() == Some(&10)
    }

    /// Whether `max_into` reads this image (HLL_6 images are left to the crate).
    pub fn readable(img: &[u8]) -> bool {
        img.len() >= 8
            && match img[7] & 3 {
                0 | 1 => true,                           // LIST, SET: any target type
                2 => matches!((img[7] >> 2) & 3, 0 | 2), // HLL_4, HLL_8
                _ => false,
            }
    }

    /// Takes the register-wise maximum of `regs` and the image's registers.
    /// False when the image is not in a layout read here (nothing changed
    /// then only if it fails before the first register; callers fall back
    /// to the crate, which recomputes everything from the inputs).
    pub fn max_into(img: &[u8], regs: &mut [u8]) -> bool {
        read(img, regs).is_some()
    }

    fn read(img: &[u8], regs: &mut [u8]) -> Option<()> {
        let k = regs.len();
        if img.len() < 8 || img[3] as usize >= 32 || (1usize << img[3]) != k {
            return None;
        }
        let (flags, mode) = (img[5], img[7]);
        let compact = flags & 0x08 != 0;
        if flags & 0x04 != 0 {
            return Some(()); // empty
        }
        let coupon = |regs: &mut [u8], c: u32| {
            if c != 0 {
                let slot = (c & KEY_MASK_26) as usize & (k - 1);
                let v = (c >> 26) as u8;
                if v > regs[slot] {
                    regs[slot] = v;
                }
            }
        };
        match mode & 3 {
            0 | 1 => {
                // LIST (8-byte preamble, count in byte 6) or SET (12 bytes, count at 8).
                let (start, count) = if mode & 3 == 0 {
                    (8, img[6] as usize)
                } else {
                    (12, u32_at(img, 8)? as usize)
                };
                let slots = if compact {
                    count
                } else {
                    1usize.checked_shl(img[4] as u32)?
                };
                for i in 0..slots {
                    coupon(regs, u32_at(img, start + 4 * i)?);
                }
                Some(())
            }
            2 => {
                let data = img.get(40..)?;
                match (mode >> 2) & 3 {
                    2 => {
                        for (r, &v) in regs.iter_mut().zip(data.get(..k)?) {
                            *r = (*r).max(v);
                        }
                        Some(())
                    }
                    0 => {
                        let cur_min = img[6];
                        let aux_count = u32_at(img, 36)? as usize;
                        let nibbles = data.get(..k / 2)?;
                        // A nibble holds register - cur_min; AUX_TOKEN defers
                        // to the exception list (read below). Branch-free,
                        // in fixed blocks of 32 registers, so that it vectorises.
                        let reg = |raw: u8| {
                            if raw < AUX_TOKEN {
                                cur_min.wrapping_add(raw)
                            } else {
                                0
                            }
                        };
                        let mut blocks = regs.chunks_exact_mut(32);
                        let mut ins = nibbles.chunks_exact(16);
                        for (r, n) in (&mut blocks).zip(&mut ins) {
                            let mut dec = [0u8; 32];
                            for i in 0..16 {
                                dec[2 * i] = reg(n[i] & 15);
                                dec[2 * i + 1] = reg(n[i] >> 4);
                            }
                            for (r, d) in r.iter_mut().zip(dec) {
                                *r = (*r).max(d);
                            }
                        }
                        let rest = blocks.into_remainder().chunks_exact_mut(2);
                        for (pair, &b) in rest.zip(ins.remainder()) {
                            pair[0] = pair[0].max(reg(b & 15));
                            pair[1] = pair[1].max(reg(b >> 4));
                        }
                        let aux_slots = if compact {
                            aux_count
                        } else if aux_count == 0 {
                            0
                        } else {
                            1usize.checked_shl(img[4] as u32)?
                        };
                        for i in 0..aux_slots {
                            coupon(regs, u32_at(img, 40 + k / 2 + 4 * i)?);
                        }
                        Some(())
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The compact HLL_4 image of these registers, flagged out-of-order:
    /// byte for byte what the crate's HLL_8 → HLL_4 conversion writes (same
    /// cur_min, nibbles, exceptions, and KxQ sums), except that exceptions
    /// are listed in slot order.
    ///
    /// The crate accumulates KxQ0 = k + Σ (2^-v − 1) over non-zero registers
    /// with v < 32, and KxQ1 = Σ 2^-v for v ≥ 32, one register at a time.
    /// Every partial sum is a multiple of 2^-31 (of 2^-63 for KxQ1) below
    /// 2^22 (2^-10), which a double holds exactly: no step rounds, so the
    /// sums are the same computed from a histogram of register values in
    /// any order, which is what this does (no chain of dependent additions).
    pub fn encode_hll4(lg_k: u8, regs: &[u8]) -> Vec<u8> {
        let k = regs.len();
        // Simple folds, so that they vectorise.
        let cur_min = regs.iter().fold(u8::MAX, |m, &v| m.min(v));
        let max = regs.iter().fold(0u8, |m, &v| m.max(v));
        let mut out = Vec::with_capacity(40 + k / 2 + 16);
        out.extend_from_slice(&[10, 1, 7, lg_k, 0, 0x08 | 0x10, cur_min, 2]);
        out.resize(40, 0); // HIP accumulator (not valid: out-of-order), sums, counts: below
        // A nibble holds register − cur_min; AUX_TOKEN (cur_min + 15 or
        // more) defers to the exception list.
        out.resize(40 + k / 2, 0);
        pack_nibbles(regs, cur_min, &mut out[40..]);
        // The registers at each value, from a histogram of the packed bytes
        // (one increment per two registers; two tables, so that an
        // increment need not wait for the previous one).
        let mut h = [[0u32; 256]; 2];
        for pair in out[40..].chunks_exact(2) {
            h[0][pair[0] as usize] += 1;
            h[1][pair[1] as usize] += 1;
        }
        let mut at = [0u32; 16];
        for b in 0..256 {
            let n = h[0][b] + h[1][b];
            at[b & 15] += n;
            at[b >> 4] += n;
        }
        let (mut kxq0, mut kxq1) = (0.0f64, 0.0f64);
        let mut add = |v: u8, n: u32| {
            if n > 0 {
                let x = n as f64 * inv_pow2(v);
                if v < 32 {
                    kxq0 += x;
                } else {
                    kxq1 += x;
                }
            }
        };
        for (c, &n) in at.iter().enumerate().take(AUX_TOKEN as usize) {
            add(cur_min + c as u8, n);
        }
        let mut aux = Vec::new();
        if max - cur_min >= AUX_TOKEN {
            for (w, chunk) in out[40..].chunks(8).enumerate() {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                let x = u64::from_le_bytes(word);
                // Bit 0 of a nibble is left set where all four bits are.
                if x & (x >> 1) & (x >> 2) & (x >> 3) & 0x1111_1111_1111_1111 == 0 {
                    continue;
                }
                for (i, &b) in chunk.iter().enumerate() {
                    for (half, raw) in [(0, b & 15), (1, b >> 4)] {
                        if raw == AUX_TOKEN {
                            let slot = 2 * (8 * w + i) + half;
                            aux.push(((regs[slot] as u32) << 26) | slot as u32);
                        }
                    }
                }
            }
        }
        for &c in &aux {
            add((c >> 26) as u8, 1);
        }
        out[16..24].copy_from_slice(&kxq0.to_le_bytes());
        out[24..32].copy_from_slice(&kxq1.to_le_bytes());
        out[32..36].copy_from_slice(&at[0].to_le_bytes());
        out[36..40].copy_from_slice(&(aux.len() as u32).to_le_bytes());
        for c in aux {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out
    }

    /// Two registers a byte (low nibble first), each as min(v − cur_min, 15).
    fn pack_nibbles(regs: &[u8], cur_min: u8, out: &mut [u8]) {
        let nib = |v: u8| (v - cur_min).min(AUX_TOKEN);
        // Fixed-size blocks of 32 registers, so that the loop vectorises.
        let mut blocks = regs.chunks_exact(32);
        let mut outs = out.chunks_exact_mut(16);
        for (r, o) in (&mut blocks).zip(&mut outs) {
            for i in 0..16 {
                o[i] = nib(r[2 * i]) | (nib(r[2 * i + 1]) << 4);
            }
        }
        for (p, o) in blocks
            .remainder()
            .chunks_exact(2)
            .zip(outs.into_remainder())
        {
            *o = nib(p[0]) | (nib(p[1]) << 4);
        }
    }
}

/// The estimate rounded to an integer, as `hll_count` returns it: the
/// composite estimate (see [`encode`]), so equal registers count the same.
pub fn count(s: &HllSketch) -> i64 {
    s.composite_estimate().round() as i64
}

/// `hll_info` document. Estimate and bounds are the composite ones, as
/// `hll_count` counts, also for a foreign sketch flagged for HIP.
pub fn info_json(s: &HllSketch, stored_bytes: usize) -> String {
    let normalized = decode(&encode(s)).unwrap_or_else(|_| s.clone());
    let s = &normalized;
    let mode = {
        // The first byte of the image is the preamble size: 2 LIST, 3 SET, 10 HLL.
        let img = s.serialize();
        match img.first() {
            Some(2) => "LIST",
            Some(3) => "SET",
            _ => "HLL",
        }
    };
    let ty = match s.target_type() {
        HllType::Hll4 => "HLL_4",
        HllType::Hll6 => "HLL_6",
        HllType::Hll8 => "HLL_8",
    };
    serde_json::json!({
        "lg_k": s.lg_config_k(),
        "type": ty,
        "mode": mode,
        "empty": s.is_empty(),
        "estimate": s.estimate(),
        "lower_bound": s.lower_bound(NumStdDev::Two),
        "upper_bound": s.upper_bound(NumStdDev::Two),
        "bytes": stored_bytes,
    })
    .to_string()
}

// ---------------------------------------------------------------------------
// SQL functions

/// `hll_sketch(value [, lg_k])`: aggregate building a sketch of the values.
pub struct SketchAgg {
    union: HllUnion,
    lg_k: u8,
    buf: String,
}

impl Aggregate for SketchAgg {
    fn new(args: &[Arg]) -> Result<Self> {
        let lg_k = match args.get(1) {
            Some(&a) => lg_k_arg("hll_sketch", a, 2)?,
            None => DEFAULT_LG_K,
        };
        Ok(SketchAgg {
            union: HllUnion::new(lg_k).expect("lg_k checked"),
            lg_k,
            buf: String::new(),
        })
    }
    fn step(&mut self, args: &[Arg]) -> Result<()> {
        if let Some(&a) = args.get(1) {
            let k = lg_k_arg("hll_sketch", a, 2)?;
            if k != self.lg_k {
                bail!(
                    "hll_sketch: lg_k must be the same on every row ({} then {k})",
                    self.lg_k
                );
            }
        }
        if let Some(bytes) = text::value_bytes(args[0], &mut self.buf) {
            update_bytes(&mut self.union, bytes);
        }
        Ok(())
    }
    fn result(&mut self, ctx: Ctx) -> Result<()> {
        if self.union.is_empty() {
            ctx.null();
            return Ok(());
        }
        ctx.blob(&encode(&self.union.to_sketch(STORED_TYPE)))
    }
}

/// `hll_add(sketch, value)`.
pub fn hll_add(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let existing = sketch_arg("hll_add", args[0], 1)?;
    let mut buf = String::new();
    let Some(bytes) = text::value_bytes(args[1], &mut buf) else {
        // NULL value: the sketch unchanged (NULL stays NULL).
        match existing {
            Some(_) => return ctx.blob(args[0].blob()),
            None => {
                ctx.null();
                return Ok(());
            }
        }
    };
    let mut union = match &existing {
        Some(s) => {
            let mut u = HllUnion::new(s.lg_config_k()).expect("decoded lg_k in range");
            u.update(s);
            u
        }
        None => HllUnion::new(DEFAULT_LG_K).expect("default lg_k"),
    };
    update_bytes(&mut union, bytes);
    ctx.blob(&encode(&union.to_sketch(STORED_TYPE)))
}

/// `hll_merge(a, b, …)`: scalar over two or more sketches.
pub fn hll_merge(ctx: Ctx, args: &[Arg]) -> Result<()> {
    if args.len() < 2 {
        bail!(
            "hll_merge: wrong number of arguments ({}): give 2 or more sketches, or 1 to use it as an aggregate",
            args.len()
        );
    }
    if let [a, b] = args {
        let (a, b) = (*a, *b);
        if a.kind() == Kind::Blob
            && b.kind() == Kind::Blob
            && let Some(img) = merge_stored(a.blob(), b.blob())
        {
            return ctx.blob(&img);
        }
    }
    let mut u = Union::default();
    for (i, &a) in args.iter().enumerate() {
        if let Some(s) = sketch_arg("hll_merge", a, i + 1)? {
            u.add(a.blob(), &s);
        }
    }
    match u.result() {
        Some(img) => ctx.blob(&img),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

/// `hll_merge(sketch)`: aggregate union of a column of sketches.
#[derive(Default)]
pub struct MergeAgg {
    union: Union,
}

impl Aggregate for MergeAgg {
    fn new(_args: &[Arg]) -> Result<Self> {
        Ok(MergeAgg::default())
    }
    fn step(&mut self, args: &[Arg]) -> Result<()> {
        if let Some(s) = sketch_arg("hll_merge", args[0], 1)? {
            self.union.add(args[0].blob(), &s);
        }
        Ok(())
    }
    fn result(&mut self, ctx: Ctx) -> Result<()> {
        match self.union.result() {
            Some(img) => ctx.blob(&img),
            None => {
                ctx.null();
                Ok(())
            }
        }
    }
}

/// `hll_count(sketch)`.
pub fn hll_count(ctx: Ctx, args: &[Arg]) -> Result<()> {
    match sketch_arg("hll_count", args[0], 1)? {
        Some(s) => ctx.i64(count(&s)),
        None => ctx.i64(0),
    }
    Ok(())
}

/// `hll_info(sketch)`.
pub fn hll_info(ctx: Ctx, args: &[Arg]) -> Result<()> {
    match sketch_arg("hll_info", args[0], 1)? {
        Some(s) => ctx.text(&info_json(&s, args[0].blob().len())),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

pub fn register(db: Db) -> Result<()> {
    let pure = ffi::pure();
    ffi::define_aggregate::<SketchAgg>(db, "hll_sketch", 1, pure)?;
    ffi::define_aggregate::<SketchAgg>(db, "hll_sketch", 2, pure)?;
    ffi::define_scalar(db, "hll_add", 2, pure, hll_add)?;
    ffi::define_scalar(db, "hll_merge", -1, pure, hll_merge)?;
    ffi::define_aggregate::<MergeAgg>(db, "hll_merge", 1, pure)?;
    ffi::define_scalar(db, "hll_count", 1, pure, hll_count)?;
    ffi::define_scalar(db, "hll_info", 1, pure, hll_info)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasketches::hll::Coupon;

    fn sketch_of(range: std::ops::Range<u64>, lg_k: u8) -> HllSketch {
        let mut u = HllUnion::new(lg_k).unwrap();
        for i in range {
            update_bytes(&mut u, i.to_string().as_bytes());
        }
        u.to_sketch(STORED_TYPE)
    }

    /// Relative standard error of the HLL estimator at lg_k (DataSketches'
    /// HIP estimator is better; this is the classic bound, conservative).
    fn rse(lg_k: u8) -> f64 {
        1.04 / ((1u64 << lg_k) as f64).sqrt()
    }

    #[test]
    fn accuracy_and_union_within_three_standard_errors() {
        for n in [10u64, 100, 1_000, 10_000, 100_000, 1_000_000] {
            let whole = sketch_of(0..n, DEFAULT_LG_K);
            let est = whole.estimate();
            let tol = 3.0 * rse(DEFAULT_LG_K) * n as f64;
            assert!((est - n as f64).abs() <= tol.max(0.5), "n={n} est={est}");
            let mut m = Merger::default();
            m.add(&sketch_of(0..n / 2, DEFAULT_LG_K));
            m.add(&sketch_of(n / 2..n, DEFAULT_LG_K));
            let u = m.result().unwrap().estimate();
            assert!((u - n as f64).abs() <= tol.max(0.5), "union n={n} est={u}");
        }
    }

    #[test]
    fn round_trip_and_mixed_lg_k_merge_to_smaller() {
        let a = sketch_of(0..50_000, 14);
        let b = sketch_of(25_000..75_000, 10);
        let a2 = decode(&encode(&a)).unwrap();
        assert_eq!(a2.estimate(), a.composite_estimate());
        assert_eq!(count(&a2), count(&a));
        let mut m = Merger::default();
        m.add(&a);
        m.add(&b);
        let r = m.result().unwrap();
        assert_eq!(r.lg_config_k(), 10);
        assert!((r.estimate() - 75_000.0).abs() < 3.0 * rse(10) * 75_000.0);
        // A small (LIST mode) sketch of lower lg_k still brings the result down.
        let mut m = Merger::default();
        m.add(&a);
        m.add(&sketch_of(0..3, 8));
        assert_eq!(m.result().unwrap().lg_config_k(), 8);
    }

    #[test]
    fn same_values_count_the_same_built_or_merged() {
        let whole = decode(&encode(&sketch_of(0..200_000, 12))).unwrap();
        let mut m = Merger::default();
        m.add(&decode(&encode(&sketch_of(0..70_000, 12))).unwrap());
        m.add(&decode(&encode(&sketch_of(70_000..200_000, 12))).unwrap());
        let merged = decode(&encode(&m.result().unwrap())).unwrap();
        assert_eq!(count(&whole), count(&merged));
        assert_eq!(whole.estimate(), merged.estimate());
        assert_eq!(
            whole.upper_bound(NumStdDev::Two),
            merged.upper_bound(NumStdDev::Two)
        );
    }

    #[test]
    fn register_union_equals_the_crate_union() {
        let sizes = [0u64, 3, 40, 300, 1_000, 5_000, 60_000];
        let mut imgs: Vec<Vec<u8>> = Vec::new();
        for (i, &n) in sizes.iter().enumerate() {
            let base = i as u64 * 7_919;
            let s = sketch_of(base..base + n, 12);
            imgs.push(encode(&s));
            // A foreign HLL_8 image of the same values (updatable and compact).
            let mut u = HllUnion::new(12).unwrap();
            for v in base..base + n {
                update_bytes(&mut u, v.to_string().as_bytes());
            }
            let s8 = u.to_sketch(HllType::Hll8);
            imgs.push(s8.serialize());
        }
        let mut r = crate::testutil::XorShift::new(0x2545F4914F6CDD1D);
        let mut rnd = |m: usize| r.below(m as u64) as usize;
        let mut checked_dense = 0;
        for _ in 0..300 {
            let pick: Vec<&Vec<u8>> = (0..2 + rnd(4)).map(|_| &imgs[rnd(imgs.len())]).collect();
            let mut fast = Union::default();
            let mut slow = Merger::default();
            for img in &pick {
                let d = decode(img).unwrap();
                fast.add(img, &d);
                slow.add(&d);
            }
            let (Some(f), Some(s)) = (fast.result(), slow.result().map(|s| encode(&s))) else {
                continue;
            };
            let (df, ds) = (decode(&f).unwrap(), decode(&s).unwrap());
            assert_eq!(df.estimate(), ds.estimate());
            assert_eq!(df.composite_estimate(), ds.composite_estimate());
            assert_eq!(
                df.lower_bound(NumStdDev::Two),
                ds.lower_bound(NumStdDev::Two)
            );
            assert_eq!(
                df.upper_bound(NumStdDev::Two),
                ds.upper_bound(NumStdDev::Two)
            );
            assert_eq!(count(&df), count(&ds));
            if f[0] == 10 {
                checked_dense += 1;
                // Same bytes, up to the order of the exception list and
                // the HIP accumulator (bytes 8..16, unused: out-of-order).
                assert_eq!(f.len(), s.len());
                let k2 = 40 + (1 << 12) / 2;
                assert_eq!(f[..8], s[..8]);
                assert_eq!(f[16..k2], s[16..k2]);
            } else {
                assert_eq!(f, s);
            }
        }
        assert!(checked_dense > 100, "{checked_dense}");
    }

    #[test]
    fn union_images_count_like_the_crate() {
        for n in [0u64, 5, 300, 3_000, 80_000] {
            let mut u = HllUnion::new(12).unwrap();
            for v in 0..n {
                update_bytes(&mut u, v.to_string().as_bytes());
            }
            let fast = encode_union(&u);
            let slow = encode(&u.to_sketch(STORED_TYPE));
            let (f, s) = (decode(&fast).unwrap(), decode(&slow).unwrap());
            assert_eq!(f.estimate(), s.estimate(), "n={n}");
            assert_eq!(f.upper_bound(NumStdDev::Two), s.upper_bound(NumStdDev::Two));
            assert_eq!(fast.len(), slow.len());
            if fast[0] != 10 {
                assert_eq!(fast, slow, "sparse images are byte-identical (n={n})");
            }
        }
    }

    /// A `Builder` stores what the crate's union of the same values stores
    /// (registers, sums and estimates), repeats and all.
    #[test]
    fn builder_images_equal_the_crate_union() {
        // Around each change of mode: LIST full at 8 coupons, SET grown at
        // 25, 49, 97, 193 coupons, dense at 385.
        for n in [
            0u64, 1, 5, 7, 8, 9, 24, 25, 26, 48, 49, 50, 96, 97, 98, 150, 192, 193, 194, 300, 383,
            384, 385, 386, 400, 3_000, 80_000,
        ] {
            let mut b = Builder::new();
            let mut u = HllUnion::new(DEFAULT_LG_K).unwrap();
            for v in 0..n {
                for _ in 0..(v % 3) {
                    // Repeats, near and far: skipped or not, same registers.
                    let x = (v * 7 % (n / 2 + 1)).to_string();
                    b.add(x.as_bytes());
                    update_bytes(&mut u, x.as_bytes());
                }
                b.add(v.to_string().as_bytes());
                update_bytes(&mut u, v.to_string().as_bytes());
            }
            let (fast, slow) = (b.image(), encode(&u.to_sketch(STORED_TYPE)));
            let (f, s) = (decode(&fast).unwrap(), decode(&slow).unwrap());
            assert_eq!(f.composite_estimate(), s.composite_estimate(), "n={n}");
            assert_eq!(count(&f), count(&s), "n={n}");
            assert_eq!(fast.len(), slow.len(), "n={n}");
            if fast[0] == 10 {
                let k2 = 40 + (1 << DEFAULT_LG_K) / 2;
                assert_eq!(fast[..8], slow[..8], "n={n}");
                assert_eq!(fast[16..k2], slow[16..k2], "n={n}");
            } else {
                assert_eq!(fast, slow, "sparse images are byte-identical (n={n})");
            }
        }
    }

    /// The one-pass MurmurHash3 gives the crate's coupon for every value
    /// (all tail lengths, several blocks), and the reference test vectors.
    #[test]
    fn coupons_equal_the_crate_coupons() {
        let crate_coupon = |b: &[u8]| -> u32 {
            let d = format!("{:?}", Coupon::from_value(raw_bytes::from_slice(b)));
            d.trim_start_matches("Coupon(")
                .trim_end_matches(')')
                .parse()
                .expect("Coupon(n)")
        };
        let mut r = crate::testutil::XorShift::new(0x9E37_79B9_7F4A_7C15);
        for len in 0..=80usize {
            for _ in 0..200 {
                let v: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
                assert_eq!(coupon_of(&v), crate_coupon(&v), "{v:?}");
            }
        }
        // Published MurmurHash3_x64_128 vectors (seed 0).
        let fox = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(
            murmur3_x64_128(fox, 0),
            (0xe34b_bc7b_bc07_1b6c, 0x7a43_3ca9_c49a_9347)
        );
    }

    /// Merging builders (sparse or dense on either side) stores what the
    /// crate's union of all their values stores.
    #[test]
    fn builder_merges_equal_the_crate_union() {
        for (na, nb) in [
            (5u64, 7u64),
            (300, 5),
            (5, 3_000),
            (3_000, 300),
            (3_000, 20_000),
        ] {
            let (mut a, mut b) = (Builder::new(), Builder::new());
            let mut u = HllUnion::new(DEFAULT_LG_K).unwrap();
            for v in 0..na {
                a.add(format!("a{v}").as_bytes());
                update_bytes(&mut u, format!("a{v}").as_bytes());
            }
            for v in 0..nb {
                b.add(format!("b{v}").as_bytes());
                update_bytes(&mut u, format!("b{v}").as_bytes());
            }
            a.merge(&b);
            let (fast, slow) = (a.image(), encode(&u.to_sketch(STORED_TYPE)));
            assert_eq!(fast.len(), slow.len(), "{na}+{nb}");
            let (f, s) = (decode(&fast).unwrap(), decode(&slow).unwrap());
            assert_eq!(f.composite_estimate(), s.composite_estimate(), "{na}+{nb}");
            // Still adding after a merge: the same as the union too.
            a.add(b"one more");
            update_bytes(&mut u, b"one more");
            let (f, s) = (decode(&a.image()).unwrap(), u.to_sketch(STORED_TYPE));
            assert_eq!(
                f.composite_estimate(),
                s.composite_estimate(),
                "{na}+{nb}+1"
            );
        }
    }

    /// The in-place path of `hll_merge(a, b)` returns `a` exactly when the
    /// general union holds what `a` holds (the same coupons when sparse,
    /// the same registers when dense), and otherwise, when dense, the
    /// general union's image byte for byte.
    #[test]
    fn merge_in_place_equals_the_general_union() {
        use std::borrow::Cow;
        let image = |vals: &[u64]| {
            let mut b = Builder::new();
            for v in vals {
                b.add(v.to_string().as_bytes());
            }
            b.image()
        };
        // What an image holds, in a comparable form.
        let content = |img: &[u8]| -> Vec<u32> {
            let (lg_k, v) = stored::view(img).expect("own image");
            match v {
                stored::View::Coupons(c, _) => {
                    let mut c: Vec<u32> = c
                        .chunks_exact(4)
                        .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
                        .collect();
                    c.sort_unstable();
                    c
                }
                stored::View::Hll4 { .. } => {
                    let mut regs = vec![0u8; 1 << lg_k];
                    assert!(dense::max_into(img, &mut regs));
                    // Tagged apart from any coupon list.
                    std::iter::once(u32::MAX)
                        .chain(regs.iter().map(|&r| r as u32))
                        .collect()
                }
            }
        };
        let general = |a: &[u8], b: &[u8]| {
            let mut u = Union::default();
            u.add(a, &decode(a).unwrap());
            u.add(b, &decode(b).unwrap());
            u.result().unwrap()
        };
        let mut r = crate::testutil::XorShift::new(0x51ED_2701);
        let (mut yes, mut no, mut sparse) = (0, 0, 0);
        for &na in &[0u64, 3, 8, 9, 30, 200, 384, 385, 2_000, 60_000] {
            let a_vals: Vec<u64> = (0..na).collect();
            let a = image(&a_vals);
            for _ in 0..12 {
                // Some of a's values, perhaps with new ones.
                let nb = r.below(20) + r.below(2) * r.below(3_000);
                let fresh = r.below(3);
                let mut b_vals: Vec<u64> = (0..nb).map(|_| r.below(na.max(1))).collect();
                b_vals.extend((0..fresh).map(|i| 1_000_000 + r.below(1 << 40) + i));
                if na == 0 {
                    b_vals.retain(|&v| v >= 1_000_000);
                }
                let b = image(&b_vals);
                let want = general(&a, &b);
                let same = content(&want) == content(&a);
                let what = format!("na={na} b={} values", b_vals.len());
                match merge_stored(&a, &b) {
                    Some(Cow::Borrowed(img)) => {
                        assert!(same, "{what}");
                        assert_eq!(img, &a[..]);
                        yes += 1;
                    }
                    Some(Cow::Owned(img)) => {
                        assert!(!same, "{what}");
                        // Byte for byte, but the HIP field of a dense image
                        // (out-of-order: never read; the crate's union keeps a
                        // value when it densifies, otelcat writes 0).
                        let hip = |i: &[u8]| -> Vec<u8> {
                            let mut i = i.to_vec();
                            if i[0] == 10 {
                                i[8..16].fill(0);
                            }
                            i
                        };
                        assert!(hip(&img) == hip(&want), "{what}");
                        if a[0] != 10 && b[0] != 10 {
                            sparse += 1;
                        }
                        no += 1;
                    }
                    None => panic!("{what}: every stored-form pair at lg_k 12 merges in place"),
                }
            }
            assert!(
                matches!(merge_stored(&a, &a), Some(Cow::Borrowed(_))),
                "na={na}"
            );
        }
        assert!(yes > 40 && no > 10 && sparse > 5, "{yes} {no} {sparse}");
        // An empty first sketch: the union is a copy of the second.
        let empty = image(&[]);
        for n in [3u64, 100, 300] {
            let b = image(&(0..n).collect::<Vec<_>>());
            let got = merge_stored(&empty, &b).expect("stored forms");
            assert_eq!(&got[..], &general(&empty, &b)[..], "empty + {n}");
        }
        // Not in otelcat's form: the general path decides.
        let dense = image(&(0..5_000).collect::<Vec<_>>());
        let small = image(&[1, 2, 3]);
        let foreign8 = {
            let mut u = HllUnion::new(12).unwrap();
            update_bytes(&mut u, b"1");
            u.to_sketch(HllType::Hll8).serialize()
        };
        assert!(merge_stored(&dense, &foreign8).is_none());
        for cut in [0, 1, 8, 40, dense.len() - 1] {
            assert!(merge_stored(&dense[..cut], &small).is_none(), "cut {cut}");
            assert!(merge_stored(&dense, &dense[..cut]).is_none(), "cut {cut}");
        }
        let other_k = encode(&sketch_of(1..4, 11));
        assert!(merge_stored(&small, &other_k).is_none());
        // Damaged images: what the in-place path takes, the crate reads too
        // (so bad input still gets the crate's error, never a result).
        let mut taken = 0;
        for img in [&dense, &small, &image(&(0..100).collect::<Vec<_>>())] {
            for i in 0..img.len().min(2100) {
                for v in [0u8, 1, 0x0f, 0xf0, 0xff] {
                    let mut m = img.clone();
                    m[i] = v;
                    for (x, y) in [(&m, &small), (&dense, &m), (&m, &dense)] {
                        if merge_stored(x, y).is_some() {
                            assert!(
                                decode(x).is_ok() && decode(y).is_ok(),
                                "byte {i} = {v}: {:?} {:?}",
                                decode(x).err(),
                                decode(y).err()
                            );
                            taken += 1;
                        }
                    }
                }
            }
        }
        assert!(taken > 1000, "{taken}");
        // A SET holding a coupon twice: the crate refuses it, so must this path.
        let set = image(&(0..100).collect::<Vec<_>>());
        let mut twice = set.clone();
        twice.copy_within(12..16, 16);
        assert!(decode(&twice).is_err());
        assert!(merge_stored(&twice, &small).is_none() && merge_stored(&set, &twice).is_none());
    }

    /// `encode_hll4` writes what the crate's union writes for the same
    /// registers (read from an HLL_8 image), at several lg_k, with and
    /// without exceptions, registers at 32 and above included.
    #[test]
    fn hll4_encoding_equals_the_crate_conversion() {
        let mut r = crate::testutil::XorShift::new(0xD1B5_4A32_D192_ED03);
        let mut checked_aux = 0;
        for lg_k in [4u8, 5, 7, 12, 14] {
            let k = 1usize << lg_k;
            for (lo, span) in [(0u64, 1u64), (0, 4), (1, 12), (5, 20), (2, 62), (30, 10)] {
                let regs: Vec<u8> = (0..k).map(|_| (lo + r.below(span)) as u8).collect();
                if regs.iter().all(|&v| v == 0) {
                    continue; // the crate's union skips it as empty
                }
                let img8 = check::hll8_image(lg_k, &regs);
                let mut u = HllUnion::new(lg_k).unwrap();
                u.update(&decode(&img8).unwrap());
                let want = encode(&u.to_sketch(STORED_TYPE));
                let got = dense::encode_hll4(lg_k, &regs);
                let what = format!("lg_k {lg_k}, registers {lo}..{}", lo + span);
                assert_eq!(got.len(), want.len(), "{what}");
                // Same bytes but the HIP field (not valid) and exception order.
                let end = 40 + k / 2;
                assert_eq!(got[..8], want[..8], "{what}");
                assert_eq!(got[16..end], want[16..end], "{what}");
                let aux = |img: &[u8]| {
                    let mut v: Vec<&[u8]> = img[end..].chunks(4).collect();
                    v.sort();
                    v.concat()
                };
                assert_eq!(aux(&got), aux(&want), "{what}");
                checked_aux += (got.len() > end) as usize;
            }
        }
        assert!(checked_aux >= 8, "{checked_aux}");
    }

    #[test]
    fn default_dense_size_within_4k() {
        let s = sketch_of(0..1_000_000, DEFAULT_LG_K);
        assert!(encode(&s).len() <= 4096, "{}", encode(&s).len());
    }

    /// Images read from `tests/fixtures/hll/<dir>/*.hll`, by name.
    fn fixture_images(dir: &str) -> Vec<(String, Vec<u8>)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hll");
        let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(root.join(dir))
            .expect("fixture directory")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "hll" || x == "bin"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect();
        out.sort();
        out
    }

    fn own(n: u64) -> Vec<u8> {
        let mut b = Builder::new();
        for v in 0..n {
            b.add(v.to_string().as_bytes());
        }
        b.image()
    }

    /// Every layout DataSketches writes (C++ through Python: HLL_4/6/8,
    /// LIST/SET/HLL, compact and updatable, HIP and out-of-order, with
    /// exceptions), the golden files and otelcat's own images are accepted
    /// and hold the property; the out-of-order ones count as Python counts.
    #[test]
    fn every_datasketches_layout_is_accepted() {
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/hll/foreign/manifest.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let foreign = fixture_images("foreign");
        assert_eq!(foreign.len(), 38);
        for (name, img) in foreign.iter().chain(&fixture_images(".")) {
            check::check(img).unwrap_or_else(|e| panic!("{name}: {e}"));
            property::property(img);
            if manifest[name]["out_of_order"] == true {
                let want = manifest[name]["estimate"].as_f64().unwrap();
                assert_eq!(decode(img).unwrap().composite_estimate(), want, "{name}");
            }
        }
        for n in [0, 1, 7, 8, 50, 384, 385, 5_000, 100_000] {
            property::property(&own(n));
        }
    }

    /// Registers at the largest value (63) are accepted: the estimate is
    /// finite (below k · 2^64) and `hll_count` saturates at i64::MAX, as
    /// docs/functions.md says; merged and added to, still so.
    #[test]
    fn largest_registers_count_saturated() {
        for lg_k in [4u8, 12] {
            let img = check::hll8_image(lg_k, &vec![63; 1 << lg_k]);
            property::property(&img);
            let s = decode(&img).unwrap();
            assert!(s.composite_estimate().is_finite());
            assert!(s.composite_estimate() > 9.3e18);
            assert_eq!(count(&s), i64::MAX);
            let merged = union_of_two(&img, &own(5));
            assert_eq!(count(&decode(&merged).unwrap()), i64::MAX);
        }
    }

    fn union_of_two(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut u = Union::default();
        u.add(a, &decode(a).unwrap());
        u.add(b, &decode(b).unwrap());
        u.result().unwrap()
    }

    /// The files fuzzing found (tests/fixtures/hll/hostile/README.md) are
    /// refused by every reader; the crate's decoder alone took them all.
    #[test]
    fn hostile_fixtures_are_refused() {
        let hostile = fixture_images("hostile");
        assert_eq!(hostile.len(), 5);
        for (name, img) in &hostile {
            let why = check::check(img).expect_err(name);
            assert!(decode(img).is_err(), "{name}");
            assert!(
                HllSketch::deserialize(img).is_ok(),
                "{name}: the crate refuses it"
            );
            for r in property::references() {
                assert!(merge_stored(img, r).is_none() && merge_stored(r, img).is_none());
            }
            property::property(img);
            eprintln!("{name}: {why}");
        }
    }

    /// One image per rule of docs/FORMAT.md ("Accepted images"), each
    /// breaking only that rule: refused with its reason. `crate_took` says
    /// whether the crate's decoder alone accepted it (what otelcat did
    /// before these checks).
    #[test]
    fn each_rule_refuses_what_breaks_it() {
        let foreign = |name: &str| {
            fixture_images("foreign")
                .into_iter()
                .find(|(n, _)| n == name)
                .unwrap()
                .1
        };
        let put32 = |img: &mut Vec<u8>, at: usize, v: u32| {
            img[at..at + 4].copy_from_slice(&v.to_le_bytes());
        };
        let get32 = |img: &[u8], at: usize| u32::from_le_bytes(img[at..at + 4].try_into().unwrap());
        let list3 = own(3);
        let set100 = own(100);
        // Dense HLL_4 at lg_k 8: registers 3..=6, two exceptions (25, 30).
        let mut regs: Vec<u8> = (0..256).map(|i| 3 + (i % 4) as u8).collect();
        regs[10] = 25;
        regs[200] = 30;
        let hll4 = dense::encode_hll4(8, &regs);
        assert_eq!(get32(&hll4, 36), 2);
        let aux0 = 40 + 128; // the first exception
        let hll8 = check::hll8_image(8, &(0..256).map(|i| (i % 9) as u8).collect::<Vec<_>>());
        let hll6 = foreign("hll6_lg8_n1000_c.hll");
        let list_u = foreign("hll4_lg12_n5_u.hll");
        let set_u = foreign("hll4_lg12_n100_u.hll");
        let hll4_u = foreign("hll4_lg8_n5000_exceptions_u.hll");
        type Case = (&'static str, Vec<u8>, &'static str, bool);
        let mut cases: Vec<Case> = Vec::new();
        let mut case = |what, base: &Vec<u8>, f: &dyn Fn(&mut Vec<u8>), why, took| {
            let mut img = base.clone();
            f(&mut img);
            cases.push((what, img, why, took));
        };
        case("empty", &vec![], &|_| {}, "empty blob", false);
        case(
            "short",
            &list3,
            &|i| i.truncate(5),
            "shorter than the 8-byte",
            false,
        );
        case("family", &list3, &|i| i[2] = 3, "family byte is 3", false);
        case("version", &list3, &|i| i[1] = 2, "serial version 2", false);
        case(
            "lg_k 3",
            &list3,
            &|i| i[3] = 3,
            "lg_k 3 is outside 4..21",
            false,
        );
        case(
            "lg_k 22",
            &list3,
            &|i| i[3] = 22,
            "lg_k 22 is outside",
            false,
        );
        case(
            "mode bits 4-7",
            &hll8,
            &|i| i[7] |= 0x10,
            "mode byte 0x1a",
            true,
        );
        case("mode 3", &list3, &|i| i[7] = 3, "mode byte 0x03", false);
        case("target 3", &list3, &|i| i[7] = 12, "mode byte 0x0c", false);
        case("big-endian", &list3, &|i| i[5] |= 1, "big-endian", true);
        case(
            "flag 0x40",
            &list3,
            &|i| i[5] |= 0x40,
            "does not define",
            true,
        );
        case(
            "preamble",
            &list3,
            &|i| i[0] = 3,
            "a LIST image's is 2",
            false,
        );
        // LIST
        case(
            "LIST lg_arr",
            &list3,
            &|i| i[4] = 4,
            "LIST lg_arr is 4",
            false,
        );
        let list7 = own(7);
        case(
            "LIST of 8",
            &list7,
            &|i| {
                i[6] = 8;
                i.extend_from_slice(&(5u32 << 26 | 12_345).to_le_bytes());
            },
            "at most 7 coupons",
            true,
        );
        case(
            "LIST empty flag",
            &list3,
            &|i| i[5] |= 4,
            "the empty flag is set but the LIST says 3",
            false,
        );
        case(
            "LIST cut",
            &list3,
            &|i| i.truncate(16),
            "truncated: 16 bytes, a compact LIST of 3 coupons takes 20",
            false,
        );
        case(
            "LIST long",
            &list3,
            &|i| i.push(0),
            "1 more than a compact LIST",
            true,
        );
        case(
            "LIST coupon 0",
            &list3,
            &|i| put32(i, 12, 0),
            "LIST coupon 2 is empty (0)",
            true,
        );
        case(
            "LIST value 0",
            &list3,
            &|i| {
                let c = get32(i, 12);
                put32(i, 12, c & KEY_MASK_26)
            },
            "has register value 0",
            true,
        );
        case(
            "LIST twice",
            &list3,
            &|i| {
                let c = get32(i, 8);
                put32(i, 12, c)
            },
            "LIST coupon 2 (0x",
            true,
        );
        case(
            "LIST updatable count",
            &list_u,
            &|i| put32(i, 24, 0),
            "the LIST says 5 coupons but holds 4",
            true,
        );
        // SET
        case(
            "SET lg_k 7",
            &set100,
            &|i| i[3] = 7,
            "a SET needs lg_k 8",
            false,
        );
        case(
            "SET lg_arr",
            &set100,
            &|i| i[4] = 10,
            "SET lg_arr is 10, outside 5..9",
            false,
        );
        case(
            "SET empty flag",
            &set100,
            &|i| i[5] |= 4,
            "empty flag is set on a SET",
            true,
        );
        case(
            "SET count 0",
            &set100,
            &|i| put32(i, 8, 0),
            "SET coupon count 0",
            true,
        );
        case(
            "SET coupon 0",
            &set100,
            &|i| put32(i, 16, 0),
            "SET coupon 2 of 100 is empty (0)",
            true,
        );
        case(
            "SET value 0",
            &set100,
            &|i| {
                let c = get32(i, 16);
                put32(i, 16, c & KEY_MASK_26)
            },
            "has register value 0",
            true,
        );
        case(
            "SET twice",
            &set100,
            &|i| {
                let c = get32(i, 12);
                put32(i, 16, c)
            },
            "appears twice",
            false,
        );
        case("SET cut", &set100, &|i| i.truncate(100), "truncated", false);
        case(
            "SET updatable misplaced",
            &set_u,
            &|i| {
                // Move a coupon one slot on, into a free slot.
                let slots = (i.len() - 12) / 4;
                let at = (0..slots - 1)
                    .find(|&s| get32(i, 12 + 4 * s) != 0 && get32(i, 16 + 4 * s) == 0)
                    .unwrap();
                let c = get32(i, 12 + 4 * at);
                put32(i, 12 + 4 * at, 0);
                put32(i, 16 + 4 * at, c);
            },
            "is not where the hash table would find it",
            true,
        );
        case(
            "SET updatable count",
            &set_u,
            &|i| put32(i, 8, 99),
            "the SET says 99 coupons but holds 100",
            false,
        );
        // HLL, every type
        case(
            "HIP NaN",
            &hll8,
            &|i| i[8..16].copy_from_slice(&f64::NAN.to_le_bytes()),
            "HIP accumulator is NaN",
            true,
        );
        case(
            "HIP < 0",
            &hll4,
            &|i| i[8..16].copy_from_slice(&(-1f64).to_le_bytes()),
            "HIP accumulator is -1",
            true,
        );
        case(
            "HLL cut",
            &hll8,
            &|i| i.truncate(100),
            "truncated: 100 bytes, an HLL_8 image at lg_k 8 takes 296",
            false,
        );
        case(
            "HLL_8 long",
            &hll8,
            &|i| i.push(0),
            "1 more than an HLL_8 image",
            true,
        );
        case(
            "HLL_8 register 64",
            &hll8,
            &|i| {
                i[40 + 7] = 64;
                property::repair(i);
            },
            "HLL_8 register 7 is 64, above 63",
            true,
        );
        case(
            "HLL_8 cur_min",
            &hll8,
            &|i| i[6] = 236,
            "HLL_8 cur_min is 236, not 0",
            true,
        );
        case(
            "HLL_8 exceptions",
            &hll8,
            &|i| put32(i, 36, 1),
            "HLL_8 has 1 exceptions",
            false,
        );
        case(
            "HLL_8 zeros",
            &hll8,
            &|i| put32(i, 32, 3),
            "the preamble says 3 registers are 0, the registers say 29",
            true,
        );
        case(
            "HLL_6 zeros",
            &hll6,
            &|i| put32(i, 32, 1),
            "the preamble says 1 registers are 0",
            true,
        );
        case(
            "KxQ NaN",
            &hll8,
            &|i| i[16..24].copy_from_slice(&f64::NAN.to_le_bytes()),
            "the KxQ sums are NaN",
            true,
        );
        case(
            "KxQ1",
            &hll4,
            &|i| i[24..32].copy_from_slice(&1e-12f64.to_le_bytes()),
            "the KxQ sums are",
            true,
        );
        case(
            "HLL empty flag",
            &hll8,
            &|i| i[5] |= 4,
            "the empty flag is set but some registers",
            true,
        );
        // HLL_4
        case(
            "HLL_4 cur_min 64",
            &hll4,
            &|i| i[6] = 64,
            "HLL_4 cur_min is 64, above 63",
            true,
        );
        case(
            "HLL_4 nothing at cur_min",
            &hll4,
            &|i| {
                for b in &mut i[40..168] {
                    let (lo, hi) = (*b & 15, *b >> 4);
                    let up = |n: u8| if n < 14 { n + 1 } else { n };
                    *b = up(lo) | (up(hi) << 4);
                }
                property::repair(i);
            },
            "no register is at cur_min 3",
            true,
        );
        case(
            "HLL_4 register 64",
            &hll4,
            &|i| {
                i[6] = 50;
                i[40] = (i[40] & 0xf0) | 14;
                property::repair(i);
            },
            "HLL_4 register 0 is cur_min 50 + 14, above 63",
            true,
        );
        case(
            "HLL_4 aux count",
            &hll4,
            &|i| put32(i, 36, 1),
            "the preamble says 1 exceptions, 2 registers are marked 15",
            true,
        );
        case(
            "HLL_4 aux 0",
            &hll4,
            &|i| put32(i, aux0, 0),
            "exception 1 of 2 is empty (0)",
            false,
        );
        case(
            "HLL_4 aux beyond k",
            &hll4,
            &|i| {
                let c = get32(i, aux0);
                put32(i, aux0, c | 1 << 20)
            },
            "beyond the 256 registers",
            true,
        );
        case(
            "HLL_4 aux nibble",
            &hll4,
            &|i| {
                let c = get32(i, aux0);
                put32(i, aux0, c + 1)
            },
            "whose nibble is",
            true,
        );
        case(
            "HLL_4 aux value",
            &hll4,
            &|i| {
                let c = get32(i, aux0);
                put32(i, aux0, c & KEY_MASK_26 | 17 << 26)
            },
            "the value 17, below cur_min 3 + 15",
            true,
        );
        case(
            "HLL_4 aux twice",
            &hll4,
            &|i| {
                let c = get32(i, aux0);
                put32(i, aux0 + 4, c)
            },
            "two exceptions for register 10",
            false,
        );
        case(
            "HLL_4 aux cut",
            &hll4,
            &|i| i.truncate(i.len() - 4),
            "truncated",
            false,
        );
        case(
            "HLL_4 trailing",
            &hll4,
            &|i| i.extend_from_slice(&[0; 4]),
            "4 more than the list of 2 exceptions",
            true,
        );
        case(
            "HLL_4 updatable table",
            &hll4_u,
            &|i| i[4] = 2,
            "an exception table of 2^2 slots",
            false,
        );
        case(
            "HLL_4 updatable junk",
            &foreign("hll4_lg8_n1000_u.hll"),
            &|i| *i.last_mut().unwrap() = 1,
            "not an empty exception table",
            true,
        );
        let mut refused_by_us_only = Vec::new();
        for (what, img, why, took) in &cases {
            let err = check::check(img).expect_err(what);
            assert!(err.contains(why), "{what}: {err:?} lacks {why:?}");
            assert!(decode(img).is_err(), "{what}");
            let crate_took = HllSketch::deserialize(img).is_ok();
            assert_eq!(crate_took, *took, "{what}: the crate's decoder alone");
            if crate_took {
                refused_by_us_only.push(*what);
            }
            for r in property::references() {
                assert!(
                    merge_stored(img, r).is_none() && merge_stored(r, img).is_none(),
                    "{what}"
                );
            }
        }
        assert!(refused_by_us_only.len() >= 30, "{refused_by_us_only:?}");
    }

    /// Small images of every layout, every byte set to a few values, as
    /// they are and with the fields the registers determine made
    /// consistent (so that register and exception damage gets past the
    /// sums): each is refused, or holds the whole property.
    #[test]
    fn mutated_images_are_refused_or_sane() {
        let mut bases: Vec<Vec<u8>> = vec![own(3), own(30)];
        bases.extend(
            fixture_images("foreign")
                .into_iter()
                .filter(|(n, _)| {
                    [
                        "hll4_lg8_n5000_exceptions_c",
                        "hll6_lg5_n3000_c",
                        "hll8_lg5_n3000_u",
                        "hll4_lg12_n5_u",
                    ]
                    .iter()
                    .any(|x| n.starts_with(x))
                })
                .map(|(_, i)| i),
        );
        let mut regs: Vec<u8> = (0..16).map(|i| 3 + (i % 4) as u8).collect();
        regs[5] = 40;
        bases.push(dense::encode_hll4(4, &regs));
        bases.push(check::hll8_image(4, &regs));
        // (The full reference set is the fuzz target's; two keep this quick.)
        let refs = [own(3), check::hll8_image(4, &[2; 16])];
        let (mut accepted, mut total) = (0, 0);
        for base in &bases {
            for i in 0..base.len() {
                for v in [0u8, 1, 15, 0x40, 0xff] {
                    for fix in [false, true] {
                        let mut m = base.clone();
                        m[i] = v;
                        if fix {
                            if base[0] != 10 {
                                continue;
                            }
                            property::repair(&mut m);
                        }
                        total += 1;
                        accepted += check::check(&m).is_ok() as usize;
                        property::property_with(&m, &refs);
                    }
                }
            }
        }
        assert!(
            accepted > 300 && total - accepted > 1_000,
            "{accepted} of {total}"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(&[]).is_err());
        let good = encode(&sketch_of(0..10_000, 12));
        for cut in [1, 7, 8, 9, 40, good.len() - 1] {
            assert!(decode(&good[..cut]).is_err(), "cut {cut}");
        }
        // Deterministic pseudo-random bytes and single-byte mutations.
        let mut r = crate::testutil::XorShift::new(0x9E3779B97F4A7C15);
        let mut next = || r.next();
        for len in [1usize, 8, 16, 64, 2000] {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                let _ = std::panic::catch_unwind(|| decode(&bytes)).expect("no panic");
            }
        }
        for small in [
            encode(&sketch_of(0..5, 12)),
            encode(&sketch_of(0..500, 12)),
            good,
        ] {
            for i in 0..small.len() {
                for v in [0u8, 1, 0x7f, 0xff] {
                    let mut m = small.clone();
                    m[i] = v;
                    let r = std::panic::catch_unwind(|| decode(&m).map(|s| s.estimate()));
                    assert!(r.is_ok(), "panic at byte {i} = {v}");
                }
            }
        }
    }
}
