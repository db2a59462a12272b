//! `forbear train …`: models from data.

use anyhow::{Context, Result};
use forbear_train::card::{Fingerprint, sha256_hex, write_table_bundle};
use forbear_train::{TableOptions, train_table};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Train on your own table (CSV or Parquet) with a binary target: gradient-boosted trees,
    /// evaluated on a stratified 20% holdout (and K-fold cross-validation with --cv), written
    /// as a model bundle with a model card.
    Table(TableArgs),
}

#[derive(Debug, clap::Args)]
pub struct TableArgs {
    /// The table: .parquet, or CSV (comma or semicolon, sniffed).
    #[arg(long)]
    input: PathBuf,
    /// The target column.
    #[arg(long)]
    target: String,
    /// The target value that is the bad outcome (default: 1, true, yes, bad, …).
    #[arg(long)]
    positive: Option<String>,
    /// A column to leave out (repeatable). pandas' unnamed row-number column is dropped by itself.
    #[arg(long = "drop")]
    drop: Vec<String>,
    /// A column to treat as categories even if it holds numbers (repeatable).
    #[arg(long = "categorical")]
    categorical: Vec<String>,
    /// Seed of the holdout and folds.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also run stratified K-fold cross-validation.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=20))]
    cv: Option<u32>,
    /// Bundle directory (default: models/<input file name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an existing bundle directory.
    #[arg(long)]
    overwrite: bool,
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Table(args) => table(args),
    }
}

fn table(args: TableArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let table = forbear_data::read_table(&args.input)?;
    for (c, why) in &table.dropped {
        println!("dropped column {c}: {why}");
    }
    let opts = TableOptions {
        target: args.target,
        positive: args.positive,
        drop: args.drop,
        categorical: args.categorical,
        seed: args.seed,
        cv: args.cv.map(|k| k as usize),
        holdout: 0.2,
    };
    let trained = train_table(&table, &opts, &|step| tracing::info!("{step}"))?;
    let p = &trained.prepared;
    println!(
        "{}: {} rows, {} features, bad = {:?} ({:.2} %){}",
        args.input.display(),
        p.y.len(),
        p.spec.features.len(),
        p.positive,
        100.0 * p.y.iter().filter(|v| **v).count() as f64 / p.y.len() as f64,
        if p.missing_target > 0 {
            format!(", {} rows without a target left out", p.missing_target)
        } else {
            String::new()
        }
    );
    for (c, why) in &p.excluded {
        println!("not used: {c}: {why}");
    }
    for (i, m) in trained.models.iter().enumerate() {
        let cv = trained.cv(i).map_or(String::new(), |(a, s)| {
            format!(", {}-fold CV AUC {a:.4} ± {s:.4}", m.cv_auc.len())
        });
        println!(
            "{}{}: holdout AUC {:.4}, KS {:.4}, Brier {:.4}{cv}",
            m.model.kind(),
            if i == trained.best { " (best)" } else { "" },
            m.holdout.auc,
            m.holdout.ks,
            m.holdout.brier
        );
    }
    let bytes =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let fp = Fingerprint {
        input: args.input.display().to_string(),
        sha256: sha256_hex(&bytes),
        rows: p.y.len(),
        positive_rate: p.y.iter().filter(|v| **v).count() as f64 / p.y.len() as f64,
    };
    let out = args.out.unwrap_or_else(|| {
        let stem = args
            .input
            .file_stem()
            .map_or_else(|| "table".into(), |s| s.to_string_lossy().into_owned());
        PathBuf::from("models").join(stem)
    });
    let dir = write_table_bundle(&trained, &fp, args.seed, &out, args.overwrite)?;
    println!(
        "bundle written to {} in {:.1}s (card: {}/card.md)",
        dir.display(),
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
