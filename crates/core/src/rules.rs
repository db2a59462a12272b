//! The contact rules of `PRODUCT.md`, implemented once.
//!
//! Every outbound contact — the simulator's logging policy, the recommender's candidate actions,
//! the dunning engine's notifications — asks [`ContactRules::check`] (or
//! [`ContactRules::earliest_allowed`]) before it is sent. Nothing else decides whether a contact is
//! allowed, so the rules cannot drift apart between the parts of the system.
//!
//! The rules:
//! - no contact outside 08:00–21:00 in the customer's local time (per channel, configurable, never
//!   wider than that unless [`ContactRules::allow_wider_hours`] is set on purpose);
//! - phone: at most 7 call attempts in 7 consecutive days, and no call within 7 days after a
//!   conversation about the debt (Regulation F's presumption);
//! - a channel without consent, or opted out of, is never used;
//! - no dunning while a dispute on the debt is open or a statutory hold runs; under a hardship
//!   flag only the empathetic tone is used;
//! - at most a few contacts a day ([`ContactRules::max_contacts_per_day`]).
//!
//! Frequency limits hold for every window, before and after the contact: one placed between
//! contacts already scheduled is refused if any 7-day (or 24-hour) window would exceed its limit.

use crate::{Channel, TimeZone, Tone};
use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::ControlFlow;

/// A set of channels, as a bit mask.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ChannelSet(u8);

impl ChannelSet {
    /// No channel.
    pub const EMPTY: ChannelSet = ChannelSet(0);
    /// Every channel.
    pub const ALL: ChannelSet = ChannelSet(0b0111_1111);

    /// Whether `c` is in the set.
    pub const fn contains(self, c: Channel) -> bool {
        self.0 & (1 << c.index()) != 0
    }

    /// The set with `c` added.
    #[must_use]
    pub const fn with(self, c: Channel) -> ChannelSet {
        ChannelSet(self.0 | (1 << c.index()))
    }

    /// The set with `c` removed.
    #[must_use]
    pub const fn without(self, c: Channel) -> ChannelSet {
        ChannelSet(self.0 & !(1 << c.index()))
    }

    /// The channels in the set, in [`Channel::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Channel> {
        Channel::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }

    /// The raw mask.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl FromIterator<Channel> for ChannelSet {
    fn from_iter<I: IntoIterator<Item = Channel>>(iter: I) -> Self {
        iter.into_iter().fold(ChannelSet::EMPTY, ChannelSet::with)
    }
}

impl fmt::Debug for ChannelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Channel::as_str))
            .finish()
    }
}

/// A contact already made: what the rules count (when, on which channel, whether a call became
/// a conversation) and what the response features read of it (its tone, whether it was read or
/// answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastContact {
    /// When it was sent or attempted.
    pub at: DateTime<Utc>,
    /// Its channel.
    pub channel: Channel,
    /// Whether a call reached the customer and the debt was discussed.
    pub conversation: bool,
    /// Its tone, when known.
    pub tone: Option<Tone>,
    /// Whether the channel reported it read or answered.
    pub responded: bool,
}

impl PastContact {
    /// A contact sent at `at` on `channel`, with nothing yet known of what came of it.
    pub fn sent(at: DateTime<Utc>, channel: Channel, tone: Option<Tone>) -> Self {
        PastContact {
            at,
            channel,
            conversation: false,
            tone,
            responded: false,
        }
    }
}

/// What the rules need to know of an account at the moment of a contact.
#[derive(Debug, Clone, Copy)]
pub struct ContactFacts<'a> {
    /// The customer's time zone.
    pub time_zone: TimeZone,
    /// Other zones the customer may be in when the location is uncertain (the phone's area and
    /// the postal address disagree): a contact must fall within the allowed hours in every one.
    pub other_zones: &'a [TimeZone],
    /// Channels the customer consented to.
    pub consent: ChannelSet,
    /// Channels the customer opted out of (wins over consent).
    pub opted_out: ChannelSet,
    /// A dispute on the debt is open.
    pub dispute_open: bool,
    /// A statutory hold (breathing space, crisis) runs: no contact asking for payment.
    pub statutory_hold: bool,
    /// A hardship or vulnerability flag is set: forbearance, empathetic tone only.
    pub hardship: bool,
    /// Recent contacts, any order; those older than the rules look at are ignored.
    pub recent: &'a [PastContact],
}

