//! The rule of docs/FORMAT.md ("Accepted images") as code, for the unit
//! tests and the `hll` fuzz target: an image is either refused by every
//! reader (the checks, the crate's decoder through [`decode`], the in-place
//! merge) or read by all of them with finite estimates within bounds, and
//! everything written from it is accepted again. [`property`] panics with
//! the reason when it does not hold.

use std::borrow::Cow;
use std::sync::OnceLock;

use datasketches::common::NumStdDev;
use datasketches::hll::{HllSketch, HllUnion};

use super::check::{self, Mode};
use super::{
    Builder, Merger, STORED_TYPE, Union, count, decode, encode, image, info_json, merge_stored,
    update_bytes,
};

/// Valid images of every kind a candidate is merged with, both ways: an
/// empty LIST, a LIST, a SET and dense HLL_4 images at lg_k 12 (otelcat's
/// form), a dense HLL_4 at lg_k 10 and an HLL_8 at lg_k 12 (foreign form).
pub fn references() -> &'static [Vec<u8>] {
    static REFS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    REFS.get_or_init(|| {
        let own = |n: u64| {
            let mut b = Builder::new();
            for v in 0..n {
                b.add(format!("ref-{v}").as_bytes());
            }
            b.image()
        };
        let mut regs10 = vec![0u8; 1 << 10];
        let mut regs12 = vec![0u8; 1 << 12];
        for (i, r) in regs10.iter_mut().enumerate() {
            *r = (1 + i % 7 + (i % 97 == 0) as usize * 20) as u8;
        }
        for (i, r) in regs12.iter_mut().enumerate() {
            *r = (i % 5) as u8;
        }
        vec![
            own(0),
            own(3),
            own(100),
            own(3_000),
            image::encode_hll4(10, &regs10),
            check::hll8_image(12, &regs12),
        ]
    })
}

/// How many coupons a sparse image holds (LIST or SET), `None` when dense.
fn coupons(shape: &check::Shape, img: &[u8]) -> Option<usize> {
    match shape.mode {
        Mode::List => Some(img[6] as usize),
        Mode::Set => Some(u32::from_le_bytes(img[8..12].try_into().expect("4")) as usize),
        Mode::Hll => None,
    }
}

/// Estimates of a decoded sketch are finite, ordered and within what the
/// image could hold: a little over its coupons when sparse (the crate
/// corrects for coupon collisions), below k · 2^64 when dense.
fn sane(what: &str, s: &HllSketch, img: &[u8]) {
    let shape = check::check(img).unwrap_or_else(|e| panic!("{what}: refused: {e}"));
    let est = s.estimate();
    let (lo, hi) = (s.lower_bound(NumStdDev::Two), s.upper_bound(NumStdDev::Two));
    assert!(est.is_finite() && est >= 0.0, "{what}: estimate {est}");
    assert!(lo.is_finite() && hi.is_finite(), "{what}: bounds {lo} {hi}");
    let cap = match coupons(&shape, img) {
        Some(n) => n as f64 * 1.01 + 1.0,
        // (The HIP estimate of an in-order image is its accumulator.)
        None => (1u64 << shape.lg_k) as f64 * 2f64.powi(64),
    };
    assert!(est <= cap, "{what}: estimate {est} above {cap}");
    let n = count(s);
    assert!(n >= 0, "{what}: hll_count {n}");
    assert_eq!(n, est.round() as i64, "{what}");
    let info: serde_json::Value =
        serde_json::from_str(&info_json(s, img)).expect("hll_info is JSON");
    for key in ["estimate", "lower_bound", "upper_bound"] {
        let x = info[key].as_f64().unwrap_or(f64::NAN);
        assert!(x.is_finite() && x >= 0.0, "{what}: hll_info {key} {x}");
    }
}

/// An image otelcat returns: accepted and sane.
fn accepted(what: &str, img: &[u8]) -> HllSketch {
    let s = decode(img).unwrap_or_else(|e| panic!("{what}: wrote an image it refuses: {e}"));
    sane(what, &s, img);
    s
}

