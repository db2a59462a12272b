//! `forbear eligibility`: prepaid-versus-postpaid decisions with limits and reasons, and the
//! approval / bad-rate trade-off a credit team chooses its cut-offs from.

use anyhow::{Context, Result, bail};
use forbear_data::{Column, Table, read_table};
use forbear_models::eligibility::{Applicant, Policy};
use forbear_models::{Bundle, Registry};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    decide: DecideArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Approval rate against expected bad rate over a range of cut-offs, per segment.
    Tradeoff(TradeoffArgs),
}

#[derive(Debug, clap::Args)]
struct Source {
    /// Applicants: CSV or Parquet with `account_id`, `customer_type`, the model's feature
    /// columns, and optionally `blacklisted` and `days_since_write_off`.
    #[arg(long)]
    input: Option<PathBuf>,
    /// The column that identifies each applicant.
    #[arg(long, default_value = "account_id")]
    id: String,
    /// Registry root.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Model kind whose current version scores.
    #[arg(long, default_value = "risk")]
    model: String,
}

#[derive(Debug, clap::Args)]
struct DecideArgs {
    /// The credit team's policy (TOML).
    #[arg(long)]
    policy: Option<PathBuf>,
    #[command(flatten)]
    source: Source,
    /// Write decisions here (CSV) instead of to standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct TradeoffArgs {
    #[command(flatten)]
    source: Source,
    /// Cut-offs on the probability of going bad (approve below), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.02,0.05,0.08,0.10,0.12,0.15,0.20,0.25,0.30,0.40,0.50"
    )]
    cutoffs: Vec<f64>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Some(Command::Tradeoff(t)) => tradeoff(t),
        None => decide(args.decide),
    }
}

/// An input file read and scored by the current model of its kind.
struct Scored {
    table: Table,
    scores: forbear_train::apply::Scored,
}

fn score(src: &Source) -> Result<Scored> {
    let Some(input) = &src.input else {
        bail!("--input is required: the applicants to decide on")
    };
    let (_, bundle): (PathBuf, Bundle) = Registry::new(&src.models)
        .load_current(&src.model)
        .with_context(|| {
            format!(
                "loading the current {} model from {}",
                src.model,
                src.models.display()
            )
        })?;
    let table = read_table(input)?;
    let scores = forbear_train::apply::score_table(&bundle, &table, 4)?;
    Ok(Scored { table, scores })
}

fn flag(c: Option<&Column>, i: usize) -> bool {
    c.and_then(|c| c.text(i))
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "y"))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn decide(args: DecideArgs) -> Result<ExitCode> {
    let Some(policy_path) = &args.policy else {
        bail!("--policy is required (or use `forbear eligibility tradeoff`)")
    };
    let text = std::fs::read_to_string(policy_path)
        .with_context(|| format!("reading {}", policy_path.display()))?;
    let policy = Policy::from_toml(&text).with_context(|| policy_path.display().to_string())?;
    let s = score(&args.source)?;
    let t = &s.table;
    let col = |name: &str| t.index_of(name).map(|k| &t.columns[k]);
    let id_column = &args.source.id;
    let ids = col(id_column).with_context(|| {
        format!("the input needs an identifier column {id_column:?} (choose it with --id)")
    })?;
    let mut out: Box<dyn std::io::Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    writeln!(
        out,
        "account_id,decision,credit_limit_minor,probability,rule,reason_1,reason_2,reason_3,reason_4"
    )?;
    let mut counts = [0usize; 3];
    for i in 0..t.rows() {
        let id_text = ids.text(i).unwrap_or_default();
        let applicant = Applicant {
            account_id: id_text.parse().unwrap_or(-1),
            customer_type: s.scores.segment[i].clone(),
            tenure_months: col("tenure_months")
                .and_then(|c| c.text(i))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::INFINITY),
            blacklisted: flag(col("blacklisted"), i),
            days_since_write_off: col("days_since_write_off")
                .and_then(|c| c.text(i))
                .and_then(|v| v.parse().ok()),
        };
        let o = policy.decide(&applicant, s.scores.probability[i], &s.scores.reasons[i]);
        counts[o.decision as usize] += 1;
        let mut reasons: Vec<String> = o.reasons.iter().map(|r| csv_field(r)).collect();
        reasons.resize(4, String::new());
        writeln!(
            out,
            "{},{},{},{:.6},{},{}",
            csv_field(&id_text),
            o.decision.as_str(),
            o.limit_minor.map_or(String::new(), |l| l.to_string()),
            s.scores.probability[i],
            csv_field(&o.rule),
            reasons.join(",")
        )?;
    }
    out.flush()?;
    eprintln!(
        "{} applicants: {} postpaid, {} prepaid, {} refer",
        t.rows(),
        counts[0],
        counts[1],
        counts[2]
    );
    Ok(ExitCode::SUCCESS)
}

fn tradeoff(args: TradeoffArgs) -> Result<ExitCode> {
    let s = score(&args.source)?;
    let mut segments: Vec<String> = s.scores.segment.clone();
    segments.sort();
    segments.dedup();
    let mut groups = vec![("all".to_owned(), s.scores.probability.clone())];
    for seg in segments {
        let p: Vec<f64> = s
            .scores
            .probability
            .iter()
            .zip(&s.scores.segment)
            .filter(|(_, g)| **g == seg)
            .map(|(p, _)| *p)
            .collect();
        groups.push((seg, p));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "segment,applicants,cutoff,approval_rate,expected_bad_rate"
    )?;
    for (seg, p) in groups {
        for point in Policy::tradeoff(&p, &args.cutoffs) {
            writeln!(
                out,
                "{seg},{},{:.3},{:.4},{:.4}",
                p.len(),
                point.cutoff,
                point.approval_rate,
                point.expected_bad_rate
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
