//! The truth oracle as a recommender: the upper bound of a model-driven arm in the strategy lab.
//!
//! It answers the engine's question (channel, time and tone for a contact step) the way the
//! oracle of [`crate::truth_eval`] does: among the options the recommender would consider —
//! the same channels, windows, tones and contact rules — it takes the one with the best true
//! objective (expected amount paid within the truth's horizon over no contact, net of cost and
//! complaint penalty), or no contact when none is worth it. The truth comes from a copy of the
//! simulated customers the lab refreshes after each simulated day ([`TruthOracle::see`]),
//! before the engine decides. Only the lab can build one: it reads what no model may see.

use crate::truth_eval::{oracle_pick, true_value};
use forbear_core::AccountId;
use forbear_engine::port::{Ask, Recommender, Suggestion};
use forbear_engine::recommend::ModelRecommender;
use forbear_sim::{Customer, Portfolio};
use std::collections::HashMap;
use std::sync::RwLock;

/// The oracle: the recommender's options, chosen by the simulator's truth.
#[derive(Debug)]
pub struct TruthOracle {
    options: ModelRecommender,
    customers: RwLock<HashMap<AccountId, Customer>>,
}

impl TruthOracle {
    /// An oracle choosing among the options `options` considers, under its strategy (costs,
    /// complaint penalty, exchange rates).
    pub fn new(options: ModelRecommender) -> Self {
        TruthOracle {
            options,
            customers: RwLock::new(HashMap::new()),
        }
    }

    /// Takes the customers as they are now (after a simulated day, before the engine acts).
    pub fn see(&self, portfolio: &Portfolio) {
        let Ok(mut seen) = self.customers.write() else {
            return;
        };
        for c in portfolio.customers() {
            match seen.get_mut(&c.profile.id) {
                Some(s) => s.clone_from(c),
                None => {
                    seen.insert(c.profile.id, c.clone());
                }
            }
        }
    }
}

impl Recommender for TruthOracle {
    fn suggest(&self, ask: &Ask<'_>) -> Result<Option<Suggestion>, String> {
        let Some(r) = self.options.recommendation(ask) else {
            return Ok(None);
        };
        let seen = self
            .customers
            .read()
            .map_err(|_| "truth oracle: the customers' copy is poisoned".to_string())?;
        let Some(c) = seen.get(&ask.state.account) else {
            return Ok(None);
        };
        let strategy = self.options.config();
        let Some(to_base) = strategy.to_base(c.profile.market.currency) else {
            return Ok(None);
        };
        let none_paid = c.truth(r.date, None).expected_paid_7d_minor as f64;
        let best = oracle_pick(
            r.ranked
                .iter()
                .filter_map(|o| o.action.zip(o.send_at_utc))
                .map(|o| {
                    (
                        o,
                        true_value(c, r.date, Some(o), none_paid, to_base, strategy),
                    )
                }),
        );
        Ok(best.map(|((a, at), _)| Suggestion {
            channel: a.channel,
            tone: ask.tone.unwrap_or(a.tone),
            send_at: at,
            propensity: 1.0,
            model: "truth oracle".into(),
        }))
    }
}
