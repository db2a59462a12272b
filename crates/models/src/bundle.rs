//! Model bundles on disk: one directory per model version, checked before use.
//!
//! A bundle holds `bundle.json` (format, feature spec, models, training fingerprint, versions),
//! `card.json`, `card.md` and `checksums.sha256`. [`Bundle::load`] refuses a bundle whose files
//! do not match their checksums, whose format it does not know, or — with
//! [`Bundle::check_spec`] — whose features are not the ones the caller computes.

use crate::{FeatureSpec, Model};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The bundle layout this build writes and reads.
pub const BUNDLE_FORMAT: &str = "forbear-bundle-1";

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The outcome a bundle's models predict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The bad outcome.
    pub positive: String,
    /// The other outcome.
    pub negative: String,
}

/// The contents of `bundle.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// Layout version ([`BUNDLE_FORMAT`]).
    pub format: String,
    /// Bundle name (its directory).
    pub name: String,
    /// What it was trained for: `risk`, `table`, …
    pub kind: String,
    /// The forbear version that wrote it.
    pub created_by: String,
    /// The outcome predicted.
    pub target: Target,
    /// How raw inputs become features.
    pub spec: FeatureSpec,
    /// Kind of the model to use (the best on validation).
    pub best: String,
    /// Every model trained.
    pub models: Vec<Model>,
    /// For a bundle of several outcome models (channel response): the outcome each model of
    /// `models` predicts, in order. Empty for single-outcome bundles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heads: Vec<String>,
    /// The Platt calibrator of each model, in the order of `models` (empty: uncalibrated).
    #[serde(default)]
    pub calibrators: Vec<crate::Platt>,
    /// Where the training data came from.
    pub training: serde_json::Value,
    /// Seed of the splits.
    pub seed: u64,
}

/// Why a bundle cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file cannot be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file does not match its checksum (or is missing from the list).
    #[error(
        "{dir}: {file} does not match checksums.sha256 (expected {expected}, found {found}): the bundle is corrupt or was edited"
    )]
    Checksum {
        dir: PathBuf,
        file: String,
        expected: String,
        found: String,
    },
    /// `bundle.json` is not a bundle this build understands.
    #[error("{dir}: bundle.json: {message}")]
    Format { dir: PathBuf, message: String },
    /// The bundle's features differ from the caller's.
    #[error(
        "{dir}: the bundle was trained on features [{found}] but this build computes [{expected}]; retrain it with this version"
    )]
    SpecMismatch {
        dir: PathBuf,
        expected: String,
        found: String,
    },
}

