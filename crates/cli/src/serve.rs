//! `forbear serve`: the inference service, plus its key and document helpers.

use anyhow::{Context, Result};
use forbear_serve::ServeConfig;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create an API key: prints the key (give it to the client) and the configuration line
    /// with its hash (the service stores only the hash).
    NewKey {
        /// Who will hold it (shown in logs).
        #[arg(long)]
        name: String,
        /// `score` (clients) or `admin` (reloads too).
        #[arg(long, value_parser = ["score", "admin"])]
        role: String,
    },
    /// Print the SHA-256 of a key read from standard input, as the configuration stores it.
    HashKey,
    /// Print the OpenAPI 3.1 document of the service.
    Openapi,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Registry root: every kind's current version is served.
    #[arg(long)]
    models: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Settings file (TOML); FORBEAR_* environment variables override it, flags override both.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Turn authentication off, for local development only.
    #[arg(long)]
    dev: bool,
    /// Log as JSON lines.
    #[arg(long)]
    json_logs: bool,
    /// Threads answering requests [default: one per core].
    #[arg(long)]
    workers: Option<usize>,
    /// The dunning engine's store: eligibility reads the CRM flags the engine set (blacklist,
    /// write-off) of numeric account ids from it.
    #[arg(long, env = "FORBEAR_ENGINE_STORE")]
    engine_store: Option<String>,
}

impl Args {
    /// Whether logs should be JSON (flag, environment, or the settings file).
    pub fn json_logs(&self) -> bool {
        self.command.is_none()
            && (self.run.json_logs
                || std::env::var("FORBEAR_JSON_LOGS").is_ok_and(|v| v == "1" || v == "true")
                || self
                    .run
                    .config
                    .as_ref()
                    .and_then(|p| ServeConfig::from_file(p).ok())
                    .is_some_and(|c| c.json_logs))
    }
}

fn settings(a: &RunArgs) -> Result<ServeConfig> {
    let mut c = match &a.config {
        Some(p) => ServeConfig::from_file(p)?,
        None => ServeConfig::default(),
    };
    c.apply_env(std::env::vars())?;
    if let Some(m) = &a.models {
        c.models = m.clone();
    }
    if let Some(l) = a.listen {
        c.listen = l;
    }
    c.dev |= a.dev;
    c.json_logs |= a.json_logs;
    if a.workers.is_some() {
        c.workers = a.workers;
    }
    Ok(c)
}

fn random_key() -> Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for a new key")?;
    Ok(format!(
        "fbk_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Some(Command::NewKey { name, role }) => {
            let key = random_key()?;
            println!("key (give it to {name}; it is not stored anywhere): {key}");
            println!();
            println!("# add to the service's settings file:");
            println!(
                "[[api_keys]]\nname = {name:?}\nrole = {role:?}\nsha256 = {:?}",
                forbear_serve::hash_key(&key)
            );
            println!();
            println!(
                "# or to its environment: FORBEAR_API_KEYS={name}:{role}:{}",
                forbear_serve::hash_key(&key)
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::HashKey) => {
            let mut key = String::new();
            std::io::stdin().read_to_string(&mut key)?;
            println!("{}", forbear_serve::hash_key(key.trim()));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Openapi) => {
            let doc = forbear_serve::routes::openapi().to_pretty_json()?;
            writeln!(std::io::stdout().lock(), "{doc}")?;
            Ok(ExitCode::SUCCESS)
        }
        None => serve(&args.run),
    }
}

fn serve(a: &RunArgs) -> Result<ExitCode> {
    let config = settings(a)?;
    if config.dev {
        tracing::warn!(
            "AUTHENTICATION IS OFF (--dev): every caller may score, decide and reload models. For local development only."
        );
        eprintln!(
            "\n  *** forbear serve --dev: AUTHENTICATION IS OFF — for local development only ***\n"
        );
    }
    let keys = config
        .api_keys
        .iter()
        .map(|k| format!("{} ({})", k.name, k.role.as_str()))
        .collect::<Vec<_>>();
    let state = forbear_serve::state(config).context("starting the service")?;
    if let Some(url) = &a.engine_store {
        let store = forbear_store::open(url).with_context(|| format!("engine store {url}"))?;
        state.set_crm(std::sync::Arc::new(forbear_daemon::crm::EngineCrm::new(
            store,
        )));
        tracing::info!(store = %url, "eligibility reads the engine's CRM flags");
    }
    let snap = state.snapshot();
    for m in snap.infos() {
        tracing::info!(model = %m.name, version = %m.version, kind = %m.kind, "serving");
    }
    if !keys.is_empty() {
        tracing::info!(keys = ?keys, "API keys");
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = state.config.workers {
        runtime.worker_threads(n);
        tracing::info!(workers = n, "request threads");
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(forbear_serve::run(state))?;
    Ok(ExitCode::SUCCESS)
}
