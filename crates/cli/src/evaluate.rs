//! `forbear evaluate …`: judging a strategy before it goes live.

use anyhow::{Context, Result, bail};
use forbear_train::card::write_file_atomic;
use forbear_train::uplift::{Propensity, UpliftOptions, evaluate_uplift};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Learn whom to treat from a randomised experiment (one response model per arm, fitted on a
    /// stratified 70%) and estimate the learned policy's value on the other 30% by IPS, SNIPS and
    /// doubly robust, next to every single arm's value. Writes DIR/evaluation.json.
    Uplift(UpliftArgs),
    /// Judge the recommender by the simulator's truth: on a fresh simulated history, at every
    /// decision of the logging policy on an overdue account in the last --days days, the true
    /// value of the logging policy's action, the recommender's, and an oracle's.
    Truth(TruthArgs),
    /// Estimate a strategy's value from logged history before it goes live: IPS, self-normalised
    /// IPS and doubly robust with bootstrap 95% intervals, next to the logging policy's observed
    /// value, with the effective sample size. Writes DIR/evaluation.json.
    Policy(PolicyArgs),
}

#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// Dataset directory with the logged contacts (validated first).
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    strategy: crate::strategy::StrategyArgs,
    /// First decision day evaluated (default: two months into the history).
    #[arg(long)]
    from: Option<chrono::NaiveDate>,
    /// Last decision day evaluated (default: the last with its 7-day outcome observed).
    #[arg(long)]
    to: Option<chrono::NaiveDate>,
    /// Clip importance weights at this value (default: no clipping).
    #[arg(long)]
    clip: Option<f64>,
    /// Bootstrap replicates.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(100..=100_000))]
    replicates: u64,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct TruthArgs {
    /// Response bundle (from `forbear train response`).
    #[arg(long)]
    response: PathBuf,
    /// Strategy configuration (default: the one shipped in models/strategy.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Accounts simulated.
    #[arg(long, default_value_t = 5_000)]
    accounts: u64,
    /// Days evaluated.
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Seed of the fresh history (use one the models were not trained on).
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Repeat on this many fresh histories (seeds seed, seed+1, …) and report how often the
    /// doubly-robust interval covers the truth.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    seeds: u64,
    /// Judge the policy with its configured exploration (default: greedy).
    #[arg(long)]
    with_exploration: bool,
    /// Write the report as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct UpliftArgs {
    /// The experiment: CSV or Parquet, one row per customer.
    #[arg(long)]
    input: PathBuf,
    /// Column naming each row's arm.
    #[arg(long)]
    treatment: String,
    /// Outcome column: 0/1 or a non-negative amount.
    #[arg(long)]
    outcome: String,
    /// The arm that is no treatment (reported as such).
    #[arg(long)]
    control: Option<String>,
    /// Cost of an arm in units of the outcome, as ARM=COST; repeat per arm (others cost 0).
    #[arg(long = "cost", value_name = "ARM=COST")]
    costs: Vec<String>,
    /// Propensities: ARM=P (repeat per arm) or the name of a column holding each row's
    /// probability; estimated from the arms' shares when absent.
    #[arg(long = "propensity", value_name = "ARM=P|COLUMN")]
    propensity: Vec<String>,
    /// Columns never to use as features.
    #[arg(long)]
    drop: Vec<String>,
    /// Columns to use even though they differ between arms (normally a sign of an outcome).
    #[arg(long)]
    keep: Vec<String>,
    /// Share of rows held out for evaluation.
    #[arg(long, default_value_t = 0.3)]
    holdout: f64,
    /// Seed of the split and the bootstrap.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Bootstrap replicates.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=100_000))]
    replicates: u64,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

/// Splits `ARM=VALUE` at its last `=` and parses the number.
fn arm_value(flag: &str, s: &str) -> Result<(String, f64)> {
    let (arm, v) = s
        .rsplit_once('=')
        .with_context(|| format!("{flag} {s:?}: expected ARM=NUMBER"))?;
    let v: f64 = v
        .trim()
        .parse()
        .with_context(|| format!("{flag} {s:?}: {v:?} is not a number"))?;
    if !v.is_finite() {
        bail!("{flag} {s:?}: {v} is not a finite number");
    }
    Ok((arm.trim().to_owned(), v))
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Uplift(a) => uplift(a),
        Command::Truth(a) => truth(a),
        Command::Policy(a) => policy(a),
    }
}

