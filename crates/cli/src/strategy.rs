//! The recommender as the commands build it: a strategy configuration and response models.

use anyhow::{Context, Result};
use forbear_strategy::config::ExplorationMode;
use forbear_strategy::{Recommender, ResponseBundle, StrategyConfig};
use std::path::PathBuf;
use std::sync::Arc;

/// Which strategy (shared by `plan`, `recommend`-like commands and `evaluate policy`).
#[derive(Debug, clap::Args)]
pub struct StrategyArgs {
    /// Strategy configuration: costs, penalty, exploration, segments, capacities, contact rules
    /// (default: models/strategy.toml if present, else the shipped defaults).
    #[arg(long = "policy", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Response bundle (default: the current `response` version of the registry under
    /// --models).
    #[arg(long)]
    pub response: Option<PathBuf>,
    /// Registry root.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
}

impl Default for StrategyArgs {
    /// The registry under `models` with its strategy.toml, as the flags' defaults.
    fn default() -> Self {
        StrategyArgs {
            policy: None,
            response: None,
            models: PathBuf::from("models"),
        }
    }
}

impl StrategyArgs {
    /// The response models' version the recommender uses (the registry's current one, or the
    /// directory given).
    pub fn version(&self) -> String {
        match &self.response {
            Some(d) => d.display().to_string(),
            None => forbear_models::Registry::new(&self.models)
                .current("response")
                .ok()
                .flatten()
                .unwrap_or_else(|| "unknown".into()),
        }
    }

    /// The strategy configuration: --policy, else the registry's strategy.toml, else the
    /// shipped defaults.
    pub fn config(&self) -> Result<StrategyConfig> {
        Ok(match &self.policy {
            Some(p) => StrategyConfig::load(p)?,
            None => {
                let shipped = self.models.join("strategy.toml");
                if shipped.is_file() {
                    StrategyConfig::load(&shipped)?
                } else {
                    StrategyConfig::default()
                }
            }
        })
    }

    /// The recommender; with `greedy`, exploration is turned off.
    pub fn recommender(&self, greedy: bool) -> Result<Recommender> {
        let mut config = self.config()?;
        if greedy {
            config.exploration.mode = ExplorationMode::None;
        }
        let dir = match &self.response {
            Some(d) => d.clone(),
            None => {
                let reg = forbear_models::Registry::new(&self.models);
                let version = reg.current("response")?.with_context(|| {
                    format!(
                        "no current response models in {}: train them with `forbear train response --data DIR` and promote the version, or pass --response DIR",
                        self.models.display()
                    )
                })?;
                self.models.join("response").join(version)
            }
        };
        let model = ResponseBundle::load(&dir)?;
        Ok(Recommender::new(config, Arc::new(model)))
    }
}
