//! The SQLite store: one file, WAL journal, `synchronous = NORMAL` (a committed transaction
//! survives a crash of the process; the last ones may be lost on a power cut, which the outbox's
//! at-least-once delivery and idempotent ingestion absorb).

use chrono::{DateTime, Utc};
use forbear_core::AccountId;
use forbear_engine::{
    Claimed, Event, IngestSummary, OutboxItem, Outcome, Store, StoreError, Target,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

use crate::codec::{account_id, decode, encode, instant, micros, outbox_item};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_work_queue.sql")),
];

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {e}"))
}

/// An SQLite-backed store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: String,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`, a path, or
    /// `sqlite::memory:`) and applies migrations.
    pub fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        let conn = if path == "sqlite::memory:" || path == ":memory:" {
            Connection::open_in_memory()
        } else {
            Connection::open(path)
        }
        .map_err(|e| StoreError::Backend(format!("sqlite: cannot open {path}: {e}")))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; \
             PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
        )
        .map_err(backend)?;
        let mut s = SqliteStore {
            conn,
            path: path.to_string(),
        };
        s.migrate()?;
        Ok(s)
    }

    /// The file.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
            )
            .map_err(backend)?;
        let current: i64 = self
            .conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(backend)?;
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            let tx = self.conn.transaction().map_err(backend)?;
            tx.execute_batch(sql)
                .map_err(|e| StoreError::Backend(format!("sqlite: migration {version}: {e}")))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, Utc::now().to_rfc3339()],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            tracing::info!(version, "store migrated");
        }
        Ok(())
    }
}

fn insert_events(
    tx: &rusqlite::Transaction<'_>,
    events: &[Event],
) -> Result<IngestSummary, StoreError> {
    let mut s = IngestSummary::default();
    let mut ins = tx
        .prepare_cached(
            "INSERT INTO events (event_id, account_id, at_us, kind, body) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )
        .map_err(backend)?;
    let mut earliest: BTreeMap<i64, i64> = BTreeMap::new();
    for e in events {
        let n = ins
            .execute(params![
                e.id.as_str(),
                e.account.get(),
                micros(e.at),
                e.body.kind(),
                encode(e)?
            ])
            .map_err(backend)?;
        if n == 1 {
            s.stored += 1;
            let at = micros(e.at);
            earliest
                .entry(e.account.get())
                .and_modify(|x| *x = (*x).min(at))
                .or_insert(at);
        } else {
            s.duplicates += 1;
        }
    }
    let mut due = tx
        .prepare_cached(
            "INSERT INTO accounts (account_id, due_us) VALUES (?1, ?2) \
             ON CONFLICT (account_id) DO UPDATE SET due_us = MIN(COALESCE(due_us, excluded.due_us), excluded.due_us)",
        )
        .map_err(backend)?;
    for (account, at) in earliest {
        due.execute(params![account, at]).map_err(backend)?;
    }
    Ok(s)
}

/// Outbox items from a `SELECT key, account_id, target, kind, payload, attempts` statement.
fn outbox_rows(
    q: &mut rusqlite::CachedStatement<'_>,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<OutboxItem>, StoreError> {
    let rows = q
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(backend)?;
    let mut v = Vec::new();
    for row in rows {
        let (key, account, target, kind, payload, attempts) = row.map_err(backend)?;
        v.push(outbox_item(key, account, &target, kind, payload, attempts)?);
    }
    Ok(v)
}

impl Store for SqliteStore {
    fn ingest(&mut self, events: &[Event]) -> Result<IngestSummary, StoreError> {
        let tx = self.conn.transaction().map_err(backend)?;
        let s = insert_events(&tx, events)?;
        tx.commit().map_err(backend)?;
        Ok(s)
    }

    fn work(
        &mut self,
        until: DateTime<Utc>,
        limit: usize,
        evaluate: &mut dyn FnMut(Claimed) -> Outcome,
    ) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let due: Vec<(i64, i64, Option<i64>)> = {
            let mut q = tx
                .prepare_cached(
                    "SELECT account_id, due_us, evaluated_us FROM accounts \
                     WHERE due_us IS NOT NULL AND due_us <= ?1 ORDER BY due_us, account_id LIMIT ?2",
                )
                .map_err(backend)?;
            q.query_map(params![micros(until), limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?
        };
        for (account, due_us, evaluated_us) in &due {
            let events: Vec<Event> = {
                let mut q = tx
                    .prepare_cached("SELECT body FROM events WHERE account_id = ?1")
                    .map_err(backend)?;
                let rows = q
                    .query_map(params![account], |r| r.get::<_, String>(0))
                    .map_err(backend)?;
                let mut v = Vec::new();
                for body in rows {
                    v.push(decode(*account, &body.map_err(backend)?)?);
                }
                v
            };
            let id = account_id(*account)?;
            let o = evaluate(Claimed {
                account: id,
                events,
                due: instant(*due_us)?,
                evaluated_at: evaluated_us.map(instant).transpose()?,
            });
            write_outcome(&tx, &o)?;
        }
        tx.commit().map_err(backend)?;
        Ok(due.len())
    }

    fn events(&mut self, account: AccountId) -> Result<Vec<Event>, StoreError> {
        let mut q = self
            .conn
            .prepare_cached("SELECT body FROM events WHERE account_id = ?1 ORDER BY at_us")
            .map_err(backend)?;
        let rows = q
            .query_map(params![account.get()], |r| r.get::<_, String>(0))
            .map_err(backend)?;
        let mut v = Vec::new();
        for body in rows {
            v.push(decode(account.get(), &body.map_err(backend)?)?);
        }
        Ok(v)
    }

    fn accounts(&mut self) -> Result<Vec<AccountId>, StoreError> {
        let mut q = self
            .conn
            .prepare_cached("SELECT account_id FROM accounts ORDER BY account_id")
            .map_err(backend)?;
        let rows = q.query_map([], |r| r.get::<_, i64>(0)).map_err(backend)?;
        let mut v = Vec::new();
        for a in rows {
            let a = a.map_err(backend)?;
            v.push(account_id(a)?);
        }
        Ok(v)
    }

    fn clock(&mut self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let us: Option<i64> = self
            .conn
            .query_row("SELECT at_us FROM engine_clock WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(backend)?;
        us.map(instant).transpose()
    }

    fn set_clock(&mut self, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO engine_clock (id, at_us) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET at_us = MAX(at_us, excluded.at_us)",
                params![micros(at)],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn outbox_due(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT key, account_id, target, kind, payload, attempts FROM outbox \
                 WHERE delivered_us IS NULL AND cancelled_us IS NULL AND next_attempt_us <= ?1 \
                 ORDER BY next_attempt_us, key LIMIT ?2",
            )
            .map_err(backend)?;
        outbox_rows(&mut q, params![micros(now), limit as i64])
    }

    fn work_items(
        &mut self,
        team: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT key, account_id, target, kind, payload, attempts FROM outbox \
                 WHERE target = 'queue' AND worked_us IS NULL AND cancelled_us IS NULL \
                 AND (next_attempt_us <= ?1 OR attempts > 0) AND (?2 IS NULL OR json_extract(payload, '$.team') = ?2) \
                 ORDER BY next_attempt_us, key LIMIT ?3",
            )
            .map_err(backend)?;
        outbox_rows(&mut q, params![micros(until), team, limit as i64])
    }

    fn outbox_of(&mut self, target: Target) -> Result<Vec<OutboxItem>, StoreError> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT key, account_id, target, kind, payload, attempts FROM outbox \
                 WHERE target = ?1 AND cancelled_us IS NULL ORDER BY created_us, key",
            )
            .map_err(backend)?;
        outbox_rows(&mut q, params![target.as_str()])
    }

    fn work_done(
        &mut self,
        account: AccountId,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE outbox SET worked_us = ?3 WHERE key = ?1 AND account_id = ?2 \
                 AND target = 'queue' AND worked_us IS NULL AND cancelled_us IS NULL",
                params![key, account.get(), micros(at)],
            )
            .map_err(backend)?;
        Ok(n == 1)
    }

    fn outbox_delivered(&mut self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET delivered_us = ?2, attempts = attempts + 1, last_error = NULL WHERE key = ?1",
                params![key, micros(at)],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn outbox_failed(
        &mut self,
        key: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_us = ?3 WHERE key = ?1",
                params![key, error, micros(retry_at)],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn outbox_counts(&mut self) -> Result<(u64, u64, u64), StoreError> {
        self.conn
            .query_row(
                "SELECT \
                   COALESCE(SUM(delivered_us IS NULL AND cancelled_us IS NULL), 0), \
                   COALESCE(SUM(delivered_us IS NOT NULL), 0), \
                   COALESCE(SUM(cancelled_us IS NOT NULL), 0) FROM outbox",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, i64>(2)? as u64,
                    ))
                },
            )
            .map_err(backend)
    }
}

