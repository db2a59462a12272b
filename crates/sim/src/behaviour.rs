//! How customers behave: the probability laws of the simulator, in one place.
//!
//! The day-by-day simulation ([`crate::customer`]) draws outcomes from these functions, and the
//! truth API ([`crate::truth`]) computes expectations from the very same functions, so "the truth"
//! is by construction what the simulator does.

use crate::population::{LatenessReason, PaySchedule, Traits};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};
use forbear_core::{Channel, Tone};

/// Probability that a contact reaches the device or line, per channel.
pub const DELIVERY: [f64; 7] = [0.97, 0.92, 0.85, 0.95, 0.88, 0.90, 0.97];

/// How strongly a responded contact on each channel moves a customer to pay (agent calls most).
const CHANNEL_WEIGHT: [f64; 7] = [1.0, 0.85, 0.9, 1.0, 0.8, 1.3, 0.8];

/// Daily decay of the effect of a contact on the payment hazard.
pub const BOOST_DECAY: f64 = 0.55;

/// Days after a promise's due date before it counts as broken.
pub const PROMISE_GRACE_DAYS: i64 = 3;

/// Probability that a forgetful customer who reads a reminder remembers the bill.
pub const P_REMEMBER_WHEN_REMINDED: f64 = 0.7;

/// The date a promise made on `date` is due when the customer has a payday 2 to 14 days ahead
/// (they promise their payday); otherwise a date 2 to 10 days ahead, uniformly.
pub fn promise_payday(t: &Traits, date: NaiveDate) -> Option<NaiveDate> {
    (2..=14u64)
        .filter_map(|d| date.checked_add_days(chrono::Days::new(d)))
        .find(|day| is_payday(t, *day))
}

/// Whether `date` is a payday of the customer.
pub fn is_payday(t: &Traits, date: NaiveDate) -> bool {
    match t.schedule {
        PaySchedule::Monthly => {
            let last = last_day_of_month(date);
            date.day() == t.payday.min(last)
        }
        PaySchedule::Biweekly => {
            let days = date.num_days_from_ce().rem_euclid(14) as u32;
            days == t.payday
        }
        PaySchedule::Irregular => false,
    }
}

/// The last day of `date`'s month.
pub fn last_day_of_month(date: NaiveDate) -> u32 {
    let (y, m) = (date.year(), date.month());
    let first_next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    first_next
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// Whether a local time is a weekday working hour (09–17), when many cannot take a call.
pub fn working_hours(local: NaiveDateTime) -> bool {
    let wd = local.weekday();
    wd != Weekday::Sat && wd != Weekday::Sun && (9..17).contains(&local.hour())
}

/// Whether the customer is usually reachable at this local time.
pub fn reachable(t: &Traits, local: NaiveDateTime) -> bool {
    (t.reachable.0..t.reachable.1).contains(&local.hour())
}

/// Probability that a contact sent at `local` is delivered.
pub fn p_delivered(channel: Channel) -> f64 {
    DELIVERY[channel.index()]
}

/// Probability that a delivered contact is read or answered.
pub fn p_respond_if_delivered(t: &Traits, channel: Channel, local: NaiveDateTime) -> f64 {
    let mut p = t.responsiveness[channel.index()];
    if channel.is_interruptive() && !reachable(t, local) {
        p *= 0.35;
    }
    if channel.is_call() && working_hours(local) {
        p *= 0.6;
    }
    p.clamp(0.0, 1.0)
}

/// Probability that a contact is delivered and read or answered.
pub fn p_respond(t: &Traits, channel: Channel, local: NaiveDateTime) -> f64 {
    p_delivered(channel) * p_respond_if_delivered(t, channel, local)
}

/// Added to the payment hazard by a contact the customer responded to.
pub fn contact_boost(t: &Traits, in_hardship: bool, channel: Channel, tone: Tone) -> f64 {
    let base = match t.reason {
        _ if in_hardship => 0.05,
        LatenessReason::None => 0.45,
        LatenessReason::Forgot => 0.65,
        LatenessReason::CashFlow => 0.12,
        LatenessReason::Hardship => 0.12,
        LatenessReason::Dispute => 0.05,
        LatenessReason::WontPay => 0.03,
    };
    let tone_effect = if in_hardship {
        // In a hardship spell empathy works and pressure backfires, whatever the usual reaction.
        [0.8, 1.7, 0.8, 0.4][tone.index()]
    } else {
        t.tone_effect[tone.index()]
    };
    base * tone_effect * CHANNEL_WEIGHT[channel.index()]
}

/// What the payment hazard depends on besides the traits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HazardState {
    /// The customer forgot this bill.
    pub forgot: bool,
    /// A hardship spell is running.
    pub in_hardship: bool,
    /// Service is barred.
    pub barred: bool,
    /// A new bill was issued today (a forgetful customer notices).
    pub bill_today: bool,
}

