//! The case report of a portfolio: disputes and bad debt, promises and plans, hardship and
//! holds, grants, agency performance (placed, recovered, recovery rate, days to recover,
//! commission) and lawyers' performance (referred, stages, costs, recovered).
//!
//! Built one account log at a time ([`Report::add`]), so it runs over any store in one pass;
//! amounts are minor units per currency.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::action::{ActionKind, Measure};
use crate::event::{Event, EventBody};
use crate::scenario::ScenarioSet;
use crate::state::{AccountState, Standing};

/// Amounts per currency, minor units.
pub type Amounts = BTreeMap<String, i64>;

fn add(m: &mut Amounts, currency: &str, minor: i64) {
    *m.entry(currency.to_string()).or_default() += minor;
}

/// Disputes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Disputes {
    /// Opened.
    pub opened: u64,
    /// Still open.
    pub open: u64,
    /// Upheld.
    pub upheld: u64,
    /// Rejected.
    pub rejected: u64,
    /// Amount disputed.
    pub disputed: Amounts,
    /// Amount still under open disputes.
    pub open_amount: Amounts,
    /// Credited by credit notes.
    pub credited: Amounts,
}

/// Counts of a kind of request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Requests {
    /// Made.
    pub made: u64,
    /// Refused (outside policy).
    pub refused: u64,
    /// Kept or completed.
    pub kept: u64,
    /// Broken or breached.
    pub broken: u64,
    /// Still running.
    pub open: u64,
}

/// One agency's performance.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgencyPerformance {
    /// Cases placed.
    pub placed: u64,
    /// Overdue amount placed.
    pub placed_amount: Amounts,
    /// Cases still placed.
    pub open: u64,
    /// Cases cured while placed.
    pub recovered: u64,
    /// Paid while placed.
    pub recovered_amount: Amounts,
    /// Recovered cases / placed cases.
    pub recovery_rate: f64,
    /// Mean days from placement to cure, over recovered cases.
    pub mean_days_to_recover: Option<f64>,
    /// Commission on the amount recovered.
    pub commission: Amounts,
    #[serde(skip)]
    days: Vec<f64>,
}

/// One lawyer's performance.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LawyerPerformance {
    /// Cases referred.
    pub referred: u64,
    /// Still open.
    pub open: u64,
    /// Closed.
    pub closed: u64,
    /// Cases per furthest stage reached.
    pub stages: BTreeMap<String, u64>,
    /// Costs recorded.
    pub costs: Amounts,
    /// Paid while referred.
    pub recovered_amount: Amounts,
}

/// The report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// When it was computed (the instant the logs were read up to).
    pub at: Option<DateTime<Utc>>,
    /// Accounts read.
    pub accounts: u64,
    /// Disputes.
    pub disputes: Disputes,
    /// Accounts written off, and their open balance.
    pub written_off: u64,
    /// Bad debt: the open balance of accounts written off.
    pub bad_debt: Amounts,
    /// Promises.
    pub promises: Requests,
    /// Payment plans.
    pub plans: Requests,
    /// Hardship declarations by reason.
    pub hardship_by_reason: BTreeMap<String, u64>,
    /// Hardship in force now.
    pub hardship_in_force: u64,
    /// Statutory holds admitted, by kind.
    pub holds: BTreeMap<String, u64>,
    /// Statutory holds refused.
    pub holds_refused: u64,
    /// Grants admitted, by kind.
    pub grants: BTreeMap<String, u64>,
    /// Grants refused.
    pub grants_refused: u64,
    /// Agencies.
    pub agencies: BTreeMap<String, AgencyPerformance>,
    /// Lawyers.
    pub lawyers: BTreeMap<String, LawyerPerformance>,
}

impl Report {
    /// An empty report as of `at`.
    pub fn new(at: DateTime<Utc>) -> Report {
        Report {
            at: Some(at),
            ..Report::default()
        }
    }

    /// Adds one account's log.
    pub fn add(&mut self, events: &[Event], set: &ScenarioSet) {
        let Some(first) = events.first() else {
            return;
        };
        let now = self.at.unwrap_or(DateTime::<Utc>::MAX_UTC);
        let s = AccountState::replay(first.account, events, Some(now));
        let Some(p) = &s.profile else {
            return;
        };
        self.accounts += 1;
        let cur = p.currency.as_str();
        for d in s.disputes.values() {
            self.disputes.opened += 1;
            add(&mut self.disputes.disputed, cur, d.amount_minor);
            match d.resolved {
                None => {
                    self.disputes.open += 1;
                    add(&mut self.disputes.open_amount, cur, d.amount_minor);
                }
                Some((true, _)) => self.disputes.upheld += 1,
                Some((false, _)) => self.disputes.rejected += 1,
            }
            if let Some(c) = d.credited_minor {
                add(&mut self.disputes.credited, cur, c);
            }
        }
        let ledger = s.ledger(s.local_date(now));
        if s.cases.last().is_some_and(|c| {
            c.is_open() && c.measures.iter().any(|m| matches!(m, Measure::WriteOff))
        }) {
            self.written_off += 1;
            add(&mut self.bad_debt, cur, ledger.balance.max(0));
        }
        for x in s.promises.values() {
            count(&mut self.promises, x.standing, x.outcome);
        }
        for x in s.plans.values() {
            let outcome = if x.completed {
                Some(true)
            } else if x.breached.is_some() {
                Some(false)
            } else {
                None
            };
            count(&mut self.plans, x.standing, outcome);
        }
        for h in &s.hardships {
            *self.hardship_by_reason.entry(h.reason.clone()).or_default() += 1;
        }
        if s.hardship.is_some() {
            self.hardship_in_force += 1;
        }
        for h in &s.holds {
            match h.standing {
                Standing::Admitted => {
                    *self.holds.entry(h.kind.as_str().into()).or_default() += 1;
                }
                Standing::Refused => self.holds_refused += 1,
                Standing::Pending => {}
            }
        }
        for g in &s.grants {
            match g.standing {
                Standing::Admitted => {
                    *self.grants.entry(g.grant.kind().into()).or_default() += 1;
                }
                Standing::Refused => self.grants_refused += 1,
                Standing::Pending => {}
            }
        }
        self.placements(events, &s, set, now);
    }

