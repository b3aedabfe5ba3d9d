//! Command line and environment: every setting has a flag, an environment variable and a default.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Partner Desk's membership backend: serves the HTTP API of API.md over one SQLite database or a
/// PostgreSQL database and sends mail over SMTP.
#[derive(Debug, Clone, Parser)]
#[command(name = "partner-desk-server", version, about, long_about = None)]
pub struct Settings {
    /// Address and port to listen on; port 0 picks a free port (the chosen address is printed as
    /// `listening on http://ADDR`).
    #[arg(long, env = "PARTNER_DESK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Where the membership data (and the idempotency keys) live, created and migrated at start:
    /// a SQLite file, or a PostgreSQL URL,
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (`?sslmode=require` for TLS), which several
    /// instances may share. Give a URL with a password in the environment, not on the command line.
    #[arg(
        long,
        env = "PARTNER_DESK_DATABASE",
        default_value = "partner-desk-server.sqlite3"
    )]
    pub database: String,

    /// Where mail goes: `smtp://HOST:PORT` (plain, for a local relay or a test sink),
    /// `smtp://HOST:PORT?tls=required` (STARTTLS) or `smtps://HOST:PORT` (TLS); credentials as
    /// `smtp://USER:PASSWORD@HOST:PORT`.
    #[arg(long, env = "PARTNER_DESK_SMTP", default_value = "smtp://127.0.0.1:25")]
    pub smtp: String,

    /// The sender of every mail.
    #[arg(
        long,
        env = "PARTNER_DESK_MAIL_FROM",
        default_value = "Partner Desk <no-reply@partnerdesk.invalid>"
    )]
    pub mail_from: String,

    /// The public base URL of this server, used for the web link in verification mail
    /// (`URL/verify?token=…`). Without it, mail carries only the app link and the code.
    #[arg(long, env = "PARTNER_DESK_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Load the demo organisations and accounts into an empty database.
    #[arg(long, env = "PARTNER_DESK_SEED_DEMO")]
    pub seed_demo: bool,

    /// Log format on stderr: `text` (key=value) or `json` (one object per line, for a log
    /// collector). The level comes from `PARTNER_DESK_LOG` (default `info`).
    #[arg(long, env = "PARTNER_DESK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Print the OpenAPI document of this API and exit (regenerates docs/openapi.json).
    #[arg(long)]
    pub print_openapi: bool,

    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "PARTNER_DESK_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Largest request body accepted, in bytes; larger bodies get 413.
    #[arg(long, env = "PARTNER_DESK_BODY_LIMIT_BYTES", default_value_t = 64 * 1024)]
    pub body_limit_bytes: usize,

    /// Seconds before a verification mail can be sent again for the same request.
    #[arg(long, env = "PARTNER_DESK_RESEND_COOLDOWN_SECS", default_value_t = 60)]
    pub resend_cooldown_secs: i64,

    /// Sign-in attempts allowed per minute from one IP address (and, separately, for one email).
    #[arg(long, env = "PARTNER_DESK_LIMIT_SIGN_IN", default_value_t = 30)]
    pub limit_sign_in: u32,

    /// Organisation lookups allowed per minute for one account.
    #[arg(long, env = "PARTNER_DESK_LIMIT_LOOKUP", default_value_t = 120)]
    pub limit_lookup: u32,

    /// Association requests (and accounts, per IP) that may be created per minute.
    #[arg(long, env = "PARTNER_DESK_LIMIT_REQUESTS", default_value_t = 20)]
    pub limit_requests: u32,

    /// Verification resends allowed per minute for one account (on top of the per-request
    /// cooldown).
    #[arg(long, env = "PARTNER_DESK_LIMIT_RESEND", default_value_t = 10)]
    pub limit_resend: u32,

    /// Take the client address for per-address limits from the last `X-Forwarded-For` entry
    /// (set this only behind a reverse proxy that appends it).
    #[arg(long, env = "PARTNER_DESK_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// How often an open event stream looks for new events when no write woke it, in
    /// milliseconds (writes by other server processes on the same database are seen this way).
    #[arg(long, env = "PARTNER_DESK_EVENT_POLL_MS", default_value_t = 2000)]
    pub event_poll_ms: u64,

    /// The DNS server that domain proof asks for TXT records, as IP:PORT (UDP, and TCP for
    /// long answers). Unset: the system's resolvers (/etc/resolv.conf).
    #[arg(long, env = "PARTNER_DESK_DNS_RESOLVER")]
    pub dns_resolver: Option<SocketAddr>,

    /// How long one DNS query may take before it counts as no answer, in milliseconds.
    #[arg(long, env = "PARTNER_DESK_DNS_TIMEOUT_MS", default_value_t = 3000)]
    pub dns_timeout_ms: u64,

    /// How often the server runs domain proof's scheduled checks, in milliseconds.
    #[arg(
        long,
        env = "PARTNER_DESK_DOMAIN_CHECK_INTERVAL_MS",
        default_value_t = 10_000
    )]
    pub domain_check_interval_ms: u64,

    /// How long after a check a PPC may choose Check now again, in seconds.
    #[arg(
        long,
        env = "PARTNER_DESK_CHECK_NOW_COOLDOWN_SECS",
        default_value_t = 30
    )]
    pub check_now_cooldown_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// What `--database` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl Database {
    /// For logs and error messages: the path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            // Without its user and password, and without parameters (one may be `password=`).
            Self::Postgres(url) => crate::mail::redact_url(url.split('?').next().unwrap_or(url)),
        }
    }
}

impl Settings {
    pub fn database(&self) -> Database {
        let d = self.database.trim();
        if d.starts_with("postgres://") || d.starts_with("postgresql://") {
            Database::Postgres(d.to_owned())
        } else {
            Database::Sqlite(PathBuf::from(&self.database))
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }

    pub fn membership_config(&self) -> membership::Config {
        membership::Config {
            public_url: self
                .public_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
            resend_cooldown_secs: self.resend_cooldown_secs.max(0),
            proof: membership::ProofSettings {
                check_now_secs: self.check_now_cooldown_secs.max(0),
                ..membership::ProofSettings::default()
            },
            ..membership::Config::default()
        }
    }
}
