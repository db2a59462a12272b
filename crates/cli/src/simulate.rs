//! `forbear simulate`: the strategy lab — a simulated portfolio split into arms (champion,
//! challenger, optional scenario files and a no-contact control), each dunned by its own
//! engine on its own store, measured per arm with bootstrap intervals; the report, the daily
//! series and the engines' stores are published together in one rename.

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use forbear_core::rules::ContactRules;
use forbear_engine::{Engine, Recommender, RuleOfThumb, ScenarioSet, Templates};
use forbear_lab::simulate::{ArmSetup, LabConfig, LabOutcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accounts in the portfolio.
    #[arg(long, default_value_t = 20_000)]
    pub accounts: u64,
    /// Days to live through.
    #[arg(long, default_value_t = 120)]
    pub days: u32,
    /// Seed of the customers, the split into arms and the bootstrap.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write report.json, report.html, timeseries.parquet and the arms' engine
    /// stores (replaced as a whole when the run finishes; nothing is written on failure).
    #[arg(long, default_value = "out/simulate")]
    pub out: PathBuf,
    /// First day of the experiment.
    #[arg(long, default_value = "2026-01-01")]
    pub start: NaiveDate,
    /// Days every arm lives under the champion before the experiment starts, so accounts
    /// come in with a history (open debts, cases, promises) that the KPIs are adjusted for.
    #[arg(long, default_value_t = 30)]
    pub warmup_days: u32,
    /// Scenario set the arms are built from (default: the built-in scenarios).
    #[arg(long)]
    pub scenarios: Option<PathBuf>,
    /// An extra arm: NAME=FILE, a scenario file run with the model recommender (repeatable).
    #[arg(long = "arm", value_name = "NAME=FILE")]
    pub arms: Vec<String>,
    /// Add a no-contact control arm.
    #[arg(long)]
    pub no_contact: bool,
    /// Add an `oracle` arm: the challenger's steps with each contact's channel, time and tone
    /// chosen by the simulator's truth among the recommender's options — what a perfect
    /// response model would earn, the upper bound of the challenger.
    #[arg(long)]
    pub oracle: bool,
    /// Shares of the accounts per arm, NAME=WEIGHT,… (default: equal shares).
    #[arg(long, value_name = "NAME=WEIGHT,…")]
    pub split: Option<String>,
    /// The engines' store: SQLite files in OUT/engine (default), or postgres://… (each arm in
    /// its own schema, `<schema>_<arm>`, which must be empty).
    #[arg(long)]
    pub store: Option<String>,
    /// Ask a running `forbear serve` for the challenger's recommendations (its API key in
    /// FORBEAR_SERVICE_KEY) instead of the response models in process.
    #[arg(long, value_name = "URL")]
    pub service: Option<String>,
    /// Write an arm's own history (warm-up included; each contact with its policy and
    /// propensity) as a dataset of the contract in OUT/data/ARM, ready for `forbear train
    /// response --data` — retraining on the challenger's decision log (repeatable).
    #[arg(long = "export", value_name = "ARM")]
    pub export: Vec<String>,
    /// Bootstrap resamples for the intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: u32,
    /// Risk model that gives the engines their accounts' risk bands, scored on each bill day
    /// (default: the registry's current `risk` version under --models, if there is one).
    #[arg(long, value_name = "DIR", conflicts_with = "no_risk")]
    pub risk: Option<PathBuf>,
    /// No risk bands: scenario steps for bands (the pre-due nudges) never run.
    #[arg(long)]
    pub no_risk: bool,
    #[command(flatten)]
    pub strategy: crate::strategy::StrategyArgs,
}

