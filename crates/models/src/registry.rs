//! The model registry: versions of each model kind, and which one is current.
//!
//! Layout under the registry root (`models/` by default):
//!
//! ```text
//! models/<kind>/<version>/   a bundle (bundle.json, card.json, card.md, checksums.sha256)
//! models/<kind>/CURRENT      the version in use, one line
//! models/<kind>/HISTORY      every version promoted, one per line, oldest first
//! ```
//!
//! Plain files, so a registry can live in git (the default bundles do) and be read by people.
//! `CURRENT` is replaced atomically (write beside, rename); a promotion is refused unless the
//! bundle loads and passes its checksums.

use crate::bundle::{Bundle, BundleError};
use std::path::{Path, PathBuf};

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The version does not exist.
    #[error("{root}: no version {version:?} of {kind} (versions: {available})")]
    NoSuchVersion {
        root: PathBuf,
        kind: String,
        version: String,
        available: String,
    },
    /// Nothing has been promoted for this kind.
    #[error(
        "{root}: no current version of {kind}; promote one with `forbear models promote {kind} VERSION`"
    )]
    NoCurrent { root: PathBuf, kind: String },
    /// There is no earlier promotion to return to.
    #[error("{root}: {kind} has no earlier promoted version to roll back to")]
    NothingToRollBack { root: PathBuf, kind: String },
    /// The bundle is unusable.
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

/// One version of a model kind.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
    /// Version name (the bundle directory).
    pub version: String,
    /// The best model's kind.
    pub best: String,
    /// Holdout AUC from the card, if present.
    pub auc: Option<f64>,
    /// Whether it is the current version.
    pub current: bool,
}

