//! Channel-response features: an account's state on the morning of a decision day, and an
//! action (channel, send window, tone at an instant) or none.
//!
//! The state part is computed once per account and day ([`ResponseState::at`]) from records
//! known by the end of the day before — nothing of the decision day itself, whose contacts and
//! payments are what the models predict. Each candidate action then fills in its own columns
//! ([`ResponseState::row`]), cheaply, so a recommender scores every action of a day from one
//! state. "No contact" is a row like any other, with the action columns missing: the same models
//! predict the baseline every action's uplift is measured against.

use crate::history::AccountHistory;
use crate::risk::{DpdSeries, RISK_FEATURES, RiskFeatures};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday};
use forbear_core::{Channel, ContactAction, SendWindow, TimeZone, Tone};

/// Features of the state, after the risk features.
const STATE_EXTRA: [&str; 8] = [
    "contacts_7d",
    "days_to_payday",
    "weekday",
    "day_of_month",
    "preventive",
    // Response to calls, texts and pushes by local time of day: when the customer is reachable.
    "resp_morning",
    "resp_midday",
    "resp_evening",
];

/// Features of the action.
const ACTION: [&str; 10] = [
    "contacted",
    "channel",
    "send_window",
    "tone",
    "local_hour",
    "call_in_working_hours",
    "resp_channel",
    "tries_channel",
    "resp_window",
    "pay_after_tone",
];

/// Columns of the state (the same for every action of an account on a day); the action's follow.
pub const STATE_COLUMNS: usize = RISK_FEATURES.len() + STATE_EXTRA.len();

/// Number of response features.
pub const RESPONSE_FEATURE_COUNT: usize = RISK_FEATURES.len() + STATE_EXTRA.len() + ACTION.len();

/// The response features, in [`ResponseState::row`] order. Names are stable: bundles store them.
pub fn response_features() -> Vec<&'static str> {
    RISK_FEATURES
        .iter()
        .chain(&STATE_EXTRA)
        .chain(&ACTION)
        .copied()
        .collect()
}

/// Positions of the action's categorical columns in a response row.
pub const CHANNEL_COLUMN: usize = RISK_FEATURES.len() + STATE_EXTRA.len() + 1;
/// Position of the send window.
pub const WINDOW_COLUMN: usize = CHANNEL_COLUMN + 1;
/// Position of the tone.
pub const TONE_COLUMN: usize = CHANNEL_COLUMN + 2;

fn smoothed(hits: u32, tries: u32) -> f64 {
    (f64::from(hits) + 1.0) / (f64::from(tries) + 2.0)
}

/// An account's state on the morning of a decision day, with the per-channel, per-window and
/// per-tone statistics its candidate actions read.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseState {
    state: [f64; RISK_FEATURES.len() + STATE_EXTRA.len()],
    /// (responses, contacts) per channel over the last 12 months.
    by_channel: [(u32, u32); 7],
    /// (responses, contacts) of interruptive contacts per local send window.
    by_window: [(u32, u32); 6],
    /// (paid within 7 days, responded contacts) per tone.
    by_tone: [(u32, u32); 4],
    zone: TimeZone,
    date: NaiveDate,
}

/// Day of month the customer usually pays on (the most common over the last year), if there
/// were at least two payments.
fn usual_payday(h: &AccountHistory, before: NaiveDate) -> Option<u32> {
    let mut count = [0u32; 32];
    let mut n = 0;
    for p in &h.payments {
        let d = p.paid_at.date_naive();
        if d < before && d >= before - Duration::days(365) {
            count[d.day() as usize] += 1;
            n += 1;
        }
    }
    if n < 2 {
        return None;
    }
    (1..32)
        .max_by_key(|&d| (count[d], std::cmp::Reverse(d)))
        .map(|d| d as u32)
}

/// Days from `date` until the oldest unpaid bill known the evening before falls due, when nothing
/// is overdue yet; `None` otherwise. `series` must reach the day before.
pub fn days_to_due(h: &AccountHistory, series: &DpdSeries, date: NaiveDate) -> Option<f64> {
    let eve = date - Duration::days(1);
    if series.dpd(eve) > 0 {
        return None;
    }
    h.bills
        .iter()
        .filter(|b| b.issued_on <= eve && b.due_on >= date)
        .map(|b| (b.due_on - date).num_days() as f64)
        .reduce(f64::min)
}

