//! The server's `Idempotency-Key` table on PostgreSQL: in the membership database, so every
//! instance sharing it sees the same keys (a retry that lands on another instance gets the first
//! answer). The server's `idempotency` module holds the rules (fingerprints, what is final); this
//! is only their storage. A claim is one transaction on the key's row: an `INSERT … ON CONFLICT DO
//! NOTHING` decides who owns a new key, and an existing row is read `FOR UPDATE`, so of two
//! identical submissions at once exactly one runs.
use membership::Error;

use crate::pool::Pool;
use crate::{driver_error, migrate};

/// What claiming a key found (the server turns it into its own `Claim`).
#[derive(Debug, PartialEq, Eq)]
pub enum KeyClaim {
    /// New, or left by a request that died: run the request, then [`KeyTable::complete`].
    Owner,
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
    /// The first answer: its status, headers (as the server stored them) and body.
    Replay {
        status: u16,
        headers: String,
        body: Vec<u8>,
    },
}

pub struct KeyTable {
    pool: Pool,
}

impl KeyTable {
    /// Connects to the membership database at `url` (migrating it, as the store does).
    pub fn connect(url: &str) -> Result<Self, Error> {
        Ok(Self {
            pool: Pool::connect(url, migrate::migrate)?,
        })
    }

    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error>,
    ) -> Result<T, Error> {
        let mut conn = self.pool.get()?;
        f(conn.parts().0).map_err(driver_error)
    }

    /// The fingerprint salt every instance shares: `fresh` if none was chosen yet.
    pub fn salt(&self, fresh: &[u8]) -> Result<Vec<u8>, Error> {
        self.with_client(|c| {
            c.execute(
                "INSERT INTO idempotency_meta(name, value) VALUES ('salt', $1) ON CONFLICT (name) DO NOTHING",
                &[&fresh],
            )?;
            let row = c.query_one("SELECT value FROM idempotency_meta WHERE name = 'salt'", &[])?;
            Ok(row.get(0))
        })
    }

    /// Claims `key` for a request with `fingerprint` at `now` (unix seconds). Keys older than
    /// `keep_secs` are forgotten; a claim without an answer older than `stale_after_secs`
    /// belongs to a request that died and is taken over.
    pub fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        now: i64,
        keep_secs: i64,
        stale_after_secs: i64,
    ) -> Result<KeyClaim, Error> {
        self.with_client(|c| {
        let mut tx = c.transaction()?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            &[&(now - keep_secs)],
        )
        ?;
        let inserted = tx
            .execute(
                "INSERT INTO idempotency_keys(scope, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (scope, key) DO NOTHING",
                &[&scope, &key, &fingerprint, &now],
            )
            ?;
        let claim = if inserted == 1 {
            KeyClaim::Owner
        } else {
            // The row exists (ON CONFLICT waited for its inserter to commit); lock it.
            let row = tx
                .query_opt(
                    "SELECT fingerprint, created_at, status, headers, body FROM idempotency_keys
                     WHERE scope = $1 AND key = $2 FOR UPDATE",
                    &[&scope, &key],
                )
                ?;
            match row {
                // Released between the two statements: the key is free again.
                None => {
                    tx.execute(
                        "INSERT INTO idempotency_keys(scope, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (scope, key) DO NOTHING",
                        &[&scope, &key, &fingerprint, &now],
                    )
                    ?;
                    KeyClaim::Owner
                }
                Some(row) => {
                    let stored: Vec<u8> = row.get(0);
                    let created: i64 = row.get(1);
                    let status: Option<i32> = row.get(2);
                    if stored != fingerprint {
                        KeyClaim::Mismatch
                    } else if let Some(status) = status {
                        KeyClaim::Replay {
                            status: u16::try_from(status).unwrap_or(500),
                            headers: row.get::<_, Option<String>>(3).unwrap_or_default(),
                            body: row.get::<_, Option<Vec<u8>>>(4).unwrap_or_default(),
                        }
                    } else if created < now - stale_after_secs {
                        tx.execute(
                            "UPDATE idempotency_keys SET created_at = $3 WHERE scope = $1 AND key = $2",
                            &[&scope, &key, &now],
                        )
                        ?;
                        KeyClaim::Owner
                    } else {
                        KeyClaim::InProgress
                    }
                }
            }
        };
        tx.commit()?;
        Ok(claim)
        })
    }

    /// Records the first answer of the request that holds `key`.
    pub fn complete(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        headers: &str,
        body: &[u8],
    ) -> Result<(), Error> {
        self.with_client(|c| {
            c.execute(
                "UPDATE idempotency_keys SET status = $3, headers = $4, body = $5 WHERE scope = $1 AND key = $2",
                &[&scope, &key, &i32::from(status), &headers, &body],
            )
            .map(drop)
        })
    }

    /// Forgets a claim that has no answer (its request failed in a way worth retrying).
    pub fn release(&self, scope: &str, key: &str) -> Result<(), Error> {
        self.with_client(|c| {
            c.execute(
                "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL",
                &[&scope, &key],
            )
            .map(drop)
        })
    }
}
