//! The ground truth, queryable: what an action would do to a customer in a given state.
//!
//! Computed from the same laws ([`crate::behaviour`]) the simulation draws from, for the
//! customer's current state. The horizon assumes no further contact and no new shock within it —
//! the counterfactual "this action today, then nothing" against "nothing at all" — which is what
//! an oracle policy and regret are measured against.

use crate::behaviour as law;
use crate::customer::Customer;
use crate::population::LatenessReason;
use chrono::{DateTime, Days, NaiveDate, Utc};
use forbear_core::ContactAction;

/// The true effect of an action (or of doing nothing) over the next days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionTruth {
    /// Probability that the contact is delivered and read or answered (0 for no contact).
    pub p_respond: f64,
    /// Probability of a payment within 7 days.
    pub p_pay_7d: f64,
    /// Expected amount paid within 7 days, minor units (rounded).
    pub expected_paid_7d_minor: i64,
    /// Probability of a promise to pay.
    pub p_promise: f64,
    /// Probability of a complaint.
    pub p_complaint: f64,
}

/// Days of the horizon the truth covers.
pub const HORIZON_DAYS: u64 = 7;

impl Customer {
    /// Probability of no payment in the horizon from the hazard alone, with `extra` boost added
    /// today and the bill remembered or not.
    fn no_hazard_payment(&self, date: NaiveDate, extra: f64, forgot: bool) -> f64 {
        let mut boost = self.boost() + extra;
        let mut survive = 1.0;
        for d in 0..HORIZON_DAYS {
            let Some(day) = date.checked_add_days(Days::new(d)) else {
                break;
            };
            let s = law::HazardState {
                forgot,
                bill_today: self.is_billing_day(day),
                ..self.hazard_state(day)
            };
            survive *= 1.0 - law::hazard(law::base_hazard(&self.traits, s, day), boost);
            boost *= law::BOOST_DECAY;
        }
        survive
    }

    /// Probability that a promise made today is due (and so paid, if kept) within the horizon.
    fn promise_due_in_horizon(&self, date: NaiveDate) -> f64 {
        // Paid on the due date or the day before: all of it inside the horizon, half of it when
        // the due date is the day after.
        let last = HORIZON_DAYS as i64 - 1;
        let paid_in_horizon = |days_ahead: i64| match days_ahead {
            d if d <= last => 1.0,
            d if d == last + 1 => 0.5,
            _ => 0.0,
        };
        match law::promise_payday(&self.traits, date) {
            Some(day) => paid_in_horizon((day - date).num_days()),
            // Due 2..=10 days ahead, uniformly.
            None => (2..=10).map(paid_in_horizon).sum::<f64>() / 9.0,
        }
    }

    /// The truth of `action` (or of no contact, with `None`) taken on `date`.
    pub fn truth(
        &self,
        date: NaiveDate,
        action: Option<(ContactAction, DateTime<Utc>)>,
    ) -> ActionTruth {
        let view = self.view(date);
        let in_hardship = self.in_hardship(date);
        let forgot = self.forgot();
        let horizon_end = date
            .checked_add_days(Days::new(HORIZON_DAYS - 1))
            .unwrap_or(date);
        let planned = self.payment_planned_by(horizon_end);
        let share = law::expected_pay_share(&self.traits, in_hardship);
        let owed = view.overdue.max(0) as f64;
        let untouched = self.no_hazard_payment(date, 0.0, forgot);
        let (p_respond, p_no_pay, p_promise, p_complaint) = match action {
            None => (0.0, untouched, 0.0, 0.0),
            Some((a, at)) => {
                let local = self.profile.zone.local(at);
                let pr = law::p_respond(&self.traits, a.channel, local);
                let boost = law::contact_boost(&self.traits, in_hardship, a.channel, a.tone);
                let remember = if forgot && self.traits.reason != LatenessReason::WontPay {
                    law::P_REMEMBER_WHEN_REMINDED
                } else {
                    0.0
                };
                let after_response = remember * self.no_hazard_payment(date, boost, false)
                    + (1.0 - remember) * self.no_hazard_payment(date, boost, forgot);
                let promise = if view.overdue > 0 && !self.promise_open() {
                    law::p_promise(&self.traits, in_hardship, a.channel, a.tone)
                } else {
                    0.0
                };
                let promise_pays = promise
                    * law::p_keep(&self.traits, in_hardship)
                    * self.promise_due_in_horizon(date);
                let no_pay = pr * after_response * (1.0 - promise_pays) + (1.0 - pr) * untouched;
                let last7 = self
                    .recent_contacts()
                    .iter()
                    .filter(|c| (at - c.at).num_days() < 7)
                    .count();
                let pc = law::p_delivered(a.channel)
                    * law::p_complaint(&self.traits, in_hardship, a.channel, a.tone, local, last7);
                (pr, no_pay, pr * promise, pc)
            }
        };
        let p_pay = if view.overdue <= 0 {
            0.0
        } else if planned {
            1.0
        } else {
            1.0 - p_no_pay
        };
        ActionTruth {
            p_respond,
            p_pay_7d: p_pay,
            expected_paid_7d_minor: (p_pay * share * owed).round() as i64,
            p_promise,
            p_complaint,
        }
    }
}
