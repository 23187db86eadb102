// Records the git commit for otelcat_debug(). Builds outside a git checkout
// (or without git) say "unknown".
use std::process::Command;

fn main() {
    let commit = std::env::var("OTELCAT_GIT_COMMIT").ok().or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    });
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    let mut commit = commit.unwrap_or_else(|| "unknown".into());
    if dirty && commit != "unknown" {
        commit.push_str("-dirty");
    }
    println!("cargo:rustc-env=OTELCAT_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=OTELCAT_GIT_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}