impl ResponseState {
    /// The state on the morning of local `date`: risk features at the end of the day before,
    /// and statistics of records known by then. `series` must reach the day before.
    pub fn at(h: &AccountHistory, series: &DpdSeries, date: NaiveDate, zone: TimeZone) -> Self {
        let eve = date - Duration::days(1);
        let risk = RiskFeatures::at(h, series, eve);
        let year_ago = eve - Duration::days(365);
        let mut by_channel = [(0u32, 0u32); 7];
        let mut by_window = [(0u32, 0u32); 6];
        let mut by_tone = [(0u32, 0u32); 4];
        let mut contacts_7d = 0;
        // (responses, contacts) of interruptive contacts before 12:00, 12–17, from 17:00.
        let mut by_band = [(0u32, 0u32); 3];
        for c in &h.contacts {
            let d = c.sent_at.date_naive();
            if d > eve || d <= year_ago {
                continue;
            }
            if d > eve - Duration::days(7) {
                contacts_7d += 1;
            }
            let r = u32::from(c.responded);
            let ch = &mut by_channel[c.channel.index()];
            *ch = (ch.0 + r, ch.1 + 1);
            if c.channel.is_interruptive() {
                let local = zone.local(c.sent_at).time();
                if let Some(w) = SendWindow::containing(local) {
                    let bw = &mut by_window[w.index()];
                    *bw = (bw.0 + r, bw.1 + 1);
                }
                let band = match local.hour() {
                    h if h < 12 => 0,
                    h if h < 17 => 1,
                    _ => 2,
                };
                let bb = &mut by_band[band];
                *bb = (bb.0 + r, bb.1 + 1);
            }
            // Whether a responded contact was followed by a payment within 7 days — only once
            // those 7 days are over by the evening before.
            if c.responded && d + Duration::days(7) <= eve {
                let paid = h
                    .payments
                    .iter()
                    .any(|p| p.paid_at >= c.sent_at && p.paid_at < c.sent_at + Duration::days(7));
                let bt = &mut by_tone[c.tone.index()];
                *bt = (bt.0 + u32::from(paid), bt.1 + 1);
            }
        }
        let days_to_payday = usual_payday(h, date).map_or(f64::NAN, |p| {
            let today = date.day();
            if p >= today {
                f64::from(p - today)
            } else {
                f64::from(p + 30 - today)
            }
        });
        // Days until the oldest unpaid bill falls due, when it is not yet overdue.
        let preventive = days_to_due(h, series, date).unwrap_or(f64::NAN);
        let mut state = [0.0; RISK_FEATURES.len() + STATE_EXTRA.len()];
        state[..RISK_FEATURES.len()].copy_from_slice(risk.values());
        state[RISK_FEATURES.len()..].copy_from_slice(&[
            f64::from(contacts_7d),
            days_to_payday,
            f64::from(date.weekday().num_days_from_monday()),
            f64::from(date.day()),
            preventive,
            smoothed(by_band[0].0, by_band[0].1),
            smoothed(by_band[1].0, by_band[1].1),
            smoothed(by_band[2].0, by_band[2].1),
        ]);
        ResponseState {
            state,
            by_channel,
            by_window,
            by_tone,
            zone,
            date,
        }
    }

    /// Every value as bits (so that missing values compare equal): for tests of equality.
    pub fn bits(&self) -> Vec<u64> {
        let stats = self
            .by_channel
            .iter()
            .chain(&self.by_window)
            .chain(&self.by_tone)
            .map(|(a, b)| u64::from(*a) << 32 | u64::from(*b));
        self.state
            .iter()
            .map(|v| v.to_bits())
            .chain(stats)
            .collect()
    }

    /// The decision day.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The customer's time zone.
    pub fn zone(&self) -> TimeZone {
        self.zone
    }

    /// Days until the oldest unpaid bill falls due, when nothing is overdue yet.
    pub fn days_to_due(&self) -> Option<f64> {
        let v = self.state[RISK_FEATURES.len() + 4];
        v.is_finite().then_some(v)
    }

    /// The state's value of a risk feature by name (`dpd_now`, …).
    pub fn risk(&self, name: &str) -> Option<f64> {
        RISK_FEATURES
            .iter()
            .position(|n| *n == name)
            .map(|k| self.state[k])
    }

    /// Fills `out` (length [`RESPONSE_FEATURE_COUNT`]) with the features of `action` sent at
    /// an instant, or of no contact.
    pub fn row(&self, action: Option<(ContactAction, DateTime<Utc>)>, out: &mut [f64]) {
        self.row_local(action.map(|(a, at)| (a, self.zone.local(at))), out);
    }

