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