fn policy(a: PolicyArgs) -> Result<ExitCode> {
    use forbear_train::policy_eval::{PolicyEvalOptions, evaluate_policy};
    if let Some(c) = a.clip
        && (c.is_nan() || c < 1.0)
    {
        bail!("--clip {c} must be at least 1");
    }
    let rec = a.strategy.recommender(false)?;
    let opts = PolicyEvalOptions {
        from: a.from,
        to: a.to,
        ope: forbear_strategy::OpeConfig {
            replicates: a.replicates as usize,
            seed: a.seed,
            clip: a.clip.unwrap_or(f64::INFINITY),
            ..forbear_strategy::OpeConfig::default()
        },
    };
    let started = std::time::Instant::now();
    let r = evaluate_policy(&a.data, &rec, &opts)?;
    let path = a.out.join("evaluation.json");
    write_file_atomic(&path, serde_json::to_string_pretty(&r)?.as_bytes())?;
    let e = &r.estimates;
    println!(
        "{} logged decisions, {} to {}; models {} ({:.1}s)",
        e.n,
        r.period.0,
        r.period.1,
        r.model_version,
        started.elapsed().as_secs_f64()
    );
    println!("value per decision, {}:", r.unit);
    for (name, x) in [
        ("logging policy (observed)", &e.logged),
        ("evaluated policy, IPS", &e.ips),
        ("evaluated policy, SNIPS", &e.snips),
        ("evaluated policy, DR", &e.dr),
        ("evaluated policy, model only", &e.direct),
    ] {
        println!(
            "  {name:<27} {:>10.1}  [{:.1}, {:.1}]",
            x.value, x.ci_low, x.ci_high
        );
    }
    println!(
        "effective sample size {:.0}; the evaluated policy prefers no contact at {:.1}% of decisions and cannot take {:.1}% of the logged actions",
        e.effective_sample_size,
        100.0 * r.prefers_no_contact,
        100.0 * r.logged_action_unavailable
    );
    for w in &e.warnings {
        println!("warning: {w}");
    }
    println!("written: {}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn truth(a: TruthArgs) -> Result<ExitCode> {
    use forbear_strategy::config::ExplorationMode;
    use forbear_strategy::{Recommender, ResponseBundle, StrategyConfig};
    let mut config = match &a.config {
        Some(p) => StrategyConfig::load(p)?,
        None => StrategyConfig::default(),
    };
    if !a.with_exploration {
        config.exploration.mode = ExplorationMode::None;
    }
    let model = ResponseBundle::load(&a.response)?;
    let rec = Recommender::new(config, std::sync::Arc::new(model));
    let mut reports = Vec::new();
    for seed in a.seed..a.seed + a.seeds {
        let cfg = forbear_lab::TruthEvalConfig {
            accounts: a.accounts,
            eval_days: a.days,
            seed,
            ..forbear_lab::TruthEvalConfig::default()
        };
        let started = std::time::Instant::now();
        let r = forbear_lab::evaluate_against_truth(&cfg, &rec);
        report_truth(&r, started);
        reports.push(r);
    }
    if a.seeds > 1 {
        let covered = reports
            .iter()
            .filter(|r| r.dr_covers_truth == Some(true))
            .count();
        let capture: Vec<f64> = reports.iter().map(|r| r.captured_net).collect();
        println!(
            "over {} seeds: the doubly-robust interval covers the true value {covered} times; captured share of the oracle's gain {:.1}% on average (min {:.1}%, max {:.1}%)",
            a.seeds,
            100.0 * capture.iter().sum::<f64>() / capture.len() as f64,
            100.0 * capture.iter().copied().fold(f64::INFINITY, f64::min),
            100.0 * capture.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
    }
    if let Some(out) = &a.out {
        write_file_atomic(out, serde_json::to_string_pretty(&reports)?.as_bytes())?;
        println!("written: {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn report_truth(r: &forbear_lab::TruthReport, started: std::time::Instant) {
    println!(
        "{} decisions of the logging policy on overdue accounts, {} to {} ({} accounts, seed {}; {:.1}s)",
        r.decisions,
        r.from,
        r.to,
        r.accounts,
        r.seed,
        started.elapsed().as_secs_f64()
    );
    println!("true value over doing nothing, base-currency minor units (EUR cents by default):");
    println!(
        "  {:<12} {:>14} {:>14} {:>12} {:>10} {:>10}",
        "policy", "net collected", "objective", "complaints", "contacts", "violations"
    );
    for (name, t) in [
        ("logging", &r.logging),
        ("recommender", &r.learned),
        ("oracle", &r.oracle),
    ] {
        println!(
            "  {:<12} {:>14.0} {:>14.0} {:>12.2} {:>10} {:>10}",
            name, t.net_collected, t.objective, t.complaints, t.contacts, t.violations
        );
    }
    for (name, t) in [
        ("logging", &r.logging),
        ("recommender", &r.learned),
        ("oracle", &r.oracle),
    ] {
        println!(
            "  {name:<12} channels {:?} tones {:?} windows {:?}",
            t.by_channel, t.by_tone, t.by_window
        );
    }
    println!(
        "the recommender captures {:.1}% of the oracle's gain over the logging policy in net collected ({:.1}% of the objective); it left {} decisions alone (oracle: {})",
        100.0 * r.captured_net,
        100.0 * r.captured_objective,
        r.learned_no_contact,
        r.oracle_no_contact
    );
    if let Some(o) = &r.ope {
        println!(
            "off-policy, from the {} logged contacts: true value {:.1} per decision; DR {:.1} [{:.1}, {:.1}] ({}), direct method {:.1}, SNIPS {:.1} [{:.1}, {:.1}], IPS {:.1}; logging policy observed {:.1}; effective sample size {:.0}",
            o.n,
            r.true_value_per_decision,
            o.dr.value,
            o.dr.ci_low,
            o.dr.ci_high,
            if r.dr_covers_truth == Some(true) {
                "covers"
            } else {
                "misses"
            },
            o.direct.value,
            o.snips.value,
            o.snips.ci_low,
            o.snips.ci_high,
            o.ips.value,
            o.logged.value,
            o.effective_sample_size
        );
    }
}

fn uplift(a: UpliftArgs) -> Result<ExitCode> {
    if !(a.holdout > 0.0 && a.holdout < 1.0) {
        bail!("--holdout {} must be between 0 and 1", a.holdout);
    }
    let mut opts = UpliftOptions::new(&a.treatment, &a.outcome);
    opts.control = a.control;
    opts.costs = a
        .costs
        .iter()
        .map(|c| arm_value("--cost", c))
        .collect::<Result<_>>()?;
    opts.propensity = match a.propensity.as_slice() {
        [] => Propensity::FromShares,
        [one] if !one.contains('=') => Propensity::Column(one.clone()),
        many => Propensity::PerArm(
            many.iter()
                .map(|p| arm_value("--propensity", p))
                .collect::<Result<_>>()?,
        ),
    };
    opts.drop = a.drop;
    opts.keep = a.keep;
    opts.holdout = a.holdout;
    opts.seed = a.seed;
    opts.replicates = a.replicates as usize;
    let table = forbear_data::read_table(&a.input)?;
    let r = evaluate_uplift(&table, &opts)?;
    let path = a.out.join("evaluation.json");
    write_file_atomic(&path, serde_json::to_string_pretty(&r)?.as_bytes())?;
    println!(
        "{} rows: {} to train, {} held out; features: {}",
        r.train_rows + r.test_rows,
        r.train_rows,
        r.test_rows,
        r.features.join(", ")
    );
    for s in &r.set_aside {
        println!("  set aside {}: {}", s.column, s.reason);
    }
    println!(
        "\nvalue of {} net of cost, on the held-out rows (95% CI):",
        r.outcome
    );
    for arm in &r.arms {
        println!(
            "  always {:<24} {:>8.4}  [{:.4}, {:.4}]  n={}  (policy gives it to {:.1}%)",
            arm.name,
            arm.value,
            arm.ci_low,
            arm.ci_high,
            arm.n,
            100.0 * arm.policy_share
        );
    }
    let p = &r.learned_policy;
    for (name, e) in [("IPS", &p.ips), ("SNIPS", &p.snips), ("DR", &p.dr)] {
        println!(
            "  learned policy, {name:<5}          {:>8.4}  [{:.4}, {:.4}]",
            e.value, e.ci_low, e.ci_high
        );
    }
    let m = &p.margin_over_best_arm;
    println!(
        "\nlearned policy (SNIPS) − always {}: {:+.4} [{:+.4}, {:+.4}]; effective sample size {:.0}",
        r.best_arm.name, m.value, m.ci_low, m.ci_high, p.effective_sample_size
    );
    if let Some(t) = &r.segment_rule {
        println!(
            "segment rule (policy tree, not applied; cross-validated {:.4} against {:.4} per customer): {}",
            t.cv_snips, t.cv_snips_per_customer, t.rule
        );
    }
    for w in &p.warnings {
        println!("warning: {w}");
    }
    println!("written: {}", path.display());
    Ok(ExitCode::SUCCESS)
}
