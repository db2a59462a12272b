//! An account's case as shown to agents and API clients: money position, days past due, the
//! case and its scenario, steps done, measures in force, holds.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::action::Measure;
use crate::scenario::ScenarioSet;
use crate::state::AccountState;

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
    /// Hardship (reason, review date).
    pub hardship: Option<(String, NaiveDate)>,
    /// Statutory holds (kind, last day).
    pub holds: Vec<(String, NaiveDate)>,
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
    }
}
