//! Any fitted model forbear ships, behind one type: what bundles store and serving scores with.

use crate::matrix::Columns;
use crate::{FeatureMatrix, Gbm, ModelError, Reason, Scorecard};
use serde::{Deserialize, Serialize};

/// A fitted binary model; the JSON form is tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Model {
    /// Gradient-boosted trees.
    Gbm(Gbm),
    /// A points scorecard on weight-of-evidence bins.
    Scorecard(Scorecard),
}

impl Model {
    /// The kind's name in cards and bundles.
    pub fn kind(&self) -> &'static str {
        match self {
            Model::Gbm(_) => "gbm",
            Model::Scorecard(_) => "scorecard",
        }
    }

    /// Probabilities of the bad outcome for every row.
    pub fn predict_proba(&self, x: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        match self {
            Model::Gbm(m) => m.predict_proba(x),
            Model::Scorecard(m) => m.predict_proba(x),
        }
    }

    /// Probability of the bad outcome for one row (features in input order; `NaN` missing).
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        match self {
            Model::Gbm(m) => {
                crate::logistic::sigmoid(m.raw_score(&|f| row.get(f).copied().unwrap_or(f64::NAN)))
            }
            Model::Scorecard(m) => {
                let cols: Vec<&[f64]> = row.iter().map(std::slice::from_ref).collect();
                Columns::new(cols)
                    .and_then(|c| m.predict_columns(&c))
                    .ok()
                    .and_then(|p| p.first().copied())
                    .unwrap_or(f64::NAN)
            }
        }
    }

    /// Probabilities of the bad outcome for every row of borrowed columns (no copy).
    pub fn predict_columns(&self, x: &Columns<'_>) -> Result<Vec<f64>, ModelError> {
        match self {
            Model::Gbm(m) => m.predict_columns(x),
            Model::Scorecard(m) => m.predict_columns(x),
        }
    }

    /// The features the model takes, in order.
    pub fn inputs(&self) -> &[String] {
        match self {
            Model::Gbm(m) => &m.features,
            Model::Scorecard(m) => &m.inputs,
        }
    }

    /// The principal reasons for one row's risk, most adverse first, at most `top`.
    ///
    /// A scorecard names the features that cost the most points against their best bin. Trees
    /// name the features whose TreeSHAP contributions raised the log-odds most; `points_lost` is
    /// that contribution in scorecard points (20 points per doubling of the odds), and the code
    /// is `T`, the feature's input index (two digits), `-`, its name.
    pub fn reasons(&self, row: &dyn Fn(usize) -> f64, top: usize) -> Vec<Reason> {
        match self {
            Model::Scorecard(s) => s.reasons(row, top),
            Model::Gbm(g) => {
                if !g.has_covers() {
                    return Vec::new();
                }
                tree_reasons(g, &g.contributions(row), row, top)
            }
        }
    }

    /// Relative importance of each input (sums to 1): split gain for trees, information value
    /// for a scorecard (0 for the inputs it left out).
    pub fn importance(&self) -> Vec<f64> {
        match self {
            Model::Gbm(m) => m.importance(),
            Model::Scorecard(m) => {
                let mut iv = vec![0.0; m.inputs.len()];
                for f in &m.features {
                    iv[f.column] = f.iv;
                }
                let total: f64 = iv.iter().sum();
                if total > 0.0 {
                    iv.iter_mut().for_each(|v| *v /= total);
                }
                iv
            }
        }
    }
}

/// The reasons of a tree model from its per-feature contributions to one row's log-odds: the
/// features that raised it most, as scorecard points (20 per doubling of the odds), coded `T`,
/// the feature's input index (two digits), `-`, its name.
pub fn tree_reasons(g: &Gbm, phi: &[f64], row: &dyn Fn(usize) -> f64, top: usize) -> Vec<Reason> {
    let points_per_log_odds = 20.0 / std::f64::consts::LN_2;
    let mut up: Vec<(usize, f64)> = phi
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, c)| *c > 0.0)
        .collect();
    up.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    up.into_iter()
        .take(top)
        .map(|(f, c)| {
            use std::fmt::Write;
            let name = &g.features[f];
            let value = row(f);
            // Built by hand: this runs for every scored request, and `format!` of `{c:.3}`
            // (exact float formatting, a bignum fallback at times) was a tenth of its time.
            let mut code = String::with_capacity(name.len() + 5);
            let _ = write!(code, "T{f:02}-");
            code.push_str(name);
            let mut text = String::with_capacity(name.len() + 64);
            text.push_str(name);
            text.push_str(" = ");
            if value.is_nan() {
                text.push_str("missing");
            } else {
                push_value(&mut text, value);
            }
            text.push_str(" raises the log-odds of going bad by ");
            push_fixed3(&mut text, c);
            Reason {
                code,
                feature: name.clone(),
                value,
                points_lost: c * points_per_log_odds,
                text,
            }
        })
        .collect()
}

/// Appends `v` as `{v}` does. A whole number (most inputs: amounts, counts, codes) is written
/// as its integer, which skips the float's shortest-digits search.
fn push_value(out: &mut String, v: f64) {
    use std::fmt::Write;
    if v.fract() == 0.0 && v.abs() < 1e15 && v.to_bits() != (-0.0f64).to_bits() {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Appends `v` with three decimals (as `{v:.3}`, up to how a tie on the last digit rounds) by
/// integer formatting.
fn push_fixed3(out: &mut String, v: f64) {
    use std::fmt::Write;
    let m = (v * 1000.0).round();
    if !m.is_finite() || m.abs() >= 1e15 {
        let _ = write!(out, "{v:.3}");
        return;
    }
    let m = m as i64;
    if m < 0 {
        out.push('-');
    }
    let m = m.unsigned_abs();
    let _ = write!(out, "{}.{:03}", m / 1000, m % 1000);
}

#[cfg(test)]
mod tests {
    use super::push_fixed3;

    /// Whole numbers by integer formatting read as `{v}` does.
    #[test]
    fn whole_numbers_print_as_floats_do() {
        for v in [0.0, 1.0, -3.0, 100000.0, 1e14, -0.0, 2.5, 1e15, 1e20, -7.25] {
            let mut via = String::new();
            super::push_value(&mut via, v);
            assert_eq!(via, format!("{v}"));
        }
    }

    /// Three decimals by integer formatting read as `{:.3}` does (ties on the last digit aside).
    #[test]
    fn three_decimals_read_as_the_standard_formatting() {
        let mut s = 7u64;
        for k in 0..20_000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            let v = (u - 0.5) * [0.01, 1.0, 40.0, 1e6][k % 4];
            let scaled = (v * 1000.0).abs();
            if (scaled - scaled.trunc() - 0.5).abs() < 1e-6 {
                continue;
            }
            let mut ours = String::new();
            push_fixed3(&mut ours, v);
            let std = format!("{v:.3}");
            // `-0.000` from the standard library for tiny negatives; ours writes `0.000`.
            assert_eq!(ours, std.replace("-0.000", "0.000"), "{v}");
        }
        let mut big = String::new();
        push_fixed3(&mut big, 1e300);
        assert_eq!(big, format!("{:.3}", 1e300));
    }
}
