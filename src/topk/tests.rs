//! Unit tests of the frequent items sketches: bounds against true counts,
//! images read as the crate reads them, damaged images refused.

use super::*;
use crate::testutil::XorShift;
use datasketches::frequencies::ErrorType;
use std::collections::HashMap;

/// A skewed stream: value k with probability ∝ 1/(k+1) over `distinct`
/// values (Zipf, s = 1), drawn by inverse transform on a table.
fn zipf(r: &mut XorShift, n: usize, distinct: usize) -> Vec<String> {
    let mut cdf = Vec::with_capacity(distinct);
    let mut acc = 0.0;
    for k in 0..distinct {
        acc += 1.0 / (k + 1) as f64;
        cdf.push(acc);
    }
    (0..n)
        .map(|_| {
            let x = (r.next() >> 11) as f64 / (1u64 << 53) as f64 * acc;
            format!("v{}", cdf.partition_point(|&c| c < x))
        })
        .collect()
}

fn build(values: &[String], lg: u8) -> (Vec<u8>, HashMap<String, u64>) {
    let mut s = new_sketch(lg);
    let mut truth = HashMap::new();
    for v in values {
        s.update_with_count_ref(v.as_str(), 1);
        *truth.entry(v.clone()).or_insert(0) += 1;
    }
    (encode(&s), truth)
}

/// Every bound of the image holds for the true counts: lower ≤ true ≤
/// upper for tracked values, true ≤ maximum_error for the others, and
/// maximum_error ≤ epsilon × total weight.
fn assert_bounds(img: &[u8], truth: &HashMap<String, u64>, what: &str) {
    let v = parse(img).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(v.total_weight, truth.values().sum::<u64>(), "{what}");
    assert!(
        v.offset as f64 <= epsilon(v.lg_max) * v.total_weight as f64,
        "{what}: maximum error {} above epsilon × weight",
        v.offset
    );
    let rows = v.rows(Mode::NoFalseNegatives, usize::MAX);
    for (value, &t) in truth {
        match rows.iter().find(|r| r.value == value) {
            Some(r) => assert!(r.lower <= t && t <= r.upper, "{what}: {value} {t} {r:?}"),
            None => assert!(
                t <= v.offset,
                "{what}: {value} {t} untracked, error {}",
                v.offset
            ),
        }
    }
    for r in v.rows(Mode::NoFalsePositives, usize::MAX) {
        // Listed as surely frequent: more often than any dropped value.
        assert!(truth[r.value] > v.offset, "{what}: {r:?}");
    }
}

#[test]
fn bounds_hold_on_skewed_and_flat_streams() {
    let mut r = XorShift::new(0x5EED_0F70_9C01);
    for (n, distinct, lg) in [
        (1_000usize, 50usize, 8u8),
        (20_000, 100_000, 4),
        (50_000, 5_000, 6),
        (50_000, 50_000, 8),
        (100_000, 1_000_000, 10),
    ] {
        let values = zipf(&mut r, n, distinct);
        let (img, truth) = build(&values, lg);
        assert_bounds(&img, &truth, &format!("n={n} distinct={distinct} lg={lg}"));
    }
    // Fewer distinct values than 0.75 × the map: every count exact.
    let values: Vec<String> = (0..10_000).map(|i| format!("k{}", i % 150)).collect();
    let (img, truth) = build(&values, 8);
    let v = parse(&img).unwrap();
    assert_eq!(v.offset, 0);
    for r in v.rows(Mode::NoFalseNegatives, usize::MAX) {
        assert_eq!((r.lower, r.upper), (truth[r.value], truth[r.value]));
    }
}

