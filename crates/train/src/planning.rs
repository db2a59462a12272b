//! `forbear plan`: one day's contacts for a whole portfolio, under the day's capacities.
//!
//! Every account open on the day is shown to the recommender (its records up to the evening
//! before); each account's options worth more than doing nothing go to the planner
//! ([`forbear_strategy::plan::greedy`]), which keeps agent calls, letters and the budget within
//! the configuration's capacities. The plan is written as Parquet (the `plan` table of
//! `forbear-data`), through a partial file renamed when complete.

use crate::TrainError;
use crate::risk::load_accounts;
use crate::situations::{account_day, par_map};
use chrono::{Duration, NaiveDate};
use forbear_data::{PlannedContact, TableWriter, open_validated};
use forbear_features::DpdSeries;
use forbear_features::response::days_to_due;
use forbear_strategy::plan::{Allocation, PlanOption, Usage, greedy};
use forbear_strategy::recommend::{Recommender, Scored, Scratch};
use std::borrow::Cow;
use std::path::Path;

/// Options kept per account for the planner.
pub const OPTIONS_PER_ACCOUNT: usize = 8;

/// A day's plan.
#[derive(Debug)]
pub struct DayPlan {
    /// The day.
    pub date: NaiveDate,
    /// Accounts that owed money on the day (the others are not looked at further).
    pub accounts: usize,
    /// Accounts with at least one contact worth making.
    pub candidates: usize,
    /// The allocation (over the candidates).
    pub allocation: Allocation,
    /// Value if capacities were unlimited.
    pub unconstrained_value: f64,
    /// The contacts planned.
    pub rows: Vec<PlannedContact>,
}

/// Plans `date` for the accounts of the dataset at `data`, from their records up to the
/// evening before.
pub fn plan_day(data: &Path, date: NaiveDate, rec: &Recommender) -> Result<DayPlan, TrainError> {
    let started = std::time::Instant::now();
    let ds = open_validated(data)?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "dataset validated"
    );
    let (accounts, last_day) = load_accounts(&ds)?;
    tracing::info!(
        accounts = accounts.len(),
        seconds = started.elapsed().as_secs_f64(),
        "accounts loaded; recommending"
    );
    if date > last_day + Duration::days(1) {
        return Err(TrainError::TooFew {
            path: data.to_path_buf(),
            what: format!(
                "the history ends on {last_day}: a plan can be made for {} at the latest, not {date}",
                last_day + Duration::days(1)
            ),
        });
    }
    let per_account: Vec<(i64, String, Vec<Scored>)> = par_map(&accounts, &|a| {
        let mut scratch = Scratch::default();
        // Most accounts owe nothing on a given day: skip them before building their state.
        let eve = date - Duration::days(1);
        let Some(first) = a.history.bills.first().map(|b| b.issued_on) else {
            return Vec::new();
        };
        let series = DpdSeries::new(&a.history, first.min(eve), eve);
        if series.billed(eve) - series.covered(eve) <= 0 {
            return Vec::new();
        }
        let due_in = days_to_due(&a.history, &series, date);
        if !rec.in_scope(series.dpd(eve) > 0, due_in) {
            return Vec::new();
        }
        let Some(ad) = account_day(a, date, Some(&series)) else {
            return Vec::new();
        };
        let r = rec.recommend_with(&ad.situation(), &mut scratch);
        let options: Vec<Scored> = r
            .ranked
            .into_iter()
            .filter(|o| o.action.is_some() && o.value > rec.config().min_value)
            .take(OPTIONS_PER_ACCOUNT)
            .collect();
        vec![(a.id, a.currency.as_str().to_owned(), options)]
    });
    let looked_at = per_account.len();
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "recommendations made; allocating"
    );
    let candidates: Vec<&(i64, String, Vec<Scored>)> =
        per_account.iter().filter(|p| !p.2.is_empty()).collect();
    let options: Vec<Vec<PlanOption>> = candidates
        .iter()
        .map(|(_, _, opts)| {
            opts.iter()
                .map(|o| PlanOption {
                    value: o.value,
                    usage: Usage::of(o),
                })
                .collect()
        })
        .collect();
    let unconstrained_value = options
        .iter()
        .map(|o| o.iter().map(|x| x.value).fold(0.0, f64::max))
        .sum();
    let allocation = greedy(&options, &rec.config().capacity);
    let version = rec.model_version();
    let rows = candidates
        .iter()
        .zip(&allocation.choice)
        .filter_map(|((id, currency, opts), c)| {
            let o = &opts[(*c)?];
            let a = o.action?;
            Some(PlannedContact {
                account_id: *id,
                date,
                channel: Cow::Borrowed(a.channel.as_str()),
                send_window: Cow::Borrowed(a.window.as_str()),
                tone: Cow::Borrowed(a.tone.as_str()),
                template: Cow::Owned(o.template.clone().unwrap_or_default()),
                send_at_utc: o.send_at_utc?,
                send_at_local: o.send_at_local?,
                value_base_minor: o.value,
                cost_base_minor: o.cost,
                p_pay: o.p_pay,
                expected_paid_minor: o.expected_paid_minor.round() as i64,
                currency: Cow::Owned(currency.clone()),
                p_complaint: o.p_complaint,
                model_version: Cow::Owned(version.clone()),
            })
        })
        .collect();
    Ok(DayPlan {
        date,
        accounts: looked_at,
        candidates: candidates.len(),
        allocation,
        unconstrained_value,
        rows,
    })
}

/// Writes the plan's contacts to `dir/plan.parquet` (complete or not at all).
pub fn write_plan(rows: Vec<PlannedContact>, dir: &Path) -> Result<u64, TrainError> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut w = TableWriter::<PlannedContact>::create(dir)?;
    for r in rows {
        w.push(r)?;
    }
    Ok(w.finish()?)
}
