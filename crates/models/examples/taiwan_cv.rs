//! 5-fold stratified cross-validation of the gradient booster and the WoE scorecard on the Taiwan
//! credit-card data, the protocol of `../shared/peers/BASELINES.md` (ID dropped, every other
//! column a feature; the scorecard bins SEX, EDUCATION and MARRIAGE as categories).
//!
//! `cargo run --release -p forbear-models --example taiwan_cv [-- PATH [FOLDS]]`

use forbear_models::metrics::{auc, brier, ks};
use forbear_models::{FeatureMatrix, GbmParams, Model, ScorecardParams};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/taiwan-credit-default.csv".into());
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: {path} is absent");
        return Ok(());
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let target = header
        .iter()
        .position(|h| *h == "default.payment.next.month")
        .ok_or_else(|| format!("{path}: no column default.payment.next.month"))?;
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| i != target && header[i] != "ID")
        .collect();
    let mut cols = vec![Vec::new(); keep.len()];
    let mut y = Vec::new();
    for (n, line) in lines.filter(|l| !l.is_empty()).enumerate() {
        let v: Vec<f64> = line
            .split(',')
            .map(|x| x.parse().unwrap_or(f64::NAN))
            .collect();
        if v.len() != header.len() {
            return Err(format!(
                "{path}: data row {} has {} fields, the header {}",
                n + 1,
                v.len(),
                header.len()
            )
            .into());
        }
        for (c, &i) in keep.iter().enumerate() {
            cols[c].push(v[i]);
        }
        y.push(v[target] == 1.0);
    }
    let x = FeatureMatrix::new(keep.iter().map(|&i| header[i].to_string()).collect(), cols)?;
    // The peers' folds when given (benches/peers/taiwan_cv.py writes them), our own otherwise.
    let folds: Vec<usize> = match std::env::args().nth(2) {
        Some(f) => std::fs::read_to_string(&f)
            .map_err(|e| format!("{f}: {e}"))?
            .lines()
            .enumerate()
            .map(|(n, l)| {
                l.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|k| *k < 5)
                    .ok_or_else(|| format!("{f}: line {}: {l:?} is not a fold 0-4", n + 1))
            })
            .collect::<Result<_, _>>()?,
        None => stratified_folds(&y, 5, 42),
    };
    if folds.len() != y.len() {
        return Err(format!(
            "{} folds for {} rows: one fold per row",
            folds.len(),
            y.len()
        )
        .into());
    }
    let scorecard = ScorecardParams {
        categorical: ["SEX", "EDUCATION", "MARRIAGE"].map(String::from).to_vec(),
        ..ScorecardParams::default()
    };
    for kind in ["gbm", "scorecard"] {
        let mut aucs = Vec::new();
        let started = Instant::now();
        for k in 0..5 {
            let train: Vec<usize> = (0..y.len()).filter(|&i| folds[i] != k).collect();
            let test: Vec<usize> = (0..y.len()).filter(|&i| folds[i] == k).collect();
            let ytr: Vec<bool> = train.iter().map(|&i| y[i]).collect();
            let yte: Vec<bool> = test.iter().map(|&i| y[i]).collect();
            let xtr = x.take(&train);
            let m = match kind {
                "gbm" => Model::Gbm(GbmParams::default().fit(&xtr, &ytr)?),
                _ => Model::Scorecard(scorecard.fit(&xtr, &ytr)?),
            };
            let p = m.predict_proba(&x.take(&test))?;
            let a = auc(&yte, &p);
            println!(
                "{kind} fold {k}: auc {a:.4} ks {:.4} brier {:.4}",
                ks(&yte, &p),
                brier(&yte, &p)
            );
            aucs.push(a);
        }
        let mean = aucs.iter().sum::<f64>() / 5.0;
        let sd = (aucs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
        println!(
            "{kind} 5-fold auc {mean:.4} ± {sd:.4} in {:.2}s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn stratified_folds(y: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let mut s = seed;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 33
    };
    let mut folds = vec![0; y.len()];
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        for i in (1..idx.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            idx.swap(i, j);
        }
        for (n, i) in idx.into_iter().enumerate() {
            folds[i] = n % k;
        }
    }
    folds
}