/// One value in half of 100 000 records, the rest spread thin: it comes
/// first, its count within the bounds, the bounds within epsilon.
#[test]
fn skewed_key_top_value_within_the_bound() {
    let mut r = XorShift::new(0xC0FF_EE11);
    let values: Vec<String> = (0..100_000)
        .map(|i| {
            if i % 2 == 0 {
                "GET /health".to_string()
            } else {
                format!("GET /users/{}", r.below(20_000))
            }
        })
        .collect();
    let (img, truth) = build(&values, DEFAULT_LG_MAX);
    assert_bounds(&img, &truth, "skewed");
    let v = parse(&img).unwrap();
    let top = &v.rows(Mode::NoFalsePositives, 1)[0];
    assert_eq!(top.value, "GET /health");
    assert!(top.lower <= 50_000 && 50_000 <= top.upper, "{top:?}");
    assert!(v.offset > 0, "the test must make the sketch purge");
}

/// Merging per-shard sketches in any grouping and order (different map
/// sizes among them) gives bounds that hold for the union, at the
/// smallest map size.
#[test]
fn merges_keep_bounds_whatever_the_grouping() {
    let mut r = XorShift::new(0xABCD_1234);
    let values = zipf(&mut r, 60_000, 30_000);
    let mut truth = HashMap::new();
    for v in &values {
        *truth.entry(v.clone()).or_insert(0u64) += 1;
    }
    let lgs = [8u8, 6, 10, 8];
    let shards: Vec<Vec<u8>> = values
        .chunks(15_000)
        .zip(lgs)
        .map(|(c, lg)| build(c, lg).0)
        .collect();
    let merge = |imgs: &[&[u8]]| {
        let mut m = Merger::default();
        for img in imgs {
            m.add(&parse(img).unwrap(), img).unwrap();
        }
        m.result().unwrap()
    };
    let [a, b, c, d] = [&shards[0][..], &shards[1], &shards[2], &shards[3]];
    let all = [
        merge(&[a, b, c, d]),
        merge(&[d, c, b, a]),
        merge(&[&merge(&[a, b]), &merge(&[c, d])]),
        merge(&[a, &merge(&[b, &merge(&[c, d])])]),
        merge(&[&merge(&[c, a]), d, b]),
    ];
    for (i, img) in all.iter().enumerate() {
        assert_bounds(img, &truth, &format!("grouping {i}"));
        assert_eq!(parse(img).unwrap().lg_max, 6, "grouping {i}");
    }
    // The most frequent value is found in every grouping.
    for img in &all {
        assert_eq!(
            parse(img).unwrap().rows(Mode::NoFalsePositives, 1)[0].value,
            "v0"
        );
    }
}

/// What the in-place reading returns is what the crate's sketch returns.
#[test]
fn view_reads_like_the_crate() {
    let mut r = XorShift::new(0x7777_1111);
    for (n, distinct, lg) in [
        (0usize, 1usize, 5u8),
        (10, 5, 3),
        (5_000, 400, 5),
        (30_000, 3_000, 7),
    ] {
        let values = zipf(&mut r, n, distinct);
        let mut s = new_sketch(lg);
        for v in &values {
            s.update_with_count_ref(v.as_str(), 1);
        }
        let img = encode(&s);
        let v = parse(&img).unwrap();
        for (mode, et) in [
            (Mode::NoFalseNegatives, ErrorType::NoFalseNegatives),
            (Mode::NoFalsePositives, ErrorType::NoFalsePositives),
        ] {
            let mut want: Vec<(String, u64, u64, u64)> = s
                .frequent_items(et)
                .into_iter()
                .map(|r| {
                    (
                        r.item().clone(),
                        r.estimate(),
                        r.lower_bound(),
                        r.upper_bound(),
                    )
                })
                .collect();
            want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let got: Vec<(String, u64, u64, u64)> = v
                .rows(mode, usize::MAX)
                .into_iter()
                .map(|r| (r.value.to_string(), r.count, r.lower, r.upper))
                .collect();
            assert_eq!(got, want, "n={n} {mode:?}");
            // The first k of them, for any k.
            let all = v.rows(mode, usize::MAX);
            for k in [0, 1, 2, 5, 10, 11, 100, all.len()] {
                assert_eq!(v.rows(mode, k), all[..k.min(all.len())], "k={k}");
            }
        }
        for probe in ["v0", "v1", "v7", "absent"] {
            assert_eq!(v.estimate(probe), s.estimate(probe), "n={n} {probe}");
        }
        assert_eq!(v.offset, s.maximum_error());
        assert_eq!(v.total_weight, s.total_weight());
    }
}

