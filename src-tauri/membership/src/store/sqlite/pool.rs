//! SQLite: connection settings, append-only migrations tracked in `user_version`, and a small
//! pool so readers do not queue behind each other.
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::Connection;

use crate::{Error, Timestamp};

/// Opens a connection with the settings every connection must have.
pub(crate) fn connect(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA trusted_schema = OFF;",
    )?;
    Ok(conn)
}

/// Each entry runs once, in order; `user_version` records how many have run. Never edit an
/// entry that has shipped: append a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_idempotency_keys.sql"),
    include_str!("../../migrations/0003_domain_proof.sql"),
    include_str!("../../migrations/0004_pending_work.sql"),
    include_str!("../../migrations/0005_delegation_handover.sql"),
    include_str!("../../migrations/0006_privilege_reminders.sql"),
    include_str!("../../migrations/0007_mail_outbox.sql"),
    include_str!("../../migrations/0008_longer_prefixes.sql"),
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), Error> {
    // A migration that rebuilds a table others refer to drops the old one, which with foreign
    // keys on would delete (or refuse) the rows that refer to it. SQLite's own procedure: keys
    // off outside the transaction, `foreign_key_check` before commit, keys on again.
    conn.pragma_update(None, "foreign_keys", false)?;
    let migrated = migrate_unchecked(conn);
    conn.pragma_update(None, "foreign_keys", true)?;
    migrated
}

fn migrate_unchecked(conn: &mut Connection) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    let done: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if done > MIGRATIONS.len() {
        return Err(Error::new(
            crate::ErrorKind::Internal,
            "database_too_new",
            "This database was written by a newer version of Partner Desk. Update the app to open it.",
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    let broken: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        return Err(Error::internal(format!(
            "a migration left {broken} row(s) referring to rows that do not exist"
        )));
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn from_unix(secs: i64) -> Timestamp {
    Timestamp::from_unix_timestamp(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Connections kept for reuse. A connection dropped here is costly to replace: a new one parses
/// the whole schema on its first statement and starts with no prepared statements, which under
/// load cost more than the lookups themselves (profiled: see docs/BENCHMARKS.md). The server runs
/// at most a few operations at once (`AppState::blocking`), so this many covers it.
const MAX_IDLE: usize = 32;

/// A handful of connections to one database file. Writes take `BEGIN IMMEDIATE`, so SQLite
/// itself serialises writers and a transaction that reads-then-writes sees the latest state.
pub(crate) struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a pooled connection is present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a pooled connection is present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }
}

impl Pool {
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let mut conn = connect(path)?;
        migrate(&mut conn)?;
        Ok(Self {
            path: path.to_owned(),
            idle: Mutex::new(vec![conn]),
        })
    }

    pub(crate) fn get(&self) -> Result<Pooled<'_>, Error> {
        let existing = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match existing {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        Ok(Pooled {
            pool: self,
            conn: Some(conn),
        })
    }
}
