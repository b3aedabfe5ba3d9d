-- A write consumes the Idempotency-Key it runs under in its own transaction (membership's
-- store/keys.rs): the claim's random holder, and whether a write under it committed. Claims made
-- before this migration have no holder; no write can consume them, so they are taken over once
-- stale, as before.
ALTER TABLE idempotency_keys ADD COLUMN holder bytea NOT NULL DEFAULT '\x'::bytea;
ALTER TABLE idempotency_keys ADD COLUMN applied boolean NOT NULL DEFAULT false;
