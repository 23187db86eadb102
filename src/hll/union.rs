//! Unions of sketches: the crate's union at the smallest lg_k, the
//! register union behind `hll_merge`, and its in-place path for two
//! images in otelcat's stored form.

use datasketches::hll::{HllSketch, HllType, HllUnion};

use super::builder::Builder;
use super::image::{self, decode, encode};
use super::stored;
use super::{DEFAULT_LG_K, MAX_LG_K, STORED_TYPE};

/// A union that remembers the smallest lg_k it has seen, so the result is
/// at the smallest lg_k of its inputs whatever their modes.
pub struct Merger {
    union: Option<HllUnion>,
    min_lg_k: u8,
}

impl Default for Merger {
    fn default() -> Self {
        Merger {
            union: None,
            min_lg_k: MAX_LG_K,
        }
    }
}

impl Merger {
    pub fn add(&mut self, s: &HllSketch) {
        let k = s.lg_config_k();
        self.min_lg_k = self.min_lg_k.min(k);
        let u = self
            .union
            .get_or_insert_with(|| HllUnion::new(k).expect("lg_k in range"));
        u.update(s);
    }
    /// The merged sketch, or `None` when nothing was added.
    pub fn result(&self) -> Option<HllSketch> {
        let u = self.union.as_ref()?;
        if u.lg_config_k() > self.min_lg_k {
            let mut down = HllUnion::new(self.min_lg_k).expect("lg_k in range");
            down.update(&u.to_sketch(HllType::Hll8));
            return Some(down.to_sketch(STORED_TYPE));
        }
        Some(u.to_sketch(STORED_TYPE))
    }
}

/// The union behind `hll_merge`. While every input has the same lg_k and
/// is in a layout read below (dense HLL_4 / HLL_8, sparse LIST / SET), a
/// union holding at least one dense sketch is computed on the registers
/// directly (`regs`): the datasketches crate would copy each 4-bit register
/// through its coupon path and back (~27 µs and ~75 µs at lg_k 12, see
/// docs/BENCHMARKS.md), this takes a few µs and writes the image the crate
/// would write (`image::encode_hll4`; tests compare both). Otherwise the
/// crate's union (`Merger`) does it.
#[derive(Default)]
pub struct Union {
    lg_k: Option<u8>,
    regs: Option<Vec<u8>>,
    merger: Merger,
    /// Something the register path cannot take arrived: crate only.
    slow: bool,
}

impl Union {
    /// Adds a sketch given as its stored image and its decoded form.
    pub fn add(&mut self, img: &[u8], decoded: &HllSketch) {
        if !self.slow {
            let k = decoded.lg_config_k();
            let same_k = *self.lg_k.get_or_insert(k) == k;
            if same_k && image::readable(img) {
                if image::is_dense(img) && self.regs.is_none() {
                    // First dense input: start the registers from what the
                    // sparse inputs so far added up to.
                    let mut regs = vec![0u8; 1 << k];
                    if let Some(prev) = self.merger.result()
                        && !image::max_into(&encode(&prev), &mut regs)
                    {
                        self.go_slow();
                    }
                    if !self.slow {
                        self.regs = Some(regs);
                    }
                }
                if let Some(regs) = self.regs.as_mut() {
                    if image::max_into(img, regs) {
                        return;
                    }
                    self.go_slow();
                }
            } else {
                self.go_slow();
            }
        }
        self.merger.add(decoded);
    }

    /// Hands the registers over to the crate's union.
    fn go_slow(&mut self) {
        self.slow = true;
        if let (Some(regs), Some(k)) = (self.regs.take(), self.lg_k) {
            let img = image::encode_hll4(k, &regs);
            self.merger.add(&decode(&img).expect("own image decodes"));
        }
    }

    /// The stored image of the union, `None` when nothing was added.
    pub fn result(&self) -> Option<Vec<u8>> {
        match (&self.regs, self.lg_k) {
            (Some(regs), Some(k)) if !self.slow => Some(image::encode_hll4(k, regs)),
            _ => self.merger.result().map(|s| encode(&s)),
        }
    }
}

/// `hll_merge(a, b)` of two images in otelcat's stored form (same lg_k),
/// read in place rather than decoded through the crate: `a` itself when
/// `b` adds nothing to it (the common case of the catalog's UPSERTs: a
/// batch of values the stored sketch has seen), else, when either is
/// dense, the registers' maximum written as [`Union`] writes it. `None`
/// (two sparse sketches that differ, or anything not in the stored form)
/// sends the caller down the general path.
pub fn merge_stored<'a>(a: &'a [u8], b: &[u8]) -> Option<std::borrow::Cow<'a, [u8]>> {
    let ((ka, va), (kb, vb)) = (stored::view(a)?, stored::view(b)?);
    if ka != kb {
        return None;
    }
    if stored::covers(&va, &vb, ka) {
        return Some(std::borrow::Cow::Borrowed(a));
    }
    let dense = |v: &stored::View| matches!(v, stored::View::Hll4 { .. });
    if !dense(&va) && !dense(&vb) {
        if ka != DEFAULT_LG_K {
            return None;
        }
        // The crate's union starts from (a copy of) the first non-empty
        // sketch's container, then adds the other's coupons in the order
        // its container holds them; a builder does the same and lays them
        // out as the union does (and densifies as it does).
        let (first, second) = if stored::is_empty(&va) {
            (&vb, &va)
        } else {
            (&va, &vb)
        };
        let mut b = Builder::from_sparse(first)?;
        for c in stored::union_order(second) {
            b.add_coupon(c);
        }
        return Some(std::borrow::Cow::Owned(b.image()));
    }
    let mut regs = vec![0u8; 1 << ka];
    if !(image::max_into(a, &mut regs) && image::max_into(b, &mut regs)) {
        return None; // (never for images `view` took)
    }
    Some(std::borrow::Cow::Owned(image::encode_hll4(ka, &regs)))
}
