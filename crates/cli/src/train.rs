//! `forbear train …`: models from data.

use anyhow::Result;
use forbear_train::card::{CardExtra, Fingerprint, write_table_bundle};
use forbear_train::{RiskOptions, train_risk};
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
    /// Train delinquency-risk models on a dataset of the data contract (e.g. from `forbear
    /// generate`): point-in-time features at month ends, label "reaches --dpd days past due within
    /// --horizon days", validated out of time and on a random holdout.
    Risk(RiskArgs),
    /// Train channel-response models on a dataset of the data contract: for an account's state
    /// and an action (channel, local send window, tone) or none, P(payment within 7 days), the
    /// share paid, P(promise) and P(complaint or opt-out); contacts weighted by inverse logged
    /// propensity.
    Response(ResponseArgs),
}

#[derive(Debug, clap::Args)]
pub struct ResponseArgs {
    /// Dataset directory (validated first).
    #[arg(long)]
    data: PathBuf,
    /// Seed of the account holdout and of the sampling of no-contact days.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Clip inverse-propensity weights at this value.
    #[arg(long, default_value_t = 50.0)]
    clip: f64,
    /// Do not weight contacts by inverse propensity.
    #[arg(long)]
    no_weighting: bool,
    /// Trees per head.
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u64).range(1..=5000))]
    trees: u64,
    /// Leaves per tree.
    #[arg(long, default_value_t = 31, value_parser = clap::value_parser!(u64).range(2..=1024))]
    leaves: u64,
    /// Learning rate.
    #[arg(long, default_value_t = 0.08)]
    learning_rate: f64,
    #[command(flatten)]
    bundle: BundleOut,
}

#[derive(Debug, clap::Args)]
pub struct RiskArgs {
    /// Dataset directory (validated first).
    #[arg(long)]
    data: PathBuf,
    /// Days past due that count as the bad outcome.
    #[arg(long = "dpd", default_value_t = 30, value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["30", "60", "90"]), |s: String| s.parse::<u32>().unwrap_or(30)))]
    dpd: u32,
    /// Days after the snapshot within which the threshold must be reached.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(i64).range(7..=365))]
    horizon: i64,
    #[command(flatten)]
    eval: Evaluation,
    #[command(flatten)]
    scaling: Scaling,
    #[command(flatten)]
    bundle: BundleOut,
}

/// How scorecard points are scaled (shared by every `train` command). Points are presentation:
/// probabilities do not depend on them.
#[derive(Debug, clap::Args)]
pub struct Scaling {
    /// Scorecard points at the base odds.
    #[arg(long, default_value_t = 600.0)]
    base_score: f64,
    /// Good:bad odds at the base score.
    #[arg(long, default_value_t = 50.0)]
    base_odds: f64,
    /// Points to double the odds.
    #[arg(long, default_value_t = 20.0)]
    pdo: f64,
}

impl Scaling {
    fn apply(&self, t: &mut forbear_train::TrainedTable) -> Result<()> {
        for m in &mut t.models {
            if let forbear_models::Model::Scorecard(sc) = &mut m.model {
                sc.rescale(self.base_score, self.base_odds, self.pdo)?;
            }
        }
        Ok(())
    }
}

/// Where the bundle goes (shared by every `train` command).
#[derive(Debug, clap::Args)]
pub struct BundleOut {
    /// Bundle directory (default: a new registry version, models/<kind>/<UTC timestamp>; the kind
    /// is `risk`, or the input file's name for `train table`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an existing bundle directory.
    #[arg(long)]
    overwrite: bool,
}

/// How models are evaluated (shared by every `train` command).
#[derive(Debug, clap::Args)]
pub struct Evaluation {
    /// Seed of the random holdout and folds.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also run stratified K-fold cross-validation.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=20))]
    cv: Option<u32>,
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
    #[command(flatten)]
    eval: Evaluation,
    #[command(flatten)]
    scaling: Scaling,
    #[command(flatten)]
    bundle: BundleOut,
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Table(args) => table(args),
        Command::Risk(args) => risk(args),
        Command::Response(args) => response(args),
    }
}

fn response(args: ResponseArgs) -> Result<ExitCode> {
    use forbear_train::response::{ResponseOptions, train_response, write_response_bundle};
    let started = Instant::now();
    let opts = ResponseOptions {
        seed: args.seed,
        clip: args.clip,
        weighted: !args.no_weighting,
        ..ResponseOptions::default()
    };
    let mut opts = opts;
    opts.params.n_trees = args.trees as usize;
    opts.params.max_leaves = args.leaves as usize;
    opts.params.learning_rate = args.learning_rate;
    opts.params.check()?;
    let t = train_response(&args.data, &opts)?;
    println!(
        "{}: {} contacts and {} sampled no-contact days of {} accounts (decisions {} to {}); \
         weights clipped at {} ({} cut), effective sample size {:.0}",
        args.data.display(),
        t.contacts,
        t.none_examples,
        t.accounts,
        t.period.0,
        t.period.1,
        t.clip,
        t.clipped,
        t.effective_sample_size
    );
    for m in &t.metrics {
        let f = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.4}"));
        // The share paid is a regression: its held-out error is a mean absolute error.
        let (measure, value) = match (m.auc, m.mae) {
            (None, Some(mae)) => ("MAE", Some(mae)),
            (auc, _) => ("AUC", auc),
        };
        println!(
            "{:<9} held-out {measure} {} (unweighted {}), calibration error on explored contacts {:.4} (unweighted {:.4})",
            m.head,
            f(value),
            f(m.auc_unweighted),
            m.explored_calibration_error.0,
            m.explored_calibration_error.1
        );
    }
    let fp = Fingerprint::of(&args.data, &t.labels)?;
    let out = args.bundle.out.unwrap_or_else(|| new_version("response"));
    let dir = write_response_bundle(&t, &fp, &opts, &out, args.bundle.overwrite)?;
    report_bundle(&dir, started);
    Ok(ExitCode::SUCCESS)
}

