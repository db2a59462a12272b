use super::{forbear, text};

#[test]
fn help_names_the_commands() {
    let o = forbear(&["--help"]);
    assert!(o.status.success());
    let (out, _) = text(&o);
    for word in ["generate", "validate", "Simulate a portfolio"] {
        assert!(out.contains(word), "--help lacks {word}:\n{out}");
    }
}

#[test]
fn generate_then_validate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let o = forbear(&[
        "generate",
        "--accounts",
        "800",
        "--months",
        "3",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("800 accounts"), "{stdout}");
    let o = forbear(&["validate", out.to_str().unwrap()]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("valid (accounts 800"), "{stdout}");
}

/// A bad dataset fails validation with every problem named by file, column and row.
#[test]
fn validate_reports_problems_with_file_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let sample = super::root().join("notebooks-data/sample");
    for f in std::fs::read_dir(&sample).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let o = forbear(&["validate", dir.path().to_str().unwrap()]);
    assert!(
        o.status.success(),
        "the copied sample is valid: {:?}",
        text(&o)
    );

    // One bad row in invoices and one in payments.
    corrupt::negative_invoice_amount(dir.path(), 5);
    corrupt::unknown_payment_account(dir.path(), 2);
    let o = forbear(&["validate", dir.path().to_str().unwrap()]);
    let (stdout, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("invoices.parquet: column amount_minor, row 5: negative amount -1"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "payments.parquet: column account_id, row 2: account 999999999 is not in accounts"
        ),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("2 problems"), "{stdout}");
}

pub(crate) fn read_rows(path: &std::path::Path) -> Vec<arrow_array::RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

mod corrupt {
    use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
    use std::path::Path;
    use std::sync::Arc;

    /// Rewrites one Int64 column of a table file, changing row `row` (from 1) to `value`.
    fn set_i64(path: &Path, column: &str, row: usize, value: i64) {
        let batches = super::read_rows(path);
        let schema = batches[0].schema();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(path).unwrap(),
            schema.clone(),
            None,
        )
        .unwrap();
        let mut seen = 0;
        for b in batches {
            let k = schema.index_of(column).unwrap();
            let mut cols: Vec<ArrayRef> = b.columns().to_vec();
            let a = cols[k].as_any().downcast_ref::<Int64Array>().unwrap();
            let vals: Int64Array = (0..a.len())
                .map(|i| {
                    Some(if seen + i + 1 == row {
                        value
                    } else {
                        a.value(i)
                    })
                })
                .collect();
            cols[k] = Arc::new(vals);
            seen += b.num_rows();
            w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
                .unwrap();
        }
        w.close().unwrap();
    }

    pub fn negative_invoice_amount(dir: &Path, row: usize) {
        set_i64(&dir.join("invoices.parquet"), "amount_minor", row, -1);
    }

    pub fn unknown_payment_account(dir: &Path, row: usize) {
        set_i64(
            &dir.join("payments.parquet"),
            "account_id",
            row,
            999_999_999,
        );
    }
}

