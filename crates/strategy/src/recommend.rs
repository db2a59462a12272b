//! The next contact for one account: every allowed action valued, the best (or nothing) chosen,
//! with exploration and its probability.
//!
//! For an account's state on a decision day the recommender
//! 1. lists the candidate actions: the segment's channels and tones, each channel in each send
//!    window at the earliest instant of that window the contact rules
//!    ([`forbear_core::rules::ContactRules`], the one implementation every outbound action passes)
//!    allow on that day — so quiet hours in local time, call limits, cool-downs, consent,
//!    opt-outs and holds are never broken by a recommendation;
//! 2. scores them and "no contact" with the response models in one batch;
//! 3. values each: `P(pay|a)·E[share|pay,a]·balance − P(pay|none)·E[share|pay,none]·balance −
//!    cost(a) − penalty·P(complaint|a)`, in base-currency minor units;
//! 4. picks the best if its value exceeds `min_value`, else nothing — many accounts cure by
//!    themselves — then explores as configured, and reports the probability of what it chose.
//!
//! Before the due date only accounts whose chance of not paying without a nudge is at least
//! `preventive.min_risk` are considered.

use crate::config::{ExplorationMode, StrategyConfig};
use crate::model::{ModelScratch, Prediction, ResponseModel};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use forbear_core::rules::{ContactFacts, Violation};
use forbear_core::{Channel, ContactAction, CustomerType, Money, Rng, SendWindow, Tone};
use forbear_features::ResponseState;
use serde::Serialize;
use std::sync::Arc;

/// Options of a recommendation shown with their details (local time, template, P(promise)).
pub const DETAILED: usize = 10;

/// What the recommender is told about one account.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    /// Account id (seeds the exploration draw with the date).
    pub account: i64,
    /// The account's state on the morning of the decision day.
    pub state: &'a ResponseState,
    /// What the contact rules need.
    pub facts: ContactFacts<'a>,
    /// Amount due and unpaid (overdue, plus the coming bill before the due date).
    pub balance: Money,
    /// Customer type (the segment's allowed actions).
    pub customer_type: CustomerType,
    /// Language of messages (template keys).
    pub language: &'a str,
    /// No contact before this instant (now, for a decision made during the day).
    pub not_before: DateTime<Utc>,
}

/// One option, valued.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// The action; `None` is no contact today.
    pub action: Option<ContactAction>,
    /// When to send it, UTC.
    pub send_at_utc: Option<DateTime<Utc>>,
    /// When to send it, the customer's local time (for the options shown — the first
    /// [`DETAILED`] unless fewer are asked — and the chosen one).
    pub send_at_local: Option<NaiveDateTime>,
    /// Message template key (for the options shown and the chosen one).
    pub template: Option<String>,
    /// Expected value net of cost and complaint penalty, over no contact; base minor units.
    pub value: f64,
    /// P(read or answered).
    pub p_respond: f64,
    /// P(payment within 7 days).
    pub p_pay: f64,
    /// Expected amount paid within 7 days, minor units of the account's currency.
    pub expected_paid_minor: f64,
    /// P(promise to pay); for the options shown and the chosen one only.
    pub p_promise: Option<f64>,
    /// P(complaint or opt-out).
    pub p_complaint: f64,
    /// Contact cost, base minor units.
    pub cost: f64,
}

/// The recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// Account id.
    pub account: i64,
    /// Decision day (the customer's local date).
    pub date: NaiveDate,
    /// What to do: the action and when, or nothing today.
    pub chosen: Scored,
    /// Probability with which `chosen` was picked under the exploration mode.
    pub propensity: f64,
    /// Whether exploration, not the best value, picked it.
    pub explored: bool,
    /// The exploration mode.
    pub exploration: ExplorationMode,
    /// Every option valued, best first (no contact included, with value 0).
    pub ranked: Vec<Scored>,
    /// Why this is the answer, in words.
    pub reason: String,
    /// Channels no window of which the rules allowed today, with the first rule that blocked.
    pub blocked: Vec<(Channel, String)>,
    /// Versions of the models used.
    pub model_version: String,
    /// Index in `ranked` of the option the policy prefers before exploring.
    pub greedy: usize,
}

