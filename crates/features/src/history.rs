//! What is known of one account: the rows of the data contract that concern it.

use chrono::{DateTime, NaiveDate, Utc};
use forbear_core::{AgeBand, Channel, CustomerType, Product, ServiceLevel, Tone};

/// The account's attributes (from `accounts`).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountFacts {
    /// Who the customer is.
    pub customer_type: CustomerType,
    /// Service tier.
    pub service_level: ServiceLevel,
    /// Product line.
    pub product: Product,
    /// Age band, for persons.
    pub age_band: Option<AgeBand>,
    /// Services on the account.
    pub services: u32,
    /// Autopay on file.
    pub autopay: bool,
    /// Credit limit in minor units, if any.
    pub credit_limit_minor: Option<i64>,
    /// Opening date.
    pub opened_on: NaiveDate,
}

/// A bill (from `invoices`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BillRecord {
    /// Issue date: known from then on.
    pub issued_on: NaiveDate,
    /// Due date.
    pub due_on: NaiveDate,
    /// Amount, minor units.
    pub amount_minor: i64,
}

/// A payment (from `payments`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaymentRecord {
    /// When it was received.
    pub paid_at: DateTime<Utc>,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// When it bounced, if it did: known from then on.
    pub reversed_on: Option<NaiveDate>,
}

/// A contact (from `contacts`); its outcome is known the day it was sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContactRecord {
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Channel.
    pub channel: Channel,
    /// Tone of the message.
    pub tone: Tone,
    /// Read or answered.
    pub responded: bool,
    /// A call reached the customer and the debt was discussed (the call cool-down starts).
    pub conversation: bool,
    /// The customer opted out of the channel in response.
    pub opted_out: bool,
}

/// A promise to pay (from `promises`); whether it was kept is recomputed from payments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PromiseRecord {
    /// When it was made.
    pub made_on: NaiveDate,
    /// When the money was promised for.
    pub due_on: NaiveDate,
    /// Amount promised.
    pub amount_minor: i64,
}

/// A dispute (from `disputes`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisputeRecord {
    /// When it was opened.
    pub opened_on: NaiveDate,
    /// When it was resolved: known from then on.
    pub resolved_on: Option<NaiveDate>,
}

/// Everything known of one account over the whole history.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountHistory {
    /// Attributes.
    pub facts: AccountFacts,
    /// Bills, any order.
    pub bills: Vec<BillRecord>,
    /// Payments, any order.
    pub payments: Vec<PaymentRecord>,
    /// Contacts, any order.
    pub contacts: Vec<ContactRecord>,
    /// Promises, any order.
    pub promises: Vec<PromiseRecord>,
    /// Disputes, any order.
    pub disputes: Vec<DisputeRecord>,
}

impl AccountHistory {
    /// Puts every list in time order (features assume it).
    pub fn sort(&mut self) {
        self.bills.sort_by_key(|b| (b.due_on, b.issued_on));
        self.payments.sort_by_key(|p| p.paid_at);
        self.contacts.sort_by_key(|c| c.sent_at);
        self.promises.sort_by_key(|p| p.made_on);
        self.disputes.sort_by_key(|d| d.opened_on);
    }
}