fn risk(args: RiskArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let opts = RiskOptions {
        dpd_threshold: args.dpd,
        horizon_days: args.horizon,
        seed: args.eval.seed,
        cv: args.eval.cv.map(|k| k as usize),
    };
    let mut trained = train_risk(&args.data, &opts, &|step| tracing::info!("{step}"))?;
    args.scaling.apply(&mut trained.table)?;
    let t = &trained.table;
    let p = &t.prepared;
    let snaps: Vec<String> = trained.snapshots.iter().map(ToString::to_string).collect();
    println!(
        "{}: {} account-snapshots on {} month ends ({}), {:.2} % {}",
        args.data.display(),
        p.y.len(),
        snaps.len(),
        snaps.join(", "),
        100.0 * p.y.iter().filter(|v| **v).count() as f64 / p.y.len().max(1) as f64,
        p.positive
    );
    let mut md = String::from(
        "\n## Out-of-time validation\n\n| model | test snapshot | train rows | test rows | AUC | KS | Brier |\n|---|---|---|---|---|---|---|\n",
    );
    for o in &trained.oot {
        println!(
            "{} out of time (trained before {}, tested on it): AUC {:.4}, KS {:.4}",
            o.kind, o.test_snapshot, o.metrics.auc, o.metrics.ks
        );
        md.push_str(&format!(
            "| {} | {} | {} | {} | {:.4} | {:.4} | {:.4} |\n",
            o.kind,
            o.test_snapshot,
            o.rows.0,
            o.rows.1,
            o.metrics.auc,
            o.metrics.ks,
            o.metrics.brier
        ));
    }
    for (i, m) in t.models.iter().enumerate() {
        println!(
            "{}{}: random holdout AUC {:.4}, KS {:.4}",
            m.model.kind(),
            if i == t.best { " (best)" } else { "" },
            m.holdout.auc,
            m.holdout.ks
        );
    }
    let fp = Fingerprint::of(&args.data, &p.y)?;
    let extra = CardExtra {
        json: vec![
            ("out_of_time", serde_json::to_value(&trained.oot)?),
            ("snapshots", serde_json::to_value(&snaps)?),
            (
                "label",
                serde_json::json!({ "dpd": args.dpd, "horizon_days": args.horizon }),
            ),
        ],
        markdown: md,
        kind: Some("risk"),
    };
    let out = args.bundle.out.unwrap_or_else(|| new_version("risk"));
    let dir = write_table_bundle(t, &fp, args.eval.seed, &out, args.bundle.overwrite, &extra)?;
    report_bundle(&dir, started);
    Ok(ExitCode::SUCCESS)
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
        seed: args.eval.seed,
        cv: args.eval.cv.map(|k| k as usize),
        holdout: 0.2,
    };
    let mut trained = train_table(&table, &opts, &|step| tracing::info!("{step}"))?;
    args.scaling.apply(&mut trained)?;
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
    let fp = Fingerprint::of(&args.input, &p.y)?;
    let out = args.bundle.out.unwrap_or_else(|| {
        let stem = args
            .input
            .file_stem()
            .map_or_else(|| "table".into(), |s| s.to_string_lossy().into_owned());
        new_version(&stem)
    });
    let dir = write_table_bundle(
        &trained,
        &fp,
        args.eval.seed,
        &out,
        args.bundle.overwrite,
        &CardExtra::default(),
    )?;
    report_bundle(&dir, started);
    Ok(ExitCode::SUCCESS)
}

/// A new registry version of a model kind: `models/<kind>/<UTC timestamp>`.
fn new_version(kind: &str) -> PathBuf {
    PathBuf::from("models")
        .join(kind)
        .join(chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string())
}

/// Says where the bundle went and how to make it the current version of its kind.
fn report_bundle(dir: &std::path::Path, started: Instant) {
    println!(
        "bundle written to {} in {:.1}s (card: {}/card.md)",
        dir.display(),
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    if let (Some(kind_dir), Some(version)) = (dir.parent(), dir.file_name()) {
        let root_dir = kind_dir.parent().unwrap_or(std::path::Path::new("."));
        // A registry is `<root>/<kind>/<version>` with a CURRENT file per kind: outside one
        // (a bundle written to /tmp/x, say) promoting makes no sense.
        let in_registry = kind_dir.join("CURRENT").is_file()
            || std::fs::read_dir(root_dir)
                .map(|d| d.flatten().any(|e| e.path().join("CURRENT").is_file()))
                .unwrap_or(false);
        let kind = kind_dir
            .file_name()
            .map(|k| k.to_string_lossy())
            .unwrap_or_default();
        let promote = format!(
            "forbear models --models {} promote {kind} {}",
            root_dir.display(),
            version.to_string_lossy()
        );
        if in_registry {
            println!("make it current: {promote}");
        } else {
            println!(
                "use it: pass {} where a bundle directory is asked for (or, if {} is to be a \
                 model registry: {promote})",
                dir.display(),
                root_dir.display()
            );
        }
    }
}
