//! The repository keeps the shape its docs promise.

use super::root;

fn manifest(dir: &str) -> String {
    std::fs::read_to_string(root().join(dir).join("Cargo.toml")).unwrap()
}

/// Only the binary, the strategy lab and test/bench crates may depend on the simulator (or on
/// the lab, which sees it): anything that trains or serves models must never see the truth.
#[test]
fn no_training_or_serving_crate_can_read_the_truth() {
    let allowed = ["cli", "sim", "lab"];
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if allowed.contains(&name.as_str()) {
            continue;
        }
        let m = manifest(&format!("crates/{name}"));
        for truth in ["forbear-sim", "forbear-lab"] {
            assert!(
                !m.contains(truth),
                "crates/{name} depends on {truth} (the truth)"
            );
        }
    }
}

/// The core crate does no I/O: no async runtime, no database, no file formats.
#[test]
fn the_core_crate_has_no_io_dependencies() {
    let m = manifest("crates/core");
    let deps = m
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for forbidden in [
        "tokio", "arrow", "parquet", "sqlx", "reqwest", "axum", "forbear-",
    ] {
        assert!(!deps.contains(forbidden), "core depends on {forbidden}");
    }
}

#[test]
fn the_readme_has_its_two_commands_and_ci_runs_the_test_one() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        readme.contains("cargo run --release -p forbear-cli -- quickstart")
            || readme.contains("cargo run -p forbear-cli"),
        "README lacks the main-job command"
    );
    assert!(
        readme.contains("cargo test --workspace"),
        "README lacks the test command"
    );
    assert!(
        ci.contains("cargo test --workspace"),
        ".ci/run does not run the README's test command"
    );
}