/// A logged action as the evaluated policy sees it ([`Recommender::logged_estimate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEstimate {
    /// Probability the policy gives the logged action.
    pub target: f64,
    /// The models' value of the logged action.
    pub q_logged: f64,
    /// The models' value of the policy (its options weighted by their probabilities).
    pub q_target: f64,
    /// Whether the logged action was among the policy's options.
    pub available: bool,
    /// The policy's probability of each of the recommendation's ranked options.
    pub probs: Vec<f64>,
}

/// Buffers reused between recommendations (one per thread).
#[derive(Debug, Default)]
pub struct Scratch {
    preds: Vec<Prediction>,
    model: ModelScratch,
    options: Vec<(ContactAction, DateTime<Utc>)>,
}

/// The recommender: a configuration and response models.
#[derive(Clone)]
pub struct Recommender {
    config: StrategyConfig,
    model: Arc<dyn ResponseModel>,
}

impl std::fmt::Debug for Recommender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recommender")
            .field("model", &self.model.version())
            .finish()
    }
}

/// The send windows of local `date` as instants, `[start, end)` each, in [`SendWindow::ALL`]
/// order (computed once per recommendation: time-zone conversions are not free).
fn window_bounds(
    s: &Situation<'_>,
    date: NaiveDate,
) -> Vec<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let zone = s.facts.time_zone;
    let at = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).map(|t| zone.at(date, t));
    SendWindow::ALL
        .iter()
        .map(|w| at(w.start_hour()).zip(at(w.end_hour())))
        .collect()
}

/// The earliest instant in `[start, end)` at or after `not_before`, in steps of 15 minutes, at
/// which `allowed` holds.
fn earliest_in_window(
    s: &Situation<'_>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    allowed: &mut dyn FnMut(DateTime<Utc>) -> Result<(), Violation>,
    first_violation: &mut Option<Violation>,
) -> Option<DateTime<Utc>> {
    let mut at = start.max(s.not_before);
    // Round up to a quarter hour.
    let rem = (at.minute() % 15) as i64;
    if rem != 0 || at.second() != 0 {
        at = at + Duration::minutes(15 - rem) - Duration::seconds(i64::from(at.second()));
    }
    while at < end {
        match allowed(at) {
            Ok(()) => return Some(at),
            Err(v) => {
                first_violation.get_or_insert(v);
            }
        }
        at += Duration::minutes(15);
    }
    None
}

impl Recommender {
    /// A recommender with a configuration and models.
    pub fn new(config: StrategyConfig, model: Arc<dyn ResponseModel>) -> Self {
        Recommender { config, model }
    }

    /// The configuration.
    pub fn config(&self) -> &StrategyConfig {
        &self.config
    }

    /// The models' version.
    pub fn model_version(&self) -> String {
        self.model.version()
    }

    /// Whether an account is a candidate for contact at all: overdue, or its bill falls due
    /// within the preventive window. Callers with many accounts check this before building
    /// states.
    pub fn in_scope(&self, overdue: bool, days_to_due: Option<f64>) -> bool {
        overdue
            || days_to_due.is_some_and(|d| d <= f64::from(self.config.preventive.days_before_due))
    }

    /// The recommendation for one account.
    pub fn recommend(&self, s: &Situation<'_>) -> Recommendation {
        self.recommend_with(s, &mut Scratch::default())
    }

    /// [`Recommender::recommend`] reusing buffers.
    pub fn recommend_with(&self, s: &Situation<'_>, scratch: &mut Scratch) -> Recommendation {
        self.recommend_detailed(s, scratch, DETAILED, true)
    }

