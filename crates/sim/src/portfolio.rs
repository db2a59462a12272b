//! The simulator run forward day by day, for someone else's strategy to act on.
//!
//! The strategy lab drives a [`Portfolio`]: each day it looks at every account (what the engine
//! may know, [`AccountView`]), decides actions, and hands them to [`Portfolio::step`], which lets
//! every customer live the day and returns what happened. The truth of any action is available
//! at any point through [`Portfolio::truth`].

use crate::customer::{AccountView, Action, Customer, Event};
use crate::population::{SegmentMix, draw_account, hierarchy_of};
use crate::rng::Rng;
use crate::truth::ActionTruth;
use chrono::{DateTime, Days, NaiveDate, Utc};
use forbear_core::{AccountId, ContactAction};
use std::collections::HashMap;

/// A portfolio of simulated customers and the current day.
#[derive(Debug)]
pub struct Portfolio {
    customers: Vec<Customer>,
    today: NaiveDate,
}

/// Why a step could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// An action names an account that is not in the portfolio.
    #[error("account {0} is not in the portfolio")]
    UnknownAccount(AccountId),
    /// A contact's send instant is not on the day being simulated (local date).
    #[error("contact for account {account} at {at} is not on {today}")]
    NotToday {
        account: AccountId,
        at: DateTime<Utc>,
        today: NaiveDate,
    },
}

impl Portfolio {
    /// `accounts` customers drawn with `seed`, starting on `start`.
    pub fn new(accounts: u64, seed: u64, mix: &SegmentMix, start: NaiveDate) -> Self {
        let customers = (1..=accounts as i64)
            .filter_map(|k| AccountId::new(k).ok())
            .map(|id| draw_customer(id, seed, mix, start))
            .collect();
        Portfolio {
            customers,
            today: start,
        }
    }

    /// The customers `ids` (in any order; duplicates ignored) of the portfolio `Portfolio::new`
    /// would draw with `seed`: each customer is drawn from their own streams, so an arm of a
    /// split portfolio holds exactly the customers the whole one would.
    pub fn of_accounts(ids: &[AccountId], seed: u64, mix: &SegmentMix, start: NaiveDate) -> Self {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let customers = ids
            .into_iter()
            .map(|id| draw_customer(id, seed, mix, start))
            .collect();
        Portfolio {
            customers,
            today: start,
        }
    }

    /// Lets the customers use the self-service link of the engine's messages (declare
    /// hardship, ask for a plan), as they do facing the dunning engine.
    pub fn with_self_service(mut self) -> Self {
        for c in &mut self.customers {
            c.self_service = true;
        }
        self
    }

    /// The day the next [`Portfolio::step`] simulates.
    pub fn today(&self) -> NaiveDate {
        self.today
    }

    /// The customers (observable facts through `profile`, latent ones through `traits`).
    pub fn customers(&self) -> &[Customer] {
        &self.customers
    }

    fn index(&self, id: AccountId) -> Option<usize> {
        // Customers are in id order: 1..=n for a whole portfolio (found at once), any sorted
        // subset for an arm.
        let k = usize::try_from(id.get() - 1).ok()?;
        if self.customers.get(k).is_some_and(|c| c.profile.id == id) {
            return Some(k);
        }
        self.customers
            .binary_search_by_key(&id, |c| c.profile.id)
            .ok()
    }

    /// A customer by account id.
    pub fn customer(&self, id: AccountId) -> Option<&Customer> {
        self.index(id).map(|k| &self.customers[k])
    }

    /// What may be known of an account today.
    pub fn view(&self, id: AccountId) -> Option<AccountView> {
        self.index(id).map(|k| self.customers[k].view(self.today))
    }

    /// The truth of an action (or of none) for an account today.
    pub fn truth(
        &self,
        id: AccountId,
        action: Option<(ContactAction, DateTime<Utc>)>,
    ) -> Option<ActionTruth> {
        self.index(id)
            .map(|k| self.customers[k].truth(self.today, action))
    }

    /// Lives one day with the given actions and moves to the next; returns what happened.
    /// Actions are checked before anything changes: on error the day is not simulated.
    pub fn step(
        &mut self,
        actions: &[(AccountId, Action)],
    ) -> Result<Vec<(AccountId, Event)>, StepError> {
        let mut by_account: HashMap<usize, Vec<Action>> = HashMap::new();
        for (id, a) in actions {
            let k = self.index(*id).ok_or(StepError::UnknownAccount(*id))?;
            if let Action::Contact { at, .. } = a
                && self.customers[k].profile.zone.local(*at).date() != self.today
            {
                return Err(StepError::NotToday {
                    account: *id,
                    at: *at,
                    today: self.today,
                });
            }
            by_account.entry(k).or_default().push(a.clone());
        }
        let mut events = Vec::new();
        let mut out = Vec::new();
        let none: Vec<Action> = Vec::new();
        for (k, c) in self.customers.iter_mut().enumerate() {
            c.advance_day(self.today, by_account.get(&k).unwrap_or(&none), &mut out);
            events.extend(out.drain(..).map(|e| (c.profile.id, e)));
        }
        self.today = self
            .today
            .checked_add_days(Days::new(1))
            .unwrap_or(self.today);
        Ok(events)
    }
}

fn draw_customer(id: AccountId, seed: u64, mix: &SegmentMix, start: NaiveDate) -> Customer {
    let mut rng = Rng::new(seed, id.get() as u64);
    let hierarchy = hierarchy_of(seed, id, mix);
    let (mut profile, traits) = draw_account(id, mix, start, hierarchy, &mut rng);
    profile.opened_on = profile.opened_on.min(start);
    Customer::new(profile, traits, Rng::new(seed ^ 0x11fe, id.get() as u64))
}
