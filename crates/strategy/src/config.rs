//! What a contact costs and is worth: the strategy configuration (`models/strategy.toml`).
//!
//! Money here is in minor units of one base currency, so that values of accounts in different
//! currencies can be compared and summed by the planner; [`StrategyConfig::fx`] converts an
//! account's amounts into it. The contact rules themselves are [`ContactRules`] (core), carried
//! here so one file configures a strategy.

use forbear_core::rules::ContactRules;
use forbear_core::{Channel, Currency, CustomerType, Tone};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The configuration shipped in `models/strategy.toml`, embedded so a binary runs without it.
pub const DEFAULT_TOML: &str = include_str!("../../../models/strategy.toml");

/// How the recommender explores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExplorationMode {
    /// Always the best action.
    None,
    /// The best action, or with probability `epsilon` one drawn uniformly from the allowed set.
    Epsilon,
    /// An action drawn with probability proportional to `exp(value / temperature)`.
    Softmax,
}

/// Exploration settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exploration {
    /// The mode.
    pub mode: ExplorationMode,
    /// Share of decisions explored (epsilon mode).
    #[serde(default)]
    pub epsilon: f64,
    /// Softmax temperature, base-currency minor units.
    #[serde(default = "one")]
    pub temperature: f64,
    /// Seed of the draws (each decision draws from a stream of the seed, account and day).
    #[serde(default)]
    pub seed: u64,
}

fn one() -> f64 {
    1.0
}

/// Preventive nudges before the due date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preventive {
    /// Nudges are considered this many days before the due date at most.
    pub days_before_due: u32,
    /// …and only when the probability of no payment within 7 days without contact is at least
    /// this.
    pub min_risk: f64,
}

/// The channels and tones a segment may be contacted with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentActions {
    /// Allowed channels.
    pub channels: Vec<Channel>,
    /// Allowed tones.
    pub tones: Vec<Tone>,
}

/// Daily capacities of the planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Agent calls per day.
    pub agent_calls: u64,
    /// Letters per day.
    pub letters: u64,
    /// Contact budget per day, base-currency minor units.
    pub budget: i64,
}

/// The strategy configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Currency of costs and values.
    pub base_currency: String,
    /// Expected cost of one complaint (handling, redress, lost goodwill), base minor units.
    pub complaint_penalty: f64,
    /// A contact is made only if its value exceeds this, base minor units (0: any gain).
    pub min_value: f64,
    /// Value of one unit (major) of each currency in the base currency.
    pub fx: BTreeMap<String, f64>,
    /// Cost of one contact per channel, base minor units.
    pub cost: BTreeMap<Channel, f64>,
    /// Exploration.
    pub exploration: Exploration,
    /// Preventive nudges.
    pub preventive: Preventive,
    /// Allowed actions per customer type (`default` for the others).
    pub segments: BTreeMap<String, SegmentActions>,
    /// Planner capacities.
    pub capacity: Capacity,
    /// The contact rules.
    #[serde(default)]
    pub rules: ContactRules,
}

/// Why a configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML for this configuration (the message names line and key).
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    /// A value out of range.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl Default for StrategyConfig {
    fn default() -> Self {
        // The embedded file is checked by a test; fall back to a minimal configuration anyway.
        Self::parse(DEFAULT_TOML, "models/strategy.toml").unwrap_or_else(|_| StrategyConfig {
            base_currency: "EUR".into(),
            complaint_penalty: 0.0,
            min_value: 0.0,
            fx: BTreeMap::new(),
            cost: BTreeMap::new(),
            exploration: Exploration {
                mode: ExplorationMode::None,
                epsilon: 0.0,
                temperature: 1.0,
                seed: 0,
            },
            preventive: Preventive {
                days_before_due: 0,
                min_risk: 1.0,
            },
            segments: BTreeMap::new(),
            capacity: Capacity {
                agent_calls: 0,
                letters: 0,
                budget: 0,
            },
            rules: ContactRules::default(),
        })
    }
}

