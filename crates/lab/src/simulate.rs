//! The lab's experiment (`forbear simulate`): one simulated portfolio split at random into
//! arms, each arm's accounts dunned by its own engine on its own store, every arm's customers
//! reacting by the simulator's ground truth; per-account outcomes, KPIs per arm with bootstrap
//! 95% intervals, comparisons with the champion and a daily time series.
//!
//! Arms run side by side, one thread each: a customer is drawn from their own random streams
//! (seed × account), so the arm a customer lands in changes nothing about who they are. The
//! KPIs are defined once here ([`KPIS`]): per-account means and per-1,000-account rates are
//! resampled by account, ratios (cure rate, roll rates, recovery rate, DSO, cost per unit
//! collected) are computed on each resample's sums.

use crate::engine_bridge::{self, DayLog};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use forbear_core::rng::Rng;
use forbear_core::{AccountId, Currency};
use forbear_data::LabDay;
use forbear_engine::report::Report;
use forbear_engine::{Engine, Store, StoreError, Target};
use forbear_sim::generate::AccountHistory;
use forbear_sim::policy::Decision;
use forbear_sim::{Portfolio, SegmentMix};
use forbear_strategy::StrategyConfig;
use serde::Serialize;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// One arm: its name, share of the accounts, and the engine that duns them.
pub struct ArmSetup {
    /// Name (`champion`, `challenger`, `no-contact`, or a scenario file's arm).
    pub name: String,
    /// Share of the accounts (shares are normalised).
    pub share: f64,
    /// The engine (scenarios, contact rules, templates, recommender).
    pub engine: Engine,
    /// Its store, empty.
    pub store: Box<dyn Store>,
    /// The truth oracle its engine asks, if it does: shown the customers after every day.
    pub truth: Option<std::sync::Arc<crate::oracle::TruthOracle>>,
}

impl std::fmt::Debug for ArmSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmSetup")
            .field("name", &self.name)
            .field("share", &self.share)
            .finish()
    }
}

/// What a run simulates.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// Accounts in the portfolio (all postpaid: prepaid accounts owe nothing to collect).
    pub accounts: u64,
    /// Days lived.
    pub days: u32,
    /// Seed of the customers, of the split and of the bootstrap.
    pub seed: u64,
    /// First day of the experiment.
    pub start: NaiveDate,
    /// Days lived before `start` with every arm under the warm-up engine (the champion): the
    /// accounts come into the experiment with a history, open cases and debts, and that
    /// history is the pre-treatment covariate the money KPIs are adjusted with.
    pub warmup_days: u32,
    /// Bootstrap resamples.
    pub bootstrap: u32,
    /// Arms whose customers' histories are kept (their own decision log with what followed,
    /// for retraining on it: [`LabOutcome::exports`]).
    pub export: Vec<String>,
    /// Costs of contacts and exchange rates (the strategy configuration's).
    pub strategy: StrategyConfig,
    /// The risk model that gives the engines their accounts' risk bands (checked with
    /// [`crate::risk::check`]); without one no account has a band and steps for bands never run.
    pub risk: Option<std::sync::Arc<forbear_models::Bundle>>,
}

/// A failure of a run.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// Another arm failed, so this one stopped.
    #[error("stopped: another arm failed")]
    Stopped,
    /// An arm's store failed.
    #[error("arm {arm}: {source}")]
    Store {
        /// The arm.
        arm: String,
        /// What failed.
        source: StoreError,
    },
}

/// The arm of every account `1..=accounts` of the portfolio drawn with `seed` and `mix`: arm
/// `k` with probability `shares[k] / Σ shares`, drawn once per corporate family (a parent and
/// its child accounts go to the same arm, so no family is dunned by two strategies).
pub fn split(
    accounts: u64,
    seed: u64,
    mix: &SegmentMix,
    shares: &[f64],
) -> Result<Vec<Vec<AccountId>>, LabError> {
    let total: f64 = shares.iter().sum();
    if shares.is_empty() || shares.iter().any(|s| !s.is_finite() || *s < 0.0) || total <= 0.0 {
        return Err(LabError::Config(format!(
            "arm shares must be non-negative numbers with a positive sum, got {shares:?}"
        )));
    }
    let mut out = vec![Vec::new(); shares.len()];
    for k in 1..=accounts as i64 {
        let Ok(id) = AccountId::new(k) else { continue };
        let root = forbear_sim::population::hierarchy_of(seed, id, mix).map_or(id, |h| h.parent);
        let arm = Rng::new(seed ^ 0x5a17_a2b5, root.get() as u64).weighted(shares);
        out[arm].push(id);
    }
    Ok(out)
}

/// One account's outcome over the run. Money in minor units of the account's currency.
#[derive(Debug, Clone, Default)]
struct Tally {
    currency: Option<Currency>,
    billed: i64,
    collected: i64,
    cost_base: f64,
    contacts: u32,
    complaints: u32,
    opt_outs: u32,
    violations: u32,
    churned: bool,
    disconnections: u32,
    reconnections: u32,
    /// Worst DPD bucket reached at a day's end: 0 none, 1 1-30, 2 31-60, 3 61-90, 4 91+.
    worst: u8,
    overdue_end: i64,
    balance_end: i64,
    promises_made: u32,
    promises_kept: u32,
    plans_started: u32,
    disputes_opened: u32,
    hardship_holds: u32,
    agency_placements: u32,
    legal_referrals: u32,
}

fn bucket(dpd: i32) -> u8 {
    match dpd {
        i32::MIN..=0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    }
}

/// Sums over a set of accounts (one arm, or one resample of it), base currency for money.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n: f64,
    billed: f64,
    collected: f64,
    /// Collected, adjusted for the pre-treatment covariate (see [`adjust`]).
    collected_adj: f64,
    /// Collected minus contact cost, adjusted likewise.
    net_adj: f64,
    cost: f64,
    contacts: f64,
    complaints: f64,
    opt_outs: f64,
    violations: f64,
    churned: f64,
    disconnections: f64,
    reconnections: f64,
    reached: [f64; 5],
    cured: f64,
    balance_end: f64,
    promises_made: f64,
    promises_kept: f64,
    plans_started: f64,
    disputes_opened: f64,
    hardship_holds: f64,
    agency_placements: f64,
    legal_referrals: f64,
}

