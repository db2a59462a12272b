//! The committed sample is valid and is exactly what the generator makes today.

use super::{forbear, root, text};

#[test]
fn the_committed_sample_is_current_and_valid() {
    let sample = root().join("notebooks-data/sample");
    let report = forbear_data::validate_dataset(&sample).unwrap();
    assert!(report.is_valid(), "{report}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample");
    let o = forbear(&[
        "generate",
        "--accounts",
        "3000",
        "--months",
        "12",
        "--seed",
        "42",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    for table in [
        "accounts", "invoices", "payments", "contacts", "disputes", "promises", "truth",
    ] {
        let name = format!("{table}.parquet");
        let committed = std::fs::read(sample.join(&name)).unwrap();
        let fresh = std::fs::read(out.join(&name)).unwrap();
        assert!(
            committed == fresh,
            "notebooks-data/sample/{name} is stale: regenerate it with \
             `forbear generate --accounts 3000 --months 12 --seed 42 --overwrite --out notebooks-data/sample`"
        );
    }
}
