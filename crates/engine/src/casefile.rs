//! The case file: everything an agency or a lawyer needs about an account — who the customer
//! is, invoices, payments, contacts, disputes, promises, plans, hardship and the measures in
//! force — as JSON (sent with a placement or a referral) and as an HTML document a lawyer can
//! print.

use chrono::{DateTime, NaiveDate, Utc};
use forbear_core::Money;
use serde::Serialize;
use std::fmt::Write as _;

use crate::action::Measure;
use crate::event::{Event, EventBody};
use crate::state::AccountState;

/// One line of money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    /// Invoice id.
    pub invoice: i64,
    /// Service.
    pub service: i64,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Due date.
    pub due_on: NaiveDate,
    /// Still open, minor units.
    pub open_minor: i64,
}

/// A payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentLine {
    /// Payment id.
    pub payment: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Reversed (bounced) at.
    pub reversed_at: Option<DateTime<Utc>>,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactLine {
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Channel.
    pub channel: String,
    /// Tone, when known.
    pub tone: Option<String>,
    /// What it was.
    pub what: String,
}

/// A dispute, promise or plan in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub what: String,
}

/// The case file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseFile {
    /// The account.
    pub account: i64,
    /// Generated at.
    pub generated_at: DateTime<Utc>,
    /// The customer's name.
    pub name: Option<String>,
    /// Customer type.
    pub customer_type: String,
    /// Currency.
    pub currency: String,
    /// Time zone.
    pub time_zone: String,
    /// Balance, minor units.
    pub balance_minor: i64,
    /// Days past due.
    pub days_past_due: Option<i32>,
    /// The case's number and scenario, when one is open.
    pub case: Option<(u32, String)>,
    /// Invoices.
    pub invoices: Vec<InvoiceLine>,
    /// Payments.
    pub payments: Vec<PaymentLine>,
    /// Contacts, oldest first.
    pub contacts: Vec<ContactLine>,
    /// Disputes.
    pub disputes: Vec<Line>,
    /// Promises.
    pub promises: Vec<Line>,
    /// Plans.
    pub plans: Vec<Line>,
    /// Hardship and holds.
    pub forbearance: Vec<Line>,
    /// Measures in force.
    pub measures: Vec<String>,
}

/// The case file of an account's log at `now`, contacts in full (tone, template, outcome);
/// `None` before `account_opened`.
pub fn case_file(events: &[Event], now: DateTime<Utc>) -> Option<CaseFile> {
    let first = events.first()?;
    let s = AccountState::replay(first.account, events, Some(now));
    build(&s, contacts_of(events, now), now)
}

/// The contacts of a log up to `now`, oldest first.
fn contacts_of(events: &[Event], now: DateTime<Utc>) -> Vec<ContactLine> {
    let mut log: Vec<&Event> = events.iter().filter(|e| e.at <= now).collect();
    log.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    log.dedup_by(|a, b| a.id == b.id);
    let mut contacts = Vec::new();
    for e in &log {
        match &e.body {
            EventBody::StepExecuted {
                step,
                contact: Some(c),
                ..
            } => contacts.push(ContactLine {
                at: c.send_at,
                channel: c.channel.to_string(),
                tone: Some(c.tone.to_string()),
                what: format!("{step} ({})", c.template),
            }),
            EventBody::ContactMade { channel, tone } => contacts.push(ContactLine {
                at: e.at,
                channel: channel.to_string(),
                tone: tone.map(|t| t.to_string()),
                what: "contact made outside the engine".into(),
            }),
            EventBody::ContactOutcome { channel, .. } => contacts.push(ContactLine {
                at: e.at,
                channel: channel.to_string(),
                tone: None,
                what: crate::timeline::summary(&e.body, &|m| m.to_string()),
            }),
            _ => {}
        }
    }
    contacts.sort_by_key(|c| c.at);
    contacts
}