#[test]
fn the_same_values_give_the_same_bytes() {
    let mut r = XorShift::new(0x1234_5678);
    let values = zipf(&mut r, 20_000, 2_000);
    assert_eq!(build(&values, 6).0, build(&values, 6).0);
}

/// A valid non-empty image of (value, count) items.
fn image(lg_max: u8, lg_cur: u8, weight: u64, offset: u64, items: &[(&str, u64)]) -> Vec<u8> {
    let mut b = vec![4, 1, 10, lg_max, lg_cur, 0, 0, 0];
    b.extend_from_slice(&(items.len() as u32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&weight.to_le_bytes());
    b.extend_from_slice(&offset.to_le_bytes());
    for (_, c) in items {
        b.extend_from_slice(&c.to_le_bytes());
    }
    for (v, _) in items {
        b.extend_from_slice(&(v.len() as u32).to_le_bytes());
        b.extend_from_slice(v.as_bytes());
    }
    b
}

#[test]
fn hand_made_images_read_as_written() {
    let img = image(5, 3, 10, 1, &[("a", 5), ("b", 3)]);
    let v = parse(&img).unwrap();
    assert_eq!(
        v.rows(Mode::NoFalseNegatives, 10),
        vec![
            Row {
                value: "a",
                count: 6,
                lower: 5,
                upper: 6
            },
            Row {
                value: "b",
                count: 4,
                lower: 3,
                upper: 4
            },
        ]
    );
    assert_eq!(
        v.rows_json(Mode::NoFalsePositives, 1),
        r#"[{"value":"a","count":6,"lower":5,"upper":6}]"#
    );
    assert_eq!((v.estimate("b"), v.estimate("c")), (4, 0));
    check_image(&img);
    // The crate's own image of the same content.
    let mut s = new_sketch(5);
    s.update_with_count("a".to_string(), 5);
    s.update_with_count("b".to_string(), 3);
    assert_eq!(
        parse(&encode(&s))
            .unwrap()
            .rows(Mode::NoFalseNegatives, 9)
            .len(),
        2
    );
    // Empty.
    let empty = encode(&new_sketch(7));
    assert_eq!(empty, [1, 1, 10, 7, 3, 5, 0, 0]);
    let e = parse(&empty).unwrap();
    assert!(e.is_empty() && e.items.is_empty());
    check_image(&empty);
}

#[test]
fn damaged_images_are_refused_with_the_reason() {
    let good = image(5, 4, 10, 1, &[("a", 5), ("b", 3)]);
    let with = |at: usize, bytes: &[u8]| {
        let mut g = good.clone();
        g[at..at + bytes.len()].copy_from_slice(bytes);
        g
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "empty blob"),
        (
            good[..7].to_vec(),
            "7 bytes, shorter than the 8-byte preamble",
        ),
        (with(2, &[7]), "family byte is 7, an HLL sketch"),
        (with(2, &[3]), "family byte is 3, not 10"),
        (with(1, &[2]), "serial version 2 is not 1"),
        (with(0, &[2]), "preamble of 2 words"),
        (with(3, &[15]), "lg_max_map_size 15 is outside 3..14"),
        (with(3, &[30]), "lg_max_map_size 30 is outside"),
        (with(3, &[2]), "lg_max_map_size 2 is outside"),
        (with(4, &[6]), "lg_cur_map_size 6 is outside 3..5"),
        (with(4, &[2]), "lg_cur_map_size 2 is outside"),
        (
            with(5, &[1]),
            "the empty flag (true) contradicts the preamble size (4 words)",
        ),
        (
            vec![1, 1, 10, 5, 3, 0, 0, 0],
            "the empty flag (false) contradicts",
        ),
        (
            vec![1, 1, 10, 5, 3, 5, 0, 0, 9],
            "1 bytes after the preamble of an empty sketch",
        ),
        (
            good[..31].to_vec(),
            "truncated: 31 bytes, shorter than the 32-byte preamble",
        ),
        (
            with(8, &[13, 0, 0, 0]),
            "13 items, more than the 12 a map of 2^4 counters holds",
        ),
        (with(16, &[0; 8]), "total weight 0 in a non-empty sketch"),
        (
            with(16, &[0, 0, 0, 0, 0, 0, 0, 0x80]),
            "total weight 9223372036854775808 is above 2^63 - 1",
        ),
        (
            with(24, &[11, 0, 0, 0, 0, 0, 0, 0]),
            "maximum error 11 is above the total weight 10",
        ),
        (with(32, &[0; 8]), "item 0 has a count of 0"),
        (
            with(32, &[7, 0, 0, 0, 0, 0, 0, 0]),
            "the counts plus the maximum error (11) exceed the total weight 10",
        ),
        (with(32, &[0xff; 8]), "exceed the total weight"),
        (
            good[..40].to_vec(),
            "truncated: 2 counts need 16 bytes, 8 left",
        ),
        (good[..48].to_vec(), "truncated at item 0"),
        (
            good[..52].to_vec(),
            "truncated: item 0 is 1 bytes long, 0 left",
        ),
        (with(52, &[0xff]), "item 0 is not valid UTF-8"),
        (with(57, b"a"), "item 1 (\"a\") is listed twice"),
        ([&good[..], &[0]].concat(), "1 bytes after the last item"),
        (
            with(48, &[0xff, 0xff, 0xff, 0xff]),
            "truncated: item 0 is 4294967295 bytes long",
        ),
    ];
    assert!(parse(&good).is_ok());
    for (img, want) in cases {
        let got = parse(&img).expect_err(want);
        assert!(got.contains(want), "want {want:?}, got {got:?}");
    }
}

