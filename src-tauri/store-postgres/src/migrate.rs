//! Append-only migrations, tracked in `schema_migrations`.
//!
//! All of them run in one transaction that first takes a transaction-level advisory lock, so two
//! server instances starting at once on an empty database cannot race: the second waits for the
//! first to commit, then (each statement of a READ COMMITTED transaction seeing what committed
//! before it) finds the schema in place and has nothing to do.
use membership::Error;
use postgres::Client;

use crate::{describe, unusable};

/// Each entry runs once, in order, as version `index + 1`. Never edit an entry that has shipped:
/// append a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_idempotency_keys.sql"),
    include_str!("../migrations/0003_idempotency_holder.sql"),
    include_str!("../migrations/0004_domain_proof.sql"),
    include_str!("../migrations/0005_pending_work.sql"),
    include_str!("../migrations/0006_delegation_handover.sql"),
    include_str!("../migrations/0007_privilege_reminders.sql"),
    include_str!("../migrations/0008_mail_outbox.sql"),
    include_str!("../migrations/0009_rate_limits.sql"),
];

/// The advisory lock key of migrations (any fixed number; this one spells "pdmigrat").
const MIGRATION_LOCK: i64 = 0x7064_6d69_6772_6174;

pub(crate) fn migrate(client: &mut Client) -> Result<(), Error> {
    let failed =
        |e: postgres::Error| Error::internal(format!("migrating the database: {}", describe(&e)));
    let mut tx = client.transaction().map_err(failed)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(failed)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL
         )",
    )
    .map_err(failed)?;
    let done: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(failed)?
        .get(0);
    let done = usize::try_from(done).unwrap_or(0);
    if done > MIGRATIONS.len() {
        return Err(unusable(
            "database_too_new",
            "This database was written by a newer version of Partner Desk. Update the app to open it.",
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.batch_execute(sql).map_err(failed)?;
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO schema_migrations(version, applied_at) VALUES ($1, now())",
            &[&version],
        )
        .map_err(failed)?;
    }
    tx.commit().map_err(failed)
}
