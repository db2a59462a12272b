//! 5-fold stratified cross-validation of the WoE scorecard on the Taiwan credit-card data, the
//! protocol of `../shared/peers/BASELINES.md` (ID dropped, every other column a feature; SEX,
//! EDUCATION and MARRIAGE binned as categories). Prints the last fold's points table and the
//! reasons of its riskiest account.
//!
//! `cargo run --release -p forbear-models --example taiwan_scorecard [-- PATH [FOLDS]]`

use forbear_models::metrics::{auc, brier, ks};
use forbear_models::{FeatureMatrix, ScorecardParams};
use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/taiwan-credit-default.csv".into());
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: {path} is absent");
        return;
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let target = header
        .iter()
        .position(|h| *h == "default.payment.next.month")
        .expect("target column");
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| i != target && header[i] != "ID")
        .collect();
    let mut cols = vec![Vec::new(); keep.len()];
    let mut y = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let v: Vec<f64> = line
            .split(',')
            .map(|x| x.parse().unwrap_or(f64::NAN))
            .collect();
        for (c, &i) in keep.iter().enumerate() {
            cols[c].push(v[i]);
        }
        y.push(v[target] == 1.0);
    }
    let x = FeatureMatrix::new(keep.iter().map(|&i| header[i].to_string()).collect(), cols)
        .expect("matrix");
    // The peers' folds when given (benches/peers/taiwan_cv.py writes them), our own otherwise.
    let folds: Vec<usize> = match std::env::args().nth(2) {
        Some(f) => std::fs::read_to_string(&f)
            .expect("folds file")
            .lines()
            .map(|l| l.trim().parse().expect("fold index"))
            .collect(),
        None => stratified_folds(&y, 5, 42),
    };
    assert_eq!(folds.len(), y.len(), "one fold per row");
    let params = ScorecardParams {
        categorical: ["SEX", "EDUCATION", "MARRIAGE"].map(String::from).to_vec(),
        ..Default::default()
    };
    let mut aucs = Vec::new();
    let started = Instant::now();
    let mut last = None;
    for k in 0..5 {
        let train: Vec<usize> = (0..y.len()).filter(|&i| folds[i] != k).collect();
        let test: Vec<usize> = (0..y.len()).filter(|&i| folds[i] == k).collect();
        let ytr: Vec<bool> = train.iter().map(|&i| y[i]).collect();
        let yte: Vec<bool> = test.iter().map(|&i| y[i]).collect();
        let card = params.fit(&x.take(&train), &ytr).expect("fit");
        let xte = x.take(&test);
        let p = card.predict_proba(&xte).expect("predict");
        let a = auc(&yte, &p);
        println!(
            "fold {k}: auc {a:.4} ks {:.4} brier {:.4}, {} features, {} dropped",
            ks(&yte, &p),
            brier(&yte, &p),
            card.features.len(),
            card.dropped.len()
        );
        aucs.push(a);
        last = Some((card, xte, p));
    }
    let mean = aucs.iter().sum::<f64>() / 5.0;
    let sd = (aucs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
    let seconds = started.elapsed().as_secs_f64();
    if let Some((card, xte, p)) = last {
        println!("\nfold 4 scorecard (intercept {:.4}):", card.intercept);
        for f in &card.features {
            println!(
                "  {} coefficient {:.4} iv {:.4}",
                f.name, f.coefficient, f.iv
            );
            for b in &f.bins {
                println!(
                    "    {:<28} n {:>6} bad {:.3} woe {:>7.4} points {:>7.2}",
                    b.label, b.count, b.bad_rate, b.woe, b.points
                );
            }
        }
        for d in &card.dropped {
            println!("  dropped {} (iv {:.4}): {:?}", d.name, d.iv, d.reason);
        }
        let riskiest = (0..p.len())
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap_or(0);
        let score = card.score(&xte).expect("score")[riskiest];
        println!(
            "riskiest test account: p {:.3}, score {score:.2}",
            p[riskiest]
        );
        for r in card.reasons(&|f| xte.column(f)[riskiest], 4) {
            println!("  {} {}", r.code, r.text);
        }
    }
    println!("scorecard 5-fold auc {mean:.4} ± {sd:.4} in {seconds:.2}s");
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