/// Declared sizes never size an allocation: a map of 2^14 counters
/// holding one value is read into the smallest map, and a count of
/// 12 288 items with no bytes behind it is refused before anything is
/// reserved.
#[test]
fn declared_sizes_allocate_nothing() {
    let img = image(14, 14, 3, 0, &[("x", 3)]);
    let s = parse(&img).unwrap().to_sketch(&img).unwrap();
    assert_eq!(s.lg_cur_map_size(), 3);
    assert!(s.estimated_size() < 1024, "{}", s.estimated_size());
    let mut big = image(14, 14, 3, 0, &[]);
    big[8..12].copy_from_slice(&12_288u32.to_le_bytes());
    assert!(
        parse(&big)
            .unwrap_err()
            .starts_with("truncated: 12288 counts")
    );
    // An empty image declaring the largest map.
    let e = [1, 1, 10, 14, 14, 5, 0, 0];
    let s = parse(&e).unwrap().to_sketch(&e).unwrap();
    assert!(s.estimated_size() < 1024);
}

/// Random damage to valid images (bytes set, flipped, inserted,
/// removed, truncations): each result is refused, or read consistently
/// by everything (`check_image`), and then also by the crate itself.
#[test]
fn mutated_images_are_refused_or_read_consistently() {
    let mut r = XorShift::new(0xF00D_F00D);
    let mut bases = vec![
        encode(&new_sketch(4)),
        image(5, 4, 10, 1, &[("a", 5), ("b", 3)]),
        image(3, 3, 100, 50, &[("x", 1), ("", 49)]),
    ];
    for (n, distinct, lg) in [(50usize, 10usize, 6u8), (3_000, 500, 5), (800, 2_000, 8)] {
        bases.push(build(&zipf(&mut r, n, distinct), lg).0);
    }
    let (mut taken, mut refused) = (0, 0);
    let mut check = |m: &[u8]| {
        check_image(m);
        match parse(m) {
            Ok(_) => {
                assert!(Sketch::deserialize(m).is_ok(), "{m:?}");
                taken += 1
            }
            Err(_) => refused += 1,
        }
    };
    for base in &bases {
        for cut in 0..base.len().min(300) {
            check(&base[..cut]);
        }
        for i in 0..base.len().min(400) {
            for v in [0u8, 1, 2, 3, 4, 5, 0x7f, 0x80, 0xff] {
                let mut m = base.clone();
                m[i] = v;
                check(&m);
            }
            for bit in 0..8 {
                let mut m = base.clone();
                m[i] ^= 1 << bit;
                check(&m);
            }
        }
        for _ in 0..2_000 {
            let mut m = base.clone();
            for _ in 0..1 + r.below(4) {
                let at = r.below(m.len() as u64 + 1) as usize;
                match r.below(3) {
                    0 if at < m.len() => m[at] = r.next() as u8,
                    1 => m.insert(at, r.next() as u8),
                    _ if at < m.len() => {
                        m.remove(at);
                    }
                    _ => {}
                }
            }
            check(&m);
        }
    }
    assert!(
        taken > 1_000 && refused > 10_000,
        "{taken} taken, {refused} refused"
    );
}