impl Sums {
    fn add(&mut self, r: &Sums, w: f64) {
        self.n += w;
        macro_rules! acc { ($($f:ident),*) => { $( self.$f += w * r.$f; )* } }
        acc!(
            billed,
            collected,
            collected_adj,
            net_adj,
            cost,
            contacts,
            complaints,
            opt_outs,
            violations,
            churned,
            disconnections,
            reconnections,
            cured,
            balance_end,
            promises_made,
            promises_kept,
            plans_started,
            disputes_opened,
            hardship_holds,
            agency_placements,
            legal_referrals
        );
        for k in 0..5 {
            self.reached[k] += w * r.reached[k];
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// A KPI: its name, unit and definition over an arm's sums.
pub struct Kpi {
    /// Name in `report.json`.
    pub name: &'static str,
    /// Unit, for people.
    pub unit: &'static str,
    /// Whether more is better (for the report's colouring); `None` when neither.
    pub higher_is_better: Option<bool>,
    f: fn(&Sums, f64) -> f64,
}

impl std::fmt::Debug for Kpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kpi").field("name", &self.name).finish()
    }
}

const PER_K: f64 = 1000.0;

/// Every KPI, defined once. Money per account in base-currency major units; counts per 1,000
/// accounts; rates as fractions. `days` is the run's length (for DSO).
pub static KPIS: &[Kpi] = &[
    Kpi {
        name: "collected",
        unit: "base currency per account, paid net of reversals (regression-adjusted for what was known before the experiment)",
        higher_is_better: Some(true),
        f: |s, _| ratio(s.collected_adj, s.n) / 100.0,
    },
    Kpi {
        name: "net_collected",
        unit: "base currency per account, collected minus contact cost (regression-adjusted for what was known before the experiment)",
        higher_is_better: Some(true),
        f: |s, _| ratio(s.net_adj, s.n) / 100.0,
    },
    Kpi {
        name: "contact_cost",
        unit: "base currency per account",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.cost, s.n) / 100.0,
    },
    Kpi {
        name: "cost_per_collected",
        unit: "contact cost per unit collected",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.cost, s.collected),
    },
    Kpi {
        name: "recovery_rate",
        unit: "share of the amount billed that was paid",
        higher_is_better: Some(true),
        f: |s, _| ratio(s.collected, s.billed),
    },
    Kpi {
        name: "cure_rate",
        unit: "share of accounts that fell past due and ended the run not past due",
        higher_is_better: Some(true),
        f: |s, _| ratio(s.cured, s.reached[1]),
    },
    Kpi {
        name: "roll_1_30_to_31_60",
        unit: "share of accounts past due that reached 31+ days",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.reached[2], s.reached[1]),
    },
    Kpi {
        name: "roll_31_60_to_61_90",
        unit: "share of accounts 31+ days past due that reached 61+",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.reached[3], s.reached[2]),
    },
    Kpi {
        name: "roll_61_90_to_91_plus",
        unit: "share of accounts 61+ days past due that reached 91+",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.reached[4], s.reached[3]),
    },
    Kpi {
        name: "dso",
        unit: "days sales outstanding: balance due at the end ÷ amount billed × days",
        higher_is_better: Some(false),
        f: |s, d| ratio(s.balance_end, s.billed) * d,
    },
    Kpi {
        name: "contacts_per_account",
        unit: "contacts per account",
        higher_is_better: None,
        f: |s, _| ratio(s.contacts, s.n),
    },
    Kpi {
        name: "complaints",
        unit: "per 1,000 accounts",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.complaints, s.n) * PER_K,
    },
    Kpi {
        name: "opt_outs",
        unit: "per 1,000 accounts",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.opt_outs, s.n) * PER_K,
    },
    Kpi {
        name: "churn",
        unit: "share of accounts that left",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.churned, s.n),
    },
    Kpi {
        name: "violations",
        unit: "contacts breaking a contact rule, per 1,000 accounts (must be 0)",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.violations, s.n) * PER_K,
    },
    Kpi {
        name: "promises_made",
        unit: "per 1,000 accounts",
        higher_is_better: None,
        f: |s, _| ratio(s.promises_made, s.n) * PER_K,
    },
    Kpi {
        name: "promises_kept",
        unit: "per 1,000 accounts",
        higher_is_better: Some(true),
        f: |s, _| ratio(s.promises_kept, s.n) * PER_K,
    },
    Kpi {
        name: "plans_started",
        unit: "per 1,000 accounts",
        higher_is_better: None,
        f: |s, _| ratio(s.plans_started, s.n) * PER_K,
    },
    Kpi {
        name: "disputes_opened",
        unit: "per 1,000 accounts",
        higher_is_better: None,
        f: |s, _| ratio(s.disputes_opened, s.n) * PER_K,
    },
    Kpi {
        name: "hardship_holds",
        unit: "per 1,000 accounts",
        higher_is_better: None,
        f: |s, _| ratio(s.hardship_holds, s.n) * PER_K,
    },
    Kpi {
        name: "agency_placements",
        unit: "per 1,000 accounts",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.agency_placements, s.n) * PER_K,
    },
    Kpi {
        name: "legal_referrals",
        unit: "per 1,000 accounts",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.legal_referrals, s.n) * PER_K,
    },
    Kpi {
        name: "disconnections",
        unit: "per 1,000 accounts",
        higher_is_better: Some(false),
        f: |s, _| ratio(s.disconnections, s.n) * PER_K,
    },
    Kpi {
        name: "reconnections",
        unit: "per 1,000 accounts",
        higher_is_better: None,
        f: |s, _| ratio(s.reconnections, s.n) * PER_K,
    },
];

/// A value with its bootstrap 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// On the arm's accounts.
    pub value: f64,
    /// 2.5th percentile of the resamples.
    pub ci_low: f64,
    /// 97.5th percentile.
    pub ci_high: f64,
}

