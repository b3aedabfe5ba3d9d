//! `Idempotency-Key` on creating writes and on the profile edit: a repeat with the same key and the
//! same request (method, path, body and `If-Match`) gets the first answer, replayed, and changes
//! nothing; the same key with another request is refused.
//!
//! Keys are keyed by (account or `anonymous`, key). On SQLite they live in the server's own small
//! database beside the main one, where claiming a key is one `INSERT` under `BEGIN IMMEDIATE`; on
//! PostgreSQL they live in the membership database itself (`store_postgres::KeyTable`), where a
//! claim is one transaction on the key's row. Either way, of two simultaneous identical
//! submissions exactly one runs, the other waits for the first answer and replays it, and this
//! holds across server processes sharing the database.
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::extract::{authenticate, bearer_token, Authenticated};
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
/// Set on an answer that is a replay of the first one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a key is remembered.
const KEEP_SECS: i64 = 24 * 3600;
/// Headers of the first answer that a replay repeats.
const REPLAYED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::ETAG, header::LOCATION];

/// What claiming a key found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or its holder died): run the request, then [`IdempotencyStore::complete`].
    Owner,
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
    /// The first answer.
    Replay(Stored),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub struct IdempotencyStore {
    keys: Keys,
    /// Mixed into every fingerprint: a body may hold a password, so its plain SHA-256 would be a
    /// fast offline guessing target for anyone holding the file.
    salt: Vec<u8>,
    /// A claim older than this without an answer belongs to a request that died.
    stale_after_secs: i64,
}

enum Keys {
    Sqlite(Mutex<Connection>),
    Postgres(store_postgres::KeyTable),
}

/// A failure of the key table, for the log only.
pub type KeyError = String;

impl IdempotencyStore {
    /// The keys of a server on PostgreSQL: in the membership database.
    pub fn on_postgres(url: &str, stale_after: Duration) -> Result<Self, KeyError> {
        let table = store_postgres::KeyTable::connect(url).map_err(|e| crate::for_operator(&e))?;
        let salt = table
            .salt(&fresh_salt()?)
            .map_err(|e| crate::for_operator(&e))?;
        Ok(Self {
            keys: Keys::Postgres(table),
            salt,
            stale_after_secs: stale_after.as_secs().max(1) as i64,
        })
    }

    /// The keys of a server on SQLite: in their own file at `path`.
    pub fn open(path: &Path, stale_after: Duration) -> Result<Self, KeyError> {
        Self::open_sqlite(path, stale_after).map_err(|e| e.to_string())
    }

    fn open_sqlite(path: &Path, stale_after: Duration) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS idempotency_keys(
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                status INTEGER,
                headers TEXT,
                body BLOB,
                PRIMARY KEY (scope, key)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys(created_at);
             CREATE TABLE IF NOT EXISTS idempotency_meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);",
        )?;
        let fresh = fresh_salt().map_err(|e| {
            rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::other(e)))
        })?;
        // The first process to open the file picks the salt; every later one reads the same.
        conn.execute(
            "INSERT OR IGNORE INTO idempotency_meta(name, value) VALUES ('salt', ?1)",
            [&fresh[..]],
        )?;
        let salt: Vec<u8> = conn.query_row(
            "SELECT value FROM idempotency_meta WHERE name = 'salt'",
            [],
            |r| r.get(0),
        )?;
        Ok(Self {
            keys: Keys::Sqlite(Mutex::new(conn)),
            salt,
            stale_after_secs: stale_after.as_secs().max(1) as i64,
        })
    }

    pub fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        now: i64,
    ) -> Result<Claim, KeyError> {
        match &self.keys {
            Keys::Sqlite(conn) => {
                let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                self.claim_sqlite(&mut conn, scope, key, fingerprint, now)
                    .map_err(|e| e.to_string())
            }
            Keys::Postgres(table) => {
                use store_postgres::KeyClaim;
                let claim = table
                    .claim(
                        scope,
                        key,
                        fingerprint,
                        now,
                        KEEP_SECS,
                        self.stale_after_secs,
                    )
                    .map_err(|e| crate::for_operator(&e))?;
                Ok(match claim {
                    KeyClaim::Owner => Claim::Owner,
                    KeyClaim::InProgress => Claim::InProgress,
                    KeyClaim::Mismatch => Claim::Mismatch,
                    KeyClaim::Replay {
                        status,
                        headers,
                        body,
                    } => Claim::Replay(Stored {
                        status,
                        headers: serde_json::from_str(&headers).unwrap_or_default(),
                        body,
                    }),
                })
            }
        }
    }

    fn claim_sqlite(
        &self,
        conn: &mut Connection,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        now: i64,
    ) -> rusqlite::Result<Claim> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE created_at < ?1",
            [now - KEEP_SECS],
        )?;
        type Row = (Vec<u8>, i64, Option<u16>, Option<String>, Option<Vec<u8>>);
        let row: Option<Row> = tx
            .query_row(
                "SELECT fingerprint, created_at, status, headers, body FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
                params![scope, key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let claim = match row {
            None => {
                tx.execute(
                    "INSERT INTO idempotency_keys(scope, key, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![scope, key, fingerprint, now],
                )?;
                Claim::Owner
            }
            Some((fp, _, _, _, _)) if fp != fingerprint => Claim::Mismatch,
            Some((_, _, Some(status), headers, body)) => Claim::Replay(Stored {
                status,
                headers: headers
                    .and_then(|h| serde_json::from_str(&h).ok())
                    .unwrap_or_default(),
                body: body.unwrap_or_default(),
            }),
            Some((_, created, None, _, _)) if created < now - self.stale_after_secs => {
                tx.execute(
                    "UPDATE idempotency_keys SET created_at = ?3 WHERE scope = ?1 AND key = ?2",
                    params![scope, key, now],
                )?;
                Claim::Owner
            }
            Some(_) => Claim::InProgress,
        };
        tx.commit()?;
        Ok(claim)
    }

    pub fn complete(&self, scope: &str, key: &str, answer: &Stored) -> Result<(), KeyError> {
        let headers = serde_json::to_string(&answer.headers).unwrap_or_else(|_| "[]".into());
        match &self.keys {
            Keys::Sqlite(conn) => conn
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .execute(
                    "UPDATE idempotency_keys SET status = ?3, headers = ?4, body = ?5 WHERE scope = ?1 AND key = ?2",
                    params![scope, key, answer.status, headers, answer.body],
                )
                .map(drop)
                .map_err(|e| e.to_string()),
            Keys::Postgres(table) => table
                .complete(scope, key, answer.status, &headers, &answer.body)
                .map_err(|e| crate::for_operator(&e)),
        }
    }

    /// Forgets a claim whose request failed in a way worth retrying (5xx, 429, timeout).
    pub fn release(&self, scope: &str, key: &str) -> Result<(), KeyError> {
        match &self.keys {
            Keys::Sqlite(conn) => conn
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .execute(
                    "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND status IS NULL",
                    params![scope, key],
                )
                .map(drop)
                .map_err(|e| e.to_string()),
            Keys::Postgres(table) => table
                .release(scope, key)
                .map_err(|e| crate::for_operator(&e)),
        }
    }
}

