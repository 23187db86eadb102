//! Accuracy of what `hll_count` returns at lg_k 12 (docs/BENCHMARKS.md,
//! "HLL accuracy"): the relative RMSE over many trials of n distinct
//! values, for
//! - one-pass: `hll_sketch` of the values (the stored image, flagged
//!   out-of-order: the composite estimate);
//! - merged: `hll_merge` of the images of 4 parts of them (the same
//!   registers: the same estimate, checked here);
//! - HIP: what a DataSketches library's one-pass, in-order sketch of the
//!   same values reports (its HIP estimator), for comparison.
//!
//! Values are random 64-bit integers hashed as `hll_sketch` hashes an
//! INTEGER (a long, as DataSketches does). Deterministic (fixed seeds).
//!
//! Usage: cargo run --release --example hll_accuracy [-- TRIALS]

use datasketches::hash::value::raw_bytes;
use datasketches::hll::{HllSketch, HllType, HllUnion};
use otelcat::hll::{self, Value};

const LG_K: u8 = 12;
const PARTS: usize = 4;

fn main() {
    let trials: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("TRIALS: a number"))
        .unwrap_or(200);
    println!("lg_k {LG_K}, {trials} trials per n (1M: a quarter of them), values: random i64");
    println!(
        "| n | trials | one-pass (hll_count) | merged from {PARTS} parts (hll_count) | HIP (in-order one-pass) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for n in [1_000usize, 10_000, 100_000, 1_000_000] {
        let t = if n >= 1_000_000 { trials / 4 } else { trials };
        let (mut one, mut merged, mut hip) = (0.0, 0.0, 0.0);
        for trial in 0..t {
            let mut rng = fastrand::Rng::with_seed(0x6f74_656c_0000 + (n * 10_007 + trial) as u64);
            let mut whole = HllUnion::new(LG_K).expect("lg_k");
            let mut parts: Vec<HllUnion> = (0..PARTS)
                .map(|_| HllUnion::new(LG_K).expect("lg_k"))
                .collect();
            let mut in_order = HllSketch::new(LG_K, HllType::Hll8).expect("lg_k");
            for i in 0..n {
                let v = rng.i64(..);
                hll::update_value(&mut whole, Value::Long(v));
                hll::update_value(&mut parts[i % PARTS], Value::Long(v));
                in_order.update(raw_bytes::from_slice(&v.to_le_bytes()));
            }
            let img = hll::encode_union(&whole);
            let c1 = hll::count(&hll::decode(&img).expect("own image"));
            let mut u = hll::Union::default();
            for p in &parts {
                let pi = hll::encode_union(p);
                u.add(&pi, &hll::decode(&pi).expect("own image"));
            }
            let m = u.result().expect("four parts");
            let c2 = hll::count(&hll::decode(&m).expect("own image"));
            assert_eq!(c1, c2, "n={n} trial={trial}: one-pass and merged differ");
            let h = in_order.estimate();
            let rel = |e: f64| (e / n as f64 - 1.0).powi(2);
            one += rel(c1 as f64);
            merged += rel(c2 as f64);
            hip += rel(h);
        }
        let rmse = |s: f64| 100.0 * (s / t as f64).sqrt();
        println!(
            "| {n} | {t} | {:.2} % | {:.2} % | {:.2} % |",
            rmse(one),
            rmse(merged),
            rmse(hip)
        );
    }
}
