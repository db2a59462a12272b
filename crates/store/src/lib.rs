//! The dunning engine's store: SQLite embedded by default, PostgreSQL at scale — both behind
//! the engine's [`Store`] port, chosen by URL ([`open`]).
//!
//! Tables (see `migrations/`): `events` (every event, keyed by id, so ingestion is idempotent),
//! `accounts` (when each is due next), `outbox` (effects, written in the same transaction as the
//! events that caused them, delivered at least once under a stable key) and `engine_clock`.
//! Migrations are versioned SQL files applied in order at open.
//!
//! Why this shape: the engine evaluates accounts in batches; a batch is one transaction that
//! claims the accounts, reads their logs, and writes their new events, effects and wake-up
//! times — so a crash at any point loses nothing and repeats nothing. On PostgreSQL the claim is
//! `FOR UPDATE SKIP LOCKED`, so several engine processes share the work without ever taking the
//! same account at once. The drivers are synchronous: a batch's statements run back to back,
//! a few microseconds each, with no executor in between.

mod codec;
pub mod import;
mod postgres;
mod sqlite;

use forbear_engine::{Store, StoreError};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The default store: an SQLite file in the working directory.
pub const DEFAULT_URL: &str = "sqlite://forbear-engine.db";

/// Opens a store by URL: `sqlite://PATH` (or a bare path; `sqlite::memory:` for a throwaway
/// one) or `postgres://…` / `postgresql://…` (an optional `schema=NAME` query parameter keeps
/// the tables in their own schema). Migrations are applied.
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(PostgresStore::connect(url)?));
    }
    if url.contains("://") && !url.starts_with("sqlite://") {
        return Err(StoreError::BadUrl(url.into()));
    }
    Ok(Box::new(SqliteStore::open(url)?))
}
