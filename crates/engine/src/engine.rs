//! The engine: evaluates claimed accounts and ticks the clock forward through a [`Store`].
//!
//! An account is evaluated at the instant it fell due (or at its last evaluation, if a late
//! event made it due earlier), so a tick across a month runs every step at its own time rather
//! than all at the end. The next wake is the earlier of what [`decide`] says and the next event
//! already stored for a later time (a history ingested in advance).

use chrono::{DateTime, Utc};
use forbear_core::rules::ContactRules;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::decide::{Context, decide};
use crate::event::EventBody;
use crate::port::{Claimed, Outcome, Recommender, Store, StoreError};
use crate::scenario::ScenarioSet;
use crate::state::AccountState;
use crate::template::Templates;

/// The engine's configuration, its recommender and its desk.
pub struct Engine {
    scenarios: Arc<ScenarioSet>,
    rules: ContactRules,
    templates: Arc<Templates>,
    recommender: Arc<dyn Recommender>,
    desk: Arc<crate::desk::Desk>,
}

impl Clone for Engine {
    /// The same configuration with a desk of its own (read again from its store at its first
    /// tick): a dry run's engines do not share assignments.
    fn clone(&self) -> Engine {
        Engine {
            scenarios: Arc::clone(&self.scenarios),
            rules: self.rules.clone(),
            templates: Arc::clone(&self.templates),
            recommender: Arc::clone(&self.recommender),
            desk: Arc::new(crate::desk::Desk::new()),
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("scenarios", &self.scenarios.version)
            .finish_non_exhaustive()
    }
}

/// What a tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickSummary {
    /// Evaluations (an account may be evaluated several times in a long tick).
    pub evaluations: u64,
    /// Distinct batches (transactions).
    pub batches: u64,
    /// Cases opened.
    pub cases_opened: u64,
    /// Cases closed (cured).
    pub cases_closed: u64,
    /// Cases re-opened.
    pub cases_reopened: u64,
    /// Actions taken, by kind.
    pub actions: BTreeMap<String, u64>,
    /// Measures undone, by reversal.
    pub reversals: BTreeMap<String, u64>,
    /// Contacts blocked (postponed or switched), by rule.
    pub blocked: BTreeMap<String, u64>,
    /// Steps skipped.
    pub skipped: u64,
    /// Effects written to the outbox.
    pub effects: u64,
}

impl TickSummary {
    fn count(&mut self, o: &Outcome) {
        self.evaluations += 1;
        self.effects += o.effects.len() as u64;
        for e in &o.events {
            match &e.body {
                EventBody::CaseOpened { .. } => self.cases_opened += 1,
                EventBody::CaseClosed { .. } => self.cases_closed += 1,
                EventBody::CaseReopened { .. } => self.cases_reopened += 1,
                EventBody::StepExecuted { action, .. } => {
                    *self.actions.entry(action.as_str().into()).or_default() += 1;
                }
                EventBody::MeasureReversed { measure, .. } => {
                    *self.reversals.entry(measure.reversal().into()).or_default() += 1;
                }
                EventBody::ContactBlocked { rule, .. } => {
                    *self.blocked.entry(rule_name(rule)).or_default() += 1;
                }
                EventBody::StepSkipped { .. } => self.skipped += 1,
                _ => {}
            }
        }
    }
}

/// A rule's message without its particulars ("quiet hours", "no consent for sms", …).
fn rule_name(rule: &str) -> String {
    if rule.contains("outside the allowed hours") {
        "quiet hours".into()
    } else if rule.contains("call attempts") {
        "7 calls in 7 days".into()
    } else if rule.contains("conversation about the debt") {
        "7 days after a conversation".into()
    } else if rule.contains("contacts already within 24 hours") {
        "daily contact limit".into()
    } else {
        rule.to_string()
    }
}

impl Engine {
    /// An engine with these scenarios, rules, templates and recommender.
    pub fn new(
        scenarios: ScenarioSet,
        rules: ContactRules,
        templates: Templates,
        recommender: Arc<dyn Recommender>,
    ) -> Engine {
        Engine {
            scenarios: Arc::new(scenarios),
            rules,
            templates: Arc::new(templates),
            recommender,
            desk: Arc::new(crate::desk::Desk::new()),
        }
    }

