//! Loading events into a store from files: a dataset of the data contract (what `forbear
//! generate` writes and billing exports), an NDJSON file of events, or a Parquet file of events.
//!
//! Every source is checked in full before anything is written — a contract dataset by
//! `forbear_data::open_validated`, an event file by parsing every line or row — so a bad file
//! never leaves half of itself in the store. Writing is idempotent (events keep their ids), so
//! loading a file twice, or a file that overlaps one loaded before, adds only what is new.

use arrow_array::{Array, RecordBatch};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use forbear_core::{
    AccountId, Channel, Currency, CustomerType, DisputeId, InvoiceId, PaymentId, Product,
    PromiseId, ServiceId, ServiceLevel, SubscriptionType, TimeZone, Tone,
};
use forbear_data::cell::days_to_date;
use forbear_data::columns::{Micros, Strs, bools, dates, i64s};
use forbear_data::{DataError, open_validated};
use forbear_engine::{Event, EventBody, EventId, IngestSummary, Store, StoreError};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Why a source could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The dataset is not a valid one of the data contract.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A line or row of an event file is wrong.
    #[error("{file}:{line}: {reason}")]
    Event {
        /// The file.
        file: PathBuf,
        /// 1-based line (NDJSON) or row (Parquet).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a directory, `.ndjson`/`.jsonl` or `.parquet`.
    #[error(
        "{0}: expected a dataset directory of the data contract, an .ndjson/.jsonl or a .parquet event file"
    )]
    Unknown(PathBuf),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Loads `path` into `store` in chunks of `chunk` events; `progress` gets the running count.
