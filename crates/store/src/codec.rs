//! How events and instants are written in the database.

use chrono::{DateTime, Utc};
use forbear_engine::{Event, StoreError};

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
