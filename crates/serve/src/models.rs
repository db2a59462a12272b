//! The models the service answers with: every kind of the registry at its current version, the
//! eligibility policy and the strategy — loaded, verified, and swapped as one snapshot.
//!
//! A [`Snapshot`] is immutable. Handlers take an `Arc` of the current one when a request
//! starts, so a reload never changes the models under a request in flight; [`load`] verifies
//! every bundle (checksums, feature spec, a smoke prediction) before a snapshot exists, so a
//! broken bundle is refused and the old snapshot keeps serving.

use crate::config::ServeConfig;
use chrono::{DateTime, Utc};
use forbear_api::{Explain, FeatureValue, Features, ModelInfo, Problem};
use forbear_features::RISK_FEATURES;
use forbear_models::eligibility::Policy;
use forbear_models::{Bundle, RawValue, Registry};
use forbear_strategy::{Recommender, ResponseBundle, StrategyConfig};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why models cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A bundle, the registry, the policy or the strategy cannot be used.
    #[error("{what}: {message}")]
    Refused { what: String, message: String },
}

fn refused(what: impl Into<String>, message: impl ToString) -> LoadError {
    LoadError::Refused {
        what: what.into(),
        message: message.to_string(),
    }
}

/// A model scoring rows of features.
#[derive(Debug)]
pub struct TabularModel {
    /// Registry kind.
    pub name: String,
    /// Version directory name.
    pub version: String,
    /// The bundle.
    pub bundle: Bundle,
    /// Feature name → column.
    pub columns: HashMap<String, usize>,
    /// SHA-256 of `bundle.json`.
    pub checksum: String,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
    /// Node expectations of a tree model, for path attributions.
    pub fast: Option<forbear_models::shap::NodeExpectations>,
}

/// A scored row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowScore {
    /// Calibrated probability.
    pub probability: f64,
    /// Points.
    pub score: f64,
    /// Band.
    pub band: &'static str,
    /// Reasons, most adverse first.
    pub reasons: Vec<forbear_api::Reason>,
}

impl TabularModel {
    /// Encodes a request's features (all of the model's, no others) into a row.
    pub fn encode(&self, features: &Features) -> Result<Vec<f64>, Problem> {
        let spec = &self.bundle.spec;
        let width = spec.features.len();
        let mut row = vec![f64::NAN; width];
        let mut given = vec![false; width];
        let mut seen = 0;
        for (i, (name, value)) in features.iter().enumerate() {
            // Clients mostly send the model's order: try the same position first.
            let k = match spec.features.get(i) {
                Some(f) if f.name == *name => i,
                _ => match self.columns.get(name) {
                    Some(&k) => k,
                    None => {
                        return Err(Problem::invalid(
                            format!("features.{name}"),
                            format!(
                                "model {} has no feature {name:?}; its features are: {}",
                                self.name,
                                spec.names().join(", ")
                            ),
                        ));
                    }
                },
            };
            if std::mem::replace(&mut given[k], true) {
                return Err(Problem::invalid(format!("features.{name}"), "given twice"));
            }
            let raw = match value {
                FeatureValue::Number(x) => RawValue::Number(*x),
                FeatureValue::Text(t) => RawValue::Text(t.clone()),
                FeatureValue::Null => RawValue::Missing,
            };
            row[k] = spec
                .encode(k, &raw)
                .map_err(|e| Problem::invalid(format!("features.{name}"), e.to_string()))?;
            seen += 1;
        }
        if seen < width {
            let missing: Vec<&str> = spec
                .features
                .iter()
                .filter(|f| !features.contains(&f.name))
                .map(|f| f.name.as_str())
                .collect();
            return Err(Problem::invalid(
                "features",
                format!(
                    "missing {} of model {}'s features (send null for a missing value): {}",
                    missing.len(),
                    self.name,
                    missing.join(", ")
                ),
            ));
        }
        Ok(row)
    }

