//! The membership store on PostgreSQL, for the server: the same rules as the SQLite store
//! (`membership::store::sqlite`) over the same questions and changes, with the same guarantees.
//!
//! - A read is one `REPEATABLE READ, READ ONLY` transaction: one consistent snapshot.
//! - A write is one `SERIALIZABLE` transaction, so a check and the change it guards cannot
//!   interleave with another writer. PostgreSQL answers a conflict with a serialization failure
//!   (SQLSTATE 40001) or a deadlock (40P01), at a statement or at commit; the store then rolls
//!   back and runs the closure again, a bounded number of times with a short random pause, so a
//!   person never sees one. Every write holds a database-wide advisory lock in shared mode; from
//!   the third try on a write takes it exclusively, so it runs alone, across every instance on
//!   the database, and cannot collide again (see `SERIALISE_FROM_ATTEMPT`). The seam allows the
//!   rerun (`membership::store::Store`).
//! - Event ids become visible in commit order (see `emit_event` in `tx.rs`), and each commit that
//!   wrote one notifies every instance listening (`listen.rs`).
//! - The audit log refuses updates, deletes and truncation in the database (triggers), and a
//!   domain belongs to at most one organisation (its primary key), as on SQLite.
//! - Migrations (`migrations/`) are append-only and run under an advisory lock (`migrate.rs`).
//! - The server's `Idempotency-Key`s live here too (`membership::store::keys`), so every
//!   instance on the database shares them, and a write consumes its key in its own transaction.
//! - Lookup keeps a table of directory words, split by `membership::domain::directory_words`,
//!   the port of SQLite's FTS5 tokenizer, so both stores find the same organisations.
#![forbid(unsafe_code)]

mod listen;
mod migrate;
mod pool;
mod tx;

pub use listen::{Listener, CHANNEL};

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use membership::store::keys::consume_key_guard;
use membership::store::{ReadTx, Store, WriteTx};
use membership::{Error, ErrorKind};
use postgres::error::SqlState;
use postgres::IsolationLevel;

use pool::Pool;
use tx::Tx;

/// How many times a write runs before a serialization failure is given up on.
const MAX_ATTEMPTS: u32 = 30;

/// From this attempt on, a write that keeps colliding takes the write lock ([`WRITE_LOCK`])
/// exclusively: it waits for the writes running now (each holds the lock shared) and runs
/// alone, so it cannot fail to serialise again; writes that start meanwhile wait behind it.
/// Under a burst of writers on one organisation (the fault test: 100 clients) plain retries gave
/// up after 10 serialization failures; with the exclusive lock taken only against other retries
/// (as before), two instances under 32 submitting clients still gave up after 30.
const SERIALISE_FROM_ATTEMPT: u32 = 3;

/// The advisory lock key of writes that collided (any fixed number; this one spells "pdwrites").
const WRITE_LOCK: i64 = 0x7064_7772_6974_6573;

