//! The `forbear` binary: parses arguments into plain data, calls one library function per
//! command, and reports. No business rule lives here.

mod eligibility;
mod engine;
mod evaluate;
mod generate;
mod models;
mod plan;
mod quickstart;
mod recommend;
mod serve;
mod simulate;
mod strategy;
mod train;
mod validate;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// forbear — customer-centric collections: risk and channel-response models, an inference
/// service, and a dunning engine, trained and tested on historical payment data.
///
/// Start with `forbear quickstart` from the repository root. Then `forbear generate --out data/`
/// simulates a portfolio with a known truth, and `forbear validate data/` checks any dataset
/// against the data contract (notebooks-data/README.md). `forbear train risk --data data/` trains
/// delinquency-risk models on it; `forbear models list` shows the registry.
#[derive(Debug, Parser)]
#[command(
    name = "forbear",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// More log output (-v: debug, -vv: trace). Logs go to stderr; RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job on embedded defaults: check the sample, simulate a portfolio, validate it,
    /// report how it behaves, train risk and response models on it, judge the recommender by
    /// the truth, and run the strategy lab (champion against challenger) with its headline.
    /// Run it from the repository root.
    Quickstart(quickstart::Args),
    /// The dunning engine: `ingest` events, `tick` the clock forward executing what falls due,
    /// `timeline` and `case` of an account, `act` for agents, `scenarios check|diff|dry-run`.
    #[command(subcommand)]
    Engine(engine::Command),
    /// Simulate a portfolio's payment history (with its ground truth) as a Parquet dataset.
    Generate(generate::Args),
    /// Prepaid or postpaid for each applicant, with a credit limit and the reasons
    /// (`--policy FILE --input FILE`); `tradeoff` shows approval against expected bad rate.
    Eligibility(eligibility::Args),
    /// Judge a strategy before it goes live: `policy` estimates it off-policy on logged history,
    /// `truth` against the simulator's ground truth, `uplift` learns whom to treat from a
    /// randomised experiment.
    #[command(subcommand)]
    Evaluate(evaluate::Command),
    /// Plan one day's contacts for a whole portfolio under the day's capacities (agent calls,
    /// letters, budget): the recommender values every account's options, the planner allocates,
    /// the plan is written as Parquet.
    Plan(plan::Args),
    /// The next contact for one account of a dataset (channel, local and UTC send time, tone,
    /// template, value, ranked alternatives, the probability it was chosen with), as JSON.
    Recommend(recommend::Args),
    /// The inference service: score, recommend and decide eligibility over HTTP (JSON and Arrow),
    /// from the registry's current bundles. `new-key` creates an API key; `openapi` prints the
    /// API's document.
    Serve(serve::Args),
    /// The model registry: list versions, promote one, roll back.
    Models(models::Args),
    /// Train models: `risk` from a dataset of the data contract, `table` from any CSV or Parquet
    /// table with a binary target.
    #[command(subcommand)]
    Train(train::Command),
    /// The strategy lab: a simulated portfolio split into arms — champion (the static
    /// scenarios), challenger (model-driven channel, time and tone), scenario files, a
    /// no-contact control — each dunned by its own engine; KPIs with 95% intervals in
    /// report.json and report.html, a daily series in timeseries.parquet.
    Simulate(simulate::Args),
    /// Check a dataset directory against the data contract; lists every problem with file,
    /// column and row, and exits non-zero if there is any.
    Validate(validate::Args),
}

fn init_tracing(verbose: u8, json: bool) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if json {
        fmt.json().init();
    } else {
        fmt.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = matches!(&cli.command, Command::Serve(a) if a.json_logs());
    init_tracing(cli.verbose, json);
    let result = match cli.command {
        Command::Quickstart(args) => quickstart::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Train(cmd) => train::run(cmd),
        Command::Models(args) => models::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Recommend(args) => recommend::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Eligibility(args) => eligibility::run(args),
        Command::Evaluate(cmd) => evaluate::run(cmd),
        Command::Engine(cmd) => engine::run(cmd),
    };
    match result {
        Ok(code) => code,
        // A reader that stopped reading (`forbear … | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks (unique names, valid defaults) over every subcommand.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
