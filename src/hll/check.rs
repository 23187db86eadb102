//! The checks every sketch image passes before anything reads it.
//!
//! The datasketches crate (pinned, not ours to change) decodes what its
//! format allows, not what its code can use: a SET whose coupons are 0,
//! HLL_8 registers above 63, exception lists that disagree with the
//! nibbles, KxQ sums that are NaN… all decode, and then overflow, trip
//! debug assertions, count 2^63 − 1 or write images nothing reads back.
//! [`check`] accepts an image only when every field is one a DataSketches
//! writer could have produced, so that everything downstream (the crate,
//! the register code in `hll.rs`) reads it with finite results and writes
//! images that are accepted again. docs/FORMAT.md ("Accepted images")
//! lists the rules; each refusal says which one failed.

use super::image::{KEY_MASK_26, at};

/// An image's current mode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    List,
    Set,
    Hll,
}

/// What [`check`] learned about an accepted image.
#[derive(Clone, Debug)]
pub struct Shape {
    pub lg_k: u8,
    pub mode: Mode,
    /// Target type: 0 HLL_4, 1 HLL_6, 2 HLL_8.
    pub target: u8,
    pub compact: bool,
    /// A compact SET's coupons laid out as the crate's decoder lays them
    /// out (inserted in image order into 2^lg slots), and lg.
    pub set_table: Option<(Vec<u32>, u32)>,
}

const EMPTY_FLAG: u8 = 0x04;
const COMPACT_FLAG: u8 = 0x08;
/// Defined by DataSketches: 0x02 read-only, 0x10 out-of-order, 0x20
/// "rebuild cur_min/KxQ" (Java; the fields are checked anyway).
const BIG_ENDIAN_FLAG: u8 = 0x01;
const UNKNOWN_FLAGS: u8 = 0xC0;
const AUX_TOKEN: u8 = 15;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn f64_at(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// 2^-v exactly, for v ≤ 63.
fn inv_pow2(v: u8) -> f64 {
    f64::from_bits((1023 - v as u64) << 52)
}

/// Checks a sketch image; the reason when it is refused.
pub fn check(img: &[u8]) -> Result<Shape, String> {
    if img.is_empty() {
        return Err("empty blob".into());
    }
    if img.len() < 8 {
        return Err(format!(
            "{} bytes, shorter than the 8-byte preamble",
            img.len()
        ));
    }
    if img[at::FAMILY] != 7 {
        return Err(format!("family byte is {}, not 7 (HLL)", img[at::FAMILY]));
    }
    if img[at::SER_VER] != 1 {
        return Err(format!("serial version {} is not 1", img[at::SER_VER]));
    }
    let lg_k = img[at::LG_K];
    if !(super::MIN_LG_K..=super::MAX_LG_K).contains(&lg_k) {
        return Err(format!(
            "lg_k {lg_k} is outside {}..{}",
            super::MIN_LG_K,
            super::MAX_LG_K
        ));
    }
    let mode_byte = img[at::MODE];
    let (cur, target) = (mode_byte & 3, (mode_byte >> 2) & 3);
    if mode_byte >> 4 != 0 || cur == 3 || target == 3 {
        return Err(format!(
            "mode byte 0x{mode_byte:02x} is not a mode (0 LIST, 1 SET, 2 HLL) plus 4 × a target type (0 HLL_4, 1 HLL_6, 2 HLL_8)"
        ));
    }
    let flags = img[at::FLAGS];
    if flags & BIG_ENDIAN_FLAG != 0 {
        return Err(format!(
            "flags 0x{flags:02x} mark a big-endian image, which DataSketches never writes"
        ));
    }
    if flags & UNKNOWN_FLAGS != 0 {
        return Err(format!(
            "flags 0x{flags:02x} set bits DataSketches does not define (0x40, 0x80)"
        ));
    }
    let (empty, compact) = (flags & EMPTY_FLAG != 0, flags & COMPACT_FLAG != 0);
    let (mode, name, preamble) = match cur {
        0 => (Mode::List, "LIST", 2),
        1 => (Mode::Set, "SET", 3),
        _ => (Mode::Hll, "HLL", 10),
    };
    if img[at::PRE_INTS] != preamble {
        return Err(format!(
            "preamble size is {} words, a {name} image's is {preamble}",
            img[at::PRE_INTS]
        ));
    }
    let mut shape = Shape {
        lg_k,
        mode,
        target,
        compact,
        set_table: None,
    };
    match mode {
        Mode::List => check_list(img, empty, compact)?,
        Mode::Set => shape.set_table = check_set(img, lg_k, empty, compact)?,
        Mode::Hll => check_hll(img, lg_k, target, empty, compact)?,
    }
    Ok(shape)
}

/// The length rule: `len` must be `want`.
fn length(len: usize, want: usize, what: impl FnOnce() -> String) -> Result<(), String> {
    if len < want {
        return Err(format!("truncated: {len} bytes, {} takes {want}", what()));
    }
    if len > want {
        return Err(format!(
            "{len} bytes, {} more than {} takes ({want})",
            len - want,
            what()
        ));
    }
    Ok(())
}

/// A coupon is (register value 1..=63) << 26 | 26-bit address.
fn coupon(c: u32, what: impl FnOnce() -> String) -> Result<(), String> {
    if c == 0 {
        return Err(format!("{} is empty (0)", what()));
    }
    if c >> 26 == 0 {
        return Err(format!(
            "{} (0x{c:08x}) has register value 0 (values are 1 to 63)",
            what()
        ));
    }
    Ok(())
}

fn check_list(img: &[u8], empty: bool, compact: bool) -> Result<(), String> {
    if img[at::LG_ARR] != 3 {
        return Err(format!("LIST lg_arr is {}, not 3", img[at::LG_ARR]));
    }
    let n = img[at::LIST_COUNT] as usize;
    if n > 7 {
        return Err(format!(
            "a LIST holds at most 7 coupons (DataSketches turns a full one into a SET or HLL), this one says {n}"
        ));
    }
    if empty != (n == 0) {
        return Err(format!(
            "the empty flag is {} but the LIST says {n} coupons",
            if empty { "set" } else { "clear" }
        ));
    }
    if compact {
        length(img.len(), 8 + 4 * n, || {
            format!("a compact LIST of {n} coupons")
        })?;
    } else if !(empty && img.len() == 8) {
        // Updatable: all 8 slots (an empty one may also stop at the preamble).
        length(img.len(), 40, || "an updatable LIST".into())?;
    }
    let slots = || {
        img[8..]
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes(w.try_into().expect("4")))
    };
    let mut held = 0;
    for (i, c) in slots().enumerate() {
        if c == 0 && !compact {
            continue;
        }
        coupon(c, || format!("LIST coupon {}", i + 1))?;
        if slots().take(i).any(|x| x == c) {
            return Err(format!("LIST coupon {} (0x{c:08x}) appears twice", i + 1));
        }
        held += 1;
    }
    if held != n {
        return Err(format!("the LIST says {n} coupons but holds {held}"));
    }
    Ok(())
}