/// `Merger` adds a checked image's values in place of the crate's
/// merge of its decoded sketch: the same totals and maximum error, and
/// the same counts when nothing purges.
#[test]
fn merging_images_is_the_crate_merge() {
    let mut r = XorShift::new(0x0DDB_A11F);
    let mut exact = 0;
    for (n, distinct, lg) in [
        (500usize, 60usize, 8u8),
        (5_000, 3_000, 6),
        (20_000, 400, 9),
    ] {
        let (a, b) = (
            build(&zipf(&mut r, n, distinct), lg).0,
            build(&zipf(&mut r, n, distinct), lg).0,
        );
        let mut want = Sketch::deserialize(&a).unwrap();
        want.merge(&Sketch::deserialize(&b).unwrap());
        let mut m = Merger::default();
        m.add(&parse(&a).unwrap(), &a).unwrap();
        m.add(&parse(&b).unwrap(), &b).unwrap();
        let got = m.result().unwrap();
        let (g, w) = (parse(&got).unwrap(), encode(&want));
        let w = parse(&w).unwrap();
        assert_eq!((g.total_weight, g.lg_max), (w.total_weight, w.lg_max));
        if w.offset == parse(&a).unwrap().offset + parse(&b).unwrap().offset {
            // No purge during the merge: exactly the crate's counts.
            assert_eq!(g.offset, w.offset);
            assert_eq!(
                g.rows(Mode::NoFalseNegatives, usize::MAX),
                w.rows(Mode::NoFalseNegatives, usize::MAX)
            );
            exact += 1;
        }
    }
    assert!(exact >= 1);
}

#[test]
fn merging_past_the_weight_limit_is_an_error() {
    let a = image(5, 3, MAX_WEIGHT - 5, 0, &[("a", 7)]);
    let b = image(5, 3, 6, 0, &[("b", 6)]);
    let mut m = Merger::default();
    m.add(&parse(&a).unwrap(), &a).unwrap();
    let e = m.add(&parse(&b).unwrap(), &b).unwrap_err();
    assert!(e.contains("would exceed 2^63 - 1"), "{e}");
    check_image(&a);
}

