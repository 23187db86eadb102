//! The rule of docs/FORMAT.md for frequent items images as code, for the
//! unit tests and the `topk` fuzz target.

use super::{MAX_WEIGHT, Merger, Mode, encode, parse};

/// For a fuzz target (and the property tests): checks that an image is
/// either refused by [`parse`] or read consistently by everything the SQL
/// functions do with it, and that what they write reads back. Panics when
/// it is not.
pub fn check_image(bytes: &[u8]) {
    let Ok(v) = parse(bytes) else { return };
    let all = v.rows(Mode::NoFalseNegatives, usize::MAX);
    assert_eq!(all.len(), v.items.len());
    for r in &all {
        assert!(r.lower <= r.upper && r.upper <= v.total_weight, "{r:?}");
        assert_eq!(v.estimate(r.value), r.count);
    }
    for r in v.rows(Mode::NoFalsePositives, usize::MAX) {
        assert!(r.lower > v.offset);
    }
    let _ = (
        v.rows_json(Mode::NoFalsePositives, 10),
        v.info_json(bytes.len()),
    );
    let s = v
        .to_sketch(bytes)
        .unwrap_or_else(|e| panic!("parse took the image, the crate refused it: {e}"));
    assert_eq!(s.total_weight(), v.total_weight);
    assert_eq!(s.maximum_error(), v.offset);
    assert_eq!(s.num_active_items(), v.items.len());
    assert_eq!(s.lg_max_map_size(), v.lg_max);
    let again = encode(&s);
    let w = parse(&again).unwrap_or_else(|e| panic!("re-encoded image refused: {e}"));
    assert_eq!(w.rows(Mode::NoFalseNegatives, usize::MAX), all);
    assert_eq!((w.total_weight, w.offset), (v.total_weight, v.offset));
    // Merged with itself (when the doubled weight is a SQL integer): every
    // count doubles, within the bounds, and the image reads back.
    if v.total_weight <= MAX_WEIGHT / 2 {
        let mut m = Merger::default();
        m.add(&v, bytes).expect("weight checked");
        m.add(&v, bytes).expect("weight checked");
        let img = m.result().expect("two inputs");
        let d = parse(&img).unwrap_or_else(|e| panic!("merged image refused: {e}"));
        assert_eq!(d.total_weight, 2 * v.total_weight);
        for (value, c) in &v.items {
            let r = d.rows(Mode::NoFalseNegatives, usize::MAX);
            if let Some(r) = r.iter().find(|r| r.value == *value) {
                assert!(r.lower <= 2 * (c + v.offset) && 2 * c <= r.upper, "{r:?}");
            } else {
                assert!(2 * c <= d.offset);
            }
        }
    }
}
