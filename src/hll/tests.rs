//! Unit tests of the sketch core (the SQL functions are tested through the
//! built extension in tests/).

use super::image::{self, KEY_MASK_26};
use super::stored;
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
    // Stored flagged out-of-order: the composite estimate.
    assert_eq!(count(&a2), a.composite_estimate().round() as i64);
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
        0u64, 1, 5, 7, 8, 9, 24, 25, 26, 48, 49, 50, 96, 97, 98, 150, 192, 193, 194, 300, 383, 384,
        385, 386, 400, 3_000, 80_000,
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
                assert!(image::max_into(img, &mut regs));
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
            let got = image::encode_hll4(lg_k, &regs);
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
/// and hold the property; each estimates as Python estimates it.
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
        // Python's get_estimate(), HIP or composite as the image says.
        if let Some(want) = manifest[name]["estimate"].as_f64() {
            assert_eq!(decode(img).unwrap().estimate(), want, "{name}");
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
    let hll4 = image::encode_hll4(8, &regs);
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
        "HIP too large",
        &hll4,
        &|i| i[8..16].copy_from_slice(&2f64.powi(80).to_le_bytes()),
        "HIP accumulator is 1208925819614629200000000, not a number from 0 to below k · 2^64",
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
        "HLL_8 cur_min is 236, above its smallest register (0)",
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
    bases.push(image::encode_hll4(4, &regs));
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

/// What Java's union (Spark's hll_union_agg) writes once no register is 0:
/// an HLL_8 image whose cur_min is its smallest register. It reads, counts
/// as the same registers with cur_min 0, and merges.
#[test]
fn hll8_images_with_a_rebuilt_cur_min_are_read() {
    let regs: Vec<u8> = (0..256).map(|i| (i % 9 + 1) as u8).collect();
    let mut rebuilt = check::hll8_image(8, &regs);
    rebuilt[6] = 1;
    property::repair(&mut rebuilt);
    assert_eq!(
        u32::from_le_bytes(rebuilt[32..36].try_into().unwrap()),
        29,
        "registers at cur_min 1"
    );
    let zero = check::hll8_image(8, &regs);
    assert!(
        check::check(&rebuilt).is_ok(),
        "{:?}",
        check::check(&rebuilt)
    );
    let (a, b) = (decode(&rebuilt).unwrap(), decode(&zero).unwrap());
    assert_eq!(a.estimate(), b.estimate());
    let mut too_high = rebuilt.clone();
    too_high[6] = 2;
    property::repair(&mut too_high);
    assert!(
        check::check(&too_high)
            .unwrap_err()
            .contains("above its smallest register (1)")
    );
}

/// `Builder::hash` (the recent values' and a key's top values' hash):
/// never 0, no two of these distinct values alike (every string of up to
/// 3 bytes over 24 byte values, 300 000 numbers as text, and values of
/// every length to 40 that differ in one byte), and the bits its users
/// take (the top 7 for a top-values slot, the top 4 for a recent slot, 10
/// bits from bit 32 for a tag) spread evenly over numbers as text (as
/// evenly as random bits would).
#[test]
fn value_hash_is_distinct_and_even() {
    use std::collections::HashMap;
    let mut seen: HashMap<u64, Vec<u8>> = HashMap::new();
    let mut check = |v: Vec<u8>| {
        let h = Builder::hash(&v);
        assert_ne!(h, 0);
        assert_eq!(h, Builder::hash(&v.clone()), "deterministic");
        if let Some(other) = seen.insert(h, v.clone()) {
            assert_eq!(other, v, "two values, one hash");
        }
    };
    let alphabet: Vec<u8> = (0u8..12)
        .chain(b'0'..=b'9')
        .chain([0x80, 0xff, b'a'])
        .collect();
    check(Vec::new());
    for &a in &alphabet {
        check(vec![a]);
        for &b in &alphabet {
            check(vec![a, b]);
            for &c in &alphabet {
                check(vec![a, b, c]);
            }
        }
    }
    for i in 0..300_000u64 {
        check(format!("v{i}").into_bytes());
    }
    for n in 4..=40 {
        for at in 0..n {
            for x in [1u8, 0x80] {
                let mut v: Vec<u8> = (0..n as u8).map(|i| b'a' + i % 26).collect();
                v[at] ^= x;
                check(v);
            }
        }
    }
    let (mut slot7, mut slot4, mut tag) = ([0u32; 128], [0u32; 16], [0u32; 1024]);
    let n = 1u32 << 17;
    for i in 0..n {
        let h = Builder::hash(i.to_string().as_bytes());
        slot7[(h >> 57) as usize] += 1;
        slot4[(h >> 60) as usize] += 1;
        tag[((h >> 32) & 1023) as usize] += 1;
    }
    for (counts, name) in [
        (&slot7[..], "top 7"),
        (&slot4[..], "top 4"),
        (&tag[..], "tag"),
    ] {
        // Each count within 5 standard deviations of its mean, and the
        // chi-square statistic within 6 of its own (k - 1 ± √(2k)).
        let k = counts.len() as f64;
        let mean = f64::from(n) / k;
        let mut chi2 = 0.0;
        for &c in counts {
            let d = f64::from(c) - mean;
            assert!(d.abs() < 5.0 * mean.sqrt(), "{name}: {c} against {mean}");
            chi2 += d * d / mean;
        }
        assert!(
            chi2 < k + 6.0 * (2.0 * k).sqrt(),
            "{name}: chi-square {chi2}, {k} buckets"
        );
    }
}