/// A random sketch image: the crate's (values of a Zipf stream, weighted
/// now and then) or a hand-written one in an order the crate would not
/// write (as another writer's image may be).
fn random_image(r: &mut XorShift) -> Vec<u8> {
    let lg = MIN_LG_MAX + r.below(6) as u8;
    let distinct = 1 + r.below(300) as usize;
    let n = 1 + r.below(3_000) as usize;
    if r.below(4) == 0 {
        let mut items: Vec<(String, u64)> = (0..r.below(map_cap(lg) as u64 + 1))
            .map(|i| (format!("h{i}-{}", r.below(1000)), 1 + r.below(50)))
            .collect();
        items.sort();
        items.dedup_by(|a, b| a.0 == b.0);
        let refs: Vec<(&str, u64)> = items.iter().map(|(v, c)| (v.as_str(), *c)).collect();
        let sum: u64 = refs.iter().map(|i| i.1).sum();
        let offset = r.below(20);
        let total = sum + offset + r.below(20) + 1;
        return write_image(lg.max(map_lg(refs.len())), total, offset, &refs).expect("a total");
    }
    let mut s = new_sketch(lg);
    for v in zipf(r, n, distinct) {
        let c = if r.below(10) == 0 {
            1 + r.below(100)
        } else {
            1
        };
        s.update_with_count_ref(v.as_str(), c);
    }
    encode(&s)
}

fn map_cap(lg: u8) -> usize {
    3 * (1usize << lg) / 4
}

fn map_lg(n: usize) -> u8 {
    let mut lg = MIN_LG_MAX;
    while map_cap(lg) < n {
        lg += 1;
    }
    lg
}

/// `merge_two` writes what the crate's merge (`Merger`) writes, byte for
/// byte: maps of different sizes, resizes, purges, images in any order.
#[test]
fn replayed_merges_are_the_crates_bytes() {
    let mut r = XorShift::new(0x5EED_0F70);
    let mut purged = 0;
    for _ in 0..3_000 {
        let (a, b) = (random_image(&mut r), random_image(&mut r));
        let (va, vb) = (parse(&a).unwrap(), parse(&b).unwrap());
        let mut m = Merger::default();
        m.add(&va, &a).unwrap();
        m.add(&vb, &b).unwrap();
        let want = m.result().unwrap();
        let got = merge_two(&va, &vb).expect("two non-empty images in range");
        assert_eq!(got, want, "{a:?} + {b:?}");
        if parse(&got).unwrap().offset > va.offset + vb.offset {
            purged += 1;
        }
    }
    assert!(purged > 100, "{purged} merges purged");
}

/// `write_crate_image` writes what the crate writes for `write_image`'s
/// image (read and written again), byte for byte.
#[test]
fn replayed_batch_images_are_the_crates_bytes() {
    let mut r = XorShift::new(0xBA7C_4111);
    for _ in 0..3_000 {
        let lg = MIN_LG_MAX + r.below(6) as u8;
        let n = r.below(map_cap(lg) as u64 + 1) as usize;
        let items: Vec<(String, u64)> = (0..n)
            .map(|i| {
                // Now and then longer than the one-pass hash takes.
                let pad = if r.below(10) == 0 { 300 } else { r.below(40) };
                (
                    format!("{}{i}", "x".repeat(pad as usize)),
                    1 + r.below(1_000),
                )
            })
            .collect();
        let refs: Vec<(&str, u64)> = items.iter().map(|(v, c)| (v.as_str(), *c)).collect();
        let sum: u64 = refs.iter().map(|i| i.1).sum();
        let offset = r.below(100);
        let total = sum + offset + r.below(3);
        let raw = write_image(lg, total, offset, &refs);
        let got = write_crate_image(lg, total, offset, &refs);
        assert_eq!(
            got,
            raw.map(|raw| rewrite_written(&raw).unwrap()),
            "{refs:?}"
        );
    }
}

/// Empty images and totals past 2^63 − 1 are left to the crate's merge.
#[test]
fn replay_leaves_empty_and_overflowing_merges_to_the_crate() {
    let a = image(5, 3, MAX_WEIGHT - 5, 0, &[("a", 7)]);
    let b = image(5, 3, 6, 0, &[("b", 6)]);
    assert_eq!(merge_two(&parse(&a).unwrap(), &parse(&b).unwrap()), None);
    let empty = encode(&new_sketch(5));
    assert_eq!(
        merge_two(&parse(&empty).unwrap(), &parse(&b).unwrap()),
        None
    );
    assert_eq!(
        merge_two(&parse(&b).unwrap(), &parse(&empty).unwrap()),
        None
    );
}
