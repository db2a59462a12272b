//! The PostgreSQL store: the same tables, batches written with `UNNEST` arrays (one round trip
//! per table per batch), and accounts claimed with `FOR UPDATE SKIP LOCKED` so several engine
//! processes share a portfolio without ever evaluating the same account at once.

use chrono::{DateTime, Utc};
use forbear_core::AccountId;
use forbear_engine::{
    Claimed, Event, IngestSummary, OutboxItem, Outcome, Store, StoreError, Target,
};
use postgres::{Client, NoTls, Transaction};
use std::collections::BTreeMap;

use crate::codec::{account_id, decode, encode, instant, micros, outbox_item};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_work_queue.sql"),
    ),
];

/// Serialises migrations between processes starting at once.
const MIGRATION_LOCK: i64 = 0x0066_6f72_6265_6172;

fn backend(e: postgres::Error) -> StoreError {
    StoreError::Backend(format!("postgres: {e}"))
}

/// A PostgreSQL-backed store.
pub struct PostgresStore {
    client: Client,
    schema: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Splits our own `schema=NAME` parameter off a connection URL.
fn split_schema(url: &str) -> Result<(String, String), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), "public".into()));
    };
    let mut schema = "public".to_string();
    let mut rest = Vec::new();
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        match kv.split_once('=') {
            Some(("schema", v)) => schema = v.to_string(),
            _ => rest.push(kv),
        }
    }
    if schema.is_empty()
        || !schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StoreError::BadUrl(format!(
            "{url} (schema must be lower-case letters, digits and _)"
        )));
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, schema))
}

impl PostgresStore {
    /// Connects, creates the schema if needed and applies migrations.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let (conn_url, schema) = split_schema(url)?;
        let mut client = Client::connect(&conn_url, NoTls)
            .map_err(|e| StoreError::Backend(format!("postgres: cannot connect: {e}")))?;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}; SET synchronous_commit = on;"
            ))
            .map_err(backend)?;
        let mut s = PostgresStore { client, schema };
        s.migrate()?;
        Ok(s)
    }

    /// The schema the tables live in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let mut tx = self.client.transaction().map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(backend)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .map_err(backend)?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .map_err(backend)?
            .get(0);
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            tx.batch_execute(sql)
                .map_err(|e| StoreError::Backend(format!("postgres: migration {version}: {e}")))?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[version],
            )
            .map_err(backend)?;
            tracing::info!(version, schema = %self.schema, "store migrated");
        }
        tx.commit().map_err(backend)
    }
}

struct EventRows {
    ids: Vec<String>,
    accounts: Vec<i64>,
    ats: Vec<i64>,
    kinds: Vec<String>,
    bodies: Vec<String>,
}