    /// Agency placements and legal referrals, from the engine's own events.
    fn placements(
        &mut self,
        events: &[Event],
        s: &AccountState,
        set: &ScenarioSet,
        now: DateTime<Utc>,
    ) {
        let Some(p) = &s.profile else {
            return;
        };
        let cur = p.currency.as_str();
        let mut log: Vec<&Event> = events.iter().filter(|e| e.at <= now).collect();
        log.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        log.dedup_by(|a, b| a.id == b.id);
        let paid = |from: DateTime<Utc>, to: DateTime<Utc>| -> i64 {
            s.payments
                .values()
                .filter(|x| x.currency == p.currency && x.at >= from && x.at < to)
                .filter(|x| x.reversed_at.is_none_or(|r| r >= to))
                .map(|x| x.amount_minor)
                .sum()
        };
        for (i, e) in log.iter().enumerate() {
            let EventBody::StepExecuted {
                action,
                target: Some(to),
                ..
            } = &e.body
            else {
                continue;
            };
            let ended = log[i + 1..].iter().find_map(|x| match &x.body {
                EventBody::MeasureReversed {
                    measure: Measure::Agency { agency, .. },
                    reason,
                    ..
                } if *action == ActionKind::AgencyPlacement && agency == to => {
                    Some((x.at, reason.starts_with("account cured")))
                }
                EventBody::MeasureReversed {
                    measure: Measure::Legal { lawyer },
                    reason,
                    ..
                } if *action == ActionKind::LegalReferral && lawyer.as_deref() == Some(to) => {
                    Some((x.at, reason.starts_with("account cured")))
                }
                _ => None,
            });
            let until = ended.map_or(now, |(at, _)| at);
            let recovered = paid(e.at, until + chrono::Duration::microseconds(1));
            match action {
                ActionKind::AgencyPlacement => {
                    let before = AccountState::replay(s.account, events, Some(e.at));
                    let today = before.local_date(e.at);
                    let (_, overdue) = before.ledger(today).exposure(today, 1);
                    let a = self.agencies.entry(to.clone()).or_default();
                    a.placed += 1;
                    add(&mut a.placed_amount, cur, overdue);
                    add(&mut a.recovered_amount, cur, recovered);
                    let bp = set
                        .cases
                        .agencies
                        .iter()
                        .find(|x| x.name == *to)
                        .map_or(0, |x| x.commission_bp);
                    add(
                        &mut a.commission,
                        cur,
                        i64::try_from(i128::from(recovered) * i128::from(bp) / 10_000)
                            .unwrap_or(i64::MAX),
                    );
                    match ended {
                        None => a.open += 1,
                        Some((at, true)) => {
                            a.recovered += 1;
                            a.days.push((at - e.at).num_seconds() as f64 / 86_400.0);
                        }
                        Some(_) => {}
                    }
                }
                ActionKind::LegalReferral => {
                    let l = self.lawyers.entry(to.clone()).or_default();
                    l.referred += 1;
                    add(&mut l.recovered_amount, cur, recovered);
                    let stages: Vec<_> = s
                        .legal_stages
                        .iter()
                        .filter(|(at, who, ..)| *at >= e.at && *at <= until && who == to)
                        .collect();
                    for (_, _, _, cost) in &stages {
                        add(&mut l.costs, cur, *cost);
                    }
                    if let Some((_, _, st, _)) = stages.iter().max_by_key(|x| x.2) {
                        *l.stages.entry(st.as_str().into()).or_default() += 1;
                    }
                    if ended.is_some() {
                        l.closed += 1;
                    } else {
                        l.open += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// Completes the rates and means once every account is in.
    pub fn finish(&mut self) {
        for a in self.agencies.values_mut() {
            a.recovery_rate = if a.placed == 0 {
                0.0
            } else {
                a.recovered as f64 / a.placed as f64
            };
            a.mean_days_to_recover =
                (!a.days.is_empty()).then(|| a.days.iter().sum::<f64>() / a.days.len() as f64);
        }
    }
}

fn count(r: &mut Requests, standing: Standing, outcome: Option<bool>) {
    r.made += 1;
    match (standing, outcome) {
        (Standing::Refused, _) => r.refused += 1,
        (_, Some(true)) => r.kept += 1,
        (_, Some(false)) => r.broken += 1,
        _ => r.open += 1,
    }
}
