//! A tiny deterministic PRNG (SplitMix64) and the random helpers the
//! generator needs. No `rand` crate: the output must stay byte-identical for
//! a given seed across platforms and dependency updates.

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, passes BigCrush,
/// about 1 ns per draw.
#[derive(Clone, Debug)]
pub struct Rng(u64);

/// The SplitMix64 finaliser: a stateless 64-bit mix, used to derive stable
/// per-index values (product ids, session ids, pod pids) without drawing.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        // Mix the seed once so that seeds 0, 1, 2... start far apart.
        Rng(mix64(seed ^ 0x6A09_E667_F3BC_C909))
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-40
    /// for the ranges used here and, more importantly, deterministic).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    #[inline]
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `num / den`.
    #[inline]
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// Uniform in `[0, 1)` with 53 bits.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    #[inline]
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.index(xs.len())]
    }

    /// An index drawn with the given integer weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| w as u64).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < w as u64 {
                return i;
            }
            x -= w as u64;
        }
        weights.len() - 1
    }

    /// A skewed draw in `0..n`: small values are much more frequent (the
    /// cube of a uniform), like user or product popularity. Every value in
    /// `0..n` remains possible.
    #[inline]
    pub fn skewed(&mut self, n: u64) -> u64 {
        let u = self.unit();
        ((u * u * u) * n as f64) as u64
    }

    /// An exponentially distributed value with the given mean (> 0).
    #[inline]
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// A log-normal-ish latency in nanoseconds around `median_ms`, with a long
    /// right tail (what request durations look like).
    #[inline]
    pub fn latency_ns(&mut self, median_ms: f64) -> u64 {
        // Sum of 3 uniforms approximates a normal; exp() of it a log-normal.
        let n = self.unit() + self.unit() + self.unit() - 1.5;
        let ms = median_ms * (n * 1.6).exp();
        (ms * 1e6) as u64 + 1_000
    }
}

/// `x` rounded to six significant digits, computed as `k / 10^d` with
/// integer `k` (|k| < 10^7) and `d <= 15`. Every double the generator writes
/// goes through this: its shortest decimal form then has at most seven
/// significant digits and a small exponent, so the OTLP/JSON text parses
/// back to the identical bits with any parser that gets the exact-power-of-
/// ten fast path right (serde_json's default one included).
pub fn round6(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return if x.is_finite() { 0.0 } else { x };
    }
    let mag = x.abs().log10().floor() as i32;
    let d = (5 - mag).clamp(0, 15);
    if d == 0 {
        return x.round();
    }
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let p = POW10[d as usize];
    (x * p).round() / p
}
