//! What every handler shares.
use std::sync::Arc;
use std::time::Duration;

use membership::{Programme, Timestamp};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::idempotency::IdempotencyStore;
use crate::ratelimit::RateLimits;

#[derive(Clone)]
pub struct AppState {
    pub programme: Arc<Programme>,
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
}

impl AppState {
    /// Runs a membership operation on the blocking pool: SQLite and argon2 never run on the
    /// async runtime's threads. `now` is read here, once per operation.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Programme, Timestamp) -> Result<T, membership::Error> + Send + 'static,
        T: Send + 'static,
    {
        let programme = self.programme.clone();
        match tokio::task::spawn_blocking(move || f(&programme, Timestamp::now_utc())).await {
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
