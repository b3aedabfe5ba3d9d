//! What every handler shares.
use std::sync::Arc;
use std::time::Duration;

use membership::store::keys::with_key_guard;
use membership::{Programme, Timestamp};

use crate::store::ServerStore;
use tokio::sync::{watch, Semaphore};

use crate::error::ApiError;
use crate::idempotency::IdempotencyStore;
use crate::ratelimit::RateLimits;

/// The membership rules over the store `--database` chose.
pub type Rules = Programme<ServerStore>;

#[derive(Clone)]
pub struct AppState {
    pub programme: Arc<Rules>,
    pub limits: Arc<RateLimits>,
    pub idempotency: Arc<IdempotencyStore>,
    /// Bumped after every write, so open event streams look for new events at once.
    pub changes: Arc<watch::Sender<u64>>,
    /// Turns true when the server is shutting down, so event streams end and the graceful
    /// shutdown does not wait for them.
    pub shutdown: watch::Receiver<bool>,
    /// How often an idle event stream looks for events written by another process.
    pub event_poll: Duration,
    /// Whether the client address comes from `X-Forwarded-For` (behind a reverse proxy).
    pub trust_forwarded_for: bool,
    /// How long a request may wait for an identical one that holds its idempotency key.
    pub request_timeout: Duration,
    /// Membership operations running at once (see [`operation_slots`]).
    pub slots: Arc<Semaphore>,
}

/// How many membership operations may run at once: as many as the membership store keeps pooled
/// connections, so no request opens (and throws away) a connection of its own — a new connection
/// parses the whole schema and starts with no prepared statements. Requests beyond that wait their
/// turn on the async side, where waiting costs nothing. Fewer slots starve writers, which wait
/// for SQLite's write lock while holding one (measured: docs/BENCHMARKS.md).
pub fn operation_slots() -> usize {
    32
}

impl AppState {
    /// Runs a membership operation on the blocking pool: SQLite and argon2 never run on the
    /// async runtime's threads. `now` is read here, once per operation.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Rules, Timestamp) -> Result<T, membership::Error> + Send + 'static,
        T: Send + 'static,
    {
        let programme = self.programme.clone();
        // A request that holds an Idempotency-Key: its writes consume the key.
        let claim = crate::idempotency::current_claim();
        // Never closed, so acquiring only waits.
        let slot = self.slots.clone().acquire_owned().await.ok();
        let run = move || {
            let _slot = slot;
            with_key_guard(claim, || f(&programme, Timestamp::now_utc()))
        };
        match tokio::task::spawn_blocking(run).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(_) => {
                tracing::error!("a membership operation panicked");
                Err(ApiError::internal())
            }
        }
    }

    /// Takes one token of `limit` for `key`, or refuses with when to try again. On PostgreSQL the
    /// bucket is shared by every instance (a round trip to the database, made on the blocking
    /// pool); should the database not answer, this instance's own bucket decides meanwhile.
    pub async fn limit(&self, limit: crate::ratelimit::Limit, key: &str) -> Result<(), ApiError> {
        if !matches!(self.programme.store(), ServerStore::Postgres(_)) {
            return self.limits.check(limit, key);
        }
        let (programme, limits, owned) =
            (self.programme.clone(), self.limits.clone(), key.to_owned());
        match tokio::task::spawn_blocking(move || take_limit(&programme, &limits, limit, &owned))
            .await
        {
            Ok(answer) => answer,
            Err(_) => {
                tracing::error!("the shared rate limit panicked");
                self.limits.check(limit, key)
            }
        }
    }

    /// Wakes the event streams.
    pub fn notify_change(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// [`AppState::limit`] inside a membership operation, on the blocking pool already: the shared
/// bucket on PostgreSQL (this instance's own while the database does not answer), the instance's
/// own on SQLite.
pub fn take_limit(
    programme: &Rules,
    limits: &RateLimits,
    limit: crate::ratelimit::Limit,
    key: &str,
) -> Result<(), ApiError> {
    if let ServerStore::Postgres(pg) = programme.store() {
        // The key (an address, an account, an email address) only as a digest: the table says
        // how often someone asked, not who.
        let bucket = {
            use sha2::Digest as _;
            let digest = sha2::Sha256::digest(format!("{limit:?}:{key}").as_bytes());
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let (capacity, per_sec) = limits.spec(limit);
        match pg.take_rate_token(&bucket, capacity, per_sec) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(wait)) => return Err(ApiError::rate_limited(wait.as_secs() + 1)),
            Err(e) => tracing::warn!(
                error = %crate::for_operator(&e),
                "shared rate limit unavailable; this instance's own limit applies"
            ),
        }
    }
    limits.check(limit, key)
}
