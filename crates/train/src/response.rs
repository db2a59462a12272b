//! `forbear train response`: channel-response models from the contacts log.
//!
//! One example per logged contact — the account's state on the morning of the contact
//! ([`forbear_features::ResponseState`]) and the action taken — and one per sampled account-day
//! on which nothing was sent while a bill was overdue or about to fall due: the no-contact
//! baseline every action's uplift is measured against. Six heads, each our gradient-boosted
//! trees on the same features, follow the funnel of a contact — a message nobody reads cannot
//! change what the customer does:
//!
//! - `respond`: the contact is read or answered (contacts);
//! - `pay_responded`: a payment within 7 days after a contact that was responded to;
//! - `pay_untouched`: a payment within 7 days with no contact read — no-contact days and
//!   unanswered contacts, seen as no contact (state only);
//! - `share`: the share of the balance paid within 7 days, given a payment (state only);
//! - `promise`: a promise to pay in response (contacts);
//! - `complaint`: a complaint or an opt-out (contacts).
//!
//! So `P(pay | a) = P(respond | a)·P(pay | responded, a) + (1 − P(respond | a))·P(pay | untouched)`
//! and `P(pay | none) = P(pay | untouched)`: the channel and the hour act mostly through who
//! reads, the tone and the customer through what reading does, and each head learns the part
//! the data shows best.
//!
//! Historic actions were chosen by a policy, not at random: contact examples are weighted by the
//! inverse of their logged propensity, clipped (the clip and how many weights it cut are in the
//! card), and normalised to mean 1. The card shows what the weighting changed: each head is also
//! fitted unweighted, and both are judged on the held-out explored contacts — those drawn
//! uniformly at random, where a model's per-action predictions can be checked without bias.

