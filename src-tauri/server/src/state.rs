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

    /// Wakes the event streams.
    pub fn notify_change(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}
