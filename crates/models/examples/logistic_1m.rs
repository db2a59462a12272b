//! Times the logistic regression on 1,000,000 synthetic rows of 30 features (one core), and checks
//! it ranks as well as the logit that generated the labels.
//!
//! `cargo run --release -p forbear-models --example logistic_1m [-- ROWS]`

use forbear_models::metrics::auc;
use forbear_models::{FeatureMatrix, LogisticParams};
use std::time::Instant;

const FEATURES: usize = 30;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = match std::env::args().nth(1) {
        Some(r) => r
            .parse()
            .map_err(|_| format!("row count {r:?} is not a positive whole number"))?,
        None => 1_000_000,
    };
    let mut seed = 2024u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    // Features of different scales and shifts; a third of them carry no signal, and feature k
    // shares a common factor with feature k − 1 so the columns are correlated.
    let beta: Vec<f64> = (0..FEATURES)
        .map(|f| {
            if f % 3 == 2 {
                0.0
            } else {
                0.4 * (f as f64 - 14.5) / 14.5
            }
        })
        .collect();
    let scale: Vec<f64> = (0..FEATURES)
        .map(|f| 10f64.powi(f as i32 % 4 - 1))
        .collect();
    let mut cols: Vec<Vec<f64>> = (0..FEATURES).map(|_| Vec::with_capacity(rows)).collect();
    let mut y = Vec::with_capacity(rows);
    let mut truth = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut logit = -1.2;
        let mut previous = 0.0;
        for f in 0..FEATURES {
            let u = next() - 0.5 + 0.5 * previous;
            previous = u;
            logit += beta[f] * u * 3.0;
            cols[f].push(u * scale[f] + f as f64);
        }
        truth.push(logit);
        y.push(next() < 1.0 / (1.0 + (-logit).exp()));
    }
    let names = (0..FEATURES).map(|f| format!("x{f:02}")).collect();
    let x = FeatureMatrix::new(names, cols)?;
    let started = Instant::now();
    let m = LogisticParams::default().fit(&x, &y)?;
    let seconds = started.elapsed().as_secs_f64();
    let p = m.predict_proba(&x)?;
    println!(
        "logistic {rows} × {FEATURES}: fit in {seconds:.3}s, {} iterations, converged {}, \
         auc {:.4} (generating logit {:.4})",
        m.iterations,
        m.converged,
        auc(&y, &p),
        auc(&y, &truth)
    );
    Ok(())
}
