//! The service's settings: a TOML file, then `FORBEAR_*` environment variables over it, then
//! the command line over both. Every setting has a default that runs out of the box.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Score, recommend, decide eligibility, read decisions and models.
    Score,
    /// Everything, including reloading models.
    Admin,
}

impl Role {
    /// Its name in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Score => "score",
            Role::Admin => "admin",
        }
    }
}

/// An API key as stored: its owner, role and the SHA-256 of the key (never the key).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// Who holds it (shown in logs instead of the key).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Hex SHA-256 of the key (`forbear serve hash-key` prints it).
    pub sha256: String,
}

/// The decision log's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionLogConfig {
    /// Directory of the Parquet files (created if absent).
    pub dir: PathBuf,
    /// Start a new file after this many bytes of encoded rows.
    pub rotate_bytes: u64,
    /// Start a new file after this many seconds.
    pub rotate_seconds: u64,
    /// Decisions kept in memory for `GET /v1/decisions/{id}` before it reads the files.
    pub recent: usize,
}

impl Default for DecisionLogConfig {
    fn default() -> Self {
        DecisionLogConfig {
            dir: PathBuf::from("decisions"),
            rotate_bytes: 64 << 20,
            rotate_seconds: 3600,
            recent: 10_000,
        }
    }
}

/// Every setting of `forbear serve`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Registry root: every kind's current version is served.
    pub models: PathBuf,
    /// Eligibility policy (default: `<models>/eligibility-policy.toml` when present).
    pub policy: Option<PathBuf>,
    /// Strategy configuration (default: `<models>/strategy.toml` when present, else built in).
    pub strategy: Option<PathBuf>,
    /// Items per batch request at most.
    pub max_batch: usize,
    /// Bytes per JSON request body at most.
    pub max_body_bytes: usize,
    /// Bytes per Arrow request body at most.
    pub max_arrow_bytes: usize,
    /// A request taking longer is answered 503.
    pub request_timeout_ms: u64,
    /// Requests in flight at most; more are answered 503 at once.
    pub concurrency_limit: usize,
    /// Threads answering requests (default: one per core). Fewer than the cores leaves cores
    /// to what shares the machine: on two cores shared with a load generator one worker halves
    /// no throughput but cuts the slowest answers by four (`benches/RESULTS.md`).
    pub workers: Option<usize>,
    /// Log as JSON lines.
    pub json_logs: bool,
    /// Authentication off (local development only).
    pub dev: bool,
    /// API keys.
    pub api_keys: Vec<ApiKey>,
    /// The decision log.
    pub decision_log: DecisionLogConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            models: PathBuf::from("models"),
            policy: None,
            strategy: None,
            max_batch: 1000,
            max_body_bytes: 2 << 20,
            max_arrow_bytes: 512 << 20,
            request_timeout_ms: 10_000,
            concurrency_limit: 1024,
            workers: None,
            json_logs: false,
            dev: false,
            api_keys: Vec::new(),
            decision_log: DecisionLogConfig::default(),
        }
    }
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// An environment variable is not valid.
    #[error("environment variable {name}={value:?}: {reason}")]
    Env {
        name: String,
        value: String,
        reason: String,
    },
    /// The settings do not fit together.
    #[error("{0}")]
    Invalid(String),
}