    /// [`ResponseState::row`] with the send instant already in the customer's local time (a
    /// caller filling many rows converts each instant once).
    pub fn row_local(&self, action: Option<(ContactAction, NaiveDateTime)>, out: &mut [f64]) {
        let s = self.state.len();
        out[..s].copy_from_slice(&self.state);
        match action {
            None => clear_action(out),
            Some((act, local)) => {
                let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
                let hour = local.hour();
                let (cr, cn) = self.by_channel[act.channel.index()];
                let (wr, wn) = self.by_window[act.window.index()];
                let (tp, tn) = self.by_tone[act.tone.index()];
                out[s..s + ACTION.len()].copy_from_slice(&[
                    1.0,
                    act.channel.index() as f64,
                    act.window.index() as f64,
                    act.tone.index() as f64,
                    f64::from(hour),
                    f64::from(u8::from(
                        act.channel.is_call() && !weekend && (9..17).contains(&hour),
                    )),
                    smoothed(cr, cn),
                    f64::from(cn),
                    smoothed(wr, wn),
                    smoothed(tp, tn),
                ]);
            }
        }
    }

    /// The features of one action as a new vector.
    pub fn features(&self, action: Option<(ContactAction, DateTime<Utc>)>) -> Vec<f64> {
        let mut v = vec![0.0; RESPONSE_FEATURE_COUNT];
        self.row(action, &mut v);
        v
    }
}

/// Which part of the action a model sees. A model that does not need every part of the action
/// is trained and served with the other action columns missing, so it scores one row per
/// distinct part (a channel and window, say) instead of one per action — the recommender's
/// budget is microseconds. The scopes follow the funnel of a contact: whether it is read depends
/// on the channel and the hour; what reading it does, on the channel and the tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionScope {
    /// The state only (no contact).
    StateOnly,
    /// Channel and send time, not tone.
    ChannelTime,
    /// Channel and tone, not send time.
    ChannelTone,
    /// The whole action.
    Full,
}

impl ActionScope {
    /// Clears the action columns this scope does not see.
    pub fn apply(self, row: &mut [f64]) {
        let s = RISK_FEATURES.len() + STATE_EXTRA.len();
        // ACTION order: contacted, channel, send_window, tone, local_hour,
        // call_in_working_hours, resp_channel, tries_channel, resp_window, pay_after_tone.
        let hidden: &[usize] = match self {
            ActionScope::StateOnly => return clear_action(row),
            ActionScope::ChannelTime => &[3, 9],
            ActionScope::ChannelTone => &[2, 4, 5, 8],
            ActionScope::Full => &[],
        };
        for &k in hidden {
            row[s + k] = f64::NAN;
        }
    }
}

/// A part of the action a group of trees may read (see `GbmParams::feature_groups`): a model
/// whose trees each read one part is a sum of per-part functions, scored once per distinct
/// value of each part — seven channels and four tones instead of 28 combinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionPart {
    /// Channel and send time (window, local hour, working hours, response by window).
    ChannelTime,
    /// Channel (and its response history).
    Channel,
    /// Tone (and the payments that followed it).
    Tone,
}

impl ActionPart {
    /// The columns of a response row this part consists of.
    pub fn columns(self) -> Vec<usize> {
        // ACTION order: contacted, channel, send_window, tone, local_hour,
        // call_in_working_hours, resp_channel, tries_channel, resp_window, pay_after_tone.
        let offsets: &[usize] = match self {
            ActionPart::ChannelTime => &[1, 2, 4, 5, 6, 7, 8],
            ActionPart::Channel => &[1, 6, 7],
            ActionPart::Tone => &[3, 9],
        };
        offsets.iter().map(|o| STATE_COLUMNS + o).collect()
    }

    /// Number of distinct values.
    pub fn keys(self) -> usize {
        match self {
            ActionPart::ChannelTime => 42,
            ActionPart::Channel => 7,
            ActionPart::Tone => 4,
        }
    }

    /// The value of an action's part, in `0..keys()`.
    pub fn key(self, a: &ContactAction) -> usize {
        match self {
            ActionPart::ChannelTime => a.channel.index() * 6 + a.window.index(),
            ActionPart::Channel => a.channel.index(),
            ActionPart::Tone => a.tone.index(),
        }
    }
}

/// Turns a row into the row of no contact in the same state (the action columns cleared).
pub fn clear_action(row: &mut [f64]) {
    let s = RISK_FEATURES.len() + STATE_EXTRA.len();
    row[s] = 0.0;
    row[s + 1..s + ACTION.len()].fill(f64::NAN);
}

