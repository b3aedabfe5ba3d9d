//! `Idempotency-Key` on creating writes and on the profile edit: a repeat with the same key and the
//! same request (method, path, body and `If-Match`) gets the first answer, replayed, and changes
//! nothing; the same key with another request is refused.
//!
//! Keys are keyed by (account or `anonymous`, key) and live in the membership database itself,
//! on either store (`membership::store::keys`), so every server process on one database shares
//! them. The request runs with its claim in scope ([`CLAIM`]): [`AppState::blocking`] hands it to
//! the store, whose write consumes the key in the same transaction as the change it guards. Of
//! two simultaneous identical submissions exactly one runs, the other waits for the first answer
//! and replays it; a claim taken over from a request that seemed dead can never let both
//! writes commit; and a server that dies between the commit and recording the answer leaves a
//! key that refuses to run the change again.
//!
//! [`AppState::blocking`]: crate::state::AppState::blocking
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use membership::store::keys::{KeyClaim, KeyGuard, KeyPolicy, StoredAnswer};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::extract::{authenticate, bearer_token, Authenticated};
use crate::state::{AppState, Rules};

pub const HEADER: &str = "idempotency-key";
/// Set on an answer that is a replay of the first one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a key is remembered.
const KEEP_SECS: i64 = 24 * 3600;
/// Headers of the first answer that a replay repeats.
const REPLAYED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::ETAG, header::LOCATION];

tokio::task_local! {
    /// The claim the running request holds, for the store writes it makes.
    static CLAIM: KeyGuard;
}

/// The claim of the request running on this task, if it holds one.
pub fn current_claim() -> Option<KeyGuard> {
    CLAIM.try_with(KeyGuard::clone).ok()
}

pub struct IdempotencyStore {
    rules: Arc<Rules>,
    /// Mixed into every fingerprint: a body may hold a password, so its plain SHA-256 would be a
    /// fast offline guessing target for anyone holding the database.
    salt: Vec<u8>,
    policy: KeyPolicy,
}

/// A failure of the key table, for the log only.
pub type KeyError = String;

impl IdempotencyStore {
    /// The keys in the store `rules` run on. A claim with no answer older than `stale_after`
    /// belongs to a request that died.
    pub fn new(rules: Arc<Rules>, stale_after: Duration) -> Result<Self, KeyError> {
        let salt = rules
            .idempotency_keys()
            .salt(&fresh_salt()?)
            .map_err(|e| crate::for_operator(&e))?;
        Ok(Self {
            rules,
            salt,
            policy: KeyPolicy {
                keep_secs: KEEP_SECS,
                stale_after_secs: stale_after.as_secs().max(1) as i64,
            },
        })
    }

    fn claim(&self, guard: &KeyGuard, fingerprint: &[u8], now: i64) -> Result<KeyClaim, KeyError> {
        self.rules
            .idempotency_keys()
            .claim(guard, fingerprint, now, self.policy)
            .map_err(|e| crate::for_operator(&e))
    }

    /// Records the answer: as the key's first answer if it is final, or if a change was made
    /// under the key (which must never run again); otherwise gives the key up for a retry.
    fn settle(
        &self,
        guard: &KeyGuard,
        answer: &StoredAnswer,
        is_final: bool,
    ) -> Result<(), KeyError> {
        let keys = self.rules.idempotency_keys();
        let done = if is_final {
            keys.complete(guard, answer)
        } else {
            keys.release(guard).and_then(|released| {
                if released {
                    Ok(true)
                } else {
                    keys.complete(guard, answer)
                }
            })
        };
        done.map(drop).map_err(|e| crate::for_operator(&e))
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

/// What [`valid_key`] takes, as the API document states it: 1 to 255 visible ASCII characters.
pub const KEY_PATTERN: &str = "^[!-~]{1,255}$";

pub(crate) fn valid_key(key: &str) -> bool {
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

fn replay(stored: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = status;
    let headers: Vec<(String, String)> = serde_json::from_str(&stored.headers).unwrap_or_default();
    for (name, value) in headers {
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
///
/// `anonymous`: the route takes callers who are not signed in (creating an account), so a key
/// without a token is scoped to "anonymous"; on every other route a request without a token is
/// left to the handler, which refuses it with 401 before any key is looked at.
pub async fn layer(
    State((state, anonymous)): State<(AppState, bool)>,
    request: Request,
    next: Next,
) -> Response {
    match run(state, anonymous, request, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn run(
    state: AppState,
    anonymous: bool,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
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
        None if anonymous => "anonymous".to_owned(),
        None => {
            return Ok(next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await)
        }
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
    let mut holder = vec![0u8; 16];
    getrandom::fill(&mut holder).map_err(|_| ApiError::internal())?;
    let guard = KeyGuard { scope, key, holder };
    let deadline = Instant::now() + state.request_timeout;
    loop {
        let (g, f) = (guard.clone(), fp.clone());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match store(&state, move |st| st.claim(&g, &f, now)).await? {
            KeyClaim::Owner => break,
            KeyClaim::Replay(stored) => return Ok(replay(stored)),
            KeyClaim::Mismatch => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
                ))
            }
            KeyClaim::AnswerLost => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_answer_lost",
                    "This request was carried out, but the server stopped before it could record the answer. Read the current state instead of sending it again.",
                ))
            }
            KeyClaim::InProgress if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            KeyClaim::InProgress => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_in_progress",
                    "A request with this Idempotency-Key is still being processed. Try again in a moment to get its answer.",
                ))
            }
        }
    }
    finish(state, guard, next, request).await
}

/// Runs the claimed request, with the claim in scope for its writes, and records its answer (or
/// releases the key when the answer is worth retrying and nothing was written).
async fn finish(
    state: AppState,
    guard: KeyGuard,
    next: Next,
    request: Request,
) -> Result<Response, ApiError> {
    let response = CLAIM.scope(guard.clone(), next.run(request)).await;
    let (parts, body) = response.into_parts();
    let (body, status) = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => (b, parts.status),
        Err(_) => (Bytes::new(), StatusCode::INTERNAL_SERVER_ERROR),
    };
    let stored = StoredAnswer {
        status: status.as_u16(),
        headers: serde_json::to_string(
            &REPLAYED_HEADERS
                .iter()
                .filter_map(|n| {
                    let v = parts.headers.get(n)?.to_str().ok()?;
                    Some((n.as_str().to_owned(), v.to_owned()))
                })
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into()),
        body: body.to_vec(),
    };
    let final_answer = is_final(status);
    store(&state, move |st| st.settle(&guard, &stored, final_answer)).await?;
    if status != parts.status {
        return Err(ApiError::internal());
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_edit_on_another_revision_is_another_request() {
        let fp = |tag: Option<&[u8]>| fingerprint(b"salt", "PATCH", "/v1/p", tag, b"{}");
        assert_ne!(fp(Some(b"\"1\"")), fp(Some(b"\"2\"")));
        assert_ne!(fp(Some(b"\"1\"")), fp(None));
        assert_eq!(fp(Some(b"\"1\"")), fp(Some(b"\"1\"")));
    }

    #[test]
    fn fingerprints_differ_by_salt() {
        assert_ne!(
            fingerprint(b"one salt", "POST", "/v1/accounts", None, b"{}"),
            fingerprint(b"another", "POST", "/v1/accounts", None, b"{}"),
        );
    }
}
