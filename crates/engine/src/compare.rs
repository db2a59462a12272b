//! Scenario changes are code: what a new scenario set would change, before it is applied.
//!
//! [`diff`] lists the accounts whose scenario would change today; [`dry_run`] runs the portfolio
//! forward on a copy under both sets and lists the accounts whose actions would differ.

use chrono::{DateTime, Utc};
use forbear_core::AccountId;
use serde::Serialize;

use crate::engine::Engine;
use crate::event::{Event, EventBody};
use crate::memory::MemoryStore;
use crate::port::{Store, StoreError};
use crate::scenario::ScenarioSet;
use crate::state::AccountState;

/// An account whose treatment changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The account.
    pub account: i64,
    /// Under the current set.
    pub before: String,
    /// Under the new set.
    pub after: String,
}

/// The scenario each account would be in at `at` under `old` and `new`, where they differ. An
/// open case keeps its scenario unless the new set no longer has it.
pub fn diff(
    old: &ScenarioSet,
    new: &ScenarioSet,
    store: &mut dyn Store,
    at: DateTime<Utc>,
) -> Result<Vec<Change>, StoreError> {
    let mut out = Vec::new();
    for account in store.accounts()? {
        let events = store.events(account)?;
        let s = AccountState::replay(account, &events, Some(at));
        let Some(p) = &s.profile else { continue };
        let pick = |set: &ScenarioSet| -> String {
            if let Some(c) = s.open_case()
                && set.get(&c.scenario).is_some()
            {
                return c.scenario.clone();
            }
            set.select(&p.segment, s.assigned.as_deref(), s.hardship.is_some())
                .0
                .name
                .clone()
        };
        let (before, after) = (pick(old), pick(new));
        if before != after {
            out.push(Change {
                account: account.get(),
                before,
                after,
            });
        }
    }
    Ok(out)
}

fn actions(events: &[Event]) -> String {
    let mut v: Vec<&Event> = events.iter().filter(|e| e.is_engine()).collect();
    v.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    let names: Vec<String> = v
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::StepExecuted { step, action, .. } => {
                Some(format!("{} {step} {action}", e.at.date_naive()))
            }
            EventBody::MeasureReversed { measure, .. } => {
                Some(format!("{} {}", e.at.date_naive(), measure.reversal()))
            }
            _ => None,
        })
        .collect();
    names.join("; ")
}

/// Runs every account from the store's clock to `until` on two in-memory copies — one under
/// the engine's scenarios, one under `new` — and returns the accounts whose actions differ.
/// The store is only read.
pub fn dry_run(
    engine: &Engine,
    new: &ScenarioSet,
    store: &mut dyn Store,
    until: DateTime<Utc>,
) -> Result<(usize, Vec<Change>), StoreError> {
    let accounts: Vec<AccountId> = store.accounts()?;
    let from = store.clock()?;
    let mut all = Vec::new();
    for a in &accounts {
        all.extend(store.events(*a)?);
    }
    let known: std::collections::HashSet<crate::event::EventId> =
        all.iter().map(|e| e.id.clone()).collect();
    let mut changed = engine.clone();
    changed.set_scenarios(new.clone());
    let run = |e: &Engine| -> Result<MemoryStore, StoreError> {
        let mut m = MemoryStore::new();
        m.ingest(&all)?;
        if let Some(clock) = from {
            // Decisions from the store's clock on; the past stays as it was decided.
            m.resume_at(clock);
        }
        e.tick(&mut m, until, 512, &mut |_| {})?;
        Ok(m)
    };
    let mut a = run(engine)?;
    let mut b = run(&changed)?;
    let fresh = |m: &mut MemoryStore, acc: AccountId| -> Result<Vec<Event>, StoreError> {
        Ok(m.events(acc)?
            .into_iter()
            .filter(|e| !known.contains(&e.id))
            .collect())
    };
    let mut out = Vec::new();
    for acc in &accounts {
        let (before, after) = (
            actions(&fresh(&mut a, *acc)?),
            actions(&fresh(&mut b, *acc)?),
        );
        if before != after {
            out.push(Change {
                account: acc.get(),
                before,
                after,
            });
        }
    }
    Ok((accounts.len(), out))
}
