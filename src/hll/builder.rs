//! The batch builder of `otlp_ingest`: a sketch built value by value.

use super::DEFAULT_LG_K;
use super::image::{self, set_insert};
use super::murmur3::coupon_of;
use super::stored;

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

/// Entries of [`Builder`]'s table of recent values.
const RECENT: usize = 16;

/// The high and low halves of the 128-bit product, xored.
#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// [`Builder::hash`] of a value longer than 16 bytes.
#[inline(never)]
fn hash_long(bytes: &[u8]) -> u64 {
    repeat_hasher().hash_one(bytes) | 1
}

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
        self.add_hashed(bytes, Builder::hash(bytes))
    }

    /// The 64-bit hash [`add`](Self::add) remembers a value by (fixed
    /// seeds, never 0), for callers that key other tables of the same
    /// values by it (`keys.rs`, a key's top values) and then add the value
    /// with [`add_hashed`](Self::add_hashed): one hash per value.
    ///
    /// Values up to 16 bytes (most attribute values) are hashed inline:
    /// their bytes as two words (which, with the length, determine them),
    /// mixed by two folded multiplications by constants; longer ones by
    /// ahash with fixed seeds, out of line. Nothing stored depends on this
    /// hash (the sketch's coupons are murmur3's: `coupon_of`).
    #[inline(always)]
    pub fn hash(bytes: &[u8]) -> u64 {
        let n = bytes.len();
        if n > 16 {
            return hash_long(bytes);
        }
        let w8 = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let w4 = |i: usize| {
            u64::from(u32::from_le_bytes(
                bytes[i..i + 4].try_into().expect("4 bytes"),
            ))
        };
        let (a, b) = match n {
            8.. => (w8(0), w8(n - 8)),
            4.. => (w4(0), w4(n - 4)),
            1.. => (
                u64::from(bytes[0])
                    | (u64::from(bytes[n / 2]) << 8)
                    | (u64::from(bytes[n - 1]) << 16),
                0,
            ),
            0 => (0, 0),
        };
        let x = folded_multiply(a ^ 0x243f_6a88_85a3_08d3, 0x9e37_79b9_7f4a_7c15) ^ b;
        // The length picks the multiplier (xored into `x`, it could cancel
        // a difference in `b`). Never 0, the empty entry.
        let m = 0xc2b2_ae3d_27d4_eb4f ^ ((n as u64) << 40);
        folded_multiply(x ^ 0x1319_8a2e_0370_7344, m) | 1
    }

    /// [`add`](Self::add) of a value whose [`hash`](Self::hash) is `h`.
    #[inline(always)]
    pub fn add_hashed(&mut self, bytes: &[u8], h: u64) -> bool {
        debug_assert_eq!(h, Builder::hash(bytes));
        let slot = (h >> 60) as usize % RECENT;
        if self.recent[slot] == h {
            return false;
        }
        self.recent[slot] = h;
        self.add_coupon(coupon_of(bytes));
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
    pub(super) fn from_sparse(v: &stored::View) -> Option<Builder> {
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

    /// Adds a value by its coupon ([`coupon_of`] of its bytes, or
    /// [`super::Murmur3::coupon`] of them given in pieces), sparse or dense.
    #[inline(always)]
    pub fn add_coupon(&mut self, c: u32) {
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
            return image::encode_hll4(DEFAULT_LG_K, regs);
        }
        use image::{COMPACT_FLAG, EMPTY_FLAG, FAMILY_HLL, SER_VER, TYPE_HLL4};
        let lg_k = DEFAULT_LG_K;
        let mut out = Vec::with_capacity(image::at::SET_COUPONS + 4 * self.len);
        if self.lg == LG_LIST {
            // Compact (and empty when it is); the count in byte 6.
            let flags = if self.len == 0 {
                COMPACT_FLAG | EMPTY_FLAG
            } else {
                COMPACT_FLAG
            };
            out.extend_from_slice(&[
                image::LIST_PRE_INTS,
                SER_VER,
                FAMILY_HLL,
                lg_k,
                LG_LIST as u8,
                flags,
                self.len as u8,
                image::MODE_LIST | TYPE_HLL4 << 2,
            ]);
        } else {
            // Compact; byte 6 unused; the count as a u32.
            out.extend_from_slice(&[
                image::SET_PRE_INTS,
                SER_VER,
                FAMILY_HLL,
                lg_k,
                self.lg as u8,
                COMPACT_FLAG,
                0,
                image::MODE_SET | TYPE_HLL4 << 2,
            ]);
            out.extend_from_slice(&(self.len as u32).to_le_bytes());
        }
        for &c in self.coupons.iter().filter(|&&c| c != 0) {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out
    }
}
