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