impl ServeConfig {
    /// Reads a TOML file (every key optional; unknown keys are errors naming line and key).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Applies `FORBEAR_*` variables from `vars` (the process environment in production):
    /// `FORBEAR_LISTEN`, `FORBEAR_MODELS`, `FORBEAR_POLICY`, `FORBEAR_STRATEGY`,
    /// `FORBEAR_MAX_BATCH`, `FORBEAR_MAX_BODY_BYTES`, `FORBEAR_MAX_ARROW_BYTES`,
    /// `FORBEAR_REQUEST_TIMEOUT_MS`, `FORBEAR_CONCURRENCY_LIMIT`, `FORBEAR_WORKERS`,
    /// `FORBEAR_JSON_LOGS`,
    /// `FORBEAR_DECISION_LOG_DIR`, and `FORBEAR_API_KEYS` (`name:role:sha256`, comma-separated,
    /// added to the file's).
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (name, value) in vars {
            let Some(key) = name.strip_prefix("FORBEAR_") else {
                continue;
            };
            let bad = |reason: &str| ConfigError::Env {
                name: name.clone(),
                value: value.clone(),
                reason: reason.to_owned(),
            };
            let number = || {
                value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| bad("not a whole number"))
            };
            match key {
                "LISTEN" => {
                    self.listen = value
                        .parse()
                        .map_err(|_| bad("not an address such as 127.0.0.1:8080"))?
                }
                "MODELS" => self.models = PathBuf::from(&value),
                "POLICY" => self.policy = Some(PathBuf::from(&value)),
                "STRATEGY" => self.strategy = Some(PathBuf::from(&value)),
                "MAX_BATCH" => self.max_batch = number()? as usize,
                "MAX_BODY_BYTES" => self.max_body_bytes = number()? as usize,
                "MAX_ARROW_BYTES" => self.max_arrow_bytes = number()? as usize,
                "REQUEST_TIMEOUT_MS" => self.request_timeout_ms = number()?,
                "CONCURRENCY_LIMIT" => self.concurrency_limit = number()? as usize,
                "WORKERS" => self.workers = Some(number()? as usize),
                "JSON_LOGS" => {
                    self.json_logs = matches!(value.as_str(), "1" | "true" | "yes");
                }
                "DECISION_LOG_DIR" => self.decision_log.dir = PathBuf::from(&value),
                "API_KEYS" => {
                    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let parts: Vec<&str> = item.split(':').collect();
                        let [name, role, sha256] = parts[..] else {
                            return Err(bad("each key is name:role:sha256"));
                        };
                        let role = match role {
                            "score" => Role::Score,
                            "admin" => Role::Admin,
                            _ => return Err(bad("a role is score or admin")),
                        };
                        self.api_keys.push(ApiKey {
                            name: name.to_owned(),
                            role,
                            sha256: sha256.to_owned(),
                        });
                    }
                }
                // Other FORBEAR_ variables belong to other commands (FORBEAR_LOG, …).
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks the settings fit together.
    pub fn check(&self) -> Result<(), ConfigError> {
        let positive = [
            ("max_batch", self.max_batch as u64),
            ("max_body_bytes", self.max_body_bytes as u64),
            ("max_arrow_bytes", self.max_arrow_bytes as u64),
            ("request_timeout_ms", self.request_timeout_ms),
            ("concurrency_limit", self.concurrency_limit as u64),
            ("workers", self.workers.map_or(1, |w| w as u64)),
            ("decision_log.rotate_bytes", self.decision_log.rotate_bytes),
            (
                "decision_log.rotate_seconds",
                self.decision_log.rotate_seconds,
            ),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
            }
        }
        for k in &self.api_keys {
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConfigError::Invalid(format!(
                    "API key {:?}: sha256 must be 64 hex digits (the SHA-256 of the key, as `forbear serve hash-key` prints it), not the key itself",
                    k.name
                )));
            }
        }
        if !self.dev && self.api_keys.is_empty() {
            return Err(ConfigError::Invalid(
                "no API keys are configured: add [[api_keys]] to the config file or FORBEAR_API_KEYS (create one with `forbear serve new-key --name NAME --role score`), or run with --dev to turn authentication off for local work".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_and_names_the_bad_variable() {
        let mut c = ServeConfig::default();
        c.apply_env([
            ("FORBEAR_MAX_BATCH".to_owned(), "50".to_owned()),
            ("FORBEAR_WORKERS".to_owned(), "1".to_owned()),
            (
                "FORBEAR_API_KEYS".to_owned(),
                format!("eng:score:{}", "a".repeat(64)),
            ),
            ("HOME".to_owned(), "/root".to_owned()),
        ])
        .unwrap();
        assert_eq!(c.max_batch, 50);
        assert_eq!(c.workers, Some(1));
        assert_eq!(c.api_keys[0].role, Role::Score);
        c.check().unwrap();
        c.workers = Some(0);
        assert!(c.check().unwrap_err().to_string().contains("workers"));
        c.workers = Some(1);
        let e = c
            .apply_env([("FORBEAR_MAX_BATCH".to_owned(), "many".to_owned())])
            .unwrap_err();
        assert!(e.to_string().contains("FORBEAR_MAX_BATCH"), "{e}");
    }

    #[test]
    fn refuses_to_start_without_keys_unless_dev() {
        let mut c = ServeConfig::default();
        assert!(c.check().unwrap_err().to_string().contains("--dev"));
        c.dev = true;
        c.check().unwrap();
        c.api_keys.push(ApiKey {
            name: "x".into(),
            role: Role::Admin,
            sha256: "plain-key".into(),
        });
        assert!(c.check().unwrap_err().to_string().contains("64 hex"));
    }

    #[test]
    fn file_errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("serve.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:9000\"\nmax_bacth = 3\n").unwrap();
        let e = ServeConfig::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("max_bacth"), "{e}");
    }
}
