//! The row rules of each table. Each function sees one record batch at a time.

use super::keys::{AccountCollector, AccountIndex, IdCollector, IdIndex};
use super::{Keys, Rows, ValidationReport};
use crate::cell::days_to_date;
use crate::columns::{Micros, Strs, dates, f64s, i32s, i64s};
use arrow_array::Array;
use chrono::DateTime;
use forbear_core::{
    AgeBand, Channel, Currency, CustomerType, Product, SendWindow, ServiceLevel, SubscriptionType,
    Tone,
};
use std::collections::HashMap;

const PAYMENT_METHODS: &[&str] = &["direct_debit", "card", "bank_transfer", "cash", "agency"];
const DISPUTE_REASONS: &[&str] = &[
    "billing_error",
    "service_quality",
    "not_recognised",
    "other",
];
const DISPUTE_STATUSES: &[&str] = &["open", "upheld", "rejected"];
const PROMISE_STATUSES: &[&str] = &["open", "kept", "broken"];
/// Values of `truth.lateness_reason`.
pub const LATENESS_REASONS: &[&str] = &[
    "none",
    "forgot",
    "cash_flow",
    "hardship",
    "dispute",
    "wont_pay",
];
/// Values of `truth.pay_schedule`.
pub const PAY_SCHEDULES: &[&str] = &["monthly", "biweekly", "irregular"];

fn one_of(report: &mut ValidationReport, rows: &Rows<'_>, col: &str, allowed: &[&str]) {
    let s = Strs::of(rows.batch, col);
    for i in 0..rows.batch.num_rows() {
        if let Some(v) = s.get(i)
            && !allowed.contains(&v)
        {
            report.add(
                rows.file,
                Some(col),
                Some(rows.row(i)),
                format!(
                    "unknown value {v:?} (expected one of {})",
                    allowed.join(", ")
                ),
            );
        }
    }
}

fn parses<E: std::fmt::Display>(
    report: &mut ValidationReport,
    rows: &Rows<'_>,
    col: &str,
    parse: impl Fn(&str) -> Result<(), E>,
) {
    let s = Strs::of(rows.batch, col);
    let mut seen: HashMap<&str, bool> = HashMap::new();
    for i in 0..rows.batch.num_rows() {
        let Some(v) = s.get(i) else { continue };
        let ok = *seen.entry(v).or_insert_with(|| parse(v).is_ok());
        if !ok && let Err(e) = parse(v) {
            report.add(rows.file, Some(col), Some(rows.row(i)), e.to_string());
        }
    }
}

fn currency(report: &mut ValidationReport, rows: &Rows<'_>) {
    parses(report, rows, "currency", |v| Currency::parse(v).map(|_| ()));
}

fn amount_at_least(report: &mut ValidationReport, rows: &Rows<'_>, col: &str, min: i64) {
    let a = i64s(rows.batch, col);
    for i in 0..a.len() {
        if a.is_valid(i) && a.value(i) < min {
            let what = if a.value(i) < 0 {
                "negative amount"
            } else {
                "amount must be positive, got"
            };
            report.add(
                rows.file,
                Some(col),
                Some(rows.row(i)),
                format!("{what} {}", a.value(i)),
            );
        }
    }
}

fn refers_to_accounts(report: &mut ValidationReport, rows: &Rows<'_>, accounts: &AccountIndex) {
    let a = i64s(rows.batch, "account_id");
    for i in 0..a.len() {
        if a.is_valid(i) && !accounts.contains(a.value(i)) {
            report.add(
                rows.file,
                Some("account_id"),
                Some(rows.row(i)),
                format!("account {} is not in accounts", a.value(i)),
            );
        }
    }
}

fn refers_to_invoices(report: &mut ValidationReport, rows: &Rows<'_>, invoices: &IdIndex) {
    let a = i64s(rows.batch, "invoice_id");
    for i in 0..a.len() {
        if a.is_valid(i) && !invoices.contains(a.value(i)) {
            report.add(
                rows.file,
                Some("invoice_id"),
                Some(rows.row(i)),
                format!("invoice {} is not in invoices", a.value(i)),
            );
        }
    }
}

