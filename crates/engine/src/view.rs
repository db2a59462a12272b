//! An account's case as shown to agents and API clients: money position, days past due, the
//! case and its scenario, steps done, measures in force, holds.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::action::Measure;
use crate::scenario::ScenarioSet;
use crate::state::{AccountState, Dispute, GrantRecord, Hardship, Hold, Plan, Promise};

/// One open item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemView {
    /// Invoice (None: a fee).
    pub invoice: Option<i64>,
    /// Service.
    pub service: Option<i64>,
    /// Due date.
    pub due_on: NaiveDate,
    /// Still owed, minor units.
    pub open_minor: i64,
    /// Of which disputed.
    pub disputed_minor: i64,
}

/// The open case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseInfo {
    /// Number on the account.
    pub number: u32,
    /// Scenario.
    pub scenario: String,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// Steps executed or skipped, with when.
    pub steps_done: BTreeMap<String, DateTime<Utc>>,
    /// Measures in force.
    pub measures_in_force: Vec<Measure>,
}

/// An account's case at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseView {
    /// The account.
    pub account: i64,
    /// The instant.
    pub at: DateTime<Utc>,
    /// The customer's local date then.
    pub local_date: NaiveDate,
    /// Currency.
    pub currency: Option<String>,
    /// Balance, minor units.
    pub balance_minor: i64,
    /// Days past due.
    pub days_past_due: Option<i32>,
    /// Open items.
    pub open_items: Vec<ItemView>,
    /// The scenario a new case would get, and why.
    pub scenario_for_new_case: (String, String),
    /// The open case.
    pub case: Option<CaseInfo>,
    /// Cases so far.
    pub cases: usize,
    /// Paused by (who, why).
    pub paused: Option<(String, String)>,
    /// Hardship in force.
    pub hardship: Option<Hardship>,
    /// Statutory holds.
    pub holds: Vec<Hold>,
    /// Promises.
    pub promises: Vec<PromiseView>,
    /// Payment plans.
    pub plans: Vec<PlanView>,
    /// Disputes.
    pub disputes: Vec<DisputeView>,
    /// Agents' grants.
    pub grants: Vec<GrantRecord>,
    /// Broken promises so far.
    pub broken_promises: usize,
}

/// A promise as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromiseView {
    /// Its id.
    pub promise: i64,
    /// The promise.
    #[serde(flatten)]
    pub detail: Promise,
}

/// A plan as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanView {
    /// Its reference.
    pub plan: String,
    /// The plan.
    #[serde(flatten)]
    pub detail: Plan,
}

/// A dispute as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisputeView {
    /// Its id.
    pub dispute: i64,
    /// The dispute.
    #[serde(flatten)]
    pub detail: Dispute,
}

/// The view of `state` at `at` under `scenarios`.
pub fn case_view(state: &AccountState, scenarios: &ScenarioSet, at: DateTime<Utc>) -> CaseView {
    let today = state.local_date(at);
    let ledger = state.ledger(today);
    let scenario = state.profile.as_ref().map_or_else(
        || (String::new(), "no account_opened event yet".to_string()),
        |p| {
            let (s, why) = scenarios.select(
                &p.segment,
                state.assigned.as_deref(),
                state.hardship.is_some(),
            );
            (s.name.clone(), why)
        },
    );
    CaseView {
        account: state.account.get(),
        at,
        local_date: today,
        currency: state.profile.as_ref().map(|p| p.currency.to_string()),
        balance_minor: ledger.balance,
        days_past_due: ledger.dpd(today),
        open_items: ledger
            .open_items
            .iter()
            .map(|i| ItemView {
                invoice: i.invoice.map(|x| x.get()),
                service: i.service.map(|x| x.get()),
                due_on: i.due_on,
                open_minor: i.open_minor,
                disputed_minor: i.disputed_minor,
            })
            .collect(),
        scenario_for_new_case: scenario,
        case: state.open_case().map(|c| CaseInfo {
            number: c.number,
            scenario: c.scenario.clone(),
            opened_at: c.opened_at,
            steps_done: c.done.clone(),
            measures_in_force: c.measures.clone(),
        }),
        cases: state.cases.len(),
        paused: state.paused.clone(),
        hardship: state.hardship.clone(),
        holds: state.holds.clone(),
        promises: state
            .promises
            .iter()
            .map(|(k, p)| PromiseView {
                promise: k.get(),
                detail: p.clone(),
            })
            .collect(),
        plans: state
            .plans
            .iter()
            .map(|(k, p)| PlanView {
                plan: k.clone(),
                detail: p.clone(),
            })
            .collect(),
        disputes: state
            .disputes
            .iter()
            .map(|(k, d)| DisputeView {
                dispute: k.get(),
                detail: d.clone(),
            })
            .collect(),
        grants: state.grants.clone(),
        broken_promises: state.broken_promises(),
    }
}
