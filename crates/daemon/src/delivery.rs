//! Delivering the outbox: each due effect is POSTed to its target's webhook, signed with
//! HMAC-SHA256, with an `Idempotency-Key` that is the effect's key — the same on every retry —
//! and marked delivered only after a 2xx. A crash between the POST and the mark means the effect
//! is sent again under the same key, which a receiver that deduplicates by key (as channel
//! providers do) applies once. Failures are retried with exponential backoff (capped), never
//! dropped.

use chrono::{DateTime, Duration, Utc};
use forbear_engine::{OutboxItem, Store, StoreError, Target};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::collections::BTreeMap;

/// The header carrying the idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
pub const SIGNATURE: &str = "forbear-signature";

/// Where effects go and how they are signed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhooks {
    /// Webhook URL per target (`channel`, `billing`, `crm`, `agency`, `legal`, `queue`); a
    /// target without one falls back to `default`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// The URL for targets not listed.
    #[serde(default)]
    pub default: Option<String>,
    /// The shared secret for signatures.
    pub secret: String,
    /// Per-request timeout, milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// First retry delay, seconds (doubling each attempt).
    #[serde(default = "default_backoff")]
    pub backoff_seconds: i64,
    /// Longest retry delay, seconds.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_seconds: i64,
}

fn default_timeout() -> u64 {
    10_000
}
fn default_backoff() -> i64 {
    30
}
fn default_max_backoff() -> i64 {
    3600
}

impl Webhooks {
    /// The URL for a target.
    pub fn url(&self, t: Target) -> Option<&str> {
        self.endpoints
            .get(t.as_str())
            .or(self.default.as_ref())
            .map(String::as_str)
    }

    /// Checks every URL and the secret.
    pub fn check(&self) -> Result<(), String> {
        if self.secret.len() < 16 {
            return Err("webhooks.secret must be at least 16 characters".into());
        }
        for (k, u) in &self.endpoints {
            if Target::parse(k).is_none() {
                return Err(format!(
                    "webhooks.endpoints: unknown target {k:?} (channel, billing, crm, agency, legal, queue)"
                ));
            }
            reqwest::Url::parse(u).map_err(|e| format!("webhooks.endpoints.{k}: {e}"))?;
        }
        if let Some(u) = &self.default {
            reqwest::Url::parse(u).map_err(|e| format!("webhooks.default: {e}"))?;
        }
        if Target::ALL.iter().any(|t| self.url(*t).is_none()) {
            return Err("webhooks: every target needs an endpoint (or set default)".into());
        }
        Ok(())
    }
}

/// The signature header value for a body sent at `t` (unix seconds).
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length: this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let code = mac.finalize().into_bytes();
    let hex: String = code.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Checks a signature header against a body (for receivers and tests), in constant time.
pub fn verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let Some(t) = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .and_then(|t| t.parse::<i64>().ok())
    else {
        return false;
    };
    let expected = sign(secret, t, body);
    expected.len() == header.len()
        && expected
            .bytes()
            .zip(header.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Effects delivered.
    pub delivered: u64,
    /// Attempts that failed (to be retried).
    pub failed: u64,
}

/// The body POSTed for an effect.
pub fn body(item: &OutboxItem) -> String {
    format!(
        r#"{{"key":{},"account":{},"target":"{}","kind":{},"effect":{}}}"#,
        serde_json::Value::String(item.key.clone()),
        item.account.get(),
        item.target.as_str(),
        serde_json::Value::String(item.kind.clone()),
        item.payload
    )
}

/// A webhook sender.
#[derive(Debug, Clone)]
pub struct Sender {
    hooks: Webhooks,
    client: reqwest::Client,
}

/// A delivery failure that stops the round (the store failed).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration is unusable.
    #[error("webhooks: {0}")]
    Config(String),
}

impl Sender {
    /// A sender for checked webhooks.
    pub fn new(hooks: Webhooks) -> Result<Sender, DeliveryError> {
        hooks.check().map_err(DeliveryError::Config)?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(hooks.timeout_ms))
            .build()
            .map_err(|e| DeliveryError::Config(e.to_string()))?;
        Ok(Sender { hooks, client })
    }

    async fn post(&self, item: &OutboxItem) -> Result<(), String> {
        let Some(url) = self.hooks.url(item.target) else {
            return Err(format!("no endpoint for {}", item.target.as_str()));
        };
        let body = body(item);
        let sig = sign(
            self.hooks.secret.as_bytes(),
            Utc::now().timestamp(),
            body.as_bytes(),
        );
        let r = self
            .client
            .post(url)
            .header(IDEMPOTENCY_KEY, &item.key)
            .header(SIGNATURE, sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("{url}: HTTP {}", r.status()))
        }
    }

    /// Delivers up to `limit` effects due at `now`: store calls on this thread, the POSTs on
    /// `rt`, up to 32 at once. The store is synchronous (and PostgreSQL's driver runs its own
    /// runtime), so it is never called from inside `rt`.
    pub fn round(
        &self,
        rt: &tokio::runtime::Runtime,
        store: &mut dyn Store,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Delivered, DeliveryError> {
        let mut d = Delivered::default();
        let items = store.outbox_due(now, limit)?;
        for chunk in items.chunks(32) {
            let results: Vec<Result<(), String>> = rt.block_on(async {
                let mut set = tokio::task::JoinSet::new();
                for (i, item) in chunk.iter().enumerate() {
                    let (me, item) = (self.clone(), item.clone());
                    set.spawn(async move { (i, me.post(&item).await) });
                }
                let mut out = vec![Ok(()); chunk.len()];
                while let Some(r) = set.join_next().await {
                    match r {
                        Ok((i, res)) => out[i] = res,
                        Err(e) => {
                            tracing::error!("webhook task failed: {e}");
                        }
                    }
                }
                out
            });
            for (item, res) in chunk.iter().zip(results) {
                match res {
                    Ok(()) => {
                        store.outbox_delivered(&item.key, now)?;
                        d.delivered += 1;
                    }
                    Err(e) => {
                        let exp = item.attempts.min(16);
                        let delay = (self.hooks.backoff_seconds << exp)
                            .min(self.hooks.max_backoff_seconds)
                            .max(1);
                        tracing::warn!(key = %item.key, attempts = item.attempts + 1, error = %e, "webhook failed; will retry");
                        store.outbox_failed(&item.key, &e, now + Duration::seconds(delay))?;
                        d.failed += 1;
                    }
                }
            }
        }
        Ok(d)
    }

    /// Delivers everything due at `now`, round after round, until a round delivers nothing.
    pub fn drain(
        &self,
        rt: &tokio::runtime::Runtime,
        store: &mut dyn Store,
        now: DateTime<Utc>,
    ) -> Result<Delivered, DeliveryError> {
        let mut total = Delivered::default();
        loop {
            let d = self.round(rt, store, now, 256)?;
            total.delivered += d.delivered;
            total.failed += d.failed;
            if d.delivered == 0 {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let s = sign(b"0123456789abcdef", 1_700_000_000, b"{\"a\":1}");
        assert!(s.starts_with("t=1700000000,v1="));
        assert!(verify(b"0123456789abcdef", &s, b"{\"a\":1}"));
        assert!(!verify(b"0123456789abcdef", &s, b"{\"a\":2}"));
        assert!(!verify(b"another secret!!", &s, b"{\"a\":1}"));
    }
}