fn collect_ids(rows: &Rows<'_>, col: &str, ids: &mut IdCollector) {
    let a = i64s(rows.batch, col);
    for i in 0..a.len() {
        ids.push(rows.file, if a.is_valid(i) { a.value(i) } else { i64::MIN });
    }
}

/// `later` must not be before `earlier` (both Date32 columns; nulls skip the check).
fn date_order(
    report: &mut ValidationReport,
    rows: &Rows<'_>,
    earlier: &str,
    later: &str,
    what: &str,
) {
    let e = dates(rows.batch, earlier);
    let l = dates(rows.batch, later);
    for i in 0..e.len() {
        if e.is_valid(i) && l.is_valid(i) && l.value(i) < e.value(i) {
            let show = |d: i32| days_to_date(d).map_or_else(|| d.to_string(), |d| d.to_string());
            report.add(
                rows.file,
                Some(later),
                Some(rows.row(i)),
                format!(
                    "{what} {} is before {} {}",
                    show(l.value(i)),
                    earlier.replace('_', " "),
                    show(e.value(i))
                ),
            );
        }
    }
}

fn probability(report: &mut ValidationReport, rows: &Rows<'_>, col: &str, open_at_zero: bool) {
    let a = f64s(rows.batch, col);
    for i in 0..a.len() {
        let v = a.value(i);
        let bad = v.is_nan() || v > 1.0 || if open_at_zero { v <= 0.0 } else { v < 0.0 };
        if a.is_valid(i) && bad {
            let range = if open_at_zero { "(0, 1]" } else { "[0, 1]" };
            report.add(
                rows.file,
                Some(col),
                Some(rows.row(i)),
                format!("{col} {v} is outside {range}"),
            );
        }
    }
}

pub(super) fn accounts(report: &mut ValidationReport, rows: &Rows<'_>, acc: &mut AccountCollector) {
    let b = rows.batch;
    collect_ids(rows, "account_id", &mut acc.ids);
    let parents = i64s(b, "parent_account_id");
    for i in 0..parents.len() {
        if parents.is_valid(i) {
            acc.parents
                .push((rows.file.to_owned(), rows.row(i), parents.value(i)));
        }
    }
    let zones = Strs::of(b, "time_zone");
    let mut cache: HashMap<&str, Option<chrono_tz::Tz>> = HashMap::new();
    for i in 0..b.num_rows() {
        let tz = zones.get(i).and_then(|z| {
            let tz = *cache
                .entry(z)
                .or_insert_with(|| z.parse::<chrono_tz::Tz>().ok());
            if tz.is_none() {
                report.add(
                    rows.file,
                    Some("time_zone"),
                    Some(rows.row(i)),
                    format!(
                        "unknown time zone {z:?} (expected an IANA name such as \"Europe/Madrid\")"
                    ),
                );
            }
            tz
        });
        acc.zones.push(tz);
    }
    parses(report, rows, "customer_type", |v| {
        CustomerType::parse(v).map(|_| ())
    });
    parses(report, rows, "subscription_type", |v| {
        SubscriptionType::parse(v).map(|_| ())
    });
    parses(report, rows, "service_level", |v| {
        ServiceLevel::parse(v).map(|_| ())
    });
    parses(report, rows, "product", |v| Product::parse(v).map(|_| ()));
    parses(report, rows, "age_band", |v| AgeBand::parse(v).map(|_| ()));
    currency(report, rows);
    let services = i32s(b, "services");
    for i in 0..services.len() {
        if services.is_valid(i) && services.value(i) < 1 {
            report.add(
                rows.file,
                Some("services"),
                Some(rows.row(i)),
                format!(
                    "an account has at least one service, got {}",
                    services.value(i)
                ),
            );
        }
    }
    let lang = Strs::of(b, "language");
    for i in 0..b.num_rows() {
        if lang.get(i).is_some_and(|l| l.is_empty() || l.len() > 35) {
            report.add(
                rows.file,
                Some("language"),
                Some(rows.row(i)),
                "language must be a BCP 47 tag such as \"en\" or \"es-MX\"".into(),
            );
        }
    }
    amount_at_least(report, rows, "credit_limit_minor", 0);
    date_order(report, rows, "opened_on", "closed_on", "closing date");
}

