//! A small valid dataset, built row by row, that tests break one thing at a time.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use forbear_data::{Account, Contact, DatasetWriter, Dispute, Invoice, Payment, Promise};
use std::borrow::Cow;
use std::path::Path;

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn t(y: i32, m: u32, day: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, day, h, 0, 0).unwrap()
}

fn s(x: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(x)
}

#[derive(Debug, Clone)]
pub struct Fixture {
    pub accounts: Vec<Account>,
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub contacts: Vec<Contact>,
    pub disputes: Vec<Dispute>,
    pub promises: Vec<Promise>,
}

pub fn account(id: i64) -> Account {
    Account {
        account_id: id,
        parent_account_id: None,
        customer_type: s("consumer"),
        subscription_type: s("postpaid"),
        service_level: s("standard"),
        product: s("mobile"),
        services: 1,
        time_zone: s("Europe/Madrid"),
        language: s("es"),
        age_band: Some(s("25-34")),
        consent_sms: true,
        consent_email: true,
        consent_push: false,
        consent_messaging: false,
        consent_ivr: true,
        consent_agent_call: true,
        consent_letter: true,
        autopay: false,
        currency: s("EUR"),
        credit_limit_minor: Some(20_000),
        opened_on: d(2024, 1, 10),
        closed_on: None,
    }
}

pub fn invoice(id: i64, account: i64) -> Invoice {
    Invoice {
        invoice_id: id,
        account_id: account,
        service_id: account * 10 + 1,
        currency: s("EUR"),
        amount_minor: 3_500,
        issued_on: d(2026, 3, 1),
        due_on: d(2026, 3, 21),
        period_start: d(2026, 2, 1),
        period_end: d(2026, 2, 28),
    }
}

pub fn fixture() -> Fixture {
    let accounts = vec![account(1), account(2), account(3)];
    let invoices = vec![invoice(11, 1), invoice(21, 2), invoice(31, 3)];
    let payments = vec![Payment {
        payment_id: 101,
        account_id: 1,
        invoice_id: Some(11),
        paid_at: t(2026, 3, 15, 10),
        currency: s("EUR"),
        amount_minor: 3_500,
        method: s("card"),
        reversed_on: None,
    }];
    // 18:30 UTC is 19:30 in Madrid on 2026-03-25 (CET, before the change to summer time).
    let sent = t(2026, 3, 25, 18) + chrono::Duration::minutes(30);
    let contacts = vec![Contact {
        contact_id: 201,
        account_id: 2,
        invoice_id: Some(21),
        sent_at_utc: sent,
        sent_at_local: sent.naive_utc() + chrono::Duration::hours(1),
        channel: s("sms"),
        send_window: s("19-21"),
        tone: s("friendly"),
        template: s("sms.friendly.es"),
        days_past_due: 4,
        balance_minor: 3_500,
        policy: s("test"),
        propensity: 0.85,
        explored: false,
        delivered: true,
        responded: true,
        conversation: false,
        promise_made: false,
        paid_7d_minor: 0,
        paid_30d_minor: 3_500,
        complaint: false,
        opted_out: false,
    }];
    let disputes = vec![Dispute {
        dispute_id: 301,
        account_id: 3,
        invoice_id: 31,
        currency: s("EUR"),
        amount_minor: 1_000,
        opened_on: d(2026, 3, 5),
        reason: s("billing_error"),
        status: s("upheld"),
        resolved_on: Some(d(2026, 3, 20)),
    }];
    let promises = vec![Promise {
        promise_id: 401,
        account_id: 2,
        invoice_id: Some(21),
        currency: s("EUR"),
        amount_minor: 3_500,
        made_on: d(2026, 3, 26),
        due_on: d(2026, 4, 1),
        channel: Some(s("agent_call")),
        status: s("kept"),
        paid_minor: 3_500,
    }];
    Fixture {
        accounts,
        invoices,
        payments,
        contacts,
        disputes,
        promises,
    }
}

pub fn write(f: &Fixture, dir: &Path) {
    let mut w = DatasetWriter::create(dir, false, true).unwrap();
    for r in &f.accounts {
        w.accounts.push(r.clone()).unwrap();
    }
    for r in &f.invoices {
        w.invoices.push(r.clone()).unwrap();
    }
    for r in &f.payments {
        w.payments.push(r.clone()).unwrap();
    }
    for r in &f.contacts {
        w.contacts.push(r.clone()).unwrap();
    }
    for r in &f.disputes {
        w.disputes.push(r.clone()).unwrap();
    }
    for r in &f.promises {
        w.promises.push(r.clone()).unwrap();
    }
    w.commit().unwrap();
}
