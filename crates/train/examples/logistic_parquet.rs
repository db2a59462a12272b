//! Fits forbear's logistic regression to a Parquet table with a 0/1 column `y` (all other columns
//! features) and prints the fit time (best of 3, one thread) and the training AUC — the forbear side
//! of `benches/peers/logistic_1m.py`.
//!
//! `cargo run --release -p forbear-train --example logistic_parquet -- FILE.parquet`

use forbear_data::{Column, read_table};
use forbear_models::metrics::auc;
use forbear_models::{FeatureMatrix, LogisticParams};
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: logistic_parquet FILE.parquet");
        std::process::exit(2);
    };
    let t = read_table(std::path::Path::new(&path)).expect("read table");
    let target = t.index_of("y").expect("a column y");
    let Column::Numeric(yv) = &t.columns[target] else {
        panic!("y must be numeric")
    };
    let y: Vec<bool> = yv.iter().map(|v| *v == 1.0).collect();
    let (mut names, mut cols) = (Vec::new(), Vec::new());
    for (k, c) in t.columns.iter().enumerate() {
        if let (true, Column::Numeric(v)) = (k != target, c) {
            names.push(t.names[k].clone());
            cols.push(v.clone());
        }
    }
    let x = FeatureMatrix::new(names, cols).expect("matrix");
    let mut best = f64::INFINITY;
    let mut model = None;
    for _ in 0..3 {
        let started = Instant::now();
        let m = LogisticParams::default().fit(&x, &y).expect("fit");
        best = best.min(started.elapsed().as_secs_f64());
        model = Some(m);
    }
    let m = model.expect("fitted");
    let p = m.predict_proba(&x).expect("predict");
    println!(
        "forbear LogisticParams::default(): min wall {best:.3}s of 3 (one thread), {} iterations, train AUC {:.4}",
        m.iterations,
        auc(&y, &p)
    );
}