fn check_set(
    img: &[u8],
    lg_k: u8,
    empty: bool,
    compact: bool,
) -> Result<Option<(Vec<u32>, u32)>, String> {
    if lg_k < 8 {
        return Err(format!(
            "a SET needs lg_k 8 or more (at lg_k {lg_k} a LIST becomes HLL)"
        ));
    }
    let lg = img[at::LG_ARR] as u32;
    if !(5..=lg_k as u32 - 3).contains(&lg) {
        return Err(format!(
            "SET lg_arr is {lg}, outside 5..{} for lg_k {lg_k}",
            lg_k - 3
        ));
    }
    if empty {
        return Err("the empty flag is set on a SET".into());
    }
    if img.len() < 12 {
        return Err(format!(
            "truncated: {} bytes, a SET's preamble takes 12",
            img.len()
        ));
    }
    let size = 1usize << lg;
    let n = u32_at(img, 8) as usize;
    if n == 0 || n >= size {
        return Err(format!(
            "SET coupon count {n} is outside 1..{} for a table of {size}",
            size - 1
        ));
    }
    let body = &img[12..];
    let mut table = vec![0u32; size];
    if compact {
        length(img.len(), 12 + 4 * n, || {
            format!("a compact SET of {n} coupons")
        })?;
        for (i, w) in body.chunks_exact(4).enumerate() {
            let c = u32::from_le_bytes(w.try_into().expect("4"));
            coupon(c, || format!("SET coupon {} of {n}", i + 1))?;
            if !super::image::set_insert(&mut table, lg, c) {
                return Err(format!("SET coupon {} (0x{c:08x}) appears twice", i + 1));
            }
        }
        return Ok(Some((table, lg)));
    }
    length(img.len(), 12 + 4 * size, || {
        format!("an updatable SET of {size} slots")
    })?;
    for (t, w) in table.iter_mut().zip(body.chunks_exact(4)) {
        *t = u32::from_le_bytes(w.try_into().expect("4"));
    }
    let mut held = 0;
    for (i, &c) in table.iter().enumerate() {
        if c == 0 {
            continue;
        }
        coupon(c, || format!("SET slot {i}"))?;
        held += 1;
    }
    if held != n {
        return Err(format!("the SET says {n} coupons but holds {held}"));
    }
    // The crate keeps an updatable table as it is: each coupon must be
    // where a lookup finds it, or adding it again would store it twice.
    for (i, &c) in table.iter().enumerate() {
        if c != 0 && super::image::set_slot(&table, lg, c) != i {
            return Err(format!(
                "SET slot {i} (0x{c:08x}) is not where the hash table would find it (a duplicate or a damaged table)"
            ));
        }
    }
    Ok(None)
}