use crate::TrainError;
use crate::card::{Fingerprint, bundle_header, bundle_name, refuse_existing, write_bundle_files};
use crate::risk::{LoadedAccount, load_accounts};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use forbear_core::{Channel, ContactAction, Rng, SendWindow, Tone};
use forbear_data::columns::{Micros, Strs, bools, f64s, i64s};
use forbear_data::open_validated;
use forbear_features::response::{ActionScope, CHANNEL_COLUMN, TONE_COLUMN, channel_of, tone_of};
use forbear_features::{DpdSeries, RESPONSE_FEATURE_COUNT, ResponseState, response_features};
use forbear_models::metrics::auc;
use forbear_models::{FeatureDef, FeatureKind, FeatureMatrix, FeatureSpec, Gbm, GbmParams, Model};
use forbear_strategy::model::head_layout;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The heads of a response bundle, in the order of its models (one definition, in the
/// strategy crate that serves them).
pub use forbear_strategy::model::HEADS;

/// Days after a decision within which its outcome is observed.
pub const OUTCOME_DAYS: i64 = 7;

/// How to train.
#[derive(Debug, Clone)]
pub struct ResponseOptions {
    /// Seed of the holdout and of the sampling of no-contact days.
    pub seed: u64,
    /// Inverse-propensity weights are clipped at this value (before normalising).
    pub clip: f64,
    /// Weight contacts by inverse propensity (off: every example weighs 1).
    pub weighted: bool,
    /// One no-contact day in this many is sampled.
    pub none_every: u32,
    /// Share of accounts held out.
    pub holdout: f64,
    /// Hyper-parameters of every head but `complaint`.
    pub params: GbmParams,
    /// Hyper-parameters of the `complaint` head: complaints are rare and scored for every
    /// option of every recommendation, so it gets fewer, faster-learning trees.
    pub complaint_params: GbmParams,
}

impl Default for ResponseOptions {
    fn default() -> Self {
        ResponseOptions {
            seed: 42,
            clip: 50.0,
            weighted: true,
            none_every: 4,
            holdout: 0.2,
            params: GbmParams {
                n_trees: 150,
                learning_rate: 0.08,
                max_leaves: 31,
                min_data_in_leaf: 50,
                lambda_l2: 1.0,
                ..GbmParams::default()
            },
            complaint_params: GbmParams {
                n_trees: 50,
                learning_rate: 0.15,
                max_leaves: 15,
                min_data_in_leaf: 200,
                lambda_l2: 1.0,
                ..GbmParams::default()
            },
        }
    }
}

/// One training example.
#[derive(Debug, Clone)]
struct Example {
    held_out: bool,
    row: Vec<f64>,
    pay: bool,
    share: f64,
    promise: bool,
    complaint: bool,
    contacted: bool,
    responded: bool,
    propensity: f64,
    explored: bool,
}

/// A logged contact with what the models learn from.
#[derive(Debug, Clone)]
pub(crate) struct LoggedContact {
    pub(crate) at: DateTime<Utc>,
    pub(crate) action: ContactAction,
    pub(crate) balance: i64,
    pub(crate) paid_7d: i64,
    pub(crate) responded: bool,
    pub(crate) promise: bool,
    /// A complaint or an opt-out.
    pub(crate) complaint: bool,
    pub(crate) propensity: f64,
    pub(crate) explored: bool,
}

/// Metrics of one head on the held-out accounts.
#[derive(Debug, Clone, Serialize)]
pub struct HeadMetrics {
    /// Head name.
    pub head: &'static str,
    /// Training rows.
    pub train_rows: usize,
    /// Held-out rows.
    pub test_rows: usize,
    /// AUC on all held-out rows (binary heads).
    pub auc: Option<f64>,
    /// AUC of the unweighted fit.
    pub auc_unweighted: Option<f64>,
    /// Mean absolute error of the share head (share head only).
    pub mae: Option<f64>,
    /// On held-out explored contacts: mean predicted, mean observed, and the same for the
    /// unweighted fit, per channel.
    pub by_channel: Vec<ActionCalibration>,
    /// The same per tone.
    pub by_tone: Vec<ActionCalibration>,
    /// Weighted mean absolute calibration error over channels and tones on the explored
    /// contacts: weighted fit, then unweighted.
    pub explored_calibration_error: (f64, f64),
}

/// Calibration of one action group on the held-out explored contacts.
#[derive(Debug, Clone, Serialize)]
pub struct ActionCalibration {
    /// Channel or tone.
    pub action: String,
    /// Contacts.
    pub n: usize,
    /// Observed rate (or mean share).
    pub observed: f64,
    /// Mean prediction of the weighted model.
    pub predicted: f64,
    /// Mean prediction of the unweighted model.
    pub predicted_unweighted: f64,
    /// AUC within the group, weighted model (binary heads, both classes present).
    pub auc: Option<f64>,
}

/// The result of training.
#[derive(Debug)]
pub struct TrainedResponse {
    /// The heads, in [`HEADS`] order.
    pub heads: Vec<Gbm>,
    /// Metrics per head.
    pub metrics: Vec<HeadMetrics>,
    /// Contact examples.
    pub contacts: usize,
    /// No-contact examples.
    pub none_examples: usize,
    /// Clip of the inverse-propensity weights.
    pub clip: f64,
    /// Contact weights cut by the clip.
    pub clipped: usize,
    /// Effective sample size of the contact weights, and the number of contacts.
    pub effective_sample_size: f64,
    /// Importance of each feature in the `pay` head.
    pub importance: Vec<(String, f64)>,
    /// Accounts used.
    pub accounts: usize,
    /// First and last decision dates.
    pub period: (NaiveDate, NaiveDate),
    /// Seconds spent fitting.
    pub fit_seconds: f64,
    /// The `pay` label of every example (for the data fingerprint).
    pub labels: Vec<bool>,
}

/// The feature spec of the response models: numbers, with the action's channel, send window and
/// tone as categories.
pub fn response_spec() -> FeatureSpec {
    let cat = |names: &[&str]| FeatureKind::Categorical {
        categories: names.iter().map(|s| (*s).to_owned()).collect(),
    };
    let names = response_features();
    FeatureSpec {
        features: names
            .iter()
            .enumerate()
            .map(|(k, n)| FeatureDef {
                name: (*n).to_owned(),
                kind: if k == CHANNEL_COLUMN {
                    cat(&Channel::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>())
                } else if k == CHANNEL_COLUMN + 1 {
                    cat(&SendWindow::ALL
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>())
                } else if k == TONE_COLUMN {
                    cat(&Tone::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>())
                } else {
                    FeatureKind::Numeric
                },
            })
            .collect(),
    }
}

/// The contacts of a dataset, per account (in `index` order).
pub(crate) fn read_contacts(
    ds: &forbear_data::Dataset,
    index: &HashMap<i64, usize>,
    n: usize,
) -> Result<Vec<Vec<LoggedContact>>, TrainError> {
    let mut out: Vec<Vec<LoggedContact>> = vec![Vec::new(); n];
    for batch in ds.batches("contacts")? {
        let b = batch?;
        let (id, sent, channel, window, tone) = (
            i64s(&b, "account_id"),
            Micros::of(&b, "sent_at_utc"),
            Strs::of(&b, "channel"),
            Strs::of(&b, "send_window"),
            Strs::of(&b, "tone"),
        );
        let responded = bools(&b, "responded");
        let (balance, paid, promise, complaint, opted_out, propensity, explored) = (
            i64s(&b, "balance_minor"),
            i64s(&b, "paid_7d_minor"),
            bools(&b, "promise_made"),
            bools(&b, "complaint"),
            bools(&b, "opted_out"),
            f64s(&b, "propensity"),
            bools(&b, "explored"),
        );
        for i in 0..b.num_rows() {
            let (Some(&k), Some(at), Some(channel), Some(window), Some(tone)) = (
                index.get(&id.value(i)),
                sent.get(i).and_then(DateTime::from_timestamp_micros),
                channel.get(i).and_then(|c| Channel::parse(c).ok()),
                window.get(i).and_then(|c| SendWindow::parse(c).ok()),
                tone.get(i).and_then(|c| Tone::parse(c).ok()),
            ) else {
                continue;
            };
            out[k].push(LoggedContact {
                at,
                action: ContactAction {
                    channel,
                    window,
                    tone,
                },
                balance: balance.value(i),
                paid_7d: paid.value(i),
                responded: responded.value(i),
                promise: promise.value(i),
                complaint: complaint.value(i) || opted_out.value(i),
                propensity: propensity.value(i),
                explored: explored.value(i),
            });
        }
    }
    Ok(out)
}

/// Examples of one account: every contact with its outcome fully observed, and a sample of the
/// days without contact while money was owed.
fn account_examples(
    a: &LoadedAccount,
    contacts: &[LoggedContact],
    first: NaiveDate,
    last: NaiveDate,
    held_out: bool,
    opts: &ResponseOptions,
) -> Vec<Example> {
    let h = &a.history;
    let Some(start) = h.bills.first().map(|b| b.issued_on) else {
        return Vec::new();
    };
    let series = DpdSeries::new(h, start.min(first), last);
    let end = a
        .closed_on
        .unwrap_or(last)
        .min(last - Duration::days(OUTCOME_DAYS));
    let mut out = Vec::new();
    let mut states: HashMap<NaiveDate, ResponseState> = HashMap::new();
    let mut contact_days = std::collections::HashSet::new();
    for c in contacts {
        let date = a.zone.local(c.at).date();
        contact_days.insert(date);
        if date < first || date > end || c.balance <= 0 {
            continue;
        }
        let state = states
            .entry(date)
            .or_insert_with(|| ResponseState::at(h, &series, date, a.zone));
        out.push(Example {
            held_out,
            row: state.features(Some((c.action, c.at))),
            pay: c.paid_7d > 0,
            share: (c.paid_7d as f64 / c.balance as f64).clamp(0.0, 1.0),
            promise: c.promise,
            complaint: c.complaint,
            contacted: true,
            responded: c.responded,
            propensity: c.propensity,
            explored: c.explored,
        });
    }
    // No-contact days: owed money (overdue, or a bill due within 5 days), sampled.
    let mut rng = Rng::new(opts.seed ^ 0x0c0de, a.id as u64);
    let mut day = first.max(h.facts.opened_on + Duration::days(1));
    while day <= end {
        let eve = day - Duration::days(1);
        let balance = series.billed(eve) - series.covered(eve);
        let owed = balance > 0
            && (series.dpd(eve) > 0
                || h.bills.iter().any(|b| {
                    b.issued_on <= eve && b.due_on >= day && (b.due_on - day).num_days() <= 5
                }));
        if owed && !contact_days.contains(&day) && rng.below(u64::from(opts.none_every)) == 0 {
            let noon = a.zone.at(
                day,
                NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN),
            );
            let paid: i64 = h
                .payments
                .iter()
                .filter(|p| p.paid_at >= noon && p.paid_at < noon + Duration::days(OUTCOME_DAYS))
                .map(|p| p.amount_minor)
                .sum();
            let state = ResponseState::at(h, &series, day, a.zone);
            out.push(Example {
                held_out,
                row: state.features(None),
                pay: paid > 0,
                share: (paid as f64 / balance as f64).clamp(0.0, 1.0),
                promise: false,
                complaint: false,
                contacted: false,
                responded: false,
                propensity: 1.0,
                explored: false,
            });
        }
        day += Duration::days(1);
    }
    out
}

