//! What the contact rules need to know of an account, from what a collections system recorded:
//! its recent contacts (with conversations), the channels it opted out of, and open disputes.
//!
//! The simulator knows more (a hardship spell the customer never declared); a system running on
//! its own records knows this much, and the rules are applied to it.

use crate::recommend::Situation;
use chrono::{Duration, NaiveDate, NaiveTime};
use forbear_core::rules::{ChannelSet, ContactFacts, PastContact};
use forbear_core::{Currency, CustomerType, Money, TimeZone};
use forbear_features::{AccountHistory, DpdSeries, ResponseState};

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
                    conversation: c.conversation,
                    responded: c.responded,
                    ..PastContact::sent(c.sent_at, c.channel, Some(c.tone))
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
            other_zones: &[],
            consent: self.consent,
            opted_out: self.opted_out,
            dispute_open: self.dispute_open,
            statutory_hold: self.statutory_hold,
            hardship: self.hardship,
            recent: &self.recent,
        }
    }
}

/// One account on one day, as the recommender sees it: the response state, the facts the rules
/// need and the balance — built the same way for a dataset (`forbear plan`, `evaluate policy`)
/// and for a request to the service.
#[derive(Debug, Clone)]
pub struct AccountDay {
    /// Account id.
    pub id: i64,
    /// State on the morning of the day.
    pub state: ResponseState,
    /// What the rules need.
    pub facts: KnownFacts,
    /// Amount due and unpaid on the evening before.
    pub balance: Money,
    /// Customer type.
    pub customer_type: CustomerType,
    /// Language of messages.
    pub language: String,
}

impl AccountDay {
    /// The account on local `date` from its records known by the evening before (`h` sorted);
    /// `None` when it was not open yet or had no bill. `series` may be given when already built
    /// (it must reach the day before).
    #[allow(clippy::too_many_arguments)]
    pub fn of(
        id: i64,
        h: &AccountHistory,
        date: NaiveDate,
        zone: TimeZone,
        consent: ChannelSet,
        currency: Currency,
        language: &str,
        series: Option<&DpdSeries>,
    ) -> Option<AccountDay> {
        if h.facts.opened_on >= date {
            return None;
        }
        let first = h.bills.first()?.issued_on;
        let eve = date - Duration::days(1);
        let built;
        let series = match series {
            Some(s) => s,
            None => {
                built = DpdSeries::new(h, first.min(eve), eve);
                &built
            }
        };
        let balance = (series.billed(eve) - series.covered(eve)).max(0);
        Some(AccountDay {
            id,
            state: ResponseState::at(h, series, date, zone),
            facts: KnownFacts::of(h, date, zone, consent),
            balance: Money::new(balance, currency),
            customer_type: h.facts.customer_type,
            language: language.to_owned(),
        })
    }

    /// The recommender's view of it, deciding from the start of the local day.
    pub fn situation(&self) -> Situation<'_> {
        Situation {
            account: self.id,
            state: &self.state,
            facts: self.facts.facts(),
            balance: self.balance,
            customer_type: self.customer_type,
            language: &self.language,
            not_before: self.facts.zone.at(self.state.date(), NaiveTime::MIN),
        }
    }
}