fn write_outcome(tx: &rusqlite::Transaction<'_>, o: &Outcome) -> Result<(), StoreError> {
    let mut ins = tx
        .prepare_cached(
            "INSERT INTO events (event_id, account_id, at_us, kind, body) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )
        .map_err(backend)?;
    for e in &o.events {
        ins.execute(params![
            e.id.as_str(),
            e.account.get(),
            micros(e.at),
            e.body.kind(),
            encode(e)?
        ])
        .map_err(backend)?;
    }
    let now = micros(o.evaluated_at);
    for eff in &o.effects {
        if let Some(target) = &eff.cancels {
            tx.prepare_cached(
                "UPDATE outbox SET cancelled_us = ?2 WHERE key = ?1 AND delivered_us IS NULL AND cancelled_us IS NULL",
            )
            .map_err(backend)?
            .execute(params![target, now])
            .map_err(backend)?;
            continue;
        }
        tx.prepare_cached(
            "INSERT INTO outbox (key, account_id, target, kind, payload, created_us, next_attempt_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )
        .map_err(backend)?
        .execute(params![
            eff.key,
            eff.account.get(),
            eff.target.as_str(),
            eff.kind,
            eff.payload.to_string(),
            now,
            micros(eff.deliver_after)
        ])
        .map_err(backend)?;
    }
    tx.prepare_cached("UPDATE accounts SET due_us = ?2, evaluated_us = ?3 WHERE account_id = ?1")
        .map_err(backend)?
        .execute(params![o.account.get(), o.next_wake.map(micros), now])
        .map_err(backend)?;
    Ok(())
}
