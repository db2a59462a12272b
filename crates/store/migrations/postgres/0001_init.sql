-- The engine's store, version 1. Instants are microseconds since the Unix epoch, UTC.

-- Every event of every account, external and the engine's own; the id makes ingestion idempotent.
CREATE TABLE events (
    event_id   TEXT    NOT NULL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    at_us      BIGINT NOT NULL,
    kind       TEXT    NOT NULL,
    body       TEXT    NOT NULL
);
CREATE INDEX events_by_account ON events (account_id, at_us);

-- When each account must be looked at next (NULL: nothing scheduled) and when it last was.
CREATE TABLE accounts (
    account_id   BIGINT NOT NULL PRIMARY KEY,
    due_us       BIGINT,
    evaluated_us BIGINT
);
CREATE INDEX accounts_due ON accounts (due_us) WHERE due_us IS NOT NULL;

-- Effects to deliver, written in the same transaction as the events that caused them.
CREATE TABLE outbox (
    key             TEXT    NOT NULL PRIMARY KEY,
    account_id      BIGINT NOT NULL,
    target          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    created_us      BIGINT NOT NULL,
    next_attempt_us BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_us    BIGINT,
    cancelled_us    BIGINT
);
CREATE INDEX outbox_pending ON outbox (next_attempt_us)
    WHERE delivered_us IS NULL AND cancelled_us IS NULL;

-- The engine's clock: the latest instant ticked to.
CREATE TABLE engine_clock (
    id    SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    at_us BIGINT NOT NULL
);