    /// Scores an encoded row with `top` reasons, by path attributions or exact TreeSHAP.
    pub fn score(&self, row: &[f64], top: usize, how: Explain) -> RowScore {
        let (probability, reasons) = match how {
            Explain::Path => self
                .bundle
                .predict_explain_fast(row, top, self.fast.as_ref()),
            Explain::Treeshap => (self.bundle.predict_row(row), self.bundle.explain(row, top)),
        };
        let reasons = reasons
            .into_iter()
            .map(|r| forbear_api::Reason {
                code: r.code,
                feature: r.feature,
                text: r.text,
                points_lost: (r.points_lost * 100.0).round() / 100.0,
            })
            .collect();
        RowScore {
            probability,
            score: (forbear_models::score_points(probability) * 10.0).round() / 10.0,
            band: forbear_models::risk_band(probability),
            reasons,
        }
    }

    /// How `GET /v1/models` shows it.
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            name: self.name.clone(),
            version: self.version.clone(),
            kind: self.bundle.kind.clone(),
            best: self.bundle.best.clone(),
            features: self.bundle.spec.names(),
            loaded_at: self.loaded_at,
            checksum: self.checksum.clone(),
        }
    }
}

/// The response models with the strategy that uses them.
#[derive(Debug)]
pub struct Strategy {
    /// The recommender.
    pub recommender: Recommender,
    /// The response bundle's version.
    pub version: String,
    /// SHA-256 of `bundle.json`.
    pub checksum: String,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
}

/// Everything a request is answered with, immutable.
#[derive(Debug)]
pub struct Snapshot {
    /// Scoring models by name (`risk` and table models).
    pub models: BTreeMap<String, Arc<TabularModel>>,
    /// The recommender, when a response bundle is in the registry.
    pub strategy: Option<Strategy>,
    /// The eligibility policy.
    pub policy: Option<Policy>,
    /// SHA-256 prefix of the policy file (`builtin` if none).
    pub policy_version: String,
    /// SHA-256 prefix of the strategy file (`builtin` if none).
    pub strategy_version: String,
}

