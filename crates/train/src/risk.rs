//! `forbear train risk`: delinquency-risk models from a dataset of the data contract.
//!
//! Every postpaid account is looked at on each month end that has six months of history behind it
//! and the whole label horizon after it; an account not already delinquent there becomes one row:
//! its point-in-time features (`forbear-features`) and whether it reaches the DPD threshold within
//! the horizon. Models are judged twice: out of time (trained on earlier snapshots, tested on the
//! last) and on a stratified random holdout.

use crate::TrainError;
use crate::evaluate::Metrics;
use crate::tabular::{Kind, Prepared, TableOptions, TrainedTable, in_parallel, train_prepared};
use chrono::{Datelike, Duration, NaiveDate};
use forbear_core::rules::ChannelSet;
use forbear_core::{
    AgeBand, Channel, Currency, CustomerType, Product, ServiceLevel, TimeZone, Tone,
};
use forbear_data::cell::days_to_date;
use forbear_data::columns::{Micros, Strs, bools, dates, i32s, i64s};
use forbear_data::{Dataset, open_validated};
use forbear_features::{
    AccountFacts, AccountHistory, BillRecord, ContactRecord, DisputeRecord, DpdSeries,
    PaymentRecord, PromiseRecord, RISK_FEATURES, RiskFeatures, label_reaches_dpd,
};
use forbear_models::{FeatureDef, FeatureKind, FeatureMatrix, FeatureSpec};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// What to predict and how to validate.
#[derive(Debug, Clone)]
pub struct RiskOptions {
    /// Days past due that count as the bad outcome (30, 60 or 90).
    pub dpd_threshold: u32,
    /// Days after the snapshot within which it must be reached.
    pub horizon_days: i64,
    /// Seed of the random holdout and folds.
    pub seed: u64,
    /// Folds of cross-validation, if any.
    pub cv: Option<usize>,
}

impl Default for RiskOptions {
    fn default() -> Self {
        RiskOptions {
            dpd_threshold: 30,
            horizon_days: 90,
            seed: 42,
            cv: None,
        }
    }
}

/// One account as loaded: its history and when it closed.
#[derive(Debug, Clone)]
pub struct LoadedAccount {
    /// Account id.
    pub id: i64,
    /// What was known of it.
    pub history: AccountHistory,
    /// Date it closed, if it did.
    pub closed_on: Option<NaiveDate>,
    /// The customer's time zone.
    pub zone: TimeZone,
    /// Channels the customer consented to.
    pub consent: ChannelSet,
    /// Language of messages.
    pub language: String,
    /// Currency of the account's amounts.
    pub currency: Currency,
}

fn date(a: &arrow_array::Date32Array, i: usize) -> Option<NaiveDate> {
    use arrow_array::Array;
    if a.is_valid(i) {
        days_to_date(a.value(i))
    } else {
        None
    }
}

