use super::{file, learnable_csv};
use forbear_data::read_table;
use forbear_train::{TableOptions, TrainError, train_table};

fn train(content: &str, opts: &TableOptions) -> Result<forbear_train::TrainedTable, TrainError> {
    let (_d, path) = file("t.csv", content);
    let table = read_table(&path)?;
    train_table(&table, opts, &|_| {})
}

#[test]
fn a_learnable_table_trains_and_sets_aside_useless_columns() {
    let mut opts = TableOptions::new("bad");
    opts.cv = Some(3);
    let t = train(&learnable_csv(1500), &opts).unwrap();
    assert_eq!(t.prepared.positive, "yes");
    let names = t.prepared.spec.names();
    assert_eq!(
        names,
        ["x", "grade"],
        "row numbers, the identifier and the constant are not features"
    );
    let why: Vec<&str> = t
        .prepared
        .excluded
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(why, ["id", "note"]);
    let best = &t.models[t.best];
    assert!(best.holdout.auc > 0.7, "{:?}", best.holdout);
    assert_eq!(best.cv_auc.len(), 3);
}

#[test]
fn missing_target_column() {
    let e = train(&learnable_csv(100), &TableOptions::new("outcome"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no column named \"outcome\" (the target)"),
        "{e}"
    );
    assert!(e.contains("columns are: id, x, grade, note, bad"), "{e}");
}

#[test]
fn target_that_is_not_binary() {
    let e = train("x,y\n1,a\n2,b\n3,c\n", &TableOptions::new("y"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("target column \"y\" is not binary: it has 3 distinct values"),
        "{e}"
    );
}

#[test]
fn one_class_only() {
    let e = train("x,y\n1,0\n2,0\n3,0\n", &TableOptions::new("y"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("holds one class only (\"0\")"), "{e}");
}

#[test]
fn ambiguous_or_unknown_positive_value() {
    let e = train("x,y\n1,red\n2,blue\n", &TableOptions::new("y"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("say it with --positive"), "{e}");
    let mut opts = TableOptions::new("y");
    opts.positive = Some("green".into());
    let e = train("x,y\n1,red\n2,blue\n", &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--positive \"green\" is not a value"), "{e}");
}

#[test]
fn no_usable_feature() {
    let content: String = std::iter::once("k,c,y\n".to_owned())
        .chain((0..100).map(|i| format!("K{i},1,{}\n", i % 2)))
        .collect();
    let e = train(&content, &TableOptions::new("y"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no usable feature column (k: looks like an identifier"),
        "{e}"
    );
    assert!(e.contains("c: constant"), "{e}");
}

#[test]
fn empty_and_unreadable_files() {
    let e = train("", &TableOptions::new("y")).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let e = train_table(
        &forbear_data::Table {
            path: "x.csv".into(),
            names: vec![],
            columns: vec![],
            dropped: vec![],
        },
        &TableOptions::new("y"),
        &|_| {},
    );
    assert!(e.is_err());
    let e = read_table(std::path::Path::new("/nonexistent/table.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/table.csv"), "{e}");
}

#[test]
fn too_few_rows_of_a_class() {
    let e = train("x,y\n1,1\n2,0\n3,0\n4,0\n", &TableOptions::new("y"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("1 bad and 3 good rows"), "{e}");
}

#[test]
fn the_bundle_is_written_whole_with_checksums() {
    let (_d, path) = file("t.csv", &learnable_csv(600));
    let table = read_table(&path).unwrap();
    let t = train_table(&table, &TableOptions::new("bad"), &|_| {}).unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("m");
    let fp = forbear_train::card::Fingerprint {
        input: "t.csv".into(),
        sha256: "0".repeat(64),
        rows: 600,
        positive_rate: 0.5,
    };
    forbear_train::card::write_table_bundle(&t, &fp, 42, &dir, false, &Default::default()).unwrap();
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("card.json")).unwrap()).unwrap();
    for k in ["auc", "gini", "ks", "brier", "log_loss"] {
        assert!(card["metrics"][k].is_number(), "card.json metrics.{k}");
    }
    assert_eq!(card["models"][0]["kind"], "gbm");
    for k in [
        "calibration",
        "gains",
        "score_distribution",
        "stability_baseline",
        "feature_importance",
    ] {
        assert!(!card[k].is_null(), "card.json lacks {k}");
    }
    for plot in ["roc.svg", "calibration.svg", "scores.svg"] {
        let svg = std::fs::read_to_string(dir.join(plot)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{plot}"
        );
    }
    let sums = std::fs::read_to_string(dir.join("checksums.sha256")).unwrap();
    for line in sums.lines() {
        let (hex, name) = line.split_once("  ").unwrap();
        assert_eq!(
            forbear_train::card::sha256_hex(&std::fs::read(dir.join(name)).unwrap()),
            hex,
            "{name}"
        );
    }
    assert!(
        forbear_train::card::write_table_bundle(&t, &fp, 42, &dir, false, &Default::default())
            .is_err(),
        "no silent overwrite"
    );
}
