//! Replays every kept crash input (../tests/fuzz-crashes/<target>/) and
//! every corpus file (corpus/<target>/) through the target bodies, on
//! stable Rust and without libFuzzer: `make test` runs it
//! (`cargo test --manifest-path fuzz/Cargo.toml --no-default-features`).
//! The crash inputs listed in ../tests/fuzz-crashes/OPEN (findings not
//! fixed yet) must still fail; every other input must pass.

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    v.sort();
    v
}

/// Runs every input under `dir`/<target>/; `open` names (as
/// "<target>/<file>") the inputs expected to fail still.
fn replay(dir: &str, open: &[String]) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut n, mut wrong) = (0, Vec::new());
    for &(name, body) in otelcat_fuzz::TARGETS {
        for path in inputs(&root.join(dir).join(name)) {
            let data = std::fs::read(&path).expect("input");
            let key = format!("{name}/{}", path.file_name().unwrap().to_string_lossy());
            let passed = std::panic::catch_unwind(|| body(&data)).is_ok();
            match (passed, open.contains(&key)) {
                (false, false) => wrong.push(format!("{key} fails")),
                (true, true) => wrong.push(format!(
                    "{key} passes now: its finding is fixed, delete its line in tests/fuzz-crashes/OPEN"
                )),
                _ => {}
            }
            n += 1;
        }
    }
    assert!(wrong.is_empty(), "of {n} inputs:\n{}", wrong.join("\n"));
    n
}

/// Every crash input fuzzing ever found still passes its target's checks.
#[test]
fn crash_inputs() {
    let open: Vec<String> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fuzz-crashes/OPEN"),
    )
    .unwrap_or_default()
    .lines()
    .map(str::trim)
    .filter(|l| !l.is_empty() && !l.starts_with('#'))
    .map(String::from)
    .collect();
    let n = replay("../tests/fuzz-crashes", &open);
    eprintln!(
        "{n} crash inputs replayed, {} of them open findings",
        open.len()
    );
}

/// The committed corpora pass too (they seed `make fuzz`).
#[test]
fn corpora() {
    let n = replay("corpus", &[]);
    assert!(n > 0, "no corpus");
    eprintln!("{n} corpus inputs replayed");
}
