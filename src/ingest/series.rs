//! The series identities of data points, which `metrics.series_sketch`
//! counts.

use crate::hll;
use crate::otlp::Attr;

/// The series identities of data points (what `series_sketch` counts): the
/// (key, text) pairs of the resource's and the point's attributes, sorted
/// by key then text, each written `key 0x1f text 0x1e`.
///
/// The resource's pairs are rendered, sorted and written once per resource
/// block; each point's pairs are then merged into them, which writes the
/// bytes a sort of all the pairs writes (equal pairs are equal bytes).
///
/// A resource part of [`LONG_RESOURCE`] bytes or more (thousands of
/// attributes, or huge values) would make every point cost its length: its
/// series identity is instead the resource part, the byte 0x1d, then the
/// point's sorted pairs (docs/FORMAT.md), and the hash of the resource
/// part is computed once per block, so a point costs its own pairs only.
#[derive(Default)]
pub(super) struct Series<'e> {
    /// Whether `res` holds the block's resource.
    ready: bool,
    /// The resource's part: its sorted pairs, written one after the other.
    res: String,
    /// Each pair of `res`: where it starts, where its key ends (its text
    /// starts after the 0x1f there) and where its text ends (at its 0x1e).
    res_pairs: Vec<(usize, usize, usize)>,
    /// For a long resource part: the hash state after it and the 0x1d.
    res_hash: Option<hll::Murmur3>,
    /// Scratch: the pairs being sorted, (key, range of the text in `texts`).
    pairs: Vec<(&'e str, usize, usize)>,
    texts: String,
}

/// From this many bytes on, a resource part is hashed once per block (see
/// [`Series`]); below it, the bytes of the identity are the sorted pairs
/// of resource and point together.
pub const LONG_RESOURCE: usize = 4096;

/// A point's series identity, as [`Series::identity`] gives it.
pub(super) enum SeriesId {
    /// Its bytes are in the caller's buffer.
    Bytes,
    /// The coupon of its bytes (a long resource part).
    Coupon(u32),
}

impl<'e> Series<'e> {
    /// A new resource block.
    pub(super) fn reset(&mut self) {
        self.ready = false;
    }

    /// Renders `attrs` into `texts` and sorts them, as pairs, into `pairs`.
    #[inline]
    fn sort<'a: 'e>(&mut self, attrs: impl Iterator<Item = &'e Attr<'a>>) {
        self.pairs.clear();
        self.texts.clear();
        for a in attrs {
            let from = self.texts.len();
            a.value.render(&mut self.texts);
            self.pairs.push((a.key.as_ref(), from, self.texts.len()));
        }
        let texts = &self.texts;
        self.pairs
            .sort_by(|x, y| (x.0, &texts[x.1..x.2]).cmp(&(y.0, &texts[y.1..y.2])));
    }

    /// Writes the resource's part.
    fn prepare<'a: 'e>(&mut self, resource: &[&'e Attr<'a>]) {
        self.sort(resource.iter().copied());
        self.res.clear();
        self.res_pairs.clear();
        for &(k, from, to) in &self.pairs {
            let start = self.res.len();
            self.res.push_str(k);
            let key_end = self.res.len();
            self.res.push('\u{1f}');
            self.res.push_str(&self.texts[from..to]);
            self.res_pairs.push((start, key_end, self.res.len()));
            self.res.push('\u{1e}');
        }
        self.res_hash = (self.res.len() >= LONG_RESOURCE).then(|| {
            let mut h = hll::Murmur3::new();
            h.update(self.res.as_bytes()).update(&[0x1d]);
            h
        });
        self.ready = true;
    }

    /// Where resource pair `i` starts (the end of `res` past the last).
    #[inline]
    fn res_start(&self, i: usize) -> usize {
        self.res_pairs.get(i).map_or(self.res.len(), |p| p.0)
    }

    /// The series identity of a data point under `resource` whose
    /// attributes are `attrs`: its bytes written into `buf`, or its coupon.
    pub(super) fn identity<'a: 'e>(
        &mut self,
        resource: &[&'e Attr<'a>],
        attrs: impl Iterator<Item = &'e Attr<'a>>,
        buf: &mut String,
    ) -> SeriesId {
        if !self.ready {
            self.prepare(resource);
        }
        self.sort(attrs);
        buf.clear();
        if let Some(h) = &self.res_hash {
            for &(k, from, to) in &self.pairs {
                buf.push_str(k);
                buf.push('\u{1f}');
                buf.push_str(&self.texts[from..to]);
                buf.push('\u{1e}');
            }
            return SeriesId::Coupon(h.clone().update(buf.as_bytes()).coupon());
        }
        let mut at = 0;
        for &(k, from, to) in &self.pairs {
            let v = &self.texts[from..to];
            // The resource pairs up to this one, in one copy.
            let res = &self.res;
            // (A binary search written out: `partition_point` with a
            // closure is not always inlined here, a call per step.)
            let (mut lo, mut hi) = (at, self.res_pairs.len());
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let (start, key_end, text_end) = self.res_pairs[mid];
                if (&res[start..key_end], &res[key_end + 1..text_end]) <= (k, v) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let upto = lo;
            buf.push_str(&res[self.res_start(at)..self.res_start(upto)]);
            buf.push_str(k);
            buf.push('\u{1f}');
            buf.push_str(v);
            buf.push('\u{1e}');
            at = upto;
        }
        buf.push_str(&self.res[self.res_start(at)..]);
        SeriesId::Bytes
    }
}

