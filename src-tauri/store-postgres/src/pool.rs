//! Connections: the URL, TLS through rustls, and an r2d2 pool whose connections keep their
//! prepared statements.
//!
//! TLS follows the URL's `sslmode`: `disable` never uses it, `prefer` (the default) uses it when
//! the server offers it, `require` refuses a server without it. Unlike libpq, whenever TLS is
//! used the server's certificate is always verified against the system's roots (rustls has no
//! "encrypt but trust anyone" mode), so `prefer` and `require` behave like libpq's
//! `verify-full` once TLS is on.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use membership::Error;
use postgres::config::SslMode;
use postgres::{Client, Config, Statement};
use r2d2::ManageConnection;
use r2d2_postgres::PostgresConnectionManager;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{describe, unusable};

/// Connections kept open. The server runs at most a few dozen operations at once.
const MAX_CONNECTIONS: u32 = 16;

/// A connection with the statements it has prepared, by their SQL: each statement is parsed
/// and planned once per connection rather than once per call.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Conn {
    pub(crate) fn parts(&mut self) -> (&mut Client, &mut HashMap<String, Statement>) {
        (&mut self.client, &mut self.statements)
    }
}

pub(crate) struct Manager(PostgresConnectionManager<MakeRustlsConnect>);

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.0.connect()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

/// The pool (always `Some` until dropped, see `Drop`), and how to open a connection outside it.
pub(crate) struct Pool(
    Option<r2d2::Pool<Manager>>,
    Box<(Config, MakeRustlsConnect)>,
);

impl Pool {
    /// Parses `url`, connects once to run `prepare` (the migrations) and report a clear error
    /// if the database cannot be reached, then starts the pool.
    pub(crate) fn connect(
        url: &str,
        prepare: fn(&mut Client) -> Result<(), Error>,
    ) -> Result<Pool, Error> {
        let config = parse_url(url)?;
        let tls = tls(&config)?;
        let mut first = config.connect(tls.clone()).map_err(|e| {
            unusable(
                "database_unreachable",
                "Could not connect to the PostgreSQL database. Check that it is running and reachable, and the host, port, database name, user and password in the database URL.",
            )
            .with_cause(describe(&e))
        })?;
        prepare(&mut first)?;
        drop(first);
        let manager = Manager(PostgresConnectionManager::new(config.clone(), tls.clone()));
        let pool = r2d2::Pool::builder()
            .max_size(MAX_CONNECTIONS)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            // Connections are opened in the background; a request waits at most the timeout.
            .build_unchecked(manager);
        Ok(Pool(Some(pool), Box::new((config, tls))))
    }

    /// A listener for new events, on a connection of its own (LISTEN holds its connection).
    pub(crate) fn listener(&self) -> crate::Listener {
        crate::Listener {
            config: self.1 .0.clone(),
            tls: self.1 .1.clone(),
        }
    }

    pub(crate) fn get(&self) -> Result<r2d2::PooledConnection<Manager>, Error> {
        self.0
            .as_ref()
            .expect("the pool is present until dropped")
            .get()
            .map_err(|e| Error::internal(format!("no PostgreSQL connection: {e}")))
    }
}

impl Drop for Pool {
    /// Each `postgres::Client` drives its connection on a small runtime of its own, which must
    /// not be dropped on an async runtime's thread (it panics there). The server drops its state,
    /// and so this pool, on one when it shuts down: close the connections on a thread of their
    /// own and wait for it.
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            let closing = std::thread::Builder::new()
                .name("postgres-close".into())
                .spawn(move || drop(pool));
            if let Ok(closing) = closing {
                let _ = closing.join();
            }
        }
    }
}

fn parse_url(url: &str) -> Result<Config, Error> {
    let invalid = || {
        unusable(
            "database_url_invalid",
            "The database URL is not a PostgreSQL URL. Write it as postgres://user:password@host:port/database, optionally with ?sslmode=disable, prefer or require.",
        )
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(invalid());
    }
    // The parser's message may quote the URL, password and all: keep only that it failed.
    let mut config: Config = url
        .parse()
        .map_err(|_| invalid().with_cause("the PostgreSQL URL did not parse"))?;
    if config.get_application_name().is_none() {
        config.application_name("partner-desk");
    }
    config.connect_timeout(Duration::from_secs(10));
    Ok(config)
}

/// rustls with the ring provider and the system's root certificates (loaded only when TLS may
/// be used).
fn tls(config: &Config) -> Result<MakeRustlsConnect, Error> {
    let mut roots = rustls::RootCertStore::empty();
    if config.get_ssl_mode() != SslMode::Disable {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 && config.get_ssl_mode() == SslMode::Require {
            return Err(unusable(
                "database_tls_roots_missing",
                "The database URL asks for TLS (sslmode=require), but no trusted root certificates were found on this machine. Install the ca-certificates package.",
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_that_is_not_postgres_is_refused_without_echoing_it() {
        for url in [
            "/var/lib/partner-desk.sqlite3",
            "mysql://u:hunter2@h/db",
            "postgres://u:hunter2@h:notaport/db",
            "postgres://u:hunter2@h/db?sslmode=sometimes",
        ] {
            let e = parse_url(url).map(drop).unwrap_err();
            assert_eq!(e.code(), "database_url_invalid", "{url}");
            assert!(!e.to_string().contains("hunter2"));
            assert!(!e.cause().unwrap_or("").contains("hunter2"));
        }
    }

    #[test]
    fn sslmode_comes_from_the_url() {
        let mode = |url: &str| parse_url(url).unwrap().get_ssl_mode();
        assert_eq!(mode("postgres://u@h/db"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@h/db?sslmode=disable"), SslMode::Disable);
        assert_eq!(mode("postgres://u@h/db?sslmode=require"), SslMode::Require);
    }
}
