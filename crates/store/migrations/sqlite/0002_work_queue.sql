-- Agents' work queues: a queue item (call-back, dispute, hardship review) is worked when an
-- agent records its outcome.
ALTER TABLE outbox ADD COLUMN worked_us INTEGER;
CREATE INDEX outbox_queue ON outbox (next_attempt_us)
    WHERE target = 'queue' AND worked_us IS NULL AND cancelled_us IS NULL;
-- Agency and legal items, read by the desk and the reports.
CREATE INDEX outbox_target ON outbox (target, created_us);
