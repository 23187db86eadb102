//! Target `topk`: a frequent-items sketch image through every reader and
//! writer.
//!
//! Input: the image. Property (docs/FORMAT.md, section 5): in Rust,
//! `otelcat::topk::check_image` (an image `parse` takes is read the same
//! by every function, re-encoded it reads back the same, and merged with
//! itself every count doubles within the bounds); then in SQL, every
//! `topk_*` function either refuses the image (naming itself and the
//! argument) or reads it, and every sketch it writes is read back by
//! `parse` and counted by `topk_info`.

use std::cell::RefCell;

use otelcat::topk;
use rusqlite::types::Value;

use crate::sql;

thread_local! {
    static DB: RefCell<Option<(rusqlite::Connection, Vec<u8>)>> = const { RefCell::new(None) };
}

/// (SQL with ?1 the image and ?2 a valid sketch, function, position of ?1)
const CALLS: &[(&str, &str, usize)] = &[
    ("SELECT topk_values(?1)", "topk_values", 1),
    ("SELECT topk_values(?1, 3)", "topk_values", 1),
    (
        "SELECT topk_values(?1, 100, 'no_false_negatives')",
        "topk_values",
        1,
    ),
    ("SELECT topk_estimate(?1, 'GET /a')", "topk_estimate", 1),
    ("SELECT topk_estimate(?1, 42)", "topk_estimate", 1),
    ("SELECT topk_info(?1)", "topk_info", 1),
    ("SELECT topk_add(?1, 'GET /a')", "topk_add", 1),
    ("SELECT topk_add(?1, 'x', 5)", "topk_add", 1),
    ("SELECT topk_merge(?1, NULL)", "topk_merge", 1),
    ("SELECT topk_merge(NULL, ?1)", "topk_merge", 2),
    ("SELECT topk_merge(?1, ?2)", "topk_merge", 1),
    ("SELECT topk_merge(?2, ?1)", "topk_merge", 2),
    ("SELECT topk_merge(?1, ?1)", "topk_merge", 1),
    (
        "SELECT topk_merge(s) FROM (SELECT ?2 AS s UNION ALL SELECT ?1)",
        "topk_merge",
        1,
    ),
];

/// A valid sketch to merge with: a few values, one of them frequent.
const VALID: &str = "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 300) \
     SELECT topk_sketch(CASE WHEN v % 2 = 0 THEN 'GET /a' ELSE 'v' || (v % 40) END, 4) FROM s";

pub fn topk(data: &[u8]) {
    topk::check_image(data);
    let accepted = topk::parse(data).is_ok();
    DB.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (db, valid) = cell.get_or_insert_with(|| {
            let db = sql::connect();
            let valid: Vec<u8> = db
                .query_row(VALID, [], |r| r.get(0))
                .expect("a valid sketch");
            (db, valid)
        });
        for &(q, func, pos) in CALLS {
            let got = if q.contains("?2") {
                db.query_row(q, (data, &*valid), |r| r.get::<_, Value>(0))
            } else {
                db.query_row(q, [data], |r| r.get::<_, Value>(0))
            };
            match (accepted, got) {
                (true, Ok(Value::Blob(out))) => {
                    topk::parse(&out)
                        .unwrap_or_else(|e| panic!("{q}: wrote an image it refuses: {e}"));
                    topk::check_image(&out);
                    let info: String = db
                        .query_row("SELECT topk_info(?1)", [&out], |r| r.get(0))
                        .unwrap_or_else(|e| panic!("{q}: its result is not read: {e}"));
                    serde_json::from_str::<serde_json::Value>(&info).expect("topk_info is JSON");
                }
                (true, Ok(Value::Integer(n))) => assert!(n >= 0, "{q}: {n}"),
                (true, Ok(Value::Text(t))) => {
                    let v: serde_json::Value =
                        serde_json::from_str(&t).unwrap_or_else(|e| panic!("{q}: {e}: {t}"));
                    assert!(v.is_array() || v.is_object(), "{q}: {t}");
                }
                (true, Ok(Value::Null)) => panic!("{q}: NULL for an accepted image"),
                (true, Ok(v)) => panic!("{q}: unexpected {v:?}"),
                (true, Err(e)) => {
                    // Only adding past the SQL integer range may fail.
                    sql::assert_clear(q, &e);
                    let msg = e.to_string();
                    assert!(
                        msg.contains("2^63 - 1") || msg.contains("2^63 − 1"),
                        "{q}: refused an accepted image: {msg}"
                    );
                }
                (false, Ok(v)) => panic!("{q}: read a refused image: {v:?}"),
                (false, Err(e)) => {
                    sql::assert_clear(q, &e);
                    let msg = e.to_string();
                    let want = format!("{func}: argument {pos} is not a frequent-items sketch (");
                    assert!(msg.starts_with(&want), "{q}: {msg}");
                }
            }
        }
    });
}
