//! What the contact rules need to know of an account, from what a collections system recorded:
//! its recent contacts (with conversations), the channels it opted out of, and open disputes.
//!
//! The simulator knows more (a hardship spell the customer never declared); a system running on
//! its own records knows this much, and the rules are applied to it.

use chrono::{Duration, NaiveDate};
use forbear_core::TimeZone;
use forbear_core::rules::{ChannelSet, ContactFacts, PastContact};
use forbear_features::AccountHistory;

/// The rules' facts of one account on a day, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownFacts {
    /// Time zone.
    pub zone: TimeZone,
    /// Channels consented to.
    pub consent: ChannelSet,
    /// Channels opted out of before the day.
    pub opted_out: ChannelSet,
    /// A dispute is open on the day.
    pub dispute_open: bool,
    /// A statutory hold runs (not in the data contract yet: set by the caller).
    pub statutory_hold: bool,
    /// Hardship declared (not in the data contract yet: set by the caller).
    pub hardship: bool,
    /// Contacts of the 8 days before the day.
    pub recent: Vec<PastContact>,
}

impl KnownFacts {
    /// The facts of `h` on the morning of `date`.
    pub fn of(h: &AccountHistory, date: NaiveDate, zone: TimeZone, consent: ChannelSet) -> Self {
        let mut opted_out = ChannelSet::EMPTY;
        let mut recent = Vec::new();
        for c in &h.contacts {
            let d = zone.local(c.sent_at).date();
            if d >= date {
                continue;
            }
            if c.opted_out {
                opted_out = opted_out.with(c.channel);
            }
            if d >= date - Duration::days(8) {
                recent.push(PastContact {
                    at: c.sent_at,
                    channel: c.channel,
                    conversation: c.conversation,
                });
            }
        }
        let dispute_open = h
            .disputes
            .iter()
            .any(|d| d.opened_on < date && d.resolved_on.is_none_or(|r| r >= date));
        KnownFacts {
            zone,
            consent,
            opted_out,
            dispute_open,
            statutory_hold: false,
            hardship: false,
            recent,
        }
    }

    /// As the rules take them.
    pub fn facts(&self) -> ContactFacts<'_> {
        ContactFacts {
            time_zone: self.zone,
            consent: self.consent,
            opted_out: self.opted_out,
            dispute_open: self.dispute_open,
            statutory_hold: self.statutory_hold,
            hardship: self.hardship,
            recent: &self.recent,
        }
    }
}
