//! Aggregate statistics of simulated history, to compare with what real portfolios show.
//!
//! The ranges the simulator must land in are [`TARGETS`]; `notebooks-data/README.md` says where
//! they come from, and a test checks a generated portfolio against them.

use crate::customer::Event;
use crate::generate::AccountHistory;
use forbear_core::{Channel, DpdBucket};
use std::fmt;

/// Counts accumulated over account histories.
#[derive(Debug, Clone, Default)]
pub struct PortfolioStats {
    invoices: u64,
    invoices_late: u64,
    account_months: u64,
    months_1plus: u64,
    months_31plus: u64,
    /// Transitions between month-end buckets: `[from][to]`.
    transitions: [[u64; 5]; 5],
    contacts: [u64; 7],
    delivered: [u64; 7],
    responded: [u64; 7],
    complaints: u64,
    promises_settled: u64,
    promises_kept: u64,
    churned: u64,
    postpaid_accounts: u64,
    active_account_months: u64,
}

/// A statistic and the range typical portfolios show.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the statistic.
    pub name: &'static str,
    /// Lower end of the typical range.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// The ranges generated data must land in (see `notebooks-data/README.md` for sources).
pub const TARGETS: [Target; 11] = [
    Target {
        name: "invoices paid after the due date",
        low: 0.12,
        high: 0.35,
    },
    Target {
        name: "account-months 1+ dpd at month end",
        low: 0.05,
        high: 0.25,
    },
    Target {
        name: "account-months 31+ dpd at month end",
        low: 0.01,
        high: 0.08,
    },
    Target {
        name: "roll rate 1-30 -> 31-60",
        low: 0.08,
        high: 0.35,
    },
    Target {
        name: "cure rate 1-30 -> current",
        low: 0.50,
        high: 0.85,
    },
    Target {
        name: "sms delivery rate",
        low: 0.90,
        high: 0.99,
    },
    Target {
        name: "email open rate",
        low: 0.08,
        high: 0.35,
    },
    Target {
        name: "agent call right-party contact rate",
        low: 0.10,
        high: 0.45,
    },
    Target {
        name: "promises kept",
        low: 0.40,
        high: 0.80,
    },
    Target {
        name: "complaints per contact",
        low: 0.0005,
        high: 0.01,
    },
    Target {
        name: "monthly churn of postpaid accounts",
        low: 0.005,
        high: 0.03,
    },
];

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl PortfolioStats {
    /// Adds one account's history.
    pub fn add(&mut self, h: &AccountHistory) {
        let c = &h.customer;
        if c.profile.subscription != forbear_core::SubscriptionType::Postpaid {
            return;
        }
        self.postpaid_accounts += 1;
        self.invoices_late += u64::from(c.view(chrono::NaiveDate::MAX).late_invoices);
        let mut prev: Option<DpdBucket> = None;
        for (_, bucket) in &h.month_end_buckets {
            self.account_months += 1;
            if c.churned_on().is_none() {
                self.active_account_months += 1;
            }
            self.months_1plus += u64::from(*bucket != DpdBucket::Current);
            self.months_31plus += u64::from(*bucket > DpdBucket::D1To30);
            if let Some(p) = prev {
                self.transitions[p.index()][bucket.index()] += 1;
            }
            prev = Some(*bucket);
        }
        if c.churned_on().is_some() {
            self.churned += 1;
        }
        for (_, e, _) in &h.events {
            match e {
                Event::InvoiceIssued { .. } => self.invoices += 1,
                Event::Contacted(o) => {
                    let k = o.action.channel.index();
                    self.contacts[k] += 1;
                    self.delivered[k] += u64::from(o.delivered);
                    self.responded[k] += u64::from(o.responded);
                    self.complaints += u64::from(o.complaint);
                }
                Event::PromiseSettled { kept, .. } => {
                    self.promises_settled += 1;
                    self.promises_kept += u64::from(*kept);
                }
                _ => {}
            }
        }
    }

    /// Adds the counts of another set of accounts.
    pub fn merge(&mut self, o: &PortfolioStats) {
        self.invoices += o.invoices;
        self.invoices_late += o.invoices_late;
        self.account_months += o.account_months;
        self.months_1plus += o.months_1plus;
        self.months_31plus += o.months_31plus;
        for (a, b) in self.transitions.iter_mut().zip(o.transitions.iter()) {
            for (x, y) in a.iter_mut().zip(b.iter()) {
                *x += y;
            }
        }
        for k in 0..7 {
            self.contacts[k] += o.contacts[k];
            self.delivered[k] += o.delivered[k];
            self.responded[k] += o.responded[k];
        }
        self.complaints += o.complaints;
        self.promises_settled += o.promises_settled;
        self.promises_kept += o.promises_kept;
        self.churned += o.churned;
        self.postpaid_accounts += o.postpaid_accounts;
        self.active_account_months += o.active_account_months;
    }

    /// Share of invoices paid after their due date.
    pub fn late_invoice_rate(&self) -> f64 {
        ratio(self.invoices_late, self.invoices)
    }

    /// Roll rate between two month-end buckets.
    pub fn transition(&self, from: DpdBucket, to: DpdBucket) -> f64 {
        ratio(
            self.transitions[from.index()][to.index()],
            self.transitions[from.index()].iter().sum(),
        )
    }

    /// Delivered share of contacts on a channel.
    pub fn delivery_rate(&self, c: Channel) -> f64 {
        ratio(self.delivered[c.index()], self.contacts[c.index()])
    }

    /// Responded share of contacts on a channel.
    pub fn response_rate(&self, c: Channel) -> f64 {
        ratio(self.responded[c.index()], self.contacts[c.index()])
    }

    /// The value of every target statistic, in [`TARGETS`] order.
    pub fn values(&self) -> [f64; 11] {
        let months =
            (self.active_account_months.max(1) as f64) / self.postpaid_accounts.max(1) as f64;
        [
            self.late_invoice_rate(),
            ratio(self.months_1plus, self.account_months),
            ratio(self.months_31plus, self.account_months),
            self.transition(DpdBucket::D1To30, DpdBucket::D31To60),
            self.transition(DpdBucket::D1To30, DpdBucket::Current),
            self.delivery_rate(Channel::Sms),
            self.response_rate(Channel::Email),
            self.response_rate(Channel::AgentCall),
            ratio(self.promises_kept, self.promises_settled),
            ratio(self.complaints, self.contacts.iter().sum()),
            ratio(self.churned, self.postpaid_accounts) / months.max(1.0),
        ]
    }

    /// The targets missed, with their values.
    pub fn misses(&self) -> Vec<(Target, f64)> {
        TARGETS
            .iter()
            .zip(self.values())
            .filter(|(t, v)| *v < t.low || *v > t.high)
            .map(|(t, v)| (*t, v))
            .collect()
    }
}

impl fmt::Display for PortfolioStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (t, v) in TARGETS.iter().zip(self.values()) {
            let ok = if v >= t.low && v <= t.high {
                "ok  "
            } else {
                "MISS"
            };
            writeln!(
                f,
                "{ok} {:<42} {:>8.4}   target {:.4}–{:.4}",
                t.name, v, t.low, t.high
            )?;
        }
        Ok(())
    }
}
