//! `forbear quickstart`: the README's main job on embedded defaults.
//!
//! Today: check the committed sample against the data contract, simulate a modest portfolio with
//! its ground truth, validate what was written, show how it behaves against the ranges real
//! portfolios show, train delinquency-risk models on it with out-of-time validation, train
//! channel-response models, and judge the recommender built on them by the simulator's truth on
//! a fresh month; then the strategy lab runs the champion's static scenarios against the
//! challenger built on those models, each arm dunned by its own engine, and prints the headline.

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
    /// Where the strategy lab writes its report (replaced if it exists).
    #[arg(long, default_value = "out/quickstart-lab")]
    lab_out: PathBuf,
    /// Accounts in the strategy lab's portfolio.
    #[arg(long, default_value_t = 10_000)]
    lab_accounts: u64,
    /// Days the strategy lab runs.
    #[arg(long, default_value_t = 120)]
    lab_days: u32,
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
    let opts = forbear_train::response::ResponseOptions::default();
    let response = forbear_train::response::train_response(&args.out, &opts)
        .context("training channel-response models on the simulated portfolio")?;
    println!(
        "5. channel-response models from {} contacts and {} days without contact: P(read) AUC {:.3}, P(pay | untouched) AUC {:.3}",
        response.contacts,
        response.none_examples,
        response.metrics[0].auc.unwrap_or(f64::NAN),
        response.metrics[2].auc.unwrap_or(f64::NAN),
    );
    let model = forbear_strategy::ResponseBundle::from_heads("quickstart", &response.heads)
        .context("the response heads just trained")?;
    let mut config = forbear_strategy::StrategyConfig::default();
    config.exploration.mode = forbear_strategy::config::ExplorationMode::None;
    let model = std::sync::Arc::new(model);
    let rec = forbear_strategy::Recommender::new(config.clone(), model.clone());
    let truth = forbear_lab::evaluate_against_truth(
        &forbear_lab::TruthEvalConfig {
            accounts: args.accounts.min(5_000),
            ..forbear_lab::TruthEvalConfig::default()
        },
        &rec,
    );
    println!(
        "6. on a fresh simulated month ({} decisions), judged by the simulator's truth: the recommender collects {:+.0}% net of contact cost over the logging policy with {:+.0}% complaints and {} rule violations, {:.0}% of what an oracle that knows every customer gains",
        truth.decisions,
        100.0 * (truth.learned.net_collected / truth.logging.net_collected - 1.0),
        100.0 * (truth.learned.complaints / truth.logging.complaints - 1.0),
        truth.learned.violations,
        100.0 * truth.captured_net
    );
    println!(
        "7. strategy lab: {} accounts over {} days, champion (static scenarios) against challenger (these models choosing channel, time and tone), each arm dunned by its own engine on SQLite",
        args.lab_accounts, args.lab_days
    );
    let lab = crate::simulate::Args {
        accounts: args.lab_accounts,
        days: args.lab_days,
        seed: 42,
        out: args.lab_out.clone(),
        start: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).context("start date")?,
        warmup_days: 30,
        scenarios: None,
        arms: Vec::new(),
        no_contact: false,
        oracle: false,
        split: None,
        store: None,
        service: None,
        bootstrap: 1000,
        export: Vec::new(),
        strategy: crate::strategy::StrategyArgs::default(),
        // The committed risk model gives the engines their bands.
        risk: None,
        no_risk: false,
    };
    let challenger: std::sync::Arc<dyn forbear_engine::Recommender> =
        std::sync::Arc::new(forbear_engine::recommend::ModelRecommender::new(
            forbear_strategy::Recommender::new(config, model),
            "quickstart",
        ));
    let plan = crate::simulate::prepare(&lab, Some(challenger))?;
    let (outcome, staging) = crate::simulate::simulate(plan)?;
    crate::simulate::publish(&outcome, &staging, &args.lab_out)?;
    println!("8. {}", crate::simulate::headline(&outcome, &args.lab_out));
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
