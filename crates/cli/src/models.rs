//! `forbear models …`: the registry of model versions.

use anyhow::Result;
use forbear_models::Registry;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry root.
    #[arg(long, default_value = "models", global = true)]
    models: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List every model kind and version, with the current one marked.
    List,
    /// Make a version the current one of its kind (after checking its bundle).
    Promote {
        /// Model kind (e.g. risk).
        kind: String,
        /// Version (the bundle directory name).
        #[arg(id = "model_version", value_name = "VERSION")]
        version: String,
    },
    /// Return a kind to the version promoted before the current one.
    Rollback {
        /// Model kind.
        kind: String,
    },
}

pub fn run(args: Args) -> Result<ExitCode> {
    let reg = Registry::new(&args.models);
    match args.command {
        Command::List => {
            let kinds = reg.kinds()?;
            if kinds.is_empty() {
                println!("{}: no model bundles", args.models.display());
            }
            for kind in kinds {
                println!("{kind}:");
                for v in reg.versions(&kind)? {
                    let auc = v.auc.map_or("–".to_owned(), |a| format!("{a:.4}"));
                    println!(
                        "  {} {:<28} best {:<10} holdout AUC {auc}",
                        if v.current { "*" } else { " " },
                        v.version,
                        v.best
                    );
                }
            }
        }
        Command::Promote { kind, version } => {
            reg.promote(&kind, &version)?;
            println!("{kind}: {version} is now current");
        }
        Command::Rollback { kind } => {
            let v = reg.rollback(&kind)?;
            println!("{kind}: rolled back to {v}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