fn fresh_salt() -> Result<[u8; 32], KeyError> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| e.to_string())?;
    Ok(fresh)
}

/// `if_match` is part of the request: the same edit based on another revision is another request
/// (its first answer, a 412 for example, says nothing about it). Only mixed in when present, so
/// the fingerprints of creating writes stay what they were.
fn fingerprint(
    salt: &[u8],
    method: &str,
    path: &str,
    if_match: Option<&[u8]>,
    body: &[u8],
) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    if let Some(tag) = if_match {
        h.update(b"if-match:");
        h.update(tag);
        h.update([0]);
    }
    h.update(body);
    h.finalize().to_vec()
}

fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Is this answer the lasting outcome of the request (so a repeat should see it again)?
fn is_final(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT)
}

async fn store<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&IdempotencyStore) -> Result<T, KeyError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.idempotency.clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!(error = ?e, "idempotency store failed");
            Err(ApiError::internal())
        }
        Err(_) => Err(ApiError::internal()),
    }
}

fn replay(stored: Stored) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = status;
    for (name, value) in stored.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
        .headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// The middleware on every route marked `idempotent`.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match run(state, request, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn run(state: AppState, request: Request, next: Next) -> Result<Response, ApiError> {
    let Some(key) = request.headers().get(HEADER) else {
        return Ok(next.run(request).await);
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| valid_key(k))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "The Idempotency-Key header must be 1 to 255 visible ASCII characters; a UUID is a good choice.",
            )
        })?
        .to_owned();

    let (mut parts, body) = request.into_parts();
    // The body-limit layer around this one has already bounded the body; this only buffers it.
    let bytes: Bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|_| ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE))?;

    // The key's scope is the caller's account; a bad token is left for the handler to refuse.
    let scope = match bearer_token(&parts) {
        None => "anonymous".to_owned(),
        Some(token) => match authenticate(&state, token.clone()).await {
            Ok(caller) => {
                let scope = format!("account:{}", caller.account_id());
                parts.extensions.insert(Authenticated(caller, token));
                scope
            }
            Err(_) => {
                return Ok(next
                    .run(Request::from_parts(parts, Body::from(bytes)))
                    .await);
            }
        },
    };
    let fp = fingerprint(
        &state.idempotency.salt,
        parts.method.as_str(),
        parts.uri.path(),
        parts
            .headers
            .get(header::IF_MATCH)
            .map(HeaderValue::as_bytes),
        &bytes,
    );

    // From the claim on, everything runs in its own task, which a client that goes away (an app
    // killed mid-request) cannot cancel: a claim whose request never ran, or whose answer was
    // never recorded, would refuse every retry as "in progress" until it turned stale, and a
    // later takeover could run the write twice.
    let request = Request::from_parts(parts, Body::from(bytes));
    let owned = tokio::spawn(claim_and_run(state, scope, key, fp, next, request));
    owned.await.unwrap_or_else(|_| Err(ApiError::internal()))
}