impl Bundle {
    /// Reads and checks the bundle in `dir`.
    pub fn load(dir: &Path) -> Result<Bundle, BundleError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| BundleError::Io { path, source })
        };
        let sums = String::from_utf8_lossy(&read("checksums.sha256")?).into_owned();
        let mut listed = false;
        for line in sums.lines().filter(|l| !l.trim().is_empty()) {
            let Some((expected, file)) = line.split_once("  ") else {
                return Err(BundleError::Format {
                    dir: dir.to_path_buf(),
                    message: format!("checksums.sha256: malformed line {line:?}"),
                });
            };
            let found = sha256_hex(&read(file)?);
            if found != expected {
                return Err(BundleError::Checksum {
                    dir: dir.to_path_buf(),
                    file: file.to_owned(),
                    expected: expected.to_owned(),
                    found,
                });
            }
            listed |= file == "bundle.json";
        }
        if !listed {
            return Err(BundleError::Checksum {
                dir: dir.to_path_buf(),
                file: "bundle.json".into(),
                expected: "a line".into(),
                found: "none".into(),
            });
        }
        let bundle: Bundle =
            serde_json::from_slice(&read("bundle.json")?).map_err(|e| BundleError::Format {
                dir: dir.to_path_buf(),
                message: e.to_string(),
            })?;
        if bundle.format != BUNDLE_FORMAT {
            return Err(BundleError::Format {
                dir: dir.to_path_buf(),
                message: format!("format {:?} is not {BUNDLE_FORMAT:?}", bundle.format),
            });
        }
        if bundle.best_model().is_none() {
            return Err(BundleError::Format {
                dir: dir.to_path_buf(),
                message: format!("no model of the best kind {:?}", bundle.best),
            });
        }
        Ok(bundle)
    }

    /// The model to use.
    pub fn best_model(&self) -> Option<&Model> {
        self.models.iter().find(|m| m.kind() == self.best)
    }

    /// Calibrated probabilities of the best model for every row of `x`.
    pub fn predict(&self, x: &crate::FeatureMatrix) -> Result<Vec<f64>, crate::ModelError> {
        let k = self
            .models
            .iter()
            .position(|m| m.kind() == self.best)
            .unwrap_or(0);
        let p = self.models[k].predict_proba(x)?;
        Ok(match self.calibrators.get(k) {
            Some(c) => p.into_iter().map(|v| c.apply(v)).collect(),
            None => p,
        })
    }

    /// Calibrated probabilities of the best model for every row of borrowed columns (an Arrow
    /// batch, without a copy), in spec order.
    pub fn predict_columns(&self, x: &crate::Columns<'_>) -> Result<Vec<f64>, crate::ModelError> {
        let k = self
            .models
            .iter()
            .position(|m| m.kind() == self.best)
            .unwrap_or(0);
        let mut p = self.models[k].predict_columns(x)?;
        if let Some(c) = self.calibrators.get(k) {
            p.iter_mut().for_each(|v| *v = c.apply(*v));
        }
        Ok(p)
    }

    /// The calibrated probability of the best model for one row of features (in spec order).
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let k = self
            .models
            .iter()
            .position(|m| m.kind() == self.best)
            .unwrap_or(0);
        let p = self.models[k].predict_row(row);
        match self.calibrators.get(k) {
            Some(c) => c.apply(p),
            None => p,
        }
    }

    /// The principal reasons for one row, most adverse first, at most `top`, with categories
    /// named as in training: TreeSHAP contributions of a tree model, points lost on a
    /// scorecard (trees of bundles written before training counts were recorded fall back to
    /// the bundle's scorecard).
    pub fn explain(&self, row: &[f64], top: usize) -> Vec<crate::Reason> {
        let Some(model) = self.best_model() else {
            return Vec::new();
        };
        let value = |f: usize| row.get(f).copied().unwrap_or(f64::NAN);
        let mut reasons = model.reasons(&value, top);
        if reasons.is_empty()
            && let Model::Gbm(g) = model
            && !g.has_covers()
            && let Some(card) = self
                .models
                .iter()
                .find(|m| matches!(m, Model::Scorecard(_)))
        {
            reasons = card.reasons(&value, top);
        }
        self.name_categories(&mut reasons);
        reasons
    }

    /// The calibrated probability and `top` reasons of one row, by path attributions when the
    /// best model is a tree model and `fast` holds its node expectations (one walk per tree
    /// both predicts and explains: the service's default for `/v1/score`), else as
    /// [`Bundle::predict_row`] and [`Bundle::explain`].
    pub fn predict_explain_fast(
        &self,
        row: &[f64],
        top: usize,
        fast: Option<&crate::shap::NodeExpectations>,
    ) -> (f64, Vec<crate::Reason>) {
        let k = self
            .models
            .iter()
            .position(|m| m.kind() == self.best)
            .unwrap_or(0);
        match (&self.models[k], fast) {
            (Model::Gbm(g), Some(e)) => {
                let (phi, raw) = g.path_contributions(e, row);
                let p = crate::logistic::sigmoid(raw);
                let p = match self.calibrators.get(k) {
                    Some(c) => c.apply(p),
                    None => p,
                };
                let value = |f: usize| row.get(f).copied().unwrap_or(f64::NAN);
                let mut reasons = if top == 0 {
                    Vec::new()
                } else {
                    crate::model::tree_reasons(g, &phi, &value, top)
                };
                self.name_categories(&mut reasons);
                (p, reasons)
            }
            _ => (self.predict_row(row), self.explain(row, top)),
        }
    }

    fn name_categories(&self, reasons: &mut [crate::Reason]) {
        for r in reasons {
            let name = self
                .spec
                .features
                .iter()
                .find(|f| f.name == r.feature)
                .and_then(|f| match &f.kind {
                    crate::FeatureKind::Categorical { categories } if r.value >= 0.0 => {
                        categories.get(r.value as usize).cloned()
                    }
                    _ => None,
                });
            if let Some(name) = name {
                r.text = r
                    .text
                    .replacen(&format!("= {}", r.value), &format!("= {name}"), 1);
            }
        }
    }

    /// Fails unless the bundle's features are exactly `expected`.
    pub fn check_spec(&self, dir: &Path, expected: &FeatureSpec) -> Result<(), BundleError> {
        if &self.spec == expected {
            return Ok(());
        }
        Err(BundleError::SpecMismatch {
            dir: dir.to_path_buf(),
            expected: expected.names().join(", "),
            found: self.spec.names().join(", "),
        })
    }
}

/// A probability of going bad as a score in points on the usual scale: 600 points at good:bad
/// odds of 50:1, 20 more points for every doubling of the odds (higher is safer).
pub fn score_points(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    600.0 + 20.0 / std::f64::consts::LN_2 * (((1.0 - p) / p) / 50.0).ln()
}

/// The risk band of a probability of going bad: `A` below 2 %, `B` below 5 %, `C` below 10 %,
/// `D` below 20 %, `E` from 20 %.
pub fn risk_band(p: f64) -> &'static str {
    match p {
        p if p < 0.02 => "A",
        p if p < 0.05 => "B",
        p if p < 0.10 => "C",
        p if p < 0.20 => "D",
        _ => "E",
    }
}
