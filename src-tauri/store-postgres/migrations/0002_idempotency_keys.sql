-- The server's Idempotency-Key table (see src/keys.rs): shared by every instance on this database.
CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint bytea NOT NULL,
    created_at bigint NOT NULL,
    status integer,
    headers text,
    body bytea,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE TABLE idempotency_meta (
    name text PRIMARY KEY,
    value bytea NOT NULL
);
