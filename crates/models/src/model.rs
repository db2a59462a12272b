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
            let name = &g.features[f];
            let value = row(f);
            let shown = if value.is_nan() {
                "missing".to_owned()
            } else {
                format!("{value}")
            };
            Reason {
                code: format!("T{f:02}-{name}"),
                feature: name.clone(),
                value,
                points_lost: c * points_per_log_odds,
                text: format!("{name} = {shown} raises the log-odds of going bad by {c:.3}"),
            }
        })
        .collect()
}
