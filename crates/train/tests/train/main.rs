//! `train_table` end to end on small tables, every bad input, and the real-data bar on Taiwan.

mod bad_input;
mod taiwan;

use std::io::Write;
use std::path::PathBuf;

/// Writes `content` to a file named `name` in a fresh directory.
pub fn file(name: &str, content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(content.as_bytes())
        .unwrap();
    (dir, path)
}

/// A learnable table: `bad` depends on `x` and `grade`, `id` is an identifier, `note` is constant.
pub fn learnable_csv(rows: usize) -> String {
    let mut s = String::from(",id,x,grade,note,bad\n");
    let mut seed = 7u64;
    for i in 0..rows {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (seed >> 11) as f64 / (1u64 << 53) as f64;
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let v = (seed >> 11) as f64 / (1u64 << 53) as f64;
        let grade = ["A", "B", "C"][i % 3];
        let logit: f64 = 3.0 * (u - 0.5) + if grade == "C" { 1.0 } else { -0.5 };
        let bad = if v < 1.0 / (1.0 + (-logit).exp()) {
            "yes"
        } else {
            "no"
        };
        let x = if i % 17 == 0 {
            "NA".to_owned()
        } else {
            format!("{u:.4}")
        };
        s.push_str(&format!("{i},ID{i:05},{x},{grade},same,{bad}\n"));
    }
    s
}

/// The committed default risk bundle loads, passes its checksums, and was trained on the
/// features this build computes (retrain it when the features change).
#[test]
fn the_committed_default_risk_bundle_matches_this_build() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let (dir, bundle) = forbear_models::Registry::new(&root)
        .load_current("risk")
        .unwrap();
    bundle
        .check_spec(&dir, &forbear_train::risk::risk_spec())
        .unwrap();
    assert_eq!(bundle.kind, "risk");
}
