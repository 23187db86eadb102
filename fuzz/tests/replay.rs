//! Replays every kept crash input (../tests/fuzz-crashes/<target>/) and
//! every corpus file (corpus/<target>/) through the target bodies, on
//! stable Rust and without libFuzzer: `make test` runs it
//! (`cargo test --manifest-path fuzz/Cargo.toml --no-default-features`).
//! Every input must pass: each crash input is a regression test of what it
//! found.

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

/// Runs every input under `dir`/<target>/; returns how many, panics naming
/// every one that fails.
fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let (mut n, mut failed) = (0, Vec::new());
    for &(name, body) in otelcat_fuzz::TARGETS {
        for path in inputs(&root.join(name)) {
            let data = std::fs::read(&path).expect("input");
            if std::panic::catch_unwind(|| body(&data)).is_err() {
                failed.push(format!(
                    "{name}/{}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
            n += 1;
        }
    }
    assert!(
        failed.is_empty(),
        "of {n} inputs under {}, these fail (the panic of each is above):\n{}",
        root.display(),
        failed.join("\n")
    );
    n
}

/// Every crash input fuzzing ever found still passes its target's checks.
#[test]
fn crash_inputs() {
    let n = replay("../tests/fuzz-crashes");
    assert!(n > 0, "no crash inputs");
    eprintln!("{n} crash inputs replayed");
}

/// The committed corpora pass too (they seed `make fuzz`).
#[test]
fn corpora() {
    let n = replay("corpus");
    assert!(n > 0, "no corpus");
    eprintln!("{n} corpus inputs replayed");
}