/// Loads the postpaid accounts of a validated dataset with everything known of each.
pub fn load_accounts(ds: &Dataset) -> Result<(Vec<LoadedAccount>, NaiveDate), TrainError> {
    use arrow_array::Array;
    let mut accounts: Vec<LoadedAccount> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut last_day = NaiveDate::MIN;
    for batch in ds.batches("accounts")? {
        let b = batch?;
        let (id, sub, ct, sl, pr, age) = (
            i64s(&b, "account_id"),
            Strs::of(&b, "subscription_type"),
            Strs::of(&b, "customer_type"),
            Strs::of(&b, "service_level"),
            Strs::of(&b, "product"),
            Strs::of(&b, "age_band"),
        );
        let (zones, languages, currencies) = (
            Strs::of(&b, "time_zone"),
            Strs::of(&b, "language"),
            Strs::of(&b, "currency"),
        );
        let consents: Vec<&arrow_array::BooleanArray> = Channel::ALL
            .iter()
            .map(|c| bools(&b, &format!("consent_{c}")))
            .collect();
        let (services, autopay, limit, opened, closed) = (
            i32s(&b, "services"),
            bools(&b, "autopay"),
            i64s(&b, "credit_limit_minor"),
            dates(&b, "opened_on"),
            dates(&b, "closed_on"),
        );
        for i in 0..b.num_rows() {
            if sub.get(i) != Some("postpaid") {
                continue;
            }
            // The dataset was validated: every name parses.
            let (
                Some(customer_type),
                Some(service_level),
                Some(product),
                Some(opened_on),
                Some(zone),
                Some(currency),
            ) = (
                ct.get(i).and_then(|v| CustomerType::parse(v).ok()),
                sl.get(i).and_then(|v| ServiceLevel::parse(v).ok()),
                pr.get(i).and_then(|v| Product::parse(v).ok()),
                date(opened, i),
                zones.get(i).and_then(|v| TimeZone::parse(v).ok()),
                currencies.get(i).and_then(|v| Currency::parse(v).ok()),
            )
            else {
                continue;
            };
            let facts = AccountFacts {
                customer_type,
                service_level,
                product,
                age_band: age.get(i).and_then(|v| AgeBand::parse(v).ok()),
                services: services.value(i).max(1) as u32,
                autopay: autopay.value(i),
                credit_limit_minor: limit.is_valid(i).then(|| limit.value(i)),
                opened_on,
            };
            index.insert(id.value(i), accounts.len());
            accounts.push(LoadedAccount {
                id: id.value(i),
                history: AccountHistory {
                    facts,
                    bills: vec![],
                    payments: vec![],
                    contacts: vec![],
                    promises: vec![],
                    disputes: vec![],
                },
                closed_on: date(closed, i),
                zone,
                consent: Channel::ALL
                    .iter()
                    .zip(&consents)
                    .filter(|(_, a)| a.value(i))
                    .map(|(c, _)| *c)
                    .collect(),
                language: languages.get(i).unwrap_or("en").to_owned(),
                currency,
            });
        }
    }
    let slot = |b: &arrow_array::RecordBatch, i: usize| {
        index.get(&i64s(b, "account_id").value(i)).copied()
    };
    for batch in ds.batches("invoices")? {
        let b = batch?;
        let (issued, due, amount) = (
            dates(&b, "issued_on"),
            dates(&b, "due_on"),
            i64s(&b, "amount_minor"),
        );
        for i in 0..b.num_rows() {
            let (Some(k), Some(issued_on), Some(due_on)) =
                (slot(&b, i), date(issued, i), date(due, i))
            else {
                continue;
            };
            last_day = last_day.max(issued_on);
            accounts[k].history.bills.push(BillRecord {
                issued_on,
                due_on,
                amount_minor: amount.value(i),
            });
        }
    }
    for batch in ds.batches("payments")? {
        let b = batch?;
        let (paid, amount, rev) = (
            Micros::of(&b, "paid_at"),
            i64s(&b, "amount_minor"),
            dates(&b, "reversed_on"),
        );
        for i in 0..b.num_rows() {
            let (Some(k), Some(paid_at)) = (
                slot(&b, i),
                paid.get(i)
                    .and_then(chrono::DateTime::from_timestamp_micros),
            ) else {
                continue;
            };
            last_day = last_day.max(paid_at.date_naive());
            accounts[k].history.payments.push(PaymentRecord {
                paid_at,
                amount_minor: amount.value(i),
                reversed_on: date(rev, i),
            });
        }
    }
    for batch in ds.batches("contacts")? {
        let b = batch?;
        let (sent, channel, tone, responded) = (
            Micros::of(&b, "sent_at_utc"),
            Strs::of(&b, "channel"),
            Strs::of(&b, "tone"),
            bools(&b, "responded"),
        );
        let (conversation, opted_out) = (bools(&b, "conversation"), bools(&b, "opted_out"));
        for i in 0..b.num_rows() {
            let (Some(k), Some(sent_at), Some(channel), Some(tone)) = (
                slot(&b, i),
                sent.get(i)
                    .and_then(chrono::DateTime::from_timestamp_micros),
                channel.get(i).and_then(|c| Channel::parse(c).ok()),
                tone.get(i).and_then(|t| Tone::parse(t).ok()),
            ) else {
                continue;
            };
            last_day = last_day.max(sent_at.date_naive());
            accounts[k].history.contacts.push(ContactRecord {
                sent_at,
                channel,
                tone,
                responded: responded.value(i),
                conversation: conversation.value(i),
                opted_out: opted_out.value(i),
            });
        }
    }
    for batch in ds.batches("promises")? {
        let b = batch?;
        let (made, due, amount) = (
            dates(&b, "made_on"),
            dates(&b, "due_on"),
            i64s(&b, "amount_minor"),
        );
        for i in 0..b.num_rows() {
            let (Some(k), Some(made_on), Some(due_on)) = (slot(&b, i), date(made, i), date(due, i))
            else {
                continue;
            };
            accounts[k].history.promises.push(PromiseRecord {
                made_on,
                due_on,
                amount_minor: amount.value(i),
            });
        }
    }
    for batch in ds.batches("disputes")? {
        let b = batch?;
        let (opened, resolved) = (dates(&b, "opened_on"), dates(&b, "resolved_on"));
        for i in 0..b.num_rows() {
            let (Some(k), Some(opened_on)) = (slot(&b, i), date(opened, i)) else {
                continue;
            };
            accounts[k].history.disputes.push(DisputeRecord {
                opened_on,
                resolved_on: date(resolved, i),
            });
        }
    }
    for a in &mut accounts {
        a.history.sort();
    }
    Ok((accounts, last_day))
}