pub(super) fn invoices(
    report: &mut ValidationReport,
    rows: &Rows<'_>,
    accounts: &AccountIndex,
    ids: &mut IdCollector,
) {
    collect_ids(rows, "invoice_id", ids);
    refers_to_accounts(report, rows, accounts);
    currency(report, rows);
    amount_at_least(report, rows, "amount_minor", 0);
    date_order(report, rows, "issued_on", "due_on", "due date");
    date_order(report, rows, "period_start", "period_end", "period end");
}

pub(super) fn payments(
    report: &mut ValidationReport,
    rows: &Rows<'_>,
    keys: &Keys,
    ids: &mut IdCollector,
) {
    collect_ids(rows, "payment_id", ids);
    refers_to_accounts(report, rows, &keys.accounts);
    refers_to_invoices(report, rows, &keys.invoices);
    currency(report, rows);
    amount_at_least(report, rows, "amount_minor", 1);
    one_of(report, rows, "method", PAYMENT_METHODS);
    let paid = Micros::of(rows.batch, "paid_at");
    let rev = dates(rows.batch, "reversed_on");
    for i in 0..rev.len() {
        if let (true, Some(p)) = (rev.is_valid(i), paid.get(i))
            && let Some(paid_day) = DateTime::from_timestamp_micros(p).map(|t| t.date_naive())
            && let Some(r) = days_to_date(rev.value(i))
            && r < paid_day
        {
            report.add(
                rows.file,
                Some("reversed_on"),
                Some(rows.row(i)),
                format!("reversal date {r} is before the payment date {paid_day}"),
            );
        }
    }
}

pub(super) fn contacts(
    report: &mut ValidationReport,
    rows: &Rows<'_>,
    keys: &Keys,
    ids: &mut IdCollector,
) {
    let b = rows.batch;
    collect_ids(rows, "contact_id", ids);
    refers_to_accounts(report, rows, &keys.accounts);
    refers_to_invoices(report, rows, &keys.invoices);
    parses(report, rows, "channel", |v| Channel::parse(v).map(|_| ()));
    parses(report, rows, "send_window", |v| {
        SendWindow::parse(v).map(|_| ())
    });
    parses(report, rows, "tone", |v| Tone::parse(v).map(|_| ()));
    probability(report, rows, "propensity", true);
    amount_at_least(report, rows, "balance_minor", 0);
    amount_at_least(report, rows, "paid_7d_minor", 0);
    amount_at_least(report, rows, "paid_30d_minor", 0);
    let (p7, p30) = (i64s(b, "paid_7d_minor"), i64s(b, "paid_30d_minor"));
    for i in 0..p7.len() {
        if p7.is_valid(i) && p30.is_valid(i) && p30.value(i) < p7.value(i) {
            report.add(
                rows.file,
                Some("paid_30d_minor"),
                Some(rows.row(i)),
                format!(
                    "paid within 30 days ({}) is less than paid within 7 days ({})",
                    p30.value(i),
                    p7.value(i)
                ),
            );
        }
    }
    // The local time must be the UTC instant on the account's wall clock.
    let (utc, local, acc) = (
        Micros::of(b, "sent_at_utc"),
        Micros::of(b, "sent_at_local"),
        i64s(b, "account_id"),
    );
    for i in 0..b.num_rows() {
        let (Some(u), Some(l), true) = (utc.get(i), local.get(i), acc.is_valid(i)) else {
            continue;
        };
        let Some(tz) = keys.accounts.zone(acc.value(i)) else {
            continue;
        };
        let Some(at) = DateTime::from_timestamp_micros(u) else {
            continue;
        };
        let expected = at
            .with_timezone(&tz)
            .naive_local()
            .and_utc()
            .timestamp_micros();
        if expected != l {
            let shown = DateTime::from_timestamp_micros(l)
                .map(|t| t.naive_utc().to_string())
                .unwrap_or_default();
            report.add(
                rows.file,
                Some("sent_at_local"),
                Some(rows.row(i)),
                format!(
                    "local time {shown} is not {} in {}",
                    at.with_timezone(&tz).naive_local(),
                    tz.name()
                ),
            );
        }
    }
}

