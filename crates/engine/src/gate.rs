//! The outbound gate: every action the engine takes passes here before it becomes an effect.
//!
//! Contacts are checked by [`forbear_core::rules::ContactRules`] — the one implementation of
//! the contact rules, shared with the recommender and the simulator — with every candidate time
//! zone of the customer, the contacts already made *and those scheduled*, consent and opt-outs,
//! and the account's holds. A blocked contact is postponed to the next allowed time on the same
//! channel, or switched to the next allowed channel; every refusal is returned so the timeline
//! says why. Measures on service (barring, disconnection) and fees are refused while a hold or
//! hardship runs.

use chrono::{DateTime, NaiveDate, Utc};
use forbear_core::rules::{ContactFacts, ContactRules};
use forbear_core::{Channel, Tone};

use crate::state::AccountState;

/// The holds in force on a day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holds {
    /// A dispute covers the overdue debt (nothing undisputed is above the threshold).
    pub dispute: bool,
    /// A statutory hold (breathing space, crisis) runs: its kind.
    pub statutory: Option<String>,
    /// Hardship declared and not yet reviewed: its reason.
    pub hardship: Option<String>,
    /// Paused by an agent.
    pub paused: Option<String>,
    /// A promise to pay is open (until its date plus grace).
    pub promise: Option<NaiveDate>,
    /// A payment plan is in good standing.
    pub plan: Option<String>,
}

impl Holds {
    /// Why dunning waits, if it does (hardship does not stop dunning: it changes the scenario).
    pub fn waiting(&self) -> Option<String> {
        if let Some(by) = &self.paused {
            return Some(format!("paused by {by}"));
        }
        if let Some(k) = &self.statutory {
            return Some(format!("statutory hold ({k})"));
        }
        if self.dispute {
            return Some("a dispute covers the overdue amount".into());
        }
        if let Some(p) = &self.plan {
            return Some(format!("payment plan {p} is in good standing"));
        }
        self.promise
            .map(|d| format!("a promise to pay is open until {d}"))
    }
}

/// A refused attempt, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The channel refused.
    pub channel: Channel,
    /// The rule.
    pub rule: String,
    /// The next allowed time on that channel, when the contact was postponed to it.
    pub postponed_to: Option<DateTime<Utc>>,
}

/// Where a contact can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The channel and the send time, when one was found.
    pub slot: Option<(Channel, DateTime<Utc>)>,
    /// The refusals on the way.
    pub refused: Vec<Refusal>,
}

/// Finds the first allowed slot for a contact in `tone`: each channel in order, at `not_before`
/// or — when only the time is wrong — the earliest allowed time within `horizon_days`.
pub fn place_contact(
    rules: &ContactRules,
    state: &AccountState,
    holds: &Holds,
    channels: &[Channel],
    tone: Tone,
    not_before: DateTime<Utc>,
    horizon_days: u32,
) -> Placement {
    let mut refused = Vec::new();
    let Some(profile) = &state.profile else {
        return Placement {
            slot: None,
            refused,
        };
    };
    let facts = ContactFacts {
        time_zone: profile.time_zone,
        other_zones: &profile.other_zones,
        consent: state.consent,
        opted_out: state.opted_out,
        dispute_open: holds.dispute,
        statutory_hold: holds.statutory.is_some(),
        hardship: holds.hardship.is_some(),
        recent: &state.contacts,
    };
    for &channel in channels {
        let broken = rules.violations(&facts, channel, tone, not_before);
        if broken.is_empty() {
            return Placement {
                slot: Some((channel, not_before)),
                refused,
            };
        }
        let later = rules.earliest_allowed(&facts, channel, tone, not_before, horizon_days);
        let rule: Vec<String> = broken.iter().map(ToString::to_string).collect();
        refused.push(Refusal {
            channel,
            rule: rule.join("; "),
            postponed_to: later,
        });
        if let Some(at) = later {
            return Placement {
                slot: Some((channel, at)),
                refused,
            };
        }
    }
    Placement {
        slot: None,
        refused,
    }
}

/// Whether a measure that is not a contact (barring, fee, placement, …) may be taken now.
pub fn measure_refused(holds: &Holds, cuts_service: bool) -> Option<String> {
    if let Some(w) = holds.waiting() {
        return Some(w);
    }
    if let Some(r) = &holds.hardship {
        return Some(if cuts_service {
            format!("hardship ({r}): no service cut")
        } else {
            format!("hardship ({r}): forbearance, no escalation")
        });
    }
    None
}