/// The membership data in one PostgreSQL database.
pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, with
    /// `sslmode=disable|prefer|require`; see `pool.rs` for TLS), creates the schema or brings it
    /// up to date, and keeps a pool of connections.
    pub fn connect(url: &str) -> Result<PgStore, Error> {
        let pool = Pool::connect(url, migrate::migrate)?;
        Ok(PgStore { pool })
    }

    /// A way to hear of new events written by any instance (see [`Listener`]).
    pub fn listener(&self) -> Listener {
        self.pool.listener()
    }

    /// Like [`Store::write`], also answering how many times the closure ran (1 when nothing
    /// conflicted), for tests of the retry.
    pub fn write_counting<T>(
        &self,
        f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<T, Error>,
    ) -> Result<(T, u32), Error> {
        let mut conn = self.connection()?;
        let mut attempt = 1;
        loop {
            let (client, cache) = conn.parts();
            // Alone: the exclusive lock is taken before the transaction begins, so its snapshot is
            // taken once every other write has ended (a lock taken inside it would come after a
            // snapshot older than the writes it waited for, which could still conflict with them).
            let alone = attempt >= SERIALISE_FROM_ATTEMPT;
            if alone {
                if let Err(e) = client.execute("SELECT pg_advisory_lock($1)", &[&WRITE_LOCK]) {
                    match Failure::from_driver(e) {
                        Failure::Lost(_) if attempt < MAX_ATTEMPTS => {
                            conn = self.connection()?;
                            attempt += 1;
                            continue;
                        }
                        failure => return Err(failure.into_error()),
                    }
                }
            }
            let run = (|| {
                let mut pg = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::Serializable)
                    .start()
                    .map_err(Failure::from_driver)?;
                if !alone {
                    pg.execute("SELECT pg_advisory_xact_lock_shared($1)", &[&WRITE_LOCK])
                        .map_err(Failure::from_driver)?;
                }
                let mut tx = Tx::new(&mut pg, cache);
                // The claim this write runs under is consumed in its own transaction.
                let value = f(&mut tx).and_then(|v| consume_key_guard(&mut tx).map(|()| v));
                let failed = tx.take_failure();
                match (value, failed) {
                    // A statement failed (and aborted the transaction) even if the rule went on:
                    // never report such a run as done.
                    (_, Some(failure)) => Err(failure),
                    (Err(e), None) => Err(Failure::Rule(e)),
                    (Ok(v), None) => {
                        // The transaction's id, to ask after it should the connection go in the
                        // middle of the commit (NULL when it wrote nothing).
                        let xid: Option<i64> = pg
                            .query_one("SELECT txid_current_if_assigned()", &[])
                            .map_err(Failure::from_driver)?
                            .get(0);
                        match pg.commit() {
                            Ok(()) => Ok(Committed::Yes(v)),
                            Err(e) if connection_lost(&e) => match xid {
                                Some(xid) => Ok(Committed::Unknown(v, xid, describe(&e))),
                                None => Ok(Committed::Yes(v)),
                            },
                            Err(e) => Err(Failure::from_driver(e)),
                        }
                    }
                }
            })();
            if alone {
                // Gone with the connection if that is what failed.
                let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&WRITE_LOCK]);
            }
            match run {
                Ok(Committed::Yes(v)) => return Ok((v, attempt)),
                // The connection went while committing: the database knows whether it did.
                Ok(Committed::Unknown(v, xid, cause)) => match self.outcome_of(xid)? {
                    Some(true) => return Ok((v, attempt)),
                    Some(false) if attempt < MAX_ATTEMPTS => {
                        conn = self.connection()?;
                        attempt += 1;
                    }
                    _ => {
                        return Err(Error::internal(format!(
                            "the connection was lost while committing, and whether the change was saved is unknown: {cause}"
                        )))
                    }
                },
                Err(Failure::Lost(_)) if attempt < MAX_ATTEMPTS => {
                    // Nothing was committed: make the run again on a new connection.
                    conn = self.connection()?;
                    attempt += 1;
                }
                Err(Failure::Retry(_)) if attempt < MAX_ATTEMPTS => {
                    pause(attempt);
                    attempt += 1;
                }
                Err(Failure::Retry(cause)) | Err(Failure::Lost(cause)) => {
                    return Err(Error::internal(format!(
                        "gave up after {MAX_ATTEMPTS} attempts: {cause}"
                    )))
                }
                Err(Failure::Driver(e)) => return Err(e),
                Err(Failure::Rule(e)) => return Err(e),
            }
        }
    }

    /// A pooled connection; while the database is restarting, one as soon as it is back (for
    /// [`RECONNECT_FOR`] at most).
    fn connection(&self) -> Result<r2d2::PooledConnection<pool::Manager>, Error> {
        let until = std::time::Instant::now() + RECONNECT_FOR;
        loop {
            match self.pool.get() {
                Ok(conn) => return Ok(conn),
                Err(e) if std::time::Instant::now() >= until => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Whether the transaction `xid` committed (`Some(true)`), was rolled back (`Some(false)`), or
    /// is too old for the database to say (`None`), asked once the database answers again.
    fn outcome_of(&self, xid: i64) -> Result<Option<bool>, Error> {
        let until = std::time::Instant::now() + RECONNECT_FOR;
        loop {
            let asked = self.connection().and_then(|mut conn| {
                let (client, _) = conn.parts();
                client
                    .query_one("SELECT txid_status($1)", &[&xid])
                    .map(|row| row.get::<_, Option<String>>(0))
                    .map_err(driver_error)
            });
            match asked.as_ref().map(|s| s.as_deref()) {
                Ok(Some("committed")) => return Ok(Some(true)),
                Ok(Some("aborted")) => return Ok(Some(false)),
                Ok(None) => return Ok(None),
                // "in progress" (its backend has not noticed the connection is gone yet), or no
                // answer yet: ask again.
                _ if std::time::Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                _ => return asked.map(|_| None),
            }
        }
    }
}

/// How a write's commit ended: done, or unknown because the connection went during it.
enum Committed<T> {
    Yes(T),
    Unknown(T, i64, String),
}

/// Takes one token from a shared bucket, in one statement: the bucket refills at its rate since
/// it was last touched (by the database's clock, the same for every instance), up to its size.
const TAKE_TOKEN: &str = "
    INSERT INTO rate_buckets AS b (name, tokens, at_ms)
    VALUES ($1, $2::float8 - 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
    ON CONFLICT (name) DO UPDATE SET
        tokens = least($2::float8, b.tokens + (excluded.at_ms - b.at_ms) * $3::float8 / 1000.0) - 1,
        at_ms = excluded.at_ms
    WHERE least($2::float8, b.tokens + (excluded.at_ms - b.at_ms) * $3::float8 / 1000.0) >= 1
    RETURNING tokens";

/// What a refused bucket holds now, for how long to wait.
const BUCKET_NOW: &str = "
    SELECT least($2::float8, tokens + ((extract(epoch FROM clock_timestamp()) * 1000)::bigint - at_ms) * $3::float8 / 1000.0)
    FROM rate_buckets WHERE name = $1";

impl PgStore {
    /// Takes one token from the shared rate-limit bucket `name` (`capacity` tokens, `per_sec`
    /// coming back a second), for every instance on this database at once: `Ok(Ok(()))` when
    /// taken, `Ok(Err(wait))` when the bucket is empty (how long until a token is back).
    pub fn take_rate_token(
        &self,
        name: &str,
        capacity: f64,
        per_sec: f64,
    ) -> Result<Result<(), Duration>, Error> {
        let mut conn = self.pool.get()?;
        let (client, cache) = conn.parts();
        let mut tx = client.transaction().map_err(driver_error)?;
        let mut q = Tx::new(&mut tx, cache);
        let taken = q.take_token(TAKE_TOKEN, BUCKET_NOW, name, capacity, per_sec);
        if let Some(failure) = q.take_failure() {
            return Err(failure.into_error());
        }
        let taken = taken?;
        tx.commit().map_err(driver_error)?;
        Ok(taken)
    }

    /// Forgets buckets nobody has drawn on for ten minutes (every bucket is full again within a
    /// minute), so the table holds only the callers of the last minutes.
    pub fn forget_idle_rate_buckets(&self) -> Result<u64, Error> {
        let mut conn = self.pool.get()?;
        let (client, _) = conn.parts();
        client
            .execute(
                "DELETE FROM rate_buckets WHERE at_ms < (extract(epoch FROM clock_timestamp()) * 1000)::bigint - 600000",
                &[],
            )
            .map_err(driver_error)
    }
}

impl Store for PgStore {
    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn ReadTx) -> Result<T, Error>) -> Result<T, Error> {
        // A read whose connection went (the database restarted) is made again on a new one.
        let mut attempt = 1;
        loop {
            let mut conn = self.connection()?;
            let (client, cache) = conn.parts();
            let run = (|| {
                let mut pg = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .map_err(Failure::from_driver)?;
                let mut tx = Tx::new(&mut pg, cache);
                let value = f(&mut tx);
                if let Some(failure) = tx.take_failure() {
                    return Err(failure);
                }
                let value = value.map_err(Failure::Rule)?;
                pg.commit().map_err(Failure::from_driver)?;
                Ok(value)
            })();
            match run {
                Ok(v) => return Ok(v),
                Err(Failure::Lost(_)) if attempt < MAX_ATTEMPTS => attempt += 1,
                Err(failure) => return Err(failure.into_error()),
            }
        }
    }

    fn write<T>(
        &self,
        f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.write_counting(f).map(|(v, _)| v)
    }
}

/// Why a run of a write ended without committing.
pub(crate) enum Failure {
    /// A serialization failure or deadlock: run it again. Holds the cause for the log.
    Retry(String),
    /// The connection went away (the database restarted, or the network dropped) before the
    /// commit: nothing was saved, so the run can be made again on a new connection.
    Lost(String),
    /// Any other database failure, already an `internal` error.
    Driver(Error),
    /// The rule refused.
    Rule(Error),
}

impl Failure {
    pub(crate) fn from_driver(e: postgres::Error) -> Failure {
        if connection_lost(&e) {
            return Failure::Lost(describe(&e));
        }
        match e.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                Failure::Retry(describe(&e))
            }
            _ => Failure::Driver(driver_error(e)),
        }
    }

    fn into_error(self) -> Error {
        match self {
            Failure::Retry(cause) | Failure::Lost(cause) => Error::internal(cause),
            Failure::Driver(e) | Failure::Rule(e) => e,
        }
    }
}