/// A reason a contact is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// Outside the channel's allowed local hours.
    #[error("{channel} at {local} local time is outside the allowed hours {from:02}:00-{to:02}:00")]
    QuietHours {
        channel: Channel,
        local: NaiveTime,
        from: u32,
        to: u32,
    },
    /// The customer never consented to the channel.
    #[error("no consent for {0}")]
    NoConsent(Channel),
    /// The customer opted out of the channel.
    #[error("customer opted out of {0}")]
    OptedOut(Channel),
    /// Too many call attempts in the last seven days.
    #[error("{attempts} call attempts already within 7 days of this one (limit {limit})")]
    CallAttempts { attempts: u32, limit: u32 },
    /// A conversation about the debt took place too recently.
    #[error("a conversation about the debt took place on {at}, less than {days} days ago")]
    CallAfterConversation { at: DateTime<Utc>, days: u32 },
    /// Too many contacts today.
    #[error("{count} contacts already within 24 hours of this one (limit {limit})")]
    DailyLimit { count: u32, limit: u32 },
    /// A dispute on the debt is open.
    #[error("a dispute on the debt is open")]
    DisputeOpen,
    /// A statutory hold runs.
    #[error("a statutory hold is running")]
    StatutoryHold,
    /// Hardship flag: only empathetic contact.
    #[error("hardship flag: only the empathetic tone is allowed, not {0}")]
    HardshipTone(Tone),
}

/// The most contacts of `times` that share one window of length `len` with `at` — so that a
/// contact placed between contacts already scheduled cannot push any window over its limit,
/// whether that window lies before or after it.
fn busiest_window(
    times: impl Iterator<Item = DateTime<Utc>>,
    at: DateTime<Utc>,
    len: Duration,
) -> u32 {
    let near: Vec<DateTime<Utc>> = times.filter(|t| *t > at - len && *t < at + len).collect();
    if near.is_empty() {
        return 0;
    }
    // Windows [s, s + len) containing `at` have s in (at - len, at]; the count only drops when s
    // passes an earlier contact, so the candidates are just after at - len and each earlier contact.
    let count = |from: DateTime<Utc>| {
        near.iter()
            .filter(|t| **t >= from && **t < from + len)
            .count()
    };
    let mut best = near.iter().filter(|t| **t > at - len && **t <= at).count();
    for s in near.iter().filter(|t| **t <= at) {
        best = best.max(count(*s));
    }
    best = best.max(count(at));
    u32::try_from(best).unwrap_or(u32::MAX)
}

/// The configurable contact rules. [`Default`] is the policy of `PRODUCT.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactRules {
    /// Allowed local hours `[from, to)` per channel, in [`Channel::ALL`] order.
    pub hours: [(u32, u32); 7],
    /// Let `hours` be wider than 08–21 (off by default: a wider setting is then an error).
    pub allow_wider_hours: bool,
    /// Call attempts allowed in any 7 consecutive days.
    pub max_calls_per_7_days: u32,
    /// Days after a conversation about the debt during which no call is placed (0 turns it off).
    pub call_cooldown_days: u32,
    /// Contacts of any channel in any 24 hours.
    pub max_contacts_per_day: u32,
}

impl Default for ContactRules {
    fn default() -> Self {
        ContactRules {
            hours: [(8, 21); 7],
            allow_wider_hours: false,
            max_calls_per_7_days: 7,
            call_cooldown_days: 7,
            max_contacts_per_day: 2,
        }
    }
}

