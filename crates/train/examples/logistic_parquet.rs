//! Fits forbear's logistic regression to a Parquet table with a 0/1 column `y` (all other columns
//! features) and prints the fit time (best of 3, one thread) and the training AUC — the forbear side
//! of `benches/peers/logistic_1m.py`.
//!
//! `cargo run --release -p forbear-train --example logistic_parquet -- FILE.parquet`

use forbear_data::{Column, read_table};
use forbear_models::metrics::auc;
use forbear_models::{FeatureMatrix, LogisticParams};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: logistic_parquet FILE.parquet")?;
    let t = read_table(std::path::Path::new(&path))?;
    let target = t
        .index_of("y")
        .ok_or_else(|| format!("{path}: no column y"))?;
    let Column::Numeric(yv) = &t.columns[target] else {
        return Err(format!("{path}: column y must be numeric (0/1)").into());
    };
    let y: Vec<bool> = yv.iter().map(|v| *v == 1.0).collect();
    let (mut names, mut cols) = (Vec::new(), Vec::new());
    for (k, c) in t.columns.iter().enumerate() {
        if let (true, Column::Numeric(v)) = (k != target, c) {
            names.push(t.names[k].clone());
            cols.push(v.clone());
        }
    }
    let x = FeatureMatrix::new(names, cols)?;
    let mut best = f64::INFINITY;
    let mut model = None;
    for _ in 0..3 {
        let started = Instant::now();
        model = Some(LogisticParams::default().fit(&x, &y)?);
        best = best.min(started.elapsed().as_secs_f64());
    }
    let m = model.ok_or("no fit ran")?;
    let p = m.predict_proba(&x)?;
    println!(
        "forbear LogisticParams::default(): min wall {best:.3}s of 3 (one thread), {} iterations, train AUC {:.4}",
        m.iterations,
        auc(&y, &p)
    );
    Ok(())
}