/// The case file of a state, with the contacts the state knows (time and channel) — what the
/// engine sends with a placement or a referral.
pub fn of_state(s: &AccountState, now: DateTime<Utc>) -> Option<CaseFile> {
    let contacts = s
        .contacts
        .iter()
        .filter(|c| c.at <= now)
        .map(|c| ContactLine {
            at: c.at,
            channel: c.channel.to_string(),
            tone: None,
            what: if c.conversation {
                "conversation about the debt".into()
            } else {
                "contact".into()
            },
        })
        .collect();
    build(s, contacts, now)
}

fn build(s: &AccountState, contacts: Vec<ContactLine>, now: DateTime<Utc>) -> Option<CaseFile> {
    let p = s.profile.as_ref()?;
    let money = |m: i64| Money::new(m, p.currency).to_string();
    let today = s.local_date(now);
    let ledger = s.ledger(today);
    let invoices = s
        .invoices
        .iter()
        .map(|(id, i)| InvoiceLine {
            invoice: id.get(),
            service: i.service.get(),
            amount_minor: i.amount_minor,
            due_on: s.due_on(*id, i.due_on),
            open_minor: ledger
                .open_items
                .iter()
                .find(|o| o.invoice == Some(*id))
                .map_or(0, |o| o.open_minor),
        })
        .collect();
    let payments = s
        .payments
        .iter()
        .map(|(id, x)| PaymentLine {
            payment: id.get(),
            at: x.at,
            amount_minor: x.amount_minor,
            reversed_at: x.reversed_at,
        })
        .collect();
    let disputes = s
        .disputes
        .iter()
        .map(|(id, d)| Line {
            at: d.opened_at,
            what: format!(
                "dispute {id} on invoice {} for {}: {}",
                d.invoice,
                money(d.amount_minor),
                match d.resolved {
                    None => "open".to_string(),
                    Some((true, at)) => format!("upheld on {}", s.local_date(at)),
                    Some((false, at)) => format!("rejected on {}", s.local_date(at)),
                }
            ),
        })
        .collect();
    let promises = s
        .promises
        .iter()
        .map(|(id, x)| Line {
            at: x.made_at,
            what: format!(
                "promise {id}: {} by {} — {}",
                money(x.amount_minor),
                x.due_on,
                match (x.standing, x.outcome) {
                    (crate::state::Standing::Refused, _) => "refused (outside policy)",
                    (_, Some(true)) => "kept",
                    (_, Some(false)) => "broken",
                    _ => "open",
                }
            ),
        })
        .collect();
    let plans = s
        .plans
        .iter()
        .map(|(id, x)| Line {
            at: x.agreed_at,
            what: format!(
                "plan {id}: {} in {} instalments — {}",
                money(x.total_minor()),
                x.instalments.len(),
                if x.completed {
                    "completed".to_string()
                } else if let Some(d) = x.breached {
                    format!("breached (instalment of {d})")
                } else if x.standing == crate::state::Standing::Refused {
                    "refused (outside policy)".into()
                } else {
                    "in good standing".into()
                }
            ),
        })
        .collect();
    let mut forbearance: Vec<Line> = s
        .hardships
        .iter()
        .map(|h| Line {
            at: h.since,
            what: format!(
                "hardship ({}){}",
                h.reason,
                h.ended_at
                    .map_or(String::new(), |e| format!(", ended {}", s.local_date(e)))
            ),
        })
        .collect();
    forbearance.extend(s.holds.iter().filter_map(|h| {
        h.until.map(|u| Line {
            at: h.at,
            what: format!("{} until {u}", h.kind.as_str().replace('_', " ")),
        })
    }));
    let measures = s
        .open_case()
        .map(|c| {
            c.measures
                .iter()
                .map(|m| match m {
                    Measure::Barring { service, level } => {
                        format!("service {service}: {}", level.as_str())
                    }
                    Measure::Fee { step, amount_minor } => {
                        format!("fee {} ({step})", money(*amount_minor))
                    }
                    Measure::Agency { agency, .. } => format!("placed with {agency}"),
                    Measure::Legal { lawyer } => format!(
                        "referred to legal{}",
                        lawyer.as_ref().map_or(String::new(), |l| format!(" ({l})"))
                    ),
                    other => other.reversal().replace('_', " "),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(CaseFile {
        account: s.account.get(),
        generated_at: now,
        name: p.name.clone(),
        customer_type: p.segment.customer_type.to_string(),
        currency: p.currency.to_string(),
        time_zone: p.time_zone.name().to_string(),
        balance_minor: ledger.balance,
        days_past_due: ledger.dpd(today),
        case: s.open_case().map(|c| (c.number, c.scenario.clone())),
        invoices,
        payments,
        contacts,
        disputes,
        promises,
        plans,
        forbearance,
        measures,
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The case file as a self-contained HTML document for printing.
pub fn html(f: &CaseFile) -> String {
    let cur: forbear_core::Currency =
        forbear_core::Currency::parse(&f.currency).unwrap_or(forbear_core::Currency::EUR);
    let money = |m: i64| Money::new(m, cur).to_string();
    let mut h = String::with_capacity(8192);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Case file — account {acc}</title>\
    <style>body{{font-family:Georgia,serif;max-width:52em;margin:2em auto;color:#111}}\
    table{{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}}th,td{{border:1px solid #999;padding:.25em .5em;text-align:left;font-size:.9em}}\
    th{{background:#eee}}h1{{font-size:1.4em}}h2{{font-size:1.1em;border-bottom:1px solid #333}}@media print{{body{{margin:0}}}}</style></head><body>\n\
    <h1>Case file — account {acc}</h1>\n<p>Generated {gen} (UTC). Customer: <b>{name}</b> ({ct}), time zone {tz}.</p>\n\
    <p>Balance <b>{bal}</b>; days past due: {dpd}; {case}.</p>\n",
        acc = f.account,
        gen = f.generated_at.format("%Y-%m-%d %H:%M"),
        name = esc(f.name.as_deref().unwrap_or("—")),
        ct = esc(&f.customer_type),
        tz = esc(&f.time_zone),
        bal = money(f.balance_minor),
        dpd = f.days_past_due.map_or("none".into(), |d| d.to_string()),
        case = f.case.as_ref().map_or("no open case".to_string(), |(n, s)| {
            format!("case {n} under scenario {}", esc(s))
        }),
    );
    h.push_str("<h2>Invoices</h2>\n<table><tr><th>Invoice</th><th>Service</th><th>Due</th><th>Amount</th><th>Open</th></tr>\n");
    for i in &f.invoices {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i.invoice,
            i.service,
            i.due_on,
            money(i.amount_minor),
            money(i.open_minor)
        );
    }
    h.push_str("</table>\n<h2>Payments</h2>\n<table><tr><th>Payment</th><th>Date (UTC)</th><th>Amount</th><th>Reversed</th></tr>\n");
    for p in &f.payments {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.payment,
            p.at.format("%Y-%m-%d %H:%M"),
            money(p.amount_minor),
            p.reversed_at
                .map_or(String::new(), |r| r.format("%Y-%m-%d").to_string())
        );
    }
    h.push_str("</table>\n<h2>Contacts</h2>\n<table><tr><th>Date (UTC)</th><th>Channel</th><th>Tone</th><th>What</th></tr>\n");
    for c in &f.contacts {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.at.format("%Y-%m-%d %H:%M"),
            esc(&c.channel),
            esc(c.tone.as_deref().unwrap_or("")),
            esc(&c.what)
        );
    }
    h.push_str("</table>\n");
    for (title, lines) in [
        ("Disputes", &f.disputes),
        ("Promises to pay", &f.promises),
        ("Payment plans", &f.plans),
        ("Hardship and statutory holds", &f.forbearance),
    ] {
        let _ = writeln!(h, "<h2>{title}</h2>");
        if lines.is_empty() {
            h.push_str("<p>None.</p>\n");
            continue;
        }
        h.push_str("<ul>\n");
        for l in lines {
            let _ = writeln!(h, "<li>{}: {}</li>", l.at.format("%Y-%m-%d"), esc(&l.what));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<h2>Measures in force</h2>\n<ul>\n");
    for m in &f.measures {
        let _ = writeln!(h, "<li>{}</li>", esc(m));
    }
    h.push_str("</ul>\n</body></html>\n");
    h
}