#[test]
fn bad_arguments_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for (args, needle) in [
        (
            vec!["generate", "--months", "0", "--out", out],
            "--months must be between 1 and 60",
        ),
        (
            vec!["generate", "--mix", "alien=1", "--out", out],
            "unknown customer type \"alien\"",
        ),
        (
            vec!["generate", "--exploration", "1.5", "--out", out],
            "--exploration must be in [0, 1]",
        ),
        (
            vec!["validate", "/nonexistent/forbear"],
            "not a dataset directory",
        ),
    ] {
        let o = forbear(&args);
        let (_, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let o = forbear(&[
        "generate",
        "--accounts",
        "10",
        "--end",
        "2026-02-30",
        "--out",
        out,
    ]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("--end"), "{}", text(&o).1);
}

#[test]
fn generate_refuses_to_overwrite_a_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    assert!(
        forbear(&[
            "generate",
            "--accounts",
            "50",
            "--months",
            "1",
            "--out",
            out
        ])
        .status
        .success()
    );
    let o = forbear(&[
        "generate",
        "--accounts",
        "50",
        "--months",
        "1",
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("already exists"), "{}", text(&o).1);
    assert!(
        forbear(&[
            "generate",
            "--accounts",
            "50",
            "--months",
            "1",
            "--overwrite",
            "--out",
            out
        ])
        .status
        .success()
    );
}

#[test]
fn train_table_writes_a_bundle_and_explains_bad_targets() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("loans.csv");
    let mut content = String::from("income;region;defaulted\n");
    for i in 0..400 {
        let income = 1000 + (i * 37) % 3000;
        let bad = if (income < 1800) ^ (i % 7 == 0) {
            "yes"
        } else {
            "no"
        };
        content.push_str(&format!("{income};{};{bad}\n", ["north", "south"][i % 2]));
    }
    std::fs::write(&csv, content).unwrap();
    let out = dir.path().join("bundle");
    let o = forbear(&[
        "train",
        "table",
        "--input",
        csv.to_str().unwrap(),
        "--target",
        "defaulted",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("bad = \"yes\""), "{stdout}");
    assert!(out.join("card.json").is_file() && out.join("bundle.json").is_file());
    let o = forbear(&[
        "train",
        "table",
        "--input",
        csv.to_str().unwrap(),
        "--target",
        "region",
        "--positive",
        "east",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .1
            .contains("--positive \"east\" is not a value of target column \"region\""),
        "{}",
        text(&o).1
    );
}

#[test]
fn train_risk_on_the_sample_and_a_clear_error_on_too_short_a_history() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("risk");
    let sample = super::root().join("notebooks-data/sample");
    let o = forbear(&[
        "train",
        "risk",
        "--data",
        sample.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("out of time"), "{stdout}");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("card.json")).unwrap()).unwrap();
    assert!(
        card["out_of_time"][0]["metrics"]["auc"].as_f64().unwrap() > 0.75,
        "{}",
        card["out_of_time"]
    );
    assert_eq!(card["label"]["dpd"], 30);

    let short = dir.path().join("short");
    assert!(
        forbear(&[
            "generate",
            "--accounts",
            "300",
            "--months",
            "4",
            "--out",
            short.to_str().unwrap()
        ])
        .status
        .success()
    );
    let o = forbear(&[
        "train",
        "risk",
        "--data",
        short.to_str().unwrap(),
        "--out",
        dir.path().join("r2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .1
            .contains("out-of-time validation needs at least two month ends"),
        "{}",
        text(&o).1
    );

    let o = forbear(&[
        "train",
        "risk",
        "--data",
        "/nonexistent/data",
        "--out",
        dir.path().join("r3").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("/nonexistent/data"), "{}", text(&o).1);
}

/// The README's main job, on a smaller portfolio.
#[test]
fn quickstart_checks_simulates_validates_and_trains() {
    let dir = tempfile::tempdir().unwrap();
    let sample = super::root().join("notebooks-data/sample");
    let out = dir.path().join("qs");
    let o = forbear(&[
        "quickstart",
        "--accounts",
        "2500",
        "--sample",
        sample.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--lab-out",
        dir.path().join("lab").to_str().unwrap(),
        "--lab-accounts",
        "1000",
        "--lab-days",
        "30",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1. sample"), "{stdout}");
    assert!(
        stdout.contains("8. model-driven strategy (challenger against champion)")
            && stdout.contains("report.html"),
        "{stdout}"
    );
    assert!(dir.path().join("lab/report.html").is_file());
    assert!(stdout.contains("meets the data contract"), "{stdout}");
    assert!(
        stdout.contains("gbm risk model, trained on earlier month ends"),
        "{stdout}"
    );
    assert!(
        stdout.contains("realism statistics inside their typical ranges"),
        "{stdout}"
    );
    assert!(stdout.contains("5. channel-response models"), "{stdout}");
    assert!(
        stdout.contains("judged by the simulator's truth") && stdout.contains(" 0 rule violations"),
        "{stdout}"
    );
}

/// Applicants as a data scientist would hand them over: ready risk features per account.
fn applicants_csv(path: &std::path::Path) {
    let names = forbear_features::RISK_FEATURES;
    // The segment attributes are features too (categories by name), so `customer_type` is both
    // a model input and the policy's segment.
    let mut s = format!("account_id,blacklisted,{}\n", names.join(","));
    for id in 1..=60 {
        let worst = (id % 6) * 15;
        let values: Vec<String> = names
            .iter()
            .map(|n| match *n {
                "dpd_now" => (worst / 3).to_string(),
                "worst_dpd_3m" | "worst_dpd_6m" | "worst_dpd_12m" => worst.to_string(),
                "late_bills_12m" => (id % 6).to_string(),
                "tenure_months" => {
                    if id == 5 {
                        "1".into()
                    } else {
                        "30".into()
                    }
                }
                "customer_type" => {
                    if id % 4 == 0 {
                        "student".into()
                    } else {
                        "consumer".into()
                    }
                }
                "service_level" => "standard".into(),
                "product" => "mobile".into(),
                "age_band" => "25-34".into(),
                _ => "0.5".into(),
            })
            .collect();
        s.push_str(&format!(
            "{id},{},{}\n",
            if id == 7 { "yes" } else { "no" },
            values.join(",")
        ));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn eligibility_decides_with_limits_and_reasons_and_shows_the_tradeoff() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("applicants.csv");
    applicants_csv(&input);
    let models = super::root().join("models");
    let policy = models.join("eligibility-policy.toml");
    let out = dir.path().join("decisions.csv");
    let o = forbear(&[
        "eligibility",
        "--policy",
        policy.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (_, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("60 applicants"), "{stderr}");
    let decisions = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = decisions.lines().collect();
    assert_eq!(
        rows[0],
        "account_id,decision,credit_limit_minor,probability,rule,reason_1,reason_2,reason_3,reason_4"
    );
    assert_eq!(rows.len(), 61);
    assert!(
        rows.iter()
            .any(|r| r.starts_with("7,prepaid,,") && r.contains("blacklisted")),
        "{decisions}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("5,refer,,") && r.contains("thin_file")),
        "{decisions}"
    );
    assert!(rows.iter().any(|r| r.contains(",postpaid,")), "{decisions}");
    let refused = rows
        .iter()
        .find(|r| r.contains(",prepaid,") && r.contains("probability"))
        .expect("a refusal by score");
    // Reason codes: T.. for the trees' contributions, R.. for a scorecard's points.
    let reasons = refused
        .split(',')
        .filter(|f| f.starts_with('T') || f.starts_with('R'))
        .count();
    assert!(reasons >= 4, "four reasons: {refused}");

    let o = forbear(&[
        "eligibility",
        "tradeoff",
        "--input",
        input.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("segment,applicants,cutoff,approval_rate,expected_bad_rate"),
        "{stdout}"
    );
    assert!(stdout.contains("\nstudent,15,"), "{stdout}");

    let o = forbear(&[
        "eligibility",
        "--policy",
        policy.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
        "--id",
        "customer_number",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .1
            .contains("identifier column \"customer_number\" (choose it with --id)"),
        "{}",
        text(&o).1
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "default = { prepaid_at = 0.1, refer_at = 0.5 }\n[[limit]]\nbelow = 0.1\nlimit_minor = 1\n",
    )
    .unwrap();
    let o = forbear(&[
        "eligibility",
        "--policy",
        bad.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("refer_at <= prepaid_at"),
        "{}",
        text(&o).1
    );
}