impl Snapshot {
    /// Every model served, as the API shows them.
    pub fn infos(&self) -> Vec<ModelInfo> {
        let mut out: Vec<ModelInfo> = self.models.values().map(|m| m.info()).collect();
        if let Some(s) = &self.strategy {
            out.push(ModelInfo {
                name: "response".into(),
                version: s.version.clone(),
                kind: "response".into(),
                best: "gbm".into(),
                features: forbear_features::response_features()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                loaded_at: s.loaded_at,
                checksum: s.checksum.clone(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// `name: version` of every model.
    pub fn versions(&self) -> BTreeMap<String, String> {
        self.infos()
            .into_iter()
            .map(|m| (m.name, m.version))
            .collect()
    }
}

fn checksum(dir: &Path) -> Result<String, LoadError> {
    let bytes = std::fs::read(dir.join("bundle.json"))
        .map_err(|e| refused(dir.display().to_string(), e))?;
    Ok(forbear_models::bundle::sha256_hex(&bytes))
}

fn file_version(path: &Path) -> Result<(String, String), LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| refused(path.display().to_string(), e))?;
    let v = forbear_models::bundle::sha256_hex(text.as_bytes())[..12].to_owned();
    Ok((text, v))
}

/// The version directory of a kind the service serves: its `CURRENT`, else its latest.
fn serving_version(reg: &Registry, kind: &str) -> Result<Option<String>, LoadError> {
    let what = || format!("{}/{kind}", reg.root().display());
    if let Some(v) = reg.current(kind).map_err(|e| refused(what(), e))? {
        return Ok(Some(v));
    }
    Ok(reg
        .versions(kind)
        .map_err(|e| refused(what(), e))?
        .last()
        .map(|v| v.version.clone()))
}

/// Loads one scoring bundle and verifies it.
pub fn load_tabular(name: &str, version: &str, dir: &Path) -> Result<TabularModel, LoadError> {
    let what = || dir.display().to_string();
    let bundle = Bundle::load(dir).map_err(|e| refused(what(), e))?;
    if name == "risk" || bundle.kind == "risk" {
        // Risk models are scored from an account's facts: their features must be the ones
        // this build computes, in the same order.
        let names = bundle.spec.names();
        if names != RISK_FEATURES {
            return Err(refused(
                what(),
                format!(
                    "the risk bundle's features [{}] are not the ones this build computes [{}]; retrain it with this version",
                    names.join(", "),
                    RISK_FEATURES.join(", ")
                ),
            ));
        }
    }
    // A smoke prediction: every feature missing, then every numeric feature 0 and every
    // category its first; both must be probabilities.
    let width = bundle.spec.features.len();
    for row in [vec![f64::NAN; width], vec![0.0; width]] {
        let p = bundle.predict_row(&row);
        if !(0.0..=1.0).contains(&p) {
            return Err(refused(
                what(),
                format!("smoke prediction gave {p}, not a probability"),
            ));
        }
        let _ = bundle.explain(&row, 4);
    }
    let columns = bundle
        .spec
        .features
        .iter()
        .enumerate()
        .map(|(k, f)| (f.name.clone(), k))
        .collect();
    let fast = match bundle.best_model() {
        Some(forbear_models::Model::Gbm(g)) => g.node_expectations(),
        _ => None,
    };
    Ok(TabularModel {
        name: name.to_owned(),
        version: version.to_owned(),
        fast,
        checksum: checksum(dir)?,
        bundle,
        columns,
        loaded_at: Utc::now(),
    })
}

fn load_strategy(config: &ServeConfig, dir: &Path, version: &str) -> Result<Strategy, LoadError> {
    let model = ResponseBundle::load(dir).map_err(|e| refused(dir.display().to_string(), e))?;
    let strategy = match strategy_path(config) {
        Some(p) => StrategyConfig::load(&p).map_err(|e| refused(p.display().to_string(), e))?,
        None => StrategyConfig::default(),
    };
    Ok(Strategy {
        recommender: Recommender::new(strategy, Arc::new(model)),
        version: version.to_owned(),
        checksum: checksum(dir)?,
        loaded_at: Utc::now(),
    })
}

fn strategy_path(config: &ServeConfig) -> Option<PathBuf> {
    config.strategy.clone().or_else(|| {
        let p = config.models.join("strategy.toml");
        p.is_file().then_some(p)
    })
}

fn policy_path(config: &ServeConfig) -> Option<PathBuf> {
    config.policy.clone().or_else(|| {
        let p = config.models.join("eligibility-policy.toml");
        p.is_file().then_some(p)
    })
}

/// Loads and verifies everything the configuration names. `previous` lets unchanged bundles
/// (same version and checksum) be reused instead of parsed again.
pub fn load(config: &ServeConfig, previous: Option<&Snapshot>) -> Result<Snapshot, LoadError> {
    let reg = Registry::new(&config.models);
    let kinds = reg
        .kinds()
        .map_err(|e| refused(config.models.display().to_string(), e))?;
    let mut models = BTreeMap::new();
    let mut strategy = None;
    for kind in kinds {
        let Some(version) = serving_version(&reg, &kind)? else {
            continue;
        };
        let dir = config.models.join(&kind).join(&version);
        if kind == "response" {
            strategy = Some(load_strategy(config, &dir, &version)?);
            continue;
        }
        let reuse = previous
            .and_then(|p| p.models.get(&kind))
            .filter(|m| m.version == version && checksum(&dir).is_ok_and(|c| c == m.checksum));
        let model = match reuse {
            Some(m) => Arc::clone(m),
            None => Arc::new(load_tabular(&kind, &version, &dir)?),
        };
        models.insert(kind, model);
    }
    let (policy, policy_version) = match policy_path(config) {
        Some(p) => {
            let (text, v) = file_version(&p)?;
            let policy =
                Policy::from_toml(&text).map_err(|e| refused(p.display().to_string(), e))?;
            (Some(policy), v)
        }
        None => (None, "none".to_owned()),
    };
    let strategy_version = match strategy_path(config) {
        Some(p) => file_version(&p)?.1,
        None => "builtin".to_owned(),
    };
    Ok(Snapshot {
        models,
        strategy,
        policy,
        policy_version,
        strategy_version,
    })
}
