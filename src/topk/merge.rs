//! The union behind `topk_merge`: checked images added into the crate's
//! sketch, the values of all but the first read in place.

use super::image::{FAMILY, PRE_LONGS_FULL, SERIAL_VERSION};
use super::{MAX_WEIGHT, MIN_LG_MAX, Sketch, View, encode};

/// The union behind `topk_merge`: counts add; the result has the smallest
/// lg_max_map_size among its inputs (a larger map merged into a smaller one
/// keeps the smaller one's bound).
#[derive(Default)]
pub struct Merger {
    acc: Option<Sketch>,
}

impl Merger {
    /// Adds a checked image. Errors (a total beyond 2^63 − 1) say why.
    pub fn add(&mut self, v: &View, bytes: &[u8]) -> std::result::Result<(), String> {
        if let Some(a) = &self.acc
            && a.total_weight() + v.total_weight > MAX_WEIGHT
        {
            return Err(format!(
                "the merged total weight ({} + {}) would exceed 2^63 - 1",
                a.total_weight(),
                v.total_weight
            ));
        }
        match &mut self.acc {
            None => self.acc = Some(v.to_sketch(bytes)?),
            Some(a) if v.lg_max < a.lg_max_map_size() => {
                let mut s = v.to_sketch(bytes)?;
                s.merge(a);
                *a = s;
            }
            Some(a) => merge_view(a, v),
        }
        Ok(())
    }

    /// The merged image, `None` when nothing was added.
    pub fn result(&self) -> Option<Vec<u8>> {
        self.acc.as_ref().map(encode)
    }
}

/// `a.merge(&b)` for `b` a checked image, without decoding it into a
/// sketch (a map and a String per value): what the crate's merge does —
/// each of b's values added with its count, then b's offset and total
/// weight added — with b's values in image order. The crate adds only
/// through a sketch, so what b's counts do not account for (total weight
/// − Σ counts, at least b's offset: checked by `parse`) comes as a sketch
/// holding no value, that weight and b's offset.
fn merge_view(a: &mut Sketch, b: &View) {
    let mut counted = 0;
    for &(value, c) in &b.items {
        a.update_with_count_ref(value, c);
        counted += c;
    }
    let rest = b.total_weight - counted;
    if rest > 0 {
        let mut img = vec![
            PRE_LONGS_FULL,
            SERIAL_VERSION,
            FAMILY,
            b.lg_max,
            MIN_LG_MAX,
            0,
            0,
            0,
        ];
        img.extend_from_slice(&[0; 8]);
        img.extend_from_slice(&rest.to_le_bytes());
        img.extend_from_slice(&b.offset.to_le_bytes());
        a.merge(&Sketch::deserialize(&img).expect("offset ≤ rest: a valid image"));
    }
}