/// Register counts of a dense image: how many registers hold each value.
struct Histogram([u32; 64]);

impl Histogram {
    /// KxQ0 (registers below 32) and KxQ1 (32 and above): sums of 2^-v.
    /// Every partial sum is a multiple of 2^-31 (2^-63) below 2^22
    /// (2^-10), which a double holds exactly, so the sums are exact in
    /// any order, as every DataSketches writer's are.
    fn kxq(&self) -> (f64, f64) {
        let (mut q0, mut q1) = (0.0f64, 0.0f64);
        for (v, &n) in self.0.iter().enumerate() {
            let x = n as f64 * inv_pow2(v as u8);
            if v < 32 {
                q0 += x;
            } else {
                q1 += x;
            }
        }
        (q0, q1)
    }
}

fn check_hll(img: &[u8], lg_k: u8, target: u8, empty: bool, compact: bool) -> Result<(), String> {
    if img.len() < 40 {
        return Err(format!(
            "truncated: {} bytes, an HLL image's preamble takes 40",
            img.len()
        ));
    }
    let k = 1usize << lg_k;
    let (ty, reg_bytes) = match target {
        0 => ("HLL_4", k / 2),
        1 => ("HLL_6", 3 * k / 4 + 1),
        _ => ("HLL_8", k),
    };
    let cur_min = img[at::CUR_MIN];
    let (hip, kxq0, kxq1) = (
        f64_at(img, at::HIP_ACCUM),
        f64_at(img, at::KXQ0),
        f64_at(img, at::KXQ1),
    );
    let (at_cur_min, aux_count) = (u32_at(img, 32) as usize, u32_at(img, 36) as usize);
    // (An estimate: below k · 2^64 as the composite one, so finite.)
    let hip_cap = k as f64 * 2f64.powi(64);
    if !(hip.is_finite() && hip >= 0.0 && hip < hip_cap) {
        return Err(format!(
            "the HIP accumulator is {hip}, not a number from 0 to below k · 2^64 ({hip_cap:e})"
        ));
    }
    let Some(regs) = img.get(40..40 + reg_bytes) else {
        return Err(format!(
            "truncated: {} bytes, an {ty} image at lg_k {lg_k} takes {}",
            img.len(),
            40 + reg_bytes
        ));
    };
    let rest = &img[40 + reg_bytes..];
    // How many registers are 0, and the KxQ sums.
    let (zeros, q0, q1) = if target != 0 {
        let mut h = Histogram([0; 64]);
        if aux_count != 0 {
            return Err(format!(
                "{ty} has {aux_count} exceptions, which only HLL_4 has"
            ));
        }
        length(img.len(), 40 + reg_bytes, || {
            format!("an {ty} image at lg_k {lg_k}")
        })?;
        let mut too_big = None;
        let mut count = |slot: usize, v: u8| match h.0.get_mut(v as usize) {
            Some(n) => *n += 1,
            None => {
                too_big.get_or_insert((slot, v));
            }
        };
        if target == 2 {
            for (slot, &v) in regs.iter().enumerate() {
                count(slot, v);
            }
        } else {
            for slot in 0..k {
                let bit = 6 * slot;
                let two = u16::from_le_bytes([regs[bit / 8], regs[bit / 8 + 1]]);
                count(slot, ((two >> (bit % 8)) & 63) as u8);
            }
        }
        if let Some((slot, v)) = too_big {
            return Err(format!(
                "{ty} register {slot} is {v}, above 63 (the largest register value)"
            ));
        }
        // cur_min is 0 in images made by updates; a union's result (Java's,
        // Spark's hll_union_agg) has it rebuilt: the smallest register.
        // Either way the registers hold their values, and the preamble
        // counts those at cur_min.
        let smallest = h.0.iter().position(|&n| n > 0).unwrap_or(0);
        if cur_min as usize > smallest {
            return Err(format!(
                "{ty} cur_min is {cur_min}, above its smallest register ({smallest})"
            ));
        }
        let at = h.0[cur_min as usize] as usize;
        if at_cur_min != at {
            return Err(if cur_min == 0 {
                format!("the preamble says {at_cur_min} registers are 0, the registers say {at}")
            } else {
                format!(
                    "the preamble says {at_cur_min} registers are at cur_min {cur_min}, the registers say {at}"
                )
            });
        }
        let (q0, q1) = h.kxq();
        (h.0[0] as usize, q0, q1)
    } else {
        let (at_min, q0, q1) = check_hll4(img, lg_k, regs, rest, compact)?;
        if at_cur_min != at_min {
            return Err(format!(
                "the preamble says {at_cur_min} registers are at cur_min {cur_min}, the registers say {at_min}"
            ));
        }
        (if cur_min == 0 { at_min } else { 0 }, q0, q1)
    };
    if empty && zeros != k {
        return Err("the empty flag is set but some registers are not 0".into());
    }
    if kxq0 != q0 || kxq1 != q1 {
        return Err(format!(
            "the KxQ sums are {kxq0:e} and {kxq1:e}, the registers give {q0:e} and {q1:e}"
        ));
    }
    Ok(())
}

