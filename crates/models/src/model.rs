//! Any fitted model forbear ships, behind one type: what bundles store and serving scores with.

use crate::{FeatureMatrix, Gbm, ModelError, Scorecard};
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

    /// The features the model takes, in order.
    pub fn inputs(&self) -> &[String] {
        match self {
            Model::Gbm(m) => &m.features,
            Model::Scorecard(m) => &m.inputs,
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