fn arm_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 40
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The shares of `names` from `--split`.
fn shares(names: &[String], split: Option<&str>) -> Result<Vec<f64>> {
    let Some(split) = split else {
        return Ok(vec![1.0; names.len()]);
    };
    let mut out = vec![None; names.len()];
    for part in split.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, w)) = part.split_once('=') else {
            bail!("--split: {part:?} is not NAME=WEIGHT");
        };
        let k = names
            .iter()
            .position(|n| n == name.trim())
            .with_context(|| {
                format!(
                    "--split: no arm named {name:?} (arms: {})",
                    names.join(", ")
                )
            })?;
        let w: f64 = w
            .trim()
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite() && *w > 0.0)
            .with_context(|| {
                format!("--split: weight of {name} must be a number > 0, got {w:?}")
            })?;
        out[k] = Some(w);
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&out)
        .filter(|(_, w)| w.is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    if !missing.is_empty() {
        bail!("--split gives no weight to {}", missing.join(", "));
    }
    let w: Vec<f64> = out.into_iter().flatten().collect();
    if w.iter().sum::<f64>() <= 0.0 {
        bail!("--split: the weights sum to zero");
    }
    Ok(w)
}

/// The store URL of one arm.
fn store_url(store: Option<&str>, staging: &Path, arm: &str) -> Result<String> {
    match store {
        None => Ok(format!(
            "sqlite://{}",
            staging.join("engine").join(format!("{arm}.db")).display()
        )),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let (base, query) = url.split_once('?').unwrap_or((url, ""));
            let mut schema = "forbear_lab".to_string();
            let mut rest = Vec::new();
            for kv in query.split('&').filter(|s| !s.is_empty()) {
                match kv.strip_prefix("schema=") {
                    Some(s) => schema = s.to_string(),
                    None => rest.push(kv.to_string()),
                }
            }
            rest.push(format!("schema={schema}_{}", arm.replace('-', "_")));
            Ok(format!("{base}?{}", rest.join("&")))
        }
        Some(other) => bail!(
            "--store must be postgres://… (or left out for SQLite files in the output directory), not {other:?}"
        ),
    }
}

/// The run's pieces, checked before anything is simulated.
pub struct Plan {
    pub config: LabConfig,
    pub warmup: Engine,
    pub arms: Vec<ArmSetup>,
    pub staging: PathBuf,
}

