//! `forbear generate`: the simulator's history, written as a dataset.

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use forbear_sim::{Generated, HistoryConfig, SegmentMix};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of accounts.
    #[arg(long, default_value_t = 10_000)]
    accounts: u64,
    /// Months of history, ending on --end.
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// Seed: the same seed and arguments give byte-identical files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Last day of history (YYYY-MM-DD).
    #[arg(long, default_value = "2026-06-30")]
    end: NaiveDate,
    /// Customer-type weights and prepaid share, e.g. "consumer=0.7,small_business=0.1,vip=0.05,prepaid=0.15".
    #[arg(long)]
    mix: Option<String>,
    /// Share of dunning steps whose action the logging policy drew at random.
    #[arg(long, default_value_t = 0.2)]
    exploration: f64,
    /// Worker threads (0: one per core). The output does not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Replace the tables of an existing dataset in --out.
    #[arg(long)]
    overwrite: bool,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.accounts == 0 {
        bail!("--accounts must be at least 1");
    }
    if args.accounts > 100_000_000 {
        bail!(
            "--accounts {} is more than the 100,000,000 ids the contract's numbering allows",
            args.accounts
        );
    }
    if !(1..=60).contains(&args.months) {
        bail!("--months must be between 1 and 60, got {}", args.months);
    }
    if !(0.0..=1.0).contains(&args.exploration) {
        bail!("--exploration must be in [0, 1], got {}", args.exploration);
    }
    let mix = match &args.mix {
        Some(m) => SegmentMix::parse(m).map_err(anyhow::Error::msg)?,
        None => SegmentMix::default(),
    };
    let mut cfg = HistoryConfig::new(args.accounts, args.months, args.seed);
    cfg.end = args.end;
    cfg.mix = mix;
    cfg.policy.exploration = args.exploration;
    cfg.threads = args.threads;
    run_generation(&cfg, &args.out, args.overwrite)?;
    Ok(ExitCode::SUCCESS)
}

/// Generates with a progress bar on stderr and prints what was written and how the portfolio
/// behaved against the realism targets.
pub fn run_generation(cfg: &HistoryConfig, out: &Path, overwrite: bool) -> Result<Generated> {
    tracing::info!(accounts = cfg.accounts, months = cfg.months, seed = cfg.seed, start = %cfg.start(), end = %cfg.end, out = %out.display(), "generating history");
    let bar = ProgressBar::with_draw_target(Some(cfg.accounts), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} accounts ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let generated = forbear_sim::generate(cfg, out, overwrite, &|done| bar.set_position(done))
        .with_context(|| format!("generating into {}", out.display()))?;
    bar.finish_and_clear();
    let c = generated.counts;
    println!(
        "wrote {} in {:.1}s: {} accounts, {} invoices, {} payments, {} contacts, {} disputes, {} promises, {} truth rows",
        out.display(),
        started.elapsed().as_secs_f64(),
        c.accounts,
        c.invoices,
        c.payments,
        c.contacts,
        c.disputes,
        c.promises,
        c.truth
    );
    println!("portfolio behaviour against typical ranges (notebooks-data/README.md):");
    print!("{}", generated.stats);
    Ok(generated)
}
