-- Rate limits shared by every server instance on this database: one token bucket per (limit,
-- key), refilled by the database's clock (`PgStore::take_rate_token`), so a client cannot
-- multiply its allowance by the number of instances. UNLOGGED: a bucket is worth a minute at most,
-- so it is not written to the WAL, and a crash of the database simply refills every bucket.
CREATE UNLOGGED TABLE rate_buckets (
    name   text PRIMARY KEY,
    tokens double precision NOT NULL,
    at_ms  bigint NOT NULL
);
