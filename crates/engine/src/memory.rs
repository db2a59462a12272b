//! An in-memory [`Store`]: the reference the SQL stores are tested against, and what
//! `scenarios dry-run` evaluates a copy of the portfolio in.

use chrono::{DateTime, Utc};
use forbear_core::AccountId;
use std::collections::{BTreeMap, BTreeSet};

use crate::effect::{Effect, OutboxItem};
use crate::event::{Event, EventId};
use crate::port::{Claimed, IngestSummary, Outcome, Store, StoreError};

type Schedule = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// One outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryOutbox {
    /// The effect.
    pub effect: Effect,
    /// Delivered at.
    pub delivered: Option<DateTime<Utc>>,
    /// Cancelled before delivery.
    pub cancelled: bool,
    /// Worked by an agent (queue items).
    pub worked: Option<DateTime<Utc>>,
    /// Attempts.
    pub attempts: u32,
    /// Next attempt not before.
    pub retry_at: DateTime<Utc>,
}

/// Everything in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    ids: BTreeSet<EventId>,
    logs: BTreeMap<AccountId, Vec<Event>>,
    /// Per account: due at, last evaluated at.
    due: BTreeMap<AccountId, Schedule>,
    /// The outbox, by key.
    pub outbox: BTreeMap<String, MemoryOutbox>,
    clock: Option<DateTime<Utc>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl MemoryStore {
    /// Makes every account due at `at`, as if last evaluated then (a copy of a store that
    /// has run up to its clock).
    pub fn resume_at(&mut self, at: DateTime<Utc>) {
        for d in self.due.values_mut() {
            *d = (Some(d.0.map_or(at, |x| x.max(at))), Some(at));
        }
    }
}

impl MemoryOutbox {
    fn item(&self) -> OutboxItem {
        OutboxItem {
            key: self.effect.key.clone(),
            account: self.effect.account,
            target: self.effect.target,
            kind: self.effect.kind.clone(),
            payload: self.effect.payload.to_string(),
            attempts: self.attempts,
        }
    }
}

impl Store for MemoryStore {
    fn ingest(&mut self, events: &[Event]) -> Result<IngestSummary, StoreError> {
        let mut s = IngestSummary::default();
        for e in events {
            if !self.ids.insert(e.id.clone()) {
                s.duplicates += 1;
                continue;
            }
            s.stored += 1;
            self.logs.entry(e.account).or_default().push(e.clone());
            let d = self.due.entry(e.account).or_default();
            d.0 = Some(d.0.map_or(e.at, |x| x.min(e.at)));
        }
        Ok(s)
    }

    fn work(
        &mut self,
        until: DateTime<Utc>,
        limit: usize,
        evaluate: &mut dyn FnMut(Claimed) -> Outcome,
    ) -> Result<usize, StoreError> {
        let mut due: Vec<(DateTime<Utc>, AccountId)> = self
            .due
            .iter()
            .filter_map(|(a, (d, _))| d.filter(|d| *d <= until).map(|d| (d, *a)))
            .collect();
        due.sort();
        due.truncate(limit);
        for (at, account) in &due {
            let claimed = Claimed {
                account: *account,
                events: self.logs.get(account).cloned().unwrap_or_default(),
                due: *at,
                evaluated_at: self.due.get(account).and_then(|d| d.1),
            };
            let o = evaluate(claimed);
            let mut new = Vec::new();
            for e in o.events {
                if self.ids.insert(e.id.clone()) {
                    new.push(e);
                }
            }
            self.logs.entry(o.account).or_default().extend(new);
            for eff in o.effects {
                if let Some(target) = &eff.cancels
                    && let Some(row) = self.outbox.get_mut(target)
                    && row.delivered.is_none()
                {
                    row.cancelled = true;
                }
                if eff.cancels.is_some() {
                    continue;
                }
                let retry_at = eff.deliver_after;
                self.outbox.entry(eff.key.clone()).or_insert(MemoryOutbox {
                    effect: eff,
                    delivered: None,
                    cancelled: false,
                    worked: None,
                    attempts: 0,
                    retry_at,
                });
            }
            self.due
                .insert(o.account, (o.next_wake, Some(o.evaluated_at)));
        }
        Ok(due.len())
    }

    fn events(&mut self, account: AccountId) -> Result<Vec<Event>, StoreError> {
        Ok(self.logs.get(&account).cloned().unwrap_or_default())
    }

    fn accounts(&mut self) -> Result<Vec<AccountId>, StoreError> {
        Ok(self.logs.keys().copied().collect())
    }

    fn clock(&mut self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.clock)
    }

    fn set_clock(&mut self, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.clock = Some(self.clock.map_or(at, |c| c.max(at)));
        Ok(())
    }

    fn outbox_due(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut rows: Vec<&MemoryOutbox> = self
            .outbox
            .values()
            .filter(|r| r.delivered.is_none() && !r.cancelled && r.retry_at <= now)
            .collect();
        rows.sort_by_key(|r| (r.retry_at, r.effect.key.clone()));
        Ok(rows
            .into_iter()
            .take(limit)
            .map(MemoryOutbox::item)
            .collect())
    }

    fn work_items(
        &mut self,
        team: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut rows: Vec<&MemoryOutbox> = self
            .outbox
            .values()
            .filter(|r| {
                r.effect.target == crate::effect::Target::Queue
                    && r.worked.is_none()
                    && !r.cancelled
                    && (r.retry_at <= until || r.attempts > 0)
                    && team.is_none_or(|t| r.effect.payload["team"].as_str() == Some(t))
            })
            .collect();
        rows.sort_by_key(|r| (r.retry_at, r.effect.key.clone()));
        Ok(rows
            .into_iter()
            .take(limit)
            .map(MemoryOutbox::item)
            .collect())
    }

    fn work_done(
        &mut self,
        account: AccountId,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        match self.outbox.get_mut(key) {
            Some(r)
                if r.effect.account == account
                    && r.effect.target == crate::effect::Target::Queue
                    && r.worked.is_none()
                    && !r.cancelled =>
            {
                r.worked = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn outbox_of(&mut self, target: crate::effect::Target) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(self
            .outbox
            .values()
            .filter(|r| r.effect.target == target && !r.cancelled)
            .map(MemoryOutbox::item)
            .collect())
    }

    fn outbox_delivered(&mut self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(r) = self.outbox.get_mut(key) {
            r.delivered = Some(at);
            r.attempts += 1;
        }
        Ok(())
    }

    fn outbox_failed(
        &mut self,
        key: &str,
        _error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(r) = self.outbox.get_mut(key) {
            r.attempts += 1;
            r.retry_at = retry_at;
        }
        Ok(())
    }

    fn outbox_counts(&mut self) -> Result<(u64, u64, u64), StoreError> {
        let mut c = (0, 0, 0);
        for r in self.outbox.values() {
            if r.cancelled {
                c.2 += 1;
            } else if r.delivered.is_some() {
                c.1 += 1;
            } else {
                c.0 += 1;
            }
        }
        Ok(c)
    }
}