/// An image written by otelcat: accepted, sane, and written again the
/// same when re-encoded from what it holds.
fn written(what: &str, img: &[u8]) -> HllSketch {
    let s = accepted(what, img);
    // Dense: flagged out-of-order, the HIP field 0 (docs/FORMAT.md).
    if img[0] == 10 {
        assert_ne!(
            img[5] & 0x10,
            0,
            "{what}: a dense image not flagged out-of-order"
        );
        assert_eq!(img[8..16], [0; 8], "{what}: a HIP field that is not 0");
        // HLL_4: the exceptions by slot.
        if img[7] >> 2 == 0 {
            let aux = 40 + (1usize << img[3]) / 2;
            let slots: Vec<u32> = img[aux..]
                .chunks_exact(4)
                .map(|w| u32::from_le_bytes(w.try_into().expect("4")) & ((1 << 26) - 1))
                .collect();
            assert!(
                slots.windows(2).all(|w| w[0] < w[1]),
                "{what}: exceptions not by slot"
            );
        }
    }
    s
}

/// The union of `imgs` as `hll_merge` computes it.
fn union_of(imgs: &[&[u8]]) -> Option<Vec<u8>> {
    let mut u = Union::default();
    for img in imgs {
        u.add(img, &decode(img).expect("accepted"));
    }
    u.result()
}

/// What an accepted image holds, comparable across layouts: its sorted
/// coupons when sparse, its registers when dense.
pub fn content(img: &[u8]) -> (u8, Vec<u32>) {
    let s = decode(img).expect("accepted");
    let mut u = HllUnion::new(s.lg_config_k()).expect("lg_k in range");
    u.update(&s);
    let s8 = u.to_sketch(datasketches::hll::HllType::Hll8).serialize();
    let k = 1usize << s.lg_config_k();
    if s8[0] == 10 {
        return (
            s.lg_config_k(),
            s8[40..40 + k].iter().map(|&r| r as u32).collect(),
        );
    }
    let start = if s8[0] == 2 { 8 } else { 12 };
    let mut c: Vec<u32> = s8[start..]
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes(w.try_into().expect("4")))
        .filter(|&c| c != 0)
        .collect();
    c.sort_unstable();
    (s.lg_config_k(), c)
}

/// Checks the rule on one image; panics with the reason when it fails.
pub fn property(img: &[u8]) {
    property_with(img, references());
}

/// [`property`], merging with `refs` (valid images) instead.
pub fn property_with(img: &[u8], refs: &[Vec<u8>]) {
    let verdict = check::check(img);
    let decoded = decode(img);
    assert_eq!(
        verdict.is_ok(),
        decoded.is_ok(),
        "the checks and the decoder disagree: {:?} / {:?}",
        verdict.as_ref().err(),
        decoded.as_ref().err()
    );
    // The in-place merge of `hll_merge(a, b)` takes no image the checks
    // refuse, and writes accepted images (`a` itself when it says so).
    for r in refs {
        for (a, b, first) in [(img, &r[..], true), (&r[..], img, false)] {
            let Some(out) = merge_stored(a, b) else {
                continue;
            };
            assert!(verdict.is_ok(), "merge_stored took a refused image");
            let what = format!(
                "merge_stored (image {})",
                if first { "first" } else { "second" }
            );
            // (`a` itself may be an image another writer wrote.)
            let m = match &out {
                Cow::Borrowed(_) => accepted(&what, &out),
                Cow::Owned(_) => written(&what, &out),
            };
            if let Cow::Borrowed(x) = &out {
                assert_eq!(*x, a, "{what}: borrowed, but not the first image");
            }
            // The same union as the general path.
            let general = union_of(&[a, b]).expect("two sketches");
            assert_eq!(count(&m), count(&decode(&general).unwrap()), "{what}");
        }
    }
    let Ok(s) = decoded else {
        return;
    };
    sane("the image", &s, img);
    // Re-encoded: accepted, same count, same content.
    let e = encode(&s);
    let s2 = written("encode", &e);
    // (otelcat writes images flagged out-of-order: an in-order image's
    // HIP estimate becomes the composite one of the same registers.)
    let composite = s.composite_estimate().round() as i64;
    assert_eq!(count(&s2), composite, "encode changes the count");
    assert_eq!(
        content(&encode(&s2)),
        content(&e),
        "encode twice changes the content"
    );
    // `hll_merge(x, NULL)`: the union of one, same count; merged alone
    // again, the same content, and for a dense result the same bytes (a
    // SET's coupons may come out in another order: the crate's decoder
    // rebuilds its table in image order).
    let alone = union_of(&[img]).expect("one sketch");
    let a = written("hll_merge(x, NULL)", &alone);
    assert_eq!(count(&a), composite, "hll_merge(x, NULL) changes the count");
    let again = union_of(&[&alone]).expect("one sketch");
    assert_eq!(
        content(&again),
        content(&alone),
        "hll_merge(hll_merge(x, NULL), NULL) differs"
    );
    if again[0] == 10 {
        // A dense image the register code wrote (`again`: `alone` may come
        // from the crate's union, exceptions in its hash order) is a fixed
        // point, byte for byte.
        let third = union_of(&[&again]).expect("one sketch");
        assert_eq!(
            third, again,
            "a dense image otelcat wrote, merged alone, changes"
        );
    }
    // `hll_merge` with every reference, both orders, and the crate's union.
    for r in refs {
        for pair in [[img, &r[..]], [&r[..], img]] {
            written("hll_merge", &union_of(&pair).expect("two sketches"));
            let mut m = Merger::default();
            for x in pair {
                m.add(&decode(x).unwrap());
            }
            written("crate union", &encode(&m.result().expect("two sketches")));
        }
    }
    // `hll_add(x, value)`.
    let mut u = HllUnion::new(s.lg_config_k()).expect("lg_k in range");
    u.update(&s);
    for v in 0..3 {
        update_bytes(&mut u, format!("added {v}").as_bytes());
        written("hll_add", &encode(&u.to_sketch(STORED_TYPE)));
    }
    written("hll_add (HLL_8 union)", &super::encode_union(&u));
}