impl StrategyConfig {
    /// Parses and checks a configuration; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let cfg: StrategyConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let bad = |message: String| {
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                message,
            })
        };
        if Currency::parse(&self.base_currency).is_err() {
            return bad(format!(
                "base_currency {:?} is not an ISO 4217 code",
                self.base_currency
            ));
        }
        for (c, v) in &self.fx {
            if Currency::parse(c).is_err() {
                return bad(format!("fx: {c:?} is not an ISO 4217 code"));
            }
            if !(v.is_finite() && *v > 0.0) {
                return bad(format!("fx.{c} = {v} must be a positive number"));
            }
        }
        for c in Channel::ALL {
            match self.cost.get(c) {
                None => return bad(format!("cost.{c} is missing: every channel needs a cost")),
                Some(v) if !(v.is_finite() && *v >= 0.0) => {
                    return bad(format!("cost.{c} = {v} must be a number ≥ 0"));
                }
                _ => {}
            }
        }
        if !(self.complaint_penalty.is_finite() && self.complaint_penalty >= 0.0) {
            return bad(format!(
                "complaint_penalty = {} must be a number ≥ 0",
                self.complaint_penalty
            ));
        }
        if !self.min_value.is_finite() {
            return bad("min_value must be a number".into());
        }
        let e = &self.exploration;
        if !(0.0..=1.0).contains(&e.epsilon) {
            return bad(format!(
                "exploration.epsilon = {} must be in [0, 1]",
                e.epsilon
            ));
        }
        if !(e.temperature.is_finite() && e.temperature > 0.0) {
            return bad(format!(
                "exploration.temperature = {} must be positive",
                e.temperature
            ));
        }
        if !(0.0..=1.0).contains(&self.preventive.min_risk) {
            return bad(format!(
                "preventive.min_risk = {} must be in [0, 1]",
                self.preventive.min_risk
            ));
        }
        if !self.segments.contains_key("default") {
            return bad(
                "segments.default is missing: it applies to every customer type not named".into(),
            );
        }
        for (name, s) in &self.segments {
            if name != "default" && CustomerType::parse(name).is_err() {
                return bad(format!(
                    "segments.{name}: not a customer type (expected default or one of {})",
                    CustomerType::ALL
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if s.tones.is_empty() {
                return bad(format!("segments.{name}.tones is empty"));
            }
        }
        if self.capacity.budget < 0 {
            return bad("capacity.budget must be ≥ 0".into());
        }
        self.rules.validate().or_else(|e| bad(e.to_string()))
    }

    /// The allowed channels and tones of a customer type.
    pub fn segment(&self, t: CustomerType) -> Option<&SegmentActions> {
        self.segments
            .get(t.as_str())
            .or_else(|| self.segments.get("default"))
    }

    /// Cost of a contact on `channel`, base minor units.
    pub fn cost_of(&self, channel: Channel) -> f64 {
        self.cost.get(&channel).copied().unwrap_or(0.0)
    }

    /// Factor turning minor units of `currency` into base minor units; `None` for a currency
    /// without a rate.
    pub fn to_base(&self, currency: Currency) -> Option<f64> {
        let base = Currency::parse(&self.base_currency).ok()?;
        let rate = if currency == base {
            1.0
        } else {
            *self.fx.get(currency.as_str())?
        };
        let digits = i32::try_from(base.minor_digits()).ok()?
            - i32::try_from(currency.minor_digits()).ok()?;
        Some(rate * 10f64.powi(digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configuration_is_valid() {
        let c = StrategyConfig::parse(DEFAULT_TOML, "models/strategy.toml").unwrap();
        assert_eq!(c, StrategyConfig::default());
        assert!(c.cost_of(Channel::AgentCall) > c.cost_of(Channel::Sms));
        // One US cent is worth about 0.9 euro cents.
        let usd = c.to_base(Currency::parse("USD").unwrap()).unwrap();
        assert!((0.5..1.5).contains(&usd));
    }

    #[test]
    fn errors_name_the_key() {
        let broken = DEFAULT_TOML.replace("epsilon = 0.05", "epsilon = 2.0");
        assert!(
            StrategyConfig::parse(&broken, "s.toml")
                .unwrap_err()
                .to_string()
                .contains("exploration.epsilon = 2")
        );
        let unknown = format!("{DEFAULT_TOML}\nsurprise = 1\n");
        let e = StrategyConfig::parse(&unknown, "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("surprise"), "{e}");
        let no_sms = DEFAULT_TOML.replace("sms = 5.0\n", "");
        assert!(
            StrategyConfig::parse(&no_sms, "s.toml")
                .unwrap_err()
                .to_string()
                .contains("cost.sms is missing")
        );
    }
}
