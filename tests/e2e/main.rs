//! End-to-end tests: the `forbear` binary and the crates working together, as a user runs them.

mod cli;
mod engine;
mod lab;
mod layout;
mod sample;
mod serve;
mod strategy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The `forbear` binary of this build, built once if `cargo test` did not build it already.
pub fn forbear_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable");
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target profile dir");
        let bin = dir.join(format!("forbear{}", std::env::consts::EXE_SUFFIX));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile = if dir.ends_with("release") {
            vec!["--release"]
        } else {
            vec![]
        };
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", "forbear-cli", "--bin", "forbear"])
            .args(profile)
            .current_dir(root())
            .status()
            .expect("cargo build");
        assert!(status.success(), "building the forbear binary failed");
        bin
    })
}

/// Runs `forbear` with arguments.
pub fn forbear(args: &[&str]) -> Output {
    Command::new(forbear_bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run forbear")
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
