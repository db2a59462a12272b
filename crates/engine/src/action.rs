//! What a step can do, and what stays in force until it is undone.
//!
//! Every action that changes something outside a message (a barring, a fee, a CRM flag, a
//! placement) leaves a [`Measure`] in force on the case; a cure undoes each measure in force by
//! its reversal ([`Measure::reversal`]) as the policy says.

use forbear_core::ServiceId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of action a scenario step can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// A message on a channel (fixed by the step or asked of the recommender).
    Notify,
    /// An agent call-back in the team's work queue.
    CallBack,
    /// Outgoing service blocked on the overdue services.
    SoftBar,
    /// All service blocked (suspension) on the overdue services.
    HardBar,
    /// The overdue services disconnected.
    Disconnect,
    /// A late fee charged.
    LateFee,
    /// The customer blacklisted in the CRM (no new postpaid products).
    Blacklist,
    /// The case placed with a collection agency.
    AgencyPlacement,
    /// The case referred to legal.
    LegalReferral,
    /// The debt written off.
    WriteOff,
}

impl ActionKind {
    /// Every kind, in escalation order.
    pub const ALL: [ActionKind; 10] = [
        ActionKind::Notify,
        ActionKind::CallBack,
        ActionKind::SoftBar,
        ActionKind::HardBar,
        ActionKind::Disconnect,
        ActionKind::LateFee,
        ActionKind::Blacklist,
        ActionKind::AgencyPlacement,
        ActionKind::LegalReferral,
        ActionKind::WriteOff,
    ];

    /// The name used in scenario files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Notify => "notify",
            ActionKind::CallBack => "call_back",
            ActionKind::SoftBar => "soft_bar",
            ActionKind::HardBar => "hard_bar",
            ActionKind::Disconnect => "disconnect",
            ActionKind::LateFee => "late_fee",
            ActionKind::Blacklist => "blacklist",
            ActionKind::AgencyPlacement => "agency_placement",
            ActionKind::LegalReferral => "legal_referral",
            ActionKind::WriteOff => "write_off",
        }
    }

    /// Parses a name of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the action contacts the customer (and so passes the contact rules).
    pub fn is_contact(self) -> bool {
        matches!(self, ActionKind::Notify | ActionKind::CallBack)
    }

    /// Whether the action acts on services (and so only on the overdue ones).
    pub fn barring(self) -> Option<Barring> {
        match self {
            ActionKind::SoftBar => Some(Barring::Soft),
            ActionKind::HardBar => Some(Barring::Hard),
            ActionKind::Disconnect => Some(Barring::Disconnected),
            _ => None,
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a service is cut, in escalation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Barring {
    /// Outgoing service blocked.
    Soft,
    /// All service blocked (suspension).
    Hard,
    /// Disconnected.
    Disconnected,
}

impl Barring {
    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Barring::Soft => "soft_bar",
            Barring::Hard => "hard_bar",
            Barring::Disconnected => "disconnect",
        }
    }
}

/// Something the engine did that stays in force until it is undone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "measure", rename_all = "snake_case")]
pub enum Measure {
    /// A service barred or disconnected.
    Barring {
        /// The service.
        service: ServiceId,
        /// How far.
        level: Barring,
    },
    /// A late fee charged by a step.
    Fee {
        /// The step that charged it.
        step: String,
        /// Amount, minor units of the account's currency.
        amount_minor: i64,
    },
    /// The CRM blacklist flag.
    Blacklist,
    /// Placed with an agency.
    Agency {
        /// The agency.
        agency: String,
        /// Placed at (the placement period counts from it).
        #[serde(default)]
        since: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Referred to legal.
    Legal {
        /// The lawyer assigned.
        #[serde(default)]
        lawyer: Option<String>,
    },
    /// Written off.
    WriteOff,
    /// A contact scheduled for later and not yet due.
    PendingContact {
        /// The outbox key of the scheduled message.
        effect: String,
        /// When it is due to be sent (UTC).
        send_at: chrono::DateTime<chrono::Utc>,
        /// Its channel.
        channel: forbear_core::Channel,
        /// Its tone.
        tone: forbear_core::Tone,
        /// The case's purpose (`promise:7:reminder`, …) when a case sent it rather than a
        /// scenario step: a promise or plan in force does not withdraw it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        purpose: Option<String>,
    },
}

impl Measure {
    /// Whether `other` (a measure as a reversal names it) is this measure: placements and
    /// referrals by agency and lawyer only (logs written before they carried their time and
    /// lawyer name them without).
    pub fn is(&self, other: &Measure) -> bool {
        match (self, other) {
            (Measure::Agency { agency: a, .. }, Measure::Agency { agency: b, .. }) => a == b,
            (Measure::Legal { lawyer: a }, Measure::Legal { lawyer: b }) => {
                a.is_none() || b.is_none() || a == b
            }
            _ => self == other,
        }
    }

    /// What undoing it is called on the timeline and in the effect sent.
    pub fn reversal(&self) -> &'static str {
        match self {
            Measure::Barring {
                level: Barring::Soft | Barring::Hard,
                ..
            } => "lift_barring",
            Measure::Barring {
                level: Barring::Disconnected,
                ..
            } => "reconnect",
            Measure::Fee { .. } => "waive_fee",
            Measure::Blacklist => "remove_blacklist",
            Measure::Agency { .. } => "recall_from_agency",
            Measure::Legal { .. } => "withdraw_legal",
            Measure::WriteOff => "reverse_write_off",
            Measure::PendingContact { .. } => "cancel_contact",
        }
    }
}
