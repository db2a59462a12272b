//! `forbear recommend`: the next contact for one account of a dataset, as JSON.

use anyhow::{Context, Result, bail};
use chrono::Duration;
use forbear_train::risk::load_accounts;
use forbear_train::situations::account_day;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset directory (validated first).
    #[arg(long)]
    data: PathBuf,
    /// The account.
    #[arg(long)]
    account: i64,
    /// The decision day (default: the day after the history ends).
    #[arg(long)]
    date: Option<chrono::NaiveDate>,
    /// Number of ranked alternatives to print (all are valued).
    #[arg(long, default_value_t = 10)]
    alternatives: usize,
    #[command(flatten)]
    strategy: crate::strategy::StrategyArgs,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let rec = a.strategy.recommender(false)?;
    let ds = forbear_data::open_validated(&a.data)?;
    let (accounts, last_day) = load_accounts(&ds)?;
    let date = a.date.unwrap_or(last_day + Duration::days(1));
    if date > last_day + Duration::days(1) {
        bail!(
            "the history ends on {last_day}: a recommendation can be made for {} at the latest, not {date}",
            last_day + Duration::days(1)
        );
    }
    let acc = accounts
        .iter()
        .find(|x| x.id == a.account)
        .with_context(|| {
            format!(
                "{}: no postpaid account {} in accounts.parquet",
                a.data.display(),
                a.account
            )
        })?;
    let day = account_day(acc, date, None).with_context(|| {
        format!(
            "account {} was not open on {date}, or had no bill yet",
            a.account
        )
    })?;
    let mut r = rec.recommend(&day.situation());
    r.ranked.truncate(a.alternatives);
    println!("{}", serde_json::to_string_pretty(&r)?);
    Ok(ExitCode::SUCCESS)
}