/// The month ends on which accounts are scored: six months after the first bill, and early enough
/// that the whole horizon is observed.
pub fn snapshot_dates(first: NaiveDate, last: NaiveDate, horizon: i64) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = first + Duration::days(182);
    while d + Duration::days(horizon) <= last {
        let next_month = if d.month() == 12 {
            NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
        };
        let Some(month_end) = next_month.and_then(|m| m.pred_opt()) else {
            break;
        };
        if month_end + Duration::days(horizon) <= last {
            out.push(month_end);
        }
        d = month_end + Duration::days(1);
    }
    out
}

/// The feature spec of the risk models (category codes for the segment attributes).
pub fn risk_spec() -> FeatureSpec {
    let names = |all: &[&'static str]| all.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    FeatureSpec {
        features: RISK_FEATURES
            .iter()
            .map(|&name| FeatureDef {
                name: name.to_owned(),
                kind: match name {
                    "customer_type" => FeatureKind::Categorical {
                        categories: names(
                            &CustomerType::ALL
                                .iter()
                                .map(|c| c.as_str())
                                .collect::<Vec<_>>(),
                        ),
                    },
                    "service_level" => FeatureKind::Categorical {
                        categories: names(
                            &ServiceLevel::ALL
                                .iter()
                                .map(|c| c.as_str())
                                .collect::<Vec<_>>(),
                        ),
                    },
                    "product" => FeatureKind::Categorical {
                        categories: names(
                            &Product::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                        ),
                    },
                    "age_band" => FeatureKind::Categorical {
                        categories: names(
                            &AgeBand::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                        ),
                    },
                    _ => FeatureKind::Numeric,
                },
            })
            .collect(),
    }
}

/// Rows of (account, snapshot): features, labels, and each row's snapshot.
#[derive(Debug, Clone)]
pub struct RiskExamples {
    /// Features and labels in the shape every trainer takes.
    pub prepared: Prepared,
    /// The snapshot of each row.
    pub snapshot: Vec<NaiveDate>,
    /// The snapshot dates used.
    pub snapshots: Vec<NaiveDate>,
}

/// One thread's rows: features, labels, snapshots.
type ChunkRows = (Vec<[f64; RISK_FEATURES.len()]>, Vec<bool>, Vec<NaiveDate>);

