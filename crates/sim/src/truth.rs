//! The ground truth, queryable: what an action would do to a customer in a given state.
//!
//! Computed from the same laws ([`crate::behaviour`]) the simulation draws from, for the
//! customer's current state. The horizon assumes no further contact and no new shock within it —
//! the counterfactual "this action today, then nothing" against "nothing at all" — which is what
//! an oracle policy and regret are measured against.

use crate::behaviour as law;
use crate::customer::Customer;
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

impl Customer {
    /// The truth of `action` (or of no contact, with `None`) taken on `date`.
    pub fn truth(
        &self,
        date: NaiveDate,
        action: Option<(ContactAction, DateTime<Utc>)>,
    ) -> ActionTruth {
        let view = self.view(date);
        let in_hardship = self.in_hardship(date);
        let state = self.hazard_state(date);
        let p_no_pay = |extra: f64| -> f64 {
            let mut boost = self.boost() + extra;
            let mut survive = 1.0;
            for d in 0..7u64 {
                let Some(day) = date.checked_add_days(Days::new(d)) else {
                    break;
                };
                let s = law::HazardState {
                    bill_today: d > 0 && state.bill_today,
                    ..state
                };
                survive *= 1.0 - law::hazard(law::base_hazard(&self.traits, s, day), boost);
                boost *= law::BOOST_DECAY;
            }
            survive
        };
        let share = if in_hardship {
            law::pay_share(&self.traits, true)
        } else {
            0.85 + 0.15 * 0.6
        };
        let owed = view.overdue.max(0) as f64;
        let (p_respond, p_pay, p_promise, p_complaint) = match action {
            None => (0.0, 1.0 - p_no_pay(0.0), 0.0, 0.0),
            Some((a, at)) => {
                let local = self.profile.zone.local(at);
                let pr = law::p_respond(&self.traits, a.channel, local);
                let boost = law::contact_boost(&self.traits, in_hardship, a.channel, a.tone);
                let p_pay = pr * (1.0 - p_no_pay(boost)) + (1.0 - pr) * (1.0 - p_no_pay(0.0));
                let last7 = self
                    .recent_contacts()
                    .iter()
                    .filter(|c| (at - c.at).num_days() < 7)
                    .count();
                let pc = law::p_delivered(a.channel)
                    * law::p_complaint(&self.traits, in_hardship, a.channel, a.tone, local, last7);
                let pp = if view.overdue > 0 {
                    pr * law::p_promise(&self.traits, in_hardship, a.channel, a.tone)
                } else {
                    0.0
                };
                (pr, p_pay, pp, pc)
            }
        };
        let p_pay = if view.overdue > 0 { p_pay } else { 0.0 };
        ActionTruth {
            p_respond,
            p_pay_7d: p_pay,
            expected_paid_7d_minor: (p_pay * share * owed).round() as i64,
            p_promise,
            p_complaint,
        }
    }
}