    /// The desk (agencies' records, lawyers' workloads).
    pub fn desk(&self) -> &crate::desk::Desk {
        &self.desk
    }

    /// Reads the agencies' records and the lawyers' workloads from the store's outbox.
    pub fn refresh_desk(&self, store: &mut dyn Store) -> Result<(), StoreError> {
        let agency = store.outbox_of(crate::effect::Target::Agency)?;
        let legal = store.outbox_of(crate::effect::Target::Legal)?;
        self.desk.refresh(&agency, &legal);
        Ok(())
    }

    /// The contact rules its gate enforces.
    pub fn rules(&self) -> &ContactRules {
        &self.rules
    }

    /// The scenarios in force.
    pub fn scenarios(&self) -> &ScenarioSet {
        &self.scenarios
    }

    /// Replaces the scenarios (a reload): cases keep their scenario by name.
    pub fn set_scenarios(&mut self, scenarios: ScenarioSet) {
        self.scenarios = Arc::new(scenarios);
    }

    fn context(&self) -> Context<'_> {
        Context {
            scenarios: &self.scenarios,
            rules: &self.rules,
            templates: &self.templates,
            recommender: self.recommender.as_ref(),
            desk: &self.desk,
        }
    }

    /// The state of an account at `at` with what the engine would decide then.
    pub fn evaluate(&self, claimed: Claimed) -> Outcome {
        let at = claimed
            .evaluated_at
            .map_or(claimed.due, |e| e.max(claimed.due));
        // Stores keep microseconds: an event of the same microsecond as `at` (a library
        // caller's nanosecond time) is seen now, not left as a wake-up that never passes.
        let seen = at + chrono::Duration::nanoseconds(999);
        let state = AccountState::replay(claimed.account, &claimed.events, Some(seen));
        let d = decide(&state, at, self.context());
        let next_event = claimed
            .events
            .iter()
            .filter(|e| e.at > seen)
            .map(|e| e.at)
            .min();
        let next_wake = match (d.next_wake, next_event) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Outcome {
            account: claimed.account,
            evaluated_at: at,
            events: d.events,
            effects: d.effects,
            next_wake,
        }
    }

    /// Advances to `until`: evaluates every account due by then, in batches of `batch` accounts
    /// per transaction, until none is due; then sets the store's clock.
    pub fn tick(
        &self,
        store: &mut dyn Store,
        until: DateTime<Utc>,
        batch: usize,
        progress: &mut dyn FnMut(&TickSummary),
    ) -> Result<TickSummary, StoreError> {
        let mut summary = TickSummary::default();
        if self.desk.stale(std::time::Duration::from_secs(600)) {
            self.refresh_desk(store)?;
        }
        loop {
            let n = store.work(until, batch.max(1), &mut |c| {
                let o = self.evaluate(c);
                summary.count(&o);
                o
            })?;
            if n == 0 {
                break;
            }
            summary.batches += 1;
            progress(&summary);
        }
        store.set_clock(until)?;
        Ok(summary)
    }

    /// The case report of every account in the store, as of `at`; `progress` is called with
    /// the number of accounts read every 10,000.
    pub fn report(
        &self,
        store: &mut dyn Store,
        at: DateTime<Utc>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<crate::report::Report, StoreError> {
        let mut r = crate::report::Report::new(at);
        for (i, a) in store.accounts()?.into_iter().enumerate() {
            let events = store.events(a)?;
            r.add(&events, &self.scenarios);
            if (i + 1) % 10_000 == 0 {
                progress(i as u64 + 1);
            }
        }
        r.finish();
        Ok(r)
    }

    /// An account's state now (the fold of its whole log, or up to `at`).
    pub fn state(
        &self,
        store: &mut dyn Store,
        account: forbear_core::AccountId,
        at: Option<DateTime<Utc>>,
    ) -> Result<AccountState, StoreError> {
        let events = store.events(account)?;
        Ok(AccountState::replay(account, &events, at))
    }
}
