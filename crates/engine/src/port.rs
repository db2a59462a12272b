//! The engine's ports: what it needs from storage and from the recommender, as traits it owns.
//!
//! `forbear-store` implements [`Store`] for SQLite and PostgreSQL; the recommender is
//! [`RuleOfThumb`] (no model), the strategy crate in process, or the inference service through
//! `forbear-client` — all behind [`Recommender`].

use chrono::{DateTime, Utc};
use forbear_core::rules::ContactRules;
use forbear_core::{AccountId, Channel, Tone};

use crate::effect::{Effect, OutboxItem};
use crate::event::Event;
use crate::state::{AccountState, Ledger};

/// What the recommender is asked.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The account.
    pub state: &'a AccountState,
    /// Its ledger today.
    pub ledger: &'a Ledger,
    /// Days past due today.
    pub dpd: i32,
    /// Now.
    pub now: DateTime<Utc>,
    /// A tone the step insists on.
    pub tone: Option<Tone>,
    /// The contact rules in force.
    pub rules: &'a ContactRules,
}

/// The recommender's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Channel.
    pub channel: Channel,
    /// Tone.
    pub tone: Tone,
    /// Send time (UTC).
    pub send_at: DateTime<Utc>,
    /// The probability with which it was chosen.
    pub propensity: f64,
    /// The model (or rule) that chose it.
    pub model: String,
}

/// Chooses channel, time and tone for a contact step.
pub trait Recommender: Send + Sync {
    /// A contact to make, or `None` when the best action today is none.
    fn suggest(&self, ask: &Ask<'_>) -> Result<Option<Suggestion>, String>;
}

/// The fallback recommender: the cheapest consented channel (push, e-mail, SMS, messaging,
/// letter), friendly before the due date, neutral up to 15 days, firm after; empathetic under
/// hardship. Deterministic.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleOfThumb;

impl Recommender for RuleOfThumb {
    fn suggest(&self, ask: &Ask<'_>) -> Result<Option<Suggestion>, String> {
        let order = [
            Channel::Push,
            Channel::Email,
            Channel::Sms,
            Channel::Messaging,
            Channel::Letter,
        ];
        let Some(channel) = order.into_iter().find(|c| ask.state.may_use(*c)) else {
            return Ok(None);
        };
        let tone = ask.tone.unwrap_or(if ask.state.hardship.is_some() {
            Tone::Empathetic
        } else if ask.dpd <= 0 {
            Tone::Friendly
        } else if ask.dpd <= 15 {
            Tone::Neutral
        } else {
            Tone::Firm
        });
        Ok(Some(Suggestion {
            channel,
            tone,
            send_at: ask.now,
            propensity: 1.0,
            model: "rule-of-thumb".into(),
        }))
    }
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (connection, SQL, disk).
    #[error("store: {0}")]
    Backend(String),
    /// Stored data cannot be read back.
    #[error("store: account {account}: {detail}")]
    Corrupt {
        /// The account.
        account: i64,
        /// What is wrong.
        detail: String,
    },
    /// The URL names no supported store.
    #[error("store URL {0:?}: expected sqlite://PATH, a file path, or postgres://…")]
    BadUrl(String),
}

/// What ingestion did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// New events stored.
    pub stored: u64,
    /// Events already stored (same id): ignored.
    pub duplicates: u64,
}

/// What one evaluation of one account produced, to be written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The account.
    pub account: AccountId,
    /// When it was evaluated.
    pub evaluated_at: DateTime<Utc>,
    /// New engine events.
    pub events: Vec<Event>,
    /// New effects for the outbox.
    pub effects: Vec<Effect>,
    /// When to look at the account again.
    pub next_wake: Option<DateTime<Utc>>,
}

/// An account handed out for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The account.
    pub account: AccountId,
    /// Its log.
    pub events: Vec<Event>,
    /// When it is due.
    pub due: DateTime<Utc>,
    /// When it was last evaluated.
    pub evaluated_at: Option<DateTime<Utc>>,
}

/// Storage of events, account schedules and the outbox.
pub trait Store: Send {
    /// Stores events; an id already stored is ignored. Each account touched is due at its
    /// earliest new event.
    fn ingest(&mut self, events: &[Event]) -> Result<IngestSummary, StoreError>;

    /// Claims up to `limit` accounts due at or before `until`, hands each to `evaluate`, and
    /// writes the outcomes, all in one transaction. Returns how many accounts were evaluated.
    fn work(
        &mut self,
        until: DateTime<Utc>,
        limit: usize,
        evaluate: &mut dyn FnMut(Claimed) -> Outcome,
    ) -> Result<usize, StoreError>;

    /// An account's log.
    fn events(&mut self, account: AccountId) -> Result<Vec<Event>, StoreError>;

    /// Every account id known.
    fn accounts(&mut self) -> Result<Vec<AccountId>, StoreError>;

    /// The engine clock (the latest `until` ticked to).
    fn clock(&mut self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Sets the engine clock.
    fn set_clock(&mut self, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Effects due for delivery at `now`, oldest first, at most `limit`.
    fn outbox_due(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Work-queue items (outbox items for the agents' queues) due by `until` (or already
    /// handed to a queue webhook, whose retries move the due time) and not yet worked, of one
    /// team or all, earliest first, at most `limit`.
    fn work_items(
        &mut self,
        team: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Marks an account's queue item worked (its outcome recorded); false when there is no
    /// such open item.
    fn work_done(
        &mut self,
        account: AccountId,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Every outbox item for a target (delivered or not, cancelled ones left out) — the
    /// agency and legal items the desk reads.
    fn outbox_of(&mut self, target: crate::effect::Target) -> Result<Vec<OutboxItem>, StoreError>;

    /// Records a delivery.
    fn outbox_delivered(&mut self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records a failed attempt and when to retry.
    fn outbox_failed(
        &mut self,
        key: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Outbox counts: (pending, delivered, cancelled).
    fn outbox_counts(&mut self) -> Result<(u64, u64, u64), StoreError>;
}