pub fn import(
    store: &mut dyn Store,
    path: &Path,
    chunk: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<IngestSummary, ImportError> {
    let events = read_events(path)?;
    let mut total = IngestSummary::default();
    for part in events.chunks(chunk.max(1)) {
        let s = store.ingest(part)?;
        total.stored += s.stored;
        total.duplicates += s.duplicates;
        progress(total.stored + total.duplicates);
    }
    Ok(total)
}

/// Every event of a source, checked.
pub fn read_events(path: &Path) -> Result<Vec<Event>, ImportError> {
    if path.is_dir() {
        return contract_events(path);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match ext {
        "ndjson" | "jsonl" => ndjson_events(path),
        "parquet" => parquet_events(path),
        _ => Err(ImportError::Unknown(path.to_path_buf())),
    }
}

fn checked(file: &Path, line: usize, e: Event) -> Result<Event, ImportError> {
    e.check_external().map_err(|err| ImportError::Event {
        file: file.to_path_buf(),
        line,
        reason: err.reason,
    })?;
    Ok(e)
}

fn ndjson_events(path: &Path) -> Result<Vec<Event>, ImportError> {
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let e: Event = serde_json::from_str(&line).map_err(|err| ImportError::Event {
            file: path.to_path_buf(),
            line: i + 1,
            reason: err.to_string(),
        })?;
        out.push(checked(path, i + 1, e)?);
    }
    Ok(out)
}

/// A Parquet event file: `event_id` (text), `account_id` (int64), `at` (timestamp, UTC) and
/// `event` (the event's JSON object: `type` and its fields).
fn parquet_events(path: &Path) -> Result<Vec<Event>, ImportError> {
    let mut out = Vec::new();
    let mut row = 0usize;
    for batch in forbear_data::read::open_batches(path)? {
        let b = batch.map_err(|e| ImportError::Event {
            file: path.to_path_buf(),
            line: row + 1,
            reason: e.to_string(),
        })?;
        for col in ["event_id", "account_id", "at", "event"] {
            if b.column_by_name(col).is_none() {
                return Err(ImportError::Event {
                    file: path.to_path_buf(),
                    line: 0,
                    reason: format!(
                        "missing column {col} (expected event_id, account_id, at, event)"
                    ),
                });
            }
        }
        let (ids, accounts, ats, bodies) = (
            Strs::of(&b, "event_id"),
            i64s(&b, "account_id"),
            Micros::of(&b, "at"),
            Strs::of(&b, "event"),
        );
        for i in 0..b.num_rows() {
            row += 1;
            let bad = |reason: String| ImportError::Event {
                file: path.to_path_buf(),
                line: row,
                reason,
            };
            let id = ids.get(i).ok_or_else(|| bad("event_id is null".into()))?;
            let body = bodies.get(i).ok_or_else(|| bad("event is null".into()))?;
            let at = ats
                .get(i)
                .and_then(DateTime::from_timestamp_micros)
                .ok_or_else(|| bad("at is null or out of range".into()))?;
            let account = if accounts.is_valid(i) {
                AccountId::new(accounts.value(i)).map_err(|e| bad(e.to_string()))?
            } else {
                return Err(bad("account_id is null".into()));
            };
            let body: EventBody = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
            let e = Event {
                id: EventId::new(id).map_err(bad)?,
                account,
                at,
                body,
            };
            out.push(checked(path, row, e)?);
        }
    }
    Ok(out)
}

/// The events a dataset of the data contract describes: each account's opening, invoices,
/// payments and their reversals, contacts and their outcomes, disputes and their resolution,
/// promises. Dates become instants at local midnight in the account's zone (promises at noon).
pub fn contract_events(dir: &Path) -> Result<Vec<Event>, ImportError> {
    let ds = open_validated(dir)?;
    let mut out = Vec::new();
    let mut zones: HashMap<i64, TimeZone> = HashMap::new();
    let utc = TimeZone::parse("UTC").map_err(|e| ImportError::Event {
        file: dir.to_path_buf(),
        line: 0,
        reason: e.to_string(),
    })?;
    let local = |zones: &HashMap<i64, TimeZone>, a: i64, d: NaiveDate, t: NaiveTime| {
        zones.get(&a).unwrap_or(&utc).at(d, t)
    };
    let id = |s: String| EventId::new(s).ok();
    let push = |out: &mut Vec<Event>, key: Option<EventId>, a: i64, at: DateTime<Utc>, body| {
        if let (Some(id), Ok(account)) = (key, AccountId::new(a)) {
            out.push(Event {
                id,
                account,
                at,
                body,
            });
        }
    };
    let date = |a: &arrow_array::Date32Array, i: usize| {
        if a.is_valid(i) {
            days_to_date(a.value(i))
        } else {
            None
        }
    };
    let opt_i64 = |a: &arrow_array::Int64Array, i: usize| a.is_valid(i).then(|| a.value(i));
    // The dataset is validated: names parse, ids are positive, references resolve.
    for batch in ds.batches("accounts")? {
        let b: RecordBatch = batch?;
        let (ids, parent, ct, sub, sl, pr, tz, lang, cur, opened, age, autopay, limit) = (
            i64s(&b, "account_id"),
            i64s(&b, "parent_account_id"),
            Strs::of(&b, "customer_type"),
            Strs::of(&b, "subscription_type"),
            Strs::of(&b, "service_level"),
            Strs::of(&b, "product"),
            Strs::of(&b, "time_zone"),
            Strs::of(&b, "language"),
            Strs::of(&b, "currency"),
            dates(&b, "opened_on"),
            Strs::of(&b, "age_band"),
            bools(&b, "autopay"),
            i64s(&b, "credit_limit_minor"),
        );
        let consent: Vec<(Channel, &arrow_array::BooleanArray)> = Channel::ALL
            .iter()
            .map(|c| (*c, bools(&b, &format!("consent_{c}"))))
            .collect();
        for i in 0..b.num_rows() {
            let a = ids.value(i);
            let (
                Some(customer_type),
                Some(subscription_type),
                Some(service_level),
                Some(product),
                Some(zone),
                Some(currency),
                Some(on),
            ) = (
                ct.get(i).and_then(|v| CustomerType::parse(v).ok()),
                sub.get(i).and_then(|v| SubscriptionType::parse(v).ok()),
                sl.get(i).and_then(|v| ServiceLevel::parse(v).ok()),
                pr.get(i).and_then(|v| Product::parse(v).ok()),
                tz.get(i).and_then(|v| TimeZone::parse(v).ok()),
                cur.get(i).and_then(|v| Currency::parse(v).ok()),
                date(opened, i),
            )
            else {
                continue;
            };
            zones.insert(a, zone);
            let body = EventBody::AccountOpened {
                customer_type,
                subscription_type,
                service_level,
                product,
                parent: opt_i64(parent, i).and_then(|p| AccountId::new(p).ok()),
                time_zone: zone,
                other_zones: Vec::new(),
                language: lang.get(i).unwrap_or("en").to_string(),
                currency,
                consent: consent
                    .iter()
                    .filter(|(_, col)| col.is_valid(i) && col.value(i))
                    .map(|(c, _)| *c)
                    .collect(),
                name: None,
                age_band: age
                    .get(i)
                    .and_then(|v| forbear_core::AgeBand::parse(v).ok()),
                autopay: autopay.is_valid(i) && autopay.value(i),
                credit_limit_minor: opt_i64(limit, i),
            };
            let at = zone.at(on, NaiveTime::MIN);
            push(&mut out, id(format!("account:{a}")), a, at, body);
        }
    }
    for batch in ds.batches("invoices")? {
        let b = batch?;
        let (inv, acc, svc, cur, amount, issued, due) = (
            i64s(&b, "invoice_id"),
            i64s(&b, "account_id"),
            i64s(&b, "service_id"),
            Strs::of(&b, "currency"),
            i64s(&b, "amount_minor"),
            dates(&b, "issued_on"),
            dates(&b, "due_on"),
        );
        for i in 0..b.num_rows() {
            let a = acc.value(i);
            let (Ok(invoice), Ok(service), Some(currency), Some(issued), Some(due_on)) = (
                InvoiceId::new(inv.value(i)),
                ServiceId::new(svc.value(i)),
                cur.get(i).and_then(|v| Currency::parse(v).ok()),
                date(issued, i),
                date(due, i),
            ) else {
                continue;
            };
            if amount.value(i) <= 0 {
                continue;
            }
            let body = EventBody::InvoiceIssued {
                invoice,
                service,
                amount_minor: amount.value(i),
                currency,
                due_on,
            };
            let at = local(&zones, a, issued, NaiveTime::MIN);
            push(
                &mut out,
                id(format!("invoice:{}", inv.value(i))),
                a,
                at,
                body,
            );
        }
    }
    for batch in ds.batches("payments")? {
        let b = batch?;
        let (pay, acc, inv, paid, cur, amount, reversed) = (
            i64s(&b, "payment_id"),
            i64s(&b, "account_id"),
            i64s(&b, "invoice_id"),
            Micros::of(&b, "paid_at"),
            Strs::of(&b, "currency"),
            i64s(&b, "amount_minor"),
            dates(&b, "reversed_on"),
        );
        for i in 0..b.num_rows() {
            let a = acc.value(i);
            let (Ok(payment), Some(at), Some(currency)) = (
                PaymentId::new(pay.value(i)),
                paid.get(i).and_then(DateTime::from_timestamp_micros),
                cur.get(i).and_then(|v| Currency::parse(v).ok()),
            ) else {
                continue;
            };
            if amount.value(i) <= 0 {
                continue;
            }
            let body = EventBody::PaymentReceived {
                payment,
                invoice: opt_i64(inv, i).and_then(|x| InvoiceId::new(x).ok()),
                amount_minor: amount.value(i),
                currency,
                via: None,
            };
            push(
                &mut out,
                id(format!("payment:{}", pay.value(i))),
                a,
                at,
                body,
            );
            if let Some(on) = date(reversed, i) {
                let when = local(&zones, a, on, NaiveTime::MIN).max(at + Duration::seconds(1));
                push(
                    &mut out,
                    id(format!("payment:{}:reversed", pay.value(i))),
                    a,
                    when,
                    EventBody::PaymentReversed { payment },
                );
            }
        }
    }
    for batch in ds.batches("contacts")? {
        let b = batch?;
        let (cid, acc, sent, channel, tone, responded, conv, opt, complaint) = (
            i64s(&b, "contact_id"),
            i64s(&b, "account_id"),
            Micros::of(&b, "sent_at_utc"),
            Strs::of(&b, "channel"),
            Strs::of(&b, "tone"),
            bools(&b, "responded"),
            bools(&b, "conversation"),
            bools(&b, "opted_out"),
            bools(&b, "complaint"),
        );
        for i in 0..b.num_rows() {
            let a = acc.value(i);
            let (Some(at), Some(channel)) = (
                sent.get(i).and_then(DateTime::from_timestamp_micros),
                channel.get(i).and_then(|v| Channel::parse(v).ok()),
            ) else {
                continue;
            };
            let c = cid.value(i);
            push(
                &mut out,
                id(format!("contact:{c}")),
                a,
                at,
                EventBody::ContactMade {
                    channel,
                    tone: tone.get(i).and_then(|v| Tone::parse(v).ok()),
                },
            );
            let flag = |x: &arrow_array::BooleanArray| x.is_valid(i) && x.value(i);
            if flag(responded) || flag(conv) || flag(opt) || flag(complaint) {
                push(
                    &mut out,
                    id(format!("contact:{c}:outcome")),
                    a,
                    at + Duration::minutes(1),
                    EventBody::ContactOutcome {
                        channel,
                        conversation: flag(conv),
                        responded: flag(responded),
                        opted_out: flag(opt),
                        complaint: flag(complaint),
                        result: None,
                        item: None,
                    },
                );
            }
        }
    }
    for batch in ds.batches("disputes")? {
        let b = batch?;
        let (did, acc, inv, amount, opened, status, resolved) = (
            i64s(&b, "dispute_id"),
            i64s(&b, "account_id"),
            i64s(&b, "invoice_id"),
            i64s(&b, "amount_minor"),
            dates(&b, "opened_on"),
            Strs::of(&b, "status"),
            dates(&b, "resolved_on"),
        );
        for i in 0..b.num_rows() {
            let a = acc.value(i);
            let (Ok(dispute), Ok(invoice), Some(on)) = (
                DisputeId::new(did.value(i)),
                InvoiceId::new(inv.value(i)),
                date(opened, i),
            ) else {
                continue;
            };
            if amount.value(i) <= 0 {
                continue;
            }
            let at = local(&zones, a, on, NaiveTime::MIN);
            push(
                &mut out,
                id(format!("dispute:{}", did.value(i))),
                a,
                at,
                EventBody::DisputeOpened {
                    dispute,
                    invoice,
                    amount_minor: amount.value(i),
                    by: None,
                },
            );
            if let (Some(st @ ("upheld" | "rejected")), Some(r)) =
                (status.get(i), date(resolved, i))
            {
                let when = local(&zones, a, r, NaiveTime::MIN).max(at + Duration::seconds(1));
                push(
                    &mut out,
                    id(format!("dispute:{}:resolved", did.value(i))),
                    a,
                    when,
                    EventBody::DisputeResolved {
                        dispute,
                        upheld: st == "upheld",
                        by: None,
                        note: None,
                    },
                );
            }
        }
    }
    for batch in ds.batches("promises")? {
        let b = batch?;
        let (pid, acc, amount, made, due) = (
            i64s(&b, "promise_id"),
            i64s(&b, "account_id"),
            i64s(&b, "amount_minor"),
            dates(&b, "made_on"),
            dates(&b, "due_on"),
        );
        for i in 0..b.num_rows() {
            let a = acc.value(i);
            let (Ok(promise), Some(made), Some(due_on)) =
                (PromiseId::new(pid.value(i)), date(made, i), date(due, i))
            else {
                continue;
            };
            if amount.value(i) <= 0 {
                continue;
            }
            let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN);
            push(
                &mut out,
                id(format!("promise:{}", pid.value(i))),
                a,
                local(&zones, a, made, noon),
                EventBody::PromiseMade {
                    promise,
                    amount_minor: amount.value(i),
                    due_on,
                    by: None,
                },
            );
        }
    }
    Ok(out)
}
