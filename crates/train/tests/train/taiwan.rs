//! The real-data bar (issue 3): on the Taiwan credit-card data with 5-fold cross-validation, the
//! best model's mean AUC is at least LightGBM's 0.779 in `../shared/peers/BASELINES.md`, and the
//! scorecard's at least scikit-learn's logistic regression's 0.724.

use forbear_train::{TableOptions, train_table};
use std::path::Path;

#[test]
fn taiwan_best_model_reaches_lightgbm() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/taiwan-credit-default.csv");
    if !path.exists() {
        println!("skipped: {} is absent", path.display());
        return;
    }
    let table = forbear_data::read_table(&path).unwrap();
    let mut opts = TableOptions::new("default.payment.next.month");
    opts.drop = vec!["ID".into()];
    opts.categorical = vec!["SEX".into(), "EDUCATION".into(), "MARRIAGE".into()];
    opts.cv = Some(5);
    let t = train_table(&table, &opts, &|_| {}).unwrap();
    let (best, sd) = (0..t.models.len())
        .filter_map(|k| t.cv(k))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    println!("taiwan: best 5-fold CV AUC {best:.4} ± {sd:.4}");
    assert!(
        best >= 0.779,
        "best 5-fold AUC {best:.4} < LightGBM's 0.779"
    );
    let k = t
        .models
        .iter()
        .position(|m| m.model.kind() == "scorecard")
        .expect("a scorecard");
    let (sc, sc_sd) = t.cv(k).unwrap();
    println!("taiwan: scorecard 5-fold CV AUC {sc:.4} ± {sc_sd:.4}");
    assert!(
        sc >= 0.724,
        "scorecard 5-fold AUC {sc:.4} < scikit-learn's logistic 0.724"
    );
}