/// Daily probability of paying an overdue balance without any contact effect.
pub fn base_hazard(t: &Traits, s: HazardState, date: NaiveDate) -> f64 {
    let payday = is_payday(t, date);
    let irregular = t.schedule == PaySchedule::Irregular;
    let cash = |on_payday: f64, other: f64| {
        if irregular {
            other + on_payday / 20.0
        } else if payday {
            on_payday
        } else {
            other
        }
    };
    let mut h = match t.reason {
        _ if s.in_hardship => cash(0.15, 0.004),
        LatenessReason::None => 0.15,
        LatenessReason::Forgot if s.forgot => {
            if s.bill_today {
                0.5
            } else {
                0.02
            }
        }
        LatenessReason::Forgot => 0.2,
        LatenessReason::CashFlow | LatenessReason::Hardship => {
            cash(0.15 + 0.55 * t.income_regularity, 0.03)
        }
        LatenessReason::Dispute => 0.03,
        LatenessReason::WontPay => 0.006,
    };
    if s.barred && matches!(t.reason, LatenessReason::WontPay | LatenessReason::CashFlow) {
        h *= 2.0;
    }
    h.min(0.95)
}

/// The hazard with the contact effect added.
pub fn hazard(base: f64, boost: f64) -> f64 {
    1.0 - (1.0 - base) * (1.0 - boost.clamp(0.0, 0.95))
}

/// Outside hardship, a payment settles the whole overdue balance with this probability…
pub const P_PAY_IN_FULL: f64 = 0.85;

/// …and otherwise a share of it drawn uniformly from this range.
pub const PARTIAL_SHARE: (f64, f64) = (0.3, 0.9);

/// Share of the overdue balance a payment covers during a hardship spell.
pub fn hardship_pay_share(t: &Traits) -> f64 {
    t.capacity * 0.5
}

/// Expected share of the overdue balance a payment covers.
pub fn expected_pay_share(t: &Traits, in_hardship: bool) -> f64 {
    if in_hardship {
        hardship_pay_share(t)
    } else {
        P_PAY_IN_FULL + (1.0 - P_PAY_IN_FULL) * (PARTIAL_SHARE.0 + PARTIAL_SHARE.1) / 2.0
    }
}

/// Probability of a promise to pay, given the customer responded.
pub fn p_promise(t: &Traits, in_hardship: bool, channel: Channel, tone: Tone) -> f64 {
    let base = match t.reason {
        LatenessReason::None | LatenessReason::Forgot => 0.05,
        LatenessReason::CashFlow => 0.25,
        LatenessReason::Hardship => 0.2,
        LatenessReason::Dispute => 0.08,
        LatenessReason::WontPay => 0.12,
    };
    let conversational: f64 = match channel {
        Channel::AgentCall => 1.8,
        Channel::Messaging | Channel::Ivr => 1.2,
        _ => 0.6,
    };
    let fit = if in_hardship || t.reason == LatenessReason::CashFlow {
        [1.0, 1.5, 0.9, 0.6][tone.index()]
    } else {
        1.0
    };
    (base * conversational * fit).min(0.9)
}

/// Probability that a promise is kept.
pub fn p_keep(t: &Traits, in_hardship: bool) -> f64 {
    match t.reason {
        _ if in_hardship => 0.35,
        LatenessReason::None | LatenessReason::Forgot => 0.8,
        LatenessReason::CashFlow => 0.5,
        LatenessReason::Hardship => 0.45,
        LatenessReason::Dispute => 0.4,
        LatenessReason::WontPay => 0.2,
    }
}

/// Probability of a complaint about a contact.
pub fn p_complaint(
    t: &Traits,
    in_hardship: bool,
    channel: Channel,
    tone: Tone,
    local: NaiveDateTime,
    contacts_last_7d: usize,
) -> f64 {
    let mut p = t.complaint_propensity;
    if channel.is_interruptive() && !reachable(t, local) {
        p *= 2.5;
    }
    if channel.is_call() {
        p *= 1.5;
        if working_hours(local) {
            p *= 1.5;
        }
    }
    p *= 1.0 + 0.5 * contacts_last_7d as f64;
    if tone == Tone::Firm && (in_hardship || t.reason == LatenessReason::Hardship) {
        p *= 4.0;
    }
    p.min(0.5)
}

/// Probability of opting out of the channel after a contact (digital channels only).
pub fn p_opt_out(channel: Channel, contacts_last_7d: usize) -> f64 {
    if channel.is_digital() {
        0.002 * (1.0 + 0.4 * contacts_last_7d as f64)
    } else {
        0.0
    }
}

/// Probability of declaring hardship to the creditor after a responded contact, during a spell.
pub fn p_declare_hardship(channel: Channel, tone: Tone) -> f64 {
    match (channel, tone) {
        (_, Tone::Empathetic) => 0.35,
        (Channel::AgentCall, _) => 0.15,
        _ => 0.03,
    }
}
