//! Loghub-2k accuracy harness for the Drain engine.
//!
//! usage: loghub [DATA_DIR] [--corrected DIR] [--config JSON] [--out DIR] [--only System] [--diff]
//!
//! For each `<System>/<System>_2k.log_structured.csv` under DATA_DIR
//! (default /work/shared/data/loghub-2k): one model with the given (default)
//! configuration, train on every Content in order, then `match_line` each
//! line and take its cluster's template. Prints GA / PA / FGA as
//! /work/shared/tools/loghub_eval.py computes them, and GA\* / PA\* against
//! the corrected truth `<System>/<System>_2k.log_structured_corrected.csv`
//! under the --corrected directory (default: DATA_DIR with `-corrected`
//! appended) where there is one. With --out it writes one predictions file
//! per system (`<System>.txt`) for that script.
use otelcat::drain::engine::{Drain, DrainConfig};
use std::collections::{HashMap, HashSet};

fn norm(t: &str) -> String {
    // Mirrors loghub_eval.py: any <...>, {...} or * is a wildcard; runs fold.
    let b = t.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let close = match c {
            b'<' => Some(b'>'),
            b'{' => Some(b'}'),
            _ => None,
        };
        if let Some(cl) = close {
            let mut j = i + 1;
            while j < b.len()
                && b[j] != cl
                && b[j] != b'<'
                && b[j] != b'>'
                && b[j] != b'{'
                && b[j] != b'}'
                && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            if j < b.len() && b[j] == cl {
                out.push_str("<*>");
                i = j + 1;
                continue;
            }
        }
        if c == b'*' {
            out.push_str("<*>");
            i += 1;
            continue;
        }
        let ch = t[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    while out.contains("<*><*>") {
        out = out.replace("<*><*>", "<*>");
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// (GA, PA, FGA, truth groups, predicted groups)
fn score(truth: &[String], pred: &[String]) -> (f64, f64, f64, usize, usize) {
    let n = truth.len();
    let mut gt: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut pr: HashMap<&str, HashSet<usize>> = HashMap::new();
    for i in 0..n {
        gt.entry(&truth[i]).or_default().push(i);
        pr.entry(&pred[i]).or_default().insert(i);
    }
    let (mut correct, mut cg) = (0, 0);
    for members in gt.values() {
        let p = &pr[pred[members[0]].as_str()];
        if p.len() == members.len() && members.iter().all(|i| p.contains(i)) {
            correct += members.len();
            cg += 1;
        }
    }
    let ga = correct as f64 / n as f64;
    let pa = (0..n)
        .filter(|&i| norm(&truth[i]) == norm(&pred[i]))
        .count() as f64
        / n as f64;
    let prec = cg as f64 / pr.len() as f64;
    let rec = cg as f64 / gt.len() as f64;
    let fga = if prec + rec == 0.0 {
        0.0
    } else {
        2.0 * prec * rec / (prec + rec)
    };
    (ga, pa, fga, gt.len(), pr.len())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = "/work/shared/data/loghub-2k".to_string();
    let mut cfg = DrainConfig::default();
    let mut out: Option<String> = None;
    let mut only: Option<String> = None;
    let mut diff = false;
    let mut corrected: Option<String> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--corrected" => corrected = args.next(),
            "--config" => cfg = DrainConfig::from_json(&args.next().unwrap()).unwrap(),
            "--out" => out = args.next(),
            "--only" => only = args.next(),
            "--diff" => diff = true,
            _ => dir = a,
        }
    }
    let mut systems: Vec<String> = std::fs::read_dir(&dir)
        .expect("data dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    systems.sort();
    let corrected = corrected.unwrap_or_else(|| format!("{}-corrected", dir.trim_end_matches('/')));
    let (mut sga, mut spa, mut sfga, mut k) = (0.0, 0.0, 0.0, 0);
    let (mut cga, mut cpa, mut ck) = (0.0, 0.0, 0);
    for sys in &systems {
        if only.as_ref().is_some_and(|o| o != sys) {
            continue;
        }
        let path = format!("{dir}/{sys}/{sys}_2k.log_structured.csv");
        let Ok(mut rdr) = csv::Reader::from_path(&path) else {
            continue;
        };
        let hdr = rdr.headers().unwrap().clone();
        let ci = hdr.iter().position(|h| h == "Content").unwrap();
        let ti = hdr.iter().position(|h| h == "EventTemplate").unwrap();
        let (mut lines, mut truth) = (Vec::new(), Vec::new());
        for r in rdr.records() {
            let r = r.unwrap();
            lines.push(r[ci].to_string());
            truth.push(r[ti].to_string());
        }
        let mut d = Drain::new(cfg.clone());
        // cluster of each line's training, following later merges
        let mut trained = Vec::with_capacity(lines.len());
        let mut alias: HashMap<u64, u64> = HashMap::new();
        for l in &lines {
            let t = d.train(l);
            for m in &t.merged {
                alias.insert(*m, t.cluster_id);
            }
            trained.push(t.cluster_id);
        }
        let moved = lines
            .iter()
            .zip(&trained)
            .filter(|(l, id)| {
                let mut id = **id;
                while let Some(&to) = alias.get(&id) {
                    id = to;
                }
                d.match_line(l) != Some(id)
            })
            .count();
        let pred: Vec<String> = lines
            .iter()
            .map(|l| match d.match_line(l) {
                Some(id) => d.template(id).unwrap().to_string(),
                None => "NONE".to_string(),
            })
            .collect();
        let (ga, pa, fga, ng, np) = score(&truth, &pred);
        let star = match read_truth(&format!(
            "{corrected}/{sys}/{sys}_2k.log_structured_corrected.csv"
        )) {
            Some((l2, t2)) if l2.len() == lines.len() => {
                let (g, p, ..) = score(&t2, &pred);
                cga += g;
                cpa += p;
                ck += 1;
                format!(" GA*={g:.3} PA*={p:.3}")
            }
            Some(_) => " (corrected truth has another line count)".to_string(),
            None => String::new(),
        };
        println!(
            "{sys:<10} GA={ga:.3} PA={pa:.3} FGA={fga:.3}{star} groups_truth={ng} groups_pred={np} \
             match_differs={moved}"
        );
        if diff {
            print_diff(&lines, &truth, &pred);
        }
        if let Some(o) = &out {
            std::fs::create_dir_all(o).unwrap();
            std::fs::write(format!("{o}/{sys}.txt"), pred.join("\n") + "\n").unwrap();
        }
        sga += ga;
        spa += pa;
        sfga += fga;
        k += 1;
    }
    let k = k as f64;
    println!(
        "{:<10} GA={:.3} PA={:.3} FGA={:.3}",
        "AVERAGE",
        sga / k,
        spa / k,
        sfga / k
    );
    if ck > 0 {
        let ck = ck as f64;
        println!(
            "{:<10} GA*={:.3} PA*={:.3} ({ck} systems)",
            "AVERAGE*",
            cga / ck,
            cpa / ck
        );
    }
}

/// Contents and templates of a structured CSV, if it can be read.
fn read_truth(path: &str) -> Option<(Vec<String>, Vec<String>)> {
    let mut rdr = csv::Reader::from_path(path).ok()?;
    let hdr = rdr.headers().ok()?.clone();
    let ci = hdr.iter().position(|h| h == "Content")?;
    let ti = hdr.iter().position(|h| h == "EventTemplate")?;
    let (mut lines, mut truth) = (Vec::new(), Vec::new());
    for r in rdr.records() {
        let r = r.ok()?;
        lines.push(r[ci].to_string());
        truth.push(r[ti].to_string());
    }
    Some((lines, truth))
}

/// Prints, for every truth group not predicted exactly, how it was split or
/// what it was merged with.
fn print_diff(lines: &[String], truth: &[String], pred: &[String]) {
    let mut gt: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut pr: HashMap<&str, Vec<usize>> = HashMap::new();
    for i in 0..lines.len() {
        gt.entry(&truth[i]).or_default().push(i);
        pr.entry(&pred[i]).or_default().push(i);
    }
    let mut keys: Vec<&&str> = gt.keys().collect();
    keys.sort();
    for g in keys {
        let members = &gt[*g];
        let mut preds: HashMap<&str, usize> = HashMap::new();
        for &i in members {
            *preds.entry(&pred[i]).or_default() += 1;
        }
        let ok = preds.len() == 1 && pr[pred[members[0]].as_str()].len() == members.len();
        if ok {
            continue;
        }
        println!("  TRUTH [{}] {}", members.len(), g);
        for (p, cnt) in &preds {
            let others: HashSet<&str> = pr[p]
                .iter()
                .map(|&i| truth[i].as_str())
                .filter(|t| t != g)
                .collect();
            println!(
                "     -> [{cnt}] {p}   (+{} other truth groups)",
                others.len()
            );
            let ex = members.iter().find(|&&i| pred[i] == *p).unwrap();
            println!("        e.g. {}", lines[*ex]);
        }
    }
}
