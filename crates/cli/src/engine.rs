//! `forbear engine`: the dunning engine from the command line — load events, advance the clock,
//! show an account's timeline and case, check and compare scenario sets, act on an account.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use forbear_core::AccountId;
use forbear_core::rules::ContactRules;
use forbear_engine::request::Action;
use forbear_engine::{Engine, Recommender, RuleOfThumb, ScenarioSet, Store, Templates};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// The response models of `strategy` as the engine's recommender, in process.
pub fn model_recommender(strategy: &crate::strategy::StrategyArgs) -> Result<Arc<dyn Recommender>> {
    Ok(Arc::new(forbear_engine::recommend::ModelRecommender::new(
        strategy.recommender(false)?,
        strategy.version(),
    )))
}

/// A running `forbear serve` at `url` as the engine's recommender (its API key in
/// FORBEAR_SERVICE_KEY).
pub fn service_recommender(url: &str) -> Result<Arc<dyn Recommender>> {
    let key = std::env::var("FORBEAR_SERVICE_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    Ok(Arc::new(
        forbear_daemon::service::ServiceRecommender::new(url, key).map_err(anyhow::Error::msg)?,
    ))
}

/// The store and engine settings shared by the subcommands.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Store URL: sqlite://PATH (default: forbear-engine.db in the working directory) or
    /// postgres://USER@HOST:PORT/DB[?schema=NAME].
    #[arg(long, env = "FORBEAR_STORE", default_value = forbear_store::DEFAULT_URL)]
    store: String,
}

/// Scenarios, templates and the recommender.
#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    /// Scenario file (default: the built-in scenarios; see `forbear engine scenarios show`).
    #[arg(long, env = "FORBEAR_SCENARIOS")]
    scenarios: Option<PathBuf>,
    /// Message templates (default: the built-in ones).
    #[arg(long)]
    templates: Option<PathBuf>,
    /// Who picks channel, time and tone for `recommend` steps: `models` (the registry's
    /// response models and strategy, in process), `rules` (a fixed rule of thumb), or the URL
    /// of a running `forbear serve` (its API key in FORBEAR_SERVICE_KEY).
    #[arg(long, default_value = "models")]
    recommender: String,
    #[command(flatten)]
    strategy: crate::strategy::StrategyArgs,
}

impl EngineArgs {
    pub fn scenario_set(&self) -> Result<ScenarioSet> {
        Ok(match &self.scenarios {
            Some(p) => ScenarioSet::load(p)?,
            None => ScenarioSet::builtin()?,
        })
    }