/// Makes the preamble fields an image's registers determine consistent
/// with them (KxQ sums, registers at cur_min, exception count), so that a
/// fuzzer's mutations of registers, exceptions and cur_min get past those
/// checks and reach the rest. Sparse images are left as they are.
pub fn repair(img: &mut [u8]) {
    if img.len() < 40 || img[0] != 10 || !(4..=21).contains(&img[3]) {
        return;
    }
    let lg_k = img[3];
    let k = 1usize << lg_k;
    let target = (img[7] >> 2) & 3;
    let cur_min = img[6] as usize;
    let mut h = [0u32; 256];
    let mut tokens = 0u32;
    let mut aux_vals = Vec::new();
    match target {
        0 => {
            let Some(nib) = img.get(40..40 + k / 2) else {
                return;
            };
            for slot in 0..k {
                let n = (nib[slot / 2] >> (4 * (slot & 1))) & 15;
                if n == 15 {
                    tokens += 1;
                } else {
                    h[(cur_min + n as usize).min(255)] += 1;
                }
            }
            for w in img[40 + k / 2..].chunks_exact(4) {
                let c = u32::from_le_bytes(w.try_into().expect("4"));
                if c != 0 {
                    aux_vals.push((c >> 26) as usize);
                }
            }
        }
        1 => {
            let Some(r) = img.get(40..40 + 3 * k / 4 + 1) else {
                return;
            };
            for slot in 0..k {
                let bit = 6 * slot;
                let two = u16::from_le_bytes([r[bit / 8], r[bit / 8 + 1]]);
                h[((two >> (bit % 8)) & 63) as usize] += 1;
            }
        }
        _ => {
            let Some(r) = img.get(40..40 + k) else {
                return;
            };
            for &v in r {
                h[v as usize] += 1;
            }
        }
    }
    for v in aux_vals.iter().take(tokens as usize) {
        h[*v] += 1;
    }
    let (mut q0, mut q1) = (0.0f64, 0.0f64);
    for (v, &n) in h.iter().enumerate().take(64) {
        let x = n as f64 * 2f64.powi(-(v as i32));
        if v < 32 {
            q0 += x;
        } else {
            q1 += x;
        }
    }
    img[16..24].copy_from_slice(&q0.to_le_bytes());
    img[24..32].copy_from_slice(&q1.to_le_bytes());
    let at_min = h[cur_min];
    img[32..36].copy_from_slice(&at_min.to_le_bytes());
    if target == 0 {
        img[36..40].copy_from_slice(&tokens.to_le_bytes());
    }
}
