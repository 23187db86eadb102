//! Training speed of the Drain engine on Loghub-2k lines.
//!

//!
//! Loads the Content column of every `<System>/<System>_2k.log_structured.csv`
//! (20k lines for the 10 systems), then measures with the default config:
//! * cold: a fresh model trained on the 20k lines, repeated N times;
//! * warm: one model trained once on the 20k lines, then trained on them
//!   N more times;
//! * match: `match_line` on the 20k lines N times on the warm model.
use otelcat::drain::engine::{Drain, DrainConfig};
use std::time::Instant;

/// CPU time of this thread in ns (Linux), to be robust to other load on the
/// machine; falls back to wall time elsewhere.
struct Clock(Instant, Option<u64>);
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
impl Clock {
    fn start() -> Self {
        Clock(Instant::now(), cpu_ns())
    }
    /// (wall seconds, CPU seconds)
    fn secs(&self) -> (f64, f64) {
        let wall = self.0.elapsed().as_secs_f64();
        let cpu = match (self.1, cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 / 1e9,
            _ => wall,
        };
        (wall, cpu)
    }
}

fn report(what: &str, lines: f64, c: &Clock, extra: &str) {
    let (wall, cpu) = c.secs();
    println!(
        "{what}: {:>6.2} M lines/s per CPU second ({:.2} M lines/s wall){extra}",
        lines / cpu / 1e6,
        lines / wall / 1e6
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = "/work/shared/data/loghub-2k".to_string();
    let mut rounds = 50usize;
    let mut cfg = DrainConfig::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().unwrap().parse().unwrap(),
            "--config" => cfg = DrainConfig::from_json(&args.next().unwrap()).unwrap(),
            _ => dir = a,
        }
    }
    let mut systems: Vec<_> = std::fs::read_dir(&dir)
        .expect("data dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    systems.sort();
    let mut lines = Vec::new();
    for sys in &systems {
        let path = format!("{dir}/{sys}/{sys}_2k.log_structured.csv");
        let Ok(mut rdr) = csv::Reader::from_path(&path) else {
            continue;
        };
        let ci = rdr
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "Content")
            .unwrap();
        for r in rdr.records() {
            lines.push(r.unwrap()[ci].to_string());
        }
    }
    let bytes: usize = lines.iter().map(|l| l.len()).sum();
    println!(
        "{} lines, {:.1} bytes/line, {rounds} rounds",
        lines.len(),
        bytes as f64 / lines.len() as f64
    );

    let t = Clock::start();
    let mut clusters = 0;
    for _ in 0..rounds {
        let mut d = Drain::new(cfg.clone());
        for l in &lines {
            std::hint::black_box(d.train(l));
        }
        clusters = d.len();
    }
    let n = (lines.len() * rounds) as f64;
    report("cold  train", n, &t, &format!(", {clusters} clusters"));

    let mut d = Drain::new(cfg.clone());
    for l in &lines {
        d.train(l);
    }
    let t = Clock::start();
    for _ in 0..rounds {
        for l in &lines {
            std::hint::black_box(d.train(l));
        }
    }
    report("warm  train", n, &t, &format!(", {} clusters", d.len()));

    let t = Clock::start();
    for _ in 0..rounds {
        for l in &lines {
            std::hint::black_box(d.match_line(l));
        }
    }
    report("match_line ", n, &t, "");
    println!(
        "memory     : {} bytes, {} tree nodes",
        d.approx_bytes(),
        d.tree_nodes()
    );
}