/// A driver error as the caller sees it: `internal`, with what failed kept for the log. One
/// exception: PostgreSQL's text cannot hold U+0000, which SQLite's can; every text the rules
/// store is checked before (names refuse control characters), so such a value is an identifier
/// or a key that was asked for, and nothing has it: "not found", as SQLite answers.
pub(crate) fn driver_error(e: postgres::Error) -> Error {
    driver_error_ref(&e)
}

pub(crate) fn driver_error_ref(e: &postgres::Error) -> Error {
    if e.code() == Some(&SqlState::CHARACTER_NOT_IN_REPERTOIRE) {
        return Error::new(
            membership::ErrorKind::NotFound,
            "not_found",
            "Nothing was found with that identifier: it holds a character no identifier has.",
        );
    }
    Error::internal(describe(e))
}

/// What failed, for the operator's log: the server's message and SQLSTATE, never its `DETAIL`
/// (which quotes the values of the row, such as an email address).
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("PostgreSQL {}: {}", db.code().code(), db.message()),
        None => {
            // The client's own words are general ("error connecting to server"); the reason
            // (refused, timed out, a TLS failure) is in its source. Neither quotes the URL.
            let mut text = format!("PostgreSQL client: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

/// A short random pause before running a write again, longer after each failure (at most
/// about 100 ms), so that two writers that keep colliding drift apart.
/// Whether `e` means the connection is gone (closed, reset, refused) rather than a refusal by
/// the database.
fn connection_lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.as_db_error().is_none()
            && std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        || e.as_db_error().is_some_and(|db| {
            // The server is shutting down or starting up (a restart): this connection is done.
            db.code() == &SqlState::ADMIN_SHUTDOWN
                || db.code() == &SqlState::CRASH_SHUTDOWN
                || db.code() == &SqlState::CANNOT_CONNECT_NOW
        })
}

/// How long a write waits for the database to come back after losing its connection.
const RECONNECT_FOR: Duration = Duration::from_secs(20);

fn pause(attempt: u32) {
    let cap_ms = (2u64 << attempt.min(6)).min(100);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    std::thread::sleep(Duration::from_micros(random % (cap_ms * 1000) + 500));
}

/// The store's refusals when it cannot start.
pub(crate) fn unusable(code: &'static str, message: &'static str) -> Error {
    Error::new(ErrorKind::Internal, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_store_can_be_shared_between_threads() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<PgStore>();
    }
}
