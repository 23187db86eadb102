//! Runs one input through one target's checks on stable Rust, as
//! `tests/replay.rs` does for all of them:
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --no-default-features \
//!         --example replay -- <target> <file>
//!
//! (`OTELCAT_FUZZ_VERBOSE=1` prints the SQL errors the otlp_ingest target
//! sees.) Panics with the failed check, or prints "passes".

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, file] = args.as_slice() else {
        eprintln!("usage: replay <target> <file>");
        std::process::exit(2);
    };
    let Some(&(_, body)) = otelcat_fuzz::TARGETS.iter().find(|(n, _)| n == target) else {
        let names: Vec<&str> = otelcat_fuzz::TARGETS.iter().map(|t| t.0).collect();
        eprintln!("no target {target}; targets: {}", names.join(", "));
        std::process::exit(2);
    };
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    body(&data);
    println!("{target} {file}: passes");
}