/// Per byte of HLL_4 nibbles (two registers): bits 0–31 the sum of
/// 2^(14 − n) over its nibbles n below 15, bits 32–47 how many nibbles are
/// 0, bits 48–63 how many are 15 (exceptions).
static NIBBLE_SUMS: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut v = 0u64;
        let n = [b & 15, b >> 4];
        let mut i = 0;
        while i < 2 {
            if n[i] < 15 {
                v += 1u64 << (14 - n[i]);
            }
            if n[i] == 0 {
                v += 1u64 << 32;
            }
            if n[i] == 15 {
                v += 1u64 << 48;
            }
            i += 1;
        }
        t[b] = v;
        b += 1;
    }
    t
};

/// An HLL_4 image's registers (nibbles of value − cur_min, 15 for "see the
/// exceptions") and exceptions: the number of registers at cur_min and the
/// KxQ sums, when they keep the rules.
fn check_hll4(
    img: &[u8],
    lg_k: u8,
    nibbles: &[u8],
    rest: &[u8],
    compact: bool,
) -> Result<(usize, f64, f64), String> {
    let k = 1usize << lg_k;
    let cur_min = img[at::CUR_MIN];
    let aux_count = u32_at(img, 36) as usize;
    if cur_min > 63 {
        return Err(format!(
            "HLL_4 cur_min is {cur_min}, above 63 (the largest register value)"
        ));
    }
    // One table look-up per byte, four running sums, in chunks small
    // enough that no field of a sum overflows into the next.
    let (mut sum, mut zeros, mut tokens) = (0u64, 0usize, 0usize);
    for chunk in nibbles.chunks(4096) {
        let mut acc = [0u64; 4];
        let mut quads = chunk.chunks_exact(4);
        for q in &mut quads {
            for i in 0..4 {
                acc[i] += NIBBLE_SUMS[q[i] as usize];
            }
        }
        for &b in quads.remainder() {
            acc[0] += NIBBLE_SUMS[b as usize];
        }
        let t = acc[0] + acc[1] + acc[2] + acc[3];
        sum += t & 0xffff_ffff;
        zeros += ((t >> 32) & 0xffff) as usize;
        tokens += (t >> 48) as usize;
    }
    if zeros == 0 {
        return Err(format!(
            "no register is at cur_min {cur_min} (cur_min must be the smallest register)"
        ));
    }
    // The nibble registers' part of the sums: `sum` is Σ 2^(14 − n), so
    // Σ 2^−(cur_min + n) = sum · 2^−(cur_min + 14) when all of them fall on
    // one side of 32 and stay below 64; otherwise count them one by one.
    let (mut q0, mut q1) = (0.0f64, 0.0f64);
    let top = cur_min as usize + 14;
    if top < 32 {
        q0 = sum as f64 * inv_pow2(cur_min + 14);
    } else if cur_min >= 32 && top <= 63 {
        q1 = sum as f64 * inv_pow2(cur_min + 14);
    } else {
        let mut at = [0usize; 16];
        for &b in nibbles {
            at[(b & 15) as usize] += 1;
            at[(b >> 4) as usize] += 1;
        }
        for (n, &count) in at.iter().enumerate().take(AUX_TOKEN as usize) {
            let v = cur_min as usize + n;
            if count == 0 {
                continue;
            }
            if v > 63 {
                let slot = (0..k)
                    .find(|&s| (nibbles[s / 2] >> (4 * (s & 1))) & 15 == n as u8)
                    .unwrap_or(0);
                return Err(format!(
                    "HLL_4 register {slot} is cur_min {cur_min} + {n}, above 63 (the largest register value)"
                ));
            }
            let x = count as f64 * inv_pow2(v as u8);
            if v < 32 {
                q0 += x;
            } else {
                q1 += x;
            }
        }
    }
    if tokens != aux_count {
        return Err(format!(
            "the preamble says {aux_count} exceptions, {tokens} registers are marked 15 (exception)"
        ));
    }
    // The exceptions: compact, exactly aux_count of them; updatable, a
    // table of 2^lg_arr slots (0 = free) when there are any (C++ writes a
    // table of zeros when there are none).
    let entries: Vec<u32> = if compact {
        length(rest.len(), 4 * aux_count, || {
            format!("the list of {aux_count} exceptions")
        })
        .map_err(|e| format!("after the registers: {e}"))?;
        rest.chunks_exact(4)
            .map(|w| u32::from_le_bytes(w.try_into().expect("4")))
            .collect()
    } else if aux_count == 0 {
        if !rest.len().is_multiple_of(4) || rest.iter().any(|&b| b != 0) {
            return Err(format!(
                "{} bytes after the registers of an image without exceptions, not an empty exception table",
                rest.len()
            ));
        }
        Vec::new()
    } else {
        let lg_arr = img[at::LG_ARR];
        if lg_arr > 26 || (1usize << lg_arr) < aux_count {
            return Err(format!(
                "an exception table of 2^{lg_arr} slots cannot hold {aux_count} exceptions"
            ));
        }
        length(rest.len(), 4 << lg_arr, || {
            format!("an exception table of 2^{lg_arr} slots")
        })
        .map_err(|e| format!("after the registers: {e}"))?;
        rest.chunks_exact(4)
            .map(|w| u32::from_le_bytes(w.try_into().expect("4")))
            .filter(|&c| c != 0)
            .collect()
    };
    if entries.len() != aux_count {
        return Err(format!(
            "the preamble says {aux_count} exceptions, the table holds {}",
            entries.len()
        ));
    }
    let mut slots = Vec::with_capacity(entries.len());
    for (i, &c) in entries.iter().enumerate() {
        let what = || format!("exception {} of {aux_count}", i + 1);
        coupon(c, what)?;
        let (slot, v) = ((c & KEY_MASK_26) as usize, (c >> 26) as u8);
        if slot >= k {
            return Err(format!(
                "{} (0x{c:08x}) is for register {slot}, beyond the {k} registers",
                what()
            ));
        }
        let nibble = (nibbles[slot / 2] >> (4 * (slot & 1))) & 15;
        if nibble != AUX_TOKEN {
            return Err(format!(
                "{} is for register {slot}, whose nibble is {nibble}, not 15",
                what()
            ));
        }
        if v < cur_min + AUX_TOKEN {
            return Err(format!(
                "{} gives register {slot} the value {v}, below cur_min {cur_min} + 15",
                what()
            ));
        }
        if v < 32 {
            q0 += inv_pow2(v);
        } else {
            q1 += inv_pow2(v);
        }
        slots.push(slot);
    }
    slots.sort_unstable();
    if let Some(w) = slots.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two exceptions for register {}", w[0]));
    }
    Ok((zeros, q0, q1))
}

/// A compact, out-of-order HLL_8 image of `regs` (2^lg_k values, each at
/// most 63) with every preamble field as [`check`] wants it: what a
/// DataSketches HLL_8 union writes. For tests and fuzzing.
pub fn hll8_image(lg_k: u8, regs: &[u8]) -> Vec<u8> {
    assert_eq!(regs.len(), 1 << lg_k);
    let mut h = Histogram([0; 64]);
    for &v in regs {
        h.0[v as usize] += 1;
    }
    let (q0, q1) = h.kxq();
    let mut img = vec![10, 1, 7, lg_k, 0, COMPACT_FLAG | 0x10, 0, 2 | (2 << 2)];
    img.extend_from_slice(&0f64.to_le_bytes());
    img.extend_from_slice(&q0.to_le_bytes());
    img.extend_from_slice(&q1.to_le_bytes());
    img.extend_from_slice(&h.0[0].to_le_bytes());
    img.extend_from_slice(&0u32.to_le_bytes());
    img.extend_from_slice(regs);
    img
}