/// The run of `args`; `models` replaces the recommender of the modelled arms (the quickstart's
/// freshly trained models).
pub fn prepare(args: &Args, models: Option<Arc<dyn Recommender>>) -> Result<Plan> {
    if args.accounts == 0 || args.days == 0 {
        bail!("--accounts and --days must be at least 1");
    }
    if args.bootstrap < 10 {
        bail!("--bootstrap must be at least 10");
    }
    let base = match &args.scenarios {
        Some(p) => ScenarioSet::load(p)?,
        None => ScenarioSet::builtin()?,
    };
    let champion = forbear_lab::arms::champion(&base);
    // Arms and who recommends their contacts.
    enum By {
        Rules,
        Models,
        Truth,
    }
    let mut sets: Vec<(String, ScenarioSet, By)> = vec![
        ("champion".into(), champion.clone(), By::Rules),
        (
            "challenger".into(),
            forbear_lab::arms::challenger(&champion),
            By::Models,
        ),
    ];
    for spec in &args.arms {
        let Some((name, file)) = spec.split_once('=') else {
            bail!("--arm {spec:?}: expected NAME=FILE");
        };
        if !arm_name_ok(name) {
            bail!("--arm {spec:?}: the name must be 1-40 lower-case letters, digits, - or _");
        }
        if sets.iter().any(|(n, ..)| n == name) || name == "no-contact" || name == "oracle" {
            bail!("--arm {spec:?}: an arm named {name} exists already");
        }
        let set = ScenarioSet::load(Path::new(file))?;
        sets.push((name.to_string(), set, By::Models));
    }
    if args.oracle {
        sets.push((
            "oracle".into(),
            forbear_lab::arms::challenger(&champion),
            By::Truth,
        ));
    }
    if args.no_contact {
        sets.push((
            "no-contact".into(),
            forbear_lab::arms::no_contact(&champion),
            By::Rules,
        ));
    }
    let names: Vec<String> = sets.iter().map(|s| s.0.clone()).collect();
    if let Some(x) = args.export.iter().find(|x| !names.contains(x)) {
        bail!("--export {x}: no such arm (arms: {})", names.join(", "));
    }
    let shares = shares(&names, args.split.as_deref())?;
    let strategy_config = args.strategy.config()?;
    let rules: ContactRules = strategy_config.rules.clone();
    let models: Arc<dyn Recommender> = match (models, &args.service) {
        (Some(m), _) => m,
        (None, Some(url)) => crate::engine::service_recommender(url)?,
        (None, None) => crate::engine::model_recommender(&args.strategy)
            .context("the challenger's response models")?,
    };
    let parent = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let file = args
        .out
        .file_name()
        .with_context(|| format!("--out {} names no directory", args.out.display()))?;
    let staging = parent.join(format!(".{}.partial", file.to_string_lossy()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    std::fs::create_dir_all(staging.join("engine"))
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let templates = Templates::builtin()?;
    let warmup = Engine::new(
        champion.clone(),
        rules.clone(),
        templates.clone(),
        Arc::new(RuleOfThumb),
    );
    let mut arms = Vec::new();
    for ((name, set, by), share) in sets.into_iter().zip(shares) {
        let url = store_url(args.store.as_deref(), &staging, &name)?;
        let store = forbear_store::open(&url).with_context(|| format!("arm {name}: {url}"))?;
        // The champion's contacts are fixed by its steps; a `recommend` step of its (the
        // forbearance check-in) gets the rule of thumb, as before any model.
        let (recommender, truth): (Arc<dyn Recommender>, _) = match by {
            By::Rules => (Arc::new(RuleOfThumb), None),
            By::Models => (Arc::clone(&models), None),
            By::Truth => {
                // The options are the in-process recommender's, whatever serves the challenger.
                let options = forbear_engine::recommend::ModelRecommender::new(
                    args.strategy
                        .recommender(true)
                        .context("the oracle's options")?,
                    args.strategy.version(),
                );
                let oracle = Arc::new(forbear_lab::oracle::TruthOracle::new(options));
                (Arc::clone(&oracle) as Arc<dyn Recommender>, Some(oracle))
            }
        };
        let engine = Engine::new(set, rules.clone(), templates.clone(), recommender);
        arms.push(ArmSetup {
            name,
            share,
            engine,
            store,
            truth,
        });
    }
    Ok(Plan {
        warmup,
        config: LabConfig {
            accounts: args.accounts,
            days: args.days,
            seed: args.seed,
            start: args.start,
            warmup_days: args.warmup_days,
            bootstrap: args.bootstrap,
            export: args.export.clone(),
            strategy: strategy_config,
            risk: risk_model(args)?,
        },
        arms,
        staging,
    })
}

/// The risk model of `--risk`, or the registry's current one (none with `--no-risk`, or when
/// the registry has none).
fn risk_model(args: &Args) -> Result<Option<Arc<forbear_models::Bundle>>> {
    if args.no_risk {
        return Ok(None);
    }
    let bundle = match &args.risk {
        Some(dir) => forbear_models::Bundle::load(dir)
            .with_context(|| format!("--risk {}", dir.display()))?,
        None => {
            let reg = forbear_models::Registry::new(&args.strategy.models);
            if reg.current("risk")?.is_none() {
                tracing::warn!(
                    models = %args.strategy.models.display(),
                    "no current risk model: no account gets a risk band, steps for bands will not run"
                );
                return Ok(None);
            }
            reg.load_current("risk")?.1
        }
    };
    forbear_lab::risk::check(&bundle).map_err(|e| anyhow::anyhow!("--risk: {e}"))?;
    tracing::info!(model = %bundle.name, "risk bands from the risk model, scored on each bill day");
    Ok(Some(Arc::new(bundle)))
}

/// Runs the lab with a progress bar; the outputs are in the staging directory.
pub fn simulate(plan: Plan) -> Result<(LabOutcome, PathBuf)> {
    let Plan {
        config,
        warmup,
        arms,
        staging,
    } = plan;
    let names: Vec<String> = arms.iter().map(|a| a.name.clone()).collect();
    let total = u64::from(config.days + config.warmup_days) * arms.len() as u64;
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} arm-days, {elapsed} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!(
        "{} accounts × {} days, arms {}",
        config.accounts,
        config.days,
        names.join(", ")
    ));
    let result = forbear_lab::simulate::run(&config, &warmup, arms, &|_, _| bar.inc(1));
    bar.finish_and_clear();
    match result {
        Ok(outcome) => Ok((outcome, staging)),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e.into())
        }
    }
}