    /// [`Recommender::recommend_with`] with the details (local time, template, and P(promise)
    /// when `promise`) of only the first `shown` options (at most [`DETAILED`]) and the chosen
    /// one: a caller that shows five alternatives and no P(promise) need not pay for ten and
    /// a model's worth of trees.
    pub fn recommend_detailed(
        &self,
        s: &Situation<'_>,
        scratch: &mut Scratch,
        shown: usize,
        promise: bool,
    ) -> Recommendation {
        let cfg = &self.config;
        let date = s.state.date();
        let mut out = Recommendation {
            account: s.account,
            date,
            chosen: none_scored(),
            propensity: 1.0,
            explored: false,
            exploration: cfg.exploration.mode,
            ranked: Vec::new(),
            reason: String::new(),
            blocked: Vec::new(),
            model_version: self.model.version(),
            greedy: 0,
        };
        let Some(to_base) = cfg.to_base(s.balance.currency()) else {
            out.reason = format!(
                "do nothing: no exchange rate for {} in the strategy configuration",
                s.balance.currency()
            );
            return out;
        };
        if s.balance.minor() <= 0 {
            out.reason = "do nothing: nothing is owed".into();
            return out;
        }
        if s.facts.dispute_open || s.facts.statutory_hold {
            out.reason = format!(
                "do nothing: {}",
                if s.facts.dispute_open {
                    Violation::DisputeOpen
                } else {
                    Violation::StatutoryHold
                }
            );
            return out;
        }
        let overdue = s.state.risk("dpd_now").is_some_and(|d| d > 0.0);
        let days_to_due = s.state.days_to_due();
        let preventive = !overdue && self.in_scope(false, days_to_due);
        if !self.in_scope(overdue, days_to_due) {
            out.reason = "do nothing: not overdue, and the bill is not due soon".into();
            return out;
        }
        let Some(segment) = cfg.segment(s.customer_type) else {
            out.reason = "do nothing: no segment allows any action".into();
            return out;
        };
        let tones: Vec<Tone> = segment
            .tones
            .iter()
            .copied()
            .filter(|t| !s.facts.hardship || *t == Tone::Empathetic)
            .collect();
        // Candidate instants: each allowed channel in each window, checked by the rules.
        scratch.options.clear();
        let bounds = window_bounds(s, date);
        if let Some(&tone0) = tones.first() {
            for &channel in &segment.channels {
                let mut first_violation = None;
                let before = scratch.options.len();
                for (&window, bounds) in SendWindow::ALL.iter().zip(&bounds) {
                    let mut allowed = |at| cfg.rules.check(&s.facts, channel, tone0, at);
                    if let Some(at) = bounds
                        .and_then(|b| earliest_in_window(s, b, &mut allowed, &mut first_violation))
                    {
                        for &tone in &tones {
                            scratch.options.push((
                                ContactAction {
                                    channel,
                                    window,
                                    tone,
                                },
                                at,
                            ));
                        }
                    }
                }
                if scratch.options.len() == before {
                    let why = first_violation
                        .map_or_else(|| "no window left today".to_owned(), |v| v.to_string());
                    out.blocked.push((channel, why));
                }
            }
        }
        // Score no contact and every option in one batch.
        let options = std::mem::take(&mut scratch.options);
        let (base, mut ranked) = self.score(s, &options, to_base, scratch);
        scratch.options = options;
        sort_by_value(&mut ranked);
        if preventive && 1.0 - base.pay < cfg.preventive.min_risk {
            // Low risk before the due date: leave the customer alone.
            out.reason = format!(
                "do nothing: due in {} days and {:.0}% likely to pay within 7 days without a nudge",
                days_to_due.unwrap_or(0.0),
                100.0 * base.pay
            );
            ranked.retain(|r| r.action.is_none());
            out.ranked = ranked;
            return out;
        }
        // The greedy choice: the best action if it beats doing nothing by min_value.
        let best = ranked
            .iter()
            .position(|r| r.action.is_none() || r.value > cfg.min_value)
            .unwrap_or(0);
        let best = if ranked[best].action.is_some() {
            best
        } else {
            ranked.iter().position(|r| r.action.is_none()).unwrap_or(0)
        };
        out.greedy = best;
        let (pick, propensity) = self.explore(s, &ranked, best);
        // Details (local time, template, P(promise)) for what is shown.
        let shown = ranked.len().min(shown.min(DETAILED));
        self.detail(s, &mut ranked[..shown], scratch, promise);
        if pick >= shown {
            self.detail(s, &mut ranked[pick..=pick], scratch, promise);
        }
        out.explored = pick != best;
        out.propensity = propensity;
        out.chosen = ranked[pick].clone();
        out.reason = match (&out.chosen.action, out.explored) {
            (_, true) => format!("explored ({:?})", cfg.exploration.mode).to_lowercase(),
            (None, false) if ranked.len() == 1 => {
                "do nothing: no action is allowed today".to_owned()
            }
            (None, false) => format!(
                "do nothing: no action is worth more than {:.0} over no contact",
                cfg.min_value
            ),
            (Some(a), false) => format!(
                "{}{} in {} tone: the highest expected value",
                if preventive { "preventive nudge: " } else { "" },
                a.channel,
                a.tone
            ),
        };
        out.ranked = ranked;
        out
    }