#[cfg(test)]
mod tests {
    use super::{Series, SeriesId};
    use crate::hll;
    use crate::otlp::{AnyValue, Attr};
    use crate::testutil::XorShift;
    use std::borrow::Cow;

    /// The series identity as it was written before resources were
    /// prepared once per block: all pairs rendered and sorted per point.
    fn identity_by_sorting_all(resource: &[&Attr<'_>], point: &[Attr<'_>]) -> String {
        let mut pairs = Vec::new();
        let mut vals = String::new();
        for a in resource.iter().copied().chain(point) {
            let from = vals.len();
            a.value.render(&mut vals);
            pairs.push((a.key.as_ref(), from, vals.len()));
        }
        pairs.sort_by(|x, y| (x.0, &vals[x.1..x.2]).cmp(&(y.0, &vals[y.1..y.2])));
        let mut out = String::new();
        for &(k, from, to) in &pairs {
            out.push_str(k);
            out.push('\u{1f}');
            out.push_str(&vals[from..to]);
            out.push('\u{1e}');
        }
        out
    }

    fn random_value(rnd: &mut XorShift) -> AnyValue<'static> {
        let s = |v: &'static str| AnyValue::Str(Cow::Borrowed(v));
        match rnd.below(14) {
            0 => s(""),
            1 => s("a"),
            2 => s("a\u{1f}"),
            3 => s("ab"),
            4 => s("b\u{1e}x"),
            5 => AnyValue::Int(rnd.below(3) as i64 - 1),
            6 => AnyValue::Bool(rnd.below(2) == 0),
            7 => AnyValue::Double([1.5, f64::NAN, -0.0][rnd.below(3) as usize]),
            8 => AnyValue::Bytes(Cow::Borrowed(&[1, 2])),
            9 => AnyValue::Array(vec![s("x"), AnyValue::Int(1)]),
            10 => AnyValue::KvList(vec![Attr {
                key: Cow::Borrowed("k"),
                value: s("v"),
            }]),
            11 => AnyValue::Empty,
            12 => AnyValue::Str(Cow::Owned(format!("v{}", rnd.below(4)))),
            _ => AnyValue::Str(Cow::Owned("long".repeat(rnd.below(3) as usize * 700))),
        }
    }

    fn random_attrs(rnd: &mut XorShift, max: u64) -> Vec<Attr<'static>> {
        const KEYS: [&str; 8] = [
            "",
            "a",
            "a\u{1f}",
            "ab",
            "b",
            "service.name",
            "k\u{1e}",
            "zz",
        ];
        (0..rnd.below(max + 1))
            .map(|_| Attr {
                key: Cow::Borrowed(KEYS[rnd.below(KEYS.len() as u64) as usize]),
                value: random_value(rnd),
            })
            .collect()
    }

    /// The documented rule, written plainly: all pairs sorted together;
    /// for a resource part of `LONG_RESOURCE` bytes or more, the resource
    /// part, 0x1d, then the point's pairs sorted.
    fn documented_identity(resource: &[&Attr<'_>], point: &[Attr<'_>]) -> Vec<u8> {
        let res = identity_by_sorting_all(resource, &[]);
        if res.len() >= super::LONG_RESOURCE {
            let mut v = res.into_bytes();
            v.push(0x1d);
            v.extend_from_slice(identity_by_sorting_all(&[], point).as_bytes());
            v
        } else {
            identity_by_sorting_all(resource, point).into_bytes()
        }
    }

    /// Per point, the identity is the documented one, and the sketches'
    /// images are those of hashing the documented bytes.
    #[test]
    fn series_identities_follow_the_documented_rule() {
        let mut rnd = XorShift::new(0x5e41e5);
        let (mut long, mut short) = (0, 0);
        for case in 0..400 {
            let resource = random_attrs(&mut rnd, 12);
            let res: Vec<&Attr<'_>> = resource.iter().collect();
            let metrics: Vec<Vec<Vec<Attr<'static>>>> = (0..1 + rnd.below(3))
                .map(|_| {
                    (0..rnd.below(12))
                        .map(|_| random_attrs(&mut rnd, 4))
                        .collect()
                })
                .collect();
            let mut series = Series::default();
            series.reset();
            let mut buf = String::new();
            for points in &metrics {
                let (mut want, mut got) = (hll::Builder::new(), hll::Builder::new());
                for p in points {
                    let doc = documented_identity(&res, p);
                    want.add_coupon(hll::coupon_of(&doc));
                    match series.identity(&res, p.iter(), &mut buf) {
                        SeriesId::Bytes => {
                            short += 1;
                            assert_eq!(buf.as_bytes(), doc, "case {case}");
                            got.add(buf.as_bytes());
                        }
                        SeriesId::Coupon(c) => {
                            long += 1;
                            assert_eq!(c, hll::coupon_of(&doc), "case {case}");
                            got.add_coupon(c);
                        }
                    }
                }
                assert_eq!(want.image(), got.image(), "case {case}");
            }
        }
        assert!(
            long > 50 && short > 50,
            "both rules ran ({long} long, {short} short)"
        );
    }
}
