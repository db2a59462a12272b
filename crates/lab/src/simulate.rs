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
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use forbear_core::rng::Rng;
use forbear_core::{AccountId, Currency};
use forbear_data::LabDay;
use forbear_engine::report::Report;
use forbear_engine::{Engine, Store, StoreError, Target};
use forbear_sim::{Portfolio, SegmentMix};
use forbear_strategy::StrategyConfig;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

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
    /// First day.
    pub start: NaiveDate,
    /// Bootstrap resamples.
    pub bootstrap: u32,
    /// Costs of contacts and exchange rates (the strategy configuration's).
    pub strategy: StrategyConfig,
}

/// A failure of a run.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// An arm's store failed.
    #[error("arm {arm}: {source}")]
    Store {
        /// The arm.
        arm: String,
        /// What failed.
        source: StoreError,
    },
}

/// The arm of every account `1..=accounts`: drawn at random with `seed`, arm `k` with
/// probability `shares[k] / Σ shares`.
pub fn split(accounts: u64, seed: u64, shares: &[f64]) -> Result<Vec<Vec<AccountId>>, LabError> {
    let total: f64 = shares.iter().sum();
    if shares.is_empty() || shares.iter().any(|s| !s.is_finite() || *s < 0.0) || total <= 0.0 {
        return Err(LabError::Config(format!(
            "arm shares must be non-negative numbers with a positive sum, got {shares:?}"
        )));
    }
    let mut rng = Rng::new(seed ^ 0x5a17_a2b5, 0);
    let mut out = vec![Vec::new(); shares.len()];
    for k in 1..=accounts as i64 {
        let Ok(id) = AccountId::new(k) else { continue };
        out[rng.weighted(shares)].push(id);
    }
    Ok(out)
}

/// One account's outcome over the run. Money in minor units of the account's currency.
#[derive(Debug, Clone, Default)]
struct Tally {
    currency: Option<Currency>,
    /// The pre-treatment covariate: the monthly fees of the account's services.
    fees: i64,
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
    /// The covariate: monthly fees, base currency.
    fees: f64,
    cost: f64,
    contacts: f64,
    complaints: f64,
    opt_outs: f64,
    violations: f64,
    churned: f64,
    disconnections: f64,
    reconnections: f64,
    reached: [f64; 5],
    delinquent_end: f64,
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
            fees,
            cost,
            contacts,
            complaints,
            opt_outs,
            violations,
            churned,
            disconnections,
            reconnections,
            delinquent_end,
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
        unit: "base currency per account, paid net of reversals (regression-adjusted for the accounts' monthly fees)",
        higher_is_better: Some(true),
        f: |s, _| ratio(s.collected_adj, s.n) / 100.0,
    },
    Kpi {
        name: "net_collected",
        unit: "base currency per account, collected minus contact cost (regression-adjusted for the accounts' monthly fees)",
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
#[derive(Debug, Clone)]
pub struct LabOutcome {
    /// The report.
    pub report: LabReport,
    /// One row per arm and day.
    pub series: Vec<LabDay>,
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
    let ids = split(cfg.accounts, cfg.seed, &shares)?;
    let mix = lab_mix();
    let results: Mutex<Vec<Option<Result<ArmRun, LabError>>>> =
        Mutex::new((0..arms.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for (k, (arm, ids)) in arms.into_iter().zip(ids).enumerate() {
            let (mix, results) = (&mix, &results);
            scope.spawn(move || {
                let r = run_arm(cfg, arm, &ids, mix, &|d| progress(k, d));
                if let Ok(mut g) = results.lock() {
                    g[k] = Some(r);
                }
            });
        }
    });
    let runs: Vec<ArmRun> = results
        .into_inner()
        .map_err(|_| LabError::Config("an arm's thread panicked".into()))?
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(LabError::Config("an arm did not finish".into()))))
        .collect::<Result<_, _>>()?;
    Ok(summarise(cfg, runs))
}

