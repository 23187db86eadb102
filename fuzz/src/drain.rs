//! Target `drain`: a Drain model rebuilt from its stored rows behaves as
//! the model that wrote them (docs/FORMAT.md, section 4).
//!
//! Input: one byte (bits 0–6 choose a configuration: small limits make
//! evictions and merges common, some have masks off or a mask of their
//! own; bit 7 adds the SQL half below, which costs more), then
//! lines separated by `\n` (invalid UTF-8 read lossily). A line of the
//! first half that starts with `#seed ` seeds the rest as a user template
//! (`drain_seed`) instead of being trained.
//!
//! Twice (the SQL half when bit 7 is set), with the same property: every line (trained or not) matches the
//! same cluster with the same template and parameters in the model that
//! trained the first half and in the model rebuilt from its records, and
//! training the second half on both gives the same results, line by line,
//! and the same clusters at the end.
//!
//! - In the engine (`Drain::train`, `seed`, `records`, `from_records`,
//!   `match_line`, `params`): A's records go through JSON and rebuild B.
//! - In SQL, as users store models: one in-memory database trains the
//!   first half in a transaction (`drain_seed` of its `#seed ` lines
//!   first, then `drain_template` of the others), a copy
//!   of its file opened on another connection reads the model back from
//!   `otelcat_drain_*` rows (`src/drain/store/load.rs`), and both answer
//!   `drain_match`, `drain_params`, `drain_template` and `drain_clusters`
//!   the same.

use otelcat::drain::engine::{ClusterRecord, Drain, DrainConfig};
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::sql::{self, assert_clear};

const CONFIGS: &[&str] = &[
    "{}",
    r#"{"max_clusters":4}"#,
    r#"{"max_clusters":20,"max_leaf_clusters":2,"max_children":2}"#,
    r#"{"depth":3,"sim_th":0.9,"min_distinct":2}"#,
    r#"{"depth":7,"sim_th":0.1}"#,
    r#"{"extra_delimiters":"/;=:","max_example_bytes":7,"max_tokens":5}"#,
    r##"{"max_line_bytes":12,"max_tokens":3,"param_str":"#"}"##,
    r#"{"min_distinct":1000,"max_clusters":50}"#,
    r#"{"masks":[],"max_clusters":30}"#,
    r#"{"masks":["default",{"name":"K","regex":"k[0-9]+"}],"max_leaf_clusters":3}"#,
];

/// The partition the SQL half trains.
const PART: &str = "fz";

fn same_match(a: &Drain, b: &Drain, line: &str) {
    let (ma, mb) = (a.match_line(line), b.match_line(line));
    assert_eq!(ma, mb, "match_line({line:?})");
    if let Some(id) = ma {
        assert_eq!(a.template(id), b.template(id), "template of {id}");
    }
    assert_eq!(a.params(line), b.params(line), "params({line:?})");
}

pub fn drain(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let cfg_json = CONFIGS[(sel & 0x7f) as usize % CONFIGS.len()];
    let text = String::from_utf8_lossy(rest);
    let lines: Vec<&str> = text.split('\n').collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    engine(cfg_json, &lines, first, second);
    if sel & 0x80 != 0 {
        in_sql(cfg_json, &lines, first, second);
    }
}

fn engine(cfg_json: &str, lines: &[&str], first: &[&str], second: &[&str]) {
    let cfg = DrainConfig::from_json(cfg_json).expect("config");
    let mut a = Drain::new(cfg.clone());
    for l in first {
        let t = match l.strip_prefix("#seed ") {
            Some(template) => match a.seed(template) {
                Ok(t) => t,
                Err(e) => {
                    assert!(!e.is_empty(), "seed({template:?}): an empty error");
                    continue;
                }
            },
            None => a.train(l),
        };
        assert!(
            a.template(t.cluster_id).is_some(),
            "trained into a cluster that is not there"
        );
    }
    let json = serde_json::to_string(&a.records()).expect("records to JSON");
    let recs: Vec<ClusterRecord> = serde_json::from_str(&json).expect("records from JSON");
    let mut b = Drain::from_records(cfg, recs)
        .unwrap_or_else(|e| panic!("a model's own records are refused: {e}"));
    // As the store does: ids continue after the last one given, evicted too.
    b.continue_after(a.last_id());
    assert_eq!(a.len(), b.len());
    for l in lines {
        same_match(&a, &b, l);
    }
    for l in second {
        assert_eq!(a.train(l), b.train(l), "train({l:?}) after the reload");
    }
    assert_eq!(a.records(), b.records(), "records after training both");
    for l in lines {
        same_match(&a, &b, l);
    }
}

/// One value of `sql` (?1 the text, ?2 the partition); an error must be
/// clear and is returned as its text.
fn one(db: &Connection, sql: &str, text: &str) -> Result<Value, String> {
    db.query_row(sql, (text, PART), |r| r.get::<_, Value>(0))
        .map_err(|e| {
            assert_clear(sql, &e);
            e.to_string()
        })
}

/// The rows of `sql` (?1 the lines as a JSON array, ?2 the partition): one
/// statement for all the lines (a statement per line makes the target
/// several times slower).
fn rows(db: &Connection, sql: &str, lines: &str) -> Vec<Vec<Value>> {
    let mut st = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = st.column_count();
    st.query_map((lines, PART), |r| {
        (0..n).map(|i| r.get::<_, Value>(i)).collect()
    })
    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

const CLUSTERS: &str = "SELECT cluster_id, template, size, example, last_used \
    FROM drain_clusters(?2) WHERE ?1 IS NOT NULL ORDER BY cluster_id";
const MATCH: &str = "SELECT drain_match(value, ?2), drain_params(value, ?2) FROM json_each(?1)";
// (json_each gives the lines in order: they are trained in order)
const TRAIN: &str = "SELECT drain_template(value, ?2) FROM json_each(?1)";

fn in_sql(cfg_json: &str, lines: &[&str], first: &[&str], second: &[&str]) {
    let json = |l: &[&str]| serde_json::to_string(l).expect("lines as JSON");
    let (all, trained) = (
        json(lines),
        json(
            &first
                .iter()
                .copied()
                .filter(|l| !l.starts_with("#seed "))
                .collect::<Vec<_>>(),
        ),
    );
    let a = sql::connect();
    one(&a, "SELECT drain_configure(?2, ?1)", cfg_json).expect("drain_configure");
    a.execute_batch("BEGIN").expect("BEGIN");
    for t in first.iter().filter_map(|l| l.strip_prefix("#seed ")) {
        let _ = one(&a, "SELECT drain_seed(?2, ?1)", t);
    }
    // A line is never refused (it is cut, not refused).
    rows(&a, TRAIN, &trained);
    a.execute_batch("COMMIT").expect("COMMIT");
    // A copy of the file: its connection has no model yet and reads it
    // back from the rows.
    let mut b = sql::connect();
    rusqlite::backup::Backup::new(&a, &mut b)
        .and_then(|bk| bk.run_to_completion(1 << 20, std::time::Duration::ZERO, None))
        .expect("copy of the database");
    let same = |a: &Connection, b: &Connection| {
        assert_eq!(
            rows(a, MATCH, &all),
            rows(b, MATCH, &all),
            "drain_match, drain_params"
        );
        assert_eq!(
            rows(a, CLUSTERS, ""),
            rows(b, CLUSTERS, ""),
            "drain_clusters"
        );
    };
    same(&a, &b);
    let second = json(second);
    assert_eq!(
        rows(&a, TRAIN, &second),
        rows(&b, TRAIN, &second),
        "drain_template after the reload"
    );
    same(&a, &b);
}