/// A registry rooted at a directory.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Registry {
    /// The registry at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Registry { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Model kinds with at least one version.
    pub fn kinds(&self) -> Result<Vec<String>, RegistryError> {
        let mut kinds = Vec::new();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(kinds),
            Err(e) => return Err(io(&self.root)(e)),
        };
        for e in entries.flatten() {
            if e.path().is_dir()
                && !self
                    .version_names(&e.file_name().to_string_lossy())?
                    .is_empty()
            {
                kinds.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        kinds.sort();
        Ok(kinds)
    }

    fn version_names(&self, kind: &str) -> Result<Vec<String>, RegistryError> {
        let dir = self.root.join(kind);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .flatten()
            .filter(|e| e.path().join("bundle.json").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The versions of a kind, oldest name first.
    pub fn versions(&self, kind: &str) -> Result<Vec<VersionInfo>, RegistryError> {
        let current = self.current(kind)?;
        self.version_names(kind)?
            .into_iter()
            .map(|version| {
                let dir = self.root.join(kind).join(&version);
                let card: Option<serde_json::Value> = std::fs::read(dir.join("card.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok());
                let bundle: Option<serde_json::Value> = std::fs::read(dir.join("bundle.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok());
                Ok(VersionInfo {
                    best: bundle
                        .as_ref()
                        .and_then(|b| b["best"].as_str())
                        .unwrap_or("?")
                        .to_owned(),
                    auc: card.as_ref().and_then(|c| c["metrics"]["auc"].as_f64()),
                    current: current.as_deref() == Some(version.as_str()),
                    version,
                })
            })
            .collect()
    }

    /// The current version of a kind, if one was promoted.
    pub fn current(&self, kind: &str) -> Result<Option<String>, RegistryError> {
        let path = self.root.join(kind).join("CURRENT");
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    fn history(&self, kind: &str) -> Result<Vec<String>, RegistryError> {
        let path = self.root.join(kind).join("HISTORY");
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(s
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    fn set_current(&self, kind: &str, version: &str) -> Result<(), RegistryError> {
        let dir = self.root.join(kind);
        let tmp = dir.join(".CURRENT.partial");
        std::fs::write(&tmp, format!("{version}\n")).map_err(io(&tmp))?;
        let path = dir.join("CURRENT");
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }

    /// Makes `version` current, after checking its bundle loads.
    pub fn promote(&self, kind: &str, version: &str) -> Result<(), RegistryError> {
        let names = self.version_names(kind).unwrap_or_default();
        if !names.iter().any(|n| n == version) {
            return Err(RegistryError::NoSuchVersion {
                root: self.root.clone(),
                kind: kind.to_owned(),
                version: version.to_owned(),
                available: if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                },
            });
        }
        Bundle::load(&self.root.join(kind).join(version))?;
        self.set_current(kind, version)?;
        let path = self.root.join(kind).join("HISTORY");
        let mut history = std::fs::read_to_string(&path).unwrap_or_default();
        history.push_str(version);
        history.push('\n');
        std::fs::write(&path, history).map_err(io(&path))
    }

    /// Returns to the version promoted before the current one; returns it.
    pub fn rollback(&self, kind: &str) -> Result<String, RegistryError> {
        let current = self
            .current(kind)?
            .ok_or_else(|| RegistryError::NoCurrent {
                root: self.root.clone(),
                kind: kind.to_owned(),
            })?;
        let history = self.history(kind)?;
        let previous = history
            .iter()
            .rev()
            .skip_while(|v| **v != current)
            .find(|v| **v != current)
            .cloned()
            .ok_or_else(|| RegistryError::NothingToRollBack {
                root: self.root.clone(),
                kind: kind.to_owned(),
            })?;
        Bundle::load(&self.root.join(kind).join(&previous))?;
        self.set_current(kind, &previous)?;
        let path = self.root.join(kind).join("HISTORY");
        let mut h = history;
        // Forget the rolled-back promotion so a second rollback goes further back.
        if let Some(pos) = h.iter().rposition(|v| *v == current) {
            h.remove(pos);
        }
        std::fs::write(&path, h.join("\n") + "\n").map_err(io(&path))?;
        Ok(previous)
    }

    /// The current bundle of a kind, loaded and checked.
    pub fn load_current(&self, kind: &str) -> Result<(PathBuf, Bundle), RegistryError> {
        let version = self
            .current(kind)?
            .ok_or_else(|| RegistryError::NoCurrent {
                root: self.root.clone(),
                kind: kind.to_owned(),
            })?;
        let dir = self.root.join(kind).join(version);
        let bundle = Bundle::load(&dir)?;
        Ok((dir, bundle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::sha256_hex;

    /// A minimal valid bundle directory (a one-tree model with no split).
    fn bundle(root: &Path, kind: &str, version: &str) {
        let dir = root.join(kind).join(version);
        std::fs::create_dir_all(&dir).unwrap();
        let json = serde_json::json!({
            "format": "forbear-bundle-1", "name": version, "kind": kind, "created_by": "test",
            "target": {"positive": "1", "negative": "0"},
            "spec": {"features": [{"name": "x", "type": "numeric"}]},
            "best": "gbm",
            "models": [{"kind": "gbm", "features": ["x"], "base_score": 0.0,
                        "trees": [{"nodes": [], "leaves": [0.5]}], "params": {}}],
            "training": {}, "seed": 1
        });
        let bytes = serde_json::to_vec(&json).unwrap();
        std::fs::write(dir.join("bundle.json"), &bytes).unwrap();
        std::fs::write(
            dir.join("checksums.sha256"),
            format!("{}  bundle.json\n", sha256_hex(&bytes)),
        )
        .unwrap();
    }

    #[test]
    fn promote_list_and_roll_back() {
        let root = tempfile::tempdir().unwrap();
        let reg = Registry::new(root.path());
        bundle(root.path(), "risk", "v1");
        bundle(root.path(), "risk", "v2");
        assert!(matches!(
            reg.load_current("risk"),
            Err(RegistryError::NoCurrent { .. })
        ));
        reg.promote("risk", "v1").unwrap();
        reg.promote("risk", "v2").unwrap();
        let versions = reg.versions("risk").unwrap();
        assert_eq!(
            versions
                .iter()
                .map(|v| (v.version.as_str(), v.current))
                .collect::<Vec<_>>(),
            [("v1", false), ("v2", true)]
        );
        assert_eq!(reg.rollback("risk").unwrap(), "v1");
        assert_eq!(reg.current("risk").unwrap().as_deref(), Some("v1"));
        assert!(matches!(
            reg.rollback("risk"),
            Err(RegistryError::NothingToRollBack { .. })
        ));
        let e = reg.promote("risk", "v9").unwrap_err().to_string();
        assert!(
            e.contains("no version \"v9\" of risk (versions: v1, v2)"),
            "{e}"
        );
        let (_, b) = reg.load_current("risk").unwrap();
        assert_eq!(b.best_model().unwrap().kind(), "gbm");
    }

    #[test]
    fn a_tampered_bundle_is_refused() {
        let root = tempfile::tempdir().unwrap();
        bundle(root.path(), "risk", "v1");
        let path = root.path().join("risk/v1/bundle.json");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[10] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let e = Registry::new(root.path())
            .promote("risk", "v1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bundle.json does not match checksums.sha256"),
            "{e}"
        );
    }

    #[test]
    fn a_bundle_with_other_features_is_refused() {
        let root = tempfile::tempdir().unwrap();
        bundle(root.path(), "risk", "v1");
        let dir = root.path().join("risk/v1");
        let b = Bundle::load(&dir).unwrap();
        let other = crate::FeatureSpec {
            features: vec![crate::FeatureDef {
                name: "y".into(),
                kind: crate::FeatureKind::Numeric,
            }],
        };
        let e = b.check_spec(&dir, &other).unwrap_err().to_string();
        assert!(
            e.contains("trained on features [x] but this build computes [y]"),
            "{e}"
        );
    }
}
