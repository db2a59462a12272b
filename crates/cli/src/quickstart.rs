//! `forbear quickstart`: the README's main job on embedded defaults.
//!
//! Today: check the committed sample against the data contract, simulate a modest portfolio with
//! its ground truth, validate what was written, show how it behaves against the ranges real
//! portfolios show, and train delinquency-risk models on it with out-of-time validation. Later
//! issues add the service and the strategy lab to this run.

use crate::generate::run_generation;
use anyhow::{Context, Result, bail};
use forbear_sim::HistoryConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the simulated portfolio (replaced if it exists).
    #[arg(long, default_value = "out/quickstart")]
    out: PathBuf,
    /// Accounts to simulate.
    #[arg(long, default_value_t = 20_000)]
    accounts: u64,
    /// The committed sample dataset to check first.
    #[arg(long, default_value = "notebooks-data/sample")]
    sample: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let started = Instant::now();
    if args.sample.is_dir() {
        let report = forbear_data::validate_dataset(&args.sample)?;
        if !report.is_valid() {
            print!("{report}");
            bail!(
                "the sample {} breaks the data contract",
                args.sample.display()
            );
        }
        let rows: Vec<String> = report
            .rows
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        println!(
            "1. sample {} meets the data contract ({})",
            args.sample.display(),
            rows.join(", ")
        );
    } else {
        println!(
            "1. no sample at {} (run from the repository root to check it); skipped",
            args.sample.display()
        );
    }
    println!(
        "2. simulating {} accounts over 12 months (seed 42) into {}",
        args.accounts,
        args.out.display()
    );
    let cfg = HistoryConfig::new(args.accounts, 12, 42);
    let generated = run_generation(&cfg, &args.out, true)?;
    let report =
        forbear_data::validate_dataset(&args.out).context("validating the simulated portfolio")?;
    if !report.is_valid() {
        print!("{report}");
        bail!("the simulated portfolio breaks the data contract");
    }
    println!("3. {} meets the data contract", args.out.display());
    let trained =
        forbear_train::train_risk(&args.out, &forbear_train::RiskOptions::default(), &|step| {
            tracing::debug!("{step}")
        })
        .context("training risk models on the simulated portfolio")?;
    for o in &trained.oot {
        println!(
            "4. {} risk model, trained on earlier month ends and tested on {}: AUC {:.3}, KS {:.3}",
            o.kind, o.test_snapshot, o.metrics.auc, o.metrics.ks
        );
    }
    let misses = generated.stats.misses().len();
    println!(
        "done in {:.1}s: {} of {} realism statistics inside their typical ranges; data in {}",
        started.elapsed().as_secs_f64(),
        forbear_sim::stats::TARGETS.len() - misses,
        forbear_sim::stats::TARGETS.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
