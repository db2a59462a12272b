//! A simulated account's events as what a collections system knows of it
//! ([`forbear_features::AccountHistory`]) — the same records the data contract's loader builds
//! from Parquet, so features computed in the lab equal those computed from a written dataset.

use chrono::NaiveDate;
use forbear_features::{
    AccountFacts, AccountHistory, BillRecord, ContactRecord, DisputeRecord, PaymentRecord,
    PromiseRecord,
};
use forbear_sim::Event;
use forbear_sim::customer::Customer;
use forbear_sim::policy::Decision;
use std::collections::HashMap;

/// What is known of `customer` from `events` (in day order).
pub fn history_of(
    customer: &Customer,
    events: &[(NaiveDate, Event, Option<Decision>)],
) -> AccountHistory {
    let p = &customer.profile;
    let mut h = AccountHistory {
        facts: AccountFacts {
            customer_type: p.customer_type,
            service_level: p.service_level,
            product: p.product,
            age_band: p.age,
            services: p.services.max(1),
            autopay: p.autopay,
            credit_limit_minor: p.credit_limit_minor,
            opened_on: p.opened_on,
        },
        bills: Vec::new(),
        payments: Vec::new(),
        contacts: Vec::new(),
        promises: Vec::new(),
        disputes: Vec::new(),
    };
    let mut payment_index: HashMap<i64, usize> = HashMap::new();
    let mut dispute_index: HashMap<i64, usize> = HashMap::new();
    for (_, e, _) in events {
        match e {
            Event::InvoiceIssued {
                amount,
                issued_on,
                due_on,
                ..
            } => h.bills.push(BillRecord {
                issued_on: *issued_on,
                due_on: *due_on,
                amount_minor: *amount,
            }),
            Event::PaymentReceived {
                payment_id,
                at,
                amount,
                ..
            } => {
                payment_index.insert(*payment_id, h.payments.len());
                h.payments.push(PaymentRecord {
                    paid_at: *at,
                    amount_minor: *amount,
                    reversed_on: None,
                });
            }
            Event::PaymentReversed { payment_id, on } => {
                if let Some(&k) = payment_index.get(payment_id) {
                    h.payments[k].reversed_on = Some(*on);
                }
            }
            Event::Contacted(o) => h.contacts.push(ContactRecord {
                sent_at: o.at,
                channel: o.action.channel,
                tone: o.action.tone,
                responded: o.responded,
                conversation: o.conversation,
                opted_out: o.opted_out,
            }),
            Event::PromiseMade {
                amount,
                made_on,
                due_on,
                ..
            } => h.promises.push(PromiseRecord {
                made_on: *made_on,
                due_on: *due_on,
                amount_minor: *amount,
            }),
            Event::DisputeOpened { dispute_id, on, .. } => {
                dispute_index.insert(*dispute_id, h.disputes.len());
                h.disputes.push(DisputeRecord {
                    opened_on: *on,
                    resolved_on: None,
                });
            }
            Event::DisputeResolved { dispute_id, on, .. } => {
                if let Some(&k) = dispute_index.get(dispute_id) {
                    h.disputes[k].resolved_on = Some(*on);
                }
            }
            _ => {}
        }
    }
    h.sort();
    h
}
