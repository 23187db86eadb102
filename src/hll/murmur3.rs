//! MurmurHash3 x64 128, the hash DataSketches sketches values with, and
//! the HLL coupon of a hash.

use super::image::KEY_MASK_26;

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

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

/// Mixes one 16-byte block into the state.
#[inline(always)]
fn block(h1: &mut u64, h2: &mut u64, b: &[u8]) {
    let k1 = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let k2 = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    *h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    *h1 = h1
        .rotate_left(27)
        .wrapping_add(*h2)
        .wrapping_mul(5)
        .wrapping_add(0x52dc_e729);
    *h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    *h2 = h2
        .rotate_left(31)
        .wrapping_add(*h1)
        .wrapping_mul(5)
        .wrapping_add(0x3849_5ab5);
}

/// The hash of a state given its last bytes (`tail`, under 16) and the
/// length of all the data.
#[inline(always)]
fn finish(mut h1: u64, mut h2: u64, tail: &[u8], len: u64) -> (u64, u64) {
    fn fmix(mut k: u64) -> u64 {
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    }
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

/// MurmurHash3_x64_128 of `data` (Austin Appleby's public-domain
/// algorithm), in one pass over the slice: what DataSketches hashes a
/// value with. Checked against the crate's coupons value by value.
#[inline(always)]
pub fn murmur3_x64_128(data: &[u8], seed: u64) -> (u64, u64) {
    let (mut h1, mut h2) = (seed, seed);
    let mut blocks = data.chunks_exact(16);
    for b in &mut blocks {
        block(&mut h1, &mut h2, b);
    }
    finish(h1, h2, blocks.remainder(), data.len() as u64)
}

/// [`murmur3_x64_128`] of data given in pieces: the state after a common
/// prefix can be kept and cloned, so that hashing `prefix + x` for many `x`
/// costs the length of each `x` only.
#[derive(Clone, Debug)]
pub struct Murmur3 {
    h1: u64,
    h2: u64,
    /// Bytes not yet mixed (the first `pending`).
    buf: [u8; 16],
    pending: usize,
    len: u64,
}

impl Murmur3 {
    /// The state of DataSketches' update hash (seed 9001) before any data.
    pub fn new() -> Murmur3 {
        Murmur3 {
            h1: UPDATE_SEED,
            h2: UPDATE_SEED,
            buf: [0; 16],
            pending: 0,
            len: 0,
        }
    }

    /// Adds the next bytes.
    pub fn update(&mut self, mut data: &[u8]) -> &mut Murmur3 {
        self.len += data.len() as u64;
        if self.pending > 0 {
            let take = (16 - self.pending).min(data.len());
            self.buf[self.pending..self.pending + take].copy_from_slice(&data[..take]);
            self.pending += take;
            data = &data[take..];
            if self.pending < 16 {
                return self;
            }
            let b = self.buf;
            block(&mut self.h1, &mut self.h2, &b);
            self.pending = 0;
        }
        let mut blocks = data.chunks_exact(16);
        for b in &mut blocks {
            block(&mut self.h1, &mut self.h2, b);
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.pending = rest.len();
        self
    }

    /// The 128-bit hash of all the bytes added (as [`murmur3_x64_128`] of
    /// them with DataSketches' update seed).
    pub fn finish128(&self) -> (u64, u64) {
        finish(self.h1, self.h2, &self.buf[..self.pending], self.len)
    }

    /// The HLL coupon of all the bytes added (as [`coupon_of`] of them).
    pub fn coupon(&self) -> u32 {
        coupon_of_hash(finish(
            self.h1,
            self.h2,
            &self.buf[..self.pending],
            self.len,
        ))
    }
}

impl Default for Murmur3 {
    fn default() -> Self {
        Murmur3::new()
    }
}

/// The HLL coupon of a value as DataSketches computes it: register value
/// (leading zeros of the second hash word, capped at 62, plus 1) in the top
/// 6 bits, the low 26 bits of the first word below.
#[inline]
pub fn coupon_of(bytes: &[u8]) -> u32 {
    coupon_of_hash(murmur3_x64_128(bytes, UPDATE_SEED))
}

#[inline(always)]
fn coupon_of_hash((lo, hi): (u64, u64)) -> u32 {
    ((hi.leading_zeros().min(62) + 1) << 26) | (lo as u32 & KEY_MASK_26)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_hash_as_the_whole() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 200] {
            let whole = coupon_of(&data[..len]);
            for cut in [0, 1, 5, 15, 16, 17, 40] {
                let cut = cut.min(len);
                for cut2 in [cut, (cut + 3).min(len), len] {
                    let mut m = Murmur3::new();
                    m.update(&data[..cut]);
                    let kept = m.clone();
                    m.update(&data[cut..cut2]).update(&data[cut2..len]);
                    assert_eq!(m.coupon(), whole, "len {len} cut {cut} {cut2}");
                    let mut again = kept.clone();
                    again.update(&data[cut..len]);
                    assert_eq!(again.coupon(), whole);
                }
            }
        }
    }
}