    pub fn engine(&self) -> Result<Engine> {
        let templates = match &self.templates {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                Templates::parse(&p.display().to_string(), &text)?
            }
            None => Templates::builtin()?,
        };
        let recommender: Arc<dyn Recommender> = match self.recommender.as_str() {
            "rules" => Arc::new(RuleOfThumb),
            "models" => match model_recommender(&self.strategy) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("no response models ({e:#}); the rule of thumb picks contacts");
                    Arc::new(RuleOfThumb)
                }
            },
            url if url.starts_with("http://") || url.starts_with("https://") => {
                service_recommender(url)?
            }
            other => bail!(
                "--recommender must be models, rules or the service's URL (http://…), not {other:?}"
            ),
        };
        Ok(Engine::new(
            self.scenario_set()?,
            ContactRules::default(),
            templates,
            recommender,
        ))
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Load events: a dataset directory of the data contract, an .ndjson/.jsonl event file or a
    /// .parquet event file. Idempotent by event id; checked in full before anything is written.
    Ingest {
        #[command(flatten)]
        store: StoreArgs,
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Events per transaction.
        #[arg(long, default_value_t = 20_000)]
        chunk: usize,
    },
    /// Advance the engine's clock to a date (local midnight UTC of the day after, i.e. the whole
    /// day) or an instant, executing everything that falls due; prints what was done and what
    /// the contact rules blocked.
    Tick {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        engine: EngineArgs,
        /// The date (YYYY-MM-DD: through the end of that UTC day) or instant (RFC 3339).
        #[arg(long)]
        until: String,
        /// Accounts per transaction.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// After the tick, deliver the outbox's effects due by --until to these webhooks (TOML:
        /// endpoints.<target> = URL, default = URL, secret = …).
        #[arg(long)]
        webhooks: Option<PathBuf>,
    },
    /// An account's timeline: every event, decision, action and reversal, with the reason.
    Timeline {
        #[command(flatten)]
        store: StoreArgs,
        /// The account.
        account: i64,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// An account's case file (invoices, payments, contacts, disputes, promises, plans,
    /// hardship, measures) as JSON, or as an HTML document to print with --html.
    CaseFile {
        #[command(flatten)]
        store: StoreArgs,
        /// The account.
        account: i64,
        /// HTML instead of JSON.
        #[arg(long)]
        html: bool,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A team's work queue (`all` for every team): open call-backs, disputes and reviews due
    /// by the engine's clock, with the customer's local time, tone and talking points.
    Queue {
        #[command(flatten)]
        store: StoreArgs,
        /// The team.
        team: String,
        /// At most this many items.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// The case report of the store: disputes and bad debt, promises, plans, hardship and
    /// holds, grants, agency and lawyer performance.
    Report {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        engine: EngineArgs,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// An account's case: scenario in force, steps done, measures in force, money position.
    Case {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        engine: EngineArgs,
        /// The account.
        account: i64,
    },
    /// An action on an account, checked against the case policy before it is stored: `pause`,
    /// `resume`, `assign` (with --scenario), or any action of the engine API as JSON with
    /// --json (promise, plan, dispute, resolve_dispute, grant, hardship, end_hardship,
    /// statutory_hold, outcome; see the README).
    Act {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        engine: EngineArgs,
        /// The account.
        account: i64,
        /// `pause`, `resume` or `assign` (without --json).
        action: Option<String>,
        /// Who acts (recorded on the timeline).
        #[arg(long)]
        by: Option<String>,
        /// Why (pause, grant).
        #[arg(long, default_value = "")]
        reason: String,
        /// Scenario (assign).
        #[arg(long)]
        scenario: Option<String>,
        /// The action as the API's JSON, e.g. '{"action":"promise","by":"agent:jo","amount_minor":5000,"due_on":"2026-12-10"}'.
        #[arg(long, conflicts_with_all = ["action", "scenario"])]
        json: Option<String>,
    },
    /// The engine as a daemon: the scheduler on the wall (or a simulated) clock, webhook
    /// delivery of the outbox, scenario reload when the file changes, and the HTTP API.
    Run(Box<RunArgs>),
    /// Scenario sets as code: `check` a file, `show` the built-in one, `diff` which accounts
    /// would change scenario, `dry-run` which accounts would be treated differently.
    #[command(subcommand)]
    Scenarios(ScenariosCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum ScenariosCommand {
    /// Validate a scenario file; every problem with file, line, column and key.
    Check {
        /// The file.
        file: PathBuf,
    },
    /// Print the built-in scenario file (a starting point for your own).
    Show,
    /// Accounts whose scenario would change under FILE (against --scenarios or the built-in).
    Diff {
        /// The new scenario file.
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Run the portfolio forward on a copy to --until under both sets and list the accounts
    /// whose actions would differ. The store is not changed.
    DryRun {
        /// The new scenario file.
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        engine: EngineArgs,
        /// How far to run.
        #[arg(long)]
        until: String,
        /// Accounts to list (all are compared).
        #[arg(long, default_value_t = 20)]
        show: usize,
    },
}

/// `YYYY-MM-DD` (through the end of that UTC day) or an RFC 3339 instant.
pub fn parse_until(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(d) = s.parse::<NaiveDate>() {
        let next = d.succ_opt().context("date out of range")?;
        return Ok(next.and_time(NaiveTime::MIN).and_utc() - chrono::Duration::microseconds(1));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .with_context(|| format!("--until {s:?}: expected YYYY-MM-DD or an RFC 3339 instant"))
}

fn open(store: &StoreArgs) -> Result<Box<dyn Store>> {
    forbear_store::open(&store.store).with_context(|| format!("opening the store {}", store.store))
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Ingest {
            store,
            paths,
            chunk,
        } => {
            let mut s = open(&store)?;
            for p in paths {
                let started = Instant::now();
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_message(format!("{}", p.display()));
                let r = forbear_store::import::import(s.as_mut(), &p, chunk, &mut |n| {
                    bar.set_message(format!("{}: {n} events", p.display()));
                    bar.tick();
                })?;
                bar.finish_and_clear();
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "{}: {} events stored, {} already known, in {secs:.1}s ({:.0} events/s)",
                    p.display(),
                    r.stored,
                    r.duplicates,
                    (r.stored + r.duplicates) as f64 / secs.max(1e-9)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tick {
            store,
            engine,
            until,
            batch,
            json,
            webhooks,
        } => {
            let until = parse_until(&until)?;
            let e = engine.engine()?;
            let sender = webhooks.as_deref().map(sender).transpose()?;
            let mut s = open(&store)?;
            let started = Instant::now();
            let bar = indicatif::ProgressBar::new_spinner();
            let summary = e.tick(s.as_mut(), until, batch, &mut |p| {
                bar.set_message(format!(
                    "{} evaluations, {} effects",
                    p.evaluations, p.effects
                ));
                bar.tick();
            })?;
            bar.finish_and_clear();
            let secs = started.elapsed().as_secs_f64();
            let delivered = match &sender {
                Some(snd) => {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    Some(snd.drain(&rt, s.as_mut(), until)?)
                }
                None => None,
            };
            if let Some(d) = delivered {
                eprintln!(
                    "delivered {} effects ({} failed attempts, retried later)",
                    d.delivered, d.failed
                );
            }
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "until": until,
                        "seconds": secs,
                        "evaluations": summary.evaluations,
                        "cases_opened": summary.cases_opened,
                        "cases_closed": summary.cases_closed,
                        "cases_reopened": summary.cases_reopened,
                        "actions": summary.actions,
                        "reversals": summary.reversals,
                        "blocked": summary.blocked,
                        "skipped": summary.skipped,
                        "effects": summary.effects,
                    })
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "ticked to {until}: {} evaluations in {secs:.1}s; cases opened {}, closed {}, re-opened {}; {} effects",
                summary.evaluations,
                summary.cases_opened,
                summary.cases_closed,
                summary.cases_reopened,
                summary.effects
            );
            for (k, n) in &summary.actions {
                println!("  action    {k:<18} {n}");
            }
            for (k, n) in &summary.reversals {
                println!("  reversal  {k:<18} {n}");
            }
            for (k, n) in &summary.blocked {
                println!("  blocked   {k:<18} {n}");
            }
            if summary.skipped > 0 {
                println!("  skipped steps        {}", summary.skipped);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CaseFile {
            store,
            account,
            html,
            out,
        } => {
            let mut s = open(&store)?;
            let id = AccountId::new(account)?;
            let events = s.events(id)?;
            let at = s.clock()?.unwrap_or_else(Utc::now);
            let Some(file) = forbear_engine::casefile::case_file(&events, at) else {
                bail!(
                    "account {account}: no account_opened event in {}",
                    store.store
                );
            };
            let text = if html {
                forbear_engine::casefile::html(&file)
            } else {
                serde_json::to_string_pretty(&file)?
            };
            match out {
                Some(p) => {
                    forbear_train::card::write_file_atomic(&p, text.as_bytes())?;
                    eprintln!("case file of account {account} written to {}", p.display());
                }
                None => println!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Queue {
            store,
            team,
            limit,
            json,
        } => {
            if !(1..=1000).contains(&limit) {
                bail!("--limit is 1 to 1000, got {limit}");
            }
            let mut s = open(&store)?;
            let until = s.clock()?.unwrap_or_else(Utc::now);
            let team = (team != "all").then_some(team);
            let items = s.work_items(team.as_deref(), until, limit)?;
            let rows: Vec<serde_json::Value> = items
                .iter()
                .map(forbear_engine::OutboxItem::work_item)
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no open items due by {until}");
            } else {
                for r in &rows {
                    println!(
                        "{}  account {}  {}  {}  due {}  tone {}",
                        r["item"].as_str().unwrap_or_default(),
                        r["account"],
                        r["kind"].as_str().unwrap_or_default(),
                        r["team"].as_str().unwrap_or_default(),
                        r["due_at_local"].as_str().unwrap_or("—"),
                        r["tone"].as_str().unwrap_or("—"),
                    );
                    for p in r["talking_points"].as_array().into_iter().flatten() {
                        println!("    - {}", p.as_str().unwrap_or_default());
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            store,
            engine,
            json,
        } => {
            let set = engine.scenario_set()?;
            let e = Engine::new(
                set,
                forbear_core::rules::ContactRules::default(),
                Templates::builtin()?,
                Arc::new(RuleOfThumb),
            );
            let mut s = open(&store)?;
            let at = s.clock()?.unwrap_or_else(Utc::now);
            let r = e.report(s.as_mut(), at, &mut |n| eprintln!("  {n} accounts read"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print_report(&r);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Timeline {
            store,
            account,
            json,
        } => {
            let mut s = open(&store)?;
            let id = AccountId::new(account)?;
            let events = s.events(id)?;
            if events.is_empty() {
                bail!("account {account}: no events in {}", store.store);
            }
            let t = forbear_engine::timeline::timeline(&events);
            if json {
                println!("{}", serde_json::to_string_pretty(&t)?);
            } else {
                for e in t {
                    let local = e.local.map(|l| l.format("%Y-%m-%d %H:%M").to_string());
                    println!(
                        "{}  {:<16}  {:<8}  {}",
                        e.at.format("%Y-%m-%d %H:%M UTC"),
                        local.unwrap_or_default(),
                        e.source,
                        e.summary
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Case {
            store,
            engine,
            account,
        } => {
            let mut s = open(&store)?;
            let e = engine.engine()?;
            let id = AccountId::new(account)?;
            let at = s.clock()?;
            let state = e.state(s.as_mut(), id, at)?;
            if state.profile.is_none() {
                bail!(
                    "account {account}: no account_opened event in {}",
                    store.store
                );
            }
            let view =
                forbear_engine::view::case_view(&state, e.scenarios(), at.unwrap_or_else(Utc::now));
            println!("{}", serde_json::to_string_pretty(&view)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Act {
            store,
            engine,
            account,
            action,
            by,
            reason,
            scenario,
            json,
        } => {
            let action: Action = match (json, action) {
                (Some(j), _) => serde_json::from_str(&j).context("--json is not an action")?,
                (None, Some(a)) => {
                    let by = by.context("--by names who acts")?;
                    let v = match a.as_str() {
                        "pause" => serde_json::json!({"action": a, "by": by, "reason": reason}),
                        "resume" => serde_json::json!({"action": a, "by": by}),
                        "assign" => {
                            serde_json::json!({"action": a, "by": by, "scenario": scenario})
                        }
                        other => bail!(
                            "action must be pause, resume or assign (or --json for the others), not {other:?}"
                        ),
                    };
                    serde_json::from_value(v)?
                }
                (None, None) => bail!("name an action (pause, resume, assign) or give --json"),
            };
            let set = engine.scenario_set()?;
            let mut s = open(&store)?;
            let id = AccountId::new(account)?;
            let at = s.clock()?.unwrap_or_else(Utc::now);
            let events = s.events(id)?;
            if events.is_empty() {
                bail!("account {account}: no events in {}", store.store);
            }
            let state = forbear_engine::AccountState::replay(id, &events, Some(at));
            let p = forbear_engine::request::prepare(&state, &set, action, at)
                .map_err(|r| anyhow::anyhow!("refused: {r}"))?;
            let kind = p.event.body.kind();
            let r = s.ingest(&[p.event])?;
            if r.stored == 0 {
                bail!("account {account}: this {kind} is already recorded");
            }
            for key in &p.closes {
                s.work_done(id, key, at)?;
            }
            println!("account {account}: {kind} recorded at {at} — {}", p.detail);
            Ok(ExitCode::SUCCESS)
        }
        Command::Scenarios(c) => scenarios(c),
        Command::Run(a) => run_daemon(*a),
    }
}

fn amounts(a: &forbear_engine::report::Amounts) -> String {
    if a.is_empty() {
        return "0".into();
    }
    a.iter()
        .map(|(c, m)| match forbear_core::Currency::parse(c) {
            Ok(cur) => forbear_core::Money::new(*m, cur).to_string(),
            Err(_) => format!("{m} {c}"),
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

fn print_report(r: &forbear_engine::report::Report) {
    let d = &r.disputes;
    println!("accounts: {}", r.accounts);
    println!(
        "disputes: {} opened ({}), {} open ({}), {} upheld (credited {}), {} rejected",
        d.opened,
        amounts(&d.disputed),
        d.open,
        amounts(&d.open_amount),
        d.upheld,
        amounts(&d.credited),
        d.rejected
    );
    println!(
        "bad debt: {} accounts written off, {}",
        r.written_off,
        amounts(&r.bad_debt)
    );
    for (name, x) in [("promises", &r.promises), ("plans", &r.plans)] {
        println!(
            "{name}: {} made, {} refused, {} kept, {} broken, {} open",
            x.made, x.refused, x.kept, x.broken, x.open
        );
    }
    println!(
        "hardship: {} in force; by reason {:?}",
        r.hardship_in_force, r.hardship_by_reason
    );
    println!(
        "statutory holds: {:?}, {} refused; grants: {:?}, {} refused",
        r.holds, r.holds_refused, r.grants, r.grants_refused
    );
    for (name, a) in &r.agencies {
        println!(
            "agency {name}: placed {} ({}), recovered {} ({:.1}%, {}), open {}, mean {} days to recover, commission {}",
            a.placed,
            amounts(&a.placed_amount),
            a.recovered,
            100.0 * a.recovery_rate,
            amounts(&a.recovered_amount),
            a.open,
            a.mean_days_to_recover
                .map_or("—".into(), |d| format!("{d:.1}")),
            amounts(&a.commission)
        );
    }
    for (name, l) in &r.lawyers {
        println!(
            "lawyer {name}: referred {}, open {}, closed {}, stages {:?}, costs {}, recovered {}",
            l.referred,
            l.open,
            l.closed,
            l.stages,
            amounts(&l.costs),
            amounts(&l.recovered_amount)
        );
    }
}

fn scenarios(c: ScenariosCommand) -> Result<ExitCode> {
    match c {
        ScenariosCommand::Check { file } => match ScenarioSet::load(&file) {
            Ok(s) => {
                let steps: usize = s.scenarios.iter().map(|x| x.steps.len()).sum();
                println!(
                    "{}: valid — {} scenarios, {steps} steps, version {}",
                    file.display(),
                    s.scenarios.len(),
                    s.version
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                for p in &e.problems {
                    println!("{p}");
                }
                println!("{}: {} problem(s)", file.display(), e.problems.len());
                Ok(ExitCode::FAILURE)
            }
        },
        ScenariosCommand::Show => {
            print!("{}", forbear_engine::scenario::DEFAULT_SCENARIOS);
            Ok(ExitCode::SUCCESS)
        }
        ScenariosCommand::Diff {
            file,
            store,
            engine,
        } => {
            let old = engine.scenario_set()?;
            let new = ScenarioSet::load(&file)?;
            let mut s = open(&store)?;
            let at = s.clock()?.unwrap_or_else(Utc::now);
            let changes = forbear_engine::compare::diff(&old, &new, s.as_mut(), at)?;
            for c in &changes {
                println!("account {}: {} -> {}", c.account, c.before, c.after);
            }
            println!("{} account(s) would change scenario at {at}", changes.len());
            Ok(ExitCode::SUCCESS)
        }
        ScenariosCommand::DryRun {
            file,
            store,
            engine,
            until,
            show,
        } => {
            let until = parse_until(&until)?;
            let e = engine.engine()?;
            let new = ScenarioSet::load(&file)?;
            let mut s = open(&store)?;
            let (n, changes) = forbear_engine::compare::dry_run(&e, &new, s.as_mut(), until)?;
            for c in changes.iter().take(show) {
                println!(
                    "account {}:\n  now: {}\n  new: {}",
                    c.account, c.before, c.after
                );
            }
            println!(
                "{} of {n} account(s) would be treated differently up to {until}",
                changes.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `forbear engine run`: the daemon.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// Where the HTTP API listens.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
    /// Webhook endpoints and signing secret (TOML: endpoints.<target> = URL, default = URL,
    /// secret = …). Without it, effects stay in the outbox.
    #[arg(long)]
    webhooks: Option<PathBuf>,
    /// The API's bearer token is read from this environment variable.
    #[arg(long, default_value = "FORBEAR_ENGINE_TOKEN")]
    token_env: String,
    /// No authentication on the API (local work only).
    #[arg(long)]
    dev: bool,
    /// Start a simulated clock at this date instead of the wall clock.
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Simulated seconds per real second (with --from).
    #[arg(long, default_value_t = 86_400.0)]
    speed: f64,
    /// Stop once the clock reaches this date/instant and the outbox has nothing due.
    #[arg(long)]
    until: Option<String>,
    /// Pause between rounds, milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Accounts per transaction.
    #[arg(long, default_value_t = 2_000)]
    batch: usize,
}

fn sender(p: &std::path::Path) -> Result<forbear_daemon::Sender> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    let hooks: forbear_daemon::Webhooks =
        toml::from_str(&text).with_context(|| format!("{}", p.display()))?;
    Ok(forbear_daemon::Sender::new(hooks)?)
}

pub fn run_daemon(a: RunArgs) -> Result<ExitCode> {
    use forbear_core::{Clock, SystemClock};
    use sha2::Digest as _;
    use std::sync::atomic::{AtomicBool, Ordering};
    let engine = a.engine.engine()?;
    let clock: Arc<dyn Clock> = match a.from {
        Some(d) => Arc::new(forbear_daemon::SimulatedClock::new(
            d.and_time(NaiveTime::MIN).and_utc(),
            a.speed,
        )),
        None => Arc::new(SystemClock),
    };
    let token = std::env::var(&a.token_env).ok().filter(|t| !t.is_empty());
    let token_sha256 = match (token, a.dev) {
        (_, true) => {
            tracing::warn!("--dev: the engine API accepts requests WITHOUT authentication");
            None
        }
        (Some(t), false) => Some(<[u8; 32]>::from(sha2::Sha256::digest(t.as_bytes()))),
        (None, false) => bail!(
            "no API token: set {} (any long random string) or pass --dev for local work",
            a.token_env
        ),
    };
    let sender = match &a.webhooks {
        Some(p) => Some(sender(p)?),
        None => {
            tracing::warn!("no --webhooks: effects stay in the outbox");
            None
        }
    };
    let worker = forbear_daemon::Worker {
        engine: engine.clone(),
        store: open(&a.store)?,
        sender,
        clock: clock.clone(),
        interval: std::time::Duration::from_millis(a.interval_ms),
        batch: a.batch,
        scenarios: a.engine.scenarios.clone(),
        until: a.until.as_deref().map(parse_until).transpose()?,
    };
    let api = forbear_daemon::api::ApiState {
        store: Arc::new(std::sync::Mutex::new(open(&a.store)?)),
        engine: Arc::new(engine),
        clock,
        token_sha256,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let worker_stop = stop.clone();
    let handle = std::thread::Builder::new()
        .name("engine-worker".into())
        .spawn(move || {
            let r = worker.run(&worker_stop);
            // A run with --until ends by itself: the API stops with it.
            worker_stop.store(true, Ordering::SeqCst);
            r
        })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listen = a.listen.clone();
    let server_stop = stop.clone();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(addr = %listener.local_addr()?, "engine API listening");
        let shutdown = async move {
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                        if server_stop.load(Ordering::SeqCst) { break; }
                    }
                }
            }
        };
        axum::serve(listener, forbear_daemon::api::router(api))
            .with_graceful_shutdown(shutdown)
            .await?;
        anyhow::Ok(())
    })?;
    stop.store(true, Ordering::SeqCst);
    let report = handle
        .join()
        .map_err(|_| anyhow::anyhow!("the engine worker panicked"))??;
    println!(
        "engine stopped: {} evaluations, {} effects, {} delivered, {} failed attempts",
        report.evaluations, report.effects, report.delivered, report.failed
    );
    Ok(ExitCode::SUCCESS)
}