struct ArmRun {
    name: String,
    scenarios: String,
    rows: Vec<Sums>,
    series: Vec<LabDay>,
    seconds: f64,
}

fn run_arm(
    cfg: &LabConfig,
    mut arm: ArmSetup,
    ids: &[AccountId],
    mix: &SegmentMix,
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
    let mut portfolio = Portfolio::of_accounts(ids, cfg.seed, mix, cfg.start).with_self_service();
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
            fees: c.profile.fee_minor * i64::from(c.profile.services),
            ..Tally::default()
        })
        .collect();
    let strategy = &cfg.strategy;
    let fx = |c: Option<Currency>| c.and_then(|c| strategy.to_base(c)).unwrap_or(0.0);
    let mut payments: HashMap<i64, i64> = HashMap::new();
    let mut series = Vec::with_capacity(cfg.days as usize);
    let mut done = 0u32;
    let name = arm.name.clone();
    engine_bridge::run_observed(
        &mut portfolio,
        &arm.engine,
        arm.store.as_mut(),
        cfg.days,
        &mut |log: &DayLog<'_>| {
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
            for (a, v) in log.violations {
                tracing::warn!(arm = %name, account = %a, day = %log.day, "contact rule broken: {v}");
                if let Some(&k) = index.get(a) {
                    tallies[k].violations += 1;
                }
            }
            for (a, target, kind) in log.delivered {
                let Some(&k) = index.get(a) else { continue };
                match (target, kind.as_str()) {
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
        },
    )
    .map_err(fail)?;
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
                fees: t.fees as f64 * rate,
                cost: t.cost_base,
                contacts: f64::from(t.contacts),
                complaints: f64::from(t.complaints),
                opt_outs: f64::from(t.opt_outs),
                violations: f64::from(t.violations),
                churned: f64::from(u8::from(t.churned)),
                disconnections: f64::from(t.disconnections),
                reconnections: f64::from(t.reconnections),
                reached,
                delinquent_end: f64::from(u8::from(t.overdue_end > 0)),
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
    Ok(ArmRun {
        name: arm.name.clone(),
        scenarios: arm.engine.scenarios().version.clone(),
        rows,
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

/// Regression adjustment (CUPED, Deng et al. 2013) of the money collected for a covariate
/// fixed before the run: the accounts' monthly fees, which set most of what is paid whatever
/// the strategy. Each account's collected amount becomes y − θ·(x − x̄) with x̄ the mean over
/// every arm and θ the pooled within-arm slope; an arm's mean keeps its expectation (the split
/// is random, so x̄ of an arm differs from x̄ only by chance) and loses the variance the fees
/// explain.
fn adjust(runs: &mut [ArmRun]) {
    let n: f64 = runs.iter().map(|r| r.rows.len() as f64).sum();
    if n < 2.0 {
        return;
    }
    let xbar = runs
        .iter()
        .flat_map(|r| &r.rows)
        .map(|r| r.fees)
        .sum::<f64>()
        / n;
    let slope = |y: &dyn Fn(&Sums) -> f64| {
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for run in runs.iter() {
            let m = run.rows.len().max(1) as f64;
            let mx = run.rows.iter().map(|r| r.fees).sum::<f64>() / m;
            let my = run.rows.iter().map(y).sum::<f64>() / m;
            for r in &run.rows {
                sxy += (r.fees - mx) * (y(r) - my);
                sxx += (r.fees - mx) * (r.fees - mx);
            }
        }
        if sxx > 0.0 { sxy / sxx } else { 0.0 }
    };
    let tc = slope(&|r| r.collected);
    let tn = slope(&|r| r.collected - r.cost);
    for run in runs.iter_mut() {
        for r in &mut run.rows {
            r.collected_adj = r.collected - tc * (r.fees - xbar);
            r.net_adj = r.collected - r.cost - tn * (r.fees - xbar);
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
    for run in runs {
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
    }
}