/// Claims the key (waiting for a first request with it that is still running) and runs the
/// request as its owner, or answers with the first answer or a refusal.
async fn claim_and_run(
    state: AppState,
    scope: String,
    key: String,
    fp: Vec<u8>,
    next: Next,
    request: Request,
) -> Result<Response, ApiError> {
    let deadline = Instant::now() + state.request_timeout;
    loop {
        let (s, k, f) = (scope.clone(), key.clone(), fp.clone());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match store(&state, move |st| st.claim(&s, &k, &f, now)).await? {
            Claim::Owner => break,
            Claim::Replay(stored) => return Ok(replay(stored)),
            Claim::Mismatch => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
                ))
            }
            Claim::InProgress if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Claim::InProgress => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_in_progress",
                    "A request with this Idempotency-Key is still being processed. Try again in a moment to get its answer.",
                ))
            }
        }
    }
    finish(state, scope, key, next, request).await
}

/// Runs the claimed request and records its answer (or releases the key when the answer is
/// worth retrying).
async fn finish(
    state: AppState,
    scope: String,
    key: String,
    next: Next,
    request: Request,
) -> Result<Response, ApiError> {
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            store(&state, move |st| st.release(&scope, &key)).await?;
            return Err(ApiError::internal());
        }
    };
    if is_final(parts.status) {
        let stored = Stored {
            status: parts.status.as_u16(),
            headers: REPLAYED_HEADERS
                .iter()
                .filter_map(|n| {
                    let v = parts.headers.get(n)?.to_str().ok()?;
                    Some((n.as_str().to_owned(), v.to_owned()))
                })
                .collect(),
            body: body.to_vec(),
        };
        store(&state, move |st| st.complete(&scope, &key, &stored)).await?;
    } else {
        store(&state, move |st| st.release(&scope, &key)).await?;
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, IdempotencyStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = IdempotencyStore::open(&dir.path().join("idem.sqlite3"), Duration::from_secs(60))
            .expect("opens");
        (dir, s)
    }

    #[test]
    fn a_key_is_claimed_once_then_replayed_and_refused_for_another_request() {
        let (_d, s) = store();
        assert_eq!(s.claim("a", "k", b"fp1", 100).unwrap(), Claim::Owner);
        assert_eq!(s.claim("a", "k", b"fp1", 100).unwrap(), Claim::InProgress);
        assert_eq!(
            s.claim("b", "k", b"fp1", 100).unwrap(),
            Claim::Owner,
            "scopes are separate"
        );
        let answer = Stored {
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{}".to_vec(),
        };
        s.complete("a", "k", &answer).unwrap();
        assert_eq!(
            s.claim("a", "k", b"fp1", 101).unwrap(),
            Claim::Replay(answer)
        );
        assert_eq!(s.claim("a", "k", b"fp2", 101).unwrap(), Claim::Mismatch);
    }

    #[test]
    fn a_released_or_stale_claim_can_be_taken_again_and_old_keys_are_forgotten() {
        let (_d, s) = store();
        assert_eq!(s.claim("a", "k", b"fp", 100).unwrap(), Claim::Owner);
        s.release("a", "k").unwrap();
        assert_eq!(s.claim("a", "k", b"fp", 100).unwrap(), Claim::Owner);
        assert_eq!(
            s.claim("a", "k", b"fp", 100 + 61).unwrap(),
            Claim::Owner,
            "the holder of a claim this old has died"
        );
        s.complete(
            "a",
            "k",
            &Stored {
                status: 201,
                headers: vec![],
                body: vec![],
            },
        )
        .unwrap();
        assert_eq!(
            s.claim("a", "k", b"other", 161 + KEEP_SECS + 1).unwrap(),
            Claim::Owner,
            "a key is remembered for a day"
        );
    }

    #[test]
    fn fingerprints_are_salted_per_database_and_the_salt_survives_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("idem.sqlite3");
        let first = IdempotencyStore::open(&path, Duration::from_secs(60)).expect("opens");
        let again = IdempotencyStore::open(&path, Duration::from_secs(60)).expect("reopens");
        assert_eq!(first.salt, again.salt, "every process on one file agrees");
        assert_eq!(first.salt.len(), 32);
        let (_d, other) = store();
        assert_ne!(
            fingerprint(&first.salt, "POST", "/v1/accounts", None, b"{}"),
            fingerprint(&other.salt, "POST", "/v1/accounts", None, b"{}"),
        );
    }

    #[test]
    fn the_same_edit_on_another_revision_is_another_request() {
        let fp = |tag: Option<&[u8]>| fingerprint(b"salt", "PATCH", "/v1/p", tag, b"{}");
        assert_ne!(fp(Some(b"\"1\"")), fp(Some(b"\"2\"")));
        assert_ne!(fp(Some(b"\"1\"")), fp(None));
        assert_eq!(fp(Some(b"\"1\"")), fp(Some(b"\"1\"")));
    }
}
