//! Partner Desk's remote membership backend: the HTTP API of API.md over the membership crate's
//! [`membership::Programme`], with mail over SMTP, an event stream, idempotent creating writes and
//! rate limits. The binary (`main.rs`) only parses settings and calls [`start`].
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod dto;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod mail;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod scheduler;
pub mod state;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::Settings;

use crate::idempotency::IdempotencyStore;
use crate::mail::SmtpMailer;
use crate::ratelimit::{PerMinute, RateLimits};
use crate::state::AppState;
use crate::store::ServerStore;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Smtp(#[from] mail::SmtpSetupError),
    #[error("the database {path} could not be opened: {error}")]
    Database { path: String, error: String },
    #[error("could not listen on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

/// An error as the operator starting the server reads it: the refusal and, for a failure
/// underneath (a database that cannot be reached), its cause.
pub fn for_operator(e: &membership::Error) -> String {
    match e.cause() {
        Some(cause) => format!("{} ({cause})", e.message()),
        None => e.message().to_owned(),
    }
}

/// A server bound to its address, ready to run.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    shutdown: watch::Sender<bool>,
}

/// Opens (creating and migrating) the databases, seeds the demo data when asked, and binds.
pub async fn start(settings: &Settings) -> Result<Server, StartError> {
    let mailer = Arc::new(SmtpMailer::new(&settings.smtp, &settings.mail_from)?);
    let database = settings.database();
    let db_error = |error: String| StartError::Database {
        path: database.display(),
        error,
    };
    let s = settings.clone();
    let target = database.clone();
    // A change that put mail in the outbox wakes the mail worker (scheduler.rs).
    let mail_wake = Arc::new(tokio::sync::Notify::new());
    let wake = mail_wake.clone();
    let (programme, listener) = tokio::task::spawn_blocking(move || {
        let store = ServerStore::open(&target).map_err(|e| for_operator(&e))?;
        // On PostgreSQL, writes on any instance wake this one's event streams.
        let listener = match &store {
            ServerStore::Postgres(pg) => Some(pg.listener()),
            ServerStore::Sqlite(_) => None,
        };
        let dns = membership::dns::Resolver::new(
            s.dns_resolver,
            std::time::Duration::from_millis(s.dns_timeout_ms.max(100)),
        )
        .map_err(|e| for_operator(&e))?;
        let p = membership::Programme::with_store(store, mailer, s.membership_config())
            .with_dns(Arc::new(dns))
            .with_mail_worker(Arc::new(move || wake.notify_one()));
        if s.seed_demo {
            let seeded = membership::seed::seed_demo(&p, membership::Timestamp::now_utc())
                .map_err(|e| e.to_string())?;
            tracing::info!(seeded, "demo data");
        }
        Ok::<_, String>((p, listener))
    })
    .await
    .map_err(|e| db_error(e.to_string()))?
    .map_err(db_error)?;

    // A claim this old without an answer belongs to a process that died mid-request.
    let stale_after = settings.request_timeout() * 4;
    let programme = Arc::new(programme);
    let keys_of = programme.clone();
    let idempotency =
        tokio::task::spawn_blocking(move || IdempotencyStore::new(keys_of, stale_after))
            .await
            .map_err(|e| db_error(e.to_string()))?
            .map_err(db_error)?;

    let (shutdown, shutdown_rx) = watch::channel(false);
    let state = AppState {
        programme,
        limits: Arc::new(RateLimits::new(PerMinute {
            sign_in: settings.limit_sign_in,
            lookup: settings.limit_lookup,
            requests: settings.limit_requests,
            resend: settings.limit_resend,
        })),
        idempotency: Arc::new(idempotency),
        changes: Arc::new(watch::channel(0).0),
        shutdown: shutdown_rx,
        event_poll: std::time::Duration::from_millis(settings.event_poll_ms.max(50)),
        request_timeout: settings.request_timeout(),
        trust_forwarded_for: settings.trust_forwarded_for,
        slots: Arc::new(tokio::sync::Semaphore::new(state::operation_slots())),
    };
    if let Some(listener) = listener {
        let changes = state.changes.clone();
        let shutdown = state.shutdown.clone();
        std::thread::Builder::new()
            .name("pg-listen".into())
            .spawn(move || {
                listener.run(&|| changes.send_modify(|n| *n = n.wrapping_add(1)), &|| {
                    *shutdown.borrow()
                })
            })
            .map_err(|e| db_error(e.to_string()))?;
    }
    scheduler::spawn_mail_worker(state.clone(), mail_wake);
    scheduler::spawn(
        state.clone(),
        std::time::Duration::from_millis(settings.domain_check_interval_ms.max(100)),
    );
    let listener =
        TcpListener::bind(settings.listen)
            .await
            .map_err(|error| StartError::Listen {
                addr: settings.listen,
                error,
            })?;
    Ok(Server {
        listener,
        router: app::router(state, settings),
        shutdown,
    })
}

impl Server {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` resolves, then ends the event streams and lets requests in flight
    /// finish.
    pub async fn run(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let shutdown = self.shutdown;
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            stop.await;
            tracing::info!("shutting down");
            let _ = shutdown.send(true);
        })
        .await
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
