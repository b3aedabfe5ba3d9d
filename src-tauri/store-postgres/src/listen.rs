//! Wake-ups across instances. Every transaction that writes an event also notifies
//! [`CHANNEL`] (PostgreSQL delivers a notification when its transaction commits, and folds a
//! transaction's repeats into one), and each server instance listens on a connection of its own
//! ([`Listener::run`]), so an event stream held open on any instance looks for new events within
//! milliseconds of a write on any other. Polling stays as the fallback while the connection is
//! down.
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The notification channel of new events.
pub const CHANNEL: &str = "partner_desk_events";

/// How often a wait for notifications stops to see whether the server is shutting down.
const TICK: Duration = Duration::from_millis(250);

/// A way to listen for new events, on a connection of its own.
pub struct Listener {
    pub(crate) config: Config,
    pub(crate) tls: MakeRustlsConnect,
}

impl Listener {
    /// Blocks until `stop()` is true, calling `wake` for every notification, and once after each
    /// (re)connection for what was written while it was not listening. A lost connection (the
    /// database restarting) is tried again every second.
    pub fn run(&self, wake: &dyn Fn(), stop: &dyn Fn() -> bool) {
        while !stop() {
            let mut client = match self.config.connect(self.tls.clone()) {
                Ok(client) => client,
                Err(e) => {
                    tracing::debug!(error = %e, "event listener: no connection yet");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
                tracing::debug!(error = %e, "event listener: LISTEN failed");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            tracing::debug!("event listener: listening");
            wake();
            while !stop() {
                let next = {
                    let mut notifications = client.notifications();
                    let mut waiting = notifications.timeout_iter(TICK);
                    waiting.next().map(|n| n.is_some())
                };
                match next {
                    Ok(true) => wake(),
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener: connection lost; reconnecting");
                        break;
                    }
                    Ok(false) if client.is_closed() => {
                        tracing::warn!("event listener: connection closed; reconnecting");
                        break;
                    }
                    Ok(false) => {}
                }
            }
        }
    }
}
