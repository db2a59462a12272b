//! How events and instants are written in the database.

use chrono::{DateTime, Utc};
use forbear_core::AccountId;
use forbear_engine::{Event, OutboxItem, StoreError, Target};

/// Microseconds since the epoch.
pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// An instant from microseconds since the epoch.
pub fn instant(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Backend(format!("instant out of range: {us} µs")))
}

/// An event as stored.
pub fn encode(e: &Event) -> Result<String, StoreError> {
    serde_json::to_string(e).map_err(|err| StoreError::Backend(format!("event {}: {err}", e.id)))
}

/// An event read back.
pub fn decode(account: i64, body: &str) -> Result<Event, StoreError> {
    serde_json::from_str(body).map_err(|err| StoreError::Corrupt {
        account,
        detail: format!("stored event does not parse: {err}"),
    })
}

/// An account id read back from the store.
pub fn account_id(raw: i64) -> Result<AccountId, StoreError> {
    AccountId::new(raw).map_err(|e| StoreError::Corrupt {
        account: raw,
        detail: e.to_string(),
    })
}

/// An outbox row read back from the store.
pub fn outbox_item(
    key: String,
    account: i64,
    target: &str,
    kind: String,
    payload: String,
    attempts: i64,
) -> Result<OutboxItem, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt { account, detail };
    Ok(OutboxItem {
        account: account_id(account)?,
        target: Target::parse(target)
            .ok_or_else(|| corrupt(format!("outbox {key}: unknown target {target}")))?,
        key,
        kind,
        payload,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
    })
}