    /// No contact and each option valued (no contact first), with the baseline prediction.
    fn score(
        &self,
        s: &Situation<'_>,
        options: &[(ContactAction, DateTime<Utc>)],
        to_base: f64,
        scratch: &mut Scratch,
    ) -> (Prediction, Vec<Scored>) {
        let cfg = &self.config;
        let n = options.len();
        scratch.preds.clear();
        scratch.preds.resize(n, Prediction::default());
        let base = self
            .model
            .predict(s.state, options, &mut scratch.preds, &mut scratch.model);
        let balance = s.balance.minor() as f64;
        let paid_none = base.pay * base.share * balance;
        let mut ranked = Vec::with_capacity(n + 1);
        let mut none = none_scored();
        none.p_pay = base.pay;
        none.expected_paid_minor = paid_none;
        ranked.push(none);
        for (k, (a, at)) in options.iter().enumerate() {
            let p = scratch.preds[k];
            let paid = p.pay * p.share * balance;
            let cost = cfg.cost_of(a.channel);
            let value = (paid - paid_none) * to_base - cost - cfg.complaint_penalty * p.complaint;
            ranked.push(Scored {
                action: Some(*a),
                send_at_utc: Some(*at),
                send_at_local: None,
                template: None,
                value,
                p_respond: p.respond,
                p_pay: p.pay,
                expected_paid_minor: paid,
                p_promise: None,
                p_complaint: p.complaint,
                cost,
            });
        }
        (base, ranked)
    }

    /// Fills the local send time, the template key and (when `with_promise`) P(promise) of
    /// `options`.
    fn detail(
        &self,
        s: &Situation<'_>,
        options: &mut [Scored],
        scratch: &mut Scratch,
        with_promise: bool,
    ) {
        let mut promise = Vec::new();
        if with_promise {
            let acts: Vec<(ContactAction, DateTime<Utc>)> = options
                .iter()
                .filter_map(|o| o.action.zip(o.send_at_utc))
                .collect();
            promise = vec![0.0; acts.len()];
            self.model
                .promise(s.state, &acts, &mut promise, &mut scratch.model);
        }
        let mut k = 0;
        for o in options.iter_mut() {
            if let (Some(a), Some(at)) = (o.action, o.send_at_utc) {
                o.send_at_local = Some(s.facts.time_zone.local(at));
                o.template = Some(a.template_key(s.language));
                o.p_promise = promise.get(k).copied();
                k += 1;
            }
        }
    }

    /// What the policy makes of an action the logging policy took at a decision it was shown
    /// (`rec`, its own recommendation there): the probability it gives that action, and the
    /// models' absolute value (expected paid within 7 days in base minor units, less cost and
    /// complaint penalty) of that action and of the policy — what off-policy evaluation needs.
    /// The logged action is valued from `rec`'s options when it is among them, and scored on
    /// its own only when the rules or the segment kept it out.
    pub fn logged_estimate(
        &self,
        s: &Situation<'_>,
        rec: &Recommendation,
        logged: (ContactAction, DateTime<Utc>),
        scratch: &mut Scratch,
    ) -> Option<LoggedEstimate> {
        let to_base = self.config.to_base(s.balance.currency())?;
        let probs = self.distribution(rec);
        let pos = rec.ranked.iter().position(|o| o.action == Some(logged.0));
        let none = rec.ranked.iter().find(|o| o.action.is_none());
        let (paid_none, q_logged) = match (pos, none) {
            (Some(k), Some(none)) => {
                let paid_none = none.expected_paid_minor * to_base;
                (paid_none, rec.ranked[k].value + paid_none)
            }
            _ => {
                let (base, scored) = self.score(s, &[logged], to_base, scratch);
                let paid_none = base.pay * base.share * s.balance.minor() as f64 * to_base;
                (paid_none, scored.last()?.value + paid_none)
            }
        };
        let q_target = if probs.is_empty() {
            paid_none
        } else {
            rec.ranked
                .iter()
                .zip(&probs)
                .map(|(o, p)| p * (o.value + paid_none))
                .sum()
        };
        Some(LoggedEstimate {
            target: pos.map_or(0.0, |k| probs[k]),
            q_logged,
            q_target,
            available: pos.is_some(),
            probs,
        })
    }

