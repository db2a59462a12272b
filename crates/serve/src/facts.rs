//! An account's facts as a request carries them, checked, and turned into what the models and
//! the recommender take — by the same feature code training used (`forbear-features`) and the
//! same account-day construction as `forbear plan` (`forbear_strategy::facts::AccountDay`).

use chrono::{Duration, NaiveDate, Utc};
use forbear_api::{AccountState, Problem};
use forbear_core::rules::ChannelSet;
use forbear_core::{Money, TimeZone};
use forbear_features::{
    AccountFacts, AccountHistory, BillRecord, ContactRecord, DisputeRecord, PaymentRecord,
    PromiseRecord, RiskFeatures,
};
use forbear_strategy::facts::AccountDay;

/// Records per list at most (bills, payments, …): years of history fit many times over.
pub const MAX_RECORDS: usize = 5000;

/// An account's facts, checked.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Its history, sorted.
    pub history: AccountHistory,
    /// The decision day, local.
    pub date: NaiveDate,
    /// Time zone.
    pub zone: TimeZone,
    /// Consent.
    pub consent: ChannelSet,
}

fn bad(field: String, reason: impl Into<String>) -> Problem {
    Problem::invalid(field, reason)
}

/// Checks an account's facts (`at` is the field's path, `account`) and builds its history.
pub fn check(a: &AccountState, at: &str) -> Result<Checked, Problem> {
    let f = |rest: &str| format!("{at}.{rest}");
    let date = a
        .as_of
        .unwrap_or_else(|| a.time_zone.local(Utc::now()).date());
    for (name, len) in [
        ("bills", a.bills.len()),
        ("payments", a.payments.len()),
        ("contacts", a.contacts.len()),
        ("promises", a.promises.len()),
        ("disputes", a.disputes.len()),
    ] {
        if len > MAX_RECORDS {
            return Err(bad(
                f(name),
                format!("{len} records; at most {MAX_RECORDS} are accepted"),
            ));
        }
    }
    if a.services == 0 {
        return Err(bad(f("services"), "an account has at least 1 service"));
    }
    if let Some(l) = a.credit_limit_minor.filter(|l| *l < 0) {
        return Err(bad(f("credit_limit_minor"), format!("{l} is negative")));
    }
    if let Some(b) = a.balance_minor.filter(|b| *b < 0) {
        return Err(bad(
            f("balance_minor"),
            format!("{b} is negative: a credit balance is not an amount due; send 0"),
        ));
    }
    let lang_ok = !a.language.is_empty()
        && a.language.len() <= 16
        && a.language
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !lang_ok {
        return Err(bad(
            f("language"),
            format!(
                "{:?} is not a language tag such as \"en\" or \"pt-BR\"",
                a.language
            ),
        ));
    }
    if a.opened_on >= date {
        return Err(bad(
            f("opened_on"),
            format!(
                "the account opens on {} but the decision day is {date}",
                a.opened_on
            ),
        ));
    }
    let mut bills = Vec::with_capacity(a.bills.len());
    for (i, b) in a.bills.iter().enumerate() {
        if b.amount_minor < 0 {
            return Err(bad(
                f(&format!("bills[{i}].amount_minor")),
                format!(
                    "{} is negative (a credit note is not a bill)",
                    b.amount_minor
                ),
            ));
        }
        if b.due_on < b.issued_on {
            return Err(bad(
                f(&format!("bills[{i}].due_on")),
                format!("due {} before it was issued on {}", b.due_on, b.issued_on),
            ));
        }
        bills.push(BillRecord {
            issued_on: b.issued_on,
            due_on: b.due_on,
            amount_minor: b.amount_minor,
        });
    }
    let mut payments = Vec::with_capacity(a.payments.len());
    for (i, p) in a.payments.iter().enumerate() {
        if p.amount_minor <= 0 {
            return Err(bad(
                f(&format!("payments[{i}].amount_minor")),
                format!("{} is not a payment (must be > 0)", p.amount_minor),
            ));
        }
        if let Some(r) = p.reversed_on.filter(|r| *r < p.paid_at.date_naive()) {
            return Err(bad(
                f(&format!("payments[{i}].reversed_on")),
                format!(
                    "reversed on {r}, before it was paid on {}",
                    p.paid_at.date_naive()
                ),
            ));
        }
        payments.push(PaymentRecord {
            paid_at: p.paid_at,
            amount_minor: p.amount_minor,
            reversed_on: p.reversed_on,
        });
    }
    let contacts = a
        .contacts
        .iter()
        .map(|c| ContactRecord {
            sent_at: c.sent_at,
            channel: c.channel,
            tone: c.tone,
            responded: c.responded,
            conversation: c.conversation,
            opted_out: c.opted_out,
        })
        .collect();
    let mut promises = Vec::with_capacity(a.promises.len());
    for (i, p) in a.promises.iter().enumerate() {
        if p.amount_minor <= 0 {
            return Err(bad(
                f(&format!("promises[{i}].amount_minor")),
                format!("{} is not an amount promised (must be > 0)", p.amount_minor),
            ));
        }
        if p.due_on < p.made_on {
            return Err(bad(
                f(&format!("promises[{i}].due_on")),
                format!("due {} before it was made on {}", p.due_on, p.made_on),
            ));
        }
        promises.push(PromiseRecord {
            made_on: p.made_on,
            due_on: p.due_on,
            amount_minor: p.amount_minor,
        });
    }
    let mut disputes = Vec::with_capacity(a.disputes.len());
    for (i, d) in a.disputes.iter().enumerate() {
        if let Some(r) = d.resolved_on.filter(|r| *r < d.opened_on) {
            return Err(bad(
                f(&format!("disputes[{i}].resolved_on")),
                format!("resolved on {r}, before it was opened on {}", d.opened_on),
            ));
        }
        disputes.push(DisputeRecord {
            opened_on: d.opened_on,
            resolved_on: d.resolved_on,
        });
    }
    let mut history = AccountHistory {
        facts: AccountFacts {
            customer_type: a.customer_type,
            service_level: a.service_level,
            product: a.product,
            age_band: a.age_band,
            services: a.services,
            autopay: a.autopay,
            credit_limit_minor: a.credit_limit_minor,
            opened_on: a.opened_on,
        },
        bills,
        payments,
        contacts,
        promises,
        disputes,
    };
    history.sort();
    Ok(Checked {
        history,
        date,
        zone: a.time_zone,
        consent: a.consent.iter().copied().collect(),
    })
}

impl Checked {
    /// The risk features at the end of the day before the decision day (what was known by
    /// then), as the risk models were trained on them.
    pub fn risk_row(&self) -> Vec<f64> {
        RiskFeatures::known_by(&self.history, self.date - Duration::days(1))
            .values()
            .to_vec()
    }

    /// The recommender's view of the account on its decision day.
    pub fn account_day(&self, id: i64, a: &AccountState, at: &str) -> Result<AccountDay, Problem> {
        let mut day = AccountDay::of(
            id,
            &self.history,
            self.date,
            self.zone,
            self.consent,
            a.currency,
            &a.language,
            None,
        )
        .ok_or_else(|| {
            bad(
                format!("{at}.bills"),
                "the account has no bill yet: nothing is owed, so there is nothing to recommend",
            )
        })?;
        day.facts.hardship = a.hardship;
        day.facts.statutory_hold = a.statutory_hold;
        if let Some(b) = a.balance_minor {
            day.balance = Money::new(b, a.currency);
        }
        Ok(day)
    }

    /// Whole months from opening to the decision day.
    pub fn tenure_months(&self) -> f64 {
        ((self.date - self.history.facts.opened_on).num_days() as f64 / 30.44).floor()
    }
}
