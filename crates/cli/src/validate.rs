//! `forbear validate`: a dataset against the contract.

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset directory (accounts.parquet, invoices.parquet, …).
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let started = Instant::now();
    let report = forbear_data::validate_dataset(&args.dir)?;
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    if report.is_valid() {
        println!(
            "{}: valid ({}) in {:.1}s",
            args.dir.display(),
            rows.join(", "),
            started.elapsed().as_secs_f64()
        );
        return Ok(ExitCode::SUCCESS);
    }
    print!("{report}");
    println!(
        "{}: {} problems",
        args.dir.display(),
        report.total_problems()
    );
    Ok(ExitCode::FAILURE)
}