/// A rule set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("contact rules: {0}")]
pub struct InvalidRules(String);

impl ContactRules {
    /// Checks the configuration: hours inside 0–24 with `from < to`, and inside 08–21 unless
    /// wider hours are allowed on purpose.
    pub fn validate(&self) -> Result<(), InvalidRules> {
        for (c, &(from, to)) in Channel::ALL.iter().zip(self.hours.iter()) {
            if from >= to || to > 24 {
                return Err(InvalidRules(format!(
                    "hours for {c} must satisfy from < to <= 24, got {from}-{to}"
                )));
            }
            if !self.allow_wider_hours && (from < 8 || to > 21) {
                return Err(InvalidRules(format!(
                    "hours for {c} ({from}-{to}) are wider than 08-21; set allow_wider_hours to mean it"
                )));
            }
        }
        Ok(())
    }

    /// Allowed local hours `[from, to)` of a channel.
    pub fn hours_of(&self, c: Channel) -> (u32, u32) {
        self.hours[c.index()]
    }

    /// Every rule a contact on `channel` in `tone` at `at` would break (empty when allowed).
    pub fn violations(
        &self,
        facts: &ContactFacts<'_>,
        channel: Channel,
        tone: Tone,
        at: DateTime<Utc>,
    ) -> Vec<Violation> {
        let mut v = Vec::new();
        self.evaluate(facts, channel, tone, at, &mut |x| {
            v.push(x);
            ControlFlow::Continue(())
        });
        v
    }

    /// The one place the rules are written: reports each broken rule to `sink`, cheapest first,
    /// and stops when `sink` says so (so a yes/no check skips the time-zone and window work).
    fn evaluate(
        &self,
        facts: &ContactFacts<'_>,
        channel: Channel,
        tone: Tone,
        at: DateTime<Utc>,
        sink: &mut dyn FnMut(Violation) -> ControlFlow<()>,
    ) {
        macro_rules! report {
            ($v:expr) => {
                if sink($v).is_break() {
                    return;
                }
            };
        }
        if facts.dispute_open {
            report!(Violation::DisputeOpen);
        }
        if facts.statutory_hold {
            report!(Violation::StatutoryHold);
        }
        if facts.hardship && tone != Tone::Empathetic {
            report!(Violation::HardshipTone(tone));
        }
        if facts.opted_out.contains(channel) {
            report!(Violation::OptedOut(channel));
        } else if !facts.consent.contains(channel) {
            report!(Violation::NoConsent(channel));
        }
        let (from, to) = self.hours_of(channel);
        for zone in std::iter::once(&facts.time_zone).chain(facts.other_zones) {
            let local = zone.local(at).time();
            if local.hour() < from || local.hour() >= to {
                report!(Violation::QuietHours {
                    channel,
                    local,
                    from,
                    to
                });
                break;
            }
        }
        if !facts.recent.is_empty() {
            let today = busiest_window(facts.recent.iter().map(|p| p.at), at, Duration::hours(24));
            if today >= self.max_contacts_per_day {
                report!(Violation::DailyLimit {
                    count: today,
                    limit: self.max_contacts_per_day
                });
            }
        }
        if channel.is_call() && !facts.recent.is_empty() {
            let calls = busiest_window(
                facts
                    .recent
                    .iter()
                    .filter(|p| p.channel.is_call())
                    .map(|p| p.at),
                at,
                Duration::days(7),
            );
            if calls >= self.max_calls_per_7_days {
                report!(Violation::CallAttempts {
                    attempts: calls,
                    limit: self.max_calls_per_7_days
                });
            }
            if self.call_cooldown_days > 0 {
                let since = at - Duration::days(i64::from(self.call_cooldown_days));
                if let Some(last) = facts
                    .recent
                    .iter()
                    .filter(|p| p.conversation && p.at > since && p.at <= at)
                    .map(|p| p.at)
                    .max()
                {
                    report!(Violation::CallAfterConversation {
                        at: last,
                        days: self.call_cooldown_days
                    });
                }
            }
        }
    }

