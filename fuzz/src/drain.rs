//! Target `drain`: a Drain model rebuilt from its stored rows behaves as
//! the model that wrote them (docs/FORMAT.md, section 4).
//!
//! Input: one byte choosing a configuration (small limits make evictions
//! and merges common), then lines separated by `\n` (invalid UTF-8 read
//! lossily). The first half trains model A; A's records go through JSON as
//! a database row would and rebuild model B with the same configuration.
//! Then every line (trained or not) matches the same cluster with the same
//! template in A and B, and training the second half on both gives the
//! same results, line by line, and the same records at the end.
//!
//! Written against the engine's public API (`Drain::new`, `train`,
//! `records`, `from_records`, `match_line`, `template`).

use otelcat::drain::engine::{ClusterRecord, Drain, DrainConfig};

const CONFIGS: &[&str] = &[
    "{}",
    r#"{"max_clusters":4}"#,
    r#"{"max_clusters":20,"max_leaf_clusters":2,"max_children":2}"#,
    r#"{"depth":3,"sim_th":0.9,"min_distinct":2}"#,
    r#"{"depth":7,"sim_th":0.1}"#,
    r#"{"extra_delimiters":"/;=:","max_example_bytes":7,"max_tokens":5}"#,
    r##"{"max_line_bytes":12,"max_tokens":3,"param_str":"#"}"##,
    r#"{"min_distinct":1000,"max_clusters":50}"#,
];

fn same_match(a: &Drain, b: &Drain, line: &str) {
    let (ma, mb) = (a.match_line(line), b.match_line(line));
    assert_eq!(ma, mb, "match_line({line:?})");
    if let Some(id) = ma {
        assert_eq!(a.template(id), b.template(id), "template of {id}");
    }
}

pub fn drain(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let cfg = DrainConfig::from_json(CONFIGS[sel as usize % CONFIGS.len()]).expect("config");
    let text = String::from_utf8_lossy(rest);
    let lines: Vec<&str> = text.split('\n').collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let mut a = Drain::new(cfg.clone());
    for l in first {
        let t = a.train(l);
        assert!(
            a.template(t.cluster_id).is_some(),
            "trained into a cluster that is not there"
        );
    }
    let json = serde_json::to_string(&a.records()).expect("records to JSON");
    let recs: Vec<ClusterRecord> = serde_json::from_str(&json).expect("records from JSON");
    let mut b = Drain::from_records(cfg, recs)
        .unwrap_or_else(|e| panic!("a model's own records are refused: {e}"));
    assert_eq!(a.len(), b.len());
    for l in &lines {
        same_match(&a, &b, l);
    }
    for l in second {
        assert_eq!(a.train(l), b.train(l), "train({l:?}) after the reload");
    }
    assert_eq!(a.records(), b.records(), "records after training both");
    for l in &lines {
        same_match(&a, &b, l);
    }
}