/// Builds the training rows.
pub fn examples(accounts: &[LoadedAccount], last: NaiveDate, opts: &RiskOptions) -> RiskExamples {
    let first = accounts
        .iter()
        .filter_map(|a| a.history.bills.first().map(|b| b.issued_on))
        .min()
        .unwrap_or(last);
    let snapshots = snapshot_dates(first, last, opts.horizon_days);
    let chunk = accounts
        .len()
        .div_ceil(
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .max(1),
        )
        .max(1);
    let parts: Vec<ChunkRows> = std::thread::scope(|s| {
        let handles: Vec<_> = accounts
            .chunks(chunk)
            .map(|part| {
                let snapshots = &snapshots;
                s.spawn(move || {
                    let (mut xs, mut ys, mut ds) = (Vec::new(), Vec::new(), Vec::new());
                    for a in part {
                        let h = &a.history;
                        let start = h
                            .facts
                            .opened_on
                            .min(h.bills.first().map_or(first, |b| b.issued_on))
                            .min(first);
                        let series = DpdSeries::new(h, start, last);
                        for &at in snapshots {
                            let eligible = h.facts.opened_on + Duration::days(30) <= at
                                && a.closed_on.is_none_or(|c| c > at)
                                && series.dpd(at) < opts.dpd_threshold;
                            if !eligible {
                                continue;
                            }
                            let Some(label) = label_reaches_dpd(
                                &series,
                                at,
                                opts.horizon_days,
                                opts.dpd_threshold,
                            ) else {
                                continue;
                            };
                            xs.push(*RiskFeatures::at(h, &series, at).values());
                            ys.push(label);
                            ds.push(at);
                        }
                    }
                    (xs, ys, ds)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let n: usize = parts.iter().map(|p| p.1.len()).sum();
    let mut columns = vec![Vec::with_capacity(n); RISK_FEATURES.len()];
    let (mut y, mut snapshot) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (xs, ys, ds) in parts {
        for row in xs {
            for (c, v) in columns.iter_mut().zip(row) {
                c.push(v);
            }
        }
        y.extend(ys);
        snapshot.extend(ds);
    }
    let spec = risk_spec();
    let x = FeatureMatrix::new(spec.names(), columns)
        .unwrap_or_else(|_| unreachable!("columns have equal length"));
    RiskExamples {
        prepared: Prepared {
            spec,
            x,
            y,
            positive: format!(
                "reaches {}+ dpd within {} days",
                opts.dpd_threshold, opts.horizon_days
            ),
            negative: "does not".to_owned(),
            missing_target: 0,
            excluded: Vec::new(),
        },
        snapshot,
        snapshots,
    }
}

/// Out-of-time result of one model kind.
#[derive(Debug, Clone, Serialize)]
pub struct OutOfTime {
    /// Model kind.
    pub kind: &'static str,
    /// Snapshot tested on (ISO date).
    pub test_snapshot: String,
    /// Rows trained on and tested on.
    pub rows: (usize, usize),
    /// Metrics on the last snapshot.
    pub metrics: Metrics,
}

/// Trained risk models with both validations.
#[derive(Debug, Clone)]
pub struct TrainedRisk {
    /// Random-holdout training and evaluation (the bundle ships these models).
    pub table: TrainedTable,
    /// Out-of-time evaluation per model kind.
    pub oot: Vec<OutOfTime>,
    /// Snapshot dates used.
    pub snapshots: Vec<NaiveDate>,
}

/// Loads, builds the rows, trains and validates.
pub fn train_risk(
    dir: &Path,
    opts: &RiskOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<TrainedRisk, TrainError> {
    progress("validating the dataset");
    let ds = open_validated(dir)?;
    progress("loading account histories");
    let (accounts, last) = load_accounts(&ds)?;
    progress(&format!(
        "building point-in-time features for {} accounts",
        accounts.len()
    ));
    let ex = examples(&accounts, last, opts);
    drop(accounts);
    if ex.snapshots.len() < 2 {
        return Err(TrainError::TooFew {
            path: dir.to_path_buf(),
            what: format!(
                "{} snapshot date(s): out-of-time validation needs at least two month ends with six months of history before and {} days after",
                ex.snapshots.len(),
                opts.horizon_days
            ),
        });
    }
    let last_snapshot = *ex.snapshots.last().unwrap_or(&last);
    let train: Vec<usize> = (0..ex.snapshot.len())
        .filter(|&i| ex.snapshot[i] < last_snapshot)
        .collect();
    let test: Vec<usize> = (0..ex.snapshot.len())
        .filter(|&i| ex.snapshot[i] == last_snapshot)
        .collect();
    let p = &ex.prepared;
    let (xtr, xte) = (p.x.take(&train), p.x.take(&test));
    let ytr: Vec<bool> = train.iter().map(|&i| p.y[i]).collect();
    let yte: Vec<bool> = test.iter().map(|&i| p.y[i]).collect();
    let oot = in_parallel(&Kind::ALL, &|kind| {
        progress(&format!(
            "out-of-time: training {kind:?} on {} rows before {last_snapshot}",
            train.len()
        ));
        let m = kind.fit_calibrated(&xtr, &ytr, &p.spec, opts.seed)?;
        let pr = m.predict(&xte)?;
        Ok(OutOfTime {
            kind: m.model.kind(),
            test_snapshot: last_snapshot.to_string(),
            rows: (train.len(), test.len()),
            metrics: Metrics::of(&yte, &pr),
        })
    })?;
    let mut topts = TableOptions::new("label");
    topts.seed = opts.seed;
    topts.cv = opts.cv;
    let table = train_prepared(ex.prepared, dir, &topts, progress)?;
    Ok(TrainedRisk {
        table,
        oot,
        snapshots: ex.snapshots,
    })
}