/// Writes the report, series and HTML into `staging`, then publishes it as `out`.
pub fn publish(outcome: &LabOutcome, staging: &Path, out: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(&outcome.report)?;
    std::fs::write(staging.join("report.json"), json)?;
    let mut w = forbear_data::TableWriter::<forbear_data::LabDay>::create_as(
        staging,
        "timeseries.parquet",
    )?;
    for row in &outcome.series {
        w.push(row.clone())?;
    }
    w.finish()?;
    std::fs::write(
        staging.join("report.html"),
        forbear_lab::report_html::render(&outcome.report, &outcome.series),
    )?;
    for (arm, histories) in &outcome.exports {
        let name = |d: &forbear_sim::policy::Decision| -> std::borrow::Cow<'static, str> {
            // Warm-up contacts were the champion's, whatever the arm.
            if d.is_default {
                "forbear-lab:champion".into()
            } else {
                format!("forbear-lab:{arm}").into()
            }
        };
        let dir = staging.join("data").join(arm);
        let counts = forbear_sim::generate::write_histories(&dir, histories, &name, true)
            .with_context(|| format!("writing arm {arm}'s history"))?;
        tracing::info!(arm = %arm, contacts = counts.contacts, "history exported");
    }
    if out.exists() {
        std::fs::remove_dir_all(out)
            .with_context(|| format!("cannot replace {}", out.display()))?;
    }
    std::fs::rename(staging, out)
        .with_context(|| format!("cannot move {} to {}", staging.display(), out.display()))?;
    Ok(())
}

/// The headline: the challenger against the champion.
pub fn headline(outcome: &LabOutcome, out: &Path) -> String {
    let r = &outcome.report;
    let find = |kpi: &str| {
        r.comparisons
            .iter()
            .find(|c| c.arm == "challenger" && c.kpi == kpi)
    };
    let violations: u64 = r.arms.iter().map(|a| a.totals.violations).sum();
    // A comparison's relative change and its interval, in percent with `d` decimals.
    let pct = |c: &forbear_lab::simulate::Comparison, d: usize| {
        let e = &c.relative;
        (
            format!("{:+.d$}%", 100.0 * e.value),
            format!(
                "(95% CI {:+.d$}% to {:+.d$}%)",
                100.0 * e.ci_low,
                100.0 * e.ci_high
            ),
        )
    };
    let mut s = String::from("model-driven strategy (challenger against champion): ");
    if let Some(c) = find("net_collected") {
        let (v, ci) = pct(c, 1);
        s.push_str(&format!("{v} collected net of contact cost {ci}"));
    }
    if let Some(c) = find("complaints") {
        let (v, ci) = pct(c, 0);
        s.push_str(&format!(", {v} complaints {ci}"));
    }
    s.push_str(&format!(
        ", {violations} rule violations; report: {}",
        out.join("report.html").display()
    ));
    s
}

pub fn run(args: Args) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let plan = prepare(&args, None)?;
    let (outcome, staging) = simulate(plan)?;
    publish(&outcome, &staging, &args.out)?;
    for a in &outcome.report.arms {
        let k = |n: &str| a.kpis.get(n).map_or(f64::NAN, |e| e.value);
        println!(
            "{:<12} {:>6} accounts: collected {:.2}, net {:.2}, contact cost {:.2} per account; cure rate {:.1}%, complaints {:.1}, violations {:.1} per 1,000",
            a.name,
            a.accounts,
            k("collected"),
            k("net_collected"),
            k("contact_cost"),
            100.0 * k("cure_rate"),
            k("complaints"),
            k("violations"),
        );
    }
    println!("{}", headline(&outcome, &args.out));
    println!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}
