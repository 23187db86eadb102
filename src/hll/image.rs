//! The DataSketches HLL image layout (docs/FORMAT.md, section 2): named
//! byte offsets, decoding through the crate after the checks, and
//! otelcat's own reading and writing of registers.

use datasketches::hll::{HllSketch, HllType, HllUnion};

use super::STORED_TYPE;

/// Byte offsets of the image (all integers little-endian). The 8-byte
/// preamble every mode starts with:
pub mod at {
    /// Preamble size in 4-byte words: [`super::LIST_PRE_INTS`],
    /// [`super::SET_PRE_INTS`] or [`super::HLL_PRE_INTS`].
    pub const PRE_INTS: usize = 0;
    pub const SER_VER: usize = 1;
    pub const FAMILY: usize = 2;
    pub const LG_K: usize = 3;
    /// LIST 3; SET log2 of the table size; HLL_4 updatable: log2 of the
    /// exception table size.
    pub const LG_ARR: usize = 4;
    pub const FLAGS: usize = 5;
    /// LIST: the coupon count (u8).
    pub const LIST_COUNT: usize = 6;
    /// HLL: cur_min, the offset of HLL_4 registers.
    pub const CUR_MIN: usize = 6;
    /// Bits 0–1 the current mode, 2–3 the target type.
    pub const MODE: usize = 7;
    /// LIST: the first coupon.
    pub const LIST_COUPONS: usize = 8;
    /// SET: the coupon count (u32), then the coupons.
    pub const SET_COUNT: usize = 8;
    pub const SET_COUPONS: usize = 12;
    /// HLL: the HIP accumulator (f64).
    pub const HIP_ACCUM: usize = 8;
    /// HLL: Σ 2^-v over the registers below 32 (f64), and from 32 up.
    pub const KXQ0: usize = 16;
    pub const KXQ1: usize = 24;
    /// HLL: the number of registers at cur_min (u32).
    pub const CUR_MIN_COUNT: usize = 32;
    /// HLL: the number of HLL_4 exceptions (u32).
    pub const AUX_COUNT: usize = 36;
    /// HLL: the registers, then (HLL_4) the exceptions.
    pub const REGISTERS: usize = 40;
}

/// Byte [`at::PRE_INTS`] by mode.
pub const LIST_PRE_INTS: u8 = 2;
pub const SET_PRE_INTS: u8 = 3;
pub const HLL_PRE_INTS: u8 = 10;
pub const SER_VER: u8 = 1;
pub const FAMILY_HLL: u8 = 7;
/// Bits of byte [`at::FLAGS`].
pub const EMPTY_FLAG: u8 = 0x04;
pub const COMPACT_FLAG: u8 = 0x08;
/// The HIP accumulator is not valid: readers take the composite estimate.
pub const OUT_OF_ORDER_FLAG: u8 = 0x10;
/// Current modes (bits 0–1 of byte [`at::MODE`]).
pub const MODE_LIST: u8 = 0;
pub const MODE_SET: u8 = 1;
pub const MODE_HLL: u8 = 2;
/// Target types (bits 2–3 of byte [`at::MODE`]).
pub const TYPE_HLL4: u8 = 0;
pub const TYPE_HLL8: u8 = 2;

/// The current mode and target type of an image of at least 8 bytes.
pub fn mode_and_type(img: &[u8]) -> (u8, u8) {
    (img[at::MODE] & 3, (img[at::MODE] >> 2) & 3)
}

/// Decodes a stored sketch after [`check::check`] has accepted it. Errors
/// say why, for the caller to prefix.
pub fn decode(bytes: &[u8]) -> std::result::Result<HllSketch, String> {
    super::check::check(bytes)?;
    // (The crate refuses nothing the checks accept; its reason, just in case.)
    HllSketch::deserialize(bytes).map_err(|e| e.message().to_string())
}

/// The stored form of a sketch: HLL_4, compact, and, in dense mode, flagged
/// out-of-order (0 in the HIP field, exceptions by slot), so that every reader (otelcat, DataSketches in any language)
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
    if is_dense(&img) {
        // Rewritten from its registers: flagged out-of-order, 0 in the HIP
        // field (no reader uses it then), exceptions by slot.
        let k = sketch.lg_config_k();
        let mut regs = vec![0u8; 1 << k];
        if max_into(&img, &mut regs) {
            return encode_hll4(k, &regs);
        }
        if img.len() >= at::KXQ0 {
            img[at::FLAGS] |= OUT_OF_ORDER_FLAG;
            img[at::HIP_ACCUM..at::KXQ0].fill(0);
        }
    }
    img
}

/// The stored image of a union. Same registers and estimates as
/// `encode(&u.to_sketch(STORED_TYPE))`, but a dense union is converted to
/// HLL_4 on its registers (`encode_hll4`) rather than through the
/// crate's coupon path (~75 µs at lg_k 12); its HIP field is not kept (the
/// image is flagged out-of-order anyway).
pub fn encode_union(u: &HllUnion) -> Vec<u8> {
    encode_hll8(&u.to_sketch(HllType::Hll8))
}

/// [`encode_union`] of an HLL_8 sketch.
fn encode_hll8(s8: &HllSketch) -> Vec<u8> {
    let mut img = s8.serialize();
    if is_dense(&img) {
        // A dense HLL_8 image holds its registers as they are after the
        // 40-byte preamble.
        let k = 1usize << s8.lg_config_k();
        return match img.get(at::REGISTERS..at::REGISTERS + k) {
            Some(regs) if mode_and_type(&img).1 == TYPE_HLL8 => encode_hll4(s8.lg_config_k(), regs),
            _ => encode(s8),
        };
    }
    // LIST / SET: the coupons are the same whatever the target type, which
    // is only recorded in bits 2-3 of byte 7 (what to_sketch(HLL_4) changes).
    if img.len() > 7 {
        img[at::MODE] &= 0x3;
    }
    img
}