/// A validated dataset's postpaid accounts with their logged contacts.
pub(crate) struct Logs {
    /// The accounts.
    pub(crate) accounts: Vec<LoadedAccount>,
    /// Each account's contacts, in the order of `accounts`.
    pub(crate) contacts: Vec<Vec<LoggedContact>>,
    /// The first bill's issue date.
    pub(crate) first_day: NaiveDate,
    /// The last day of the history.
    pub(crate) last_day: NaiveDate,
}

/// Loads the accounts of a dataset (validated first) and their logged contacts.
pub(crate) fn load_logs(data: &Path) -> Result<Logs, TrainError> {
    let ds = open_validated(data)?;
    let (accounts, last_day) = load_accounts(&ds)?;
    let index: HashMap<i64, usize> = accounts
        .iter()
        .enumerate()
        .map(|(k, a)| (a.id, k))
        .collect();
    let contacts = read_contacts(&ds, &index, accounts.len())?;
    let first_day = accounts
        .iter()
        .filter_map(|a| a.history.bills.first().map(|b| b.issued_on))
        .min()
        .unwrap_or(last_day);
    Ok(Logs {
        accounts,
        contacts,
        first_day,
        last_day,
    })
}

/// Trains the response heads on a dataset of the data contract.
pub fn train_response(data: &Path, opts: &ResponseOptions) -> Result<TrainedResponse, TrainError> {
    if opts.clip.is_nan() || opts.clip < 1.0 {
        return Err(TrainError::TooFew {
            path: data.to_path_buf(),
            what: format!("--clip {} must be at least 1", opts.clip),
        });
    }
    let Logs {
        accounts,
        contacts,
        first_day,
        last_day,
    } = load_logs(data)?;
    // Two months of history behind every decision.
    let first = first_day + Duration::days(60);
    if first + Duration::days(OUTCOME_DAYS) > last_day {
        return Err(TrainError::TooFew {
            path: data.to_path_buf(),
            what: format!(
                "the history ({first_day} to {last_day}) is too short: response models need two \
                 months of history before the first decision and {OUTCOME_DAYS} days after the last"
            ),
        });
    }
    tracing::info!(accounts = accounts.len(), %first, %last_day, "building response examples");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = accounts.len().div_ceil(threads).max(1);
    let examples: Vec<Example> = std::thread::scope(|s| {
        let handles: Vec<_> = accounts
            .chunks(chunk)
            .zip(contacts.chunks(chunk))
            .map(|(acc, con)| {
                s.spawn(move || {
                    acc.iter()
                        .zip(con)
                        .flat_map(|(a, c)| {
                            let held = Rng::new(opts.seed, a.id as u64).chance(opts.holdout);
                            account_examples(a, c, first, last_day, held, opts)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let n_contacts = examples.iter().filter(|e| e.contacted).count();
    let n_none = examples.len() - n_contacts;
    if n_contacts < 200 || n_none < 200 {
        return Err(TrainError::TooFew {
            path: data.to_path_buf(),
            what: format!(
                "{n_contacts} contacts and {n_none} no-contact days with an observed outcome: \
                 at least 200 of each are needed"
            ),
        });
    }
    // Inverse-propensity weights of contacts, clipped and normalised to mean 1.
    let raw: Vec<f64> = examples
        .iter()
        .map(|e| {
            if e.contacted && opts.weighted {
                (1.0 / e.propensity).min(opts.clip)
            } else {
                1.0
            }
        })
        .collect();
    let clipped = examples
        .iter()
        .filter(|e| e.contacted && 1.0 / e.propensity > opts.clip)
        .count();
    let contact_mean = examples
        .iter()
        .zip(&raw)
        .filter(|(e, _)| e.contacted)
        .map(|(_, w)| w)
        .sum::<f64>()
        / n_contacts as f64;
    let weights: Vec<f64> = examples
        .iter()
        .zip(&raw)
        .map(|(e, w)| if e.contacted { w / contact_mean } else { 1.0 })
        .collect();
    let (sw, sw2) = examples
        .iter()
        .zip(&weights)
        .filter(|(e, _)| e.contacted)
        .fold((0.0, 0.0), |(a, b), (_, w)| (a + w, b + w * w));
    let ess = sw * sw / sw2;
    let names: Vec<String> = response_features()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    // Each head sees the part of the action its scope allows (the same masking as serving).
    let matrix = |rows: &[usize], scope: ActionScope| {
        let mut cols: Vec<Vec<f64>> = (0..RESPONSE_FEATURE_COUNT)
            .map(|_| Vec::with_capacity(rows.len()))
            .collect();
        let mut r = vec![0.0; RESPONSE_FEATURE_COUNT];
        for &i in rows {
            r.copy_from_slice(&examples[i].row);
            scope.apply(&mut r);
            for (c, v) in cols.iter_mut().zip(&r) {
                c.push(*v);
            }
        }
        FeatureMatrix::new(names.clone(), cols)
    };
    let started = std::time::Instant::now();
    fn flag(b: bool) -> f64 {
        f64::from(u8::from(b))
    }
    type Select = fn(&Example) -> bool;
    type Target = fn(&Example) -> f64;
    // (name, rows, target); what each head sees of the action, and how its trees are grouped,
    // is `head_layout`, shared with serving.
    let heads: [(&'static str, Select, Target); 6] = [
        ("respond", |e| e.contacted, |e| flag(e.responded)),
        (
            "pay_responded",
            |e| e.contacted && e.responded,
            |e| flag(e.pay),
        ),
        (
            "pay_untouched",
            |e| !e.contacted || !e.responded,
            |e| flag(e.pay),
        ),
        ("share", |e| e.pay, |e| e.share),
        ("promise", |e| e.contacted, |e| flag(e.promise)),
        ("complaint", |e| e.contacted, |e| flag(e.complaint)),
    ];
    let mut fitted = Vec::new();
    let mut metrics = Vec::new();
    for (head, select, target) in heads {
        let (scope, parts) = head_layout(head);
        let train: Vec<usize> = (0..examples.len())
            .filter(|&i| !examples[i].held_out && select(&examples[i]))
            .collect();
        let test: Vec<usize> = (0..examples.len())
            .filter(|&i| examples[i].held_out && select(&examples[i]))
            .collect();
        let model_err = |source| TrainError::Model {
            model: "gbm",
            source,
        };
        let xtr = matrix(&train, scope).map_err(model_err)?;
        let ytr: Vec<f64> = train.iter().map(|&i| target(&examples[i])).collect();
        let wtr: Vec<f64> = train.iter().map(|&i| weights[i]).collect();
        tracing::info!(head, rows = train.len(), "fitting");
        let mut params = if head == "complaint" {
            opts.complaint_params.clone()
        } else {
            opts.params.clone()
        };
        params.feature_groups = parts.iter().map(|p| p.columns()).collect();
        let params = &params;
        let (weighted, unweighted) = std::thread::scope(|s| {
            let a = s.spawn(|| params.fit_weighted(&xtr, &ytr, Some(&wtr)));
            let b = s.spawn(|| params.fit_weighted(&xtr, &ytr, None));
            (
                a.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                b.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            )
        });
        let (weighted, unweighted) = (weighted.map_err(model_err)?, unweighted.map_err(model_err)?);
        let xte = matrix(&test, scope).map_err(model_err)?;
        let p = weighted.predict_proba(&xte).map_err(model_err)?;
        let pu = unweighted.predict_proba(&xte).map_err(model_err)?;
        let yte: Vec<f64> = test.iter().map(|&i| target(&examples[i])).collect();
        let binary = head != "share";
        let labels: Vec<bool> = yte.iter().map(|v| *v > 0.5).collect();
        let auc_of = |p: &[f64], l: &[bool]| {
            let pos = l.iter().filter(|v| **v).count();
            (binary && pos > 0 && pos < l.len()).then(|| auc(l, p))
        };
        let explored: Vec<usize> = (0..test.len())
            .filter(|&j| examples[test[j]].explored)
            .collect();
        let group = |key: &dyn Fn(&Example) -> Option<String>| {
            let mut keys: Vec<String> = explored
                .iter()
                .filter_map(|&j| key(&examples[test[j]]))
                .collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .map(|k| {
                    let js: Vec<usize> = explored
                        .iter()
                        .copied()
                        .filter(|&j| key(&examples[test[j]]).as_deref() == Some(k.as_str()))
                        .collect();
                    let mean = |v: &dyn Fn(usize) -> f64| {
                        js.iter().map(|&j| v(j)).sum::<f64>() / js.len().max(1) as f64
                    };
                    let l: Vec<bool> = js.iter().map(|&j| labels[j]).collect();
                    let pp: Vec<f64> = js.iter().map(|&j| p[j]).collect();
                    ActionCalibration {
                        action: k,
                        n: js.len(),
                        observed: mean(&|j| yte[j]),
                        predicted: mean(&|j| p[j]),
                        predicted_unweighted: mean(&|j| pu[j]),
                        auc: auc_of(&pp, &l),
                    }
                })
                .collect::<Vec<_>>()
        };
        let by_channel = group(&|e| channel_of(e.row[CHANNEL_COLUMN]).map(|c| c.to_string()));
        let by_tone = group(&|e| tone_of(e.row[TONE_COLUMN]).map(|c| c.to_string()));
        let cal_err = |pick: fn(&ActionCalibration) -> f64| {
            let all = by_channel.iter().chain(&by_tone);
            let n: usize = all.clone().map(|c| c.n).sum();
            all.map(|c| c.n as f64 * (pick(c) - c.observed).abs())
                .sum::<f64>()
                / n.max(1) as f64
        };
        let mae = (!binary).then(|| {
            yte.iter().zip(&p).map(|(y, p)| (y - p).abs()).sum::<f64>() / yte.len().max(1) as f64
        });
        metrics.push(HeadMetrics {
            head,
            train_rows: train.len(),
            test_rows: test.len(),
            auc: auc_of(&p, &labels),
            auc_unweighted: auc_of(&pu, &labels),
            mae,
            explored_calibration_error: (
                cal_err(|c| c.predicted),
                cal_err(|c| c.predicted_unweighted),
            ),
            by_channel,
            by_tone,
        });
        fitted.push(weighted);
    }
    let importance = fitted[0]
        .features
        .iter()
        .cloned()
        .zip(fitted[0].importance())
        .collect();
    Ok(TrainedResponse {
        heads: fitted,
        metrics,
        contacts: n_contacts,
        none_examples: n_none,
        clip: opts.clip,
        clipped,
        effective_sample_size: ess,
        importance,
        accounts: accounts.len(),
        period: (first, last_day - Duration::days(OUTCOME_DAYS)),
        fit_seconds: started.elapsed().as_secs_f64(),
        labels: examples.iter().map(|e| e.pay).collect(),
    })
}

/// The model card as JSON.
pub fn response_card_json(
    t: &TrainedResponse,
    fp: &Fingerprint,
    opts: &ResponseOptions,
) -> serde_json::Value {
    json!({
        "kind": "response",
        "heads": HEADS,
        "examples": { "contacts": t.contacts, "no_contact_days": t.none_examples, "accounts": t.accounts },
        "period": { "first_decision": t.period.0.to_string(), "last_decision": t.period.1.to_string() },
        "weighting": {
            "inverse_propensity": opts.weighted,
            "clip": t.clip,
            "clipped": t.clipped,
            "effective_sample_size": t.effective_sample_size,
        },
        "metrics": t.metrics,
        "importance_pay": t.importance,
        "params": opts.params,
        "complaint_params": opts.complaint_params,
        "seed": opts.seed,
        "holdout_share_of_accounts": opts.holdout,
        "none_sampling": format!("1 in {}", opts.none_every),
        "fit_seconds": t.fit_seconds,
        "training": fp,
    })
}

/// The model card as Markdown.
pub fn response_card_markdown(t: &TrainedResponse, opts: &ResponseOptions, name: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Channel-response models `{name}`\n");
    let _ = writeln!(
        s,
        "Six gradient-boosted heads on {} features of the account's state on the morning of a \
         decision and of the action (channel, local send window, tone), along the funnel of a \
         contact: P(read or answered), P(payment within {OUTCOME_DAYS} days | responded), \
         P(payment | untouched: no contact, or one nobody read), the share of the balance paid \
         given a payment, P(promise to pay) and P(complaint or opt-out). P(pay | action) = \
         P(respond)·P(pay | responded) + (1 − P(respond))·P(pay | untouched); P(pay | none) = \
         P(pay | untouched).\n",
        RESPONSE_FEATURE_COUNT
    );
    let _ = writeln!(
        s,
        "Trained on {} contacts and {} sampled no-contact days (1 in {}) of {} accounts, decisions \
         from {} to {}; {:.0}% of accounts held out (seed {}).\n",
        t.contacts,
        t.none_examples,
        opts.none_every,
        t.accounts,
        t.period.0,
        t.period.1,
        100.0 * opts.holdout,
        opts.seed
    );
    let _ = writeln!(s, "## Weighting by inverse propensity\n");
    let _ = writeln!(
        s,
        "Contacts are weighted by 1 / logged propensity, clipped at {} ({} of {} weights cut), \
         normalised to mean 1; effective sample size {:.0} of {}. What it changed, on held-out \
         **explored** contacts (drawn uniformly among the allowed actions, so per-action \
         outcomes there are unbiased):\n",
        t.clip, t.clipped, t.contacts, t.effective_sample_size, t.contacts
    );
    let _ = writeln!(
        s,
        "| head | AUC (weighted) | AUC (unweighted) | calibration error on explored, weighted | unweighted |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    let f = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.4}"));
    for m in &t.metrics {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.4} | {:.4} |",
            m.head,
            f(m.auc),
            f(m.auc_unweighted),
            m.explored_calibration_error.0,
            m.explored_calibration_error.1
        );
    }
    let _ = writeln!(s, "\n## Per action (held-out explored contacts)\n");
    for m in &t.metrics {
        let _ = writeln!(s, "### {}\n", m.head);
        let _ = writeln!(
            s,
            "| action | n | observed | predicted | predicted unweighted | AUC |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for c in m.by_channel.iter().chain(&m.by_tone) {
            let _ = writeln!(
                s,
                "| {} | {} | {:.4} | {:.4} | {:.4} | {} |",
                c.action,
                c.n,
                c.observed,
                c.predicted,
                c.predicted_unweighted,
                f(c.auc)
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Feature importance (pay head, share of split gain)\n");
    let mut imp = t.importance.clone();
    imp.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (n, v) in imp.iter().take(15) {
        let _ = writeln!(s, "- {n}: {:.3}", v);
    }
    s
}

/// Writes the response bundle to `dir`.
pub fn write_response_bundle(
    t: &TrainedResponse,
    fp: &Fingerprint,
    opts: &ResponseOptions,
    dir: &Path,
    overwrite: bool,
) -> Result<PathBuf, TrainError> {
    refuse_existing(dir, overwrite)?;
    let name = bundle_name(dir);
    let mut bundle = bundle_header(&name, "response");
    let body = json!({
        "target": { "positive": "paid within 7 days", "negative": "not paid within 7 days" },
        "spec": response_spec(),
        "best": "gbm",
        "heads": HEADS,
        "models": t.heads.iter().map(|g| Model::Gbm(g.clone())).collect::<Vec<_>>(),
        "training": fp,
        "seed": opts.seed,
    });
    if let (Some(b), Some(extra)) = (bundle.as_object_mut(), body.as_object()) {
        b.extend(extra.clone());
    }
    let files = [
        (
            "bundle.json",
            serde_json::to_vec(&bundle).unwrap_or_default(),
        ),
        (
            "card.json",
            serde_json::to_vec_pretty(&response_card_json(t, fp, opts)).unwrap_or_default(),
        ),
        (
            "card.md",
            response_card_markdown(t, opts, &name).into_bytes(),
        ),
    ];
    write_bundle_files(dir, &files)
}
