//! Effects: what the engine asks the outside world to do, written to the outbox in the same
//! transaction as the decision that caused it.
//!
//! An effect's key is the id of the engine event that created it — deterministic, so a decision
//! re-made after a crash creates the same key, which the outbox stores once. The key travels as
//! the webhook's idempotency key and never changes across retries.

use chrono::{DateTime, Utc};
use forbear_core::AccountId;
use serde::{Deserialize, Serialize};

/// Who receives an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A channel provider (SMS, e-mail, push, messaging, IVR, letters).
    Channel,
    /// Billing: barring, reconnection, fees, write-off.
    Billing,
    /// The CRM: blacklist flag.
    Crm,
    /// A collection agency.
    Agency,
    /// Legal.
    Legal,
    /// The agents' work queue.
    Queue,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 6] = [
        Target::Channel,
        Target::Billing,
        Target::Crm,
        Target::Agency,
        Target::Legal,
        Target::Queue,
    ];

    /// The name in configuration and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Channel => "channel",
            Target::Billing => "billing",
            Target::Crm => "crm",
            Target::Agency => "agency",
            Target::Legal => "legal",
            Target::Queue => "queue",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// Idempotency key (the engine event's id).
    pub key: String,
    /// The account.
    pub account: AccountId,
    /// Who receives it.
    pub target: Target,
    /// What it is (`message`, `soft_bar`, `reconnect`, `waive_fee`, …).
    pub kind: String,
    /// Not before (a message's send time).
    pub deliver_after: DateTime<Utc>,
    /// The body sent.
    pub payload: serde_json::Value,
    /// The key of an undelivered effect this one withdraws (a cancelled contact): the outbox
    /// drops that one instead of delivering anything.
    pub cancels: Option<String>,
}

impl OutboxItem {
    /// A work-queue item as agents are shown it (API and CLI): item key, account, kind, team,
    /// local due time, tone, talking points, and the whole payload as `detail`.
    pub fn work_item(&self) -> serde_json::Value {
        let p: serde_json::Value = serde_json::from_str(&self.payload).unwrap_or_default();
        serde_json::json!({
            "item": self.key,
            "account": self.account.get(),
            "kind": self.kind,
            "team": p["team"],
            "due_at_utc": p["due_at_utc"],
            "due_at_local": p["due_at_local"],
            "tone": p["tone"],
            "talking_points": p["talking_points"],
            "detail": p,
        })
    }
}

/// An effect waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Idempotency key.
    pub key: String,
    /// The account.
    pub account: AccountId,
    /// Who receives it.
    pub target: Target,
    /// What it is.
    pub kind: String,
    /// The JSON body.
    pub payload: String,
    /// Attempts so far.
    pub attempts: u32,
}