    /// Whether a contact is allowed; the first broken rule otherwise.
    pub fn check(
        &self,
        facts: &ContactFacts<'_>,
        channel: Channel,
        tone: Tone,
        at: DateTime<Utc>,
    ) -> Result<(), Violation> {
        let mut first = None;
        self.evaluate(facts, channel, tone, at, &mut |x| {
            first = Some(x);
            ControlFlow::Break(())
        });
        first.map_or(Ok(()), Err)
    }

    /// The earliest instant at or after `not_before`, within `horizon_days`, at which a contact is
    /// allowed, searching in steps of 15 minutes. `None` when a rule that time does not lift
    /// (consent, dispute, hold, tone) forbids it, or nothing is free within the horizon.
    pub fn earliest_allowed(
        &self,
        facts: &ContactFacts<'_>,
        channel: Channel,
        tone: Tone,
        not_before: DateTime<Utc>,
        horizon_days: u32,
    ) -> Option<DateTime<Utc>> {
        let step = Duration::minutes(15);
        let steps = i64::from(horizon_days) * 24 * 4;
        let mut at = not_before;
        for _ in 0..=steps {
            let v = self.violations(facts, channel, tone, at);
            if v.is_empty() {
                return Some(at);
            }
            if v.iter().any(|x| {
                matches!(
                    x,
                    Violation::NoConsent(_)
                        | Violation::OptedOut(_)
                        | Violation::DisputeOpen
                        | Violation::StatutoryHold
                        | Violation::HardshipTone(_)
                )
            }) {
                return None;
            }
            at += step;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn madrid() -> TimeZone {
        TimeZone::parse("Europe/Madrid").unwrap()
    }

    fn facts(recent: &[PastContact]) -> ContactFacts<'_> {
        ContactFacts {
            time_zone: madrid(),
            other_zones: &[],
            consent: ChannelSet::ALL,
            opted_out: ChannelSet::EMPTY,
            dispute_open: false,
            statutory_hold: false,
            hardship: false,
            recent,
        }
    }

    fn local(h: u32, m: u32) -> DateTime<Utc> {
        madrid().at(
            NaiveDate::from_ymd_opt(2026, 6, 10).unwrap(),
            NaiveTime::from_hms_opt(h, m, 0).unwrap(),
        )
    }

    #[test]
    fn default_rules_are_valid_and_wider_hours_need_intent() {
        let mut r = ContactRules::default();
        r.validate().unwrap();
        r.hours[0] = (7, 21);
        assert!(
            r.validate()
                .unwrap_err()
                .to_string()
                .contains("wider than 08-21")
        );
        r.allow_wider_hours = true;
        r.validate().unwrap();
    }

    #[test]
    fn quiet_hours_are_local() {
        let r = ContactRules::default();
        assert!(
            r.check(&facts(&[]), Channel::Sms, Tone::Friendly, local(8, 0))
                .is_ok()
        );
        assert!(
            r.check(&facts(&[]), Channel::Sms, Tone::Friendly, local(20, 59))
                .is_ok()
        );
        assert!(matches!(
            r.check(&facts(&[]), Channel::Sms, Tone::Friendly, local(21, 0)),
            Err(Violation::QuietHours { .. })
        ));
        assert!(
            r.check(&facts(&[]), Channel::Sms, Tone::Friendly, local(7, 59))
                .is_err()
        );
    }

    #[test]
    fn uncertain_location_allows_only_hours_allowed_in_every_zone() {
        let r = ContactRules::default();
        // Madrid and the Canaries (one hour behind): 08:00 Madrid is 07:00 in Las Palmas.
        let canaries = [TimeZone::parse("Atlantic/Canary").unwrap()];
        let mut f = facts(&[]);
        f.other_zones = &canaries;
        assert!(matches!(
            r.check(&f, Channel::Sms, Tone::Friendly, local(8, 30)),
            Err(Violation::QuietHours { .. })
        ));
        assert!(
            r.check(&f, Channel::Sms, Tone::Friendly, local(9, 0))
                .is_ok()
        );
        // 20:30 Madrid is 19:30 in Las Palmas: fine in both.
        assert!(
            r.check(&f, Channel::Sms, Tone::Friendly, local(20, 30))
                .is_ok()
        );
        assert_eq!(
            r.earliest_allowed(&f, Channel::Sms, Tone::Friendly, local(6, 0), 1),
            Some(local(9, 0))
        );
    }

    #[test]
    fn opt_out_wins_over_consent() {
        let r = ContactRules::default();
        let mut f = facts(&[]);
        f.opted_out = ChannelSet::EMPTY.with(Channel::Sms);
        assert_eq!(
            r.check(&f, Channel::Sms, Tone::Friendly, local(12, 0)),
            Err(Violation::OptedOut(Channel::Sms))
        );
        assert!(
            r.earliest_allowed(&f, Channel::Sms, Tone::Friendly, local(12, 0), 30)
                .is_none()
        );
    }

    #[test]
    fn call_after_conversation_waits_seven_days() {
        let r = ContactRules::default();
        let talk = [PastContact {
            conversation: true,
            ..PastContact::sent(local(10, 0), Channel::AgentCall, None)
        }];
        let f = facts(&talk);
        let next = r
            .earliest_allowed(&f, Channel::AgentCall, Tone::Neutral, local(10, 15), 30)
            .unwrap();
        assert!(next >= local(10, 0) + Duration::days(7));
        // Other channels are not held by the call cool-down.
        assert!(
            r.check(&f, Channel::Email, Tone::Neutral, local(12, 0))
                .is_ok()
        );
    }

    #[test]
    fn disputes_holds_and_hardship_block_dunning() {
        let r = ContactRules::default();
        let mut f = facts(&[]);
        f.dispute_open = true;
        assert_eq!(
            r.check(&f, Channel::Email, Tone::Neutral, local(12, 0)),
            Err(Violation::DisputeOpen)
        );
        let mut f = facts(&[]);
        f.hardship = true;
        assert!(
            r.check(&f, Channel::Email, Tone::Firm, local(12, 0))
                .is_err()
        );
        assert!(
            r.check(&f, Channel::Email, Tone::Empathetic, local(12, 0))
                .is_ok()
        );
    }

    proptest! {
        // Whatever the history, a sequence of contacts each placed at `earliest_allowed` never
        // breaks a rule, never lands at night, and never exceeds 7 calls in 7 days.
        #[test]
        fn contacts_placed_at_earliest_allowed_break_no_rule(
            starts in proptest::collection::vec(0i64..(14 * 24 * 60), 1..40),
            channels in proptest::collection::vec(0usize..7, 40),
            talks in proptest::collection::vec(any::<bool>(), 40),
        ) {
            let r = ContactRules::default();
            let base = local(0, 0);
            let mut history: Vec<PastContact> = Vec::new();
            let mut sorted = starts.clone();
            sorted.sort_unstable();
            for (i, s) in sorted.iter().enumerate() {
                let channel = Channel::ALL[channels[i]];
                let want = base + Duration::minutes(*s);
                let f = facts(&history);
                if let Some(at) = r.earliest_allowed(&f, channel, Tone::Neutral, want, 30) {
                    prop_assert!(r.violations(&f, channel, Tone::Neutral, at).is_empty());
                    let h = madrid().local(at).hour();
                    prop_assert!((8..21).contains(&h));
                    history.push(PastContact { conversation: channel.is_call() && talks[i], ..PastContact::sent(at, channel, None) });
                    history.sort_by_key(|p| p.at);
                }
            }
            for p in &history {
                let calls = history.iter().filter(|q| q.channel.is_call() && q.at > p.at - Duration::days(7) && q.at <= p.at).count();
                prop_assert!(calls <= 7);
            }
        }
    }
}
