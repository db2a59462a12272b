//! The service's shared state: settings, the current model snapshot (swapped atomically on
//! reload), API keys as hashes, the concurrency limit, metrics and the decision log.

use crate::config::{Role, ServeConfig};
use crate::decisions::DecisionLog;
use crate::metrics::Metrics;
use crate::models::{self, LoadError, Snapshot};
use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// An API key as held in memory: its owner, role and hash.
#[derive(Debug, Clone)]
struct Key {
    name: String,
    role: Role,
    sha256: [u8; 32],
}

/// Everything handlers share.
#[derive(Debug)]
pub struct AppState {
    /// Settings.
    pub config: ServeConfig,
    snapshot: ArcSwap<Snapshot>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The decision log.
    pub log: DecisionLog,
    keys: Vec<Key>,
    /// Requests in flight at most.
    pub limit: Arc<tokio::sync::Semaphore>,
    reloading: tokio::sync::Mutex<()>,
    ids: AtomicU64,
    started_ms: i64,
    instance: u64,
    /// Shutting down: `/readyz` says so.
    pub draining: AtomicBool,
    crm: std::sync::OnceLock<Arc<dyn CrmLookup>>,
}

/// What the CRM knows of an account that a credit decision must read: the blacklist flag and
/// a write-off, as the dunning engine set them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrmFlags {
    /// On the blacklist.
    pub blacklisted: bool,
    /// Days since the debt was written off, if it was.
    pub days_since_write_off: Option<u32>,
}

/// Where eligibility reads an account's CRM flags (the dunning engine's store, wired by the
/// binary); `None` for an account it does not know.
pub trait CrmLookup: Send + Sync + std::fmt::Debug {
    /// The flags of account `id`.
    fn flags(&self, id: i64) -> Result<Option<CrmFlags>, String>;
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Hex SHA-256 of an API key, as the configuration stores it.
pub fn hash_key(key: &str) -> String {
    forbear_models::bundle::sha256_hex(key.as_bytes())
}

impl AppState {
    /// State over a loaded snapshot and a started decision log.
    pub fn new(
        config: ServeConfig,
        snapshot: Snapshot,
        metrics: Arc<Metrics>,
        log: DecisionLog,
    ) -> Self {
        let keys = config
            .api_keys
            .iter()
            .filter_map(|k| {
                Some(Key {
                    name: k.name.clone(),
                    role: k.role,
                    sha256: hex32(&k.sha256.to_ascii_lowercase())?,
                })
            })
            .collect();
        let instance = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as u64)
            ^ (u64::from(std::process::id()) << 20);
        AppState {
            limit: Arc::new(tokio::sync::Semaphore::new(config.concurrency_limit)),
            config,
            snapshot: ArcSwap::from_pointee(snapshot),
            metrics,
            log,
            keys,
            reloading: tokio::sync::Mutex::new(()),
            ids: AtomicU64::new(0),
            started_ms: chrono::Utc::now().timestamp_millis(),
            instance: instance & 0xff_ffff,
            draining: AtomicBool::new(false),
            crm: std::sync::OnceLock::new(),
        }
    }

    /// Reads CRM flags from `crm` for every eligibility decision on a numeric account id
    /// (set once, at start).
    pub fn set_crm(&self, crm: Arc<dyn CrmLookup>) -> bool {
        self.crm.set(crm).is_ok()
    }

    /// Whether eligibility reads CRM flags (a blocking lookup).
    pub fn reads_crm(&self) -> bool {
        self.crm.get().is_some()
    }

    /// The CRM flags of an account, when a lookup is wired and knows it.
    pub fn crm_flags(&self, account: &str) -> Result<Option<CrmFlags>, String> {
        match (self.crm.get(), account.parse::<i64>()) {
            (Some(c), Ok(id)) => c.flags(id),
            _ => Ok(None),
        }
    }

    /// The current snapshot; a request keeps it to the end even if a reload swaps it.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The key's owner and role, if it is one of the configured keys (compared by hash, in
    /// constant time per key).
    pub fn authenticate(&self, presented: Option<&str>) -> Option<(&str, Role)> {
        let presented = presented?;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.keys
            .iter()
            .find(|k| {
                k.sha256
                    .iter()
                    .zip(&digest)
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
            })
            .map(|k| (k.name.as_str(), k.role))
    }

    /// A new unique id with a prefix: the process's start (ms) and instance, and a counter.
    pub fn next_id(&self, prefix: &str) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{:x}-{:06x}-{n:x}", self.started_ms, self.instance)
    }

    /// Loads the registry again, verifies everything, and swaps the snapshot; on any failure
    /// the current snapshot keeps serving. Returns the changes (`name: old -> new`).
    pub async fn reload(self: &Arc<Self>) -> Result<Vec<String>, LoadError> {
        let _one_at_a_time = self.reloading.lock().await;
        let me = Arc::clone(self);
        let old = self.snapshot();
        let previous = Arc::clone(&old);
        let loaded =
            tokio::task::spawn_blocking(move || models::load(&me.config, Some(&previous))).await;
        let new = match loaded {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                self.metrics.reload("refused");
                tracing::warn!(error = %e, "reload refused; the current models keep serving");
                return Err(e);
            }
            Err(e) => {
                self.metrics.reload("refused");
                return Err(LoadError::Refused {
                    what: "reload".into(),
                    message: e.to_string(),
                });
            }
        };
        let (before, after) = (old.versions(), new.versions());
        let mut changed = Vec::new();
        for (name, v) in &after {
            match before.get(name) {
                Some(b) if b == v => {}
                Some(b) => changed.push(format!("{name}: {b} -> {v}")),
                None => changed.push(format!("{name}: (none) -> {v}")),
            }
        }
        for name in before.keys().filter(|n| !after.contains_key(*n)) {
            changed.push(format!("{name}: {} -> (none)", before[name]));
        }
        self.snapshot.store(Arc::new(new));
        self.metrics.reload("ok");
        tracing::info!(changes = ?changed, "models reloaded");
        Ok(changed)
    }
}
