//! A policy judged by the truth: on a fresh simulated history, at every decision the logging
//! policy makes on an overdue account in the evaluation period, what the logging policy, the
//! recommender and an oracle would each do — valued by the simulator's true expectations
//! ([`forbear_sim::Customer::truth`]), not by any model.
//!
//! Each decision is a one-step counterfactual: "this action today, then nothing for 7 days"
//! against "nothing at all", from the state the logging policy's history led to; the
//! trajectory then continues with the logging policy's action. The oracle takes, among the same
//! allowed options the recommender sees, the one with the best true value by the configured
//! objective (expected amount collected net of contact cost, less the complaint penalty).

use crate::history::history_of;
use chrono::{Duration, NaiveDate, NaiveTime};
use forbear_core::{AccountId, ContactAction, Money, SubscriptionType};
use forbear_features::{DpdSeries, ResponseState};
use forbear_sim::Event;
use forbear_sim::customer::Customer;
use forbear_sim::generate::{HistoryConfig, simulate_account_observed};
use forbear_strategy::config::StrategyConfig;
use forbear_strategy::ope::{self, Logged, OpeConfig, OpeReport};
use forbear_strategy::recommend::{Recommender, Scratch, Situation};
use serde::Serialize;

/// Totals of one policy over the decisions, base-currency minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PolicyTotals {
    /// Expected amount collected within 7 days above doing nothing, net of contact cost.
    pub net_collected: f64,
    /// The same less the complaint penalty: the objective.
    pub objective: f64,
    /// Expected complaints.
    pub complaints: f64,
    /// Contacts made.
    pub contacts: u64,
    /// Contact cost.
    pub cost: f64,
    /// Decisions where it broke a contact rule.
    pub violations: u64,
    /// Contacts per channel, in [`forbear_core::Channel::ALL`] order.
    pub by_channel: [u64; 7],
    /// Contacts per tone, in [`forbear_core::Tone::ALL`] order.
    pub by_tone: [u64; 4],
    /// Contacts per send window, in [`forbear_core::SendWindow::ALL`] order.
    pub by_window: [u64; 6],
}