/// The low 26 bits of a coupon: its register address.
pub const KEY_MASK_26: u32 = (1 << 26) - 1;

/// Inserts a coupon into a SET table of 2^lg slots as the crate's hash set
/// does (first probe: the coupon's low bits; stride: the next bits of its
/// 26-bit address, odd). True when it was not there.
#[inline]
pub(super) fn set_insert(table: &mut [u32], lg: u32, c: u32) -> bool {
    let slot = &mut table[set_slot(table, lg, c)];
    let new = *slot == 0;
    *slot = c;
    new
}

/// Whether a SET table of 2^lg slots (filled by [`set_insert`]) holds `c`.
pub(super) fn set_contains(table: &[u32], lg: u32, c: u32) -> bool {
    table[set_slot(table, lg, c)] == c
}

/// Where `c` is in a SET table of 2^lg slots, or the empty slot where it
/// would go.
#[inline]
pub(super) fn set_slot(table: &[u32], lg: u32, c: u32) -> usize {
    let mask = (1u32 << lg) - 1;
    let mut probe = c & mask;
    let stride = ((c & KEY_MASK_26) >> lg) | 1;
    while table[probe as usize] != 0 && table[probe as usize] != c {
        probe = (probe + stride) & mask;
    }
    probe as usize
}

/// 2^-exp exactly (the crate's own helper is private).
fn inv_pow2(exp: u8) -> f64 {
    f64::from_bits((1023 - exp as u64) << 52)
}

const AUX_TOKEN: u8 = 15;

pub(super) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Whether the image is a dense (HLL mode) one.
pub fn is_dense(img: &[u8]) -> bool {
    img.first() == Some(&HLL_PRE_INTS)
}

/// Whether `max_into` reads this image (HLL_6 images are left to the crate).
pub fn readable(img: &[u8]) -> bool {
    img.len() >= 8
        && match mode_and_type(img) {
            (MODE_LIST | MODE_SET, _) => true, // any target type
            (MODE_HLL, t) => t == TYPE_HLL4 || t == TYPE_HLL8,
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
    if img.len() < 8 || img[at::LG_K] as usize >= 32 || (1usize << img[at::LG_K]) != k {
        return None;
    }
    let flags = img[at::FLAGS];
    let (mode, target) = mode_and_type(img);
    let compact = flags & COMPACT_FLAG != 0;
    if flags & EMPTY_FLAG != 0 {
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
    match mode {
        MODE_LIST | MODE_SET => {
            // LIST (8-byte preamble, count in byte 6) or SET (12 bytes, count at 8).
            let (start, count) = if mode == MODE_LIST {
                (at::LIST_COUPONS, img[at::LIST_COUNT] as usize)
            } else {
                (at::SET_COUPONS, u32_at(img, at::SET_COUNT)? as usize)
            };
            let slots = if compact {
                count
            } else {
                1usize.checked_shl(img[at::LG_ARR] as u32)?
            };
            for i in 0..slots {
                coupon(regs, u32_at(img, start + 4 * i)?);
            }
            Some(())
        }
        MODE_HLL => {
            let data = img.get(at::REGISTERS..)?;
            match target {
                TYPE_HLL8 => {
                    for (r, &v) in regs.iter_mut().zip(data.get(..k)?) {
                        *r = (*r).max(v);
                    }
                    Some(())
                }
                TYPE_HLL4 => {
                    let cur_min = img[at::CUR_MIN];
                    let aux_count = u32_at(img, at::AUX_COUNT)? as usize;
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
                        1usize.checked_shl(img[at::LG_ARR] as u32)?
                    };
                    for i in 0..aux_slots {
                        coupon(regs, u32_at(img, at::REGISTERS + k / 2 + 4 * i)?);
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
    let mut out = Vec::with_capacity(at::REGISTERS + k / 2 + 16);
    out.extend_from_slice(&[
        HLL_PRE_INTS,
        SER_VER,
        FAMILY_HLL,
        lg_k,
        0,
        COMPACT_FLAG | OUT_OF_ORDER_FLAG,
        cur_min,
        MODE_HLL | TYPE_HLL4 << 2,
    ]);
    out.resize(at::REGISTERS, 0); // HIP accumulator (not valid: out-of-order), sums, counts: below
    // A nibble holds register − cur_min; AUX_TOKEN (cur_min + 15 or
    // more) defers to the exception list.
    out.resize(at::REGISTERS + k / 2, 0);
    pack_nibbles(regs, cur_min, &mut out[at::REGISTERS..]);
    // The registers at each value, from a histogram of the packed bytes
    // (one increment per two registers; two tables, so that an
    // increment need not wait for the previous one).
    let mut h = [[0u32; 256]; 2];
    for pair in out[at::REGISTERS..].chunks_exact(2) {
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
        for (w, chunk) in out[at::REGISTERS..].chunks(8).enumerate() {
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
    out[at::KXQ0..at::KXQ0 + 8].copy_from_slice(&kxq0.to_le_bytes());
    out[at::KXQ1..at::KXQ1 + 8].copy_from_slice(&kxq1.to_le_bytes());
    out[at::CUR_MIN_COUNT..at::CUR_MIN_COUNT + 4].copy_from_slice(&at[0].to_le_bytes());
    out[at::AUX_COUNT..at::AUX_COUNT + 4].copy_from_slice(&(aux.len() as u32).to_le_bytes());
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