impl EventRows {
    fn of<'a>(events: impl Iterator<Item = &'a Event>) -> Result<EventRows, StoreError> {
        let mut r = EventRows {
            ids: Vec::new(),
            accounts: Vec::new(),
            ats: Vec::new(),
            kinds: Vec::new(),
            bodies: Vec::new(),
        };
        for e in events {
            r.ids.push(e.id.to_string());
            r.accounts.push(e.account.get());
            r.ats.push(micros(e.at));
            r.kinds.push(e.body.kind().to_string());
            r.bodies.push(encode(e)?);
        }
        Ok(r)
    }

    /// Inserts the rows not yet stored; returns (account, at) of those inserted.
    fn insert(&self, tx: &mut Transaction<'_>) -> Result<Vec<(i64, i64)>, StoreError> {
        if self.ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = tx
            .query(
                "INSERT INTO events (event_id, account_id, at_us, kind, body) \
                 SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[]) \
                 ON CONFLICT DO NOTHING RETURNING account_id, at_us",
                &[&self.ids, &self.accounts, &self.ats, &self.kinds, &self.bodies],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// Outbox items from rows of `SELECT key, account_id, target, kind, payload, attempts`.
fn outbox_rows(rows: Vec<postgres::Row>) -> Result<Vec<OutboxItem>, StoreError> {
    rows.into_iter()
        .map(|r| {
            let attempts: i32 = r.get(5);
            outbox_item(
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                i64::from(attempts),
            )
        })
        .collect()
}

impl Store for PostgresStore {
    fn ingest(&mut self, events: &[Event]) -> Result<IngestSummary, StoreError> {
        let rows = EventRows::of(events.iter())?;
        let mut tx = self.client.transaction().map_err(backend)?;
        let inserted = rows.insert(&mut tx)?;
        let mut earliest: BTreeMap<i64, i64> = BTreeMap::new();
        for (a, at) in &inserted {
            earliest
                .entry(*a)
                .and_modify(|x| *x = (*x).min(*at))
                .or_insert(*at);
        }
        let (accounts, dues): (Vec<i64>, Vec<i64>) = earliest.into_iter().unzip();
        if !accounts.is_empty() {
            tx.execute(
                "INSERT INTO accounts (account_id, due_us) SELECT * FROM UNNEST($1::bigint[], $2::bigint[]) \
                 ON CONFLICT (account_id) DO UPDATE SET due_us = LEAST(COALESCE(accounts.due_us, excluded.due_us), excluded.due_us)",
                &[&accounts, &dues],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        let stored = inserted.len() as u64;
        Ok(IngestSummary {
            stored,
            duplicates: events.len() as u64 - stored,
        })
    }

    fn work(
        &mut self,
        until: DateTime<Utc>,
        limit: usize,
        evaluate: &mut dyn FnMut(Claimed) -> Outcome,
    ) -> Result<usize, StoreError> {
        let mut tx = self.client.transaction().map_err(backend)?;
        let claimed = tx
            .query(
                "SELECT account_id, due_us, evaluated_us FROM accounts \
                 WHERE due_us IS NOT NULL AND due_us <= $1 ORDER BY due_us, account_id LIMIT $2 \
                 FOR UPDATE SKIP LOCKED",
                &[&micros(until), &(limit as i64)],
            )
            .map_err(backend)?;
        if claimed.is_empty() {
            tx.commit().map_err(backend)?;
            return Ok(0);
        }
        let ids: Vec<i64> = claimed.iter().map(|r| r.get(0)).collect();
        let mut logs: BTreeMap<i64, Vec<Event>> = BTreeMap::new();
        for r in tx
            .query(
                "SELECT account_id, body FROM events WHERE account_id = ANY($1)",
                &[&ids],
            )
            .map_err(backend)?
        {
            let a: i64 = r.get(0);
            let body: &str = r.get(1);
            logs.entry(a).or_default().push(decode(a, body)?);
        }
        let mut outcomes = Vec::with_capacity(claimed.len());
        for r in &claimed {
            let a: i64 = r.get(0);
            let due: i64 = r.get(1);
            let evaluated: Option<i64> = r.get(2);
            let account = account_id(a)?;
            outcomes.push(evaluate(Claimed {
                account,
                events: logs.remove(&a).unwrap_or_default(),
                due: instant(due)?,
                evaluated_at: evaluated.map(instant).transpose()?,
            }));
        }
        EventRows::of(outcomes.iter().flat_map(|o| o.events.iter()))?.insert(&mut tx)?;
        let mut keys = Vec::new();
        let mut accounts = Vec::new();
        let mut targets = Vec::new();
        let mut kinds = Vec::new();
        let mut payloads = Vec::new();
        let mut created = Vec::new();
        let mut after = Vec::new();
        let mut cancels = Vec::new();
        let mut cancelled_at = Vec::new();
        for o in &outcomes {
            for e in &o.effects {
                if let Some(c) = &e.cancels {
                    cancels.push(c.clone());
                    cancelled_at.push(micros(o.evaluated_at));
                    continue;
                }
                keys.push(e.key.clone());
                accounts.push(e.account.get());
                targets.push(e.target.as_str().to_string());
                kinds.push(e.kind.clone());
                payloads.push(e.payload.to_string());
                created.push(micros(o.evaluated_at));
                after.push(micros(e.deliver_after));
            }
        }
        if !keys.is_empty() {
            tx.execute(
                "INSERT INTO outbox (key, account_id, target, kind, payload, created_us, next_attempt_us) \
                 SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) \
                 ON CONFLICT DO NOTHING",
                &[&keys, &accounts, &targets, &kinds, &payloads, &created, &after],
            )
            .map_err(backend)?;
        }
        if !cancels.is_empty() {
            tx.execute(
                "UPDATE outbox o SET cancelled_us = c.at FROM UNNEST($1::text[], $2::bigint[]) AS c(key, at) \
                 WHERE o.key = c.key AND o.delivered_us IS NULL AND o.cancelled_us IS NULL",
                &[&cancels, &cancelled_at],
            )
            .map_err(backend)?;
        }
        let ids: Vec<i64> = outcomes.iter().map(|o| o.account.get()).collect();
        let wakes: Vec<Option<i64>> = outcomes.iter().map(|o| o.next_wake.map(micros)).collect();
        let evals: Vec<i64> = outcomes.iter().map(|o| micros(o.evaluated_at)).collect();
        tx.execute(
            "UPDATE accounts a SET due_us = u.due, evaluated_us = u.ev \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) AS u(id, due, ev) WHERE a.account_id = u.id",
            &[&ids, &wakes, &evals],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(outcomes.len())
    }

    fn events(&mut self, account: AccountId) -> Result<Vec<Event>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT body FROM events WHERE account_id = $1 ORDER BY at_us",
                &[&account.get()],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| decode(account.get(), r.get(0)))
            .collect()
    }

    fn accounts(&mut self) -> Result<Vec<AccountId>, StoreError> {
        let rows = self
            .client
            .query("SELECT account_id FROM accounts ORDER BY account_id", &[])
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let a: i64 = r.get(0);
                account_id(a)
            })
            .collect()
    }

    fn clock(&mut self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = self
            .client
            .query_opt("SELECT at_us FROM engine_clock WHERE id = 1", &[])
            .map_err(backend)?;
        row.map(|r| instant(r.get(0))).transpose()
    }

    fn set_clock(&mut self, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .execute(
                "INSERT INTO engine_clock (id, at_us) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET at_us = GREATEST(engine_clock.at_us, excluded.at_us)",
                &[&micros(at)],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn outbox_due(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT key, account_id, target, kind, payload, attempts FROM outbox \
                 WHERE delivered_us IS NULL AND cancelled_us IS NULL AND next_attempt_us <= $1 \
                 ORDER BY next_attempt_us, key LIMIT $2",
                &[&micros(now), &(limit as i64)],
            )
            .map_err(backend)?;
        outbox_rows(rows)
    }

    fn work_items(
        &mut self,
        team: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT key, account_id, target, kind, payload, attempts FROM outbox \
                 WHERE target = 'queue' AND worked_us IS NULL AND cancelled_us IS NULL \
                 AND (next_attempt_us <= $1 OR attempts > 0) AND ($2::TEXT IS NULL OR payload::json ->> 'team' = $2) \
                 ORDER BY next_attempt_us, key LIMIT $3",
                &[&micros(until), &team, &(limit as i64)],
            )
            .map_err(backend)?;
        outbox_rows(rows)
    }

    fn outbox_of(&mut self, target: Target) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT key, account_id, target, kind, payload, attempts FROM outbox \
                 WHERE target = $1 AND cancelled_us IS NULL ORDER BY created_us, key",
                &[&target.as_str()],
            )
            .map_err(backend)?;
        outbox_rows(rows)
    }

    fn work_done(
        &mut self,
        account: AccountId,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = self
            .client
            .execute(
                "UPDATE outbox SET worked_us = $3 WHERE key = $1 AND account_id = $2 \
                 AND target = 'queue' AND worked_us IS NULL AND cancelled_us IS NULL",
                &[&key, &account.get(), &micros(at)],
            )
            .map_err(backend)?;
        Ok(n == 1)
    }

    fn outbox_delivered(&mut self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .execute(
                "UPDATE outbox SET delivered_us = $2, attempts = attempts + 1, last_error = NULL WHERE key = $1",
                &[&key, &micros(at)],
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
        self.client
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_us = $3 WHERE key = $1",
                &[&key, &error, &micros(retry_at)],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn outbox_counts(&mut self) -> Result<(u64, u64, u64), StoreError> {
        let r = self
            .client
            .query_one(
                "SELECT COUNT(*) FILTER (WHERE delivered_us IS NULL AND cancelled_us IS NULL), \
                        COUNT(*) FILTER (WHERE delivered_us IS NOT NULL), \
                        COUNT(*) FILTER (WHERE cancelled_us IS NOT NULL) FROM outbox",
                &[],
            )
            .map_err(backend)?;
        let n = |i: usize| u64::try_from(r.get::<_, i64>(i)).unwrap_or(0);
        Ok((n(0), n(1), n(2)))
    }
}