pub(super) fn disputes(
    report: &mut ValidationReport,
    rows: &Rows<'_>,
    keys: &Keys,
    ids: &mut IdCollector,
) {
    collect_ids(rows, "dispute_id", ids);
    refers_to_accounts(report, rows, &keys.accounts);
    refers_to_invoices(report, rows, &keys.invoices);
    currency(report, rows);
    amount_at_least(report, rows, "amount_minor", 0);
    one_of(report, rows, "reason", DISPUTE_REASONS);
    one_of(report, rows, "status", DISPUTE_STATUSES);
    date_order(report, rows, "opened_on", "resolved_on", "resolution date");
    let status = Strs::of(rows.batch, "status");
    let resolved = dates(rows.batch, "resolved_on");
    for i in 0..resolved.len() {
        match (status.get(i), resolved.is_valid(i)) {
            (Some("open"), true) => report.add(
                rows.file,
                Some("resolved_on"),
                Some(rows.row(i)),
                "an open dispute has no resolution date".into(),
            ),
            (Some("upheld" | "rejected"), false) => report.add(
                rows.file,
                Some("resolved_on"),
                Some(rows.row(i)),
                "a resolved dispute needs its resolution date".into(),
            ),
            _ => {}
        }
    }
}

pub(super) fn promises(
    report: &mut ValidationReport,
    rows: &Rows<'_>,
    keys: &Keys,
    ids: &mut IdCollector,
) {
    collect_ids(rows, "promise_id", ids);
    refers_to_accounts(report, rows, &keys.accounts);
    refers_to_invoices(report, rows, &keys.invoices);
    currency(report, rows);
    amount_at_least(report, rows, "amount_minor", 1);
    amount_at_least(report, rows, "paid_minor", 0);
    date_order(report, rows, "made_on", "due_on", "due date");
    parses(report, rows, "channel", |v| Channel::parse(v).map(|_| ()));
    one_of(report, rows, "status", PROMISE_STATUSES);
}

pub(super) fn truth(
    report: &mut ValidationReport,
    rows: &Rows<'_>,
    keys: &Keys,
    ids: &mut IdCollector,
) {
    collect_ids(rows, "account_id", ids);
    refers_to_accounts(report, rows, &keys.accounts);
    one_of(report, rows, "lateness_reason", LATENESS_REASONS);
    one_of(report, rows, "pay_schedule", PAY_SCHEDULES);
    for col in [
        "income_regularity",
        "forgetfulness",
        "resp_sms",
        "resp_email",
        "resp_push",
        "resp_messaging",
        "resp_ivr",
        "resp_agent_call",
        "resp_letter",
        "complaint_propensity",
        "churn_propensity",
    ] {
        probability(report, rows, col, false);
    }
    let (from, to) = (
        i32s(rows.batch, "reachable_from"),
        i32s(rows.batch, "reachable_to"),
    );
    for i in 0..from.len() {
        if !(0..=24).contains(&from.value(i))
            || !(0..=24).contains(&to.value(i))
            || from.value(i) >= to.value(i)
        {
            report.add(
                rows.file,
                Some("reachable_to"),
                Some(rows.row(i)),
                format!(
                    "reachable hours {}-{} are not a range within 0-24",
                    from.value(i),
                    to.value(i)
                ),
            );
        }
    }
}
