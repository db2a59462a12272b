//! `forbear evaluate policy`: a new strategy's value estimated from logged history before it goes
//! live.
//!
//! Every logged contact with its outcome observed is a decision of the logging policy with a
//! known propensity. At each, the recommender (the response models and the strategy
//! configuration being evaluated, exploration included) is asked for its distribution over the
//! options of that account and day; the logged action's probability under it, the logged
//! propensity and the realised reward — the amount paid within 7 days in base currency, less the
//! contact's cost and the complaint penalty if the customer complained or opted out — feed IPS,
//! SNIPS and doubly robust ([`forbear_strategy::ope`]), the response models serving as the
//! reward model of DR.
//!
//! Off-policy evaluation can only see what the logging policy tried: a strategy that often does
//! nothing where the logging policy always contacted is judged mostly by its model (DR) or by few
//! decisions (IPS); the effective sample size and a warning say so.

use crate::TrainError;
use crate::response::{Logs, OUTCOME_DAYS, load_logs};
use crate::situations::{account_day, par_map};
use chrono::{Duration, NaiveDate};
use forbear_features::DpdSeries;
use forbear_strategy::ope::{self, Logged, OpeConfig, OpeReport};
use forbear_strategy::recommend::{Recommender, Scratch};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to evaluate on.
#[derive(Debug, Clone, Default)]
pub struct PolicyEvalOptions {
    /// First decision day (default: two months after the history starts).
    pub from: Option<NaiveDate>,
    /// Last decision day (default: the last with its outcome observed).
    pub to: Option<NaiveDate>,
    /// Estimators' settings.
    pub ope: OpeConfig,
}

/// The evaluation, as written to `evaluation.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyEvaluation {
    /// The dataset.
    pub data: PathBuf,
    /// The models evaluated.
    pub model_version: String,
    /// Unit of every value.
    pub unit: String,
    /// First and last decision day.
    pub period: (String, String),
    /// Estimates; `logged` is the logging policy's observed mean reward.
    pub estimates: OpeReport,
    /// Mean probability the evaluated policy gives to the logged action.
    pub mean_target_probability: f64,
    /// Share of decisions at which the evaluated policy's preferred option is no contact.
    pub prefers_no_contact: f64,
    /// Share of logged actions the evaluated policy could not take (segment or rules).
    pub logged_action_unavailable: f64,
}

/// Evaluates `recommender` on the logged contacts of a dataset.
pub fn evaluate_policy(
    data: &Path,
    recommender: &Recommender,
    opts: &PolicyEvalOptions,
) -> Result<PolicyEvaluation, TrainError> {
    let Logs {
        accounts,
        contacts,
        first_day,
        last_day,
    } = load_logs(data)?;
    let from = opts.from.unwrap_or(first_day + Duration::days(60));
    let to = opts
        .to
        .unwrap_or(last_day - Duration::days(OUTCOME_DAYS))
        .min(last_day - Duration::days(OUTCOME_DAYS));
    if from > to {
        return Err(TrainError::TooFew {
            path: data.to_path_buf(),
            what: format!(
                "no decision day between {from} and {to} has its {OUTCOME_DAYS}-day outcome observed (history ends {last_day})"
            ),
        });
    }
    let cfg = recommender.config();
    let pairs: Vec<usize> = (0..accounts.len()).collect();
    // Per decision: (logged row, target prefers none, logged unavailable).
    let rows: Vec<(Logged, bool, bool)> = par_map(&pairs, &|&k| {
        let a = &accounts[k];
        let mut out = Vec::new();
        let Some(first) = a.history.bills.first().map(|b| b.issued_on) else {
            return out;
        };
        let Some(to_base) = cfg.to_base(a.currency) else {
            return out;
        };
        let series = DpdSeries::new(&a.history, first.min(from), last_day);
        let mut scratch = Scratch::default();
        for c in &contacts[k] {
            let day = a.zone.local(c.at).date();
            if day < from || day > to || c.balance <= 0 {
                continue;
            }
            let Some(ad) = account_day(a, day, Some(&series)) else {
                continue;
            };
            let s = ad.situation();
            let rec = recommender.recommend_with(&s, &mut scratch);
            let Some(est) = recommender.logged_estimate(&s, &rec, (c.action, c.at), &mut scratch)
            else {
                continue;
            };
            let penalty = if c.complaint {
                cfg.complaint_penalty
            } else {
                0.0
            };
            let reward = c.paid_7d as f64 * to_base - cfg.cost_of(c.action.channel) - penalty;
            out.push((
                Logged {
                    reward,
                    propensity: c.propensity,
                    target: est.target,
                    q_logged: est.q_logged,
                    q_target: est.q_target,
                },
                rec.ranked
                    .get(rec.greedy)
                    .is_some_and(|o| o.action.is_none()),
                !est.available,
            ));
        }
        out
    });
    let logged: Vec<Logged> = rows.iter().map(|r| r.0).collect();
    let n = logged.len().max(1) as f64;
    let estimates = ope::evaluate(&logged, &opts.ope).map_err(|e| TrainError::TooFew {
        path: data.to_path_buf(),
        what: format!("off-policy evaluation: {e}"),
    })?;
    Ok(PolicyEvaluation {
        data: data.to_path_buf(),
        model_version: recommender.model_version(),
        unit: format!(
            "{} minor units per decision: paid within {OUTCOME_DAYS} days less contact cost and complaint penalty",
            cfg.base_currency
        ),
        period: (from.to_string(), to.to_string()),
        estimates,
        mean_target_probability: logged.iter().map(|l| l.target).sum::<f64>() / n,
        prefers_no_contact: rows.iter().filter(|r| r.1).count() as f64 / n,
        logged_action_unavailable: rows.iter().filter(|r| r.2).count() as f64 / n,
    })
}
