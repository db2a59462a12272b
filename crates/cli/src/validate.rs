//! `forbear validate`: a dataset against the contract.

use anyhow::{Result, bail};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset directory (accounts.parquet, invoices.parquet, …).
    #[arg(required_unless_present = "print_contract")]
    dir: Option<PathBuf>,
    /// Print the data contract (every table and column) as Markdown instead.
    #[arg(long)]
    print_contract: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.print_contract {
        print!("{}", forbear_data::contract_markdown());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = args.dir else {
        bail!("a dataset directory is required")
    };
    let started = Instant::now();
    let report = forbear_data::validate_dataset(&dir)?;
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    if report.is_valid() {
        println!(
            "{}: valid ({}) in {:.1}s",
            dir.display(),
            rows.join(", "),
            started.elapsed().as_secs_f64()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    write!(out, "{report}")?;
    writeln!(
        out,
        "{}: {} problems",
        dir.display(),
        report.total_problems()
    )?;
    Ok(ExitCode::FAILURE)
}
