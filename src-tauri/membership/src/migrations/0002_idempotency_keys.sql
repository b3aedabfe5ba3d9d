-- The server's Idempotency-Keys (store/keys.rs), in the database of the data they guard, so a
-- write consumes its key in its own transaction. The desktop's embedded database has the table
-- too and leaves it empty.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    holder BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    applied INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    headers TEXT,
    body BLOB,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
CREATE TABLE idempotency_meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
