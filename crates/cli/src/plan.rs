//! `forbear plan`: a day's contacts for the whole portfolio.

use anyhow::Result;
use forbear_train::planning::{plan_day, write_plan};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset directory (validated first); the plan uses records up to the evening before.
    #[arg(long)]
    data: PathBuf,
    /// The day to plan (YYYY-MM-DD), at most the day after the history ends.
    #[arg(long)]
    date: chrono::NaiveDate,
    #[command(flatten)]
    strategy: crate::strategy::StrategyArgs,
    /// Output directory: DIR/plan.parquet.
    #[arg(long, default_value = "plan")]
    out: PathBuf,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let rec = a.strategy.recommender(true)?;
    let p = plan_day(&a.data, a.date, &rec)?;
    let cap = &rec.config().capacity;
    let used = p.allocation.used;
    let planned = p.rows.len();
    let rows = write_plan(p.rows, &a.out)?;
    println!(
        "{}: {} accounts owing money, {} with a contact worth making; {} contacts planned ({:.1}s)",
        p.date,
        p.accounts,
        p.candidates,
        planned,
        started.elapsed().as_secs_f64()
    );
    println!(
        "expected value {:.0} of {:.0} without capacity limits ({} minor units); agent calls {}/{}, letters {}/{}, budget {:.0}/{}",
        p.allocation.value,
        p.unconstrained_value,
        rec.config().base_currency,
        used.calls,
        cap.agent_calls,
        used.letters,
        cap.letters,
        used.cost,
        cap.budget
    );
    println!(
        "written: {} ({rows} rows)",
        a.out.join("plan.parquet").display()
    );
    Ok(ExitCode::SUCCESS)
}