/// The result of an evaluation against the truth.
#[derive(Debug, Clone, Serialize)]
pub struct TruthReport {
    /// Accounts simulated.
    pub accounts: u64,
    /// Seed of the fresh history.
    pub seed: u64,
    /// First day of the evaluation period.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Decisions evaluated.
    pub decisions: u64,
    /// The logging policy.
    pub logging: PolicyTotals,
    /// The recommender.
    pub learned: PolicyTotals,
    /// The oracle (best true objective among the allowed options).
    pub oracle: PolicyTotals,
    /// Share of the oracle's gain over the logging policy in net collected that the recommender
    /// captures.
    pub captured_net: f64,
    /// The same for the objective (net collected less the complaint penalty).
    pub captured_objective: f64,
    /// Decisions where the recommender chose to do nothing.
    pub learned_no_contact: u64,
    /// Decisions where the oracle did.
    pub oracle_no_contact: u64,
    /// The recommender's true value per logged decision (absolute: paid within 7 days in base
    /// minor units, less cost and complaint penalty), with its exploration.
    pub true_value_per_decision: f64,
    /// The same estimated off-policy from the logged contacts and their realised outcomes.
    pub ope: Option<OpeReport>,
    /// Whether the doubly-robust interval covers the true value.
    pub dr_covers_truth: Option<bool>,
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct TruthEvalConfig {
    /// Accounts.
    pub accounts: u64,
    /// Months of history before the evaluation period (features need them).
    pub history_months: u32,
    /// Days evaluated at the end.
    pub eval_days: i64,
    /// Seed of the fresh history (not the one the models were trained on).
    pub seed: u64,
}

impl Default for TruthEvalConfig {
    fn default() -> Self {
        TruthEvalConfig {
            accounts: 5_000,
            history_months: 6,
            eval_days: 30,
            seed: 2026,
        }
    }
}

/// The true value of an option, base minor units.
pub(crate) struct Option3 {
    /// Expected amount paid within the truth's horizon over no contact, net of cost.
    pub net: f64,
    /// `net` less the complaint penalty: what the recommender maximises.
    pub objective: f64,
    complaint: f64,
    cost: f64,
}

/// The oracle's pick among valued options: the best true objective, when it beats no contact.
pub(crate) fn oracle_pick<T, V: std::borrow::Borrow<Option3>>(
    valued: impl IntoIterator<Item = (T, V)>,
) -> Option<(T, V)> {
    valued
        .into_iter()
        .max_by(|a, b| a.1.borrow().objective.total_cmp(&b.1.borrow().objective))
        .filter(|(_, v)| v.borrow().objective > 0.0)
}

/// True values of an action against no contact, base minor units.
pub(crate) fn true_value(
    c: &Customer,
    day: NaiveDate,
    action: Option<(ContactAction, chrono::DateTime<chrono::Utc>)>,
    none_paid: f64,
    to_base: f64,
    cfg: &StrategyConfig,
) -> Option3 {
    match action {
        None => Option3 {
            net: 0.0,
            objective: 0.0,
            complaint: 0.0,
            cost: 0.0,
        },
        Some((a, at)) => {
            let t = c.truth(day, Some((a, at)));
            let cost = cfg.cost_of(a.channel);
            let net = (t.expected_paid_7d_minor as f64 - none_paid) * to_base - cost;
            Option3 {
                net,
                objective: net - cfg.complaint_penalty * t.p_complaint,
                complaint: t.p_complaint,
                cost,
            }
        }
    }
}

fn add(t: &mut PolicyTotals, o: &Option3, contact: Option<ContactAction>) {
    if let Some(a) = contact {
        t.by_channel[a.channel.index()] += 1;
        t.by_tone[a.tone.index()] += 1;
        t.by_window[a.window.index()] += 1;
    }
    let contact = contact.is_some();
    t.net_collected += o.net;
    t.objective += o.objective;
    t.complaints += o.complaint;
    t.cost += o.cost;
    t.contacts += u64::from(contact);
}

fn merge(a: &mut PolicyTotals, b: &PolicyTotals) {
    a.net_collected += b.net_collected;
    a.objective += b.objective;
    a.complaints += b.complaints;
    a.contacts += b.contacts;
    a.cost += b.cost;
    a.violations += b.violations;
    for (x, y) in a.by_channel.iter_mut().zip(&b.by_channel) {
        *x += y;
    }
    for (x, y) in a.by_tone.iter_mut().zip(&b.by_tone) {
        *x += y;
    }
    for (x, y) in a.by_window.iter_mut().zip(&b.by_window) {
        *x += y;
    }
}

/// A logged decision waiting for its outcome.
struct Pending {
    at: chrono::DateTime<chrono::Utc>,
    propensity: f64,
    target: f64,
    q_logged: f64,
    q_target: f64,
    true_target: f64,
    to_base: f64,
    cost: f64,
}

#[derive(Default)]
struct Partial {
    logged: Vec<Logged>,
    true_target: Vec<f64>,
    decisions: u64,
    logging: PolicyTotals,
    learned: PolicyTotals,
    oracle: PolicyTotals,
    learned_none: u64,
    oracle_none: u64,
}

/// Evaluates `recommender` (with exploration as configured — turn it off for this) against the
/// logging policy and the oracle.
pub fn evaluate_against_truth(cfg: &TruthEvalConfig, recommender: &Recommender) -> TruthReport {
    let hist = HistoryConfig::new(
        cfg.accounts,
        cfg.history_months + (cfg.eval_days as u64).div_ceil(30) as u32,
        cfg.seed,
    );
    let from = hist.end - Duration::days(cfg.eval_days - 1);
    let strategy = recommender.config();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ids: Vec<u64> = (1..=cfg.accounts).collect();
    let chunk = ids.len().div_ceil(threads).max(1);
    let partials: Vec<Partial> = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .chunks(chunk)
            .map(|chunk| {
                let hist = &hist;
                s.spawn(move || {
                    let mut p = Partial::default();
                    let mut scratch = Scratch::default();
                    for &k in chunk {
                        let Ok(id) = AccountId::new(k as i64) else {
                            continue;
                        };
                        let mut pending: Vec<Pending> = Vec::new();
                        let mut observe = |c: &Customer,
                                           day: NaiveDate,
                                           d: &forbear_sim::policy::Decision,
                                           events: &[_]| {
                            if day < from || c.profile.subscription != SubscriptionType::Postpaid {
                                return;
                            }
                            let view = c.view(day);
                            if view.overdue <= 0 {
                                return;
                            }
                            let Some(to_base) = strategy.to_base(c.profile.market.currency) else {
                                return;
                            };
                            let h = history_of(c, events);
                            let Some(first) = h.bills.first().map(|b| b.issued_on) else {
                                return;
                            };
                            let series = DpdSeries::new(&h, first.min(day), day);
                            let state = ResponseState::at(&h, &series, day, c.profile.zone);
                            let facts = c.contact_facts(day);
                            let situation = Situation {
                                account: k as i64,
                                state: &state,
                                facts,
                                balance: Money::new(view.balance, c.profile.market.currency),
                                customer_type: c.profile.customer_type,
                                language: c.profile.market.language,
                                not_before: c.profile.zone.at(day, NaiveTime::MIN),
                            };
                            let rec = recommender.recommend_with(&situation, &mut scratch);
                            let none_paid = c.truth(day, None).expected_paid_7d_minor as f64;
                            let value = |a| true_value(c, day, a, none_paid, to_base, strategy);
                            p.decisions += 1;
                            add(
                                &mut p.logging,
                                &value(Some((d.action, d.at))),
                                Some(d.action),
                            );
                            let chosen = rec.chosen.action.zip(rec.chosen.send_at_utc);
                            add(&mut p.learned, &value(chosen), chosen.map(|c| c.0));
                            if let Some((a, at)) = chosen
                                && strategy.rules.check(&facts, a.channel, a.tone, at).is_err()
                            {
                                p.learned.violations += 1;
                            }
                            p.learned_none += u64::from(chosen.is_none());
                            // The true value of every option, once: the oracle takes the best
                            // of the same options; off-policy evaluation weighs them by the
                            // policy's probabilities.
                            let truths: Vec<Option3> = rec
                                .ranked
                                .iter()
                                .map(|r| value(r.action.zip(r.send_at_utc)))
                                .collect();
                            let best = oracle_pick(
                                rec.ranked
                                    .iter()
                                    .zip(&truths)
                                    .filter(|(r, _)| r.action.is_some()),
                            );
                            match best {
                                Some((r, t)) => add(&mut p.oracle, t, r.action),
                                None => add(&mut p.oracle, &value(None), None),
                            }
                            p.oracle_none += u64::from(best.is_none());
                            let Some(est) = recommender.logged_estimate(
                                &situation,
                                &rec,
                                (d.action, d.at),
                                &mut scratch,
                            ) else {
                                return;
                            };
                            let none_base = none_paid * to_base;
                            let true_target: f64 = truths
                                .iter()
                                .zip(&est.probs)
                                .map(|(t, pk)| pk * (t.objective + none_base))
                                .sum::<f64>()
                                + if est.probs.is_empty() { none_base } else { 0.0 };
                            pending.push(Pending {
                                at: d.at,
                                propensity: d.propensity,
                                target: est.target,
                                q_logged: est.q_logged,
                                q_target: est.q_target,
                                true_target,
                                to_base,
                                cost: strategy.cost_of(d.action.channel),
                            });
                        };
                        let lived = simulate_account_observed(hist, id, &mut observe);
                        // Realised rewards of the logged contacts, now that their week is known.
                        for q in pending.drain(..) {
                            let paid: i64 = lived
                                .events
                                .iter()
                                .filter_map(|(_, e, _)| match e {
                                    Event::PaymentReceived { at, amount, .. }
                                        if *at > q.at && *at <= q.at + Duration::days(7) =>
                                    {
                                        Some(*amount)
                                    }
                                    _ => None,
                                })
                                .sum();
                            let complained = lived.events.iter().any(|(_, e, _)| {
                                matches!(e, Event::Contacted(o) if o.at == q.at && (o.complaint || o.opted_out))
                            });
                            let penalty = if complained {
                                strategy.complaint_penalty
                            } else {
                                0.0
                            };
                            p.logged.push(Logged {
                                reward: paid as f64 * q.to_base - q.cost - penalty,
                                propensity: q.propensity,
                                target: q.target,
                                q_logged: q.q_logged,
                                q_target: q.q_target,
                            });
                            p.true_target.push(q.true_target);
                        }
                    }
                    p
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut total = Partial::default();
    for p in &partials {
        total.decisions += p.decisions;
        merge(&mut total.logging, &p.logging);
        merge(&mut total.learned, &p.learned);
        merge(&mut total.oracle, &p.oracle);
        total.learned_none += p.learned_none;
        total.oracle_none += p.oracle_none;
    }
    let logged: Vec<Logged> = partials.iter().flat_map(|p| p.logged.clone()).collect();
    let true_value = partials
        .iter()
        .flat_map(|p| p.true_target.iter())
        .sum::<f64>()
        / logged.len().max(1) as f64;
    let ope = ope::evaluate(
        &logged,
        &OpeConfig {
            replicates: 500,
            seed: cfg.seed,
            ..OpeConfig::default()
        },
    )
    .ok();
    let share = |l: f64, r: f64, o: f64| {
        if o - l > 0.0 {
            (r - l) / (o - l)
        } else {
            f64::NAN
        }
    };
    TruthReport {
        accounts: cfg.accounts,
        seed: cfg.seed,
        from,
        to: hist.end,
        decisions: total.decisions,
        captured_net: share(
            total.logging.net_collected,
            total.learned.net_collected,
            total.oracle.net_collected,
        ),
        captured_objective: share(
            total.logging.objective,
            total.learned.objective,
            total.oracle.objective,
        ),
        logging: total.logging,
        learned: total.learned,
        oracle: total.oracle,
        learned_no_contact: total.learned_none,
        oracle_no_contact: total.oracle_none,
        dr_covers_truth: ope.as_ref().map(|o| o.dr.covers(true_value)),
        true_value_per_decision: true_value,
        ope,
    }
}
