//! Target `hll`: a sketch image through every reader and writer.
//!
//! Input: one mode byte, then the image. Mode bit 0 set: the fields an
//! image's registers determine (KxQ sums, registers at cur_min, exception
//! count) are made consistent first, so that mutations of registers,
//! exceptions and cur_min get past those checks (otherwise nearly every
//! mutated dense image is refused for its sums).
//!
//! Property (docs/FORMAT.md, "Accepted images"): in Rust,
//! `otelcat::hll::property::property` (the checks, the decoder and the
//! in-place merge agree; an accepted image gives finite estimates within
//! bounds, and every image written from it is accepted and counts the
//! same); then in SQL, every `hll_*` function either refuses the image
//! (naming itself and the argument) or reads it and writes images that
//! read back, alone and merged with valid sketches in both orders.

use std::cell::RefCell;

use otelcat::hll::{check, property};
use rusqlite::types::Value;

use crate::sql;

thread_local! {
    static DB: RefCell<Option<rusqlite::Connection>> = const { RefCell::new(None) };
}

/// (SQL with ?1 the image and ?2 a valid sketch, function, position of ?1)
const CALLS: &[(&str, &str, usize)] = &[
    ("SELECT hll_count(?1)", "hll_count", 1),
    ("SELECT hll_info(?1)", "hll_info", 1),
    ("SELECT hll_add(?1, 'x')", "hll_add", 1),
    ("SELECT hll_add(?1, NULL)", "hll_add", 1),
    ("SELECT hll_merge(?1, NULL)", "hll_merge", 1),
    ("SELECT hll_merge(NULL, ?1)", "hll_merge", 2),
    ("SELECT hll_merge(?1, ?2)", "hll_merge", 1),
    ("SELECT hll_merge(?2, ?1)", "hll_merge", 2),
    ("SELECT hll_merge(?1, ?1)", "hll_merge", 1),
    (
        "SELECT hll_merge(s) FROM (SELECT ?2 AS s UNION ALL SELECT ?1)",
        "hll_merge",
        1,
    ),
];

pub fn hll(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut img = rest.to_vec();
    if mode & 1 == 1 {
        property::repair(&mut img);
    }
    property::property(&img);
    let accepted = check::check(&img).is_ok();
    DB.with(|db| {
        let mut db = db.borrow_mut();
        let db = db.get_or_insert_with(sql::connect);
        let refs = property::references();
        for valid in [&refs[1], &refs[3]] {
            for &(q, func, pos) in CALLS {
                let got = if q.contains("?2") {
                    db.query_row(q, (&img, valid), |r| r.get::<_, Value>(0))
                } else {
                    db.query_row(q, [&img], |r| r.get::<_, Value>(0))
                };
                match (accepted, got) {
                    (true, Ok(Value::Blob(out))) => {
                        check::check(&out)
                            .unwrap_or_else(|e| panic!("{q}: wrote an image it refuses: {e}"));
                        if q == "SELECT hll_add(?1, NULL)" {
                            assert_eq!(out, img, "{q}: not the image itself");
                        }
                        let n: i64 = db
                            .query_row("SELECT hll_count(?1)", [&out], |r| r.get(0))
                            .unwrap_or_else(|e| panic!("{q}: its result is not read: {e}"));
                        assert!(n >= 0, "{q}: hll_count {n}");
                    }
                    (true, Ok(Value::Integer(n))) => assert!(n >= 0, "{q}: {n}"),
                    (true, Ok(Value::Text(t))) => {
                        let v: serde_json::Value =
                            serde_json::from_str(&t).expect("hll_info is JSON");
                        assert!(
                            v["estimate"].as_f64().is_some_and(f64::is_finite),
                            "{q}: {t}"
                        );
                    }
                    (true, Ok(v)) => panic!("{q}: unexpected {v:?}"),
                    (true, Err(e)) => panic!("{q}: refused an accepted image: {e}"),
                    (false, Ok(v)) => panic!("{q}: read a refused image: {v:?}"),
                    (false, Err(e)) => {
                        sql::assert_clear(q, &e);
                        let msg = e.to_string();
                        let want = format!("{func}: argument {pos} is not an HLL sketch (");
                        assert!(msg.starts_with(&want), "{q}: {msg}");
                    }
                }
            }
        }
    });
}