/// Whether a channel's category column value (as stored in a row) names `c`.
pub fn channel_of(value: f64) -> Option<Channel> {
    (value.is_finite() && value >= 0.0)
        .then(|| Channel::ALL.get(value as usize).copied())
        .flatten()
}

/// The tone of a row's tone column.
pub fn tone_of(value: f64) -> Option<Tone> {
    (value.is_finite() && value >= 0.0)
        .then(|| Tone::ALL.get(value as usize).copied())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{AccountFacts, BillRecord, ContactRecord, PaymentRecord};
    use forbear_core::{CustomerType, Product, ServiceLevel};

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
    }

    fn history() -> AccountHistory {
        let zone = TimeZone::parse("Europe/Madrid").unwrap();
        let at = |day, h| zone.at(d(day), chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap());
        AccountHistory {
            facts: AccountFacts {
                customer_type: CustomerType::Consumer,
                service_level: ServiceLevel::Standard,
                product: Product::Mobile,
                age_band: None,
                services: 1,
                autopay: false,
                credit_limit_minor: None,
                opened_on: d(1) - Duration::days(400),
            },
            bills: vec![BillRecord {
                issued_on: d(1),
                due_on: d(5),
                amount_minor: 5_000,
            }],
            payments: vec![PaymentRecord {
                paid_at: at(12, 12),
                amount_minor: 5_000,
                reversed_on: None,
            }],
            contacts: vec![
                ContactRecord {
                    sent_at: at(2, 18),
                    channel: Channel::Sms,
                    tone: Tone::Friendly,
                    responded: true,
                    conversation: false,
                    opted_out: false,
                },
                ContactRecord {
                    sent_at: at(8, 11),
                    channel: Channel::AgentCall,
                    tone: Tone::Firm,
                    responded: false,
                    conversation: false,
                    opted_out: false,
                },
                ContactRecord {
                    sent_at: at(10, 18),
                    channel: Channel::Sms,
                    tone: Tone::Friendly,
                    responded: true,
                    conversation: false,
                    opted_out: false,
                },
            ],
            promises: vec![],
            disputes: vec![],
        }
    }

    #[test]
    fn state_uses_nothing_of_the_decision_day_or_later() {
        let h = history();
        let zone = TimeZone::parse("Europe/Madrid").unwrap();
        let series = DpdSeries::new(&h, d(1) - Duration::days(30), d(20));
        let s = ResponseState::at(&h, &series, d(10), zone);
        // The contact of the 10th (the decision day) is not seen: two contacts, one per channel.
        assert_eq!(s.by_channel[Channel::Sms.index()], (1, 1));
        assert_eq!(s.by_channel[Channel::AgentCall.index()], (0, 1));
        let mut later = h.clone();
        later.contacts.pop();
        later.payments.clear();
        let series2 = DpdSeries::new(&later, d(1) - Duration::days(30), d(20));
        let s2 = ResponseState::at(&later, &series2, d(10), zone);
        assert_eq!(s.bits(), s2.bits());
    }

    #[test]
    fn actions_fill_their_columns_and_none_leaves_them_missing() {
        let h = history();
        let zone = TimeZone::parse("Europe/Madrid").unwrap();
        let series = DpdSeries::new(&h, d(1) - Duration::days(30), d(20));
        let s = ResponseState::at(&h, &series, d(11), zone);
        let names = response_features();
        assert_eq!(names.len(), RESPONSE_FEATURE_COUNT);
        let none = s.features(None);
        assert_eq!(
            none[names.iter().position(|n| *n == "contacted").unwrap()],
            0.0
        );
        assert!(none[CHANNEL_COLUMN].is_nan());
        let act = ContactAction {
            channel: Channel::AgentCall,
            window: SendWindow::H10To12,
            tone: Tone::Firm,
        };
        // Wednesday 11 March 2026, 11:00 in Madrid: a call in working hours.
        let row = s.features(Some((
            act,
            zone.at(d(11), chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap()),
        )));
        let col = |n: &str| row[names.iter().position(|x| *x == n).unwrap()];
        assert_eq!(channel_of(row[CHANNEL_COLUMN]), Some(Channel::AgentCall));
        assert_eq!(tone_of(row[TONE_COLUMN]), Some(Tone::Firm));
        assert_eq!(col("local_hour"), 11.0);
        assert_eq!(col("call_in_working_hours"), 1.0);
        // One unanswered call: (0 + 1) / (1 + 2).
        assert!((col("resp_channel") - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(col("dpd_now"), 5.0);
        assert_eq!(col("contacts_7d"), 2.0);
    }
}