    /// The probability of each option of `r.ranked` under the exploration mode.
    pub fn distribution(&self, r: &Recommendation) -> Vec<f64> {
        let e = &self.config.exploration;
        let n = r.ranked.len();
        match e.mode {
            ExplorationMode::None => (0..n).map(|k| f64::from(u8::from(k == r.greedy))).collect(),
            ExplorationMode::Epsilon => (0..n)
                .map(|k| e.epsilon / n as f64 + if k == r.greedy { 1.0 - e.epsilon } else { 0.0 })
                .collect(),
            ExplorationMode::Softmax => {
                let top = r.ranked.first().map_or(0.0, |x| x.value);
                let w: Vec<f64> = r
                    .ranked
                    .iter()
                    .map(|x| ((x.value - top) / e.temperature).exp())
                    .collect();
                let total: f64 = w.iter().sum();
                w.into_iter().map(|v| v / total).collect()
            }
        }
    }

    /// The option taken under the exploration mode, and its probability.
    fn explore(&self, s: &Situation<'_>, ranked: &[Scored], best: usize) -> (usize, f64) {
        let e = &self.config.exploration;
        let n = ranked.len();
        let key = (s.account as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ s.state.date().num_days_from_ce() as u64;
        let mut rng = Rng::new(e.seed, key);
        match e.mode {
            ExplorationMode::None => (best, 1.0),
            ExplorationMode::Epsilon => {
                let uniform = e.epsilon / n as f64;
                if rng.chance(e.epsilon) {
                    let k = rng.below(n as u64) as usize;
                    let p = if k == best {
                        1.0 - e.epsilon + uniform
                    } else {
                        uniform
                    };
                    (k, p)
                } else {
                    (best, 1.0 - e.epsilon + uniform)
                }
            }
            ExplorationMode::Softmax => {
                let top = ranked[0].value;
                let w: Vec<f64> = ranked
                    .iter()
                    .map(|r| ((r.value - top) / e.temperature).exp())
                    .collect();
                let total: f64 = w.iter().sum();
                let k = rng.weighted(&w);
                (k, w[k] / total)
            }
        }
    }
}

/// Sorts options by value, highest first, equal values keeping their order (as a stable sort
/// would), moving each option once: options are large, their values small.
fn sort_by_value(ranked: &mut Vec<Scored>) {
    let mut order: Vec<(f64, u32)> = ranked
        .iter()
        .enumerate()
        .map(|(i, r)| (r.value, i as u32))
        .collect();
    order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut slots: Vec<Option<Scored>> = ranked.drain(..).map(Some).collect();
    ranked.extend(order.iter().filter_map(|&(_, i)| slots[i as usize].take()));
}

fn none_scored() -> Scored {
    Scored {
        action: None,
        send_at_utc: None,
        send_at_local: None,
        template: None,
        value: 0.0,
        p_respond: 0.0,
        p_pay: 0.0,
        expected_paid_minor: 0.0,
        p_promise: Some(0.0),
        p_complaint: 0.0,
        cost: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StrategyConfig;
    use chrono::{Duration, NaiveDate, NaiveTime};
    use forbear_core::rules::{ChannelSet, PastContact};
    use forbear_core::{Currency, TimeZone};
    use proptest::prelude::*;

    /// A model whose predictions are a fixed pseudo-random function of the row: the rules must
    /// hold whatever the models say.
    struct Noise(u64);

    impl ResponseModel for Noise {
        fn version(&self) -> String {
            "noise".into()
        }
        fn predict(
            &self,
            _: &ResponseState,
            options: &[(ContactAction, DateTime<Utc>)],
            out: &mut [Prediction],
            _: &mut ModelScratch,
        ) -> Prediction {
            let h = |a: Option<&(ContactAction, DateTime<Utc>)>, k: u64| {
                let mut x = self.0 ^ k;
                if let Some((a, at)) = a {
                    x = (x ^ a.index() as u64).wrapping_mul(0x100_0000_01b3);
                    x = (x ^ at.timestamp() as u64).wrapping_mul(0x100_0000_01b3);
                }
                x = (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                (x >> 11) as f64 / (1u64 << 53) as f64
            };
            for (o, a) in out.iter_mut().zip(options) {
                *o = Prediction {
                    respond: h(Some(a), 1),
                    pay: h(Some(a), 2),
                    share: h(Some(a), 3),
                    promise: h(Some(a), 4) * 0.1,
                    complaint: h(Some(a), 5) * 0.05,
                };
            }
            Prediction {
                pay: h(None, 2) * 0.5,
                share: h(None, 3),
                ..Prediction::default()
            }
        }
        fn promise(
            &self,
            _: &ResponseState,
            options: &[(ContactAction, DateTime<Utc>)],
            out: &mut [f64],
            _: &mut ModelScratch,
        ) {
            for (o, a) in out.iter_mut().zip(options) {
                let x = (self.0 ^ a.0.index() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                *o = (x >> 11) as f64 / (1u64 << 53) as f64 * 0.1;
            }
        }
    }

    fn mexico_city() -> TimeZone {
        TimeZone::parse("America/Mexico_City").unwrap()
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 29).unwrap() // a Sunday; DST starts in Europe
    }

    fn state(dpd: i64) -> ResponseState {
        test_support::state(mexico_city(), day(), -dpd)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        // Whatever the account's consent, opt-outs, holds and recent contacts, and whatever the
        // models predict, the recommended contact and every ranked alternative pass the rules,
        // and the chosen option's probability is a probability.
        #[test]
        fn no_recommendation_breaks_a_contact_rule(
            consent in 0u8..128,
            opted in 0u8..128,
            dispute in proptest::bool::weighted(0.1),
            hold in proptest::bool::weighted(0.1),
            hardship in proptest::bool::weighted(0.2),
            recent in proptest::collection::vec((0i64..(8 * 24 * 60), 0usize..7, any::<bool>()), 0..12),
            dpd in -4i64..90,
            start_minutes in 0i64..(24 * 60),
            seed in any::<u64>(),
            mode in 0usize..3,
        ) {
            let mut config = StrategyConfig::default();
            config.exploration.mode = [ExplorationMode::None, ExplorationMode::Epsilon, ExplorationMode::Softmax][mode];
            config.exploration.epsilon = 0.3;
            let rec = Recommender::new(config.clone(), Arc::new(Noise(seed)));
            let zone = mexico_city();
            let midnight = zone.at(day(), NaiveTime::MIN);
            let past: Vec<PastContact> = recent
                .iter()
                .map(|(m, c, talk)| PastContact {
                    conversation: *talk && Channel::ALL[*c].is_call(),
                    ..PastContact::sent(
                        midnight - Duration::days(7) + Duration::minutes(*m),
                        Channel::ALL[*c],
                        None,
                    )
                })
                .collect();
            let facts = ContactFacts {
                time_zone: zone,
                other_zones: &[],
                consent: ChannelSet::ALL.iter().filter(|c| consent & (1 << c.index()) != 0).collect(),
                opted_out: ChannelSet::ALL.iter().filter(|c| opted & (1 << c.index()) != 0).collect(),
                dispute_open: dispute,
                statutory_hold: hold,
                hardship,
                recent: &past,
            };
            let st = state(dpd);
            let s = Situation {
                account: 7,
                state: &st,
                facts,
                balance: Money::new(5_000, Currency::parse("MXN").unwrap()),
                customer_type: CustomerType::Consumer,
                language: "es",
                not_before: midnight + Duration::minutes(start_minutes),
            };
            let r = rec.recommend(&s);
            prop_assert!(r.propensity > 0.0 && r.propensity <= 1.0 + 1e-12);
            for o in std::iter::once(&r.chosen).chain(&r.ranked) {
                if let (Some(a), Some(at)) = (o.action, o.send_at_utc) {
                    prop_assert_eq!(config.rules.violations(&facts, a.channel, a.tone, at), vec![]);
                    prop_assert!(at >= s.not_before);
                    prop_assert_eq!(zone.local(at).date(), day());
                    prop_assert_eq!(SendWindow::containing(zone.local(at).time()), Some(a.window));
                }
            }
            if dispute || hold {
                prop_assert!(r.chosen.action.is_none());
            }
        }
    }
}

#[cfg(test)]
mod choices {
    use super::*;
    use chrono::NaiveTime;
    use forbear_core::rules::ChannelSet;
    use forbear_core::{Currency, TimeZone};

    /// Every contact predicted to do `lift` to the chance of payment; no contact pays with
    /// probability `base`.
    struct Fixed {
        base: f64,
        lift: f64,
    }

    impl ResponseModel for Fixed {
        fn version(&self) -> String {
            "fixed".into()
        }
        fn predict(
            &self,
            _: &ResponseState,
            options: &[(ContactAction, DateTime<Utc>)],
            out: &mut [Prediction],
            _: &mut ModelScratch,
        ) -> Prediction {
            for (o, (a, _)) in out.iter_mut().zip(options) {
                // SMS works best, in the evening.
                let bonus = if a.channel == Channel::Sms && a.window == SendWindow::H19To21 {
                    0.1
                } else {
                    0.0
                };
                *o = Prediction {
                    respond: 0.5,
                    pay: (self.base + self.lift + bonus).min(1.0),
                    share: 1.0,
                    promise: 0.0,
                    complaint: 0.0,
                };
            }
            Prediction {
                pay: self.base,
                share: 1.0,
                ..Prediction::default()
            }
        }
        fn promise(
            &self,
            _: &ResponseState,
            _: &[(ContactAction, DateTime<Utc>)],
            out: &mut [f64],
            _: &mut ModelScratch,
        ) {
            out.fill(0.05);
        }
    }

    fn zone() -> TimeZone {
        TimeZone::parse("Europe/Madrid").unwrap()
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 10).unwrap()
    }

    fn state(due_in: i64) -> ResponseState {
        test_support::state(zone(), day(), due_in)
    }

    fn recommend(
        model: Fixed,
        mode: ExplorationMode,
        st: &ResponseState,
    ) -> (Recommender, Recommendation) {
        let mut config = StrategyConfig::default();
        config.exploration.mode = mode;
        config.exploration.epsilon = 0.2;
        let rec = Recommender::new(config, Arc::new(model));
        let s = Situation {
            account: 11,
            state: st,
            facts: ContactFacts {
                time_zone: zone(),
                other_zones: &[],
                consent: ChannelSet::ALL,
                opted_out: ChannelSet::EMPTY,
                dispute_open: false,
                statutory_hold: false,
                hardship: false,
                recent: &[],
            },
            balance: Money::new(5_000, Currency::parse("EUR").unwrap()),
            customer_type: CustomerType::Consumer,
            language: "es",
            not_before: zone().at(day(), NaiveTime::MIN),
        };
        let r = rec.recommend(&s);
        (rec, r)
    }

    #[test]
    fn the_best_action_comes_with_its_time_template_and_alternatives() {
        let st = state(-10);
        let (_, r) = recommend(
            Fixed {
                base: 0.2,
                lift: 0.1,
            },
            ExplorationMode::None,
            &st,
        );
        let a = r.chosen.action.unwrap();
        assert_eq!((a.channel, a.window), (Channel::Sms, SendWindow::H19To21));
        assert_eq!(
            r.chosen.send_at_local.unwrap().time(),
            NaiveTime::from_hms_opt(19, 0, 0).unwrap()
        );
        // 19:00 in Madrid in June is 17:00 UTC.
        assert_eq!(
            r.chosen.send_at_utc.unwrap().format("%H:%M").to_string(),
            "17:00"
        );
        assert_eq!(r.chosen.template.as_deref(), Some(&*a.template_key("es")));
        assert_eq!(r.propensity, 1.0);
        assert!(r.ranked.len() > 100);
        assert!(r.ranked.windows(2).all(|w| w[0].value >= w[1].value));
        assert!(
            r.ranked[..DETAILED]
                .iter()
                .all(|o| o.template.is_some() || o.action.is_none())
        );
        assert_eq!(r.model_version, "fixed");
    }

    #[test]
    fn nothing_is_sent_when_no_contact_is_worth_its_cost() {
        let st = state(-10);
        let (_, r) = recommend(
            Fixed {
                base: 0.2,
                lift: -0.15,
            },
            ExplorationMode::None,
            &st,
        );
        // Even the best contact (SMS in the evening, +0.1) leaves payment less likely.
        assert!(
            r.chosen.action.is_none(),
            "{:?}: {}",
            r.chosen.action,
            r.reason
        );
        assert!(r.reason.starts_with("do nothing"), "{}", r.reason);
    }

    #[test]
    fn before_the_due_date_only_risky_accounts_are_nudged() {
        let soon = state(3);
        let (_, r) = recommend(
            Fixed {
                base: 0.9,
                lift: 0.05,
            },
            ExplorationMode::None,
            &soon,
        );
        assert!(r.chosen.action.is_none());
        assert!(r.reason.contains("due in 3 days"), "{}", r.reason);
        let (_, r) = recommend(
            Fixed {
                base: 0.2,
                lift: 0.3,
            },
            ExplorationMode::None,
            &soon,
        );
        assert!(r.chosen.action.is_some());
        assert!(r.reason.starts_with("preventive nudge"), "{}", r.reason);
        // Not due for weeks: left alone whatever the model says.
        let later = state(20);
        let (_, r) = recommend(
            Fixed {
                base: 0.0,
                lift: 0.9,
            },
            ExplorationMode::None,
            &later,
        );
        assert!(r.chosen.action.is_none());
    }

    #[test]
    fn exploration_reports_the_probability_of_what_it_chose() {
        let st = state(-10);
        for mode in [ExplorationMode::Epsilon, ExplorationMode::Softmax] {
            let (rec, r) = recommend(
                Fixed {
                    base: 0.2,
                    lift: 0.1,
                },
                mode,
                &st,
            );
            let d = rec.distribution(&r);
            assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            let k = r
                .ranked
                .iter()
                .position(|o| o.action == r.chosen.action && o.send_at_utc == r.chosen.send_at_utc)
                .unwrap();
            assert!((d[k] - r.propensity).abs() < 1e-12, "{mode:?}");
        }
    }
}

#[cfg(test)]
mod test_support {
    use chrono::{Duration, NaiveDate};
    use forbear_core::{CustomerType, TimeZone};
    use forbear_features::{AccountFacts, AccountHistory, BillRecord, DpdSeries, ResponseState};

    /// A consumer with one bill falling due `due_in` days from `day` (negative: overdue), on the
    /// morning of `day`.
    pub(super) fn state(zone: TimeZone, day: NaiveDate, due_in: i64) -> ResponseState {
        let due = day + Duration::days(due_in);
        let h = AccountHistory {
            facts: AccountFacts {
                customer_type: CustomerType::Consumer,
                service_level: forbear_core::ServiceLevel::Standard,
                product: forbear_core::Product::Mobile,
                age_band: None,
                services: 1,
                autopay: false,
                credit_limit_minor: None,
                opened_on: day - Duration::days(400),
            },
            bills: vec![BillRecord {
                issued_on: due - Duration::days(20),
                due_on: due,
                amount_minor: 5_000,
            }],
            payments: vec![],
            contacts: vec![],
            promises: vec![],
            disputes: vec![],
        };
        let series = DpdSeries::new(&h, day - Duration::days(150), day);
        ResponseState::at(&h, &series, day, zone)
    }
}