/// Totals of an arm, unresampled.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Billed, base currency.
    pub billed: f64,
    /// Collected, base currency.
    pub collected: f64,
    /// Contact cost, base currency.
    pub contact_cost: f64,
    /// Contacts made.
    pub contacts: u64,
    /// Complaints.
    pub complaints: u64,
    /// Contacts breaking a contact rule.
    pub violations: u64,
    /// Contacts breaking a contact rule during the warm-up (the champion's engine, every arm).
    pub warmup_violations: u64,
    /// Contacts the engine withdrew later the same day (a payment cured the account first)
    /// that reached the customer anyway because the simulator lives a day at a time: not
    /// violations of the engine's, counted apart (see `engine_bridge::DayLog::withdrawn`).
    pub withdrawn_after_handover: u64,
    /// Risk bands the risk model gave the arm's engine (changes of band, warm-up included).
    pub risk_bands: u64,
    /// Accounts that fell past due.
    pub delinquent: u64,
    /// Of them, not past due at the end.
    pub cured: u64,
}

/// One arm's results.
#[derive(Debug, Clone, Serialize)]
pub struct ArmReport {
    /// Name.
    pub name: String,
    /// Accounts.
    pub accounts: u64,
    /// Scenario set version.
    pub scenarios: String,
    /// Every KPI of [`KPIS`] with its interval.
    pub kpis: std::collections::BTreeMap<String, Estimate>,
    /// Totals.
    pub totals: Totals,
    /// Seconds the arm took.
    pub seconds: f64,
}

/// An arm against the champion on one KPI.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The arm.
    pub arm: String,
    /// The reference arm.
    pub against: String,
    /// The KPI.
    pub kpi: String,
    /// arm − reference, with the interval of the difference.
    pub difference: Estimate,
    /// arm ÷ reference − 1, with its interval.
    pub relative: Estimate,
}

/// A finished run.
#[derive(Debug, Clone, Serialize)]
pub struct LabReport {
    /// Accounts.
    pub accounts: u64,
    /// Days.
    pub days: u32,
    /// Seed.
    pub seed: u64,
    /// First day.
    pub start: NaiveDate,
    /// Bootstrap resamples.
    pub bootstrap: u32,
    /// Base currency of money KPIs.
    pub base_currency: String,
    /// Per arm.
    pub arms: Vec<ArmReport>,
    /// Each arm against the first (the champion) on the headline KPIs.
    pub comparisons: Vec<Comparison>,
    /// KPI units.
    pub units: std::collections::BTreeMap<String, String>,
}

/// A run's report and daily series.
#[derive(Debug)]
pub struct LabOutcome {
    /// The report.
    pub report: LabReport,
    /// One row per arm and day.
    pub series: Vec<LabDay>,
    /// The histories of the arms in [`LabConfig::export`], warm-up included: each contact
    /// with the probability its policy chose it with, for `forbear_sim::generate::
    /// write_histories`.
    pub exports: Vec<(String, Vec<AccountHistory>)>,
}

/// What a customer lived through, by day, with the decision behind each contact.
type Lived = Vec<(NaiveDate, forbear_sim::Event, Option<Decision>)>;

/// Appends a day's events to the customers' histories, each contact with the propensity its
/// outbox item carried; the warm-up's contacts (the champion's static steps) are marked as
/// the default action (`Decision::is_default`).
fn record(lived: &mut [Lived], index: &HashMap<AccountId, usize>, log: &DayLog<'_>, warmup: bool) {
    if lived.is_empty() {
        return;
    }
    let chosen: HashMap<(AccountId, DateTime<Utc>), f64> = log
        .delivered
        .iter()
        .filter_map(|d| d.contact.map(|(at, p)| ((d.account, at), p)))
        .collect();
    for (a, e) in log.happened {
        let Some(&k) = index.get(a) else { continue };
        let decision = match e {
            forbear_sim::Event::Contacted(o) => Some(Decision {
                action: o.action,
                at: o.at,
                propensity: chosen.get(&(*a, o.at)).copied().unwrap_or(1.0),
                explored: false,
                allowed: 0,
                default_allowed: warmup,
                is_default: warmup,
            }),
            _ => None,
        };
        lived[k].push((log.day, e.clone(), decision));
    }
}

/// Progress: arm index, days done.
pub type Progress<'a> = dyn Fn(usize, u32) + Sync + 'a;

/// The portfolio's segment mix: the simulator's default, postpaid only.
pub fn lab_mix() -> SegmentMix {
    SegmentMix {
        prepaid_share: 0.0,
        ..SegmentMix::default()
    }
}

/// Runs every arm over the same kind of customers and reports.
pub fn run(
    cfg: &LabConfig,
    warmup: &Engine,
    arms: Vec<ArmSetup>,
    progress: &Progress<'_>,
) -> Result<LabOutcome, LabError> {
    if arms.is_empty() {
        return Err(LabError::Config("no arms to run".into()));
    }
    if cfg.days == 0 || cfg.accounts == 0 {
        return Err(LabError::Config(
            "accounts and days must be at least 1".into(),
        ));
    }
    let shares: Vec<f64> = arms.iter().map(|a| a.share).collect();
    let mix = lab_mix();
    let ids = split(cfg.accounts, cfg.seed, &mix, &shares)?;
    let results: Mutex<Vec<Option<Result<ArmRun, LabError>>>> =
        Mutex::new((0..arms.len()).map(|_| None).collect());
    // An arm that fails stops the others at their next day.
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for (k, (arm, ids)) in arms.into_iter().zip(ids).enumerate() {
            let (mix, results, stop) = (&mix, &results, &stop);
            scope.spawn(move || {
                let r = run_arm(cfg, warmup, arm, &ids, mix, stop, &|d| progress(k, d));
                if r.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                if let Ok(mut g) = results.lock() {
                    g[k] = Some(r);
                }
            });
        }
    });
    let results: Vec<Result<ArmRun, LabError>> = results
        .into_inner()
        .map_err(|_| LabError::Config("an arm's thread panicked".into()))?
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(LabError::Config("an arm did not finish".into()))))
        .collect();
    // The failure that stopped the others, not theirs.
    let mut runs = Vec::with_capacity(results.len());
    let mut stopped = None;
    for r in results {
        match r {
            Ok(run) => runs.push(run),
            Err(LabError::Stopped) => stopped = Some(LabError::Stopped),
            Err(e) => return Err(e),
        }
    }
    if let Some(e) = stopped {
        return Err(e);
    }
    Ok(summarise(cfg, runs))
}

struct ArmRun {
    histories: Option<Vec<AccountHistory>>,
    withdrawn: u64,
    name: String,
    warmup_violations: u64,
    risk_bands: u64,
    scenarios: String,
    rows: Vec<Sums>,
    covariates: Vec<[f64; COVARIATES]>,
    series: Vec<LabDay>,
    seconds: f64,
}

fn run_arm(
    cfg: &LabConfig,
    warmup: &Engine,
    mut arm: ArmSetup,
    ids: &[AccountId],
    mix: &SegmentMix,
    stop: &AtomicBool,
    progress: &dyn Fn(u32),
) -> Result<ArmRun, LabError> {
    let started = std::time::Instant::now();
    let fail = |source| LabError::Store {
        arm: arm.name.clone(),
        source,
    };
    if !arm.store.accounts().map_err(fail)?.is_empty() {
        return Err(LabError::Config(format!(
            "arm {}: its store already holds accounts; a run needs an empty one",
            arm.name
        )));
    }
    let first = cfg.start - Duration::days(i64::from(cfg.warmup_days));
    let mut portfolio = Portfolio::of_accounts(ids, cfg.seed, mix, first).with_self_service();
    let index: HashMap<AccountId, usize> = portfolio
        .customers()
        .iter()
        .enumerate()
        .map(|(k, c)| (c.profile.id, k))
        .collect();
    let mut tallies: Vec<Tally> = portfolio
        .customers()
        .iter()
        .map(|c| Tally {
            currency: Some(c.profile.market.currency),
            ..Tally::default()
        })
        .collect();
    let strategy = &cfg.strategy;
    let fx = |c: Option<Currency>| c.and_then(|c| strategy.to_base(c)).unwrap_or(0.0);
    let mut payments: HashMap<i64, i64> = HashMap::new();
    let mut series = Vec::with_capacity(cfg.days as usize);
    let mut done = 0u32;
    let name = arm.name.clone();
    // The warm-up: every arm under the same (champion) engine, so that what is known of an
    // account at the start — the covariates — cannot depend on its arm.
    let mut covariates: Vec<[f64; COVARIATES]> = portfolio
        .customers()
        .iter()
        .map(|c| {
            let rate = fx(Some(c.profile.market.currency));
            let mut x = [0.0; COVARIATES];
            let fees = (c.profile.fee_minor * i64::from(c.profile.services)) as f64 * rate;
            x[0] = fees;
            x[5] = fees * f64::from(bills_in(c.profile.cycle_day, cfg.start, cfg.days, true));
            x[6] = fees * f64::from(bills_in(c.profile.cycle_day, cfg.start, cfg.days, false));
            x
        })
        .collect();
    let mut lived: Vec<Lived> = if cfg.export.contains(&arm.name) {
        vec![Vec::new(); tallies.len()]
    } else {
        Vec::new()
    };
    let (mut warmup_violations, mut withdrawn) = (0u64, 0u64);
    let mut assessor = cfg
        .risk
        .clone()
        .map(|b| crate::risk::RiskAssessor::new(b, &portfolio));
    let mut assess =
        |day: NaiveDate, p: &Portfolio, happened: &[(AccountId, forbear_sim::Event)]| {
            assessor
                .as_mut()
                .map_or_else(Vec::new, |a| a.assess(day, p, happened))
        };
    if cfg.warmup_days > 0 {
        let engine = warmup.clone();
        engine_bridge::run_observed(
            &mut portfolio,
            &engine,
            arm.store.as_mut(),
            cfg.warmup_days,
            &mut assess,
            &mut |log: &DayLog<'_>| {
                record(&mut lived, &index, log, true);
                for (a, v) in log.violations {
                    tracing::warn!(arm = %name, account = %a, day = %log.day, "warm-up: contact rule broken: {v}");
                    warmup_violations += 1;
                }
                for (a, e) in log.happened {
                    let Some(&k) = index.get(a) else { continue };
                    let rate = fx(tallies[k].currency);
                    match e {
                        forbear_sim::Event::PaymentReceived {
                            payment_id, amount, ..
                        } => {
                            payments.insert(*payment_id, *amount);
                            covariates[k][1] += *amount as f64 * rate;
                        }
                        forbear_sim::Event::PaymentReversed { payment_id, .. } => {
                            let amount = payments.get(payment_id).copied().unwrap_or(0);
                            covariates[k][1] -= amount as f64 * rate;
                        }
                        _ => {}
                    }
                }
                for (k, c) in log.portfolio.customers().iter().enumerate() {
                    let v = c.view(log.day);
                    if v.overdue > 0 {
                        covariates[k][3] = covariates[k][3].max(f64::from(bucket(v.days_past_due)));
                    }
                }
                done += 1;
                progress(done);
                if stop.load(Ordering::Relaxed) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .map_err(fail)?;
        for (k, c) in portfolio.customers().iter().enumerate() {
            let v = c.view(cfg.start);
            let rate = fx(tallies[k].currency);
            covariates[k][2] = v.overdue as f64 * rate;
            covariates[k][4] = v.balance as f64 * rate;
            covariates[k][7] = f64::from(v.late_invoices);
            covariates[k][8] = if v.overdue > 0 {
                f64::from(v.days_past_due.max(0))
            } else {
                0.0
            };
            if c.churned_on().is_some() {
                covariates[k][5] = 0.0;
                covariates[k][6] = 0.0;
            }
        }
    }
    // The arm's own engine from here: a truth oracle it asks sees each day's customers first
    // (the warm-up's engine never asks it).
    let truth = arm.truth.clone();
    engine_bridge::run_observed(
        &mut portfolio,
        &arm.engine,
        arm.store.as_mut(),
        cfg.days,
        &mut |day, p, happened| {
            if let Some(t) = &truth {
                t.see(p);
            }
            assess(day, p, happened)
        },
        &mut |log: &DayLog<'_>| {
            record(&mut lived, &index, log, false);
            let mut day = LabDay {
                arm: std::borrow::Cow::Owned(name.clone()),
                day: log.day,
                accounts: tallies.len() as i64,
                collected_base_minor: 0,
                contacts: 0,
                contact_cost_base_minor: 0,
                complaints: 0,
                opt_outs: 0,
                violations: log.violations.len() as i64,
                dpd_1_30: 0,
                dpd_31_60: 0,
                dpd_61_90: 0,
                dpd_91_plus: 0,
                overdue_base_minor: 0,
                receivables_base_minor: 0,
                barred: 0,
                churned: 0,
            };
            let (mut collected, mut cost) = (0.0, 0.0);
            withdrawn += log.withdrawn.len() as u64;
            for (a, v) in log.violations {
                tracing::warn!(arm = %name, account = %a, day = %log.day, "contact rule broken: {v}");
                if let Some(&k) = index.get(a) {
                    tallies[k].violations += 1;
                }
            }
            for d in log.delivered {
                let Some(&k) = index.get(&d.account) else { continue };
                match (d.target, d.kind.as_str()) {
                    (Target::Billing, "disconnect") => tallies[k].disconnections += 1,
                    (Target::Billing, "reconnect") => tallies[k].reconnections += 1,
                    _ => {}
                }
            }
            for (a, e) in log.happened {
                let Some(&k) = index.get(a) else { continue };
                let t = &mut tallies[k];
                let rate = fx(t.currency);
                use forbear_sim::Event as S;
                match e {
                    S::InvoiceIssued { amount, .. } => t.billed += amount,
                    S::PaymentReceived {
                        payment_id, amount, ..
                    } => {
                        t.collected += amount;
                        payments.insert(*payment_id, *amount);
                        collected += *amount as f64 * rate;
                    }
                    S::PaymentReversed { payment_id, .. } => {
                        let amount = payments.get(payment_id).copied().unwrap_or(0);
                        t.collected -= amount;
                        collected -= amount as f64 * rate;
                    }
                    S::Contacted(o) => {
                        let c = strategy.cost_of(o.action.channel);
                        t.contacts += 1;
                        t.cost_base += c;
                        cost += c;
                        day.contacts += 1;
                        if o.complaint {
                            t.complaints += 1;
                            day.complaints += 1;
                        }
                        if o.opted_out {
                            t.opt_outs += 1;
                            day.opt_outs += 1;
                        }
                    }
                    S::Churned { .. } => t.churned = true,
                    _ => {}
                }
            }
            for (k, c) in log.portfolio.customers().iter().enumerate() {
                let v = c.view(log.day);
                let t = &mut tallies[k];
                let rate = fx(t.currency);
                let b = if v.overdue > 0 {
                    bucket(v.days_past_due)
                } else {
                    0
                };
                match b {
                    1 => day.dpd_1_30 += 1,
                    2 => day.dpd_31_60 += 1,
                    3 => day.dpd_61_90 += 1,
                    4 => day.dpd_91_plus += 1,
                    _ => {}
                }
                t.worst = t.worst.max(b);
                t.overdue_end = v.overdue;
                t.balance_end = v.balance;
                day.overdue_base_minor += (v.overdue as f64 * rate).round() as i64;
                day.receivables_base_minor += (v.balance as f64 * rate).round() as i64;
                day.barred += i64::from(v.barred);
                day.churned += i64::from(v.churned);
            }
            day.collected_base_minor = collected.round() as i64;
            day.contact_cost_base_minor = cost.round() as i64;
            series.push(day);
            done += 1;
            progress(done);
            if stop.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .map_err(fail)?;
    if stop.load(Ordering::Relaxed) {
        return Err(LabError::Stopped);
    }
    // What the engine made of each account: the case report's definitions, per account.
    let end = cfg.start.and_time(NaiveTime::MIN).and_utc() + Duration::days(i64::from(cfg.days));
    for (k, c) in portfolio.customers().iter().enumerate() {
        let events = arm.store.events(c.profile.id).map_err(fail)?;
        let r = account_report(&events, &arm.engine, end);
        let t = &mut tallies[k];
        t.promises_made = (r.promises.made - r.promises.refused) as u32;
        t.promises_kept = r.promises.kept as u32;
        t.plans_started = (r.plans.made - r.plans.refused) as u32;
        t.disputes_opened = r.disputes.opened as u32;
        t.hardship_holds = r.hardship_by_reason.values().sum::<u64>() as u32;
        t.agency_placements = r.agencies.values().map(|a| a.placed).sum::<u64>() as u32;
        t.legal_referrals = r.lawyers.values().map(|l| l.referred).sum::<u64>() as u32;
    }
    let rows = tallies
        .iter()
        .map(|t| {
            let rate = fx(t.currency);
            let mut reached = [0.0; 5];
            for (b, r) in reached.iter_mut().enumerate() {
                *r = f64::from(u8::from(t.worst as usize >= b));
            }
            let delinquent = t.worst >= 1;
            Sums {
                n: 1.0,
                billed: t.billed as f64 * rate,
                collected: t.collected as f64 * rate,
                collected_adj: t.collected as f64 * rate,
                net_adj: t.collected as f64 * rate - t.cost_base,
                cost: t.cost_base,
                contacts: f64::from(t.contacts),
                complaints: f64::from(t.complaints),
                opt_outs: f64::from(t.opt_outs),
                violations: f64::from(t.violations),
                churned: f64::from(u8::from(t.churned)),
                disconnections: f64::from(t.disconnections),
                reconnections: f64::from(t.reconnections),
                reached,
                cured: f64::from(u8::from(delinquent && t.overdue_end <= 0)),
                balance_end: t.balance_end as f64 * rate,
                promises_made: f64::from(t.promises_made),
                promises_kept: f64::from(t.promises_kept),
                plans_started: f64::from(t.plans_started),
                disputes_opened: f64::from(t.disputes_opened),
                hardship_holds: f64::from(t.hardship_holds),
                agency_placements: f64::from(t.agency_placements),
                legal_referrals: f64::from(t.legal_referrals),
            }
        })
        .collect();
    tracing::info!(
        arm = %arm.name,
        accounts = tallies.len(),
        days = cfg.warmup_days + cfg.days,
        seconds = started.elapsed().as_secs_f64(),
        risk_scored = assessor.as_ref().map_or(0, |a| a.scored),
        risk_bands = assessor.as_ref().map_or(0, |a| a.changes),
        "arm lived through its days"
    );
    let histories = (!lived.is_empty()).then(|| {
        portfolio
            .customers()
            .iter()
            .zip(lived)
            .map(|(c, events)| AccountHistory {
                customer: c.clone(),
                events,
                month_end_buckets: Vec::new(),
            })
            .collect()
    });
    Ok(ArmRun {
        histories,
        withdrawn,
        name: arm.name.clone(),
        warmup_violations,
        risk_bands: assessor.as_ref().map_or(0, |a| a.changes),
        scenarios: arm.engine.scenarios().version.clone(),
        rows,
        covariates,
        series,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn account_report(events: &[forbear_engine::Event], engine: &Engine, at: DateTime<Utc>) -> Report {
    let mut r = Report::new(at);
    r.add(events, engine.scenarios());
    r.finish();
    r
}

/// Percentile of sorted values (linear interpolation).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let x = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (x - lo as f64)
}

fn interval(value: f64, mut draws: Vec<f64>) -> Estimate {
    draws.retain(|x| x.is_finite());
    draws.sort_by(f64::total_cmp);
    Estimate {
        value,
        ci_low: percentile(&draws, 0.025),
        ci_high: percentile(&draws, 0.975),
    }
}

/// Resamples of an arm's sums: accounts drawn with replacement, `b` times.
fn resample(rows: &[Sums], b: u32, rng: &mut Rng) -> Vec<Sums> {
    let n = rows.len() as u64;
    (0..b)
        .map(|_| {
            let mut s = Sums::default();
            if n > 0 {
                for _ in 0..n {
                    s.add(&rows[rng.below(n) as usize], 1.0);
                }
            }
            s
        })
        .collect()
}

/// KPIs compared with the champion in `comparisons`.
pub const COMPARED: [&str; 5] = [
    "net_collected",
    "collected",
    "contact_cost",
    "complaints",
    "cure_rate",
];

/// The covariates of the adjustment, all known when the experiment starts: monthly fees,
/// collected during the warm-up, overdue and balance due at the start, worst days-past-due
/// bucket of the warm-up, and the fees billed and falling due within the experiment by the
/// billing calendar (cycle day and payment terms: the tariff's schedule, which no strategy
/// moves) for customers still there at the start, bills paid late so far and days past due
/// at the start.
const COVARIATES: usize = 9;

/// Bills of a customer billed on `cycle_day` that fall due (`due`) or are issued within `days`
/// days from `start`.
fn bills_in(cycle_day: u32, start: NaiveDate, days: u32, due: bool) -> u32 {
    let terms = if due {
        forbear_sim::customer::PAYMENT_TERMS_DAYS as i64
    } else {
        0
    };
    let from = start - Duration::days(terms);
    (0..i64::from(days))
        .filter(|d| (from + Duration::days(*d)).day() == cycle_day)
        .count() as u32
}

/// Solves `a·x = b` (Gaussian elimination with partial pivoting); `None` when singular.
fn solve<const K: usize>(mut a: [[f64; K]; K], mut b: [f64; K]) -> Option<[f64; K]> {
    for c in 0..K {
        let p = (c..K).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-9 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        let (pivot_row, pivot_b) = (a[c], b[c]);
        for r in c + 1..K {
            let f = a[r][c] / pivot_row[c];
            for (x, p) in a[r].iter_mut().zip(&pivot_row).skip(c) {
                *x -= f * p;
            }
            b[r] -= f * pivot_b;
        }
    }
    let mut x = [0.0; K];
    for r in (0..K).rev() {
        let s: f64 = (r + 1..K).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

/// Regression adjustment (CUPED, Deng et al. 2013; Lin 2013) of the money collected for
/// covariates fixed before the experiment ([`COVARIATES`]): each account's amount becomes
/// y − β·(x − x̄), with x̄ the mean over every arm and β the pooled within-arm least-squares
/// slopes. The split is random and the warm-up the same for every arm, so an arm's adjusted
/// mean keeps its expectation and loses the variance what was known before explains.
fn adjust(runs: &mut [ArmRun]) {
    let n: f64 = runs.iter().map(|r| r.rows.len() as f64).sum();
    if n < 2.0 * COVARIATES as f64 {
        return;
    }
    let mut xbar = [0.0; COVARIATES];
    for x in runs.iter().flat_map(|r| &r.covariates) {
        for j in 0..COVARIATES {
            xbar[j] += x[j] / n;
        }
    }
    let mut sxx = [[0.0; COVARIATES]; COVARIATES];
    let (mut sxc, mut sxn) = ([0.0; COVARIATES], [0.0; COVARIATES]);
    for run in runs.iter() {
        let m = run.rows.len().max(1) as f64;
        let mut mx = [0.0; COVARIATES];
        for x in &run.covariates {
            for j in 0..COVARIATES {
                mx[j] += x[j] / m;
            }
        }
        let mc = run.rows.iter().map(|r| r.collected).sum::<f64>() / m;
        let mn = run.rows.iter().map(|r| r.collected - r.cost).sum::<f64>() / m;
        for (r, x) in run.rows.iter().zip(&run.covariates) {
            let d: [f64; COVARIATES] = std::array::from_fn(|j| x[j] - mx[j]);
            for i in 0..COVARIATES {
                for j in 0..COVARIATES {
                    sxx[i][j] += d[i] * d[j];
                }
                sxc[i] += d[i] * (r.collected - mc);
                sxn[i] += d[i] * (r.collected - r.cost - mn);
            }
        }
    }
    // A covariate without variance (no warm-up) drops out: ridge it to zero weight.
    for (i, row) in sxx.iter_mut().enumerate() {
        if row[i] <= 0.0 {
            row[i] = 1.0;
        }
    }
    let zero = [0.0; COVARIATES];
    let bc = solve(sxx, sxc).unwrap_or(zero);
    let bn = solve(sxx, sxn).unwrap_or(zero);
    for run in runs.iter_mut() {
        for (r, x) in run.rows.iter_mut().zip(&run.covariates) {
            let dc: f64 = (0..COVARIATES).map(|j| bc[j] * (x[j] - xbar[j])).sum();
            let dn: f64 = (0..COVARIATES).map(|j| bn[j] * (x[j] - xbar[j])).sum();
            r.collected_adj = r.collected - dc;
            r.net_adj = r.collected - r.cost - dn;
        }
    }
}

fn summarise(cfg: &LabConfig, mut runs: Vec<ArmRun>) -> LabOutcome {
    adjust(&mut runs);
    let days = f64::from(cfg.days);
    let mut rng = Rng::new(cfg.seed ^ 0xb007_57a9, 1);
    let mut draws: Vec<Vec<Sums>> = Vec::new();
    let mut arms = Vec::new();
    let mut series = Vec::new();
    let mut exports = Vec::new();
    for mut run in runs {
        if let Some(h) = run.histories.take() {
            exports.push((run.name.clone(), h));
        }
        let mut all = Sums::default();
        for r in &run.rows {
            all.add(r, 1.0);
        }
        let boot = resample(&run.rows, cfg.bootstrap, &mut rng);
        let kpis = KPIS
            .iter()
            .map(|k| {
                let v = (k.f)(&all, days);
                let d = boot.iter().map(|s| (k.f)(s, days)).collect();
                (k.name.to_string(), interval(v, d))
            })
            .collect();
        arms.push(ArmReport {
            name: run.name,
            accounts: run.rows.len() as u64,
            scenarios: run.scenarios,
            kpis,
            totals: Totals {
                billed: all.billed / 100.0,
                collected: all.collected / 100.0,
                contact_cost: all.cost / 100.0,
                contacts: all.contacts as u64,
                complaints: all.complaints as u64,
                violations: all.violations as u64,
                warmup_violations: run.warmup_violations,
                risk_bands: run.risk_bands,
                withdrawn_after_handover: run.withdrawn,
                delinquent: all.reached[1] as u64,
                cured: all.cured as u64,
            },
            seconds: run.seconds,
        });
        draws.push(boot);
        series.extend(run.series);
    }
    let mut comparisons = Vec::new();
    for k in 1..arms.len() {
        for name in COMPARED {
            let Some(kpi) = KPIS.iter().find(|x| x.name == name) else {
                continue;
            };
            let (a, b) = (arms[k].kpis[name].value, arms[0].kpis[name].value);
            let diff: Vec<f64> = draws[k]
                .iter()
                .zip(&draws[0])
                .map(|(x, y)| (kpi.f)(x, days) - (kpi.f)(y, days))
                .collect();
            let rel: Vec<f64> = draws[k]
                .iter()
                .zip(&draws[0])
                .map(|(x, y)| (kpi.f)(x, days) / (kpi.f)(y, days) - 1.0)
                .collect();
            comparisons.push(Comparison {
                arm: arms[k].name.clone(),
                against: arms[0].name.clone(),
                kpi: name.to_string(),
                difference: interval(a - b, diff),
                relative: interval(a / b - 1.0, rel),
            });
        }
    }
    LabOutcome {
        report: LabReport {
            accounts: cfg.accounts,
            days: cfg.days,
            seed: cfg.seed,
            start: cfg.start,
            bootstrap: cfg.bootstrap,
            base_currency: cfg.strategy.base_currency.clone(),
            arms,
            comparisons,
            units: KPIS
                .iter()
                .map(|k| (k.name.to_string(), k.unit.to_string()))
                .collect(),
        },
        series,
        exports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forbear_engine::{MemoryStore, RuleOfThumb, ScenarioSet, Templates};
    use std::sync::Arc;

    fn engine(set: ScenarioSet) -> Engine {
        Engine::new(
            set,
            forbear_core::rules::ContactRules::default(),
            Templates::builtin().unwrap(),
            Arc::new(RuleOfThumb),
        )
    }

    fn config(accounts: u64, days: u32, warmup_days: u32) -> LabConfig {
        LabConfig {
            accounts,
            days,
            seed: 7,
            start: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            warmup_days,
            bootstrap: 200,
            export: vec!["challenger".into()],
            strategy: StrategyConfig::default(),
            risk: None,
        }
    }

    fn arms() -> (Engine, Vec<ArmSetup>) {
        let champion = crate::arms::champion(&ScenarioSet::builtin().unwrap());
        let arm = |name: &str, set: ScenarioSet, share: f64| ArmSetup {
            name: name.into(),
            share,
            engine: engine(set),
            store: Box::new(MemoryStore::new()),
            truth: None,
        };
        (
            engine(champion.clone()),
            vec![
                arm("champion", champion.clone(), 1.0),
                arm("challenger", crate::arms::challenger(&champion), 1.0),
                arm("no-contact", crate::arms::no_contact(&champion), 0.5),
            ],
        )
    }

    #[test]
    fn the_split_follows_the_shares_and_the_seed() {
        let mix = lab_mix();
        let a = split(10_000, 3, &mix, &[1.0, 1.0, 2.0]).unwrap();
        let n: Vec<usize> = a.iter().map(Vec::len).collect();
        assert_eq!(n.iter().sum::<usize>(), 10_000);
        assert!(
            (2300..2700).contains(&n[0]) && (4700..5300).contains(&n[2]),
            "{n:?}"
        );
        assert_eq!(a, split(10_000, 3, &mix, &[1.0, 1.0, 2.0]).unwrap());
        assert_ne!(a, split(10_000, 4, &mix, &[1.0, 1.0, 2.0]).unwrap());
        for bad in [vec![], vec![0.0, 0.0], vec![1.0, -1.0], vec![f64::NAN]] {
            assert!(split(10, 1, &mix, &bad).is_err(), "{bad:?}");
        }
        // Corporate families stay together.
        let arm_of: HashMap<AccountId, usize> = a
            .iter()
            .enumerate()
            .flat_map(|(k, ids)| ids.iter().map(move |id| (*id, k)))
            .collect();
        let mut families = 0;
        for id in arm_of.keys() {
            if let Some(h) = forbear_sim::population::hierarchy_of(3, *id, &mix)
                && !h.is_parent
            {
                families += 1;
                assert_eq!(
                    arm_of[id], arm_of[&h.parent],
                    "{id} and its parent {}",
                    h.parent
                );
            }
        }
        assert!(families > 0);
    }

    #[test]
    fn least_squares_solves_a_small_system() {
        let x = solve([[2.0, 1.0], [1.0, 3.0]], [3.0, 5.0]).unwrap();
        assert!(
            (x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12,
            "{x:?}"
        );
        assert!(solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0]).is_none());
    }

    /// A covariate that explains what is collected takes that variance out of the adjusted
    /// amounts and leaves the arms' difference as it was.
    #[test]
    fn the_adjustment_removes_what_the_covariates_explain_and_keeps_the_difference() {
        let mut rng = Rng::new(1, 1);
        let mut runs: Vec<ArmRun> = (0..2)
            .map(|arm| {
                let mut rows = Vec::new();
                let mut covariates = Vec::new();
                for _ in 0..4000 {
                    let fees = rng.uniform(1000.0, 9000.0);
                    let noise = rng.normal() * 50.0;
                    rows.push(Sums {
                        n: 1.0,
                        collected: 4.0 * fees + noise + 100.0 * f64::from(arm),
                        ..Sums::default()
                    });
                    let mut x = [0.0; COVARIATES];
                    x[0] = fees;
                    covariates.push(x);
                }
                ArmRun {
                    histories: None,
                    withdrawn: 0,
                    name: format!("arm{arm}"),
                    warmup_violations: 0,
                    risk_bands: 0,
                    scenarios: String::new(),
                    rows,
                    covariates,
                    series: Vec::new(),
                    seconds: 0.0,
                }
            })
            .collect();
        let sd = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        let raw: Vec<f64> = runs[0].rows.iter().map(|r| r.collected).collect();
        adjust(&mut runs);
        let adj: Vec<f64> = runs[0].rows.iter().map(|r| r.collected_adj).collect();
        assert!(
            sd(&raw) > 5000.0 && sd(&adj) < 60.0,
            "{} {}",
            sd(&raw),
            sd(&adj)
        );
        let mean = |k: usize| {
            runs[k].rows.iter().map(|r| r.collected_adj).sum::<f64>() / runs[k].rows.len() as f64
        };
        assert!(
            (mean(1) - mean(0) - 100.0).abs() < 5.0,
            "{}",
            mean(1) - mean(0)
        );
    }

    /// A small run end to end: every arm lives through the days, the no-contact arm makes no
    /// contact, nothing breaks a contact rule, every KPI has an interval around its value, the
    /// series has a row per arm and day, and the same seed gives the same report.
    #[test]
    fn a_small_run_measures_every_arm_and_repeats_with_its_seed() {
        let cfg = config(900, 30, 20);
        let (warmup, a) = arms();
        let out = run(&cfg, &warmup, a, &|_, _| {}).unwrap();
        let r = &out.report;
        assert_eq!(r.arms.len(), 3);
        assert_eq!(r.arms.iter().map(|a| a.accounts).sum::<u64>(), 900);
        assert_eq!(out.series.len(), 3 * 30);
        for a in &r.arms {
            assert_eq!(a.kpis.len(), KPIS.len());
            assert_eq!(a.totals.violations, 0, "{}", a.name);
            for (k, e) in &a.kpis {
                if e.value.is_finite() && e.ci_low.is_finite() {
                    assert!(
                        e.ci_low <= e.value + 1e-9 && e.value <= e.ci_high + 1e-9,
                        "{} {k}: {e:?}",
                        a.name
                    );
                }
            }
        }
        let by = |n: &str| r.arms.iter().find(|a| a.name == n).unwrap();
        assert_eq!(by("no-contact").totals.contacts, 0);
        assert!(by("champion").totals.contacts > 0);
        assert!(by("champion").totals.collected > 0.0);
        assert_eq!(r.comparisons.len(), 2 * COMPARED.len());
        // The challenger's own history, warm-up included, is a dataset of the contract.
        assert_eq!(out.exports.len(), 1);
        let (name, histories) = &out.exports[0];
        assert_eq!(name, "challenger");
        assert_eq!(histories.len() as u64, by("challenger").accounts);
        let dir = std::env::temp_dir().join(format!("forbear-lab-export-{}", std::process::id()));
        let counts = forbear_sim::generate::write_histories(
            &dir,
            histories,
            &|d| std::borrow::Cow::Owned(format!("lab:{}", d.propensity)),
            true,
        )
        .unwrap();
        assert!(counts.contacts > 0, "{counts:?}");
        let v = forbear_data::validate_dataset(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(v.is_valid(), "{v}");
        let (warmup, a) = arms();
        let again = run(&cfg, &warmup, a, &|_, _| {}).unwrap();
        for (x, y) in r.arms.iter().zip(&again.report.arms) {
            // (NaN ≠ NaN: compared as written, where an undefined ratio is null.)
            let json = |a: &ArmReport| serde_json::to_string(&a.kpis).unwrap();
            assert_eq!(json(x), json(y), "{}", x.name);
        }
    }

    /// With a risk model the engines get their accounts' bands once a file is thick enough,
    /// and a scenario step for bands (the pre-due SMS of bands C–E) runs; without one it never
    /// does.
    #[test]
    fn a_risk_model_gives_the_engines_bands_and_the_band_steps_run() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/risk/v1-sample");
        let bundle = forbear_models::Bundle::load(&dir).unwrap();
        crate::risk::check(&bundle).unwrap();
        let mut cfg = config(600, 60, 60);
        cfg.risk = Some(std::sync::Arc::new(bundle));
        let champion = |cfg: &LabConfig| {
            let (warmup, mut a) = arms();
            a.truncate(1);
            let out = run(cfg, &warmup, a, &|_, _| {}).unwrap();
            let t = out.report.arms[0].totals.clone();
            assert_eq!(t.violations, 0);
            t
        };
        let with = champion(&cfg);
        cfg.risk = None;
        let without = champion(&cfg);
        assert!(with.risk_bands > 0);
        assert_eq!(without.risk_bands, 0);
        // The pre-due reminders of the bands at risk are contacts the run without bands lacks.
        assert!(with.contacts > without.contacts, "{with:?} vs {without:?}");
    }

    #[test]
    fn a_used_store_is_refused() {
        let cfg = config(50, 3, 0);
        let (warmup, a) = arms();
        let out = run(&cfg, &warmup, a, &|_, _| {}).unwrap();
        assert_eq!(out.series.len(), 9);
        let (warmup, mut a) = arms();
        let mut used = MemoryStore::new();
        let opened: Vec<forbear_engine::Event> = Portfolio::new(1, 1, &lab_mix(), cfg.start)
            .customers()
            .iter()
            .filter_map(crate::engine_bridge::account_opened)
            .collect();
        used.ingest(&opened).unwrap();
        a[0].store = Box::new(used);
        let e = run(&cfg, &warmup, a, &|_, _| {}).unwrap_err();
        assert!(e.to_string().contains("already holds accounts"), "{e}");
    }
}
